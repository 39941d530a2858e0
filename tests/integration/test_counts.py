"""test_counts.py: the figures GET /risk-score, GET /posture-summary and the
lists' `total` read from counters that triggers keep (finding_counts,
finding_resources, finding_tenant_counts, list_counts, and the
finding_rule_counts the compliance status reads) stay equal to a
straight recount of the rows, through every path that changes findings,
events, audit entries, scans, webhooks, deliveries and integrations: the
API's lifecycle actions and bulk, imports (detect, reconcile resolve and
reopen), expiry, scans (detect, resolve, reopen), the set-based writes a
batched scanner makes (multi-row INSERT ... ON DUPLICATE KEY UPDATE,
UPDATE ... WHERE id IN (...)), deletes, and vigilctl events prune. Each
check compares the counters and the API's answers with SQL over the rows.

Run by run.py, which sets STACK here (and in the modules used below).
"""

import concurrent.futures
import os
import threading
import unittest

import test_api as api
import test_findings as tf
import test_scanner as ts
from test_api import auth, new_key, new_tenant
from test_findings import FBase, entry, eid, import_findings, q

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4

SEVS = ("critical", "high", "medium", "low", "info")
STATES = ("open", "accepted", "resolved", "snoozed", "dismissed", "muted")


def setUpModule():
    global STACK
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    tf.STACK = ts.STACK = STACK
    tf.setUpModule()
    ts.setUpModule()


def tearDownModule():
    tf.tearDownModule()
    ts.tearDownModule()


def one(sql):
    return STACK.query(sql)[0][0]


def num(sql):
    return int(one(sql) or 0)


def rows(sql):
    """The rows of sql in Python's order (the counters' state and
    severity columns are not the findings' ENUMs)."""
    return sorted(STACK.query(sql))


