//go:build !linux

package cache

// multigrain is false off Linux: no tracer reports attribute-only calls.
func (c *Cache) multigrain(uint64) bool { return false }

// MultigrainTimestamps is false off Linux.
func MultigrainTimestamps(string) bool { return false }
