package lsp

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"
)

// The whole loop through the protocol: a failing transcript is opened
// (nothing runs), run (diagnostic with the diff, ✗ hint, accept lens),
// accepted through the quick fix (the client applies a one-line edit and
// reports it with didChange; the disk is untouched), run again (passes,
// the buffer's unsaved text is what ran), and run once more: served from
// the cache, as the status, the lens and the first-line hint say.
func TestRunAcceptRunCached(t *testing.T) {
	dir := workspaceDir(t, nil)
	src := "# greeting\n$ echo hello\n1 goodbye\n\n$ echo same\n1 same\n"
	writeFiles(t, dir, map[string]string{"greet.cmdt": src})
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "greet.cmdt"))
	c.open(u, "cmdt", src)
	if d := c.waitDiagnostics(u, 1); len(d) != 0 {
		t.Fatalf("diagnostics on open: %+v", d)
	}

	if st := c.status(u); st.Status != StatusNeverRun || st.Text != "not run yet" {
		t.Fatalf("status before any run = %+v", st)
	}
	ls := c.lenses(u)
	if got, want := lensTitles(ls), []string{"▶ Run · not run yet", "↻ Update", "▶ Run (ignore cache)"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("lenses = %q, want %q", got, want)
	}
	for i, cmd := range []string{CommandRun, CommandUpdate, CommandRunNoCache} {
		if l := ls[i]; l.Range.Start.Line != 0 || l.Command.Command != cmd || !reflect.DeepEqual(l.Command.Arguments, []interface{}{string(u)}) {
			t.Errorf("lens %d = %+v, want %s [uri] on line 0", i, l, cmd)
		}
	}

	start := time.Now()
	out := c.mustExecute(CommandRun, string(u))
	t.Logf("cmdt.run (failing, 2 commands): %s", time.Since(start))
	if out.Status != OutcomeFailed || out.Failed != 1 || out.Commands != 2 || out.Text != "failed: 1 of 2 commands" {
		t.Fatalf("run = %+v", out)
	}
	// Progress: begin, "command k of 2" reports (coalesced), end with the
	// outcome.
	var evs []progressEvent
	c.waitUntil("the progress end", func() bool {
		evs = c.progressEvents()
		return len(evs) > 0 && evs[len(evs)-1].kind == "end"
	})
	if evs[0].kind != "begin" || evs[len(evs)-1].message != "failed: 1 of 2 commands" {
		t.Errorf("progress = %+v", evs)
	}
	for _, ev := range evs[1 : len(evs)-1] {
		if ev.kind != "report" || (ev.message != "command 1 of 2" && ev.message != "command 2 of 2") || ev.token != evs[0].token {
			t.Errorf("progress report %+v", ev)
		}
	}
	if c.countCalls(protocol.MethodWorkDoneProgressCreate) != 1 {
		t.Errorf("window/workDoneProgress/create sent %d times", c.countCalls(protocol.MethodWorkDoneProgressCreate))
	}
	diags := c.waitCodes(u, CodeCheckFailed)
	d := diags[0]
	if d.Range.Start.Line != 1 || d.Severity != protocol.DiagnosticSeverityError || d.Source != "cmdt" {
		t.Errorf("failure diagnostic at %+v, severity %v", d.Range, d.Severity)
	}
	for _, want := range []string{"-1 goodbye", "+1 hello", "--- expected", "+++ actual"} {
		if !strings.Contains(d.Message, want) {
			t.Errorf("failure message lacks %q:\n%s", want, d.Message)
		}
	}
	if len(d.RelatedInformation) != 1 || d.RelatedInformation[0].Location.Range.Start.Line != 2 || d.RelatedInformation[0].Location.URI != u {
		t.Errorf("related information = %+v, want the expectation line 3", d.RelatedInformation)
	}
	if st := c.status(u); st.Status != StatusFailed || st.Text != "failed: 1 of 2 commands" {
		t.Errorf("status after the failed run = %+v", st)
	}
	hs := c.hints(u)
	if h := hintsOn(hs, 0); len(h) != 1 || h[0] != "failed: 1 of 2 commands" {
		t.Errorf("first-line hints = %q", h)
	}
	if h := hintsOn(hs, 1); len(h) != 1 || !strings.HasPrefix(h[0], "✗ ") || !strings.HasSuffix(h[0], " ms") {
		t.Errorf("hint on the failed command = %q", h)
	}
	if h := hintsOn(hs, 4); len(h) != 1 || !strings.HasPrefix(h[0], "✓ ") {
		t.Errorf("hint on the passing command = %q", h)
	}
	ls = c.lenses(u)
	if got := lensTitles(ls); len(got) != 4 || got[0] != "▶ Run · failed: 1 of 2 commands" || got[3] != "✓ Accept actual output" {
		t.Fatalf("lenses after the run = %q", got)
	}
	if l := ls[3]; l.Range.Start.Line != 1 || l.Command.Command != CommandAccept || !reflect.DeepEqual(l.Command.Arguments, []interface{}{string(u), float64(1)}) {
		t.Errorf("accept lens = %+v", l)
	}

	// The quick fix on the diagnostic.
	var actions []protocol.CodeAction
	p := docID(u)
	p["range"] = d.Range
	p["context"] = map[string]interface{}{"diagnostics": []protocol.Diagnostic{d}}
	c.mustCall(protocol.MethodTextDocumentCodeAction, p, &actions)
	var accept *protocol.CodeAction
	for i := range actions {
		if actions[i].Title == "Accept actual output" {
			accept = &actions[i]
		}
	}
	if accept == nil || accept.Kind != protocol.QuickFix || accept.Command == nil || accept.Command.Command != CommandAccept {
		t.Fatalf("no accept quick fix in %+v", actions)
	}
	out = c.mustExecute(accept.Command.Command, accept.Command.Arguments...)
	if out.Status != OutcomeUpdated || out.Edits != 1 {
		t.Fatalf("accept = %+v", out)
	}
	want := "# greeting\n$ echo hello\n1 hello\n\n$ echo same\n1 same\n"
	if got := c.text(u); got != want {
		t.Fatalf("buffer after accept:\n%s\nwant:\n%s", got, want)
	}
	c.mu.Lock()
	edits := append([]protocol.TextEdit(nil), c.edits...)
	c.mu.Unlock()
	wantEdit := protocol.TextEdit{Range: protocol.Range{Start: protocol.Position{Line: 2}, End: protocol.Position{Line: 3}}, NewText: "1 hello\n"}
	if len(edits) != 1 || edits[0] != wantEdit {
		t.Errorf("edits = %+v, want only %+v", edits, wantEdit)
	}
	if disk, _ := os.ReadFile(filepath.Join(dir, "greet.cmdt")); string(disk) != src {
		t.Errorf("accept wrote the file behind the editor's back:\n%s", disk)
	}
	c.waitCodes(u) // the failure goes with the edit of its block

	// Run again: the unsaved buffer passes.
	out = c.mustExecute(CommandRun, string(u))
	if out.Status != OutcomePassed || out.Failed != 0 {
		t.Fatalf("second run = %+v", out)
	}
	if st := c.status(u); st.Status != StatusFresh || st.Text != "cached ✓ just now" {
		t.Errorf("status after passing = %+v", st)
	}
	start = time.Now()
	out = c.mustExecute(CommandRun, string(u))
	t.Logf("cmdt.run served from the cache: %s", time.Since(start))
	if out.Status != OutcomeCached || out.Text != "cached ✓ just now" {
		t.Fatalf("third run = %+v, want cached", out)
	}
	hs = c.hints(u)
	if h := hintsOn(hs, 0); len(h) != 1 || h[0] != "cached ✓ just now" {
		t.Errorf("first-line hint after the cached run = %q", h)
	}
	if h := hintsOn(hs, 1); len(h) != 1 || !strings.HasPrefix(h[0], "✓ ") {
		t.Errorf("hint on the accepted command = %q", h)
	}
	if got := lensTitles(c.lenses(u)); len(got) != 3 || got[0] != "▶ Run · cached ✓ just now" {
		t.Errorf("lenses after the cached run = %q", got)
	}
	// Run (ignore cache) runs anyway.
	if out := c.mustExecute(CommandRunNoCache, string(u)); out.Status != OutcomePassed {
		t.Errorf("runNoCache = %+v", out)
	}
}

