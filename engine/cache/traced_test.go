package cache_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/trace"
)

// TestUndeclaredTracedInputs extends the mutation suite to what only
// tracing sees: a file a subprocess reads with no declaration, and a file
// a program looks for that does not exist yet.
func TestUndeclaredTracedInputs(t *testing.T) {
	l, why, err := trace.NewLauncher(traceSetting(), nil)
	if err != nil || l == nil {
		t.Skipf("tracing unavailable here: %v %v", why, err)
	}
	f := newFixture(t)
	f.launcher = l
	f.write("fixture.json", "{\"n\": 1}\n")
	f.write("t.cmdt", lines(
		"$ cat fixture.json",
		"1 {\"n\": 1}",
		"$ sh -c 'test -e tool.conf && echo configured || echo default'",
		"1 default",
	))
	f.record("t.cmdt")
	f.wantFresh("t.cmdt")

	f.write("fixture.json", "{\"n\": 2}\n")
	f.wantStale("t.cmdt", "fixture.json changed")
	f.write("fixture.json", "{\"n\": 1}\n")
	f.wantFresh("t.cmdt")

	f.write("tool.conf", "x\n")
	f.wantStale("t.cmdt", "tool.conf created")
}

func tracedFixture(t *testing.T) *fixture {
	t.Helper()
	l, why, err := trace.NewLauncher(traceSetting(), nil)
	if err != nil || l == nil {
		t.Skipf("tracing unavailable here: %v %v", why, err)
	}
	f := newFixture(t)
	f.launcher = l
	return f
}

// TestTracedListing: a listing is keyed on the names the program saw, not
// judged "changed while it ran"; a new or removed name re-runs it, an
// edit of a listed file's content does not.
func TestTracedListing(t *testing.T) {
	f := tracedFixture(t)
	f.write("d/a.txt", "a\n")
	f.write("d/sub/b.txt", "b\n")
	f.write("t.cmdt", lines("$ ls d", "1 a.txt", "1 sub"))
	f.record("t.cmdt")
	f.wantFresh("t.cmdt")
	f.write("d/a.txt", "changed, but ls prints names only\n")
	f.wantFresh("t.cmdt")
	f.write("d/c.txt", "c\n")
	f.wantStale("t.cmdt", "d/ gained d/c.txt")
	f.remove("d/c.txt")
	f.wantFresh("t.cmdt")
	f.remove("d/sub/b.txt")
	f.remove("d/sub")
	f.wantStale("t.cmdt", "d/ lost d/sub")
}

// TestRunOutputsAreNotInputs: what the run writes into a listed
// directory, and a program it builds and then runs, are outputs: the
// result is cached after one pass and stays fresh.
func TestRunOutputsAreNotInputs(t *testing.T) {
	f := tracedFixture(t)
	f.write("d/a.txt", "a\n")
	f.write("t.cmdt", lines(
		"$ ls d",
		"1 a.txt",
		"$ sh -c 'ls d >/dev/null; date > d/stamp; printf \"#!/bin/sh\\necho built\\n\" > d/tool; chmod +x d/tool'",
		"$ ./d/tool",
		"1 built",
		"$ D=$(mktemp -d) && echo x > $D/f && cat $D/f && rm -r $D",
		"1 x",
	))
	f.record("t.cmdt")
	// The run's leftovers (d/stamp, d/tool) are outputs: still fresh.
	f.wantFresh("t.cmdt")
	f.write("d/b.txt", "b\n")
	f.wantStale("t.cmdt", "d/ gained d/b.txt")
}

// TestEnvReadOnlyBySubprocess: a variable read only by a subprocess
// (`sh -c 'echo $BAR'`, which the shell session never expands) re-runs the
// transcript when it changes: in the default mode every inherited
// variable is an input. Session-volatile variables are not passed and not
// keyed. In --env=declared mode the subprocess does not see BAR at all.
func TestEnvReadOnlyBySubprocess(t *testing.T) {
	f := newFixture(t)
	f.env = append(f.env, "BAR=bar", "SSH_CONNECTION=1.2.3.4 5 6.7.8.9 22")
	f.write("t.cmdt", lines("$ sh -c 'echo $BAR; echo ${SSH_CONNECTION:-none}'", "1 bar", "1 none"))
	f.record("t.cmdt")
	f.wantFresh("t.cmdt")
	f.env[len(f.env)-1] = "SSH_CONNECTION=another login"
	f.wantFresh("t.cmdt")
	f.env[len(f.env)-2] = "BAR=baz"
	f.wantStale("t.cmdt", "env BAR changed")
	f.env = f.env[:len(f.env)-2]
	f.wantStale("t.cmdt", "env BAR unset")

	f.envMode = engine.EnvDeclared
	f.env = append(f.env, "BAR=bar")
	f.write("d.cmdt", lines("$ sh -c 'echo ${BAR:-unseen}'", "1 unseen"))
	f.record("d.cmdt")
	f.env[len(f.env)-1] = "BAR=baz"
	f.wantFresh("d.cmdt")
	f.write("e.cmdt", lines("% dep env BAR", "$ sh -c 'echo $BAR'", "1 baz"))
	f.record("e.cmdt")
	f.env[len(f.env)-1] = "BAR=bar"
	f.wantStale("e.cmdt", "env BAR changed")
}

// TestShellsOwnLookups: what the shell does itself, in this process where
// no tracer sees it, is an input too: a test of a file's existence or
// size, a glob it expands, a program `command -v` looks for, and a read
// through /proc/self/cwd by a subprocess.
func TestShellsOwnLookups(t *testing.T) {
	f := tracedFixture(t)
	f.write("f.txt", "x\n")
	f.write("g/a.txt", "a\n")
	f.write("p.txt", "p\n")
	f.write("t.cmdt", lines(
		"$ test -e conf && echo configured || echo default",
		"1 default",
		"$ [ -s f.txt ] && echo nonempty",
		"1 nonempty",
		"$ echo g/*.txt",
		"1 g/a.txt",
		"$ command -v cmdt-no-such-tool || echo none",
		"1 none",
		"$ sh -c 'cat /proc/self/cwd/p.txt'",
		"1 p",
	))
	f.record("t.cmdt")
	f.wantFresh("t.cmdt")

	f.write("conf", "")
	f.wantStale("t.cmdt", "conf created")
	f.remove("conf")
	f.wantFresh("t.cmdt")

	f.write("f.txt", "")
	f.wantStale("t.cmdt", "f.txt changed")
	f.write("f.txt", "x\n")
	f.wantFresh("t.cmdt")

	f.write("p.txt", "P\n")
	f.wantStale("t.cmdt", "p.txt changed")
	f.write("p.txt", "p\n")
	f.wantFresh("t.cmdt")

	f.write("g/b.txt", "b\n")
	f.wantStale("t.cmdt", "g/ gained g/b.txt")
	f.remove("g/b.txt")
	f.wantFresh("t.cmdt")

	bin := t.TempDir()
	f.env[0] = "PATH=" + bin + ":" + f.env[0][len("PATH="):]
	f.wantStale("t.cmdt", "env PATH changed")
	f.record("t.cmdt")
	if err := os.WriteFile(filepath.Join(bin, "cmdt-no-such-tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.wantStale("t.cmdt", "exe cmdt-no-such-tool created ("+filepath.Join(bin, "cmdt-no-such-tool")+")")
}
