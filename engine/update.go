package engine

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cmdt-dev/cmdt/parser"
)

// BlockEdit replaces the expectation lines of one command block.
type BlockEdit struct {
	Block *parser.Block
	// StartLine..EndLine (1-based, inclusive) are the replaced lines; for a
	// pure insertion EndLine == StartLine-1 and the new lines go before
	// StartLine.
	StartLine, EndLine int
	// Lines are the new lines, without terminators.
	Lines []string
}

// FileWrite is an expected-output file the update (re)writes.
type FileWrite struct {
	Path string // absolute
	Data []byte
}

// UpdatePlan is what an update would change: the new transcript text, the
// per-block edits that produce it (for editors), and output files.
type UpdatePlan struct {
	Source []byte
	Edits  []BlockEdit
	Files  []FileWrite
}

// PlanUpdate computes the updated transcript from a run: every command
// that ran gets expectations matching its actual output, keeping comments,
// blank lines, directives and command text exactly as written. It writes
// nothing.
func PlanUpdate(res *Result) (*UpdatePlan, error) {
	plan := &UpdatePlan{}
	transcriptDir := res.Dir
	if res.File.Name != "" {
		if abs, err := filepath.Abs(res.File.Name); err == nil {
			transcriptDir = filepath.Dir(abs)
		}
	}
	alloc := NewBinNamer(transcriptDir)
	for _, cr := range res.Commands {
		if cr.TimedOut {
			return nil, fmt.Errorf("%s:%d: command timed out; not updating from partial output", res.File.Name, cr.Block.Command.Num)
		}
		edit, files := blockEdit(cr, alloc)
		plan.Files = append(plan.Files, files...)
		if edit != nil {
			plan.Edits = append(plan.Edits, *edit)
		}
	}
	if len(plan.Edits) == 0 {
		// Nothing to change: the file stays byte for byte, line endings
		// included (a passing CRLF transcript is not rewritten).
		plan.Source = res.File.Bytes()
		return plan, nil
	}
	// A rewrite writes "\n" line endings throughout (spec §1).
	plan.Source = applyEdits(res.File, plan.Edits)
	return plan, nil
}

func blockEdit(cr *CommandResult, alloc *BinNamer) (*BlockEdit, []FileWrite) {
	b := cr.Block
	var lines []string
	var files []FileWrite
	if cr.Failure == nil {
		// It passed: its expectations stay exactly as written.
		return nil, nil
	}
	for _, stream := range []int{2, 1} {
		data, err := cr.Output(stream)
		if err != nil {
			return nil, nil // a kept output vanished: leave the block as it is
		}
		ref := ""
		for _, e := range b.Expect {
			if e.File && e.Stream == stream {
				ref = e.Text
				break
			}
		}
		switch {
		case ref != "":
			files = append(files, FileWrite{Path: absIn(cr.Dir, ref), Data: data})
		case len(data) == 0 && !hasStream(b, stream):
			continue
		case NeedsFile(data):
			path := alloc.Next()
			ref = relTo(cr.Dir, path)
			files = append(files, FileWrite{Path: path, Data: data})
		}
		if ref != "" {
			lines = append(lines, fmt.Sprintf("%d< %s", stream, ref))
			continue
		}
		lines = append(lines, keepPatterns(cr, stream, data)...)
	}
	if cr.ExitCode != 0 {
		lines = append(lines, "? "+strconv.Itoa(cr.ExitCode))
	}
	// Directives inside the block other than no-newline stay, after the
	// expectations.
	var old []string
	for _, l := range b.Lines {
		old = append(old, l.Text)
		if l.Kind == parser.KindDirective && (l.Directive == nil || l.Directive.Name != parser.DirectiveNoNewline) {
			lines = append(lines, l.Text)
		}
	}
	if equalStrings(old, lines) {
		return nil, files
	}
	first := b.Command.Num + len(b.Continuations) + 1
	return &BlockEdit{Block: b, StartLine: first, EndLine: first + len(b.Lines) - 1, Lines: lines}, files
}

// OutputLines renders text output of one stream (1 or 2) as transcript
// lines: "1 text", "1" for an empty line, "% no-newline" after a last line
// without a terminator. A line holding the value of an automatic
// substitution of subs (nil for none) is written as a pattern line with
// "[NAME]" in its place, so the transcript passes on other machines.
func OutputLines(stream int, data []byte, subs *Substitutions) []string {
	var lines []string
	for _, it := range streamItems(stream, data) {
		lines = append(lines, spellLine(stream, it.text, subs))
		if it.noNewline {
			lines = append(lines, "% no-newline")
		}
	}
	return lines
}

// spellLine writes one actual line as an expectation line.
func spellLine(stream int, text string, subs *Substitutions) string {
	if spelled, pattern := subs.Spell(text); pattern {
		return strconv.Itoa(stream) + "* " + spelled
	}
	return literalLine(stream, text)
}

// hasStream reports whether b has an expectation of the stream.
func hasStream(b *parser.Block, stream int) bool {
	for _, e := range b.Expect {
		if e.Stream == stream {
			return true
		}
	}
	return false
}

