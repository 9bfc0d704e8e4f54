//go:build linux && amd64

package trace

import (
	"bufio"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

func init() {
	// ebpfload: load the programs, print their ids, wait to be killed.
	helpers["ebpfload"] = func([]string) error {
		bt, err := acquireBPF()
		if err != nil {
			return err
		}
		progs, maps := bt.ids()
		fmt.Println(joinIDs(progs), joinIDs(maps))
		time.Sleep(time.Minute)
		return nil
	}
}

// ids lists the ids of the loaded programs and maps.
func (t *bpfTracer) ids() (progs []uint32, maps []uint32) {
	for _, p := range []*ebpf.Program{t.objs.SysEnter, t.objs.SysExit, t.objs.SchedProcessFork, t.objs.SchedProcessExec, t.objs.SchedProcessExit} {
		if info, err := p.Info(); err == nil {
			if id, ok := info.ID(); ok {
				progs = append(progs, uint32(id))
			}
		}
	}
	for _, m := range []*ebpf.Map{t.objs.Tracked, t.objs.Pending, t.objs.Spec, t.objs.Config, t.objs.Lost, t.objs.Events, t.objs.Names, t.objs.NameBuf, t.objs.Ctl} {
		if info, err := m.Info(); err == nil {
			if id, ok := info.ID(); ok {
				maps = append(maps, uint32(id))
			}
		}
	}
	return progs, maps
}

func joinIDs(ids []uint32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, ",")
}

func splitIDs(t *testing.T, s string) []uint32 {
	var ids []uint32
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("bad id list %q", s)
		}
		ids = append(ids, uint32(n))
	}
	return ids
}

