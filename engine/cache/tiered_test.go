package cache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/internal/nginxtest"
)

func newLocal(t testing.TB) *cache.Local {
	t.Helper()
	l, err := cache.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// countingStore counts the calls that reach a store, to see the circuit
// breaker keep requests away from a dead server. It wraps the real thing.
type countingStore struct {
	cache.Store
	gets, puts, batches atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *countingStore) Put(ctx context.Context, key string, data []byte) error {
	c.puts.Add(1)
	return c.Store.Put(ctx, key, data)
}

type countingBatchStore struct{ *countingStore }

func (c countingBatchStore) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	c.batches.Add(1)
	return c.Store.(cache.BatchGetter).GetMany(ctx, keys)
}

func stats(t *testing.T, s cache.Store) cache.TieredStats {
	t.Helper()
	st, ok := cache.TieredStatsOf(s)
	if !ok {
		t.Fatalf("%T is not a tiered store", s)
	}
	return st
}

// TestTieredNginxTwoMachines: what machine A uploads, machine B (another
// cache directory, empty) reads through, keeps locally, and then no longer
// needs the server for.
func TestTieredNginxTwoMachines(t *testing.T) {
	srv := nginxtest.StartTB(t)
	ctx := context.Background()
	var w warnings
	remoteA := openRemote(t, srv.URL, cache.RemoteOptions{Warn: w.add})
	remoteB := openRemote(t, srv.URL, cache.RemoteOptions{Warn: w.add})
	localA, localB := newLocal(t), newLocal(t)
	a := cache.Tiered(localA, remoteA, true, w.add)
	b := cache.Tiered(localB, remoteB, true, w.add)
	if _, ok := b.(cache.BatchGetter); !ok {
		t.Fatal("Tiered over a RemoteStore is not a BatchGetter")
	}

	entries := map[string][]byte{}
	var keys []string
	for i := range 20 {
		k := testKey(fmt.Sprint("machine ", i))
		keys = append(keys, k)
		entries[k] = []byte(fmt.Sprintf("manifest %d", i))
		if err := a.Put(ctx, k, entries[k]); err != nil {
			t.Fatal(err)
		}
	}
	if st := stats(t, a); st.Uploads != 20 {
		t.Errorf("A uploaded %d entries, want 20", st.Uploads)
	}
	// One through Get, the rest through GetMany.
	got, err := b.Get(ctx, keys[0])
	if err != nil || !bytes.Equal(got, entries[keys[0]]) {
		t.Fatalf("B Get = %q, %v", got, err)
	}
	many, err := b.(cache.BatchGetter).GetMany(ctx, append(keys, testKey("nobody has this")))
	if err != nil {
		t.Fatal(err)
	}
	if len(many) != 20 {
		t.Fatalf("B GetMany returned %d entries, want 20", len(many))
	}
	for k, v := range entries {
		if !bytes.Equal(many[k], v) {
			t.Errorf("B GetMany %s = %q, want %q", k[:8], many[k], v)
		}
		// Written back: B's own directory now has it.
		if lv, err := localB.Get(ctx, k); err != nil || !bytes.Equal(lv, v) {
			t.Errorf("B local %s = %q, %v; want the remote entry written back", k[:8], lv, err)
		}
	}
	st := stats(t, b)
	if st.RemoteHits != 20 || st.LocalHits != 1 || st.Misses != 1 || st.RemoteOff {
		t.Errorf("B stats = %+v; want 20 remote hits (1 Get + 19 batched), 1 local hit (keys[0] again), 1 miss", st)
	}
	// With the server gone, B still has everything.
	srv.Stop()
	many, err = b.(cache.BatchGetter).GetMany(ctx, keys)
	if err != nil || len(many) != 20 {
		t.Fatalf("B after the server stopped: %d entries, %v", len(many), err)
	}
	if ws := w.list(); len(ws) != 0 {
		t.Errorf("warnings: %v", ws)
	}
}

