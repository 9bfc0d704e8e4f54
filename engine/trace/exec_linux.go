//go:build linux && amd64

package trace

import (
	"bytes"
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"
)

// maxInterpDepth is the kernel's limit on nested interpreters
// (BINPRM_MAX_RECURSION): a script whose interpreter is a script...
const maxInterpDepth = 4

// interpCache remembers the interpreters of each executable for one trace:
// a shell loop runs the same few programs many times.
type interpCache map[string][]string

// of lists the files the kernel opens, without a system call of the
// tracee, to execute path: the #! interpreter of a script (and its own
// interpreters), and the ELF program interpreter (the dynamic loader).
func (c interpCache) of(path string) []string {
	if list, ok := c[path]; ok {
		return list
	}
	var list []string
	for p, depth := path, 0; depth < maxInterpDepth; depth++ {
		next, ok := cachedInterpreterOf(p)
		// A relative #! interpreter is looked up from the working
		// directory at exec time; rare enough to leave out.
		if !ok || next == "" || next[0] != '/' {
			break
		}
		list = append(list, next)
		p = next
	}
	c[path] = list
	return list
}

// fileID tells versions of a file apart: writing, replacing or touching
// it changes at least one field.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime unix.Timespec
}

// maxInterpMemo bounds interpMemo; it is emptied when full.
const maxInterpMemo = 4096

// interpMemo remembers interpreterOf across traces, by path and version:
// every traced command execs its program, and reading the head of it and
// of its dynamic loader cost four system calls each, against one stat.
var interpMemo struct {
	sync.Mutex
	m map[string]interpMemoEntry
}

type interpMemoEntry struct {
	id     fileID
	interp string
	ok     bool
}

// cachedInterpreterOf is interpreterOf, remembered while the file keeps
// its identity (device, inode, size, change and modification times).
func cachedInterpreterOf(path string) (string, bool) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", false
	}
	id := fileID{dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim, ctime: st.Ctim}
	interpMemo.Lock()
	e, hit := interpMemo.m[path]
	interpMemo.Unlock()
	if hit && e.id == id {
		return e.interp, e.ok
	}
	// If the file changes between the stat and the read, the entry holds
	// the new head under the old identity, which no later stat returns.
	interp, ok := interpreterOf(path)
	interpMemo.Lock()
	if interpMemo.m == nil || len(interpMemo.m) >= maxInterpMemo {
		interpMemo.m = make(map[string]interpMemoEntry)
	}
	interpMemo.m[path] = interpMemoEntry{id, interp, ok}
	interpMemo.Unlock()
	return interp, ok
}

// interpreterOf reads the head of an executable: the first word after #!
// for a script, the PT_INTERP path for an ELF file. ok is false if the
// file cannot be read.
func interpreterOf(path string) (string, bool) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", false
	}
	defer unix.Close(fd)
	// The kernel reads at most this much of a #! line (BINPRM_BUF_SIZE).
	var head [256]byte
	n, err := unix.Pread(fd, head[:], 0)
	if err != nil {
		return "", false
	}
	b := head[:n]
	if bytes.HasPrefix(b, []byte("#!")) {
		line := b[2:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		fields := bytes.Fields(line)
		if len(fields) == 0 {
			return "", true
		}
		return string(fields[0]), true
	}
	return elfInterp(fd, b), true
}

// elfInterp returns the PT_INTERP path of the ELF file whose first bytes
// are head, or "" (static binary, not ELF, unreadable).
func elfInterp(fd int, head []byte) string {
	if len(head) < 52 || !bytes.HasPrefix(head, []byte("\x7fELF")) {
		return ""
	}
	var order binary.ByteOrder = binary.LittleEndian
	if head[5] == 2 {
		order = binary.BigEndian
	}
	var phoff, phentsize, phnum uint64
	is64 := head[4] == 2
	if is64 {
		if len(head) < 64 {
			return ""
		}
		phoff = order.Uint64(head[0x20:])
		phentsize = uint64(order.Uint16(head[0x36:]))
		phnum = uint64(order.Uint16(head[0x38:]))
	} else {
		phoff = uint64(order.Uint32(head[0x1c:]))
		phentsize = uint64(order.Uint16(head[0x2a:]))
		phnum = uint64(order.Uint16(head[0x2c:]))
	}
	if phentsize < 32 || phnum == 0 || phnum > 64 {
		return ""
	}
	phdrs := make([]byte, phentsize*phnum)
	if n, err := unix.Pread(fd, phdrs, int64(phoff)); err != nil || n != len(phdrs) {
		return ""
	}
	const ptInterp = 3
	for i := uint64(0); i < phnum; i++ {
		ph := phdrs[i*phentsize:]
		if order.Uint32(ph) != ptInterp {
			continue
		}
		var off, size uint64
		if is64 {
			off, size = order.Uint64(ph[8:]), order.Uint64(ph[32:])
		} else {
			off, size = uint64(order.Uint32(ph[4:])), uint64(order.Uint32(ph[16:]))
		}
		if size == 0 || size > unix.PathMax {
			return ""
		}
		buf := make([]byte, size)
		if n, err := unix.Pread(fd, buf, int64(off)); err != nil || n != len(buf) {
			return ""
		}
		return string(bytes.TrimRight(buf, "\x00"))
	}
	return ""
}
