package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/aymanbagabas/go-udiff/lcs"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// Update and accept never write the transcript: the editor owns the
// buffer, which may hold unsaved text. They send workspace/applyEdit with
// edits of only the expectation lines that change (a line diff of each
// block's old and new expectations), so undo restores exactly what was
// there and the cursor and folds elsewhere stay put. Output files ("1<",
// new binary outputs) are not editor text: they are written atomically,
// inside the module root only, before the edit is sent (as the CLI does:
// if a write fails, the transcript still describes the old state). An
// output file open in the editor is edited through the editor instead.

// applyEditTimeout bounds the wait for the client to apply an edit (it
// may ask the user, for example about a file open elsewhere).
const applyEditTimeout = 2 * time.Minute

// applyUpdate turns a finished update run into edits.
func (s *Server) applyUpdate(j *job, rec *runRecord, out *RunOutcome) error {
	plan, err := engine.PlanUpdate(rec.Result)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	edits, files, err := s.applyPlan(j.ctx, "cmdt: update "+filepath.Base(j.snap.Path), j.snap.URI, rec, plan)
	out.Edits, out.Files = edits, files
	if err != nil {
		return err
	}
	if edits == 0 && len(files) == 0 {
		out.Status, out.Text = OutcomeUnchanged, "unchanged: every expectation already matches"
		return nil
	}
	out.Status = OutcomeUpdated
	out.Text = fmt.Sprintf("updated: %d edit(s)", edits)
	if len(files) > 0 {
		out.Text += fmt.Sprintf(", %d file(s) written", len(files))
	}
	return nil
}

// acceptCommand is cmdt.accept [uri, line]: replace one failed command's
// expectations by the output of the last run, without running again.
// line is the 0-based line of the command (any line of its block works).
func acceptCommand(ctx context.Context, s *Server, p *executeCommandParams) (interface{}, error) {
	snap, err := s.commandDoc(CommandAccept, p.Arguments)
	if err != nil {
		return nil, err
	}
	if len(p.Arguments) < 2 {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s: missing argument: the command's 0-based line", CommandAccept)
	}
	var line uint32
	if err := json.Unmarshal(p.Arguments[1], &line); err != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s: the second argument must be a 0-based line number: %v", CommandAccept, err)
	}
	rec := s.runs.lastRecord(snap.URI)
	if rec == nil {
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: no run results for this transcript: run it first", CommandAccept)
	}
	f := snap.File()
	n := snap.Mapper.PosOf(protocol.Position{Line: line}).Line
	b := blockAtLine(f, n)
	if b == nil {
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: no command on line %d", CommandAccept, line+1)
	}
	cr := rec.viewFor(f).results[b]
	switch {
	case cr == nil:
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: no result for the command on line %d: it changed since the last run, or did not run", CommandAccept, b.Command.Num)
	case cr.Failure == nil:
		return &RunOutcome{Status: OutcomeUnchanged, Text: "the command passed: nothing to accept", Commands: 1}, nil
	case cr.TimedOut:
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: the command on line %d timed out: its output is partial, not accepting it", CommandAccept, b.Command.Num)
	}
	one := &engine.Result{File: rec.Result.File, Dir: rec.Result.Dir, Root: rec.Result.Root, Commands: []*engine.CommandResult{cr}}
	plan, err := engine.PlanUpdate(one)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CommandAccept, err)
	}
	return &deferred{wait: func(ctx context.Context) (interface{}, error) {
		edits, files, err := s.applyPlan(ctx, "cmdt: accept actual output", snap.URI, rec, plan)
		if err != nil {
			return nil, err
		}
		out := &RunOutcome{Status: OutcomeUpdated, Text: fmt.Sprintf("accepted the output of line %d", b.Command.Num), Commands: 1, Edits: edits, Files: files}
		if edits == 0 && len(files) == 0 {
			out.Status, out.Text = OutcomeUnchanged, "unchanged"
		}
		return out, nil
	}}, nil
}

// blockAtLine returns the block holding 1-based line n, or nil.
func blockAtLine(f *parser.File, n int) *parser.Block {
	if n < 1 || n > len(f.Lines) {
		return nil
	}
	return f.Lines[n-1].Block // set on every line of a block by the parser
}

// docEdit is the text edits of one open document, against one snapshot.
type docEdit struct {
	snap  *Snapshot
	edits []protocol.TextEdit
}

// applyPlan sends a plan's block edits, moved onto the document's current
// text, and writes its output files. The blocks must still be there
// unchanged: an update of text the user rewrote meanwhile would put
// outputs in the wrong place.
func (s *Server) applyPlan(ctx context.Context, label string, u protocol.DocumentURI, rec *runRecord, plan *engine.UpdatePlan) (edits int, files []string, err error) {
	cur := s.store.Get(u)
	if cur == nil || cur.Kind != DocTranscript {
		return 0, nil, fmt.Errorf("%s: the document was closed (or is no longer a transcript)", label)
	}
	v := rec.viewFor(cur.File())
	var textEdits []protocol.TextEdit
	for _, be := range plan.Edits {
		nb := rec.currentBlock(v, be.Block)
		if nb == nil {
			return 0, nil, fmt.Errorf("%s: the command on line %d was edited after it ran; run again", label, be.Block.Command.Num)
		}
		shift := nb.Command.Num - be.Block.Command.Num
		textEdits = append(textEdits, lineEdits(cur, be.StartLine+shift, be.EndLine+shift, be.Lines)...)
	}
	docs := []docEdit{{snap: cur, edits: textEdits}}
	written, fileDocs, err := s.writeOutputs(rec.Result.Root, plan.Files)
	if err != nil {
		return 0, written, fmt.Errorf("%s: %w", label, err)
	}
	docs = append(docs, fileDocs...)
	for _, d := range docs {
		edits += len(d.edits)
	}
	if edits == 0 {
		return 0, written, nil
	}
	actx, cancel := context.WithTimeout(ctx, applyEditTimeout)
	defer cancel()
	if err := s.applyEdit(actx, label, s.workspaceEdit(docs)); err != nil {
		return 0, written, fmt.Errorf("%s: %w", label, err)
	}
	return edits, written, nil
}

