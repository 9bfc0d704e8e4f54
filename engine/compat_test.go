package engine

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cmdt-dev/cmdt/parser"
)

// A CRLF transcript checks as its LF form does; a wrong expectation in it
// shows a visible diff (the old failure was "-1 a" / "+1 a", a '\r' apart).
func TestCRLFTranscript(t *testing.T) {
	f, _ := writeTranscript(t, "c.cmdt", "$ echo a\r\n1 a\r\n\r\n$ printf 'x\\r\\n'\r\n1 x\r\n")
	res := run(t, f, Options{})
	fails := res.Failures()
	if len(fails) != 1 || fails[0].Failure.Line != 4 {
		t.Fatalf("failures %v", fails)
	}
	if d := fails[0].Failure.Diff; !strings.Contains(d, "-1 x\n+1 x␍\n") {
		t.Errorf("the '\\r' is not visible in the diff:\n%s", d)
	}
}

// Output with "\r\n" lines cannot be written inline (the '\r' ending a
// transcript line is dropped): update stores it in a numbered file, the
// result checks, and a second update changes nothing.
func TestUpdateCRLFOutputGoesToAFile(t *testing.T) {
	f, dir := writeTranscript(t, "u.cmdt", "$ printf 'dos\\r\\nline\\r\\n'\n\n$ printf 'cr at the end\\r'\n")
	plan, err := PlanUpdate(run(t, f, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	want := "$ printf 'dos\\r\\nline\\r\\n'\n1< 001.bin\n\n$ printf 'cr at the end\\r'\n1< 002.bin\n"
	if string(plan.Source) != want {
		t.Fatalf("update wrote\n%q\nwant\n%q", plan.Source, want)
	}
	if _, err := WriteUpdate(f.Name, plan, dir); err != nil {
		t.Fatal(err)
	}
	f = parseFile(t, f.Name)
	res := run(t, f, Options{})
	if !res.Passed() {
		t.Fatalf("updated transcript fails: %v", res.Failures()[0].Failure)
	}
	if plan, _ := PlanUpdate(res); len(plan.Edits) != 0 {
		t.Errorf("second update edits %+v", plan.Edits)
	}
}

// Depfile entries resolve against the session's directory where the
// depfile is declared (spec §4), as the origin tool does: conf/deps.txt
// listing data.txt tracks ./data.txt, and after `cd sub` it tracks
// sub/data.txt.
func TestDepfileEntriesResolveAgainstTheSession(t *testing.T) {
	f, dir := writeTranscript(t, "d.cmdt", "% dep < conf/deps.txt\n$ cd sub\n% depfile ../conf/deps.txt\n")
	os.MkdirAll(filepath.Join(dir, "conf"), 0o755)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "conf", "deps.txt"), []byte("data.txt\nglob *.json\n"), 0o644)
	res := run(t, f, Options{})
	var files, globs []string
	for _, in := range res.Declared {
		switch {
		case in.Origin == OriginDepfile && in.Kind == InputFile:
			files = append(files, in.Path)
		case in.Origin == OriginDepfile && in.Kind == InputGlob:
			globs = append(globs, in.Path)
		}
	}
	wantFiles := []string{filepath.Join(dir, "data.txt"), filepath.Join(dir, "sub", "data.txt")}
	wantGlobs := []string{filepath.Join(dir, "*.json"), filepath.Join(dir, "sub", "*.json")}
	if strings.Join(files, " ") != strings.Join(wantFiles, " ") || strings.Join(globs, " ") != strings.Join(wantGlobs, " ") {
		t.Fatalf("files %q globs %q, want %q %q", files, globs, wantFiles, wantGlobs)
	}
	// The static resolution (editors, `transcript deps`) agrees.
	static, _, _ := ResolveStatic(f, dir, dir, nil)
	var staticFiles []string
	for _, in := range static {
		if in.Origin == OriginDepfile && in.Kind == InputFile {
			staticFiles = append(staticFiles, in.Path)
		}
	}
	if strings.Join(staticFiles, " ") != strings.Join(wantFiles, " ") {
		t.Errorf("static %q, want %q", staticFiles, wantFiles)
	}
}

// Bad input: a 100,000-line transcript holding a 1 MB line (the origin
// tool's scanner stops at 64 KB) parses, runs and checks.
func TestHugeTranscript(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	long := strings.Repeat("x", 1<<20)
	var b strings.Builder
	b.WriteString("$ printf '%s\\n' \"$(cat long.txt)\"\n1 " + long + "\n\n$ seq 99997\n")
	for i := 1; i <= 99997; i++ {
		b.WriteString("1 ")
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('\n')
	}
	f, dir := writeTranscript(t, "huge.cmdt", b.String())
	if n := len(f.Lines); n < 100_000 {
		t.Fatalf("%d lines", n)
	}
	os.WriteFile(filepath.Join(dir, "long.txt"), []byte(long), 0o644)
	res := run(t, f, Options{})
	if !res.Passed() {
		t.Fatalf("failures: %d, first at line %d", len(res.Failures()), res.Failures()[0].Failure.Line)
	}
	// One wrong line in the big block: one failure, at its command.
	f2 := parser.Parse(f.Name, []byte(strings.Replace(b.String(), "\n1 5000\n", "\n1 wrong\n", 1)))
	res = run(t, f2, Options{})
	if fails := res.Failures(); len(fails) != 1 || fails[0].Failure.Line != 4 || !strings.Contains(fails[0].Failure.Diff, "-1 wrong\n+1 5000\n") {
		t.Fatalf("failures %v", fails)
	}
}

// An update that changes an expectation of a CRLF transcript writes "\n"
// line endings throughout (spec §1); one that changes nothing leaves the
// file as it is.
func TestUpdateCRLFTranscript(t *testing.T) {
	f, _ := writeTranscript(t, "c.cmdt", "# c\r\n$ echo new\r\n1 old\r\n\r\n$ echo same\r\n1 same\r\n")
	plan, err := PlanUpdate(run(t, f, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if want := "# c\n$ echo new\n1 new\n\n$ echo same\n1 same\n"; string(plan.Source) != want {
		t.Fatalf("update wrote %q, want %q", plan.Source, want)
	}
}
