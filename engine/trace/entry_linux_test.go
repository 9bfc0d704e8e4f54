//go:build linux && amd64

package trace

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Existence is decided at the entry stop, by the tracer (see
// decoder.exists), except in exact mode. These tests pin down what that
// check must agree on with the system call it stands for.

// TestEntryExistsLikeTheKernel checks decoder.exists on paths whose
// answer depends on how the kernel looks them up.
func TestEntryExistsLikeTheKernel(t *testing.T) {
	dir := tempDir(t)
	writeFiles(t, dir, "file", "sub/f")
	for target, link := range map[string]string{"file": "link", "nowhere": "dangling", "loop": "loop", "sub": "ldir"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	d := decoder{rec: newRecorder(nil)}
	defer d.close()
	for _, tt := range []struct {
		p                string
		nofollow         bool
		exists, linkFree bool
	}{
		{"file", false, true, true},
		{"missing", false, false, true},
		{"missing/../file", false, false, false}, // the kernel needs missing; Clean would not
		{"sub/../file", false, true, false},
		{"file/", false, false, false}, // ENOTDIR
		{"file/x", false, false, true}, // ENOTDIR
		{"link", false, true, false},   // a link: Resolved must be looked up
		{"dangling", false, false, false},
		{"dangling", true, true, false}, // lstat, readlink: the link is there
		{"loop", false, true, false},    // ELOOP: there, not absent
		{"ldir/", false, true, false},   // a trailing slash follows the link
		{"ldir/f", false, true, true},
		{filepath.Join(dir, "file"), false, true, true},
	} {
		exists, linkFree := d.exists(dir, tt.p, tt.nofollow)
		if exists != tt.exists || linkFree != tt.linkFree {
			t.Errorf("exists(%q, nofollow %v) = %v, %v; want %v, %v", tt.p, tt.nofollow, exists, linkFree, tt.exists, tt.linkFree)
		}
	}
}

// TestEntryChecks runs the cases of the brief through a real trace in every
// mode: a missing file stat'ed is absent, a file the command creates and
// then reads is an output, and a file the tracee may not read (EACCES) is
// there.
func TestEntryChecks(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	writeFiles(t, dir, "config")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			// The missing file is checked by one process, created by a
			// second, read back by a third.
			cmd := exec.Command("/bin/sh", "-c", `test -e made || stat made 2>/dev/null; cat config > made; cat made; ls made`)
			cmd.Dir = dir
			rep := mustRun(t, cmd, m.opts)
			made := filepath.Join(dir, "made")
			want(t, rep, made, OpStat, false)
			want(t, rep, made, OpWrite, true)
			want(t, rep, made, OpRead, true)
			want(t, rep, filepath.Join(dir, "config"), OpRead, true)
			for _, a := range Classify(rep.Accesses) {
				if a.Path == made && a.Exists {
					t.Errorf("the file the command made is an input: %v", a)
				}
			}
			os.Remove(made)
		})
	}
}

// TestEntryChecksEACCES: the tracee (not root) gets EACCES for a file and
// for a path under a directory it may not search; the tracer, root,
// checks them itself and must record both as there, as the return value
// would have it.
func TestEntryChecksEACCES(t *testing.T) {
	requireTracing(t)
	if os.Getuid() != 0 {
		t.Skip("needs root to run the tracee as another user")
	}
	dir, err := os.MkdirTemp("", "cmdt-trace-eacces-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, "secret", "locked/inner")
	for path, mode := range map[string]os.FileMode{"": 0o755, "secret": 0, "locked": 0} {
		if err := os.Chmod(filepath.Join(dir, path), mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			if m.opts.Shim {
				t.Skip("the shim is the test binary, which user nobody may not run")
			}
			var stderr strings.Builder
			cmd := exec.Command("/bin/sh", "-c", `cat secret; test -e locked/inner; test -e locked/none; test -e absent; true`)
			cmd.Dir, cmd.Stderr = dir, &stderr
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			rep := mustRun(t, cmd, m.opts)
			if !strings.Contains(stderr.String(), "Permission denied") {
				t.Fatalf("cat secret did not fail with EACCES: %q", stderr.String())
			}
			want(t, rep, filepath.Join(dir, "secret"), OpRead, true)
			want(t, rep, filepath.Join(dir, "locked/inner"), OpStat, true)
			// A missing path under a directory the tracee may not search:
			// the call says EACCES ("there"), the tracer's own check says
			// absent. The tracee's result does not depend on it either
			// way; absent is the truth, and creating the file then only
			// costs a needless re-run, where "there" would have a cache
			// find a recorded input missing on every check.
			exact := exactMode(m.opts)
			want(t, rep, filepath.Join(dir, "locked/none"), OpStat, exact)
			want(t, rep, filepath.Join(dir, "absent"), OpStat, false)
		})
	}
}

// TestEntryCheckOfCreatingOpen: an O_RDWR|O_CREAT open of a missing file
// reads the file as it was before the call (absent) and writes it. Exact
// mode takes both from the return value (success: there).
func TestEntryCheckOfCreatingOpen(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			p := filepath.Join(dir, "db-"+m.name)
			rep := mustRun(t, helperCmd(t, "rdwrcreate", p), m.opts)
			exact := exactMode(m.opts)
			want(t, rep, p, OpRead, exact)
			want(t, rep, p, OpWrite, true)
		})
	}
}

