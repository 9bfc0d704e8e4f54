package lsp

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// cacheTTL bounds how long the server trusts what it learned from the disk
// when the client sends no file-change notifications.
const cacheTTL = 3 * time.Second

// maxShellCache bounds the parsed-command cache; when full it is dropped
// whole, which is cheap and keeps memory flat.
const maxShellCache = 20000

// workspace caches what analyses read from the file system and the
// environment: module roots, directory listings, resolved declarations.
// Keystrokes re-analyse a document many times a second; without the cache
// every analysis would stat every argument and walk every declared
// directory. didSave and didChangeWatchedFiles invalidate it, and entries
// older than cacheTTL are dropped in case the client sends neither.
type workspace struct {
	lookupEnv func(string) (string, bool)

	mu       sync.Mutex
	gen      uint64 // bumped whenever the disk caches are dropped
	stamp    time.Time
	roots    map[string]string
	dirs     map[string]map[string]os.FileMode
	resolved map[resolveKey]resolveResult

	shellMu   sync.Mutex
	shell     map[string]map[string]*engine.BlockFacts // by directory, then command text; immune to disk changes
	shellSize int
}

type resolveKey struct {
	kind       parser.DepKind
	value, cwd string
	exclude    string // a glob's exclusion patterns, joined by NUL
}

type resolveResult struct {
	inputs []engine.Input
	err    error
}

func newWorkspace(lookupEnv func(string) (string, bool)) *workspace {
	w := &workspace{lookupEnv: lookupEnv, shell: map[string]map[string]*engine.BlockFacts{}}
	w.reset()
	return w
}

func (w *workspace) reset() {
	w.gen++
	w.stamp = time.Now()
	w.roots = map[string]string{}
	w.dirs = map[string]map[string]os.FileMode{}
	w.resolved = map[resolveKey]resolveResult{}
}

// invalidate forgets everything learned from the disk.
func (w *workspace) invalidate() {
	w.mu.Lock()
	w.reset()
	w.mu.Unlock()
}

// lock takes the cache lock, dropping entries that are too old.
func (w *workspace) lock() {
	w.mu.Lock()
	if time.Since(w.stamp) > cacheTTL {
		w.reset()
	}
}

// bump makes existing analyses stale without dropping the disk caches:
// the editor's text of a file other documents read (a depfile) changed.
func (w *workspace) bump() {
	w.mu.Lock()
	w.gen++
	w.mu.Unlock()
}

// generation identifies the current view of the disk: analyses made
// under an older one are stale.
func (w *workspace) generation() uint64 {
	w.lock()
	defer w.mu.Unlock()
	return w.gen
}

// moduleRoot returns the module root for a transcript in dir (spec §3).
func (w *workspace) moduleRoot(dir string) string {
	w.lock()
	defer w.mu.Unlock()
	if r, ok := w.roots[dir]; ok {
		return r
	}
	r := engine.FindModuleRoot(dir)
	w.roots[dir] = r
	return r
}

// fileMode reports whether path exists and its mode (symlinks followed).
// It lists the parent directory once and answers later questions about
// its entries from memory.
func (w *workspace) fileMode(path string) (os.FileMode, bool) {
	// Paths here are clean and absolute: split without filepath's
	// allocations, which showed in keystroke profiles.
	i := strings.LastIndexByte(path, filepath.Separator)
	if i < 0 {
		return 0, false
	}
	dir, base := path[:i], path[i+1:]
	if dir == "" {
		dir = string(filepath.Separator)
	}
	w.lock()
	entries, ok := w.dirs[dir]
	w.mu.Unlock()
	if !ok {
		entries = listDir(dir)
		w.lock()
		w.dirs[dir] = entries
		w.mu.Unlock()
	}
	mode, ok := entries[base]
	return mode, ok
}

