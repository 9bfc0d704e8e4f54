package cache

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Stats describes a cache's contents, for `transcript cache stats`.
type Stats struct {
	Dir string `json:"dir"`
	// Entries and EntryBytes count the transcripts with an entry and their
	// size on disk; -1 when the store cannot tell (a remote store).
	Entries    int   `json:"entries"`
	EntryBytes int64 `json:"entryBytes"`
	// Oldest and Newest are the modification times of the oldest and
	// newest entries.
	Oldest time.Time `json:"oldest,omitzero"`
	Newest time.Time `json:"newest,omitzero"`
	// MemoFiles, MemoEntries and MemoBytes describe the file-hash memo.
	MemoFiles   int   `json:"memoFiles"`
	MemoEntries int   `json:"memoEntries"`
	MemoBytes   int64 `json:"memoBytes"`
	// TempFiles counts leftovers of interrupted writes (removed by Clean).
	TempFiles int `json:"tempFiles"`
}

// Cleaner is implemented by stores that can drop all their entries;
// Clean uses it for stores other than the local one.
type Cleaner interface {
	Clean(ctx context.Context) error
}

// Stats reports what the cache holds.
func (c *Cache) Stats() (Stats, error) {
	s := Stats{Dir: c.dir, Entries: -1, EntryBytes: -1}
	s.MemoFiles, s.MemoEntries, s.MemoBytes = c.memo.size()
	if c.local == nil {
		return s, nil
	}
	s.Entries, s.EntryBytes = 0, 0
	err := filepath.WalkDir(c.local.entriesDir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			s.TempFiles++
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		s.Entries++
		s.EntryBytes += fi.Size()
		if t := fi.ModTime(); s.Oldest.IsZero() || t.Before(s.Oldest) {
			s.Oldest = t
		}
		if t := fi.ModTime(); t.After(s.Newest) {
			s.Newest = t
		}
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("cache stats: %w", err)
	}
	return s, nil
}

// Clean removes every entry and the file-hash memo. Processes using the
// cache meanwhile just miss; they may write new entries right after.
func (c *Cache) Clean() error {
	var errs []error
	if err := c.memo.clear(); err != nil {
		errs = append(errs, err)
	}
	switch {
	case c.local != nil:
		// Rename first so a concurrent reader never sees a half-deleted tree.
		ac := c.local.entriesDir()
		gone := ac + fmt.Sprintf(".old-%d", os.Getpid())
		if err := os.Rename(ac, gone); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("cache clean: %w", err))
		} else if err := os.RemoveAll(gone); err != nil {
			errs = append(errs, fmt.Errorf("cache clean: %w", err))
		}
		if err := os.MkdirAll(ac, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("cache clean: %w", err))
		}
	default:
		if cl, ok := c.store.(Cleaner); ok {
			if err := cl.Clean(context.Background()); err != nil {
				errs = append(errs, fmt.Errorf("cache clean: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}
