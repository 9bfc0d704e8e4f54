package lsp

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// Run results outlive the text that ran: the user keeps typing while a
// failure is on screen. They are attached to command blocks, not to line
// numbers. A block is identified by its exact text (command, continuations
// and expectation lines) and by which occurrence of that text it is; in a
// newer snapshot each result goes to the block with the same identity,
// wherever it moved. Editing a block (its command or its expectations,
// which is what accepting does) changes its identity, so its result is
// dropped: it described text that is gone. Edits elsewhere only move it.

// Diagnostic codes of run results (see docs/lsp.md).
const (
	CodeCheckFailed  = "check-failed"         // output differs, timed out, or an expected-output file is unreadable
	CodeExitStatus   = "exit-status-mismatch" // the command's exit status differs from `? N` (or 0)
	runResultsSource = diagnosticSource
)

// blockKey identifies a command block across snapshots.
type blockKey struct {
	sig uint64 // hash of the block's lines
	nth int    // occurrence of that text in the file, from 0
}

// blockSignature hashes a block's lines (FNV-1a, inline: it runs over the
// whole file on every keystroke of a document with run results, and
// hash/fnv would copy each line to a []byte).
func blockSignature(b *parser.Block) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	write := func(s string, end byte) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
		h ^= uint64(end)
		h *= prime
	}
	write(b.Command.Text, '\n')
	for _, l := range b.Continuations {
		write(l.Text, '\n')
	}
	write("", 0) // the command ends here
	for _, l := range b.Lines {
		write(l.Text, '\n')
	}
	return h
}

// blockKeys returns the key of every block of f, in the order of
// f.Blocks.
func blockKeys(f *parser.File) []blockKey {
	keys := make([]blockKey, len(f.Blocks))
	seen := make(map[uint64]int, len(f.Blocks))
	for i, b := range f.Blocks {
		sig := blockSignature(b)
		keys[i] = blockKey{sig, seen[sig]}
		seen[sig]++
	}
	return keys
}

// runRecord is a document's last finished run. It never changes once
// stored; views onto newer snapshots are memoised inside it.
type runRecord struct {
	Kind      jobKind
	Text      string // the transcript text that ran
	Result    *engine.Result
	Cancelled bool
	Finished  time.Time
	Failed    int // commands that ran and failed
	Ran       int // commands that ran to completion
	Total     int // command blocks in the text
	// NotCached says why a passing run was not recorded (an input
	// changed while it ran), "" otherwise.
	NotCached string
	// observed indexes the run's observed inputs (observed.go); nil when
	// it has none in the module root.
	observed *observedIndex

	keyOf   map[*parser.Block]blockKey // blocks of Result.File
	results map[blockKey]*engine.CommandResult
	// messages holds each failure's message, built once: diagnostics are
	// rebuilt on every keystroke.
	messages map[*engine.CommandResult]string

	viewMu   sync.Mutex
	viewFile *parser.File
	view     *runView
}

func newRunRecord(kind jobKind, text string, res *engine.Result, cancelled bool) *runRecord {
	r := &runRecord{Kind: kind, Text: text, Result: res, Cancelled: cancelled, Finished: time.Now(),
		Total: len(res.File.Blocks), keyOf: make(map[*parser.Block]blockKey, len(res.File.Blocks))}
	for i, k := range blockKeys(res.File) {
		r.keyOf[res.File.Blocks[i]] = k
	}
	cmds := res.Commands
	if cancelled && len(cmds) > 0 {
		// The last command was killed mid-way: it has output but no
		// verdict, and showing it as passed would be a lie.
		cmds = cmds[:len(cmds)-1]
	}
	r.results = make(map[blockKey]*engine.CommandResult, len(cmds))
	r.messages = map[*engine.CommandResult]string{}
	for _, cr := range cmds {
		r.results[r.keyOf[cr.Block]] = cr
		r.Ran++
		if cr.Failure != nil {
			r.Failed++
			r.messages[cr] = failureMessage(cr)
		}
	}
	return r
}