// lineEdits returns the edits that turn lines first..last (1-based,
// inclusive; last == first-1 inserts before first) of snap into lines,
// leaving lines that stay the same alone. Every new line ends with "\n",
// as the engine's own update writes them.
func lineEdits(snap *Snapshot, first, last int, lines []string) []protocol.TextEdit {
	f := snap.File()
	old := make([]string, 0, max(last-first+1, 0))
	for n := first; n <= last && n <= len(f.Lines); n++ {
		old = append(old, f.Lines[n-1].Text)
	}
	offset := func(n int) int { // start of 1-based line n; the end of the text past the last line
		if n-1 < len(f.Lines) {
			return f.Lines[n-1].Offset
		}
		return len(snap.Text)
	}
	var out []protocol.TextEdit
	for _, d := range lcs.DiffLines(old, lines) {
		start, end := offset(first+d.Start), offset(first+d.End)
		var b strings.Builder
		if start == len(snap.Text) && snap.Text != "" && !strings.HasSuffix(snap.Text, "\n") && d.ReplEnd > d.ReplStart {
			b.WriteByte('\n') // appending after a last line without a newline
		}
		for _, l := range lines[d.ReplStart:d.ReplEnd] {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		out = append(out, protocol.TextEdit{
			Range:   protocol.Range{Start: snap.Mapper.OffsetToPosition(start), End: snap.Mapper.OffsetToPosition(end)},
			NewText: b.String(),
		})
	}
	return out
}

// writeOutputs writes output files, all inside root or none. A text file
// open in the editor becomes an edit of its buffer instead.
func (s *Server) writeOutputs(root string, files []engine.FileWrite) (written []string, docs []docEdit, err error) {
	for _, fw := range files {
		if !engine.IsWithin(root, fw.Path) {
			return nil, nil, fmt.Errorf("%s: %w %s", fw.Path, engine.ErrOutsideRoot, root)
		}
		if err := engine.CheckWriteInRoot(root, fw.Path); err != nil {
			return nil, nil, err
		}
	}
	for _, fw := range files {
		if open := s.store.Get(pathURI(fw.Path)); open != nil && !engine.IsBinary(fw.Data) {
			if open.Text != string(fw.Data) {
				all := protocol.Range{End: open.Mapper.OffsetToPosition(len(open.Text))}
				docs = append(docs, docEdit{snap: open, edits: []protocol.TextEdit{{Range: all, NewText: string(fw.Data)}}})
			}
			continue
		}
		changed, err := engine.WriteInRoot(root, fw.Path, fw.Data)
		if err != nil {
			return written, nil, err
		}
		if changed {
			rel, rerr := filepath.Rel(root, fw.Path)
			if rerr != nil {
				rel = fw.Path
			}
			written = append(written, filepath.ToSlash(rel))
		}
	}
	return written, docs, nil
}

// workspaceEdit builds the edit in the form the client takes: versioned
// document changes when it supports them (it then refuses the edit if the
// user typed meanwhile), plain changes otherwise.
func (s *Server) workspaceEdit(docs []docEdit) protocol.WorkspaceEdit {
	s.mu.Lock()
	versioned := s.caps.Workspace != nil && s.caps.Workspace.WorkspaceEdit != nil && s.caps.Workspace.WorkspaceEdit.DocumentChanges
	s.mu.Unlock()
	var we protocol.WorkspaceEdit
	for _, d := range docs {
		if len(d.edits) == 0 {
			continue
		}
		if versioned {
			v := d.snap.Version
			we.DocumentChanges = append(we.DocumentChanges, protocol.TextDocumentEdit{
				TextDocument: protocol.OptionalVersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: d.snap.URI}, Version: &v},
				Edits:        d.edits,
			})
			continue
		}
		if we.Changes == nil {
			we.Changes = map[protocol.DocumentURI][]protocol.TextEdit{}
		}
		we.Changes[d.snap.URI] = append(we.Changes[d.snap.URI], d.edits...)
	}
	return we
}

// applyEdit asks the client to apply an edit and reports whether it did.
func (s *Server) applyEdit(ctx context.Context, label string, edit protocol.WorkspaceEdit) error {
	var res protocol.ApplyWorkspaceEditResponse
	if _, err := s.conn.Call(ctx, protocol.MethodWorkspaceApplyEdit, protocol.ApplyWorkspaceEditParams{Label: label, Edit: edit}, &res); err != nil {
		return fmt.Errorf("workspace/applyEdit: %w", err)
	}
	if !res.Applied {
		reason := res.FailureReason
		if reason == "" {
			reason = "no reason given (was the document edited meanwhile?)"
		}
		return fmt.Errorf("the editor did not apply the edit: %s", reason)
	}
	return nil
}
