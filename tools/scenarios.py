#!/usr/bin/env python3
"""Seeded random but lawful ontime scenarios that hit the contract's corners on purpose.

Each scenario is a small JSON Lines event file (1-5 dossiers, a few to a dozen events each) for a
configuration such as tests/oracle/scenario.yaml. The next event's instant is drawn mostly from the
dossier's own critical instants, which the generator knows by running the contract oracle
(tools/contract_oracle.py) alongside: the current due exactly (a pause, close or extension at the
due), one millisecond either side, the first cycle's due, the at-risk instant, the step's due,
interval ends (11:30, 13:00, 17:00, 07:30), local midnights, holidays and make-up days, and the same
instant as the previous event. Event kinds follow what is lawful in the state: pauses and resumes
(supplement, and fee where the procedure pauses on fees), upstream `extended` while running and
while paused, transfers (steps with budgets), closes of every kind, and events after the close.
Some files also get invalid lines (bad JSON, missing fields, unknown procedure or department,
times outside 1970..2200, and with --now events beyond the clock skew), exact duplicates and
orphans. "Lawful" leaves out what the contract does not pin down: a second pause while paused
(of either kind), an `extended` whose due_at is not after it, events out of time order, and valid
events later than --now.

Writes DIR/scenario-NNNN.jsonl and DIR/manifest.jsonl ({config, events, now} per line), the
input of `tools/contract_check.py --manifest DIR/manifest.jsonl --ontimed ...`.

Usage:
  tools/scenarios.py --config tests/oracle/scenario.yaml --out DIR [--count 300] [--seed 1]
                     [--start 2026-03-02] [--disorder 0.2] [--ontimed PATH] [--stats]
"""

import argparse
import json
import os
import random
import sys
from datetime import timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contract_oracle as oracle  # noqa: E402

MS, MINUTE, HOUR = 1, 60000, 3600000
DAY = 24 * HOUR


STATUS = {v: k for k, v in oracle.STATUS_TYPES.items()}


