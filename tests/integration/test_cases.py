"""test_cases.py: cases (open, list, show, edit, comment, timeline, resolve,
reopen, report), the escalation of alerts and findings into cases (the
observables of several alerts merged into one case), a finding's later
changes on its case's timeline, scopes, other tenants' ids, hostile input,
and case webhooks delivered by vigil-spool with X-Vigil-Signature-256
checked by a receiver written for the "sha256=<hex>" convention.

Alerts are ingested through POST /api/v1/alerts.
Run by run.py, which sets STACK here.
"""

import hashlib
import json
import os
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import test_api as api
from test_api import auth
import verify_signature as vs

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4
_n = [0]
ULID_CHARS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def q(s):
    assert "'" not in s and "\\" not in s
    return "'%s'" % s


def new_id(prefix):
    """A prefixed ULID-shaped id, unique in this run."""
    _n[0] += 1
    n = int(time.time() * 1000) * 100000 + os.getpid() % 1000 * 100 + _n[0]
    s = ""
    for _ in range(26):
        s = ULID_CHARS[n % 32] + s
        n //= 32
    return "%s_%s" % (prefix, "0" + s[1:])


def make_alert(key, title, severity="high", observables=(),
               detected="2026-06-02T09:14:00Z", source="edr"):
    """A new alert through POST /api/v1/alerts; its id."""
    _n[0] += 1
    r = api.request(STACK.urls()["nginx"], "POST", "/api/v1/alerts", {
        "source": source,
        "external_id": "case-test-%d-%d-%d" % (os.getpid(), _n[0],
                                              int(time.time() * 1000)),
        "severity": severity, "title": title, "detected_at": detected,
        "asset": {"hostname": "WS-042"},
        "observables": [{"type": t, "value": v} for t, v in observables],
        "raw": {"n": _n[0]}}, auth(key))
    assert r.status == 201, r
    return r.json()["id"]


def import_finding(tenant, tenant_id):
    """A new finding in tenant via vigilctl; its id."""
    _n[0] += 1
    entry = {
        "rule_id": "nsg-ssh-internet", "provider": "azure",
        "resource_id": "/subscriptions/sub-c/resourceGroups/rg/providers/"
        "Microsoft.Network/networkSecurityGroups/nsg-c-%d-%d" % (
            os.getpid(), _n[0]),
        "title": "SSH open to the internet %d" % _n[0], "severity": "high",
        "category": "network", "description": "d", "recommendation": "r",
        "subscription_id": "sub-c", "environment": "PROD",
        "layer": "infrastructure", "framework": "CIS",
        "evidence": {"port": 22}}
    path = os.path.join(STACK.root, "cases-import-%d.json" % _n[0])
    with open(path, "w") as f:
        json.dump({"findings": [entry]}, f)
    before = {r[0] for r in STACK.query(
        "SELECT id FROM findings WHERE tenant_id = %s" % q(tenant_id))}
    STACK.vigilctl("findings", "import", "--tenant", tenant,
                   "--no-reconcile", path)
    after = {r[0] for r in STACK.query(
        "SELECT id FROM findings WHERE tenant_id = %s" % q(tenant_id))}
    (fid,) = after - before
    return fid


class CasesBase(api.Base):

    def setUp(self):
        self.base = STACK.urls()["nginx"]

    def call(self, method, path, body=None, key=None, headers=None,
             base=None):
        h = auth(key or self.key)
        h.update(headers or {})
        return api.request(base or self.base, method, "/api/v1" + path, body,
                           h)

    def new_case(self, **kw):
        body = {"title": "Suspicious PowerShell", "severity": "high"}
        body.update(kw)
        r = self.call("POST", "/cases", body)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def full(self, cid, key=None):
        r = self.call("GET", "/cases/%s" % cid, key=key)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def audit_actions(self, obj):
        return [r[0] for r in STACK.query(
            "SELECT action FROM audit_log WHERE tenant_id = %s AND "
            "object = %s ORDER BY seq" % (q(self.tenant_id), q(obj)))]

    def events(self, type_):
        return [json.loads(r[0]) for r in STACK.query(
            "SELECT payload FROM events WHERE tenant_id = %s AND type = %s "
            "ORDER BY seq" % (q(self.tenant_id), q(type_)))]

    def case_count(self):
        return int(STACK.query("SELECT COUNT(*) FROM cases WHERE "
                               "tenant_id = %s" % q(self.tenant_id))[0][0])