func TestTieredNginxUploadFalse(t *testing.T) {
	srv := nginxtest.StartTB(t)
	ctx := context.Background()
	remote := openRemote(t, srv.URL, cache.RemoteOptions{})
	local := newLocal(t)
	s := cache.Tiered(local, remote, false, nil)
	k := testKey("read-only consumer")
	if err := s.Put(ctx, k, []byte("local only")); err != nil {
		t.Fatal(err)
	}
	if got, err := local.Get(ctx, k); err != nil || string(got) != "local only" {
		t.Fatalf("local = %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(srv.Root, "ac")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("upload=false wrote to the server (stat ac: %v)", err)
	}
	// It still reads from the remote.
	k2 := testKey("uploaded by someone else")
	if err := remote.Put(ctx, k2, []byte("shared")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, k2); err != nil || string(got) != "shared" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

// TestTieredNginxStoppedMidSuite: the server dies halfway through a run.
// The rest of the run is local-only misses, with one warning, and the dead
// server is asked once, not once per transcript.
func TestTieredNginxStoppedMidSuite(t *testing.T) {
	srv := nginxtest.StartTB(t)
	ctx := context.Background()
	var w warnings
	rs := openRemote(t, srv.URL, cache.RemoteOptions{Timeout: 2 * time.Second, Warn: w.add})
	counted := &countingStore{Store: rs}
	remote := countingBatchStore{counted}
	// Machine A filled the server.
	for i := range 40 {
		if err := rs.Put(ctx, testKey(fmt.Sprint("suite ", i)), []byte(fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	s := cache.Tiered(newLocal(t), remote, true, w.add)
	for i := range 20 {
		if _, err := s.Get(ctx, testKey(fmt.Sprint("suite ", i))); err != nil {
			t.Fatalf("before the stop, entry %d: %v", i, err)
		}
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 20; i < 40; i++ {
		k := testKey(fmt.Sprint("suite ", i))
		if got, err := s.Get(ctx, k); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("entry %d after the stop = %q, %v; want a miss", i, got, err)
		}
		// Transcripts run and record their results: locally, without error.
		if err := s.Put(ctx, k, []byte("recorded locally")); err != nil {
			t.Fatalf("Put after the stop: %v", err)
		}
	}
	if got, err := s.(cache.BatchGetter).GetMany(ctx, []string{testKey("other")}); err != nil || len(got) != 0 {
		t.Fatalf("GetMany after the stop = %v, %v", got, err)
	}
	// Generous for a loaded machine: the call counts below are the proof.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("20 checks against a stopped server took %v", d)
	}
	if n := counted.gets.Load(); n != 21 {
		t.Errorf("remote Gets = %d, want 21 (20 before the stop, then one that tripped the breaker)", n)
	}
	if n := counted.puts.Load() + counted.batches.Load(); n != 0 {
		t.Errorf("the dead remote was asked %d more times", n)
	}
	ws := w.list()
	if len(ws) != 1 || !errors.Is(ws[0], cache.ErrRemoteUnavailable) {
		t.Fatalf("warnings = %v; want exactly one ErrRemoteUnavailable", ws)
	}
	t.Logf("the warning: %v", ws[0])
	if st := stats(t, s); !st.RemoteOff || st.RemoteHits != 20 || st.Misses != 21 {
		t.Errorf("stats = %+v", st)
	}
}

// slowServer answers after delay (or when the client gives up).
func slowServer(t *testing.T, delay time.Duration) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// TestTieredSlowServer: a server that hangs costs one timeout per run, for
// single Gets and for a batch alike.
func TestTieredSlowServer(t *testing.T) {
	srv, hits := slowServer(t, 5*time.Second)
	const timeout = 200 * time.Millisecond
	ctx := context.Background()

	t.Run("Get", func(t *testing.T) {
		var w warnings
		s := cache.Tiered(newLocal(t), openRemote(t, srv.URL, cache.RemoteOptions{Timeout: timeout}), true, w.add)
		start := time.Now()
		for i := range 50 {
			if _, err := s.Get(ctx, testKey(fmt.Sprint("slow ", i))); !errors.Is(err, cache.ErrNotFound) {
				t.Fatalf("Get %d: %v; want a miss", i, err)
			}
		}
		// Without the breaker: 50 timeouts, 10s.
		if d := time.Since(start); d < timeout || d > timeout+3*time.Second {
			t.Errorf("50 Gets took %v; want about one timeout (%v)", d, timeout)
		}
		if ws := w.list(); len(ws) != 1 || !errors.Is(ws[0], cache.ErrRemoteUnavailable) {
			t.Errorf("warnings = %v; want one", ws)
		} else {
			t.Logf("the warning: %v", ws[0])
		}
	})
	t.Run("GetMany", func(t *testing.T) {
		hits.Store(0)
		var w warnings
		s := cache.Tiered(newLocal(t), openRemote(t, srv.URL, cache.RemoteOptions{Timeout: timeout}), true, w.add)
		keys := make([]string, 1000)
		for i := range keys {
			keys[i] = testKey(fmt.Sprint("slow batch ", i))
		}
		start := time.Now()
		got, err := s.(cache.BatchGetter).GetMany(ctx, keys)
		if err != nil || len(got) != 0 {
			t.Fatalf("GetMany = %d entries, %v", len(got), err)
		}
		// Without stopping at the first timeout: 1000/32 timeouts, 6s.
		if d := time.Since(start); d > timeout+3*time.Second {
			t.Errorf("a batch of 1000 took %v; want about one timeout (%v)", d, timeout)
		}
		if n := hits.Load(); n > 2*cache.DefaultRemoteInFlight {
			t.Errorf("the server saw %d requests; the batch should stop after the first timeout", n)
		}
		if ws := w.list(); len(ws) != 1 {
			t.Errorf("warnings = %v; want one", ws)
		}
	})
}

func TestTieredDeadServer(t *testing.T) {
	// A port nobody listens on: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	var w warnings
	s := cache.Tiered(newLocal(t), openRemote(t, url, cache.RemoteOptions{}), true, w.add)
	ctx := context.Background()
	for i := range 10 {
		k := testKey(fmt.Sprint("dead ", i))
		if _, err := s.Get(ctx, k); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("Get: %v", err)
		}
		if err := s.Put(ctx, k, []byte("x")); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if got, err := s.Get(ctx, k); err != nil || string(got) != "x" {
			t.Fatalf("local Get after Put = %q, %v", got, err)
		}
	}
	if ws := w.list(); len(ws) != 1 {
		t.Errorf("warnings = %v; want one", ws)
	}
}

// TestTieredServerErrors: 5xx, 401/403 and garbage answers degrade to
// local, never return data that did not verify, and warn once.
func TestTieredServerErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) }},
		{"403", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "forbidden", 403) }},
		{"401", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "who are you", 401) }},
		{"garbage", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<html>hello</html>")) }},
		{"hangs up", func(w http.ResponseWriter, _ *http.Request) {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			var w warnings
			// As the CLI will wire it: one warn function for both layers.
			s := cache.Tiered(newLocal(t), openRemote(t, srv.URL, cache.RemoteOptions{Warn: w.add}), true, w.add)
			ctx := context.Background()
			keys := make([]string, 30)
			for i := range keys {
				keys[i] = testKey(fmt.Sprint(tc.name, i))
			}
			for _, k := range keys[:10] {
				if got, err := s.Get(ctx, k); !errors.Is(err, cache.ErrNotFound) {
					t.Fatalf("Get = %q, %v; want a miss", got, err)
				}
			}
			if got, err := s.(cache.BatchGetter).GetMany(ctx, keys[10:]); err != nil || len(got) != 0 {
				t.Fatalf("GetMany = %v, %v", got, err)
			}
			if err := s.Put(ctx, keys[0], []byte("x")); err != nil {
				t.Fatalf("Put: %v", err)
			}
			if ws := w.list(); len(ws) != 1 {
				t.Errorf("warnings = %v; want one", ws)
			} else {
				t.Logf("the warning: %v", ws[0])
			}
		})
	}
}

