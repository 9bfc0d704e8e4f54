// Package trace observes which files a tree of subprocesses touches.
//
// It owns one job: start an *exec.Cmd under ptrace, follow every process
// and thread the command creates, and report each path they opened,
// stat'ed, executed, listed or wrote, with whether it existed. The engine
// turns that report into cache inputs (see Classify); this package knows
// nothing about transcripts or caching.
//
// Tracing works on Linux (amd64). Elsewhere, or where ptrace is denied (a
// container without CAP_SYS_PTRACE, a process that is already traced),
// Available reports why and Start fails with an error wrapping
// ErrUnavailable, so the caller runs the command untraced.
//
// By default only file-related system calls stop the tracee: a seccomp BPF
// filter returns SECCOMP_RET_TRACE for them and lets everything else run at
// full speed. See docs/tracing.md for how it works and what it costs.
package trace

import (
	"errors"
	"fmt"

	"github.com/cmdt-dev/cmdt/engine"
)

// ErrUnavailable is wrapped by errors from Available and Start when tracing
// cannot work on this system; the caller should run the command untraced.
var ErrUnavailable = errors.New("trace: unavailable")

// Mode selects how system calls are intercepted.
type Mode int

const (
	// ModeSeccomp stops the tracee only on file-related system calls,
	// selected by a seccomp BPF filter. It is the default; when the filter
	// cannot be installed the trace falls back to ModePtraceAll and the
	// Report says so.
	ModeSeccomp Mode = iota
	// ModePtraceAll stops the tracee on entry and exit of every system
	// call (plain PTRACE_SYSCALL). Slower; needs no seccomp support.
	ModePtraceAll
	// ModeEBPF does not stop the tracee: BPF programs on raw tracepoints
	// (system call exits, fork, exec, exit) send the calls of the
	// command's process tree through a ring buffer. It needs the
	// privilege to load BPF programs (root, or CAP_BPF and CAP_PERFMON);
	// existence comes from each call's return value, as in ExactResults.
	ModeEBPF
	// ModeUnotify does not use ptrace: a seccomp filter returns
	// SECCOMP_RET_USER_NOTIF for the file-related calls of the command's
	// tree, and this process reads each call from the notification and
	// lets it go on (SECCOMP_USER_NOTIF_FLAG_CONTINUE). Any user may
	// install it; existence is checked at the notification, as in
	// ModeSeccomp, and a write's success from its path's state after.
	ModeUnotify
)

func (m Mode) String() string {
	switch m {
	case ModeSeccomp:
		return "seccomp"
	case ModePtraceAll:
		return "ptrace-all"
	case ModeEBPF:
		return "ebpf"
	case ModeUnotify:
		return "unotify"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Options configure a trace.
type Options struct {
	// Mode is the interception mode; the zero value is ModeSeccomp.
	Mode Mode
	// Shim installs the seccomp filter from a re-exec of the current
	// binary (the way `strace --seccomp-bpf` installs it between fork and
	// exec) instead of injecting the two system calls into the tracee at
	// its first instruction. It costs one Go runtime start-up per Start
	// (about a millisecond) and exists for comparison and as a fallback;
	// it is ignored in ModePtraceAll.
	Shim bool
	// IgnoreDirs lists absolute directories whose contents are left out of
	// the report (for example the cache directory). /proc, /sys and /dev
	// are always left out.
	IgnoreDirs []string
	// ExactResults takes the existence of each path read, stat'ed or
	// executed from the system call's return value, at its exit stop, in
	// ModeSeccomp too. By default the tracer checks existence itself when
	// the call stops at entry and lets it run on: one stop per call instead
	// of two. The answers differ only if another process creates or
	// removes the path in between (see docs/tracing.md). ModePtraceAll
	// stops at every exit anyway and always takes the return value; so do
	// writes, whose success Classify needs, in every mode.
	ExactResults bool
}

// Op is what a process did with a path.
type Op uint8

// Operations, from the system calls that perform them.
const (
	// OpRead: opened for reading (open, openat, openat2 without write
	// access).
	OpRead Op = iota + 1
	// OpStat: metadata or existence only (stat, lstat, newfstatat, statx,
	// access, faccessat, faccessat2, readlink, readlinkat, O_PATH opens,
	// the source of a hard link).
	OpStat
	// OpExec: executed (execve, execveat), including the #! interpreter of
	// a script and the ELF program interpreter, which the kernel opens
	// without a system call of the tracee.
	OpExec
	// OpWrite: opened for writing, created, truncated, renamed, linked,
	// removed or made (mkdir, mknod, symlink).
	OpWrite
	// OpReaddir: a directory opened with O_DIRECTORY, to be listed.
	OpReaddir
)

var opNames = [...]string{OpRead: "read", OpStat: "stat", OpExec: "exec", OpWrite: "write", OpReaddir: "readdir"}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Access is one path a traced process touched.
type Access struct {
	// Path is absolute and lexically cleaned. Relative paths were resolved
	// against the process's working directory or directory descriptor as
	// the kernel reports them (/proc/PID/cwd, /proc/PID/fd/N); symbolic
	// links in the path as written are not resolved.
	Path string
	// Resolved is Path with every symbolic link resolved, when that differs
	// from Path and the path still existed when the trace ended; empty
	// otherwise. A cache must treat both as inputs.
	Resolved string
	// Op is what was done.
	Op Op
	// Exists reports whether the path existed for the system call: true if
	// the call succeeded or failed for a reason other than ENOENT or
	// ENOTDIR. An absent path is an input too: creating it later can change
	// the result. For OpWrite, Exists reports whether the call succeeded,
	// that is whether the path was changed.
	Exists bool
	// Program is the path (as passed to execve) of the program that made
	// the access; empty for the exec of the traced command itself.
	Program string
}

func (a Access) String() string {
	s := a.Op.String() + " " + a.Path
	if !a.Exists {
		s += " (absent)"
	}
	if a.Resolved != "" {
		s += " -> " + a.Resolved
	}
	return s
}

// Report is what a trace observed.
type Report struct {
	// Accesses are in order of first occurrence, one per (Path, Op): a
	// later access with the same path and operation is dropped, so Exists
	// is the state the tree first saw.
	Accesses []Access
	// Mode is the mode that actually ran (ModePtraceAll after a fallback).
	Mode Mode
	// Attrs are the attribute-only calls (utimensat, chmod, chown...) the
	// tree made that succeeded, with the file's state at each one's entry
	// and exit, in the order they ended. Only the ptrace modes see a
	// call's exit; the others leave Attrs empty (attr_linux.go).
	Attrs []engine.AttrChange
	// Incomplete, when not empty, says why Accesses may miss some (events
	// lost in the kernel, a path that could not be resolved): a result
	// built on this report must not be cached.
	Incomplete string
}
