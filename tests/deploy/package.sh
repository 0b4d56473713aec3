#!/usr/bin/env bash
# Builds the Debian package with CPack, inspects it, installs, removes and purges it on this
# machine. Usage: package.sh BUILD_DIR SOURCE_DIR   (ontimed must already be built in BUILD_DIR)
#
# Needs root and dpkg (CI runs as root on a throwaway Debian machine). It refuses to run when an
# `ontime` package, user or /etc/ontime, /var/lib/ontime already exist (it would destroy them),
# and it always purges what it installed (trap), so the machine is left as it was found.
set -euo pipefail
build="${1:?usage: package.sh BUILD_DIR SOURCE_DIR}"
src="${2:?usage: package.sh BUILD_DIR SOURCE_DIR}"
build="$(cd "$build" && pwd)"

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

[[ $(id -u) -eq 0 ]] || fail "must run as root (it installs and purges the package)"
for tool in cpack dpkg dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || fail "$tool not found (packages cmake, dpkg, dpkg-dev)"
done
[[ -x "$build/daemon/ontimed" ]] || fail "$build/daemon/ontimed is not built (cmake --build $build --target ontimed)"
if dpkg-query -W -f='${Status}' ontime 2>/dev/null | grep -qv 'not-installed'; then
  fail "package ontime is already installed or has config files left; will not touch it (dpkg -P ontime first)"
fi
getent passwd ontime >/dev/null && fail "user ontime already exists; will not touch it"
getent group ontime >/dev/null && fail "group ontime already exists; will not touch it"
[[ -e /etc/ontime || -e /var/lib/ontime ]] && fail "/etc/ontime or /var/lib/ontime already exists; will not touch it"

installed=0
cleanup() {
  local rc=$?
  if [[ $installed -eq 1 ]]; then
    echo "== cleanup: dpkg -P ontime"
    dpkg -P ontime >/dev/null 2>&1 || echo "cleanup: dpkg -P ontime failed" >&2
  fi
  if [[ $rc -eq 0 ]]; then echo "PASS"; else echo "FAILED (exit $rc)" >&2; fi
  exit $rc
}
trap cleanup EXIT

