#!/usr/bin/env bash
# bench-cluster.sh: `parley-bench pairs` through HAProxy against one node and against three
# nodes of the local cluster kit (scripts/cluster.sh: PostgreSQL primary + sync standby,
# Redis, HAProxy, n1-n3), in one run, with the CPU time each part used per phase.
#
#   scripts/bench-cluster.sh [parley-bench pairs options...]   e.g. --pairs 100 --seconds 10
#   SCENARIO=search scripts/bench-cluster.sh --lag-rate 2000 --lag-seconds 20
#       search lag instead: messages at --lag-rate while a probe measures how long after
#       its ack a message is found by search through another connection (another node)
#
# The kit runs in a temporary state dir (PARLEY_CLUSTER_DIR to choose one) and is taken
# down at the end. Environment: PARLEY_BENCH (default build/release/parley-bench),
# RUNS (default 1: phases 1 node, 3 nodes; RUNS=3 alternates them three times).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${PARLEY_BENCH:-$REPO/build/release/parley-bench}
KIT=$REPO/scripts/cluster.sh
RUNS=${RUNS:-1}
SCENARIO=${SCENARIO:-pairs}
case $SCENARIO in
  pairs) BENCH_ARGS=(pairs --no-perf) ;;
  search) BENCH_ARGS=(search --lag-only) ;;
  *) echo "bench-cluster: SCENARIO is pairs or search" >&2 && exit 2 ;;
esac
own_dir=""
if [[ -z ${PARLEY_CLUSTER_DIR:-} ]]; then
  PARLEY_CLUSTER_DIR=$(mktemp -d /tmp/parley-bench-cluster-XXXXXX)
  own_dir=$PARLEY_CLUSTER_DIR # removed at the end
fi
export PARLEY_CLUSTER_DIR
chmod 755 "$PARLEY_CLUSTER_DIR" # PostgreSQL runs as the postgres user when we are root
extra=$PARLEY_CLUSTER_DIR.node.toml
cat >"$extra" <<'T'
[accounts]
password_hash = "min"
T
export PARLEY_CLUSTER_NODE_TOML=$extra
# The load generator registers and logs in its users over few connections, and sends as
# fast as acks allow.
limits=$PARLEY_CLUSTER_DIR.limits.toml
# All its clients come from one address (127.0.0.1, named by HAProxy's X-Forwarded-For).
cat >"$limits" <<'T'
max_connections_per_ip = 0
handshake_rate_per_ip = 0
register_rate_per_ip = 0
auth_rate_per_conn = 1e6
auth_burst_per_conn = 1e6
send_rate_per_conn = 1e6
send_burst_per_conn = 1e6
send_rate_per_user = 1e6
send_burst_per_user = 1e6
T
export PARLEY_CLUSTER_LIMITS_TOML=$limits
trap '"$KIT" down >/dev/null 2>&1 || true; rm -f "$extra" "$limits"; [[ -z $own_dir ]] || rm -rf "$own_dir"' EXIT
"$KIT" up >&2
# shellcheck source=/dev/null
source "$PARLEY_CLUSTER_DIR/ports.env"
URL=$("$KIT" url)

# HAProxy's view of a node (its stats CSV: status column), polled until it is `want`.
haproxy_status() {
  curl -fsS --max-time 1 "http://127.0.0.1:$STATS_PORT/stats;csv" 2>/dev/null |
    awk -F, -v n="$1" '$1 == "parleyd" && $2 == n { print $18 }' || true
}
wait_haproxy() {
  local node=$1 want=$2 end=$((SECONDS + 20))
  until [[ $(haproxy_status "$node") == "$want"* ]]; do
    ((SECONDS < end)) || { echo "bench-cluster: $node not $want in HAProxy" >&2 && exit 1; }
    sleep 0.05
  done
}

# "pid ticks" (user + system CPU) of every process whose command name matches.
ticks() {
  local pid
  for pid in $(pgrep -x "$1" || true); do
    read -r -a f <"/proc/$pid/stat" 2>/dev/null || continue
    echo "$pid $((f[13] + f[14]))"
  done
}
# CPU ticks used since `before` (ticks' output) by the processes alive now; one that
# started since counts from 0, one that ended since is left out (its last ticks are lost,
# but counting its whole past against the phase would be worse).
used_since() {
  awk 'NR == FNR { before[$1] = $2; next } { total += $2 - ($1 in before ? before[$1] : 0) }
       END { print total + 0 }' <(echo "$1") <(ticks "$2")
}
PARTS=(parleyd postgres redis-server haproxy)

phase() {
  local label=$1
  shift
  local -A before
  local p
  for p in "${PARTS[@]}"; do before[$p]=$(ticks "$p"); done
  local t0=$EPOCHREALTIME all out load
  all=$("$BENCH" "${BENCH_ARGS[@]}" --server "$URL" "$@" 2>&1) || true # reported below
  out=$(tail -1 <<<"$all")
  # The search scenario's message load reports itself as a pairs run before the last line.
  load=$(grep '^{"scenario":"pairs"' <<<"$all" | tail -1 || true)
  local split="" hz now=$EPOCHREALTIME
  hz=$(getconf CLK_TCK)
  for p in "${PARTS[@]}"; do
    split+=$(awk -v p="$p" -v used="$(used_since "${before[$p]}" "$p")" -v hz="$hz" \
      -v t0="$t0" -v t1="$now" 'BEGIN { printf "\"%s\":%.2f,", p, used / hz / (t1 - t0) }')
  done
  if [[ $SCENARIO == search && -n $load ]]; then out="${out%\}},\"load\":$load}"; fi
  echo "{\"phase\":\"$label\",\"cpu_cores\":{${split%,}},\"bench\":$out}"
}

for ((r = 1; r <= RUNS; r++)); do
  "$KIT" kill n2 >&2
  "$KIT" kill n3 >&2
  wait_haproxy n2 DOWN
  wait_haproxy n3 DOWN
  phase "1 node" "$@"
  "$KIT" restart n2 >&2
  "$KIT" restart n3 >&2
  wait_haproxy n2 UP
  wait_haproxy n3 UP
  phase "3 nodes" "$@"
done
