package cmdtest_test

import (
	"testing"

	"github.com/cmdt-dev/cmdt/cmdtest"
)

// The compatibility corpus (engine/testdata/compat: one transcript per
// documented behaviour of the origin tool, plus cmdt's differences) passes
// through go test as it does through the engine and the CLI
// (cmd/transcript/testdata/compat.cmdt).
func TestCompatCorpus(t *testing.T) {
	cmdtest.CheckDir(t, "../engine/testdata/compat")
}
