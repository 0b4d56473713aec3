#!/usr/bin/env bash
# Development/test Apache Kafka broker: one KRaft node (broker + controller) on 127.0.0.1.
# Used by the integration tests, the benchmarks and `make demo`. See README.md beside this file.
#
#   kafka.sh fetch                               jars into lib/ (Maven Central), once
#   kafka.sh start DIR [PORT]                    format DIR (first time), start, wait until ready;
#                                                prints the bootstrap address ("127.0.0.1:PORT")
#   kafka.sh create-topics DIR [TOPIC[:PARTITIONS]...]
#   kafka.sh stop DIR                            SIGTERM, up to 20 s, then SIGKILL
#   kafka.sh kill DIR                            SIGKILL at once (crash tests)
#   kafka.sh status DIR                          exit 0 when running
#
# Environment: KAFKA_DEV_HEAP (default "-Xms128m -Xmx512m"), KAFKA_DEV_JAVA_OPTS (extra JVM options),
# KAFKA_DEV_START_TIMEOUT (seconds, default 60), KAFKA_DEV_MVN_ARGS (extra mvn arguments),
# KAFKA_DEV_CDS=0 (no class-data-sharing archive), JAVA_HOME (else `java` on PATH).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB="$HERE/lib"
TARGET="$HERE/target"
MARKER="$LIB/.fetched"
DEFAULT_TOPICS=(dossier.events:3 dossier.sla.alerts:3 dossier.apology-letters:3 dossier.events.dlq:1)

die() { echo "kafka-dev: $*" >&2; exit 1; }
say() { echo "kafka-dev: $*" >&2; }

java_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    command -v java
  else
    die "no java found (install a JDK/JRE >= 17, e.g. apt-get install default-jre-headless)"
  fi
}

javac_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/javac" ]]; then
    echo "$JAVA_HOME/bin/javac"
  elif command -v javac >/dev/null 2>&1; then
    command -v javac
  fi
}

apt_install() {
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 ||
    { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}

# What lib/ must have been fetched for: the pom's content (versions, exclusions).
fetch_key() { sha256sum "$HERE/pom.xml" | cut -d' ' -f1; }

# Resolve a DIR argument to an absolute path; `abs_dir DIR create` makes it first.
abs_dir() {
  [[ -n "${1:-}" ]] || die "missing DIR argument"
  [[ "${2:-}" != create ]] || mkdir -p "$1"
  [[ -d "$1" ]] || die "no such directory: $1"
  (cd "$1" && pwd)
}

# The pid in DIR/broker.pid, if that process is alive and is our broker.
broker_pid() {
  local dir="$1" pid
  [[ -f "$dir/broker.pid" ]] || return 1
  pid="$(<"$dir/broker.pid")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "-Dkafka.dev.dir=$dir " || return 1
  echo "$pid"
}

# Port of the PLAINTEXT listener recorded in DIR/server.properties.
config_port() { sed -n 's|^listeners=PLAINTEXT://127\.0\.0\.1:\([0-9]*\),.*|\1|p' "$1/server.properties" 2>/dev/null || true; }

# Two free ports on 127.0.0.1 (both bound at once, so they differ; small race until Kafka binds).
free_ports() {
  python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])'
}

# Alive and not a zombie (a broker that died during `start` is our unreaped child).
alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z ]]
}

