#!/usr/bin/env bash
# An unauthenticated flood against sirrd on loopback: CONNECTIONS connections send requests with
# no token for SECONDS seconds; prints the answers by status and how much the audit log grew.
# Usage: bash bench/flood.sh [SECONDS] [CONNECTIONS]   (defaults 15 16; bounded, 127.0.0.1 only)
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-15}; C=${2:-16}
bash scripts/install-deps.sh --bench
[ -x build/sirrd ] || bash scripts/build.sh
source bench/start_sirrd.sh
A="$W/data/audit.log"
B0=$(stat -c %s "$A")
wrk -t2 -c"$C" -d"${D}s" -s bench/flood.lua \
  "http://127.0.0.1:$PORT/api/v1/vaults/default/secrets/$(head -c 3000 /dev/zero | tr '\0' p)" \
  | grep -E 'Requests/sec|requests=|Non-2xx'
kill "$(cat "$W/sirrd.pid")"; while kill -0 "$(cat "$W/sirrd.pid")" 2>/dev/null; do sleep 0.1; done
B1=$(stat -c %s "$A")
echo "audit log grew by $((B1 - B0)) bytes during the ${D}s flood ($C connections)"
echo "records by outcome:"; grep -o '"outcome":"[a-z_]*"' "$A" | sort | uniq -c
