//go:build linux && amd64

package trace

// The link cache: what readlink said about a path (a link, and its
// contents, or no link), kept across the commands traced while the BPF
// programs are loaded. Link resolution read every component of every
// path again after every command: 20 µs of a traced /bin/echo under the
// C locale, 60 µs under a UTF-8 one, more than the rest of the tracing.
//
// Why an entry stays true: a path that names something goes on naming
// the same thing (a link with the same contents, or something that is no
// link) until one of its names is unbound: unlinked, removed, renamed
// from or over, or a mount table change. Creating a name (a new link)
// cannot change what an existing name is; only where nothing was, and
// absent paths are not kept. The BPF programs count unbinding system
// calls of every process, by the hash of the name they unbind (the names
// map, bpf/trace.c), and this file reads the counts from shared memory:
// an entry holds the sum of its names' counts when it was looked up, and
// is used only while that sum is unchanged. A hash collision costs a
// lookup, never a wrong answer. Entries are kept only for paths in a
// directory of a local file system: a network or FUSE file system
// changes without a system call here. io_uring can unbind names without
// these calls: any io_uring_setup, _enter or _register counts as a mount
// change (all entries stale). Not seen: a submission-polling ring set up
// before the programs were loaded, which needs no system call at all.

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// nameSlots is NAMES in bpf/trace.c; the map has nameSlots+1 counters,
// the first counting mount changes.
const nameSlots = 1 << 16

// maxLinkCache bounds the entries kept; the cache is emptied when full.
const maxLinkCache = 1 << 16

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// linkCache is shared by the runs of one loaded bpfTracer.
type linkCache struct {
	counts []uint64 // the names map, memory-mapped (read-only)

	mu      sync.RWMutex
	entries map[string]linkEntry
	dirs    map[string]dirEntry
}

// linkEntry is what readlink said about a path.
type linkEntry struct {
	sum    uint64 // of the counts of its names, before readlink
	link   bool
	target string // the link's contents
}

// dirEntry says whether a directory is on a file system whose changes
// all go through this kernel's system calls.
type dirEntry struct {
	sum   uint64
	local bool
}

// newLinkCache maps the names map of the loaded programs.
func newLinkCache(mapFD int) (*linkCache, error) {
	b, err := unix.Mmap(mapFD, 0, roundPage((nameSlots+1)*8), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	return &linkCache{
		counts:  unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), nameSlots+1),
		entries: make(map[string]linkEntry),
		dirs:    make(map[string]dirEntry),
	}, nil
}

// close unmaps the counts; the cache must not be used after.
func (c *linkCache) close() {
	if c.counts == nil {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&c.counts[0])), roundPage((nameSlots+1)*8))
	c.counts = nil
	_ = unix.Munmap(b)
}

func roundPage(n int) int {
	pg := unix.Getpagesize()
	return (n + pg - 1) / pg * pg
}

// sum adds the counts of the names of absolute path p and of the mount
// changes. The counts only grow, so an unchanged sum means that none of
// them changed.
func (c *linkCache) sum(p string) uint64 {
	s := atomic.LoadUint64(&c.counts[0])
	h, in := uint64(fnvOffset), false
	for i := 0; i < len(p); i++ {
		ch := p[i]
		if ch == '/' {
			if in {
				s += atomic.LoadUint64(&c.counts[1+h&(nameSlots-1)])
			}
			h, in = fnvOffset, false
			continue
		}
		h = (h ^ uint64(ch)) * fnvPrime
		in = true
	}
	if in {
		s += atomic.LoadUint64(&c.counts[1+h&(nameSlots-1)])
	}
	return s
}

// nameCount is the count of name (one path component).
func (c *linkCache) nameCount(name string) uint64 {
	if name == "" {
		return 0
	}
	h := uint64(fnvOffset)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * fnvPrime
	}
	return atomic.LoadUint64(&c.counts[1+h&(nameSlots-1)])
}

// lookup returns the entry for p, if it is still true (its names' sum
// is sum).
func (c *linkCache) lookup(p string, sum uint64) (linkEntry, bool) {
	c.mu.RLock()
	e, ok := c.entries[p]
	c.mu.RUnlock()
	return e, ok && e.sum == sum
}

// known reports whether the cache knows p, and still knows it.
func (c *linkCache) known(p string) bool {
	_, ok := c.lookup(p, c.sum(p))
	return ok
}

// store keeps e for p, a path in directory dir, if dir is on a local
// file system.
func (c *linkCache) store(dir, p string, e linkEntry) {
	if !c.local(dir) {
		return
	}
	c.mu.Lock()
	if len(c.entries) >= maxLinkCache {
		clear(c.entries)
	}
	c.entries[p] = e
	c.mu.Unlock()
}

// localMagic are the file systems whose names change only through this
// kernel's system calls.
var localMagic = map[int64]bool{
	unix.EXT4_SUPER_MAGIC:      true, // also ext2, ext3
	unix.TMPFS_MAGIC:           true,
	unix.XFS_SUPER_MAGIC:       true,
	unix.BTRFS_SUPER_MAGIC:     true,
	unix.OVERLAYFS_SUPER_MAGIC: true,
	unix.F2FS_SUPER_MAGIC:      true,
	unix.RAMFS_MAGIC:           true,
	unix.SQUASHFS_MAGIC:        true,
}

// local reports whether directory dir (resolved, absolute) is on a local
// file system, remembered while the names of dir are unchanged (a mount
// change counts for all).
func (c *linkCache) local(dir string) bool {
	sum := c.sum(dir)
	c.mu.RLock()
	d, ok := c.dirs[dir]
	c.mu.RUnlock()
	if ok && d.sum == sum {
		return d.local
	}
	var st unix.Statfs_t
	local := unix.Statfs(dir, &st) == nil && localMagic[int64(st.Type)]
	c.mu.Lock()
	if len(c.dirs) >= maxLinkCache {
		clear(c.dirs)
	}
	c.dirs[dir] = dirEntry{sum: sum, local: local}
	c.mu.Unlock()
	return local
}
