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
                          authentication and the rate limit (counted in
                          the pool's shared memory, synced about once a
                          second), then the page and the count: two
                          round trips
  findings                over BENCH_FINDINGS (100,000) findings of one
                          tenant: GET /api/v1/findings?limit=100 with and
                          without filters, GET /api/v1/findings/{id}, and
                          POST /api/v1/findings/{id}/accept
Then the list queries' EXPLAIN over BENCH_EXPLAIN_ROWS (1,000,000) findings
(set it to 0 to skip loading them).
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
FINDINGS = int(os.environ.get("BENCH_FINDINGS", "100000"))
EXPLAIN_ROWS = int(os.environ.get("BENCH_EXPLAIN_ROWS", "1000000"))


def load_findings(st, tenant_id, n):
    """n synthetic findings for tenant_id, straight into the table (the
    Sequence engine makes the rows; going through the API would measure
    the loader, not the reads)."""
    st.sql("""INSERT INTO findings (tenant_id, id, rule_id, provider,
        subscription_id, environment, resource_id, title, severity,
        category, layer, framework, description, recommendation, evidence,
        fingerprint, state, detected_at, updated_at, last_seen_at)
      SELECT '%s', CONCAT('azure-bench-rule-', LPAD(HEX(seq), 8, '0')),
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
      FROM seq_1_to_%d""" % (tenant_id, n), database="vigil")


def wrk(url, headers=(), extra=()):
    argv = ["wrk", "-t2", "-c%d" % CONNECTIONS, "-d%ds" % DURATION,
            "--latency"] + list(extra)
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
        # The limits must not be what is measured: vigil.conf's, which
        # may be higher than a tenant's own (at most 100000 a minute).
        st.up(workers=WORKERS, conf_extra={
            "rate_read_per_min": 1000000, "rate_write_per_min": 1000000})
        st.tenant_ensure("bench")
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
        tid = st.tenant_ensure("bench")
        log_load = time.monotonic()
        load_findings(st, tid, FINDINGS)
        print("loaded %d findings in %.1f s\n" % (
            FINDINGS, time.monotonic() - log_load))
        fid = st.query("SELECT id FROM findings WHERE tenant_id = '%s' "
                       "AND state = 'open' LIMIT 1" % tid)[0][0]
        script = os.path.join(root, "accept.lua")
        with open(script, "w") as f:
            f.write('wrk.method = "POST"\n'
                    'wrk.body = \'{"justification":"benchmark",'
                    '"user":"bench@example.com"}\'\n'
                    'wrk.headers["Content-Type"] = "application/json"\n')
        auth = ("X-API-Key: " + key,)
        for name, path, extra in (
                ("GET /findings?limit=100", "/api/v1/findings?limit=100",
                 ()),
                ("  + severity,category", "/api/v1/findings?limit=100&"
                 "severity=critical,high&category=network", ()),
                ("  + state=all&env", "/api/v1/findings?limit=100&"
                 "state=all&environment=PROD", ()),
                ("GET /findings/{id}", "/api/v1/findings/" + fid, ()),
                ("POST /findings/{id}/accept", "/api/v1/findings/" + fid +
                 "/accept", ("-s", script))):
            rps, p99, bad = wrk(vigil + path, auth, extra)
            rows.append((name, rps, p99, bad))
        print("%-26s %10s %10s %8s %8s" % ("path", "req/s", "p99 ms",
                                           "ratio", "non-2xx"))
        for name, rps, p99, bad in rows:
            print("%-26s %10.0f %10.2f %7.0f%% %8d" % (
                name, rps, p99, 100.0 * rps / m_rps, bad))
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
            for what, cond in (
                    ("default (state=open)", where % allsev),
                    ("severity=critical,high", where %
                     "'critical','high','high','high','high'"),
                    ("category=network", (where % allsev).replace(
                        "(NULL IS NULL OR category = NULL)",
                        "('network' IS NULL OR category = 'network')"))):
                print("  " + what)
                for row in st.query("EXPLAIN SELECT seq, id FROM findings "
                                    "WHERE %s ORDER BY seq DESC LIMIT 101"
                                    % cond):
                    print("    " + "\t".join(str(c) for c in row))
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
