#!/usr/bin/env python3
"""bench/deliveries.py: "make bench", second part. How fast vigil-spool
delivers webhooks to a local receiver (tests/integration/receiver.py, an
asyncio HTTP/1.1 server answering 200, keep-alive), in a private stack like
the integration tests'.

  throughput   BENCH_DELIVERIES (20,000) committed events of one tenant with
               one subscribed webhook, drained by 1 and then by 4 spooler
               daemons (spool_concurrency 16 each): deliveries per second
               from the spoolers' start to the last delivery recorded as
               succeeded (fan-out, claim, POST, outcome: the whole path).
  latency      with one spooler daemon running (spool_poll_ms 200, the
               default), BENCH_ACTIONS (400) POST /findings/{id}/accept
               at about 40 per second; for each, the time from sending the
               request (before its transaction commits: a bound from above)
               to the receiver getting the finding.accepted event: p50, p99.

Targets (the webhooks issue): >= 1,000 deliveries/s; p99 commit-to-receipt
under 1 s. Environment: VIGIL_BUILDDIR, VIGIL_SRCDIR, BENCH_DELIVERIES,
BENCH_ACTIONS.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
IT = os.path.join(os.path.dirname(HERE), "tests", "integration")
sys.path.insert(0, IT)

import stack  # noqa: E402

DELIVERIES = int(os.environ.get("BENCH_DELIVERIES", "20000"))
ACTIONS = int(os.environ.get("BENCH_ACTIONS", "400"))


def call(base, key, method, path, body=None):
    req = urllib.request.Request(
        base + "/api/v1" + path, method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"X-API-Key": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, json.loads(r.read() or b"null")


def add_events(st, tenant_id, n, tag):
    """n committed webhook-less events (finding.updated envelopes) in one
    INSERT ... SELECT, as API writes would leave them in the outbox."""
    st.sql("SET SESSION max_recursive_iterations = %d; "
           "INSERT INTO events (id, tenant_id, type, created_at, payload) "
           "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
           "WHERE i < %d) "
           "SELECT CONCAT('evt_', '%s', LPAD(i, 20, '0')), '%s', "
           "'finding.updated', UTC_TIMESTAMP(), "
           "JSON_OBJECT('event_id', CONCAT('evt_', '%s', LPAD(i, 20, '0')), "
           "'event_type', 'finding.updated', 'tenant_id', '%s', "
           "'timestamp', DATE_FORMAT(UTC_TIMESTAMP(), '%%Y-%%m-%%dT%%TZ'), "
           "'data', JSON_OBJECT('finding', JSON_OBJECT('id', "
           "CONCAT('bench-', i), 'severity', 'high', 'state', 'open'))) "
           "FROM s" % (n + 10, n, tag, tenant_id, tag, tenant_id),
           database="vigil")


def succeeded(st, wid):
    return int(st.query("SELECT COUNT(*) FROM deliveries WHERE webhook_id = "
                        "'%s' AND status = 'succeeded'" % wid)[0][0])


def drain(st, wid, spoolers, want, timeout=600):
    names = ["vigil-spool-%d" % i for i in range(spoolers)]
    t0 = time.monotonic()
    for name in names:
        st.spool_start(name)
    while succeeded(st, wid) < want:
        if time.monotonic() - t0 > timeout:
            break
        time.sleep(0.1)
    dt = time.monotonic() - t0
    for name in names:
        st.spool_stop(name)
    return succeeded(st, wid), dt


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    builddir = os.environ.get("VIGIL_BUILDDIR") or os.getcwd()
    root = tempfile.mkdtemp(prefix="vigil-bench-dl-")
    os.chmod(root, 0o755)
    st = stack.Stack(os.path.join(root, "vigil"), builddir=builddir)
    rx = None
    try:
        st.up(workers=4, conf_extra={
            "allow_private_targets": "true", "allow_http_webhooks": "true",
            "rate_read_per_min": 1000000, "rate_write_per_min": 1000000,
            "spool_concurrency": os.environ.get("BENCH_SPOOL_CONCURRENCY", "16"),
            "spool_webhook_concurrency": os.environ.get(
                "BENCH_SPOOL_WEBHOOK_CONCURRENCY", "0")})
        tid = st.tenant_ensure("bench")
        key, _ = st.key_create("bench", scopes="read,write,admin")
        base = st.urls()["nginx"]
        port = stack.free_port()
        rxlog = os.path.join(root, "receipts.log")
        rx = subprocess.Popen([sys.executable, os.path.join(IT, "receiver.py"),
                               "--port", str(port), "--log", rxlog],
                              stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
        rx.stdout.readline()
        _, wh = call(base, key, "POST", "/webhooks", {
            "url": "http://127.0.0.1:%d/ok/bench" % port, "events": ["*"]})
        wid = wh["webhook_id"]
        time.sleep(1.1)     # events of a later second than the webhook

        print("bench: webhook deliveries to a local receiver\n")
        rows = []
        done = 0
        for spoolers in (1, 4):
            add_events(st, tid, DELIVERIES, "B%dX" % spoolers)
            got, dt = drain(st, wid, spoolers, done + DELIVERIES)
            rows.append(("%d spooler%s" % (spoolers, "s" if spoolers > 1
                                           else ""), got - done, dt))
            done = got
        print("%-12s %12s %10s %14s" % ("spoolers", "deliveries", "seconds",
                                         "deliveries/s"))
        for name, n, dt in rows:
            print("%-12s %12d %10.1f %14.0f" % (name, n, dt, n / dt))

        # Latency: finding actions with a spooler daemon running.
        entries = [{
            "rule_id": "nsg-ssh-internet", "provider": "azure",
            "resource_id": "/subscriptions/sub-b/resourceGroups/rg/providers/"
            "Microsoft.Network/networkSecurityGroups/nsg-%d" % i,
            "title": "SSH open %d" % i, "severity": "high",
            "category": "network", "description": "d", "recommendation": "r",
            "subscription_id": "sub-b", "environment": "PROD",
            "layer": "infrastructure", "framework": "CIS",
            "evidence": {"port": 22}} for i in range(ACTIONS)]
        path = os.path.join(root, "findings.json")
        with open(path, "w") as f:
            json.dump({"findings": entries}, f)
        st.vigilctl("findings", "import", "--tenant", "bench",
                    "--no-reconcile", path)
        fids = [r[0] for r in st.query(
            "SELECT id FROM findings WHERE tenant_id = '%s' AND state = "
            "'open'" % tid)]
        st.spool_start("vigil-spool")
        time.sleep(2)      # the import's events delivered first
        sent = {}
        for fid in fids:
            t = time.time()
            call(base, key, "POST", "/findings/%s/accept" % fid,
                 {"justification": "benchmark"})
            sent[fid] = t
            time.sleep(max(0.0, 0.025 - (time.time() - t)))
        time.sleep(3)
        st.spool_stop("vigil-spool")
        rx.send_signal(signal.SIGTERM)
        rx.wait(timeout=10)
        rx = None
        ev = {r[0]: r[1] for r in st.query(
            "SELECT id, JSON_VALUE(payload, '$.data.finding.id') FROM events "
            "WHERE tenant_id = '%s' AND type = 'finding.accepted'" % tid)}
        lat = []
        with open(rxlog) as f:
            for line in f:
                t, eid = line.split()
                if eid in ev and ev[eid] in sent:
                    lat.append(float(t) - sent[ev[eid]])
        missing = len(sent) - len(lat)
        print("\ncommit-to-receipt, %d finding actions at ~40/s, one spooler "
              "daemon (spool_poll_ms 200):" % len(sent))
        if lat:
            print("  p50 %.0f ms   p99 %.0f ms   max %.0f ms   "
                  "not received: %d" % (pct(lat, 50) * 1000,
                                        pct(lat, 99) * 1000,
                                        max(lat) * 1000, missing))
        else:
            print("  nothing received")
            return 1
        return 0 if missing == 0 else 1
    finally:
        if rx is not None:
            rx.kill()
        st.down()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
