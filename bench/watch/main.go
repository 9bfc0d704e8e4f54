// Command watch measures `transcript check --watch` (issue 14): from a file
// save to the re-run transcript's result, for a 10 ms transcript among
// 1,000 (10 declared inputs each), and the watcher's CPU use when nothing
// changes.
//
//	go run ./bench/watch [-n 21] [-transcripts 1000] [-idle 10s]
//
// It builds the CLI, generates a module of transcripts in a temp dir, starts
// `check --watch --json` on it (private cache), waits for the initial check,
// then n times rewrites one declared input of a random transcript and times
// the save → that transcript's "result" event. Baseline in the same run: the
// wall time of `transcript check --no-cache` of that one file (a process
// that runs it once), so the ratio says what watching adds or saves over
// re-running the file by hand. Also reported: the run's own duration (from
// the event), the inotify watches the process holds (/proc/PID/fdinfo), and
// its CPU time over an idle period (/proc/PID/stat).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 21, "edits to time")
	count := flag.Int("transcripts", 1000, "transcripts to generate (10 per directory)")
	idle := flag.Duration("idle", 10*time.Second, "idle period for the CPU measurement")
	flag.Parse()
	log.SetFlags(0)

	work, err := os.MkdirTemp("", "bench-watch-")
	check(err)
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "transcript")
	top, err := os.Getwd()
	check(err)
	build := exec.Command("go", "build", "-o", bin, "./cmd/transcript")
	build.Dir = top
	build.Stderr = os.Stderr
	check(build.Run())

	mod := filepath.Join(work, "mod")
	generate(mod, *count)
	cacheDir := filepath.Join(work, "cache")

	cmd := exec.Command(bin, "check", "--watch", "--json", "--cache-dir", cacheDir)
	cmd.Dir = mod
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	check(err)
	start := time.Now()
	check(cmd.Start())
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()

	type event struct {
		at    time.Time
		Event string `json:"event"`
		Round int    `json:"round"`
		File  struct {
			Path       string  `json:"path"`
			Status     string  `json:"status"`
			DurationMs float64 `json:"durationMs"`
		} `json:"file"`
	}
	events := make(chan event, 10000)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var ev event
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				ev.at = time.Now()
				events <- ev
			}
		}
		close(events)
	}()
	waitFor := func(pred func(event) bool, limit time.Duration) event {
		deadline := time.After(limit)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					log.Fatal("watch exited")
				}
				if pred(ev) {
					return ev
				}
			case <-deadline:
				log.Fatalf("no matching event within %s", limit)
			}
		}
	}
	waitFor(func(e event) bool { return e.Event == "run" && e.Round == 0 }, 30*time.Minute)
	fmt.Printf("initial check of %d transcripts: %.1f s\n", *count, time.Since(start).Seconds())
	fmt.Printf("inotify watches held: %d (directories in the module: %d)\n", inotifyWatches(cmd.Process.Pid), *count/10+1)

	rng := rand.New(rand.NewSource(1))
	var lat, runs, base []float64
	for i := 0; i < *n; i++ {
		k := rng.Intn(*count)
		dir, name := layout(k)
		input := filepath.Join(mod, dir, fmt.Sprintf("t%03d-in%d.txt", k, rng.Intn(10)))
		want := filepath.Join(dir, name)
		time.Sleep(300 * time.Millisecond) // let the previous round settle
		t0 := time.Now()
		check(os.WriteFile(input, []byte(fmt.Sprintf("edit %d %d\n", i, t0.UnixNano())), 0o644))
		ev := waitFor(func(e event) bool { return e.Event == "result" && e.File.Path == want }, 60*time.Second)
		lat = append(lat, float64(ev.at.Sub(t0).Microseconds())/1000)
		runs = append(runs, ev.File.DurationMs)
		// Baseline: run that one file by hand, uncached.
		b0 := time.Now()
		one := exec.Command(bin, "check", "--no-cache", name)
		one.Dir = filepath.Join(mod, dir)
		_ = one.Run()
		base = append(base, float64(time.Since(b0).Microseconds())/1000)
	}
	ml, mr, mb := median(lat), median(runs), median(base)
	fmt.Printf("save -> result event, %d edits: median %.1f ms (p90 %.1f ms); the run itself: median %.1f ms\n", *n, ml, pct(lat, 0.9), mr)
	fmt.Printf("baseline, `transcript check --no-cache FILE` of the same transcript: median %.1f ms; ratio watch/baseline %.2f\n", mb, ml/mb)
	fmt.Printf("target: <= 150 ms median: %s\n", map[bool]string{true: "met", false: "MISSED"}[ml <= 150])

	// Idle: nothing changes; CPU time from /proc (after 2 s for the last
	// round's cache writes and the runtime's background work to settle).
	time.Sleep(2 * time.Second)
	c0 := cpuTicks(cmd.Process.Pid)
	t0 := time.Now()
	time.Sleep(*idle)
	used := cpuTicks(cmd.Process.Pid) - c0
	fmt.Printf("idle %.0f s: %d clock ticks of CPU (%.2f%% of one core at 100 Hz)\n", time.Since(t0).Seconds(), used, float64(used)*100/(time.Since(t0).Seconds()*100))
}

// layout places transcript k: 10 per directory.
func layout(k int) (dir, name string) {
	return fmt.Sprintf("d%03d", k/10), fmt.Sprintf("t%03d.cmdt", k)
}

// generate writes count transcripts, each declaring 10 input files and
// running about 10 ms (a read of one input and a 10 ms sleep).
func generate(mod string, count int) {
	check(os.MkdirAll(mod, 0o755))
	check(os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/benchwatch\n"), 0o644))
	for k := 0; k < count; k++ {
		dir, name := layout(k)
		check(os.MkdirAll(filepath.Join(mod, dir), 0o755))
		var b strings.Builder
		for i := 0; i < 10; i++ {
			in := fmt.Sprintf("t%03d-in%d.txt", k, i)
			check(os.WriteFile(filepath.Join(mod, dir, in), []byte("input\n"), 0o644))
			fmt.Fprintf(&b, "%% dep file %s\n", in)
		}
		fmt.Fprintf(&b, "$ cat t%03d-in0.txt > /dev/null; sleep 0.01; echo ok\n1 ok\n", k)
		check(os.WriteFile(filepath.Join(mod, dir, name), []byte(b.String()), 0o644))
	}
}

// inotifyWatches counts the inotify watches a process holds.
func inotifyWatches(pid int) int {
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fdinfo/*", pid))
	n := 0
	for _, f := range fds {
		b, err := os.ReadFile(f)
		if err == nil {
			n += strings.Count(string(b), "inotify wd:")
		}
	}
	return n
}

func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	check(err)
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}

func median(xs []float64) float64 { return pct(xs, 0.5) }

func pct(xs []float64, p float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[int(p*float64(len(s)-1)+0.5)]
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
