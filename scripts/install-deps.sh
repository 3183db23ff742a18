#!/usr/bin/env bash
# Installs every Debian package Sirr needs to build, test and benchmark. Idempotent; needs root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  # build
  build-essential cmake ninja-build ccache pkg-config clang-format
  libboost-dev libssl-dev libsqlite3-dev libsodium-dev libsecp256k1-dev libunistring-dev libp11-kit-dev nlohmann-json3-dev libcli11-dev
  libcurl4-openssl-dev libsystemd-dev
  # tests and their independent oracles
  libgtest-dev libgmock-dev libbenchmark-dev libgmp-dev python3 python3-cryptography python3-mnemonic
  openssl curl sqlite3 softhsm2 python3-pykcs11 ssss systemd
)
if [ "${1:-}" = "--bench" ]; then PKGS+=(wrk nginx-light); fi
if [ "${1:-}" = "--fuzz" ]; then PKGS+=(clang libclang-rt-14-dev); fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
