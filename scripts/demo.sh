#!/usr/bin/env bash
# Build cmdt's binaries into ./bin and run the main job on the examples:
# check the quickstart transcripts with the `transcript` CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== building bin/transcript"
go build -o bin/ ./cmd/transcript
echo "== transcript check examples/quickstart"
bin/transcript check examples/quickstart
