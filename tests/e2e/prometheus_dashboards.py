#!/usr/bin/env python3
"""e2e_prometheus_dashboards: a real Prometheus scraping a live ontimed answers every dashboard
query, and the recording rules produce sane series.

Set-up: dev broker; ontimed on deploy/examples/province.yaml (daemon sections replaced); a
Prometheus (scrape_interval 1s, evaluation_interval 1s) loading copies of
deploy/prometheus/rules/*.yml (group `interval:` shortened to 1s). Prometheus first scrapes the
idle daemon (every counter at 0, so increase() sees the traffic), then the output of
`ontimed generate --config province.yaml --days 5 --per-day 200 --start <10 days ago>` goes to
dossier.events and the test waits until the daemon has processed every event and Prometheus has
scraped the final counts. The configuration has a `predict:` section (min_history 5, threshold
0.5), and a purpose-made history goes first: 30 dossiers of SXD's 5-day procedure 1.009796
accepted 20 days ago and resolved an hour ago (late); once the daemon has them, one more is
accepted now, which the history predicts late at once.

Checks:
  (a) every metric name of contract section 6 exists in Prometheus (histograms as _bucket,
      _sum, _count);
  (b) every dashboard query of tests/deploy/dashboard_queries.py (department SXD) parses and
      returns data from /api/v1/query — except the short ALLOWED_EMPTY list, each with a reason;
  (c) every metric name a dashboard query uses exists in Prometheus;
  (d) every panel has a unit (fieldConfig.defaults.unit), row panels excepted;
  (e) the recording rules produce series: the SXD on-time ratio and within-time ratio are in
      [0, 1], the SXD average handling minutes are > 0;
  (f) every query of the predicted_late panels (dossier_predicted_late, dossier_alerts_total
      {kind="predicted_late"}; at least one on each board but health) has a value > 0, not only
      the zeros every series starts with, and the board's JSON counts the dossier predicted late.
"""
import datetime
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse

import harness as h

DEPARTMENT = "SXD"

CONTRACT_METRICS = [
    "dossier_accepted_total", "dossier_closed_total", "dossier_open",
    "dossier_resolution_seconds_bucket", "dossier_resolution_seconds_sum",
    "dossier_resolution_seconds_count",
    "dossier_resolution_working_seconds_bucket", "dossier_resolution_working_seconds_sum",
    "dossier_resolution_working_seconds_count",
    "dossier_reception_seconds_bucket", "dossier_reception_seconds_sum",
    "dossier_reception_seconds_count",
    "dossier_supplement_requests_total", "dossier_alerts_total", "dossier_apology_letters_total",
    "dossier_returned_total", "dossier_fee_payments_total", "dossier_ratings_total",
    "ontime_events_total", "ontime_events_invalid_total", "ontime_dossiers_tracked",
    "ontime_timers_pending", "ontime_event_lag_seconds", "ontime_kafka_consumer_lag",
    "ontime_build_info",
]

# Dashboard queries that may legitimately return nothing here: (dashboard uid, raw-expression
# substring) -> reason. Keep this short; today every query returns data with the generated
# traffic, so it is empty (a stale entry is reported as a note).
ALLOWED_EMPTY = {}

# The contract, when this checkout sits beside it: section 6's metric names are checked too.
CONTRACT_FILE = "/work/shared/contract/README.md"
PREDICT = {"threshold": 0.5, "min_history": 5}
PREDICT_PROCEDURE = "1.009796"  # SXD, 5 working days
HISTORY = 30
PREDICTED = "E2E-PRED-1"

HISTOGRAMS = ("dossier_resolution_seconds", "dossier_resolution_working_seconds",
              "dossier_reception_seconds")