// A fresh transcript opened in a new session (same cache): the status
// and the per-command timings come from the cache's manifest.
func TestFreshFromCacheInNewSession(t *testing.T) {
	dir := workspaceDir(t, nil)
	cacheDir := t.TempDir()
	src := "$ echo a\n1 a\n\n$ echo b\n1 b\n"
	writeFiles(t, dir, map[string]string{"t.cmdt": src})
	u := pathURI(filepath.Join(dir, "t.cmdt"))

	c1 := newTestClient(t, withCacheDir(cacheDir))
	c1.initialize(dir, editorCaps)
	c1.open(u, "cmdt", src)
	if out := c1.mustExecute(CommandRun, string(u)); out.Status != OutcomePassed {
		t.Fatalf("run = %+v", out)
	}
	c1.shutdown()

	c2 := newTestClient(t, withCacheDir(cacheDir))
	c2.initialize(dir, editorCaps)
	c2.open(u, "cmdt", src)
	if st := c2.status(u); st.Status != StatusFresh || st.Text != "cached ✓ just now" {
		t.Fatalf("status in a new session = %+v", st)
	}
	hs := c2.hints(u)
	if len(hintsOn(hs, 0)) != 2 || len(hintsOn(hs, 3)) != 1 || !strings.HasPrefix(hintsOn(hs, 3)[0], "✓ ") {
		t.Errorf("hints from the cache = %+v", hs)
	}
	// An unsaved edit makes it stale: the buffer is what counts.
	c2.change(u, 2, TextDocumentContentChangeEvent{Range: &protocol.Range{}, Text: "# note\n"})
	if st := c2.status(u); st.Status != StatusStale || st.Text != "stale: transcript changed" {
		t.Errorf("status after an edit = %+v", st)
	}
}

