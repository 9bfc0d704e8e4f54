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
// With -base REV, cmd/transcript is also built at git revision REV, and
// the ext.cmdt cases are run with it too, interleaved with the others, so
// that a change is measured against its baseline in the same run. Each
// case's CPU time (user + system, the process and what it waited for) is
// reported beside its wall time: on a busy machine it is the steadier.
// -only keeps the cases whose name contains one of its comma-separated
// words (the floor is always kept).
//
// Usage: go run ./bench/startup [-runs N] [-base REV] [-only WORDS]
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
	base := flag.String("base", "", "also run the ext.cmdt cases with cmd/transcript built at this git revision")
	only := flag.String("only", "", "comma-separated words: run only the cases whose name contains one")
	flag.Parse()
	dir, err := os.MkdirTemp("", "cmdt-bench-startup-")
	check(err)
	defer os.RemoveAll(dir)
	floor := filepath.Join(dir, "floor")
	transcript := filepath.Join(dir, "transcript")
	build(floor, "./bench/startup/floor")
	build(transcript, "./cmd/transcript")
	baseBin := ""
	if *base != "" {
		baseBin = filepath.Join(dir, "transcript-base")
		buildAt(baseBin, *base, filepath.Join(dir, "base-src"))
	}
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
	if baseBin != "" {
		variants = append(variants, []struct {
			name string
			args []string
		}{
			{"base: check ext.cmdt (default)", []string{baseBin, "check", "--cache-dir", cacheDir, "--no-cache", "ext.cmdt"}},
			{"base: check ext.cmdt --trace=off", []string{baseBin, "check", "--cache-dir", cacheDir, "--no-cache", "--trace=off", "ext.cmdt"}},
		}...)
	}
	if *only != "" {
		kept := variants[:1]
		for _, v := range variants[1:] {
			for _, w := range strings.Split(*only, ",") {
				if strings.Contains(v.name, w) {
					kept = append(kept, v)
					break
				}
			}
		}
		variants = kept
	}
	times := make([][]time.Duration, len(variants))
	cpu := make([][]time.Duration, len(variants))
	load := measure.LoadAvg()
	for r := range *runs {
		for j := range variants {
			i := (r + j) % len(variants)
			start := time.Now()
			c := run(work, variants[i].args)
			times[i] = append(times[i], time.Since(start))
			cpu[i] = append(cpu[i], c)
		}
	}
	fmt.Printf("load average: before %s, after %s; median of %d runs\n\n", load, measure.LoadAvg(), *runs)
	floorWall, floorCPU := measure.Median(times[0]), measure.Median(cpu[0])
	fmt.Printf("%-36s %10s %7s %10s %7s\n", "", "wall", "÷floor", "CPU", "÷floor")
	for i, v := range variants {
		m, c := measure.Median(times[i]), measure.Median(cpu[i])
		verdict := ""
		if v.name == "check one.cmdt (default)" {
			verdict = fmt.Sprintf("  target ≤ 2×: %s", map[bool]string{true: "met", false: "MISSED"}[float64(m) <= 2*float64(floorWall)])
		}
		fmt.Printf("%-36s %10v %6.2f× %10v %6.2f×%s\n", v.name, m.Round(10*time.Microsecond), float64(m)/float64(floorWall),
			c.Round(10*time.Microsecond), float64(c)/float64(floorCPU), verdict)
	}
}

func build(out, pkg string) {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Stderr = os.Stderr
	check(cmd.Run())
}

// buildAt builds cmd/transcript as of git revision rev into out, from a
// temporary worktree at src.
func buildAt(out, rev, src string) {
	add := exec.Command("git", "worktree", "add", "--detach", src, rev)
	add.Stderr = os.Stderr
	check(add.Run())
	cmd := exec.Command("go", "build", "-o", out, "./cmd/transcript")
	cmd.Dir = src
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	rm := exec.Command("git", "worktree", "remove", "--force", src)
	rm.Stderr = os.Stderr
	_ = rm.Run()
	check(err)
}

// run runs args in dir and returns the CPU time it took (user + system).
func run(dir string, args []string) time.Duration {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench-startup: %s: %v\n%s", strings.Join(args, " "), err, out)
		os.Exit(1)
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-startup:", err)
		os.Exit(1)
	}
}
