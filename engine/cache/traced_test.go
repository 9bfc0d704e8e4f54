package cache_test

import (
	"testing"

	"github.com/cmdt-dev/cmdt/engine/trace"
)

// TestUndeclaredTracedInputs extends the mutation suite to what only
// tracing sees: a file a subprocess reads with no declaration, and a file
// a program looks for that does not exist yet.
func TestUndeclaredTracedInputs(t *testing.T) {
	l, why, err := trace.NewLauncher("auto", nil)
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
	l, why, err := trace.NewLauncher("auto", nil)
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
