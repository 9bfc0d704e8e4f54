//go:build linux && amd64

package trace

import "testing"

// TestForkEventOrder checks the tracee state for both orders in which the
// kernel may report a new child: its parent's fork event first, or the
// child's own stops first (it may even exec before the fork event).
func TestForkEventOrder(t *testing.T) {
	parent := &tracee{program: "/bin/sh", cwd: "/work", cwdGen: 7}
	const pid = 4242

	// Fork event first: the child inherits, then execs.
	tr := newTracer(Options{}, "/bin/sh", nil, nil)
	tr.forked(parent, pid)
	child := tr.tracees[pid]
	if child.program != "/bin/sh" || child.cwd != "/work" || !child.fresh {
		t.Errorf("child after the fork event: %+v", child)
	}
	child.execed("/usr/bin/cat")
	if child.program != "/usr/bin/cat" {
		t.Errorf("child after exec runs %q", child.program)
	}

	// Child first: a stand-in, which execs before the fork event arrives.
	tr = newTracer(Options{}, "/bin/sh", nil, nil)
	child = &tracee{fresh: true, standIn: true, program: "/usr/bin/dash"}
	tr.setTracee(pid, child)
	child.execed("/usr/bin/cat")
	tr.forked(parent, pid)
	if child.program != "/usr/bin/cat" {
		t.Errorf("a late fork event made the child's program %q, want /usr/bin/cat", child.program)
	}

	// Child first, no exec yet: the fork event names the program.
	tr = newTracer(Options{}, "/bin/sh", nil, nil)
	child = &tracee{fresh: true, standIn: true, program: "/usr/bin/dash"}
	tr.setTracee(pid, child)
	tr.forked(parent, pid)
	if child.program != "/bin/sh" || child.cwd != "/work" {
		t.Errorf("stand-in after the fork event: %+v", child)
	}
}
