#!/usr/bin/env bash
# sirrd on PostgreSQL next to sirrd on SQLite and next to PostgreSQL's own single-row commit
# rate, same machine, same run (issue 20's targets: pull on PostgreSQL >= 90% of SQLite's with a
# warm cache; push >= 1.5x pgbench's one-INSERT rate on one connection).
#   1. a private PostgreSQL (scripts/pg-test-server.sh: initdb, loopback, fsync and
#      synchronous_commit on); pgbench with a one-INSERT script, 1 and 32 connections
#   2. sirrd on SQLite: wrk pull (GET, unlimited reads) and push (POST, durable)
#   3. sirrd on that PostgreSQL: the same
# Usage: bash bench/pg_load.sh [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-10}; C=${2:-32}
bash scripts/install-deps.sh --bench
[ -x build/sirrd ] || bash scripts/build.sh
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
W=$(mktemp -d /tmp/sirr-pgload.XXXXXX)
chmod 755 "$W"  # the server runs as the postgres user
trap 'kill $(cat "$W"/*.pid 2>/dev/null) 2>/dev/null || true; sleep 0.5; bash scripts/pg-test-server.sh stop "$W/pg"; rm -rf "$W"' EXIT
read -r URL PASSFILE < <(bash scripts/pg-test-server.sh start "$W/pg")
export PGPASSFILE=$PASSFILE
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $("$bin/postgres" --version)"

psql -q "$URL" -c 'CREATE TABLE t (id bigserial PRIMARY KEY, v bytea NOT NULL)'
echo 'INSERT INTO t (v) VALUES (decode(md5(random()::text), '"'"'hex'"'"'));' >"$W/insert.sql"
for c in 1 32; do
  echo "--- pgbench: one INSERT per transaction, $c connection(s), ${D}s"
  "$bin/pgbench" -n -c "$c" -j "$((c < 2 ? 1 : 2))" -T "$D" -f "$W/insert.sql" "$URL" 2>&1 |
    grep -E '^(tps|latency average)'
done
psql -q "$URL" -c 'DROP TABLE t' -c 'CHECKPOINT'

openssl rand -base64 32 >"$W/key"; chmod 400 "$W/key"
export SIRR_TOKEN="bench-token-$(openssl rand -hex 16)"
run() {  # run NAME [VAR=VALUE...]: sirrd with that storage, then pull and push
  local name=$1; shift
  env SIRR_KEY_FILE="$W/key" SIRR_ADMIN_TOKEN="$SIRR_TOKEN" SIRR_DATA_DIR="$W/data-$name" \
    SIRR_ADDR=127.0.0.1:0 SIRR_RATE_LIMIT=0 SIRR_ACCESS_LOG=false \
    SIRR_READY_FILE="$W/ready-$name" "$@" build/sirrd 2>"$W/sirrd-$name.log" &
  echo $! >"$W/sirrd-$name.pid"
  for _ in $(seq 200); do [ -s "$W/ready-$name" ] && break; sleep 0.05; done
  local base; base=$(cat "$W/ready-$name")/api/v1/vaults/default/secrets
  curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $SIRR_TOKEN" -H 'Content-Type: application/json' \
    -d '{"name":"bench/pull","value":"s3cr3t-0123456789abcdef"}' "$base"
  local pid; pid=$(cat "$W/sirrd-$name.pid")
  cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
  echo "--- sirrd on $name: pull (GET secret, unlimited reads, warm cache), $C connections, ${D}s"
  local t0 out t1 n; t0=$(cpu)
  out=$(wrk -t2 -c"$C" -d"${D}s" --latency -s bench/pull.lua "$base/bench%2Fpull" | grep -E 'Requests/sec|requests=')
  t1=$(cpu); echo "$out"
  n=$(echo "$out" | sed -n 's/^requests=\([0-9]*\).*/\1/p')
  echo "sirrd CPU per pull: $(( (t1 - t0) * 1000000 / $(getconf CLK_TCK) / n )) us"
  echo "--- sirrd on $name: push (POST new secret, durable commit), $C connections, ${D}s"
  wrk -t2 -c"$C" -d"${D}s" --latency -s bench/push.lua "$base" | grep -E 'Requests/sec|requests='
  kill "$pid"; wait "$pid" 2>/dev/null || true; rm -f "$W/sirrd-$name.pid"
}
# Both with the io threads bench/load.sh uses (2; SIRR_THREADS overrides); PostgreSQL with its
# other defaults (64 blocking threads, one write lane, 4 ms cache lease).
run sqlite SIRR_THREADS="${SIRR_THREADS:-2}"
run postgres SIRR_THREADS="${SIRR_THREADS:-2}" SIRR_STORAGE=postgres SIRR_DATABASE_URL="$URL"