step "cpack -G DEB in $build"
rm -f "$build"/ontime_*.deb
(cd "$build" && cpack -G DEB) || fail "cpack failed"
shopt -s nullglob
debs=("$build"/ontime_*.deb)
shopt -u nullglob
[[ ${#debs[@]} -eq 1 ]] || fail "expected one $build/ontime_*.deb, found ${#debs[@]}"
deb="${debs[0]}"
echo "package: $deb"

step "dpkg-deb --contents"
contents="$(dpkg-deb --contents "$deb" | awk '{print $6}' | sed 's#^\./#/#')"
expected=(
  /usr/bin/ontimed
  /lib/systemd/system/ontimed.service
  /usr/lib/sysusers.d/ontime.conf
  /etc/ontime/ontime.yaml
  /usr/share/ontime/prometheus/prometheus.yml
  /usr/share/ontime/alertmanager/alertmanager.yml
  /usr/share/ontime/alertmanager/generate.py
  /usr/share/doc/ontime/README.Debian
  /usr/share/doc/ontime/runbook.md
)
for f in "$src"/deploy/prometheus/rules/*.yml; do expected+=("/usr/share/ontime/prometheus/rules/$(basename "$f")"); done
for f in "$src"/deploy/prometheus/tests/*.yml; do expected+=("/usr/share/ontime/prometheus/tests/$(basename "$f")"); done
for f in "$src"/dashboards/*.json; do expected+=("/usr/share/ontime/dashboards/$(basename "$f")"); done
for f in "$src"/dashboards/provisioning/*.yml; do expected+=("/usr/share/ontime/dashboards/provisioning/$(basename "$f")"); done
for f in "$src"/deploy/examples/*.yaml; do expected+=("/usr/share/ontime/examples/$(basename "$f")"); done
[[ -f "$src/docs/operations.md" ]] && expected+=(/usr/share/doc/ontime/operations.md)
[[ -f "$src/README.md" ]] && expected+=(/usr/share/doc/ontime/README.md)
missing=0
for f in "${expected[@]}"; do
  if grep -qxF -- "$f" <<<"$contents"; then echo "ok   $f"; else echo "MISSING $f"; missing=1; fi
done
[[ $missing -eq 0 ]] || fail "files missing from the package"
dpkg-deb --contents "$deb" | grep -E ' \./etc/ontime/ontime\.yaml$' | grep -q '^-rw-r-----' \
  || fail "/etc/ontime/ontime.yaml should be mode 0640 in the package"

step "dpkg-deb -I (control, conffiles, scripts)"
info="$(dpkg-deb -I "$deb")"
echo "$info"
for field in "Package: ontime" "Section: admin" "Maintainer:" "Description:" "Depends:"; do
  grep -qF -- "$field" <<<"$info" || fail "control lacks $field"
done
for member in conffiles postinst prerm postrm; do
  grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +\*? *$member( |$)" <<<"$info" || fail "control member $member missing"
done
[[ "$(dpkg-deb -f "$deb" Package)" == ontime ]] || fail "package name is not ontime"
depends="$(dpkg-deb -f "$deb" Depends)"
for lib in librdkafka libyaml-cpp libsystemd0 libc6; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib (dpkg-shlibdeps): $depends"
done
conffiles="$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)"
grep -qxF /etc/ontime/ontime.yaml <<<"$conffiles" || fail "conffiles does not list /etc/ontime/ontime.yaml"

step "dpkg -i"
installed=1
dpkg -i "$deb" || fail "dpkg -i failed"
[[ "$(dpkg-query -W -f='${Status}' ontime)" == "install ok installed" ]] || fail "not installed ok"
id ontime || fail "user ontime not created"
getent group ontime >/dev/null || fail "group ontime not created"
[[ -x /usr/bin/ontimed ]] || fail "/usr/bin/ontimed missing"
[[ -f /lib/systemd/system/ontimed.service ]] || fail "unit missing"
[[ -d /var/lib/ontime ]] || fail "/var/lib/ontime not created"
[[ "$(stat -c '%U:%G %a' /var/lib/ontime)" == "ontime:ontime 700" ]] \
  || fail "/var/lib/ontime is $(stat -c '%U:%G %a' /var/lib/ontime), want ontime:ontime 700"
[[ "$(stat -c '%U:%G %a' /etc/ontime/ontime.yaml)" == "root:ontime 640" ]] \
  || fail "/etc/ontime/ontime.yaml is $(stat -c '%U:%G %a' /etc/ontime/ontime.yaml), want root:ontime 640"

step "ontimed check-config --config /etc/ontime/ontime.yaml"
/usr/bin/ontimed check-config --config /etc/ontime/ontime.yaml || fail "check-config failed on the shipped configuration"
step "check-config as the ontime user (the daemon must be able to read its configuration)"
if command -v setpriv >/dev/null; then
  setpriv --reuid=ontime --regid=ontime --init-groups \
    /usr/bin/ontimed check-config --config /etc/ontime/ontime.yaml || fail "user ontime cannot read the configuration"
fi
if command -v systemd-analyze >/dev/null; then
  step "systemd-analyze verify (installed unit)"
  systemd-analyze verify /lib/systemd/system/ontimed.service || fail "systemd-analyze verify failed"
fi

step "dpkg -r keeps configuration, state and user"
echo "# marker" > /var/lib/ontime/test-marker
dpkg -r ontime || fail "dpkg -r failed"
[[ "$(dpkg-query -W -f='${Status}' ontime)" == "deinstall ok config-files" ]] || fail "not in config-files state after dpkg -r"
[[ ! -e /usr/bin/ontimed ]] || fail "/usr/bin/ontimed left after dpkg -r"
[[ ! -e /lib/systemd/system/ontimed.service ]] || fail "unit left after dpkg -r"
[[ -f /etc/ontime/ontime.yaml ]] || fail "dpkg -r removed /etc/ontime/ontime.yaml"
[[ -f /var/lib/ontime/test-marker ]] || fail "dpkg -r removed /var/lib/ontime"
getent passwd ontime >/dev/null || fail "dpkg -r removed the user"

step "dpkg -P removes them"
dpkg -P ontime || fail "dpkg -P failed"
installed=0
if dpkg-query -W -f='${Status}' ontime 2>/dev/null | grep -qv 'not-installed'; then
  fail "package still known to dpkg after purge"
fi
[[ ! -e /etc/ontime ]] || fail "/etc/ontime left after purge"
[[ ! -e /var/lib/ontime ]] || fail "/var/lib/ontime left after purge"
! getent passwd ontime >/dev/null || fail "user ontime left after purge"
! getent group ontime >/dev/null || fail "group ontime left after purge"
