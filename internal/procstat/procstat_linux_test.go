//go:build linux

package procstat

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRead reads a real process: this one, and a child whose name holds
// a space and a parenthesis, started in a group of its own.
func TestRead(t *testing.T) {
	self, ok := Read(os.Getpid())
	if !ok || self.PPid != os.Getppid() || self.Pgid != syscall.Getpgrp() {
		t.Fatalf("Read(self) = %+v, %v; want parent %d, group %d", self, ok, os.Getppid(), syscall.Getpgrp())
	}
	sid, _ := unix.Getsid(0)
	if self.Sid != sid || self.State != 'R' {
		t.Fatalf("Read(self) = %+v; want session %d, running", self, sid)
	}
	odd := filepath.Join(t.TempDir(), "a b)c")
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip(err)
	}
	if err := os.Symlink(sleep, odd); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(odd, "10")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	st, ok := Read(cmd.Process.Pid)
	if !ok || st.PPid != os.Getpid() || st.Pgid != cmd.Process.Pid || st.Sid != sid {
		t.Fatalf("Read(child) = %+v, %v; want parent %d, group %d, session %d", st, ok, os.Getpid(), cmd.Process.Pid, sid)
	}
	if _, ok := Read(1 << 30); ok {
		t.Fatal("Read of a pid that cannot exist succeeded")
	}
}
