#!/usr/bin/env python3
"""e2e_alertmanager: a dossier that goes overdue reaches its department head through a real
Alertmanager running deploy/alertmanager/alertmanager.yml, and its resolution follows.

Set-up: a webhook receiver (http.server on 127.0.0.1) records which path got which notification;
deploy/alertmanager/alertmanager.yml is copied with every webhook URL pointed at it (the path
stays: /sxd, /stp, ..., /ops), email receivers dropped (no SMTP here), group_wait/group_interval
1s, and the office-hours mute removed (the overdue alert is critical and is delivered at any time
anyway; the at-risk warning would otherwise depend on the hour the test runs). The daemon runs
with alertmanager.url pointing at that Alertmanager.

Checks:
  - every webhook receiver of the generated file has send_resolved: true;
  - an SXD dossier accepted with due_at 6 s ahead (24/7 calendar) -> the overdue alert
    (OntimeDossierOverdue, severity critical, labels dossier_id/department/severity) arrives at
    /sxd and at no other receiver; the daemon also wrote it to dossier.sla.alerts with the SXD
    head in `notify`;
  - a `resolved` event for the dossier -> /sxd receives the same alert with status "resolved".
"""
import http.server
import json
import os
import re
import shutil
import threading
import time

import harness as h

DOSSIER = "E2E-AM-SXD-1"


