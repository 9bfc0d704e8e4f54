// Package measure holds what the benchmark programs under bench/ share:
// the machine's load (their numbers mean little on a busy machine) and
// the median of repeated timings.
package measure

import (
	"os"
	"slices"
	"strings"
	"time"
)

// LoadAvg is the machine's load over the last 1, 5 and 15 minutes, or
// "?" where /proc/loadavg cannot be read.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// Median is the median of ds (the upper one of an even count); ds is
// left as it is.
func Median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
