"""test_trigmerge.py: one AFTER trigger per event on findings and on
audit_log (migration 0048), which run the bodies of the five or six
separate triggers they replaced, with the batch guard tested once.

The set of triggers after vigilctl migrate is exactly the merged ones
(T340); running older migrations again, as a backfill does, leaves it so,
because vigilctl migrate applies 0048 again after them, and every counter
stays equal to a recount through scans, imports, the API's actions and
deletes (T341); a database at 0047 with data, migrated to 0048, keeps its
counts exact (T342, through the scanner, imports and the API; T344, a
database of its own, with SQL writes); and each replaced trigger's body,
left out of the merged trigger on its own, makes a recount differ (T343).

Run by run.py, which sets STACK here (and in the modules used below).
"""

import itertools
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import test_api as api
import test_batchcounts as tb
import test_batchrows as tbr
import test_counts as tc
import test_scanner as ts
from test_findings import entry, import_findings, q

STACK = None        # a stack.Stack, set by run.py

MIG = "0048_one_trigger_per_event.sql"
# 0049 restates events_count_insert and carries the same mark: a run that
# applies anything older applies it again too, after 0048.
MIG49 = "0049_events_defer_one.sql"
# 0055 and 0056 restate the findings triggers (the merged ones, with the
# metadata and tag counts added), 0057 restates them with fewer
# statements and 0058 the batch procedures, and all carry the mark too:
# applied again after 0049. CUR is the text of the findings triggers as
# they stand.
MIG55 = "0055_finding_meta_counts.sql"
MIG56 = "0056_finding_tags_state.sql"
CUR = "0057_findings_triggers_lean.sql"
MIG58 = "0058_count_rows_pruned.sql"
LATER = (MIG55, MIG56, CUR, MIG58)
AGAIN = " again (it restates triggers an older migration may have put back)"
SEQ = itertools.count(1)

# What vigilctl migrate leaves on findings and audit_log: (table, timing,
# event, name).
MERGED = sorted([
    ("audit_log", "AFTER", "DELETE", "audit_count_delete"),
    ("audit_log", "AFTER", "INSERT", "audit_log_after_insert"),
    ("audit_log", "AFTER", "UPDATE", "audit_count_update"),
    ("findings", "AFTER", "DELETE", "findings_after_delete"),
    ("findings", "AFTER", "INSERT", "findings_after_insert"),
    ("findings", "AFTER", "UPDATE", "findings_after_update"),
    ("findings", "BEFORE", "INSERT", "findings_sla_insert"),
    ("findings", "BEFORE", "UPDATE", "findings_sla_update"),
])

# The triggers 0048 replaced, from the migration that last stated each
# before it (the schema at 0047), in their order.
REPLACED = (
    ("0039_findings_batch_counts.sql", "findings_count_insert"),
    ("0039_findings_batch_counts.sql", "findings_resource_insert"),
    ("0039_findings_batch_counts.sql", "findings_tags_insert"),
    ("0039_findings_batch_counts.sql", "findings_due_count_insert"),
    ("0039_findings_batch_counts.sql", "findings_rule_count_insert"),
    ("0039_findings_batch_counts.sql", "findings_count_update"),
    ("0039_findings_batch_counts.sql", "findings_resource_update"),
    ("0039_findings_batch_counts.sql", "findings_tags_update"),
    ("0039_findings_batch_counts.sql", "findings_due_count_update"),
    ("0039_findings_batch_counts.sql", "findings_rule_count_update"),
    ("0039_findings_batch_counts.sql", "findings_daily_resolved"),
    ("0005_finding_counts.sql", "findings_count_delete"),
    ("0014_posture_counts.sql", "findings_resource_delete"),
    ("0026_finding_metadata.sql", "findings_tags_delete"),
    ("0034_sla.sql", "findings_due_count_delete"),
    ("0035_finding_rule_counts.sql", "findings_rule_count_delete"),
    ("0045_batch_rows_deferred.sql", "audit_count_insert"),
    ("0045_batch_rows_deferred.sql", "audit_head_insert"),
)

AT_0047 = sorted(
    [("findings", "AFTER", "INSERT", n) for _, n in REPLACED[0:5]] +
    [("findings", "AFTER", "UPDATE", n) for _, n in REPLACED[5:11]] +
    [("findings", "AFTER", "DELETE", n) for _, n in REPLACED[11:16]] +
    [("audit_log", "AFTER", "INSERT", n) for _, n in REPLACED[16:]] +
    [t for t in MERGED if t[3] in ("audit_count_delete", "audit_count_update",
                                   "findings_sla_insert",
                                   "findings_sla_update")])

DROP_MERGED = ("DROP TRIGGER IF EXISTS findings_after_insert; "
               "DROP TRIGGER IF EXISTS findings_after_update; "
               "DROP TRIGGER IF EXISTS findings_after_delete; "
               "DROP TRIGGER IF EXISTS audit_log_after_insert")


def setUpModule():
    global STACK
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    tb.STACK = STACK
    tbr.STACK = STACK   # its assert_chain, shared
    tb.setUpModule()


# Tenants given audit entries with made-up hashes (T343): not chains that
# vigilctl audit verify passes, so removed again, whatever a mutant did,
# before later modules verify every tenant's chain (test_backup).
MADE_UP_CHAINS = []


