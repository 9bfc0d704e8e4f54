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
