#!/usr/bin/env python3
"""Runs `ontimed replay` and the contract oracle (tools/contract_oracle.py) on the same input and
reports every difference, dossier by dossier and output by output.

Compared, per dossier (contract section 5): procedure, department, state, accepted_at,
original_due_at, due_at, closed_at, outcome, at_risk, overdue, paused, cycle, supplements,
apology_letters, working_seconds (to the millisecond), and the `step` extension; the report's
`now`, summary and invalid lines (line and reason); and every alert and letter by id (kind,
step, cycle, department, procedure, due_at, detected_at, remaining_seconds, notify;
letters: cycle, accepted_at, original_due_at, new_due_at, issued_at, signer), plus each
dossier's outputs in order. Instants are compared as milliseconds; a timestamp not written in
the calendar's UTC offset at that instant is a difference too.

Usage:
  tools/contract_check.py --config C --events E [--events E2 ...] [--now N] --ontimed PATH
  tools/contract_check.py --manifest M --ontimed PATH      # JSON lines {config, events, now}
Options: --max-diffs N (print the first N, default 20), --keep DIR (keep ontimed's outputs),
--accept NAME (a known disagreement, tests/oracle/disagreements/README.md: the oracle does what
ontimed does today), --quiet (a line only for the runs that differ).
Exit status: 0 when everything agrees, 1 when anything differs, 2 when a run failed.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contract_oracle as oracle  # noqa: E402

DOSSIER_FIELDS = ("procedure", "department", "state", "accepted_at", "original_due_at", "due_at",
                  "closed_at", "outcome", "at_risk", "overdue", "paused", "cycle", "supplements",
                  "apology_letters", "working_seconds", "step")
ALERT_FIELDS = ("kind", "step", "dossier_id", "procedure", "department", "cycle", "due_at",
                "detected_at", "remaining_seconds", "notify")
LETTER_FIELDS = ("dossier_id", "procedure", "department", "cycle", "accepted_at",
                 "original_due_at", "new_due_at", "issued_at", "signer")
SUMMARY_EXACT = ("accepted", "closed_on_time", "closed_late", "open", "open_overdue",
                 "open_at_risk", "apology_letters", "invalid_events")


class Differences:
    def __init__(self, max_print, label):
        self.max_print, self.label = max_print, label
        self.count = 0
        self.by_kind = collections.Counter()
        self.dossiers = set()

    def add(self, kind, where, ours, theirs, dossier=None):
        self.count += 1
        self.by_kind[kind] += 1
        if dossier is not None:
            self.dossiers.add(dossier)
        if self.count <= self.max_print:
            print(f"  [{self.label}] {kind}: {where}: oracle {ours!r}, ontimed {theirs!r}")


def instant_of(text, tz, diffs, where, dossier):
    """ontimed's timestamp -> ms, noting a difference if its offset is not the zone's."""
    if text is None:
        return None
    ms = oracle.parse_instant(text)
    if ms is None:
        diffs.add("unparsable timestamp", where, None, text, dossier)
        return text
    written = datetime.fromisoformat(text.replace("Z", "+00:00")).utcoffset()
    zone = (oracle.EPOCH + oracle.timedelta(milliseconds=ms)).astimezone(tz).utcoffset()
    if written != zone:
        diffs.add("offset", where, str(zone), text, dossier)
    return ms


def normalise(value, key, tz, diffs, where, dossier):
    if key in oracle.INSTANT_KEYS:
        return instant_of(value, tz, diffs, where, dossier)
    if key in ("working_seconds", "remaining_seconds") and isinstance(value, (int, float)):
        return round(value * 1000)
    return value


def show(value, key, tz):
    """The oracle's value as ontimed would write it."""
    if key in oracle.INSTANT_KEYS and isinstance(value, int):
        return oracle.format_instant(value, tz)
    if key in ("working_seconds", "remaining_seconds") and isinstance(value, int):
        return value / 1000
    return value


def compare_fields(ours, theirs, fields, tz, diffs, category, what, dossier):
    """ours: instants and working/remaining times in ms; theirs: as ontimed wrote them."""
    for key in fields:
        mine = ours.get(key)
        other = normalise(theirs.get(key), key, tz, diffs, f"{what}.{key}", dossier)
        if mine != other:
            diffs.add(f"{category}.{key}", what, show(mine, key, tz), theirs.get(key), dossier)


