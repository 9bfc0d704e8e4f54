#!/usr/bin/env bash
# Benchmarks the cmdt-lsp binary as an editor sees it (see main.go), then
# the in-process Go benchmarks. Run from anywhere: bash bench/lsp/run.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
go run ./bench/lsp "$@"
go test -run '^$' -bench 'BenchmarkParse100k|BenchmarkDidChangeDiagnostics10k' -benchtime 200x ./lsp/
