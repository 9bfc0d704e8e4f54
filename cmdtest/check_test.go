package cmdtest_test

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/cmdtest"
)

func TestCheckDir(t *testing.T) {
	cmdtest.CheckDir(t, "testdata/pass", cmdtest.WithEnv("GREETING=hello"))
}

func TestCheckString(t *testing.T) {
	if !cmdtest.CheckString(t, "$ echo hi; pwd\n1 hi\n1 "+mustGetwd(t)+"\n") {
		t.Error("CheckString returned false on a pass")
	}
}

func TestCheckReaderWithDir(t *testing.T) {
	dir := t.TempDir()
	if !cmdtest.CheckReader(t, "inline.cmdt", strings.NewReader("$ pwd\n1 "+dir+"\n"), cmdtest.WithDir(dir)) {
		t.Error("CheckReader returned false on a pass")
	}
}

func TestWithEnvUnsets(t *testing.T) {
	t.Setenv("CMDT_TEST_UNSET_ME", "set")
	cmdtest.CheckText(t, "$ echo \"[${CMDT_TEST_UNSET_ME-unset}]\"\n1 [unset]\n", cmdtest.WithEnv("CMDT_TEST_UNSET_ME"))
}

func TestWithPath(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "cmdt-test-tool"), []byte("#!/bin/sh\necho \"tool $*\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmdtest.CheckText(t, "$ cmdt-test-tool a b\n1 tool a b\n$ cat /dev/null\n", cmdtest.WithPath(bin))
}

// TestFixture is not a test by itself. The tests below run this test
// binary again with CMDT_FIXTURE set, to see what cmdtest reports to a
// real *testing.T (failures, fatal errors, logs, subtest names) and what
// it records in go test's testlog.
func TestFixture(t *testing.T) {
	mode := os.Getenv("CMDT_FIXTURE")
	if mode == "" {
		t.Skip("run by other tests in a subprocess")
	}
	path := os.Getenv("CMDT_FIXTURE_PATH")
	var opts []cmdtest.Option
	if e := os.Getenv("CMDT_FIXTURE_ENV"); e != "" {
		opts = append(opts, cmdtest.WithEnv(strings.Split(e, "\n")...))
	}
	if p := os.Getenv("CMDT_FIXTURE_PATHDIR"); p != "" {
		opts = append(opts, cmdtest.WithPath(p))
	}
	if d := os.Getenv("CMDT_FIXTURE_TIMEOUT"); d != "" {
		timeout, err := time.ParseDuration(d)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, cmdtest.WithTimeout(timeout))
	}
	switch mode {
	case "file":
		cmdtest.CheckFile(t, path, opts...)
	case "dir":
		cmdtest.CheckDir(t, path, opts...)
	case "string":
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cmdtest.CheckText(t, string(src), opts...)
	default:
		t.Fatalf("unknown CMDT_FIXTURE mode %q", mode)
	}
}

// fixtureRun is the outcome of running TestFixture in a subprocess.
type fixtureRun struct {
	out    string
	passed bool
	// testlog holds the lines of go test's testlog ("stat /path"), when
	// asked for.
	testlog []string
}

// runFixture runs TestFixture in mode on path, with env added to the
// subprocess environment ("CMDT_FIXTURE_ENV=..." and the like) and args
// added to the test binary's flags.
func runFixture(t *testing.T, mode, path string, env []string, args ...string) fixtureRun {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	logfile := filepath.Join(t.TempDir(), "testlog.txt")
	cmd := exec.CommandContext(t.Context(), exe, append([]string{"-test.run=^TestFixture$", "-test.v", "-test.testlogfile=" + logfile}, args...)...)
	cmd.Env = append(withoutEnv(os.Environ(), "CMDT_UPDATE"), "CMDT_FIXTURE="+mode, "CMDT_FIXTURE_PATH="+path)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run fixture: %v\n%s", err, out)
	}
	run := fixtureRun{out: string(out), passed: err == nil}
	if data, err := os.ReadFile(logfile); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			run.testlog = append(run.testlog, sc.Text())
		}
	}
	return run
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || name == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func wantContains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestReportsEveryFailure(t *testing.T) {
	r := runFixture(t, "file", "testdata/fail/two.cmdt", nil)
	if r.passed {
		t.Fatalf("fixture passed:\n%s", r.out)
	}
	wantContains(t, r.out,
		"testdata/fail/two.cmdt:2: $ echo one",
		"-1 uno",
		"+1 one",
		"testdata/fail/two.cmdt:8: $ echo three; (exit 3)",
		"exit status: want 0, got 3",
	)
	if strings.Contains(r.out, "two.cmdt:5:") {
		t.Errorf("the passing command was reported:\n%s", r.out)
	}
}

