//go:build linux && amd64

package trace

// The seccomp user notification backend (ModeUnotify): no ptrace. Each
// command is started from a fresh OS thread that first installs a seccomp
// filter returning SECCOMP_RET_USER_NOTIF for the path-taking system calls
// (SECCOMP_FILTER_FLAG_NEW_LISTENER, without TSYNC: that thread only),
// then forks the command, which inherits the filter with all its
// descendants, and ends: the filter then belongs to the command's tree
// alone. Its listener says which run a notification belongs to, and hangs
// up (POLLHUP) when the last process of the tree is gone. Notifications
// reach the Go side through the guard thread (unotify_guard_linux.go),
// which is decoded by the ptrace tracer's own decoder and recorder, and
// answered with SECCOMP_USER_NOTIF_FLAG_CONTINUE.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cmdt-dev/cmdt/internal/procstat"
)

// unotifySyscalls are the calls the filter notifies: the decoded ones but
// chdir and fchdir. Go's vfork child calls chdir before its execve (for
// cmd.Dir), and only execve may be notified there (see the guard); the
// decoder reads working directories from /proc instead of caching them.
var unotifySyscalls = sync.OnceValue(func() []sysEntry {
	var list []sysEntry
	for _, s := range fileSyscalls {
		if s.kind != kChdir {
			list = append(list, s)
		}
	}
	return list
})

var unotifyFilter = sync.OnceValue(func() []unix.SockFilter {
	return buildFilter(unotifySyscalls(), unix.SECCOMP_RET_USER_NOTIF)
})

// unotifier is the per-process state of the backend: the guard, and the
// runs by listener.
type unotifier struct {
	g    *guard
	mu   sync.Mutex
	runs map[uint64]*unRun // by epoll data: generation << 32 | listener fd
	gen  uint32
	devR *os.File // /dev/null, for commands without stdin
	devW *os.File // and without stdout or stderr
}

// unotifyState sets the backend up once per process: the guard thread and
// the goroutine that answers what it relays.
var unotifyState = sync.OnceValues(func() (*unotifier, error) {
	if err := unotifyNested(); err != nil {
		return nil, err
	}
	g, err := startGuardThread()
	if err != nil {
		return nil, err
	}
	u := &unotifier{g: g, runs: make(map[uint64]*unRun)}
	if u.devR, err = os.Open(os.DevNull); err != nil {
		return nil, err
	}
	if u.devW, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0); err != nil {
		return nil, err
	}
	go u.serve()
	return u, nil
})

// unotifyNested refuses to run under another tracer: a filter of ours
// would take the notifications (or, before SECCOMP_RET_TRACE, the stops)
// of our commands from an outer one, which would then miss them.
func unotifyNested() error {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	for _, line := range bytes.Split(status, []byte("\n")) {
		k, v, _ := bytes.Cut(line, []byte(":"))
		v = bytes.TrimSpace(v)
		switch string(k) {
		case "TracerPid":
			if string(v) != "0" {
				return errors.New("this process is traced")
			}
		case "Seccomp":
			if string(v) != "0" {
				return errors.New("this process is under a seccomp filter already")
			}
		}
	}
	return nil
}

// unotifyAvailable reports whether ModeUnotify works here: the backend
// sets up, and a traced /bin/true is seen opening its libraries.
var unotifyAvailable = sync.OnceValue(func() error {
	if _, err := unotifyState(); err != nil {
		return fmt.Errorf("%w: seccomp user notification: %w", ErrUnavailable, err)
	}
	for _, prog := range []string{"/bin/true", "/usr/bin/true"} {
		if _, err := os.Stat(prog); err != nil {
			continue
		}
		p, err := startUnotify(exec.Command(prog), Options{Mode: ModeUnotify})
		if err != nil {
			return fmt.Errorf("%w: seccomp user notification: %w", ErrUnavailable, err)
		}
		rep, err := p.Wait()
		if err != nil {
			return fmt.Errorf("%w: seccomp user notification: probe: %w", ErrUnavailable, err)
		}
		for _, a := range rep.Accesses {
			if a.Op == OpRead {
				return nil
			}
		}
		return fmt.Errorf("%w: seccomp user notification: the probe's system calls were not observed", ErrUnavailable)
	}
	return nil // no true to probe with; the filter installed
})

