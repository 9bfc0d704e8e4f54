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
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, all := range []bool{false, true} {
		links, ok := linksIn(dir, all)
		if !ok {
			t.Skip("file system without entry types")
		}
		want := 0
		for _, e := range entries {
			isLink := e.Type()&os.ModeSymlink != 0
			if isLink {
				want++
			}
			got, present := links[e.Name()]
			if got != isLink || (all && !present) {
				t.Errorf("all=%v: %s: link %v, linksIn says %v (present %v)", all, e.Name(), isLink, got, present)
			}
		}
		if n := len(links); (all && n != len(entries)) || (!all && n != want) || want != 500 {
			t.Errorf("all=%v: linksIn found %d names, ReadDir %d links of %d, made 500", all, n, want, len(entries))
		}
	}
}

// TestResolverPoolForgets: resolvers are reused between resolutions
// (their maps and buffer); what one resolution learnt must not answer
// the next, after a directory became a link between the two.
func TestResolverPoolForgets(t *testing.T) {
	dir := tempDir(t)
	writeFiles(t, dir, "d/f", "t/f")
	list := func() []Access { return []Access{{Path: filepath.Join(dir, "d/f"), Op: OpRead, Exists: true}} }
	for i := 0; i < 3; i++ { // the pool may hand out the same resolver
		first := list()
		resolveLinks(first, nil)
		if first[0].Resolved != "" {
			t.Fatalf("d/f resolved to %q before any link", first[0].Resolved)
		}
	}
	if err := os.Rename(filepath.Join(dir, "d"), filepath.Join(dir, "d.old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("t", filepath.Join(dir, "d")); err != nil {
		t.Fatal(err)
	}
	second := list()
	resolveLinks(second, nil)
	if want := filepath.Join(dir, "t/f"); second[0].Resolved != want {
		t.Fatalf("d/f resolved to %q after d became a link, want %q", second[0].Resolved, want)
	}
}
