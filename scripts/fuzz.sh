#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (clang + ASan/UBSan). Not part of the test command:
# the test command runs every target as a quick deterministic smoke test instead.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60; SIRR_FUZZ_ONLY="jwt" picks targets)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --fuzz
SECS=${1:-60}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSIRR_FUZZ_ENGINE=libfuzzer -DSIRR_BUILD_BENCH=OFF \
  -DCMAKE_C_FLAGS="$FLAGS" -DCMAKE_CXX_FLAGS="$FLAGS" >/dev/null
for t in ${SIRR_FUZZ_ONLY:-json_input target master_key envelope jwt}; do
  ninja -C build-fuzz -j"${SIRR_JOBS:-2}" "fuzz_$t"
  work=build-fuzz/corpus-$t
  mkdir -p "$work"
  echo "=== fuzz_$t for ${SECS}s"
  "build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$SECS" -max_len=4096 "$work" \
    "tests/fuzz/corpus/$t" 2>&1 | tail -3
done
