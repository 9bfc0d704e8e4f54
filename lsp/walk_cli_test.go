package lsp

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.lsp.dev/protocol"
)

// TestCLIAndServerResolveDepsAlike checks the one-walker promise end to
// end: `transcript deps` (the real binary) and the language server resolve
// the same declarations after `cd a && ...`, `pushd`/`popd` and a subshell
// to the same paths.
func TestCLIAndServerResolveDepsAlike(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the transcript binary")
	}
	dir := workspaceDir(t, map[string]string{
		"go.mod":       "module example.com/w\n",
		"a/x.txt":      "a\n",
		"a/b/y.txt":    "b\n",
		"z.txt":        "z\n",
		"a/sub/w.txt":  "w\n",
		"a/sub/ww.txt": "ww\n",
	})
	src := strings.Join([]string{
		"$ cd a && true",
		"% dep file x.txt", // 1
		"$ pushd b >/dev/null",
		"% dep file y.txt", // 3
		"$ popd >/dev/null; (cd sub)",
		"% dep glob sub/*.txt", // 5
		"$ cd .. && ls z.txt",
		"1 z.txt",
		"% dep file z.txt", // 8
		"",
	}, "\n")
	path := filepath.Join(dir, "t.cmdt")
	writeFiles(t, dir, map[string]string{"t.cmdt": src})

	bin := filepath.Join(t.TempDir(), "transcript")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/transcript").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "deps", "--json", path).Output()
	if err != nil {
		t.Fatalf("transcript deps: %v", err)
	}
	var cli struct {
		Deps []struct {
			Path string `json:"path"`
			Line int    `json:"line"`
		} `json:"deps"`
	}
	if err := json.Unmarshal(out, &cli); err != nil {
		t.Fatalf("deps --json: %v\n%s", err, out)
	}
	cliPath := map[int]string{}
	for _, d := range cli.Deps {
		cliPath[d.Line] = d.Path
	}
	want := map[int]string{
		2: filepath.Join(dir, "a/x.txt"), 4: filepath.Join(dir, "a/b/y.txt"),
		6: filepath.Join(dir, "a/sub/*.txt"), 9: filepath.Join(dir, "z.txt"),
	}

	c := newTestClient(t)
	c.initialize(dir, "")
	u := pathURI(path)
	c.open(u, "cmdt", src)
	c.waitDiagnostics(u, 1)
	for line, w := range want {
		if cliPath[line] != w {
			t.Errorf("CLI: line %d resolves to %q, want %q", line, cliPath[line], w)
		}
		var h *protocol.Hover
		c.mustCall(protocol.MethodTextDocumentHover, posParams(u, uint32(line-1), 12), &h)
		if h == nil || !strings.Contains(h.Contents.Value, w) {
			t.Errorf("server: line %d hover does not name %q: %+v", line, w, h)
		}
	}
}

// A glob's `!(PATTERN)` exclusions: the server resolves the same matches
// as the engine (ResolveDep), its hover says what is excluded, and an
// excluded file is not covered.
func TestGlobExclusionInServer(t *testing.T) {
	dir := workspaceDir(t, map[string]string{
		"src/a.py":                          "x = 1\n",
		"src/__pycache__/a.cpython-311.pyc": "\x00",
	})
	src := "% dep glob src/** !(**/__pycache__/**)\n$ cat src/a.py src/__pycache__/a.cpython-311.pyc\n"
	c := newTestClient(t)
	c.initialize(dir, "")
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	diags := c.waitDiagnostics(u, 1)
	var h *protocol.Hover
	c.mustCall(protocol.MethodTextDocumentHover, posParams(u, 0, 13), &h)
	if h == nil || !strings.Contains(h.Contents.Value, "1 file(s) (excluding `**/__pycache__/**`)") || strings.Contains(h.Contents.Value, ".pyc") {
		t.Errorf("hover = %+v", h)
	}
	// The heuristic: a.py is covered, the excluded bytecode is not.
	var undeclared []string
	for _, d := range diags {
		if d.Code == CodeUndeclared {
			undeclared = append(undeclared, d.Message)
		}
	}
	if len(undeclared) != 1 || !strings.Contains(undeclared[0], "a.cpython-311.pyc") || strings.Contains(undeclared[0], "a.py,") {
		t.Errorf("undeclared = %q", undeclared)
	}
}
