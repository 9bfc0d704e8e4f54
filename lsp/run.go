package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/engine/trace"
	"github.com/cmdt-dev/cmdt/parser"
)

// Commands of workspace/executeCommand (docs/lsp.md lists their
// arguments and results).
const (
	CommandRun        = "cmdt.run"        // [uri]: the cache first, else run and record
	CommandRunNoCache = "cmdt.runNoCache" // [uri]: always run (the result is recorded)
	CommandUpdate     = "cmdt.update"     // [uri]: run, then rewrite every expectation
	CommandAccept     = "cmdt.accept"     // [uri, line]: take one failed command's actual output
	CommandCancel     = "cmdt.cancel"     // [uri]: cancel the document's run or update
)

// RunOutcome is the result of cmdt.run, cmdt.runNoCache, cmdt.update and
// cmdt.accept. The request is answered when the work is over.
type RunOutcome struct {
	// Status is passed, failed, cached, cancelled (runs); updated,
	// unchanged (update, accept).
	Status string `json:"status"`
	// Text is a one-line summary ("failed: 1 of 3 commands").
	Text string `json:"text"`
	// Commands counts the command blocks, Failed those that failed.
	Commands int `json:"commands"`
	Failed   int `json:"failed"`
	// Edits counts the text edits the editor applied (update, accept);
	// Files are output files written (paths relative to the module root).
	Edits int      `json:"edits,omitempty"`
	Files []string `json:"files,omitempty"`
}

// Run outcome statuses.
const (
	OutcomePassed    = "passed"
	OutcomeFailed    = "failed"
	OutcomeCached    = "cached"
	OutcomeCancelled = "cancelled"
	OutcomeUpdated   = "updated"
	OutcomeUnchanged = "unchanged"
)

// deferred is a command result that is not ready yet: executeCommand
// detaches the request from the queue and replies when wait returns.
type deferred struct {
	wait func(ctx context.Context) (interface{}, error)
}

// commandDoc decodes a command's first argument, the transcript's URI
// (a string, or an object with a "uri" field), and returns the open
// transcript's current snapshot. Documents that cannot run get an error
// the client can show.
func (s *Server) commandDoc(cmd string, args []json.RawMessage) (*Snapshot, error) {
	if len(args) == 0 {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s: missing argument: the transcript's URI", cmd)
	}
	var u protocol.DocumentURI
	if err := json.Unmarshal(args[0], &u); err != nil {
		var obj struct {
			URI protocol.DocumentURI `json:"uri"`
		}
		if err2 := json.Unmarshal(args[0], &obj); err2 != nil || obj.URI == "" {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s: the first argument must be the transcript's URI: %v", cmd, err)
		}
		u = obj.URI
	}
	if _, ok := uriPath(u); !ok {
		return nil, jsonrpc2.Errorf(codeRequestFailed,
			"%s: %s is not a file on disk: a transcript runs in its own directory and is cached under its path, so save it to a file first", cmd, u)
	}
	snap := s.store.Use(u)
	if snap == nil {
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: %s is not open in the editor", cmd, u)
	}
	if snap.Kind != DocTranscript {
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: %s is not a transcript (.cmdt)", cmd, u)
	}
	if err := s.runnable(snap); err != nil {
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: %v", cmd, err)
	}
	if errs := snap.File().Errors; len(errs) > 0 {
		e := errs[0]
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: the transcript has %d syntax error(s); first, line %d: %s", cmd, len(errs), e.Range.Start.Line, e.Msg)
	}
	return snap, nil
}

// jobCommand is cmdt.run, cmdt.runNoCache and cmdt.update.
func jobCommand(kind jobKind, name string) commandFunc {
	return func(ctx context.Context, s *Server, p *executeCommandParams) (interface{}, error) {
		snap, err := s.commandDoc(name, p.Arguments)
		if err != nil {
			return nil, err
		}
		j := s.startJob(kind, snap, p.WorkDoneToken)
		return &deferred{wait: j.wait}, nil
	}
}

func cancelCommand(ctx context.Context, s *Server, p *executeCommandParams) (interface{}, error) {
	if len(p.Arguments) == 0 {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s: missing argument: the transcript's URI", CommandCancel)
	}
	var u protocol.DocumentURI
	if err := json.Unmarshal(p.Arguments[0], &u); err != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s: the first argument must be the transcript's URI: %v", CommandCancel, err)
	}
	return map[string]bool{"cancelled": s.cancelJob(u)}, nil
}

