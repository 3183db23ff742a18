#!/usr/bin/env bash
# PostgreSQL's own single-row commit rate on this machine (issue 20's push target is 1.5x the
# single-connection rate): a private server (scripts/pg-test-server.sh), then pgbench with a
# one-INSERT script, 1 connection and 32 connections, synchronous_commit on (the default).
# Usage: bash bench/pg_commit_rate.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-10}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "install PostgreSQL first: apt-get install postgresql" >&2; exit 2; }
W=$(mktemp -d /tmp/sirr-pgbench.XXXXXX)
chmod 755 "$W"  # the server runs as the postgres user
trap 'bash scripts/pg-test-server.sh stop "$W/pg"' EXIT
read -r URL PASSFILE < <(bash scripts/pg-test-server.sh start "$W/pg")
export PGPASSFILE=$PASSFILE
psql -q "$URL" -c 'CREATE TABLE t (id bigserial PRIMARY KEY, v bytea NOT NULL)'
echo 'INSERT INTO t (v) VALUES (decode(md5(random()::text), '"'"'hex'"'"'));' >"$W/insert.sql"
echo "machine: $(nproc) cores, $("$bin/postgres" --version), synchronous_commit=on, fsync on"
for c in 1 32; do
  echo "--- pgbench: one INSERT per transaction, $c connection(s), ${D}s"
  "$bin/pgbench" -n -c "$c" -j "$((c < 2 ? 1 : 2))" -T "$D" -f "$W/insert.sql" "$URL" 2>&1 |
    grep -E '^(tps|latency average)'
done