func TestSyntaxErrorsAreFatalAndAllListed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.cmdt")
	writeFile(t, path, "$ echo ok\n1 ok\n! what\n\n1 orphan\n$ echo never run\n")
	r := runFixture(t, "file", path, nil)
	if r.passed {
		t.Fatalf("fixture passed:\n%s", r.out)
	}
	wantContains(t, r.out, "2 syntax error(s)", path+":3:", path+":5:")
	if strings.Contains(r.out, "never run") && !strings.Contains(r.out, "syntax error") {
		t.Errorf("commands ran despite syntax errors:\n%s", r.out)
	}
}

func TestCheckDirSubtestNames(t *testing.T) {
	r := runFixture(t, "dir", "testdata/pass", []string{"CMDT_FIXTURE_ENV=GREETING=hello"})
	if !r.passed {
		t.Fatalf("fixture failed:\n%s", r.out)
	}
	wantContains(t, r.out, "--- PASS: TestFixture/a.cmdt", "--- PASS: TestFixture/sub/b.cmdt")
	if strings.Contains(r.out, "x.cmdt") {
		t.Errorf("a skipped directory ran:\n%s", r.out)
	}
}

func TestCheckDirEmptyIsAnError(t *testing.T) {
	r := runFixture(t, "dir", t.TempDir(), nil)
	if r.passed {
		t.Fatalf("fixture passed on an empty directory:\n%s", r.out)
	}
	wantContains(t, r.out, "no *.cmdt files under")
}

func TestTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slow.cmdt")
	writeFile(t, path, "$ sleep 10\n")
	start := time.Now()
	r := runFixture(t, "file", path, []string{"CMDT_FIXTURE_TIMEOUT=300ms"})
	if r.passed {
		t.Fatalf("fixture passed:\n%s", r.out)
	}
	wantContains(t, r.out, "slow.cmdt:1: $ sleep 10", "command timed out and was killed")
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("took %v: the timeout did not kill the command", d)
	}
}

const failing = `# comment kept
$ echo new
1 old

% dep env HOME
$ printf 'a\nb'; (exit 2)
`

const updated = `# comment kept
$ echo new
1 new

% dep env HOME
$ printf 'a\nb'; (exit 2)
1 a
1 b
% no-newline
? 2
`

func TestUpdate(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{name: "env", env: []string{"CMDT_UPDATE=1"}},
		{name: "flag", args: []string{"-cmdt.update"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "u.cmdt")
			writeFile(t, path, failing)
			r := runFixture(t, "file", path, tc.env, tc.args...)
			if !r.passed {
				t.Fatalf("update run failed:\n%s", r.out)
			}
			wantContains(t, r.out, "cmdt: updated "+path)
			if got := readFile(t, path); got != updated {
				t.Errorf("updated transcript:\n%s\nwant:\n%s", got, updated)
			}
			if r := runFixture(t, "file", path, nil); !r.passed {
				t.Errorf("the updated transcript fails:\n%s", r.out)
			}
		})
	}
}

func TestUpdateOffAndInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.cmdt")
	writeFile(t, path, failing)
	if r := runFixture(t, "file", path, []string{"CMDT_UPDATE=0"}); r.passed || readFile(t, path) != failing {
		t.Errorf("CMDT_UPDATE=0 updated or passed:\n%s", r.out)
	}
	r := runFixture(t, "file", path, []string{"CMDT_UPDATE=please"})
	if r.passed || readFile(t, path) != failing {
		t.Errorf("CMDT_UPDATE=please updated or passed:\n%s", r.out)
	}
	wantContains(t, r.out, `CMDT_UPDATE="please": want a boolean`)
}

func TestUpdateNotAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.cmdt")
	writeFile(t, path, failing)
	r := runFixture(t, "string", path, []string{"CMDT_UPDATE=1"})
	if r.passed {
		t.Fatalf("fixture passed:\n%s", r.out)
	}
	wantContains(t, r.out, "<string>:2: $ echo new", "cannot rewrite <string>")
}

