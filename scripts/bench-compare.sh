#!/usr/bin/env bash
# Two builds side by side: /tmp/base12 (before) against /tmp/new12 (after), alternating,
# RUNS runs each; every run gets a fresh parleyd (same config, fsync on, search on) and the
# same (new) parley-bench drives both. Output: one JSON line per figure, tagged.
set -u
RUNS=${RUNS:-3}
SECS=${SECS:-10}
bench=${BENCH:-/tmp/new12/parley-bench}
cfg=$(mktemp /tmp/bench12-XXXX.toml)
printf '[accounts]\npassword_hash = "min"\n[limits]\nsend_rate_per_conn = 0\nsend_rate_per_user = 0\nauth_rate_per_conn = 0\nmax_connections_per_ip = 0\nhandshake_rate_per_ip = 0\nregister_rate_per_ip = 0\nmax_sessions_per_user = 0\n' > "$cfg"
port=7990
run_one() {  # tag, build dir, scenario args...
  local tag=$1 b=$2; shift 2
  local line
  line=$(timeout 600 $bench "$@" --server ws://127.0.0.1:$port/ws --server-pid $pid 2>&1 | grep '^{' | tail -1)
  echo "{\"tag\":\"$tag\",\"build\":\"$(basename $b)\",${line#\{}"
}
for run in $(seq 1 $RUNS); do
  for b in /tmp/base12 /tmp/new12; do
    d=$(mktemp -d /tmp/bench12-data-XXXX)
    port=$((port + 1))
    $b/parleyd --config "$cfg" --data "$d" --listen 127.0.0.1:$port > "$d.log" 2>&1 &
    pid=$!
    for i in $(seq 1 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
    run_one max "$b" pairs --pairs 100 --window 16 --seconds $SECS
    for r in 100 500 2000; do run_one rate$r "$b" pairs --pairs 100 --rate $r --seconds $SECS; done
    run_one groupmax "$b" group --members 100 --seconds $SECS
    run_one group20 "$b" group --members 100 --rate 20 --seconds $SECS
    if [ "${EXTRA:-0}" = 1 ] && [ $run = 1 ]; then
      run_one population "$b" population --seconds 5
      run_one reconnect "$b" reconnect --devices 10000
    fi
    kill $pid; wait $pid 2>/dev/null
    rm -rf "$d" "$d.log"
  done
done
rm -f "$cfg"
