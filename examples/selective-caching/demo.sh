#!/usr/bin/env bash
# The Checkdef demo for transcripts: two slow programs, foo and bar (~5 s
# each, or $DEMO_SECONDS), each checked by its own transcript that declares
# its inputs.
#   1. first check: both run;
#   2. nothing changed: both are served from the cache, in well under a second;
#   3. foo's source edited: only foo re-runs, and `transcript status` says why;
#      checking again, both are cached;
#   4. the edit undone: fresh again without a run (the earlier result still holds).
# Every claim it prints is checked: a claim that does not hold prints
# "CLAIM FAILED" and the demo exits 1. It runs in the default mode (tracing
# where available, --env=inherit), uses a throw-away cache directory, and
# restores foo/main.go on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$here"

bin=${TRANSCRIPT:-}
if [ -z "$bin" ]; then
	(cd "$top" && go build -o bin/transcript ./cmd/transcript)
	bin=$top/bin/transcript
fi
cachedir=$(mktemp -d)
export CMDT_CACHE_DIR=$cachedir
backup=$(mktemp)
out=$(mktemp)
cp foo/main.go "$backup"
trap 'cp "$backup" foo/main.go; rm -rf "$backup" "$out" "$cachedir"' EXIT

# Build the programs' dependencies (the Go build cache) once, so timings
# show the programs, not the first compile.
go build -o /dev/null ./foo ./bar

failed=0
step() { printf '\n== %s\n' "$*"; }
claim() { # claim DESCRIPTION TEST...: check one printed claim
	local what=$1
	shift
	if "$@"; then
		printf '   ✓ %s\n' "$what"
	else
		printf '   CLAIM FAILED: %s\n' "$what"
		failed=1
	fi
}
has() { grep -qE -- "$1" "$out"; }
ms=0
run() { # run ARGS...: the CLI's output goes to the terminal and to $out
	local start end status=0
	start=$(date +%s%N)
	"$bin" "$@" >"$out" 2>&1 || status=$?
	end=$(date +%s%N)
	ms=$(((end - start) / 1000000))
	cat "$out"
	printf -- '-> %d ms wall\n' "$ms"
	return $status
}
under() { [ "$ms" -lt "$1" ]; }

step "1. first check: nothing cached, both transcripts run (in parallel)"
claim "the check passes" run check .
claim "foo ran" has '^ok  foo\.cmdt \([0-9.]+s\)'
claim "bar ran" has '^ok  bar\.cmdt \([0-9.]+s\)'
claim "both results were cached (no [not cached: ...] note)" eval '! has "not cached"'

step "2. nothing changed: both cached"
claim "the check passes" run check .
claim "foo was served from the cache" has '^ok  foo\.cmdt \(cached\)'
claim "bar was served from the cache" has '^ok  bar\.cmdt \(cached\)'
claim "in well under a second (< 1000 ms)" under 1000

step "3. edit foo's source (a comment): only foo re-runs"
printf '\n// edited by demo.sh at %s\n' "$(date +%T.%N)" >>foo/main.go
run status . || true
claim "status says foo is stale because foo/main.go changed" has '^stale +foo\.cmdt +\(.*foo/main\.go changed'
claim "status says bar is fresh" has '^fresh +bar\.cmdt'
claim "the check passes" run check .
claim "foo re-ran" has '^ok  foo\.cmdt \([0-9.]+s\) \[stale: .*foo/main\.go changed'
claim "bar was served from the cache" has '^ok  bar\.cmdt \(cached\)'

step "3b. check again: the edited state was recorded, both cached"
claim "the check passes" run check .
claim "foo was served from the cache" has '^ok  foo\.cmdt \(cached\)'
claim "bar was served from the cache" has '^ok  bar\.cmdt \(cached\)'

step "4. undo the edit: fresh again, from the earlier result"
cp "$backup" foo/main.go
run status . || true
claim "status says both are fresh" has '^2 transcripts: 2 fresh'
claim "the check passes" run check .
claim "foo was served from the cache" has '^ok  foo\.cmdt \(cached\)'
claim "bar was served from the cache" has '^ok  bar\.cmdt \(cached\)'

if [ "$failed" != 0 ]; then
	printf '\ndemo.sh: a claim did not hold (see CLAIM FAILED above)\n' >&2
	exit 1
fi
printf '\ndemo.sh: every claim held\n'
