#!/usr/bin/env python3
"""browser_board_and_letter: the board, a dossier page and an apology letter in a real browser.

A real broker and the real daemon (24/7 calendar, a bearer token, `predict:` with min_history 3);
events for a few dossiers: two go overdue (each gets an apology letter), two are at risk from
the start, one closes on time and one late; three of a 10-hour procedure took 30 hours, and once
the daemon has them one more of it is accepted and predicted late. Then Debian's chromium,
headless:
  - loads the board (`/?token=...`: the page sets the cookie its JavaScript then polls with),
    lets the JavaScript run (--virtual-time-budget), and the numbers and rows it shows equal
    GET /api/v1/board's: province tiles (predicted late too, shown), every department row with
    its predicted-late column (UBND: 1), the at-risk/overdue rows in due order with a countdown
    close to the API's remaining working time; a screenshot is saved;
  - loads the overdue dossier's page: it links to its letter; the predicted dossier's page shows
    the P(late) and expected close of its predicted_late alert as the API's timeline has them;
  - loads the letter: addressee, address, phone, dossier id, letter number, Vietnamese dates;
  - prints the letter to PDF: the file exists and has exactly one A4 page.
Without the token the API answers 401. Artifacts: BUILD/browser-artifacts/.
"""
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness as h  # noqa: E402

TOKEN = "browser-test-token-7f3a"
VN = timezone(timedelta(hours=7))


class Dom(html.parser.HTMLParser):
    """Text by element id, and the rows (list of cell texts, plus data-* of the row) of tables."""

    def __init__(self):
        super().__init__()
        self.by_id, self.tables, self.links, self.body = {}, {}, [], {}
        self.attrs = {}  # attributes by element id
        self._open_ids, self._table, self._row, self._cell = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = {k[5:]: v for k, v in a.items() if k.startswith("data-")}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = {"cells": [], "data": {k[5:]: v for k, v in a.items()
                                               if k.startswith("data-")}}
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        if a.get("id"):
            self.attrs[a["id"]] = a
            self._open_ids.append([a["id"], tag, ""])
            self.by_id[a["id"]] = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row["cells"].append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row["cells"] and self._row["data"]:
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        if self._open_ids and self._open_ids[-1][1] == tag:
            ident, _, text = self._open_ids.pop()
            self.by_id[ident] = " ".join(text.split())

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        for entry in self._open_ids:
            entry[2] += data


def parse_dom(text):
    d = Dom()
    d.feed(text)
    return d


class Chromium:
    def __init__(self, tmp):
        self.binary = shutil.which("chromium") or shutil.which("chromium-browser")
        h.check(self.binary, "chromium is not installed (scripts/setup.sh installs it)")
        self.tmp, self.runs = tmp, 0

    def run(self, url, *flags, timeout=120):
        self.runs += 1
        profile = os.path.join(self.tmp, f"chromium-profile-{self.runs}")
        argv = [self.binary, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
                f"--user-data-dir={profile}", *flags, url]
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        h.check(r.returncode == 0, f"chromium {flags} {url}: rc {r.returncode}: "
                f"{r.stderr.decode('utf-8', 'replace')[-2000:]}")
        return r.stdout.decode("utf-8", "replace")

    def dom(self, url, budget_ms=3000):
        return self.run(url, f"--virtual-time-budget={budget_ms}", "--dump-dom")


def api(daemon, path, token=TOKEN):
    request = urllib.request.Request(daemon.base + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def pct(x):
    return "–" if x is None else f"{x * 100:.2f}%"


def minutes(x):
    return "–" if x is None else f"{x:.1f}"


def seconds_of(countdown):
    sign = -1 if countdown.startswith("-") else 1
    hours, mins, secs = countdown.lstrip("-").split(":")
    return sign * (int(hours) * 3600 + int(mins) * 60 + int(secs))


def vn_date(rfc3339, with_time=False):
    t = datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).astimezone(VN)
    month = f"{t.month:02d}" if t.month < 3 else str(t.month)
    date = f"ngày {t.day:02d} tháng {month} năm {t.year}"
    return f"{t.hour:02d} giờ {t.minute:02d}, {date}" if with_time else date


