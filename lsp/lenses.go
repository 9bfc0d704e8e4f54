package lsp

import (
	"context"

	"go.lsp.dev/protocol"
)

// Lens titles. The first carries the status for clients without inlay
// hints: "▶ Run · cached ✓ 3 min ago".
const (
	LensRun        = "▶ Run"
	LensUpdate     = "↻ Update"
	LensRunNoCache = "▶ Run (ignore cache)"
	LensCancel     = "■ Cancel"
	LensAccept     = "✓ Accept actual output"
	lensStatusSep  = " · "
)

// codeLens answers textDocument/codeLens for transcripts saved as files
// (others cannot run): run, update and run-ignoring-the-cache on the
// first line, cancel while a run is going, and on each command that
// failed in the last run, accept its actual output.
func (s *Server) codeLens(ctx context.Context, p *protocol.CodeLensParams) ([]protocol.CodeLens, error) {
	snap, err := s.snapshot(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	lenses := []protocol.CodeLens{}
	if snap.Kind != DocTranscript || snap.Path == "" {
		return lenses, nil
	}
	top := protocol.Range{}
	uri := string(snap.URI)
	lens := func(r protocol.Range, title, cmd string, args ...interface{}) protocol.CodeLens {
		return protocol.CodeLens{Range: r, Command: &protocol.Command{Title: title, Command: cmd, Arguments: args}}
	}
	title := LensRun
	if st := s.statusOf(ctx, snap); st.Text != "" {
		title += lensStatusSep + st.Text
	}
	lenses = append(lenses,
		lens(top, title, CommandRun, uri),
		lens(top, LensUpdate, CommandUpdate, uri),
		lens(top, LensRunNoCache, CommandRunNoCache, uri))
	if s.runs.activeJob(snap.URI) != nil {
		lenses = append(lenses, lens(top, LensCancel, CommandCancel, uri))
	}
	rec := s.runs.lastRecord(snap.URI)
	if rec == nil {
		return lenses, nil
	}
	f := snap.File()
	v := rec.viewFor(f)
	for _, b := range f.Blocks {
		if cr := v.results[b]; cr != nil && cr.Failure != nil && !cr.TimedOut {
			r := snap.Mapper.Range(b.Command.Range())
			r.End = r.Start
			lenses = append(lenses, lens(r, LensAccept, CommandAccept, uri, r.Start.Line))
		}
	}
	return lenses, nil
}
