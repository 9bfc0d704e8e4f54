//go:build linux

package cache

import (
	"io/fs"
	"syscall"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
)

// clockTick is the resolution of the clock file times are taken from
// (CLOCK_REALTIME_COARSE: one scheduler tick, 4 ms at HZ=250), plus a
// margin; 10 ms if the kernel will not say.
var clockTick = func() time.Duration {
	res, ok := engine.FSClockTick()
	if !ok {
		res = 10 * time.Millisecond
	}
	return res + time.Millisecond
}()

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

// readFile reads a cache entry or memo shard with plain system calls:
// open, fstat, read until EOF, close. os.ReadFile also registers the file
// with the runtime poller, which adds system calls per entry — noticeable
// when a status run reads a thousand entries. The open is non-blocking and
// anything but a regular file of at most maxCacheFileSize bytes is refused
// (engine.ErrNotRegular, engine.ErrTooLarge): an entry replaced by a FIFO
// or a link to /dev/zero is a miss, not a hang or an endless read.
func readFile(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, &fs.PathError{Op: "open", Path: path, Err: engine.ErrNotRegular}
	}
	if st.Size > maxCacheFileSize {
		return nil, &fs.PathError{Op: "read", Path: path, Err: engine.ErrTooLarge}
	}
	buf := make([]byte, 0, max(st.Size+1, 512))
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if len(buf) > maxCacheFileSize {
			return nil, &fs.PathError{Op: "read", Path: path, Err: engine.ErrTooLarge}
		}
	}
}
