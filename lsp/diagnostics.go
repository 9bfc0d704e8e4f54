package lsp

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"go.lsp.dev/protocol"
	"mvdan.cc/sh/v3/syntax"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// diagnosticSource is the source of every diagnostic the server publishes.
const diagnosticSource = "cmdt"

// Diagnostic codes the server adds to the parser's (parser.Code*). Like
// those, they are stable: editors show them, settings and tests match on
// them. docs/lsp.md lists them all.
const (
	CodeShellSyntax       = "shell-syntax"
	CodeOutputFileMissing = "output-file-missing"
	CodeDepMissing        = "dependency-missing"
	CodeDepOutsideRoot    = "dependency-outside-root"
	CodeGlobNoMatch       = "glob-no-match"
	CodeDuplicateDep      = "duplicate-dependency"
	CodeDepfileError      = "depfile-error"
	CodeDepUnchecked      = "dependency-unchecked"
	CodeDepInvalid        = "dependency-invalid"
	CodeUndeclared        = "undeclared-dependency"
)

// Diag is a diagnostic in parser coordinates; it becomes a
// protocol.Diagnostic when published, through the snapshot's Mapper.
type Diag struct {
	Range    parser.Range
	Severity protocol.DiagnosticSeverity
	Code     string
	Message  string
	Related  []relatedLine
	Data     interface{}
	// paths are the absolute files an undeclared-dependency warning is
	// about, so a run that saw them read can replace the warning; line is
	// its command's `$` line.
	paths []string
	line  int
}

// relatedLine points at a whole line of another file (a depfile entry);
// a line start needs no encoding conversion.
type relatedLine struct {
	Path    string
	Line    int // 1-based
	Message string
}

func (d Diag) toProtocol(m *Mapper) protocol.Diagnostic {
	pd := protocol.Diagnostic{
		Range: m.Range(d.Range), Severity: d.Severity, Code: d.Code,
		Source: diagnosticSource, Message: d.Message, Data: d.Data,
	}
	for _, r := range d.Related {
		pos := protocol.Position{Line: uint32(max(r.Line-1, 0))}
		pd.RelatedInformation = append(pd.RelatedInformation, protocol.DiagnosticRelatedInformation{
			Location: protocol.Location{URI: pathURI(r.Path), Range: protocol.Range{Start: pos, End: pos}},
			Message:  r.Message,
		})
	}
	return pd
}

func syntaxDiags(errs parser.ErrorList) []Diag {
	out := make([]Diag, 0, len(errs))
	for _, e := range errs {
		out = append(out, Diag{Range: e.Range, Severity: protocol.DiagnosticSeverityError, Code: string(e.Code), Message: e.Msg})
	}
	return out
}

func transcriptDiagnostics(a *Analysis) []Diag {
	diags := syntaxDiags(a.Snap.File().Errors)
	if a.settings.shellSyntax() {
		for _, b := range a.Blocks {
			if b.ShellErr != nil {
				diags = append(diags, shellErrorDiag(b))
			}
		}
	}
	for _, f := range a.Files {
		if f.Path != "" && !f.Exists {
			diags = append(diags, Diag{Range: f.Line.PayloadRange(), Severity: protocol.DiagnosticSeverityError, Code: CodeOutputFileMissing,
				Message: fmt.Sprintf("expected-output file %s does not exist (resolved against %s)", f.Line.Payload, filepath.Dir(f.Path))})
		}
	}
	diags = append(diags, depDiagnostics(a)...)
	for _, g := range undeclaredGroups(a) {
		diags = append(diags, g.diag)
	}
	sort.SliceStable(diags, func(i, j int) bool { return diags[i].Range.Start.Before(diags[j].Range.Start) })
	return diags
}

// shellErrorDiag places a shell parse error on the command text.
func shellErrorDiag(b *blockInfo) Diag {
	r := b.Block.Command.PayloadRange()
	msg := b.ShellErr.Error()
	if pe, ok := b.ShellErr.(syntax.ParseError); ok {
		msg = pe.Text
		if pos, ok := blockPos(b.Block, int(pe.Pos.Offset())); ok {
			r = parser.Range{Start: pos, End: pos}
		}
	} else if ie, ok := b.ShellErr.(*syntax.ParseError); ok {
		msg = ie.Text
	}
	return Diag{Range: r, Severity: protocol.DiagnosticSeverityError, Code: CodeShellSyntax,
		Message: "the command does not parse as shell: " + msg}
}

// blockPos maps a byte offset in a block's shell text (the command and its
// continuations joined by '\n') to a transcript position.
func blockPos(b *parser.Block, off int) (parser.Pos, bool) {
	lines := append([]*parser.Line{b.Command}, b.Continuations...)
	for _, l := range lines {
		if off <= len(l.Payload) {
			return parser.Pos{Line: l.Num, Col: l.PayloadPos.Col + off}, true
		}
		off -= len(l.Payload) + 1
	}
	return parser.Pos{}, false
}

func depDiagnostics(a *Analysis) []Diag {
	return depsAndDuplicates(a, "declared")
}

