#!/usr/bin/env python3
"""run.py: the integration suite, as an automake test.

Skipped (exit 77) unless VIGIL_INTEGRATION=1 (./dev test sets it). Otherwise
starts a private stack (MariaDB, the vigil-api pool, nginx, Apache with
mod_fcgid and mod_proxy_fcgi; see stack.py) in a fresh temporary directory,
runs test_api.py, test_findings.py, test_scanner.py, test_webhooks.py,
test_delivery.py, test_cron.py, test_counts.py, test_batchcounts.py,
test_batchrows.py,
test_trigmerge.py, test_changed.py, test_rescan.py, test_alerts.py,
test_attachments.py, test_metadata.py, test_observables.py,
test_imports.py, test_mutes.py, test_cases.py, test_compliance.py,
test_sla.py, test_reports.py, test_channels.py, test_galera.py,
test_web.py, test_ops.py, test_txn.py, test_contract.py, test_metrics.py,
test_secrets.py, test_backup.py, test_grants.py, test_schemagate.py and
test_migratelock.py against it, checks
that the stack survived and that no sanitizer reported anything, and stops
everything by pid. Exit 0 pass, 1 fail, 99 hard error (the stack would not
start).

Environment: VIGIL_BUILDDIR, VIGIL_SRCDIR (set by "make check");
VIGIL_KEEP=1 keeps the temporary directory; VIGIL_TESTS="T03Auth ..." runs
only those test names (unittest names, as for "python3 -m unittest", looked
up in whichever module has them; a module name runs all of it:
VIGIL_TESTS="test_findings");
VIGIL_NO_APACHE=1 runs against nginx only;
VIGIL_PRISM=1 also sends every answer vigil-api gave the suite, through
whichever front end, through Stoplight Prism's validating proxy (the
pinned tests/contract/node_modules, which ./dev installs; see
stack.Stack.prism_start), and fails on any violation of doc/openapi.json
Prism reports (test_api.T99OpenApi.test_responses_through_prism).

Debug builds (--enable-debug, as here) honour the request header
X-Vigil-Debug-Conflicts: N and, for vigil-scan, vigil-spool and vigilctl,
the environment variable VIGIL_DEBUG_CONFLICTS=N: each transaction's first
N commits are refused as a Galera certification failure would refuse them
(test_txn.py drives every family of write routes with it).
"""

import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

WORKERS = 4
# Seconds for the whole run; then it is a failure. A guard against a hang,
# not a measure: the ASan suite behind Prism's proxy came to 1,200 s on
# 2026-12-06 with two thirds of its 566 tests run (a shared 2-core machine).
TIME_LIMIT = 2700

# Crashes the pool or mod_fcgid logged (SIGKILL is the suite's own doing).
CRASH_RE = re.compile(r"killed by signal (?!9\b)\d+|died \(signal (?!9\b)\d+|"
                      r"get unexpected signal|core dumped|segfault", re.I)


class Timeout(KeyboardInterrupt):
    """A KeyboardInterrupt so that unittest lets it through (it records
    any other exception as one test's error and carries on)."""


def on_alarm(signum, frame):
    raise Timeout("the integration suite ran over %d s" % TIME_LIMIT)


def on_term(signum, frame):
    """Stopped from outside (make interrupted, CI cancelled): the stack is
    still stopped by pid on the way out, as after a failure."""
    raise Timeout("the integration suite was stopped by signal %d" % signum)


def dump_logs(st):
    for name in sorted(os.listdir(st.logdir)):
        path = os.path.join(st.logdir, name)
        try:
            with open(path, errors="replace") as f:
                lines = f.readlines()
        except OSError:
            continue
        print("----- %s (last 40 of %d lines) -----" % (path, len(lines)))
        sys.stdout.write("".join(lines[-40:]))
    sys.stdout.flush()


def load_name(loader, name, modules):
    """VIGIL_TESTS names: a module ("test_findings"), a module-qualified
    name ("test_findings.T40ImportList.test_filters"), or a name in
    whichever module has it ("T03Auth", "T43Actions.test_accept")."""
    head = name.split(".")[0]
    for mod in modules:
        if head == mod.__name__:
            rest = name[len(head) + 1:]
            return loader.loadTestsFromName(rest, mod) if rest else \
                loader.loadTestsFromModule(mod)
    for mod in modules:
        if hasattr(mod, head):
            return loader.loadTestsFromName(name, mod)
    return loader.loadTestsFromName(name, modules[0])   # its error


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


def last_things_last(suite):
    """The same tests, those of T99* classes (the OpenAPI check of every
    response the other tests got, whichever module they are in) last."""
    tests = list(flatten(suite))
    tests.sort(key=lambda t: type(t).__name__.startswith("T99"))
    return unittest.TestSuite(tests)


