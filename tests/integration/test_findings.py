"""test_findings.py: the Findings API (list, get, history, the
actions, PATCH, bulk), its lifecycle, expiry without scans, settings,
posture and the audit log, against a running private stack.

Run by run.py after test_api.py, which sets STACK and WORKERS here too.
Reuses test_api's helpers; every HTTP test runs against each front end the
stack has (nginx -> pool, Apache mod_fcgid, Apache mod_proxy_fcgi -> pool)
as a subTest per front end. Findings are loaded with `vigilctl findings
import` (small generated files in a temporary directory). Every response
is recorded and held against doc/openapi.json by T59OpenApi, which runs
last in this module.
"""

import concurrent.futures
import hashlib
import http.client
import itertools
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

import stack as stackmod
import test_api as api
from test_api import (Base, OpenApi, auth, from_vigil, new_key, new_tenant,
                      rfc3339, wait_until, MIB, SQL_EVIL, TS_RE)

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4         # the pool's --workers, set by run.py

TMP = None          # import files
_seq = itertools.count(1)
SEVERITIES = ("critical", "high", "medium", "low", "info")
STATES = ("open", "accepted", "resolved", "snoozed", "dismissed")
FID_RE = re.compile(r"^[a-z0-9._-]{1,127}$")

# Every response this module got, for T59OpenApi (test_api.request also
# records into its own list, which test_api's T99 has read by then).
FOBSERVED = []
_fobs_lock = threading.Lock()


def setUpModule():
    global STACK, WORKERS, TMP
    if STACK is None:
        STACK = api.STACK
        WORKERS = api.WORKERS
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    TMP = tempfile.mkdtemp(prefix="vigil-findings-")


def tearDownModule():
    if TMP:
        shutil.rmtree(TMP, ignore_errors=True)


def request(base, method, path, body=None, headers=None, **kw):
    r = api.request(base, method, path, body, headers, **kw)
    with _fobs_lock:
        FOBSERVED.append((method, path, r))
    return r


# --- fixtures ------------------------------------------------------------------

def finding_id(provider, rule, resource):
    """The deterministic slug README "Findings" documents."""
    h = hashlib.sha256(resource.lower().encode()).hexdigest()[:8]
    if rule.startswith(provider + "-"):
        return "%s-%s" % (rule, h)
    return "%s-%s-%s" % (provider, rule, h)


def entry(severity="medium", category="network", sub="sub-a", env="PROD",
          rule="nsg-ssh-internet", provider="azure", **extra):
    """One import entry on a new resource."""
    n = next(_seq)
    resource = ("/subscriptions/%s/resourceGroups/rg-it/providers/"
                "Microsoft.Network/networkSecurityGroups/nsg-%d-%d" % (
                    sub, os.getpid(), n))
    e = {"rule_id": rule, "provider": provider, "resource_id": resource,
         "title": "Finding %d (%s)" % (n, severity), "severity": severity,
         "category": category, "description": "Rule %s fired." % rule,
         "recommendation": "Fix it.", "subscription_id": sub,
         "environment": env, "layer": "infrastructure",
         "framework": "CIS Azure 6.1", "evidence": {"port": 22, "n": n}}
    e.update(extra)
    return e


def eid(e):
    return finding_id(e["provider"], e["rule_id"], e["resource_id"])


def import_findings(tenant, entries, reconcile=True, check=True):
    path = os.path.join(TMP, "import-%d.json" % next(_seq))
    with open(path, "w") as f:
        json.dump({"findings": entries}, f)
    args = ["findings", "import", "--tenant", tenant]
    if not reconcile:
        args.append("--no-reconcile")
    return STACK.vigilctl(*(args + [path]), check=check)


def q(s):
    """A SQL string literal for our own (safe) ids and names."""
    assert "'" not in s and "\\" not in s, s
    return "'%s'" % s


def db_row(tenant_id, fid):
    """The finding's row as the database has it (all columns)."""
    return STACK.query("SELECT * FROM findings WHERE tenant_id = %s AND "
                       "id = %s" % (q(tenant_id), q(fid)))


def db_history(tenant_id, fid):
    """[(action, actor, fields dict)] oldest first."""
    rows = STACK.query("SELECT action, actor, HEX(fields) FROM "
                       "finding_history WHERE tenant_id = %s AND "
                       "finding_id = %s ORDER BY seq" % (q(tenant_id),
                                                         q(fid)))
    return [(a, b, json.loads(bytes.fromhex(h).decode())) for a, b, h in
            rows]


def db_events(tenant_id, fid=None):
    """[(type, envelope dict)] in outbox order (the finding's only)."""
    rows = STACK.query("SELECT type, HEX(payload) FROM events WHERE "
                       "tenant_id = %s ORDER BY seq" % q(tenant_id))
    out = []
    for t, h in rows:
        env = json.loads(bytes.fromhex(h).decode())
        if fid is None or env["data"]["finding"]["id"] == fid:
            out.append((t, env))
    return out


def db_audit(tenant_id, fid=None):
    """[(seq, actor, action, object, detail dict)] in chain order."""
    where = "tenant_id = %s" % q(tenant_id)
    if fid is not None:
        where += " AND object = %s" % q(fid)
    rows = STACK.query("SELECT seq, actor, action, object, HEX(detail) "
                       "FROM audit_log WHERE %s ORDER BY seq" % where)
    return [(int(s), a, b, o, json.loads(bytes.fromhex(d).decode()))
            for s, a, b, o, d in rows]


def counts(tenant_id):
    """Rows of the tenant in the tables a change writes."""
    out = {}
    for table in ("finding_history", "events", "audit_log"):
        out[table] = int(STACK.query("SELECT COUNT(*) FROM %s WHERE "
                                     "tenant_id = %s" % (table,
                                                         q(tenant_id)))[0][0])
    return out


def future(seconds):
    return rfc3339(time.time() + seconds)


class FBase(Base):
    """A tenant with an admin key (Base) plus a read,write key."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.wkey, cls.wkey_id = new_key(cls.tenant, "read,write",
                                        name="writer")

    def fresh(self, *severities, **kw):
        """New open findings in the class's tenant (one per severity)."""
        entries = [entry(s, **kw) for s in (severities or ("medium",))]
        import_findings(self.tenant, entries, reconcile=False)
        ids = [eid(e) for e in entries]
        return ids if len(ids) > 1 else ids[0]

    def get(self, base, fid, key=None):
        r = request(base, "GET", "/api/v1/findings/" + fid,
                    headers=auth(key or self.key))
        self.assertEqual(r.status, 200, r)
        return r.json()

    def act(self, base, fid, action, body=None, key=None):
        return request(base, "POST", "/api/v1/findings/%s/%s" % (
            fid, action), body, auth(key or self.wkey))

    def list(self, base, query="", key=None):
        r = request(base, "GET", "/api/v1/findings" + (
            "?" + query if query else ""), headers=auth(key or self.key))
        self.assertEqual(r.status, 200, r)
        self.assert_common_headers(r)
        return r.json()

    def list_all(self, base, query=""):
        """Every page, following next_cursor: the ids in order."""
        ids, cursor = [], None
        for _ in range(1000):
            qs = query
            if cursor:
                qs += ("&" if qs else "") + "cursor=" + urllib.parse.quote(
                    cursor)
            body = self.list(base, qs)
            ids += [f["id"] for f in body["findings"]]
            if not body["has_more"]:
                self.assertIsNone(body["next_cursor"])
                return ids
            cursor = body["next_cursor"]
        self.fail("pagination does not end")

    def history(self, base, fid, key=None):
        r = request(base, "GET", "/api/v1/findings/%s/history" % fid,
                    headers=auth(key or self.key))
        self.assertEqual(r.status, 200, r)
        self.assert_common_headers(r)
        body = r.json()
        self.assertEqual(set(body), {"finding_id", "history"}, r)
        self.assertEqual(body["finding_id"], fid)
        for h in body["history"]:
            self.assertTrue({"action", "timestamp", "by"} <= set(h), h)
            self.assertRegex(h["timestamp"], TS_RE)
        return body["history"]

    def settings_put(self, base, body, key=None):
        return request(base, "PUT", "/api/v1/settings", body,
                       auth(key or self.key))

    def opt_in(self, base, on=True):
        r = self.settings_put(base, {"allow_auto_remediate": on})
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json()["allow_auto_remediate"], on)

    def assert_detail(self, r, fid, state):
        """A 200 answering the finding in full, in state."""
        self.assertEqual(r.status, 200, r)
        self.assert_common_headers(r)
        f = r.json()
        self.assertEqual(f["id"], fid, r)
        self.assertEqual(f["state"], state, r)
        for k in ("rule_id", "provider", "last_seen_at", "resolved_at",
                  "resolved_by", "accepted_until", "snoozed_until",
                  "remediation", "assignee", "notes", "evidence"):
            self.assertIn(k, f, r)
        return f


LIST_KEYS = {"id", "title", "severity", "category", "layer",
             "subscription_id", "environment", "resource_id", "framework",
             "description", "recommendation", "detected_at", "updated_at",
             "state", "resource_name", "resource_type", "resource_group",
             "region", "account", "tags", "source"}


# --- import and listing ------------------------------------------------------------

