#!/usr/bin/env bash
# The project's test command (`make test`, and what CI runs): install what is missing, then
# lint, type-check and run the whole test suite, PostgreSQL tests included.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
bash scripts/ensure_postgres.sh
bash scripts/ensure_chromium.sh

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== import contracts (the layer order, pyproject.toml)"
.venv/bin/lint-imports --no-cache
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
# the PostgreSQL and browser tests must run here: missing servers fail them instead of skipping
export SHOPKG_TEST_POSTGRES=require
export SHOPKG_TEST_BROWSER=require
# the graph-store suites in a random order (the seed is printed in the header; rerun a failing
# order with --shuffle-backends SEED): no test may depend on what an earlier one left behind
.venv/bin/pytest --shuffle-backends "${SHOPKG_TEST_SEED:-random}" "$@"
