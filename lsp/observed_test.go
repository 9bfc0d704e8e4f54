package lsp

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/trace"
)

// Observed-but-undeclared inputs (issue 8) through the protocol, on real
// traced processes.

func needTrace(t *testing.T) {
	t.Helper()
	if err := trace.Available(); err != nil {
		t.Skipf("tracing is unavailable here, so runs observe no subprocess reads: %v", err)
	}
}

func (c *testClient) hoverText(u protocol.DocumentURI, line, char uint32) string {
	c.t.Helper()
	var h *protocol.Hover
	c.mustCall(protocol.MethodTextDocumentHover, posParams(u, line, char), &h)
	if h == nil {
		return ""
	}
	return h.Contents.Value
}

// quickFixes returns the quick fixes offered at r.
func (c *testClient) quickFixes(u protocol.DocumentURI, r protocol.Range) []protocol.CodeAction {
	c.t.Helper()
	var actions []protocol.CodeAction
	p := docID(u)
	p["range"] = r
	p["context"] = map[string]interface{}{"diagnostics": []interface{}{}, "only": []string{"quickfix"}}
	c.mustCall(protocol.MethodTextDocumentCodeAction, p, &actions)
	return actions
}

func actionTitled(t *testing.T, actions []protocol.CodeAction, title string) protocol.CodeAction {
	t.Helper()
	var titles []string
	for _, a := range actions {
		if a.Title == title {
			return a
		}
		titles = append(titles, a.Title)
	}
	t.Fatalf("no action %q in %q", title, titles)
	return protocol.CodeAction{}
}

// applyAction applies a code action's edit to the client's copy and sends
// it as didChange, as an editor does.
func (c *testClient) applyAction(u protocol.DocumentURI, a protocol.CodeAction) {
	c.t.Helper()
	if a.Edit == nil || len(a.Edit.Changes[u]) != 1 {
		c.t.Fatalf("action %q: want one edit of %s, got %+v", a.Title, u, a.Edit)
	}
	e := a.Edit.Changes[u][0]
	c.mu.Lock()
	version := c.docs[u].version + 1
	c.mu.Unlock()
	c.change(u, version, TextDocumentContentChangeEvent{Range: &e.Range, Text: e.NewText})
}

// publications counts the diagnostics published for u so far.
func (c *testClient) publications(u protocol.DocumentURI) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.diags[u])
}

func byCode(diags []protocol.Diagnostic, code string) []protocol.Diagnostic {
	var out []protocol.Diagnostic
	for _, d := range diags {
		if d.Code == code {
			out = append(out, d)
		}
	}
	return out
}

