package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// State is a transcript's standing in the cache.
type State int

// States.
const (
	NeverRun State = iota // no passing run recorded
	Fresh                 // every input hashes as when it last passed: skip the run
	Stale                 // recorded, but something changed (see Verdict.Reasons)
)

var stateNames = [...]string{"never-run", "fresh", "stale"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// MarshalText renders the state as in String, for JSON output.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a state name.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n == string(b) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("unknown cache state %q", b)
}

// Verdict is the outcome of a Lookup.
type Verdict struct {
	State State `json:"state"`
	// Reasons name every change since the last passing run (Stale only),
	// paths relative to the module root when inside it: "testdata/in.txt
	// changed", "env GOFLAGS changed", "glob src/** gained src/b.go",
	// "transcript changed", "tool version changed", "last run failed".
	Reasons []string `json:"reasons,omitempty"`
	// RecordedAt is when the manifest was recorded (or the failure seen).
	RecordedAt time.Time `json:"recordedAt,omitzero"`
	// Manifest is the matching manifest (Fresh), or for Stale the one the
	// reasons compare against (the newest recorded for this transcript
	// text, else the newest); nil when NeverRun or after a failure.
	Manifest *Manifest `json:"-"`
	// NotCached says why the last passing run was not cached ("d/ changed
	// during the run"), when it was not (never set when Fresh).
	NotCached string `json:"notCached,omitempty"`
}

// Target names one transcript check: which file, with which text, from
// where and in which environment.
type Target struct {
	Path string // transcript path (made absolute)
	// Source is the transcript text being checked, which may differ from
	// the file (an editor's unsaved buffer). nil reads Path.
	Source []byte
	Dir    string   // session start directory; default: Path's directory
	Root   string   // module root; default: engine.FindModuleRoot(Dir)
	Env    []string // session environment; nil means os.Environ()
	// ObservedBy is how the check would observe the run
	// (engine.ObservedBy of its launcher). A manifest recorded by a mode
	// that saw less (untraced, while this check traces) is not trusted.
	// "" accepts any manifest.
	ObservedBy string
	// EnvMode is the engine.EnvMode the programs see; Env must then be
	// what they see (engine.ProgramEnv). In EnvInherit mode (the zero
	// value) the result is keyed on every variable of Env.
	EnvMode engine.EnvMode
}

// RunTarget is the target of a check that runs the transcript at path
// (with text source; nil reads the file) through launcher l, its programs
// seeing engine.ProgramEnv(inherited, mode, f): the one statement of what
// a result is keyed on, so the CLI, the watcher and the language server
// look up what a run records. f may be nil when the transcript is not
// parsed yet; in EnvDeclared mode its declared variables then look unset,
// which can only make the lookup stale, never a false hit.
func RunTarget(path string, source []byte, f *parser.File, l engine.Launcher, mode engine.EnvMode, inherited []string) Target {
	return Target{
		Path:       path,
		Source:     source,
		Env:        engine.ProgramEnv(inherited, mode, f),
		EnvMode:    mode,
		ObservedBy: engine.ObservedBy(l),
	}
}

// traces reports whether an observation mode sees what subprocesses read.
// Every tracing backend counts as full tracing; "" and unknown old
// manifests (recorded before the field existed) count as untraced.
func traces(mode string) bool { return mode != "" && mode != engine.Untraced }

// Lookup reports whether t's last passing result still holds. Fresh
// means the run can be skipped. A missing, truncated or corrupt entry is
// NeverRun, not an error; errors are for failures to read inputs or the
// store itself.
func (c *Cache) Lookup(ctx context.Context, t Target) (Verdict, error) {
	t, err := c.normalize(t)
	if err != nil {
		return Verdict{}, err
	}
	entry, err := c.getEntry(ctx, c.identityOf(t).key())
	if err != nil || entry == nil {
		return Verdict{State: NeverRun}, err
	}
	v, err := c.lookupEntry(ctx, t, entry)
	if v.State != Fresh {
		v.NotCached = entry.NotCached
	}
	return v, err
}

