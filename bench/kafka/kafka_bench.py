#!/usr/bin/env python3
"""End-to-end benchmarks of `ontimed run` through a real Kafka broker (deploy/kafka-dev), all on
this machine. Drives bench/kafka_bench (C++, librdkafka) and reuses tests/e2e/harness.py.

  python3 bench/kafka/kafka_bench.py --build BUILD [--keep]
      [--scenarios throughput,latency,restart,steady,failover,scale] [--events N] [--rate R]
      [--seconds S] [--trigger-every K] [--triggers resolved,wall] [--dossiers N]
      [--perf SECONDS] [--compare ONTIMED] [--session-timeout-ms MS]

Scenarios (one broker for all, each on its own topics):
  throughput  N generated events (ontimed generate, province.yaml) loaded into a fresh topic, then
              (a) the raw librdkafka consumer (kafka_bench consume) to partition EOF, (b) ontimed
              run from an empty state dir until "caught up with the input", (c) raw again.
              --compare ONTIMED: another build's ontimed too, before (b), on the same topic.
  latency     ontimed caught up, then kafka_bench latency once per --triggers mode
              (resolved,wall): accepted events paced at R/s, every K-th one breaching at once;
              p50/p99 of produce -> input readable (broker leg), input readable -> overdue alert
              (daemon leg) and produce -> overdue alert / apology letter (whole path).
  restart     N `accepted` dossiers (24/7 calendar, sla 1 year: all stay open) loaded; ontimed
              from nothing (empty changelog: every event read) -> SIGTERM -> restart with the
              local checkpoints removed, restoring every dossier from the whole changelog (and
              writing each partition's checkpoint) -> restart restoring from the checkpoints and
              the changelog's tail -> the same with the state dir deleted -> a fresh group (its
              own changelog: every event read again). Restore time, the loop's stall p99 and the
              memory per open dossier of each; rs_<tag>_mode says what each restore read.
  steady      the loop stall under a steady load with a large state: N `accepted` dossiers
              loaded, read once (the changelog written), SIGTERM, restarted restoring them all
              from the changelog; then kafka_bench latency at R events/s for S seconds (after 5 s
              of warm-up, every K-th event breaching at once: alerts and letters). The p99 and
              max of ontime_loop_stall_seconds over that window only (the difference of two
              /metrics snapshots), the windows over 10 ms, the daemon's CPU, the loop thread's
              CPU and its time waiting for a core; beside it a reference loop that only runs
              the same probe (what the machine's load alone does to a loop). --perf S: `perf
              record -g` of the daemon for S seconds of the window (perf.data kept); with
              throughput, `perf record --call-graph dwarf` of the daemon to caught up.
  failover    run twice, without standby replicas (fo_standby0_*) then with one
              (state.standby_replicas: 1, fo_standby1_*: the second keeps warm checkpoints of the
              first's partitions, waited for before the kill):
              two instances in one group over 6 partitions, N open dossiers (`accepted`, due
              far away) read by the first, the second joining (restoring its half from the
              changelog); then 600 dossiers due one every 100 ms from 15 s on, and the first
              killed (SIGKILL) 10 s into their dues. The time from the kill to the first overdue
              alert the second produces for a dossier of the first's partitions (its Kafka
              timestamp), and the second's log of the takeover (assigned, restored, seconds).
              The group's session timeout is --session-timeout-ms (6000: the broker's minimum).
  scale       the throughput scenario's events on 6 partitions, read by 1, 2 and 3 instances of
              a fresh group each, started together: the time until each has caught up, the
              aggregate events/s and each instance's RSS (on 2 cores, little gain expected).
Prints RESULT lines; benchmarks report and never fail on a slow figure.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zlib
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))
import harness as h  # noqa: E402


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def result(name, value):
    print(f"RESULT {name} {value}", flush=True)


def run_tool(argv, timeout=1800):
    h.log("$ " + " ".join(argv))
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        h.fail(f"{argv[0]} exited {r.returncode}: {r.stderr[-2000:]}")
    out = {}
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            _, k, v = line.split(" ", 2)
            out[k] = v
    return out


def topics(prefix):
    return {"events": f"{prefix}.events", "alerts": f"{prefix}.alerts",
            "letters": f"{prefix}.letters", "dead_letters": f"{prefix}.dlq"}


def sections(boot, port, state_dir, group, tp):
    s = h.daemon_sections(boot, port, state_dir, group=group)
    s["kafka"]["topics"] = tp
    return s


class Watch:
    """Polls a daemon log every 10 ms; notes when each pattern first shows up (monotonic)."""

    def __init__(self, daemon, t0):
        self.daemon, self.t0 = daemon, t0

    def until(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            for line in self.daemon.log_text().splitlines():
                if rx.search(line):
                    return time.monotonic() - self.t0, line
            if not self.daemon.alive():
                h.fail(f"ontimed exited:\n{self.daemon.tail()}")
            time.sleep(0.01)
        h.fail(f"timed out waiting for /{pattern}/ in the daemon log:\n{self.daemon.tail()}")


def field(line, name):
    m = re.search(rf'"?{name}"?\s*[=:]\s*"?([^",\s}}]+)', line)
    return m.group(1) if m else "?"


def run_daemon(args, tmp, cfg, name, timeout=1800, perf=None):
    """Starts ontimed, waits for assignment, every partition restored, caught up and ready;
    returns (daemon, times). perf: a path, to `perf record -g` the daemon from its start to
    caught up."""
    port = int(cfg_port(cfg))
    t0 = time.monotonic()
    d = h.start_daemon(args, tmp, cfg, port, name=name)
    recorder = None
    if perf:
        recorder = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999",
                                     "--call-graph", "dwarf,16384", "-o", perf, "-p",
                                     str(d.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    w = Watch(d, t0)
    t_assigned, _ = w.until(r"partitions assigned", timeout)
    t_caught, l_caught = w.until(r"caught up with the input", timeout)
    if recorder:
        recorder.send_signal(2)  # SIGINT: perf writes its file and exits
        recorder.communicate(timeout=300)
        h.log(f"perf data: {perf} (kept)")
        args.keep = True
    loop_run_s, loop_wait_s = schedstat(d.pid)
    commits = histogram_sum_count(port, "ontime_transaction_commit_seconds")
    t_ready, _ = w.until(r"\bready partitions=", timeout)
    cpu = cpu_seconds(d.pid)
    restored = [l for l in d.log_text().splitlines() if "partition restored" in l]
    dossiers_restored = sum(int(field(l, "dossiers") or 0) for l in restored)
    restore_s = max([float(field(l, "seconds") or 0) for l in restored] or [0.0])
    sources = {"checkpoint" if "from its checkpoint" in l else "changelog"
               for l in d.log_text().splitlines()
               if "from its checkpoint" in l or "checkpoint not used" in l}
    times = {"assigned_s": t_assigned, "caught_up_s": t_caught, "ready_s": t_ready,
             "caught_line": l_caught.strip(),
             "mode": ("+".join(sorted(sources)) or "changelog") if dossiers_restored > 0
             else "from-events",
             "restored_dossiers": dossiers_restored, "restore_log_s": restore_s,
             "caught_log_s": field(l_caught, "seconds"), "events": field(l_caught, "events"),
             "dossiers": field(l_caught, "dossiers"), "cpu_s": cpu,
             "loop_run_s": loop_run_s, "loop_wait_s": loop_wait_s,
             "commit_s_sum": commits[0], "commits": commits[1],
             "rss_bytes": rss_bytes(d.pid), "stall_p99_s": stall_p99(port)}
    return d, times


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def stall_buckets(port, name="ontime_loop_stall_seconds"):
    """A histogram (ontime_loop_stall_seconds) from /metrics: [(upper bound, cumulative count)],
    +Inf last."""
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    buckets = []
    for line in text.splitlines():
        m = re.match(name + r'_bucket\{le="([^"]+)"\} (\S+)', line)
        if m:
            buckets.append((float("inf") if m.group(1) == "+Inf" else float(m.group(1)),
                            float(m.group(2))))
    return buckets


def bucket_quantile(buckets, q):
    """The upper bound of the bucket the q-quantile falls in (nan when empty)."""
    if not buckets or buckets[-1][1] == 0:
        return float("nan")
    total = buckets[-1][1]
    for le, count in buckets:
        if count >= q * total:
            return le
    return float("inf")


def interpolated_quantile(buckets, q):
    """Prometheus' histogram_quantile: linear within the bucket."""
    if not buckets or buckets[-1][1] == 0:
        return float("nan")
    total = buckets[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return lower
            return lower + (le - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = le, count
    return lower


def histogram_sum_count(port, name):
    """(sum, count) of a histogram on /metrics (0, 0 when absent)."""
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    found = {}
    for line in text.splitlines():
        m = re.match(name + r"_(sum|count) (\S+)", line)
        if m:
            found[m.group(1)] = float(m.group(2))
    return found.get("sum", 0.0), found.get("count", 0.0)


def stall_p99(port):
    """p99 of ontime_loop_stall_seconds since start (the upper bound of its bucket)."""
    return bucket_quantile(stall_buckets(port), 0.99)


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def schedstat(pid):
    """The loop thread's (the main thread's) seconds on a CPU and waiting for one (runnable,
    not running), from /proc (schedstat)."""
    with open(f"/proc/{pid}/task/{pid}/schedstat") as f:
        run_ns, wait_ns, _ = f.read().split()
    return int(run_ns) / 1e9, int(wait_ns) / 1e9


def cfg_port(cfg):
    if isinstance(cfg, str):
        return re.search(r'"listen": "127\.0\.0\.1:(\d+)"', cfg).group(1)
    return cfg["http"]["listen"].rsplit(":", 1)[1]


def kb(args):
    return os.path.join(args.build, "bench", "kafka_bench")


# --- scenarios ---

def generated_events(args):
    """About --events generated province events (20,000 dossiers a working day from 2026-03-02),
    cached in BUILD/bench-data; returns the file's path."""
    per_day = 20000
    days = max(1, round(args.events / (per_day * 5.4)))
    data_dir = os.path.join(args.build, "bench-data")
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, f"kafka-events-{days}d-{per_day}.jsonl")
    if not os.path.exists(path):
        run_tool([args.ontimed, "generate", "--config",
                  os.path.join(SOURCE, "deploy", "examples", "province.yaml"), "--start",
                  "2026-03-02", "--days", str(days), "--per-day", str(per_day), "--out",
                  path + ".tmp"])
        os.replace(path + ".tmp", path)
    return path



def throughput(args, tmp, broker, boot):
    path = generated_events(args)
    tp = topics("tp")
    broker_create(broker, [f"{t}:3" for t in tp.values()])
    h.log(f"load average before load: {loadavg()}")
    run_tool([kb(args), "load", "--brokers", boot, "--topic", tp["events"], "--file", path])

    h.log(f"load average before raw: {loadavg()}")
    result("tp_loadavg_raw1", loadavg().replace(" ", "/"))
    raw1 = run_tool([kb(args), "consume", "--brokers", boot, "--topic", tp["events"],
                     "--group", "raw-1"])

    def daemon_run(name, group, ontimed, perf):
        port = h.free_port()
        cfg = h.province_config_text(SOURCE, sections(boot, port, os.path.join(tmp, name),
                                                      group, tp))
        run_args = argparse.Namespace(**vars(args))
        run_args.ontimed = ontimed
        d, t = run_daemon(run_args, tmp, cfg, name, perf=perf)
        try:
            h.log("caught up: " + t["caught_line"])
        finally:
            d.stop()
        if run_args.keep:
            args.keep = True
        return t

    before = None
    if args.compare:
        # Another build's ontimed on the same topic, between the same raw runs (its own group
        # and changelog): before and after side by side, under the same load.
        result("tp_before_loadavg_daemon", loadavg().replace(" ", "/"))
        before = daemon_run("tp-ontimed-before", "tp-daemon-before", args.compare, None)
    result("tp_loadavg_daemon", loadavg().replace(" ", "/"))
    t = daemon_run("tp-ontimed", "tp-daemon", args.ontimed,
                   os.path.join(tmp, "perf-throughput.data") if args.perf else None)
    result("tp_loadavg_raw2", loadavg().replace(" ", "/"))
    raw2 = run_tool([kb(args), "consume", "--brokers", boot, "--topic", tp["events"],
                     "--group", "raw-2"])

    n = int(raw1["raw_messages"])
    daemon_total = t["caught_up_s"]
    daemon_after_assign = t["caught_up_s"] - t["assigned_s"]
    raw_best = min(float(raw1["raw_seconds_from_start"]), float(raw2["raw_seconds_from_start"]))
    raw_best_first = min(float(raw1["raw_seconds_from_first_message"]),
                         float(raw2["raw_seconds_from_first_message"]))
    result("tp_events", n)
    result("tp_daemon_events_logged", t["events"])
    result("tp_daemon_seconds_to_caught_up", f"{daemon_total:.3f}")
    result("tp_daemon_seconds_to_assigned", f"{t['assigned_s']:.3f}")
    result("tp_daemon_seconds_assigned_to_caught_up", f"{daemon_after_assign:.3f}")
    result("tp_daemon_caught_up_log_seconds", t["caught_log_s"])
    result("tp_daemon_cpu_seconds_at_caught_up", f"{t['cpu_s']:.2f}")
    # The loop thread to caught up: on a core, runnable but waiting for one, and the rest (idle:
    # nothing to poll, or the input paused behind a commit).
    result("tp_loop_thread_cpu_seconds", f"{t['loop_run_s']:.2f}")
    result("tp_loop_thread_runqueue_wait_seconds", f"{t['loop_wait_s']:.2f}")
    result("tp_loop_thread_idle_seconds",
           f"{daemon_total - t['loop_run_s'] - t['loop_wait_s']:.2f}")
    result("tp_transactions_committed", f"{t['commits']:.0f}")
    result("tp_transaction_commit_mean_ms",
           f"{1000 * t['commit_s_sum'] / max(t['commits'], 1):.1f}")
    result("tp_daemon_events_per_s_total", f"{n / daemon_total:.0f}")
    result("tp_daemon_events_per_s_after_assign", f"{n / daemon_after_assign:.0f}")
    result("tp_raw_events_per_s_from_start_best", f"{n / raw_best:.0f}")
    result("tp_raw_events_per_s_from_first_best", f"{n / raw_best_first:.0f}")
    result("tp_ratio_total", f"{raw_best / daemon_total:.3f}")
    result("tp_daemon_loop_stall_p99_s", t["stall_p99_s"])
    result("tp_ratio_after_assign", f"{raw_best_first / daemon_after_assign:.3f}")
    if before:
        result("tp_before_ontimed", args.compare)
        result("tp_before_daemon_seconds_to_caught_up", f"{before['caught_up_s']:.3f}")
        result("tp_before_daemon_cpu_seconds_at_caught_up", f"{before['cpu_s']:.2f}")
        result("tp_before_loop_thread_cpu_seconds", f"{before['loop_run_s']:.2f}")
        result("tp_before_daemon_events_per_s_total", f"{n / before['caught_up_s']:.0f}")
        result("tp_before_ratio_total", f"{raw_best / before['caught_up_s']:.3f}")
        result("tp_before_ratio_after_assign",
               f"{raw_best_first / (before['caught_up_s'] - before['assigned_s']):.3f}")


def latency(args, tmp, broker, boot):
    tp = topics("lat")
    broker_create(broker, [f"{t}:3" for t in tp.values()])
    port = h.free_port()
    cfg = h.small_config(
        [{"code": "P-LONG", "name": "Long procedure", "department": "SXD", "sla": "2000h"}],
        **sections(boot, port, os.path.join(tmp, "lat-state"), "lat-daemon", tp))
    d, t = run_daemon(args, tmp, cfg, "lat-ontimed", timeout=120)
    try:
        for mode in args.triggers.split(","):
            result(f"lat_{mode}_loadavg_before", loadavg().replace(" ", "/"))
            before = stall_buckets(port, "ontime_output_delay_seconds")
            run_tool([kb(args), "latency", "--brokers", boot, "--topic", tp["events"],
                      "--alerts", tp["alerts"], "--letters", tp["letters"], "--rate",
                      str(args.rate), "--seconds", str(args.seconds), "--trigger-every",
                      str(args.trigger_every), "--trigger", mode,
                      "--run", f"{mode}{int(time.time())}"])
            result(f"lat_{mode}_loadavg_after", loadavg().replace(" ", "/"))
            # The daemon's own share: from the loop taking an event (or firing a timer) to each
            # output handed to the producer (ontime_output_delay_seconds over this run only).
            after = stall_buckets(port, "ontime_output_delay_seconds")
            window = [(le, a - b) for (le, a), (_, b) in zip(after, before)]
            result(f"lat_{mode}_output_delay_count", f"{window[-1][1]:.0f}" if window else 0)
            for q in (0.5, 0.99):
                result(f"lat_{mode}_output_delay_p{int(q * 100)}_bucket_s",
                       bucket_quantile(window, q))
                result(f"lat_{mode}_output_delay_p{int(q * 100)}_interpolated_s",
                       f"{interpolated_quantile(window, q):.5f}")
    finally:
        d.stop()


def load_accepted(args, tmp, boot, topic):
    """args.dossiers `accepted` events of P-LONG (due far away: they all stay open) onto `topic`,
    their occurred_at within the last two days."""
    path = os.path.join(tmp, "accepted.jsonl")
    if not os.path.exists(path):
        base = time.time() - 2 * 86400
        with open(path, "w") as f:
            for i in range(args.dossiers):
                t = base + i / 1000.0
                f.write('{"event_id":"R-%07d-a","type":"accepted","dossier_id":"R-%07d",'
                        '"occurred_at":"%s","procedure":"P-LONG","department":"SXD"}\n'
                        % (i, i, h.iso(t)))
    run_tool([kb(args), "load", "--brokers", boot, "--topic", topic, "--file", path])


def long_config(boot, tmp, state, group, tp):
    port = h.free_port()
    return h.small_config(
        [{"code": "P-LONG", "name": "Long procedure", "department": "SXD", "sla": "2000h"}],
        **sections(boot, port, os.path.join(tmp, state), group, tp))


def restart(args, tmp, broker, boot):
    tp = topics("rs")
    broker_create(broker, [f"{t}:3" for t in tp.values()])
    load_accepted(args, tmp, boot, tp["events"])

    def config(state, group):
        return long_config(boot, tmp, state, group, tp)

    def report(tag, t):
        result(f"rs_{tag}_mode", t["mode"])
        result(f"rs_{tag}_dossiers", t["dossiers"])
        result(f"rs_{tag}_restored_dossiers", t["restored_dossiers"])
        result(f"rs_{tag}_restore_log_seconds_max_partition", f"{t['restore_log_s']:.3f}")
        result(f"rs_{tag}_caught_up_log_seconds", t["caught_log_s"])
        result(f"rs_{tag}_seconds_to_assigned", f"{t['assigned_s']:.3f}")
        result(f"rs_{tag}_seconds_to_caught_up", f"{t['caught_up_s']:.3f}")
        result(f"rs_{tag}_seconds_to_ready", f"{t['ready_s']:.3f}")
        result(f"rs_{tag}_cpu_seconds_at_caught_up", f"{t['cpu_s']:.2f}")
        result(f"rs_{tag}_loop_stall_p99_s", t["stall_p99_s"])
        dossiers = int(t["dossiers"] or 0)
        if dossiers:
            result(f"rs_{tag}_rss_bytes_per_dossier", f"{t['rss_bytes'] / dossiers:.0f}")

    cfg1 = config("rs-state-1", "rs-group-1")
    result("rs_loadavg_first", loadavg().replace(" ", "/"))
    d, t = run_daemon(args, tmp, cfg1, "rs-ontimed-1")
    report("first", t)
    t0 = time.monotonic()
    rc = d.stop(timeout=300)
    result("rs_sigterm_to_exit_seconds", f"{time.monotonic() - t0:.3f}")
    result("rs_sigterm_exit_code", rc)

    # The whole changelog read (the checkpoints folder removed, the rest of the state dir kept),
    # then, side by side, the restart that reads the checkpoint that restore wrote and the tail.
    checkpoints = os.path.join(tmp, "rs-state-1", "checkpoints")
    shutil.rmtree(checkpoints, ignore_errors=True)
    result("rs_loadavg_changelog", loadavg().replace(" ", "/"))
    cfg1["http"]["listen"] = f"{h.LOCAL}:{h.free_port()}"
    d, t = run_daemon(args, tmp, cfg1, "rs-ontimed-1-restart")
    try:
        report("changelog", t)
        # Each restored partition's table is written as its checkpoint, on a worker, once loaded.
        w = Watch(d, time.monotonic())
        deadline = time.monotonic() + 600
        while d.log_text().count("checkpoint written") < 3 and time.monotonic() < deadline:
            w.until(r"checkpoint written", 600)
            time.sleep(0.2)
        result("rs_checkpoint_seconds_after_ready", f"{time.monotonic() - w.t0:.3f}")
        result("rs_checkpoint_bytes", sum(os.path.getsize(os.path.join(checkpoints, f))
                                          for f in os.listdir(checkpoints)))
    finally:
        d.stop(timeout=300)

    result("rs_loadavg_checkpoint", loadavg().replace(" ", "/"))
    cfg1["http"]["listen"] = f"{h.LOCAL}:{h.free_port()}"
    d, t = run_daemon(args, tmp, cfg1, "rs-ontimed-1-checkpoint")
    try:
        report("checkpoint", t)
    finally:
        d.stop(timeout=300)

    shutil.rmtree(os.path.join(tmp, "rs-state-1"), ignore_errors=True)
    result("rs_loadavg_changelog_no_state_dir", loadavg().replace(" ", "/"))
    cfg1["http"]["listen"] = f"{h.LOCAL}:{h.free_port()}"
    d, t = run_daemon(args, tmp, cfg1, "rs-ontimed-1-no-state-dir")
    try:
        report("changelog_no_state_dir", t)
    finally:
        d.stop(timeout=300)

    result("rs_loadavg_fresh_group", loadavg().replace(" ", "/"))
    d, t = run_daemon(args, tmp, config("rs-state-2", "rs-group-2"), "rs-ontimed-2")
    try:
        report("fresh_group", t)
    finally:
        d.stop(timeout=300)


# A loop doing nothing but the daemon's stall probe (a 5 ms timer; the longest lateness of each
# 100 ms), run beside the daemon during the window: what the machine alone does to a loop that
# has no work of its own (other processes holding the cores, the broker, the load generator).
REFERENCE_PROBE = r"""
import sys, time
end = time.monotonic() + float(sys.argv[1])
windows, worst, began = [], 0.0, time.monotonic()
deadline = began + 0.005
while deadline < end:
    time.sleep(max(0.0, deadline - time.monotonic()))
    now = time.monotonic()
    worst = max(worst, now - deadline)
    if now - began >= 0.1:
        windows.append(worst)
        worst, began = 0.0, now
    deadline = now + 0.005
print(" ".join(f"{w:.6f}" for w in windows))
"""


def window_quantile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def steady(args, tmp, broker, boot):
    tp = topics("st")
    broker_create(broker, [f"{t}:3" for t in tp.values()])
    load_accepted(args, tmp, boot, tp["events"])
    cfg = long_config(boot, tmp, "st-state", "st-group", tp)
    d, t = run_daemon(args, tmp, cfg, "st-ontimed-first")
    result("st_first_dossiers", t["dossiers"])
    d.stop(timeout=300)
    cfg["http"]["listen"] = f"{h.LOCAL}:{h.free_port()}"
    port = int(cfg_port(cfg))
    d, t = run_daemon(args, tmp, cfg, "st-ontimed")
    try:
        result("st_mode", t["mode"])
        result("st_restored_dossiers", t["restored_dossiers"])
        result("st_seconds_to_ready", f"{t['ready_s']:.3f}")
        time.sleep(3)  # the restore's table freed on its worker, the first commits settled
        warmup = 5.0
        result("st_loadavg_before", loadavg().replace(" ", "/"))
        argv = [kb(args), "latency", "--brokers", boot, "--topic", tp["events"],
                "--alerts", tp["alerts"], "--letters", tp["letters"], "--rate", str(args.rate),
                "--seconds", str(args.seconds), "--warmup", str(warmup),
                "--trigger-every", str(args.trigger_every), "--trigger", "wall",
                "--run", f"st{int(time.time())}"]
        h.log("$ " + " ".join(argv))
        producer = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        # kafka_bench latency waits 1 s for its consumer, then warms up: the window begins after.
        time.sleep(1.0 + warmup)
        before = stall_buckets(port)
        cpu0, t0, sched0 = cpu_seconds(d.pid), time.monotonic(), schedstat(d.pid)
        reference = subprocess.Popen([sys.executable, "-c", REFERENCE_PROBE, str(args.seconds)],
                                     stdout=subprocess.PIPE, text=True)
        perf = None
        if args.perf > 0:
            perf = subprocess.Popen(["perf", "record", "-g", "-o", os.path.join(tmp, "perf.data"),
                                     "-p", str(d.pid), "--", "sleep", str(args.perf)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(args.seconds)
        after = stall_buckets(port)
        cpu1, t1, sched1 = cpu_seconds(d.pid), time.monotonic(), schedstat(d.pid)
        result("st_loadavg_after", loadavg().replace(" ", "/"))
        idle_loop = [float(v) for v in reference.communicate(timeout=60)[0].split()]
        out, err = producer.communicate(timeout=120)
        sys.stdout.write(out)
        if producer.returncode != 0:
            h.fail(f"kafka_bench latency exited {producer.returncode}: {err[-2000:]}")
        if perf:
            perf.communicate(timeout=120)
            h.log(f"perf data: {os.path.join(tmp, 'perf.data')} (kept)")
            args.keep = True
        window = [(le, a - b) for (le, a), (_, b) in zip(after, before)]
        windows = window[-1][1] if window else 0
        over_10ms = windows - next((c for le, c in window if le >= 0.01), windows)
        nonempty = [le for (le, c), (_, prev) in zip(window, [(0, 0)] + window) if c > prev]
        result("st_window_seconds", f"{t1 - t0:.1f}")
        result("st_stall_windows", f"{windows:.0f}")
        result("st_stall_p50_bucket_s", bucket_quantile(window, 0.5))
        result("st_stall_p99_bucket_s", bucket_quantile(window, 0.99))
        result("st_stall_p99_interpolated_s", f"{interpolated_quantile(window, 0.99):.4f}")
        result("st_stall_max_bucket_s", nonempty[-1] if nonempty else float("nan"))
        result("st_stall_windows_over_10ms", f"{over_10ms:.0f}")
        result("st_stall_buckets", " ".join(f"{le:g}:{c:.0f}" for le, c in window))
        result("st_reference_windows", len(idle_loop))
        result("st_reference_stall_p50_s", f"{window_quantile(idle_loop, 0.5):.4f}")
        result("st_reference_stall_p99_s", f"{window_quantile(idle_loop, 0.99):.4f}")
        result("st_reference_stall_max_s", f"{max(idle_loop, default=float('nan')):.4f}")
        result("st_reference_windows_over_10ms", sum(1 for v in idle_loop if v > 0.01))
        result("st_daemon_cpu_share", f"{(cpu1 - cpu0) / (t1 - t0):.2f}")
        # The loop thread alone: its share of a core, and of the window spent runnable but
        # waiting for a core (what the stall probe also counts, and no code change removes).
        result("st_loop_thread_cpu_share", f"{(sched1[0] - sched0[0]) / (t1 - t0):.3f}")
        result("st_loop_thread_runqueue_wait_share", f"{(sched1[1] - sched0[1]) / (t1 - t0):.3f}")
        result("st_daemon_rss_bytes", rss_bytes(d.pid))
    finally:
        d.stop(timeout=300)


def scale(args, tmp, broker, boot):
    """1, 2 and 3 instances in a fresh group each, over the same generated events (6 partitions),
    started together: the time until every one has logged "caught up with the input", the
    aggregate events/s, each instance's RSS."""
    path = generated_events(args)
    tp = topics("sc")
    broker_create(broker, [f"{t}:6" for t in tp.values()])
    loaded = run_tool([kb(args), "load", "--brokers", boot, "--topic", tp["events"], "--file",
                       path])
    n = int(loaded["kafka_load_messages"])
    result("sc_events", n)
    for k in (1, 2, 3):
        result(f"sc_{k}_loadavg", loadavg().replace(" ", "/"))
        daemons = []
        t0 = time.monotonic()
        try:
            for i in range(k):
                port = h.free_port()
                sec = sections(boot, port, os.path.join(tmp, f"sc-{k}-{i}"), f"sc-group-{k}", tp)
                sec["kafka"]["instance_id"] = f"sc-{k}-{i}"
                cfg = h.province_config_text(SOURCE, sec)
                daemons.append(h.start_daemon(args, tmp, cfg, port, name=f"sc-ontimed-{k}-{i}"))
            ends = [Watch(d, t0).until(r"caught up with the input", 1800)[0] for d in daemons]
            rss = [rss_bytes(d.pid) for d in daemons]
            result(f"sc_{k}_seconds_all_caught_up", f"{max(ends):.3f}")
            result(f"sc_{k}_events_per_s_aggregate", f"{n / max(ends):.0f}")
            result(f"sc_{k}_rss_mb_each", "/".join(f"{r / 1e6:.0f}" for r in rss))
        finally:
            for d in daemons:
                d.stop(timeout=120)


def committed_alerts(boot, topic):
    """Every committed alert in `topic`: (alert JSON, Kafka timestamp in ms)."""
    r = subprocess.run(["kcat", "-b", boot, "-t", topic, "-C", "-o", "beginning", "-e", "-q",
                        "-J", "-X", "isolation.level=read_committed"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if r.returncode != 0:
        h.fail(f"kcat consume from {topic} failed: {r.stderr.decode()[-2000:]}")
    out = []
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        if line.strip():
            m = json.loads(line)
            out.append((json.loads(m["payload"]), m.get("ts", 0)))
    return out


def failover(args, tmp, broker, boot):
    """Without standby replicas, then with one (state.standby_replicas: 1), side by side."""
    result("fo_dossiers", args.dossiers)
    result("fo_session_timeout_ms", args.session_timeout_ms)
    for standby in (0, 1):
        failover_run(args, tmp, broker, boot, standby)


def failover_run(args, tmp, broker, boot, standby):
    fo = f"fo{standby}"
    tp = topics(fo)
    partitions = 6
    group = f"{fo}-group"
    broker_create(broker, [f"{t}:{partitions}" for t in tp.values()])
    load_accepted(args, tmp, boot, tp["events"])

    def config(name):
        cfg = long_config(boot, tmp, f"{fo}-state-{name}", group, tp)
        cfg["kafka"]["instance_id"] = name
        cfg["kafka"]["properties"] = {
            "session.timeout.ms": str(args.session_timeout_ms),
            "heartbeat.interval.ms": str(max(1000, args.session_timeout_ms // 6))}
        if standby:
            cfg["state"] = {"standby_replicas": standby}
        return cfg

    def result(name, value):  # fo_<what> -> fo_standby<N>_<what>
        globals()["result"](name.replace("fo_", f"fo_standby{standby}_", 1), value)

    result("fo_loadavg", loadavg().replace(" ", "/"))
    a, ta = run_daemon(args, tmp, config("fo-a"), f"{fo}-ontimed-a")
    b = None
    try:
        b, tb = run_daemon(args, tmp, config("fo-b"), f"{fo}-ontimed-b")
        result("fo_second_joined_restored_dossiers", tb["restored_dossiers"])
        result("fo_second_joined_seconds_to_ready", f"{tb['ready_s']:.3f}")

        def coverage(d):
            j = d.json("/api/v1/dossiers?limit=1")
            return set(j["partitions"]), set(j["restoring"])

        def split():
            (pa, ra), (pb, rb) = coverage(a), coverage(b)
            return (pa | pb == set(range(partitions)) and not (pa & pb) and not ra and not rb
                    and pa)
        h.wait_until("the two instances split the partitions", split, 120, interval=0.5)
        first_owns = coverage(a)[0]
        result("fo_first_partitions", ",".join(map(str, sorted(first_owns))))
        if standby:
            # The second's warm copies of the first's partitions: their checkpoints on its disk.
            folder = os.path.join(tmp, f"{fo}-state-fo-b", "checkpoints")
            t_split = time.time()

            def warm():
                return all(os.path.exists(f) and os.path.getmtime(f) > t_split for f in
                           (os.path.join(folder, f"{group}.dossier-state-{p}.ckpt")
                            for p in first_owns))
            h.wait_until("the second's standby checkpoints of the first's partitions", warm, 300,
                         interval=0.5)
            result("fo_standby_warm_seconds_after_split", f"{time.time() - t_split:.3f}")

        # 600 dossiers due one every 100 ms from 15 s on, over every partition.
        start = time.time() + 15
        due = {f"FO-{i:04d}": start + i * 0.1 for i in range(600)}
        now = time.time()
        h.produce(boot, tp["events"],
                  [(k, json.dumps({"event_id": k + "-a", "type": "accepted", "dossier_id": k,
                                   "occurred_at": h.iso(now), "procedure": "P-LONG",
                                   "department": "SXD", "due_at": h.iso(t)}))
                   for k, t in due.items()])

        def at_risk_all():
            kinds = [a_ for a_, _ in committed_alerts(boot, tp["alerts"])
                     if a_["dossier_id"].startswith("FO-") and a_["kind"] == "at_risk"]
            return len(kinds) >= len(due)
        h.wait_until("every FO dossier at risk (committed)", at_risk_all, 60, interval=0.5)
        kill_at = start + 10
        if time.time() > kill_at:
            h.fail("too slow: the kill would come after the dues it should precede")
        time.sleep(kill_at - time.time())
        t_kill = time.time()
        a.signal(signal.SIGKILL)
        a.wait(10)
        result("fo_loadavg_at_kill", loadavg().replace(" ", "/"))

        def moved(dossier):
            return zlib.crc32(dossier.encode()) % partitions in first_owns

        first = {}

        def took_over():
            for alert, ts in committed_alerts(boot, tp["alerts"]):
                if (alert["kind"] == "overdue" and alert["dossier_id"] in due
                        and moved(alert["dossier_id"]) and ts / 1000.0 > t_kill):
                    if not first or ts < first["ts"]:
                        first.update(ts=ts, alert=alert)
            return bool(first)
        h.wait_until("an overdue alert of the first's partitions from the second", took_over,
                     180, interval=0.2)
        result("fo_kill_to_first_alert_of_moved_partition_s",
               f"{first['ts'] / 1000.0 - t_kill:.3f}")
        result("fo_first_alert_detected_equals_due",
               first["alert"]["detected_at"] == first["alert"]["due_at"])
        restored = [l for l in b.log_text().splitlines() if "partition restored" in l]
        result("fo_second_restore_seconds_last", field(restored[-1], "seconds"))
        result("fo_second_restore_dossiers_last", field(restored[-1], "dossiers"))
        took = [l for l in b.log_text().splitlines()
                if "from its checkpoint" in l or "checkpoint not used" in l]
        result("fo_second_takeover_read", "checkpoint" if took and "from its checkpoint" in took[-1]
               else "changelog")
        # Every moved dossier's overdue alert exactly once, whatever instance fired it.
        h.wait_until("every FO overdue alert", lambda: sum(
            1 for al, _ in committed_alerts(boot, tp["alerts"])
            if al["kind"] == "overdue" and al["dossier_id"] in due) >= len(due), 120,
            interval=1)
        ids = [al["alert_id"] for al, _ in committed_alerts(boot, tp["alerts"])
               if al["dossier_id"] in due]
        result("fo_alert_ids_duplicated", len(ids) - len(set(ids)))
    finally:
        if b:
            b.stop(timeout=120)
        if a.alive():
            a.stop(timeout=120)


def broker_create(broker, specs):
    r = subprocess.run(["bash", broker.script, "create-topics", broker.dir, *specs],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180)
    if r.returncode != 0:
        h.fail(f"create-topics failed: {r.stderr[-2000:]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--scenarios", default="throughput,latency,restart")
    ap.add_argument("--events", type=int, default=1500000)
    ap.add_argument("--rate", type=float, default=10000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--trigger-every", type=int, default=50)
    ap.add_argument("--dossiers", type=int, default=1000000)
    ap.add_argument("--triggers", default="resolved,wall", help="latency trigger modes")
    ap.add_argument("--compare", metavar="ONTIMED",
                    help="throughput: also run this ontimed binary (another build: before a "
                    "change) on the same topic, between the same raw runs")
    ap.add_argument("--session-timeout-ms", type=int, default=6000,
                    help="failover: the group's session.timeout.ms")
    ap.add_argument("--perf", type=float, default=0,
                    help="steady: perf record -g the daemon for this many seconds; "
                    "throughput: any value > 0 records the daemon from start to caught up")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    args.ontimed = os.path.join(args.build, "daemon", "ontimed")
    for exe in (args.ontimed, kb(args)):
        if not os.access(exe, os.X_OK):
            sys.exit(f"not built: {exe}")
    tmp = tempfile.mkdtemp(prefix="ontime-kbench-")
    result("machine_loadavg_start", loadavg().replace(" ", "/"))
    rc = 1
    broker = h.Broker(SOURCE, tmp)
    try:
        boot = broker.start(topics=())
        for s in args.scenarios.split(","):
            h.log(f"== {s} (load average {loadavg()})")
            {"throughput": throughput, "latency": latency, "restart": restart, "steady": steady,
             "failover": failover, "scale": scale}[s](args, tmp, broker, boot)
        rc = 0
    except h.TestFailure as e:
        h.log(f"FAIL: {e}")
    finally:
        broker.stop()
        if args.keep or rc:
            h.log(f"files kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
