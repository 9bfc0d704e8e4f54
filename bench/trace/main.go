// Command bench-trace measures what tracing (engine/trace) costs, as the
// ratio of traced to untraced wall time in the same run:
//
//   - echo: 200 runs of /bin/echo, each started and waited for on its own
//     (targets: ptrace ≤ 1.4×, eBPF ≤ 1.1×), in the inherited environment, and again with
//     LC_ALL=C: under a UTF-8 locale echo opens some 30 locale files,
//     under C none, which separates the fixed cost of a traced command
//     from the cost of each file access;
//   - cat: one cat reading 1,000 small files (targets: ptrace ≤ 1.5×,
//     eBPF ≤ 1.1×);
//   - head: one shell running head -c1 on each of 1,000 files, that is
//     1,000 processes (target ≤ 1.5×).
//
// Each workload runs untraced, traced with the seccomp filter (injected,
// the default), the same with Options.ExactResults (existence from each
// call's exit stop instead of the tracer's check at entry), with the
// filter installed by the re-exec shim, and without a filter
// (ModePtraceAll), with seccomp user notification (ModeUnotify: no ptrace)
// and with eBPF (ModeEBPF, where this process may load BPF programs). Variants are interleaved command by
// command, in rotating order, so that load from other processes hits
// them all alike; the median over rounds is reported. So is the CPU time
// (this process's and its children's, from getrusage) that tracing adds
// per command: on a machine shared with other jobs it varies much less
// than wall time.
//
// Then, unless -floor=false, the floor under the ptrace variants: each
// workload under a minimal C tracer (floor/ptrace_floor.c, built with cc)
// that installs engine/trace's own seccomp filter before exec and only
// reads each stop's registers and path. Its ratio is what ptrace and the
// machine cost before a tracer does any work of its own.
//
// Usage: go run ./bench/trace [-runs N] [-only echo,echo-C,cat,head] [-variants seccomp,ebpf] [-floor=false]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cmdt-dev/cmdt/bench/internal/measure"
	"github.com/cmdt-dev/cmdt/engine/trace"
)

type variant struct {
	name string
	run  func(cmd *exec.Cmd) (accesses int, err error)
}

type workload struct {
	name, what string
	target     float64 // for the default ptrace mode (seccomp)
	targetEBPF float64
	units      int              // commands per run
	command    func() *exec.Cmd // one of them
}

