//go:build linux

package procstat

import (
	"bytes"
	"strconv"
	"syscall"
)

// Stat is a process's state ('R', 'S', 'Z' for a zombie...), parent,
// process group and session.
type Stat struct {
	State           byte
	PPid, Pgid, Sid int
}

// Read parses /proc/PID/stat: "pid (comm) state ppid pgrp session ...".
// It reports false if the process is gone or the file cannot be read. The
// command name may hold spaces and parentheses, so fields are counted from
// its last ')'. It reads into a buffer on the stack: the engine scans
// every process of the machine with it.
func Read(pid int) (Stat, bool) {
	var buf [512]byte
	fd, err := syscall.Open("/proc/"+strconv.Itoa(pid)+"/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return Stat{}, false
	}
	n, err := syscall.Read(fd, buf[:])
	syscall.Close(fd)
	if err != nil || n <= 0 {
		return Stat{}, false
	}
	data := buf[:n]
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return Stat{}, false
	}
	f := bytes.Fields(data[i+2:])
	if len(f) < 4 {
		return Stat{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	pgid, err2 := strconv.Atoi(string(f[2]))
	sid, err3 := strconv.Atoi(string(f[3]))
	if err1 != nil || err2 != nil || err3 != nil {
		return Stat{}, false
	}
	return Stat{State: f[0][0], PPid: ppid, Pgid: pgid, Sid: sid}, true
}