def contract_metrics():
    names = set(CONTRACT_METRICS)
    try:
        with open(CONTRACT_FILE, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return sorted(names)
    m = re.search(r"^## 6\..*?(?=^## |\Z)", text, re.M | re.S)
    if m:
        for name in re.findall(r"`([a-z_]+)(?:\{[^`]*\})?`", m.group(0)):
            if name in HISTOGRAMS:
                names.update(name + s for s in ("_bucket", "_sum", "_count"))
            elif name.startswith(("dossier_", "ontime_")):
                names.add(name)
    return sorted(names)


class Prom:
    def __init__(self, url):
        self.url = url

    def query(self, expr):
        """(ok, result list or error text)."""
        q = urllib.parse.urlencode({"query": expr})
        status, body = h.http_get(f"{self.url}/api/v1/query?{q}", timeout=20)
        try:
            doc = json.loads(body)
        except ValueError:
            return False, f"HTTP {status}: {body[:300]}"
        if status != 200 or doc.get("status") != "success":
            return False, f"HTTP {status}: {doc.get('errorType')}: {doc.get('error')}"
        data = doc["data"]
        if data["resultType"] in ("scalar", "string"):
            return True, [{"value": data["result"]}]
        return True, data["result"]

    def values(self, expr):
        ok, res = self.query(expr)
        if not ok:
            h.fail(f"query {expr!r}: {res}")
        return [float(r["value"][1]) for r in res]

    def scalar(self, expr):
        v = self.values(expr)
        return v[0] if v else None


def prometheus_config(tmp, source, daemon_port):
    rules_dir = os.path.join(tmp, "rules")
    os.makedirs(rules_dir)
    files = sorted(glob.glob(os.path.join(source, "deploy", "prometheus", "rules", "*.yml")))
    h.check(files, "no deploy/prometheus/rules/*.yml")
    copies = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        # The groups evaluate every 1m in production: 1s here.
        text = re.sub(r"^(\s+interval:\s*)\S+", r"\g<1>1s", text, flags=re.M)
        dest = os.path.join(rules_dir, os.path.basename(path))
        with open(dest, "w", encoding="utf-8") as f:
            f.write(text)
        copies.append(dest)
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w", encoding="utf-8") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n")
        f.write("rule_files:\n" + "".join(f"  - {json.dumps(p)}\n" for p in copies))
        f.write("scrape_configs:\n  - job_name: ontimed\n    scrape_interval: 1s\n"
                "    scrape_timeout: 1s\n    static_configs:\n"
                f"      - targets: [\"{h.LOCAL}:{daemon_port}\"]\n")
    if shutil.which("promtool"):
        r = subprocess.run(["promtool", "check", "config", cfg], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        h.check(r.returncode == 0, f"promtool rejects the test's prometheus.yml:\n{r.stdout}")
    return cfg


def generate_events(args, tmp):
    start = (datetime.date.today() - datetime.timedelta(days=10)).isoformat()
    out = os.path.join(tmp, "events.jsonl")
    r = subprocess.run([args.ontimed, "generate", "--config",
                        os.path.join(args.source, "deploy", "examples", "province.yaml"),
                        "--days", "5", "--per-day", "200", "--start", start, "--out", out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    h.check(r.returncode == 0, f"ontimed generate failed: {r.stdout}")
    records = []
    with open(out, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            try:
                e = json.loads(line)
                key = e.get("dossier_id") or e.get("subject") or "none"
            except ValueError:
                key = "undecodable"
            records.append((str(key), line))
    h.log(f"generated {len(records)} events from {start}")
    return records


def prediction_history(now):
    """HISTORY dossiers of PREDICT_PROCEDURE, 20 days to close (late whatever the holidays)."""
    records = []
    for k in range(HISTORY):
        dossier = f"E2E-PRED-H{k}"
        records.append(h.event(f"{dossier}-a", "accepted", dossier, now - 20 * 86400,
                               procedure=PREDICT_PROCEDURE, department=DEPARTMENT))
        records.append(h.event(f"{dossier}-r", "resolved", dossier, now - 3600))
    return records


def body(args, tmp):
    sys.path.insert(0, os.path.join(args.source, "tests", "deploy"))
    import dashboard_queries as dq
    import dashboards_lint as lint

    prom_bin = shutil.which("prometheus")
    h.check(prom_bin, "prometheus not installed")
    now = time.time()
    records = prediction_history(now) + generate_events(args, tmp)
    broker = h.Broker(args.source, tmp)
    daemon = prom = None
    try:
        boot = broker.start()
        port = h.free_port()
        sections = h.daemon_sections(boot, port, os.path.join(tmp, "state"))
        sections["predict"] = PREDICT
        text = h.province_config_text(args.source, sections)
        daemon = h.start_daemon(args, tmp, text, port)

        prom_port = h.free_port()
        os.makedirs(os.path.join(tmp, "tsdb"))
        prom = h.Process("prometheus", [
            prom_bin, f"--config.file={prometheus_config(tmp, args.source, port)}",
            f"--storage.tsdb.path={tmp}/tsdb", f"--web.listen-address={h.LOCAL}:{prom_port}",
            "--log.level=warn"], os.path.join(tmp, "prometheus.log"))
        p = Prom(f"http://{h.LOCAL}:{prom_port}")

        def prom_ready():
            if not prom.alive():
                h.fail(f"prometheus exited:\n{prom.tail()}")
            return h.http_get(p.url + "/-/ready")[0] == 200
        h.wait_until("prometheus /-/ready", prom_ready, 60)
        daemon.wait_ready()
        daemon.wait_caught_up()

        # A baseline: Prometheus has scraped the idle daemon (counters at 0) at least twice.
        h.wait_until("2 scrapes of the idle daemon", lambda: p.scalar(
            'count_over_time(ontime_ready{job="ontimed"}[1m]) >= 2'), 30)
        h.check(p.scalar("sum(dossier_accepted_total)") == 0, "accepted counter not 0 at start")

        t0 = time.monotonic()
        h.produce(boot, "dossier.events", records)
        daemon.wait_events(len(records), timeout=120)
        # The history is in (on every partition): a dossier accepted now is predicted late at
        # its acceptance.
        records.append(h.event(f"{PREDICTED}-a", "accepted", PREDICTED, time.time() - 5,
                               procedure=PREDICT_PROCEDURE, department=DEPARTMENT))
        h.produce(boot, "dossier.events", records[-1:])
        daemon.wait_events(len(records), timeout=60)
        h.log(f"daemon processed {len(records)} events in {time.monotonic() - t0:.1f} s")
        h.wait_until("Prometheus to scrape every event", lambda: (p.scalar(
            "sum(ontime_events_total) + sum(ontime_events_invalid_total)") or 0) >= len(records),
            30)
        # Recording rules evaluate every 1s: wait for the SXD on-time ratio.
        h.wait_until("the recording rule department:dossier_on_time:ratio_rate1d for SXD",
                     lambda: p.values('department:dossier_on_time:ratio_rate1d'
                                      f'{{department="{DEPARTMENT}"}}'), 30)
        time.sleep(3)  # a few more evaluations so every rule group has run after the traffic

        errors = []

        # (a) contract section 6.
        for name in contract_metrics():
            if not p.scalar(f'count({{__name__="{name}"}})'):
                errors.append(f"(a) contract metric {name} absent from Prometheus")

        # (b) + (c) dashboard queries.
        boards = dq.load_dashboards(os.path.join(args.source, "dashboards"))
        values = dq.default_vars(DEPARTMENT, "1.004227")
        queries = list(dq.iter_queries(boards, values))
        h.check(queries, "no dashboard queries found")
        used_allowances = set()
        seen_metrics = set()
        for q in queries:
            where = f"{q['dashboard']} panel {q['panel_id']} {q['panel']!r} {q['ref']}"
            ok, res = p.query(q["expr"])
            if not ok:
                errors.append(f"(b) {where}: query fails: {res}\n    {q['expr']}")
                continue
            if not res:
                allowed = [k for k in ALLOWED_EMPTY
                           if k[0] == q["dashboard"] and k[1] in q["raw"]]
                if allowed:
                    used_allowances.update(allowed)
                    h.log(f"empty (allowed: {ALLOWED_EMPTY[allowed[0]]}): {where}")
                else:
                    errors.append(f"(b) {where}: no data\n    {q['expr']}")
            for name, _ in lint.selectors(q["expr"]):
                if name:
                    seen_metrics.add(name)
        for name in sorted(seen_metrics):
            if not p.scalar(f'count({{__name__="{name}"}})'):
                errors.append(f"(c) metric {name} used by a dashboard is absent from Prometheus")
        for k in sorted(set(ALLOWED_EMPTY) - used_allowances):
            h.log(f"note: allow-list entry not needed any more: {k}")
        h.log(f"{len(queries)} dashboard queries, {len(seen_metrics)} metrics checked")

        # (d) units.
        for _, d in boards:
            for panel in dq.walk_panels(d.get("panels")):
                if panel.get("type") == "row":
                    continue
                if not panel.get("fieldConfig", {}).get("defaults", {}).get("unit"):
                    errors.append(f"(d) {d.get('uid')} panel {panel.get('id')} "
                                  f"{panel.get('title')!r} has no unit")

        # (e) recording rules.
        for rule in ("department:dossier_on_time:ratio_rate1d",
                     "department:dossier_within_time:ratio_rate1d"):
            v = p.values(f'{rule}{{department="{DEPARTMENT}"}}')
            if len(v) != 1 or not 0 <= v[0] <= 1:
                errors.append(f"(e) {rule} for {DEPARTMENT} = {v}, expected one value in [0, 1]")
            else:
                h.log(f"{rule}{{department={DEPARTMENT}}} = {v[0]:.4f}")
        v = p.values(f'department:dossier_resolution_minutes:avg_rate1d'
                     f'{{department="{DEPARTMENT}"}}')
        if len(v) != 1 or not v[0] > 0:
            errors.append(f"(e) department:dossier_resolution_minutes:avg_rate1d = {v}")
        # (f) predicted_late.
        predicted = [q for q in queries if "predicted_late" in q["raw"]]
        for uid in ("ontime-inspector", "ontime-department"):
            if not any(q["dashboard"] == uid for q in predicted):
                errors.append(f"(f) {uid} has no predicted_late panel")
        for q in predicted:
            ok, res = p.query(q["expr"])
            shown = [float(r["value"][1]) for r in res] if ok else []
            if not any(v > 0 for v in shown):
                errors.append(f"(f) {q['dashboard']} panel {q['panel_id']} {q['panel']!r} "
                              f"{q['ref']}: {shown}, expected a value > 0\n    {q['expr']}")
            else:
                h.log(f"(f) {q['dashboard']} {q['panel']!r} {q['ref']}: {shown}")
        status, text = daemon.get("/api/v1/board")
        board = json.loads(text) if status == 200 else {}
        sxd = [d for d in board.get("departments", []) if d["code"] == DEPARTMENT]
        if not (board.get("prediction") is True and sxd and sxd[0]["predicted_late"] >= 1
                and board["province"]["predicted_late"] >= sxd[0]["predicted_late"]):
            errors.append(f"(f) /api/v1/board: HTTP {status}, prediction "
                          f"{board.get('prediction')}, {DEPARTMENT} {sxd}")
        status, text = daemon.get(f"/api/v1/dossiers/{PREDICTED}")
        timeline = json.loads(text).get("timeline", []) if status == 200 else []
        alert = [e for e in timeline if e.get("type") == "predicted_late"]
        if not (alert and 0.5 <= alert[0].get("probability", 0) <= 1
                and "expected_close_at" in alert[0]):
            errors.append(f"(f) {PREDICTED}: no predicted_late alert with its odds in its "
                          f"timeline: HTTP {status} {timeline}")

        ok, res = p.query("ALERTS")
        h.log(f"Prometheus alerts now: {sorted({r['metric'].get('alertname') for r in res})}"
              if ok else f"ALERTS query failed: {res}")

        if errors:
            h.fail(f"{len(errors)} problem(s):\n" + "\n".join(errors))
        rc = daemon.stop()
        h.check(rc == 0, f"ontimed exited with {rc} on SIGTERM:\n{daemon.tail()}")
    finally:
        if daemon is not None:
            daemon.stop()
        if prom is not None:
            prom.stop()
        broker.stop()


if __name__ == "__main__":
    h.main(__doc__.splitlines()[0], body)