class T40ImportList(FBase):
    """A small import; the list, its filters, its limits and its errors."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        spec = [("critical", "network", "sub-a", "PROD"),
                ("critical", "identity", "sub-b", "DEV"),
                ("high", "network", "sub-a", "PROD"),
                ("high", "storage", "sub-b", "PROD"),
                ("medium", "storage", "sub-a", "DEV"),
                ("medium", "keyvault", "sub-c", "PROD"),
                ("low", "network", "sub-c", "DEV"),
                ("low", "compliance", "sub-a", "PROD"),
                ("info", "cost", "sub-b", "DEV"),
                ("info", "network", "sub-a", "PROD")]
        cls.entries = [entry(s, category=c, sub=sub, env=env)
                       for s, c, sub, env in spec]
        cls.t0 = time.time()
        r = import_findings(cls.tenant, cls.entries)
        cls.import_out = r.stdout
        cls.byid = {eid(e): e for e in cls.entries}
        # One accepted and one dismissed, for the state filter.
        cls.accepted = eid(cls.entries[9])
        cls.dismissed = eid(cls.entries[8])
        base = STACK.urls()["nginx"]
        r = request(base, "POST", "/api/v1/findings/%s/accept" %
                    cls.accepted, {"justification": "t40"}, auth(cls.key))
        assert r.status == 200, r
        r = request(base, "POST", "/api/v1/findings/%s/dismiss" %
                    cls.dismissed, {"reason": "t40"}, auth(cls.key))
        assert r.status == 200, r
        cls.open = set(cls.byid) - {cls.accepted, cls.dismissed}

    def expect(self, pred, states=("open",)):
        return {i for i, e in self.byid.items() if pred(e) and
                self.state_of(i) in states}

    def state_of(self, fid):
        return {self.accepted: "accepted",
                self.dismissed: "dismissed"}.get(fid, "open")

    def test_import_output_and_db(self):
        self.assertEqual(self.import_out.strip(),
                         "imported 10 findings, resolved 0 no longer present")
        rows = STACK.query("SELECT id, state, severity FROM findings WHERE "
                           "tenant_id = %s" % q(self.tenant_id))
        self.assertEqual({r[0] for r in rows}, set(self.byid))
        for fid, e in self.byid.items():
            h = db_history(self.tenant_id, fid)
            self.assertEqual(h[0][:2], ("detected", "scanner"), fid)
            self.assertEqual([t for t, _ in db_events(self.tenant_id, fid)
                              ][0], "finding.detected")

    def test_default_list(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                body = self.list(base)
                self.assertEqual(set(body), {"findings", "total", "has_more",
                                             "next_cursor"})
                ids = [f["id"] for f in body["findings"]]
                self.assertEqual(set(ids), self.open)
                self.assertEqual(len(ids), len(self.open))
                self.assertEqual(body["total"], len(self.open))
                self.assertIs(body["has_more"], False)
                self.assertIsNone(body["next_cursor"])
                # Newest first (the order of first detection). One import
                # detects its findings a batch at a time, each batch's in
                # the order the file gives them (as POST /imports does).
                order = [eid(e) for e in reversed(self.entries)
                         if eid(e) in self.open]
                self.assertEqual(ids, order)
                for f in body["findings"]:
                    # The list adds the SLA due date (test_sla.py).
                    self.assertEqual(set(f), LIST_KEYS | {"due_at",
                                                          "overdue"})
                    e = self.byid[f["id"]]
                    self.assertRegex(f["id"], FID_RE)
                    for k in ("title", "severity", "category", "layer",
                              "subscription_id", "environment",
                              "resource_id", "framework", "description",
                              "recommendation"):
                        self.assertEqual(f[k], e[k], (k, f))
                    self.assertEqual(f["state"], "open")
                    self.assertRegex(f["detected_at"], TS_RE)

    def test_filters(self):
        cases = [
            ("severity=critical", self.expect(
                lambda e: e["severity"] == "critical")),
            ("severity=info", self.expect(lambda e: e["severity"] == "info")),
            ("severity=critical,high", self.expect(
                lambda e: e["severity"] in ("critical", "high"))),
            ("severity=low,critical,low", self.expect(
                lambda e: e["severity"] in ("critical", "low"))),
            ("category=network", self.expect(
                lambda e: e["category"] == "network")),
            ("category=Network", set()),
            ("category=nope", set()),
            ("subscription_id=sub-b", self.expect(
                lambda e: e["subscription_id"] == "sub-b")),
            ("environment=DEV", self.expect(
                lambda e: e["environment"] == "DEV")),
            ("environment=prod", set()),
            ("severity=high&category=storage&subscription_id=sub-b"
             "&environment=PROD", self.expect(
                 lambda e: e["severity"] == "high" and
                 e["category"] == "storage")),
            ("state=open", self.open),
            ("state=accepted", {self.accepted}),
            ("state=dismissed", {self.dismissed}),
            ("state=accepted,dismissed", {self.accepted, self.dismissed}),
            ("state=resolved,snoozed", set()),
            ("state=all", set(self.byid)),
            ("state=all&severity=info", self.expect(
                lambda e: e["severity"] == "info", STATES)),
            ("state=all&category=network", self.expect(
                lambda e: e["category"] == "network", STATES)),
            # since without state: every state (issue 13, item 7).
            ("since=" + rfc3339(self.t0 - 3600), set(self.byid)),
            ("since=" + rfc3339(self.t0 - 3600) + "&state=open",
             self.open),
            ("since=" + rfc3339(time.time() + 3600), set()),
            ("since=2001-01-01T00:00:00Z&state=all", set(self.byid)),
            # The epoch is a since like any other: every state, where it
            # was taken for no since (open only).
            ("since=1970-01-01T00:00:00Z", set(self.byid)),
            ("since=1970-01-01T01:00:00%2B01:00", set(self.byid)),
            ("since=1970-01-01T00:00:00Z&state=open", self.open),
        ]
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                for query, want in cases:
                    body = self.list(base, query)
                    got = [f["id"] for f in body["findings"]]
                    self.assertEqual(set(got), want, query)
                    self.assertEqual(len(got), len(want), query)
                    self.assertEqual(body["total"], len(want), query)
                    self.assertIs(body["has_more"], False, query)
                    for f in body["findings"]:
                        self.assertEqual(f["state"], self.state_of(f["id"]))

    def test_limit(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                for limit in (1, 3, 7, 500):
                    body = self.list(base, "limit=%d" % limit)
                    n = min(limit, len(self.open))
                    self.assertEqual(len(body["findings"]), n)
                    self.assertEqual(body["total"], len(self.open))
                    self.assertIs(body["has_more"], n < len(self.open))
                    if n < len(self.open):
                        self.assertIsInstance(body["next_cursor"], str)
                    else:
                        self.assertIsNone(body["next_cursor"])
                ids = self.list_all(base, "limit=3")
                self.assertEqual(len(ids), len(self.open))
                self.assertEqual(set(ids), self.open)

    def test_bad_parameters(self):
        cases = [("limit=0", "limit"), ("limit=501", "limit"),
                 ("limit=x", "limit"), ("limit=", "limit"),
                 ("limit=-1", "limit"), ("limit=1.5", "limit"),
                 ("limit=99999999999999999999", "limit"),
                 ("limit=%201", "limit"),
                 ("foo=1", "foo"), ("state=open&page=2", "page"),
                 ("cursor=abc", "cursor"), ("cursor=s", "cursor"),
                 ("cursor=s-1", "cursor"), ("cursor=s0", "cursor"),
                 ("cursor=sx", "cursor"), ("cursor=", "cursor"),
                 ("cursor=s1x", "cursor"),
                 ("cursor=s99999999999999999999999", "cursor"),
                 ("severity=urgent", "severity"), ("severity=", "severity"),
                 ("severity=critical,", "severity"),
                 ("severity=CRITICAL", "severity"),
                 ("state=closed", "state"), ("state=open,bogus", "state"),
                 ("state=", "state"), ("state=ALL", "state"),
                 ("since=yesterday", "since"), ("since=", "since"),
                 ("since=2026-13-01T00:00:00Z", "since"),
                 ("category=", "category"),
                 ("category=" + "a" * 33, "category"),
                 ("subscription_id=", "subscription_id"),
                 ("environment=", "environment")]
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                for query, field in cases:
                    r = request(base, "GET", "/api/v1/findings?" + query,
                                headers=auth(self.key))
                    with self.subTest(query=query):
                        self.assert_error(r, 400, "invalid_request", field)
                for evil in SQL_EVIL:
                    qe = urllib.parse.quote(evil, safe="")
                    for p in ("cursor", "limit", "severity", "state",
                              "since"):
                        r = request(base, "GET", "/api/v1/findings?%s=%s" % (
                            p, qe), headers=auth(self.key))
                        self.assert_error(r, 400, "invalid_request", p)
                    for p in ("category", "environment", "subscription_id"):
                        r = request(base, "GET", "/api/v1/findings?%s=%s" % (
                            p, qe), headers=auth(self.key))
                        if r.status == 400:     # longer than the column
                            self.assert_error(r, 400, "invalid_request", p)
                        else:
                            self.assertEqual(r.status, 200, r)
                            self.assertEqual(r.json()["findings"], [], r)

    def test_get_one(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                for fid, e in self.byid.items():
                    f = self.get(base, fid)
                    self.assertEqual(f["id"], fid)
                    self.assertEqual(f["rule_id"], e["rule_id"])
                    self.assertEqual(f["provider"], "azure")
                    self.assertEqual(f["evidence"], e["evidence"])
                    self.assertEqual(f["resource_id"], e["resource_id"])
                    self.assertEqual(f["state"], self.state_of(fid))
                    self.assertEqual(f["remediation"], "none")
                    self.assertIsNone(f["assignee"])
                    self.assertIsNone(f["resolved_at"])
                    self.assertRegex(f["last_seen_at"], TS_RE)

    def test_unknown_ids(self):
        ids = ["azure-nsg-ssh-internet-00000000", "nope",
               urllib.parse.quote("Azure-NSG", safe=""),
               "%FF%FE", "%C0%AF", "%ED%A0%80", "a%00b", "x" * 127,
               "x" * 128, "x" * 1000]
        ids += [urllib.parse.quote(e, safe="") for e in SQL_EVIL]
        ids.append(urllib.parse.quote(next(iter(self.byid)) + "' OR '1'='1",
                                      safe=""))
        before = STACK.query("SELECT COUNT(*) FROM findings")
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                with self.same_workers():
                    for fid in ids:
                        for method, path, body in (
                                ("GET", "", None), ("GET", "/history", None),
                                ("POST", "/accept", {"justification": "j"}),
                                ("POST", "/resolve", None),
                                ("POST", "/remediate", None),
                                ("POST", "/snooze", {"days": 3}),
                                ("POST", "/dismiss", {"reason": "r"}),
                                ("PATCH", "", {"notes": "n"})):
                            r = request(base, method, "/api/v1/findings/" +
                                        fid + path, body, auth(self.key))
                            if not from_vigil(r) and fid in ("a%00b",):
                                # A front end may refuse %00 itself.
                                self.assertTrue(400 <= r.status < 500, r)
                                continue
                            with self.subTest(id=fid[:40], op=method + path):
                                self.assert_error(r, 404,
                                                  "finding_not_found")
                    # Too long for a front end: its own 4xx is fine (nginx
                    # and Apache mod_proxy_fcgi pass it on; Apache with
                    # mod_fcgid answers its own HTML 403, the name being
                    # too long for the file system).
                    r = request(base, "GET", "/api/v1/findings/" +
                                "a" * 5000, headers=auth(self.key))
                    if from_vigil(r) and r.status == 414:
                        # vigil-api's own limit on the request line.
                        self.assert_error(r, 414, "invalid_request")
                    elif from_vigil(r):
                        self.assert_error(r, 404, "finding_not_found")
                    else:
                        self.assertIn(r.status, (403, 414), r)
        self.assertEqual(STACK.query("SELECT COUNT(*) FROM findings"), before)


class T41Reconcile(FBase):
    """A re-import is a complete scan: absent -> resolved by scanner, back
    -> reopened."""

    def test_resolve_and_reopen(self):
        entries = [entry(s) for s in ("high", "medium", "low")]
        ids = [eid(e) for e in entries]
        import_findings(self.tenant, entries)
        gone = ids[1]
        r = import_findings(self.tenant, [entries[0], entries[2]])
        self.assertEqual(r.stdout.strip(), "imported 2 findings, resolved "
                         "1 no longer present")
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                f = self.get(base, gone)
                self.assertEqual(f["state"], "resolved")
                self.assertEqual(f["resolved_by"], "scanner")
                self.assertRegex(f["resolved_at"] or "", TS_RE)
                h = self.history(base, gone)
                self.assertEqual([x["action"] for x in h],
                                 ["detected", "resolved"])
                self.assertEqual(h[-1]["by"], "scanner")
                self.assertEqual(set(h[-1]), {"action", "timestamp", "by"})
                body = self.list(base)
                self.assertEqual(body["total"], 2)
                self.assertNotIn(gone, [x["id"] for x in body["findings"]])
                body = self.list(base, "state=resolved")
                self.assertEqual([x["id"] for x in body["findings"]], [gone])
                for other in (ids[0], ids[2]):
                    self.assertEqual(self.get(base, other)["state"], "open")
        self.assertEqual([t for t, _ in db_events(self.tenant_id, gone)],
                         ["finding.detected", "finding.resolved"])
        ev = db_events(self.tenant_id, gone)[-1][1]
        self.assertEqual(ev["data"]["finding"]["state"], "resolved")
        # Back in the snapshot: reopened.
        r = import_findings(self.tenant, entries)
        self.assertEqual(r.stdout.strip(), "imported 3 findings, resolved "
                         "0 no longer present")
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                f = self.get(base, gone)
                self.assertEqual(f["state"], "open")
                self.assertIsNone(f["resolved_by"])
                h = self.history(base, gone)
                self.assertEqual([x["action"] for x in h],
                                 ["detected", "resolved", "reopened"])
                self.assertEqual(h[-1]["by"], "scanner")
                self.assertEqual(self.list(base)["total"], 3)
        self.assertEqual([t for t, _ in db_events(self.tenant_id, gone)],
                         ["finding.detected", "finding.resolved",
                          "finding.reopened"])
        # Seen again unchanged: no history, no event for the others.
        for other in (ids[0], ids[2]):
            self.assertEqual([a for a, _, _ in
                              db_history(self.tenant_id, other)],
                             ["detected"])
            self.assertEqual(len(db_events(self.tenant_id, other)), 1)

    def test_user_resolved_is_confirmed_or_reopened(self):
        # A provider of its own: the reconciliation below is per provider.
        entries = [entry("medium", provider="prov2"),
                   entry("low", provider="prov2")]
        ids = [eid(e) for e in entries]
        import_findings(self.tenant, entries, reconcile=False)
        base = STACK.urls()["nginx"]
        for fid in ids:
            self.assert_detail(self.act(base, fid, "resolve",
                                        {"evidence": "fixed"}), fid,
                               "resolved")
        # Still present: reopened; absent: confirmed.
        import_findings(self.tenant, [entries[0]], reconcile=True)
        h0 = [a for a, _, _ in db_history(self.tenant_id, ids[0])]
        h1 = [a for a, _, _ in db_history(self.tenant_id, ids[1])]
        self.assertEqual(h0, ["detected", "resolved", "reopened"])
        self.assertEqual(h1, ["detected", "resolved", "resolution_confirmed"])
        self.assertEqual(self.get(base, ids[0])["state"], "open")
        self.assertEqual(self.get(base, ids[1])["state"], "resolved")

    def test_bad_import_files(self):
        before = STACK.query("SELECT COUNT(*) FROM findings WHERE "
                             "tenant_id = %s" % q(self.tenant_id))
        good = entry("low")
        for bad in ([dict(good, severity="urgent")],
                    [dict(good, title=5)],
                    [{k: v for k, v in good.items() if k != "rule_id"}],
                    [dict(good, evidence=[1])], [dict(good, extra=1)],
                    [good, "x"]):
            r = import_findings(self.tenant, bad, check=False)
            self.assertEqual(r.returncode, 65, (bad, r.stdout, r.stderr))
        self.assertEqual(STACK.query("SELECT COUNT(*) FROM findings WHERE "
                                     "tenant_id = %s" % q(self.tenant_id)),
                         before)


class T42Pagination(FBase):
    """Keyset pagination stays exact while findings are inserted (and
    change state) between pages."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sev = itertools.cycle(("high", "medium", "high", "low"))
        cat = itertools.cycle(("network", "storage", "network"))
        cls.initial = [entry(next(sev), category=next(cat))
                       for _ in range(23)]
        import_findings(cls.tenant, cls.initial)

    def paginate_with_inserts(self, base, query, want):
        # About six pages, whatever the earlier subtests inserted.
        limit = max(3, len(want) // 6)
        seen, cursor, pages, totals = [], None, 0, []
        while True:
            qs = "limit=%d" % limit + ("&" + query if query else "")
            if cursor:
                qs += "&cursor=" + urllib.parse.quote(cursor)
            body = self.list(base, qs)
            pages += 1
            totals.append(body["total"])
            self.assertLessEqual(len(body["findings"]), limit)
            seen += [f["id"] for f in body["findings"]]
            # New findings matching every filter, between pages.
            import_findings(self.tenant, [
                entry("high", category="network"),
                entry("high", category="network")], reconcile=False)
            if not body["has_more"]:
                self.assertIsNone(body["next_cursor"])
                break
            cursor = body["next_cursor"]
            self.assertIsInstance(cursor, str)
            self.assertLess(pages, 100)
        self.assertEqual(len(seen), len(set(seen)), "duplicates: %r" % seen)
        self.assertEqual(set(seen), want, "gaps or extras")
        # Each page's total counts the matches at that time.
        self.assertEqual(totals, sorted(totals))
        return pages

    def test_exact_under_inserts(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                # Everything open right now, whatever earlier subtests
                # inserted; then several index paths.
                for query in ("", "severity=high", "category=network",
                              "state=open,accepted", "severity=high,low",
                              "severity=high&category=network"):
                    with self.subTest(query=query):
                        want = set(self.list_all(base, (
                            query + "&" if query else "") + "limit=500"))
                        if not query:
                            self.assertTrue({eid(e) for e in self.initial}
                                            <= want)
                        self.paginate_with_inserts(base, query, want)

    def test_exact_under_state_changes(self):
        base = STACK.urls()["nginx"]
        want = set(self.list_all(base, "state=all&limit=500"))
        seen, cursor = [], None
        changed = iter(sorted(want))
        while True:
            qs = "state=all&limit=5" + ("&cursor=" + cursor if cursor else "")
            body = self.list(base, qs)
            seen += [f["id"] for f in body["findings"]]
            # A state change (and its updated_at) moves nothing.
            fid = next(changed)
            r = self.act(base, fid, "dismiss", {"reason": "t42"})
            self.assertIn(r.status, (200, 409), r)
            import_findings(self.tenant, [entry("low")], reconcile=False)
            if not body["has_more"]:
                break
            cursor = body["next_cursor"]
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(set(seen), want)


# --- the actions -------------------------------------------------------------------

class T43Actions(FBase):
    """accept, resolve, snooze, dismiss, 409s, PATCH, history."""

    def test_accept(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                fid = self.fresh("high")
                before = db_row(self.tenant_id, fid)
                n = counts(self.tenant_id)
                for body, field in (
                        ({}, "justification"),
                        ({"justification": ""}, "justification"),
                        ({"justification": "   \t"}, "justification"),
                        ({"justification": None}, "justification"),
                        ({"justification": 5}, "justification"),
                        ({"justification": ["x"]}, "justification"),
                        ({"justification": "x" * 5000}, "justification"),
                        ({"justification": "j", "expires_at":
                          rfc3339(time.time() - 60)}, "expires_at"),
                        ({"justification": "j", "expires_at": "tomorrow"},
                         "expires_at"),
                        ({"justification": "j", "expires_at": 1893456000},
                         "expires_at"),
                        ({"justification": "j", "user": ""}, "user"),
                        ({"justification": "j", "user": 7}, "user"),
                        ({"justification": "j", "user": "u" * 255}, "user"),
                        ({"justification": "j", "days": 3}, "days")):
                    r = self.act(base, fid, "accept", body)
                    self.assert_error(r, 400, "invalid_request", field)
                r = self.act(base, fid, "accept")
                self.assert_error(r, 400, "invalid_request", "body")
                self.assertEqual(db_row(self.tenant_id, fid), before)
                self.assertEqual(counts(self.tenant_id), n)
                exp = future(30 * 86400)
                r = self.act(base, fid, "accept", {
                    "justification": "Compensating control X, ticket #4521",
                    "expires_at": exp, "user": "[email protected]"})
                f = self.assert_detail(r, fid, "accepted")
                self.assertEqual(f["accepted_until"], exp)
                h = self.history(base, fid)
                self.assertEqual([x["action"] for x in h],
                                 ["detected", "accept_risk"])
                self.assertEqual(set(h[1]), {"action", "timestamp", "by",
                                             "justification", "expires_at"})
                self.assertEqual(h[1]["by"], "[email protected]")
                self.assertEqual(h[1]["justification"],
                                 "Compensating control X, ticket #4521")
                self.assertEqual(h[1]["expires_at"], exp)
                ev = db_events(self.tenant_id, fid)
                self.assertEqual([t for t, _ in ev],
                                 ["finding.detected", "finding.accepted"])
                self.assertEqual(ev[-1][1]["data"]["finding"]["state"],
                                 "accepted")
                self.assertNotIn(fid, [x["id"] for x in
                                       self.list(base)["findings"]])
                # Renewed without an expiry: accepted until further notice,
                # by the key when no user is given.
                r = self.act(base, fid, "accept", {"justification": "again"})
                f = self.assert_detail(r, fid, "accepted")
                self.assertIsNone(f["accepted_until"])
                h = self.history(base, fid)
                self.assertEqual(h[-1], {"action": "accept_risk",
                                         "timestamp": h[-1]["timestamp"],
                                         "by": "key:" + self.wkey_id,
                                         "justification": "again"})

    def test_renewal_is_recorded(self):
        """Re-accepting with the same expiry (a new justification) and
        re-snoozing within the same second are actions like any other:
        each is a history entry, an event and an audit entry."""
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                a, b = self.fresh("medium", "low")
                exp = future(86400)
                for j in ("first approval", "renewed by the council"):
                    r = self.act(base, a, "accept", {"justification": j,
                                                     "expires_at": exp})
                    self.assert_detail(r, a, "accepted")
                h = self.history(base, a)
                self.assertEqual([(x["action"], x.get("justification"))
                                  for x in h],
                                 [("detected", None),
                                  ("accept_risk", "first approval"),
                                  ("accept_risk", "renewed by the council")])
                self.assertEqual([t for t, _ in db_events(self.tenant_id, a)],
                                 ["finding.detected", "finding.accepted",
                                  "finding.accepted"])
                self.assertEqual(len(db_audit(self.tenant_id, a)), 3)
                for _ in range(2):
                    self.assert_detail(self.act(base, b, "accept",
                                                {"justification": "same"}),
                                       b, "accepted")
                self.assertEqual([x[0] for x in db_history(self.tenant_id,
                                                           b)],
                                 ["detected", "accept_risk", "accept_risk"])

    def test_resolve(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                a, b = self.fresh("low", "critical")
                r = self.act(base, a, "resolve")
                f = self.assert_detail(r, a, "resolved")
                self.assertEqual(f["resolved_by"], "user")
                self.assertRegex(f["resolved_at"] or "", TS_RE)
                r = self.act(base, b, "resolve", {
                    "evidence": "PR #4521 merged, NSG rule removed.",
                    "user": "[email protected]"})
                self.assert_detail(r, b, "resolved")
                h = self.history(base, b)[-1]
                self.assertEqual((h["action"], h["by"], h["evidence"]),
                                 ("resolved", "[email protected]",
                                  "PR #4521 merged, NSG rule removed."))
                self.assertEqual(self.history(base, a)[-1]["by"],
                                 "key:" + self.wkey_id)
                for fid in (a, b):
                    self.assertEqual(db_events(self.tenant_id, fid)[-1][0],
                                     "finding.resolved")
                for body, field in (({"evidence": 5}, "evidence"),
                                    ({"evidence": "x" * 5000}, "evidence"),
                                    ({"justification": "x"}, "justification")):
                    r = self.act(base, a, "resolve", body)
                    self.assert_error(r, 400, "invalid_request", field)

    def test_snooze(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                fid = self.fresh("medium")
                n = counts(self.tenant_id)
                for body in ({}, {"days": 0}, {"days": 91}, {"days": "7"},
                             {"days": 7.5}, {"days": None}, {"days": -1},
                             {"days": True}, {"days": 10 ** 20}):
                    r = self.act(base, fid, "snooze", body)
                    self.assert_error(r, 400, "invalid_request", "days")
                self.assertEqual(counts(self.tenant_id), n)
                t = time.time()
                r = self.act(base, fid, "snooze", {"days": 7})
                f = self.assert_detail(r, fid, "snoozed")
                until = f["snoozed_until"]
                self.assertRegex(until or "", TS_RE)
                self.assertTrue(rfc3339(t + 7 * 86400 - 5) <= until <=
                                rfc3339(time.time() + 7 * 86400 + 5), until)
                h = self.history(base, fid)[-1]
                self.assertEqual(h, {"action": "snoozed",
                                     "timestamp": h["timestamp"],
                                     "by": "key:" + self.wkey_id,
                                     "days": 7, "snoozed_until": until})
                self.assertEqual(db_events(self.tenant_id, fid)[-1][0],
                                 "finding.snoozed")
                # Bounds are inclusive.
                for d in (1, 90):
                    r = self.act(base, fid, "snooze", {"days": d})
                    self.assert_detail(r, fid, "snoozed")
                self.assertIn(fid, [x["id"] for x in self.list(
                    base, "state=snoozed")["findings"]])

    def test_dismiss_and_conflicts(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                fid = self.fresh("high")
                for body in ({}, {"reason": ""}, {"reason": " "},
                             {"reason": 3}, {"reason": "r" * 5000}):
                    r = self.act(base, fid, "dismiss", body)
                    self.assert_error(r, 400, "invalid_request", "reason")
                r = self.act(base, fid, "dismiss",
                             {"reason": "False positive: lab network"})
                self.assert_detail(r, fid, "dismissed")
                h = self.history(base, fid)[-1]
                self.assertEqual((h["action"], h["reason"]),
                                 ("dismissed", "False positive: lab network"))
                self.assertEqual(db_events(self.tenant_id, fid)[-1][0],
                                 "finding.dismissed")
                row, n = db_row(self.tenant_id, fid), counts(self.tenant_id)
                for action, body in (("snooze", {"days": 3}),
                                     ("accept", {"justification": "j"}),
                                     ("resolve", None),
                                     ("dismiss", {"reason": "again"})):
                    r = self.act(base, fid, action, body)
                    self.assert_error(r, 409, "conflict")
                self.assertEqual(db_row(self.tenant_id, fid), row)
                self.assertEqual(counts(self.tenant_id), n)

    def test_transition_table(self):
        """README's user-action table, each cell once (nginx)."""
        base = STACK.urls()["nginx"]
        setup = {"open": [], "accepted": [("accept", {"justification": "j"})],
                 "snoozed": [("snooze", {"days": 2})],
                 "resolved": [("resolve", None)],
                 "dismissed": [("dismiss", {"reason": "r"})]}
        acts = {"accept": {"justification": "j"}, "resolve": None,
                "snooze": {"days": 3}, "dismiss": {"reason": "r"}}
        table = {
            "open": {"accept": "accepted", "resolve": "resolved",
                     "snooze": "snoozed", "dismiss": "dismissed"},
            "accepted": {"accept": "accepted", "resolve": "resolved",
                         "snooze": None, "dismiss": "dismissed"},
            "snoozed": {"accept": "accepted", "resolve": "resolved",
                        "snooze": "snoozed", "dismiss": "dismissed"},
            "resolved": {"accept": None, "resolve": None, "snooze": None,
                         "dismiss": "dismissed"},
            "dismissed": {"accept": None, "resolve": None, "snooze": None,
                          "dismiss": None}}
        for state, row in table.items():
            for action, want in row.items():
                with self.subTest(state=state, action=action):
                    fid = self.fresh("medium")
                    for a, b in setup[state]:
                        self.assert_detail(self.act(base, fid, a, b), fid,
                                           state)
                    nh = len(db_history(self.tenant_id, fid))
                    r = self.act(base, fid, action, acts[action])
                    if want is None:
                        self.assert_error(r, 409, "conflict")
                        self.assertEqual(len(db_history(self.tenant_id,
                                                        fid)), nh)
                    else:
                        self.assert_detail(r, fid, want)
                        self.assertEqual(len(db_history(self.tenant_id,
                                                        fid)), nh + 1)

    def test_patch(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                fid = self.fresh("low")
                rkey, _ = new_key(self.tenant, "read")
                path = "/api/v1/findings/" + fid
                r = request(base, "PATCH", path, {"assignee": "[email protected]",
                                                  "notes": "Look at it."},
                            auth(self.wkey))
                f = self.assert_detail(r, fid, "open")
                self.assertEqual((f["assignee"], f["notes"]),
                                 ("[email protected]", "Look at it."))
                self.assertEqual(self.get(base, fid)["assignee"],
                                 "[email protected]")
                h = self.history(base, fid)[-1]
                self.assertEqual(h, {"action": "updated",
                                     "timestamp": h["timestamp"],
                                     "by": "key:" + self.wkey_id,
                                     "assignee": "[email protected]",
                                     "notes": "Look at it."})
                self.assertEqual(db_events(self.tenant_id, fid)[-1][0],
                                 "finding.updated")
                r = request(base, "PATCH", path, {"notes": None,
                                                  "user": "bob"},
                            auth(self.wkey))
                f = self.assert_detail(r, fid, "open")
                self.assertIsNone(f["notes"])
                self.assertEqual(f["assignee"], "[email protected]")
                h = self.history(base, fid)[-1]
                self.assertEqual((h["by"], h["notes"], "assignee" in h),
                                 ("bob", None, False))
                r = request(base, "PATCH", path, {"assignee": None},
                            auth(self.wkey))
                self.assertIsNone(self.assert_detail(r, fid,
                                                     "open")["assignee"])
                row, n = db_row(self.tenant_id, fid), counts(self.tenant_id)
                for body, field in (({"owner": "x"}, "owner"),
                                    ({"assignee": "a", "state": "dismissed"},
                                     "state"),
                                    ({}, "body"), ({"user": "u"}, "body"),
                                    ({"assignee": 5}, "assignee"),
                                    ({"assignee": ""}, "assignee"),
                                    ({"assignee": "a" * 255}, "assignee"),
                                    ({"notes": ["n"]}, "notes"),
                                    ({"notes": "n" * 10001}, "notes"),
                                    ({"notes": "n", "user": 1}, "user")):
                    r = request(base, "PATCH", path, body, auth(self.wkey))
                    self.assert_error(r, 400, "invalid_request", field)
                r = request(base, "PATCH", path, None, auth(self.wkey))
                self.assert_error(r, 400, "invalid_request", "body")
                r = request(base, "PATCH", path, {"notes": "x"}, auth(rkey))
                self.assert_error(r, 403, "insufficient_scope")
                self.assertEqual(db_row(self.tenant_id, fid), row)
                self.assertEqual(counts(self.tenant_id), n)

    def test_history_shape(self):
        base = STACK.urls()["nginx"]
        fid = self.fresh("high")
        exp = future(86400)
        steps = [("snooze", {"days": 5, "user": "a@x"}),
                 ("accept", {"justification": "J", "expires_at": exp,
                             "user": "b@x"}),
                 ("resolve", {"evidence": "E", "user": "c@x"}),
                 ("dismiss", {"reason": "R", "user": "d@x"})]
        for a, b in steps:
            self.assertEqual(self.act(base, fid, a, b).status, 200)
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                h = self.history(base, fid)
                self.assertEqual([x["action"] for x in h],
                                 ["detected", "snoozed", "accept_risk",
                                  "resolved", "dismissed"])
                self.assertEqual([x["by"] for x in h],
                                 ["scanner", "a@x", "b@x", "c@x", "d@x"])
                self.assertEqual(h[0], {"action": "detected",
                                        "timestamp": h[0]["timestamp"],
                                        "by": "scanner"})
                self.assertEqual(h[2], {"action": "accept_risk",
                                        "timestamp": h[2]["timestamp"],
                                        "by": "b@x", "justification": "J",
                                        "expires_at": exp})
                self.assertEqual(h[3]["evidence"], "E")
                self.assertEqual(h[4]["reason"], "R")
                ts = [x["timestamp"] for x in h]
                self.assertEqual(ts, sorted(ts))
                # The database agrees.
                self.assertEqual([(a, b) for a, b, _ in
                                  db_history(self.tenant_id, fid)],
                                 [(x["action"], x["by"]) for x in h])

    def test_read_key_cannot_act(self):
        base = STACK.urls()["nginx"]
        fid = self.fresh("low")
        rkey, _ = new_key(self.tenant, "read")
        for action, body in (("accept", {"justification": "j"}),
                             ("resolve", None), ("snooze", {"days": 2}),
                             ("dismiss", {"reason": "r"}),
                             ("remediate", None)):
            r = self.act(base, fid, action, body, key=rkey)
            self.assert_error(r, 403, "insufficient_scope")
        r = request(base, "POST", "/api/v1/findings/bulk",
                    {"action": "resolve", "ids": [fid]}, auth(rkey))
        self.assert_error(r, 403, "insufficient_scope")
        self.assertEqual(self.get(base, fid)["state"], "open")
        for path in ("/api/v1/findings", "/api/v1/findings/" + fid,
                     "/api/v1/findings/%s/history" % fid):
            r = request(base, "GET", path)
            self.assert_error(r, 401, "invalid_license_key")
            r = request(base, "GET", path, headers=auth(rkey))
            self.assertEqual(r.status, 200, r)


class T44Remediation(FBase):
    """Opt-in, the severity policy, approval."""

    def test_policy(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                crit, high, med, low, info = self.fresh(*SEVERITIES)
                self.opt_in(base, False)
                n = counts(self.tenant_id)
                for fid, code in ((crit, "critical_remediation_blocked"),
                                  (high, "remediation_severity_not_allowed"),
                                  (info, "remediation_severity_not_allowed"),
                                  (med, "auto_remediate_disabled"),
                                  (low, "auto_remediate_disabled")):
                    for body in (None, {"approval_required": True}):
                        r = self.act(base, fid, "remediate", body)
                        self.assert_error(r, 403, code)
                self.assertEqual(counts(self.tenant_id), n)
                self.opt_in(base, True)
                try:
                    for fid, code in (
                            (crit, "critical_remediation_blocked"),
                            (high, "remediation_severity_not_allowed"),
                            (info, "remediation_severity_not_allowed")):
                        r = self.act(base, fid, "remediate",
                                     {"user": "[email protected]"})
                        self.assert_error(r, 403, code)
                    for body, field in (({"approval_required": "yes"},
                                         "approval_required"),
                                        ({"approval_required": 1},
                                         "approval_required"),
                                        ({"force": True}, "force")):
                        r = self.act(base, low, "remediate", body)
                        self.assert_error(r, 400, "invalid_request", field)
                    # Low, no approval needed: approved at once.
                    r = self.act(base, low, "remediate",
                                 {"user": "[email protected]"})
                    f = self.assert_detail(r, low, "open")
                    self.assertEqual(f["remediation"], "approved")
                    h = self.history(base, low)[-1]
                    self.assertEqual(h, {"action": "remediation_requested",
                                         "timestamp": h["timestamp"],
                                         "by": "[email protected]",
                                         "approval_required": False})
                    self.assertEqual(db_events(self.tenant_id, low)[-1][0],
                                     "finding.updated")
                    r = self.act(base, low, "remediate")
                    self.assert_error(r, 409, "conflict")
                    # Medium with approval: requested, then approved.
                    r = self.act(base, med, "remediate",
                                 {"approval_required": True})
                    f = self.assert_detail(r, med, "open")
                    self.assertEqual(f["remediation"], "requested")
                    self.assertIs(self.history(base, med)[-1][
                        "approval_required"], True)
                    path = "remediation/approve"
                    r = self.act(base, med, path, key=self.wkey)
                    self.assert_error(r, 403, "insufficient_scope")
                    r = self.act(base, low, path, key=self.key)
                    self.assert_error(r, 409, "conflict")
                    r = self.act(base, med, path, {"user": "[email protected]"},
                                 key=self.key)
                    f = self.assert_detail(r, med, "open")
                    self.assertEqual(f["remediation"], "approved")
                    h = self.history(base, med)[-1]
                    self.assertEqual((h["action"], h["by"]),
                                     ("remediation_approved", "[email protected]"))
                    r = self.act(base, med, path, key=self.key)
                    self.assert_error(r, 409, "conflict")
                    r = self.act(base, "azure-none-00000000", path,
                                 key=self.key)
                    self.assert_error(r, 404, "finding_not_found")
                    # Accepting cancels the pending remediation.
                    r = self.act(base, med, "accept", {"justification": "j"})
                    f = self.assert_detail(r, med, "accepted")
                    self.assertEqual(f["remediation"], "none")
                    self.assertIs(self.history(base, med)[-1][
                        "remediation_cancelled"], True)
                    # Not open -> 409 (opted in, allowed severity).
                    r = self.act(base, med, "remediate")
                    self.assert_error(r, 409, "conflict")
                finally:
                    self.opt_in(base, False)


class T45Bulk(FBase):

    def test_mixed_ids(self):
        other, _ = new_tenant("t45other")
        oe = entry("low")
        import_findings(other, [oe])
        theirs = eid(oe)
        otid = STACK.query("SELECT id FROM tenants WHERE name = %s" %
                           q(other))[0][0]
        their_row = db_row(otid, theirs)
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                a, b, c = self.fresh("high", "medium", "low")
                self.assertEqual(self.act(base, c, "dismiss",
                                          {"reason": "r"}).status, 200)
                ids = [b, "azure-unknown-00000000", a, theirs, c, a,
                       "BAD ID'; --"]
                r = request(base, "POST", "/api/v1/findings/bulk",
                            {"action": "snooze", "ids": ids, "days": 14,
                             "user": "[email protected]"}, auth(self.wkey))
                self.assertEqual(r.status, 200, r)
                self.assert_common_headers(r)
                body = r.json()
                self.assertEqual(body["action"], "snooze")
                res = body["results"]
                self.assertEqual([x["id"] for x in res],
                                 sorted(set(ids)))
                by = {x["id"]: x for x in res}
                self.assertEqual(by[a], {"id": a, "status": 200,
                                         "state": "snoozed"})
                self.assertEqual(by[b], {"id": b, "status": 200,
                                         "state": "snoozed"})
                self.assertEqual(by[c], {"id": c, "status": 409,
                                         "error": "conflict"})
                for x in ("azure-unknown-00000000", theirs, "BAD ID'; --"):
                    self.assertEqual(by[x], {"id": x, "status": 404,
                                             "error": "finding_not_found"})
                self.assertEqual((body["succeeded"], body["failed"]), (2, 4))
                for fid in (a, b):
                    self.assertEqual(self.get(base, fid)["state"], "snoozed")
                    h = db_history(self.tenant_id, fid)
                    self.assertEqual([x[0] for x in h],
                                     ["detected", "snoozed"])  # once
                    self.assertEqual(h[-1][1], "[email protected]")
                    self.assertEqual(db_events(self.tenant_id, fid)[-1][0],
                                     "finding.snoozed")
                self.assertEqual(db_row(otid, theirs), their_row)
                # An expires_at in the past is a per-id 400 (or the whole
                # body's 400): either way nothing changes.
                d = self.fresh("low")
                r = request(base, "POST", "/api/v1/findings/bulk",
                            {"action": "accept", "ids": [d],
                             "justification": "j",
                             "expires_at": rfc3339(time.time() - 5)},
                            auth(self.wkey))
                if r.status == 200:
                    self.assertEqual(r.json()["results"], [
                        {"id": d, "status": 400,
                         "error": "invalid_request"}])
                else:
                    self.assert_error(r, 400, "invalid_request",
                                      "expires_at")
                self.assertEqual(self.get(base, d)["state"], "open")

    def test_bad_bodies(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                a = self.fresh("low")
                row, n = db_row(self.tenant_id, a), counts(self.tenant_id)
                many = ["azure-x-%08d" % i for i in range(501)]
                for body, field in (
                        ({"action": "resolve", "ids": many}, "ids"),
                        ({"action": "resolve", "ids": many + [a]}, "ids"),
                        ({"action": "frobnicate", "ids": [a]}, "action"),
                        ({"action": "RESOLVE", "ids": [a]}, "action"),
                        ({"action": "approve", "ids": [a]}, "action"),
                        ({"action": 5, "ids": [a]}, "action"),
                        ({"ids": [a]}, "action"),
                        ({"action": "resolve"}, "ids"),
                        ({"action": "resolve", "ids": []}, "ids"),
                        ({"action": "resolve", "ids": a}, "ids"),
                        ({"action": "resolve", "ids": [a, 5]}, "ids"),
                        ({"action": "resolve", "ids": [None]}, "ids"),
                        ({"action": "snooze", "ids": [a]}, "days"),
                        ({"action": "snooze", "ids": [a], "days": 91},
                         "days"),
                        ({"action": "accept", "ids": [a]}, "justification"),
                        ({"action": "dismiss", "ids": [a]}, "reason"),
                        ({"action": "resolve", "ids": [a], "days": 3},
                         "days"),
                        ({"action": "resolve", "ids": [a], "x": 1}, "x")):
                    r = request(base, "POST", "/api/v1/findings/bulk", body,
                                auth(self.wkey))
                    self.assert_error(r, 400, "invalid_request", field)
                r = request(base, "POST", "/api/v1/findings/bulk", None,
                            auth(self.wkey))
                self.assert_error(r, 400, "invalid_request", "body")
                self.assertEqual(db_row(self.tenant_id, a), row)
                self.assertEqual(counts(self.tenant_id), n)
                # An id no finding can have: the whole body's 400, or that
                # id's 404 (doc/openapi.json FindingId: "answered as a
                # finding that does not exist").
                r = request(base, "POST", "/api/v1/findings/bulk",
                            {"action": "resolve", "ids": ["x" * 200]},
                            auth(self.wkey))
                if r.status == 200:
                    self.assertEqual(r.json()["results"][0]["status"], 404)
                else:
                    self.assert_error(r, 400, "invalid_request", "ids")
                self.assertEqual(db_row(self.tenant_id, a), row)
                # Exactly 500 is fine.
                r = request(base, "POST", "/api/v1/findings/bulk",
                            {"action": "resolve", "ids": many[:499] + [a]},
                            auth(self.wkey))
                self.assertEqual(r.status, 200, r)
                body = r.json()
                self.assertEqual((body["succeeded"], body["failed"]),
                                 (1, 499))
                self.assertEqual(self.get(base, a)["state"], "resolved")


# --- expiry without scans ------------------------------------------------------------

class T46Expiry(FBase):

    def test_acceptance_expires(self):
        base = STACK.urls()["nginx"]
        fids = []
        for name, b in self.frontends():
            fid = self.fresh("high")
            r = self.act(b, fid, "accept", {"justification": "short",
                                            "expires_at": future(3)})
            self.assert_detail(r, fid, "accepted")
            fids.append(fid)
        time.sleep(4.2)
        r = STACK.vigilctl("findings", "expire")
        m = re.match(r"^expired (\d+)$", r.stdout.strip())
        self.assertTrue(m, r.stdout)
        self.assertGreaterEqual(int(m.group(1)), len(fids))
        for fid in fids:
            for name, b in self.frontends():
                with self.subTest(frontend=name, fid=fid):
                    f = self.get(b, fid)
                    self.assertEqual(f["state"], "open")
                    self.assertIsNone(f["accepted_until"])
                    h = self.history(b, fid)
                    self.assertEqual([x["action"] for x in h],
                                     ["detected", "accept_risk", "expired"])
                    self.assertEqual(h[-1], {"action": "expired",
                                             "timestamp": h[-1]["timestamp"],
                                             "by": "system"})
            self.assertEqual([t for t, _ in db_events(self.tenant_id, fid)],
                             ["finding.detected", "finding.accepted",
                              "finding.expired"])
            self.assertEqual(db_audit(self.tenant_id, fid)[-1][2], "expired")
            self.assertIn(fid, [x["id"] for x in self.list(base)["findings"]])
        # Nothing left to do: a second run expires none of these again.
        STACK.vigilctl("findings", "expire")
        for fid in fids:
            self.assertEqual(len(db_history(self.tenant_id, fid)), 3)

    def test_snooze_expires(self):
        base = STACK.urls()["nginx"]
        fid = self.fresh("low")
        self.assert_detail(self.act(base, fid, "snooze", {"days": 1}), fid,
                           "snoozed")
        # A day is too long to wait: move the date into the past.
        STACK.sql("UPDATE findings SET snoozed_until = UTC_TIMESTAMP() - "
                  "INTERVAL 5 SECOND WHERE tenant_id = %s AND id = %s" % (
                      q(self.tenant_id), q(fid)), database="vigil")
        STACK.vigilctl("findings", "expire")
        f = self.get(base, fid)
        self.assertEqual(f["state"], "open")
        self.assertEqual(self.history(base, fid)[-1]["action"],
                         "snooze_expired")
        self.assertEqual(self.history(base, fid)[-1]["by"], "system")
        self.assertEqual(db_events(self.tenant_id, fid)[-1][0],
                         "finding.reopened")

    def test_lapsed_acceptance_settled_before_an_action(self):
        base = STACK.urls()["nginx"]
        fid = self.fresh("medium")
        self.assert_detail(self.act(base, fid, "accept", {
            "justification": "short", "expires_at": future(3)}), fid,
            "accepted")
        time.sleep(4.2)
        # Snoozing an accepted finding is 409; it is open by now.
        r = self.act(base, fid, "snooze", {"days": 2})
        self.assert_detail(r, fid, "snoozed")
        self.assertEqual([x["action"] for x in self.history(base, fid)],
                         ["detected", "accept_risk", "expired", "snoozed"])


# --- tenants, concurrency, atomicity -----------------------------------------------------

class T47OtherTenant(FBase):
    """Another tenant's finding ids are 404 finding_not_found everywhere,
    and nothing changes."""

    def test_every_endpoint(self):
        owner, owner_tid = new_tenant("t47owner")
        okey, _ = new_key(owner, "read,write,admin")
        ents = [entry("low"), entry("critical")]
        import_findings(owner, ents)
        theirs = [eid(e) for e in ents]
        # The intruder opted in, so that no 403 can answer first.
        self.opt_in(STACK.urls()["nginx"], True)
        snap = {fid: (db_row(owner_tid, fid), db_history(owner_tid, fid))
                for fid in theirs}
        n = counts(owner_tid)
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                for fid in theirs:
                    for method, path, body, key in (
                            ("GET", "", None, self.key),
                            ("GET", "/history", None, self.key),
                            ("POST", "/accept", {"justification": "j"},
                             self.wkey),
                            ("POST", "/resolve", {"evidence": "e"},
                             self.wkey),
                            ("POST", "/resolve", None, self.wkey),
                            ("POST", "/remediate", None, self.wkey),
                            ("POST", "/remediation/approve", None, self.key),
                            ("POST", "/snooze", {"days": 3}, self.wkey),
                            ("POST", "/dismiss", {"reason": "r"}, self.wkey),
                            ("PATCH", "", {"assignee": "x", "notes": "y"},
                             self.wkey)):
                        r = request(base, method, "/api/v1/findings/" + fid +
                                    path, body, auth(key))
                        self.assert_error(r, 404, "finding_not_found")
                    r = request(base, "POST", "/api/v1/findings/bulk",
                                {"action": "dismiss", "ids": theirs,
                                 "reason": "r"}, auth(self.wkey))
                    self.assertEqual(r.status, 200, r)
                    self.assertEqual([x["status"] for x in
                                      r.json()["results"]], [404, 404])
                listed = self.list(base, "state=all")
                self.assertFalse(set(theirs) & {x["id"] for x in
                                               listed["findings"]})
                for k in ("risk-score", "posture-summary"):
                    r = request(base, "GET", "/api/v1/" + k,
                                headers=auth(self.key))
                    self.assertNotIn(theirs[0], r.body.decode())
        for fid in theirs:
            self.assertEqual((db_row(owner_tid, fid),
                              db_history(owner_tid, fid)), snap[fid])
        self.assertEqual(counts(owner_tid), n)
        # The owner still sees and acts on them.
        base = STACK.urls()["nginx"]
        r = request(base, "POST", "/api/v1/findings/%s/resolve" % theirs[0],
                    None, auth(okey))
        self.assertEqual(r.status, 200, r)
        self.opt_in(base, False)


class T48Concurrency(FBase):
    """Two clients acting on one finding at once: the lifecycle's outcomes
    only, and a history that matches the final state."""

    PAIRS = [
        # (first, second, {outcome: final state})
        (("accept", {"justification": "j"}), ("dismiss", {"reason": "r"})),
        (("accept", {"justification": "j"}), ("snooze", {"days": 3})),
        (("resolve", None), ("dismiss", {"reason": "r"})),
        (("accept", {"justification": "j"}), ("resolve", None)),
    ]
    STATE_OF = {"accept": "accepted", "dismiss": "dismissed",
                "snooze": "snoozed", "resolve": "resolved"}
    HISTORY_OF = {"accept": "accept_risk", "dismiss": "dismissed",
                  "snooze": "snoozed", "resolve": "resolved"}
    STATE_OF_HISTORY = {"accept_risk": "accepted", "dismissed": "dismissed",
                        "snoozed": "snoozed", "resolved": "resolved"}

    def allowed(self, first, second):
        """The outcome of first then second on an open finding: (second's
        status, final state)."""
        table = T43_TABLE
        s1 = self.STATE_OF[first]
        s2 = table[s1][second]
        return (200, s2) if s2 else (409, s1)

    def test_accept_and_dismiss_at_once(self):
        urls = [b for _, b in self.frontends()]
        rounds = 0
        for (a1, b1), (a2, b2) in self.PAIRS:
            for i in range(4):
                rounds += 1
                fid = self.fresh("medium")
                bases = (urls[i % len(urls)], urls[(i + 1) % len(urls)])
                barrier = threading.Barrier(2)

                def go(action, body, base):
                    barrier.wait()
                    return self.act(base, fid, action, body)

                with concurrent.futures.ThreadPoolExecutor(2) as ex:
                    f1 = ex.submit(go, a1, b1, bases[0])
                    f2 = ex.submit(go, a2, b2, bases[1])
                    r1, r2 = f1.result(), f2.result()
                got = (r1.status, r2.status)
                with self.subTest(pair=(a1, a2), round=i, got=got):
                    # Either order is possible; each must be one the
                    # lifecycle allows.
                    one_first = self.allowed(a1, a2)   # a1 then a2
                    two_first = self.allowed(a2, a1)
                    options = {((200, one_first[0]), one_first[1]),
                               ((two_first[0], 200), two_first[1])}
                    final = self.get(urls[0], fid)["state"]
                    self.assertIn((got, final), options, (r1, r2))
                    for r in (r1, r2):
                        if r.status == 409:
                            self.assert_error(r, 409, "conflict")
                        else:
                            self.assertEqual(r.status, 200, r)
                    h = db_history(self.tenant_id, fid)
                    ok = [a for a, r in ((a1, r1), (a2, r2))
                          if r.status == 200]
                    self.assertEqual(len(h), 1 + len(ok), h)
                    self.assertEqual(sorted(x[0] for x in h[1:]),
                                     sorted(self.HISTORY_OF[a] for a in ok))
                    # No lost update: the last entry is the final state's.
                    self.assertEqual(self.STATE_OF_HISTORY[h[-1][0]], final,
                                     h)
                    ev = db_events(self.tenant_id, fid)
                    self.assertEqual(len(ev), 1 + len(ok))
                    self.assertEqual(ev[-1][1]["data"]["finding"]["state"],
                                     final)
                    self.assertEqual([x[2] for x in db_audit(self.tenant_id,
                                                             fid)],
                                     [x[0] for x in h])
        self.assertGreater(rounds, 0)
        r = STACK.vigilctl("audit", "verify", "--tenant", self.tenant)
        self.assertTrue(r.stdout.startswith("ok: "), r.stdout)


class T48bChainUnderLoad(FBase):
    """Many clients acting at once on different findings of one tenant:
    every action commits with its history, event and audit entry, the
    tenant's audit chain stays one unbroken sequence, and the chain head
    kept in audit_heads (0018_audit_heads.sql) is its newest entry."""

    def test_concurrent_accepts_keep_one_chain(self):
        urls = [b for _, b in self.frontends()]
        ids = self.fresh(*(["medium", "low", "high", "info"] * 6))
        before = counts(self.tenant_id)
        barrier = threading.Barrier(8)

        def go(k):
            barrier.wait()
            out = []
            for fid in ids[k::8]:
                out.append((fid, self.act(urls[k % len(urls)], fid,
                                          "accept",
                                          {"justification": "load %d" % k})))
            return out

        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            results = [r for f in [ex.submit(go, k) for k in range(8)]
                       for r in f.result()]
        self.assertEqual(len(results), len(ids))
        for fid, r in results:
            self.assertEqual(r.status, 200, (fid, r))
            self.assertEqual(r.json()["state"], "accepted")
        after = counts(self.tenant_id)
        for table in ("finding_history", "events", "audit_log"):
            self.assertEqual(after[table] - before[table], len(ids), table)
        for fid in ids:
            self.assertEqual([x[2] for x in db_audit(self.tenant_id, fid)],
                             [x[0] for x in db_history(self.tenant_id, fid)])
        chain = STACK.query("SELECT seq, prev_hash, hash FROM audit_log "
                            "WHERE tenant_id = %s ORDER BY seq"
                            % q(self.tenant_id))
        self.assertEqual([int(c[0]) for c in chain],
                         list(range(1, len(chain) + 1)))
        for prev, cur in zip(chain, chain[1:]):
            self.assertEqual(cur[1], prev[2])
        head = STACK.query("SELECT seq, hash FROM audit_heads WHERE "
                           "tenant_id = %s" % q(self.tenant_id))
        self.assertEqual(head, [[chain[-1][0], chain[-1][2]]])
        r = STACK.vigilctl("audit", "verify", "--tenant", self.tenant)
        self.assertEqual(r.stdout.strip(), "ok: tenant %s, %d entries, "
                         "head %s" % (self.tenant, len(chain), chain[-1][2]))

    def test_head_follows_every_writer(self):
        """Entries other than findings actions (a key, settings) move the
        head too, and a findings action chains onto them."""
        fid = self.fresh("low")
        new_key(self.tenant, "read", name="t48b")
        r = self.act(self.frontends()[0][1], fid, "snooze", {"days": 2})
        self.assertEqual(r.status, 200, r)
        last = STACK.query("SELECT seq, hash, action FROM audit_log WHERE "
                           "tenant_id = %s ORDER BY seq DESC LIMIT 2"
                           % q(self.tenant_id))
        self.assertEqual(last[0][2], "snoozed")
        self.assertEqual(last[1][2], "api_key.create")
        head = STACK.query("SELECT seq, hash FROM audit_heads WHERE "
                           "tenant_id = %s" % q(self.tenant_id))
        self.assertEqual(head, [[last[0][0], last[0][1]]])
        r = STACK.vigilctl("audit", "verify", "--tenant", self.tenant)
        self.assertTrue(r.stdout.startswith("ok: "), r.stdout)


class SeqWatch(threading.Thread):
    """Reads one query's seqs over and over on one connection (a mariadb
    client kept open) while the test writes, and notes every read that
    shows a seq below one an earlier read had already shown: a row that
    committed after a row with a higher seq, which a client paging by seq
    (a webhook's created_seq, a case timeline's cursor) would never see."""

    def __init__(self, sql):
        super().__init__(daemon=True)
        self.sql = sql
        self.stop = threading.Event()
        self.reads = 0
        self.late = []
        self.error = None

    def run(self):
        p = subprocess.Popen(
            [stackmod.which("mariadb", "mysql"), "--no-defaults", "-S",
             STACK.db_sock, "-uroot", "-N", "-B", "-n", "vigil"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        seen, top = set(), 0
        try:
            while not self.stop.is_set():
                p.stdin.write(self.sql + ";\nSELECT 'end';\n")
                p.stdin.flush()
                now = set()
                for line in p.stdout:
                    line = line.strip()
                    if line == "end":
                        break
                    now.add(int(line))
                new = now - seen
                if new and min(new) < top:
                    self.late.append((sorted(new)[:5], top))
                seen |= now
                top = max(seen) if seen else 0
                self.reads += 1
        except Exception as e:     # noqa: BLE001 (reported by the test)
            self.error = e
        finally:
            p.stdin.close()
            p.wait(timeout=10)


class T385ActionsSideBySide(FBase):
    """Actions on different findings of one tenant from many clients at
    once: what they must keep. Every event, audit entry and case
    timeline entry commits in the order of its seq, so that a reader that
    polls for what is new never skips one; the chain stays one sequence;
    every finding's history, events and entries agree."""

    def act_all(self, plan, clients=8):
        """plan: [(fid, action, body)], shared among clients threads, each
        acting on its own share one after the other. [(fid, action, r)]."""
        urls = [b for _, b in self.frontends()]
        barrier = threading.Barrier(clients)

        def go(k):
            barrier.wait()
            return [(fid, action, self.act(urls[k % len(urls)], fid, action,
                                           body))
                    for fid, action, body in plan[k::clients]]

        with concurrent.futures.ThreadPoolExecutor(clients) as ex:
            return [x for f in [ex.submit(go, k) for k in range(clients)]
                    for x in f.result()]

    def test_events_and_timeline_commit_in_seq_order(self):
        base = self.frontends()[0][1]
        # Four findings on each resource, of kinds and rules that differ:
        # acting on three of them leaves the resource open, so that no
        # counter row is shared by every action (a resource's last open
        # finding closing changes the tenant's count of open resources,
        # which would line them all up there).
        entries, spare = [], []
        for k in range(100):
            e = entry(SEVERITIES[k % 5], category="c%d" % (k % 7),
                      sub="sub-%d" % (k % 3), rule="t385-%d" % (k % 4))
            if k % 4:
                e["resource_id"] = entries[-1]["resource_id"]
            (spare if k % 4 == 3 else entries).append(e)
        import_findings(self.tenant, entries + spare, reconcile=False)
        ids = [eid(e) for e in entries]
        # A quarter of them on one case: their history writes its
        # timeline.
        r = request(base, "POST", "/api/v1/findings/%s/escalate" % ids[0],
                    {"case_id": None}, auth(self.wkey))
        self.assertIn(r.status, (200, 201), r)
        case = r.json()["case_id"]
        for fid in ids[4::4]:
            r = request(base, "POST", "/api/v1/findings/%s/escalate" % fid,
                        {"case_id": case}, auth(self.wkey))
            self.assertEqual(r.status, 200, r)
        oncase = set(ids[0::4])
        t = q(self.tenant_id)
        watches = [SeqWatch("SELECT seq FROM events WHERE tenant_id = %s"
                            % t),
                   SeqWatch("SELECT seq FROM case_timeline WHERE "
                            "tenant_id = %s AND case_id = %s"
                            % (t, q(case))),
                   SeqWatch("SELECT seq FROM audit_log WHERE tenant_id = %s"
                            % t)]
        for w in watches:
            w.start()
        cycle = [("accept", {"justification": "t385"}),
                 ("snooze", {"days": 3}), ("resolve", None),
                 ("dismiss", {"reason": "t385"})]
        plan = [(fid, cycle[i % 4][0], cycle[i % 4][1])
                for i, fid in enumerate(ids)]
        before = counts(self.tenant_id)
        tl_before = int(STACK.query("SELECT COUNT(*) FROM case_timeline "
                                    "WHERE case_id = %s" % q(case))[0][0])
        results = self.act_all(plan)
        time.sleep(0.3)
        for w in watches:
            w.stop.set()
        for w in watches:
            w.join(timeout=30)
        for fid, action, r in results:
            self.assertEqual(r.status, 200, (fid, action, r))
        for w in watches:
            self.assertIsNone(w.error, w.sql)
            self.assertGreater(w.reads, 3, w.sql)
            self.assertEqual(w.late, [], w.sql)
        after = counts(self.tenant_id)
        for table in ("finding_history", "events", "audit_log"):
            self.assertEqual(after[table] - before[table], len(ids), table)
        tl_after = int(STACK.query("SELECT COUNT(*) FROM case_timeline "
                                   "WHERE case_id = %s" % q(case))[0][0])
        self.assertEqual(tl_after - tl_before, len(oncase))
        for fid in ids:
            h = db_history(self.tenant_id, fid)
            self.assertEqual([x[2] for x in db_audit(self.tenant_id, fid)
                              if x[2] != "finding.escalate"],
                             [x[0] for x in h if x[0] != "escalated"], fid)
            self.assertEqual(int(STACK.query(
                "SELECT COUNT(*) FROM events WHERE tenant_id = %s AND "
                "JSON_VALUE(payload, '$.data.finding.id') = %s"
                % (t, q(fid)))[0][0]), 2, fid)
        chain = STACK.query("SELECT seq, prev_hash, hash FROM audit_log "
                            "WHERE tenant_id = %s ORDER BY seq" % t)
        self.assertEqual([int(c[0]) for c in chain],
                         list(range(1, len(chain) + 1)))
        head = STACK.query("SELECT seq, hash FROM audit_heads WHERE "
                           "tenant_id = %s" % t)
        self.assertEqual(head, [[chain[-1][0], chain[-1][2]]])
        r = STACK.vigilctl("audit", "verify", "--tenant", self.tenant)
        self.assertTrue(r.stdout.startswith("ok: "), r.stdout)


class T386OneFindingOneWinner(FBase):
    """The same finding acted on by many clients at once: its row lock
    still decides, so exactly one resolve (or dismiss) succeeds and the
    others are 409 with nothing written; accepts all succeed, the later
    ones as renewals, one history entry, event and audit entry each."""

    def race(self, fid, action, body, n=8):
        urls = [b for _, b in self.frontends()]
        barrier = threading.Barrier(n)

        def go(k):
            barrier.wait()
            return self.act(urls[k % len(urls)], fid, action, body)

        with concurrent.futures.ThreadPoolExecutor(n) as ex:
            return [f.result() for f in [ex.submit(go, k)
                                         for k in range(n)]]

    def test_one_winner(self):
        for action, body, state, hist in (
                ("resolve", {"evidence": "t386"}, "resolved", "resolved"),
                ("dismiss", {"reason": "t386"}, "dismissed", "dismissed")):
            with self.subTest(action=action):
                fid = self.fresh("high")
                before = counts(self.tenant_id)
                rs = self.race(fid, action, body)
                self.assertEqual(sorted(r.status for r in rs),
                                 [200] + [409] * 7, rs)
                for r in rs:
                    if r.status == 409:
                        self.assert_error(r, 409, "conflict")
                after = counts(self.tenant_id)
                for table in ("finding_history", "events", "audit_log"):
                    self.assertEqual(after[table] - before[table], 1, table)
                self.assertEqual([x[0] for x in db_history(self.tenant_id,
                                                           fid)],
                                 ["detected", hist])
                self.assertEqual(self.get(self.frontends()[0][1],
                                          fid)["state"], state)

    def test_accepts_renew(self):
        fid = self.fresh("medium")
        before = counts(self.tenant_id)
        rs = self.race(fid, "accept", {"justification": "t386"})
        self.assertEqual([r.status for r in rs], [200] * 8, rs)
        after = counts(self.tenant_id)
        for table in ("finding_history", "events", "audit_log"):
            self.assertEqual(after[table] - before[table], 8, table)
        self.assertEqual([x[0] for x in db_history(self.tenant_id, fid)],
                         ["detected"] + ["accept_risk"] * 8)
        r = STACK.vigilctl("audit", "verify", "--tenant", self.tenant)
        self.assertTrue(r.stdout.startswith("ok: "), r.stdout)


class T387FirstEntryOfAChain(FBase):
    """A tenant with no audit entry yet has no head row: its first
    actions, many at once, all succeed and the chain starts at 1."""

    def test_first_entries(self):
        ids = self.fresh(*(["low", "high"] * 6))
        t = q(self.tenant_id)
        STACK.sql("DELETE FROM audit_log WHERE tenant_id = %s; "
                  "DELETE FROM audit_heads WHERE tenant_id = %s; "
                  "DELETE FROM list_counts WHERE tenant_id = %s AND "
                  "list = 'audit'" % (t, t, t), database="vigil")
        urls = [b for _, b in self.frontends()]
        barrier = threading.Barrier(len(ids))

        def go(k):
            barrier.wait()
            return self.act(urls[k % len(urls)], ids[k], "accept",
                            {"justification": "t387"})

        with concurrent.futures.ThreadPoolExecutor(len(ids)) as ex:
            rs = [f.result() for f in [ex.submit(go, k)
                                       for k in range(len(ids))]]
        self.assertEqual([r.status for r in rs], [200] * len(ids), rs)
        chain = STACK.query("SELECT seq, prev_hash, hash FROM audit_log "
                            "WHERE tenant_id = %s ORDER BY seq" % t)
        self.assertEqual([int(c[0]) for c in chain],
                         list(range(1, len(ids) + 1)))
        r = STACK.vigilctl("audit", "verify", "--tenant", self.tenant)
        self.assertEqual(r.stdout.strip(), "ok: tenant %s, %d entries, "
                         "head %s" % (self.tenant, len(ids), chain[-1][2]))


T43_TABLE = {
    "open": {"accept": "accepted", "resolve": "resolved",
             "snooze": "snoozed", "dismiss": "dismissed"},
    "accepted": {"accept": "accepted", "resolve": "resolved",
                 "snooze": None, "dismiss": "dismissed"},
    "snoozed": {"accept": "accepted", "resolve": "resolved",
                "snooze": "snoozed", "dismiss": "dismissed"},
    "resolved": {"accept": None, "resolve": None, "snooze": None,
                 "dismiss": "dismissed"},
    "dismissed": {"accept": None, "resolve": None, "snooze": None,
                  "dismiss": None},
}


def sql_session(script):
    """script run by a mariadb client of its own (root, through the
    socket), started and left running: its Popen (text output)."""
    return stackmod.subprocess.Popen(
        [stackmod.which("mariadb", "mysql"), "--no-defaults", "-S",
         STACK.db_sock, "-uroot", "-N", "-B", "-e", script],
        stdin=stackmod.subprocess.DEVNULL, stdout=stackmod.subprocess.PIPE,
        stderr=stackmod.subprocess.STDOUT, text=True)


class T48cDeadlockReplay(FBase):
    """A findings transaction that the server rolls back as a deadlock
    victim (as Galera rolls back one of two conflicting commits, error
    1213) is run again, and the client gets the answer of one run: 200,
    with one history entry, event and audit entry (a 503 before)."""

    def test_patch_replayed_after_deadlock(self):
        base = STACK.urls()["nginx"]
        fid = self.fresh("low")
        n0 = len(db_history(self.tenant_id, fid))
        e0 = len(db_events(self.tenant_id, fid))
        a0 = len(db_audit(self.tenant_id))
        STACK.sql("CREATE DATABASE IF NOT EXISTS vigil_scratch; "
                  "CREATE TABLE IF NOT EXISTS vigil_scratch.heavy "
                  "(id INT PRIMARY KEY AUTO_INCREMENT, v INT) "
                  "ENGINE=InnoDB")
        # The other transaction holds the finding, made heavier than the
        # PATCH's (many rows written) so that InnoDB picks the PATCH as
        # the victim; then, while the PATCH holds the tenant and waits
        # for the finding, it asks for the tenant: a deadlock.
        script = (
            "START TRANSACTION; "
            "INSERT INTO vigil_scratch.heavy (v) SELECT seq FROM "
            "vigil_scratch.seq_1_to_2000; "
            "SELECT id FROM vigil.findings WHERE tenant_id = '%s' AND "
            "id = '%s' FOR UPDATE; "
            "SELECT SLEEP(1.5); "
            "SELECT id FROM vigil.tenants WHERE id = '%s' FOR UPDATE; "
            "SELECT SLEEP(0.3); ROLLBACK;" % (self.tenant_id, fid,
                                              self.tenant_id))
        holder = sql_session(script)
        try:
            time.sleep(0.7)
            r = request(base, "PATCH", "/api/v1/findings/" + fid,
                        {"notes": "replayed"}, auth(self.wkey))
        finally:
            out = holder.communicate(timeout=30)[0]
        self.assertEqual(r.status, 200, (r, out))
        self.assertEqual(r.json()["notes"], "replayed", r)
        self.assertIn("Deadlock", open(STACK.logfile("vigil-api.log"),
                                       errors="replace").read(), out)
        self.assertEqual(len(db_history(self.tenant_id, fid)), n0 + 1)
        self.assertEqual(len(db_events(self.tenant_id, fid)), e0 + 1)
        self.assertEqual(len(db_audit(self.tenant_id)), a0 + 1)


class T421KilledStatementReplay(FBase):
    """A statement of a findings transaction that the server stops
    (KILL QUERY from an operator, or a server on its way down: error
    1317) loses the transaction, not the request: it is run again on a
    new connection and the client gets the answer of one run (a 500
    before), and vigil-api's log names the server's error number."""

    def test_patch_replayed_after_kill_query(self):
        base = STACK.urls()["nginx"]
        fid = self.fresh("low")
        n0 = len(db_history(self.tenant_id, fid))
        e0 = len(db_events(self.tenant_id, fid))
        a0 = len(db_audit(self.tenant_id))
        log = STACK.logfile("vigil-api.log")
        size0 = os.path.getsize(log)
        # The tenant's row held long enough for the PATCH to wait for it
        # and be killed there; released before the replay needs it.
        script = ("START TRANSACTION; "
                  "SELECT id FROM vigil.tenants WHERE id = '%s' FOR UPDATE; "
                  "SELECT SLEEP(2.5); ROLLBACK;" % self.tenant_id)
        holder = sql_session(script)
        killed = []

        def killer():
            # the PATCH's statement waiting for the tenant's row
            for _ in range(40):
                time.sleep(0.05)
                ids = STACK.query(
                    "SELECT id FROM information_schema.processlist "
                    "WHERE user = 'vigil' AND command <> 'Sleep' AND "
                    "info LIKE '%tenants%FOR UPDATE%'", None)
                if ids:
                    for (cid,) in ids:
                        STACK.sql("KILL QUERY %s" % cid, check=False)
                        killed.append(cid)
                    return

        try:
            time.sleep(0.3)
            t = threading.Thread(target=killer)
            t.start()
            r = request(base, "PATCH", "/api/v1/findings/" + fid,
                        {"notes": "after a kill"}, auth(self.wkey))
            t.join()
        finally:
            out = holder.communicate(timeout=30)[0]
        self.assertTrue(killed, (r, out))
        self.assertEqual(r.status, 200, (r, out))
        self.assertEqual(r.json()["notes"], "after a kill", r)
        with open(log, errors="replace") as f:
            f.seek(size0)
            self.assertIn("error 1317", f.read())
        self.assertEqual(len(db_history(self.tenant_id, fid)), n0 + 1)
        self.assertEqual(len(db_events(self.tenant_id, fid)), e0 + 1)
        self.assertEqual(len(db_audit(self.tenant_id)), a0 + 1)


class T49Atomicity(FBase):
    """A failure in the middle of a write leaves nothing behind; a write
    is one transaction with its history, audit entry and event."""

    def test_failure_mid_write(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                fid = self.fresh("high")
                row, n = db_row(self.tenant_id, fid), counts(self.tenant_id)
                audit = db_audit(self.tenant_id)
                body = {"justification": "will fail", "user": "x@y"}
                STACK.sql("RENAME TABLE events TO events_x",
                          database="vigil")
                try:
                    r = self.act(base, fid, "accept", body)
                    self.assertIn(r.status, (500, 503), r)
                    self.assert_error(r, r.status, "internal_error"
                                      if r.status == 500 else
                                      "service_unavailable")
                    self.assertNotIn("events", r.body.decode(), r)
                finally:
                    STACK.sql("RENAME TABLE events_x TO events",
                              database="vigil")
                self.assertEqual(db_row(self.tenant_id, fid), row)
                self.assertEqual(counts(self.tenant_id), n)
                self.assertEqual(db_audit(self.tenant_id), audit)
                r = self.act(base, fid, "accept", body)
                self.assert_detail(r, fid, "accepted")
                self.assertEqual(db_history(self.tenant_id, fid)[-1][0],
                                 "accept_risk")
                self.assertEqual(db_events(self.tenant_id, fid)[-1][0],
                                 "finding.accepted")

    def test_failure_mid_patch(self):
        base = STACK.urls()["nginx"]
        fid = self.fresh("low")
        row, n = db_row(self.tenant_id, fid), counts(self.tenant_id)
        STACK.sql("RENAME TABLE events TO events_x", database="vigil")
        try:
            r = request(base, "PATCH", "/api/v1/findings/" + fid,
                        {"notes": "lost"}, auth(self.wkey))
            self.assertIn(r.status, (500, 503), r)
            r = request(base, "POST", "/api/v1/findings/bulk",
                        {"action": "resolve", "ids": [fid]}, auth(self.wkey))
            self.assertEqual(r.status, 200, r)
            self.assertIn(r.json()["results"][0]["status"], (500, 503), r)
        finally:
            STACK.sql("RENAME TABLE events_x TO events", database="vigil")
        self.assertEqual(db_row(self.tenant_id, fid), row)
        self.assertEqual(counts(self.tenant_id), n)

    def test_one_transaction(self):
        base = STACK.urls()["nginx"]
        api_doc = OpenApi(os.path.join(STACK.srcdir, "doc", "openapi.json"))
        fid = self.fresh("critical")
        n = counts(self.tenant_id)
        exp = future(86400 * 3)
        r = self.act(base, fid, "accept", {"justification": "tx",
                                           "expires_at": exp,
                                           "user": "tx@x"})
        self.assert_detail(r, fid, "accepted")
        self.assertEqual(counts(self.tenant_id), {
            k: v + 1 for k, v in n.items()})
        row = STACK.query("SELECT state, accepted_until FROM findings WHERE "
                          "tenant_id = %s AND id = %s" % (
                              q(self.tenant_id), q(fid)))
        self.assertEqual(row[0][0], "accepted")
        self.assertEqual(row[0][1], exp.replace("T", " ").rstrip("Z"))
        h = db_history(self.tenant_id, fid)[-1]
        self.assertEqual(h, ("accept_risk", "tx@x", {"justification": "tx",
                                                      "expires_at": exp}))
        a = db_audit(self.tenant_id, fid)
        self.assertEqual([x[2] for x in a], ["detected", "accept_risk"])
        self.assertEqual(a[-1][1:4], ("key:" + self.wkey_id, "accept_risk",
                                      fid))
        self.assertEqual(a[-1][4]["state"], "accepted")
        self.assertEqual(a[-1][4]["history"][0]["action"], "accept_risk")
        ev = db_events(self.tenant_id, fid)
        self.assertEqual(ev[-1][0], "finding.accepted")
        env = ev[-1][1]
        self.assertEqual(env["event_type"], "finding.accepted")
        self.assertEqual(env["tenant_id"], self.tenant_id)
        self.assertEqual(env["data"]["finding"]["id"], fid)
        self.assertEqual(env["data"]["finding"]["state"], "accepted")
        self.assertEqual(set(env["data"]["finding"]), LIST_KEYS)
        self.assertEqual(api_doc.validate(env, {
            "$ref": "#/components/schemas/EventEnvelope"}), [])
        # Every event the suite's tenant has is a valid envelope.
        for t, e in db_events(self.tenant_id):
            self.assertEqual(e["event_type"], t)
            self.assertEqual(api_doc.validate(e, {
                "$ref": "#/components/schemas/EventEnvelope"}), [], e)


# --- settings, posture, audit ---------------------------------------------------------------

class T50Settings(FBase):

    DEFAULTS = {"allow_auto_remediate": False, "scan_interval_minutes": 60,
                "rate_limits": {"read_per_min": None, "write_per_min": None,
                                "ingest_per_min": None},
                "ip_allowlist": [], "updated_at": None}

    def test_get_put(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                tenant, tid = new_tenant("t50")
                key, _ = new_key(tenant, "read,write,admin")
                wkey, _ = new_key(tenant, "read,write")
                r = request(base, "GET", "/api/v1/settings",
                            headers=auth(wkey))
                self.assertEqual(r.status, 200, r)
                self.assert_common_headers(r)
                self.assertEqual(r.json(), self.DEFAULTS)
                r = self.settings_put(base, {"scan_interval_minutes": 30},
                                      key=wkey)
                self.assert_error(r, 403, "insufficient_scope")
                r = self.settings_put(base, {"scan_interval_minutes": 30},
                                      key=key)
                self.assertEqual(r.status, 200, r)
                got = r.json()
                self.assertEqual(got["scan_interval_minutes"], 30)
                self.assertRegex(got["updated_at"] or "", TS_RE)
                want = dict(self.DEFAULTS, scan_interval_minutes=30,
                            updated_at=got["updated_at"])
                self.assertEqual(got, want)
                r = self.settings_put(base, {
                    "allow_auto_remediate": True,
                    "ip_allowlist": ["192.0.2.7", "10.0.0.0/8",
                                     "2001:DB8::/32", "127.0.0.0/8"]},
                    key=key)
                self.assertEqual(r.status, 200, r)
                got = r.json()
                self.assertIs(got["allow_auto_remediate"], True)
                self.assertEqual(got["scan_interval_minutes"], 30)
                self.assertEqual(got["ip_allowlist"],
                                 ["192.0.2.7/32", "10.0.0.0/8",
                                  "2001:db8::/32", "127.0.0.0/8"])
                r = request(base, "GET", "/api/v1/settings",
                            headers=auth(key))
                self.assertEqual(r.json(), got)
                stored = r.json()
                for body, field in (
                        ({"scan_interval_minutes": 1},
                         "scan_interval_minutes"),
                        ({"scan_interval_minutes": 1441},
                         "scan_interval_minutes"),
                        ({"scan_interval_minutes": "30"},
                         "scan_interval_minutes"),
                        ({"scan_interval_minutes": None},
                         "scan_interval_minutes"),
                        ({"allow_auto_remediate": "yes"},
                         "allow_auto_remediate"),
                        ({"allow_auto_remediate": 1},
                         "allow_auto_remediate"),
                        ({"ip_allowlist": ["10.0.0.1/33"]}, None),
                        ({"ip_allowlist": ["10.0.0.1/24"]}, None),
                        ({"ip_allowlist": ["not an ip"]}, None),
                        ({"ip_allowlist": "10.0.0.0/8"}, "ip_allowlist"),
                        ({"ip_allowlist": ["10.0.0.0/8"] * 101},
                         "ip_allowlist"),
                        ({"rate_limits": {"read_per_min": 0}}, None),
                        ({"rate_limits": {"burst": 3}}, None),
                        ({"rate_limits": 5}, "rate_limits"),
                        ({"allow_auto_remediate": False, "owner": "x"},
                         "owner"),
                        ({}, "body")):
                    r = self.settings_put(base, body, key=key)
                    e = self.assert_error(r, 400, "invalid_request", field)
                    if field is None:
                        self.assertRegex(e["details"].get("field", ""),
                                         r"^(ip_allowlist|rate_limits)", r)
                r = self.settings_put(base, None, key=key)
                self.assert_error(r, 400, "invalid_request", "body")
                r = request(base, "GET", "/api/v1/settings?x=1",
                            headers=auth(key))
                self.assert_error(r, 400, "invalid_request", "x")
                r = request(base, "GET", "/api/v1/settings",
                            headers=auth(key))
                self.assertEqual(r.json(), stored)
                a = [x for x in db_audit(tid) if x[2] == "settings.update"]
                self.assertEqual(len(a), 2)
                self.assertEqual(a[-1][4], stored)



class T51Allowlist(FBase):
    """The IP allowlist is enforced: REMOTE_ADDR, or X-Forwarded-For from
    vigil.conf's trusted_proxies; a PUT that would lock its own client
    out is refused."""

    def set_list(self, tid, cidrs):
        STACK.sql("INSERT INTO tenant_settings (tenant_id, "
                  "allow_auto_remediate, scan_interval_minutes, "
                  "ip_allowlist, updated_at) VALUES (%s, 0, 60, %s, "
                  "UTC_TIMESTAMP()) ON DUPLICATE KEY UPDATE ip_allowlist = "
                  "VALUES(ip_allowlist)" % (q(tid), q(json.dumps(cidrs))),
                  database="vigil")
        time.sleep(1.1)      # every worker's cache of it is a second

    def test_enforced(self):
        tenant, tid = new_tenant("t51")
        key, _ = new_key(tenant, "read,write,admin")
        other, _ = new_tenant("t51o")
        okey, _ = new_key(other, "read,write,admin")
        base = STACK.urls()["nginx"]
        # Locking oneself out is refused, and changes nothing.
        r = self.settings_put(base, {"ip_allowlist": ["10.0.0.0/8"]},
                              key=key)
        self.assert_error(r, 400, "invalid_request", "ip_allowlist")
        r = request(base, "GET", "/api/v1/settings", headers=auth(key))
        self.assertEqual(r.json()["ip_allowlist"], [])
        r = self.settings_put(base, {"ip_allowlist": [
            "10.0.0.0/8", "127.0.0.1"]}, key=key)
        self.assertEqual(r.status, 200, r)
        time.sleep(1.1)
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "GET", "/api/v1/findings",
                            headers=auth(key))
                self.assertEqual(r.status, 200, r)
        # Set behind its back: every route refuses, after auth (a bad key
        # is still 401) and before anything else; other tenants are not
        # touched.
        gone, gone_id = new_key(tenant, "read")
        STACK.vigilctl("key", "revoke", gone_id)
        self.set_list(tid, ["10.0.0.0/8", "::1/128"])
        before = counts(tid)
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                for method, path, body in (
                        ("GET", "/api/v1/settings", None),
                        ("GET", "/api/v1/findings", None),
                        ("PUT", "/api/v1/settings", {"ip_allowlist": []}),
                        ("POST", "/api/v1/findings/bulk",
                         {"action": "dismiss", "ids": ["x"]})):
                    r = request(base, method, path, body, headers=auth(key))
                    self.assert_error(r, 403, "ip_not_allowed")
                    # refused before counting: no rate-limit state
                    self.assertNotIn("X-RateLimit-Limit", r.headers)
                r = request(base, "GET", "/api/v1/settings",
                            headers=auth("vgl_" + "A" * 40))
                self.assert_error(r, 401, "invalid_license_key")
                # a revoked key gets its 401, not a hint that it exists
                r = request(base, "GET", "/api/v1/settings",
                            headers=auth(gone))
                self.assert_error(r, 401, "invalid_license_key")
                r = request(base, "GET", "/api/v1/settings",
                            headers=auth(okey))
                self.assertEqual(r.status, 200, r)
        self.assertEqual(counts(tid), before)
        self.assertEqual(json.loads(STACK.query(
            "SELECT ip_allowlist FROM tenant_settings WHERE tenant_id = %s"
            % q(tid))[0][0]), ["10.0.0.0/8", "::1/128"])
        # A list that cannot be read (a hand edit) refuses, never opens.
        for text in ('["127.0.0.1/32 "]', '"127.0.0.1"', "[1]", "{}",
                     "not json"):
            with self.subTest(stored=text):
                STACK.sql("UPDATE tenant_settings SET ip_allowlist = %s "
                          "WHERE tenant_id = %s" % (q(text), q(tid)),
                          database="vigil")
                time.sleep(1.1)
                r = request(STACK.urls()["nginx"], "GET", "/api/v1/settings",
                            headers=auth(key))
                self.assert_error(r, 403, "ip_not_allowed")
        self.set_list(tid, [])

    def test_trusted_proxies(self):
        tenant, tid = new_tenant("t51p")
        key, _ = new_key(tenant, "read,write,admin")
        base = STACK.urls()["nginx"]
        try:
            STACK.write_conf(trusted_proxies="127.0.0.1, 10.9.0.0/16")
            STACK.api_stop()
            STACK.api_start(workers=WORKERS)

            def get(xff):
                h = auth(key)
                if xff is not None:
                    h["X-Forwarded-For"] = xff
                return request(base, "GET", "/api/v1/settings", headers=h)

            def put(xff, cidrs):
                h = auth(key)
                h["X-Forwarded-For"] = xff
                return request(base, "PUT", "/api/v1/settings",
                               {"ip_allowlist": cidrs}, headers=h)
            # The lockout guard reads the client through the proxy.
            self.assert_error(put("10.1.2.3", ["192.0.2.0/24"]), 400,
                              "invalid_request", "ip_allowlist")
            r = put("192.0.2.9", ["192.0.2.0/24"])
            self.assertEqual(r.status, 200, r)
            time.sleep(1.1)
            self.assertEqual(get("192.0.2.9").status, 200)
            # the proxies' own hops are skipped, from the right
            self.assertEqual(get("192.0.2.9, 10.9.1.1").status, 200)
            for xff in ("10.1.2.3", "192.0.2.9, 198.51.100.1",
                        "198.51.100.1, 10.9.1.1", None, "", "junk",
                        "192.0.2.9/32", "10.9.1.1"):
                with self.subTest(xff=xff):
                    self.assert_error(get(xff), 403, "ip_not_allowed")
            # a client cannot smuggle an address in front
            self.assert_error(get("192.0.2.9, 203.0.113.5"), 403,
                              "ip_not_allowed")
            # nor in a header line of its own before the proxy's (nginx
            # 1.22 passes a repeated header as two parameters)
            u = urllib.parse.urlsplit(base)
            for lines, want in ((["192.0.2.9", "198.51.100.1"], 403),
                                (["198.51.100.1", "192.0.2.9"], 200)):
                c = http.client.HTTPConnection(u.hostname, u.port,
                                               timeout=30)
                c.putrequest("GET", "/api/v1/settings")
                c.putheader("X-API-Key", key)
                for v in lines:
                    c.putheader("X-Forwarded-For", v)
                c.endheaders()
                resp = c.getresponse()
                resp.read()
                c.close()
                self.assertEqual(resp.status, want, lines)
        finally:
            STACK.write_conf(trusted_proxies="")
            STACK.api_stop()
            STACK.api_start(workers=WORKERS)
        # Without trusted proxies X-Forwarded-For is ignored: the peer
        # (127.0.0.1) is not in the list.
        time.sleep(1.1)
        h = auth(key)
        h["X-Forwarded-For"] = "192.0.2.9"
        r = request(base, "GET", "/api/v1/settings", headers=h)
        self.assert_error(r, 403, "ip_not_allowed")
        self.set_list(tid, [])
        r = request(base, "GET", "/api/v1/settings", headers=auth(key))
        self.assertEqual(r.status, 200, r)

class T51Posture(FBase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ents = [entry("critical", category="network", sub="s1"),
                entry("high", category="network", sub="s1"),
                entry("high", category="storage", sub="s2"),
                entry("low", category="identity", sub="s2"),
                entry("critical", category="network", sub="s3")]
        import_findings(cls.tenant, ents)
        cls.ids = [eid(e) for e in ents]
        base = STACK.urls()["nginx"]
        r = request(base, "POST", "/api/v1/findings/%s/accept" % cls.ids[4],
                    {"justification": "not counted"}, auth(cls.key))
        assert r.status == 200, r

    def test_risk_score(self):
        # 1 - (0.6 * 0.85 * 0.85 * 0.99) = 0.5708 -> 57, High.
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r1 = request(base, "GET", "/api/v1/risk-score",
                             headers=auth(self.key))
                r2 = request(base, "GET", "/api/v1/risk-score",
                             headers=auth(self.key))
                self.assertEqual(r1.status, 200, r1)
                self.assert_common_headers(r1)
                self.assertEqual(r1.body, r2.body)
                b = r1.json()
                self.assertIsInstance(b["score"], int)
                self.assertTrue(0 <= b["score"] <= 100)
                self.assertEqual(b["score"], 57)
                self.assertEqual(b["label"], "High")
                self.assertEqual(b["severity_counts"], {
                    "critical": 1, "high": 2, "medium": 0, "low": 1,
                    "info": 0})
                self.assertEqual(b["total_findings"], 4)
                top = b["top_risks"]
                self.assertEqual([t["id"] for t in top][:1], [self.ids[0]])
                self.assertEqual(len(top), 4)
                self.assertNotIn(self.ids[4], [t["id"] for t in top])
                for t in top:
                    self.assertEqual(set(t), {"id", "title", "severity",
                                              "category", "resource_id",
                                              "detected_at"})
                r = request(base, "GET", "/api/v1/risk-score?x=1",
                            headers=auth(self.key))
                self.assertEqual(r.status, 400, r)

    def test_empty_tenant(self):
        tenant, _ = new_tenant("t51empty")
        key, _ = new_key(tenant, "read")
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "GET", "/api/v1/risk-score",
                            headers=auth(key))
                self.assertEqual(r.status, 200, r)
                b = r.json()
                self.assertEqual((b["score"], b["label"], b["top_risks"],
                                  b["total_findings"]), (0, "Low", [], 0))
                r = request(base, "GET", "/api/v1/posture-summary",
                            headers=auth(key))
                self.assertEqual(r.status, 200, r)
                self.assertIsInstance(r.json()["summary"], str)

    def test_posture_summary(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r1 = request(base, "GET", "/api/v1/posture-summary",
                             headers=auth(self.key))
                r2 = request(base, "GET", "/api/v1/posture-summary",
                             headers=auth(self.key))
                self.assertEqual(r1.status, 200, r1)
                self.assert_common_headers(r1)
                self.assertEqual(r1.body, r2.body)
                b = r1.json()
                self.assertIsInstance(b["summary"], str)
                self.assertIn("4", b["summary"])
                m = b["metrics"]
                self.assertEqual((m["risk_score"], m["risk_label"],
                                  m["total_findings"]), (57, "High", 4))
                self.assertEqual(m["severity_counts"]["high"], 2)
                self.assertEqual(m["state_counts"], {
                    "open": 4, "accepted": 1, "snoozed": 0, "resolved": 0,
                    "dismissed": 0, "muted": 0})
                self.assertEqual(m["subscriptions_affected"], 2)
                self.assertEqual(m["resources_affected"], 4)
                cats = {c["category"]: c["open"] for c in m["categories"]}
                self.assertEqual(cats, {"network": 2, "storage": 1,
                                        "identity": 1})


class T376TopRisksTies(FBase):
    """The top risks among findings of one severity detected in the same
    second (a scan's or an import's): in the order they were stored (seq,
    findings_top's last key since 0054), not by id; run again, 0054
    leaves the index as it was."""

    def top(self):
        r = request(STACK.urls()["nginx"], "GET", "/api/v1/risk-score",
                    headers=auth(self.key))
        self.assertEqual(r.status, 200, r)
        return [t["id"] for t in r.json()["top_risks"]]

    def test_ties_by_seq(self):
        ents = sorted((entry("critical") for _ in range(6)), key=eid)
        # The larger ids stored first: their seq order is not id order.
        import_findings(self.tenant, ents[3:], reconcile=False)
        import_findings(self.tenant, ents[:3], reconcile=False)
        t = q(self.tenant_id)
        STACK.sql("UPDATE findings SET detected_at = '2026-01-02 03:04:05' "
                  "WHERE tenant_id = %s" % t, database="vigil")
        by_seq = [r[0] for r in STACK.query(
            "SELECT id FROM findings WHERE tenant_id = %s AND state = "
            "'open' ORDER BY seq LIMIT 5" % t)]
        self.assertEqual(by_seq, [eid(e) for e in ents[3:] + ents[:2]])
        self.assertEqual(self.top(), by_seq)
        cols = ("SELECT GROUP_CONCAT(column_name ORDER BY seq_in_index) "
                "FROM information_schema.statistics WHERE table_schema = "
                "'vigil' AND table_name = 'findings' AND index_name = "
                "'findings_top'")
        self.assertEqual(STACK.query(cols), [
            ["tenant_id,state,severity,detected_at"]])
        with open(os.path.join(STACK.srcdir, "db", "migrations",
                               "0054_findings_top_by_seq.sql")) as f:
            sql = f.read()
        for _ in range(2):
            STACK.sql(sql, database="vigil")
        self.assertEqual(STACK.query(cols), [
            ["tenant_id,state,severity,detected_at"]])
        self.assertEqual(self.top(), by_seq)


class T52Audit(FBase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ents = [entry("medium") for _ in range(4)]
        import_findings(cls.tenant, ents)
        cls.ids = [eid(e) for e in ents]
        base = STACK.urls()["nginx"]
        for fid, (a, b) in zip(cls.ids, (
                ("accept", {"justification": "a"}), ("resolve", None),
                ("snooze", {"days": 4}), ("dismiss", {"reason": "d"}))):
            r = request(base, "POST", "/api/v1/findings/%s/%s" % (fid, a), b,
                        auth(cls.key))
            assert r.status == 200, r
        r = request(base, "PUT", "/api/v1/settings",
                    {"scan_interval_minutes": 120}, auth(cls.key))
        assert r.status == 200, r

    def test_list(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "GET", "/api/v1/audit",
                            headers=auth(self.key))
                self.assertEqual(r.status, 200, r)
                self.assert_common_headers(r)
                b = r.json()
                self.assertEqual(set(b), {"entries", "total", "has_more",
                                          "next_cursor"})
                acts = [(e["action"], e["object"]) for e in b["entries"]]
                for fid, act in zip(self.ids, ("accept_risk", "resolved",
                                               "snoozed", "dismissed")):
                    self.assertIn((act, fid), acts)
                self.assertIn(("settings.update", self.tenant_id), acts)
                seqs = [e["seq"] for e in b["entries"]]
                self.assertEqual(seqs, sorted(seqs, reverse=True))
                self.assertEqual(b["total"], len(db_audit(self.tenant_id)))
                # Pagination: the union is the whole, once each.
                got, cursor = [], None
                while True:
                    path = "/api/v1/audit?limit=2" + (
                        "&cursor=" + cursor if cursor else "")
                    r = request(base, "GET", path, headers=auth(self.key))
                    self.assertEqual(r.status, 200, r)
                    page = r.json()
                    self.assertLessEqual(len(page["entries"]), 2)
                    got += [e["id"] for e in page["entries"]]
                    if not page["has_more"]:
                        self.assertIsNone(page["next_cursor"])
                        break
                    cursor = page["next_cursor"]
                self.assertEqual(got, [e["id"] for e in b["entries"]])
                r = request(base, "GET", "/api/v1/audit?action=dismissed",
                            headers=auth(self.key))
                self.assertEqual([e["object"] for e in r.json()["entries"]],
                                 [self.ids[3]])
                for qs, field in (("limit=0", "limit"), ("limit=x", "limit"),
                                  ("cursor=zz", "cursor"), ("foo=1", "foo"),
                                  ("since=x", "since"),
                                  ("action=DROP%20TABLE", "action")):
                    r = request(base, "GET", "/api/v1/audit?" + qs,
                                headers=auth(self.key))
                    self.assert_error(r, 400, "invalid_request", field)
                r = request(base, "GET", "/api/v1/audit",
                            headers=auth(self.wkey))
                self.assert_error(r, 403, "insufficient_scope")

    def test_export_and_verify(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "POST", "/api/v1/audit/export", None,
                            auth(self.key))
                self.assertEqual(r.status, 200, r)
                self.assert_common_headers(r)
                b = r.json()
                entries = b["entries"]
                rows = db_audit(self.tenant_id)
                self.assertEqual([e["seq"] for e in entries],
                                 [x[0] for x in rows])
                self.assertEqual(b["chain_head"], {"seq": entries[-1]["seq"],
                                                   "hash": entries[-1]["hash"]})
                self.assertEqual(b["tenant_id"], self.tenant_id)
                self.assertIs(b["truncated"], False)
                # The chain, recomputed as README documents it.
                prev = "0" * 64
                for e in entries:
                    self.assertEqual(e["prev_hash"], prev)
                    at = e["at"].replace("T", " ").rstrip("Z")
                    text = json.dumps([prev, e["seq"], at, e["actor"],
                                       e["action"], e["object"],
                                       e["detail_text"]],
                                      separators=(",", ":"),
                                      ensure_ascii=False)
                    self.assertEqual(hashlib.sha256(text.encode()
                                                    ).hexdigest(),
                                     e["hash"], e)
                    prev = e["hash"]
                r = request(base, "POST", "/api/v1/audit/export",
                            {"since": "2001-01-01T00:00:00Z",
                             "until": rfc3339(time.time() + 60)},
                            auth(self.key))
                self.assertEqual(r.status, 200, r)
                self.assertEqual(len(r.json()["entries"]), len(entries))
                for body, field in (({"since": "x"}, "since"),
                                    ({"until": 5}, "until"),
                                    ({"limit": 5}, "limit")):
                    r = request(base, "POST", "/api/v1/audit/export", body,
                                auth(self.key))
                    self.assert_error(r, 400, "invalid_request", field)
                r = request(base, "POST", "/api/v1/audit/export", None,
                            auth(self.wkey))
                self.assert_error(r, 403, "insufficient_scope")
                head = b["chain_head"]
                v = STACK.vigilctl("audit", "verify", "--tenant",
                                   self.tenant, "--head", "%d:%s" % (
                                       head["seq"], head["hash"]))
                self.assertEqual(v.stdout.strip(), "ok: tenant %s, %d "
                                 "entries, head %s" % (
                                     self.tenant, len(entries),
                                     head["hash"]))
        v = STACK.vigilctl("audit", "verify", check=False)
        self.assertEqual(v.returncode, 0, v.stdout)
        self.assertNotIn("TAMPERED", v.stdout)


# --- hostile input ---------------------------------------------------------------------

class T53HostileInput(FBase):

    def endpoints(self, fid):
        return [("POST", "/api/v1/findings/%s/accept" % fid),
                ("POST", "/api/v1/findings/%s/resolve" % fid),
                ("POST", "/api/v1/findings/%s/remediate" % fid),
                ("POST", "/api/v1/findings/%s/snooze" % fid),
                ("POST", "/api/v1/findings/%s/dismiss" % fid),
                ("POST", "/api/v1/findings/%s/remediation/approve" % fid),
                ("PATCH", "/api/v1/findings/" + fid),
                ("POST", "/api/v1/findings/bulk"),
                ("PUT", "/api/v1/settings"),
                ("POST", "/api/v1/audit/export")]

    def test_bodies(self):
        big = b'{"justification":"' + b"a" * (MIB + 1024) + b'"}'
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                fid = self.fresh("low")
                row, n = db_row(self.tenant_id, fid), counts(self.tenant_id)
                with self.same_workers():
                    for method, path in self.endpoints(fid):
                        h = {"Content-Type": "application/json",
                             **auth(self.key)}
                        for b in (b'{"reason":', b"{", b"nul",
                                  b'{"a":1}garbage', b"\x00",
                                  b'{"user":"\xff\xfe"}',
                                  b'{"user":"\xed\xa0\x80"}',
                                  b'{"\xe2\x82":"x"}',
                                  b'{"a":' * 40 + b"1" + b"}" * 40,
                                  b"[]", b'"s"', b"1", b"null"):
                            r = request(base, method, path, b, h)
                            self.assert_error(r, 400, "invalid_request",
                                              "body")
                        for ct in ("text/plain",
                                   "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x"):
                            r = request(base, method, path,
                                        b'{"reason":"x","days":3}',
                                        {"Content-Type": ct,
                                         **auth(self.key)})
                            self.assert_error(r, 415,
                                              "unsupported_media_type")
                        r = request(base, method, path,
                                    b'{"reason":"x"}', auth(self.key))
                        self.assert_error(r, 415, "unsupported_media_type")
                        r = request(base, method, path, big, h)
                        self.assert_error(r, 413, "payload_too_large")
                        r = request(base, method, path, big, h, chunked=True)
                        self.assert_error(r, 413, "payload_too_large")
                self.assertEqual(db_row(self.tenant_id, fid), row)
                self.assertEqual(counts(self.tenant_id), n)

    def test_wrong_types(self):
        cases = [
            ("accept", {"justification": "x" * 5000}, "justification"),
            ("accept", {"justification": {"a": 1}}, "justification"),
            ("accept", {"justification": True}, "justification"),
            ("accept", {"justification": "j", "expires_at": []},
             "expires_at"),
            ("accept", {"justification": "j", "expires_at":
                        "2099-02-30T00:00:00Z"}, "expires_at"),
            ("accept", {"justification": "j", "user": "u" * 5000}, "user"),
            ("accept", {"justification": "j", "user": None}, "user"),
            ("resolve", {"evidence": ["e"]}, "evidence"),
            ("resolve", {"user": {"n": 1}}, "user"),
            ("remediate", {"approval_required": "true"},
             "approval_required"),
            ("remediate", {"approval_required": None}, "approval_required"),
            ("snooze", {"days": "7"}, "days"),
            ("snooze", {"days": [7]}, "days"),
            ("snooze", {"days": 1e3}, "days"),
            ("snooze", {"days": 7, "until": "x"}, "until"),
            ("dismiss", {"reason": None}, "reason"),
            ("dismiss", {"reason": "x" * 5000}, "reason"),
            ("dismiss", {"reason": {"r": 1}}, "reason"),
        ]
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                fid = self.fresh("medium")
                row, n = db_row(self.tenant_id, fid), counts(self.tenant_id)
                with self.same_workers():
                    for action, body, field in cases:
                        with self.subTest(action=action, body=str(body)[:60]):
                            r = self.act(base, fid, action, body)
                            self.assert_error(r, 400, "invalid_request",
                                              field)
                        # The same through bulk.
                        with self.subTest(bulk=action, body=str(body)[:60]):
                            r = request(base, "POST",
                                        "/api/v1/findings/bulk",
                                        dict(body, action=action, ids=[fid]),
                                        auth(self.wkey))
                            self.assert_error(r, 400, "invalid_request",
                                              field)
                    self.assertEqual(db_row(self.tenant_id, fid), row)
                    self.assertEqual(counts(self.tenant_id), n)
                    # Hostile text where text is allowed: stored as is.
                    fid = self.fresh("medium")
                    for evil in SQL_EVIL + ["\u202e", "\U0001F600" * 5]:
                        r = self.act(base, fid, "snooze", {"days": 3,
                                                           "user": evil})
                        self.assert_detail(r, fid, "snoozed")
                        self.assertEqual(self.history(base, fid)[-1]["by"],
                                         evil)
                self.assertEqual(self.get(base, fid)["state"], "snoozed")
                self.assertEqual(len(db_history(self.tenant_id, fid)),
                                 1 + len(SQL_EVIL) + 2)

    def test_repeated_keys_and_control_characters(self):
        """On a real finding: a repeated key, a control character where
        none may be, a repeated query parameter, a body on GET; each 400
        naming what, and the finding, its history, events and audit log
        untouched."""
        base = STACK.urls()["nginx"]
        fid = self.fresh("low")
        row, n = db_row(self.tenant_id, fid), counts(self.tenant_id)
        h = {"Content-Type": "application/json", **auth(self.wkey)}
        for method, path, raw, field in (
                ("POST", "accept", '{"justification":"a",'
                 '"justification":"b"}', "justification"),
                ("POST", "snooze", '{"days":3,"days":90}', "days"),
                ("POST", "snooze", '{"days":3,"user":"a","\\u0075ser":"b"}',
                 "user"),
                ("POST", "dismiss", '{"reason":"r","user":"x\\u001b[8m"}',
                 "user"),
                ("POST", "accept", '{"justification":"\\u001b]52;c;x\\u0007"}',
                 "justification"),
                ("PATCH", "", '{"assignee":"eve\\r\\nX-Forged: 1"}',
                 "assignee"),
                ("PATCH", "", '{"notes":"a","notes":"b"}', "notes"),
                ("POST", "bulk", '{"action":"snooze","ids":["%s"],'
                 '"days":3,"ids":["%s"]}' % (fid, fid), "ids")):
            url = ("/api/v1/findings/bulk" if path == "bulk" else
                   "/api/v1/findings/%s%s" % (fid, "/" + path if path
                                               else ""))
            with self.subTest(path=path, raw=raw):
                r = request(base, method, url, raw, h)
                self.assert_error(r, 400, "invalid_request", field)
        r = request(base, "GET", "/api/v1/findings/%s" % fid, b"{}", h)
        self.assert_error(r, 400, "invalid_request", "body")
        r = request(base, "GET", "/api/v1/findings?state=all&state=open",
                    headers=auth(self.wkey))
        self.assert_error(r, 400, "invalid_request", "state")
        self.assertEqual(db_row(self.tenant_id, fid), row)
        self.assertEqual(counts(self.tenant_id), n)

    def test_import_refuses_repeated_keys_and_controls(self):
        e = entry("low")
        for text, what in (
                ('{"findings":[%s,"title":"again"}]}' % json.dumps(e)[:-1],
                 "findings[0].title"),
                (json.dumps({"findings": [dict(e, title="t\u001b[2J")]}),
                 "title")):
            path = os.path.join(TMP, "import-bad-%d.json" % next(_seq))
            with open(path, "w") as f:
                f.write(text)
            r = STACK.vigilctl("findings", "import", "--tenant", self.tenant,
                               path, check=False)
            self.assertEqual(r.returncode, 65, r.stderr)
            self.assertIn(what, r.stderr)
            self.assertNotIn("\x1b", r.stderr.replace("\\x1b", ""))
        self.assertEqual(db_row(self.tenant_id, eid(e)), [])


# --- the contract ----------------------------------------------------------------------

class T54GetOneStatement(FBase):
    """GET /findings/{id} reads the finding and the sources reporting it
    in one statement (a join): the key's checks still apply to it, and
    the join never mixes in another tenant's finding or sources, though
    finding ids are slugs two tenants can share."""

    def import_source(self, tenant, ents, source):
        path = os.path.join(TMP, "import-%d.json" % next(_seq))
        with open(path, "w") as f:
            json.dump({"findings": ents}, f)
        STACK.vigilctl("findings", "import", "--tenant", tenant,
                       "--format", "vigil", "--source", source, path)

    def test_sources_are_the_tenants_own(self):
        other, _ = new_tenant("t54other")
        okey, _ = new_key(other, "read")
        third, _ = new_tenant("t54third")
        tkey, _ = new_key(third, "read")
        ent = entry("high")
        fid = eid(ent)
        # Imported last first: the answer lists them by name all the same.
        self.import_source(self.tenant, [ent], "zeta-src")
        self.import_source(self.tenant, [ent], "alpha-src")
        self.import_source(other, [ent], "other-src")
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                got = self.get(base, fid)
                self.assertEqual(got["id"], fid)
                self.assertEqual([x["source"] for x in got["sources"]],
                                 ["alpha-src", "zeta-src"])
                for x in got["sources"]:
                    self.assertEqual(x["format"], "vigil")
                    self.assertRegex(x["first_seen_at"], TS_RE)
                    self.assertRegex(x["last_seen_at"], TS_RE)
                theirs = self.get(base, fid, okey)
                self.assertEqual([x["source"] for x in theirs["sources"]],
                                 ["other-src"])
                r = request(base, "GET", "/api/v1/findings/" + fid,
                            headers=auth(tkey))
                self.assert_error(r, 404, "finding_not_found")
                # vigilctl findings import without --format is the import
                # --format vigil --source import: that one source alone
                plain = self.fresh("low")
                self.assertEqual(
                    [(x["source"], x["format"])
                     for x in self.get(base, plain)["sources"]],
                    [("import", "vigil")])

    def test_key_checks(self):
        fid = self.fresh("medium")
        wo, _ = new_key(self.tenant, "write")
        t0 = int(time.time())
        soon, _ = new_key(self.tenant, "read", expires=rfc3339(t0 + 6))
        doomed, doomed_id = new_key(self.tenant, "read")
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "GET", "/api/v1/findings/" + fid,
                            headers=auth(wo))
                self.assert_error(r, 403, "insufficient_scope")
                self.get(base, fid, soon)
                self.get(base, fid, doomed)
        STACK.vigilctl("key", "revoke", doomed_id)
        revoked = time.monotonic()
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                # a pool learns of a revocation made by vigilctl at its
                # key's next sync: within a second (test_api T03)
                while time.monotonic() - revoked < 3:
                    r = request(base, "GET", "/api/v1/findings/" + fid,
                                headers=auth(doomed))
                    if r.status != 200:
                        break
                    time.sleep(0.05)
                self.assert_error(r, 401, "invalid_license_key")
        time.sleep(max(0.0, t0 + 8 - time.time()))
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "GET", "/api/v1/findings/" + fid,
                            headers=auth(soon))
                self.assert_error(r, 401, "invalid_license_key")


class T370LargePage(FBase):
    """A page of 100 findings whose answer is larger than 64 KB (vigil-api
    writes it as FastCGI records of its own, not through libfcgi's 8 KB
    buffer, and the total comes from the page's own statement): every
    front end gives the same bytes, which are exactly the serialisation of
    what they parse to (nothing lost, doubled or cut at a record's edge);
    the items, their order, the cursor and the total are what the
    database holds; the records on the pool's socket are well formed."""

    N = 130

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Long texts with what JSON must escape (quotes, backslashes, tab,
        # newline), what it need not (slashes) and multi-byte UTF-8, so
        # that the record edges fall inside escapes and characters.
        filler = ('Say "no" to C:\\temp\\ and /etc/passwd;\ttabs,\n'
                  "new lines, caf\u00e9, \u4e2d\u6587, \U0001f512 ") * 10
        cls.entries = []
        for i in range(cls.N):
            e = entry(SEVERITIES[i % 5], category=("network", "storage")[i % 2])
            e["description"] = "%d: %s" % (i, filler)
            e["recommendation"] = "Fix %d. %s" % (i, filler[::-1])
            cls.entries.append(e)
        import_findings(cls.tenant, cls.entries, reconcile=False)
        cls.byid = {eid(e): e for e in cls.entries}

    def db_ids(self, where=""):
        """The tenant's open findings newest first, as the list orders
        them (seq), from the database."""
        return [r[0] for r in STACK.query(
            "SELECT id FROM findings WHERE tenant_id = %s AND state = 'open' "
            "%s ORDER BY seq DESC" % (q(self.tenant_id), where))]

    def db_seq(self, fid):
        return int(STACK.query("SELECT seq FROM findings WHERE tenant_id = %s "
                               "AND id = %s" % (q(self.tenant_id), q(fid)))[0][0])

    def check_page(self, r, want_ids, total):
        self.assertEqual(r.status, 200, r)
        self.assert_common_headers(r)
        body = r.body
        self.assertGreater(len(body), 65536)
        if r.header("Content-Length") is not None:
            self.assertEqual(int(r.header("Content-Length")), len(body))
        page = json.loads(body.decode("utf-8"))
        # Byte for byte what it parses to, in json-c's plain form.
        self.assertEqual(body, json.dumps(
            page, separators=(",", ":"), ensure_ascii=False).encode())
        self.assertEqual(list(page), ["findings", "total", "has_more",
                                      "next_cursor"])
        self.assertEqual([f["id"] for f in page["findings"]], want_ids)
        self.assertEqual(page["total"], total)
        self.assertIs(page["has_more"], len(want_ids) < total)
        self.assertEqual(page["next_cursor"],
                         "s%d" % self.db_seq(want_ids[-1]))
        for f in page["findings"]:
            e = self.byid[f["id"]]
            self.assertEqual(set(f), LIST_KEYS | {"due_at", "overdue"})
            for k in ("title", "severity", "category", "description",
                      "recommendation", "subscription_id", "environment",
                      "resource_id", "layer", "framework"):
                self.assertEqual(f[k], e[k], (f["id"], k))
            self.assertEqual(f["state"], "open")
        return body

    def test_large_page_every_front(self):
        ids = self.db_ids()
        self.assertEqual(len(ids), self.N)
        bodies = {}
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "GET", "/api/v1/findings?limit=100",
                            headers=auth(self.key))
                bodies[name] = self.check_page(r, ids[:100], self.N)
        self.assertEqual(len(set(bodies.values())), 1, list(bodies))
        # The rest of it, and the filtered lists (another statement each).
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                cur = "s%d" % self.db_seq(ids[99])
                page = self.list(base, "limit=100&cursor=" + cur)
                self.assertEqual([f["id"] for f in page["findings"]],
                                 ids[100:])
                self.assertEqual(page["total"], self.N)
                self.assertIs(page["has_more"], False)
                net = self.db_ids("AND category = 'network'")
                page = self.list(base, "limit=100&category=network")
                self.assertEqual([f["id"] for f in page["findings"]], net)
                self.assertEqual(page["total"], len(net))
                hl = self.db_ids("AND severity IN ('high', 'low')")
                page = self.list(base, "limit=100&severity=high,low")
                self.assertEqual([f["id"] for f in page["findings"]], hl)
                self.assertEqual(page["total"], len(hl))
                page = self.list(base, "limit=100&state=all&environment=PROD")
                self.assertEqual(len(page["findings"]), 100)
                self.assertEqual(page["total"], self.N)

    def test_empty_pages_keep_the_total(self):
        """A page past the end, or a filter nothing matches: no items, and
        the total is still the exact count."""
        ids = self.db_ids()
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                last = "s%d" % self.db_seq(ids[-1])
                page = self.list(base, "limit=100&cursor=" + last)
                self.assertEqual(page["findings"], [])
                self.assertEqual(page["total"], self.N)
                self.assertIs(page["has_more"], False)
                self.assertIsNone(page["next_cursor"])
                page = self.list(base, "limit=100&category=nothing-here")
                self.assertEqual((page["findings"], page["total"]), ([], 0))
                page = self.list(base, "limit=100&state=all&environment=NONE")
                self.assertEqual((page["findings"], page["total"]), ([], 0))

    def test_records_on_the_pool_socket(self):
        """The FastCGI answer itself: records of this request only, each
        header's length matching what follows, STDOUT then its empty end
        record then END_REQUEST, and the same bytes nginx passed on."""
        ids = self.db_ids()
        s = api.fcgi_begin(STACK.api_sock, {
            "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": "GET",
            "REQUEST_URI": "/api/v1/findings?limit=100",
            "SCRIPT_NAME": "/api/v1/findings", "QUERY_STRING": "limit=100",
            "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "localhost",
            "SERVER_PORT": "80", "CONTENT_LENGTH": "0",
            "HTTP_X_API_KEY": self.key}, b"")
        s.sendall(api._fcgi_record(5, b""))
        data = b""
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        s.close()
        out, types, ended = b"", [], False
        while data:
            self.assertGreaterEqual(len(data), 8)
            ver, rtype, rid, clen, pad = struct.unpack(">BBHHBx", data[:8])
            self.assertEqual((ver, rid), (1, 1))
            self.assertGreaterEqual(len(data), 8 + clen + pad)
            self.assertFalse(ended, "a record after END_REQUEST")
            if rtype == 6:
                self.assertNotIn(0, [c for t, c in types if t == 6],
                                 "STDOUT after its end")
                out += data[8:8 + clen]
            else:
                self.assertEqual(rtype, 3)
                self.assertEqual(clen, 8)
                self.assertEqual(data[8:16], b"\0" * 8)
                ended = True
            types.append((rtype, clen))
            data = data[8 + clen + pad:]
        self.assertTrue(ended)
        self.assertEqual(types[-2:], [(6, 0), (3, 8)])
        status, hdrs, body = api.parse_cgi(out)
        self.assertEqual(status, 200)
        self.assertEqual(int(hdrs["content-length"]), len(body))
        self.assertGreater(len(body), 65536)
        r = request(STACK.urls()["nginx"], "GET", "/api/v1/findings?limit=100",
                    headers=auth(self.key))
        self.assertEqual(r.status, 200)
        self.assertEqual(body, r.body)
        self.assertEqual([f["id"] for f in json.loads(body)["findings"]],
                         ids[:100])

def lit(s):
    """Any text as a SQL literal (quotes, backslashes and all)."""
    if s is None:
        return "NULL"
    return "_utf8mb4 x'%s'" % s.encode().hex() if s else "''"


def ordered(body):
    """A JSON text as nested lists of (key, value) pairs: equal only when
    the members are the same and in the same order."""
    return json.loads(body, object_pairs_hook=list)


class T365GetOneAnswer(FBase):
    """What GET /findings/{id} answers, every member in its order, for
    findings reported by no import source (a scanner's), by one and by
    two, whatever the statement that reads them: the rows are written
    straight into the tables, with text that needs escaping, so that
    the answer is known to the byte. Another tenant's id is a 404 that
    says no more than one for an id nobody has, and a tenant that has
    the same id sees its own finding and sources only."""

    COLS = ("id", "rule_id", "provider", "subscription_id", "environment",
            "resource_id", "title", "severity", "category", "layer",
            "framework", "description", "recommendation", "evidence",
            "fingerprint", "state", "remediation", "resolved_by",
            "awaiting_scan", "accepted_until", "snoozed_until",
            "detected_at", "updated_at", "last_seen_at", "resolved_at",
            "assignee", "notes", "resource_name", "resource_type",
            "resource_group", "region", "account", "tags", "source",
            "due_at")

    def put(self, tenant_id, row, sources=()):
        vals = []
        for c in self.COLS:
            v = row.get(c)
            vals.append(str(v) if isinstance(v, int) else lit(v))
        STACK.sql("INSERT INTO findings (tenant_id, %s) VALUES (%s, %s)" % (
            ", ".join(self.COLS), q(tenant_id), ", ".join(vals)),
            database="vigil")
        # the due date is the SLA policy's (set by the triggers): as stored
        due = STACK.query("SELECT IFNULL(due_at, '') FROM findings WHERE "
                          "tenant_id = %s AND id = %s" % (
                              q(tenant_id), q(row["id"])))[0][0]
        row["due_at"] = due or None
        for s in sources:
            STACK.sql("INSERT INTO finding_sources (tenant_id, finding_id, "
                      "source, format, external_id, first_seen_at, "
                      "last_seen_at, import_id) VALUES (%s, %s, %s, %s, "
                      "%s, %s, %s, 'imp_t365')" % (
                          q(tenant_id), lit(row["id"]), lit(s[0]),
                          lit(s[1]), lit(s[2]), lit(s[3]), lit(s[4])),
                      database="vigil")

    @staticmethod
    def ts(s):
        return s.replace(" ", "T") + "Z" if s else None

    def expect(self, row, sources):
        """The answer's members in the order README "Findings" shows."""
        st = row["state"]
        ts = self.ts
        out = [(k, row[k]) for k in (
            "id", "title", "severity", "category", "layer",
            "subscription_id", "environment", "resource_id", "framework",
            "description", "recommendation")]
        out += [("detected_at", ts(row["detected_at"])),
                ("updated_at", ts(row["updated_at"])), ("state", st)]
        out += [(k, row[k]) for k in ("resource_name", "resource_type",
                                      "resource_group", "region",
                                      "account")]
        out += [("tags", ordered(row["tags"])), ("source", row["source"]),
                ("rule_id", row["rule_id"]), ("provider", row["provider"]),
                ("last_seen_at", ts(row["last_seen_at"])),
                ("resolved_at", ts(row.get("resolved_at"))),
                ("resolved_by", row["resolved_by"] if st == "resolved"
                 else None),
                ("accepted_until", ts(row.get("accepted_until"))
                 if st == "accepted" else None),
                ("snoozed_until", ts(row.get("snoozed_until"))
                 if st == "snoozed" else None),
                ("remediation", row["remediation"]),
                ("assignee", row.get("assignee")),
                ("notes", row.get("notes")),
                ("evidence", ordered(row["evidence"])),
                ("due_at", ts(row.get("due_at"))),
                ("overdue", row.get("due_at") is not None and
                 row["due_at"] <= time.strftime("%Y-%m-%d %H:%M:%S",
                                                time.gmtime()))]
        out.append(("sources", [
            [("source", s[0]), ("format", s[1]), ("external_id", s[2]),
             ("first_seen_at", ts(s[3])), ("last_seen_at", ts(s[4]))]
            for s in sorted(sources)]))
        return out

    def row(self, n, **kw):
        r = {"id": "azure-t365-rule-%d-%08x" % (n, os.getpid()),
             "rule_id": "azure-t365-rule-%d" % n, "provider": "azure",
             "subscription_id": "sub-\u00e9-%d" % n, "environment": "PROD",
             "resource_id": "/subscriptions/s/resourceGroups/RG-%d/"
                            "providers/Microsoft.Network/nsg/n\"</x>" % n,
             "title": "T365 \"quoted\" \\ back\tslash \u2603 %d" % n,
             "severity": SEVERITIES[n % 5], "category": "network",
             "layer": "infrastructure", "framework": "CIS 6.%d" % n,
             "description": "line one\nline two \u00fc",
             "recommendation": "Fix <b>it</b> & go",
             "evidence": '{"z":1,"a":[true,null,2.5,"\\u00e9/\\""],'
                         '"m":{"k":"v"}}',
             "fingerprint": "%064x" % n, "state": "open",
             "remediation": "none", "resolved_by": "none",
             "awaiting_scan": 0, "detected_at": "2026-01-02 03:04:05",
             "updated_at": "2026-02-03 04:05:06",
             "last_seen_at": "2026-03-04 05:06:07",
             "resource_name": "nsg-\u00e9-%d" % n,
             "resource_type": "Microsoft.Network/networkSecurityGroups",
             "resource_group": "RG-%d" % n, "region": "westeurope",
             "account": "acct-%d" % n,
             "tags": '{"env":"prod","owner":"sec \\"team\\""}',
             "source": "scanner" if n == 0 else "import"}
        r.update(kw)
        return r

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other, cls.other_id = new_tenant("t365other")
        cls.okey, _ = new_key(cls.other, "read")

    def test_zero_one_two_sources(self):
        # none: a scanner's, open (accepted_until and snoozed_until are
        # kept but not shown), overdue by the default policy
        r0 = self.row(0, snoozed_until="2030-01-01 00:00:00",
                      accepted_until="2029-01-01 00:00:00",
                      due_at="2026-01-10 00:00:00", assignee=None,
                      notes=None)
        # one, accepted, remediation requested, assigned, not yet due
        r1 = self.row(1, state="accepted",
                      accepted_until="2031-05-06 07:08:09",
                      remediation="requested", assignee="ann@example.com",
                      notes="n\u00f6tes \"1\"", due_at="2099-01-01 00:00:00")
        s1 = [("siem-\u00e9", "ocsf", "ext \"1\"", "2026-01-05 00:00:01",
               "2026-01-06 00:00:02")]
        # two, written in the reverse of their names' order; resolved by
        # the scanner, no due date
        r2 = self.row(2, state="resolved", resolved_by="scanner",
                      resolved_at="2026-04-05 06:07:08",
                      snoozed_until="2026-01-01 00:00:00")
        s2 = [("zeta", "sarif", "", "2026-01-07 00:00:00",
               "2026-01-08 00:00:00"),
              ("alpha", "asff", "arn:aws:x/1", "2026-01-09 00:00:00",
               "2026-01-10 10:10:10")]
        for r, s in ((r0, ()), (r1, s1), (r2, s2)):
            self.put(self.tenant_id, r, s)
        # the other tenant has r2's id too: its own text, no sources
        mine = self.row(2, title="the other tenant's", state="open")
        self.put(self.other_id, mine)
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                self.assertIsNotNone(r0["due_at"])
                for r, s in ((r0, ()), (r1, s1), (r2, s2)):
                    got = request(base, "GET", "/api/v1/findings/" +
                                  r["id"], headers=auth(self.key))
                    self.assertEqual(got.status, 200, got)
                    self.assert_common_headers(got)
                    self.assertEqual(ordered(got.body.decode()),
                                     self.expect(r, s), got)
                theirs = request(base, "GET", "/api/v1/findings/" +
                                 r2["id"], headers=auth(self.okey))
                self.assertEqual(ordered(theirs.body.decode()),
                                 self.expect(mine, ()), theirs)

    def test_another_tenants_id(self):
        r = self.row(3)
        self.put(self.tenant_id, r, [("src", "vigil", "", "2026-01-01 "
                                      "00:00:00", "2026-01-02 00:00:00")])
        nobody = "azure-t365-nobody-%08x" % os.getpid()
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                answers = []
                for fid in (r["id"], nobody):
                    got = request(base, "GET", "/api/v1/findings/" + fid,
                                  headers=auth(self.okey))
                    self.assert_error(got, 404, "finding_not_found", "id")
                    e = got.json()
                    del e["error"]["request_id"]
                    answers.append((e, len(got.body) - len(
                        got.header("X-Request-Id"))))
                # the same answer, to the byte, as for an id nobody has
                self.assertEqual(answers[0], answers[1])
                # and its owner still sees it
                self.get(base, r["id"])

class T380ListRanges(FBase):
    """GET /findings by states and severities alone reads a page per
    (state, severity) range asked for, not the tenant's findings: 20,000
    open medium findings and a few of other states and severities, the
    rare ones (critical, muted, dismissed) listed exactly, in seq order
    across cursor pages, and each request reads a bounded number of index
    entries (Handler_read_* of the server around it: the walk of
    (tenant, seq) or (tenant, state, seq) read every one of the 20,000
    before it found the rare ones)."""

    N = 20000
    RARE = [("critical", "open", "network"), ("critical", "open", "storage"),
            ("high", "muted", "network"), ("low", "dismissed", "identity"),
            ("info", "dismissed", "network"), ("critical", "accepted",
                                               "network")]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        t = q(cls.tenant_id)
        cols = ("tenant_id, id, rule_id, provider, subscription_id, "
                "environment, resource_id, title, severity, category, "
                "description, recommendation, evidence, fingerprint, state, "
                "detected_at, updated_at, last_seen_at")
        # The rare ones first (the oldest: a walk newest first reaches
        # them last), then the common ones, through the counting triggers.
        rows = ["(%s, 'rare-%d', 'r', 'azure', 'sub-x', 'PROD', '/r/rare-%d',"
                " 't', %s, %s, 'd', 'r', '{}', 'f', %s, UTC_TIMESTAMP(), "
                "UTC_TIMESTAMP(), UTC_TIMESTAMP())" % (
                    t, i, i, q(sev), q(cat), q(st))
                for i, (sev, st, cat) in enumerate(cls.RARE)]
        STACK.sql("INSERT INTO findings (%s) VALUES %s" % (
            cols, ", ".join(rows)), database="vigil")
        STACK.sql(
            "INSERT INTO findings (%s) SELECT %s, CONCAT('common-', seq), "
            "'r', 'azure', 'sub-x', 'PROD', CONCAT('/r/common-', seq), 't', "
            "'medium', 'compute', 'd', 'r', '{}', 'f', 'open', "
            "UTC_TIMESTAMP(), UTC_TIMESTAMP(), UTC_TIMESTAMP() FROM "
            "seq_1_to_%d" % (cols, t, cls.N), database="vigil")

    def reads(self):
        rows = STACK.query("SHOW GLOBAL STATUS WHERE Variable_name IN "
                           "('Handler_read_next', 'Handler_read_prev')")
        return sum(int(v) for _, v in rows)

    def expected(self, states, sevs, cat=None):
        sql = ("SELECT id FROM findings WHERE tenant_id = %s AND state IN "
               "(%s) AND severity IN (%s)%s ORDER BY seq DESC" % (
                   q(self.tenant_id), ", ".join(q(s) for s in states),
                   ", ".join(q(s) for s in sevs),
                   " AND category = %s" % q(cat) if cat else ""))
        return [r[0] for r in STACK.query(sql, database="vigil")]

    def walk(self, base, query, limit):
        ids, cursor, total = [], None, None
        for _ in range(50):
            qs = query + "&limit=%d" % limit + (
                "&cursor=" + cursor if cursor else "")
            before = self.reads()
            body = self.list(base, qs)
            read = self.reads() - before
            # a page of each range, both joins, and what else the request
            # reads: far below the 20,000 a walk would pass over
            self.assertLess(read, 2500, (query, read))
            ids += [it["id"] for it in body["findings"]]
            total = body.get("total", total)
            cursor = body.get("next_cursor")
            if not cursor:
                break
        return ids, total

    def test_rare_ranges(self):
        base = STACK.urls()["nginx"]
        allst = ["open", "accepted", "resolved", "snoozed", "dismissed",
                 "muted"]
        cases = [
            ("state=open&severity=critical,high", ["open"],
             ["critical", "high"], None),
            ("state=muted,dismissed", ["muted", "dismissed"],
             ["critical", "high", "medium", "low", "info"], None),
            ("state=all&severity=critical", allst, ["critical"], None),
            ("state=all&severity=critical,low,info&category=network",
             allst, ["critical", "low", "info"], "network"),
            ("state=open,muted,dismissed&severity=high,critical,critical",
             ["open", "muted", "dismissed"], ["high", "critical"], None),
            ("state=open,accepted&category=network", ["open", "accepted"],
             ["critical", "high", "medium", "low", "info"], "network"),
            ("state=accepted,resolved,snoozed,dismissed,muted",
             ["accepted", "resolved", "snoozed", "dismissed", "muted"],
             ["critical", "high", "medium", "low", "info"], None),
            ("state=open&severity=critical,low", ["open"],
             ["critical", "low"], None),
            ("state=open&severity=critical&category=storage", ["open"],
             ["critical"], "storage"),
        ]
        for query, states, sevs, cat in cases:
            want = self.expected(states, sevs, cat)
            self.assertTrue(0 < len(want) < 10, (query, want))
            for limit in (1, 2, 100):
                with self.subTest(query=query, limit=limit):
                    got, total = self.walk(base, query, limit)
                    self.assertEqual(got, want)
                    self.assertEqual(total, len(want))
        # A kept count that drifted to 0 chooses the way, but hides no
        # finding: its pair still gets its range.
        where = ("tenant_id = %s AND state = 'muted' AND severity = 'high'"
                 % q(self.tenant_id))
        STACK.sql("UPDATE finding_counts SET n = 0 WHERE " + where,
                  database="vigil")
        try:
            want = self.expected(["open", "muted"], ["critical", "high"])
            got, total = self.walk(base, "state=open,muted&severity="
                                   "critical,high", 100)
            self.assertEqual(got, want)
            self.assertEqual(len(want), 3)
            self.assertEqual(total, 2)      # what the counts say
        finally:
            STACK.sql("UPDATE finding_counts SET n = 1 WHERE " + where,
                      database="vigil")
        # The common range still pages in order, a page at a time.
        want = self.expected(["open"], ["medium", "critical"])[:250]
        got = []
        cursor = None
        for _ in range(3):
            body = self.list(base, "state=open&severity=medium,critical&"
                             "limit=100" + ("&cursor=" + cursor
                                            if cursor else ""))
            got += [it["id"] for it in body["findings"]]
            cursor = body["next_cursor"]
        self.assertEqual(got[:250], want)
        self.assertEqual(body["total"], self.N + 2)


class T59OpenApi(unittest.TestCase):
    """Runs last in this module: every response vigil-api gave it (through
    every front end) against doc/openapi.json, exactly as test_api's T99
    does for its own."""

    def test_responses_through_prism(self):
        with _fobs_lock:
            seen = list(FOBSERVED)
        if not seen:
            self.skipTest("no responses recorded")
        api.check_through_prism(self, seen)

    def test_responses_match_the_document(self):
        doc = OpenApi(os.path.join(STACK.srcdir, "doc", "openapi.json"))
        with _fobs_lock:
            seen = list(FOBSERVED)
        if not seen:
            self.skipTest("no responses recorded (run with the other "
                          "classes of this module)")
        problems, checked = {}, 0
        for method, target, resp in seen:
            if not from_vigil(resp):
                continue
            checked += 1
            for p in doc.check(method, target, resp.status, resp.headers,
                               resp.body):
                # One line per operation and problem, not per id.
                p = re.sub(r"/api/v1/findings/(?!bulk\b)[^/ ]+",
                           "/api/v1/findings/{id}", p)
                problems[p] = problems.get(p, 0) + 1
        self.assertGreater(checked, 0)
        self.assertEqual(
            problems, {}, "%d responses checked; not as documented:\n  %s" % (
                checked, "\n  ".join("%s (x%d)" % kv for kv in
                                     sorted(problems.items()))))


if __name__ == "__main__":
    unittest.main()
