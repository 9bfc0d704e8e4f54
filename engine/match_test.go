package engine

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cmdt-dev/cmdt/parser"
)

// refMatch is the obviously correct matcher the fast one is held to:
// exhaustive recursion, with each line compared by a regexp built
// independently from the glob.
func refMatch(pats []string, lines []string) bool {
	if len(pats) == 0 {
		return len(lines) == 0
	}
	if pats[0] == parser.AnyLines {
		for k := 0; k <= len(lines); k++ {
			if refMatch(pats[1:], lines[k:]) {
				return true
			}
		}
		return false
	}
	if len(lines) == 0 {
		return false
	}
	var re strings.Builder
	re.WriteString(`^`)
	for _, s := range parser.ParseGlob(pats[0]) {
		if s.Kind == parser.SegWildcard {
			re.WriteString(`(?s:.*)`)
		} else {
			re.WriteString(regexp.QuoteMeta(s.Text))
		}
	}
	re.WriteString(`$`)
	return regexp.MustCompile(re.String()).MatchString(lines[0]) && refMatch(pats[1:], lines[1:])
}

func compileGlobs(t testing.TB, globs []string) []*linePattern {
	src := "$ x\n"
	for _, g := range globs {
		src += "1* " + g + "\n"
	}
	f := parser.Parse("m.cmdt", []byte(src))
	subs := &Substitutions{vals: map[string]*substValue{}}
	var pats []*linePattern
	for _, e := range f.Blocks[0].Expect {
		p, err := compileExpectation(e, subs)
		if err != nil {
			t.Fatal(err)
		}
		pats = append(pats, p)
	}
	return pats
}

func TestMatchLines(t *testing.T) {
	for _, c := range []struct {
		globs, lines []string
		want         bool
	}{
		{[]string{"a[..]c"}, []string{"abbbc"}, true},
		{[]string{"a[..]c"}, []string{"ac"}, true},
		{[]string{"a[..]c"}, []string{"ab"}, false},
		{[]string{"[..]a[..]a[..]"}, []string{"aa"}, true},
		{[]string{"[..]a[..]a[..]"}, []string{"a"}, false},
		{[]string{"aXa[..]aXa"}, []string{"aXaXa"}, false},
		{[]string{"..."}, nil, true},
		{[]string{"...", "z"}, []string{"a", "b", "z"}, true},
		{[]string{"...", "z", "..."}, []string{"z"}, true},
		{[]string{"a", "...", "b", "...", "c"}, []string{"a", "b", "x", "b", "c"}, true},
		{[]string{"a", "...", "b"}, []string{"a", "b", "c"}, false},
		{[]string{"x"}, nil, false},
		{nil, []string{"x"}, false},
		{[]string{`\[..]`}, []string{"[..]"}, true},
		{[]string{`\[..]`}, []string{"ab"}, false},
	} {
		got := matchLines(compileGlobs(t, c.globs), c.lines)
		if got != c.want || refMatch(c.globs, c.lines) != c.want {
			t.Errorf("%q vs %q: got %v, reference %v, want %v", c.globs, c.lines, got, refMatch(c.globs, c.lines), c.want)
		}
	}
}

// FuzzMatchLines holds the matcher to the exhaustive reference, and the
// alignment to it: it pairs every expectation of a passing stream, and
// what it keeps always matches.
func FuzzMatchLines(f *testing.F) {
	f.Add("a[..]c\n...\nz", "abc\nq\nz")
	f.Add("...\n[..]x[..]\n...", "x\ny")
	f.Add(`\[..]`+"\n[A]", "[..]\n[A]")
	f.Fuzz(func(t *testing.T, globText, lineText string) {
		globs := strings.Split(globText, "\n")
		lines := strings.Split(lineText, "\n")
		if len(globs) > 12 || len(lines) > 12 || !utf8.ValidString(globText) {
			return
		}
		for i, g := range globs {
			globs[i] = strings.TrimSuffix(g, "\r")
			if strings.TrimSpace(globs[i]) != globs[i] {
				return // a trailing "\r" or blank is not part of a payload
			}
			for _, s := range parser.ParseGlob(globs[i]) {
				if s.Kind == parser.SegSubst {
					return // no substitutions in this session
				}
			}
		}
		pats := compileGlobs(t, globs)
		if len(pats) != len(globs) {
			return
		}
		got, want := matchLines(pats, lines), refMatch(globs, lines)
		if got != want {
			t.Fatalf("%q vs %q: got %v, reference %v", globs, lines, got, want)
		}
		ops := alignLines(pats, lines)
		seenG := 0
		for _, op := range ops {
			if op.g >= 0 {
				if op.g != seenG {
					t.Fatalf("alignment skips or reorders lines: %+v", ops)
				}
				seenG++
				if op.w >= 0 && !pats[op.w].any && !pats[op.w].match(lines[op.g]) {
					t.Fatalf("alignment pairs a non-matching line: %+v", ops)
				}
			}
			if want && op.w >= 0 != (op.g >= 0) && !(op.w >= 0 && pats[op.w].any) {
				t.Fatalf("a matching stream aligned with edits: %q %q %+v", globs, lines, ops)
			}
		}
		if seenG != len(lines) {
			t.Fatalf("alignment lost lines: %+v", ops)
		}
	})
}