def tearDownModule():
    for t in MADE_UP_CHAINS:
        STACK.sql("DELETE FROM audit_log WHERE tenant_id = %s AND action = "
                  "'test.merge'; DELETE FROM audit_heads WHERE tenant_id = "
                  "%s" % (t, t), database="vigil")
    r = STACK.vigilctl("audit", "verify", check=False)
    tb.tearDownModule()
    if r.returncode != 0:
        raise AssertionError("test_trigmerge left audit chains that do not "
                             "verify:\n" + r.stdout + r.stderr)


def insert_finding(t, fid):
    """One open finding of tenant t (quoted), written by SQL, so that
    every trigger body runs as for any writer but the batch one."""
    STACK.sql(
        "INSERT INTO findings (tenant_id, id, rule_id, provider, "
        "subscription_id, environment, resource_id, title, severity, "
        "category, description, recommendation, evidence, fingerprint, "
        "state, tags, detected_at, updated_at, last_seen_at) VALUES "
        "(%s, %s, 'r1', 'azure', 'sub-x', 'PROD', '/r/%s-1', 't', "
        "'high', 'network', 'd', 'r', '{}', 'f', 'open', "
        "'{\"team\": \"a\"}', UTC_TIMESTAMP(), UTC_TIMESTAMP(), "
        "UTC_TIMESTAMP())" % (t, q(fid), fid), database="vigil")


def text(name):
    with open(os.path.join(STACK.srcdir, "db", "migrations", name)) as f:
        return f.read()


