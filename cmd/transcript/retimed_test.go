package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/engine/trace"
)

// TestRetimedInputChangedDuringTheRun is the other side of the corpus's
// re-timing cases (go build finding app up to date and only re-timing it):
// a pass is still not cached when anything but the run's own
// attribute-only calls changed such a file while it ran. Through the real
// binary, in every trace mode, with app up to date before each check:
//
//   - nothing else touches app: cached where the backend sees the calls'
//     exits (ptrace), else not, as documented;
//   - another process rewrites app with the same bytes, and puts its
//     modification time back, while the transcript waits: not cached;
//   - a traced program appends to app (an open without truncation, which
//     is no write of a file that was there before): not cached.
func TestRetimedInputChangedDuringTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs go build")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not installed")
	}
	bin := filepath.Join(buildBinary(t), "transcript")
	gocache := corpusGoCache()
	for _, mode := range corpusModes(t) {
		if mode == "off" {
			continue // untraced, a binary go build touches is never cached
		}
		t.Run(mode, func(t *testing.T) {
			r := newRetimeModule(t, bin, mode, gocache)
			const run = "$ go build -o app . && ./app\n1 hi\n"

			// Alone: go build only re-times app.
			r.goBuild()
			r.writeTranscript(run + "$ until [ -e \"$GO\" ]; do sleep 0.01; done\n")
			r.touchGo()
			line := r.check()
			switch {
			case mode == "auto" && multigrainTemp():
				// auto traces a process's first programs with ptrace while
				// its eBPF programs load: cached when ptrace saw the
				// re-timing, else not, as under eBPF. Either is sound.
				if strings.Contains(line, "not cached") && !strings.Contains(line, "app changed during the run") {
					t.Fatalf("app only re-timed by go build: want cached or app changed during the run, got %s", line)
				}
			case seesRetiming(mode) && strings.Contains(line, "not cached"):
				t.Fatalf("app only re-timed by go build: want the pass cached, got %s", line)
			case !seesRetiming(mode) && !strings.Contains(line, "app changed during the run"):
				t.Fatalf("this backend sees no call's exit: want app changed during the run, got %s", line)
			}

			// Rewritten from outside (same bytes, mtime put back) while
			// the transcript waits after go build re-timed it.
			r.goBuild()
			r.writeTranscript("# rewritten from outside\n" + run + "$ touch \"$READY\" && until [ -e \"$GO\" ]; do sleep 0.01; done\n")
			done := r.checkAsync()
			r.waitReady()
			app := r.path("app")
			data, err := os.ReadFile(app)
			if err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(app)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(app, data, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(app, st.ModTime(), st.ModTime()); err != nil {
				t.Fatal(err)
			}
			r.touchGo()
			if line := <-done; !strings.Contains(line, "app changed during the run") {
				t.Errorf("app rewritten from outside during the run: want not cached (app changed during the run), got %s", line)
			}

			// Appended to by a traced program after go build re-timed it.
			if backendOf(mode) == "ebpf" && !birthTimesTemp() {
				t.Log("no birth times here: under eBPF the append's open is a write, and app the run's output (docs/tracing.md)")
				return
			}
			r.goBuild()
			r.writeTranscript("# appended to\n$ go build -o app . && ./app && sh -c 'printf \"\\n\" >> app'\n1 hi\n")
			if line := r.check(); !strings.Contains(line, "app changed during the run") {
				t.Errorf("app appended to by a traced program: want not cached (app changed during the run), got %s", line)
			}
		})
	}
}

// retimeModule is a throwaway Go module with a transcript, checked in one
// trace mode.
type retimeModule struct {
	t             *testing.T
	bin, mode     string
	root          string
	env           []string
	ready, goFile string
}

func newRetimeModule(t *testing.T, bin, mode, gocache string) *retimeModule {
	root, tmp, home := t.TempDir(), t.TempDir(), t.TempDir()
	r := &retimeModule{t: t, bin: bin, mode: mode, root: root,
		ready: filepath.Join(tmp, "ready"), goFile: filepath.Join(tmp, "go")}
	r.env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + tmp, "LANG=C.UTF-8",
		"GOCACHE=" + gocache, "GOPATH=" + filepath.Join(home, "go"), "GOTOOLCHAIN=local", "GOPROXY=off", "GOFLAGS=",
		"CMDT_CACHE_DIR=" + filepath.Join(tmp, "cmdt-cache"), "READY=" + r.ready, "GO=" + r.goFile,
	}
	for name, content := range map[string]string{
		"go.mod":  "module example.com/retime\n\ngo 1.22\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi\") }\n",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (r *retimeModule) path(rel string) string { return filepath.Join(r.root, rel) }

func (r *retimeModule) writeTranscript(text string) {
	r.t.Helper()
	if err := os.WriteFile(r.path("t.cmdt"), []byte(text), 0o644); err != nil {
		r.t.Fatal(err)
	}
	os.Remove(r.ready)
	os.Remove(r.goFile)
}

// goBuild brings app up to date from outside the check, so that the
// transcript's go build only re-times it.
func (r *retimeModule) goBuild() {
	r.t.Helper()
	cmd := exec.Command("go", "build", "-o", "app", ".")
	cmd.Dir, cmd.Env = r.root, r.env
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("go build: %v\n%s", err, out)
	}
}

