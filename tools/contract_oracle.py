#!/usr/bin/env python3
"""An independent reading of the ontime contract (../shared/contract/README.md, v1) in Python.

Given a configuration (YAML) and a JSON Lines event file, computes what
`ontimed replay --config C --events E [--now N] --report R --emit O` must produce: every dossier's
report row (contract section 5), the summary, the invalid lines, and every alert and apology
letter (section 4). Written from the contract text and the README's "Extensions" list, not from
the engine's source: it is test tooling, so it is simple rather than fast.

Working time: the calendar's intervals are built day by day (weekday hours, minus holidays, plus
`working_days`) in the calendar's time zone (zoneinfo), one year at a time, with the working time
accumulated before each interval; `between` and `add` are then a bisection over that list (and
`--selftest` checks them against a plain walk over the days). For `builtin_holidays: vn` the
lunar holidays are not recomputed here: they are read from the real binary's
`ontimed calendar --config C --year Y` (pass --ontimed), one year at a time.

Python 3 standard library plus PyYAML (Debian python3-yaml).

Usage:
  tools/contract_oracle.py --config C --events E [--now RFC3339] [--report R] [--emit O]
                           [--ontimed build/daemon/ontimed]
  tools/contract_oracle.py --config C --selftest [--ontimed ...]
"""

import argparse
import bisect
import heapq
import json
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from zoneinfo import ZoneInfo

import yaml

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MIN_INSTANT = 0                                        # 1970-01-01T00:00Z
MAX_INSTANT = int((datetime(2200, 1, 1, tzinfo=timezone.utc) - EPOCH).total_seconds()) * SECOND

DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
STATUS_TYPES = {1: "submitted", 2: "accepted", 3: "refused", 4: "transferred",
                5: "supplement_requested", 6: "fee_requested", 7: "withdrawn", 8: "stopped",
                9: "resolved", 10: "returned"}
KNOWN_TYPES = set(STATUS_TYPES.values()) | {"supplement_received", "fee_paid", "extended",
                                             "rated"}
# Where ontimed and this reading of the contract disagree (tests/oracle/disagreements/README.md),
# `--accept NAME` makes the oracle do what ontimed does today, so that the other checks stay
# useful until the engine is changed (or the contract is).
KNOWN_DISAGREEMENTS = {
    "percent-threshold-nearest": "a percentage at_risk_remaining is rounded to the nearest ms",
    "now-last-line": "without --now, the report's now is the last line's time, not the clock",
    "unknown-department-open-only": "a transfer to an unknown department is invalid only when "
                                    "its dossier is open",
    "at-risk-bound-last-set": "the at-risk instant is bounded by whichever of the cycle's start "
                              "and the last resume was processed last (differs from the later of "
                              "the two only for events older than the clock)",
}
CLOSING = {"resolved": "resolved", "stopped": "stopped", "returned": "resolved",
           "withdrawn": "withdrawn", "refused": "refused"}


class ConfigError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Instants: integer milliseconds since 1970-01-01T00:00Z.

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def parse_instant(text):
    """RFC 3339 with offset -> ms; None when it is not one. Fractions beyond ms are dropped."""
    if not isinstance(text, str) or not RFC3339.match(text):
        return None
    body = text.replace("z", "Z").replace("t", "T")
    frac_ms = 0
    m = re.match(r"^(.*T\d{2}:\d{2}:\d{2})(\.\d+)?(.*)$", body)
    head, frac, zone = m.group(1), m.group(2), m.group(3)
    if frac:
        frac_ms = int((frac[1:] + "000")[:3])
    if zone == "Z":
        zone = "+00:00"
    if head.endswith(":60"):                            # an RFC 3339 leap second: as ontimed,
        head = head[:-2] + "59"                         # the second before it
    try:
        dt = datetime.fromisoformat(head + zone)
    except ValueError:
        return None
    delta = dt - EPOCH
    return (delta.days * 86400 + delta.seconds) * SECOND + frac_ms


