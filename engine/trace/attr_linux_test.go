//go:build linux && amd64

package trace

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cmdt-dev/cmdt/engine"
)

func stampAt(t *testing.T, p string) (engine.FileStamp, syscall.Stat_t) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return engine.FileStamp{Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}, st
}

// TestTouchIsNoWrite: GNU touch opens an existing file O_WRONLY|O_CREAT
// (no O_TRUNC) before setting its times. That open must not make the file
// an output (`touch src.c && make` reads src.c as an input), while the
// same open creating a file is a write.
func TestTouchIsNoWrite(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	writeFiles(t, dir, "src.c")
	time.Sleep(2 * bornMargin()) // src.c was there before the command
	src, made := filepath.Join(dir, "src.c"), filepath.Join(dir, "new.c")
	var stx unix.Statx_t
	hasBirth := unix.Statx(unix.AT_FDCWD, src, 0, unix.STATX_BTIME, &stx) == nil && stx.Mask&unix.STATX_BTIME != 0
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			if m.opts.Mode == ModeEBPF && !hasBirth {
				t.Skip("no birth times on this file system: under eBPF the open counts as a write (keep_linux.go)")
			}
			cmd := exec.Command("/bin/sh", "-c", "touch src.c new.c && cat src.c")
			cmd.Dir = dir
			rep := mustRun(t, cmd, m.opts)
			if a := find(rep, src, OpWrite); a != nil {
				t.Errorf("touch of an existing file recorded as a write: %v\n%s", a, dump(rep))
			}
			want(t, rep, src, OpRead, true)
			want(t, rep, made, OpWrite, true)
			inputs := Classify(rep.Accesses)
			if find(&Report{Accesses: inputs}, src, OpRead) == nil {
				t.Errorf("src.c, touched then read, is no input:\n%s", dump(rep))
			}
			if err := os.Remove(made); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestAttrChanges: the ptrace modes report each attribute-only call that
// succeeded with the file's state at its entry and exit, chained in the
// order the calls ended; the other backends see no call's exit and report
// none (the result cache then keeps refusing the moved change time).
func TestAttrChanges(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	writeFiles(t, dir, "f")
	time.Sleep(2 * bornMargin()) // else touch's open of f counts as making it
	f := filepath.Join(dir, "f")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			before, st := stampAt(t, f)
			// touch (futimens), chmod (fchmodat), a fixed time (utimensat
			// by path), and a chmod that fails: no record.
			cmd := exec.Command("/bin/sh", "-c", "touch f && chmod 600 f && touch -d @1000000000 f && chmod 644 f && { chmod 644 nope 2>/dev/null; true; }")
			cmd.Dir = dir
			rep := mustRun(t, cmd, m.opts)
			after, _ := stampAt(t, f)
			if m.opts.Mode == ModeEBPF || m.opts.Mode == ModeUnotify {
				if len(rep.Attrs) != 0 {
					t.Errorf("%s sees no call's exit, yet reported %d attribute calls", m.name, len(rep.Attrs))
				}
				return
			}
			if len(rep.Attrs) != 4 {
				t.Fatalf("want 4 attribute calls (touch, chmod, touch -d, chmod), got %d: %+v", len(rep.Attrs), rep.Attrs)
			}
			prev := before
			for i, a := range rep.Attrs {
				if a.Dev != uint64(st.Dev) || a.Ino != st.Ino {
					t.Errorf("call %d: on %d/%d, want f's %d/%d", i, a.Dev, a.Ino, st.Dev, st.Ino)
				}
				if a.Pre != prev {
					t.Errorf("call %d found %+v, the state before it was %+v", i, a.Pre, prev)
				}
				if a.Post.Ctime < a.Pre.Ctime {
					t.Errorf("call %d: change time went back: %+v -> %+v", i, a.Pre, a.Post)
				}
				prev = a.Post
			}
			if prev != after {
				t.Errorf("the last call left %+v, the file is %+v", prev, after)
			}
			if rep.Attrs[2].Post.Mtime != 1e18 {
				t.Errorf("touch -d: mtime %d after the call, want %d", rep.Attrs[2].Post.Mtime, int64(1e18))
			}
		})
	}
}