// passed reports a complete run without failures.
func (r *runRecord) passed() bool {
	return !r.Cancelled && r.Failed == 0 && len(r.Result.DeclErrors) == 0
}

// runView is a run record seen through one snapshot: which of its blocks
// have a result.
type runView struct {
	results map[*parser.Block]*engine.CommandResult
	file    *parser.File
	keys    []blockKey // of file.Blocks

	blocksOnce sync.Once
	blocks     map[blockKey]*parser.Block // built on demand (update, accept)
}

// viewFor maps the record onto f (a snapshot's parse tree; nil, for a
// document that is no longer a transcript, has no results).
func (r *runRecord) viewFor(f *parser.File) *runView {
	if f == nil {
		return &runView{}
	}
	r.viewMu.Lock()
	defer r.viewMu.Unlock()
	if r.viewFile == f && r.view != nil {
		return r.view
	}
	v := &runView{results: map[*parser.Block]*engine.CommandResult{}, file: f, keys: blockKeys(f)}
	for i, k := range v.keys {
		if cr, ok := r.results[k]; ok {
			v.results[f.Blocks[i]] = cr
		}
	}
	r.viewFile, r.view = f, v
	return v
}

// currentBlock returns the block of the viewed snapshot that a block of
// the run's own text became, or nil if it was edited away.
func (r *runRecord) currentBlock(v *runView, ran *parser.Block) *parser.Block {
	k, ok := r.keyOf[ran]
	if !ok || v.file == nil {
		return nil
	}
	v.blocksOnce.Do(func() {
		v.blocks = make(map[blockKey]*parser.Block, len(v.keys))
		for i, k := range v.keys {
			v.blocks[k] = v.file.Blocks[i]
		}
	})
	return v.blocks[k]
}

// runDiagData is the data of a run diagnostic: the 0-based line of the
// command's `$` line, which is what cmdt.accept takes.
type runDiagData struct {
	Line uint32 `json:"line"`
}

// runDiagnostics are the last run's results on snap: a failure on each
// failed command's `$` line and an exit-status mismatch on its `?` line.
func (s *Server) runDiagnostics(snap *Snapshot) []protocol.Diagnostic {
	rec := s.runs.lastRecord(snap.URI)
	if rec == nil || snap.Kind != DocTranscript || rec.Failed == 0 && len(rec.Result.DeclErrors) == 0 {
		return nil // nothing to show: no need to map the results
	}
	f := snap.File()
	v := rec.viewFor(f)
	var diags []protocol.Diagnostic
	for _, b := range f.Blocks {
		cr := v.results[b]
		if cr == nil || cr.Failure == nil {
			continue
		}
		diags = append(diags, failureDiagnostics(snap, b, cr, rec.messages[cr])...)
	}
	if rec.Text == snap.Text {
		// Declarations that failed to resolve carry positions, not block
		// identities: they hold only for the very text that ran.
		for _, e := range rec.Result.DeclErrors {
			diags = append(diags, declErrorDiagnostic(snap, rec.Result, e))
		}
	}
	return diags
}

// declErrorDiagnostic places a declaration error of a run on the
// transcript. An error inside a depfile (its syntax, an entry that does not
// resolve) carries the depfile's positions: it goes on the line declaring
// the depfile, naming the depfile's line and linking to it, never at the
// depfile's line numbers in the transcript.
func declErrorDiagnostic(snap *Snapshot, res *engine.Result, e *parser.Error) protocol.Diagnostic {
	d := protocol.Diagnostic{Range: snap.Mapper.Range(e.Range), Severity: protocol.DiagnosticSeverityError,
		Code: string(e.Code), Source: runResultsSource, Message: "run: " + e.Msg}
	if e.File == "" || e.File == res.File.Name {
		return d
	}
	for _, in := range res.Declared {
		if in.Kind != engine.InputDepfile || in.Path != e.File {
			continue
		}
		if l := snap.File().LineAt(in.Line); l != nil {
			d.Range = snap.Mapper.Range(l.Range())
			d.Message = fmt.Sprintf("run: depfile %s:%d: %s", in.Raw, e.Range.Start.Line, e.Msg)
			d.RelatedInformation = []protocol.DiagnosticRelatedInformation{{
				Location: protocol.Location{URI: pathURI(e.File), Range: depfileRange(e.Range)},
				Message:  e.Msg,
			}}
			return d
		}
	}
	// A depfile the declarations do not name (should not happen): the
	// first line, rather than a position that belongs to another file.
	d.Range = snap.Mapper.Range(parser.Range{Start: parser.Pos{Line: 1}, End: parser.Pos{Line: 1}})
	d.Message = "run: " + e.Error()
	return d
}

