#!/usr/bin/env bash
# Loopback load test: sirrd pull (unlimited reads) and push (durable), next to nginx serving a
# small file in the same run; then the same over TLS (same certificate for both) with
# keep-alive, and the rate of new TLS connections (a full handshake per request).
# Usage: bash bench/load.sh [DURATION_SECONDS] [CONNECTIONS]
# Bounded: each wrk run lasts DURATION seconds (default 10) against 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-10}; C=${2:-32}
bash scripts/install-deps.sh --bench
[ -x build/sirrd ] || bash scripts/build.sh
source bench/start_sirrd.sh
URL=http://127.0.0.1:$PORT/api/v1/vaults/default/secrets
curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $SIRR_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"bench/pull","value":"s3cr3t-0123456789abcdef"}' "$URL"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -keyout "$W/tls.key" \
  -out "$W/tls.crt" -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
chmod 644 "$W/tls.key"  # nginx's workers read it too (scratch key, this run only)
chmod 755 "$W"; mkdir -p "$W/www" && chmod 755 "$W/www" && echo -n 's3cr3t-0123456789abcdef' > "$W/www/index.html"; chmod 644 "$W/www/index.html"
cat > "$W/nginx.conf" <<NGINX
worker_processes 2; pid $W/nginx.pid; error_log $W/nginx.err; daemon on;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:18081; root $W/www; }
  server { listen 127.0.0.1:18444 ssl; root $W/www; ssl_certificate $W/tls.crt;
    ssl_certificate_key $W/tls.key; ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:S:10m; } }
NGINX
nginx -c "$W/nginx.conf"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); sirrd threads=${SIRR_THREADS:-2}"
# Push is bound by the disk's sync latency (one fdatasync per group commit): show it.
python3 - "$W" <<'PY'
import os, sys, time
fd = os.open(os.path.join(sys.argv[1], "fsync-probe"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
t = time.time()
for _ in range(200):
    os.write(fd, b"x" * 512); os.fdatasync(fd)
print("disk: fdatasync of a 512-byte append %.2f ms on average (200 runs)" % ((time.time() - t) / 200 * 1000))
PY
echo "--- baseline: nginx, GET small file, $C connections, ${D}s"
wrk -t2 -c"$C" -d"${D}s" --latency -s bench/pull.lua http://127.0.0.1:18081/index.html | grep -E 'Requests/sec|requests='
echo "--- sirrd pull (GET secret, unlimited reads), $C connections, ${D}s"
cpu() { awk '{print $14 + $15}' "/proc/$(cat "$W/sirrd.pid")/stat"; }  # user+system ticks
T0=$(cpu)
OUT=$(wrk -t2 -c"$C" -d"${D}s" --latency -s bench/pull.lua "$URL/bench%2Fpull" | grep -E 'Requests/sec|requests=')
T1=$(cpu); echo "$OUT"
N=$(echo "$OUT" | sed -n 's/^requests=\([0-9]*\).*/\1/p')
echo "sirrd CPU per pull: $(( (T1 - T0) * 1000000 / $(getconf CLK_TCK) / N )) us"
API_TOKEN=$(curl -fsS -X POST -H "Authorization: Bearer $SIRR_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"bench","capabilities":["secrets:read"],"vaults":["default"]}' \
  "http://127.0.0.1:$PORT/api/v1/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
echo "--- sirrd pull with a scoped API token (token lookup + scope check per request), $C connections, ${D}s"
SIRR_TOKEN=$API_TOKEN wrk -t2 -c"$C" -d"${D}s" --latency -s bench/pull.lua "$URL/bench%2Fpull" | grep -E 'Requests/sec|requests='
echo "--- sirrd push (POST new secret, durable commit), $C connections, ${D}s"
wrk -t2 -c"$C" -d"${D}s" --latency -s bench/push.lua "$URL" | grep -E 'Requests/sec|requests='

# TLS: a second sirrd on the same build with the same certificate as nginx.
SIRR_KEY_FILE=$W/key SIRR_ADMIN_TOKEN=$SIRR_TOKEN SIRR_DATA_DIR=$W/data-tls SIRR_ADDR=127.0.0.1:0 \
  SIRR_RATE_LIMIT=0 SIRR_THREADS=${SIRR_THREADS:-2} SIRR_TLS_CERT_FILE=$W/tls.crt \
  SIRR_TLS_KEY_FILE=$W/tls.key build/sirrd 2>"$W/sirrd-tls.log" & echo $! > "$W/sirrd-tls.pid"
for _ in $(seq 100); do grep -q listening "$W/sirrd-tls.log" && break; sleep 0.05; done
TPORT=$(grep -o 'listening on https://127.0.0.1:[0-9]*' "$W/sirrd-tls.log" | grep -o '[0-9]*$')
TURL=https://127.0.0.1:$TPORT/api/v1/vaults/default/secrets
curl -fsS --cacert "$W/tls.crt" -o /dev/null -X POST -H "Authorization: Bearer $SIRR_TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"bench/pull","value":"s3cr3t-0123456789abcdef"}' "$TURL"
echo "--- TLS baseline: nginx over TLS (keep-alive), $C connections, ${D}s"
wrk -t2 -c"$C" -d"${D}s" --latency -s bench/pull.lua https://127.0.0.1:18444/index.html | grep -E 'Requests/sec|requests='
echo "--- sirrd pull over TLS (keep-alive), $C connections, ${D}s"
wrk -t2 -c"$C" -d"${D}s" --latency -s bench/pull.lua "$TURL/bench%2Fpull" | grep -E 'Requests/sec|requests='
echo "--- TLS handshakes: nginx, a new connection per request, $C connections, ${D}s"
wrk -t2 -c"$C" -d"${D}s" -H 'Connection: close' -s bench/pull.lua https://127.0.0.1:18444/index.html | grep -E 'Requests/sec|requests='
echo "--- TLS handshakes: sirrd, a new connection per request (GET /health), $C connections, ${D}s"
wrk -t2 -c"$C" -d"${D}s" -H 'Connection: close' -s bench/pull.lua "https://127.0.0.1:$TPORT/health" | grep -E 'Requests/sec|requests='
