"""test_txn.py: every family of write routes replayed after a refused
commit, with the user-visible result of one run.

Galera refuses a commit that lost certification (error 1213) where a single
server would have committed it; a deadlock or a lock wait timeout rolls a
transaction back on any server. Vigil runs each write transaction in
db_tx_run, which rolls back and runs it again (DB_ATTEMPTS times in all)
and answers 503 with Retry-After when the attempts run out. Debug builds
(--enable-debug, as ./dev test and this suite build) have a hook to make
that happen at will: the request header

    X-Vigil-Debug-Conflicts: N

has db_tx_run refuse each of that request's transactions at its first N
commits, rolling back as a certification failure would (in vigil-scan,
vigil-spool and vigilctl the environment variable VIGIL_DEBUG_CONFLICTS=N
does the same). A release build ignores both.

For each family (finding actions and PATCH, alert ingest one and in a
batch, cases and comments, webhooks and channels, settings, API keys, mute
rules, reports, observable suppressions, Idempotency-Key, the spooler's
deliveries) the tests check that with N = 2 the answer is the one of a
single run and that exactly one row, history entry, event and audit entry
was written, and that with N = 5 (the attempts run out) the answer is 503
with Retry-After and nothing was written; then vigilctl audit verify. Run
by run.py, which sets STACK here.
"""

import json
import os
import subprocess
import threading
import time
import unittest

import test_api as api
from test_api import auth, new_key

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4

ATTEMPTS = 5        # DB_ATTEMPTS in src/db/db.h
REFUSED = "commit refused (VIGIL_DEBUG_CONFLICTS"


def setUpModule():
    global STACK, WORKERS
    if STACK is None:
        STACK = api.STACK
        WORKERS = api.WORKERS
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")


def q(s):
    return "'%s'" % str(s).replace("\\", "\\\\").replace("'", "''")


def conflicts(n, headers=None):
    h = {"X-Vigil-Debug-Conflicts": str(n)}
    h.update(headers or {})
    return h


def refusals():
    """How many commits the hook has refused in the pool so far."""
    try:
        with open(STACK.logfile("vigil-api.log"), errors="replace") as f:
            return f.read().count(REFUSED)
    except OSError:
        return 0


