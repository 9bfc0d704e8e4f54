//go:build linux && amd64

package trace

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// bpfFDs lists this process's descriptors of BPF maps and programs.
func bpfFDs(t *testing.T) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	fds := map[string]bool{}
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && strings.HasPrefix(target, "anon_inode:bpf") {
			fds[e.Name()+" "+target] = true
		}
	}
	return fds
}

// TestEBPFLoadFailureLeavesNothingOpen: when one program (the largest,
// verified alongside the others, or the smallest, verified last) or the
// ring buffer (made while the object file is parsed) fails to load, the
// load fails with that error, and every map and program made for it is
// closed; whether the load is spread over CPUs or not. It fails, rather
// than skips, where this process may load BPF
// programs but cannot: the other eBPF tests skip then.
func TestEBPFLoadFailureLeavesNothingOpen(t *testing.T) {
	if !mayLoadBPF() {
		t.Skip("may not load BPF programs here")
	}
	unloadIdleBPF()
	defer func() { loadHook, spareCPUs = func(string) error { return nil }, idleCPUs }()
	spec, err := loadBpf()
	if err != nil {
		t.Fatal(err)
	}
	largest, smallest := "", ""
	for name, p := range spec.Programs {
		if largest == "" || len(p.Instructions) > len(spec.Programs[largest].Instructions) {
			largest = name
		}
		if smallest == "" || len(p.Instructions) < len(spec.Programs[smallest].Instructions) {
			smallest = name
		}
	}
	for _, spare := range []int{0, 1, 4} {
		spareCPUs = func() int { return spare }
		loadHook = func(string) error { return nil }
		// Without a failure, a load opens every program and map.
		before := bpfFDs(t)
		var objs bpfObjects
		extra, err := loadObjects(&objs)
		if err != nil {
			t.Fatal(err)
		}
		opened := 0
		for fd := range bpfFDs(t) {
			if !before[fd] {
				opened++
			}
		}
		objs.Close()
		for _, m := range extra {
			m.Close()
		}
		if want := len(spec.Programs) + len(spec.Maps); opened != want {
			t.Errorf("spare CPUs %d: a load opened %d BPF descriptors, want %d (every program and map)", spare, opened, want)
		}
		for _, failing := range []string{largest, smallest, bpfMapEvents} {
			forced := errors.New("forced failure of " + failing)
			loadHook = func(name string) error {
				if name == failing {
					return forced
				}
				return nil
			}
			before := bpfFDs(t)
			var objs bpfObjects
			extra, err := loadObjects(&objs)
			if !errors.Is(err, forced) || extra != nil {
				t.Errorf("spare CPUs %d, %s failing: loadObjects = %v, %v; want the forced error", spare, failing, extra, err)
			}
			for fd := range bpfFDs(t) {
				if !before[fd] {
					t.Errorf("spare CPUs %d, %s failing: left open: %s", spare, failing, fd)
				}
			}
		}
	}
}
