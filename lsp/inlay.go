package lsp

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// inlayHint answers textDocument/inlayHint (LSP 3.17): the status at the
// end of the first line, and after each `$` line how its command did in
// the last run, "✓ 12 ms" or "✗ 1.2 s". Commands the session has not run
// since their text last changed get the timing of the cached run when
// the cache says the whole text is fresh; others get no hint.
func (s *Server) inlayHint(ctx context.Context, p *InlayHintParams) ([]InlayHint, error) {
	snap, err := s.snapshot(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	hints := []InlayHint{}
	if snap.Kind != DocTranscript {
		return hints, nil
	}
	f := snap.File()
	m := snap.Mapper
	st := s.statusOf(ctx, snap)
	if st.Text != "" && len(f.Lines) > 0 {
		h := InlayHint{Position: m.Position(parser.Pos{Line: 1, Col: len(f.Lines[0].Text)}), Label: st.Text, PaddingLeft: true}
		if len(st.Reasons) > 0 {
			h.Tooltip = strings.Join(st.Reasons, "\n")
		}
		hints = append(hints, h)
	}
	var v *runView
	if rec := s.runs.lastRecord(snap.URI); rec != nil {
		v = rec.viewFor(f)
	}
	cached := map[int]time.Duration{} // `$` line -> the cached run's time
	var recordedAt time.Time
	if st.Verdict != nil && st.Verdict.Manifest != nil && st.Status == StatusFresh {
		recordedAt = st.Verdict.RecordedAt
		for _, c := range st.Verdict.Manifest.Commands {
			cached[c.Line] = c.Duration
		}
	}
	for _, b := range f.Blocks {
		pos := m.Position(parser.Pos{Line: b.Command.Num, Col: len(b.Command.Text)})
		if v != nil {
			if cr := v.results[b]; cr != nil {
				hints = append(hints, commandHint(pos, cr))
				continue
			}
		}
		if d, ok := cached[b.Command.Num]; ok {
			hints = append(hints, InlayHint{Position: pos, Label: "✓ " + formatDuration(d), PaddingLeft: true,
				Tooltip: fmt.Sprintf("passed in %s (cached run of %s)", formatDuration(d), recordedAt.Local().Format("2006-01-02 15:04:05"))})
		}
	}
	return inRange(hints, p.Range), nil
}

func commandHint(pos protocol.Position, cr *engine.CommandResult) InlayHint {
	h := InlayHint{Position: pos, PaddingLeft: true}
	switch f := cr.Failure; {
	case f == nil:
		h.Label = "✓ " + formatDuration(cr.Duration)
		h.Tooltip = "passed in " + formatDuration(cr.Duration)
	case f.TimedOut:
		h.Label = "✗ " + formatDuration(cr.Duration) + " (timed out)"
		h.Tooltip = "timed out and was killed"
	default:
		h.Label = "✗ " + formatDuration(cr.Duration)
		var why []string
		if f.Diff != "" {
			why = append(why, "output differs")
		}
		if f.StatusMismatch {
			why = append(why, fmt.Sprintf("exit status %d, expected %d", f.GotStatus, f.WantStatus))
		}
		if f.Err != nil {
			why = append(why, f.Err.Error())
		}
		h.Tooltip = "failed: " + strings.Join(why, "; ")
	}
	return h
}

// inRange keeps the hints inside r (an empty range means everything).
func inRange(hints []InlayHint, r protocol.Range) []InlayHint {
	if r == (protocol.Range{}) {
		return hints
	}
	out := hints[:0]
	for _, h := range hints {
		if !posBefore(h.Position, r.Start) && !posBefore(r.End, h.Position) {
			out = append(out, h)
		}
	}
	return out
}

func posBefore(a, b protocol.Position) bool {
	return a.Line < b.Line || a.Line == b.Line && a.Character < b.Character
}
