#!/usr/bin/env bash
# Type-checks the web client, then runs its browser tests (web/test) in Debian's Chromium
# through playwright-core, against PARLEYD serving the bundle in WEB_DIR (the build's
# web_bundle target). Called by ctest (web_e2e_test); screenshots go to $SCREENSHOTS if set.
# Usage: scripts/web-test.sh PARLEYD WEB_DIR OUT_DIR
set -euo pipefail
parleyd=$1
web_dir=$2
out=$3
root=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -x /usr/bin/chromium ]; then
  echo "web-test: /usr/bin/chromium is missing (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
if [ ! -f "$web_dir/index.html" ]; then
  echo "web-test: no web client in $web_dir (build the web_bundle target)" >&2
  exit 1
fi
"$root/node_modules/.bin/tsc" -p "$root/web/tsconfig.json"
"$root/node_modules/.bin/tsc" -p "$root/web/test/tsconfig.json" --outDir "$out"
PARLEYD="$parleyd" WEB_DIR="$web_dir" exec node --experimental-websocket \
  --disable-warning=ExperimentalWarning --test --test-concurrency=1 "$out"/web/test/*.test.js
