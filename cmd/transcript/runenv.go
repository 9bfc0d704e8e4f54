package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/engine/trace"
	"github.com/cmdt-dev/cmdt/parser"
)

// runOptions are the flags shared by commands that run transcripts or
// read the result cache.
type runOptions struct {
	noCache      bool
	cacheDir     string
	remoteURL    string
	remoteUpload bool
	shard        string
	trace        string
	verbose      bool // print why tracing fell back, if it does
	env          string
}

func (o *runOptions) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&o.noCache, "no-cache", false, "run every transcript, ignoring and not recording cached results")
	registerCacheFlags(cmd, &o.cacheDir, &o.remoteURL, &o.remoteUpload)
	f.StringVar(&o.shard, "shard", "", "run only shard `i/n` of the transcripts (1-based), balanced by recorded durations")
	f.StringVar(&o.trace, "trace", "auto", "observe the files subprocesses read, by `MODE`: auto (eBPF where BPF programs may load, else ptrace), ebpf, ptrace, unotify (seccomp user notification), on (any tracer), off; transcript doctor says which is used")
	registerEnvFlag(cmd, &o.env)
}

// registerEnvFlag adds --env, whose default comes from $CMDT_ENV.
func registerEnvFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "env", os.Getenv("CMDT_ENV"), "what programs see of the environment, by `MODE`: inherit (all but session-volatile variables, each one a cache input; the default) or declared (only PATH, HOME and the like, plus the names of % dep env lines: the mode for sharing results through a remote cache); default $CMDT_ENV")
}

// envMode parses an --env value.
func envMode(s string) (engine.EnvMode, error) {
	m, ok := engine.ParseEnvMode(s)
	if !ok {
		return "", usageError("--env must be inherit or declared, not %q", s)
	}
	return m, nil
}

// registerCacheFlags adds the flags that locate the cache.
func registerCacheFlags(cmd *cobra.Command, dir, remote *string, upload *bool) {
	f := cmd.Flags()
	f.StringVar(dir, "cache-dir", "", "result cache `DIR` (default $"+cache.EnvDir+", else the user cache dir)")
	f.StringVar(remote, "remote-cache", "", "share results through a Bazel-protocol HTTP cache at `URL` (default $CMDT_REMOTE_CACHE); headers come from $CMDT_REMOTE_CACHE_HEADERS")
	f.BoolVar(upload, "remote-upload", true, "upload results to the remote cache (false: read-only)")
}

