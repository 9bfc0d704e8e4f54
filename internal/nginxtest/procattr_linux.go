package nginxtest

import "syscall"

// procAttr starts nginx in its own process group (a Ctrl-C to the test
// binary does not race our orderly stop, and no stray worker outlives the
// master), and has the kernel stop it if the test binary dies first.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
