#!/usr/bin/env bash
# The Checkdef demo for transcripts: two slow programs, foo and bar (~5 s
# each), each checked by its own transcript that declares its inputs.
#   1. first check: both run;
#   2. nothing changed: both are served from the cache, in well under a second;
#   3. foo's source edited: only foo re-runs, and `transcript status` says why;
#      checking again, both are cached;
#   4. the edit undone: fresh again without a run (the earlier result still holds).
# It uses a throw-away cache directory, and restores foo/main.go on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$here"

bin=${TRANSCRIPT:-}
if [ -z "$bin" ]; then
	(cd "$top" && go build -o bin/transcript ./cmd/transcript)
	bin=$top/bin/transcript
fi
export CMDT_CACHE_DIR=${CMDT_CACHE_DIR:-$(mktemp -d)}
backup=$(mktemp)
cp foo/main.go "$backup"
trap 'cp "$backup" foo/main.go; rm -f "$backup"' EXIT

# Build the programs' dependencies (the Go build cache) once, so timings
# show the programs, not the first compile.
go build -o /dev/null ./foo ./bar

step() { printf '\n== %s\n' "$*"; }
timed() {
	local start end
	start=$(date +%s%N)
	"$@" || true
	end=$(date +%s%N)
	printf -- '-> %d ms wall\n' $(((end - start) / 1000000))
}

step "1. first check: nothing cached, both transcripts run (in parallel)"
timed "$bin" check .

step "2. nothing changed: both cached"
timed "$bin" check .

step "3. edit foo's source (a comment): only foo re-runs"
printf '\n// edited by demo.sh at %s\n' "$(date +%T.%N)" >>foo/main.go
"$bin" status .
timed "$bin" check .

step "3b. check again: the edited state was recorded, both cached"
timed "$bin" check .

step "4. undo the edit: fresh again, from the earlier result"
cp "$backup" foo/main.go
"$bin" status .
timed "$bin" check .