# Class-data-sharing archive of the broker's classes (a JDK dynamic archive, target/broker.jsa):
# written by the first broker that stops cleanly, then mapped by every JVM started here, which cuts
# the broker's start-up CPU by about 40 %. Valid for one lib/ content and one java binary.
# KAFKA_DEV_CDS=0 disables it.
CDS="$TARGET/broker.jsa"
cds_key() { echo "$(fetch_key) $(readlink -f "$1")"; }
cds_opts() { # JAVA [DUMP_DIR]: JVM options that use the archive, or else ask for one in DUMP_DIR
  [[ "${KAFKA_DEV_CDS:-1}" != 0 ]] || return 0
  if [[ -f "$CDS" && -f "$CDS.key" && "$(<"$CDS.key")" == "$(cds_key "$1")" ]]; then
    echo "-XX:SharedArchiveFile=$CDS"
  elif [[ -n "${2:-}" ]]; then
    cds_key "$1" >"$2/broker.jsa.key"
    echo "-XX:ArchiveClassesAtExit=$2/broker.jsa"
  fi
}
cds_publish() { # DIR: after a clean broker exit, make its archive the shared one
  local dir="$1"
  if [[ -s "$dir/broker.jsa" && -f "$dir/broker.jsa.key" ]]; then
    mkdir -p "$TARGET"
    cp "$dir/broker.jsa" "$CDS.$$" && mv -f "$CDS.$$" "$CDS" && cp "$dir/broker.jsa.key" "$CDS.key"
  fi
  rm -f "$dir/broker.jsa" "$dir/broker.jsa.key"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd_fetch() {
  mkdir -p "$TARGET"
  exec 9>"$TARGET/fetch.lock"
  flock 9
  local key
  key="$(fetch_key)"
  if [[ ! -f "$MARKER" || "$(<"$MARKER")" != "$key" ]]; then
    command -v mvn >/dev/null 2>&1 || apt_install maven
    rm -rf "$TARGET/lib.tmp"
    # shellcheck disable=SC2086  # KAFKA_DEV_MVN_ARGS is a word list
    if ! mvn -q -B ${KAFKA_DEV_MVN_ARGS:-} -f "$HERE/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$TARGET/lib.tmp" >"$TARGET/fetch.log" 2>&1; then
      cat "$TARGET/fetch.log" >&2
      die "mvn failed to fetch the Kafka jars (log: $TARGET/fetch.log)"
    fi
    echo "$key" >"$TARGET/lib.tmp/.fetched"
    rm -rf "$LIB"
    mv "$TARGET/lib.tmp" "$LIB"
    rm -f "$CDS" "$CDS.key" # the JVM rejects an archive whose jars changed (even just their mtime)
  fi
  # The topic-creation helper; without javac (a JRE only) create-topics falls back to TopicCommand.
  local src="$HERE/tools/CreateTopics.java" javac
  javac="$(javac_bin)"
  if [[ -n "$javac" && ( ! -f "$TARGET/classes/CreateTopics.class" || "$src" -nt "$TARGET/classes/CreateTopics.class" ||
        "$MARKER" -nt "$TARGET/classes/CreateTopics.class" ) ]]; then
    mkdir -p "$TARGET/classes"
    "$javac" -nowarn -encoding UTF-8 -cp "$LIB/*" -d "$TARGET/classes" "$src" ||
      die "javac failed on $src"
  fi
  exec 9>&-
}

write_config() {
  local dir="$1" port="$2" cport="$3"
  cat >"$dir/server.properties" <<EOF
# Written by deploy/kafka-dev/kafka.sh start: single-node KRaft dev/test broker.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=false
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# A restart after SIGKILL waits for the old registration's session to expire (default 9 s).
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=500
num.network.threads=2
num.io.threads=4
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
EOF
}

cmd_start() {
  local dir port="${2:-}" cport pid
  dir="$(abs_dir "${1:-}" create)"
  if pid="$(broker_pid "$dir")"; then
    die "a broker is already running for $dir (pid $pid, $(cat "$dir/bootstrap" 2>/dev/null || echo '?'))"
  fi
  cmd_fetch
  mkdir -p "$dir/logs" "$dir/data"
  rm -f "$dir/bootstrap" "$dir/broker.pid"

  # Restart on an existing DIR keeps its port unless another is asked for (crash/restart tests).
  if [[ -z "$port" ]]; then port="$(config_port "$dir")"; fi
  if [[ -n "$port" ]]; then
    [[ "$port" =~ ^[0-9]+$ ]] || die "bad PORT: $port"
    port_open "$port" && die "port $port on 127.0.0.1 is already in use"
    read -r cport _ < <(free_ports)
    [[ "$cport" != "$port" ]] || read -r _ cport < <(free_ports)
  else
    read -r port cport < <(free_ports)
  fi
  write_config "$dir" "$port" "$cport"

  local java
  java="$(java_bin)"
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    local cluster_id
    # Never one beginning with "-": the storage tool would take it for an option (1 in 64 ids).
    cluster_id="$(python3 -c 'import base64, uuid
while True:
    c = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not c.startswith("-"):
        break
print(c)')"
    local cds=()
    mapfile -t cds < <(cds_opts "$java")
    if ! "$java" -Xmx256m -XX:TieredStopAtLevel=1 "${cds[@]}" -cp "$LIB/*" \
      -Dlog4j2.configurationFile="$HERE/conf/log4j2-tools.properties" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" >"$dir/logs/format.log" 2>&1; then
      cat "$dir/logs/format.log" >&2
      die "formatting KRaft storage in $dir/data failed"
    fi
  fi

  rm -f "$dir/broker.jsa" "$dir/broker.jsa.key"
  local cds=()
  mapfile -t cds < <(cds_opts "$java" "$dir")
  # shellcheck disable=SC2086  # KAFKA_DEV_HEAP / KAFKA_DEV_JAVA_OPTS are word lists
  setsid "$java" ${KAFKA_DEV_HEAP:--Xms128m -Xmx512m} "${cds[@]}" \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    ${KAFKA_DEV_JAVA_OPTS:-} \
    -Dkafka.logs.dir="$dir/logs" -Dlog4j2.configurationFile="$HERE/conf/log4j2-broker.properties" \
    -Dkafka.dev.dir="$dir" \
    -cp "$LIB/*" kafka.Kafka "$dir/server.properties" \
    </dev/null >"$dir/logs/stdout.log" 2>&1 &
  local pid=$!
  disown "$pid" 2>/dev/null || true # no "Killed" job notice from bash if we have to kill it
  echo "$pid" >"$dir/broker.pid"

  local timeout="${KAFKA_DEV_START_TIMEOUT:-60}" start=$SECONDS ready="" kcat
  kcat="${KAFKA_DEV_KCAT-$(command -v kcat || true)}" # KAFKA_DEV_KCAT= : watch the log instead
  while ((SECONDS - start < timeout)); do
    if ! alive "$pid"; then
      rm -f "$dir/broker.pid"
      fail_log "$dir" "the broker exited during start-up"
    fi
    if port_open "$port"; then
      if [[ -n "$kcat" ]]; then
        if "$kcat" -b "127.0.0.1:$port" -L -m 3 2>/dev/null | grep -q "broker 1 at"; then ready=1; break; fi
      elif grep -q "Kafka Server started" "$dir/logs/server.log" 2>/dev/null; then
        ready=1; break
      fi
    fi
    sleep 0.2
  done
  if [[ -z "$ready" ]]; then
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/broker.pid"
    fail_log "$dir" "the broker did not answer on 127.0.0.1:$port within ${timeout}s (killed it)"
  fi
  echo "127.0.0.1:$port" >"$dir/bootstrap"
  echo "127.0.0.1:$port"
}

fail_log() {
  local dir="$1"
  {
    echo "----- $dir/logs/server.log (tail) -----"
    tail -n 40 "$dir/logs/server.log" 2>/dev/null || true
    echo "----- $dir/logs/stdout.log (tail) -----"
    tail -n 20 "$dir/logs/stdout.log" 2>/dev/null || true
  } >&2
  die "$2"
}

cmd_create_topics() {
  local dir pid boot
  dir="$(abs_dir "${1:-}")"
  shift
  pid="$(broker_pid "$dir")" || die "no broker running for $dir"
  [[ -f "$dir/bootstrap" ]] || die "$dir/bootstrap missing (start did not finish?)"
  boot="$(<"$dir/bootstrap")"
  local topics=("$@")
  ((${#topics[@]})) || topics=("${DEFAULT_TOPICS[@]}")
  cmd_fetch
  local java
  java="$(java_bin)"
  local jvm=(-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
    -Dlog4j2.configurationFile="$HERE/conf/log4j2-tools.properties")
  mapfile -t -O "${#jvm[@]}" jvm < <(cds_opts "$java")
  if [[ -f "$TARGET/classes/CreateTopics.class" && "${KAFKA_DEV_TOPIC_COMMAND:-0}" == 0 ]]; then
    "$java" "${jvm[@]}" -cp "$LIB/*:$TARGET/classes" CreateTopics "$boot" "${topics[@]}" >/dev/null ||
      die "creating topics ${topics[*]} failed"
  else
    # One JVM per topic: Kafka's own kafka-topics tool creates one topic per run.
    local t name parts
    for t in "${topics[@]}"; do
      name="${t%:*}"
      parts=()
      [[ "$t" == *:* ]] && parts=(--partitions "${t##*:}")
      "$java" "${jvm[@]}" -cp "$LIB/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$boot" \
        --create --if-not-exists --topic "$name" "${parts[@]}" --replication-factor 1 >/dev/null ||
        die "creating topic $name failed"
    done
  fi
}

cmd_stop() {
  local dir pid i
  [[ -n "${1:-}" ]] || die "missing DIR argument"
  [[ -d "$1" ]] || return 0
  dir="$(abs_dir "$1")"
  if ! pid="$(broker_pid "$dir")"; then
    rm -f "$dir/broker.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  # 20 s; 60 s when this broker writes the class-data archive at exit (once per checkout).
  local limit=200
  [[ ! -f "$dir/broker.jsa.key" ]] || limit=600
  for ((i = 0; i < limit; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    say "broker pid $pid still running after $((limit / 10)) s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid"
    rm -f "$dir/broker.jsa" "$dir/broker.jsa.key"
  fi
  cds_publish "$dir"
  rm -f "$dir/broker.pid"
}

wait_gone() {
  local i
  for ((i = 0; i < 100; i++)); do
    alive "$1" || return 0
    sleep 0.05
  done
  die "pid $1 did not go away"
}

cmd_kill() {
  local dir pid
  [[ -n "${1:-}" ]] || die "missing DIR argument"
  [[ -d "$1" ]] || return 0
  dir="$(abs_dir "$1")"
  if pid="$(broker_pid "$dir")"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid"
  fi
  rm -f "$dir/broker.pid" "$dir/broker.jsa" "$dir/broker.jsa.key"
}

cmd_status() {
  local dir pid
  [[ -n "${1:-}" ]] || die "missing DIR argument"
  [[ -d "$1" ]] || { echo "stopped"; return 1; }
  dir="$(cd "$1" && pwd)"
  if pid="$(broker_pid "$dir")"; then
    echo "running pid=$pid bootstrap=$(cat "$dir/bootstrap" 2>/dev/null || echo starting)"
  else
    echo "stopped"
    return 1
  fi
}

usage() {
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
  local cmd="${1:-}"
  shift || true
  case "$cmd" in
    fetch) cmd_fetch ;;
    start) cmd_start "$@" ;;
    create-topics) cmd_create_topics "$@" ;;
    stop) cmd_stop "$@" ;;
    kill) cmd_kill "$@" ;;
    status) cmd_status "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
