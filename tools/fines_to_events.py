#!/usr/bin/env python3
"""Convert the Italian "Road Traffic Fine Management Process" event log (XES) into ontime input
events (JSON Lines), one dossier per fine.

Source: M. de Leoni, F. Mannhardt, "Road Traffic Fine Management Process", 4TU.ResearchData,
DOI 10.4121/uuid:270fd440-1057-4fb9-89a9-b699b47990f5 (in the file header); an Italian local
police force, 150,370 fines, 2000-2013, day precision. Python 3 standard library only
(gzip + xml.etree.iterparse, streaming).

Mapping (contract section 1; the reasons are in docs/real-data.md), per trace in log order:
  Create Fine                       accepted: procedure CDS-201, department POL, channel direct,
                                    due_at = the offence date + 90 days at local midnight
                                    (Codice della Strada art. 201: notify within 90 days)
  Send Fine                         supplement_requested: the fine is mailed; from here on the
                                    time is the offender's (for the sender the notification is
                                    made when it is posted)
  Insert Fine Notification          extended, due_at = notification date + 60 days (art. 202/203:
                                    pay or appeal within 60 days): a new deadline cycle, usually
                                    while paused
  Insert Date Appeal to Prefecture  supplement_received: the offender appealed; the police must
                                    forward the appeal (art. 203: within 60 days)
  Send Appeal to Prefecture         transferred to PREF (the prefect decides within 120 days of
                                    receiving the file, art. 204: a step budget)
  Receive Result Appeal from Pref.  transferred back to POL
  Notify Result Appeal to Offender  supplement_requested: the offender must pay or go to court
  Appeal to Judge                   transferred to GDP (Giudice di pace, art. 204-bis)
  Payment                           resolved, at the first payment that brings the total paid
                                    (totalPaymentAmount) to the fine's original amount; earlier
                                    smaller payments are not emitted
  Send for Credit Collection        stopped (the fine goes unpaid to enforced collection)
  Add penalty                       not emitted: it is the automatic consequence of the 60 days
                                    lapsing, nobody's clock changes hands
Only what changes the dossier is written: a Send Fine or a Notify Result while already paused,
an Insert Date Appeal while running, a transfer to the current holder, and anything after the
close are skipped (counted by --stats). Timestamps are day precision, local midnight in
Europe/Rome (the file writes them at 01:00 in a UTC+2/+3 zone: the same instants); they are
rewritten in Rome's offset. Event ids are deterministic: "<fine>:<index in trace>:<activity>".
Output is sorted by occurred_at (stable, so a fine's events keep their log order).

Usage:
  tools/fines_to_events.py IN.xes[.gz] [-o OUT.jsonl] [--max-cases N] [--stats]
"""

import argparse
import collections
import json
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from xes_log import read_traces

PROCEDURE = "CDS-201"
ROME = ZoneInfo("Europe/Rome")
NOTIFY_DAYS = 90     # art. 201 c.1
PAY_DAYS = 60        # art. 202 c.1, art. 203 c.1
SLUG = {"Create Fine": "create", "Send Fine": "send", "Insert Fine Notification": "notified",
        "Insert Date Appeal to Prefecture": "appeal-prefect",
        "Send Appeal to Prefecture": "sent-prefect",
        "Receive Result Appeal from Prefecture": "result-prefect",
        "Notify Result Appeal to Offender": "result-notified", "Appeal to Judge": "appeal-judge",
        "Payment": "payment", "Send for Credit Collection": "credit-collection",
        "Add penalty": "penalty"}



