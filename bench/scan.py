#!/usr/bin/env python3
"""bench/scan.py: "make bench", the scanner. vigil-scan (a release build)
over a generated Azure inventory of BENCH_SCAN_RESOURCES (100,000)
resources, one file of 1,000 resources per ARM list page, through the
inventory connector, on a private MariaDB (the test stack's):

  first       the first scan of the inventory (every finding new)
  unchanged   the same inventory again (every finding seen, none changed)
  changed     1 % of the resources changed: 0.5 % gone (their findings
              resolved), 0.5 % with another environment tag (their
              findings redescribed: history, event, audit entry)

each in resources per second (wall time of vigil-scan --once, which
includes its start, the collection, the writes and the end-of-scan
counts), the CPU time of vigil-scan and of mariadbd (what a shared
machine's wall time hides) and its peak RSS (getrusage of the child), BENCH_SCAN_RUNS (3)
times on a fresh database: median and spread; then a --dry-run (parse,
evaluate and read, no writes) for the ceiling the writes leave. Then the plan of the
end-of-scan query (SQL_SCAN_OPEN_COUNTS, read from src/db/db.c) and of the
scan-results page, with their time: the plan must read the integration's
open findings from the index alone (findings_integration_state, "Using
index"); anything else is reported as a REGRESSION and the script exits 1.
BENCH_SCAN_BIG=1 also runs a first scan of 1,000,000 resources, for peak RSS
against the 100,000 figure (it should not grow with the inventory);
BENCH_SCAN_BIG=2 an unchanged rescan of them too.

The resources are the shipped samples (etc/samples/azure: NSGs, VMs,
storage accounts, SQL servers with their firewall rules and auditing
settings, Key Vaults, web apps with their site configuration) cloned under
new names, ids and subscriptions, so the rules fire as they do on the
samples. Reading the files is measured too ("source"), to show the
inventory is not the bottleneck. Environment: VIGIL_BUILDDIR, VIGIL_SRCDIR,
BENCH_SCAN_RESOURCES, BENCH_SCAN_RUNS, BENCH_SCAN_BIG, BENCH_SCAN_POOL_MB
(the InnoDB buffer pool, default the test stack's 64), BENCH_SCAN_KEEP (keep
the database running and the inventory, for profiling).
"""

import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))

import stack  # noqa: E402

RESOURCES = int(os.environ.get("BENCH_SCAN_RESOURCES", "100000"))
RUNS = int(os.environ.get("BENCH_SCAN_RUNS", "3"))
BIG = os.environ.get("BENCH_SCAN_BIG", "") not in ("", "0")
POOL = int(os.environ.get("BENCH_SCAN_POOL_MB", "0")) * 1024 * 1024
PAGE = 1000
SUBS = ["%08x-0b7d-4e3a-9c6f-2d8e1a4b7c90" % (0x5f2a9c10 + i)
        for i in range(10)]


# --- the inventory ----------------------------------------------------------

def templates(srcdir):
    out = []
    for path in sorted(glob.glob(os.path.join(srcdir, "etc", "samples",
                                              "azure", "*.json"))):
        with open(path) as f:
            d = json.load(f)
        out += d["value"] if isinstance(d, dict) and "value" in d else \
            (d if isinstance(d, list) else [d])
    return out


def clone(tpl, i, env=None):
    """Template tpl as resource number i: its own name, id (and the ids
    of its children), subscription; env overrides the environment tag."""
    name = tpl["name"]
    old = tpl["id"]
    sub = SUBS[i % len(SUBS)]
    new = re.sub(r"^/subscriptions/[^/]+", "/subscriptions/" + sub,
                 old[:len(old) - len(name)] + "%s-%06d" % (name, i))
    text = json.dumps(tpl).replace(old, new)
    r = json.loads(text)
    r["name"] = "%s-%06d" % (name, i)
    r["subscriptionId"] = sub
    if env is not None:
        tags = r.setdefault("tags", {})
        for k in list(tags):
            if k.lower() in ("environment", "env"):
                del tags[k]
        tags["environment"] = env
    return r


