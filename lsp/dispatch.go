package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// handler builds the middleware chain around dispatch, outermost last:
//
//   - cancelRequests answers $/cancelRequest itself, synchronously in the
//     read loop: protocol.CancelHandler drops numeric ids because JSON
//     numbers decode as float64 (lsp-stack-notes.md trap 5).
//   - jsonrpc2.CancelHandler gives each call a cancellable context.
//   - orderedAsync (queue.go) runs each message in its own goroutine but in
//     arrival order: a message starts when the previous one has replied
//     (trap 4), so a request after didChange sees the edit. Unlike
//     jsonrpc2.AsyncHandler it lets a long request (a run) detach: the
//     queue moves on and the request replies when its work ends.
//   - guard recovers panics, enforces exactly one reply (a missing or
//     second reply becomes a logged bug and an InternalError instead of
//     jsonrpc2.ReplyHandler's panic), and answers a cancelled request with
//     RequestCancelled on a detached context (the stream refuses to write
//     on a done context; a lost reply hangs the client).
func (s *Server) handler() jsonrpc2.Handler { return s.chain(s.dispatch) }

// chain wraps a dispatch function in the middleware above; tests use it to
// put handlers with controlled timing behind the real chain.
func (s *Server) chain(dispatch jsonrpc2.Handler) jsonrpc2.Handler {
	h := s.guard(dispatch)
	h = orderedAsync(h)
	h = s.track(h)
	h, cancel := jsonrpc2.CancelHandler(h)
	return s.cancelRequests(h, cancel)
}

// track counts messages queued but not yet handled (guard marks them
// done), so that Serve, when the input ends, can let already received
// messages (an exit right before EOF) take effect.
func (s *Server) track(next jsonrpc2.Handler) jsonrpc2.Handler {
	return func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		s.inflight.Add(1)
		return next(ctx, reply, req)
	}
}

// cancelRequests handles $/cancelRequest with jsonrpc2.ID's own decoder,
// which accepts both number and string ids.
func (s *Server) cancelRequests(next jsonrpc2.Handler, cancel func(jsonrpc2.ID)) jsonrpc2.Handler {
	return func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		if req.Method() != protocol.MethodCancelRequest {
			return next(ctx, reply, req)
		}
		var p struct {
			ID jsonrpc2.ID `json:"id"`
		}
		if err := json.Unmarshal(req.Params(), &p); err != nil {
			s.log.Warn("bad $/cancelRequest", "err", err)
		} else {
			cancel(p.ID)
		}
		// A notification's reply is a no-op; a client that sent it as a
		// call still gets an answer.
		return reply(ctx, nil, nil)
	}
}

// guard is the last line of defence: no handler may kill the server or
// leave a request unanswered.
func (s *Server) guard(next jsonrpc2.Handler) jsonrpc2.Handler {
	return func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) (err error) {
		defer s.inflight.Done()
		p := &pendingReply{}
		p.release, _ = ctx.Value(releaseKey{}).(func())
		p.reply = func(rctx context.Context, result interface{}, rerr error) error {
			if !p.replied.CompareAndSwap(false, true) {
				s.bug("second reply", req.Method(), nil)
				return nil
			}
			if rctx.Err() != nil {
				rctx = context.WithoutCancel(rctx)
				result, rerr = nil, protocol.ErrRequestCancelled
			}
			return reply(rctx, result, rerr)
		}
		ctx = context.WithValue(ctx, pendingKey{}, p)
		defer func() {
			if r := recover(); r != nil {
				s.bug("panic", req.Method(), fmt.Errorf("%v\n%s", r, debug.Stack()))
				if !p.replied.Load() {
					_ = p.reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "internal error handling %s: %v", req.Method(), r))
				}
				err = nil
			}
		}()
		if err := next(ctx, p.reply, req); err != nil {
			// A handler error here is a failed reply write: the client is
			// gone or the stream broke. Log it; returning it would make
			// the read loop tear the connection down for no gain.
			s.log.Debug("handler error", "method", req.Method(), "err", err)
		}
		if !p.replied.Load() && !p.detached.Load() {
			s.bug("no reply", req.Method(), nil)
			_ = p.reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "internal error: %s was never answered", req.Method()))
		}
		return nil
	}
}

// bug records a server bug: logged at error level and counted, so tests
// can assert that a session had none.
func (s *Server) bug(what, method string, err error) {
	s.bugs.Add(1)
	s.log.Error("server bug: "+what, "method", method, "err", err)
}

// errInvalidParams wraps a params decoding error.
func errInvalidParams(err error) error {
	return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "invalid params: %v", err)
}

// decodeParams decodes req's params into p. Absent params decode as the
// zero value.
func decodeParams(raw json.RawMessage, p interface{}) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, p); err != nil {
		return fmt.Errorf("decoding params: %w", err)
	}
	return nil
}

// call decodes params of type P, runs fn, and replies with its result.
func call[P any, R any](ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request, fn func(context.Context, *P) (R, error)) error {
	var p P
	if err := decodeParams(req.Params(), &p); err != nil {
		return reply(ctx, nil, errInvalidParams(err))
	}
	r, err := fn(ctx, &p)
	if err != nil {
		return reply(ctx, nil, wireError(err))
	}
	return reply(ctx, r, nil)
}

