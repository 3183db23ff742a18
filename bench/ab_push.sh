#!/usr/bin/env bash
# A/B push benchmark: two sirrd builds side by side on loopback, push runs alternated so that
# both see the same machine noise. Usage: bash bench/ab_push.sh BUILD_A BUILD_B [ROUNDS] [SECONDS]
# (BUILD_x: a build directory holding sirrd). Prints each run and the median per build.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1; B=$2; R=${3:-5}; D=${4:-8}; C=${C:-32}
W=$(mktemp -d /tmp/sirr-ab.XXXXXX)
trap 'kill $(cat "$W"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$W"' EXIT
export SIRR_TOKEN="bench-token-$(openssl rand -hex 16)"
start() {  # $1 name, $2 build dir
  mkdir -p "$W/$1"; openssl rand -base64 32 > "$W/$1/key"; chmod 400 "$W/$1/key"
  SIRR_KEY_FILE=$W/$1/key SIRR_ADMIN_TOKEN=$SIRR_TOKEN SIRR_DATA_DIR=$W/$1/data SIRR_ADDR=127.0.0.1:0 \
    SIRR_RATE_LIMIT=0 SIRR_THREADS=2 "$2/sirrd" >/dev/null 2>"$W/$1/log" & echo $! > "$W/$1.pid"
  for _ in $(seq 100); do grep -q listening "$W/$1/log" && break; sleep 0.05; done
  grep -o 'listening on http://127.0.0.1:[0-9]*' "$W/$1/log" | grep -o '[0-9]*$'
}
PA=$(start a "$A"); PB=$(start b "$B")
for i in $(seq "$R"); do
  for x in a b; do
    P=$PA; [ $x = b ] && P=$PB
    n=$(wrk -t2 -c"$C" -d"${D}s" -s bench/push.lua "http://127.0.0.1:$P/api/v1/vaults/default/secrets" \
      | sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p')
    echo "$x $n" | tee -a "$W/results"
  done
done
for x in a b; do
  echo "median $x: $(awk -v x=$x '$1==x{print $2}' "$W/results" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}') req/s"
done
