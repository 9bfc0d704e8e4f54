package cache_test

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine/cache"
)

func TestStatsAndClean(t *testing.T) {
	f := declaredFixture(t)
	f.write("u.cmdt", lines("$ echo u", "1 u"))
	f.record("u.cmdt")
	f.cache.Flush()
	s, err := f.cache.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Entries != 2 || s.EntryBytes <= 0 || s.Dir != f.dir || s.Oldest.IsZero() {
		t.Fatalf("stats %+v", s)
	}
	if err := f.cache.Clean(); err != nil {
		t.Fatal(err)
	}
	if s, _ := f.cache.Stats(); s.Entries != 0 || s.MemoFiles != 0 {
		t.Fatalf("after clean: %+v", s)
	}
	if v := f.lookup("t.cmdt"); v.State != cache.NeverRun {
		t.Fatalf("after clean: %s", v.State)
	}
	f.record("t.cmdt") // the cache still works after a clean
	f.wantFresh("t.cmdt")
}

func TestDefaultDir(t *testing.T) {
	t.Setenv(cache.EnvDir, "relative/dir")
	d, err := cache.DefaultDir()
	if err != nil || !filepath.IsAbs(d) || filepath.Base(d) != "dir" {
		t.Fatalf("DefaultDir with %s set: %q, %v", cache.EnvDir, d, err)
	}
	t.Setenv(cache.EnvDir, "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if d, _ := cache.DefaultDir(); d != "/xdg/cmdt" {
		t.Fatalf("DefaultDir: %q, want /xdg/cmdt", d)
	}
}

func TestStateText(t *testing.T) {
	b, _ := json.Marshal(map[string]cache.State{"a": cache.NeverRun, "b": cache.Fresh, "c": cache.Stale})
	if string(b) != `{"a":"never-run","b":"fresh","c":"stale"}` {
		t.Fatal(string(b))
	}
	var s cache.State
	if err := s.UnmarshalText([]byte("stale")); err != nil || s != cache.Stale {
		t.Fatal(s, err)
	}
}

func TestClockTick(t *testing.T) {
	d := cache.ClockTick()
	t.Logf("file-time slack: %v", d)
	if d <= time.Millisecond || d > 101*time.Millisecond {
		t.Fatalf("clock tick %v out of range", d)
	}
}
