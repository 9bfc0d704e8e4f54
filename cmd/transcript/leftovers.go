package main

import (
	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// removeLeftovers removes the temporary files an interrupted update of
// these transcripts left behind (engine.RemoveLeftovers), once per
// directory. files holds those parsed (nil for one the cache served: only
// its own directory is cleaned then).
func removeLeftovers(paths []string, files map[string]*parser.File) {
	seen := map[string]bool{}
	for _, p := range paths {
		for _, d := range engine.WriteDirs(p, files[p]) {
			if !seen[d] {
				seen[d] = true
				engine.RemoveLeftovers(d)
			}
		}
	}
}
