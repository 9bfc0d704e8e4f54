//go:build linux

package engine

import (
	"os"
	"syscall"
	"time"
)

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
