//go:build unix && !linux

package nginxtest

import "syscall"

// procAttr starts nginx in its own process group. Only Linux can also
// have it stopped when the test binary dies (Pdeathsig).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
