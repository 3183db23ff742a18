#!/usr/bin/env bash
# Builds the container image from this checkout and tests it with podman and podman-compose
# (part of the README's test command; docs/deploy.md). Checks that the image:
#   starts from compose.yaml (the seed's layout) and serves push/pull over TLS through the
#   published port; keeps data across down/up; answers its HEALTHCHECK; runs as non-root;
#   cannot write the key mount; exits non-zero with one clear log line when the key is missing
#   or wrong; holds no key, token or build tree in any layer; and that compose.swarm.yaml
#   (file-backed secrets) serves too. Prints the image size.
# On these machines there is no registry: the debian:12 base is made from Debian packages
# (mmdebstrap) and imported under the name the Dockerfile uses (../shared/notes/containers.md).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
if [ -n "${SIRR_SKIP_CONTAINER_TEST:-}" ]; then
  echo "skipped (SIRR_SKIP_CONTAINER_TEST is set)"
  exit 77
fi
bash scripts/install-deps.sh --container

work=$(mktemp -d /tmp/sirr-container.XXXXXX)
cat >"$work/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
export CONTAINERS_CONF="$work/containers.conf"
tag="sirr-test:$(git rev-parse --short=12 HEAD 2>/dev/null || echo local)"
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
cleanup() {
  set +e
  for f in compose.yaml compose.swarm.yaml; do
    [ -f "$work/$f" ] && (cd "$work" && podman-compose -f "$f" down -v >/dev/null 2>&1)
  done
  podman rm -f sirr-test-nokey sirr-test-wrongkey >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

echo "=== base image"
if ! podman image exists docker.io/library/debian:12-slim; then
  if ! podman pull -q docker.io/library/debian:12-slim 2>/dev/null; then
    echo "no registry: building debian:12 from Debian packages (mmdebstrap minbase)"
    mmdebstrap --variant=minbase --quiet bookworm "$work/base.tar"
    podman import -q "$work/base.tar" docker.io/library/debian:12-slim >/dev/null
    rm -f "$work/base.tar"
  fi
fi
podman image exists docker.io/library/debian:12 ||
  podman tag docker.io/library/debian:12-slim docker.io/library/debian:12

if [ -n "${SIRR_TEST_IMAGE:-}" ]; then  # iterate on this script against an image built before
  tag=$SIRR_TEST_IMAGE
else
echo "=== build $tag"
start=$(date +%s)
# The host's ccache and apt archives serve the build stage (no compiling or downloading again
# what the host's own build just did); the image itself is unaffected by them.
ccache_dir=${CCACHE_DIR:-$HOME/.cache/ccache}
mkdir -p "$ccache_dir"
podman build -q --format docker --network host -v "$ccache_dir:/ccache" \
  -v /var/cache/apt/archives:/var/cache/apt/archives \
  --build-arg SIRR_COMMIT="${tag#*:}" -t "$tag" . >/dev/null
echo "built in $(($(date +%s) - start)) s"
fi
podman tag "$tag" localhost/sirr:latest
size=$(podman image inspect --format '{{.Size}}' "$tag")
echo "image size: $((size / 1000000)) MB ($size bytes)"

# Material: a key, a token, a self-signed certificate for localhost / 127.0.0.1.
cd "$work"
head -c 32 /dev/urandom | base64 >master.key
head -c 32 /dev/urandom | base64 >other.key
openssl rand -hex 24 >admin.token
mkdir tls
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout tls/tls.key -out tls/tls.crt -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
# The container's user (10001) must read the mounts: owned by it, not readable by others.
chown 10001:10001 master.key other.key admin.token tls tls/tls.key tls/tls.crt
chmod 0400 master.key other.key admin.token tls/tls.key tls/tls.crt
chmod 0500 tls
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=$(cat admin.token)
url="https://127.0.0.1:$port"
api() { curl -sS --cacert tls/tls.crt -H "Authorization: Bearer $token" "$@"; }
wait_healthy() {  # the published port answers /health with 200
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert tls/tls.crt "$url/health")" = 200 ] && return 0
    sleep 0.2
  done
  return 1
}
# compose files as in the repository; only the published host port is changed (free port).
for f in compose.yaml compose.swarm.yaml; do
  sed "s/127.0.0.1:39999:39999/127.0.0.1:$port:39999/" "$repo/$f" >"$f"
done

echo "=== compose.yaml"
podman-compose -f compose.yaml up -d >compose.log 2>&1 || { cat compose.log; exit 1; }
ctr=$(podman ps --format '{{.Names}}' | grep -m1 sirrd || true)
if wait_healthy; then pass "starts and answers /health 200 over TLS on the published port"; else
  fail "not healthy"; podman logs "$ctr" 2>&1 | tail -5; fi
code=$(api -o /dev/null -w '%{http_code}' -X POST "$url/api/v1/vaults/default/secrets" \
  -H 'Content-Type: application/json' -d '{"name":"db","value":"hunter2"}' || true)
[ "$code" = 201 ] && pass "push over TLS" || fail "push answered $code"
value=$(api "$url/api/v1/vaults/default/secrets/db" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("value"))' 2>/dev/null || true)
[ "$value" = hunter2 ] && pass "pull over TLS" || fail "pull gave '$value'"
plain=$(curl -s "http://127.0.0.1:$port/health" || true)
grep -q "speaks TLS" <<<"$plain" && pass "plain HTTP to the TLS port is refused" || fail "plain HTTP: $plain"
uid=$(podman exec "$ctr" sh -c 'id -u' || true)
[ "$uid" = 10001 ] && pass "runs as uid 10001 (non-root)" || fail "runs as uid $uid"
if podman exec "$ctr" sh -c 'echo x >>/run/secrets/master.key' 2>/dev/null; then
  fail "the key mount is writable"; else pass "the key mount is read-only"; fi