class CBase(FBase):
    """A tenant of its own, with the helpers of test_findings, and the
    check of every kept figure against a recount."""

    def call(self, path, key=None):
        base = STACK.urls()["nginx"]
        r = api.request(base, "GET", "/api/v1" + path,
                        headers=auth(key or self.key))
        self.assertEqual(r.status, 200, r)
        return r.json()

    def assert_counters(self, tid=None):
        """The counter tables against GROUP BY over the rows."""
        t = q(tid or self.tenant_id)
        self.assertEqual(
            STACK.query("SELECT state, severity, category, subscription_id,"
                        " environment, n FROM finding_counts WHERE "
                        "tenant_id = %s AND n <> 0 ORDER BY 1, 2, 3, 4, 5"
                        % t),
            STACK.query("SELECT state, severity, category, subscription_id,"
                        " environment, COUNT(*) FROM findings WHERE "
                        "tenant_id = %s GROUP BY 1, 2, 3, 4, 5 "
                        "ORDER BY 1, 2, 3, 4, 5" % t))
        self.assertEqual(
            STACK.query("SELECT HEX(resource_hash), n FROM "
                        "finding_resources WHERE tenant_id = %s ORDER BY 1"
                        % t),
            STACK.query("SELECT HEX(UNHEX(SHA2(resource_id, 256))), "
                        "COUNT(*) FROM findings WHERE tenant_id = %s AND "
                        "state = 'open' GROUP BY 1 ORDER BY 1" % t))
        # The open findings per due day (0034; test_sla.py).
        self.assertEqual(
            STACK.query("SELECT due_day, severity, n FROM finding_due_counts"
                        " WHERE tenant_id = %s AND n <> 0 ORDER BY 1, 2" % t),
            STACK.query("SELECT DATE(due_at), severity, COUNT(*) FROM "
                        "findings WHERE tenant_id = %s AND due_at IS NOT "
                        "NULL GROUP BY 1, 2 ORDER BY 1, 2" % t))
        self.assertEqual(
            STACK.query("SELECT rule_id, state, n FROM finding_rule_counts "
                        "WHERE tenant_id = %s AND n <> 0 ORDER BY 1, 2" % t),
            STACK.query("SELECT rule_id, state, COUNT(*) FROM findings "
                        "WHERE tenant_id = %s GROUP BY 1, 2 ORDER BY 1, 2"
                        % t))
        if getattr(self, "before_0055", False):
            return CBase.assert_counters_after(self, t)
        # The metadata and tag totals of GET /findings (0055): per
        # value (resource_type, resource_group and region compare
        # case-insensitively, as their columns do), state and severity,
        # and per tag entry, state and severity.
        for dim, col in ((1, "resource_type"), (2, "resource_group"),
                         (3, "region")):
            # (no subTest: a mutant of test_trigmerge must raise here)
            self.assertEqual(
                rows("SELECT LOWER(value), state, severity, n FROM "
                     "finding_meta_counts WHERE tenant_id = %s AND "
                     "dim = %d AND n <> 0" % (t, dim)),
                rows("SELECT LOWER(%s), state, severity, COUNT(*) "
                     "FROM findings WHERE tenant_id = %s "
                     "GROUP BY 1, 2, 3" % (col, t)), col)
        self.assertEqual(
            rows("SELECT HEX(value_bin), state, severity, n FROM "
                 "finding_meta_counts WHERE tenant_id = %s AND dim = 4 "
                 "AND n <> 0" % t),
            rows("SELECT HEX(source), state, severity, COUNT(*) FROM "
                 "findings WHERE tenant_id = %s GROUP BY 1, 2, 3" % t))
        self.assertEqual(
            num("SELECT COUNT(*) FROM finding_meta_counts WHERE tenant_id "
                "= %s AND (n < 0 OR (dim < 4 AND value_bin <> '') OR "
                "(dim = 4 AND value <> ''))" % t), 0)
        self.assertEqual(
            rows("SELECT HEX(tag_key), HEX(tag_value), state, severity, n "
                 "FROM finding_tag_counts WHERE tenant_id = %s AND n <> 0"
                 % t),
            rows("SELECT HEX(g.tag_key), HEX(g.tag_value), f.state, "
                 "f.severity, COUNT(*) FROM finding_tags g JOIN findings f "
                 "ON f.seq = g.finding_seq WHERE g.tenant_id = %s "
                 "GROUP BY 1, 2, 3, 4" % t))
        self.assertEqual(
            num("SELECT COUNT(*) FROM finding_tag_counts WHERE tenant_id "
                "= %s AND n < 0" % t), 0)
        # Each tag entry carries its finding's state and severity (0056).
        self.assertEqual(
            rows("SELECT f.id, g.tag_key, g.finding_state, "
                 "g.finding_severity FROM finding_tags g JOIN findings f "
                 "ON f.seq = g.finding_seq WHERE g.tenant_id = %s AND NOT "
                 "(g.finding_state = f.state AND g.finding_severity = "
                 "f.severity)" % t), [])
        CBase.assert_counters_after(self, t)

    def assert_counters_after(self, t):
        self.assertEqual(
            num("SELECT COALESCE(SUM(open_resources), 0) FROM "
                "finding_tenant_counts WHERE tenant_id = %s" % t),
            num("SELECT COUNT(DISTINCT resource_id) FROM findings WHERE "
                "tenant_id = %s AND state = 'open'" % t))
        for lst, sql in (
                ("events", "SELECT type, COUNT(*) FROM events WHERE "
                 "tenant_id = %s GROUP BY 1 ORDER BY 1"),
                ("audit", "SELECT action, COUNT(*) FROM audit_log WHERE "
                 "tenant_id = %s GROUP BY 1 ORDER BY 1"),
                ("scans", "SELECT '', COUNT(*) FROM scans WHERE "
                 "tenant_id = %s HAVING COUNT(*) > 0"),
                ("deliveries", "SELECT webhook_id, COUNT(*) FROM deliveries"
                 " WHERE tenant_id = %s GROUP BY 1 ORDER BY 1"),
                ("webhooks", "SELECT '', COUNT(*) FROM webhooks WHERE "
                 "tenant_id = %s AND deleted_at IS NULL AND "
                 "kind = 'webhook' HAVING COUNT(*) > 0"),
                ("channels", "SELECT '', COUNT(*) FROM webhooks WHERE "
                 "tenant_id = %s AND deleted_at IS NULL HAVING COUNT(*) > 0"),
                ("integrations", "SELECT '', COUNT(*) FROM integrations "
                 "WHERE tenant_id = %s AND deleted_at IS NULL "
                 "HAVING COUNT(*) > 0")):
            with self.subTest(list=lst):
                self.assertEqual(
                    STACK.query("SELECT k, n FROM list_counts WHERE "
                                "tenant_id = %s AND list = %s AND n <> 0 "
                                "ORDER BY 1" % (t, q(lst))),
                    STACK.query(sql % t))

    def assert_answers(self, key=None):
        """What the API answers against the same recount."""
        t = q(self.tenant_id)
        openw = "tenant_id = %s AND state = 'open'" % t
        by_sev = dict(STACK.query("SELECT severity, COUNT(*) FROM findings "
                                  "WHERE %s GROUP BY 1" % openw))
        sev = {s: int(by_sev.get(s, 0)) for s in SEVS}
        total = sum(sev.values())
        top = [r[0] for r in STACK.query(
            "SELECT id FROM findings WHERE %s ORDER BY severity, "
            "detected_at, seq LIMIT 5" % openw)]
        risk = self.call("/risk-score", key)
        self.assertEqual(risk["severity_counts"], sev)
        self.assertEqual(risk["total_findings"], total)
        self.assertEqual([x["id"] for x in risk["top_risks"]], top)
        m = self.call("/posture-summary", key)["metrics"]
        self.assertEqual(m["severity_counts"], sev)
        self.assertEqual(m["total_findings"], total)
        by_state = dict(STACK.query("SELECT state, COUNT(*) FROM findings "
                                    "WHERE tenant_id = %s GROUP BY 1" % t))
        self.assertEqual(m["state_counts"], {s: int(by_state.get(s, 0))
                                             for s in STATES})
        self.assertEqual(
            [[c["category"], str(c["open"])] for c in m["categories"]],
            STACK.query("SELECT category, COUNT(*) AS n FROM findings "
                        "WHERE %s GROUP BY category ORDER BY n DESC, "
                        "category LIMIT 100" % openw))
        self.assertEqual(m["subscriptions_affected"], num(
            "SELECT COUNT(DISTINCT NULLIF(subscription_id, '')) FROM "
            "findings WHERE %s" % openw))
        self.assertEqual(m["resources_affected"], num(
            "SELECT COUNT(DISTINCT resource_id) FROM findings WHERE %s"
            % openw))
        self.assertEqual(self.call("/events?limit=1", key)["total"],
                         num("SELECT COUNT(*) FROM events WHERE "
                             "tenant_id = %s" % t))
        self.assertEqual(
            self.call("/events?limit=1&type=finding.*", key)["total"],
            num("SELECT COUNT(*) FROM events WHERE tenant_id = %s AND "
                "type LIKE 'finding.%%'" % t))
        self.assertEqual(
            self.call("/events?limit=1&type=finding.resolved", key)["total"],
            num("SELECT COUNT(*) FROM events WHERE tenant_id = %s AND "
                "type = 'finding.resolved'" % t))
        self.assertEqual(self.call("/audit?limit=1", key)["total"],
                         num("SELECT COUNT(*) FROM audit_log WHERE "
                             "tenant_id = %s" % t))
        self.assertEqual(self.call("/scans?limit=1", key)["total"],
                         num("SELECT COUNT(*) FROM scans WHERE "
                             "tenant_id = %s" % t))
        self.assertEqual(self.call("/webhooks?limit=1", key)["total"],
                         num("SELECT COUNT(*) FROM webhooks WHERE "
                             "tenant_id = %s AND deleted_at IS NULL AND "
                             "kind = 'webhook'" % t))
        self.assertEqual(self.call("/integrations?limit=1", key)["total"],
                         num("SELECT COUNT(*) FROM integrations WHERE "
                             "tenant_id = %s AND deleted_at IS NULL" % t))
        for state in ("open", "all", "accepted,snoozed"):
            states = STATES if state == "all" else state.split(",")
            self.assertEqual(
                self.call("/findings?limit=1&state=" + state, key)["total"],
                num("SELECT COUNT(*) FROM findings WHERE tenant_id = %s "
                    "AND state IN (%s)" % (t, ", ".join(q(s)
                                                         for s in states))))

    def check(self, key=None):
        self.assert_counters()
        self.assert_answers(key)


