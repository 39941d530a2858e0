#!/usr/bin/env python3
"""Load the sample alerts into a tenant through the API, and open a case.

    demo-response.py URL API_KEY [ALERTS_JSON]

URL is the API's base (http://127.0.0.1:8080); ALERTS_JSON defaults to
etc/samples/alerts.json next to this script's folder. Every alert is sent
with POST /api/v1/alerts (sending them again only deduplicates). Then the
two alerts that share the command-and-control address are escalated into
one case, which gets two comments and a small attachment, so that a
newcomer can search an observable and open a case at once. ./dev up runs
it once for the demo tenant.

Only the standard library; waits as Retry-After says when the key's
writes per minute are spent; exits non-zero with the API's answer on the
first other failure.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))

# The two alerts escalated into the demo case, by (source, external_id):
# an EDR's C2 beacon and the SIEM's outbound-traffic incident that share
# the address 203.0.113.4 and the domain stats-cdn.example.net.
CASE_ALERTS = [("crowdstrike", "falcon-9182751"),
               ("sentinel", "incident-0313")]

NOTES = b"""Triage notes, WS-017 / BUILD-07
================================
- 203.0.113.4 answers on 443 with a self-signed certificate (CN=stats-cdn)
- stats-cdn.example.net registered 9 days ago; no MX; TTL 60
- WS-017 beaconed every 300 s +/- 5 % since 2026-12-01T09:30Z
- next: isolate WS-017, pull the PowerShell transcript, block the domain
"""


def call(base, key, method, path, body=None, ctype="application/json"):
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("X-API-Key", key)
    if data is not None:
        req.add_header("Content-Type", ctype)
    for attempt in range(5):
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
            break
        except urllib.error.HTTPError as e:
            # The key's writes per minute (rate_write_per_min, 30 by
            # default) are fewer than the demo's: wait as told.
            if e.code == 429 and attempt < 4:
                time.sleep(min(int(e.headers.get("Retry-After") or "10"), 60))
                continue
            sys.exit("%s %s: %d %s" % (method, path, e.code,
                                       e.read().decode("utf-8", "replace")))
    return json.loads(raw) if raw else {}


def case_of(answer):
    """The case id in an escalation's answer."""
    for k in ("case_id",):
        if isinstance(answer.get(k), str):
            return answer[k]
    case = answer.get("case")
    if isinstance(case, dict) and isinstance(case.get("id"), str):
        return case["id"]
    sys.exit("escalation answered no case id: %r" % (answer,))


def multipart(name, ctype, content):
    boundary = "vigil-demo-" + uuid.uuid4().hex
    head = ('--%s\r\nContent-Disposition: form-data; name="file"; '
            'filename="%s"\r\nContent-Type: %s\r\n\r\n'
            % (boundary, name, ctype)).encode()
    tail = ("\r\n--%s--\r\n" % boundary).encode()
    return head + content + tail, "multipart/form-data; boundary=" + boundary


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[2].strip())
    base, key = sys.argv[1].rstrip("/"), sys.argv[2]
    path = (sys.argv[3] if len(sys.argv) == 4 else
            os.path.join(HERE, "..", "etc", "samples", "alerts.json"))
    with open(path, encoding="utf-8") as f:
        alerts = json.load(f)["alerts"]

    ids = {}
    for a in alerts:
        r = call(base, key, "POST", "/api/v1/alerts", a)
        ids[(a["source"], a["external_id"])] = r["id"]
    print("%d alerts from %d sources" % (
        len(ids), len({s for s, _ in ids})))

    first, second = (ids[k] for k in CASE_ALERTS)
    case = case_of(call(base, key, "POST",
                        "/api/v1/alerts/%s/escalate" % first,
                        {"case_id": None}))
    call(base, key, "POST", "/api/v1/alerts/%s/escalate" % second,
         {"case_id": case})
    call(base, key, "PATCH", "/api/v1/cases/%s" % case,
         {"assignee": "alice@example.com",
          "techniques": ["T1071.001", "T1059.001"]})
    call(base, key, "POST", "/api/v1/cases/%s/comments" % case,
         {"body": "Both alerts talk to **203.0.113.4** "
                  "(`stats-cdn.example.net`). Isolating WS-017.",
          "mentions": []})
    call(base, key, "POST", "/api/v1/cases/%s/comments" % case,
         {"body": "Sentinel shows the same destination from BUILD-07; "
                  "pulling its PowerShell transcript next.",
          "mentions": []})
    body, ctype = multipart("triage-notes.txt", "text/plain", NOTES)
    call(base, key, "POST", "/api/v1/cases/%s/attachments" % case, body,
         ctype)
    print(case)


if __name__ == "__main__":
    main()
