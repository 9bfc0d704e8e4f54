//go:build linux && amd64

package trace

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestUnotifyWhileCollectingGarbage starts commands with a working
// directory (Go's vfork child calls chdir, then execve) while another
// goroutine collects garbage without pause. Answering the child's execve
// from Go hangs the process within seconds under this load: the world
// cannot stop while the forking thread waits for its child, and the child
// waits for a goroutine that cannot run while the world is stopping. The
// guard thread answers it without Go (see unotify_guard_linux.go).
func TestUnotifyWhileCollectingGarbage(t *testing.T) {
	opts := Options{Mode: ModeUnotify}
	requireMode(t, opts)
	dir := tempDir(t)
	writeFiles(t, dir, "in")
	var stop atomic.Bool
	gcs := make(chan int)
	go func() {
		n := 0
		for !stop.Load() {
			runtime.GC()
			n++
		}
		gcs <- n
	}()
	const runs = 150
	for i := range runs {
		cmd := exec.Command("/bin/cat", "in")
		cmd.Dir = dir
		rep := mustRun(t, cmd, opts)
		if i == 0 {
			want(t, rep, filepath.Join(dir, "in"), OpRead, true)
		}
	}
	stop.Store(true)
	t.Logf("%d commands, %d garbage collections meanwhile", runs, <-gcs)
}

// lifecycleModes are the modes of the waiting and killing tests: the
// default and user notification, which follow the tree differently.
var lifecycleModes = []struct {
	name string
	opts Options
}{
	{"seccomp", Options{}},
	{"unotify", Options{Mode: ModeUnotify}},
}

func init() {
	// available-unotify: print whether user notification works from
	// inside a traced process.
	helpers["available-unotify"] = func([]string) error {
		_, err := fmt.Println(AvailableMode(ModeUnotify))
		return err
	}
	// unotify-true: trace /bin/true with user notification and print
	// the report's mode and whether it saw the loader read.
	helpers["unotify-true"] = func([]string) error {
		p, err := Start(exec.Command("/bin/true"), Options{Mode: ModeUnotify})
		if err != nil {
			return err
		}
		rep, err := p.Wait()
		if err != nil {
			return err
		}
		reads := 0
		for _, a := range rep.Accesses {
			if a.Op == OpRead {
				reads++
			}
		}
		_, err = fmt.Println(rep.Mode, reads > 0)
		return err
	}
}

// TestUnotifyRefusesToNest: a process traced by user notification cannot
// trace its own commands that way (its filter would take its commands'
// notifications from the outer tracer), and says why.
func TestUnotifyRefusesToNest(t *testing.T) {
	opts := Options{Mode: ModeUnotify}
	requireMode(t, opts)
	var out bytes.Buffer
	cmd := helperCmd(t, "available-unotify")
	cmd.Stdout = &out
	mustRun(t, cmd, opts)
	if !strings.Contains(out.String(), ErrUnavailable.Error()) || !strings.Contains(out.String(), "seccomp") {
		t.Errorf("AvailableMode(ModeUnotify) inside a traced process = %q, want unavailable, under a filter", out.String())
	}
}

// TestUnotifyAsUnprivilegedUser: user nobody, who may neither load BPF
// programs nor install a filter without no_new_privs, traces with user
// notification.
func TestUnotifyAsUnprivilegedUser(t *testing.T) {
	requireMode(t, Options{Mode: ModeUnotify})
	if got := helperAsNobody(t, "unotify-true"); got != "unotify true" {
		t.Errorf("traced as nobody: %q, want unotify and the loader's reads", got)
	}
}

// TestUnotifyPdeathsig: a command whose parent-death signal is set is not
// killed when the thread that forked it would end.
func TestUnotifyPdeathsig(t *testing.T) {
	opts := Options{Mode: ModeUnotify}
	requireMode(t, opts)
	cmd := exec.Command("/bin/sh", "-c", "sleep 0.1; cat /etc/hostname >/dev/null")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	rep := mustRun(t, cmd, opts)
	if time.Since(start) < 100*time.Millisecond {
		t.Errorf("the command ended early")
	}
	want(t, rep, "/etc/hostname", OpRead, true)
}

// TestAutoFallsBackToUnotifyWithoutPtrace: where BPF programs do not load
// and ptrace is denied (Yama's ptrace_scope 2, a container's policy),
// auto traces with seccomp user notification and says why.
func TestAutoFallsBackToUnotifyWithoutPtrace(t *testing.T) {
	requireMode(t, Options{Mode: ModeUnotify})
	out, err := helperCmd(t, "autoselect", "ebpf-fails", "ptrace-fails").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(string(out))
	if !strings.HasPrefix(got, "unotify|true|") || !strings.Contains(got, "forced ptrace denial") || !strings.Contains(got, "forced load failure") {
		t.Errorf("auto with eBPF and ptrace failing: %q", got)
	}
}
