package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cmdt-dev/cmdt/engine"
)

func newDepsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "deps FILE",
		Short: "Print a transcript's declared dependencies, resolved, without running it",
		Long: `Print a transcript's declared dependencies (% dep, % depfile and depfile
entries) resolved to absolute paths: kind, path or name, whether it exists,
and whether it lies inside the module root (go test ignores files outside it).
Nothing is run: relative paths follow literal "cd DIR" commands.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := readTranscript(args[0])
			if err != nil {
				return &exitCode{code: 2, err: err}
			}
			dir := engine.TranscriptDir(args[0])
			root := engine.FindModuleRoot(dir)
			inputs, errs, _ := engine.ResolveStatic(f, dir, root, nil)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if inputs == nil {
					inputs = []engine.Input{}
				}
				if err := enc.Encode(map[string]any{"root": root, "deps": inputs}); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "KIND\tPATH\tEXISTS\tROOT\tLINE")
				for _, in := range inputs {
					where := "inside"
					if !in.InRoot {
						where = "OUTSIDE"
					}
					name := in.Path
					if in.Kind == engine.InputEnv {
						name = "$" + in.Name
						where = "-"
					} else if rel, err := filepath.Rel(root, in.Path); err == nil && in.InRoot {
						name = rel
					}
					if in.Via != "" {
						name += " (via " + displayPath(in.Via) + ")"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", in.Kind, name, yesNo(in.Exists), where, in.Line)
				}
				tw.Flush()
			}
			if len(errs) > 0 {
				return &exitCode{code: 2, err: errs}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// relIfUnder returns p relative to dir when p lies under dir, else "".
func relIfUnder(dir, p string) string {
	abs, err := filepath.Abs(p)
	if err != nil || !engine.IsWithin(dir, abs) {
		return ""
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		return ""
	}
	return rel
}
