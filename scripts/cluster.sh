#!/usr/bin/env bash
# cluster.sh: Parley's local cluster kit — PostgreSQL primary + sync standby
# (scripts/pg-cluster.sh), Redis, three parleyd nodes n1-n3 and HAProxy, all on loopback
# ports, state under .cluster/ in the repository (docs/cluster.md).
#
#   scripts/cluster.sh up              start whatever is not running, print the status
#   scripts/cluster.sh down            stop everything (the state dir stays; rm -rf .cluster)
#   scripts/cluster.sh status          each part's state and HAProxy's ws:// URL
#   scripts/cluster.sh kill NODE       SIGKILL: n1|n2|n3, redis, haproxy, pg-primary
#   scripts/cluster.sh restart NODE    stop (gracefully) and start: n1|n2|n3, redis, haproxy
#   scripts/cluster.sh url             the ws:// URL: PARLEY_SERVER=$(scripts/cluster.sh url)
#   scripts/cluster.sh pg CMD          scripts/pg-cluster.sh CMD on the kit's PostgreSQL
#                                      (status, promote, rebuild, kill-primary, …)
#   scripts/cluster.sh drill node NODE time SIGKILL of NODE -> HAProxy marks it DOWN
#   scripts/cluster.sh drill pg        time SIGKILL of the PG primary -> writes resume
#
# Environment:
#   PARLEY_CLUSTER_ENGINE  postgres (default): the nodes share the kit's PostgreSQL
#                          ([storage] engine = "postgres") and Redis ([cluster]); rocksdb:
#                          each node has its own embedded store — three separate servers
#                          behind HAProxy, enough to exercise routing and health checks.
#   PARLEY_CLUSTER_REDIS   1: write the [cluster] table (node name, Redis address) into the
#                          node configs; default 1 with the postgres engine, 0 otherwise.
#                          Both are remembered at `up` (STATE/engine) for later commands.
#   PARLEY_CLUSTER_NODE_TOML  a file appended to every node's config (e.g. [accounts]
#                          password_hash = "min" for tests); it must not repeat the tables
#                          the kit writes: [server], [admin], [limits], [storage], [cluster].
#                          Read at `up` and kept for later restarts.
#   PARLEY_CLUSTER_LIMITS_TOML  a file of `key = value` lines added to the nodes' [limits]
#                          table (e.g. auth_rate_per_conn = 1e6 for a load generator that
#                          registers many users on one connection). Read at `up` and kept
#                          (STATE/limits-extra.toml) for later restarts.
#   PARLEY_CLUSTER_DIR     the state dir (default REPO/.cluster)
#   PARLEY_CLUSTER_BUILD   where parleyd is (default REPO/build/release)
#   PARLEY_CLUSTER_PORT    the first port tried (default 17800); the ports are chosen free
#                          at the first `up` and kept in STATE/ports.env
#   PARLEY_CLUSTER_WAIT_S  the bound of every wait (default 60)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
STATE=${PARLEY_CLUSTER_DIR:-$REPO/.cluster}
BUILD=${PARLEY_CLUSTER_BUILD:-$REPO/build/release}
# The engine chosen at `up` stays for later commands (restart n2) unless set again.
if [[ -z ${PARLEY_CLUSTER_ENGINE:-} && -f $STATE/engine ]]; then
  read -r PARLEY_CLUSTER_ENGINE PARLEY_CLUSTER_REDIS <"$STATE/engine"
fi
ENGINE=${PARLEY_CLUSTER_ENGINE:-postgres}
WAIT_S=${PARLEY_CLUSTER_WAIT_S:-60}
PG_CLUSTER=$REPO/scripts/pg-cluster.sh
HAPROXY_TEMPLATE=$REPO/deploy/haproxy/parley.cfg
NODES=(n1 n2 n3)
POLL_NAME=cluster
# shellcheck source=scripts/poll-lib.sh
source "$REPO/scripts/poll-lib.sh"
case $ENGINE in
  rocksdb) REDIS_TABLE=${PARLEY_CLUSTER_REDIS:-0} ;;
  postgres) REDIS_TABLE=${PARLEY_CLUSTER_REDIS:-1} ;;
  *) echo "cluster: PARLEY_CLUSTER_ENGINE must be rocksdb or postgres" >&2 && exit 2 ;;
esac

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

# ---- ports ---------------------------------------------------------------------------

port_busy() { [[ -n $(ss -Hltn "( sport = :$1 )" 2>/dev/null) ]]; }

