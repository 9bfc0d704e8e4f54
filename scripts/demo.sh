#!/usr/bin/env bash
# Build cmdt's binaries into ./bin and run the main job on an example:
# check the quickstart transcripts with the `transcript` CLI, twice — the
# second check is served from the result cache because no input changed —
# then show the inputs the run observed.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== go build -o bin/ ./cmd/transcript ./cmd/cmdt-lsp"
go build -o bin/ ./cmd/transcript ./cmd/cmdt-lsp
export CMDT_CACHE_DIR="${CMDT_CACHE_DIR:-$(mktemp -d)}"
echo "== bin/transcript check examples/quickstart"
bin/transcript check examples/quickstart
echo "== again: nothing changed, so nothing runs"
bin/transcript check examples/quickstart
echo "== bin/transcript deps --observed examples/quickstart/greet.cmdt"
bin/transcript deps --observed examples/quickstart/greet.cmdt
echo
echo "More: examples/selective-caching/demo.sh (two slow programs, only the edited one re-runs)."
