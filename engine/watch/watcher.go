package watch

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/cache"
)

// Options configure a Watcher.
type Options struct {
	// Paths name the transcripts: files, directories (searched
	// recursively for *.cmdt, as SkipDir says) or "dir/...". None means
	// "./...". Directories are also where new transcripts are found.
	Paths []string
	// Cache decides staleness from manifests; nil falls back to the
	// inputs of the runs this process saw (Ran).
	Cache *cache.Cache
	// Ignore lists directories whose changes never matter (the cache
	// directory, when it lies in the watched tree).
	Ignore []string
	// Quiet is how long the file system must stay quiet before a round
	// starts (default 20 ms); MaxDelay bounds the wait from the first
	// change (default 200 ms) under a steady stream of changes.
	Quiet, MaxDelay time.Duration
	// Target is the cache target a run of the transcript at path (an
	// absolute path) looks up and records: cache.RunTarget with the
	// runner's launcher and environment, so the watcher asks the cache
	// exactly what the run will. nil: the path alone (the process's
	// environment, any observation mode).
	Target func(path string) cache.Target
}

// Item is one transcript to run and why.
type Item struct {
	Path    string   // absolute
	Name    string   // relative to the working directory when below it
	Reasons []string // "testdata/in.txt changed", "transcript changed", "new transcript", ...
}

// Round is what a batch of changes did: the transcripts to run, in path
// order, and the ones that went away.
type Round struct {
	Changed []string // what changed, relative to the working directory when below it
	Run     []Item
	Removed []Item
}

// Watcher follows a tree of transcripts and says, after each batch of
// file changes, exactly which ones are stale.
type Watcher struct {
	opts    Options
	cwd     string
	tree    *tree
	recurse []string // absolute directories where transcripts are discovered
	single  map[string]bool

	mu          sync.Mutex
	transcripts map[string]*transcript // by absolute path
	idx         *index
	outside     map[string]*outsidePoint // points no watched directory covers, by path

	// Events, stamped by pump, waiting for the next round.
	evMu            sync.Mutex
	pending         []change
	pendingIdx      map[string]int
	overflow        bool
	firstAt, lastAt time.Time
	wake            chan struct{}
	pumpDone        chan struct{}
}

// transcript is what the watcher knows about one transcript.
type transcript struct {
	path, name string
	root       string
	points     []point
	lastEnd    time.Time // when its last run (in this process) ended
	ran        bool
}

// outsidePoint is a point checked by stat on each round.
type outsidePoint struct {
	sig   sig
	users map[*transcript]bool
}

// sig is a file's identity and change state, as stat tells it.
type sig struct {
	exists bool
	size   int64
	mtime  time.Time
	mode   fs.FileMode
	inode  uint64
}

func statSig(p string) sig {
	st, err := os.Stat(p)
	if err != nil {
		return sig{}
	}
	return sig{exists: true, size: st.Size(), mtime: st.ModTime(), mode: st.Mode(), inode: inodeOf(st)}
}

// New sets up the watches and finds the transcripts. Nothing runs.
func New(opts Options) (*Watcher, error) {
	if opts.Quiet <= 0 {
		opts.Quiet = 20 * time.Millisecond
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 200 * time.Millisecond
	}
	if len(opts.Paths) == 0 {
		opts.Paths = []string{"./..."}
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	w := &Watcher{opts: opts, cwd: cwd, single: map[string]bool{}, transcripts: map[string]*transcript{},
		idx: newIndex(), outside: map[string]*outsidePoint{}}
	var roots []string
	seenRoot := map[string]bool{}
	for _, arg := range opts.Paths {
		p := strings.TrimSuffix(arg, "/...")
		if p == "" {
			p = "/"
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("watch: %s: %w", arg, err)
		}
		st, err := os.Stat(p) // as given: the error names the path the user typed
		if err != nil {
			return nil, fmt.Errorf("watch: %w", err)
		}
		dir := abs
		if st.IsDir() {
			w.recurse = append(w.recurse, abs)
		} else {
			w.single[abs] = true
			dir = filepath.Dir(abs)
		}
		// The whole module is watched: a transcript's inputs are anywhere
		// in it (the sources of the tool under test).
		root := engine.FindModuleRoot(dir)
		if !engine.IsWithin(root, dir) {
			root = dir
		}
		if !seenRoot[root] {
			seenRoot[root] = true
			roots = append(roots, root)
		}
	}
	var ignore []string
	for _, ig := range opts.Ignore {
		if abs, err := filepath.Abs(ig); err == nil {
			ignore = append(ignore, abs)
		}
	}
	roots = outermost(roots)
	t, err := newTree(roots, ignore)
	if err != nil {
		return nil, err
	}
	w.tree = t
	for _, r := range roots {
		if err := t.add(r, nil); err != nil {
			t.close()
			return nil, fmt.Errorf("watch: %w", err)
		}
	}
	for p := range w.single {
		w.addTranscript(p)
	}
	for _, r := range w.recurse {
		_ = filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				if p != r && SkipDir(d.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			if w.isTranscript(p) {
				w.addTranscript(p)
			}
			return nil
		})
	}
	w.pendingIdx = map[string]int{}
	w.wake = make(chan struct{}, 1)
	w.pumpDone = make(chan struct{})
	go w.pump()
	return w, nil
}

