#!/usr/bin/env bash
# The storage contract and the PostgreSQL backend's own unit tests against a private PostgreSQL
# server (issue 20): initdb into a temporary directory on a free loopback port, the tests, then
# the server is stopped and removed. Usage: test-pg-storage.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: test-pg-storage.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || { echo "SKIP: PostgreSQL is not installed (scripts/install-deps.sh)"; exit 77; }
work=$(mktemp -d /tmp/sirr-pg-storage.XXXXXX)
chmod 755 "$work"
trap 'bash "$here/pg-test-server.sh" stop "$work/pg"; rm -rf "$work"' EXIT
read -r url passfile < <(bash "$here/pg-test-server.sh" start "$work/pg")
echo "PostgreSQL at $url"
SIRR_TEST_DATABASE_URL=$url PGPASSFILE=$passfile \
  "$build/tests/sirr_unit_tests" --gtest_filter='*Postgres*' --gtest_brief=1