def run_sql(sql, db="vigil"):
    """A whole file's text (DELIMITER lines and all) through the client."""
    p = subprocess.run(["mariadb", "--no-defaults", "-S", STACK.db_sock,
                        "-uroot", db], input=sql.encode(),
                       capture_output=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(p.stderr.decode())
    return p.stdout.decode()


def trigger_def(migration, name):
    """CREATE OR REPLACE TRIGGER name ... as the migration has it."""
    sql = text(migration)
    start = re.search(r"CREATE OR REPLACE TRIGGER %s\s" % name, sql).start()
    return "DELIMITER $$\n%s\n$$\nDELIMITER ;\n" % sql[
        start:sql.index("\n$$", start)]


def triggers(db="vigil"):
    return sorted(tuple(r) for r in STACK.query(
        "SELECT event_object_table, action_timing, event_manipulation, "
        "trigger_name FROM information_schema.triggers WHERE "
        "trigger_schema = '%s' AND event_object_table IN ('findings', "
        "'audit_log')" % db, database="information_schema"))


def back_to_0047():
    """The triggers of a database at 0047, 0048 not recorded."""
    run_sql("".join(trigger_def(m, n) for m, n in REPLACED))
    STACK.sql(DROP_MERGED, database="vigil")
    STACK.sql("DELETE FROM schema_migrations WHERE version = '0048'",
              database="vigil")


def restore():
    """The triggers as vigilctl migrate leaves them: 0048's (audit_log's
    among them), then the findings ones of 0055, 0056 and 0057 (and
    0058's procedure)."""
    for m in (MIG,) + LATER:
        run_sql(text(m))


def without(body, mig=CUR):
    """The text of mig (the findings triggers as they stand, or 0048's
    for audit_log's) with one replaced trigger's body left out of the
    merged trigger: from the line "-- body" to the first line at its
    indentation that ends a statement (its END;, END IF; or the statement
    itself), at every place it is."""
    lines = text(mig).splitlines(keepends=True)
    out, i = [], 0
    while i < len(lines):
        m = re.match(r"^(\t+)-- %s( \(|$)" % re.escape(body),
                     lines[i].rstrip("\n"))
        if not m:
            out.append(lines[i])
            i += 1
            continue
        tabs = m.group(1)
        i += 1
        while lines[i].strip().startswith("--"):
            i += 1
        while True:
            ln = lines[i]
            i += 1
            lead = re.match(r"^\t*", ln).group(0)
            if lead == tabs and ln.rstrip().endswith(";"):
                break
    assert len(out) < len(lines), body
    return "".join(out)


class MBase(ts.ScanBase, tb.BBase):

    @classmethod
    def setUpClass(cls):
        ts.ScanBase.setUpClass.__func__(cls)
        cls.wkey = cls.key

    def scan(self, integ):
        p = tb.scan_env(integ)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    # The audit chain verifies and its kept head is its newest entry.
    assert_chain = tbr.RBase.assert_chain

    def everything(self, tag):
        """First scan, rescans with changes, the API's actions, imports,
        a killed scan, and deletes, each followed by the recount."""
        names = ["%s-%02d" % (tag, i) for i in range(24)]
        inv = tempfile.mkdtemp(prefix="inv-", dir=ts.TMP)
        os.chmod(inv, 0o755)
        ts.write_inventory(inv, tb.storages(names) + tb.nsgs(names[:6]))
        integ = self.integration(path=inv, name="inv-" + tag)
        self.scan(integ)
        self.check_all()
        self.assert_chain()
        self.scan(integ)            # unchanged
        self.check_all()
        f = [ts.fid("t-storage-secure-transfer", ts.rid("st", n))
             for n in names]
        r = self.req("POST", "/api/v1/findings/%s/accept" % f[0],
                     {"justification": "for the test"})
        self.assertEqual(r.status, 200, r)
        r = self.req("POST", "/api/v1/findings/%s/resolve" % f[1],
                     {"evidence": "fixed"})
        self.assertEqual(r.status, 200, r)
        r = self.req("PATCH", "/api/v1/findings/" + f[2],
                     {"assignee": "a@example.com"})
        self.assertEqual(r.status, 200, r)
        r = self.req("POST", "/api/v1/findings/bulk", {
            "action": "resolve", "ids": f[3:6], "evidence": "bulk"})
        self.assertEqual(r.status, 200, r)
        self.check_all()
        self.assert_chain()
        r = self.req("POST", "/api/v1/findings/%s/snooze" % f[6],
                     {"days": 3})
        self.assertEqual(r.status, 200, r)
        r = self.req("POST", "/api/v1/findings/%s/dismiss" % f[7],
                     {"reason": "test"})
        self.assertEqual(r.status, 200, r)
        self.check_all()
        # Rescan: some fixed, some in another environment (tags), some
        # NSGs gone; then back (reopened).
        ts.write_inventory(inv, tb.storages(names[:8], https=True) +
                           tb.storages(names[8:16], env="qa") +
                           tb.storages(names[16:]) + tb.nsgs(names[:3]))
        self.scan(integ)
        self.check_all()
        ts.write_inventory(inv, tb.storages(names) + tb.nsgs(names[:6]))
        self.scan(integ)
        self.check_all()
        self.assert_chain()
        # Imports, full and partial.
        es = [entry(s, rule="r-%d" % (i % 3), tags={"team": "t%d" % i})
              for i, s in enumerate(["critical", "high", "medium", "low",
                                     "info"] * 2)]
        import_findings(self.tenant, es)
        import_findings(self.tenant, [dict(e, severity="low")
                                      for e in es[:4]], reconcile=False)
        self.check_all()
        # A scan killed after its first batch, then completed.
        more = ["%s-k%03d" % (tag, i) for i in range(300)]
        ts.write_inventory(inv, tb.storages(names + more))
        before = tc.num("SELECT COUNT(*) FROM findings WHERE tenant_id = %s"
                        % q(self.tenant_id))
        tb.kill_scan_when(integ, lambda: tc.num(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s"
            % q(self.tenant_id)) > before)
        self.check_all()
        self.scan(integ)
        self.check_all()
        self.assert_chain()
        # Deletes (no route deletes findings; a retention job or an
        # operator's SQL may): open, resolved and tagged ones.
        STACK.sql("DELETE FROM findings WHERE tenant_id = %s AND id IN "
                  "(%s)" % (q(self.tenant_id), ", ".join(
                      q(x) for x in f[1:10])), database="vigil")
        self.check_all()


class T340TriggerSet(unittest.TestCase):
    """After vigilctl migrate: on findings and audit_log exactly the
    merged AFTER triggers and the BEFORE ones, and nowhere in the schema
    two triggers of one table, timing and event."""

    def test_exactly_the_merged_triggers(self):
        self.assertIn("nothing to do", STACK.migrate())
        self.assertEqual(triggers(), MERGED)
        self.assertEqual(STACK.query(
            "SELECT event_object_table, action_timing, event_manipulation, "
            "COUNT(*) FROM information_schema.triggers WHERE "
            "trigger_schema = 'vigil' GROUP BY 1, 2, 3 HAVING COUNT(*) > 1",
            database="information_schema"), [])


class T341ReRunOlder(MBase):
    """Older migrations run again by vigilctl migrate (the backfills of
    0014, 0035, 0039; 0015, 0018 and 0045 restate the audit_log triggers,
    0032 the webhooks' after 0015): 0048 is applied again after them, once,
    and only the merged triggers are left; every counter equals a
    recount after scans, imports, the API's actions and deletes."""

    def test_rerun_then_everything(self):
        STACK.sql("DELETE FROM schema_migrations WHERE version IN ('0014', "
                  "'0015', '0018', '0032', '0035', '0039', '0045')",
                  database="vigil")
        out = STACK.migrate()
        for v in ("0014_", "0015_", "0018_", "0032_", "0035_", "0039_",
                  "0045_"):
            self.assertEqual(out.count("applied " + v), 1, out)
        self.assertEqual(out.count("applied " + MIG + " again"), 1, out)
        self.assertEqual(out.count("applied " + MIG49 + " again"), 1, out)
        for m in LATER:
            self.assertEqual(out.count("applied " + m + " again"), 1, out)
        # 0046 and 0047 restate 0034's BEFORE triggers and are marked too;
        # 0032 and 0045, marked as well, are among those run again here.
        for v in ("0046_", "0047_"):
            self.assertEqual(out.count("applied " + v), 1, out)
            self.assertIn(AGAIN, out.split("applied " + v)[1].split("\n")[0])
        self.assertEqual(out.count("applied "), 11 + len(LATER), out)
        self.assertTrue(out.rstrip().endswith(
            "applied " + MIG + AGAIN + "\napplied " + MIG49 + AGAIN +
            "".join("\napplied " + m + AGAIN for m in LATER)), out)
        self.assertEqual(triggers(), MERGED)
        self.assertEqual(tc.num("SELECT COUNT(*) FROM schema_migrations "
                                "WHERE version = '0048'"), 1)
        self.assertIn("nothing to do", STACK.migrate())
        self.everything("rr")
        self.assert_chain()

    def test_rerun_only_later_leaves_it(self):
        """The newest marked migration run again (0049): nothing older
        ran, so nothing is applied twice; 0048 run again is older than
        0049, which is applied again after it."""
        STACK.sql("DELETE FROM schema_migrations WHERE version = '0049'",
                  database="vigil")
        out = STACK.migrate()
        self.assertEqual(out.strip(), "applied " + MIG49 + "".join(
            "\napplied " + m + AGAIN for m in LATER), out)
        self.assertEqual(triggers(), MERGED)
        STACK.sql("DELETE FROM schema_migrations WHERE version = '0048'",
                  database="vigil")
        out = STACK.migrate()
        self.assertEqual(out.strip(), "applied " + MIG + "\napplied " +
                         MIG49 + AGAIN + "".join(
                             "\napplied " + m + AGAIN for m in LATER), out)
        self.assertEqual(triggers(), MERGED)


    def test_rerun_stopped_before_the_later_one(self):
        """A run that applies an older migration again and stops before
        a marked one has run again (here 0049 fails midway) leaves that
        one to the next run, which applies it: not "nothing to do" with
        the older file's triggers beside the merged ones."""
        src = os.path.join(STACK.srcdir, "db", "migrations")
        d = tempfile.mkdtemp(prefix="vigil-mig-")
        try:
            for f in os.listdir(src):
                if re.match(r"^\d{4}_.*\.sql$", f) and f != MIG49:
                    os.symlink(os.path.join(src, f), os.path.join(d, f))
            with open(os.path.join(d, MIG49), "w") as f:
                f.write(text(MIG49) + "\nSELECT * FROM no_such_table;\n")
            STACK.sql("DELETE FROM schema_migrations WHERE version = "
                      "'0039'", database="vigil")
            env = STACK.env()
            env["VIGIL_MIGRATIONS"] = d
            r = subprocess.run([STACK.vigilctl_bin, "migrate"], env=env,
                               stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=300)
            self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("applied 0039_findings_batch_counts.sql\n",
                          r.stdout)
            self.assertIn("applied " + MIG + AGAIN, r.stdout)
            self.assertIn("stopped at " + MIG49, r.stdout + r.stderr)
        finally:
            shutil.rmtree(d)
        self.assertEqual(tc.num("SELECT COUNT(*) FROM schema_migrations "
                                "WHERE version = '0049'"), 0)
        out = STACK.migrate()
        # the later marked ones' records were removed before anything
        # was applied: applied, not again
        self.assertEqual(out.strip(), "applied " + MIG49 + "".join(
            "\napplied " + m for m in LATER), out)
        self.assertEqual(triggers(), MERGED)
        self.assertEqual(tc.num("SELECT COUNT(*) FROM schema_migrations "
                                "WHERE version IN ('0039', '0048', "
                                "'0049')"), 3)


class T342UpgradeFrom0047(MBase):
    """A database at 0047 (the separate triggers, 0048 not recorded) with
    data written by scans, imports and the API, migrated to 0048: the
    counts stay exact, and stay so through more of every kind of write."""

    def test_upgrade(self):
        # At 0047 the metadata and tag counts (0055) were not kept.
        self.before_0055 = True
        try:
            back_to_0047()
            self.assertEqual(triggers(), AT_0047)
            names = ["up-%02d" % i for i in range(20)]
            ts.write_inventory(self.inv, tb.storages(names) +
                               tb.nsgs(names[:5]))
            integ = self.integration(name="inv-up")
            self.scan(integ)
            f = [ts.fid("t-storage-secure-transfer", ts.rid("st", n))
                 for n in names]
            r = self.req("POST", "/api/v1/findings/%s/resolve" % f[0],
                         {"evidence": "fixed"})
            self.assertEqual(r.status, 200, r)
            r = self.req("POST", "/api/v1/findings/%s/accept" % f[1],
                         {"justification": "for the test"})
            self.assertEqual(r.status, 200, r)
            import_findings(self.tenant, [entry("high", tags={"a": "b"}),
                                          entry("low")], reconcile=False)
            ts.write_inventory(self.inv, tb.storages(names[:5], https=True)
                               + tb.storages(names[5:], env="qa"))
            self.scan(integ)
            self.check_all()
            self.assert_chain()
        finally:
            out = STACK.migrate()
            self.before_0055 = False
        self.assertEqual(out.strip(), "applied " + MIG + "\napplied " +
                         MIG49 + AGAIN + "".join(
                             "\napplied " + m + AGAIN for m in LATER), out)
        self.assertEqual(triggers(), MERGED)
        self.check_all()
        self.assert_chain()
        self.everything("up2")
        self.assert_chain()


class T343EachBodyCounts(tb.BBase):
    """Each body of a replaced trigger is needed: with one of them left
    out of the merged trigger, a recount after the writes that body sees
    differs (so the tests above would catch a body lost in the merge);
    and so is each column of findings_after_update's first test.
    Writes by SQL, as every writer but the batch one: a finding inserted
    (tags, a due date), changed in every counted column and resolved,
    reopened, deleted; an audit entry, counted and deferred."""

    def check_all(self, key=None):
        """The counters, the tag rows (no API answers: each mutation gets
        a tenant of its own, the class's keys are the first one's)."""
        self.assert_counters()
        self.assert_tags()

    def assert_audit_count(self):
        """The audit list's count against a recount, outside the
        subTest of assert_counters (whose failures are recorded, not
        raised)."""
        t = q(self.tenant_id)
        self.assertEqual(
            STACK.query("SELECT k, n FROM list_counts WHERE tenant_id = %s "
                        "AND list = 'audit' AND n <> 0 ORDER BY 1" % t),
            STACK.query("SELECT action, COUNT(*) FROM audit_log WHERE "
                        "tenant_id = %s GROUP BY 1 ORDER BY 1" % t))

    def writes_and_checks(self):
        """Raises AssertionError at the first counter that differs."""
        t = q(self.tenant_id)
        fid = "tm-%d-%d" % (os.getpid(), next(SEQ))
        insert_finding(t, fid)
        self.check_all()
        STACK.sql(
            "UPDATE findings SET state = 'resolved', resolved_at = "
            "UTC_TIMESTAMP(), severity = 'low', category = 'storage', "
            "rule_id = 'r2', resource_id = '/r/%s-2', tags = "
            "'{\"team\": \"b\"}', updated_at = UTC_TIMESTAMP() WHERE "
            "tenant_id = %s AND id = %s" % (fid, t, q(fid)),
            database="vigil")
        self.check_all()
        self.assertEqual(STACK.query(
            "SELECT SUM(resolved), SUM(resolved_sla), SUM(resolved_in_sla) "
            "FROM finding_daily WHERE tenant_id = %s" % t),
            [[str(self.resolved)] * 3])
        STACK.sql(
            "UPDATE findings SET state = 'open', resolved_at = NULL, "
            "severity = 'critical', updated_at = UTC_TIMESTAMP() WHERE "
            "tenant_id = %s AND id = %s" % (t, q(fid)), database="vigil")
        self.check_all()
        STACK.sql("DELETE FROM findings WHERE tenant_id = %s AND id = %s"
                  % (t, q(fid)), database="vigil")
        self.check_all()
        # An audit entry of its own (any writer but the batch one), then
        # one the session defers: tallied twice, not counted.
        seq = tc.num("SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log "
                     "WHERE tenant_id = %s" % t)
        MADE_UP_CHAINS.append(t)
        row = ("INSERT INTO audit_log VALUES ('aud_%s_%d', %s, %d, "
               "UTC_TIMESTAMP(), 'test', 'test.merge', 'x', '{}', "
               "REPEAT('0', 64), SHA2('%d', 256))")
        STACK.sql(row % (fid, seq, t, seq, seq), database="vigil")
        self.assert_audit_count()
        self.assert_counters()
        self.assertEqual(STACK.query(
            "SELECT seq FROM audit_heads WHERE tenant_id = %s" % t),
            [[str(seq)]])
        got = STACK.query(
            "SET @vigil_defer = %s, @vigil_deferred_audit = 0, "
            "@vigil_deferred_heads = 0; %s; SET @vigil_defer = NULL; "
            "SELECT @vigil_deferred_audit, @vigil_deferred_heads" % (
                t, row % (fid, seq + 1, t, seq + 1, seq + 1)))
        self.assertEqual(got, [["1", "1"]])
        self.assertEqual(STACK.query(
            "SELECT seq FROM audit_heads WHERE tenant_id = %s" % t),
            [[str(seq)]])
        # what the writer then does itself
        STACK.sql("CALL list_count_add(%s, 'audit', 'test.merge', 1); "
                  "UPDATE audit_heads SET seq = %d, hash = SHA2('%d', 256) "
                  "WHERE tenant_id = %s" % (t, seq + 1, seq + 1, t),
                  database="vigil")
        self.assert_audit_count()
        self.assert_counters()

    def test_each_body(self):
        self.resolved = 1
        self.writes_and_checks()
        bodies = [n for _, n in REPLACED] + ["SET @vigil_deferred_audit",
                                             "SET @vigil_deferred_heads",
                                             "finding_meta_counts",
                                             "finding_tag_counts"]
        caught = []
        try:
            for body in bodies:
                audit = body.startswith(("SET", "audit_"))
                if body.startswith("SET"):
                    mutant = text(MIG).replace(body + " = " + body[4:] +
                                               " + 1;", "")
                    self.assertNotEqual(mutant, text(MIG))
                else:
                    mutant = without(body, MIG if audit else CUR)
                with self.subTest(left_out=body):
                    # each on a tenant of its own: a mutant miscounts
                    self.tenant, self.tenant_id = api.new_tenant("t343")
                    self.resolved = 1
                    run_sql(mutant)
                    if audit:
                        # 0048's findings triggers, then today's
                        for m in LATER:
                            run_sql(text(m))
                    try:
                        self.writes_and_checks()
                    except AssertionError:
                        caught.append(body)
                    restore()
        finally:
            restore()
        self.assertEqual(caught, bodies)
        self.assertEqual(triggers(), MERGED)


    def one_column_at_a_time(self):
        """A finding changed in one column the update bodies compare at a
        time (first open, then accepted, so that the SLA trigger changes
        nothing else), each followed by the recount."""
        t = q(self.tenant_id)
        fid = "tg-%d-%d" % (os.getpid(), next(SEQ))
        insert_finding(t, fid)
        self.check_all()
        for change in ("due_at = due_at + INTERVAL 2 DAY",
                       "resource_id = '/r/%s-2'" % fid,
                       "tags = '{\"team\": \"b\"}'",
                       "category = 'storage'", "subscription_id = 'sub-y'",
                       "environment = 'QA'", "rule_id = 'r2'",
                       "state = 'accepted'", "severity = 'low'",
                       "state = 'snoozed'", "resource_type = 'T2'",
                       "resource_group = 'g2'", "region = 'r2'",
                       "source = 's2'"):
            STACK.sql("UPDATE findings SET %s WHERE tenant_id = %s AND "
                      "id = %s" % (change, t, q(fid)), database="vigil")
            self.check_all()

    def test_update_guard_columns(self):
        """findings_after_update's first test (did any column a body
        compares change?) names every such column: with one left out, a
        change of that column alone is not counted."""
        self.one_column_at_a_time()
        sql = text(CUR)
        a = sql.index("IF NOT (OLD.tenant_id", sql.index(
            "-- Nothing a body below"))
        b = sql.index(") THEN", a)
        guard = sql[a:b]
        caught, cols = [], ("due_at", "resource_id", "tags", "category",
                            "subscription_id", "environment", "rule_id",
                            "severity", "state", "resource_type",
                            "resource_group", "region", "source")
        try:
            for col in cols:
                if col == "due_at":
                    g = re.sub(r" AND\s*DATE\(OLD\.due_at\) <=> "
                               r"DATE\(NEW\.due_at\)", "", guard)
                elif col == "source":
                    g = re.sub(r" AND\s*OLD\.source <=> NEW\.source", "",
                               guard)
                else:
                    g = re.sub(r"OLD\.%s <=> NEW\.%s AND\s*" % (col, col),
                               "", guard)
                self.assertNotEqual(g, guard, col)
                with self.subTest(left_out=col):
                    run_sql(sql[:a] + g + sql[b:])
                    self.tenant, self.tenant_id = api.new_tenant("t343g")
                    try:
                        self.one_column_at_a_time()
                    except AssertionError:
                        caught.append(col)
        finally:
            restore()
        self.assertEqual(caught, list(cols))
        self.assertEqual(triggers(), MERGED)


class T403LeanTriggersTwice(tb.BBase):
    """0057 and 0058 run twice (safe to run again, as every migration):
    rows at n = 0 in the kept counts go, every other row stays as it was,
    the triggers are exactly the merged ones, every counter equals a
    recount through more writes; and a state change of a tagged finding
    on a resource of its own (an accept) runs at most 10 statements in
    the triggers (9 when measured), where 0056's ran 15 (counted by the
    server's Com_* counters, which count those of triggers and
    procedures)."""

    STAT = ("SELECT SUM(VARIABLE_VALUE) FROM information_schema."
            "SESSION_STATUS WHERE VARIABLE_NAME IN ('COM_INSERT', "
            "'COM_INSERT_SELECT', 'COM_UPDATE', 'COM_UPDATE_MULTI', "
            "'COM_DELETE', 'COM_DELETE_MULTI', 'COM_SELECT', "
            "'COM_CALL_PROCEDURE', 'COM_REPLACE', 'COM_REPLACE_SELECT')")

    def check_all(self, key=None):
        self.assert_counters()
        self.assert_tags()

    def statements(self, fid, change):
        """Statements the server ran for one UPDATE of fid (its own,
        the triggers' and the procedures' they call)."""
        got = STACK.query("%s; UPDATE findings SET %s, updated_at = "
                          "UTC_TIMESTAMP() WHERE tenant_id = %s AND id = "
                          "%s; %s" % (self.STAT, change, q(self.tenant_id),
                                      q(fid), self.STAT))
        # the second SELECT counts itself, the UPDATE is one
        return int(got[1][0]) - int(got[0][0]) - 2

    def kept(self):
        t = q(self.tenant_id)
        return STACK.query(
            "SELECT dim, value, value_bin, state, severity, n FROM "
            "finding_meta_counts WHERE tenant_id = %s AND n <> 0 ORDER BY "
            "1, 2, 3, 4, 5" % t) + STACK.query(
            "SELECT tag_key, tag_value, state, severity, n FROM "
            "finding_tag_counts WHERE tenant_id = %s AND n <> 0 ORDER BY "
            "1, 2, 3, 4" % t)

    def test_twice(self):
        t = q(self.tenant_id)
        fids = ["tl-%d-%d" % (os.getpid(), next(SEQ)) for _ in range(3)]
        for fid in fids:
            insert_finding(t, fid)
        self.check_all()
        # an accept runs few statements in the triggers
        n = self.statements(fids[0], "state = 'accepted'")
        self.assertLessEqual(n, 10, n)
        self.check_all()
        for _ in range(2):
            # rows at 0, as a single write leaves them, and as 0057
            # found them
            STACK.sql("INSERT INTO finding_meta_counts VALUES (%s, 2, "
                      "'rg-gone', '', 'open', 'high', 0), (%s, 4, '', "
                      "'gone', 'muted', 'low', 0) ON DUPLICATE KEY UPDATE "
                      "n = 0; INSERT INTO finding_tag_counts VALUES (%s, "
                      "'team', 'gone', 'open', 'high', 0) ON DUPLICATE KEY "
                      "UPDATE n = 0" % (t, t, t), database="vigil")
            before = self.kept()
            STACK.sql("DELETE FROM schema_migrations WHERE version IN "
                      "('0057', '0058')", database="vigil")
            out = STACK.migrate()
            self.assertEqual(out.strip(), "applied %s\napplied %s" % (
                CUR, MIG58), out)
            self.assertEqual(triggers(), MERGED)
            self.assertEqual(self.kept(), before)
            self.assertEqual(STACK.query(
                "SELECT (SELECT COUNT(*) FROM finding_meta_counts WHERE "
                "n = 0) + (SELECT COUNT(*) FROM finding_tag_counts WHERE "
                "n = 0)"), [["0"]])
            self.check_all()
        for fid, change in ((fids[0], "state = 'open'"),
                            (fids[1], "state = 'resolved', resolved_at = "
                             "UTC_TIMESTAMP()"),
                            (fids[2], "severity = 'low', tags = "
                             "'{\"team\": \"b\"}'"),
                            (fids[2], "state = 'dismissed'")):
            self.statements(fid, change)
            self.check_all()
        STACK.sql("DELETE FROM findings WHERE tenant_id = %s AND id IN "
                  "(%s)" % (t, ", ".join(q(f) for f in fids)),
                  database="vigil")
        self.check_all()


class T344UpgradeFreshDatabase(unittest.TestCase):
    """A database of its own migrated to 0047, given findings and audit
    entries by SQL through the old triggers, then migrated on: only 0048
    is applied, the triggers are the merged ones and every count equals a
    recount, before and after more writes."""

    DB = "vigil_t344"

    @classmethod
    def tearDownClass(cls):
        STACK.sql("DROP DATABASE IF EXISTS %s" % cls.DB, check=False)

    def recount_equal(self, later=True):
        """The kept figures against a recount; later: with those of 0055
        (not there at 0047)."""
        db = self.DB
        for kept, recount in (
                ("SELECT tenant_id, state, severity, category, "
                 "subscription_id, environment, n FROM finding_counts "
                 "WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5, 6",
                 "SELECT tenant_id, state, severity, category, "
                 "subscription_id, environment, COUNT(*) FROM findings "
                 "GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"),
                ("SELECT tenant_id, rule_id, state, n FROM "
                 "finding_rule_counts WHERE n <> 0 ORDER BY 1, 2, 3",
                 "SELECT tenant_id, rule_id, state, COUNT(*) FROM findings "
                 "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"),
                ("SELECT tenant_id, due_day, severity, n FROM "
                 "finding_due_counts WHERE n <> 0 ORDER BY 1, 2, 3",
                 "SELECT tenant_id, DATE(due_at), severity, COUNT(*) FROM "
                 "findings WHERE due_at IS NOT NULL GROUP BY 1, 2, 3 "
                 "ORDER BY 1, 2, 3"),
                ("SELECT tenant_id, HEX(resource_hash), n FROM "
                 "finding_resources ORDER BY 1, 2",
                 "SELECT tenant_id, HEX(UNHEX(SHA2(resource_id, 256))), "
                 "COUNT(*) FROM findings WHERE state = 'open' GROUP BY 1, 2 "
                 "ORDER BY 1, 2"),
                ("SELECT tenant_id, open_resources FROM "
                 "finding_tenant_counts WHERE open_resources <> 0 "
                 "ORDER BY 1",
                 "SELECT tenant_id, COUNT(DISTINCT resource_id) FROM "
                 "findings WHERE state = 'open' GROUP BY 1 ORDER BY 1"),
                ("SELECT g.tag_key, g.tag_value, g.finding_seq FROM "
                 "finding_tags g ORDER BY 1, 2, 3",
                 "SELECT k.k, v.v, f.seq FROM findings f JOIN "
                 "JSON_TABLE(JSON_KEYS(f.tags), '$[*]' COLUMNS (n FOR "
                 "ORDINALITY, k VARCHAR(256) PATH '$')) k JOIN "
                 "JSON_TABLE(f.tags, '$.*' COLUMNS (n FOR ORDINALITY, "
                 "v VARCHAR(256) PATH '$')) v USING (n) ORDER BY 1, 2, 3"),
                ("SELECT tenant_id, HEX(value_bin), state, severity, n FROM "
                 "finding_meta_counts WHERE dim = 4 AND n <> 0 "
                 "ORDER BY 1, 2, 3, 4",
                 "SELECT tenant_id, HEX(source), state, severity, COUNT(*) "
                 "FROM findings GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"),
                ("SELECT tenant_id, tag_key, tag_value, state, severity, n "
                 "FROM finding_tag_counts WHERE n <> 0 "
                 "ORDER BY 1, 2, 3, 4, 5",
                 "SELECT g.tenant_id, g.tag_key, g.tag_value, f.state, "
                 "f.severity, COUNT(*) FROM finding_tags g JOIN findings f "
                 "ON f.seq = g.finding_seq GROUP BY 1, 2, 3, 4, 5 "
                 "ORDER BY 1, 2, 3, 4, 5"),
                ("SELECT SUM(resolved) FROM finding_daily",
                 "SELECT COUNT(*) FROM findings WHERE state = 'resolved'"),
                ("SELECT tenant_id, k, n FROM list_counts WHERE list = "
                 "'audit' AND n <> 0 ORDER BY 1, 2",
                 "SELECT tenant_id, action, COUNT(*) FROM audit_log "
                 "GROUP BY 1, 2 ORDER BY 1, 2"),
                ("SELECT tenant_id, seq, hash FROM audit_heads ORDER BY 1",
                 "SELECT a.tenant_id, a.seq, a.hash FROM audit_log a WHERE "
                 "a.seq = (SELECT MAX(seq) FROM audit_log b WHERE "
                 "b.tenant_id = a.tenant_id) ORDER BY 1")):
            if not later and "finding_meta_counts" in kept + recount or \
                    not later and "finding_tag_counts" in kept:
                continue
            with self.subTest(kept=kept):
                # sorted: the counts' state and severity are not ENUMs
                self.assertEqual(sorted(STACK.query(kept, database=db)),
                                 sorted(STACK.query(recount, database=db)))

    def tenant(self, conf, name):
        """A tenant row written as an older release's vigilctl wrote it:
        this vigilctl refuses a schema behind it (exit 76)."""
        tid = "tnt_t344_" + name
        STACK.sql("INSERT INTO tenants (id, name, created_at) VALUES "
                  "('%s', '%s', UTC_TIMESTAMP())" % (tid, name),
                  database=self.DB)
        return tid

    def writes(self, tenant, n, start):
        """n findings of tenant (tags on every other one, four states),
        half of them then changed, a fifth resolved, a tenth deleted;
        an audit entry per finding."""
        rows = []
        for i in range(start, start + n):
            rows.append(
                "('%s', 'f%d', 'r%d', 'azure', 'sub-%d', 'PROD', '/r/%d', "
                "'t', '%s', 'network', 'd', 'r', '{}', 'f', 'open', '%s', "
                "UTC_TIMESTAMP(), UTC_TIMESTAMP(), UTC_TIMESTAMP())" % (
                    tenant, i, i % 4, i % 3, i // 2,
                    ("critical", "high", "medium", "low")[i % 4],
                    '{"team": "t%d"}' % (i % 3) if i % 2 else "{}"))
        STACK.sql(
            "INSERT INTO findings (tenant_id, id, rule_id, provider, "
            "subscription_id, environment, resource_id, title, severity, "
            "category, description, recommendation, evidence, fingerprint, "
            "state, tags, detected_at, updated_at, last_seen_at) VALUES "
            + ", ".join(rows), database=self.DB)
        STACK.sql(
            "UPDATE findings SET severity = 'low', tags = '{\"x\": \"y\"}', "
            "environment = 'QA', updated_at = UTC_TIMESTAMP() WHERE "
            "tenant_id = '%s' AND seq %% 2 = 0" % tenant, database=self.DB)
        STACK.sql(
            "UPDATE findings SET state = 'resolved', resolved_at = "
            "UTC_TIMESTAMP(), updated_at = UTC_TIMESTAMP() WHERE "
            "tenant_id = '%s' AND seq %% 5 = 0 AND state = 'open'" % tenant,
            database=self.DB)
        STACK.sql("DELETE FROM findings WHERE tenant_id = '%s' AND "
                  "seq %% 10 = 3" % tenant, database=self.DB)
        head = STACK.query("SELECT COALESCE(MAX(seq), 0) FROM audit_log "
                           "WHERE tenant_id = '%s'" % tenant,
                           database=self.DB)[0][0]
        STACK.sql("INSERT INTO audit_log SELECT CONCAT('aud_%s_', %s + "
                  "seq), '%s', %s + seq, UTC_TIMESTAMP(), 'test', "
                  "CONCAT('act.', seq %% 3), 'x', '{}', REPEAT('0', 64), "
                  "SHA2(seq, 256) FROM seq_1_to_%d" % (
                      tenant, head, tenant, head, n), database=self.DB)

    def test_upgrade_with_data(self):
        import test_galera as tg
        tg.STACK = STACK
        conf = tg.fresh_db(self.DB)
        d = tempfile.mkdtemp(prefix="t344-", dir=STACK.root)
        try:
            src = os.path.join(STACK.srcdir, "db", "migrations")
            for f in os.listdir(src):
                if re.match(r"^\d{4}_.*\.sql$", f) and f < "0048":
                    os.symlink(os.path.join(src, f), os.path.join(d, f))
            env = STACK.env()
            env["VIGIL_MIGRATIONS"] = d
            r = subprocess.run([STACK.vigilctl_bin, "-c", conf, "migrate"],
                               env=env, capture_output=True, text=True,
                               timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertNotIn(MIG, r.stdout)
            self.assertEqual(triggers(self.DB), AT_0047)
            ta, tb_ = self.tenant(conf, "ta"), self.tenant(conf, "tb")
            self.writes(ta, 60, 0)
            self.writes(tb_, 40, 100)
            self.recount_equal(later=False)
            r = tg.ctl(conf, "migrate")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            # 0048 and 0049, then any later migration (0054 ...)
            lines = r.stdout.strip().splitlines()
            self.assertEqual(lines[:2], ["applied " + MIG,
                                         "applied " + MIG49], r.stdout)
            for line in lines[2:]:
                self.assertRegex(line, r"^applied \d{4}_", r.stdout)
                self.assertGreater(line[8:12], MIG49[:4], r.stdout)
            self.assertEqual(triggers(self.DB), MERGED)
            self.recount_equal()
            self.writes(ta, 50, 200)
            self.writes(self.tenant(conf, "tc"), 30, 300)
            self.recount_equal()
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
