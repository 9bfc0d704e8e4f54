package cachebench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/parser"
)

// scaleFixture is a generated module whose transcripts all passed and
// were recorded, with the memo warm (as after any earlier check).
type scaleFixture struct {
	root, cacheDir string
	targets        []cache.Target
}

var (
	fixtures sync.Map // Tree -> *scaleFixture
	tempDirs []string
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func setup(b *testing.B, tr Tree) *scaleFixture {
	if v, ok := fixtures.Load(tr); ok {
		return v.(*scaleFixture)
	}
	base, err := os.MkdirTemp("", "cmdt-cachebench-*")
	if err != nil {
		b.Fatal(err)
	}
	tempDirs = append(tempDirs, base) // kept across b.N rounds; removed by TestMain
	fx := &scaleFixture{root: filepath.Join(base, "module"), cacheDir: filepath.Join(base, "cache")}
	if err := tr.Generate(fx.root); err != nil {
		b.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	c, err := cache.Open(fx.cacheDir)
	if err != nil {
		b.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH")}
	for i := range tr.N {
		p := filepath.Join(fx.root, "t", fmt.Sprintf("%04d", i), "t.cmdt")
		src, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		t := cache.Target{Path: p, Root: fx.root, Env: env}
		res, err := engine.Run(context.Background(), parser.Parse(p, src), engine.Options{Env: env, ModuleRoot: fx.root})
		if err != nil || !res.Passed() {
			b.Fatalf("run %s: %v", p, err)
		}
		if err := c.Record(context.Background(), t, res); err != nil {
			b.Fatal(err)
		}
		fx.targets = append(fx.targets, t)
	}
	// Past the memo's racy window, one lookup pass memoises every hash,
	// as the first check after an edit does.
	time.Sleep(2100 * time.Millisecond)
	if n := lookupAll(b, c, fx.targets, runtime.GOMAXPROCS(0)); n != tr.N {
		b.Fatalf("%d of %d fresh after recording", n, tr.N)
	}
	c.Flush()
	fixtures.Store(tr, fx)
	return fx
}

// lookupAll looks every target up with the given parallelism and
// returns how many were fresh.
func lookupAll(b *testing.B, c *cache.Cache, targets []cache.Target, workers int) int {
	var mu sync.Mutex
	fresh := 0
	var wg sync.WaitGroup
	next := make(chan cache.Target)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range next {
				v, err := c.Lookup(context.Background(), t)
				if err != nil {
					b.Error(err)
				}
				if v.State == cache.Fresh {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
			}
		}()
	}
	for _, t := range targets {
		next <- t
	}
	close(next)
	wg.Wait()
	return fresh
}

// BenchmarkStatusUnchanged is `transcript status` over 1,000 transcripts
// × 10 declared files with nothing changed, from a cold process (a new
// Cache: entries and memo are read from disk). The two sizes (10 KiB and
// 100 KiB files: 100 MB and 1 GB in all) must cost the same.
func BenchmarkStatusUnchanged(b *testing.B) {
	for _, size := range []int{10 << 10, 100 << 10} {
		tr := Tree{N: 1000, Files: 10, Size: size}
		b.Run(fmt.Sprintf("size=%dKiB", size>>10), func(b *testing.B) {
			fx := setup(b, tr)
			b.ResetTimer()
			for range b.N {
				c, err := cache.Open(fx.cacheDir)
				if err != nil {
					b.Fatal(err)
				}
				if n := lookupAll(b, c, fx.targets, runtime.GOMAXPROCS(0)); n != tr.N {
					b.Fatalf("%d of %d fresh", n, tr.N)
				}
				if files, _ := c.Reads(); files != 0 {
					b.Fatalf("%d files read on an unchanged tree", files)
				}
			}
		})
	}
}

// BenchmarkExampleRecheck is an unchanged re-check of
// examples/selective-caching at the library level: the uncached run of
// both transcripts is measured once (same process, same run), recorded,
// and each iteration then looks both up from a cold Cache. It reports
// the uncached time and the ratio (target: ≤ 0.005, and ≤ 50 ms for the
// whole CLI run, measured by run.sh).
func BenchmarkExampleRecheck(b *testing.B) {
	dir, err := filepath.Abs("../../examples/selective-caching")
	if err != nil {
		b.Fatal(err)
	}
	cacheDir := b.TempDir()
	c, err := cache.Open(cacheDir)
	if err != nil {
		b.Fatal(err)
	}
	var targets []cache.Target
	start := time.Now()
	for _, name := range []string{"foo.cmdt", "bar.cmdt"} {
		p := filepath.Join(dir, name)
		src, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		t := cache.Target{Path: p, Source: src}
		res, err := engine.Run(context.Background(), parser.Parse(p, src), engine.Options{})
		if err != nil || !res.Passed() {
			b.Fatalf("%s did not pass: %v", name, err)
		}
		if err := c.Record(context.Background(), t, res); err != nil {
			b.Fatal(err)
		}
		targets = append(targets, t)
	}
	uncached := time.Since(start)
	c.Flush()
	b.ResetTimer()
	for range b.N {
		c, err := cache.Open(cacheDir)
		if err != nil {
			b.Fatal(err)
		}
		if n := lookupAll(b, c, targets, 1); n != len(targets) {
			b.Fatalf("%d of %d fresh", n, len(targets))
		}
	}
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(uncached.Milliseconds()), "uncached-ms")
	b.ReportMetric(float64(perOp)/float64(uncached), "ratio")
}
