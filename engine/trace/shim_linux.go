//go:build linux && amd64

package trace

import (
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// shimEnv marks a process started as the re-exec shim: /proc/self/exe
// with the command's argv and environment plus this variable. Its value is
// shimExec followed by the program path, or shimProbe.
const (
	shimEnv   = "CMDT_TRACE_SHIM"
	shimExec  = "exec:"
	shimProbe = "probe"
)

// probePath is what the probe shim stats so that Available can check the
// tracer saw it.
const probePath = "/"

// Every binary that imports this package can serve as the shim. When the
// variable is absent (always, except in the shim) this costs one getenv.
func init() {
	if v, ok := syscall.Getenv(shimEnv); ok {
		runShim(v)
	}
}

// runShim runs in the traced child, on the main thread, before main. It
// never returns.
//
// As shim (Options.Shim) it installs the seccomp filter and executes the
// real program, which inherits the filter. It reports nothing: the tracer
// sees the filter at work when the execve stops at it, and sees an exec
// failure as the shim's exit status, which is the errno.
//
// As probe (Available) it makes one system call the tracer must observe.
func runShim(v string) {
	if v == shimProbe {
		_ = unix.Access(probePath, unix.F_OK)
		os.Exit(0)
	}
	path, ok := strings.CutPrefix(v, shimExec)
	if !ok {
		os.Exit(125)
	}
	env := os.Environ()
	kept := env[:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, shimEnv+"=") {
			kept = append(kept, kv)
		}
	}
	// A filter that cannot be installed is not fatal: the tracer notices
	// the execve did not stop and falls back to ModePtraceAll.
	_ = installFilter()
	err := unix.Exec(path, os.Args, kept)
	errno, ok := err.(syscall.Errno)
	if !ok || errno == 0 || errno > 255 {
		errno = unix.ENOEXEC
	}
	os.Exit(int(errno))
}
