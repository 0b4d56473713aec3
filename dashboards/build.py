#!/usr/bin/env python3
"""Builds the ontime Grafana dashboards (dashboards/*.json) from this description.

The JSON files are committed; edit this script and run `python3 dashboards/build.py` (stdlib
only), or `--check` to fail when a JSON file differs from what this script produces.

Data sources: Prometheus (variable `datasource`, default uid `prometheus`) for every metric panel;
the ontimed JSON API through the Infinity plugin (variable `api`, default uid `ontime-api`) for
the live dossier tables and the `procedure` variable. The contract's metrics carry no `procedure`
label, so per-procedure figures come from the JSON API only; Prometheus panels are per department.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
API = "http://127.0.0.1:9464/api/v1/dossiers"
PROM = {"type": "prometheus", "uid": "${datasource}"}
INF = {"type": "yesoreyeram-infinity-datasource", "uid": "${api}"}
D = 'department=~"$department"'


class Board:
    def __init__(self, uid, title, description, tags, variables, time_from="now-7d"):
        self.uid, self.title, self.description, self.tags = uid, title, description, tags
        self.variables, self.time_from = variables, time_from
        self.panels, self.x, self.y, self.row_h = [], 0, 0, 0

    def _place(self, w, h):
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def row(self, title):
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        self.panels.append({"id": len(self.panels) + 1, "type": "row", "title": title,
                            "collapsed": False, "panels": [],
                            "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1},
                            "fieldConfig": {"defaults": {"unit": "none"}, "overrides": []}})
        self.y += 1

    def panel(self, kind, title, description, unit, targets, w=6, h=6, ds=PROM, options=None,
              decimals=None, minmax=None, thresholds=None, overrides=None, transformations=None,
              custom=None):
        defaults = {"unit": unit}
        if decimals is not None:
            defaults["decimals"] = decimals
        if minmax:
            defaults["min"], defaults["max"] = minmax
        if thresholds:
            defaults["thresholds"] = {"mode": "absolute", "steps": [
                {"color": c, "value": v} for v, c in thresholds]}
        if custom:
            defaults["custom"] = custom
        p = {"id": len(self.panels) + 1, "type": kind, "title": title,
             "description": description, "datasource": ds,
             "gridPos": self._place(w, h),
             "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
             "options": options or {}, "targets": targets}
        if transformations:
            p["transformations"] = transformations
        self.panels.append(p)

    def json(self):
        return {
            "uid": self.uid, "title": self.title, "description": self.description,
            "tags": self.tags, "editable": True, "graphTooltip": 1, "schemaVersion": 39,
            "version": 1, "timezone": "Asia/Ho_Chi_Minh", "refresh": "1m",
            "time": {"from": self.time_from, "to": "now"},
            "annotations": {"list": []}, "links": [
                {"title": t, "type": "link", "url": f"/d/{u}", "keepTime": True,
                 "includeVars": True, "asDropdown": False, "icon": "dashboard", "tags": [],
                 "targetBlank": False, "tooltip": ""}
                for u, t in (("ontime-inspector", "Inspector overview"),
                             ("ontime-department", "Department drill-down"),
                             ("ontime-health", "Daemon health")) if u != self.uid],
            "templating": {"list": self.variables},
            "panels": self.panels,
        }


def prom(expr, legend="", ref="A", instant=False):
    t = {"refId": ref, "datasource": PROM, "expr": expr, "legendFormat": legend or "__auto",
         "range": not instant, "instant": instant}
    if instant:
        t["format"] = "table"
    return t


def inf(url, columns, ref="A", root="dossiers"):
    return {"refId": ref, "datasource": INF, "type": "json", "source": "url", "format": "table",
            "parser": "backend", "url": url, "url_options": {"method": "GET", "data": ""},
            "root_selector": root,
            "columns": [{"selector": s, "text": t, "type": ty} for s, t, ty in columns]}


def v_datasource():
    return [
        {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
         "current": {"text": "Prometheus", "value": "prometheus"}, "hide": 0, "refresh": 1,
         "regex": "", "options": []},
        {"name": "api", "label": "ontimed API", "type": "datasource",
         "query": "yesoreyeram-infinity-datasource",
         "current": {"text": "ontimed API", "value": "ontime-api"}, "hide": 0, "refresh": 1,
         "regex": "", "options": []},
    ]


def v_department(multi):
    q = "label_values(dossier_accepted_total, department)"
    v = {"name": "department", "label": "Department", "type": "query", "datasource": PROM,
         "definition": q, "query": {"query": q, "refId": "department"}, "refresh": 2,
         "sort": 1, "multi": multi, "includeAll": multi, "hide": 0, "regex": "", "options": []}
    if multi:
        v["allValue"] = ".*"
        v["current"] = {"text": "All", "value": "$__all"}
    return v


def v_procedure():
    # Chained on $department, from the JSON API (the metrics have no procedure label).
    return {"name": "procedure", "label": "Procedure", "type": "query", "datasource": INF,
            "definition": f"{API}?department=${{department}}",
            "query": {"refId": "procedure", "queryType": "infinity",
                      "infinityQuery": inf(f"{API}?department=${{department}}",
                                           [("procedure", "procedure", "string")],
                                           ref="procedure")},
            "refresh": 2, "sort": 1, "multi": False, "includeAll": True, "allValue": "",
            "current": {"text": "All", "value": "$__all"}, "hide": 0, "regex": "",
            "options": []}


DOSSIER_COLUMNS = [
    ("dossier_id", "Dossier", "string"), ("procedure", "Procedure", "string"),
    ("department", "Department", "string"), ("state", "State", "string"),
    ("accepted_at", "Accepted", "timestamp"), ("original_due_at", "Original due", "timestamp"),
    ("due_at", "Due", "timestamp"), ("cycle", "Cycle", "number"),
    ("at_risk", "At risk", "string"), ("overdue", "Overdue", "string"),
    ("paused", "Paused", "string"), ("apology_letters", "Apology letters", "number"),
]
TIME_OVERRIDES = [{"matcher": {"id": "byType", "options": "time"},
                   "properties": [{"id": "unit", "value": "dateTimeAsIso"}]}]
PCT = dict(decimals=2, minmax=(0, 1))
STACKED = {"stacking": {"mode": "normal", "group": "A"}, "fillOpacity": 30}


def inspector():
    b = Board("ontime-inspector", "ontime — inspector overview",
              "Province-wide SLA figures per department (national indicators, Decision "
              "766/QD-TTg). Daily figures are 1-day windows (recording rules *_rate1d).",
              ["ontime"], v_datasource() + [v_department(True)], time_from="now-7d")
    b.row("On-time performance")
    b.panel("bargauge", "On-time rate by department (1d)",
            "Closed on time / closed on time or late, last day; withdrawn and refused excluded. "
            "Red below the department's target.", "percentunit",
            [prom(f'department:dossier_on_time:ratio_rate1d{{{D}}}', "{{department}}",
                  instant=True)],
            w=8, h=8, options={"orientation": "horizontal", "displayMode": "gradient",
                               "reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                                 "values": False}},
            decimals=2, minmax=(0.9, 1), thresholds=[(None, "red"), (0.998, "green")])
    b.panel("timeseries", "On-time rate against target",
            "Per department: the 1-day on-time rate (solid) and the configured target "
            "(ontime_department_on_time_target, dashed).", "percentunit",
            [prom(f'department:dossier_on_time:ratio_rate1d{{{D}}}', "{{department}}"),
             prom(f'max by (department) (ontime_department_on_time_target{{{D}}})',
                  "target {{department}}", ref="B")],
            w=10, h=8, decimals=2,
            overrides=[{"matcher": {"id": "byFrameRefID", "options": "B"},
                        "properties": [{"id": "custom.lineStyle",
                                        "value": {"fill": "dash", "dash": [10, 10]}}]}])
    b.panel("stat", "On-time rate (selected departments)",
            "Ratio of sums over the selected departments, last day.", "percentunit",
            [prom(f'sum(increase(dossier_closed_total{{{D},outcome="on_time"}}[1d])) / '
                  f'sum(increase(dossier_closed_total{{{D},outcome=~"on_time|late"}}[1d]))',
                  "on time")],
            w=3, h=4, decimals=2, thresholds=[(None, "red"), (0.998, "green")])
    b.panel("stat", "Indicator 2.1 (incl. open within time)",
            "(closed on time + open within time) / (closed + open), selected departments.",
            "percentunit",
            [prom(f'sum(increase(dossier_closed_total{{{D},outcome="on_time"}}[1d]) or '
                  f'dossier_open_within_time{{{D}}}) / '
                  f'sum(increase(dossier_closed_total{{{D},outcome=~"on_time|late"}}[1d]) or '
                  f'dossier_open{{{D}}})', "within time")],
            w=3, h=4, decimals=2, thresholds=[(None, "red"), (0.998, "green")])
    b.panel("stat", "Open dossiers by state",
            "Open dossiers now: on track, at risk, overdue, paused (supplement requested).",
            "short", [prom(f'sum by (state) (dossier_open{{{D}}})', "{{state}}")],
            w=6, h=4, options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                                 "values": False},
                               "colorMode": "value", "graphMode": "none",
                               "textMode": "value_and_name"})
    b.row("Handling and reception")
    b.panel("bargauge", "Average handling time (wall clock, minutes)",
            "Mean resolution time of dossiers closed in the last day, wall clock minus pauses.",
            "m", [prom(f'department:dossier_resolution_minutes:avg_rate1d{{{D}}}',
                       "{{department}}", instant=True)],
            w=8, h=8, decimals=0, options={"orientation": "horizontal",
                                           "displayMode": "basic"})
    b.panel("bargauge", "Average handling time (working time, minutes)",
            "Mean working time (calendar working hours, pauses excluded) of dossiers closed in "
            "the last day.", "m",
            [prom(f'department:dossier_resolution_working_minutes:avg_rate1d{{{D}}}',
                  "{{department}}", instant=True)],
            w=8, h=8, decimals=0, options={"orientation": "horizontal",
                                           "displayMode": "basic"})
    b.panel("bargauge", "Minutes per reception transaction",
            "Mean duration of a counter reception transaction, last day.", "m",
            [prom(f'department:dossier_reception_minutes:avg_rate1d{{{D}}}', "{{department}}",
                  instant=True)],
            w=8, h=8, decimals=1, options={"orientation": "horizontal",
                                           "displayMode": "basic"})
    b.row("Channels, fees, satisfaction, apologies")
    for title, rule, desc in (
            ("Online share of accepted dossiers", "dossier_accepted_online",
             "Dossiers accepted through the online channel / all accepted, last day."),
            ("Postal share of returned results", "dossier_returned_postal",
             "Results returned by post / all returned, last day."),
            ("Non-cash share of fee payments", "dossier_fee_payments_online",
             "Fees paid online / all fee payments, last day."),
            ("Satisfaction", "dossier_ratings_satisfied",
             "(very satisfied + satisfied) / all ratings, last day.")):
        b.panel("bargauge", title, desc, "percentunit",
                [prom(f'department:{rule}:ratio_rate1d{{{D}}}', "{{department}}",
                      instant=True)],
                w=6, h=8, decimals=1, minmax=(0, 1),
                options={"orientation": "horizontal", "displayMode": "basic"})
    b.panel("timeseries", "Apology letters per day",
            "Apology letters (Circular 03/2025 form 04) generated in the last day.", "short",
            [prom(f'department:dossier_apology_letters:increase1d{{{D}}}', "{{department}}")],
            w=24, h=7, decimals=0)
    b.row("Predicted lateness (predict:)")
    b.panel("bargauge", "Predicted late by department (now)",
            "Open dossiers whose predicted_late alert went out this cycle "
            "(dossier_predicted_late): the procedure's own history gives P(late) at or above "
            "predict.threshold (the holding department's history once it has min_history closes). "
            "No data when the configuration has no predict: section.",
            "short", [prom(f'sum by (department) (dossier_predicted_late{{{D}}})',
                           "{{department}}", instant=True)],
            w=8, h=8, decimals=0, options={"orientation": "horizontal",
                                           "displayMode": "basic"})
    b.panel("stat", "Predicted late (selected departments)",
            "Open dossiers predicted late now, summed over the selected departments.", "short",
            [prom(f'sum(dossier_predicted_late{{{D}}})', "predicted late")], w=4, h=8,
            decimals=0, options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                                   "values": False},
                                 "colorMode": "value", "graphMode": "area"})
    b.panel("timeseries", "predicted_late alerts per day",
            "predicted_late alerts raised in the preceding day (at most one a dossier and "
            "cycle), selected departments together.", "short",
            [prom(f'sum(increase(dossier_alerts_total{{{D},kind="predicted_late"}}[1d]))',
                  "predicted_late alerts")], w=12, h=8, decimals=0)
    b.row("Live: at-risk and overdue dossiers")
    b.panel("table", "Overdue dossiers (live)",
            "From the ontimed JSON API (Infinity): open dossiers past their due.", "none",
            [inf(f"{API}?state=overdue", DOSSIER_COLUMNS)], w=24, h=10, ds=INF,
            overrides=TIME_OVERRIDES,
            options={"showHeader": True, "sortBy": [{"displayName": "Due", "desc": False}]})
    b.panel("table", "At-risk dossiers (live)",
            "From the ontimed JSON API (Infinity): open running dossiers whose remaining "
            "working time is within the at-risk threshold.", "none",
            [inf(f"{API}?state=at_risk", DOSSIER_COLUMNS)], w=24, h=10, ds=INF,
            overrides=TIME_OVERRIDES,
            options={"showHeader": True, "sortBy": [{"displayName": "Due", "desc": False}]})
    return b


def department():
    D1 = 'department="$department"'
    b = Board("ontime-department", "ontime — department drill-down",
              "One department over time. Prometheus figures are per department (the metrics "
              "carry no procedure label); the per-procedure tables come from the ontimed JSON "
              "API (Infinity), filtered by $procedure.",
              ["ontime"], v_datasource() + [v_department(False), v_procedure()],
              time_from="now-30d")
    b.row("On-time trend")
    b.panel("timeseries", "On-time rate (1d window)",
            "Closed on time / closed on time or late over the preceding day, with the target.",
            "percentunit",
            [prom(f'department:dossier_on_time:ratio_rate1d{{{D1}}}', "on-time rate"),
             prom(f'department:dossier_within_time:ratio_rate1d{{{D1}}}',
                  "indicator 2.1 (incl. open within time)", ref="B"),
             prom(f'max(ontime_department_on_time_target{{{D1}}})', "target", ref="C")],
            w=12, h=8, decimals=2)
    b.panel("timeseries", "Closed dossiers by outcome",
            "Closures per day by outcome.", "short",
            [prom(f'sum by (outcome) (increase(dossier_closed_total{{{D1}}}[1d]))',
                  "{{outcome}}")], w=12, h=8, decimals=0, custom=STACKED)
    b.panel("timeseries", "Open dossiers by state", "Open dossiers over time by state.",
            "short", [prom(f'sum by (state) (dossier_open{{{D1}}})', "{{state}}")],
            w=12, h=8, decimals=0, custom=STACKED)
    b.panel("timeseries", "Accepted dossiers by channel", "Accepted per day by channel.",
            "short", [prom(f'sum by (channel) (increase(dossier_accepted_total{{{D1}}}[1d]))',
                           "{{channel}}")], w=12, h=8, decimals=0, custom=STACKED)
    b.row("Handling time")
    b.panel("timeseries", "Average handling time (minutes)",
            "Mean wall-clock (minus pauses) and working time of dossiers closed in the "
            "preceding day.", "m",
            [prom(f'department:dossier_resolution_minutes:avg_rate1d{{{D1}}}', "wall clock"),
             prom(f'department:dossier_resolution_working_minutes:avg_rate1d{{{D1}}}',
                  "working time", ref="B")], w=12, h=8, decimals=0)
    b.panel("timeseries", "Handling time percentiles (working time)",
            "p50 / p90 of working time to resolution over the preceding day.", "s",
            [prom(f'histogram_quantile(0.5, sum by (le) (increase('
                  f'dossier_resolution_working_seconds_bucket{{{D1}}}[1d])))', "p50"),
             prom(f'histogram_quantile(0.9, sum by (le) (increase('
                  f'dossier_resolution_working_seconds_bucket{{{D1}}}[1d])))', "p90",
                  ref="B")], w=12, h=8)
    b.panel("timeseries", "Minutes per reception transaction",
            "Mean counter transaction duration over the preceding day.", "m",
            [prom(f'department:dossier_reception_minutes:avg_rate1d{{{D1}}}', "reception")],
            w=12, h=8, decimals=1)
    b.panel("timeseries", "Supplement requests and alerts per day",
            "Supplement requests (clock paused) and SLA alerts by kind, per day.", "short",
            [prom(f'sum(increase(dossier_supplement_requests_total{{{D1}}}[1d]))',
                  "supplement requests"),
             prom(f'sum by (kind) (increase(dossier_alerts_total{{{D1}}}[1d]))',
                  "alerts {{kind}}", ref="B"),
             prom(f'department:dossier_apology_letters:increase1d{{{D1}}}',
                  "apology letters", ref="C")], w=12, h=8, decimals=0)
    b.row("Predicted lateness (predict:)")
    b.panel("timeseries", "Open dossiers predicted late",
            "dossier_predicted_late: open dossiers of the department whose predicted_late alert "
            "went out this cycle (cleared when they close, go overdue or start a new cycle). "
            "No data when the configuration has no predict: section.", "short",
            [prom(f'sum by (department) (dossier_predicted_late{{{D1}}})', "{{department}}")],
            w=12, h=8, decimals=0)
    b.panel("timeseries", "predicted_late alerts per day",
            "predicted_late alerts raised in the preceding day, next to the at_risk alerts "
            "they try to anticipate.", "short",
            [prom(f'sum by (department) (increase(dossier_alerts_total'
                  f'{{{D1},kind="predicted_late"}}[1d]))', "predicted_late {{department}}"),
             prom(f'sum by (department) (increase(dossier_alerts_total'
                  f'{{{D1},kind="at_risk"}}[1d]))', "at_risk {{department}}", ref="B")],
            w=12, h=8, decimals=0)
    b.row("Channels, fees, satisfaction")
    b.panel("timeseries", "Shares (1d window)",
            "Online share of accepted, postal share of returned, non-cash share of fees, "
            "satisfied share of ratings.", "percentunit",
            [prom(f'department:dossier_accepted_online:ratio_rate1d{{{D1}}}', "online accepted"),
             prom(f'department:dossier_returned_postal:ratio_rate1d{{{D1}}}', "postal returned",
                  ref="B"),
             prom(f'department:dossier_fee_payments_online:ratio_rate1d{{{D1}}}',
                  "non-cash fees", ref="C"),
             prom(f'department:dossier_ratings_satisfied:ratio_rate1d{{{D1}}}', "satisfied",
                  ref="D")], w=12, h=8, **PCT)
    b.panel("timeseries", "Ratings per day", "Citizen ratings per day by rating.", "short",
            [prom(f'sum by (rating) (increase(dossier_ratings_total{{{D1}}}[1d]))',
                  "{{rating}}")], w=12, h=8, decimals=0, custom=STACKED)
    b.row("Dossiers of the procedure (JSON API)")
    b.panel("table", "At-risk and overdue dossiers of $procedure",
            "Live from the ontimed JSON API, filtered by department and procedure.", "none",
            [inf(f"{API}?state=overdue&department=${{department}}&procedure=${{procedure}}",
                 DOSSIER_COLUMNS),
             inf(f"{API}?state=at_risk&department=${{department}}&procedure=${{procedure}}",
                 DOSSIER_COLUMNS, ref="B")],
            w=24, h=10, ds=INF, overrides=TIME_OVERRIDES,
            transformations=[{"id": "merge", "options": {}}],
            options={"showHeader": True, "sortBy": [{"displayName": "Due", "desc": False}]})
    b.panel("table", "Open dossiers per procedure",
            "Live count of open dossiers per procedure (JSON API).", "short",
            [inf(f"{API}?state=open&department=${{department}}",
                 [("procedure", "Procedure", "string"), ("dossier_id", "Dossier", "string")])],
            w=24, h=8, ds=INF,
            transformations=[{"id": "groupBy", "options": {"fields": {
                "Procedure": {"aggregations": [], "operation": "groupby"},
                "Dossier": {"aggregations": ["count"], "operation": "aggregate"}}}}],
            options={"showHeader": True})
    return b


def health():
    b = Board("ontime-health", "ontime — daemon health",
              "ontimed itself: event throughput, consumer lag, dead letters, timers, restarts.",
              ["ontime"], v_datasource(), time_from="now-6h")
    J = 'job="ontimed"'
    b.row("Status")
    b.panel("stat", "Up", "Prometheus scrape of ontimed succeeds.", "bool_yes_no",
            [prom(f'min(up{{{J}}})', "up")], w=4, h=4,
            thresholds=[(None, "red"), (1, "green")])
    b.panel("stat", "Ready", "ontime_ready (/readyz).", "bool_yes_no",
            [prom(f'min(ontime_ready{{{J}}})', "ready")], w=4, h=4,
            thresholds=[(None, "red"), (1, "green")])
    b.panel("stat", "Dossiers tracked", "Dossiers held in memory.", "short",
            [prom(f'sum(ontime_dossiers_tracked{{{J}}})', "tracked")], w=4, h=4)
    b.panel("stat", "Timers pending", "Scheduled at-risk/due/step timers.", "short",
            [prom(f'sum(ontime_timers_pending{{{J}}})', "timers")], w=4, h=4)
    b.panel("stat", "Consumer lag", "Time behind the head of dossier.events.", "s",
            [prom(f'max(ontime_kafka_consumer_lag_seconds{{{J}}})', "lag")], w=4, h=4,
            thresholds=[(None, "green"), (60, "orange"), (300, "red")])
    b.panel("stat", "Version", "ontime_build_info.", "none",
            [prom(f'max by (version) (ontime_build_info{{{J}}})', "{{version}}")], w=4, h=4,
            options={"textMode": "name", "reduceOptions": {"calcs": ["lastNotNull"],
                                                          "fields": "", "values": False}})
    b.row("Throughput and lag")
    b.panel("timeseries", "Events per second by type", "Consumed events, 5m rate.", "ops",
            [prom(f'job:ontime_events:rate5m{{{J}}}', "{{type}}")], w=12, h=8,
            custom=STACKED)
    b.panel("timeseries", "Invalid events per second by reason", "5m rate.", "ops",
            [prom(f'job:ontime_events_invalid:rate5m{{{J}}}', "{{reason}}")], w=12, h=8)
    b.panel("timeseries", "Consumer lag (seconds)",
            "ontime_kafka_consumer_lag_seconds and event lag (now - occurred_at of the last "
            "event).", "s",
            [prom(f'max(ontime_kafka_consumer_lag_seconds{{{J}}})', "consumer lag"),
             prom(f'max(ontime_event_lag_seconds{{{J}}})', "event lag", ref="B")], w=12, h=8)
    b.panel("timeseries", "Consumer lag by partition (messages)",
            "ontime_kafka_consumer_lag per partition.", "short",
            [prom(f'sum by (partition) (ontime_kafka_consumer_lag{{{J}}})', "p{{partition}}")],
            w=12, h=8)
    b.row("Failures")
    b.panel("timeseries", "Dead letters by reason", "Events sent to dossier.events.dlq.",
            "short", [prom(f'sum by (reason) (increase(ontime_dead_letters_total{{{J}}}'
                           f'[$__rate_interval]))', "{{reason}}")], w=8, h=8, decimals=0)
    b.panel("timeseries", "Restarts by mode",
            "Daemon start-ups: from a snapshot or by rebuilding from the topic.", "short",
            [prom(f'sum by (mode) (increase(ontime_restarts_total{{{J}}}[$__range]))',
                  "{{mode}}")], w=8, h=8, decimals=0)
    b.panel("timeseries", "Alertmanager push failures, reloads, deadline recomputations",
            "Increase over the interval.", "short",
            [prom(f'sum(increase(ontime_alertmanager_push_failures_total{{{J}}}'
                  f'[$__rate_interval]))', "alertmanager push failures"),
             prom(f'sum by (result) (increase(ontime_reloads_total{{{J}}}[$__rate_interval]))',
                  "reloads {{result}}", ref="B"),
             prom(f'sum(increase(ontime_deadline_recomputations_total{{{J}}}'
                  f'[$__rate_interval]))', "deadline recomputations", ref="C")],
            w=8, h=8, decimals=0)
    b.row("Instances and partitions")
    b.panel("table", "Partitions by instance",
            "Input partitions each instance owns (ontime_partition_owned), live or still "
            "restoring from the changelog. Every partition should appear once in the group.",
            "short",
            [prom(f'sum by (instance, state) (ontime_partition_owned{{{J}}})', instant=True)],
            w=8, h=8, options={"showHeader": True})
    b.panel("table", "Which instance owns each partition",
            "One row per input partition and its owner; during a handover the new owner shows "
            "it as restoring.", "short",
            [prom(f'max by (partition, instance, state) (ontime_partition_owned{{{J}}})',
                  instant=True)],
            w=8, h=8, options={"showHeader": True,
                               "sortBy": [{"displayName": "partition", "desc": False}]})
    b.panel("timeseries", "Owners per partition",
            "Instances exporting each partition: 1; 2 for one scrape at most during a "
            "handover (OntimePartitionOwnedTwice past 5 minutes).", "short",
            [prom(f'count by (partition) (ontime_partition_owned{{{J}}})', "p{{partition}}")],
            w=8, h=8, decimals=0)
    b.panel("timeseries", "Dossiers tracked by instance",
            "Each instance holds only its partitions' dossiers; the sum is the group's "
            "(job:ontime_dossiers_tracked:sum).", "short",
            [prom(f'sum by (instance) (ontime_dossiers_tracked{{{J}}})', "{{instance}}"),
             prom(f'job:ontime_dossiers_tracked:sum{{{J}}}', "group", ref="B")],
            w=12, h=8, decimals=0)
    b.panel("timeseries", "Consumer lag by instance (seconds)",
            "ontime_kafka_consumer_lag_seconds of each instance.", "s",
            [prom(f'max by (instance) (ontime_kafka_consumer_lag_seconds{{{J}}})',
                  "{{instance}}")], w=12, h=8)
    b.row("State")
    b.panel("timeseries", "Dossiers tracked and timers pending", "", "short",
            [prom(f'sum(ontime_dossiers_tracked{{{J}}})', "dossiers tracked"),
             prom(f'sum(ontime_timers_pending{{{J}}})', "timers pending", ref="B")],
            w=24, h=8, decimals=0)
    return b


def main(argv):
    check = "--check" in argv
    bad = 0
    for b in (inspector(), department(), health()):
        path = os.path.join(HERE, b.uid + ".json")
        text = json.dumps(b.json(), indent=2, ensure_ascii=False) + "\n"
        if check:
            cur = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
            if cur != text:
                print(f"FAIL: {path} differs from dashboards/build.py output")
                bad = 1
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {path} ({len(b.panels)} panels)")
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