func listDir(dir string) map[string]os.FileMode {
	des, err := os.ReadDir(dir)
	entries := make(map[string]os.FileMode, len(des))
	if err != nil {
		return entries
	}
	for _, de := range des {
		mode := de.Type()
		if mode&os.ModeSymlink != 0 {
			st, err := os.Stat(filepath.Join(dir, de.Name()))
			if err != nil {
				continue // dangling link: absent, as for the shell
			}
			mode = st.Mode().Type()
		}
		entries[de.Name()] = mode
	}
	return entries
}

// isFile reports whether path is an existing regular file.
func (w *workspace) isFile(path string) bool {
	mode, ok := w.fileMode(path)
	return ok && mode.IsRegular()
}

// exists reports whether path exists (file or directory).
func (w *workspace) exists(path string) bool {
	_, ok := w.fileMode(path)
	return ok
}

// resolve resolves one declaration through the engine, memoised.
func (w *workspace) resolve(root string, kind parser.DepKind, value, cwd string, line int, exclude ...string) ([]engine.Input, error) {
	key := resolveKey{kind, value, cwd, strings.Join(exclude, "\x00")}
	w.lock()
	r, ok := w.resolved[key]
	w.mu.Unlock()
	if !ok {
		switch {
		case kind == parser.DepFile:
			r = resolveResult{[]engine.Input{resolveFileShallow(value, cwd)}, nil}
		case kind == parser.DepGlob && len(exclude) > 0:
			res := &engine.Resolver{Root: root, LookupEnv: w.lookupEnv}
			in, err := res.ResolveGlob(value, exclude, cwd, line)
			r = resolveResult{[]engine.Input{in}, err}
		default:
			res := &engine.Resolver{Root: root, LookupEnv: w.lookupEnv}
			ins, _, err := res.Resolve(kind, value, cwd, line)
			r = resolveResult{ins, err}
		}
		w.lock()
		w.resolved[key] = r
		w.mu.Unlock()
	}
	out := make([]engine.Input, len(r.inputs))
	copy(out, r.inputs)
	for i := range out {
		out[i].Line = line
		out[i].InRoot = engine.IsWithin(root, out[i].Path)
	}
	return out, r.err
}

// blockFacts returns the walk of a block's shell text from a directory,
// memoised: unchanged blocks cost a map lookup per analysis. The cache is
// keyed by directory (and pushd stack) first, then text, so a lookup
// builds no key string.
func (w *workspace) blockFacts(text, cwd string, dirs []string) *engine.BlockFacts {
	where := cwd
	if len(dirs) > 0 {
		where += "\x00" + strings.Join(dirs, "\x00")
	}
	w.shellMu.Lock()
	byText := w.shell[where]
	f, ok := byText[text]
	w.shellMu.Unlock()
	if ok {
		return f
	}
	f = engine.WalkBlock(text, cwd, dirs)
	w.shellMu.Lock()
	if w.shellSize >= maxShellCache {
		w.shell, w.shellSize = map[string]map[string]*engine.BlockFacts{}, 0
	}
	if w.shell[where] == nil {
		w.shell[where] = map[string]*engine.BlockFacts{}
	}
	w.shell[where][text] = f
	w.shellSize++
	w.shellMu.Unlock()
	return f
}

// resolveFileShallow resolves a file declaration like the engine does,
// except that a directory's files are not listed: the engine walks the
// whole tree (it hashes every file), which for `% dep file .` in a large
// repository would cost seconds on every analysis. Hover lists a bounded
// sample instead (listFiles).
func resolveFileShallow(value, cwd string) engine.Input {
	path := value
	if !filepath.IsAbs(path) {
		path = filepath.Join(cwd, path)
	}
	in := engine.Input{Kind: engine.InputFile, Path: filepath.Clean(path), Raw: value}
	if st, err := os.Stat(in.Path); err == nil {
		in.Exists = true
		if st.IsDir() {
			in.Kind = engine.InputDir
		}
	}
	return in
}

// listFiles returns up to max regular files under dir, and whether there
// are more.
func listFiles(dir string, max int) ([]string, bool) {
	var files []string
	more := false
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if len(files) == max {
			more = true
			return filepath.SkipAll
		}
		files = append(files, p)
		return nil
	})
	return files, more
}
