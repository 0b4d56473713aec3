"""Shared helpers for the ontime end-to-end tests (Python 3 standard library only).

Every server binds 127.0.0.1 on a free port, keeps its files in a temporary directory and is
stopped by the test that started it (use the objects as context managers, or call stop() in a
finally). Waiting is always poll-until-with-deadline.

Pieces:
  Broker            deploy/kafka-dev/kafka.sh in a temp dir (start, create-topics, stop)
  Daemon            `ontimed run --config FILE` as a child, stderr in a log file
  Process           any other child (prometheus, prometheus-alertmanager), with a log file
  write_config      a daemon configuration (JSON text, which YAML parsers accept)
  produce/consume   kcat
  http_get, metrics, wait_until, free_port, parse_args
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

LOCAL = "127.0.0.1"


class TestFailure(Exception):
    pass


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


def fail(message):
    raise TestFailure(message)


def check(cond, message):
    if not cond:
        fail(message)


def parse_args(description):
    ap = argparse.ArgumentParser(description=description)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--build", required=True, help="CMake binary dir (holds daemon/ontimed)")
    ap.add_argument("--source", default=os.path.dirname(os.path.dirname(here)))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    a.source = os.path.abspath(a.source)
    a.ontimed = os.path.join(a.build, "daemon", "ontimed")
    if not os.access(a.ontimed, os.X_OK):
        print(f"ontimed not built: {a.ontimed}", file=sys.stderr)
        sys.exit(1)
    return a


def main(description, body):
    """Runs body(args, tmpdir); exit 0 on success, 1 with a message on failure."""
    args = parse_args(description)
    tmp = tempfile.mkdtemp(prefix="ontime-e2e-")
    started = time.monotonic()
    rc = 1
    try:
        body(args, tmp)
        rc = 0
        log(f"PASS ({time.monotonic() - started:.1f} s)")
    except TestFailure as e:
        log(f"FAIL: {e}")
    except Exception:  # noqa: BLE001 - report anything with its traceback
        import traceback
        traceback.print_exc()
        log("FAIL: unexpected error")
    finally:
        if args.keep or rc != 0:
            log(f"files kept in {tmp}")
        if not args.keep and rc == 0:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(rc)


def free_port():
    with socket.socket() as s:
        s.bind((LOCAL, 0))
        return s.getsockname()[1]


def wait_until(what, fn, timeout, interval=0.2):
    """Calls fn() until it returns something truthy; returns it. Fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = fn()
            if value:
                return value
        except (OSError, ValueError, urllib.error.URLError) as e:
            last_error = e
        if time.monotonic() >= deadline:
            fail(f"timed out after {timeout} s waiting for {what}"
                 + (f" (last error: {last_error})" if last_error else ""))
        time.sleep(interval)


# --- HTTP ---

def http_get(url, timeout=5):
    """(status, body text); HTTP errors are returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def http_json(url, timeout=5):
    status, body = http_get(url, timeout)
    if status != 200:
        fail(f"GET {url}: HTTP {status}: {body[:500]}")
    return json.loads(body)


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text format -> list of (name, {labels}, value)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        labels = dict(_LABEL.findall(m.group(2) or ""))
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def metric_value(samples, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`; None when there is none."""
    total, found = 0.0, False
    for n, ls, v in samples:
        if n == name and all(ls.get(k) == val for k, val in labels.items()):
            total += v
            found = True
    return total if found else None


# --- child processes ---

class Process:
    """A child process with stdout+stderr in a log file; stop() sends SIGTERM, then SIGKILL."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "ab")
        log(f"starting {name}: {' '.join(argv)}")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, env=env, cwd=cwd)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def tail(self, n=30):
        return "\n".join(self.log_text().splitlines()[-n:])

    def signal(self, signo):
        if self.alive():
            self.proc.send_signal(signo)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=30):
        """SIGTERM, wait up to timeout, then SIGKILL. Returns the exit code."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            if self.wait(timeout) is None:
                log(f"{self.name} did not stop within {timeout} s: SIGKILL")
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# --- Kafka (deploy/kafka-dev) ---

