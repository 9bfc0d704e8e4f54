package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
				name := d.Name()
				if p != root && (strings.HasPrefix(name, ".") || name == "node_modules") {
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
