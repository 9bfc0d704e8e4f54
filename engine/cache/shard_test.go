package cache_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine/cache"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in           string
		index, total int
	}{{"1/1", 1, 1}, {"1/4", 1, 4}, {"4/4", 4, 4}, {" 2 / 3 ", 2, 3}} {
		i, n, err := cache.ParseShard(tc.in)
		if err != nil || i != tc.index || n != tc.total {
			t.Errorf("ParseShard(%q) = %d, %d, %v", tc.in, i, n, err)
		}
	}
	for _, bad := range []string{"", "1", "0/4", "5/4", "1/0", "-1/4", "a/b", "1/4/2", "1.5/4", "1/"} {
		if i, n, err := cache.ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) = %d, %d; want an error", bad, i, n)
		}
	}
}

// TestShardPartitionProperty: for random suites and shard counts, the
// shards partition the suite, do not depend on the input order, and are
// balanced.
func TestShardPartitionProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 300 {
		n := rng.IntN(200)
		total := 1 + rng.IntN(12)
		items := make([]cache.ShardItem, n)
		known := rng.IntN(3) // 0: none known, 1: some, 2: all
		for i := range items {
			items[i].Path = fmt.Sprintf("dir%d/t%03d.cmdt", rng.IntN(5), i)
			if known == 2 || known == 1 && rng.IntN(2) == 0 {
				items[i].Duration = time.Duration(1+rng.IntN(5000)) * time.Millisecond
			}
		}
		want := make([]string, n)
		for i, it := range items {
			want[i] = it.Path
		}
		shuffled := slices.Clone(items)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })

		owner := map[string]int{}
		var union []string
		var loads []time.Duration
		var counts []int
		for s := 1; s <= total; s++ {
			got := cache.Shard(items, s, total)
			// Independent of input order.
			other := cache.Shard(shuffled, s, total)
			if !sameSet(got, other) {
				t.Fatalf("iter %d: shard %d/%d depends on input order", iter, s, total)
			}
			// Deterministic.
			if again := cache.Shard(items, s, total); !slices.Equal(got, again) {
				t.Fatalf("iter %d: shard %d/%d not deterministic", iter, s, total)
			}
			var load time.Duration
			for _, p := range got {
				if prev, dup := owner[p]; dup {
					t.Fatalf("iter %d: %s in shards %d and %d", iter, p, prev, s)
				}
				owner[p] = s
				load += durationOf(items, p)
			}
			union = append(union, got...)
			loads = append(loads, load)
			counts = append(counts, len(got))
		}
		if !sameSet(union, want) {
			t.Fatalf("iter %d: union of %d shards has %d of %d items", iter, total, len(union), n)
		}
		switch known {
		case 0:
			// Counts differ by at most one.
			if slices.Max(counts)-slices.Min(counts) > 1 {
				t.Fatalf("iter %d: unknown durations, counts %v", iter, counts)
			}
		case 2:
			// LPT: no shard exceeds the average load by more than the
			// longest item (Graham's bound, in its simple form).
			var sum, longest time.Duration
			for _, it := range items {
				sum += it.Duration
				longest = max(longest, it.Duration)
			}
			if n > 0 && slices.Max(loads) > sum/time.Duration(total)+longest {
				t.Fatalf("iter %d: loads %v, sum %v, longest %v", iter, loads, sum, longest)
			}
		}
	}
}

func durationOf(items []cache.ShardItem, p string) time.Duration {
	for _, it := range items {
		if it.Path == p {
			return it.Duration
		}
	}
	return 0
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestShardBalancesByDuration(t *testing.T) {
	// One slow transcript and many quick ones: the slow one gets a shard
	// (nearly) to itself instead of a name-order share.
	items := []cache.ShardItem{{Path: "slow.cmdt", Duration: 60 * time.Second}}
	for i := range 12 {
		items = append(items, cache.ShardItem{Path: fmt.Sprintf("quick%02d.cmdt", i), Duration: 5 * time.Second})
	}
	var withSlow []string
	for s := 1; s <= 2; s++ {
		if got := cache.Shard(items, s, 2); slices.Contains(got, "slow.cmdt") {
			withSlow = got
		}
	}
	if len(withSlow) != 1 {
		t.Errorf("the shard with slow.cmdt = %v; want it alone (60s vs 12×5s)", withSlow)
	}
}

func TestShardKeepsInputOrderAndDedups(t *testing.T) {
	items := []cache.ShardItem{{Path: "c"}, {Path: "a"}, {Path: "b"}, {Path: "a", Duration: time.Second}}
	got := cache.Shard(items, 1, 1)
	if !slices.Equal(got, []string{"c", "a", "b"}) {
		t.Errorf("Shard(1/1) = %v; want input order, duplicates once", got)
	}
	if got := cache.Shard(nil, 1, 3); len(got) != 0 {
		t.Errorf("Shard(nil) = %v", got)
	}
}

func TestShardPanicsOnBadIndex(t *testing.T) {
	for _, c := range [][2]int{{0, 2}, {3, 2}, {1, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Shard(_, %d, %d) did not panic", c[0], c[1])
				}
			}()
			cache.Shard(nil, c[0], c[1])
		}()
	}
}

func TestShardPlanID(t *testing.T) {
	items := []cache.ShardItem{{Path: "a", Duration: 3 * time.Second}, {Path: "b", Duration: time.Second}, {Path: "c", Duration: time.Second}, {Path: "d"}}
	id := cache.ShardPlanID(items, 2)
	if len(id) != 12 {
		t.Fatalf("id = %q", id)
	}
	reversed := slices.Clone(items)
	slices.Reverse(reversed)
	if got := cache.ShardPlanID(reversed, 2); got != id {
		t.Errorf("order changed the plan id: %s vs %s", got, id)
	}
	if cache.ShardPlanID(items, 3) == id {
		t.Error("another shard count has the same plan id")
	}
	// A worker that saw other durations (one more known) has another plan.
	other := slices.Clone(items)
	other[3].Duration = 10 * time.Second
	if !slices.Equal(cache.Shard(items, 1, 2), cache.Shard(other, 1, 2)) && cache.ShardPlanID(other, 2) == id {
		t.Error("different assignments share a plan id")
	}
}
