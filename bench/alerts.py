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

  floor    not Vigil: the rows a batch's alerts must write at the
           least (an alert row of the bench's sizes, its 3 observable
           links, its history entry and its alert.created event), as
           bare multi-row INSERTs of BENCH_ALERTS_BATCH rows a table, one
           transaction a batch, from BENCH_ALERTS_BATCH_CONNECTIONS
           mariadb clients at once, into copies of Vigil's tables (CREATE
           TABLE ... LIKE: the same columns and indexes, no triggers, no
           foreign keys): what mariadbd spends on the rows alone, without
           the look-ups, locks, counters, audit entry and triggers of an
           ingest, nor the API. Its alerts/s is mariadbd's alone (no
           nginx, no workers, no JSON).

Each: BENCH_ALERTS_RUNS (5) runs of BENCH_ALERTS_DURATION (3) seconds
(batches BENCH_ALERTS_BATCH_DURATION, 10), reporting the median alerts
per second with its spread (lowest-highest of the runs), the median p99
of a request, and the median CPU time per alert of mariadbd and the
pool's workers together (the work an alert costs, which the machine's
other load changes least) and mariadbd's share of it; each run also
prints the time requests waited for row locks (InnoDB's
Innodb_row_lock_time), per request, and the server's statements,
commits and handler row calls per request (SHOW GLOBAL STATUS). Afterwards the
database is checked against what was answered: one alert, one
alert.created event and one history entry per alert created, one audit
entry per request, and the counts GET /events and the observable search
read (list_counts, observable_alert_counts) equal to a recount. Targets
(the alerts issue): single >= 1,000 alerts/s, batch >= 10,000 alerts/s.