// unRun is one command's tree.
type unRun struct {
	u        *unotifier
	key      uint64
	fd       int // the listener
	spawner  int // the thread that forked the command (its own calls are not the command's)
	rootPath string
	self     int
	// pgid is the command's process group, where it leads one of its own
	// (the engine starts every command so): a child that has made no
	// notified call yet is found by it (anyAlive). 0 otherwise.
	pgid int

	reaped chan struct{} // cmd.Wait has returned
	direct bool          // the listener is read from Go once the command runs (serveDirect)

	mu     sync.Mutex
	t      *tracer // decoder, recorder, and threads by id
	closed bool    // the report is taken: record nothing more

	own       sync.Mutex // who reads (and closes) the listener:
	taking    bool       // serveDirect, once the guard hands it back
	forgotten bool       // closed
	done      chan struct{}
	hungUp    bool
}

// serve answers what the guard relays, for every run, on one goroutine.
func (u *unotifier) serve() {
	buf := make([]byte, 64*relayMsgSize)
	var have int
	var key uint64
	var n seccompNotif
	for {
		r, err := unix.Read(u.g.relayR, buf[have:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || r == 0 {
			return // cannot happen: this process holds the write end
		}
		have += r
		msgs := have / relayMsgSize
		for i := range msgs {
			parseRelay(buf[i*relayMsgSize:], &key, &n)
			u.mu.Lock()
			run := u.runs[key]
			u.mu.Unlock()
			switch {
			case run == nil:
				// Cannot happen: a listener is closed here only after
				// its hang-up, the guard's last message about it. Never
				// leave a caller waiting, though.
				if n.Pid != 0 {
					sendContinue(int(uint32(key)), n.ID)
				}
			case n.Pid == 0:
				run.hangup(false)
			default:
				run.handle(&n)
			}
		}
		have = copy(buf, buf[msgs*relayMsgSize:have])
	}
}

// syncWakeUp asks the kernel to switch directly between a notifying
// process and the one that answers (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP,
// Linux 6.6; older kernels refuse it, and wake the answerer as any
// other task). Measured on cat over 1,000 files: 31 → 16 µs per access.
// CMDT_UNOTIFY_SYNC=0 turns it off, for comparison.
var syncWakeUp = os.Getenv("CMDT_UNOTIFY_SYNC") != "0"

// serveDirect answers r's notifications on its own goroutine once the
// guard has handed the listener back, until the listener hangs up.
func (r *unRun) serveDirect() {
	fds := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN}}
	var n seccompNotif
	for {
		if _, err := unix.Poll(fds, -1); err != nil {
			continue // EINTR
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			// Nobody else reads the listener: RECV finds the
			// notification, or ENOENT if its caller was interrupted.
			n = seccompNotif{}
			_, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(r.fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n)))
			if e == 0 {
				r.handle(&n)
			}
			continue
		}
		if fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			r.hangup(true)
			return
		}
	}
}

// handle records one notified call and lets it run.
func (r *unRun) handle(n *seccompNotif) {
	r.mu.Lock()
	if !r.closed && r.valid(n.ID) {
		r.record(n)
	}
	r.mu.Unlock()
	sendContinue(r.fd, n.ID)
}

