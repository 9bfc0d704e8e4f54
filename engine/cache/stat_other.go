//go:build !linux

package cache

import (
	"io/fs"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
)

// clockTick is a conservative bound on how far file times lag the clock.
var clockTick = 20 * time.Millisecond

// statOf reports no identity off Linux: without a portable inode and
// change time a memo entry could not be trusted, so files are always read.
func statOf(fi fs.FileInfo) (st fileStat, ok bool) {
	mt := fi.ModTime().UnixNano()
	return fileStat{size: fi.Size(), mtime: mt, ctime: mt}, false
}

// readFile reads a cache entry or memo shard: a regular file of at most
// maxCacheFileSize bytes, opened without blocking.
func readFile(path string) ([]byte, error) { return engine.ReadRegular(path, maxCacheFileSize) }
