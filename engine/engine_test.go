package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/parser"
)

func parseFile(t *testing.T, path string) *parser.File {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := parser.Parse(path, src)
	if len(f.Errors) > 0 {
		t.Fatal(f.Errors)
	}
	return f
}

// writeTranscript writes src as name in a fresh module (a go.mod marks
// the root) and parses it.
func writeTranscript(t *testing.T, name, src string) (*parser.File, string) {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/t\n"), 0o644)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return parseFile(t, path), dir
}

func run(t *testing.T, f *parser.File, opts Options) *Result {
	t.Helper()
	res, err := Run(context.Background(), f, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The compatibility corpus covers every opcode, directive form and edge
// case of the spec; each file must pass unchanged, and updating it must
// change nothing, CRLF line endings included.
func TestCompatCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/compat/*.cmdt")
	if len(files) < 10 {
		t.Fatalf("corpus has %d files", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f := parseFile(t, path)
			res := run(t, f, Options{})
			for _, c := range res.Failures() {
				t.Errorf("%s", c.Failure.Error())
			}
			plan, err := PlanUpdate(res)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Edits) != 0 || string(plan.Source) != string(f.Bytes()) {
				t.Errorf("update of a passing transcript changes it: %+v", plan.Edits)
			}
			for _, fw := range plan.Files {
				old, _ := os.ReadFile(fw.Path)
				if string(old) != string(fw.Data) {
					t.Errorf("update would rewrite %s", fw.Path)
				}
			}
		})
	}
}

// `exit` ends its command only: what follows still runs and a wrong
// expectation after it fails the transcript (spec §2). It used to end the
// session and skip the rest silently.
func TestExitDoesNotSkipLaterCommands(t *testing.T) {
	res := run(t, parseFile(t, "testdata/compat/exit.cmdt"), Options{})
	if len(res.Commands) != 5 || !res.Passed() {
		t.Fatalf("commands=%d passed=%v", len(res.Commands), res.Passed())
	}
	f, _ := writeTranscript(t, "x.cmdt", "$ exit 0\n\n$ echo wrong\n1 expected\n")
	res = run(t, f, Options{})
	if fails := res.Failures(); len(fails) != 1 || fails[0].Failure.Line != 3 {
		t.Fatalf("failures = %v", fails)
	}
}

func TestAllFailuresReported(t *testing.T) {
	f, _ := writeTranscript(t, "f.cmdt", "$ echo a\n1 b\n\n$ echo ok\n1 ok\n\n$ false\n\n$ echo x; exit 3\n1 y\n? 4\n")
	res := run(t, f, Options{})
	fails := res.Failures()
	if len(fails) != 3 {
		t.Fatalf("failures = %d", len(fails))
	}
	want := []int{1, 7, 9}
	for i, c := range fails {
		if c.Failure.Line != want[i] {
			t.Errorf("failure %d on line %d, want %d", i, c.Failure.Line, want[i])
		}
	}
	if !strings.Contains(fails[0].Failure.Diff, "-1 b\n+1 a") {
		t.Errorf("diff = %q", fails[0].Failure.Diff)
	}
	if f := fails[1].Failure; !f.StatusMismatch || f.GotStatus != 1 || f.WantStatus != 0 || f.Diff != "" {
		t.Errorf("status failure = %+v", f)
	}
	if f := fails[2].Failure; !f.StatusMismatch || f.GotStatus != 3 || f.Diff == "" {
		t.Errorf("combined failure = %+v", f)
	}
}

func TestSyntaxErrorsRefuseToRun(t *testing.T) {
	f := parser.Parse("bad.cmdt", []byte("$ touch should-not-exist\n1 x\nbogus\n"))
	if _, err := Run(context.Background(), f, Options{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "bad.cmdt:3") {
		t.Fatalf("err = %v", err)
	}
}

func TestMissingExpectFile(t *testing.T) {
	f, _ := writeTranscript(t, "m.cmdt", "$ echo hi\n1< nope.txt\n")
	res := run(t, f, Options{})
	fails := res.Failures()
	if len(fails) != 1 || fails[0].Failure.Err == nil || !strings.Contains(fails[0].Failure.Err.Error(), "line 2: expected-output file nope.txt does not exist") {
		t.Fatalf("failures = %+v", fails)
	}
}

func TestUpdateKeepsEverythingElse(t *testing.T) {
	src := "# header comment\n\n% dep env HOME\n$ echo one; echo two >&2\n1 stale\n% dep file x\n\n$ printf 'x'\n1 x\n\n# trailing\n$ sh -c 'exit 2'\n"
	f, dir := writeTranscript(t, "u.cmdt", src)
	res := run(t, f, Options{})
	plan, err := PlanUpdate(res)
	if err != nil {
		t.Fatal(err)
	}
	want := "# header comment\n\n% dep env HOME\n$ echo one; echo two >&2\n2 two\n1 one\n% dep file x\n\n$ printf 'x'\n1 x\n% no-newline\n\n# trailing\n$ sh -c 'exit 2'\n? 2\n"
	if string(plan.Source) != want {
		t.Fatalf("updated:\n%s\nwant:\n%s", plan.Source, want)
	}
	path := filepath.Join(dir, "u.cmdt")
	if _, err := WriteUpdate(path, plan, dir); err != nil {
		t.Fatal(err)
	}
	res = run(t, parseFile(t, path), Options{})
	if !res.Passed() {
		t.Fatalf("updated transcript fails: %v", res.Failures()[0].Failure)
	}
}

func TestUpdateBinaryFiles(t *testing.T) {
	src := "$ printf 'a\\000b'\n\n$ printf 'c\\000d'\n\n$ mkdir -p d && cd d && printf 'e\\000f'\n\n$ printf 'g\\000h' >&2\n2< kept.bin\n"
	f, dir := writeTranscript(t, "b.cmdt", src)
	os.WriteFile(filepath.Join(dir, "001.bin"), []byte("taken"), 0o644)
	res := run(t, f, Options{})
	plan, err := PlanUpdate(res)
	if err != nil {
		t.Fatal(err)
	}
	want := "$ printf 'a\\000b'\n1< 002.bin\n\n$ printf 'c\\000d'\n1< 003.bin\n\n$ mkdir -p d && cd d && printf 'e\\000f'\n1< ../004.bin\n\n$ printf 'g\\000h' >&2\n2< kept.bin\n"
	if string(plan.Source) != want {
		t.Fatalf("updated:\n%s\nwant:\n%s", plan.Source, want)
	}
	path := filepath.Join(dir, "b.cmdt")
	written, err := WriteUpdate(path, plan, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 5 {
		t.Errorf("written = %v", written)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "d", "kept.bin")); string(data) != "g\x00h" {
		t.Errorf("kept.bin = %q", data)
	}
	// Run again: passes, and a second update writes nothing.
	res = run(t, parseFile(t, path), Options{})
	if !res.Passed() {
		t.Fatalf("after update: %v", res.Failures()[0].Failure)
	}
	plan, _ = PlanUpdate(res)
	written, err = WriteUpdate(path, plan, dir)
	if err != nil || len(written) != 0 {
		t.Fatalf("second update wrote %v (%v)", written, err)
	}
}

func TestUpdateRefusesOutsideRoot(t *testing.T) {
	f, dir := writeTranscript(t, "o.cmdt", "$ cd / && printf 'x\\000'\n1< tmp/cmdt-outside-root.bin\n")
	res := run(t, f, Options{})
	plan, err := PlanUpdate(res)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "o.cmdt")
	before, _ := os.ReadFile(path)
	if _, err := WriteUpdate(path, plan, dir); err == nil || !strings.Contains(err.Error(), "outside the module root") {
		t.Fatalf("err = %v", err)
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Fatal("transcript changed by a refused update")
	}
	if _, err := os.Stat("/tmp/cmdt-outside-root.bin"); err == nil {
		t.Fatal("wrote outside the root")
	}
}

// processesWith lists live processes whose command line contains marker.
func processesWith(marker string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(data), marker) {
			found = append(found, e.Name()+": "+strings.ReplaceAll(string(data), "\x00", " "))
		}
	}
	return found
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	marker := "cmdt-timeout-marker"
	f, _ := writeTranscript(t, "t.cmdt", "$ sh -c 'sleep 30 & sleep 31; : "+marker+"'\n\n$ echo after\n1 after\n")
	start := time.Now()
	res := run(t, f, Options{Timeout: 300 * time.Millisecond})
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
	c := res.Commands[0]
	if !c.TimedOut || c.Failure == nil || !c.Failure.TimedOut {
		t.Fatalf("timed out = %v, failure %+v", c.TimedOut, c.Failure)
	}
	if res.Commands[1].Failure != nil {
		t.Fatalf("the session did not go on after a timeout: %v", res.Commands[1].Failure)
	}
	time.Sleep(100 * time.Millisecond)
	if left := processesWith(marker); len(left) > 0 {
		t.Fatalf("orphans left: %v", left)
	}
	// The background "sleep 30" has no marker; check its group is gone too.
	if left := processesWith("sleep 30"); len(left) > 0 {
		t.Fatalf("orphans left: %v", left)
	}
}

func TestCancelStopsRun(t *testing.T) {
	marker := "cmdt-cancel-marker"
	f, _ := writeTranscript(t, "c.cmdt", "$ sh -c 'sleep 29; : "+marker+"'\n\n$ echo never\n")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	res, err := Run(ctx, f, Options{})
	if err == nil || len(res.Commands) != 1 {
		t.Fatalf("err = %v, commands = %d", err, len(res.Commands))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("cancel took %v", d)
	}
	if left := processesWith(marker); len(left) > 0 {
		t.Fatalf("orphans left: %v", left)
	}
}

func TestObservedInputs(t *testing.T) {
	src := "$ echo \"$CMDT_TEST_VAR $CMDT_UNSET_VAR\"\n1 val \n\n$ cat < in.txt\n1 in\n\n$ echo made > out.txt; cat < out.txt\n1 made\n\n$ sh -c true\n\n$ ./tool.sh\n1 tool\n\n$ echo e\n1< exp.txt\n\n$ LOCAL=1; echo $LOCAL\n1 1\n"
	f, dir := writeTranscript(t, "o.cmdt", src)
	os.WriteFile(filepath.Join(dir, "in.txt"), []byte("in\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "exp.txt"), []byte("e\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "tool.sh"), []byte("#!/bin/sh\necho tool\n"), 0o755)
	res := run(t, f, Options{Env: append(os.Environ(), "CMDT_TEST_VAR=val")})
	if !res.Passed() {
		t.Fatalf("%v", res.Failures()[0].Failure)
	}
	got := map[string]Input{}
	for _, in := range res.Observed {
		got[in.Key()] = in
	}
	expect := map[string]Origin{
		"env:CMDT_TEST_VAR":                     OriginEnvLookup,
		"env:CMDT_UNSET_VAR":                    OriginEnvLookup,
		"file:" + filepath.Join(dir, "in.txt"):  OriginRedirect,
		"exe:" + filepath.Join(dir, "tool.sh"):  OriginExec,
		"file:" + filepath.Join(dir, "exp.txt"): OriginExpectFile,
	}
	for key, origin := range expect {
		in, ok := got[key]
		if !ok || in.Origin != origin {
			t.Errorf("missing %s (%v); observed %v", key, origin, res.Observed)
		}
	}
	if in := got["env:CMDT_UNSET_VAR"]; in.Exists {
		t.Error("unset variable recorded as set")
	}
	if _, ok := got["file:"+filepath.Join(dir, "out.txt")]; ok {
		t.Error("a file the transcript wrote is not an input")
	}
	foundSh := false
	for _, in := range res.Observed {
		if in.Kind == InputExe && in.Name == "sh" && in.Exists && filepath.IsAbs(in.Path) {
			foundSh = true
		}
	}
	if !foundSh {
		t.Errorf("program found on PATH not recorded: %v", res.Observed)
	}
}

func TestDeclaredInputs(t *testing.T) {
	res := run(t, parseFile(t, "testdata/compat/deps.cmdt"), Options{})
	kinds := map[InputKind]int{}
	for _, in := range res.Declared {
		kinds[in.Kind]++
		if in.Kind != InputEnv && !filepath.IsAbs(in.Path) && !strings.HasPrefix(in.Path, "PATH:") {
			t.Errorf("not absolute: %+v", in)
		}
	}
	for _, k := range []InputKind{InputFile, InputDir, InputGlob, InputEnv, InputExe, InputDepfile} {
		if kinds[k] == 0 {
			t.Errorf("no %s input in %v", k, res.Declared)
		}
	}
}

func TestSessionDirs(t *testing.T) {
	f := parser.Parse("", []byte("% dep file a\n$ cd sub\n% dep file b\n$ cd \"$X\"\n% dep file c\n"+
		"$ cd /w && make -s\n% dep file d\n$ pushd x && pushd y\n% dep file e\n$ popd\n% dep file f\n"+
		"$ (cd z)\n% dep file g\n$ true || cd q\n% dep file h\n"))
	dirs := SessionDirs(f, "/root")
	want := map[int]string{1: "/root", 3: "/root/sub", 5: "", 7: "/w", 9: "/w/x/y", 11: "/w/x", 13: "/w/x", 15: ""}
	for line, w := range want {
		if dirs[line-1] != w {
			t.Errorf("line %d: dir %q, want %q", line, dirs[line-1], w)
		}
	}
}

func TestIsBinary(t *testing.T) {
	cases := map[string]bool{"hello\n": false, "a\x00b": true, "\x1b[31mred\x1b[0m\n": false, "\xff\xfe\xfd\xfc": true, "": false, "héllo ✓\n": false}
	for in, want := range cases {
		if IsBinary([]byte(in)) != want {
			t.Errorf("IsBinary(%q) = %v", in, !want)
		}
	}
}

func TestFilesWrittenLaterAreNotInputs(t *testing.T) {
	f, dir := writeTranscript(t, "w.cmdt", "$ cat < state.txt\n1 old\n\n$ echo new > state.txt\n")
	os.WriteFile(filepath.Join(dir, "state.txt"), []byte("old\n"), 0o644)
	res := run(t, f, Options{})
	for _, in := range res.Observed {
		if in.Path == filepath.Join(dir, "state.txt") {
			t.Fatalf("a file the run overwrote is recorded as an input: %+v", in)
		}
	}
}

func TestCovered(t *testing.T) {
	decl := []Input{
		{Kind: InputFile, Path: "/m/a.txt", Exists: true},
		{Kind: InputDir, Path: "/m/dir", Exists: true},
		{Kind: InputGlob, Path: "/m/src/**/*.go"},
		{Kind: InputEnv, Name: "FOO"},
		{Kind: InputExe, Path: "/m/bin/tool", Exists: true},
	}
	cases := []struct {
		in   Input
		want bool
	}{
		{Input{Kind: InputFile, Path: "/m/a.txt"}, true},
		{Input{Kind: InputFile, Path: "/m/b.txt"}, false},
		{Input{Kind: InputFile, Path: "/m/dir/x/y"}, true},
		{Input{Kind: InputFile, Path: "/m/dirx"}, false},
		{Input{Kind: InputFile, Path: "/m/src/p/q.go"}, true},
		{Input{Kind: InputFile, Path: "/m/src/p/q.txt"}, false},
		{Input{Kind: InputEnv, Name: "FOO"}, true},
		{Input{Kind: InputEnv, Name: "BAR"}, false},
		{Input{Kind: InputExe, Path: "/m/bin/tool"}, true},
		{Input{Kind: InputFile, Path: "/m/src"}, false},
	}
	for _, c := range cases {
		if got := Covered(decl, c.in); got != c.want {
			t.Errorf("Covered(%v) = %v", c.in, got)
		}
	}
	// A declared listing D/* covers a stat of D (what `ls D` does).
	listing := []Input{{Kind: InputGlob, Path: "/m/sub/*"}}
	if !Covered(listing, Input{Kind: InputFile, Path: "/m/sub"}) {
		t.Error("a stat of a directory whose listing is declared is not covered")
	}
}

