package cache

import "time"

// Test hooks.

// SetRacyWindow shortens the memo's racy window so tests need not sleep.
func SetRacyWindow(d time.Duration) (restore func()) {
	old := racyWindow
	racyWindow = d
	return func() { racyWindow = old }
}

// FilesRead reports how many files the cache has read to hash them.
func (c *Cache) FilesRead() int64 { n, _ := c.Reads(); return n }

// ClockTick is the file-time slack Record allows.
func ClockTick() time.Duration { return clockTick }
