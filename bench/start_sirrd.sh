# Sourced by the bench scripts: a scratch dir $W (removed on exit), a fresh master key and admin
# token ($SIRR_TOKEN), and sirrd on a free loopback port ($PORT) with rate limiting off.
W=$(mktemp -d /tmp/sirr-bench.XXXXXX)
trap 'kill $(cat "$W"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$W"' EXIT
openssl rand -base64 32 > "$W/key"; chmod 400 "$W/key"
export SIRR_TOKEN="bench-token-$(openssl rand -hex 16)"
SIRR_KEY_FILE=$W/key SIRR_ADMIN_TOKEN=$SIRR_TOKEN SIRR_DATA_DIR=$W/data SIRR_ADDR=127.0.0.1:0 SIRR_RATE_LIMIT=0 \
  SIRR_THREADS=${SIRR_THREADS:-2} build/sirrd 2>"$W/sirrd.log" & echo $! > "$W/sirrd.pid"
for _ in $(seq 100); do grep -q listening "$W/sirrd.log" && break; sleep 0.05; done
PORT=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$W/sirrd.log" | grep -o '[0-9]*$')