def write_inventory(d, tpls, n, changed=False):
    """n resources in files of PAGE; changed: resources i % 200 == 0 are
    gone and i % 200 == 100 carry another environment tag (1 %)."""
    for f in glob.glob(os.path.join(d, "*.json")):
        os.unlink(f)
    page = []
    for i in range(n):
        if changed and i % 200 == 0:
            continue
        env = "CHANGED" if changed and i % 200 == 100 else None
        page.append(clone(tpls[i % len(tpls)], i, env))
        if len(page) == PAGE:
            flush(d, i, page)
            page = []
    if page:
        flush(d, n, page)


def flush(d, i, page):
    with open(os.path.join(d, "page-%07d.json" % i), "w") as f:
        json.dump({"value": page}, f)


def source_rate(d, n):
    """Resources per second of reading and parsing the files alone."""
    t0 = time.monotonic()
    count = 0
    for path in sorted(glob.glob(os.path.join(d, "*.json"))):
        with open(path) as f:
            count += len(json.load(f)["value"])
    return count / (time.monotonic() - t0)


# --- running vigil-scan -------------------------------------------------------

def db_cpu(st):
    """CPU seconds mariadbd has used (user + system)."""
    with open(st.pidfile("mariadb")) as f:
        pid = int(f.read())
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


CPU = {}    # label -> [CPU seconds of vigil-scan + mariadbd per run]


def run_scan(st, integ, extra=(), sample=0):
    """(seconds, peak RSS in KiB, stdout+stderr, CPU seconds of vigil-scan
    and of mariadbd) of one vigil-scan."""
    argv = [st.vigil_scan_bin, "-c", st.conf, "--once", "--integration",
            integ, *extra]
    c0 = db_cpu(st)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=st.env(), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if sample:
        # Peak RSS so far against resources scanned so far (the scans
        # row is refreshed every 2 s), while it runs.
        import threading

        def watch():
            while p.poll() is None:
                time.sleep(sample)
                try:
                    with open("/proc/%d/status" % p.pid) as f:
                        hwm = re.search(r"VmHWM:\s+(\d+)", f.read())
                    done = st.query("SELECT MAX(resources_scanned) FROM "
                                    "scans WHERE status = 'running'")
                except (OSError, stack.StackError):
                    continue
                if hwm and done and done[0][0] not in ("NULL", ""):
                    print("    %9s resources scanned, peak RSS so far "
                          "%.1f MiB" % (done[0][0], int(hwm.group(1)) /
                                        1024), flush=True)
        threading.Thread(target=watch, daemon=True).start()
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    text = out.decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError("vigil-scan exited %d:\n%s" % (p.returncode,
                                                         text[-3000:]))
    return dt, ru.ru_maxrss, text, (ru.ru_utime + ru.ru_stime,
                                    db_cpu(st) - c0)


def fresh_db(st):
    st.sql("DROP DATABASE IF EXISTS vigil")
    st.db_setup()
    st.migrate()


def setup_tenant(st, inv):
    st.vigilctl("tenant", "create", "bench")
    out = st.vigilctl("integration", "add-inventory", "--tenant", "bench",
                      "--name", "estate", "--path", inv).stdout
    m = re.search(r"int_[0-9A-Z]+", out)
    if not m:
        raise RuntimeError("no integration id in %r" % out)
    return m.group(0)


def one_run(st, inv, tpls, n):
    fresh_db(st)
    integ = setup_tenant(st, inv)
    write_inventory(inv, tpls, n)
    res = {}
    res["first"] = run_scan(st, integ)
    res["unchanged"] = run_scan(st, integ)
    write_inventory(inv, tpls, n, changed=True)
    res["changed"] = run_scan(st, integ)
    write_inventory(inv, tpls, n)
    return integ, res


# --- the end-of-scan query's plan ---------------------------------------------

def statement(srcdir, name):
    """The text of SQL_<name> in src/db/db.c, macros of one string
    expanded, placeholders as in the source."""
    with open(os.path.join(srcdir, "src", "db", "db.c")) as f:
        src = f.read()
    macros = dict(re.findall(r'#define (\w+)\s+("(?:[^"\\]|\\.)*")\s*\n',
                             src))
    m = re.search(r"\[%s\] =\s*\n((?:\s*(?:\"(?:[^\"\\]|\\.)*\"|\w+)\s*)+),"
                  % re.escape(name), src)
    if not m:
        raise RuntimeError("%s not found in db.c" % name)
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|(\w+)', m.group(1))
    text = ""
    for lit, macro in parts:
        text += lit if not macro else json.loads(macros[macro])
    return text


