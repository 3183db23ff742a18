#!/usr/bin/env bash
# Checks deploy/systemd with systemd's own tools (part of the test suite; ctest runs it):
# `systemd-analyze verify` on the unit and `systemd-sysusers --dry-run` on the sysusers snippet.
# Any warning fails. These machines do not run systemd as PID 1, so the unit is verified, not
# started; its readiness protocol (Type=notify) is tested against sirrd by the integration test
# SirrdTest.NotifiesReadinessAndStoppingLikeSystemdExpects.
# Usage: scripts/test-systemd.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: test-systemd.sh BUILD_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# verify needs ExecStart's binary to exist: the built one stands in for /usr/local/bin/sirrd.
sed "s|/usr/local/bin/sirrd|$(realpath "$build")/sirrd|" deploy/systemd/sirrd.service >"$tmp/sirrd.service"
out=$(systemd-analyze verify "$tmp/sirrd.service" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then echo "systemd-analyze verify warns:"; echo "$out"; exit 1; fi
echo "systemd-analyze verify: clean"
out=$(systemd-sysusers --dry-run --root="$tmp/root" "$PWD/deploy/systemd/sirr.sysusers" 2>&1) || {
  echo "$out"; exit 1; }
grep -q "Creating user 'sirr'" <<<"$out" || { echo "sysusers did not create the user:"; echo "$out"; exit 1; }
echo "systemd-sysusers: creates user sirr"
# The unit keeps the key out of the environment and the data directory.
grep -q '^LoadCredential=master.key:' deploy/systemd/sirrd.service
grep -q '^Environment=SIRR_KEY_FILE=%d/master.key' deploy/systemd/sirrd.service
echo "ok"
