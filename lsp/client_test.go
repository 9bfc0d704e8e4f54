package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// callTimeout bounds every call a test makes: a lost reply fails the test
// instead of hanging it (lsp-stack-notes.md trap 11).
const callTimeout = 10 * time.Second

// errorCounter is a slog handler that fails nothing but counts records at
// error level: the server logs every internal bug (panic, double reply)
// there, and tests assert a session had none.
type errorCounter struct {
	mu   sync.Mutex
	errs []string
	next slog.Handler
}

func (h *errorCounter) Enabled(ctx context.Context, l slog.Level) bool { return true }
func (h *errorCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.mu.Lock()
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
		h.errs = append(h.errs, b.String())
		h.mu.Unlock()
	}
	if h.next != nil && os.Getenv("CMDT_LSP_TEST_LOG") != "" {
		return h.next.Handle(ctx, r)
	}
	return nil
}
func (h *errorCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *errorCounter) WithGroup(string) slog.Handler      { return h }

func (h *errorCounter) errors() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.errs...)
}

// testClient is an in-process LSP client connected to a real server over
// net.Pipe, with Content-Length framing on both ends (jsonrpc2.NewStream).
type testClient struct {
	t      testing.TB
	conn   jsonrpc2.Conn
	raw    net.Conn // the client end, for writing malformed bytes
	logs   *errorCounter
	done   chan error
	cancel context.CancelFunc

	mu       sync.Mutex
	diags    map[protocol.DocumentURI][]protocol.PublishDiagnosticsParams
	diagWake chan struct{}
	requests []string // methods of server-to-client requests
	// Like an editor, the client keeps its copy of each open document and
	// applies workspace/applyEdit to it, then tells the server (didChange).
	docs      map[protocol.DocumentURI]*clientDoc
	calls     []clientCall // server-to-client requests with their params
	notes     []clientCall // server-to-client notifications (other than diagnostics and progress)
	progress  []progressEvent
	edits     []protocol.TextEdit // every text edit applied, in order
	rejectAll bool                // answer workspace/applyEdit with applied: false
	// sent counts requests sent; jsonrpc2 numbers them 1, 2, ... so a test
	// with no other call in flight knows a request's id.
	sent atomic.Int32
}

type clientDoc struct {
	text    string
	version int32
}

type clientCall struct {
	method string
	params json.RawMessage
}

// progressEvent is one $/progress notification.
type progressEvent struct {
	token   string
	kind    string
	message string
	at      time.Time
}

type clientOption func(*Options)

func newTestClient(t testing.TB, opts ...clientOption) *testClient {
	t.Helper()
	serverEnd, clientEnd := net.Pipe()
	logs := &errorCounter{next: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})}
	// Runs and status lookups use a private result cache, never the user's.
	o := Options{Logger: slog.New(logs), Version: "test", CacheDir: t.TempDir()}
	for _, fn := range opts {
		fn(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &testClient{t: t, raw: clientEnd, logs: logs, done: make(chan error, 1), cancel: cancel,
		diags: map[protocol.DocumentURI][]protocol.PublishDiagnosticsParams{}, diagWake: make(chan struct{}),
		docs: map[protocol.DocumentURI]*clientDoc{}}
	go func() { c.done <- Serve(ctx, serverEnd, o) }()
	c.conn = jsonrpc2.NewConn(jsonrpc2.NewStream(clientEnd))
	// The client handler must not block the read loop: the pipe is
	// unbuffered, so a blocked client stalls the server's writes.
	c.conn.Go(ctx, jsonrpc2.AsyncHandler(c.handle))
	t.Cleanup(func() {
		cancel()
		_ = c.conn.Close()
		select {
		case <-c.done:
		case <-time.After(callTimeout):
			t.Errorf("server did not stop")
		}
		if errs := logs.errors(); len(errs) > 0 {
			t.Errorf("server logged %d internal error(s):\n%s", len(errs), strings.Join(errs, "\n"))
		}
	})
	return c
}

func (c *testClient) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	switch req.Method() {
	case protocol.MethodTextDocumentPublishDiagnostics:
		var p protocol.PublishDiagnosticsParams
		if err := json.Unmarshal(req.Params(), &p); err != nil {
			c.t.Errorf("bad publishDiagnostics: %v", err)
		}
		c.mu.Lock()
		c.diags[p.URI] = append(c.diags[p.URI], p)
		close(c.diagWake)
		c.diagWake = make(chan struct{})
		c.mu.Unlock()
		return reply(ctx, nil, nil)
	case protocol.MethodProgress:
		var p struct {
			Token json.RawMessage `json:"token"`
			Value struct {
				Kind    string `json:"kind"`
				Message string `json:"message"`
			} `json:"value"`
		}
		_ = json.Unmarshal(req.Params(), &p)
		c.mu.Lock()
		c.progress = append(c.progress, progressEvent{token: string(p.Token), kind: p.Value.Kind, message: p.Value.Message, at: time.Now()})
		c.mu.Unlock()
		return reply(ctx, nil, nil)
	}
	if _, isCall := req.(*jsonrpc2.Call); isCall {
		c.mu.Lock()
		c.requests = append(c.requests, req.Method())
		c.calls = append(c.calls, clientCall{method: req.Method(), params: append(json.RawMessage(nil), req.Params()...)})
		c.mu.Unlock()
	} else {
		c.mu.Lock()
		c.notes = append(c.notes, clientCall{method: req.Method(), params: append(json.RawMessage(nil), req.Params()...)})
		c.mu.Unlock()
	}
	if req.Method() == protocol.MethodWorkspaceApplyEdit {
		return reply(ctx, c.applyEdit(req.Params()), nil)
	}
	return reply(ctx, nil, nil)
}

