#!/usr/bin/env bash
# The demo on a fresh Debian/Ubuntu machine: installs ZooKeeper (Debian's package) and a JDK if
# they are missing (idempotent), builds rmfc, then runs `rmfc demo` — a local ZooKeeper, two
# simulated RMs and two controllers — until Ctrl-C, which stops everything it started.
#
#   deploy/demo.sh [--dir DIR] [--base-port N]      (arguments go to `rmfc demo`)
set -euo pipefail
cd "$(dirname "$0")/.."

# apt-get as root, or through sudo.
apt() {
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get "$@"
  else
    echo "demo.sh: installing packages needs root: run as root, or install sudo" >&2
    exit 1
  fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    apt update -qq
    apt_updated=1
  fi
  apt install -y -qq --no-install-recommends "$@"
}

if [ ! -f /usr/share/java/zookeeper.jar ]; then
  echo "demo.sh: installing ZooKeeper (Debian's zookeeper package; no service is started)" >&2
  apt_install zookeeper
fi
if ! command -v java >/dev/null 2>&1; then
  echo "demo.sh: installing a JDK" >&2
  apt_install default-jdk-headless
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "demo.sh: cargo is missing: install Rust (https://rustup.rs), then run this again" >&2
  exit 1
fi

cargo build --release
exec target/release/rmfc demo "$@"