class T60Cases(CasesBase):

    def test_create_show_and_list(self):
        r = self.call("POST", "/cases", {
            "title": "Credential dumping on WS-042",
            "description": "From the **EDR**.\n\nSee `lsass`.",
            "severity": "critical", "assignee": "alice.example",
            "tags": ["ir", "lsass", "ir"],
            "techniques": ["T1003.001", "T1059"]})
        self.assertEqual(r.status, 201, r)
        c = r.json()
        self.assertRegex(c["case_id"], r"^case_[0-7][0-9A-HJKMNP-TV-Z]{25}$")
        self.assertEqual(c["status"], "open")
        self.assertEqual(c["tags"], ["ir", "lsass"])
        self.assertEqual(c["techniques"], [
            {"id": "T1003.001", "name": "OS Credential Dumping: LSASS Memory"},
            {"id": "T1059", "name": "Command and Scripting Interpreter"}])
        self.assertIsNone(c["verdict"])
        self.assertEqual(c["created_by"], "key:" + self.key_id)
        cid = c["case_id"]

        full = self.full(cid)
        for k in ("alerts", "findings", "observables", "evidence"):
            self.assertEqual(full[k], [], k)
        self.assertEqual(full["description"],
                         "From the **EDR**.\n\nSee `lsass`.")
        self.assertEqual([e["kind"] for e in full["timeline"]], ["created"])
        self.assertEqual(full["timeline"][0]["by"], "key:" + self.key_id)
        self.assertEqual(self.audit_actions(cid), ["case.create"])
        ev = [e for e in self.events("case.created")
              if e["data"]["case_id"] == cid]
        self.assertEqual(len(ev), 1)
        d = ev[0]["data"]
        self.assertEqual(d["event"], "case.created")
        self.assertIsNone(d["verdict"])
        self.assertEqual(d["by"], "key:" + self.key_id)
        self.assertEqual(d["case"]["case_id"], cid)

        # the list and its filters
        low = self.new_case(title="Low one", severity="low", tags=["x"])
        r = self.call("GET", "/cases?limit=1")
        self.assertEqual(r.status, 200, r)
        page = r.json()
        self.assertEqual([x["case_id"] for x in page["cases"]],
                         [low["case_id"]])
        self.assertTrue(page["has_more"])
        r = self.call("GET", "/cases?limit=1&cursor=" + page["next_cursor"])
        self.assertEqual([x["case_id"] for x in r.json()["cases"]], [cid])
        r = self.call("GET", "/cases?severity=critical,high&tag=lsass")
        self.assertEqual([x["case_id"] for x in r.json()["cases"]], [cid])
        self.assertEqual(r.json()["total"], 1)
        r = self.call("GET", "/cases?assignee=alice.example")
        self.assertEqual([x["case_id"] for x in r.json()["cases"]], [cid])
        r = self.call("GET", "/cases?status=resolved")
        self.assertEqual(r.json()["cases"], [])
        for qs, field in (("status=closed", "status"),
                          ("severity=urgent", "severity"),
                          ("tag=", "tag"), ("cursor=zz", "cursor"),
                          ("limit=0", "limit"), ("colour=red", "colour")):
            self.assert_error(self.call("GET", "/cases?" + qs), 400,
                              "invalid_request", field)

    def test_patch(self):
        c = self.new_case(assignee="alice.example")
        cid = c["case_id"]
        r = self.call("PATCH", "/cases/%s" % cid, {
            "severity": "medium", "assignee": None,
            "techniques": ["T1566.001"]})
        self.assertEqual(r.status, 200, r)
        c2 = r.json()
        self.assertEqual(c2["severity"], "medium")
        self.assertIsNone(c2["assignee"])
        self.assertEqual(c2["title"], c["title"])
        self.assertEqual(c2["techniques"][0]["name"],
                         "Phishing: Spearphishing Attachment")
        tl = self.full(cid)["timeline"]
        self.assertEqual(tl[-1]["kind"], "updated")
        self.assertEqual(tl[-1]["data"], {
            "severity": "medium", "assignee": None,
            "techniques": ["T1566.001"]})
        self.assertEqual(self.audit_actions(cid),
                         ["case.create", "case.update"])
        self.assertTrue(any(e["data"]["case_id"] == cid
                            for e in self.events("case.updated")))
        self.assert_error(self.call("PATCH", "/cases/%s" % cid, {}), 400,
                          "invalid_request", "body")

    def test_comment_timeline_resolve_report_reopen(self):
        c = self.new_case(title="<script>alert(1)</script> [x](http://e)",
                          techniques=["T1059.001"])
        cid = c["case_id"]
        r = self.call("POST", "/cases/%s/comments" % cid, {
            "body": "Isolated the host.\n\n* step 1\n* <b>step</b> 2",
            "mentions": ["user_01HY"]})
        self.assertEqual(r.status, 201, r)
        entry = r.json()
        self.assertEqual(entry["kind"], "commented")
        self.assertEqual(entry["data"]["body"],
                         "Isolated the host.\n\n* step 1\n* <b>step</b> 2")
        self.assertEqual(entry["data"]["mentions"], ["user_01HY"])
        self.assertTrue(any(e["data"]["case_id"] == cid
                            for e in self.events("case.commented")))
        for i in range(3):
            self.call("POST", "/cases/%s/comments" % cid, {"body": "c%d" % i})
        # the timeline, paged, oldest first
        seen, cursor = [], None
        while True:
            r = self.call("GET", "/cases/%s/timeline?limit=2%s" % (
                cid, "&cursor=" + cursor if cursor else ""))
            self.assertEqual(r.status, 200, r)
            p = r.json()
            self.assertEqual(p["total"], 5)
            seen += p["timeline"]
            cursor = p["next_cursor"]
            if not p["has_more"]:
                break
        self.assertEqual([e["kind"] for e in seen],
                         ["created"] + ["commented"] * 4)
        self.assertEqual([e["data"].get("body") for e in seen[2:]],
                         ["c0", "c1", "c2"])
        # asked again from the last cursor: nothing new yet
        r = self.call("GET", "/cases/%s/timeline?cursor=%s" % (cid, cursor))
        self.assertEqual(r.json()["timeline"], [])
        self.assertEqual(r.json()["next_cursor"], cursor)

        # the evidence list: the case's attachments
        import test_attachments
        r = test_attachments.upload(self.base, self.key, cid,
                                    b"beacon log\n", filename="beacon.log",
                                    ctype=b"text/plain")
        self.assertEqual(r.status, 201, r)
        full = self.full(cid)
        self.assertEqual([(e["name"], e["size"], e["sha256"])
                          for e in full["evidence"]],
                         [("beacon.log", 11, hashlib.sha256(
                             b"beacon log\n").hexdigest())])
        self.assertEqual(full["timeline"][-1]["kind"], "attachment_added")
        # no report before the verdict
        self.assert_error(self.call("GET", "/cases/%s/report" % cid), 409,
                          "conflict")
        self.assert_error(self.call("POST", "/cases/%s/reopen" % cid), 409,
                          "conflict")
        self.assert_error(self.call("POST", "/cases/%s/resolve" % cid,
                                    {"verdict": "guilty"}), 400,
                          "invalid_request", "verdict")
        r = self.call("POST", "/cases/%s/resolve" % cid, {
            "verdict": "true_positive", "root_cause": "Phished creds",
            "narrative": "User opened <i>invoice.docm</i>."})
        self.assertEqual(r.status, 200, r)
        c = r.json()
        self.assertEqual((c["status"], c["verdict"]),
                         ("resolved", "true_positive"))
        self.assertIsNotNone(c["resolved_at"])
        ev = [e for e in self.events("case.resolved")
              if e["data"]["case_id"] == cid]
        self.assertEqual(ev[0]["data"]["verdict"], "true_positive")
        self.assert_error(self.call("POST", "/cases/%s/resolve" % cid,
                                    {"verdict": "benign"}), 409, "conflict")

        r = self.call("GET", "/cases/%s/report" % cid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"),
                         "text/markdown; charset=utf-8")
        md = r.body.decode()
        self.assertIn("true\\_positive", md)
        self.assertIn("T1059\\.001 Command and Scripting Interpreter: "
                      "PowerShell", md)
        self.assertIn("Phished creds", md)
        self.assertIn("beacon\\.log (11 bytes, sha256", md)
        # outside text cannot form HTML or links
        self.assertNotIn("<script>", md)
        self.assertIn("&lt;script&gt;", md.replace("\\>", "&gt;"))
        self.assertNotIn("](http", md)
        self.assertNotIn("<b>", md)
        r = self.call("GET", "/cases/%s/report" % cid,
                      headers={"Accept": "text/html,*/*;q=0.8"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"),
                         "text/html; charset=utf-8")
        html = r.body.decode()
        self.assertTrue(html.startswith("<!DOCTYPE html>"))
        self.assertNotIn("<script", html)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", html)
        self.assertIn("&lt;b&gt;step&lt;/b&gt;", html)
        self.assertIn("&lt;i&gt;invoice.docm&lt;/i&gt;", html)
        for ext in ("src=", "href=", "http://", "https://", "@import"):
            self.assertNotIn(ext, html.replace("http://e", ""))

        r = self.call("POST", "/cases/%s/reopen" % cid)
        self.assertEqual(r.status, 200, r)
        c = r.json()
        self.assertEqual((c["status"], c["verdict"], c["resolved_at"]),
                         ("open", None, None))
        tl = self.full(cid)["timeline"]
        self.assertEqual([e["kind"] for e in tl[-3:]],
                         ["attachment_added", "resolved", "reopened"])
        self.assertEqual(tl[-1]["data"], {"previous_verdict": "true_positive"})
        self.assertEqual(self.audit_actions(cid), [
            "case.create"] + ["case.comment"] * 4 + [
            "case.resolve", "case.reopen"])
        self.assertTrue(any(e["data"]["case_id"] == cid
                            for e in self.events("case.reopened")))

    def test_escalating_alerts_merges_observables(self):
        a1 = make_alert(self.key, "Suspicious PowerShell on WS-042",
                        "high", [("ip", "203.0.113.4"),
                                 ("domain", "evil.example")],
                        detected="2026-06-02T09:14:00Z")
        a2 = make_alert(self.key, "Beacon to evil.example", "medium",
                        [("domain", "evil.example"),
                         ("hash", "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709")],
                        detected="2026-06-01T08:00:00Z", source="siem")
        a3 = make_alert(self.key, "Same IP again", "low",
                        [("ip", "::ffff:203.0.113.4")],
                        detected="2026-06-03T10:00:00Z")
        r = self.call("POST", "/alerts/%s/escalate" % a1, {"case_id": None})
        self.assertEqual(r.status, 201, r)
        esc = r.json()
        self.assertTrue(esc["case_created"])
        self.assertEqual(esc["alert_id"], a1)
        cid = esc["case_id"]
        self.assertEqual(esc["case"]["title"],
                         "Suspicious PowerShell on WS-042")
        self.assertEqual(esc["case"]["severity"], "high")
        for a in (a2, a3):
            r = self.call("POST", "/alerts/%s/escalate" % a, {"case_id": cid})
            self.assertEqual(r.status, 200, r)
            self.assertFalse(r.json()["case_created"])
        full = self.full(cid)
        self.assertEqual([x["alert_id"] for x in full["alerts"]],
                         [a1, a2, a3])
        obs = {(o["type"], o["value"]): o for o in full["observables"]}
        self.assertEqual(set(obs), {
            ("ip", "203.0.113.4"), ("domain", "evil.example"),
            ("hash", "da39a3ee5e6b4b0d3255bfef95601890afd80709")})
        self.assertEqual(full["observables_total"], 3)
        # first and last seen span the alerts that carry it
        self.assertEqual(obs[("ip", "203.0.113.4")]["first_seen_at"],
                         "2026-06-02T09:14:00Z")
        # (an alert's last sighting is when it was last ingested)
        self.assertGreaterEqual(obs[("ip", "203.0.113.4")]["last_seen_at"],
                                "2026-06-03T10:00:00Z")
        self.assertEqual(obs[("domain", "evil.example")]["first_seen_at"],
                         "2026-06-01T08:00:00Z")
        # "have we seen this value?" finds the case
        r = self.call("GET", "/observables/search?type=ip&value="
                      "%3A%3Affff%3A203.0.113.4")
        self.assertEqual(r.status, 200, r)
        hits = [(h["kind"], h["id"]) for h in r.json()["hits"]]
        self.assertIn(("case", cid), hits)
        self.assertIn(("alert", a3), hits)
        rows = STACK.query(
            "SELECT COUNT(*) FROM case_observables co JOIN cases c ON "
            "c.tenant_id = co.tenant_id AND c.seq = co.case_seq "
            "WHERE c.id = %s" % q(cid))
        self.assertEqual(rows[0][0], "3")
        st = STACK.query("SELECT status, case_id FROM alerts WHERE "
                         "tenant_id = %s AND id IN (%s, %s, %s)" % (
                             q(self.tenant_id), q(a1), q(a2), q(a3)))
        self.assertEqual({tuple(r) for r in st}, {("escalated", cid)})
        hist = STACK.query("SELECT action FROM alert_history WHERE "
                           "alert_id = %s" % q(a2))
        self.assertEqual(hist, [["created"], ["escalated"]])
        self.assertEqual([e["kind"] for e in full["timeline"]],
                         ["created"] + ["alert_linked"] * 3)
        esc_ev = [e["data"] for e in self.events("alert.escalated")
                  if e["data"]["case_id"] == cid]
        self.assertEqual([d["alert_id"] for d in esc_ev], [a1, a2, a3])
        self.assertEqual(self.audit_actions(a1)[-1], "alert.escalate")
        self.assertEqual(self.audit_actions(cid), ["case.create"])
        # into the same case again: nothing changes
        r = self.call("POST", "/alerts/%s/escalate" % a2, {"case_id": cid})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(self.full(cid)["timeline"]), 4)
        # into another case: 409
        other = self.new_case()
        self.assert_error(self.call("POST", "/alerts/%s/escalate" % a2,
                                    {"case_id": other["case_id"]}), 409,
                          "conflict", "case_id")
        # an alert into a resolved case: 409; an unknown case: 404
        a4 = make_alert(self.key, "Fourth", "low")
        self.call("POST", "/cases/%s/resolve" % other["case_id"],
                  {"verdict": "benign"})
        self.assert_error(self.call("POST", "/alerts/%s/escalate" % a4,
                                    {"case_id": other["case_id"]}), 409,
                          "conflict", "case_id")
        self.assert_error(self.call("POST", "/alerts/%s/escalate" % a4,
                                    {"case_id": new_id("case")}), 404,
                          "not_found", "case_id")
        self.assert_error(self.call("POST", "/alerts/%s/escalate" %
                                    new_id("alert"), {}), 404, "not_found")
        # no body at all is a new case
        r = self.call("POST", "/alerts/%s/escalate" % a4)
        self.assertEqual(r.status, 201, r)
        v = STACK.vigilctl("audit", "verify", "--tenant", self.tenant,
                           check=False)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_concurrent_escalations_into_one_case(self):
        """Eight alerts escalated at once from eight clients into one case:
        every one joins, each shared observable once."""
        target = self.new_case()["case_id"]
        alerts = [make_alert(self.key, "Burst %d" % i, "medium",
                             [("ip", "192.0.2.%d" % (i % 3)),
                              ("domain", "burst.example")])
                  for i in range(8)]

        def one(aid):
            return self.call("POST", "/alerts/%s/escalate" % aid,
                             {"case_id": target}).status
        with ThreadPoolExecutor(8) as ex:
            self.assertEqual(list(ex.map(one, alerts)), [200] * 8)
        full = self.full(target)
        self.assertEqual(sorted(a["alert_id"] for a in full["alerts"]),
                         sorted(alerts))
        self.assertEqual(sorted((o["type"], o["value"])
                                for o in full["observables"]),
                         [("domain", "burst.example"), ("ip", "192.0.2.0"),
                          ("ip", "192.0.2.1"), ("ip", "192.0.2.2")])
        self.assertEqual(len([e for e in full["timeline"]
                              if e["kind"] == "alert_linked"]), 8)

    def test_finding_escalation_and_its_changes_on_the_timeline(self):
        fid = import_finding(self.tenant, self.tenant_id)
        r = self.call("POST", "/findings/%s/escalate" % fid,
                      {"case_id": None})
        self.assertEqual(r.status, 201, r)
        cid = r.json()["case_id"]
        self.assertEqual(r.json()["finding_id"], fid)
        self.assertEqual(r.json()["case"]["severity"], "high")
        # into a second case too
        other = self.new_case()
        r = self.call("POST", "/findings/%s/escalate" % fid,
                      {"case_id": other["case_id"]})
        self.assertEqual(r.status, 200, r)
        r = self.call("POST", "/findings/%s/accept" % fid,
                      {"justification": "Compensating control in place"})
        self.assertEqual(r.status, 200, r)
        # a change by another path (the scanner's batches, imports and
        # the clock write finding_history the same way)
        STACK.sql("INSERT INTO finding_history (tenant_id, finding_id, "
                  "action, at, actor, fields) VALUES (%s, %s, 'expired', "
                  "UTC_TIMESTAMP(), 'system', '{}')" % (
                      q(self.tenant_id), q(fid)), database="vigil")
        for c in (cid, other["case_id"]):
            full = self.full(c)
            self.assertEqual([f["finding_id"] for f in full["findings"]],
                             [fid])
            self.assertEqual(full["findings"][0]["state"], "accepted")
            changed = [e for e in full["timeline"]
                       if e["kind"] == "finding_changed"]
            self.assertEqual([(e["data"]["finding_id"], e["data"]["action"],
                               e["by"]) for e in changed],
                             [(fid, "accept_risk", "key:" + self.key_id),
                              (fid, "expired", "system")])
            self.assertEqual(changed[0]["data"]["fields"]["justification"],
                             "Compensating control in place")
        self.assertEqual(self.audit_actions(fid).count("finding.escalate"), 2)
        self.assert_error(self.call("POST", "/findings/nope-1/escalate", {}),
                          404, "not_found")