if podman exec "$ctr" sh -c 'touch /usr/local/bin/x' 2>/dev/null; then
  fail "the root filesystem is writable"; else pass "read-only root filesystem"; fi
mode=$(podman exec "$ctr" stat -c %a /var/lib/sirr || true)
[ "$mode" = 700 ] && pass "data volume is 0700" || fail "data volume mode $mode"
if podman healthcheck run "$ctr" >/dev/null 2>&1; then pass "HEALTHCHECK (sirrd health) passes"; else
  fail "HEALTHCHECK fails"; fi
podman-compose -f compose.yaml down >>compose.log 2>&1
podman-compose -f compose.yaml up -d >>compose.log 2>&1
wait_healthy || true
value=$(api "$url/api/v1/vaults/default/secrets/db" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("value"))' 2>/dev/null || true)
[ "$value" = hunter2 ] && pass "data survives down/up" || fail "after down/up the secret is '$value'"
podman-compose -f compose.yaml down -v >>compose.log 2>&1

echo "=== fail-closed key handling"
# TLS and the admin token as in compose, so that the key is the only thing missing or wrong.
run_args=(-v "$work/tls:/run/secrets/tls:ro" -e SIRR_TLS_CERT_FILE=/run/secrets/tls/tls.crt
  -e SIRR_TLS_KEY_FILE=/run/secrets/tls/tls.key -v "$work/admin.token:/run/secrets/admin.token:ro"
  -e SIRR_ADMIN_TOKEN_FILE=/run/secrets/admin.token)
run_expect_exit() {  # name, extra podman args...: the container exits non-zero, one log line
  local name=$1; shift
  podman run -d --name "$name" "${run_args[@]}" "$@" "$tag" >/dev/null 2>&1
  local rc
  rc=$(podman wait "$name" 2>/dev/null || echo "?")
  local log
  log=$(podman logs "$name" 2>&1)
  podman rm -f "$name" >/dev/null 2>&1
  echo "$rc|$log"
}
out=$(run_expect_exit sirr-test-nokey)
rc=${out%%|*}; log=${out#*|}
if [ "$rc" != 0 ] && [ "$(wc -l <<<"$log")" = 1 ] && grep -q "master.key" <<<"$log"; then
  pass "missing key: exit $rc, one line: $log"; else fail "missing key: exit $rc, log: $log"; fi
# The volume from a run with the right key, then the wrong key.
podman volume rm -f sirr-test-data >/dev/null 2>&1 || true
podman run -d --name sirr-test-wrongkey "${run_args[@]}" -v sirr-test-data:/var/lib/sirr \
  -v "$work/master.key:/run/secrets/master.key:ro" "$tag" >/dev/null 2>&1
sleep 2
podman stop -t 10 sirr-test-wrongkey >/dev/null && podman rm sirr-test-wrongkey >/dev/null
out=$(run_expect_exit sirr-test-wrongkey -v sirr-test-data:/var/lib/sirr \
  -v "$work/other.key:/run/secrets/master.key:ro")
rc=${out%%|*}; log=${out#*|}
if [ "$rc" != 0 ] && [ "$(wc -l <<<"$log")" = 1 ] && grep -q "does not match" <<<"$log"; then
  pass "wrong key: exit $rc, one line: $log"; else fail "wrong key: exit $rc, log: $log"; fi
podman volume rm -f sirr-test-data >/dev/null 2>&1 || true

echo "=== compose.swarm.yaml (file-backed secrets)"
podman-compose -f compose.swarm.yaml up -d >swarm.log 2>&1 || { cat swarm.log; exit 1; }
if wait_healthy; then pass "swarm-secrets variant serves /health 200 over TLS"; else
  fail "swarm variant not healthy"; cat swarm.log | tail -5; fi
code=$(api -o /dev/null -w '%{http_code}' -X POST "$url/api/v1/vaults/default/secrets" \
  -H 'Content-Type: application/json' -d '{"name":"s","value":"v"}' || true)
[ "$code" = 201 ] && pass "swarm variant: push" || fail "swarm variant: push answered $code"
podman-compose -f compose.swarm.yaml down -v >>swarm.log 2>&1

echo "=== image contents"
podman image save -q -o image.tar "$tag"
mkdir layers && tar -xf image.tar -C layers
leaks=0
for t in $(find layers -type f); do
  for needle in "$(cat master.key)" "$token"; do
    if tar -xOf "$t" 2>/dev/null | grep -qaF "$needle" || grep -qaF "$needle" "$t"; then leaks=1; fi
  done
done
[ "$leaks" = 0 ] && pass "no key or token in any layer" || fail "a layer holds the key or token"
listing=$(for t in $(find layers -type f); do tar -tf "$t" 2>/dev/null || true; done)
# Files (not the empty standard directories) that only a build would leave.
built=$(sed 's|^\./||' <<<"$listing" | grep -E '^(src/.|build/.|usr/include/.|usr/src/.|usr/local/src/.|usr/local/include/.)|\.o$|CMakeCache\.txt$|^usr/bin/(g\+\+|c\+\+|gcc|cc|cmake|ninja)(-[0-9]+)?$' || true)
if [ -n "$built" ]; then fail "the image holds build files: $(head -3 <<<"$built" | tr '\n' ' ')"
else pass "no compiler, headers, sources or build tree in any layer"; fi
history=$(podman history --no-trunc --format '{{.CreatedBy}}' "$tag")
grep -qaF "$token" <<<"$history" && fail "history holds the token" || pass "history holds no token"

echo "=== summary: image $tag, $((size / 1000000)) MB; $failures failure(s)"
[ "$failures" = 0 ]
