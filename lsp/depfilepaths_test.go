package lsp

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.lsp.dev/protocol"
)

// A depfile declared from another directory whose entries only exist
// relative to the depfile (the old reading) gets one warning on the
// declaration, not a silent change of meaning; the quick fix rewrites the
// entries in the depfile, and the warning goes.
func TestDepfileRelativeEntriesQuickFix(t *testing.T) {
	deps := "data.txt\nfile sub/x.json\n$HOME\nfile top.txt\nglob sub/*.json\n"
	dir := workspaceDir(t, map[string]string{
		"conf/deps.txt":   deps,
		"conf/data.txt":   "d\n",
		"conf/sub/x.json": "{}",
		"top.txt":         "t\n",
	})
	src := "% dep < conf/deps.txt\n$ true\n"
	writeFiles(t, dir, map[string]string{"t.cmdt": src})
	c := newTestClient(t)
	c.initialize(dir, "")
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	diags := c.waitDiagnostics(u, 1)
	if got := codes(diags); !reflect.DeepEqual(got, []string{CodeDepfileRelative}) {
		t.Fatalf("codes = %v: %+v", got, diags)
	}
	d := diags[0]
	for _, w := range []string{"data.txt (line 1) now means conf/data.txt", "sub/x.json (line 2) now means conf/sub/x.json", "sub/*.json (line 5) now means conf/sub/*.json"} {
		if !strings.Contains(d.Message, w) {
			t.Errorf("message lacks %q: %s", w, d.Message)
		}
	}
	if d.Range.Start.Line != 0 || len(d.RelatedInformation) != 3 || d.RelatedInformation[0].Location.Range.Start.Line != 0 {
		t.Errorf("diagnostic at %+v, related %+v", d.Range, d.RelatedInformation)
	}

	var actions []protocol.CodeAction
	p := docID(u)
	p["range"] = protocol.Range{Start: protocol.Position{Line: 0, Character: 3}, End: protocol.Position{Line: 0, Character: 3}}
	p["context"] = map[string]interface{}{"diagnostics": []interface{}{}, "only": []string{"quickfix"}}
	c.mustCall(protocol.MethodTextDocumentCodeAction, p, &actions)
	if len(actions) != 1 || actions[0].Edit == nil {
		t.Fatalf("actions = %+v", actions)
	}
	du := pathURI(filepath.Join(dir, "conf/deps.txt"))
	fixed := applyTextEdits(deps, actions[0].Edit.Changes[du])
	if want := "conf/data.txt\nfile conf/sub/x.json\n$HOME\nfile top.txt\nglob conf/sub/*.json\n"; fixed != want {
		t.Fatalf("fixed depfile =\n%s\nwant\n%s", fixed, want)
	}
	// The client applies it and saves; the warning is gone, nothing else
	// appears.
	writeFiles(t, dir, map[string]string{"conf/deps.txt": fixed})
	c.notify(protocol.MethodWorkspaceDidChangeWatchedFiles, map[string]interface{}{
		"changes": []interface{}{map[string]interface{}{"uri": string(du), "type": 2}}})
	c.waitPublish(u, func(p protocol.PublishDiagnosticsParams) bool { return len(p.Diagnostics) == 0 })

	// Opened on its own, the depfile resolves against the directory that
	// declares it: no entry is missing.
	c.open(du, "plaintext", fixed)
	if dd := c.waitDiagnostics(du, 1); len(dd) != 0 {
		t.Errorf("depfile diagnostics = %+v", dd)
	}
	c.shutdown()
}

// A depfile's errors found by a run go on the line declaring the depfile,
// naming the depfile's line, never at the depfile's line numbers in the
// transcript.
func TestRunDepfileErrorsOnTheDeclaration(t *testing.T) {
	dir := workspaceDir(t, map[string]string{"conf/bad.deps": "# c\n\n\n\nfile bad\\q\n"})
	src := "$ true\n\n% depfile conf/bad.deps\n$ echo hi\n1 hi\n"
	writeFiles(t, dir, map[string]string{"t.cmdt": src})
	c := newTestClient(t, withCacheDir(t.TempDir()))
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	c.waitDiagnostics(u, 1)
	if out := c.mustExecute(CommandRun, string(u)); out.Status != OutcomeFailed {
		t.Fatalf("run = %+v", out)
	}
	var run protocol.Diagnostic
	c.waitUntil("the run's declaration error", func() bool {
		for _, d := range c.latestDiagnostics(u) {
			if strings.HasPrefix(d.Message, "run: ") {
				run = d
				return true
			}
		}
		return false
	})
	if run.Range.Start.Line != 2 || !strings.HasPrefix(run.Message, "run: depfile conf/bad.deps:5: unknown escape") {
		t.Fatalf("run diagnostic at line %d: %q", run.Range.Start.Line, run.Message)
	}
	if r := run.RelatedInformation; len(r) != 1 || r[0].Location.URI != pathURI(filepath.Join(dir, "conf/bad.deps")) || r[0].Location.Range.Start.Line != 4 {
		t.Errorf("related = %+v", r)
	}
	c.shutdown()
	if _, err := os.Stat(filepath.Join(dir, "conf/bad.deps")); err != nil {
		t.Fatal(err)
	}
}
