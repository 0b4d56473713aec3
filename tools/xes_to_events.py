#!/usr/bin/env python3
"""Convert the CoSeLoG WABO receipt-phase event log (XES) into ontime input events (JSON Lines).

Source: "Receipt phase of an environmental permit application process ('WABO'), CoSeLoG project",
J.C.A.M. Buijs, 4TU.ResearchData, DOI 10.4121/uuid:a07386a5-7be3-4367-9535-70bc9e77dbe6.
Python 3 standard library only (gzip + xml.etree.iterparse, streaming).

Mapping (contract section 1), one dossier per XES trace:
  accepted   at the case `startdate` (the receipt), or the first event's time when it is missing or
             later; procedure WABO-RECEIPT; department from the case `department`
             (General -> GEN, Customer contact -> CC, Experts -> EXP); channel from the case
             `channel` (Internet -> online, Desk -> direct, Post -> postal, others -> direct);
             due_at = the case `deadline` when present and after the start.
  resolved   at the case `enddate` when present (and not before the start), else at the last
             event's time only with --close-at-last-event; cases without an end stay open.
  transferred is not emitted: the events' org:group values ("Group 1".."Group 15") cannot be
             mapped onto the case departments, so we do not invent steps.
Event ids are deterministic: "<case id>:accepted", "<case id>:resolved".
Output is sorted by occurred_at (stable), timestamps are kept as written (+01:00/+02:00).

Usage:
  tools/xes_to_events.py IN.xes.gz [-o OUT.jsonl] [--max-cases N] [--stats]
"""

import argparse
import json
import statistics
import sys
from datetime import datetime

from xes_log import read_traces

PROCEDURE = "WABO-RECEIPT"
DEPARTMENTS = {"General": "GEN", "Customer contact": "CC", "Experts": "EXP"}
CHANNELS = {"Internet": "online", "Desk": "direct", "Post": "postal"}



def parse_time(text):
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def rfc3339(text):
    """The XES timestamp as RFC 3339 with milliseconds (XES writes '...T13:42:22.688+02:00')."""
    t = parse_time(text)
    if t is None:
        return None
    return t.isoformat(timespec="milliseconds")


def convert(attrs, events, close_at_last_event):
    """Returns (case id, [event dicts], facts for --stats)."""
    case = attrs.get("concept:name", "")
    times = [parse_time(e.get("time:timestamp")) for e in events]
    times = [t for t in times if t is not None]
    first = min(times) if times else None
    last = max(times) if times else None
    start_text = attrs.get("startdate")
    start = parse_time(start_text)
    if start is None or (first is not None and start > first):
        start = first
        start_text = first.isoformat(timespec="milliseconds") if first else None
    facts = {"events": len(events), "start": start, "last": last,
             "deadline": parse_time(attrs.get("deadline")),
             "end": parse_time(attrs.get("enddate")),
             "department": attrs.get("department"), "channel": attrs.get("channel")}
    if start is None:
        return case, [], facts
    accepted = {
        "event_id": f"{case}:accepted",
        "type": "accepted",
        "dossier_id": case,
        "occurred_at": rfc3339(start_text),
        "procedure": PROCEDURE,
        "department": DEPARTMENTS.get(attrs.get("department"), "GEN"),
        "channel": CHANNELS.get(attrs.get("channel"), "direct"),
    }
    deadline = facts["deadline"]
    if deadline is not None and deadline > start:
        accepted["due_at"] = rfc3339(attrs["deadline"])
    out = [(start, accepted)]
    end, end_text = facts["end"], attrs.get("enddate")
    if (end is None or end < start) and close_at_last_event and last is not None:
        end, end_text = last, last.isoformat(timespec="milliseconds")
    if end is not None and end >= start:
        out.append((end, {"event_id": f"{case}:resolved", "type": "resolved", "dossier_id": case,
                          "occurred_at": rfc3339(end_text)}))
    return case, out, facts


def print_stats(facts, lines, out=sys.stderr):
    n = len(facts)
    events = sum(f["events"] for f in facts)
    with_deadline = [f for f in facts
                     if f["deadline"] and f["start"] and f["deadline"] > f["start"]]
    with_end = [f for f in facts if f["end"] and f["start"] and f["end"] >= f["start"]]
    both = [f for f in with_deadline if f["end"] and f["end"] >= f["start"]]
    late = [f for f in both if f["end"] > f["deadline"]]
    budget_days = sorted((f["deadline"] - f["start"]).total_seconds() / 86400
                         for f in with_deadline)
    span_days = sorted((f["end"] - f["start"]).total_seconds() / 86400 for f in with_end)
    end_vs_last = sorted((f["end"] - f["last"]).total_seconds() / 86400
                         for f in with_end if f["last"])

    def q(values, p):
        return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")

    def dist(name, values):
        print(f"{name}: n={len(values)} min={q(values, 0):.1f} p10={q(values, .1):.1f} "
              f"median={q(values, .5):.1f} p90={q(values, .9):.1f} max={q(values, 1):.1f}"
              + (f" mean={statistics.fmean(values):.1f}" if values else ""), file=out)

    print(f"cases: {n}", file=out)
    print(f"XES events: {events}", file=out)
    print(f"output lines: {lines}", file=out)
    print(f"cases with a deadline after the start: {len(with_deadline)}", file=out)
    print(f"cases with an enddate: {len(with_end)}", file=out)
    print(f"cases with deadline and enddate: {len(both)}; enddate after deadline: {len(late)} "
          f"({100.0 * len(late) / len(both) if both else 0:.2f}%)", file=out)
    dist("deadline - start (calendar days)", budget_days)
    dist("enddate - start (calendar days)", span_days)
    dist("enddate - last event (calendar days)", end_vs_last)
    for key in ("department", "channel"):
        counts = {}
        for f in facts:
            counts[f[key]] = counts.get(f[key], 0) + 1
        print(f"{key}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items(), key=str)),
              file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="XES file (.xes or .xes.gz)")
    ap.add_argument("-o", "--output", default="-", help="JSON Lines output (default: stdout)")
    ap.add_argument("--max-cases", type=int, default=0, help="keep only the first N cases")
    ap.add_argument("--close-at-last-event", action="store_true",
                    help="resolve cases without an enddate at their last event")
    ap.add_argument("--stats", action="store_true", help="print counts to stderr")
    args = ap.parse_args()

    rows, facts = [], []
    for attrs, events in read_traces(args.input):
        if args.max_cases and len(facts) >= args.max_cases:
            break
        _, out, f = convert(attrs, events, args.close_at_last_event)
        facts.append(f)
        rows.extend(out)
    rows.sort(key=lambda r: r[0])  # stable: a case's accepted stays before its resolved
    sink = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    try:
        for _, event in rows:
            sink.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
    finally:
        if sink is not sys.stdout:
            sink.close()
    if args.stats:
        print_stats(facts, len(rows))


if __name__ == "__main__":
    main()
