//go:build !(linux && amd64)

package trace

import (
	"fmt"
	"os/exec"
	"runtime"
	"sync/atomic"
)

var errPlatform = fmt.Errorf("%w: tracing needs Linux on amd64, not %s/%s", ErrUnavailable, runtime.GOOS, runtime.GOARCH)

// Available reports why tracing does not work here: it needs Linux on
// amd64. The error wraps ErrUnavailable.
func Available() error { return errPlatform }

// Process is a traced command; it cannot exist on this platform.
type Process struct{}

// Start fails with an error wrapping ErrUnavailable: run cmd untraced.
func Start(cmd *exec.Cmd, opts Options) (*Process, error) { return nil, errPlatform }

// Wait fails with an error wrapping ErrUnavailable.
func (p *Process) Wait() (*Report, error) { return nil, errPlatform }

// AvailableMode reports why no mode works here.
func AvailableMode(Mode) error { return errPlatform }

func bpfWho() string { return "" }

func mayLoadBPF() bool { return false }

// bpfLoaded is never set: there are no programs to load here.
var bpfLoaded atomic.Bool

// SeccompFilter returns nil: there is no seccomp filter on this platform.
func SeccompFilter() []byte { return nil }

// ebpfAvailable says why there are no BPF programs to load here.
func ebpfAvailable() error { return errPlatform }
