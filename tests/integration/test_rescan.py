"""test_rescan.py: what an unchanged or little-changed rescan and reimport
send the server (issues #11 and #13). New findings are stored in the
order the scan or the report gives them, so their seqs follow it; a
batch's unchanged findings are then marked seen by a few ranges of seq,
not an IN list of 256 seqs; and the end of a complete scan reads only
the rows between the seqs its batches marked seen. Each must give what
it gave: every finding seen marked, exactly the absent live findings of
the integration resolved (at the start, in the middle, at the end of the
inventory; accepted ones too; dismissed ones, other integrations' and
new ones never), counters equal to a recount, the audit chain whole.
T390 and T392 fail on main before this change (eb52fdf: a batch's new
findings were stored in id order, and marked seen by an IN list); T391
passes there too: it holds what reconcile resolves, which must not move.
T393 failed before the ranges' average length was checked (a statement
per gap, 299 of them). T426: a rescan's batches read their stored
findings by ranges of seq too.

Run by run.py, which sets STACK here (and in the modules used below).
"""

import unittest

import test_api as api
import test_batchcounts as tb
import test_batchrows as tbr
import test_changed as tch
import test_counts as tc
import test_scanner as ts
from test_findings import entry, eid, import_findings, q

STACK = None        # a stack.Stack, set by run.py


def setUpModule():
    global STACK
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    tch.STACK = STACK
    tch.setUpModule()


def tearDownModule():
    tch.tearDownModule()


def statements(run, like):
    """run(), and the statements the server executed meanwhile whose
    text is LIKE like (its general log)."""
    return STACK.logged_statements(run, q(like))


def seen_marks(run):
    """run(), and the seen marks of findings it sent: (by ranges of seq,
    a CALL of findings_seen_mark; by an IN list of seqs)."""
    out, rows = STACK.logged(
        run, "CONVERT(argument USING utf8mb4) FROM mysql.general_log "
        "WHERE command_type = 'Execute' AND (argument LIKE "
        "'CALL findings_seen_mark(%' OR argument LIKE "
        "'UPDATE findings%SET last_seen_at%')")
    rows = [r[0] for r in rows]
    return out, (sum(r.startswith("CALL findings_seen_mark(") for r in rows),
                 sum("seq IN (" in r for r in rows))


class RescanBase(tch.ChBase):

    def by_seq(self, col="resource_id"):
        return [r[0] for r in STACK.query(
            "SELECT %s FROM findings WHERE tenant_id = %s ORDER BY seq"
            % (col, q(self.tenant_id)))]

    def seen_by(self, sid):
        return tc.num("SELECT COUNT(*) FROM findings WHERE tenant_id = %s "
                      "AND seen_scan_id <=> %s" % (q(self.tenant_id), q(sid)))

    def last_scan(self):
        s = self.req("GET", "/api/v1/scans?limit=1").json()["scans"][0]
        self.assertEqual(s["status"], "completed", s)
        return s


class T390RescanSeenByRanges(RescanBase):
    """800 storage accounts (four batches): the first scan stores them in
    the inventory's order; an unchanged rescan marks them seen by ranges
    of seq and runs no full read of the integration's findings; so does
    a rescan whose batches begin elsewhere (two resources gone)."""

    def test_ranges(self):
        names = ["rs-%04d" % i for i in range(800)]
        ts.write_inventory(self.inv, tb.storages(names))
        integ = self.integration()
        self.scan(integ)
        # In the inventory's order, not each batch's in id order.
        self.assertEqual(self.by_seq(), [ts.rid("st", n) for n in names])
        self.check_rows()
        _, (ranges, lists) = seen_marks(lambda: self.scan(integ))
        s = self.last_scan()
        self.assertEqual(s["findings_resolved"], 0, s)
        self.assertEqual(lists, 0, "seen marks by an IN list of seqs")
        self.assertGreaterEqual(ranges, 4)
        self.assertEqual(self.seen_by(s["id"]), 800)
        self.check_rows()
        # The full read of the integration's findings (SQL_FINDING_ABSENT)
        # is not run; the gaps between what was seen are.
        _, rows = statements(lambda: self.scan(integ),
                             "SELECT id FROM findings WHERE "
                             "integration_id%AND provider%")
        self.assertEqual([r for r in rows if "BETWEEN" not in r], [])
        self.assertTrue(rows)
        # Two gone: every batch begins one or two resources later.
        gone = [names[0], names[401]]
        ts.write_inventory(self.inv, tb.storages(
            [n for n in names if n not in gone]))
        _, (ranges, lists) = seen_marks(lambda: self.scan(integ))
        s = self.last_scan()
        self.assertEqual(s["findings_resolved"], 2, s)
        self.assertEqual(lists, 0, "seen marks by an IN list of seqs")
        self.assertEqual(self.seen_by(s["id"]), 798)
        t = q(self.tenant_id)
        self.assertEqual(STACK.query(
            "SELECT resource_id FROM findings WHERE tenant_id = %s AND "
            "state = 'resolved' ORDER BY seq" % t),
            [[ts.rid("st", n)] for n in gone])
        self.check_rows()


