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
)

func semanticLegend() protocol.SemanticTokensLegend {
	return protocol.SemanticTokensLegend{
		TokenTypes: []protocol.SemanticTokenTypes{
			protocol.SemanticTokenKeyword, protocol.SemanticTokenComment, protocol.SemanticTokenString,
			protocol.SemanticTokenNumber, protocol.SemanticTokenMacro, protocol.SemanticTokenType,
			protocol.SemanticTokenVariable, protocol.SemanticTokenFunction, protocol.SemanticTokenParameter,
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
			toks = append(toks, rangeToken(l.PayloadRange(), tokString))
		case parser.KindStdoutFile, parser.KindStderrFile:
			toks = append(toks, rangeToken(l.PayloadRange(), tokParameter))
		case parser.KindExitStatus:
			toks = append(toks, rangeToken(l.PayloadRange(), tokNumber))
		case parser.KindDirective:
			d := l.Directive
			toks = append(toks, rangeToken(d.NameRange, tokMacro))
			toks = append(toks, depTokens(d)...)
		}
	}
	for _, b := range s.analysis(snap).Blocks {
		toks = append(toks, shellTokens(b)...)
	}
	return toks
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
