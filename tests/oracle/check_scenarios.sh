#!/bin/sh
# Generates seeded scenarios (tools/scenarios.py) and checks ontimed against the contract oracle
# on every one of them (tools/contract_check.py). Used by ctest (tests/oracle/CMakeLists.txt).
#   check_scenarios.sh ONTIMED WORKDIR CONFIG START SEED COUNT DISORDER [contract_check options]
set -eu
ontimed=$1 work=$2 config=$3 start=$4 seed=$5 count=$6 disorder=$7
shift 7
tools=$(cd "$(dirname "$0")/../../tools" && pwd)
rm -rf "$work"
python3 "$tools/scenarios.py" --config "$config" --start "$start" --seed "$seed" \
  --count "$count" --disorder "$disorder" --out "$work" --ontimed "$ontimed"
exec python3 "$tools/contract_check.py" --manifest "$work/manifest.jsonl" --ontimed "$ontimed" \
  --quiet "$@"
