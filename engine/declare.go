package engine

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cmdt-dev/cmdt/parser"
)

// DeclarationLines are the distinct declaration lines of suggestions,
// relative to dir (the transcript's directory: where a declaration
// inserted at DeclInsertLine resolves), in suggestion order.
func DeclarationLines(sugs []Suggestion, dir string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range sugs {
		for _, d := range s.Decls {
			t := d.Text(dir)
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// DeclInsertLine picks where new declarations go: after the `% dep` lines
// that precede the first command, else just before the first command, else
// at the end. Before the first command the session is still in the
// transcript's directory, which is what suggested relative paths assume.
// It returns the 1-based line to insert before, and whether that is past
// the last line.
func DeclInsertLine(f *parser.File) (int, bool) {
	lastDep := 0
	for _, l := range f.Lines {
		if l.Kind == parser.KindCommand {
			if lastDep > 0 {
				return lastDep + 1, false
			}
			return l.Num, false
		}
		if l.Kind == parser.KindDirective && l.Block == nil && (l.Directive.Name == parser.DirectiveDep || l.Directive.Name == parser.DirectiveDepfile) {
			lastDep = l.Num
		}
	}
	if lastDep > 0 && lastDep < len(f.Lines) {
		return lastDep + 1, false
	}
	return len(f.Lines) + 1, true
}

// InsertDeclarations returns src with the declaration lines inserted at
// DeclInsertLine, the same place the language server's quick fix puts
// them.
func InsertDeclarations(src []byte, f *parser.File, decls []string) []byte {
	if len(decls) == 0 {
		return src
	}
	var b bytes.Buffer
	for _, d := range decls {
		b.WriteString(d)
		b.WriteByte('\n')
	}
	line, atEOF := DeclInsertLine(f)
	if atEOF {
		out := append([]byte(nil), src...)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		return append(out, b.Bytes()...)
	}
	// The offset of line (1-based) in src.
	off := 0
	for n := 1; n < line && off < len(src); n++ {
		i := bytes.IndexByte(src[off:], '\n')
		if i < 0 {
			off = len(src)
			break
		}
		off += i + 1
	}
	out := make([]byte, 0, len(src)+b.Len())
	out = append(out, src[:off]...)
	out = append(out, b.Bytes()...)
	return append(out, src[off:]...)
}

// Describe says what the command did with the inputs, paths relative to
// dir: "read go.mod, main.go and listed d/". What it only stat'ed is left
// out when it did more, and so is a directory it opened to list.
func (s Suggestion) Describe(dir string) string {
	ins := s.Inputs
	var read, listed, looked []string
	for _, in := range ins {
		name := in.Path
		if rel, err := filepath.Rel(dir, in.Path); err == nil {
			name = filepath.ToSlash(rel)
		}
		switch {
		case in.Kind == InputGlob:
			listed = append(listed, strings.TrimSuffix(name, "*"))
		case in.StatOnly:
			looked = append(looked, name)
		default:
			read = append(read, name)
		}
	}
	isListed := map[string]bool{}
	for _, l := range listed {
		isListed[strings.TrimSuffix(l, "/")] = true
	}
	kept := read[:0]
	for _, r := range read {
		if !isListed[r] { // grep -r opens the directory it then lists
			kept = append(kept, r)
		}
	}
	read = kept
	if len(read)+len(listed) == 0 {
		read = looked
	}
	var parts []string
	if len(read) > 0 {
		parts = append(parts, "read "+listNames(read))
	}
	if len(listed) > 0 {
		parts = append(parts, "listed "+listNames(listed))
	}
	return strings.Join(parts, " and ")
}

// listNames joins up to five names, counting the rest.
func listNames(names []string) string {
	for i, n := range names {
		if n == "" {
			names[i] = "./"
		}
	}
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(", … (+%d more)", len(names)-5)
	}
	return strings.Join(names, ", ")
}
