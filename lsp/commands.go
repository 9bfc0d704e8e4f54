package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"sort"

	"go.lsp.dev/jsonrpc2"
)

// commandFunc runs one workspace/executeCommand command. Long commands
// (run, update, accept) must not block the request queue: they return a
// *deferred, and executeCommand detaches the request and replies when it
// is done.
type commandFunc func(ctx context.Context, s *Server, p *executeCommandParams) (interface{}, error)

// commandRegistry maps command names to implementations. It is filled at
// start-up and read-only afterwards, so it needs no lock.
type commandRegistry struct {
	cmds map[string]commandFunc
}

func newCommandRegistry() *commandRegistry {
	r := &commandRegistry{cmds: map[string]commandFunc{}}
	r.register(CommandRun, jobCommand(jobRun, CommandRun))
	r.register(CommandRunNoCache, jobCommand(jobRunNoCache, CommandRunNoCache))
	r.register(CommandUpdate, jobCommand(jobUpdate, CommandUpdate))
	r.register(CommandAccept, acceptCommand)
	r.register(CommandCancel, cancelCommand)
	return r
}

func (r *commandRegistry) register(name string, fn commandFunc) { r.cmds[name] = fn }

// names lists the commands for the executeCommandProvider capability.
func (r *commandRegistry) names() []string {
	names := make([]string, 0, len(r.cmds))
	for n := range r.cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// executeCommandParams is protocol.ExecuteCommandParams with raw
// arguments, so each command decodes its own, and the client's progress
// token, if it sent one.
type executeCommandParams struct {
	Command       string            `json:"command"`
	Arguments     []json.RawMessage `json:"arguments,omitempty"`
	WorkDoneToken json.RawMessage   `json:"workDoneToken,omitempty"`
}

func (s *Server) executeCommand(ctx context.Context, p *executeCommandParams) (interface{}, error) {
	fn, ok := s.commands.cmds[p.Command]
	if !ok {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unknown command %q", p.Command)
	}
	return fn(ctx, s, p)
}

// handleExecuteCommand answers workspace/executeCommand: at once for
// quick commands; for deferred ones the request leaves the queue and is
// answered from a goroutine when the work ends.
func (s *Server) handleExecuteCommand(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	var p executeCommandParams
	if err := decodeParams(req.Params(), &p); err != nil {
		return reply(ctx, nil, errInvalidParams(err))
	}
	r, err := s.executeCommand(ctx, &p)
	return s.replyLater(ctx, reply, p.Command, r, err)
}

// replyLater replies with r, or, when r is deferred (a run), detaches the
// request from the queue and replies when the work is over.
func (s *Server) replyLater(ctx context.Context, reply jsonrpc2.Replier, name string, r interface{}, err error) error {
	if err != nil {
		return reply(ctx, nil, wireError(err))
	}
	d, ok := r.(*deferred)
	if !ok {
		return reply(ctx, r, nil)
	}
	later, ok := detach(ctx)
	if !ok {
		r, err := d.wait(ctx)
		if err != nil {
			return reply(ctx, nil, wireError(err))
		}
		return reply(ctx, r, nil)
	}
	go func() {
		defer func() {
			if rec := recover(); rec != nil {
				s.bug("panic in a deferred command", name, fmt.Errorf("%v\n%s", rec, debug.Stack()))
				_ = later(ctx, nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "internal error in %s: %v", name, rec))
			}
		}()
		r, err := d.wait(ctx)
		if err != nil {
			_ = later(ctx, nil, wireError(err))
			return
		}
		_ = later(ctx, r, nil)
	}()
	return nil
}