class TxBase(api.Base):
    """A tenant of its own, requests through nginx to the pool."""

    def setUp(self):
        self.base = STACK.urls()["nginx"]

    def call(self, method, path, body=None, n=0, key=None, headers=None):
        h = dict(auth(key or self.key))
        h.update(headers or {})
        if n:
            h = conflicts(n, h)
        return api.request(self.base, method, "/api/v1" + path, body, h)

    def count(self, table, where=""):
        return int(STACK.query(
            "SELECT COUNT(*) FROM %s WHERE tenant_id = %s%s" % (
                table, q(self.tenant_id),
                (" AND " + where) if where else ""))[0][0])

    def snapshot(self, tables):
        return {t: self.count(*t) if isinstance(t, tuple) else
                self.count(t) for t in tables}

    def assert_once(self, method, path, body, status, tables, expect,
                    n=2, headers=None):
        """The request with n refused commits answers status, and tables
        (names, or (name, where) pairs) grew by expect (a dict, default
        1 each); the hook refused n commits. Returns the response."""
        before = self.snapshot(tables)
        r0 = refusals()
        r = self.call(method, path, body, n=n, headers=headers)
        self.assertEqual(r.status, status, r)
        after = self.snapshot(tables)
        self.assertEqual({t: after[t] - before[t] for t in tables},
                         {t: expect.get(t, 1) for t in tables}, r)
        self.assertGreaterEqual(refusals() - r0, n,
                                "the commits were not refused: is this "
                                "an --enable-debug build?")
        return r

    def assert_unavailable(self, method, path, body, tables, headers=None):
        """With every attempt refused: 503 with Retry-After, nothing
        written (never 500)."""
        before = self.snapshot(tables)
        r = self.call(method, path, body, n=ATTEMPTS, headers=headers)
        self.assert_error(r, 503, "service_unavailable")
        self.assertEqual(r.header("Retry-After"), "1", r)
        self.assertEqual(self.snapshot(tables), before, r)
        return r

    def verify_audit(self):
        r = STACK.vigilctl("audit", "verify", "--tenant", self.tenant,
                           check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


def import_finding(tenant, n):
    entries = []
    for i in range(n):
        entries.append({
            "rule_id": "nsg-ssh-internet", "provider": "azure",
            "resource_id": "/subscriptions/sub-t/resourceGroups/rg/"
            "providers/Microsoft.Network/networkSecurityGroups/"
            "nsg-txn-%d-%d-%d" % (os.getpid(), time.time_ns() % 10**9, i),
            "title": "SSH open", "severity": "medium",
            "category": "network", "description": "d",
            "recommendation": "r", "subscription_id": "sub-t",
            "environment": "PROD", "layer": "infrastructure",
            "framework": "CIS", "evidence": {"port": 22}})
    path = os.path.join(STACK.root, "txn-import-%d.json" % time.time_ns())
    with open(path, "w") as f:
        json.dump({"findings": entries}, f)
    STACK.vigilctl("findings", "import", "--tenant", tenant,
                   "--no-reconcile", path)
    os.unlink(path)


class T200CommitRefused(TxBase):
    """The hook is there (a debug build) and a write whose every attempt is
    refused answers 503 with Retry-After, having written nothing; the
    same request then succeeds once."""

    def test_attempts_run_out(self):
        tables = ("cases", "case_timeline", "events", "audit_log")
        r = self.assert_unavailable("POST", "/cases", {
            "title": "refused", "severity": "low"}, tables)
        self.assertIn("try again", r.json()["error"]["message"])
        self.assert_once("POST", "/cases", {"title": "then once",
                                            "severity": "low"}, 201,
                         tables, {}, n=ATTEMPTS - 1)
        self.verify_audit()


class T201FindingActions(TxBase):
    """A finding action and a PATCH replayed: one history entry, one event,
    one audit entry, the answer of one run."""

    def test_action_and_patch(self):
        import_finding(self.tenant, 3)
        fids = [r[0] for r in STACK.query(
            "SELECT id FROM findings WHERE tenant_id = %s ORDER BY id" %
            q(self.tenant_id))]
        self.assertEqual(len(fids), 3)
        tables = lambda fid: (("finding_history", "finding_id = %s" %
                               q(fid)), "events", "audit_log")
        r = self.assert_once("POST", "/findings/%s/accept" % fids[0],
                             {"justification": "replayed"}, 200,
                             tables(fids[0]), {})
        self.assertEqual(r.json()["state"], "accepted", r)
        r = self.assert_once("PATCH", "/findings/" + fids[1],
                             {"notes": "replayed"}, 200, tables(fids[1]), {})
        self.assertEqual(r.json()["notes"], "replayed", r)
        self.assert_unavailable("POST", "/findings/%s/resolve" % fids[2],
                                None, tables(fids[2]))
        self.assertEqual(STACK.query(
            "SELECT state FROM findings WHERE tenant_id = %s AND id = %s" %
            (q(self.tenant_id), q(fids[2])))[0][0], "open")
        self.verify_audit()


def alert(n, tag):
    return {"source": "txn", "external_id": "txn-%s-%d-%d" % (
        tag, n, time.time_ns()), "severity": "high",
        "title": "replayed %d" % n, "detected_at": "2026-06-02T09:14:00Z",
        "asset": {"hostname": "WS-%d" % n},
        "observables": [{"type": "ip", "value": "203.0.113.%d" % (n + 1)}]}


class T202AlertIngest(TxBase):
    """An alert and a batch ingested under refused commits: each alert
    once, its one alert.created event and history entry, one audit entry
    for the call."""

    def test_single_and_batch(self):
        tables = ("alerts", ("events", "type = 'alert.created'"),
                  "alert_history", "audit_log")
        r = self.assert_once("POST", "/alerts", alert(1, "one"), 201, tables,
                             {})
        self.assertFalse(r.json().get("deduplicated"), r)
        batch = {"alerts": [alert(i, "b") for i in range(3)]}
        r = self.assert_once("POST", "/alerts/batch", batch, 200, tables,
                             {"alerts": 3, ("events",
                                            "type = 'alert.created'"): 3,
                              "alert_history": 3})
        self.assertEqual([x["status"] for x in r.json()["results"]],
                         [201] * 3, r)
        self.assert_unavailable("POST", "/alerts", alert(9, "no"), tables)
        self.verify_audit()


class T203Cases(TxBase):
    """A case opened and commented on under refused commits: one case, one
    timeline entry, one event and one audit entry each."""

    def test_case_and_comment(self):
        tables = ("cases", "case_timeline", "events", "audit_log")
        r = self.assert_once("POST", "/cases", {"title": "Replayed",
                                                "severity": "high"}, 201,
                             tables, {})
        cid = r.json()["case_id"]
        r = self.assert_once("POST", "/cases/%s/comments" % cid,
                             {"body": "once"}, 201,
                             ("case_timeline", "events", "audit_log"), {})
        self.assertEqual(r.json()["kind"], "commented", r)
        self.assert_unavailable("POST", "/cases/%s/comments" % cid,
                                {"body": "never"},
                                ("case_timeline", "events", "audit_log"))
        self.verify_audit()


class T204WebhooksChannels(TxBase):
    """A webhook and a channel created under refused commits: one row and
    one audit entry each, and the secret shown is the stored one."""

    def test_webhook_and_channel(self):
        tables = ("webhooks", "audit_log")
        r = self.assert_once("POST", "/webhooks", {
            "url": "https://93.184.215.14/txn", "events": ["*"]}, 201,
            tables, {})
        wid = r.json()["webhook_id"]
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM webhooks WHERE id = %s" % q(wid))[0][0],
            "1")
        self.assert_once("POST", "/channels", {
            "type": "webhook", "name": "txn",
            "config": {"url": "https://93.184.215.14/txn-channel"}},
            201, tables, {})
        self.assert_unavailable("DELETE", "/webhooks/" + wid, None,
                                ("audit_log",))
        self.assertEqual(self.call("GET", "/webhooks/" + wid).status, 200)
        self.assert_once("DELETE", "/webhooks/" + wid, None, 200,
                         ("audit_log",), {})
        self.verify_audit()


