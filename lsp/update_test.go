package lsp

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.lsp.dev/protocol"
)

// Update rewrites only the expectation lines that change, in the unsaved
// buffer (the disk keeps its text), and writes binary output to a file
// beside the transcript.
func TestUpdateMinimalEdits(t *testing.T) {
	dir := workspaceDir(t, nil)
	disk := strings.Join([]string{
		"# header",
		"$ printf 'a\\nb\\nc\\n'",
		"1 a",
		"1 x",
		"1 c",
		"",
		"$ echo keep",
		"1 keep",
		"",
		"$ sh -c 'echo err >&2; exit 3'",
		"2 err",
		"",
		"$ printf 'z\\000z'",
		"",
	}, "\n")
	writeFiles(t, dir, map[string]string{"up.cmdt": disk})
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "up.cmdt"))
	c.open(u, "cmdt", disk)
	// An unsaved edit: the update must work on it.
	c.change(u, 2, TextDocumentContentChangeEvent{Range: &protocol.Range{Start: protocol.Position{Line: 0, Character: 8}, End: protocol.Position{Line: 0, Character: 8}}, Text: " (edited)"})

	out := c.mustExecute(CommandUpdate, string(u))
	if out.Status != OutcomeUpdated || out.Edits != 3 || !reflect.DeepEqual(out.Files, []string{"001.bin"}) {
		t.Fatalf("update = %+v", out)
	}
	want := strings.Join([]string{
		"# header (edited)",
		"$ printf 'a\\nb\\nc\\n'",
		"1 a",
		"1 b",
		"1 c",
		"",
		"$ echo keep",
		"1 keep",
		"",
		"$ sh -c 'echo err >&2; exit 3'",
		"2 err",
		"? 3",
		"",
		"$ printf 'z\\000z'",
		"1< 001.bin",
		"",
	}, "\n")
	if got := c.text(u); got != want {
		t.Fatalf("buffer after update:\n%s\nwant:\n%s", got, want)
	}
	c.mu.Lock()
	edits := append([]protocol.TextEdit(nil), c.edits...)
	c.mu.Unlock()
	for _, e := range edits {
		if e.Range.End.Line-e.Range.Start.Line > 1 || strings.Count(e.NewText, "\n") != 1 {
			t.Errorf("edit %+v touches more than one line", e)
		}
	}
	if bin, err := os.ReadFile(filepath.Join(dir, "001.bin")); err != nil || string(bin) != "z\x00z" {
		t.Errorf("001.bin = %q, %v", bin, err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "up.cmdt")); string(got) != disk {
		t.Errorf("the transcript on disk changed:\n%s", got)
	}
	// Updating again changes nothing.
	if out := c.mustExecute(CommandUpdate, string(u)); out.Status != OutcomeUnchanged || out.Edits != 0 {
		t.Errorf("second update = %+v", out)
	}
	// A client that refuses the edit gets an error, not a silent success.
	c.change(u, 10, TextDocumentContentChangeEvent{Range: &protocol.Range{Start: protocol.Position{Line: 3}, End: protocol.Position{Line: 3, Character: 3}}, Text: "1 B"})
	c.mu.Lock()
	c.rejectAll = true
	c.mu.Unlock()
	if _, err := c.execute(CommandUpdate, string(u)); err == nil || !strings.Contains(err.Error(), "did not apply") {
		t.Errorf("update with a refused edit: %v", err)
	}
}

// Output files: a "1<" file is rewritten atomically; one open in the
// editor is edited through the editor instead; nothing is written outside
// the module root.
func TestUpdateOutputFiles(t *testing.T) {
	outside := t.TempDir()
	dir := workspaceDir(t, map[string]string{"want.txt": "old\n", "open.txt": "old\n"})
	src := "$ echo new\n1< want.txt\n\n$ echo newer\n1< open.txt\n"
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	openURI := pathURI(filepath.Join(dir, "open.txt"))
	c.open(openURI, "plaintext", "old\n")
	out := c.mustExecute(CommandUpdate, string(u))
	if out.Status != OutcomeUpdated || !reflect.DeepEqual(out.Files, []string{"want.txt"}) || out.Edits != 1 {
		t.Fatalf("update = %+v", out)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "want.txt")); string(got) != "new\n" {
		t.Errorf("want.txt = %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "open.txt")); string(got) != "old\n" {
		t.Errorf("open.txt written behind the editor's back: %q", got)
	}
	if got := c.text(openURI); got != "newer\n" {
		t.Errorf("open.txt in the editor = %q", got)
	}
	if got := c.text(u); got != src {
		t.Errorf("the transcript changed: %q", got)
	}

	far := filepath.Join(outside, "far.txt")
	src2 := "$ echo x\n1< " + far + "\n"
	u2 := pathURI(filepath.Join(dir, "t2.cmdt"))
	c.open(u2, "cmdt", src2)
	if _, err := c.execute(CommandUpdate, string(u2)); err == nil || !strings.Contains(err.Error(), "outside the module root") {
		t.Errorf("update writing outside the root: %v", err)
	}
	if fileExists(far) {
		t.Errorf("%s was written", far)
	}
}

// An exit-status mismatch is reported on the `?` line, or on the `$`
// line when there is none; accepting adds the `? N` line.
func TestExitStatusMismatch(t *testing.T) {
	dir := workspaceDir(t, nil)
	src := "$ sh -c 'exit 2'\n? 1\n\n$ false\n"
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	c.mustExecute(CommandRun, string(u))
	diags := c.waitCodes(u, CodeExitStatus, CodeExitStatus)
	if diags[0].Range.Start.Line != 1 || diags[0].Message != "exit status 2, expected 1" {
		t.Errorf("first = %+v", diags[0])
	}
	if diags[1].Range.Start.Line != 3 || !strings.HasPrefix(diags[1].Message, "exit status 1, expected 0") {
		t.Errorf("second = %+v", diags[1])
	}
	out := c.mustExecute(CommandAccept, string(u), 3)
	if out.Status != OutcomeUpdated || c.text(u) != "$ sh -c 'exit 2'\n? 1\n\n$ false\n? 1\n" {
		t.Errorf("accept = %+v, text %q", out, c.text(u))
	}
	out = c.mustExecute(CommandAccept, string(u), 0)
	if out.Status != OutcomeUpdated || c.text(u) != "$ sh -c 'exit 2'\n? 2\n\n$ false\n? 1\n" {
		t.Errorf("accept = %+v, text %q", out, c.text(u))
	}
}