// depsAndDuplicates reports each dependency's own problems and every
// declaration of an input already declared (listed) earlier.
func depsAndDuplicates(a *Analysis, verb string) []Diag {
	var diags []Diag
	first := map[string]*depInfo{}
	for _, di := range a.Deps {
		diags = append(diags, depInfoDiags(a, di)...)
		if !di.Known || len(di.Inputs) == 0 {
			continue
		}
		key := di.Inputs[0].Key()
		if prev, dup := first[key]; dup {
			diags = append(diags, Diag{Range: di.Dep.Range, Severity: protocol.DiagnosticSeverityWarning, Code: CodeDuplicateDep,
				Message: fmt.Sprintf("%s is already %s on line %d", describeInput(di.Inputs[0]), verb, prev.Line)})
			continue
		}
		first[key] = di
	}
	return diags
}

// describeInput names an input for messages.
func describeInput(in engine.Input) string {
	switch in.Kind {
	case engine.InputEnv:
		return "env " + in.Name
	case engine.InputExe:
		return "program " + in.Name
	}
	return in.Kind.String() + " " + in.Raw
}

func depInfoDiags(a *Analysis, di *depInfo) []Diag {
	warn := func(code, format string, args ...interface{}) Diag {
		return Diag{Range: di.Dep.Range, Severity: protocol.DiagnosticSeverityWarning, Code: code, Message: fmt.Sprintf(format, args...)}
	}
	if len(di.Unset) > 0 {
		return []Diag{{Range: di.Dep.Range, Severity: protocol.DiagnosticSeverityHint, Code: CodeDepUnchecked,
			Message: fmt.Sprintf("not checked: $%s is not set in the editor's environment", strings.Join(di.Unset, ", $"))}}
	}
	if di.Err != nil {
		return []Diag{{Range: di.Dep.Range, Severity: protocol.DiagnosticSeverityError, Code: CodeDepInvalid, Message: di.Err.Error()}}
	}
	if !di.Known || len(di.Inputs) == 0 {
		return nil
	}
	in := di.Inputs[0]
	var diags []Diag
	switch {
	case in.Kind == engine.InputEnv:
		return nil // unset is a legitimate value; hover tells
	case in.Kind == engine.InputGlob && !in.Exists:
		diags = append(diags, warn(CodeGlobNoMatch, "glob %s matches no file (under %s)", in.Raw, globBase(in.Path)))
	case in.Kind == engine.InputExe && !in.Exists:
		diags = append(diags, warn(CodeDepMissing, "program %s not found (PATH of the editor's environment)", in.Raw))
	case !in.Exists:
		diags = append(diags, warn(CodeDepMissing, "%s %s does not exist (%s); it hashes as absent until it is created", in.Kind, in.Raw, in.Path))
	}
	if outsideRoot(a, in) {
		diags = append(diags, warn(CodeDepOutsideRoot,
			"%s is outside the module root %s: `go test` ignores files outside the module, so its cached test results will not notice changes here (cmdt's own cache still does)", in.Path, a.Root))
	}
	if di.Depfile != nil {
		diags = append(diags, depfileSummary(a, di)...)
		diags = append(diags, depfileRelativeDiags(di, di.Moved)...)
	}
	return diags
}

// outsideRoot reports an input go test cannot see. Programs found on PATH
// are exempt: they live outside every module and the user cannot move them.
func outsideRoot(a *Analysis, in engine.Input) bool {
	if a.Root == "" || in.InRoot || in.Kind == engine.InputEnv {
		return false
	}
	if in.Kind == engine.InputExe && !strings.ContainsRune(in.Raw, '/') {
		return false
	}
	return true
}

func globBase(pattern string) string {
	base, _ := doublestar.SplitPattern(filepath.ToSlash(pattern))
	return filepath.FromSlash(base)
}

// depfileSummary reports, on the declaration, the problems of an included
// depfile: its syntax errors and entries that do not exist.
func depfileSummary(a *Analysis, di *depInfo) []Diag {
	var diags []Diag
	df := di.Depfile
	path := di.Inputs[0].Path
	if len(df.Errors) > 0 {
		d := Diag{Range: di.Dep.Range, Severity: protocol.DiagnosticSeverityWarning, Code: CodeDepfileError,
			Message: fmt.Sprintf("depfile %s has %d error(s); first, line %d: %s", di.Value, len(df.Errors), df.Errors[0].Range.Start.Line, df.Errors[0].Msg)}
		for _, e := range df.Errors {
			d.Related = append(d.Related, relatedLine{Path: path, Line: e.Range.Start.Line, Message: e.Msg})
		}
		diags = append(diags, d)
	}
	var missing []string
	var rel []relatedLine
	for i, in := range di.Inputs[1:] {
		if in.Kind == engine.InputEnv || in.Exists {
			continue
		}
		line := df.EntryLines[min(i, len(df.EntryLines)-1)].Num
		if isMoved(di.Moved, line) {
			continue // depfile-relative-entry says more, with a fix
		}
		what := "does not exist"
		if in.Kind == engine.InputGlob {
			what = "matches no file"
		}
		missing = append(missing, fmt.Sprintf("%s (line %d, %s)", in.Raw, line, what))
		rel = append(rel, relatedLine{Path: path, Line: line, Message: in.Raw + " " + what})
	}
	if len(missing) > 0 {
		diags = append(diags, Diag{Range: di.Dep.Range, Severity: protocol.DiagnosticSeverityWarning, Code: CodeDepMissing,
			Message: fmt.Sprintf("depfile %s names inputs that are absent: %s", di.Value, strings.Join(missing, "; ")), Related: rel})
	}
	return diags
}

