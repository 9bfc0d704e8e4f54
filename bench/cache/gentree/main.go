// Command gentree writes the synthetic module the cache benchmarks use:
// gentree -n 1000 -files 10 -size 10240 DIR.
package main

import (
	"flag"
	"fmt"
	"os"

	cachebench "github.com/cmdt-dev/cmdt/bench/cache"
)

func main() {
	var tr cachebench.Tree
	flag.IntVar(&tr.N, "n", 1000, "transcripts")
	flag.IntVar(&tr.Files, "files", 10, "declared files per transcript")
	flag.IntVar(&tr.Size, "size", 10240, "bytes per file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gentree [-n N] [-files F] [-size BYTES] DIR")
		os.Exit(2)
	}
	if err := tr.Generate(flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "gentree:", err)
		os.Exit(1)
	}
}