// keepPatterns writes the expectations of one text stream: aligned with
// the actual lines as a diff would, an expectation that still matches its
// line stays as written (a pattern stays a pattern), "..." stays, one that
// matches nothing goes, and each unmatched actual line is written anew.
func keepPatterns(cr *CommandResult, stream int, data []byte) []string {
	items := streamItems(stream, data)
	actual := make([]string, len(items))
	for i, it := range items {
		actual[i] = it.text
	}
	var pats []*linePattern
	for _, e := range cr.Block.Expect {
		if e.Stream != stream {
			continue
		}
		p, err := compileExpectation(e, cr.Substs)
		if err != nil {
			continue // matches nothing: the actual line replaces it
		}
		pats = append(pats, p)
	}
	var lines []string
	last := -1
	for _, op := range alignLines(pats, actual) {
		switch {
		case op.w >= 0 && op.w == last:
		case op.w >= 0 && (op.g >= 0 || pats[op.w].any):
			lines = append(lines, pats[op.w].exp.Line.Text)
		case op.g >= 0:
			lines = append(lines, spellLine(stream, actual[op.g], cr.Substs))
		}
		if op.w >= 0 {
			last = op.w
		}
	}
	if len(items) > 0 && items[len(items)-1].noNewline {
		lines = append(lines, "% no-newline")
	}
	return lines
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// applyEdits prints f with edits applied (edits in line order).
func applyEdits(f *parser.File, edits []BlockEdit) []byte {
	var buf bytes.Buffer
	needNewline := false
	emit := func(text string, newline bool) {
		if needNewline {
			buf.WriteByte('\n')
		}
		buf.WriteString(text)
		if newline {
			buf.WriteByte('\n')
		}
		needNewline = !newline
	}
	ei := 0
	for i := 0; i <= len(f.Lines); i++ {
		num := i + 1
		for ei < len(edits) && edits[ei].StartLine == num {
			for _, l := range edits[ei].Lines {
				emit(l, true)
			}
			i += edits[ei].EndLine - edits[ei].StartLine + 1
			ei++
		}
		if i < len(f.Lines) {
			l := f.Lines[i]
			emit(l.Text, l.HasNewline)
		}
	}
	return buf.Bytes()
}

// NeedsFile reports whether a stream's output must be kept in a "1<"/"2<"
// file rather than inline: binary output, and text with a line ending in
// '\r' ("\r\n" output), which an inline line cannot hold since the '\r'
// ending a transcript line is dropped (spec §1).
func NeedsFile(data []byte) bool {
	return IsBinary(data) || bytes.Contains(data, []byte("\r\n")) || bytes.HasSuffix(data, []byte("\r"))
}

// BinNamer hands out new output files in one directory (beside the
// transcript): 001.bin, 002.bin, ... skipping names that exist or were
// handed out. Update and `transcript shell` both name files with it.
type BinNamer struct {
	dir   string
	n     int
	taken map[string]bool
}

// NewBinNamer returns a BinNamer for files in dir.
func NewBinNamer(dir string) *BinNamer {
	return &BinNamer{dir: dir, taken: map[string]bool{}}
}

// Next returns the absolute path of the next free name.
func (a *BinNamer) Next() string {
	for {
		a.n++
		p := filepath.Join(a.dir, fmt.Sprintf("%03d.bin", a.n))
		if a.taken[p] || fileExists(p) {
			continue
		}
		a.taken[p] = true
		return p
	}
}

// WriteUpdate writes a plan: the transcript at path and its output files,
// each atomically (temp file + rename) and only when its content changed.
// Every target must resolve inside root (see WriteInRoot); all are checked
// before anything is written. It returns the paths written.
func WriteUpdate(path string, plan *UpdatePlan, root string) ([]string, error) {
	targets := append([]FileWrite{{Path: path, Data: plan.Source}}, plan.Files...)
	resolved := make([]*rootTarget, 0, len(targets))
	defer func() {
		for _, t := range resolved {
			t.dir.Close()
		}
	}()
	for _, t := range targets {
		rt, err := resolveInRoot(root, t.Path)
		if err != nil {
			return nil, err
		}
		resolved = append(resolved, rt)
	}
	var written []string
	// Output files first: if one fails, the transcript still describes the
	// old state consistently.
	order := append(resolved[1:len(resolved):len(resolved)], resolved[0])
	data := append(targets[1:len(targets):len(targets)], targets[0])
	for i, rt := range order {
		changed, err := rt.write(data[i].Data)
		if err != nil {
			return written, err
		}
		if changed {
			written = append(written, data[i].Path)
		}
	}
	return written, nil
}

// WriteFileAtomic replaces path with data via a temp file and rename, so
// readers see the old or the new content, never a mix. It does nothing
// (and reports false) when the content is already data. It is for files
// the user named on the command line (reports); whatever a transcript
// determines goes through WriteInRoot instead.
func WriteFileAtomic(path string, data []byte) (bool, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	dir := filepath.Dir(abs)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	defer r.Close()
	t := &rootTarget{dir: r, name: filepath.Base(abs), path: path, mode: 0o644}
	if st, err := os.Stat(abs); err == nil && st.Mode().IsRegular() {
		t.mode, t.exists = st.Mode().Perm(), true
	}
	return t.write(data)
}

// Lines splits text into lines without terminators (for BlockEdit users).
func Lines(text string) []string {
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}
