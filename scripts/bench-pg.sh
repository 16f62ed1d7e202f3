#!/usr/bin/env bash
# bench-pg.sh: `parley-bench store` on PostgreSQL with a synchronous standby, as cluster mode
# runs it — a primary and its sync standby started by scripts/pg-cluster.sh in a temporary
# directory on loopback ports, stopped and removed at the end.
#
#   scripts/bench-pg.sh [parley-bench store options...]
#   e.g. scripts/bench-pg.sh --seconds 10 --fill 1000000
#
# Environment: PARLEY_BENCH (default build/release/parley-bench), PG_PORT_1/PG_PORT_2
# (default 55533/55534).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${PARLEY_BENCH:-$REPO/build/release/parley-bench}
DIR=$(mktemp -d /tmp/parley-bench-pg-XXXXXX)
chmod 755 "$DIR" # PostgreSQL runs as the postgres user when we are root
cleanup() {
  "$REPO/scripts/pg-cluster.sh" stop "$DIR" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
"$REPO/scripts/pg-cluster.sh" init "$DIR" "${PG_PORT_1:-55533}" "${PG_PORT_2:-55534}" >&2
URL=$("$REPO/scripts/pg-cluster.sh" url "$DIR")
"$BENCH" store --store postgres --pg-url "$URL" "$@"
