//go:build linux

package cache

import (
	"os"
	"syscall"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
)

// multigrain reports whether the file system of device dev stamps a change
// made after a stat with a change time of its own (Linux 6.13's multigrain
// timestamps), which onlyRetimed needs. It is probed once per Cache, on a
// file it creates in the cache directory (else the temporary directory),
// and known for that device only: any other answers false, which only
// leaves such a file's re-timing not accepted.
func (c *Cache) multigrain(dev uint64) bool {
	c.mgOnce.Do(func() {
		dir := c.dir
		if dir == "" {
			dir = os.TempDir()
		}
		c.mgDev, c.mgOK = probeMultigrain(dir)
	})
	return c.mgOK && dev == c.mgDev
}

// MultigrainTimestamps reports whether the file system of dir has
// multigrain timestamps, which a cache needs there to accept an input the
// run only re-timed or re-moded (docs/caching.md). It creates and removes
// a file in dir.
func MultigrainTimestamps(dir string) bool {
	_, ok := probeMultigrain(dir)
	return ok
}

// probeMultigrain creates a file in dir and changes its mode four times,
// each after a stat, judging the last three changes (the first moves the
// change time from the creation's, which may be coarse, by up to a tick).
// With multigrain timestamps each change gets a change time after the one
// last queried, within far less than a tick of the coarse clock. With
// coarse timestamps only, changes within one tick share a change time, and
// two distinct ones are at least about a tick apart: three strictly
// increasing steps within half a tick cannot happen. Steps that increase
// but took longer (the prober was preempted) are tried again, up to 20 times.
func probeMultigrain(dir string) (dev uint64, ok bool) {
	f, err := os.CreateTemp(dir, ".cmdt-mgprobe-*")
	if err != nil {
		return 0, false
	}
	defer os.Remove(f.Name())
	defer f.Close()
	fd := int(f.Fd())
	tick, ok := engine.FSClockTick()
	if !ok {
		tick = time.Millisecond
	}
	res := int64(tick)
	var st syscall.Stat_t
	for try := 0; try < 20; try++ {
		var ctimes [5]int64
		for i := range ctimes {
			if i > 0 {
				if err := syscall.Fchmod(fd, uint32(0o600|(i&1)<<2)); err != nil {
					return 0, false
				}
			}
			if err := syscall.Fstat(fd, &st); err != nil {
				return 0, false
			}
			ctimes[i] = st.Ctim.Nano()
		}
		for i := 2; i < len(ctimes); i++ {
			if ctimes[i] <= ctimes[i-1] {
				return 0, false // a change without a change time of its own
			}
		}
		if ctimes[len(ctimes)-1]-ctimes[1] < res/2 {
			return uint64(st.Dev), true
		}
	}
	return 0, false
}
