package lsp

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// CodeActionUpdateTranscript is the kind of the "Update transcript"
// source action. Not source.fixAll: editors run fixAll actions on save
// when asked to, and an update runs every command of the transcript,
// which must never happen as a side effect of saving.
const CodeActionUpdateTranscript protocol.CodeActionKind = "source.updateTranscript"

// codeAction offers, in the requested range: for each command that failed
// in the last run, "Accept actual output" (cmdt.accept); for each
// undeclared-dependency or undeclared-observed warning, a quick fix adding
// its declaration, plus one that declares every undeclared file when there
// are several;
// and on any transcript saved as a file, the source action "Update
// transcript" (cmdt.update).
func (s *Server) codeAction(ctx context.Context, p *protocol.CodeActionParams) ([]protocol.CodeAction, error) {
	snap, err := s.snapshot(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	actions := []protocol.CodeAction{}
	if snap.Kind != DocTranscript {
		return actions, nil
	}
	want := snap.Mapper.PosOf(p.Range.Start)
	wantEnd := snap.Mapper.PosOf(p.Range.End)
	if wants(p.Context.Only, protocol.QuickFix) {
		actions = append(actions, s.acceptActions(snap, want, wantEnd)...)
		actions = append(actions, s.declareActions(snap, want, wantEnd)...)
		actions = append(actions, s.depfileRelativeActions(snap, want, wantEnd)...)
	}
	if snap.Path != "" && wants(p.Context.Only, CodeActionUpdateTranscript) {
		actions = append(actions, protocol.CodeAction{
			Title: "Update transcript (run and rewrite every expectation)", Kind: CodeActionUpdateTranscript,
			Command: &protocol.Command{Title: "Update transcript", Command: CommandUpdate, Arguments: []interface{}{string(snap.URI)}},
		})
	}
	return actions, nil
}

// wants reports whether a code action of kind k is asked for: only lists
// kinds, and a kind covers its sub-kinds ("source" covers
// "source.updateTranscript").
func wants(only []protocol.CodeActionKind, k protocol.CodeActionKind) bool {
	if len(only) == 0 {
		return true
	}
	for _, o := range only {
		if o == k || strings.HasPrefix(string(k), string(o)+".") {
			return true
		}
	}
	return false
}

// acceptActions offers to accept the actual output of each command that
// failed in the last run and whose block meets the range.
func (s *Server) acceptActions(snap *Snapshot, want, wantEnd parser.Pos) []protocol.CodeAction {
	rec := s.runs.lastRecord(snap.URI)
	if rec == nil {
		return nil
	}
	f := snap.File()
	v := rec.viewFor(f)
	var actions []protocol.CodeAction
	for _, b := range f.Blocks {
		cr := v.results[b]
		if cr == nil || cr.Failure == nil || cr.TimedOut || b.LastLine().Num < want.Line || wantEnd.Line < b.Command.Num {
			continue
		}
		line := snap.Mapper.Range(b.Command.Range()).Start.Line
		actions = append(actions, protocol.CodeAction{
			Title: "Accept actual output", Kind: protocol.QuickFix, IsPreferred: true,
			Diagnostics: failureDiagnostics(snap, b, cr, rec.messages[cr]),
			Command:     &protocol.Command{Title: "Accept actual output", Command: CommandAccept, Arguments: []interface{}{string(snap.URI), line}},
		})
	}
	return actions
}

// declareActions are the quick fixes of undeclared-dependency (the
// heuristic) and undeclared-observed (the last run) warnings: one per
// warning in the range, inserting its declaration, plus one declaring
// every undeclared file when there are several.
func (s *Server) declareActions(snap *Snapshot, want, wantEnd parser.Pos) []protocol.CodeAction {
	a := s.analysis(snap)
	ov := s.observedView(a)
	type fix struct {
		rng   parser.Range
		diag  Diag
		title string
		decls []string
	}
	var fixes []fix
	if ov != nil {
		for _, it := range ov.items {
			fixes = append(fixes, fix{it.Range, it.diag(s.depSeverity()), it.Title, it.Decls})
		}
	}
	for _, g := range undeclaredGroups(a) {
		if ov != nil && ov.hides(g.diag) {
			continue // the run saw the command read: its observed warning has the fix
		}
		d := g.diag
		d.Severity = s.depSeverity()
		fixes = append(fixes, fix{d.Range, d, g.title, g.decls})
	}
	if len(fixes) == 0 {
		return nil
	}
	sort.SliceStable(fixes, func(i, j int) bool { return fixes[i].rng.Start.Before(fixes[j].rng.Start) })
	var actions []protocol.CodeAction
	at, atEOF := engine.DeclInsertLine(snap.File())
	for _, f := range fixes {
		if f.rng.End.Before(want) || wantEnd.Before(f.rng.Start) {
			continue
		}
		actions = append(actions, protocol.CodeAction{
			Title: f.title, Kind: protocol.QuickFix,
			Diagnostics: []protocol.Diagnostic{f.diag.toProtocol(snap.Mapper)}, IsPreferred: true,
			Edit: declareEdit(snap, at, atEOF, f.decls),
		})
	}
	var all []string
	seen := map[string]bool{}
	for _, f := range fixes {
		for _, d := range f.decls {
			if !seen[d] {
				seen[d] = true
				all = append(all, d)
			}
		}
	}
	if len(actions) > 0 && len(all) > 1 {
		actions = append(actions, protocol.CodeAction{
			Title: fmt.Sprintf("Declare all %d undeclared files", len(all)), Kind: protocol.QuickFix,
			Edit: declareEdit(snap, at, atEOF, all),
		})
	}
	return actions
}

// declareEdit inserts declaration lines ("% dep file x") before line
// (see engine.DeclInsertLine).
func declareEdit(snap *Snapshot, line int, atEOF bool, decls []string) *protocol.WorkspaceEdit {
	var b strings.Builder
	for _, d := range decls {
		b.WriteString(d + "\n")
	}
	text := b.String()
	var pos protocol.Position
	if atEOF {
		pos = snap.Mapper.OffsetToPosition(len(snap.Text))
		if snap.Text != "" && !strings.HasSuffix(snap.Text, "\n") {
			text = "\n" + strings.TrimSuffix(text, "\n")
		}
	} else {
		pos = snap.Mapper.Position(parser.Pos{Line: line})
	}
	return &protocol.WorkspaceEdit{Changes: map[protocol.DocumentURI][]protocol.TextEdit{
		snap.URI: {{Range: protocol.Range{Start: pos, End: pos}, NewText: text}},
	}}
}
