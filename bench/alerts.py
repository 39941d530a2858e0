#!/usr/bin/env python3
"""bench/alerts.py: "make bench", alert ingest. How many alerts a second
vigil-api stores through nginx and the pool, in a private stack like the
integration tests', with a key of the ingest scope (its tenant's ingest
limit raised out of the way):

  single   POST /api/v1/alerts, one new alert per request (a unique
           external_id, 3 observables drawn from a pool of about 2,250
           values, so most are already known, a 300-byte raw payload), with wrk at
           BENCH_CONNECTIONS (16) connections.
  batch    POST /api/v1/alerts/batch of BENCH_ALERTS_BATCH (500) such
           alerts per request, at BENCH_ALERTS_BATCH_CONNECTIONS (4)
           connections (every ingest of a tenant holds its row lock, so
           more connections only queue).

Each: BENCH_ALERTS_RUNS (5) runs of BENCH_ALERTS_DURATION (3) seconds
(batches BENCH_ALERTS_BATCH_DURATION, 10), reporting the median alerts
per second with its spread (lowest-highest of the runs), the median p99
of a request, and the median CPU time per alert of mariadbd and the
pool's workers together (the work an alert costs, which the machine's
other load changes least) and mariadbd's share of it; each run also
prints the time requests waited for row locks (InnoDB's
Innodb_row_lock_time), per request. Afterwards the
database is checked against what was answered: one alert, one
alert.created event and one history entry per alert created, one audit
entry per request, and the counts GET /events and the observable search
read (list_counts, observable_alert_counts) equal to a recount. Targets
(the alerts issue): single >= 1,000 alerts/s, batch >= 10,000 alerts/s.

Needs wrk (apt-get install wrk). Environment: VIGIL_BUILDDIR,
VIGIL_SRCDIR, BENCH_CONNECTIONS, BENCH_ALERTS_BATCH,
BENCH_ALERTS_BATCH_CONNECTIONS, BENCH_ALERTS_RUNS, BENCH_ALERTS_DURATION,
BENCH_ALERTS_BATCH_DURATION, BENCH_WORKERS (4), BENCH_ALERTS_PATHS
("single,batch": which to run), BENCH_ALERTS_SETUP_SQL (statements, ";"
between them, run on the fresh schema first: for experiments such as a
trigger or an index dropped), BENCH_ALERTS_PERF (a directory: each run is
recorded there by "perf record -g", mariadbd and the workers apart, as
mariadbd-RUN.data and workers-RUN.data), BENCH_ALERTS_POOL_MB (the
InnoDB buffer pool in MiB; 0, the default, keeps the test stack's 64 MiB,
which the alert tables outgrow within the first batch runs). Use a release
build.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
IT = os.path.join(os.path.dirname(HERE), "tests", "integration")
sys.path.insert(0, IT)

import stack  # noqa: E402
import wrkrun  # noqa: E402

CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
BATCH = int(os.environ.get("BENCH_ALERTS_BATCH", "500"))
BATCH_CONNECTIONS = int(os.environ.get("BENCH_ALERTS_BATCH_CONNECTIONS",
                                       "4"))
RUNS = int(os.environ.get("BENCH_ALERTS_RUNS", "5"))
DURATION = int(os.environ.get("BENCH_ALERTS_DURATION", "3"))
# A batch takes about a second on a loaded machine: a 3-second run would
# count a handful of them.
BATCH_DURATION = int(os.environ.get("BENCH_ALERTS_BATCH_DURATION", "10"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
POOL_MB = int(os.environ.get("BENCH_ALERTS_POOL_MB", "0"))
PERF = os.environ.get("BENCH_ALERTS_PERF", "")
PATHS = os.environ.get("BENCH_ALERTS_PATHS", "single,batch").split(",")
TARGET_SINGLE = 1000
TARGET_BATCH = 10000

# wrk's request generator: alerts with unique external ids (the thread's
# number, a counter and the run's tag), observables from a fixed pool.
LUA = r"""
local tag = "%(tag)s"
local per = %(per)d
local counter = 0
local threads = 0
local me = 0

function setup(thread)
  threads = threads + 1
  thread:set("me", threads)
end

function init(args)
  me = tonumber(wrk.thread:get("me")) or 0
  math.randomseed(me * 7919 + os.time())
end

