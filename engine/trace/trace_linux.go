//go:build linux && amd64

package trace

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Available reports whether tracing works here: nil, or an error wrapping
// ErrUnavailable that says why (ptrace denied in a container, this process
// already traced, a kernel older than 5.3). The first call runs a probe,
// a traced run of the current binary that takes a few milliseconds; the
// result is cached.
func Available() error { return probeResult().err }

type probeOutcome struct {
	err  error
	mode Mode // the mode the probe ran in: ModePtraceAll if seccomp failed
}

var probeResult = sync.OnceValue(func() probeOutcome {
	// A small dynamically linked system program first: its loader's
	// opens are calls the tracer must see, and it starts in about a
	// millisecond less than this (large) binary as the probe shim does.
	for _, prog := range []string{"/bin/true", "/usr/bin/true"} {
		if out, ok := probeWith(exec.Command(prog), func(a Access) bool { return a.Op == OpRead }); ok {
			return out
		}
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), shimEnv+"="+shimProbe)
	out, _ := probeWith(cmd, func(a Access) bool { return a.Path == probePath && a.Op == OpStat })
	return out
})

// probeWith runs cmd traced and reports whether a call that seen says
// the command makes was observed (ok), or why tracing failed.
func probeWith(cmd *exec.Cmd, seen func(Access) bool) (probeOutcome, bool) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	p, err := start(cmd, Options{})
	if err != nil {
		return probeOutcome{err: fmt.Errorf("%w: %w", ErrUnavailable, err)}, false
	}
	rep, err := p.Wait()
	if err != nil {
		return probeOutcome{err: fmt.Errorf("%w: probe: %w: %s", ErrUnavailable, err, bytes.TrimSpace(stderr.Bytes()))}, false
	}
	for _, a := range rep.Accesses {
		if seen(a) {
			return probeOutcome{mode: rep.Mode}, true
		}
	}
	return probeOutcome{err: fmt.Errorf("%w: the probe's system calls were not observed", ErrUnavailable)}, false
}

// Process is a command started under the tracer.
type Process struct {
	cmd *exec.Cmd
	t   *tracer

	done       chan struct{} // the tracer goroutine has finished
	reaping    bool          // the command started: reaped will be closed
	copiesIO   bool          // cmd.Wait may block on pipes: reap from a goroutine
	rootExited chan struct{} // the command has exited (reaper goroutine only)
	reaped     chan struct{} // cmd.Wait has returned
	loopErr    error
	waitErr    error

	waitOnce sync.Once
	report   *Report
	err      error

	bpf *bpfProcess // traced with eBPF (ModeEBPF): none of the above but cmd and the results
	un  *unRun      // traced with user notification (ModeUnotify): likewise
}

// Start starts cmd, which must not have been started, under the tracer. It
// sets cmd.SysProcAttr.Ptrace on a copy of cmd.SysProcAttr (so Setpgid and
// the rest are kept) and runs the command from a dedicated OS thread,
// which is its parent and tracer.
//
// Errors are those of cmd.Start (an *fs.PathError wrapping ENOENT, EACCES,
// ENOEXEC... for a program that cannot be executed), or wrap
// ErrUnavailable when tracing does not work here.
//
// Start changes cmd.Path, cmd.Env and cmd.SysProcAttr only while it
// starts the command, and restores them. Call Wait, and not cmd.Wait: the
// Process calls cmd.Wait itself once the command has exited. Killing the command or its process group from
// another goroutine is fine; Wait then returns promptly (see Wait for
// processes that left the group).
func Start(cmd *exec.Cmd, opts Options) (*Process, error) {
	switch opts.Mode {
	case ModeEBPF:
		return startEBPF(cmd, opts)
	case ModeUnotify:
		if err := unotifyAvailable(); err != nil {
			return nil, err
		}
		return startUnotify(cmd, opts)
	}
	probe := probeResult()
	if probe.err != nil {
		return nil, probe.err
	}
	if opts.Mode == ModeSeccomp && probe.mode != ModeSeccomp {
		opts.Mode = ModePtraceAll // seccomp does not work here; do not retry it each time
	}
	return start(cmd, opts)
}

// startable reports why cmd cannot be started under a tracer, as every
// backend's start checks first: it has been started, or exec.Command
// already failed (cmd.Err, a program not found on PATH).
func startable(cmd *exec.Cmd) error {
	switch {
	case cmd.Process != nil:
		return errors.New("trace: command already started")
	case cmd.Err != nil:
		return cmd.Err
	}
	return nil
}

