package lsp

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/cache"
)

// A transcript's status is what cmdt/status answers, what the first code
// lens and the first-line inlay hint say. It comes from the result
// cache's Lookup on the buffer's text, the same verdict `transcript
// status` and `transcript check` use, plus what this session saw:
//
//	running          unknown    "running: command 3 of 12"
//	last run failed  failed     "failed: 1 of 3 commands"  (this text ran and failed)
//	passed, not kept stale      "passed, not cached: an input changed while it ran"
//	Fresh            fresh      "cached ✓ 3 min ago"
//	Stale            stale      "stale: testdata/in.txt changed"
//	NeverRun         never-run  "not run yet"
//	no file, no cache unknown   ""
//
// A failure the cache remembers ("last run failed") reads as failed,
// unless this session knows the text changed since: then it is stale.

// statusInfo is a computed status.
type statusInfo struct {
	Status  string
	Text    string
	Reasons []string
	// Verdict is the cache's, when one was looked up (its manifest gives
	// the inputs to watch and, when fresh, per-command timings).
	Verdict *cache.Verdict
}

// maxReasonsInText bounds how many stale reasons the one-line text names.
const maxReasonsInText = 2

type statusEntry struct {
	snap *Snapshot
	gen  uint64
	at   time.Time
	info statusInfo
}

// statusCache memoises statuses per snapshot. A lookup stats every input
// of the transcript, and lenses, hints and the status bar all ask after
// every edit. Entries expire when gen moves (a watched file changed, a
// run ended, a save) and after cacheTTL for clients that report no file
// changes.
type statusCache struct {
	gen     atomic.Uint64
	mu      sync.Mutex
	entries map[protocol.DocumentURI]*statusEntry
}

func newStatusCache() *statusCache {
	return &statusCache{entries: map[protocol.DocumentURI]*statusEntry{}}
}

// statusChanged makes every memoised status stale.
func (s *Server) statusChanged() { s.statuses.gen.Add(1) }

func (c *statusCache) forget(u protocol.DocumentURI) {
	c.mu.Lock()
	delete(c.entries, u)
	c.mu.Unlock()
}

// resultCache opens the result cache on first use: Options.CacheDir, else
// $CMDT_CACHE_DIR, else the user cache directory (as the CLI does).
func (s *Server) resultCache() (*cache.Cache, error) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if s.rcache != nil || s.cacheErr != nil {
		return s.rcache, s.cacheErr
	}
	dir := s.opts.CacheDir
	if dir == "" {
		if dir, s.cacheErr = cache.DefaultDir(); s.cacheErr != nil {
			return nil, s.cacheErr
		}
	}
	s.rcache, s.cacheErr = cache.Open(dir)
	if s.cacheErr != nil {
		s.cacheErr = fmt.Errorf("open result cache %s: %w", dir, s.cacheErr)
	}
	return s.rcache, s.cacheErr
}

// statusOf returns snap's status, memoised.
func (s *Server) statusOf(ctx context.Context, snap *Snapshot) statusInfo {
	if j := s.runs.activeJob(snap.URI); j != nil {
		return statusInfo{Status: StatusUnknown, Text: j.runningText()}
	}
	if snap.Kind != DocTranscript || snap.Path == "" {
		return statusInfo{Status: StatusUnknown}
	}
	c := s.statuses
	gen := c.gen.Load()
	c.mu.Lock()
	prev := c.entries[snap.URI]
	c.mu.Unlock()
	if prev != nil && prev.snap == snap && prev.gen == gen && time.Since(prev.at) < cacheTTL {
		return prev.info
	}
	info := s.computeStatus(ctx, snap)
	c.mu.Lock()
	c.entries[snap.URI] = &statusEntry{snap: snap, gen: gen, at: time.Now(), info: info}
	c.mu.Unlock()
	if manifestTime(info) != manifestTime(prevInfo(prev)) {
		s.watches.update() // a new manifest may name other inputs
	}
	return info
}

func prevInfo(e *statusEntry) statusInfo {
	if e == nil {
		return statusInfo{}
	}
	return e.info
}

