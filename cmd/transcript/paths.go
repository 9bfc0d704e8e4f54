package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cmdt-dev/cmdt/engine/watch"
)

// collectTranscripts expands command-line paths into transcript files:
// files as given, directories (and "dir/...", "./...") recursively for
// *.cmdt, skipping hidden directories and node_modules. No arguments
// means "./...". The result is sorted and de-duplicated.
func collectTranscripts(args []string) ([]string, error) {
	if len(args) == 0 {
		args = []string{"./..."}
	}
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, arg := range args {
		root := arg
		if strings.HasSuffix(arg, "/...") {
			root = strings.TrimSuffix(arg, "/...")
			if root == "" {
				root = "/"
			}
		}
		st, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", arg, err)
		}
		if !st.IsDir() {
			add(root)
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && watch.SkipDir(d.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(p, ".cmdt") {
				add(p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", arg, err)
		}
	}
	sort.Strings(out)
	return out, nil
}

// noTranscripts is the usage error for paths holding no transcript (only
// directories get here; they are searched recursively). It names them as
// absolute paths, so that "no path" (the current directory) and a relative
// path are both clear in a CI log.
func noTranscripts(args []string) error {
	if len(args) == 0 {
		args = []string{"."}
	}
	where := make([]string, len(args))
	for i, a := range args {
		dir := strings.TrimSuffix(a, "...")
		if dir == "" {
			dir = "."
		}
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		where[i] = dir
	}
	return usageError("no transcripts (*.cmdt) in %s or below", strings.Join(where, ", "))
}
