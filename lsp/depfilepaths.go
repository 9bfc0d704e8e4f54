package lsp

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// Depfile entries resolve against the session's directory where the
// depfile is declared (spec §4), as the origin tool does. cmdt used to
// resolve them against the depfile's own directory, so an existing
// depfile declared from another directory may name inputs that only exist
// under the old reading. Those entries are not silently re-read: the
// declaration gets a depfile-relative-entry warning, and a quick fix
// rewrites each entry to the path that keeps its old meaning.

// CodeDepfileRelative marks a depfile whose entries relied on
// depfile-relative paths.
const CodeDepfileRelative = "depfile-relative-entry"

// movedEntry is a depfile entry that names nothing from the session's
// directory but names an existing input from the depfile's directory.
type movedEntry struct {
	Entry *parser.Dep
	Line  int    // 1-based line in the depfile
	Value string // the value keeping the old meaning, relative to the session's directory
}

// movedEntries finds the entries of di's depfile that relied on the old
// depfile-relative reading. ins are the entries' inputs resolved against
// the session's directory, one per entry.
func (s *Server) movedEntries(a *Analysis, di *depInfo, depfileDir string, ins [][]engine.Input) []movedEntry {
	if depfileDir == di.Cwd {
		return nil
	}
	var moved []movedEntry
	for i, e := range di.Depfile.Entries {
		if filepath.IsAbs(e.Value) || len(ins[i]) == 0 || ins[i][0].Exists {
			continue
		}
		switch {
		case e.Kind == parser.DepFile, e.Kind == parser.DepGlob:
		case e.Kind == parser.DepExe && strings.ContainsRune(e.Value, '/'):
		default:
			continue // env names, programs found on PATH: no directory
		}
		old, _ := s.ws.resolve(a.Root, e.Kind, e.Value, depfileDir, di.Line)
		if len(old) == 0 || !old[0].Exists {
			continue
		}
		rel, err := filepath.Rel(di.Cwd, filepath.Join(depfileDir, e.Value))
		if err != nil {
			continue
		}
		if e.Kind == parser.DepExe && !strings.ContainsRune(rel, '/') {
			rel = "./" + rel // a bare name would be looked up on PATH
		}
		moved = append(moved, movedEntry{Entry: e, Line: di.Depfile.EntryLines[i].Num, Value: filepath.ToSlash(rel)})
	}
	return moved
}

// depfileRelativeDiags is the warning on a declaration whose depfile has
// moved entries.
func depfileRelativeDiags(di *depInfo, moved []movedEntry) []Diag {
	if len(moved) == 0 {
		return nil
	}
	path := di.Inputs[0].Path
	var names []string
	d := Diag{Range: di.Dep.Range, Severity: protocol.DiagnosticSeverityWarning, Code: CodeDepfileRelative}
	for _, m := range moved {
		names = append(names, fmt.Sprintf("%s (line %d) now means %s", m.Entry.Raw, m.Line, m.Value))
		d.Related = append(d.Related, relatedLine{Path: path, Line: m.Line,
			Message: fmt.Sprintf("%s resolves against the session's directory; it exists only relative to the depfile: write %s", m.Entry.Raw, m.Value)})
	}
	d.Message = fmt.Sprintf("depfile %s: entries resolve against the session's directory where the depfile is declared (%s), "+
		"not the depfile's own directory; these exist only under the old reading: %s. The quick fix rewrites them to keep their meaning",
		di.Value, di.Cwd, strings.Join(names, "; "))
	return []Diag{d}
}

// depfileRelativeActions are the quick fixes of depfile-relative-entry
// warnings in the range: one edit of the depfile rewriting every moved
// entry.
func (s *Server) depfileRelativeActions(snap *Snapshot, want, wantEnd parser.Pos) []protocol.CodeAction {
	a := s.analysis(snap)
	var actions []protocol.CodeAction
	for _, di := range a.Deps {
		if len(di.Moved) == 0 || di.Line < want.Line || wantEnd.Line < di.Line {
			continue
		}
		path := di.Inputs[0].Path
		edits := s.depfileEdits(path, di.Moved)
		if edits == nil {
			continue
		}
		diags := depfileRelativeDiags(di, di.Moved)
		actions = append(actions, protocol.CodeAction{
			Title: fmt.Sprintf("Rewrite %d depfile entr%s to keep their meaning", len(di.Moved), map[bool]string{true: "y", false: "ies"}[len(di.Moved) == 1]),
			Kind:  protocol.QuickFix, IsPreferred: true,
			Diagnostics: []protocol.Diagnostic{diags[0].toProtocol(snap.Mapper)},
			Edit:        &protocol.WorkspaceEdit{Changes: map[protocol.DocumentURI][]protocol.TextEdit{pathURI(path): edits}},
		})
	}
	return actions
}

// depfileEdits replaces each moved entry's value in the depfile's current
// text (the editor's when open); nil when that text no longer holds the
// entries as analysed.
func (s *Server) depfileEdits(path string, moved []movedEntry) []protocol.TextEdit {
	text, open := s.store.OpenText(path)
	if !open {
		src, err := readFile(path, engine.MaxDepfileSize)
		if err != nil {
			return nil
		}
		text = string(src)
	}
	df := parser.ParseDepfile(path, []byte(text))
	m := NewMapper(text, s.enc)
	var edits []protocol.TextEdit
	for _, mv := range moved {
		if mv.Line > len(df.Lines) || df.Lines[mv.Line-1].Kind != parser.KindDirective || df.Lines[mv.Line-1].Payload != mv.Entry.Raw {
			return nil // edited since: the next analysis offers a fresh fix
		}
		edits = append(edits, protocol.TextEdit{Range: m.Range(mv.Entry.Range), NewText: escapeDepValue(mv.Value)})
	}
	return edits
}

// escapeDepValue writes a value with the depfile escapes (spec §4).
func escapeDepValue(v string) string {
	v = strings.ReplaceAll(v, `\`, `\\`)
	v = strings.ReplaceAll(v, "\n", `\n`)
	if strings.HasPrefix(v, "$") {
		v = `\` + v
	}
	return v
}

// depfileSessionDir is the directory a depfile document's entries resolve
// against: the session's directory where an open transcript declares it
// (the first, by URI), else the depfile's own directory, where a
// transcript beside it starts.
func (s *Server) depfileSessionDir(snap *Snapshot) string {
	if snap.Path == "" {
		return snap.Dir()
	}
	for _, t := range s.store.All() {
		if t.Kind != DocTranscript || !s.store.refersTo(t.URI, snap.Path) {
			continue
		}
		for _, di := range s.analysis(t).Deps {
			if di.Dep.Kind == parser.DepDepfile && len(di.Inputs) > 0 && di.Inputs[0].Path == snap.Path && di.Cwd != "" {
				return di.Cwd
			}
		}
	}
	return snap.Dir()
}

// refersTo reports whether the open transcript names the depfile path.
func (st *Store) refersTo(transcript protocol.DocumentURI, path string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.refs[transcript][path]
}

// isMoved reports whether the depfile line holds a moved entry.
func isMoved(moved []movedEntry, line int) bool {
	for _, m := range moved {
		if m.Line == line {
			return true
		}
	}
	return false
}
