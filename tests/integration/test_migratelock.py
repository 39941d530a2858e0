"""test_migratelock.py: vigilctl migrate behind another session that holds
a table a migration changes (README "Backup, restore and upgrade",
vigilctl(8) --lock-wait, exit status 75).

A migration's DDL (CREATE OR REPLACE TRIGGER ... ON findings, ALTER TABLE)
needs the table's metadata lock alone; an open transaction that has read
the table holds it shared until it ends, and while the DDL waits every
later statement on the table queues behind it. migrate waits --lock-wait
seconds (default 60), then stops with exit 75.

- T411: a database of its own at 0056, with findings; another client has
  an open transaction that read findings. vigilctl migrate --lock-wait 2
  exits 75 within seconds, naming 0057 and the SQL that finds the session
  (which does find it); nothing of 0057 recorded or changed, the lease
  given back, no statement of it left waiting on the server, and findings
  readable again while the transaction is still open. After the commit,
  vigilctl migrate applies the rest: triggers and procedures as the
  suite's own database has them, every count equal to a recount.
- T412: a row lock (innodb_lock_wait_timeout, 50 s by default): 0058's
  delete of the count rows at 0 behind a transaction that locked one of
  them: exit 75 naming 0058, 0057 recorded, 0058 not; then it finishes.
- T413: --lock-wait and --wait values: out of range or not a number exit
  64 and run nothing; the bounds are taken.
- T427: a migration statement that runs 34 s, past the 30 s (plus
  --lock-wait) read timeout of every other connection, is applied and
  recorded.

Run by run.py, which sets STACK here.
"""

import os
import re
import select
import shutil
import subprocess
import tempfile
import time
import unittest

import stack as stackmod
import test_api as api
import test_galera as tg
import test_trigmerge as tm

STACK = None        # a stack.Stack, set by run.py

DB = "vigil_t411"
MIG57 = "0057_findings_triggers_lean.sql"
MIG58 = "0058_count_rows_pruned.sql"
HINT = ("SELECT trx_mysql_thread_id, trx_started, trx_query FROM "
        "information_schema.INNODB_TRX ORDER BY trx_started")


def setUpModule():
    global STACK
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    tg.STACK = tm.STACK = STACK


