package engine

import (
	"path/filepath"
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
