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
// For each one the tracer stats the file at the call's entry stop and
// again at its exit stop (the same device and inode), so the cache can tell
// a change time moved by these calls alone from any other change
// (engine.AttrChange). Only the ptrace backend sees a call's exit; the
// eBPF and seccomp-notification backends leave these calls untraced, and a
// file they re-time stays "changed during the run".

// attrSyscalls are the attribute-only calls the ptrace filter stops on
// besides fileSyscalls. Their kind is kNone: the decoder records nothing
// for them (attrEntry does). fchmod and fchown run free: tar -x, cp -p and
// install call them on every file they make (an output, for which the
// stop would be wasted: tar -x of 1,000 files took 26% more CPU with
// them), and a file re-moded through a descriptor only stays "changed
// during the run". futimens (utimensat without a path) is kept: it is how
// touch sets times.
var attrSyscalls = []sysEntry{
	{unix.SYS_CHMOD, kNone},
	{unix.SYS_FCHMODAT, kNone},
	{unix.SYS_FCHMODAT2, kNone},
	{unix.SYS_CHOWN, kNone},
	{unix.SYS_LCHOWN, kNone},
	{unix.SYS_FCHOWNAT, kNone},
	{unix.SYS_UTIME, kNone},
	{unix.SYS_UTIMES, kNone},
	{unix.SYS_FUTIMESAT, kNone},
	{unix.SYS_UTIMENSAT, kNone},
}

// attrCall is an attribute-only call between its entry and exit stops.
type attrCall struct {
	active   bool
	path     string // where this process finds the file (attrTarget)
	nofollow bool
	pre      unix.Stat_t
}

// attrTarget returns where the attribute-only call nr (arguments a) of
// tracee pid finds its file: a path as this process can stat it (through
// /proc/PID/cwd or /proc/PID/fd/N for a relative path or a descriptor),
// whether a final symbolic link is not followed, and the file's absolute
// path as the recorder names paths ("" if unknown). ok is false for
// other calls, and for arguments the call will refuse.
func (t *tracer) attrTarget(pid int, nr uint64, a *[6]uint64) (path string, nofollow bool, abs string, ok bool) {
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
		return "", false, "", false
	}
	nofollow = flags&unix.AT_SYMLINK_NOFOLLOW != 0
	byDescriptor := func(fd uint64) (string, bool, string, bool) {
		abs, _ := t.dec.fdPath(pid, int32(fd))
		return procPath(pid, "fd/"+strconv.Itoa(int(int32(fd)))), false, abs, true
	}
	dirfd, pathArg := atFDCWD, a[0]
	switch how {
	case byFD:
		return byDescriptor(a[0])
	case byAt:
		dirfd, pathArg = int32(a[0]), a[1]
		if pathArg == 0 && nr == unix.SYS_UTIMENSAT {
			return byDescriptor(a[0]) // futimens
		}
	}
	p, ok := t.dec.readString(pid, pathArg)
	switch {
	case !ok:
		return "", false, "", false
	case p == "" && how == byAt && flags&unix.AT_EMPTY_PATH != 0 && dirfd != atFDCWD:
		return byDescriptor(a[0])
	case p == "":
		return "", false, "", false
	}
	abs, _, _ = t.dec.resolve(pid, dirfd, p)
	switch {
	case p[0] == '/':
		return p, nofollow, abs, true
	case dirfd == atFDCWD:
		return procPath(pid, "cwd/"+p), nofollow, abs, true
	}
	return procPath(pid, "fd/"+strconv.Itoa(int(dirfd))) + "/" + p, nofollow, abs, true
}

// attrEntry, at the entry stop of system call nr, stats the file an
// attribute-only call names, so that attrExit can stat it again once the
// call is done. It leaves tr.attr inactive for any other call, for a file
// this command wrote already (an output: what the call does to it cannot
// matter, and tar -x re-modes and re-times every file it makes), and for a
// file it cannot stat (the call then fails, or names another file: either
// way it explains no change time).
func (t *tracer) attrEntry(pid int, tr *tracee, nr uint64, a *[6]uint64) {
	tr.attr.active = false
	path, nofollow, abs, ok := t.attrTarget(pid, nr, a)
	if !ok || (abs != "" && t.rec.has(abs, OpWrite)) {
		return
	}
	if statPath(path, nofollow, &tr.attr.pre) != nil {
		return
	}
	tr.attr.active, tr.attr.path, tr.attr.nofollow = true, path, nofollow
}

// attrExit, at the exit stop of an attribute-only call that succeeded,
// records the file's state before and after it, if it is still the same
// file.
func (t *tracer) attrExit(tr *tracee, failed bool) {
	if !tr.attr.active {
		return
	}
	tr.attr.active = false
	var post unix.Stat_t
	pre := &tr.attr.pre
	if failed || statPath(tr.attr.path, tr.attr.nofollow, &post) != nil || post.Dev != pre.Dev || post.Ino != pre.Ino {
		return
	}
	t.attrs = append(t.attrs, engine.AttrChange{Dev: post.Dev, Ino: post.Ino, Pre: stampOf(pre), Post: stampOf(&post)})
}

// statPath is stat, or lstat for nofollow. A stat (not a read of the
// inode) is what marks the change time as seen on a multigrain file
// system, so that any later change gets a change time of its own.
func statPath(path string, nofollow bool, st *unix.Stat_t) error {
	if nofollow {
		return unix.Lstat(path, st)
	}
	return unix.Stat(path, st)
}

// stampOf is what st says of a file's content and change.
func stampOf(st *unix.Stat_t) engine.FileStamp {
	return engine.FileStamp{Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}
}