def bind(sql, *values):
    for v in values:
        sql = sql.replace("?", str(v) if isinstance(v, int) else
                          "'%s'" % v, 1)
    return sql


def explain(st, sql):
    """The plan, and the server's time running it (ANALYZE)."""
    rows = st.query("EXPLAIN " + sql)
    out = st.sql("ANALYZE FORMAT=JSON " + sql, database="vigil").stdout
    out = out.strip().replace("\\n", "\n")
    ms = json.loads(out)["query_block"].get("r_total_time_ms", -1.0)
    return rows, ms


def plans(st, srcdir, integ):
    sid = st.query("SELECT id FROM scans ORDER BY id DESC LIMIT 1")[0][0]
    ok = True
    print("\nplans (EXPLAIN: id, select_type, table, type, possible_keys, "
          "key, key_len, ref, rows, Extra) and times, %s findings:" %
          st.query("SELECT COUNT(*) FROM findings")[0][0])
    checks = [
        ("SQL_SCAN_OPEN_COUNTS", (integ,),
         lambda r: r[0][5] == "findings_integration_state" and
         "Using index" in r[0][9] and "filesort" not in r[0][9]),
        # The id is not in the index (the table is clustered on seq):
        # a range of (integration, open, severity, remediation), then the
        # rows of the few findings in it.
        ("SQL_SCAN_REMEDIATION", (integ,),
         lambda r: r[0][5] == "findings_integration_state" and
         r[0][3] == "range"),
        # Reads the integration's findings either way; with one
        # integration in the table MariaDB may rightly scan it all.
        ("SQL_FINDING_ABSENT", (integ, "azure", sid), None),
        # What a scan runs instead: one gap between the seqs it marked
        # seen (here the first thousand), its rows alone.
        ("SQL_FINDING_ABSENT_SEQS", (integ, "azure", sid, 1, 1000), None),
        ("SQL_SCAN_RESULTS", (sid, "", 101),
         lambda r: r[0][5] == "PRIMARY"),
        ("SQL_SCAN_RESULTS_COUNT", (sid,),
         lambda r: r[0][5] == "PRIMARY"),
    ]
    for name, vals, good in checks:
        sql = bind(statement(srcdir, name), *vals)
        rows, ms = explain(st, sql)
        verdict = "shown" if good is None else "ok" if good(rows) else \
            "REGRESSION"
        ok = ok and verdict != "REGRESSION"
        print("  %s: %.1f ms, %s" % (name, ms, verdict))
        for r in rows:
            print("    " + " | ".join(r))
    return ok


# --- report ---------------------------------------------------------------------

def summary(label, rates, rss):
    med = statistics.median(rates)
    scan = statistics.median(c[0] for c in CPU[label])
    db = statistics.median(c[1] for c in CPU[label])
    print("  %-10s %8.0f resources/s (runs: %s; spread %.0f-%.0f), "
          "peak RSS %s MiB" % (
              label, med, ", ".join("%.0f" % r for r in rates), min(rates),
              max(rates), "/".join("%.1f" % (k / 1024) for k in rss)))
    # What the wall time cannot show on a shared machine: the CPU each
    # side spent, and the rate if that were all (one core each at most).
    print("  %-10s CPU: vigil-scan %.1f s, mariadbd %.1f s: %.0f "
          "resources per CPU second of both, %.0f/s if each had a core" % (
              "", scan, db, RESOURCES / (scan + db),
              RESOURCES / max(scan, db)))
    return med


