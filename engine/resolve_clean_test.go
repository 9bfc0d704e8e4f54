package engine

import (
	"path/filepath"
	"strings"
	"testing"
)

// IsCleanAbs must agree with filepath.IsAbs and filepath.Clean exactly.
func TestIsCleanAbs(t *testing.T) {
	for _, p := range []string{"", "/", "//", "/a", "/a/", "/a//b", "/a/./b", "/a/../b", "/.", "/..", "/a/.", "/a/..",
		"/.a", "/..a", "/a..", "/a/b.c/d", "a/b", "./a", "/a/b/c", "/a/.b/..c/...", "/.../x"} {
		want := filepath.IsAbs(p) && filepath.Clean(p) == p
		if got := IsCleanAbs(p); got != want {
			t.Errorf("IsCleanAbs(%q) = %v, want %v", p, got, want)
		}
	}
}

func FuzzIsCleanAbs(f *testing.F) {
	for _, p := range []string{"/a/b", "/a/../b", "//", "/a/./"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		want := filepath.IsAbs(p) && filepath.Clean(p) == p
		if got := IsCleanAbs(p); got != want {
			t.Errorf("IsCleanAbs(%q) = %v, want %v", p, got, want)
		}
	})
}

// IsWithin's fast paths must agree with the general rule (filepath.Rel),
// and listingOf with filepath.Join.
func FuzzIsWithin(f *testing.F) {
	for _, c := range [][2]string{{"/a", "/a/b"}, {"/a", "/ab"}, {"/", "/x"}, {"/a", "/a/../b"}, {"/a/", "/a/b"}, {"/a", "/a"}, {"/a/b", "/a"}, {"a", "a/b"}} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, root, path string) {
		if root == "" {
			return
		}
		rel, err := filepath.Rel(root, path)
		want := err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
		if got := IsWithin(root, path); got != want {
			t.Errorf("IsWithin(%q, %q) = %v, want %v (rel %q)", root, path, got, want, rel)
		}
		if got, want := listingOf(path, root), path == filepath.Join(root, "*"); got != want {
			t.Errorf("listingOf(%q, %q) = %v, want %v", path, root, got, want)
		}
	})
}