// The loop of the issue: `cat fixture.txt` without a declaration → run →
// an undeclared-observed warning on the word, replacing the heuristic's
// guess, on each command that read it; hover names every reader; the
// warning follows edits; the quick fix declares the file; the warning goes
// at once and stays gone after the next run, which now covers it.
func TestObservedUndeclared(t *testing.T) {
	needTrace(t)
	dir := workspaceDir(t, map[string]string{"testdata/fixture.txt": "hi\n"})
	src := "$ cat testdata/fixture.txt\n1 hi\n\n$ grep -c hi testdata/fixture.txt\n1 1\n"
	time.Sleep(30 * time.Millisecond) // let the fixture age past the clock's tick (cache)
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	// Before any run: the heuristic's guesses.
	c.waitCodes(u, CodeUndeclared, CodeUndeclared)
	if h := c.hoverText(u, 0, 10); strings.Contains(h, "Last run") {
		t.Errorf("hover before any run talks about a run:\n%s", h)
	}

	if out := c.mustExecute(CommandRun, string(u)); out.Status != OutcomePassed {
		t.Fatalf("run = %+v", out)
	}
	diags := c.waitCodes(u, CodeUndeclaredObserved, CodeUndeclaredObserved)
	for i, want := range []struct {
		line uint32
		prog string
	}{{0, "cat"}, {3, "grep"}} {
		d := diags[i]
		if d.Range.Start.Line != want.line || lineText(c.text(u), d.Range) != "testdata/fixture.txt" {
			t.Errorf("diagnostic %d at %+v (%q), want the path on line %d", i, d.Range, lineText(c.text(u), d.Range), want.line+1)
		}
		wantMsg := fmt.Sprintf("`%s` read testdata/fixture.txt, which no declaration covers: ", want.prog)
		// A hint: the server's runs are traced, so its cache sees the file.
		if d.Severity != protocol.DiagnosticSeverityHint || d.Source != "cmdt" || !strings.HasPrefix(d.Message, wantMsg) ||
			!strings.Contains(d.Message, "Declare it with `% dep file testdata/fixture.txt`") {
			t.Errorf("diagnostic %d: severity %v, source %q, message %q", i, d.Severity, d.Source, d.Message)
		}
	}

	// Hover on the path: every reader, at its line.
	h := c.hoverText(u, 0, 10)
	for _, want := range []string{"read by `cat` at line 1", "read by `grep` at line 4"} {
		if !strings.Contains(h, want) {
			t.Errorf("hover lacks %q:\n%s", want, h)
		}
	}

	// A line inserted above moves the warnings with their blocks.
	c.change(u, 2, TextDocumentContentChangeEvent{Range: &protocol.Range{}, Text: "# fixture\n"})
	c.waitUntil("the warnings to move down a line", func() bool {
		d := byCode(c.latestDiagnostics(u), CodeUndeclaredObserved)
		return len(d) == 2 && d[0].Range.Start.Line == 1 && d[1].Range.Start.Line == 4
	})
	if h := c.hoverText(u, 4, 20); !strings.Contains(h, "read by `grep` at line 5") || !strings.Contains(h, "read by `cat` at line 2") {
		t.Errorf("hover after the insertion:\n%s", h)
	}
	// Editing the grep block drops its observation (it described text
	// that is gone). The heuristic's guess there stays quiet: the run saw
	// the same file read undeclared by cat, and one certain warning per
	// file is enough (its fix covers both).
	c.change(u, 3, TextDocumentContentChangeEvent{
		Range: &protocol.Range{Start: protocol.Position{Line: 4, Character: 9}, End: protocol.Position{Line: 4, Character: 9}}, Text: "h"})
	diags = c.waitCodes(u, CodeUndeclaredObserved)
	if diags[0].Range.Start.Line != 1 {
		t.Errorf("cat's warning at %+v", diags[0].Range)
	}
	if got := c.text(u); !strings.Contains(got, "$ grep -ch hi testdata") {
		t.Fatalf("edit went wrong:\n%s", got)
	}

	// The quick fix.
	d := diags[0]
	actions := c.quickFixes(u, d.Range)
	fix := actionTitled(t, actions, "Declare dependency: % dep file testdata/fixture.txt")
	if fix.Kind != protocol.QuickFix || len(fix.Diagnostics) != 1 || fix.Diagnostics[0].Code != CodeUndeclaredObserved {
		t.Errorf("fix = %+v", fix)
	}
	if e := fix.Edit.Changes[u][0]; e.NewText != "% dep file testdata/fixture.txt\n" || e.Range.Start.Line != 1 {
		t.Errorf("fix edit = %+v, want the declaration before the first command (line 2)", e)
	}
	c.applyAction(u, fix)
	want := "# fixture\n% dep file testdata/fixture.txt\n$ cat testdata/fixture.txt\n1 hi\n\n$ grep -ch hi testdata/fixture.txt\n1 1\n"
	if got := c.text(u); got != want {
		t.Fatalf("after the fix:\n%s\nwant:\n%s", got, want)
	}
	// Covered now: no warning, observed or guessed, even before a run.
	c.waitCodes(u)

	// Run again: the run covers it too.
	n := c.publications(u)
	if out := c.mustExecute(CommandRun, string(u)); out.Status != OutcomePassed {
		t.Fatalf("run after the fix = %+v", out)
	}
	c.waitUntil("the run's publication", func() bool { return c.publications(u) > n })
	if d := c.latestDiagnostics(u); len(d) != 0 {
		t.Fatalf("diagnostics after the covered run: %+v", d)
	}
	// The hover on the declaration still says who read it.
	if h := c.hoverText(u, 1, 14); !strings.Contains(h, "read by `cat` at line 3") || !strings.Contains(h, "read by `grep` at line 6") {
		t.Errorf("hover on the declaration:\n%s", h)
	}
}

