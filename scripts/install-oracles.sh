#!/usr/bin/env bash
# Installs the npm test oracles (tests/oracles/node/package.json: @noble/curves, @noble/hashes,
# @scure/bip32, @scure/bip39, circomlibjs, age-encryption; puppeteer-core drives Debian's chromium)
# into .oracles/node, where the tests look for them. Idempotent. Tests that need them skip
# with a printed reason when they are missing (for example with no npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=.oracles/node
mkdir -p "$DIR"
cp tests/oracles/node/package.json "$DIR/package.json"
if [ -d "$DIR/node_modules/@noble/curves" ] && [ -d "$DIR/node_modules/@noble/hashes" ] &&
  [ -d "$DIR/node_modules/@scure/bip32" ] && [ -d "$DIR/node_modules/@scure/bip39" ] &&
  [ -d "$DIR/node_modules/circomlibjs" ] && [ -d "$DIR/node_modules/age-encryption" ] &&
  [ -d "$DIR/node_modules/puppeteer-core" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "install-oracles: npm not found; npm oracle tests will be skipped" >&2
  exit 0
fi
echo "installing npm oracles into $DIR"
(cd "$DIR" && npm install --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' || true)
