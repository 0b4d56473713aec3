#!/usr/bin/env bash
# Checks deploy/systemd/ontimed.service with systemd-analyze (systemd 252, Debian 12).
# Usage: systemd.sh SOURCE_DIR [BINARY]
#
# `systemd-analyze verify` fails when ExecStart's binary does not exist ("Command
# /usr/bin/ontimed is not executable"), and /usr/bin/ontimed is not installed on a build or CI
# host. So a copy of the unit, with /usr/bin/ontimed replaced by BINARY (the built ontimed when
# given, else /bin/true), is verified in a temporary directory under the same unit name. Nothing
# else is changed. Any warning about the unit (e.g. an unknown key, which verify reports but does
# not fail on) fails the test.
#
# `systemd-analyze security --offline=yes` (systemd >= 250) scores the unit file without loading
# it into the running manager; the overall exposure must be <= 2.0.
set -euo pipefail
src="${1:?usage: systemd.sh SOURCE_DIR [BINARY]}"
bin="${2:-/bin/true}"
unit="$src/deploy/systemd/ontimed.service"
max_exposure=2.0
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not found (Debian package systemd)"; exit 1; }
if [[ ! -x "$bin" ]]; then
  echo "note: $bin is not built/executable; verifying with ExecStart=/bin/true instead"
  bin=/bin/true
fi
bin="$(readlink -f "$bin")"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed "s#/usr/bin/ontimed#$bin#g" "$unit" > "$tmp/ontimed.service"

echo "== required settings"
fail=0
need() {
  if grep -qxF -- "$1" "$unit"; then echo "ok   $1"; else echo "FAIL missing: $1"; fail=1; fi
}
need "Type=notify"
need "NotifyAccess=main"
need "ExecStart=/usr/bin/ontimed run --config /etc/ontime/ontime.yaml"
need 'ExecReload=/bin/kill -HUP $MAINPID'
need "WatchdogSec=30s"
need "Restart=on-failure"
need "RestartPreventExitStatus=78"
need "TimeoutStartSec=90s"
need "User=ontime"
need "Group=ontime"
need "StateDirectory=ontime"
need "ConfigurationDirectory=ontime"
need "ProtectSystem=strict"
need "CapabilityBoundingSet="
need "SystemCallFilter=@system-service"
need "SystemCallFilter=~@privileged @resources"
need "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"
need "UMask=0077"

echo "== systemd-analyze verify (ExecStart binary: $bin)"
out="$(cd "$tmp" && systemd-analyze verify ./ontimed.service 2>&1)" || { echo "$out"; echo "FAIL: verify"; exit 1; }
echo "${out:-(no warnings)}"
if grep -q "ontimed.service" <<<"$out"; then echo "FAIL: warnings about the unit"; fail=1; fi

echo "== systemd-analyze security --offline=yes"
sec="$(cd "$tmp" && systemd-analyze security --offline=yes --no-pager ./ontimed.service 2>&1)" || true
grep -E '^✗' <<<"$sec" || true
overall="$(sed -n 's/.*Overall exposure level for ontimed.service: \([0-9.]*\).*/\1/p' <<<"$sec")"
[[ -n "$overall" ]] || { echo "$sec"; echo "FAIL: could not parse the overall exposure"; exit 1; }
echo "overall exposure: $overall (required <= $max_exposure)"
if ! awk -v e="$overall" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
  echo "FAIL: exposure $overall > $max_exposure"; fail=1
fi

[[ $fail == 0 ]] && echo "systemd.sh: OK" || { echo "systemd.sh: FAILED"; exit 1; }