// sendContinue lets notified call id go on. ENOENT: the caller was
// interrupted meanwhile (and will make the call again).
func sendContinue(fd int, id uint64) {
	resp := seccompResp{ID: id, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	_, _, _ = unix.RawSyscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
}

// valid reports whether notification id is still pending: its caller has
// not died (and its pid been reused) since it was received. It is checked
// before the caller's memory and /proc entries are trusted, and after.
func (r *unRun) valid(id uint64) bool {
	_, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(r.fd), unix.SECCOMP_IOCTL_NOTIF_ID_VALID, uintptr(unsafe.Pointer(&id)))
	return e == 0
}

// record decodes notified call n with the shared decoder and records it
// as the seccomp ptrace mode does at an entry stop; writes are recorded
// when their outcome can be judged (settle).
func (r *unRun) record(n *seccompNotif) {
	tid := int(n.Pid)
	t := r.t
	tr := t.tracees[tid]
	if tr == nil {
		tr = r.newTracee(tid)
		t.tracees[tid] = tr
	}
	if tr.pending {
		r.settle(tr) // the thread's previous call is over: it makes this one
	}
	if n.Arch != nativeArch {
		return
	}
	t.dec.decode(tid, tr, uint64(n.Nr), &n.Args)
	if !r.valid(n.ID) {
		tr.call.n = 0 // what was read may belong to another process
		return
	}
	c := &tr.call
	execing := false
	if tr.execPath != "" && (c.nr == unix.SYS_EXECVE || c.nr == unix.SYS_EXECVEAT) {
		execing = true
		for i := 0; i < c.n; i++ {
			if c.ops[i] == OpExec {
				execing = c.exists[i]
			}
		}
	}
	t.entered(tr)
	if execing {
		// The exec is recorded (with its interpreters) at entry; the
		// thread runs the new program from now on, if it succeeds,
		// which an existing file almost always does.
		tr.execed(tr.execPath)
	}
}

// newTracee is the state of a thread first seen now: it runs its
// process's program, or its parent's (a fork that has not exec'd), or,
// for the command itself, the command's.
func (r *unRun) newTracee(tid int) *tracee {
	tgid, ppid := procIDs(tid)
	switch {
	case tgid != tid && r.t.tracees[tgid] != nil:
		return &tracee{program: r.t.tracees[tgid].program}
	case ppid == r.self:
		return &tracee{program: r.rootPath}
	case r.t.tracees[ppid] != nil:
		return &tracee{program: r.t.tracees[ppid].program}
	}
	exe, _ := readlink(procPath(tid, "exe"))
	return &tracee{program: exe}
}

// procIDs reads the process id and parent process id of thread tid.
func procIDs(tid int) (tgid, ppid int) {
	status, err := os.ReadFile(procPath(tid, "status"))
	if err != nil {
		return 0, 0
	}
	for _, line := range bytes.Split(status, []byte("\n")) {
		k, v, _ := bytes.Cut(line, []byte(":"))
		switch string(k) {
		case "Tgid":
			tgid, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		case "PPid":
			ppid, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
			return tgid, ppid
		}
	}
	return tgid, ppid
}

// settle records the writes of tracee tr's last call, now that it is
// over: the notification gives no return value, so whether it succeeded
// is judged from what its paths were before (checked at the notification)
// and are now.
func (r *unRun) settle(tr *tracee) {
	c := &tr.call
	ok := c.n > 0
	var st unix.Stat_t
	for i := 0; i < c.n; i++ {
		before := c.exists[i]
		after := unix.Lstat(c.paths[i], &st) == nil
		switch writeEffect(c.nr, i, c.n) {
		case effCreate:
			ok = ok && !before && after
		case effRemove:
			ok = ok && before && !after
		case effRemain:
			ok = ok && after
		}
	}
	rval := int64(0)
	if !ok {
		rval = -int64(unix.EPERM)
	}
	r.t.exit(tr, rval, !ok)
}

// Effects of a write on its path.
const (
	effRemain = iota // it exists after (open for writing, creat, truncate)
	effCreate        // it did not exist before and does after (mkdir, mknod, link, symlink)
	effRemove        // it existed before and does not after (unlink, rmdir, rename's source)
)

