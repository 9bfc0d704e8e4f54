package lsp

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/trace"
	"github.com/cmdt-dev/cmdt/parser"
)

// The last run's undeclared inputs as diagnostics: at most one per
// command, whose quick fix adds the declarations engine.Suggest folds the
// command's reads into (the ones `transcript deps --observed --write`
// adds): `% dep glob *.go` and `% dep file go.mod` for a Go build, one
// `% dep glob d/*` for `ls d`. The absent paths a toolchain probes are
// left to the traced cache.

// ranSuggestion is a suggestion with the command block of the text that
// ran.
type ranSuggestion struct {
	engine.Suggestion
	Ran *parser.Block
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
	DataPath string   // the path declared (single declarations), for Data
	DataKind string
}

func (it *observedItem) diag(sev protocol.DiagnosticSeverity) Diag {
	d := Diag{Range: it.Range, Severity: sev, Code: CodeUndeclaredObserved, Message: it.Message}
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
	// lines are the `$` lines (of the snapshot) holding an item.
	lines map[int]bool
}

// hides reports whether a static undeclared-dependency diagnostic gives
// way to the run's: the run saw one of its files read undeclared, or its
// command already has an item (one dependency diagnostic per command).
func (ov *observedView) hides(d Diag) bool {
	if ov == nil {
		return false
	}
	if ov.lines[d.line] {
		return true
	}
	for _, p := range d.paths {
		if ov.shadowed[p] {
			return true
		}
	}
	return false
}

