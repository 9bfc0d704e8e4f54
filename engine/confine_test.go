package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWriteInRoot is the table of issue 18, item 1: every way a write
// could leave the module root, and the links that must keep working.
func TestWriteInRoot(t *testing.T) {
	type env struct{ root, outside string }
	cases := []struct {
		name string
		// setup prepares the tree and returns the path to write.
		setup func(t *testing.T, e env) string
		// wantErr is a substring of the error; "" means the write succeeds.
		wantErr string
		// check inspects the tree after the write.
		check func(t *testing.T, e env)
	}{
		{
			name:  "plain file",
			setup: func(t *testing.T, e env) string { return filepath.Join(e.root, "out.txt") },
			check: func(t *testing.T, e env) { wantContent(t, filepath.Join(e.root, "out.txt"), "new") },
		},
		{
			name:  "missing directories are created inside the root",
			setup: func(t *testing.T, e env) string { return filepath.Join(e.root, "a", "b", "out.txt") },
			check: func(t *testing.T, e env) { wantContent(t, filepath.Join(e.root, "a", "b", "out.txt"), "new") },
		},
		{
			name: "dot-dot out of the root",
			setup: func(t *testing.T, e env) string {
				return e.root + "/sub/../../" + filepath.Base(e.outside) + "/victim.txt"
			},
			wantErr: ErrOutsideRoot.Error(),
			check:   func(t *testing.T, e env) { wantAbsent(t, filepath.Join(e.outside, "victim.txt")) },
		},
		{
			name:    "absolute path outside",
			setup:   func(t *testing.T, e env) string { return filepath.Join(e.outside, "victim.txt") },
			wantErr: ErrOutsideRoot.Error(),
			check:   func(t *testing.T, e env) { wantAbsent(t, filepath.Join(e.outside, "victim.txt")) },
		},
		{
			name: "directory symlink to outside (1< ldir/victim.txt)",
			setup: func(t *testing.T, e env) string {
				symlink(t, e.outside, filepath.Join(e.root, "ldir"))
				return filepath.Join(e.root, "ldir", "victim.txt")
			},
			wantErr: ErrOutsideRoot.Error(),
			check:   func(t *testing.T, e env) { wantAbsent(t, filepath.Join(e.outside, "victim.txt")) },
		},
		{
			name: "directory symlink to outside, deeper",
			setup: func(t *testing.T, e env) string {
				mkdir(t, filepath.Join(e.root, "a", "b"))
				symlink(t, "../../..", filepath.Join(e.root, "a", "b", "up"))
				return filepath.Join(e.root, "a", "b", "up", filepath.Base(e.outside), "victim.txt")
			},
			wantErr: ErrOutsideRoot.Error(),
			check:   func(t *testing.T, e env) { wantAbsent(t, filepath.Join(e.outside, "victim.txt")) },
		},
		{
			name: "directory symlink to a missing directory outside",
			setup: func(t *testing.T, e env) string {
				symlink(t, filepath.Join(e.outside, "new"), filepath.Join(e.root, "ldir"))
				return filepath.Join(e.root, "ldir", "victim.txt")
			},
			wantErr: ErrOutsideRoot.Error(),
			check:   func(t *testing.T, e env) { wantAbsent(t, filepath.Join(e.outside, "new")) },
		},
		{
			name: "directory symlink inside the root (relative)",
			setup: func(t *testing.T, e env) string {
				mkdir(t, filepath.Join(e.root, "real"))
				symlink(t, "real", filepath.Join(e.root, "ldir"))
				return filepath.Join(e.root, "ldir", "out.txt")
			},
			check: func(t *testing.T, e env) { wantContent(t, filepath.Join(e.root, "real", "out.txt"), "new") },
		},
		{
			name: "directory symlink inside the root (absolute)",
			setup: func(t *testing.T, e env) string {
				mkdir(t, filepath.Join(e.root, "real"))
				symlink(t, filepath.Join(e.root, "real"), filepath.Join(e.root, "ldir"))
				return filepath.Join(e.root, "ldir", "out.txt")
			},
			check: func(t *testing.T, e env) { wantContent(t, filepath.Join(e.root, "real", "out.txt"), "new") },
		},
		{
			name: "symlinked file inside the root is updated through its link",
			setup: func(t *testing.T, e env) string {
				mkdir(t, filepath.Join(e.root, "data"))
				write(t, filepath.Join(e.root, "data", "real.txt"), "old")
				symlink(t, "../data/real.txt", filepath.Join(e.root, "sub", "link.txt"))
				return filepath.Join(e.root, "sub", "link.txt")
			},
			check: func(t *testing.T, e env) {
				wantContent(t, filepath.Join(e.root, "data", "real.txt"), "new")
				wantLink(t, filepath.Join(e.root, "sub", "link.txt"))
			},
		},
		{
			name: "absolute symlinked file inside the root",
			setup: func(t *testing.T, e env) string {
				write(t, filepath.Join(e.root, "real.txt"), "old")
				symlink(t, filepath.Join(e.root, "real.txt"), filepath.Join(e.root, "link.txt"))
				return filepath.Join(e.root, "link.txt")
			},
			check: func(t *testing.T, e env) {
				wantContent(t, filepath.Join(e.root, "real.txt"), "new")
				wantLink(t, filepath.Join(e.root, "link.txt"))
			},
		},
		{
			name: "chain of links ending inside the root",
			setup: func(t *testing.T, e env) string {
				write(t, filepath.Join(e.root, "real.txt"), "old")
				symlink(t, "real.txt", filepath.Join(e.root, "l2"))
				symlink(t, "l2", filepath.Join(e.root, "l1"))
				return filepath.Join(e.root, "l1")
			},
			check: func(t *testing.T, e env) { wantContent(t, filepath.Join(e.root, "real.txt"), "new") },
		},
		{
			name: "dangling link inside the root creates its target",
			setup: func(t *testing.T, e env) string {
				symlink(t, "made.txt", filepath.Join(e.root, "link.txt"))
				return filepath.Join(e.root, "link.txt")
			},
			check: func(t *testing.T, e env) {
				wantContent(t, filepath.Join(e.root, "made.txt"), "new")
				wantLink(t, filepath.Join(e.root, "link.txt"))
			},
		},
		{
			name: "symlinked file pointing outside is refused",
			setup: func(t *testing.T, e env) string {
				write(t, filepath.Join(e.outside, "victim.txt"), "untouched")
				symlink(t, filepath.Join(e.outside, "victim.txt"), filepath.Join(e.root, "link.txt"))
				return filepath.Join(e.root, "link.txt")
			},
			wantErr: "is a symbolic link to",
			check: func(t *testing.T, e env) {
				wantContent(t, filepath.Join(e.outside, "victim.txt"), "untouched")
				wantLink(t, filepath.Join(e.root, "link.txt"))
			},
		},
		{
			name: "chain of links leaving the root is refused",
			setup: func(t *testing.T, e env) string {
				symlink(t, "../"+filepath.Base(e.outside)+"/victim.txt", filepath.Join(e.root, "l2"))
				symlink(t, "l2", filepath.Join(e.root, "l1"))
				return filepath.Join(e.root, "l1")
			},
			wantErr: ErrOutsideRoot.Error(),
			check:   func(t *testing.T, e env) { wantAbsent(t, filepath.Join(e.outside, "victim.txt")) },
		},
		{
			name: "a link loop is an error, not a hang",
			setup: func(t *testing.T, e env) string {
				symlink(t, "l2", filepath.Join(e.root, "l1"))
				symlink(t, "l1", filepath.Join(e.root, "l2"))
				return filepath.Join(e.root, "l1")
			},
			wantErr: "too many levels",
		},
		{
			name: "a FIFO is not replaced",
			setup: func(t *testing.T, e env) string {
				p := filepath.Join(e.root, "fifo")
				if err := syscall.Mkfifo(p, 0o644); err != nil {
					t.Skip("mkfifo:", err)
				}
				return p
			},
			wantErr: "not a regular file",
		},
		{
			name: "the root named through a symlink",
			setup: func(t *testing.T, e env) string {
				alias := filepath.Join(filepath.Dir(e.root), "alias")
				symlink(t, e.root, alias)
				return filepath.Join(alias, "out.txt")
			},
			check: func(t *testing.T, e env) { wantContent(t, filepath.Join(e.root, "out.txt"), "new") },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			e := env{root: filepath.Join(base, "root"), outside: filepath.Join(base, "outside")}
			mkdir(t, e.root)
			mkdir(t, e.outside)
			path := c.setup(t, e)
			root := e.root
			if c.name == "the root named through a symlink" {
				root = filepath.Dir(path)
			}
			changed, err := WriteInRoot(root, path, []byte("new"))
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("WriteInRoot: %v", err)
			case c.wantErr == "" && !changed:
				t.Fatalf("WriteInRoot reported no change")
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("WriteInRoot error = %v, want one containing %q", err, c.wantErr)
			case c.wantErr == ErrOutsideRoot.Error() && !errors.Is(err, ErrOutsideRoot):
				t.Fatalf("error %v does not wrap ErrOutsideRoot", err)
			}
			if c.check != nil {
				c.check(t, e)
			}
			wantNoTemps(t, base)
		})
	}
}