// writeEffect is what a successful call nr does to its i-th write path
// of n.
func writeEffect(nr uint64, i, n int) int {
	switch nr {
	case unix.SYS_MKDIR, unix.SYS_MKDIRAT, unix.SYS_MKNOD, unix.SYS_MKNODAT,
		unix.SYS_LINK, unix.SYS_LINKAT, unix.SYS_SYMLINK, unix.SYS_SYMLINKAT:
		return effCreate
	case unix.SYS_UNLINK, unix.SYS_UNLINKAT, unix.SYS_RMDIR:
		return effRemove
	case unix.SYS_RENAME, unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2:
		if i == 0 && n == 2 {
			return effRemove
		}
	}
	return effRemain
}

// serveFromGo takes r's listener back from the guard once the command has
// exec'd (no call of its tree can hold a thread in vfork any more) and
// answers it on a goroutine of its own: a thread hop less per call. A
// tree that has already ended (the guard relayed its hang-up) is left as
// it is.
func (r *unRun) serveFromGo() {
	r.own.Lock()
	if r.forgotten {
		r.own.Unlock()
		return
	}
	r.taking = true // from now on only serveDirect closes the listener
	r.own.Unlock()
	go func() {
		// Until the guard lets go (it may be relaying a call of the
		// command's), what it relays is answered as before.
		r.u.g.takeBack(r.key)
		r.serveDirect()
	}()
}

// hangup handles the end of r's tree: the listener reports it (POLLHUP:
// every process with the filter has exited). Whoever reads the listener
// (the guard, whose hang-up message is its last about it, or
// serveDirect) closes it, and only they: its number must not be reused
// under a reader's feet.
func (r *unRun) hangup(reader bool) {
	r.mu.Lock()
	if !r.hungUp {
		r.hungUp = true
		close(r.done)
	}
	r.mu.Unlock()
	r.own.Lock()
	defer r.own.Unlock()
	if r.forgotten || (r.taking && !reader) {
		return
	}
	r.forgotten = true
	r.u.forget(r)
}

// goneNow reports whether the listener has hung up, without waiting.
func (r *unRun) goneNow() bool {
	fds := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN}}
	n, _ := unix.Poll(fds, 0)
	return n == 1 && fds[0].Revents&unix.POLLHUP != 0 && fds[0].Revents&unix.POLLIN == 0
}

// errMainThread is sent by a spawning goroutine that landed on the main
// thread, which a goroutine cannot end: its filter would stay.
var errMainThread = errors.New("trace: on the main thread")

// startUnotify starts cmd on a fresh thread that carries the filter.
func startUnotify(cmd *exec.Cmd, opts Options) (*Process, error) {
	if err := startable(cmd); err != nil {
		return nil, err
	}
	u, err := unotifyState()
	if err != nil {
		return nil, fmt.Errorf("%w: seccomp user notification: %w", ErrUnavailable, err)
	}
	rootPath, err := programPath(cmd)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	t := newTracer(Options{Mode: ModeUnotify, IgnoreDirs: opts.IgnoreDirs}, rootPath, nil, nil)
	t.dec.unotify = true
	r := &unRun{u: u, rootPath: rootPath, self: os.Getpid(), t: t, done: make(chan struct{}), reaped: make(chan struct{}), fd: -1}
	// The command's own exec is answered by the guard, not decoded:
	// record it first, as the ptrace tracer does at its first stop.
	t.recordExec(rootPath, "")
	restore := u.prepare(cmd)
	err = u.spawn(cmd, r)
	restore()
	if err != nil {
		// A listener made is closed at its hang-up, which follows the
		// end of the spawning thread.
		return nil, err
	}
	r.mu.Lock()
	if tr := t.tracees[cmd.Process.Pid]; tr == nil {
		t.tracees[cmd.Process.Pid] = &tracee{program: rootPath}
	}
	// The command is not reaped before Wait: its group is readable even
	// if it has exited.
	if g, err := unix.Getpgid(cmd.Process.Pid); err == nil && g != unix.Getpgrp() {
		r.pgid = g
	}
	r.mu.Unlock()
	if r.direct {
		r.serveFromGo()
	}
	return &Process{cmd: cmd, un: r}, nil
}

