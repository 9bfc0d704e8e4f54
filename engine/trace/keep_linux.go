//go:build linux && amd64

package trace

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cmdt-dev/cmdt/engine"
)

// An open for writing that neither truncates nor must create (O_WRONLY
// without O_TRUNC or O_EXCL) does not replace the file: what it held
// before stays unless the program writes through the descriptor. GNU
// touch opens every file that way before setting its times, so counting
// the open as a write made `touch src.c && make` treat src.c as the run's
// own output, and an edit of src.c was a false hit. Such an open of a file
// that was there before the command is no write: the file stays an input
// wherever the run reads it, and a write through the descriptor moves its
// change time, which the result cache then refuses ("changed during the
// run"). An open that creates the file is a write, as before.
//
// Whether the open creates the file: the ptrace and notification tracers
// decode a call before it runs, so the file is there then or not. The eBPF
// tracer decodes it after, and judges by the file's birth time instead.

// bornMargin is how long before the command's start a file must have been
// born to count as there before it: birth times come from the kernel's
// coarse clock, which lags time.Now by up to a tick. It is the clock's
// resolution (one tick) and a millisecond, at least 2 ms and 10 ms if the
// kernel will not say. A file born within it counts as possibly created by
// the open: a write, as any open for writing used to be.
var bornMargin = sync.OnceValue(func() time.Duration {
	res, ok := engine.FSClockTick()
	if !ok {
		return 10 * time.Millisecond
	}
	return max(res+time.Millisecond, 2*time.Millisecond)
})

// addUntruncated records an O_WRONLY open without O_TRUNC or O_EXCL: as a
// write (a creation) unless the file was there before, which without
// O_CREAT it must be for the open to succeed.
func (d *decoder) addUntruncated(c *call, pid int, dirfd int32, pathAddr, flags uint64) {
	at := uint64(0)
	if flags&unix.O_NOFOLLOW != 0 {
		at = unix.AT_SYMLINK_NOFOLLOW
	}
	n := c.n
	d.add(c, pid, dirfd, pathAddr, at, OpWrite)
	if c.n > n && (flags&unix.O_CREAT == 0 || d.thereBefore(c.paths[n], at != 0)) {
		c.n = n
	}
}

// thereBefore reports whether the file at absolute path p existed before
// the open being decoded: now, when the call has not run yet (every tracer
// but eBPF), else from its birth time (bornEarlier).
func (d *decoder) thereBefore(p string, nofollow bool) bool {
	if d.ev != nil {
		return d.bornEarlier(p, nofollow)
	}
	var st unix.Stat_t
	if nofollow {
		return unix.Lstat(p, &st) == nil
	}
	return unix.Stat(p, &st) == nil
}

// bornEarlier reports whether the file at absolute path p was born before
// d.bornBefore (the command's start less bornMargin). No birth time (a
// file system without one, ramfs; an error) is "no": the open counts as a
// write, and under eBPF `touch src.c && make` then takes src.c for the
// run's output on such a file system.
func (d *decoder) bornEarlier(p string, nofollow bool) bool {
	flags := 0
	if nofollow {
		flags = unix.AT_SYMLINK_NOFOLLOW
	}
	var stx unix.Statx_t
	if unix.Statx(unix.AT_FDCWD, p, flags, unix.STATX_BTIME, &stx) != nil || stx.Mask&unix.STATX_BTIME == 0 {
		return false
	}
	born := stx.Btime.Sec*1e9 + int64(stx.Btime.Nsec)
	return born < d.bornBefore
}
