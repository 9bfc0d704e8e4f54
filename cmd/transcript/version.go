package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/trace"
)

// versionLine is what `transcript version` and `transcript --version` print.
func versionLine() string {
	return fmt.Sprintf("transcript %s (%s %s/%s)\n", engine.DisplayVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newVersionCmd() *cobra.Command {
	var verbose bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the version (-v: build details and the tracing backend)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			fmt.Fprint(out, versionLine())
			if verbose {
				printBuildDetails(out)
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "also print build details and whether file tracing works here")
	return c
}

// printBuildDetails prints one "label: value" line per detail: the build's
// provenance, the cache key version, and which file tracer (the result
// cache relies on it for undeclared inputs) runs here: ebpf, ptrace or off.
func printBuildDetails(w io.Writer) {
	for _, d := range engine.BuildDetails() {
		fmt.Fprintf(w, "%s: %s\n", d[0], d[1])
	}
	fmt.Fprintf(w, "cache key version: %s\n", engine.Version)
	// The backend --trace=auto picks here, now (see transcript doctor).
	if b, err := trace.SelectBackend("auto"); err != nil {
		fmt.Fprintf(w, "tracing: %v\n", err)
	} else {
		fmt.Fprintf(w, "tracing: %s\n", b)
	}
}
