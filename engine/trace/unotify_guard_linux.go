//go:build linux && amd64

package trace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The guard: why seccomp user notification needs a thread that runs no Go.
//
// A command is started from a thread that carries the filter, and Go
// starts it with vfork: the forking thread stays in the clone system call,
// holding its P, until the child has called execve. That execve is itself
// a notified call, and must be answered. If a Go goroutine had to answer
// it, and the Go runtime began to stop the world (a garbage collection
// does, many times a second on a busy check) at that moment, the world
// could not stop (one P is held by the forking thread, not preemptible in
// a raw system call) and the answering goroutine could not run (the world
// is stopping): the whole process hangs. It does, within seconds of a
// benchmark loop, in a prototype that answered from Go (see
// docs/tracing.md, "seccomp user notification").
//
// So the listeners are read by a thread of this process cloned without the
// Go runtime (unotify_guard_linux_amd64.s). It waits on an epoll set of
// every listener; it answers a notification itself when the caller shares
// this process's memory (kcmp KCMP_VM: the vfork child before its execve,
// or the spawning thread's own opens), and relays every other one to the
// Go side through a pipe, which answers it. It never blocks for the Go
// side except on that pipe, so nothing it does waits for the Go runtime.

// guardShared is read and written by the guard thread (by address: the
// assembly knows its layout). A listener's vfork window is the guard's
// alone; once the command has exec'd, the Go side takes the listener back
// and reads it directly (a thread hop less per call): it clears owner[fd]
// and waits while busy is the listener's key.
var guardShared struct {
	busy  uint64          // the key of the listener the guard is handling, or 0
	owner [1 << 16]uint32 // by listener fd: the generation the guard serves; 0: none
}

// guardOwns hands listener fd of generation gen to the guard; false if fd
// is beyond the table (the guard then keeps it, relaying all of it).
func guardOwns(fd int, gen uint32) bool {
	if fd < 0 || fd >= len(guardShared.owner) {
		return false
	}
	atomic.StoreUint32(&guardShared.owner[fd], gen)
	return true
}

// takeBack ends the guard's service of the listener with this key (fd in
// the low half): after it returns, the guard no longer touches the fd.
func (g *guard) takeBack(key uint64) {
	fd := int(uint32(key))
	atomic.StoreUint32(&guardShared.owner[fd], 0) // XCHG on amd64: a full barrier
	for atomic.LoadUint64(&guardShared.busy) == key {
		runtime.Gosched() // the guard is answering one of its calls: a few µs
	}
	_ = unix.EpollCtl(g.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

// startGuard is in unotify_guard_linux_amd64.s.
func startGuard(stackTop uintptr, epfd, relayfd, selfpid int32) (tid int64)

// relayMsg is what the guard writes to the pipe: the listener's epoll
// data (generation << 32 | fd), then struct seccomp_notif as received;
// a notification with pid 0 says the listener hung up.
const relayMsgSize = 8 + 80

// seccompNotif is struct seccomp_notif.
type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

// seccompResp is struct seccomp_notif_resp.
type seccompResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// guard is the running guard thread and its pipe.
type guard struct {
	epfd   int
	relayR int // the Go side reads the relayed notifications here
	relayW int
	self   int
}

const guardStack = 64 << 10

// kcmpVM is KCMP_VM: whether two processes share their memory.
const kcmpVM = 1

// startGuardThread creates the epoll set and the pipe and starts the
// guard thread, once per process.
var startGuardThread = sync.OnceValues(func() (*guard, error) {
	// kcmp is how the guard tells this process's own vfork children: it
	// must work (CONFIG_KCMP), or a child's execve could wait for Go.
	self := os.Getpid()
	if r, _, e := unix.RawSyscall6(unix.SYS_KCMP, uintptr(self), uintptr(self), kcmpVM, 0, 0, 0); e != 0 || r != 0 {
		return nil, fmt.Errorf("kcmp(KCMP_VM): %v", e)
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	stack, err := unix.Mmap(-1, 0, guardStack, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_STACK)
	if err != nil {
		unix.Close(epfd)
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, fmt.Errorf("mmap: %w", err)
	}
	top := uintptr(unsafe.Pointer(unsafe.SliceData(stack))) + guardStack
	g := &guard{epfd: epfd, relayR: p[0], relayW: p[1], self: self}

	// The thread inherits the mask of the thread that clones it: every
	// signal blocked, so that no Go signal handler runs on it. The
	// cloning thread is a plain one (no filter): the guard must not carry
	// a filter, or its own system calls would wait for itself.
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if mode, _ := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0); mode != 0 {
			done <- errors.New("this thread is under a seccomp filter")
			return
		}
		var all, old unix.Sigset_t
		for i := range all.Val {
			all.Val[i] = ^uint64(0)
		}
		if err := unix.PthreadSigmask(unix.SIG_SETMASK, &all, &old); err != nil {
			done <- fmt.Errorf("sigprocmask: %w", err)
			return
		}
		tid := startGuard(top, int32(epfd), int32(p[1]), int32(self))
		_ = unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
		if tid < 0 {
			done <- fmt.Errorf("clone: %w", unix.Errno(-tid))
			return
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		return nil, err
	}
	return g, nil
})

// watch adds listener fd to the guard's set, tagged with gen: the epoll
// data the guard relays is gen << 32 | fd (struct epoll_event is packed on
// amd64: EpollEvent's Fd and Pad are its 64-bit data).
func (g *guard) watch(fd int, gen uint32) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(fd), Pad: int32(gen)}
	if err := unix.EpollCtl(g.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

// parseRelay decodes one relayed message.
func parseRelay(b []byte, key *uint64, n *seccompNotif) {
	le := binary.LittleEndian
	*key = le.Uint64(b)
	b = b[8:]
	n.ID, n.Pid, n.Flags = le.Uint64(b), le.Uint32(b[8:]), le.Uint32(b[12:])
	n.Nr, n.Arch, n.IP = int32(le.Uint32(b[16:])), le.Uint32(b[20:]), le.Uint64(b[24:])
	for i := range n.Args {
		n.Args[i] = le.Uint64(b[32+8*i:])
	}
}