// A program that looks for a config file that does not exist: the absent
// file is an input too.
func TestObservedAbsentConfig(t *testing.T) {
	needTrace(t)
	dir := workspaceDir(t, nil)
	src := "$ sh -c 'test -e tool.conf || echo none'\n1 none\n"
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	if d := c.waitDiagnostics(u, 1); len(d) != 0 {
		t.Fatalf("diagnostics on open: %+v", d)
	}
	if out := c.mustExecute(CommandRun, string(u)); out.Status != OutcomePassed {
		t.Fatalf("run = %+v", out)
	}
	d := c.waitCodes(u, CodeUndeclaredObserved)[0]
	// No argument names the file: the whole command text.
	if got := lineText(src, d.Range); got != "sh -c 'test -e tool.conf || echo none'" {
		t.Errorf("range covers %q", got)
	}
	if !strings.HasPrefix(d.Message, "`sh` looked for tool.conf (absent), which no declaration covers") || !strings.Contains(d.Message, "when it is created") {
		t.Errorf("message = %q", d.Message)
	}
	fix := actionTitled(t, c.quickFixes(u, d.Range), "Declare dependency: % dep file tool.conf")
	c.applyAction(u, fix)
	if got := c.text(u); got != "% dep file tool.conf\n"+src {
		t.Fatalf("after the fix:\n%s", got)
	}
	// Declaring an absent file is legitimate (it hashes as absent); the
	// static check says it does not exist.
	c.waitCodes(u, CodeDepMissing)
	n := c.publications(u)
	if out := c.mustExecute(CommandRun, string(u)); out.Status != OutcomePassed {
		t.Fatalf("second run = %+v", out)
	}
	c.waitUntil("the run's publication", func() bool { return c.publications(u) > n })
	c.waitCodes(u, CodeDepMissing)
	if h := c.hoverText(u, 0, 14); !strings.Contains(h, "looked for by `sh` at line 2 (absent)") {
		t.Errorf("hover on the declaration:\n%s", h)
	}
}

