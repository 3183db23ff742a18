#!/usr/bin/env bash
# Installs every Debian package Sirr needs to build, test and benchmark. Idempotent; needs root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
BUILD=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-dev libssl-dev libsqlite3-dev libsodium-dev libsecp256k1-dev libunistring-dev libp11-kit-dev nlohmann-json3-dev libcli11-dev
  libcurl4-openssl-dev libsystemd-dev libpq-dev
)
TESTS=(
  clang-format
  # tests and their independent oracles
  libgtest-dev libgmock-dev libbenchmark-dev libgmp-dev python3 python3-cryptography python3-mnemonic
  openssl curl sqlite3 softhsm2 python3-pykcs11 ssss systemd prometheus logrotate rsyslog
  # client-side encryption: the CCTV age vectors (zlib), the age CLI, a real browser
  zlib1g-dev age chromium fonts-dejavu-core
  # several nodes on PostgreSQL: private servers (initdb, pg_basebackup, psql, pgbench)
  postgresql
)
case "${1:-}" in
  --build-only) PKGS=("${BUILD[@]}") ;;  # what the container image's build stage needs
  --bench) PKGS=("${BUILD[@]}" "${TESTS[@]}" wrk nginx-light) ;;
  --fuzz) PKGS=("${BUILD[@]}" "${TESTS[@]}" clang libclang-rt-14-dev) ;;
  # scripts/test-container.sh: podman offline (../shared/notes/containers.md)
  --container) PKGS=(podman podman-compose runc mmdebstrap uidmap) ;;
  "") PKGS=("${BUILD[@]}" "${TESTS[@]}") ;;
  *) echo "usage: install-deps.sh [--build-only|--bench|--fuzz|--container]" >&2; exit 2 ;;
esac
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
