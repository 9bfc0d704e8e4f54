package lsp

import (
	"sort"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// lineEdits must produce exactly what the engine's update writes (the
// CLI's `transcript update`), touching only the lines that change.
func TestLineEditsAgreeWithEngine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		text    string
		outputs []string // stdout of each block, in order
		touched int      // lines the edits may touch at most
	}{
		{"middle line", "$ x\n1 a\n1 x\n1 c\n\n$ y\n1 y\n", []string{"a\nb\nc\n", "y\n"}, 1},
		{"insert at EOF", "$ x\n", []string{"new\n"}, 1},
		{"insert at EOF without newline", "$ x", []string{"new\n"}, 1},
		{"replace last line without newline", "$ x\n1 old", []string{"new\n"}, 1},
		{"delete lines", "$ x\n1 a\n1 b\n1 c\n# after\n", []string{"a\n"}, 2},
		{"delete at EOF without newline", "$ x\n1 a\n1 b", []string{"a\n"}, 1},
		{"keep directives", "$ x\n1 a\n% dep env HOME\n1 b\n", []string{"a\nc\n"}, 1},
		{"no-newline", "$ x\n1 a\n", []string{"a"}, 1},
		{"several blocks", "$ x\n1 1\n$ y\n1 2\n$ z\n1 3\n", []string{"one\n", "2\n", "three\n"}, 2},
		{"unicode", "$ x\n1 é😀\n1 b\n", []string{"😀é\nb\n"}, 1},
		{"CRLF kept where unchanged", "$ x\r\n1 a\r\n", []string{"a\n"}, 0},
		{"CRLF kept around a change", "$ x\r\n1 a\r\n1 b\r\n# c\r\n", []string{"a\nc\n"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := parser.Parse(dir+"/t.cmdt", []byte(tc.text))
			res := &engine.Result{File: f, Dir: dir, Root: dir}
			for i, b := range f.Blocks {
				res.Commands = append(res.Commands, &engine.CommandResult{Block: b, Stdout: []byte(tc.outputs[i]), Dir: dir})
			}
			plan, err := engine.PlanUpdate(res)
			if err != nil {
				t.Fatal(err)
			}
			snap := newSnapshot(pathURI(dir+"/t.cmdt"), dir+"/t.cmdt", 1, "cmdt", tc.text, DocTranscript, UTF16)
			var edits []protocol.TextEdit
			for _, be := range plan.Edits {
				edits = append(edits, lineEdits(snap, be.StartLine, be.EndLine, be.Lines)...)
			}
			got := applyTextEdits(tc.text, edits)
			// The engine writes "\n" (spec §1); the editor keeps the
			// buffer's own line endings on lines the edits leave alone.
			if strings.ReplaceAll(got, "\r\n", "\n") != strings.ReplaceAll(string(plan.Source), "\r\n", "\n") {
				t.Fatalf("edits give\n%q\nthe engine writes\n%q\nedits: %+v", got, plan.Source, edits)
			}
			lines := 0
			for _, e := range edits {
				lines += int(e.Range.End.Line - e.Range.Start.Line)
			}
			if lines > tc.touched {
				t.Errorf("edits replace %d lines, want at most %d: %+v", lines, tc.touched, edits)
			}
		})
	}
}

// applyTextEdits applies LSP edits (all relative to text) in UTF-16.
func applyTextEdits(text string, edits []protocol.TextEdit) string {
	edits = append([]protocol.TextEdit(nil), edits...)
	sort.SliceStable(edits, func(i, j int) bool { return posBefore(edits[j].Range.Start, edits[i].Range.Start) })
	m := NewMapper(text, UTF16)
	for _, e := range edits {
		start, end := m.PositionToOffset(e.Range.Start), m.PositionToOffset(e.Range.End)
		text = text[:start] + e.NewText + text[end:]
	}
	return text
}

func TestStatusTexts(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		10 * time.Second: "just now", 3 * time.Minute: "3 min ago", 59 * time.Minute: "59 min ago",
		2 * time.Hour: "2 h ago", 50 * time.Hour: "2 d ago",
	} {
		if got := ago(now.Add(-d), now); got != want {
			t.Errorf("ago(%s) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		400 * time.Microsecond: "<1 ms", 12 * time.Millisecond: "12 ms", 1234 * time.Millisecond: "1.2 s",
		65 * time.Second: "1 min 5 s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
	}
	if got := summarize([]string{"a changed", "b changed", "c changed", "d changed"}); got != "a changed, b changed (+2 more)" {
		t.Errorf("summarize = %q", got)
	}
}

// The run results' share of a keystroke on a 10,000-line transcript
// (2,727 commands) that has run: mapping the results onto the new text and
// building their diagnostics, with one failed command and with all failed.
func TestRunResultsCost10k(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	src := genTranscript(10000)
	u := pathURI("/bench/big.cmdt")
	for _, allFail := range []bool{false, true} {
		s := newServer(Options{})
		ran := newSnapshot(u, "/bench/big.cmdt", 1, "cmdt", src, DocTranscript, UTF16)
		res := &engine.Result{File: ran.File(), Dir: "/bench", Root: "/bench"}
		for i, b := range ran.File().Blocks {
			cr := &engine.CommandResult{Block: b, Stdout: []byte("x\n"), Duration: time.Millisecond}
			if allFail || i == 7 {
				cr.Failure = &engine.Failure{Line: b.Command.Num, Diff: "--- expected\n+++ actual\n@@ -1 +1 @@\n-1 a\n+1 x\n"}
			}
			res.Commands = append(res.Commands, cr)
		}
		rec := newRunRecord(jobRun, src, res, false)
		s.runs.setLast(u, rec)
		var worst, total time.Duration
		const n = 20
		ndiags := 0
		for i := 0; i < n; i++ {
			// A keystroke near the middle (it edits one block): a new snapshot.
			mid := len(src) / 2
			text := src[:mid] + "#" + src[mid:]
			snap := newSnapshot(u, "/bench/big.cmdt", int32(i+2), "cmdt", text, DocTranscript, UTF16)
			snap.File()
			start := time.Now()
			ndiags = len(s.runDiagnostics(snap))
			d := time.Since(start)
			total += d
			worst = max(worst, d)
		}
		t.Logf("run results, 10,000 lines, %d of %d commands failed: %d diagnostics; mean %s, worst %s per keystroke",
			rec.Failed, len(res.Commands), ndiags, total/n, worst)
		if total/n > 50*time.Millisecond {
			t.Errorf("run results cost %s per keystroke", total/n)
		}
	}
}
