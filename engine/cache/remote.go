package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Environment variables read by RemoteURLFromEnv and RemoteOptionsFromEnv.
const (
	// EnvRemoteCache holds the remote cache's base URL.
	EnvRemoteCache = "CMDT_REMOTE_CACHE"
	// EnvRemoteCacheHeaders holds extra request headers, "Name: value",
	// separated by newlines or commas. Headers carry secrets (a bearer
	// token), so they come from the environment and never from argv,
	// which any user on the machine can read through ps.
	EnvRemoteCacheHeaders = "CMDT_REMOTE_CACHE_HEADERS"
	// EnvRemoteCacheTimeout optionally overrides the per-request timeout
	// (a Go duration such as "5s").
	EnvRemoteCacheTimeout = "CMDT_REMOTE_CACHE_TIMEOUT"
)

// Defaults for RemoteOptions.
const (
	// DefaultRemoteTimeout bounds one HTTP request. Entries are small
	// manifests, so a healthy server answers in milliseconds; a long
	// timeout would only make a hung server expensive (and the circuit
	// breaker in Tiered pays it at most once per batch).
	DefaultRemoteTimeout = 5 * time.Second
	// DefaultRemoteInFlight is how many requests GetMany keeps in flight.
	DefaultRemoteInFlight = 32
	// maxRecordSize bounds an AC record: ours are ~100 bytes.
	maxRecordSize = 64 << 10
	// maxBlobSize bounds a CAS object, so a hostile server cannot make us
	// allocate without limit.
	maxBlobSize = 256 << 20
)

// ErrRemoteUnavailable wraps every remote failure that is not a plain miss:
// the server is unreachable, too slow, refuses us (401/403), or fails
// (5xx). Tiered degrades to the local store when it sees one.
var ErrRemoteUnavailable = errors.New("remote cache unavailable")

// ErrRemoteReadOnly wraps a PUT the server refused with a 4xx status
// (403 for read-only credentials, 405 for a server without WebDAV): reads
// may still work, uploads will not.
var ErrRemoteReadOnly = errors.New("remote cache refused upload")

// RemoteOptions configure a RemoteStore.
type RemoteOptions struct {
	// Timeout bounds each HTTP request, connection included;
	// 0 means DefaultRemoteTimeout.
	Timeout time.Duration
	// Headers are sent with every request (e.g. Authorization).
	Headers http.Header
	// Warn receives integrity problems: an entry whose content does not
	// match its digest or whose record is malformed. It is treated as a
	// miss; only the first such problem is reported per store, so a
	// misconfigured server does not flood the output. Nil discards.
	Warn func(error)
	// MaxInFlight bounds the concurrent requests of GetMany;
	// 0 means DefaultRemoteInFlight.
	MaxInFlight int
}

// RemoteURLFromEnv returns the remote cache URL from CMDT_REMOTE_CACHE, or
// "" when unset. A --remote-cache flag takes precedence over it.
func RemoteURLFromEnv() string {
	return strings.TrimSpace(os.Getenv(EnvRemoteCache))
}

// RemoteOptionsFromEnv returns options with Headers parsed from
// CMDT_REMOTE_CACHE_HEADERS and Timeout from CMDT_REMOTE_CACHE_TIMEOUT.
func RemoteOptionsFromEnv() (RemoteOptions, error) {
	var opts RemoteOptions
	h, err := ParseRemoteHeaders(os.Getenv(EnvRemoteCacheHeaders))
	if err != nil {
		return opts, fmt.Errorf("%s: %w", EnvRemoteCacheHeaders, err)
	}
	opts.Headers = h
	if s := strings.TrimSpace(os.Getenv(EnvRemoteCacheTimeout)); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return opts, fmt.Errorf("%s: invalid duration %q", EnvRemoteCacheTimeout, s)
		}
		opts.Timeout = d
	}
	return opts, nil
}

// ParseRemoteHeaders parses "Name: value" headers separated by newlines or
// commas. A comma splits only when what follows looks like "Name:", so a
// value may itself contain commas ("Accept: a, b" stays one header).
// Error messages never quote values, which may be secrets.
func ParseRemoteHeaders(s string) (http.Header, error) {
	h := http.Header{}
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		for _, entry := range splitHeaderEntries(line) {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			name, value, ok := strings.Cut(entry, ":")
			name, value = strings.TrimSpace(name), strings.TrimSpace(value)
			if !ok || !isToken(name) {
				return nil, fmt.Errorf("header entry %d is not \"Name: value\"", len(h)+1)
			}
			if strings.ContainsAny(value, "\r\n\x00") {
				return nil, fmt.Errorf("header %s: value contains a control character", name)
			}
			h.Add(name, value)
		}
	}
	return h, nil
}

// splitHeaderEntries splits line at commas that start a new "Name:".
func splitHeaderEntries(line string) []string {
	var out []string
	start := 0
	for i := 0; i < len(line); i++ {
		if line[i] != ',' {
			continue
		}
		rest := line[i+1:]
		name, _, ok := strings.Cut(rest, ":")
		if ok && isToken(strings.TrimSpace(name)) {
			out = append(out, line[start:i])
			start = i + 1
		}
	}
	return append(out, line[start:])
}