def batch_reads(run):
    """run(), and how the scan's batches read their stored findings (the
    locked read of a batch, without the evidence): (by a range of seq, by
    an IN list of ids)."""
    out, rows = statements(run, "SELECT seq, id, rule_id%recommendation, "
                           "NULL, fingerprint%FOR UPDATE%")
    return out, (sum("seq BETWEEN" in r for r in rows),
                 sum(" id IN (" in r for r in rows))


class T426RescanReadsByRange(RescanBase):
    """A rescan's batch reads its stored findings by the range of seq
    where the batch before it ended (the first scan stored them in the
    inventory's order; findings_hint), and by ids only the first batch:
    800 storage accounts, four batches, unchanged and with two gone (the
    ranges hold the gone ones and pass them over). What the scan records
    is what it recorded: every finding seen, exactly the two resolved,
    the counts a recount. Reading by ids alone fails the counts of
    reads."""

    def test_ranges(self):
        names = ["rr-%04d" % i for i in range(800)]
        ts.write_inventory(self.inv, tb.storages(names))
        integ = self.integration()
        self.scan(integ)
        _, reads = batch_reads(lambda: self.scan(integ))
        s = self.last_scan()
        self.assertEqual(s["findings_resolved"], 0, s)
        self.assertEqual(reads, (3, 1))
        self.assertEqual(self.seen_by(s["id"]), 800)
        self.check_rows()
        gone = [names[0], names[401]]
        ts.write_inventory(self.inv, tb.storages(
            [n for n in names if n not in gone]))
        _, reads = batch_reads(lambda: self.scan(integ))
        s = self.last_scan()
        self.assertEqual(s["findings_resolved"], 2, s)
        self.assertEqual(reads, (3, 1))
        self.assertEqual(self.seen_by(s["id"]), 798)
        self.assertEqual(STACK.query(
            "SELECT resource_id FROM findings WHERE tenant_id = %s AND "
            "state = 'resolved' ORDER BY seq" % q(self.tenant_id)),
            [[ts.rid("st", n)] for n in gone])
        self.check_rows()


class T391RescanAbsentGaps(RescanBase):
    """What a complete scan resolves when it reads only the rows between
    the seqs it marked seen: the live findings of the integration it did
    not see, at the start, in the middle and at the end of the inventory,
    an accepted one among them; not a dismissed one, not another
    integration's (stored after all of these), not the new ones."""

    def test_gaps(self):
        names = ["ag-%04d" % i for i in range(600)]
        ts.write_inventory(self.inv, tb.storages(names))
        integ = self.integration()
        self.scan(integ)
        other = ts.tempfile.mkdtemp(prefix="inv-", dir=ts.TMP)
        ts.os.chmod(other, 0o755)
        ts.write_inventory(other, tb.storages(["ag-other-%d" % i
                                               for i in range(5)]))
        integ2 = self.integration(path=other, name="other")
        self.scan(integ2)
        fid = {n: ts.fid("t-storage-secure-transfer", ts.rid("st", n))
               for n in names}
        acc, dis = names[150], names[450]
        r = self.req("POST", "/api/v1/findings/%s/accept" % fid[acc],
                     {"justification": "j"})
        self.assertEqual(r.status, 200, r)
        r = self.req("POST", "/api/v1/findings/%s/dismiss" % fid[dis],
                     {"reason": "r"})
        self.assertEqual(r.status, 200, r)
        gone = [names[0], names[1], names[299], names[598], names[599],
                acc, dis]
        keep = [n for n in names if n not in gone]
        new = ["ag-new-a", "ag-new-b"]
        ts.write_inventory(self.inv, tb.storages(new[:1] + keep + new[1:]))
        self.scan(integ)
        s = self.last_scan()
        self.assertEqual(s["findings_resolved"], 6, s)
        self.assertEqual(s["findings_detected"], 2, s)
        t = q(self.tenant_id)
        self.assertEqual(STACK.query(
            "SELECT id, resolved_by FROM findings WHERE tenant_id = %s AND "
            "state = 'resolved' ORDER BY id" % t),
            sorted([fid[n], "scanner"] for n in gone if n != dis))
        self.assertEqual(self.state(fid[dis]), "dismissed")
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND "
            "integration_id = %s AND state = 'open'" % (t, q(integ2))), 5)
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND "
            "integration_id = %s AND state = 'open'" % (t, q(integ))),
            len(keep) + 2)
        self.check_rows()
        # Back: the five reopened (the accepted one too), nothing resolved.
        ts.write_inventory(self.inv, tb.storages(names))
        self.scan(integ)
        s = self.last_scan()
        self.assertEqual(s["findings_resolved"], 2, s)     # the new ones
        self.assertEqual(s["findings_reopened"], 6, s)
        self.check_rows()


