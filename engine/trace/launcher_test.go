package trace_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/trace"
	"github.com/cmdt-dev/cmdt/parser"
)

// The launcher turns what subprocesses touch into the engine's inputs:
// a fixture read by cat (invisible to the shell), a config file checked
// but absent, a program a script runs; files the transcript wrote are not
// inputs.
func TestLauncherObservesSubprocessReads(t *testing.T) {
	for _, setting := range []string{"ptrace", "ebpf"} {
		t.Run(setting, func(t *testing.T) {
			if _, err := trace.SelectBackend(setting); err != nil {
				t.Skipf("unavailable here: %v", err)
			}
			testLauncherObserves(t, setting)
		})
	}
}

func testLauncherObserves(t *testing.T, setting string) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module m\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "fixture.txt"), []byte("data\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "listed"), 0o755)
	src := "$ cat fixture.txt\n1 data\n\n$ test -e missing.conf || echo none\n1 none\n\n$ sh -c 'echo made > out.txt'; cat out.txt\n1 made\n\n$ ls listed\n"
	path := filepath.Join(dir, "t.cmdt")
	os.WriteFile(path, []byte(src), 0o644)
	f := parser.Parse(path, []byte(src))
	l, why, err := trace.NewLauncher(setting, nil)
	if err != nil || l == nil {
		t.Fatalf("launcher: %v %v", why, err)
	}
	if name := l.(*trace.Launcher).Name(); name != setting {
		t.Errorf("launcher for --trace=%s uses %s", setting, name)
	}
	res, err := engine.Run(context.Background(), f, engine.Options{Launcher: l})
	if err != nil || !res.Passed() {
		t.Fatalf("run: %v %v", err, res.Failures())
	}
	got := map[string]engine.Input{}
	for _, in := range res.Observed {
		if in.Origin == engine.OriginTraced {
			got[in.Key()] = in
		}
	}
	fixture := got["file:"+filepath.Join(dir, "fixture.txt")]
	if !fixture.Exists || !fixture.InRoot || filepath.Base(fixture.Via) != "cat" || fixture.Line != 1 {
		t.Errorf("fixture read by cat: %+v", fixture)
	}
	if in, ok := got["glob:"+filepath.Join(dir, "listed", "*")]; !ok || filepath.Base(in.Via) != "ls" {
		t.Errorf("directory listing not observed: %v", got)
	}
	if _, ok := got["file:"+filepath.Join(dir, "out.txt")]; ok {
		t.Error("a file the transcript wrote is recorded as an input")
	}
	// `test` is a shell builtin here; the absent file is seen only if a
	// program checks it, so check with one.
	res2, _ := engine.Run(context.Background(), parser.Parse(path, []byte("$ sh -c 'test -e missing.conf || echo none'\n1 none\n")), engine.Options{Launcher: l, Dir: dir})
	found := false
	for _, in := range res2.Observed {
		if in.Path == filepath.Join(dir, "missing.conf") && !in.Exists {
			found = true
		}
	}
	if !found {
		t.Errorf("an absent file a program checked is not recorded: %v", res2.Observed)
	}
}

func TestNewLauncherSettings(t *testing.T) {
	if l, _, err := trace.NewLauncher("off", nil); l != nil || err != nil {
		t.Errorf("off: %v %v", l, err)
	}
	if _, _, err := trace.NewLauncher("sometimes", nil); err == nil {
		t.Error("bad setting accepted")
	}
	// auto decides when it first runs a program, not before.
	l, why, err := trace.NewLauncher("auto", nil)
	if err != nil || l == nil || why != nil {
		t.Errorf("auto: %v %v %v", l, why, err)
	}
	for _, setting := range []string{"on", "ebpf", "ptrace", "unotify"} {
		if _, err := trace.SelectBackend(setting); err != nil {
			if _, _, err2 := trace.NewLauncher(setting, nil); err2 == nil {
				t.Errorf("--trace=%s is unavailable (%v) but the launcher was made", setting, err)
			}
			continue
		}
		l, _, err := trace.NewLauncher(setting, nil)
		if err != nil || l == nil {
			t.Errorf("%s: %v", setting, err)
		}
	}
}
