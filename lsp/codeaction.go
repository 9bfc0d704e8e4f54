package lsp

import (
	"context"
	"fmt"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/parser"
)

// CodeActionUpdateTranscript is the kind of the "Update transcript"
// source action. Not source.fixAll: editors run fixAll actions on save
// when asked to, and an update runs every command of the transcript,
// which must never happen as a side effect of saving.
const CodeActionUpdateTranscript protocol.CodeActionKind = "source.updateTranscript"

// codeAction offers, in the requested range: for each command that failed
// in the last run, "Accept actual output" (cmdt.accept); for each
// undeclared-dependency warning, a quick fix adding `% dep file PATH`,
// plus one that declares every undeclared file when there are several;
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

// declareActions are the undeclared-dependency quick fixes.
func (s *Server) declareActions(snap *Snapshot, want, wantEnd parser.Pos) []protocol.CodeAction {
	a := s.analysis(snap)
	if len(a.Undeclared) == 0 {
		return nil
	}
	var actions []protocol.CodeAction
	at, atEOF := depInsertLine(snap.File())
	for _, u := range a.Undeclared {
		if u.Range.End.Before(want) || wantEnd.Before(u.Range.Start) {
			continue
		}
		d := u.diag().toProtocol(snap.Mapper)
		actions = append(actions, protocol.CodeAction{
			Title: fmt.Sprintf("Declare `%% dep file %s`", quoteWord(u.Rel)), Kind: protocol.QuickFix,
			Diagnostics: []protocol.Diagnostic{d}, IsPreferred: true,
			Edit: declareEdit(snap, at, atEOF, []string{u.Rel}),
		})
	}
	if len(actions) > 0 && len(a.Undeclared) > 1 {
		var paths []string
		seen := map[string]bool{}
		for _, u := range a.Undeclared {
			if !seen[u.Rel] {
				seen[u.Rel] = true
				paths = append(paths, u.Rel)
			}
		}
		actions = append(actions, protocol.CodeAction{
			Title: fmt.Sprintf("Declare all %d undeclared files", len(paths)), Kind: protocol.QuickFix,
			Edit: declareEdit(snap, at, atEOF, paths),
		})
	}
	return actions
}

// depInsertLine picks where new declarations go: after the `% dep` lines
// that precede the first command, else just before the first command, else
// at the end. Before the first command the session is still in the
// transcript's directory, which is what the fix's relative paths assume.
// It returns the 1-based line to insert before, and whether that is past
// the last line.
func depInsertLine(f *parser.File) (int, bool) {
	lastDep := 0
	for _, l := range f.Lines {
		if l.Kind == parser.KindCommand {
			if lastDep > 0 {
				return lastDep + 1, false
			}
			return l.Num, false
		}
		if l.Kind == parser.KindDirective && l.Block == nil && (l.Directive.Name == parser.DirectiveDep || l.Directive.Name == parser.DirectiveDepfile) {
			lastDep = l.Num
		}
	}
	if lastDep > 0 && lastDep < len(f.Lines) {
		return lastDep + 1, false
	}
	return len(f.Lines) + 1, true
}

func declareEdit(snap *Snapshot, line int, atEOF bool, paths []string) *protocol.WorkspaceEdit {
	var b strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&b, "%% dep file %s\n", quoteWord(p))
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
