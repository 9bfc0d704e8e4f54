//go:build linux && amd64

package trace

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The decoder joins a clean relative path to a clean base without
// filepath.Join's cleaning pass: the result must be Join's.
func TestResolveJoinsAsFilepathJoin(t *testing.T) {
	bases := []string{"/", "/a", "/a/b", "/a/", "/a//b", "/a/./b", "/a/../b", "/.", "//a"}
	rels := []string{"f", "f/g", "f/", "./f", "../f", "f/..", "f//g", ".", "..", "f/./g", "...", ".f", "f.", "a/b/c"}
	for _, base := range bases {
		for _, rel := range rels {
			d := &decoder{}
			d.ev = &eventSource{proc: &bpfProc{cwd: base}}
			got, _, ok := d.resolve(1, atFDCWD, rel)
			if want := filepath.Join(base, rel); !ok || got != want {
				t.Errorf("resolve(%q in %q) = %q, %v; want %q", rel, base, got, ok, want)
			}
		}
	}
}

// linksIn parses directory entries itself: it must name exactly the links
// os.ReadDir finds, over more entries than one getdents call returns.
func TestLinksInMatchesReadDir(t *testing.T) {
	dir := t.TempDir()
	for i := range 1500 {
		name := filepath.Join(dir, fmt.Sprintf("file-with-a-long-name-%04d", i))
		var err error
		switch i % 3 {
		case 0:
			err = os.WriteFile(name, nil, 0o644)
		case 1:
			err = os.Symlink("target", name)
		case 2:
			err = os.Mkdir(name, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	links, ok := linksIn(dir)
	if !ok {
		t.Skip("file system without entry types")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, e := range entries {
		isLink := e.Type()&os.ModeSymlink != 0
		if isLink {
			want++
		}
		if links[e.Name()] != isLink {
			t.Errorf("%s: link %v, linksIn says %v", e.Name(), isLink, links[e.Name()])
		}
	}
	if len(links) != want || want != 500 {
		t.Errorf("linksIn found %d links, ReadDir %d, made 500", len(links), want)
	}
}
