package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
)

// PlannedWrite is one file an update would write, for previews
// (`update --diff`, `update --dry-run`): what is there now and what would
// be there after.
type PlannedWrite struct {
	Path   string // as WriteUpdate is given it: the transcript path, or an absolute output file
	Old    []byte // the current content (nil when the file does not exist)
	Exists bool
	New    []byte
	// Transcript marks the transcript itself (the first write).
	Transcript bool
	// Refused says why WriteUpdate would refuse the write (a target outside
	// the module root); nil when it would be written.
	Refused error
}

// Changed reports whether the write would change the file.
func (w PlannedWrite) Changed() bool {
	return !w.Exists || string(w.Old) != string(w.New)
}

// Binary reports whether the old or new content is binary (spec §2), which
// previews show as sizes rather than a diff.
func (w PlannedWrite) Binary() bool { return IsBinary(w.Old) || IsBinary(w.New) }

// PreviewUpdate lists the writes WriteUpdate(path, plan, root) would make,
// in its order of report (the transcript first, then the output files it
// references), reading what is there now. It writes nothing and creates
// no directory. Each output file is listed once, with the last data the
// plan gives it, as WriteUpdate leaves it.
func PreviewUpdate(path string, plan *UpdatePlan, root string) ([]PlannedWrite, error) {
	targets := append([]FileWrite{{Path: path, Data: plan.Source}}, plan.Files...)
	last := map[string]int{}
	for i, t := range targets {
		last[t.Path] = i
	}
	var out []PlannedWrite
	for i, t := range targets {
		if last[t.Path] != i {
			continue
		}
		w := PlannedWrite{Path: t.Path, New: t.Data, Transcript: i == 0}
		abs, err := filepath.Abs(t.Path)
		if err != nil {
			return nil, fmt.Errorf("preview %s: %w", t.Path, err)
		}
		// The same resolution as the write itself (links at any depth).
		w.Refused = CheckWriteInRoot(root, abs)
		old, err := ReadRegular(abs, MaxExpectFileSize)
		switch {
		case err == nil:
			w.Old, w.Exists = old, true
		case errors.Is(err, fs.ErrNotExist), w.Refused != nil:
		default:
			return nil, fmt.Errorf("preview %s: %w", t.Path, err)
		}
		out = append(out, w)
	}
	return out, nil
}
