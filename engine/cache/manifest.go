package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	segjson "github.com/segmentio/encoding/json"

	"github.com/cmdt-dev/cmdt/engine"
)

// entryFormat is the version of the Entry encoding.
const entryFormat = 1

// maxVariants bounds how many manifests one entry keeps. Several let a
// transcript be fresh again after switching back to a branch (or an
// environment) it passed on before, instead of thrashing one slot.
const maxVariants = 4

// Entry is what a store holds under a transcript's key: the manifests of
// its most recent passing runs in distinct states, newest first — or,
// after a failed run, none, with FailedAt set.
type Entry struct {
	Format    int         `json:"format"`
	Manifests []*Manifest `json:"manifests,omitempty"`
	// FailedAt is when the last run failed; a failure drops every
	// manifest, since it shows the cached passes may not reflect reality
	// (an undeclared input, a flaky command).
	FailedAt time.Time `json:"failedAt,omitzero"`
	// NotCached says why the last passing run was not cached (an input
	// changed while it ran), and NotCachedAt when; both clear when a pass
	// is recorded. Manifests of earlier passes are kept alongside.
	NotCached   string    `json:"notCached,omitempty"`
	NotCachedAt time.Time `json:"notCachedAt,omitzero"`
}

// Manifest is the verifying trace of one passing run: everything needed
// to decide, later, whether that run's result still holds.
type Manifest struct {
	// Project, Transcript and Dir identify the transcript (see identity);
	// paths are root-relative and slash-separated.
	Project    string `json:"project"`
	Transcript string `json:"transcript"`
	Dir        string `json:"dir"`
	// Source is the SHA-256 of the transcript text that ran.
	Source string `json:"source"`
	// Version is engine.Version of the tool that ran it.
	Version string `json:"version"`
	// EnvScheme names how env values were hashed (see docs/caching.md).
	EnvScheme string `json:"envScheme"`
	// ObservedBy says how the run's programs were observed: a tracing
	// backend ("ptrace", "ebpf") or "untraced" (engine.Result.ObservedBy).
	// A lookup by a mode that sees more does not trust it (seesMore).
	ObservedBy string `json:"observedBy,omitempty"`
	// EnvMode is the engine.EnvMode the run's programs saw ("" inherit):
	// a result is only trusted by a check in the same mode.
	EnvMode    engine.EnvMode `json:"envMode,omitempty"`
	RecordedAt time.Time      `json:"recordedAt"`
	// Duration is the whole run's wall time; Commands break it down, for
	// schedulers balancing shards by expected cost.
	Duration time.Duration   `json:"durationNs"`
	Commands []CommandTiming `json:"commands,omitempty"`
	Inputs   []InputRecord   `json:"inputs"`
}

// CommandTiming is one command block's wall time.
type CommandTiming struct {
	Line     int           `json:"line"`
	Duration time.Duration `json:"durationNs"`
}

// InputRecord is one input with the hash it had when the run passed.
type InputRecord struct {
	Kind   engine.InputKind `json:"kind"`
	Origin engine.Origin    `json:"origin"`
	// Path is root-relative when inside the root, else absolute; for a
	// glob the pattern; for a program not found, "PATH:name".
	Path string `json:"path,omitempty"`
	// Name is the variable (env) or the program name as run (exe).
	Name string `json:"name,omitempty"`
	Line int    `json:"line,omitempty"`
	Via  string `json:"via,omitempty"`
	// Hash is the content's SHA-256 (files, programs, depfiles), the
	// keyed hash of name and value (env), "absent", or for a directory or
	// glob the hash over its Matches.
	Hash string `json:"hash"`
	// Matches are a directory's files or a glob's matches, each hashed;
	// for a listing, the names the directory held (no hashes).
	Matches []MatchRecord `json:"matches,omitempty"`
	// Exclude holds a declared glob's exclusion patterns (root-relative
	// inside the root): its matches leave out what they match.
	Exclude []string `json:"exclude,omitempty"`
	// Ignore names, for a listing, the entries the run itself wrote:
	// outputs, left out of the listing when it is compared later.
	Ignore []string `json:"ignore,omitempty"`
}

// MatchRecord is one file of a directory or glob.
type MatchRecord struct {
	Path string `json:"path"`
	Hash string `json:"hash"`
}

// Display names the input the way reasons and listings do.
func (r InputRecord) Display() string {
	switch r.Kind {
	case engine.InputEnv:
		return "env " + r.Name
	case engine.InputExe:
		if name, ok := cutPathPrefix(r.Path); ok {
			return "exe " + name
		}
		return "exe " + r.Path
	case engine.InputGlob:
		if r.isListing() {
			return listingDisplay(r.Path)
		}
		return "glob " + r.Path
	case engine.InputDir:
		return "dir " + r.Path
	}
	return r.Path
}

func cutPathPrefix(p string) (string, bool) {
	if len(p) > len(pathPrefix) && p[:len(pathPrefix)] == pathPrefix {
		return p[len(pathPrefix):], true
	}
	return "", false
}

// setHash is the aggregate hash of a directory's or glob's matches.
func setHash(ms []MatchRecord) string {
	h := sha256.New()
	writeField(h, "cmdt match set v1")
	for _, m := range ms {
		writeField(h, m.Path)
		writeField(h, m.Hash)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// state fingerprints what a manifest was recorded against, so Record can
// replace a variant of the same state instead of keeping duplicates.
func (m *Manifest) state() string {
	h := sha256.New()
	writeField(h, m.Source)
	writeField(h, m.Version)
	writeField(h, m.EnvScheme)
	writeField(h, m.ObservedBy)
	writeField(h, string(m.EnvMode))
	for _, in := range m.Inputs {
		writeField(h, in.Kind.String())
		writeField(h, in.Path)
		writeField(h, in.Name)
		writeField(h, in.Hash)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DecodeEntry parses an entry as stored. Any damage is an error, which
// callers treat as a miss.
//
// Decoding is the bulk of an unchanged re-check: a go test transcript's
// entry lists thousands of toolchain files (1.1 MB). It uses
// segmentio/encoding/json, which decodes the same JSON into the same
// values about three times as fast as encoding/json. What it rejects is
// decoded again with encoding/json, which is laxer in places (timestamps
// such as "0000-01-01T0:00:00,0Z"): the entries accepted, and the values
// they decode to, are encoding/json's (FuzzDecodeEntry). Encoding stays
// with encoding/json, once per recorded run: segmentio has no omitzero.
func DecodeEntry(data []byte) (*Entry, error) {
	var e Entry
	if segjson.Unmarshal(data, &e) != nil {
		e = Entry{}
		if err := json.Unmarshal(data, &e); err != nil {
			return nil, fmt.Errorf("decode cache entry: %w", err)
		}
	}
	if e.Format != entryFormat {
		return nil, fmt.Errorf("decode cache entry: format %d, want %d", e.Format, entryFormat)
	}
	for _, m := range e.Manifests {
		if m == nil || m.Source == "" {
			return nil, fmt.Errorf("decode cache entry: incomplete manifest")
		}
	}
	return &e, nil
}

// Encode renders the entry for a store.
func (e *Entry) Encode() ([]byte, error) {
	e.Format = entryFormat
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode cache entry: %w", err)
	}
	return b, nil
}
