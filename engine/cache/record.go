package cache

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
)

// changedSince reports whether a file's stat says it may have changed at
// or after since, a reading of the clock file times come from
// (engine.Result.FSStart): a change time equal to it may be just after it
// within one tick of that clock, so it counts. A file system that keeps
// whole seconds only (both times without nanoseconds: ext3, FAT at 2 s)
// gets the memo's racy window on top.
func changedSince(st fileStat, since int64) bool {
	if st.mtime%1e9 == 0 && st.ctime%1e9 == 0 {
		since -= int64(racyWindow)
	}
	return max(st.mtime, st.ctime) >= since
}

// runSince returns the reading of the file-time clock that an input
// changed during res's run is stamped at or after: FSStart, else (a Result
// made elsewhere) Start moved back by the tick that clock lags behind.
func runSince(res *engine.Result) int64 {
	if !res.FSStart.IsZero() {
		return res.FSStart.UnixNano()
	}
	start := res.Start
	if start.IsZero() { // a Result not made by engine.Run
		start = time.Now().Add(-res.Duration)
	}
	return start.UnixNano() - int64(clockTick)
}

// Record remembers a run's result for t. Only a passing result is
// cached: a failure replaces the entry with a failure mark, so nothing is
// reported fresh until a run passes again.
//
// Inputs are hashed now, after the run. An input whose change time falls
// inside the run may have been read in another version than the one
// hashed, so such a result is not cached: Record returns an error
// wrapping ErrNotRecorded naming the inputs, and the entry is left as it
// was (any older manifest there still describes other content, so it
// stays stale). Record must be given the environment the run used; it
// may be called any time after the run, since a change after the run's
// start is caught the same way.
func (c *Cache) Record(ctx context.Context, t Target, res *engine.Result) error {
	t, err := c.normalize(t)
	if err != nil {
		return err
	}
	id := c.identityOf(t)
	key := id.key()
	if !res.Passed() {
		e := &Entry{FailedAt: time.Now().UTC()}
		return c.putEntry(ctx, key, e)
	}
	if res.File != nil && len(res.Commands) < len(res.File.Blocks) {
		// A cancelled run: what did not run cannot have passed.
		return fmt.Errorf("cache: %s: %w: the run did not finish", id.transcript, ErrNotRecorded)
	}
	m, why, err := c.manifest(ctx, t, id, res, runSince(res))
	if err != nil {
		return err
	}
	if len(res.Doubts) > 0 {
		// The inputs may be incomplete: a hit could be false.
		why = strings.Join(res.Doubts, "; ")
	}
	defer c.memo.flush()
	old, err := c.getEntry(ctx, key)
	if err != nil {
		return err
	}
	if why != "" {
		// Keep the older manifests (they describe other content, so they
		// stay stale) and say why this pass was not kept.
		e := &Entry{NotCached: why, NotCachedAt: time.Now().UTC()}
		if old != nil {
			e.Manifests = old.Manifests
		}
		if err := c.putEntry(ctx, key, e); err != nil {
			return err
		}
		return &NotRecordedError{Transcript: id.transcript, Reason: why}
	}
	e := &Entry{Manifests: []*Manifest{m}}
	if old != nil {
		state := m.state()
		for _, o := range old.Manifests {
			if len(e.Manifests) == maxVariants {
				break
			}
			if o.Version == m.Version && o.state() != state {
				e.Manifests = append(e.Manifests, o)
			}
		}
	}
	return c.putEntry(ctx, key, e)
}

