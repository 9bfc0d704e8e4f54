package parser

import (
	"strings"
	"testing"
)

func TestParseBlocks(t *testing.T) {
	src := "# comment\n$ echo a\n> b\n1 a\n% no-newline\n2 err\n? 3\n\n$ cat bin\n1< out.bin\n% dep file a.txt 'b c'\n% dep glob src/**\n% dep env HOME\n% dep exe go\n% depfile deps.txt\n% dep x.txt '$TOKEN'\n% dep < other.deps\n"
	f := Parse("t.cmdt", []byte(src))
	if len(f.Errors) != 0 {
		t.Fatalf("errors: %v", f.Errors)
	}
	if got := string(f.Bytes()); got != src {
		t.Fatalf("print mismatch:\n%q\n%q", got, src)
	}
	if len(f.Blocks) != 2 {
		t.Fatalf("blocks = %d", len(f.Blocks))
	}
	b := f.Blocks[0]
	if b.Text() != "echo a\nb" || b.ExitCode != 3 || len(b.Expect) != 2 || !b.Expect[0].NoNewline || b.Expect[1].Stream != 2 {
		t.Fatalf("block 0 = %+v text %q", b, b.Text())
	}
	b = f.Blocks[1]
	if !b.Expect[0].File || b.Expect[0].Text != "out.bin" {
		t.Fatalf("file expectation = %+v", b.Expect[0])
	}
	type want struct {
		kind  DepKind
		value string
	}
	wants := []want{{DepFile, "a.txt"}, {DepFile, "b c"}, {DepGlob, "src/**"}, {DepEnv, "HOME"}, {DepExe, "go"},
		{DepDepfile, "deps.txt"}, {DepFile, "x.txt"}, {DepEnv, "TOKEN"}, {DepDepfile, "other.deps"}}
	deps := f.Deps()
	if len(deps) != len(wants) {
		t.Fatalf("deps = %d, want %d", len(deps), len(wants))
	}
	for i, w := range wants {
		if deps[i].Kind != w.kind || deps[i].Value != w.value {
			t.Errorf("dep %d = %v %q, want %v %q", i, deps[i].Kind, deps[i].Value, w.kind, w.value)
		}
	}
	// Ranges point at the raw word in the line.
	d := deps[1]
	line := f.LineAt(d.Range.Start.Line).Text
	if got := line[d.Range.Start.Col:d.Range.End.Col]; got != "'b c'" {
		t.Errorf("range text = %q", got)
	}
}

func TestParseErrorsAllReported(t *testing.T) {
	src := "1 orphan\n$ ok\n? x\nbogus line\n> cont\n% nope\n% no-newline\n$ a\n? 1\n1 late\n% dep file $(rm -rf /)\n% dep env 1BAD\n"
	f := Parse("bad.cmdt", []byte(src))
	codes := []Code{CodeOrphanOutput, CodeBadExitStatus, CodeUnknownOpcode, CodeOrphanContinuation,
		CodeUnknownDirective, CodeMisplacedNoNewline, CodeAfterStatus, CodeBadDep, CodeBadEnvName}
	if len(f.Errors) != len(codes) {
		t.Fatalf("got %d errors, want %d:\n%v", len(f.Errors), len(codes), f.Errors)
	}
	for i, c := range codes {
		if f.Errors[i].Code != c {
			t.Errorf("error %d = %s (%s), want %s", i, f.Errors[i].Code, f.Errors[i].Msg, c)
		}
	}
	if !strings.HasPrefix(f.Errors[0].Error(), "bad.cmdt:1: ") {
		t.Errorf("error text = %q", f.Errors[0].Error())
	}
	if string(f.Bytes()) != src {
		t.Error("not lossless")
	}
}

func TestPayloadKeepsSpaces(t *testing.T) {
	f := Parse("", []byte("$ printf ' a  \\n'\n1  a  \n1\n"))
	e := f.Blocks[0].Expect
	if e[0].Text != " a  " || e[1].Text != "" {
		t.Fatalf("payloads %q %q", e[0].Text, e[1].Text)
	}
}

// A '\r' ending a line is dropped (spec §1), also on a last line without
// '\n', as the origin tool's scanner does; one inside a line is text.
func TestCRLF(t *testing.T) {
	src := "$ echo hi\r\n1 hi\r\n1\r\n\r\n% dep file a.txt\r\n$ printf 'a\\rb\\n'\r\n1 a\rb\r\n? 0\r\n% no-newline\r"
	f := Parse("", []byte(src))
	if len(f.Errors) != 1 || f.Errors[0].Code != CodeMisplacedNoNewline {
		t.Fatal(f.Errors)
	}
	b := f.Blocks[0]
	if b.Text() != "echo hi" || b.Expect[0].Text != "hi" || b.Expect[1].Text != "" {
		t.Fatalf("%q %q %q", b.Text(), b.Expect[0].Text, b.Expect[1].Text)
	}
	if f.Lines[3].Kind != KindBlank || f.Deps()[0].Value != "a.txt" {
		t.Fatalf("blank %v, dep %q", f.Lines[3].Kind, f.Deps()[0].Value)
	}
	if e := f.Blocks[1].Expect[0]; e.Text != "a\rb" {
		t.Fatalf("inner \\r: %q", e.Text)
	}
	if last := f.Lines[len(f.Lines)-1]; last.Text != "% no-newline" || !last.CR || last.HasNewline {
		t.Fatalf("last line %+v", last)
	}
	if string(f.Bytes()) != src {
		t.Fatal("not lossless")
	}
}

