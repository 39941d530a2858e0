#!/usr/bin/env python3
"""bench/fcgid.py: "make bench", the Apache part. p99 latency of one
authenticated read (GET /api/v1/findings/{id}) through the three shipped
front ends, in the same run, against the shipped files
(etc/apache/vigil-fcgid.conf, etc/apache/vigil-proxy-fcgi.conf,
etc/nginx/vigil.conf, filled in by tests/integration/stack.py):

  apache-fcgid       Apache mod_fcgid spawning vigil-api itself
  apache-proxy-fcgi  Apache mod_proxy_fcgi to the pre-fork pool
  nginx              nginx to the same pool

For each front end and each connection count (16, 32), three windows of
DURATION seconds, measured with wrk (2 threads, keep-alive):

  cold    the first DURATION s after the front end starts (Apache or nginx
          restarted just before); for mod_fcgid, after the shipped warm-up
          (contrib/fcgid-warm.sh, which the shipped systemd drop-in
          etc/systemd/apache2-vigil-fcgid.conf runs before systemd reports
          Apache started); its time is printed
  unwarmed  (mod_fcgid only, for comparison, not a target) the same
          without the warm-up: Apache started by hand
  steady  the DURATION s that follow
  kill    the DURATION s after one vigil-api process is killed with SIGKILL
          under load (0.5 s into the window): one of mod_fcgid's processes,
          or one of the pool's workers

For the steady window it also gives the CPU time per request of the
processes the request runs on (the web server and its children, which
under mod_fcgid include the vigil-api processes; the pool, but for
mod_fcgid; MariaDB), from /proc around the wrk run: on a shared machine
the steadier figure.

The whole is repeated RUNS times; each figure is reported as the median of
the runs and their range (min-max), since the machine may be shared.
Target (issue 11): p99 < 50 ms for apache-fcgid in the cold, steady and
kill windows, at 16 and at 32 connections. wrk corrects for coordinated
omission: a connection stalled for a second counts as the requests it
would have sent meanwhile, so one of mod_fcgid's one-second sleeps in a
window weighs about 1 % of it. Needs wrk (apt-get install wrk) and Apache with
mod_fcgid and mod_proxy_fcgi. Environment: VIGIL_BUILDDIR, VIGIL_SRCDIR,
BENCH_FCGID_RUNS (default 3), BENCH_FCGID_DURATION (default 10),
BENCH_FCGID_CONNECTIONS (default "16 32"), BENCH_FCGID_FRONTS (default
all three), BENCH_FCGID_WARM (the warm-up's -n, default 48), BENCH_WORKERS (the pool's
workers, default 4).
"""

import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))

import stack  # noqa: E402
from wrkrun import cpu_ticks  # noqa: E402

RUNS = int(os.environ.get("BENCH_FCGID_RUNS", "3"))
DURATION = int(os.environ.get("BENCH_FCGID_DURATION", "10"))
CONNECTIONS = [int(c) for c in os.environ.get("BENCH_FCGID_CONNECTIONS",
                                              "16 32").split()]
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
FRONTS = tuple(os.environ.get("BENCH_FCGID_FRONTS", "apache-fcgid "
                              "apache-proxy-fcgi nginx").split())
WINDOWS = ("unwarmed", "cold", "steady", "kill")
TARGET_WINDOWS = ("cold", "steady", "kill")
WARM = int(os.environ.get("BENCH_FCGID_WARM", "48"))
TARGET_MS = 50.0


def tree(pid):
    """pid and every live descendant of it."""
    if not pid:
        return []
    out = [pid]
    for c in stack.children(pid):
        out += tree(c)
    return out


def front_pids(st, front):
    """The processes a request through front runs on: the web server and
    its children (mod_fcgid's vigil-api processes under its process
    manager), the pool unless mod_fcgid, and MariaDB."""
    web = st.running_pid("nginx" if front == "nginx" else "apache")
    pids = tree(web) + [st.running_pid("mariadb")]
    if front != "apache-fcgid":
        pids += tree(st.api_pid())
    return [p for p in pids if p]


def wrk(url, conns, headers, cpu_pids=None):
    argv = ["wrk", "-t2", "-c%d" % conns, "-d%ds" % DURATION, "--latency",
            "--timeout", "5s"]
    for h in headers:
        argv += ["-H", h]
    pids = cpu_pids() if cpu_pids else []
    t0 = cpu_ticks(pids)
    out = subprocess.run(argv + [url], capture_output=True, text=True,
                         check=True).stdout
    ticks = cpu_ticks(pids) - t0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    n = int(re.search(r"(\d+) requests in", out).group(1))

    def ms(m):
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0,
                                    "s": 1000.0, "m": 60000.0}[m.group(2)]
    p99 = ms(re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out))
    mx = ms(re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)\b", out))
    bad = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        bad += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    if m:
        bad += sum(int(x) for x in m.groups())
    return {"rps": rps, "p99": p99, "max": mx, "bad": bad,
            "cpu": ticks * 1e6 / os.sysconf("SC_CLK_TCK") / n
            if n and pids else None}


def kill_one(st, front):
    """SIGKILL one vigil-api process serving front; its pid or None."""
    if front == "apache-fcgid":
        pids = st.fcgid_pids()
    else:
        pids = st.api_workers()
    if not pids:
        return None
    pid = random.choice(pids)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return None
    return pid


def restart(st, front, warm=True):
    """Restart front's server; for mod_fcgid with the shipped warm-up
    unless not warm. The warm-up's seconds, or None."""
    if not front.startswith("apache"):
        st.nginx_stop()
        st.nginx_start()
        return None
    st.apache_stop()
    st.apache_start()
    if front != "apache-fcgid" or not warm:
        return None
    t = time.monotonic()
    if not st.fcgid_warm(WARM):
        print("bench/fcgid: the warm-up did not reach %d processes (%d)"
              % (WARM, len(st.fcgid_pids())), flush=True)
    return time.monotonic() - t


