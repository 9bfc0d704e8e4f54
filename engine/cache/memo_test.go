package cache_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine/cache"
)

// TestMemoAvoidsReads: once hashes are memoised, an unchanged tree costs
// stats only — also in a new process — and an edit is still seen.
func TestMemoAvoidsReads(t *testing.T) {
	defer cache.SetRacyWindow(50 * time.Millisecond)()
	f := declaredFixture(t)
	time.Sleep(60 * time.Millisecond) // let the inputs' stats become unambiguous
	f.wantFresh("t.cmdt")             // memoises what Record could not yet
	f.reopen()
	f.wantFresh("t.cmdt")
	if n := f.cache.FilesRead(); n != 0 {
		t.Fatalf("unchanged tree: %d files read, want 0", n)
	}
	f.write("src/a.go", "package a // edited\n")
	f.wantStale("t.cmdt", "src/a.go changed")
	if n := f.cache.FilesRead(); n != 1 {
		t.Fatalf("one edit: %d files read, want 1", n)
	}
}

// TestMemoRacyEntryNotTrusted: a file hashed within the racy window of
// its last change is not memoised, so a later same-size edit that keeps
// its mtime is still read.
func TestMemoRacyEntryNotTrusted(t *testing.T) {
	f := declaredFixture(t) // default 2 s window: everything is racy
	f.wantFresh("t.cmdt")
	f.reopen()
	before := f.cache.FilesRead()
	f.wantFresh("t.cmdt")
	if f.cache.FilesRead() == before {
		t.Fatal("recently changed files were trusted from the memo")
	}
	st, _ := os.Stat(f.path("testdata/in.txt"))
	f.write("testdata/in.txt", "ONE\n") // same size
	os.Chtimes(f.path("testdata/in.txt"), st.ModTime(), st.ModTime())
	f.wantStale("t.cmdt", "testdata/in.txt changed")
}

// TestMemoCorruptShardIgnored: damaged memo lines are skipped, never
// trusted: a flipped byte in a hash fails the line's checksum.
func TestMemoCorruptShardIgnored(t *testing.T) {
	defer cache.SetRacyWindow(time.Millisecond)()
	f := declaredFixture(t)
	time.Sleep(5 * time.Millisecond)
	f.wantFresh("t.cmdt")
	f.reopen()
	shards, _ := filepath.Glob(filepath.Join(f.dir, "v1", "memo", "*"))
	if len(shards) == 0 {
		t.Fatal("no memo written")
	}
	for _, s := range shards {
		b, _ := os.ReadFile(s)
		// Corrupt one hex digit of every line's content hash (64 hex
		// characters before the path), and tear the last line.
		out := []byte{}
		for _, line := range strings.SplitAfter(string(b), "\n") {
			if i := strings.LastIndex(line, " /"); i > 64 {
				c := line[i-1]
				line = line[:i-1] + string("01"[(c-'0')&1^1]) + line[i:]
			}
			out = append(out, line...)
		}
		os.WriteFile(s, append(out, "m1 deadbeef 1 2"...), 0o644)
	}
	f.wantFresh("t.cmdt")
	if n := f.cache.FilesRead(); n == 0 {
		t.Fatal("damaged memo lines were used")
	}
	f.write("src/a.go", "package a // edited\n")
	f.wantStale("t.cmdt", "src/a.go changed")
}
