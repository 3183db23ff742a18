#!/usr/bin/env bash
# Key operations per second over HTTP (loopback, wrk) next to the raw primitive rate on the
# same machine in the same run (Google Benchmark of the crypto layer, 1 and 2 threads, and
# `openssl speed` for RSA-2048 and Ed25519). Usage: bash bench/keys.sh [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-10}; C=${2:-16}
bash scripts/install-deps.sh --bench
[ -x build/sirrd ] && [ -x build/bench/sirr_crypto_bench ] || bash scripts/build.sh
source bench/start_sirrd.sh
BASE=http://127.0.0.1:$PORT
K=/api/v1/vaults/default/keys
for spec in AES-256-GCM Ed25519 secp256k1 RSA-2048 babyJubJub; do
  curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $SIRR_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"name\":\"bench-$spec\",\"spec\":\"$spec\"}" "$BASE$K"
done
curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $SIRR_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"bench-BIP39","spec":"BIP39"}' "$BASE$K"
DIGEST=a0dc65ffca799873cbea0ac274015b9526505daaaed385155425f7337704883e
FIELD=0a0dc65ffca799873cbea0ac274015b9526505daaaed385155425f7337704883  # < p: a Baby Jubjub message
BJSIG=$(curl -fsS -X POST -H "Authorization: Bearer $SIRR_TOKEN" -H 'Content-Type: application/json' \
  -d "{\"message\":\"$FIELD\"}" "$BASE$K/bench-babyJubJub/sign" | sed 's/.*"signature":"\([0-9a-f]*\)".*/\1/')

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); sirrd threads=${SIRR_THREADS:-2}"
run() {  # name path body
  echo "--- HTTP $1, $C connections, ${D}s"
  OP_PATH=$2 OP_BODY=$3 wrk -t2 -c"$C" -d"${D}s" --latency -s bench/op.lua "$BASE$2" | grep -E 'Requests/sec|requests='
}
run "AES-256-GCM encrypt (64 bytes)" "$K/bench-AES-256-GCM/encrypt" "{\"data\":\"$(printf 'a%.0s' $(seq 64))\"}"
run "Ed25519 sign (32 bytes)" "$K/bench-Ed25519/sign" "{\"message\":\"$DIGEST\"}"
run "secp256k1 sign (32-byte digest)" "$K/bench-secp256k1/sign" "{\"message\":\"$DIGEST\"}"
run "RSA-2048 PS256 sign (32 bytes)" "$K/bench-RSA-2048/sign" "{\"message\":\"$DIGEST\",\"options\":{\"algorithm\":\"PS256\"}}"
run "HD wallet (BIP39) derive-and-sign, given path" "$K/bench-BIP39/sign" "{\"message\":\"$DIGEST\",\"options\":{\"hdwallet\":{\"hd_derivation_path\":\"m/44'/60'/0'/0/7\"}}}"
run "HD wallet (BIP39) derive-and-sign, next index (durable index advance)" "$K/bench-BIP39/sign" "{\"message\":\"$DIGEST\"}"
run "Baby Jubjub EdDSA-Poseidon sign (field element)" "$K/bench-babyJubJub/sign" "{\"message\":\"$FIELD\"}"
run "Baby Jubjub EdDSA-Poseidon verify" "$K/bench-babyJubJub/verify" "{\"message\":\"$FIELD\",\"signature\":\"$BJSIG\"}"
kill "$(cat "$W/sirrd.pid")"; rm -f "$W/sirrd.pid"

echo "--- raw primitives (crypto layer, Google Benchmark; items_per_second)"
build/bench/sirr_crypto_bench --benchmark_min_time=2 2>/dev/null | grep -E '^BM_'
echo "--- openssl speed, 2 processes (-multi 2)"
openssl speed -seconds 5 -multi 2 rsa2048 2>/dev/null | grep -E '^rsa 2048'
openssl speed -seconds 5 -multi 2 ed25519 2>/dev/null | grep -E 'Ed25519\)$|^ 253'