// prepare sets the fields of cmd that would make cmd.Start do file system
// calls on the spawning thread (each a notification, answered by the
// guard): /dev/null opened for missing standard streams, the check that
// cmd.Dir exists (made when SysProcAttr is nil; the child's chdir reports
// the same error). It returns a function that restores them.
func (u *unotifier) prepare(cmd *exec.Cmd) (restore func()) {
	stdin, stdout, stderr, attr := cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.SysProcAttr
	if cmd.Stdin == nil {
		cmd.Stdin = u.devR
	}
	if cmd.Stdout == nil {
		cmd.Stdout = u.devW
	}
	if cmd.Stderr == nil {
		cmd.Stderr = u.devW
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	return func() { cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.SysProcAttr = stdin, stdout, stderr, attr }
}

// spawn runs cmd.Start on a new thread that installs the filter first and
// ends after: a thread whose goroutine ends locked ends with it.
func (u *unotifier) spawn(cmd *exec.Cmd, r *unRun) error {
	status := make(chan error, 1)
	var held []chan struct{}
	defer func() {
		for _, h := range held {
			close(h)
		}
	}()
	keep := cmd.SysProcAttr != nil && cmd.SysProcAttr.Pdeathsig != 0
	for range 4 {
		release := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			if unix.Gettid() == unix.Getpid() {
				status <- errMainThread
				<-release
				runtime.UnlockOSThread()
				return
			}
			fd, err := installListener()
			if err == nil && syncWakeUp {
				_, _, _ = unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SET_FLAGS, unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
			}
			if err != nil {
				status <- err
				return // the thread ends; it may carry no listener now
			}
			r.fd, r.spawner = fd, unix.Gettid()
			if err := u.register(r); err != nil {
				unix.Close(fd) // the guard never saw it
				status <- err
				return
			}
			err = cmd.Start()
			status <- err
			if keep && err == nil {
				// Pdeathsig fires when the thread that forked the command
				// ends: keep it until the command has been waited for.
				<-r.reaped
			}
		}()
		err := <-status
		if err != errMainThread {
			return err
		}
		held = append(held, release)
	}
	return errors.New("trace: no thread but the main thread to start the command from")
}

// installListener installs the notifying filter on the calling thread and
// returns its listener.
func installListener() (int, error) {
	prog := unotifyFilter()
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	const flags = unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | filterFlags
	set := func() (int, unix.Errno) {
		fd, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
		return int(fd), e
	}
	fd, e := set()
	if e == unix.EACCES {
		// Without CAP_SYS_ADMIN the kernel wants no_new_privs first; it
		// is set on this thread only, which ends after the fork.
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return -1, fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
		}
		fd, e = set()
	}
	if e != 0 {
		return -1, fmt.Errorf("%w: seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER): %w", ErrUnavailable, e)
	}
	unix.CloseOnExec(fd)
	return fd, nil
}

// register makes r the owner of its listener's notifications and hands
// the listener to the guard.
func (u *unotifier) register(r *unRun) error {
	u.mu.Lock()
	if u.gen++; u.gen == 0 {
		u.gen++ // 0 is no generation (guardShared.owner)
	}
	r.key = uint64(u.gen)<<32 | uint64(uint32(r.fd))
	u.runs[r.key] = r
	u.mu.Unlock()
	r.direct = guardOwns(r.fd, uint32(r.key>>32))
	if err := u.g.watch(r.fd, uint32(r.key>>32)); err != nil {
		u.mu.Lock()
		delete(u.runs, r.key)
		u.mu.Unlock()
		return err
	}
	return nil
}

