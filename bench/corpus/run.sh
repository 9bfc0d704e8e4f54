#!/usr/bin/env bash
# Re-checking the result-cache corpus (cmd/transcript/testdata/_cachecorpus:
# 27 real transcripts, go/python3/node/make/git/...) with nothing changed,
# against its uncached run, in the same run (issue 12: <= 5 %). Uncached
# (`check --no-cache`, Go build cache warm) and cached checks are
# interleaved; medians of -n runs each.
# Usage: bench/corpus/run.sh [-n REPEATS] [--trace MODE]
set -euo pipefail
repeats=7
mode=auto
while [ $# -gt 0 ]; do
	case $1 in
	-n) repeats=$2; shift 2 ;;
	--trace) mode=$2; shift 2 ;;
	*) echo "usage: $0 [-n REPEATS] [--trace MODE]" >&2; exit 2 ;;
	esac
done
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$top" && go build -o "$work/transcript" ./cmd/transcript)
cp -a "$top/cmd/transcript/testdata/_cachecorpus" "$work/corpus"
cd "$work/corpus"
export CMDT_CACHE_DIR=$work/cache CORPUS_VAR=one GOTOOLCHAIN=local GOPROXY=off
export GOCACHE=${GOCACHE_CORPUS:-$(go env GOCACHE)/../cmdt-corpus-go-build}
export PATH=$work/corpus/pathdir:$PATH
T=$work/transcript
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
"$T" check --trace="$mode" . >/dev/null # warm the Go build cache, record
"$T" check --trace="$mode" . | tail -1
: >"$work/u"
: >"$work/c"
for _ in $(seq "$repeats"); do
	s=$(date +%s%N)
	"$T" check --no-cache --trace="$mode" . >/dev/null
	ms "$s" >>"$work/u"
	s=$(date +%s%N)
	"$T" check --trace="$mode" . >/dev/null
	ms "$s" >>"$work/c"
done
u=$(median <"$work/u")
c=$(median <"$work/c")
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); --trace=$mode; $repeats runs each, interleaved"
echo "uncached check (--no-cache) median ${u} ms; unchanged re-check median ${c} ms"
awk -v c="$c" -v u="$u" 'BEGIN { r = c / u; printf "ratio %.3f (target <= 0.05: %s)\n", r, (r <= 0.05 ? "ok" : "MISSED") }'
