// Command transcript checks, updates and records `.cmdt` transcripts, and
// reports on their dependencies and cached results.
//
// Exit status: 0 when everything passed, 1 when a check failed, 2 for
// usage, syntax or I/O errors.
package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/cmdt-dev/cmdt/engine"
)

// extraCommands lets subcommands living in their own files register
// themselves without editing the root command.
var extraCommands []func() *cobra.Command

// exitCode carries a non-default exit status out of a command.
type exitCode struct {
	code int
	err  error // printed when non-nil
}

func (e *exitCode) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit status %d", e.code)
}

func (e *exitCode) Unwrap() error { return e.err }

// usageError marks errors that should exit 2.
func usageError(format string, a ...any) error {
	return &exitCode{code: 2, err: fmt.Errorf(format, a...)}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "transcript",
		Short:         "Check, update and record .cmdt command-line transcripts",
		SilenceUsage:  true,
		SilenceErrors: true,
		// --version prints what `transcript version` prints.
		Version: engine.DisplayVersion(),
	}
	root.SetVersionTemplate(versionLine())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitCode{code: 2, err: fmt.Errorf("%w\nrun '%s --help' for usage", err, c.CommandPath())}
	})
	root.AddCommand(newCheckCmd(), newUpdateCmd(), newShellCmd(), newDepsCmd(), newVersionCmd(), newDoctorCmd())
	for _, f := range extraCommands {
		root.AddCommand(f())
	}
	return root
}

func main() {
	tuneGC()
	// This process owns every child it starts: orphans that escape their
	// command's group come back to it, to be killed and reaped.
	engine.AdoptOrphans()
	os.Exit(run(os.Args[1:]))
}

// tuneGC trades memory for CPU, as a short-lived batch process can: the
// live heap of a check is small, but running shell commands allocates
// fast (the shell parser allocates per command), and with the default
// GOGC the collector costs a third of the CPU and keeps --jobs from
// scaling. Collection is left to a memory ceiling instead. GOGC and
// GOMEMLIMIT set by the user win.
// gcCeiling is the memory limit tuneGC leaves collection to.
const gcCeiling = 256 << 20

func tuneGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(gcCeiling)
	debug.SetGCPercent(-1)
}

// parseHeapRatio is about how many bytes of parse tree a transcript's byte
// becomes (bench/large: 23× for a 50 MB transcript of short lines).
const parseHeapRatio = 25

// fitGCToInput is called before parsing n bytes of transcripts. tuneGC's
// ceiling suits the usual small parse tree; a large transcript's tree can
// exceed it, and with collection left to the ceiling the collector then
// runs back to back from the parse to the end of the check (a 50 MB
// transcript: 17 s of CPU instead of 4.5, 98 s of wall time instead of 18).
// When the tree would take more than half the ceiling, Go's default pacing
// (GOGC=100, no ceiling) takes over: a collection each time the heap
// doubles. GOGC and GOMEMLIMIT set by the user win.
func fitGCToInput(n int64) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if n*parseHeapRatio > gcCeiling/2 {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	}
}

func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ec *exitCode
	if errors.As(err, &ec) {
		if ec.err != nil {
			fmt.Fprintln(os.Stderr, "transcript:", ec.err)
		}
		return ec.code
	}
	fmt.Fprintln(os.Stderr, "transcript:", err)
	return 2
}
