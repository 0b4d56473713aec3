#!/usr/bin/env python3
"""e2e_alertmanager_tls: the daemon pushes to a real Alertmanager over https:// (a self-signed
certificate the test makes with the openssl CLI, given to the daemon as alertmanager.tls.ca_file),
and after a restart it re-sends the alerts still active, derived from its restored state.

Steps:
  - openssl makes a self-signed certificate for IP 127.0.0.1; prometheus-alertmanager serves
    TLS with it (--web.config.file, tls_server_config);
  - a dossier accepted with due_at 4 s ahead (24/7 calendar) goes overdue: its
    OntimeDossierOverdue alert (alert_id D:overdue:1) shows in Alertmanager's /api/v2/alerts,
    read over TLS with the same certificate as CA; no push failed;
  - the daemon stops (SIGTERM: the last transaction committed), the Alertmanager is replaced by a fresh one (empty
    storage: it knows no alert), the daemon starts again; with no new event and no timer due,
    the fresh Alertmanager receives the same alert (same labels) from the restored state;
  - a daemon trusting another CA cannot push (the failure counter moves, nothing arrives).
"""
import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.request

import harness as h

DOSSIER = "E2E-TLS-1"


def make_certificate(tmp):
    cert, key = os.path.join(tmp, "am.crt"), os.path.join(tmp, "am.key")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-days", "2", "-subj", "/CN=ontime-e2e-alertmanager",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    h.check(r.returncode == 0, f"openssl req failed: {r.stdout}")
    return cert, key


def start_alertmanager(am_bin, tmp, name, port, cert, key):
    web = os.path.join(tmp, f"{name}-web.yml")
    with open(web, "w", encoding="utf-8") as f:
        f.write(f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n")
    config = os.path.join(tmp, f"{name}.yml")
    with open(config, "w", encoding="utf-8") as f:
        f.write("route:\n  receiver: none\n  group_wait: 1s\n  group_interval: 1s\n"
                "receivers:\n  - name: none\n")
    data = os.path.join(tmp, f"{name}-data")
    os.makedirs(data)
    am = h.Process(name, [am_bin, f"--config.file={config}", f"--storage.path={data}",
                          f"--web.listen-address={h.LOCAL}:{port}", f"--web.config.file={web}",
                          "--cluster.listen-address=", "--log.level=info"],
                   os.path.join(tmp, f"{name}.log"))
    return am


def https_get(url, cafile):
    context = ssl.create_default_context(cafile=cafile)
    with urllib.request.urlopen(url, timeout=5, context=context) as r:
        return r.status, r.read().decode("utf-8", "replace")


def overdue_alerts(am_url, cafile):
    status, body = https_get(am_url + "/api/v2/alerts", cafile)
    if status != 200:
        return []
    return [a for a in json.loads(body)
            if a.get("labels", {}).get("dossier_id") == DOSSIER
            and a["labels"].get("alertname") == "OntimeDossierOverdue"]


def body(args, tmp):
    am_bin = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    h.check(am_bin, "prometheus-alertmanager not installed")
    h.check(shutil.which("openssl"), "openssl not installed")
    cert, key = make_certificate(tmp)
    broker = h.Broker(args.source, tmp)
    am = daemon = None
    try:
        am_port = h.free_port()
        am_url = f"https://{h.LOCAL}:{am_port}"
        am = start_alertmanager(am_bin, tmp, "alertmanager-1", am_port, cert, key)
        boot = broker.start()

        def am_ready():
            if not am.alive():
                h.fail(f"alertmanager exited:\n{am.tail()}")
            return https_get(am_url + "/-/ready", cert)[0] == 200
        h.wait_until("alertmanager /-/ready over TLS", am_ready, 60)

        port = h.free_port()
        sections = h.daemon_sections(boot, port, os.path.join(tmp, "state"), am_url)
        sections["alertmanager"]["tls"] = {"ca_file": cert}
        cfg = h.small_config(
            [{"code": "P-SXD", "name": "SXD procedure", "department": "SXD", "sla": "10h"}],
            **sections)
        daemon = h.start_daemon(args, tmp, cfg, port)
        daemon.wait_ready()
        daemon.wait_caught_up()

        now = time.time()
        h.produce(boot, "dossier.events", [h.event(
            "tls-1", "accepted", DOSSIER, now, procedure="P-SXD", department="SXD",
            due_at=h.iso(now + 4))])
        got = h.wait_until("the overdue alert in Alertmanager over TLS",
                           lambda: overdue_alerts(am_url, cert), 60, interval=0.3)
        labels = got[0]["labels"]
        h.log(f"alert in Alertmanager over TLS: {labels}")
        h.check(labels.get("alert_id") == f"{DOSSIER}:overdue:1", f"labels: {labels}")
        failed = h.metric_value(daemon.metrics(), "ontime_alertmanager_push_failures_total")
        h.check(not failed, f"ontime_alertmanager_push_failures_total = {failed}")

        # Restart both; the fresh Alertmanager knows nothing until the daemon re-sends.
        h.check(daemon.stop() == 0, f"the daemon did not stop cleanly:\n{daemon.tail()}")
        am.stop()
        am = start_alertmanager(am_bin, tmp, "alertmanager-2", am_port, cert, key)
        h.wait_until("the second alertmanager /-/ready", am_ready, 60)
        h.check(not overdue_alerts(am_url, cert), "a fresh Alertmanager already has the alert")
        t0 = time.monotonic()
        daemon = h.start_daemon(args, tmp, cfg, port, name="ontimed-restarted")
        daemon.wait_ready()
        again = h.wait_until("the overdue alert re-sent after the restart",
                             lambda: overdue_alerts(am_url, cert), 60, interval=0.3)
        h.log(f"re-sent {time.monotonic() - t0:.1f} s after the restart began")
        h.check(again[0]["labels"] == labels,
                f"re-sent with other labels: {again[0]['labels']} vs {labels}")
        h.check("alerts_resent" in daemon.log_text(), "no 'views seeded' line in the daemon log")
        daemon.stop()
        daemon = None

        # A daemon that trusts another CA: the handshake fails, counted.
        os.makedirs(os.path.join(tmp, "other"))
        other_cert, _ = make_certificate(os.path.join(tmp, "other"))
        sections2 = h.daemon_sections(boot, port, os.path.join(tmp, "state-2"), am_url,
                                      group="ontime-e2e-other")
        sections2["alertmanager"]["tls"] = {"ca_file": other_cert}
        cfg2 = h.small_config(
            [{"code": "P-SXD", "name": "SXD procedure", "department": "SXD", "sla": "10h"}],
            **sections2)
        daemon = h.start_daemon(args, tmp, cfg2, port, name="ontimed-other-ca")
        daemon.wait_ready()
        h.wait_until("a push failure with the wrong CA", lambda: (h.metric_value(
            daemon.metrics(), "ontime_alertmanager_push_failures_total") or 0) >= 1, 60)
    finally:
        if daemon is not None:
            daemon.stop()
        if am is not None:
            am.stop()
        broker.stop()


if __name__ == "__main__":
    h.main(__doc__.splitlines()[0], body)
