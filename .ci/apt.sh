# Sourced by the .ci install scripts, which define log().
#
# apt_install PKG... installs Debian packages, as root or through sudo,
# without recommended packages, waiting up to 10 minutes for another apt
# run's lock (unattended-upgrades, another job's script) instead of failing.
apt_install() {
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { log "ERROR: need root or sudo for apt-get install $*"; return 1; }
    sudo=(sudo)
  fi
  log "apt-get install $*"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}
