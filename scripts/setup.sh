#!/usr/bin/env bash
# Installs every Debian package that building, testing and demonstrating ontime needs.
# Idempotent and quiet when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  libboost-dev libboost-system-dev
  librdkafka-dev libyaml-cpp-dev prometheus-cpp-dev libsimdjson-dev libsystemd-dev
  libhowardhinnant-date-dev tzdata
  libgtest-dev libgmock-dev
  prometheus prometheus-alertmanager kcat
  libssl-dev openssl chromium
  maven default-jre-headless
  systemd dpkg-dev fakeroot python3 python3-yaml python3-matplotlib
  clang-format-16 clang-tidy-16
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Java 17 may come from a JDK outside Debian's packages; any working java will do.
if command -v java >/dev/null 2>&1; then
  missing=("${missing[@]/default-jre-headless}")
fi
read -r -a missing <<<"${missing[*]:-}"
if ((${#missing[@]} == 0)); then
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# Debian's prometheus and alertmanager packages start services by default; we run our own.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for svc in prometheus prometheus-alertmanager prometheus-node-exporter; do
  $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
  $SUDO pkill -x "$svc" >/dev/null 2>&1 || true
done