// outermost drops roots inside other roots.
func outermost(roots []string) []string {
	sort.Strings(roots)
	var out []string
	for _, r := range roots {
		if len(out) > 0 && engine.IsWithin(out[len(out)-1], r) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// isTranscript reports whether p is one of the watched transcripts' paths
// (given, or a *.cmdt file below a recursive root outside skipped
// directories).
func (w *Watcher) isTranscript(p string) bool {
	if w.single[p] {
		return true
	}
	if !strings.HasSuffix(p, ".cmdt") {
		return false
	}
	for _, r := range w.recurse {
		if !engine.IsWithin(r, p) || p == r {
			continue
		}
		rest := strings.Split(p[len(r)+1:], string(filepath.Separator))
		skipped := false
		for _, d := range rest[:len(rest)-1] {
			if SkipDir(d) {
				skipped = true
				break
			}
		}
		if !skipped {
			return true
		}
	}
	return false
}

func (w *Watcher) addTranscript(p string) *transcript {
	name := p
	if rel, err := filepath.Rel(w.cwd, p); err == nil && !strings.HasPrefix(rel, "..") {
		name = rel
	}
	t := &transcript{path: p, name: name, root: engine.FindModuleRoot(filepath.Dir(p))}
	w.transcripts[p] = t
	return t
}

// Transcripts returns the watched transcripts' paths, sorted.
func (w *Watcher) Transcripts() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.transcripts))
	for p := range w.transcripts {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Names returns the watched transcripts' names (relative to the working
// directory when below it), in path order.
func (w *Watcher) Names() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, t := range w.sortedLocked() {
		out = append(out, t.name)
	}
	return out
}

// Dirs returns how many directories are watched.
func (w *Watcher) Dirs() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.tree.dirs)
}

// Close stops watching.
func (w *Watcher) Close() error {
	err := w.tree.close()
	if w.pumpDone != nil {
		<-w.pumpDone
	}
	return err
}

// Initial looks every transcript up in the cache: the stale and never-run
// ones are the round's Run; the fresh ones are only indexed.
func (w *Watcher) Initial(ctx context.Context) (Round, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var r Round
	for _, t := range w.sortedLocked() {
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		reasons := w.verdictLocked(ctx, t, nil, false)
		if reasons != nil {
			r.Run = append(r.Run, Item{Path: t.path, Name: t.name, Reasons: reasons})
		}
	}
	return r, nil
}

func (w *Watcher) sortedLocked() []*transcript {
	ts := make([]*transcript, 0, len(w.transcripts))
	for _, t := range w.transcripts {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].path < ts[j].path })
	return ts
}

// verdictLocked decides whether t must run, returning why (nil: it need
// not). The cache decides when it has a manifest; without one (never
// passed, last run failed, no cache) the changes matched against the
// inputs of t's last run decide: those that arrived after it ended.
func (w *Watcher) verdictLocked(ctx context.Context, t *transcript, changes []change, self bool) []string {
	if t.ran && !self && !slices.ContainsFunc(changes, func(c change) bool { return c.at.After(t.lastEnd) }) {
		// Every change arrived while t itself ran: the run's own doing
		// (a transcript writing what it reads is never cached, so asking
		// the cache would run it forever).
		return nil
	}
	if w.opts.Cache != nil {
		target := cache.Target{Path: t.path}
		if w.opts.Target != nil {
			target = w.opts.Target(t.path)
		}
		v, err := w.opts.Cache.Lookup(ctx, target)
		switch {
		case err != nil:
			return []string{err.Error()}
		case v.State == cache.Fresh:
			if v.Manifest != nil {
				w.setPointsLocked(t, manifestPoints(t.root, v.Manifest))
			}
			return nil
		case v.State == cache.Stale && v.Manifest != nil:
			if !t.ran {
				w.setPointsLocked(t, manifestPoints(t.root, v.Manifest))
			}
			return v.Reasons
		case v.State == cache.Stale && !t.ran:
			return v.Reasons // "last run failed", before this process ran it
		}
	}
	if !t.ran {
		if self {
			return []string{"new transcript"}
		}
		return []string{"never run"}
	}
	var reasons []string
	if self {
		reasons = append(reasons, "transcript changed")
	}
	for _, c := range changes {
		if !c.at.After(t.lastEnd) {
			continue // seen during its own run: what the run itself did
		}
		what := "changed"
		if !statSig(c.path).exists {
			what = "deleted"
		}
		reasons = append(reasons, relTo(t.root, c.path)+" "+what)
	}
	return reasons
}

func relTo(root, p string) string {
	if engine.IsWithin(root, p) {
		if rel, err := filepath.Rel(root, p); err == nil {
			return filepath.ToSlash(rel)
		}
	}
	return p
}

