//go:build linux && amd64

package trace

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cmdt-dev/cmdt/engine"
)

// sysKind is the argument shape of a decoded system call. The per-arch
// table (fileSyscalls) maps numbers to kinds; decoding is shared.
type sysKind uint8

const (
	kNone       sysKind = iota
	kOpen               // open(path, flags, mode)
	kOpenat             // openat(dirfd, path, flags, mode)
	kOpenat2            // openat2(dirfd, path, how, size)
	kCreat              // creat(path, mode)
	kStat               // stat, access: (path, ...)
	kLstat              // lstat, readlink: (path, ...), the last component not followed
	kStatat             // newfstatat(dirfd, path, buf, flags)
	kStatx              // statx(dirfd, path, flags, mask, buf)
	kAccessat           // faccessat(dirfd, path, mode)
	kAccessat2          // faccessat2(dirfd, path, mode, flags)
	kReadlinkat         // readlinkat(dirfd, path, buf, size)
	kExecve             // execve(path, argv, envp)
	kExecveat           // execveat(dirfd, path, argv, envp, flags)
	kWrite              // truncate, mkdir, rmdir, unlink, mknod: (path, ...)
	kWriteat            // mkdirat, mknodat, unlinkat: (dirfd, path, ...)
	kRename             // rename(old, new)
	kRenameat           // renameat, renameat2: (olddirfd, old, newdirfd, new, ...)
	kLink               // link(old, new)
	kLinkat             // linkat(olddirfd, old, newdirfd, new, flags)
	kSymlink            // symlink(target, linkpath)
	kSymlinkat          // symlinkat(target, newdirfd, linkpath)
	kChdir              // chdir, fchdir: recorded nowhere, but cached working directories go stale
)

// sysEntry maps a system call number to its kind.
type sysEntry struct {
	nr   uint32
	kind sysKind
}

// maxSyscall bounds the lookup table; every decoded number is below it.
const maxSyscall = 512

// kindTable maps a system call number to its kind, built on first use so
// that binaries importing this package pay nothing at start-up.
var kindTable = sync.OnceValue(func() *[maxSyscall]sysKind {
	var t [maxSyscall]sysKind
	for _, s := range fileSyscalls {
		t[s.nr] = s.kind
	}
	return &t
})

func kindOf(nr uint64) sysKind {
	if nr >= maxSyscall {
		return kNone
	}
	return kindTable()[nr]
}

// atFDCWD is AT_FDCWD as the 32-bit int the kernel reads from a dirfd
// argument.
const atFDCWD = int32(unix.AT_FDCWD)

// call is a decoded system call: the paths it names (absolute) and what
// it does to each. Outside exact mode (see decoder.exact), an access that
// is not a write comes with its existence, checked at entry (see
// decoder.exists); the rest waits for the exit stop and its return value.
type call struct {
	n      int
	paths  [2]string
	ops    [2]Op
	exists [2]bool // checked at entry (not in exact mode, not for OpWrite)
	// linkFree: the entry check found that the path's last component
	// was not a symbolic link (see decoder.exists).
	linkFree [2]bool
	chdir    bool   // a chdir or fchdir: invalidate cached working directories at exit too
	nr       uint64 // the system call
}

func (c *call) add(path string, op Op, exists, linkFree bool) {
	if c.n < len(c.paths) {
		c.paths[c.n], c.ops[c.n], c.exists[c.n], c.linkFree[c.n] = path, op, exists, linkFree
		c.n++
	}
}

// keepWrites drops every access but the writes, once the others have been
// recorded at entry.
func (c *call) keepWrites() {
	n := 0
	for i := 0; i < c.n; i++ {
		if c.ops[i] == OpWrite {
			c.paths[n], c.ops[n], c.exists[n], c.linkFree[n] = c.paths[i], c.ops[i], c.exists[i], c.linkFree[i]
			n++
		}
	}
	c.n = n
}

