package parser

import (
	"fmt"
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// The pattern extension (docs/format.md, "Patterns"). Every form it adds is
// one the origin tool rejects as a syntax error — the opcodes "1*", "2*",
// "1~", "2~" and the directive "% subst" — so no file valid there changes
// meaning here: a plain "1 [..]" line is still the literal text "[..]".

// PatternKind says how an expected-output line matches.
type PatternKind int

// Pattern kinds.
const (
	PatternGlob     PatternKind = iota + 1 // "1* TEXT": literal text, [..] wildcards, [NAME] substitutions
	PatternRegexp                          // "1~ RE": an RE2 regexp matched against the whole line
	PatternAnyLines                        // "1* ...": any number (zero or more) of whole lines
)

// AnyLines is the payload of a "1*"/"2*" line that matches any number of
// whole lines of its stream.
const AnyLines = "..."

// Wildcard is the token that matches any run of characters within a line.
const Wildcard = "[..]"

// Pattern is a parsed pattern expectation.
type Pattern struct {
	Kind PatternKind
	// Segments spell a glob line in order (PatternGlob only).
	Segments []Segment
	// Regexp is the compiled line regexp, anchored at both ends
	// (PatternRegexp only).
	Regexp *regexp.Regexp
}

// SegmentKind classifies a piece of a glob line.
type SegmentKind int

// Segment kinds.
const (
	SegLiteral  SegmentKind = iota // text matched exactly (escapes removed)
	SegWildcard                    // [..]
	SegSubst                       // [NAME]
)

// Segment is one piece of a glob line. Start and End are byte offsets into
// the payload as written (escapes included), for editors.
type Segment struct {
	Kind       SegmentKind
	Text       string // SegLiteral: the unescaped text; SegSubst: the name
	Start, End int
}

// Built-in substitution names (docs/format.md): machine-specific values the
// engine knows, written by update and recording in place of the value.
const (
	SubstRoot = "ROOT" // the module root
	SubstDir  = "DIR"  // the transcript's directory
	SubstTmp  = "TMP"  // the session's temporary directory ($TMPDIR, else /tmp)
	SubstHome = "HOME" // the user's home directory ($HOME)
)

// BuiltinSubsts documents the built-in substitutions, in the order update
// prefers them when two values are equally long.
var BuiltinSubsts = []struct{ Name, Doc string }{
	{SubstRoot, "the module root: the nearest directory at or above the transcript holding go.mod (else .git, else the transcript's directory)"},
	{SubstDir, "the transcript's own directory"},
	{SubstTmp, "the session's temporary directory: $TMPDIR as the session starts, else /tmp"},
	{SubstHome, "the home directory: $HOME as the session starts"},
}

// IsBuiltinSubst reports whether name is a built-in substitution.
func IsBuiltinSubst(name string) bool {
	for _, b := range BuiltinSubsts {
		if b.Name == name {
			return true
		}
	}
	return false
}

// SubstKind is the form of a "% subst" directive.
type SubstKind int

// Substitution forms.
const (
	SubstValue  SubstKind = iota + 1 // "% subst NAME value WORD": a literal value (quotes and $VAR expanded)
	SubstRegexp                      // "% subst NAME regexp RE": any text the regexp matches
)

// Subst is a user-defined substitution, "% subst NAME value WORD" or
// "% subst NAME regexp RE". It applies to the lines after it.
type Subst struct {
	Name      string
	NameRange Range
	Kind      SubstKind
	KindRange Range
	// Raw is the value word or the regexp as written; RawRange its span.
	Raw      string
	RawRange Range
	// Regexp is the compiled regexp (SubstRegexp), unanchored.
	Regexp *regexp.Regexp
	// Word is the value's shell word (SubstValue); Value its literal
	// value when Literal (no expansion needed).
	Word    *syntax.Word
	Value   string
	Literal bool
}

// DirectiveSubst names the substitution directive.
const DirectiveSubst = "subst"

// Error codes of the pattern extension.
const (
	CodeBadRegexp    Code = "invalid-regexp"
	CodeUnknownSubst Code = "unknown-substitution"
	CodeBadSubst     Code = "bad-substitution"
)

// IsSubstName reports whether s can name a substitution: an upper-case
// letter, then upper-case letters, digits and underscores.
func IsSubstName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// tokenAt returns the length of the token ("[..]" or "[NAME]") starting at
// s[i], or 0 when s[i] does not start one.
func tokenAt(s string, i int) int {
	if s[i] != '[' {
		return 0
	}
	if strings.HasPrefix(s[i:], Wildcard) {
		return len(Wildcard)
	}
	end := strings.IndexByte(s[i+1:], ']')
	if end < 0 || !IsSubstName(s[i+1:i+1+end]) {
		return 0
	}
	return end + 2
}

// ParseGlob splits the payload of a "1*" line into segments. A backslash
// escapes a following '[' or '\'; any other backslash is literal. It never
// fails: a '[' that starts no token is literal text.
func ParseGlob(payload string) []Segment {
	var segs []Segment
	var lit strings.Builder
	litStart := 0
	flush := func(end int) {
		if lit.Len() > 0 {
			segs = append(segs, Segment{Kind: SegLiteral, Text: lit.String(), Start: litStart, End: end})
			lit.Reset()
		}
	}
	for i := 0; i < len(payload); {
		if lit.Len() == 0 {
			litStart = i
		}
		c := payload[i]
		if c == '\\' && i+1 < len(payload) && (payload[i+1] == '[' || payload[i+1] == '\\') {
			lit.WriteByte(payload[i+1])
			i += 2
			continue
		}
		if n := tokenAt(payload, i); n > 0 {
			flush(i)
			seg := Segment{Kind: SegWildcard, Start: i, End: i + n}
			if n != len(Wildcard) || payload[i:i+n] != Wildcard {
				seg.Kind, seg.Text = SegSubst, payload[i+1:i+n-1]
			}
			segs = append(segs, seg)
			i += n
			continue
		}
		lit.WriteByte(c)
		i++
	}
	flush(len(payload))
	return segs
}

// EscapeGlob spells literal text as a glob payload that matches exactly
// it: every backslash before '[' or '\' is doubled and every '[' that would
// start a token is escaped. A line of exactly "..." cannot be spelled as a
// glob; write it as a plain "1 ..." line.
func EscapeGlob(text string) string {
	if strings.IndexByte(text, '[') < 0 && strings.IndexByte(text, '\\') < 0 {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\\' && i+1 < len(text) && (text[i+1] == '[' || text[i+1] == '\\'):
			b.WriteString(`\\`)
		case c == '[' && tokenAt(text, i) > 0:
			b.WriteString(`\[`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// compileLineRegexp compiles the regexp of a "1~" line, anchored.
func compileLineRegexp(re string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(re); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + re + `)$`)
}

// regexpMessage shortens Go's "error parsing regexp: ..." message.
func regexpMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

// pattern parses the payload of a pattern opcode ("1*", "2*", "1~", "2~")
// and checks its substitution names against those known at this line.
func (p *transcriptParser) pattern(l *Line, e *Expectation) {
	text := strings.TrimSuffix(l.Payload, "\r")
	e.Text = text
	if strings.HasSuffix(l.Opcode, "~") {
		if re := p.regexps[text]; re != nil {
			// One compiled regexp per distinct text: a transcript repeating
			// a line regexp shares its matcher state.
			e.Pattern = &Pattern{Kind: PatternRegexp, Regexp: re}
			return
		}
		re, err := compileLineRegexp(text)
		if err != nil {
			p.errorf(l.PayloadRange(), CodeBadRegexp, "invalid regexp in `%s` line: %s", l.Opcode, clip(regexpMessage(err)))
			e.Pattern = &Pattern{Kind: PatternRegexp}
			return
		}
		if p.regexps == nil {
			p.regexps = map[string]*regexp.Regexp{}
		}
		p.regexps[text] = re
		e.Pattern = &Pattern{Kind: PatternRegexp, Regexp: re}
		return
	}
	if text == AnyLines {
		e.Pattern = &Pattern{Kind: PatternAnyLines}
		return
	}
	pat := &Pattern{Kind: PatternGlob, Segments: ParseGlob(text)}
	e.Pattern = pat
	for _, s := range pat.Segments {
		if s.Kind == SegSubst && !IsBuiltinSubst(s.Text) && p.substs[s.Text] == nil {
			r := Range{Pos{l.Num, l.PayloadPos.Col + s.Start}, Pos{l.Num, l.PayloadPos.Col + s.End}}
			p.errorf(r, CodeUnknownSubst, "unknown substitution [%s]: built-ins are [ROOT], [DIR], [TMP], [HOME]; declare others with `%% subst %s value|regexp ...` above this line, or write `\\[%s]` for the literal text", clip(s.Text), clip(s.Text), clip(s.Text))
		}
	}
}

// subst parses "% subst NAME value WORD" / "% subst NAME regexp RE".
func (p *transcriptParser) subst(d *Directive) {
	l := d.Line
	args := strings.TrimSuffix(d.Args, "\r")
	fail := func(r Range, format string, a ...any) {
		p.errorf(r, CodeBadSubst, format, a...)
	}
	at := func(off int) Pos { return Pos{l.Num, d.ArgsPos.Col + off} }
	name, rest, _ := strings.Cut(args, " ")
	s := &Subst{Name: name, NameRange: Range{at(0), at(len(name))}}
	usage := "`% subst NAME value WORD` or `% subst NAME regexp RE`"
	switch {
	case name == "":
		fail(d.NameRange, "`%% subst` needs a name and a value: %s", usage)
		return
	case !IsSubstName(name):
		fail(s.NameRange, "substitution name %q must be upper-case letters, digits and _, starting with a letter", name)
		return
	case IsBuiltinSubst(name):
		fail(s.NameRange, "[%s] is a built-in substitution and cannot be redefined", name)
		return
	}
	kind, raw, _ := strings.Cut(rest, " ")
	kindOff := len(name) + 1
	s.KindRange = Range{at(kindOff), at(kindOff + len(kind))}
	rawOff := kindOff + len(kind) + 1
	s.Raw, s.RawRange = raw, Range{at(rawOff), at(rawOff + len(raw))}
	switch kind {
	case "regexp":
		s.Kind = SubstRegexp
		if raw == "" {
			fail(s.KindRange, "`%% subst %s regexp` needs a regexp", name)
			return
		}
		re, err := regexp.Compile(raw)
		if err != nil {
			p.errorf(s.RawRange, CodeBadRegexp, "invalid regexp for [%s]: %s", clip(name), clip(regexpMessage(err)))
			return
		}
		if re.MatchString("") {
			fail(s.RawRange, "the regexp for [%s] matches the empty string: it would match anywhere", name)
			return
		}
		s.Regexp = re
	case "value":
		s.Kind = SubstValue
		words, errs := splitDepWords(p.f.Name, raw, s.RawRange.Start)
		if len(errs) > 0 {
			for _, e := range errs {
				e.Code = CodeBadSubst
				e.Msg = strings.ReplaceAll(e.Msg, "dependency declaration", "substitution value")
				e.Msg = strings.ReplaceAll(e.Msg, "dependency words", "the substitution value")
			}
			p.f.Errors = append(p.f.Errors, errs...)
			return
		}
		if len(words) != 1 {
			fail(s.RawRange, "`%% subst %s value` takes exactly one word (quote it if it holds spaces), got %d", name, len(words))
			return
		}
		w := words[0]
		s.Word, s.Value, s.Literal = w.Word, w.Value, w.Literal
		if s.Literal && s.Value == "" {
			fail(s.RawRange, "the value of [%s] is empty", name)
			return
		}
	default:
		fail(s.KindRange, "unknown substitution form %q: %s", kind, usage)
		return
	}
	d.Subst = s
	p.substs[name] = s
}

// Substs returns the file's valid "% subst" declarations in source order.
func (f *File) Substs() []*Subst {
	var out []*Subst
	for _, d := range f.Directives {
		if d.Subst != nil {
			out = append(out, d.Subst)
		}
	}
	return out
}

// HasPatterns reports whether any expectation of b is a pattern.
func (b *Block) HasPatterns() bool {
	for _, e := range b.Expect {
		if e.Pattern != nil {
			return true
		}
	}
	return false
}

// String spells a pattern kind for messages.
func (k PatternKind) String() string {
	switch k {
	case PatternGlob:
		return "glob"
	case PatternRegexp:
		return "regexp"
	case PatternAnyLines:
		return "any-lines"
	}
	return fmt.Sprintf("PatternKind(%d)", int(k))
}