def measure(st, front, conns, url, headers):
    """The windows for one front end; {window: wrk result}."""
    res = {}
    if front == "apache-fcgid":
        restart(st, front, warm=False)
        res["unwarmed"] = wrk(url, conns, headers)
    warm = restart(st, front)
    res["cold"] = wrk(url, conns, headers)
    if warm is not None:
        res["cold"]["warm"] = warm
    res["steady"] = wrk(url, conns, headers,
                        cpu_pids=lambda: front_pids(st, front))
    killed = []
    t = threading.Timer(0.5, lambda: killed.append(kill_one(st, front)))
    t.start()
    res["kill"] = wrk(url, conns, headers)
    t.join()
    res["kill"]["killed"] = killed[0] if killed else None
    if front == "apache-fcgid":
        res["kill"]["procs"] = len(st.fcgid_pids())
    return res


def commit(srcdir):
    r = subprocess.run(["git", "-C", srcdir, "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "unknown"


def loadavg():
    return "%.2f %.2f %.2f" % os.getloadavg()


def spread(vals, fmt="%.1f"):
    med = statistics.median(vals)
    if len(vals) == 1:
        return fmt % med
    return (fmt + " (" + fmt + "-" + fmt + ")") % (med, min(vals), max(vals))


def main():
    if shutil.which("wrk") is None:
        print("bench/fcgid: wrk is not installed (apt-get install wrk)")
        return 1
    builddir = os.environ.get("VIGIL_BUILDDIR") or os.getcwd()
    root = tempfile.mkdtemp(prefix="vigil-bench-fcgid-")
    os.chmod(root, 0o755)
    st = stack.Stack(os.path.join(root, "vigil"), builddir=builddir)
    sys.path.insert(0, HERE)
    import run as benchrun  # noqa: E402 (its findings loader)
    try:
        st.up(workers=WORKERS, apache=True, conf_extra={
            "rate_read_per_min": 1000000, "rate_write_per_min": 1000000})
        tid = st.tenant_ensure("bench")
        key, _ = st.key_create("bench", scopes="read,write,admin")
        benchrun.load_findings(st, tid, 1000)
        fid = st.query("SELECT id FROM findings WHERE tenant_id = '%s' "
                       "LIMIT 1" % tid)[0][0]
        path = "/api/v1/findings/" + fid
        headers = ("X-API-Key: " + key,)
        print("bench/fcgid: %s, commit %s, load average %s" % (
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            commit(st.srcdir), loadavg()))
        print("bench/fcgid: GET /api/v1/findings/{id}, %d runs x %d s per "
              "window, pool of %d workers; p99 and max in ms, median of the "
              "runs (min-max)\n" % (RUNS, DURATION, WORKERS), flush=True)
        results = {}     # (front, conns, window) -> [wrk result]
        for r in range(RUNS):
            for conns in CONNECTIONS:
                for front in FRONTS:
                    res = measure(st, front, conns,
                                  st.urls()[front] + path, headers)
                    for w in res:
                        results.setdefault((front, conns, w), []).append(
                            res[w])
                    print("run %d, %2d connections, %-17s %s" % (
                        r + 1, conns, front, "  ".join(
                            "%s p99 %.1f max %.0f %.0f/s%s" % (
                                w, res[w]["p99"], res[w]["max"],
                                res[w]["rps"],
                                " bad %d" % res[w]["bad"] if res[w]["bad"]
                                else "") for w in WINDOWS if w in res) +
                        ("  (warm-up %.1f s; %s processes after the kill)"
                         % (res["cold"]["warm"], res["kill"]["procs"])
                         if "procs" in res["kill"] else "")), flush=True)
        print("\n%-18s %5s %-7s %22s %22s %16s %6s %16s" % (
            "front end", "conns", "window", "p99 ms", "max ms", "req/s",
            "errors", "CPU us/request"))
        met = True
        for front in FRONTS:
            for conns in CONNECTIONS:
                for w in WINDOWS:
                    if (front, conns, w) not in results:
                        continue
                    rs = results[(front, conns, w)]
                    p99 = [x["p99"] for x in rs]
                    cpu = [x["cpu"] for x in rs if x.get("cpu")]
                    print("%-18s %5d %-7s %22s %22s %16s %6d %16s" % (
                        front, conns, w, spread(p99),
                        spread([x["max"] for x in rs], "%.0f"),
                        spread([x["rps"] for x in rs], "%.0f"),
                        sum(x["bad"] for x in rs),
                        spread(cpu, "%.0f") if cpu else ""))
                    if front == "apache-fcgid" and \
                            w in TARGET_WINDOWS and \
                            statistics.median(p99) >= TARGET_MS:
                        met = False
        warms = [x["warm"] for x in results.get(("apache-fcgid",
                                                CONNECTIONS[0], "cold"), [])]
        for conns in CONNECTIONS[1:]:
            warms += [x["warm"] for x in results.get(("apache-fcgid", conns,
                                                      "cold"), [])]
        if warms:
            print("\nmod_fcgid warm-up to %d processes: %s s" % (
                WARM, spread(warms)))
        print("\nload average at the end: %s" % loadavg())
        print("\ntarget: apache-fcgid p99 < %.0f ms in the cold, steady and "
              "kill windows (median of %d runs): %s" % (
                  TARGET_MS, RUNS, "met" if met else "NOT met"))
        return 0
    finally:
        st.down()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