// decoder reads system call arguments out of a stopped tracee. It keeps
// its buffers between calls: it runs on the tracer's hot path.
type decoder struct {
	rec *recorder
	// exact: existence comes from the return value at the exit stop
	// (ModePtraceAll, Options.ExactResults), not from a check at entry.
	exact  bool
	buf    [unix.PathMax]byte
	sbuf   [2*unix.PathMax + 2]byte // the path to check, NUL-terminated
	st     unix.Stat_t
	local  [1]unix.Iovec
	remote [1]unix.RemoteIovec
	// cwdGen counts chdir and fchdir calls of any tracee. A cached working
	// directory is valid while the count has not moved: threads share
	// their directory, so any chdir may change any tracee's.
	cwdGen uint64
	// base is an O_PATH descriptor of directory basePath (when hasBase),
	// opened while cwdGen was baseGen, for the existence checks of paths
	// relative to it: a name looked up from a descriptor costs less than
	// the same path looked up from /, component by component.
	base     int
	hasBase  bool
	basePath string
	baseGen  uint64

	tr *tracee // the tracee being decoded

	// ev, when set, is the event the eBPF tracer decodes: paths come from
	// it, and working directories and descriptors from its process state,
	// not from the tracee's memory and /proc (see ebpf_linux.go).
	ev *eventSource
	// lastAbs is the absolute path the last add resolved, ignored or not
	// (the eBPF tracer follows descriptors and directory changes with it).
	lastAbs string
	// cleanBase is the last base of a relative path found clean (cleanAbs).
	cleanBase string

	// unotify: the seccomp user notification tracer decodes. It sees no
	// chdir (the filter cannot stop it: see unotify_linux.go), so working
	// directories are read from /proc every time; and it sees no call's
	// exit, so a write's target is checked before the call too (whether
	// the write succeeded is judged from its state after).
	unotify bool

	// bornBefore: a file born (statx btime) before this, in nanoseconds,
	// existed before the traced command started (keep_linux.go).
	bornBefore int64
}

// baseDir returns a descriptor of directory dir (see decoder.base).
func (d *decoder) baseDir(dir string) (int, bool) {
	if d.hasBase && d.basePath == dir && d.baseGen == d.cwdGen {
		return d.base, true
	}
	d.close()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	d.base, d.hasBase, d.basePath, d.baseGen = fd, true, dir, d.cwdGen
	return fd, true
}

// close releases the decoder's descriptor, at the end of a trace.
func (d *decoder) close() {
	if d.hasBase {
		unix.Close(d.base)
		d.hasBase = false
	}
}

// cwd is the working directory of tracee pid, cached in its state:
// reading /proc/PID/cwd for every relative path is a measurable part of a
// stop.
func (d *decoder) cwd(pid int) (string, bool) {
	if d.ev != nil {
		return d.ev.cwd()
	}
	tr := d.tr
	if d.unotify {
		return readlink(procPath(pid, "cwd"))
	}
	if tr.cwd != "" && tr.cwdGen == d.cwdGen {
		return tr.cwd, true
	}
	cwd, ok := readlink(procPath(pid, "cwd"))
	if ok {
		tr.cwd, tr.cwdGen = cwd, d.cwdGen
	}
	return cwd, ok
}

