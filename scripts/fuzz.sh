#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build (make fuzz; fuzz/README.md) for SECONDS each,
# two at a time, and prints one line per target: executions, speed, coverage, corpus size.
#
#   scripts/fuzz.sh BUILD SECONDS [--merge]
#
# Each target starts from its committed corpus (fuzz/corpus/NAME) and regressions
# (fuzz/regressions/NAME) and keeps what it finds in BUILD/fuzz-work/NAME, so runs add up.
# --merge then adds to fuzz/corpus/NAME the inputs of the work corpus that reach code the
# committed corpus does not (libFuzzer's -merge=1) — commit those.
# Exit status 1 if any target crashed, hung (-timeout), leaked or ran out of memory: the
# input is in BUILD/fuzz-artifacts/NAME/; copy it into fuzz/regressions/NAME, fix the bug,
# and the replay test (fuzz_replay_NAME) keeps it fixed.
set -uo pipefail

BUILD=${1:?usage: scripts/fuzz.sh BUILD SECONDS [--merge]}
SECONDS_EACH=${2:?usage: scripts/fuzz.sh BUILD SECONDS [--merge]}
MERGE=${3:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PARALLEL=${FUZZ_JOBS:-2}
LOGS=$BUILD/fuzz-logs
mkdir -p "$LOGS"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_one() {
  local name=$1
  local bin=$BUILD/$name work=$BUILD/fuzz-work/$name art=$BUILD/fuzz-artifacts/$name/
  mkdir -p "$work" "$art"
  cp -n "$ROOT/fuzz/corpus/$name/"* "$work/" 2>/dev/null || true
  # -timeout: one input over 10 s is a hang; -rss_limit_mb: 2 GiB is a memory blow-up.
  "$bin" "$work" "$ROOT/fuzz/regressions/$name" -max_total_time="$SECONDS_EACH" -timeout=10 \
    -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 -artifact_prefix="$art" \
    >"$LOGS/$name.log" 2>&1
  echo $? >"$LOGS/$name.rc"
}

names=()
for dir in "$ROOT"/fuzz/corpus/*/; do
  name=$(basename "$dir")
  # FUZZ_TARGETS="request_fuzz hint_fuzz" runs only those.
  if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $name "* ]]; then continue; fi
  [ -x "$BUILD/$name" ] || { echo "fuzz: $BUILD/$name is not built (make build-fuzz)" >&2; exit 1; }
  names+=("$name")
done

echo "fuzz: ${#names[@]} targets, ${SECONDS_EACH} s each, $PARALLEL at a time"
for name in "${names[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$PARALLEL" ]; do wait -n; done
  run_one "$name" &
done
wait

failed=0
total=0
printf '%-18s %12s %9s %16s %8s %8s  %s\n' target executions exec/s "cov (of edges)" features corpus result
for name in "${names[@]}"; do
  log=$LOGS/$name.log
  rc=$(cat "$LOGS/$name.rc")
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  edges=$(grep -o 'Loaded 1 modules *([0-9]* inline 8-bit counters)' "$log" | grep -o '([0-9]*' | tr -d '(')
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*')
  ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*')
  corp=$(echo "$last" | grep -o 'corp: [0-9]*' | grep -o '[0-9]*')
  result=ok
  if [ "$rc" != 0 ]; then
    result="FAILED (exit $rc): $BUILD/fuzz-artifacts/$name/, log $log"
    failed=1
    grep -E 'ERROR: |SUMMARY: |FUZZ_CHECK|==[0-9]+==' "$log" | head -5 | sed 's/^/    /'
  fi
  total=$((total + ${execs:-0}))
  printf '%-18s %12s %9s %16s %8s %8s  %s\n' "$name" "${execs:-?}" "${speed:-?}" \
    "${cov:-?} (${edges:-?})" "${ft:-?}" "${corp:-?}" "$result"
done
echo "fuzz: $total executions in all"

if [ "$MERGE" = "--merge" ] && [ "$failed" = 0 ]; then
  for name in "${names[@]}"; do
    before=$(ls "$ROOT/fuzz/corpus/$name" | wc -l)
    "$BUILD/$name" -merge=1 -max_len=16384 "$ROOT/fuzz/corpus/$name" "$BUILD/fuzz-work/$name" \
      >"$LOGS/$name.merge.log" 2>&1
    echo "fuzz: merged $name: $before -> $(ls "$ROOT/fuzz/corpus/$name" | wc -l) inputs"
  done
fi
exit $failed
