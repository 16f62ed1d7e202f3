# shellcheck shell=bash
# poll-lib.sh: the helpers shared by the cluster kit's scripts (scripts/cluster.sh,
# scripts/pg-cluster.sh, deploy/patroni/try-local.sh). Sourced, not run. The sourcing
# script sets POLL_NAME (the prefix of its messages) first.

die() {
  echo "${POLL_NAME:-poll}: $*" >&2
  exit 1
}

# wait_until SECONDS WHAT COMMAND...: polls COMMAND every 50 ms until it succeeds; dies
# naming WHAT when SECONDS have passed. COMMAND may be a shell function.
wait_until() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${limit}s waiting for $what"
    sleep 0.05
  done
}

# Seconds since T0 (an $EPOCHREALTIME), to the millisecond.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }

# A killed process stays a zombie until its parent (often init, sometimes slow) reaps it:
# that is dead for us, though kill -0 still succeeds. But only once all its threads are
# gone: the main thread of a killed multi-threaded process can show Z while the others
# still exit and hold its files (RocksDB's LOCK, a listening socket).
alive() {
  local s tasks
  s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $s != Z* ]] && return 0
  tasks=$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  ((tasks > 1))
}
is_dead() { ! alive "$1"; }
