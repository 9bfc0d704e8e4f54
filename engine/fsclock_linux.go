//go:build linux

package engine

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// FSClockTick is the resolution of CLOCK_REALTIME_COARSE, the clock file
// systems stamp times with where they keep no multigrain timestamps (one
// scheduler tick: 4 ms at HZ=250). ok is false if the kernel will not say,
// or says something implausible (over 100 ms). The result cache (how
// recent a change is too recent to trust, whether a file system keeps
// multigrain timestamps) and the tracers (whether a file was there before
// a command) judge time stamps by it.
func FSClockTick() (res time.Duration, ok bool) {
	var ts unix.Timespec
	if unix.ClockGetres(unix.CLOCK_REALTIME_COARSE, &ts) != nil {
		return 0, false
	}
	res = time.Duration(ts.Nano())
	return res, res > 0 && res <= 100*time.Millisecond
}

// changeTime returns f's change time: a reading of the clock the file
// system stamps files with (see Result.FSStart); zero if unknown.
func changeTime(f *os.File) time.Time {
	fi, err := f.Stat()
	if err != nil {
		return time.Time{}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}
	}
	return time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
}