// applyEdit applies a workspace/applyEdit to the client's copies and sends
// the resulting didChange, as an editor does, before answering.
func (c *testClient) applyEdit(raw json.RawMessage) protocol.ApplyWorkspaceEditResponse {
	var p protocol.ApplyWorkspaceEditParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return protocol.ApplyWorkspaceEditResponse{FailureReason: err.Error()}
	}
	c.mu.Lock()
	reject := c.rejectAll
	c.mu.Unlock()
	if reject {
		return protocol.ApplyWorkspaceEditResponse{FailureReason: "rejected by the test"}
	}
	type docEdits struct {
		uri     protocol.DocumentURI
		version *int32
		edits   []protocol.TextEdit
	}
	var all []docEdits
	for u, edits := range p.Edit.Changes {
		all = append(all, docEdits{uri: u, edits: edits})
	}
	for _, dc := range p.Edit.DocumentChanges {
		all = append(all, docEdits{uri: dc.TextDocument.URI, version: dc.TextDocument.Version, edits: dc.Edits})
	}
	for _, de := range all {
		c.mu.Lock()
		doc := c.docs[de.uri]
		c.mu.Unlock()
		if doc == nil {
			return protocol.ApplyWorkspaceEditResponse{FailureReason: "not open: " + string(de.uri)}
		}
		if de.version != nil && *de.version != doc.version {
			return protocol.ApplyWorkspaceEditResponse{FailureReason: fmt.Sprintf("version %d, document is at %d", *de.version, doc.version)}
		}
		// Edits refer to the original text; applied from the end, each
		// leaves the positions of the ones before it valid, and the same
		// order makes valid incremental didChange events.
		edits := append([]protocol.TextEdit(nil), de.edits...)
		sort.SliceStable(edits, func(i, j int) bool { return posBefore(edits[j].Range.Start, edits[i].Range.Start) })
		var changes []TextDocumentContentChangeEvent
		text := doc.text
		for _, e := range edits {
			m := NewMapper(text, UTF16)
			start, end := m.PositionToOffset(e.Range.Start), m.PositionToOffset(e.Range.End)
			text = text[:start] + e.NewText + text[end:]
			r := e.Range
			changes = append(changes, TextDocumentContentChangeEvent{Range: &r, Text: e.NewText})
		}
		c.mu.Lock()
		doc.text = text
		doc.version++
		version := doc.version
		c.edits = append(c.edits, edits...)
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		err := c.conn.Notify(ctx, protocol.MethodTextDocumentDidChange, DidChangeTextDocumentParams{
			TextDocument:   protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: de.uri}, Version: version},
			ContentChanges: changes,
		})
		cancel()
		if err != nil {
			return protocol.ApplyWorkspaceEditResponse{FailureReason: err.Error()}
		}
	}
	return protocol.ApplyWorkspaceEditResponse{Applied: true}
}

// call sends a request and decodes its result, failing the test on a
// timeout.
func (c *testClient) call(method string, params, result interface{}) error {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	c.sent.Add(1)
	_, err := c.conn.Call(ctx, method, params, result)
	if errors.Is(err, context.DeadlineExceeded) {
		c.t.Fatalf("%s: no reply within %s", method, callTimeout)
	}
	return err
}

