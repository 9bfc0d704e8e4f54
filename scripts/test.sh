#!/usr/bin/env bash
# Run every test: Go unit, integration and end-to-end tests (including
# real `go test` subprocesses), then the editor tests in real editors.
# Missing test dependencies (apt/npm packages) are installed first when
# running as root; set CMDT_SKIP_INSTALL=1 to skip that step.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${CMDT_SKIP_INSTALL:-}" != 1 ]; then
	bash scripts/install-test-deps.sh
fi
echo "== go vet ./..."
go vet ./...
echo "== go test ./..."
go test ./...
echo "== building bin/cmdt-lsp and bin/transcript for the editor tests"
go build -o bin/ ./cmd/cmdt-lsp ./cmd/transcript
echo "== the selective-caching demo checks every claim it prints"
DEMO_SECONDS=1 TRANSCRIPT="$PWD/bin/transcript" bash examples/selective-caching/demo.sh
echo "== Neovim plugin: headless tests in a real Neovim"
CMDT_LSP="$PWD/bin/cmdt-lsp" editors/nvim/test/run.sh
echo "== VS Code extension: unit tests, then end-to-end in a real VS Code"
export CMDT_TOOLS_DIR="${CMDT_TOOLS_DIR:-$HOME/.cache/cmdt-vscode-tools}"
(cd editors/vscode && npm test && CMDT_E2E_STRICT=1 CMDT_LSP="$PWD/../../bin/cmdt-lsp" npm run e2e)
