//go:build linux && amd64

package trace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// procEntry is what /proc says about one process.
type procEntry struct {
	pid, ppid, pgid, tracer int
	state                   string
	comm                    string
}

func readProc(t *testing.T) []procEntry {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var list []procEntry
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		s := string(stat)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		f := strings.Fields(s[end+1:])
		e := procEntry{pid: pid, comm: s[open+1 : end], state: f[0]}
		e.ppid, _ = strconv.Atoi(f[1])
		e.pgid, _ = strconv.Atoi(f[2])
		if status, err := os.ReadFile(filepath.Join("/proc", d.Name(), "status")); err == nil {
			for _, line := range strings.Split(string(status), "\n") {
				if v, ok := strings.CutPrefix(line, "TracerPid:"); ok {
					e.tracer, _ = strconv.Atoi(strings.TrimSpace(v))
				}
			}
		}
		list = append(list, e)
	}
	return list
}

// ourThreads is the set of thread ids of the test process.
func ourThreads(t *testing.T) map[int]bool {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	ids := make(map[int]bool)
	for _, d := range tasks {
		id, _ := strconv.Atoi(d.Name())
		ids[id] = true
	}
	return ids
}

// checkNothingLeft fails if a process of group pgid still runs, or if any
// process is still a child of, or traced by, the test process. Orphans
// that died are handed to init; some container inits never reap them, so
// zombies under pid 1 are only logged.
//
// A process of the group may still be finishing its exit when Wait
// returns: the eBPF tracer sees a process's exit event at the start of
// exit(2), before it is a zombie. That state passes within moments, so the
// check is repeated for up to a second before it fails.
func checkNothingLeft(t *testing.T, pgid int) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !groupRuns(t, pgid) {
			break
		}
	}
	self := os.Getpid()
	threads := ourThreads(t)
	for _, p := range readProc(t) {
		switch {
		case p.pgid == pgid && p.state != "Z":
			t.Errorf("process %d (%s) of the killed group still runs (state %s)", p.pid, p.comm, p.state)
		case p.tracer != 0 && (threads[p.tracer] || p.tracer == self):
			t.Errorf("process %d (%s) is still traced by the test process", p.pid, p.comm)
		case p.ppid == self:
			t.Errorf("process %d (%s, state %s) is still a child of the test process", p.pid, p.comm, p.state)
		case p.pgid == pgid:
			t.Logf("zombie %d (%s) of the killed group, parent %d", p.pid, p.comm, p.ppid)
		}
	}
}

// groupRuns reports whether a process of group pgid is not a zombie.
func groupRuns(t *testing.T, pgid int) bool {
	for _, p := range readProc(t) {
		if p.pgid == pgid && p.state != "Z" {
			return true
		}
	}
	return false
}

// waitForGroup waits until group pgid has at least n live processes.
func waitForGroup(t *testing.T, pgid, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		live := 0
		for _, p := range readProc(t) {
			if p.pgid == pgid && p.state != "Z" {
				live++
			}
		}
		if live >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("group %d never had %d processes", pgid, n)
}

// waitWithin calls p.Wait and fails if it takes longer than d.
func waitWithin(t *testing.T, p *Process, d time.Duration) (*Report, error) {
	t.Helper()
	type result struct {
		rep *Report
		err error
	}
	ch := make(chan result, 1)
	go func() {
		rep, err := p.Wait()
		ch <- result{rep, err}
	}()
	select {
	case r := <-ch:
		return r.rep, r.err
	case <-time.After(d):
		t.Fatalf("Wait did not return within %v", d)
		return nil, nil
	}
}

func TestKillProcessGroupMidRun(t *testing.T) {
	requireTracing(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			// A shell, a background sleep, a nested shell and its sleep.
			cmd := exec.Command("/bin/sh", "-c", `sleep 100 & sh -c "sleep 100; true"; wait`)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			p, err := Start(cmd, m.opts)
			if err != nil {
				t.Fatal(err)
			}
			pgid := cmd.Process.Pid
			waitForGroup(t, pgid, 4)
			if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			rep, err := waitWithin(t, p, 5*time.Second)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Errorf("Wait: %v, want killed by SIGKILL", err)
			}
			if find(rep, "/bin/sh", OpExec) == nil {
				t.Errorf("no report of what ran before the kill:\n%s", dump(rep))
			}
			checkNothingLeft(t, pgid)
		})
	}
}

func TestContextCancel(t *testing.T) {
	requireTracing(t)
	for _, m := range lifecycleModes {
		t.Run(m.name, func(t *testing.T) {
			requireMode(t, m.opts)
			ctx, cancel := context.WithCancel(context.Background())
			cmd := exec.CommandContext(ctx, "/bin/sh", "-c", `sleep 100; true`)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			p, err := Start(cmd, m.opts)
			if err != nil {
				t.Fatal(err)
			}
			pgid := cmd.Process.Pid
			waitForGroup(t, pgid, 2)
			cancel()
			if _, err := waitWithin(t, p, 5*time.Second); err == nil {
				t.Error("Wait succeeded after cancel")
			}
			checkNothingLeft(t, pgid)
		})
	}
}

func TestWaitWaitsForBackgroundJobs(t *testing.T) {
	requireTracing(t)
	for _, m := range lifecycleModes {
		t.Run(m.name, func(t *testing.T) {
			requireMode(t, m.opts)
			waitsForBackgroundJobs(t, m.opts)
		})
	}
}

func waitsForBackgroundJobs(t *testing.T, opts Options) {
	dir := tempDir(t)
	writeFiles(t, dir, "late")
	out, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	// The shell exits at once; its background job reads a file later.
	cmd := exec.Command("/bin/sh", "-c", `(sleep 0.2; cat late) & echo started`)
	cmd.Dir, cmd.Stdout = dir, out
	start := time.Now()
	p, err := Start(cmd, opts)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := waitWithin(t, p, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("Wait returned after %v, before the background job ended", d)
	}
	want(t, rep, filepath.Join(dir, "late"), OpRead, true)
}

