// Command bench-remote measures the remote cache against its target, on a
// real nginx (Debian's, see .ci/nginx.sh) on loopback:
//
//   - a warm remote hit for a 1,000-transcript suite with an empty local
//     cache, through the Cache API exactly as a CLI run would do it
//     (Prefetch, then one Lookup per transcript that verifies every input
//     against this checkout): target ≤ 2 s;
//   - the same without the batch prefetch (one Lookup after another, each
//     paying its own round trips), as the baseline;
//   - store level: GetMany over all keys vs sequential Gets, same run;
//   - the same through a proxy adding -latency per request, where
//     pipelining matters (loopback answers in microseconds).
//
// Setup (not measured): machine A runs and records -n transcripts with the
// engine and uploads them; machine B is a copy of the checkout at another
// path with its own, empty cache directory.
//
// Usage: go run ./bench/remote [-n 1000] [-runs 5]
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/internal/nginxtest"
	"github.com/cmdt-dev/cmdt/parser"
)

func main() {
	n := flag.Int("n", 1000, "transcripts in the suite")
	runs := flag.Int("runs", 5, "repetitions per measurement (the median is reported)")
	files := flag.Int("files", 3, "declared input files per transcript")
	latency := flag.Duration("latency", 2*time.Millisecond, "round-trip latency added by a proxy in front of nginx for the last measurement (a LAN or nearby-region server); 0 skips it")
	flag.Parse()
	ctx := context.Background()

	tmp, err := os.MkdirTemp("", "cmdt-bench-remote-")
	check(err)
	defer os.RemoveAll(tmp)
	srv, err := nginxtest.Start(filepath.Join(tmp, "nginx"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-remote:", err)
		os.Exit(1)
	}
	defer srv.Stop()
	nginxBin, _ := nginxtest.Binary()
	version, _ := exec.Command(nginxBin, "-v").CombinedOutput()
	fmt.Printf("server: %s at %s\n", trimNL(string(version)), srv.URL)

	// Machine A: a module with n transcripts, run and recorded.
	rootA := filepath.Join(tmp, "checkout-a")
	targetsA := writeSuite(rootA, *n, *files)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "GREETING=hello"}
	start := time.Now()
	recordAll(ctx, rootA, targetsA, env, srv.URL)
	fmt.Printf("setup: %d transcripts × %d files run and uploaded from machine A in %v\n",
		*n, *files, time.Since(start).Round(time.Millisecond))
	var blobBytes, blobs int64
	filepath.Walk(filepath.Join(srv.Root, "cas"), func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			blobs++
			blobBytes += fi.Size()
		}
		return nil
	})
	fmt.Printf("stored: %d manifests, %d bytes on average\n", blobs, blobBytes/max(blobs, 1))

	// Machine B: another checkout path, same content.
	rootB := filepath.Join(tmp, "checkout-b")
	out, err := exec.Command("cp", "-a", rootA, rootB).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cp: %v\n%s", err, out)
		os.Exit(1)
	}
	targetsB := make([]cache.Target, len(targetsA))
	for i, t := range targetsA {
		rel, _ := filepath.Rel(rootA, t.Path)
		p := filepath.Join(rootB, rel)
		targetsB[i] = cache.Target{Path: p, Dir: filepath.Dir(p), Root: rootB, Env: env}
	}

	// Each repetition: a brand-new empty cache directory, a new Cache (no
	// memo), new connections: a fresh CI runner.
	var prefetchTimes []time.Duration
	suite := func(prefetch bool) func() {
		return func() {
			dir, err := os.MkdirTemp(tmp, "cache-b-")
			check(err)
			c, store := openMachine(dir, srv.URL)
			if prefetch {
				t0 := time.Now()
				_, err := cache.Prefetch(ctx, c, targetsB)
				check(err)
				prefetchTimes = append(prefetchTimes, time.Since(t0))
			}
			for _, t := range targetsB {
				v, err := c.Lookup(ctx, t)
				check(err)
				if v.State != cache.Fresh {
					fmt.Fprintf(os.Stderr, "%s: %s %q: want fresh\n", t.Path, v.State, v.Reasons)
					os.Exit(1)
				}
			}
			st, _ := cache.TieredStatsOf(store)
			if st.RemoteHits != int64(len(targetsB)) || st.RemoteOff {
				fmt.Fprintf(os.Stderr, "stats %+v: want %d remote hits\n", st, len(targetsB))
				os.Exit(1)
			}
			check(c.Flush())
			os.RemoveAll(dir)
		}
	}
	tBatch := median(*runs, suite(true))
	tSeq := median(*runs, suite(false))
	sort.Slice(prefetchTimes, func(i, j int) bool { return prefetchTimes[i] < prefetchTimes[j] })
	fmt.Printf("warm remote hit, %d transcripts, empty local cache (Prefetch + Lookups): %v (target <= 2s)\n",
		*n, tBatch.Round(time.Millisecond))
	fmt.Printf("  of which Prefetch (one GetMany, %d in flight, write-back):          %v\n",
		cache.DefaultRemoteInFlight, prefetchTimes[len(prefetchTimes)/2].Round(time.Millisecond))
	fmt.Printf("  same without Prefetch (one Lookup after another):                %v (%.1fx slower)\n",
		tSeq.Round(time.Millisecond), float64(tSeq)/float64(tBatch))

	// Store level: all keys, GetMany vs one Get after another.
	keyC, _ := openMachine(filepath.Join(tmp, "keys"), srv.URL)
	keys := make([]string, len(targetsB))
	for i, t := range targetsB {
		keys[i], err = keyC.Key(t)
		check(err)
	}
	remote, err := cache.OpenRemote(srv.URL, cache.RemoteOptions{})
	check(err)
	tMany := median(*runs, func() {
		got, err := remote.GetMany(ctx, keys)
		check(err)
		if len(got) != len(keys) {
			fmt.Fprintf(os.Stderr, "GetMany: %d of %d\n", len(got), len(keys))
			os.Exit(1)
		}
	})
	tGets := median(*runs, func() {
		for _, k := range keys {
			_, err := remote.Get(ctx, k)
			check(err)
		}
	})
	fmt.Printf("store level, %d keys (2 requests each): GetMany %v, sequential Get %v (%.1fx)\n",
		len(keys), tMany.Round(time.Millisecond), tGets.Round(time.Millisecond), float64(tGets)/float64(tMany))
	// Loopback answers in tens of microseconds, so pipelining hardly shows
	// there; a real network does not. A proxy in front of nginx that
	// delays each request by -latency shows what it is for.
	if *latency > 0 {
		proxy := latencyProxy(srv.URL, *latency)
		defer proxy.Close()
		slow, err := cache.OpenRemote(proxy.URL, cache.RemoteOptions{})
		check(err)
		part := keys[:min(len(keys), 200)]
		tManyL := median(*runs, func() {
			got, err := slow.GetMany(ctx, part)
			check(err)
			if len(got) != len(part) {
				fmt.Fprintf(os.Stderr, "GetMany via proxy: %d of %d\n", len(got), len(part))
				os.Exit(1)
			}
		})
		tGetsL := median(1, func() {
			for _, k := range part {
				_, err := slow.Get(ctx, k)
				check(err)
			}
		})
		fmt.Printf("with %v added per request, %d keys: GetMany %v, sequential Get %v (%.1fx); for %d keys that is ~%v vs ~%v\n",
			*latency, len(part), tManyL.Round(time.Millisecond), tGetsL.Round(time.Millisecond), float64(tGetsL)/float64(tManyL),
			len(keys), (tManyL * time.Duration(len(keys)) / time.Duration(len(part))).Round(time.Millisecond),
			(tGetsL * time.Duration(len(keys)) / time.Duration(len(part))).Round(time.Millisecond))
	}
	if tBatch > 2*time.Second {
		fmt.Println("FAIL: over the 2 s target")
		os.Exit(1)
	}
}