class T60CountsLifecycle(CBase):
    """Imports and the API's actions."""

    def test_1_import_actions_expiry(self):
        base = STACK.urls()["nginx"]
        self.check()
        # Two findings on one resource, others on their own.
        shared = entry("critical", category="network", sub="sub-a")
        twin = dict(entry("high", category="identity", sub="sub-b",
                          rule="kv-purge"),
                    resource_id=shared["resource_id"])
        rest = [entry(s, category=c, sub=sb, env=e) for s, c, sb, e in (
            ("medium", "storage", "sub-a", "PROD"),
            ("low", "network", "sub-c", "DEV"),
            ("info", "compliance", "sub-d", "PROD"),
            ("high", "network", "sub-a", "STAGING"),
            ("critical", "storage", "sub-b", "PROD"))]
        everything = [shared, twin] + rest
        import_findings(self.tenant, everything, reconcile=False)
        self.check()
        ids = [eid(e) for e in everything]
        # One of the two on the shared resource goes: the resource stays.
        self.assert_detail(self.act(base, ids[0], "resolve", {
            "evidence": "patched"}), ids[0], "resolved")
        self.check()
        self.assert_detail(self.act(base, ids[1], "accept", {
            "justification": "later", "expires_at": tf.future(3600)}),
            ids[1], "accepted")
        self.check()
        self.assert_detail(self.act(base, ids[2], "snooze", {"days": 3}),
                           ids[2], "snoozed")
        self.assert_detail(self.act(base, ids[3], "dismiss", {
            "reason": "test"}), ids[3], "dismissed")
        r = api.request(base, "PATCH", "/api/v1/findings/" + ids[4],
                        {"assignee": "a@example.com"}, auth(self.wkey))
        self.assertEqual(r.status, 200, r)
        self.check()
        r = api.request(base, "POST", "/api/v1/findings/bulk", {
            "action": "resolve", "ids": ids[4:],
            "evidence": "bulk"}, auth(self.wkey))
        self.assertEqual(r.status, 200, r)
        self.check()
        # Expiry: the acceptance and the snooze lapse.
        STACK.sql("UPDATE findings SET accepted_until = UTC_TIMESTAMP() - "
                  "INTERVAL 5 SECOND WHERE tenant_id = %s AND id = %s" % (
                      q(self.tenant_id), q(ids[1])), database="vigil")
        STACK.sql("UPDATE findings SET snoozed_until = UTC_TIMESTAMP() - "
                  "INTERVAL 5 SECOND WHERE tenant_id = %s AND id = %s" % (
                      q(self.tenant_id), q(ids[2])), database="vigil")
        STACK.vigilctl("findings", "expire")
        self.assertEqual(self.get(base, ids[1])["state"], "open")
        self.assertEqual(self.get(base, ids[2])["state"], "open")
        self.check()
        # A full import that leaves some out resolves them (reconcile),
        # and one that brings them back reopens them.
        import_findings(self.tenant, [twin] + rest[:2])
        self.check()
        import_findings(self.tenant, everything)
        self.check()

    def test_2_set_based_writes(self):
        """What a batched scanner does: many rows per statement."""
        t = self.tenant_id
        cols = ("tenant_id, id, rule_id, provider, subscription_id, "
                "environment, resource_id, title, severity, category, "
                "description, recommendation, evidence, fingerprint, state, "
                "detected_at, updated_at, last_seen_at")

        def row(i, res, sev, state):
            return ("(%s, 'batch-%d', 'r', 'azure', 'sub-x', 'PROD', %s, "
                    "'t', %s, 'network', 'd', 'r', '{}', 'f', %s, "
                    "UTC_TIMESTAMP(), UTC_TIMESTAMP(), UTC_TIMESTAMP())"
                    % (q(t), i, q("/r/batch-%d" % res), q(sev), q(state)))

        def upsert(rows):
            STACK.sql("INSERT INTO findings (%s) VALUES %s ON DUPLICATE KEY"
                      " UPDATE state = VALUES(state), severity = "
                      "VALUES(severity), resource_id = VALUES(resource_id),"
                      " last_seen_at = VALUES(last_seen_at)"
                      % (cols, ", ".join(rows)), database="vigil")
        upsert([row(i, i // 2, SEVS[i % 5], "open") for i in range(20)])
        self.check()
        # New rows and changed rows in one statement; some unchanged.
        upsert([row(i, i // 3, SEVS[(i + 1) % 5],
                    "resolved" if i % 4 == 0 else "open")
                for i in range(10, 30)])
        self.check()
        ids = ", ".join(q("batch-%d" % i) for i in range(0, 30, 3))
        STACK.sql("UPDATE findings SET state = 'resolved' WHERE "
                  "tenant_id = %s AND id IN (%s)" % (q(t), ids),
                  database="vigil")
        self.check()
        STACK.sql("UPDATE findings SET state = 'open', last_seen_at = "
                  "UTC_TIMESTAMP() WHERE tenant_id = %s AND id IN (%s)"
                  % (q(t), ids), database="vigil")
        self.check()
        # Unchanged but touched: last_seen_at only.
        STACK.sql("UPDATE findings SET last_seen_at = UTC_TIMESTAMP() "
                  "WHERE tenant_id = %s" % q(t), database="vigil")
        self.check()
        STACK.sql("DELETE FROM findings WHERE tenant_id = %s AND id IN (%s)"
                  % (q(t), ids), database="vigil")
        self.check()

    def test_3_since_totals(self):
        """With since, the totals count what is at or after it."""
        import_findings(self.tenant, [entry("high"), entry("low")],
                        reconcile=False)
        t = q(self.tenant_id)
        cut = one("SELECT DATE_FORMAT(MIN(created_at), '%Y-%m-%dT%H:%i:%sZ')"
                  " FROM events WHERE tenant_id = " + t)
        self.assertEqual(
            self.call("/events?limit=1&since=" + cut)["total"],
            num("SELECT COUNT(*) FROM events WHERE tenant_id = %s AND "
                "created_at >= %s" % (t, q(cut.replace("T", " ")[:-1]))))
        self.assertEqual(
            self.call("/audit?limit=1&since=" + cut)["total"],
            num("SELECT COUNT(*) FROM audit_log WHERE tenant_id = %s AND "
                "at >= %s" % (t, q(cut.replace("T", " ")[:-1]))))
        self.assertEqual(
            self.call("/findings?limit=1&state=all&"
                      "since=2000-01-01T00:00:00Z")["total"],
            num("SELECT COUNT(*) FROM findings WHERE tenant_id = %s" % t))
        self.assertEqual(
            self.call("/findings?limit=1&since=2999-01-01T00:00:00Z"),
            {"findings": [], "total": 0, "has_more": False,
             "next_cursor": None})

    def test_4_migration_backfills(self):
        """0014, 0015 and 0035 count the rows present when they run (and
        run again safely): counters wiped, then the migrations again."""
        import_findings(self.tenant, [entry("critical"), entry("medium")],
                        reconcile=False)
        t = q(self.tenant_id)
        for table in ("finding_resources", "finding_tenant_counts",
                      "list_counts", "finding_rule_counts",
                      "finding_meta_counts", "finding_tag_counts"):
            STACK.sql("DELETE FROM %s WHERE tenant_id = %s" % (table, t),
                      database="vigil")
        # 0032 redefines 0015's webhook triggers (webhooks and channels
        # counted apart): run again after it, as it would be in order
        STACK.sql("DELETE FROM schema_migrations WHERE version IN "
                  "('0014', '0015', '0032', '0035')", database="vigil")
        r = STACK.vigilctl("migrate")
        self.assertIn("0014_posture_counts.sql", r.stdout)
        self.assertIn("0015_list_counts.sql", r.stdout)
        self.assertIn("0032_channels.sql", r.stdout)
        self.assertIn("0035_finding_rule_counts.sql", r.stdout)
        # 0055 restates the triggers 0014 put back, and recounts its own
        self.assertIn("0055_finding_meta_counts.sql", r.stdout)
        self.check()


class T388CountsSideBySide(CBase):
    """Actions on different findings of one tenant from many clients at
    once: findings of one kind, and several open findings
    on one resource, change the same counter rows at once, while a batch
    import (which holds the tenant's row exclusively) writes other
    findings of the tenant. Every counter equals its recount after, no
    request failed, and the audit chain verifies."""

    def test_concurrent_actions_and_import(self):
        base = STACK.urls()["nginx"]
        kinds = [("high", "network", "sub-a", "PROD"),
                 ("medium", "storage", "sub-b", "DEV")]
        everything = []
        for k in range(48):
            sev, cat, sub, env = kinds[k % 2]
            e = entry(sev, category=cat, sub=sub, env=env,
                      rule="t388-%d" % (k % 3))
            # Three findings per resource: closing one of them keeps the
            # resource open, closing all three closes it.
            if k % 3:
                e["resource_id"] = everything[-1]["resource_id"]
            everything.append(e)
        import_findings(self.tenant, everything, reconcile=False)
        self.check()
        ids = [eid(e) for e in everything]
        cycle = [("accept", {"justification": "t388"}),
                 ("resolve", None), ("snooze", {"days": 2}),
                 ("dismiss", {"reason": "t388"})]
        plan = [(fid,) + cycle[i % 4] for i, fid in enumerate(ids)]
        later = [entry("low", category="network", rule="t388-late")
                 for _ in range(30)]
        barrier = threading.Barrier(9)

        def go(k):
            barrier.wait()
            return [(fid, action, self.act(base, fid, action, body))
                    for fid, action, body in plan[k::8]]

        def load():
            barrier.wait()
            return import_findings(self.tenant, later, reconcile=False)

        with concurrent.futures.ThreadPoolExecutor(9) as ex:
            imp = ex.submit(load)
            results = [x for f in [ex.submit(go, k) for k in range(8)]
                       for x in f.result()]
            self.assertEqual(imp.result().returncode, 0)
        for fid, action, r in results:
            self.assertEqual(r.status, 200, (fid, action, r))
        # PATCH and bulk side by side too: they change no counter but
        # write history, events and entries.
        def patch(fid):
            return api.request(base, "PATCH", "/api/v1/findings/" + fid,
                               {"notes": "t388"}, auth(self.wkey))

        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            rs = list(ex.map(patch, ids[:16]))
        self.assertEqual([r.status for r in rs], [200] * 16, rs)
        r = api.request(base, "POST", "/api/v1/findings/bulk", {
            "action": "resolve", "ids": [eid(e) for e in later],
            "evidence": "t388"}, auth(self.wkey))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["succeeded"], len(later), r)
        self.check()
        r = STACK.vigilctl("audit", "verify", "--tenant", self.tenant)
        self.assertTrue(r.stdout.startswith("ok: "), r.stdout)


class T61CountsScans(ts.ScanBase, CBase):
    """Scans: detect, resolve, reopen; integrations created and deleted;
    webhooks, deliveries and their pruning."""

    @classmethod
    def setUpClass(cls):
        ts.ScanBase.setUpClass.__func__(cls)
        cls.wkey = cls.key

    def test_1_scans(self):
        st1 = ts.storage("cnt1bad", False)
        nsg1 = ts.nsg("cnt-nsg1")
        nsg2 = ts.nsg("cnt-nsg2")
        ts.write_inventory(self.inv, [st1, nsg1, nsg2])
        integ = self.integration()
        self.check()
        s = self.scan(integ)
        self.assertEqual(s["status"], "completed", s)
        self.check()
        # Two fixed: the scanner resolves them.
        ts.write_inventory(self.inv, [ts.storage("cnt1bad", True), nsg1,
                                      ts.nsg("cnt-nsg2", port="3389")])
        self.scan(integ)
        self.assertEqual(self.finding(ts.fid("t-storage-secure-transfer",
                                             st1["id"]))["state"],
                         "resolved")
        self.check()
        # Back again: reopened.
        ts.write_inventory(self.inv, [st1, nsg1, nsg2])
        self.scan(integ)
        self.assertEqual(self.finding(ts.fid("t-storage-secure-transfer",
                                             st1["id"]))["state"], "open")
        self.check()
        other = self.integration(name="second")
        self.check()
        r = self.req("DELETE", "/api/v1/integrations/" + other)
        self.assertIn(r.status, (200, 204), r)
        self.check()

    def test_2_webhooks_deliveries_prune(self):
        hooks = []
        for i in range(2):
            r = self.req("POST", "/api/v1/webhooks", {
                "url": "https://93.184.215.14/cnt-%d" % i,
                "events": ["*"]})
            self.assertEqual(r.status, 201, r)
            hooks.append(r.json()["webhook_id"])
        self.check()
        t = self.tenant_id
        # Deliveries as vigil-spool makes them (its fan-out statement's
        # shape; ids of the documented form, as every answer is checked
        # against the OpenAPI document), for every event of the tenant and both webhooks; the
        # first webhook's twice (the second time, every row a duplicate).
        for h in hooks + hooks[:1]:
            STACK.sql("INSERT INTO deliveries (id, tenant_id, webhook_id, "
                      "event_id, event_seq, status, attempts, "
                      "next_attempt_at, created_at, updated_at) "
                      "SELECT CONCAT('dlv_0', LPAD(seq, 12, '0'), %s), "
                      "tenant_id, %s, "
                      "id, seq, 'succeeded', 1, UTC_TIMESTAMP(), "
                      "UTC_TIMESTAMP(), UTC_TIMESTAMP() FROM events "
                      "WHERE tenant_id = %s ON DUPLICATE KEY UPDATE "
                      "status = deliveries.status"
                      % (q(h[-13:]), q(h), q(t)), database="vigil")
        self.check()
        for h in hooks:
            self.assertEqual(
                self.call("/webhooks/%s/deliveries?limit=1" % h)["total"],
                num("SELECT COUNT(*) FROM deliveries WHERE webhook_id = %s"
                    % q(h)))
        r = self.req("DELETE", "/api/v1/webhooks/" + hooks[1])
        self.assertIn(r.status, (200, 204), r)
        self.check()
        # Pruning: everything old and finished goes, in batches.
        STACK.sql("UPDATE events SET created_at = UTC_TIMESTAMP() - "
                  "INTERVAL 40 DAY, dispatched = 1 WHERE tenant_id = %s"
                  % q(t), database="vigil")
        STACK.sql("UPDATE deliveries SET updated_at = UTC_TIMESTAMP() - "
                  "INTERVAL 40 DAY WHERE tenant_id = %s" % q(t),
                  database="vigil")
        STACK.vigilctl("events", "prune", "--days", "30")
        self.assertEqual(num("SELECT COUNT(*) FROM deliveries WHERE "
                             "tenant_id = %s" % q(t)), 0)
        self.check()
        # The prune only deletes events below the oldest one not yet
        # fanned out, of any tenant (other tests leave some): its DELETE,
        # in batches, over this tenant's alone.
        before = num("SELECT COUNT(*) FROM events WHERE tenant_id = %s"
                     % q(t))
        self.assertGreater(before, 3)
        while STACK.sql("DELETE FROM events WHERE tenant_id = %s AND "
                        "created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY "
                        "AND dispatched = 1 AND NOT EXISTS (SELECT 1 FROM "
                        "deliveries d WHERE d.event_id = events.id) "
                        "LIMIT 3; SELECT ROW_COUNT()" % q(t),
                        database="vigil").stdout.strip() == "3":
            pass
        self.assertEqual(num("SELECT COUNT(*) FROM events WHERE "
                             "tenant_id = %s" % q(t)), 0)
        self.check()
        self.assertEqual(
            self.call("/webhooks/%s/deliveries?limit=1" % hooks[0])["total"],
            0)
