package cache_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/engine/trace"
	"github.com/cmdt-dev/cmdt/internal/nginxtest"
	"github.com/cmdt-dev/cmdt/parser"
)

// A result recorded by a mode that saw less (untraced: --trace=off, or
// tracing unavailable) is never trusted by a check that traces: the file
// a subprocess read is not in its manifest, so "nothing changed" would be
// a guess. The untraced check still trusts it: that is the documented
// hazard of --trace=off (docs/caching.md), asserted here so it stays a
// known one.
func TestUntracedResultNotTrustedByTracedCheck(t *testing.T) {
	l, why, err := trace.NewLauncher("auto", nil)
	if err != nil || l == nil {
		t.Skipf("tracing unavailable here: %v %v", why, err)
	}
	f := newFixture(t)
	f.write("data.txt", "one\n")
	f.write("t.cmdt", lines("$ sh -c 'cat data.txt'", "1 one"))
	f.record("t.cmdt") // untraced: f.launcher is nil
	traced := f.target("t.cmdt")
	traced.ObservedBy = engine.ObservedBy(l)
	if traced.ObservedBy == engine.Untraced || traced.ObservedBy == "traced" {
		t.Fatalf("ObservedBy(trace launcher) = %q", traced.ObservedBy)
	}
	untraced := f.target("t.cmdt")
	untraced.ObservedBy = engine.Untraced

	if v := f.lookupTarget(traced); v.State != cache.Stale || len(v.Reasons) != 1 || v.Reasons[0] != "recorded untraced, checked traced" {
		t.Fatalf("traced lookup of an untraced result: %s %q", v.State, v.Reasons)
	}
	if v := f.lookupTarget(untraced); v.State != cache.Fresh {
		t.Fatalf("untraced lookup: %s %q", v.State, v.Reasons)
	}
	f.write("data.txt", "two\n")
	if v := f.lookupTarget(untraced); v.State != cache.Fresh {
		t.Fatalf("documented --trace=off hazard changed: untraced lookup after an edit of a file only a subprocess reads is %s", v.State)
	}
	f.write("data.txt", "one\n")

	// Recorded traced, the result serves both modes and sees the file.
	f.launcher = l
	f.record("t.cmdt")
	for _, tg := range []cache.Target{traced, untraced} {
		if v := f.lookupTarget(tg); v.State != cache.Fresh {
			t.Fatalf("%s lookup of a traced result: %s %q", tg.ObservedBy, v.State, v.Reasons)
		}
	}
	f.write("data.txt", "two\n")
	if v := f.lookupTarget(traced); v.State != cache.Stale {
		t.Fatalf("traced lookup after the edit: %s", v.State)
	}
}

// TestUntracedRemoteResultNotTrusted: the same through a shared remote
// cache: machine A records untraced, machine B (another checkout, an
// empty cache directory) checks traced and does not take A's result; once
// B has recorded a traced one, A's traced lookups take B's.
func TestUntracedRemoteResultNotTrusted(t *testing.T) {
	l, why, err := trace.NewLauncher("auto", nil)
	if err != nil || l == nil {
		t.Skipf("tracing unavailable here: %v %v", why, err)
	}
	srv := nginxtest.StartTB(t)
	write := func(root string) {
		for rel, content := range map[string]string{
			"go.mod":   "module example.com/obs\n",
			"data.txt": "one\n",
			"t.cmdt":   lines("$ sh -c 'cat data.txt'", "1 one"),
		} {
			if err := os.WriteFile(filepath.Join(root, rel), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		settle()
	}
	run := func(m *machine, launcher engine.Launcher) {
		t.Helper()
		tg := m.target("t.cmdt")
		src, err := os.ReadFile(tg.Path)
		if err != nil {
			t.Fatal(err)
		}
		res, err := engine.Run(context.Background(), parser.Parse(tg.Path, src), engine.Options{Env: m.env, ModuleRoot: m.root, Launcher: launcher})
		if err != nil || !res.Passed() {
			t.Fatalf("run: %v", err)
		}
		if err := m.cache.Record(context.Background(), tg, res); err != nil {
			t.Fatalf("record: %v", err)
		}
	}
	lookup := func(m *machine, mode string) cache.Verdict {
		t.Helper()
		tg := m.target("t.cmdt")
		tg.ObservedBy = mode
		v, err := m.cache.Lookup(context.Background(), tg)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	rootA, rootB := t.TempDir(), t.TempDir()
	write(rootA)
	write(rootB)
	a := newMachine(t, rootA, srv.URL, true)
	b := newMachine(t, rootB, srv.URL, true)
	run(a, nil)
	if v := lookup(b, engine.Untraced); v.State != cache.Fresh {
		t.Fatalf("B untraced: %s %q; want A's result", v.State, v.Reasons)
	}
	if v := lookup(b, "ptrace"); v.State != cache.Stale {
		t.Fatalf("B traced: %s; an untraced result from the remote was trusted", v.State)
	}
	run(b, l)
	a2 := newMachine(t, rootA, srv.URL, true) // a fresh local cache on A
	if v := lookup(a2, "ptrace"); v.State != cache.Fresh {
		t.Fatalf("A traced after B recorded traced: %s %q", v.State, v.Reasons)
	}
}
