package cmdtest_test

import (
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

// A short transcript inline in the test; it runs in the package directory.
func ExampleCheckString() {
	testEcho := func(t *testing.T) {
		cmdtest.CheckString(t, `
$ echo hello
1 hello
$ ls no-such-file >/dev/null 2>&1
? 2
`)
	}
	_ = testEcho
}

// A transcript from any reader; name is used in failure messages.
func ExampleCheck() {
	testGenerated := func(t *testing.T) {
		transcript := "$ printf 'a\\nb\\n'\n1 a\n1 b\n"
		cmdtest.Check(t, "generated.cmdt", strings.NewReader(transcript), cmdtest.WithDir(t.TempDir()))
	}
	_ = testGenerated
}

// WithEnv overrides or unsets variables of the session only; the test
// process's environment is untouched, so tests stay parallel.
func ExampleWithEnv() {
	testHermetic := func(t *testing.T) {
		cmdtest.CheckDir(t, "testdata", cmdtest.WithEnv("HOME="+t.TempDir(), "TZ=UTC", "NO_COLOR"))
	}
	_ = testHermetic
}
