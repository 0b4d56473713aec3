#!/usr/bin/env python3
"""Lints the ontime Grafana dashboards (stdlib only).

Usage: dashboards_lint.py SOURCE_DIR

Checks: the three dashboards exist with their stable, unique uids (file name = uid); every panel
has a unit (fieldConfig.defaults.unit); panel ids unique; data sources templated (Prometheus via
$datasource, the JSON API via $api) with provisioned defaults; the variables department (and,
on the drill-down, procedure chained on it); every Prometheus expression parses into metric
names that the daemon exports (contract section 6 plus the agreed extensions, histograms as
_bucket/_sum/_count) or that the recording rules define, with label matchers only on labels
those metrics carry; Infinity queries point at the ontimed JSON API; the JSON is what
dashboards/build.py generates; the provisioning files name the data source uids.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboard_queries as dq  # noqa: E402

UIDS = {"ontime-inspector", "ontime-department", "ontime-health"}
TARGET_LABELS = {"job", "instance"}
COUNTERS_GAUGES = {
    "dossier_accepted_total": {"department", "channel"},
    "dossier_closed_total": {"department", "outcome"},
    "dossier_open": {"department", "state"},
    "dossier_supplement_requests_total": {"department"},
    "dossier_alerts_total": {"department", "kind"},
    "dossier_apology_letters_total": {"department"},
    "dossier_returned_total": {"department", "channel"},
    "dossier_fee_payments_total": {"department", "method"},
    "dossier_ratings_total": {"department", "rating"},
    "ontime_events_total": {"type"},
    "ontime_events_invalid_total": {"reason"},
    "ontime_dossiers_tracked": set(),
    "ontime_partition_owned": {"partition", "state"},
    "ontime_timers_pending": set(),
    "ontime_event_lag_seconds": set(),
    "ontime_kafka_consumer_lag": {"partition"},
    "ontime_build_info": {"version"},
    # Extensions agreed with the daemon.
    "ontime_ready": set(),
    "ontime_restarts_total": {"mode"},
    "ontime_dead_letters_total": {"reason"},
    "ontime_kafka_consumer_lag_seconds": set(),
    "ontime_alertmanager_push_failures_total": set(),
    "ontime_reloads_total": {"result"},
    "ontime_deadline_recomputations_total": set(),
    "dossier_open_within_time": {"department"},
    "ontime_department_on_time_target": {"department"},
    "dossier_predicted_late": {"department"},
    # Prometheus itself.
    "up": set(),
}
HISTOGRAMS = {
    "dossier_resolution_seconds": {"department"},
    "dossier_resolution_working_seconds": {"department"},
    "dossier_reception_seconds": {"department"},
}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan", "atan2"}


def known_metrics(src):
    m = {k: v | TARGET_LABELS for k, v in COUNTERS_GAUGES.items()}
    for h, labels in HISTOGRAMS.items():
        m[h + "_bucket"] = labels | {"le"} | TARGET_LABELS
        m[h + "_sum"] = labels | TARGET_LABELS
        m[h + "_count"] = labels | TARGET_LABELS
    rules_dir = os.path.join(src, "deploy", "prometheus", "rules")
    for fn in sorted(os.listdir(rules_dir)) if os.path.isdir(rules_dir) else []:
        text = open(os.path.join(rules_dir, fn), encoding="utf-8").read()
        for rm in re.finditer(r"- record:\s*(\S+)\s*\n\s*(?:#.*\n\s*)*expr:\s*([\s\S]*?)(?=\n\s*- record:|\n\s*- name:|\Z)", text):
            by = re.search(r"by\s*\(([^)]*)\)", rm.group(2))
            labels = {x.strip() for x in by.group(1).split(",")} if by else set()
            without = re.search(r"without\s*\(([^)]*)\)", rm.group(2))
            if without and not by:
                # sum without (...) keeps the source metric's labels but those listed.
                dropped = {x.strip() for x in without.group(1).split(",")}
                source = [n for n, _ in selectors(rm.group(2)) if n in m]
                labels = (m[source[0]] - dropped) if source else set()
            m[rm.group(1)] = labels
    return m


def selectors(expr):
    """(metric name, [label names]) of every vector selector in a PromQL expression."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # strings
    out = []
    # metric{labels}
    for mm in re.finditer(r"([A-Za-z_:][\w:]*)?\s*\{([^}]*)\}", e):
        labels = re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", mm.group(2))
        out.append((mm.group(1), labels, mm.start(), mm.end()))
    bare = re.sub(r"([A-Za-z_:][\w:]*)?\s*\{[^}]*\}", " ", e)
    bare = re.sub(r"\[[^\]]*\]", " ", bare)                  # range/subquery durations
    bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    for mm in re.finditer(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?![\w:])(\s*\()?", bare):
        name, call = mm.group(1), mm.group(2)
        if call or name.lower() in KEYWORDS:
            continue
        out.append((name, [], None, None))
    return [(n, l) for n, l, _, _ in out]


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    src = argv[1]
    ddir = os.path.join(src, "dashboards")
    errors = []
    err = errors.append
    boards = dq.load_dashboards(ddir)
    metrics = known_metrics(src)

    uids = [d.get("uid") for _, d in boards]
    if sorted(uids) != sorted(UIDS):
        err(f"dashboard uids {sorted(uids)} != expected {sorted(UIDS)}")
    if len(set(uids)) != len(uids):
        err("duplicate dashboard uids")
    for path, d in boards:
        name = os.path.basename(path)
        uid = d.get("uid")
        if name != f"{uid}.json":
            err(f"{name}: file name does not match uid {uid}")
        if d.get("id") not in (None,):
            err(f"{name}: has a numeric id (drop it for provisioning)")
        vars_ = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
        ds = vars_.get("datasource")
        if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus" \
                or ds.get("current", {}).get("value") != "prometheus":
            err(f"{uid}: no templated Prometheus datasource variable defaulting to uid prometheus")
        if uid in ("ontime-inspector", "ontime-department"):
            dep = vars_.get("department")
            if not dep or "department" not in str(dep.get("query")):
                err(f"{uid}: no department variable")
        if uid == "ontime-department":
            proc = vars_.get("procedure")
            if not proc or "$department" not in str(proc.get("query")).replace("${department}", "$department"):
                err(f"{uid}: procedure variable missing or not chained on $department")
        ids = set()
        for p in dq.walk_panels(d.get("panels")):
            where = f"{uid} panel {p.get('id')} {p.get('title')!r}"
            if p.get("id") in ids:
                err(f"{where}: duplicate panel id")
            ids.add(p.get("id"))
            unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
            if not unit:
                err(f"{where}: no unit (fieldConfig.defaults.unit)")
            if "gridPos" not in p:
                err(f"{where}: no gridPos")
            if p.get("type") == "row":
                continue
            if not p.get("targets"):
                err(f"{where}: no queries")
            for t in p.get("targets", []):
                tds = t.get("datasource") or p.get("datasource") or {}
                if tds.get("type") == dq.PROM_TYPE:
                    if tds.get("uid") != "${datasource}":
                        err(f"{where}: Prometheus query not on $datasource")
                    if not t.get("expr"):
                        err(f"{where}: empty expr")
                elif tds.get("type") == dq.INFINITY_TYPE:
                    if tds.get("uid") != "${api}":
                        err(f"{where}: Infinity query not on $api")
                    if not str(t.get("url", "")).startswith("http://127.0.0.1:9464/api/v1/dossiers"):
                        err(f"{where}: Infinity URL {t.get('url')!r} is not the ontimed API")
                else:
                    err(f"{where}: unknown datasource {tds}")

    values = dq.default_vars()
    n = 0
    for q in dq.iter_queries(boards, values):
        n += 1
        where = f"{q['dashboard']} {q['panel']!r} {q['ref']}"
        for name, labels in selectors(q["expr"]):
            if name is None:
                err(f"{where}: selector without metric name in {q['expr']}")
                continue
            if name not in metrics:
                err(f"{where}: unknown metric {name} in {q['expr']}")
                continue
            extra = set(labels) - metrics[name] - {"__name__"}
            if extra:
                err(f"{where}: {name} has no label(s) {sorted(extra)}")
        if "$" in q["expr"]:
            err(f"{where}: unsubstituted variable in {q['expr']}")

    build = os.path.join(ddir, "build.py")
    if os.path.exists(build):
        r = subprocess.run([sys.executable, build, "--check"], capture_output=True, text=True)
        if r.returncode:
            err(r.stdout.strip() or r.stderr.strip())
    prov = os.path.join(ddir, "provisioning")
    ds_text = open(os.path.join(prov, "datasources.yml"), encoding="utf-8").read() \
        if os.path.exists(os.path.join(prov, "datasources.yml")) else ""
    for uid, typ in (("prometheus", "prometheus"), ("ontime-api", dq.INFINITY_TYPE)):
        if not re.search(rf"uid:\s*{re.escape(uid)}\s*\n\s*type:\s*{re.escape(typ)}\b", ds_text):
            err(f"provisioning/datasources.yml: no datasource uid {uid} of type {typ}")
    if not os.path.exists(os.path.join(prov, "dashboards.yml")):
        err("provisioning/dashboards.yml missing")

    print(f"{len(boards)} dashboards, {n} Prometheus queries checked")
    if errors:
        print("\n".join("FAIL: " + e for e in errors))
        return 1
    print("dashboards_lint: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
