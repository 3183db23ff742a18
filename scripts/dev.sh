#!/usr/bin/env bash
# README command 1: install dependencies, build, and start sirrd for development on
# 127.0.0.1:39999 with an embedded SQLite database. Generates (once) a development master key
# file and an admin token in .sirr-dev/, OUTSIDE the data directory .sirr-dev/data/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
bash scripts/install-deps.sh
bash scripts/build.sh
DEV=$ROOT/.sirr-dev
mkdir -p "$DEV/data"
chmod 700 "$DEV" "$DEV/data"
if [ ! -f "$DEV/master.key" ]; then
  (umask 277 && openssl rand -base64 32 > "$DEV/master.key")
  echo "generated development master key: $DEV/master.key (mode 0400; back it up apart from the data)"
fi
if [ ! -f "$DEV/admin.token" ]; then
  (umask 077 && echo "sirr_$(openssl rand -hex 32)" > "$DEV/admin.token")
fi
if [ -f "$DEV/sirrd.pid" ] && kill -0 "$(cat "$DEV/sirrd.pid")" 2>/dev/null; then
  echo "stopping the running development sirrd (pid $(cat "$DEV/sirrd.pid"))"
  kill -TERM "$(cat "$DEV/sirrd.pid")"
  for _ in $(seq 50); do kill -0 "$(cat "$DEV/sirrd.pid")" 2>/dev/null || break; sleep 0.1; done
fi
SIRR_KEY_FILE=$DEV/master.key SIRR_ADMIN_TOKEN_FILE=$DEV/admin.token SIRR_DATA_DIR=$DEV/data \
  SIRR_ADDR=${SIRR_ADDR:-127.0.0.1:39999} nohup "$ROOT/build/sirrd" >>"$DEV/sirrd.log" 2>&1 &
echo $! > "$DEV/sirrd.pid"
for _ in $(seq 50); do
  curl -fsS "http://${SIRR_ADDR:-127.0.0.1:39999}/health" >/dev/null 2>&1 && break
  if ! kill -0 "$(cat "$DEV/sirrd.pid")" 2>/dev/null; then
    echo "sirrd failed to start:"; tail -5 "$DEV/sirrd.log"; exit 1
  fi
  sleep 0.1
done
cat <<MSG

sirrd is running (pid $(cat "$DEV/sirrd.pid")) on http://${SIRR_ADDR:-127.0.0.1:39999}
  data:      $DEV/data   (database sirr.db, audit.log)
  key file:  $DEV/master.key
  log:       $DEV/sirrd.log
Use it:
  export PATH=$ROOT/build:\$PATH
  export SIRR_TOKEN=$(cat "$DEV/admin.token")
  sirr push db/prod --ttl 1h          # prompts for the value (not echoed)
  sirr pull db/prod
  sirr status                         # exit 0 unsealed, 2 sealed
  source <(sirr completion bash)      # tab completion
  sirr list
  sirr vault create team && sirr --vault team push api/key --value s3cr3t
  sirr key create signer --spec Ed25519 && echo -n hello | sirr key sign signer
  sirr token create --name ci --cap secrets:read --vault team --ttl 1d   # a scoped token
  sirr operator seal      # wipes every key;  sirr operator unseal --key-file $DEV/master.key
Stop it:  kill \$(cat $DEV/sirrd.pid)
MSG
