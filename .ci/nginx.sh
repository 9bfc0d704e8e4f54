#!/usr/bin/env bash
# Installs Debian's nginx (built with the WebDAV module) for the remote-cache
# tests in engine/cache, idempotently. The tests start their own throwaway
# nginx on a random loopback port with a config in a temp dir; this script
# only makes sure the binary is there and stops nothing, starts nothing, and
# leaves the system's nginx config alone (the Debian package may start the
# default site's service on port 80; we do not rely on it).
#
# Usage: bash .ci/nginx.sh     (root, or sudo available)
set -euo pipefail

log() { printf '[nginx.sh] %s\n' "$*" >&2; }

nginx_bin() { command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true; }

if [ -n "$(nginx_bin)" ]; then
  log "nginx already installed: $("$(nginx_bin)" -v 2>&1)"
  exit 0
fi

. "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
# policy-rc.d: do not let the package start the system service on port 80
# inside a container or CI runner; the tests run their own instances.
had_policy=0
if [ -e /usr/sbin/policy-rc.d ]; then had_policy=1; fi
if [ "$had_policy" = 0 ] && [ "$(id -u)" = 0 ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
fi
status=0
apt_install nginx || status=$?
if [ "$had_policy" = 0 ] && [ "$(id -u)" = 0 ]; then rm -f /usr/sbin/policy-rc.d; fi
[ "$status" = 0 ] || { log "ERROR: apt-get install nginx failed ($status)"; exit "$status"; }

bin="$(nginx_bin)"
[ -n "$bin" ] || { log "ERROR: nginx not found after install"; exit 1; }
# The tests need the WebDAV module (PUT); Debian builds it in.
if ! "$bin" -V 2>&1 | grep -q -- '--with-http_dav_module'; then
  log "ERROR: $bin lacks --with-http_dav_module"; exit 1
fi
log "installed: $("$bin" -v 2>&1)"