def report(st, srcdir, integ, per, rss):
    print("\nvigil-scan over %d resources (median of %d runs):"
          % (RESOURCES, RUNS))
    med = {k: summary(k, per[k], rss[k]) for k in per}
    nfind = st.query("SELECT COUNT(*) FROM findings")[0][0]
    print("  findings in the tenant: %s" % nfind)
    targets = (("first", 10000), ("unchanged", 30000), ("changed", 20000))
    for k, t in targets:
        print("  target %-9s >= %d/s: %s" % (k, t, "met" if med[k] >= t
                                             else "NOT met"))
    # The ceiling without writes: parse, evaluate, read each batch's
    # stored rows (dry runs write nothing).
    dt, kib, _, cpu = run_scan(st, integ, ("--dry-run",))
    print("  dry run    %8.0f resources/s, peak RSS %.1f MiB (parse, "
          "evaluate, one read per batch; CPU: vigil-scan %.1f s, "
          "mariadbd %.1f s)" % (RESOURCES / dt, kib / 1024, cpu[0], cpu[1]))
    return plans(st, srcdir, integ)


def main():
    builddir = os.environ.get("VIGIL_BUILDDIR") or os.getcwd()
    srcdir = os.environ.get("VIGIL_SRCDIR") or os.path.dirname(HERE)
    try:
        with open(os.path.join(builddir, "config.log")) as f:
            if "-fsanitize" in f.read():
                print("bench/scan.py: %s is a sanitizer build; measure a "
                      "release build (../configure)" % builddir)
                return 1
    except OSError:
        pass
    tpls = templates(srcdir)
    root = tempfile.mkdtemp(prefix="vigil-bench-scan-")
    os.chmod(root, 0o755)
    st = stack.Stack(os.path.join(root, "vigil"), srcdir=srcdir,
                     builddir=builddir)
    inv = os.path.join(root, "inventory")
    os.makedirs(inv)
    integ = None
    try:
        st.mkdirs()
        st.db_init()
        st.db_start()
        if POOL:
            # The test stack's MariaDB has a 64 MiB buffer pool; a server
            # sized for its data holds the tenant's findings in memory.
            st.sql("SET GLOBAL innodb_buffer_pool_size = %d" % POOL)
        st.db_setup()
        st.write_conf()
        write_inventory(inv, tpls, RESOURCES)
        src = source_rate(inv, RESOURCES)
        print("bench/scan.py: %d resources (%d templates from "
              "etc/samples/azure), %d per file; %d runs; reading the files "
              "alone (Python json): %.0f resources/s" % (
                  RESOURCES, len(tpls), PAGE, RUNS, src))
        per = {"first": [], "unchanged": [], "changed": []}
        rss = {"first": [], "unchanged": [], "changed": []}
        for run in range(RUNS):
            integ, res = one_run(st, inv, tpls, RESOURCES)
            for k, (dt, kib, out, cpu) in res.items():
                per[k].append(RESOURCES / dt)
                rss[k].append(kib)
                CPU.setdefault(k, []).append(cpu)
                m = re.search(r"(\d+) detected, (\d+) resolved, (\d+) "
                              r"reopened", out)
                if run == 0 and m:
                    print("  run 1 %-9s %.2f s, %s detected, %s resolved"
                          % (k, dt, m.group(1), m.group(2)))
        ok = True
        if RUNS == 0:       # BENCH_SCAN_RUNS=0: the 1,000,000 run alone
            rss["first"] = [0]
        else:
            ok = report(st, srcdir, integ, per, rss)
        if BIG:
            n = 1000000
            fresh_db(st)
            big = setup_tenant(st, inv)
            write_inventory(inv, tpls, n)
            print("\n1,000,000 resources, first scan:")
            dt, kib, _, _ = run_scan(st, big, sample=30)
            print("1,000,000 resources: first scan %.0f resources/s, "
                  "peak RSS %.1f MiB (100,000: %.1f MiB)" % (
                      n / dt, kib / 1024,
                      statistics.median(rss["first"]) / 1024))
            if os.environ.get("BENCH_SCAN_BIG") == "2":
                dt, kib, _, _ = run_scan(st, big)
                print("1,000,000 resources: unchanged %.0f resources/s, "
                      "peak RSS %.1f MiB (100,000: %.1f MiB)" % (
                          n / dt, kib / 1024,
                          statistics.median(rss["unchanged"]) / 1024))
        return 0 if ok else 1
    finally:
        if os.environ.get("BENCH_SCAN_KEEP"):
            print("kept %s (integration %s)" % (root, integ))
        else:
            try:
                st.db_stop()
            finally:
                shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
