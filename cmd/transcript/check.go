package main

import (
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
			return runCheck(cmd, args, o)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.jobs, "jobs", "j", runtime.NumCPU(), "number of transcripts to run in parallel")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "print every command with its status and duration")
	f.DurationVar(&o.timeout, "timeout", engine.DefaultTimeout, "timeout for each command")
	f.BoolVar(&o.json, "json", false, "print a JSON report instead of text")
	f.StringVar(&o.junit, "junit", "", "also write a JUnit XML report to `FILE`")
	o.run.register(cmd)
	return cmd
}

// fileOutcome is one transcript's result, as reports need it.
type fileOutcome struct {
	path     string
	status   string // "pass", "fail", "error"
	cached   bool
	reasons  []string // why it was not served from the cache
	err      error
	result   *engine.Result
	duration time.Duration
}

func runCheck(cmd *cobra.Command, args []string, o *checkOptions) error {
	start := time.Now()
	paths, err := collectTranscripts(args)
	if err != nil {
		return usageError("%v", err)
	}
	if len(paths) == 0 {
		return noTranscripts(args)
	}
	files, err := parseAll(paths, o.jobs)
	if err != nil {
		return &exitCode{code: 2, err: err}
	}
	env, err := o.run.prepare(cmd)
	if err != nil {
		return err
	}
	defer env.close()
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	paths = env.selectShard(ctx, paths)
	env.prefetch(ctx, paths)

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
	outcomes := make([]*fileOutcome, len(paths))
	jobs := o.jobs
	if jobs < 1 {
		jobs = 1
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				path := paths[i]
				progress.start(path)
				out := env.checkFile(ctx, path, files[path], o.timeout)
				outcomes[i] = out
				progress.finish(path)
				printer.done(i, out)
			}
		}()
	}
	for i := range paths {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	progress.clear()

	sum := summarize(outcomes, time.Since(start))
	if o.json {
		if err := writeJSON(stdout, outcomes, sum); err != nil {
			return &exitCode{code: 2, err: err}
		}
	} else {
		fmt.Fprintln(stdout, sum.line(style))
	}
	if o.junit != "" {
		if err := writeJUnit(o.junit, outcomes, sum); err != nil {
			return &exitCode{code: 2, err: err}
		}
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

// parseAll reads and parses every transcript first (jobs at a time), so a
// syntax error anywhere stops the command before anything runs.
func parseAll(paths []string, jobs int) (map[string]*parser.File, error) {
	files := make([]*parser.File, len(paths))
	errs := make([]string, len(paths))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < max(jobs, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				src, err := os.ReadFile(paths[i])
				if err != nil {
					errs[i] = err.Error()
					continue
				}
				f := parser.Parse(paths[i], src)
				if len(f.Errors) > 0 {
					errs[i] = f.Errors.Error()
					continue
				}
				files[i] = f
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	byPath := make(map[string]*parser.File, len(paths))
	var bad []string
	for i, p := range paths {
		if errs[i] != "" {
			bad = append(bad, errs[i])
			continue
		}
		byPath[p] = files[i]
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s\nnothing was run", strings.Join(bad, "\n"))
	}
	return byPath, nil
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
