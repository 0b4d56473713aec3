#!/usr/bin/env python3
"""Generate deploy/alertmanager/alertmanager.yml from a configuration's departments.

One route and one receiver (email + webhook) per department head. Alerts carrying a
`department` label go to that head; severity "critical" at any time, anything else only in
office hours (Mon-Fri 07:30-17:00 Asia/Ho_Chi_Minh). Alerts without a known department (the
daemon's own alerts) go to the `ontime-ops` receiver. When the configuration names an
`escalation` contact, alerts with kind="escalated" (a dossier past defaults.max_apology_letters)
go to its `escalation` receiver instead of the department head, before any department route.

Usage:
  generate.py [--config FILE] [--output FILE]     write the Alertmanager configuration
  generate.py --check [--config FILE] [--output FILE]
                                                  exit 1 if FILE is not what would be generated
  generate.py --builtin [--output FILE]           use the built-in list of the example
                                                  province's departments (no config file)

The department head's address is departments[].head.email, or head.<code lowercased>@<domain>
when the configuration gives none; the escalation contact's is escalation.email, or
escalation@<domain>. Python 3 standard library; PyYAML when installed, else a small line parser
that understands the `departments:` and `escalation:` blocks of the configuration format.
"""
import argparse
import difflib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_CONFIG = os.path.join(ROOT, "deploy", "examples", "province.yaml")
DEFAULT_OUTPUT = os.path.join(HERE, "alertmanager.yml")

# The departments of the example province (deploy/examples/province.yaml), for --builtin.
BUILTIN = [
    ("SXD", "Department of Construction"),
    ("STNMT", "Department of Natural Resources and Environment"),
    ("SKHDT", "Department of Planning and Investment"),
    ("STP", "Department of Justice"),
    ("SLDTBXH", "Department of Labour, Invalids and Social Affairs"),
    ("SGTVT", "Department of Transport"),
    ("SYT", "Department of Health"),
    ("SCT", "Department of Industry and Trade"),
    ("SNNPTNT", "Department of Agriculture and Rural Development"),
    ("SVHTTDL", "Department of Culture, Sports and Tourism"),
]


