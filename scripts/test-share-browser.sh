#!/usr/bin/env bash
# One-time share links in a real browser: sirrd serves the reveal page, Debian's headless
# Chromium (driven over the DevTools protocol by puppeteer-core) opens links made by
# `sirr share`, clicks Reveal, reads the value, reloads and sees "no longer available", on a
# desktop and a phone-sized viewport (tests/browser/share_reveal.mjs). Around it, with curl:
# the page without the fragment reveals nothing, a reveal without the right proof consumes
# nothing, the headers are strict, and neither the database, the audit log nor the server log
# holds the value or the fragment key. `sirr pull --share` reveals a link from a terminal.
# SIRR_SCREENSHOTS=DIR keeps the screenshots (docs/images holds the published ones).
# usage: test-share-browser.sh BUILD_DIR          (ctest: ClientSide.ShareLinkInBrowser)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib-sirrd.sh
ROOT=$PWD
build=$(realpath "${1:?usage: test-share-browser.sh BUILD_DIR}")
SIRR=$build/sirr
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
NODE_DIR=$ROOT/.oracles/node
[ -x "$CHROMIUM" ] || { echo "SKIP: chromium is not installed (scripts/install-deps.sh)"; exit 77; }
command -v node >/dev/null && [ -d "$NODE_DIR/node_modules/puppeteer-core" ] ||
  { echo "SKIP: node or puppeteer-core missing (scripts/install-oracles.sh)"; exit 77; }
W=$(mktemp -d /tmp/sirr-share.XXXXXX)
trap 'stop_sirrd "$W"' EXIT
fail() { echo "FAIL: $*"; tail -20 "$W/sirrd.log"; exit 1; }
ok() { echo "ok: $*"; }

start_sirrd "$build" "$W" || fail "sirrd did not start"

# A token that may only make share links.
SHARER=$("$SIRR" token create --name sharer --cap shares:create 2>/dev/null)
SECRET="tr0ub4dor&3 $(openssl rand -hex 8) ünïcödé"
mk() { printf '%s' "$SECRET" | SIRR_TOKEN=$SHARER "$SIRR" share --ttl 10m 2>/dev/null; }
LINK=$(mk)
PHONE=$(mk)
CLI_LINK=$(mk)
NOFRAG=$(mk)
case "$LINK" in "$SIRR_SERVER"/s/*'#'*) ;; *) fail "sirr share printed '$LINK'" ;; esac
ok "sirr share prints $SIRR_SERVER/s/<id>#<key>"
KEY=${LINK#*#}
PAGE=${LINK%%#*}
ID=${PAGE##*/}

# Without the fragment, the page reveals nothing; it is the same static page for everyone.
curl -s -D "$W/headers" -o "$W/page.html" "$PAGE"
grep -q "$SECRET" "$W/page.html" && fail "the page holds the value"
grep -qi '^content-security-policy: default-src .none.; script-src .self.' "$W/headers" || fail "no strict CSP"
grep -qi '^referrer-policy: no-referrer' "$W/headers" || fail "no Referrer-Policy"
grep -qi '^x-robots-tag: noindex' "$W/headers" || fail "no noindex"
grep -qi '^cache-control: no-store' "$W/headers" || fail "the page may be cached"
grep -qi '^set-cookie' "$W/headers" && fail "the page sets a cookie"
grep -Eq 'src="https?:|href="https?:' "$W/page.html" && fail "the page loads an external resource"
ok "the page: strict CSP, no-referrer, noindex, no-store, no cookies, no external resources"
# Someone who knows only the id can neither read nor burn the share.
for body in '{}' '{"proof":"AAAA"}' '{"proof":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}'; do
  code=$(curl -s -o "$W/r.json" -w '%{http_code}' -X POST -d "$body" "$SIRR_SERVER/api/v1/shares/$ID/reveal")
  case "$code" in 404 | 422) ;; *) fail "a reveal without the right proof got $code" ;; esac
  grep -q "$SECRET" "$W/r.json" && fail "a reveal without the proof returned the value"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$PAGE")" = 200 ] || fail "wrong proofs consumed the share"
