package lsp

import (
	"context"
	"time"
)

// Lenses and inlay hints are pulled by the client; when what they show
// changes without an edit (a run started or ended, a dependency changed on
// disk), the server asks the client to pull again with
// workspace/codeLens/refresh and workspace/inlayHint/refresh, if the client
// said it honours them. Requests for refreshes are coalesced: a burst of
// file events costs one round trip.

const refreshDebounce = 30 * time.Millisecond

type refresher struct {
	wake chan struct{}
}

func newRefresher() *refresher { return &refresher{wake: make(chan struct{}, 1)} }

// refresh asks the client, soon, to refresh lenses and inlay hints.
func (s *Server) refresh() {
	select {
	case s.refresher.wake <- struct{}{}:
	default:
	}
}

func (s *Server) refreshLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.refresher.wake:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(refreshDebounce):
		}
		s.mu.Lock()
		ws := s.caps.Workspace
		lenses := ws != nil && ws.CodeLens != nil && ws.CodeLens.RefreshSupport
		hints := ws != nil && ws.InlayHint != nil && ws.InlayHint.RefreshSupport
		s.mu.Unlock()
		for _, m := range []struct {
			method string
			ok     bool
		}{{MethodWorkspaceCodeLensRefresh, lenses}, {MethodWorkspaceInlayHintRefresh, hints}} {
			if !m.ok {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if _, err := s.conn.Call(cctx, m.method, nil, nil); err != nil {
				s.log.Debug("refresh request failed", "method", m.method, "err", err)
			}
			cancel()
		}
	}
}