func manifestTime(i statusInfo) time.Time {
	if i.Verdict == nil || i.Verdict.Manifest == nil {
		return time.Time{}
	}
	return i.Verdict.Manifest.RecordedAt
}

func (s *Server) computeStatus(ctx context.Context, snap *Snapshot) statusInfo {
	rec := s.runs.lastRecord(snap.URI)
	sameText := rec != nil && rec.Text == snap.Text
	if sameText && !rec.Cancelled && !rec.passed() {
		_, text := runSummary(rec, 0)
		return statusInfo{Status: StatusFailed, Text: text}
	}
	rc, err := s.resultCache()
	if err != nil {
		return statusInfo{Status: StatusUnknown, Text: "cache unavailable", Reasons: []string{err.Error()}}
	}
	launcher, err := s.launcher(rc)
	if err != nil {
		return statusInfo{Status: StatusUnknown, Text: "status unavailable", Reasons: []string{err.Error()}}
	}
	v, err := rc.Lookup(ctx, s.cacheTarget(snap, launcher))
	if err != nil {
		return statusInfo{Status: StatusUnknown, Text: "status unavailable", Reasons: []string{err.Error()}}
	}
	info := statusInfo{Verdict: &v, Reasons: v.Reasons}
	switch {
	case v.State != cache.Fresh && sameText && rec.passed() && rec.NotCached != "":
		// It passed, but the next run will not be skipped: say why.
		info.Status, info.Text = StatusStale, "passed, not cached: "+rec.NotCached
		info.Reasons = []string{rec.NotCached}
	case v.State == cache.NeverRun && v.NotCached != "":
		// The same, known from the cache (a check on the command line).
		info.Status, info.Text = StatusNeverRun, "last pass not cacheable: "+v.NotCached
		info.Reasons = []string{v.NotCached}
	case v.State == cache.Fresh:
		info.Status, info.Text = StatusFresh, "cached ✓ "+ago(v.RecordedAt, time.Now())
	case v.State == cache.Stale && len(v.Reasons) == 1 && v.Reasons[0] == "last run failed":
		if rec != nil && !sameText {
			info.Status, info.Text = StatusStale, "stale: transcript changed since the last run (it failed)"
		} else {
			info.Status, info.Text = StatusFailed, "failed"
		}
	case v.State == cache.Stale:
		info.Status, info.Text = StatusStale, "stale: "+summarize(v.Reasons)
	default:
		info.Status, info.Text = StatusNeverRun, "not run yet"
	}
	return info
}

// cacheTarget is the cache target of a run of a transcript's buffer from
// the editor: its text, started in its directory, its programs seeing the
// server's environment (the CLI's default --env=inherit) through launcher.
// Status and runs use the same one, so the hint never calls fresh what a
// run would not serve (an untraced result, for a traced server).
func (s *Server) cacheTarget(snap *Snapshot, launcher engine.Launcher) cache.Target {
	t := cache.RunTarget(snap.Path, []byte(snap.Text), snap.File(), launcher, engine.EnvInherit, s.environ())
	t.Dir = snap.Dir()
	return t
}

// summarize names the first reasons and counts the rest.
func summarize(reasons []string) string {
	if len(reasons) == 0 {
		return "changed"
	}
	if len(reasons) <= maxReasonsInText {
		return strings.Join(reasons, ", ")
	}
	return fmt.Sprintf("%s (+%d more)", strings.Join(reasons[:maxReasonsInText], ", "), len(reasons)-maxReasonsInText)
}

// ago renders how long ago t was: "just now", "3 min ago", "2 h ago",
// "5 d ago".
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d d ago", int(d/(24*time.Hour)))
}

// status answers cmdt/status. Documents that are not open are unknown.
func (s *Server) status(ctx context.Context, p *StatusParams) (*StatusResult, error) {
	snap := s.store.Get(p.URI)
	if snap == nil {
		return &StatusResult{Status: StatusUnknown}, nil
	}
	info := s.statusOf(ctx, snap)
	return &StatusResult{Status: info.Status, Text: info.Text, Reasons: info.Reasons}, nil
}
