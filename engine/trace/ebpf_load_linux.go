//go:build linux && amd64

package trace

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// ringSize is the size of the events ring buffer. It is set here, not in
// bpf/trace.c (whose value is overridden), so that the ring, the most
// expensive map to create (its pages are zeroed), is created while the
// object file is still being parsed.
const ringSize = 8 << 20

// loadHook, called before the ring buffer (bpfMapEvents) and each
// program are made, can fail them (tests).
var loadHook = func(name string) error { return nil }

// loadObjects creates the maps of bpf/trace.c into objs and starts
// loading its programs; wait waits for them and puts them into objs too.
// extra are the maps no field of objs holds (data sections), to be closed
// with them. On error nothing is left open; once loadObjects has
// returned, the caller owns the maps, and must call wait, which on error
// leaves no program open.
//
// Loading is most of what a process that runs one traced command pays
// for tracing, and nearly all of it is the kernel's: zeroing the ring
// buffer's pages and verifying each program, in the calling thread. Where
// CPUs are idle, that work is spread over them: the ring is created while
// the object file is parsed, and the programs, each in its own loader
// whose maps are the ones already created (MapReplacements), are verified
// concurrently, the largest first, while the caller maps the maps it
// reads. Where none is idle, it is done in turn, before loadObjects
// returns: concurrency then only adds CPU time (about 1 ms more per load,
// measured on a busy 2-CPU VM) for no gain in time. Nothing is attached
// here: a loaded program that is not attached runs nowhere.
func loadObjects(objs *bpfObjects) (extra []*ebpf.Map, wait func() error, err error) {
	spare := spareCPUs()
	ringc := make(chan madeMap, 1)
	if spare > 0 {
		go func() { ringc <- makeRing() }()
	} else {
		ringc <- makeRing()
	}
	var made map[string]*ebpf.Map
	defer func() {
		if err != nil {
			for _, m := range made {
				m.Close()
			}
		}
	}()
	spec, err := loadBpf()
	if err == nil {
		made, err = createMaps(spec)
	}
	if err == nil {
		err = fillTables(made)
	}
	ring := <-ringc
	if ring.err != nil && err == nil {
		err = fmt.Errorf("map %s: %w", bpfMapEvents, ring.err)
	}
	if ring.m != nil {
		if made == nil {
			made = make(map[string]*ebpf.Map)
		}
		made[bpfMapEvents] = ring.m
	}
	if err != nil {
		return nil, nil, err
	}
	unassigned := make(map[string]*ebpf.Map, len(made))
	for name, m := range made {
		unassigned[name] = m
	}
	coll := &ebpf.Collection{Maps: unassigned}
	if err := coll.Assign(&objs.bpfMaps); err != nil {
		return nil, nil, err
	}
	for _, m := range coll.Maps {
		extra = append(extra, m)
	}
	load := func() error {
		progs, err := loadPrograms(spec, made, 1+spare)
		if err != nil {
			return err
		}
		coll := &ebpf.Collection{Programs: progs}
		if err := coll.Assign(&objs.bpfPrograms); err != nil {
			coll.Close()
			return err
		}
		coll.Close() // what no field holds: nothing
		return nil
	}
	if spare == 0 {
		if err := load(); err != nil {
			return nil, nil, err
		}
		wait = func() error { return nil }
	} else {
		done := make(chan error, 1)
		go func() { done <- load() }()
		wait = func() error { return <-done }
	}
	return extra, wait, nil
}

type madeMap struct {
	m   *ebpf.Map
	err error
}

func makeRing() madeMap {
	if err := loadHook(bpfMapEvents); err != nil {
		return madeMap{nil, err}
	}
	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: bpfMapEvents, Type: ebpf.RingBuf, MaxEntries: ringSize})
	return madeMap{m, err}
}

// spareCPUs is how many more CPUs than the calling thread's the load may
// use now (idleCPUs; tests force it).
var spareCPUs = idleCPUs

