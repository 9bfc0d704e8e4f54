package cache

// OpenTiered returns a cache over the local directory dir layered over a
// remote store (see Tiered). Unlike New(Tiered(...)), the cache keeps
// knowing its local directory, so Stats and Clean work on it. A nil remote
// is the same as Open(dir).
func OpenTiered(dir string, remote Store, upload bool, warn func(error)) (*Cache, error) {
	c, err := Open(dir)
	if err != nil || remote == nil {
		return c, err
	}
	c.store = Tiered(c.local, remote, upload, warn)
	return c, nil
}

// Local returns the local store under the cache, or nil when the cache
// has none (New over another store). Sharding reads recorded durations
// from it, so every CI worker sees the same snapshot.
func (c *Cache) Local() Store {
	if c.local == nil {
		return nil
	}
	return c.local
}