// decode fills tr.call with the paths that the call (number nr, arguments
// a) of tracee pid names, dropping ignored ones and, outside exact mode,
// accesses other than writes that are recorded already (the first one is
// kept: see Report.Accesses). It also notes the path of an execve for the
// exec event (tracee.execPath).
func (d *decoder) decode(pid int, tr *tracee, nr uint64, a *[6]uint64) {
	c := &tr.call
	c.n, c.chdir, c.nr = 0, false, nr
	d.tr = tr
	switch kindOf(nr) {
	case kOpen:
		d.addOpen(c, pid, atFDCWD, a[0], a[1])
	case kOpenat:
		d.addOpen(c, pid, int32(a[0]), a[1], a[2])
	case kOpenat2:
		// struct open_how starts with the u64 flags.
		var how [8]byte
		if d.read(pid, a[2], how[:]) {
			d.addOpen(c, pid, int32(a[0]), a[1], binary.NativeEndian.Uint64(how[:]))
		}
	case kCreat:
		d.addOpen(c, pid, atFDCWD, a[0], unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC)
	case kStat:
		d.add(c, pid, atFDCWD, a[0], 0, OpStat)
	case kLstat:
		d.add(c, pid, atFDCWD, a[0], unix.AT_SYMLINK_NOFOLLOW, OpStat)
	case kStatat, kAccessat2:
		d.add(c, pid, int32(a[0]), a[1], a[3], OpStat)
	case kStatx:
		d.add(c, pid, int32(a[0]), a[1], a[2], OpStat)
	case kAccessat:
		d.add(c, pid, int32(a[0]), a[1], 0, OpStat)
	case kReadlinkat:
		d.add(c, pid, int32(a[0]), a[1], unix.AT_SYMLINK_NOFOLLOW, OpStat)
	case kExecve:
		tr.execPath = ""
		d.add(c, pid, atFDCWD, a[0], 0, OpExec)
	case kExecveat:
		tr.execPath = ""
		d.add(c, pid, int32(a[0]), a[1], a[4], OpExec)
	case kWrite:
		d.add(c, pid, atFDCWD, a[0], 0, OpWrite)
	case kWriteat:
		d.add(c, pid, int32(a[0]), a[1], 0, OpWrite)
	case kRename:
		d.add(c, pid, atFDCWD, a[0], 0, OpWrite)
		d.add(c, pid, atFDCWD, a[1], 0, OpWrite)
	case kRenameat:
		d.add(c, pid, int32(a[0]), a[1], 0, OpWrite)
		d.add(c, pid, int32(a[2]), a[3], 0, OpWrite)
	case kLink:
		d.add(c, pid, atFDCWD, a[0], 0, OpStat)
		d.add(c, pid, atFDCWD, a[1], 0, OpWrite)
	case kLinkat:
		d.add(c, pid, int32(a[0]), a[1], a[4], OpStat)
		d.add(c, pid, int32(a[2]), a[3], 0, OpWrite)
	case kSymlink:
		d.add(c, pid, atFDCWD, a[1], 0, OpWrite)
	case kSymlinkat:
		d.add(c, pid, int32(a[1]), a[2], 0, OpWrite)
	case kChdir:
		d.cwdGen++
		c.chdir = true
	}
}

// addOpen records an open by its flags: O_PATH only looks the path up,
// O_DIRECTORY lists it, write access or O_CREAT/O_TRUNC changes it. An
// O_RDWR (or O_RDONLY|O_CREAT) open of an existing file also reads it,
// and the read is recorded first so that Classify keeps it as an input.
func (d *decoder) addOpen(c *call, pid int, dirfd int32, pathAddr, flags uint64) {
	acc := flags & unix.O_ACCMODE
	var at uint64 // the *at flags that apply to the existence check
	if flags&unix.O_NOFOLLOW != 0 {
		at = unix.AT_SYMLINK_NOFOLLOW
	}
	switch {
	case flags&unix.O_TMPFILE == unix.O_TMPFILE:
		// An unnamed file in the directory: no path is read or made.
	case flags&unix.O_PATH != 0:
		d.add(c, pid, dirfd, pathAddr, at, OpStat)
	case acc == unix.O_WRONLY && flags&(unix.O_TRUNC|unix.O_EXCL) == 0:
		d.addUntruncated(c, pid, dirfd, pathAddr, flags)
	case flags&unix.O_TRUNC != 0 || acc == unix.O_WRONLY:
		d.add(c, pid, dirfd, pathAddr, at, OpWrite)
	case acc == unix.O_RDWR || flags&unix.O_CREAT != 0:
		d.add(c, pid, dirfd, pathAddr, at, OpRead, OpWrite)
	case flags&unix.O_DIRECTORY != 0:
		d.add(c, pid, dirfd, pathAddr, at, OpReaddir)
	default:
		d.add(c, pid, dirfd, pathAddr, at, OpRead)
	}
}

