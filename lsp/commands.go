package lsp

import (
	"context"
	"encoding/json"
	"sort"

	"go.lsp.dev/jsonrpc2"
)

// commandFunc runs one workspace/executeCommand command. Long commands
// (run, update) must not block the request queue: they reply at once and
// continue in a goroutine on a snapshot, reporting with $/progress.
type commandFunc func(ctx context.Context, s *Server, args []json.RawMessage) (interface{}, error)

// commandRegistry maps command names to implementations. It is filled at
// start-up and read-only afterwards, so it needs no lock.
type commandRegistry struct {
	cmds map[string]commandFunc
}

func newCommandRegistry() *commandRegistry {
	r := &commandRegistry{cmds: map[string]commandFunc{}}
	// No commands yet: cmdt.run, cmdt.update and friends arrive with the
	// run/update issue and register here.
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
// arguments, so each command decodes its own.
type executeCommandParams struct {
	Command   string            `json:"command"`
	Arguments []json.RawMessage `json:"arguments,omitempty"`
}

func (s *Server) executeCommand(ctx context.Context, p *executeCommandParams) (interface{}, error) {
	fn, ok := s.commands.cmds[p.Command]
	if !ok {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unknown command %q", p.Command)
	}
	return fn(ctx, s, p.Arguments)
}
