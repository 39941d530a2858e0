#!/usr/bin/env python3
"""bench/observables.py: "make bench", GET /observables/search at a million
alerts.

Loads BENCH_OBS_ALERTS (1,000,000) alerts into one tenant, each carrying
5 observables, straight through SQL (the Sequence engine makes the rows):
an IP from a pool of 100,000 (10 alerts each), a domain of 10,000 (100
each), a SHA-256 of 500,000 (2 each), a host name of 1,000 (1,000 each)
and a user of 100 (10,000 each) -- 5,000,000 alert_observables rows over
611,100 observables, with each observable's count of alerts as ingest
keeps it (checked against a recount) -- and 1,000 cases with 5 observables
each. Then
measures the search with wrk at BENCH_CONNECTIONS (16) connections,
BENCH_OBS_RUNS (5) runs of BENCH_OBS_DURATION (3) seconds each, reporting
the median p99 with its spread (lowest-highest of the runs), the median
throughput and the median CPU time per request of mariadbd and the pool's
workers together: a random IP of the pool per request (the "have we seen
this address?" lookup), the hottest user (10,000 alerts: a page of 100 and
a count), its second page, a host name that 1,000 alerts and a case
carry, and a value never seen. Last, the EXPLAIN of each statement the
search runs, as src/db/db.c has them. Target: p99 < 20 ms.

Needs wrk (apt-get install wrk). Environment: VIGIL_BUILDDIR,
VIGIL_SRCDIR, BENCH_OBS_ALERTS, BENCH_OBS_RUNS, BENCH_OBS_DURATION,
BENCH_CONNECTIONS, BENCH_WORKERS (4), BENCH_OBS_POOL_MB (the InnoDB
buffer pool, as a deployment sizes it to its data; default: the test
stack's 64 MiB, which holds little of these ~2 GB), BENCH_OBS_KEEP=1 (leave the stack
running, to look at it; stop it with the pids under its run/). Use a
release build.
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))

import stack  # noqa: E402
from wrkrun import cpu_ticks  # noqa: E402

ALERTS = int(os.environ.get("BENCH_OBS_ALERTS", "1000000"))
RUNS = int(os.environ.get("BENCH_OBS_RUNS", "5"))
DURATION = int(os.environ.get("BENCH_OBS_DURATION", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
POOL_MB = int(os.environ.get("BENCH_OBS_POOL_MB", "0"))
CHUNK = 50000
CASES = 1000
TARGET_MS = 20.0

# (type, pool size, SQL of the value of pool index k): an alert a carries
# index (a - 1) MOD pool of each; the seqs of a type's observables follow
# those of the type before it.
TYPES = [
    ("ip", 100000, "CONCAT('10.', k DIV 65536, '.', (k DIV 256) MOD 256, "
     "'.', k MOD 256)"),
    ("domain", 10000, "CONCAT('d', k, '.example.com')"),
    ("hash", 500000, "SHA2(CONCAT('file', k), 256)"),
    ("hostname", 1000, "CONCAT('ws-', LPAD(k, 4, '0'), '.corp.example')"),
    ("user", 100, "CONCAT('user', k, '@corp')"),
]


def sql(st, text):
    st.sql(text, database="vigil", timeout=None)


def chunks(n, size=CHUNK):
    a = 1
    while a <= n:
        b = min(n, a + size - 1)
        yield a, b
        a = b + 1


def pools():
    """(type, pool, value SQL, first seq - 1) per type."""
    out, base = [], 0
    for t, p, v in TYPES:
        out.append((t, min(p, ALERTS), v, base))
        base += min(p, ALERTS)
    return out


def load(st, tid):
    t = "'%s'" % tid
    for otype, pool, value, base in pools():
        for a, b in chunks(pool):
            sql(st, """INSERT INTO observables (seq, tenant_id, id, type,
                value, value_hash, first_seen_at, last_seen_at)
              SELECT %d + seq, %s, CONCAT('obs_0', LPAD(%d + seq, 25, '0')),
                '%s', v, SHA2(v, 256), NOW() - INTERVAL 30 DAY, NOW()
              FROM (SELECT seq, %s AS v FROM (SELECT seq, seq - 1 AS k
                    FROM seq_%d_to_%d) g) s""" % (
                base, t, base, otype, value, a, b))
    severities = "ELT(1 + seq % 5, 'critical', 'high', 'medium', 'low', " \
        "'info')"
    for a, b in chunks(ALERTS):
        sql(st, """INSERT INTO alerts (seq, tenant_id, id, source,
            external_id, severity, title, status, detected_at, ingested_at,
            last_seen_at, updated_at, asset, raw, tags)
          SELECT seq, %s, CONCAT('alert_0', LPAD(seq, 25, '0')),
            ELT(1 + seq %% 3, 'crowdstrike', 'sentinel', 'guardduty'),
            CONCAT('ext-', seq), %s,
            CONCAT('Suspicious activity on host ', seq %% 1000),
            ELT(1 + seq %% 10, 'triage', 'triage', 'triage', 'triage',
                'triage', 'triage', 'escalated', 'dismissed', 'dismissed',
                'suppressed'),
            NOW() - INTERVAL (%d - seq) SECOND,
            NOW() - INTERVAL (%d - seq) SECOND,
            NOW() - INTERVAL (%d - seq) SECOND,
            NOW() - INTERVAL (%d - seq) SECOND,
            CONCAT('{"hostname":"ws-', LPAD(seq %% 1000, 4, '0'),
                   '","owner":"user', seq %% 100, '@corp"}'),
            CONCAT('{"id":"ext-', seq, '","detect":{"tactic":"Execution",',
                   '"technique":"T1059.001","cmdline":"powershell -enc ',
                   SHA2(seq, 256), '"}}'), '[]'
          FROM seq_%d_to_%d""" % (t, severities, ALERTS, ALERTS, ALERTS,
                                  ALERTS, a, b))
    # Each type's rows in primary-key order (observable, then alert): row
    # r is observable r DIV per, alert (r MOD per) * pool + r DIV per + 1.
    for otype, pool, value, base in pools():
        per = ALERTS // pool
        for a, b in chunks(pool * per):
            sql(st, """INSERT INTO alert_observables (tenant_id,
                observable_seq, alert_seq)
              SELECT %s, %d + 1 + (seq - 1) DIV %d,
                ((seq - 1) MOD %d) * %d + (seq - 1) DIV %d + 1
              FROM seq_%d_to_%d""" % (t, base, per, per, pool, per, a, b))
        # Each one's count of alerts, as ingest keeps it (0031): per.
        sql(st, """INSERT INTO observable_alert_counts (tenant_id,
            observable_seq, n) SELECT %s, %d + seq, %d FROM seq_1_to_%d""" % (
            t, base, per, pool))
    # Cases: case c carries the observables of alert c.
    sql(st, """INSERT INTO cases (seq, tenant_id, id, title, description,
        severity, tags, techniques, created_by, created_at, updated_at)
      SELECT seq, %s, CONCAT('case_0', LPAD(seq, 25, '0')),
        CONCAT('Investigation ', seq), '', 'high', '[]', '[]', 'bench',
        NOW(), NOW() FROM seq_1_to_%d""" % (t, CASES))
    for otype, pool, value, base in pools():
        sql(st, """INSERT INTO case_observables (tenant_id, case_seq,
            observable_seq, first_seen_at, last_seen_at)
          SELECT %s, seq, %d + 1 + (seq - 1) MOD %d, NOW(), NOW()
          FROM seq_1_to_%d""" % (t, base, pool, CASES))
    for tbl in ("observables", "alerts", "alert_observables", "cases",
                "case_observables", "observable_alert_counts"):
        sql(st, "ANALYZE TABLE " + tbl)


RANDOM_IP_LUA = """
math.randomseed(%d)
request = function()
  local k = math.random(0, %d)
  return wrk.format("GET", string.format(
    "/api/v1/observables/search?type=ip&value=10.%%d.%%d.%%d",
    math.floor(k / 65536), math.floor(k / 256) %% 256, k %% 256))
