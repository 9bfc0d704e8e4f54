package lsp

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"mvdan.cc/sh/v3/syntax"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// cacheTTL bounds how long the server trusts what it learned from the disk
// when the client sends no file-change notifications.
const cacheTTL = 3 * time.Second

// maxShellCache bounds the parsed-command cache; when full it is dropped
// whole, which is cheap and keeps memory flat.
const maxShellCache = 50000

// workspace caches what analyses read from the file system and the
// environment: module roots, directory listings, resolved declarations.
// Keystrokes re-analyse a document many times a second; without the cache
// every analysis would stat every argument and walk every declared
// directory. didSave and didChangeWatchedFiles invalidate it, and entries
// older than cacheTTL are dropped in case the client sends neither.
type workspace struct {
	lookupEnv func(string) (string, bool)

	mu       sync.Mutex
	stamp    time.Time
	roots    map[string]string
	dirs     map[string]map[string]os.FileMode
	resolved map[resolveKey]resolveResult

	shellMu sync.Mutex
	shell   map[string]shellParse // by command text; immune to disk changes
}

type resolveKey struct {
	kind       parser.DepKind
	value, cwd string
}

type resolveResult struct {
	inputs []engine.Input
	err    error
}

type shellParse struct {
	file *syntax.File
	err  error
}

func newWorkspace(lookupEnv func(string) (string, bool)) *workspace {
	w := &workspace{lookupEnv: lookupEnv, shell: map[string]shellParse{}}
	w.reset()
	return w
}

func (w *workspace) reset() {
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
	dir, base := filepath.Dir(path), filepath.Base(path)
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
func (w *workspace) resolve(root string, kind parser.DepKind, value, cwd string, line int) ([]engine.Input, error) {
	key := resolveKey{kind, value, cwd}
	w.lock()
	r, ok := w.resolved[key]
	w.mu.Unlock()
	if !ok {
		res := &engine.Resolver{Root: root, LookupEnv: w.lookupEnv}
		ins, _, err := res.Resolve(kind, value, cwd, line)
		r = resolveResult{ins, err}
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

// parseShell parses a command block's text as bash, memoised by text: an
// edit re-parses only the block it touched.
func (w *workspace) parseShell(text string) (*syntax.File, error) {
	w.shellMu.Lock()
	p, ok := w.shell[text]
	w.shellMu.Unlock()
	if ok {
		return p.file, p.err
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash), syntax.KeepComments(false)).Parse(strings.NewReader(text), "")
	w.shellMu.Lock()
	if len(w.shell) >= maxShellCache {
		w.shell = map[string]shellParse{}
	}
	w.shell[text] = shellParse{f, err}
	w.shellMu.Unlock()
	return f, err
}