func TestWarnsAboutInputsOutsideTheModule(t *testing.T) {
	dir := t.TempDir() // outside this module
	writeFile(t, filepath.Join(dir, "dep.txt"), "v1\n")
	path := filepath.Join(dir, "outside.cmdt")
	writeFile(t, path, "% dep file dep.txt\n$ cat dep.txt\n1 v1\n")
	r := runFixture(t, "file", path, nil)
	if !r.passed {
		t.Fatalf("fixture failed:\n%s", r.out)
	}
	wantContains(t, r.out, "outside the module root", "file "+filepath.Join(dir, "dep.txt")+" (line 1, declared)")
	// cat is a program from a system directory: not worth a warning.
	if strings.Contains(r.out, "exe /") {
		t.Errorf("warned about a system program:\n%s", r.out)
	}
}

// TestTestlog checks what go test would see: the testlog the test binary
// writes when go test runs it, for a transcript using every input kind.
func TestTestlog(t *testing.T) {
	dir, err := filepath.Abs("testdata/visible")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CMDT_TEST_VAR", "from-process")
	t.Setenv("CMDT_TEST_OVERRIDDEN", "from-process")
	r := runFixture(t, "file", "testdata/visible/visible.cmdt", []string{
		"CMDT_FIXTURE_ENV=CMDT_TEST_OVERRIDDEN=from-option",
		"CMDT_FIXTURE_PATHDIR=" + filepath.Join(dir, "bin"),
	})
	if !r.passed {
		t.Fatalf("fixture failed:\n%s", r.out)
	}
	log := map[string]bool{}
	for _, l := range r.testlog {
		log[l] = true
	}
	abs := func(p string) string { return filepath.Join(dir, p) }
	for _, want := range []string{
		"getenv CMDT_TEST_VAR",
		"getenv CMDT_UPDATE", // so leaving update mode re-runs
		"stat " + abs("data.txt"),
		"stat " + abs("deps.txt"),
		"open " + abs("deps.txt"), // the engine reads the depfile
		"stat " + abs("listed.txt"),
		"stat " + abs("tree"),
		"stat " + abs("tree/a.txt"),
		"stat " + abs("tree/sub"),
		"stat " + abs("tree/sub/b.txt"),
		"stat " + abs("globbed"),
		"stat " + abs("globbed/deep"),
		"stat " + abs("globbed/x.txt"),
		"stat " + abs("globbed/deep/y.txt"),
		"stat " + abs("bin/tool"),
	} {
		if !log[want] {
			t.Errorf("testlog lacks %q", want)
		}
	}
	for _, unwanted := range []string{
		// Its value came from WithEnv, i.e. from the test's source.
		"getenv CMDT_TEST_OVERRIDDEN",
		// Declared files are stat'ed, never opened.
		"open " + abs("data.txt"),
		"open " + abs("listed.txt"),
		"open " + abs("tree/a.txt"),
		"open " + abs("globbed/x.txt"),
	} {
		if log[unwanted] {
			t.Errorf("testlog has %q", unwanted)
		}
	}
	if t.Failed() {
		t.Logf("testlog:\n%s", strings.Join(r.testlog, "\n"))
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// Parallel subtests updating transcripts in one directory must not give
// two new binary outputs the same file name.
func TestUpdateDirParallelBinaryOutputs(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a", "b", "c", "d"} {
		writeFile(t, filepath.Join(dir, name+".cmdt"), "$ printf '"+name+"\\000'\n")
	}
	r := runFixture(t, "dir", dir, []string{"CMDT_UPDATE=1"})
	if !r.passed {
		t.Fatalf("update run failed:\n%s", r.out)
	}
	refs := map[string]string{}
	for _, name := range []string{"a", "b", "c", "d"} {
		ref := strings.TrimSpace(strings.TrimPrefix(strings.Split(readFile(t, filepath.Join(dir, name+".cmdt")), "\n")[1], "1< "))
		if other, dup := refs[ref]; dup {
			t.Errorf("%s.cmdt and %s.cmdt both reference %s", name, other, ref)
		}
		refs[ref] = name
		if got := readFile(t, filepath.Join(dir, ref)); got != name+"\x00" {
			t.Errorf("%s: %q, want %q", ref, got, name+"\x00")
		}
	}
	if r := runFixture(t, "dir", dir, nil); !r.passed {
		t.Errorf("updated transcripts fail:\n%s", r.out)
	}
}
