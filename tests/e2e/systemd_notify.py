#!/usr/bin/env python3
"""e2e_systemd_notify: ontimed speaks the sd_notify protocol as systemd (Type=notify-reload,
WatchdogSec) expects.

The test owns a unix datagram socket and runs `ontimed run` with NOTIFY_SOCKET pointing at it and
WATCHDOG_USEC=2000000 (WATCHDOG_PID unset: sd_watchdog_enabled then accepts any pid). It asserts:
  STATUS= messages before READY=1; READY=1 once the daemon has its partitions (/readyz 200);
  WATCHDOG=1 at least twice within ~3 s (the daemon pings every WATCHDOG_USEC/2);
  SIGHUP -> RELOADING=1 with MONOTONIC_USEC=<a plausible CLOCK_MONOTONIC value>, then READY=1;
  SIGTERM -> STOPPING=1 and exit code 0.
"""
import os
import signal
import socket
import threading
import time

import harness as h


class NotifySocket:
    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []  # (monotonic time, text)
        self.lock = threading.Lock()
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.messages.append((time.monotonic(), data.decode("utf-8", "replace")))

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def close(self):
        self.stopped = True
        self.thread.join(2)
        self.sock.close()


def has(msg, field):
    return any(line == field or line.startswith(field) for line in msg.split("\n"))


def index_of(msgs, field, start=0):
    for i in range(start, len(msgs)):
        if has(msgs[i][1], field):
            return i
    return None


def body(args, tmp):
    broker = h.Broker(args.source, tmp)
    notify = NotifySocket(os.path.join(tmp, "notify.sock"))
    daemon = None
    try:
        boot = broker.start()
        port = h.free_port()
        cfg = h.small_config(
            [{"code": "P1", "name": "Test procedure", "department": "SXD", "sla": "10h"}],
            **h.daemon_sections(boot, port, os.path.join(tmp, "state")))
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = notify.path
        env["WATCHDOG_USEC"] = "2000000"
        env.pop("WATCHDOG_PID", None)
        daemon = h.start_daemon(args, tmp, cfg, port, env=env)
        daemon.wait_ready()

        # READY=1 arrives with the partition assignment, i.e. with /readyz.
        h.wait_until("READY=1 on the notify socket",
                     lambda: index_of(notify.snapshot(), "READY=1") is not None, 10)
        msgs = notify.snapshot()
        ready = index_of(msgs, "READY=1")
        statuses = [m for _, m in msgs[:ready] if has(m, "STATUS=")]
        h.check(statuses, f"no STATUS= message before READY=1: {msgs}")
        h.log(f"before READY=1: {[m for _, m in msgs[:ready]]}")

        # Watchdog: WATCHDOG_USEC/2 = 1 s, so >= 2 pings in a 3 s window.
        t0 = time.monotonic()
        h.wait_until(">= 2 WATCHDOG=1 within 3 s", lambda: len(
            [1 for t, m in notify.snapshot() if t >= t0 and has(m, "WATCHDOG=1")]) >= 2, 3.5,
            interval=0.1)
        pings = [t for t, m in notify.snapshot() if has(m, "WATCHDOG=1")]
        h.log(f"{len(pings)} WATCHDOG=1 so far, intervals "
              f"{[round(b - a, 2) for a, b in zip(pings, pings[1:])]}")

        # SIGHUP: RELOADING=1 + MONOTONIC_USEC, then READY=1.
        mark = len(notify.snapshot())
        before = time.monotonic()
        daemon.signal(signal.SIGHUP)
        h.wait_until("RELOADING=1 then READY=1 after SIGHUP", lambda: (
            (i := index_of(notify.snapshot(), "RELOADING=1", mark)) is not None
            and index_of(notify.snapshot(), "READY=1", i + 1) is not None), 15)
        after = time.monotonic()
        msgs = notify.snapshot()
        reloading = msgs[index_of(msgs, "RELOADING=1", mark)][1]
        h.check(has(reloading, "MONOTONIC_USEC="),
                f"RELOADING=1 without MONOTONIC_USEC= in the same message: {reloading!r}")
        usec = int([line for line in reloading.split("\n")
                    if line.startswith("MONOTONIC_USEC=")][0].split("=", 1)[1])
        # Python's monotonic clock is CLOCK_MONOTONIC on Linux: the same time base.
        h.check(before * 1e6 - 1e6 <= usec <= after * 1e6 + 1e6,
                f"MONOTONIC_USEC={usec} is not CLOCK_MONOTONIC now "
                f"({before * 1e6:.0f}..{after * 1e6:.0f})")
        h.check(daemon.alive(), "ontimed died on SIGHUP")
        h.log(f"reload: {[m for _, m in msgs[mark:]]}")

        # SIGTERM: STOPPING=1, exit 0.
        mark = len(notify.snapshot())
        daemon.signal(signal.SIGTERM)
        rc = daemon.wait(60)
        h.check(rc is not None, "ontimed did not exit within 60 s of SIGTERM")
        time.sleep(0.3)  # let the reader thread drain the socket
        msgs = notify.snapshot()
        h.check(index_of(msgs, "STOPPING=1", mark) is not None,
                f"no STOPPING=1 after SIGTERM: {[m for _, m in msgs[mark:]]}")
        h.check(rc == 0, f"ontimed exited with {rc} after SIGTERM:\n{daemon.tail()}")
        h.log(f"stop: {[m for _, m in msgs[mark:]]}, exit code {rc}")
    finally:
        if daemon is not None:
            daemon.stop()
        notify.close()
        broker.stop()


if __name__ == "__main__":
    h.main(__doc__.splitlines()[0], body)