// TestWriteUpdateRefusesWhole: one target outside the root means nothing
// at all is written, not even the transcript.
func TestWriteUpdateRefusesWhole(t *testing.T) {
	base := t.TempDir()
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	mkdir(t, root)
	mkdir(t, outside)
	symlink(t, outside, filepath.Join(root, "ldir"))
	tr := filepath.Join(root, "t.cmdt")
	write(t, tr, "old")
	plan := &UpdatePlan{Source: []byte("new"), Files: []FileWrite{
		{Path: filepath.Join(root, "ok.txt"), Data: []byte("x")},
		{Path: filepath.Join(root, "ldir", "victim.txt"), Data: []byte("x")},
	}}
	if _, err := WriteUpdate(tr, plan, root); !errors.Is(err, ErrOutsideRoot) {
		t.Fatalf("WriteUpdate error = %v, want ErrOutsideRoot", err)
	}
	wantContent(t, tr, "old")
	wantAbsent(t, filepath.Join(root, "ok.txt"))
	wantAbsent(t, filepath.Join(outside, "victim.txt"))
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	mkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	mkdir(t, filepath.Dir(link))
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func wantContent(t *testing.T, p, want string) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil || string(got) != want {
		t.Errorf("%s = %q, %v; want %q", p, got, err, want)
	}
}

func wantAbsent(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists (err %v); it must not have been written", p, err)
	}
}

func wantLink(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("%s is no longer a symbolic link (%v, %v)", p, fi, err)
	}
}

func wantNoTemps(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), tempSep) {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}
