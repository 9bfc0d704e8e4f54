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
	checkEach(t, "testdata", buildBinary(t))
}

// TestTracedTranscripts are CLI behaviours that need the binary to trace
// its own runs (check --strict-deps, deps --observed --write): the outer
// check does not trace, since a traced process cannot trace another.
func TestTracedTranscripts(t *testing.T) {
	if err := trace.Available(); err != nil {
		t.Skipf("tracing unavailable: %v", err)
	}
	checkEach(t, "testdata/_traced", buildBinary(t), cmdtest.WithTrace("off"))
}

// checkEach runs each transcript directly in dir as a parallel subtest
// with its own temp dir and its own result cache: many of them build a
// throwaway module (`module m`, `t.cmdt`) whose cache key would be the
// same, so a shared cache let one transcript's results leak into another's
// expected "(cached)" or "[stale: …]" lines. mktemp -d lands in the test's
// temp dir, which the test framework removes.
func checkEach(t *testing.T, dir, bin string, opts ...cmdtest.Option) {
	files, err := filepath.Glob(filepath.Join(dir, "*.cmdt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts in %s: %v", dir, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			own := append([]cmdtest.Option{
				cmdtest.WithPath(bin),
				cmdtest.WithEnv("TMPDIR="+t.TempDir(), "CMDT_CACHE_DIR="+filepath.Join(t.TempDir(), "cache")),
			}, opts...)
			cmdtest.CheckFile(t, path, own...)
		})
	}
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
