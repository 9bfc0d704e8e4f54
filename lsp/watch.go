package lsp

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
)

// Live staleness. A transcript's status depends on files: the ones it
// declares, and the ones its last run or its cache manifest says it used
// (redirections, programs, expected-output files, traced reads). The
// server keeps one dynamic registration, watchDepsID, with a watcher for
// each, outside the workspace too (RelativePattern when the client takes
// them), and re-registers when the set changes. When the client reports
// a change to one of them, statuses are recomputed and the client is asked
// to refresh lenses and inlay hints, which show them.

const (
	watchDepsID = "cmdt-watch-deps"
	// maxWatchers bounds the registration: a transcript declaring
	// thousands of files gets the first ones watched, the rest are caught
	// by the status cache's expiry.
	maxWatchers = 1000
	// watchDebounce batches registration updates (a run ending, several
	// documents opening).
	watchDebounce = 100 * time.Millisecond
)

// watchSpec is one watched pattern: pattern under dir.
type watchSpec struct {
	dir, pattern string
}

func (w watchSpec) matches(path string) bool {
	rel, err := filepath.Rel(w.dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return false
	}
	ok, _ := doublestar.Match(w.pattern, filepath.ToSlash(rel))
	return ok
}

// depWatcher owns the registration.
type depWatcher struct {
	s    *Server
	wake chan struct{}

	mu         sync.Mutex
	registered []watchSpec
}

func newDepWatcher(s *Server) *depWatcher {
	return &depWatcher{s: s, wake: make(chan struct{}, 1)}
}

// update asks for the registration to be brought up to date soon.
func (w *depWatcher) update() {
	if w == nil {
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *depWatcher) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(watchDebounce):
		}
		w.sync(ctx)
	}
}

// canRegister reports whether the client takes dynamic watchers, and
// whether they may be RelativePatterns.
func (s *Server) canRegister() (dynamic, relative bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.caps.Workspace
	if ws == nil || ws.DidChangeWatchedFiles == nil {
		return false, false
	}
	return ws.DidChangeWatchedFiles.DynamicRegistration, ws.DidChangeWatchedFiles.RelativePatternSupport
}

func (w *depWatcher) sync(ctx context.Context) {
	dynamic, relative := w.s.canRegister()
	if !dynamic {
		return
	}
	specs := w.s.watchSpecs()
	w.mu.Lock()
	same := len(specs) == len(w.registered)
	for i := 0; same && i < len(specs); i++ {
		same = specs[i] == w.registered[i]
	}
	old := w.registered
	w.registered = specs
	w.mu.Unlock()
	if same {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if len(old) > 0 {
		un := protocol.UnregistrationParams{Unregisterations: []protocol.Unregistration{{ID: watchDepsID, Method: protocol.MethodWorkspaceDidChangeWatchedFiles}}}
		if _, err := w.s.conn.Call(cctx, protocol.MethodClientUnregisterCapability, un, nil); err != nil {
			w.s.log.Debug("unregistering dependency watchers failed", "err", err)
		}
	}
	if len(specs) == 0 {
		return
	}
	watchers := make([]FileSystemWatcher317, 0, len(specs))
	for _, sp := range specs {
		if relative {
			watchers = append(watchers, FileSystemWatcher317{GlobPattern: RelativePattern{BaseURI: pathURI(sp.dir), Pattern: sp.pattern}})
		} else {
			watchers = append(watchers, FileSystemWatcher317{GlobPattern: filepath.ToSlash(sp.dir) + "/" + sp.pattern})
		}
	}
	reg := protocol.RegistrationParams{Registrations: []protocol.Registration{{
		ID: watchDepsID, Method: protocol.MethodWorkspaceDidChangeWatchedFiles,
		RegisterOptions: map[string]interface{}{"watchers": watchers},
	}}}
	if _, err := w.s.conn.Call(cctx, protocol.MethodClientRegisterCapability, reg, nil); err != nil {
		w.s.log.Warn("registering dependency watchers failed", "err", err)
	}
}

// watchSpecs lists what the open transcripts depend on, sorted.
func (s *Server) watchSpecs() []watchSpec {
	seen := map[watchSpec]bool{}
	var specs []watchSpec
	add := func(kind engine.InputKind, path string) {
		if path == "" || strings.HasPrefix(path, "PATH:") || !filepath.IsAbs(path) {
			return
		}
		for _, sys := range []string{"/proc/", "/sys/", "/dev/"} {
			if strings.HasPrefix(path, sys) {
				return
			}
		}
		var sp watchSpec
		switch kind {
		case engine.InputEnv:
			return
		case engine.InputDir:
			sp = watchSpec{filepath.Clean(path), "**/*"}
		case engine.InputGlob:
			base, pattern := doublestar.SplitPattern(filepath.ToSlash(path))
			sp = watchSpec{filepath.FromSlash(base), pattern}
		default:
			sp = watchSpec{filepath.Dir(path), filepath.Base(path)}
		}
		if !seen[sp] {
			seen[sp] = true
			specs = append(specs, sp)
		}
	}
	for _, snap := range s.store.All() {
		if snap.Kind != DocTranscript || snap.Path == "" {
			continue
		}
		// Declared first: they matter even before any run.
		for _, di := range s.analysis(snap).Deps {
			for _, in := range di.Inputs {
				add(in.Kind, in.Path)
			}
		}
		if rec := s.runs.lastRecord(snap.URI); rec != nil {
			for _, in := range rec.Result.Inputs() {
				add(in.Kind, in.Path)
			}
		}
		s.statuses.mu.Lock()
		e := s.statuses.entries[snap.URI]
		s.statuses.mu.Unlock()
		if e != nil && e.info.Verdict != nil && e.info.Verdict.Manifest != nil {
			root := s.ws.moduleRoot(snap.Dir())
			for _, in := range e.info.Verdict.Manifest.Inputs {
				p := in.Path
				if p != "" && !filepath.IsAbs(p) && !strings.HasPrefix(p, "PATH:") {
					p = filepath.Join(root, filepath.FromSlash(p))
				}
				add(in.Kind, p)
			}
		}
	}
	sort.Slice(specs, func(i, j int) bool {
		if specs[i].dir != specs[j].dir {
			return specs[i].dir < specs[j].dir
		}
		return specs[i].pattern < specs[j].pattern
	})
	if len(specs) > maxWatchers {
		specs = specs[:maxWatchers]
	}
	return specs
}

// dependencyChanged reports whether any of the changed files is something
// an open transcript depends on.
func (s *Server) dependencyChanged(changes []*protocol.FileEvent) bool {
	specs := s.watchSpecs()
	for _, c := range changes {
		path, ok := uriPath(c.URI)
		if !ok {
			continue
		}
		for _, sp := range specs {
			if sp.matches(path) {
				return true
			}
		}
	}
	return false
}
