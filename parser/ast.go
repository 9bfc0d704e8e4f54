package parser

import (
	"bytes"

	"mvdan.cc/sh/v3/syntax"
)

// Kind classifies a transcript line by its opcode.
type Kind int

// Line kinds, one per opcode of spec §1.
const (
	KindInvalid      Kind = iota // an unknown opcode; see File.Errors
	KindBlank                    // an empty line
	KindComment                  // a line starting with '#'
	KindCommand                  // "$ CMD"
	KindContinuation             // "> TEXT"
	KindStdout                   // "1 TEXT", or a pattern "1* TEXT" / "1~ RE"
	KindStderr                   // "2 TEXT", or a pattern "2* TEXT" / "2~ RE"
	KindStdoutFile               // "1< PATH"
	KindStderrFile               // "2< PATH"
	KindExitStatus               // "? N"
	KindDirective                // "% NAME ARGS"
)

var kindNames = [...]string{"invalid", "blank", "comment", "command", "continuation",
	"stdout", "stderr", "stdout-file", "stderr-file", "exit-status", "directive"}

func (k Kind) String() string { return kindNames[k] }

// Opcode returns the opcode text that introduces lines of kind k.
func (k Kind) Opcode() string {
	switch k {
	case KindCommand:
		return "$"
	case KindContinuation:
		return ">"
	case KindStdout:
		return "1"
	case KindStderr:
		return "2"
	case KindStdoutFile:
		return "1<"
	case KindStderrFile:
		return "2<"
	case KindExitStatus:
		return "?"
	case KindDirective:
		return "%"
	case KindComment:
		return "#"
	}
	return ""
}

// IsOutput reports whether k is an expected-output line (inline or file).
func (k Kind) IsOutput() bool {
	return k == KindStdout || k == KindStderr || k == KindStdoutFile || k == KindStderrFile
}

// Stream returns 1 for stdout kinds, 2 for stderr kinds, 0 otherwise.
func (k Kind) Stream() int {
	switch k {
	case KindStdout, KindStdoutFile:
		return 1
	case KindStderr, KindStderrFile:
		return 2
	}
	return 0
}

// Line is one source line. Text excludes the line terminator, "\n" or
// "\r\n" (spec §1: a '\r' ending a line is dropped, so CRLF files read as
// LF files do; a '\r' elsewhere is part of the line). Printing Text, then
// "\r" when CR, then "\n" when HasNewline reproduces the source exactly.
type Line struct {
	Num        int    // 1-based line number
	Offset     int    // byte offset of the line's first byte in the file
	Text       string // the line without its terminator
	HasNewline bool
	// CR is set when a '\r' ended the line (before its '\n', or at the
	// end of the file); it is not part of Text.
	CR   bool
	Kind Kind

	Opcode      string // the opcode as written ("$", "1<", "#", ...); empty for blank lines
	OpcodeRange Range
	Payload     string // everything after the first space ("" if none)
	PayloadPos  Pos    // where Payload starts

	// Block is the command block the line belongs to, or nil.
	Block *Block
	// Directive is set for KindDirective lines.
	Directive *Directive
}

// Range returns the span of the whole line, excluding its terminator.
func (l *Line) Range() Range {
	return Range{Pos{l.Num, 0}, Pos{l.Num, len(l.Text)}}
}

// PayloadRange returns the span of the payload.
func (l *Line) PayloadRange() Range {
	return Range{l.PayloadPos, Pos{l.Num, l.PayloadPos.Col + len(l.Payload)}}
}

// Block is a command block: a "$" line, its continuations, and the
// expectations that follow until a comment, blank line or the next "$".
type Block struct {
	Command       *Line   // the "$" line
	Continuations []*Line // "> " lines, in order
	// Lines holds every line of the block after the command text, in
	// source order: expectations, "% no-newline", "? N" and any other
	// directives that appear inside the block.
	Lines []*Line
	// Expect holds the output expectations in source order.
	Expect []*Expectation
	// Status is the "? N" line, or nil when the block expects status 0.
	Status *Line
	// ExitCode is the expected exit status (0 when Status is nil or bad).
	ExitCode int
}

// Text returns the shell text of the block: the command payload and each
// continuation payload, joined by newlines.
func (b *Block) Text() string {
	if len(b.Continuations) == 0 {
		return b.Command.Payload
	}
	var buf bytes.Buffer
	buf.WriteString(b.Command.Payload)
	for _, c := range b.Continuations {
		buf.WriteByte('\n')
		buf.WriteString(c.Payload)
	}
	return buf.String()
}

