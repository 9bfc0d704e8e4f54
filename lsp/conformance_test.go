package lsp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestConformance runs lsp/conformance/run.js: the reference client
// library (vscode-languageserver-protocol + vscode-jsonrpc, as used by the
// VS Code extension) drives the built server through a whole session.
// It needs Node and `npm ci --prefix lsp/conformance`; without them it
// skips, saying so.
func TestConformance(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH: conformance run skipped")
	}
	if _, err := os.Stat(filepath.Join("conformance", "node_modules", "vscode-languageserver-protocol")); err != nil {
		t.Skip("conformance client not installed: run `npm ci --prefix lsp/conformance` (from the repository root) to enable this test")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "cmdt-lsp")
	if out, err := exec.Command(goBin, "build", "-o", bin, "github.com/cmdt-dev/cmdt/cmd/cmdt-lsp").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(node, "run.js", bin)
	cmd.Dir = "conformance"
	// The server's result cache: never the user's.
	cmd.Env = append(os.Environ(), "CMDT_CACHE_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("conformance run:\n%s", out)
	if err != nil {
		t.Fatalf("conformance run failed: %v", err)
	}
	if !strings.Contains(string(out), " 0 failed") {
		t.Fatalf("unexpected conformance summary")
	}
}
