#!/usr/bin/env bash
# Make sure PostgreSQL 15's server binaries are present (Debian's postgresql-15 package).
# The tests start and stop their own throwaway server; nothing is left running.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    echo "ensure_postgres: PostgreSQL is missing and we are not root; install postgresql-15" >&2
    exit 1
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "ensure_postgres: installing postgresql-15 from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
# Debian's package starts a cluster of its own; the tests need none
$SUDO service postgresql stop >/dev/null 2>&1 || true
