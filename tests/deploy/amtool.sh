#!/usr/bin/env bash
# Checks deploy/alertmanager: config valid, up to date with the example configuration's
# departments, and routing (department + severity -> exactly that head's receiver).
# Usage: amtool.sh SOURCE_DIR
set -euo pipefail
src="${1:?usage: amtool.sh SOURCE_DIR}"
dir="$src/deploy/alertmanager"
cfg="$dir/alertmanager.yml"
command -v amtool >/dev/null || { echo "amtool not found (Debian package prometheus-alertmanager)"; exit 1; }

echo "== amtool check-config"
amtool check-config "$cfg"

echo "== generate.py --check against deploy/examples/province.yaml"
python3 "$dir/generate.py" --check --config "$src/deploy/examples/province.yaml" --output "$cfg"

fail=0
route() { # expected-receiver label=value...
  local want="$1"; shift
  local got
  got="$(amtool config routes test --config.file="$cfg" "$@" 2>/dev/null)"
  if [[ "$got" == "$want" ]]; then
    echo "ok   $* -> $got"
  else
    echo "FAIL $* -> '$got' (want exactly '$want')"; fail=1
  fi
}

echo "== amtool config routes test"
# Every department head receiver in the file: both severities, domain alerts.
codes=$(sed -n 's/^    - matchers: \["department=\\"\([^\\]*\)\\""\]$/\1/p' "$cfg")
[[ -n "$codes" ]] || { echo "FAIL: no department routes found in $cfg"; exit 1; }
n=0
for code in $codes; do
  rcv="head-$(echo "$code" | tr 'A-Z' 'a-z')"
  route "$rcv" alertname=DepartmentOverdueDossiers department="$code" severity=warning
  route "$rcv" alertname=DepartmentOnTimeRateBelowTarget department="$code" severity=critical
  n=$((n+1))
done
echo "$n department routes tested"
# Known cases by name (the example province's departments).
route head-sxd   alertname=DepartmentOnTimeRateBelowTarget department=SXD severity=warning
route head-stnmt alertname=DepartmentOverdueDossiers department=STNMT severity=warning
route head-syt   alertname=DepartmentOverdueDossiers department=SYT severity=critical
route head-svhttdl alertname=DepartmentOverdueDossiers department=SVHTTDL severity=warning
# Daemon alerts and unknown departments go to ops.
route ontime-ops alertname=OntimedDown job=ontimed instance=127.0.0.1:9464 severity=critical
route ontime-ops alertname=ConsumerLagHigh job=ontimed severity=warning
route ontime-ops alertname=DepartmentOverdueDossiers department=UNKNOWN severity=warning
# Label values are matched exactly (no prefix match of SXD on SXDX, case-sensitive).
route ontime-ops alertname=DepartmentOverdueDossiers department=sxd severity=warning
# Per-dossier alerts from ontimed carry kind; an escalation (past defaults.max_apology_letters)
# goes to the configuration's escalation contact, not to the department head.
route head-sxd alertname=OntimeDossierOverdue kind=overdue department=SXD severity=critical
route head-sxd alertname=OntimeDossierAtRisk kind=at_risk department=SXD severity=warning
route escalation alertname=OntimeDossierEscalated kind=escalated department=SXD severity=critical
route escalation alertname=OntimeDossierEscalated kind=escalated department=UBND severity=critical
route escalation alertname=OntimeDossierEscalated kind=escalated severity=warning
route head-sxd alertname=OntimeDossierEscalated kind=escalated_x department=SXD severity=critical

echo "== generate.py: the escalation route follows the configuration's escalation contact"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Without an escalation contact: no kind route, no escalation receiver.
sed '/^escalation:/,/^$/d' "$src/deploy/examples/province.yaml" >"$tmp/no-escalation.yaml"
if grep -q '^escalation:' "$tmp/no-escalation.yaml"; then echo "FAIL: escalation not removed"; fail=1; fi
python3 "$dir/generate.py" --config "$tmp/no-escalation.yaml" --output "$tmp/plain.yml" >/dev/null
amtool check-config "$tmp/plain.yml" >/dev/null
if grep -q 'kind=\|name: escalation' "$tmp/plain.yml"; then
  echo "FAIL: an escalation route without an escalation contact"; fail=1
