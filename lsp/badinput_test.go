package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// rawClient speaks bytes to the server, for input a well-behaved client
// library cannot produce. It also reads the server's frames itself, since
// jsonrpc2.Conn gives up on a response with a null id.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	in   *bufio.Reader
	done chan error
	logs *errorCounter
}

func newRawClient(t *testing.T) *rawClient {
	t.Helper()
	serverEnd, clientEnd := net.Pipe()
	logs := &errorCounter{}
	rc := &rawClient{t: t, conn: clientEnd, in: bufio.NewReader(clientEnd), done: make(chan error, 1), logs: logs}
	go func() { rc.done <- Serve(context.Background(), serverEnd, Options{Logger: newSlog(logs)}) }()
	t.Cleanup(func() {
		_ = clientEnd.Close()
		select {
		case <-rc.done:
		case <-time.After(callTimeout):
			t.Error("server did not stop")
		}
		if errs := logs.errors(); len(errs) > 0 {
			t.Errorf("server logged internal errors: %v", errs)
		}
	})
	return rc
}

func (rc *rawClient) write(s string) {
	rc.t.Helper()
	_ = rc.conn.SetWriteDeadline(time.Now().Add(callTimeout))
	if _, err := io.WriteString(rc.conn, s); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

func (rc *rawClient) frame(body string) {
	rc.t.Helper()
	rc.write(fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body))
}

