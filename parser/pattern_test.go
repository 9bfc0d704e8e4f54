package parser

import (
	"strings"
	"testing"
)

func TestParsePatterns(t *testing.T) {
	src := "% subst VERSION regexp go1\\.[0-9]+(\\.[0-9]+)?\n% subst USER value \"$LOGNAME\"\n" +
		"$ go version\n1* go version [VERSION] [..]\n2~ warn: \\d+ ms\n1* ...\n% no-newline\n1 [..] stays literal\n1* \\[INFO] in [ROOT]/x \\\\[..]\n"
	f := Parse("p.cmdt", []byte(src))
	if len(f.Errors) != 0 {
		t.Fatalf("errors: %v", f.Errors)
	}
	if got := string(f.Bytes()); got != src {
		t.Fatalf("print mismatch:\n%q\n%q", got, src)
	}
	ss := f.Substs()
	if len(ss) != 2 || ss[0].Kind != SubstRegexp || ss[0].Regexp == nil || ss[1].Kind != SubstValue || ss[1].Literal || ss[1].Word == nil {
		t.Fatalf("substs = %+v", ss)
	}
	b := f.Blocks[0]
	if len(b.Expect) != 5 {
		t.Fatalf("expect = %d", len(b.Expect))
	}
	e := b.Expect
	if e[0].Pattern.Kind != PatternGlob || e[0].Stream != 1 || e[0].Line.Kind != KindStdout {
		t.Fatalf("e0 = %+v", e[0])
	}
	segs := e[0].Pattern.Segments
	wantSegs := []Segment{{SegLiteral, "go version ", 0, 11}, {SegSubst, "VERSION", 11, 20}, {SegLiteral, " ", 20, 21}, {SegWildcard, "", 21, 25}}
	if len(segs) != len(wantSegs) {
		t.Fatalf("segs = %+v", segs)
	}
	for i := range segs {
		if segs[i] != wantSegs[i] {
			t.Errorf("seg %d = %+v, want %+v", i, segs[i], wantSegs[i])
		}
	}
	if e[1].Pattern.Kind != PatternRegexp || e[1].Stream != 2 || !e[1].Pattern.Regexp.MatchString(`warn: 12 ms`) || e[1].Pattern.Regexp.MatchString(`xwarn: 12 ms`) {
		t.Fatalf("e1 = %+v", e[1])
	}
	if e[2].Pattern.Kind != PatternAnyLines || !e[2].NoNewline {
		t.Fatalf("e2 = %+v", e[2])
	}
	if e[3].Pattern != nil || e[3].Text != "[..] stays literal" {
		t.Fatalf("a plain line must stay literal: %+v", e[3])
	}
	segs = e[4].Pattern.Segments
	if len(segs) != 4 || segs[0].Text != "[INFO] in " || segs[1].Text != SubstRoot || segs[2].Text != `/x \` || segs[3].Kind != SegWildcard {
		t.Fatalf("escapes: %+v", segs)
	}
}

func TestPatternErrors(t *testing.T) {
	src := "$ a\n1~ (\n1* [NOPE] [TMP]\n% subst ROOT value x\n% subst lower value x\n% subst X regexp [\n% subst Y regexp a*\n% subst Z frob x\n% subst W value a b\n% subst V value $(rm x)\n% subst\n1* [LATER]\n% subst LATER value ok\n1* [LATER]\n"
	f := Parse("bad.cmdt", []byte(src))
	codes := []Code{CodeBadRegexp, CodeUnknownSubst, CodeBadSubst, CodeBadSubst, CodeBadRegexp, CodeBadSubst, CodeBadSubst, CodeBadSubst, CodeBadSubst, CodeBadSubst, CodeUnknownSubst}
	if len(f.Errors) != len(codes) {
		t.Fatalf("got %d errors, want %d:\n%v", len(f.Errors), len(codes), f.Errors)
	}
	for i, c := range codes {
		if f.Errors[i].Code != c {
			t.Errorf("error %d: code %s, want %s (%v)", i, f.Errors[i].Code, c, f.Errors[i])
		}
	}
	if !strings.Contains(f.Errors[1].Msg, `\[NOPE]`) || f.Errors[1].Range.Start.Col != 3 || f.Errors[1].Range.End.Col != 9 {
		t.Errorf("unknown-substitution error: %v %v", f.Errors[1], f.Errors[1].Range)
	}
}

// TestOriginLinesKeepMeaning: every line the origin tool accepts parses to
// exactly what it did before the extension: no pattern, literal text.
func TestOriginLinesKeepMeaning(t *testing.T) {
	for _, text := range []string{"[..]", "...", "[ROOT]/x", "\\[..]", "a (re)", ".*", "[NAME]"} {
		f := Parse("o.cmdt", []byte("$ x\n1 "+text+"\n2 "+text+"\n"))
		if len(f.Errors) != 0 || f.Blocks[0].HasPatterns() || f.Blocks[0].Expect[0].Text != text {
			t.Errorf("%q: errors %v, patterns %v", text, f.Errors, f.Blocks[0].HasPatterns())
		}
	}
}

func TestEscapeGlob(t *testing.T) {
	for _, s := range []string{"plain", "[..]", "[ROOT]/x", `\[`, `\\`, `a\b`, `x\`, `[x] [A-Z] [A]`, `\[..]`, `\\[..]`, `[[..]]`, `[`, `]`, `[ ..]`} {
		esc := EscapeGlob(s)
		segs := ParseGlob(esc)
		if len(s) > 0 && (len(segs) != 1 || segs[0].Kind != SegLiteral || segs[0].Text != s) {
			t.Errorf("EscapeGlob(%q) = %q parses to %+v", s, esc, segs)
		}
	}
}
