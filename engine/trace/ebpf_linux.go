//go:build linux && amd64

package trace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Event kinds and system call flags, as in bpf/trace.c.
const (
	evSyscall = 1 + iota
	evExecEnter
	evExec
	evFork
	evBorn
	evExit
)

const (
	spEmit    = 1
	spOpenat2 = 2
	spExec    = 4
	spFork    = 8
	spEmptyOK = 16
	spFcntl   = 32
	spUnbind  = 64  // counted in the names map, for any process (linkcache_linux.go)
	spMount   = 128 // likewise, as a change of every name
)

// Record layout: a header (bpfEvent), then the paths back to back, each
// with its NUL (len0, len1 bytes).
const eventHeader = 96

// syscallSpecs derives what the kernel side copies for each system call from
// fileSyscalls, the table the ptrace tracer decodes: the argument index
// (+1) of each path, and flags.
func syscallSpecs() map[uint32]bpfSysSpec {
	m := make(map[uint32]bpfSysSpec, len(fileSyscalls)+4)
	for _, s := range fileSyscalls {
		sp := bpfSysSpec{Flags: spEmit}
		switch s.kind {
		case kOpen, kCreat, kStat, kLstat, kWrite:
			sp.Str0 = 1
		case kOpenat, kStatat, kStatx, kAccessat, kAccessat2, kReadlinkat, kWriteat:
			sp.Str0 = 2
		case kOpenat2:
			sp.Str0, sp.Flags = 2, spEmit|spOpenat2
		case kExecve:
			sp.Str0, sp.Flags = 1, spEmit|spExec
		case kExecveat:
			sp.Str0, sp.Flags = 2, spEmit|spExec|spEmptyOK
		case kRename, kLink:
			sp.Str0, sp.Str1 = 1, 2
		case kRenameat, kLinkat:
			sp.Str0, sp.Str1 = 2, 4
		case kSymlink:
			sp.Str0 = 2
		case kSymlinkat:
			sp.Str0 = 3
		case kChdir:
			if s.nr == unix.SYS_CHDIR {
				sp.Str0 = 1
			}
		}
		m[s.nr] = sp
	}
	for _, nr := range []uint32{unix.SYS_CLONE, unix.SYS_CLONE3, unix.SYS_FORK, unix.SYS_VFORK} {
		m[nr] = bpfSysSpec{Flags: spFork}
	}
	// Descriptor copies, so that a directory descriptor copied by dup or
	// fcntl (as fts does, for rm -r and find) still resolves.
	for _, nr := range []uint32{unix.SYS_DUP, unix.SYS_DUP2, unix.SYS_DUP3} {
		m[nr] = bpfSysSpec{Flags: spEmit}
	}
	m[unix.SYS_FCNTL] = bpfSysSpec{Flags: spEmit | spFcntl}
	// What unbinds a name, which the link cache must see whoever does it.
	for _, nr := range []uint32{unix.SYS_UNLINK, unix.SYS_UNLINKAT, unix.SYS_RMDIR, unix.SYS_RENAME, unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2} {
		sp := m[nr]
		sp.Flags |= spUnbind
		m[nr] = sp
	}
	// io_uring can rename and unlink without those system calls: any use
	// of it counts as a change of every name, like a mount.
	for _, nr := range []uint32{unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_MOVE_MOUNT, unix.SYS_PIVOT_ROOT,
		unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER} {
		m[nr] = bpfSysSpec{Flags: spMount}
	}
	return m
}

// event is a decoded ring buffer record.
type event struct {
	kind, tid, tgid, root uint32
	aux                   uint64
	ret                   int64
	args                  [6]uint64
	nr                    uint32
	s0, s1                []byte // the paths, without NUL; nil when absent
	how                   uint64
}

func parseEvent(raw []byte, ev *event) bool {
	if len(raw) < eventHeader {
		return false
	}
	le := binary.LittleEndian
	ev.kind, ev.tid, ev.tgid, ev.root = le.Uint32(raw), le.Uint32(raw[4:]), le.Uint32(raw[8:]), le.Uint32(raw[12:])
	ev.aux, ev.ret = le.Uint64(raw[16:]), int64(le.Uint64(raw[24:]))
	for i := range ev.args {
		ev.args[i] = le.Uint64(raw[32+8*i:])
	}
	ev.nr = le.Uint32(raw[80:])
	len0, len1 := int(le.Uint16(raw[84:])), int(le.Uint16(raw[86:]))
	ev.how = le.Uint64(raw[88:])
	ev.s0, ev.s1 = nil, nil
	if eventHeader+len0+len1 > len(raw) {
		return false
	}
	if len0 > 0 {
		ev.s0 = raw[eventHeader : eventHeader+len0-1]
	}
	if len1 > 0 {
		ev.s1 = raw[eventHeader+len0 : eventHeader+len0+len1-1]
	}
	return true
}