func main() {
	runs := flag.Int("runs", 15, "repetitions per measurement (the median is reported)")
	only := flag.String("only", "", "comma-separated workloads to run (echo, echo-C, cat, head); all by default")
	floor := flag.Bool("floor", true, "also measure ptrace's own cost with a minimal C tracer (needs cc)")
	only2 := flag.String("variants", "", "comma-separated traced variants (seccomp, seccomp-exact, seccomp-shim, ptrace-all, unotify, ebpf); all by default")
	flag.Parse()
	if err := trace.Available(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-trace:", err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "cmdt-bench-trace-")
	check(err)
	defer os.RemoveAll(dir)
	var files []string
	for i := range 1000 {
		name := fmt.Sprintf("f%04d", i)
		check(os.WriteFile(filepath.Join(dir, name), []byte("x\n"), 0o644))
		files = append(files, name)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	check(err)
	defer devnull.Close()
	command := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = dir, devnull, os.Stderr
		return cmd
	}
	echo := func(env []string) func() *exec.Cmd {
		return func() *exec.Cmd {
			cmd := command("/bin/echo", "hi")
			cmd.Env = env
			return cmd
		}
	}

	variants := []variant{
		{"untraced", func(cmd *exec.Cmd) (int, error) { return 0, cmd.Run() }},
		tracedVariant("seccomp", trace.Options{Mode: trace.ModeSeccomp}),
		tracedVariant("seccomp-exact", trace.Options{Mode: trace.ModeSeccomp, ExactResults: true}),
		tracedVariant("seccomp-shim", trace.Options{Mode: trace.ModeSeccomp, Shim: true}),
		tracedVariant("ptrace-all", trace.Options{Mode: trace.ModePtraceAll}),
	}
	if err := trace.AvailableMode(trace.ModeUnotify); err == nil {
		variants = append(variants, tracedVariant("unotify", trace.Options{Mode: trace.ModeUnotify}))
	} else {
		fmt.Fprintln(os.Stderr, "bench-trace: no unotify variant:", err)
	}
	if err := trace.AvailableMode(trace.ModeEBPF); err == nil {
		variants = append(variants, tracedVariant("ebpf", trace.Options{Mode: trace.ModeEBPF}))
	} else {
		fmt.Fprintln(os.Stderr, "bench-trace: no ebpf variant:", err)
	}
	if *only2 != "" {
		names := strings.Split(*only2, ",")
		variants = slices.DeleteFunc(variants, func(v variant) bool { return v.name != "untraced" && !slices.Contains(names, v.name) })
	}
	workloads := []workload{
		{"echo", "200 × /bin/echo", 1.4, 1.1, 200, echo(nil)},
		{"echo-C", "200 × /bin/echo, LC_ALL=C", 1.4, 1.1, 200, echo(append(os.Environ(), "LC_ALL=C"))},
		{"cat", "cat over 1,000 files", 1.5, 1.1, 1, func() *exec.Cmd { return command("cat", files...) }},
		{"head", "sh: head -c1 on 1,000 files", 1.5, 1.1, 1, func() *exec.Cmd {
			return command("/bin/sh", "-c", `for f in f*; do head -c1 "$f"; done`)
		}},
	}

	if *only != "" {
		names := strings.Split(*only, ",")
		workloads = slices.DeleteFunc(workloads, func(w workload) bool { return !slices.Contains(names, w.name) })
	}

	loadBefore := measure.LoadAvg()
	times := make(map[[2]string][]time.Duration)
	cpus := make(map[[2]string][]time.Duration)
	accesses := make(map[[2]string]int)
	for round := range *runs {
		for _, w := range workloads {
			total := make([]time.Duration, len(variants))
			cpu := make([]time.Duration, len(variants))
			count := make([]int, len(variants))
			for u := range w.units {
				for j := range variants {
					i := (round + u + j) % len(variants)
					start, startCPU := time.Now(), cpuTime()
					n, err := variants[i].run(w.command())
					total[i] += time.Since(start)
					cpu[i] += cpuTime() - startCPU
					check(err)
					count[i] += n
				}
			}
			for i, v := range variants {
				k := [2]string{w.name, v.name}
				times[k] = append(times[k], total[i])
				cpus[k] = append(cpus[k], cpu[i]/time.Duration(w.units))
				accesses[k] = count[i]
			}
		}
	}

	fmt.Printf("load average: before %s, after %s\n", loadBefore, measure.LoadAvg())
	fmt.Printf("median of %d runs; ratio = traced / untraced in this run; per access = extra time / accesses;\n", *runs)
	fmt.Printf("cpu/cmd = CPU time per command (this process and its children), + what tracing adds\n\n")
	fmt.Printf("%-30s %-13s %12s %7s %9s %11s %21s\n", "workload", "variant", "median", "ratio", "accesses", "per access", "cpu/cmd")
	for _, w := range workloads {
		base := measure.Median(times[[2]string{w.name, "untraced"}])
		baseCPU := measure.Median(cpus[[2]string{w.name, "untraced"}])
		for _, v := range variants {
			k := [2]string{w.name, v.name}
			m := measure.Median(times[k])
			c := measure.Median(cpus[k])
			ratio, verdict, per, cpu := "", "", "", c.Round(time.Microsecond).String()
			if v.name != "untraced" {
				cpu += " (+" + (c - baseCPU).Round(time.Microsecond).String() + ")"
				r := float64(m) / float64(base)
				ratio = fmt.Sprintf("%.2f×", r)
				if accesses[k] > 0 {
					per = ((m - base) / time.Duration(accesses[k])).Round(10 * time.Nanosecond).String()
				}
				target := map[string]float64{"seccomp": w.target, "unotify": w.target, "ebpf": w.targetEBPF}[v.name]
				if target > 0 {
					verdict = fmt.Sprintf("  target ≤ %.2f×: %s", target, map[bool]string{true: "met", false: "MISSED"}[r <= target])
				}
			}
			fmt.Printf("%-30s %-13s %12v %7s %9d %11s %21s%s\n", w.what, v.name, m.Round(time.Microsecond), ratio, accesses[k], per, cpu, verdict)
		}
		fmt.Println()
	}
	if *floor {
		printFloor(dir, workloads, *runs)
	}
}

// printFloor runs each workload under ptrace_floor (floor/ptrace_floor.c,
// built here with cc): a C tracer that does the least a ptrace+seccomp
// tracer can, under engine/trace's own filter. Its ratio is what ptrace
// costs on this machine before any tracer does any work; the seccomp
// variant above cannot get below it.
func printFloor(dir string, workloads []workload, runs int) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		fmt.Println("floor: skipped, no C compiler (cc) to build bench/trace/floor/ptrace_floor.c")
		return
	}
	_, self, _, _ := runtime.Caller(0)
	bin := filepath.Join(dir, "ptrace_floor")
	if out, err := exec.Command(cc, "-O2", "-o", bin, filepath.Join(filepath.Dir(self), "floor", "ptrace_floor.c")).CombinedOutput(); err != nil {
		fmt.Printf("floor: skipped, cc failed: %v\n%s", err, out)
		return
	}
	filter := filepath.Join(dir, "filter.bpf")
	check(os.WriteFile(filter, trace.SeccompFilter(), 0o644))
	fmt.Println("floor: a minimal C tracer (bench/trace/floor) under the same seccomp filter, installed before")
	fmt.Println("exec; at each stop it reads the registers and the path, then resumes: it records nothing.")
	fmt.Println("Medians per command; ratio = traced / untraced, both run by it, alternately.")
	fmt.Println()
	for _, w := range workloads {
		cmd := w.command()
		n := min(runs*w.units, 2000)
		floorCmd := exec.Command(bin, append([]string{strconv.Itoa(n), filter, dir, cmd.Path}, cmd.Args[1:]...)...)
		floorCmd.Env = cmd.Env
		floorCmd.Stderr = os.Stderr
		out, err := floorCmd.Output()
		check(err)
		var untraced, traced int64
		var stops float64
		_, err = fmt.Sscan(string(out), &untraced, &traced, &stops)
		check(err)
		fmt.Printf("%-30s untraced %9v  traced %9v  %.2f×  %.0f stops per run\n", w.what,
			time.Duration(untraced).Round(time.Microsecond), time.Duration(traced).Round(time.Microsecond),
			float64(traced)/float64(untraced), stops)
	}
}

// tracedVariant runs a command under the tracer in the given options and
// counts the accesses it reports.
func tracedVariant(name string, opts trace.Options) variant {
	return variant{name, func(cmd *exec.Cmd) (int, error) {
		p, err := trace.Start(cmd, opts)
		if err != nil {
			return 0, err
		}
		rep, err := p.Wait()
		if err == nil && rep.Mode != opts.Mode {
			err = errors.New("ran in " + rep.Mode.String() + ", not " + opts.Mode.String())
		}
		return len(rep.Accesses), err
	}}
}

// cpuTime is the CPU time used so far by this process and the children it
// has waited for.
func cpuTime() time.Duration {
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(children.Utime) + tv(children.Stime)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-trace:", err)
		os.Exit(1)
	}
}