def main():
    if os.environ.get("VIGIL_INTEGRATION") != "1":
        print("integration tests skipped: set VIGIL_INTEGRATION=1 "
              "(./dev test does)")
        return 77
    import stack
    import test_api
    import test_findings
    import test_scanner
    import test_webhooks
    import test_delivery
    import test_cron
    import test_counts
    import test_batchcounts
    import test_batchrows
    import test_trigmerge
    import test_changed
    import test_rescan
    import test_alerts
    import test_attachments
    import test_imports
    import test_metadata
    import test_observables
    import test_mutes
    import test_cases
    import test_compliance
    import test_sla
    import test_reports
    import test_channels
    import test_galera
    import test_web
    import test_ops
    import test_txn
    import test_contract
    import test_metrics
    import test_secrets
    import test_backup
    import test_grants
    import test_schemagate
    import test_migratelock

    srcdir = os.environ.get("VIGIL_SRCDIR") or os.path.dirname(
        os.path.dirname(HERE))
    builddir = os.environ.get("VIGIL_BUILDDIR") or os.getcwd()
    for prog in ("vigil-api", "vigilctl"):
        if not os.access(os.path.join(builddir, prog), os.X_OK):
            print("%s/%s is not built" % (builddir, prog))
            return 99
    with_apache = os.environ.get("VIGIL_NO_APACHE") != "1"
    with_prism = os.environ.get("VIGIL_PRISM") == "1"

    root = tempfile.mkdtemp(prefix="vigil-it-", dir="/tmp")
    os.chmod(root, 0o755)
    st = stack.Stack(root, srcdir, builddir, sanitize=True)
    ok = False
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    signal.alarm(TIME_LIMIT)
    try:
        t0 = time.monotonic()
        try:
            # A generous default limit, so that the suite's own traffic is
            # never rate limited; the rate-limit tests set small per-tenant
            # overrides.
            # A short request_timeout_ms, so that the slow-client tests
            # (T09SlowClients) wait for it quickly.
            st.up(apache=with_apache, workers=WORKERS,
                  conf_extra={"rate_read_per_min": 100000,
                              "rate_write_per_min": 100000,
                              "request_timeout_ms": 3000,
                              # Small, so that the attachment tests at and
                              # over it are quick; above the 2 MiB the web
                              # servers allow other routes.
                              "attachment_max_bytes": 3 * 1024 * 1024})
            if with_prism:
                st.prism_start()
        except Exception:
            traceback.print_exc()
            dump_logs(st)
            return 99
        print("stack up in %.1fs under %s: %s" % (
            time.monotonic() - t0, root, st.urls()), flush=True)

        modules = (test_api, test_findings, test_scanner, test_webhooks,
                   test_delivery, test_cron, test_counts, test_batchcounts,
                   test_batchrows, test_trigmerge, test_changed,
                   test_rescan, test_alerts,
                   test_attachments, test_metadata, test_observables,
                   test_imports, test_mutes, test_cases, test_compliance,
                   test_sla, test_reports, test_channels, test_galera,
                   test_web, test_ops, test_txn,
                   test_contract, test_metrics, test_secrets,
                   test_backup, test_grants, test_schemagate,
                   test_migratelock)
        for mod in modules:
            mod.STACK = st
            mod.WORKERS = WORKERS
        loader = unittest.TestLoader()
        names = os.environ.get("VIGIL_TESTS", "").split()
        if names:
            suite = unittest.TestSuite()
            for name in names:
                suite.addTests(load_name(loader, name, modules))
        else:
            suite = unittest.TestSuite(loader.loadTestsFromModule(m)
                                       for m in modules)
        suite = last_things_last(suite)
        result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                         buffer=False).run(suite)
        ok = result.wasSuccessful()

        # Afterwards: the pool has its workers, every front end answers.
        problems = []
        workers = st.api_workers()
        if len(workers) != WORKERS:
            problems.append("pool has %d workers, not %d" %
                            (len(workers), WORKERS))
        for name, base in sorted(st.urls().items()):
            status, body = stack.http_get(base + "/healthz")
            if status != 200:
                problems.append("%s /healthz: %s %r" % (name, status, body))
        for path, excerpt in st.sanitizer_reports():
            problems.append("sanitizer report in %s:\n%s" % (path, excerpt))
        for name in ("vigil-api.log", "apache-error.log"):
            try:
                with open(st.logfile(name), errors="replace") as f:
                    for line in f:
                        if CRASH_RE.search(line):
                            problems.append("%s: %s" % (name, line.strip()))
            except OSError:
                pass
        if problems:
            ok = False
            print("\nFAIL: after the tests:\n  " + "\n  ".join(problems))
    except Timeout as e:
        print("FAIL: %s" % e)
        ok = False
    finally:
        signal.alarm(0)
        try:
            st.down()
        except Exception:
            traceback.print_exc()
            ok = False
        # The pool's master exits last; its leak report lands after down().
        for path, excerpt in st.sanitizer_reports():
            if ok:
                print("FAIL: sanitizer report in %s:\n%s" % (path, excerpt))
            ok = False
        if not ok:
            dump_logs(st)
        if os.environ.get("VIGIL_KEEP") == "1":
            print("kept " + root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