// bpfTracer is what is loaded in the kernel, shared by the runs of this
// process: loading and verifying the programs costs milliseconds, once;
// attaching them to raw tracepoints needs no tracefs and no kernel BTF.
// Everything is released when the last run has been idle for bpfIdle (or
// when the process exits: nothing is pinned, the kernel frees the
// programs and maps with their last descriptor).
type bpfTracer struct {
	objs  bpfObjects
	extra []*ebpf.Map // maps of the object file in no field of objs
	links []link.Link
	rd    *ringReader
	lostm []byte        // the lost map, memory-mapped
	cache *linkCache    // link resolutions, true while the programs count unbindings
	ctl   *[2]uint64    // the ctl map, memory-mapped: readers waiting, commands starting
	ep    int           // the pump's epoll: the ring buffer (edge-triggered) and stop
	stop  int           // an eventfd: ends the pump
	done  chan struct{} // the pump has returned
	wakes atomic.Int64  // times the kernel woke the pump (tests)
	// malformed counts records that could not be parsed (none should
	// be): counted as lost, so that no run missing one is cached.
	malformed atomic.Uint64

	// drainMu is held by whoever reads the ring buffer: a waiting run,
	// which reads its own tree's last events on its own goroutine (a
	// hand-off to a reader goroutine costs a scheduling delay per command
	// on a busy machine), or the pump between waits.
	drainMu sync.Mutex
	ev      event

	// Guarded by bpfState.mu.
	runs     map[uint32]*bpfRun  // claimed roots
	backlogs map[uint32]*backlog // events of children of this process not claimed (yet)
	starting int                 // Starts between fork and claim
}

// bpfIdle is how long the programs stay loaded without a run.
var bpfIdle = 2 * time.Second

// bpfLoaded says, without waiting on bpfState.mu (held through a load),
// whether the programs are loaded now (Launcher: trace with ptrace rather
// than wait for a load).
var bpfLoaded atomic.Bool

var bpfState struct {
	mu     sync.Mutex
	t      *bpfTracer
	err    error // a load failure, kept: it is not retried
	active int   // runs not finished
	idle   *time.Timer
}

// ebpfAvailable loads the programs if they are not loaded, and reports
// why they cannot be, wrapping ErrUnavailable.
func ebpfAvailable() error {
	_, err := acquireBPF()
	if err == nil {
		releaseBPF()
	}
	return err
}

// acquireBPF returns the loaded tracer for one more run.
func acquireBPF() (*bpfTracer, error) {
	bpfState.mu.Lock()
	defer bpfState.mu.Unlock()
	if bpfState.err != nil {
		return nil, bpfState.err
	}
	if bpfState.t == nil {
		t, err := loadBPF()
		if err != nil {
			bpfState.err = fmt.Errorf("%w: eBPF: %w", ErrUnavailable, err)
			return nil, bpfState.err
		}
		bpfState.t = t
		bpfLoaded.Store(true)
	}
	if bpfState.idle != nil {
		bpfState.idle.Stop()
	}
	bpfState.active++
	return bpfState.t, nil
}

func releaseBPF() {
	bpfState.mu.Lock()
	defer bpfState.mu.Unlock()
	bpfState.active--
	if bpfState.active > 0 {
		return
	}
	if bpfState.idle == nil {
		bpfState.idle = time.AfterFunc(bpfIdle, unloadIdleBPF)
	} else {
		bpfState.idle.Reset(bpfIdle)
	}
}

// unloadIdleBPF detaches and closes everything if no run is active.
func unloadIdleBPF() {
	bpfState.mu.Lock()
	t := bpfState.t
	if bpfState.active > 0 || t == nil {
		bpfState.mu.Unlock()
		return
	}
	bpfState.t = nil
	bpfLoaded.Store(false)
	bpfState.mu.Unlock()
	t.close()
}

