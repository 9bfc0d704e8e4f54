package cache_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/parser"
)

// The product's core promise: every kind of input change makes the next
// lookup stale, naming the input, and nothing else does.

// declaredFixture has a transcript reading a declared file, a declared
// file that does not exist yet, a glob, a directory, an env var and a
// depfile whose entry is a file.
func declaredFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.write("testdata/in.txt", "one\n")
	f.write("src/a.go", "package a\n")
	f.write("conf/x.conf", "x=1\n")
	f.write("deps.txt", lines("# inputs", "file extra.txt"))
	f.write("extra.txt", "extra\n")
	f.write("t.cmdt", lines(
		"% dep file testdata/in.txt testdata/opt.txt conf",
		"% dep glob src/**",
		"% dep env GREETING",
		"% depfile deps.txt",
		"$ cat testdata/in.txt",
		"1 one",
	))
	f.record("t.cmdt")
	return f
}

func TestUnchangedIsFresh(t *testing.T) {
	f := declaredFixture(t)
	f.wantFresh("t.cmdt")
	f.wantFresh("t.cmdt") // a lookup changes nothing
	f.reopen()
	f.wantFresh("t.cmdt") // nor does a new process
}

func TestTouchWithoutChangeIsFresh(t *testing.T) {
	f := declaredFixture(t)
	future := time.Now().Add(time.Hour)
	for _, p := range []string{"testdata/in.txt", "src/a.go", "extra.txt", "deps.txt"} {
		if err := os.Chtimes(f.path(p), future, future); err != nil {
			t.Fatal(err)
		}
	}
	f.write("conf/x.conf", "x=1\n") // rewritten with the same content
	f.wantFresh("t.cmdt")           // content hashes, not times, decide
}

func TestDeclaredFileEdited(t *testing.T) {
	f := declaredFixture(t)
	f.write("testdata/in.txt", "two\n")
	f.wantStale("t.cmdt", "testdata/in.txt changed")
}

func TestDeclaredFileCreated(t *testing.T) {
	f := declaredFixture(t)
	f.write("testdata/opt.txt", "now here\n")
	f.wantStale("t.cmdt", "testdata/opt.txt created")
}

func TestDeclaredFileDeleted(t *testing.T) {
	f := declaredFixture(t)
	f.remove("testdata/in.txt")
	f.wantStale("t.cmdt", "testdata/in.txt deleted")
}

func TestGlobGainsLosesChanges(t *testing.T) {
	f := declaredFixture(t)
	f.write("src/sub/b.go", "package b\n")
	f.wantStale("t.cmdt", "glob src/** gained src/sub/b.go")
	f.record("t.cmdt")
	f.wantFresh("t.cmdt")

	f.remove("src/a.go")
	f.wantStale("t.cmdt", "glob src/** lost src/a.go")
	f.record("t.cmdt")

	f.write("src/sub/b.go", "package b // edited\n")
	f.wantStale("t.cmdt", "src/sub/b.go changed")
}

func TestDirGainsAndChanges(t *testing.T) {
	f := declaredFixture(t)
	f.write("conf/y.conf", "y=1\n")
	f.write("conf/x.conf", "x=2\n")
	f.wantStale("t.cmdt", "dir conf gained conf/y.conf", "conf/x.conf changed")
	os.RemoveAll(f.path("conf"))
	f.wantStale("t.cmdt", "dir conf deleted")
}

func TestDepfileAndEntryEdited(t *testing.T) {
	f := declaredFixture(t)
	f.write("extra.txt", "changed\n")
	f.wantStale("t.cmdt", "extra.txt changed")
	f.write("deps.txt", lines("file other.txt"))
	f.wantStale("t.cmdt", "extra.txt changed", "deps.txt changed")
}

func TestDeclaredEnvChanged(t *testing.T) {
	f := declaredFixture(t)
	f.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + f.root, "GREETING=bonjour"}
	f.wantStale("t.cmdt", "env GREETING changed")
	f.env = f.env[:2]
	f.wantStale("t.cmdt", "env GREETING unset")
}

func TestTranscriptEdited(t *testing.T) {
	f := declaredFixture(t)
	tg := f.target("t.cmdt")
	src, _ := os.ReadFile(tg.Path)
	tg.Source = append(src, "# a comment\n"...) // an unsaved editor buffer
	if v := f.lookupTarget(tg); v.State != cache.Stale || strings.Join(v.Reasons, ",") != "transcript changed" {
		t.Fatalf("unsaved buffer: %s %q, want stale [transcript changed]", v.State, v.Reasons)
	}
	f.wantFresh("t.cmdt") // the file on disk did not change
	f.write("t.cmdt", string(tg.Source))
	f.wantStale("t.cmdt", "transcript changed")
}

func TestToolVersionChanged(t *testing.T) {
	f := declaredFixture(t)
	old := engine.Version
	engine.Version = old + "+next"
	defer func() { engine.Version = old }()
	f.wantStale("t.cmdt", "tool version changed")
}