func (c *testClient) mustCall(method string, params, result interface{}) {
	c.t.Helper()
	if err := c.call(method, params, result); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

func (c *testClient) notify(method string, params interface{}) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := c.conn.Notify(ctx, method, params); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

// initialize runs the initialize handshake with optional extra client
// capabilities (raw JSON merged into "capabilities").
func (c *testClient) initialize(root string, caps string) InitializeResult317 {
	c.t.Helper()
	if caps == "" {
		caps = "{}"
	}
	params := map[string]interface{}{
		"processId":    nil,
		"rootUri":      nil,
		"capabilities": json.RawMessage(caps),
	}
	if root != "" {
		params["rootUri"] = string(pathURI(root))
	}
	var res InitializeResult317
	c.mustCall(protocol.MethodInitialize, params, &res)
	c.notify(protocol.MethodInitialized, map[string]interface{}{})
	return res
}

func (c *testClient) open(u protocol.DocumentURI, lang, text string) {
	c.t.Helper()
	c.mu.Lock()
	c.docs[u] = &clientDoc{text: text, version: 1}
	c.mu.Unlock()
	c.notify(protocol.MethodTextDocumentDidOpen, protocol.DidOpenTextDocumentParams{
		TextDocument: protocol.TextDocumentItem{URI: u, LanguageID: protocol.LanguageIdentifier(lang), Version: 1, Text: text},
	})
}

func (c *testClient) change(u protocol.DocumentURI, version int32, changes ...TextDocumentContentChangeEvent) {
	c.t.Helper()
	c.mu.Lock()
	if d := c.docs[u]; d != nil {
		d.text = applyChanges(d.text, nil, UTF16, changes)
		d.version = version
	}
	c.mu.Unlock()
	c.notify(protocol.MethodTextDocumentDidChange, DidChangeTextDocumentParams{
		TextDocument:   protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}, Version: version},
		ContentChanges: changes,
	})
}

// waitDiagnostics waits for diagnostics of u for the given version (0 =
// any) and returns them.
func (c *testClient) waitDiagnostics(u protocol.DocumentURI, version uint32) []protocol.Diagnostic {
	c.t.Helper()
	return c.waitPublish(u, func(p protocol.PublishDiagnosticsParams) bool { return version == 0 || p.Version == version })
}

// waitCleared waits until the latest diagnostics of u are empty.
func (c *testClient) waitCleared(u protocol.DocumentURI) {
	c.t.Helper()
	c.waitPublish(u, func(p protocol.PublishDiagnosticsParams) bool { return len(p.Diagnostics) == 0 })
}

// waitPublish waits until the latest publication for u satisfies ok
// (earlier publications count too for version matches).
func (c *testClient) waitPublish(u protocol.DocumentURI, ok func(protocol.PublishDiagnosticsParams) bool) []protocol.Diagnostic {
	c.t.Helper()
	deadline := time.After(callTimeout)
	for {
		c.mu.Lock()
		list := c.diags[u]
		wake := c.diagWake
		c.mu.Unlock()
		if n := len(list); n > 0 && ok(list[n-1]) {
			return list[n-1].Diagnostics
		}
		select {
		case <-wake:
		case <-deadline:
			c.t.Fatalf("no matching diagnostics for %s within %s (have %+v)", u, callTimeout, list)
		}
	}
}

// shutdown runs shutdown + exit and checks Serve returned nil.
func (c *testClient) shutdown() {
	c.t.Helper()
	c.mustCall(protocol.MethodShutdown, nil, nil)
	c.notify(protocol.MethodExit, nil)
	select {
	case err := <-c.done:
		if err != nil {
			c.t.Fatalf("Serve after shutdown+exit: %v", err)
		}
		c.done <- nil // for Cleanup
	case <-time.After(callTimeout):
		c.t.Fatalf("server did not exit")
	}
}

// codes returns the diagnostic codes, in order.
func codes(diags []protocol.Diagnostic) []string {
	var out []string
	for _, d := range diags {
		out = append(out, fmt.Sprint(d.Code))
	}
	return out
}

// writeFiles creates files under dir from a name → content map.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// workspaceDir returns a temporary module root (it has a go.mod).
func workspaceDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"go.mod": "module example.com/ws\n"})
	writeFiles(t, dir, files)
	return dir
}

func newSlog(h slog.Handler) *slog.Logger { return slog.New(h) }