class Generator:
    def __init__(self, config_path, rnd, start="2026-03-02", ontimed=None, disorder=0.0):
        self.config_path = config_path
        self.cfg, self.cal = oracle.load(config_path, ontimed)
        self.rnd = rnd
        self.disorder = disorder
        day = oracle.date.fromisoformat(start)
        self.base = self.cal.local_ms(day, 0)
        self.codes = sorted(self.cfg.procedures)
        self.departments = sorted(self.cfg.departments)
        self.coverage = {}

    def cover(self, what, n=1):
        self.coverage[what] = self.coverage.get(what, 0) + n
        self.codes = sorted(self.cfg.procedures)
        self.departments = sorted(self.cfg.departments)

    # --- instants

    def local_day(self, ms):
        return (oracle.EPOCH + timedelta(milliseconds=ms)).astimezone(self.cfg.tz).date()

    def boundaries_after(self, t, days=3):
        """Interval starts and ends and local midnights in the next few days, >= t."""
        out = []
        day = self.local_day(t)
        for k in range(days + 1):
            d = day + timedelta(days=k)
            out.append(self.cal.local_ms(d, 0))
            for a, b in self.cal.day_intervals(d):
                out += [a, b]
        return [x for x in out if x >= t]

    def random_after(self, t):
        r = self.rnd
        step = r.choice([MINUTE, 15 * MINUTE, HOUR, 3 * HOUR, DAY, 2 * DAY])
        x = t + r.randrange(0, 3) * step + r.randrange(0, 4 * HOUR // MINUTE) * MINUTE
        if r.random() < 0.15:
            x += r.randrange(1, 1000)
        return x

    def pick_time(self, t, d, engine):
        """The next event's instant, >= t: mostly a critical instant of the dossier."""
        r = self.rnd
        critical = []
        if d is not None and d.open:
            critical += [d.due, d.due - 1, d.due + 1, d.original_due, d.original_due + 1]
            if d.running:
                critical.append(engine.at_risk_instant(d))
                critical.append(engine.at_risk_instant(d) - 1)
                if d.step_budget is not None and not d.step_alerted:
                    critical += [d.step_due, d.step_due + 1]
        critical = [x for x in critical if x >= t]
        roll = r.random()
        if critical and roll < 0.45:
            return r.choice(critical)
        if roll < 0.55:
            return t
        if roll < 0.75:
            b = self.boundaries_after(t)
            if b:
                return r.choice(b[:8])
        return self.random_after(t)

    def stamp(self, ms):
        """RFC 3339, mostly in the calendar's offset, sometimes in UTC or another offset."""
        roll = self.rnd.random()
        if roll < 0.8:
            return oracle.format_instant(ms, self.cfg.tz)
        tz = timezone.utc if roll < 0.9 else timezone(timedelta(hours=-3, minutes=-30))
        text = oracle.format_instant(ms, tz)
        return text.replace("+00:00", "Z") if roll < 0.85 else text

    # --- one dossier

    def accepted(self, did):
        r = self.rnd
        day = r.randrange(0, 14)
        start_day = self.local_day(self.base + day * DAY + 12 * HOUR)
        choices = [self.cal.local_ms(start_day, m) for m in (0, 450, 690, 780, 1020, 1439)]
        choices += [x for a, b in self.cal.day_intervals(start_day) for x in (a, b)]
        start = r.choice(choices) if r.random() < 0.6 else \
            self.cal.local_ms(start_day, r.randrange(0, 1440)) + r.choice([0, 0, r.randrange(1000)])
        code = r.choice(self.codes)
        ev = {"event_id": f"{did}-1", "type": "accepted", "dossier_id": did,
              "occurred_at": self.stamp(start), "procedure": code}
        if r.random() < 0.3:
            ev["department"] = r.choice(self.departments)
        if r.random() < 0.3:
            if r.random() < 0.5:
                b = self.boundaries_after(start + HOUR, days=5)
                due = r.choice(b) if b else start + DAY
            else:
                due = start + r.randrange(1, 5 * 24) * HOUR + r.choice([0, r.randrange(1000)])
            ev["due_at"] = self.stamp(due)
        if r.random() < 0.3:
            ev["channel"] = r.choice(["direct", "online", "postal"])
        if r.random() < 0.2:
            ev["applicant"] = {"name": f"Applicant {did}"}
        return start, ev

    def next_kind(self, d):
        r = self.rnd
        if d.paused == "supplement":
            table = [("supplement_received", 8), ("extended", 3), ("transferred", 2),
                     ("resolved", 1), ("stopped", 1), ("withdrawn", 0.3), ("rated", 0.3),
                     ("returned", 0.5)]
        elif d.paused == "fee":
            table = [("fee_paid", 8), ("extended", 3), ("transferred", 2), ("resolved", 1),
                     ("stopped", 0.5), ("refused", 0.2)]
        else:
            table = [("supplement_requested", 5), ("fee_requested", 3), ("extended", 2.5),
                     ("transferred", 2.5), ("resolved", 2), ("stopped", 1), ("returned", 1),
                     ("withdrawn", 0.4), ("refused", 0.3), ("rated", 0.3), ("fee_paid", 0.3),
                     ("supplement_received", 0.2), ("submitted", 0.1)]
        total = sum(w for _, w in table)
        x = r.random() * total
        for kind, w in table:
            x -= w
            if x < 0:
                return kind
        return table[-1][0]

    def dossier(self, did):
        """[(ms, event dict)] for one dossier, in time order."""
        r = self.rnd
        engine = oracle.Engine(self.cfg, self.cal)
        t, ev = self.accepted(did)
        out = [(t, ev)]
        engine.feed([json.dumps(ev)], None)
        d = engine.dossiers.get(did)
        n = 1
        extended_early = False
        for _ in range(r.randrange(1, 12)):
            if d is None:
                break
            if r.random() < 0.3 and d.running:
                # Look past a timer first (a breach, an at-risk instant), so that the next
                # instants can aim at the next cycle's due.
                ahead = self.pick_time(t, d, engine)
                engine.fire_before(ahead)
                t = ahead
            at = self.pick_time(t, d, engine)
            kind = self.next_kind(d) if d.open else r.choice(
                ["returned", "rated", "resolved", "supplement_requested", "extended"])
            n += 1
            ev = {"event_id": f"{did}-{n}", "type": kind, "dossier_id": did,
                  "occurred_at": self.stamp(at)}
            if kind == "extended":
                choices = [d.due + 1, d.due + HOUR, d.due + DAY, d.due]
                choices += self.boundaries_after(at + MINUTE, days=4)[:6]
                choices.append(at + r.randrange(1, 40) * HOUR)
                due = r.choice([x for x in choices if x > at] or [at + DAY])
                ev["due_at"] = self.stamp(due)
                ev["reason"] = "extended upstream"
            elif kind == "transferred":
                ev["department"] = r.choice(self.departments)
            elif kind == "rated":
                ev["rating"] = r.choice(["very_satisfied", "satisfied", "dissatisfied"])
            elif kind == "fee_paid":
                ev["method"] = r.choice(["online", "cash"])
            elif kind == "returned" and r.random() < 0.5:
                ev["return_channel"] = r.choice(["counter", "postal", "online"])
            elif kind == "supplement_requested":
                ev["reason"] = "missing document"
            out.append((at, ev))
            engine.fire_before(at)
            extended_early = self.note(d, ev, at, extended_early)
            engine.feed([json.dumps(ev)], None)
            t = at
            if not d.open and r.random() < 0.6:
                break
        return out

    def note(self, d, ev, at, extended_early):
        """Counts the corners an event hits (the dossier's state just before it is applied)."""
        kind = ev["type"]
        pauses = kind == "supplement_requested" or (kind == "fee_requested"
                                                    and d.proc.pause_on_fee)
        local = (oracle.EPOCH + timedelta(milliseconds=at)).astimezone(self.cfg.tz)
        if any(at == b for _, b in self.cal.day_intervals(local.date())):
            self.cover("event at the end of a working interval")
        if local.date() in self.cfg.holidays:
            self.cover("event on a holiday")
        if local.date() in self.cfg.working_days:
            self.cover("event on a working_days date")
        if not d.open:
            self.cover("event after the close")
            return extended_early
        if d.running and pauses:
            self.cover("pause at the due instant" if at == d.due else "pause")
            if kind == "fee_requested":
                self.cover("fee pause")
            if extended_early:
                self.cover("pause after an extension before the first due")
        if kind == "fee_requested" and not d.proc.pause_on_fee:
            self.cover("fee_requested that does not pause")
        if kind in oracle.CLOSING:
            if d.running and at == d.due:
                self.cover("close at the due instant")
            if d.paused:
                self.cover("close while paused")
        if kind == "extended":
            if d.paused:
                self.cover("extended while paused")
            elif d.cycle1_current and at < d.original_due:
                self.cover("extended before the first due")
                extended_early = True
            else:
                self.cover("extended")
        if (kind == "supplement_received" and d.paused == "supplement") or \
                (kind == "fee_paid" and d.paused == "fee"):
            if d.remaining == 0 and d.extension_remaining is None:
                self.cover("resume with R = 0")
            if kind == "supplement_received" and d.proc.on_supplement == "restart":
                self.cover("restart" if d.extension_remaining is None
                           else "restart after an extension while paused")
        if kind == "transferred" and ev["department"] != d.department:
            if d.proc.steps.get(ev["department"]) is not None:
                self.cover("transfer into a step with a budget")
            if d.step_due is not None and d.running and at == d.step_due:
                self.cover("transfer at the step's due")
            if d.paused:
                self.cover("transfer while paused")
        return extended_early

    def encode(self, ev):
        """Mostly plain events; sometimes a numeric status or CloudEvents structured mode."""
        r = self.rnd.random()
        if r < 0.08 and ev["type"] in STATUS:
            ev = dict(ev)
            ev["status"] = STATUS[ev.pop("type")]
            self.cover("numeric status")
        elif r < 0.14:
            data = {k: v for k, v in ev.items()
                    if k not in ("event_id", "type", "dossier_id", "occurred_at")}
            ev = {"specversion": "1.0", "id": ev["event_id"], "source": "/one-stop",
                  "type": "vn.gov.dossier." + ev["type"], "subject": ev["dossier_id"],
                  "time": ev["occurred_at"], "data": data}
            self.cover("CloudEvents")
        return json.dumps(ev, separators=(",", ":"))

    # --- one scenario file

    def scenario(self, index):
        r = self.rnd
        rows = []
        disorder = r.random() < self.disorder
        for k in range(r.randrange(1, 6)):
            lag = r.choice([0, HOUR, DAY, 3 * DAY]) if disorder else 0
            rows += [(t + lag, t, ev) for t, ev in self.dossier(f"S{index}-D{k + 1}")]
        # By time (stable, so a dossier's events keep their order); with --disorder, some
        # dossiers lag behind the others, as from another Kafka partition.
        rows.sort(key=lambda x: x[0])
        if disorder:
            self.cover("scenario with lagging dossiers")
        lines = [self.encode(ev) for _, _, ev in rows]
        rows = [(t, ev) for _, t, ev in rows]
        last = max(t for t, _ in rows)
        now = None
        if r.random() < 0.5:
            roll = r.random()
            if roll < 0.4:
                now = last + r.choice([0, 1, MINUTE, HOUR, DAY, 3 * DAY, 10 * DAY])
            else:
                engine = oracle.Engine(self.cfg, self.cal)
                engine.feed(lines, None)
                marks = []
                for d in engine.dossiers.values():
                    if d.open:
                        marks += [d.due, d.due + 1, d.due - 1, d.original_due + 1]
                        if d.running:
                            marks.append(engine.at_risk_instant(d))
                marks = [x for x in marks if x >= last]
                now = r.choice(marks) if marks else last + HOUR
                self.cover("--now at a dossier's critical instant")
        # Noise that must not change any dossier: invalid lines, duplicates, orphans.
        if r.random() < 0.35:
            for _ in range(r.randrange(1, 4)):
                pos = r.randrange(1, len(lines) + 1)
                before = [json.loads(x) for x in lines[:pos] if x.startswith("{\"event_id\":\"S")]
                before = [e for e in before if "type" in e]
                t_here = max((oracle.parse_instant(e["occurred_at"]) for e in before
                              if "occurred_at" in e), default=rows[0][0])
                lines.insert(pos, self.noise(index, t_here, now, before))
        self.outcome(lines, now)
        return lines, now

    def outcome(self, lines, now):
        """Counts what the oracle derives from the file: outputs by kind, report states."""
        engine = oracle.Engine(self.cfg, self.cal)
        engine.feed(lines, now)
        report = engine.report(engine.finish(now))
        for o in engine.outputs:
            self.cover("output " + o.get("kind", "apology letter"))
        for d in report["dossiers"]:
            if d["state"] != "open":
                self.cover(f"closed {d['state']} {d['outcome'] or ''}".rstrip())
            elif d["paused"] and d["overdue"]:
                self.cover("open, paused and overdue (cycle 1 over)")
            elif d["paused"]:
                self.cover("open, paused")
            else:
                self.cover("open, " + ("overdue" if d["overdue"] else "in time")
                           + (", at risk" if d["at_risk"] else ""))
        for i in report["invalid"]:
            self.cover("invalid " + i["reason"])
        self.cover("orphan events", engine.counts["orphans"])
        self.cover("duplicate events", engine.counts["duplicates"])

    def noise(self, index, t, now, before):
        r = self.rnd
        kinds = ["json", "missing", "procedure", "department", "range", "range_due",
                 "duplicate", "orphan"]
        if now is not None:
            kinds.append("future")
        kind = r.choice(kinds)
        ghost = f"S{index}-GHOST"
        base = {"event_id": f"noise-{r.randrange(10**6)}", "dossier_id": ghost,
                "occurred_at": self.stamp(t)}
        if kind == "json":
            return '{"event_id": "broken", "type": "accepted",'
        if kind == "missing":
            ev = dict(base, type="resolved")
            key = r.choice(["event_id", "dossier_id", "occurred_at"])
            if r.random() < 0.5:
                del ev[key]
            else:
                ev[key] = r.choice(["", None])
            return json.dumps(ev)
        if kind == "procedure":
            return json.dumps(dict(base, type="accepted", procedure="9.999999"))
        if kind == "department":
            target = r.choice([e for e in before if e.get("type") == "accepted"] or [None])
            if target is None:
                return json.dumps(dict(base, type="accepted", procedure=self.codes[0],
                                       department="NOPE"))
            return json.dumps(dict(base, type="transferred", dossier_id=target["dossier_id"],
                                   department="NOPE"))
        if kind == "range":
            return json.dumps(dict(base, type="accepted", procedure=self.codes[0],
                                   occurred_at=r.choice(["1969-12-31T23:59:59.999Z",
                                                         "2200-01-01T00:00:00.001Z",
                                                         "2999-05-01T10:00:00+07:00"])))
        if kind == "range_due":
            return json.dumps(dict(base, type="accepted", procedure=self.codes[0],
                                   due_at="2200-01-01T07:00:00.001+07:00"))
        if kind == "future":
            skew = self.cfg.max_clock_skew
            return json.dumps(dict(base, type="accepted", procedure=self.codes[0],
                                   occurred_at=self.stamp(now + skew + r.choice([1, HOUR]))))
        if kind == "duplicate" and before:
            return json.dumps(r.choice(before), separators=(",", ":"))
        return json.dumps(dict(base, type="resolved"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True, help="directory for the files and manifest.jsonl")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", default="2026-03-02",
                    help="local date of the first possible acceptance (two weeks of them)")
    ap.add_argument("--disorder", type=float, default=0.0,
                    help="share of scenarios where some dossiers lag behind the others")
    ap.add_argument("--ontimed", help="the binary, for builtin_holidays (ontimed calendar)")
    ap.add_argument("--stats", action="store_true", help="print the corners hit to stderr")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    gen = Generator(args.config, random.Random(args.seed), args.start, args.ontimed,
                    args.disorder)
    config = os.path.relpath(os.path.abspath(args.config), os.path.abspath(args.out))
    with open(os.path.join(args.out, "manifest.jsonl"), "w", encoding="utf-8") as manifest:
        for i in range(1, args.count + 1):
            lines, now = gen.scenario(i)
            name = f"scenario-{i:04d}.jsonl"
            with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            entry = {"config": config, "events": name}
            if now is not None:
                entry["now"] = oracle.format_instant(now, gen.cfg.tz)
            manifest.write(json.dumps(entry) + "\n")
    print(f"scenarios: {args.count} files in {args.out} (seed {args.seed})", file=sys.stderr)
    if args.stats:
        for what, n in sorted(gen.coverage.items()):
            print(f"  {n:6d}  {what}", file=sys.stderr)


if __name__ == "__main__":
    main()