def _unquote(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    return v


def _parse_departments_fallback(text):
    """Minimal reader for the `departments:` block (block or flow style items)."""
    deps, cur, inside, item_indent = [], None, False, None
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:
            inside = line.startswith("departments:")
            continue
        if not inside:
            continue
        s = line.strip()
        if s.startswith("- ") and (item_indent is None or indent == item_indent):
            item_indent = indent
            cur = {}
            deps.append(cur)
            s = s[2:].strip()
        if cur is None:
            continue
        for key in ("code", "name"):
            m = re.match(r"^%s:\s*(.+)$" % key, s)
            if m and key not in cur and indent <= (item_indent or 0) + 2:
                cur[key] = _unquote(m.group(1))
        m = re.search(r"email:\s*(\"[^\"]*\"|'[^']*'|[^,}\s]+)", s)
        if m and "email" not in cur:
            cur["email"] = _unquote(m.group(1))
    return [{"code": d["code"], "name": d.get("name", ""), "head": {"email": d.get("email")}}
            for d in deps if "code" in d]


def _parse_escalation_fallback(text):
    """Minimal reader for a top-level `escalation:` map, flow (`{...}`) or block style."""
    lines = text.splitlines()
    for i, raw in enumerate(lines):
        if not raw.startswith("escalation:"):
            continue
        rest = raw[len("escalation:"):].split(" #", 1)[0].strip()
        if rest in ("", "~", "null"):
            block = []
            for nxt in lines[i + 1:]:
                if nxt.strip() and not nxt[0].isspace():
                    break
                block.append(nxt.split(" #", 1)[0])
            rest = "\n".join(block)
            if not rest.strip():
                return None
        m = re.search(r"email:\s*(\"[^\"]*\"|'[^']*'|[^,}\s]+)", rest)
        return {"email": _unquote(m.group(1)) if m else None}
    return None


def load_config(path):
    """(departments as (code, name, email) tuples, escalation email or "" or None)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        import yaml  # type: ignore
    except ImportError:
        deps = _parse_departments_fallback(text)
        escalation = _parse_escalation_fallback(text)
    else:
        doc = yaml.safe_load(text) or {}
        deps = doc.get("departments") or []
        escalation = doc.get("escalation")
    out = []
    for d in deps:
        code = str(d["code"])
        head = d.get("head") or {}
        out.append((code, str(d.get("name") or ""), head.get("email")))
    if not out:
        raise SystemExit(f"{path}: no departments: found")
    # None: no escalation contact; "": one without an address (the default address is used).
    escalation_email = None if escalation is None else str(escalation.get("email") or "")
    return out, escalation_email


def load_departments(path):
    return load_config(path)[0]


def receiver_name(code):
    return "head-" + re.sub(r"[^a-z0-9]+", "-", code.lower())


def q(s):
    """YAML double-quoted scalar."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(departments, domain, webhook_base, escalation_email=None):
    out = []
    w = out.append
    w("# Alertmanager configuration for ontime.")
    w("# GENERATED by deploy/alertmanager/generate.py from the departments: of the configuration")
    w("# (deploy/examples/province.yaml). Do not edit by hand: edit the configuration and run")
    w("#   python3 deploy/alertmanager/generate.py")
    w("# Department alerts (label department) go to that department's head: severity=critical at")
    w("# any time, anything else in office hours only. Other alerts go to ontime-ops.")
    if escalation_email is not None:
        w("# Escalations (kind=\"escalated\": a dossier past defaults.max_apology_letters) go to the")
        w("# configuration's escalation contact, whatever the department.")
    w("global:")
    w("  resolve_timeout: 5m")
    w("  smtp_smarthost: \"127.0.0.1:25\"")
    w(f"  smtp_from: {q('ontime-alerts@' + domain)}")
    w("  smtp_require_tls: false")
    w("")
    w("time_intervals:")
    w("  - name: office-hours")
    w("    time_intervals:")
    w("      - weekdays: [\"monday:friday\"]")
    w("        times:")
    w("          - start_time: \"07:30\"")
    w("            end_time: \"17:00\"")
    w("        location: Asia/Ho_Chi_Minh")
    w("")
    w("route:")
    w("  receiver: ontime-ops")
    w("  group_by: [alertname, department]")
    w("  group_wait: 30s")
    w("  group_interval: 5m")
    w("  repeat_interval: 4h")
    w("  routes:")
    if escalation_email is not None:
        w("    - matchers: ['kind=\"escalated\"']")
        w("      receiver: escalation")
        w("      routes:")
        w("        - matchers: ['severity=\"critical\"']")
        w("          receiver: escalation")
        w("        - matchers: ['severity!=\"critical\"']")
        w("          receiver: escalation")
        w("          active_time_intervals: [office-hours]")
    for code, _, _ in departments:
        r = receiver_name(code)
        w(f"    - matchers: [{q('department=' + q(code))}]")
        w(f"      receiver: {r}")
        w("      routes:")
        w("        - matchers: ['severity=\"critical\"']")
        w(f"          receiver: {r}")
        w("        - matchers: ['severity!=\"critical\"']")
        w(f"          receiver: {r}")
        w("          active_time_intervals: [office-hours]")
    w("    # Daemon alerts and departments without a head route.")
    w("    - matchers: ['severity=\"critical\"']")
    w("      receiver: ontime-ops")
    w("    - matchers: ['severity!=\"critical\"']")
    w("      receiver: ontime-ops")
    w("      active_time_intervals: [office-hours]")
    w("")
    w("inhibit_rules:")
    w("  # While ontimed is down, its readiness and lag alerts are noise.")
    w("  - source_matchers: ['alertname=\"OntimedDown\"']")
    w("    target_matchers: ['alertname=~\"OntimedNotReady|ConsumerLagHigh\"']")
    w("    equal: [instance]")
    w("")
    w("receivers:")
    w("  - name: ontime-ops")
    w("    email_configs:")
    w(f"      - to: {q('ontime-ops@' + domain)}")
    w("        send_resolved: true")
    w("    webhook_configs:")
    w(f"      - url: {q(webhook_base.rstrip('/') + '/ops')}")
    w("        send_resolved: true")
    if escalation_email is not None:
        w("  - name: escalation")
        w("    email_configs:")
        w(f"      - to: {q(escalation_email or 'escalation@' + domain)}")
        w("        send_resolved: true")
        w("    webhook_configs:")
        w(f"      - url: {q(webhook_base.rstrip('/') + '/escalation')}")
        w("        send_resolved: true")
    for code, _, email in departments:
        email = email or f"head.{code.lower()}@{domain}"
        w(f"  - name: {receiver_name(code)}")
        w("    email_configs:")
        w(f"      - to: {q(email)}")
        w("        send_resolved: true")
        w("    webhook_configs:")
        w(f"      - url: {q(webhook_base.rstrip('/') + '/' + code.lower())}")
        w("        send_resolved: true")
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=DEFAULT_CONFIG)
    ap.add_argument("--output", default=DEFAULT_OUTPUT)
    ap.add_argument("--check", action="store_true", help="fail if --output is out of date")
    ap.add_argument("--builtin", action="store_true", help="use the built-in department list")
    ap.add_argument("--domain", default="example.gov.vn")
    ap.add_argument("--webhook-base", default="http://127.0.0.1:9095")
    a = ap.parse_args(argv)

    escalation_email = None
    if a.builtin:
        departments = [(c, n, None) for c, n in BUILTIN]
    elif not os.path.exists(a.config):
        if a.check:
            print(f"SKIP: {a.config} does not exist (yet); alertmanager.yml not checked against it")
            return 0
        raise SystemExit(f"{a.config} does not exist; pass --config FILE or --builtin")
    else:
        departments, escalation_email = load_config(a.config)

    # Sorted by code and without names, so that only what routing depends on (codes, emails)
    # makes the file out of date.
    departments = sorted(departments, key=lambda d: d[0])
    text = render(departments, a.domain, a.webhook_base, escalation_email)
    if a.check:
        try:
            with open(a.output, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = ""
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), text.splitlines(True), a.output, "generated"))
            print(f"FAIL: {a.output} is out of date against {a.config}; "
                  f"run python3 deploy/alertmanager/generate.py")
            return 1
        print(f"OK: {a.output} is up to date with {a.config} ({len(departments)} departments"
              f"{', escalation' if escalation_email is not None else ''})")
        return 0
    with open(a.output, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {a.output} ({len(departments)} departments)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