// writeSuite writes n transcripts, each declaring its own input files and
// a shared glob, and returns their targets.
func writeSuite(root string, n, files int) []cache.Target {
	write(root, "go.mod", "module example.com/bench\n")
	write(root, "shared/lib.txt", "shared\n")
	var targets []cache.Target
	for i := range n {
		dir := fmt.Sprintf("t%02d", i%50)
		var deps, cmds string
		for j := range files {
			f := fmt.Sprintf("%s/in%04d_%d.txt", dir, i, j)
			write(root, f, fmt.Sprintf("input %d %d\n", i, j))
			deps += " " + filepath.Base(f)
		}
		cmds = fmt.Sprintf("$ cat in%04d_0.txt\n1 input %d 0\n", i, i)
		p := write(root, fmt.Sprintf("%s/case%04d.cmdt", dir, i),
			"% dep file"+deps+"\n% dep glob ../shared/*\n% dep env GREETING\n"+cmds)
		targets = append(targets, cache.Target{Path: p, Dir: filepath.Dir(p), Root: root})
	}
	// File times before the runs, as after a checkout.
	time.Sleep(50 * time.Millisecond)
	return targets
}

func recordAll(ctx context.Context, root string, targets []cache.Target, env []string, url string) {
	dir, err := os.MkdirTemp("", "cmdt-bench-cache-a-")
	check(err)
	defer os.RemoveAll(dir)
	c, store := openMachine(dir, url)
	work := make(chan cache.Target)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				t.Env = env
				src, err := os.ReadFile(t.Path)
				check(err)
				res, err := engine.Run(ctx, parser.Parse(t.Path, src), engine.Options{Env: env, ModuleRoot: root})
				check(err)
				if !res.Passed() {
					fmt.Fprintf(os.Stderr, "%s failed\n", t.Path)
					os.Exit(1)
				}
				check(c.Record(ctx, t, res))
			}
		}()
	}
	for i := range targets {
		targets[i].Env = env
		work <- targets[i]
	}
	close(work)
	wg.Wait()
	check(c.Flush())
	if st, _ := cache.TieredStatsOf(store); st.Uploads != int64(len(targets)) {
		fmt.Fprintf(os.Stderr, "uploads: %+v\n", st)
		os.Exit(1)
	}
}

