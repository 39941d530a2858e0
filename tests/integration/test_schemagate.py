"""test_schemagate.py: the programs on a database whose schema is behind
them, as between installing a new release and running vigilctl migrate
(README "Backup, restore and upgrade", exit status 76).

A database of its own, vigil_t404, migrated with every migration but the
newest (the one this build needs, MIGRATE_NEED), served by a vigil-api
pool of its own (two workers) behind an nginx of its own, so that the
suite's stack never sees a schema behind it:

- T404: vigil-api answers every request that needs a key 503
  schema_outdated (Retry-After, a message naming vigilctl migrate), GET
  /healthz 503 with db "schema_outdated" and checks.schema,
  GET /metrics vigil_db_schema_behind 1; nothing is written.
- T405: vigil-scan, vigil-spool --once and vigilctl's commands exit 76
  saying to run vigilctl migrate (vigilctl db check too, with its
  "schema:" line); migrate, --help and --version do not.
- T406: after vigilctl migrate the same pool, not restarted, serves again
  within its re-check interval (SCHEMAGATE_RECHECK_S, 5 s), healthz and
  the programs are as usual; a schema ahead of the binary (a newer
  migration recorded: an older binary) is served with a warning; a
  database never migrated is behind with no version.
- T407: vigilctl checks its command line before it connects: with the
  database's port closed, or a server that never answers, a malformed
  command exits 64 at once with the usage (or what is wrong with the
  value), and connects to nothing; a well-formed one still exits 69.
- T408: GET /metrics keeps vigil_db_schema_behind and
  vigil_db_schema_version when the outbox and scan statements fail (a
  table they read gone), with vigil_metrics_db_up 0, schema behind or
  not.

Run by run.py, which sets STACK here.
"""

import os
import re
import shutil
import socket
import subprocess
import threading
import time
import unittest

import stack as stackmod
import test_api as api
import test_galera as tg     # fresh_db, write_conf, recorded
from test_api import auth, request

STACK = None        # a stack.Stack, set by run.py

DB = "vigil_t404"
RECHECK_S = 5       # cgi/api.h SCHEMAGATE_RECHECK_S
WORKERS = 2
POOL = "vigil-api-t404"
FRONT = "nginx-t404"

st = {}             # the module's fixture: conf, dirs, port, key


def setUpModule():
    global STACK
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    tg.STACK = STACK
    d = os.path.join(STACK.srcdir, "db", "migrations")
    files = sorted(f for f in os.listdir(d)
                   if re.match(r"^\d{4}_.+\.sql$", f))
    st["need"] = files[-1][:4]
    st["before"] = files[-2][:4]
    # Every migration but the newest.
    older = os.path.join(STACK.root, "t404-migrations")
    shutil.rmtree(older, ignore_errors=True)
    os.makedirs(older)
    for f in files[:-1]:
        shutil.copy(os.path.join(d, f), older)
    st["older"] = older
    st["all"] = d
    st["sock"] = os.path.join(STACK.run, "t404-api.sock")
    st["conf"] = tg.fresh_db(DB, listen=st["sock"])
    r = ctl("migrate", migrations=older)
    assert r.returncode == 0, r.stdout + r.stderr
    # A tenant and a key, made by vigilctl while the row of the newest
    # migration is there (vigilctl refuses a schema behind it), then the
    # row taken away: the schema is the one before the newest migration.
    STACK.sql("INSERT INTO schema_migrations VALUES ('%s', 'fake', "
              "UTC_TIMESTAMP())" % st["need"], database=DB)
    r = ctl("tenant", "create", "t404")
    assert r.returncode == 0, r.stdout + r.stderr
    r = ctl("key", "create", "--tenant", "t404", "--scopes",
            "read,write,admin")
    assert r.returncode == 0, r.stdout + r.stderr
    st["key"] = r.stdout.splitlines()[0].strip()
    STACK.sql("DELETE FROM schema_migrations WHERE version = '%s'"
              % st["need"], database=DB)
    pool_start()
    front_start()


def tearDownModule():
    if STACK is None:
        return
    STACK.extra_stop(FRONT)
    pool_stop()
    for db in (DB, "vigil_t406e"):
        STACK.sql("DROP DATABASE IF EXISTS %s" % db, check=False)


# --- helpers -------------------------------------------------------------------

