package cache

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ShardItem is one transcript to place in a shard.
type ShardItem struct {
	// Path identifies the transcript; use the same form (e.g. relative to
	// the module root, slash-separated) on every worker, since it decides
	// the order of unknown-duration items.
	Path string
	// Duration is the transcript's last recorded run time; 0 (or
	// negative) means unknown.
	Duration time.Duration
}

// ParseShard parses "i/n", a 1-based shard index i out of n shards
// (1 <= i <= n), as in a CI matrix: "1/4" … "4/4". The index stays
// 1-based: pass it to Shard unchanged.
func ParseShard(s string) (index, total int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, 0, fmt.Errorf("shard %q: want i/n, e.g. 1/4", s)
	}
	index, err1 := strconv.Atoi(strings.TrimSpace(a))
	total, err2 := strconv.Atoi(strings.TrimSpace(b))
	switch {
	case err1 != nil || err2 != nil:
		return 0, 0, fmt.Errorf("shard %q: want i/n with whole numbers, e.g. 1/4", s)
	case total < 1:
		return 0, 0, fmt.Errorf("shard %q: the number of shards must be at least 1", s)
	case index < 1 || index > total:
		return 0, 0, fmt.Errorf("shard %q: the index is 1-based and must be between 1 and %d", s, total)
	}
	return index, total, nil
}

// Shard returns the paths of shard index (1-based) out of total, in the
// order they appear in items. Every item lands in exactly one shard, so the
// union of shards 1..total is the whole set with no overlap; the result
// depends only on items (not on their order), so workers that are given the
// same items agree.
//
// Balance: items are placed longest first on the least-loaded shard
// (Graham's LPT rule, within 4/3 of the best makespan). An item of unknown
// duration counts as the mean known duration (or 1 when none is known), so
// with no durations at all the shards get equal counts; ties are broken by
// a hash of the path, which spreads a directory's transcripts over the
// shards instead of giving one shard a whole directory.
//
// Caution for CI: all workers must see the same durations. Durations read
// from a cache that another shard is updating while this one starts can
// differ, and then the shards no longer partition the suite. Feed Shard
// from a snapshot every worker shares (a restored cache, a committed
// timings file), or pass zero durations.
//
// Duplicate paths count once (with the largest duration). Shard panics
// when index is not in 1..total, which ParseShard guarantees.
func Shard(items []ShardItem, index, total int) []string {
	if total < 1 || index < 1 || index > total {
		panic(fmt.Sprintf("cache.Shard: index %d out of 1..%d", index, total))
	}
	assign := shardAssign(items, total)
	var out []string
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if seen[it.Path] {
			continue
		}
		seen[it.Path] = true
		if assign[it.Path] == index-1 {
			out = append(out, it.Path)
		}
	}
	return out
}

// shardAssign maps each distinct path to a 0-based shard.
func shardAssign(items []ShardItem, total int) map[string]int {
	type entry struct {
		path   string
		weight time.Duration
		hash   uint64
	}
	dur := make(map[string]time.Duration, len(items))
	for _, it := range items {
		d := max(it.Duration, 0)
		if old, ok := dur[it.Path]; !ok || d > old {
			dur[it.Path] = d
		}
	}
	var known time.Duration
	var nKnown int64
	for _, d := range dur {
		if d > 0 {
			known += d
			nKnown++
		}
	}
	estimate := time.Duration(1)
	if nKnown > 0 {
		estimate = max(known/time.Duration(nKnown), 1)
	}
	entries := make([]entry, 0, len(dur))
	for p, d := range dur {
		if d <= 0 {
			d = estimate
		}
		sum := sha256.Sum256([]byte(p))
		entries = append(entries, entry{p, d, binary.BigEndian.Uint64(sum[:8])})
	}
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.weight != b.weight {
			return a.weight > b.weight
		}
		if a.hash != b.hash {
			return a.hash < b.hash
		}
		return a.path < b.path
	})
	load := make([]time.Duration, total)
	assign := make(map[string]int, len(entries))
	for _, e := range entries {
		// Least-loaded shard, lowest index on ties: with equal weights
		// this is round-robin in hash order.
		best := 0
		for s := 1; s < total; s++ {
			if load[s] < load[best] {
				best = s
			}
		}
		load[best] += e.weight
		assign[e.path] = best
	}
	return assign
}

// ShardPlanID returns a short fingerprint of the whole assignment of items
// to total shards. Workers that print it (e.g. "shard 2/4, plan 3f9a…")
// can be checked to agree: equal IDs mean the shards partition the suite;
// different ones mean they were given different inputs (see Shard).
func ShardPlanID(items []ShardItem, total int) string {
	assign := shardAssign(items, total)
	paths := make([]string, 0, len(assign))
	for p := range assign {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	fmt.Fprintf(h, "cmdt shard plan v1\x00%d\x00", total)
	for _, p := range paths {
		fmt.Fprintf(h, "%d\x00%s\x00", assign[p], p)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// RecordedDurations returns, for each target, the run time recorded in
// the newest manifest of its entry in store (0 when unknown: no entry, a
// failure mark, an unreadable entry). store nil means c's store.
//
// For CI shards, pass the local store (not a Tiered one): every worker
// then sees the same snapshot, the cache restored at job start (or none),
// rather than a remote that shards finishing earlier are updating, which
// would make the workers disagree on the plan.
func RecordedDurations(ctx context.Context, c *Cache, store Store, targets []Target) ([]time.Duration, error) {
	if store == nil {
		store = c.Store()
	}
	out := make([]time.Duration, len(targets))
	keys := make([]string, len(targets))
	for i, t := range targets {
		if k, err := c.Key(t); err == nil {
			keys[i] = k
		}
	}
	var batch map[string][]byte
	if b, ok := store.(BatchGetter); ok {
		var want []string
		for _, k := range keys {
			if k != "" {
				want = append(want, k)
			}
		}
		batch, _ = b.GetMany(ctx, want)
	}
	for i, k := range keys {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("recorded durations: %w", err)
		}
		if k == "" {
			continue
		}
		data, ok := batch[k]
		if batch == nil {
			var err error
			if data, err = store.Get(ctx, k); err != nil {
				continue
			}
			ok = true
		}
		if !ok {
			continue
		}
		if e, err := DecodeEntry(data); err == nil && len(e.Manifests) > 0 {
			out[i] = max(e.Manifests[0].Duration, 0)
		}
	}
	return out, nil
}
