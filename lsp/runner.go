package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.lsp.dev/protocol"
)

// Jobs: a run or an update of one transcript, off the request queue. Each
// works on the snapshot it was started with (the buffer's text at that
// moment, saved or not), owns a context whose cancellation kills the
// running command's process group (the engine does that), and ends by
// storing a runRecord, publishing diagnostics and asking the client to
// refresh lenses and hints. At most one job runs per document.

// jobKind says what a job does.
type jobKind int

const (
	jobRun        jobKind = iota // cmdt.run: skip the run when the cache says fresh
	jobRunNoCache                // cmdt.runNoCache: always run
	jobUpdate                    // cmdt.update: run, then rewrite the expectations
)

func (k jobKind) verb() string {
	return [...]string{"run", "run", "update"}[k]
}

// Reasons a job's context is cancelled with, so the job can tell why.
var (
	errSuperseded = errors.New("superseded by a newer run of the same transcript")
	errCancelled  = errors.New("cancelled by the client")
	errDocClosed  = errors.New("the document was closed")
	errStopping   = errors.New("the server is shutting down")
)

// job is one run or update in progress.
type job struct {
	kind    jobKind
	snap    *Snapshot
	ctx     context.Context
	cancel  context.CancelCauseFunc
	done    chan struct{}
	started time.Time
	// step is the command being run (1-based) and steps the number of
	// commands, for status texts while the job runs.
	step, steps atomic.Int32

	// Written by the job before done is closed.
	outcome *RunOutcome
	err     error
	rec     *runRecord // the run's record; nil when nothing ran
	// reasons are why the cache's recorded result was not used.
	reasons []string
}

// runningText describes the job for the status: "running: command 3 of 12".
func (j *job) runningText() string {
	n, total := j.step.Load(), j.steps.Load()
	if n == 0 || total == 0 {
		return "running"
	}
	return fmt.Sprintf("running: command %d of %d", n, total)
}

// wait waits until the job ends. A request whose context is cancelled
// ($/cancelRequest) cancels the job it waits for, and still waits for it
// to end: the reply comes after the processes are gone.
func (j *job) wait(ctx context.Context) (interface{}, error) {
	select {
	case <-j.done:
	case <-ctx.Done():
		j.cancel(errCancelled)
		<-j.done
	}
	if j.err != nil {
		return nil, j.err
	}
	return j.outcome, nil
}

// runRegistry holds the jobs in progress and the last finished run of
// each open document.
type runRegistry struct {
	mu     sync.Mutex
	active map[protocol.DocumentURI]*job
	last   map[protocol.DocumentURI]*runRecord
	// tokens maps progress tokens (their JSON text) to jobs, for
	// window/workDoneProgress/cancel.
	tokens map[string]*job
	wg     sync.WaitGroup
}

func newRunRegistry() *runRegistry {
	return &runRegistry{active: map[protocol.DocumentURI]*job{}, last: map[protocol.DocumentURI]*runRecord{}, tokens: map[string]*job{}}
}

func (r *runRegistry) activeJob(u protocol.DocumentURI) *job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active[u]
}

func (r *runRegistry) lastRecord(u protocol.DocumentURI) *runRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[u]
}

// setLast stores a record as the document's last run (accept uses the
// records as they are; only jobs replace them).
func (r *runRegistry) setLast(u protocol.DocumentURI, rec *runRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last[u] = rec
}

// forget cancels a closed document's job and drops its results.
func (r *runRegistry) forget(u protocol.DocumentURI) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if j := r.active[u]; j != nil {
		j.cancel(errDocClosed)
	}
	delete(r.last, u)
}

// stopAll cancels every job and waits up to d for them to end, so that no
// process outlives the server.
func (r *runRegistry) stopAll(cause error, d time.Duration) {
	r.mu.Lock()
	for _, j := range r.active {
		j.cancel(cause)
	}
	r.mu.Unlock()
	waitTimeout(&r.wg, d)
}

func (r *runRegistry) addToken(key string, j *job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens[key] = j
}

func (r *runRegistry) byToken(key string) *job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tokens[key]
}

// startJob starts a job on snap, or returns the job already doing the
// same work on the same text (a save with runOnSave on and a client that
// also runs on save ask twice; one run answers both). Another job on the
// document is cancelled first: the newest request wins. It is called on
// the request queue, so requests after it see the job as running.
func (s *Server) startJob(kind jobKind, snap *Snapshot, token json.RawMessage) *job {
	r := s.runs
	r.mu.Lock()
	prev := r.active[snap.URI]
	if prev != nil && prev.kind == kind && kind != jobUpdate && prev.snap.Text == snap.Text {
		r.mu.Unlock()
		return prev
	}
	ctx, cancel := context.WithCancelCause(s.baseCtx)
	j := &job{kind: kind, snap: snap, ctx: ctx, cancel: cancel, done: make(chan struct{}), started: time.Now()}
	j.steps.Store(int32(len(snap.File().Blocks)))
	r.active[snap.URI] = j
	r.wg.Add(1)
	r.mu.Unlock()
	go s.runJob(j, prev, token)
	return j
}

func (s *Server) runJob(j *job, prev *job, token json.RawMessage) {
	defer s.runs.wg.Done()
	defer j.cancel(nil) // release the context's resources
	if prev != nil {
		prev.cancel(errSuperseded)
		<-prev.done
	}
	s.refresh() // lenses and the status say "running"
	var rec *runRecord
	func() {
		defer func() {
			if r := recover(); r != nil {
				s.bug("panic in a job", j.kind.verb(), fmt.Errorf("%v\n%s", r, debug.Stack()))
				j.err = fmt.Errorf("internal error during the %s: %v", j.kind.verb(), r)
			}
		}()
		j.outcome, rec, j.err = s.execJob(j, token)
		j.rec = rec
	}()

	u := j.snap.URI
	s.runs.mu.Lock()
	if s.runs.active[u] == j {
		delete(s.runs.active, u)
	}
	for k, tj := range s.runs.tokens {
		if tj == j {
			delete(s.runs.tokens, k)
		}
	}
	if rec != nil && context.Cause(j.ctx) != errDocClosed {
		s.runs.last[u] = rec
	}
	s.runs.mu.Unlock()

	s.statusChanged()
	s.diag.add(u)
	s.refresh()
	s.watches.update()
	if rec != nil {
		s.tests.ran(j.snap.Path, rec.Result)
	} else if j.err == nil {
		s.tests.ran(j.snap.Path, nil)
	}
	if j.err != nil {
		s.log.Info("job failed", "kind", j.kind.verb(), "uri", u, "err", j.err)
	} else {
		s.log.Info("job done", "kind", j.kind.verb(), "uri", u, "status", j.outcome.Status, "elapsed", time.Since(j.started))
	}
	close(j.done)
}

// cancelJob cancels the job running on a document, if any.
func (s *Server) cancelJob(u protocol.DocumentURI) bool {
	j := s.runs.activeJob(u)
	if j == nil {
		return false
	}
	j.cancel(errCancelled)
	return true
}

// workDoneProgressCancel handles window/workDoneProgress/cancel: the user
// pressed the cancel button of a run's progress.
func (s *Server) workDoneProgressCancel(ctx context.Context, p *progressCancelParams) error {
	if j := s.runs.byToken(tokenKey(p.Token)); j != nil {
		j.cancel(errCancelled)
	}
	return nil
}

// progressCancelParams is WorkDoneProgressCancelParams with the token kept
// raw: clients send numbers or strings.
type progressCancelParams struct {
	Token json.RawMessage `json:"token"`
}
