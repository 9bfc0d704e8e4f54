package cache_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/internal/nginxtest"
)

// testKey returns a valid store key derived from s.
func testKey(s string) string {
	sum := sha256.Sum256([]byte("key:" + s))
	return hex.EncodeToString(sum[:])
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// warnings collects warnings safely from many goroutines.
type warnings struct {
	mu   sync.Mutex
	errs []error
}

func (w *warnings) add(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs = append(w.errs, err)
}

func (w *warnings) list() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]error(nil), w.errs...)
}

func openRemote(t testing.TB, url string, opts cache.RemoteOptions) *cache.RemoteStore {
	t.Helper()
	r, err := cache.OpenRemote(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// httpPut stores raw bytes on the server, bypassing RemoteStore: a forger.
func httpPut(t testing.TB, url string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT %s: %s", url, resp.Status)
	}
}

func TestRemoteNginxRoundTrip(t *testing.T) {
	srv := nginxtest.StartTB(t)
	ctx := context.Background()
	r := openRemote(t, srv.URL, cache.RemoteOptions{})

	key := testKey("round trip")
	if _, err := r.Get(ctx, key); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("Get before Put: err = %v, want ErrNotFound", err)
	}
	if ok, err := r.Contains(ctx, key); err != nil || ok {
		t.Fatalf("Contains before Put = %v, %v; want false, nil", ok, err)
	}
	data := []byte(`{"manifest":"hello"}` + "\n")
	if err := r.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
	got, err := r.Get(ctx, key)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get = %q, %v; want %q", got, err, data)
	}
	if ok, err := r.Contains(ctx, key); err != nil || !ok {
		t.Fatalf("Contains after Put = %v, %v; want true, nil", ok, err)
	}
	// The layout is Bazel's: the blob under /cas/<sha256>, a record under /ac/<key>.
	blob, err := os.ReadFile(filepath.Join(srv.Root, "cas", digestOf(data)))
	if err != nil || !bytes.Equal(blob, data) {
		t.Fatalf("CAS object on disk = %q, %v", blob, err)
	}
	rec, err := os.ReadFile(filepath.Join(srv.Root, "ac", key))
	if err != nil || !bytes.Contains(rec, []byte(digestOf(data))) {
		t.Fatalf("AC record on disk = %q, %v; want it to name the digest", rec, err)
	}
	// Overwriting an entry is allowed: the last writer wins.
	data2 := []byte("second version")
	if err := r.Put(ctx, key, data2); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Get(ctx, key); err != nil || !bytes.Equal(got, data2) {
		t.Fatalf("Get after overwrite = %q, %v", got, err)
	}
	// An empty entry round-trips too.
	if err := r.Put(ctx, testKey("empty"), nil); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Get(ctx, testKey("empty")); err != nil || len(got) != 0 {
		t.Fatalf("Get empty = %q, %v", got, err)
	}
}

