package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aymanbagabas/go-udiff"
	"github.com/spf13/cobra"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

func newUpdateCmd() *cobra.Command {
	var dryRun, diff bool
	var envSetting string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "update FILE...",
		Short: "Re-run transcripts and rewrite their expectations",
		Long: `Re-run transcripts and rewrite their expected output and exit status,
keeping comments, blank lines, directives and command text exactly as written.
Binary output goes to files referenced with 1< / 2<. A file is rewritten only
if its content changes, atomically; a failed update leaves it untouched.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if st, err := os.Stat(a); err == nil && st.IsDir() {
					return usageError("%s is a directory: update takes transcript files (nothing was touched)", a)
				}
			}
			mode, err := envMode(envSetting)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			status := 0
			for _, path := range args {
				f, err := readTranscript(path)
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "transcript: %v\n", err)
					status = 2
					continue
				}
				removeLeftovers([]string{path}, map[string]*parser.File{path: f})
				// The environment check runs it with, so the expectations
				// written are the ones check compares against.
				res, err := engine.Run(ctx, f, engine.Options{Timeout: timeout, Env: engine.ProgramEnv(os.Environ(), mode, f)})
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "transcript: %s: %v (not updated)\n", path, err)
					status = 2
					continue
				}
				plan, err := engine.PlanUpdate(res)
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "transcript: %v\n", err)
					status = 2
					continue
				}
				switch {
				case dryRun || diff:
					writes, err := engine.PreviewUpdate(path, plan, res.Root)
					if err != nil {
						fmt.Fprintf(cmd.ErrOrStderr(), "transcript: %v\n", err)
						status = 2
						continue
					}
					if dryRun {
						printDryRun(cmd.OutOrStdout(), writes, len(args) > 1)
					} else {
						printUpdateDiff(cmd.OutOrStdout(), writes)
					}
					for _, w := range writes {
						if w.Refused != nil && w.Changed() {
							fmt.Fprintf(cmd.ErrOrStderr(), "transcript: update would refuse: %v\n", w.Refused)
							status = 2
						}
					}
				default:
					written, err := engine.WriteUpdate(path, plan, res.Root)
					if err != nil {
						fmt.Fprintf(cmd.ErrOrStderr(), "transcript: %v\n", err)
						status = 2
						continue
					}
					for _, w := range written {
						fmt.Fprintf(cmd.OutOrStdout(), "updated %s\n", displayPath(w))
					}
				}
			}
			if status != 0 {
				return &exitCode{code: status}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "print the updated transcript, and diffs of the output files it references, and write nothing")
	cmd.Flags().BoolVar(&diff, "diff", false, "print a unified diff of every file the update would change, and write nothing")
	cmd.Flags().DurationVar(&timeout, "timeout", engine.DefaultTimeout, "timeout for each command")
	registerEnvFlag(cmd, &envSetting)
	cmd.MarkFlagsMutuallyExclusive("dry-run", "diff")
	return cmd
}

// displayPath shows a path relative to the working directory when shorter.
func displayPath(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel := relIfUnder(wd, p); rel != "" {
			return rel
		}
	}
	return p
}

// printUpdateDiff prints every change an update would write: a unified diff
// per text file (its ---/+++ lines name it), and sizes for a binary file.
func printUpdateDiff(w io.Writer, writes []engine.PlannedWrite) {
	for _, pw := range writes {
		if !pw.Changed() {
			continue
		}
		fmt.Fprint(w, fileChange(pw))
	}
}

// printDryRun prints the updated transcript and the changes to the files it
// references. A header ("==> PATH <==", as head(1) prints) precedes each
// part when there is more than one: several transcripts, or a transcript
// with referenced files that change. One transcript alone prints just its
// text, which can be redirected to a file.
func printDryRun(w io.Writer, writes []engine.PlannedWrite, many bool) {
	files := 0
	for _, pw := range writes[1:] {
		if pw.Changed() {
			files++
		}
	}
	headers := many || files > 0
	for _, pw := range writes {
		if !pw.Transcript && !pw.Changed() {
			continue
		}
		if headers {
			fmt.Fprintf(w, "==> %s <==\n", displayPath(pw.Path))
		}
		if pw.Transcript {
			w.Write(pw.New)
			if len(pw.New) > 0 && pw.New[len(pw.New)-1] != '\n' {
				// As the origin tool does, a dry run ends in a newline even
				// when the transcript does not (and the next header starts
				// a line).
				fmt.Fprintln(w)
			}
			continue
		}
		fmt.Fprint(w, fileChange(pw))
	}
}

// fileChange renders one changed file: a unified diff of text, or the sizes
// of binary content ("binary file changed: N → M bytes").
func fileChange(pw engine.PlannedWrite) string {
	name := displayPath(pw.Path)
	from := name
	if !pw.Exists {
		from = "/dev/null"
	}
	if pw.Binary() {
		if !pw.Exists {
			return fmt.Sprintf("--- %s\n+++ %s\nbinary file created: %d bytes\n", from, name, len(pw.New))
		}
		return fmt.Sprintf("--- %s\n+++ %s\nbinary file changed: %d → %d bytes\n", from, name, len(pw.Old), len(pw.New))
	}
	d := udiff.Unified(from, name, string(pw.Old), string(pw.New))
	if d != "" && !strings.HasSuffix(d, "\n") {
		d += "\n"
	}
	return d
}
