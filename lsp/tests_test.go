package lsp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"
)

// staleNotes returns the cmdt/stale notifications received so far.
func (c *testClient) staleNotes() []StaleParams {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []StaleParams
	for _, n := range c.notes {
		if n.method != MethodCmdtStale {
			continue
		}
		var p StaleParams
		if err := json.Unmarshal(n.params, &p); err != nil {
			c.t.Errorf("bad cmdt/stale: %v", err)
		}
		out = append(out, p)
	}
	return out
}

// nextStale waits for the cmdt/stale notification after the first seen
// ones (a generous ceiling: the machine is shared).
func (c *testClient) nextStale(seen int) StaleParams {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ns := c.staleNotes(); len(ns) > seen {
			return ns[seen]
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no cmdt/stale notification within 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func staleURIs(p StaleParams) []string {
	var out []string
	for _, e := range p.Stale {
		out = append(out, filepath.Base(string(e.URI)))
	}
	return out
}

func TestTestTreeRunAndStaleSet(t *testing.T) {
	dir := workspaceDir(t, map[string]string{
		"testdata/in.txt":          "hello\n",
		"a.cmdt":                   "% dep file testdata/in.txt\n$ cat testdata/in.txt\n1 hello\n\n$ echo two &&\n> echo more\n1 two\n1 more\n",
		"sub/b.cmdt":               "$ echo b\n1 b\n",
		"node_modules/x/skip.cmdt": "$ echo skipped\n",
		"bad.cmdt":                 "$ echo\n3 oops\n",
	})
	c := newTestClient(t)
	res := c.initialize(dir, "")
	exp, _ := json.Marshal(res.Capabilities.Experimental)
	if !strings.Contains(string(exp), `"cmdtTests"`) {
		t.Fatalf("capabilities.experimental = %s, want cmdtTests", exp)
	}

	// The tree: every transcript, each command block, nothing run.
	var tree TestTreeResult
	c.mustCall(MethodCmdtTestTree, TestTreeParams{}, &tree)
	var names []string
	for _, tr := range tree.Transcripts {
		rel, _ := filepath.Rel(dir, mustPath(t, tr.URI))
		names = append(names, rel)
	}
	if strings.Join(names, ",") != "a.cmdt,bad.cmdt,sub/b.cmdt" {
		t.Fatalf("tree lists %v", names)
	}
	a := tree.Transcripts[0]
	if len(a.Commands) != 2 || a.Commands[0].Line != 1 || a.Commands[1].Line != 4 || a.Commands[1].EndLine != 7 || a.Commands[1].Command != "echo two &&\necho more" {
		t.Fatalf("a.cmdt commands: %+v", a.Commands)
	}
	if bad := tree.Transcripts[1]; len(bad.Errors) != 1 || bad.Errors[0].Line != 1 {
		t.Fatalf("bad.cmdt errors: %+v", bad.Errors)
	}

	// Watch on: nothing ran yet, so everything is stale (never run).
	var w WatchResult
	c.mustCall(MethodCmdtWatch, WatchParams{Enabled: true}, &w)
	if !w.Watching || len(w.Stale) != 3 {
		t.Fatalf("watch: %+v", w)
	}

	// Run a closed transcript from disk.
	aURI := pathURI(filepath.Join(dir, "a.cmdt"))
	var r RunTestResult
	c.mustCall(MethodCmdtRunTest, RunTestParams{URI: aURI}, &r)
	if r.Status != OutcomePassed || len(r.Commands) != 2 {
		t.Fatalf("run a.cmdt: %+v", r)
	}
	c.mustCall(MethodCmdtRunTest, RunTestParams{URI: pathURI(filepath.Join(dir, "sub/b.cmdt"))}, &r)

	// An input changes: exactly a.cmdt is stale, with the reason.
	seen := len(c.staleNotes())
	if err := os.WriteFile(filepath.Join(dir, "testdata/in.txt"), []byte("bye\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n := c.nextStale(seen)
	if got := staleURIs(n); len(got) != 1 || got[0] != "a.cmdt" || strings.Join(n.Stale[0].Reasons, ",") != "testdata/in.txt changed" {
		t.Fatalf("stale after editing in.txt: %+v", n)
	}

	// Its run fails with expected and actual output at the command.
	c.mustCall(MethodCmdtRunTest, RunTestParams{URI: aURI}, &r)
	if r.Status != OutcomeFailed || strings.Join(r.Reasons, ",") != "testdata/in.txt changed" {
		t.Fatalf("re-run: %+v", r)
	}
	f := r.Commands[0]
	if f.Status != "failed" || f.Line != 1 || f.Expected != "1 hello\n" || f.Actual != "1 bye\n" || !strings.Contains(f.Message, "-1 hello") {
		t.Fatalf("failed command: %+v", f)
	}
	if r.Commands[1].Status != "passed" {
		t.Fatalf("second command: %+v", r.Commands[1])
	}

	// A new transcript is stale at once; a deleted one is removed.
	seen = len(c.staleNotes())
	writeFiles(t, dir, map[string]string{"new.cmdt": "$ echo n\n1 n\n"})
	n = c.nextStale(seen)
	if got := staleURIs(n); len(got) != 1 || got[0] != "new.cmdt" {
		t.Fatalf("stale after adding new.cmdt: %+v", n)
	}
	seen = len(c.staleNotes())
	if err := os.Remove(filepath.Join(dir, "sub/b.cmdt")); err != nil {
		t.Fatal(err)
	}
	n = c.nextStale(seen)
	if len(n.Removed) != 1 || filepath.Base(string(n.Removed[0])) != "b.cmdt" || len(n.Stale) != 0 {
		t.Fatalf("after deleting b.cmdt: %+v", n)
	}

	// A file nothing depends on: no notification.
	seen = len(c.staleNotes())
	writeFiles(t, dir, map[string]string{"unrelated.txt": "x\n"})
	time.Sleep(500 * time.Millisecond)
	if ns := c.staleNotes(); len(ns) != seen {
		t.Fatalf("unrelated change notified: %+v", ns[seen:])
	}

	c.mustCall(MethodCmdtWatch, WatchParams{Enabled: false}, &w)
	if w.Watching {
		t.Fatal("still watching")
	}
	c.shutdown()
	if errs := c.logs.errors(); len(errs) > 0 {
		t.Fatalf("server errors: %v", errs)
	}
}

func mustPath(t *testing.T, u protocol.DocumentURI) string {
	t.Helper()
	p, ok := uriPath(u)
	if !ok {
		t.Fatalf("not a file URI: %s", u)
	}
	return p
}
