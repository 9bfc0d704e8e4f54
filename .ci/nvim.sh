#!/usr/bin/env bash
# Installs Neovim (Debian's package: 0.7.2 on bookworm) for the headless
# plugin test in editors/nvim/test/run.sh. Idempotent: does nothing when an
# `nvim` is already on PATH. Runs as root (CI) or via sudo.
set -euo pipefail

if command -v nvim >/dev/null 2>&1; then
  echo "[nvim.sh] $(nvim --version | head -1) already installed" >&2
  exit 0
fi

log() { printf '[nvim.sh] %s\n' "$*" >&2; }
. "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
apt_install neovim
echo "[nvim.sh] $(nvim --version | head -1) installed" >&2
