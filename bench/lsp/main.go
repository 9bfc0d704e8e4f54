// Command lsp benchmarks the cmdt-lsp binary from the outside, as an
// editor sees it: start → initialize reply, didChange → publishDiagnostics
// on a 10,000-line transcript (server side, from the server's debug log,
// and client side), and resident memory with 100 open documents.
//
// Usage:
//
//	go run ./bench/lsp [-server PATH] [-edits N] [-docs N] [-doc-lines N]
//
// Without -server it builds ./cmd/cmdt-lsp first. It prints one line per
// measurement with its target.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"
)

var (
	serverPath = flag.String("server", "", "cmdt-lsp binary (default: build ./cmd/cmdt-lsp)")
	edits      = flag.Int("edits", 300, "didChange edits on the 10,000-line transcript")
	docs       = flag.Int("docs", 100, "documents to open for the memory measurement")
	docLines   = flag.Int("doc-lines", 1000, "lines per document for the memory measurement")
	startups   = flag.Int("startups", 20, "server starts for the start → initialize measurement")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/lsp:", err)
		os.Exit(1)
	}
}

func run() error {
	work, err := os.MkdirTemp("", "cmdt-lsp-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := *serverPath
	if bin == "" {
		bin = filepath.Join(work, "cmdt-lsp")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/cmdt-lsp").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %w\n%s", err, out)
		}
	}
	ws := filepath.Join(work, "ws")
	for name, content := range map[string]string{"go.mod": "module bench\n", "fixtures/input.txt": "alpha\n", "fixtures/data.json": "{}\n"} {
		p := filepath.Join(ws, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	if err := benchStartup(bin, ws); err != nil {
		return err
	}
	if err := benchDidChange(bin, ws); err != nil {
		return err
	}
	return benchMemory(bin, ws)
}

// session is one running server with a jsonrpc2 client.
type session struct {
	cmd      *exec.Cmd
	conn     jsonrpc2.Conn
	mu       sync.Mutex
	versions map[string]int32 // latest published version per URI
	cond     *sync.Cond
	serverUS []int64 // server-side latencies from the debug log
	logDone  chan struct{}
}

type pipeRWC struct {
	io.Reader
	io.WriteCloser
}

func start(bin, ws string) (*session, time.Time, error) {
	cmd := exec.Command(bin, "-log-level", "debug")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	s := &session{cmd: cmd, versions: map[string]int32{}, logDone: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, t0, err
	}
	go s.readLog(stderr)
	s.conn = jsonrpc2.NewConn(jsonrpc2.NewStream(pipeRWC{stdout, stdin}))
	s.conn.Go(context.Background(), jsonrpc2.AsyncHandler(func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		if req.Method() == "textDocument/publishDiagnostics" {
			var p struct {
				URI     string `json:"uri"`
				Version int32  `json:"version"`
			}
			_ = json.Unmarshal(req.Params(), &p)
			s.mu.Lock()
			s.versions[p.URI] = p.Version
			s.cond.Broadcast()
			s.mu.Unlock()
		}
		return reply(ctx, nil, nil)
	}))
	return s, t0, nil
}

// readLog collects "published diagnostics ... latency_us=N" lines.
func (s *session) readLog(r io.Reader) {
	defer close(s.logDone)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "published diagnostics") {
			continue
		}
		if i := strings.Index(line, "latency_us="); i >= 0 {
			if n, err := strconv.ParseInt(strings.Fields(line[i+len("latency_us="):])[0], 10, 64); err == nil {
				s.mu.Lock()
				s.serverUS = append(s.serverUS, n)
				s.mu.Unlock()
			}
		}
	}
}

