//go:build linux && amd64

package trace

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// ptraceOptions are set on every tracee (auto-attached children inherit
// them): follow forks, vforks, threads and execs, tell syscall stops
// apart from SIGTRAP, report seccomp stops, and kill the tree if the
// tracer thread dies.
const ptraceOptions = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_TRACESECCOMP |
	unix.PTRACE_O_EXITKILL | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACECLONE

// syscallStop is WSTOPSIG of a syscall-stop under PTRACE_O_TRACESYSGOOD.
const syscallStop = unix.SIGTRAP | 0x80

// ptrace_syscall_info.op values.
const (
	infoEntry   = 1
	infoExit    = 2
	infoSeccomp = 3
)

// syscallInfo is struct ptrace_syscall_info (Linux 5.3+). For an entry or
// seccomp stop, Nr and Args hold the call; for an exit stop, Nr holds the
// return value and the low byte of Args[0] is_error.
type syscallInfo struct {
	Op      uint8
	_       [3]uint8
	Arch    uint32
	IP      uint64
	SP      uint64
	Nr      uint64
	Args    [6]uint64
	RetData uint32
	_       uint32
}

func (i *syscallInfo) rval() int64   { return int64(i.Nr) }
func (i *syscallInfo) isError() bool { return i.Args[0]&0xff != 0 }

// The tracer's hot path uses raw system calls: they run on the locked
// tracer thread and do not block (wait4 with WNOHANG, ptrace requests on a
// stopped tracee), so the Go scheduler's bookkeeping around a system call
// (entersyscall, exitsyscall) is pure cost, paid several times per stop.
// The one blocking wait, waitidPeek, goes through the scheduler.

func rawPtrace(req int, pid int, addr, data uintptr) error {
	if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, uintptr(req), uintptr(pid), addr, data, 0, 0); e != 0 {
		return e
	}
	return nil
}

// resumeSyscall and resumeCont are PTRACE_SYSCALL and PTRACE_CONT.
func resumeSyscall(pid int, sig unix.Signal) error {
	return rawPtrace(unix.PTRACE_SYSCALL, pid, 0, uintptr(sig))
}

func resumeCont(pid int, sig unix.Signal) error {
	return rawPtrace(unix.PTRACE_CONT, pid, 0, uintptr(sig))
}

// wait4NoHang consumes the pending state change of pid, if any.
func wait4NoHang(pid int, ws *unix.WaitStatus) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_WAIT4, uintptr(pid), uintptr(unsafe.Pointer(ws)), unix.WALL|unix.WNOHANG, 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// getSyscallInfo fetches the system call a tracee is stopped in, with one
// ptrace request that works the same on every architecture.
func getSyscallInfo(pid int, info *syscallInfo) error {
	return rawPtrace(unix.PTRACE_GET_SYSCALL_INFO, pid, unsafe.Sizeof(*info), uintptr(unsafe.Pointer(info)))
}

// isGroupStop tells a group-stop (the tracee stopped by SIGSTOP & co.)
// from the signal-delivery-stop that precedes it: only the latter has
// siginfo.
func isGroupStop(pid int) bool {
	var si unix.Siginfo
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(pid), 0, uintptr(unsafe.Pointer(&si)), 0, 0)
	return e == unix.EINVAL
}

// siginfoChild is the SIGCHLD layout of siginfo_t that waitid fills.
type siginfoChild struct {
	Signo  int32
	Errno  int32
	Code   int32
	_      int32
	Pid    int32
	UID    uint32
	Status int32
	_      [100]byte
}

// waitidPeek waits like waitid(2) with WNOWAIT: it reports which child or
// tracee changed state without consuming the event.
func waitidPeek(idtype, id int, si *siginfoChild) error {
	_, _, e := unix.Syscall6(unix.SYS_WAITID, uintptr(idtype), uintptr(id), uintptr(unsafe.Pointer(si)),
		unix.WEXITED|unix.WNOWAIT|unix.WALL|unix.WNOTHREAD, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// si_code values of SIGCHLD (x/sys does not define them).
const (
	cldExited  = 1
	cldKilled  = 2
	cldDumped  = 3
	cldTrapped = 4 // a ptrace stop; si_status is the whole stop status (signal | event<<8)
)

// exitedCode reports whether a waitid si_code says the process is gone.
func exitedCode(code int32) bool {
	return code == cldExited || code == cldKilled || code == cldDumped
}
