package watch

import (
	"path"
	"path/filepath"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/cache"
)

// point is a place where a change can affect a transcript's result: a
// file (exact path), or a tree (a declared directory, a glob's base
// directory), in which a changed path counts when it matches the pattern.
type point struct {
	path    string // absolute and clean
	tree    bool
	pattern string // glob pattern relative to path, slash-separated; "" for a directory (everything under it)
}

// matches reports whether a change to changed (absolute, clean) can
// affect the point. For a glob a changed path also counts when it may be
// a directory leading to matches (a directory renamed or removed as a
// whole reports only itself).
func (p point) matches(changed string) bool {
	if !p.tree {
		return changed == p.path
	}
	if changed == p.path || isAncestor(changed, p.path) {
		return true // the base itself, or a directory above it, moved
	}
	if !isAncestor(p.path, changed) {
		return false
	}
	if p.pattern == "" || strings.Contains(p.pattern, "**") {
		return true
	}
	rel := filepath.ToSlash(changed[len(p.path)+1:])
	pat := strings.Split(p.pattern, "/")
	got := strings.Split(rel, "/")
	if len(got) > len(pat) {
		return false
	}
	for i, g := range got {
		if ok, _ := path.Match(pat[i], g); !ok {
			return false
		}
	}
	return true
}

// isAncestor reports whether dir is a proper ancestor of p.
func isAncestor(dir, p string) bool {
	return len(p) > len(dir) && engine.IsWithin(dir, p)
}

// pointOf maps one input to its point; ok is false for inputs no file
// change can affect (environment variables, programs not found).
func pointOf(kind engine.InputKind, abs string) (point, bool) {
	if abs == "" || strings.HasPrefix(abs, "PATH:") || !filepath.IsAbs(abs) {
		return point{}, false
	}
	switch kind {
	case engine.InputEnv:
		return point{}, false
	case engine.InputDir:
		return point{path: filepath.Clean(abs), tree: true}, true
	case engine.InputGlob:
		base, pattern := doublestar.SplitPattern(filepath.ToSlash(abs))
		return point{path: filepath.Clean(filepath.FromSlash(base)), tree: true, pattern: pattern}, true
	}
	return point{path: filepath.Clean(abs)}, true
}

// resultPoints lists the points of a run's inputs, declared and observed.
func resultPoints(res *engine.Result) []point {
	var pts []point
	for _, in := range res.Inputs() {
		if p, ok := pointOf(in.Kind, in.Path); ok {
			pts = append(pts, p)
		}
	}
	return pts
}

// manifestPoints lists the points of a cached manifest's inputs (paths
// in a manifest are relative to the module root when inside it).
func manifestPoints(root string, m *cache.Manifest) []point {
	var pts []point
	for _, in := range m.Inputs {
		p := in.Path
		if p != "" && !strings.HasPrefix(p, "PATH:") && !filepath.IsAbs(filepath.FromSlash(p)) {
			p = filepath.Join(root, filepath.FromSlash(p))
		}
		if pt, ok := pointOf(in.Kind, p); ok {
			pts = append(pts, pt)
		}
	}
	return pts
}

// index maps changed paths to the transcripts they can affect.
type index struct {
	files map[string]map[*transcript]bool
	trees map[string]map[*transcript][]point // by base directory
}

func newIndex() *index {
	return &index{files: map[string]map[*transcript]bool{}, trees: map[string]map[*transcript][]point{}}
}

func (ix *index) add(t *transcript) {
	for _, p := range t.points {
		if p.tree {
			m := ix.trees[p.path]
			if m == nil {
				m = map[*transcript][]point{}
				ix.trees[p.path] = m
			}
			m[t] = append(m[t], p)
			continue
		}
		m := ix.files[p.path]
		if m == nil {
			m = map[*transcript]bool{}
			ix.files[p.path] = m
		}
		m[t] = true
	}
}

func (ix *index) remove(t *transcript) {
	for _, p := range t.points {
		if p.tree {
			if m := ix.trees[p.path]; m != nil {
				delete(m, t)
				if len(m) == 0 {
					delete(ix.trees, p.path)
				}
			}
			continue
		}
		if m := ix.files[p.path]; m != nil {
			delete(m, t)
			if len(m) == 0 {
				delete(ix.files, p.path)
			}
		}
	}
}

// affected calls fn for each transcript a change to changed can affect.
// Cost: one map lookup per ancestor directory of changed, plus, when
// changed was a directory (gone is true: removed or renamed as a whole),
// a scan of the file points.
func (ix *index) affected(changed string, gone bool, fn func(*transcript)) {
	for t := range ix.files[changed] {
		fn(t)
	}
	for dir := changed; ; {
		for t, pts := range ix.trees[dir] {
			for _, p := range pts {
				if p.matches(changed) {
					fn(t)
					break
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if gone {
		// A directory renamed or removed as a whole reports only itself;
		// what was under it changed too.
		for f, ts := range ix.files {
			if isAncestor(changed, f) {
				for t := range ts {
					fn(t)
				}
			}
		}
		for base, ts := range ix.trees {
			if isAncestor(changed, base) {
				for t := range ts {
					fn(t)
				}
			}
		}
	}
}
