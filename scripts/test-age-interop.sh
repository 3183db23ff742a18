#!/usr/bin/env bash
# age interoperability, both ways, with two independent implementations: Debian's age 1.1.1 (Go)
# and the npm age-encryption package (TypeScript). `sirr age` encrypts and decrypts binary and
# armored files, X25519 (several recipients) and passphrase, empty to multi-chunk payloads; the
# others open ours and we open theirs. Tampered, truncated and wrongly keyed files are refused
# with age's error classes. Then end to end through a real sirrd: `sirr push -r` stores only the
# age file (read back with --raw and opened by age), an age file made by age is pushed and
# `sirr pull -i` opens it, and a pull without an identity reads nothing.
# usage: test-age-interop.sh BUILD_DIR          (ctest: ClientSide.AgeInterop)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib-sirrd.sh
ROOT=$PWD
build=$(realpath "${1:?usage: test-age-interop.sh BUILD_DIR}")
SIRR=$build/sirr
command -v age >/dev/null || { echo "SKIP: the age CLI is not installed (scripts/install-deps.sh)"; exit 77; }
NODE_DIR=$ROOT/.oracles/node
HAVE_NODE=0
if command -v node >/dev/null && [ -d "$NODE_DIR/node_modules/age-encryption" ]; then
  HAVE_NODE=1
  cp tests/oracles/age_node.mjs "$NODE_DIR/age_node.mjs"
else
  echo "NOTE: npm age-encryption missing (scripts/install-oracles.sh): the TypeScript half is skipped"
fi
W=$(mktemp -d /tmp/sirr-age.XXXXXX)
trap 'stop_sirrd "$W"' EXIT
fail() { echo "FAIL: $*"; [ -f "$W/sirrd.log" ] && tail -20 "$W/sirrd.log"; exit 1; }
checks=0
# (age -d -o does not create the file for an empty plaintext: a missing output is empty)
same() {
  [ -e "$2" ] || : >"$2"
  cmp -s "$1" "$2" || fail "$3: the output differs from the input"
  checks=$((checks + 1))
}
node_age() { (cd "$NODE_DIR" && node age_node.mjs "$@"); }
pty_age() { PASSPHRASE=$PW python3 "$ROOT/tests/oracles/tty_answer.py" age "$@" >/dev/null 2>&1; }

cd "$W"
# Keys: ours and age-keygen's agree on the recipient of each other's identity.
age-keygen -o go.key 2>/dev/null
"$SIRR" age keygen -o ours.key 2>/dev/null
[ "$(stat -c %a ours.key)" = 600 ] || fail "sirr age keygen wrote mode $(stat -c %a ours.key), want 600"
[ "$("$SIRR" age recipient -i go.key)" = "$(age-keygen -y go.key)" ] || fail "recipient of age-keygen's key"
[ "$("$SIRR" age recipient -i ours.key)" = "$(age-keygen -y ours.key)" ] || fail "recipient of our key"
R_GO=$(age-keygen -y go.key)
R_OURS=$("$SIRR" age recipient -i ours.key)
PW='correct horse battery staple'
printf '%s\n' "$PW" >pw.txt
checks=$((checks + 2))

# Payloads: empty, one byte, text, binary with NULs, exactly one chunk, several chunks.
: >p.empty
printf 'x' >p.one
printf 'hello vault\n' >p.text
printf 'a\0b\0\0c\377\n' >p.nul
head -c 65536 /dev/urandom >p.chunk
head -c 300000 /dev/urandom >p.multi
for p in p.empty p.one p.text p.nul p.chunk p.multi; do
  for armor in "" "-a"; do
    tag="$p${armor:+ armored}"
    # ours -> age (Go), two recipients: each identity alone opens it
    "$SIRR" age encrypt $armor -r "$R_GO" -r "$R_OURS" -o "$p.ours.age" "$p"
    age -d -i go.key -o "$p.go.out" "$p.ours.age" || fail "age -d of our file ($tag)"
    same "$p" "$p.go.out" "age opens ours ($tag)"
    "$SIRR" age decrypt -i ours.key -o "$p.ours.out" "$p.ours.age" || fail "our own file ($tag)"
    same "$p" "$p.ours.out" "ours opens ours ($tag)"
    # age (Go) -> ours
    age -e $armor -r "$R_OURS" -o "$p.go.age" "$p"
    "$SIRR" age decrypt -i ours.key -o "$p.ours2.out" "$p.go.age" || fail "ours opens age's ($tag)"
    same "$p" "$p.ours2.out" "ours opens age's ($tag)"
    if [ $HAVE_NODE = 1 ]; then
      node_age decrypt-i "$W/ours.key" "$W/$p.ours.age" "$W/$p.js.out" || fail "age-encryption opens ours ($tag)"
      same "$p" "$p.js.out" "age-encryption opens ours ($tag)"
      node_age encrypt-r "$R_OURS" "$W/$p" "$W/$p.js.age" ${armor:+armor}
      "$SIRR" age decrypt -i ours.key -o "$p.ours3.out" "$p.js.age" || fail "ours opens age-encryption's ($tag)"
      same "$p" "$p.ours3.out" "ours opens age-encryption's ($tag)"
    fi
  done