func TestSpell(t *testing.T) {
	subs := builtinSubstitutions("/src/app", "/src/app/sub", []string{"HOME=/src", "TMPDIR=/tmp"})
	re := regexp.MustCompile(`v[0-9]+\.[0-9]+`)
	subs = subs.with("VER", &substValue{re: re, reAt: regexp.MustCompile(`^(?:` + re.String() + `)`), auto: true})
	for in, want := range map[string]string{
		"/src/app/sub":           "[ROOT]/sub",
		"/src/app2":              "[HOME]/app2",
		"/src/app":               "[ROOT]",
		"cd /tmp/x; [..] v1.2":   `cd [TMP]/x; \[..] [VER]`,
		"plain [x] text":         "",
		"/tmp/tmp.x /x/tmp":      "[TMP]/tmp.x /x/tmp",
		"env1.2 is not v1.2":     "env1.2 is not [VER]",
		`C:\[..] /src/app/\\[A]`: `C:\\\[..] [ROOT]/\\\\\[A]`,
	} {
		got, pattern := subs.Spell(in)
		if want == "" {
			if pattern || got != in {
				t.Errorf("Spell(%q) = %q, %v; want unchanged", in, got, pattern)
			}
			continue
		}
		if !pattern || got != want {
			t.Errorf("Spell(%q) = %q, want %q", in, got, want)
		}
		// What update writes must match what it was written from.
		f := parser.Parse("s.cmdt", []byte("% subst VER regexp "+re.String()+"\n$ x\n1* "+got+"\n"))
		p, err := compileExpectation(f.Blocks[0].Expect[0], subs)
		if err != nil || !p.match(in) {
			t.Errorf("1* %s does not match %q (%v)", got, in, err)
		}
	}
}

// TestUpdateKeepsPatterns: a pattern that still matches stays as written,
// "..." stays, a stale literal is replaced and machine paths are written
// as substitutions; the result passes.
func TestUpdateKeepsPatterns(t *testing.T) {
	src := "% subst PID regexp [0-9]+\n" +
		"$ echo \"pid $$\"; echo start; seq 3; pwd; echo \"[..] ok\"; echo \"took 12ms\"\n" +
		"1* pid [..]\n1 start\n1* ...\n1 old line\n1* \\[..] ok\n1~ took \\d+ms\n"
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/t\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	path := filepath.Join(dir, "sub", "p.cmdt")
	os.WriteFile(path, []byte(src), 0o644)
	res := run(t, parseFile(t, path), Options{})
	if res.Passed() {
		t.Fatal("stale line passed")
	}
	plan, err := PlanUpdate(res)
	if err != nil {
		t.Fatal(err)
	}
	want := "% subst PID regexp [0-9]+\n" +
		"$ echo \"pid $$\"; echo start; seq 3; pwd; echo \"[..] ok\"; echo \"took 12ms\"\n" +
		"1* pid [..]\n1 start\n1* ...\n1* [ROOT]/sub\n1* \\[..] ok\n1~ took \\d+ms\n"
	if string(plan.Source) != want {
		t.Fatalf("update:\n%s\nwant:\n%s", plan.Source, want)
	}
	os.WriteFile(path, plan.Source, 0o644)
	res = run(t, parseFile(t, path), Options{})
	if !res.Passed() {
		t.Fatalf("updated transcript fails: %v", res.Failures()[0].Failure)
	}
	again, _ := PlanUpdate(res)
	if string(again.Source) != want {
		t.Fatalf("second update changed it:\n%s", again.Source)
	}
}

// FuzzMatchInline holds the passing check's fast path to the general
// comparison: for inline expectations, matchInline agrees with comparing
// the expected and actual item lists.
func FuzzMatchInline(f *testing.F) {
	f.Add("1 a\n1 b\n", "a\nb\n", "")
	f.Add("2 oops\n1 out\n% no-newline\n", "out", "oops\n")
	f.Add("1\n1\n", "\n\n", "")
	f.Add("1 x\n", "x\n\x00", "")
	f.Add("1 a\r\n", "a\r\n", "")
	f.Fuzz(func(t *testing.T, expect, stdout, stderr string) {
		pf := parser.Parse("f.cmdt", []byte("$ true\n"+expect))
		if len(pf.Errors) > 0 || len(pf.Blocks) != 1 {
			return
		}
		b := pf.Blocks[0]
		cr := &CommandResult{Block: b, Stdout: []byte(stdout), Stderr: []byte(stderr)}
		equal, ok := matchInline(b, cr)
		want, err := expectedItems(b, t.TempDir(), func(Input) {})
		if !ok {
			return // file expectations: the general path
		}
		if err != nil {
			t.Fatal(err)
		}
		if ref := itemsEqual(want, actualItems(cr)); equal != ref {
			t.Fatalf("expect %q, stdout %q, stderr %q: matchInline %v, items %v", expect, stdout, stderr, equal, ref)
		}
	})
}