// Touching a declared dependency: the server watches it, and when the
// client reports the change the status turns stale, naming the file, and
// lenses and hints are refreshed.
func TestWatchedDependencyMakesStale(t *testing.T) {
	dir := workspaceDir(t, map[string]string{"testdata/in.txt": "a\n"})
	src := "% dep file testdata/in.txt\n$ cat testdata/in.txt\n1 a\n"
	writeFiles(t, dir, map[string]string{"t.cmdt": src})
	// An input changed while a run went on is not cached (its hash may not
	// be what the run read): let the files age past the clock's tick.
	time.Sleep(30 * time.Millisecond)
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	if out := c.mustExecute(CommandRun, string(u)); out.Status != OutcomePassed {
		t.Fatalf("run = %+v", out)
	}
	if st := c.status(u); st.Status != StatusFresh {
		t.Fatalf("status = %+v", st)
	}
	// The registration names the file.
	wantWatcher := fmt.Sprintf(`{"globPattern":{"baseUri":%q,"pattern":"in.txt"}}`, pathURI(filepath.Join(dir, "testdata")))
	c.waitUntil("a watcher for testdata/in.txt", func() bool {
		for _, raw := range c.callsTo(protocol.MethodClientRegisterCapability) {
			if strings.Contains(string(raw), watchDepsID) && strings.Contains(string(raw), wantWatcher) {
				return true
			}
		}
		return false
	})
	lensRefreshes := c.countCalls(MethodWorkspaceCodeLensRefresh)
	hintRefreshes := c.countCalls(MethodWorkspaceInlayHintRefresh)

	writeFiles(t, dir, map[string]string{"testdata/in.txt": "changed\n"})
	changed := time.Now()
	c.notify(protocol.MethodWorkspaceDidChangeWatchedFiles, map[string]interface{}{
		"changes": []interface{}{map[string]interface{}{"uri": string(pathURI(filepath.Join(dir, "testdata/in.txt"))), "type": 2}}})
	c.waitUntil("lens and hint refreshes", func() bool {
		return c.countCalls(MethodWorkspaceCodeLensRefresh) > lensRefreshes && c.countCalls(MethodWorkspaceInlayHintRefresh) > hintRefreshes
	})
	t.Logf("file change → refresh requests: %s", time.Since(changed))
	want := "stale: testdata/in.txt changed"
	if st := c.status(u); st.Status != StatusStale || st.Text != want || !reflect.DeepEqual(st.Reasons, []string{"testdata/in.txt changed"}) {
		t.Errorf("status = %+v, want stale %q", st, want)
	}
	if h := hintsOn(c.hints(u), 0); len(h) != 1 || h[0] != want {
		t.Errorf("first-line hint = %q, want %q", h, want)
	}
	if got := lensTitles(c.lenses(u)); got[0] != "▶ Run · "+want {
		t.Errorf("run lens = %q", got[0])
	}
	// A change to a file no transcript depends on refreshes nothing.
	lensRefreshes = c.countCalls(MethodWorkspaceCodeLensRefresh)
	writeFiles(t, dir, map[string]string{"unrelated.txt": "x"})
	c.notify(protocol.MethodWorkspaceDidChangeWatchedFiles, map[string]interface{}{
		"changes": []interface{}{map[string]interface{}{"uri": string(pathURI(filepath.Join(dir, "unrelated.txt"))), "type": 1}}})
	time.Sleep(200 * time.Millisecond)
	if n := c.countCalls(MethodWorkspaceCodeLensRefresh); n != lensRefreshes {
		t.Errorf("an unrelated file change sent %d lens refreshes", n-lensRefreshes)
	}
}

