"""test_batchrows.py: what the scanner's and importer's batch writer keeps
once per batch instead of the insert triggers on events, audit_log and
finding_history per row (migration 0045): the events' and audit entries'
list counts, the audit chain's head, and the case timelines' look-up when
none of a batch's findings is on a case. The counts stay equal to a
recount and the chain verifies, through first scans, rescans, replayed
batches, a scanner killed mid-scan, imports, findings on cases, both
upgrade orders and old triggers put back; the server runs no per-row
procedure call for them, and the batch reads the schema once per
connection, not once per batch.

Run by run.py, which sets STACK here (and in the modules used below).
"""

import os
import re
import unittest

import test_api as api
import test_batchcounts as tb
import test_counts as tc
import test_scanner as ts
from test_findings import entry, import_findings, q

STACK = None        # a stack.Stack, set by run.py


def setUpModule():
    global STACK
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    tb.STACK = STACK
    tb.setUpModule()
    # The triggers as vigilctl migrate leaves them: modules before this
    # one run older migrations again (test_counts' backfills re-run 0015,
    # whose triggers count every row themselves).
    # 0045 puts back the separate audit_log triggers 0048 merged and
    # 0042's events trigger 0049 restated: 0048 and 0049 after it, as
    # vigilctl migrate would run them, then 0055 to 0058, which restate
    # the findings triggers 0048 puts back with their counts (and the
    # batch procedures).
    for name in ("0045_batch_rows_deferred.sql", "0046_batch_sla_policy.sql",
                 "0048_one_trigger_per_event.sql",
                 "0049_events_defer_one.sql", "0055_finding_meta_counts.sql",
                 "0056_finding_tags_state.sql",
                 "0057_findings_triggers_lean.sql",
                 "0058_count_rows_pruned.sql"):
        STACK.sql(migration(name), database="vigil")


def tearDownModule():
    tb.tearDownModule()


def status(name):
    """A global status counter of the server (statements of triggers and
    procedures included)."""
    return int(STACK.query("SHOW GLOBAL STATUS LIKE '%s'" % name,
                           database=None)[0][1])


def trigger_text(migration, name, end):
    """CREATE OR REPLACE TRIGGER name ... as the migration file has it (up
    to end, its terminator there), to put an older trigger back."""
    with open(os.path.join(STACK.srcdir, "db", "migrations",
                           migration)) as f:
        sql = f.read()
    start = re.search(r"CREATE OR REPLACE TRIGGER %s\s" % name,
                      sql).start()
    return "DELIMITER $$\n%s\n$$\nDELIMITER ;\n" % sql[
        start:sql.index(end, start)]


# The triggers as they were before 0045 (0042, 0015, 0018, 0021): they
# count, chain and look up every row themselves, whatever the session says.
OLD_TRIGGERS = (
    ("0042_event_counts_deferred.sql", "events_count_insert", "\n$$"),
    ("0015_list_counts.sql", "audit_count_insert", "\n$$"),
    ("0018_audit_heads.sql", "audit_head_insert", ";\n"),
    ("0021_cases.sql", "finding_history_case_timeline", ";\n"),
    ("0034_sla.sql", "findings_sla_insert", "\n$$"))

DEFAULT_DAYS = {"critical": 7, "high": 30, "medium": 90, "low": 180,
                "info": 0}


def migration(name):
    with open(os.path.join(STACK.srcdir, "db", "migrations", name)) as f:
        return f.read()


