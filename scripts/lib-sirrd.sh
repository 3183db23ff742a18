# Sourced by the test scripts (stop_sirrd below undoes it): start_sirrd BUILD_DIR WORK_DIR [VAR=VALUE...] starts a private
# sirrd (fresh key file and admin token in WORK_DIR, port 0 on loopback, log WORK_DIR/sirrd.log,
# pid WORK_DIR/sirrd.pid), waits until it listens, and exports SIRR_SERVER, SIRR_TOKEN and
# ADMIN. Extra VAR=VALUE pairs go into sirrd's environment. Returns 1 if it did not start.
start_sirrd() {
  local build=$1 w=$2
  shift 2
  openssl rand -base64 32 >"$w/key"
  chmod 400 "$w/key"
  ADMIN=$(openssl rand -hex 24)
  env SIRR_KEY_FILE="$w/key" SIRR_ADMIN_TOKEN="$ADMIN" SIRR_DATA_DIR="$w/data" \
    SIRR_ADDR=127.0.0.1:0 SIRR_READY_FILE="$w/ready" "$@" "$build/sirrd" 2>"$w/sirrd.log" &
  echo $! >"$w/sirrd.pid"
  for _ in $(seq 100); do [ -s "$w/ready" ] && break; sleep 0.05; done
  [ -s "$w/ready" ] || return 1
  SIRR_SERVER=$(cat "$w/ready")
  SIRR_TOKEN=$ADMIN
  export SIRR_SERVER SIRR_TOKEN ADMIN
}

# stop_sirrd WORK_DIR: stops the sirrd start_sirrd started there and removes WORK_DIR.
stop_sirrd() {
  [ -f "$1/sirrd.pid" ] && kill "$(cat "$1/sirrd.pid")" 2>/dev/null || true
  rm -rf "$1"
}
