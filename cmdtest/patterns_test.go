package cmdtest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmdt-dev/cmdt/cmdtest"
)

// Pattern lines work through cmdtest as through the CLI: the module root,
// the temp directory, a declared substitution, wildcards and regexps.
func TestPatterns(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/p\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	src := strings.Join([]string{
		"% subst PID regexp [0-9]+",
		"$ cd sub && pwd && echo \"pid $$\" && mktemp -d",
		"1* [ROOT]/sub",
		"1* pid [PID]",
		"1* [TMP]/tmp.[..]",
		"",
		"$ seq 3; date +%s",
		"1 1",
		"1* ...",
		"1~ [0-9]{10,}",
		"",
	}, "\n")
	tmp := t.TempDir()
	if !cmdtest.CheckReader(t, filepath.Join(dir, "p.cmdt"), strings.NewReader(src), cmdtest.WithDir(dir), cmdtest.WithEnv("TMPDIR="+tmp)) {
		t.Error("patterns did not pass")
	}
}