// Cancelling a run of `sleep 30`, three ways: the progress's cancel
// button, $/cancelRequest of the executeCommand request, and the
// cmdt.cancel command (the ■ Cancel lens). Each time the progress ends,
// the request is answered and the sleep process is gone within a second.
func TestCancelRunKillsProcess(t *testing.T) {
	for _, how := range []string{"workDoneProgress/cancel", "$/cancelRequest", "cmdt.cancel"} {
		t.Run(strings.TrimPrefix(how, "$/"), func(t *testing.T) {
			dir := workspaceDir(t, nil)
			// A unique argument marks the process in /proc.
			marker := fmt.Sprintf("30.%06d", time.Now().UnixNano()%1000000)
			src := "$ echo before\n1 before\n\n$ sleep " + marker + "\n\n$ echo never\n"
			writeFiles(t, dir, map[string]string{"slow.cmdt": src})
			c := newTestClient(t)
			c.initialize(dir, editorCaps)
			u := pathURI(filepath.Join(dir, "slow.cmdt"))
			c.open(u, "cmdt", src)
			c.waitDiagnostics(u, 1)

			id, errc := c.callAsync(protocol.MethodWorkspaceExecuteCommand, map[string]interface{}{"command": CommandRun, "arguments": []string{string(u)}})
			var token string
			c.waitUntil("the sleep to start and progress to report it", func() bool {
				for _, ev := range c.progressEvents() {
					if ev.kind == "report" && ev.message == "command 2 of 3" {
						token = ev.token
					}
				}
				return token != "" && len(processesWith("sleep\x00"+marker)) > 0
			})
			// The queue is free while it runs: status and lenses answer.
			if st := c.status(u); st.Status != StatusUnknown || st.Text != "running: command 2 of 3" {
				t.Errorf("status while running = %+v", st)
			}
			if got := lensTitles(c.lenses(u)); len(got) != 4 || got[0] != "▶ Run · running: command 2 of 3" || got[3] != LensCancel {
				t.Errorf("lenses while running = %q", got)
			}

			start := time.Now()
			switch how {
			case "workDoneProgress/cancel":
				c.notify(protocol.MethodWorkDoneProgressCancel, map[string]json.RawMessage{"token": json.RawMessage(token)})
			case "$/cancelRequest":
				c.notify(protocol.MethodCancelRequest, map[string]int32{"id": id})
			case "cmdt.cancel":
				var res map[string]bool
				c.mustCall(protocol.MethodWorkspaceExecuteCommand, map[string]interface{}{"command": CommandCancel, "arguments": []string{string(u)}}, &res)
				if !res["cancelled"] {
					t.Errorf("cmdt.cancel = %v", res)
				}
			}
			var err error
			select {
			case err = <-errc:
			case <-time.After(callTimeout):
				t.Fatal("the run request was not answered after cancelling")
			}
			answered := time.Since(start)
			c.waitUntil("the progress end", func() bool {
				for _, ev := range c.progressEvents() {
					if ev.token == token && ev.kind == "end" {
						return true
					}
				}
				return false
			})
			ended := time.Since(start)
			left := processesWith("sleep\x00" + marker)
			t.Logf("cancel via %s: answered after %s, progress ended after %s, processes left: %v", how, answered, ended, left)
			if len(left) > 0 || ended > time.Second || answered > time.Second {
				t.Errorf("after cancelling: %d process(es) left, answered in %s, progress ended in %s (want none, ≤ 1 s)", len(left), answered, ended)
			}
			if how == "$/cancelRequest" {
				if rpcCode(err) != protocol.CodeRequestCancelled {
					t.Errorf("cancelled request answered %v, want RequestCancelled", err)
				}
			} else if err != nil {
				t.Errorf("run answered %v, want a cancelled outcome", err)
			}
			// The first command's result stays; the killed one has none.
			hs := c.hints(u)
			if h := hintsOn(hs, 0); len(h) != 2 || !strings.HasPrefix(h[1], "✓ ") || len(hintsOn(hs, 3)) != 0 {
				t.Errorf("hints after cancelling = %+v", hs)
			}
			if st := c.status(u); st.Status == StatusUnknown {
				t.Errorf("status after cancelling = %+v", st)
			}
		})
	}
}

