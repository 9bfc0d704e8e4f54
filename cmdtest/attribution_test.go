package cmdtest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFailuresPointAtTheCaller: go test prefixes every failure and log with
// the file:line it attributes it to. cmdtest marks its whole call chain as
// helpers, CheckDir's subtests included, so that prefix is the user's
// cmdtest call (here, TestFixture's), and the message itself starts with the
// transcript's file:line. Nothing is attributed to the library's files.
func TestFailuresPointAtTheCaller(t *testing.T) {
	calls := fixtureCallLines(t)
	bad := filepath.Join(t.TempDir(), "bad.cmdt")
	writeFile(t, bad, "$ echo ok\n1 ok\n! what\n")
	for _, tc := range []struct {
		mode, path string
		env        []string
		want       []string // message starts, after the "file.go:N: " prefix
	}{
		{"file", "testdata/fail/two.cmdt", nil, []string{"testdata/fail/two.cmdt:2: $ echo one", "testdata/fail/two.cmdt:8: $ echo three"}},
		{"dir", "testdata/fail", nil, []string{"testdata/fail/two.cmdt:2: $ echo one", "testdata/fail/two.cmdt:8: $ echo three"}},
		{"string", "testdata/fail/two.cmdt", nil, []string{"<string>:2: $ echo one"}},
		{"file", bad, nil, []string{"cmdt: 1 syntax error(s)"}},
		{"file", "testdata/fail/two.cmdt", []string{"CMDT_FIXTURE_TIMEOUT=1ns"}, []string{"testdata/fail/two.cmdt:2: $ echo one"}},
	} {
		r := runFixture(t, tc.mode, tc.path, tc.env)
		if r.passed {
			t.Fatalf("%s %s: the fixture passed:\n%s", tc.mode, tc.path, r.out)
		}
		want := fmt.Sprintf("check_test.go:%d: ", calls[tc.mode])
		for _, w := range tc.want {
			if !strings.Contains(r.out, want+w) {
				t.Errorf("%s %s: no %q in the output:\n%s", tc.mode, tc.path, want+w, r.out)
			}
		}
		// Every attributed line names the caller's file: none names one of
		// the library's (check.go, report.go, options.go, update.go, ...).
		for _, m := range regexp.MustCompile(`(?m)^\s+(\w+\.go):(\d+): `).FindAllStringSubmatch(r.out, -1) {
			if m[1] != "check_test.go" || m[2] != fmt.Sprint(calls[tc.mode]) {
				t.Errorf("%s %s: a message is attributed to %s:%s, not to the cmdtest call at check_test.go:%d:\n%s",
					tc.mode, tc.path, m[1], m[2], calls[tc.mode], r.out)
				break
			}
		}
	}
}

// fixtureCallLines finds the lines of TestFixture's cmdtest calls, by mode.
func fixtureCallLines(t *testing.T) map[string]int {
	t.Helper()
	src, err := os.ReadFile("check_test.go")
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for i, l := range strings.Split(string(src), "\n") {
		switch strings.TrimSpace(l) {
		case "cmdtest.CheckFile(t, path, opts...)":
			calls["file"] = i + 1
		case "cmdtest.CheckDir(t, path, opts...)":
			calls["dir"] = i + 1
		case "cmdtest.CheckText(t, string(src), opts...)":
			calls["string"] = i + 1
		}
	}
	if len(calls) != 3 {
		t.Fatalf("TestFixture's calls not found: %v", calls)
	}
	return calls
}
