package cache_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmdt-dev/cmdt/engine/cache"
)

// A transcript that deletes its own directory: the run's verdict stands
// (it passed), what lay under the deleted directory is an output, and a
// later lookup of the vanished transcript is an error naming it, never a
// pass.
func TestTranscriptDeletesItsOwnDirectory(t *testing.T) {
	f := tracedFixture(t)
	f.write("gone/data.txt", "x\n")
	f.write("gone/t.cmdt", lines("$ cat data.txt", "1 x", "$ rm -rf \"$PWD\"", "$ echo still running", "1 still running"))
	settle()
	res := f.run("gone/t.cmdt")
	if !res.Passed() {
		t.Fatalf("the run failed: %v", res.Failures())
	}
	if err := f.cache.Record(context.Background(), f.target("gone/t.cmdt"), res); err != nil && !errors.Is(err, cache.ErrNotRecorded) {
		t.Fatalf("Record: %v", err)
	}
	_, err := f.cache.Lookup(context.Background(), f.target("gone/t.cmdt"))
	if err == nil || !strings.Contains(err.Error(), "t.cmdt") {
		t.Fatalf("lookup of a transcript that deleted itself: %v, want an error naming it", err)
	}
}

// An input that turns unreadable while the transcript runs: the pass is
// not cached, and the reason names the file.
func TestInputUnreadableMidRun(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	f := newFixture(t)
	f.write("in.txt", "x\n")
	f.write("t.cmdt", lines("% dep file in.txt", "$ cat in.txt", "1 x", "$ chmod 000 in.txt"))
	settle()
	res := f.run("t.cmdt")
	if !res.Passed() {
		t.Fatal("the run failed")
	}
	defer os.Chmod(f.path("in.txt"), 0o644)
	err := f.cache.Record(context.Background(), f.target("t.cmdt"), res)
	if why := cache.NotCachedReason(err); !strings.Contains(why, "in.txt") {
		t.Fatalf("Record: %v, want not cached naming in.txt", err)
	}
	if v := f.lookup("t.cmdt"); v.State == cache.Fresh || !strings.Contains(v.NotCached, "in.txt") {
		t.Fatalf("lookup: %s %q", v.State, v.NotCached)
	}
}

// A listing of a directory with 100,000 entries is cached by the hash of
// its names (the manifest does not list them), and a new entry re-runs.
func TestListingOf100kEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: creates 100,000 files")
	}
	f := tracedFixture(t)
	big := f.path("big")
	if err := os.Mkdir(big, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 100_000 {
		if err := os.WriteFile(filepath.Join(big, fmt.Sprintf("f%06d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.write("t.cmdt", lines("$ ls big | wc -l", "1 100000"))
	f.record("t.cmdt")
	f.wantFresh("t.cmdt")
	if fi, err := os.Stat(f.entryFile("t.cmdt")); err != nil || fi.Size() > 64<<10 {
		t.Fatalf("entry: %v, %d bytes; want the listing recorded by its hash", err, fi.Size())
	}
	f.write("big/new", "")
	f.wantStale("t.cmdt", "big/ changed (100001 entries)")
}
