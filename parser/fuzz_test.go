package parser

import "testing"

var seedTranscripts = []string{
	"$ echo hi\n1 hi\n",
	"# c\n$ a\n> b\n2 e\n% no-newline\n1< f.bin\n? 3\n\n",
	"% dep file a 'b c' \"$X/y\"\n% dep '$FOO' bar\n% dep < d.deps\n% depfile x\n",
	"1\n?\n%\n$\n>\n1<\n",
	"$ x\r\n1 y\r\n\r\n",
	"% dep file $(x) `y` $((1)) <(z) ${A:-b}\n",
	"$ a\n? 999\n? 1\n1 z\n",
	"$ a\r1 b\n\r\r\n  \t\n1 c\r\n% no-newline x\r\n\r",
	"% subst V regexp v[0-9]+\n% subst H value \"$HOME\"\n$ x\n1* [ROOT]/a [..] [V] \\[x]\n2~ ^a+(b|c)$\n1* ...\n% no-newline\n",
	"$ x\n1~ (\n1* [NOPE]\n% subst ROOT value x\n% subst\n",
	"% dep glob src/** !(**/__pycache__/**) !(*.o)\n% dep glob !(x)\n% dep file a !(b)\n% dep glob a !b !(c|d) x!(y)\n",
}

// FuzzParse checks that parsing never panics and is lossless.
func FuzzParse(f *testing.F) {
	for _, s := range seedTranscripts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		file := Parse("fuzz.cmdt", []byte(src))
		if got := string(file.Bytes()); got != src {
			t.Fatalf("print(parse(x)) != x:\n%q\n%q", got, src)
		}
		for _, e := range file.Errors {
			if e.Range.Start.Line < 1 || e.Range.Start.Line > len(file.Lines) {
				t.Fatalf("error outside the file: %v", e)
			}
		}
		for _, b := range file.Blocks {
			for _, e := range b.Expect {
				if e.Pattern == nil || e.Pattern.Kind != PatternGlob {
					continue
				}
				checkSegments(t, e.Text, e.Pattern.Segments)
			}
		}
		for _, d := range file.Deps() {
			if len(d.Exclude) > 0 && d.Kind != DepGlob {
				t.Fatalf("exclusions on a %v declaration: %+v", d.Kind, d)
			}
			if d.exclusion {
				t.Fatalf("an exclusion word left among the declarations: %+v", d)
			}
			l := file.LineAt(d.Range.Start.Line)
			if d.Range.End.Col > len(l.Text) || d.Range.Start.Col > d.Range.End.Col {
				t.Fatalf("dep range %v outside line %q", d.Range, l.Text)
			}
		}
	})
}

// FuzzParseDepfile checks the depfile grammar the same way.
func FuzzParseDepfile(f *testing.F) {
	for _, s := range []string{"file a\nglob b/**\nenv X\nexe y\n", "$HOME\nplain\n# c\n\n", "file a\\n\\$\\\\\nfile \\x\n", "depfile x\n< y\nenv\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		df := ParseDepfile("fuzz.deps", []byte(src))
		if got := string(df.Bytes()); got != src {
			t.Fatalf("print(parse(x)) != x")
		}
		if len(df.Entries) != len(df.EntryLines) {
			t.Fatal("entries and lines out of step")
		}
	})
}

// checkSegments checks that segments tile the payload they came from.
func checkSegments(t *testing.T, payload string, segs []Segment) {
	t.Helper()
	at := 0
	for _, s := range segs {
		if s.Start != at || s.End <= s.Start || s.End > len(payload) {
			t.Fatalf("segments of %q do not tile it: %+v", payload, segs)
		}
		at = s.End
	}
	if at != len(payload) {
		t.Fatalf("segments of %q stop at %d: %+v", payload, at, segs)
	}
}

// FuzzGlob checks the glob grammar: segments tile the payload, and
// escaping any text gives a glob that reads back as exactly that text.
func FuzzGlob(f *testing.F) {
	for _, s := range []string{"a [..] b", "[ROOT]/x", `\[..]`, `\\[..]`, `[[..]]`, `[A`, `x\`, "[..][..]", "[A_1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkSegments(t, s, ParseGlob(s))
		segs := ParseGlob(EscapeGlob(s))
		if s != "" && (len(segs) != 1 || segs[0].Kind != SegLiteral || segs[0].Text != s) {
			t.Fatalf("EscapeGlob(%q) = %q reads back as %+v", s, EscapeGlob(s), segs)
		}
	})
}