// TestInterpreterMemo: the interpreters of an executable are remembered
// across traces, and forgotten when the executable changes.
func TestInterpreterMemo(t *testing.T) {
	dir := tempDir(t)
	script := filepath.Join(dir, "script")
	for i, interp := range []string{"/bin/sh", "/bin/bash", "/bin/sh"} {
		if err := os.WriteFile(script, []byte("#!"+interp+"\necho\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		// The size changes too, but make sure the times do, whatever
		// the clock's resolution.
		mtime := time.Now().Add(time.Duration(i) * time.Second)
		if err := os.Chtimes(script, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		list := make(interpCache).of(script)
		if len(list) == 0 || list[0] != interp {
			t.Errorf("round %d: interpreters %q, want %s first", i, list, interp)
		}
	}
}

// TestResolvedAfterEntryChecks: a path whose entry check saw no link at
// its end skips the readlink at the end of the trace; paths written with
// a trailing slash or "..", whose cleaned last component the check did
// not look at, must still be resolved.
func TestResolvedAfterEntryChecks(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	writeFiles(t, dir, "target", "real/f")
	for old, link := range map[string]string{"target": "link", "real": "ldir"} {
		if err := os.Symlink(old, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", "ls ldir/ >/dev/null; cat real/../link ldir/f real/f >/dev/null")
			cmd.Dir = dir
			rep := mustRun(t, cmd, m.opts)
			for _, c := range []struct {
				path     string
				op       Op
				resolved string
			}{
				{"ldir", OpReaddir, "real"},
				{"link", OpRead, "target"},
				{"ldir/f", OpRead, "real/f"},
				{"real/f", OpRead, ""},
			} {
				a := want(t, rep, filepath.Join(dir, c.path), c.op, true)
				wantResolved := ""
				if c.resolved != "" {
					wantResolved = filepath.Join(dir, c.resolved)
				}
				if a != nil && a.Resolved != wantResolved {
					t.Errorf("%v %s: Resolved %q, want %q", c.op, c.path, a.Resolved, wantResolved)
				}
			}
		})
	}
}

// TestResolveLinks checks resolveLinks against filepath.EvalSymlinks on a
// tree of relative, absolute, chained, dangling and looping links, and
// links whose targets climb with "..".
func TestResolveLinks(t *testing.T) {
	d := tempDir(t)
	writeFiles(t, d, "a/b/c", "real/f", "x/y/z")
	for target, link := range map[string]string{
		"a": "la", "a/b": "lab", "../real": "a/lreal", "/etc": "letc", "nowhere": "dangling",
		"loop2": "loop1", "loop1": "loop2", "la/b/../b/c": "weird", "lab/../b/c": "weird2",
		"x/y": "a/b/lxy", "../../real/f": "x/y/up", "lchain2": "lchain1", "lchain3": "lchain2", "a/b/c": "lchain3",
	} {
		if err := os.Symlink(target, filepath.Join(d, link)); err != nil {
			t.Fatal(err)
		}
	}
	var list []Access
	for _, p := range []string{"a/b/c", "la/b/c", "lab/c", "a/lreal/f", "letc/passwd", "letc/nope", "dangling", "dangling/x",
		"loop1", "loop1/x", "weird", "weird2", "a/b/lxy/z", "x/y/up", "lchain1", "la", "lab", "missing/x", "a/b/c/x", "real"} {
		list = append(list, Access{Path: filepath.Join(d, p), Op: OpRead})
	}
	for _, p := range []string{"/", "/bin", "/bin/sh", "/etc", "/lib64/ld-linux-x86-64.so.2", "/usr/lib/locale/C.utf8/LC_CTYPE"} {
		list = append(list, Access{Path: p, Op: OpRead})
	}
	// The reference: the directory with EvalSymlinks, then the last
	// component if it is a link.
	reference := func(p string) string {
		dir, base := filepath.Split(p)
		rdir, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return ""
		}
		r := filepath.Join(rdir, base)
		if fi, err := os.Lstat(r); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			if target, err := filepath.EvalSymlinks(r); err == nil {
				r = target
			}
		}
		if r == p {
			return ""
		}
		return r
	}
	resolveLinks(list, nil)
	for _, a := range list {
		if want := reference(a.Path); a.Resolved != want {
			t.Errorf("%s: Resolved %q, want %q", a.Path, a.Resolved, want)
		}
	}
}

// TestResolveLinksFromListing: with many paths in one directory, links
// are found from its listing instead of a readlink each; they must still
// resolve, and plain files and missing ones stay as they are.
func TestResolveLinksFromListing(t *testing.T) {
	dir := tempDir(t)
	var list []Access
	for i := range 2 * listAt {
		name := filepath.Join(dir, fmt.Sprintf("f%02d", i))
		if err := os.WriteFile(name, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		list = append(list, Access{Path: name, Op: OpRead, Exists: true})
	}
	if err := os.Symlink("f01", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	list = append(list, Access{Path: filepath.Join(dir, "link"), Op: OpRead, Exists: true},
		Access{Path: filepath.Join(dir, "gone"), Op: OpStat})
	resolveLinks(list, nil)
	for _, a := range list {
		want := ""
		if filepath.Base(a.Path) == "link" {
			want = filepath.Join(dir, "f01")
		}
		if a.Resolved != want {
			t.Errorf("%s resolved to %q, want %q", a.Path, a.Resolved, want)
		}
	}
}
