package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/engine/watch"
)

// runWatch is `check --watch`: an initial check (cache hits skip), then,
// for every batch of changes, exactly the transcripts the batch made
// stale (engine/watch decides), until Ctrl-C, which ends the running
// commands' process groups and exits 130.
func runWatch(cmd *cobra.Command, args []string, o *checkOptions) error {
	if o.junit != "" {
		return usageError("--junit cannot be combined with --watch")
	}
	if o.run.shard != "" {
		return usageError("--shard cannot be combined with --watch")
	}
	// A long-running process: collect garbage as usual (tuneGC turns the
	// collector off for one-shot checks).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(100)
	}
	env, err := o.run.prepare(cmd)
	if err != nil {
		return err
	}
	defer env.close()
	var ignore []string
	if env.cache != nil {
		ignore = append(ignore, env.cache.Dir())
	}
	w, err := watch.New(watch.Options{Paths: args, Cache: env.cache, Ignore: ignore,
		// What checkFile will look up and record for it.
		Target: func(path string) cache.Target { return env.target(path, nil) }})
	if err != nil {
		return watchFailed(cmd, o, err)
	}
	defer w.Close()
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	view := newWatchView(cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
	names := w.Names()
	view.start(names, w.Dirs())
	round, err := w.Initial(ctx)
	for n := 0; err == nil; n++ {
		view.roundStart(n, round)
		runRound(ctx, env, w, round, o, view)
		view.roundEnd(n, round, len(w.Transcripts()), w.Dirs())
		if ctx.Err() != nil {
			break
		}
		round, err = w.Next(ctx)
	}
	if ctx.Err() != nil {
		view.stopped()
		return &exitCode{code: 130}
	}
	return watchFailed(cmd, o, err)
}

// watchFailed reports a problem that stops watching (also as an error
// event with --json) and exits 2.
func watchFailed(cmd *cobra.Command, o *checkOptions, err error) error {
	if o.json {
		ev := newWatchEvent("error")
		ev.Error = err.Error()
		writeEvent(cmd.OutOrStdout(), ev)
	}
	return &exitCode{code: 2, err: err}
}

// runRound runs a round's transcripts, jobs at a time, and tells the
// watcher what each run used.
func runRound(ctx context.Context, env *runEnv, w *watch.Watcher, r watch.Round, o *checkOptions, view *watchView) {
	stopped := func() bool { return ctx.Err() != nil }
	inParallel(len(r.Run), o.jobs, stopped, func(i int) {
		it := r.Run[i]
		view.running(it)
		start := time.Now()
		var out *fileOutcome
		f, err := readTranscript(it.Path)
		if err != nil {
			out = &fileOutcome{path: it.Name, status: "error", err: err, duration: time.Since(start)}
		} else {
			out = env.checkFile(ctx, it.Path, f, o.timeout)
			out.path = it.Name
		}
		out.reasons = it.Reasons
		if ctx.Err() == nil {
			w.Ran(it.Path, out.result)
		}
		view.done(it, out)
	})
}

// watchView shows the rounds: a compact screen redrawn per round on a
// terminal, plain lines otherwise, or JSON events (--json).
type watchView struct {
	o        *checkOptions
	outW     io.Writer
	st       style
	tty      bool
	progress *progress

	mu      sync.Mutex
	round   int
	started time.Time
	ran     []*fileOutcome
	failing map[string]*fileOutcome // last failed outcome of each transcript still failing
	passing map[string]bool
}

func newWatchView(stdout, stderr io.Writer, o *checkOptions) *watchView {
	v := &watchView{o: o, outW: stdout, failing: map[string]*fileOutcome{}, passing: map[string]bool{}}
	v.st = newStyle(stdout)
	v.tty = !o.json && newProgress(stdout, 0, true).on
	v.progress = newProgress(stderr, 0, !o.json)
	return v
}

func (v *watchView) printf(format string, a ...any) {
	fmt.Fprintf(v.outW, format, a...)
}

func (v *watchView) start(transcripts []string, dirs int) {
	if v.o.json {
		ev := newWatchEvent("start")
		ts := nonNil(transcripts)
		ev.Transcripts, ev.Directories = &ts, intp(dirs)
		writeEvent(v.outW, ev)
		return
	}
	if !v.tty {
		v.printf("watching %d transcripts (%d directories)\n", len(transcripts), dirs)
	}
}

