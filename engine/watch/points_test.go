package watch

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/cmdt-dev/cmdt/engine"
)

func TestPointMatches(t *testing.T) {
	glob, _ := pointOf(engine.InputGlob, "/m/src/*.go")
	deep, _ := pointOf(engine.InputGlob, "/m/src/**/*.go")
	dir, _ := pointOf(engine.InputDir, "/m/conf")
	file, _ := pointOf(engine.InputFile, "/m/in.txt")
	cases := []struct {
		p       point
		changed string
		want    bool
	}{
		{glob, "/m/src/a.go", true},
		{glob, "/m/src/a.txt", false},
		{glob, "/m/src/sub/a.go", false},
		{glob, "/m/src", true}, // the base itself (created, removed, renamed)
		{glob, "/m", true},     // a directory above it moved
		{glob, "/m/other/a.go", false},
		{deep, "/m/src/x/y/a.go", true},
		{dir, "/m/conf/a/b", true},
		{dir, "/m/confx", false},
		{file, "/m/in.txt", true},
		{file, "/m/in.txt2", false},
		{file, "/m", false}, // handled by the index's scan of gone directories
	}
	for _, c := range cases {
		if got := c.p.matches(c.changed); got != c.want {
			t.Errorf("%+v matches %s = %v, want %v", c.p, c.changed, got, c.want)
		}
	}
}

func TestIndexAffected(t *testing.T) {
	ix := newIndex()
	a := &transcript{path: "/m/a.cmdt"}
	b := &transcript{path: "/m/b.cmdt"}
	a.points = []point{{path: "/m/testdata/in.txt"}}
	g, _ := pointOf(engine.InputGlob, "/m/sub/*")
	b.points = []point{g, {path: "/usr/bin/cat"}}
	ix.add(a)
	ix.add(b)
	got := func(changed string, gone bool) []string {
		var out []string
		ix.affected(changed, gone, func(t *transcript) { out = append(out, t.path) })
		return out
	}
	if r := got("/m/testdata/in.txt", false); len(r) != 1 || r[0] != a.path {
		t.Errorf("in.txt affects %v, want [a]", r)
	}
	if r := got("/m/sub/new", false); len(r) != 1 || r[0] != b.path {
		t.Errorf("sub/new affects %v, want [b]", r)
	}
	if r := got("/m/testdata", true); len(r) != 1 || r[0] != a.path {
		t.Errorf("removing testdata affects %v, want [a]", r)
	}
	if r := got("/m/other.txt", false); len(r) != 0 {
		t.Errorf("other.txt affects %v, want nothing", r)
	}
	ix.remove(a)
	if r := got("/m/testdata/in.txt", false); len(r) != 0 {
		t.Errorf("after removal in.txt affects %v", r)
	}
}

func TestLimitErrorNamesTheSysctl(t *testing.T) {
	err := limitError(fmt.Errorf("inotify_add_watch: %w", syscall.ENOSPC))
	if !errors.Is(err, ErrWatchLimit) || !strings.Contains(err.Error(), "fs.inotify.max_user_watches") || !strings.Contains(err.Error(), "sysctl") {
		t.Errorf("ENOSPC: %v", err)
	}
	err = limitError(fmt.Errorf("inotify_init: %w", syscall.EMFILE))
	if !errors.Is(err, ErrWatchLimit) || !strings.Contains(err.Error(), "max_user_instances") {
		t.Errorf("EMFILE: %v", err)
	}
	if other := errors.New("x"); limitError(other) != other {
		t.Error("other errors are left alone")
	}
}
