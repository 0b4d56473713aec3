#!/usr/bin/env python3
"""Prints every Prometheus query of the ontime dashboards, variables substituted, as JSON lines.

Usage: dashboard_queries.py [--dashboards DIR] [--department SXD] [--procedure 1.004227]
                            [--var NAME=VALUE ...] [--rate-interval 1m] [--interval 1m]
                            [--range 1h]

One line per query: {"dashboard": uid, "panel_id": n, "panel": title, "ref": refId,
"kind": "panel" | "variable", "instant": bool, "unit": panel unit, "expr": PromQL with variables
substituted, "raw": the expression as stored}. Template variables backed by Prometheus
(label_values(METRIC, LABEL)) are printed as `group by (LABEL) (METRIC)` with kind "variable".
Infinity (JSON API) queries are not PromQL and are skipped; `--infinity` prints their URLs
instead (kind "infinity", field "url").
Stdlib only; importable (iter_queries, substitute, load_dashboards) by other tests.
"""
import argparse
import glob
import json
import os
import re
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(os.path.dirname(os.path.dirname(HERE)), "dashboards")
PROM_TYPE = "prometheus"
INFINITY_TYPE = "yesoreyeram-infinity-datasource"

_VAR = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")


def default_vars(department="SXD", procedure="", rate_interval="1m", interval="1m",
                 range_="1h"):
    seconds = _seconds(range_)
    return {
        "department": department, "procedure": procedure,
        "__rate_interval": rate_interval, "__interval": interval,
        "__interval_ms": str(_seconds(interval) * 1000),
        "__range": range_, "__range_s": str(seconds), "__range_ms": str(seconds * 1000),
        "datasource": "prometheus", "api": "ontime-api",
    }


def _seconds(d):
    m = re.fullmatch(r"(\d+)([smhdw])", d)
    if not m:
        raise ValueError(f"bad duration {d!r}")
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]


def substitute(text, values):
    def rep(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in values:
            raise KeyError(f"unknown variable ${name} in {text!r}")
        return values[name]
    return _VAR.sub(rep, text)


def load_dashboards(directory=DEFAULT_DIR):
    out = []
    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        with open(path, encoding="utf-8") as f:
            out.append((path, json.load(f)))
    return out


def walk_panels(panels):
    for p in panels or []:
        yield p
        yield from walk_panels(p.get("panels"))


def _ds_type(ds, dashboard):
    if isinstance(ds, dict):
        t = ds.get("type")
        if t:
            return t
        uid = ds.get("uid", "")
    else:
        uid = ds or ""
    return {"${datasource}": PROM_TYPE, "${api}": INFINITY_TYPE}.get(uid)


def iter_queries(dashboards, values, infinity=False):
    for _, d in dashboards:
        uid = d.get("uid")
        for v in d.get("templating", {}).get("list", []):
            if v.get("type") != "query":
                continue
            if _ds_type(v.get("datasource"), d) != PROM_TYPE:
                continue
            q = v.get("query")
            q = q.get("query", "") if isinstance(q, dict) else (q or "")
            m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", q)
            expr = f"group by ({m.group(2)}) ({m.group(1)})" if m else q
            yield {"dashboard": uid, "panel_id": None, "panel": "$" + v["name"],
                   "ref": v["name"], "kind": "variable", "instant": True, "unit": None,
                   "expr": substitute(expr, values), "raw": q}
        for p in walk_panels(d.get("panels")):
            unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
            for t in p.get("targets", []) or []:
                ds = t.get("datasource") or p.get("datasource")
                kind = _ds_type(ds, d)
                if kind == PROM_TYPE and t.get("expr"):
                    yield {"dashboard": uid, "panel_id": p.get("id"), "panel": p.get("title"),
                           "ref": t.get("refId"), "kind": "panel",
                           "instant": bool(t.get("instant")), "unit": unit,
                           "expr": substitute(t["expr"], values), "raw": t["expr"]}
                elif kind == INFINITY_TYPE and infinity:
                    yield {"dashboard": uid, "panel_id": p.get("id"), "panel": p.get("title"),
                           "ref": t.get("refId"), "kind": "infinity", "unit": unit,
                           "url": substitute(t.get("url", ""), values), "raw": t.get("url")}


def main(argv=None):
    ap = argparse.ArgumentParser(description="Print the dashboards' PromQL as JSON lines.")
    ap.add_argument("--dashboards", default=DEFAULT_DIR)
    ap.add_argument("--department", default="SXD")
    ap.add_argument("--procedure", default="")
    ap.add_argument("--rate-interval", default="1m")
    ap.add_argument("--interval", default="1m")
    ap.add_argument("--range", default="1h")
    ap.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--infinity", action="store_true", help="also print Infinity URLs")
    a = ap.parse_args(argv)
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    values = default_vars(a.department, a.procedure, a.rate_interval, a.interval, a.range)
    for kv in a.var:
        k, _, v = kv.partition("=")
        values[k] = v
    for q in iter_queries(load_dashboards(a.dashboards), values, a.infinity):
        print(json.dumps(q, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