class T205SettingsKeys(TxBase):
    """Settings and an API key under refused commits: one audit entry, one
    key, and the key shown works."""

    def test_settings_and_key(self):
        r = self.assert_once("PUT", "/settings", {"scan_interval_minutes":
                                                 90}, 200, ("audit_log",),
                             {})
        self.assertEqual(r.json()["scan_interval_minutes"], 90, r)
        r = self.assert_once("POST", "/api-keys", {"name": "txn",
                                                   "scopes": ["read"]}, 201,
                             ("api_keys", "audit_log"), {})
        k = r.json()["key"]
        self.assertEqual(api.request(self.base, "GET", "/api/v1/findings",
                                     headers=auth(k)).status, 200)
        self.assert_unavailable("POST", "/api-keys", {"name": "txn2",
                                                      "scopes": ["read"]},
                                ("api_keys", "audit_log"))
        self.verify_audit()


class T206MutesReportsSuppressions(TxBase):
    """A mute rule, a report request, an observable suppression and an
    import under refused commits: one row and one audit entry each."""

    def test_mute_report_suppression(self):
        self.assert_once("POST", "/mute-rules", {
            "rule_id": "txn-nomatch-*", "justification": "txn"}, 201,
            ("mute_rules", "audit_log"), {})
        r = self.assert_once("POST", "/reports", {"type": "findings",
                                                  "format": "json"}, 202,
                             ("reports", "audit_log"), {})
        self.assertEqual(r.json()["status"], "queued", r)
        self.assert_once("POST", "/observables/suppress", {
            "type": "domain", "value": "txn.example.com", "scope": "global",
            "until": api.rfc3339(time.time() + 3600)}, 201,
            ("observable_suppressions", "audit_log"), {})
        self.assert_unavailable("POST", "/mute-rules", {
            "rule_id": "x-*", "justification": "never"},
            ("mute_rules", "audit_log"))
        self.verify_audit()


    def test_import(self):
        """A small import, run at once by the request: its findings once
        each, one finding.detected event each, one import.completed audit
        entry, the import completed."""
        entries = [{
            "rule_id": "nsg-ssh-internet", "provider": "azure",
            "resource_id": "/subscriptions/sub-i/resourceGroups/rg/"
            "providers/Microsoft.Network/networkSecurityGroups/"
            "nsg-imp-%d-%d" % (time.time_ns() % 10**9, i),
            "title": "SSH open", "severity": "medium",
            "category": "network", "description": "d",
            "recommendation": "r", "subscription_id": "sub-i",
            "environment": "PROD", "layer": "infrastructure",
            "framework": "CIS", "evidence": {"port": 22}}
            for i in range(3)]
        r = self.assert_once(
            "POST", "/imports?format=vigil&source=txn",
            {"findings": entries}, 201,
            ("findings", ("events", "type = 'finding.detected'"),
             ("audit_log", "action = 'import.completed'")),
            {"findings": 3, ("events", "type = 'finding.detected'"): 3})
        self.assertEqual(r.json()["status"], "completed", r)
        self.verify_audit()