// LastLine returns the block's last source line.
func (b *Block) LastLine() *Line {
	if n := len(b.Lines); n > 0 {
		return b.Lines[n-1]
	}
	if n := len(b.Continuations); n > 0 {
		return b.Continuations[n-1]
	}
	return b.Command
}

// Expectation is one expected-output line: inline text ("1 x", "2 x") or a
// file reference ("1< f", "2< f").
type Expectation struct {
	Line   *Line
	Stream int    // 1 stdout, 2 stderr
	Text   string // the expected line (inline), or the path (file reference)
	File   bool   // a "1<"/"2<" reference
	// NoNewline is set when a "% no-newline" directive follows this line:
	// the stream's last line has no trailing newline.
	NoNewline     bool
	NoNewlineLine *Line
	// Pattern is set for the pattern opcodes "1*", "2*", "1~", "2~"; Text
	// then holds the payload without a trailing '\r'. Its Regexp is nil
	// when the regexp is invalid (see File.Errors).
	Pattern *Pattern
}

// Directive is a "% NAME ARGS" line.
type Directive struct {
	Line      *Line
	Name      string
	NameRange Range
	Args      string // the text after the name and one space
	ArgsPos   Pos
	// Deps holds the declarations of a "% dep" or "% depfile" directive.
	Deps []*Dep
	// Subst is the substitution a valid "% subst" directive declares.
	Subst *Subst
}

// Directive names known to the parser.
const (
	DirectiveDep       = "dep"
	DirectiveDepfile   = "depfile"
	DirectiveNoNewline = "no-newline"
)

// DepKind is the kind of input a declaration names.
type DepKind int

// Dependency kinds of spec §3.
const (
	DepFile    DepKind = iota // a file, or a directory meaning every file under it
	DepGlob                   // a doublestar pattern and its set of matches
	DepEnv                    // an environment variable
	DepExe                    // a program, by name (resolved on PATH) or path
	DepDepfile                // a depfile, each of whose entries is a dependency
)

var depKindNames = [...]string{"file", "glob", "env", "exe", "depfile"}

func (k DepKind) String() string { return depKindNames[k] }

// ParseDepKind maps a kind keyword to its DepKind.
func ParseDepKind(s string) (DepKind, bool) {
	for i, n := range depKindNames {
		if n == s {
			return DepKind(i), true
		}
	}
	return 0, false
}

// Dep is one declared dependency: one word of a "% dep" directive or one
// entry of a depfile. It is not resolved: Word (transcripts) still needs
// shell expansion, Value (depfiles) is final.
type Dep struct {
	Kind  DepKind
	Raw   string // the source text of the word or entry value
	Range Range  // the span of Raw
	// Word is the parsed shell word of a transcript declaration; nil for
	// depfile entries. Expanding it (parameters and quotes only, no
	// globbing) gives the path, pattern or name.
	Word *syntax.Word
	// Value is the unescaped value of a depfile entry, or for a transcript
	// word without expansions, its literal value.
	Value string
	// Literal reports whether Value is final (no expansion needed).
	Literal bool
	// Compat marks the compatible forms ("% dep PATH '$NAME'", "% dep < PATH",
	// depfile lines without a keyword).
	Compat bool
	// Exclude holds the exclusion patterns of a `% dep glob` line
	// (`!(PATTERN)` words, as written inside the parentheses), shared by
	// every pattern of the line: files they match are not part of the
	// glob.
	Exclude []string
	// exclusion marks a `!(PATTERN)` word while the line is parsed.
	exclusion bool
}

// File is a parsed transcript.
type File struct {
	Name   string
	Lines  []*Line
	Blocks []*Block
	// Directives holds every directive line, including those inside blocks.
	Directives []*Directive
	Errors     ErrorList
}

// Deps returns every dependency declared in the file, in source order.
func (f *File) Deps() []*Dep {
	var deps []*Dep
	for _, d := range f.Directives {
		deps = append(deps, d.Deps...)
	}
	return deps
}

// Bytes prints f back: the result equals the parsed input byte for byte.
func (f *File) Bytes() []byte {
	return printLines(f.Lines)
}

// LineAt returns the line with the given 1-based number, or nil.
func (f *File) LineAt(num int) *Line {
	if num < 1 || num > len(f.Lines) {
		return nil
	}
	return f.Lines[num-1]
}

func printLines(lines []*Line) []byte {
	n := 0
	for _, l := range lines {
		n += len(l.Text) + 2
	}
	buf := make([]byte, 0, n)
	for _, l := range lines {
		buf = append(buf, l.Text...)
		if l.CR {
			buf = append(buf, '\r')
		}
		if l.HasNewline {
			buf = append(buf, '\n')
		}
	}
	return buf
}
