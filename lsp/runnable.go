package lsp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cmdt-dev/cmdt/engine"
)

// runnable says whether a transcript document may be run (run, update,
// accept, runTest, runOnSave): only one whose directory lies inside a
// workspace folder the client opened (its buffer may be unsaved there),
// or, when the client opened no folder, one backed by a regular file on
// disk. A run executes commands in the file's directory and may write
// files beside it; a buffer named after a path with no file behind it
// (an editor can name a new buffer /etc/t.cmdt), or a file outside what
// the user opened, must not make the server run anything there.
func (s *Server) runnable(snap *Snapshot) error {
	if snap.Path == "" {
		return fmt.Errorf("%s is not a file on disk: a transcript runs in its own directory and is cached under its path, so save it to a file first", snap.URI)
	}
	s.mu.Lock()
	roots := s.roots
	s.mu.Unlock()
	fi, err := os.Stat(snap.Path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", snap.Path)
	case err != nil && len(roots) == 0:
		// No workspace folder to vouch for the place: the file must exist.
		return fmt.Errorf("%s has no file on disk (%v): save it first, or open its folder as a workspace", snap.Path, err)
	case len(roots) == 0:
		return nil
	}
	if st, err := os.Stat(filepath.Dir(snap.Path)); err != nil || !st.IsDir() {
		return fmt.Errorf("%s: its directory does not exist: save the file first", snap.Path)
	}
	// The directory decides (the file may be an unsaved buffer there).
	real, err := filepath.EvalSymlinks(filepath.Dir(snap.Path))
	if err != nil {
		real = filepath.Dir(snap.Path)
	}
	for _, r := range roots {
		rr, err := filepath.EvalSymlinks(r)
		if err != nil {
			rr = r
		}
		if engine.IsWithin(r, snap.Path) && engine.IsWithin(rr, real) {
			return nil
		}
	}
	return fmt.Errorf("%s is outside the workspace folders (%s): open its folder in the editor to run it", snap.Path, strings.Join(roots, ", "))
}
