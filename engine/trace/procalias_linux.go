//go:build linux

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
// be no input at all. It must run while pid is alive (at its stop):
// "self" is the traced process, not the tracer. ok is false when abs is no
// such alias or the link cannot be read.
func procAlias(pid int, abs string) (string, bool) {
	rest, found := strings.CutPrefix(abs, "/proc/")
	if !found {
		return "", false
	}
	who, rest, _ := strings.Cut(rest, "/")
	switch who {
	case "self", "thread-self":
		who = strconv.Itoa(pid)
	default:
		if _, err := strconv.Atoi(who); err != nil {
			return "", false
		}
	}
	link, rest, _ := strings.Cut(rest, "/")
	switch link {
	case "cwd", "root":
	case "fd":
		var n string
		n, rest, _ = strings.Cut(rest, "/")
		if _, err := strconv.Atoi(n); err != nil {
			return "", false
		}
		link = "fd/" + n
	default:
		return "", false
	}
	target, err := os.Readlink("/proc/" + who + "/" + link)
	if err != nil || !strings.HasPrefix(target, "/") {
		return "", false // gone, or not a path (a pipe, a socket)
	}
	return filepath.Join(target, rest), true
}