// Nothing runs on open or save by default; runOnSave turns running on
// save on.
func TestNothingRunsOnOpenOrSave(t *testing.T) {
	dir := workspaceDir(t, nil)
	src := "$ touch ran.marker\n"
	writeFiles(t, dir, map[string]string{"side.cmdt": src})
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "side.cmdt"))
	c.open(u, "cmdt", src)
	c.waitDiagnostics(u, 1)
	c.lenses(u)
	c.hints(u)
	c.status(u)
	c.save(u)
	c.status(u)
	time.Sleep(500 * time.Millisecond)
	marker := filepath.Join(dir, "ran.marker")
	if fileExists(marker) || len(c.progressEvents()) > 0 {
		t.Fatalf("something ran on open or save: marker %v, progress %+v", fileExists(marker), c.progressEvents())
	}

	c.notify(protocol.MethodWorkspaceDidChangeConfiguration, map[string]interface{}{"settings": map[string]interface{}{"cmdt": map[string]bool{"runOnSave": true}}})
	c.save(u)
	c.waitUntil("runOnSave to run the transcript", func() bool { return fileExists(marker) })
	c.waitUntil("the status after the run", func() bool { return c.status(u).Status == StatusFresh })
}

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

// Commands on documents that cannot run get clear errors; the server
// carries on.
func TestRunErrors(t *testing.T) {
	dir := workspaceDir(t, nil)
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	untitled := protocol.DocumentURI("untitled:Untitled-1")
	c.open(untitled, "cmdt", "$ echo hi\n")
	bad := pathURI(filepath.Join(dir, "bad.cmdt"))
	c.open(bad, "cmdt", "$ echo hi\n1 hi\n\n? 3\n")
	good := pathURI(filepath.Join(dir, "good.cmdt"))
	c.open(good, "cmdt", "$ echo hi\n1 hi\n")
	for _, tc := range []struct {
		cmd  string
		args []interface{}
		code int32
		msg  string
	}{
		{CommandRun, []interface{}{string(untitled)}, -32803, "not a file on disk"},
		{CommandUpdate, []interface{}{string(untitled)}, -32803, "save it to a file first"},
		{CommandRun, []interface{}{string(bad)}, -32803, "syntax error"},
		{CommandRun, []interface{}{string(pathURI(filepath.Join(dir, "closed.cmdt")))}, -32803, "not open"},
		{CommandRun, nil, -32602, "missing argument"},
		{CommandRun, []interface{}{42}, -32602, "URI"},
		{CommandAccept, []interface{}{string(good), 0}, -32803, "run it first"},
		{CommandAccept, []interface{}{string(good)}, -32602, "line"},
		{"cmdt.nope", nil, -32602, "unknown command"},
	} {
		_, err := c.execute(tc.cmd, tc.args...)
		if int32(rpcCode(err)) != tc.code || err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s %v: %v, want code %d with %q", tc.cmd, tc.args, err, tc.code, tc.msg)
		}
	}
	if ls := c.lenses(untitled); len(ls) != 0 {
		t.Errorf("lenses on an untitled buffer: %+v", ls)
	}
	if st := c.status(untitled); st.Status != StatusUnknown {
		t.Errorf("status of an untitled buffer = %+v", st)
	}
	if out := c.mustExecute(CommandRun, string(good)); out.Status != OutcomePassed {
		t.Errorf("run after the errors = %+v", out)
	}
}