func start(cmd *exec.Cmd, opts Options) (*Process, error) {
	if err := startable(cmd); err != nil {
		return nil, err
	}
	switch {
	case cmd.SysProcAttr != nil && cmd.SysProcAttr.Ptrace:
		return nil, errors.New("trace: SysProcAttr.Ptrace is set; the tracer sets it")
	case opts.Mode != ModeSeccomp && opts.Mode != ModePtraceAll:
		return nil, fmt.Errorf("trace: unknown mode %v", opts.Mode)
	}
	rootPath, err := programPath(cmd)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	quietStops()
	p := &Process{cmd: cmd, done: make(chan struct{}), copiesIO: copiesIO(cmd),
		rootExited: make(chan struct{}), reaped: make(chan struct{})}
	status := make(chan error, 1)
	onRootExit := p.reapNow
	if p.copiesIO {
		onRootExit = func() bool { close(p.rootExited); return false }
	}
	p.t = newTracer(opts, rootPath, func(err error) { status <- err }, onRootExit)
	err, ok := runOnCleanThread(p.run, func() { close(p.done) }, status)
	if !ok {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err != nil {
		// Nothing may be left behind: wait for the tracer and, if the
		// command started, for its reaping.
		<-p.done
		if p.reaping {
			<-p.reaped
		}
		return nil, err
	}
	return p, nil
}

// programPath is the absolute path of the program cmd runs: a relative
// Path is relative to cmd.Dir, as the child executes it after chdir.
func programPath(cmd *exec.Cmd) (string, error) {
	if filepath.IsAbs(cmd.Path) {
		return filepath.Clean(cmd.Path), nil
	}
	dir, err := filepath.Abs(cmd.Dir)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, cmd.Path), nil
}

// run is the tracer goroutine, on its locked thread. It reports whether
// the thread may be unlocked (handed back to the Go scheduler) afterwards.
func (p *Process) run() (unlock bool) {
	t, cmd := p.t, p.cmd
	restore := prepare(cmd, t.shim)
	err := cmd.Start()
	restore()
	if err != nil {
		t.started(err)
		return true
	}
	t.root = cmd.Process.Pid
	p.reaping = true
	if p.copiesIO {
		go p.reap()
	}
	// attach reports success itself once it is sure (with the shim: once
	// the real program runs, in the loop).
	switch err := t.attach(); {
	case errors.Is(err, errRootExited):
		t.started(nil) // killed at once: Wait reports how
	case err != nil:
		t.started(err) // the command was killed; the loop reaps it
	}
	if err := t.loop(); err != nil {
		// Unexpected. Kill the command, let cmd.Wait reap it, and end the
		// thread still locked: PTRACE_O_EXITKILL kills the other tracees.
		p.loopErr = err
		_ = cmd.Process.Kill()
		if !t.rootGone {
			t.rootGone = true
			_ = t.onRootExit()
		}
		t.started(err)
		return false
	}
	return true
}

// prepare sets up cmd for tracing (and for the shim) and returns a
// function that restores the fields it changed, once cmd has started.
func prepare(cmd *exec.Cmd, shim bool) (restore func()) {
	path, env, attr := cmd.Path, cmd.Env, cmd.SysProcAttr
	var traced syscall.SysProcAttr
	if attr != nil {
		traced = *attr
	}
	traced.Ptrace = true
	cmd.SysProcAttr = &traced
	if shim {
		cmd.Env = append(cmd.Environ(), shimEnv+"="+shimExec+cmd.Path)
		cmd.Path = "/proc/self/exe"
	}
	return func() { cmd.Path, cmd.Env, cmd.SysProcAttr = path, env, attr }
}

// copiesIO reports whether cmd copies its standard I/O through goroutines
// (a reader or writer that is not an *os.File). cmd.Wait then waits for
// every process holding the other end of those pipes, tracees included,
// so it must not run on the tracer thread.
func copiesIO(cmd *exec.Cmd) bool {
	for _, s := range []any{cmd.Stdin, cmd.Stdout, cmd.Stderr} {
		switch s.(type) {
		case nil, *os.File:
		default:
			return true
		}
	}
	return false
}

// reapNow calls cmd.Wait on the tracer thread as soon as the command has
// exited, when cmd.Wait cannot block (no I/O goroutines; see copiesIO). A
// hand-off to another goroutine would cost a trip through the Go
// scheduler from a thread about to block in waitid: 100-200µs per command.
func (p *Process) reapNow() bool {
	exited := time.Now()
	p.waitErr = p.cmd.Wait()
	close(p.reaped)
	if p.cmd.WaitDelay > 0 && len(p.t.tracees) > 0 {
		go p.killLeftovers(exited)
	}
	return true
}

