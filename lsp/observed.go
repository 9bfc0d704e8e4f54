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

// maxUnnamedPerCommand is how many undeclared inputs of one command that
// no argument names get a diagnostic each; beyond that (a build reading a
// whole tree) they are summed up in one.
const maxUnnamedPerCommand = 10

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

// undeclaredRead is an input of engine.Undeclared as read by one command
// block of the run.
type undeclaredRead struct {
	In     engine.Input
	Ran    *parser.Block // the block of the text that ran
	Progs  []string      // base names of the programs that read it there
	Exists bool
}

// observedIndex is what a run record keeps of its observed inputs.
type observedIndex struct {
	// readers maps the Key of each in-root observed input to every way the
	// run used it, sorted by line.
	readers    map[string][]reader
	undeclared []undeclaredRead

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
	for _, in := range engine.Undeclared(res) {
		byLine := map[int]*undeclaredRead{}
		var lines []int
		for _, rd := range idx.readers[in.Key()] {
			b := blockAtLine[rd.Line]
			if rd.Origin != engine.OriginTraced || b == nil {
				continue
			}
			u := byLine[rd.Line]
			if u == nil {
				u = &undeclaredRead{In: in, Ran: b}
				byLine[rd.Line] = u
				lines = append(lines, rd.Line)
			}
			if rd.Prog != "" && !contains(u.Progs, rd.Prog) {
				u.Progs = append(u.Progs, rd.Prog)
			}
			u.Exists = u.Exists || rd.Exists
		}
		sort.Ints(lines)
		for _, l := range lines {
			idx.undeclared = append(idx.undeclared, *byLine[l])
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

// observedItem is one undeclared-observed diagnostic on a snapshot, with
// what its quick fix declares.
type observedItem struct {
	Range    parser.Range
	Message  string
	Decls    []string // declaration lines ("% dep file fixture.txt")
	Paths    []string // absolute paths of the inputs
	Title    string   // of the quick fix
	Line     int      // 1-based `$` line in the snapshot
	DataPath string   // the path declared (single items), for Data
	DataKind string
}

func (it *observedItem) diag() Diag {
	d := Diag{Range: it.Range, Severity: protocol.DiagnosticSeverityWarning, Code: CodeUndeclaredObserved, Message: it.Message}
	if it.DataPath != "" {
		d.Data = map[string]string{"path": it.DataPath, "kind": it.DataKind}
	}
	return d
}

// observedView is a record's undeclared inputs seen through one analysis
// (snapshot): where they are and which static warnings they replace.
type observedView struct {
	items []*observedItem
	// shadowed are the paths the static undeclared-dependency heuristic
	// should not report again: the run saw them read, undeclared.
	shadowed map[string]bool
}

// observedView maps the last run's undeclared inputs onto a's snapshot
// (memoised per analysis: diagnostics and code actions both ask).
func (s *Server) observedView(a *Analysis) *observedView {
	snap := a.Snap
	if snap.Kind != DocTranscript || snap.Path == "" {
		return nil
	}
	rec := s.runs.lastRecord(snap.URI)
	if rec == nil || rec.observed == nil || len(rec.observed.undeclared) == 0 {
		return nil
	}
	idx := rec.observed
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if idx.memoA == a {
		return idx.memo
	}
	ov := buildObservedView(s, a, rec)
	idx.memoA, idx.memo = a, ov
	return ov
}

func buildObservedView(s *Server, a *Analysis, rec *runRecord) *observedView {
	snap := a.Snap
	ov := &observedView{shadowed: map[string]bool{}}
	// Declarations of the current text: one added since the run (the quick
	// fix) covers its file at once, without waiting for the next run.
	var declared []engine.Input
	for _, di := range a.Deps {
		if di.Known {
			declared = append(declared, di.Inputs...)
		}
	}
	v := rec.viewFor(snap.File())
	type group struct {
		b       *blockInfo
		unnamed []*observedItem
	}
	var groups []*group
	byBlock := map[*parser.Block]*group{}
	for i := range rec.observed.undeclared {
		u := &rec.observed.undeclared[i]
		if engine.Covered(declared, u.In) {
			continue
		}
		cur := rec.currentBlock(v, u.Ran)
		if cur == nil {
			continue // the block was edited: its observations went with it
		}
		bi := a.blockAt(cur.Command.Num)
		if bi == nil || bi.Block != cur {
			continue
		}
		it := observedItemFor(s, snap, bi, u)
		ov.shadowed[u.In.Path] = true
		g := byBlock[cur]
		if g == nil {
			g = &group{b: bi}
			byBlock[cur] = g
			groups = append(groups, g)
		}
		if it.Range == (parser.Range{}) {
			it.Range = cur.Command.PayloadRange()
			g.unnamed = append(g.unnamed, it)
			continue
		}
		ov.items = append(ov.items, it)
	}
	for _, g := range groups {
		if len(g.unnamed) <= maxUnnamedPerCommand {
			ov.items = append(ov.items, g.unnamed...)
			continue
		}
		ov.items = append(ov.items, summaryItem(g.b, g.unnamed))
	}
	sort.SliceStable(ov.items, func(i, j int) bool { return ov.items[i].Range.Start.Before(ov.items[j].Range.Start) })
	return ov
}

// observedItemFor describes one undeclared read on the current block bi.
// Its Range is the argument naming the file, or zero when none does.
func observedItemFor(s *Server, snap *Snapshot, bi *blockInfo, u *undeclaredRead) *observedItem {
	in := u.In
	target := in.Path
	if in.Kind == engine.InputGlob {
		target = filepath.Dir(in.Path) // a listing: the directory
	}
	rel := relTo(snap.Dir(), target)
	rel = filepath.ToSlash(rel)
	it := &observedItem{Line: bi.Block.Command.Num, Paths: []string{in.Path}}
	prog := "a command"
	if len(u.Progs) > 0 {
		prog = "`" + strings.Join(u.Progs, "`, `") + "`"
	}
	var what string
	switch {
	case in.Kind == engine.InputGlob:
		it.DataKind, it.DataPath = "glob", globRel(rel)
		it.Decls = []string{"% dep glob " + globWord(rel)}
		what = fmt.Sprintf("%s listed the directory %s", prog, rel)
		if !u.Exists {
			what = fmt.Sprintf("%s looked for the directory %s (absent)", prog, rel)
		}
	default:
		it.DataKind, it.DataPath = "file", rel
		it.Decls = []string{"% dep file " + quoteWord(rel)}
		verb := "read"
		if in.Kind == engine.InputExe {
			verb = "ran"
		} else if mode, ok := s.ws.fileMode(in.Path); ok && mode.IsDir() {
			// A stat of a directory. Declared with `% dep file`, a
			// directory stands for every file under it.
			verb = "looked at the directory"
			it.Title += " (the directory: every file under it)"
		}
		what = fmt.Sprintf("%s %s %s", prog, verb, rel)
		if !u.Exists {
			what = fmt.Sprintf("%s looked for %s (absent)", prog, rel)
		}
	}
	change := "when it changes"
	switch {
	case !u.Exists:
		change = "when it is created"
	case in.Kind == engine.InputGlob:
		change = "when files are added there or removed"
	}
	it.Message = fmt.Sprintf("%s, which no declaration covers: runs without tracing (other systems, ptrace denied, -trace off) and the caches they fill will not notice %s. Declare it with `%s`.",
		what, change, it.Decls[0])
	it.Title = "Declare dependency: " + it.Decls[0] + it.Title
	if r, ok := argRangeNaming(bi, target); ok {
		it.Range = r
	}
	return it
}

// summaryItem sums up many undeclared reads of one command that no
// argument names (a build reading a whole tree).
func summaryItem(bi *blockInfo, items []*observedItem) *observedItem {
	it := &observedItem{Range: bi.Block.Command.PayloadRange(), Line: bi.Block.Command.Num}
	var names []string
	for _, x := range items {
		it.Decls = append(it.Decls, x.Decls...)
		it.Paths = append(it.Paths, x.Paths...)
		if len(names) < 5 {
			names = append(names, x.DataPath)
		}
	}
	list := strings.Join(names, ", ")
	if len(items) > len(names) {
		list += fmt.Sprintf(", … (+%d more)", len(items)-len(names))
	}
	it.Message = fmt.Sprintf("this command read %d files no declaration covers (%s): runs without tracing (other systems, ptrace denied, -trace off) and the caches they fill will not notice when they change. Declare them (or a directory or glob covering them).",
		len(items), list)
	it.Title = fmt.Sprintf("Declare dependencies: the %d files this command read", len(items))
	return it
}

// argRangeNaming finds the argument of a block's commands that names path
// (resolved against the statically known directory), on one line.
func argRangeNaming(bi *blockInfo, path string) (parser.Range, bool) {
	for i := range bi.Cmds {
		c := &bi.Cmds[i]
		for j := range c.Args {
			arg := &c.Args[j]
			p := arg.Path
			if strings.HasPrefix(arg.Value, "--") && strings.Contains(arg.Value, "=") {
				_, v, _ := strings.Cut(arg.Value, "=")
				switch {
				case filepath.IsAbs(v):
					p = filepath.Clean(v)
				case c.Cwd != "" && v != "":
					p = filepath.Join(c.Cwd, v)
				}
			}
			if p != path {
				continue
			}
			start, ok1 := blockPos(bi.Block, arg.Start)
			end, ok2 := blockPos(bi.Block, arg.End)
			if ok1 && ok2 && start.Line == end.Line {
				return parser.Range{Start: start, End: end}, true
			}
		}
	}
	return parser.Range{}, false
}

// globRel is the pattern listing dir (relative): "dir/*", or "*".
func globRel(dir string) string {
	if dir == "." {
		return "*"
	}
	return dir + "/*"
}

// globWord is globRel as a declaration word: the directory quoted when it
// needs it, the "*" not.
func globWord(dir string) string {
	if dir == "." {
		return "*"
	}
	return quoteWord(dir) + "/*"
}

// observedDiagnostics are the undeclared-observed warnings of a's snapshot,
// and the paths whose static undeclared-dependency warnings they replace.
func (s *Server) observedDiagnostics(a *Analysis) ([]protocol.Diagnostic, map[string]bool) {
	ov := s.observedView(a)
	if ov == nil {
		return nil, nil
	}
	diags := make([]protocol.Diagnostic, 0, len(ov.items))
	for _, it := range ov.items {
		diags = append(diags, it.diag().toProtocol(a.Snap.Mapper))
	}
	return diags, ov.shadowed
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
