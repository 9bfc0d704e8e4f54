package main

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cmdt-dev/cmdt/cmdtest"
	"github.com/cmdt-dev/cmdt/engine/trace"
)

// TestTranscripts is the CLI's own behaviour, written as transcripts under
// testdata/ and run against a freshly built binary (dogfood).
func TestTranscripts(t *testing.T) {
	bin := buildBinary(t)
	cmdtest.CheckDir(t, "testdata",
		cmdtest.WithPath(bin),
		// mktemp -d in the transcripts lands in the test's temp dir, which
		// the test framework removes; the cache goes there too.
		cmdtest.WithEnv("TMPDIR="+t.TempDir(), "CMDT_CACHE_DIR="+filepath.Join(t.TempDir(), "cache")),
	)
}

// TestTracedTranscripts are CLI behaviours that need the binary to trace
// its own runs (check --strict-deps, deps --observed --write): the outer
// check does not trace, since a traced process cannot trace another.
func TestTracedTranscripts(t *testing.T) {
	if err := trace.Available(); err != nil {
		t.Skipf("tracing unavailable: %v", err)
	}
	bin := buildBinary(t)
	cmdtest.CheckDir(t, "testdata/_traced",
		cmdtest.WithPath(bin),
		cmdtest.WithTrace("off"),
		cmdtest.WithEnv("TMPDIR="+t.TempDir(), "CMDT_CACHE_DIR="+filepath.Join(t.TempDir(), "cache")),
	)
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
