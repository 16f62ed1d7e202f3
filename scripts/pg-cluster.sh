#!/usr/bin/env bash
# pg-cluster.sh: a local PostgreSQL 15 pair — one primary and one synchronous streaming
# standby — for Parley's cluster kit (scripts/cluster.sh) and for tests that need a
# PostgreSQL with a sync standby and a failover to drill.
#
#   scripts/pg-cluster.sh init    DIR [PORT_1 PORT_2]  create both, start them, wait for sync
#   scripts/pg-cluster.sh start   DIR                  start what is stopped, wait for sync
#   scripts/pg-cluster.sh stop    DIR                  fast shutdown of both
#   scripts/pg-cluster.sh kill-primary DIR             SIGKILL the primary and its backends
#   scripts/pg-cluster.sh promote DIR                  pg_ctl promote -w the standby
#   scripts/pg-cluster.sh rebuild DIR                  re-create the dead/old node as the new
#                                                      primary's sync standby
#   scripts/pg-cluster.sh status  DIR                  roles, pids, replication state
#   scripts/pg-cluster.sh url     DIR                  the libpq multi-host URL for parleyd
#
# Layout: DIR/pg1 and DIR/pg2 are the two data directories (pg1 starts as the primary, on
# PORT_1, default 5433; pg2 as the standby, on PORT_2, default 5434); roles swap on
# failover, so every command looks at the data directories (a live postmaster, a
# standby.signal) instead of trusting the names. DIR/ports keeps the ports, DIR/run the Unix sockets, DIR/log the server logs.
#
# Local kit only: both servers listen on 127.0.0.1 and trust every local connection
# (pg_hba `trust` on 127.0.0.1/32 and the Unix socket) — no passwords. Never copy that
# pg_hba.conf to a machine that others can log in to.
#
# Durability: synchronous_commit = on and synchronous_standby_names = 'FIRST 1 (s1)', so
# a COMMIT returns only once the standby has flushed its WAL. With ONE standby, losing it
# stalls every write until it is back or the setting is cleared; production runs two
# standbys with 'ANY 1 (s1, s2)'. After `promote` the new primary has no standby: the
# script clears synchronous_standby_names there so writes resume (acks are then durable on
# one machine only) until `rebuild` attaches a standby and sets 'FIRST 1 (s1)' again.
#
# When run as root, initdb and postgres run as the unprivileged `postgres` user (initdb
# refuses root); DIR is chowned to it and must be reachable by it. Every wait is a poll
# with a deadline (PG_WAIT_S, default 60 s).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_WAIT_S=${PG_WAIT_S:-60}
PG_OS_USER=${PG_OS_USER:-postgres} # used only when running as root
SUPERUSER=postgres                 # the bootstrap role, whatever the OS user is
POLL_NAME=pg-cluster
# shellcheck source=scripts/poll-lib.sh
source "$(dirname "$0")/poll-lib.sh"

log() { echo "pg-cluster: $*"; }

# Runs a PostgreSQL server binary as the unprivileged user when we are root.
as_pg() {
  if [[ $(id -u) == 0 ]]; then
    runuser -u "$PG_OS_USER" -- "$@"
  else
    "$@"
  fi
}

# psql PORT SQL: one value per line, no headers, over loopback TCP.
sql() {
  local port=$1
  shift
  PGCONNECT_TIMEOUT=2 psql -h 127.0.0.1 -p "$port" -U "$SUPERUSER" -d postgres -XAtq \
    -v ON_ERROR_STOP=1 -c "$*"
}

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