func openMachine(dir, url string) (*cache.Cache, cache.Store) {
	local, err := cache.NewLocal(dir)
	check(err)
	remote, err := cache.OpenRemote(url, cache.RemoteOptions{Warn: func(err error) { fmt.Fprintln(os.Stderr, "warning:", err) }})
	check(err)
	store := cache.Tiered(local, remote, true, func(err error) { fmt.Fprintln(os.Stderr, "warning:", err) })
	return cache.New(store, filepath.Join(dir, "memo")), store
}

// latencyProxy forwards to target, holding each request for delay first.
func latencyProxy(target string, delay time.Duration) *httptest.Server {
	u, err := url.Parse(target)
	check(err)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		rp.ServeHTTP(w, r)
	}))
}

// median runs f runs times and returns the median time. Each run starts
// after a sync, so the write-back of the previous run's files is not billed
// to it; with BENCH_VERBOSE set, every time is printed.
func median(runs int, f func()) time.Duration {
	ds := make([]time.Duration, runs)
	for i := range ds {
		syscall.Sync()
		start := time.Now()
		f()
		ds[i] = time.Since(start)
	}
	if os.Getenv("BENCH_VERBOSE") != "" {
		r := make([]string, len(ds))
		for i, d := range ds {
			r[i] = d.Round(time.Millisecond).String()
		}
		fmt.Fprintln(os.Stderr, "  runs:", strings.Join(r, " "))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[runs/2]
}

func write(root, rel, content string) string {
	p := filepath.Join(root, filepath.FromSlash(rel))
	check(os.MkdirAll(filepath.Dir(p), 0o755))
	check(os.WriteFile(p, []byte(content), 0o644))
	return p
}

func trimNL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-remote:", err)
		os.Exit(1)
	}
}
