package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// TestBinaryRunAcceptCached drives the built binary over stdio through the
// run loop: run a failing transcript (diagnostic with the diff), accept
// the actual output (the client receives workspace/applyEdit), run the
// edited buffer (passes), run again (served from the cache). Then a run of
// `sleep` is left going and the client shuts the server down: the process
// must not outlive the server.
func TestBinaryRunAcceptCached(t *testing.T) {
	bin := buildServer(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/bin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "CMDT_CACHE_DIR="+t.TempDir())
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	var mu sync.Mutex
	var edits []json.RawMessage
	diags := make(chan protocol.PublishDiagnosticsParams, 100)
	conn := jsonrpc2.NewConn(jsonrpc2.NewStream(procConn{stdout, stdin}))
	conn.Go(ctx, jsonrpc2.AsyncHandler(func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		switch req.Method() {
		case protocol.MethodTextDocumentPublishDiagnostics:
			var p protocol.PublishDiagnosticsParams
			_ = json.Unmarshal(req.Params(), &p)
			diags <- p
		case protocol.MethodWorkspaceApplyEdit:
			mu.Lock()
			edits = append(edits, append(json.RawMessage(nil), req.Params()...))
			mu.Unlock()
			return reply(ctx, protocol.ApplyWorkspaceEditResponse{Applied: true}, nil)
		}
		return reply(ctx, nil, nil)
	}))
	call := func(method string, params, result interface{}) {
		t.Helper()
		if _, err := conn.Call(ctx, method, params, result); err != nil {
			t.Fatalf("%s: %v\nstderr:\n%s", method, err, stderr.String())
		}
	}
	type outcome struct {
		Status string `json:"status"`
		Text   string `json:"text"`
		Failed int    `json:"failed"`
	}
	execute := func(command string, args ...interface{}) outcome {
		t.Helper()
		var out outcome
		call("workspace/executeCommand", map[string]interface{}{"command": command, "arguments": args}, &out)
		return out
	}

	call("initialize", map[string]interface{}{"processId": os.Getpid(), "rootUri": "file://" + dir, "capabilities": map[string]interface{}{}}, nil)
	_ = conn.Notify(ctx, "initialized", map[string]interface{}{})
	u := "file://" + filepath.Join(dir, "t.cmdt")
	text := "$ echo hello\n1 goodbye\n"
	_ = conn.Notify(ctx, "textDocument/didOpen", map[string]interface{}{"textDocument": map[string]interface{}{
		"uri": u, "languageId": "cmdt", "version": 1, "text": text}})

	start := time.Now()
	if out := execute("cmdt.run", u); out.Status != "failed" || out.Failed != 1 {
		t.Fatalf("cmdt.run = %+v", out)
	}
	t.Logf("cmdt.run over stdio: %s", time.Since(start))
	for found := false; !found; {
		select {
		case p := <-diags:
			for _, d := range p.Diagnostics {
				if d.Code == "check-failed" && strings.Contains(d.Message, "-1 goodbye\n+1 hello") && d.Range.Start.Line == 0 {
					found = true
				}
			}
		case <-ctx.Done():
			t.Fatal("no check-failed diagnostic with the diff")
		}
	}
	if out := execute("cmdt.accept", u, 0); out.Status != "updated" {
		t.Fatalf("cmdt.accept = %+v", out)
	}
	mu.Lock()
	if len(edits) != 1 || !strings.Contains(string(edits[0]), `"newText":"1 hello\n"`) {
		t.Fatalf("applyEdit requests = %s", edits)
	}
	mu.Unlock()
	// The client applied it: tell the server, as an editor would.
	_ = conn.Notify(ctx, "textDocument/didChange", map[string]interface{}{
		"textDocument":   map[string]interface{}{"uri": u, "version": 2},
		"contentChanges": []map[string]interface{}{{"text": "$ echo hello\n1 hello\n"}}})
	if out := execute("cmdt.run", u); out.Status != "passed" {
		t.Fatalf("run after accepting = %+v", out)
	}
	if out := execute("cmdt.run", u); out.Status != "cached" || out.Text != "cached ✓ just now" {
		t.Fatalf("third run = %+v", out)
	}
	var st struct{ Status, Text string }
	call("cmdt/status", map[string]string{"uri": u}, &st)
	if st.Status != "fresh" || st.Text != "cached ✓ just now" {
		t.Errorf("cmdt/status = %+v", st)
	}

	// A long run left going when the client quits.
	marker := fmt.Sprintf("30.%06d", time.Now().UnixNano()%1000000)
	_ = conn.Notify(ctx, "textDocument/didChange", map[string]interface{}{
		"textDocument":   map[string]interface{}{"uri": u, "version": 3},
		"contentChanges": []map[string]interface{}{{"text": "$ sleep " + marker + "\n"}}})
	go func() {
		_, _ = conn.Call(ctx, "workspace/executeCommand", map[string]interface{}{"command": "cmdt.run", "arguments": []string{u}}, nil)
	}()
	for len(pidsWith("sleep\x00"+marker)) == 0 {
		if ctx.Err() != nil {
			t.Fatal("the sleep did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	call("shutdown", nil, nil)
	_ = conn.Notify(ctx, "exit", nil)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\nstderr:\n%s", err, stderr.String())
	}
	if left := pidsWith("sleep\x00" + marker); len(left) > 0 {
		t.Errorf("processes of a run outlived the server: %v", left)
	}
}

// pidsWith lists the pids whose command line contains marker.
func pidsWith(marker string) []string {
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(marker)) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}