# Picks every port once, free at the time, and keeps them so that restarts reuse them.
allocate_ports() {
  mkdir -p "$STATE"
  [[ -f $STATE/ports.env ]] && return
  local p=${PARLEY_CLUSTER_PORT:-17800} limit name out=""
  limit=$((p + 1000))
  for name in LB_PORT STATS_PORT N1_PORT N2_PORT N3_PORT N1_ADMIN N2_ADMIN N3_ADMIN \
    REDIS_PORT PG_PORT_1 PG_PORT_2; do
    while port_busy "$p"; do
      ((++p < limit)) || die "no free port below $limit"
    done
    out+="$name=$p"$'\n'
    ((++p))
  done
  printf '%s' "$out" >"$STATE/ports.env"
}

load_ports() {
  [[ -f $STATE/ports.env ]] || die "no cluster in $STATE: run up first"
  # shellcheck source=/dev/null
  source "$STATE/ports.env"
}

node_port() { local v=${1^^}_PORT && echo "${!v}"; }
admin_port() { local v=${1^^}_ADMIN && echo "${!v}"; }
lb_url() { echo "ws://127.0.0.1:$LB_PORT/ws"; }

# ---- processes -----------------------------------------------------------------------

# The pid in FILE if that process is alive and its name is COMM (a reused pid is not ours).
live_pid() {
  local file=$1 comm=$2 pid
  [[ -f $file ]] || return 1
  read -r pid <"$file" || return 1
  [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] && alive "$pid" || return 1
  echo "$pid"
}

# stop_pid PID: SIGTERM, then SIGKILL if it has not exited within WAIT_S.
stop_pid() {
  local pid=$1 deadline=$((SECONDS + WAIT_S))
  kill -TERM "$pid" 2>/dev/null || return 0
  until is_dead "$pid"; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$pid" 2>/dev/null || true
      wait_until 10 "pid $pid to die" is_dead "$pid"
      return 0
    fi
    sleep 0.05
  done
}

http_ok() { curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null; }

# ---- PostgreSQL ----------------------------------------------------------------------

pg_up() { "$PG_CLUSTER" init "$STATE/pg" "$PG_PORT_1" "$PG_PORT_2" >/dev/null; }
pg_url() { "$PG_CLUSTER" url "$STATE/pg"; }

# ---- Redis ---------------------------------------------------------------------------

redis_pid() { live_pid "$STATE/redis/redis.pid" redis-server; }
redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

redis_start() {
  redis_pid >/dev/null && return 0
  mkdir -p "$STATE/redis"
  # Redis holds nothing Parley needs for correctness (hints, presence, shared limits):
  # no RDB, no AOF, so a restart starts empty, which is what the nodes must survive.
  cat >"$STATE/redis/redis.conf" <<EOF
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile $STATE/redis/redis.pid
logfile $STATE/redis/redis.log
dir $STATE/redis
save ""
appendonly no
# Full memory is an error on writes, never a silent eviction of presence or limits.
maxmemory 256mb
maxmemory-policy noeviction
EOF
  redis-server "$STATE/redis/redis.conf" || die "redis-server did not start"
  wait_until "$WAIT_S" "Redis on 127.0.0.1:$REDIS_PORT" redis_ping
}

# ---- parleyd nodes -------------------------------------------------------------------

node_pid() { live_pid "$STATE/nodes/$1/parleyd.pid" parleyd; }
node_ready() { http_ok "http://127.0.0.1:$(node_port "$1")/readyz"; }

write_node_config() {
  local n=$1 dir=$STATE/nodes/$1
  {
    echo "# Written by scripts/cluster.sh (engine $ENGINE); rewritten at every start."
    echo "data_dir = \"$dir/data\""
    echo
    echo "[server]"
    echo "listen = \"127.0.0.1:$(node_port "$n")\""
    echo "# On SIGTERM /readyz fails this long before clients are closed: HAProxy (500 ms x 2)"
    echo "# stops routing here first."
    echo "shutdown_grace_ms = 1500"
    echo "# Every client arrives from HAProxy: its X-Forwarded-For names the client, whose"
    echo "# address the per-address limits count (not HAProxy's)."
    echo "trusted_proxies = [\"127.0.0.1\"]"
    echo
    echo "[admin]  # /metrics and /admin/* on their own port, not through HAProxy"
    echo "listen = \"127.0.0.1:$(admin_port "$n")\""
    echo
    if [[ -f $STATE/limits-extra.toml ]]; then
      echo "[limits]"
      echo "# From PARLEY_CLUSTER_LIMITS_TOML at \`up\` (kept as $STATE/limits-extra.toml)"
      cat "$STATE/limits-extra.toml"
    fi
    if [[ $ENGINE == postgres ]]; then
      echo
      echo "[storage]"
      echo "engine = \"postgres\""
      echo "url = \"$(pg_url)\""
    fi
    if [[ $REDIS_TABLE == 1 ]]; then
      echo
      echo "[cluster]"
      echo "node = \"$n\""
      echo "redis = \"127.0.0.1:$REDIS_PORT\""
    fi
    if [[ -f $STATE/node-extra.toml ]]; then
      echo
      echo "# From PARLEY_CLUSTER_NODE_TOML at \`up\` (kept as $STATE/node-extra.toml)"
      cat "$STATE/node-extra.toml"
    fi
  } >"$dir/parleyd.toml"
}

