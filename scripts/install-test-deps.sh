#!/usr/bin/env bash
# Install what the test suite needs beyond Go, idempotently: a second run
# takes seconds. Needs root for apt; npm packages go into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== go mod download"
go mod download
echo "== toolchains the dependency tests run (python3, make, node), when missing"
missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v make >/dev/null || missing+=(make)
command -v node >/dev/null || missing+=(nodejs)
if ((${#missing[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
echo "== python3, make, git, tar, du: the toolchains of the result-cache corpus (Go and Node come with the rest)"
bash .ci/corpus-tools.sh
echo "== nginx (remote cache tests against a real Bazel-protocol HTTP cache)"
bash .ci/nginx.sh
echo "== npm: the reference LSP client for the conformance test"
npm ci --prefix lsp/conformance --no-audit --no-fund
echo "== VS Code e2e tools: Node 24, code-server, chromium, playwright-core"
export CMDT_TOOLS_DIR="${CMDT_TOOLS_DIR:-$HOME/.cache/cmdt-vscode-tools}"
bash .ci/vscode-tools.sh
echo "== npm: the VS Code extension's build and test dependencies"
npm ci --prefix editors/vscode --no-audit --no-fund
echo "== neovim (Debian's 0.7) for the Neovim plugin's headless tests"
bash .ci/nvim.sh
