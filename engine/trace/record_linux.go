//go:build linux && amd64

package trace

import (
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
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
	// linkFree[i]: the last component of list[i].Path was found to be
	// no symbolic link when it was accessed (decoder.exists).
	linkFree []bool
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

func (r *recorder) add(a Access) { r.addChecked(a, false) }

// addChecked adds a, knowing whether its last component is linkFree.
func (r *recorder) addChecked(a Access, linkFree bool) {
	k := accessKey{a.Path, a.Op}
	if _, dup := r.seen[k]; dup {
		return
	}
	r.seen[k] = struct{}{}
	r.list = append(r.list, a)
	r.linkFree = append(r.linkFree, linkFree)
}

// resolveLinks fills Access.Resolved where a path goes through a symbolic
// link. It runs once the trace is over, off the tracees' critical path,
// but on the command's: each directory, and each prefix of one, is
// resolved once however many paths share it, so the cost is about one
// readlink per path, none for a path whose last component is known to be
// no link (linkFree, aligned with list; nil is all false).
func resolveLinks(list []Access, linkFree []bool) {
	r := linkResolver{dirs: make(map[string]string)}
	for i := range list {
		a := &list[i]
		dir, base := filepath.Split(a.Path)
		rdir := r.dir(filepath.Clean(dir))
		if rdir == "" {
			continue // gone
		}
		p := filepath.Join(rdir, base)
		if i >= len(linkFree) || !linkFree[i] {
			if target, ok := r.final(p); ok {
				p = target
			}
		}
		if p != a.Path {
			a.Resolved = p
		}
	}
}

// linkResolver resolves the symbolic links in clean absolute paths,
// remembering directories.
type linkResolver struct {
	dirs map[string]string // directory → resolved, "" if missing
	buf  [unix.PathMax]byte
}

// dir resolves directory d, "" if it does not exist.
func (r *linkResolver) dir(d string) string {
	if d == "/" {
		return d
	}
	if res, ok := r.dirs[d]; ok {
		return res
	}
	parent, base := filepath.Split(d)
	res := r.dir(filepath.Clean(parent))
	if res != "" {
		res, _ = r.final(filepath.Join(res, base))
	}
	r.dirs[d] = res
	return res
}

// final resolves p, whose directory has no symbolic link: p itself if it
// is not a link, else its target with every link resolved. ok is false
// if p (or the target) does not exist.
func (r *linkResolver) final(p string) (string, bool) {
	switch _, err := unix.Readlink(p, r.buf[:]); err {
	case nil:
		target, err := filepath.EvalSymlinks(p)
		return target, err == nil
	case unix.EINVAL: // not a link
		return p, true
	default:
		return "", false
	}
}
