//go:build linux && amd64

package trace

import (
	"encoding/binary"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// userCS64 is the code segment of a 64-bit process; a 32-bit one runs
// with another, and another system call ABI.
const userCS64 = 0x33

// trampoline is the state of a filter installed by injectTrampoline until
// the command's first seccomp stop shows that it works.
type trampoline struct {
	failRIP uint64          // the instruction pointer after the int3 that reports a failure
	saved   unix.PtraceRegs // the registers at the exec stop
}

// injectTrampoline installs the seccomp filter in the command, stopped at
// the SIGTRAP that follows its execve, without stopping it again. It
// writes a few instructions into the unused bytes that end the page of
// code holding the entry point (see elfText), with the filter after them,
// and starts the command there: the code calls seccomp(2) (preceded by
// prctl(PR_SET_NO_NEW_PRIVS) if the kernel asks for it, as injectFilter
// does), puts back the registers the kernel set at exec, and jumps to the
// entry point. The page is the command's private copy: the file and other
// processes are untouched, and no code of the program lives there.
//
// injectFilter, which runs "syscall; int3" over the entry point and
// restores it, costs one stop and its two context switches more per
// command; it remains for what this cannot do (no spare bytes, a 32-bit
// program, /proc/PID/mem not writable), in which case this returns false
// having changed nothing that matters.
//
// If the filter cannot be installed the code executes an int3 instead of
// jumping: the SIGTRAP stop that follows is recognised by its address
// (see trampolineFailed), the registers are restored and the trace goes on
// in ModePtraceAll.
func (t *tracer) injectTrampoline(pid int) bool {
	var saved unix.PtraceRegs
	if err := unix.PtraceGetRegs(pid, &saved); err != nil || saved.Cs != userCS64 {
		return false
	}
	// The kernel runs the last file of the chain it loaded: the dynamic
	// loader, or a static program (possibly the interpreter of a script).
	file := t.rootPath
	if chain := t.interps.of(t.rootPath); len(chain) > 0 {
		file = chain[len(chain)-1]
	}
	text := cachedHead(file).text
	if !text.ok {
		return false
	}
	var base uint64
	if text.dyn {
		base = saved.Rip - text.entry
	} else if saved.Rip != text.entry {
		return false
	}
	at := (base + text.padding + 15) &^ 15
	spare := int64(base+text.padding+text.spare) - int64(at)
	if base+text.entry != saved.Rip || spare <= 0 {
		return false
	}
	// The process must run the version of the file that was read: the
	// file may have been replaced since the exec.
	var code [len(text.atEntry)]byte
	if t.dec.readInto(pid, saved.Rip, code[:]) != len(code) || code != text.atEntry {
		return false
	}

	// The code, then struct sock_fprog and the filter, 16-byte aligned.
	enc := encodedFilter()
	tramp, failOff := trampolineCode(at, 0, &saved) // sized first
	fprog := at + uint64(len(tramp)+15)&^15
	tramp, failOff = trampolineCode(at, fprog, &saved)
	blob := make([]byte, fprog-at+16+uint64(len(enc)))
	copy(blob, tramp)
	hdr := blob[fprog-at:]
	binary.LittleEndian.PutUint16(hdr[0:], uint16(len(enc)/8))
	binary.LittleEndian.PutUint64(hdr[8:], fprog+16)
	copy(hdr[16:], enc)
	if int64(len(blob)) > spare || failOff < 0 {
		return false
	}
	if err := writeCode(pid, at, blob); err != nil {
		return false
	}
	regs := saved
	regs.Rip = at
	// Not inside a system call: resuming must not try to restart one.
	regs.Orig_rax = ^uint64(0)
	if err := unix.PtraceSetRegs(pid, &regs); err != nil {
		return false
	}
	t.tramp = &trampoline{failRIP: at + uint64(failOff) + 1, saved: saved}
	trampolines.Add(1)
	return true
}

// trampolines counts the injections by trampoline, for tests.
var trampolines atomic.Int64

// trampolineFailed handles a SIGTRAP stop of the command while its
// trampoline may still run: if it is the trampoline's int3, the filter is
// missing, and the command is put back at its entry point, to be traced
// in ModePtraceAll.
func (t *tracer) trampolineFailed(pid int) bool {
	var regs unix.PtraceRegs
	if err := unix.PtraceGetRegs(pid, &regs); err != nil || regs.Rip != t.tramp.failRIP {
		return false
	}
	saved := t.tramp.saved
	t.tramp = nil
	if err := unix.PtraceSetRegs(pid, &saved); err != nil {
		_ = unix.Kill(pid, unix.SIGKILL) // it must not run on from the int3
		return true
	}
	t.fallBack()
	return true
}

// trampolineOp is the seccomp(2) operation the trampoline performs; tests
// change it to make the installation fail.
var trampolineOp uint32 = unix.SECCOMP_SET_MODE_FILTER

// trampolineCode assembles the trampoline to run at address at, with the
// struct sock_fprog at fprog, returning to the state in r. failOff is the
// offset of the int3 that reports a failure (-1 if the code cannot be
// made).
func trampolineCode(at, fprog uint64, r *unix.PtraceRegs) (code []byte, failOff int) {
	var b []byte
	u32 := func(v uint32) { b = binary.LittleEndian.AppendUint32(b, v) }
	u64 := func(v uint64) { b = binary.LittleEndian.AppendUint64(b, v) }
	movl := func(op byte, v uint32) { b = append(b, op); u32(v) } // mov $v, %e??
	seccomp := func() {
		movl(0xb8, unix.SYS_SECCOMP) // %eax
		movl(0xbf, trampolineOp)     // %edi
		movl(0xbe, filterFlags)      // %esi
		b = append(b, 0x48, 0xba)    // movabs $fprog, %rdx
		u64(fprog)
		b = append(b, 0x0f, 0x05) // syscall
	}
	var fails []int // offsets of the rel8 of jumps to the int3
	seccomp()
	b = append(b, 0x48, 0x83, 0xf8, byte(0x100-int(unix.EACCES))) // cmp $-EACCES, %rax
	b = append(b, 0x75, 0)                                        // jne check
	toCheck := len(b) - 1
	movl(0xb8, unix.SYS_PRCTL)
	movl(0xbf, unix.PR_SET_NO_NEW_PRIVS)
	movl(0xbe, 1)
	b = append(b, 0x31, 0xd2)       // xor %edx, %edx
	b = append(b, 0x45, 0x31, 0xd2) // xor %r10d, %r10d
	b = append(b, 0x45, 0x31, 0xc0) // xor %r8d, %r8d
	b = append(b, 0x0f, 0x05)       // syscall
	b = append(b, 0x48, 0x85, 0xc0) // test %rax, %rax
	b = append(b, 0x75, 0)          // jne fail
	fails = append(fails, len(b)-1)
	seccomp()
	b[toCheck] = byte(len(b) - toCheck - 1)
	b = append(b, 0x48, 0x85, 0xc0) // check: test %rax, %rax
	b = append(b, 0x75, 0)          // jne fail
	fails = append(fails, len(b)-1)
	// Put back every register the code changed, the flags, and go.
	for _, m := range []struct {
		rex, op byte
		v       uint64
	}{
		{0x48, 0xb8, r.Rax}, {0x48, 0xb9, r.Rcx}, {0x48, 0xba, r.Rdx}, {0x48, 0xbe, r.Rsi},
		{0x48, 0xbf, r.Rdi}, {0x49, 0xb8, r.R8}, {0x49, 0xba, r.R10}, {0x49, 0xbb, r.R11},
	} {
		b = append(b, m.rex, m.op) // movabs $v, %reg
		u64(m.v)
	}
	if r.Eflags >= 1<<31 {
		return nil, -1
	}
	movl(0x68, uint32(r.Eflags)) // push $eflags (below the stack pointer, unused at entry)
	b = append(b, 0x9d)          // popfq
	b = append(b, 0xe9, 0, 0, 0, 0)
	rel := int64(r.Rip) - int64(at) - int64(len(b))
	if rel != int64(int32(rel)) {
		return nil, -1
	}
	binary.LittleEndian.PutUint32(b[len(b)-4:], uint32(int32(rel))) // jmp entry
	failOff = len(b)
	b = append(b, 0xcc) // fail: int3
	for _, f := range fails {
		b[f] = byte(failOff - f - 1)
	}
	return b, failOff
}

// writeCode writes b into tracee pid at addr, in memory it may not write
// itself (its code): through /proc/PID/mem, which a tracer may write with
// the kernel's "force" semantics, like PTRACE_POKETEXT but in one call.
func writeCode(pid int, addr uint64, b []byte) error {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/mem", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	n, err := unix.Pwrite(fd, b, int64(addr))
	if err == nil && n != len(b) {
		err = unix.EIO
	}
	return err
}