func depfileDiagnostics(a *Analysis) []Diag {
	diags := append(syntaxDiags(a.Snap.Depfile().Errors), depsAndDuplicates(a, "listed")...)
	sort.SliceStable(diags, func(i, j int) bool { return diags[i].Range.Start.Before(diags[j].Range.Start) })
	return diags
}

// diagQueue collects documents whose diagnostics are out of date. A single
// worker drains it, always analysing a document's newest snapshot, so a
// burst of keystrokes costs one analysis, not one per keystroke.
type diagQueue struct {
	mu    sync.Mutex
	dirty map[protocol.DocumentURI]bool
	wake  chan struct{}
}

func newDiagQueue() *diagQueue {
	return &diagQueue{dirty: map[protocol.DocumentURI]bool{}, wake: make(chan struct{}, 1)}
}

func (q *diagQueue) add(uris ...protocol.DocumentURI) {
	q.mu.Lock()
	for _, u := range uris {
		q.dirty[u] = true
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *diagQueue) take() []protocol.DocumentURI {
	q.mu.Lock()
	defer q.mu.Unlock()
	uris := make([]protocol.DocumentURI, 0, len(q.dirty))
	for u := range q.dirty {
		uris = append(uris, u)
	}
	q.dirty = map[protocol.DocumentURI]bool{}
	sort.Slice(uris, func(i, j int) bool { return uris[i] < uris[j] })
	return uris
}

// diagnoseAll marks every open document for re-diagnosis.
func (s *Server) diagnoseAll() {
	for _, snap := range s.store.All() {
		s.diag.add(snap.URI)
	}
}

func (s *Server) diagnosticsLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.diag.wake:
		}
		for _, u := range s.diag.take() {
			if ctx.Err() != nil {
				return
			}
			s.publish(ctx, u)
		}
		s.store.Trim()
	}
}

func (s *Server) publish(ctx context.Context, u protocol.DocumentURI) {
	defer func() {
		if r := recover(); r != nil {
			s.bug("panic in diagnostics", string(u), fmt.Errorf("%v", r))
		}
	}()
	snap := s.store.Get(u)
	if snap == nil {
		return
	}
	a := s.analysis(snap)
	if snap.Kind == DocTranscript {
		for _, c := range s.store.SetRefs(u, a.DepfilePaths) {
			s.diag.add(c.URI)
		}
		// An open depfile's entries resolve against the directory this
		// transcript declares it in, which may just have changed.
		for _, p := range a.DepfilePaths {
			if _, open := s.store.OpenText(p); open {
				s.diag.add(pathURI(p))
			}
		}
	}
	// Files the last run saw read undeclared (observed.go): certain, so
	// they replace the heuristic's warnings about the same files.
	observed, shadowed := s.observedDiagnostics(a)
	diags := make([]protocol.Diagnostic, 0, len(a.Diagnostics)+len(observed))
	for _, d := range a.Diagnostics {
		if d.Code == CodeUndeclared {
			if shadowed.hides(d) {
				continue
			}
			d.Severity = s.depSeverity()
		}
		diags = append(diags, d.toProtocol(snap.Mapper))
	}
	diags = append(diags, observed...)
	// The last run's results, moved onto this text (results.go).
	diags = append(diags, s.runDiagnostics(snap)...)
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	if !s.store.IsCurrent(snap) {
		s.diag.add(u) // superseded while we worked: the newer one is queued
		return
	}
	params := &protocol.PublishDiagnosticsParams{URI: u, Version: uint32(max(snap.Version, 0)), Diagnostics: diags}
	if err := s.client.PublishDiagnostics(ctx, params); err != nil {
		s.log.Debug("publishDiagnostics failed", "uri", u, "err", err)
	}
	if !snap.received.IsZero() {
		latency := time.Since(snap.received)
		// bench/lsp reads this line for server-side latencies.
		s.log.Debug("published diagnostics", "uri", u, "version", snap.Version, "count", len(diags), "latency_us", latency.Microseconds())
		if hook := s.opts.onPublish; hook != nil {
			hook(u, snap.Version, latency)
		}
	}
}

func (s *Server) clearDiagnostics(u protocol.DocumentURI) {
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	params := &protocol.PublishDiagnosticsParams{URI: u, Diagnostics: []protocol.Diagnostic{}}
	if err := s.client.PublishDiagnostics(context.Background(), params); err != nil {
		s.log.Debug("clearing diagnostics failed", "uri", u, "err", err)
	}
}