// idleCPUs estimates how many of this process's CPUs are idle: their
// number (GOMAXPROCS: the CPUs it may run on, within its cgroup's CPU
// limit) less the tasks running or ready to run, the caller included
// (/proc/loadavg's fourth field: an instant count, not an average).
func idleCPUs() int {
	var buf [128]byte
	fd, err := unix.Open("/proc/loadavg", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	n, _ := unix.Read(fd, buf[:])
	unix.Close(fd)
	f := strings.Fields(string(buf[:max(n, 0)]))
	if len(f) < 4 {
		return 0
	}
	running, _, ok := strings.Cut(f[3], "/")
	r, err := strconv.Atoi(running)
	if !ok || err != nil {
		return 0
	}
	return max(min(runtime.NumCPU(), runtime.GOMAXPROCS(0))-r, 0)
}

// createMaps creates every map of spec but the ring buffer (made
// alongside), each as the library's loader would (data sections
// memory-mappable, their contents written and frozen).
func createMaps(spec *ebpf.CollectionSpec) (map[string]*ebpf.Map, error) {
	ms := spec.Maps[bpfMapEvents]
	if ms == nil || ms.Type != ebpf.RingBuf {
		return nil, fmt.Errorf("map %s: not a ring buffer in the object file", bpfMapEvents)
	}
	ms.MaxEntries = ringSize
	// Without Variables: the library would memory-map each data section
	// for them, and nothing here reads a variable.
	only := &ebpf.CollectionSpec{Maps: make(map[string]*ebpf.MapSpec, len(spec.Maps)),
		Types: spec.Types, ByteOrder: spec.ByteOrder}
	for name, m := range spec.Maps {
		if name != bpfMapEvents {
			only.Maps[name] = m
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(only, ebpf.CollectionOptions{})
	if err != nil {
		return nil, err
	}
	return coll.Maps, nil
}

// fillTables writes what the programs read before they run: the system
// call table, in one batch (a system call per entry costs more than the
// rest of the table), and the adopter (this process).
func fillTables(maps map[string]*ebpf.Map) error {
	specs := syscallSpecs()
	nrs := make([]uint32, 0, len(specs))
	vals := make([]bpfSysSpec, 0, len(specs))
	for nr, sp := range specs {
		nrs, vals = append(nrs, nr), append(vals, sp)
	}
	if _, err := maps[bpfMapSpec].BatchUpdate(nrs, vals, nil); errors.Is(err, ebpf.ErrNotSupported) {
		for i, nr := range nrs {
			if err := maps[bpfMapSpec].Put(nr, vals[i]); err != nil {
				return fmt.Errorf("filling the system call table: %w", err)
			}
		}
	} else if err != nil {
		return fmt.Errorf("filling the system call table: %w", err)
	}
	if err := maps[bpfMapConfig].Put(uint32(0), uint32(os.Getpid())); err != nil {
		return fmt.Errorf("setting the adopter: %w", err)
	}
	return nil
}

// loadPrograms verifies the programs of spec, on up to workers threads,
// one loader per program, all sharing maps, the largest first (a
// program's verification time grows with its size: the largest bounds the
// whole).
func loadPrograms(spec *ebpf.CollectionSpec, maps map[string]*ebpf.Map, workers int) (map[string]*ebpf.Program, error) {
	names := make([]string, 0, len(spec.Programs))
	for name := range spec.Programs {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := len(spec.Programs[names[i]].Instructions), len(spec.Programs[names[j]].Instructions)
		return a > b || a == b && names[i] < names[j]
	})
	progs := make([]*ebpf.Program, len(names))
	errs := make([]error, len(names))
	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	work := func() {
		defer wg.Done()
		for {
			mu.Lock()
			i := next
			next++
			mu.Unlock()
			if i >= len(names) {
				return
			}
			progs[i], errs[i] = loadProgram(spec, names[i], maps)
		}
	}
	workers = max(min(workers, len(names)), 1)
	wg.Add(workers)
	for range workers - 1 {
		go work()
	}
	work()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, p := range progs {
			if p != nil {
				p.Close()
			}
		}
		return nil, err
	}
	out := make(map[string]*ebpf.Program, len(names))
	for i, name := range names {
		out[name] = progs[i]
	}
	return out, nil
}

// loadProgram loads one program of spec, its maps replaced by maps (the
// loader clones their descriptors for the program and closes the clones).
func loadProgram(spec *ebpf.CollectionSpec, name string, maps map[string]*ebpf.Map) (*ebpf.Program, error) {
	if err := loadHook(name); err != nil {
		return nil, err
	}
	one := &ebpf.CollectionSpec{Maps: spec.Maps, Programs: map[string]*ebpf.ProgramSpec{name: spec.Programs[name]},
		Types: spec.Types, ByteOrder: spec.ByteOrder}
	coll, err := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{MapReplacements: maps})
	if err != nil {
		return nil, err
	}
	p := coll.DetachProgram(name)
	coll.Close()
	return p, nil
}
