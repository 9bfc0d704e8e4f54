//go:build linux && amd64

package trace

import (
	"cmp"
	"fmt"
	"slices"
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

// leafSize is how many numbers the filter's search compares one by one at
// its leaves; measured fastest to install.
const leafSize = 4

// filterProgram is the seccomp BPF program: SECCOMP_RET_TRACE for the
// native system calls in fileSyscalls and attrSyscalls, SECCOMP_RET_ALLOW for everything
// else. newfstatat and statx with AT_EMPTY_PATH are allowed too: that is
// how glibc and Rust implement fstat, it names no new path, and stopping
// on it would double the stops of a program that opens files.
//
// The numbers are found by binary search, not a chain of comparisons: on
// installation the kernel runs the filter once per system call number to
// cache which ones it always allows, and with a chain installing took
// about 20µs longer, per traced command.
var filterProgram = sync.OnceValue(func() []unix.SockFilter {
	return buildFilter(append(slices.Clone(fileSyscalls), attrSyscalls...), unix.SECCOMP_RET_TRACE)
})

// buildFilter returns a program that returns match for the native system
// calls in entries (but the AT_EMPTY_PATH forms of newfstatat and statx)
// and SECCOMP_RET_ALLOW for everything else.
func buildFilter(entries []sysEntry, match uint32) []unix.SockFilter {
	// Flag argument index of the calls whose AT_EMPTY_PATH form is let through.
	emptyPathArg := map[sysKind]uint32{kStatat: 3, kStatx: 2}
	entries = slices.Clone(entries)
	slices.SortFunc(entries, func(a, b sysEntry) int { return cmp.Compare(a.nr, b.nr) })

	b := filterBuilder{match: match}
	b.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, seccompArch)
	b.jump(unix.BPF_JEQ, nativeArch, next, labelAllow)
	b.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, seccompNr)
	var search func(entries []sysEntry)
	search = func(entries []sysEntry) {
		if len(entries) <= leafSize {
			for i, e := range entries {
				arg, special := emptyPathArg[e.kind]
				if !special {
					miss := next
					if i == len(entries)-1 {
						miss = labelAllow
					}
					b.jump(unix.BPF_JEQ, e.nr, labelTrace, miss)
					continue
				}
				// nr matches: load the flags and decide (the accumulator
				// no longer holds nr, but both branches return); it does
				// not: skip both.
				b.jump(unix.BPF_JEQ, e.nr, next, b.pos()+3)
				b.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, seccompArgs+8*arg)
				b.jump(unix.BPF_JSET, unix.AT_EMPTY_PATH, labelAllow, labelTrace)
			}
			if _, special := emptyPathArg[entries[len(entries)-1].kind]; special {
				b.jump(unix.BPF_JA, 0, labelAllow, labelAllow)
			}
			return
		}
		mid := len(entries) / 2
		ge := b.jump(unix.BPF_JGE, entries[mid].nr, 0, next) // jt set below
		search(entries[:mid])
		b.target(ge, b.pos())
		search(entries[mid:])
	}
	search(entries)
	return b.finish()
}

// Jump targets for filterBuilder.jump: the next instruction, or the
// final return instructions.
const (
	next       = -1
	labelAllow = -2
	labelTrace = -3 // the match action
)

// filterBuilder assembles a BPF program whose jumps name absolute
// instruction indexes or labels; finish turns them into the relative
// offsets BPF wants and appends the two returns.
type filterBuilder struct {
	match  uint32 // the action of labelTrace
	prog   []unix.SockFilter
	jt, jf []int
}

func (b *filterBuilder) pos() int { return len(b.prog) }

func (b *filterBuilder) stmt(code uint16, k uint32) {
	b.prog = append(b.prog, bpfStmt(code, k))
	b.jt, b.jf = append(b.jt, next), append(b.jf, next)
}

// jump appends a conditional jump (BPF_JEQ, BPF_JGE, BPF_JSET) or, with
// BPF_JA, an unconditional one to jt, and returns its index.
func (b *filterBuilder) jump(op uint16, k uint32, jt, jf int) int {
	b.prog = append(b.prog, bpfStmt(unix.BPF_JMP|op|unix.BPF_K, k))
	b.jt, b.jf = append(b.jt, jt), append(b.jf, jf)
	return len(b.prog) - 1
}

func (b *filterBuilder) target(i, jt int) { b.jt[i] = jt }

func (b *filterBuilder) finish() []unix.SockFilter {
	allow, trace := len(b.prog), len(b.prog)+1
	b.stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW)
	b.stmt(unix.BPF_RET|unix.BPF_K, b.match)
	resolve := func(i, target int) uint32 {
		switch target {
		case next:
			return 0
		case labelAllow:
			target = allow
		case labelTrace:
			target = trace
		}
		off := target - i - 1
		if off < 0 || off > 255 && b.prog[i].Code&0xf0 != unix.BPF_JA {
			panic(fmt.Sprintf("trace: seccomp jump from %d to %d out of range", i, target))
		}
		return uint32(off)
	}
	for i := range b.prog {
		if b.prog[i].Code&0x07 != unix.BPF_JMP {
			continue
		}
		if b.prog[i].Code&0xf0 == unix.BPF_JA {
			b.prog[i].K = resolve(i, b.jt[i])
			continue
		}
		b.prog[i].Jt = uint8(resolve(i, b.jt[i]))
		b.prog[i].Jf = uint8(resolve(i, b.jf[i]))
	}
	return b.prog
}

func bpfStmt(code uint16, k uint32) unix.SockFilter {
	return unix.SockFilter{Code: code, K: k}
}

func bpfJump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// filterFlags is SECCOMP_FILTER_FLAG_SPEC_ALLOW (Linux 4.17): the filter
// observes, it is no sandbox, so it must not change the tracee's
// speculative execution mitigations. Without the flag, kernels booted with
// spec_store_bypass_disable=seccomp or spectre_v2_user=seccomp (the
// default before 5.16) force SSBD and IBPB on every filtered task, which
// makes each of the tracee's many context switches costlier.
const filterFlags = 4

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
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, filterFlags, uintptr(unsafe.Pointer(fprog)))
	if e != 0 {
		return e
	}
	return nil
}

// SeccompFilter returns the seccomp program the ptrace backend installs,
// as the kernel reads it (struct sock_filter after struct sock_filter), for
// a tool that must trace exactly the same calls: bench/trace's floor, a
// minimal C tracer, measures what ptrace itself costs under this filter.
func SeccompFilter() []byte {
	prog := filterProgram()
	return slices.Clone(unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), len(prog)*int(unsafe.Sizeof(prog[0]))))
}
