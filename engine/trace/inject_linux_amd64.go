//go:build linux && amd64

package trace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// injectFilter installs the seccomp filter in tracee pid, stopped at the
// SIGTRAP that follows its execve, before its first instruction. It makes
// the tracee itself call seccomp(2): it writes the BPF program below the
// stack pointer, overwrites the first instruction bytes with
// "syscall; int3", runs them with the registers set for the call, and
// restores code and registers. This is what a re-exec shim does from the
// inside, without starting a second program (see Options.Shim).
//
// It returns signals that arrived meanwhile, for the caller to deliver.
func (t *tracer) injectFilter(pid int) ([]unix.Signal, error) {
	var saved unix.PtraceRegs
	if err := unix.PtraceGetRegs(pid, &saved); err != nil {
		return nil, fmt.Errorf("PTRACE_GETREGS: %w", err)
	}
	const userCS64 = 0x33 // a 32-bit process runs with another code segment and ABI
	if saved.Cs != userCS64 {
		return nil, errors.New("not a 64-bit process")
	}

	// struct sock_fprog {u16 len; u64 filter} then the filter, below the
	// red zone. The stack is mapped well beyond that at exec (128 KiB).
	enc := encodedFilter()
	data := make([]byte, 16+len(enc))
	addr := (saved.Rsp - 1024 - uint64(len(data))) &^ 15
	binary.LittleEndian.PutUint16(data[0:], uint16(len(enc)/8))
	binary.LittleEndian.PutUint64(data[8:], addr+16)
	copy(data[16:], enc)
	if err := writeMemory(pid, addr, data); err != nil {
		return nil, fmt.Errorf("writing the filter: %w", err)
	}

	var orig [8]byte
	if _, err := unix.PtracePeekText(pid, uintptr(saved.Rip), orig[:]); err != nil {
		return nil, fmt.Errorf("PTRACE_PEEKTEXT: %w", err)
	}
	code := orig
	code[0], code[1], code[2] = 0x0f, 0x05, 0xcc // syscall; int3
	if _, err := unix.PtracePokeText(pid, uintptr(saved.Rip), code[:]); err != nil {
		return nil, fmt.Errorf("PTRACE_POKETEXT: %w", err)
	}

	var sigs []unix.Signal
	ret, err := t.injectSyscall(pid, &saved, unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, filterFlags, addr, &sigs)
	if err == nil && ret == -int64(unix.EACCES) {
		// Without CAP_SYS_ADMIN the kernel wants no_new_privs first.
		ret, err = t.injectSyscall(pid, &saved, unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, &sigs)
		if err == nil && ret == 0 {
			ret, err = t.injectSyscall(pid, &saved, unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, filterFlags, addr, &sigs)
		}
	}
	// Restore even after a failure: a tracee left with the patched code
	// must not run, so it is killed if that fails too.
	_, perr := unix.PtracePokeText(pid, uintptr(saved.Rip), orig[:])
	rerr := unix.PtraceSetRegs(pid, &saved)
	if perr != nil || rerr != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		return sigs, fmt.Errorf("restoring the tracee after injection: %w", errors.Join(err, perr, rerr))
	}
	if err != nil {
		return sigs, err
	}
	if ret < 0 {
		return sigs, fmt.Errorf("seccomp in tracee: %w", unix.Errno(-ret))
	}
	return sigs, nil
}

// encodedFilter is filterProgram as struct sock_filter in memory.
var encodedFilter = sync.OnceValue(func() []byte {
	prog := filterProgram()
	data := make([]byte, 8*len(prog))
	for i, f := range prog {
		ins := data[8*i:]
		binary.LittleEndian.PutUint16(ins[0:], f.Code)
		ins[2], ins[3] = f.Jt, f.Jf
		binary.LittleEndian.PutUint32(ins[4:], f.K)
	}
	return data
})

// injectSyscall runs the system call nr(a0, a1, a2) in the tracee through
// the "syscall; int3" bytes at saved.Rip and returns its result. Signals
// that stop the tracee first are collected in sigs.
func (t *tracer) injectSyscall(pid int, saved *unix.PtraceRegs, nr, a0, a1, a2 uint64, sigs *[]unix.Signal) (int64, error) {
	r := *saved
	// orig_rax -1: not inside a system call, so resuming does not try to
	// restart one.
	r.Rax, r.Orig_rax = nr, ^uint64(0)
	r.Rdi, r.Rsi, r.Rdx = a0, a1, a2
	if err := unix.PtraceSetRegs(pid, &r); err != nil {
		return 0, fmt.Errorf("PTRACE_SETREGS: %w", err)
	}
	if err := unix.PtraceCont(pid, 0); err != nil {
		return 0, fmt.Errorf("PTRACE_CONT: %w", err)
	}
	for {
		ws, err := t.waitRootStop()
		if err != nil {
			return 0, err
		}
		if ws.StopSignal() == unix.SIGTRAP && ws.TrapCause() <= 0 {
			break // the int3
		}
		*sigs = append(*sigs, ws.StopSignal())
		if err := unix.PtraceCont(pid, 0); err != nil {
			return 0, fmt.Errorf("PTRACE_CONT: %w", err)
		}
	}
	if err := unix.PtraceGetRegs(pid, &r); err != nil {
		return 0, fmt.Errorf("PTRACE_GETREGS: %w", err)
	}
	return int64(r.Rax), nil
}

// writeMemory copies b into the tracee at addr.
func writeMemory(pid int, addr uint64, b []byte) error {
	local := []unix.Iovec{{Base: unsafe.SliceData(b), Len: uint64(len(b))}}
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(b)}}
	n, err := unix.ProcessVMWritev(pid, local, remote, 0)
	if err == nil && n == len(b) {
		return nil
	}
	// process_vm_writev can be filtered out (some container profiles);
	// PTRACE_POKEDATA writes a word at a time.
	for off := 0; off < len(b); off += 8 {
		var word [8]byte
		copy(word[:], b[off:])
		if _, err := unix.PtracePokeData(pid, uintptr(addr)+uintptr(off), word[:]); err != nil {
			return fmt.Errorf("PTRACE_POKEDATA: %w", err)
		}
	}
	return nil
}