// isToken reports whether s is a valid HTTP header name (RFC 9110 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// RemoteStore is a Store on an HTTP cache server speaking Bazel's remote
// cache protocol: content-addressed blobs under /cas/<sha256> and action
// results under /ac/<key>. Any server that serves Bazel works: nginx with
// WebDAV, bazel-remote, and other compatible caches.
//
// Put(key, data) uploads data to /cas/<sha256(data)>, then an AC record
// naming that digest and size to /ac/<key>; the CAS object goes first so
// a reader (and bazel-remote's AC validation) never sees a record whose
// blob is missing. The record is a minimal build.bazel.remote.execution.v2
// ActionResult with one output file, so servers that validate AC entries
// accept it. Get verifies the record's shape, the blob's size and its
// SHA-256; anything else is a miss (ErrNotFound), never returned data.
type RemoteStore struct {
	base    *url.URL // scheme://host[/prefix], no trailing slash
	client  *http.Client
	headers http.Header
	timeout time.Duration
	warn    func(error)
	workers int

	warnOnce sync.Once
}

// OpenRemote returns a store for the cache server at rawURL (http or https,
// optionally with a path prefix: http://host:8080/cmdt). Nothing is sent
// until the first request; a server that is down shows up then.
func OpenRemote(rawURL string, opts RemoteOptions) (*RemoteStore, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return nil, fmt.Errorf("remote cache URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("remote cache URL %q: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("remote cache URL %q: no host", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("remote cache URL %q: query and fragment are not supported", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultRemoteTimeout
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultRemoteInFlight
	}
	dialer := &net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:       http.ProxyFromEnvironment,
		DialContext: dialer.DialContext,
		// Keep one idle connection per worker, so a batch reuses them
		// instead of paying a handshake per request.
		MaxIdleConns:          opts.MaxInFlight * 2,
		MaxIdleConnsPerHost:   opts.MaxInFlight * 2,
		MaxConnsPerHost:       opts.MaxInFlight * 2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		ForceAttemptHTTP2:     true,
	}
	return &RemoteStore{
		base:    u,
		client:  &http.Client{Transport: transport},
		headers: opts.Headers.Clone(),
		timeout: opts.Timeout,
		warn:    opts.Warn,
		workers: opts.MaxInFlight,
	}, nil
}

// URL returns the server's base URL with any password redacted.
func (r *RemoteStore) URL() string { return r.base.Redacted() }

// Close releases idle connections.
func (r *RemoteStore) Close() error {
	r.client.CloseIdleConnections()
	return nil
}

func (r *RemoteStore) objectURL(kind, hash string) string {
	u := *r.base
	u.Path = r.base.Path + "/" + kind + "/" + hash
	return u.String()
}

// Get returns the entry under key after verifying it, ErrNotFound for a
// missing or unverifiable entry, or an error wrapping ErrRemoteUnavailable.
func (r *RemoteStore) Get(ctx context.Context, key string) ([]byte, error) {
	if !validKey(key) {
		return nil, fmt.Errorf("remote cache: invalid key %q", key)
	}
	rec, err := r.fetch(ctx, "ac", key, maxRecordSize)
	if err != nil {
		return nil, err
	}
	digest, size, err := decodeACRecord(rec)
	if err != nil {
		r.integrity(fmt.Errorf("remote cache %s: /ac/%s: %w; treated as a miss", r.URL(), key, err))
		return nil, ErrNotFound
	}
	blob, err := r.fetch(ctx, "cas", digest, size)
	if err != nil {
		return nil, err
	}
	if int64(len(blob)) != size {
		r.integrity(fmt.Errorf("remote cache %s: /cas/%s has %d bytes, its record says %d; treated as a miss", r.URL(), digest, len(blob), size))
		return nil, ErrNotFound
	}
	if sum := sha256.Sum256(blob); hex.EncodeToString(sum[:]) != digest {
		r.integrity(fmt.Errorf("remote cache %s: /cas/%s content does not match its digest (poisoned or corrupt entry); treated as a miss", r.URL(), digest))
		return nil, ErrNotFound
	}
	return blob, nil
}

// integrity reports the first verification failure of this store.
func (r *RemoteStore) integrity(err error) {
	if r.warn == nil {
		return
	}
	r.warnOnce.Do(func() {
		r.warn(fmt.Errorf("%w (further verification failures are not reported)", err))
	})
}

// fetch GETs /<kind>/<hash>, reading at most limit bytes (one more is
// read to detect an oversized body, which counts as garbage).
func (r *RemoteStore) fetch(ctx context.Context, kind, hash string, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	resp, err := r.do(ctx, http.MethodGet, kind, hash, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		drain(resp.Body)
		return nil, ErrNotFound
	case resp.StatusCode != http.StatusOK:
		drain(resp.Body)
		return nil, r.statusError(http.MethodGet, kind, hash, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, r.transportError(ctx, http.MethodGet, kind, hash, err)
	}
	if int64(len(body)) > limit {
		r.integrity(fmt.Errorf("remote cache %s: /%s/%s is larger than %d bytes; treated as a miss", r.URL(), kind, hash, limit))
		return nil, ErrNotFound
	}
	return body, nil
}

// Contains reports whether the server holds an AC record for key, with a
// HEAD request (nothing is downloaded or verified: a true answer does not
// promise that Get will succeed).
func (r *RemoteStore) Contains(ctx context.Context, key string) (bool, error) {
	if !validKey(key) {
		return false, fmt.Errorf("remote cache: invalid key %q", key)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	resp, err := r.do(ctx, http.MethodHead, "ac", key, nil)
	if err != nil {
		return false, err
	}
	drain(resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return true, nil
	case resp.StatusCode == http.StatusNotFound:
		return false, nil
	}
	return false, r.statusError(http.MethodHead, "ac", key, resp)
}

// Put uploads data under key: the blob to /cas/<sha256(data)>, then the
// record to /ac/<key>. A refused upload wraps ErrRemoteReadOnly; other
// failures wrap ErrRemoteUnavailable.
func (r *RemoteStore) Put(ctx context.Context, key string, data []byte) error {
	if !validKey(key) {
		return fmt.Errorf("remote cache: invalid key %q", key)
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	if err := r.put(ctx, "cas", digest, data); err != nil {
		return err
	}
	return r.put(ctx, "ac", key, encodeACRecord(digest, int64(len(data))))
}

func (r *RemoteStore) put(ctx context.Context, kind, hash string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	resp, err := r.do(ctx, http.MethodPut, kind, hash, body)
	if err != nil {
		return err
	}
	drain(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return r.statusError(http.MethodPut, kind, hash, resp)
}

// do sends one request; transport failures come back wrapping
// ErrRemoteUnavailable (or the caller's context error).
func (r *RemoteStore) do(ctx context.Context, method, kind, hash string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.objectURL(kind, hash), rd)
	if err != nil {
		return nil, fmt.Errorf("remote cache: %w", err)
	}
	for name, values := range r.headers {
		req.Header[name] = values
	}
	if body != nil {
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, r.transportError(ctx, method, kind, hash, err)
	}
	return resp, nil
}

// transportError classifies a failed exchange. A cancelled parent context
// is the caller's doing (Ctrl-C, a finished batch) and is returned as is;
// anything else, our own timeout included, means the server is not
// usable.
func (r *RemoteStore) transportError(ctx context.Context, method, kind, hash string, err error) error {
	if errors.Is(err, context.Canceled) && ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return fmt.Errorf("remote cache %s %s/%s/%s: %w", method, r.URL(), kind, hash, context.Canceled)
	}
	// The *url.Error of net/http repeats the method and URL we print.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err) {
		err = fmt.Errorf("no answer within %v: %w", r.timeout, err)
	}
	return fmt.Errorf("%w: %s %s/%s/%s: %w", ErrRemoteUnavailable, method, r.URL(), kind, hash, err)
}

// statusError turns an unexpected HTTP status into an error. A 4xx on PUT
// means uploads are refused (401/403: a server that lets everyone read but
// only CI write; 405: no WebDAV), except 408 and 429, which are about load;
// everything else means the server is unusable for now.
func (r *RemoteStore) statusError(method, kind, hash string, resp *http.Response) error {
	sentinel := ErrRemoteUnavailable
	if method == http.MethodPut && resp.StatusCode/100 == 4 &&
		resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
		sentinel = ErrRemoteReadOnly
	}
	return fmt.Errorf("%w: %s %s/%s/%s: %s", sentinel, method, r.URL(), kind, hash, resp.Status)
}

// drain reads a little of an unwanted body so the connection can be
// reused for the next request (keep-alive).
func drain(body io.Reader) {
	io.CopyN(io.Discard, body, 4<<10)
}

// GetMany fetches keys with up to MaxInFlight requests in flight over
// kept-alive connections. Missing and unverifiable entries are absent from
// the result. The first failure that makes the server unusable cancels the
// requests still in flight and is returned together with what was fetched
// by then, so a dead or hung server costs one timeout per batch, not one
// per key.
func (r *RemoteStore) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	// An invalid key is simply absent: it must not count as the server
	// failing and end the batch.
	valid := make([]string, 0, len(keys))
	for _, k := range keys {
		if validKey(k) {
			valid = append(valid, k)
		}
	}
	keys = valid
	if len(keys) == 0 {
		return out, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	next := make(chan string)
	workers := min(r.workers, len(keys))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range next {
				data, err := r.Get(ctx, key)
				mu.Lock()
				switch {
				case err == nil:
					out[key] = data
				case errors.Is(err, ErrNotFound):
				case firstErr == nil && ctx.Err() == nil:
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, key := range keys {
		select {
		case next <- key:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		// The caller's context ended the batch.
		firstErr = fmt.Errorf("remote cache batch: %w", context.Cause(ctx))
	}
	return out, firstErr
}
