package lsp

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/engine/watch"
	"github.com/cmdt-dev/cmdt/parser"
)

// Tests: what a test explorer needs, for any client (docs/lsp.md, "Test
// explorer"). cmdt/testTree lists the workspace's transcripts and their
// commands without running anything; cmdt/runTest runs one (the cache
// first, as cmdt.run) and answers with per-command results, expected and
// actual output included; cmdt/watch turns on the server's watcher
// (engine/watch, the one `transcript check --watch` uses), which then
// sends cmdt/stale notifications naming exactly the transcripts each
// batch of file changes made stale, and why. Clients run those: continuous
// test runs re-run what an edit affected, never everything.

// Methods of the test capability.
const (
	MethodCmdtTestTree = "cmdt/testTree"
	MethodCmdtRunTest  = "cmdt/runTest"
	MethodCmdtWatch    = "cmdt/watch"
	MethodCmdtStale    = "cmdt/stale" // notification, server to client
)

// TestTreeParams are cmdt/testTree's params: folders or transcript files
// to list; none means the workspace folders.
type TestTreeParams struct {
	URIs []protocol.DocumentURI `json:"uris,omitempty"`
}

// TestTreeResult lists transcripts in path order.
type TestTreeResult struct {
	Transcripts []TestTranscript `json:"transcripts"`
}

// TestTranscript is one transcript of the tree. An open document is
// listed with its editor text.
type TestTranscript struct {
	URI      protocol.DocumentURI `json:"uri"`
	Commands []TestCommand        `json:"commands"`
	// Errors are syntax errors (such a transcript cannot run).
	Errors []TestProblem `json:"errors,omitempty"`
}

// TestCommand is one command block. Lines are 0-based.
type TestCommand struct {
	Line    int    `json:"line"`    // the $ line
	EndLine int    `json:"endLine"` // the block's last line
	Command string `json:"command"` // the command text (continuations joined by newlines)
}

// TestProblem is a syntax error at a 0-based line.
type TestProblem struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// RunTestParams are cmdt/runTest's params.
type RunTestParams struct {
	URI protocol.DocumentURI `json:"uri"`
	// Update rewrites the expectations after the run (the document must
	// be open: the edit goes through workspace/applyEdit).
	Update bool `json:"update,omitempty"`
	// NoCache runs even when the cache says fresh.
	NoCache bool `json:"noCache,omitempty"`
}

// RunTestResult is a transcript's outcome.
type RunTestResult struct {
	URI protocol.DocumentURI `json:"uri"`
	// Status is passed, failed, cached, cancelled, updated or unchanged
	// (as cmdt.run's), or error (Error says why: a syntax error, ...).
	Status     string  `json:"status"`
	Text       string  `json:"text"`
	Cached     bool    `json:"cached"`
	DurationMs float64 `json:"durationMs"`
	// Reasons say why a recorded result was not used ("testdata/in.txt
	// changed"), when the cache had one.
	Reasons  []string            `json:"reasons,omitempty"`
	Error    string              `json:"error,omitempty"`
	Commands []TestCommandResult `json:"commands,omitempty"`
}