def env(migrations=None):
    e = STACK.env()
    if migrations:
        e["VIGIL_MIGRATIONS"] = migrations
    return e


def run(binary, *args, conf=None, migrations=None, timeout=300):
    return subprocess.run([binary, "-c", conf or st["conf"], *args],
                          env=env(migrations), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def ctl(*args, conf=None, migrations=None):
    return run(STACK.vigilctl_bin, *args, conf=conf, migrations=migrations)


def pool_start():
    pidfile = os.path.join(STACK.run, "t404-api.pid")
    try:
        os.unlink(pidfile)
    except FileNotFoundError:
        pass
    p = STACK._spawn(POOL, [STACK.vigil_api, "-c", st["conf"], "--listen",
                            st["sock"], "--workers", str(WORKERS),
                            "--pidfile", pidfile], env=env())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert p.poll() is None, "the pool exited %s:\n%s" % (
            p.returncode, STACK._tail(POOL + ".log"))
        if (os.path.exists(st["sock"]) and
                len(stackmod.children(p.pid)) >= WORKERS):
            st["pool"] = p.pid
            return
        time.sleep(0.05)
    raise AssertionError("the pool did not come up:\n" +
                         STACK._tail(POOL + ".log"))


def pool_stop():
    STACK._stop(POOL, timeout=40, group=True)


def pool_workers():
    return sorted(stackmod.children(st["pool"]))


def front_start():
    d = os.path.join(STACK.root, FRONT)
    os.makedirs(d, exist_ok=True)
    shutil.copy(stackmod.NGINX_FASTCGI_PARAMS,
                os.path.join(d, "fastcgi_params"))
    port = stackmod.free_port()
    site = os.path.join(d, "site.conf")
    with open(site, "w") as f:
        f.write("""server {
    listen 127.0.0.1:%d;
    server_name 127.0.0.1;
    location / {
        include %s/fastcgi_params;
        fastcgi_pass unix:%s;
    }
}
""" % (port, d, st["sock"]))
    p, _ = STACK.nginx_extra_start(FRONT, [site])
    STACK._wait_port(port, p, FRONT, FRONT + "-error.log")
    st["base"] = "http://127.0.0.1:%d" % port


def make_behind():
    """The schema behind the binary again (for a class run on its own
    after T406): the newest migration's row taken away and the pool
    restarted, since a process that found it keeps that for its
    connection."""
    if st["need"] in tg.recorded(DB):
        STACK.sql("DELETE FROM schema_migrations WHERE version = '%s'"
                  % st["need"], database=DB)
        pool_stop()
        pool_start()


def metrics(body):
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def fingerprint():
    """What a refused request must not change."""
    return STACK.query(
        "SELECT (SELECT COUNT(*) FROM tenants), (SELECT COUNT(*) FROM "
        "api_keys), (SELECT COUNT(*) FROM findings), (SELECT COUNT(*) "
        "FROM audit_log), (SELECT COUNT(*) FROM integrations), "
        "(SELECT COUNT(*) FROM webhooks), (SELECT GROUP_CONCAT(version "
        "ORDER BY version) FROM schema_migrations)", database=DB)


class SBase(unittest.TestCase):
    maxDiff = 4000

    def req(self, method, path, body=None, key=True):
        return request(st["base"], method, path, body=body,
                       headers=auth(st["key"]) if key else None)

    def assert_outdated(self, r):
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.header("Retry-After"), str(RECHECK_S), r)
        e = r.json()["error"]
        self.assertEqual(e["code"], "schema_outdated", r)
        self.assertIn("vigilctl migrate", e["message"], r)
        self.assertIn(st["need"], e["message"], r)
        self.assertEqual(e["request_id"], r.header("X-Request-Id"), r)


