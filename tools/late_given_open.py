#!/usr/bin/python3
"""How predictable lateness is from elapsed time alone, straight from a contract event log (JSON
Lines with `accepted` carrying `due_at`, and a closing event): for each share f of the budget,
of the dossiers still open at f x budget (calendar time), the share that end late. This bounds
the precision of any alert that sees only elapsed time and the budget, raised at f.

usage: tools/late_given_open.py EVENTS.jsonl [--budget-days N]
"""
import argparse
import datetime
import json

CLOSING = {"resolved", "returned", "withdrawn", "refused"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events")
    parser.add_argument("--budget-days", type=float,
                        help="only dossiers whose budget rounds to this many calendar days")
    args = parser.parse_args()
    accepted, closed = {}, {}
    with open(args.events, encoding="utf-8") as f:
        for line in f:
            e = json.loads(line)
            at = datetime.datetime.fromisoformat(e["occurred_at"])
            if e["type"] == "accepted" and e.get("due_at"):
                accepted[e["dossier_id"]] = (at, datetime.datetime.fromisoformat(e["due_at"]))
            elif e["type"] in CLOSING:
                closed.setdefault(e["dossier_id"], at)
    rows = []
    for dossier, (start, due) in accepted.items():
        if dossier not in closed:
            continue
        budget = (due - start).total_seconds()
        if args.budget_days and round(budget / 86400) != round(args.budget_days):
            continue
        rows.append((budget, (closed[dossier] - start).total_seconds()))
    late = sum(t > b for b, t in rows)
    print(f"{len(rows)} closed dossiers, {late} late ({100 * late / max(len(rows), 1):.1f} %)")
    print("| share of budget used | still open | of those, late |")
    print("|---:|---:|---:|")
    for f in (0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9):
        still_open = [(b, t) for b, t in rows if t > f * b]
        ended_late = sum(t > b for b, t in still_open)
        share = 100 * ended_late / max(len(still_open), 1)
        print(f"| {f:.2f} | {len(still_open)} | {share:.1f} % |")


if __name__ == "__main__":
    main()
