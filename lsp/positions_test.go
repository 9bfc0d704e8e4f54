package lsp

import (
	"math/rand"
	"testing"
	"unicode/utf8"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/parser"
)

func TestCharCountAndByteColumn(t *testing.T) {
	for _, tc := range []struct {
		line        string
		char        int // UTF-16 units
		wantByte    int
		utf16Length int
	}{
		{"abc", 2, 2, 3},
		{"abc", 99, 3, 3},   // past the end clamps
		{"abc", -1, 0, 3},   // negative clamps
		{"é!", 1, 2, 2},     // é is 2 bytes, 1 unit
		{"中文x", 2, 6, 3},    // 3 bytes each, 1 unit each
		{"😀x", 2, 4, 3},     // astral: 4 bytes, 2 units
		{"😀x", 1, 0, 3},     // inside the surrogate pair: character start
		{"😀x", 3, 5, 3},     // after x
		{"a\xffb", 2, 2, 3}, // invalid byte counts as one unit
		{"", 5, 0, 0},
		{"x😀😀", 5, 9, 5},
	} {
		if got := ByteColumn(tc.line, tc.char, UTF16); got != tc.wantByte {
			t.Errorf("ByteColumn(%q, %d, utf16) = %d, want %d", tc.line, tc.char, got, tc.wantByte)
		}
		if got := CharCount(tc.line, UTF16); got != tc.utf16Length {
			t.Errorf("CharCount(%q, utf16) = %d, want %d", tc.line, got, tc.utf16Length)
		}
	}
	// UTF-8: byte offsets, but never inside a sequence.
	if got := ByteColumn("é!", 1, UTF8); got != 0 {
		t.Errorf("ByteColumn inside é (utf8) = %d, want 0", got)
	}
	if got := ByteColumn("é!", 2, UTF8); got != 2 {
		t.Errorf("ByteColumn after é (utf8) = %d, want 2", got)
	}
}

func TestMapperLineEndings(t *testing.T) {
	// Line 0 ends CRLF, line 1 LF, a lone CR splits line 2 for LSP but not
	// for the parser.
	text := "ab\r\ncd\nx\ry\n"
	m := NewMapper(text, UTF16)
	if m.LineCount() != 5 {
		t.Fatalf("LSP lines = %d, want 5 (ab, cd, x, y, empty)", m.LineCount())
	}
	for _, tc := range []struct {
		off  int
		want protocol.Position
	}{
		{0, protocol.Position{Line: 0, Character: 0}},
		{2, protocol.Position{Line: 0, Character: 2}},
		{3, protocol.Position{Line: 0, Character: 2}}, // between \r and \n: clamps to the content end
		{4, protocol.Position{Line: 1, Character: 0}},
		{8, protocol.Position{Line: 2, Character: 1}},
		{9, protocol.Position{Line: 3, Character: 0}}, // after the lone \r
		{99, protocol.Position{Line: 4, Character: 0}},
	} {
		if got := m.OffsetToPosition(tc.off); got != tc.want {
			t.Errorf("OffsetToPosition(%d) = %+v, want %+v", tc.off, got, tc.want)
		}
	}
	// Character past the line end stops before the CRLF.
	if got := m.PositionToOffset(protocol.Position{Line: 0, Character: 50}); got != 2 {
		t.Errorf("past end of CRLF line = %d, want 2", got)
	}
	// Line past the end of the document clamps to its end.
	if got := m.PositionToOffset(protocol.Position{Line: 1000, Character: 3}); got != len(text) {
		t.Errorf("line past the end = %d, want %d", got, len(text))
	}
	// Parser view: "x\ry" is one line (3rd), col 2 is 'y'.
	if got := m.Position(parser.Pos{Line: 3, Col: 2}); got != (protocol.Position{Line: 3, Character: 0}) {
		t.Errorf("parser 3:2 = %+v, want LSP 3:0", got)
	}
	if got := m.ParserPos(9); got != (parser.Pos{Line: 3, Col: 2}) {
		t.Errorf("ParserPos(9) = %+v", got)
	}
	// Parser positions past the end of a line or file clamp.
	if got := m.Offset(parser.Pos{Line: 1, Col: 99}); got != 3 {
		t.Errorf("Offset(1:99) = %d, want 3 (before \\n; the \\r is parser content)", got)
	}
	if got := m.Offset(parser.Pos{Line: 99}); got != len(text) {
		t.Errorf("Offset(99:0) = %d", got)
	}
}

// TestMapperRoundTrip checks on random text that every offset on a rune
// boundary survives offset → position → offset, in both encodings.
func TestMapperRoundTrip(t *testing.T) {
	alphabet := []string{"a", "é", "中", "😀", "\n", "\r\n", "\r", " ", "\xff"}
	rng := rand.New(rand.NewSource(1))
	for iter := 0; iter < 300; iter++ {
		var text string
		for n := rng.Intn(40); n > 0; n-- {
			text += alphabet[rng.Intn(len(alphabet))]
		}
		for _, enc := range []Encoding{UTF16, UTF8} {
			m := NewMapper(text, enc)
			for off := 0; off <= len(text); off++ {
				if off < len(text) && !utf8.RuneStart(text[off]) {
					continue
				}
				if off > 0 && text[off-1] == '\r' && off < len(text) && text[off] == '\n' {
					continue // inside a CRLF: not a position an editor can express
				}
				p := m.OffsetToPosition(off)
				if back := m.PositionToOffset(p); back != off {
					t.Fatalf("%q enc %v: offset %d → %+v → %d", text, enc, off, p, back)
				}
			}
		}
	}
}
