//go:build !linux

package cache

import (
	"io/fs"
	"os"
	"time"
)

// clockTick is a conservative bound on how far file times lag the clock.
var clockTick = 20 * time.Millisecond

// statOf reports no identity off Linux: without a portable inode and
// change time a memo entry could not be trusted, so files are always read.
func statOf(fi fs.FileInfo) (st fileStat, ok bool) {
	mt := fi.ModTime().UnixNano()
	return fileStat{size: fi.Size(), mtime: mt, ctime: mt}, false
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
