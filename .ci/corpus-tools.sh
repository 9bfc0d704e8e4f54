#!/usr/bin/env bash
# Installs the toolchains the result-cache corpus (cmd/transcript/
# testdata/_cachecorpus) runs besides Go and Node: python3, make, git, tar and
# du (coreutils), from Debian, idempotently: nothing is installed when they
# are all there already.
set -euo pipefail
log() { printf '[corpus-tools.sh] %s\n' "$*" >&2; }
missing=()
for pair in python3:python3 make:make git:git tar:tar du:coreutils; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} = 0 ]; then
  log "python3, make, git, tar, du already installed"
  exit 0
fi
. "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
apt_install "${missing[@]}"
