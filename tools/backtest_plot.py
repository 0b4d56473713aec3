#!/usr/bin/python3
"""Plots `ontimed backtest --out-dir DIR`'s backtest.json as a PNG with matplotlib (Debian's
python3-matplotlib): precision, recall and median lead time of predicted_late over the threshold
sweep (second part of the log: solid; first part: dashed) against the fixed at_risk alert (grey
horizontal lines, second part), the chosen threshold marked.

usage: tools/backtest_plot.py DIR/backtest.json OUT.png [--title TEXT]
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def series(result, part, key):
    values = []
    for sweep in result["predicted_late"]:
        overall = sweep["scores"][part].get("overall", {})
        values.append(overall.get(key))
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json")
    parser.add_argument("png")
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    with open(args.json, encoding="utf-8") as f:
        result = json.load(f)
    thresholds = [s["threshold"] for s in result["predicted_late"]]
    at_risk = result["at_risk"]["second"].get("overall", {})
    chosen = result.get("chosen_threshold")

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    panels = [("precision", "precision", 100), ("recall", "recall", 100),
              ("median_lead_days", "median lead (days)", 1)]
    for ax, (key, label, scale) in zip(axes, panels):
        for part, style, name in (("second", "-", "second part"), ("first", "--", "first part")):
            ys = [None if v is None else v * scale for v in series(result, part, key)]
            ax.plot(thresholds, [float("nan") if y is None else y for y in ys], style,
                    marker="o", label=f"predicted_late, {name}")
        if at_risk.get(key) is not None:
            ax.axhline(at_risk[key] * scale, color="grey", label="at_risk, second part")
        if chosen is not None:
            ax.axvline(chosen, color="black", linestyle=":", linewidth=1,
                       label=f"chosen ({chosen:.2f})")
        ax.set_xlabel("predict.threshold")
        ax.set_ylabel(label + (" %" if scale == 100 else ""))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="best")
    fig.suptitle(args.title or f"ontimed backtest ({result['events']} events)")
    fig.tight_layout()
    fig.savefig(args.png, dpi=90)


if __name__ == "__main__":
    main()
