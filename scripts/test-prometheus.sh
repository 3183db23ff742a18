#!/usr/bin/env bash
# Scrapes a real sirrd with a real Prometheus (Debian's prometheus; part of the test suite,
# ctest runs it). Starts sirrd on free loopback ports with SIRR_METRICS_ADDR, creates a token
# with metrics:read for the main listener, makes a few requests, starts Prometheus with two
# scrape jobs (the unauthenticated metrics listener and the main listener with the token) and
# asks its HTTP API, by PromQL, for the request counter with the expected labels. Also checks
# that no label value carries the secret's name, and that the main listener refuses a token
# without metrics:read. Exit 77 (skipped) only when prometheus is not installed.
# Usage: scripts/test-prometheus.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib-sirrd.sh
build=$(realpath "${1:?usage: test-prometheus.sh BUILD_DIR}")
command -v prometheus >/dev/null || { echo "SKIP: prometheus is not installed (scripts/install-deps.sh)"; exit 77; }
W=$(mktemp -d /tmp/sirr-prom.XXXXXX)
cleanup() {
  kill $(cat "$W"/*.pid 2>/dev/null) 2>/dev/null || true
  sleep 0.3
  rm -rf "$W"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fail() { echo "FAIL: $*"; echo "--- sirrd log"; tail -20 "$W/sirrd.log"; echo "--- prometheus log"; tail -20 "$W/prom.log"; exit 1; }

start_sirrd "$build" "$W" SIRR_METRICS_ADDR=127.0.0.1:0 || fail "sirrd did not start"
URL=$SIRR_SERVER
MPORT=$(grep -o 'metrics on http://127.0.0.1:[0-9]*' "$W/sirrd.log" | grep -o '[0-9]*$')
[ -n "$MPORT" ] || fail "no metrics listener in the log"
METRICS_TOKEN=$("$build/sirr" token create --name prometheus --cap metrics:read 2>/dev/null)
READER=$("$build/sirr" token create --name reader --cap secrets:read --vault default 2>/dev/null)
printf '%s' "$METRICS_TOKEN" >"$W/metrics-token"

# Traffic: 3 pulls of a secret whose name must never show up in a label.
"$build/sirr" push team/very-secret-name --value s3cr3t >/dev/null
for _ in 1 2 3; do "$build/sirr" pull team/very-secret-name >/dev/null; done
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $READER" "$URL/metrics")
[ "$code" = 403 ] || fail "a token without metrics:read got $code from GET /metrics (want 403)"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $METRICS_TOKEN" "$URL/metrics")
[ "$code" = 200 ] || fail "the metrics:read token got $code from GET /metrics (want 200)"

PPORT=$(free_port)
cat >"$W/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: sirr-metrics-listener
    static_configs: [{targets: ["127.0.0.1:$MPORT"]}]
  - job_name: sirr-main
    authorization: {credentials_file: "$W/metrics-token"}
    static_configs: [{targets: ["${URL#http://}"]}]
YML
prometheus --config.file="$W/prometheus.yml" --storage.tsdb.path="$W/tsdb" \
  --web.listen-address="127.0.0.1:$PPORT" >"$W/prom.log" 2>&1 &
echo $! >"$W/prom.pid"

query() { curl -s --get "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1"; }
want='sirr_http_requests_total{job="sirr-metrics-listener",route="/api/v1/vaults/{vault}/secrets/{secret...}",method="GET",code="200"}'
value=""
for _ in $(seq 120); do
  value=$(query "$want" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null || true)
  [ -n "$value" ] && break
  sleep 0.5
done
[ -n "$value" ] || fail "Prometheus has no sample for $want"
[ "$value" = 3 ] || fail "request counter for the 3 pulls is $value (want 3)"
echo "PromQL $want = $value"
for job in sirr-metrics-listener sirr-main; do
  up=""
  for _ in $(seq 40); do
    up=$(query "up{job=\"$job\"}" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null || true)
    [ "$up" = 1 ] && break
    sleep 0.5
  done
  [ "$up" = 1 ] || fail "up{job=\"$job\"} is '$up' (want 1)"
  echo "up{job=\"$job\"} = 1"
done
sealed=$(query 'sirr_sealed{job="sirr-main"}' | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")')
[ "$sealed" = 0 ] || fail "sirr_sealed is '$sealed' (want 0)"
labels=$(query 'count by (route) (sirr_http_requests_total)')
grep -q "very-secret-name" <<<"$labels" && fail "a route label carries the secret's name: $labels"
grep -q "very-secret-name" "$W/sirrd.log" && fail "the secret's name is in the access log"
echo "OK: Prometheus scraped both listeners; labels carry route templates only"
