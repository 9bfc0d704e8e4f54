package trace

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// TestAutoTracesWithPtraceWhileEBPFLoads: where eBPF will be used but its
// programs are not loaded, auto loads them in the background and traces
// the first program with ptrace meanwhile; once they are loaded it uses
// eBPF. Whichever traced it, a program's read is observed.
func TestAutoTracesWithPtraceWhileEBPFLoads(t *testing.T) {
	requireMode(t, Options{Mode: ModeEBPF})
	requireMode(t, Options{})
	unloadIdleBPF()
	if bpfLoaded.Load() {
		t.Skip("the programs are in use by another test")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module m\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "fixture.txt"), []byte("data\n"), 0o644)
	l := &Launcher{setting: "auto"}
	l.backend = sync.OnceValue(func() Backend { b, _ := SelectBackend("auto"); return b })
	release := holdLoads(t)
	for range 2 {
		if b := l.launchBackend(); b != whileLoading {
			t.Fatalf("launch while the programs load: %v, want %v", b, whileLoading)
		}
	}
	if name := l.Name(); name != "ebpf" {
		t.Errorf("Name while loading = %q, want the prediction ebpf", name)
	}
	release()
	for deadline := time.Now().Add(10 * time.Second); !l.decided.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the background load did not end")
		}
	}
	if b := l.launchBackend(); b.Name != "ebpf" {
		t.Fatalf("once loaded: %v, want ebpf", b)
	}
	// Both kinds of launch observe a program's read: the first program of
	// a fresh launcher (ptrace while loading), and one once loaded (eBPF).
	unloadIdleBPF()
	l = &Launcher{setting: "auto"}
	l.backend = sync.OnceValue(func() Backend { b, _ := SelectBackend("auto"); return b })
	src := "$ cat fixture.txt\n1 data\n"
	for range 2 {
		f := parser.Parse(filepath.Join(dir, "t.cmdt"), []byte(src))
		res, err := engine.Run(context.Background(), f, engine.Options{Launcher: l, Dir: dir})
		if err != nil || !res.Passed() {
			t.Fatalf("run: %v %v", err, res.Failures())
		}
		found := false
		for _, in := range res.Observed {
			found = found || in.Origin == engine.OriginTraced && in.Path == filepath.Join(dir, "fixture.txt")
		}
		if !found {
			t.Errorf("cat's read of fixture.txt not observed (eBPF loaded: %v): %v", bpfLoaded.Load(), res.Observed)
		}
		for deadline := time.Now().Add(10 * time.Second); !l.decided.Load() && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
}

// TestAutoReloadsInTheBackground: in a long-lived process (the language
// server, check --watch) the programs are unloaded after being idle; the
// next launch reloads them in the background and traces with ptrace
// meanwhile, instead of waiting for the load.
func TestAutoReloadsInTheBackground(t *testing.T) {
	requireMode(t, Options{Mode: ModeEBPF})
	requireMode(t, Options{})
	l := &Launcher{setting: "auto"}
	l.backend = sync.OnceValue(func() Backend { b, _ := SelectBackend("auto"); return b })
	if b := l.Backend(); b.Name != "ebpf" {
		t.Fatalf("auto chose %v", b)
	}
	if err := ptraceAvailable(); err != nil { // probed now, not inside the launch
		t.Skip(err)
	}
	unloadIdleBPF()
	if bpfLoaded.Load() {
		t.Skip("the programs are in use by another test")
	}
	release := holdLoads(t)
	if b := l.launchBackend(); b != whileLoading {
		t.Fatalf("first launch after the programs were unloaded: %v, want %v", b, whileLoading)
	}
	release()
	for deadline := time.Now().Add(10 * time.Second); !bpfLoaded.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the background reload did not end")
		}
	}
	if b := l.launchBackend(); b.Name != "ebpf" {
		t.Fatalf("once reloaded: %v, want ebpf", b)
	}
}

// holdLoads makes loads of the programs wait until release is called, so
// that a launch is known to come while one is in progress.
func holdLoads(t *testing.T) (release func()) {
	gate := make(chan struct{})
	loadBPFHook = func() error { <-gate; return nil }
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(func() {
		release()
		// The load may still be reading the hook.
		bpfState.mu.Lock()
		loadBPFHook = nil
		bpfState.mu.Unlock()
	})
	return release
}
