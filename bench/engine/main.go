// Command bench-engine measures the engine against its targets, each
// against a baseline in the same run (ratios, not absolute seconds):
//
//   - 200 external commands: `transcript check` vs a bash loop running the
//     same 200 commands (target ≤ 1.05×), untraced and traced;
//   - 500 shell-builtin commands in one file: wall time (target ≤ 20 ms);
//   - --jobs 2 vs --jobs 1 over 20 such files (target ≥ 1.8× faster).
//     The CPU time (user+system) of each is printed too: on a machine
//     whose cores are busy with other work a second worker gets no second
//     core, and equal CPU times then say the work itself parallelises
//     (wall speed-up ≈ 2 × cpu(jobs 1)/cpu(jobs 2) on two idle cores).
//
// Usage: go run ./bench/engine [-runs N] [-transcript bin/transcript]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	runs := flag.Int("runs", 15, "repetitions per measurement (the median is reported)")
	bin := flag.String("transcript", "bin/transcript", "transcript binary to measure")
	flag.Parse()
	abs, err := filepath.Abs(*bin)
	check(err)
	dir, err := os.MkdirTemp("", "cmdt-bench-engine-")
	check(err)
	defer os.RemoveAll(dir)

	// 200 external commands.
	var tr, sh strings.Builder
	sh.WriteString("set -e\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&tr, "$ /bin/echo line%d\n1 line%d\n\n", i, i)
		fmt.Fprintf(&sh, "/bin/echo line%d >/dev/null\n", i)
	}
	ext := write(dir, "ext/ext.cmdt", tr.String())
	script := write(dir, "ext.sh", sh.String())
	tCheck, tBash := medianPair(*runs,
		func() { run(abs, "check", "--no-cache", "--trace=off", ext) },
		func() { run("bash", script) })
	tTraced := median(*runs, func() { run(abs, "check", "--no-cache", "--trace=auto", ext) })
	fmt.Printf("200 external commands: transcript %v, bash loop %v, ratio %.3f (target <= 1.05)\n",
		tCheck.Round(time.Microsecond), tBash.Round(time.Microsecond), float64(tCheck)/float64(tBash))
	fmt.Printf("  same with --trace=auto (the default on Linux): %v, ratio to bash %.3f\n",
		tTraced.Round(time.Microsecond), float64(tTraced)/float64(tBash))

	// 500 builtins in one file.
	var b strings.Builder
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&b, "$ echo line%d\n1 line%d\n\n", i, i)
	}
	one := write(dir, "builtins/b.cmdt", b.String())
	tBuiltins := median(*runs, func() { run(abs, "check", "--no-cache", one) })
	fmt.Printf("500 builtin commands: %v (target <= 20ms)\n", tBuiltins.Round(time.Microsecond))

	// --jobs 2 vs --jobs 1 over 20 files of 500 builtins... which are CPU-bound.
	for i := 0; i < 20; i++ {
		write(dir, fmt.Sprintf("many/f%02d.cmdt", i), b.String())
	}
	many := filepath.Join(dir, "many")
	var cpu1, cpu2 []time.Duration
	j1, j2 := medianPair(*runs,
		func() { cpu1 = append(cpu1, run(abs, "check", "--no-cache", "--jobs", "1", many)) },
		func() { cpu2 = append(cpu2, run(abs, "check", "--no-cache", "--jobs", "2", many)) })
	c1, c2 := medianOf(cpu1), medianOf(cpu2)
	fmt.Printf("20 files: --jobs 1 %v, --jobs 2 %v, speed-up %.2fx (target >= 1.8)\n",
		j1.Round(time.Microsecond), j2.Round(time.Microsecond), float64(j1)/float64(j2))
	fmt.Printf("  CPU time (user+sys): --jobs 1 %v, --jobs 2 %v, ratio %.2f (1.00 = the work parallelises without overhead)\n",
		c1.Round(time.Microsecond), c2.Round(time.Microsecond), float64(c2)/float64(c1))
}

func write(dir, name, content string) string {
	p := filepath.Join(dir, name)
	check(os.MkdirAll(filepath.Dir(p), 0o755))
	check(os.WriteFile(p, []byte(content), 0o644))
	return p
}

// run runs a command that must succeed and returns its CPU time.
func run(name string, args ...string) time.Duration {
	cmd := exec.Command(name, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "%s %v: %v\n%s", name, args, err, out)
		os.Exit(1)
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// medianOf returns the median of ts (which it sorts).
func medianOf(ts []time.Duration) time.Duration {
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts[len(ts)/2]
}

// median runs f n times (after one warm-up) and returns the median time.
func median(n int, f func()) time.Duration {
	f()
	times := make([]time.Duration, n)
	for i := range times {
		start := time.Now()
		f()
		times[i] = time.Since(start)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[n/2]
}

// medianPair times a and b alternately, n times each (after a warm-up),
// so drift in the machine's load affects both alike.
func medianPair(n int, a, b func()) (time.Duration, time.Duration) {
	a()
	b()
	ta, tb := make([]time.Duration, n), make([]time.Duration, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		a()
		ta[i] = time.Since(start)
		start = time.Now()
		b()
		tb[i] = time.Since(start)
	}
	for _, ts := range [][]time.Duration{ta, tb} {
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	}
	return ta[n/2], tb[n/2]
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
