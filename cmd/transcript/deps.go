package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/trace"
	"github.com/cmdt-dev/cmdt/parser"
)

func newDepsCmd() *cobra.Command {
	var asJSON, observed, all, write bool
	var traceSetting string
	cmd := &cobra.Command{
		Use:   "deps FILE",
		Short: "Print a transcript's declared dependencies, resolved, without running it",
		Long: `Print a transcript's declared dependencies (% dep, % depfile and depfile
entries) resolved to absolute paths: kind, path or name, whether it exists,
and whether it lies inside the module root (go test ignores files outside it).
Nothing is run: relative paths follow the session's directory as the
static walker sees it (literal "cd DIR", "cd DIR && ...", pushd/popd;
a cd it cannot follow leaves the transcript's directory).

With --observed, the transcript IS run (traced where supported) and the
inputs it used are listed instead: environment variables the shell read,
files it redirected from, programs it ran, expected-output files, and
files subprocesses read; those no declaration covers are marked
"undeclared". Files outside the module root are left out unless --all.

With --observed --write, the declarations those undeclared inputs need are
added to the transcript (atomically, after the % dep lines that precede
the first command): the ones the language server's quick fix writes, one
or a few per command, e.g. "% dep glob *.go" and "% dep file go.mod" for a
Go build, "% dep glob d/*" for "ls d". Absent paths a toolchain probes
(go.work, vendor, ...) need none: the traced cache notices them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := readTranscript(args[0])
			if err != nil {
				if asJSON && !observed {
					// Still a document: the problem, at its line.
					root := engine.FindModuleRoot(engine.TranscriptDir(args[0]))
					doc := depsDoc{docHeader: header("deps"), Root: root, Deps: []engine.Input{}, Problems: problemsOf(err)}
					if werr := encodeJSON(cmd.OutOrStdout(), doc); werr != nil {
						return werr
					}
				}
				return &exitCode{code: 2, err: err}
			}
			if write && !observed {
				return usageError("--write needs --observed (it declares what a run observed)")
			}
			if observed {
				return printObserved(cmd, f, args[0], traceSetting, asJSON, all, write)
			}
			dir := engine.TranscriptDir(args[0])
			root := engine.FindModuleRoot(dir)
			inputs, errs, _ := engine.ResolveStatic(f, dir, root, nil)
			if asJSON {
				doc := depsDoc{docHeader: header("deps"), Root: root, Deps: inputs}
				if doc.Deps == nil {
					doc.Deps = []engine.Input{}
				}
				if len(errs) > 0 {
					doc.Problems = problemsOf(errs)
				}
				if err := encodeJSON(cmd.OutOrStdout(), doc); err != nil {
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
	cmd.Flags().BoolVar(&observed, "observed", false, "run the transcript and list the inputs it used, marking undeclared ones")
	cmd.Flags().BoolVar(&all, "all", false, "with --observed: include inputs outside the module root (system files)")
	cmd.Flags().StringVar(&traceSetting, "trace", "auto", "with --observed: trace subprocesses: "+trace.Settings)
	cmd.Flags().BoolVar(&write, "write", false, "with --observed: add the declarations the undeclared inputs need to the transcript")
	return cmd
}

// depsDoc is the deps --json document (schema: deps).
type depsDoc struct {
	docHeader
	Root     string         `json:"root"`
	Deps     []engine.Input `json:"deps"`
	Problems []problem      `json:"problems,omitempty"`
}

// depsObservedDoc is the deps --observed --json document (schema: depsObserved).
type depsObservedDoc struct {
	docHeader
	Root     string          `json:"root"`
	Observed []observedInput `json:"observed"`
	Passed   bool            `json:"passed"`
}

// observedInput is one row of `deps --observed`.
type observedInput struct {
	engine.Input
	// Declared: a declaration covers it; Undeclared: it needs one (a file a
	// subprocess read). Neither: the shell observed it itself.
	Declared   bool `json:"declared"`
	Undeclared bool `json:"undeclared"`
}

func printObserved(cmd *cobra.Command, f *parser.File, path, traceSetting string, asJSON, all, write bool) error {
	l, why, err := trace.NewLauncher(traceSetting, nil)
	if err != nil {
		return usageError("%v", err)
	}
	if tl, ok := l.(*trace.Launcher); ok && tl.Name() == "off" {
		why = errors.New(tl.Backend().Why)
		l = nil
	}
	if l == nil && why != nil && traceSetting != "off" {
		fmt.Fprintf(cmd.ErrOrStderr(), "transcript: note: files read by subprocesses are not observed: %v\n", why)
	}
	res, err := engine.Run(cmd.Context(), f, engine.Options{Launcher: l})
	if err != nil {
		return &exitCode{code: 2, err: err}
	}
	sugs := engine.Suggest(res)
	undeclared := map[string]bool{}
	for _, s := range sugs {
		for _, in := range s.Inputs {
			undeclared[in.Key()] = true
		}
	}
	var rows []observedInput
	for _, in := range res.Observed {
		if !in.InRoot && !all {
			continue
		}
		rows = append(rows, observedInput{Input: in, Declared: engine.Covered(res.Declared, in),
			Undeclared: undeclared[in.Key()]})
	}
	if write {
		if err := writeDeclarations(cmd, f, path, res, sugs); err != nil {
			return err
		}
	}
	if asJSON {
		if rows == nil {
			rows = []observedInput{}
		}
		return encodeJSON(cmd.OutOrStdout(), depsObservedDoc{docHeader: header("depsObserved"), Root: res.Root, Observed: rows, Passed: res.Passed()})
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tPATH\tEXISTS\tLINE\tSEEN\tDECLARED")
	for _, r := range rows {
		name := r.Path
		if r.Kind == engine.InputEnv {
			name = "$" + r.Name
		} else if rel, err := filepath.Rel(res.Root, r.Path); err == nil && r.InRoot {
			name = rel
		}
		seen := r.Origin.String()
		if r.Via != "" {
			seen += " by " + filepath.Base(r.Via)
		}
		declared := "not needed"
		switch {
		case r.Declared:
			declared = "yes"
		case r.Undeclared:
			declared = "UNDECLARED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.Kind, name, yesNo(r.Exists), r.Line, seen, declared)
	}
	return tw.Flush()
}

// writeDeclarations adds the suggested declarations to the transcript at
// path, atomically, refusing a transcript outside the module root or one
// edited while it ran.
func writeDeclarations(cmd *cobra.Command, f *parser.File, path string, res *engine.Result, sugs []engine.Suggestion) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return &exitCode{code: 2, err: err}
	}
	decls := engine.DeclarationLines(sugs, filepath.Dir(abs))
	if len(decls) == 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "transcript: %s: nothing to declare\n", path)
		return nil
	}
	if !engine.IsWithin(res.Root, abs) {
		return &exitCode{code: 2, err: fmt.Errorf("%s: %w %s", path, engine.ErrOutsideRoot, res.Root)}
	}
	src, err := engine.ReadRegular(abs, engine.MaxTranscriptSize)
	if err != nil {
		return &exitCode{code: 2, err: err}
	}
	if cur := parser.Parse(abs, src); len(cur.Lines) != len(f.Lines) || !sameText(cur, f) {
		return &exitCode{code: 2, err: fmt.Errorf("%s changed while it ran; nothing written", path)}
	}
	if _, err := engine.WriteInRoot(res.Root, abs, engine.InsertDeclarations(src, f, decls)); err != nil {
		return &exitCode{code: 2, err: err}
	}
	for _, d := range decls {
		fmt.Fprintf(cmd.ErrOrStderr(), "transcript: %s: added %s\n", path, d)
	}
	return nil
}

// sameText reports whether two parses hold the same lines.
func sameText(a, b *parser.File) bool {
	for i := range a.Lines {
		if a.Lines[i].Text != b.Lines[i].Text {
			return false
		}
	}
	return true
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
