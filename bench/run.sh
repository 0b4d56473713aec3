#!/usr/bin/env bash
# Runs the benchmarks of an already built tree and prints their numbers as a table:
#   bench/run.sh BUILD_DIR          (`make bench` builds first, then calls this)
# Knobs (environment): REPLAY_EVENTS (default 10000000), REPEAT (3), MEMORY_DOSSIERS (1000000),
# TIMER_DOSSIERS (100000). The replay input is generated once and cached in BUILD_DIR/bench-data.
# Benchmarks report; nothing here fails on a slow number.
set -euo pipefail

build=${1:?usage: bench/run.sh BUILD_DIR}
build=$(cd "$build" && pwd)
for b in replay_bench memory_bench timer_bench; do
  if [[ ! -x $build/bench/$b ]]; then
    echo "bench/run.sh: $build/bench/$b is missing (build with -DONTIME_BUILD_BENCH=ON)" >&2
    exit 1
  fi
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
echo "== machine: $(nproc) cores, $cpu"
echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg) (colleagues share these cores)"
echo
echo "== replay_bench --events ${REPLAY_EVENTS:-10000000} --repeat ${REPEAT:-3}"
"$build/bench/replay_bench" --events "${REPLAY_EVENTS:-10000000}" --repeat "${REPEAT:-3}" \
  | tee "$out/replay"
echo
echo "== memory_bench --dossiers ${MEMORY_DOSSIERS:-1000000}"
"$build/bench/memory_bench" --dossiers "${MEMORY_DOSSIERS:-1000000}" | tee "$out/memory"
echo
echo "== timer_bench --dossiers ${TIMER_DOSSIERS:-100000} --repeat ${REPEAT:-3}"
"$build/bench/timer_bench" --dossiers "${TIMER_DOSSIERS:-100000}" --repeat "${REPEAT:-3}" \
  | tee "$out/timer"
echo

goal() {
  case $1 in
    replay_full_events_per_s) echo ">= 1000000" ;;
    memory_*_peak_bytes_per_dossier) echo "<= 200" ;;
    timer_breach_wave_seconds) echo "<= 1" ;;
    *) echo "" ;;
  esac
}
printf '%-50s %16s %12s\n' metric value goal
printf '%-50s %16s %12s\n' ------ ----- ----
cat "$out/replay" "$out/memory" "$out/timer" | grep '^RESULT ' | while read -r _ name value; do
  printf '%-50s %16s %12s\n' "$name" "$value" "$(goal "$name")"
done

# End-to-end through a real Kafka broker (deploy/kafka-dev): ~5 minutes, so only on request.
#   KAFKA_BENCH=1 bench/run.sh BUILD_DIR     (needs Java >= 17, kcat, and BUILD_DIR/bench/kafka_bench)
if [[ ${KAFKA_BENCH:-0} == 1 ]]; then
  echo
  echo "== bench/kafka/kafka_bench.py (KAFKA_BENCH=1; load average $(cut -d' ' -f1-3 /proc/loadavg))"
  python3 "$(dirname "${BASH_SOURCE[0]}")/kafka/kafka_bench.py" --build "$build" | grep '^RESULT '
fi
