package cache

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cmdt-dev/cmdt/engine"
)

// keyDomain separates cache keys from every other SHA-256 use and names
// the key's layout: a new layout must not read entries of the old one.
const keyDomain = "cmdt cache key v1"

// identity is what a cache key is derived from: which transcript this is,
// not what it contains (its content is an input verified on lookup, so a
// stale entry can say "transcript changed" instead of being a plain miss).
type identity struct {
	// project names the module independently of where it is checked out
	// ("go:" + module path, else "dir:" + the root's base name), so
	// unrelated projects sharing one cache directory do not evict each
	// other's entries for "testdata/basic.cmdt", while two checkouts of
	// the same module (or two machines, through a remote store) share.
	project string
	// transcript and dir are root-relative, slash-separated (absolute
	// when outside the root).
	transcript string
	dir        string
}

func (id identity) key() string {
	h := sha256.New()
	writeField(h, keyDomain)
	writeField(h, id.project)
	writeField(h, id.transcript)
	writeField(h, id.dir)
	return hex.EncodeToString(h.Sum(nil))
}

// Key returns the store key under which t's entry lives, for tools (the
// remote store, sharding) that need to address it directly.
func (c *Cache) Key(t Target) (string, error) {
	t, err := c.normalize(t)
	if err != nil {
		return "", err
	}
	return c.identityOf(t).key(), nil
}

func (c *Cache) identityOf(t Target) identity {
	return identity{
		project:    c.projectID(t.Root),
		transcript: relPath(t.Root, t.Path),
		dir:        relPath(t.Root, t.Dir),
	}
}

// projectID names the module at root; it is memoised per root because a
// CLI run looks up many transcripts of one module.
func (c *Cache) projectID(root string) string {
	if v, ok := c.projects.Load(root); ok {
		return v.(string)
	}
	id := "dir:" + filepath.Base(root)
	if mod := modulePath(filepath.Join(root, "go.mod")); mod != "" {
		id = "go:" + mod
	}
	c.projects.Store(root, id)
	return id
}

// modulePath reads the module directive of a go.mod file, "" if none.
func modulePath(gomod string) string {
	f, err := engine.OpenRegular(gomod) // a FIFO named go.mod must not hang us
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		rest, ok := bytes.CutPrefix(line, []byte("module"))
		if !ok || len(rest) == 0 || (rest[0] != ' ' && rest[0] != '\t' && rest[0] != '"') {
			continue
		}
		if i := bytes.Index(rest, []byte("//")); i >= 0 {
			rest = rest[:i]
		}
		s := strings.TrimSpace(string(rest))
		if u, err := strconv.Unquote(s); err == nil {
			s = u
		}
		return s
	}
	return ""
}

// pathPrefix marks an exe that was not found: "PATH:name" records where it
// would have been looked for, and is kept verbatim.
const pathPrefix = "PATH:"

// relPath renders an absolute path for a manifest: slash-separated and
// relative to root when inside it (so manifests move between checkouts),
// absolute otherwise.
func relPath(root, abs string) string {
	if strings.HasPrefix(abs, pathPrefix) || !filepath.IsAbs(abs) {
		return abs
	}
	if engine.IsWithin(root, abs) {
		rel, err := filepath.Rel(root, abs)
		if err == nil {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(abs)
}

// absPath is the inverse of relPath for the checkout at root.
func absPath(root, p string) string {
	if strings.HasPrefix(p, pathPrefix) {
		return p
	}
	p = filepath.FromSlash(p)
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}

// normalize fills a Target's defaults and checks it.
func (c *Cache) normalize(t Target) (Target, error) {
	if t.Path == "" {
		return t, fmt.Errorf("cache: target has no transcript path")
	}
	var err error
	if t.Path, err = filepath.Abs(t.Path); err != nil {
		return t, fmt.Errorf("cache: transcript path: %w", err)
	}
	if t.Dir == "" {
		t.Dir = filepath.Dir(t.Path)
	}
	if t.Dir, err = filepath.Abs(t.Dir); err != nil {
		return t, fmt.Errorf("cache: start directory: %w", err)
	}
	if t.Root == "" {
		t.Root = c.moduleRoot(t.Dir)
	}
	if t.Root, err = filepath.Abs(t.Root); err != nil {
		return t, fmt.Errorf("cache: module root: %w", err)
	}
	if t.Env == nil {
		t.Env = os.Environ()
	}
	return t, nil
}

// moduleRoot is engine.FindModuleRoot memoised per directory: a run over
// a thousand transcripts would otherwise probe for go.mod and .git in
// every parent of every one of them.
func (c *Cache) moduleRoot(dir string) string {
	if v, ok := c.roots.Load(dir); ok {
		return v.(string)
	}
	root := engine.FindModuleRoot(dir)
	c.roots.Store(dir, root)
	return root
}
