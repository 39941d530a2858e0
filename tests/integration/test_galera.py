"""test_galera.py: what makes Vigil safe on a MariaDB Galera cluster, tested
on the suite's one server (README "Supported topologies"; the cluster
harness, tests/cluster, runs the same on three nodes).

- vigilctl migrate holds a lease, one row of migrate_lease, instead of
  GET_LOCK (which Galera does not replicate): two runners at once on a fresh
  database, one applies every migration and the other waits and finds
  nothing to do; a lease held by another runner makes migrate wait and exit
  75 when it is not freed in time; the lease is renewed while a long
  migration runs; a runner killed midway leaves a lease that expires, and
  the next runner carries on where it stopped.
- every table has a primary key, and is InnoDB (Galera replicates nothing
  else).
- vigilctl db check and migrate's check of the server's settings, and the
  db_sync_wait key on a server that is not a Galera node.

Run by run.py, which sets STACK here.
"""

import os
import re
import signal
import subprocess
import time
import unittest

import test_api as api

STACK = None        # a stack.Stack, set by run.py


def setUpModule():
    global STACK
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")


def migrations():
    """The versions of the migration files shipped."""
    d = os.path.join(STACK.srcdir, "db", "migrations")
    return sorted(f[:4] for f in os.listdir(d)
                  if re.match(r"^\d{4}_.+\.sql$", f))


def fresh_db(name, **conf):
    """An empty database NAME the vigil user may use, and a vigil.conf
    naming it (plus conf's keys); the path of that file."""
    STACK.sql("DROP DATABASE IF EXISTS %s" % name)
    stmts = ["CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
             % name]
    for host in ("127.0.0.1", "localhost"):
        stmts.append("GRANT ALL PRIVILEGES ON %s.* TO 'vigil'@'%s'" %
                     (name, host))
    STACK.sql("; ".join(stmts))
    return write_conf(name + ".conf", db_name=name, **conf)


def write_conf(fname, **keys):
    """A copy of the stack's vigil.conf with keys set, readable by all as
    that one is (a vigil-api of a test's own may run as another user);
    its path."""
    with open(STACK.conf) as f:
        lines = [ln for ln in f.read().splitlines()
                 if ln.split("=", 1)[0].strip() not in keys]
    lines += ["%s = %s" % kv for kv in keys.items()]
    path = os.path.join(STACK.root, fname)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o644)
    return path