func TestObservedInputs(t *testing.T) {
	f := newFixture(t)
	f.write("data.txt", "from a redirect\n")
	f.write("expected.txt", "expected\n")
	f.write("t.cmdt", lines(
		"$ read line < data.txt; echo \"$line\"",
		"1 from a redirect",
		"$ echo \"$GREETING\"",
		"1 hello",
		"$ echo expected",
		"1< expected.txt",
		"$ true $MISSING_VAR",
	))
	res := f.record("t.cmdt")
	var kinds []string
	for _, in := range res.Observed {
		kinds = append(kinds, in.Origin.String()+":"+in.String())
	}
	t.Logf("observed: %q", kinds)
	f.wantFresh("t.cmdt")

	f.write("data.txt", "edited\n")
	f.wantStale("t.cmdt", "data.txt changed")
	f.write("data.txt", "from a redirect\n")
	f.wantFresh("t.cmdt") // back to the recorded content: fresh again

	f.write("expected.txt", "other\n")
	f.wantStale("t.cmdt", "expected.txt changed")
	f.write("expected.txt", "expected\n")

	f.env = append(f.env[:2], "GREETING=hi")
	f.wantStale("t.cmdt", "env GREETING changed")
	f.env = append(f.env[:2], "GREETING=hello", "MISSING_VAR=1")
	f.wantStale("t.cmdt", "env MISSING_VAR set")
}

// TestExeRebuilt builds a real program, runs it from a transcript (as an
// observed exec and a declared exe), rebuilds it differently.
func TestExeRebuilt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program")
	}
	f := newFixture(t)
	build := func(msg string) {
		f.write("tool/main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\""+msg+"\") }\n")
		cmd := exec.Command("go", "build", "-o", f.path("bin/tool"), "./tool")
		cmd.Dir = f.root
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	build("v1")
	f.write("t.cmdt", lines("% dep exe bin/tool", "$ bin/tool", "1 v1"))
	f.record("t.cmdt")
	f.wantFresh("t.cmdt")
	build("v2")
	f.wantStale("t.cmdt", "exe bin/tool changed")
}