end
"""


def wrk(url, key, pids, script=None):
    """(req/s, p99 ms, non-2xx, CPU ms per request of pids)."""
    argv = ["wrk", "-t2", "-c%d" % CONNECTIONS, "-d%ds" % DURATION,
            "--latency", "-H", "X-API-Key: " + key]
    if script:
        argv += ["-s", script]
    argv.append(url)
    t0 = cpu_ticks(pids)
    out = subprocess.run(argv, capture_output=True, text=True,
                         check=True).stdout
    ticks = cpu_ticks(pids) - t0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    n = int(re.search(r"(\d+) requests in", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[
        m.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    cpu = 1000.0 * ticks / os.sysconf("SC_CLK_TCK") / max(n, 1)
    return rps, p99, int(bad.group(1)) if bad else 0, cpu


def get(base, path, key):
    req = urllib.request.Request(base + path, headers={"X-API-Key": key})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def explains(st, tid, value_type, value):
    """The statements of one search, with the tenant's values, as db.c
    has them."""
    t = "'%s'" % tid
    top = str(1 << 62)
    row = st.query("SELECT seq FROM observables WHERE tenant_id = %s AND "
                   "type = '%s' AND value = '%s'" % (t, value_type, value))
    oseq = row[0][0]
    return [
        "SELECT o.seq, o.id, o.type, o.value, o.first_seen_at, "
        "o.last_seen_at, COALESCE(n.n, 0), (SELECT COUNT(*) FROM "
        "case_observables co WHERE co.tenant_id = o.tenant_id AND "
        "co.observable_seq = o.seq) FROM observables o LEFT JOIN "
        "observable_alert_counts n ON n.tenant_id = o.tenant_id AND "
        "n.observable_seq = o.seq WHERE o.tenant_id = %s AND o.type = '%s' "
        "AND o.value_hash = SHA2('%s', 256)" % (t, value_type, value),
        "SELECT co.case_seq, c.id, c.title, c.severity, c.status, "
        "co.first_seen_at, co.last_seen_at FROM case_observables co JOIN "
        "cases c ON c.seq = co.case_seq AND c.tenant_id = co.tenant_id "
        "WHERE co.tenant_id = %s AND co.observable_seq = %s AND "
        "co.case_seq < %s ORDER BY co.case_seq DESC LIMIT 101"
        % (t, oseq, top),
        "SELECT ao.alert_seq, a.id, a.title, a.severity, a.status, "
        "a.source, a.detected_at, a.last_seen_at, a.occurrences FROM "
        "alert_observables ao JOIN alerts a ON a.seq = ao.alert_seq AND "
        "a.tenant_id = ao.tenant_id WHERE ao.tenant_id = %s AND "
        "ao.observable_seq = %s AND ao.alert_seq < %s ORDER BY "
        "ao.alert_seq DESC LIMIT 101" % (t, oseq, top),
    ]


def main():
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (apt-get install wrk)")
        return 1
    builddir = os.environ.get("VIGIL_BUILDDIR") or os.getcwd()
    root = tempfile.mkdtemp(prefix="vigil-obs-")
    os.chmod(root, 0o755)
    st = stack.Stack(os.path.join(root, "vigil"), builddir=builddir)
    try:
        st.up(workers=WORKERS, conf_extra={
            "rate_read_per_min": 1000000, "rate_write_per_min": 1000000})
        if POOL_MB:
            st.sql("SET GLOBAL innodb_buffer_pool_size = %d"
                   % (POOL_MB * 1024 * 1024))
        print("bench/observables.py: buffer pool %s MiB" % (
            int(st.query("SELECT @@innodb_buffer_pool_size")[0][0])
            // (1024 * 1024)))
        tid = st.tenant_ensure("observables")
        key, _ = st.key_create("observables", scopes="read")
        print("bench/observables.py: load before: %.2f" % os.getloadavg()[0])
        t0 = time.monotonic()
        load(st, tid)
        counts = {tbl: st.query("SELECT COUNT(*) FROM %s" % tbl)[0][0]
                  for tbl in ("alerts", "observables", "alert_observables",
                              "cases", "case_observables")}
        print("loaded %s in %.0f s" % (", ".join(
            "%s %s" % kv for kv in counts.items()), time.monotonic() - t0))
        kept, counted = st.query(
            "SELECT (SELECT SUM(n) FROM observable_alert_counts), "
            "(SELECT COUNT(*) FROM alert_observables)")[0]
        bad = kept != counted
        print("  alerts per observable (kept counts) sum %s, recounted %s: "
              "%s" % (kept, counted, "DIFFERENT" if bad else "ok"))
        base = st.urls()["nginx"]
        q = "/api/v1/observables/search?"
        hot = q + "type=user&value=user0@corp"
        first = get(base, hot, key)
        page2 = hot + "&cursor=" + first["next_cursor"]
        host = q + "type=hostname&value=ws-0001.corp.example"
        print("hottest user: %d hits counted, %d on the first page; host "
              "name: %d counted" % (first["total"], len(first["hits"]),
                                    get(base, host, key)["total"]))
        script = os.path.join(root, "random-ip.lua")
        with open(script, "w") as f:
            f.write(RANDOM_IP_LUA % (os.getpid(), min(100000, ALERTS) - 1))
        searches = [
            ("random IP of 100,000 (10 alerts each)", q +
             "type=ip&value=10.0.0.1", script),
            ("user in 10,000 alerts, page 1 of 100", hot, None),
            ("user in 10,000 alerts, page 2", page2, None),
            ("host name in 1,000 alerts and a case", host, None),
            ("a value never seen", q + "type=ip&value=192.0.2.1", None),
        ]
        print("\n%d runs x %d s per search, %d connections, %d workers"
              % (RUNS, DURATION, CONNECTIONS, WORKERS))
        pids = [st.running_pid("mariadb")] + st.api_workers()
        print("%-44s %7s %15s %7s %7s %7s" % (
            "search", "p99 ms", "spread", "req/s", "cpu ms", "non-2xx"))
        over = 0
        for what, path, lua in searches:
            runs = [wrk(base + path, key, pids, lua) for _ in range(RUNS)]
            p99s = sorted(r[1] for r in runs)
            med = statistics.median(p99s)
            over += med >= TARGET_MS
            print("%-44s %7.1f %7.1f-%-7.1f %7.0f %7.2f %7d" % (
                what, med, p99s[0], p99s[-1],
                statistics.median(r[0] for r in runs),
                statistics.median(r[3] for r in runs),
                sum(r[2] for r in runs)), flush=True)
        print("\nload after: %.2f (uptime: %s)" % (
            os.getloadavg()[0], subprocess.run(
                ["uptime"], capture_output=True, text=True).stdout.strip()))
        print("\nEXPLAIN of the statements a search runs (the hottest "
              "user):")
        for s in explains(st, tid, "user", "user0@corp"):
            print("    " + " ".join(s.split())[:150])
            for row in st.query("EXPLAIN " + s):
                print("      " + "\t".join(str(c) for c in row))
        print("\n%d search(es) at or over %.0f ms (median p99)"
              % (over, TARGET_MS))
        return 0 if not bad else 1
    finally:
        if os.environ.get("BENCH_OBS_KEEP") == "1":
            print("stack kept running under %s (BENCH_OBS_KEEP)" % root)
        else:
            st.down()
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
