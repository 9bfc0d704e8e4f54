package cache_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/internal/nginxtest"
)

// benchEntries is the suite size of the performance target.
const benchEntries = 1000

// seedNginx starts nginx and stores benchEntries manifest-sized entries.
func seedNginx(b *testing.B) (*nginxtest.Server, []string) {
	srv := nginxtest.StartTB(b)
	r := openRemote(b, srv.URL, cache.RemoteOptions{})
	keys := make([]string, benchEntries)
	data := strings.Repeat("m", 1450) // the average manifest of bench/remote
	for i := range keys {
		keys[i] = testKey(fmt.Sprint("bench ", i))
		if err := r.Put(context.Background(), keys[i], []byte(fmt.Sprint(i, data))); err != nil {
			b.Fatal(err)
		}
	}
	return srv, keys
}

// BenchmarkRemoteGetMany: one op = all 1,000 entries, pipelined.
func BenchmarkRemoteGetMany(b *testing.B) {
	srv, keys := seedNginx(b)
	r := openRemote(b, srv.URL, cache.RemoteOptions{})
	b.ResetTimer()
	for b.Loop() {
		got, err := r.GetMany(context.Background(), keys)
		if err != nil || len(got) != len(keys) {
			b.Fatalf("%d entries, %v", len(got), err)
		}
	}
}

// BenchmarkRemoteGetSequential: one op = all 1,000 entries, one Get after
// another.
func BenchmarkRemoteGetSequential(b *testing.B) {
	srv, keys := seedNginx(b)
	r := openRemote(b, srv.URL, cache.RemoteOptions{})
	b.ResetTimer()
	for b.Loop() {
		for _, k := range keys {
			if _, err := r.Get(context.Background(), k); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkTieredColdGetMany: one op = all 1,000 entries into an empty
// local store (fetch, verify, write back), as Prefetch does.
func BenchmarkTieredColdGetMany(b *testing.B) {
	srv, keys := seedNginx(b)
	for b.Loop() {
		b.StopTimer()
		s := cache.Tiered(newLocal(b), openRemote(b, srv.URL, cache.RemoteOptions{}), true, nil)
		b.StartTimer()
		got, err := s.(cache.BatchGetter).GetMany(context.Background(), keys)
		if err != nil || len(got) != len(keys) {
			b.Fatalf("%d entries, %v", len(got), err)
		}
	}
}

// BenchmarkTieredColdGetSequential: the same, one Get after another.
func BenchmarkTieredColdGetSequential(b *testing.B) {
	srv, keys := seedNginx(b)
	for b.Loop() {
		b.StopTimer()
		s := cache.Tiered(newLocal(b), openRemote(b, srv.URL, cache.RemoteOptions{}), true, nil)
		b.StartTimer()
		for _, k := range keys {
			if _, err := s.Get(context.Background(), k); err != nil {
				b.Fatal(err)
			}
		}
	}
}