class RBase(ts.ScanBase, tb.BBase):

    @classmethod
    def setUpClass(cls):
        ts.ScanBase.setUpClass.__func__(cls)
        cls.wkey = cls.key

    def scan(self, integ, env=None):
        p = tb.scan_env(integ, env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p

    def scan_logged(self, integ, select):
        """Scan integ with the server's general log on; the rows of
        "SELECT " + select (its columns, FROM mysql.general_log and the
        condition) as the log then holds them."""
        return STACK.logged(lambda: self.scan(integ), select)[1]

    def assert_chain(self):
        """vigilctl audit verify passes, and the kept head is the chain's
        newest entry."""
        r = STACK.vigilctl("audit", "verify", "--tenant", self.tenant,
                           check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        t = q(self.tenant_id)
        self.assertEqual(
            STACK.query("SELECT seq, hash FROM audit_heads WHERE "
                        "tenant_id = %s" % t),
            STACK.query("SELECT seq, hash FROM audit_log WHERE tenant_id = "
                        "%s ORDER BY seq DESC LIMIT 1" % t))

    def assert_due(self, days=None, warning=3):
        """Every finding's SLA columns as findings_sla_insert gives them
        (0034; the writer hands it the policy since 0046): open with days
        > 0, due detected_at + days and looked at warning days before;
        otherwise no due date."""
        days = days or DEFAULT_DAYS
        case = "CASE severity %s END" % " ".join(
            "WHEN '%s' THEN %d" % kv for kv in days.items())
        self.assertGreater(tc.num(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND "
            "state = 'open' AND detected_at = updated_at" % q(
                self.tenant_id)), 0)
        self.assertEqual(STACK.query(
            "SELECT id, severity, due_at, sla_next_at FROM findings WHERE "
            "tenant_id = %s AND state = 'open' AND detected_at = "
            "updated_at AND NOT (due_at <=> IF(%s > 0, detected_at + "
            "INTERVAL %s DAY, NULL) AND sla_next_at <=> IF(%s > 0, "
            "detected_at + INTERVAL %s DAY - INTERVAL %d DAY, NULL) AND "
            "sla_left_s IS NULL)" % (q(self.tenant_id), case, case, case,
                                     case, warning)), [])

    def check_rows(self):
        self.check_all()
        self.assert_chain()


class T310BatchRowsFirstScan(RBase):
    """A first scan and rescans: no procedure call per event or audit
    entry, the counts equal a recount, the chain verifies."""

    def test_first_scan_and_rescans(self):
        names = ["br-%04d" % i for i in range(300)]
        ts.write_inventory(self.inv, tb.storages(names) +
                           tb.nsgs(names[:20]))
        integ = self.integration()
        days = {"critical": 2, "high": 5, "medium": 11, "low": 13,
                "info": 0}
        STACK.sql("INSERT INTO sla_policies (tenant_id, critical_days, "
                  "high_days, medium_days, low_days, info_days, "
                  "warning_days, response, updated_at) VALUES (%s, 2, 5, "
                  "11, 13, 0, 1, '{}', UTC_TIMESTAMP())" % q(
                      self.tenant_id), database="vigil")
        calls = status("Com_call_procedure")
        self.scan(integ)
        calls = status("Com_call_procedure") - calls
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM events WHERE tenant_id = %s AND type = "
            "'finding.detected'" % q(self.tenant_id)), 320)
        # Before 0045 two per new finding (the event's and the audit
        # entry's list_count_add): 640 and more. Now the batches' own
        # (0039's begin and end, two batches) and the scan's rows.
        self.assertLess(calls, 40, calls)
        self.check_rows()
        self.assert_due(days, 1)
        # Unchanged, then half fixed and the rest retagged.
        self.scan(integ)
        self.check_rows()
        ts.write_inventory(self.inv, tb.storages(names[:150], https=True) +
                           tb.storages(names[150:], env="qa") +
                           tb.nsgs(names[:20]))
        self.scan(integ)
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND state = "
            "'resolved'" % q(self.tenant_id)), 150)
        self.check_rows()
        # The API's own entries and events between scans: per row, as
        # before.
        f = ts.fid("t-storage-secure-transfer", ts.rid("st", names[200]))
        r = self.req("POST", "/api/v1/findings/%s/accept" % f,
                     {"justification": "accepted for the test"})
        self.assertEqual(r.status, 200, r)
        self.check_rows()
        ts.write_inventory(self.inv, tb.storages(names) +
                           tb.nsgs(names[:20]))
        self.scan(integ)
        self.check_rows()