[[ $# -ge 2 ]] || usage
CMD=$1
DIR=$2
shift 2
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

# Ports: from the command line at init, then fixed (they are in the servers' configs):
# DIR/ports wins over the command line once it exists.
if [[ -f $DIR/ports ]]; then
  read -r PORT_1 PORT_2 <"$DIR/ports"
else
  PORT_1=${1:-5433}
  PORT_2=${2:-5434}
fi

port_of() { [[ $1 == pg1 ]] && echo "$PORT_1" || echo "$PORT_2"; }
other() { [[ $1 == pg1 ]] && echo pg2 || echo pg1; }

# The postmaster's pid of node NAME if it runs (first line of postmaster.pid).
pid_of() {
  local f=$DIR/$1/postmaster.pid pid
  [[ -f $f ]] || return 1
  read -r pid <"$f" || return 1
  alive "$pid" || return 1
  echo "$pid"
}

# The role of node NAME: primary, standby or down. A running server is a standby while
# its standby.signal exists (pg_ctl promote removes it when the promotion is done) — no
# connection needed, so a drill loses no time asking.
role_of() {
  if ! pid_of "$1" >/dev/null; then
    echo down
  elif [[ -f $DIR/$1/standby.signal ]]; then
    echo standby
  else
    echo primary
  fi
}

primary() {
  local n
  for n in pg1 pg2; do
    [[ $(role_of $n) == primary ]] && echo $n && return 0
  done
  return 1
}

start_node() {
  local name=$1
  if pid_of "$name" >/dev/null; then
    return 0
  fi
  mkdir -p "$DIR/log"
  [[ $(id -u) == 0 ]] && chown "$PG_OS_USER" "$DIR/log"
  # -w waits for the server to accept connections; -t bounds that wait.
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/$name" -l "$DIR/log/$name.log" -w -t "$PG_WAIT_S" start \
    >/dev/null || die "$name did not start; see $DIR/log/$name.log"
}

# sync_state of the standby s1 as the primary on PORT sees it ("" if not connected).
sync_state() { sql "$1" "SELECT sync_state FROM pg_stat_replication WHERE application_name='s1'"; }
is_sync() { [[ $(sync_state "$1") == sync ]]; }
has_standby() { [[ -n $(sync_state "$1") ]]; }

wait_sync() {
  local p
  p=$(primary) || die "no primary is running"
  wait_until "$PG_WAIT_S" "the standby to stream synchronously" is_sync "$(port_of "$p")"
}

# Creates node NAME as a streaming standby of the primary node PRIMARY with pg_basebackup.
make_standby() {
  local name=$1 from=$2
  rm -rf "${DIR:?}/$name"
  mkdir -p "$DIR/$name"
  chmod 700 "$DIR/$name"
  [[ $(id -u) == 0 ]] && chown "$PG_OS_USER" "$DIR/$name"
  # -R writes primary_conninfo and standby.signal; application_name=s1 is the name that
  # synchronous_standby_names waits for. -X stream copies the WAL written meanwhile.
  as_pg "$PG_BIN/pg_basebackup" -D "$DIR/$name" -R -X stream -c fast \
    -d "host=127.0.0.1 port=$(port_of "$from") user=replicator application_name=s1" \
    || die "pg_basebackup of $name failed"
  # The copy carries the primary's port; a later line of postgresql.conf wins.
  echo "port = $(port_of "$name")" | as_pg tee -a "$DIR/$name/postgresql.conf" >/dev/null
  grep -q "application_name=s1" "$DIR/$name/postgresql.auto.conf" \
    || die "pg_basebackup -R did not keep application_name=s1 in primary_conninfo"
}

cmd_init() {
  [[ -x $PG_BIN/initdb ]] || die "no $PG_BIN/initdb: install postgresql-15 (scripts/install-deps.sh)"
  if [[ -f $DIR/pg1/PG_VERSION ]]; then
    log "$DIR is initialised already; starting it"
    cmd_start
    return
  fi
  if [[ $(id -u) == 0 ]]; then
    id "$PG_OS_USER" >/dev/null 2>&1 || die "user $PG_OS_USER is missing (install postgresql-15)"
    runuser -u "$PG_OS_USER" -- test -x "$DIR" \
      || die "$PG_OS_USER cannot reach $DIR: put it under a directory others may traverse"
  fi
  echo "$PORT_1 $PORT_2" >"$DIR/ports"
  echo pg1 >"$DIR/primary"
  mkdir -p "$DIR/run" "$DIR/log" "$DIR/pg1"
  chmod 700 "$DIR/pg1"
  [[ $(id -u) == 0 ]] && chown -R "$PG_OS_USER" "$DIR/run" "$DIR/log" "$DIR/pg1"
  as_pg "$PG_BIN/initdb" -D "$DIR/pg1" -U "$SUPERUSER" --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$DIR/log/initdb.log" 2>&1 || die "initdb failed; see $DIR/log/initdb.log"
  as_pg tee -a "$DIR/pg1/postgresql.conf" >/dev/null <<EOF

# --- Parley local cluster kit (scripts/pg-cluster.sh) ---
listen_addresses = '127.0.0.1'        # loopback only
port = $PORT_1
unix_socket_directories = '$DIR/run'
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
wal_keep_size = 256MB                 # lets a standby that fell behind catch up
hot_standby = on
fsync = on
synchronous_commit = on               # COMMIT waits for the sync standby's WAL flush
# One standby: its loss stalls writes. Production: 'ANY 1 (s1, s2)' with two standbys.
synchronous_standby_names = 'FIRST 1 (s1)'
shared_buffers = 64MB                 # small: the kit runs two servers on a laptop
max_connections = 200
wal_sender_timeout = 5s               # notice a dead standby (or primary) quickly
wal_receiver_status_interval = 1s
log_line_prefix = '%m [%p] %a '
EOF
  as_pg tee "$DIR/pg1/pg_hba.conf" >/dev/null <<EOF
# Local cluster kit: trust, loopback only. Never use this outside a throwaway test box.
local   all          all                      trust
host    all          all          127.0.0.1/32 trust
host    replication  replicator   127.0.0.1/32 trust
EOF
  start_node pg1
  # Nothing waits for the standby yet: the roles and the database are created before it
  # exists, so these statements would stall under FIRST 1 (s1). Run them with local commit.
  PGOPTIONS="-c synchronous_commit=local" sql "$PORT_1" \
    "CREATE ROLE replicator WITH REPLICATION LOGIN; CREATE ROLE parley WITH LOGIN"
  PGOPTIONS="-c synchronous_commit=local" sql "$PORT_1" "CREATE DATABASE parley OWNER parley"
  make_standby pg2 pg1
  start_node pg2
  wait_sync
  log "primary pg1 on 127.0.0.1:$PORT_1, sync standby pg2 (s1) on 127.0.0.1:$PORT_2"
}

# DIR/primary names the node that is the primary: pg1 at init, the promoted one after
# `promote`. A data dir without standby.signal that is not named there is a former
# primary: started, it would be a second primary with commits the other never saw.
cmd_start() {
  [[ -f $DIR/pg1/PG_VERSION ]] || die "$DIR is not initialised: run init first"
  local n current
  if [[ ! -f $DIR/primary ]]; then
    # A DIR from before this file existed: the primary is the one without standby.signal.
    [[ -f $DIR/pg1/standby.signal || -f $DIR/pg2/standby.signal ]] \
      || die "cannot tell which of pg1 and pg2 is the primary: write its name to $DIR/primary"
    [[ -f $DIR/pg1/standby.signal ]] && echo pg2 >"$DIR/primary" || echo pg1 >"$DIR/primary"
  fi
  current=$(cat "$DIR/primary")
  for n in pg1 pg2; do
    [[ -f $DIR/$n/PG_VERSION ]] || continue
    if [[ $n == "$current" || -f $DIR/$n/standby.signal ]]; then
      start_node $n
    else
      log "not starting $n: a former primary, never restarted as one (run rebuild)"
    fi
  done
  primary >/dev/null || die "no primary is running"
  if [[ $(role_of pg1) == standby || $(role_of pg2) == standby ]]; then
    wait_sync
  fi
  cmd_status
}

cmd_stop() {
  local n
  for n in pg1 pg2; do
    if pid_of $n >/dev/null; then
      as_pg "$PG_BIN/pg_ctl" -D "$DIR/$n" -m fast -w -t "$PG_WAIT_S" stop >/dev/null \
        || die "$n did not stop within ${PG_WAIT_S}s"
    fi
  done
  log "stopped"
}

cmd_kill_primary() {
  local p pid
  p=$(primary) || die "no primary is running"
  pid=$(pid_of "$p")
  # The postmaster and its children at once, as a crash would: no backend gets to finish.
  local children t
  children=$(pgrep -P "$pid") || true
  t=$EPOCHREALTIME
  # shellcheck disable=SC2086
  kill -9 "$pid" $children 2>/dev/null || true
  wait_until 10 "$p to die" is_dead "$pid"
  # The time of the kill ends the line: drills (cluster.sh drill pg) measure from it.
  log "killed primary $p (pid $pid) at $t"
}

cmd_promote() {
  local n s=""
  for n in pg1 pg2; do
    [[ $(role_of $n) == standby ]] && s=$n
  done
  [[ -n $s ]] || die "no standby is running"
  local port t0=$EPOCHREALTIME t1
  port=$(port_of "$s")
  # The new primary will have no standby: without this, every commit would wait for 's1'
  # forever. Set before the promotion (a standby accepts ALTER SYSTEM) so that writes
  # resume the moment it ends.
  psql -h 127.0.0.1 -p "$port" -U "$SUPERUSER" -d postgres -XAtq -v ON_ERROR_STOP=1 \
    -c "ALTER SYSTEM SET synchronous_standby_names = ''" -c "SELECT pg_reload_conf()" >/dev/null
  t1=$(since "$t0")
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/$s" -w -t "$PG_WAIT_S" promote >/dev/null || die "promote failed"
  echo "$s" >"$DIR/primary"
  log "promoted $s on 127.0.0.1:$port in $(since "$t0")s (sync requirement dropped in ${t1}s," \
    "then pg_ctl promote -w); no sync standby now: run rebuild"
  # A primary needs no primary_conninfo; each rebuild would otherwise add one more line.
  sql "$port" "ALTER SYSTEM RESET primary_conninfo" >/dev/null
}

cmd_rebuild() {
  local p s
  p=$(primary) || die "no primary is running"
  s=$(other "$p")
  if pid_of "$s" >/dev/null; then
    as_pg "$PG_BIN/pg_ctl" -D "$DIR/$s" -m immediate -w -t "$PG_WAIT_S" stop >/dev/null || true
  fi
  # The old primary may hold commits the standby never received; it is re-created from
  # the new primary (pg_rewind would also do, with wal_log_hints), never restarted as is.
  make_standby "$s" "$p"
  start_node "$s"
  wait_until "$PG_WAIT_S" "the rebuilt standby to connect" has_standby "$(port_of "$p")"
  sql "$(port_of "$p")" "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (s1)'" >/dev/null
  sql "$(port_of "$p")" "SELECT pg_reload_conf()" >/dev/null
  wait_sync
  log "rebuilt $s as the sync standby of $p"
}

cmd_status() {
  local n role pid rep
  for n in pg1 pg2; do
    role=$(role_of $n)
    pid=$(pid_of $n 2>/dev/null) || pid=-
    rep=""
    if [[ $role == primary ]]; then
      rep=$(sql "$(port_of $n)" "SELECT coalesce(string_agg(application_name || ' ' || state \
        || ' ' || sync_state, ', '), 'none') FROM pg_stat_replication") || rep="?"
      rep=" standbys: $rep; sync_names: '$(sql "$(port_of $n)" "SHOW synchronous_standby_names")'"
    fi
    printf '%s 127.0.0.1:%s %s pid %s%s\n' "$n" "$(port_of $n)" "$role" "$pid" "$rep"
  done
  primary >/dev/null
}

cmd_url() {
  echo "postgresql://parley@127.0.0.1:$PORT_1,127.0.0.1:$PORT_2/parley?target_session_attrs=read-write"
}

case $CMD in
  init) cmd_init ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  kill-primary) cmd_kill_primary ;;
  promote) cmd_promote ;;
  rebuild) cmd_rebuild ;;
  status) cmd_status ;;
  url) cmd_url ;;
  *) usage ;;
esac