// Mixed endings, lone carriage returns: every line reads by the same rule,
// a bad line is one clear error, and printing gives the input back.
func TestMixedLineEndingsAndLoneCR(t *testing.T) {
	src := "$ echo a\n1 a\r\n\r\n\r\r\n$ echo b\r1 b\n\r"
	f := Parse("m.cmdt", []byte(src))
	if string(f.Bytes()) != src {
		t.Fatal("not lossless")
	}
	if f.Blocks[0].Expect[0].Text != "a" || f.Lines[2].Kind != KindBlank || f.Lines[len(f.Lines)-1].Kind != KindBlank {
		t.Fatalf("lines %+v", f.Lines)
	}
	// "\r" alone on a line and "$ echo b\r1 b" (one line: the '\r' does not
	// end it) are the two problems; the second is a command whose text
	// holds the '\r', which the shell reports when it runs.
	if len(f.Errors) != 1 || f.Errors[0].Code != CodeUnknownOpcode || f.Errors[0].Range.Start.Line != 4 ||
		!strings.Contains(f.Errors[0].Msg, "carriage return") {
		t.Fatalf("errors %v", f.Errors)
	}
	if got := f.Blocks[1].Text(); got != "echo b\r1 b" {
		t.Fatalf("command %q", got)
	}
}

// Lines of only spaces and tabs are blank (spec §1), as in the origin tool.
func TestWhitespaceLineIsBlank(t *testing.T) {
	f := Parse("", []byte("$ echo a\n1 a\n  \t\n1 b\n"))
	if f.Lines[2].Kind != KindBlank || len(f.Errors) != 1 || f.Errors[0].Code != CodeOrphanOutput {
		t.Fatalf("kind %v errors %v", f.Lines[2].Kind, f.Errors)
	}
}

// "% no-newline" takes no arguments (spec §2); the origin tool rejects them.
func TestNoNewlineArguments(t *testing.T) {
	for _, src := range []string{"$ printf a\n1 a\n% no-newline extra\n", "$ printf a\n1 a\n% no-newline \n"} {
		f := Parse("n.cmdt", []byte(src))
		if len(f.Errors) != 1 || f.Errors[0].Code != CodeNoNewlineArgs || f.Errors[0].Range.Start.Line != 3 {
			t.Fatalf("%q: errors %v", src, f.Errors)
		}
		if f.Blocks[0].Expect[0].NoNewline {
			t.Errorf("%q: a rejected directive still applied", src)
		}
	}
}

func TestNoTrailingNewline(t *testing.T) {
	for _, src := range []string{"", "\n", "$ x", "$ x\n1 y", "\n\n"} {
		if got := string(Parse("", []byte(src)).Bytes()); got != src {
			t.Errorf("%q printed as %q", src, got)
		}
	}
}

func TestDepfile(t *testing.T) {
	src := "# c\n\nfile testdata/config.json\nglob src/foo/**\nenv GOFLAGS\nexe bin/mytool\n$HOME\nplain path with spaces\nfile a\\$b\\\\c\\nd\r\nenv 9x\ndepfile nested\nfile\nfile bad\\q\n"
	df := ParseDepfile("d.deps", []byte(src))
	if string(df.Bytes()) != src {
		t.Fatal("not lossless")
	}
	want := []struct {
		k DepKind
		v string
	}{{DepFile, "testdata/config.json"}, {DepGlob, "src/foo/**"}, {DepEnv, "GOFLAGS"}, {DepExe, "bin/mytool"},
		{DepEnv, "HOME"}, {DepFile, "plain path with spaces"}, {DepFile, "a$b\\c\nd"}}
	if len(df.Entries) != len(want) {
		t.Fatalf("entries %d: %+v", len(df.Entries), df.Entries)
	}
	for i, w := range want {
		if df.Entries[i].Kind != w.k || df.Entries[i].Value != w.v {
			t.Errorf("entry %d = %v %q", i, df.Entries[i].Kind, df.Entries[i].Value)
		}
	}
	codes := []Code{CodeBadEnvName, CodeNestedDepfile, CodeBadDep, CodeBadEscape}
	if len(df.Errors) != len(codes) {
		t.Fatalf("errors %v", df.Errors)
	}
	for i, c := range codes {
		if df.Errors[i].Code != c {
			t.Errorf("error %d = %s", i, df.Errors[i].Code)
		}
	}
}