class T207Idempotency(TxBase):
    """A POST with an Idempotency-Key whose transaction is replayed: one
    case, and the stored answer is the replayed run's."""

    def test_key_kept_once(self):
        h = {"Idempotency-Key": "txn-%d" % time.time_ns()}
        body = {"title": "Idempotent", "severity": "low"}
        r = self.assert_once("POST", "/cases", body, 201,
                             ("cases", "events", "audit_log"), {},
                             headers=h)
        again = self.call("POST", "/cases", body, headers=h)
        self.assertEqual(again.status, 201, again)
        self.assertEqual(again.json()["case_id"], r.json()["case_id"])
        self.assertEqual(self.count("idempotency_keys"), 1)
        self.assertEqual(self.count("cases"), 1)


class T208DeliveredOnce(TxBase):
    """Events written under refused commits and delivered by a spooler
    whose every transaction is refused twice (VIGIL_DEBUG_CONFLICTS=2):
    the receiver gets each event exactly once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from receiver import Receiver
        cls.rx = Receiver().start()
        STACK.write_conf(allow_http_webhooks=1, allow_private_targets=1)
        STACK.api_stop()
        STACK.api_start(workers=WORKERS)
        STACK.sql("UPDATE events SET dispatched = 1", database="vigil")
        STACK.sql("UPDATE deliveries SET status = 'failed' WHERE status IN "
                  "('pending', 'delivering')", database="vigil")

    @classmethod
    def tearDownClass(cls):
        STACK.write_conf(allow_http_webhooks=0, allow_private_targets=0)
        STACK.api_stop()
        STACK.api_start(workers=WORKERS)
        cls.rx.stop()
        super().tearDownClass()

    def test_delivered_once(self):
        r = self.assert_once("POST", "/webhooks", {
            "url": self.rx.url("/ok/txn"), "events": ["*"]}, 201,
            ("webhooks", "audit_log"), {})
        wid = r.json()["webhook_id"]
        r = self.assert_once("POST", "/webhooks/%s/test" % wid, None, 202,
                             ("events", "audit_log"), {})
        eid = r.json()["event_id"]
        env = dict(STACK.env(), VIGIL_DEBUG_CONFLICTS="2")
        out = ""
        for _ in range(2):      # fan-out and claim, then nothing left
            p = subprocess.run([STACK.vigil_spool_bin, "-c", STACK.conf,
                                "--once"], env=env, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=120)
            out += p.stdout + p.stderr
            self.assertEqual(p.returncode, 0, out)
        got = self.rx.wait_for(1, "/ok/txn", timeout=30)
        time.sleep(0.5)
        got = self.rx.requests("/ok/txn")
        self.assertEqual([g.headers.get("webhook-id") for g in got], [eid],
                         got)
        self.assertIn(REFUSED, out)
        rows = STACK.query("SELECT status, attempts, IFNULL(last_error, "
                           "'') FROM deliveries WHERE webhook_id = %s" %
                           q(wid))
        self.assertEqual([r[0] for r in rows], ["succeeded"],
                         (rows, out))
        self.verify_audit()


class T209AuditChainConcurrent(TxBase):
    """Writers acting at once on one tenant's findings while their commits
    are refused now and then: one audit entry per acknowledged change, a
    chain without gaps, and vigilctl audit verify passes."""

    def test_chain(self):
        import_finding(self.tenant, 4)
        fids = [r[0] for r in STACK.query(
            "SELECT id FROM findings WHERE tenant_id = %s ORDER BY id" %
            q(self.tenant_id))]
        a0 = self.count("audit_log")
        ok = []
        lock = threading.Lock()

        def writer(i):
            for j in range(6):
                r = self.call("PATCH", "/findings/" + fids[(i + j) % 4],
                              {"notes": "w%d-%d" % (i, j)}, n=j % 3)
                self.assertIn(r.status, (200, 503), r)
                if r.status == 200:
                    with lock:
                        ok.append(r)
        ts = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        self.assertEqual(self.count("audit_log") - a0, len(ok))
        seqs = [int(r[0]) for r in STACK.query(
            "SELECT seq FROM audit_log WHERE tenant_id = %s ORDER BY seq" %
            q(self.tenant_id))]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)))
        self.assertEqual(STACK.query(
            "SELECT seq FROM audit_heads WHERE tenant_id = %s" %
            q(self.tenant_id)), [[str(seqs[-1])]])
        self.verify_audit()


if __name__ == "__main__":
    unittest.main()
