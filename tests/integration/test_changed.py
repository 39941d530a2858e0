"""test_changed.py: a rescan or reimport in which few findings changed,
spread over its batches (issues #11 and #13). The batch writer takes the
triggers' way, row by row, for a batch with fewer than 16 rows to write
(findings.c BATCH_FRAME_MIN) instead of 0039's set-based frame and
0045's deferral, which cost a batch some 30 statements whatever it
changed; so those batches must run no findings_batch_begin, and still
give exactly what they gave: one history row, event and audit entry per
changed finding and none for the unchanged findings beside it in the
same batch, whose rows keep their updated_at; counters equal to a
recount; the audit chain whole; resolved, rescored, redescribed and
reopened findings as the lifecycle says; a batch replayed after a refused
commit counted once; and a batch at and above the threshold framed as
before.

Run by run.py, which sets STACK here (and in the modules used below).
"""

import json
import os
import unittest

import test_api as api
import test_batchcounts as tb
import test_batchrows as tbr
import test_counts as tc
import test_scanner as ts
from test_findings import entry, eid, import_findings, q

STACK = None        # a stack.Stack, set by run.py

FRAME_MIN = 16      # findings.c BATCH_FRAME_MIN


def setUpModule():
    global STACK
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    tbr.STACK = STACK
    tbr.setUpModule()


def tearDownModule():
    tbr.tearDownModule()


def frames(run):
    """run(), and how many batch frames (CALL findings_batch_begin) the
    server executed meanwhile, as its general log has them."""
    out, rows = STACK.logged(run, "COUNT(*) FROM mysql.general_log WHERE "
                             "command_type IN ('Execute', 'Query') AND "
                             "argument LIKE '%findings_batch_begin%'")
    return out, int(rows[0][0])


class ChBase(tbr.RBase):

    def marks(self):
        t = q(self.tenant_id)
        return tuple(tc.num("SELECT COALESCE(MAX(seq), 0) FROM %s WHERE "
                            "tenant_id = %s" % (tab, t))
                     for tab in ("finding_history", "events", "audit_log"))

    def effects(self, marks):
        """What was written after marks: the history rows (finding,
        action, actor), the events (type, finding) and the findings'
        audit entries (object, action, actor), each sorted."""
        t = q(self.tenant_id)
        hist = STACK.query(
            "SELECT finding_id, action, actor FROM finding_history WHERE "
            "tenant_id = %s AND seq > %d ORDER BY 1, 2" % (t, marks[0]))
        evs = sorted(
            [typ, json.loads(bytes.fromhex(h).decode())["data"]["finding"][
                "id"]] for typ, h in STACK.query(
                "SELECT type, HEX(payload) FROM events WHERE tenant_id = %s "
                "AND seq > %d AND type LIKE 'finding.%%'" % (t, marks[1])))
        aud = STACK.query(
            "SELECT object, action, actor FROM audit_log WHERE tenant_id = "
            "%s AND seq > %d AND object IN (SELECT id FROM findings WHERE "
            "tenant_id = %s) ORDER BY 1, 2" % (t, marks[2], t))
        return hist, evs, aud

    def rows(self, ids=None):
        """The findings' rows as a change would alter them (not
        last_seen_at), the given ids left out."""
        t = q(self.tenant_id)
        skip = ""
        if ids:
            skip = " AND id NOT IN (%s)" % ", ".join(q(i) for i in ids)
        return STACK.query(
            "SELECT id, state, severity, updated_at, resolved_at, "
            "fingerprint, tags, environment, due_at FROM findings WHERE "
            "tenant_id = %s%s ORDER BY id" % (t, skip))

    def assert_effects(self, marks, expect):
        """expect: {finding id: (history action, event type)}: exactly
        those, one each, and the audit entry of each, by the scanner."""
        hist, evs, aud = self.effects(marks)
        self.assertEqual(hist, sorted([f, a, "scanner"]
                                      for f, (a, _) in expect.items()))
        self.assertEqual(evs, sorted([e, f] for f, (_, e) in expect.items()))
        self.assertEqual(aud, sorted([f, a, "scanner"]
                                     for f, (a, _) in expect.items()))


def st_fid(name):
    return ts.fid("t-storage-secure-transfer", ts.rid("st", name))


