//go:build linux && amd64

package trace

import (
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/cmdt-dev/cmdt/engine"
)

// This file records the attribute-only system calls of a ptrace'd tree
// (utimensat, utimes, chmod, chown and their forms): they are no writes —
// `touch src.c && make` keeps src.c an input — but they move the file's
// change time, which the result cache reads as "changed during the run".
// For each one the tracer holds the file open (O_PATH) from the call's
// entry stop to its exit stop and stats it at both, so the cache can tell
// a change time moved by these calls alone from any other change
// (engine.AttrChange). Only the ptrace backend sees a call's exit; the
// eBPF and seccomp-notification backends leave these calls untraced, and a
// file they re-time stays "changed during the run".

// attrSyscalls are the attribute-only calls the ptrace filter stops on
// besides fileSyscalls. Their kind is kNone: the decoder records nothing
// for them (attrEntry does).
var attrSyscalls = []sysEntry{
	{unix.SYS_CHMOD, kNone},
	{unix.SYS_FCHMOD, kNone},
	{unix.SYS_FCHMODAT, kNone},
	{unix.SYS_FCHMODAT2, kNone},
	{unix.SYS_CHOWN, kNone},
	{unix.SYS_FCHOWN, kNone},
	{unix.SYS_LCHOWN, kNone},
	{unix.SYS_FCHOWNAT, kNone},
	{unix.SYS_UTIME, kNone},
	{unix.SYS_UTIMES, kNone},
	{unix.SYS_FUTIMESAT, kNone},
	{unix.SYS_UTIMENSAT, kNone},
}

// attrCall is an attribute-only call between its entry and exit stops.
type attrCall struct {
	active bool
	fd     int // O_PATH descriptor of the file the call names
	pre    unix.Stat_t
}

// attrTarget returns where the attribute-only call nr (arguments a) of
// tracee pid finds its file: a path as this process can open it (through
// /proc/PID/cwd or /proc/PID/fd/N for a relative path or a descriptor),
// and whether a final symbolic link is not followed. ok is false for
// other calls, and for arguments the call will refuse.
func (t *tracer) attrTarget(pid int, nr uint64, a *[6]uint64) (path string, nofollow, ok bool) {
	const (
		byPath = iota
		byFD
		byAt
	)
	how, flags := byPath, uint64(0)
	switch nr {
	case unix.SYS_CHMOD, unix.SYS_CHOWN, unix.SYS_UTIME, unix.SYS_UTIMES:
	case unix.SYS_LCHOWN:
		flags = unix.AT_SYMLINK_NOFOLLOW
	case unix.SYS_FCHMOD, unix.SYS_FCHOWN:
		how = byFD
	case unix.SYS_FCHMODAT, unix.SYS_FUTIMESAT:
		how = byAt
	case unix.SYS_FCHMODAT2, unix.SYS_UTIMENSAT:
		how, flags = byAt, a[3]
	case unix.SYS_FCHOWNAT:
		how, flags = byAt, a[4]
	default:
		return "", false, false
	}
	nofollow = flags&unix.AT_SYMLINK_NOFOLLOW != 0
	fdPath := func(fd uint64) string { return procPath(pid, "fd/"+strconv.Itoa(int(int32(fd)))) }
	switch how {
	case byFD:
		return fdPath(a[0]), false, true
	case byPath:
		p, ok := t.dec.readString(pid, a[0])
		if !ok || p == "" {
			return "", false, false
		}
		if p[0] != '/' {
			p = procPath(pid, "cwd/"+p)
		}
		return p, nofollow, true
	}
	dirfd := int32(a[0])
	if a[1] == 0 && nr == unix.SYS_UTIMENSAT {
		return fdPath(a[0]), false, true // futimens
	}
	p, ok := t.dec.readString(pid, a[1])
	switch {
	case !ok:
		return "", false, false
	case p == "" && flags&unix.AT_EMPTY_PATH != 0 && dirfd != atFDCWD:
		return fdPath(a[0]), false, true
	case p == "":
		return "", false, false
	case p[0] == '/':
		return p, nofollow, true
	case dirfd == atFDCWD:
		return procPath(pid, "cwd/"+p), nofollow, true
	}
	return fdPath(a[0]) + "/" + p, nofollow, true
}

// attrEntry, at the entry stop of system call nr, opens and stats the
// file an attribute-only call names, so that attrExit can stat it again
// once the call is done. It leaves tr.attr inactive for any other call,
// or a file it cannot open (the call then names another file, or fails:
// either way it explains no change time).
func (t *tracer) attrEntry(pid int, tr *tracee, nr uint64, a *[6]uint64) {
	t.closeAttr(tr)
	path, nofollow, ok := t.attrTarget(pid, nr, a)
	if !ok {
		return
	}
	flags := unix.O_PATH | unix.O_CLOEXEC
	if nofollow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Open(path, flags, 0)
	if err != nil {
		return
	}
	if unix.Fstat(fd, &tr.attr.pre) != nil {
		unix.Close(fd)
		return
	}
	tr.attr.active, tr.attr.fd = true, fd
	if t.attrFDs == nil {
		t.attrFDs = make(map[int]struct{})
	}
	t.attrFDs[fd] = struct{}{}
}

// attrExit, at the exit stop of an attribute-only call that succeeded,
// records the file's state before and after it.
func (t *tracer) attrExit(tr *tracee, failed bool) {
	if !tr.attr.active {
		return
	}
	var post unix.Stat_t
	fd := tr.attr.fd
	ok := !failed && unix.Fstat(fd, &post) == nil
	t.closeAttr(tr)
	if ok {
		t.attrs = append(t.attrs, engine.AttrChange{
			Dev: post.Dev, Ino: post.Ino, Pre: stampOf(&tr.attr.pre), Post: stampOf(&post),
		})
	}
}

// closeAttr releases the descriptor of a call that ended, or that will
// not be seen to end (restarted, or its tracee gone).
func (t *tracer) closeAttr(tr *tracee) {
	if tr.attr.active {
		unix.Close(tr.attr.fd)
		delete(t.attrFDs, tr.attr.fd)
		tr.attr.active = false
	}
}

// closeAttrs releases the descriptors of calls whose tracee died inside
// them, once the trace is over.
func (t *tracer) closeAttrs() {
	for fd := range t.attrFDs {
		unix.Close(fd)
	}
	t.attrFDs = nil
}

// stampOf is what st says of a file's content and change.
func stampOf(st *unix.Stat_t) engine.FileStamp {
	return engine.FileStamp{Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}
}
