package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// runOptions are the flags shared by commands that run transcripts.
type runOptions struct {
}

func (o *runOptions) register(cmd *cobra.Command) {
}

// runEnv is what a command needs to run transcripts: the cache, the
// launcher (tracing), and shard selection.
type runEnv struct {
	launcher engine.Launcher
}

func (o *runOptions) prepare(cmd *cobra.Command) (*runEnv, error) {
	return &runEnv{}, nil
}

func (e *runEnv) close() {}

// selectShard keeps the paths of this shard (all of them without --shard).
func (e *runEnv) selectShard(paths []string) []string { return paths }

// checkFile runs one parsed transcript (or serves it from the cache).
func (e *runEnv) checkFile(ctx context.Context, path string, f *parser.File, timeout time.Duration) *fileOutcome {
	out := &fileOutcome{path: path}
	start := time.Now()
	res, err := engine.Run(ctx, f, engine.Options{Timeout: timeout, Launcher: e.launcher})
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
	return out
}

// readTranscript reads and parses one transcript, failing on syntax errors.
func readTranscript(path string) (*parser.File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := parser.Parse(path, src)
	if len(f.Errors) > 0 {
		return nil, fmt.Errorf("%w", f.Errors)
	}
	return f, nil
}
