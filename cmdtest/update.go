package cmdtest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/cmdt-dev/cmdt/engine"
)

// UpdateEnv is the environment variable that turns update mode on
// (CMDT_UPDATE=1 go test ./...). It works across packages, unlike the
// -cmdt.update flag, which `go test ./...` would also pass to test binaries
// that do not import cmdtest (and they reject unknown flags).
const UpdateEnv = "CMDT_UPDATE"

// updateFlag is registered on the default flag set at init, so the testing
// package parses it with its own flags.
var updateFlag = flag.Bool("cmdt.update", false, "rewrite failing .cmdt transcripts to match their actual output instead of failing")

// updateMode reports whether failing transcripts are rewritten.
//
// The variable is read with os.LookupEnv on every call, even when the flag
// is set, so go test records it: a cached "ok" from an update run is not
// replayed once update mode is off. (-cmdt.update needs no such care: go
// test never caches runs with flags it does not know.) The flag is only
// consulted once flags are parsed: before that (in TestMain, before m.Run)
// it holds its default whatever the command line says.
func updateMode() (bool, error) {
	on := false
	if v, ok := os.LookupEnv(UpdateEnv); ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("%s=%q: want a boolean (1, true, 0, false): %w", UpdateEnv, v, err)
		}
		on = b
	}
	return on || (flag.Parsed() && *updateFlag), nil
}

// updateMu serialises updates: CheckDir runs transcripts in parallel, and
// PlanUpdate names new binary output files (001.bin, ...) after the files
// that exist when it runs, so two transcripts in one directory updating at
// once could pick the same name.
var updateMu sync.Mutex

// writeUpdate rewrites the transcript at path (and its expected-output
// files) from res, logging each file written.
func writeUpdate(t testing.TB, path string, res *engine.Result) {
	t.Helper()
	updateMu.Lock()
	defer updateMu.Unlock()
	plan, err := engine.PlanUpdate(res)
	if err != nil {
		t.Errorf("cmdt: update %s: %v", path, err)
		return
	}
	written, err := engine.WriteUpdate(path, plan, res.Root)
	for _, w := range written {
		if rel, err := filepath.Rel(startDir, w); err == nil && filepath.IsLocal(rel) {
			w = rel
		}
		t.Logf("cmdt: updated %s", w)
	}
	if err != nil {
		t.Errorf("cmdt: update %s: %v", path, err)
	}
}
