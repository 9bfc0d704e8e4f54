//go:build linux && amd64

package trace

// Per-run state of the eBPF backend: one command's process tree, decoded
// as its events arrive (ebpf_linux.go owns the programs, the ring buffer
// and the pump).

import (
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// bpfRun is one command's tree, decoded as its events come.
type bpfRun struct {
	t     *tracer // the recorder, decoder (exact) and threads (by id)
	root  uint32
	procs map[uint32]*bpfProc
	forks map[uint64]forkSnap // by the child's task pointer
	live  map[uint32]struct{} // threads alive
	born  bool
	done  chan struct{} // closed when the tree has ended
	ended bool
	cwd0  string // the working directory the root is forked with
	src   eventSource
	cache *linkCache    // the tracer's
	links *linkResolver // for the working directories, made at the first chdir
	// last is the thread of the last system call event and its state:
	// a command's calls come in runs of one thread. Forgotten at any
	// other event (those add and remove threads and processes).
	last struct {
		tid uint32
		tr  *tracee
		p   *bpfProc
	}
	// incomplete says why accesses may be missing.
	incomplete string
}

// bpfProc is a process's state that its threads share.
type bpfProc struct {
	program string // what it runs (for threads seen before their birth)
	cwd     string
	fds     map[int32]string // descriptors opened by path ("" : not a path)
	threads int
}

// forkSnap is a parent's state when it forked.
type forkSnap struct {
	program, cwd string
	fds          map[int32]string
}

// eventSource serves the decoder the paths of the event being decoded
// and the state of its process (see decoder.ev).
type eventSource struct {
	addrs [2]uint64
	strs  [2]string
	n     int
	how   uint64
	proc  *bpfProc
	run   *bpfRun
}

func (s *eventSource) str(addr uint64) (string, bool) {
	for i := 0; i < s.n; i++ {
		if s.addrs[i] == addr {
			return s.strs[i], true
		}
	}
	return "", false
}

func (s *eventSource) read(_ uint64, b []byte) bool {
	if len(b) != 8 {
		return false
	}
	binary.NativeEndian.PutUint64(b, s.how)
	return true
}

func (s *eventSource) cwd() (string, bool) { return s.proc.cwd, s.proc.cwd != "" }

// fdPath is the path a descriptor was opened with, followed from the
// process's opens; else, while the process lives, /proc says. A
// descriptor known neither way makes the report incomplete.
func (s *eventSource) fdPath(pid int, fd int32) (string, bool) {
	if p, ok := s.proc.fds[fd]; ok && p != "" {
		return p, true
	}
	if p, ok := fdPath(pid, fd); ok {
		return p, true
	}
	if s.run.incomplete == "" {
		s.run.incomplete = fmt.Sprintf("eBPF trace: descriptor %d of process %d could not be resolved", fd, pid)
	}
	return "", false
}

// lastAccesses is how many accesses the last eBPF report had: the next
// run's list starts with room for as many (up to maxAccessHint), instead
// of growing there by doubling (cat over 1,000 files: 220 KB copied and
// collected per run). Only a capacity: nothing of a run reaches the next.
var lastAccesses atomic.Int64

const maxAccessHint = 1 << 12 // 256 KB of Access: a big run does not make every next one big

// bpfTracers keeps the tracers (recorder and decoder) of finished runs,
// for their memory only: tracer.init makes each new.
var bpfTracers = sync.Pool{New: func() any { return new(tracer) }}

func newBPFRun(opts Options, cwd string, cache *linkCache) *bpfRun {
	t := bpfTracers.Get().(*tracer)
	t.init(Options{Mode: ModeEBPF, IgnoreDirs: opts.IgnoreDirs}, "", nil, nil)
	t.dec.exact = true
	if n := min(lastAccesses.Load(), maxAccessHint); n > 0 {
		t.rec.list = make([]Access, 0, n)
		t.rec.linkFree = make([]bool, 0, n)
	}
	r := &bpfRun{t: t, procs: make(map[uint32]*bpfProc), forks: make(map[uint64]forkSnap),
		live: make(map[uint32]struct{}), done: make(chan struct{}), cwd0: cwd, cache: cache}
	r.src.run = r
	t.dec.ev = &r.src
	return r
}

// handle applies one event of the tree, in the order the kernel made them.
func (r *bpfRun) handle(ev *event) {
	if ev.kind != evSyscall && ev.kind != evExecEnter {
		r.last.tr = nil
	}
	switch ev.kind {
	case evBorn:
		r.born = true
		r.live[ev.tid] = struct{}{}
		snap, forked := r.forks[ev.aux]
		delete(r.forks, ev.aux)
		p := r.procs[ev.tgid]
		if p == nil {
			p = &bpfProc{cwd: r.cwd0, fds: make(map[int32]string)}
			if forked {
				p.cwd, p.fds = snap.cwd, snap.fds
			}
			r.procs[ev.tgid] = p
		}
		p.threads++
		if !forked {
			snap.program = p.program // a thread seen before its parent's fork
		} else if p.threads == 1 {
			p.program = snap.program
		}
		r.t.tracees[int(ev.tid)] = &tracee{program: snap.program}
	case evFork:
		var snap forkSnap
		if p := r.procs[ev.tgid]; p != nil {
			snap.cwd, snap.fds = p.cwd, maps.Clone(p.fds)
		}
		if tr := r.t.tracees[int(ev.tid)]; tr != nil {
			snap.program = tr.program
		}
		r.forks[ev.aux] = snap
	case evExit:
		delete(r.forks, ev.aux) // a task killed before it ran
		if _, ok := r.live[ev.tid]; !ok {
			break
		}
		delete(r.live, ev.tid)
		delete(r.t.tracees, int(ev.tid))
		if p := r.procs[ev.tgid]; p != nil {
			if p.threads--; p.threads <= 0 {
				delete(r.procs, ev.tgid)
			}
		}
		if r.born && len(r.live) == 0 && !r.ended {
			r.ended = true
			close(r.done)
		}
	case evExec:
		if old := uint32(ev.aux); old != ev.tid {
			// A thread other than the leader exec'd and took its id.
			if tr := r.t.tracees[int(old)]; tr != nil {
				delete(r.t.tracees, int(old))
				r.t.tracees[int(ev.tid)] = tr
			}
			delete(r.live, old)
			r.live[ev.tid] = struct{}{}
		}
		tr := r.t.tracees[int(ev.tid)]
		if tr == nil {
			return
		}
		if tr.execPath == "" {
			// An ignored path (/proc/self/exe, /dev/fd/N).
			path, _ := readlink(procPath(int(ev.tid), "exe"))
			tr.execed(path)
			return
		}
		path := tr.execPath
		r.t.recordExec(path, tr.program)
		tr.execed(path)
		if p := r.procs[ev.tgid]; p != nil {
			p.program = path
		}
	case evExecEnter, evSyscall:
		var tr *tracee
		var p *bpfProc
		if r.last.tr != nil && r.last.tid == ev.tid {
			tr, p = r.last.tr, r.last.p
		} else {
			tr, p = r.t.tracees[int(ev.tid)], r.procs[ev.tgid]
		}
		if p == nil {
			// Every task's first event is its birth: this one's was not
			// seen. Its accesses cannot be resolved; say so.
			if r.incomplete == "" {
				r.incomplete = fmt.Sprintf("eBPF trace: events of process %d, whose start was not seen", ev.tgid)
			}
			return
		}
		if tr == nil {
			tr = &tracee{program: p.program}
			r.t.tracees[int(ev.tid)] = tr
		}
		r.last.tid, r.last.tr, r.last.p = ev.tid, tr, p
		kind := kindOf(uint64(ev.nr))
		if ev.kind == evSyscall && (kind == kExecve || kind == kExecveat) {
			if tr.pending { // a failed exec, decoded at its entry
				r.t.exit(tr, ev.ret, true)
			}
			return
		}
		r.decode(ev, tr, p)
		if ev.kind == evExecEnter {
			return // recorded at its exec event or its failure
		}
		if tr.pending {
			r.t.exit(tr, ev.ret, ev.ret < 0)
		}
		if ev.ret >= 0 {
			r.follow(ev, kind, p)
		}
	}
}

// decode runs the ptrace tracer's decoder on the event: the same rules
// make the same accesses of the same call.
func (r *bpfRun) decode(ev *event, tr *tracee, p *bpfProc) {
	s := &r.src
	s.proc, s.n, s.how = p, 0, ev.how
	sp := bpfSpecOf(ev.nr)
	if sp.Str0 > 0 && ev.s0 != nil {
		s.addrs[0], s.strs[0] = ev.args[sp.Str0-1], string(ev.s0)
		s.n = 1
	}
	if sp.Str1 > 0 && ev.s1 != nil {
		s.addrs[s.n], s.strs[s.n] = ev.args[sp.Str1-1], string(ev.s1)
		s.n++
	}
	r.t.dec.lastAbs = ""
	r.t.dec.decode(int(ev.tid), tr, uint64(ev.nr), &ev.args)
	r.t.entered(tr)
}

// follow keeps the process state that later paths resolve against: the
// descriptors opens return and the working directory.
func (r *bpfRun) follow(ev *event, kind sysKind, p *bpfProc) {
	switch ev.nr {
	case unix.SYS_DUP, unix.SYS_FCNTL: // fcntl: F_DUPFD(_CLOEXEC) only, see bpf/trace.c
		p.fds[int32(ev.ret)] = p.fds[int32(ev.args[0])]
		return
	case unix.SYS_DUP2, unix.SYS_DUP3:
		p.fds[int32(ev.args[1])] = p.fds[int32(ev.args[0])]
		return
	}
	switch kind {
	case kOpen, kOpenat, kOpenat2, kCreat:
		p.fds[int32(ev.ret)] = r.t.dec.lastAbs
	case kChdir:
		if ev.nr == unix.SYS_FCHDIR {
			dir, ok := r.src.fdPath(int(ev.tid), int32(ev.args[0]))
			if ok {
				p.cwd = dir
			}
			return
		}
		rel, ok := r.src.str(ev.args[0])
		if !ok || rel == "" {
			return
		}
		abs, _, ok := r.t.dec.resolve(int(ev.tid), atFDCWD, rel)
		if !ok {
			return
		}
		// The kernel's working directory has its links resolved, as
		// /proc/PID/cwd shows it to the ptrace tracer.
		if r.links == nil {
			r.links = getResolver(r.cache)
		}
		r.links.links, r.links.looped = 0, false
		dir, ok := r.links.walk(abs)
		if !ok {
			dir = abs
		}
		p.cwd = dir
	}
}

var bpfSpecTable = sync.OnceValue(func() *[maxSyscall]bpfSysSpec {
	var t [maxSyscall]bpfSysSpec
	for nr, sp := range syscallSpecs() {
		t[nr] = sp
	}
	return &t
})

func bpfSpecOf(nr uint32) bpfSysSpec {
	if nr >= maxSyscall {
		return bpfSysSpec{}
	}
	return bpfSpecTable()[nr]
}

// killAll kills the tree's processes (WaitDelay expired).
func (r *bpfRun) killAll() {
	for tgid := range r.procs {
		_ = unix.Kill(int(tgid), unix.SIGKILL)
	}
}

// startEBPF starts cmd with the eBPF tracer: a plain cmd.Start, the tree
// being followed from its fork on.
func startEBPF(cmd *exec.Cmd, opts Options) (*Process, error) {
	if err := startable(cmd); err != nil {
		return nil, err
	}
	bt, err := acquireBPF()
	if err != nil {
		return nil, err
	}
	// The working directory the command is forked with. With an absolute
	// cmd.Dir it does not matter: the child's first traced call is its
	// chdir there, followed as any chdir (so two stats are saved).
	cwd := filepath.Clean(cmd.Dir)
	if !filepath.IsAbs(cmd.Dir) {
		if cwd, err = os.Getwd(); err != nil {
			releaseBPF()
			return nil, fmt.Errorf("trace: %w", err)
		}
	}
	run := newBPFRun(opts, cwd, bt.cache)
	lost := bt.lost()
	bpfState.mu.Lock()
	bt.starting++
	bpfState.mu.Unlock()
	// The kernel adopts this process's children only while a command
	// starts: others (run untraced) send nothing.
	atomic.AddUint64(&bt.ctl[1], 1)
	err = cmd.Start()
	atomic.AddUint64(&bt.ctl[1], ^uint64(0))
	bpfState.mu.Lock()
	bt.starting--
	if err == nil {
		run.root = uint32(cmd.Process.Pid)
		bt.claim(run)
	}
	bt.sweep()
	bpfState.mu.Unlock()
	if err != nil {
		releaseBPF()
		return nil, err
	}
	return &Process{cmd: cmd, bpf: &bpfProcess{t: bt, run: run, lost: lost}}, nil
}

// bpfProcess is the eBPF side of a Process.
type bpfProcess struct {
	t    *bpfTracer
	run  *bpfRun
	lost uint64 // the kernel's lost count at Start
}

// claim makes run the owner of its root's events, replaying those that
// came before.
func (t *bpfTracer) claim(run *bpfRun) {
	t.runs[run.root] = run
	b := t.backlogs[run.root]
	if b == nil {
		return
	}
	delete(t.backlogs, run.root)
	if b.overflow {
		run.incomplete = "eBPF trace: too many events before the command started"
	}
	var ev event
	for _, raw := range b.events {
		if parseEvent(raw, &ev) {
			run.handle(&ev)
		}
	}
}

// waitEBPF is Wait for a command traced with eBPF: cmd.Wait, then the
// rest of the tree (killed WaitDelay after the command exited, if set),
// then every event of the tree.
func (p *Process) waitEBPF() {
	b := p.bpf
	defer releaseBPF()
	p.waitErr = p.cmd.Wait()
	exited := time.Now()
	ended := func() bool {
		select {
		case <-b.run.done:
			return true
		default:
			return false
		}
	}
	killed, waiting := false, false
	// First what is in the ring, without waiting: the root's exit is
	// there, and woke no one (see bpf/trace.c). Then wait for the rest of
	// the tree, whose exits wake waiting readers.
	block := time.Duration(0)
	for !ended() {
		b.t.drainMu.Lock()
		if !ended() {
			b.t.drain(block, ended)
		}
		b.t.drainMu.Unlock()
		if !waiting && !ended() {
			// Exits wake readers from now on; one that came before
			// the count did not, and is read by one more pass without
			// waiting (or, in a race, after the 20 ms wait).
			waiting = true
			atomic.AddUint64(&b.t.ctl[0], 1)
			defer atomic.AddUint64(&b.t.ctl[0], ^uint64(0))
		} else {
			block = 20 * time.Millisecond
		}
		if ended() || b.t.lost() != b.lost {
			break // lost: the end may never be seen
		}
		bpfState.mu.Lock()
		born := b.run.born
		bpfState.mu.Unlock()
		if !born {
			// The command's birth is in the ring buffer before cmd.Start
			// returns; drained and not seen, it never will be (a map
			// evicted it). Its end would not be seen either.
			bpfState.mu.Lock()
			b.run.incomplete = "eBPF trace: the command's start was not seen"
			bpfState.mu.Unlock()
			break
		}
		if !killed && p.cmd.WaitDelay > 0 && time.Since(exited) >= p.cmd.WaitDelay {
			killed = true
			bpfState.mu.Lock()
			b.run.killAll()
			bpfState.mu.Unlock()
		}
	}
	bpfState.mu.Lock()
	delete(b.t.runs, b.run.root)
	rep := &Report{Accesses: b.run.t.rec.list, Mode: ModeEBPF, Incomplete: b.run.incomplete}
	lastAccesses.Store(int64(len(rep.Accesses)))
	b.run.t.rec.done() // no event reaches the run any more
	if b.run.links != nil {
		putResolver(b.run.links)
		b.run.links = nil
	}
	// No event reaches the run any more, and its tracer is used no more
	// (the report holds the list, not the recorder).
	b.run.t.dec.close()
	bpfTracers.Put(b.run.t)
	b.run.t = nil
	bpfState.mu.Unlock()
	if n := b.t.lost(); n != b.lost {
		rep.Incomplete = fmt.Sprintf("eBPF trace: %d event(s) lost in the kernel (ring buffer or map full) while the command ran", n-b.lost)
	}
	resolveLinksCached(rep.Accesses, nil, b.t.cache)
	p.report = rep
}

// bpfWho says why this process may load BPF programs.
func bpfWho() string {
	if os.Geteuid() == 0 {
		return "running as root, the BPF programs load"
	}
	return "CAP_BPF and CAP_PERFMON, the BPF programs load"
}
