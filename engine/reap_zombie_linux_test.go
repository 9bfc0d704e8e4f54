package engine

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/parser"
)

// TestAdoptedOrphansAreReaped: the engine process is a child subreaper, so
// what a command leaves in the background comes back to it when the
// command's group is killed. A long-running process (the language server,
// check --watch) must reap them, not collect a zombie for each.
func TestAdoptedOrphansAreReaped(t *testing.T) {
	src := "$ sh -c 'sleep 0.2 &'\n" +
		"$ sh -c 'setsid sleep 0.1 &'\n" +
		"$ sh -c '(sleep 0.1; true) & sleep 0.01'\n" +
		"$ (sleep 0.1 &)\n"
	f := parser.Parse("bg.cmdt", []byte(src))
	for i := 0; i < 3; i++ {
		if _, err := Run(context.Background(), f, Options{Dir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
	}
	// Orphans that die after a session's end are reaped when the next
	// session that ran a program ends.
	time.Sleep(500 * time.Millisecond)
	if _, err := Run(context.Background(), parser.Parse("next.cmdt", []byte("$ /bin/true\n")), Options{Dir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	for pid, p := range scanProcs() {
		// Zombies that do not lead their group: adopted, never waited for
		// by an exec.Cmd.
		if p.PPid == self && p.State == 'Z' && pid != p.Pgid {
			t.Errorf("zombie child %d (group %d, session %d) left unreaped", pid, p.Pgid, p.Sid)
		}
	}
}
