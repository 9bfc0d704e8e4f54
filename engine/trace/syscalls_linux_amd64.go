//go:build linux && amd64

package trace

import "golang.org/x/sys/unix"

// nativeArch is seccomp_data.arch for this architecture's native system
// calls. The filter lets every other ABI (i386 via int 0x80) run
// untraced: those calls have other numbers, which this table does not
// decode.
const nativeArch = unix.AUDIT_ARCH_X86_64

// fileSyscalls lists the system calls the tracer decodes, with the shape
// of their arguments. Everything else runs without stopping in
// ModeSeccomp and is skipped in ModePtraceAll. (x32 calls, numbered from
// 0x40000000, never match.)
var fileSyscalls = []sysEntry{
	{unix.SYS_OPEN, kOpen},
	{unix.SYS_OPENAT, kOpenat},
	{unix.SYS_OPENAT2, kOpenat2},
	{unix.SYS_CREAT, kCreat},

	{unix.SYS_STAT, kStat},
	{unix.SYS_LSTAT, kLstat},
	{unix.SYS_ACCESS, kStat},
	{unix.SYS_READLINK, kLstat},
	{unix.SYS_NEWFSTATAT, kStatat},
	{unix.SYS_STATX, kStatx},
	{unix.SYS_FACCESSAT, kAccessat},
	{unix.SYS_FACCESSAT2, kAccessat2},
	{unix.SYS_READLINKAT, kReadlinkat},

	{unix.SYS_EXECVE, kExecve},
	{unix.SYS_EXECVEAT, kExecveat},

	{unix.SYS_TRUNCATE, kWrite},
	{unix.SYS_MKDIR, kWrite},
	{unix.SYS_RMDIR, kWrite},
	{unix.SYS_UNLINK, kWrite},
	{unix.SYS_MKNOD, kWrite},
	{unix.SYS_MKDIRAT, kWriteat},
	{unix.SYS_MKNODAT, kWriteat},
	{unix.SYS_UNLINKAT, kWriteat},
	{unix.SYS_RENAME, kRename},
	{unix.SYS_RENAMEAT, kRenameat},
	{unix.SYS_RENAMEAT2, kRenameat},
	{unix.SYS_LINK, kLink},
	{unix.SYS_LINKAT, kLinkat},
	{unix.SYS_SYMLINK, kSymlink},
	{unix.SYS_SYMLINKAT, kSymlinkat},

	{unix.SYS_CHDIR, kChdir},
	{unix.SYS_FCHDIR, kChdir},
}