def format_instant(ms, tz):
    """RFC 3339 in the time zone, milliseconds only when not zero (as ontimed writes them)."""
    dt = (EPOCH + timedelta(milliseconds=ms)).astimezone(tz)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if ms % 1000:
        text += ".%03d" % (ms % 1000)
    off = dt.utcoffset()
    minutes = int(off.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return text + "%s%02d:%02d" % (sign, minutes // 60, minutes % 60)


# ---------------------------------------------------------------------------------------------
# Configuration (contract section 2).

DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text, day_ms, where):
    """"15d", "4h", "2d4h", "90m", "30s" -> ms, with d = day_ms."""
    if isinstance(text, int) and text == 0:
        return 0
    if not isinstance(text, str):
        raise ConfigError(f"{where}: {text!r} is not a duration")
    m = DURATION.match(text.strip())
    if not m or not any(m.groups()):
        raise ConfigError(f"{where}: {text!r} is not a duration")
    d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    return d * day_ms + h * HOUR + mi * MINUTE + s * SECOND


def parse_threshold(text, day_ms, where):
    """A working-time duration, or ("pct", Fraction) for "20%"."""
    if isinstance(text, str) and text.strip().endswith("%"):
        return ("pct", Fraction(text.strip()[:-1]))
    return ("abs", parse_duration(text, day_ms, where))


def parse_hours(items, where):
    """["07:30-11:30", "13:00-17:00"] -> [(450, 690), (780, 1020)] in minutes of the day."""
    out = []
    for i, item in enumerate(items or []):
        m = re.match(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$", str(item).strip())
        if not m:
            raise ConfigError(f"{where}[{i}]: {item!r} is not HH:MM-HH:MM")
        a = int(m.group(1)) * 60 + int(m.group(2))
        b = int(m.group(3)) * 60 + int(m.group(4))
        if not (0 <= a < b <= 24 * 60):
            raise ConfigError(f"{where}[{i}]: {item!r} is not an interval of one day")
        out.append((a, b))
    return out


def parse_date(text, where):
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not a date") from None


class Procedure:
    def __init__(self, raw, defaults, day_ms, departments, i):
        where = f"procedures[{i}]"
        self.code = str(raw["code"])
        self.name = raw.get("name", "")
        self.department = raw.get("department")
        if self.department is not None and self.department not in departments:
            raise ConfigError(f"{where}.department: unknown department {self.department!r}")
        self.sla = parse_duration(raw["sla"], day_ms, where + ".sla")
        self.at_risk = (parse_threshold(raw["at_risk_remaining"], day_ms,
                                        where + ".at_risk_remaining")
                        if "at_risk_remaining" in raw else defaults["at_risk"])
        self.apology_extension = (parse_duration(raw["apology_extension"], day_ms,
                                                 where + ".apology_extension")
                                  if "apology_extension" in raw else defaults["extension"])
        self.on_supplement = raw.get("on_supplement", defaults["on_supplement"])
        self.pause_on_fee = bool(raw.get("pause_on_fee", False))
        self.steps = {}
        for dept, budget in (raw.get("steps") or {}).items():
            if dept not in departments:
                raise ConfigError(f"{where}.steps: unknown department {dept!r}")
            self.steps[dept] = parse_duration(budget, day_ms, f"{where}.steps.{dept}")


class Config:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f) or {}
        cal = raw.get("calendar") or {}
        self.timezone_name = cal.get("timezone", "Asia/Ho_Chi_Minh")
        self.tz = ZoneInfo(self.timezone_name)
        self.day_ms = parse_duration(cal.get("day_length", "8h"), 24 * HOUR,
                                     "calendar.day_length")
        self.weekly = {d: [] for d in range(7)}
        for key, hours in (cal.get("working_hours") or {}).items():
            days = self._day_keys(str(key))
            for d in days:
                self.weekly[d] = parse_hours(hours, f"calendar.working_hours.{key}")
        self.holidays = {}
        for i, h in enumerate(cal.get("holidays") or []):
            if isinstance(h, dict):
                self.holidays[parse_date(h["date"], f"calendar.holidays[{i}]")] = h.get("name", "")
            else:
                self.holidays[parse_date(h, f"calendar.holidays[{i}]")] = ""
        self.builtin = cal.get("builtin_holidays", "none") or "none"
        self.working_days = {}
        for d, hours in (cal.get("working_days") or {}).items():
            self.working_days[parse_date(d, "calendar.working_days")] = parse_hours(
                hours, f"calendar.working_days.{d}")
        dfl = raw.get("defaults") or {}
        defaults = {
            "at_risk": parse_threshold(dfl.get("at_risk_remaining", "1d"), self.day_ms,
                                       "defaults.at_risk_remaining"),
            "extension": parse_duration(dfl.get("apology_extension", "5d"), self.day_ms,
                                        "defaults.apology_extension"),
            "on_supplement": dfl.get("on_supplement", "pause"),
        }
        self.max_letters = int(dfl.get("max_apology_letters", 0) or 0)
        self.escalation = raw.get("escalation") or {}
        self.departments = {}
        for d in raw.get("departments") or []:
            self.departments[str(d["code"])] = d
        self.procedures = {}
        for i, p in enumerate(raw.get("procedures") or []):
            proc = Procedure(p, defaults, self.day_ms, self.departments, i)
            self.procedures[proc.code] = proc
        ingest = raw.get("ingest") or {}
        self.max_clock_skew = parse_duration(ingest.get("max_clock_skew", "5m"), 24 * HOUR,
                                             "ingest.max_clock_skew")

    @staticmethod
    def _day_keys(key):
        if "-" in key:
            a, b = key.split("-", 1)
            ia, ib = DAY_NAMES.index(a.strip()), DAY_NAMES.index(b.strip())
            if ib < ia:
                raise ConfigError(f"calendar.working_hours: {key!r} wraps around")
            return list(range(ia, ib + 1))
        return [DAY_NAMES.index(key.strip())]

    def head(self, department):
        d = self.departments.get(department) or {}
        h = d.get("head") or {}
        return {"name": h.get("name", ""), "title": h.get("title", ""), "email": h.get("email", "")}


# ---------------------------------------------------------------------------------------------
# Working time (contract section 3, first bullet).

class BinaryHolidays:
    """Holiday dates of `builtin_holidays: vn`, read from `ontimed calendar` year by year."""

    def __init__(self, ontimed, config_path):
        self.ontimed, self.config_path, self.years = ontimed, config_path, {}

    def dates(self, year):
        if year not in self.years:
            if not self.ontimed:
                raise SystemExit("builtin_holidays is set: pass --ontimed to read the holidays")
            out = subprocess.run([self.ontimed, "calendar", "--config", self.config_path,
                                  "--year", str(year)], check=True, capture_output=True,
                                 text=True).stdout
            self.years[year] = {date.fromisoformat(h["date"]) for h in json.loads(out)["holidays"]}
        return self.years[year]


class Calendar:
    """Working intervals in UTC ms, built year by year, with the working time before each."""

    def __init__(self, config, builtin_holidays=None):
        self.cfg = config
        self.builtin = builtin_holidays
        self.first_year = None
        self.last_year = None
        self.starts, self.ends, self.cum, self.cum_end = [], [], [], []

    def local_ms(self, day, minute):
        if minute == 24 * 60:
            nxt = day + timedelta(days=1)
            dt = datetime(nxt.year, nxt.month, nxt.day, tzinfo=self.cfg.tz)
        else:
            dt = datetime(day.year, day.month, day.day, minute // 60, minute % 60,
                          tzinfo=self.cfg.tz)
        delta = dt - EPOCH
        return (delta.days * 86400 + delta.seconds) * SECOND

    def is_holiday(self, day):
        if day in self.cfg.holidays:
            return True
        return self.builtin is not None and day in self.builtin.dates(day.year)

    def day_hours(self, day):
        """The day's working hours in minutes: the weekly hours minus holidays, plus
        working_days. A date listed in working_days works exactly the hours listed there, even
        when it is a holiday or an ordinary working day ("extra/make-up working days and their
        hours"; the contract's "plus" leaves open whether they add to or replace a weekday's
        hours: they replace them, as `ontimed due` shows)."""
        if day in self.cfg.working_days:
            hours = sorted(self.cfg.working_days[day])
        elif self.is_holiday(day):
            hours = []
        else:
            hours = sorted(self.cfg.weekly[day.weekday()])
        merged = []
        for a, b in hours:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        return merged

    def day_intervals(self, day):
        return [(self.local_ms(day, a), self.local_ms(day, b)) for a, b in self.day_hours(day)]

    def _build(self, first_year, last_year):
        starts, ends = [], []
        day = date(first_year, 1, 1)
        end = date(last_year + 1, 1, 1)
        while day < end:
            for a, b in self.day_intervals(day):
                starts.append(a)
                ends.append(b)
            day += timedelta(days=1)
        cum, cum_end, total = [], [], 0
        for a, b in zip(starts, ends):
            cum.append(total)
            total += b - a
            cum_end.append(total)
        self.first_year, self.last_year = first_year, last_year
        self.starts, self.ends, self.cum, self.cum_end = starts, ends, cum, cum_end

    def _year_of(self, ms):
        return (EPOCH + timedelta(milliseconds=ms)).year

    def cover(self, ms):
        """Makes the table cover ms (with a year of margin on each side)."""
        y = self._year_of(ms)
        if self.first_year is None:
            self._build(max(1969, y - 1), min(2200, y + 1))
            return
        if y - 1 < self.first_year or y + 1 > self.last_year:
            self._build(max(1969, min(self.first_year, y - 1)),
                        min(2200, max(self.last_year, y + 1)))

    def _w(self, t):
        """Working time from the table start to t."""
        self.cover(t)
        i = bisect.bisect_right(self.starts, t) - 1
        if i < 0:
            return 0
        return self.cum[i] + min(t, self.ends[i]) - self.starts[i]

    def between(self, a, b):
        if b <= a:
            return 0
        self.cover(a)
        self.cover(b)
        return self._w(b) - self._w(a)

    def _first_reach(self, target):
        """The earliest instant t with W(t) >= target (target > 0), extending the table."""
        while not self.cum_end or self.cum_end[-1] < target:
            if self.last_year >= 2200:
                raise OverflowError("working time beyond 2200")
            self._build(self.first_year, min(2200, self.last_year + 5))
        j = bisect.bisect_left(self.cum_end, target)
        return self.starts[j] + (target - self.cum[j])

    def add(self, t, d):
        """The earliest t' >= t with between(t, t') = d."""
        if d <= 0:
            return t
        self.cover(t)
        first_year = self.first_year
        target = self._w(t) + d
        t2 = self._first_reach(target)
        assert self.first_year == first_year
        return max(t, t2)

    def earliest_with_remaining(self, due, threshold):
        """The earliest instant t with between(t, due) <= threshold (may lie before the table:
        then the table start, which callers bound from below anyway)."""
        self.cover(due)
        target = self._w(due) - threshold
        if target <= 0:
            return self.starts[0] if self.starts else due
        return self._first_reach(target)

    # A plain walk over the days, for --selftest: no table, no bisection.
    def between_walk(self, a, b):
        if b <= a:
            return 0
        total = 0
        day = (EPOCH + timedelta(milliseconds=a)).astimezone(self.cfg.tz).date() - timedelta(1)
        last = (EPOCH + timedelta(milliseconds=b)).astimezone(self.cfg.tz).date() + timedelta(1)
        while day <= last:
            for s, e in self.day_intervals(day):
                lo, hi = max(s, a), min(e, b)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def add_walk(self, t, d):
        if d <= 0:
            return t
        day = (EPOCH + timedelta(milliseconds=t)).astimezone(self.cfg.tz).date() - timedelta(1)
        left = d
        while True:
            for s, e in self.day_intervals(day):
                lo = max(s, t)
                if e <= lo:
                    continue
                if e - lo >= left:
                    return lo + left
                left -= e - lo
            day += timedelta(days=1)


# ---------------------------------------------------------------------------------------------
# Input events (contract section 1).

class Invalid(Exception):
    def __init__(self, reason, message):
        super().__init__(message)
        self.reason, self.message = reason, message


def decode(line, cfg, now_ms, accept=()):
    """One JSON line -> a normalised event dict, or raises Invalid."""
    try:
        obj = json.loads(line)
    except ValueError as e:
        raise Invalid("invalid_json", str(e)) from None
    if not isinstance(obj, dict):
        raise Invalid("invalid_json", "not an object")
    if "specversion" in obj:
        data = obj.get("data") or {}
        if not isinstance(data, dict):
            raise Invalid("invalid_field", "data is not an object")
        ev = dict(data)
        for src, dst in (("id", "event_id"), ("time", "occurred_at"), ("subject", "dossier_id")):
            if src in obj:
                ev[dst] = obj[src]
        if isinstance(obj.get("type"), str):
            ev["type"] = obj["type"].rsplit(".", 1)[-1]
        obj = ev
    # An empty string counts as an absent field (as in ontimed; the contract does not say),
    # except for `type`, where it is an unknown type.
    obj = {k: v for k, v in obj.items() if not (v == "" and k != "type")}
    typ = obj.get("type")
    if typ is None and "status" in obj:
        st = obj["status"]
        if isinstance(st, bool) or not isinstance(st, int) or st not in STATUS_TYPES:
            raise Invalid("invalid_field", f"status {st!r}")
        typ = STATUS_TYPES[st]
    for key in ("event_id", "dossier_id", "occurred_at"):
        if key not in obj or obj[key] is None:
            raise Invalid("missing_field", key)
    if typ is None:
        raise Invalid("missing_field", "type")
    for key in ("event_id", "dossier_id"):
        v = obj[key]
        if not isinstance(v, str) or not 1 <= len(v) <= 128:
            raise Invalid("invalid_field", key)
    if not isinstance(typ, str):
        raise Invalid("invalid_field", "type")
    at = parse_instant(obj["occurred_at"])
    if at is None:
        raise Invalid("invalid_field", "occurred_at")
    ev = {"event_id": obj["event_id"], "dossier_id": obj["dossier_id"], "type": typ, "at": at}
    if typ not in KNOWN_TYPES:
        ev["unknown"] = True
        return ev
    due = None
    if obj.get("due_at") is not None:
        due = parse_instant(obj["due_at"])
        if due is None:
            raise Invalid("invalid_field", "due_at")
    ev["due"] = due
    for key, values in (("channel", ("direct", "online", "postal")),
                        ("rating", ("very_satisfied", "satisfied", "dissatisfied")),
                        ("method", ("online", "cash")),
                        ("return_channel", ("counter", "postal", "online"))):
        if obj.get(key) is not None and obj[key] not in values:
            raise Invalid("invalid_field", key)
    if typ == "accepted" and obj.get("procedure") is None:
        raise Invalid("missing_field", "procedure")
    if typ == "transferred" and obj.get("department") is None:
        raise Invalid("missing_field", "department")
    if typ == "extended" and due is None:
        raise Invalid("missing_field", "due_at")
    if typ == "rated" and obj.get("rating") is None:
        raise Invalid("missing_field", "rating")
    if typ == "fee_paid" and obj.get("method") is None:
        raise Invalid("missing_field", "method")
    rs = obj.get("reception_seconds")
    if rs is not None and (isinstance(rs, bool) or not isinstance(rs, (int, float)) or rs < 0):
        raise Invalid("invalid_field", "reception_seconds")
    for t in (at, due):
        if t is not None and not (MIN_INSTANT <= t <= MAX_INSTANT):
            raise Invalid("time_out_of_range", "time outside 1970..2200")
    if now_ms is not None and at - now_ms > cfg.max_clock_skew:
        raise Invalid("future_event", "later than --now + ingest.max_clock_skew")
    # Codes the configuration does not know make the event invalid too, but its time is
    # plausible: like ontimed, the timers before it still fire (the contract keeps only
    # time_out_of_range and future_event from moving the clock). Recorded, raised by feed().
    if typ == "accepted":
        code = str(obj["procedure"])
        if code not in cfg.procedures:
            ev["semantic"] = Invalid("unknown_procedure", f"unknown procedure {code!r}")
            return ev
        proc = cfg.procedures[code]
        dept = obj.get("department") or proc.department
        if dept is None or dept not in cfg.departments:
            ev["semantic"] = Invalid("unknown_department", f"unknown department {dept!r}")
        ev["procedure"] = code
        ev["department"] = dept
        ev["applicant"] = obj.get("applicant")
    if typ == "transferred":
        dept = obj["department"]
        if not isinstance(dept, str) or dept not in cfg.departments:
            if "unknown-department-open-only" not in accept:
                ev["semantic"] = Invalid("unknown_department", f"unknown department {dept!r}")
            ev["unknown_department"] = True
        ev["department"] = dept
    return ev


# ---------------------------------------------------------------------------------------------
# Dossiers (contract section 3).

class Dossier:
    def __init__(self, ev, proc, cal):
        start = ev["at"]
        self.id = ev["dossier_id"]
        self.proc = proc
        self.department = ev["department"]
        self.applicant = ev.get("applicant")
        self.accepted_at = start
        self.state = "open"
        self.closed_at = None
        self.outcome = None
        if ev["due"] is not None:                      # "Start": due_at overrides the rule
            self.budget = cal.between(start, ev["due"])
            self.due = ev["due"]
        else:
            self.budget = proc.sla
            self.due = cal.add(start, proc.sla)
        self.cycle = 1
        self.cycle_budget_value = self.budget
        self.cycle_start = start
        self.cycle1_current = True
        self.original_due = self.due
        self.at_risk_alerted = False                   # in the current cycle
        self.last_resume = None
        self.last_bound = start                        # the later set of the two, in file order
        self.paused = None                             # None | "supplement" | "fee"
        self.pause_start = None
        self.remaining = 0                             # R, while paused
        self.extension_remaining = None                # R of an `extended` while paused
        self.run_since = start
        self.working = 0
        self.supplements = 0
        self.letters = 0
        self.step = 1
        self.step_budget = proc.steps.get(self.department)
        self.step_due = cal.add(start, self.step_budget) if self.step_budget is not None else None
        self.step_remaining = 0
        self.step_alerted = False
        self.version = 0

    @property
    def open(self):
        return self.state == "open"

    @property
    def running(self):
        return self.state == "open" and self.paused is None


class Engine:
    def __init__(self, cfg, cal, accept=()):
        self.cfg, self.cal = cfg, cal
        self.accept = frozenset(accept)
        unknown = self.accept - set(KNOWN_DISAGREEMENTS)
        if unknown:
            raise ValueError(f"unknown --accept {sorted(unknown)}")
        self.last_line_at = None
        self.dossiers = {}
        self.order = []                                # dossier ids in acceptance order
        self.seen = set()                              # (dossier_id, event_id)
        self.heap = []
        self.seq = 0
        self.clock = None
        self.outputs = []
        self.invalid = []
        self.counts = {"duplicates": 0, "orphans": 0, "unknown": 0, "events": 0}

    # --- thresholds and timers

    def threshold(self, d):
        kind, value = d.proc.at_risk
        if kind == "abs":
            return value
        exact = Fraction(self.cycle_budget(d)) * value / 100
        if "percent-threshold-nearest" in self.accept:
            return int(exact + Fraction(1, 2))          # ontimed today: nearest ms, half up
        # remaining (whole ms) <= pct x budget exactly  <=>  remaining <= floor(pct x budget)
        return int(exact)

    @staticmethod
    def cycle_budget(d):
        return d.cycle_budget_value

    def at_risk_instant(self, d):
        # "not before the cycle's start or the last resume" (README, Extensions)
        lower = d.cycle_start if d.last_resume is None else max(d.cycle_start, d.last_resume)
        if "at-risk-bound-last-set" in self.accept:
            lower = d.last_bound                        # ontimed today
        return max(lower, self.cal.earliest_with_remaining(d.due, self.threshold(d)))

    def schedule(self, d):
        """(Re)arms the dossier's timers: at-risk, breach and step due. Timers of one dossier
        due at the same instant fire in that order (the contract does not order them; ontimed
        does the same: a step_overdue due with a breach carries the new cycle)."""
        d.version += 1
        if not d.running:
            return
        if not d.at_risk_alerted:
            self.push(self.at_risk_instant(d), 0, d)
        self.push(d.due, 1, d)
        if d.step_budget is not None and not d.step_alerted:
            self.push(d.step_due, 2, d)

    def push(self, instant, kind, d):
        self.seq += 1
        heapq.heappush(self.heap, (instant, kind, self.seq, d.id, d.version))

    def fire_before(self, instant):
        while self.heap and self.heap[0][0] < instant:
            t, kind, _, did, version = heapq.heappop(self.heap)
            d = self.dossiers[did]
            if version != d.version or not d.running:
                continue
            if kind == 0:
                self.fire_at_risk(d, t)
            elif kind == 1:
                self.fire_breach(d, t)
            else:
                self.fire_step(d, t)

    # --- outputs

    def alert(self, d, kind, n, due, detected, remaining, department=None, notify=None,
              step=None):
        department = department or d.department
        a = {"alert_id": f"{d.id}:{kind}:{step if kind == 'step_overdue' else n}",
             "kind": kind, "dossier_id": d.id, "procedure": d.proc.code,
             "department": department, "cycle": n, "due_at": due, "detected_at": detected,
             "remaining_seconds": remaining,
             "notify": notify if notify is not None else self.cfg.head(department)}
        if step is not None:
            a["step"] = step
        self.outputs.append(a)

    def fire_at_risk(self, d, t):
        d.at_risk_alerted = True
        self.alert(d, "at_risk", d.cycle, d.due, t, self.cal.between(t, d.due))
        self.schedule(d)

    def fire_step(self, d, t):
        d.step_alerted = True
        self.alert(d, "step_overdue", d.cycle, d.step_due, t, 0, step=d.step)
        self.schedule(d)

    def fire_breach(self, d, t):
        n = d.cycle
        self.alert(d, "overdue", n, t, t, 0)
        new_due = self.cal.add(t, d.proc.apology_extension)
        if self.cfg.max_letters and d.letters >= self.cfg.max_letters:
            esc = self.cfg.escalation
            self.alert(d, "escalated", n, t, t, 0,
                       notify={"name": esc.get("name", ""), "title": esc.get("title", ""),
                               "email": esc.get("email", "")})
        else:
            d.letters += 1
            head = self.cfg.head(d.department)
            self.outputs.append({
                "letter_id": f"{d.id}:apology:{n}", "dossier_id": d.id,
                "procedure": d.proc.code, "department": d.department, "cycle": n,
                "accepted_at": d.accepted_at, "original_due_at": d.original_due,
                "new_due_at": new_due, "issued_at": t,
                "signer": {"name": head["name"], "title": head["title"]}})
        d.cycle1_current = False
        self.new_cycle(d, t, new_due, d.proc.apology_extension)
        self.schedule(d)

    def new_cycle(self, d, start, due, budget):
        d.cycle += 1
        d.cycle_start = start
        d.last_bound = start
        d.cycle_budget_value = budget
        d.due = due
        d.at_risk_alerted = False

    # --- events

    def pause(self, d, p, kind):
        d.paused, d.pause_start = kind, p
        d.remaining = self.cal.between(p, d.due)        # 0 when p is the due itself
        d.extension_remaining = None
        d.working += self.cal.between(d.run_since, p)
        if d.step_budget is not None and not d.step_alerted:
            d.step_remaining = self.cal.between(p, d.step_due)
        self.schedule(d)

    def resume(self, d, r):
        if d.extension_remaining is not None:
            d.due = self.cal.add(r, d.extension_remaining)
        elif d.paused == "supplement" and d.proc.on_supplement == "restart":
            d.due = self.cal.add(r, d.budget)           # B of "Start", in every cycle
            d.cycle_budget_value = d.budget             # the budget the cycle now runs on
        else:
            d.due = self.cal.add(r, d.remaining)
        if d.cycle1_current:
            d.original_due = d.due
        if d.step_budget is not None and not d.step_alerted:
            d.step_due = self.cal.add(r, d.step_remaining)
        d.paused = None
        d.extension_remaining = None
        d.run_since = r
        d.last_resume = r
        d.last_bound = r
        self.schedule(d)

    def close(self, d, c, state):
        judged = d.pause_start if d.paused else c
        if d.running:
            d.working += self.cal.between(d.run_since, c)
        d.state = state
        d.closed_at = c
        if state in ("resolved", "stopped"):
            d.outcome = "on_time" if judged <= d.original_due else "late"
        self.schedule(d)

    def apply(self, ev):
        typ, at = ev["type"], ev["at"]
        d = self.dossiers.get(ev["dossier_id"])
        if typ == "accepted":
            if d is None:
                proc = self.cfg.procedures[ev["procedure"]]
                d = Dossier(ev, proc, self.cal)
                self.dossiers[d.id] = d
                self.order.append(d.id)
                self.schedule(d)
            return
        if d is None:
            if typ != "submitted":
                self.counts["orphans"] += 1
            return
        if not d.open:
            return
        if typ in CLOSING:
            self.close(d, at, CLOSING[typ])
        elif typ == "supplement_requested":
            d.supplements += 1
            if d.running:
                self.pause(d, at, "supplement")
        elif typ == "supplement_received":
            if d.paused == "supplement":
                self.resume(d, at)
        elif typ == "fee_requested":
            if d.proc.pause_on_fee and d.running:
                self.pause(d, at, "fee")
        elif typ == "fee_paid":
            if d.paused == "fee":
                self.resume(d, at)
        elif typ == "extended":
            d.cycle1_current = False
            self.new_cycle(d, at, ev["due"], self.cal.between(at, ev["due"]))
            if d.paused:
                d.extension_remaining = self.cal.between(at, ev["due"])
            self.schedule(d)
        elif typ == "transferred":
            if ev.get("unknown_department"):
                raise Invalid("unknown_department", f"unknown department {ev['department']!r}")
            if ev["department"] != d.department:
                d.department = ev["department"]
                d.step += 1
                d.step_budget = d.proc.steps.get(d.department)
                d.step_alerted = False
                if d.step_budget is not None:
                    if d.paused:
                        d.step_remaining = d.step_budget
                        d.step_due = None
                    else:
                        d.step_due = self.cal.add(at, d.step_budget)
                self.schedule(d)

    def feed(self, lines, now_ms):
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                ev = decode(line, self.cfg, now_ms, self.accept)
            except Invalid as e:
                self.invalid.append({"line": number, "reason": e.reason, "message": e.message})
                continue
            at = ev["at"]
            self.clock = at if self.clock is None else max(self.clock, at)
            # "Before an event is applied, every timer whose instant is strictly earlier than
            # the event's occurred_at fires": the event's own time, not the clock (they differ
            # only for an event older than the clock, e.g. from a lagging partition).
            self.fire_before(at)
            if "semantic" in ev:
                e = ev["semantic"]
                self.invalid.append({"line": number, "reason": e.reason, "message": e.message})
                continue
            self.counts["events"] += 1
            previous_line_at, self.last_line_at = self.last_line_at, at
            if ev.get("unknown"):
                self.counts["unknown"] += 1
                continue
            key = (ev["dossier_id"], ev["event_id"])
            if key in self.seen:
                self.counts["duplicates"] += 1
                continue
            try:
                self.apply(ev)
            except Invalid as e:                        # only with unknown-department-open-only
                self.invalid.append({"line": number, "reason": e.reason, "message": e.message})
                self.counts["events"] -= 1
                self.last_line_at = previous_line_at
                continue
            self.seen.add(key)

    def finish(self, now_ms):
        now = now_ms if now_ms is not None else self.clock
        if now_ms is None and "now-last-line" in self.accept:
            now = self.last_line_at                     # ontimed today: may be before the clock
        if now is None:
            now = 0
        if self.clock is None or now > self.clock:
            self.clock = now
        self.fire_before(now)
        return now

    # --- the report (contract section 5)

    def report(self, now):
        rows = []
        s = {"accepted": 0, "closed_on_time": 0, "closed_late": 0, "open": 0, "open_overdue": 0,
             "open_at_risk": 0, "apology_letters": 0}
        resolution = []
        for did in self.order:
            d = self.dossiers[did]
            working = d.working
            at_risk = overdue = False
            if d.running:
                working += self.cal.between(d.run_since, now)
                at_risk = self.cal.between(now, d.due) <= self.threshold(d)
            if d.open:
                overdue = now > d.original_due and not (d.paused and d.cycle1_current)
            rows.append({
                "dossier_id": d.id, "procedure": d.proc.code, "department": d.department,
                "state": d.state, "accepted_at": d.accepted_at,
                "original_due_at": d.original_due, "due_at": d.due, "closed_at": d.closed_at,
                "outcome": d.outcome, "at_risk": at_risk, "overdue": overdue,
                "paused": d.paused is not None and d.open, "cycle": d.cycle,
                "supplements": d.supplements, "apology_letters": d.letters,
                "working_ms": working, "step": d.step})
            s["accepted"] += 1
            s["apology_letters"] += d.letters
            if d.outcome == "on_time":
                s["closed_on_time"] += 1
            elif d.outcome == "late":
                s["closed_late"] += 1
            if d.outcome is not None:
                resolution.append(working)
            if d.open:
                s["open"] += 1
                s["open_overdue"] += overdue
                s["open_at_risk"] += at_risk
        closed = s["closed_on_time"] + s["closed_late"]
        s["on_time_rate"] = s["closed_on_time"] / closed if closed else 1.0
        s["avg_resolution_working_minutes"] = (sum(resolution) / len(resolution) / MINUTE
                                               if resolution else 0.0)
        s["invalid_events"] = len(self.invalid)
        return {"now": now, "dossiers": rows, "summary": s, "invalid": self.invalid}


_CALENDARS = {}


def load(config_path, ontimed=None):
    """(Config, Calendar) for a configuration file; the calendar (a pure function of the
    configuration) is kept for the next run on the same file in this process."""
    key = (os.path.abspath(config_path), os.path.getmtime(config_path), ontimed)
    if key not in _CALENDARS:
        cfg = Config(config_path)
        builtin = BinaryHolidays(ontimed, config_path) if cfg.builtin == "vn" else None
        _CALENDARS[key] = (cfg, Calendar(cfg, builtin))
    return _CALENDARS[key]


def run(config_path, events_path, now_text=None, ontimed=None, accept=()):
    """Returns (cfg, report with instants in ms, outputs with instants in ms)."""
    cfg, cal = load(config_path, ontimed)
    now_ms = None
    if now_text is not None:
        now_ms = parse_instant(now_text)
        if now_ms is None:
            raise SystemExit(f"--now {now_text!r} is not an RFC 3339 instant")
    engine = Engine(cfg, cal, accept)
    opener = sys.stdin if events_path == "-" else open(events_path, encoding="utf-8")
    with opener as f:
        engine.feed(f, now_ms)
    now = engine.finish(now_ms)
    return cfg, engine.report(now), engine.outputs


INSTANT_KEYS = ("now", "accepted_at", "original_due_at", "due_at", "closed_at", "detected_at",
                "new_due_at", "issued_at")


def to_json(obj, tz):
    """Instants (ms) -> RFC 3339 strings in the calendar's zone; working_ms -> working_seconds."""
    if isinstance(obj, list):
        return [to_json(x, tz) for x in obj]
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in INSTANT_KEYS and isinstance(v, int):
                out[k] = format_instant(v, tz)
            elif k == "working_ms":
                out["working_seconds"] = v / 1000
            elif k == "remaining_seconds":
                out[k] = v / 1000 if v % 1000 else v // 1000
            else:
                out[k] = to_json(v, tz)
        return out
    return obj


def selftest(config_path, ontimed, n=3000, seed=1):
    """between/add from the table against a plain walk over the days, at random instants."""
    import random
    cfg = Config(config_path)
    builtin = BinaryHolidays(ontimed, config_path) if cfg.builtin == "vn" else None
    cal = Calendar(cfg, builtin)
    rnd = random.Random(seed)
    base = parse_instant("2026-01-01T00:00:00Z")
    bad = 0
    for _ in range(n):
        a = base + rnd.randrange(0, 400 * 86400) * SECOND
        if rnd.random() < 0.5:                         # land on interval ends on purpose
            iv = cal.day_intervals((EPOCH + timedelta(milliseconds=a)).astimezone(cfg.tz).date())
            if iv:
                a = rnd.choice([x for pair in iv for x in pair])
        b = a + rnd.randrange(0, 20 * 86400) * SECOND
        d = rnd.choice([0, 1, MINUTE, HOUR, 4 * HOUR, cfg.day_ms, 3 * cfg.day_ms,
                        rnd.randrange(1, 10 * cfg.day_ms)])
        if cal.between(a, b) != cal.between_walk(a, b):
            bad += 1
            print("between", a, b, cal.between(a, b), cal.between_walk(a, b), file=sys.stderr)
        if cal.add(a, d) != cal.add_walk(a, d):
            bad += 1
            print("add", a, d, cal.add(a, d), cal.add_walk(a, d), file=sys.stderr)
    print(f"selftest: {n} between/add pairs, {bad} differences")
    return bad == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--events")
    ap.add_argument("--now")
    ap.add_argument("--report")
    ap.add_argument("--emit")
    ap.add_argument("--ontimed", help="the binary, for builtin_holidays (ontimed calendar)")
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--accept", action="append", default=[], choices=sorted(KNOWN_DISAGREEMENTS),
                    help="do what ontimed does today in a known disagreement")
    args = ap.parse_args()
    if args.selftest:
        sys.exit(0 if selftest(args.config, args.ontimed) else 1)
    if not args.events:
        ap.error("--events is required")
    cfg, report, outputs = run(args.config, args.events, args.now, args.ontimed, args.accept)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            json.dump(to_json(report, cfg.tz), f, ensure_ascii=False)
            f.write("\n")
    if args.emit:
        with open(args.emit, "w", encoding="utf-8") as f:
            for o in outputs:
                f.write(json.dumps(to_json(o, cfg.tz), ensure_ascii=False) + "\n")
    s = report["summary"]
    print(f"oracle: {len(report['dossiers'])} dossiers, {len(outputs)} outputs, "
          f"{len(report['invalid'])} invalid; closed on time {s['closed_on_time']}, "
          f"late {s['closed_late']}, open {s['open']} (at risk {s['open_at_risk']}, "
          f"overdue {s['open_overdue']}), letters {s['apology_letters']}", file=sys.stderr)


if __name__ == "__main__":
    main()
