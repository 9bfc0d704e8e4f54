#!/usr/bin/env bash
# Install what the test suite needs beyond Go, idempotently: a second run
# takes seconds. Needs root for apt; npm packages go into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== go mod download"
go mod download
echo "== nginx (remote cache tests against a real Bazel-protocol HTTP cache)"
bash .ci/nginx.sh
echo "== npm: the reference LSP client for the conformance test"
npm ci --prefix lsp/conformance --no-audit --no-fund
