#!/usr/bin/env bash
# make demo: a dev Kafka broker, the live daemon on it, and a generated month of traffic; plus
# Prometheus (scraping the daemon, with the repo's rules) and Alertmanager (the daemon pushes to
# it) when their Debian binaries (prometheus, prometheus-alertmanager) are installed.
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
PROM_PID=""
AM_PID=""
stop_pid() {
  if [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  # Ignored, not reset: a second Ctrl-C (or timeout's signal to the whole group) would otherwise
  # kill this script halfway and leave the broker running. Every stop below is bounded.
  trap - EXIT
  trap '' INT TERM
  echo
  echo "demo: stopping"
  stop_pid "$PROM_PID"
  stop_pid "$DAEMON_PID"
  stop_pid "$AM_PID"
  "$K" stop "$WORK/kafka" || true
  echo "demo: stopped; files kept in $WORK (rm -rf it when done)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# wait_ready NAME PID URL: true once URL answers 200, false if the process exits or 60 s pass.
wait_ready() {
  for _ in $(seq 1 300); do
    curl -fsS "$3" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.2
  done
  echo "demo: $1 did not come up; continuing without it. Its log:" >&2
  tail -n 20 "$WORK/$1.log" >&2 || true
  stop_pid "$2"
  return 1
}

echo "demo: starting Kafka in $WORK/kafka"
"$K" fetch
BOOT="$("$K" start "$WORK/kafka")"
"$K" create-topics "$WORK/kafka"

EXAMPLE="$ROOT/deploy/examples/province.yaml"
[[ -f "$EXAMPLE" ]] || EXAMPLE="$ROOT/deploy/examples/minimal.yaml"
HTTP_PORT="$(free_port)"
CONFIG="$WORK/ontime.yaml"

AM_URL=""
AM_BIN="$(command -v prometheus-alertmanager || command -v alertmanager || true)"
if [[ -z "$AM_BIN" ]]; then
  echo "demo: prometheus-alertmanager not installed; skipping Alertmanager" >&2
else
  AM_PORT="$(free_port)"
  echo "demo: starting Alertmanager on 127.0.0.1:$AM_PORT"
  "$AM_BIN" --config.file="$ROOT/deploy/alertmanager/alertmanager.yml" \
    --storage.path="$WORK/alertmanager-data" --web.listen-address="127.0.0.1:$AM_PORT" \
    --cluster.listen-address= >"$WORK/alertmanager.log" 2>&1 &
  AM_PID=$!
  if wait_ready alertmanager "$AM_PID" "http://127.0.0.1:$AM_PORT/-/ready"; then
    AM_URL="http://127.0.0.1:$AM_PORT"
  else
    AM_PID=""
  fi
fi

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
log:
  level: info
alertmanager:
  url: "$AM_URL"
YAML
"$ONTIMED" check-config --config "$CONFIG"

"$ONTIMED" run --config "$CONFIG" 2>"$WORK/ontimed.log" &
DAEMON_PID=$!
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$WORK/ontimed.log" >&2; exit 1; }
  sleep 0.2
done
BOARD_URL="http://127.0.0.1:$HTTP_PORT/"
echo "demo: the board is at $BOARD_URL"

PROM_URL=""
PROM_BIN="$(command -v prometheus || true)"
if [[ -z "$PROM_BIN" ]]; then
  echo "demo: prometheus not installed; skipping Prometheus" >&2
else
  PROM_PORT="$(free_port)"
  # deploy/prometheus/prometheus.yml with the daemon's port, the repo's rules and this
  # Alertmanager (or no alerting section without one).
  awk -v rules="$ROOT/deploy/prometheus/rules/" -v daemon="127.0.0.1:$HTTP_PORT" \
      -v am="${AM_URL#http://}" '
    /^alerting:/ { skip = (am == ""); if (skip) next }
    /^[^ #]/ && !/^alerting:/ { skip = 0 }
    skip { next }
    { sub(/- rules\//, "- " rules); sub(/127\.0\.0\.1:9464/, daemon); sub(/127\.0\.0\.1:9093/, am) }
    { print }' "$ROOT/deploy/prometheus/prometheus.yml" >"$WORK/prometheus.yml"
  echo "demo: starting Prometheus on 127.0.0.1:$PROM_PORT"
  "$PROM_BIN" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prometheus-data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
  PROM_PID=$!
  if wait_ready prometheus "$PROM_PID" "http://127.0.0.1:$PROM_PORT/-/ready"; then
    PROM_URL="http://127.0.0.1:$PROM_PORT"
  else
    PROM_PID=""
  fi
fi

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
        # Keyed by dossier (a CloudEvent names it `subject`): one dossier, one partition.
        key = event.get("dossier_id") or event.get("subject") or "unknown"
    except Exception:
        key = "unknown"
    print(f"{key}\t{line}")
PY
kcat -b "$BOOT" -t dossier.events -P -K $'\t' -l "$WORK/events.keyed"
echo "demo: $(wc -l <"$WORK/events.keyed") events produced to dossier.events"

# One apology letter to open: the first overdue dossier that has one, once the daemon has read
# the month (at most a minute).
LETTER_URL=""
for _ in $(seq 1 120); do
  LETTER_URL="$(python3 - "http://127.0.0.1:$HTTP_PORT" <<'PY' 2>/dev/null || true
import json, sys, urllib.parse, urllib.request
base = sys.argv[1]
def get(path):
    with urllib.request.urlopen(base + path, timeout=5) as r:
        return json.load(r)
for d in get("/api/v1/dossiers?state=overdue&limit=50")["dossiers"]:
    letters = get("/api/v1/dossiers/" + urllib.parse.quote(d["dossier_id"], safe="")).get("letters")
    if letters:
        print(base + letters[0]["url"])
        break
PY
)"
  [[ -n "$LETTER_URL" ]] && break
  kill -0 "$DAEMON_PID" 2>/dev/null || break
  sleep 0.5
done

cat <<INFO

ontime demo is running (daemon pid $DAEMON_PID, log $WORK/ontimed.log)
  board       $BOARD_URL   (click a dossier for its timeline and letters)
  letter      ${LETTER_URL:-none yet: open an overdue dossier from the board}
  metrics     http://127.0.0.1:$HTTP_PORT/metrics
  health      http://127.0.0.1:$HTTP_PORT/healthz  http://127.0.0.1:$HTTP_PORT/readyz
  dossiers    http://127.0.0.1:$HTTP_PORT/api/v1/dossiers?limit=10
  board JSON  http://127.0.0.1:$HTTP_PORT/api/v1/board
  alerts      kcat -b $BOOT -t dossier.sla.alerts -C -e -f '%k %s\n'
  letters     kcat -b $BOOT -t dossier.apology-letters -C -e -f '%k %s\n'
  dead letters kcat -b $BOOT -t dossier.events.dlq -C -e -f '%k %h %s\n'
  reload      kill -HUP $DAEMON_PID   (after editing $CONFIG)
INFO
if [[ -n "$PROM_URL" ]]; then
  # Debian's prometheus ships the classic UI only.
  echo "  prometheus  $PROM_URL/classic/alerts  $PROM_URL/api/v1/alerts  (log $WORK/prometheus.log)"
else
  echo "  prometheus  not running"
fi
if [[ -n "$AM_URL" ]]; then
  echo "  alertmanager $AM_URL/#/alerts  (log $WORK/alertmanager.log)"
else
  echo "  alertmanager not running"
fi
echo "Ctrl-C stops the daemon, Prometheus, Alertmanager and the broker."
wait "$DAEMON_PID"
