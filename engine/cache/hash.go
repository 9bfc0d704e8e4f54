package cache

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
)

// Hash values in a manifest. Content hashes are plain lowercase hex
// SHA-256; the other forms are prefixed so no two kinds can collide.
const (
	hashAbsent = "absent" // the file, program or variable does not exist
	// hashSpecial prefixes a device, FIFO or socket, or anything under
	// /proc, /sys or /dev: reading those has side effects or never ends,
	// so only their existence and type are recorded.
	hashSpecial = "special:"
	// hashDir prefixes a directory met where a file was expected (a
	// declared file that is a directory): its sorted entry names are hashed.
	hashDir = "dir:"
	// hashIsDir is an observed path (a program's stat, the shell's test)
	// that is a directory: only that it exists as one is recorded. What it
	// holds matters only when it is listed, and a listing is an input of
	// its own (listing.go).
	hashIsDir = "directory"
	// hashLinkPrefix prefixes a symbolic link: its target and what it
	// leads to, hashed together (hashLink).
	hashLinkPrefix = "link:"
)

// fileHash is the outcome of hashing one path.
type fileHash struct {
	hash string
	st   fileStat // zero for absent and special files
	ok   bool     // st identifies the content (memo-eligible)
}

// hashPath hashes the file at path: its content, "absent", or a special
// form. An unchanged file whose stat matches the memo costs one stat.
func (c *Cache) hashPath(path string) (fileHash, error) { return c.hashPathAs(path, false) }

// hashPathAs is hashPath; dirAsType hashes a directory as hashIsDir.
func (c *Cache) hashPathAs(path string, dirAsType bool) (fileHash, error) {
	if isSpecialTree(path) {
		fi, err := os.Stat(path)
		if err != nil {
			return fileHash{hash: hashAbsent}, nil
		}
		return fileHash{hash: hashSpecial + fi.Mode().Type().String()}, nil
	}
	fi, err := os.Lstat(path)
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return c.hashLink(path, fi, dirAsType)
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fileHash{hash: hashAbsent}, nil
	}
	if err != nil {
		return fileHash{}, fmt.Errorf("stat %s: %w", path, err)
	}
	return c.hashInfo(path, fi, dirAsType)
}

// hashLink hashes a symbolic link: its target text and what it leads to,
// so retargeting it is a change even to a file with the same content
// (`readlink`, `ls -l` print the target). A link leading nowhere hashes
// as absent, as the path reads.
func (c *Cache) hashLink(path string, lfi fs.FileInfo, dirAsType bool) (fileHash, error) {
	target, err := os.Readlink(path)
	if err != nil {
		return fileHash{}, fmt.Errorf("readlink %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fileHash{hash: hashAbsent}, nil
	}
	if err != nil {
		return fileHash{}, fmt.Errorf("stat %s: %w", path, err)
	}
	h, err := c.hashInfo(path, fi, dirAsType)
	if err != nil || h.hash == hashAbsent {
		return h, err
	}
	sum := sha256.New()
	writeField(sum, "cmdt link v1")
	writeField(sum, target)
	writeField(sum, h.hash)
	h.hash = hashLinkPrefix + hex.EncodeToString(sum.Sum(nil))
	if lst, ok := statOf(lfi); ok {
		// A link retargeted during a run changes its own change time.
		h.st.ctime = max(h.st.ctime, lst.ctime)
	}
	h.ok = false
	return h, nil
}

// hashInfo hashes the file at path, whose stat (following links) is fi.
func (c *Cache) hashInfo(path string, fi fs.FileInfo, dirAsType bool) (fileHash, error) {
	st, stOK := statOf(fi)
	switch {
	case fi.IsDir() && dirAsType:
		return fileHash{hash: hashIsDir}, nil
	case fi.IsDir():
		h, err := hashDirNames(path)
		return fileHash{hash: h, st: st, ok: stOK}, err
	case !fi.Mode().IsRegular():
		return fileHash{hash: hashSpecial + fi.Mode().Type().String(), st: st, ok: stOK}, nil
	}
	if stOK {
		if h, hit := c.memo.get(path, st); hit {
			return fileHash{hash: h, st: st, ok: true}, nil
		}
	}
	hashedAt := time.Now()
	h, after, err := c.readHash(path)
	if err != nil {
		return fileHash{}, err
	}
	if stOK && after == st {
		c.memo.put(path, st, h, hashedAt)
	}
	if !stOK {
		return fileHash{hash: h, st: st}, nil
	}
	// If the file changed while it was read, report the later stat: its
	// change time then falls inside any run that overlaps, and Record
	// refuses to trust it.
	return fileHash{hash: h, st: after, ok: true}, nil
}

// readHash reads and hashes a regular file, returning its stat as of the
// end of the read.
func (c *Cache) readHash(path string) (string, fileStat, error) {
	// Non-blocking and regular only: the file may have been replaced by a
	// FIFO or device since it was stat'ed.
	f, err := engine.OpenRegular(path)
	if err != nil {
		return "", fileStat{}, fmt.Errorf("hash %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", fileStat{}, fmt.Errorf("hash %s: %w", path, err)
	}
	c.counters.filesRead.Add(1)
	c.counters.bytesRead.Add(n)
	var after fileStat
	if fi, err := f.Stat(); err == nil {
		after, _ = statOf(fi)
	}
	return hex.EncodeToString(h.Sum(nil)), after, nil
}

// hashDirNames hashes a directory's sorted entry names.
func hashDirNames(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("list %s: %w", path, err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return "", fmt.Errorf("list %s: %w", path, err)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		writeField(h, n)
	}
	return hashDir + hex.EncodeToString(h.Sum(nil)), nil
}

func isSpecialTree(path string) bool {
	for _, p := range []string{"/proc", "/sys", "/dev"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// writeField writes s length-prefixed, so concatenated fields can never
// be re-split differently (("ab","c") and ("a","bc") hash apart).
func writeField(h hash.Hash, s string) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
	io.WriteString(h, s)
}

// envDomain separates env hashes from every other SHA-256 use.
const envDomain = "cmdt env v1"

// envScheme names how env values are hashed: plain domain-separated
// SHA-256, or HMAC-SHA256 under CMDT_CACHE_ENV_KEY (named by a key id so
// a lookup under another key says so instead of comparing unrelated
// hashes).
func envScheme(key []byte) string {
	if len(key) == 0 {
		return "sha256"
	}
	h := sha256.New()
	writeField(h, "cmdt env key id v1")
	h.Write(key)
	return "hmac-sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

// hashEnv hashes a variable's name and value; the value itself is never
// stored. Unset is "absent"; set-but-empty hashes like any other value.
func hashEnv(key []byte, name, value string, set bool) string {
	if !set {
		return hashAbsent
	}
	var h hash.Hash
	if len(key) > 0 {
		h = hmac.New(sha256.New, key)
	} else {
		h = sha256.New()
	}
	writeField(h, envDomain)
	writeField(h, name)
	writeField(h, value)
	return hex.EncodeToString(h.Sum(nil))
}

// hashBytes is the content hash of in-memory data (the transcript text).
func hashBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// lookupEnv finds name in a "NAME=value" list, the last one winning as
// in exec.
func lookupEnv(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}
