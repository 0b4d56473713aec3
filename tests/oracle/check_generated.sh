#!/bin/sh
# Checks ontimed against the contract oracle on traffic from `ontimed generate` (the generator is
# ontime's own, the oracle's reading of the replay is not). Used by ctest.
#   check_generated.sh ONTIMED CONFIG OUT START DAYS PER_DAY SEED [contract_check options]
set -eu
ontimed=$1 config=$2 out=$3 start=$4 days=$5 per_day=$6 seed=$7
shift 7
tools=$(cd "$(dirname "$0")/../../tools" && pwd)
"$ontimed" generate --config "$config" --start "$start" --days "$days" --per-day "$per_day" \
  --seed "$seed" --out "$out"
exec python3 "$tools/contract_check.py" --config "$config" --events "$out" --ontimed "$ontimed" "$@"