node_start() {
  local n=$1 dir=$STATE/nodes/$1 pid
  node_pid "$n" >/dev/null && return 0
  [[ -x $BUILD/parleyd ]] || die "no $BUILD/parleyd: cmake --build build/release --target parleyd"
  mkdir -p "$dir"
  write_node_config "$n"
  "$BUILD/parleyd" --config "$dir/parleyd.toml" >>"$dir/parleyd.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/parleyd.pid"
  local deadline=$((SECONDS + WAIT_S))
  until node_ready "$n"; do
    if is_dead "$pid"; then
      tail -n 20 "$dir/parleyd.log" >&2
      die "$n exited during start-up; see $dir/parleyd.log"
    fi
    ((SECONDS < deadline)) || die "$n not ready within ${WAIT_S}s; see $dir/parleyd.log"
    sleep 0.05
  done
}

node_stop() {
  local pid
  pid=$(node_pid "$1") || return 0
  stop_pid "$pid"
}

# ---- HAProxy -------------------------------------------------------------------------

haproxy_pid() { live_pid "$STATE/haproxy/haproxy.pid" haproxy; }

# The shipped config with the kit's ports and one server line per node; logs (server
# state changes only: level notice) go to stderr, which is HAProxy's log file here.
write_haproxy_config() {
  local servers="" n
  for n in "${NODES[@]}"; do
    servers+="    server $n 127.0.0.1:$(node_port "$n") check"$'\n'
  done
  mkdir -p "$STATE/haproxy"
  awk -v lb="127.0.0.1:$LB_PORT" -v stats="127.0.0.1:$STATS_PORT" \
    -v sock="$STATE/haproxy/admin.sock" -v servers="$servers" '
    /# @server$/ { if (!done++) printf "%s", servers; next }
    /# @lb-bind$/ { print "    bind " lb; next }
    /# @stats-bind$/ { print "    bind " stats; next }
    /# @stats-socket$/ { print "    stats socket " sock " mode 600 level admin"; next }
    /^global$/ { print; print "    log stderr format iso local0 notice"; next }
    /^defaults$/ { print; print "    log global"; next }
    { print }' "$HAPROXY_TEMPLATE" >"$STATE/haproxy/haproxy.cfg"
  haproxy -c -q -f "$STATE/haproxy/haproxy.cfg" || die "generated haproxy.cfg is invalid"
}

haproxy_start() {
  haproxy_pid >/dev/null && return 0
  write_haproxy_config
  haproxy -f "$STATE/haproxy/haproxy.cfg" >>"$STATE/haproxy/haproxy.log" 2>&1 </dev/null &
  echo $! >"$STATE/haproxy/haproxy.pid"
  wait_until "$WAIT_S" "HAProxy's stats port" http_ok "http://127.0.0.1:$STATS_PORT/stats"
}

haproxy_stop() {
  local pid
  pid=$(haproxy_pid) || return 0
  stop_pid "$pid"
}

# HAProxy's view of node N: UP, DOWN, "UP 1/2" (going down), "DOWN 1/2" (coming up), MAINT.
haproxy_state() {
  curl -fsS --max-time 1 "http://127.0.0.1:$STATS_PORT/stats;csv" 2>/dev/null \
    | awk -F, -v n="$1" '$1 == "parleyd" && $2 == n { print $18 }'
}
haproxy_says() { [[ $(haproxy_state "$1") == "$2" ]]; }

# ---- commands ------------------------------------------------------------------------

