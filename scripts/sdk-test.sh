#!/usr/bin/env bash
# Builds the TypeScript SDK (sdk/ts) into OUT_DIR and runs its `node --test` suites against
# PARLEYD (a real server each suite starts itself). Called by ctest (sdk_ts_test).
# Usage: scripts/sdk-test.sh PARLEYD OUT_DIR
set -euo pipefail
parleyd=$1
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "sdk-test: Node.js 20 or later is needed (found $(node --version))" >&2
  exit 1
fi
"$root/node_modules/.bin/tsc" -p "$root/sdk/ts/tsconfig.json" --outDir "$out"
# One suite file at a time: each starts its own parleyd, and the machine has 2 cores.
PARLEYD="$parleyd" exec node --experimental-websocket --disable-warning=ExperimentalWarning \
  --test --test-concurrency=1 "$out"/test/*.test.js
