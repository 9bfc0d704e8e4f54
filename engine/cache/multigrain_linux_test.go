//go:build linux

package cache

import (
	"os"
	"testing"
)

// TestProbeMultigrain checks the probe against the temporary directory's
// file system. Where it says no (a kernel before 6.13, a file system
// without multigrain timestamps) a re-timed input is not accepted, which
// the corpus's expectations then show; here it only logs.
func TestProbeMultigrain(t *testing.T) {
	dev, ok := probeMultigrain(t.TempDir())
	t.Logf("multigrain timestamps in %s: %v (device %d)", os.TempDir(), ok, dev)
	if _, ok := probeMultigrain("/nonexistent-dir"); ok {
		t.Error("a directory the probe cannot write in reported multigrain")
	}
}
