#!/usr/bin/env python3
"""Whole-process memory per open dossier of `ontimed replay` (issue 12's memory goal, measured as
the issue states it): peak RSS of `ontimed replay --config deploy/examples/province.yaml --events
FILE` over N accepted dossiers that stay open (ids O00000001.., one `accepted` event each),
minus the peak RSS of a one-dossier replay, divided by N. Without an applicant (goal <= 200 B,
stretch 128) and with a typical one (name, address, phone, and an e-mail for 30%, drawn as
memory_bench draws them; goal <= 300 B).

  python3 bench/replay_memory.py --build BUILD [--dossiers N] [--repeat R] [--ontimed PATH]

The inputs are generated once into BUILD/bench-data/ (open-N.jsonl is scaling.py's file).
Reports; never fails on a large number.
"""
import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scaling  # noqa: E402  (write_open, replay: the same files and the same measurement)

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Thanh", "Ngọc", "Quang", "Hữu"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hạnh", "Hùng", "Lan", "Linh", "Mai", "Nam",
         "Phương", "Quân", "Sơn", "Thảo", "Trang"]
STREETS = ["Lê Duẩn", "Nguyễn Tất Thành", "Phan Bội Châu", "Hai Bà Trưng", "Y Jút",
           "Trần Hưng Đạo", "Lý Thường Kiệt", "Ngô Quyền"]
WARDS = ["phường Tân Lợi", "phường Thành Công", "phường Ea Tam", "xã Hòa Thắng", "phường Tự An",
         "xã Cư Êbur"]


def write_open_with_applicant(path, n):
    """As scaling.write_open, each `accepted` with an applicant object."""
    rng = random.Random(12)

    def applicant():
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        address = (f"Số {1 + rng.randrange(250)} đường {rng.choice(STREETS)}, "
                   f"{rng.choice(WARDS)}, tỉnh Đắk Lắk")
        phone = f"09{10_000_000 + rng.randrange(90_000_000)}"
        email = (f',"email":"congdan{rng.randrange(1_000_000)}@gmail.com"'
                 if rng.random() < 0.3 else "")
        return f'{{"name":"{name}","address":"{address}","phone":"{phone}"{email}}}'

    scaling.write_open(path, n, applicant)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--dossiers", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1, help="runs per file (the least peak RSS)")
    ap.add_argument("--ontimed", help="another ontimed binary (an earlier build, to compare)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    ontimed = args.ontimed or os.path.join(build, "daemon", "ontimed")
    if not os.access(ontimed, os.X_OK):
        sys.exit(f"not built: {ontimed}")
    data_dir = os.path.join(build, "bench-data")
    os.makedirs(data_dir, exist_ok=True)
    n = args.dossiers
    files = {"one": os.path.join(data_dir, "open-1.jsonl"),
             "without": os.path.join(data_dir, f"open-{n}.jsonl"),
             "with": os.path.join(data_dir, f"open-applicant-{n}.jsonl")}
    if not os.path.exists(files["one"]):
        scaling.write_open(files["one"], 1)
    if not os.path.exists(files["without"]):
        scaling.write_open(files["without"], n)
    if not os.path.exists(files["with"]):
        write_open_with_applicant(files["with"], n)

    print(f"load average {scaling.loadavg()}")
    baseline = min(scaling.replay(ontimed, files["one"])["peak_rss_bytes"] for _ in range(3))
    print(f"one-dossier baseline: peak RSS {baseline / 2**20:.1f} MiB")
    for mode, goal in (("without", 200), ("with", 300)):
        runs = [scaling.replay(ontimed, files[mode]) for _ in range(args.repeat)]
        run = min(runs, key=lambda r: r["peak_rss_bytes"])
        per = (run["peak_rss_bytes"] - baseline) / run["open"]
        size = os.path.getsize(files[mode])
        print(f"{mode} applicant: {run['open']:,} open dossiers, input {size / 2**20:.0f} MiB "
              f"({size / n:.0f} B a dossier), peak RSS {run['peak_rss_bytes'] / 2**20:.1f} MiB, "
              f"{per:.1f} B per open dossier (goal <= {goal}), {run['lines'] / run['cpu_s']:,.0f} "
              f"events/s CPU")
        print(f"RESULT replay_rss_{mode}_applicant_bytes_per_dossier {per:.1f}")
    print(f"load average {scaling.loadavg()}")


if __name__ == "__main__":
    main()