// reap is the reaper goroutine for a command whose I/O is copied: it calls
// cmd.Wait once the command has exited (not before: while it lives, a
// wait from this process would take its ptrace stops).
func (p *Process) reap() {
	defer close(p.reaped)
	<-p.rootExited
	exited := time.Now()
	p.waitErr = p.cmd.Wait()
	p.killLeftovers(exited)
}

// killLeftovers kills the processes the command left running, WaitDelay
// after it exited, as cmd.Wait gives up on pipes they hold; with no
// WaitDelay they are waited for.
func (p *Process) killLeftovers(exited time.Time) {
	if p.cmd.WaitDelay <= 0 {
		return
	}
	timer := time.NewTimer(time.Until(exited.Add(p.cmd.WaitDelay)))
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.t.killAll()
	}
}

// Wait waits for the command to exit, for cmd.Wait to finish (the
// command's I/O), and for the rest of the traced tree: a process the
// command left running in the background is still observed. If
// cmd.WaitDelay is set, such leftovers are killed WaitDelay after the
// command exited, so Wait returns even if one escaped the command's
// process group. The error is cmd.Wait's: an *exec.ExitError for a
// non-zero status or a signal.
//
// Wait may be called more than once; it returns the same results.
func (p *Process) Wait() (*Report, error) {
	if p.bpf != nil {
		p.waitOnce.Do(p.waitEBPF)
		return p.report, p.waitErr
	}
	if p.un != nil {
		p.waitOnce.Do(p.waitUnotify)
		return p.report, p.waitErr
	}
	p.waitOnce.Do(func() {
		<-p.done
		<-p.reaped
		list := p.t.rec.list
		p.t.rec.done() // the tracer's loop has ended
		resolveLinks(list, p.t.rec.linkFree)
		p.report = &Report{Accesses: list, Mode: p.t.mode, Attrs: p.t.attrs}
		p.err = p.waitErr
		if p.err == nil && p.loopErr != nil {
			p.err = p.loopErr
		}
	})
	return p.report, p.err
}

// errNotClean is sent by a goroutine of runOnCleanThread that landed on
// an unsuitable thread.
var errNotClean = errors.New("trace: the thread has child processes")

// runOnCleanThread runs fn on a goroutine locked to an OS thread that has
// no child process and is not the main thread, unlocks the thread if fn
// says so (else the thread ends with the goroutine), and calls done. It
// returns the first value fn sends on status (Start's outcome), with ok;
// or, without ok, why no thread could be found.
//
// The tracer waits for "any tracee" with __WNOTHREAD: that covers the
// thread's own children, so there must be none but the command. The main
// thread is avoided because orphans of other exiting threads are handed
// to it. Threads found unsuitable are held until a good one is found, so
// that each attempt lands on another thread.
//
// The goroutine usually runs on the caller's thread, which blocks at once
// on status, and unlocks it before calling done, so that the caller, woken
// by done, goes on on the same thread: two hand-offs between OS threads
// fewer per command (a thread woken on another CPU costs 10-20µs on a
// virtual machine).
func runOnCleanThread(fn func() (unlock bool), done func(), status chan error) (err error, ok bool) {
	var held []chan struct{}
	defer func() {
		for _, h := range held {
			close(h)
		}
	}()
	for range 8 {
		release := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			if !threadIsClean() {
				status <- errNotClean
				<-release
				runtime.UnlockOSThread()
				return
			}
			if fn() {
				runtime.UnlockOSThread()
			}
			done()
		}()
		if err := <-status; err != errNotClean {
			return err, true
		}
		held = append(held, release)
	}
	return errors.New("no OS thread without child processes for the tracer"), false
}

// threadIsClean reports whether the calling thread is not the main thread
// and has no child process or tracee: waitid(__WNOTHREAD) sees only the
// thread's own, and says ECHILD if there are none.
func threadIsClean() bool {
	if unix.Gettid() == unix.Getpid() {
		return false
	}
	var si siginfoChild
	_, _, e := unix.RawSyscall6(unix.SYS_WAITID, unix.P_ALL, 0, uintptr(unsafe.Pointer(&si)),
		unix.WEXITED|unix.WNOHANG|unix.WNOWAIT|unix.WALL|unix.WNOTHREAD, 0, 0)
	return e == unix.ECHILD
}

// AvailableMode is Available for one mode: for ModeEBPF, whether the BPF
// programs load here (which loads them, once per process; see
// docs/tracing.md), else whether ptrace works.
func AvailableMode(m Mode) error {
	switch m {
	case ModeEBPF:
		return ebpfAvailable()
	case ModeUnotify:
		return unotifyAvailable()
	}
	return Available()
}