class T360ChangedRescan(ChBase):
    """A rescan of 800 storage accounts (four batches) with 1 % changed,
    spread: four fixed (resolved), four retagged (redescribed)."""

    def test_one_percent(self):
        names = ["ch-%04d" % i for i in range(800)]
        ts.write_inventory(self.inv, tb.storages(names))
        integ = self.integration()
        self.scan(integ)
        self.assertEqual(tc.num("SELECT COUNT(*) FROM findings WHERE "
                                "tenant_id = %s AND state = 'open'"
                                % q(self.tenant_id)), 800)
        self.check_rows()
        fixed = [names[i] for i in (5, 300, 555, 790)]
        retag = [names[i] for i in (100, 400, 650, 799)]
        changed = [st_fid(n) for n in fixed + retag]
        before = self.rows(changed)
        m = self.marks()
        ts.write_inventory(self.inv, [
            ts.storage(n, n in fixed, "qa" if n in retag else "prod")
            for n in names])
        _, n = frames(lambda: self.scan(integ))
        self.assertEqual(n, 0, "a batch with few changes was framed")
        s = self.req("GET", "/api/v1/scans?limit=1").json()["scans"][0]
        self.assertEqual(s["status"], "completed", s)
        self.assertEqual(s["findings_resolved"], 4, s)
        expect = {st_fid(x): ("resolved", "finding.resolved") for x in fixed}
        expect.update({st_fid(x): ("details_updated", "finding.updated")
                       for x in retag})
        self.assert_effects(m, expect)
        # The unchanged findings, in the same batches: not rewritten, seen.
        self.assertEqual(self.rows(changed), before)
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND "
            "seen_scan_id <=> %s" % (q(self.tenant_id), q(s["id"]))), 796)
        t = q(self.tenant_id)
        self.assertEqual(STACK.query(
            "SELECT id, state FROM findings WHERE tenant_id = %s AND id IN "
            "(%s) ORDER BY id" % (t, ", ".join(q(st_fid(x))
                                              for x in fixed))),
            sorted([st_fid(x), "resolved"] for x in fixed))
        self.assertEqual(STACK.query(
            "SELECT DISTINCT environment FROM findings WHERE tenant_id = %s "
            "AND id IN (%s)" % (t, ", ".join(q(st_fid(x)) for x in retag))),
            [["QA"]])
        self.check_rows()
        # Back as it was: the four reopened, the four redescribed back.
        m = self.marks()
        ts.write_inventory(self.inv, tb.storages(names))
        _, n = frames(lambda: self.scan(integ))
        self.assertEqual(n, 0)
        expect = {st_fid(x): ("reopened", "finding.reopened") for x in fixed}
        expect.update({st_fid(x): ("details_updated", "finding.updated")
                       for x in retag})
        self.assert_effects(m, expect)
        self.assertEqual(self.rows(changed), before)
        self.check_rows()


class T361ChangedReimport(ChBase):
    """A reimport of 700 findings (three batches) with 1 % changed: three
    gone (resolved, their source row removed), three rescored; then the
    gone ones back (reopened)."""

    def test_one_percent(self):
        es = [entry("medium", rule="r-%d" % (i % 4),
                    tags={"team": "t%d" % (i % 3)}) for i in range(700)]
        import_findings(self.tenant, es)
        self.check_rows()
        gone = [es[i] for i in (10, 350, 690)]
        resc = [es[i] for i in (100, 400, 600)]
        changed = [eid(e) for e in gone + resc]
        before = self.rows(changed)
        m = self.marks()
        again = [dict(e, severity="critical") if e in resc else e
                 for e in es if e not in gone]
        r, n = frames(lambda: import_findings(self.tenant, again))
        self.assertEqual(n, 0, "a batch with few changes was framed")
        self.assertEqual(r.stdout.strip(), "imported 697 findings, "
                         "resolved 3 no longer present")
        expect = {eid(e): ("resolved", "finding.resolved") for e in gone}
        expect.update({eid(e): ("rescored", "finding.updated")
                       for e in resc})
        self.assert_effects(m, expect)
        self.assertEqual(self.rows(changed), before)
        t = q(self.tenant_id)
        self.assertEqual(STACK.query(
            "SELECT id, state, severity FROM findings WHERE tenant_id = %s "
            "AND id IN (%s) ORDER BY id" % (t, ", ".join(
                q(i) for i in changed))),
            sorted([[eid(e), "resolved", "medium"] for e in gone] +
                   [[eid(e), "open", "critical"] for e in resc]))
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM finding_sources WHERE tenant_id = %s AND "
            "finding_id IN (%s)" % (t, ", ".join(q(eid(e)) for e in gone))),
            0)
        self.check_rows()
        # The same report again: nothing at all.
        m = self.marks()
        import_findings(self.tenant, again)
        self.assert_effects(m, {})
        self.check_rows()
        # The gone ones back: reopened, with their source rows.
        m = self.marks()
        r, n = frames(lambda: import_findings(
            self.tenant, [dict(e, severity="critical") if e in resc else e
                          for e in es]))
        self.assertEqual(n, 0)
        self.assert_effects(m, {eid(e): ("reopened", "finding.reopened")
                                for e in gone})
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM finding_sources WHERE tenant_id = %s AND "
            "finding_id IN (%s)" % (t, ", ".join(q(eid(e)) for e in gone))),
            3)
        self.check_rows()