// TestCommandResult is one command's outcome. Lines are 0-based, in the
// text that ran.
type TestCommandResult struct {
	Line       int     `json:"line"`
	EndLine    int     `json:"endLine"`
	Status     string  `json:"status"` // passed, failed
	DurationMs float64 `json:"durationMs"`
	// Message is the failure in the CLI's words ($ command, diff, exit
	// status); Expected and Actual are the block's expectation lines as
	// written and as an update would write them, for a compare view.
	Message  string `json:"message,omitempty"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
}

// WatchParams turn the server's watcher on or off.
type WatchParams struct {
	Enabled bool `json:"enabled"`
}

// WatchResult answers cmdt/watch: when turned on, what is stale already.
type WatchResult struct {
	Watching bool `json:"watching"`
	// Directories is how many directories are watched.
	Directories int          `json:"directories"`
	Stale       []StaleEntry `json:"stale,omitempty"`
}

// StaleParams is the cmdt/stale notification: one batch of file changes.
type StaleParams struct {
	Round   int                    `json:"round"`
	Changed []string               `json:"changed"` // paths
	Stale   []StaleEntry           `json:"stale"`
	Removed []protocol.DocumentURI `json:"removed,omitempty"`
}

// StaleEntry is one transcript to run again and why.
type StaleEntry struct {
	URI     protocol.DocumentURI `json:"uri"`
	Reasons []string             `json:"reasons"`
}

// testTree answers cmdt/testTree.
func (s *Server) testTree(ctx context.Context, p *TestTreeParams) (*TestTreeResult, error) {
	var roots []string
	for _, u := range p.URIs {
		path, ok := uriPath(u)
		if !ok {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s: not a file: URI", u)
		}
		roots = append(roots, path)
	}
	if len(p.URIs) == 0 {
		s.mu.Lock()
		roots = append(roots, s.roots...)
		s.mu.Unlock()
	}
	seen := map[string]bool{}
	var paths []string
	for _, r := range roots {
		st, err := os.Stat(r)
		if err != nil {
			continue // gone: nothing to list
		}
		if !st.IsDir() {
			if !seen[r] {
				seen[r] = true
				paths = append(paths, r)
			}
			continue
		}
		_ = filepath.WalkDir(r, func(path string, d fs.DirEntry, err error) error {
			if err != nil || ctx.Err() != nil {
				return filepath.SkipDir
			}
			if d.IsDir() {
				if path != r && watch.SkipDir(d.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(path, ".cmdt") && !seen[path] {
				seen[path] = true
				paths = append(paths, path)
			}
			return nil
		})
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	sort.Strings(paths)
	res := &TestTreeResult{Transcripts: []TestTranscript{}}
	for _, path := range paths {
		u := pathURI(path)
		var f *parser.File
		if snap := s.store.Get(u); snap != nil && snap.Kind == DocTranscript {
			f = snap.File()
		} else {
			src, err := readFile(path, engine.MaxTranscriptSize)
			if err != nil {
				continue
			}
			f = parser.Parse(path, src)
		}
		res.Transcripts = append(res.Transcripts, testTranscriptOf(u, f))
	}
	return res, nil
}

func testTranscriptOf(u protocol.DocumentURI, f *parser.File) TestTranscript {
	t := TestTranscript{URI: u, Commands: []TestCommand{}}
	for _, b := range f.Blocks {
		t.Commands = append(t.Commands, TestCommand{Line: b.Command.Num - 1, EndLine: blockEnd(b) - 1, Command: b.Text()})
	}
	for _, e := range f.Errors {
		t.Errors = append(t.Errors, TestProblem{Line: e.Range.Start.Line - 1, Message: e.Msg})
	}
	return t
}

// blockEnd is the 1-based last line of a block.
func blockEnd(b *parser.Block) int {
	end := b.Command.Num
	for _, l := range b.Lines {
		end = max(end, l.Num)
	}
	return end
}

// runTest answers cmdt/runTest: runs the transcript as cmdt.run (or
// cmdt.runNoCache, cmdt.update) do, whether it is open or not (a closed
// one runs its text on disk), and replies when the run is over.
func (s *Server) runTest(ctx context.Context, p *RunTestParams) (interface{}, error) {
	path, ok := uriPath(p.URI)
	if !ok {
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: %s is not a file on disk", MethodCmdtRunTest, p.URI)
	}
	snap := s.store.Use(p.URI)
	if snap == nil {
		if p.Update {
			return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: open %s in the editor to update it (the update is an edit of the document)", MethodCmdtRunTest, p.URI)
		}
		src, err := engine.ReadRegular(path, engine.MaxTranscriptSize)
		if err != nil {
			return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: %v", MethodCmdtRunTest, err)
		}
		s.mu.Lock()
		enc := s.enc
		s.mu.Unlock()
		snap = newSnapshot(p.URI, path, 0, "cmdt", string(src), DocTranscript, enc)
	}
	if snap.Kind != DocTranscript {
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: %s is not a transcript (.cmdt)", MethodCmdtRunTest, p.URI)
	}
	if err := s.runnable(snap); err != nil {
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: %v", MethodCmdtRunTest, err)
	}
	if errs := snap.File().Errors; len(errs) > 0 {
		e := errs[0]
		return &RunTestResult{URI: p.URI, Status: "error", Text: "syntax error",
			Error: fmt.Sprintf("line %d: %s (%d syntax error(s))", e.Range.Start.Line, e.Msg, len(errs))}, nil
	}
	kind := jobRun
	switch {
	case p.Update:
		kind = jobUpdate
	case p.NoCache:
		kind = jobRunNoCache
	}
	j := s.startJob(kind, snap, nil)
	return &deferred{wait: func(ctx context.Context) (interface{}, error) {
		if _, err := j.wait(ctx); err != nil {
			return &RunTestResult{URI: p.URI, Status: "error", Text: err.Error(), Error: err.Error(),
				DurationMs: msOf(time.Since(j.started))}, nil
		}
		res := testResultOf(p.URI, j)
		if s.store.Get(p.URI) == nil {
			// A closed transcript keeps no run record (diagnostics, lenses
			// and hovers are for open ones): a watched tree of thousands
			// would keep every output otherwise.
			s.runs.mu.Lock()
			if s.runs.last[p.URI] == j.rec {
				delete(s.runs.last, p.URI)
			}
			s.runs.mu.Unlock()
		}
		return res, nil
	}}, nil
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// testResultOf builds a finished job's result.
func testResultOf(u protocol.DocumentURI, j *job) *RunTestResult {
	out := j.outcome
	r := &RunTestResult{URI: u, Status: out.Status, Text: out.Text, Cached: out.Status == OutcomeCached,
		Reasons: j.reasons, DurationMs: msOf(time.Since(j.started))}
	rec := j.rec
	if rec == nil || rec.Result == nil {
		return r
	}
	r.DurationMs = msOf(rec.Result.Duration)
	var plan *engine.UpdatePlan
	lines := strings.SplitAfter(rec.Text, "\n")
	for _, cr := range rec.Result.Commands {
		b := cr.Block
		c := TestCommandResult{Line: b.Command.Num - 1, EndLine: blockEnd(b) - 1, Status: "passed", DurationMs: msOf(cr.Duration)}
		if cr.Failure != nil {
			c.Status = "failed"
			c.Message = cr.Failure.Report("", nil)
			if plan == nil && !cr.TimedOut {
				plan, _ = engine.PlanUpdate(rec.Result)
			}
			c.Expected, c.Actual = expectedActual(lines, plan, b)
		}
		r.Commands = append(r.Commands, c)
	}
	return r
}

// expectedActual renders a failed block's expectation lines as written
// and as an update would write them (transcript notation: "1 hello").
func expectedActual(lines []string, plan *engine.UpdatePlan, b *parser.Block) (string, string) {
	if plan == nil {
		return "", ""
	}
	for _, be := range plan.Edits {
		if be.Block != b {
			continue
		}
		var want strings.Builder
		for n := be.StartLine; n <= be.EndLine && n-1 < len(lines); n++ {
			want.WriteString(strings.TrimRight(lines[n-1], "\r\n") + "\n")
		}
		var got strings.Builder
		for _, l := range be.Lines {
			got.WriteString(l + "\n")
		}
		return want.String(), got.String()
	}
	return "", ""
}

// testWatch is the server's watcher while a client has it on.
type testWatch struct {
	mu     sync.Mutex
	w      *watch.Watcher
	cancel context.CancelFunc
	done   chan struct{}
}

// watchTests answers cmdt/watch.
func (s *Server) watchTests(ctx context.Context, p *WatchParams) (*WatchResult, error) {
	tw := s.tests
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if !p.Enabled {
		tw.stopLocked()
		return &WatchResult{}, nil
	}
	if tw.w != nil {
		return &WatchResult{Watching: true, Directories: tw.w.Dirs()}, nil
	}
	s.mu.Lock()
	roots := append([]string(nil), s.roots...)
	s.mu.Unlock()
	if len(roots) == 0 {
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: no workspace folder to watch", MethodCmdtWatch)
	}
	rc, err := s.resultCache()
	if err != nil {
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: %v", MethodCmdtWatch, err)
	}
	launcher, err := s.launcher(rc)
	if err != nil {
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: %v", MethodCmdtWatch, err)
	}
	env := s.environ()
	w, err := watch.New(watch.Options{Paths: roots, Cache: rc, Ignore: []string{rc.Dir()},
		// What cmdt/runTest of the file on disk looks up and records.
		Target: func(path string) cache.Target {
			return cache.RunTarget(path, nil, nil, launcher, engine.EnvInherit, env)
		}})
	if err != nil {
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: %v", MethodCmdtWatch, err)
	}
	initial, err := w.Initial(ctx)
	if err != nil {
		w.Close()
		return nil, err
	}
	wctx, cancel := context.WithCancel(s.baseCtx)
	tw.w, tw.cancel, tw.done = w, cancel, make(chan struct{})
	go s.watchLoop(wctx, w, tw.done)
	return &WatchResult{Watching: true, Directories: w.Dirs(), Stale: staleEntries(initial.Run)}, nil
}

func staleEntries(items []watch.Item) []StaleEntry {
	out := []StaleEntry{}
	for _, it := range items {
		out = append(out, StaleEntry{URI: pathURI(it.Path), Reasons: it.Reasons})
	}
	return out
}

// watchLoop sends a cmdt/stale notification for each round.
func (s *Server) watchLoop(ctx context.Context, w *watch.Watcher, done chan struct{}) {
	defer close(done)
	for n := 1; ; n++ {
		r, err := w.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("watching stopped", "err", err)
			}
			return
		}
		p := StaleParams{Round: n, Changed: r.Changed, Stale: staleEntries(r.Run)}
		for _, it := range r.Removed {
			p.Removed = append(p.Removed, pathURI(it.Path))
		}
		if p.Changed == nil {
			p.Changed = []string{}
		}
		if err := s.conn.Notify(ctx, MethodCmdtStale, p); err != nil {
			s.log.Debug("cmdt/stale not sent", "err", err)
		}
	}
}

func (tw *testWatch) stopLocked() {
	if tw.w == nil {
		return
	}
	tw.cancel()
	<-tw.done
	tw.w.Close()
	tw.w = nil
}

func (tw *testWatch) stop() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.stopLocked()
}

// ran tells the watcher what a run used, so the next change is matched
// against it.
func (tw *testWatch) ran(path string, res *engine.Result) {
	tw.mu.Lock()
	w := tw.w
	tw.mu.Unlock()
	if w != nil && path != "" {
		w.Ran(path, res)
	}
}