class T61CaseAccess(CasesBase):
    """Scopes, other tenants, hostile input."""

    def test_scopes(self):
        c = self.new_case()
        ro, _ = api.new_key(self.tenant, "read", name="ro")
        wo, _ = api.new_key(self.tenant, "write", name="wo")
        self.assertEqual(self.call("GET", "/cases/%s" % c["case_id"],
                                   key=ro).status, 200)
        for method, path, body in (
                ("POST", "/cases", {"title": "t", "severity": "low"}),
                ("PATCH", "/cases/%s" % c["case_id"], {"title": "t"}),
                ("POST", "/cases/%s/comments" % c["case_id"], {"body": "b"}),
                ("POST", "/cases/%s/resolve" % c["case_id"],
                 {"verdict": "benign"}),
                ("POST", "/alerts/%s/escalate" % new_id("alert"), None)):
            self.assert_error(self.call(method, path, body, key=ro), 403,
                              "insufficient_scope")
        for path in ("/cases", "/cases/%s" % c["case_id"],
                     "/cases/%s/timeline" % c["case_id"],
                     "/cases/%s/report" % c["case_id"]):
            self.assert_error(self.call("GET", path, key=wo), 403,
                              "insufficient_scope")

    def test_other_tenants_ids_are_404(self):
        mine = self.new_case()
        t2, t2_id = api.new_tenant("casesother")
        k2, _ = api.new_key(t2)
        theirs = self.call("POST", "/cases", {"title": "theirs",
                                              "severity": "low"}, key=k2)
        self.assertEqual(theirs.status, 201, theirs)
        tc = theirs.json()["case_id"]
        their_alert = make_alert(k2, "their alert")
        my_alert = make_alert(self.key, "my alert")
        their_finding = import_finding(t2, t2_id)
        before = api.table_fingerprint()
        for method, path, body in (
                ("GET", "/cases/%s" % tc, None),
                ("PATCH", "/cases/%s" % tc, {"title": "x"}),
                ("POST", "/cases/%s/comments" % tc, {"body": "x"}),
                ("GET", "/cases/%s/timeline" % tc, None),
                ("POST", "/cases/%s/resolve" % tc, {"verdict": "benign"}),
                ("POST", "/cases/%s/reopen" % tc, None),
                ("GET", "/cases/%s/report" % tc, None),
                ("POST", "/alerts/%s/escalate" % their_alert, {}),
                ("POST", "/alerts/%s/escalate" % their_alert,
                 {"case_id": mine["case_id"]}),
                ("POST", "/alerts/%s/escalate" % my_alert,
                 {"case_id": tc}),
                ("POST", "/findings/%s/escalate" % their_finding, {}),
                ("POST", "/cases/%s/comments" % "case_nope", {"body": "x"})):
            self.assert_error(self.call(method, path, body), 404,
                              "not_found")
        self.assertEqual(api.table_fingerprint(), before)
        r = self.call("GET", "/cases?limit=500")
        self.assertNotIn(tc, [c["case_id"] for c in r.json()["cases"]])

    def test_hostile_input_changes_nothing(self):
        c = self.new_case()
        cid = c["case_id"]
        before = api.table_fingerprint()
        n = self.case_count()
        bad = [
            ("/cases", {"title": 5, "severity": "high"}, "title"),
            ("/cases", {"title": "t"}, "severity"),
            ("/cases", {"title": "t", "severity": "urgent"}, "severity"),
            ("/cases", {"title": "", "severity": "low"}, "title"),
            ("/cases", {"title": "a\u0000b", "severity": "low"}, "title"),
            ("/cases", {"title": "t", "severity": "low",
                        "techniques": ["T9999"]}, "techniques"),
            ("/cases", {"title": "t", "severity": "low",
                        "techniques": ["T1064"]}, "techniques"),
            ("/cases", {"title": "t", "severity": "low",
                        "techniques": "T1059"}, "techniques"),
            ("/cases", {"title": "t", "severity": "low",
                        "tags": [1]}, "tags"),
            ("/cases", {"title": "t", "severity": "low",
                        "tags": ["t"] * 33}, "tags"),
            ("/cases", {"title": "t", "severity": "low", "owner": "x"},
             "owner"),
            ("/cases", {"title": "x" * 256, "severity": "low"}, "title"),
            ("/cases/%s/comments" % cid, {"body": ""}, "body"),
            ("/cases/%s/comments" % cid, {"body": ["x"]}, "body"),
            ("/cases/%s/comments" % cid, {"body": "b", "mentions": "u"},
             "mentions"),
            ("/cases/%s/resolve" % cid, {"verdict": None}, "verdict"),
            ("/cases/%s/resolve" % cid, {"verdict": "benign",
                                         "narrative": 3}, "narrative"),
            ("/alerts/%s/escalate" % new_id("alert"), {"case_id": 7},
             "case_id"),
        ]
        for path, body, field in bad:
            self.assert_error(self.call("POST", path, body), 400,
                              "invalid_request", field)
        # bad UTF-8, not JSON, too large
        self.assert_error(self.call(
            "POST", "/cases", b'{"title":"\xff\xfe","severity":"low"}',
            headers={"Content-Type": "application/json"}), 400,
            "invalid_request")
        self.assert_error(self.call(
            "POST", "/cases", "title=x", headers={
                "Content-Type": "application/x-www-form-urlencoded"}),
            415, "unsupported_media_type")
        self.assert_error(self.call(
            "POST", "/cases/%s/comments" % cid,
            {"body": "x" * (1024 * 1024 + 10)}), 413, "payload_too_large")
        self.assert_error(self.call("POST", "/cases/%s/reopen" % cid, {}),
                          400, "invalid_request", "body")
        self.assertEqual(self.case_count(), n)
        self.assertEqual(api.table_fingerprint(), before)
        # SQL metacharacters are data
        title = "x'; DROP TABLE cases; -- \" \\ %_"
        c2 = self.new_case(title=title, tags=["' OR 1=1 --"])
        self.assertEqual(self.full(c2["case_id"])["title"], title)
        r = self.call("GET", "/cases?tag=%27%20OR%201%3D1%20--")
        self.assertEqual([x["case_id"] for x in r.json()["cases"]],
                         [c2["case_id"]])
        r = self.call("GET", "/cases?assignee=%27%20OR%20%271%27%3D%271")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["cases"], [])


