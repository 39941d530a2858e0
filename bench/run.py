#!/usr/bin/env python3
"""bench/run.py: "make bench". Throughput and latency of vigil-api behind
nginx, as a ratio to a minimal FastCGI responder (bench/minimal.c: libfcgi +
json-c, no database) built and measured in the same run, on the same nginx
configuration (the shipped etc/nginx/vigil.conf), with the same number of
processes. Absolute numbers drift between machines and runs; the ratio is
what to compare.

Paths measured (wrk, 2 threads, CONNECTIONS connections, DURATION seconds):
  minimal                 GET /            no database
  healthz                 GET /healthz     one prepared SELECT 1
  api-keys (auth)         GET /api/v1/api-keys
                          authentication + rate limit in one CALL, then
                          the page and the count: three round trips
Needs wrk (apt-get install wrk). Environment: VIGIL_BUILDDIR, VIGIL_SRCDIR,
BENCH_DURATION (default 10), BENCH_CONNECTIONS (default 16), BENCH_WORKERS
(default 4).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))

import stack  # noqa: E402

DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))


def wrk(url, headers=()):
    argv = ["wrk", "-t2", "-c%d" % CONNECTIONS, "-d%ds" % DURATION,
            "--latency"]
    for h in headers:
        argv += ["-H", h]
    out = subprocess.run(argv + [url], capture_output=True, text=True,
                         check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, float(p99.group(1)) * scale, int(non2xx.group(1)) if non2xx else 0


def main():
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (apt-get install wrk)")
        return 1
    builddir = os.environ.get("VIGIL_BUILDDIR") or os.getcwd()
    minimal_bin = os.path.join(builddir, "bench", "bench-minimal")
    root = tempfile.mkdtemp(prefix="vigil-bench-")
    os.chmod(root, 0o755)
    st = stack.Stack(os.path.join(root, "vigil"), builddir=builddir)
    mini = stack.Stack(os.path.join(root, "minimal"), builddir=builddir)
    mini_proc = None
    try:
        st.up(workers=WORKERS)
        st.tenant_ensure("bench")
        # The limits must not be what is measured.
        st.vigilctl("tenant", "limits", "bench", "--read", "1000000",
                    "--write", "1000000")
        key, _ = st.key_create("bench", scopes="read,write,admin")

        mini.mkdirs()
        mini_sock = os.path.join(mini.run, "minimal.sock")
        mini_proc = subprocess.Popen([minimal_bin, mini_sock, str(WORKERS)],
                                     start_new_session=True)
        for _ in range(100):
            if os.path.exists(mini_sock):
                break
            time.sleep(0.05)
        mini.api_sock = mini_sock
        mini.nginx_start()

        vigil = st.urls()["nginx"]
        base = mini.urls()["nginx"]
        print("bench: %d s per path, %d connections, %d processes each\n"
              % (DURATION, CONNECTIONS, WORKERS))
        rows = []
        m_rps, m_p99, _ = wrk(base + "/")
        rows.append(("minimal responder", m_rps, m_p99, 0))
        for name, path, hdrs in (
                ("GET /healthz", "/healthz", ()),
                ("GET /api/v1/api-keys", "/api/v1/api-keys",
                 ("X-API-Key: " + key,))):
            rps, p99, bad = wrk(vigil + path, hdrs)
            rows.append((name, rps, p99, bad))
        print("%-26s %10s %10s %8s %8s" % ("path", "req/s", "p99 ms",
                                           "ratio", "non-2xx"))
        for name, rps, p99, bad in rows:
            print("%-26s %10.0f %10.2f %7.0f%% %8d" % (
                name, rps, p99, 100.0 * rps / m_rps, bad))
        print("\nEXPLAIN of the authentication lookup:")
        for row in st.query("EXPLAIN SELECT k.id FROM api_keys k JOIN "
                            "tenants t ON t.id = k.tenant_id WHERE "
                            "k.key_hash = REPEAT('0', 64)"):
            print("  " + "\t".join(str(c) for c in row))
        return 0
    finally:
        if mini_proc is not None:
            mini.nginx_stop()
            os.killpg(mini_proc.pid, signal.SIGTERM)
            mini_proc.wait(timeout=10)
        st.down()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