// add resolves the path argument at pathAddr (relative to dirfd) and adds
// it to c, once per op, unless it is ignored. An empty path with
// AT_EMPTY_PATH names dirfd itself: that is an fstat or fexecve, and only
// the exec is new information (the open of the descriptor was recorded
// already). flags are the call's *at flags: AT_EMPTY_PATH, and
// AT_SYMLINK_NOFOLLOW for the existence check.
//
// Outside exact mode the existence of the path is checked now, for the
// ops that are not writes and not recorded yet.
func (d *decoder) add(c *call, pid int, dirfd int32, pathAddr, flags uint64, ops ...Op) {
	p, ok := d.readString(pid, pathAddr)
	if !ok {
		return
	}
	var abs, base string
	if p == "" {
		if flags&unix.AT_EMPTY_PATH == 0 || ops[0] != OpExec || dirfd == atFDCWD {
			return // ENOENT, or nothing new
		}
		abs, ok = d.fdPath(pid, dirfd)
	} else {
		abs, base, ok = d.resolve(pid, dirfd, p)
		if ok && strings.HasPrefix(abs, "/proc/") {
			if real, isAlias := d.procAlias(pid, abs); isAlias {
				abs, base, p = real, "", real
			}
		}
	}
	if !ok {
		return
	}
	d.lastAbs = abs
	if d.rec.ignored(abs) {
		return
	}
	if ops[0] == OpExec {
		d.tr.execPath = abs
	}
	for _, op := range ops {
		exists, linkFree := false, false
		if d.unotify && op == OpWrite {
			exists, _ = d.exists(base, p, true)
		}
		if !d.exact && op != OpWrite {
			if d.rec.has(abs, op) {
				continue // the first access is what counts, and it is recorded
			}
			if p == "" {
				exists = true // an fexecve, of a descriptor that is open
			} else {
				exists, linkFree = d.exists(base, p, flags&unix.AT_SYMLINK_NOFOLLOW != 0)
			}
		}
		c.add(abs, op, exists, linkFree)
	}
}

// resolve makes p absolute the way the kernel would look it up: relative
// to the tracee's working directory or to the directory open as dirfd,
// which it also returns (base, "" for an absolute p). The result is
// lexically cleaned; symbolic links are left alone.
func (d *decoder) resolve(pid int, dirfd int32, p string) (abs, base string, ok bool) {
	if strings.HasPrefix(p, "/") {
		return filepath.Clean(p), "", true
	}
	if dirfd == atFDCWD {
		base, ok = d.cwd(pid)
	} else {
		base, ok = d.fdPath(pid, dirfd)
	}
	if !ok {
		return "", "", false
	}
	if engine.IsCleanRel(p) && d.cleanAbs(base) {
		// What filepath.Join would return, without its cleaning pass (a
		// relative open of a plain name, as cat does, is the usual case).
		if base == "/" {
			return "/" + p, base, true
		}
		return base + "/" + p, base, true
	}
	return filepath.Join(base, p), base, true
}

// cleanAbs is engine.IsCleanAbs, remembering the last base found clean:
// a working directory is the base of most paths, the same string each
// time (comparing it with itself costs nothing).
func (d *decoder) cleanAbs(base string) bool {
	if base == d.cleanBase && base != "" {
		return true
	}
	if !engine.IsCleanAbs(base) {
		return false
	}
	d.cleanBase = base
	return true
}

// exists reports whether path p, as written by the tracee and relative to
// base (its working directory or dirfd) unless absolute, exists now. The
// tracer checks it itself, at the tracee's entry stop, instead of waiting
// for the call's return value at its exit stop, which would cost a second
// stop per call. The path is looked up as written, not cleaned ("a/../b"
// needs a), following a final symbolic link unless nofollow, as the call
// does. Like the call's outcome, ENOENT and ENOTDIR mean absent and any
// other error (EACCES, ELOOP) means the path is there.
//
// The answer can differ from the call's only if another process creates or
// removes the path between this check and the call: see docs/tracing.md.
//
// The check is an lstat, followed by a stat only for a symbolic link to
// follow. linkFree reports that the last component of the cleaned path
// (Access.Path) was no symbolic link, or was absent: resolveLinks then
// needs no system call of its own for it.
func (d *decoder) exists(base, p string, nofollow bool) (exists, linkFree bool) {
	b := d.sbuf[:0]
	dirfd := unix.AT_FDCWD
	if p[0] != '/' {
		var ok bool
		if dirfd, ok = d.baseDir(base); !ok {
			dirfd = unix.AT_FDCWD
			b = append(append(b, base...), '/')
		}
	}
	b = append(b, p...)
	if len(b) >= len(d.sbuf) {
		return true, false // ENAMETOOLONG: the call fails, but not for absence
	}
	b = append(b, 0)
	switch e := fstatat(dirfd, &b[0], &d.st, unix.AT_SYMLINK_NOFOLLOW); {
	case e == unix.ENOENT || e == unix.ENOTDIR:
		return false, plainLast(p)
	case e != 0:
		return true, false // EACCES, ELOOP...: there, for the call too
	case d.st.Mode&unix.S_IFMT != unix.S_IFLNK:
		return true, plainLast(p)
	case nofollow:
		return true, false
	}
	e := fstatat(dirfd, &b[0], &d.st, 0)
	return e != unix.ENOENT && e != unix.ENOTDIR, false
}