Needs wrk (apt-get install wrk). Environment: VIGIL_BUILDDIR,
VIGIL_SRCDIR, BENCH_CONNECTIONS, BENCH_ALERTS_BATCH,
BENCH_ALERTS_BATCH_CONNECTIONS, BENCH_ALERTS_RUNS, BENCH_ALERTS_DURATION,
BENCH_ALERTS_BATCH_DURATION, BENCH_WORKERS (4), BENCH_ALERTS_PATHS
("single,batch": which to run; "floor" too, or alone), BENCH_ALERTS_SETUP_SQL (statements, ";"
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
# Batches per client and run of the floor path.
FLOOR_BATCHES = int(os.environ.get("BENCH_ALERTS_FLOOR_BATCHES", "20"))
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


STATUS = ("Com_stmt_execute", "Com_commit", "Handler_write",
          "Handler_update", "Handler_read_key", "Handler_read_next")


def status(st):
    """The server's counters of STATUS, by name."""
    return {k: int(v) for k, v in st.query(
        "SHOW GLOBAL STATUS WHERE Variable_name IN (%s)" % ",".join(
            "'%s'" % n for n in STATUS))}


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
        s0 = status(st)
        n, rps, p99, bad, ticks = wrk(url, key, script, connections, pids,
                                      BATCH_DURATION if per else DURATION,
                                      tag)
        after = (count(st, "SELECT COUNT(*) FROM alerts WHERE tenant_id "
                           "= '%s'" % tid),
                 count(st, "SELECT COUNT(*) FROM audit_log WHERE "
                           "tenant_id = '%s'" % tid))
        stored = after[0] - before[0]
        s1 = status(st)
        # What the server did per request (one audit entry each):
        # statements executed (the bench's own counting queries are
        # plain, not prepared), commits, and the handler's row calls
        # (triggers' and procedures' included).
        print("         per request: %s" % "  ".join(
            "%s %.1f" % (k.replace("Handler_", "").replace("Com_", ""),
                         (s1.get(k, 0) - s0.get(k, 0)) /
                         max(after[1] - before[1], 1))
            for k in STATUS), flush=True)
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


def floor_sql(tag, batches, tid, base):
    """SQL text of a floor client: batches transactions of BATCH alerts
    each, the rows an ingest of them writes, of the bench's sizes, for
    tenant tid (the alerts' stand-in seqs from base + 1)."""
    raw = ('{"event":"ProcessRollup2","CommandLine":"powershell.exe -nop '
           '-w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAd'
           'AAu","ParentImage":"C:/Windows/explorer.exe","pid":%d,"sha256":'
           '"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85'
           '5"}')
    now = "2026-12-05 10:00:00"
    out = []
    n = base
    for b in range(batches):
        alerts, links, hist, events = [], [], [], []
        for i in range(BATCH):
            n += 1
            aid = "alert_%s%020d" % (tag, n)
            alerts.append(
                "('%s','%s','edr','%s-%d','high','Suspicious PowerShell on "
                "WS-%03d','triage','2026-06-02 09:14:00','%s','%s','%s',1,"
                "'{\"hostname\":\"WS-%03d\",\"owner\":"
                "\"user%d@example.com\"}','%s',0,'[]')" % (
                    tid, aid, tag, n, n % 1000, now, now, now, n % 1000, n % 1000,
                    raw.replace('"', '\\"') % n))
            for k in range(3):
                links.append((tid, (n * 7 + k * 751) % 2250 + 1, n))
            hist.append("('%s','%s','created','%s','key_x','{\"source\":"
                        "\"edr\",\"external_id\":\"%s-%d\",\"severity\":"
                        "\"high\",\"status\":\"triage\"}')" % (
                            tid, aid, now, tag, n))
            payload = ('{"event_id":"evt_%s%020d","event_type":"alert.'
                       'created","tenant_id":"%s","timestamp":"2026-12-05T'
                       '10:00:00Z","data":{"alert":{"id":"%s","source":"edr",'
                       '"external_id":"%s-%d","severity":"high","title":'
                       '"Suspicious PowerShell on WS-%03d","status":"triage",'
                       '"detected_at":"2026-06-02T09:14:00Z","ingested_at":'
                       '"2026-12-05T10:00:00Z","last_seen_at":"2026-12-05T'
                       '10:00:00Z","updated_at":"2026-12-05T10:00:00Z",'
                       '"occurrences":1,"asset":{"hostname":"WS-%03d","owner"'
                       ':"user%d@example.com"},"assignee":null,"tags":[],'
                       '"case_id":null,"observables":[{"type":"ip","value":'
                       '"198.51.100.1"},{"type":"domain","value":"host-1.'
                       'example.net"},{"type":"user","value":"user1"}]}}}' % (
                           tag, n, tid, aid, tag, n, n % 1000, n % 1000,
                           n % 1000))
            events.append("('evt_%s%020d','%s','alert.created','%s','%s')" % (
                tag, n, tid, now, payload.replace('"', '\\"')))
        # alert_observables' rows come with alert seqs; the floor's
        # stand-ins (n) are as unique, in the same (observable, alert)
        # order an ingest sorts them in.
        links.sort()
        out.append(
            "START TRANSACTION;\n"
            "INSERT INTO floor_alerts (tenant_id, id, source, external_id, "
            "severity, title, status, detected_at, ingested_at, "
            "last_seen_at, updated_at, occurrences, asset, raw, "
            "raw_truncated, tags) VALUES %s;\n"
            "INSERT INTO floor_alert_observables (tenant_id, observable_seq, "
            "alert_seq) VALUES %s;\n"
            "INSERT INTO floor_alert_history (tenant_id, alert_id, action, "
            "at, actor, fields) VALUES %s;\n"
            "INSERT INTO floor_events (id, tenant_id, type, created_at, "
            "payload) VALUES %s;\nCOMMIT;\n" % (
                ",".join(alerts), ",".join("('%s',%d,%d)" % r for r in links),
                ",".join(hist),
                ",".join(events)))
    return "".join(out)


def floor(st, tid, root):
    """The floor path: RUNS runs, each BATCH_CONNECTIONS clients writing
    FLOOR_BATCHES batches; prints and returns the median alerts/s."""
    for t in ("alerts", "alert_observables", "alert_history", "events"):
        st.sql("CREATE TABLE IF NOT EXISTS floor_%s LIKE %s" % (t, t),
               database="vigil")
    pid = st.running_pid("mariadb")
    client = [shutil.which("mariadb") or shutil.which("mysql"),
              "--no-defaults", "-S", st.db_sock, "-uroot", "vigil"]
    runs = []
    for i in range(RUNS):
        files = []
        for c in range(BATCH_CONNECTIONS):
            path = os.path.join(root, "floor-%d-%d.sql" % (i, c))
            with open(path, "w") as f:
                f.write(floor_sql("f%d%d%d" % (os.getpid() % 1000, i, c),
                                  FLOOR_BATCHES, tid,
                                  (i * BATCH_CONNECTIONS + c) * 10 ** 8))
            files.append(path)
        t0, w0 = wrkrun.cpu_ticks([pid]), time.monotonic()
        procs = [subprocess.Popen(client, stdin=open(p)) for p in files]
        bad = sum(p.wait() != 0 for p in procs)
        wall = time.monotonic() - w0
        ticks = wrkrun.cpu_ticks([pid]) - t0
        n = BATCH_CONNECTIONS * FLOOR_BATCHES * BATCH
        cpu = 1e6 * ticks / os.sysconf("SC_CLK_TCK") / n
        runs.append((n / wall, cpu))
        print("  run %d: %7.0f alerts/s  mariadbd %.0f us/alert  failed "
              "clients %d" % (i + 1, n / wall, cpu, bad), flush=True)
        for p in files:
            os.unlink(p)
    rates = sorted(r[0] for r in runs)
    print("%-34s %8.0f %8.0f-%-8.0f %8s %9.0f" % (
        "floor: the rows alone, mariadbd", statistics.median(rates),
        rates[0], rates[-1], "-", statistics.median(r[1] for r in runs)),
        flush=True)
    return statistics.median(rates)


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
        if "floor" in PATHS:
            floor(st, tid, root)
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
