package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/fsnotify/fsnotify"

	"github.com/cmdt-dev/cmdt/engine"
)

// SkipDir reports whether a directory named name is left out when
// searching for transcripts (hidden directories and node_modules). The
// CLI's path expansion and the watcher share the rule.
func SkipDir(name string) bool {
	return strings.HasPrefix(name, ".") || name == "node_modules"
}

// ErrWatchLimit is returned (wrapped) when the kernel refuses more
// watches: the inotify limit fs.inotify.max_user_watches is reached.
var ErrWatchLimit = errors.New("the system's limit on watched directories is reached")

// tree watches directories (never single files: one inotify watch per
// directory keeps 1,000 transcripts with 10 inputs each far from the
// limit) below the recursive roots, skipping what SkipDir and ignore
// leave out.
type tree struct {
	fs     *fsnotify.Watcher
	roots  []string        // absolute, clean
	ignore []string        // absolute, clean: never watched (the cache directory)
	dirs   map[string]bool // watched
}

func newTree(roots, ignore []string) (*tree, error) {
	w, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", limitError(err))
	}
	return &tree{fs: w, roots: roots, ignore: ignore, dirs: map[string]bool{}}, nil
}

// limitError explains the kernel's inotify limits.
func limitError(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w (fs.inotify.max_user_watches = %s); raise it with `sysctl fs.inotify.max_user_watches=524288` or watch fewer directories: %v",
			ErrWatchLimit, procValue("/proc/sys/fs/inotify/max_user_watches"), err)
	}
	if errors.Is(err, syscall.EMFILE) {
		return fmt.Errorf("%w (fs.inotify.max_user_instances = %s); raise it with `sysctl fs.inotify.max_user_instances=1024`: %v",
			ErrWatchLimit, procValue("/proc/sys/fs/inotify/max_user_instances"), err)
	}
	return err
}

func procValue(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// covered reports whether changes to p are seen through the watched
// directories: p is below a root, and no directory between the root and
// p is skipped or ignored.
func (t *tree) covered(p string) bool {
	for _, ig := range t.ignore {
		if engine.IsWithin(ig, p) {
			return false
		}
	}
	for _, r := range t.roots {
		if !engine.IsWithin(r, p) {
			continue
		}
		rest := strings.TrimPrefix(p[len(r):], string(filepath.Separator))
		parts := strings.Split(rest, string(filepath.Separator))
		ok := true
		for _, d := range parts[:max(len(parts)-1, 0)] {
			if SkipDir(d) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// add watches dir and every directory below it, calling found for each
// file and directory met (dir excluded), so that what appeared before the
// watch was in place is not missed.
func (t *tree) add(dir string, found func(path string, isDir bool)) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return nil // gone again already
			}
			return nil
		}
		if !d.IsDir() {
			if found != nil {
				found(p, false)
			}
			return nil
		}
		if p != dir && SkipDir(d.Name()) {
			return filepath.SkipDir
		}
		for _, ig := range t.ignore {
			if engine.IsWithin(ig, p) {
				return filepath.SkipDir
			}
		}
		if p != dir && found != nil {
			found(p, true)
		}
		if t.dirs[p] {
			return nil
		}
		if err := t.fs.Add(p); err != nil {
			if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) {
				return fmt.Errorf("watching %s (%d directories watched): %w", p, len(t.dirs), limitError(err))
			}
			return nil // vanished or unreadable: nothing to watch
		}
		t.dirs[p] = true
		return nil
	})
}

// drop forgets dir and the watched directories below it (removed or
// renamed away; a renamed directory's watch would report old names).
func (t *tree) drop(dir string) {
	for d := range t.dirs {
		if d == dir || isAncestor(dir, d) {
			_ = t.fs.Remove(d)
			delete(t.dirs, d)
		}
	}
}

func (t *tree) close() error { return t.fs.Close() }