def check_board(dom, board):
    p = board["province"]
    shown = {k: dom.by_id.get(f"province-{k}") for k in
             ("rate", "closed", "handling", "reception", "open", "at-risk", "overdue", "paused",
              "predicted-late")}
    expected = {"rate": pct(p["on_time_rate"]),
                "closed": str(p["closed_on_time"] + p["closed_late"]),
                "handling": minutes(p["avg_handling_working_minutes"]),
                "reception": minutes(p["avg_reception_minutes"]),
                "open": str(p["open"]), "at-risk": str(p["at_risk"]),
                "overdue": str(p["overdue"]), "paused": str(p["paused"]),
                "predicted-late": str(p["predicted_late"])}
    h.check(shown == expected, f"province tiles {shown} != API {expected}")
    # Prediction is on: the tile and the column are shown (hidden without `predict:`).
    h.check(board["prediction"] is True, f"the board's prediction is {board['prediction']}")
    for ident in ("province-predicted-late-tile", "predicted-late-head"):
        h.check(ident in dom.attrs and "hidden" not in dom.attrs[ident],
                f"#{ident} is missing or hidden: {dom.attrs.get(ident)}")
    h.check(dom.by_id.get("predicted-late-head") == "predicted late",
            f"column head {dom.by_id.get('predicted-late-head')!r}")
    rows = dom.tables.get("departments", [])
    h.check([r["data"]["code"] for r in rows] == [d["code"] for d in board["departments"]],
            f"department rows {[r['data'] for r in rows]}")
    for row, d in zip(rows, board["departments"]):
        want = [d["code"], d["name"], pct(d["on_time_rate"]), pct(d["on_time_target"]),
                minutes(d["avg_handling_working_minutes"]), minutes(d["avg_reception_minutes"]),
                str(d["open"]), str(d["at_risk"]), str(d["overdue"]), str(d["paused"]),
                str(d["predicted_late"])]
        h.check(row["cells"] == want, f"department row {row['cells']} != API {want}")
    rows = dom.tables.get("attention", [])
    listed = board["attention"]["dossiers"]
    h.check([r["data"]["dossier"] for r in rows] == [d["dossier_id"] for d in listed],
            f"attention rows {[r['data'] for r in rows]} != API {[d['dossier_id'] for d in listed]}")
    for row, d in zip(rows, listed):
        ident, procedure, department, state, cycle, due, countdown = row["cells"]
        h.check([ident, procedure, department, state, cycle, due] ==
                [d["dossier_id"], d["procedure"], d["department"], d["state"], str(d["cycle"]),
                 d["due_at"]], f"attention row {row['cells']} != API {d}")
        # The page counts down on its own clock; the API's figure is from a moment later.
        h.check(abs(seconds_of(countdown) - d["remaining_seconds"]) <= 60,
                f"countdown {countdown} far from remaining_seconds {d['remaining_seconds']}")
    h.check(dom.by_id.get("attention-total") == str(board["attention"]["total"]),
            f"attention total {dom.by_id.get('attention-total')}")


def pdf_pages(path):
    with open(path, "rb") as f:
        data = f.read()
    h.check(data.startswith(b"%PDF-"), f"{path} is not a PDF")
    pages = re.findall(rb"/Type\s*/Page(?!s)", data)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    return len(pages), [(float(w), float(hh)) for w, hh in boxes]