class Receiver:
    """Records every webhook POST as (path, payload)."""

    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = {"unparsable": raw.decode("utf-8", "replace")}
                with outer.lock:
                    outer.calls.append((self.path, payload))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer((h.LOCAL, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def alerts(self):
        """[(path, notification status, alert)] for every alert of every notification."""
        with self.lock:
            calls = list(self.calls)
        return [(p, c.get("status"), a) for p, c in calls for a in c.get("alerts", [])]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def rewrite_alertmanager_config(text, webhook_port):
    # Every webhook receiver must send resolutions: check the generated file as shipped.
    hooks = re.findall(r'webhook_configs:\n\s+- url: "([^"]+)"\n\s+send_resolved: (\w+)', text)
    h.check(hooks, "no webhook_configs found in alertmanager.yml")
    lacking = [url for url, resolved in hooks if resolved != "true"]
    h.check(not lacking, f"webhook receivers without send_resolved: true: {lacking}")
    h.check(re.search(r'url: "http://[^/"]+/sxd"', text), "no /sxd webhook in alertmanager.yml")
    text = re.sub(r'url: "http://[^/"]+/', f'url: "http://{h.LOCAL}:{webhook_port}/', text)
    text = re.sub(r'\n\s+email_configs:\n\s+- to: "[^"]*"\n\s+send_resolved: true', "", text)
    text = re.sub(r"\n\s+active_time_intervals: \[office-hours\]", "", text)
    text = re.sub(r"group_wait: \S+", "group_wait: 1s", text)
    text = re.sub(r"group_interval: \S+", "group_interval: 1s", text)
    text = re.sub(r"repeat_interval: \S+", "repeat_interval: 1h", text)
    h.check("email_configs" not in text and "active_time_intervals" not in text,
            "could not rewrite the email receivers / office-hours mutes of alertmanager.yml")
    return text


def body(args, tmp):
    am_bin = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    h.check(am_bin, "prometheus-alertmanager not installed")
    receiver = Receiver()
    broker = h.Broker(args.source, tmp)
    am = daemon = None
    try:
        with open(os.path.join(args.source, "deploy", "alertmanager", "alertmanager.yml"),
                  encoding="utf-8") as f:
            am_config = rewrite_alertmanager_config(f.read(), receiver.port)
        am_path = os.path.join(tmp, "alertmanager.yml")
        with open(am_path, "w", encoding="utf-8") as f:
            f.write(am_config)
        am_port = h.free_port()
        os.makedirs(os.path.join(tmp, "am-data"))
        am = h.Process("alertmanager", [
            am_bin, f"--config.file={am_path}", f"--storage.path={tmp}/am-data",
            f"--web.listen-address={h.LOCAL}:{am_port}", "--cluster.listen-address=",
            "--log.level=info"], os.path.join(tmp, "alertmanager.log"))
        am_url = f"http://{h.LOCAL}:{am_port}"

        def am_ready():
            if not am.alive():
                h.fail(f"alertmanager exited:\n{am.tail()}")
            return h.http_get(am_url + "/-/ready")[0] == 200
        boot = broker.start()
        h.wait_until("alertmanager /-/ready", am_ready, 60)

        port = h.free_port()
        cfg = h.small_config(
            [{"code": "P-SXD", "name": "SXD procedure", "department": "SXD", "sla": "10h"},
             {"code": "P-STP", "name": "STP procedure", "department": "STP", "sla": "10h"}],
            **h.daemon_sections(boot, port, os.path.join(tmp, "state"), am_url))
        daemon = h.start_daemon(args, tmp, cfg, port)
        daemon.wait_ready()
        daemon.wait_caught_up()

        now = time.time()
        due = now + 6
        h.produce(boot, "dossier.events", [h.event(
            "am-1", "accepted", DOSSIER, now, procedure="P-SXD", department="SXD",
            due_at=h.iso(due))])

        def overdue(status):
            return [(p, s, a) for p, s, a in receiver.alerts()
                    if a.get("labels", {}).get("alertname") == "OntimeDossierOverdue"
                    and a.get("labels", {}).get("dossier_id") == DOSSIER
                    and a.get("status") == status]

        got = h.wait_until("the overdue alert at a webhook receiver", lambda: overdue("firing"),
                           60, interval=0.3)
        h.log(f"overdue alert delivered {time.time() - due:.1f} s after the due instant")
        path, _, alert = got[0]
        labels = alert["labels"]
        h.check(path == "/sxd", f"the SXD overdue alert went to {path}, not /sxd")
        h.check(labels.get("department") == "SXD", f"department label: {labels}")
        h.check(labels.get("severity") == "critical", f"severity label: {labels}")
        h.check(labels.get("dossier_id") == DOSSIER, f"dossier_id label: {labels}")
        others = sorted({p for p, _, _ in receiver.alerts() if p != "/sxd"})
        h.check(not others, f"receivers other than /sxd got alerts: {others}: "
                f"{[a for p, _, a in receiver.alerts() if p != '/sxd']}")

        # The same alert went to Kafka, addressed to the SXD head.
        def kafka_overdue():
            return [json.loads(v) for k, v in h.consume(boot, "dossier.sla.alerts")
                    if k == DOSSIER and json.loads(v).get("kind") == "overdue"]
        ka = h.wait_until("the overdue alert in dossier.sla.alerts", kafka_overdue, 30)[0]
        h.check(ka.get("notify", {}).get("email") == "head.sxd@example.gov.vn",
                f"overdue alert on Kafka not addressed to the SXD head: {ka}")

        # Resolution.
        h.produce(boot, "dossier.events", [h.event("am-2", "resolved", DOSSIER, time.time())])
        got = h.wait_until("the resolved notification of the overdue alert",
                           lambda: overdue("resolved"), 60, interval=0.3)
        path, status, alert = got[0]
        h.check(path == "/sxd", f"the resolution went to {path}, not /sxd")
        h.log(f"resolved notification at {path}: endsAt={alert.get('endsAt')}")
        others = sorted({p for p, _, _ in receiver.alerts() if p != "/sxd"})
        h.check(not others, f"receivers other than /sxd got alerts: {others}")
        pushes_failed = h.metric_value(daemon.metrics(), "ontime_alertmanager_push_failures_total")
        h.check(not pushes_failed, f"ontime_alertmanager_push_failures_total = {pushes_failed}")
    finally:
        if daemon is not None:
            daemon.stop()
        if am is not None:
            am.stop()
        broker.stop()
        receiver.stop()


if __name__ == "__main__":
    h.main(__doc__.splitlines()[0], body)