// TestWaitWaitsForASilentChild: the command exits at once, leaving a
// child that computes without a system call before it reads a file. No
// backend has heard of that child when the command ends (user
// notification learns of a process at its first notified call); the wait
// must still last until it ends, and its read be in the report. The
// command leads its own process group, as the engine starts every
// command.
func TestWaitWaitsForASilentChild(t *testing.T) {
	requireTracing(t)
	for _, m := range lifecycleModes {
		t.Run(m.name, func(t *testing.T) {
			requireMode(t, m.opts)
			dir := tempDir(t)
			writeFiles(t, dir, "late")
			// The child computes without a system call for some 0.2-0.5 s
			// (a shell's background job opens /dev/null or dups its input
			// first, which user notification hears).
			if _, err := exec.LookPath("python3"); err != nil {
				t.Skip("needs python3")
			}
			cmd := exec.Command("python3", "-c", "import os\nif os.fork() == 0:\n    t = 0\n    for i in range(3000000): t += i\n    open('late').read()\nos._exit(0)")
			out, err := os.Create(filepath.Join(dir, "out"))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			// A file, not a pipe: cmd.Wait must not wait for the child.
			cmd.Dir, cmd.Stdout = dir, out
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			p, err := Start(cmd, m.opts)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := waitWithin(t, p, 20*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			want(t, rep, filepath.Join(dir, "late"), OpRead, true)
		})
	}
}

func TestWaitDelayKillsLeftovers(t *testing.T) {
	requireTracing(t)
	for _, m := range lifecycleModes {
		t.Run(m.name, func(t *testing.T) {
			requireMode(t, m.opts)
			waitDelayKillsLeftovers(t, m.opts)
		})
	}
}

func waitDelayKillsLeftovers(t *testing.T, opts Options) {
	file, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	// The leftover leaves the command's process group and outlives the
	// command, which ends once the leftover has made a file (so that the
	// tracer has seen it whatever the machine's load). A file as output
	// does not hold cmd.Wait; a pipe (copied by a goroutine) does, until
	// WaitDelay.
	for name, stdout := range map[string]io.Writer{"file": file, "pipe": new(bytes.Buffer)} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command("/bin/sh", "-c", `setsid sh -c 'echo >ready; exec sleep 100' & while [ ! -e ready ]; do sleep 0.01; done; echo started`)
			cmd.Dir = dir
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Stdout = stdout
			cmd.WaitDelay = 300 * time.Millisecond
			p, err := Start(cmd, opts)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := waitWithin(t, p, 5*time.Second)
			if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
				t.Fatal(err)
			}
			if find(rep, filepath.Join(dir, "ready"), OpWrite) == nil {
				t.Errorf("the leftover was not followed before it was killed:\n%s", dump(rep))
			}
			checkNothingLeft(t, cmd.Process.Pid)
		})
	}
}

// TestWaitDelayKillsASilentChild: a leftover that has made no notified
// call by the time WaitDelay expires (it computes first) is killed too,
// once it makes one or by its group: Wait returns, nothing is left.
func TestWaitDelayKillsASilentChild(t *testing.T) {
	requireTracing(t)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("needs python3")
	}
	for _, m := range lifecycleModes {
		t.Run(m.name, func(t *testing.T) {
			requireMode(t, m.opts)
			out, err := os.Create(filepath.Join(t.TempDir(), "out"))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			cmd := exec.Command("python3", "-c", "import os\nif os.fork() == 0:\n    t = 0\n    for i in range(3000000): t += i\n    os.execvp('sleep', ['sleep', '100'])\nos._exit(0)")
			cmd.Stdout = out
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.WaitDelay = 50 * time.Millisecond
			p, err := Start(cmd, m.opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := waitWithin(t, p, 10*time.Second); err != nil && !errors.Is(err, exec.ErrWaitDelay) {
				t.Fatal(err)
			}
			checkNothingLeft(t, cmd.Process.Pid)
		})
	}
}

// TestConcurrentCommands runs traced commands from several goroutines at
// once, next to untraced ones: every tracer must see only its own tree,
// and no cmd.Wait may lose its child.
func TestConcurrentCommands(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	// Two commands at a time in each mode, eBPF ones among ptrace ones
	// (whose children the eBPF programs see too, and must leave out).
	for g := range 2 * len(modes) {
		name := fmt.Sprintf("g%d", g)
		writeFiles(t, dir, name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				cmd := exec.Command("/bin/sh", "-c", "cat "+name+"; sh -c true")
				cmd.Dir = dir
				opts := modes[g%len(modes)].opts
				if opts.Mode == ModeEBPF && ebpfAvailable() != nil {
					return
				}
				p, err := Start(cmd, opts)
				if err != nil {
					errs <- err
					return
				}
				rep, err := p.Wait()
				if err != nil {
					errs <- fmt.Errorf("%s: %w", name, err)
					return
				}
				for _, a := range rep.Accesses {
					if strings.HasPrefix(a.Path, dir+"/g") && a.Path != filepath.Join(dir, name) {
						errs <- fmt.Errorf("%s saw another command's %s", name, a.Path)
					}
				}
				if rep.Incomplete != "" {
					errs <- fmt.Errorf("%s: incomplete: %s", name, rep.Incomplete)
				}
				if find(rep, filepath.Join(dir, name), OpRead) == nil {
					errs <- fmt.Errorf("%s: own read missing", name)
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if err := exec.Command("/bin/sh", "-c", "true").Run(); err != nil {
					errs <- fmt.Errorf("untraced: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