class T393RescanSpacedSeqs(RescanBase):
    """Findings whose seqs are not consecutive, as each Galera node gives
    them (auto_increment_increment, here 3 while the first scan stores
    them): every seen finding is a range of its own, and a statement per
    gap would be one round trip per finding; the end of the scan reads
    the integration's findings once instead (SQL_FINDING_ABSENT), and
    resolves exactly what is gone."""

    def test_spaced(self):
        names = ["sp-%04d" % i for i in range(300)]
        ts.write_inventory(self.inv, tb.storages(names))
        integ = self.integration()
        STACK.sql("SET GLOBAL auto_increment_increment = 3")
        try:
            self.scan(integ)
        finally:
            STACK.sql("SET GLOBAL auto_increment_increment = 1")
        seqs = [int(x) for x in self.by_seq("seq")]
        self.assertEqual(len(seqs), 300)
        self.assertTrue(all(b - a >= 3 for a, b in zip(seqs, seqs[1:])),
                        seqs[:5])
        gone = [names[0], names[150]]
        ts.write_inventory(self.inv, tb.storages(
            [n for n in names if n not in gone]))
        _, rows = statements(lambda: self.scan(integ),
                             "SELECT id FROM findings WHERE "
                             "integration_id%AND provider%")
        self.assertEqual(len([r for r in rows if "BETWEEN" not in r]), 1,
                         rows[:3])
        self.assertEqual([r for r in rows if "BETWEEN" in r], [])
        s = self.last_scan()
        self.assertEqual(s["findings_resolved"], 2, s)
        self.assertEqual(STACK.query(
            "SELECT resource_id FROM findings WHERE tenant_id = %s AND "
            "state = 'resolved' ORDER BY seq" % q(self.tenant_id)),
            [[ts.rid("st", n)] for n in gone])
        self.check_rows()


class T392ReimportSeenByRanges(RescanBase):
    """A report of 700 findings is stored in its order; the same report
    again marks its findings seen by ranges of seq; with three gone and
    three rescored, the same, and the import's verdicts as before."""

    def test_reimport(self):
        es = [entry("medium", rule="rr-%d" % (i % 5),
                    tags={"team": "t%d" % (i % 3)}) for i in range(700)]
        import_findings(self.tenant, es)
        self.assertEqual(self.by_seq("id"), [eid(e) for e in es])
        self.check_rows()
        _, (ranges, lists) = seen_marks(
            lambda: import_findings(self.tenant, es))
        self.assertEqual(lists, 0, "seen marks by an IN list of seqs")
        self.assertGreaterEqual(ranges, 3)
        gone = [es[i] for i in (0, 350, 699)]
        resc = [es[i] for i in (10, 400, 600)]
        again = [dict(e, severity="critical") if e in resc else e
                 for e in es if e not in gone]
        r, (ranges, lists) = seen_marks(
            lambda: import_findings(self.tenant, again))
        self.assertEqual(r.stdout.strip(), "imported 697 findings, "
                         "resolved 3 no longer present")
        self.assertEqual(lists, 0, "seen marks by an IN list of seqs")
        t = q(self.tenant_id)
        self.assertEqual(STACK.query(
            "SELECT id FROM findings WHERE tenant_id = %s AND state = "
            "'resolved' ORDER BY id" % t), sorted([eid(e)] for e in gone))
        self.assertEqual(STACK.query(
            "SELECT id FROM findings WHERE tenant_id = %s AND severity = "
            "'critical' ORDER BY id" % t), sorted([eid(e)] for e in resc))
        self.check_rows()


if __name__ == "__main__":
    unittest.main()
