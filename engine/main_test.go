package engine

import (
	"os"
	"testing"
)

// TestMain: the engine's tests own every child they start, as the CLI
// does, so the orphan tests see the engine adopt and kill escapees.
func TestMain(m *testing.M) {
	AdoptOrphans()
	os.Exit(m.Run())
}
