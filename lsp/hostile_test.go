package lsp

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"go.lsp.dev/protocol"
)

// TestSpecialFilesNeverStall (issue 18): a transcript naming a FIFO, a
// device and the server's own stdin as depfiles and as an expected-output
// file is analysed, hovered and diagnosed like any other, and requests on
// other documents go on being answered. Before, the FIFO stopped the whole
// server and /dev/zero grew it by gigabytes. The property is that every
// request gets an answer (each call has the client's timeout), not speed.
func TestSpecialFilesNeverStall(t *testing.T) {
	dir := workspaceDir(t, map[string]string{"data.txt": "x\n", "other.cmdt": "$ cat data.txt\n1 x\n"})
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	c := newTestClient(t)
	c.initialize(dir, "")
	bad := pathURI(filepath.Join(dir, "bad.cmdt"))
	text := "% depfile fifo\n% depfile /dev/zero\n% depfile /dev/stdin\n$ cat data.txt\n1< fifo\n\n$ echo hi\n1< /dev/zero\n"
	c.open(bad, "cmdt", text)
	diags := c.waitDiagnostics(bad, 1)
	var msgs []string
	for _, d := range diags {
		msgs = append(msgs, d.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"not a regular file (a FIFO)", "not a regular file (a character device)"} {
		if !strings.Contains(all, want) {
			t.Errorf("diagnostics do not say %q:\n%s", want, all)
		}
	}
	for _, pos := range []protocol.Position{{Line: 0, Character: 12}, {Line: 1, Character: 12}, {Line: 2, Character: 12}, {Line: 4, Character: 3}, {Line: 7, Character: 4}} {
		c.mustCall(protocol.MethodTextDocumentHover, posParams(bad, pos.Line, pos.Character), nil)
	}
	c.mustCall(protocol.MethodTextDocumentDefinition, posParams(bad, 0, 12), nil)
	// Other documents are still served.
	other := pathURI(filepath.Join(dir, "other.cmdt"))
	c.open(other, "cmdt", "$ cat data.txt\n1 x\n")
	c.waitDiagnostics(other, 1)
	c.mustCall(protocol.MethodTextDocumentDocumentSymbol, docID(other), nil)
	c.mustCall(protocol.MethodTextDocumentHover, posParams(other, 0, 3), nil)
	c.shutdown()
}

// TestRunsNeedARealFile (issue 18): the server runs a transcript only in
// a place the user opened: inside a workspace folder, or, without one,
// where the file exists. A buffer named after a path with no file (an
// editor can call a new buffer /etc/t.cmdt) runs nothing.
func TestRunsNeedARealFile(t *testing.T) {
	ws := workspaceDir(t, map[string]string{"in.txt": "x\n"})
	elsewhere := t.TempDir()
	c := newTestClient(t)
	c.initialize(ws, "")
	outside := pathURI(filepath.Join(elsewhere, "t.cmdt"))
	c.open(outside, "cmdt", "$ touch ran\n")
	if _, err := c.execute(CommandRun, string(outside)); err == nil || !strings.Contains(err.Error(), "outside the workspace folders") {
		t.Errorf("run outside the workspace: %v, want a refusal naming the workspace", err)
	}
	if fileExists(filepath.Join(elsewhere, "ran")) {
		t.Fatal("the transcript ran outside the workspace")
	}
	inside := pathURI(filepath.Join(ws, "t.cmdt"))
	c.open(inside, "cmdt", "$ cat in.txt\n1 x\n")
	if out := c.mustExecute(CommandRun, string(inside)); out.Status != "passed" {
		t.Errorf("run inside the workspace: %+v", out)
	}
	c.shutdown()

	// No workspace folder: only a file that exists runs.
	c2 := newTestClient(t)
	c2.initialize("", "")
	ghost := pathURI(filepath.Join(elsewhere, "ghost.cmdt"))
	c2.open(ghost, "cmdt", "$ touch ran\n")
	if _, err := c2.execute(CommandRun, string(ghost)); err == nil || !strings.Contains(err.Error(), "has no file on disk") {
		t.Errorf("run of a buffer with no file: %v, want a refusal", err)
	}
	if fileExists(filepath.Join(elsewhere, "ran")) {
		t.Fatal("a buffer with no file behind it ran")
	}
	c2.shutdown()
}

// TestUpdateNeverWritesOutsideRoot (issue 18): the server's update writes
// output files through engine.WriteInRoot, so a directory link out of the
// module root is refused and nothing is written there.
func TestUpdateNeverWritesOutsideRoot(t *testing.T) {
	ws := workspaceDir(t, map[string]string{"go.mod": "module example.com/x\n"})
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(ws, "ldir")); err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t)
	c.initialize(ws, "")
	u := pathURI(filepath.Join(ws, "t.cmdt"))
	text := "$ echo hi\n1< ldir/victim.txt\n"
	writeFiles(t, ws, map[string]string{"t.cmdt": text})
	c.open(u, "cmdt", text)
	if _, err := c.execute(CommandUpdate, string(u)); err == nil || !strings.Contains(err.Error(), "outside the module root") {
		t.Errorf("update through a link out of the root: %v, want a refusal", err)
	}
	if _, err := os.Lstat(filepath.Join(outside, "victim.txt")); err == nil {
		t.Fatal("the update wrote outside the module root")
	}
	c.shutdown()
}