class T311BatchRowsReplayedKilled(RBase):
    """Batches whose commits are refused and replayed, and a scanner
    killed mid-scan: counted once, the chain whole, the next scan
    completes it."""

    def test_replayed_and_killed(self):
        names = ["bk-%04d" % i for i in range(600)]
        ts.write_inventory(self.inv, tb.storages(names[:300]))
        integ = self.integration()
        p = self.scan(integ, {"VIGIL_DEBUG_CONFLICTS": "2"})
        self.assertIn("VIGIL_DEBUG_CONFLICTS", p.stdout + p.stderr)
        self.check_rows()
        ts.write_inventory(self.inv, tb.storages(names[:100], https=True) +
                           tb.storages(names[100:300], env="qa"))
        self.scan(integ, {"VIGIL_DEBUG_CONFLICTS": "2"})
        self.check_rows()

        ts.write_inventory(self.inv, tb.storages(names))
        before = tc.num("SELECT COUNT(*) FROM events WHERE tenant_id = %s"
                        % q(self.tenant_id))
        tb.kill_scan_when(integ, lambda: tc.num(
            "SELECT COUNT(*) FROM events WHERE tenant_id = %s"
            % q(self.tenant_id)) > before)
        self.check_rows()
        self.scan(integ)
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND "
            "state = 'open'" % q(self.tenant_id)), 600)
        self.check_rows()