class Broker:
    def __init__(self, source, tmp):
        self.script = os.path.join(source, "deploy", "kafka-dev", "kafka.sh")
        self.dir = os.path.join(tmp, "kafka")
        os.makedirs(self.dir, exist_ok=True)
        self.bootstrap = None

    def start(self, topics=()):
        t0 = time.monotonic()
        r = subprocess.run(["bash", self.script, "start", self.dir], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=180)
        if r.returncode != 0:
            fail(f"kafka.sh start failed (rc {r.returncode}): {r.stderr[-3000:]}")
        self.bootstrap = r.stdout.strip().splitlines()[-1]
        r = subprocess.run(["bash", self.script, "create-topics", self.dir, *topics],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180)
        if r.returncode != 0:
            fail(f"kafka.sh create-topics failed: {r.stderr[-3000:]}")
        log(f"kafka broker {self.bootstrap} ready with topics in {time.monotonic() - t0:.1f} s")
        return self.bootstrap

    def stop(self):
        subprocess.run(["bash", self.script, "stop", self.dir], timeout=120,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def produce(bootstrap, topic, records):
    """records: iterable of (key, value) strings. Uses kcat with a TAB key delimiter (JSON values
    never hold a raw TAB)."""
    data = "".join(f"{k}\t{v}\n" for k, v in records)
    r = subprocess.run(["kcat", "-b", bootstrap, "-t", topic, "-P", "-K", "\t", "-z", "none"],
                       input=data.encode("utf-8"), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if r.returncode != 0:
        fail(f"kcat produce to {topic} failed: {r.stderr.decode()[-2000:]}")


def consume(bootstrap, topic, timeout=30):
    """Every message now in `topic`: list of (key, value) (kcat -e stops at the end)."""
    r = subprocess.run(["kcat", "-b", bootstrap, "-t", topic, "-C", "-o", "beginning", "-e",
                        "-q", "-J"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    if r.returncode != 0:
        fail(f"kcat consume from {topic} failed: {r.stderr.decode()[-2000:]}")
    out = []
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        if line.strip():
            m = json.loads(line)
            out.append((m.get("key"), m.get("payload")))
    return out


# --- the daemon ---

# A calendar on which every minute counts: budgets elapse in real time during a test.
CALENDAR_24_7 = {
    "timezone": "Asia/Ho_Chi_Minh",
    "working_hours": {"mon-sun": ["00:00-24:00"]},
    "day_length": "24h",
}

DEPARTMENTS = [
    {"code": "SXD", "name": "Department of Construction",
     "head": {"name": "Head SXD", "title": "Director", "email": "head.sxd@example.gov.vn"}},
    {"code": "STP", "name": "Department of Justice",
     "head": {"name": "Head STP", "title": "Director", "email": "head.stp@example.gov.vn"}},
    {"code": "UBND", "name": "Provincial People's Committee",
     "head": {"name": "Head UBND", "title": "Chief", "email": "head.ubnd@example.gov.vn"}},
]


def daemon_sections(bootstrap, http_port, state_dir, alertmanager_url="", group="ontime-e2e"):
    return {
        "kafka": {"brokers": bootstrap, "group_id": group, "client_id": "ontimed-e2e"},
        "http": {"listen": f"{LOCAL}:{http_port}"},
        "alertmanager": {"url": alertmanager_url, "resend_interval": "1s", "timeout": "2s"},
        "log": {"level": "info"},
        "state_dir": state_dir,
    }


def small_config(procedures, **sections):
    """A purpose-made rules config on the 24/7 calendar, as a dict."""
    cfg = {
        "calendar": dict(CALENDAR_24_7),
        "defaults": {"at_risk_remaining": "1m", "apology_extension": "1h",
                     "on_supplement": "pause"},
        "departments": DEPARTMENTS,
        "procedures": procedures,
    }
    cfg.update(sections)
    return cfg


def write_config(path, config):
    """Writes a config dict as JSON (a subset of YAML the daemon's parser reads)."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def province_config_text(source, sections):
    """deploy/examples/province.yaml with its daemon sections (kafka: ... state_dir:) replaced."""
    with open(os.path.join(source, "deploy", "examples", "province.yaml"), encoding="utf-8") as f:
        text = f.read()
    cut = re.search(r"^kafka:", text, re.M)
    check(cut is not None, "province.yaml has no kafka: section to replace")
    rules = text[:cut.start()]
    tail = "".join(f"{k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in sections.items())
    return rules + tail


class Daemon(Process):
    def __init__(self, ontimed, config_path, log_path, http_port, env=None):
        super().__init__("ontimed", [ontimed, "run", "--config", config_path], log_path, env=env)
        self.config_path = config_path
        self.base = f"http://{LOCAL}:{http_port}"

    def get(self, path):
        return http_get(self.base + path)

    def json(self, path):
        return http_json(self.base + path)

    def metrics(self):
        status, body = self.get("/metrics")
        if status != 200:
            fail(f"/metrics: HTTP {status}")
        return parse_metrics(body)

    def wait_ready(self, timeout=90):
        t0 = time.monotonic()

        def ready():
            if not self.alive():
                fail(f"ontimed exited with {self.proc.returncode} before ready:\n{self.tail()}")
            return self.get("/readyz")[0] == 200
        wait_until("ontimed /readyz = 200", ready, timeout)
        log(f"ontimed ready in {time.monotonic() - t0:.1f} s")

    def wait_caught_up(self, timeout=60):
        wait_until("ontimed 'caught up with the input' log line",
                   lambda: "caught up with the input" in self.log_text(), timeout)

    def wait_events(self, n, timeout=120):
        """Until ontime_events_total + ontime_events_invalid_total reach n."""
        def done():
            if not self.alive():
                fail(f"ontimed exited with {self.proc.returncode}:\n{self.tail()}")
            s = self.metrics()
            total = (metric_value(s, "ontime_events_total") or 0) + \
                (metric_value(s, "ontime_events_invalid_total") or 0)
            return total >= n
        wait_until(f"ontimed to process {n} events", done, timeout, interval=0.5)


def start_daemon(args, tmp, config, http_port, name="ontimed", env=None):
    """Writes `config` (dict or text) to TMP/NAME.yaml, checks it, starts the daemon."""
    path = os.path.join(tmp, f"{name}.yaml")
    if isinstance(config, str):
        with open(path, "w", encoding="utf-8") as f:
            f.write(config)
    else:
        write_config(path, config)
    r = subprocess.run([args.ontimed, "check-config", "--config", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    check(r.returncode == 0, f"check-config rejects the test config: {r.stdout}")
    return Daemon(args.ontimed, path, os.path.join(tmp, f"{name}.log"), http_port, env=env)


def iso(t):
    """RFC 3339 UTC with milliseconds for a POSIX timestamp."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def parse_iso(text):
    """RFC 3339 -> POSIX seconds (float)."""
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def event(event_id, type_, dossier_id, occurred_at, **fields):
    e = {"event_id": event_id, "type": type_, "dossier_id": dossier_id,
         "occurred_at": iso(occurred_at)}
    e.update(fields)
    return dossier_id, json.dumps(e)
