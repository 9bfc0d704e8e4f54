package lsp

import (
	"fmt"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// Patterns in the editor (docs/format.md §6): hover on a pattern line shows
// what it matched in the last run, hover on a substitution its value, and
// completion offers substitution names after "[" in a "1*"/"2*" line.

// patternOpcodeDocs explain the pattern opcodes.
var patternOpcodeDocs = map[string]string{
	"1*": "**`1* TEXT`** — one stdout line matching a pattern: `[..]` any text within the line, `[NAME]` a substitution " +
		"(`[ROOT]`, `[DIR]`, `[TMP]`, `[HOME]`, or one declared with `% subst`), `\\[` a literal `[`. `1* ...` alone: any number of lines.",
	"2*": "**`2* TEXT`** — one stderr line matching a pattern: `[..]` any text within the line, `[NAME]` a substitution, `\\[` a literal `[`. `2* ...` alone: any number of lines.",
	"1~": "**`1~ RE`** — one stdout line matching the RE2 regexp as a whole (anchored at both ends).",
	"2~": "**`2~ RE`** — one stderr line matching the RE2 regexp as a whole (anchored at both ends).",
}

const substDirectiveDoc = "**`% subst NAME value WORD`** / **`% subst NAME regexp RE`** — defines `[NAME]` for the pattern lines after it: " +
	"a literal value (one shell word, quotes and `$VAR` expanded here) or any text an RE2 regexp matches. " +
	"Update writes `[NAME]` in place of the value in the lines it rewrites."

// maxHoverLines bounds what a hover lists of a run's output.
const maxHoverLines = 20

// maxHoverLineBytes bounds each listed line.
const maxHoverLineBytes = 200

// expectationOf returns the expectation of an output line, or nil.
func expectationOf(l *parser.Line) *parser.Expectation {
	if l.Block == nil {
		return nil
	}
	for _, e := range l.Block.Expect {
		if e.Line == l {
			return e
		}
	}
	return nil
}

// patternHover describes a pattern line or a substitution under the cursor.
func (s *Server) patternHover(snap *Snapshot, l *parser.Line, pos parser.Pos) *protocol.Hover {
	e := expectationOf(l)
	if e == nil || e.Pattern == nil {
		return nil
	}
	if l.OpcodeRange.Contains(pos) {
		return markdown(patternOpcodeDocs[l.Opcode])
	}
	cr := s.lastResultFor(snap, l.Block)
	var b strings.Builder
	if seg := segmentAt(e, pos); seg != nil && seg.Kind == parser.SegSubst {
		fmt.Fprintf(&b, "**[%s]** — %s\n\n", seg.Text, substDoc(snap.File(), seg.Text, l.Num))
		if cr != nil {
			if v, ok := cr.Substs.Value(seg.Text); ok {
				fmt.Fprintf(&b, "In the last run: `%s`\n\n", clipLine(v))
			} else {
				b.WriteString("In the last run it had **no value**.\n\n")
			}
		}
	}
	switch {
	case cr == nil:
		b.WriteString("Not run yet: run the transcript to see what this pattern matches.")
	default:
		b.WriteString(matchedText(cr, l.Block, e))
	}
	return markdown(b.String())
}

// lastResultFor returns the last run's result for block b, or nil.
func (s *Server) lastResultFor(snap *Snapshot, b *parser.Block) *engine.CommandResult {
	rec := s.runs.lastRecord(snap.URI)
	if rec == nil {
		return nil
	}
	return rec.viewFor(snap.File()).results[b]
}

// matchedText says what expectation e of block b matched in the run cr,
// bounded to maxHoverLines lines.
func matchedText(cr *engine.CommandResult, b *parser.Block, e *parser.Expectation) string {
	// The run parsed its own copy of the text; the block key matched, so
	// its expectations line up with b's one for one.
	idx := -1
	for i, x := range b.Expect {
		if x == e {
			idx = i
		}
	}
	if idx < 0 || idx >= len(cr.Block.Expect) {
		return ""
	}
	if cr.BigOutputs() {
		msg := fmt.Sprintf("The output of the last run was larger than %d MiB: it was checked from disk and is not shown.", engine.BigOutput>>20)
		if p := cr.StdoutPath + cr.StderrPath; p != "" {
			msg += " Full output: `" + strings.TrimSpace(cr.StdoutPath+" "+cr.StderrPath) + "`."
		}
		return msg
	}
	lines, ok := engine.MatchedLines(cr)[cr.Block.Expect[idx]]
	if !ok {
		return "In the last run this line matched **nothing**: see the failure on the command."
	}
	if len(lines) == 0 {
		return "In the last run this matched no line (none needed)."
	}
	var out strings.Builder
	fmt.Fprintf(&out, "In the last run this matched %d line(s):\n\n```text\n", len(lines))
	for i, l := range lines {
		if i == maxHoverLines-1 && len(lines) > maxHoverLines {
			fmt.Fprintf(&out, "… %d more line(s), then:\n%s\n", len(lines)-i-1, clipLine(lines[len(lines)-1]))
			break
		}
		out.WriteString(clipLine(l) + "\n")
	}
	out.WriteString("```")
	return out.String()
}

func clipLine(s string) string {
	if len(s) <= maxHoverLineBytes {
		return s
	}
	cut := maxHoverLineBytes
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d bytes)", len(s))
}

