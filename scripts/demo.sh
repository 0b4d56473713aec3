#!/usr/bin/env bash
# make demo: a dev Kafka broker, the live daemon on it, and a generated month of traffic.
#   scripts/demo.sh BUILD_DIR
# Everything runs on 127.0.0.1 on free ports in a temporary directory; Ctrl-C stops all of it.
set -euo pipefail

BUILD="$(cd "${1:?usage: scripts/demo.sh BUILD_DIR}" && pwd)"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ONTIMED="$BUILD/daemon/ontimed"
K="$ROOT/deploy/kafka-dev/kafka.sh"
[[ -x "$ONTIMED" ]] || { echo "demo: $ONTIMED not built" >&2; exit 1; }

WORK="$(mktemp -d /tmp/ontime-demo-XXXXXX)"
DAEMON_PID=""
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "demo: stopping"
  if [[ -n "$DAEMON_PID" ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
  fi
  "$K" stop "$WORK/kafka" || true
  echo "demo: stopped; files kept in $WORK (rm -rf it when done)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

echo "demo: starting Kafka in $WORK/kafka"
"$K" fetch
BOOT="$("$K" start "$WORK/kafka")"
"$K" create-topics "$WORK/kafka"

EXAMPLE="$ROOT/deploy/examples/province.yaml"
[[ -f "$EXAMPLE" ]] || EXAMPLE="$ROOT/deploy/examples/minimal.yaml"
HTTP_PORT="$(free_port)"
CONFIG="$WORK/ontime.yaml"
# The example's own daemon sections (if any) are replaced by the demo's.
awk '/^(kafka|http|state_dir|snapshot_interval|log|alertmanager):/ {skip=1; next}
     /^[^ #]/ {skip=0} !skip' "$EXAMPLE" >"$CONFIG"
cat >>"$CONFIG" <<YAML

kafka:
  brokers: "$BOOT"
  group_id: ontimed-demo
  client_id: ontimed-demo
http:
  listen: "127.0.0.1:$HTTP_PORT"
state_dir: $WORK/state
snapshot_interval: 30s
log:
  level: info
YAML
"$ONTIMED" check-config --config "$CONFIG"

"$ONTIMED" run --config "$CONFIG" 2>"$WORK/ontimed.log" &
DAEMON_PID=$!
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$WORK/ontimed.log" >&2; exit 1; }
  sleep 0.2
done

START="$(date -u -d '30 days ago' +%F)"
echo "demo: generating 30 days x 300 dossiers from $START"
"$ONTIMED" generate --config "$CONFIG" --start "$START" --days 30 --per-day 300 \
  --out "$WORK/events.jsonl"
# Past events only (the generator may run a few days ahead for dossiers still in progress).
NOW="$(date -u +%FT%TZ)"
python3 - "$WORK/events.jsonl" "$NOW" >"$WORK/events.keyed" <<'PY'
import datetime, json, sys
now = datetime.datetime.fromisoformat(sys.argv[2].replace("Z", "+00:00"))
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    try:
        event = json.loads(line)
        at = datetime.datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
        if at > now:
            continue
        key = event.get("dossier_id", "unknown")
    except Exception:
        key = "unknown"
    print(f"{key}\t{line}")
PY
kcat -b "$BOOT" -t dossier.events -P -K $'\t' -l "$WORK/events.keyed"
echo "demo: $(wc -l <"$WORK/events.keyed") events produced to dossier.events"

cat <<INFO

ontime demo is running (daemon pid $DAEMON_PID, log $WORK/ontimed.log)
  metrics     http://127.0.0.1:$HTTP_PORT/metrics
  health      http://127.0.0.1:$HTTP_PORT/healthz  http://127.0.0.1:$HTTP_PORT/readyz
  dossiers    http://127.0.0.1:$HTTP_PORT/api/v1/dossiers?limit=10
  alerts      kcat -b $BOOT -t dossier.sla.alerts -C -e -f '%k %s\n'
  letters     kcat -b $BOOT -t dossier.apology-letters -C -e -f '%k %s\n'
  dead letters kcat -b $BOOT -t dossier.events.dlq -C -e -f '%k %h %s\n'
  reload      kill -HUP $DAEMON_PID   (after editing $CONFIG)
Ctrl-C stops the daemon and the broker.
INFO
wait "$DAEMON_PID"