def rome_day(text):
    """The XES timestamp -> the local (Rome) datetime; must be a midnight (day precision)."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(ROME)
    return t


def midnight_plus(day, days):
    d = day.date() + timedelta(days=days)
    return datetime(d.year, d.month, d.day, tzinfo=ROME)


def stamp(t):
    return t.isoformat(timespec="milliseconds")


def amount(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def convert(attrs, events, stats):
    """Returns (case id, [(datetime, event dict)])."""
    case = attrs.get("concept:name", "")
    out = []
    state = None            # None before accepted; "running" | "paused" | "closed"
    holder = "POL"
    fine_amount = None
    first_due = None

    def emit(i, name, t, typ, **extra):
        ev = {"event_id": f"{case}:{i}:{SLUG.get(name, 'x')}", "type": typ, "dossier_id": case,
              "occurred_at": stamp(t)}
        ev.update(extra)
        out.append((t, ev))
        stats["emitted " + typ] += 1

    for i, e in enumerate(events):
        name = e.get("concept:name")
        t = rome_day(e["time:timestamp"])
        if (t.hour, t.minute, t.second, t.microsecond) != (0, 0, 0, 0):
            stats["not at local midnight"] += 1
        if i == 0:
            if name != "Create Fine":
                stats["skipped: trace not starting with Create Fine"] += 1
                return case, []
            fine_amount = amount(e.get("amount"))
            first_due = midnight_plus(t, NOTIFY_DAYS)
            emit(i, name, t, "accepted", procedure=PROCEDURE, department="POL",
                 channel="direct", due_at=stamp(first_due))
            state = "running"
            if e.get("dismissal", "NIL") != "NIL":
                stats["dismissal code set (kept as the log shows)"] += 1
            continue
        if state == "closed":
            stats[f"skipped after close: {name}"] += 1
            continue
        if name == "Send Fine" or name == "Notify Result Appeal to Offender":
            if state == "paused":
                stats[f"skipped while paused: {name}"] += 1
                continue
            emit(i, name, t, "supplement_requested",
                 reason="fine sent to the offender" if name == "Send Fine"
                 else "prefecture's decision notified to the offender")
            if name == "Send Fine":
                stats["Send Fine " + ("before day 90" if t < first_due else
                                      "on day 90 (a pause at the due instant)" if t == first_due
                                      else "after day 90")] += 1
            state = "paused"
        elif name == "Insert Fine Notification":
            stats["extended while " + state] += 1
            emit(i, name, t, "extended", due_at=stamp(midnight_plus(t, PAY_DAYS)),
                 reason="notified: 60 days to pay or appeal (art. 202, 203)")
        elif name == "Insert Date Appeal to Prefecture":
            if state != "paused":
                stats[f"skipped while running: {name}"] += 1
                continue
            emit(i, name, t, "supplement_received")
            state = "running"
        elif name in ("Send Appeal to Prefecture", "Receive Result Appeal from Prefecture",
                      "Appeal to Judge"):
            dept = {"Send Appeal to Prefecture": "PREF",
                    "Receive Result Appeal from Prefecture": "POL",
                    "Appeal to Judge": "GDP"}[name]
            if dept == holder:
                stats[f"skipped, already held: {name}"] += 1
                continue
            emit(i, name, t, "transferred", department=dept)
            holder = dept
        elif name == "Payment":
            paid = amount(e.get("totalPaymentAmount")) or 0.0
            if fine_amount is not None and paid + 0.005 < fine_amount:
                stats["skipped: partial payment"] += 1
                continue
            emit(i, name, t, "resolved")
            state = "closed"
        elif name == "Send for Credit Collection":
            emit(i, name, t, "stopped", reason="unpaid: sent for credit collection")
            state = "closed"
        elif name == "Add penalty":
            stats["not emitted: Add penalty"] += 1
        else:
            stats[f"unknown activity: {name}"] += 1
    stats["dossiers " + {"running": "open, running", "paused": "open, paused",
                         "closed": "closed"}[state]] += 1
    return case, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="XES file (.xes or .xes.gz)")
    ap.add_argument("-o", "--output", default="-", help="JSON Lines output (default: stdout)")
    ap.add_argument("--max-cases", type=int, default=0, help="keep only the first N cases")
    ap.add_argument("--stats", action="store_true", help="print counts to stderr")
    args = ap.parse_args()

    rows, stats = [], collections.Counter()
    n = 0
    for attrs, events in read_traces(args.input):
        if args.max_cases and n >= args.max_cases:
            break
        n += 1
        stats["XES events"] += len(events)
        _, out = convert(attrs, events, stats)
        rows.extend(out)
    rows.sort(key=lambda r: r[0])  # stable: a fine's events keep their order
    sink = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    try:
        for _, event in rows:
            sink.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
    finally:
        if sink is not sys.stdout:
            sink.close()
    if args.stats:
        print(f"cases: {n}", file=sys.stderr)
        print(f"output lines: {len(rows)}", file=sys.stderr)
        for k, v in sorted(stats.items()):
            print(f"{k}: {v}", file=sys.stderr)


if __name__ == "__main__":
    main()
