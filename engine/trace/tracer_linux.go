//go:build linux && amd64

package trace

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cmdt-dev/cmdt/engine"
)

// errRootExited reports that the command exited while being set up.
var errRootExited = errors.New("trace: command exited before tracing started")

// tracee is the state kept for each traced thread.
type tracee struct {
	program string // path passed to the execve that loaded the program
	call    call   // decoded at entry; what is not recorded then is at exit
	pending bool   // call waits for its exit stop
	// execPath is the path of the tracee's last execve, for its exec event
	// ("" if it named an ignored path).
	execPath string
	fresh    bool // auto-attached: its first SIGSTOP is the attach stop
	// standIn: created at the first stop of a new child, before its
	// parent's fork event, which then names the program.
	standIn bool
	cwd     string // cached working directory (see decoder.cwd)
	cwdGen  uint64
	attr    attrCall // an attribute-only call between entry and exit (attr_linux.go)
}

// tracer follows one command's process tree. All its methods run on one
// locked OS thread, the tracer thread: the kernel accepts ptrace requests
// only from the thread that is the tracer.
type tracer struct {
	mode     Mode
	root     int    // pid of the command
	rootPath string // absolute path of the command's program
	shim     bool   // the root is still the shim, before its real execve
	shimStop bool   // the shim's execve stopped at the filter: it is installed

	// tracees is written under mu, read freely by the tracer thread;
	// killAll reads it from another goroutine. A tracee leaves it when
	// its exit is consumed, under mu too: until then its pid cannot be
	// reused, so killAll never hits another process.
	mu      sync.Mutex
	tracees map[int]*tracee
	killing atomic.Bool // killAll was called: kill newcomers too

	dec     decoder
	rec     *recorder
	interps interpCache
	info    syscallInfo

	// attrs are the attribute-only calls seen to succeed, in the order
	// they ended (attr_linux.go).
	attrs []engine.AttrChange

	rootGone   bool
	onRootExit func() bool // called once when the command's exit is seen; true if it reaped it
	onStart    func(error) // Start's outcome, called once
}

func newTracer(opts Options, rootPath string, onStart func(error), onRootExit func() bool) *tracer {
	t := new(tracer)
	t.init(opts, rootPath, onStart, onRootExit)
	return t
}

// init makes t a new tracer, keeping only its memory: the eBPF backend
// reuses tracers (the decoder's buffers are 12 KB, zeroed and collected
// per command otherwise).
func (t *tracer) init(opts Options, rootPath string, onStart func(error), onRootExit func() bool) {
	*t = tracer{
		mode:       opts.Mode,
		rootPath:   rootPath,
		shim:       opts.Mode == ModeSeccomp && opts.Shim,
		tracees:    make(map[int]*tracee),
		rec:        newRecorder(opts.IgnoreDirs),
		interps:    make(interpCache),
		onStart:    onStart,
		onRootExit: onRootExit,
	}
	t.dec.rec = t.rec
	t.dec.exact = opts.Mode == ModePtraceAll || opts.ExactResults
	t.dec.bornBefore = time.Now().Add(-bornMargin()).UnixNano()
}

// fallBack switches to ModePtraceAll, where the filter is missing. Every
// call then stops at its exit anyway, so outcomes come from there.
func (t *tracer) fallBack() {
	t.mode = ModePtraceAll
	t.dec.exact = true
}

// started reports Start's outcome the first time it is called.
func (t *tracer) started(err error) {
	if t.onStart != nil {
		t.onStart(err)
		t.onStart = nil
	}
}

