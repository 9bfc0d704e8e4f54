package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cmdt-dev/cmdt/engine/trace"
)

// The watch tests run `transcript check --watch --json` as a real process
// on real files and follow its events. They wait on events (a generous
// ceiling, never a timing assertion) and check which transcripts ran.

var (
	buildOnce sync.Once
	builtBin  string
	buildDir  string
	buildErr  error
)

// TestMain removes the binary transcriptBin built.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// transcriptBin builds the CLI once for the package's tests.
func transcriptBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "transcript-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildDir = dir
		builtBin = filepath.Join(dir, "transcript")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			builtBin = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, builtBin)
	}
	return builtBin
}

// testEvent is what the tests read of a watch event (schema: testEvent).
type testEvent struct {
	Event   string   `json:"event"`
	Round   int      `json:"round"`
	Removed []string `json:"removed"`
	File    struct {
		Path    string   `json:"path"`
		Status  string   `json:"status"`
		Reasons []string `json:"rerunReasons"`
	} `json:"file"`
}

// watchProc is a running `check --watch --json`.
type watchProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	events chan testEvent
	schema *jsonschema.Schema
	done   chan struct{}
	stderr *strings.Builder
}

func startWatch(t *testing.T, dir string, extra ...string) *watchProc {
	t.Helper()
	args := append([]string{"check", "--watch", "--json", "--cache-dir", filepath.Join(t.TempDir(), "cache")}, extra...)
	cmd := exec.Command(transcriptBin(t), args...)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &watchProc{t: t, cmd: cmd, events: make(chan testEvent, 1000), done: make(chan struct{}), stderr: &strings.Builder{},
		schema: compileSchema(t)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			validate(t, p.schema, "watch event", "watch", append([]byte(nil), sc.Bytes()...))
			var ev testEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Errorf("bad event line %q: %v", sc.Text(), err)
				continue
			}
			p.events <- ev
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		_ = cmd.Wait()
	})
	return p
}

// round waits for the next round and returns what ran (path → event)
// and what was removed.
func (p *watchProc) round() (ran map[string]testEvent, removed []string) {
	p.t.Helper()
	ran = map[string]testEvent{}
	deadline := time.After(60 * time.Second)
	for {
		select {
		case ev := <-p.events:
			switch ev.Event {
			case "change":
				removed = append(removed, ev.Removed...)
			case "result":
				ran[ev.File.Path] = ev
			case "run":
				return ran, removed
			}
		case <-p.done:
			p.t.Fatalf("watch exited early; stderr:\n%s", p.stderr.String())
		case <-deadline:
			p.t.Fatalf("no round within 60 s; stderr:\n%s", p.stderr.String())
		}
	}
}

