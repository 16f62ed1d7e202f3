#!/usr/bin/env bash
# try-local.sh: runs the Patroni sample on loopback and drills one automatic failover.
#
#   deploy/patroni/try-local.sh [DIR]     (default /tmp/parley-patroni; needs the Debian
#                                          packages patroni and python3-pysyncobj)
#
# Copies pg1.yml, pg2.yml and witness.yml into DIR with DIR's paths and shifted ports
# (PostgreSQL 25433/25434, REST 28008/28009, Raft 25010-25012, so that it does not collide
# with the kit), starts the witness and both members, waits for a leader with a
# synchronous replica, then SIGKILLs the leader's Patroni and PostgreSQL together (a
# machine crash), and times how long until the other member accepts writes. Checks that
# every acknowledged row survived. Stops everything and leaves DIR for inspection.
# Not run by CI: it is how the sample in this directory was tested (docs/cluster.md).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-/tmp/parley-patroni}
WAIT_S=${WAIT_S:-90}
RUN_AS=postgres # PostgreSQL refuses to run as root
POLL_NAME=try-local
# shellcheck source=scripts/poll-lib.sh
source "$HERE/../../scripts/poll-lib.sh"

command -v patroni >/dev/null || die "install the Debian packages patroni and python3-pysyncobj"

as_pg() {
  if [[ $(id -u) == 0 ]]; then runuser -u "$RUN_AS" -- "$@"; else "$@"; fi
}

rm -rf "$DIR"
mkdir -p "$DIR"
for f in pg1.yml pg2.yml witness.yml; do
  sed -e "s|/var/lib/parley-patroni|$DIR|g" -e "s|/etc/parley/patroni|$DIR|g" \
    -e 's/543\([34]\)/2543\1/g' -e 's/800\([89]\)/2800\1/g' -e 's/501\([012]\)/2501\1/g' \
    "$HERE/$f" >"$DIR/$f"
done
cp "$HERE/post-bootstrap.sh" "$DIR/"
[[ $(id -u) == 0 ]] && chown -R "$RUN_AS" "$DIR"

# spawn LOG COMMAND...: starts COMMAND as the PostgreSQL user in the background; sets
# `spawned` to the pid of COMMAND itself (runuser's child when we are root).
pids=()
spawn() {
  local log=$1 p
  shift
  if [[ $(id -u) == 0 ]]; then
    runuser -u "$RUN_AS" -- "$@" >"$log" 2>&1 &
    p=$!
    wait_until 10 "$1 to start" pgrep -P "$p"
    spawned=$(pgrep -P "$p")
  else
    "$@" >"$log" 2>&1 &
    spawned=$!
  fi
  pids+=("$spawned")
}

cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
}
trap cleanup EXIT

spawn "$DIR/witness.log" patroni_raft_controller "$DIR/witness.yml"
for m in pg1 pg2; do
  spawn "$DIR/$m.log" patroni "$DIR/$m.yml"
  eval "pid_$m=$spawned"
done

# The leader answers 200 on /primary; the replica that is synchronous 200 on /sync.
leader() {
  local m port
  for m in pg1 pg2; do
    [[ $m == pg1 ]] && port=28008 || port=28009
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/primary" 2>/dev/null \
      && echo $m && return 0
  done
  return 1
}
has_sync() { curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$1/sync"; }
pg_url="postgresql://parley:change-me-parley@127.0.0.1:25433,127.0.0.1:25434/parley?target_session_attrs=read-write&connect_timeout=1"
writable() { psql "$pg_url" -XAtq -c "SELECT 1" >/dev/null; }

t0=$EPOCHREALTIME
wait_until "$WAIT_S" "a leader" leader
first=$(leader)
[[ $first == pg1 ]] && replica_port=28009 || replica_port=28008
wait_until "$WAIT_S" "a synchronous replica" has_sync "$replica_port"
wait_until "$WAIT_S" "the parley database" writable
echo "try-local: leader $first with a sync replica after $(since "$t0")s"
as_pg patronictl -c "$DIR/pg1.yml" list || true

psql "$pg_url" -XAtq -c "CREATE TABLE drill (id bigint PRIMARY KEY)"
acked=0
for i in $(seq 1 50); do
  psql "$pg_url" -XAtq -c "INSERT INTO drill VALUES ($i)" && acked=$i
done

# A crash of the leader's machine: its Patroni and its PostgreSQL die at once.
pm=$(head -1 "$DIR/$first/postmaster.pid")
leader_patroni=$(eval echo "\$pid_$first")
t_kill=$EPOCHREALTIME
# shellcheck disable=SC2046
kill -9 "$leader_patroni" "$pm" $(pgrep -P "$pm") 2>/dev/null || true
wait_until "$WAIT_S" "the other member to accept writes" psql "$pg_url" -XAtq \
  -c "INSERT INTO drill VALUES ($((acked + 1)))"
echo "try-local: SIGKILL of $first -> writes accepted again after $(since "$t_kill")s"
present=$(psql "$pg_url" -XAtq -c "SELECT count(*) FROM drill WHERE id <= $acked")
echo "try-local: acked $acked, present $present"
[[ $present == "$acked" ]] || die "acknowledged rows are missing"
as_pg patronictl -c "$DIR/pg1.yml" list || true
