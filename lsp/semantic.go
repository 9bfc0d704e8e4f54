package lsp

import (
	"context"
	"sort"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/parser"
)

// Semantic token types, in legend order: the index is what goes on the wire.
const (
	tokKeyword   = iota // opcodes, depfile keywords
	tokComment          // comment lines
	tokString           // expected output, quoted shell strings
	tokNumber           // exit status
	tokMacro            // directive names
	tokType             // dependency kinds
	tokVariable         // env names, $VAR in commands
	tokFunction         // programs in commands
	tokParameter        // dependency values, "1<" paths
	tokRegexp           // "1~" regexps, "% subst ... regexp" values
	tokOperator         // wildcards: "[..]" and "..."
)

func semanticLegend() protocol.SemanticTokensLegend {
	return protocol.SemanticTokensLegend{
		TokenTypes: []protocol.SemanticTokenTypes{
			protocol.SemanticTokenKeyword, protocol.SemanticTokenComment, protocol.SemanticTokenString,
			protocol.SemanticTokenNumber, protocol.SemanticTokenMacro, protocol.SemanticTokenType,
			protocol.SemanticTokenVariable, protocol.SemanticTokenFunction, protocol.SemanticTokenParameter,
			protocol.SemanticTokenRegexp, protocol.SemanticTokenOperator,
		},
		TokenModifiers: []protocol.SemanticTokenModifiers{},
	}
}

// token is a semantic token in parser coordinates (one line, byte columns).
type token struct {
	line, start, end int
	typ              uint32
}

