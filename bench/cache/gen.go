// Package cachebench measures the result cache (engine/cache) at the
// scales issue 4 sets: an unchanged re-check of the selective-caching
// example, and `transcript status` over 1,000 transcripts × 10 declared
// files. gen.go makes the synthetic module; cache_test.go holds the
// library-level benchmarks; run.sh drives the real CLI.
package cachebench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Tree describes a synthetic module: N transcripts, each declaring Files
// files of Size bytes of its own.
type Tree struct {
	N, Files int
	Size     int
}

// Generate writes the module under dir (created; must be empty or
// absent). Transcript i lives in t/i/ and declares its files in
// t/i/data/; file contents are pseudo-random bytes so nothing deduplicates.
func (tr Tree) Generate(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/cachebench\n\ngo 1.22\n"), 0o644); err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, tr.Size)
	for i := range tr.N {
		tdir := filepath.Join(dir, "t", fmt.Sprintf("%04d", i))
		if err := os.MkdirAll(filepath.Join(tdir, "data"), 0o755); err != nil {
			return err
		}
		var deps []string
		for j := range tr.Files {
			rng.Read(buf)
			name := fmt.Sprintf("data/f%02d.txt", j)
			if err := os.WriteFile(filepath.Join(tdir, name), buf, 0o644); err != nil {
				return err
			}
			deps = append(deps, name)
		}
		src := "% dep file " + strings.Join(deps, " ") + "\n$ echo ok\n1 ok\n"
		if err := os.WriteFile(filepath.Join(tdir, "t.cmdt"), []byte(src), 0o644); err != nil {
			return err
		}
	}
	return nil
}
