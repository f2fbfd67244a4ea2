#!/usr/bin/env bash
# Create or reuse the project's virtual environment (.venv) and install ShopKG into it.
# Reinstalls only when pyproject.toml or constraints.txt changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "bootstrap: $PYTHON not found; ShopKG needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi

stamp=.venv/.shopkg-installed
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "bootstrap: installing ShopKG and its dependencies into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip setuptools wheel
    # torch==2.13.0 is pinned (CPU build); an unpinned torch would pull CUDA packages.
    # The ray extra too: its tests (the build on a local Ray) are part of `make test`
    .venv/bin/python -m pip install --quiet -c constraints.txt -e '.[dev,ray]'
    echo "$want" > "$stamp"
fi

# the web app's browser assets (cytoscape, chart.js) come from npm at build time, never a CDN
assets_stamp=webapp/static/vendor/.built-from
assets_want="$(sha256sum webapp/frontend/package-lock.json | cut -d' ' -f1)"
if [ ! -f "$assets_stamp" ] || [ "$(cat "$assets_stamp")" != "$assets_want" ]; then
    echo "bootstrap: building the web app's browser assets with npm"
    bash scripts/build_assets.sh
    echo "$assets_want" > "$assets_stamp"
fi
