//go:build linux && amd64

package trace

import (
	"os"
	"path/filepath"
	"strings"
)

// alwaysIgnored are pseudo file systems: their contents are not inputs a
// cache could hash.
var alwaysIgnored = []string{"/proc/", "/sys/", "/dev/"}

// recorder collects accesses in order, one per (path, op), leaving out
// ignored directories.
type recorder struct {
	ignore []string // each ends in "/"
	seen   map[accessKey]struct{}
	list   []Access
}

type accessKey struct {
	path string
	op   Op
}

func newRecorder(ignoreDirs []string) *recorder {
	r := &recorder{ignore: append([]string(nil), alwaysIgnored...), seen: make(map[accessKey]struct{})}
	for _, d := range ignoreDirs {
		if d == "" {
			continue
		}
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		r.ignore = append(r.ignore, strings.TrimSuffix(d, "/")+"/")
	}
	return r
}

// ignored reports whether p is one of the ignored directories or under one.
func (r *recorder) ignored(p string) bool {
	for _, d := range r.ignore {
		if strings.HasPrefix(p, d) || p == d[:len(d)-1] {
			return true
		}
	}
	return false
}

// has reports whether path was recorded with op already.
func (r *recorder) has(path string, op Op) bool {
	_, ok := r.seen[accessKey{path, op}]
	return ok
}

func (r *recorder) add(a Access) {
	k := accessKey{a.Path, a.Op}
	if _, dup := r.seen[k]; dup {
		return
	}
	r.seen[k] = struct{}{}
	r.list = append(r.list, a)
}

// resolveLinks fills Access.Resolved where a path goes through a symbolic
// link. It runs once the trace is over, off the tracees' critical path;
// a directory is resolved once however many files it holds, so the cost
// is one lstat per path.
func resolveLinks(list []Access) {
	dirs := make(map[string]string)
	for i := range list {
		a := &list[i]
		dir, base := filepath.Split(a.Path)
		rdir, ok := dirs[dir]
		if !ok {
			rdir, _ = filepath.EvalSymlinks(dir) // "" if it is gone
			dirs[dir] = rdir
		}
		if rdir == "" {
			continue
		}
		r := filepath.Join(rdir, base)
		if fi, err := os.Lstat(r); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			if target, err := filepath.EvalSymlinks(r); err == nil {
				r = target
			}
		}
		if r != a.Path {
			a.Resolved = r
		}
	}
}
