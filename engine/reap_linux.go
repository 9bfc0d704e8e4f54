//go:build linux

package engine

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cmdt-dev/cmdt/internal/procstat"
)

// Orphans. Each program a transcript runs gets its own process group, and
// the engine kills that group when the command ends or times out. A
// process that leaves the group (setsid, setpgid) escapes that kill, and
// once its parent exits it is re-parented, normally to init, out of reach.
//
// So the engine process makes itself a child subreaper
// (PR_SET_CHILD_SUBREAPER) when it first runs a program, if its main said
// it may (AdoptOrphans): orphans of its
// commands become its own children instead of init's. A session (a run of
// one transcript) that started programs looks, when it ends, for children
// of this process in another session than its own — escapees; the
// engine's own command processes share its session (setpgid only) — and
// kills them with all their descendants. When several sessions run in
// one process (check --jobs, the language server), an escapee is killed
// once every session that was running when it was first seen has ended:
// never early, never after the last of them.
//
// A timeout or cancellation kills the command's whole tree at once: every
// process descending from the command or in its process group, found in
// /proc before any of them dies (and re-parents).
//
// Costs: the /proc scan (a few ms with hundreds of processes) runs once
// per session that started a program, and on a timeout; not per command.
// Limits: a process that left only its group (setpgid without setsid)
// and whose parent exited before the session ended is not told apart from
// children the host program started itself, and is left alone.

// AdoptOrphans lets the engine make this process a child subreaper, so
// that programs escaping their process group (setsid) are found and
// killed when their session ends, and reaped. Call it from main in a
// process that owns all its children (the CLI, the language server). A
// host program must not (cmdtest inside go test): the engine would take
// the host's own setsid children for escapees. Without it a command's
// group is still killed when it ends, and its whole tree on a timeout.
func AdoptOrphans() { reaper.allowed.Store(true) }

// procScans counts scanProcs calls: each reads every process of the
// machine (tests hold the engine to one per session that ran programs).
var procScans atomic.Int64

var reaper struct {
	allowed atomic.Bool // AdoptOrphans was called
	once    sync.Once
	enabled bool
	sid     int

	mu       sync.Mutex
	sessions map[uint64]bool // running sessions that started programs
	next     uint64
	escapees map[int]map[uint64]bool // pid → sessions running when first seen
	// groups are the process groups of the commands the engine started
	// (each command leads its own) that may still have members. The
	// engine kills a group when its command ends; the members the
	// subreaper adopted are then this process's zombies to reap, or a
	// long-running process (the language server, check --watch) would
	// collect one for every background process a transcript left behind.
	groups map[int]bool
}

// reaperAddGroup remembers the process group of a command just started.
func reaperAddGroup(pgid int) {
	reaper.mu.Lock()
	if reaper.groups != nil {
		reaper.groups[pgid] = true
	}
	reaper.mu.Unlock()
}

// reaperStart makes this process a child subreaper (once) and registers a
// session that is about to run programs; it returns the session's token.
func reaperStart() uint64 {
	reaper.once.Do(func() {
		reaper.sid, _ = unix.Getsid(0)
		reaper.enabled = reaper.allowed.Load() && unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == nil
		reaper.sessions = map[uint64]bool{}
		reaper.escapees = map[int]map[uint64]bool{}
		reaper.groups = map[int]bool{}
	})
	reaper.mu.Lock()
	defer reaper.mu.Unlock()
	reaper.next++
	reaper.sessions[reaper.next] = true
	return reaper.next
}

// reaperEnd ends a session: escapees seen now are charged to the running
// sessions, and those no running session may still own are killed; the
// adopted orphans of command groups that have died are reaped.
func reaperEnd(token uint64) {
	if !reaper.enabled {
		reaper.mu.Lock()
		delete(reaper.sessions, token)
		reaper.mu.Unlock()
		return
	}
	procs := scanProcs()
	self := os.Getpid()
	reaper.mu.Lock()
	reapGroupsLocked(procs, self)
	for pid, p := range procs {
		if p.PPid != self || p.Sid == reaper.sid {
			continue
		}
		if reaper.escapees[pid] == nil {
			owners := make(map[uint64]bool, len(reaper.sessions))
			for s := range reaper.sessions {
				owners[s] = true
			}
			reaper.escapees[pid] = owners
		}
	}
	delete(reaper.sessions, token)
	var doomed []int
	for pid, owners := range reaper.escapees {
		if _, alive := procs[pid]; !alive {
			delete(reaper.escapees, pid)
			continue
		}
		running := false
		for s := range owners {
			if reaper.sessions[s] {
				running = true
				break
			}
		}
		if !running {
			doomed = append(doomed, pid)
			delete(reaper.escapees, pid)
		}
	}
	reaper.mu.Unlock()
	if len(doomed) > 0 {
		killTrees(procs, doomed, nil)
	}
}