// execJob does a job's work: a cache lookup (cmdt.run), the run, the
// cache record, and for an update the edits. It returns the record to
// keep as the document's last run (nil when nothing ran).
func (s *Server) execJob(j *job, token json.RawMessage) (*RunOutcome, *runRecord, error) {
	snap := j.snap
	f := snap.File()
	name := filepath.Base(snap.Path)
	prog := s.beginProgress(j, token, fmt.Sprintf("cmdt: %s %s", j.kind.verb(), name), fmt.Sprintf("%d commands", len(f.Blocks)))
	endMsg := "error"
	defer func() { prog.finish(endMsg) }()

	rc, cacheErr := s.resultCache()
	if cacheErr != nil {
		s.log.Warn("result cache unavailable: running without it", "err", cacheErr)
		rc = nil
	}
	launcher, err := s.launcher(rc)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", j.kind.verb(), name, err)
	}
	// What the programs see, and how they are observed, is what the
	// result is keyed on (an untraced result is not trusted by a traced run).
	target := s.cacheTarget(snap, launcher)
	env := target.Env
	if j.kind == jobRun && rc != nil {
		v, err := rc.Lookup(j.ctx, target)
		switch {
		case err != nil:
			s.log.Warn("cache lookup failed: running", "uri", snap.URI, "err", err)
		case v.State != cache.Fresh:
			j.reasons = v.Reasons
		case v.State == cache.Fresh:
			out := &RunOutcome{Status: OutcomeCached, Text: "cached ✓ " + ago(v.RecordedAt, time.Now()), Commands: len(f.Blocks)}
			endMsg = out.Text
			return out, nil, nil
		}
	}

	// The recorder keeps every reader of each traced file (the engine
	// keeps the first), for hovers and per-command diagnostics.
	var reads *readRecorder
	if launcher != nil {
		reads = newReadRecorder(launcher)
		launcher = reads
	}
	res, err := engine.Run(j.ctx, f, engine.Options{
		Dir: snap.Dir(), Env: env, Launcher: launcher,
		Progress: func(done, total int, b *parser.Block) {
			if reads != nil {
				reads.setLine(b.Command.Num)
			}
			j.step.Store(int32(done + 1))
			j.steps.Store(int32(total))
			prog.report(fmt.Sprintf("command %d of %d", done+1, total), uint32(done*100/max(total, 1)))
		},
	})
	if res == nil {
		return nil, nil, fmt.Errorf("%s %s: %w", j.kind.verb(), name, err)
	}
	cancelled := err != nil
	rec := newRunRecord(j.kind, snap.Text, res, cancelled)
	rec.indexObserved(reads.list())
	out := &RunOutcome{Commands: rec.Total, Failed: rec.Failed}
	if cancelled {
		out.Status, out.Text = OutcomeCancelled, fmt.Sprintf("cancelled after %d of %d commands", rec.Ran, rec.Total)
		if cause := context.Cause(j.ctx); cause != nil && !errors.Is(cause, errCancelled) {
			out.Text += " (" + cause.Error() + ")"
		}
		endMsg = out.Text
		return out, rec, nil
	}
	out.Status, out.Text = runSummary(rec, res.Duration)
	// An update records only a run that needed no change: otherwise the
	// text that ran is about to be replaced, and its failure would only
	// wipe the cache's older passes.
	if rc != nil && (j.kind != jobUpdate || rec.passed()) {
		if err := rc.Record(j.ctx, target, res); err != nil && !errors.Is(err, cache.ErrNotRecorded) {
			s.log.Warn("recording the result failed", "uri", snap.URI, "err", err)
		} else if err != nil {
			s.log.Info("result not cached", "uri", snap.URI, "why", err)
			rec.NotCached = cache.NotCachedReason(err)
		}
	}
	if j.kind == jobUpdate {
		if err := s.applyUpdate(j, rec, out); err != nil {
			return nil, rec, err
		}
	}
	endMsg = out.Text
	return out, rec, nil
}

// launcher returns the launcher runs use: Options.Launcher, else the
// tracer Options.Trace selects (created once; the cache directory is left
// out of traces, as the CLI does).
func (s *Server) launcher(rc *cache.Cache) (engine.Launcher, error) {
	if s.opts.Launcher != nil {
		return s.opts.Launcher, nil
	}
	s.launchOnce.Do(func() {
		var ignore []string
		if rc != nil && rc.Dir() != "" {
			ignore = append(ignore, rc.Dir())
		}
		var why error
		s.launch, why, s.launchErr = trace.NewLauncher(s.opts.Trace, ignore)
		if why != nil && s.launchErr == nil {
			s.log.Info("runs are not traced", "why", why)
		}
	})
	return s.launch, s.launchErr
}

// runSummary says how a finished run went.
func runSummary(rec *runRecord, d time.Duration) (status, text string) {
	switch {
	case len(rec.Result.DeclErrors) > 0:
		return OutcomeFailed, fmt.Sprintf("failed: %d declaration error(s)", len(rec.Result.DeclErrors))
	case rec.Failed > 0:
		return OutcomeFailed, fmt.Sprintf("failed: %d of %d commands", rec.Failed, rec.Total)
	}
	noun := "commands"
	if rec.Ran == 1 {
		noun = "command"
	}
	return OutcomePassed, fmt.Sprintf("passed: %d %s in %s", rec.Ran, noun, formatDuration(d))
}
