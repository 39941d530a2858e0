#!/usr/bin/env python3
"""bench/cluster.py: "make bench-cluster", how Vigil scales past one host.

Starts the cluster harness (tests/cluster/cluster.py: three Galera nodes
behind HAProxy, API hosts api1 and api2; needs root) and, in the same run, a
single MariaDB server (no wsrep, the same InnoDB settings) on the proxy's
host, port 3307, with a second pool on each API host using it. A private
nginx on the load balancer's host gives four entrances:

  galera, 1 API host   api1's pool (db_host = HAProxy, the writer db1)
  galera, 2 API hosts  api1's and api2's pools
  single, 1 API host   api1's second pool (db_host = the single server)
  single, 2 API hosts  both second pools

and each is measured with wrk from the client host, at BENCH_CONNECTIONS
(16) connections, on these requests of one tenant holding
BENCH_CLUSTER_FINDINGS (1,000) findings:

  read     GET /api/v1/findings/{id}, a random finding
  list     GET /api/v1/findings?state=all&limit=50
  action   POST /api/v1/findings/{id}/accept, a random finding (accepting
           an open or accepted finding is always a change: history entry,
           event, audit entry)
  ingest   POST /api/v1/alerts, one new alert (bench/alerts.py's)
  batch    POST /api/v1/alerts/batch of BENCH_CLUSTER_BATCH (100) alerts,
           at 4 connections

BENCH_CLUSTER_RUNS (5) rounds; each round measures every workload on every
entrance for BENCH_CLUSTER_DURATION (3) seconds, in the same order, so that
the machine's other load drifts over all of them alike. Printed per cell:
the median requests (or alerts) per second with the spread of the rounds,
the median p99, and the CPU time per request of everything the request
went through (mariadbd of every node, HAProxy, the pools' workers, nginx:
the work a request costs, which the machine's other load changes least).
Then the ratios, each from the rounds' paired measurements (median and
spread): 2 API hosts / 1, and Galera / single server. /proc/loadavg is
recorded before and after each round. Afterwards: no answer but 2xx, every
node holds the same alerts, and "vigilctl audit verify" passes on both
databases. The table goes to bench/results/cluster.md in the build
directory ("make bench-readme" puts it into README.md).

The scanner and spooler hosts are stopped during the run (nothing for them
to do, and their polling is load). Everything runs on this machine: a
second API host adds no cores, and Galera's two other nodes apply every
write set on the same cores as the writer; the README says how to read the
figures. Environment: VIGIL_BUILDDIR, VIGIL_SRCDIR, VIGIL_CLUSTER_PREFIX
(default "vgc-"), BENCH_CLUSTER_RUNS, BENCH_CLUSTER_DURATION,
BENCH_CLUSTER_FINDINGS, BENCH_CLUSTER_BATCH, BENCH_CONNECTIONS. Use a
release build. Takes about 6 minutes with the defaults (the cluster up
in about 30 s, 100 cells of 3 s, the checks).
"""

import json
import os
import pwd
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, os.path.join(TOP, "tests", "cluster"))

import stack  # noqa: E402
import cluster as cl  # noqa: E402
import alerts as benchalerts  # noqa: E402  (bench/alerts.py's alerts)
import wrkrun  # noqa: E402
from stack import StackError, log, which  # noqa: E402