cmd_status() {
  load_ports
  local n pid state seen
  echo "engine: $ENGINE$([[ $REDIS_TABLE == 1 ]] && echo ", [cluster] with Redis")"
  "$PG_CLUSTER" status "$STATE/pg" | sed 's/^/postgres /' || true
  if pid=$(redis_pid) && redis_ping; then
    echo "redis 127.0.0.1:$REDIS_PORT up pid $pid"
  else
    echo "redis 127.0.0.1:$REDIS_PORT down"
  fi
  for n in "${NODES[@]}"; do
    state=down pid=-
    if pid=$(node_pid "$n"); then
      node_ready "$n" && state=up || state="running, not ready"
    else
      pid=-
    fi
    seen=$(haproxy_state "$n") || true
    printf '%s 127.0.0.1:%s %s pid %s (admin 127.0.0.1:%s) haproxy: %s\n' "$n" \
      "$(node_port "$n")" "$state" "$pid" "$(admin_port "$n")" "${seen:--}"
  done
  if pid=$(haproxy_pid); then
    echo "haproxy up pid $pid, stats http://127.0.0.1:$STATS_PORT/stats," \
      "metrics http://127.0.0.1:$STATS_PORT/metrics"
  else
    echo "haproxy down"
  fi
  echo "url: $(lb_url)    (PARLEY_SERVER=$(lb_url) parley …)"
}

cmd_up() {
  allocate_ports
  load_ports
  echo "$ENGINE $REDIS_TABLE" >"$STATE/engine"
  if [[ -n ${PARLEY_CLUSTER_LIMITS_TOML:-} ]]; then
    cp "$PARLEY_CLUSTER_LIMITS_TOML" "$STATE/limits-extra.toml"
  else
    rm -f "$STATE/limits-extra.toml"
  fi
  if [[ -n ${PARLEY_CLUSTER_NODE_TOML:-} ]]; then
    cp "$PARLEY_CLUSTER_NODE_TOML" "$STATE/node-extra.toml"
  else
    rm -f "$STATE/node-extra.toml"
  fi
  pg_up
  redis_start
  local n
  for n in "${NODES[@]}"; do
    node_start "$n"
  done
  haproxy_start
  for n in "${NODES[@]}"; do
    wait_until "$WAIT_S" "HAProxy to mark $n UP" haproxy_says "$n" UP
  done
  cmd_status
}

cmd_down() {
  [[ -f $STATE/ports.env ]] || return 0
  load_ports
  haproxy_stop
  local n pid
  for n in "${NODES[@]}"; do
    node_stop "$n"
  done
  if pid=$(redis_pid); then
    stop_pid "$pid"
  fi
  [[ -d $STATE/pg ]] && "$PG_CLUSTER" stop "$STATE/pg" >/dev/null
  echo "cluster: stopped (state kept in $STATE)"
}

is_node() { [[ " ${NODES[*]} " == *" $1 "* ]]; }

cmd_kill() {
  load_ports
  local what=${1:?kill what?} pid
  case $what in
    redis) pid=$(redis_pid) || die "redis is not running" ;;
    haproxy) pid=$(haproxy_pid) || die "haproxy is not running" ;;
    pg-primary) exec "$PG_CLUSTER" kill-primary "$STATE/pg" ;;
    *)
      is_node "$what" || die "unknown node '$what' (n1 n2 n3 redis haproxy pg-primary)"
      pid=$(node_pid "$what") || die "$what is not running"
      ;;
  esac
  kill -KILL "$pid"
  wait_until 10 "$what to die" is_dead "$pid"
  echo "cluster: killed $what (pid $pid)"
}

cmd_restart() {
  load_ports
  local what=${1:?restart what?} pid
  case $what in
    redis)
      pid=$(redis_pid) && stop_pid "$pid"
      redis_start
      ;;
    haproxy)
      haproxy_stop
      haproxy_start
      ;;
    *)
      is_node "$what" || die "unknown node '$what' (n1 n2 n3 redis haproxy)"
      node_stop "$what"
      node_start "$what"
      if haproxy_pid >/dev/null; then
        wait_until "$WAIT_S" "HAProxy to mark $what UP" haproxy_says "$what" UP
      fi
      ;;
  esac
  echo "cluster: restarted $what"
}

# SIGKILL NODE and time HAProxy's detection (stats CSV polled every 10 ms), then restart it
# and time its return to UP.
drill_node() {
  local n=${1:?drill node NODE} pid t0 down up
  load_ports
  pid=$(node_pid "$n") || die "$n is not running"
  haproxy_says "$n" UP || die "$n is not UP in HAProxy"
  t0=$EPOCHREALTIME
  kill -KILL "$pid"
  local deadline=$((SECONDS + 10))
  until [[ $(haproxy_state "$n") == DOWN* ]]; do
    ((SECONDS < deadline)) || die "HAProxy did not mark $n DOWN within 10 s"
    sleep 0.01
  done
  down=$(since "$t0")
  wait_until 10 "$n to die" is_dead "$pid"
  http_ok "http://127.0.0.1:$LB_PORT/readyz" || die "HAProxy did not serve /readyz from the others"
  t0=$EPOCHREALTIME
  node_start "$n"
  local ready
  ready=$(since "$t0")
  wait_until 10 "$n UP again" haproxy_says "$n" UP
  up=$(since "$t0")
  echo "drill node $n: SIGKILL -> marked DOWN ${down}s; restart -> ready ${ready}s," \
    "marked UP ${up}s"
}

