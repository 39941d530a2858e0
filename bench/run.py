#!/usr/bin/env python3
"""bench/run.py: "make bench" (BENCH_ONLY=run runs only this part).
Throughput and latency of vigil-api behind nginx, as a share of two
FastCGI responders built and measured in the same run, behind the same
nginx configuration (the shipped etc/nginx/vigil.conf) with the same
number of processes:
  minimal     bench/minimal.c: libfcgi + json-c, no database
  one select  bench/oneselect.c: the same plus one prepared primary-key
              SELECT of a finding per request, its row written as JSON:
              the ceiling for GET /api/v1/findings/{id}
Absolute numbers drift between machines and runs; the shares are what to
compare.

Each path is measured BENCH_ROUNDS times (default 5) for BENCH_DURATION
seconds (default 5) with wrk (2 threads, BENCH_CONNECTIONS connections).
A round measures every path once, the references included, and every
other round runs them in the reverse order, so that a machine getting
busier or quieter during the run weighs on Vigil and on the references
alike; a share is taken within its round. The table gives the median of
the rounds and their spread (min-max), the machine's load average before
and after, and the targets of issue 11 with whether the median meets them.

Paths (over BENCH_FINDINGS findings of one tenant, default 100,000, 90 %
open): the two references, GET /healthz (its outbox and scans checks;
no spooler runs, so the accepts' events wait undispatched and its count
walks up to the 10,000 it stops at),
GET /api/v1/api-keys (authentication, the rate limit counted in the
pool's shared memory, the page), GET /api/v1/findings?limit=100 plain,
with severity and category, with state=all and environment,
GET /api/v1/findings/{id} (the id the one-select responder reads too),
and POST /api/v1/findings/{id}/accept from 16 clients over different
open findings (every request a different one, of BENCH_ACCEPT_FINDINGS,
default 50,000, in a tenant of their own so that their churn leaves the
reads' index alone; they are opened again before each round, so a
non-2xx answer is a failure).

Then the list queries' EXPLAIN over BENCH_EXPLAIN_ROWS (1,000,000) more
findings (0 skips it).

The table is printed and written, with its date, commit and load, to
BUILDDIR/bench/results/run.md; "make bench-readme" (bench/readme.py) puts
it into README.md between <!-- bench:run:begin --> and
<!-- bench:run:end -->.

Needs wrk (apt-get install wrk). Environment: VIGIL_BUILDDIR,
VIGIL_SRCDIR, BENCH_ROUNDS (5), BENCH_DURATION (5), BENCH_CONNECTIONS (16),
BENCH_WORKERS (4), BENCH_FINDINGS (100000), BENCH_ACCEPT_FINDINGS (50000),
BENCH_EXPLAIN_ROWS (1000000),
BENCH_PATHS (a comma list of path keys to measure, for a quick look:
minimal, oneselect, healthz, apikeys, list, list-sev, list-all, get,
accept; default all).
"""

import datetime
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))

