package lsp

import (
	"context"
	"fmt"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/parser"
)

// maxSymbolName bounds a command block's symbol name.
const maxSymbolName = 80

// documentSymbol returns one symbol per command block, named by its
// command; depfiles get one symbol per entry.
func (s *Server) documentSymbol(ctx context.Context, p *protocol.DocumentSymbolParams) ([]protocol.DocumentSymbol, error) {
	snap, err := s.snapshot(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	m := snap.Mapper
	syms := []protocol.DocumentSymbol{}
	switch snap.Kind {
	case DocTranscript:
		for _, b := range snap.File().Blocks {
			name := strings.TrimSpace(strings.TrimSuffix(b.Command.Payload, "\r"))
			if name == "" {
				name = "(empty command)"
			}
			if len(name) > maxSymbolName {
				name = truncateUTF8(name, maxSymbolName) + "…"
			}
			last := b.LastLine()
			full := parser.Range{Start: parser.Pos{Line: b.Command.Num}, End: parser.Pos{Line: last.Num, Col: len(last.Text)}}
			syms = append(syms, protocol.DocumentSymbol{
				Name: name, Detail: blockDetail(b), Kind: protocol.SymbolKindFunction,
				Range: m.Range(full), SelectionRange: m.Range(b.Command.PayloadRange()),
			})
		}
	case DocDepfile:
		df := snap.Depfile()
		for i, e := range df.Entries {
			l := df.EntryLines[i]
			name := e.Value
			if name == "" {
				name = e.Raw
			}
			syms = append(syms, protocol.DocumentSymbol{
				Name: name, Detail: e.Kind.String(), Kind: protocol.SymbolKindFile,
				Range: m.Range(l.Range()), SelectionRange: m.Range(e.Range),
			})
		}
	}
	return syms, nil
}

// blockDetail summarises a block's expectations.
func blockDetail(b *parser.Block) string {
	out, errs, files := 0, 0, 0
	for _, e := range b.Expect {
		switch {
		case e.File:
			files++
		case e.Stream == 2:
			errs++
		default:
			out++
		}
	}
	parts := []string{}
	if out > 0 {
		parts = append(parts, fmt.Sprintf("%d stdout", out))
	}
	if errs > 0 {
		parts = append(parts, fmt.Sprintf("%d stderr", errs))
	}
	if files > 0 {
		parts = append(parts, fmt.Sprintf("%d file", files))
	}
	if b.Status != nil {
		parts = append(parts, fmt.Sprintf("exit %d", b.ExitCode))
	}
	return strings.Join(parts, ", ")
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// foldingRange folds command blocks spanning several lines and runs of
// two or more comment lines.
func (s *Server) foldingRange(ctx context.Context, p *protocol.FoldingRangeParams) ([]protocol.FoldingRange, error) {
	snap, err := s.snapshot(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	var lines []*parser.Line
	ranges := []protocol.FoldingRange{}
	m := snap.Mapper
	lspLine := func(n int) uint32 { return m.Position(parser.Pos{Line: n}).Line }
	switch snap.Kind {
	case DocTranscript:
		f := snap.File()
		lines = f.Lines
		for _, b := range f.Blocks {
			if last := b.LastLine(); last.Num > b.Command.Num {
				ranges = append(ranges, protocol.FoldingRange{StartLine: lspLine(b.Command.Num), EndLine: lspLine(last.Num), Kind: protocol.RegionFoldingRange})
			}
		}
	case DocDepfile:
		lines = snap.Depfile().Lines
	}
	for i := 0; i < len(lines); {
		if lines[i].Kind != parser.KindComment {
			i++
			continue
		}
		j := i
		for j+1 < len(lines) && lines[j+1].Kind == parser.KindComment {
			j++
		}
		if j > i {
			ranges = append(ranges, protocol.FoldingRange{StartLine: lspLine(lines[i].Num), EndLine: lspLine(lines[j].Num), Kind: protocol.CommentFoldingRange})
		}
		i = j + 1
	}
	return ranges, nil
}