def body(args, tmp):
    artifacts = os.path.join(args.build, "browser-artifacts")
    os.makedirs(artifacts, exist_ok=True)
    chromium = Chromium(tmp)
    token_file = os.path.join(tmp, "token")
    with open(token_file, "w", encoding="utf-8") as f:
        f.write(TOKEN + "\n")
    broker = h.Broker(args.source, tmp)
    daemon = None
    try:
        boot = broker.start()
        port = h.free_port()
        sections = h.daemon_sections(boot, port, os.path.join(tmp, "state"))
        sections["http"]["token_file"] = token_file
        sections["letters"] = {"place": "Đà Nẵng", "parent_agency": "UBND thành phố Đà Nẵng",
                               "departments": {"SXD": {"agency": "Sở Xây dựng",
                                                       "number_prefix": "SXD-XL"}}}
        cfg = h.small_config([
            {"code": "P-SXD", "name": "Cấp giấy phép xây dựng", "department": "SXD",
             "sla": "10h"},
            {"code": "P-STP", "name": "Chứng thực bản sao", "department": "STP", "sla": "1h",
             "at_risk_remaining": "2h"},
            {"code": "P-UB", "name": "UBND procedure", "department": "UBND", "sla": "10h"},
            {"code": "P-PRED", "name": "UBND procedure with a late history",
             "department": "UBND", "sla": "10h"}],
            predict={"min_history": 3, "threshold": 0.7}, **sections)
        daemon = h.start_daemon(args, tmp, cfg, port)
        daemon.wait_ready()
        daemon.wait_caught_up()

        # The history first (three of P-PRED took 30 hours, late), so that B-PRED-1's partition
        # is not ahead of it.
        now = time.time()
        history = []
        for k in range(3):
            history += [h.event(f"h{k}a", "accepted", f"B-HIST-{k}", now - 30 * 3600,
                                procedure="P-PRED", department="UBND"),
                        h.event(f"h{k}r", "resolved", f"B-HIST-{k}", now - 60)]
        h.produce(boot, "dossier.events", history)
        daemon.wait_events(len(history), timeout=60)
        applicant = {"name": "Trần Văn <Bình>", "address": "45 Bạch Đằng, Hải Châu",
                     "phone": "0905 000 111", "email": ""}
        h.produce(boot, "dossier.events", [
            h.event("b1", "accepted", "B-OVER-1", now, procedure="P-SXD", department="SXD",
                    due_at=h.iso(now + 3), reception_seconds=240, applicant=applicant),
            h.event("b2", "accepted", "B-OVER-2", now, procedure="P-UB", department="UBND",
                    due_at=h.iso(now + 4), reception_seconds=360),
            h.event("b3", "accepted", "B-RISK-1", now, procedure="P-STP", department="STP"),
            h.event("b4", "accepted", "B-RISK-2", now + 1, procedure="P-STP", department="STP"),
            h.event("b5", "accepted", "B-OK-1", now - 600, procedure="P-SXD", department="SXD"),
            h.event("b6", "resolved", "B-OK-1", now),
            h.event("b7", "accepted", "B-LATE-1", now - 600, procedure="P-UB", department="UBND",
                    due_at=h.iso(now - 300)),
            h.event("b8", "resolved", "B-LATE-1", now),
            h.event("b9", "accepted", "B-PRED-1", now, procedure="P-PRED", department="UBND")])

        def settled():
            status, text = api(daemon, "/api/v1/board")
            if status != 200:
                return None
            b = json.loads(text)
            p = b["province"]
            ubnd = [d["predicted_late"] for d in b["departments"] if d["code"] == "UBND"]
            done = (p["overdue"], p["at_risk"], p["closed_late"], b["attention"]["total"],
                    p["predicted_late"], ubnd) == (2, 2, 4, 4, 1, [1])
            return b if done else None
        h.wait_until("the board API to list 2 overdue and 2 at-risk dossiers, 1 predicted late",
                     settled, 60)

        status, _ = api(daemon, "/api/v1/board", token=None)
        h.check(status == 401, f"/api/v1/board without the token: HTTP {status}")
        h.check(h.http_get(daemon.base + "/healthz")[0] == 200, "/healthz is not open")

        # The board, after its JavaScript ran and polled the API at least once (every 5 s; the
        # cookie set by ?token= carries the token).
        dom = parse_dom(chromium.dom(daemon.base + f"/?token={TOKEN}", budget_ms=8000))
        _, text = api(daemon, "/api/v1/board")
        board = json.loads(text)
        h.check(dom.body.get("loaded") == "true", f"the board's script did not run: {dom.body}")
        h.check(int(dom.body.get("polls", "0")) >= 1,
                f"the board's script never polled /api/v1/board: {dom.body}")
        check_board(dom, board)
        h.log(f"board in chromium = API: province {board['province']}, "
              f"{len(board['attention']['dossiers'])} rows")
        shot = os.path.join(artifacts, "board.png")
        chromium.run(daemon.base + f"/?token={TOKEN}", "--virtual-time-budget=3000",
                     "--window-size=1400,900", f"--screenshot={shot}")
        h.check(os.path.getsize(shot) > 10000, f"screenshot {shot} too small")
        h.log(f"screenshot: {shot}")

        # The dossier page links to its letter; the letter shows its key fields.
        letter_id = "B-OVER-1:apology:1"
        dossier = parse_dom(chromium.dom(daemon.base + f"/dossiers/B-OVER-1?token={TOKEN}"))
        link = "/letters/B-OVER-1%3Aapology%3A1"
        h.check(link in dossier.links, f"the dossier page does not link {link}: {dossier.links}")
        # The predicted dossier's page: its predicted_late alert's odds, as in the API.
        _, text = api(daemon, "/api/v1/dossiers/B-PRED-1")
        alerts = [e for e in json.loads(text)["timeline"] if e["type"] == "predicted_late"]
        h.check(len(alerts) == 1 and "probability" in alerts[0],
                f"B-PRED-1's timeline has no predicted_late alert with its odds: {text}")
        predicted = parse_dom(chromium.dom(daemon.base + f"/dossiers/B-PRED-1?token={TOKEN}", 500))
        shown = (predicted.by_id.get("predicted-probability"), predicted.by_id.get("predicted-close"))
        want = (f"{alerts[0]['probability'] * 100:.0f}%", alerts[0]["expected_close_at"])
        h.check(shown == want, f"B-PRED-1's page shows {shown}, the API {want}")
        h.log(f"B-PRED-1 predicted late: P(late) {want[0]}, expected close {want[1]}")
        letters = [json.loads(v) for k, v in h.consume(boot, "dossier.apology-letters")
                   if k == "B-OVER-1"]
        h.check(letters, "no letter for B-OVER-1 in dossier.apology-letters")
        event = letters[0]
        page = parse_dom(chromium.dom(daemon.base + link + f"?token={TOKEN}", 500))
        expected = {
            "addressee": "Kính gửi: Ông/Bà Trần Văn <Bình>",
            "address": "Địa chỉ: 45 Bạch Đằng, Hải Châu",
            "phone": "Số điện thoại: 0905 000 111",
            "dossier": "B-OVER-1",
            "number": "Số: B-OVER-1-1/SXD-XL",
            "agency": "Sở Xây dựng",
            "date": "Đà Nẵng, " + vn_date(event["issued_at"]),
            "new-due": vn_date(event["new_due_at"], with_time=True),
        }
        shown = {k: page.by_id.get(k) for k in expected}
        h.check(shown == expected, f"letter page {shown} != {expected}")
        h.check(event["letter_id"] == letter_id, f"letter id {event['letter_id']}")

        pdf = os.path.join(artifacts, "letter.pdf")
        chromium.run(daemon.base + link + f"?token={TOKEN}", "--no-pdf-header-footer",
                     f"--print-to-pdf={pdf}")
        pages, boxes = pdf_pages(pdf)
        h.check(pages == 1, f"{pdf} has {pages} pages, not 1")
        h.check(boxes and all(abs(w - 595.3) < 2 and abs(hh - 841.9) < 2 for w, hh in boxes),
                f"{pdf} pages are not A4: {boxes}")
        h.log(f"letter printed to {pdf}: 1 A4 page")
    finally:
        if daemon is not None:
            daemon.stop()
        broker.stop()


if __name__ == "__main__":
    h.main(__doc__.splitlines()[0], body)
