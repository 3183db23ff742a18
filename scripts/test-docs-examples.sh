#!/usr/bin/env bash
# Runs the examples of docs/client-side-encryption.md exactly as written (the code block after
# each "<!-- example: shell|python|javascript -->" marker) against a real sirrd, with
# SIRR_SERVER, SIRR_TOKEN, RECIPIENT and IDENTITY set as the document says.
# usage: test-docs-examples.sh BUILD_DIR          (ctest: ClientSide.DocsExamplesRun)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib-sirrd.sh
ROOT=$PWD
build=$(realpath "${1:?usage: test-docs-examples.sh BUILD_DIR}")
DOC=docs/client-side-encryption.md
command -v age >/dev/null || { echo "SKIP: the age CLI is not installed (scripts/install-deps.sh)"; exit 77; }
W=$(mktemp -d /tmp/sirr-docs.XXXXXX)
trap 'stop_sirrd "$W"' EXIT
fail() { echo "FAIL: $*"; tail -20 "$W/sirrd.log"; exit 1; }

# The examples, one file each.
/usr/bin/python3 - "$DOC" "$W" <<'PY'
import re, sys
doc, out = sys.argv[1], sys.argv[2]
text = open(doc).read()
found = re.findall(r"<!-- example: (\w+) -->\n```\w*\n(.*?)\n```", text, re.S)
names = [n for n, _ in found]
if sorted(names) != ["javascript", "python", "shell"]:
    sys.exit(f"expected one shell, python and javascript example, found {names}")
for name, code in found:
    open(f"{out}/example.{name}", "w").write(code + "\n")
PY

start_sirrd "$build" "$W" || fail "sirrd did not start"
age-keygen -o "$W/identity.txt" 2>/dev/null
export IDENTITY=$W/identity.txt RECIPIENT=$(age-keygen -y "$W/identity.txt")
export PATH=$build:$PATH  # the examples call `sirr`

echo "--- shell example"
(cd "$W" && bash example.shell) || fail "the shell example"
echo "--- python example"
(cd "$W" && /usr/bin/python3 example.python) || fail "the python example"
NODE_DIR=$ROOT/.oracles/node
if command -v node >/dev/null && [ -d "$NODE_DIR/node_modules/age-encryption" ]; then
  echo "--- javascript example"
  cp "$W/example.javascript" "$NODE_DIR/docs_example.mjs"
  (cd "$NODE_DIR" && node docs_example.mjs) || fail "the javascript example"
else
  echo "SKIP: the javascript example (node or age-encryption missing: scripts/install-oracles.sh)"
fi
echo "PASS: the examples of $DOC run as written"