# One of drill_pg's writers: rows K*100000+1, +2, … one psql connection each (a new
# connection per row is what a node does after losing its primary), at most 2000 rows or
# 60 s, until DIR/stop exists. Appends "id time" to DIR/acked when the COMMIT returned.
drill_writer() {
  local k=$1 url=$2 dir=$3 i end=$((SECONDS + 60)) id
  for ((i = 1; i <= 2000 && SECONDS < end; i++)); do
    [[ -f $dir/stop ]] && break
    id=$((k * 100000 + i))
    if psql "$url" -XAtq -c "INSERT INTO drill VALUES ($id)" 2>/dev/null; then
      echo "$id $EPOCHREALTIME" >>"$dir/acked"
    fi
  done
}

# SIGKILL the PostgreSQL primary while 2 writers insert rows through the multi-host URL;
# promote the standby; report the write gap and check that every acknowledged row
# survived. Rebuilds the old primary as the new standby afterwards. The resolution is one
# psql start-up (~0.2 s on a loaded 2-core box), hence several writers.
drill_pg() {
  load_ports
  local url dir=$STATE/drill t_kill t_promoted promoted k writers=()
  url="$(pg_url)&connect_timeout=1"
  mkdir -p "$dir"
  psql "$url" -XAtq -c "DROP TABLE IF EXISTS drill" -c "CREATE TABLE drill (id bigint PRIMARY KEY)"
  : >"$dir/acked"
  rm -f "$dir/stop"
  for k in 1 2; do
    drill_writer "$k" "$url" "$dir" &
    writers+=($!)
  done
  # shellcheck disable=SC2064
  trap "touch '$dir/stop'" EXIT
  acked_at_least() { (($(wc -l <"$dir/acked") >= $1)); }
  wait_until 30 "the first writes" acked_at_least 20
  t_kill=$("$PG_CLUSTER" kill-primary "$STATE/pg" | awk '{ print $NF }')
  promoted=$("$PG_CLUSTER" promote "$STATE/pg")
  t_promoted=$(since "$t_kill")
  local n_before
  n_before=$(wc -l <"$dir/acked")
  wait_until 30 "writes to resume" acked_at_least $((n_before + 20))
  touch "$dir/stop"
  wait "${writers[@]}" || true
  local last_before first_after acked present
  last_before=$(awk -v t="$t_kill" '$2 < t { x = $2 } END { print x }' "$dir/acked")
  first_after=$(awk -v t="$t_kill" '$2 >= t { print $2; exit }' "$dir/acked")
  acked=$(wc -l <"$dir/acked")
  present=$(psql "$url" -XAtq -c "SELECT count(*) FROM drill WHERE id IN ($(awk '{ print $1 }' \
    "$dir/acked" | paste -sd,))")
  echo "drill pg: ${promoted#pg-cluster: }"
  echo "drill pg: kill -> promote done ${t_promoted}s; last ack before the kill" \
    "$(awk -v a="$last_before" -v b="$t_kill" 'BEGIN { printf "%.3f", b - a }')s earlier;" \
    "first ack after $(awk -v a="$t_kill" -v b="$first_after" 'BEGIN { printf "%.3f", b - a }')s;" \
    "acked $acked, present $present"
  [[ $acked == "$present" ]] || die "acknowledged rows are missing after the failover"
  "$PG_CLUSTER" rebuild "$STATE/pg" >/dev/null
  echo "drill pg: old primary rebuilt as the sync standby"
}

[[ $# -ge 1 ]] || usage
cmd=$1
shift
case $cmd in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  kill) cmd_kill "$@" ;;
  restart) cmd_restart "$@" ;;
  url) load_ports && lb_url ;;
  pg) load_ports && exec "$PG_CLUSTER" "${1:?pg CMD}" "$STATE/pg" ;;
  drill)
    case ${1:-} in
      node) drill_node "${2:-}" ;;
      pg) drill_pg ;;
      *) usage ;;
    esac
    ;;
  *) usage ;;
esac