// setPointsLocked replaces t's points in the index and the outside set.
func (w *Watcher) setPointsLocked(t *transcript, pts []point) {
	w.idx.remove(t)
	for _, p := range t.points {
		if o := w.outside[p.path]; o != nil {
			delete(o.users, t)
			if len(o.users) == 0 {
				delete(w.outside, p.path)
			}
		}
	}
	t.points = pts
	w.idx.add(t)
	for _, p := range pts {
		if w.tree.covered(p.path) {
			continue
		}
		o := w.outside[p.path]
		if o == nil {
			o = &outsidePoint{sig: statSig(p.path), users: map[*transcript]bool{}}
			w.outside[p.path] = o
		}
		o.users[t] = true
	}
}

// Ran records a run of the transcript at path: its inputs, declared and
// observed, become what changes are matched against. res may be nil (the
// transcript did not parse).
func (w *Watcher) Ran(path string, res *engine.Result) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.transcripts[path]
	if t == nil {
		return
	}
	t.ran = true
	t.lastEnd = time.Now()
	if res != nil {
		w.setPointsLocked(t, resultPoints(res))
	}
}

// round turns a batch of changes into the transcripts to run.
func (w *Watcher) round(ctx context.Context, changes []change, overflow bool) Round {
	w.mu.Lock()
	defer w.mu.Unlock()
	var r Round
	byT := map[*transcript][]change{}
	self := map[*transcript]bool{}
	// Points outside the watched directories: one stat each.
	now := time.Now()
	for p, o := range w.outside {
		if s := statSig(p); s != o.sig {
			o.sig = s
			changes = append(changes, change{path: p, at: now})
		}
	}
	for _, c := range changes {
		r.Changed = append(r.Changed, w.display(c.path))
		st, err := os.Lstat(c.path)
		exists := err == nil
		gone := !exists && w.tree.dirs[c.path]
		if gone {
			w.tree.drop(c.path)
			w.dropTranscriptsLocked(c.path, &r)
		}
		if exists && st.IsDir() && !w.tree.dirs[c.path] && w.tree.covered(filepath.Join(c.path, "x")) {
			// A new directory: watch it, and take what is already in it.
			// (Files created before the watch was in place sent no event.)
			_ = w.tree.add(c.path, func(p string, isDir bool) {
				if isDir {
					return
				}
				w.touchLocked(p, now, byT, self)
				found := change{path: p, at: now}
				w.idx.affected(p, false, func(t *transcript) { byT[t] = append(byT[t], found) })
			})
		}
		if !exists {
			if t := w.transcripts[c.path]; t != nil {
				w.removeLocked(t, &r)
				continue
			}
		}
		w.touchLocked(c.path, c.at, byT, self)
		w.idx.affected(c.path, gone, func(t *transcript) {
			if _, ok := byT[t]; !ok {
				byT[t] = nil
			}
			byT[t] = append(byT[t], c)
		})
	}
	if overflow {
		// Events were lost: every transcript is a candidate; the cache
		// still decides, so nothing fresh runs.
		for _, t := range w.transcripts {
			if _, ok := byT[t]; !ok {
				byT[t] = []change{{path: t.path, at: now}}
			}
		}
	}
	ts := make([]*transcript, 0, len(byT))
	for t := range byT {
		if w.transcripts[t.path] == t {
			ts = append(ts, t)
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].path < ts[j].path })
	for _, t := range ts {
		if reasons := w.verdictLocked(ctx, t, byT[t], self[t]); reasons != nil {
			r.Run = append(r.Run, Item{Path: t.path, Name: t.name, Reasons: reasons})
		}
	}
	sort.Slice(r.Removed, func(i, j int) bool { return r.Removed[i].Path < r.Removed[j].Path })
	return r
}

// touchLocked notes a change to a transcript's own file (a new one is
// added).
func (w *Watcher) touchLocked(p string, at time.Time, byT map[*transcript][]change, self map[*transcript]bool) {
	t := w.transcripts[p]
	if t == nil {
		if !w.isTranscript(p) {
			return
		}
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return
		}
		t = w.addTranscript(p)
	}
	self[t] = true
	if _, ok := byT[t]; !ok {
		byT[t] = nil
	}
}

func (w *Watcher) removeLocked(t *transcript, r *Round) {
	w.setPointsLocked(t, nil)
	delete(w.transcripts, t.path)
	r.Removed = append(r.Removed, Item{Path: t.path, Name: t.name, Reasons: []string{"deleted"}})
}

// dropTranscriptsLocked removes the transcripts below a directory that
// went away.
func (w *Watcher) dropTranscriptsLocked(dir string, r *Round) {
	for p, t := range w.transcripts {
		if isAncestor(dir, p) {
			if _, err := os.Stat(p); err != nil {
				w.removeLocked(t, r)
			}
		}
	}
}

func (w *Watcher) display(p string) string {
	if rel, err := filepath.Rel(w.cwd, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}