else
  echo "ok   no escalation contact -> no escalation route"
fi
got="$(amtool config routes test --config.file="$tmp/plain.yml" kind=escalated department=SXD severity=critical 2>/dev/null)"
[[ "$got" == head-sxd ]] && echo "ok   without a contact, an escalation goes to the head: $got" \
  || { echo "FAIL: escalation without a contact -> '$got' (want head-sxd)"; fail=1; }
# The line parser used without PyYAML reads the same contact (flow style here).
printf 'escalation: {name: "X", email: "chief@example.org"}  # inline\n' >"$tmp/flow.yaml"
sed -n '/^departments:/,/^procedures:/p' "$src/deploy/examples/province.yaml" | sed '$d' >>"$tmp/flow.yaml"
for parser in yaml fallback; do
  python3 - "$dir/generate.py" "$tmp/flow.yaml" "$tmp/flow-$parser.yml" "$parser" <<'PY' >/dev/null
import runpy, sys
script, config, output, parser = sys.argv[1:]
if parser == "fallback":
    sys.modules["yaml"] = None  # import yaml fails: the line parser is used
sys.argv = [script, "--config", config, "--output", output]
runpy.run_path(script, run_name="__main__")
PY
done
python3 - "$dir/generate.py" "$src/deploy/examples/province.yaml" "$tmp/province-fallback.yml" <<'PY' >/dev/null
import runpy, sys
script, config, output = sys.argv[1:]
sys.modules["yaml"] = None
sys.argv = [script, "--config", config, "--output", output]
runpy.run_path(script, run_name="__main__")
PY
if cmp -s "$tmp/flow-yaml.yml" "$tmp/flow-fallback.yml" && cmp -s "$tmp/province-fallback.yml" "$cfg" \
   && grep -q '"chief@example.org"' "$tmp/flow-yaml.yml"; then
  echo "ok   PyYAML and the line parser agree (flow and block escalation)"
else
  echo "FAIL: PyYAML and the line parser disagree on the escalation contact"; fail=1
fi

echo "== office hours: warning routes muted outside Mon-Fri 07:30-17:00 Asia/Ho_Chi_Minh, critical never"
python3 - "$cfg" <<'PY' || fail=1
import sys
try:
    import yaml
except ImportError:
    print("SKIP: PyYAML not installed; structure not checked"); sys.exit(0)
c = yaml.safe_load(open(sys.argv[1]))
bad = []
ti = {t["name"]: t["time_intervals"] for t in c.get("time_intervals", [])}
oh = ti.get("office-hours")
want = [{"weekdays": ["monday:friday"], "times": [{"start_time": "07:30", "end_time": "17:00"}],
         "location": "Asia/Ho_Chi_Minh"}]
if oh != want:
    bad.append(f"office-hours is {oh!r}, want {want!r}")
def walk(r, path):
    for i, s in enumerate(r.get("routes", []) or []):
        m = s.get("matchers", [])
        p = f"{path}/{i}{m}"
        if 'severity="critical"' in m and s.get("active_time_intervals"):
            bad.append(f"{p}: critical route has active_time_intervals")
        if 'severity!="critical"' in m and s.get("active_time_intervals") != ["office-hours"]:
            bad.append(f"{p}: non-critical route not limited to office-hours")
        if s.get("mute_time_intervals"):
            bad.append(f"{p}: unexpected mute_time_intervals")
        walk(s, p)
walk(c["route"], "route")
rcv = {r["name"]: r for r in c["receivers"]}
for name, r in rcv.items():
    if not r.get("email_configs") or not r.get("webhook_configs"):
        bad.append(f"receiver {name} lacks email_configs or webhook_configs")
    if name.startswith("head-"):
        code = name[5:]
        if r["email_configs"][0]["to"] != f"head.{code}@example.gov.vn":
            print(f"note: receiver {name} mails {r['email_configs'][0]['to']}")
print("\n".join(bad) if bad else f"{len(rcv)} receivers, routes ok")
sys.exit(1 if bad else 0)
PY

[[ $fail == 0 ]] && echo "amtool.sh: OK" || { echo "amtool.sh: FAILED"; exit 1; }