// openCache opens the result cache named by a command's --cache-dir and
// --remote-cache flags and the environment. Remote problems are warned
// about once on stderr and never fail the command.
func openCache(cmd *cobra.Command) (*cache.Cache, error) {
	flag := func(name string) string {
		if f := cmd.Flags().Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	dir := flag("cache-dir")
	if dir == "" {
		d, err := cache.DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	url := flag("remote-cache")
	if url == "" {
		url = cache.RemoteURLFromEnv()
	}
	if url == "" {
		return cache.Open(dir)
	}
	warn := onceWarner(cmd.ErrOrStderr())
	opts, err := cache.RemoteOptionsFromEnv()
	if err != nil {
		return nil, usageError("%v", err)
	}
	opts.Warn = warn
	remote, err := cache.OpenRemote(url, opts)
	if err != nil {
		return nil, usageError("--remote-cache: %v", err)
	}
	return cache.OpenTiered(dir, remote, flag("remote-upload") != "false", warn)
}

// onceWarner prints the first warning it is given and drops the rest: a
// dead remote cache is worth one line, not one per transcript.
func onceWarner(w io.Writer) func(error) {
	var once sync.Once
	return func(err error) {
		once.Do(func() { fmt.Fprintf(w, "transcript: warning: %v (continuing with the local cache)\n", err) })
	}
}

// runEnv is what a command needs to run transcripts: the cache, the
// launcher (tracing) and shard selection.
type runEnv struct {
	cache    *cache.Cache // nil with --no-cache
	launcher engine.Launcher
	envMode  engine.EnvMode
	shard    string
	stderr   io.Writer
	warn     func(error)
	// strictDeps: check --strict-deps (strictdeps.go).
	strictDeps bool
	// looked holds what freshSet found for the transcripts it did not
	// find fresh, with the target it asked about: checkFile does not ask
	// the cache again (a stale lookup hashes every recorded input) when
	// its target is the same. Written by freshSet only, before any
	// checkFile reads it.
	looked map[string]lookedUp
}

// lookedUp is a cache verdict and the target it is about.
type lookedUp struct {
	target  cache.Target
	verdict cache.Verdict
}

func (o *runOptions) prepare(cmd *cobra.Command) (*runEnv, error) {
	e := &runEnv{shard: o.shard, stderr: cmd.ErrOrStderr()}
	var err error
	if e.envMode, err = envMode(o.env); err != nil {
		return nil, err
	}
	e.warn = func(err error) { fmt.Fprintf(e.stderr, "transcript: warning: %v\n", err) }
	if o.shard != "" {
		if _, _, err := cache.ParseShard(o.shard); err != nil {
			return nil, usageError("--shard: %v", err)
		}
	}
	var ignore []string
	if !o.noCache {
		c, err := openCache(cmd)
		if err == nil {
			err = c.Probe()
		}
		var usage *exitCode
		switch {
		case errors.As(err, &usage):
			return nil, err // a bad flag or setting, not a bad directory
		case err != nil:
			// An unusable cache directory (a file in its place, no write
			// permission) must not stop the checks: run them uncached.
			e.warn(fmt.Errorf("result cache unusable, running without it: %w", err))
		default:
			e.cache = c
			ignore = append(ignore, c.Dir())
		}
	}
	l, _, lerr := trace.NewLauncher(o.trace, ignore)
	err = lerr
	if err != nil {
		return nil, usageError("%v", err)
	}
	if tl, ok := l.(*trace.Launcher); ok && o.verbose {
		tl.Note = func(line string) { fmt.Fprintf(e.stderr, "transcript: note: %s\n", line) }
	}
	e.launcher = l
	return e, nil
}

func (e *runEnv) close() {
	if e.cache != nil {
		if err := e.cache.Flush(); err != nil {
			e.warn(err)
		}
	}
}

// target is what a check of path under this run's settings looks up and
// records (cache.RunTarget); f is the parsed transcript when known.
func (e *runEnv) target(path string, f *parser.File) cache.Target {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return cache.RunTarget(abs, nil, f, e.launcher, e.envMode, os.Environ())
}

// selectShard keeps the paths of this shard (all of them without
// --shard), balanced by the durations recorded in the local cache, and
// says which plan it followed so CI workers can be checked to agree.
func (e *runEnv) selectShard(ctx context.Context, paths []string) []string {
	if e.shard == "" {
		return paths
	}
	index, total, _ := cache.ParseShard(e.shard)
	items := make([]cache.ShardItem, len(paths))
	byItem := make(map[string]string, len(paths))
	var durations []time.Duration
	if e.cache != nil && e.cache.Local() != nil {
		targets := make([]cache.Target, len(paths))
		for i, p := range paths {
			targets[i] = e.target(p, nil)
		}
		durations, _ = cache.RecordedDurations(ctx, e.cache, e.cache.Local(), targets)
	}
	for i, p := range paths {
		// Root-relative names, so workers with different checkout paths agree.
		t := e.target(p, nil)
		name := p
		if rel, err := filepath.Rel(engine.FindModuleRoot(filepath.Dir(t.Path)), t.Path); err == nil {
			name = rel
		}
		items[i] = cache.ShardItem{Path: name}
		if i < len(durations) {
			items[i].Duration = durations[i]
		}
		byItem[name] = p
	}
	var mine []string
	for _, name := range cache.Shard(items, index, total) {
		mine = append(mine, byItem[name])
	}
	fmt.Fprintf(e.stderr, "transcript: shard %d/%d: %d of %d transcripts (plan %s)\n",
		index, total, len(mine), len(paths), cache.ShardPlanID(items, total))
	return mine
}

// prefetch fetches the cache entries of paths in one batch (a remote
// cache pipelines the requests).
func (e *runEnv) prefetch(ctx context.Context, paths []string) {
	if e.cache == nil {
		return
	}
	targets := make([]cache.Target, len(paths))
	for i, p := range paths {
		targets[i] = e.target(p, nil)
	}
	cache.Prefetch(ctx, e.cache, targets)
}

// freshSet looks every path up in the cache (jobs at a time) and returns
// those it serves as they are: every input still hashes as when they
// passed. Empty without a cache.
func (e *runEnv) freshSet(ctx context.Context, paths []string, jobs int) map[string]bool {
	fresh := map[string]bool{}
	e.looked = map[string]lookedUp{}
	if e.cache == nil {
		return fresh
	}
	var mu sync.Mutex
	inParallel(len(paths), jobs, nil, func(i int) {
		p := paths[i]
		// The target checkFile would look up, but for the text: in
		// --env=declared the declarations are not known unparsed, so a
		// declared variable looks unset here and the transcript goes to
		// checkFile, which asks again.
		t := e.target(p, nil)
		v, err := e.cache.Lookup(ctx, t)
		if err != nil {
			e.warn(err)
			return
		}
		mu.Lock()
		if v.State == cache.Fresh {
			fresh[p] = true
		} else {
			e.looked[p] = lookedUp{t, v}
		}
		mu.Unlock()
	})
	return fresh
}

// lookup asks the cache about t, unless freshSet already did.
func (e *runEnv) lookup(ctx context.Context, path string, t cache.Target) (cache.Verdict, error) {
	if l, ok := e.looked[path]; ok && sameTarget(l.target, t) {
		return l.verdict, nil
	}
	return e.cache.Lookup(ctx, t)
}

// sameTarget reports whether two lookups are about the same run. In
// --env=declared mode freshSet's target lacks the variables the text
// declares (it is not parsed yet), and the two differ.
func sameTarget(a, b cache.Target) bool {
	return a.Path == b.Path && a.Dir == b.Dir && a.Root == b.Root && a.ObservedBy == b.ObservedBy &&
		a.EnvMode == b.EnvMode && slices.Equal(a.Env, b.Env) && bytes.Equal(a.Source, b.Source)
}

// checkFile runs one parsed transcript, or serves it from the cache when
// every input it used still hashes the same.
func (e *runEnv) checkFile(ctx context.Context, path string, f *parser.File, timeout time.Duration) *fileOutcome {
	out := &fileOutcome{path: path}
	start := time.Now()
	t := e.target(path, f)
	if e.cache != nil && !e.strictDeps {
		v, err := e.lookup(ctx, path, t)
		switch {
		case err != nil:
			e.warn(err)
		case v.State == cache.Fresh:
			out.status, out.cached, out.duration = "pass", true, time.Since(start)
			return out
		default:
			out.reasons = v.Reasons
		}
	}
	res, err := engine.Run(ctx, f, engine.Options{Timeout: timeout, Launcher: e.launcher, Env: t.Env})
	out.duration = time.Since(start)
	out.result = res
	switch {
	case err != nil:
		out.status, out.err = "error", err
	case len(res.DeclErrors) > 0:
		out.status, out.err = "error", res.DeclErrors
	case res.Passed():
		out.status = "pass"
	default:
		out.status = "fail"
	}
	if e.strictDeps && out.status == "pass" {
		if out.undeclared = undeclaredErrors(path, res); len(out.undeclared) > 0 {
			out.status = "fail"
		}
	}
	if e.cache != nil && err == nil {
		// ErrNotRecorded (an input changed during the run) only means the
		// next check runs again: not worth a warning, but said on the line.
		err := e.cache.Record(ctx, t, res)
		switch {
		case err == nil:
		case errors.Is(err, cache.ErrNotRecorded):
			if out.status == "pass" {
				out.notCached = cache.NotCachedReason(err)
			}
		default:
			e.warn(err)
		}
	}
	return out
}

// readTranscript reads and parses one transcript, failing on syntax errors.
func readTranscript(path string) (*parser.File, error) {
	src, err := engine.ReadRegular(path, engine.MaxTranscriptSize)
	if err != nil {
		return nil, err
	}
	fitGCToInput(int64(len(src)))
	f := parser.Parse(path, src)
	if len(f.Errors) > 0 {
		return nil, fmt.Errorf("%w", f.Errors)
	}
	return f, nil
}
