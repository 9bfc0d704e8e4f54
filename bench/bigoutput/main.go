// Command bench-bigoutput measures `transcript check` on a command printing
// a very large output (issue 15 §5): peak RSS, CPU time and the size of
// the failure report, for each transcript binary given, runs interleaved.
// Target: a 200 MB output checks in <= 300 MB and prints a bounded report.
//
// Usage: go run ./bench/bigoutput [-mb 200] [-runs 3] BINARY...
//
// Pass the binary built from the commit before the change as the baseline,
// e.g. git archive HEAD~1 | tar -x -C /tmp/old && (cd /tmp/old && go build
// -o /tmp/old/transcript ./cmd/transcript).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"
)

func main() {
	mb := flag.Int("mb", 200, "size of the output in MB")
	runs := flag.Int("runs", 3, "runs per binary (interleaved)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: bench-bigoutput [-mb N] [-runs N] BINARY...")
		os.Exit(2)
	}
	dir, err := os.MkdirTemp("", "cmdt-bench-bigoutput-")
	check(err)
	defer os.RemoveAll(dir)
	check(os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module big\n"), 0o644))
	gen := fmt.Sprintf("yes 'line of output 0123456789' | head -c %d", *mb*1_000_000)
	cases := map[string]string{
		// Fails on its second line: the report must stay small.
		"fail.cmdt": "$ " + gen + "\n1 line of output 0123456789\n1 something else\n",
		// Passes under a "..." pattern: matched from disk.
		"pass.cmdt": "$ " + gen + "; echo; echo end\n1 line of output 0123456789\n1* ...\n1 end\n",
	}
	names := make([]string, 0, len(cases))
	for name, src := range cases {
		check(os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
		names = append(names, name)
	}
	sort.Strings(names)
	type sample struct{ rss, cpu, report []float64 }
	results := map[string]*sample{}
	for r := 0; r < *runs; r++ {
		for _, bin := range flag.Args() {
			for _, name := range names {
				key := bin + " " + name
				if results[key] == nil {
					results[key] = &sample{}
				}
				rss, cpu, report := measure(bin, dir, name)
				s := results[key]
				s.rss, s.cpu, s.report = append(s.rss, rss), append(s.cpu, cpu), append(s.report, report)
			}
		}
	}
	fmt.Printf("%d MB output, %d runs each (median; max RSS of the transcript process)\n", *mb, *runs)
	for _, bin := range flag.Args() {
		for _, name := range names {
			s := results[bin+" "+name]
			fmt.Printf("%-40s %-10s max RSS %7.1f MB  CPU %6.2f s  report %9.0f bytes\n", bin, name, median(s.rss), median(s.cpu), median(s.report))
		}
	}
	// Kept full outputs are the user's; the benchmark's go with it.
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), "cmdt-stdout-*.txt"))
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && time.Since(st.ModTime()) < time.Hour && st.Size() == int64(*mb*1_000_000) {
			os.Remove(m)
		}
	}
}

// measure runs one check and returns the peak RSS (MB), CPU time (s) and
// the bytes it printed.
func measure(bin, dir, name string) (float64, float64, float64) {
	cmd := exec.Command(bin, "check", "--no-cache", name)
	cmd.Dir = dir
	// The report goes to a file, not into this process: Linux counts the
	// parent's resident set at fork in the child's peak.
	out, err := os.CreateTemp(dir, "report-*")
	check(err)
	defer os.Remove(out.Name())
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		check(err)
	}
	st, err := out.Stat()
	check(err)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return float64(ru.Maxrss) / 1024, cpu, float64(st.Size())
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-bigoutput:", err)
		os.Exit(1)
	}
}
