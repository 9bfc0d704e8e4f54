//go:build linux && amd64

package trace

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary act as a small traced program (see
// helpers) instead of running tests, so the tests control exactly which
// system calls the tracee makes, without a C compiler.
const helperEnv = "CMDT_TRACE_TEST_HELPER"

func TestMain(m *testing.M) {
	if name, ok := os.LookupEnv(helperEnv); ok {
		os.Exit(runHelper(name, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helperCmd returns a command running helper name with args.
func helperCmd(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	cmd.Stderr = os.Stderr
	return cmd
}

// helperAsNobody runs helper name in a copy of the test binary as user
// nobody (uid 65534, who may neither load BPF programs nor ptrace without
// the usual rules), and returns its output. It needs root.
func helperAsNobody(t *testing.T, name string) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root to run the test binary as another user")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "cmdt-trace-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "trace.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

var helpers = map[string]func(args []string) error{
	// openat DIR: open DIR as a descriptor, then work relative to it.
	"openat": func(args []string) error {
		dirfd, err := unix.Open(args[0], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		fd, err := unix.Openat(dirfd, "f1", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		unix.Close(fd)
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, "f2", &st, 0); err != nil {
			return err
		}
		if err := unix.Fstatat(dirfd, "missing", &st, 0); err != unix.ENOENT {
			return fmt.Errorf("fstatat missing: %v", err)
		}
		return unix.Faccessat(dirfd, "f3", unix.F_OK, 0)
	},
	// chdir DIR: chdir to DIR, then open relative paths.
	"chdir": func(args []string) error {
		if err := os.Chdir(args[0]); err != nil {
			return err
		}
		for _, p := range []string{"rel", "./sub/../sub/file"} {
			fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			unix.Close(fd)
		}
		return nil
	},
	// threads DIR N: N threads at once, each opening DIR/tI.
	"threads": func(args []string) error {
		n, _ := strconv.Atoi(args[1])
		var ready, wg sync.WaitGroup
		ready.Add(n)
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread() // one OS thread per goroutine
				ready.Done()
				ready.Wait() // all threads exist before anyone opens
				fd, err := unix.Open(filepath.Join(args[0], "t"+strconv.Itoa(i)), unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					errs <- err
					return
				}
				unix.Close(fd)
			}()
		}
		wg.Wait()
		close(errs)
		return <-errs
	},
	// stat PATH: stat a path that must not exist.
	"stat": func(args []string) error {
		var st unix.Stat_t
		if err := unix.Stat(args[0], &st); err != unix.ENOENT {
			return fmt.Errorf("stat: %v, want ENOENT", err)
		}
		return nil
	},
	// rdwrcreate PATH: open PATH read-write, creating it.
	"rdwrcreate": func(args []string) error {
		fd, err := unix.Open(args[0], unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return err
		}
		return unix.Close(fd)
	},
	// pgid: print the process id and the process group id.
	"pgid": func([]string) error {
		_, err := fmt.Println(unix.Getpid(), unix.Getpgrp())
		return err
	},
	// spawn PROG ARGS...: run a program the Go way (clone with
	// CLONE_VFORK), output to ours.
	"spawn": func(args []string) error {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd.Run()
	},
	// available: print what Available says from inside a traced process.
	"available": func([]string) error {
		_, err := fmt.Println(Available())
		return err
	},
}

func runHelper(name string, args []string) int {
	h := helpers[name]
	if h == nil {
		fmt.Fprintf(os.Stderr, "unknown helper %q\n", name)
		return 2
	}
	if err := h(args); err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", name, err)
		return 1
	}
	return 0
}