// reapGroupsLocked reaps the zombies among this process's children that
// belong to a command's group but do not lead it: adopted orphans. A
// group's leader is the command itself, which its exec.Cmd waits for; a
// traced process is left to its tracer; a child the host program started
// itself is never in a command's group, so its exit status is never taken
// from it. A group with no process left is forgotten. Zombies that appear
// after this scan are reaped at the next session's end.
func reapGroupsLocked(procs map[int]procstat.Stat, self int) {
	live := map[int]bool{}
	for pid, p := range procs {
		if !reaper.groups[p.Pgid] {
			continue
		}
		if p.PPid == self && p.State == 'Z' && pid != p.Pgid && !traced(pid) {
			var ws unix.WaitStatus
			if wpid, _ := unix.Wait4(pid, &ws, unix.WNOHANG, nil); wpid == pid {
				continue
			}
		}
		live[p.Pgid] = true
	}
	for g := range reaper.groups {
		if !live[g] {
			delete(reaper.groups, g)
		}
	}
}

// killCommandTree kills a command's whole process tree: the process group
// pgid, the root pid and every descendant of either, wherever they moved.
func killCommandTree(root, pgid int) {
	procs := scanProcs()
	killTrees(procs, []int{root}, func(p procstat.Stat) bool { return p.Pgid == pgid })
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// killTrees SIGKILLs the given processes, those matching also (if set), and
// all their descendants, as listed in procs (one snapshot, taken before
// any of them died), then reaps the ones that end up as this process's
// children.
func killTrees(procs map[int]procstat.Stat, roots []int, also func(procstat.Stat) bool) {
	children := map[int][]int{}
	var doomed []int
	for pid, p := range procs {
		children[p.PPid] = append(children[p.PPid], pid)
		if also != nil && also(p) {
			doomed = append(doomed, pid)
		}
	}
	doomed = append(doomed, roots...)
	seen := map[int]bool{}
	for i := 0; i < len(doomed); i++ {
		pid := doomed[i]
		if seen[pid] || pid <= 1 || pid == os.Getpid() {
			continue
		}
		seen[pid] = true
		doomed = append(doomed, children[pid]...)
	}
	for pid := range seen {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	reapAdopted(seen)
}

// reapAdopted waits (briefly) for the killed processes that became this
// process's children to exit, and reaps them, so that none stays a
// zombie. A traced process is left to its tracer, which must see its exit
// first; a process that is not ours is reaped by its own parent.
func reapAdopted(pids map[int]bool) {
	self := os.Getpid()
	deadline := time.Now().Add(2 * time.Second)
	for len(pids) > 0 && time.Now().Before(deadline) {
		for pid := range pids {
			st, ok := procstat.Read(pid)
			switch {
			case !ok:
				delete(pids, pid) // gone
			case st.PPid != self:
				// Still some other process's child, or about to be
				// re-parented to us: look again.
			case st.State == 'Z' && !traced(pid):
				var ws unix.WaitStatus
				if wpid, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); wpid == pid || err != nil {
					delete(pids, pid)
				}
			}
		}
		if len(pids) > 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// traced reports whether a tracer is attached to pid.
func traced(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	i := bytes.Index(data, []byte("\nTracerPid:"))
	if i < 0 {
		return false
	}
	rest := bytes.TrimLeft(data[i+len("\nTracerPid:"):], " \t")
	return len(rest) > 0 && rest[0] != '0'
}

func scanProcs() map[int]procstat.Stat {
	procScans.Add(1)
	out := map[int]procstat.Stat{}
	d, err := os.Open("/proc")
	if err != nil {
		return out
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if st, ok := procstat.Read(pid); ok {
			out[pid] = st
		}
	}
	return out
}
