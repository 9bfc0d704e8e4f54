package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// EnvDir names the environment variable that overrides DefaultDir.
const EnvDir = "CMDT_CACHE_DIR"

// EnvKey names the environment variable holding an optional secret key:
// when set, env values are hashed with HMAC-SHA256 under it instead of
// plain SHA-256, so a low-entropy value cannot be recovered from a
// manifest by guessing (see docs/caching.md).
const EnvKey = "CMDT_CACHE_ENV_KEY"

// DefaultDir returns the cache directory: $CMDT_CACHE_DIR if set, else
// "cmdt" under the user cache directory.
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return filepath.Abs(d)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache directory: %w (set %s)", err, EnvDir)
	}
	return filepath.Join(base, "cmdt"), nil
}

// Cache decides whether a transcript's last passing result still holds
// (Lookup) and remembers passing results (Record). It is safe for
// concurrent use by goroutines, and by processes sharing its directory.
type Cache struct {
	store    Store
	local    *Local // set when the store is a local directory (Open)
	dir      string // the cache directory, "" when there is none
	memo     *memo
	envKey   []byte
	projects sync.Map // module root -> project id
	roots    sync.Map // directory -> module root
	envSets  sync.Map // environment fingerprint -> envSetDigest

	// The multigrain probe's answer (multigrain_linux.go).
	mgOnce sync.Once
	mgDev  uint64
	mgOK   bool

	counters struct {
		filesRead atomic.Int64
		bytesRead atomic.Int64
	}
}

// Open returns a cache backed by the local directory dir, created if
// needed. The file-hash memo lives under it too.
func Open(dir string) (*Cache, error) {
	l, err := NewLocal(dir)
	if err != nil {
		return nil, err
	}
	c := New(l, filepath.Join(l.Dir(), localFormat, "memo"))
	c.local, c.dir = l, l.Dir()
	return c, nil
}

// New returns a cache over any Store (a remote or tiered one). memoDir
// holds the persistent file-hash memo; "" keeps it in memory only. The
// env hashing key is read from $CMDT_CACHE_ENV_KEY.
func New(store Store, memoDir string) *Cache {
	c := &Cache{store: store, memo: newMemo(memoDir), dir: memoDir}
	if k := os.Getenv(EnvKey); k != "" {
		c.envKey = []byte(k)
	}
	return c
}

// Dir returns the cache directory: the local store's directory for Open,
// the memo directory for New ("" if none).
func (c *Cache) Dir() string { return c.dir }

// Store returns the store the cache reads and writes.
func (c *Cache) Store() Store { return c.store }

// Flush writes pending file-hash memo updates. Lookup and Record flush
// on their own now and then; a caller finishing a batch (a CLI run over
// many files) calls Flush so the next process starts warm. Skipping it
// costs only re-hashing, never a wrong answer.
func (c *Cache) Flush() error { return c.memo.flush() }

// Reads reports how much this Cache has read to hash files: a number
// that stays at zero while the memo answers (benchmarks and tests check
// that an unchanged tree is never read).
func (c *Cache) Reads() (files, bytes int64) {
	return c.counters.filesRead.Load(), c.counters.bytesRead.Load()
}

func (c *Cache) maybeFlush() error {
	if c.memo.shouldFlush() {
		return c.memo.flush()
	}
	return nil
}

// ErrNotRecorded is wrapped by Record's error when a passing result was
// deliberately not cached (an input changed while the transcript ran, so
// its hash cannot be trusted to be what the run saw). The run's own
// verdict is unaffected; callers may show it as a note.
var ErrNotRecorded = errors.New("result not cached")

// NotRecordedError is Record's error for a passing result it did not
// cache because an input could not be trusted to be what the run saw. It
// wraps ErrNotRecorded; Reason is the short explanation check, status and
// the language server show ("d/ changed during the run").
type NotRecordedError struct {
	Transcript string // root-relative
	Reason     string
}

func (e *NotRecordedError) Error() string {
	return fmt.Sprintf("cache: %s: result not cached: %s", e.Transcript, e.Reason)
}

// Unwrap makes errors.Is(err, ErrNotRecorded) hold.
func (e *NotRecordedError) Unwrap() error { return ErrNotRecorded }

// NotCachedReason returns why Record did not cache a passing result
// (NotRecordedError.Reason), or "" if err is not such a refusal.
func NotCachedReason(err error) string {
	var nr *NotRecordedError
	if errors.As(err, &nr) {
		return nr.Reason
	}
	if errors.Is(err, ErrNotRecorded) {
		return strings.TrimPrefix(err.Error(), "cache: ")
	}
	return ""
}
