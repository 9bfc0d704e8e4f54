//go:build linux && amd64

package trace

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
// verified alongside the others, or the smallest, verified last), the
// ring buffer (made while the object file is parsed) or the set-up that
// runs while the programs are verified fails, the load fails with that
// error, and every map, program and link made for it is closed; whether
// the load is spread over CPUs or not. It fails, rather than skips, where
// this process may load BPF programs but cannot: the other eBPF tests
// skip then.
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
	opened := func(before map[string]bool) []string {
		var fds []string
		for fd := range bpfFDs(t) {
			if !before[fd] {
				fds = append(fds, fd)
			}
		}
		return fds
	}
	for _, spare := range []int{0, 1, 4} {
		spareCPUs = func() int { return spare }
		loadHook = func(string) error { return nil }
		// Without a failure, a load opens every program, map and link.
		before := bpfFDs(t)
		bt, err := loadBPF()
		if err != nil {
			t.Fatal(err)
		}
		n := len(opened(before))
		bt.close()
		if want := 2*len(spec.Programs) + len(spec.Maps); n != want {
			t.Errorf("spare CPUs %d: a load opened %d BPF descriptors, want %d (every program, map and link)", spare, n, want)
		}
		if left := opened(before); len(left) > 0 {
			t.Errorf("spare CPUs %d: left open after close: %v", spare, left)
		}
		for _, failing := range []string{largest, smallest, bpfMapEvents, "setup"} {
			forced := errors.New("forced failure of " + failing)
			loadHook = func(name string) error {
				if name == failing {
					return forced
				}
				return nil
			}
			before := bpfFDs(t)
			if bt, err := loadBPF(); !errors.Is(err, forced) || bt != nil {
				t.Errorf("spare CPUs %d, %s failing: loadBPF = %v, %v; want the forced error", spare, failing, bt, err)
			}
			// Programs loading in the background when the load failed
			// must not open later: look again after their usual time.
			time.Sleep(50 * time.Millisecond)
			if left := opened(before); len(left) > 0 {
				t.Errorf("spare CPUs %d, %s failing: left open: %v", spare, failing, left)
			}
		}
	}
}

// BenchmarkLoadBPF loads everything a process loads for its first traced
// command, in turn and spread over the CPUs (as where some are idle). self-cpu-µs/op is this process's CPU time, kernel included
// (the verifier, the ring buffer's pages), steadier than wall time on a
// shared machine; compare the two in one run.
func BenchmarkLoadBPF(b *testing.B) {
	if !mayLoadBPF() {
		b.Skip("may not load BPF programs here")
	}
	defer func() { spareCPUs = idleCPUs }()
	for _, v := range []struct {
		name  string
		spare int
	}{{"in-turn", 0}, {"spread", runtime.NumCPU() - 1}} {
		b.Run(v.name, func(b *testing.B) {
			spareCPUs = func() int { return v.spare }
			var self time.Duration
			for b.Loop() {
				var before, after unix.Rusage
				_ = unix.Getrusage(unix.RUSAGE_SELF, &before)
				t, err := loadBPF()
				if err != nil {
					b.Fatal(err)
				}
				_ = unix.Getrusage(unix.RUSAGE_SELF, &after)
				self += time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
				b.StopTimer()
				// Closed untimed, and given time: the kernel frees the
				// programs and the ring after an RCU grace period, and a
				// load racing that is not what a process pays.
				t.close()
				time.Sleep(10 * time.Millisecond)
				b.StartTimer()
			}
			b.ReportMetric(float64(self.Microseconds())/float64(b.N), "self-cpu-µs/op")
		})
	}
}
