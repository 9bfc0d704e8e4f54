package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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

const timeout = 20 * time.Second

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildServer builds cmdt-lsp once per test binary.
func buildServer(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not on PATH")
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "cmdt-lsp-test"); buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "cmdt-lsp")
		if out, err := exec.Command(goBin, "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type procConn struct {
	io.Reader
	io.WriteCloser
}

func (p procConn) Close() error { return p.WriteCloser.Close() }

// TestCommandLine: a person typing at a terminal gets an answer and an exit
// status, never a server silently waiting on stdin. Stdin is an open pipe
// that never sends anything, so a binary that starts serving instead would
// hang until the deadline.
func TestCommandLine(t *testing.T) {
	bin := buildServer(t)
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // prefix
		stderr string // substring
	}{
		{[]string{"--version"}, 0, "cmdt-lsp ", ""},
		{[]string{"-version"}, 0, "cmdt-lsp ", ""},
		{[]string{"version"}, 0, "cmdt-lsp ", ""},
		{[]string{"help"}, 0, "cmdt-lsp is the cmdt language server", ""},
		{[]string{"serve"}, 2, "", `unknown argument "serve"`},
		{[]string{"--bogus"}, 2, "", "flag provided but not defined: -bogus"},
		{[]string{"version", "extra"}, 2, "", `unknown argument "version"`},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		cmd := exec.CommandContext(ctx, bin, tc.args...)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err = cmd.Run()
		stdin.Close()
		timedOut := ctx.Err() != nil
		cancel()
		code := cmd.ProcessState.ExitCode()
		if timedOut {
			t.Errorf("cmdt-lsp %v: still running after %v (serving on stdin?)", tc.args, timeout)
			continue
		}
		if code != tc.code || !strings.HasPrefix(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("cmdt-lsp %v: exit %d (%v), stdout %q, stderr %q; want exit %d, stdout starting %q, stderr containing %q",
				tc.args, code, err, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
		}
		if tc.code == 2 && !strings.Contains(stderr.String(), "Usage:") {
			t.Errorf("cmdt-lsp %v: no usage on stderr: %q", tc.args, stderr.String())
		}
	}
}

// TestBinaryStdio drives the built binary over its stdin/stdout: the
// whole session, and a check that stdout carries nothing but frames (logs
// go to stderr).
func TestBinaryStdio(t *testing.T) {
	bin := buildServer(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-v")
	stdin, _ := cmd.StdinPipe()
	stdoutPipe, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Keep a copy of everything on stdout to check its framing afterwards.
	var wire bytes.Buffer
	var wireMu sync.Mutex
	tee := io.TeeReader(stdoutPipe, writerFunc(func(p []byte) (int, error) {
		wireMu.Lock()
		defer wireMu.Unlock()
		return wire.Write(p)
	}))
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn := jsonrpc2.NewConn(jsonrpc2.NewStream(procConn{tee, stdin}))
	diags := make(chan protocol.PublishDiagnosticsParams, 10)
	conn.Go(ctx, jsonrpc2.AsyncHandler(func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		if req.Method() == protocol.MethodTextDocumentPublishDiagnostics {
			var p protocol.PublishDiagnosticsParams
			_ = json.Unmarshal(req.Params(), &p)
			diags <- p
		}
		return reply(ctx, nil, nil)
	}))

	var init map[string]interface{}
	if _, err := conn.Call(ctx, "initialize", map[string]interface{}{"processId": os.Getpid(), "rootUri": "file://" + dir, "capabilities": map[string]interface{}{}}, &init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	t.Logf("start → initialize reply: %s (includes process start)", time.Since(start))
	_ = conn.Notify(ctx, "initialized", map[string]interface{}{})
	u := "file://" + filepath.Join(dir, "t.cmdt")
	_ = conn.Notify(ctx, "textDocument/didOpen", map[string]interface{}{"textDocument": map[string]interface{}{
		"uri": u, "languageId": "cmdt", "version": 1, "text": "$ echo hi\n1 hi\n\n? 3\n"}})
	select {
	case p := <-diags:
		if len(p.Diagnostics) != 1 || p.Diagnostics[0].Code != "output-outside-command" {
			t.Fatalf("diagnostics = %+v", p.Diagnostics)
		}
	case <-ctx.Done():
		t.Fatal("no diagnostics")
	}
	var hover protocol.Hover
	if _, err := conn.Call(ctx, "textDocument/hover", map[string]interface{}{"textDocument": map[string]string{"uri": u}, "position": map[string]int{"line": 0, "character": 0}}, &hover); err != nil || !strings.Contains(hover.Contents.Value, "shell command") {
		t.Fatalf("hover: %+v, %v", hover, err)
	}
	if _, err := conn.Call(ctx, "shutdown", nil, nil); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	_ = conn.Notify(ctx, "exit", nil)
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("exit status: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		t.Fatal("server did not exit after shutdown+exit")
	}
	if !strings.Contains(stderr.String(), "initialized") {
		t.Errorf("no logs on stderr:\n%s", stderr.String())
	}
	// stdout: only Content-Length frames of JSON.
	wireMu.Lock()
	defer wireMu.Unlock()
	rest := wire.Bytes()
	for len(rest) > 0 {
		var n int
		hdr, body, ok := bytes.Cut(rest, []byte("\r\n\r\n"))
		if !ok {
			t.Fatalf("stdout has non-frame bytes: %q", rest)
		}
		if _, err := fmt.Sscanf(string(hdr), "Content-Length: %d", &n); err != nil || n > len(body) || !json.Valid(body[:n]) {
			t.Fatalf("bad frame on stdout: header %q", hdr)
		}
		rest = body[n:]
	}
}

func TestExitWithoutShutdownStatus(t *testing.T) {
	bin := buildServer(t)
	cmd := exec.Command(bin)
	cmd.Stdin = strings.NewReader("Content-Length: 33\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}")
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit without shutdown: %v, want exit status 1", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
