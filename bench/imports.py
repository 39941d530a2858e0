#!/usr/bin/env python3
"""bench/imports.py: "make bench", imports. vigilctl findings import
--format ocsf (a release build: the same code as POST /api/v1/imports,
without the HTTP in front) of a generated Prowler-shaped OCSF report of
BENCH_IMPORT_FINDINGS (100,000) failed checks, JSON Lines, on a private
MariaDB (the test stack's):

  full       the report imported in full mode into an empty tenant (every
             finding new)
  same       the same report again (every finding seen, nothing changed)
  changed    1 % changed: 0.5 % gone (their findings resolved), 0.5 % with
             another severity (rescored: history, event, audit entry)

each in findings per second (wall time of vigilctl, which reads the
report where it is: frames it, then reads and writes it; POST /imports
stores it in chunks first), the CPU time of
vigilctl and of mariadbd (in all and per finding), and vigilctl's peak
RSS (getrusage of the child); then
the peak RSS of a full import of BENCH_IMPORT_SMALL (10,000) findings,
to show it does not grow with the report. The machine's load average is
printed before and after: on a shared machine the wall times are upper
bounds. Targets (issue 13): full >= 5,000 findings/s, changed >= 20,000
findings/s. Environment: VIGIL_BUILDDIR, VIGIL_SRCDIR,
BENCH_IMPORT_FINDINGS, BENCH_IMPORT_SMALL, BENCH_IMPORT_POOL_MB (the
InnoDB buffer pool in MiB, default the test stack's 64; a comma list,
e.g. "64,1024", runs everything once per size, each on a fresh database,
and ends with the rows of every size side by side), BENCH_IMPORT_FULL_ONLY
(only the full import, e.g. to compare two builds), BENCH_IMPORT_KEEP
(keep the database and the reports).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))

import stack  # noqa: E402

N = int(os.environ.get("BENCH_IMPORT_FINDINGS", "100000"))
SMALL = int(os.environ.get("BENCH_IMPORT_SMALL", "10000"))
KEEP = os.environ.get("BENCH_IMPORT_KEEP", "") not in ("", "0")
POOLS = [int(x) for x in
         (os.environ.get("BENCH_IMPORT_POOL_MB", "") or "64").split(",")
         if x.strip()]
FULL_ONLY = os.environ.get("BENCH_IMPORT_FULL_ONLY", "") not in ("", "0")
STACK_POOL_MB = 64      # the test stack's innodb_buffer_pool_size
CHECKS = ["s3_bucket_public_access", "ec2_securitygroup_allow_ingress_"
          "from_internet_to_tcp_port_22", "iam_user_mfa_enabled_console_"
          "access", "rds_instance_storage_encrypted", "cloudtrail_multi_"
          "region_enabled"]


def item(i, severity_id=4):
    code = CHECKS[i % len(CHECKS)]
    return {
        "class_uid": 2004, "class_name": "Detection Finding",
        "category_uid": 2, "activity_id": 1, "type_uid": 200401,
        "time": 1739539623, "severity_id": severity_id,
        "status_code": "FAIL", "status_id": 1,
        "status_detail": "Resource r-%d fails %s." % (i, code),
        "metadata": {"event_code": code, "version": "1.4.0",
                     "product": {"name": "Prowler", "uid": "prowler"}},
        "finding_info": {"uid": "prowler-aws-%s-%d" % (code, i),
                         "title": "Check %s" % code,
                         "desc": "Prowler check %s failed." % code,
                         "types": ["Software and Configuration Checks"]},
        "resources": [{"uid": "arn:aws:ec2:eu-west-1:123456789012:"
                       "resource/r-%08d" % i, "region": "eu-west-1"}],
        "cloud": {"provider": "aws", "account": {"uid": "123456789012"}},
        "remediation": {"desc": "Fix %s." % code},
        "unmapped": {"compliance": {"CIS-2.0": ["1.%d" % (i % 20)]}},
    }


def write_report(path, n, changed=False):
    with open(path, "w") as f:
        for i in range(n):
            if changed and i % 200 == 0:
                continue                        # 0.5 % gone
            sev = 5 if changed and i % 200 == 100 else 4   # 0.5 % rescored
            f.write(json.dumps(item(i, sev), separators=(",", ":")))
            f.write("\n")
    return os.path.getsize(path)


def db_cpu(st):
    with open(st.pidfile("mariadb")) as f:
        pid = int(f.read())
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_import(st, path, tenant="bench"):
    """(seconds, peak RSS KiB, the import, CPU of vigilctl, of mariadbd)."""
    argv = [st.vigilctl_bin, "-c", st.conf, "findings", "import",
            "--tenant", tenant, "--format", "ocsf", "--source", "bench",
            path]
    c0 = db_cpu(st)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=st.env(), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("vigilctl failed: %s %s" % (out[-2000:],
                                                       err[-2000:]))
    return (dt, ru.ru_maxrss, json.loads(out), ru.ru_utime + ru.ru_stime,
            db_cpu(st) - c0)


def load():
    return "%.2f %.2f %.2f" % os.getloadavg()


def run_pool(root, pool_mb, builddir, srcdir, reports):
    """Every import on a fresh database with a buffer pool of pool_mb
    MiB: (ok, rows, small row)."""
    st = stack.Stack(os.path.join(root, "vigil-%d" % pool_mb),
                     srcdir=srcdir, builddir=builddir)
    big, chg, small = reports
    ok = True
    rows = []
    try:
        st.mkdirs()
        st.db_init()
        st.db_start()
        if pool_mb != STACK_POOL_MB:
            st.sql("SET GLOBAL innodb_buffer_pool_size = %d" %
                   (pool_mb * 1024 * 1024))
        st.db_setup()
        st.write_conf()
        st.migrate()
        st.vigilctl("tenant", "create", "bench")
        st.vigilctl("tenant", "create", "small")
        print("buffer pool %d MiB (%s): load average %s" % (
            int(st.query("SELECT @@innodb_buffer_pool_size", None)[0][0]) //
            1048576, "the test stack's" if pool_mb == STACK_POOL_MB else
            "BENCH_IMPORT_POOL_MB", load()), flush=True)
        steps = (("full", big, N), ("same", big, N), ("changed", chg, N))
        for label, path, count in steps[:1] if FULL_ONLY else steps:
            dt, kib, imp, cpu, dbcpu = run_import(st, path)
            rate = count / dt
            rows.append((label, dt, rate, kib, cpu, dbcpu, imp))
            print("  %-8s %7.2f s  %8.0f findings/s  peak RSS %6.1f MiB  "
                  "CPU vigilctl %.1f s, mariadbd %.1f s (%.0f + %.0f us a "
                  "finding)  (imported %d, resolved %d)" % (
                      label, dt, rate, kib / 1024, cpu, dbcpu,
                      cpu * 1e6 / count, dbcpu * 1e6 / count,
                      imp["imported"], imp["resolved"]), flush=True)
        if FULL_ONLY:
            return ok, rows, None
        dt, kib_small, imp, cpu, dbcpu = run_import(st, small, "small")
        print("  %-8s %7.2f s  %8.0f findings/s  peak RSS %6.1f MiB "
              "(%d findings)" % ("small", dt, SMALL / dt, kib_small / 1024,
                                  SMALL), flush=True)
        full = rows[0][2]
        changed = rows[2][2]
        print("targets: full %s 5,000/s (%.0f), 1 %% changed %s 20,000/s "
              "(%.0f); peak RSS %.1f MiB at %d against %.1f MiB at %d; "
              "load average after %s" % (
                  ">=" if full >= 5000 else "BELOW", full,
                  ">=" if changed >= 20000 else "BELOW", changed,
                  rows[0][3] / 1024, N, kib_small / 1024, SMALL, load()),
              flush=True)
        if rows[2][6]["resolved"] != (N + 199) // 200:
            print("REGRESSION: the changed report resolved %d, not %d" % (
                rows[2][6]["resolved"], (N + 199) // 200))
            ok = False
        return ok, rows, kib_small
    finally:
        if not KEEP:
            st.down()


def main():
    builddir = os.environ.get("VIGIL_BUILDDIR") or os.getcwd()
    srcdir = os.environ.get("VIGIL_SRCDIR") or os.path.dirname(HERE)
    try:
        with open(os.path.join(builddir, "config.log")) as f:
            if "-fsanitize" in f.read():
                print("bench/imports.py: %s is a sanitizer build; measure a "
                      "release build (../configure)" % builddir)
                return 1
    except OSError:
        pass
    root = tempfile.mkdtemp(prefix="vigil-bench-imports-")
    os.chmod(root, 0o755)
    ok = True
    results = []
    try:
        big = os.path.join(root, "report.jsonl")
        chg = os.path.join(root, "changed.jsonl")
        small = os.path.join(root, "small.jsonl")
        size = write_report(big, N)
        if not FULL_ONLY:
            write_report(chg, N, changed=True)
            write_report(small, SMALL)
        print("bench/imports.py: %d findings, OCSF JSON Lines of %.1f MiB; "
              "buffer pool %s MiB; load average %s" % (
                  N, size / 1048576, ", ".join(str(p) for p in POOLS),
                  load()), flush=True)
        for pool_mb in POOLS:
            pok, rows, _ = run_pool(root, pool_mb, builddir, srcdir,
                                    (big, chg, small))
            ok = ok and pok
            results.append((pool_mb, rows))
        if len(results) > 1:
            print("by buffer pool (findings/s; CPU us a finding, vigilctl + "
                  "mariadbd):")
            for k, label in enumerate(r[0] for r in results[0][1]):
                print("  %-8s %s" % (label, "   ".join(
                    "%d MiB: %6.0f/s (%.0f + %.0f us)" % (
                        pool_mb, rows[k][2], rows[k][4] * 1e6 / N,
                        rows[k][5] * 1e6 / N)
                    for pool_mb, rows in results)))
        print("load average after %s" % load())
    finally:
        if not KEEP:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print("kept under %s" % root)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
