"""test_grants.py: the database user's privileges, as vigilctl db check
and migrate judge them (migrate.c, migrate_grants_*).

From migration 0039 on, the scanner's and importer's batches CALL
findings_batch_begin and findings_batch_end (and from 0059 on
findings_seen_mark), so the programs' user needs
EXECUTE besides SELECT, INSERT, UPDATE and DELETE; the procedures (and the
triggers) run with the rights of the user that migrated them, which needs
CREATE TEMPORARY TABLES besides. The tests make accounts with exactly the
README's grants, and with one privilege less, and check:

- T330: the programs' minimal grant passes db check and runs a scan and
  an import whose counters equal a recount;
- T331: a user without EXECUTE is named by db check (exit 77) with the
  GRANT that fixes it (run as printed, it does), migrate warns of it, and
  the scan it would break does fail;
- T332: no false alarm for GRANT ALL on the schema, on *.*, or on a
  database pattern that matches;
- T333: migrate refuses, before applying anything, a migrating user
  without CREATE TEMPORARY TABLES (the batch procedures would be its and
  fail every batch), and the README's migrating grant migrates a new
  schema whole, after which db check passes with its procedures' definer;
- T334: privileges through the user's default role count.

Run by run.py, which sets STACK here.
"""

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import unittest

import test_api as api
import test_batchcounts as tb
import test_counts as tc
import test_scanner as ts
from test_findings import entry, q

STACK = None        # a stack.Stack, set by run.py
TMP = None

# The README's grants (install section): the programs' user when another
# account migrates, and a user that migrates too. Keep them equal.
RUNTIME = "SELECT, INSERT, UPDATE, DELETE, EXECUTE"
MIGRATING = (RUNTIME + ", CREATE, ALTER, DROP, INDEX, TRIGGER, "
             "CREATE ROUTINE, ALTER ROUTINE, CREATE TEMPORARY TABLES")
HOST = "127.0.0.1"      # the stack's vigil.conf connects over TCP
USERS = []
DATABASES = []


def setUpModule():
    global STACK, TMP
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    TMP = tempfile.mkdtemp(prefix="vigil-grants-")
    os.chmod(TMP, 0o755)
    tb.STACK = STACK
    tb.setUpModule()


def tearDownModule():
    for u in USERS:
        STACK.sql("DROP USER IF EXISTS '%s'@'%s'" % (u, HOST), check=False)
    for d in DATABASES:
        STACK.sql("DROP DATABASE IF EXISTS %s" % d, check=False)
    tb.tearDownModule()
    if TMP:
        shutil.rmtree(TMP, ignore_errors=True)


def account(name, grant, on="vigil.*"):
    """A new account NAME@127.0.0.1 with GRANT grant ON on (None: none),
    and a copy of the conf (rules_dir test_batchcounts') connecting as it;
    the conf's path."""
    pw = secrets.token_hex(12)
    STACK.sql("DROP USER IF EXISTS '%s'@'%s'" % (name, HOST))
    STACK.sql("CREATE USER '%s'@'%s' IDENTIFIED BY '%s'" % (name, HOST, pw))
    USERS.append(name)
    if grant:
        STACK.sql("GRANT %s ON %s TO '%s'@'%s'" % (grant, on, name, HOST))
    return conf_as(name, pw)