local function one()
  counter = counter + 1
  local a = math.random(0, 999)
  local b = math.random(0, 999)
  return string.format(
    '{"source":"edr","external_id":"%%s-%%d-%%d","severity":"high",' ..
    '"title":"Suspicious PowerShell on WS-%%03d",' ..
    '"detected_at":"2026-06-02T09:14:00Z",' ..
    '"asset":{"hostname":"WS-%%03d","owner":"user%%d@example.com"},' ..
    '"observables":[{"type":"ip","value":"198.51.100.%%d"},' ..
    '{"type":"domain","value":"host-%%d.example.net"},' ..
    '{"type":"user","value":"user%%d"}],' ..
    '"raw":{"event":"ProcessRollup2","CommandLine":"powershell.exe -nop ' ..
    '-w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAu",' ..
    '"ParentImage":"C:/Windows/explorer.exe","pid":%%d,"sha256":' ..
    '"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}',
    tag, me, counter, a, a, b, a %% 250, b, b, counter)
end

function request()
  local body
  if per == 0 then
    body = one()
  else
    local items = {}
    for i = 1, per do items[i] = one() end
    body = '{"alerts":[' .. table.concat(items, ",") .. ']}'
  end
  return wrk.format("POST", nil, nil, body)
end
"""


def perf_start(pids, name):
    """perf record -g of pids into PERF/name.data, or None."""
    if not PERF:
        return None
    os.makedirs(PERF, exist_ok=True)
    return subprocess.Popen(
        ["perf", "record", "-q", "-g", "-o",
         os.path.join(PERF, name + ".data"), "-p",
         ",".join(str(p) for p in pids)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def perf_stop(p):
    if p is not None:
        p.send_signal(2)
        p.wait()


def wrk(url, key, script, connections, pids, duration, tag):
    """(requests, req/s, p99 ms, non-2xx, CPU ticks of (mariadbd, the
    workers)); pids: mariadbd's first."""
    perfs = (perf_start(pids[:1], "mariadbd-" + tag),
             perf_start(pids[1:], "workers-" + tag))
    try:
        r = wrkrun.run(url, key, connections, duration,
                       {"db": pids[:1], "workers": pids[1:]}, script=script,
                       headers=("Content-Type: application/json",),
                       timeout="10s")
    finally:
        for p in perfs:
            perf_stop(p)
    return r.n, r.rps, r.p99, r.non2xx, (r.ticks["db"], r.ticks["workers"])


def count(st, sql):
    return int(st.query(sql)[0][0])


def lock_time(st):
    """InnoDB's total time waited for row locks so far, in ms: what the
    requests spent queued on the tenant's audit head and on each other's
    keys, summed over the connections."""
    return int(st.query("SHOW GLOBAL STATUS LIKE "
                        "'Innodb_row_lock_time'")[0][1])


def measure(st, what, url, key, per, connections, pids, tid, root):
    """Run wrk RUNS times; print and return the median alerts/s."""
    alerts_per_req = max(per, 1)
    runs = []
    for i in range(RUNS):
        tag = "%s%d%d" % ("b" if per else "s", os.getpid(), i)
        script = os.path.join(root, "%s.lua" % tag)
        with open(script, "w") as f:
            f.write(LUA % {"tag": tag, "per": per})
        before = (count(st, "SELECT COUNT(*) FROM alerts WHERE tenant_id "
                            "= '%s'" % tid),
                  count(st, "SELECT COUNT(*) FROM audit_log WHERE "
                            "tenant_id = '%s'" % tid))
        waited = lock_time(st)
        n, rps, p99, bad, ticks = wrk(url, key, script, connections, pids,
                                      BATCH_DURATION if per else DURATION,
                                      tag)
        after = (count(st, "SELECT COUNT(*) FROM alerts WHERE tenant_id "
                           "= '%s'" % tid),
                 count(st, "SELECT COUNT(*) FROM audit_log WHERE "
                           "tenant_id = '%s'" % tid))
        stored = after[0] - before[0]
        waited = lock_time(st) - waited
        cpu_db, cpu_api = (1e6 * t / os.sysconf("SC_CLK_TCK") /
                           max(stored, 1) for t in ticks)
        cpu_us = cpu_db + cpu_api
        # wrk stops mid-request: requests it counted as done were
        # answered; one cut off may still have committed.
        runs.append((rps * alerts_per_req, p99, bad, cpu_us, stored,
                     after[1] - before[1], n, cpu_db))
        print("  run %d: %7.0f alerts/s  p99 %7.1f ms  non-2xx %d  "
              "stored %d  audit entries %d  cpu %.0f us/alert "
              "(mariadbd %.0f, workers %.0f)  row lock waits %.0f ms "
              "per request" % (
                  i + 1, rps * alerts_per_req, p99, bad, stored,
                  after[1] - before[1], cpu_us, cpu_db, cpu_api,
                  waited / max(after[1] - before[1], 1)),
              flush=True)
    rates = sorted(r[0] for r in runs)
    med = statistics.median(rates)
    print("%-34s %8.0f %8.0f-%-8.0f %8.1f %9.0f %7d" % (
        what, med, rates[0], rates[-1],
        statistics.median(r[1] for r in runs),
        statistics.median(r[3] for r in runs), sum(r[2] for r in runs)),
        flush=True)
    print("%-34s of which mariadbd %.0f us/alert (median)" % (
        "", statistics.median(r[7] for r in runs)), flush=True)
    return med, sum(r[2] for r in runs)