func (s *Server) semanticTokensFull(ctx context.Context, p *protocol.SemanticTokensParams) (*protocol.SemanticTokens, error) {
	snap, err := s.snapshot(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	var toks []token
	switch snap.Kind {
	case DocTranscript:
		toks = s.transcriptTokens(snap)
	case DocDepfile:
		toks = depfileTokens(snap.Depfile())
	}
	return &protocol.SemanticTokens{Data: encodeTokens(snap.Mapper, toks)}, nil
}

func rangeToken(r parser.Range, typ uint32) token {
	return token{line: r.Start.Line, start: r.Start.Col, end: r.End.Col, typ: typ}
}

func (s *Server) transcriptTokens(snap *Snapshot) []token {
	f := snap.File()
	var toks []token
	// Pattern lines by line, found once: a block may hold 10,000 lines.
	patterns := map[*parser.Line]*parser.Expectation{}
	for _, b := range f.Blocks {
		for _, e := range b.Expect {
			if e.Pattern != nil {
				patterns[e.Line] = e
			}
		}
	}
	for _, l := range f.Lines {
		switch l.Kind {
		case parser.KindBlank, parser.KindInvalid:
			continue
		case parser.KindComment:
			toks = append(toks, rangeToken(l.Range(), tokComment))
			continue
		}
		toks = append(toks, rangeToken(l.OpcodeRange, tokKeyword))
		switch l.Kind {
		case parser.KindStdout, parser.KindStderr:
			toks = append(toks, outputTokens(l, patterns[l])...)
		case parser.KindStdoutFile, parser.KindStderrFile:
			toks = append(toks, rangeToken(l.PayloadRange(), tokParameter))
		case parser.KindExitStatus:
			toks = append(toks, rangeToken(l.PayloadRange(), tokNumber))
		case parser.KindDirective:
			d := l.Directive
			toks = append(toks, rangeToken(d.NameRange, tokMacro))
			toks = append(toks, depTokens(d)...)
			toks = append(toks, substTokens(d)...)
		}
	}
	for _, b := range s.analysis(snap).Blocks {
		toks = append(toks, shellTokens(b)...)
	}
	return toks
}

// outputTokens marks an expected-output line's payload: literal text as a
// string; in a pattern line (e, nil for a plain line), wildcards as
// operators, substitutions as variables, a regexp as a regexp.
func outputTokens(l *parser.Line, e *parser.Expectation) []token {
	payload := l.PayloadRange()
	if e == nil || e.Pattern == nil {
		return []token{rangeToken(payload, tokString)}
	}
	switch e.Pattern.Kind {
	case parser.PatternRegexp:
		return []token{rangeToken(payload, tokRegexp)}
	case parser.PatternAnyLines:
		return []token{rangeToken(payload, tokOperator)}
	}
	toks := make([]token, 0, len(e.Pattern.Segments))
	for _, seg := range e.Pattern.Segments {
		typ := uint32(tokString)
		switch seg.Kind {
		case parser.SegWildcard:
			typ = tokOperator
		case parser.SegSubst:
			typ = tokVariable
		}
		toks = append(toks, token{line: l.Num, start: payload.Start.Col + seg.Start, end: payload.Start.Col + seg.End, typ: typ})
	}
	return toks
}

// substTokens marks a "% subst" directive: the name as a variable, the
// form as a type, the value as a parameter or a regexp.
func substTokens(d *parser.Directive) []token {
	s := d.Subst
	if s == nil {
		return nil
	}
	typ := uint32(tokParameter)
	if s.Kind == parser.SubstRegexp {
		typ = tokRegexp
	}
	return []token{rangeToken(s.NameRange, tokVariable), rangeToken(s.KindRange, tokType), rangeToken(s.RawRange, typ)}
}

// depTokens marks a dependency directive's kind keyword and values.
func depTokens(d *parser.Directive) []token {
	var toks []token
	if len(d.Deps) > 0 && !d.Deps[0].Compat && d.Name == parser.DirectiveDep {
		// The kind keyword is the first word of the arguments.
		kindEnd := d.ArgsPos.Col
		for kindEnd-d.ArgsPos.Col < len(d.Args) && d.Args[kindEnd-d.ArgsPos.Col] != ' ' {
			kindEnd++
		}
		toks = append(toks, token{line: d.Line.Num, start: d.ArgsPos.Col, end: kindEnd, typ: tokType})
	}
	for _, dep := range d.Deps {
		typ := uint32(tokParameter)
		if dep.Kind == parser.DepEnv {
			typ = tokVariable
		}
		toks = append(toks, rangeToken(dep.Range, typ))
	}
	return toks
}

// shellTokens marks programs, $VAR expansions and single-quoted strings
// in a command block.
func shellTokens(b *blockInfo) []token {
	var toks []token
	add := func(start, end int, typ uint32) {
		ps, ok1 := blockPos(b.Block, start)
		pe, ok2 := blockPos(b.Block, end)
		if ok1 && ok2 && ps.Line == pe.Line && pe.Col > ps.Col {
			toks = append(toks, token{line: ps.Line, start: ps.Col, end: pe.Col, typ: typ})
		}
	}
	for _, c := range b.Cmds {
		add(c.ProgStart, c.ProgEnd, tokFunction)
	}
	if b.Facts != nil {
		for _, v := range b.Facts.Vars {
			add(v.Start, v.End, tokVariable)
		}
		for _, q := range b.Facts.Strings {
			add(q.Start, q.End, tokString)
		}
	}
	return toks
}

func depfileTokens(df *parser.Depfile) []token {
	var toks []token
	entry := 0
	for _, l := range df.Lines {
		switch l.Kind {
		case parser.KindComment:
			toks = append(toks, rangeToken(l.Range(), tokComment))
		case parser.KindDirective:
			if entry < len(df.EntryLines) && df.EntryLines[entry] == l {
				e := df.Entries[entry]
				entry++
				if !e.Compat {
					toks = append(toks, rangeToken(l.OpcodeRange, tokKeyword))
				}
				typ := uint32(tokParameter)
				if e.Kind == parser.DepEnv {
					typ = tokVariable
				}
				toks = append(toks, rangeToken(e.Range, typ))
			}
		}
	}
	return toks
}

// encodeTokens sorts tokens, drops overlaps, and encodes them relative to
// each other as LSP requires, lengths in the negotiated encoding.
func encodeTokens(m *Mapper, toks []token) []uint32 {
	sort.SliceStable(toks, func(i, j int) bool {
		if toks[i].line != toks[j].line {
			return toks[i].line < toks[j].line
		}
		return toks[i].start < toks[j].start
	})
	data := make([]uint32, 0, 5*len(toks))
	var prevLine, prevChar uint32
	lastLine, lastEnd := -1, -1
	for _, t := range toks {
		if t.end <= t.start || t.line == lastLine && t.start < lastEnd {
			continue // empty or overlapping the previous token
		}
		start := m.Position(parser.Pos{Line: t.line, Col: t.start})
		end := m.Position(parser.Pos{Line: t.line, Col: t.end})
		if start.Line != end.Line || end.Character <= start.Character {
			continue // crosses a lone '\r' the editor treats as a line break
		}
		dl := start.Line - prevLine
		dc := start.Character
		if dl == 0 {
			dc -= prevChar
		}
		data = append(data, dl, dc, end.Character-start.Character, t.typ, 0)
		prevLine, prevChar = start.Line, start.Character
		lastLine, lastEnd = t.line, t.end
	}
	return data
}