// observedView maps the last run's undeclared inputs onto a's snapshot
// (memoised per analysis: diagnostics and code actions both ask).
func (s *Server) observedView(a *Analysis) *observedView {
	snap := a.Snap
	if snap.Kind != DocTranscript || snap.Path == "" || !a.settings.undeclared() {
		return nil
	}
	rec := s.runs.lastRecord(snap.URI)
	if rec == nil || rec.observed == nil || len(rec.observed.suggestions) == 0 {
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
	ov := &observedView{shadowed: map[string]bool{}, lines: map[int]bool{}}
	// Declarations of the current text: one added since the run (the quick
	// fix) covers its inputs at once, without waiting for the next run.
	var declared []engine.Input
	for _, di := range a.Deps {
		if di.Known {
			declared = append(declared, di.Inputs...)
		}
	}
	v := rec.viewFor(snap.File())
	for i := range rec.observed.suggestions {
		sg := &rec.observed.suggestions[i]
		cur := rec.currentBlock(v, sg.Ran)
		if cur == nil {
			continue // the block was edited: its observations went with it
		}
		bi := a.blockAt(cur.Command.Num)
		if bi == nil || bi.Block != cur {
			continue
		}
		// What is still uncovered, and the declarations it needs.
		var ins []engine.Input
		for _, in := range sg.Inputs {
			if !engine.Covered(declared, in) {
				ins = append(ins, in)
			}
		}
		if len(ins) == 0 {
			continue
		}
		var decls []engine.Declaration
		for _, d := range sg.Decls {
			for _, in := range ins {
				if engine.Covered([]engine.Input{d.Input()}, in) {
					decls = append(decls, d)
					break
				}
			}
		}
		for _, in := range ins {
			ov.shadowed[in.Path] = true
		}
		ov.lines[cur.Command.Num] = true
		ov.items = append(ov.items, observedItemFor(s, snap, bi, sg.Progs, ins, decls))
	}
	sort.SliceStable(ov.items, func(i, j int) bool { return ov.items[i].Range.Start.Before(ov.items[j].Range.Start) })
	return ov
}

// observedItemFor describes what one command read undeclared. Its range
// is the argument naming the one input or declared directory, else the
// command text.
func observedItemFor(s *Server, snap *Snapshot, bi *blockInfo, progs []string, ins []engine.Input, decls []engine.Declaration) *observedItem {
	dir := snap.Dir()
	it := &observedItem{Line: bi.Block.Command.Num, Range: bi.Block.Command.PayloadRange()}
	for _, d := range decls {
		it.Decls = append(it.Decls, d.Text(dir))
	}
	for _, in := range ins {
		it.Paths = append(it.Paths, in.Path)
	}
	prog := "a command"
	if len(progs) > 0 {
		prog = "`" + strings.Join(progs, "`, `") + "`"
	}
	// The argument naming what is declared: the file, or the directory a
	// glob lists.
	if len(decls) == 1 {
		target := decls[0].Path
		if decls[0].Kind == parser.DepGlob {
			target = globDir(target)
		}
		if r, ok := argRangeNaming(bi, target); ok {
			it.Range = r
		}
		it.DataPath, it.DataKind = strings.TrimPrefix(it.Decls[0], "% dep file "), "file"
		if decls[0].Kind == parser.DepGlob {
			it.DataPath, it.DataKind = strings.TrimPrefix(it.Decls[0], "% dep glob "), "glob"
		}
	}
	declText := "`" + strings.Join(it.Decls, "` and `") + "`"
	if len(ins) == 1 {
		in := ins[0]
		rel := filepath.ToSlash(relTo(dir, in.Path))
		what, change := fmt.Sprintf("%s read %s", prog, rel), "when it changes"
		switch {
		case in.Kind == engine.InputGlob:
			d := filepath.ToSlash(relTo(dir, filepath.Dir(in.Path)))
			what, change = fmt.Sprintf("%s listed the directory %s", prog, d), "when files are added there or removed"
		case !in.Exists:
			what, change = fmt.Sprintf("%s looked for %s (absent)", prog, rel), "when it is created"
		case in.Kind == engine.InputExe:
			what = fmt.Sprintf("%s ran %s", prog, rel)
		case in.StatOnly:
			what = fmt.Sprintf("%s looked at %s", prog, rel)
		default:
			if mode, ok := s.ws.fileMode(in.Path); ok && mode.IsDir() {
				what = fmt.Sprintf("%s looked at the directory %s", prog, rel)
			}
		}
		it.Message = fmt.Sprintf("%s, which no declaration covers: runs without tracing (other systems, ptrace denied, -trace off) and the caches they fill will not notice %s. Declare it with %s.",
			what, change, declText)
	} else {
		it.Message = fmt.Sprintf("%s %s, which no declaration covers: runs without tracing (other systems, ptrace denied, -trace off) and the caches they fill will not notice when they change. Declare them with %s.",
			prog, engine.Suggestion{Inputs: ins}.Describe(dir), declText)
	}
	if len(it.Decls) == 1 {
		it.Title = "Declare dependency: " + it.Decls[0]
	} else {
		it.Title = "Declare dependencies: " + strings.Join(it.Decls, ", ")
	}
	return it
}

// globDir is the directory a suggested glob lists or walks: "d" for
// "d/*", "d/**" or "d/*.go".
func globDir(pattern string) string {
	d := pattern
	for strings.ContainsAny(filepath.Base(d), "*?[") {
		d = filepath.Dir(d)
	}
	return d
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

// depSeverity is the severity of dependency diagnostics: a hint when the
// server's runs are traced (the cache they fill sees the input anyway), a
// warning when they are not, or when results are shared through a remote
// cache (CMDT_REMOTE_CACHE) with machines that may not trace.
func (s *Server) depSeverity() protocol.DiagnosticSeverity {
	if s.tracesRuns() {
		if v, ok := s.lookupEnv("CMDT_REMOTE_CACHE"); !ok || v == "" {
			return protocol.DiagnosticSeverityHint
		}
	}
	return protocol.DiagnosticSeverityWarning
}

// tracesRuns reports whether the server's runs see what subprocesses
// read: an injected launcher is taken to trace; otherwise the Trace
// setting and the machine decide.
func (s *Server) tracesRuns() bool {
	if s.opts.Launcher != nil {
		return true
	}
	return s.opts.Trace != "off" && trace.Available() == nil
}