func TestRemoteNginxPathPrefix(t *testing.T) {
	srv := nginxtest.StartTB(t)
	ctx := context.Background()
	r := openRemote(t, srv.URL+"/team/cmdt/", cache.RemoteOptions{})
	key := testKey("prefixed")
	if err := r.Put(ctx, key, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(srv.Root, "team", "cmdt", "ac", key)); err != nil {
		t.Fatalf("record not under the prefix: %v", err)
	}
	if got, err := r.Get(ctx, key); err != nil || string(got) != "x" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

// TestRemoteNginxPoisoned shows that content that does not match its hash
// never comes back: it is a miss plus one warning.
func TestRemoteNginxPoisoned(t *testing.T) {
	srv := nginxtest.StartTB(t)
	ctx := context.Background()
	var w warnings
	r := openRemote(t, srv.URL, cache.RemoteOptions{Warn: w.add})

	honest := []byte(`{"result":"pass","inputs":["a"]}`)
	key := testKey("poison-cas")
	if err := r.Put(ctx, key, honest); err != nil {
		t.Fatal(err)
	}

	t.Run("CAS overwritten on disk", func(t *testing.T) {
		// Same length, different bytes: only the hash can tell.
		evil := bytes.Replace(honest, []byte("pass"), []byte("PASS"), 1)
		if err := os.WriteFile(filepath.Join(srv.Root, "cas", digestOf(honest)), evil, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := r.Get(ctx, key); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("Get of a poisoned entry = %q, %v; want ErrNotFound", got, err)
		}
		ws := w.list()
		if len(ws) != 1 || !strings.Contains(ws[0].Error(), "does not match its digest") {
			t.Fatalf("warnings = %v; want one about the digest", ws)
		}
	})

	forged := map[string]func() []byte{
		// A record naming a real blob with a wrong size.
		"wrong size": func() []byte {
			d := []byte("forged content")
			httpPut(t, srv.URL+"/cas/"+digestOf(d), d)
			return recordBytes(digestOf(d), int64(len(d))+5)
		},
		// A record naming a digest whose object holds other content.
		"digest of other content": func() []byte {
			d := []byte("claimed content")
			httpPut(t, srv.URL+"/cas/"+digestOf(d), []byte("served content!"))
			return recordBytes(digestOf(d), int64(len("served content!")))
		},
		// Not a record at all: an HTML error page a proxy might serve with 200.
		"garbage": func() []byte { return []byte("<html><body>Welcome to nginx!</body></html>") },
		// A record whose digest would make a path of its own.
		"path in digest": func() []byte { return recordBytes("../ac/"+strings.Repeat("a", 58), 3) },
		// Upper-case hex is not what we write: reject rather than normalise.
		"uppercase digest": func() []byte { return recordBytes(strings.ToUpper(digestOf(honest)), int64(len(honest))) },
		"empty":            func() []byte { return nil },
		"truncated":        func() []byte { r := recordBytes(digestOf(honest), int64(len(honest))); return r[:len(r)-3] },
	}
	for name, mk := range forged {
		t.Run("forged AC record: "+name, func(t *testing.T) {
			k := testKey("forged " + name)
			httpPut(t, srv.URL+"/ac/"+k, mk())
			if got, err := r.Get(ctx, k); !errors.Is(err, cache.ErrNotFound) {
				t.Fatalf("Get = %q, %v; want ErrNotFound", got, err)
			}
			got, err := r.GetMany(ctx, []string{k})
			if err != nil || len(got) != 0 {
				t.Fatalf("GetMany = %v, %v; want nothing, no error", got, err)
			}
		})
	}
	// Only the first integrity problem of a store is reported.
	if ws := w.list(); len(ws) != 1 {
		t.Errorf("got %d warnings, want 1: %v", len(ws), ws)
	}
}

// recordBytes builds an AC record the way a forger (or another client)
// would: the ActionResult encoding with one "cmdt-manifest" output.
func recordBytes(digest string, size int64) []byte {
	lenField := func(field int, v []byte) []byte {
		return append(append([]byte{byte(field<<3 | 2)}, uvarint(uint64(len(v)))...), v...)
	}
	d := append(lenField(1, []byte(digest)), append([]byte{2 << 3}, uvarint(uint64(size))...)...)
	of := append(lenField(1, []byte("cmdt-manifest")), lenField(2, d)...)
	return lenField(2, of)
}

func uvarint(v uint64) []byte {
	var b []byte
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func TestRemoteNginxMissingBlob(t *testing.T) {
	srv := nginxtest.StartTB(t)
	ctx := context.Background()
	var w warnings
	r := openRemote(t, srv.URL, cache.RemoteOptions{Warn: w.add})
	key := testKey("evicted")
	data := []byte("blob that a server evicted")
	if err := r.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(srv.Root, "cas", digestOf(data))); err != nil {
		t.Fatal(err)
	}
	// A record whose blob was evicted is a plain miss: servers do that.
	if _, err := r.Get(ctx, key); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if ws := w.list(); len(ws) != 0 {
		t.Errorf("an evicted blob warned: %v", ws)
	}
}

func TestRemoteNginxGetMany(t *testing.T) {
	srv := nginxtest.StartTB(t)
	ctx := context.Background()
	r := openRemote(t, srv.URL, cache.RemoteOptions{MaxInFlight: 8})
	want := map[string][]byte{}
	var keys []string
	for i := range 100 {
		k := testKey(fmt.Sprint("many ", i))
		keys = append(keys, k)
		if i%3 == 0 {
			continue // a miss
		}
		want[k] = []byte(fmt.Sprintf("entry %d %s", i, strings.Repeat("x", i)))
		if err := r.Put(ctx, k, want[k]); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.GetMany(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for k, v := range want {
		if !bytes.Equal(got[k], v) {
			t.Errorf("%s: got %q, want %q", k[:8], got[k], v)
		}
	}
}

func TestRemoteInvalidKey(t *testing.T) {
	r := openRemote(t, "http://127.0.0.1:1", cache.RemoteOptions{})
	ctx := context.Background()
	for _, k := range []string{"", "../../etc/passwd", strings.Repeat("A", 64), strings.Repeat("a", 63)} {
		if _, err := r.Get(ctx, k); err == nil || errors.Is(err, cache.ErrRemoteUnavailable) {
			t.Errorf("Get(%q) err = %v; want a key error before any request", k, err)
		}
		if err := r.Put(ctx, k, nil); err == nil || errors.Is(err, cache.ErrRemoteUnavailable) {
			t.Errorf("Put(%q) err = %v; want a key error before any request", k, err)
		}
	}
}

func TestOpenRemoteURL(t *testing.T) {
	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://host/", "http://", "http://h/?a=b", "://x"} {
		if _, err := cache.OpenRemote(bad, cache.RemoteOptions{}); err == nil {
			t.Errorf("OpenRemote(%q) succeeded", bad)
		}
	}
	r, err := cache.OpenRemote("https://user:secret@cache.example:9090/p/", cache.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := r.URL(); strings.Contains(u, "secret") || !strings.HasSuffix(u, "cache.example:9090/p") {
		t.Errorf("URL() = %q; want the password redacted, no trailing slash", u)
	}
}

func TestParseRemoteHeaders(t *testing.T) {
	h, err := cache.ParseRemoteHeaders("Authorization: Bearer xyz\nX-Team: a, b,X-Other:  1 \r\n\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("Authorization"); got != "Bearer xyz" {
		t.Errorf("Authorization = %q", got)
	}
	if got := h.Get("X-Team"); got != "a, b" {
		t.Errorf("X-Team = %q; a comma not followed by Name: stays in the value", got)
	}
	if got := h.Get("X-Other"); got != "1" {
		t.Errorf("X-Other = %q", got)
	}
	if h, err := cache.ParseRemoteHeaders(""); err != nil || len(h) != 0 {
		t.Errorf("empty = %v, %v", h, err)
	}
	for _, bad := range []string{"no colon here", "Bad Name: v", ": v"} {
		if _, err := cache.ParseRemoteHeaders(bad); err == nil {
			t.Errorf("ParseRemoteHeaders(%q) succeeded", bad)
		}
	}
	// An error must not echo a secret.
	_, err = cache.ParseRemoteHeaders("Authorization Bearer secret-token")
	if err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("err = %v; want an error that does not quote the token", err)
	}
}

func TestRemoteOptionsFromEnv(t *testing.T) {
	t.Setenv(cache.EnvRemoteCache, "  http://127.0.0.1:9/  ")
	t.Setenv(cache.EnvRemoteCacheHeaders, "Authorization: Bearer tok, X-A: 1")
	t.Setenv(cache.EnvRemoteCacheTimeout, "750ms")
	if got := cache.RemoteURLFromEnv(); got != "http://127.0.0.1:9/" {
		t.Errorf("RemoteURLFromEnv = %q", got)
	}
	opts, err := cache.RemoteOptionsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if opts.Headers.Get("Authorization") != "Bearer tok" || opts.Headers.Get("X-A") != "1" || opts.Timeout != 750*time.Millisecond {
		t.Errorf("opts = %+v", opts)
	}
	t.Setenv(cache.EnvRemoteCacheTimeout, "soon")
	if _, err := cache.RemoteOptionsFromEnv(); err == nil {
		t.Error("a bad timeout was accepted")
	}
}

// TestRemoteHeadersSent uses a Go server to see the requests themselves.
func TestRemoteHeadersSent(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	objects := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen[req.Method+" "+req.URL.Path[:4]] = req.Header.Get("Authorization")
		switch req.Method {
		case http.MethodPut:
			b := new(bytes.Buffer)
			b.ReadFrom(req.Body)
			objects[req.URL.Path] = b.Bytes()
			w.WriteHeader(http.StatusCreated)
		case http.MethodGet, http.MethodHead:
			b, ok := objects[req.URL.Path]
			if !ok {
				http.NotFound(w, req)
				return
			}
			w.Write(b)
		}
	}))
	defer srv.Close()
	r := openRemote(t, srv.URL, cache.RemoteOptions{Headers: http.Header{"Authorization": {"Bearer s3cret"}}})
	ctx := context.Background()
	key := testKey("headers")
	if err := r.Put(ctx, key, []byte("d")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Contains(ctx, key); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"PUT /cas", "PUT /ac/", "GET /ac/", "GET /cas", "HEAD /ac/"} {
		if seen[k] != "Bearer s3cret" {
			t.Errorf("%s: Authorization = %q", k, seen[k])
		}
	}
}

// TestRemoteStatusErrors checks how server answers are classified.
func TestRemoteStatusErrors(t *testing.T) {
	for _, tc := range []struct {
		status   int
		get, put error
	}{
		{http.StatusInternalServerError, cache.ErrRemoteUnavailable, cache.ErrRemoteUnavailable},
		{http.StatusForbidden, cache.ErrRemoteUnavailable, cache.ErrRemoteReadOnly},
		{http.StatusMethodNotAllowed, cache.ErrRemoteUnavailable, cache.ErrRemoteReadOnly},
		{http.StatusTooManyRequests, cache.ErrRemoteUnavailable, cache.ErrRemoteUnavailable},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(tc.status)
		}))
		r := openRemote(t, srv.URL, cache.RemoteOptions{})
		ctx := context.Background()
		if _, err := r.Get(ctx, testKey("s")); !errors.Is(err, tc.get) {
			t.Errorf("%d: Get err = %v, want %v", tc.status, err, tc.get)
		}
		if err := r.Put(ctx, testKey("s"), []byte("x")); !errors.Is(err, tc.put) {
			t.Errorf("%d: Put err = %v, want %v", tc.status, err, tc.put)
		}
		srv.Close()
	}
}
