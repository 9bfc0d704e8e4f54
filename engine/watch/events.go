package watch

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// change is one changed path and when its event arrived.
type change struct {
	path string
	at   time.Time
}

// Next waits for changes and returns the next round that has something
// to run or remove. Changes nothing depends on make no round.
func (w *Watcher) Next(ctx context.Context) (Round, error) {
	for {
		changes, overflow, err := w.collect(ctx)
		if err != nil {
			return Round{}, err
		}
		r := w.round(ctx, changes, overflow)
		if ctx.Err() != nil {
			return Round{}, ctx.Err()
		}
		if len(r.Run) > 0 || len(r.Removed) > 0 {
			return r, nil
		}
	}
}

// pump reads the kernel's events as they come, stamping each with its
// arrival time: a change that arrives while a transcript runs is told
// apart from one that arrives after (see verdictLocked).
func (w *Watcher) pump() {
	defer close(w.pumpDone)
	for {
		select {
		case err, ok := <-w.tree.fs.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.evMu.Lock()
				w.overflow = true
				w.lastAt = time.Now()
				if w.firstAt.IsZero() {
					w.firstAt = w.lastAt
				}
				w.evMu.Unlock()
				w.signal()
			}
		case ev, ok := <-w.tree.fs.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod {
				continue // metadata only: content and listings are what inputs hash
			}
			p := filepath.Clean(ev.Name)
			now := time.Now()
			w.evMu.Lock()
			if i, ok := w.pendingIdx[p]; ok {
				w.pending[i].at = now
			} else {
				w.pendingIdx[p] = len(w.pending)
				w.pending = append(w.pending, change{path: p, at: now})
			}
			w.lastAt = now
			if w.firstAt.IsZero() {
				w.firstAt = now
			}
			w.evMu.Unlock()
			w.signal()
		}
	}
}

func (w *Watcher) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// collect waits for a first change, then until the tree is quiet (or
// MaxDelay passed since the first change), and takes the batch.
func (w *Watcher) collect(ctx context.Context) ([]change, bool, error) {
	for {
		w.evMu.Lock()
		n, first, last := len(w.pending), w.firstAt, w.lastAt
		w.evMu.Unlock()
		if n == 0 && !w.overflowPending() {
			select {
			case <-ctx.Done():
				return nil, false, ctx.Err()
			case <-w.pumpDone:
				return nil, false, errors.New("watch: watcher closed")
			case <-w.wake:
			}
			continue
		}
		now := time.Now()
		until := last.Add(w.opts.Quiet)
		if cap := first.Add(w.opts.MaxDelay); cap.Before(until) {
			until = cap
		}
		if now.Before(until) {
			select {
			case <-ctx.Done():
				return nil, false, ctx.Err()
			case <-time.After(until.Sub(now)):
			}
			continue
		}
		w.evMu.Lock()
		changes, overflow := w.pending, w.overflow
		w.pending, w.pendingIdx, w.overflow = nil, map[string]int{}, false
		w.firstAt, w.lastAt = time.Time{}, time.Time{}
		w.evMu.Unlock()
		return changes, overflow, nil
	}
}

func (w *Watcher) overflowPending() bool {
	w.evMu.Lock()
	defer w.evMu.Unlock()
	return w.overflow
}
