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
		for _, d := range file.Deps() {
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
