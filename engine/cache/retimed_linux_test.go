//go:build linux

package cache

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
)

// TestOnlyRetimed holds Record's acceptance of a re-timed input to its
// conditions, on a real file changed by real calls, stat'ed as the ptrace
// tracer stats it around each call.
func TestOnlyRetimed(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := probeMultigrain(c.Dir()); !ok {
		t.Skip("no multigrain timestamps here: no re-timed input is accepted (docs/caching.md, Limits)")
	}
	f := filepath.Join(dir, "app")
	if err := os.WriteFile(f, []byte("binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	stat := func() (fileStat, engine.FileStamp) {
		t.Helper()
		var st syscall.Stat_t
		if err := syscall.Stat(f, &st); err != nil {
			t.Fatal(err)
		}
		fs := fileStat{dev: uint64(st.Dev), ino: st.Ino, size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
		return fs, engine.FileStamp{Size: fs.size, Mtime: fs.mtime, Ctime: fs.ctime}
	}
	// call runs one attribute-only change the way a traced one is seen.
	call := func(change func() error) engine.AttrChange {
		t.Helper()
		st, pre := stat()
		if err := change(); err != nil {
			t.Fatal(err)
		}
		_, post := stat()
		return engine.AttrChange{Dev: st.dev, Ino: st.ino, Pre: pre, Post: post}
	}
	chtimes := func() error { now := time.Now(); return os.Chtimes(f, now, now) }
	chmod := func() error { return os.Chmod(f, 0o755) }
	write := func() error { return os.WriteFile(f, []byte("binary"), 0o755) }

	time.Sleep(10 * time.Millisecond)
	since := time.Now().UnixNano() // the run starts
	a1 := call(chtimes)
	a2 := call(chmod)
	final, _ := stat()

	ev := c.newEvaluator(Target{}, "")
	cases := []struct {
		name  string
		attrs []engine.AttrChange
		since int64
		want  bool
	}{
		{"re-timed, then re-moded", []engine.AttrChange{a1, a2}, since, true},
		{"no calls", nil, since, false},
		{"only the first call: the second is unexplained", []engine.AttrChange{a1}, since, false},
		{"only the second call: the first is unexplained", []engine.AttrChange{a2}, since, false},
		{"changed before the first call, during the run", []engine.AttrChange{a1, a2}, a1.Pre.Ctime, false},
		{"calls out of order", []engine.AttrChange{a2, a1}, since, false},
	}
	for _, tc := range cases {
		ev.attrs = tc.attrs
		if got := changedSince(final, tc.since) && !ev.onlyRetimed(final, tc.since); got == tc.want {
			t.Errorf("%s: changed during the run = %v, want %v", tc.name, got, !tc.want)
		}
	}

	// A write after the last call, even with the same bytes and the
	// modification time put back, is not explained.
	ev.attrs = []engine.AttrChange{a1, a2}
	if err := write(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(f, time.Unix(0, a2.Post.Mtime), time.Unix(0, a2.Post.Mtime)); err != nil {
		t.Fatal(err)
	}
	after, _ := stat()
	if ev.onlyRetimed(after, since) {
		t.Errorf("a rewrite after the run's calls (same bytes, mtime put back) was accepted: %+v after %+v", after, a2.Post)
	}

	// An outside write between the run's two calls breaks the chain: the
	// second call found the file as the write left it, not as the first
	// call did.
	if err := os.Chmod(f, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	since = time.Now().UnixNano()
	b1 := call(chtimes)
	if err := write(); err != nil {
		t.Fatal(err)
	}
	b2 := call(chmod)
	final, _ = stat()
	ev.attrs = []engine.AttrChange{b1, b2}
	if ev.onlyRetimed(final, since) {
		t.Errorf("a write between the run's calls was accepted: %+v then %+v", b1, b2)
	}

	// A whole-second file system (every time without nanoseconds) gets no
	// such acceptance.
	sec := final
	sec.mtime, sec.ctime = sec.mtime/1e9*1e9, sec.ctime/1e9*1e9
	ev.attrs = []engine.AttrChange{{Dev: a1.Dev, Ino: a1.Ino, Pre: a1.Pre, Post: engine.FileStamp{Size: sec.size, Mtime: sec.mtime, Ctime: sec.ctime}}}
	if ev.onlyRetimed(sec, since) {
		t.Error("a re-timed input on a whole-second file system was accepted")
	}
}
