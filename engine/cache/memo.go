package cache

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
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

// memoShards spreads the memo over files so a process loads only the
// shards it touches.
const memoShards = 256

// memoShardCap bounds one shard's live entries; past it, compaction keeps
// only this process's newest ones (the memo is only an accelerator).
const memoShardCap = 8192

// memoLinePrefix starts every memo line: the format version. A line is
// "m1 <crc32c> dev ino size mtime ctime hash path\n", the CRC covering
// everything after it, so each line validates on its own.
const memoLinePrefix = "m1 "

// crcTable is built on first use: building it costs 0.1ms, which every
// start of the binary would pay at package initialisation.
var crcTable = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

type memoEntry struct {
	st   fileStat
	hash string
}

type memoShard struct {
	loaded bool
	m      map[string]memoEntry
	lines  int // lines in the file when loaded plus those appended since
	dirty  map[string]memoEntry
}

// memo is the persistent file-hash memo: path -> (stat, hash). Each shard
// is an append-only log: a flush appends this process's new entries in
// one write (no rename, which ext4 turns into a forced write-back), the
// last line for a path wins, and a torn, interleaved or corrupt line
// fails its checksum and is skipped. A log grown well past its live
// entries is compacted into a new file renamed over it. Entries validate
// themselves — one is used only when the file's whole stat still matches
// — so a lost update costs a re-read, never a wrong hash.
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
		sh.m, sh.lines = m.readShard(i)
	}
	return sh
}

// readShard parses a shard log; a missing one is empty, damaged lines
// are skipped. lines counts the lines read, for compaction.
func (m *memo) readShard(i int) (entries map[string]memoEntry, lines int) {
	entries = map[string]memoEntry{}
	if m.dir == "" {
		return entries, 0
	}
	data, err := readFile(m.shardFile(i))
	if err != nil {
		return entries, 0
	}
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			break // a torn last line
		}
		lines++
		path, e, ok := parseMemoLine(data[:nl])
		data = data[nl+1:]
		if ok {
			entries[path] = e
		}
	}
	return entries, lines
}

// parseMemoLine checks and reads one memo line.
func parseMemoLine(b []byte) (string, memoEntry, bool) {
	const crcLen = 8
	if len(b) < len(memoLinePrefix)+crcLen+1 || string(b[:len(memoLinePrefix)]) != memoLinePrefix {
		return "", memoEntry{}, false
	}
	b = b[len(memoLinePrefix):]
	sum, err := strconv.ParseUint(string(b[:crcLen]), 16, 32)
	rest := b[crcLen+1:]
	if err != nil || b[crcLen] != ' ' || uint32(sum) != crc32.Checksum(rest, crcTable()) {
		return "", memoEntry{}, false
	}
	line := string(rest)
	var f [6]string
	for i := range f {
		sp := strings.IndexByte(line, ' ')
		if sp < 0 {
			return "", memoEntry{}, false
		}
		f[i], line = line[:sp], line[sp+1:]
	}
	var e memoEntry
	var errs [5]error
	e.st.dev, errs[0] = strconv.ParseUint(f[0], 10, 64)
	e.st.ino, errs[1] = strconv.ParseUint(f[1], 10, 64)
	e.st.size, errs[2] = strconv.ParseInt(f[2], 10, 64)
	e.st.mtime, errs[3] = strconv.ParseInt(f[3], 10, 64)
	e.st.ctime, errs[4] = strconv.ParseInt(f[4], 10, 64)
	if errors.Join(errs[:]...) != nil || line == "" {
		return "", memoEntry{}, false
	}
	e.hash = f[5]
	return line, e, true
}

func appendMemoLine(b []byte, path string, e memoEntry) []byte {
	b = append(b, memoLinePrefix...)
	crcAt := len(b)
	b = append(b, "00000000 "...)
	body := len(b)
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
	sum := fmt.Sprintf("%08x", crc32.Checksum(b[body:], crcTable()))
	copy(b[crcAt:], sum)
	return append(b, '\n')
}

// shouldFlush reports whether enough is pending to be worth writing now;
// callers that finish a batch call flush regardless.
func (m *memo) shouldFlush() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dirty >= 4096 || (m.dirty > 0 && time.Since(m.lastFlush) > 2*time.Second)
}

// flush appends this process's new entries to their shard logs, one
// write per shard, compacting a log that has grown well past its live
// entries.
func (m *memo) flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastFlush = time.Now()
	if m.dir == "" || m.dirty == 0 {
		m.dirty = 0
		return nil
	}
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return fmt.Errorf("write hash memo: %w", err)
	}
	var errs []error
	for i := range m.shards {
		sh := &m.shards[i]
		if len(sh.dirty) == 0 {
			continue
		}
		var err error
		if sh.lines+len(sh.dirty) > 2*len(sh.m)+256 || len(sh.m) > memoShardCap {
			err = m.compact(i, sh)
		} else {
			err = m.appendShard(i, sh)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("write hash memo: %w", err))
		}
		sh.dirty = nil
	}
	m.dirty = 0
	return errors.Join(errs...)
}

func (m *memo) appendShard(i int, sh *memoShard) error {
	buf := make([]byte, 0, len(sh.dirty)*160)
	for p, e := range sh.dirty {
		buf = appendMemoLine(buf, p, e)
	}
	f, err := os.OpenFile(m.shardFile(i), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(buf) // one write: appends from processes do not interleave
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	sh.lines += len(sh.dirty)
	return err
}

// compact rewrites a shard with one line per path: what is on disk now
// (other processes' entries included) overlaid with this process's.
func (m *memo) compact(i int, sh *memoShard) error {
	merged, _ := m.readShard(i)
	if len(merged)+len(sh.dirty) > memoShardCap {
		merged = map[string]memoEntry{}
	}
	for p, e := range sh.dirty {
		merged[p] = e
	}
	buf := make([]byte, 0, len(merged)*160)
	for p, e := range merged {
		buf = appendMemoLine(buf, p, e)
	}
	if err := writeAtomic(m.shardFile(i), buf); err != nil {
		return err
	}
	sh.m, sh.lines = merged, len(merged)
	return nil
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
			live, _ := m.readShard(int(i))
			entries += len(live)
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