import stack  # noqa: E402
from wrkrun import cpu_ticks  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
DURATION = int(os.environ.get("BENCH_DURATION", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
FINDINGS = int(os.environ.get("BENCH_FINDINGS", "100000"))
ACCEPT_FINDINGS = int(os.environ.get("BENCH_ACCEPT_FINDINGS", "50000"))
EXPLAIN_ROWS = int(os.environ.get("BENCH_EXPLAIN_ROWS", "1000000"))
THREADS = 2
PATHS = [p for p in os.environ.get("BENCH_PATHS", "").split(",") if p]

ID_PREFIX = "azure-bench-rule-"     # + the row's number in 8 hex digits


def load_findings(st, tenant_id, n):
    """n synthetic findings for tenant_id, straight into the table (the
    Sequence engine makes the rows; going through the API would measure
    the loader, not the reads). Row k's id ends in k in hex; every tenth
    is accepted, the others open. In statements of 100,000 rows, with no
    time limit: with the test stack's 64 MiB pool and the machine busy
    one took over the minute stack.sql allows a statement by default."""
    for first in range(1, n + 1, 100000):
        load_rows(st, tenant_id, first, min(n, first + 99999))


def load_rows(st, tenant_id, first, last):
    st.sql("""INSERT INTO findings (tenant_id, id, rule_id, provider,
        subscription_id, environment, resource_id, title, severity,
        category, layer, framework, description, recommendation, evidence,
        fingerprint, state, detected_at, updated_at, last_seen_at)
      SELECT '%s', CONCAT('%s', LOWER(LPAD(HEX(seq), 8, '0'))),
        CONCAT('bench-rule-', seq %% 40), 'azure',
        ELT(1 + seq %% 3, 'sub-prod', 'sub-staging', 'sub-dev'),
        ELT(1 + seq %% 3, 'PROD', 'STAGING', 'DEV'),
        CONCAT('/subscriptions/sub/resourceGroups/rg/providers/x/r', seq),
        CONCAT('Benchmark finding ', seq),
        ELT(1 + seq %% 5, 'critical', 'high', 'medium', 'low', 'info'),
        ELT(1 + seq %% 5, 'network', 'identity', 'storage', 'keyvault',
            'compliance'),
        'infrastructure', 'NIST 800-53 SC-7, CIS Azure 6.1',
        'NSG rule allows inbound from 0.0.0.0/0 to port 22.',
        'Restrict source to corporate IPs or use Azure Bastion.',
        '{"name":"allow-ssh","properties":{"access":"Allow"}}',
        SHA2(seq, 256),
        IF(seq %% 10 = 0, 'accepted', 'open'),
        NOW() - INTERVAL seq SECOND, NOW() - INTERVAL seq SECOND, NOW()
      FROM seq_%d_to_%d""" % (tenant_id, ID_PREFIX, first, last),
               database="vigil", timeout=None)


def reopen(st, tenant_id):
    """Open again the findings load_findings made open that a round of
    accepts accepted (the finding_counts triggers follow)."""
    st.sql("UPDATE findings SET state = 'open', accepted_until = NULL "
           "WHERE tenant_id = '%s' AND state = 'accepted' "
           "AND CONV(SUBSTRING(id, %d), 16, 10) %% 10 <> 0"
           % (tenant_id, len(ID_PREFIX) + 1), database="vigil")


def accept_script(path, ids):
    """A wrk script POSTing accept to each of ids in turn: thread t of T
    takes ids t, t + T, ...; the connections of a thread share its turn,
    so no two requests of a run name the same finding (until the ids run
    out; then they start over and get 409s, counted as failures)."""
    expires = (datetime.datetime.now(datetime.timezone.utc) +
               datetime.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = ('{"justification":"benchmark: accepted risk",'
            '"expires_at":"%s","user":"bench@example.com"}' % expires)
    with open(path, "w") as f:
        f.write("ids = {\n")
        for i in ids:
            f.write('"%s",\n' % i)
        f.write("}\n")
        f.write("""
local nthreads = 0
function setup(thread)
    thread:set("tid", nthreads)
    nthreads = nthreads + 1
end
local step = 0
function init(args)
    wrk.headers["Content-Type"] = "application/json"
end
function request()
    local k = (tid + step * %d) %% #ids + 1
    step = step + 1
    return wrk.format("POST", "/api/v1/findings/" .. ids[k] .. "/accept",
        nil, '%s')
end
""" % (THREADS, body))


def with_children(pid):
    return [pid] + stack.children(pid) if pid else []


def wrk(url, headers=(), extra=(), cpu_pids=None):
    """(req/s, p99 ms, failures, CPU µs per request of cpu_pids)."""
    argv = ["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS, "-d%ds" % DURATION,
            "--latency"] + list(extra)
    for h in headers:
        argv += ["-H", h]
    pids = cpu_pids() if cpu_pids else []
    t0 = cpu_ticks(pids)
    out = subprocess.run(argv + [url], capture_output=True, text=True,
                         check=True).stdout
    ticks = cpu_ticks(pids) - t0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors:.*?(\d+) read, (\d+) write, "
                     r"(\d+) timeout", out)
    bad = int(non2xx.group(1)) if non2xx else 0
    if errs:
        bad += sum(int(g) for g in errs.groups())
    n = int(re.search(r"(\d+) requests in", out).group(1))
    cpu = ticks * 1e6 / os.sysconf("SC_CLK_TCK") / n if n else 0.0
    return rps, float(p99.group(1)) * scale, bad, cpu


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def describe(srcdir):
    try:
        r = subprocess.run(["git", "-C", srcdir, "describe", "--always",
                            "--dirty", "--tags"], capture_output=True,
                           text=True, timeout=10)
        b = subprocess.run(["git", "-C", srcdir, "rev-parse",
                            "--abbrev-ref", "HEAD"], capture_output=True,
                           text=True, timeout=10)
        if r.returncode == 0:
            return "%s (%s)" % (r.stdout.strip(), b.stdout.strip())
    except OSError:
        pass
    return "unknown"


def build_kind(builddir):
    """How the measured build was configured (config.status), so that a
    figure of a debug or ASan build is not taken for a release one."""
    try:
        r = subprocess.run([os.path.join(builddir, "config.status"),
                            "--config"], capture_output=True, text=True,
                           timeout=10)
        cfg = r.stdout.strip()
    except OSError:
        cfg = "?"
    if "asan" in cfg or "debug" in cfg:
        return "%s -- NOT a release build" % (cfg or "?")
    return "release (configure %s)" % (cfg or "without options")


def start_responder(builddir, root, name, argv_bin, env=None):
    """A reference responder behind its own nginx (the shipped
    configuration): (stack, process)."""
    s = stack.Stack(os.path.join(root, name), builddir=builddir)
    s.mkdirs()
    sock = os.path.join(s.run, name + ".sock")
    p = subprocess.Popen([argv_bin, sock, str(WORKERS)],
                         start_new_session=True,
                         env=dict(os.environ, **(env or {})))
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    s.api_sock = sock
    s.nginx_start()
    return s, p


def med(xs):
    return statistics.median(xs)


def spread(xs, fmt):
    """median (min–max) of xs, each formatted by the function fmt."""
    if len(xs) == 1:
        return fmt(xs[0])
    return "%s (%s–%s)" % (fmt(med(xs)), fmt(min(xs)), fmt(max(xs)))


def table(rows, res, meta):
    """The Markdown report: rows are (key, label); res[key] a list of
    per-round dicts rps, p99, bad, share_min, share_one."""
    out = []
    out.append("Measured %s UTC, commit %s, %s; %d CPUs (nproc); "
               "%d rounds × %d s per path, wrk -t2 -c%d, %d processes "
               "per responder, %s findings in the tenant. Load average "
               "(1, 5, 15 min) before: %s; after: %s; at each round's "
               "start: %s." % (
                   meta["date"], meta["commit"], meta["build"],
                   meta["nproc"], meta["rounds"], DURATION, CONNECTIONS,
                   WORKERS, "{:,}".format(FINDINGS), meta["load_before"],
                   meta["load_after"], ", ".join(meta["load_rounds"])))
    out.append("")
    out.append("Each cell: median of the rounds (min–max). A share is "
               "Vigil's req/s over the reference's in the same round. CPU "
               "is what the path's processes used per request during its "
               "runs (the responder's processes, its nginx, and MariaDB "
               "but for the minimal responder): other engineers' work "
               "slows every path but adds little to it, so CPU shares "
               "say what a quiet machine's ratios would be.")
    out.append("")
    out.append("| path | req/s | p99 ms | share of minimal | "
               "share of one select | CPU µs/request (share of minimal, "
               "of one select) | non-2xx | target |")
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for key, label, target in rows:
        rs = res.get(key)
        if not rs:
            continue
        rps = [r["rps"] for r in rs]
        p99 = [r["p99"] for r in rs]
        bad = sum(r["bad"] for r in rs)
        smin = [r["share_min"] for r in rs if r.get("share_min")]
        sone = [r["share_one"] for r in rs if r.get("share_one")]
        cpu = [r["cpu"] for r in rs]
        cshare = ""
        if key not in ("minimal",) and rs[0].get("cpu_min"):
            cshare = " (%.0f %%" % (100 * med([r["cpu_min"] for r in rs]))
            if rs[0].get("cpu_one"):
                cshare += ", %.0f %%" % (100 * med([r["cpu_one"]
                                                   for r in rs]))
            cshare += ")"
        cells = [label, spread(rps, "{:,.0f}".format),
                 spread(p99, "{:.1f}".format),
                 spread([100 * s for s in smin], "{:.0f} %".format)
                 if smin else "",
                 spread([100 * s for s in sone], "{:.0f} %".format)
                 if sone else "",
                 spread(cpu, "{:.0f}".format) + cshare,
                 str(bad), target(rs) if target else ""]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def verdict(ok, what):
    return "%s — **%s**" % (what, "met" if ok else "not met")


def main():
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (apt-get install wrk)")
        return 1
    builddir = os.environ.get("VIGIL_BUILDDIR") or os.getcwd()
    srcdir = os.environ.get("VIGIL_SRCDIR") or os.path.dirname(HERE)
    root = tempfile.mkdtemp(prefix="vigil-bench-")
    os.chmod(root, 0o755)
    st = stack.Stack(os.path.join(root, "vigil"), builddir=builddir)
    refs = []
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime(
                "%Y-%m-%d %H:%M"),
            "commit": describe(srcdir), "build": build_kind(builddir),
            "nproc": os.cpu_count(), "rounds": ROUNDS,
            "load_before": loadavg(), "load_rounds": []}
    try:
        # The limits must not be what is measured: vigil.conf's, which
        # may be higher than a tenant's own (at most 100000 a minute).
        st.up(workers=WORKERS, conf_extra={
            "rate_read_per_min": 1000000, "rate_write_per_min": 1000000})
        tid = st.tenant_ensure("bench")
        key, _ = st.key_create("bench", scopes="read,write,admin")
        atid = st.tenant_ensure("bench-accept")
        akey, _ = st.key_create("bench-accept", scopes="read,write")
        t0 = time.monotonic()
        load_findings(st, tid, FINDINGS)
        load_findings(st, atid, ACCEPT_FINDINGS)
        st.sql("ANALYZE TABLE findings", database="vigil")
        print("bench: loaded %d + %d findings in %.1f s" % (
            FINDINGS, ACCEPT_FINDINGS, time.monotonic() - t0))
        fid = st.query("SELECT id FROM findings WHERE tenant_id = '%s' AND "
                       "state = 'open' ORDER BY id LIMIT 1 OFFSET %d"
                       % (tid, FINDINGS // 3))[0][0]
        open_ids = [r[0] for r in st.query(
            "SELECT id FROM findings WHERE tenant_id = '%s' AND "
            "state = 'open' ORDER BY id" % atid)]

        mini, mp = start_responder(builddir, root, "minimal", os.path.join(
            builddir, "bench", "bench-minimal"))
        refs.append((mini, mp))
        one, op = start_responder(builddir, root, "oneselect",
                                  os.path.join(builddir, "bench",
                                               "bench-oneselect"), env={
            "BENCH_DB_HOST": "127.0.0.1",
            "BENCH_DB_PORT": str(st.state["ports"]["db"]),
            "BENCH_DB_USER": "vigil",
            "BENCH_DB_PASSWORD": st.state["db_password"],
            "BENCH_DB_NAME": "vigil", "BENCH_TENANT": tid})
        refs.append((one, op))

        vigil = st.urls()["nginx"]
        auth = ("X-API-Key: " + key,)
        script = os.path.join(root, "accept.lua")
        accept_script(script, open_ids)
        getpath = "/api/v1/findings/" + fid
        # (key, label, url, headers, wrk options, reference it is a share
        # of besides minimal)
        dbpid = st.running_pid("mariadb")

        def group(app_pid, s, db=True):
            """The processes a path runs on: the responder and its
            workers, its nginx and its workers, the database."""
            return lambda: (with_children(app_pid) +
                            with_children(s.running_pid("nginx")) +
                            ([dbpid] if db and dbpid else []))
        cpu_of = {"minimal": group(mp.pid, mini, db=False),
                  "oneselect": group(op.pid, one)}
        vigil_cpu = group(st.api_pid(), st)
        paths = [
            ("minimal", "minimal responder (no database)",
             mini.urls()["nginx"] + "/", (), ()),
            ("oneselect", "one-select responder (one point SELECT)",
             one.urls()["nginx"] + getpath, (), ()),
            ("healthz", "`GET /healthz`", vigil + "/healthz", (), ()),
            ("apikeys", "`GET /api/v1/api-keys`",
             vigil + "/api/v1/api-keys", auth, ()),
            ("get", "`GET /api/v1/findings/{id}`", vigil + getpath, auth,
             ()),
            ("list", "`GET /api/v1/findings?limit=100`",
             vigil + "/api/v1/findings?limit=100", auth, ()),
            ("list-sev", "  … `&severity=critical,high&category=network`",
             vigil + "/api/v1/findings?limit=100&severity=critical,high"
             "&category=network", auth, ()),
            ("list-all", "  … `&state=all&environment=PROD`",
             vigil + "/api/v1/findings?limit=100&state=all"
             "&environment=PROD", auth, ()),
            ("accept", "`POST /api/v1/findings/{id}/accept` "
             "(16 clients, a different open finding each request)",
             vigil + "/api/v1/findings/x/accept", ("X-API-Key: " + akey,),
             ("-s", script)),
        ]
        if PATHS:
            paths = [p for p in paths if p[0] in PATHS or
                     p[0] in ("minimal", "oneselect")]
        # Every path must answer 2xx, or its figure means nothing.
        for k, _, url, hdrs, extra in paths:
            if k == "accept":
                continue
            code, body = stack.http_get(url, dict(h.split(": ", 1)
                                                  for h in hdrs))
            if code != 200:
                raise stack.StackError("%s answered %d: %s" % (
                    url, code, body[:300]))
        res = {p[0]: [] for p in paths}
        print("bench: %d rounds × %d s per path, %d connections, "
              "%d processes each; load %s" % (ROUNDS, DURATION,
                                               CONNECTIONS, WORKERS,
                                               loadavg()))
        for rnd in range(ROUNDS):
            meta["load_rounds"].append(loadavg().split()[0])
            order = paths if rnd % 2 == 0 else list(reversed(paths))
            this = {}
            for k, label, url, hdrs, extra in order:
                if k == "accept":
                    reopen(st, atid)
                rps, p99, bad, cpu = wrk(url, hdrs, extra,
                                         cpu_of.get(k, vigil_cpu))
                this[k] = {"rps": rps, "p99": p99, "bad": bad, "cpu": cpu}
                print("  round %d  %-10s %9.0f req/s  p99 %7.2f ms  "
                      "non-2xx %d  CPU %5.0f µs/request  load %s"
                      % (rnd + 1, k, rps, p99, bad, cpu,
                         loadavg().split()[0]), flush=True)
            for k, r in this.items():
                if k != "minimal":
                    r["share_min"] = r["rps"] / this["minimal"]["rps"]
                    if r["cpu"]:
                        r["cpu_min"] = this["minimal"]["cpu"] / r["cpu"]
                if k == "get":
                    r["share_one"] = r["rps"] / this["oneselect"]["rps"]
                    if r["cpu"]:
                        r["cpu_one"] = this["oneselect"]["cpu"] / r["cpu"]
                res[k].append(r)
        meta["load_after"] = loadavg()

        def get_target(rs):
            sm = med([r["share_min"] for r in rs])
            so = med([r["share_one"] for r in rs])
            return verdict(so >= 0.80 and sm >= 0.40,
                           "≥ 80 % of one select and ≥ 40 % of minimal")

        def list_target(rs):
            return verdict(med([r["p99"] for r in rs]) < 25.0,
                           "p99 < 25 ms")

        def accept_target(rs):
            return verdict(med([r["rps"] for r in rs]) >= 2000 and
                           sum(r["bad"] for r in rs) == 0,
                           "≥ 2,000 req/s, no failures")

        rows = [("minimal", "minimal responder (no database)", None),
                ("oneselect", "one-select responder (one point `SELECT`)",
                 None),
                ("healthz", "`GET /healthz` (outbox and scans checks, "
                 "no spooler: up to 10,000 pending events counted)", None),
                ("apikeys", "`GET /api/v1/api-keys`", None),
                ("get", "`GET /api/v1/findings/{id}`", get_target),
                ("list", "`GET /api/v1/findings?limit=100`", list_target),
                ("list-sev", "… `&severity=critical,high&category=network`",
                 None),
                ("list-all", "… `&state=all&environment=PROD`", None),
                ("accept", "`POST /api/v1/findings/{id}/accept` (16 "
                 "clients, a different open finding each)", accept_target)]
        report = table(rows, res, meta)
        print("\n" + report)
        outdir = os.path.join(builddir, "bench", "results")
        os.makedirs(outdir, exist_ok=True)
        with open(os.path.join(outdir, "run.md"), "w") as f:
            f.write(report)
        print("bench: written to %s (make bench-readme puts it into "
              "README.md)" % os.path.join(outdir, "run.md"))

        if EXPLAIN_ROWS > 0:
            big = st.tenant_ensure("bench-explain")
            t0 = time.monotonic()
            load_findings(st, big, EXPLAIN_ROWS)
            st.sql("ANALYZE TABLE findings", database="vigil")
            print("\nloaded %d more findings in %.1f s; EXPLAIN of the "
                  "list queries over them:" % (EXPLAIN_ROWS,
                                               time.monotonic() - t0))
            where = ("tenant_id = '%s' AND state IN ('open','open','open',"
                     "'open','open') AND severity IN (%s) "
                     "AND (NULL IS NULL OR category = NULL) "
                     "AND seq < 4611686018427387904" % (big, "%s"))
            allsev = "'critical','high','medium','low','info'"
            # The index each is forced to in db.c (findings_list picks the
            # statement): SQL_FINDING_LIST, _SEV (one severity), _CAT.
            for what, index, cond in (
                    ("default (state=open)", "findings_state_seq",
                     where % allsev),
                    ("severity=critical,high", "findings_state_seq",
                     where % "'critical','high','high','high','high'"),
                    ("severity=critical", "findings_state_sev_seq",
                     where % "'critical','critical','critical',"
                     "'critical','critical'"),
                    ("category=network", "findings_state_cat_seq",
                     (where % allsev).replace(
                         "(NULL IS NULL OR category = NULL)",
                         "('network' IS NULL OR category = 'network')"))):
                print("  %s (FORCE INDEX (%s))" % (what, index))
                for row in st.query("EXPLAIN SELECT seq, id FROM findings "
                                    "FORCE INDEX (%s) "
                                    "WHERE %s ORDER BY seq DESC LIMIT 101"
                                    % (index, cond)):
                    print("    " + "\t".join(str(c) for c in row))
        print("\nEXPLAIN of the authentication lookup:")
        for row in st.query("EXPLAIN SELECT k.id FROM api_keys k JOIN "
                            "tenants t ON t.id = k.tenant_id WHERE "
                            "k.key_hash = REPEAT('0', 64)"):
            print("  " + "\t".join(str(c) for c in row))
        return 0
    finally:
        for s, p in refs:
            s.nginx_stop()
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=10)
        st.down()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
