//go:build linux && amd64

package trace

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelSigaction is struct sigaction as rt_sigaction(2) takes it on amd64.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const saNoCldStop = 1 // SA_NOCLDSTOP

// quietStops adds SA_NOCLDSTOP to this process's SIGCHLD action, keeping
// the Go runtime's handler. Without it the kernel signals the tracer
// process at every ptrace stop of every tracee, and the Go runtime takes
// (and discards) each signal on some thread: that costs about 40% of a
// stop. With it the process is still signalled when a child exits, not
// when one stops, which neither the runtime nor os/exec uses. A later
// signal.Notify(SIGCHLD) reinstalls the handler without the flag: tracing
// is slower then, not wrong.
var quietStops = sync.OnceFunc(func() {
	var act kernelSigaction
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), 0, uintptr(unsafe.Pointer(&act)), 8, 0, 0); e != 0 {
		return
	}
	if act.handler == 0 || act.handler == 1 || act.flags&saNoCldStop != 0 {
		return // SIG_DFL, SIG_IGN: no signal for stops anyway
	}
	act.flags |= saNoCldStop
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
})