// Run results follow their blocks: lines inserted above move them, an
// edit of the block drops them.
func TestRunResultsFollowEdits(t *testing.T) {
	dir := workspaceDir(t, nil)
	src := "$ echo one\n1 uno\n\n$ echo two\n1 two\n"
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	c.mustExecute(CommandRun, string(u))
	if d := c.waitCodes(u, CodeCheckFailed); d[0].Range.Start.Line != 0 {
		t.Fatalf("failure on line %d", d[0].Range.Start.Line)
	}
	c.change(u, 2, TextDocumentContentChangeEvent{Range: &protocol.Range{}, Text: "# a comment\n\n"})
	c.waitUntil("the failure to move to line 2", func() bool {
		d := c.latestDiagnostics(u)
		return len(d) == 1 && d[0].Code == CodeCheckFailed && d[0].Range.Start.Line == 2
	})
	hs := c.hints(u)
	if len(hintsOn(hs, 2)) != 1 || len(hintsOn(hs, 5)) != 1 || !strings.HasPrefix(hintsOn(hs, 5)[0], "✓") {
		t.Errorf("hints after inserting lines = %+v", hs)
	}
	if got := lensTitles(c.lenses(u)); got[len(got)-1] != LensAccept {
		t.Errorf("lenses = %q", got)
	}
	// Editing the failed block's expectation drops its result (and only it).
	c.change(u, 3, TextDocumentContentChangeEvent{Range: &protocol.Range{Start: protocol.Position{Line: 3, Character: 2}, End: protocol.Position{Line: 3, Character: 5}}, Text: "one"})
	c.waitCodes(u)
	hs = c.hints(u)
	if len(hintsOn(hs, 2)) != 0 || len(hintsOn(hs, 5)) != 1 {
		t.Errorf("hints after editing the failed block = %+v", hs)
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

// Two requests to run the same text share one run: a client that runs on
// save and the server's runOnSave do not run a transcript twice.
func TestSameRunJoins(t *testing.T) {
	dir := workspaceDir(t, nil)
	src := "$ echo x >> count.txt; sleep 0.3\n"
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	args := map[string]interface{}{"command": CommandRunNoCache, "arguments": []string{string(u)}}
	_, e1 := c.callAsync(protocol.MethodWorkspaceExecuteCommand, args)
	_, e2 := c.callAsync(protocol.MethodWorkspaceExecuteCommand, args)
	for _, e := range []<-chan error{e1, e2} {
		if err := <-e; err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "count.txt")); string(got) != "x\n" {
		t.Errorf("count.txt = %q: the transcript ran more than once", got)
	}
}

// A passing run whose input changed while it ran is not cached; the
// status says so instead of "not run yet".
func TestPassedButNotCached(t *testing.T) {
	dir := workspaceDir(t, map[string]string{"data.txt": "old\n"})
	src := "% dep file data.txt\n$ echo new > data.txt\n"
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	if out := c.mustExecute(CommandRun, string(u)); out.Status != OutcomePassed {
		t.Fatalf("run = %+v", out)
	}
	st := c.status(u)
	if st.Status != StatusStale || st.Text != "passed, not cached: an input changed while it ran" || len(st.Reasons) != 1 || !strings.Contains(st.Reasons[0], "data.txt") {
		t.Errorf("status = %+v", st)
	}
}

// A client that sends its own workDoneToken with executeCommand gets the
// progress on it, and no window/workDoneProgress/create.
func TestClientProgressToken(t *testing.T) {
	dir := workspaceDir(t, nil)
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", "$ echo a\n1 a\n")
	var out RunOutcome
	c.mustCall(protocol.MethodWorkspaceExecuteCommand, map[string]interface{}{
		"command": CommandRunNoCache, "arguments": []string{string(u)}, "workDoneToken": 7}, &out)
	if out.Status != OutcomePassed {
		t.Fatalf("run = %+v", out)
	}
	c.waitUntil("the progress end on token 7", func() bool {
		evs := c.progressEvents()
		return len(evs) > 0 && evs[len(evs)-1].kind == "end" && evs[len(evs)-1].token == "7" && evs[0].token == "7"
	})
	if n := c.countCalls(protocol.MethodWorkDoneProgressCreate); n != 0 {
		t.Errorf("window/workDoneProgress/create sent %d times with a client token", n)
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