func (s *session) call(method string, params, result interface{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.conn.Call(ctx, method, params, result)
	return err
}

func (s *session) notify(method string, params interface{}) error {
	return s.conn.Notify(context.Background(), method, params)
}

func (s *session) initialize(ws string) error {
	return s.call("initialize", map[string]interface{}{"processId": os.Getpid(), "rootUri": "file://" + ws, "capabilities": map[string]interface{}{}}, nil)
}

// waitVersion waits until diagnostics for uri reach version.
func (s *session) waitVersion(uri string, v int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.versions[uri] < v {
		s.cond.Wait()
	}
}

func (s *session) stop() {
	_ = s.call("shutdown", nil, nil)
	_ = s.notify("exit", nil)
	_ = s.cmd.Wait()
	<-s.logDone
}

func benchStartup(bin, ws string) error {
	var ds []time.Duration
	for i := 0; i < *startups; i++ {
		s, t0, err := start(bin, ws)
		if err != nil {
			return err
		}
		if err := s.initialize(ws); err != nil {
			return fmt.Errorf("initialize: %w", err)
		}
		ds = append(ds, time.Since(t0))
		s.stop()
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	fmt.Printf("start → initialize reply (process start included), %d runs: p50 %s, max %s (target ≤ 50ms)\n", len(ds), ds[len(ds)/2].Round(10*time.Microsecond), ds[len(ds)-1].Round(10*time.Microsecond))
	return nil
}

// genTranscript mirrors lsp/bench_test.go's generator.
func genTranscript(n int, tag string) string {
	var b strings.Builder
	b.WriteString("# generated benchmark transcript\n% dep file fixtures/input.txt\n% dep glob fixtures/*.json\n% dep env HOME\n\n")
	lines := 5
	for i := 0; lines < n; i++ {
		fmt.Fprintf(&b, "# step %d: exercise the tool\n", i)
		fmt.Fprintf(&b, "$ cat fixtures/input.txt | grep -c alpha\n1 1\n")
		fmt.Fprintf(&b, "$ echo \"value %d\" > out_%d.txt && wc -l out_%d.txt\n1 1 out_%d.txt\n", i, i, i, i)
		fmt.Fprintf(&b, "$ ./tool --name %s%d \\\n> --verbose fixtures/data.json\n2 warning: %s%d is deprecated\n1 {\"id\": %d, \"ok\": true}\n? 1\n\n", tag, i, tag, i, i)
		lines += 11
	}
	return b.String()
}

func open(s *session, uri, text string) error {
	return s.notify("textDocument/didOpen", map[string]interface{}{"textDocument": map[string]interface{}{"uri": uri, "languageId": "cmdt", "version": 1, "text": text}})
}

func benchDidChange(bin, ws string) error {
	s, _, err := start(bin, ws)
	if err != nil {
		return err
	}
	defer s.stop()
	if err := s.initialize(ws); err != nil {
		return err
	}
	uri := "file://" + filepath.Join(ws, "big.cmdt")
	text := genTranscript(10000, "item")
	nlines := strings.Count(text, "\n")
	if err := open(s, uri, text); err != nil {
		return err
	}
	s.waitVersion(uri, 1)
	s.mu.Lock()
	s.serverUS = nil
	s.mu.Unlock()
	var client []time.Duration
	for i := 0; i < *edits; i++ {
		v := int32(i + 2)
		line := (i * 7919) % nlines
		t0 := time.Now()
		err := s.notify("textDocument/didChange", map[string]interface{}{
			"textDocument":   map[string]interface{}{"uri": uri, "version": v},
			"contentChanges": []interface{}{map[string]interface{}{"range": map[string]interface{}{"start": map[string]int{"line": line, "character": 1000}, "end": map[string]int{"line": line, "character": 1000}}, "text": "x"}},
		})
		if err != nil {
			return err
		}
		s.waitVersion(uri, v)
		client = append(client, time.Since(t0))
	}
	time.Sleep(100 * time.Millisecond) // let the last log lines arrive
	s.mu.Lock()
	server := make([]time.Duration, len(s.serverUS))
	for i, us := range s.serverUS {
		server[i] = time.Duration(us) * time.Microsecond
	}
	s.mu.Unlock()
	report := func(what string, ds []time.Duration, targets string) {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		if len(ds) == 0 {
			fmt.Printf("%s: no samples\n", what)
			return
		}
		fmt.Printf("%s, %d edits on %d lines: p50 %s, p99 %s%s\n", what, len(ds), nlines, ds[len(ds)/2].Round(10*time.Microsecond), ds[len(ds)*99/100].Round(10*time.Microsecond), targets)
	}
	report("didChange → publishDiagnostics, server side", server, " (targets p50 ≤ 5ms, p99 ≤ 20ms)")
	report("didChange → publishDiagnostics, client side (framing, pipes, JSON both ways)", client, "")
	return nil
}

func benchMemory(bin, ws string) error {
	s, _, err := start(bin, ws)
	if err != nil {
		return err
	}
	defer s.stop()
	if err := s.initialize(ws); err != nil {
		return err
	}
	var total int
	for i := 0; i < *docs; i++ {
		uri := fmt.Sprintf("file://%s/doc%03d.cmdt", ws, i)
		text := genTranscript(*docLines, fmt.Sprintf("d%d-", i))
		total += len(text)
		if err := open(s, uri, text); err != nil {
			return err
		}
		s.waitVersion(uri, 1)
	}
	time.Sleep(200 * time.Millisecond)
	rss, hwm := procMem(s.cmd.Process.Pid)
	fmt.Printf("%d open documents of %d lines (%.1f MB of text): RSS %.1f MB, peak %.1f MB (target ≤ 100 MB)\n", *docs, *docLines, float64(total)/(1<<20), rss, hwm)
	return nil
}

// procMem reads VmRSS and VmHWM (MB) from /proc; zeros elsewhere.
func procMem(pid int) (rss, hwm float64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}
