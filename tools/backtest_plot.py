#!/usr/bin/env python3
"""Plots `ontimed backtest --out-dir DIR`'s backtest.json as a PNG, with the standard library only
(zlib): precision and median lead time of predicted_late over the threshold sweep (second part of
the log: solid; first part: dotted) against the fixed at_risk alert (grey horizontal lines).

usage: tools/backtest_plot.py DIR/backtest.json OUT.png [--title TEXT]
"""
import json
import struct
import sys
import zlib

# A 3x5 pixel font: each glyph five rows of three bits.
FONT = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111",
    "3": "111001111001111", "4": "101101111001001", "5": "111100111001111",
    "6": "111100111101111", "7": "111001010010010", "8": "111101111101111",
    "9": "111101111001111", ".": "000000000000010", "%": "101001010100101",
    "-": "000000111000000", " ": "000000000000000", "_": "000000000000111",
    "/": "001001010100100", ":": "000010000010000", "@": "111101111100111",
    "A": "010101111101101", "B": "110101110101110", "C": "011100100100011",
    "D": "110101101101110", "E": "111100110100111", "F": "111100110100100",
    "G": "011100101101011", "H": "101101111101101", "I": "111010010010111",
    "K": "101101110101101", "L": "100100100100111", "M": "101111111101101",
    "N": "110101101101101", "O": "010101101101010", "P": "110101110100100",
    "R": "110101110101101", "S": "011100010001110", "T": "111010010010010",
    "U": "101101101101111", "V": "101101101101010", "W": "101101111111101",
    "Y": "101101010010010", "J": "001001001101010", "Q": "010101101110011",
    "X": "101101010101101", "Z": "111001010100111",
}

W, H = 900, 420
WHITE, BLACK, GREY, BLUE, ORANGE = (255, 255, 255), (0, 0, 0), (150, 150, 150), (31, 119, 180), (230, 120, 20)


class Canvas:
    def __init__(self, w, h):
        self.w, self.h = w, h
        self.px = [[WHITE] * w for _ in range(h)]

    def dot(self, x, y, c, size=1):
        for dy in range(size):
            for dx in range(size):
                xx, yy = int(x) + dx, int(y) + dy
                if 0 <= xx < self.w and 0 <= yy < self.h:
                    self.px[yy][xx] = c

    def line(self, x0, y0, x1, y1, c, width=2, dotted=False):
        n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        for i in range(n + 1):
            if dotted and (i // 4) % 2:
                continue
            t = i / n
            self.dot(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, c, width)

    def text(self, x, y, s, c=BLACK, scale=2):
        for ch in s.upper():
            glyph = FONT.get(ch, FONT[" "])
            for r in range(5):
                for col in range(3):
                    if glyph[r * 3 + col] == "1":
                        self.dot(x + col * scale, y + r * scale, c, scale)
            x += 4 * scale

    def png(self, path):
        raw = b"".join(b"\0" + bytes(v for p in row for v in p) for row in self.px)

        def chunk(kind, data):
            body = kind + data
            return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n")
            f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0)))
            f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
            f.write(chunk(b"IEND", b""))


def panel(cv, x0, y0, w, h, title, thresholds, first, second, base, ymax, fmt):
    cv.line(x0, y0 + h, x0 + w, y0 + h, BLACK, 1)
    cv.line(x0, y0, x0, y0 + h, BLACK, 1)
    cv.text(x0, y0 - 22, title)
    tmin, tmax = min(thresholds), max(thresholds)
    span = (tmax - tmin) or 1

    def px(t, v):
        return x0 + (t - tmin) / span * w, y0 + h - (v / ymax) * h if ymax else y0 + h

    for k in range(5):
        v = ymax * k / 4
        _, y = px(tmin, v)
        cv.line(x0 - 4, y, x0, y, BLACK, 1)
        cv.text(x0 - 58, y - 4, fmt(v))
    for t in thresholds:
        x, _ = px(t, 0)
        cv.line(x, y0 + h, x, y0 + h + 4, BLACK, 1)
        cv.text(x - 10, y0 + h + 8, "%.2f" % t)
    cv.text(x0 + w // 2 - 40, y0 + h + 26, "THRESHOLD")
    if base is not None:
        _, y = px(tmin, base)
        cv.line(x0, y, x0 + w, y, GREY, 2)
    for series, colour, dotted in ((first, ORANGE, True), (second, BLUE, False)):
        pts = [px(t, v) for t, v in zip(thresholds, series) if v is not None]
        for a, b in zip(pts, pts[1:]):
            cv.line(a[0], a[1], b[0], b[1], colour, 2, dotted)
        for p in pts:
            cv.dot(p[0] - 2, p[1] - 2, colour, 5)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 64
    title = argv[argv.index("--title") + 1] if "--title" in argv else ""
    r = json.load(open(argv[1]))
    sweep = r["predicted_late"]
    ts = [s["threshold"] for s in sweep]
    ov = lambda part: [s["scores"][part]["overall"] for s in sweep]
    base = r["at_risk"]["second"]["overall"]
    prec_first = [s["precision"] if s["alerted"] else None for s in ov("first")]
    prec_second = [s["precision"] if s["alerted"] else None for s in ov("second")]
    lead_first = [s["median_lead_days"] for s in ov("first")]
    lead_second = [s["median_lead_days"] for s in ov("second")]
    leads = [v for v in lead_first + lead_second + [base["median_lead_days"]] if v is not None]
    lead_max = max(leads + [1]) * 1.1
    cv = Canvas(W, H)
    if title:
        cv.text(20, 8, title)
    panel(cv, 90, 60, 320, 280, "PRECISION", ts, prec_first, prec_second, base["precision"], 1.0,
          lambda v: "%3d%%" % round(v * 100))
    panel(cv, 540, 60, 320, 280, "MEDIAN LEAD DAYS", ts, lead_first, lead_second,
          base["median_lead_days"], lead_max, lambda v: "%4.1f" % v)
    cv.text(90, H - 30, "BLUE: PREDICTED_LATE 2ND HALF  ORANGE DOTTED: 1ST HALF  GREY: AT_RISK 2ND HALF",
            scale=2)
    cv.png(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
