package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

type checkOptions struct {
	jobs    int
	verbose bool
	timeout time.Duration
	json    bool
	junit   string
	format  string
	watch   bool
	strict  bool
	run     runOptions
}

func newCheckCmd() *cobra.Command {
	o := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check [paths...]",
		Short: "Run transcripts and compare their output with the expectations",
		Long: `Run transcripts and compare their output with the expectations.

Paths are files, directories (searched recursively for *.cmdt) or dir/...;
no path means ./... . Each transcript's session starts in its own directory,
so results do not depend on where the command is typed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.watch {
				return runWatch(cmd, args, o)
			}
			return runCheck(cmd, args, o)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.jobs, "jobs", "j", runtime.NumCPU(), "number of transcripts to run in parallel")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "print every command with its status and duration")
	f.DurationVar(&o.timeout, "timeout", engine.DefaultTimeout, "timeout for each command")
	f.BoolVar(&o.json, "json", false, "print a JSON report instead of text")
	f.StringVar(&o.junit, "junit", "", "also write a JUnit XML report to `FILE`")
	f.StringVar(&o.format, "format", "", "text, or github: also print failures as GitHub Actions annotations at file:line (the default under GITHUB_ACTIONS=true)")
	f.BoolVarP(&o.watch, "watch", "w", false, "keep watching: re-run exactly the transcripts each file change makes stale (--json: one event per line)")
	f.BoolVar(&o.strict, "strict-deps", false, "fail a transcript whose traced run read an in-root input no declaration covers (runs every transcript; needs tracing)")
	o.run.register(cmd)
	return cmd
}

// fileOutcome is one transcript's result, as reports need it.
type fileOutcome struct {
	path    string
	status  string // "pass", "fail", "error"
	cached  bool
	reasons []string // why it was not served from the cache
	// notCached says why a passing run was not cached ("" when it was).
	notCached string
	// undeclared are --strict-deps failures: inputs the run read that no
	// declaration covers, one message per command.
	undeclared []string
	err        error
	result     *engine.Result
	duration   time.Duration
}

func runCheck(cmd *cobra.Command, args []string, o *checkOptions) (err error) {
	start := time.Now()
	annotate, err := githubFormat(o.format)
	if err != nil {
		return err
	}
	// The reports are written whatever happens: a syntax error, an
	// unreadable file or a problem that stops everything becomes an entry
	// with its file and line, so CI shows it instead of "no report".
	var outcomes []*fileOutcome
	defer func() { err = o.writeReports(cmd, outcomes, time.Since(start), err, annotate) }()

	paths, err := collectTranscripts(args)
	if err != nil {
		return usageError("%v", err)
	}
	if len(paths) == 0 {
		return noTranscripts(args)
	}
	o.run.verbose = o.verbose
	env, err := o.run.prepare(cmd)
	if err != nil {
		return err
	}
	defer env.close()
	if o.strict {
		if env.launcher == nil {
			return usageError("--strict-deps needs a traced run, and runs here are not traced (--trace=off, or tracing is unavailable: see transcript doctor)")
		}
		env.strictDeps = true
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	paths = env.selectShard(ctx, paths)
	env.prefetch(ctx, paths)
	// A transcript the cache serves is not even parsed: its text is one of
	// its recorded inputs, so it parsed when it passed. For a large
	// transcript that is most of a cached check's cost.
	fresh := env.freshSet(ctx, paths, o.jobs)
	var toParse []string
	for _, p := range paths {
		if !fresh[p] {
			toParse = append(toParse, p)
		}
	}
	files, bad := parseAll(toParse, o.jobs)
	removeLeftovers(paths, files)
	if len(bad) > 0 {
		outcomes = bad
		return parseFailure(bad, len(paths))
	}

	stdout := cmd.OutOrStdout()
	style := newStyle(stdout)
	progress := newProgress(cmd.ErrOrStderr(), len(paths), !o.json)
	printer := newOrderedPrinter(len(paths), func(i int, out *fileOutcome) {
		progress.clear()
		if !o.json {
			io.WriteString(stdout, renderOutcome(out, style, o.verbose))
		}
		progress.redraw()
	})
	outcomes = make([]*fileOutcome, len(paths))
	stopped := func() bool { return ctx.Err() != nil }
	inParallel(len(paths), o.jobs, stopped, func(i int) {
		path := paths[i]
		progress.start(path)
		var out *fileOutcome
		if fresh[path] {
			out = &fileOutcome{path: path, status: "pass", cached: true}
		} else {
			out = env.checkFile(ctx, path, files[path], o.timeout)
		}
		outcomes[i] = out
		progress.finish(path)
		printer.done(i, out)
	})
	progress.clear()

	sum := summarize(outcomes, time.Since(start))
	if !o.json {
		fmt.Fprintln(stdout, sum.line(style))
	}
	switch {
	case ctx.Err() != nil:
		return &exitCode{code: 2, err: fmt.Errorf("interrupted")}
	case sum.errors > 0:
		return &exitCode{code: 2}
	case sum.failed > 0:
		return &exitCode{code: 1}
	}
	return nil
}

// writeReports writes the JSON report (stdout), the JUnit file and the
// GitHub annotations for whatever outcomes there are, and returns the
// command's error: runErr, or the failure to write a report.
func (o *checkOptions) writeReports(cmd *cobra.Command, outcomes []*fileOutcome, elapsed time.Duration, runErr error, annotate bool) error {
	if !o.json && o.junit == "" && !annotate {
		return runErr
	}
	// A problem that stopped the whole check (not a failed or errored file,
	// which the outcomes hold) is reported on its own.
	var fatal error
	var ec *exitCode
	switch {
	case runErr == nil:
	case errors.As(runErr, &ec) && ec.err == nil:
	case isParseFailure(runErr): // the files' outcomes say it
	default:
		fatal = runErr
	}
	sum := summarize(outcomes, elapsed)
	if annotate {
		w := cmd.OutOrStdout()
		if o.json {
			w = cmd.ErrOrStderr()
		}
		writeAnnotations(w, outcomes, fatal)
	}
	if o.json {
		if err := writeJSON(cmd.OutOrStdout(), outcomes, sum, fatal); err != nil {
			return &exitCode{code: 2, err: err}
		}
	}
	if o.junit != "" {
		if err := writeJUnit(o.junit, outcomes, sum, fatal); err != nil {
			return &exitCode{code: 2, err: fmt.Errorf("--junit: %w", err)}
		}
	}
	return runErr
}

// parseAll reads and parses every transcript (jobs at a time). Files that
// cannot be read or parsed come back as "error" outcomes, in path order.
func parseAll(paths []string, jobs int) (map[string]*parser.File, []*fileOutcome) {
	var total int64
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			total += st.Size()
		}
	}
	fitGCToInput(total)
	files := make([]*parser.File, len(paths))
	errs := make([]error, len(paths))
	inParallel(len(paths), jobs, nil, func(i int) {
		src, err := engine.ReadRegular(paths[i], engine.MaxTranscriptSize)
		if err != nil {
			errs[i] = err
			return
		}
		f := parser.Parse(paths[i], src)
		if len(f.Errors) > 0 {
			errs[i] = f.Errors
			return
		}
		files[i] = f
	})
	byPath := make(map[string]*parser.File, len(paths))
	var bad []*fileOutcome
	for i, p := range paths {
		if errs[i] != nil {
			bad = append(bad, &fileOutcome{path: p, status: "error", err: errs[i]})
			continue
		}
		byPath[p] = files[i]
	}
	return byPath, bad
}

// parseFailureError is the error of a check stopped by files that could
// not be read or parsed: a syntax error anywhere stops the command before
// anything runs.
type parseFailureError struct{ msg string }

func (e *parseFailureError) Error() string { return e.msg }

func parseFailure(bad []*fileOutcome, total int) error {
	lines := make([]string, len(bad))
	for i, b := range bad {
		lines[i] = b.err.Error()
	}
	msg := strings.Join(lines, "\n")
	if len(bad) < total {
		msg += "\nnothing was run"
	}
	return &exitCode{code: 2, err: &parseFailureError{msg}}
}

func isParseFailure(err error) bool {
	var pf *parseFailureError
	return errors.As(err, &pf)
}

// summary counts outcomes for the closing line and reports.
type summary struct {
	passed, cached, failed, errors int
	elapsed                        time.Duration
}

func summarize(outcomes []*fileOutcome, elapsed time.Duration) summary {
	s := summary{elapsed: elapsed}
	for _, o := range outcomes {
		if o == nil {
			continue
		}
		switch o.status {
		case "pass":
			s.passed++
			if o.cached {
				s.cached++
			}
		case "fail":
			s.failed++
		default:
			s.errors++
		}
	}
	return s
}

func (s summary) line(st style) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d passed", s.passed)
	if s.cached > 0 {
		fmt.Fprintf(&b, " (%d cached)", s.cached)
	}
	failed := fmt.Sprintf("%d failed", s.failed)
	if s.failed > 0 {
		failed = st.red(failed)
	}
	fmt.Fprintf(&b, ", %s", failed)
	if s.errors > 0 {
		fmt.Fprintf(&b, ", %s", st.red(fmt.Sprintf("%d errors", s.errors)))
	}
	fmt.Fprintf(&b, " in %.2fs", s.elapsed.Seconds())
	return b.String()
}

// orderedPrinter prints outcomes in path order while they complete in
// any order: a file is printed as soon as every file before it is done.
type orderedPrinter struct {
	mu    sync.Mutex
	next  int
	ready []*fileOutcome
	print func(int, *fileOutcome)
}

func newOrderedPrinter(n int, print func(int, *fileOutcome)) *orderedPrinter {
	return &orderedPrinter{ready: make([]*fileOutcome, n), print: print}
}

func (p *orderedPrinter) done(i int, out *fileOutcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ready[i] = out
	for p.next < len(p.ready) && p.ready[p.next] != nil {
		p.print(p.next, p.ready[p.next])
		p.next++
	}
}
