package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// editorCaps are the client capabilities of a full editor (VS Code):
// progress, versioned edits, lens and hint refreshes, dynamic watchers
// with relative patterns.
const editorCaps = `{
	"window": {"workDoneProgress": true},
	"workspace": {
		"workspaceEdit": {"documentChanges": true},
		"codeLens": {"refreshSupport": true},
		"inlayHint": {"refreshSupport": true},
		"didChangeWatchedFiles": {"dynamicRegistration": true, "relativePatternSupport": true}
	}
}`

// withCacheDir shares a result cache between sessions of a test.
func withCacheDir(dir string) clientOption {
	return func(o *Options) { o.CacheDir = dir }
}

// execute runs workspace/executeCommand and decodes a RunOutcome.
func (c *testClient) execute(cmd string, args ...interface{}) (*RunOutcome, error) {
	c.t.Helper()
	var out *RunOutcome
	err := c.call(protocol.MethodWorkspaceExecuteCommand, map[string]interface{}{"command": cmd, "arguments": args}, &out)
	return out, err
}

func (c *testClient) mustExecute(cmd string, args ...interface{}) *RunOutcome {
	c.t.Helper()
	out, err := c.execute(cmd, args...)
	if err != nil {
		c.t.Fatalf("%s: %v", cmd, err)
	}
	if out == nil {
		c.t.Fatalf("%s: no result", cmd)
	}
	return out
}

// text returns the client's copy of a document.
func (c *testClient) text(u protocol.DocumentURI) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.docs[u].text
}

// save writes the client's copy to disk and sends didSave.
func (c *testClient) save(u protocol.DocumentURI) {
	c.t.Helper()
	path, _ := uriPath(u)
	if err := os.WriteFile(path, []byte(c.text(u)), 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.notify(protocol.MethodTextDocumentDidSave, docID(u))
}

func (c *testClient) status(u protocol.DocumentURI) StatusResult {
	c.t.Helper()
	var st StatusResult
	c.mustCall(MethodCmdtStatus, StatusParams{URI: u}, &st)
	return st
}

func (c *testClient) lenses(u protocol.DocumentURI) []protocol.CodeLens {
	c.t.Helper()
	var ls []protocol.CodeLens
	c.mustCall(protocol.MethodTextDocumentCodeLens, docID(u), &ls)
	return ls
}

func lensTitles(ls []protocol.CodeLens) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Command.Title)
	}
	return out
}

// hint is an inlay hint with its label as text.
type hint struct {
	Line, Char uint32
	Label      string
}

func (c *testClient) hints(u protocol.DocumentURI) []hint {
	c.t.Helper()
	var hs []InlayHint
	p := docID(u)
	p["range"] = protocol.Range{End: protocol.Position{Line: 1 << 20}}
	c.mustCall(MethodTextDocumentInlayHint, p, &hs)
	var out []hint
	for _, h := range hs {
		label, _ := h.Label.(string)
		out = append(out, hint{h.Position.Line, h.Position.Character, label})
	}
	return out
}

// hintOn returns the labels of the hints on a line.
func hintsOn(hs []hint, line uint32) []string {
	var out []string
	for _, h := range hs {
		if h.Line == line {
			out = append(out, h.Label)
		}
	}
	return out
}

// waitUntil polls cond until it holds, failing the test after callTimeout.
func (c *testClient) waitUntil(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(callTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// latestDiagnostics returns the newest publication for u.
func (c *testClient) latestDiagnostics(u protocol.DocumentURI) []protocol.Diagnostic {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := c.diags[u]
	if len(list) == 0 {
		return nil
	}
	return list[len(list)-1].Diagnostics
}

// waitCodes waits until the latest diagnostics of u have exactly these
// codes, in order, and returns them.
func (c *testClient) waitCodes(u protocol.DocumentURI, want ...string) []protocol.Diagnostic {
	c.t.Helper()
	var got []protocol.Diagnostic
	c.waitUntil("diagnostics "+strings.Join(want, ","), func() bool {
		got = c.latestDiagnostics(u)
		return strings.Join(codes(got), ",") == strings.Join(want, ",")
	})
	return got
}

func (c *testClient) countCalls(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, cl := range c.calls {
		if cl.method == method {
			n++
		}
	}
	return n
}

func (c *testClient) callsTo(method string) []json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []json.RawMessage
	for _, cl := range c.calls {
		if cl.method == method {
			out = append(out, cl.params)
		}
	}
	return out
}

func (c *testClient) progressEvents() []progressEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]progressEvent(nil), c.progress...)
}

// rpcCode returns a JSON-RPC error's code, or 0.
func rpcCode(err error) jsonrpc2.Code {
	var je *jsonrpc2.Error
	if errors.As(err, &je) {
		return je.Code
	}
	return 0
}

// processesWith lists the pids whose command line contains marker.
func processesWith(marker string) []string {
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(marker)) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// callAsync sends a request in the background and returns its id (see
// testClient.sent: valid while no other call is in flight); the result
// arrives on the channel.
func (c *testClient) callAsync(method string, params interface{}) (int32, <-chan error) {
	id := c.sent.Add(1)
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		_, err := c.conn.Call(ctx, method, params, nil)
		errc <- err
	}()
	return id, errc
}
