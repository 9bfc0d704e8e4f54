package lsp

import (
	"context"
	"fmt"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/parser"
)

// codeAction offers, for each undeclared-dependency warning in the
// requested range, a quick fix adding `% dep file PATH`, plus one fix that
// declares every undeclared file at once when there are several.
func (s *Server) codeAction(ctx context.Context, p *protocol.CodeActionParams) ([]protocol.CodeAction, error) {
	snap, err := s.snapshot(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	actions := []protocol.CodeAction{}
	if snap.Kind != DocTranscript {
		return actions, nil
	}
	a := s.analysis(snap)
	if len(a.Undeclared) == 0 {
		return actions, nil
	}
	want := snap.Mapper.PosOf(p.Range.Start)
	wantEnd := snap.Mapper.PosOf(p.Range.End)
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
	return actions, nil
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