func (r *retimeModule) touchGo() {
	r.t.Helper()
	if err := os.WriteFile(r.goFile, nil, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// checkAsync starts `transcript check` and sends its line for t.cmdt.
func (r *retimeModule) checkAsync() <-chan string {
	cmd := exec.Command(r.bin, "check", "--trace="+r.mode, "t.cmdt")
	cmd.Dir, cmd.Env = r.root, r.env
	done := make(chan string, 1)
	go func() {
		out, _ := cmd.CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "t.cmdt") && (strings.HasPrefix(l, "ok") || strings.HasPrefix(l, "FAIL") || strings.HasPrefix(l, "ERROR")) {
				done <- l
				return
			}
		}
		done <- "no line for t.cmdt in:\n" + string(out)
	}()
	return done
}

func (r *retimeModule) check() string {
	r.t.Helper()
	line := <-r.checkAsync()
	if !strings.HasPrefix(line, "ok") {
		r.t.Fatalf("check: %s", line)
	}
	return line
}

// waitReady waits for the transcript to say it is past go build.
func (r *retimeModule) waitReady() {
	r.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(r.ready); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.touchGo() // let the transcript end
	r.t.Fatal("the transcript never got past go build")
}

// The go-build-run transcript, and the same with its text edited: a
// re-run with app already built from the unchanged main.go.
const (
	goBuildRun       = "$ go build -o app . && ./app\n1 built, then run\n"
	goBuildRunEdited = "# edited: app is up to date, go build only re-times it\n" + goBuildRun
)

// backendOf is the tracer mode runs with: auto's choice, or mode itself.
func backendOf(mode string) string {
	if mode == "auto" {
		b, _ := trace.SelectBackend("auto")
		return b.Name
	}
	return mode
}

// blindIn says why, in mode, a relevant mutation cannot re-run its
// transcript (a documented hazard, logged, not a false hit), or "":
// --trace=off sees no subprocess's reads; and under eBPF, on a file system
// without birth times (ramfs), touch's open of src.c counts as a write, so
// src.c is the run's output (docs/tracing.md).
func blindIn(mode string, m mutation) string {
	switch {
	case mode == "off" && m.blindUntraced:
		return "only tracing sees that input"
	case m.transcript == "make-touch" && backendOf(mode) == "ebpf" && !birthTimesTemp():
		return "under eBPF without birth times, touch's open is a write"
	}
	return ""
}

// birthTimesTemp reports whether the temporary directory's file system
// keeps birth times (statx STATX_BTIME).
var birthTimesTemp = sync.OnceValue(func() bool {
	var stx unix.Statx_t
	return unix.Statx(unix.AT_FDCWD, os.TempDir(), 0, unix.STATX_BTIME, &stx) == nil && stx.Mask&unix.STATX_BTIME != 0
})

// seesRetiming reports whether, in mode, a pass that only re-timed or
// re-moded an input is cached: the tracer reports attribute-only calls
// (utimensat, chmod) with the file's state at their entry and exit (the
// ptrace backend only), and the temporary directory, where the tests keep
// their modules and caches, has multigrain timestamps (Linux 6.13+ on
// ext4, xfs, btrfs, tmpfs; docs/caching.md, Limits).
func seesRetiming(mode string) bool {
	return backendOf(mode) == "ptrace" && multigrainTemp()
}

var multigrainTemp = sync.OnceValue(func() bool { return cache.MultigrainTimestamps(os.TempDir()) })

// documentedUncacheable says why, in mode, a transcript's passes are not
// cached (a documented limit), or "" when they must be.
func documentedUncacheable(mode, dir string) string {
	switch {
	case mode == "off" && dir == "go-build-run":
		// Only tracing tells the binary go build wrote from an input
		// changed while the transcript ran.
		return "a binary it builds and then runs looks like an input changed during the run"
	case mode == "off" && dir == "chmod-script":
		return "the script it re-modes and runs is an input changed during the run (no tracer saw the chmod)"
	case mode != "off" && !seesRetiming(mode) && (dir == "make-touch" || dir == "chmod-script"):
		return "an input the run re-times or re-modes: this backend sees no call's exit, or the file system has no multigrain timestamps"
	}
	return ""
}

// checkCachedAfter checks, for the round's mutations marked cachedAfter,
// that the pass each caused (got) was cached: the next check serves it.
// Where mode sees no attribute-only call, a pass that only re-timed an
// input is not cached, as documented; that is logged.
func (c *corpus) checkCachedAfter(round []mutation, got map[string]outcome, row *corpusRow) {
	c.t.Helper()
	var dirs []string
	for _, m := range round {
		if m.cachedAfter && documentedUncacheable(c.mode, m.transcript) == "" {
			dirs = append(dirs, m.transcript)
		}
	}
	if len(dirs) == 0 {
		return
	}
	again, _ := c.check()
	for _, dir := range dirs {
		o := again[dir]
		switch {
		case o.cached:
			row.retimedCached++
			row.retimed++
		case !seesRetiming(c.mode) && c.mode != "off":
			c.t.Logf("%s: documented limit: the pass of %s that re-timed an input was not cached: %s", c.mode, dir, got[dir].line)
		default:
			row.retimed++
			c.t.Errorf("%s: %s: the pass after the mutation was not cached (%s), and the next check re-ran it: %s", c.mode, dir, got[dir].line, o.line)
		}
	}
}
