package engine_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/trace"
	"github.com/cmdt-dev/cmdt/parser"
)

// copyTree copies the fixture project so runs write (binaries,
// __pycache__) only in a temporary directory.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// wantLines are a fixture's "# want: DECL" comments.
func wantLines(src string) []string {
	var want []string
	for _, l := range strings.Split(src, "\n") {
		if d, ok := strings.CutPrefix(l, "# want: "); ok {
			want = append(want, d)
		}
	}
	return want
}

func tracedRun(t *testing.T, path string) *engine.Result {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := parser.Parse(path, src)
	if len(f.Errors) > 0 {
		t.Fatal(f.Errors)
	}
	res, err := engine.Run(context.Background(), f, engine.Options{Launcher: &trace.Launcher{}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed() {
		t.Fatalf("%s did not pass: %v", path, res.Failures()[0].Failure)
	}
	return res
}

// TestSuggestOnRealToolchains runs real transcripts (go run, go build, go
// test, python3 import, node require, make, ls, find, grep -r) traced and
// checks the declarations suggested are what a person would write, at
// most one suggestion per command; that with them added the next traced
// run needs no more (the folded probes stay folded); and that every
// observed input a suggestion stands for is covered by its declarations.
func TestSuggestOnRealToolchains(t *testing.T) {
	if err := trace.Available(); err != nil {
		t.Skipf("tracing unavailable: %v", err)
	}
	if testing.Short() {
		t.Skip("runs real toolchains")
	}
	for _, tool := range []string{"go", "python3", "node", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	dir := copyTree(t, "testdata/realdeps")
	files, _ := filepath.Glob(filepath.Join(dir, "*.cmdt"))
	if len(files) < 9 {
		t.Fatalf("fixture has %d transcripts", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, _ := os.ReadFile(path)
			res := tracedRun(t, path)
			sugs := engine.Suggest(res)
			lines := map[int]bool{}
			for _, s := range sugs {
				if lines[s.Line] {
					t.Errorf("two suggestions for line %d", s.Line)
				}
				lines[s.Line] = true
				var decls []engine.Input
				for _, d := range s.Decls {
					decls = append(decls, d.Input())
				}
				for _, in := range s.Inputs {
					if !engine.Covered(decls, in) {
						t.Errorf("line %d: %s is not covered by the suggested %v", s.Line, in, s.Decls)
					}
				}
			}
			got := engine.DeclarationLines(sugs, filepath.Dir(path))
			if want := wantLines(string(src)); !reflect.DeepEqual(got, want) {
				t.Fatalf("suggested\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			f := parser.Parse(path, src)
			if err := os.WriteFile(path, engine.InsertDeclarations(src, f, got), 0o644); err != nil {
				t.Fatal(err)
			}
			after := tracedRun(t, path)
			if rest := engine.Undeclared(after); len(rest) > 0 {
				t.Errorf("after adding the suggestions, still undeclared: %v", rest)
			}
		})
	}
}

func TestInsertDeclarations(t *testing.T) {
	cases := []struct{ src, want string }{
		{"$ true\n", "% dep file a\n$ true\n"},
		{"# c\n% dep file x\n$ true\n", "# c\n% dep file x\n% dep file a\n$ true\n"},
		{"# only a comment", "# only a comment\n% dep file a\n"},
		{"", "% dep file a\n"},
	}
	for _, c := range cases {
		f := parser.Parse("t.cmdt", []byte(c.src))
		if got := string(engine.InsertDeclarations([]byte(c.src), f, []string{"% dep file a"})); got != c.want {
			t.Errorf("InsertDeclarations(%q) = %q, want %q", c.src, got, c.want)
		}
	}
}