class T404SchemaBehindApi(SBase):
    """vigil-api on a schema one migration behind it."""

    @classmethod
    def setUpClass(cls):
        make_behind()

    def test_every_request_that_needs_a_key(self):
        before = fingerprint()
        for method, path, body, key in (
                # The tag and metadata lists name 0055's and 0056's
                # tables and indexes (on this empty database a binary
                # without the check answered them 200 from the kept
                # totals; with findings, a 500).
                ("GET", "/api/v1/findings?tag=env:dev", None, True),
                ("GET", "/api/v1/findings?resource_type=vm", None, True),
                ("GET", "/api/v1/findings", None, True),
                ("GET", "/api/v1/findings/f-nope", None, True),
                ("HEAD", "/api/v1/findings", None, True),
                ("GET", "/api/v1/api-keys", None, True),
                ("GET", "/api/v1/api-keys", None, False),
                ("POST", "/api/v1/webhooks", {"url": "https://example.com/h",
                                              "events": ["finding.*"]}, True),
                ("PUT", "/api/v1/settings", {"risk_weights": {}}, True),
                ("DELETE", "/api/v1/api-keys/key_" + "0" * 26, None, True)):
            with self.subTest(method=method, path=path):
                r = self.req(method, path, body=body, key=key)
                if method == "HEAD":
                    self.assertEqual(r.status, 503, r)
                    self.assertEqual(r.header("Retry-After"),
                                     str(RECHECK_S), r)
                else:
                    self.assert_outdated(r)
        self.assertEqual(fingerprint(), before)
        # Open routes that need no schema still answer; unknown ones 404.
        self.assertEqual(self.req("GET", "/api/v1/openapi.json",
                                  key=False).status, 200)
        self.assertEqual(self.req("GET", "/api/v1/nope").status, 404)

    def test_healthz_and_metrics(self):
        r = self.req("GET", "/healthz", key=False)
        self.assertEqual(r.status, 503, r)
        body = r.json()
        self.assertEqual((body["status"], body["db"]),
                         ("degraded", "schema_outdated"), body)
        self.assertEqual(body["checks"]["schema"],
                         {"status": "behind", "version": st["before"],
                          "required": st["need"]}, body)
        r = self.req("GET", "/metrics", key=False)
        self.assertEqual(r.status, 200, r)
        m = metrics(r.body)
        self.assertEqual(m.get("vigil_db_schema_behind"), 1, m)
        self.assertEqual(m.get("vigil_db_schema_version"),
                         int(st["before"]), m)

    def test_logged(self):
        self.req("GET", "/api/v1/findings")
        with open(STACK.logfile(POOL + ".log"), errors="replace") as f:
            log = f.read()
        self.assertRegex(log, r"schema is behind this vigil-api: it needs "
                         r"migration %s, the newest recorded is %s; run "
                         r"vigilctl migrate" % (st["need"], st["before"]))


