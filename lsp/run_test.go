package lsp

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/trace"
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
	// A change to a file no transcript depends on refreshes nothing. The
	// first change may still owe a refresh (a status recomputed after the
	// re-registration): count from when they have settled.
	for lensRefreshes = -1; ; time.Sleep(300 * time.Millisecond) {
		n := c.countCalls(MethodWorkspaceCodeLensRefresh)
		if n == lensRefreshes {
			break
		}
		lensRefreshes = n
	}
	writeFiles(t, dir, map[string]string{"unrelated.txt": "x"})
	c.notify(protocol.MethodWorkspaceDidChangeWatchedFiles, map[string]interface{}{
		"changes": []interface{}{map[string]interface{}{"uri": string(pathURI(filepath.Join(dir, "unrelated.txt"))), "type": 1}}})
	time.Sleep(200 * time.Millisecond)
	if n := c.countCalls(MethodWorkspaceCodeLensRefresh); n != lensRefreshes {
		t.Errorf("an unrelated file change sent %d lens refreshes", n-lensRefreshes)
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
	if st.Status != StatusStale || st.Text != "passed, not cached: data.txt changed during the run" || len(st.Reasons) != 1 || !strings.Contains(st.Reasons[0], "data.txt") {
		t.Errorf("status = %+v", st)
	}
	// The hover on the command says it too.
	if h := c.hoverText(u, 1, 0); !strings.Contains(h, "**Cache:** passed, not cached: data.txt changed during the run") {
		t.Errorf("hover on `$`:\n%s", h)
	}
}

// With tracing (the default where the system allows it), a file a
// command reads without declaring it is an observed input: the status
// names it when it changes, and the server watches it.
func TestTracedInputMakesStale(t *testing.T) {
	if err := trace.Available(); err != nil {
		t.Skipf("tracing unavailable here: %v", err)
	}
	dir := workspaceDir(t, map[string]string{"data.txt": "a\n"})
	src := "$ cat data.txt\n1 a\n"
	time.Sleep(30 * time.Millisecond) // let data.txt age past the clock's tick
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
	c.waitUntil("a watcher for data.txt", func() bool {
		for _, raw := range c.callsTo(protocol.MethodClientRegisterCapability) {
			if strings.Contains(string(raw), `"pattern":"data.txt"`) {
				return true
			}
		}
		return false
	})
	writeFiles(t, dir, map[string]string{"data.txt": "b b\n"})
	c.notify(protocol.MethodWorkspaceDidChangeWatchedFiles, map[string]interface{}{
		"changes": []interface{}{map[string]interface{}{"uri": string(pathURI(filepath.Join(dir, "data.txt"))), "type": 2}}})
	c.waitUntil("the status to name data.txt", func() bool { return c.status(u).Text == "stale: data.txt changed" })
}

// doubtingLauncher runs programs plainly and says it may have missed what
// they read, as a tracer that lost events does.
type doubtingLauncher struct{}

func (doubtingLauncher) Launch(cmd *exec.Cmd, obs engine.Observer) (func() error, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	obs.Doubt("trace: 3 event(s) lost in the kernel")
	return cmd.Wait, nil
}

func (doubtingLauncher) Name() string { return "ebpf" }

// TestDoubtedRunNotCached: the server wraps the launcher's observer (to
// keep every reader for hovers); a tracer's doubt must still reach the
// engine, so an editor run whose trace lost events is never cached.
func TestDoubtedRunNotCached(t *testing.T) {
	dir := workspaceDir(t, nil)
	c := newTestClient(t, func(o *Options) { o.Launcher = doubtingLauncher{} })
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", "$ /bin/echo hi\n1 hi\n")
	if out := c.mustExecute(CommandRun, string(u)); out.Status != OutcomePassed {
		t.Fatalf("run = %+v", out)
	}
	if st := c.status(u); st.Status == StatusFresh || !strings.Contains(st.Text, "event(s) lost") {
		t.Errorf("status = %+v, want not cached because events were lost", st)
	}
	if out := c.mustExecute(CommandRun, string(u)); out.Status != OutcomePassed {
		t.Errorf("second run = %+v, want a real run, not a cache hit", out)
	}
}

// TestStatusDistrustsUntracedResult: a result recorded untraced (another
// server with tracing off, or `check --trace=off`, sharing the cache) is
// not "cached ✓" in a traced server's status, just as its run would not
// serve it: the status and the run ask the cache the same question.
func TestStatusDistrustsUntracedResult(t *testing.T) {
	if err := trace.Available(); err != nil {
		t.Skipf("tracing unavailable here: %v", err)
	}
	dir := workspaceDir(t, nil)
	cacheDir := t.TempDir()
	src := "$ /bin/echo hi\n1 hi\n"
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	untraced := newTestClient(t, func(o *Options) { o.CacheDir, o.Trace = cacheDir, "off" })
	untraced.initialize(dir, editorCaps)
	untraced.open(u, "cmdt", src)
	if out := untraced.mustExecute(CommandRun, string(u)); out.Status != OutcomePassed {
		t.Fatalf("untraced run = %+v", out)
	}
	if st := untraced.status(u); st.Status != StatusFresh {
		t.Fatalf("untraced server's own status = %+v, want fresh", st)
	}
	traced := newTestClient(t, func(o *Options) { o.CacheDir, o.Trace = cacheDir, "auto" })
	traced.initialize(dir, editorCaps)
	traced.open(u, "cmdt", src)
	if st := traced.status(u); st.Status == StatusFresh {
		t.Errorf("traced server's status = %+v: an untraced result must not look cached", st)
	}
	if out := traced.mustExecute(CommandRun, string(u)); out.Status != OutcomePassed {
		t.Errorf("traced run = %+v, want a real run", out)
	}
}
