#!/usr/bin/env bash
# Checks the Prometheus configuration, rules and rule unit tests of deploy/prometheus.
# Usage: promtool.sh SOURCE_DIR
set -euo pipefail
src="${1:?usage: promtool.sh SOURCE_DIR}"
dir="$src/deploy/prometheus"
command -v promtool >/dev/null || { echo "promtool not found (Debian package prometheus)"; exit 1; }

echo "== promtool check config"
promtool check config "$dir/prometheus.yml"
echo "== promtool check rules"
promtool check rules "$dir"/rules/*.yml
echo "== promtool test rules"
promtool test rules "$dir"/tests/*.yml

echo "== coverage: every rule tested, every runbook_url anchor present"
python3 - "$src" <<'PY'
import re, sys, pathlib
src = pathlib.Path(sys.argv[1])
rules = "".join(p.read_text() for p in sorted((src / "deploy/prometheus/rules").glob("*.yml")))
tests = "".join(p.read_text() for p in sorted((src / "deploy/prometheus/tests").glob("*.yml")))
records = re.findall(r"^\s*- record:\s*(\S+)\s*$", rules, re.M)
alerts = re.findall(r"^\s*- alert:\s*(\S+)\s*$", rules, re.M)
tested_exprs = set(re.findall(r"^\s*- expr:\s*(\S+)\s*$", tests, re.M))
tested_alerts = set(re.findall(r"^\s*- alertname:\s*(\S+)\s*$", tests, re.M))
bad = []
bad += [f"recording rule {r} has no promql_expr_test" for r in records if r not in tested_exprs]
bad += [f"alerting rule {a} has no alert_rule_test" for a in alerts if a not in tested_alerts]
# Each alert must be tested both firing (non-empty exp_alerts) and quiet somewhere; approximate:
# at least two alert_rule_test entries per alert.
for a in alerts:
    n = len(re.findall(r"^\s*- alertname:\s*%s\s*$" % re.escape(a), tests, re.M))
    if n < 2:
        bad.append(f"alerting rule {a} has only {n} alert_rule_test case(s); want firing and quiet")
runbook = (src / "docs/runbook.md").read_text() if (src / "docs/runbook.md").exists() else ""
def anchor(h):
    h = h.strip().lower()
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")
anchors = {anchor(m) for m in re.findall(r"^#+\s+(.*)$", runbook, re.M)}
for url in re.findall(r'runbook_url:\s*"([^"]+)"', rules):
    if "docs/runbook.md#" not in url:
        bad.append(f"runbook_url {url} does not point into docs/runbook.md"); continue
    a = url.split("#", 1)[1]
    if a not in anchors:
        bad.append(f"runbook_url anchor #{a} not a heading of docs/runbook.md")
for a in alerts:
    if f"#{a.lower()}" not in rules:
        bad.append(f"alert {a} has no runbook_url #{a.lower()}")
print(f"{len(records)} recording rules, {len(alerts)} alerting rules checked")
if bad:
    print("\n".join(bad)); sys.exit(1)
PY
echo "== every dashboard PromQL expression parses (as a recording rule for promtool check rules)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
python3 - "$src" > "$tmp/dashboard-queries.yml" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1] + "/tests/deploy")
import dashboard_queries as dq
print("groups:\n  - name: dashboard-queries\n    rules:")
qs = dq.iter_queries(dq.load_dashboards(sys.argv[1] + "/dashboards"), dq.default_vars())
for i, q in enumerate(qs):
    print("      - record: dashboard_query_%d\n        expr: %s" % (i, json.dumps(q["expr"])))
PY
promtool check rules "$tmp/dashboard-queries.yml"

echo "promtool.sh: OK"
