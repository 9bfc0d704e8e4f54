package cache

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fileStat is what identifies one version of a file without reading it,
// as git's index does: a change of content changes at least one of these
// (ctime cannot be set by users, so even a restored mtime is noticed).
type fileStat struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds since the epoch
}

// racyWindow is how old a file's last change must be, when it is hashed,
// for the hash to be memoised. File systems keep timestamps at coarse
// granularity (ext3: 1 s, FAT: 2 s, and the kernel's own clock ticks in
// jiffies), so a file changed twice within one tick can keep its stat.
// This is git's "racily clean" problem; like git, such a file is hashed
// again until its stat is old enough to be unambiguous. (A variable only
// so tests need not sleep.)
var racyWindow = 2 * time.Second

// memoShards spreads the memo over files so a flush rewrites only the
// shards that changed, and a lookup loads only the shards it touches.
const memoShards = 256

// memoShardCap bounds one shard; past it, entries this process did not
// touch are dropped (the memo is only an accelerator).
const memoShardCap = 8192

const memoMagic = "cmdt-memo v1\n"

type memoEntry struct {
	st   fileStat
	hash string
}

type memoShard struct {
	loaded bool
	m      map[string]memoEntry
	dirty  map[string]memoEntry
}

// memo is the persistent file-hash memo: path -> (stat, hash). It is
// safe across processes because every shard is replaced atomically and
// entries validate themselves: a lost update costs a re-read, and an
// entry is used only when the file's whole stat still matches.
type memo struct {
	dir       string // "" keeps the memo in memory only
	mu        sync.Mutex
	shards    [memoShards]memoShard
	dirty     int
	lastFlush time.Time
}

func newMemo(dir string) *memo {
	return &memo{dir: dir, lastFlush: time.Now()}
}

func shardOf(path string) int {
	h := fnv.New32a()
	h.Write([]byte(path))
	return int(h.Sum32() % memoShards)
}

func (m *memo) shardFile(i int) string {
	return filepath.Join(m.dir, fmt.Sprintf("%02x", i))
}

// get returns the memoised hash of path if its stat is unchanged.
func (m *memo) get(path string, st fileStat) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sh := m.shard(shardOf(path))
	e, ok := sh.m[path]
	if !ok || e.st != st {
		return "", false
	}
	return e.hash, true
}

// put memoises hash for path, unless the file changed too recently for
// its stat to identify this content (see racyWindow).
func (m *memo) put(path string, st fileStat, hash string, hashedAt time.Time) {
	limit := hashedAt.Add(-racyWindow).UnixNano()
	if st.ctime >= limit || st.mtime >= limit || strings.ContainsRune(path, '\n') {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sh := m.shard(shardOf(path))
	if old, ok := sh.m[path]; ok && old.st == st && old.hash == hash {
		return
	}
	e := memoEntry{st: st, hash: hash}
	sh.m[path] = e
	if sh.dirty == nil {
		sh.dirty = map[string]memoEntry{}
	}
	sh.dirty[path] = e
	m.dirty++
}

// shard returns shard i, loading it from disk on first use. m.mu is held.
func (m *memo) shard(i int) *memoShard {
	sh := &m.shards[i]
	if !sh.loaded {
		sh.loaded = true
		sh.m = m.readShard(i)
	}
	return sh
}

// readShard parses a shard file; a missing or damaged one is empty.
func (m *memo) readShard(i int) map[string]memoEntry {
	entries := map[string]memoEntry{}
	if m.dir == "" {
		return entries
	}
	raw, err := readFile(m.shardFile(i))
	if err != nil {
		return entries
	}
	data, ok := unframe(raw)
	if !ok || !bytes.HasPrefix(data, []byte(memoMagic)) {
		return entries
	}
	data = data[len(memoMagic):]
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			break
		}
		path, e, ok := parseMemoLine(string(data[:nl]))
		data = data[nl+1:]
		if ok {
			entries[path] = e
		}
	}
	return entries
}

// parseMemoLine reads "dev ino size mtime ctime hash path".
func parseMemoLine(line string) (string, memoEntry, bool) {
	var f [6]string
	for i := range f {
		sp := strings.IndexByte(line, ' ')
		if sp < 0 {
			return "", memoEntry{}, false
		}
		f[i], line = line[:sp], line[sp+1:]
	}
	var e memoEntry
	var err [5]error
	e.st.dev, err[0] = strconv.ParseUint(f[0], 10, 64)
	e.st.ino, err[1] = strconv.ParseUint(f[1], 10, 64)
	e.st.size, err[2] = strconv.ParseInt(f[2], 10, 64)
	e.st.mtime, err[3] = strconv.ParseInt(f[3], 10, 64)
	e.st.ctime, err[4] = strconv.ParseInt(f[4], 10, 64)
	if errors.Join(err[:]...) != nil || line == "" {
		return "", memoEntry{}, false
	}
	e.hash = f[5]
	return line, e, true
}

func appendMemoLine(b []byte, path string, e memoEntry) []byte {
	b = strconv.AppendUint(b, e.st.dev, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, e.st.ino, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.st.size, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.st.mtime, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.st.ctime, 10)
	b = append(b, ' ')
	b = append(b, e.hash...)
	b = append(b, ' ')
	b = append(b, path...)
	return append(b, '\n')
}

// shouldFlush reports whether enough is pending to be worth writing now;
// callers that finish a batch call flush regardless.
func (m *memo) shouldFlush() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dirty >= 512 || (m.dirty > 0 && time.Since(m.lastFlush) > time.Second)
}

// flush merges this process's new entries into the shard files. Each
// shard is re-read first so entries other processes wrote meanwhile
// survive; a write that races with another is lost, which only costs a
// re-hash later.
func (m *memo) flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastFlush = time.Now()
	if m.dir == "" || m.dirty == 0 {
		m.dirty = 0
		return nil
	}
	var errs []error
	for i := range m.shards {
		sh := &m.shards[i]
		if len(sh.dirty) == 0 {
			continue
		}
		merged := m.readShard(i)
		if len(merged)+len(sh.dirty) > memoShardCap {
			merged = map[string]memoEntry{}
		}
		for p, e := range sh.dirty {
			merged[p] = e
		}
		buf := make([]byte, 0, 64+len(merged)*160)
		buf = append(buf, memoMagic...)
		for p, e := range merged {
			buf = appendMemoLine(buf, p, e)
		}
		if err := writeAtomic(m.shardFile(i), frame(buf)); err != nil {
			errs = append(errs, fmt.Errorf("write hash memo: %w", err))
			continue
		}
		sh.m, sh.dirty = merged, nil
	}
	m.dirty = 0
	return errors.Join(errs...)
}

// size reports the memo's files and entries on disk, for Stats.
func (m *memo) size() (files, entries int, bytes int64) {
	if m.dir == "" {
		return 0, 0, 0
	}
	des, err := os.ReadDir(m.dir)
	if err != nil {
		return 0, 0, 0
	}
	for _, de := range des {
		if de.IsDir() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		files++
		bytes += fi.Size()
		if i, err := strconv.ParseUint(de.Name(), 16, 8); err == nil {
			entries += len(m.readShard(int(i)))
		}
	}
	return files, entries, bytes
}

// clear forgets every memoised hash, in memory and on disk.
func (m *memo) clear() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.shards = [memoShards]memoShard{}
	m.dirty = 0
	if m.dir == "" {
		return nil
	}
	if err := os.RemoveAll(m.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clear hash memo: %w", err)
	}
	return nil
}
