//go:build linux

package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/trace"
	"github.com/cmdt-dev/cmdt/parser"
)

// traceModes are the --trace settings every orphan probe runs under; a
// new backend is one more line. Unavailable ones are skipped.
var traceModes = []string{"off", "ptrace", "ebpf"}

// TestNoOrphansLeft (issue 18): whatever a transcript starts dies with
// it — programs that leave their process group with setsid and ignore
// SIGTERM, on a timeout and after a normal end, in every trace mode.
func TestNoOrphansLeft(t *testing.T) {
	cases := []struct {
		name, script string
		timeout      time.Duration
	}{
		// The probe: setsid -w waits for its child, so the command
		// is still running when the timeout kills it.
		{"timeout, setsid -w, TERM ignored", `setsid -w sh -c 'trap "" TERM; sleep MARK'`, time.Second},
		// A daemon: the command starts it in a new session, waits until it
		// runs, and returns; the daemon is re-parented to the engine.
		{"setsid daemon, normal end", `sh -c 'setsid sh -c "trap \"\" TERM; touch ready; exec sleep MARK" >/dev/null 2>&1 </dev/null & while [ ! -e ready ]; do sleep 0.01; done'`, 0},
		// Double fork: the intermediate subshell exits at once.
		{"double fork into a new session", `sh -c '(setsid sh -c "touch ready; exec sleep MARK" >/dev/null 2>&1 </dev/null &); while [ ! -e ready ]; do sleep 0.01; done'`, 0},
	}
	for _, mode := range traceModes {
		t.Run(mode, func(t *testing.T) {
			launcher, _, err := trace.NewLauncher(mode, nil)
			if err != nil {
				t.Skipf("trace=%s unavailable here: %v", mode, err)
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					mark := fmt.Sprintf("%d.%06d", 900+rand.Intn(99), rand.Intn(1e6))
					src := "$ " + string(bytes.ReplaceAll([]byte(c.script), []byte("MARK"), []byte(mark))) + "\n"
					dir := t.TempDir()
					path := filepath.Join(dir, "t.cmdt")
					if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { killMarked(mark) })
					f := parser.Parse(path, []byte(src))
					if _, err := engine.Run(context.Background(), f, engine.Options{Timeout: c.timeout, Launcher: launcher, Dir: dir}); err != nil {
						t.Fatal(err)
					}
					if left := marked(mark); len(left) > 0 {
						t.Fatalf("processes left running after the run: %v", left)
					}
				})
			}
		})
	}
}

// marked lists live (not zombie) processes whose command line has mark.
func marked(mark string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(mark)) {
			out = append(out, e.Name()+" "+string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		}
	}
	return out
}

// killMarked cleans up after a failed test, by pid.
func killMarked(mark string) {
	for _, p := range marked(mark) {
		var pid int
		fmt.Sscan(p, &pid)
		if pid > 1 {
			if proc, err := os.FindProcess(pid); err == nil {
				proc.Kill()
			}
		}
	}
}

// TestEscapeeLivesUntilTheSessionEnds: a process that left its command's
// group outlives its block (it is killed when the session ends, not when
// its command does): a later block of the same transcript still sees it.
// A command that ended normally must not have its tree killed when its
// block's context is cancelled at the block's end.
func TestEscapeeLivesUntilTheSessionEnds(t *testing.T) {
	mark := fmt.Sprintf("%d.%06d", 900+rand.Intn(99), rand.Intn(1e6))
	t.Cleanup(func() { killMarked(mark) })
	var src bytes.Buffer
	fmt.Fprintf(&src, "$ sh -c 'setsid sh -c \"echo \\$\\$ >pid; exec sleep %s\" >/dev/null 2>&1 </dev/null & while [ ! -s pid ]; do sleep 0.01; done'\n", mark)
	for range 20 {
		// Each block ends (and cancels its context) while the escapee runs.
		src.WriteString("$ /bin/true\n")
	}
	src.WriteString("$ sleep 0.1; sh -c 'kill -0 $(cat pid)' && echo alive\n1 alive\n")
	res := runUntraced(t, src.String())
	for _, c := range res.Failures() {
		t.Fatalf("the escapee died before its session ended: line %d: %v, stdout %q, stderr %q",
			c.Block.Command.Num, c.Failure, c.Stdout, c.Stderr)
	}
	if left := marked(mark); len(left) > 0 {
		t.Fatalf("processes left running after the run: %v", left)
	}
}

// TestOneProcessScanPerSession: a /proc scan reads every process of the
// machine (0.4 ms with 70 processes, several with hundreds). A session
// pays one, at its end; a command that ends normally pays none, although
// its block's end cancels the context its kill-on-timeout waits on.
func TestOneProcessScanPerSession(t *testing.T) {
	before := engine.ProcScans()
	runUntraced(t, strings.Repeat("$ /bin/true\n", 40))
	// Goroutines waiting to kill a timed-out command may still be looking.
	time.Sleep(50 * time.Millisecond)
	if n := engine.ProcScans() - before; n > 1 {
		t.Errorf("%d /proc scans for one session of 40 commands, want at most 1", n)
	}
}

// runUntraced runs transcript src, written in a fresh directory, with
// --trace=off.
func runUntraced(t *testing.T, src string) *engine.Result {
	t.Helper()
	launcher, _, err := trace.NewLauncher("off", nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "t.cmdt")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := engine.Run(context.Background(), parser.Parse(path, []byte(src)), engine.Options{Launcher: launcher, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return res
}