class T312BatchRowsCases(RBase):
    """A finding on a case gets each change a scan makes on the case's
    timeline, in the same batch as findings on no case, which get none."""

    def timeline(self, cid):
        return STACK.query(
            "SELECT JSON_VALUE(fields, '$.finding_id'), "
            "JSON_VALUE(fields, '$.action'), actor FROM case_timeline "
            "WHERE tenant_id = %s AND case_id = %s AND "
            "kind = 'finding_changed' ORDER BY seq" % (
                q(self.tenant_id), q(cid)))

    def test_case_timeline(self):
        names = ["bc-%03d" % i for i in range(40)]
        ts.write_inventory(self.inv, tb.storages(names))
        integ = self.integration()
        self.scan(integ)
        self.assertEqual(tc.num("SELECT COUNT(*) FROM case_timeline WHERE "
                                "tenant_id = %s" % q(self.tenant_id)), 0)
        f = ts.fid("t-storage-secure-transfer", ts.rid("st", names[7]))
        r = self.req("POST", "/api/v1/findings/%s/escalate" % f,
                     {"case_id": None})
        self.assertEqual(r.status, 201, r)
        cid = r.json()["case_id"]
        # Every finding fixed (one batch): resolved, each with history.
        ts.write_inventory(self.inv, tb.storages(names, https=True))
        self.scan(integ)
        self.assertEqual(self.timeline(cid), [[f, "resolved", "scanner"]])
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM case_timeline WHERE tenant_id = %s AND "
            "kind = 'finding_changed'" % q(self.tenant_id)), 1)
        # Back: reopened.
        ts.write_inventory(self.inv, tb.storages(names))
        self.scan(integ)
        self.assertEqual([a for _, a, _ in self.timeline(cid)],
                         ["resolved", "reopened"])
        r = self.req("GET", "/api/v1/cases/%s" % cid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([e["data"]["action"] for e in r.json()["timeline"]
                          if e["kind"] == "finding_changed"],
                         ["resolved", "reopened"])
        self.check_rows()


class T313BatchRowsUpgradeOrders(RBase):
    """A writer newer than its schema (the triggers before 0045 and 0046,
    neither recorded, nor 0049; or those migrations run again after them)
    is counted once by the old triggers, which add nothing, and gets the
    same due dates; vigilctl migrate brings them back and the same writer
    counts itself, once. Imports take the same path."""

    def test_old_triggers_then_migrate(self):
        try:
            for mig, name, end in OLD_TRIGGERS:
                STACK.sql(trigger_text(mig, name, end), database="vigil")
            # Before 0045, audit_log had no merged trigger (0048) either.
            STACK.sql("DROP TRIGGER IF EXISTS audit_log_after_insert",
                      database="vigil")
            STACK.sql("DELETE FROM schema_migrations WHERE version IN "
                      "('0045', '0046', '0048', '0049')", database="vigil")
            names = ["bu-%03d" % i for i in range(30)]
            ts.write_inventory(self.inv, tb.storages(names))
            integ = self.integration()
            f = ts.fid("t-storage-secure-transfer", ts.rid("st", names[3]))
            self.scan(integ)
            self.assert_due()
            r = self.req("POST", "/api/v1/findings/%s/escalate" % f,
                         {"case_id": None})
            self.assertEqual(r.status, 201, r)
            cid = r.json()["case_id"]
            ts.write_inventory(self.inv, tb.storages(names, https=True))
            self.scan(integ)
            self.check_rows()
            import_findings(self.tenant, [entry("high"), entry("low")])
            self.check_rows()
        finally:
            r = STACK.vigilctl("migrate")
            self.assertIn("0045_batch_rows_deferred.sql", r.stdout)
            self.assertIn("0046_batch_sla_policy.sql", r.stdout)
            self.assertIn("applied 0048_one_trigger_per_event.sql\n",
                          r.stdout)
            self.assertIn("0049_events_defer_one.sql", r.stdout)
        ts.write_inventory(self.inv, tb.storages(names))
        self.scan(integ)
        ts.write_inventory(self.inv, tb.storages(names) +
                           tb.nsgs(names[:5]))
        self.scan(integ)
        self.assert_due()
        import_findings(self.tenant, [entry("medium")], reconcile=False)
        self.check_rows()
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM case_timeline WHERE tenant_id = %s AND "
            "case_id = %s AND kind = 'finding_changed'" % (
                q(self.tenant_id), q(cid))), 2)

    def test_sessions_that_do_not_defer(self):
        """Rows of another tenant than the session names, and a session
        that never names one (an older writer): counted by the triggers,
        the head moved by them."""
        _, tid = api.new_tenant("t313")
        t = q(tid)
        ev = ("INSERT INTO events (id, tenant_id, type, created_at, "
              "payload) VALUES ('evt_t313_%d', " + t + ", 'finding.test', "
              "UTC_TIMESTAMP(), '{}')")
        STACK.sql("SET @vigil_defer = %s, @vigil_deferred_events = 0; %s; "
                  "SET @vigil_defer = NULL; %s" % (
                      q(self.tenant_id), ev % 1, ev % 2), database="vigil")
        self.assertEqual(tc.num(
            "SELECT n FROM list_counts WHERE tenant_id = %s AND "
            "list = 'events' AND k = 'finding.test'" % t), 2)


class T314BatchRowsSchemaOnce(RBase):
    """The batch writer reads the schema (0039's row in
    schema_migrations) once per connection, not once per batch."""

    def test_schema_read_once(self):
        names = ["bs-%04d" % i for i in range(1000)]
        ts.write_inventory(self.inv, tb.storages(names))
        integ = self.integration()
        rows = self.scan_logged(
            integ, "thread_id, argument FROM mysql.general_log WHERE "
            "command_type = 'Execute' AND argument LIKE "
            "'%schema_migrations%version = ''0039''%'")
        # four batches of 256 new findings (before: a read each)
        self.assertEqual(tc.num("SELECT COUNT(*) FROM findings WHERE "
                                "tenant_id = %s" % q(self.tenant_id)), 1000)
        threads = {r[0] for r in rows}
        self.assertTrue(rows, "no schema read seen")
        self.assertEqual(len(rows), len(threads), rows)
        self.check_rows()


