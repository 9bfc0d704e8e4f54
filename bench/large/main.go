// Command bench-large measures how parsing and checking scale with the size
// of one transcript (issue 17 §4): a generated transcript of N MB (500
// commands, each `seq` printing thousands of lines it expects) is
//
//   - parsed in process: time and bytes allocated, against the file's size
//     (targets: ≤ 1 s and ≤ 3× its size for 50 MB), at 1/4 and full size
//     to show the growth is linear;
//   - checked by the transcript binary: a first check (runs it), a cached
//     re-check (target ≤ 2× the parse), and `deps`; CPU time (user+sys,
//     steadier than wall time on a shared machine) and peak RSS of each.
//
// Usage: go run ./bench/large [-mb 50] [-transcript bin/transcript] [-cpuprofile F]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/cmdt-dev/cmdt/parser"
)

func main() {
	mb := flag.Int("mb", 50, "size of the generated transcript in MB")
	bin := flag.String("transcript", "bin/transcript", "transcript binary to measure (empty: parse only)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the full-size parse to this file")
	flag.Parse()
	dir, err := os.MkdirTemp("", "cmdt-bench-large-")
	check(err)
	defer os.RemoveAll(dir)
	check(os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module large\n"), 0o644))

	// The binary first: a child's peak RSS starts at its parent's at fork,
	// so the parse trees below would count in the children's.
	full := generate(*mb << 20)
	var first, cached, deps cliRun
	if *bin != "" {
		abs, err := filepath.Abs(*bin)
		check(err)
		path := filepath.Join(dir, "big.cmdt")
		check(os.WriteFile(path, full, 0o644))
		full = nil
		runtime.GC()
		debug.FreeOSMemory()
		env := append(os.Environ(), "CMDT_CACHE_DIR="+filepath.Join(dir, "cache"))
		first = runCLI(abs, dir, env, "check", "big.cmdt")
		cached = runCLI(abs, dir, env, "check", "big.cmdt")
		deps = runCLI(abs, dir, env, "deps", "big.cmdt")
		full, err = os.ReadFile(path)
		check(err)
	}
	quarter := generate(*mb << 18)
	pq := measureParse(quarter, "")
	pf := measureParse(full, *cpuprofile)
	for _, p := range []struct {
		size int
		r    parseRun
	}{{len(quarter), pq}, {len(full), pf}} {
		fmt.Printf("parse %5.1f MB: CPU %6.0f ms, wall %6.0f ms, %6.0f MB allocated (%.1f× the size), heap in use after %4.0f MB\n",
			mbOf(p.size), ms(p.r.cpu), ms(p.r.elapsed), mbOf(int(p.r.alloc)), float64(p.r.alloc)/float64(p.size), mbOf(int(p.r.peak)))
	}
	fmt.Printf("growth 4× the size: parse CPU %.1f×, allocation %.1f×  (linear: 4×)\n",
		float64(pf.cpu)/float64(pq.cpu), float64(pf.alloc)/float64(pq.alloc))
	if *bin == "" {
		return
	}
	for _, r := range []struct {
		name string
		r    cliRun
	}{{"check (runs it)", first}, {"check (cached)", cached}, {"deps", deps}} {
		fmt.Printf("%-16s CPU %6.0f ms (%5.2f× the parse), wall %6.0f ms, peak RSS %5.0f MB (%.1f× the size)\n",
			r.name, ms(r.r.cpu), float64(r.r.cpu)/float64(pf.cpu), ms(r.r.wall), mbOf(int(r.r.rss)), float64(r.r.rss)/float64(len(full)))
	}
}

// generate writes 500 command blocks of `seq` output lines, to about size
// bytes.
func generate(size int) []byte {
	const cmds = 500
	perCmd := size / cmds / len("1 row 00000001\n")
	var b strings.Builder
	b.Grow(size + 1<<20)
	fmt.Fprintf(&b, "# %d commands of %d lines each\n", cmds, perCmd)
	for i := 0; i < cmds; i++ {
		fmt.Fprintf(&b, "$ seq -f 'row %%08g' 1 %d\n", perCmd)
		for j := 1; j <= perCmd; j++ {
			fmt.Fprintf(&b, "1 row %08d\n", j)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

type parseRun struct {
	elapsed, cpu time.Duration
	alloc, peak  uint64
}

// cpuTime is this process's CPU time so far (user+sys, all threads: the
// collector's workers included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	check(syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func measureParse(src []byte, profile string) parseRun {
	var best parseRun
	for i := 0; i < 3; i++ {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		if profile != "" && i == 0 {
			f, err := os.Create(profile)
			check(err)
			check(pprof.StartCPUProfile(f))
		}
		start, cpu0 := time.Now(), cpuTime()
		f := parser.Parse("big.cmdt", src)
		el, cpu := time.Since(start), cpuTime()-cpu0
		if profile != "" && i == 0 {
			pprof.StopCPUProfile()
		}
		runtime.ReadMemStats(&m1)
		if len(f.Errors) > 0 {
			panic(f.Errors)
		}
		runtime.KeepAlive(f)
		r := parseRun{elapsed: el, cpu: cpu, alloc: m1.TotalAlloc - m0.TotalAlloc, peak: m1.HeapInuse}
		if r.cpu < best.cpu || best.cpu == 0 {
			best = r
		}
	}
	return best
}

type cliRun struct {
	wall, cpu time.Duration
	rss       int64
}

func runCLI(bin, dir string, env []string, args ...string) cliRun {
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		fmt.Fprintf(os.Stderr, "transcript %v: %v\n%.2000s\n", args, err, out)
		os.Exit(1)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return cliRun{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), rss: ru.Maxrss << 10}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func mbOf(n int) float64         { return float64(n) / (1 << 20) }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
