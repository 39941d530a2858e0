#!/usr/bin/env python3
"""bench/scanfloor.py: the floor under a first scan's server CPU, what the
rows a new finding must write cost InnoDB alone. Not part of "make bench"
(run it by hand, from a release build directory, as bench/scan.py).

A first scan of BENCH_SCAN_RESOURCES (100,000) resources, generated as
bench/scan.py generates them, is run once on a fresh database of the test
stack's MariaDB (64 MiB buffer pool, BENCH_SCAN_POOL_MB changes it) to have
the rows a first scan writes: per new finding its findings row, one
finding_history row, one event, one audit entry and one scan result.
Those rows are then copied, numbered, into plain source tables, and
inserted again into copies of the five tables with the same columns and
indexes (CREATE TABLE ... LIKE: no trigger, no foreign key), 256
findings' rows per transaction as the batch writer groups them, each
table's share by INSERT ... SELECT of a range of the source's numbers: no
statement to parse or send, no trigger, no counter, no procedure, no
Vigil logic. mariadbd's CPU seconds for that (user + system from
/proc/PID/stat) are the floor; BENCH_FLOOR_RUNS (3) times, each into
empty copies, median and spread, beside the first scan's own.

What the floor leaves out, and a real write cannot: the statements' text
and parameters (the batch writer's are prepared, 64 rows a statement),
the reads of the batch's stored rows and the schema, the counters and
tags, the triggers that remain, and the commits' client round trips.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))

import scan as bs  # noqa: E402
import stack  # noqa: E402

RUNS = int(os.environ.get("BENCH_FLOOR_RUNS", "3"))
BATCH = 256
# Each table's rows in a first scan, in the order the writer inserts them.
TABLES = (("findings", "seq"), ("finding_history", "seq"),
          ("events", "seq"), ("audit_log", "tenant_id, seq"),
          ("scan_results", "scan_id, finding_id"))


def columns(st, table):
    return ", ".join("`%s`" % r[0] for r in st.query(
        "SELECT column_name FROM information_schema.columns WHERE "
        "table_schema = 'vigil' AND table_name = '%s' ORDER BY "
        "ordinal_position" % table))


def sources(st):
    """Numbered copies of the first scan's rows (rn from 1), and the
    count of each."""
    n = {}
    for t, order in TABLES:
        st.sql("DROP TABLE IF EXISTS floor_src_%s; CREATE TABLE "
               "floor_src_%s ENGINE=InnoDB AS SELECT ROW_NUMBER() OVER "
               "(ORDER BY %s) AS rn, x.* FROM %s x; ALTER TABLE "
               "floor_src_%s ADD PRIMARY KEY (rn)" % (t, t, order, t, t),
               database="vigil")
        n[t] = int(st.query("SELECT COUNT(*) FROM floor_src_%s" % t)[0][0])
    return n


def script(st, n):
    """The SQL that writes the rows again, 256 findings' worth a
    transaction, each table's rows in proportion."""
    cols = {t: columns(st, t) for t, _ in TABLES}
    nf = n["findings"]
    out = []
    for a in range(0, nf, BATCH):
        b = min(nf, a + BATCH)
        out.append("BEGIN;")
        for t, _ in TABLES:
            lo = a * n[t] // nf + 1
            hi = b * n[t] // nf
            if hi >= lo:
                out.append("INSERT INTO floor_%s (%s) SELECT %s FROM "
                           "floor_src_%s WHERE rn BETWEEN %d AND %d;" % (
                               t, cols[t], cols[t], t, lo, hi))
        out.append("COMMIT;")
    return "\n".join(out) + "\n"


def floor_run(st, sql):
    for t, _ in TABLES:
        st.sql("DROP TABLE IF EXISTS floor_%s; CREATE TABLE floor_%s LIKE "
               "%s" % (t, t, t), database="vigil")
    path = os.path.join(st.root, "floor.sql")
    with open(path, "w") as f:
        f.write(sql)
    c0 = bs.db_cpu(st)
    with open(path) as f:
        r = subprocess.run(
            [stack.which("mariadb", "mysql"), "--no-defaults", "-S",
             st.db_sock, "-uroot", "vigil"], stdin=f, capture_output=True,
            text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return bs.db_cpu(st) - c0


def main():
    builddir = os.environ.get("VIGIL_BUILDDIR") or os.getcwd()
    srcdir = os.environ.get("VIGIL_SRCDIR") or os.path.dirname(HERE)
    root = tempfile.mkdtemp(prefix="vigil-bench-floor-")
    os.chmod(root, 0o755)
    st = stack.Stack(os.path.join(root, "vigil"), srcdir=srcdir,
                     builddir=builddir)
    inv = os.path.join(root, "inventory")
    os.makedirs(inv)
    try:
        st.mkdirs()
        st.db_init()
        st.db_start()
        if bs.POOL:
            st.sql("SET GLOBAL innodb_buffer_pool_size = %d" % bs.POOL)
        st.db_setup()
        st.write_conf()
        bs.fresh_db(st)
        bs.write_inventory(inv, bs.templates(srcdir), bs.RESOURCES)
        integ = bs.setup_tenant(st, inv)
        dt, _, _, (scan_cpu, db_cpu) = bs.run_scan(st, integ)
        n = sources(st)
        nf = n["findings"]
        print("bench/scanfloor.py: first scan of %d resources, %d findings:"
              " %.1f s, CPU vigil-scan %.1f s, mariadbd %.1f s (%.0f us per "
              "finding)" % (bs.RESOURCES, nf, dt, scan_cpu, db_cpu,
                            db_cpu * 1e6 / nf))
        print("  rows: %s" % ", ".join("%s %d" % kv for kv in n.items()))
        sql = script(st, n)
        cpu = [floor_run(st, sql) for _ in range(RUNS)]
        med = statistics.median(cpu)
        print("  floor: mariadbd %.2f s (runs: %s; spread %.2f-%.2f), %.0f "
              "us per finding, %.0f findings (%.0f resources) per CPU "
              "second of the server; load %.1f" % (
                  med, ", ".join("%.2f" % c for c in cpu), min(cpu),
                  max(cpu), med * 1e6 / nf, nf / med,
                  bs.RESOURCES / med, os.getloadavg()[0]))
        return 0
    finally:
        st.db_stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