RUNS = int(os.environ.get("BENCH_CLUSTER_RUNS", "5"))
DURATION = int(os.environ.get("BENCH_CLUSTER_DURATION", "3"))
FINDINGS = int(os.environ.get("BENCH_CLUSTER_FINDINGS", "1000"))
BATCH = int(os.environ.get("BENCH_CLUSTER_BATCH", "100"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
BATCH_CONNECTIONS = 4
SINGLE_PORT = 3307
SINGLE_API_PORT = 9001
TENANT = "bench"
# The entrances: (name, backend, API hosts, nginx port).
ENTRANCES = (("galera-1", "galera", 1, 8001), ("galera-2", "galera", 2, 8002),
             ("single-1", "single", 1, 8003), ("single-2", "single", 2, 8004))
WORKLOADS = ("read", "list", "action", "ingest", "batch")

READ_LUA = """
local ids = {%(ids)s}
function request()
  return wrk.format("GET", "/api/v1/findings/" .. ids[math.random(#ids)])
end
"""

LIST_LUA = """
function request()
  return wrk.format("GET", "/api/v1/findings?state=all&limit=50")
end
"""

ACTION_LUA = """
local ids = {%(ids)s}
local body = '{"justification":"bench/cluster.py: accepted for the run"}'
function request()
  return wrk.format("POST", "/api/v1/findings/" .. ids[math.random(#ids)] ..
                    "/accept", nil, body)
end
"""


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


class Bench:

    def __init__(self, c):
        self.c = c
        self.backends = {}      # name -> {conf, key, ids, sql}
        self.results = {}       # (entrance, workload) -> [run tuples]
        self.loads = []
        self.aborted = {}       # backend -> transactions aborted

    # -- the single server ---------------------------------------------------

    def single_sock(self):
        return os.path.join(self.c.hostdir("single"), "mysqld.sock")

    def single_sql(self, statement):
        r = subprocess.run([which("mariadb", "mysql"), "--no-defaults", "-S",
                            self.single_sock(), "-uroot", "-N", "-B", "-e",
                            statement], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise StackError("single: %s: %s" % (statement[:100],
                                                  r.stderr.strip()))
        return [line.split("\t") for line in r.stdout.splitlines()]

    def single_start(self):
        """A MariaDB server without wsrep, with the InnoDB settings of the
        Galera nodes, on the proxy's host at port SINGLE_PORT."""
        c = self.c
        d = c.hostdir("single")
        data = os.path.join(d, "data")
        os.makedirs(data, exist_ok=True)
        os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
        user = c.db_user()
        cnf = os.path.join(d, "my.cnf")
        with open(cnf, "w") as f:
            f.write(f"""# Written by bench/cluster.py: a single server.
[mysqld]
user = {user}
datadir = {data}
tmpdir = {d}/tmp
socket = {self.single_sock()}
pid-file = {d}/mysqld.pid
log-error = {c.logfile("single.err")}
bind-address = {cl.addr("dbproxy")}
port = {SINGLE_PORT}
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
innodb-buffer-pool-size = 64M
innodb-log-file-size = 48M
innodb-flush-log-at-trx-commit = 2
innodb-autoinc-lock-mode = 2
max-connections = 300
""")
        pw = pwd.getpwnam(user)
        open(c.logfile("single.err"), "a").close()
        for path in (d, data, os.path.join(d, "tmp"), c.logfile("single.err")):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        with open(c.logfile("single-install.log"), "ab") as out:
            rc = subprocess.call([
                which("mariadb-install-db", "mysql_install_db"),
                "--defaults-file=" + cnf, "--datadir=" + data,
                "--auth-root-authentication-method=normal", "--skip-test-db",
                "--user=" + user], stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT)
        if rc != 0:
            raise StackError("mariadb-install-db (single) failed")
        p = c.spawn("single", "dbproxy", [which("mariadbd", "mysqld"),
                                           "--defaults-file=" + cnf])
        deadline = time.monotonic() + 120
        while True:
            if p.poll() is not None:
                raise StackError("single mariadbd exited:\n" +
                                 c.tail("single.err"))
            try:
                self.single_sql("SELECT 1")
                break
            except StackError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        self.single_sql("; ".join([
            "CREATE DATABASE vigil CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            "CREATE USER 'vigil'@'%%' IDENTIFIED BY '%s'" %
            c.state["db_password"],
            "GRANT ALL PRIVILEGES ON vigil.* TO 'vigil'@'%'"]))

    # -- setup -----------------------------------------------------------

    def findings_file(self):
        """FINDINGS findings cloned from the sample's first, one resource
        each."""
        with open(os.path.join(self.c.srcdir, "etc", "samples",
                               "findings.json")) as f:
            first = json.load(f)["findings"][0]
        out = []
        for i in range(FINDINGS):
            x = dict(first)
            x["resource_id"] = "%s-bench-%05d" % (first["resource_id"], i)
            out.append(x)
        path = os.path.join(self.c.root, "bench-findings.json")
        with open(path, "w") as f:
            json.dump({"findings": out}, f)
        return path

    def backend(self, name, conf, sql):
        """The tenant, its key and its findings on one backend."""
        c = self.c
        c.ctl.conf = conf
        try:
            tid = c.ctl.vigilctl("tenant", "create", TENANT).stdout.strip()
            key, _ = c.ctl.key_create(TENANT, "read,write,admin,ingest",
                                      name="bench")
            c.ctl.vigilctl("findings", "import", "--tenant", TENANT,
                           self.findings_file(), timeout=300)
        finally:
            c.ctl.conf = os.path.join(c.root, "vigil.conf")
        ids = [r[0] for r in sql(
            "SELECT id FROM vigil.findings WHERE tenant_id = '%s'" % tid)]
        if len(ids) != FINDINGS:
            raise StackError("%s: %d findings imported, not %d" % (
                name, len(ids), FINDINGS))
        self.backends[name] = {"conf": conf, "key": key, "ids": ids,
                               "tid": tid, "sql": sql}
        log("%s: tenant %s, %d findings" % (name, tid, len(ids)))

    def pools_start(self):
        """A second pool on each API host, on the single server."""
        c = self.c
        for h in cl.API_HOSTS:
            conf = c.write_conf(os.path.join(c.hostdir(h),
                                             "vigil-single.conf"),
                                db_port=str(SINGLE_PORT))
            c.spawn(h + "-single", h, [
                c.ctl.vigil_api, "-c", conf, "--listen",
                "%s:%d" % (cl.addr(h), SINGLE_API_PORT), "--workers", "3"],
                env=c.ctl.env())
        for h in cl.API_HOSTS:
            c.wait_tcp(h, SINGLE_API_PORT, h + "-single")

    def lb_start(self):
        """nginx on the load balancer's host with the four entrances, each
        the shipped site (etc/nginx/vigil.conf) on its own upstream."""
        c = self.c
        d = os.path.join(c.hostdir("lb"), "bench")
        t = os.path.join(d, "tmp")
        os.makedirs(t, exist_ok=True)
        shutil.copy(stack.NGINX_FASTCGI_PARAMS,
                    os.path.join(d, "fastcgi_params"))
        parts = []
        for name, backend, hosts, port in ENTRANCES:
            up = "bench_" + name.replace("-", "_")
            api_port = cl.API_PORT if backend == "galera" else \
                SINGLE_API_PORT
            servers = "".join(
                "    server %s:%d max_fails=1 fail_timeout=5s;\n" % (
                    cl.addr(h), api_port) for h in cl.API_HOSTS[:hosts])
            parts.append("upstream %s {\n%s}\n" % (up, servers))
            # The shipped server with the shipped snippet in place of its
            # include, as each entrance has an upstream of its own.
            site = c.ctl.fill("etc/nginx/vigil.conf", {
                "LISTEN": "%s:%d" % (cl.addr("lb"), port),
                "SERVER_NAME": "_"})
            snippet = c.ctl.fill("etc/nginx/vigil-snippet.conf", {
                "FCGI_ADDR": up})
            assert "include snippets/vigil.conf;" in site
            parts.append(site.replace("include snippets/vigil.conf;",
                                      snippet))
        sites = os.path.join(d, "sites.conf")
        with open(sites, "w") as f:
            f.write("\n".join(parts))
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""# Written by bench/cluster.py.
user root;
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {c.logfile("bench-lb-error.log")} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {t}/body;
    proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi;
    scgi_temp_path {t}/scgi;
    include {sites};
}}
""")
        argv = [which("nginx"), "-p", d + "/", "-c", conf, "-e",
                c.logfile("bench-lb-error.log")]
        c.spawn("bench-lb", "lb", argv)
        for _, _, _, port in ENTRANCES:
            c.wait_tcp("lb", port, "bench-lb")

    # -- measuring -------------------------------------------------------

    def pids(self, backend):
        """Every process a request goes through on that backend, by
        group: the database (the writer, or the single server), the other
        Galera nodes (applying the writer's write sets), HAProxy, the
        pools, nginx."""
        c = self.c
        groups = {"db": ["db1"] if backend == "galera" else ["single"],
                  "other nodes": ["db2", "db3"] if backend == "galera"
                  else [],
                  "haproxy": ["haproxy"] if backend == "galera" else [],
                  "api": list(cl.API_HOSTS) if backend == "galera" else
                  [h + "-single" for h in cl.API_HOSTS],
                  "nginx": ["bench-lb"]}
        out = {}
        for g, names in groups.items():
            out[g] = []
            for n in names:
                pid = c.pid(n)
                if pid:
                    out[g].append(pid)
                    out[g] += stack.children(pid)
        return out

    def replicated(self):
        """Bytes of write sets db1 has replicated since it started."""
        rows = self.c.rows("db1", "SHOW STATUS LIKE 'wsrep_replicated_bytes'")
        return int(rows[0][1]) if rows else 0

    def aborts(self, backend):
        """Transactions the database aborted since it started: deadlocks,
        and on Galera certification failures and brute-force aborts
        (each is replayed by Vigil or answered 503)."""
        q = ("SHOW STATUS WHERE Variable_name IN ('Innodb_deadlocks', "
             "'wsrep_local_cert_failures', 'wsrep_local_bf_aborts')")
        rows = self.c.rows("db1", q) if backend == "galera" else \
            self.single_sql(q)
        return sum(int(r[1]) for r in rows if len(r) == 2)

    def script(self, workload, backend, tag):
        b = self.backends[backend]
        ids = ",".join('"%s"' % i for i in b["ids"])
        if workload == "read":
            text = READ_LUA % {"ids": ids}
        elif workload == "list":
            text = LIST_LUA
        elif workload == "action":
            text = ACTION_LUA % {"ids": ids}
        else:
            text = benchalerts.LUA % {
                "tag": tag, "per": BATCH if workload == "batch" else 0}
        path = os.path.join(self.c.root, "wrk-%s.lua" % tag)
        with open(path, "w") as f:
            f.write(text)
        return path

    def measure(self, rnd, entrance, workload):
        name, backend, hosts, port = entrance
        b = self.backends[backend]
        tag = "r%d%s%s" % (rnd, name.replace("-", ""), workload)
        path = "/api/v1/alerts/batch" if workload == "batch" else \
            "/api/v1/alerts" if workload == "ingest" else "/"
        url = "http://%s:%d%s" % (cl.addr("lb"), port, path)
        conns = BATCH_CONNECTIONS if workload == "batch" else CONNECTIONS
        ws0 = self.replicated() if backend == "galera" else 0
        ab0 = self.aborts(backend)
        r = wrkrun.run(url, b["key"], conns, DURATION, self.pids(backend),
                       script=self.script(workload, backend, tag),
                       headers=["Content-Type: application/json"],
                       timeout="10s")
        rps, p99, bad, ticks, n = r.rps, r.p99, r.non2xx + r.errors, \
            r.ticks, r.n
        per = BATCH if workload == "batch" else 1
        # What the writer sent the other nodes (and what their gcaches
        # keep for IST), per request (per alert for ingest).
        ws = (self.replicated() - ws0) / max(n, 1) / per \
            if backend == "galera" else 0
        ab = self.aborts(backend) - ab0
        self.aborted[backend] = self.aborted.get(backend, 0) + ab
        us = {g: 1e6 * t / os.sysconf("SC_CLK_TCK") / max(n, 1) / per
              for g, t in ticks.items()}
        cpu_us = sum(us.values()) * per
        self.results.setdefault((name, workload), []).append(
            (rps * per, p99, bad, cpu_us / per, us, ws))
        print("  round %d %-9s %-7s %8.0f/s  p99 %7.1f ms  cpu %6.0f us"
              "  non-2xx %d  aborts %d" % (rnd + 1, name, workload,
                                           rps * per, p99, cpu_us / per,
                                           bad, ab), flush=True)

    # -- the report ------------------------------------------------------

    def cell(self, name, workload):
        runs = self.results[(name, workload)]
        rates = sorted(r[0] for r in runs)
        return (statistics.median(rates), rates[0], rates[-1],
                statistics.median(r[1] for r in runs),
                statistics.median(r[3] for r in runs),
                sum(r[2] for r in runs))

    def ratio(self, a, b, workload):
        """Median and spread of the rounds' paired ratios a/b."""
        ra = self.results[(a, workload)]
        rb = self.results[(b, workload)]
        rs = sorted(x[0] / y[0] for x, y in zip(ra, rb) if y[0] > 0)
        return statistics.median(rs), rs[0], rs[-1]

    def report(self, commit, started, ended):
        unit = {"read": "req/s", "list": "req/s", "action": "req/s",
                "ingest": "alerts/s", "batch": "alerts/s"}
        label = {
            "read": "read: GET /findings/{id}",
            "list": "list: GET /findings?limit=50",
            "action": "action: POST /findings/{id}/accept",
            "ingest": "ingest: POST /alerts",
            "batch": "batch: POST /alerts/batch of %d" % BATCH}
        lines = []
        lines.append("Measured %s–%s UTC at commit `%s`, %d rounds of %d s "
                     "per cell, %d connections (batches %d), load average "
                     "%s–%s (`/proc/loadavg`, 1 min, before and after each "
                     "round). Median rate (lowest–highest of the rounds), "
                     "median p99, CPU per request (per alert for ingest) of "
                     "every process it went through:" % (
                         started, ended, commit, RUNS, DURATION, CONNECTIONS,
                         BATCH_CONNECTIONS, min(self.loads, key=float),
                         max(self.loads, key=float)))
        lines.append("")
        lines.append("| workload | Galera, 1 API host | Galera, 2 API hosts "
                     "| single, 1 API host | single, 2 API hosts |")
        lines.append("| --- | --- | --- | --- | --- |")
        bad = 0
        for w in WORKLOADS:
            cells = []
            for name, _, _, _ in ENTRANCES:
                med, lo, hi, p99, cpu, nbad = self.cell(name, w)
                bad += nbad
                cells.append("%s %s (%s–%s); p99 %.0f ms; %s µs" % (
                    fmt(med), unit[w], fmt(lo), fmt(hi), p99, fmt(cpu)))
            lines.append("| %s | %s |" % (label[w], " | ".join(cells)))
        lines.append("")
        lines.append("Ratios (median of the rounds' paired ratios, "
                     "lowest–highest):")
        lines.append("")
        lines.append("| workload | 2 hosts / 1, Galera | 2 hosts / 1, single "
                     "| Galera / single, 1 host | Galera / single, 2 hosts "
                     "| CPU per request, Galera / single (1 host) |")
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for w in WORKLOADS:
            r = [self.ratio("galera-2", "galera-1", w),
                 self.ratio("single-2", "single-1", w),
                 self.ratio("galera-1", "single-1", w),
                 self.ratio("galera-2", "single-2", w)]
            cpu = self.cell("galera-1", w)[4] / max(
                self.cell("single-1", w)[4], 1e-9)
            lines.append("| %s | %s | %.2f |" % (w, " | ".join(
                "%.2f (%.2f–%.2f)" % x for x in r), cpu))
        lines.append("")
        lines.append("Where the CPU per request went, 1 API host (median µs "
                     "per request, per alert for ingest), and the bytes of "
                     "write sets the writer replicated per request (what "
                     "each node's gcache keeps for IST):")
        lines.append("")
        groups = ("db", "other nodes", "haproxy", "api", "nginx")
        lines.append("| workload | backend | %s | write set, bytes |" %
                     " | ".join(("writer node / server", "other two nodes",
                                 "HAProxy", "API pool", "nginx")))
        lines.append("| --- | --- | %s | --- |" % " | ".join(
            "---" for _ in groups))
        for w in WORKLOADS:
            for name in ("galera-1", "single-1"):
                runs = self.results[(name, w)]
                lines.append("| %s | %s | %s | %s |" % (
                    w, name.split("-")[0], " | ".join(
                        fmt(statistics.median(r[4][g] for r in runs))
                        for g in groups),
                    fmt(statistics.median(r[5] for r in runs))
                    if name.startswith("galera") else "—"))
        lines.append("")
        lines.append("Transactions the database aborted during the runs "
                     "(deadlocks; on Galera also certification failures and "
                     "brute-force aborts), each replayed by Vigil or answered "
                     "503: Galera %d, single server %d." % (
                         self.aborted.get("galera", 0),
                         self.aborted.get("single", 0)))
        return "\n".join(lines), bad


def fmt(x):
    return "{:,.0f}".format(x)


def checks(bench, c):
    """After the runs: every node holds the same alerts and findings
    history, and the audit chain verifies on both databases."""
    out = []
    ok = True
    tid = bench.backends["galera"]["tid"]
    counts = {}
    for node in cl.DB_NODES:
        counts[node] = tuple(c.rows(node, "SET SESSION wsrep_sync_wait = 1; "
                                    "SELECT (SELECT COUNT(*) FROM vigil.alerts"
                                    " WHERE tenant_id = '%s'), (SELECT "
                                    "COUNT(*) FROM vigil.finding_history "
                                    "WHERE tenant_id = '%s')" % (tid, tid))[0])
    same = len(set(counts.values())) == 1
    ok = ok and same
    out.append("alerts, finding history entries per node: %s (%s)" % (
        counts, "the same" if same else "DIFFERENT"))
    for name, b in bench.backends.items():
        c.ctl.conf = b["conf"]
        try:
            r = c.ctl.vigilctl("audit", "verify", "--tenant", TENANT,
                               check=False, timeout=600)
        finally:
            c.ctl.conf = os.path.join(c.root, "vigil.conf")
        ok = ok and r.returncode == 0
        out.append("vigilctl audit verify (%s): %s" % (
            name, "ok" if r.returncode == 0 else "FAILED: " +
            (r.stdout + r.stderr).strip()[:300]))
    return ok, out


def main():
    if os.geteuid() != 0:
        print("bench/cluster.py: needs root (the cluster harness makes "
              "network namespaces)")
        return 1
    if shutil.which("wrk") is None:
        print("bench/cluster.py: wrk is not installed (apt-get install wrk)")
        return 1
    builddir = os.environ.get("VIGIL_BUILDDIR") or os.getcwd()
    srcdir = os.environ.get("VIGIL_SRCDIR") or TOP
    root = tempfile.mkdtemp(prefix="vigil-bench-cluster-")
    os.chmod(root, 0o755)
    c = cl.Cluster(root, srcdir, builddir, lifetime=1800)

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_term)
    rc = 1
    t0 = time.monotonic()
    try:
        commit = subprocess.run(["git", "-C", srcdir, "rev-parse", "--short",
                                 "HEAD"], capture_output=True,
                                text=True).stdout.strip() or "?"
        c.up()
        # Nothing to scan or deliver: their polling would only be load.
        for h in cl.SCAN_HOSTS + cl.SPOOL_HOSTS:
            c.stop(h)
        bench = Bench(c)
        bench.single_start()
        single_conf = c.write_conf(os.path.join(root, "vigil-single.conf"),
                                   db_port=str(SINGLE_PORT))
        c.ctl.conf = single_conf
        try:
            c.ctl.vigilctl("migrate", timeout=600)
        finally:
            c.ctl.conf = os.path.join(root, "vigil.conf")
        bench.backend("galera", os.path.join(root, "vigil.conf"),
                      lambda q: c.rows("db1", q))
        bench.backend("single", single_conf, bench.single_sql)
        bench.pools_start()
        bench.lb_start()
        started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
        log("bench: %d rounds x %d workloads x %d entrances x %d s "
            "(set up in %.0f s)" % (RUNS, len(WORKLOADS), len(ENTRANCES),
                                    DURATION, time.monotonic() - t0))
        for rnd in range(RUNS):
            bench.loads.append(loadavg())
            print("round %d: load %s" % (rnd + 1, bench.loads[-1]),
                  flush=True)
            for w in WORKLOADS:
                for e in ENTRANCES:
                    bench.measure(rnd, e, w)
            bench.loads.append(loadavg())
        ended = time.strftime("%H:%M", time.gmtime())
        # Requests wrk left in flight commit before the checks.
        time.sleep(2)
        table, bad = bench.report(commit, started, ended)
        ok, notes = checks(bench, c)
        print()
        print(table)
        print()
        print("non-2xx answers or socket errors: %d" % bad)
        for n in notes:
            print(n)
        results = os.path.join(builddir, "bench", "results")
        os.makedirs(results, exist_ok=True)
        with open(os.path.join(results, "cluster.md"), "w") as f:
            f.write(table + "\n")
        rc = 0 if ok and bad == 0 else 1
    except KeyboardInterrupt:
        print("bench/cluster.py: interrupted", file=sys.stderr)
        rc = 130
    except StackError as e:
        print("bench/cluster.py: %s" % e, file=sys.stderr)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        c.down()
        if rc == 0:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print("logs: %s/log" % root, file=sys.stderr)
        log("bench/cluster.py took %.0f s" % (time.monotonic() - t0))
    return rc


if __name__ == "__main__":
    sys.exit(main())
