#!/usr/bin/env bash
# Builds Sirr into build/ (binaries: build/sirrd, build/sirr). Usage: scripts/build.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
ninja -C build -j"${SIRR_JOBS:-2}"
