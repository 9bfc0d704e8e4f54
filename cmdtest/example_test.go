package cmdtest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/cmdtest"
)

// Examples need a *testing.T, which only a test gets, so each shows the
// test function to put in a _test.go file.

// A CLI's own tests: build the tool under test, put it first on PATH and
// run every transcript under testdata/ as a parallel subtest. Building it
// from the package under test keeps go test's cache correct even though
// the binary lives outside the module: a change to its sources changes the
// test binary too.
func ExampleCheckDir() {
	testTranscripts := func(t *testing.T) {
		bin := t.TempDir()
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		cmdtest.CheckDir(t, "testdata", cmdtest.WithPath(bin), cmdtest.WithEnv("LC_ALL=C"))
	}
	_ = testTranscripts
}

// One transcript file; it runs in its own directory, so paths in it are
// relative to testdata/.
func ExampleCheckFile() {
	testGreeting := func(t *testing.T) {
		cmdtest.CheckFile(t, "testdata/greeting.cmdt", cmdtest.WithEnv("NAME=gopher"), cmdtest.WithTimeout(time.Minute))
	}
	_ = testGreeting
}

// A short transcript inline in the test, with options; it runs in the
// package directory.
func ExampleCheckText() {
	testEcho := func(t *testing.T) {
		cmdtest.CheckText(t, `
$ echo hello
1 hello
$ ls no-such-file >/dev/null 2>&1
? 2
`, cmdtest.WithEnv("LC_ALL=C"))
	}
	_ = testEcho
}

// A transcript from any reader; name is used in failure messages.
func ExampleCheckReader() {
	testGenerated := func(t *testing.T) {
		transcript := "$ printf 'a\\nb\\n'\n1 a\n1 b\n"
		cmdtest.CheckReader(t, "generated.cmdt", strings.NewReader(transcript), cmdtest.WithDir(t.TempDir()))
	}
	_ = testGenerated
}

// Tests written for the origin tool (github.com/deref/transcript/cmdtest)
// keep working: change the import path to github.com/cmdt-dev/cmdt/cmdtest.
// Check and CheckString have the same signatures and behaviour: the
// session starts in the package directory, failures are reported with
// t.Errorf, and the result says whether the transcript passed.
func ExampleCheck() {
	testCLI := func(t *testing.T) {
		f, err := os.Open("testdata/test.cmdt")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if !cmdtest.Check(t, f) {
			t.Log("see the diff above")
		}
	}
	_ = testCLI
}

// The origin tool's documented use, with go:embed: unchanged but for the
// import path.
func ExampleCheckString() {
	var cmdt string // //go:embed test.cmdt
	testCLI := func(t *testing.T) {
		cmdtest.CheckString(t, cmdt)
	}
	_ = testCLI
}

// WithEnv overrides or unsets variables of the session only; the test
// process's environment is untouched, so tests stay parallel.
func ExampleWithEnv() {
	testHermetic := func(t *testing.T) {
		cmdtest.CheckDir(t, "testdata", cmdtest.WithEnv("HOME="+t.TempDir(), "TZ=UTC", "NO_COLOR"))
	}
	_ = testHermetic
}
