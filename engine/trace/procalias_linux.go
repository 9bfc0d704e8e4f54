//go:build linux && amd64

package trace

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procAlias maps a path through a process's /proc links to the path it
// names: /proc/self/cwd/f.txt read by process pid is f.txt in pid's
// working directory, and so on for /proc/thread-self, /proc/PID, and the
// cwd, root and fd/N links. Everything else under /proc stays ignored
// (alwaysIgnored), so without this a read through /proc/self/cwd would
// be no input at all. "self" is the traced process, not the tracer: its
// working directory and descriptors come from the decoder (which follows
// them for the eBPF backend, whose events arrive after the fact); another
// process's are read from /proc. ok is false when abs is no such alias
// or the link cannot be read.
func (d *decoder) procAlias(pid int, abs string) (string, bool) {
	rest, found := strings.CutPrefix(abs, "/proc/")
	if !found {
		return "", false
	}
	who, rest, _ := strings.Cut(rest, "/")
	self := who == "self" || who == "thread-self" || who == strconv.Itoa(pid)
	if !self {
		if _, err := strconv.Atoi(who); err != nil {
			return "", false
		}
	}
	link, rest, _ := strings.Cut(rest, "/")
	var target string
	var ok bool
	switch link {
	case "root":
		target, ok = "/", true // no chroot in a transcript's tree
	case "cwd":
		if self {
			target, ok = d.cwd(pid)
		} else {
			target, ok = readlinkOK("/proc/" + who + "/cwd")
		}
	case "fd":
		var n string
		n, rest, _ = strings.Cut(rest, "/")
		fd, err := strconv.Atoi(n)
		if err != nil {
			return "", false
		}
		if self {
			target, ok = d.fdPath(pid, int32(fd))
		} else {
			target, ok = readlinkOK("/proc/" + who + "/fd/" + n)
		}
	}
	if !ok || !strings.HasPrefix(target, "/") {
		return "", false // gone, or not a path (a pipe, a socket)
	}
	return filepath.Join(target, rest), true
}

func readlinkOK(p string) (string, bool) {
	t, err := os.Readlink(p)
	return t, err == nil
}
