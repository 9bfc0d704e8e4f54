package engine

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// This file holds the rule that separates what a run used from what it
// made (ARCHITECTURE: "what a run itself creates, writes or deletes is an
// output, not an input; a directory listing is an input keyed on the names
// the program saw").
//
//   - Every path the run wrote, created, renamed or deleted (a shell
//     redirection, a traced write) is an output, and so is everything under
//     a directory the run created (temp dirs, `go run`'s build directory).
//   - A listing (a traced readdir, the shell's glob expansion) is keyed on
//     the entry names the directory held when the command that listed it
//     ended, minus the names the run itself wrote: those are outputs too,
//     and a later run must not find its own leftovers "changed".
//   - Tool caches are not inputs: a file under the user cache directory
//     ($XDG_CACHE_HOME, ~/.cache), under GOCACHE, in the go command's
//     telemetry directory, or in a __pycache__ directory is tool state the tool validates against sources
//     the run already depends on; hashing it would make every run of
//     `go run` or `python3` stale against the previous one.

// toolCacheNames are directory names whose contents are a tool's cache
// wherever they appear.
var toolCacheNames = map[string]bool{"__pycache__": true}

// toolCacheDirs returns the absolute directories holding tool caches for
// a session environment: GOCACHE and the user cache directory.
func toolCacheDirs(env []string) []string {
	get := func(name string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(env[i], name+"="); ok {
				return v
			}
		}
		return ""
	}
	var dirs []string
	add := func(d string) {
		if filepath.IsAbs(d) {
			dirs = append(dirs, filepath.Clean(d))
		}
	}
	add(get("GOCACHE"))
	home := get("HOME")
	if x := get("XDG_CACHE_HOME"); x != "" {
		add(x)
	} else if home != "" {
		add(filepath.Join(home, ".cache"))
	}
	// The go command's telemetry counters (Go 1.23+): rewritten by go
	// itself and its background uploader while a transcript runs.
	if x := get("XDG_CONFIG_HOME"); x != "" {
		add(filepath.Join(x, "go", "telemetry"))
	} else if home != "" {
		add(filepath.Join(home, ".config", "go", "telemetry"))
	}
	return dirs
}

// isToolCache reports whether path lies in a tool cache.
func (o *observer) isToolCache(path string) bool {
	for _, d := range o.toolCaches {
		if IsWithin(d, path) {
			return true
		}
	}
	for p := path; ; {
		dir, base := filepath.Split(p)
		if toolCacheNames[base] {
			return true
		}
		dir = filepath.Clean(dir)
		if dir == p || base == "" {
			return false
		}
		p = dir
	}
}

// IsListing reports whether the input is a directory listing observed
// while the transcript ran (a traced readdir or the shell's own glob
// expansion): a glob "DIR/*" whose Matches are the entries (of every type)
// the directory held, keyed on their names, not their contents.
func (in Input) IsListing() bool {
	return in.Kind == InputGlob && !in.Origin.Declared()
}

// ListingDir is the directory of a listing input (its Path minus "/*").
func (in Input) ListingDir() string { return filepath.Dir(in.Path) }

// ListNames returns the sorted absolute paths of the entries of dir, minus
// tool caches (__pycache__), and whether dir could be listed. The result
// cache uses it to compare a listing with the names the run saw.
func ListNames(dir string) ([]string, bool) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, false
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !toolCacheNames[n] {
			out = append(out, filepath.Join(dir, n))
		}
	}
	sort.Strings(out)
	return out, true
}

// finish returns the observed inputs with outputs and tool caches taken
// out, and the run's outputs (sorted).
func (o *observer) finish() (inputs []Input, outputs []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	outputs = make([]string, 0, len(o.written))
	for p := range o.written {
		outputs = append(outputs, p)
	}
	sort.Strings(outputs)
	made := map[string]bool{} // directories the run created
	for _, p := range outputs {
		if st, err := os.Lstat(p); err != nil || st.IsDir() {
			// A directory now, or gone: either way nothing under it
			// existed before the run made it (a deleted file has no
			// children, so treating it as a directory costs nothing).
			made[p] = true
		}
	}
	underMade := func(p string) bool {
		for d := filepath.Dir(p); ; d = filepath.Dir(d) {
			if made[d] {
				return true
			}
			if d == filepath.Dir(d) {
				return false
			}
		}
	}
	out := o.inputs[:0:0]
	for _, in := range o.inputs {
		if in.Kind == InputEnv || in.Origin.Declared() || strings.HasPrefix(in.Path, "PATH:") {
			out = append(out, in)
			continue
		}
		if in.IsListing() {
			dir := in.ListingDir()
			if o.written[dir] || underMade(dir) || o.isToolCache(dir) {
				continue // a directory the run made: its names are outputs
			}
			kept := in.Matches[:0:0]
			for _, m := range in.Matches {
				if !o.written[m] {
					kept = append(kept, m)
				}
			}
			in.Matches = kept
			out = append(out, in)
			continue
		}
		if o.written[in.Path] || underMade(in.Path) || o.isToolCache(in.Path) {
			continue // made by the run (a binary built, then run), or a cache
		}
		out = append(out, in)
	}
	return out, outputs
}