// plainLast reports whether the last component of path p, as written, is
// the last component of the cleaned path in the same directory: no
// trailing slash (which follows a link), ".", or "..".
func plainLast(p string) bool {
	return p[len(p)-1] != '/' && !strings.HasSuffix(p, "/.") && p != "." && !strings.Contains(p, "..")
}

// fstatat is fstatat(2) without allocation: path is NUL-terminated.
func fstatat(dirfd int, path *byte, st *unix.Stat_t, flags int) unix.Errno {
	_, _, e := unix.Syscall6(unix.SYS_NEWFSTATAT, uintptr(dirfd), uintptr(unsafe.Pointer(path)),
		uintptr(unsafe.Pointer(st)), uintptr(flags), 0, 0)
	return e
}

// pathExists reports whether absolute path p exists, following symbolic
// links (the interpreters of an exec).
func (d *decoder) pathExists(p string) bool {
	exists, _ := d.exists("", p, false)
	return exists
}

// fdPath is the path of tracee pid's descriptor fd, if it names a file
// (not a pipe or socket).
func (d *decoder) fdPath(pid int, fd int32) (string, bool) {
	if d.ev != nil {
		return d.ev.fdPath(pid, fd)
	}
	return fdPath(pid, fd)
}

// fdPath reads /proc/PID/fd/N.
func fdPath(pid int, fd int32) (string, bool) {
	if fd < 0 {
		return "", false
	}
	return readlink(procPath(pid, "fd/"+strconv.Itoa(int(fd))))
}

func procPath(pid int, rest string) string {
	return "/proc/" + strconv.Itoa(pid) + "/" + rest
}

// readlink reads a /proc symlink that should name an absolute path;
// anything else ("pipe:[123]", "anon_inode:...") is not a path.
func readlink(name string) (string, bool) {
	var buf [unix.PathMax]byte
	n, err := unix.Readlink(name, buf[:])
	if err != nil || n == 0 || buf[0] != '/' {
		return "", false
	}
	return string(buf[:n]), true
}

// readString reads the NUL-terminated string at addr in tracee pid with
// process_vm_readv. A first small read covers most paths in one system
// call; reads never cross a page boundary, which might be unmapped.
func (d *decoder) readString(pid int, addr uint64) (string, bool) {
	if addr == 0 {
		return "", false
	}
	if d.ev != nil {
		return d.ev.str(addr)
	}
	const page = 4096
	n, want := 0, 256
	for n < len(d.buf) {
		chunk := min(want, page-int((addr+uint64(n))%page), len(d.buf)-n)
		got := d.readInto(pid, addr+uint64(n), d.buf[n:n+chunk])
		if got <= 0 {
			return "", false
		}
		if i := bytes.IndexByte(d.buf[n:n+got], 0); i >= 0 {
			return string(d.buf[:n+i]), true
		}
		n += got
		want = page
	}
	return "", false // longer than PATH_MAX: the kernel fails it too
}

// read fills b from tracee memory at addr.
func (d *decoder) read(pid int, addr uint64, b []byte) bool {
	if d.ev != nil {
		return d.ev.read(addr, b)
	}
	return d.readInto(pid, addr, b) == len(b)
}

// readInto reads tracee memory with process_vm_readv, raw: see rawPtrace.
func (d *decoder) readInto(pid int, addr uint64, b []byte) int {
	d.local[0] = unix.Iovec{Base: unsafe.SliceData(b), Len: uint64(len(b))}
	d.remote[0] = unix.RemoteIovec{Base: uintptr(addr), Len: len(b)}
	n, _, e := unix.RawSyscall6(unix.SYS_PROCESS_VM_READV, uintptr(pid),
		uintptr(unsafe.Pointer(&d.local[0])), 1, uintptr(unsafe.Pointer(&d.remote[0])), 1, 0)
	if e != 0 {
		return -1
	}
	return int(n)
}