def main():
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (apt-get install wrk)")
        return 1
    builddir = os.environ.get("VIGIL_BUILDDIR") or os.getcwd()
    root = tempfile.mkdtemp(prefix="vigil-alerts-")
    os.chmod(root, 0o755)
    st = stack.Stack(os.path.join(root, "vigil"), builddir=builddir)
    try:
        st.up(workers=WORKERS, conf_extra={
            "rate_read_per_min": 1000000, "rate_write_per_min": 1000000,
            "rate_ingest_per_min": 1000000})
        if POOL_MB:
            st.sql("SET GLOBAL innodb_buffer_pool_size = %d"
                   % (POOL_MB * 1024 * 1024))
        print("bench/alerts.py: buffer pool %d MiB" % (
            int(st.query("SELECT @@innodb_buffer_pool_size")[0][0])
            // (1024 * 1024)))
        for q in filter(None, os.environ.get("BENCH_ALERTS_SETUP_SQL",
                                             "").split(";")):
            st.sql(q, database="vigil")
        tid = st.tenant_ensure("alerts")
        key, _ = st.key_create("alerts", scopes="ingest")
        base = st.urls()["nginx"] + "/api/v1"
        pids = [st.running_pid("mariadb")] + st.api_workers()
        print("bench/alerts.py: %d runs x %d s (batches %d s), %d workers; "
              "load before: %.2f" % (RUNS, DURATION, BATCH_DURATION, WORKERS,
                                     os.getloadavg()[0]))
        print("%-34s %8s %17s %8s %9s %7s" % (
            "", "alerts/s", "spread", "p99 ms", "cpu us/a", "non-2xx"))
        single, bad1 = measure(
            st, "POST /alerts (%d conns)" % CONNECTIONS, base + "/alerts",
            key, 0, CONNECTIONS, pids, tid, root) if "single" in PATHS \
            else (float("nan"), 0)
        batch, bad2 = measure(
            st, "POST /alerts/batch of %d (%d conns)" % (BATCH,
                                                         BATCH_CONNECTIONS),
            base + "/alerts/batch", key, BATCH, BATCH_CONNECTIONS, pids,
            tid, root) if "batch" in PATHS else (float("nan"), 0)
        # What was stored is what ingest promises, once the requests wrk
        # left in flight have committed.
        t = "'%s'" % tid
        last = -1
        while True:
            time.sleep(1)
            n = count(st, "SELECT COUNT(*) FROM audit_log WHERE tenant_id "
                          "= %s" % t)
            if n == last:
                break
            last = n
        alerts = count(st, "SELECT COUNT(*) FROM alerts WHERE tenant_id "
                           "= %s" % t)
        created = count(st, "SELECT COUNT(*) FROM events WHERE tenant_id = "
                            "%s AND type = 'alert.created'" % t)
        history = count(st, "SELECT COUNT(*) FROM alert_history WHERE "
                            "tenant_id = %s" % t)
        links = count(st, "SELECT COUNT(*) FROM alert_observables WHERE "
                          "tenant_id = %s" % t)
        observables = count(st, "SELECT COUNT(*) FROM observables WHERE "
                                "tenant_id = %s" % t)
        # The counts the lists and the search read, kept by the ingest
        # and the triggers, against a recount.
        counted = count(st, "SELECT COALESCE(SUM(n), 0) FROM list_counts "
                            "WHERE tenant_id = %s AND list = 'events' AND "
                            "k = 'alert.created'" % t)
        linkcounts = count(st, "SELECT COALESCE(SUM(n), 0) FROM "
                               "observable_alert_counts WHERE tenant_id = "
                               "%s" % t)
        consistent = (alerts == created == history == counted and
                      links == 3 * alerts == linkcounts)
        print("\nstored: %d alerts, %d alert.created events (counted %d), "
              "%d history entries, %d observable links (counted %d) over "
              "%d observables: %s" % (
                  alerts, created, counted, history, links, linkcounts,
                  observables,
                  "consistent" if consistent else "INCONSISTENT"))
        print("load after: %.2f" % os.getloadavg()[0])
        print("targets: single %s %d alerts/s (median %.0f); batch %s %d "
              "alerts/s (median %.0f)" % (
                  "meets" if single >= TARGET_SINGLE else "misses",
                  TARGET_SINGLE, single,
                  "meets" if batch >= TARGET_BATCH else "misses",
                  TARGET_BATCH, batch))
        return 0 if consistent and bad1 + bad2 == 0 else 1
    finally:
        st.down()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
