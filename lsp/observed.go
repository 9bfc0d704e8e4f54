package lsp

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// Observed dependencies (issue 8): what the last run saw commands read.
//
// A traced run reports, for every file a subprocess read, stat'ed, listed
// or executed, an engine.Input with the program that did it (Via) and the
// `$` line of the command (Line). The engine keeps one Input per file (the
// first observation); the server also wants every reader for hovers, so a
// job wraps its launcher in a readRecorder that tees traced inputs on their
// way to the engine. The engine stays the authority on *which* files are
// inputs (Result.Observed: outputs and files the transcript wrote are
// dropped there); the recorder only adds readers of those files.
//
// After the run, each in-root input engine.Undeclared reports gets an
// `undeclared-observed` warning on the command that read it, with a quick
// fix declaring it. Like the other run results (results.go) these are
// attached to command blocks: they move with their block, go when it is
// edited, and are replaced by the next run. A declaration added since the
// run that covers the file (the quick fix) hides the warning at once.

// CodeUndeclaredObserved is the code of a file the last run saw a command
// read that no declaration covers.
const CodeUndeclaredObserved = "undeclared-observed"

// tracedRead is one traced observation, as the recorder saw it.
type tracedRead struct {
	Key    string // engine.Input.Key()
	Kind   engine.InputKind
	Prog   string // base name of the program that did it ("" unknown)
	Line   int    // 1-based `$` line of the command, in the text that ran
	Exists bool
}

// readRecorder wraps a job's launcher and keeps every traced input it
// reports, with the command line being run (set from engine.Options.
// Progress, which is called before each command block).
type readRecorder struct {
	inner engine.Launcher
	line  atomic.Int64

	mu    sync.Mutex
	seen  map[tracedRead]bool
	reads []tracedRead
}

func newReadRecorder(inner engine.Launcher) *readRecorder {
	return &readRecorder{inner: inner, seen: map[tracedRead]bool{}}
}

// Launch implements engine.Launcher.
func (r *readRecorder) Launch(cmd *exec.Cmd, obs engine.Observer) (func() error, error) {
	return r.inner.Launch(cmd, teeObserver{Observer: obs, r: r})
}

// Name implements engine.Observing: the wrapped launcher's backend.
func (r *readRecorder) Name() string { return engine.ObservedBy(r.inner) }

func (r *readRecorder) setLine(n int) { r.line.Store(int64(n)) }

func (r *readRecorder) add(in engine.Input) {
	line := in.Line
	if line == 0 {
		line = int(r.line.Load())
	}
	rd := tracedRead{Key: in.Key(), Kind: in.Kind, Line: line, Exists: in.Exists}
	if in.Via != "" {
		rd.Prog = filepath.Base(in.Via)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.seen[rd] {
		r.seen[rd] = true
		r.reads = append(r.reads, rd)
	}
}

// list returns what was recorded (nil for a nil recorder).
func (r *readRecorder) list() []tracedRead {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tracedRead(nil), r.reads...)
}

// teeObserver passes everything on to the engine's observer and keeps a
// copy of traced inputs.
type teeObserver struct {
	engine.Observer
	r *readRecorder
}

func (t teeObserver) Input(in engine.Input) {
	if in.Origin == engine.OriginTraced {
		t.r.add(in)
	}
	t.Observer.Input(in)
}

// reader is one way the last run used an in-root input.
type reader struct {
	Origin engine.Origin
	Kind   engine.InputKind
	Prog   string // base name, for traced inputs
	Line   int    // in the text that ran
	Exists bool
}

// observedIndex is what a run record keeps of its observed inputs.
type observedIndex struct {
	// readers maps the Key of each in-root observed input to every way the
	// run used it, sorted by line.
	readers map[string][]reader
	// suggestions are engine.Suggest's, per command of the text that ran.
	suggestions []ranSuggestion

	mu    sync.Mutex
	memoA *Analysis
	memo  *observedView
}

