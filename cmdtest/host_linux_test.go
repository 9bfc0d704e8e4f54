//go:build linux

package cmdtest_test

import (
	"os/exec"
	"syscall"
	"testing"

	"github.com/cmdt-dev/cmdt/cmdtest"
)

// TestHostChildrenLeftAlone: cmdtest runs inside the user's test process,
// whose own children are not the engine's to kill. A child the test
// started in a session of its own (as a test server often is) is alive
// after a transcript ran programs and ended.
func TestHostChildrenLeftAlone(t *testing.T) {
	own := exec.Command("sleep", "30")
	own.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := own.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = own.Process.Kill(); _ = own.Wait() }()
	cmdtest.CheckText(t, "$ /bin/echo hi\n1 hi\n")
	if err := own.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the test's own setsid child is gone after a transcript ran: %v", err)
	}
}
