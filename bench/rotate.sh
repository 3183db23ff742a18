#!/usr/bin/env bash
# Master key rotation on a large database (issue 7): VAULTS vaults holding SECRETS secrets, all
# created through the HTTP API. Measures
#   1. rotation time on the same vaults with no secrets yet (before the fill) and with every
#      secret in (after it), both without other load: the cost is per vault key, not per secret;
#   2. random secret reads (CONNECTIONS keep-alive clients, READ_SECONDS each run): p50/p99 of
#      runs without rotation next to the reads in flight while a rotation ran, at the default
#      batch size (100 vault keys per transaction) and at 1 (one transaction per vault key).
#      Each of ROUNDS rounds (default 3) restarts sirrd with a new key, runs reads without a
#      rotation, then reads with a rotation started a quarter into the run; the rounds' samples
#      are pooled (a rotation at batch size 100 lasts tens of milliseconds).
# Usage: bash bench/rotate.sh [VAULTS] [SECRETS] [READ_SECONDS] [CONNECTIONS] [WORK_DIR]
# Defaults 1000 1000000 16 16. The fill takes several minutes (one durable commit per secret);
# give WORK_DIR to keep the filled database and its keys for another run (otherwise a temporary
# directory is removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
V=${1:-1000}; S=${2:-1000000}; D=${3:-16}; C=${4:-16}; KEEP=${5:-}; R=${ROUNDS:-3}
bash scripts/install-deps.sh --bench
[ -x build/sirrd ] && [ -x build/bench/sirr_rotation_bench ] || bash scripts/build.sh
TOOL=build/bench/sirr_rotation_bench
if [ -n "$KEEP" ]; then
  W=$(mkdir -p "$KEEP" && cd "$KEEP" && pwd)
  trap 'kill $(cat "$W"/sirrd.pid 2>/dev/null) 2>/dev/null || true' EXIT
else
  W=$(mktemp -d /tmp/sirr-rotate.XXXXXX)
  trap 'kill $(cat "$W"/sirrd.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$W"' EXIT
fi
[ -f "$W/token" ] || openssl rand -hex 16 > "$W/token"
export SIRR_TOKEN="bench-token-$(cat "$W/token")"
[ -f "$W/current" ] || echo 1 > "$W/current"
key() { [ -f "$W/key$1" ] || { openssl rand -base64 32 > "$W/key$1"; chmod 400 "$W/key$1"; }; echo "$W/key$1"; }

start() {  # start [dual] [batch]: sirrd on the current key (and the next one when dual)
  local cur; cur=$(cat "$W/current")
  local -a env=(SIRR_KEY_FILE="$(key "$cur")" SIRR_ADMIN_TOKEN="$SIRR_TOKEN" SIRR_DATA_DIR="$W/data"
    SIRR_ADDR=127.0.0.1:0 SIRR_RATE_LIMIT=0 SIRR_THREADS="${SIRR_THREADS:-2}"
    SIRR_ROTATION_BATCH="${2:-100}")
  [ "${1:-}" = dual ] && env+=(SIRR_KEY_FILE_NEW="$(key $((cur + 1)))")
  env "${env[@]}" build/sirrd 2>"$W/sirrd.log" & echo $! > "$W/sirrd.pid"
  for _ in $(seq 600); do grep -q listening "$W/sirrd.log" && break; sleep 0.05; done
  PORT=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$W/sirrd.log" | grep -o '[0-9]*$') ||
    { cat "$W/sirrd.log" >&2; exit 1; }
  BASE=http://127.0.0.1:$PORT
}
stop() {
  local pid; pid=$(cat "$W/sirrd.pid"); kill "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$W/sirrd.pid"
}
# rotate: POST rotate-keys, wait for the job, print its numbers; the current key moves on.
rotate() {
  curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $SIRR_TOKEN" "$BASE/api/v1/admin/rotate-keys"
  local st
  while :; do
    st=$(curl -fsS -H "Authorization: Bearer $SIRR_TOKEN" "$BASE/api/v1/admin/rotate-keys")
    echo "$st" | grep -q '"state":"running"' || break
    sleep 0.25  # the times come from sirrd; slow polling keeps curl off the 2 cores
  done
  echo "$st" | python3 -c 'import datetime, json, sys
s = json.load(sys.stdin)
assert s["state"] == "completed" and s["failed"] == 0, s
for k in ("started_at", "finished_at"):  # RFC 3339 with milliseconds -> Unix ms
    s[k] = round(datetime.datetime.fromisoformat(s[k].replace("Z", "+00:00")).timestamp() * 1000)
print("rotation v%d -> v%d: %d/%d vault keys rewrapped in %d ms (started_at=%d finished_at=%d)" % (
    s["from_version"], s["to_version"], s["done"], s["total"], s["finished_at"] - s["started_at"],
    s["started_at"], s["finished_at"]))' | tee "$W/last-rotation"
  echo $(( $(cat "$W/current") + 1 )) > "$W/current"
}
window() { sed 's/.*started_at=\([0-9]*\) finished_at=\([0-9]*\).*/\1 \2/' "$W/last-rotation"; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); sirrd threads=${SIRR_THREADS:-2}"
if [ ! -f "$W/filled" ]; then
  echo "--- $V vaults, no secrets yet"
  start; $TOOL populate "$BASE" "$V" 0 1; stop
  start dual; rotate; stop
  echo "--- filling: $S secrets over $V vaults through POST /secrets, 16 connections"
  start; $TOOL populate "$BASE" "$V" "$S" 16; stop
  echo "$V $S" > "$W/filled"
fi
DB=$W/data/sirr.db
echo "database: $(sqlite3 "$DB" 'SELECT COUNT(*) FROM vaults') vaults, $(sqlite3 "$DB" 'SELECT COUNT(*) FROM secrets') secrets, $(du -m "$DB" | cut -f1) MiB"

echo "--- rotation with every secret in, no other load"
start dual; rotate; stop

for batch in 100 1; do
  echo "--- random reads of $S secrets, $C connections, ${D}s per run, $R rounds, rotation batch size $batch"
  BASES=(); ROTS=(); WINDOWS=()
  for r in $(seq "$R"); do
    start dual "$batch"
    $TOOL read "$BASE" "$V" "$S" "$C" "$D" "$W/base-$batch-$r.samples" >/dev/null
    $TOOL read "$BASE" "$V" "$S" "$C" "$D" "$W/rot-$batch-$r.samples" >/dev/null & READER=$!
    sleep $((D / 4)); echo -n "round $r: "; rotate; wait $READER
    stop
    read -r FROM TO < <(window)
    BASES+=("$W/base-$batch-$r.samples"); ROTS+=("$W/rot-$batch-$r.samples")
    WINDOWS+=("$W/rot-$batch-$r.samples@$FROM-$TO")
  done
  echo -n "runs without rotation:         "; $TOOL stats "${BASES[@]}"
  echo -n "runs with a rotation (whole):  "; $TOOL stats "${ROTS[@]}"
  echo -n "reads in flight during it:     "; $TOOL stats "${WINDOWS[@]}"
done
echo "audit: $(grep -c '"keys.rotate"' "$W/data/audit.log" 2>/dev/null || echo '?') keys.rotate lines"