def compare_report(ours, theirs, tz, diffs):
    now = instant_of(theirs.get("now"), tz, diffs, "report.now", None)
    if now != ours["now"]:
        diffs.add("report.now", "now", show(ours["now"], "now", tz), theirs.get("now"))
    mine = {d["dossier_id"]: d for d in ours["dossiers"]}
    other = {}
    for d in theirs.get("dossiers", []):
        if d["dossier_id"] in other:
            diffs.add("dossier repeated", d["dossier_id"], None, d["dossier_id"], d["dossier_id"])
        other[d["dossier_id"]] = d
    for did in mine.keys() - other.keys():
        diffs.add("dossier missing", did, "present", None, did)
    for did in other.keys() - mine.keys():
        diffs.add("dossier extra", did, None, "present", did)
    for did, d in mine.items():
        if did not in other:
            continue
        row = dict(d)
        row["working_seconds"] = row.pop("working_ms")
        compare_fields(row, other[did], DOSSIER_FIELDS, tz, diffs, "dossier", did, did)
    s, t = ours["summary"], theirs.get("summary", {})
    for key in SUMMARY_EXACT:
        if s[key] != t.get(key):
            diffs.add("summary", key, s[key], t.get(key))
    if abs(s["on_time_rate"] - t.get("on_time_rate", -1)) > 1e-6:
        diffs.add("summary", "on_time_rate", s["on_time_rate"], t.get("on_time_rate"))
    if abs(s["avg_resolution_working_minutes"] - t.get("avg_resolution_working_minutes", -1)) \
            > 0.05 + 1e-9:
        diffs.add("summary", "avg_resolution_working_minutes",
                  round(s["avg_resolution_working_minutes"], 3),
                  t.get("avg_resolution_working_minutes"))
    mine_inv = [(i["line"], i["reason"]) for i in ours["invalid"]]
    other_inv = [(i.get("line"), i.get("reason")) for i in theirs.get("invalid", [])]
    if mine_inv != other_inv:
        a, b = set(mine_inv), set(other_inv)
        for x in sorted(a - b):
            diffs.add("invalid", f"line {x[0]}", x[1], None)
        for x in sorted(b - a):
            diffs.add("invalid", f"line {x[0]}", None, x[1])
        if a == b:
            diffs.add("invalid order", "invalid", mine_inv, other_inv)
    return len(mine), len(mine.keys() & other.keys())


def output_id(o):
    return o.get("alert_id") or o.get("letter_id")


def compare_outputs(ours, theirs, tz, diffs):
    mine = {output_id(o): o for o in ours}
    other = {}
    for o in theirs:
        oid = output_id(o)
        if oid in other:
            diffs.add("output repeated", oid, None, oid, o.get("dossier_id"))
        other[oid] = o
    for oid in sorted(mine.keys() - other.keys()):
        diffs.add("output missing", oid, "emitted", None, mine[oid]["dossier_id"])
    for oid in sorted(other.keys() - mine.keys()):
        diffs.add("output extra", oid, None, "emitted", other[oid].get("dossier_id"))
    for oid, o in mine.items():
        if oid not in other:
            continue
        fields = ALERT_FIELDS if "alert_id" in o else LETTER_FIELDS
        category = o["kind"] if "alert_id" in o else "letter"
        compare_fields(o, other[oid], fields, tz, diffs, category, oid, o["dossier_id"])
    # Each dossier's outputs in the same order (ties between dossiers are not ordered).
    seq_mine, seq_other = collections.defaultdict(list), collections.defaultdict(list)
    for o in ours:
        seq_mine[o["dossier_id"]].append(output_id(o))
    for o in theirs:
        if output_id(o) in mine:
            seq_other[o.get("dossier_id")].append(output_id(o))
    for did, seq in seq_mine.items():
        kept = [x for x in seq if x in other]
        if kept != seq_other.get(did, []):
            diffs.add("output order", did, kept, seq_other.get(did, []), did)
    return len(mine), len(mine.keys() & other.keys())