def conf_as(name, pw, **keys):
    keys = dict(keys, db_user=name, db_password=pw)
    with open(tb.CONF) as f:
        lines = [ln for ln in f.read().splitlines()
                 if ln.split("=", 1)[0].strip() not in keys]
    lines += ["%s = %s" % kv for kv in keys.items()]
    path = os.path.join(TMP, "%s-%s.conf" % (name, keys.get("db_name",
                                                            "vigil")))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def ctl(conf, *args, timeout=300):
    return subprocess.run([STACK.vigilctl_bin, "-c", conf, *args],
                          env=STACK.env(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def scan(conf, integ):
    return subprocess.run([STACK.vigil_scan_bin, "-c", conf, "--once",
                           "--integration", integ], env=STACK.env(),
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=600)


class GBase(ts.ScanBase, tb.BBase):

    def last_scan(self):
        r = self.req("GET", "/api/v1/scans?limit=1")
        self.assertEqual(r.status, 200, r)
        return r.json()["scans"][0]

    def assert_check_ok(self, conf, user):
        r = ctl(conf, "db", "check")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertIn("privileges: '%s'@'%s' on `vigil`: SELECT, INSERT, "
                      "UPDATE, DELETE, EXECUTE (ok)" % (user, HOST), lines)
        self.assertNotIn("missing:", r.stdout)
        self.assertEqual(lines[-1], "ok")
        return lines


class T330GrantsMinimal(GBase):
    """The programs' minimal grant: db check passes, and a scan and an
    import through it write and count."""

    def test_minimal_grant_scans(self):
        conf = account("vigil_t330", RUNTIME)
        lines = self.assert_check_ok(conf, "vigil_t330")
        # The procedures are the migrating user's (the stack's vigil).
        self.assertTrue(any(ln.startswith(
            "procedures: findings_batch_begin and findings_batch_end run "
            "with the rights of vigil@") for ln in lines), lines)

        ts.write_inventory(self.inv, tb.storages(["g-st%d" % i for i in
                                                  range(4)]) +
                           tb.nsgs(["g-nsg0", "g-nsg1"]))
        integ = self.integration()
        p = scan(conf, integ)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        s = self.last_scan()
        self.assertEqual(s["status"], "completed", s)
        self.assertEqual(s["findings_detected"], 6, s)
        self.check_all()
        # A rescan with one fixed: resolved through the batch path.
        ts.write_inventory(self.inv, tb.storages(["g-st0"], https=True) +
                           tb.storages(["g-st%d" % i for i in range(1, 4)])
                           + tb.nsgs(["g-nsg0", "g-nsg1"]))
        p = scan(conf, integ)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.last_scan()["findings_resolved"], 1)
        self.check_all()

        # An import, the other batch writer, as the same user.
        path = os.path.join(TMP, "t330.json")
        with open(path, "w") as f:
            f.write('{"findings": [%s]}' % ", ".join(
                json.dumps(entry(sev)) for sev in
                ("critical", "high", "low")))
        r = ctl(conf, "findings", "import", "--tenant", self.tenant, path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.check_all()


class T331GrantsNoExecute(GBase):
    """Without EXECUTE: db check names it and prints the fix, which
    works; migrate warns; and the scan fails, as the check foretells."""

    def test_missing_execute(self):
        conf = account("vigil_t331", "SELECT, INSERT, UPDATE, DELETE")
        r = ctl(conf, "db", "check")
        self.assertEqual(r.returncode, 77, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(any(ln.startswith(
            "missing: 'vigil_t331'@'127.0.0.1' has no EXECUTE on `vigil`: "
            "the scanner's and importer's batches CALL "
            "findings_batch_begin and findings_batch_end") for ln in lines),
            lines)
        fix = "GRANT EXECUTE ON `vigil`.* TO 'vigil_t331'@'127.0.0.1'"
        self.assertIn("missing: to fix, as an administrator: " + fix, lines)
        self.assertEqual(lines[-1], "check: the database user lacks "
                         "privileges Vigil needs (above)")
        for ok in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            self.assertNotIn("has no %s " % ok, r.stdout)

        # migrate as this user: nothing to apply, the warning said.
        r = ctl(conf, "migrate")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("migrate: warning: 'vigil_t331'@'127.0.0.1' has no "
                      "EXECUTE on `vigil`", r.stdout)
        self.assertIn("migrate: warning: to fix, as an administrator: " +
                      fix, r.stdout)

        # What the check is for: a scan as this user fails (a first scan
        # of 20: a batch of 16 rows or more to write calls the procedures;
        # a smaller one counts through the triggers, findings.c
        # BATCH_FRAME_MIN).
        ts.write_inventory(self.inv, tb.storages(["g-x%d" % i
                                                  for i in range(20)]))
        integ = self.integration()
        p = scan(conf, integ)
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(tc.num("SELECT COUNT(*) FROM findings WHERE "
                                "tenant_id = %s" % q(self.tenant_id)), 0)

        # The printed statement, run as printed, is the fix.
        STACK.sql(fix)
        self.assert_check_ok(conf, "vigil_t331")
        p = scan(conf, integ)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.last_scan()["status"], "completed")
        self.check_all()


class T332GrantsAll(unittest.TestCase):
    """GRANT ALL, as the README's install has it: no false alarm, on the
    schema (the stack's own user), on *.*, or on a matching pattern."""

    def test_grant_all(self):
        r = STACK.vigilctl("db", "check", check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("privileges: 'vigil'@'127.0.0.1' on `vigil`: SELECT, "
                      "INSERT, UPDATE, DELETE, EXECUTE, CREATE TEMPORARY "
                      "TABLES (ok)", r.stdout.splitlines())
        self.assertIn("procedures: findings_batch_begin and "
                      "findings_batch_end run with this user's rights (it "
                      "migrated them)", r.stdout.splitlines())
        for name, on in (("vigil_t332a", "*.*"), ("vigil_t332b", "`vig%`.*")):
            conf = account(name, "ALL PRIVILEGES", on=on)
            r = ctl(conf, "db", "check")
            self.assertEqual(r.returncode, 0, (on, r.stdout, r.stderr))
            self.assertNotIn("missing", r.stdout)
            self.assertNotIn("warning", r.stdout)
            self.assertEqual(r.stdout.splitlines()[-1], "ok")


class T333GrantsMigrate(unittest.TestCase):
    """migrate and the migrating user's grant, on a schema of its own."""

    def test_migrating_user(self):
        db = "vigil_t333"
        STACK.sql("DROP DATABASE IF EXISTS %s" % db)
        STACK.sql("CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE "
                  "utf8mb4_bin" % db)
        DATABASES.append(db)
        name, pw = "vigil_t333", secrets.token_hex(12)
        STACK.sql("DROP USER IF EXISTS '%s'@'%s'" % (name, HOST))
        STACK.sql("CREATE USER '%s'@'%s' IDENTIFIED BY '%s'" %
                  (name, HOST, pw))
        USERS.append(name)
        less = MIGRATING.replace(", CREATE TEMPORARY TABLES", "")
        self.assertNotEqual(less, MIGRATING)
        STACK.sql("GRANT %s ON %s.* TO '%s'@'%s'" % (less, db, name, HOST))
        conf = conf_as(name, pw, db_name=db)

        r = ctl(conf, "migrate")
        self.assertEqual(r.returncode, 77, r.stdout + r.stderr)
        self.assertIn("migrate: refused: 'vigil_t333'@'127.0.0.1' has no "
                      "CREATE TEMPORARY TABLES on `vigil_t333`", r.stdout)
        self.assertIn("migrate: refused: to fix, as an administrator: GRANT "
                      "CREATE TEMPORARY TABLES ON `vigil_t333`.* TO "
                      "'vigil_t333'@'127.0.0.1'", r.stdout)
        self.assertRegex(r.stdout, r"creates a procedure that would run "
                         r"with this user's rights; nothing was changed")
        self.assertEqual(STACK.query("SELECT COUNT(*) FROM "
                                     "schema_migrations", database=db),
                         [["0"]])
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM information_schema.tables WHERE "
            "table_schema = '%s' AND table_name NOT IN ('migrate_lease', "
            "'schema_migrations')" % db), [["0"]])

        # The README's migrating grant: the whole schema, then db check
        # passes with this user as the procedures' definer.
        STACK.sql("GRANT %s ON %s.* TO '%s'@'%s'" % (MIGRATING, db, name,
                                                     HOST))
        r = ctl(conf, "migrate", timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("warning", r.stdout)
        self.assertEqual(
            STACK.query("SELECT COUNT(*) FROM schema_migrations",
                        database=db),
            [[str(len([f for f in os.listdir(os.path.join(
                STACK.srcdir, "db", "migrations")) if f.endswith(".sql")]))]])
        r = ctl(conf, "db", "check")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("privileges: 'vigil_t333'@'127.0.0.1' on "
                      "`vigil_t333`: SELECT, INSERT, UPDATE, DELETE, "
                      "EXECUTE, CREATE TEMPORARY TABLES (ok)",
                      r.stdout.splitlines())
        # Taken back from the definer: named, as the batches would fail.
        STACK.sql("REVOKE CREATE TEMPORARY TABLES ON %s.* FROM '%s'@'%s'"
                  % (db, name, HOST))
        r = ctl(conf, "db", "check")
        self.assertEqual(r.returncode, 77, r.stdout + r.stderr)
        self.assertIn("missing: 'vigil_t333'@'127.0.0.1' has no CREATE "
                      "TEMPORARY TABLES on `vigil_t333`", r.stdout)


class T334GrantsRoles(unittest.TestCase):
    """Privileges through a role (the user's default role) count as the
    user's own. (Through a role granted but not enabled the user has no
    privilege on the database, and cannot even connect to it: exit 69.)"""

    def test_default_role(self):
        role = "vigil_t334_rt"
        STACK.sql("DROP ROLE IF EXISTS %s" % role)
        STACK.sql("CREATE ROLE %s" % role)
        try:
            STACK.sql("GRANT %s ON vigil.* TO %s" % (RUNTIME, role))
            conf = account("vigil_t334", None)
            STACK.sql("GRANT %s TO 'vigil_t334'@'%s'" % (role, HOST))
            STACK.sql("SET DEFAULT ROLE %s FOR 'vigil_t334'@'%s'" %
                      (role, HOST))
            r = ctl(conf, "db", "check")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("privileges: 'vigil_t334'@'127.0.0.1' on `vigil`: "
                          "SELECT, INSERT, UPDATE, DELETE, EXECUTE (ok)",
                          r.stdout.splitlines())
        finally:
            STACK.sql("DROP ROLE IF EXISTS %s" % role, check=False)