// depfileRange converts a depfile range (1-based lines, byte columns) to
// the protocol for a file that may not be open: columns are taken as
// they are, which is exact for ASCII paths and names.
func depfileRange(r parser.Range) protocol.Range {
	pos := func(p parser.Pos) protocol.Position {
		return protocol.Position{Line: uint32(max(p.Line-1, 0)), Character: uint32(p.Col)}
	}
	return protocol.Range{Start: pos(r.Start), End: pos(r.End)}
}

// failureMessage is the check-failed message of a failed command, "" when
// only its exit status differs.
func failureMessage(cr *engine.CommandResult) string {
	f := cr.Failure
	var parts []string
	if f.TimedOut {
		parts = append(parts, fmt.Sprintf("the command timed out after %s and was killed", formatDuration(cr.Duration)))
	}
	if f.Err != nil {
		parts = append(parts, f.Err.Error())
	}
	if f.Diff != "" {
		parts = append(parts, "output differs from the expectation (- expected, + actual):\n"+strings.TrimRight(f.Diff, "\n"))
	}
	return strings.Join(parts, "\n")
}

// failureDiagnostics describes one failed command on the current block b;
// msg is its failureMessage.
func failureDiagnostics(snap *Snapshot, b *parser.Block, cr *engine.CommandResult, msg string) []protocol.Diagnostic {
	f := cr.Failure
	m := snap.Mapper
	cmdRange := m.Range(b.Command.Range())
	data := runDiagData{Line: cmdRange.Start.Line}
	var diags []protocol.Diagnostic
	if msg != "" {
		d := protocol.Diagnostic{Range: cmdRange, Severity: protocol.DiagnosticSeverityError, Code: CodeCheckFailed,
			Source: runResultsSource, Message: msg, Data: data}
		for _, e := range b.Expect {
			what := map[int]string{1: "expected stdout", 2: "expected stderr"}[e.Stream]
			if e.File {
				what += " (file)"
			}
			d.RelatedInformation = append(d.RelatedInformation, protocol.DiagnosticRelatedInformation{
				Location: protocol.Location{URI: snap.URI, Range: m.Range(e.Line.Range())}, Message: what})
		}
		diags = append(diags, d)
	}
	if f.StatusMismatch && !f.TimedOut {
		d := protocol.Diagnostic{Range: cmdRange, Severity: protocol.DiagnosticSeverityError, Code: CodeExitStatus,
			Source: runResultsSource, Data: data,
			Message: fmt.Sprintf("exit status %d, expected %d (no `? N` line means 0)", f.GotStatus, f.WantStatus)}
		if b.Status != nil {
			d.Range = m.Range(b.Status.Range())
			d.Message = fmt.Sprintf("exit status %d, expected %d", f.GotStatus, f.WantStatus)
			d.RelatedInformation = []protocol.DiagnosticRelatedInformation{{
				Location: protocol.Location{URI: snap.URI, Range: cmdRange}, Message: "the command"}}
		}
		diags = append(diags, d)
	}
	return diags
}

// formatDuration renders a run time the way hints show it: "<1 ms",
// "12 ms", "1.2 s", "2 min 5 s".
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "<1 ms"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%d min %d s", int(d/time.Minute), int(d%time.Minute/time.Second))
}