// read returns the next message the server sends, skipping notifications.
func (rc *rawClient) read() map[string]json.RawMessage {
	rc.t.Helper()
	_ = rc.conn.SetReadDeadline(time.Now().Add(callTimeout))
	for {
		length := 0
		for {
			line, err := rc.in.ReadString('\n')
			if err != nil {
				rc.t.Fatalf("read header: %v", err)
			}
			line = strings.TrimSpace(line)
			if line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				length, _ = strconv.Atoi(v)
			}
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(rc.in, body); err != nil {
			rc.t.Fatalf("read body: %v", err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			rc.t.Fatalf("server sent invalid JSON %q: %v", body, err)
		}
		if _, isNotification := m["method"]; isNotification {
			continue
		}
		return m
	}
}

// expectError reads a response and checks its id and error code.
func (rc *rawClient) expectError(id string, code jsonrpc2.Code) {
	rc.t.Helper()
	m := rc.read()
	var e struct {
		Code jsonrpc2.Code `json:"code"`
	}
	_ = json.Unmarshal(m["error"], &e)
	if string(m["id"]) != id || e.Code != code {
		rc.t.Fatalf("got id %s error %s, want id %s code %d", m["id"], m["error"], id, code)
	}
}

func (rc *rawClient) expectResult(id string) json.RawMessage {
	rc.t.Helper()
	m := rc.read()
	if string(m["id"]) != id || m["error"] != nil {
		rc.t.Fatalf("got %v, want a result for id %s", stringify(m), id)
	}
	return m["result"]
}

func stringify(m map[string]json.RawMessage) string {
	b, _ := json.Marshal(m)
	return string(b)
}

func TestBadFramesAndJSON(t *testing.T) {
	rc := newRawClient(t)
	rc.frame(`{"jsonrpc":"2.0","id":1,"method":"shutdown"}`)
	rc.expectError("1", jsonrpc2.ServerNotInitialized)

	rc.frame(`{this is not json`)
	rc.expectError("null", jsonrpc2.ParseError)
	rc.frame(`{"jsonrpc":"1.0","id":2,"method":"initialize","params":{}}`)
	rc.expectError("null", jsonrpc2.ParseError)
	rc.frame(`{"jsonrpc":"2.0","id":`) // truncated JSON wraps io.ErrUnexpectedEOF
	rc.expectError("null", jsonrpc2.ParseError)
	rc.frame(`[1,2,3]`)
	rc.expectError("null", jsonrpc2.ParseError)
	rc.frame(`{"jsonrpc":"2.0","id":{"x":1},"method":"initialize"}`)
	rc.expectError("null", jsonrpc2.ParseError)
	// A garbage header line is skipped; the next frame is read normally.
	rc.write("this is not a header\r\n")
	rc.frame(`{"jsonrpc":"2.0","id":3,"method":"initialize","params":{"capabilities":{}}}`)
	rc.expectResult("3")
	rc.write("Content-Length: banana\r\n\r\n")
	rc.frame(`{"jsonrpc":"2.0","id":"s4","method":"cmdt/status","params":{"uri":"file:///x"}}`)
	rc.expectResult(`"s4"`)

	// Wrong param types: InvalidParams, with the request's id.
	rc.frame(`{"jsonrpc":"2.0","id":5,"method":"textDocument/hover","params":{"textDocument":{"uri":"untitled:x"},"position":"top"}}`)
	rc.expectError("5", jsonrpc2.InvalidParams)
	rc.frame(`{"jsonrpc":"2.0","id":6,"method":"textDocument/hover","params":[1,2]}`)
	rc.expectError("6", jsonrpc2.InvalidParams)
	rc.frame(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":42}}`)
	rc.frame(`{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"file:///never/opened.cmdt","version":2},"contentChanges":[{"text":"x"}]}}`)
	rc.frame(`{"jsonrpc":"2.0","id":7,"method":"textDocument/hover","params":{"textDocument":{"uri":"file:///never/opened.cmdt"},"position":{"line":0,"character":0}}}`)
	rc.expectError("7", codeRequestFailed)
	rc.frame(`{"jsonrpc":"2.0","id":8,"method":"no/such/method"}`)
	rc.expectError("8", jsonrpc2.MethodNotFound)

	// Shutdown, then requests are refused and exit ends the session cleanly.
	rc.frame(`{"jsonrpc":"2.0","id":9,"method":"shutdown"}`)
	rc.expectResult("9")
	rc.frame(`{"jsonrpc":"2.0","id":10,"method":"textDocument/hover","params":{}}`)
	rc.expectError("10", jsonrpc2.InvalidRequest)
	rc.frame(`{"jsonrpc":"2.0","method":"exit"}`)
	select {
	case err := <-rc.done:
		if err != nil {
			t.Fatalf("Serve = %v after shutdown+exit", err)
		}
		rc.done <- nil
	case <-time.After(callTimeout):
		t.Fatal("no exit")
	}
}

func TestExitWithoutShutdown(t *testing.T) {
	rc := newRawClient(t)
	rc.frame(`{"jsonrpc":"2.0","method":"exit"}`)
	select {
	case err := <-rc.done:
		if !errors.Is(err, ErrExitWithoutShutdown) {
			t.Fatalf("Serve = %v, want ErrExitWithoutShutdown", err)
		}
		rc.done <- nil
	case <-time.After(callTimeout):
		t.Fatal("no exit")
	}
}

func TestTruncatedStreamEndsCleanly(t *testing.T) {
	rc := newRawClient(t)
	rc.write("Content-Length: 1000\r\n\r\n{\"jsonrpc\":")
	_ = rc.conn.Close()
	select {
	case err := <-rc.done:
		if err != nil {
			t.Fatalf("Serve = %v at end of input, want nil", err)
		}
		rc.done <- nil
	case <-time.After(callTimeout):
		t.Fatal("server did not notice end of input")
	}
}

func TestPositionsPastTheEnd(t *testing.T) {
	c := newTestClient(t)
	c.initialize("", "")
	u := protocol.DocumentURI("untitled:short")
	c.open(u, "cmdt", "$ echo x\n1 x")
	c.waitDiagnostics(u, 1)
	for _, pos := range []protocol.Position{{Line: 0, Character: 1 << 30}, {Line: 1 << 30, Character: 0}, {Line: 1, Character: 99}, {Line: 2, Character: 0}} {
		for _, m := range []string{protocol.MethodTextDocumentHover, protocol.MethodTextDocumentCompletion, protocol.MethodTextDocumentDefinition} {
			if err := c.call(m, posParams(u, pos.Line, pos.Character), nil); err != nil {
				t.Errorf("%s at %+v: %v", m, pos, err)
			}
		}
	}
	// Edits with ranges past the end clamp instead of failing.
	c.change(u, 2, TextDocumentContentChangeEvent{Range: &protocol.Range{Start: protocol.Position{Line: 50, Character: 3}, End: protocol.Position{Line: 1, Character: 0}}, Text: "\n$ tail\n"})
	var syms []protocol.DocumentSymbol
	c.mustCall(protocol.MethodTextDocumentDocumentSymbol, docID(u), &syms)
	if len(syms) != 2 {
		t.Fatalf("symbols after clamped edit: %+v", syms)
	}
	p := docID(u)
	p["range"] = protocol.Range{End: protocol.Position{Line: 1 << 31, Character: 1 << 31}}
	p["context"] = map[string]interface{}{"diagnostics": []int{}}
	c.mustCall(protocol.MethodTextDocumentCodeAction, p, nil)
}

func TestHugeAndBinaryDocuments(t *testing.T) {
	c := newTestClient(t)
	c.initialize("", "")
	var b strings.Builder
	for b.Len() < 10<<20 {
		b.WriteString("$ printf 'some fairly ordinary command text %s' arg\n1 some fairly ordinary output line\n\n")
	}
	huge := protocol.DocumentURI("untitled:huge")
	start := time.Now()
	c.open(huge, "cmdt", b.String())
	c.waitDiagnostics(huge, 1)
	t.Logf("10 MB document: diagnostics after %s", time.Since(start))
	c.mustCall(protocol.MethodTextDocumentHover, posParams(huge, 100000, 3), nil)

	bin := protocol.DocumentURI("untitled:binary")
	binText := "\x00\x01\x02\xff\xfe$ \x00 cat\n1\x00 \xc3\x28\n% dep file \x00\n" + strings.Repeat("\x7f\x00", 1000)
	c.open(bin, "cmdt", binText)
	c.waitDiagnostics(bin, 1)
	for _, m := range []string{MethodSemanticTokensFull, protocol.MethodTextDocumentDocumentSymbol, protocol.MethodTextDocumentFoldingRange} {
		c.mustCall(m, docID(bin), nil)
	}
	c.shutdown()
}
