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