class T375BatchOldStoredOnly(RBase):
    """The copy of a batch's rows before its upsert (0039's
    findings_batch_old) reads only the findings stored before: a batch of
    new findings sends no such statement, a batch that rewrites stored
    ones names only those; the counts still equal a recount."""

    def logged(self, integ):
        """The scan, and the ids each copy before the upsert named."""
        rows = self.scan_logged(
            integ, "HEX(argument) FROM mysql.general_log WHERE "
            "command_type = 'Execute' AND argument LIKE "
            "'INSERT INTO findings_batch_old%'")
        return [set(re.findall(r"'([^']*)'", bytes.fromhex(r[0]).decode())
                    ) - {self.tenant_id} for r in rows]

    def test_new_rows_not_copied(self):
        names = ["bo-%04d" % i for i in range(300)]
        ts.write_inventory(self.inv, tb.storages(names))
        integ = self.integration()
        # 300 new findings, two framed batches (before: a copy each)
        self.assertEqual(self.logged(integ), [])
        self.assertEqual(tc.num("SELECT COUNT(*) FROM findings WHERE "
                                "tenant_id = %s" % q(self.tenant_id)), 300)
        self.check_rows()
        # 100 retagged beside 10 new: the copies name the stored ones.
        ts.write_inventory(self.inv, tb.storages(names[:100], env="qa") +
                           tb.storages(names[100:]) +
                           tb.storages(["bn-%d" % i for i in range(10)]))
        before = {r[0] for r in STACK.query(
            "SELECT id FROM findings WHERE tenant_id = %s" % q(
                self.tenant_id))}
        copies = self.logged(integ)
        self.assertTrue(copies, "no copy of stored rows")
        named = set().union(*copies)
        self.assertTrue(named <= before, named - before)
        self.assertEqual(len(named), 100)
        self.check_rows()


class T418BatchSeenMarkAside(RBase):
    """The batch writer's mark of its unchanged findings seen (the
    last_seen_at update of a rescan or a reimport) runs with the
    findings triggers told to stand aside, since it changes nothing they
    count: by ranges of seq, one CALL of findings_seen_mark (0059), which
    sets @vigil_batch around its UPDATE; by an IN list of seqs, that
    UPDATE with @vigil_batch set just before it and cleared just after,
    on the same connection. The findings are marked, and every count
    still equals a recount."""

    def logged(self, integ):
        """The statements of each connection, in order, as the general
        log has them, around the scan."""
        rows = self.scan_logged(
            integ, "thread_id, HEX(argument) FROM mysql.general_log "
            "WHERE command_type IN ('Execute', 'Query')")
        by = {}
        for tid, arg in rows:
            by.setdefault(tid, []).append(bytes.fromhex(arg).decode())
        return by

    def test_mark_with_triggers_aside(self):
        names = ["bs-%04d" % i for i in range(300)]
        ts.write_inventory(self.inv, tb.storages(names))
        integ = self.integration()
        self.scan(integ)
        self.check_rows()
        t = q(self.tenant_id)
        STACK.sql("UPDATE findings SET last_seen_at = last_seen_at - "
                  "INTERVAL 1 DAY WHERE tenant_id = %s" % t,
                  database="vigil")
        before = STACK.query("SELECT state, COUNT(*) FROM findings WHERE "
                             "tenant_id = %s GROUP BY state" % t)
        calls = lists = 0
        for stmts in self.logged(integ).values():
            for i, x in enumerate(stmts):
                if x.startswith("CALL findings_seen_mark("):
                    calls += 1
                    self.assertNotIn("@vigil_batch", stmts[i - 1], x)
                    continue
                if not x.startswith("UPDATE findings FORCE INDEX (PRIMARY) "
                                    "SET last_seen_at"):
                    continue
                lists += 1
                self.assertIn("seq IN (", x)
                self.assertEqual(stmts[i - 1], "SET @vigil_batch = 1", x)
                self.assertEqual(stmts[i + 1], "SET @vigil_batch = NULL",
                                 x)
        # The rescan reads them in the order stored: ranges only.
        self.assertGreater(calls, 0, "no mark of the unchanged findings")
        self.assertEqual(lists, 0)
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND "
            "last_seen_at < UTC_TIMESTAMP() - INTERVAL 1 HOUR" % t), 0)
        self.assertEqual(STACK.query(
            "SELECT state, COUNT(*) FROM findings WHERE tenant_id = %s "
            "GROUP BY state" % t), before)
        self.check_rows()


