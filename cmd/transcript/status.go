package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/engine/trace"
	"github.com/cmdt-dev/cmdt/parser"
)

func init() { extraCommands = append(extraCommands, newStatusCmd) }

func newStatusCmd() *cobra.Command {
	var asJSON bool
	var traceSetting, envSetting string
	cmd := &cobra.Command{
		Use:   "status [paths...]",
		Short: "Say which transcripts are fresh, stale or never run, and why, without running them",
		Long: `Say which transcripts the cache would skip, without running anything.

Each transcript is "fresh" (its last passing run still holds: check would
skip it), "stale" (something changed since, listed in parentheses, paths
relative to the module root), or "never-run" (no passing run recorded).
Paths are files, directories (searched recursively for *.cmdt) or dir/...;
no path means ./... . The exit status is 0 unless an error occurs.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			mode, err := envMode(envSetting)
			if err != nil {
				return err
			}
			return runStatus(cmd, args, asJSON, traceSetting, mode)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON report instead of text")
	registerEnvFlag(cmd, &envSetting)
	cmd.Flags().StringVar(&traceSetting, "trace", "auto", "answer for a check with this --trace setting: a result recorded untraced is stale for a traced check")
	var dir, remote string
	var upload bool
	registerCacheFlags(cmd, &dir, &remote, &upload)
	return cmd
}

// statusLine is one transcript's standing, as printed.
type statusLine struct {
	Path    string      `json:"path"`
	State   cache.State `json:"state"`
	Reasons []string    `json:"reasons,omitempty"`
	// NotCached says why the last passing run was not cached.
	NotCached  string     `json:"notCached,omitempty"`
	RecordedAt *time.Time `json:"recordedAt,omitempty"`
	// DurationMS is the recorded run's wall time: what skipping it saves.
	DurationMS *float64 `json:"durationMs,omitempty"`
	Error      string   `json:"error,omitempty"`
}

func runStatus(cmd *cobra.Command, args []string, asJSON bool, traceSetting string, env engine.EnvMode) error {
	paths, err := collectTranscripts(args)
	if err != nil {
		return usageError("%v", err)
	}
	if len(paths) == 0 {
		return noTranscripts(args)
	}
	c, err := openCache(cmd)
	if err != nil {
		return &exitCode{code: 2, err: err}
	}
	l, _, err := trace.NewLauncher(traceSetting, nil)
	if err != nil {
		return usageError("%v", err)
	}
	q := statusQuery{mode: engine.ObservedBy(l), env: env, inherited: os.Environ()}
	if env == engine.EnvInherit {
		q.inheritEnv = engine.ProgramEnv(q.inherited, env, nil)
	}
	lines := statusLookupAll(cmd.Context(), c, paths, q)
	if err := c.Flush(); err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "transcript: warning:", err)
	}
	if asJSON {
		err = writeStatusJSON(cmd.OutOrStdout(), lines)
	} else {
		err = writeStatusText(cmd.OutOrStdout(), lines)
	}
	if err != nil {
		return err
	}
	for _, l := range lines {
		if l.Error != "" {
			return &exitCode{code: 2}
		}
	}
	return nil
}

// statusLookupAll looks every path up, in parallel (a lookup is mostly waiting
// on stat), keeping the input order.
// statusQuery is what check would run with: the observation mode and
// the environment its programs would see.
type statusQuery struct {
	mode       string
	env        engine.EnvMode
	inherited  []string
	inheritEnv []string // the programs' environment in EnvInherit mode
}

func statusLookupAll(ctx context.Context, c *cache.Cache, paths []string, q statusQuery) []statusLine {
	if ctx == nil {
		ctx = context.Background()
	}
	lines := make([]statusLine, len(paths))
	inParallel(len(paths), 2*runtime.NumCPU(), nil, func(i int) {
		lines[i] = statusLookupOne(ctx, c, paths[i], q)
	})
	return lines
}

func statusLookupOne(ctx context.Context, c *cache.Cache, path string, q statusQuery) statusLine {
	l := statusLine{Path: path}
	abs, err := filepath.Abs(path)
	if err == nil {
		// The same target check uses: the session starts in the
		// transcript's directory, with this process's environment.
		t := cache.Target{Path: abs, ObservedBy: q.mode, EnvMode: q.env, Env: q.inheritEnv}
		if q.env == engine.EnvDeclared {
			// Which variables get through depends on the declarations.
			var f *parser.File
			if f, err = readTranscript(path); err != nil {
				l.Error = err.Error()
				return l
			}
			t.Env = engine.ProgramEnv(q.inherited, q.env, f)
		}
		var v cache.Verdict
		v, err = c.Lookup(ctx, t)
		l.State, l.Reasons, l.NotCached = v.State, v.Reasons, v.NotCached
		if !v.RecordedAt.IsZero() {
			l.RecordedAt = &v.RecordedAt
		}
		if v.Manifest != nil {
			ms := float64(v.Manifest.Duration.Microseconds()) / 1000
			l.DurationMS = &ms
		}
	}
	if err != nil {
		l.Error = err.Error()
	}
	return l
}

func writeStatusText(w io.Writer, lines []statusLine) error {
	var b strings.Builder
	counts := map[cache.State]int{}
	errs := 0
	for _, l := range lines {
		if l.Error != "" {
			errs++
			fmt.Fprintf(&b, "%-9s  %s  (%s)\n", "error", l.Path, l.Error)
			continue
		}
		counts[l.State]++
		fmt.Fprintf(&b, "%-9s  %s", l.State, l.Path)
		notes := l.Reasons
		if l.NotCached != "" {
			notes = append(notes[:len(notes):len(notes)], "last pass not cacheable: "+l.NotCached)
		}
		if len(notes) > 0 {
			fmt.Fprintf(&b, "  (%s)", strings.Join(notes, ", "))
		}
		b.WriteByte('\n')
	}
	noun := "transcripts"
	if len(lines) == 1 {
		noun = "transcript"
	}
	fmt.Fprintf(&b, "%d %s: %d fresh, %d stale, %d never-run", len(lines), noun, counts[cache.Fresh], counts[cache.Stale], counts[cache.NeverRun])
	if errs > 0 {
		fmt.Fprintf(&b, ", %d errors", errs)
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

func writeStatusJSON(w io.Writer, lines []statusLine) error {
	report := struct {
		docHeader
		Files   []statusLine `json:"files"`
		Summary struct {
			Fresh    int `json:"fresh"`
			Stale    int `json:"stale"`
			NeverRun int `json:"neverRun"`
			Errors   int `json:"errors"`
		} `json:"summary"`
	}{docHeader: header("status"), Files: lines}
	for _, l := range lines {
		switch {
		case l.Error != "":
			report.Summary.Errors++
		case l.State == cache.Fresh:
			report.Summary.Fresh++
		case l.State == cache.Stale:
			report.Summary.Stale++
		default:
			report.Summary.NeverRun++
		}
	}
	return encodeJSON(w, report)
}
