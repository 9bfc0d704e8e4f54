//go:build linux && amd64

package trace

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// alwaysIgnored are pseudo file systems: their contents are not inputs a
// cache could hash.
var alwaysIgnored = []string{"/proc/", "/sys/", "/dev/"}

// recorder collects accesses in order, one per (path, op), leaving out
// ignored directories.
type recorder struct {
	ignore []string // each ends in "/"
	// seen has, for each path recorded, the ops it was recorded with
	// (bit 1<<op): keyed by the path alone, a string map's fast path,
	// where a (path, op) key took the generic one.
	seen map[string]uint8
	list []Access
	// linkFree[i]: the last component of list[i].Path was found to be
	// no symbolic link when it was accessed (decoder.exists).
	linkFree []bool
}

// Every Op is a bit of a seen value: this fails to compile if one is not.
const _ uint8 = 1 << OpReaddir

// seenPool keeps the recorders' seen sets between traces: growing a set to
// a thousand paths, rehashing on the way, cost more than the accesses'
// decoding (cat over 1,000 files).
var seenPool = sync.Pool{New: func() any { return make(map[string]uint8) }}

// maxPooled bounds the sets kept: clearing a set costs its capacity.
const maxPooled = 1 << 14

func newRecorder(ignoreDirs []string) *recorder {
	r := &recorder{ignore: append([]string(nil), alwaysIgnored...), seen: seenPool.Get().(map[string]uint8)}
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

// done releases the seen set, once nothing is recorded any more (the
// list stays).
func (r *recorder) done() {
	if r.seen == nil {
		return
	}
	if len(r.seen) <= maxPooled {
		clear(r.seen)
		seenPool.Put(r.seen)
	}
	r.seen = nil
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
	return r.seen[path]&(1<<op) != 0
}

func (r *recorder) add(a Access) { r.addChecked(a, false) }

// addChecked adds a, knowing whether its last component is linkFree.
func (r *recorder) addChecked(a Access, linkFree bool) {
	ops := r.seen[a.Path]
	if ops&(1<<a.Op) != 0 {
		return
	}
	r.seen[a.Path] = ops | 1<<a.Op
	r.list = append(r.list, a)
	r.linkFree = append(r.linkFree, linkFree)
}

// resolveLinks fills Access.Resolved where a path goes through a symbolic
// link. It runs once the trace is over, off the tracees' critical path,
// but on the command's: every component of every path is looked up once
// (one readlink) however many paths share it, and the last component of a
// path is not looked up at all when it is known to be no link (linkFree,
// aligned with list; nil is all false).
func resolveLinks(list []Access, linkFree []bool) { resolveLinksCached(list, linkFree, nil) }

// resolveLinksCached is resolveLinks answering from cache, when not nil,
// what it still knows (linkcache_linux.go).
func resolveLinksCached(list []Access, linkFree []bool, cache *linkCache) {
	r := getResolver(cache)
	defer putResolver(r)
	// Paths share directories (a loop over the files of one): each is
	// walked once, component by component.
	type walked struct {
		dir   string
		ok    bool
		clean bool   // dir resolves to itself
		sum   uint64 // with a cache: cache.sum(dir), taken after its walk
	}
	dirs := make(map[string]walked)
	var lastDir string
	var last walked
	walk := func(dir string) walked {
		if dir == lastDir && lastDir != "" {
			return last // consecutive paths of one directory
		}
		w, seen := dirs[dir]
		if !seen {
			r.links, r.looped = 0, false
			w.dir, w.ok = r.walk(dir)
			w.clean = w.ok && w.dir == strings.TrimSuffix(dir, "/")
			if w.clean && cache != nil {
				w.sum = cache.sum(w.dir)
			}
			dirs[dir] = w
		}
		lastDir, last = dir, w
		return w
	}
	// First what the cache answers alone, the usual case: a path in a
	// directory that resolves to itself, known to be no link while its
	// names' counts are unchanged (readlink's cache hit, without the
	// resolver's bookkeeping). The rest (all of list without a cache)
	// is resolved below.
	var rest []int
	if cache != nil {
		rest = make([]int, 0, 64)
		for i := range list {
			dir, base := filepath.Split(list[i].Path)
			if w := walk(dir); w.clean && base != "" {
				if e, ok := cache.lookup(list[i].Path, w.sum+cache.nameCount(base)); ok && !e.link {
					continue
				}
			}
			rest = append(rest, i)
		}
	}
	types, sums := entryTypes(list, rest, linkFree, cache)
	resolve := func(i int) {
		a := &list[i]
		dir, base := filepath.Split(a.Path)
		w := walk(dir)
		rdir, ok := w.dir, w.ok
		if !ok {
			return // gone
		}
		r.links, r.looped = 0, false
		noLink := i < len(linkFree) && linkFree[i]
		if !noLink {
			// The directory's listing may say base is no link (or gone).
			t, listed := types[dir]
			noLink = listed && !t[base]
		}
		if noLink && w.clean {
			if sum, ok := sums[i]; ok && !(i < len(linkFree) && linkFree[i]) {
				// Listed, present and no link: kept, with the names'
				// counts from before the listing.
				if _, present := types[dir][base]; present {
					cache.store(rdir, a.Path, linkEntry{sum: sum})
				}
			}
			return // Path is clean: it resolves to itself (the usual case)
		}
		p := a.Path
		if !w.clean {
			p = filepath.Join(rdir, base)
		}
		if !noLink {
			if target, ok := r.step(p); ok {
				p = target
			}
		}
		if p != a.Path {
			a.Resolved = p
		}
	}
	if rest == nil {
		for i := range list {
			resolve(i)
		}
		return
	}
	for _, i := range rest {
		resolve(i)
	}
}

// listAt is how many paths of one directory, whose last component must be
// checked, make reading the directory once cheaper than a readlink each.
const listAt = 32

// entryTypes lists, for each directory holding at least listAt paths of
// list whose last component is not known link-free (nor known to cache),
// which of its entries are symbolic links, from the directory entries'
// types (no stat): cat over 1,000 files of a directory then costs one
// listing instead of 1,000 readlinks. A directory whose entries have no
// type (some file systems) is left out, and its paths are looked up one by
// one. With a cache, sums has the names' counts of each listed path (by
// index in list) from before its listing. Only the paths of list at the
// indices idx count, all of them if idx is nil.
func entryTypes(list []Access, idx []int, linkFree []bool, cache *linkCache) (types map[string]map[string]bool, sums map[int]uint64) {
	if idx == nil {
		idx = make([]int, len(list))
		for i := range idx {
			idx[i] = i
		}
	}
	if len(idx) < listAt {
		return nil, nil
	}
	count := make(map[string]int)
	last := make(map[string]int) // a path of each directory, by index
	for _, i := range idx {
		if i < len(linkFree) && linkFree[i] {
			continue
		}
		dir, _ := filepath.Split(list[i].Path)
		count[dir]++
		last[dir] = i
	}
	for dir, n := range count {
		if n < listAt {
			continue
		}
		if cache != nil {
			// A directory whose paths the cache knows needs no listing.
			// Judged from one path (the last, the likeliest to be new):
			// a wrong guess costs time, not answers, since every path
			// the cache does not know is looked up.
			if cache.known(list[last[dir]].Path) {
				continue
			}
			if sums == nil {
				sums = make(map[int]uint64)
			}
			for _, i := range idx {
				if d, _ := filepath.Split(list[i].Path); d == dir {
					sums[i] = cache.sum(list[i].Path)
				}
			}
		}
		links, ok := linksIn(dir, cache != nil)
		if !ok {
			continue
		}
		if types == nil {
			types = make(map[string]map[string]bool)
		}
		types[dir] = links
	}
	return types, sums
}

// linksIn returns the names of the symbolic links in dir (true), and with
// all the other names too (false), if every entry has a type. It parses
// the directory entries itself: os.File.ReadDir allocates an entry per
// file, and without all only the links are wanted.
func linksIn(dir string, all bool) (map[string]bool, bool) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer unix.Close(fd)
	links := make(map[string]bool)
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		if n <= 0 {
			return links, true
		}
		if !direntLinks(buf[:n], links, all) {
			return nil, false
		}
	}
}

