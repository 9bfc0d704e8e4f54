package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aymanbagabas/go-udiff"
	"github.com/spf13/cobra"

	"github.com/cmdt-dev/cmdt/engine"
)

func newUpdateCmd() *cobra.Command {
	var dryRun, diff bool
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
				res, err := engine.Run(ctx, f, engine.Options{Timeout: timeout})
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
				case dryRun:
					cmd.OutOrStdout().Write(plan.Source)
				case diff:
					fmt.Fprint(cmd.OutOrStdout(), udiff.Unified(path, path, string(f.Bytes()), string(plan.Source)))
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
	cmd.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "print the updated transcript to stdout and write nothing")
	cmd.Flags().BoolVar(&diff, "diff", false, "print a unified diff of the update and write nothing")
	cmd.Flags().DurationVar(&timeout, "timeout", engine.DefaultTimeout, "timeout for each command")
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
