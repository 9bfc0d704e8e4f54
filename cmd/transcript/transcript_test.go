package main

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cmdt-dev/cmdt/cmdtest"
)

// TestTranscripts is the CLI's own behaviour, written as transcripts under
// testdata/ and run against a freshly built binary (dogfood).
func TestTranscripts(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmdtest.CheckDir(t, "testdata",
		cmdtest.WithPath(bin),
		// mktemp -d in the transcripts lands in the test's temp dir, which
		// the test framework removes; the cache goes there too.
		cmdtest.WithEnv("TMPDIR="+t.TempDir(), "CMDT_CACHE_DIR="+filepath.Join(t.TempDir(), "cache")),
	)
}
