package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// TieredStats counts what a tiered store did, for the CLI's summary.
type TieredStats struct {
	LocalHits  int64 // entries found in the local store
	RemoteHits int64 // entries fetched from the remote (and written back)
	Misses     int64 // entries found in neither (or the remote was off)
	Uploads    int64 // entries written to the remote
	// RemoteOff is set once the remote failed and was switched off for the
	// rest of the run; UploadsOff once it refused an upload.
	RemoteOff  bool
	UploadsOff bool
}

// TieredStore layers a local store over a remote one. It is returned by
// Tiered as a Store (with GetMany when the remote has it).
type TieredStore struct {
	local, remote Store
	upload        bool
	warn          func(error)

	warnOnce      sync.Once
	localWarnOnce sync.Once
	// The circuit breaker: once the remote has failed, it is not asked
	// again, so a dead or hung server costs one timeout per run instead of
	// one per transcript.
	readOff, writeOff atomic.Bool

	localHits, remoteHits, misses, uploads atomic.Int64
}

// tieredBatch is a TieredStore over a remote that is a BatchGetter.
type tieredBatch struct{ *TieredStore }

// Tiered returns a store that reads through local to remote and writes
// back to both:
//
//   - Get tries local first, then remote; a remote hit (already verified
//     by the remote store) is written to local, so the next run needs no
//     network.
//   - Put writes local, then remote when upload is set
//     (--remote-upload=false makes a read-only consumer).
//   - A remote that is down, slow, refuses us or fails is a miss, never an
//     error: the run goes on with the local store, warn is called once
//     (per returned store, i.e. per process), and the remote is not asked
//     again. A refused upload (403, 405) only stops uploads.
//
// The result implements BatchGetter when remote does. A nil remote returns
// local itself. warn may be nil.
func Tiered(local, remote Store, upload bool, warn func(error)) Store {
	if remote == nil {
		return local
	}
	if warn == nil {
		warn = func(error) {}
	}
	t := &TieredStore{local: local, remote: remote, upload: upload, warn: warn}
	if _, ok := remote.(BatchGetter); ok {
		return tieredBatch{t}
	}
	return t
}

// TieredStatsOf returns the statistics of a store made by Tiered; ok is
// false for any other store.
func TieredStatsOf(s Store) (stats TieredStats, ok bool) {
	var t *TieredStore
	switch s := s.(type) {
	case *TieredStore:
		t = s
	case tieredBatch:
		t = s.TieredStore
	default:
		return TieredStats{}, false
	}
	return t.Stats(), true
}

// Stats returns the counts so far.
func (t *TieredStore) Stats() TieredStats {
	return TieredStats{
		LocalHits:  t.localHits.Load(),
		RemoteHits: t.remoteHits.Load(),
		Misses:     t.misses.Load(),
		Uploads:    t.uploads.Load(),
		RemoteOff:  t.readOff.Load(),
		UploadsOff: t.writeOff.Load(),
	}
}

