// Package cache is the engine's selective result cache, on the "verifying
// traces" model: after a passing run it stores a manifest of every input
// the transcript used with its hash, and a later check is skipped when all
// of them still hash the same.
package cache

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Store.Get for a key it does not hold.
var ErrNotFound = errors.New("cache entry not found")

// Store holds cache entries by key. Keys are lowercase hex SHA-256
// digests. Implementations verify what they return: a truncated, corrupt
// or tampered entry is reported as ErrNotFound (a miss), never returned.
// Stores are safe for concurrent use, also across processes sharing one
// location.
type Store interface {
	// Get returns the entry stored under key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Put stores data under key, atomically: a concurrent Get sees the
	// old entry or the new one, never a partial write.
	Put(ctx context.Context, key string, data []byte) error
}

// BatchGetter is implemented by stores that fetch many keys faster than
// one Get after another (a remote store pipelining requests). Missing
// keys are absent from the result map; err is only for a failure of the
// whole batch.
type BatchGetter interface {
	GetMany(ctx context.Context, keys []string) (map[string][]byte, error)
}
