package engine

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errBlockTimeout is the cause a block's context is cancelled with when
// the command's time is up.
var errBlockTimeout = errors.New("command timed out")

// blockClock times the command blocks of one session with one timer,
// re-armed for each block. Each block still runs under its own context,
// cancelled when the block ends, so that what it started in the
// background ends with it; but a context.WithTimeout per command also
// allocated a timer and its deadline context each time: about a tenth of
// what a builtin command allocates, and with --jobs fresh memory is what
// the workers contend for (page faults, the heap lock).
type blockClock struct {
	mu     sync.Mutex
	cancel context.CancelCauseFunc // the running block's; nil between blocks
	timer  *time.Timer
	// gen identifies the timer: a timer that fired is replaced, and its
	// callback, if it runs late, must not cancel a later block.
	gen uint64
}

// start returns the context for a block that may run for d.
func (c *blockClock) start(parent context.Context, d time.Duration) context.Context {
	ctx, cancel := context.WithCancelCause(parent)
	c.mu.Lock()
	c.cancel = cancel
	c.mu.Unlock()
	if c.timer != nil {
		c.timer.Reset(d)
		return ctx
	}
	gen := c.gen
	c.timer = time.AfterFunc(d, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.gen == gen && c.cancel != nil {
			c.cancel(errBlockTimeout)
		}
	})
	return ctx
}

// stop ends the block that ran under ctx, and reports whether its time
// ran out.
func (c *blockClock) stop(ctx context.Context) (timedOut bool) {
	timedOut = context.Cause(ctx) == errBlockTimeout
	c.mu.Lock()
	cancel := c.cancel
	c.cancel = nil
	if !c.timer.Stop() {
		c.timer, c.gen = nil, c.gen+1
	}
	c.mu.Unlock()
	cancel(context.Canceled)
	return timedOut
}

// close stops the timer.
func (c *blockClock) close() {
	if c.timer != nil {
		c.timer.Stop()
	}
}