// waitGone fails unless no program or map with these ids exists within a
// few seconds (the kernel frees them after an RCU grace period).
func waitGone(t *testing.T, progs, maps []uint32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []string
		for _, id := range progs {
			if p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id)); err == nil {
				p.Close()
				left = append(left, fmt.Sprintf("program %d", id))
			}
		}
		for _, id := range maps {
			if m, err := ebpf.NewMapFromID(ebpf.MapID(id)); err == nil {
				m.Close()
				left = append(left, fmt.Sprintf("map %d", id))
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("left behind: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEBPFNothingLeftBehind: the programs and maps live while runs need
// them, and are gone once the tracer has been idle, and when the process
// dies (nothing is pinned).
func TestEBPFNothingLeftBehind(t *testing.T) {
	requireMode(t, Options{Mode: ModeEBPF})
	mustRun(t, exec.Command("/bin/true"), Options{Mode: ModeEBPF})
	bpfState.mu.Lock()
	bt := bpfState.t
	bpfState.mu.Unlock()
	if bt == nil {
		t.Fatal("not loaded after a run")
	}
	progs, maps := bt.ids()
	if len(progs) != 5 || len(maps) != 9 {
		t.Fatalf("ids: %v %v", progs, maps)
	}
	unloadIdleBPF() // what the idle timer does
	waitGone(t, progs, maps)

	// A process killed while loaded leaves nothing either.
	cmd := helperCmd(t, "ebpfload")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper: %v", err)
	}
	f := strings.Fields(line)
	progs, maps = splitIDs(t, f[0]), splitIDs(t, f[1])
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	waitGone(t, progs, maps)
}

// TestAutoFallsBackWhenEBPFFails: a load failure (forced) makes auto use
// ptrace and say why; it never fails.
func TestAutoFallsBackWhenEBPFFails(t *testing.T) {
	requireTracing(t)
	out, err := helperCmd(t, "autoselect", "ebpf-fails").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(string(out))
	if !strings.HasPrefix(got, "ptrace|true|") || !strings.Contains(got, "forced load failure") {
		t.Errorf("auto with eBPF failing: %q", got)
	}
}

// TestLostEventsMakeTheReportIncomplete: a tree producing more events
// than the ring buffer holds before it is read loses some, and the report
// says so instead of being taken as complete.
func TestLostEventsMakeTheReportIncomplete(t *testing.T) {
	requireMode(t, Options{Mode: ModeEBPF})
	dir := tempDir(t)
	writeFiles(t, dir, "f")
	// Hold the ring buffer's reader while a command stats a file 100,000
	// times (a record of 112 bytes each: more than the 8 MiB buffer holds).
	bt, err := acquireBPF()
	if err != nil {
		t.Fatal(err)
	}
	defer releaseBPF()
	bt.drainMu.Lock()
	cmd := statLoop(dir)
	p, err := Start(cmd, Options{Mode: ModeEBPF})
	if err != nil {
		bt.drainMu.Unlock()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		// Release the reader once the command is over.
		for {
			var si unix.Siginfo
			// Exited (a zombie: Wait will reap it), not waited for.
			err := unix.Waitid(unix.P_PID, p.cmd.Process.Pid, &si, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
			if err != nil || si.Signo != 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		close(done)
	}()
	<-done
	bt.drainMu.Unlock()
	rep, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.Incomplete, "lost") {
		t.Errorf("Incomplete = %q, want lost events reported", rep.Incomplete)
	}
}

func init() {
	// lazyauto: an auto launcher asked its name has set nothing up.
	helpers["lazyauto"] = func([]string) error {
		l, _, err := NewLauncher("auto", nil)
		if err != nil {
			return err
		}
		name := l.(*Launcher).Name()
		bpfState.mu.Lock()
		loaded := bpfState.t != nil || bpfState.err != nil
		bpfState.mu.Unlock()
		fmt.Println(name, loaded)
		return nil
	}
}

// TestAutoSetsNothingUpBeforeAProgramRuns: a check that runs no program
// (builtins only) loads no BPF program and runs no probe, though the
// cache asks the launcher's name.
func TestAutoSetsNothingUpBeforeAProgramRuns(t *testing.T) {
	out, err := helperCmd(t, "lazyauto").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 || f[1] != "false" || (f[0] != "ebpf" && f[0] != "ptrace") {
		t.Errorf("auto launcher before any program: %q, want its predicted name and nothing loaded", out)
	}
}

func init() {
	// autoselect [ebpf-fails] [ptrace-fails]: what auto picks here, as
	// name|fallback|why, with the eBPF load or the ptrace probe forced to
	// fail as asked.
	helpers["autoselect"] = func(args []string) error {
		for _, a := range args {
			switch a {
			case "ebpf-fails":
				loadBPFHook = func() error { return errors.New("forced load failure (test)") }
			case "ptrace-fails":
				ptraceHook = func() error { return errors.New("forced ptrace denial (test)") }
			default:
				return fmt.Errorf("autoselect: unknown %q", a)
			}
		}
		b, err := SelectBackend("auto")
		if err != nil {
			return err
		}
		fmt.Printf("%s|%v|%s\n", b.Name, b.Fallback, b.Why)
		return nil
	}
}

// TestAutoFallsBackForAnUnprivilegedUser: run as user nobody, who may not
// load BPF programs, auto uses ptrace and says why; the real refusal, not
// a forced one.
func TestAutoFallsBackForAnUnprivilegedUser(t *testing.T) {
	requireTracing(t)
	got := helperAsNobody(t, "autoselect")
	if !strings.HasPrefix(got, "ptrace|true|") || !strings.Contains(got, "CAP_BPF") {
		t.Errorf("auto as nobody: %q, want ptrace, a fallback, and why", got)
	}
}

// TestLongCommandLosesNothing: a command sending more events than the
// ring buffer holds loses none while nothing holds the reader: the
// kernel wakes the pump once the ring fills past WAKE_AT (the pump has
// no timer).
func TestLongCommandLosesNothing(t *testing.T) {
	requireMode(t, Options{Mode: ModeEBPF})
	dir := tempDir(t)
	writeFiles(t, dir, "f")
	// 100,000 records of 112 bytes: more than the 8 MiB buffer holds.
	cmd := statLoop(dir)
	rep := mustRun(t, cmd, Options{Mode: ModeEBPF})
	want(t, rep, filepath.Join(dir, "f"), OpStat, true)
	want(t, rep, filepath.Join(dir, "g"), OpStat, false)
}

// TestEBPFRunsShareNothing: runs reuse the memory of finished runs'
// tracers; nothing of one run may reach the next: not its accesses, not
// what it already recorded (the same command twice reports the same), not
// a working directory it changed to; and a report stays as it was once
// later runs have used the same memory.
func TestEBPFRunsShareNothing(t *testing.T) {
	requireMode(t, Options{Mode: ModeEBPF})
	opts := Options{Mode: ModeEBPF}
	dir := tempDir(t)
	writeFiles(t, dir, "sub/f1", "f2", "sub/f2")
	run := func(script string) *Report {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Dir = dir
		return mustRun(t, cmd, opts)
	}
	for i := 0; i < 3; i++ { // the pool may hand out another tracer once
		rep1 := run("cd sub && cat f1")
		want(t, rep1, filepath.Join(dir, "sub/f1"), OpRead, true)
		before := dump(rep1)

		rep2 := run("cat f2")
		want(t, rep2, filepath.Join(dir, "f2"), OpRead, true)
		for _, a := range rep2.Accesses {
			if strings.Contains(a.Path, "/sub/") || a.Path == filepath.Join(dir, "sub") {
				t.Fatalf("the second run reports the first's %v:\n%s", a, dump(rep2))
			}
		}
		if rep3 := run("cat f2"); dump(rep3) != dump(rep2) {
			t.Fatalf("the same command reported differently:\n%s\nthen:\n%s", dump(rep2), dump(rep3))
		}
		if after := dump(rep1); after != before {
			t.Fatalf("the first report changed when later runs ran:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	}
}

// TestPumpWokenPerReading: the kernel wakes the pump when 256 KiB of
// records wait, so that a long command's events are decoded while it
// runs; once per reading, not once per record (each wake-up is an
// interrupt in the traced program). The test holds the ring while the
// command runs, so that the records are still there when the pump's
// goroutine gets to run: on a busy machine that can be after the
// command's own Wait has read them all, and then the pump sees nothing.
func TestPumpWokenPerReading(t *testing.T) {
	bt := holdBPF(t)
	dir := tempDir(t)
	var names []string
	for i := range 1000 {
		names = append(names, fmt.Sprintf("%0250d", i))
	}
	writeFiles(t, dir, names...)
	before := bt.wakes.Load()
	// 2,000 records of 360 bytes (each name read twice): 720 KiB, more
	// than twice WAKE_AT (256 KiB), so that at least one CPU sends that
	// much.
	cmd := exec.Command("cat", append(names, names...)...)
	cmd.Dir, cmd.Stdout = dir, nil
	bt.drainMu.Lock()
	held := true
	defer func() {
		if held {
			bt.drainMu.Unlock()
		}
	}()
	p, err := Start(cmd, Options{Mode: ModeEBPF})
	if err != nil {
		t.Fatal(err)
	}
	// Exited (a zombie: Wait will reap it), not waited for.
	for {
		var si unix.Siginfo
		err := unix.Waitid(unix.P_PID, p.cmd.Process.Pid, &si, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for bt.wakes.Load() == before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	n := bt.wakes.Load() - before
	held = false
	bt.drainMu.Unlock()
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	// A CPU wakes the readers once per 256 KiB it sends (some of it may
	// have been sent by earlier tests): a few times, not per record.
	if n < 1 || n > 5 {
		t.Errorf("the pump was woken %d times for 2,000 records, want a few (once per 256 KiB sent)", n)
	}
}

func init() {
	// dupdir DIR: open DIR, copy the descriptor with dup and with
	// fcntl(F_DUPFD_CLOEXEC), close the original, open files relative
	// to the copies (as fts does for rm -r and find).
	helpers["dupdir"] = func(args []string) error {
		fd, err := unix.Open(args[0], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		d1, err := unix.Dup(fd)
		if err != nil {
			return err
		}
		d2, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 100)
		if err != nil {
			return err
		}
		unix.Close(fd)
		for _, c := range []struct {
			fd   int
			name string
		}{{d1, "f1"}, {d2, "f2"}} {
			f, err := unix.Openat(c.fd, c.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			unix.Close(f)
		}
		return nil
	}
}

// TestEBPFFollowsDescriptorCopies: a directory descriptor copied by dup
// or fcntl after the command's exec resolves from the events alone (the
// process is gone when they are read). The copies the Go runtime makes
// before the exec are not sent (bpf/trace.c, fresh); these must be.
func TestEBPFFollowsDescriptorCopies(t *testing.T) {
	requireMode(t, Options{Mode: ModeEBPF})
	dir := tempDir(t)
	writeFiles(t, dir, "f1", "f2")
	rep := mustRun(t, helperCmd(t, "dupdir", dir), Options{Mode: ModeEBPF})
	want(t, rep, filepath.Join(dir, "f1"), OpRead, true)
	want(t, rep, filepath.Join(dir, "f2"), OpRead, true)
}

// statLoop is a shell in dir that stats f and the absent g 50,000 times
// each: 100,000 records of 112 bytes, more than the 8 MiB ring holds.
func statLoop(dir string) *exec.Cmd {
	cmd := exec.Command("/bin/sh", "-c", `i=0; while [ $i -lt 50000 ]; do [ -e f ]; [ -e g ]; i=$((i+1)); done`)
	cmd.Dir = dir
	return cmd
}
