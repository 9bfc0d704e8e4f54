package parser

import (
	"fmt"
	"strings"
)

// Depfile is a parsed depfile (spec §4). Like File it is lossless.
type Depfile struct {
	Name    string
	Lines   []*Line // Kind is KindBlank, KindComment, or KindDirective for entries
	Entries []*Dep  // one per entry line, in order
	// EntryLines maps each entry to its line (same index as Entries).
	EntryLines []*Line
	Errors     ErrorList
}

// Bytes prints the depfile back exactly.
func (d *Depfile) Bytes() []byte { return printLines(d.Lines) }

// ParseDepfile parses a depfile. Values are unescaped ("\\", "\$", "\n");
// lines end as in a transcript (a '\r' ending a line is dropped).
func ParseDepfile(name string, src []byte) *Depfile {
	df := &Depfile{Name: name}
	for _, l := range splitLines(src) {
		df.Lines = append(df.Lines, l)
		text := l.Text
		switch {
		case strings.TrimSpace(text) == "":
			l.Kind = KindBlank
			continue
		case text[0] == '#':
			l.Kind = KindComment
			continue
		}
		l.Kind = KindDirective
		dep, err := parseDepfileLine(name, l, text)
		if err != nil {
			df.Errors = append(df.Errors, err)
			continue
		}
		df.Entries = append(df.Entries, dep)
		df.EntryLines = append(df.EntryLines, l)
	}
	return df
}

func parseDepfileLine(name string, l *Line, text string) (*Dep, *Error) {
	lineRange := Range{Pos{l.Num, 0}, Pos{l.Num, len(text)}}
	errorf := func(r Range, code Code, format string, a ...any) *Error {
		return &Error{File: name, Range: r, Code: code, Msg: fmt.Sprintf(format, a...)}
	}
	keyword, rest, hasSpace := strings.Cut(text, " ")
	l.Opcode = keyword
	l.OpcodeRange = Range{Pos{l.Num, 0}, Pos{l.Num, len(keyword)}}
	if keyword == "depfile" || keyword == "<" {
		return nil, errorf(lineRange, CodeNestedDepfile, "a depfile cannot include another depfile (no nesting)")
	}
	dep := &Dep{Literal: true}
	valueCol := 0
	if kind, ok := ParseDepKind(keyword); ok && kind != DepDepfile {
		if !hasSpace || rest == "" {
			return nil, errorf(lineRange, CodeBadDep, "`%s` needs a value after one space", keyword)
		}
		dep.Kind = kind
		valueCol = len(keyword) + 1
	} else if text[0] == '$' {
		dep.Kind, dep.Compat = DepEnv, true
		valueCol = 1
	} else {
		dep.Kind, dep.Compat = DepFile, true
	}
	raw := text[valueCol:]
	l.Payload = raw
	l.PayloadPos = Pos{l.Num, valueCol}
	dep.Raw = raw
	dep.Range = Range{Pos{l.Num, valueCol}, Pos{l.Num, len(text)}}
	value, err := unescapeDepValue(raw)
	if err != "" {
		return nil, errorf(dep.Range, CodeBadEscape, "%s", err)
	}
	dep.Value = value
	if dep.Kind == DepEnv && !ValidEnvName(value) {
		return nil, errorf(dep.Range, CodeBadEnvName, "%q is not a valid environment variable name", clip(value))
	}
	return dep, nil
}

// unescapeDepValue applies the depfile escapes; it returns a message for
// an unknown escape.
func unescapeDepValue(s string) (string, string) {
	if !strings.Contains(s, `\`) {
		return s, ""
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", `a trailing backslash escapes nothing (write \\ for a backslash)`
		}
		i++
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case '$':
			b.WriteByte('$')
		case 'n':
			b.WriteByte('\n')
		default:
			return "", fmt.Sprintf(`unknown escape \%c: only \\, \$ and \n are allowed`, s[i])
		}
	}
	return b.String(), ""
}
