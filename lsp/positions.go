package lsp

import (
	"sort"
	"strings"
	"unicode/utf8"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/parser"
)

// Encoding is the unit LSP character offsets count in. LSP defaults to
// UTF-16 code units; a 3.17 client may offer UTF-8 (general.positionEncodings),
// which the server then prefers because it needs no conversion.
type Encoding int

// Position encodings the server speaks.
const (
	UTF16 Encoding = iota
	UTF8
)

func (e Encoding) String() string {
	if e == UTF8 {
		return string(PositionEncodingUTF8)
	}
	return string(PositionEncodingUTF16)
}

// Mapper converts between byte offsets, parser positions (1-based line,
// byte column, lines split at '\n' only) and LSP positions (0-based line,
// character in the negotiated encoding, lines split at "\r\n", "\n" or "\r"
// as LSP 3.17 specifies). Keeping two line tables matters only for a lone
// '\r', which the cmdt format keeps inside a line but an editor treats as a
// line break; everything goes through byte offsets so both views agree.
//
// Every conversion clamps: positions past the end of a line or of the
// document, or inside a multi-byte character, never panic.
type Mapper struct {
	text     string
	enc      Encoding
	lspLines []int // start offset of each LSP line
	nlLines  []int // start offset of each '\n'-separated line
}

// NewMapper indexes text for position conversion.
func NewMapper(text string, enc Encoding) *Mapper {
	// Runs on every keystroke over the whole document: size the tables
	// up front and let IndexByte do the scanning.
	n := strings.Count(text, "\n")
	m := &Mapper{text: text, enc: enc, lspLines: make([]int, 1, n+1), nlLines: make([]int, 1, n+1)}
	hasCR := strings.IndexByte(text, '\r') >= 0
	for off := 0; off < len(text); {
		i := strings.IndexByte(text[off:], '\n')
		end := len(text)
		if i >= 0 {
			end = off + i
		}
		if hasCR {
			// A lone '\r' inside this line ends an LSP line too.
			line := text[off:end]
			for j := strings.IndexByte(line, '\r'); j >= 0; {
				abs := off + j
				if abs+1 < len(text) && text[abs+1] == '\n' {
					break // "\r\n": the '\n' ends the line
				}
				m.lspLines = append(m.lspLines, abs+1)
				k := strings.IndexByte(text[abs+1:end], '\r')
				if k < 0 {
					break
				}
				j = abs + 1 + k - off
			}
		}
		if i < 0 {
			break
		}
		m.lspLines = append(m.lspLines, end+1)
		m.nlLines = append(m.nlLines, end+1)
		off = end + 1
	}
	return m
}

// Encoding returns the encoding the mapper counts characters in.
func (m *Mapper) Encoding() Encoding { return m.enc }

// lspLineBounds returns the byte span [start, end) of LSP line n's content
// (without its terminator), clamping n into range.
func (m *Mapper) lspLineBounds(n int) (start, end int) {
	if n < 0 {
		n = 0
	}
	if n >= len(m.lspLines) {
		n = len(m.lspLines) - 1
	}
	start = m.lspLines[n]
	end = len(m.text)
	if n+1 < len(m.lspLines) {
		end = m.lspLines[n+1] - 1 // drop '\n' or lone '\r'
		if m.text[end] == '\n' && end > start && m.text[end-1] == '\r' {
			end-- // drop the '\r' of "\r\n"
		}
	}
	return start, end
}

// OffsetToPosition converts a byte offset to an LSP position.
func (m *Mapper) OffsetToPosition(off int) protocol.Position {
	if off < 0 {
		off = 0
	}
	if off > len(m.text) {
		off = len(m.text)
	}
	n := sort.SearchInts(m.lspLines, off+1) - 1
	start, end := m.lspLineBounds(n)
	if off > end {
		off = end // inside a "\r\n" terminator
	}
	return protocol.Position{Line: uint32(n), Character: uint32(CharCount(m.text[start:off], m.enc))}
}

// PositionToOffset converts an LSP position to a byte offset. A line past
// the end maps to the end of the document; a character past the end of its
// line maps to the line's end; a character inside a multi-unit character
// maps to that character's start.
func (m *Mapper) PositionToOffset(p protocol.Position) int {
	if int64(p.Line) >= int64(len(m.lspLines)) {
		return len(m.text)
	}
	start, end := m.lspLineBounds(int(p.Line))
	return start + ByteColumn(m.text[start:end], int(p.Character), m.enc)
}

// ParserPos converts a byte offset to a parser position.
func (m *Mapper) ParserPos(off int) parser.Pos {
	if off < 0 {
		off = 0
	}
	if off > len(m.text) {
		off = len(m.text)
	}
	n := sort.SearchInts(m.nlLines, off+1) - 1
	return parser.Pos{Line: n + 1, Col: off - m.nlLines[n]}
}

// Offset converts a parser position to a byte offset, clamping the column
// to the line (terminator excluded).
func (m *Mapper) Offset(p parser.Pos) int {
	n := p.Line - 1
	if n < 0 {
		return 0
	}
	if n >= len(m.nlLines) {
		return len(m.text)
	}
	start := m.nlLines[n]
	end := len(m.text)
	if n+1 < len(m.nlLines) {
		end = m.nlLines[n+1] - 1
	}
	col := p.Col
	if col < 0 {
		col = 0
	}
	if start+col > end {
		return end
	}
	return start + col
}

// Position converts a parser position to an LSP position.
func (m *Mapper) Position(p parser.Pos) protocol.Position {
	return m.OffsetToPosition(m.Offset(p))
}

// Range converts a parser range to an LSP range.
func (m *Mapper) Range(r parser.Range) protocol.Range {
	return protocol.Range{Start: m.Position(r.Start), End: m.Position(r.End)}
}

// PosOf converts an LSP position to a parser position.
func (m *Mapper) PosOf(p protocol.Position) parser.Pos {
	return m.ParserPos(m.PositionToOffset(p))
}

// LineCount returns the number of LSP lines.
func (m *Mapper) LineCount() int { return len(m.lspLines) }

// CharCount returns the length of s in the units of enc. Invalid UTF-8
// bytes count as one unit each, as editors show them as U+FFFD.
func CharCount(s string, enc Encoding) int {
	if enc == UTF8 {
		return len(s)
	}
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2 // a surrogate pair
		} else {
			n++
		}
	}
	return n
}

// ByteColumn converts a character offset in units of enc within line to a
// byte offset, clamped to len(line) and never splitting a UTF-8 sequence:
// an offset inside a character (the second half of a surrogate pair, or the
// middle of a UTF-8 sequence) maps to the character's first byte.
func ByteColumn(line string, char int, enc Encoding) int {
	if char <= 0 {
		return 0
	}
	if enc == UTF8 {
		if char >= len(line) {
			return len(line)
		}
		for char > 0 && !utf8.RuneStart(line[char]) {
			char--
		}
		return char
	}
	units := 0
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRuneInString(line[i:])
		w := 1
		if r >= 0x10000 {
			w = 2 // a surrogate pair in UTF-16
		}
		if units+w > char {
			return i
		}
		units += w
		i += size
		if units == char {
			return i
		}
	}
	return len(line)
}