// TestTieredReadOnlyServer: a server that refuses uploads (403 on PUT)
// still serves reads; uploads stop after the first refusal.
func TestTieredReadOnlyServer(t *testing.T) {
	nginx := nginxtest.StartTB(t)
	ctx := context.Background()
	writer := openRemote(t, nginx.URL, cache.RemoteOptions{})
	shared := testKey("shared")
	if err := writer.Put(ctx, shared, []byte("from CI")); err != nil {
		t.Fatal(err)
	}
	// A server in front of nginx's directory that refuses PUT, as one with
	// read-only credentials would.
	var puts atomic.Int64
	ro := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			puts.Add(1)
			http.Error(w, "read-only token", http.StatusForbidden)
			return
		}
		http.FileServer(http.Dir(nginx.Root)).ServeHTTP(w, r)
	}))
	defer ro.Close()

	var w warnings
	s := cache.Tiered(newLocal(t), openRemote(t, ro.URL, cache.RemoteOptions{}), true, w.add)
	for i := range 5 {
		if err := s.Put(ctx, testKey(fmt.Sprint("mine ", i)), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Get(ctx, shared); err != nil || string(got) != "from CI" {
		t.Fatalf("Get after refused uploads = %q, %v; reads should still work", got, err)
	}
	if n := puts.Load(); n != 1 {
		t.Errorf("server saw %d PUTs; want uploads to stop after the first refusal", n)
	}
	ws := w.list()
	if len(ws) != 1 || !errors.Is(ws[0], cache.ErrRemoteReadOnly) {
		t.Fatalf("warnings = %v; want one ErrRemoteReadOnly", ws)
	}
	if st := stats(t, s); !st.UploadsOff || st.RemoteOff || st.RemoteHits != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// TestTieredCancelled: a cancelled run is not mistaken for a dead server.
func TestTieredCancelled(t *testing.T) {
	srv, _ := slowServer(t, 5*time.Second)
	var w warnings
	s := cache.Tiered(newLocal(t), openRemote(t, srv.URL, cache.RemoteOptions{Timeout: 10 * time.Second}), true, w.add)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	_, err := s.(cache.BatchGetter).GetMany(ctx, []string{testKey("c1"), testKey("c2")})
	wg.Wait()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("GetMany err = %v; want context.Canceled", err)
	}
	if _, err := s.Get(ctx, testKey("c3")); !errors.Is(err, context.Canceled) {
		t.Errorf("Get err = %v; want context.Canceled", err)
	}
	if st := stats(t, s); st.RemoteOff {
		t.Error("cancellation opened the circuit breaker")
	}
	if ws := w.list(); len(ws) != 0 {
		t.Errorf("warnings = %v", ws)
	}
}

func TestTieredNilRemote(t *testing.T) {
	l := newLocal(t)
	if s := cache.Tiered(l, nil, true, nil); s != cache.Store(l) {
		t.Errorf("Tiered(local, nil) = %T, want local itself", s)
	}
}

// TestTieredNginxAuthenticatedUploads: the docs' set-up where anyone reads
// and only CI, with a token from CMDT_REMOTE_CACHE_HEADERS, writes. A
// laptop without the token keeps reading after its first upload is
// refused.
func TestTieredNginxAuthenticatedUploads(t *testing.T) {
	srv := nginxtest.StartTBWith(t, nginxtest.Options{UploadUser: "ci", UploadPassword: "s3cret"})
	ctx := context.Background()

	t.Setenv(cache.EnvRemoteCacheHeaders, "Authorization: Basic Y2k6czNjcmV0") // ci:s3cret
	opts, err := cache.RemoteOptionsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	var wCI warnings
	ci := cache.Tiered(newLocal(t), openRemote(t, srv.URL, opts), true, wCI.add)
	k := testKey("from CI")
	if err := ci.Put(ctx, k, []byte("manifest")); err != nil {
		t.Fatal(err)
	}
	if st := stats(t, ci); st.Uploads != 1 || len(wCI.list()) != 0 {
		t.Fatalf("CI with the token: stats %+v, warnings %v", st, wCI.list())
	}

	var wLaptop warnings
	laptop := cache.Tiered(newLocal(t), openRemote(t, srv.URL, cache.RemoteOptions{}), true, wLaptop.add)
	if err := laptop.Put(ctx, testKey("laptop"), []byte("mine")); err != nil {
		t.Fatal(err)
	}
	if got, err := laptop.Get(ctx, k); err != nil || string(got) != "manifest" {
		t.Fatalf("laptop Get = %q, %v", got, err)
	}
	ws := wLaptop.list()
	if len(ws) != 1 || !errors.Is(ws[0], cache.ErrRemoteReadOnly) {
		t.Fatalf("laptop warnings = %v; want one ErrRemoteReadOnly", ws)
	}
	if _, err := os.Stat(filepath.Join(srv.Root, "ac", testKey("laptop"))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the anonymous upload landed: %v", err)
	}
}

// TestTieredInvalidKeyDoesNotTrip: a bad key in a batch is absent, not a
// server failure.
func TestTieredInvalidKeyDoesNotTrip(t *testing.T) {
	srv := nginxtest.StartTB(t)
	ctx := context.Background()
	rs := openRemote(t, srv.URL, cache.RemoteOptions{})
	k := testKey("good")
	if err := rs.Put(ctx, k, []byte("x")); err != nil {
		t.Fatal(err)
	}
	var w warnings
	s := cache.Tiered(newLocal(t), rs, true, w.add)
	got, err := s.(cache.BatchGetter).GetMany(ctx, []string{"../../etc/passwd", k, "ABC"})
	if err != nil || len(got) != 1 || string(got[k]) != "x" {
		t.Fatalf("GetMany = %v, %v", got, err)
	}
	if st := stats(t, s); st.RemoteOff || len(w.list()) != 0 {
		t.Errorf("stats %+v, warnings %v", st, w.list())
	}
}
