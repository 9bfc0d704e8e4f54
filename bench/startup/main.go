// Command bench-startup measures the whole-process time of short
// transcript invocations against a floor: a minimal Go program that runs
// /bin/true with os/exec (bench/startup/floor). Both are built once, then
// run interleaved, in rotating order, and the median of each is reported
// with its ratio to the floor's in the same run.
//
// Target: a one-command transcript (`$ true`) checked in the default mode
// takes at most 2× the floor. `true` is a shell builtin, so nothing is
// traced there; ext.cmdt (`$ /bin/true`) shows what setting the tracer up
// for a program adds (eBPF: loading the programs).
//
// Usage: go run ./bench/startup [-runs N]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cmdt-dev/cmdt/bench/internal/measure"
)

func main() {
	runs := flag.Int("runs", 41, "repetitions (the median is reported)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "cmdt-bench-startup-")
	check(err)
	defer os.RemoveAll(dir)
	floor := filepath.Join(dir, "floor")
	transcript := filepath.Join(dir, "transcript")
	build(floor, "./bench/startup/floor")
	build(transcript, "./cmd/transcript")
	work := filepath.Join(dir, "work")
	check(os.MkdirAll(work, 0o755))
	check(os.WriteFile(filepath.Join(work, "go.mod"), []byte("module m\n"), 0o644))
	check(os.WriteFile(filepath.Join(work, "one.cmdt"), []byte("$ true\n"), 0o644))
	// true is a shell builtin: nothing is traced. ext.cmdt runs a program,
	// so the default mode sets its tracer up (eBPF: loads the programs).
	check(os.WriteFile(filepath.Join(work, "ext.cmdt"), []byte("$ /bin/true\n"), 0o644))
	cacheDir := filepath.Join(dir, "cache")

	variants := []struct {
		name string
		args []string
	}{
		{"floor: Go + os/exec /bin/true", []string{floor}},
		{"transcript version", []string{transcript, "version"}},
		{"check one.cmdt (default)", []string{transcript, "check", "--cache-dir", cacheDir, "--no-cache", "one.cmdt"}},
		{"check one.cmdt --trace=off", []string{transcript, "check", "--cache-dir", cacheDir, "--no-cache", "--trace=off", "one.cmdt"}},
		{"check one.cmdt --trace=ptrace", []string{transcript, "check", "--cache-dir", cacheDir, "--no-cache", "--trace=ptrace", "one.cmdt"}},
		{"check ext.cmdt (/bin/true, default)", []string{transcript, "check", "--cache-dir", cacheDir, "--no-cache", "ext.cmdt"}},
		{"check ext.cmdt --trace=off", []string{transcript, "check", "--cache-dir", cacheDir, "--no-cache", "--trace=off", "ext.cmdt"}},
		{"check one.cmdt (cached hit)", []string{transcript, "check", "--cache-dir", cacheDir, "one.cmdt"}},
	}
	// Prime the cache for the hit.
	run(work, variants[len(variants)-1].args)
	times := make([][]time.Duration, len(variants))
	load := measure.LoadAvg()
	for r := range *runs {
		for j := range variants {
			i := (r + j) % len(variants)
			start := time.Now()
			run(work, variants[i].args)
			times[i] = append(times[i], time.Since(start))
		}
	}
	fmt.Printf("load average: before %s, after %s; median of %d runs\n\n", load, measure.LoadAvg(), *runs)
	base := measure.Median(times[0])
	for i, v := range variants {
		m := measure.Median(times[i])
		verdict := ""
		if i == 2 {
			verdict = fmt.Sprintf("  target ≤ 2×: %s", map[bool]string{true: "met", false: "MISSED"}[float64(m) <= 2*float64(base)])
		}
		fmt.Printf("%-34s %10v %6.2f×%s\n", v.name, m.Round(10*time.Microsecond), float64(m)/float64(base), verdict)
	}
}

func build(out, pkg string) {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Stderr = os.Stderr
	check(cmd.Run())
}

func run(dir string, args []string) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "bench-startup: %s: %v\n%s", strings.Join(args, " "), err, out)
		os.Exit(1)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-startup:", err)
		os.Exit(1)
	}
}