// notify decodes params of type P and runs fn; notifications have no
// result, so errors are only logged.
func notify[P any](ctx context.Context, s *Server, reply jsonrpc2.Replier, req jsonrpc2.Request, fn func(context.Context, *P) error) error {
	var p P
	err := decodeParams(req.Params(), &p)
	if err == nil {
		err = fn(ctx, &p)
	}
	if err != nil {
		s.log.Warn("notification failed", "method", req.Method(), "err", err)
	}
	return reply(ctx, nil, nil)
}

// errNotInitialized is the answer to requests before initialize.
var errNotInitialized = jsonrpc2.NewError(jsonrpc2.ServerNotInitialized, "server not initialized")

// errShutDown is the answer to requests after shutdown.
var errShutDown = jsonrpc2.NewError(jsonrpc2.InvalidRequest, "server is shut down")

// dispatch routes one message. It is a plain switch, not protocol.Server:
// the interface has ~60 methods and its fallback for unknown methods is
// wrong (trap 3). Unknown requests get MethodNotFound; unknown
// notifications are ignored, as LSP requires.
func (s *Server) dispatch(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	_, isCall := req.(*jsonrpc2.Call)
	method := req.Method()
	switch st := s.lifecycle(); {
	case method == protocol.MethodExit:
		s.exit()
		return reply(ctx, nil, nil)
	case st == stateNew && method != protocol.MethodInitialize:
		if isCall {
			return reply(ctx, nil, errNotInitialized)
		}
		return reply(ctx, nil, nil) // notifications before initialize are dropped
	case st == stateShutdown:
		if isCall {
			return reply(ctx, nil, errShutDown)
		}
		return reply(ctx, nil, nil)
	}
	if ctx.Err() != nil {
		return reply(ctx, nil, protocol.ErrRequestCancelled)
	}

	switch method {
	// Lifecycle.
	case protocol.MethodInitialize:
		if st := s.lifecycle(); st != stateNew {
			return reply(ctx, nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "initialize may only be sent once"))
		}
		return call(ctx, reply, req, s.initialize)
	case protocol.MethodInitialized:
		return notify(ctx, s, reply, req, s.initialized)
	case protocol.MethodShutdown:
		s.shutdown()
		return reply(ctx, nil, nil)
	case protocol.MethodWorkspaceDidChangeConfiguration:
		return notify(ctx, s, reply, req, s.didChangeConfiguration)
	case protocol.MethodWorkspaceDidChangeWatchedFiles:
		return notify(ctx, s, reply, req, s.didChangeWatchedFiles)
	case MethodSetTrace:
		return reply(ctx, nil, nil)

	// Document sync.
	case protocol.MethodTextDocumentDidOpen:
		return notify(ctx, s, reply, req, s.didOpen)
	case protocol.MethodTextDocumentDidChange:
		return notify(ctx, s, reply, req, s.didChange)
	case protocol.MethodTextDocumentDidClose:
		return notify(ctx, s, reply, req, s.didClose)
	case protocol.MethodTextDocumentDidSave:
		return notify(ctx, s, reply, req, s.didSave)

	// Features.
	case protocol.MethodTextDocumentHover:
		return call(ctx, reply, req, s.hover)
	case protocol.MethodTextDocumentCompletion:
		return call(ctx, reply, req, s.completion)
	case protocol.MethodTextDocumentDefinition:
		return call(ctx, reply, req, s.definition)
	case protocol.MethodTextDocumentDocumentSymbol:
		return call(ctx, reply, req, s.documentSymbol)
	case protocol.MethodTextDocumentFoldingRange:
		return call(ctx, reply, req, s.foldingRange)
	case MethodSemanticTokensFull:
		return call(ctx, reply, req, s.semanticTokensFull)
	case protocol.MethodTextDocumentCodeAction:
		return call(ctx, reply, req, s.codeAction)
	case protocol.MethodTextDocumentCodeLens:
		return call(ctx, reply, req, s.codeLens)
	case protocol.MethodWorkDoneProgressCancel:
		return notify(ctx, s, reply, req, s.workDoneProgressCancel)
	case MethodTextDocumentInlayHint:
		return call(ctx, reply, req, s.inlayHint)
	case protocol.MethodWorkspaceExecuteCommand:
		return s.handleExecuteCommand(ctx, reply, req)
	case MethodCmdtStatus:
		return call(ctx, reply, req, s.status)
	case MethodCmdtTestTree:
		return call(ctx, reply, req, s.testTree)
	case MethodCmdtWatch:
		return call(ctx, reply, req, s.watchTests)
	case MethodCmdtRunTest:
		var p RunTestParams
		if err := decodeParams(req.Params(), &p); err != nil {
			return reply(ctx, nil, errInvalidParams(err))
		}
		r, err := s.runTest(ctx, &p)
		return s.replyLater(ctx, reply, MethodCmdtRunTest, r, err)
	}
	if isCall {
		return reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.MethodNotFound, "method not found: %q", method))
	}
	return reply(ctx, nil, nil)
}

// codeRequestFailed is LSP 3.17's RequestFailed: the request was valid
// but the server could not carry it out.
const codeRequestFailed jsonrpc2.Code = -32803

// wireError gives a handler error a JSON-RPC code. jsonrpc2 would send a
// plain error with code 0, which is not a valid error code.
func wireError(err error) error {
	var e *jsonrpc2.Error
	if errors.As(err, &e) {
		return err
	}
	return jsonrpc2.NewError(codeRequestFailed, err.Error())
}