// quiet asserts that no event comes for d.
func (p *watchProc) quiet(d time.Duration) {
	p.t.Helper()
	select {
	case ev := <-p.events:
		p.t.Fatalf("unexpected event while idle: %+v", ev)
	case <-time.After(d):
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// saveAtomically saves the way editors do: a temporary file renamed over
// the original.
func saveAtomically(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".tmp~"
	writeFile(t, tmp, text)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func keys(m map[string]testEvent) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func wantRan(t *testing.T, ran map[string]testEvent, want ...string) {
	t.Helper()
	if len(ran) != len(want) {
		t.Fatalf("ran %v, want exactly %v", keys(ran), want)
	}
	for _, w := range want {
		if _, ok := ran[w]; !ok {
			t.Fatalf("ran %v, want exactly %v", keys(ran), want)
		}
	}
}

func watchModule(t *testing.T) string {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/w\n")
	writeFile(t, filepath.Join(dir, "testdata/in.txt"), "hello\n")
	writeFile(t, filepath.Join(dir, "a.cmdt"), "% dep file testdata/in.txt\n$ cat testdata/in.txt\n1 hello\n")
	writeFile(t, filepath.Join(dir, "b.cmdt"), "$ echo b\n1 b\n")
	writeFile(t, filepath.Join(dir, "sub/c.cmdt"), "$ echo c\n1 c\n")
	return dir
}

func TestWatchRerunsExactlyTheAffected(t *testing.T) {
	dir := watchModule(t)
	p := startWatch(t, dir)
	ran, _ := p.round()
	wantRan(t, ran, "a.cmdt", "b.cmdt", filepath.Join("sub", "c.cmdt"))

	// A declared input, saved atomically: only its transcript, with why.
	saveAtomically(t, filepath.Join(dir, "testdata/in.txt"), "bye\n")
	ran, _ = p.round()
	wantRan(t, ran, "a.cmdt")
	if ev := ran["a.cmdt"]; ev.File.Status != "fail" || strings.Join(ev.File.Reasons, ",") != "testdata/in.txt changed" {
		t.Fatalf("a.cmdt: %+v, want a failure because testdata/in.txt changed", ev)
	}

	// Back as it was: passes again (a manifest recorded before).
	writeFile(t, filepath.Join(dir, "testdata/in.txt"), "hello\n")
	ran, _ = p.round()
	wantRan(t, ran, "a.cmdt")
	if ran["a.cmdt"].File.Status != "pass" {
		t.Fatalf("a.cmdt: %+v, want pass", ran["a.cmdt"])
	}

	// A transcript's own text.
	writeFile(t, filepath.Join(dir, "b.cmdt"), "$ echo b\n1 b\n\n$ echo bb\n1 bb\n")
	ran, _ = p.round()
	wantRan(t, ran, "b.cmdt")

	// A new transcript in a new directory.
	writeFile(t, filepath.Join(dir, "new/deep/d.cmdt"), "$ echo d\n1 d\n")
	ran, _ = p.round()
	wantRan(t, ran, filepath.Join("new", "deep", "d.cmdt"))
	if r := ran[filepath.Join("new", "deep", "d.cmdt")].File.Reasons; len(r) != 1 || r[0] != "new transcript" {
		t.Fatalf("reasons %v, want [new transcript]", r)
	}

	// A deleted transcript leaves; nothing runs.
	if err := os.Remove(filepath.Join(dir, "sub/c.cmdt")); err != nil {
		t.Fatal(err)
	}
	ran, removed := p.round()
	wantRan(t, ran)
	if len(removed) != 1 || removed[0] != filepath.Join("sub", "c.cmdt") {
		t.Fatalf("removed %v, want [sub/c.cmdt]", removed)
	}

	// A file nothing depends on: no round at all.
	writeFile(t, filepath.Join(dir, "unrelated.txt"), "x\n")
	p.quiet(1500 * time.Millisecond)
}

func TestWatchTracedUndeclaredInput(t *testing.T) {
	if err := trace.Available(); err != nil {
		t.Skipf("tracing unavailable: %v", err)
	}
	dir := watchModule(t)
	writeFile(t, filepath.Join(dir, "data/fixture.txt"), "one\n")
	// No declaration: only the tracer knows cat read it.
	writeFile(t, filepath.Join(dir, "e.cmdt"), "$ cat data/fixture.txt\n1 one\n")
	p := startWatch(t, dir, "--trace", "on")
	p.round()
	writeFile(t, filepath.Join(dir, "data/fixture.txt"), "two\n")
	ran, _ := p.round()
	wantRan(t, ran, "e.cmdt")
	if r := strings.Join(ran["e.cmdt"].File.Reasons, ","); r != "data/fixture.txt changed" {
		t.Fatalf("reasons %q, want data/fixture.txt changed", r)
	}
}

// cpuTicks is the process's user+system CPU time in clock ticks, from
// /proc/PID/stat.
func cpuTicks(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// Fields 14 and 15 of stat (utime, stime), counted after the name.
	u, _ := strconv.ParseInt(fields[11], 10, 64)
	k, _ := strconv.ParseInt(fields[12], 10, 64)
	return u + k
}

func TestWatchIdle(t *testing.T) {
	dir := watchModule(t)
	p := startWatch(t, dir)
	p.round()
	// The round's end is printed before its bookkeeping (cache records, a
	// GC cycle) is done; under load that tail can take a few ticks. Idle
	// starts once it is over.
	p.quiet(time.Second)
	before := cpuTicks(t, p.cmd.Process.Pid)
	p.quiet(5 * time.Second)
	used := cpuTicks(t, p.cmd.Process.Pid) - before
	// 1% of 5 s is 50 ms: 5 ticks at the usual 100 Hz.
	if used >= 5 {
		t.Fatalf("idle for 5 s, the process used %d clock ticks of CPU (≥ 1%%)", used)
	}
}

func TestWatchInterruptKillsCommands(t *testing.T) {
	dir := watchModule(t)
	marker := filepath.Join(dir, "pid")
	writeFile(t, filepath.Join(dir, "slow.cmdt"), "$ sh -c 'echo $$ > pid.tmp && mv pid.tmp pid && exec sleep 300'\n")
	p := startWatch(t, dir)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow transcript never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, err := os.ReadFile(marker)
	if err != nil {
		t.Fatal(err)
	}
	sleeper, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	<-p.done
	err = p.cmd.Wait()
	var code int
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 130 {
		t.Fatalf("exit status %d (%v), want 130; stderr:\n%s", code, err, p.stderr.String())
	}
	// The kill is synchronous with the run's end; give the kernel a moment
	// to reap.
	for i := 0; i < 100; i++ {
		if syscall.Kill(sleeper, 0) != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(sleeper) + "/stat"); err == nil && !strings.Contains(string(b), ") Z ") {
		t.Fatalf("sleep 300 (pid %d) outlived the watch", sleeper)
	}
}

// An input that does not exist yet, in a directory that does not exist
// yet: created together (mkdir -p && write), faster than the new
// directory's watch is in place.
func TestWatchInputInNewDirectory(t *testing.T) {
	dir := watchModule(t)
	writeFile(t, filepath.Join(dir, "gen.cmdt"), "% dep file gen/out.txt\n$ test -e gen/out.txt || echo none\n1 none\n")
	p := startWatch(t, dir)
	p.round()
	writeFile(t, filepath.Join(dir, "gen/deeper/x.txt"), "x\n")
	writeFile(t, filepath.Join(dir, "gen/out.txt"), "made\n")
	ran, _ := p.round()
	wantRan(t, ran, "gen.cmdt")
	if ev := ran["gen.cmdt"]; ev.File.Status != "fail" || strings.Join(ev.File.Reasons, ",") != "gen/out.txt created" {
		t.Fatalf("gen.cmdt: %+v, want a failure because gen/out.txt was created", ev.File)
	}
}

// An input outside the watched tree is not watched: each round checks it
// with a stat, so its change shows with the next change inside the tree.
func TestWatchOutsideInputCheckedPerRound(t *testing.T) {
	dir := watchModule(t)
	outside := filepath.Join(t.TempDir(), "tool.conf")
	writeFile(t, outside, "v1\n")
	writeFile(t, filepath.Join(dir, "o.cmdt"), "% dep file "+outside+"\n$ cat "+outside+"\n1 v1\n")
	p := startWatch(t, dir)
	p.round()
	writeFile(t, outside, "v2\n")
	p.quiet(time.Second) // not watched: no round by itself
	writeFile(t, filepath.Join(dir, "unrelated.txt"), "x\n")
	ran, _ := p.round()
	wantRan(t, ran, "o.cmdt")
	if r := strings.Join(ran["o.cmdt"].File.Reasons, ","); r != outside+" changed" {
		t.Fatalf("reasons %q, want %s changed", r, outside)
	}
}

// textWatch runs `check --watch` without --json, through `script` (a
// pseudo-terminal) when tty is set, and returns a function giving the
// output so far.
func textWatch(t *testing.T, dir string, tty bool) func() string {
	t.Helper()
	bin := transcriptBin(t)
	cache := filepath.Join(t.TempDir(), "cache")
	var cmd *exec.Cmd
	if tty {
		if _, err := exec.LookPath("script"); err != nil {
			t.Skip("no script(1) for a pseudo-terminal")
		}
		cmd = exec.Command("script", "-qfec", bin+" check --watch --cache-dir "+cache, "/dev/null")
		cmd.Env = append(os.Environ(), "TERM=xterm", "NO_COLOR=")
	} else {
		cmd = exec.Command(bin, "check", "--watch", "--cache-dir", cache)
	}
	cmd.Dir = dir
	var mu sync.Mutex
	var out strings.Builder
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := pipe.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		if tty {
			// script passes the signal on through the terminal.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return out.String()
	}
}

func waitOutput(t *testing.T, get func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(get(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the output within 60 s:\n%s", want, get())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Without a terminal: plain lines, nothing cleared; each re-run says why.
func TestWatchPlainLines(t *testing.T) {
	dir := watchModule(t)
	get := textWatch(t, dir, false)
	waitOutput(t, get, "ran 3: 3 passed")
	writeFile(t, filepath.Join(dir, "testdata/in.txt"), "bye\n")
	waitOutput(t, get, "run   a.cmdt: testdata/in.txt changed\n")
	waitOutput(t, get, "+1 bye")
	waitOutput(t, get, "1 failing")
	if strings.Contains(get(), "\x1b[") {
		t.Fatalf("terminal escapes without a terminal:\n%q", get())
	}
	if n := strings.Count(get(), "run   "); n != 4 {
		t.Fatalf("%d runs, want 3 initial + 1:\n%s", n, get())
	}
}

// On a terminal: the screen is cleared at each round.
func TestWatchTerminalClearsEachRound(t *testing.T) {
	dir := watchModule(t)
	get := textWatch(t, dir, true)
	waitOutput(t, get, "Ctrl-C to stop")
	writeFile(t, filepath.Join(dir, "testdata/in.txt"), "bye\n")
	waitOutput(t, get, "round 1: testdata/in.txt changed")
	waitOutput(t, get, "1 failing")
	if n := strings.Count(get(), "\x1b[H\x1b[2J"); n != 2 {
		t.Fatalf("screen cleared %d times, want once per round (2):\n%q", n, get())
	}
}