class T419BatchReplayAfterLostMark(RBase):
    """A batch whose seen mark is lost as a deadlock loses it
    (VIGIL_DEBUG_LOSE_SEEN, debug builds) is run again whole, and what it
    told the triggers in its session before the loss (@vigil_batch, set
    for the mark by an IN list of seqs, whose clear was never run) does
    not outlive the rollback: the replay's few changed rows, written
    through the triggers, are counted, and every count equals a
    recount. (The mark by ranges is one CALL, which clears @vigil_batch
    itself: T428.)"""

    def test_replay_counts_the_few(self):
        names = ["br-%04d" % i for i in range(300)]
        ts.write_inventory(self.inv, tb.storages(names))
        integ = self.integration()
        self.scan(integ)
        self.check_rows()
        t = q(self.tenant_id)
        # Twelve retagged, one in every 20 (fewer than 16 rows to write
        # in the first batch: the triggers count them), the rest seen
        # again and marked: thirteen runs of seq, more than the eight
        # ranges of a CALL, so by an IN list, framed by two SETs.
        qa = set(names[0:240:20])
        ts.write_inventory(self.inv, [
            ts.storage(n, False, "qa" if n in qa else "prod")
            for n in names])
        p, rows = STACK.logged(
            lambda: self.scan(integ, {"VIGIL_DEBUG_LOSE_SEEN": "1"}),
            "argument FROM mysql.general_log WHERE command_type = "
            "'Execute' AND argument LIKE '%@vigil_batch = 1%'")
        self.assertIn("VIGIL_DEBUG_LOSE_SEEN", p.stdout + p.stderr)
        self.assertTrue(rows, "the IN list's mark was not framed")
        self.assertGreater(tc.num(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND "
            "tags LIKE '%%qa%%'" % t), 0)
        self.check_rows()


class T428SeenMarkProcedure(RBase):
    """findings_seen_mark (0059), the mark by ranges of seq in one
    round trip: it marks the findings of the tenant in the ranges and
    no other, leaves every count equal to a recount, and leaves
    @vigil_batch NULL both when its UPDATE succeeds and when it fails
    (here in a read-only transaction: the error reaches the caller, and
    the connection's next writes are counted by the triggers)."""

    def test_mark_and_failure(self):
        names = ["bm-%03d" % i for i in range(20)]
        ts.write_inventory(self.inv, tb.storages(names))
        self.scan(self.integration())
        self.check_rows()
        t = q(self.tenant_id)
        lo, hi = (int(v) for v in STACK.query(
            "SELECT MIN(seq), MAX(seq) FROM findings WHERE tenant_id = "
            "%s" % t)[0])
        other = tc.num("SELECT COUNT(*) FROM findings WHERE tenant_id <> "
                       "%s AND last_seen_at = '2031-01-01'" % t)
        # The first ten by one range, the rest by seven more.
        mid = lo + 9
        ranges = ", ".join(["%d, %d" % (lo, mid)] +
                           ["%d, %d" % (mid + 1, hi)] * 7)
        call = ("CALL findings_seen_mark('2031-01-01 00:00:00', NULL, %s, "
                "%s)" % (t, ranges))
        out = STACK.sql(
            "DELIMITER //\n"
            "SET @vigil_batch = NULL, @err = NULL //\n"
            "START TRANSACTION READ ONLY //\n"
            "BEGIN NOT ATOMIC\n"
            " DECLARE CONTINUE HANDLER FOR SQLEXCEPTION\n"
            "  GET DIAGNOSTICS CONDITION 1 @err = MYSQL_ERRNO;\n"
            " %s;\n"
            "END //\n"
            "ROLLBACK //\n"
            "SELECT @err, @vigil_batch IS NULL //\n"
            "%s //\n"
            "SELECT @vigil_batch IS NULL //\n" % (call, call),
            database="vigil").stdout.split()
        # 1792: cannot execute statement in a READ ONLY transaction
        self.assertEqual(out, ["1792", "1", "1"])
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND "
            "last_seen_at = '2031-01-01'" % t), 20)
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM findings WHERE tenant_id <> %s AND "
            "last_seen_at = '2031-01-01'" % t), other)
        self.check_rows()


