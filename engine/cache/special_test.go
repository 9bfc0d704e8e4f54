package cache_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine/cache"
)

// TestSpecialEntriesAreMisses: a cache entry or memo shard replaced by a
// FIFO or a link to /dev/zero is a miss, never a hang or an endless read
// (issue 18). A hang would fail through answered()'s deadline, which only
// catches a blocked call; it measures nothing.
func TestSpecialEntriesAreMisses(t *testing.T) {
	replace := map[string]func(t *testing.T, p string){
		"fifo": func(t *testing.T, p string) {
			os.Remove(p)
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Skip("mkfifo:", err)
			}
		},
		"link to /dev/zero": func(t *testing.T, p string) {
			os.Remove(p)
			if err := os.Symlink("/dev/zero", p); err != nil {
				t.Fatal(err)
			}
		},
		"directory": func(t *testing.T, p string) {
			os.Remove(p)
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, repl := range replace {
		t.Run("entry/"+name, func(t *testing.T) {
			f := newFixture(t)
			f.write("in.txt", "x\n")
			f.write("t.cmdt", "% dep file in.txt\n$ cat in.txt\n1 x\n")
			f.record("t.cmdt")
			f.wantFresh("t.cmdt")
			repl(t, f.entryFile("t.cmdt"))
			f.reopen()
			var v cache.Verdict
			answered(t, func() { v = f.lookup("t.cmdt") })
			if v.State == cache.Fresh {
				t.Fatalf("lookup through a %s entry: fresh, want a miss", name)
			}
		})
		t.Run("memo/"+name, func(t *testing.T) {
			f := newFixture(t)
			f.write("in.txt", "x\n")
			f.write("t.cmdt", "% dep file in.txt\n$ cat in.txt\n1 x\n")
			f.record("t.cmdt")
			f.cache.Flush()
			shards, _ := filepath.Glob(filepath.Join(f.dir, "v1", "memo", "*"))
			if len(shards) == 0 {
				t.Fatal("no memo shard written")
			}
			for _, p := range shards {
				repl(t, p)
			}
			f.reopen()
			answered(t, func() { f.wantFresh("t.cmdt") }) // hashed again, same content
		})
	}
}

// answered runs fn and fails the test if it does not return within a
// generous bound: the property is "returns", not "is fast".
func answered(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("no answer: the call is blocked")
	}
}