func (c *Cache) putEntry(ctx context.Context, key string, e *Entry) error {
	data, err := e.Encode()
	if err != nil {
		return err
	}
	if err := c.store.Put(ctx, key, data); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

// manifest builds the manifest of a passing run, hashing every input.
// why is set when the result cannot be trusted: it names the inputs that
// changed while the run was going on, or could not be read.
func (c *Cache) manifest(ctx context.Context, t Target, id identity, res *engine.Result, since int64) (m *Manifest, why string, err error) {
	src := t.Source
	if res.File != nil {
		src = res.File.Bytes() // exactly the text that ran
	}
	m = &Manifest{
		Project:    id.project,
		Transcript: id.transcript,
		Dir:        id.dir,
		Source:     hashBytes(src),
		Version:    engine.Version,
		EnvScheme:  envScheme(c.envKey),
		ObservedBy: res.ObservedBy,
		EnvMode:    t.EnvMode,
		RecordedAt: time.Now().UTC(),
		Duration:   res.Duration,
	}
	for _, cr := range res.Commands {
		line := 0
		if cr.Block != nil && cr.Block.Command != nil {
			line = cr.Block.Command.Num
		}
		m.Commands = append(m.Commands, CommandTiming{Line: line, Duration: cr.Duration})
	}
	if m.ObservedBy == "" {
		m.ObservedBy = engine.Untraced
	}
	ev := c.newEvaluator(t, m.Source)
	ev.attrs = res.AttrChanges
	var moved, unreadable []string
	for _, in := range res.Inputs() {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		rec, changed, err := ev.record(in, since, res.Outputs)
		if err != nil {
			// An input that cannot be read now (permissions changed,
			// gone mid-run) cannot be verified later either.
			unreadable = append(unreadable, err.Error())
			continue
		}
		if changed {
			moved = append(moved, rec.Display())
		}
		m.Inputs = append(m.Inputs, rec)
	}
	if t.EnvMode == engine.EnvInherit {
		m.Inputs = append(m.Inputs, c.envSetRecord(t.Env))
	}
	switch {
	case len(unreadable) > 0:
		why = "cannot read " + joinFew(unreadable)
	case len(moved) > 0:
		why = joinFew(moved) + " changed during the run"
	}
	return m, why, nil
}

// joinFew joins up to three items and counts the rest.
func joinFew(items []string) string {
	if len(items) <= 3 {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:3], ", "), len(items)-3)
}

// record hashes one input as it is now. changed reports evidence that it
// is not what the run saw: a change time inside the run, or an existence
// (or match set) differing from what the engine observed.
func (ev *evaluator) record(in engine.Input, since int64, outputs []string) (rec InputRecord, changed bool, err error) {
	rec = InputRecord{Kind: in.Kind, Origin: in.Origin, Name: in.Name, Line: in.Line}
	if in.Via != "" {
		rec.Via = relPath(ev.t.Root, in.Via)
	}
	if in.Kind != engine.InputEnv {
		rec.Path = relPath(ev.t.Root, in.Path)
	}
	switch in.Kind {
	case engine.InputEnv:
		v, set := lookupEnv(ev.t.Env, in.Name)
		rec.Hash = hashEnv(ev.c.envKey, in.Name, v, set)
		return rec, set != in.Exists, nil
	case engine.InputDir, engine.InputGlob:
		if in.IsListing() {
			rec, changed = ev.recordListing(rec, in, outputs)
			return rec, changed, nil
		}
		var now []string
		for _, x := range in.Exclude {
			rec.Exclude = append(rec.Exclude, relPath(ev.t.Root, x))
		}
		if in.Kind == engine.InputGlob {
			ms, _, err := ev.matchSet(in.Kind, in.Path, in.Exclude...)
			if err != nil {
				return rec, false, err
			}
			for _, m := range ms {
				now = append(now, m.Path)
			}
			rec.Matches = ms
		} else {
			ms, h, err := ev.matchSet(in.Kind, in.Path)
			if err != nil {
				return rec, false, err
			}
			if ms == nil { // no longer a directory
				rec.Hash = h
				return rec, true, nil
			}
			for _, m := range ms {
				now = append(now, m.Path)
			}
			rec.Matches = ms
		}
		rec.Hash = setHash(rec.Matches)
		changed = len(now) != len(in.Matches)
		for i := 0; !changed && i < len(now); i++ {
			changed = now[i] != relPath(ev.t.Root, in.Matches[i])
		}
		for _, m := range rec.Matches {
			if changed {
				break
			}
			h := ev.files[absPath(ev.t.Root, m.Path)]
			changed = changedSince(h.st, since) && !ev.onlyRetimed(h.st, since)
		}
		return rec, changed, nil
	case engine.InputExe:
		if _, missing := cutPathPrefix(in.Path); missing {
			rec.Hash = hashAbsent
			return rec, false, nil
		}
	}
	h, err := ev.hashObserved(in.Path, in.Origin)
	if err != nil {
		return rec, false, err
	}
	rec.Hash = h.hash
	exists := h.hash != hashAbsent
	if h.hash == hashIsDir {
		return rec, !in.Exists, nil // what it holds is no input (hashObserved)
	}
	return rec, exists != in.Exists || (changedSince(h.st, since) && !ev.onlyRetimed(h.st, since)), nil
}
