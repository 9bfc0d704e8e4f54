package parser

import (
	"strings"
	"testing"
)

func TestNotTextRefusedWithOneError(t *testing.T) {
	latin1 := "$ echo caf\xe9\n1 caf\xe9\n" // a few invalid bytes in text: still a transcript
	for _, tc := range []struct {
		name, src string
		refused   bool
		line      int
	}{
		{"nul", "$ echo a\n1 a\n\x00\x01\x02", true, 3},
		{"random bytes", strings.Repeat("\xff\xfe\x80 x\n", 1000), true, 1},
		{"controls", strings.Repeat("\x01\x02\x03\x04\x05\x06\x07\x08\n", 100), true, 1},
		{"latin-1 word", latin1, false, 0},
		{"utf-8", "$ echo héllo ✓\n1 héllo ✓\n", false, 0},
		{"escape sequences", "$ ls --color\n1 \x1b[31mred\x1b[0m\n", false, 0},
	} {
		f := Parse("t.cmdt", []byte(tc.src))
		notText := len(f.Errors) == 1 && f.Errors[0].Code == CodeNotText
		if notText != tc.refused {
			t.Errorf("%s: errors %v, want refused=%v", tc.name, f.Errors, tc.refused)
			continue
		}
		if tc.refused {
			if e := f.Errors[0]; e.Range.Start.Line != tc.line || strings.Contains(e.Error(), "\n") {
				t.Errorf("%s: %q at line %d, want one line at line %d", tc.name, e.Error(), e.Range.Start.Line, tc.line)
			}
			if string(f.Bytes()) != tc.src {
				t.Errorf("%s: the refused file does not print back", tc.name)
			}
		}
	}
}

func TestErrorsCappedAndClipped(t *testing.T) {
	long := strings.Repeat("x", 5000)
	src := strings.Repeat(long+"\n", 100)
	f := Parse("big.cmdt", []byte(src))
	if len(f.Errors) != 100 {
		t.Fatalf("%d errors, want 100 (every one is kept for editors)", len(f.Errors))
	}
	lines := strings.Split(f.Errors.Error(), "\n")
	if len(lines) != MaxListed+1 || lines[MaxListed] != "big.cmdt: and 80 more syntax errors" {
		t.Fatalf("Error() lists %d lines, last %q", len(lines), lines[len(lines)-1])
	}
	for _, l := range lines {
		if len(l) > 300 {
			t.Fatalf("an error line of %d bytes quotes too much: %.120q…", len(l), l)
		}
	}
	if !strings.Contains(lines[0], `"`+strings.Repeat("x", 80)+`…"`) {
		t.Errorf("the opcode is not quoted clipped to 80 bytes: %q", lines[0])
	}
	// Clipping never splits a rune.
	if c := clip(strings.Repeat("é", 60)); !strings.HasSuffix(c, "é…") || len(c) > maxQuote+len("…") {
		t.Errorf("clip: %q", c)
	}
}

// TestLongLinesQuotedClipped: every syntax error that quotes the line's text
// quotes at most 80 bytes of it, whatever the error.
func TestLongLinesQuotedClipped(t *testing.T) {
	long := strings.Repeat("y", 5000)
	for _, src := range []string{
		long + "\n",                // unknown opcode
		"$ true\n? " + long + "\n", // exit status
		"% " + long + "\n",         // unknown directive
		"$ printf a\n1 a\n% no-newline " + long + "\n", // arguments after no-newline
		"% dep env " + long + "-\n",                    // bad variable name
		"$ true\n1~ (" + long + "\n",                   // bad regexp
		"$ true\n1* [" + strings.ToUpper(long) + "]\n", // unknown substitution
	} {
		f := Parse("t.cmdt", []byte(src))
		if len(f.Errors) == 0 {
			t.Errorf("no error for %.40q…", src)
			continue
		}
		for _, e := range f.Errors {
			if n := strings.Count(strings.ToLower(e.Msg), "y"); n > 3*maxQuote {
				t.Errorf("%s: the message quotes %d bytes of the line: %.200q…", e.Code, n, e.Msg)
			}
		}
	}
}