// loadBPFHook, when set (by tests), replaces the load and can fail it.
var loadBPFHook func() error

func loadBPF() (t *bpfTracer, err error) {
	if loadBPFHook != nil {
		if err := loadBPFHook(); err != nil {
			return nil, err
		}
	}
	if !mayLoadBPF() {
		return nil, errors.New("not root and without CAP_BPF and CAP_PERFMON")
	}
	t = &bpfTracer{runs: make(map[uint32]*bpfRun), backlogs: make(map[uint32]*backlog),
		ep: -1, stop: -1, done: make(chan struct{})}
	var wait func() error
	if t.extra, wait, err = loadObjects(&t.objs); err != nil {
		return nil, fmt.Errorf("loading the programs: %w", err)
	}
	loaded := t // t is nil once an error is returned
	defer func() {
		if wait != nil { // the set-up below failed first
			_ = wait()
		}
		if err != nil {
			loaded.close()
		}
	}()
	// While the programs may still be verified: what reads the maps.
	if err := loadHook("setup"); err != nil {
		return nil, err
	}
	if t.lostm, err = unix.Mmap(t.objs.Lost.FD(), 0, os.Getpagesize(), unix.PROT_READ, unix.MAP_SHARED); err != nil {
		return nil, fmt.Errorf("mapping the lost counter: %w", err)
	}
	if t.cache, err = newLinkCache(t.objs.Names.FD()); err != nil {
		return nil, fmt.Errorf("mapping the names map: %w", err)
	}
	ctl, err := unix.Mmap(t.objs.Ctl.FD(), 0, os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping the control map: %w", err)
	}
	t.ctl = (*[2]uint64)(unsafe.Pointer(&ctl[0]))
	if t.rd, err = newRingReader(t.objs.Events.FD(), int(t.objs.Events.MaxEntries())); err != nil {
		return nil, fmt.Errorf("ring buffer: %w", err)
	}
	if err := t.pumpEpoll(); err != nil {
		return nil, fmt.Errorf("the pump's epoll: %w", err)
	}
	err, wait = wait(), nil
	if err != nil {
		return nil, fmt.Errorf("loading the programs: %w", err)
	}
	for _, a := range []struct {
		name string
		prog *ebpf.Program
	}{
		// Exits first: a fork's child must not be born before its
		// parent's fork is seen; sys_exit reads what fork wrote.
		{"sys_exit", t.objs.SysExit},
		{"sys_enter", t.objs.SysEnter},
		{"sched_process_exec", t.objs.SchedProcessExec},
		{"sched_process_exit", t.objs.SchedProcessExit},
		{"sched_process_fork", t.objs.SchedProcessFork},
	} {
		l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: a.name, Program: a.prog})
		if err != nil {
			return nil, fmt.Errorf("attaching to raw tracepoint %s: %w", a.name, err)
		}
		t.links = append(t.links, l)
	}
	return t, nil
}

// mayLoadBPF reports whether this process may load tracing programs:
// root, or CAP_BPF with CAP_PERFMON.
func mayLoadBPF() bool {
	if os.Geteuid() == 0 {
		return true
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	return has(unix.CAP_BPF) && has(unix.CAP_PERFMON)
}

func (t *bpfTracer) close() {
	for _, l := range t.links {
		l.Close()
	}
	if t.stop >= 0 {
		if t.ep >= 0 {
			var one [8]byte
			one[0] = 1
			_, _ = unix.Write(t.stop, one[:])
			<-t.done
			unix.Close(t.ep)
		}
		unix.Close(t.stop)
	}
	if t.rd != nil {
		t.drainMu.Lock()
		t.rd.close()
		t.drainMu.Unlock()
	}
	if t.ctl != nil {
		_ = unix.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(t.ctl)), os.Getpagesize()))
	}
	if t.lostm != nil {
		_ = unix.Munmap(t.lostm) // the mapping holds the map too
	}
	if t.cache != nil {
		t.cache.close()
	}
	t.objs.Close()
	for _, m := range t.extra {
		m.Close()
	}
}

// lost is the kernel's count of events it could not deliver, read from
// the mapped counter (a map lookup is a system call).
func (t *bpfTracer) lost() uint64 {
	return atomic.LoadUint64((*uint64)(unsafe.Pointer(&t.lostm[0]))) + t.malformed.Load() + t.rd.bad.Load()
}

