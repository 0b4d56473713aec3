#!/bin/sh
# The committed fines fixture is what tools/fines_to_events.py makes of the public 100-trace
# sample; exit 77 (skipped) when the sample is not on this machine.
#   check_fixture.sh XES FIXTURE
set -eu
xes=$1 fixture=$2
if [ ! -f "$xes" ]; then
  echo "skipped: $xes not found"
  exit 77
fi
tools=$(cd "$(dirname "$0")/../../tools" && pwd)
python3 "$tools/fines_to_events.py" "$xes" | cmp - "$fixture"
echo "$fixture is reproduced from $xes"
