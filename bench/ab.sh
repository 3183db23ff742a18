#!/usr/bin/env bash
# A/B load benchmark: two sirrd instances side by side on loopback (two builds, or one build with
# two settings), runs alternated so that both see the same machine noise.
# Usage: bash bench/ab.sh pull|push BUILD_A "ENV_A" BUILD_B "ENV_B" [ROUNDS] [SECONDS]
#   ENV_x: extra environment for that sirrd, e.g. "SIRR_METRICS=false SIRR_ACCESS_LOG=false".
# Prints each run (req/s, p99) and the medians per side.
set -euo pipefail
cd "$(dirname "$0")/.."
S=$1; A=$2; EA=$3; B=$4; EB=$5; R=${6:-5}; D=${7:-8}; C=${C:-32}
W=$(mktemp -d /tmp/sirr-ab.XXXXXX)
trap 'kill $(cat "$W"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$W"' EXIT
export SIRR_TOKEN="bench-token-$(openssl rand -hex 16)"
start() {  # $1 name, $2 build dir, $3 extra env
  mkdir -p "$W/$1"; openssl rand -base64 32 > "$W/$1/key"; chmod 400 "$W/$1/key"
  env $3 SIRR_KEY_FILE=$W/$1/key SIRR_ADMIN_TOKEN=$SIRR_TOKEN SIRR_DATA_DIR=$W/$1/data \
    SIRR_ADDR=127.0.0.1:0 SIRR_RATE_LIMIT=0 SIRR_THREADS=2 "$2/sirrd" >/dev/null 2>"$W/$1/log" &
  echo $! > "$W/$1.pid"
  for _ in $(seq 100); do grep -q listening "$W/$1/log" && break; sleep 0.05; done
  grep -o 'listening on http://127.0.0.1:[0-9]*' "$W/$1/log" | grep -o '[0-9]*$'
}
PA=$(start a "$A" "$EA"); PB=$(start b "$B" "$EB")
for P in $PA $PB; do
  curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $SIRR_TOKEN" \
    -d '{"name":"bench/pull","value":"s3cr3t-0123456789abcdef"}' \
    "http://127.0.0.1:$P/api/v1/vaults/default/secrets"
done
for i in $(seq "$R"); do
  for x in a b; do
    P=$PA; [ $x = b ] && P=$PB
    if [ "$S" = pull ]; then
      out=$(wrk -t2 -c"$C" -d"${D}s" -s bench/pull.lua "http://127.0.0.1:$P/api/v1/vaults/default/secrets/bench/pull")
    else
      out=$(wrk -t2 -c"$C" -d"${D}s" -s bench/push.lua "http://127.0.0.1:$P/api/v1/vaults/default/secrets")
    fi
    rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p' <<<"$out")
    p99=$(grep -o 'p99_us=[0-9]*' <<<"$out" | cut -d= -f2)
    echo "$x $rps $p99" | tee -a "$W/results"
  done
done
med() { sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }
for x in a b; do
  echo "median $x: $(awk -v x=$x '$1==x{print $2}' "$W/results" | med) req/s, p99 $(awk -v x=$x '$1==x{print $3}' "$W/results" | med) us"
done
