#!/usr/bin/env bash
# Build the web app's third-party browser assets: `npm ci` from webapp/frontend's lock file (in a
# temporary copy, so no node_modules lands in the tree), then copy the minified dist files and
# their licences into webapp/static/vendor/. Nothing is fetched at run time; no CDN.
set -euo pipefail
cd "$(dirname "$0")/.."

FRONTEND=webapp/frontend
VENDOR=webapp/static/vendor
if ! command -v npm >/dev/null 2>&1; then
    echo "build_assets: npm not found; install Node.js 18+ (apt-get install nodejs npm)" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$FRONTEND/package.json" "$FRONTEND/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

mkdir -p "$VENDOR"
modules="$work/node_modules"
install -m 0644 "$modules/cytoscape/dist/cytoscape.min.js" "$VENDOR/cytoscape.min.js"
install -m 0644 "$modules/cytoscape/LICENSE" "$VENDOR/cytoscape.LICENSE.txt"
install -m 0644 "$modules/chart.js/dist/chart.umd.min.js" "$VENDOR/chart.umd.min.js"
install -m 0644 "$modules/chart.js/LICENSE.md" "$VENDOR/chart.js.LICENSE.md"
# record what was built, so the app can say which versions it serves
node -e '
const lock = require(process.argv[1]);
const pick = (n) => lock.packages["node_modules/" + n].version;
console.log(JSON.stringify({"cytoscape": pick("cytoscape"), "chart.js": pick("chart.js")}, null, 2));
' "$PWD/$FRONTEND/package-lock.json" > "$VENDOR/versions.json"
echo "build_assets: wrote $(ls "$VENDOR" | tr '\n' ' ')"
