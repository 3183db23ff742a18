#!/usr/bin/env bash
# A private PostgreSQL server for tests and benchmarks (issue 20): initdb into DIR as the
# unprivileged `postgres` user (Debian's postgresql package creates it), listening on a free
# port on 127.0.0.1 only, password authentication (scram-sha-256) with a libpq passfile.
#   pg-test-server.sh start DIR   -> prints: URL PASSFILE   (e.g. postgresql://sirr@127.0.0.1:PORT/sirr DIR/pgpass)
#   pg-test-server.sh stop DIR    -> stops the server and removes DIR
# Needs root (to hand DIR to `postgres`) or to be run as `postgres` itself.
set -euo pipefail
cmd=${1:?usage: pg-test-server.sh start|stop DIR}
dir=${2:?usage: pg-test-server.sh start|stop DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "pg-test-server: PostgreSQL is not installed (scripts/install-deps.sh)" >&2; exit 77; }
as_pg() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }

case "$cmd" in
  start)
    mkdir -p "$dir"
    chown postgres "$dir" 2>/dev/null || true
    as_pg test -w "$dir" || {
      echo "pg-test-server: the postgres user cannot write $dir (are its parent folders 0755?)" >&2
      exit 1
    }
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    pw=$(openssl rand -hex 16)
    printf '%s\n' "$pw" >"$dir/pwfile"
    chown postgres "$dir/pwfile" 2>/dev/null || true
    as_pg "$bin/initdb" -D "$dir/data" -U sirr --pwfile="$dir/pwfile" -A scram-sha-256 -E UTF8 \
      --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/pwfile"
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir'" start >/dev/null
    printf '127.0.0.1:%s:*:sirr:%s\n' "$port" "$pw" >"$dir/pgpass"
    chmod 600 "$dir/pgpass"
    PGPASSFILE=$dir/pgpass "$bin/createdb" -h 127.0.0.1 -p "$port" -U sirr sirr
    echo "postgresql://sirr@127.0.0.1:$port/sirr $dir/pgpass"
    ;;
  stop)
    [ -d "$dir/data" ] && as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: pg-test-server.sh start|stop DIR" >&2; exit 2 ;;
esac