func TestIsWithin(t *testing.T) {
	cases := []struct {
		root, path string
		want       bool
	}{
		{"/m", "/m", true}, {"/m", "/m/a/b", true}, {"/m", "/mx", false}, {"/m", "/", false},
		{"/", "/anything", true}, {"", "/m", false}, {"/m/", "/m/a", true}, {"/m", "/m/../x", false},
	}
	for _, c := range cases {
		if got := IsWithin(c.root, c.path); got != c.want {
			t.Errorf("IsWithin(%q, %q) = %v", c.root, c.path, got)
		}
	}
}

// What a block starts in the background ends with the block: its context
// is cancelled when the block is done (and the session's next blocks are
// timed afresh, also after a block timed out).
func TestBackgroundJobEndsWithItsBlock(t *testing.T) {
	src := "$ (sleep 0.3; echo late > out.txt) &\n\n$ sleep 0.6\n\n$ cat out.txt\n2 cat: out.txt: No such file or directory\n? 1\n"
	f, _ := writeTranscript(t, "bg.cmdt", src)
	res := run(t, f, Options{})
	for _, c := range res.Commands {
		if c.Failure != nil {
			t.Fatalf("%s", c.Failure)
		}
	}
}

func TestTimeoutsInSuccessiveBlocks(t *testing.T) {
	src := "$ sleep 5\n\n$ echo fast\n1 fast\n\n$ sleep 5\n\n$ sleep 0.05; echo fast again\n1 fast again\n"
	f, _ := writeTranscript(t, "t.cmdt", src)
	res := run(t, f, Options{Timeout: 200 * time.Millisecond})
	want := []bool{true, false, true, false}
	for i, c := range res.Commands {
		if c.TimedOut != want[i] {
			t.Errorf("command %d: timed out = %v, want %v", i+1, c.TimedOut, want[i])
		}
	}
	for _, i := range []int{1, 3} {
		if res.Commands[i].Failure != nil {
			t.Errorf("command %d: %s", i+1, res.Commands[i].Failure)
		}
	}
}

// TestProgramsReadAnEmptyInput: a program's standard input is /dev/null
// (shared by every command of the process), in a pipeline it is the pipe,
// and a redirection replaces it.
func TestProgramsReadAnEmptyInput(t *testing.T) {
	f, dir := writeTranscript(t, "x.cmdt", strings.Join([]string{
		"$ cat",
		"$ wc -c",
		"1 0",
		"$ readlink /proc/self/fd/0",
		"1 /dev/null",
		"$ readlink /proc/self/fd/0",
		"1 /dev/null",
		"$ echo piped | cat",
		"1 piped",
		"$ cat <in.txt",
		"1 from a file",
		"",
	}, "\n"))
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("from a file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := run(t, f, Options{Dir: dir})
	for _, c := range res.Failures() {
		t.Errorf("line %d: %v (stdout %q, stderr %q)", c.Block.Command.Num, c.Failure, c.Stdout, c.Stderr)
	}
}