done

# Passphrase (scrypt, work factor 18 as age uses): ours <-> age (on a pty) <-> age-encryption.
for p in p.empty p.nul p.multi; do
  "$SIRR" age encrypt --passphrase-file pw.txt -o "$p.pw.age" "$p"
  grep -aq '^-> scrypt ' "$p.pw.age" || fail "no scrypt stanza in our passphrase file"
  pty_age -d -o "$p.pw.go.out" "$p.pw.age" || fail "age -d -p of our passphrase file ($p)"
  same "$p" "$p.pw.go.out" "age opens our passphrase file ($p)"
  pty_age -e -p -o "$p.go.pw.age" "$p" || fail "age -p could not encrypt ($p)"
  "$SIRR" age decrypt --passphrase-file pw.txt -o "$p.pw.ours.out" "$p.go.pw.age" ||
    fail "ours opens age's passphrase file ($p)"
  same "$p" "$p.pw.ours.out" "ours opens age's passphrase file ($p)"
  if [ $HAVE_NODE = 1 ]; then
    node_age decrypt-p "$PW" "$W/$p.pw.age" "$W/$p.pw.js.out" || fail "age-encryption opens our passphrase file"
    same "$p" "$p.pw.js.out" "age-encryption opens our passphrase file ($p)"
    node_age encrypt-p "$PW" "$W/$p" "$W/$p.js.pw.age" armor
    "$SIRR" age decrypt --passphrase-file pw.txt -o "$p.pw.ours2.out" "$p.js.pw.age" ||
      fail "ours opens age-encryption's passphrase file"
    same "$p" "$p.pw.ours2.out" "ours opens age-encryption's passphrase file ($p)"
  fi
done

# Refusals, with age's error classes; a refused file writes nothing to stdout.
refused() {  # refused CLASS-REGEX DESCRIPTION -- command...
  local want=$1 what=$2
  shift 3
  if "$@" >out.txt 2>err.txt; then fail "$what: accepted"; fi
  grep -Eq "$want" err.txt || fail "$what: got '$(cat err.txt)', want /$want/"
  checks=$((checks + 1))
}
age -e -r "$R_OURS" -o t.age p.multi
python3 - t.age <<'EOF'
import sys
b = open(sys.argv[1], 'rb').read()
hdr = b.index(b"\n---") + 1
open("t.header", "wb").write(b[:30] + bytes([b[30] ^ 1]) + b[31:])         # in the stanza
open("t.mac", "wb").write(b[:hdr + 6] + bytes([b[hdr + 6] ^ 1]) + b[hdr + 7:])  # in the MAC
open("t.chunk", "wb").write(b[:-10] + bytes([b[-10] ^ 1]) + b[-9:])      # last chunk
open("t.trunc", "wb").write(b[:-40000])                                   # final chunk cut
open("t.tail", "wb").write(b + b"garbage")                                # trailing data
EOF
refused 'age: (header|no identity)' "a changed stanza" -- "$SIRR" age decrypt -i ours.key t.header
refused 'age: header' "a changed header MAC" -- "$SIRR" age decrypt -i ours.key t.mac
refused 'age: payload' "a changed chunk" -- "$SIRR" age decrypt -i ours.key t.chunk
refused 'age: payload' "a truncated file" -- "$SIRR" age decrypt -i ours.key t.trunc
refused 'age: payload' "trailing garbage" -- "$SIRR" age decrypt -i ours.key t.tail
refused 'no identity matched' "the wrong identity" -- "$SIRR" age decrypt -i go.key t.age
refused 'no identity matched' "a passphrase file opened with an identity" -- "$SIRR" age decrypt -i ours.key p.nul.pw.age
printf 'wrong\n' >wrong.txt
refused 'incorrect passphrase' "the wrong passphrase" -- "$SIRR" age decrypt --passphrase-file wrong.txt p.nul.pw.age
refused 'cannot be combined' "a passphrase with recipients" -- "$SIRR" age encrypt --passphrase-file pw.txt -r "$R_GO" p.text
refused 'malformed age recipient' "a bad recipient" -- "$SIRR" age encrypt -r age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq p.text
printf 'not an identity\n' >bad.key
refused 'line 1' "a malformed identity file" -- "$SIRR" age decrypt -i bad.key t.age
[ ! -s out.txt ] || fail "a refused decryption printed plaintext"