def ctl(conf, *args, timeout=300):
    return subprocess.run([STACK.vigilctl_bin, "-c", conf, *args],
                          env=STACK.env(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def start(conf, *args):
    return subprocess.Popen([STACK.vigilctl_bin, "-c", conf, *args],
                            env=STACK.env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def recorded(db):
    return [r[0] for r in STACK.query(
        "SELECT version FROM schema_migrations ORDER BY version",
        database=db)]


def schema(db):
    """What a database's schema is: columns, indexes and triggers."""
    cols = STACK.query(
        "SELECT table_name, column_name, column_type, is_nullable, "
        "IFNULL(column_default, '-') FROM information_schema.columns "
        "WHERE table_schema = '%s' ORDER BY 1, 2" % db,
        database="information_schema")
    idx = STACK.query(
        "SELECT table_name, index_name, seq_in_index, column_name, "
        "non_unique FROM information_schema.statistics WHERE "
        "table_schema = '%s' ORDER BY 1, 2, 3" % db,
        database="information_schema")
    trg = STACK.query(
        "SELECT trigger_name, event_object_table FROM "
        "information_schema.triggers WHERE trigger_schema = '%s' "
        "ORDER BY 1" % db, database="information_schema")
    return cols, idx, trg


def lease(db):
    rows = STACK.query("SELECT holder, TIMESTAMPDIFF(SECOND, "
                       "UTC_TIMESTAMP(), expires_at) FROM migrate_lease",
                       database=db)
    return (rows[0][0], int(rows[0][1])) if rows else None


class T210MigrateLease(unittest.TestCase):
    """vigilctl migrate: one runner at a time through migrate_lease."""

    DBS = ("vigil_t210a", "vigil_t210b", "vigil_t210c", "vigil_t210d")

    @classmethod
    def tearDownClass(cls):
        for db in cls.DBS:
            STACK.sql("DROP DATABASE IF EXISTS %s" % db, check=False)

    def test_1_two_runners_on_a_fresh_database(self):
        """Both at once: one applies every migration, the other waits
        for it and then has nothing to do; each migration ran and is
        recorded once; the schema is the suite's own."""
        conf = fresh_db("vigil_t210a")
        a, b = start(conf, "migrate"), start(conf, "migrate")
        outs = [p.communicate(timeout=600) for p in (a, b)]
        self.assertEqual([a.returncode, b.returncode], [0, 0], outs)
        applied = [o for o, _ in outs if "applied 0001_" in o]
        waited = [o for o, _ in outs if "nothing to do" in o]
        self.assertEqual(len(applied), 1, outs)
        self.assertEqual(len(waited), 1, outs)
        self.assertIn("waiting for another runner", waited[0])
        self.assertNotIn("applied", waited[0])
        for v in migrations():
            self.assertEqual(applied[0].count("applied %s_" % v), 1, v)
        self.assertEqual(recorded("vigil_t210a"), migrations())
        self.assertEqual(schema("vigil_t210a"), schema("vigil"))
        # The lease is given back at the end.
        self.assertIsNone(lease("vigil_t210a"))

    def test_2_lease_held_by_another_runner(self):
        """A live lease of another runner: migrate waits --wait seconds,
        names the holder and exits 75, having changed nothing; once the
        lease expires it runs."""
        conf = fresh_db("vigil_t210b")
        r = ctl(conf, "migrate")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        STACK.sql("DELETE FROM schema_migrations WHERE version = '%s'" %
                  migrations()[-1], database="vigil_t210b")
        STACK.sql("INSERT INTO migrate_lease VALUES (1, 'otherhost:42:"
                  "cafe', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL "
                  "1 HOUR)", database="vigil_t210b")
        t0 = time.monotonic()
        r = ctl(conf, "migrate", "--wait", "2")
        self.assertEqual(r.returncode, 75, r.stdout + r.stderr)
        # The whole 2 s (a deadline in whole seconds of time() gave up
        # after as little as 1 s).
        self.assertGreaterEqual(time.monotonic() - t0, 2.0)
        self.assertIn("otherhost:42:cafe", r.stdout)
        self.assertIn("run again later", r.stdout)
        self.assertNotIn("applied", r.stdout)
        self.assertEqual(recorded("vigil_t210b"), migrations()[:-1])
        self.assertEqual(lease("vigil_t210b")[0], "otherhost:42:cafe")
        # Expiring in 2 s: the runner waits for it, then takes over.
        STACK.sql("UPDATE migrate_lease SET expires_at = UTC_TIMESTAMP(6) "
                  "+ INTERVAL 2 SECOND", database="vigil_t210b")
        t0 = time.monotonic()
        r = ctl(conf, "migrate", "--wait", "30")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertGreaterEqual(time.monotonic() - t0, 1.0)
        self.assertIn("waiting for another runner (otherhost:42:cafe)",
                      r.stdout)
        self.assertIn("applied %s_" % migrations()[-1], r.stdout)
        self.assertEqual(recorded("vigil_t210b"), migrations())
        self.assertIsNone(lease("vigil_t210b"))

    def test_3_runner_killed_midway(self):
        """SIGKILL mid-migration: the lease stays until it expires (a
        next runner meanwhile exits 75), then the next runner applies what
        was not recorded, the interrupted migration again from its start,
        and ends with the same schema as one uninterrupted run."""
        conf = fresh_db("vigil_t210c")
        p = start(conf, "migrate")
        seen = []
        for line in p.stdout:
            seen.append(line)
            if line.startswith("applied 0005_"):
                break
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=60)
        self.assertTrue(seen and seen[-1].startswith("applied 0005_"), seen)
        holder, secs = lease("vigil_t210c")
        self.assertRegex(holder, r":%d:[0-9a-f]{8}$" % p.pid)
        self.assertTrue(0 < secs <= 60, secs)
        done = recorded("vigil_t210c")
        self.assertLess(len(done), len(migrations()))
        r = ctl(conf, "migrate", "--wait", "0")
        self.assertEqual(r.returncode, 75, r.stdout + r.stderr)
        self.assertEqual(recorded("vigil_t210c"), done)
        # As if its 60 s had passed.
        STACK.sql("UPDATE migrate_lease SET expires_at = UTC_TIMESTAMP(6) "
                  "- INTERVAL 1 SECOND", database="vigil_t210c")
        r = ctl(conf, "migrate", "--wait", "0")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("applied 0001_", r.stdout)
        self.assertIn("applied %s_" % migrations()[-1], r.stdout)
        self.assertEqual(recorded("vigil_t210c"), migrations())
        self.assertEqual(schema("vigil_t210c"), schema("vigil"))
        self.assertIsNone(lease("vigil_t210c"))


    def test_4_renewed_while_running(self):
        """A migration longer than the renewal period (a long ALTER, here
        a 13 s sleep): the lease's expiry moves on while it runs, on the
        runner's second connection, and is gone at the end."""
        conf = fresh_db("vigil_t210d")
        r = ctl(conf, "migrate")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        d = os.path.join(STACK.root, "t210-migrations")
        os.makedirs(d, exist_ok=True)
        src = os.path.join(STACK.srcdir, "db", "migrations")
        for f in os.listdir(src):
            if not os.path.exists(os.path.join(d, f)):
                os.symlink(os.path.join(src, f), os.path.join(d, f))
        with open(os.path.join(d, "9990_t210_slow.sql"), "w") as f:
            f.write("-- a migration that takes 13 s\nDO SLEEP(13);\n")
        env = STACK.env()
        env["VIGIL_MIGRATIONS"] = d
        p = subprocess.Popen([STACK.vigilctl_bin, "-c", conf, "migrate"],
                             env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        expiries = []
        deadline = time.monotonic() + 60
        while p.poll() is None and time.monotonic() < deadline:
            rows = STACK.query("SELECT expires_at FROM migrate_lease",
                               database="vigil_t210d")
            if rows:
                expiries.append(rows[0][0])
            time.sleep(0.5)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, out + err)
        self.assertIn("applied 9990_t210_slow.sql", out)
        self.assertGreaterEqual(len(set(expiries)), 2, expiries)
        self.assertEqual(recorded("vigil_t210d"), migrations() + ["9990"])
        self.assertIsNone(lease("vigil_t210d"))


class T211Tables(unittest.TestCase):
    """Galera needs a primary key on every table (a row event without one
    is applied by a full scan on every node, and certification has no key
    to tell conflicts by), and replicates InnoDB tables only."""

    # Not replicated on purpose: the rate-limit counters are a MEMORY
    # table, counted per server (README "Supported topologies").
    NOT_INNODB = {"rate_limits"}

    def test_primary_key_on_every_table(self):
        rows = STACK.query(
            "SELECT t.table_name FROM information_schema.tables t "
            "LEFT JOIN information_schema.table_constraints c ON "
            "c.table_schema = t.table_schema AND c.table_name = "
            "t.table_name AND c.constraint_type = 'PRIMARY KEY' "
            "WHERE t.table_schema = 'vigil' AND t.table_type = "
            "'BASE TABLE' AND c.constraint_name IS NULL",
            database="information_schema")
        self.assertEqual(rows, [], "tables without a primary key")
        tables = {r[0] for r in STACK.query(
            "SELECT table_name FROM information_schema.tables WHERE "
            "table_schema = 'vigil' AND table_type = 'BASE TABLE'",
            database="information_schema")}
        # The runner's own tables are among them.
        self.assertIn("migrate_lease", tables)
        self.assertIn("schema_migrations", tables)

    def test_innodb(self):
        rows = STACK.query(
            "SELECT table_name, engine FROM information_schema.tables "
            "WHERE table_schema = 'vigil' AND table_type = 'BASE TABLE' "
            "AND engine <> 'InnoDB'", database="information_schema")
        self.assertEqual({r[0] for r in rows}, self.NOT_INNODB, rows)


class T212DbCheck(unittest.TestCase):
    """vigilctl db check, and db_sync_wait, on a server that is not a
    Galera node (the suite's)."""

    def test_db_check_single_server(self):
        r = STACK.vigilctl("db", "check", check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertRegex(lines[0], r"^server: MariaDB \S+, not a Galera "
                         r"node \(wsrep_on OFF\)")
        self.assertIn("db_sync_wait = auto: ignored (not a Galera node)",
                      lines)
        self.assertEqual(lines[-1], "ok")
        # migrate says nothing of a server that is fine.
        r = STACK.vigilctl("migrate")
        self.assertEqual(r.stdout, "nothing to do\n")

    def test_db_sync_wait_key(self):
        # Set explicitly: ignored here, and said once.
        conf = write_conf("t212-sync.conf", db_sync_wait="3")
        r = ctl(conf, "db", "check")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("db_sync_wait = 3: ignored (not a Galera node)",
                      r.stdout.splitlines())
        self.assertEqual(r.stderr.count("db_sync_wait = 3 ignored: the "
                                        "server is not a Galera node"), 1,
                         r.stderr)
        # auto (the default) says nothing: cron's jobs stay quiet.
        r = ctl(STACK.conf, "tenant", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("db_sync_wait", r.stderr)
        for bad in ("16", "-1", "yes", ""):
            conf = write_conf("t212-bad.conf", db_sync_wait=bad)
            r = ctl(conf, "db", "check")
            self.assertEqual(r.returncode, 78, (bad, r.stdout, r.stderr))
            self.assertIn("db_sync_wait", r.stderr)
