package cache_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/parser"
)

// fixture is a module on disk with transcripts, run for real by the
// engine and recorded in a real cache directory.
type fixture struct {
	t     *testing.T
	root  string
	dir   string // cache directory
	cache *cache.Cache
	env   []string
	// launcher, when set, runs programs traced (engine/trace).
	launcher engine.Launcher
	// envMode is the targets' engine.EnvMode; runs see
	// engine.ProgramEnv(env, envMode) as the CLI's do.
	envMode engine.EnvMode
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{t: t, root: root, dir: t.TempDir()}
	f.write("go.mod", "module example.com/fixture\n")
	f.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root, "GREETING=hello"}
	f.reopen()
	return f
}

// reopen starts over with a new Cache on the same directory, as a new
// process would.
func (f *fixture) reopen() {
	f.t.Helper()
	if f.cache != nil {
		f.cache.Flush()
	}
	c, err := cache.Open(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	f.cache = c
}

func (f *fixture) path(rel string) string { return filepath.Join(f.root, filepath.FromSlash(rel)) }

func (f *fixture) write(rel, content string) {
	f.t.Helper()
	p := f.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) remove(rel string) {
	f.t.Helper()
	if err := os.Remove(f.path(rel)); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) target(rel string) cache.Target {
	return cache.Target{Path: f.path(rel), Dir: filepath.Dir(f.path(rel)), Root: f.root, Env: f.env, EnvMode: f.envMode}
}

// run runs a transcript with the engine; it does not consult the cache.
func (f *fixture) run(rel string) *engine.Result {
	f.t.Helper()
	src, err := os.ReadFile(f.path(rel))
	if err != nil {
		f.t.Fatal(err)
	}
	file := parser.Parse(f.path(rel), src)
	res, err := engine.Run(context.Background(), file, engine.Options{Env: engine.ProgramEnv(f.env, f.envMode, file), ModuleRoot: f.root, Launcher: f.launcher})
	if err != nil {
		f.t.Fatalf("run %s: %v", rel, err)
	}
	return res
}

// settle lets file change times fall clearly before the next run starts,
// as they do when a person edits and then runs a check.
func settle() { time.Sleep(30 * time.Millisecond) }

// record runs a transcript, requires it to pass, and records it.
func (f *fixture) record(rel string) *engine.Result {
	f.t.Helper()
	settle()
	res := f.run(rel)
	if !res.Passed() {
		for _, c := range res.Failures() {
			f.t.Log(c.Failure.Error())
		}
		f.t.Fatalf("%s failed", rel)
	}
	if err := f.cache.Record(context.Background(), f.target(rel), res); err != nil {
		f.t.Fatalf("record %s: %v", rel, err)
	}
	return res
}

func (f *fixture) lookup(rel string) cache.Verdict {
	f.t.Helper()
	return f.lookupTarget(f.target(rel))
}

func (f *fixture) lookupTarget(t cache.Target) cache.Verdict {
	f.t.Helper()
	v, err := f.cache.Lookup(context.Background(), t)
	if err != nil {
		f.t.Fatalf("lookup %s: %v", t.Path, err)
	}
	return v
}

func (f *fixture) wantFresh(rel string) {
	f.t.Helper()
	if v := f.lookup(rel); v.State != cache.Fresh {
		f.t.Fatalf("%s: %s %q, want fresh", rel, v.State, v.Reasons)
	}
}

// wantStale requires the verdict to be stale with exactly these reasons
// (in any order).
func (f *fixture) wantStale(rel string, reasons ...string) {
	f.t.Helper()
	v := f.lookup(rel)
	if v.State != cache.Stale {
		f.t.Fatalf("%s: %s, want stale %q", rel, v.State, reasons)
	}
	got := slices.Clone(v.Reasons)
	slices.Sort(got)
	want := slices.Clone(reasons)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		f.t.Fatalf("%s: stale reasons\n got  %q\n want %q", rel, v.Reasons, reasons)
	}
}

// entryBytes returns the raw entry of a transcript as stored on disk.
func (f *fixture) entryFile(rel string) string {
	f.t.Helper()
	key, err := f.cache.Key(f.target(rel))
	if err != nil {
		f.t.Fatal(err)
	}
	return filepath.Join(f.dir, "v1", "ac", key[:2], key)
}

func lines(s ...string) string { return strings.Join(s, "\n") + "\n" }
