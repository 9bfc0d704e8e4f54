package parser

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// textSample is how much of a file the invalid-UTF-8 ratio is measured on:
// enough to tell text from binary, without decoding a 50 MB file rune by
// rune.
const textSample = 64 << 10

// notText returns a syntax error when src cannot be a transcript: it holds a
// NUL byte, or more than 10% of the runes in its first 64 KiB are invalid
// UTF-8 or control characters (the rule spec §2 uses for binary output). A
// transcript is UTF-8 text; parsing a binary file line by line would report
// an error per "line" (hundreds of thousands for a large binary) instead of
// the one thing wrong with it.
func notText(name string, src []byte) *Error {
	if i := bytes.IndexByte(src, 0); i >= 0 {
		line := bytes.Count(src[:i], []byte{'\n'}) + 1
		return &Error{File: name, Range: Range{Pos{line, 0}, Pos{line, 0}}, Code: CodeNotText,
			Msg: fmt.Sprintf("not a text file (a NUL byte at offset %d): a transcript is UTF-8 text; nothing in it was read", i)}
	}
	if utf8.Valid(src) && bytes.IndexFunc(src[:min(len(src), textSample)], isControl) < 0 {
		return nil
	}
	sample := src[:min(len(src), textSample)]
	bad, total, first := 0, 0, -1
	for off := 0; off < len(sample); {
		r, size := utf8.DecodeRune(sample[off:])
		if r == utf8.RuneError && size == 1 && len(sample)-off >= utf8.UTFMax || isControl(r) {
			bad++
			if first < 0 {
				first = off
			}
		}
		total++
		off += size
	}
	if bad*10 <= total {
		return nil
	}
	line := bytes.Count(src[:first], []byte{'\n'}) + 1
	return &Error{File: name, Range: Range{Pos{line, 0}, Pos{line, 0}}, Code: CodeNotText,
		Msg: fmt.Sprintf("not a text file (%d%% of the first %d bytes are invalid UTF-8 or control characters): a transcript is UTF-8 text; nothing in it was read", bad*100/total, len(sample))}
}

// isControl reports control characters a text file does not hold (tab,
// newline, CR, form feed, vertical tab, backspace and ESC are allowed).
func isControl(r rune) bool {
	switch r {
	case '\t', '\n', '\r', '\f', '\v', '\b', 0x1b:
		return false
	}
	return r < 0x20 || r == 0x7f
}

// maxQuote bounds how much of a line an error message quotes.
const maxQuote = 80

// clip shortens s for quoting in an error message: at most 80 bytes, cut at
// a rune boundary, with "…" marking the cut.
func clip(s string) string {
	if len(s) <= maxQuote {
		return s
	}
	cut := maxQuote
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
