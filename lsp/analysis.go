package lsp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// Analysis is everything the server derives from one transcript snapshot
// and the workspace around it. It is computed once per snapshot (and
// workspace state) and read by diagnostics, hover, definition and code
// actions alike, so they always agree.
type Analysis struct {
	Snap *Snapshot
	// Root is the module root (spec §3); "" for documents without a path.
	Root   string
	Deps   []*depInfo
	Blocks []*blockInfo
	Files  []*outputFile // "1<"/"2<" references
	// Undeclared are command arguments naming workspace files no
	// declaration covers (see undeclared.go).
	Undeclared []*undeclaredArg
	// DepfilePaths are the depfiles the transcript names.
	DepfilePaths []string
	Diagnostics  []Diag
	settings     Settings
	gen          uint64 // workspace generation it was computed in
	// depfileCwd is, for a depfile document, the directory its entries
	// resolve against (depfileSessionDir): it depends on other documents.
	depfileCwd string
}

// blockInfo is the static view of one command block.
type blockInfo struct {
	Block    *parser.Block
	Cwd      string // directory the block starts in; "" unknown
	ShellErr error  // the block does not parse as shell
	Facts    *engine.BlockFacts
	Cmds     []engine.ShellCmd
}

// depInfo is one declaration, expanded and resolved.
type depInfo struct {
	Dep  *parser.Dep
	Line int
	Cwd  string // directory the declaration resolves against; "" unknown
	// Value is the expanded word; Known is false when it could not be
	// expanded (an unset variable) or the directory is unknown.
	Value string
	Known bool
	Unset []string // variables unset in the server's environment
	// Inputs are the resolved inputs; for a depfile, the depfile itself
	// first, then its entries.
	Inputs []engine.Input
	// Depfile is the parsed depfile of a depfile declaration (from the
	// editor when the file is open, else from disk), nil if absent.
	Depfile *parser.Depfile
	// Moved are the depfile's entries that only name an input under the
	// old depfile-relative reading (depfilepaths.go).
	Moved []movedEntry
	Err   error
}

// outputFile is a "1< PATH" / "2< PATH" reference.
type outputFile struct {
	Line   *parser.Line
	Path   string // absolute; "" when the directory is unknown
	Exists bool
}

// analysis returns the snapshot's analysis, computing it on first use.
func (s *Server) analysis(snap *Snapshot) *Analysis {
	settings := s.currentSettings()
	gen := s.ws.generation()
	snap.anMu.Lock()
	defer snap.anMu.Unlock()
	depfileCwd := ""
	if snap.Kind == DocDepfile {
		depfileCwd = s.depfileSessionDir(snap)
	}
	if snap.an != nil && snap.an.settings == settings && snap.an.gen == gen && snap.an.depfileCwd == depfileCwd {
		return snap.an
	}
	a := &Analysis{Snap: snap, settings: settings, gen: gen, depfileCwd: depfileCwd}
	switch snap.Kind {
	case DocTranscript:
		s.analyzeTranscript(a)
	case DocDepfile:
		s.analyzeDepfile(a)
	}
	snap.an = a
	return a
}

func (s *Server) analyzeTranscript(a *Analysis) {
	snap := a.Snap
	f := snap.File()
	st := &engine.WalkState{Cwd: snap.Dir(), Created: make(map[string]bool, len(f.Blocks)/2)}
	if snap.Path != "" {
		a.Root = s.ws.moduleRoot(snap.Dir())
	}
	a.Blocks = make([]*blockInfo, 0, len(f.Blocks))
	for _, l := range f.Lines {
		switch l.Kind {
		case parser.KindCommand:
			a.Blocks = append(a.Blocks, s.analyzeBlock(a, st, l.Block))
		case parser.KindStdoutFile, parser.KindStderrFile:
			if l.Block == nil || strings.TrimSpace(l.Payload) == "" {
				continue
			}
			of := &outputFile{Line: l}
			if snap.Path != "" {
				of.Path = st.Abs(strings.TrimSuffix(l.Payload, "\r"))
			}
			if of.Path != "" {
				of.Exists = s.ws.exists(of.Path)
			}
			a.Files = append(a.Files, of)
		case parser.KindDirective:
			for _, d := range l.Directive.Deps {
				a.Deps = append(a.Deps, s.resolveDep(a, st.Cwd, d, l.Num))
			}
		}
	}
	if a.settings.undeclared() {
		s.findUndeclared(a)
	} else {
		a.Undeclared = nil // candidates, never checked against declarations
	}
	a.Diagnostics = transcriptDiagnostics(a)
}