class T345BatchSlaOneRead(RBase):
    """The batch writer reads the tenant's SLA policy for
    findings_sla_insert (0046) with one read of its row: the statement it
    sent, run again, reads one index entry and sets the policy's days, or
    0034's defaults for a tenant without a policy row; and the findings
    get the due dates of the policy."""

    def logged(self, integ):
        """The scan, and the statements that handed the policy over, as
        the general log has them."""
        rows = self.scan_logged(
            integ, "HEX(argument) FROM mysql.general_log WHERE "
            "command_type = 'Execute' AND argument LIKE "
            "'%@vigil_sla_critical%'")
        return [bytes.fromhex(r[0]).decode() for r in rows]

    def replay(self, stmt):
        """stmt run again in a session of its own: the index entries it
        read (Handler_read_key) and the variables it set."""
        out = STACK.sql(
            "SHOW SESSION STATUS LIKE 'Handler_read_key'; %s; "
            "SHOW SESSION STATUS LIKE 'Handler_read_key'; "
            "SELECT @vigil_sla_critical, @vigil_sla_high, "
            "@vigil_sla_medium, @vigil_sla_low, @vigil_sla_info, "
            "@vigil_sla_warning, @vigil_sla" % stmt,
            database="vigil").stdout.splitlines()
        before, after = (int(line.split("\t")[1]) for line in out[:2])
        return after - before, out[2].split("\t")

    def test_one_read(self):
        names = ["bp-%03d" % i for i in range(40)]
        ts.write_inventory(self.inv, tb.storages(names))
        integ = self.integration()
        STACK.sql("INSERT INTO sla_policies (tenant_id, critical_days, "
                  "high_days, medium_days, low_days, info_days, "
                  "warning_days, response, updated_at) VALUES (%s, 3, 6, "
                  "12, 24, 5, 2, '{}', UTC_TIMESTAMP())" % q(
                      self.tenant_id), database="vigil")
        stmts = self.logged(integ)
        self.assertTrue(stmts, "no policy handed over")
        self.assert_due({"critical": 3, "high": 6, "medium": 12, "low": 24,
                         "info": 5}, 2)
        self.check_rows()
        reads, got = self.replay(stmts[0])
        self.assertEqual(reads, 1, stmts[0])
        for stmt in stmts:
            self.assertEqual(stmt.count("sla_policies"), 1, stmt)
            self.assertIn(self.tenant_id, stmt)
        self.assertEqual(got, ["3", "6", "12", "24", "5", "2",
                               self.tenant_id])
        # Another tenant, without a policy row: the defaults, in one
        # read too.
        _, tid = api.new_tenant("t345")
        reads, got = self.replay(stmts[0].replace(self.tenant_id, tid))
        self.assertEqual(reads, 1)
        self.assertEqual(got, ["7", "30", "90", "180", "0", "3", tid])


if __name__ == "__main__":
    unittest.main()
