package lsp

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.lsp.dev/protocol"
)

// TestDependencyDiagnosticsOnRealToolchains opens each transcript of
// engine/testdata/realdeps (go run, go build, go test, python3, node,
// make, ls, find, grep -r), runs it traced through the server, and checks
// the dependency diagnostics are at most one per command, each with a
// quick fix; with -v it prints the count per transcript (docs/lsp.md and
// the lspdeps note report them against the previous server).
func TestDependencyDiagnosticsOnRealToolchains(t *testing.T) {
	needTrace(t)
	if testing.Short() {
		t.Skip("runs real toolchains")
	}
	for _, tool := range []string{"go", "python3", "node", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	// CMDT_DEPS_CORPUS measures another corpus instead (one transcript per
	// directory, DIR/*/t.cmdt), e.g. the result cache's.
	src, pattern := filepath.Join("..", "engine", "testdata", "realdeps"), "*.cmdt"
	if c := os.Getenv("CMDT_DEPS_CORPUS"); c != "" {
		src, pattern = c, filepath.Join("*", "t.cmdt")
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, pattern))
	sort.Strings(files)
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	var report []string
	for _, path := range files {
		text, _ := os.ReadFile(path)
		u := pathURI(path)
		c.open(u, "cmdt", string(text))
		c.waitDiagnostics(u, 1)
		static := len(depDiags(c.latestDiagnostics(u)))
		n := c.publications(u)
		name, _ := filepath.Rel(dir, path)
		if out := c.mustExecute(CommandRun, string(u)); out.Status != OutcomePassed {
			t.Errorf("%s: run = %+v", name, out)
		}
		c.waitUntil("the run's publication", func() bool { return c.publications(u) > n })
		diags := depDiags(c.latestDiagnostics(u))
		perLine := map[uint32]int{}
		for _, d := range diags {
			perLine[d.Range.Start.Line]++
			if perLine[d.Range.Start.Line] > 1 {
				t.Errorf("%s: two dependency diagnostics on line %d", name, d.Range.Start.Line+1)
			}
			if len(c.quickFixes(u, d.Range)) == 0 {
				t.Errorf("%s: no quick fix for %q", name, d.Message)
			}
		}
		var msgs []string
		for _, d := range diags {
			msgs = append(msgs, d.Message[:min(60, len(d.Message))])
		}
		report = append(report, name+": "+itoa(static)+" before a run, "+itoa(len(diags))+" after ("+strings.Join(msgs, " | ")+")")
	}
	t.Log("dependency diagnostics per transcript:\n" + strings.Join(report, "\n"))
}

func depDiags(ds []protocol.Diagnostic) []protocol.Diagnostic {
	var out []protocol.Diagnostic
	for _, d := range ds {
		if d.Code == CodeUndeclared || d.Code == CodeUndeclaredObserved {
			out = append(out, d)
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