// A directory listing is declared as a glob; many files of one kind read
// in a directory the command listed are one glob (`sh -c 'cat many/*.txt'`:
// the shell lists, cat reads): one diagnostic per command.
func TestObservedListingAndMany(t *testing.T) {
	needTrace(t)
	files := map[string]string{"sub/a": "a\n"}
	for i := 0; i < 12; i++ {
		files[fmt.Sprintf("many/f%02d.txt", i)] = "x\n"
	}
	dir := workspaceDir(t, files)
	src := "$ ls sub\n1 a\n\n$ sh -c 'cat many/*.txt' | wc -l\n1 12\n\n$ cd sub\n$ cat a\n1 a\n"
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	c.waitDiagnostics(u, 1)
	if out := c.mustExecute(CommandRun, string(u)); out.Status != OutcomePassed {
		t.Fatalf("run = %+v", out)
	}
	var diags []protocol.Diagnostic
	c.waitUntil("undeclared-observed warnings", func() bool {
		diags = byCode(c.latestDiagnostics(u), CodeUndeclaredObserved)
		return len(diags) > 0
	})
	var listing, summary *protocol.Diagnostic
	for i, d := range diags {
		switch {
		case strings.HasPrefix(d.Message, "`ls` listed the directory sub,"):
			listing = &diags[i]
		case strings.HasPrefix(d.Message, "`cat` read many/f00.txt, many/f01.txt"):
			summary = &diags[i]
		}
	}
	if listing == nil || lineText(src, listing.Range) != "sub" {
		t.Fatalf("no listing warning on `sub` in %+v", diags)
	}
	if summary == nil || summary.Range.Start.Line != 3 || !strings.Contains(summary.Message, "(+7 more)") ||
		!strings.Contains(summary.Message, "Declare them with `% dep glob many/*.txt`") {
		t.Fatalf("no summary warning on the sh command in %+v", diags)
	}
	if n := len(byCode(diags, CodeUndeclaredObserved)); n != 3 {
		t.Errorf("%d warnings, want one per command (3)", n)
	}
	// After a cd: the word is where the file is named; the declaration
	// goes before the first command, relative to the transcript.
	var inSub *protocol.Diagnostic
	for i, d := range diags {
		if d.Range.Start.Line == 7 {
			inSub = &diags[i]
		}
	}
	if inSub == nil || lineText(src, inSub.Range) != "a" || !strings.HasPrefix(inSub.Message, "`cat` read sub/a,") {
		t.Fatalf("no warning on `cat a` after `cd sub` in %+v", diags)
	}
	if e := actionTitled(t, c.quickFixes(u, inSub.Range), "Declare dependency: % dep file sub/a").Edit.Changes[u][0]; e.Range.Start.Line != 0 {
		t.Errorf("the fix inserts at %+v", e.Range)
	}
	fix := actionTitled(t, c.quickFixes(u, listing.Range), "Declare dependency: % dep glob sub/*")
	c.applyAction(u, fix)
	c.waitUntil("the listing warning, and the one for sub/a the glob covers, to go", func() bool {
		for _, d := range c.latestDiagnostics(u) {
			if strings.Contains(d.Message, "listed the directory sub") || strings.Contains(d.Message, "read sub/a") {
				return false
			}
		}
		return true
	})
	if h := c.hoverText(u, 1, 6); !strings.Contains(h, "listed by `ls` at line 2") {
		t.Errorf("hover on the glob declaration:\n%s", h)
	}
	// The summary's fix declares the glob.
	// (a line down: the glob's declaration went in above)
	at := protocol.Range{Start: protocol.Position{Line: 4, Character: 3}, End: protocol.Position{Line: 4, Character: 3}}
	sum := actionTitled(t, c.quickFixes(u, at), "Declare dependency: % dep glob many/*.txt")
	if sum.Edit == nil || sum.Edit.Changes[u][0].NewText != "% dep glob many/*.txt\n" {
		t.Fatalf("summary fix = %+v", sum)
	}
	c.applyAction(u, sum)
	c.waitUntil("the summary warning to go", func() bool {
		for _, d := range c.latestDiagnostics(u) {
			if strings.Contains(d.Message, "many/f00.txt") {
				return false
			}
		}
		return true
	})
}

// Untraced runs observe no subprocess reads: the heuristic's warning
// stays, and nothing claims a run saw anything.
func TestObservedUntraced(t *testing.T) {
	dir := workspaceDir(t, map[string]string{"fixture.txt": "hi\n"})
	src := "$ cat fixture.txt\n1 hi\n"
	c := newTestClient(t, func(o *Options) { o.Trace = "off" })
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	c.waitCodes(u, CodeUndeclared)
	n := c.publications(u)
	if out := c.mustExecute(CommandRun, string(u)); out.Status != OutcomePassed {
		t.Fatalf("run = %+v", out)
	}
	c.waitUntil("the run's publication", func() bool { return c.publications(u) > n })
	d := c.waitCodes(u, CodeUndeclared)
	if h := c.hoverText(u, 0, 8); strings.Contains(h, "Last run") {
		t.Errorf("hover after an untraced run:\n%s", h)
	}
	// Untraced, only a declaration makes a change visible: a warning.
	if d[0].Severity != protocol.DiagnosticSeverityWarning {
		t.Errorf("severity %v, want warning", d[0].Severity)
	}
}

