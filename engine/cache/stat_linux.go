//go:build linux

package cache

import (
	"io/fs"
	"syscall"
)

// statOf extracts the identity the memo keys on. ok is false when the
// platform does not expose it, which disables memoisation for the file.
func statOf(fi fs.FileInfo) (st fileStat, ok bool) {
	sys, isStat := fi.Sys().(*syscall.Stat_t)
	if !isStat {
		return fileStat{}, false
	}
	return fileStat{
		dev:   uint64(sys.Dev),
		ino:   sys.Ino,
		size:  sys.Size,
		mtime: sys.Mtim.Sec*1e9 + sys.Mtim.Nsec,
		ctime: sys.Ctim.Sec*1e9 + sys.Ctim.Nsec,
	}, true
}
