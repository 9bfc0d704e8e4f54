package parser

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Parse parses a transcript. It always returns a File; syntax errors are in
// File.Errors, one per bad line, in line order.
func Parse(name string, src []byte) *File {
	p := &transcriptParser{f: &File{Name: name}, substs: map[string]*Subst{}}
	if e := notText(name, src); e != nil {
		// The lines are kept (as KindInvalid) so the file still prints
		// back, but none is interpreted: one error says what is wrong.
		p.f.Lines = splitLines(src)
		p.f.Errors = append(p.f.Errors, e)
		return p.f
	}
	lines := splitLines(src)
	p.f.Lines = make([]*Line, 0, len(lines))
	p.linesLeft = len(lines)
	for _, l := range lines {
		p.line(l)
		p.linesLeft--
	}
	return p.f
}

// splitLines cuts src into lines, keeping enough to print it back.
func splitLines(src []byte) []*Line {
	var lines []*Line
	// One conversion for the whole file; each line's Text is a substring
	// of it, which costs no allocation. Lines are allocated in one slab.
	text := string(src)
	lines = make([]*Line, 0, strings.Count(text, "\n")+1)
	slab := make([]Line, cap(lines))
	for off, num := 0, 1; off < len(text); num++ {
		end := strings.IndexByte(text[off:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += off
		}
		l := &slab[num-1]
		*l = Line{Num: num, Offset: off, Text: text[off:end], HasNewline: end < len(text)}
		// A '\r' ending the line is part of its terminator (spec §1), as
		// for the origin tool's line scanner, which also drops one ending
		// a last line without '\n'.
		if n := len(l.Text); n > 0 && l.Text[n-1] == '\r' {
			l.Text, l.CR = l.Text[:n-1], true
		}
		lines = append(lines, l)
		off = end + 1
	}
	return lines
}

// splitOpcode separates a line into opcode and payload at the first space.
func splitOpcode(l *Line) {
	op, payload, hasSpace := strings.Cut(l.Text, " ")
	payloadCol := len(op) + 1
	if !hasSpace {
		payloadCol = len(op)
	}
	l.Opcode = op
	l.OpcodeRange = Range{Pos{l.Num, 0}, Pos{l.Num, len(op)}}
	l.Payload = payload
	l.PayloadPos = Pos{l.Num, payloadCol}
}

type transcriptParser struct {
	f *File
	// cur is the pending command block, nil outside one.
	cur *Block
	// inCommand is true directly after a "$" or ">" line, where a
	// continuation may follow.
	inCommand bool
	// lastOutput is the last inline output line of the pending block, for
	// "% no-newline"; nil once something else came after it.
	lastOutput *Expectation
	// substs holds the "% subst" names declared so far.
	substs map[string]*Subst
	// regexps holds the compiled "1~" regexps by text.
	regexps map[string]*regexp.Regexp
	// expSlab is the rest of the current chunk of expectations.
	expSlab []Expectation
	// linesLeft counts the lines not yet parsed, the current one included.
	linesLeft int
}

func (p *transcriptParser) errorf(r Range, code Code, format string, args ...any) {
	p.f.Errors = append(p.f.Errors, &Error{File: p.f.Name, Range: r, Code: code, Msg: fmt.Sprintf(format, args...)})
}

// newExpectation hands out expectations from chunks: a large transcript has
// one per output line, and millions of separate small allocations cost the
// allocator and the collector more than the bytes.
func (p *transcriptParser) newExpectation() *Expectation {
	if len(p.expSlab) == 0 {
		// No more than the lines left can be expectations.
		p.expSlab = make([]Expectation, max(1, min(1024, p.linesLeft)))
	}
	e := &p.expSlab[0]
	p.expSlab = p.expSlab[1:]
	return e
}

func (p *transcriptParser) endBlock() {
	p.cur, p.inCommand, p.lastOutput = nil, false, nil
}

func (p *transcriptParser) line(l *Line) {
	p.f.Lines = append(p.f.Lines, l)
	switch {
	case isBlank(l.Text):
		l.Kind = KindBlank
		p.endBlock()
		return
	case l.Text[0] == '#':
		l.Kind = KindComment
		l.Opcode = "#"
		l.OpcodeRange = Range{Pos{l.Num, 0}, Pos{l.Num, 1}}
		l.Payload = l.Text[1:]
		l.PayloadPos = Pos{l.Num, 1}
		p.endBlock()
		return
	}
	splitOpcode(l)
	switch l.Opcode {
	case "$":
		l.Kind = KindCommand
		p.cur = &Block{Command: l}
		l.Block = p.cur
		p.f.Blocks = append(p.f.Blocks, p.cur)
		p.inCommand, p.lastOutput = true, nil
	case ">":
		l.Kind = KindContinuation
		if !p.inCommand {
			p.errorf(l.OpcodeRange, CodeOrphanContinuation, "continuation `>` must directly follow a `$` command or another `>` line")
			return
		}
		l.Block = p.cur
		p.cur.Continuations = append(p.cur.Continuations, l)
	case "1", "2", "1<", "2<", "1*", "2*", "1~", "2~":
		p.output(l)
	case "?":
		p.exitStatus(l)
	case "%":
		l.Kind = KindDirective
		p.directive(l)
	default:
		l.Kind = KindInvalid
		hint := ""
		if strings.ContainsRune(l.Opcode, '\r') {
			hint = " (a carriage return inside a line is text; only one ending the line is dropped)"
		}
		p.errorf(l.OpcodeRange, CodeUnknownOpcode,
			"unknown opcode %q: expected one of `$`, `>`, `1`, `2`, `1<`, `2<`, `1*`, `2*`, `1~`, `2~`, `?`, `%%`, `#` followed by a space, or a blank line%s", clip(l.Opcode), hint)
	}
}

// isBlank reports whether a line holds only spaces and tabs (spec §1): the
// origin tool reads such a line as a comment, and an editor that trims
// trailing whitespace must not turn a blank line into a syntax error.
func isBlank(text string) bool {
	return strings.Trim(text, " \t") == ""
}

// attach adds a non-command line to the pending block.
func (p *transcriptParser) attach(l *Line) {
	l.Block = p.cur
	p.cur.Lines = append(p.cur.Lines, l)
	p.inCommand = false
}

func (p *transcriptParser) output(l *Line) {
	switch l.Opcode {
	case "1", "1*", "1~":
		l.Kind = KindStdout
	case "2", "2*", "2~":
		l.Kind = KindStderr
	case "1<":
		l.Kind = KindStdoutFile
	case "2<":
		l.Kind = KindStderrFile
	}
	if p.cur == nil {
		p.errorf(l.OpcodeRange, CodeOrphanOutput, "expected output `%s` outside a command block: it must follow a `$` command (a blank or comment line ends a block)", l.Opcode)
		return
	}
	if p.cur.Status != nil {
		p.errorf(l.OpcodeRange, CodeAfterStatus, "expected output `%s` after the exit status `?` (line %d): `?` ends the block's checks", l.Opcode, p.cur.Status.Num)
		return
	}
	p.attach(l)
	e := p.newExpectation()
	*e = Expectation{Line: l, Stream: l.Kind.Stream(), Text: l.Payload}
	if l.Kind == KindStdoutFile || l.Kind == KindStderrFile {
		e.File = true
		if e.Text == "" {
			p.errorf(l.OpcodeRange, CodeEmptyPath, "`%s` needs a file path", l.Opcode)
		}
		p.lastOutput = nil
	} else {
		if len(l.Opcode) == 2 {
			p.pattern(l, e)
		}
		p.lastOutput = e
	}
	p.cur.Expect = append(p.cur.Expect, e)
}

func (p *transcriptParser) exitStatus(l *Line) {
	l.Kind = KindExitStatus
	if p.cur == nil {
		p.errorf(l.OpcodeRange, CodeOrphanOutput, "exit status `?` outside a command block: it must follow a `$` command")
		return
	}
	if p.cur.Status != nil {
		p.errorf(l.OpcodeRange, CodeDuplicateStatus, "second exit status `?` for the command on line %d (first on line %d)", p.cur.Command.Num, p.cur.Status.Num)
		return
	}
	p.attach(l)
	p.lastOutput = nil
	p.cur.Status = l
	text := l.Payload
	n, err := strconv.Atoi(text)
	if err != nil || n < 0 || n > 255 || strings.TrimLeft(text, "0123456789") != "" {
		p.errorf(l.PayloadRange(), CodeBadExitStatus, "exit status %q is not a decimal number from 0 to 255", clip(text))
		return
	}
	p.cur.ExitCode = n
}

func (p *transcriptParser) directive(l *Line) {
	d := &Directive{Line: l}
	l.Directive = d
	p.f.Directives = append(p.f.Directives, d)
	name, args, hasArgs := strings.Cut(l.Payload, " ")
	d.Name = name
	d.NameRange = Range{l.PayloadPos, Pos{l.Num, l.PayloadPos.Col + len(name)}}
	d.Args = args
	d.ArgsPos = Pos{l.Num, d.NameRange.End.Col + 1}
	if p.cur != nil {
		p.attach(l)
	}
	switch name {
	case DirectiveNoNewline:
		if hasArgs {
			// The origin tool rejects it; accepting it would hide a typo
			// ("% no-newline 2" meaning a stream) as a silent no-op.
			p.errorf(Range{d.NameRange.End, l.Range().End}, CodeNoNewlineArgs, "`%% no-newline` takes no arguments: remove %q after it", clip(" "+args))
			p.lastOutput = nil
			return
		}
		if p.lastOutput == nil || p.lastOutput.NoNewline {
			p.errorf(d.NameRange, CodeMisplacedNoNewline, "`%% no-newline` must directly follow a `1` or `2` output line")
			return
		}
		p.lastOutput.NoNewline = true
		p.lastOutput.NoNewlineLine = l
		p.lastOutput = nil
		return
	case DirectiveDep:
		deps, errs := parseDepArgs(p.f.Name, d.Args, d.ArgsPos)
		d.Deps = deps
		p.f.Errors = append(p.f.Errors, errs...)
	case DirectiveDepfile:
		deps, errs := parseDepfileDirective(p.f.Name, d.Args, d.ArgsPos)
		d.Deps = deps
		p.f.Errors = append(p.f.Errors, errs...)
	case DirectiveSubst:
		p.subst(d)
	default:
		p.errorf(d.NameRange, CodeUnknownDirective, "unknown directive `%% %s`: expected `%% dep`, `%% depfile`, `%% no-newline` or `%% subst`", clip(name))
	}
	p.lastOutput = nil
}
