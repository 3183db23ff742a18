#!/usr/bin/env bash
# README command 2: install dependencies, build, and run the whole test suite twice: a normal
# build, then an AddressSanitizer+UndefinedBehaviorSanitizer build. Ends with ctest's summary.
# The normal run includes the container image test (Deploy.ContainerImage: podman builds the
# image from this checkout and tests it) and the systemd unit check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/install-oracles.sh
JOBS=${SIRR_JOBS:-2}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths relative to the checkout in ccache's hashes, so another clone of the same sources hits
# the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
# ...and without the build directory's absolute path (hashed for -g by default), so that the
# container image's build stage (/src/build) reuses the objects of this release build.
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

echo "=== release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j"$JOBS"
echo "=== sanitizer build (ASan + UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSIRR_SANITIZE=ON -DSIRR_BUILD_BENCH=OFF >/dev/null
ninja -C build-asan -j"$JOBS"

status=0
echo "=== tests (release build)"
(cd build && ctest --output-on-failure -j"$JOBS") || status=1
echo "=== tests (ASan + UBSan build)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$JOBS") || status=1
exit $status