class T63DemoSample(CasesBase):
    """contrib/demo-response.py, which ./dev up runs for the demo tenant:
    the bundled sample alerts go in through the API and two of them become
    a case a newcomer can open and find by an observable."""

    def test_demo_sample_loads(self):
        import subprocess
        import sys
        script = os.path.join(STACK.srcdir, "contrib", "demo-response.py")
        p = subprocess.run([sys.executable, script, self.base, self.key],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        lines = p.stdout.strip().splitlines()
        self.assertEqual(lines[0], "30 alerts from 3 sources")
        cid = lines[-1]
        self.assertTrue(cid.startswith("case_"), cid)
        r = self.call("GET", "/alerts?limit=100")
        self.assertEqual(r.status, 200, r)
        alerts = r.json()["alerts"]
        self.assertEqual(len(alerts), 30)
        self.assertEqual({a["source"] for a in alerts},
                         {"crowdstrike", "sentinel", "defender-for-cloud"})
        full = self.full(cid)
        self.assertEqual(len(full["alerts"]), 2)
        self.assertEqual(full["assignee"], "alice@example.com")
        obs = [(o["type"], o["value"]) for o in full["observables"]]
        # both alerts carry the C2 address (one as ::ffff:203.0.113.4):
        # one observable
        self.assertEqual(obs.count(("ip", "203.0.113.4")), 1)
        self.assertIn(("domain", "stats-cdn.example.net"), obs)
        self.assertEqual([e["name"] for e in full["evidence"]],
                         ["triage-notes.txt"])
        kinds = [t["kind"] for t in full["timeline"]]
        self.assertEqual(kinds.count("commented"), 2, kinds)
        self.assertEqual(kinds.count("alert_linked"), 2, kinds)
        # "have we seen this IP?" finds the case and more alerts than the
        # case's two
        r = self.call("GET", "/observables/search?type=ip&value=203.0.113.4")
        self.assertEqual(r.status, 200, r)
        hits = r.json()["hits"]
        self.assertIn(("case", cid), [(h["kind"], h["id"]) for h in hits])
        self.assertGreater(len([h for h in hits if h["kind"] == "alert"]), 2)


class T62CaseWebhooks(CasesBase):
    """Case events delivered by vigil-spool, verified by a receiver written
    for "sha256=<hex>" (X-Vigil-Signature-256), and subscriptions by
    pattern."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from receiver import Receiver
        cls.rx = Receiver().start()
        STACK.write_conf(allow_http_webhooks=1, allow_private_targets=1)
        STACK.api_stop()
        STACK.api_start(workers=WORKERS)
        # Earlier modules' events are theirs: not this spooler's work.
        STACK.sql("UPDATE events SET dispatched = 1", database="vigil")

    @classmethod
    def tearDownClass(cls):
        cls.rx.stop()
        STACK.write_conf(allow_http_webhooks=0, allow_private_targets=0)
        STACK.api_stop()
        STACK.api_start(workers=WORKERS)
        super().tearDownClass()

    def hook(self, path, events):
        r = self.call("POST", "/webhooks", {
            "url": self.rx.url(path), "events": events,
            "secret": "It's a Secret to Everybody"})
        self.assertEqual(r.status, 201, r)
        return r.json()["webhook_id"]

    def test_case_webhooks_signed_sha256(self):
        secret = "It's a Secret to Everybody"
        p_case, p_alert, p_all = ("/ok/cases-%d" % os.getpid(),
                                  "/ok/alerts-%d" % os.getpid(),
                                  "/ok/all-%d" % os.getpid())
        wc = self.hook(p_case, ["case.*"])
        wa = self.hook(p_alert, ["alert.*"])
        wall = self.hook(p_all, ["*"])
        a = make_alert(self.key, "Beacon", "high",
                       [("ip", "198.51.100.7")])
        r = self.call("POST", "/alerts/%s/escalate" % a)
        self.assertEqual(r.status, 201, r)
        cid = r.json()["case_id"]
        self.call("POST", "/cases/%s/comments" % cid, {"body": "looking"})
        self.call("POST", "/cases/%s/resolve" % cid,
                  {"verdict": "true_positive"})
        r = self.call("POST", "/webhooks/%s/test" % wall)
        self.assertEqual(r.status, 202, r)
        res = STACK.spool_once()
        self.assertEqual(res.returncode, 0, res.stderr)
        got = self.rx.wait_for(3, p_case, timeout=20)
        types = [json.loads(x.body)["event_type"] for x in got]
        # deliveries to one webhook run concurrently: any order
        self.assertEqual(sorted(types), ["case.commented", "case.created",
                                         "case.resolved"])
        for req in got:
            h = req.headers
            self.assertRegex(h["x-vigil-signature-256"],
                             r"^sha256=[0-9a-f]{64}$")
            self.assertTrue(vs.verify_sha256_prefixed(
                req.body, secret, h["x-vigil-signature-256"]))
            self.assertFalse(vs.verify_sha256_prefixed(
                req.body + b" ", secret, h["x-vigil-signature-256"]))
            self.assertTrue(vs.verify_webhook(req.body,
                                              h["x-vigil-signature"], secret))
            d = json.loads(req.body)["data"]
            self.assertEqual(set(d), {"event", "case_id", "verdict", "at",
                                      "by", "case"})
            self.assertEqual(d["case_id"], cid)
            self.assertEqual(d["by"], "key:" + self.key_id)
        self.assertEqual({json.loads(x.body)["event_type"]:
                          json.loads(x.body)["data"]["verdict"] for x in got},
                         {"case.created": None, "case.commented": None,
                          "case.resolved": "true_positive"})
        got = self.rx.wait_for(2, p_alert, timeout=20)
        by_type = {json.loads(x.body)["event_type"]: json.loads(x.body)
                   for x in got}
        self.assertEqual(sorted(by_type), ["alert.created", "alert.escalated"])
        d = by_type["alert.escalated"]["data"]
        self.assertEqual((d["event"], d["alert_id"], d["case_id"]),
                         ("alert.escalated", a, cid))
        # every delivery carries it, whatever the event
        got = self.rx.wait_for(6, p_all, timeout=20)
        self.assertEqual(len(got), 6)
        for req in got:
            self.assertTrue(vs.verify_sha256_prefixed(
                req.body, secret, req.headers["x-vigil-signature-256"]))
        self.assertIn("webhook.test",
                      [json.loads(x.body)["event_type"] for x in got])
        # the command-line verifier too
        req = got[0]
        import subprocess
        import sys
        out = subprocess.run(
            [sys.executable, vs.__file__, "--secret", secret,
             "--body-file", "-", "--signature-256",
             req.headers["x-vigil-signature-256"]],
            input=req.body, capture_output=True)
        self.assertEqual(out.returncode, 0, out)
        for w in (wc, wa, wall):
            self.call("DELETE", "/webhooks/%s" % w)


if __name__ == "__main__":
    unittest.main()