func TestExeOnPathCreated(t *testing.T) {
	f := newFixture(t)
	bin := t.TempDir()
	f.env[0] = "PATH=" + bin + ":" + os.Getenv("PATH")
	f.write("t.cmdt", lines("$ cmdt-test-missing-tool", "2 \"cmdt-test-missing-tool\": executable file not found in $PATH", "? 127"))
	res := f.run("t.cmdt")
	if !res.Passed() {
		t.Skipf("engine reports a missing program differently: %v", res.Failures()[0].Failure)
	}
	f.record("t.cmdt")
	f.wantFresh("t.cmdt")
	if err := os.WriteFile(filepath.Join(bin, "cmdt-test-missing-tool"), []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	v := f.lookup("t.cmdt")
	if v.State != cache.Stale || len(v.Reasons) != 1 || !strings.HasPrefix(v.Reasons[0], "exe cmdt-test-missing-tool created") {
		t.Fatalf("got %s %q, want stale exe created", v.State, v.Reasons)
	}
}

func TestFailureIsNeverCached(t *testing.T) {
	f := declaredFixture(t)
	f.write("testdata/in.txt", "two\n")
	res := f.run("t.cmdt")
	if res.Passed() {
		t.Fatal("expected a failure")
	}
	if err := f.cache.Record(context.Background(), f.target("t.cmdt"), res); err != nil {
		t.Fatal(err)
	}
	f.wantStale("t.cmdt", "last run failed")
	f.write("testdata/in.txt", "one\n") // back to the passing state
	f.wantStale("t.cmdt", "last run failed")
	f.record("t.cmdt")
	f.wantFresh("t.cmdt")
}

func TestNeverRun(t *testing.T) {
	f := newFixture(t)
	f.write("t.cmdt", lines("$ echo hi", "1 hi"))
	if v := f.lookup("t.cmdt"); v.State != cache.NeverRun || v.Manifest != nil {
		t.Fatalf("got %+v, want never-run", v)
	}
}

func TestInputChangedDuringRunNotRecorded(t *testing.T) {
	f := newFixture(t)
	f.write("in.txt", "a\n")
	f.write("t.cmdt", lines("% dep file in.txt", "$ echo b > in.txt"))
	settle()
	res := f.run("t.cmdt")
	err := f.cache.Record(context.Background(), f.target("t.cmdt"), res)
	if !errors.Is(err, cache.ErrNotRecorded) || !strings.Contains(err.Error(), "in.txt") {
		t.Fatalf("Record: %v, want ErrNotRecorded naming in.txt", err)
	}
	if v := f.lookup("t.cmdt"); v.State != cache.NeverRun {
		t.Fatalf("got %s, want never-run", v.State)
	}
}

// TestVariants: switching back to a state that passed before is fresh
// without a re-run, as after checking out a branch and back.
func TestVariants(t *testing.T) {
	f := declaredFixture(t)
	a, _ := os.ReadFile(f.path("t.cmdt"))
	f.write("t.cmdt", string(a)+"$ echo b\n1 b\n")
	f.record("t.cmdt")
	f.write("t.cmdt", string(a))
	f.wantFresh("t.cmdt")
	f.write("testdata/in.txt", "two\n")
	f.wantStale("t.cmdt", "testdata/in.txt changed")
}

// TestRelocatedCheckout: manifests hold root-relative paths, so the same
// module checked out elsewhere (another machine, a CI workspace) is fresh.
func TestRelocatedCheckout(t *testing.T) {
	f := declaredFixture(t)
	// Sharing between checkouts (and machines) is what --env=declared is
	// for: in the default mode HOME is an input like any variable.
	f.envMode = engine.EnvDeclared
	f.record("t.cmdt")
	moved := filepath.Join(t.TempDir(), "elsewhere")
	if out, err := exec.Command("cp", "-a", f.root, moved).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	f.root = moved
	f.env[1] = "HOME=" + moved
	f.wantFresh("t.cmdt")
	f.write("src/a.go", "package a // moved and edited\n")
	f.wantStale("t.cmdt", "src/a.go changed")
}

func TestEnvValueNeverStored(t *testing.T) {
	f := newFixture(t)
	secret := "s3cr3t-value-for-the-test"
	f.env = append(f.env, "TOKEN="+secret)
	f.write("t.cmdt", lines("% dep env TOKEN", "$ test -n \"$TOKEN\""))
	f.record("t.cmdt")
	raw, err := os.ReadFile(f.entryFile("t.cmdt"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret) {
		t.Fatal("entry contains the env value in clear")
	}
	f.wantFresh("t.cmdt")

	// Under an HMAC key, hashes differ from the plain ones: the lookup
	// says so instead of pretending the variable changed.
	t.Setenv(cache.EnvKey, "a-team-secret")
	f.reopen()
	f.wantStale("t.cmdt", "env hashing key changed")
	f.record("t.cmdt")
	f.wantFresh("t.cmdt")

	// Without env inputs, the key does not matter (in the default mode,
	// every result is keyed on the inherited environment).
	f.envMode = engine.EnvDeclared
	f.write("u.cmdt", lines("$ echo u", "1 u"))
	f.record("u.cmdt")
	t.Setenv(cache.EnvKey, "")
	f.reopen()
	f.wantFresh("u.cmdt")
}

func TestCorruptEntryIsAMiss(t *testing.T) {
	f := declaredFixture(t)
	p := f.entryFile("t.cmdt")
	good, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"truncated": good[:len(good)-7],
		"flipped":   append(append([]byte{}, good[:len(good)-3]...), 'X', 'Y', 'Z'),
		"empty":     {},
		"garbage":   []byte("not an entry at all"),
	} {
		if err := os.WriteFile(p, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if v := f.lookup("t.cmdt"); v.State != cache.NeverRun {
			t.Errorf("%s entry: %s, want never-run", name, v.State)
		}
	}
	os.WriteFile(p, good, 0o644)
	f.wantFresh("t.cmdt")
}

func TestCancelledRunNotRecorded(t *testing.T) {
	f := newFixture(t)
	f.write("t.cmdt", lines("$ echo a", "1 a", "$ sleep 5", "$ echo b", "1 b"))
	settle()
	src, _ := os.ReadFile(f.path("t.cmdt"))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, _ := engine.Run(ctx, parser.Parse(f.path("t.cmdt"), src), engine.Options{Env: f.env, ModuleRoot: f.root})
	if res == nil {
		t.Fatal("no partial result")
	}
	err := f.cache.Record(context.Background(), f.target("t.cmdt"), res)
	if !errors.Is(err, cache.ErrNotRecorded) {
		t.Fatalf("Record of a cancelled run: %v, want ErrNotRecorded", err)
	}
	if v := f.lookup("t.cmdt"); v.State == cache.Fresh {
		t.Fatal("a cancelled run was cached")
	}
}

// TestSelective: a change re-runs only the transcripts depending on it.
func TestSelective(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"foo", "bar"} {
		f.write(n+"/main.go", "package main // "+n+"\n")
		f.write(n+".cmdt", lines("% dep glob "+n+"/**", "$ echo "+n, "1 "+n))
		f.record(n + ".cmdt")
	}
	f.write("foo/main.go", "package main // foo, edited\n")
	f.wantStale("foo.cmdt", "foo/main.go changed")
	f.wantFresh("bar.cmdt")
	f.record("foo.cmdt")
	f.wantFresh("foo.cmdt")
	f.wantFresh("bar.cmdt")
}