// direntLinks adds to links the names of the symbolic links among the
// linux_dirent64 records of b, with all the others as false; false if an
// entry has no type (DT_UNKNOWN) or b is malformed.
func direntLinks(b []byte, links map[string]bool, all bool) bool {
	// struct linux_dirent64 { u64 ino; s64 off; u16 reclen; u8 type; char name[]; }
	const nameOff = 19
	for len(b) > 0 {
		if len(b) < nameOff {
			return false
		}
		reclen := int(binary.NativeEndian.Uint16(b[16:]))
		if reclen < nameOff || reclen > len(b) {
			return false
		}
		switch t := b[18]; {
		case t == unix.DT_UNKNOWN:
			return false
		case t == unix.DT_LNK || all:
			name := b[nameOff:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if string(name) != "." && string(name) != ".." {
				links[string(name)] = t == unix.DT_LNK
			}
		}
		b = b[reclen:]
	}
	return true
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
	cache  *linkCache
	// dirSums memoizes cache.sum of the directories of looked-up paths
	// within one resolution: a path's sum is its directory's plus its
	// name's count.
	dirSums map[string]uint64
	buf     [unix.PathMax]byte
}

// resolvers keeps linkResolvers (their maps and buffer) between
// resolutions; getResolver hands one out empty.
var resolvers = sync.Pool{New: func() any {
	return &linkResolver{seen: make(map[string]string), dirSums: make(map[string]uint64)}
}}

func getResolver(cache *linkCache) *linkResolver {
	r := resolvers.Get().(*linkResolver)
	r.cache = cache
	return r
}

// putResolver empties r and keeps it, unless it grew large (clearing a
// map costs its capacity).
func putResolver(r *linkResolver) {
	if len(r.seen) > maxPooled || len(r.dirSums) > maxPooled {
		return
	}
	clear(r.seen)
	clear(r.dirSums)
	r.cache, r.links, r.looped = nil, 0, false
	resolvers.Put(r)
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
		// cur is clean and absolute, c a plain name: no cleaning.
		q := cur + "/" + c
		if cur == "/" {
			q = "/" + c
		}
		next, ok := r.step(q)
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
	switch link, target, err := r.readlink(p); {
	case err == nil && !link:
		res = p
	case err != nil:
	case r.links < maxLinks:
		r.links++
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

// sumOf is cache.sum(p), from the memoized sum of p's directory.
func (r *linkResolver) sumOf(p string) uint64 {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return r.cache.sum(p)
	}
	dir := p[:i]
	s, ok := r.dirSums[dir]
	if !ok {
		s = r.cache.sum(dir)
		r.dirSums[dir] = s
	}
	return s + r.cache.nameCount(p[i+1:])
}

// readlink says whether p (whose directory is resolved) is a symbolic
// link, and its contents: from the cache while that is still true, else
// from the kernel. An error is an absent path (not cached).
func (r *linkResolver) readlink(p string) (link bool, target string, err error) {
	var sum uint64
	if r.cache != nil {
		// Counted before the kernel is asked: an unbinding after
		// this makes the entry stale at once.
		sum = r.sumOf(p)
		if e, ok := r.cache.lookup(p, sum); ok {
			return e.link, e.target, nil
		}
	}
	n, err := unix.Readlink(p, r.buf[:])
	switch {
	case err == unix.EINVAL: // not a link
	case err != nil:
		return false, "", err
	default:
		link, target = true, string(r.buf[:n])
	}
	if r.cache != nil {
		r.cache.store(filepath.Dir(p), p, linkEntry{sum: sum, link: link, target: target})
	}
	return link, target, nil
}