// The undeclaredDependencies setting turns the whole class off: the
// heuristic and the observed diagnostics alike; on again, they are back.
func TestDependencyDiagnosticsSetting(t *testing.T) {
	needTrace(t)
	dir := workspaceDir(t, map[string]string{"d/a.txt": "a\n", "f.txt": "x\n"})
	src := "$ ls d\n1 a.txt\n$ cat f.txt\n1 x\n"
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	if d := c.waitCodes(u, CodeUndeclared); d[0].Severity != protocol.DiagnosticSeverityHint {
		t.Errorf("traced server: severity %v, want hint", d[0].Severity)
	}
	if out := c.mustExecute(CommandRun, string(u)); out.Status != OutcomePassed {
		t.Fatalf("run = %+v", out)
	}
	c.waitCodes(u, CodeUndeclaredObserved, CodeUndeclaredObserved)
	set := func(on bool) {
		c.notify(protocol.MethodWorkspaceDidChangeConfiguration, map[string]interface{}{"settings": map[string]interface{}{"cmdt": map[string]bool{"undeclaredDependencies": on}}})
	}
	set(false)
	c.waitUntil("no dependency diagnostics", func() bool {
		return len(byCode(c.latestDiagnostics(u), CodeUndeclaredObserved))+len(byCode(c.latestDiagnostics(u), CodeUndeclared)) == 0
	})
	set(true)
	c.waitCodes(u, CodeUndeclaredObserved, CodeUndeclaredObserved)
}

// Without a recorder (a record built from the engine's result alone) the
// engine's first observation of each input stands for its readers.
func TestIndexObservedFromResult(t *testing.T) {
	src := "$ cat a.txt\n1 a\n\n$ cat a.txt b.txt\n"
	snap := newSnapshot(pathURI("/w/t.cmdt"), "/w/t.cmdt", 1, "cmdt", src, DocTranscript, UTF16)
	res := &engine.Result{File: snap.File(), Dir: "/w", Root: "/w", Observed: []engine.Input{
		{Kind: engine.InputFile, Origin: engine.OriginTraced, Path: "/w/a.txt", Via: "/usr/bin/cat", Line: 1, InRoot: true, Exists: true},
		{Kind: engine.InputFile, Origin: engine.OriginRedirect, Path: "/w/b.txt", Line: 4, InRoot: true, Exists: true},
		{Kind: engine.InputFile, Origin: engine.OriginTraced, Path: "/usr/lib/libc.so.6", Via: "/usr/bin/cat", Line: 1, Exists: true},
	}}
	rec := newRunRecord(jobRun, src, res, false)
	// The recorder saw cat read a.txt in both commands, b.txt in the second.
	rec.indexObserved([]tracedRead{
		{Key: "file:/w/a.txt", Kind: engine.InputFile, Prog: "cat", Line: 1, Exists: true},
		{Key: "file:/w/a.txt", Kind: engine.InputFile, Prog: "cat", Line: 4, Exists: true},
		{Key: "file:/w/b.txt", Kind: engine.InputFile, Prog: "cat", Line: 4, Exists: true},
		{Key: "file:/usr/lib/libc.so.6", Kind: engine.InputFile, Prog: "cat", Line: 1, Exists: true},
	})
	idx := rec.observed
	if idx == nil || len(idx.readers) != 2 || len(idx.readers["file:/w/a.txt"]) != 2 || len(idx.readers["file:/w/b.txt"]) != 2 {
		t.Fatalf("readers = %+v", idx)
	}
	// The engine saw a.txt read undeclared by cat on line 1 (Observed
	// keeps the first command only); b.txt was also opened by the shell,
	// so it needs no declaration.
	if sg := idx.suggestions; len(sg) != 1 || sg[0].Ran.Command.Num != 1 || sg[0].Progs[0] != "cat" ||
		len(sg[0].Decls) != 1 || sg[0].Decls[0].Text("/w") != "% dep file a.txt" {
		t.Errorf("suggestions = %+v", sg)
	}
	// With the engine's per-command record, each command that read it
	// gets its own.
	res.Traced = []engine.Input{res.Observed[0], res.Observed[0]}
	res.Traced[1].Line = 4
	rec = newRunRecord(jobRun, src, res, false)
	rec.indexObserved(nil)
	if sg := rec.observed.suggestions; len(sg) != 2 || sg[0].Ran.Command.Num != 1 || sg[1].Ran.Command.Num != 4 {
		t.Errorf("per command: suggestions = %+v", sg)
	}
}