// segmentAt returns the glob segment under pos, or nil.
func segmentAt(e *parser.Expectation, pos parser.Pos) *parser.Segment {
	col := pos.Col - e.Line.PayloadPos.Col
	for i := range e.Pattern.Segments {
		seg := &e.Pattern.Segments[i]
		if pos.Line == e.Line.Num && col >= seg.Start && col < seg.End {
			return seg
		}
	}
	return nil
}

// substDoc explains a substitution name as seen from line num.
func substDoc(f *parser.File, name string, num int) string {
	for _, b := range parser.BuiltinSubsts {
		if b.Name == name {
			return "built-in: " + b.Doc + "."
		}
	}
	var decl *parser.Subst
	for _, s := range f.Substs() {
		if s.NameRange.Start.Line < num && s.Name == name {
			decl = s
		}
	}
	if decl == nil {
		return "not declared above this line."
	}
	kind := "the value"
	if decl.Kind == parser.SubstRegexp {
		kind = "any text matching the regexp"
	}
	return fmt.Sprintf("declared on line %d: %s `%s`.", decl.NameRange.Start.Line, kind, decl.Raw)
}

// completeSubstName offers substitution names after an unclosed "[" in a
// "1*"/"2*" payload: the built-ins and the names declared above.
func completeSubstName(snap *Snapshot, pos parser.Pos, rest string, col int, out *completionItems) {
	open := strings.LastIndexByte(rest, '[')
	if open < 0 || strings.IndexByte(rest[open:], ']') >= 0 || open > 0 && rest[open-1] == '\\' {
		return
	}
	typed := rest[open+1:]
	r := snap.Mapper.Range(parser.Range{Start: parser.Pos{Line: pos.Line, Col: col + open + 1}, End: pos})
	add := func(name, detail, doc string) {
		if strings.HasPrefix(name, typed) {
			out.add(protocol.CompletionItem{Label: name, Detail: detail, Kind: protocol.CompletionItemKindVariable,
				Documentation: docMarkup(doc), TextEdit: &protocol.TextEdit{Range: r, NewText: name + "]"}})
		}
	}
	add("..", "wildcard", "`[..]` matches any text within the line, none included.")
	for _, b := range parser.BuiltinSubsts {
		add(b.Name, "built-in substitution", b.Doc)
	}
	seen := map[string]bool{}
	for _, s := range snap.File().Substs() {
		if s.NameRange.Start.Line < pos.Line && !seen[s.Name] {
			seen[s.Name] = true
			add(s.Name, "substitution (line "+fmt.Sprint(s.NameRange.Start.Line)+")", substDoc(snap.File(), s.Name, pos.Line))
		}
	}
}