// indexObserved builds the record's observed index from the engine's
// result and the recorder's reads (nil without a recorder: the engine's
// first observation of each input is used).
func (r *runRecord) indexObserved(reads []tracedRead) {
	res := r.Result
	inputs := map[string]engine.Input{}
	for _, in := range res.Observed {
		if in.InRoot && in.Path != "" && in.Kind != engine.InputEnv {
			inputs[in.Key()] = in
		}
	}
	if len(inputs) == 0 {
		return
	}
	idx := &observedIndex{readers: map[string][]reader{}}
	type seenKey struct {
		key string
		rd  reader
	}
	seen := map[seenKey]bool{}
	add := func(key string, rd reader) {
		if !seen[seenKey{key, rd}] {
			seen[seenKey{key, rd}] = true
			idx.readers[key] = append(idx.readers[key], rd)
		}
	}
	for _, rd := range reads {
		if _, ok := inputs[rd.Key]; ok {
			add(rd.Key, reader{Origin: engine.OriginTraced, Kind: rd.Kind, Prog: rd.Prog, Line: rd.Line, Exists: rd.Exists})
		}
	}
	for key, in := range inputs {
		rd := reader{Origin: in.Origin, Kind: in.Kind, Line: in.Line, Exists: in.Exists}
		if in.Origin == engine.OriginTraced && in.Via != "" {
			rd.Prog = filepath.Base(in.Via)
		}
		add(key, rd)
	}
	for _, rs := range idx.readers {
		sort.SliceStable(rs, func(i, j int) bool {
			if rs[i].Line != rs[j].Line {
				return rs[i].Line < rs[j].Line
			}
			return rs[i].Prog < rs[j].Prog
		})
	}

	blockAtLine := make(map[int]*parser.Block, len(res.File.Blocks))
	for _, b := range res.File.Blocks {
		blockAtLine[b.Command.Num] = b
	}
	for _, sg := range engine.Suggest(res) {
		if b := blockAtLine[sg.Line]; b != nil {
			idx.suggestions = append(idx.suggestions, ranSuggestion{Suggestion: sg, Ran: b})
		}
	}
	r.observed = idx
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// observedDiagnostics are the undeclared-observed warnings of a's snapshot,
// and the paths whose static undeclared-dependency warnings they replace.
func (s *Server) observedDiagnostics(a *Analysis) ([]protocol.Diagnostic, *observedView) {
	ov := s.observedView(a)
	if ov == nil {
		return nil, nil
	}
	diags := make([]protocol.Diagnostic, 0, len(ov.items))
	sev := s.depSeverity()
	for _, it := range ov.items {
		diags = append(diags, it.diag(sev).toProtocol(a.Snap.Mapper))
	}
	return diags, ov
}

// readersText is the hover's account of how the last run used the files
// (keys: engine.Input.Key()), one "- read by `cat` at line 12" line each;
// "" when it did not use them.
func (s *Server) readersText(snap *Snapshot, keys ...string) string {
	rec := s.runs.lastRecord(snap.URI)
	if rec == nil || rec.observed == nil || snap.Kind != DocTranscript {
		return ""
	}
	var rs []reader
	for _, k := range keys {
		rs = append(rs, rec.observed.readers[k]...)
	}
	if len(rs) == 0 {
		return ""
	}
	v := rec.viewFor(snap.File())
	blockAtLine := map[int]*parser.Block{}
	for _, b := range rec.Result.File.Blocks {
		blockAtLine[b.Command.Num] = b
	}
	var lines []string
	seen := map[string]bool{}
	for _, rd := range rs {
		at := fmt.Sprintf("at line %d", rd.Line)
		if b := blockAtLine[rd.Line]; b != nil {
			if cur := rec.currentBlock(v, b); cur != nil {
				at = fmt.Sprintf("at line %d", cur.Command.Num)
			} else {
				at = fmt.Sprintf("at line %d of the text that ran (since edited)", rd.Line)
			}
		}
		who := "a subprocess"
		if rd.Prog != "" {
			who = "`" + rd.Prog + "`"
		}
		var l string
		switch {
		case rd.Origin == engine.OriginRedirect:
			l = "opened by the shell (redirection) " + at
		case rd.Origin == engine.OriginExec:
			l = "run by the shell " + at
		case rd.Origin == engine.OriginExpectFile:
			l = "compared as expected output " + at
		case rd.Origin != engine.OriginTraced:
			continue
		case !rd.Exists:
			l = fmt.Sprintf("looked for by %s %s (absent)", who, at)
		case rd.Kind == engine.InputGlob:
			l = fmt.Sprintf("listed by %s %s", who, at)
		case rd.Kind == engine.InputExe:
			l = fmt.Sprintf("run by %s %s", who, at)
		default:
			l = fmt.Sprintf("read by %s %s", who, at)
		}
		if !seen[l] {
			seen[l] = true
			lines = append(lines, "- "+l)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "**Last run**\n\n" + strings.Join(lines, "\n")
}

// pathKeys are the observed-input keys a file path may appear under: the
// file, the program, and the listing of the directory.
func pathKeys(path string) []string {
	return []string{
		engine.Input{Kind: engine.InputFile, Path: path}.Key(),
		engine.Input{Kind: engine.InputExe, Path: path}.Key(),
		engine.Input{Kind: engine.InputGlob, Path: filepath.Join(path, "*")}.Key(),
	}
}