// attach takes the command from its first stop, the SIGTRAP after its
// execve under PTRACE_TRACEME, to running traced: options set, filter
// injected (ModeSeccomp without Shim), its exec recorded.
func (t *tracer) attach() error {
	ws, err := t.waitRootStop()
	if err != nil {
		return err
	}
	if ws.StopSignal() != unix.SIGTRAP {
		_ = unix.Kill(t.root, unix.SIGKILL)
		return fmt.Errorf("trace: first stop of the command is %v, not SIGTRAP", ws.StopSignal())
	}
	opts := ptraceOptions
	if t.shim {
		// Do not follow the shim's Go runtime threads; the full options
		// are set at its execve.
		opts &^= unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACECLONE
	}
	if err := unix.PtraceSetOptions(t.root, opts); err != nil {
		_ = unix.Kill(t.root, unix.SIGKILL)
		return fmt.Errorf("trace: PTRACE_SETOPTIONS: %w", err)
	}
	tr := &tracee{}
	t.setTracee(t.root, tr)
	if t.shim {
		t.resume(t.root, tr, 0)
		return nil
	}
	// Start's outcome is known: what follows falls back rather than
	// fails. Telling the caller now lets its thread wake up while the
	// tracee installs the filter, rather than later, while it runs.
	t.started(nil)
	var sigs []unix.Signal
	if t.mode == ModeSeccomp {
		if sigs, err = t.injectFilter(t.root); err != nil {
			if errors.Is(err, errRootExited) {
				return err
			}
			t.fallBack() // the filter is not there: see every call
		}
	}
	t.recordExec(t.rootPath, "")
	tr.program = t.rootPath
	var first unix.Signal
	for i, s := range sigs {
		if i == 0 {
			first = s
		} else {
			_ = unix.Tgkill(t.root, t.root, s)
		}
	}
	t.resume(t.root, tr, first)
	return nil
}

// waitRootStop waits for the next stop of the command during attach. The
// command's exit is left for cmd.Wait (see loop).
func (t *tracer) waitRootStop() (unix.WaitStatus, error) {
	var si siginfoChild
	for {
		err := waitidPeek(unix.P_PID, t.root, &si)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("trace: waitid: %w", err)
		}
		break
	}
	if exitedCode(si.Code) {
		return 0, errRootExited
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(t.root, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("trace: wait4: %w", err)
		}
		return ws, nil
	}
}

// loop handles stops until no tracee is left.
//
// Events are peeked (WNOWAIT) before they are consumed, because one must
// not be: the command's own exit. Its exit status belongs to cmd.Wait,
// which also finishes the command's I/O; the tracer thread is its parent
// and tracer, so reaping it here would leave cmd.Wait with ECHILD. The
// exit is handed to onRootExit, which calls cmd.Wait or has it called.
// Until then the command stays first in the kernel's list of this
// thread's children, so the loop polls briefly.
// __WNOTHREAD keeps other threads' children (other commands) out of
// sight: this thread has no child but the command (runOnCleanThread).
func (t *tracer) loop() error {
	defer t.dec.close()
	var pause time.Duration
	for {
		var si siginfoChild
		err := waitidPeek(unix.P_ALL, 0, &si)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ECHILD:
			return nil
		case err != nil:
			return fmt.Errorf("trace: waitid: %w", err)
		}
		pid := int(si.Pid)
		if pid == t.root && exitedCode(si.Code) {
			if t.rootExit(si) {
				continue // reaped already
			}
			// The thread is ours alone: block it in nanosleep rather
			// than time.Sleep, whose timers are about 1ms coarse.
			pause = min(max(2*pause, 10*time.Microsecond), time.Millisecond)
			ts := unix.NsecToTimespec(pause.Nanoseconds())
			_ = unix.Nanosleep(&ts, nil)
			continue
		}
		pause = 0
		if ws, ok := peekedStop(si); ok {
			// The peek says all there is: resume the tracee without
			// consuming the stop, which saves a wait4 at the hottest stops.
			t.handle(pid, ws)
			continue
		}
		var ws unix.WaitStatus
		t.mu.Lock()
		wpid, err := wait4NoHang(pid, &ws)
		gone := err == nil && wpid == pid && (ws.Exited() || ws.Signaled())
		if gone {
			delete(t.tracees, pid)
		}
		t.mu.Unlock()
		if err != nil || wpid != pid || gone {
			continue // EINTR or nothing (seen again), or an exit
		}
		t.handle(pid, ws)
	}
}