// pumpEpoll makes the pump's epoll: woken when the kernel wakes the
// ring buffer's readers (a CPU sent WAKE_AT bytes and much of it is
// unread, or an exit while a reader waits, see bpf/trace.c), edge-triggered, so that what the pump
// cannot read at once (a waiting run holds the ring) does not wake it
// again and again; and by stop.
func (t *bpfTracer) pumpEpoll() (err error) {
	if t.stop, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return err
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	for _, e := range []unix.EpollEvent{
		{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(t.objs.Events.FD())},
		{Events: unix.EPOLLIN, Fd: int32(t.stop)},
	} {
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, int(e.Fd), &e); err != nil {
			unix.Close(ep)
			return err
		}
	}
	t.ep = ep
	go t.pump()
	return nil
}

// pump empties the ring buffer when the kernel says it fills up, unless a
// waiting run does. It has no timer: a traced command's events stay in
// the ring until its run reads them (or a CPU has sent WAKE_AT), and an
// idle process (the language server, check --watch) never wakes. Waking a
// goroutine for each command cost more than the rest of a traced echo.
func (t *bpfTracer) pump() {
	defer close(t.done)
	events := make([]unix.EpollEvent, 2)
	for {
		n, err := unix.EpollWait(t.ep, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for _, e := range events[:n] {
			if int(e.Fd) == t.stop {
				return
			}
		}
		t.wakes.Add(1)
		if t.drainMu.TryLock() {
			t.drain(0, nil)
			t.drainMu.Unlock()
		}
	}
}

// drain hands every record in the ring buffer to its run (or backlog),
// waiting up to block for more, until enough says so. The caller holds
// drainMu.
func (t *bpfTracer) drain(block time.Duration, enough func() bool) {
	deadline := time.Now().Add(block)
	for {
		if t.readRing(enough) {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		if woken, err := t.rd.waitData(left); err != nil {
			return
		} else if !woken {
			t.readRing(enough) // what came without waking anyone
			return
		}
	}
}

// ringBatch is how many records are handled under one taking of
// bpfState.mu, and given back to the kernel at once.
const ringBatch = 64

// readRing handles the records in the ring; true if enough said so.
func (t *bpfTracer) readRing(enough func() bool) bool {
	defer t.rd.commit()
	for {
		n := 0
		bpfState.mu.Lock()
		for ; n < ringBatch; n++ {
			raw, ok := t.rd.next()
			if !ok {
				break
			}
			if parseEvent(raw, &t.ev) {
				t.dispatch(&t.ev, raw)
			} else {
				t.malformed.Add(1)
			}
		}
		bpfState.mu.Unlock()
		t.rd.commit()
		if enough != nil && enough() {
			return true
		}
		if n < ringBatch {
			return false
		}
	}
}

func (t *bpfTracer) dispatch(ev *event, raw []byte) {
	if r := t.runs[ev.root]; r != nil {
		r.handle(ev)
		return
	}
	b := t.backlogs[ev.root]
	if b == nil {
		b = &backlog{}
		t.backlogs[ev.root] = b
	}
	b.add(ev.kind, raw)
	if t.starting == 0 && b.over() {
		delete(t.backlogs, ev.root)
	}
}

// sweep drops the backlogs of trees that ended unclaimed (another
// launcher's commands, a Start that failed), when no Start may claim them.
func (t *bpfTracer) sweep() {
	if t.starting > 0 {
		return
	}
	for root, b := range t.backlogs {
		if b.over() {
			delete(t.backlogs, root)
		}
	}
}

// maxBacklog bounds the events kept for one unclaimed root.
const maxBacklog = 8 << 20

// backlog keeps the events of a root until a Start claims it: the child
// runs (and execs) before cmd.Start returns its pid.
type backlog struct {
	events   [][]byte
	size     int
	live     int
	born     bool
	overflow bool
}

func (b *backlog) add(kind uint32, raw []byte) {
	switch kind {
	case evBorn:
		b.born = true
		b.live++
	case evExit:
		b.live--
	}
	if b.size+len(raw) > maxBacklog {
		b.overflow = true
		return
	}
	b.size += len(raw)
	b.events = append(b.events, append([]byte(nil), raw...))
}

// over reports whether the tree has ended (or its root died unborn).
func (b *backlog) over() bool { return b.live <= 0 }
