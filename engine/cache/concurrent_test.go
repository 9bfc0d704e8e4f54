package cache_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine/cache"
)

const helperEnv = "CMDT_CACHE_TEST_WORKER"

// TestConcurrentProcesses runs several processes that record and look up
// the same transcripts in one cache directory at once (entries and memo
// shards are replaced under each other's feet). Every lookup right after
// a record must be fresh, none may fail, and the directory must end up
// intact.
func TestConcurrentProcesses(t *testing.T) {
	if os.Getenv(helperEnv) != "" {
		concurrentWorker(t)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	defer cache.SetRacyWindow(time.Millisecond)()
	f := newFixture(t)
	for i := range 4 {
		f.write(fmt.Sprintf("in%d.txt", i), fmt.Sprintf("input %d\n", i))
		f.write(fmt.Sprintf("t%d.cmdt", i), lines(fmt.Sprintf("%% dep file in%d.txt", i), fmt.Sprintf("$ cat in%d.txt", i), fmt.Sprintf("1 input %d", i)))
	}
	settle()
	const workers = 4
	var wg sync.WaitGroup
	errs := make([]error, workers)
	outs := make([][]byte, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentProcesses$", "-test.count=1")
			cmd.Env = append(os.Environ(), helperEnv+"="+strconv.Itoa(w), "CMDT_TEST_ROOT="+f.root, "CMDT_TEST_CACHE="+f.dir)
			outs[w], errs[w] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for w := range workers {
		if errs[w] != nil {
			t.Errorf("worker %d: %v\n%s", w, errs[w], outs[w])
		}
	}
	f.reopen()
	for i := range 4 {
		f.wantFresh(fmt.Sprintf("t%d.cmdt", i))
	}
	st, err := f.cache.Stats()
	if err != nil || st.Entries != 4 || st.TempFiles != 0 {
		t.Fatalf("stats %+v, %v: want 4 entries, no temp files", st, err)
	}
}

func concurrentWorker(t *testing.T) {
	defer cache.SetRacyWindow(time.Millisecond)()
	f := &fixture{t: t, root: os.Getenv("CMDT_TEST_ROOT"), dir: os.Getenv("CMDT_TEST_CACHE")}
	f.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + f.root, "GREETING=hello"}
	w, _ := strconv.Atoi(os.Getenv(helperEnv))
	for iter := range 15 {
		f.reopen() // a fresh process view each time: reload entries and memo
		rel := fmt.Sprintf("t%d.cmdt", (iter+w)%4)
		res := f.run(rel)
		if err := f.cache.Record(context.Background(), f.target(rel), res); err != nil {
			t.Fatalf("record %s: %v", rel, err)
		}
		for i := range 4 {
			v := f.lookup(fmt.Sprintf("t%d.cmdt", i))
			if i == (iter+w)%4 && v.State != cache.Fresh {
				t.Fatalf("%s right after recording: %s %q", rel, v.State, v.Reasons)
			}
			if v.State == cache.Stale {
				t.Fatalf("t%d.cmdt: stale %q with nothing changed", i, v.Reasons)
			}
		}
	}
	f.cache.Flush()
	if _, err := os.Stat(filepath.Join(f.dir, "v1", "memo")); err != nil {
		t.Fatalf("memo: %v", err)
	}
}