class T405SchemaBehindPrograms(SBase):
    """vigil-scan, vigil-spool and vigilctl on a schema behind them: exit
    76, saying what to run; nothing written."""

    @classmethod
    def setUpClass(cls):
        make_behind()

    def assert_76(self, r, prog):
        self.assertEqual(r.returncode, 76, r.stdout + r.stderr)
        self.assertIn("%s: the database's schema is behind this %s: it "
                      "needs migration %s, the newest recorded is %s; run "
                      "vigilctl migrate" % (prog, prog, st["need"],
                                            st["before"]), r.stderr)

    def test_programs_exit_76(self):
        before = fingerprint()
        self.assert_76(run(STACK.vigil_scan_bin, "--due"), "vigil-scan")
        self.assert_76(run(STACK.vigil_scan_bin, "--once", "--integration",
                           "int_" + "0" * 26), "vigil-scan")
        self.assert_76(run(STACK.vigil_spool_bin, "--once"), "vigil-spool")
        for args in (("tenant", "list"), ("tenant", "create", "t405"),
                     ("key", "list", "--tenant", "t404"),
                     ("findings", "expire"), ("audit", "verify"),
                     ("events", "prune")):
            with self.subTest(args=args):
                self.assert_76(ctl(*args), "vigilctl")
        self.assertEqual(fingerprint(), before)
        # Not the ones that need no schema.
        for args in (("--help",), ("--version",)):
            r = ctl(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("76 the database's", ctl("--help").stdout)

    def test_db_check(self):
        r = ctl("db", "check")
        self.assertEqual(r.returncode, 76, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertIn("schema: the database's schema is behind this "
                      "vigilctl: it needs migration %s, the newest "
                      "recorded is %s; run vigilctl migrate"
                      % (st["need"], st["before"]), lines)
        self.assertEqual(lines[-1], "check: the database's schema is behind "
                         "this vigilctl (above): run vigilctl migrate")


class T406SchemaMigrated(SBase):
    """After vigilctl migrate: the pool serves again without a restart,
    within its re-check interval; the programs run; a schema ahead is
    warned of; a database never migrated is behind."""

    def test_1_migrate_and_serve_again(self):
        make_behind()
        workers = pool_workers()
        self.assert_outdated(self.req("GET", "/api/v1/findings?tag=env:dev"))
        r = ctl("migrate")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("applied %s_" % st["need"], r.stdout)
        t0 = time.monotonic()
        # Every worker serves again within the interval (and some slack
        # for a loaded machine): ten answers in a row, one per connection.
        ok, deadline = 0, t0 + RECHECK_S + 10
        while ok < 10 and time.monotonic() < deadline:
            r = self.req("GET", "/api/v1/findings?tag=env:dev")
            ok = ok + 1 if r.status == 200 else 0
            if r.status != 200:
                self.assertEqual(r.json()["error"]["code"], "schema_outdated",
                                 r)
                time.sleep(0.2)
        took = time.monotonic() - t0
        self.assertEqual(ok, 10, "not serving %.1f s after migrate" % took)
        self.assertEqual(r.json()["findings"], [])
        self.assertEqual(pool_workers(), workers, "the pool restarted")
        r = self.req("GET", "/healthz", key=False)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["checks"]["schema"],
                         {"status": "ok", "version": st["need"],
                          "required": st["need"]})
        m = metrics(self.req("GET", "/metrics", key=False).body)
        self.assertEqual(m.get("vigil_db_schema_behind"), 0, m)
        # The programs too.
        r = run(STACK.vigil_scan_bin, "--due")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = run(STACK.vigil_spool_bin, "--once")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = ctl("tenant", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("t404", r.stdout)
        self.assertNotIn("schema", r.stderr)
        r = ctl("db", "check")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertIn("schema: the database's schema is at %s, as this "
                      "vigilctl needs" % st["need"], lines)
        self.assertEqual(lines[-1], "ok")

    def test_2_ahead_is_warned_of(self):
        if st["need"] not in tg.recorded(DB):
            ctl("migrate")
        STACK.sql("INSERT INTO schema_migrations VALUES ('9999', "
                  "'9999_future.sql', UTC_TIMESTAMP())", database=DB)
        try:
            r = ctl("tenant", "list")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("t404", r.stdout)
            self.assertIn("schema is ahead of this vigilctl: migration 9999 "
                          "is recorded", r.stderr)
            r = ctl("db", "check")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(r.stdout.splitlines()[-1], "ok")
            r = run(STACK.vigil_scan_bin, "--due")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            r = self.req("GET", "/healthz", key=False)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["checks"]["schema"],
                             {"status": "ahead", "version": "9999",
                              "required": st["need"]})
            self.assertEqual(self.req("GET", "/api/v1/findings").status, 200)
        finally:
            STACK.sql("DELETE FROM schema_migrations WHERE version = '9999'",
                      database=DB)

    def test_4_no_statement_per_request(self):
        """The steady state costs no statement: GET /findings/{id} stays
        one statement a request (the figure is printed: 1.00 and 1.06 in
        two runs, 1.10 in one run of the binaries before the check: the
        rest is probably the rate limit's report to the database about
        once a second falling inside the loop; a check per request would
        make it 2)."""
        if st["need"] not in tg.recorded(DB):
            ctl("migrate")
        fid = "f-nope"
        for _ in range(10):     # every worker past its first request
            self.req("GET", "/api/v1/findings/" + fid)
        n = 50
        before = int(STACK.query("SHOW GLOBAL STATUS LIKE "
                                 "'Com_stmt_execute'")[0][1])
        for _ in range(n):
            r = self.req("GET", "/api/v1/findings/" + fid)
            self.assertEqual(r.status, 404, r)
        after = int(STACK.query("SHOW GLOBAL STATUS LIKE "
                                "'Com_stmt_execute'")[0][1])
        per = (after - before) / n
        print("\nT406: GET /findings/{id}: %.2f statements per request"
              % per, flush=True)
        self.assertLess(per, 1.5)

    def test_3_never_migrated(self):
        conf = tg.fresh_db("vigil_t406e")
        r = ctl("tenant", "list", conf=conf)
        self.assertEqual(r.returncode, 76, r.stdout + r.stderr)
        self.assertIn("it needs migration %s, the newest recorded is none; "
                      "run vigilctl migrate" % st["need"], r.stderr)
        r = run(STACK.vigil_scan_bin, "--due", conf=conf)
        self.assertEqual(r.returncode, 76, r.stdout + r.stderr)


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never says a
    word, as a database server that hangs (or a firewall that lets the
    connection through and nothing else): a client waits for its greeting
    until its connect timeout. Counts the connections it was offered."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)
        for c in self.conns:
            c.close()


class T407UsageBeforeDatabase(unittest.TestCase):
    """vigilctl checks a command's arguments before anything connects: a
    usage error is told at once (64), whether the database's port is
    closed or its server does not answer, and a refusal that needs no
    database is not taken for an outage (69)."""

    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        # Bound, never listening: connections to it are refused, and
        # nobody else can take the port meanwhile.
        cls.closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        cls.closed.bind(("127.0.0.1", 0))
        cls.silent = SilentServer()
        cls.conf_closed = tg.write_conf(
            "t407-closed.conf", db_host="127.0.0.1",
            db_port=cls.closed.getsockname()[1])
        cls.conf_silent = tg.write_conf(
            "t407-silent.conf", db_host="127.0.0.1",
            db_port=cls.silent.port)
        cls.doc = os.path.join(STACK.root, "t407-findings.json")
        with open(cls.doc, "w") as f:
            f.write('{"findings": []}')

    @classmethod
    def tearDownClass(cls):
        cls.closed.close()
        cls.silent.close()

    def ctl_timed(self, conf, *args):
        t0 = time.monotonic()
        r = ctl(*args, conf=conf)
        return r, time.monotonic() - t0

    USAGE = "usage: vigilctl"
    # (arguments, exit status, what stderr says)
    MALFORMED = (
        (("nope",), 64, USAGE),
        (("findings", "import", "--tenant", "t407"), 64, USAGE),
        (("tenant", "create"), 64, USAGE),
        (("events", "prune", "--days", "abc"), 64, USAGE),
        (("reports", "prune", "--days", "-1"), 64, USAGE),
        (("migrate", "--wait", "soon"), 64, USAGE),
        (("tenant", "limits", "t407", "--read", "0", "--write", "5"), 64,
         USAGE),
        (("key", "list"), 64, USAGE),
        (("audit", "verify", "--head", "1:ab"), 64, USAGE),
        (("secrets", "rotate"), 64, USAGE),
        (("db", "check", "now"), 64, USAGE),
        (("cases", "list", "--tenant", "t407", "--limit", "0"), 64,
         "vigilctl: --limit must be 1 to 500"),
        (("key", "create", "--tenant", "t407", "--scopes", "read,root"), 64,
         "vigilctl: --scopes takes"),
        (("key", "create", "--tenant", "t407", "--scopes", "read",
          "--expires", "2001-01-01T00:00:00Z"), 64,
         "vigilctl: --expires is in the past"),
        (("tenant", "create", "No Such Name!"), 64,
         "vigilctl: tenant names are 1 to 63"),
        (("findings", "import", "--tenant", "t407", "--format", "xml",
          "--source", "s", "{doc}"), 64, "vigilctl: --format must be"),
        (("findings", "import", "--tenant", "t407", "--format", "ocsf",
          "--source", "bad source", "{doc}"), 64,
         "vigilctl: --source must be"),
        (("integration", "add-inventory", "--tenant", "t407", "--name",
          "x" * 101, "--path", "/nonexistent/t407"), 64,
         "vigilctl: name must be 1 to 100 characters long."),
        # Not usage errors, but nothing a database is needed for: the
        # answer is the command's, not "unreachable".
        (("key", "revoke", "nope"), 1, "vigilctl: nope is not a key id"),
        (("findings", "import", "--tenant", "t407", "/nonexistent/t407"),
         66, "vigilctl: /nonexistent/t407: cannot open"),
        (("reports", "prune", "--days", "0"), 0, ""),
        (("--version",), 0, ""),
    )

    def check_malformed(self, conf):
        # Whether anything waited for the database is told by what was
        # tried, not by a clock: the silent server counts the
        # connections it was offered (none), and the closed port would
        # have made the command say "connect".
        for args, status, says in self.MALFORMED:
            args = tuple(a.format(doc=self.doc) for a in args)
            with self.subTest(args=args):
                r = ctl(*args, conf=conf)
                self.assertEqual(r.returncode, status, r.stderr)
                self.assertIn(says, r.stderr)
                self.assertNotIn("connect", r.stderr)
                self.assertNotIn("schema", r.stderr)

    def test_malformed_port_closed(self):
        self.check_malformed(self.conf_closed)

    def test_malformed_server_silent(self):
        """A server that does not answer: nothing waits for it, and no
        connection is even tried."""
        self.check_malformed(self.conf_silent)
        self.assertEqual(len(self.silent.conns), 0)

    def test_malformed_conf_broken(self):
        """A vigil.conf that cannot be loaded is told after the
        arguments are checked: a usage error is still 64, a command
        that needed nothing still succeeds, and every other failure is
        the configuration's (78), named, never "connect"."""
        broken = tg.write_conf("t407-broken.conf", no_such_key="1",
                               db_host="127.0.0.1",
                               db_port=self.silent.port)
        n = len(self.silent.conns)
        cases = self.MALFORMED + ((("tenant", "list"), 78, ""),
                                  (("findings", "expire"), 78, ""))
        for args, status, says in cases:
            args = tuple(a.format(doc=self.doc) for a in args)
            with self.subTest(args=args):
                r = ctl(*args, conf=broken)
                if status in (0, 64):
                    self.assertEqual(r.returncode, status, r.stderr)
                    self.assertIn(says, r.stderr)
                    self.assertNotIn("no_such_key", r.stderr)
                else:
                    self.assertEqual(r.returncode, 78, r.stderr)
                    self.assertIn("vigilctl: %s: line " % broken,
                                  r.stderr)
                    self.assertIn(": no_such_key: unknown key", r.stderr)
                    self.assertEqual(r.stderr.count("no_such_key"), 1,
                                     r.stderr)
                self.assertNotIn("connect", r.stderr)
        self.assertEqual(len(self.silent.conns), n)

    def test_well_formed_still_69(self):
        for args in (("tenant", "list"), ("findings", "expire"),
                     ("key", "revoke", "key_" + "0" * 26)):
            with self.subTest(args=args):
                r, _ = self.ctl_timed(self.conf_closed, *args)
                self.assertEqual(r.returncode, 69, r.stdout + r.stderr)
                self.assertIn("vigilctl: connect: ", r.stderr)
                self.assertNotIn(self.USAGE, r.stderr)
        # And through the server that never answers: it was offered a
        # connection (the count above is not zero for want of trying),
        # and the command says the database is unreachable, after the
        # connect timeout (3 s).
        n = len(self.silent.conns)
        r, took = self.ctl_timed(self.conf_silent, "tenant", "list")
        self.assertEqual(r.returncode, 69, r.stdout + r.stderr)
        self.assertGreater(len(self.silent.conns), n)
        self.assertGreaterEqual(took, 2.5)


class T408MetricsSchemaWithoutFigures(SBase):
    """GET /metrics: the schema's gauges whenever the schema can be read,
    also when the outbox and scan statements fail; vigil_metrics_db_up
    says those failed."""

    def scrape(self):
        r = self.req("GET", "/metrics", key=False)
        self.assertEqual(r.status, 200, r)
        return metrics(r.body)

    def check(self, behind, version):
        # deliveries is read by the outbox's statement; the schema's
        # read is schema_migrations alone.
        STACK.sql("RENAME TABLE deliveries TO t408_deliveries", database=DB)
        try:
            for _ in range(WORKERS * 2):    # every worker of the pool
                m = self.scrape()
                self.assertEqual(m.get("vigil_metrics_db_up"), 0, m)
                self.assertNotIn("vigil_outbox_events_pending", m)
                self.assertEqual(m.get("vigil_db_schema_behind"), behind, m)
                self.assertEqual(m.get("vigil_db_schema_version"), version,
                                 m)
        finally:
            STACK.sql("RENAME TABLE t408_deliveries TO deliveries",
                      database=DB)
        m = self.scrape()
        self.assertEqual(m.get("vigil_metrics_db_up"), 1, m)
        self.assertEqual(m.get("vigil_webhook_deliveries_pending"), 0, m)
        self.assertEqual(m.get("vigil_db_schema_behind"), behind, m)

    def test_schema_gauges_when_the_figures_fail(self):
        if st["need"] not in tg.recorded(DB):
            self.assertEqual(ctl("migrate").returncode, 0)
        self.check(0, int(st["need"]))
        make_behind()
        self.check(1, int(st["before"]))


if __name__ == "__main__":
    unittest.main()
