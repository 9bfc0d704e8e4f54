package cmdtest_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/cmdt-dev/cmdt/engine"
)

// originTest is Go test code written against the origin tool's documented
// API (github.com/deref/transcript/cmdtest: README and docs/user-guide.md),
// with only the import path changed. The var block pins the exact
// signatures: it does not compile if Check or CheckString drift.
const originTest = `package h

import (
	_ "embed"
	"io"
	"os"
	"testing"

	"github.com/cmdt-dev/cmdt/cmdtest"
)

var (
	_ func(*testing.T, io.Reader) bool = cmdtest.Check
	_ func(*testing.T, string) bool    = cmdtest.CheckString
)

//go:embed test.cmdt
var cmdt string

func TestCLI(t *testing.T) {
	cmdtest.CheckString(t, cmdt)
}

func TestReader(t *testing.T) {
	f, err := os.Open("other.cmdt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ok := cmdtest.Check(t, f)
	t.Logf("Check returned %v", ok)
}

func TestSyntaxErrorIsNotFatal(t *testing.T) {
	if os.Getenv("WITH_SYNTAX_ERROR") == "" {
		t.Skip()
	}
	ok := cmdtest.CheckString(t, "1 orphan\n")
	t.Logf("CheckString returned %v and the test went on", ok)
}
`

// TestOriginAPIMigration compiles and runs tests written for the origin
// tool's cmdtest in a temporary module whose go.mod replaces this
// repository, with the real go test: they pass, fail with a diff and a
// false result, keep going after a syntax error, run in the package
// directory, and a `% dep` input invalidates go test's cache.
func TestOriginAPIMigration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test in a temporary module; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	m := newHazardModule(t, goBin, engine.FindModuleRoot(mustGetwd(t)), hazard{id: "origin", files: map[string]string{
		"h_test.go": originTest,
		// Runs in the package directory, as the origin tool does.
		"test.cmdt":  "% dep data.txt\n$ cat data.txt\n1 v1\n\n$ test -f go.mod && echo in the package directory\n1 in the package directory\n",
		"other.cmdt": "$ echo one\n1 one\n% no-newline\n",
		"data.txt":   "v1\n",
	}})
	steps := []struct {
		name         string
		mutate       func()
		env          []string
		pass, cached bool
		output       []string
	}{
		{name: "first run", env: []string{"GOTEST_V=1"},
			output: []string{"--- PASS: TestCLI", "--- FAIL: TestReader", "Check returned false", "line 1: $ echo one", "-% no-newline"}},
		{name: "other.cmdt fixed", mutate: func() { m.write("other.cmdt", "$ echo one\n1 one\n") }, env: []string{"GOTEST_V=1"}, pass: true,
			output: []string{"--- PASS: TestReader", "Check returned true"}},
		{name: "unchanged", env: []string{"GOTEST_V=1"}, pass: true, cached: true},
		{name: "declared input changed", mutate: func() { m.write("data.txt", "v2\n") }, env: []string{"GOTEST_V=1"},
			output: []string{"--- FAIL: TestCLI", "-1 v1", "+1 v2"}},
		{name: "syntax error", mutate: func() { m.write("data.txt", "v1\n") }, env: []string{"GOTEST_V=1", "WITH_SYNTAX_ERROR=1"},
			output: []string{"--- FAIL: TestSyntaxErrorIsNotFatal", "1 syntax error(s)", ":1: expected output `1` outside a command block", "CheckString returned false and the test went on"}},
	}
	for i, s := range steps {
		if s.mutate != nil {
			s.mutate()
		}
		r := m.goTest(s.env...)
		if r.passed != s.pass || r.cached != s.cached {
			t.Fatalf("step %d (%s): want %s, got %s:\n%s", i+1, s.name, outcome(s.pass, s.cached), outcome(r.passed, r.cached), r.out)
		}
		for _, w := range s.output {
			if !strings.Contains(r.out, w) {
				t.Errorf("step %d (%s): output lacks %q:\n%s", i+1, s.name, w, r.out)
			}
		}
	}
}