func (v *watchView) roundStart(n int, r watch.Round) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.round, v.started, v.ran = n, time.Now(), nil
	for _, it := range r.Removed {
		delete(v.failing, it.Name)
		delete(v.passing, it.Name)
	}
	v.progress.mu.Lock()
	v.progress.total, v.progress.done = len(r.Run), 0
	v.progress.mu.Unlock()
	if v.o.json {
		ev := newWatchEvent("change")
		changed, stale := nonNil(r.Changed), []string{}
		ev.Round, ev.Changed, ev.Transcripts = intp(n), &changed, &stale
		for _, it := range r.Run {
			stale = append(stale, it.Name)
			ev.Stale = append(ev.Stale, staleEntry{Path: it.Name, Reasons: nonNil(it.Reasons)})
		}
		for _, it := range r.Removed {
			ev.Removed = append(ev.Removed, it.Name)
		}
		writeEvent(v.outW, ev)
		return
	}
	if v.tty {
		v.printf("\x1b[H\x1b[2J") // a fresh screen per round
	}
	when := v.started.Format("15:04:05")
	switch {
	case n == 0:
		v.printf("%s initial check: %d to run\n", v.st.dim(when), len(r.Run))
	default:
		v.printf("%s round %d: %s\n", v.st.dim(when), n, changedSummary(r.Changed))
	}
	for _, it := range r.Removed {
		v.printf("gone  %s\n", it.Name)
	}
}

// changedSummary names up to three changed paths.
func changedSummary(changed []string) string {
	switch len(changed) {
	case 0:
		return "inputs changed"
	case 1, 2, 3:
		return fmt.Sprintf("%s changed", joinComma(changed))
	}
	return fmt.Sprintf("%s and %d more changed", joinComma(changed[:3]), len(changed)-3)
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (v *watchView) running(it watch.Item) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.o.json {
		return
	}
	v.progress.clear()
	v.printf("run   %s: %s\n", it.Name, joinComma(it.Reasons))
	v.progress.start(it.Name)
}

func (v *watchView) done(it watch.Item, out *fileOutcome) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.ran = append(v.ran, out)
	if out.status == "pass" {
		delete(v.failing, out.path)
		v.passing[out.path] = true
	} else {
		delete(v.passing, out.path)
		v.failing[out.path] = out
	}
	if v.o.json {
		ev := newWatchEvent("result")
		f := fileJSON(out)
		ev.Round, ev.File = intp(v.round), &f
		writeEvent(v.outW, ev)
		return
	}
	v.progress.finish(it.Name)
	v.progress.clear()
	reasons := out.reasons
	out.reasons = nil // said on the "run" line already
	v.printf("%s", renderOutcome(out, v.st, v.o.verbose))
	out.reasons = reasons
	v.progress.redraw()
}

func (v *watchView) roundEnd(n int, r watch.Round, transcripts, dirs int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := summarize(v.ran, time.Since(v.started))
	if v.o.json {
		ev := newWatchEvent("run")
		doc := newCheckDoc(v.ran, s, nil)
		ev.Round, ev.Report, ev.Failing = intp(n), &doc, intp(len(v.failing))
		writeEvent(v.outW, ev)
		return
	}
	v.progress.clear()
	var still []string
	ranNow := map[string]bool{}
	for _, o := range v.ran {
		ranNow[o.path] = true
	}
	for p := range v.failing {
		if !ranNow[p] {
			still = append(still, p)
		}
	}
	sort.Strings(still)
	for _, p := range still {
		v.printf("%s %s (not affected by this round)\n", v.st.red("FAIL"), p)
		if v.tty {
			v.printf("%s", indentFailures(v.failing[p], v.st))
		}
	}
	line := fmt.Sprintf("ran %d: %s", len(v.ran), s.line(v.st))
	failing := fmt.Sprintf("%d failing", len(v.failing))
	if len(v.failing) > 0 {
		failing = v.st.red(failing)
	}
	v.printf("%s · %d transcripts, %s · watching %d directories%s\n", line, transcripts, failing, dirs,
		map[bool]string{true: " · Ctrl-C to stop", false: ""}[v.tty])
}

// indentFailures renders a failed outcome's failures (no header line).
func indentFailures(o *fileOutcome, st style) string {
	if o.result == nil {
		return ""
	}
	out := ""
	for _, c := range o.result.Failures() {
		out += indent(renderFailure(o.path, c.Failure, st), "    ")
	}
	return out
}

func (v *watchView) stopped() {
	v.progress.clear()
	if v.o.json {
		writeEvent(v.outW, newWatchEvent("stop"))
		return
	}
	v.printf("interrupted\n")
}