func (s *Server) analyzeBlock(a *Analysis, st *engine.WalkState, b *parser.Block) *blockInfo {
	bi := &blockInfo{Block: b, Cwd: st.Cwd}
	facts := s.ws.blockFacts(b.Text(), st.Cwd, st.Dirs)
	facts.Apply(st)
	bi.Facts, bi.ShellErr, bi.Cmds = facts, facts.Err, facts.Cmds
	for i := range bi.Cmds {
		s.undeclaredCandidates(a, st, bi, &bi.Cmds[i])
	}
	return bi
}

// expandDep expands a declaration word with the server's environment.
// Variables the transcript sets itself are invisible here, so an unset
// variable makes the value unknown rather than empty.
func (s *Server) expandDep(d *parser.Dep) (value string, unset []string, err error) {
	if d.Literal || d.Word == nil {
		return d.Value, nil, nil
	}
	lookup := func(name string) (string, bool) {
		v, ok := s.lookupEnv(name)
		if !ok {
			unset = append(unset, name)
		}
		return v, ok
	}
	v, err := engine.ExpandWord(d.Word, lookup)
	if err != nil {
		return "", unset, fmt.Errorf("expand %s: %w", d.Raw, err)
	}
	return v, unset, nil
}

func (s *Server) resolveDep(a *Analysis, cwd string, d *parser.Dep, line int) *depInfo {
	di := &depInfo{Dep: d, Line: line, Cwd: cwd}
	v, unset, err := s.expandDep(d)
	di.Value, di.Unset, di.Err = v, unset, err
	if err != nil || len(unset) > 0 || a.Snap.Path == "" {
		return di
	}
	if d.Kind == parser.DepEnv {
		di.Known = true
		di.Inputs, _ = s.ws.resolve(a.Root, d.Kind, v, cwd, line)
		return di
	}
	if cwd == "" && !filepath.IsAbs(v) && d.Kind != parser.DepExe {
		return di // relative to a directory the walk lost track of
	}
	di.Known = true
	if d.Kind == parser.DepDepfile {
		s.resolveDepfileDep(a, di)
		return di
	}
	di.Inputs, di.Err = s.ws.resolve(a.Root, d.Kind, v, cwd, line, d.Exclude...)
	return di
}

// resolveDepfileDep reads a declared depfile (the editor's text if it is
// open) and resolves its entries against the session's directory where it
// is declared (spec §4).
func (s *Server) resolveDepfileDep(a *Analysis, di *depInfo) {
	path := filepath.Join(di.Cwd, di.Value)
	if filepath.IsAbs(di.Value) {
		path = filepath.Clean(di.Value)
	}
	a.DepfilePaths = append(a.DepfilePaths, path)
	self := engine.Input{Kind: engine.InputDepfile, Path: path, Raw: di.Value, Line: di.Line, InRoot: engine.IsWithin(a.Root, path)}
	text, open := s.store.OpenText(path)
	if !open {
		src, err := readFile(path, engine.MaxDepfileSize)
		if err != nil {
			if !os.IsNotExist(err) {
				di.Err = fmt.Errorf("read depfile: %w", err)
			}
			di.Inputs = []engine.Input{self}
			return
		}
		text = string(src)
	}
	self.Exists = true
	di.Inputs = []engine.Input{self}
	di.Depfile = parser.ParseDepfile(path, []byte(text))
	perEntry := make([][]engine.Input, len(di.Depfile.Entries))
	for i, e := range di.Depfile.Entries {
		ins, _ := s.ws.resolve(a.Root, e.Kind, e.Value, di.Cwd, di.Line)
		perEntry[i] = ins
		for _, in := range ins {
			in.Origin, in.Via, in.Raw = engine.OriginDepfile, path, e.Raw
			di.Inputs = append(di.Inputs, in)
		}
	}
	di.Moved = s.movedEntries(a, di, filepath.Dir(path), perEntry)
}

// depfileAnalysis is the analysis of a depfile document: its entries
// resolved against the directory of the session that declares it
// (depfileSessionDir).
func (s *Server) analyzeDepfile(a *Analysis) {
	snap := a.Snap
	df := snap.Depfile()
	if snap.Path != "" {
		a.Root = s.ws.moduleRoot(snap.Dir())
	}
	cwd := a.depfileCwd
	for i, e := range df.Entries {
		di := &depInfo{Dep: e, Line: df.EntryLines[i].Num, Cwd: cwd, Value: e.Value}
		if snap.Path != "" {
			di.Known = true
			di.Inputs, di.Err = s.ws.resolve(a.Root, e.Kind, e.Value, cwd, di.Line)
		}
		a.Deps = append(a.Deps, di)
	}
	a.Diagnostics = depfileDiagnostics(a)
}
