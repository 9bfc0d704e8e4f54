#!/usr/bin/env bash
# Cache benchmarks through the real CLI, each target next to its baseline
# measured in the same run (issue 4):
#   A. unchanged re-check of examples/selective-caching: <= 50 ms wall and
#      <= 0.005x the uncached run (check --no-cache);
#   B. `transcript status` over 1,000 transcripts x 10 declared files
#      (~100 MB), nothing changed: <= 250 ms; and the same with 10x larger
#      files (~1 GB) must cost the same. For contrast, status with the hash
#      memo deleted (every byte read) is shown too.
# Usage: bench/cache/run.sh [-n REPEATS] [--skip-large]
# Writes its scratch files under ${TMPDIR:-/tmp} (about 1.2 GB), removed at exit.
set -euo pipefail
repeats=11
large=1
while [ $# -gt 0 ]; do
	case $1 in
	-n) repeats=$2; shift 2 ;;
	--skip-large) large=0; shift ;;
	*) echo "usage: $0 [-n REPEATS] [--skip-large]" >&2; exit 2 ;;
	esac
done
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=$work/bin
mkdir -p "$bin"
(cd "$top" && go build -o "$bin/transcript" ./cmd/transcript && go build -o "$bin/gentree" ./bench/cache/gentree)
T=$bin/transcript

ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
# median_ms CMD...: runs CMD $repeats times, prints the median wall ms.
median_ms() {
	local i s times=()
	for ((i = 0; i < repeats; i++)); do
		s=$(date +%s%N)
		"$@" >/dev/null 2>&1 || true
		times+=($(ms "$s"))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
verdict() { # verdict VALUE LIMIT
	awk -v v="$1" -v l="$2" 'BEGIN { print (v <= l) ? "ok" : "MISSED" }'
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); go $(go env GOVERSION)"

# --- A. the example -------------------------------------------------------
ex=$top/examples/selective-caching
export CMDT_CACHE_DIR=$work/cache-example
(cd "$ex" && go build -o /dev/null ./foo ./bar) # warm Go's build cache
s=$(date +%s%N)
"$T" check --no-cache "$ex" >/dev/null
uncached=$(ms "$s")
"$T" check "$ex" >/dev/null # records
"$T" check "$ex" | tail -1
cached=$(median_ms "$T" check "$ex")
ratio=$(awk -v c="$cached" -v u="$uncached" 'BEGIN { printf "%.4f", c / u }')
echo
echo "A. example: uncached check ${uncached} ms; unchanged re-check median ${cached} ms (target <= 50: $(verdict "$cached" 50))"
echo "   ratio ${ratio} (target <= 0.005: $(verdict "$ratio" 0.005))"

# --- B. status at scale ------------------------------------------------------
scale() { # scale SIZE LABEL
	local tree=$work/tree-$2
	export CMDT_CACHE_DIR=$work/cache-$2
	"$bin/gentree" -n 1000 -files 10 -size "$1" "$tree"
	(cd "$tree" && "$T" check ./... >/dev/null)
	sleep 2.2 # past the memo's racy window (docs/caching.md)
	(cd "$tree" && "$T" status ./... | tail -1)
	local warm cold
	warm=$(cd "$tree" && median_ms "$T" status ./...)
	s=$(date +%s%N)
	rm -rf "$CMDT_CACHE_DIR/v1/memo"
	(cd "$tree" && "$T" status ./... >/dev/null)
	cold=$(ms "$s")
	echo "B. $2: $(du -sh "$tree" | cut -f1) in 10,000 files: status median ${warm} ms (target <= 250: $(verdict "$warm" 250)); without the memo ${cold} ms"
	rm -rf "$tree" "$CMDT_CACHE_DIR"
	eval "status_$2=$warm"
}
echo
scale 10240 10KiB
if [ "$large" = 1 ]; then
	scale 102400 100KiB
	echo "   10x larger files: ${status_10KiB} ms -> ${status_100KiB} ms"
fi