// peekedStop returns the status of a seccomp or syscall stop that
// waitidPeek reported: a ptrace request does not need the stop to have
// been waited for, and waitid(WNOWAIT) gives the whole status. Other stops
// are consumed first: in particular an exec event of a thread that took
// its leader's id must be waited for before the kernel takes requests for
// the new id.
func peekedStop(si siginfoChild) (unix.WaitStatus, bool) {
	if si.Code != cldTrapped {
		return 0, false
	}
	if si.Status != int32(syscallStop) && si.Status != int32(unix.SIGTRAP|unix.PTRACE_EVENT_SECCOMP<<8) {
		return 0, false
	}
	return unix.WaitStatus(si.Status)<<8 | 0x7f, true
}

func (t *tracer) setTracee(pid int, tr *tracee) {
	t.mu.Lock()
	t.tracees[pid] = tr
	t.mu.Unlock()
}

// killAll kills every tracee, from any goroutine.
func (t *tracer) killAll() {
	t.killing.Store(true)
	t.mu.Lock()
	defer t.mu.Unlock()
	for pid := range t.tracees {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
}

// rootExit notes the command's exit and reports whether the command has
// been reaped since. If the shim exits, its real execve failed, and the
// status is the errno.
func (t *tracer) rootExit(si siginfoChild) (reaped bool) {
	if t.rootGone {
		return false
	}
	t.rootGone = true
	t.mu.Lock()
	delete(t.tracees, t.root)
	t.mu.Unlock()
	if t.shim && si.Code == cldExited && si.Status > 0 {
		t.started(&os.PathError{Op: "fork/exec", Path: t.rootPath, Err: unix.Errno(si.Status)})
	}
	// A no-op unless the shim was killed before its exec: then Start
	// succeeds and Wait reports the signal.
	t.started(nil)
	return t.onRootExit()
}

// handle dispatches one stop of tracee pid and resumes it.
func (t *tracer) handle(pid int, ws unix.WaitStatus) {
	if !ws.Stopped() {
		return
	}
	if t.killing.Load() {
		_ = unix.Kill(pid, unix.SIGKILL) // a newcomer after killAll
	}
	tr := t.tracees[pid]
	if tr == nil {
		// A new child whose first stop came before its parent's fork
		// event (events of newer tracees are reported first).
		tr = &tracee{fresh: true, standIn: true}
		tr.program, _ = readlink(procPath(pid, "exe"))
		t.setTracee(pid, tr)
	}
	var sig unix.Signal
	switch stop := ws.StopSignal(); {
	case stop == syscallStop:
		t.syscallStop(pid, tr)
	case stop == unix.SIGTRAP && ws.TrapCause() > 0:
		tr = t.event(pid, tr, ws.TrapCause())
	case stop == unix.SIGSTOP && tr.fresh:
		tr.fresh = false // the attach stop: swallow it
	case isJobStop(stop) && isGroupStop(pid):
		// A group-stop. Without PTRACE_SEIZE it cannot be held while
		// staying traceable, so the tracee runs on (as under strace).
	default:
		sig = stop // deliver the signal
	}
	t.resume(pid, tr, sig)
}

func isJobStop(s unix.Signal) bool {
	return s == unix.SIGSTOP || s == unix.SIGTSTP || s == unix.SIGTTIN || s == unix.SIGTTOU
}

// resume restarts a tracee: to its next syscall stop when it is inside a
// call we decoded (for the exit's return value) or in ModePtraceAll, else
// freely until the filter stops it.
func (t *tracer) resume(pid int, tr *tracee, sig unix.Signal) {
	// ESRCH: killed meanwhile; its exit is reported next.
	if t.mode == ModePtraceAll || tr.pending {
		_ = resumeSyscall(pid, sig)
	} else {
		_ = resumeCont(pid, sig)
	}
}

// syscallStop handles a PTRACE_SYSCALL stop: an entry (ModePtraceAll) or
// the exit of a decoded call.
func (t *tracer) syscallStop(pid int, tr *tracee) {
	if t.mode != ModePtraceAll && !tr.pending {
		return // a stale exit stop (for example after an exec)
	}
	if err := getSyscallInfo(pid, &t.info); err != nil {
		return
	}
	switch t.info.Op {
	case infoEntry:
		if t.info.Arch == nativeArch {
			t.dec.decode(pid, tr, t.info.Nr, &t.info.Args)
			t.attrEntry(pid, tr, t.info.Nr, &t.info.Args)
			t.entered(tr)
		}
	case infoExit:
		if tr.pending {
			t.exit(tr, t.info.rval(), t.info.isError())
		}
	}
}

// event handles a PTRACE_EVENT stop and returns the tracee's state (an
// exec can move it to another thread id).
func (t *tracer) event(pid int, tr *tracee, cause int) *tracee {
	switch cause {
	case unix.PTRACE_EVENT_SECCOMP:
		if t.shim && pid == t.root {
			t.shimStop = true // the shim's own execve: the filter works
			return tr
		}
		if getSyscallInfo(pid, &t.info) == nil && t.info.Op == infoSeccomp {
			t.dec.decode(pid, tr, t.info.Nr, &t.info.Args)
			t.attrEntry(pid, tr, t.info.Nr, &t.info.Args)
			t.entered(tr)
		}
	case unix.PTRACE_EVENT_FORK, unix.PTRACE_EVENT_VFORK, unix.PTRACE_EVENT_CLONE:
		if msg, err := unix.PtraceGetEventMsg(pid); err == nil {
			t.forked(tr, int(msg))
		}
	case unix.PTRACE_EVENT_EXEC:
		return t.exec(pid, tr)
	}
	return tr
}

// entered records what a call decoded at its entry stop (tr.call) can
// tell before it runs, and notes whether it must be seen at its exit stop.
// Outside exact mode, that is what is recorded: reads, stats and execs,
// whose existence the decoder checked; only writes (whose success Classify
// needs) and directory changes (which invalidate cached working
// directories only once done) wait for the exit stop. In exact mode
// everything does.
func (t *tracer) entered(tr *tracee) {
	c := &tr.call
	if !t.dec.exact {
		for i := 0; i < c.n; i++ {
			switch c.ops[i] {
			case OpWrite:
			case OpExec:
				t.recordExecEntry(c.paths[i], c.exists[i], c.linkFree[i], tr.program)
			default:
				t.rec.addChecked(Access{Path: c.paths[i], Op: c.ops[i], Exists: c.exists[i], Program: tr.program}, c.linkFree[i])
			}
		}
		c.keepWrites()
	}
	tr.pending = c.n > 0 || c.chdir || tr.attr.active
}

// forked handles the fork, vfork or clone event of parent that created
// thread id child. The child starts in its parent's program and
// directory, unless it has run (even exec'd) before this event was seen:
// the kernel reports events of newer tracees first.
func (t *tracer) forked(parent *tracee, child int) {
	c := t.tracees[child]
	if c == nil {
		c = &tracee{fresh: true, standIn: true}
		t.setTracee(child, c)
	}
	if c.standIn {
		c.program, c.cwd, c.cwdGen = parent.program, parent.cwd, parent.cwdGen
		c.standIn = false
	}
}

// execed notes that the tracee now runs path.
func (tr *tracee) execed(path string) {
	tr.program, tr.pending, tr.standIn, tr.execPath = path, false, false, ""
}

// exec handles a successful execve (PTRACE_EVENT_EXEC).
func (t *tracer) exec(pid int, tr *tracee) *tracee {
	// If a thread other than the leader called execve, it has taken the
	// leader's id; its state moves with it.
	if msg, err := unix.PtraceGetEventMsg(pid); err == nil && int(msg) != pid {
		if old := t.tracees[int(msg)]; old != nil {
			t.mu.Lock()
			delete(t.tracees, int(msg))
			t.tracees[pid] = old
			t.mu.Unlock()
			tr = old
		}
	}
	var path, caller string
	switch {
	case t.shim && pid == t.root:
		t.endShim()
		path = t.rootPath
	case tr.execPath != "":
		path, caller = tr.execPath, tr.program
	default:
		// The execve named an ignored path (/proc/self/exe, /dev/fd/N).
		path, _ = readlink(procPath(pid, "exe"))
		tr.execed(path)
		return tr
	}
	t.recordExec(path, caller)
	tr.execed(path)
	return tr
}

// endShim switches from the shim to the real program: follow children
// from now on, and fall back to ModePtraceAll if the filter is missing.
func (t *tracer) endShim() {
	t.shim = false
	if !t.shimStop {
		t.fallBack()
	}
	if err := unix.PtraceSetOptions(t.root, ptraceOptions); err != nil {
		_ = unix.Kill(t.root, unix.SIGKILL)
		t.started(fmt.Errorf("trace: PTRACE_SETOPTIONS: %w", err))
		return
	}
	t.started(nil)
}

// exit records a decoded call at its exit stop, with its outcome.
func (t *tracer) exit(tr *tracee, rval int64, isErr bool) {
	tr.pending = false
	if tr.call.chdir {
		t.dec.cwdGen++ // the directory changed (or not) meanwhile: see decoder.cwdGen
	}
	var errno unix.Errno
	if isErr {
		errno = unix.Errno(-rval)
		// ERESTARTSYS and friends (512-516): interrupted by a signal and
		// restarted, which stops and is decoded again.
		if errno >= 512 && errno <= 516 {
			tr.attr.active = false
			return
		}
	}
	t.attrExit(tr, isErr)
	c := &tr.call
	for i := 0; i < c.n; i++ {
		a := Access{Path: c.paths[i], Op: c.ops[i], Program: tr.program}
		switch a.Op {
		case OpWrite:
			a.Exists = !isErr
		case OpExec:
			// A successful exec is recorded at its exec event; this is a
			// failed one, for example a miss while searching PATH.
			t.execFailed(a.Path, tr.program, errno)
			continue
		default:
			a.Exists = !isErr || (errno != unix.ENOENT && errno != unix.ENOTDIR)
		}
		t.rec.add(a)
	}
}

// recordExecEntry records an execve of path at its entry stop, with
// whether path exists then. If it does, so do the interpreters the kernel
// will load for it: a script whose interpreter is missing fails with
// ENOENT, and the interpreter is then the absent input. An exec that
// succeeds is recorded again at its exec event, which changes nothing.
func (t *tracer) recordExecEntry(path string, exists, linkFree bool, caller string) {
	t.rec.addChecked(Access{Path: path, Op: OpExec, Exists: exists, Program: caller}, linkFree)
	if !exists {
		return
	}
	for _, in := range t.interps.of(path) {
		if !t.rec.ignored(in) && !t.rec.has(in, OpExec) {
			t.rec.add(Access{Path: in, Op: OpExec, Exists: t.dec.pathExists(in), Program: caller})
		}
	}
}

// recordExec records a successful exec of path and the interpreters the
// kernel loaded for it.
func (t *tracer) recordExec(path, caller string) {
	if t.rec.ignored(path) {
		return
	}
	t.rec.add(Access{Path: path, Op: OpExec, Exists: true, Program: caller})
	for _, in := range t.interps.of(path) {
		if !t.rec.ignored(in) {
			t.rec.add(Access{Path: in, Op: OpExec, Exists: true, Program: caller})
		}
	}
}

// execFailed records a failed exec. ENOENT also comes from a script whose
// #! interpreter is missing; then the script exists and the interpreter
// is the absent input.
func (t *tracer) execFailed(path, caller string, errno unix.Errno) {
	scriptExists := errno == unix.ENOENT && unix.Access(path, unix.F_OK) == nil
	t.rec.add(Access{Path: path, Op: OpExec, Exists: scriptExists || (errno != unix.ENOENT && errno != unix.ENOTDIR), Program: caller})
	if !scriptExists {
		return
	}
	for _, in := range t.interps.of(path) {
		if !t.rec.ignored(in) {
			t.rec.add(Access{Path: in, Op: OpExec, Exists: unix.Access(in, unix.F_OK) == nil, Program: caller})
		}
	}
}