class T362ChangedReplayed(ChBase):
    """A rescan with few changes whose batches' commits are refused twice
    and replayed (as Galera refuses them), one of the findings on a case:
    everything once, the case's timeline too."""

    def test_replayed(self):
        names = ["cr-%04d" % i for i in range(600)]
        ts.write_inventory(self.inv, tb.storages(names))
        integ = self.integration()
        self.scan(integ)
        f = st_fid(names[301])
        r = self.req("POST", "/api/v1/findings/%s/escalate" % f,
                     {"case_id": None})
        self.assertEqual(r.status, 201, r)
        cid = r.json()["case_id"]
        m = self.marks()
        fixed = [names[i] for i in (7, 301, 512)]
        retag = [names[i] for i in (150, 450)]
        ts.write_inventory(self.inv, [
            ts.storage(n, n in fixed, "qa" if n in retag else "prod")
            for n in names])
        p = self.scan(integ, {"VIGIL_DEBUG_CONFLICTS": "2"})
        self.assertIn("VIGIL_DEBUG_CONFLICTS", p.stdout + p.stderr)
        expect = {st_fid(x): ("resolved", "finding.resolved") for x in fixed}
        expect.update({st_fid(x): ("details_updated", "finding.updated")
                       for x in retag})
        self.assert_effects(m, expect)
        self.assertEqual(STACK.query(
            "SELECT JSON_VALUE(fields, '$.finding_id'), "
            "JSON_VALUE(fields, '$.action') FROM case_timeline WHERE "
            "tenant_id = %s AND case_id = %s AND kind = 'finding_changed'"
            % (q(self.tenant_id), q(cid))), [[f, "resolved"]])
        self.check_rows()


class T363ChangedThreshold(ChBase):
    """One batch of 200 findings with 15, 16 and 17 of them retagged (the
    last two framed, the first not), and as many fixed: the same effects
    and exact counters on both sides of the threshold."""

    def test_both_sides(self):
        names = ["ct-%03d" % i for i in range(200)]
        ts.write_inventory(self.inv, tb.storages(names))
        integ = self.integration()
        self.scan(integ)
        self.check_rows()
        for k, env in ((FRAME_MIN - 1, "qa"), (FRAME_MIN, "dev"),
                       (FRAME_MIN + 1, "uat")):
            retag = names[:k]
            m = self.marks()
            ts.write_inventory(self.inv, [
                ts.storage(n, False, env if n in retag else "prod")
                for n in names])
            _, n = frames(lambda: self.scan(integ))
            self.assertEqual(n, 0 if k < FRAME_MIN else 1, k)
            self.assert_effects(m, {st_fid(x): ("details_updated",
                                                "finding.updated")
                                    for x in retag})
            self.check_rows()
            # and back, with as many fixed at once (resolved)
            m = self.marks()
            fixed = names[-k:]
            ts.write_inventory(self.inv, [ts.storage(n, n in fixed)
                                          for n in names])
            self.scan(integ)
            expect = {st_fid(x): ("details_updated", "finding.updated")
                      for x in retag}
            expect.update({st_fid(x): ("resolved", "finding.resolved")
                           for x in fixed})
            self.assert_effects(m, expect)
            self.check_rows()
            ts.write_inventory(self.inv, tb.storages(names))
            self.scan(integ)
            self.check_rows()


class T364ChangedFailedScan(ChBase):
    """A scan whose connector fails after a rescan with few changes:
    nothing resolved, nothing written, the counters as they were."""

    def test_failed_resolves_nothing(self):
        names = ["cf-%03d" % i for i in range(300)]
        ts.write_inventory(self.inv, tb.storages(names))
        integ = self.integration()
        self.scan(integ)
        inv = [ts.storage(n, False, "qa" if n in (names[3], names[280])
                          else "prod") for n in names]
        ts.write_inventory(self.inv, inv)
        self.scan(integ)
        self.check_rows()
        before = self.rows()
        m = self.marks()
        # 290 resources gone, but a malformed file: the scan fails.
        ts.write_inventory(self.inv, inv[:10])
        with open(os.path.join(self.inv, "zz-broken.json"), "w") as f:
            f.write('{"value": [ {"id": ')
        p = tb.scan_env(integ)
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.rows(), before)
        self.assert_effects(m, {})
        self.check_rows()
