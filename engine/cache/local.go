package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cmdt-dev/cmdt/engine"
)

// localFormat names the on-disk layout. A new layout gets a new directory
// beside the old one instead of reinterpreting its files.
const localFormat = "v1"

// maxCacheFileSize bounds an entry or memo shard read from the local
// cache; a larger file is treated as damaged (a miss).
const maxCacheFileSize = 256 << 20

// entryMagic starts every local entry file: "cmdt-entry v1 <sha256> <len>\n"
// followed by exactly len payload bytes whose SHA-256 is sha256. The
// checksum is what makes a torn, truncated or bit-rotted file a miss
// instead of a wrong answer — and why writes need no fsync: a rename that
// survives a crash without its data fails the check.
const entryMagic = "cmdt-entry " + localFormat + " "

// Local is a Store in a local directory, shared safely by any number of
// processes: entries are written to a temporary file and renamed into
// place, and verified against their checksum header on every read.
//
// Layout: <dir>/v1/ac/<key[:2]>/<key>.
type Local struct {
	dir string
}

// NewLocal returns the local store rooted at dir, creating it if needed.
func NewLocal(dir string) (*Local, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, localFormat, "ac"), 0o755); err != nil {
		return nil, fmt.Errorf("create cache directory: %w", err)
	}
	return &Local{dir: dir}, nil
}

// Dir returns the store's root directory.
func (l *Local) Dir() string { return l.dir }

func (l *Local) entriesDir() string { return filepath.Join(l.dir, localFormat, "ac") }

func (l *Local) path(key string) (string, error) {
	if !validKey(key) {
		return "", fmt.Errorf("invalid cache key %q", key)
	}
	return filepath.Join(l.entriesDir(), key[:2], key), nil
}

// validKey accepts lowercase hex SHA-256 digests only, so neither a key
// nor a digest read from a remote record can name a path or URL of its own.
func validKey(key string) bool {
	if len(key) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Get returns the verified entry under key, or ErrNotFound when it is
// missing, truncated or corrupt.
func (l *Local) Get(ctx context.Context, key string) ([]byte, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	raw, err := readFile(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, engine.ErrNotRegular) || errors.Is(err, engine.ErrTooLarge) {
		return nil, ErrNotFound // replaced by something that is no entry: a miss
	}
	if err != nil {
		return nil, fmt.Errorf("read cache entry %s: %w", key, err)
	}
	data, ok := unframe(raw)
	if !ok {
		return nil, ErrNotFound
	}
	return data, nil
}

// Put stores data under key atomically.
func (l *Local) Put(ctx context.Context, key string, data []byte) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := writeAtomic(p, frame(data)); err != nil {
		return fmt.Errorf("write cache entry %s: %w", key, err)
	}
	return nil
}

// frame prefixes data with its checksum header.
func frame(data []byte) []byte {
	sum := sha256.Sum256(data)
	head := entryMagic + hex.EncodeToString(sum[:]) + " " + strconv.Itoa(len(data)) + "\n"
	return append([]byte(head), data...)
}

// unframe checks and strips the header; ok is false for anything that is
// not a complete, intact entry.
func unframe(raw []byte) (data []byte, ok bool) {
	nl := bytes.IndexByte(raw, '\n')
	if nl < 0 || !bytes.HasPrefix(raw, []byte(entryMagic)) {
		return nil, false
	}
	fields := bytes.Fields(raw[len(entryMagic):nl])
	if len(fields) != 2 || len(fields[0]) != 2*sha256.Size {
		return nil, false
	}
	n, err := strconv.Atoi(string(fields[1]))
	data = raw[nl+1:]
	if err != nil || n != len(data) {
		return nil, false
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != string(fields[0]) {
		return nil, false
	}
	return data, true
}

// writeAtomic writes data to a temporary file beside path and renames it
// over path: readers in other processes see the old file or the new one.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
	return werr
}
