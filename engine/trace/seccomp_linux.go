//go:build linux && amd64

package trace

import (
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// struct seccomp_data offsets.
const (
	seccompNr   = 0
	seccompArch = 4
	seccompArgs = 16 // args[i] at 16+8*i; the low 32 bits first (little-endian)
)

// filterProgram is the seccomp BPF program: SECCOMP_RET_TRACE for the
// native system calls in fileSyscalls, SECCOMP_RET_ALLOW for everything
// else. newfstatat and statx with AT_EMPTY_PATH are allowed too: that is
// how glibc and Rust implement fstat, it names no new path, and stopping
// on it would double the stops of a program that opens files.
var filterProgram = sync.OnceValue(func() []unix.SockFilter {
	// Flag argument index of the calls whose AT_EMPTY_PATH form is let through.
	emptyPathArg := map[sysKind]uint32{kStatat: 3, kStatx: 2}

	n := 3 + 2 // load arch, check arch, load nr ... allow, trace
	for _, s := range fileSyscalls {
		n++
		if _, ok := emptyPathArg[s.kind]; ok {
			n += 2
		}
	}
	allow, trace := n-2, n-1
	prog := make([]unix.SockFilter, 0, n)
	// jump returns the relative offset from the next instruction to target.
	jump := func(target int) uint8 { return uint8(target - len(prog) - 1) }

	prog = append(prog, bpfStmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, seccompArch))
	prog = append(prog, bpfJump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, nativeArch, 0, jump(allow)))
	prog = append(prog, bpfStmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, seccompNr))
	for _, s := range fileSyscalls {
		arg, special := emptyPathArg[s.kind]
		if !special {
			prog = append(prog, bpfJump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, s.nr, jump(trace), 0))
			continue
		}
		// nr matches: load the flags and decide; it does not: skip both.
		prog = append(prog, bpfJump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, s.nr, 0, 2))
		prog = append(prog, bpfStmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, seccompArgs+8*arg))
		prog = append(prog, bpfJump(unix.BPF_JMP|unix.BPF_JSET|unix.BPF_K, unix.AT_EMPTY_PATH, jump(allow), jump(trace)))
	}
	prog = append(prog, bpfStmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW))
	prog = append(prog, bpfStmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_TRACE))
	if len(prog) != n {
		panic(fmt.Sprintf("trace: seccomp program has %d instructions, want %d", len(prog), n))
	}
	return prog
})

func bpfStmt(code uint16, k uint32) unix.SockFilter {
	return unix.SockFilter{Code: code, K: k}
}

func bpfJump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// installFilter installs the filter on the calling thread (the shim calls
// it just before execve; the filter survives the exec). Without
// CAP_SYS_ADMIN the kernel requires no_new_privs first; with it, leaving
// no_new_privs unset keeps setuid programs working as they would untraced.
func installFilter() error {
	prog := filterProgram()
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	err := seccompSetFilter(&fprog)
	if err == unix.EACCES {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
		}
		err = seccompSetFilter(&fprog)
	}
	if err != nil {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w", err)
	}
	return nil
}

func seccompSetFilter(fprog *unix.SockFprog) error {
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(fprog)))
	if e != 0 {
		return e
	}
	return nil
}