ok "reveals without the right proof are refused and consume nothing"
code=$(curl -s -o /dev/null -w '%{http_code}' "$SIRR_SERVER/s/00000000-0000-4000-8000-000000000000")
[ "$code" = 404 ] || fail "an unknown share's page answered $code"

# The browser.
SHOTS=${SIRR_SCREENSHOTS:-$W/shots}
mkdir -p "$SHOTS"
cp tests/browser/share_reveal.mjs "$NODE_DIR/share_reveal.mjs"
(cd "$NODE_DIR" && CHROMIUM=$CHROMIUM node share_reveal.mjs "$LINK" "$PHONE" "${NOFRAG%%#*}" "$SECRET" "$SHOTS") ||
  fail "the browser checks failed"
# The link opened without its key in the browser is still whole: the terminal reveals it.
[ "$("$SIRR" pull --share "$NOFRAG")" = "$SECRET" ] || fail "the keyless visit consumed the link"
[ "$(env -u SIRR_TOKEN "$SIRR" pull --share "$CLI_LINK")" = "$SECRET" ] || fail "sirr pull --share"
if "$SIRR" pull --share "$CLI_LINK" 2>"$W/err"; then fail "a used link revealed twice"; fi
grep -q 'no longer available' "$W/err" || fail "a used link: $(cat "$W/err")"
if "$SIRR" pull --share "${CLI_LINK%%#*}" 2>"$W/err"; then fail "a link without its key worked"; fi
ok "sirr pull --share reveals once, then says the link is no longer available"

# Nothing on the server side holds the value or a link's key.
sleep 0.3  # the access log is flushed every 100 ms
python3 - "$W/data" "$W/sirrd.log" "$SECRET" "$KEY" "${PHONE#*#}" "${CLI_LINK#*#}" <<'EOF' || fail "server-side leak"
import os, sys
data, log, *needles = sys.argv[1:]
files = [log] + [os.path.join(r, f) for r, _, fs in os.walk(data) for f in fs]
for path in files:
    blob = open(path, 'rb').read()
    for n in needles:
        if n.encode() in blob:
            sys.exit(f"{path} contains {'the value' if n == needles[0] else 'a link key'}")
print(f"ok: none of {len(files)} server files (database, WAL, audit log, sirrd log) holds the value or a key")
EOF
grep -q '"action":"share.reveal"' "$W/data/audit.log" || fail "reveals are not audited"
# An expired link: the same "no longer available" page.
SHORT=$(printf 'brief' | "$SIRR" share --ttl 1 2>/dev/null)
sleep 1.2
curl -s -o "$W/expired.html" -w '%{http_code}' "${SHORT%%#*}" | grep -q 404 || fail "an expired link's page"
grep -q 'data-state="gone"' "$W/expired.html" || fail "an expired link is not 'no longer available'"
if "$SIRR" pull --share "$SHORT" 2>/dev/null; then fail "an expired link revealed"; fi
ok "an expired link is no longer available"
# Page views and reveal attempts are limited per address (last: this address is now limited).
# The 429 itself must say when to retry (a request after it may already be allowed again: the
# limit refills while the loop runs).
limited=0
for _ in $(seq 40); do
  code=$(curl -s -D "$W/limited.headers" -o /dev/null -w '%{http_code}' "$PAGE")
  [ "$code" = 429 ] && limited=1 && break
done
[ $limited = 1 ] || fail "40 page views in a row were never rate limited"
grep -qi '^retry-after: [0-9]' "$W/limited.headers" || fail "no Retry-After on the 429"
ok "page views and reveals are rate limited per address (429 + Retry-After)"
"$build/sirrd" audit verify "$W/data/audit.log" >/dev/null 2>&1 ||
  SIRR_KEY_FILE=$W/key "$build/sirrd" audit verify "$W/data/audit.log" >/dev/null || fail "audit chain"
echo "PASS: share links in Chromium"