# End to end through sirrd.
start_sirrd "$build" "$W" || fail "sirrd did not start"
"$SIRR" push bin/multi -r "$R_GO" -r "$R_OURS" --file p.multi >/dev/null
"$SIRR" --json inspect bin/multi | grep -q '"content_type": "application/age"' || fail "no content_type"
"$SIRR" list | grep -q 'application/age' || fail "list does not show the content type"
"$SIRR" pull bin/multi --raw >raw.age
age -d -i go.key -o raw.out raw.age || fail "age cannot open what sirr push -r stored"
same p.multi raw.out "age opens the stored age file"
"$SIRR" pull bin/multi -i ours.key >pulled.out || fail "sirr pull -i"
same p.multi pulled.out "sirr pull -i"
SIRR_AGE_IDENTITY=$W/go.key "$SIRR" pull bin/multi >pulled2.out || fail "sirr pull with SIRR_AGE_IDENTITY"
same p.multi pulled2.out "sirr pull with SIRR_AGE_IDENTITY"
# The server never held the plaintext: not in the database, not in the log.
python3 - "$W/p.multi" "$W/data" "$W/sirrd.log" <<'EOF' || fail "plaintext found on the server side"
import os, sys
needle = open(sys.argv[1], 'rb').read()[1000:1032]
for root, _, files in os.walk(sys.argv[2]):
    for f in files + [] :
        if needle in open(os.path.join(root, f), 'rb').read():
            sys.exit(f"found in {f}")
if needle in open(sys.argv[3], 'rb').read():
    sys.exit("found in the log")
EOF
# An age file made by age, pushed as is, opened by sirr pull.
age -e -a -r "$R_OURS" -o go-armored.age p.nul
"$SIRR" push bin/from-age --file go-armored.age --content-type application/age >/dev/null
"$SIRR" pull bin/from-age -i ours.key >from-age.out || fail "sirr pull -i of age's armored file"
same p.nul from-age.out "sirr pull opens age's file"
# Passphrase through the server.
"$SIRR" push bin/pw --passphrase-file pw.txt --value 'by passphrase' >/dev/null
[ "$("$SIRR" pull bin/pw --passphrase-file pw.txt)" = "by passphrase" ] || fail "passphrase pull"
# Without an identity nothing is read; with the wrong one the burned ciphertext is kept.
"$SIRR" push bin/once -r "$R_OURS" --value 'read me once' --reads 1 >/dev/null
if "$SIRR" pull bin/once >out.txt 2>err.txt; then fail "pull of an age secret without identity succeeded"; fi
grep -q 'Nothing was read' err.txt || fail "no clear message without an identity: $(cat err.txt)"
"$SIRR" --json inspect bin/once | grep -q '"reads_remaining": 1' || fail "the refused pull used up a read"
if "$SIRR" pull bin/once -i go.key >out.txt 2>err.txt; then fail "pull with the wrong identity succeeded"; fi
saved=$(ls sirr-*.age 2>/dev/null | head -1)
[ -n "$saved" ] || fail "the burned secret's age file was not kept: $(cat err.txt)"
[ "$("$SIRR" age decrypt -i ours.key "$saved")" = "read me once" ] || fail "the kept age file does not open"
checks=$((checks + 12))
echo "PASS: $checks age interoperability checks (node half: $([ $HAVE_NODE = 1 ] && echo run || echo skipped))"
