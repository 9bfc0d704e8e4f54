//go:build linux && amd64

package trace

import (
	"io/fs"
	"os"
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
// but on the command's: every component of every path is looked up once
// (one readlink) however many paths share it, and the last component of a
// path is not looked up at all when it is known to be no link (linkFree,
// aligned with list; nil is all false).
func resolveLinks(list []Access, linkFree []bool) {
	r := linkResolver{seen: make(map[string]string)}
	// Paths share directories (a loop over the files of one): each is
	// walked once, component by component.
	type walked struct {
		dir string
		ok  bool
	}
	dirs := make(map[string]walked)
	types := entryTypes(list, linkFree)
	for i := range list {
		a := &list[i]
		dir, base := filepath.Split(a.Path)
		w, seen := dirs[dir]
		if !seen {
			r.links, r.looped = 0, false
			w.dir, w.ok = r.walk(dir)
			dirs[dir] = w
		}
		rdir, ok := w.dir, w.ok
		if !ok {
			continue // gone
		}
		r.links, r.looped = 0, false
		p := filepath.Join(rdir, base)
		if i >= len(linkFree) || !linkFree[i] {
			if t, listed := types[dir]; listed && !t[base] {
				// The directory's listing says base is no link (or gone).
			} else if target, ok := r.step(p); ok {
				p = target
			}
		}
		if p != a.Path {
			a.Resolved = p
		}
	}
}

// listAt is how many paths of one directory, whose last component must be
// checked, make reading the directory once cheaper than a readlink each.
const listAt = 32

// entryTypes lists, for each directory holding at least listAt paths of
// list whose last component is not known link-free, which of its entries
// are symbolic links, from the directory entries' types (no stat): cat
// over 1,000 files of a directory then costs one listing instead of 1,000
// readlinks. A directory whose entries have no type (some file systems) is
// left out, and its paths are looked up one by one.
func entryTypes(list []Access, linkFree []bool) map[string]map[string]bool {
	count := make(map[string]int)
	for i := range list {
		if i < len(linkFree) && linkFree[i] {
			continue
		}
		dir, _ := filepath.Split(list[i].Path)
		count[dir]++
	}
	var types map[string]map[string]bool
	for dir, n := range count {
		if n < listAt {
			continue
		}
		links, ok := linksIn(dir)
		if !ok {
			continue
		}
		if types == nil {
			types = make(map[string]map[string]bool)
		}
		types[dir] = links
	}
	return types
}

// linksIn returns the names of the symbolic links in dir, if every entry
// has a type.
func linksIn(dir string) (map[string]bool, bool) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, false
	}
	links := make(map[string]bool)
	for _, e := range entries {
		switch t := e.Type(); {
		case t&fs.ModeSymlink != 0:
			links[e.Name()] = true
		case t == fs.ModeIrregular:
			return nil, false // DT_UNKNOWN
		}
	}
	return links, true
}

// maxLinks is the kernel's limit on symbolic links followed in one lookup
// (MAXSYMLINKS); more is ELOOP.
const maxLinks = 40

// linkResolver resolves the symbolic links in absolute paths, as the
// kernel looks them up, remembering every component.
type linkResolver struct {
	// seen maps a resolved directory joined with a name to what it
	// resolves to, "" if that does not exist (or loops).
	seen   map[string]string
	links  int  // links followed in the current lookup
	looped bool // the current lookup followed too many
	buf    [unix.PathMax]byte
}

// walk resolves absolute path p, component by component: "." and ".."
// apply to the resolved path, as in the kernel.
func (r *linkResolver) walk(p string) (string, bool) {
	cur := "/"
	for p != "" {
		var c string
		c, p, _ = strings.Cut(p, "/")
		switch c {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next, ok := r.step(filepath.Join(cur, c))
		if !ok {
			return "", false
		}
		cur = next
	}
	return cur, true
}

// step resolves p, a resolved directory joined with a name: p itself if
// it is not a symbolic link, else its target, resolved. ok is false if p,
// or what it points to, does not exist.
func (r *linkResolver) step(p string) (string, bool) {
	if res, ok := r.seen[p]; ok {
		return res, res != ""
	}
	res := ""
	switch n, err := unix.Readlink(p, r.buf[:]); {
	case err == unix.EINVAL: // not a link
		res = p
	case err != nil:
	case r.links < maxLinks:
		r.links++
		target := string(r.buf[:n])
		if !strings.HasPrefix(target, "/") {
			target = filepath.Dir(p) + "/" + target
		}
		res, _ = r.walk(target)
		if r.looped {
			return "", false // not remembered: it depends on where the lookup started
		}
	default:
		r.looped = true // ELOOP
		return "", false
	}
	r.seen[p] = res
	return res, res != ""
}