// forget closes r's listener once its tree is gone (closing it while a
// process lives would fail that process's next notified calls, ENOSYS),
// from the goroutine that answers the guard, after the guard's last
// message about it.
func (u *unotifier) forget(r *unRun) {
	u.mu.Lock()
	delete(u.runs, r.key)
	u.mu.Unlock()
	unix.Close(r.fd)
}

// waitUnotify is Wait for a command traced with user notification:
// cmd.Wait, then the rest of the tree (its listener hangs up when the
// last process is reaped; with WaitDelay, leftovers are killed that long
// after the command exited), then the report.
func (p *Process) waitUnotify() {
	r := p.un
	p.waitErr = p.cmd.Wait()
	close(r.reaped)
	if !r.goneNow() {
		delay := p.cmd.WaitDelay
		if errors.Is(p.waitErr, exec.ErrWaitDelay) {
			delay = time.Nanosecond // cmd.Wait has waited that long for the pipes already
		}
		r.waitTree(delay)
	}
	r.mu.Lock()
	for _, tr := range r.t.tracees {
		if tr.pending {
			r.settle(tr)
		}
	}
	r.closed = true
	list, linkFree := r.t.rec.list, r.t.rec.linkFree
	r.t.rec.done()
	r.t.dec.close()
	r.mu.Unlock()
	resolveLinks(list, linkFree)
	p.report = &Report{Accesses: list, Mode: ModeUnotify}
}

// waitTree waits for the listener to hang up. Processes left running are
// killed waitDelay after the command's exit, if set. Zombies nobody reaps
// (the init of some containers) hold the filter forever: once no known
// process of the tree lives, the wait ends (the listener is closed when
// it hangs up, if ever).
func (r *unRun) waitTree(waitDelay time.Duration) {
	var kill <-chan time.Time
	if waitDelay > 0 {
		timer := time.NewTimer(waitDelay)
		defer timer.Stop()
		kill = timer.C
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	killing := false
	for {
		select {
		case <-r.done:
			return
		case <-kill:
			killing, kill = true, nil
			r.killAll()
		case <-tick.C:
			if r.goneNow() || !r.anyAlive() {
				return
			}
			if killing {
				// A process first heard of after the kill (a child
				// that had made no notified call yet) is a leftover too.
				r.killAll()
			}
		}
	}
}

// killAll kills every process of the tree that made a notified call, and
// the command's process group if it leads one (anyAlive).
func (r *unRun) killAll() {
	if r.pgid != 0 {
		_ = unix.Kill(-r.pgid, unix.SIGKILL)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for tid := range r.t.tracees {
		_ = unix.Kill(tid, unix.SIGKILL)
	}
}

// anyAlive reports whether a process of the tree runs (is not gone or a
// zombie): one that made a notified call, or, when the command leads its
// own process group, any member of that group. A child forked just before
// its parent exited may not have made a notified call yet (on a busy
// machine, for tens of milliseconds): its group still names it. What
// leaves the group (setsid, setpgid) before its first notified call is
// not seen, and the wait may end before it does (docs/tracing.md).
func (r *unRun) anyAlive() bool {
	r.mu.Lock()
	tids := make([]int, 0, len(r.t.tracees))
	for tid := range r.t.tracees {
		tids = append(tids, tid)
	}
	r.mu.Unlock()
	for _, tid := range tids {
		if st, ok := procstat.Read(tid); ok && st.State != 'Z' {
			return true
		}
	}
	return r.pgid != 0 && groupAlive(r.pgid)
}

// groupAlive reports whether a process of group pgid runs.
func groupAlive(pgid int) bool {
	names, err := os.ReadDir("/proc")
	if err != nil {
		return true // cannot tell: keep waiting for the hang-up
	}
	for _, e := range names {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := procstat.Read(pid); ok && st.Pgid == pgid && st.State != 'Z' {
			return true
		}
	}
	return false
}
