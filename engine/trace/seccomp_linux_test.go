//go:build linux && amd64

package trace

import (
	"encoding/binary"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// runFilter interprets the subset of classic BPF the filter uses, on a
// struct seccomp_data.
func runFilter(t *testing.T, prog []unix.SockFilter, arch, nr uint32, args [6]uint64) uint32 {
	var data [64]byte
	binary.LittleEndian.PutUint32(data[seccompNr:], nr)
	binary.LittleEndian.PutUint32(data[seccompArch:], arch)
	for i, a := range args {
		binary.LittleEndian.PutUint64(data[seccompArgs+8*i:], a)
	}
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			acc = binary.LittleEndian.Uint32(data[in.K:])
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(in.K)
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			var taken bool
			switch in.Code & 0xf0 {
			case unix.BPF_JEQ:
				taken = acc == in.K
			case unix.BPF_JGE:
				taken = acc >= in.K
			case unix.BPF_JSET:
				taken = acc&in.K != 0
			}
			if taken {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		default:
			t.Fatalf("instruction %d: unexpected code %#x", pc, in.Code)
		}
	}
	t.Fatal("fell off the end of the filter")
	return 0
}

func TestFilterProgram(t *testing.T) {
	prog := filterProgram()
	traced := make(map[uint32]sysKind)
	for _, s := range append(slices.Clone(fileSyscalls), attrSyscalls...) {
		traced[s.nr] = s.kind
	}
	for nr := uint32(0); nr < 600; nr++ {
		want := uint32(unix.SECCOMP_RET_ALLOW)
		if _, ok := traced[nr]; ok {
			want = unix.SECCOMP_RET_TRACE
		}
		if got := runFilter(t, prog, nativeArch, nr, [6]uint64{}); got != want {
			t.Errorf("syscall %d: filter returns %#x, want %#x", nr, got, want)
		}
		if got := runFilter(t, prog, unix.AUDIT_ARCH_I386, nr, [6]uint64{}); got != unix.SECCOMP_RET_ALLOW {
			t.Errorf("i386 syscall %d: filter returns %#x, want ALLOW", nr, got)
		}
	}
	// fstat through newfstatat/statx with AT_EMPTY_PATH runs free; with
	// other flags they stop.
	for nr, flagArg := range map[uint32]int{unix.SYS_NEWFSTATAT: 3, unix.SYS_STATX: 2} {
		var args [6]uint64
		args[flagArg] = unix.AT_EMPTY_PATH | unix.AT_SYMLINK_NOFOLLOW
		if got := runFilter(t, prog, nativeArch, nr, args); got != unix.SECCOMP_RET_ALLOW {
			t.Errorf("syscall %d with AT_EMPTY_PATH: %#x, want ALLOW", nr, got)
		}
		args[flagArg] = unix.AT_SYMLINK_NOFOLLOW
		if got := runFilter(t, prog, nativeArch, nr, args); got != unix.SECCOMP_RET_TRACE {
			t.Errorf("syscall %d without AT_EMPTY_PATH: %#x, want TRACE", nr, got)
		}
	}
	if got := runFilter(t, prog, nativeArch, 0x40000000|unix.SYS_OPENAT, [6]uint64{}); got != unix.SECCOMP_RET_ALLOW {
		t.Errorf("x32 openat: %#x, want ALLOW", got)
	}
}

// TestSeccompFilterIsTheInstalledProgram: the bytes SeccompFilter hands to
// other tracers (bench/trace's C floor) are the program the ptrace backend
// installs, instruction for instruction, in the kernel's layout.
func TestSeccompFilterIsTheInstalledProgram(t *testing.T) {
	raw, prog := SeccompFilter(), filterProgram()
	if len(raw) != 8*len(prog) {
		t.Fatalf("SeccompFilter: %d bytes for %d instructions", len(raw), len(prog))
	}
	for i, ins := range prog {
		b := raw[8*i:]
		got := unix.SockFilter{Code: uint16(b[0]) | uint16(b[1])<<8, Jt: b[2], Jf: b[3],
			K: uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24}
		if got != ins {
			t.Fatalf("instruction %d: %+v, installed %+v", i, got, ins)
		}
	}
}