def ctl(conf, *args, migrations=None, timeout=120):
    """vigilctl, bounded: a migrate that waits on its lock past timeout
    fails the test (subprocess.TimeoutExpired) instead of hanging it."""
    env = STACK.env()
    if migrations:
        env["VIGIL_MIGRATIONS"] = migrations
    t0 = time.monotonic()
    r = subprocess.run([STACK.vigilctl_bin, "-c", conf, *args], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    r.took = time.monotonic() - t0
    return r


class Holder:
    """Another client's session, a transaction left open: START
    TRANSACTION and one statement, then nothing until commit()."""

    def __init__(self, db, sql):
        self.p = subprocess.Popen(
            [stackmod.which("mariadb", "mysql"), "--no-defaults", "-S",
             STACK.db_sock, "-uroot", "-N", "-B", "--unbuffered", db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        self.send("START TRANSACTION; SELECT CONNECTION_ID(); " + sql)
        ready, _, _ = select.select([self.p.stdout], [], [], 30)
        assert ready, "the holding client did not answer"
        self.id = self.p.stdout.readline().strip()
        assert re.match(r"^\d+$", self.id), self.id

    def send(self, sql):
        self.p.stdin.write(sql + "\n")
        self.p.stdin.flush()

    def commit(self):
        if self.p.poll() is None:
            self.send("COMMIT;")
            self.p.stdin.close()
            self.p.wait(timeout=60)
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=60)


def objects(db):
    """What a migration changes here: the triggers and the routines,
    with their bodies."""
    trg = STACK.query(
        "SELECT trigger_name, event_object_table, action_statement FROM "
        "information_schema.triggers WHERE trigger_schema = '%s' "
        "ORDER BY 1" % db, database="information_schema")
    rtn = STACK.query(
        "SELECT routine_name, routine_definition FROM "
        "information_schema.routines WHERE routine_schema = '%s' "
        "ORDER BY 1" % db, database="information_schema")
    return trg, rtn


REF = "vigil_t411ref"
_REF = []


def reference():
    """objects() of a database vigilctl migrate took from empty to the
    newest migration in one run: what the finished database must hold.
    (The suite's own database is no reference: modules before this one
    run migrations again through the mariadb client, which drops the
    comments inside trigger bodies.)"""
    if not _REF:
        conf = tg.fresh_db(REF)
        r = ctl(conf, "migrate", timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        _REF.append(objects(REF))
        STACK.sql("DROP DATABASE IF EXISTS %s" % REF, check=False)
    return _REF[0]


def waiting(db):
    """Statements on db waiting for a lock, as the server lists them."""
    return STACK.query(
        "SELECT id, state, LEFT(info, 60) FROM information_schema.PROCESSLIST "
        "WHERE db = '%s' AND state LIKE 'Waiting%%'" % db,
        database="information_schema")


class Base(unittest.TestCase):
    """A database of its own at 0056 (the migration before the first that
    recreates the findings triggers), with findings and audit entries
    written through its triggers; recount_equal, tenant and writes are
    T344's."""

    maxDiff = None
    recount_equal = tm.T344UpgradeFreshDatabase.recount_equal
    tenant = tm.T344UpgradeFreshDatabase.tenant
    writes = tm.T344UpgradeFreshDatabase.writes
    DB = DB

    @classmethod
    def setUpClass(cls):
        cls.conf = tg.fresh_db(DB)
        cls.dir = tempfile.mkdtemp(prefix="t411-", dir=STACK.root)
        src = os.path.join(STACK.srcdir, "db", "migrations")
        for f in os.listdir(src):
            if re.match(r"^\d{4}_.*\.sql$", f) and f < "0057":
                os.symlink(os.path.join(src, f), os.path.join(cls.dir, f))
        r = ctl(cls.conf, "migrate", migrations=cls.dir, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        assert tg.recorded(DB)[-1] == "0056", tg.recorded(DB)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)
        STACK.sql("DROP DATABASE IF EXISTS %s" % DB, check=False)

    def assert_gave_up(self, r, mig, lock_s):
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 75, out)
        self.assertRegex(r.stdout, r"(?m)^migrate: %s: statement \d+ waited "
                         r"%d s for a lock another session holds and gave "
                         r"up \(Lock wait timeout exceeded" %
                         (re.escape(mig), lock_s))
        self.assertIn("migrate: stopped at %s, not recorded as applied: "
                      "another session holds a lock on a table it changes"
                      % mig, r.stdout)
        self.assertIn(HINT, r.stdout)
        self.assertIn("SHOW FULL PROCESSLIST", r.stdout)
        self.assertIn("then run vigilctl migrate again: it applies %s from "
                      "its start" % mig, r.stdout)
        self.assertIn("--lock-wait SECONDS waits longer", r.stdout)
        self.assertNotIn("fix it and run again", r.stdout)

    def finish(self, after):
        """vigilctl migrate with every migration: applies each one after
        `after`, once, in order; ends as a database migrated from empty
        does."""
        r = ctl(self.conf, "migrate", timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        later = [v for v in tg.migrations() if v > after]
        self.assertEqual(re.findall(r"(?m)^applied (\d{4})_", r.stdout),
                         later, r.stdout)
        self.assertEqual(tg.recorded(DB), tg.migrations())
        self.assertIsNone(tg.lease(DB))
        self.assertEqual(objects(DB), reference())
        self.recount_equal()


class T411MigrateBehindOpenTransaction(Base):
    """A transaction that read findings, left open: migrate --lock-wait 2
    gives up on 0057's CREATE OR REPLACE TRIGGER ... ON findings within
    seconds, exit 75, having changed nothing; after the commit migrate
    finishes."""

    def test_gives_up_then_finishes(self):
        ta = self.tenant(self.conf, "ta")
        self.writes(ta, 60, 0)
        self.recount_equal()
        before, objs = tg.recorded(DB), objects(DB)
        h = Holder(DB, "SELECT seq FROM findings LIMIT 1;")
        try:
            r = ctl(self.conf, "migrate", "--lock-wait", "2", timeout=120)
            print("\nT411: migrate --lock-wait 2 behind an open "
                  "transaction: exit %d after %.1f s" % (r.returncode,
                                                         r.took), flush=True)
            self.assert_gave_up(r, MIG57, 2)
            # A few seconds: the 2 s wait, the server check and the
            # statements before it (ASan build, a busy machine).
            self.assertGreaterEqual(r.took, 2.0)
            self.assertLess(r.took, 20.0)
            self.assertNotRegex(r.stdout, r"(?m)^applied ")
            self.assertEqual(tg.recorded(DB), before)
            self.assertEqual(objects(DB), objs)
            self.assertIsNone(tg.lease(DB))
            # Nothing of it left queued on the server, so findings are
            # read again while the transaction is still open: a lock
            # still queued would make this read wait its 5 s and fail.
            self.assertEqual(waiting(DB), [])
            STACK.sql("SET SESSION lock_wait_timeout = 5; SELECT COUNT(*) "
                      "FROM findings", database=DB)
            # The SQL the message names finds the session in the way.
            self.assertIn([h.id], [row[:1] for row in STACK.query(
                HINT, database=DB)])
            # Run again while it is still open: the same, no worse.
            r = ctl(self.conf, "migrate", "--lock-wait", "1", timeout=120)
            self.assert_gave_up(r, MIG57, 1)
            self.assertEqual(tg.recorded(DB), before)
            self.assertIsNone(tg.lease(DB))
        finally:
            rc = h.commit()
        self.assertEqual(rc, 0)
        self.finish("0056")
        self.writes(ta, 40, 200)
        self.writes(self.tenant(self.conf, "tb"), 30, 300)
        self.recount_equal()


class T412MigrateBehindRowLock(Base):
    """A row lock in the way (innodb_lock_wait_timeout, 50 s unless
    migrate sets it): 0058 deletes the count rows at n = 0, one of which
    another transaction holds FOR UPDATE. Exit 75 naming 0058 after
    --lock-wait; 0057 stays recorded, 0058 is not; then it finishes."""

    def test_row_lock(self):
        ta = self.tenant(self.conf, "ta")
        self.writes(ta, 20, 0)
        STACK.sql("INSERT INTO finding_meta_counts VALUES ('%s', 4, '', "
                  "'gone', 'open', 'high', 0)" % ta, database=DB)
        before = tg.recorded(DB)
        h = Holder(DB, "SELECT n FROM finding_meta_counts WHERE value_bin "
                   "= 'gone' FOR UPDATE;")
        try:
            r = ctl(self.conf, "migrate", "--lock-wait", "2", timeout=120)
            print("\nT412: migrate --lock-wait 2 behind a row lock: exit "
                  "%d after %.1f s" % (r.returncode, r.took), flush=True)
            self.assert_gave_up(r, MIG58, 2)
            self.assertLess(r.took, 20.0)
            self.assertEqual(re.findall(r"(?m)^applied (\d{4})_", r.stdout),
                             ["0057"], r.stdout)
            self.assertEqual(tg.recorded(DB), before + ["0057"])
            self.assertIsNone(tg.lease(DB))
            self.assertEqual(waiting(DB), [])
        finally:
            rc = h.commit()
        self.assertEqual(rc, 0)
        self.finish("0057")
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM finding_meta_counts WHERE n = 0",
            database=DB), [["0"]])


class T413MigrateWaitOptions(unittest.TestCase):
    """--lock-wait takes 1 to 86400 seconds, --wait 0 to 86400; anything
    else is a usage error (64) and nothing runs."""

    def test_bad_values_exit_64(self):
        for args in (("--lock-wait", "0"), ("--lock-wait", "86401"),
                     ("--lock-wait", "-1"), ("--lock-wait", "x"),
                     ("--lock-wait", ""), ("--lock-wait", "2s"),
                     ("--lock-wait", " 2"), ("--lock-wait",),
                     ("--wait", "86401"), ("--wait", "-1"),
                     ("--wait", "1", "--lock-wait", "99999999999999999999"),
                     ("--lock-wait", "5", "extra"), ("--lockwait", "5")):
            with self.subTest(args=args):
                r = ctl(STACK.conf, "migrate", *args)
                self.assertEqual(r.returncode, 64, r.stdout + r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertIn("usage: vigilctl [-c file] migrate [--wait "
                              "SECONDS] [--lock-wait SECONDS]", r.stderr)

    def test_bounds_taken(self):
        for args in (("--lock-wait", "1"), ("--lock-wait", "86400"),
                     ("--wait", "0", "--lock-wait", "3"),
                     ("--lock-wait=7", "--wait=86400")):
            with self.subTest(args=args):
                r = ctl(STACK.conf, "migrate", *args)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertEqual(r.stdout, "nothing to do\n")
        r = ctl(STACK.conf, "--help")
        self.assertIn("--lock-wait: seconds a statement waits", r.stdout)
        self.assertIn("75 busy, try again", r.stdout)


class T427MigrateLongStatement(unittest.TestCase):
    """A migration's statement may run longer than the 30 s (plus
    --lock-wait) every other statement is given: an index added to a
    large estate's findings rebuilds the table for minutes. Before, the
    client's read timeout cut the connection at 31 s while the server
    went on, and migrate failed with the migration not recorded. Here a
    migration of the test's own (after every real one) runs 34 s."""

    DB = "vigil_t427"

    def test_statement_past_the_read_timeout(self):
        conf = tg.fresh_db(self.DB)
        r = ctl(conf, "migrate", timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        before = tg.recorded(self.DB)
        tmp = tempfile.mkdtemp(prefix="t427-", dir=STACK.root)
        src = os.path.join(STACK.srcdir, "db", "migrations")
        for f in os.listdir(src):
            shutil.copy(os.path.join(src, f), tmp)
        slow = "%04d_t427_slow.sql" % (int(before[-1]) + 1)
        with open(os.path.join(tmp, slow), "w") as f:
            f.write("-- T427: a statement that runs 34 s\n"
                    "CREATE TABLE t427_done (at DATETIME NOT NULL) "
                    "SELECT NOW() AS at FROM (SELECT SLEEP(34)) s;\n")
        r = ctl(conf, "migrate", "--lock-wait", "1", migrations=tmp,
                timeout=300)
        print("\nT427: a 34 s migration statement: exit %d after %.1f s"
              % (r.returncode, r.took), flush=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("applied " + slow, r.stdout)
        self.assertGreaterEqual(r.took, 34.0)
        self.assertEqual(tg.recorded(self.DB), before + [slow[:4]])
        self.assertEqual(STACK.query("SELECT COUNT(*) FROM t427_done",
                                     database=self.DB), [["1"]])
        self.assertIsNone(tg.lease(self.DB))
        STACK.sql("DROP DATABASE %s" % self.DB)


if __name__ == "__main__":
    unittest.main()
