package lsp

import (
	"context"
	"sync"
	"sync/atomic"

	"go.lsp.dev/jsonrpc2"
)

// Long requests (cmdt.run, cmdt.update, cmdt.accept) must not hold up the
// message queue, yet they must stay pending until their work is done: a
// client cancels them with $/cancelRequest, and clients (VS Code's
// executeCommand, Neovim's callbacks) learn that the run ended from the
// reply. jsonrpc2.AsyncHandler only starts the next message once the
// previous one has replied, so such a request would block every edit and
// hover behind it. orderedAsync is AsyncHandler plus a way out: a handler
// may detach, which lets the next message start at once and keeps the
// reply for later (see detach).

// releaseKey holds, in a request's context, the function that lets the
// next message start.
type releaseKey struct{}

// orderedAsync runs each message in its own goroutine, in arrival order:
// a message starts when the previous one has replied or detached. Like
// jsonrpc2.AsyncHandler it is called from the connection's single read
// loop, so next needs no lock.
func orderedAsync(handler jsonrpc2.Handler) jsonrpc2.Handler {
	next := make(chan struct{})
	close(next)
	return func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		waitFor := next
		unlock := make(chan struct{})
		next = unlock
		var once sync.Once
		release := func() { once.Do(func() { close(unlock) }) }
		ctx = context.WithValue(ctx, releaseKey{}, release)
		inner := reply
		reply = func(ctx context.Context, result interface{}, err error) error {
			release()
			return inner(ctx, result, err)
		}
		go func() {
			<-waitFor
			_ = handler(ctx, reply, req)
		}()
		return nil
	}
}

// pendingKey holds a request's *pendingReply in its context.
type pendingKey struct{}

// pendingReply is guard's view of one request: its exactly-once replier
// and whether the handler took the reply with it (detached).
type pendingReply struct {
	reply    jsonrpc2.Replier
	replied  atomic.Bool
	detached atomic.Bool
	release  func()
}

// detach lets the request's handler return without replying: the next
// message starts now, and the returned replier answers the request later,
// exactly once, from any goroutine. The request's context stays the
// request's: $/cancelRequest still cancels it. ok is false outside a
// request (a notification, or a handler not behind guard).
func detach(ctx context.Context) (reply jsonrpc2.Replier, ok bool) {
	p, _ := ctx.Value(pendingKey{}).(*pendingReply)
	if p == nil {
		return nil, false
	}
	p.detached.Store(true)
	if p.release != nil {
		p.release()
	}
	return p.reply, true
}