def check_one(config, events, now, ontimed, max_print, keep, label, accept=()):
    tmp = tempfile.mkdtemp(prefix="contract-check-") if keep is None else keep
    os.makedirs(tmp, exist_ok=True)
    base = os.path.join(tmp, os.path.basename(events).rsplit(".", 1)[0])
    report_path, emit_path = base + ".report.json", base + ".emit.jsonl"
    cmd = [ontimed, "replay", "--config", config, "--events", events, "--report", report_path,
           "--emit", emit_path]
    if now:
        cmd += ["--now", now]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    t_bin = time.monotonic() - t0
    if proc.returncode != 0:
        print(f"[{label}] ontimed replay failed ({proc.returncode}): {proc.stderr.strip()}")
        return None
    with open(report_path, encoding="utf-8") as f:
        theirs_report = json.load(f)
    with open(emit_path, encoding="utf-8") as f:
        theirs_out = [json.loads(line) for line in f if line.strip()]
    t0 = time.monotonic()
    cfg, ours_report, ours_out = oracle.run(config, events, now, ontimed, accept)
    t_oracle = time.monotonic() - t0
    diffs = Differences(max_print, label)
    n_d, both_d = compare_report(ours_report, theirs_report, cfg.tz, diffs)
    n_o, both_o = compare_outputs(ours_out, theirs_out, cfg.tz, diffs)
    if keep is None:
        for p in (report_path, emit_path):
            os.unlink(p)
        os.rmdir(tmp)
    return {"label": label, "dossiers": n_d, "dossiers_differing": len(diffs.dossiers),
            "outputs": n_o, "outputs_theirs": len(theirs_out), "diffs": diffs,
            "t_bin": t_bin, "t_oracle": t_oracle}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config")
    ap.add_argument("--events", action="append", default=[])
    ap.add_argument("--now")
    ap.add_argument("--manifest", help="JSON lines of {config, events, now}")
    ap.add_argument("--ontimed", required=True)
    ap.add_argument("--max-diffs", type=int, default=20)
    ap.add_argument("--keep", help="directory for ontimed's report and emit files")
    ap.add_argument("--quiet", action="store_true", help="one line per run only when it differs")
    ap.add_argument("--accept", action="append", default=[],
                    choices=sorted(oracle.KNOWN_DISAGREEMENTS),
                    help="a known disagreement (tests/oracle/disagreements/): the oracle does "
                         "what ontimed does today")
    args = ap.parse_args()
    runs = []
    for e in args.events:
        if not args.config:
            ap.error("--events needs --config")
        runs.append((args.config, e, args.now))
    if args.manifest:
        here = os.path.dirname(os.path.abspath(args.manifest))
        with open(args.manifest, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    m = json.loads(line)
                    runs.append((os.path.join(here, m.get("config") or args.config),
                                 os.path.join(here, m["events"]), m.get("now") or args.now))
    if not runs:
        ap.error("nothing to check: give --events or --manifest")
    for name in args.accept:
        print(f"accepting known disagreement {name}: {oracle.KNOWN_DISAGREEMENTS[name]}")
    total = collections.Counter()
    kinds = collections.Counter()
    failed = differing = 0
    printed = 0
    for config, events, now in runs:
        label = os.path.basename(events)
        r = check_one(config, events, now, args.ontimed, max(0, args.max_diffs - printed),
                      args.keep, label, args.accept)
        if r is None:
            failed += 1
            continue
        d = r["diffs"]
        printed += min(d.count, max(0, args.max_diffs - printed))
        total["dossiers"] += r["dossiers"]
        total["dossiers_differing"] += r["dossiers_differing"]
        total["outputs"] += r["outputs"]
        total["outputs_theirs"] += r["outputs_theirs"]
        total["differences"] += d.count
        kinds.update(d.by_kind)
        differing += d.count > 0
        if not args.quiet or d.count:
            print(f"{label}: {r['dossiers']} dossiers ({r['dossiers'] - r['dossiers_differing']}"
                  f" agree), outputs oracle {r['outputs']} / ontimed {r['outputs_theirs']}, "
                  f"{d.count} differences (ontimed {r['t_bin']:.1f}s, oracle "
                  f"{r['t_oracle']:.1f}s)")
    if len(runs) > 1:
        print(f"total: {len(runs)} runs, {differing} with differences, {failed} failed; "
              f"{total['dossiers']} dossiers ({total['dossiers'] - total['dossiers_differing']} "
              f"agree), outputs oracle {total['outputs']} / ontimed {total['outputs_theirs']}, "
              f"{total['differences']} differences")
    for kind, n in kinds.most_common():
        print(f"  {n:8d}  {kind}")
    sys.exit(2 if failed else (1 if total["differences"] else 0))


if __name__ == "__main__":
    main()