// lookupEntry is Lookup once the entry is found.
func (c *Cache) lookupEntry(ctx context.Context, t Target, entry *Entry) (Verdict, error) {
	if len(entry.Manifests) == 0 {
		if entry.FailedAt.IsZero() {
			return Verdict{State: NeverRun}, nil
		}
		return Verdict{State: Stale, Reasons: []string{"last run failed"}, RecordedAt: entry.FailedAt}, nil
	}
	var source string
	if t.Source != nil {
		source = hashBytes(t.Source)
	} else {
		// Through the memo: an unchanged transcript costs a stat.
		h, err := c.hashPath(t.Path)
		if err != nil {
			return Verdict{}, fmt.Errorf("cache: %w", err)
		}
		if strings.HasPrefix(h.hash, hashLinkPrefix) {
			// A transcript reached through a link: its text is what ran.
			src, err := os.ReadFile(t.Path)
			if err != nil {
				return Verdict{}, fmt.Errorf("cache: %w", err)
			}
			h.hash = hashBytes(src)
		}
		if h.hash == hashAbsent || strings.Contains(h.hash, ":") {
			return Verdict{}, fmt.Errorf("cache: %s: not a regular file", t.Path)
		}
		source = h.hash
	}
	ev := c.newEvaluator(t, source)
	defer c.maybeFlush()
	// The primary manifest — the newest one recorded for this very text,
	// else the newest — is checked fully, for all the reasons; the others
	// only matter if one is fresh, so they stop at the first change.
	primary := entry.Manifests[0]
	for _, m := range entry.Manifests {
		if m.Source == ev.source && m.Version == engine.Version {
			primary = m
			break
		}
	}
	reasons, err := ev.changes(ctx, primary, true)
	if err != nil {
		return Verdict{}, err
	}
	if len(reasons) == 0 {
		return Verdict{State: Fresh, RecordedAt: primary.RecordedAt, Manifest: primary}, nil
	}
	for _, m := range entry.Manifests {
		if m == primary || m.Source != ev.source || m.Version != engine.Version {
			continue
		}
		rs, err := ev.changes(ctx, m, false)
		if err != nil {
			return Verdict{}, err
		}
		if len(rs) == 0 {
			return Verdict{State: Fresh, RecordedAt: m.RecordedAt, Manifest: m}, nil
		}
	}
	return Verdict{State: Stale, Reasons: reasons, RecordedAt: primary.RecordedAt, Manifest: primary}, nil
}

// getEntry fetches and decodes an entry; nil, nil is a miss.
func (c *Cache) getEntry(ctx context.Context, key string) (*Entry, error) {
	data, err := c.store.Get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	e, err := DecodeEntry(data)
	if err != nil {
		return nil, nil // damaged: a miss, never an error or a pass
	}
	return e, nil
}

// evaluator hashes a target's inputs as they are now, each path once.
type evaluator struct {
	c      *Cache
	t      Target
	source string
	env    expand.Environ
	files  map[string]fileHash
	// attrs are the run's attribute-only calls, when recording (onlyRetimed).
	attrs []engine.AttrChange
}

func (c *Cache) newEvaluator(t Target, source string) *evaluator {
	return &evaluator{c: c, t: t, source: source, env: expand.ListEnviron(t.Env...), files: map[string]fileHash{}}
}

func (ev *evaluator) hash(abs string) (fileHash, error) {
	if h, ok := ev.files[abs]; ok {
		return h, nil
	}
	h, err := ev.c.hashPath(abs)
	if err != nil {
		return h, err
	}
	ev.files[abs] = h
	return h, nil
}

// hashObserved hashes a path the run looked at without a declaration: a
// directory counts by its existence only (hashIsDir).
func (ev *evaluator) hashObserved(abs string, origin engine.Origin) (fileHash, error) {
	if origin.Declared() {
		return ev.hash(abs)
	}
	if h, ok := ev.files[abs]; ok && !strings.HasPrefix(h.hash, hashDir) {
		return h, nil
	}
	return ev.c.hashPathAs(abs, true)
}

// changes lists what differs between m and now; with all false it stops
// at the first difference.
func (ev *evaluator) changes(ctx context.Context, m *Manifest, all bool) ([]string, error) {
	var rs reasons
	if m.Source != ev.source {
		rs.add("transcript changed")
	}
	if m.Version != engine.Version {
		rs.add("tool version changed")
	}
	if m.EnvMode != ev.t.EnvMode {
		rs.add("recorded with --env=" + m.EnvMode.String())
	}
	if traces(ev.t.ObservedBy) && !traces(m.ObservedBy) {
		// Its subprocesses' reads were invisible: any of them may have
		// changed since, and this check would see them.
		rs.add("recorded untraced, checked traced")
	}
	// Env hashes under another key cannot be compared; that only matters
	// if there are env inputs at all.
	envSchemeOK := m.EnvScheme == envScheme(ev.c.envKey)
	if !envSchemeOK && !slices.ContainsFunc(m.Inputs, func(in InputRecord) bool { return in.Kind == engine.InputEnv }) {
		envSchemeOK = true
	}
	if !envSchemeOK {
		rs.add("env hashing key changed")
	}
	for i := range m.Inputs {
		if !all && len(rs.list) > 0 {
			break
		}
		if i%64 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		in := &m.Inputs[i]
		if in.Kind == engine.InputEnv && !envSchemeOK {
			continue
		}
		if err := ev.inputChanges(in, &rs); err != nil {
			return nil, err
		}
	}
	return rs.list, nil
}

// reasons collects change descriptions without duplicates (a file can be
// both declared and matched by a glob).
type reasons struct {
	list []string
	seen map[string]bool
}