// Get returns the entry from local, else from remote, else ErrNotFound.
// Errors come only from the local store or a cancelled ctx.
func (t *TieredStore) Get(ctx context.Context, key string) ([]byte, error) {
	data, err := t.local.Get(ctx, key)
	if err == nil {
		t.localHits.Add(1)
		return data, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if t.readOff.Load() {
		t.misses.Add(1)
		return nil, ErrNotFound
	}
	data, err = t.remote.Get(ctx, key)
	switch {
	case err == nil:
		t.remoteHits.Add(1)
		t.writeBack(ctx, key, data)
		return data, nil
	case errors.Is(err, ErrNotFound):
	case ctx.Err() != nil:
		return nil, fmt.Errorf("remote cache: %w", context.Cause(ctx))
	default:
		t.trip(err)
	}
	t.misses.Add(1)
	return nil, ErrNotFound
}

// GetMany returns what local holds of keys, and fetches the rest from the
// remote in one pipelined batch. Keys that local cannot read (an I/O
// error) are fetched from the remote like missing ones. The error is only
// for a cancelled ctx: a failing remote yields the local results.
func (t tieredBatch) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := t.localMany(ctx, keys)
	t.localHits.Add(int64(len(out)))
	var missing []string
	for _, k := range keys {
		if _, ok := out[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	if t.readOff.Load() {
		t.misses.Add(int64(len(missing)))
		return out, nil
	}
	got, err := t.remote.(BatchGetter).GetMany(ctx, missing)
	if err != nil {
		if ctx.Err() != nil {
			return out, fmt.Errorf("remote cache: %w", context.Cause(ctx))
		}
		t.trip(err)
	}
	t.remoteHits.Add(int64(len(got)))
	t.misses.Add(int64(len(missing) - len(got)))
	t.writeBackMany(ctx, got)
	for k, v := range got {
		out[k] = v
	}
	return out, nil
}

// localMany reads keys from local, batched when local can batch.
func (t *TieredStore) localMany(ctx context.Context, keys []string) map[string][]byte {
	if b, ok := t.local.(BatchGetter); ok {
		if got, err := b.GetMany(ctx, keys); err == nil {
			return got
		}
		// A failed local batch: fall back to one Get per key.
	}
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if data, err := t.local.Get(ctx, k); err == nil {
			out[k] = data
		}
	}
	return out
}

// Put writes local, then (when uploading and the remote is healthy) the
// remote. Only a local failure is an error; a remote one degrades.
func (t *TieredStore) Put(ctx context.Context, key string, data []byte) error {
	if err := t.local.Put(ctx, key, data); err != nil {
		return err
	}
	if !t.upload || t.readOff.Load() || t.writeOff.Load() {
		return nil
	}
	err := t.remote.Put(ctx, key, data)
	switch {
	case err == nil:
		t.uploads.Add(1)
	case ctx.Err() != nil:
		// Cancelled by the caller: the local write stands.
	case errors.Is(err, ErrRemoteReadOnly):
		if !t.writeOff.Swap(true) {
			t.warnOnce.Do(func() {
				t.warn(fmt.Errorf("%w; not uploading to the remote cache for the rest of this run (--remote-upload=false silences this)", err))
			})
		}
	default:
		t.trip(err)
	}
	return nil
}

// trip opens the circuit breaker and warns, once.
func (t *TieredStore) trip(err error) {
	t.readOff.Store(true)
	t.writeOff.Store(true)
	t.warnOnce.Do(func() {
		t.warn(fmt.Errorf("%w; using the local cache only for the rest of this run", err))
	})
}

// writeBack stores a remote hit locally. A local failure costs only the
// next run a download, so it is reported (once) but not returned.
func (t *TieredStore) writeBack(ctx context.Context, key string, data []byte) {
	if err := t.local.Put(ctx, key, data); err != nil {
		t.localWarnOnce.Do(func() {
			t.warn(fmt.Errorf("cache: keeping a remote entry locally: %w", err))
		})
	}
}

// writeBackMany writes a batch of remote hits locally, a few at a time:
// each is a small file written and renamed, so a little concurrency hides
// the file-system latency without contending for the disk.
func (t *TieredStore) writeBackMany(ctx context.Context, got map[string][]byte) {
	const workers = 4
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(workers, len(got)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				t.writeBack(ctx, k, got[k])
			}
		}()
	}
	for k := range got {
		work <- k
	}
	close(work)
	wg.Wait()
}

// Prefetch fetches the entries of targets in one batch when c's store can
// batch (a Tiered store over a remote), so the Lookups that follow read
// them from the local tier instead of making two round trips each, one
// transcript after another. It returns how many entries were found; a
// store that cannot batch makes it a no-op. Only a cancelled ctx is an
// error: targets whose key cannot be computed are skipped (their Lookup
// reports the problem), and remote failures are the store's to degrade.
func Prefetch(ctx context.Context, c *Cache, targets []Target) (int, error) {
	b, ok := c.Store().(BatchGetter)
	if !ok || len(targets) == 0 {
		return 0, nil
	}
	keys := make([]string, 0, len(targets))
	seen := make(map[string]bool, len(targets))
	for _, t := range targets {
		k, err := c.Key(t)
		if err != nil || seen[k] {
			continue
		}
		seen[k] = true
		keys = append(keys, k)
	}
	got, err := b.GetMany(ctx, keys)
	if err != nil {
		if ctx.Err() != nil {
			return len(got), fmt.Errorf("cache prefetch: %w", context.Cause(ctx))
		}
		// A store that is not Tiered may fail a batch; Lookup will ask
		// again one by one.
		return len(got), nil
	}
	return len(got), nil
}
