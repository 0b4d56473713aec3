#!/usr/bin/env python3
"""e2e_reload: SIGHUP reloads the configuration and recomputes open dossiers' deadlines; an
invalid configuration is rejected and changes nothing.

Against the dev broker, with a procedure P1 (sla 10h, SXD) on a 24/7 calendar:
  1. an `accepted` dossier -> GET /api/v1/dossiers/{id}: due_at = accepted_at + 10h;
  2. config rewritten with sla 20h, SIGHUP -> due_at = accepted_at + 20h, the log says
     "configuration reloaded ... recomputed=1", ontime_deadline_recomputations_total >= 1,
     ontime_reloads_total{result="success"} = 1;
  3. config rewritten with `sla: 15x`, SIGHUP -> the daemon stays up (/healthz, /readyz 200), the log
     says "reload rejected", ontime_reloads_total{result="failure"} = 1, due_at unchanged.
"""
import json
import os
import signal
import time

import harness as h

HOUR = 3600.0


def body(args, tmp):
    broker = h.Broker(args.source, tmp)
    daemon = None
    try:
        boot = broker.start()
        port = h.free_port()
        sections = h.daemon_sections(boot, port, os.path.join(tmp, "state"))

        def config(sla):
            return h.small_config(
                [{"code": "P1", "name": "Test procedure", "department": "SXD", "sla": sla}],
                **sections)

        daemon = h.start_daemon(args, tmp, config("10h"), port)
        daemon.wait_ready()
        daemon.wait_caught_up()

        accepted = time.time() - 60
        dossier = "E2E-RELOAD-1"
        h.produce(boot, "dossier.events", [h.event("ev-1", "accepted", dossier, accepted,
                                                   procedure="P1", department="SXD")])

        def dossier_view():
            status, text = daemon.get(f"/api/v1/dossiers/{dossier}")
            return json.loads(text)["dossier"] if status == 200 else None

        d = h.wait_until("the dossier in /api/v1/dossiers/{id}", dossier_view, 30)
        acc = h.parse_iso(d["accepted_at"])
        h.check(abs(acc - round(accepted, 3)) < 0.002,
                f"accepted_at {d['accepted_at']} != the event's {h.iso(accepted)}")
        due = h.parse_iso(d["due_at"])
        h.check(abs(due - acc - 10 * HOUR) < 0.002,
                f"due_at {d['due_at']} is not accepted_at {d['accepted_at']} + 10h")
        h.log(f"sla 10h: accepted_at={d['accepted_at']} due_at={d['due_at']}")

        # --- a valid change: sla 20h ---
        h.write_config(daemon.config_path, config("20h"))
        daemon.signal(signal.SIGHUP)
        d = h.wait_until("due_at = accepted_at + 20h after SIGHUP", lambda: (
            (v := dossier_view()) and abs(h.parse_iso(v["due_at"]) - acc - 20 * HOUR) < 0.002
            and v), 20)
        h.log(f"sla 20h: due_at={d['due_at']}")
        reloaded = [line for line in daemon.log_text().splitlines()
                    if "configuration reloaded" in line]
        h.check(reloaded, f"no 'configuration reloaded' log line:\n{daemon.tail()}")
        h.check("recomputed=1" in reloaded[-1],
                f"the reload log line does not mention 1 recomputation: {reloaded[-1]}")
        m = daemon.metrics()
        recomputations = h.metric_value(m, "ontime_deadline_recomputations_total")
        h.check(recomputations is not None and recomputations >= 1,
                f"ontime_deadline_recomputations_total = {recomputations}, expected >= 1")
        ok = h.metric_value(m, "ontime_reloads_total", result="success")
        h.check(ok == 1, f'ontime_reloads_total{{result="success"}} = {ok}, expected 1')

        # --- an invalid change: sla 15x ---
        failed_before = h.metric_value(m, "ontime_reloads_total", result="failure")
        h.check(failed_before == 0,
                f'ontime_reloads_total{{result="failure"}} = {failed_before} before, expected 0')
        with open(daemon.config_path, encoding="utf-8") as f:
            text = f.read()
        with open(daemon.config_path + ".tmp", "w", encoding="utf-8") as f:
            f.write(text.replace('"sla": "20h"', '"sla": "15x"'))
        os.replace(daemon.config_path + ".tmp", daemon.config_path)
        daemon.signal(signal.SIGHUP)
        h.wait_until('ontime_reloads_total{result="failure"} = 1', lambda: h.metric_value(
            daemon.metrics(), "ontime_reloads_total", result="failure") == 1, 20)
        h.check("reload rejected" in daemon.log_text(),
                f"no 'reload rejected' log line:\n{daemon.tail()}")
        h.check(daemon.alive(), f"ontimed died on an invalid reload:\n{daemon.tail()}")
        h.check(daemon.get("/healthz")[0] == 200, "/healthz not 200 after the invalid reload")
        h.check(daemon.get("/readyz")[0] == 200, "/readyz not 200 after the invalid reload")
        v = dossier_view()
        h.check(v["due_at"] == d["due_at"],
                f"due_at changed by a rejected reload: {d['due_at']} -> {v['due_at']}")
        m = daemon.metrics()
        h.check(h.metric_value(m, "ontime_reloads_total", result="success") == 1,
                "the invalid reload counted as a success")
        rc = daemon.stop()
        h.check(rc == 0, f"ontimed exited with {rc} on SIGTERM:\n{daemon.tail()}")
    finally:
        if daemon is not None:
            daemon.stop()
        broker.stop()


if __name__ == "__main__":
    h.main(__doc__.splitlines()[0], body)