func (r *reasons) add(s string) {
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	if !r.seen[s] {
		r.seen[s] = true
		r.list = append(r.list, s)
	}
}

// fileChange describes a changed file hash.
func fileChange(name, was, now string) string {
	switch {
	case was == hashAbsent:
		return name + " created"
	case now == hashAbsent:
		return name + " deleted"
	}
	return name + " changed"
}

func (ev *evaluator) inputChanges(in *InputRecord, rs *reasons) error {
	switch in.Kind {
	case engine.InputEnv:
		if in.Name == envSetName {
			ev.envSetChanges(in, rs)
			return nil
		}
		v, set := lookupEnv(ev.t.Env, in.Name)
		now := hashEnv(ev.c.envKey, in.Name, v, set)
		switch {
		case now == in.Hash:
		case in.Hash == hashAbsent:
			rs.add("env " + in.Name + " set")
		case now == hashAbsent:
			rs.add("env " + in.Name + " unset")
		default:
			rs.add("env " + in.Name + " changed")
		}
	case engine.InputDir, engine.InputGlob:
		if in.isListing() {
			ev.listingChanges(in, rs)
			return nil
		}
		var exclude []string
		for _, x := range in.Exclude {
			exclude = append(exclude, absPath(ev.t.Root, x))
		}
		ms, now, err := ev.matchSet(in.Kind, absPath(ev.t.Root, in.Path), exclude...)
		if err != nil {
			return err
		}
		if now == in.Hash {
			return nil
		}
		if now == hashAbsent || in.Hash == hashAbsent || ms == nil {
			rs.add(fileChange(in.Display(), in.Hash, now))
			return nil
		}
		setChanges(in, ms, rs)
	case engine.InputExe:
		path := absPath(ev.t.Root, in.Path)
		if name, missing := cutPathPrefix(in.Path); missing {
			// Not found when it ran: fresh only while it still is not.
			if p, err := interp.LookPathDir(ev.t.Dir, ev.env, name); err == nil {
				rs.add("exe " + name + " created (" + relPath(ev.t.Root, p) + ")")
			}
			return nil
		}
		h, err := ev.hash(path)
		if err != nil {
			return err
		}
		if h.hash != in.Hash {
			rs.add(fileChange(in.Display(), in.Hash, h.hash))
		}
	default: // files, depfiles, redirect and expected-output reads, traced files
		h, err := ev.hashObserved(absPath(ev.t.Root, in.Path), in.Origin)
		if err != nil {
			return err
		}
		if h.hash != in.Hash {
			rs.add(fileChange(in.Path, in.Hash, h.hash))
		}
	}
	return nil
}

// setChanges names what a directory or glob gained, lost or changed.
func setChanges(in *InputRecord, now []MatchRecord, rs *reasons) {
	was := make(map[string]string, len(in.Matches))
	for _, m := range in.Matches {
		was[m.Path] = m.Hash
	}
	is := make(map[string]bool, len(now))
	for _, m := range now {
		is[m.Path] = true
		old, ok := was[m.Path]
		switch {
		case !ok:
			rs.add(in.Display() + " gained " + m.Path)
		case old != m.Hash:
			rs.add(m.Path + " changed")
		}
	}
	for _, m := range in.Matches {
		if !is[m.Path] {
			rs.add(in.Display() + " lost " + m.Path)
		}
	}
}

// matchSet re-evaluates a directory or glob (minus its exclusions) the
// way the engine resolves declarations, and hashes every match. A directory that is gone (or is
// now a file) yields a nil set and a plain hash.
func (ev *evaluator) matchSet(kind engine.InputKind, abs string, exclude ...string) ([]MatchRecord, string, error) {
	r := &engine.Resolver{Root: ev.t.Root}
	var matches []string
	if kind == engine.InputGlob {
		in, err := r.ResolveGlob(abs, exclude, ev.t.Dir, 0)
		if err != nil {
			return nil, "", fmt.Errorf("cache: %w", err)
		}
		matches = in.Matches
	} else {
		ins, _, _ := r.Resolve(parser.DepFile, abs, ev.t.Dir, 0)
		if ins[0].Kind != engine.InputDir {
			h, err := ev.hash(abs)
			return nil, h.hash, err
		}
		matches = ins[0].Matches
	}
	ms, err := ev.hashMatches(matches)
	if err != nil {
		return nil, "", err
	}
	return ms, setHash(ms), nil
}

func (ev *evaluator) hashMatches(matches []string) ([]MatchRecord, error) {
	ms := make([]MatchRecord, 0, len(matches))
	for _, p := range matches {
		h, err := ev.hash(p)
		if err != nil {
			return nil, err
		}
		ms = append(ms, MatchRecord{Path: relPath(ev.t.Root, filepath.Clean(p)), Hash: h.hash})
	}
	return ms, nil
}
