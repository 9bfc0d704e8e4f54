package cache

import (
	"fmt"
	"os"
	"path/filepath"
)

// Probe checks that the local cache directory can be written, by creating
// and removing a temporary file in it. A directory that opens but cannot
// take a new entry (read-only, another user's, on a full or read-only
// file system) would otherwise fail every record, transcript by
// transcript; a caller that probes once can run without the cache instead,
// with one warning.
func (c *Cache) Probe() error {
	if c.local == nil {
		return nil
	}
	dir := filepath.Join(c.local.Dir(), localFormat)
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("cache directory %s is not writable: %w", c.local.Dir(), err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("cache directory %s: %w", c.local.Dir(), err)
	}
	return nil
}
