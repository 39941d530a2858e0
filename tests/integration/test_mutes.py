"""test_mutes.py: mute rules and rules per tenant. Mute rules (POST/GET/DELETE /api/v1/mute-rules). A rule
mutes the tenant's matching open findings when it is created, and every
finding a scan or a `vigil` JSON import reports afterwards; a muted finding
counts nowhere as open risk (list default, posture summary, risk score,
finding_counts); it returns to open when its rule is deleted or expires
(vigilctl findings expire). Every step is audited, with history entries and
finding.muted / finding.unmuted events. Hostile input is a clear 4xx that
changes nothing; another tenant's rule is 404. Rules per tenant (T97):
a custom rule is evaluated for its tenant only, a disable or a severity
override of one tenant leaves another's alone, a disabled rule's findings
are resolved with the reason in their history, and a bad rule is a 400
naming the place. A rule naming a source (T431-T434) matches a finding
when every source that lists it is that source, in the imports, the
scans, the pass of a new rule and the expiry alike.

Run by run.py, which sets STACK here (and in the modules used below).
"""

import json
import os
import subprocess
import threading
import time
import unittest

import test_api as api
import test_findings as tf
import test_scanner as ts
from test_api import auth, new_key, new_tenant, rfc3339
from test_findings import (FBase, db_events, db_history, entry, eid,
                           import_findings, q)

STACK = None        # a stack.Stack, set by run.py


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


def nrules(tenant_id):
    return int(STACK.query("SELECT COUNT(*) FROM mute_rules WHERE "
                           "tenant_id = %s" % q(tenant_id))[0][0])


def audit_actions(tenant_id, action):
    return STACK.query("SELECT object FROM audit_log WHERE tenant_id = %s "
                       "AND action = %s ORDER BY seq" % (q(tenant_id),
                                                         q(action)))


class MBase(FBase):
    def base(self):
        return STACK.urls()["nginx"]

    def mreq(self, method, path, body=None, key=None):
        return api.request(self.base(), method, "/api/v1/mute-rules" + path,
                           body, auth(key or self.wkey))

    def create(self, body, status=201):
        r = self.mreq("POST", "", body)
        self.assertEqual(r.status, status, r)
        return r.json()

    def state(self, fid):
        return self.get(self.base(), fid)["state"]

    def import_items(self, code, n, source):
        """n Prowler-shaped OCSF findings of check code, imported through
        the API (partial) from source."""
        import test_imports as ti
        body = "".join(json.dumps(ti.ocsf_item(i, code=code)) + "\n"
                       for i in range(n))
        r = api.request(self.base(), "POST", "/api/v1/imports?format=ocsf&"
                        "source=%s&mode=partial" % source, body,
                        dict(auth(self.wkey),
                             **{"Content-Type": "application/x-ndjson"}),
                        timeout=120)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["imported"], n)


class T95MuteRules(MBase):
    def test_1_existing_new_and_deleted(self):
        base = self.base()
        dev = entry("high", env="DEV", rule="nsg-ssh-internet")
        prod = entry("high", env="PROD", rule="nsg-ssh-internet")
        other = entry("low", env="DEV", rule="storage-min-tls")
        import_findings(self.tenant, [dev, prod, other], reconcile=False)
        before = self.call_posture()
        m = self.create({"rule_id": "nsg-*", "environment": "dev",
                         "justification": "Lab network (SEC-12)"})
        self.assertTrue(m["id"].startswith("mute_"))
        self.assertEqual(m["findings_muted"], 1)
        self.assertEqual(m["rule_id"], "nsg-*")
        self.assertIsNone(m["expires_at"])
        self.assertFalse(m["expired"])
        self.assertEqual(self.state(eid(dev)), "muted")
        self.assertEqual(self.state(eid(prod)), "open")
        self.assertEqual(self.state(eid(other)), "open")
        h = db_history(self.tenant_id, eid(dev))
        self.assertEqual(h[-1][0:2], ("muted", "system"))
        self.assertEqual(h[-1][2], {"mute_rule_id": m["id"]})
        r = self.history(base, eid(dev))
        self.assertEqual(r[-1]["action"], "muted")
        self.assertEqual(r[-1]["mute_rule_id"], m["id"])
        evs = [t for t, in STACK.query(
            "SELECT type FROM events WHERE tenant_id = %s AND "
            "JSON_VALUE(payload, '$.data.finding.id') = %s ORDER BY seq" % (
                q(self.tenant_id), q(eid(dev))))]
        self.assertEqual(evs[-1], "finding.muted")
        self.assertEqual(audit_actions(self.tenant_id, "mute_rule.create"),
                         [[m["id"]]])
        # Not open risk: default list, posture, risk score, counters.
        ids = [f["id"] for f in self.list(base)["findings"]]
        self.assertNotIn(eid(dev), ids)
        self.assertIn(eid(prod), ids)
        # A client polling with since sees the muted one too.
        ids = [f["id"] for f in self.list(
            base, "since=2000-01-01T00:00:00Z&limit=500")["findings"]]
        self.assertIn(eid(dev), ids)
        muted = self.list(base, "state=muted")
        self.assertEqual([f["id"] for f in muted["findings"]], [eid(dev)])
        self.assertEqual(muted["total"], 1)
        after = self.call_posture()
        self.assertEqual(after["metrics"]["total_findings"],
                         before["metrics"]["total_findings"] - 1)
        self.assertEqual(after["metrics"]["state_counts"]["muted"], 1)
        self.assertEqual(after["metrics"]["severity_counts"]["high"],
                         before["metrics"]["severity_counts"]["high"] - 1)
        self.assertEqual(STACK.query(
            "SELECT state, SUM(n) FROM finding_counts WHERE tenant_id = %s "
            "AND state IN ('open', 'muted') GROUP BY state ORDER BY state"
            % q(self.tenant_id)), [["open", "2"], ["muted", "1"]])
        # A new finding the rule matches is muted at once, with no
        # finding.detected; a known one seen again stays muted.
        new = entry("critical", env="DEV", rule="nsg-rdp-internet")
        import_findings(self.tenant, [new, dev], reconcile=False)
        self.assertEqual(self.state(eid(new)), "muted")
        self.assertEqual(self.state(eid(dev)), "muted")
        self.assertEqual([a for a, _, _ in db_history(self.tenant_id,
                                                      eid(new))],
                         ["detected", "muted"])
        types = [t for t, in STACK.query(
            "SELECT type FROM events WHERE tenant_id = %s AND "
            "JSON_VALUE(payload, '$.data.finding.id') = %s ORDER BY seq" % (
                q(self.tenant_id), q(eid(new))))]
        self.assertEqual(types, ["finding.muted"])
        # A muted finding cannot be accepted (it is not open) but can be
        # resolved or dismissed.
        r = self.act(base, eid(dev), "accept", {"justification": "x"})
        self.assertEqual(r.status, 409, r)
        # Listed and read back.
        r = self.mreq("GET", "", key=self.key)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([x["id"] for x in r.json()["mute_rules"]], [m["id"]])
        r = self.mreq("GET", "/" + m["id"], key=self.key)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["justification"], "Lab network (SEC-12)")
        # Deleted: both findings come back, to open.
        r = self.mreq("DELETE", "/" + m["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"id": m["id"], "deleted": True,
                                    "findings_unmuted": 2,
                                    "apply_status": "done"})
        self.assertEqual(self.state(eid(dev)), "open")
        self.assertEqual(self.state(eid(new)), "open")
        h = db_history(self.tenant_id, eid(dev))
        self.assertEqual(h[-1][0], "unmuted")
        self.assertEqual(h[-1][2], {"mute_rule_id": m["id"],
                                    "reason": "deleted"})
        self.assertEqual(self.call_posture()["metrics"]["state_counts"][
            "muted"], 0)
        self.assertEqual(audit_actions(self.tenant_id, "mute_rule.delete"),
                         [[m["id"]]])
        r = self.mreq("DELETE", "/" + m["id"])
        self.assertEqual(r.status, 404, r)
        # source: the finding's own (an import's is "import") or its
        # provider, for every source of that kind.
        for src in ("import", "AZURE"):
            m2 = self.create({"source": src, "rule_id": "storage-min-tls",
                              "justification": "x"})
            self.assertEqual(m2["findings_muted"], 1, src)
            self.assertEqual(self.state(eid(other)), "muted")
            r = self.mreq("DELETE", "/" + m2["id"])
            self.assertEqual(r.json()["findings_unmuted"], 1)
        self.assertEqual(self.create({"source": "prowler", "rule_id": "*",
                                      "justification": "x"})[
            "findings_muted"], 0)
        # The next import sees it open (redetected), not muted.
        import_findings(self.tenant, [dev], reconcile=False)
        self.assertEqual(self.state(eid(dev)), "open")

    def call_posture(self):
        r = api.request(self.base(), "GET", "/api/v1/posture-summary",
                        headers=auth(self.key))
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_2_expiry(self):
        e = entry("medium", env="QA", rule="keyvault-soft-delete")
        import_findings(self.tenant, [e], reconcile=False)
        until = rfc3339(time.time() + 3)
        m = self.create({"resource_id": e["resource_id"].upper(),
                         "justification": "Waiting for the vendor",
                         "expires_at": until})
        self.assertEqual(m["findings_muted"], 1)
        self.assertEqual(m["expires_at"], until)
        self.assertEqual(self.state(eid(e)), "muted")
        time.sleep(4)
        out = STACK.vigilctl("findings", "expire").stdout
        self.assertIn("unmuted 1", out)
        self.assertEqual(self.state(eid(e)), "open")
        h = db_history(self.tenant_id, eid(e))
        self.assertEqual(h[-1][0:2], ("unmuted", "system"))
        self.assertEqual(h[-1][2], {"mute_rule_id": m["id"],
                                    "reason": "expired"})
        self.assertEqual(audit_actions(self.tenant_id, "mute_rule.expired"),
                         [[m["id"]]])
        r = self.mreq("GET", "/" + m["id"], key=self.key)
        self.assertTrue(r.json()["expired"])
        # Done once: the next run has nothing to do.
        self.assertNotIn("unmuted", STACK.vigilctl("findings",
                                                   "expire").stdout)
        # An expired rule mutes nothing new.
        import_findings(self.tenant, [e], reconcile=False)
        self.assertEqual(self.state(eid(e)), "open")

    def test_2b_expiry_under_a_live_rule(self):
        """An acceptance or a snooze that runs out while a live rule
        matches the finding leaves it muted, not open: it was counted as
        open risk until the next scan saw it (never, for a finding only
        imports report)."""
        base = self.base()
        acc = entry("high", env="STG", rule="keyvault-purge-acc")
        snz = entry("high", env="STG", rule="keyvault-purge-snz")
        import_findings(self.tenant, [acc, snz], reconcile=False)
        r = self.act(base, eid(acc), "accept", {
            "justification": "until the vendor's fix",
            "expires_at": rfc3339(time.time() + 3)})
        self.assertEqual(r.status, 200, r)
        r = self.act(base, eid(snz), "snooze", {"days": 7})
        self.assertEqual(r.status, 200, r)
        STACK.sql("UPDATE findings SET snoozed_until = UTC_TIMESTAMP() + "
                  "INTERVAL 3 SECOND WHERE tenant_id = %s AND id = %s" % (
                      q(self.tenant_id), q(eid(snz))), database="vigil")
        m = self.create({"rule_id": "keyvault-purge-*",
                         "justification": "Vault purge handled by SEC-40"})
        self.assertEqual(m["findings_muted"], 0)
        time.sleep(4)
        STACK.vigilctl("findings", "expire")
        for e, first, gone in ((acc, "expired", None),
                               (snz, "snooze_expired", "finding.reopened")):
            fid = eid(e)
            self.assertEqual(self.state(fid), "muted", first)
            h = db_history(self.tenant_id, fid)
            self.assertEqual([x[0:2] for x in h[-2:]],
                             [(first, "system"), ("muted", "system")])
            self.assertEqual(h[-1][2], {"mute_rule_id": m["id"]})
            evs = [t for t, _ in db_events(self.tenant_id, fid)]
            self.assertEqual(evs[-1], "finding.muted")
            if gone is not None:
                self.assertNotEqual(evs[-2], gone, evs)
            else:
                self.assertEqual(evs[-2], "finding.expired", evs)
        # Not open risk: not in the default list; the muted list has both.
        ids = [f["id"] for f in self.list(base, "limit=500")["findings"]]
        self.assertNotIn(eid(acc), ids)
        self.assertNotIn(eid(snz), ids)
        ids = [f["id"] for f in self.list(
            base, "state=muted&limit=500")["findings"]]
        self.assertIn(eid(acc), ids)
        self.assertIn(eid(snz), ids)
        # Deleted, the rule gives them back open.
        r = self.mreq("DELETE", "/" + m["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["findings_unmuted"], 2)
        self.assertEqual(self.state(eid(acc)), "open")
        self.assertEqual(self.state(eid(snz)), "open")

    def test_3_hostile_input_changes_nothing(self):
        other, _ = new_tenant("mute-other")
        okey, _ = new_key(other, "read,write")
        mine = self.create({"source": "azure", "subscription_id": "sub-x",
                            "justification": "x"})
        n0 = nrules(self.tenant_id)
        cases = [
            ({}, "rule_id"),
            ({"justification": "no criterion"}, "rule_id"),
            ({"rule_id": "nsg-*"}, "justification"),
            ({"rule_id": "nsg-*", "justification": " \t "}, "justification"),
            ({"rule_id": "nsg-[ab]", "justification": "x"}, "rule_id"),
            ({"rule_id": "x'; DROP TABLE mute_rules; --",
              "justification": "x"}, "rule_id"),
            ({"rule_id": ["nsg-*"], "justification": "x"}, "rule_id"),
            ({"rule_id": 5, "justification": "x"}, "rule_id"),
            ({"rule_id": "", "justification": "x"}, "rule_id"),
            ({"rule_id": "a" * 129, "justification": "x"}, "rule_id"),
            ({"tag": "no-colon", "justification": "x"}, "tag"),
            # a value longer than its column (256): was the database's
            # error, a 500
            ({"tag": "env:" + "v" * 257, "justification": "x"}, "tag"),
            ({"tag": "env:" + "\u00e9" * 257, "justification": "x"},
             "tag"),
            ({"resource_group": "rg/x", "justification": "x"},
             "resource_group"),
            ({"environment": "PROD\u0007", "justification": "x"},
             "environment"),
            ({"rule_id": "a", "justification": "x",
              "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
            ({"rule_id": "a", "justification": "x", "expires_at": 17},
             "expires_at"),
            ({"rule_id": "a", "justification": "x", "state": "open"},
             "state"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                r = self.mreq("POST", "", body)
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json()["error"]["code"],
                                 "invalid_request")
                self.assertEqual(r.json()["error"]["details"]["field"],
                                 field)
        for raw in (b'{"rule_id":"nsg-\xff","justification":"x"}',
                    b'[1,2]', b'{"rule_id":', b'"nsg-*"'):
            with self.subTest(raw=raw):
                r = api.request(self.base(), "POST", "/api/v1/mute-rules",
                                raw, dict(auth(self.wkey),
                                          **{"Content-Type":
                                             "application/json"}))
                self.assertEqual(r.status, 400, r)
        huge = {"rule_id": "a", "justification": "x" * (2 << 20)}
        r = self.mreq("POST", "", huge)
        self.assertEqual(r.status, 413, r)
        # Scopes: a read key cannot create or delete.
        rkey, _ = new_key(self.tenant, "read")
        r = self.mreq("POST", "", {"rule_id": "a", "justification": "x"},
                      key=rkey)
        self.assertEqual(r.status, 403, r)
        r = self.mreq("DELETE", "/" + mine["id"], key=rkey)
        self.assertEqual(r.status, 403, r)
        # Another tenant's rule, a malformed or unknown id: 404.
        for key, rid_ in ((okey, mine["id"]),
                          (self.wkey, "mute_01JV7Q6B1C2D3E4F5G6H7J8K9M"),
                          (self.wkey, "nope' OR '1'='1")):
            with self.subTest(id=rid_):
                path = "/" + api.urllib.parse.quote(rid_)
                r = self.mreq("GET", path, key=key)
                self.assertEqual(r.status, 404, r)
                r = self.mreq("DELETE", path, key=key)
                self.assertEqual(r.status, 404, r)
        r = self.mreq("GET", "", key=okey)
        self.assertEqual(r.json()["mute_rules"], [])
        self.assertEqual(nrules(self.tenant_id), n0)
        r = self.mreq("GET", "/" + mine["id"], key=self.key)
        self.assertEqual(r.status, 200, r)
        self.mreq("DELETE", "/" + mine["id"])

    def test_4_api_import(self):
        """POST /api/v1/imports reaches the same muting: a rule on the
        import's source mutes what that source reports, new or known."""
        m = self.create({"source": "team-x-scanner",
                         "justification": "Reviewed with team X"})
        e = entry("high", env="PROD", rule="nsg-ssh-internet")
        r = api.request(self.base(), "POST", "/api/v1/imports?format=vigil"
                        "&source=team-x-scanner&mode=partial",
                        json.dumps({"findings": [e]}),
                        dict(auth(self.wkey), **{"Content-Type":
                                                 "application/json"}),
                        timeout=120)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["status"], "completed", r.json())
        rows = STACK.query("SELECT id, state FROM findings WHERE "
                           "tenant_id = %s AND resource_id = %s" % (
                               q(self.tenant_id), q(e["resource_id"])))
        self.assertEqual([st for _, st in rows], ["muted"])
        acts = [a for a, _, _ in db_history(self.tenant_id, rows[0][0])]
        self.assertEqual(acts, ["detected", "muted"])
        r = self.mreq("DELETE", "/" + m["id"])
        self.assertEqual(r.json()["findings_unmuted"], 1)


class T96MuteScanner(ts.ScanBase):
    """The scanner mutes what a live rule matches, by rule pattern and
    resource group, and by the resource's tag."""

    def mreq(self, method, path, body=None):
        return self.req(method, "/api/v1/mute-rules" + path, body)

    def test_scan_mutes_and_unmutes(self):
        st1 = ts.storage("stmute1", False)
        n1 = ts.nsg("nsgmute1")          # tags {"env": "staging"}
        ts.write_inventory(self.inv, [st1, n1])
        f_st = ts.fid("t-storage-secure-transfer", st1["id"])
        f_nsg = ts.fid("t-nsg-ssh-internet", n1["id"])
        m1 = self.mreq("POST", "", {"rule_id": "t-storage-*",
                                    "resource_group": "RG-TEST",
                                    "justification": "Test storage"})
        self.assertEqual(m1.status, 201, m1)
        m2 = self.mreq("POST", "", {"tag": "ENV:staging",
                                    "justification": "Staging NSGs"})
        self.assertEqual(m2.status, 201, m2)
        integ = self.integration()
        seq0 = ts.last_event_seq()
        s = self.scan(integ)
        self.assertEqual(s["status"], "completed", s)
        self.assertEqual(self.finding(f_st)["state"], "muted")
        self.assertEqual(self.finding(f_nsg)["state"], "muted")
        # Counted nowhere as open risk.
        self.assertEqual(s["counts"], {"critical": 0, "high": 0,
                                       "medium": 0, "low": 0, "info": 0})
        types = [t for _, t, _ in ts.events(self.tenant_id, "finding.",
                                             seq0)]
        self.assertEqual(sorted(types), ["finding.muted", "finding.muted"])
        rs = api.request(self.base, "GET", "/api/v1/risk-score",
                         headers=auth(self.key)).json()
        rs0 = api.request(self.base, "GET", "/api/v1/posture-summary",
                          headers=auth(self.key)).json()
        self.assertEqual(rs0["metrics"]["total_findings"], 0)
        self.assertEqual(rs0["metrics"]["state_counts"]["muted"], 2)
        self.assertIsInstance(rs, dict)
        # Seen again: still muted, no new event.
        seq1 = ts.last_event_seq()
        self.scan(integ)
        self.assertEqual(self.finding(f_nsg)["state"], "muted")
        self.assertEqual(ts.events(self.tenant_id, "finding.", seq1), [])
        # Rules deleted: open again; the next scan confirms (redetected).
        r = self.mreq("DELETE", "/" + m2.json()["id"])
        self.assertEqual(r.json()["findings_unmuted"], 1)
        self.assertEqual(self.finding(f_nsg)["state"], "open")
        self.assertEqual(self.finding(f_st)["state"], "muted")
        r = self.mreq("DELETE", "/" + m1.json()["id"])
        self.assertEqual(r.json()["findings_unmuted"], 1)
        s = self.scan(integ)
        self.assertEqual(self.finding(f_st)["state"], "open")
        self.assertEqual(s["counts"]["critical"], 1)
        self.assertEqual(s["counts"]["medium"], 1)
        acts = [h["action"] for h in api.request(
            self.base, "GET", "/api/v1/findings/%s/history" % f_st,
            headers=auth(self.key)).json()["history"]]
        self.assertEqual(acts, ["detected", "muted", "unmuted",
                                "redetected"])
        # A muted finding a complete scan no longer sees is resolved.
        m3 = self.mreq("POST", "", {"rule_id": "t-nsg-ssh-internet",
                                    "justification": "x"})
        self.assertEqual(m3.json()["findings_muted"], 1)
        ts.write_inventory(self.inv, [st1])
        self.scan(integ)
        self.assertEqual(self.finding(f_nsg)["state"], "resolved")
        # Another tenant's scans are not muted by this tenant's rules.
        other, _ = new_tenant("mute-scan-other")
        okey, _ = new_key(other, "read,write,admin")
        ts.write_inventory(self.inv, [st1, n1])
        r = api.request(self.base, "POST", "/api/v1/integrations", {
            "type": "inventory", "name": "inv",
            "config": {"path": self.inv}}, auth(okey))
        oint = r.json()["id"]
        r = api.request(self.base, "POST", "/api/v1/scans",
                        {"integration_id": oint}, auth(okey))
        self.assertEqual(r.status, 202, r)
        p = STACK.scan("--due", conf=ts.CONF)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        r = api.request(self.base, "GET", "/api/v1/findings/" + f_nsg,
                        headers=auth(okey))
        self.assertEqual(r.json()["state"], "open")

CUSTOM = {"id": "it-custom-https", "provider": "azure",
          "resource_type": "Microsoft.Storage/storageAccounts",
          "title": "Storage account without HTTPS only (house rule)",
          "severity": "high", "category": "storage",
          "framework": "House rule 7", "description": "HTTP is allowed.",
          "recommendation": "Require HTTPS.",
          "condition": {"path": "properties.supportsHttpsTrafficOnly",
                        "ne": True, "default": False}}


class T448CustomRuleShadowed(ts.ScanBase):
    """A custom rule made before the rule pack gave a built-in rule its
    id (an upgrade; stored here by hand, as the API refuses it now): the
    built-in rule is the rule of that id, listed once and observed once
    a scan; the custom one can still be deleted, which leaves the
    built-in rule and its setting as they are. (The API's rule pack is
    the stack's, the scanner's here test_scanner's RULES.)"""

    def rreq(self, method, path, body=None, key=None):
        return self.req(method, "/api/v1/rules" + path, body, key)

    def store(self, rid):
        body = dict(CUSTOM, id=rid, title="House copy of the rule",
                    severity="low")
        STACK.sql("INSERT INTO custom_rules (tenant_id, id, body, "
                  "created_at, created_by) VALUES (%s, %s, %s, "
                  "UTC_TIMESTAMP(), 'before-the-upgrade')" % (
                      q(self.tenant_id), q(rid), q(json.dumps(body))),
                  database="vigil")
        return body

    def test_1_scanned_once(self):
        rid = ts.RULES[0]["id"]
        body = self.store(rid)
        st = ts.storage("stshadow1", False)
        ts.write_inventory(self.inv, [st])
        f = ts.fid(rid, st["id"])
        integ = self.integration()
        for _ in range(2):
            self.assertEqual(self.scan(integ)["status"], "completed")
        got = self.finding(f)
        self.assertEqual((got["state"], got["title"], got["severity"]),
                         ("open", ts.RULES[0]["title"],
                          ts.RULES[0]["severity"]))
        self.assertNotEqual(got["title"], body["title"])
        self.assertEqual([h[0] for h in db_history(self.tenant_id, f)],
                         ["detected"])
        STACK.sql("DELETE FROM custom_rules WHERE tenant_id = %s" %
                  q(self.tenant_id), database="vigil")

    def test_2_listed_once_then_deleted(self):
        rid = "storage-secure-transfer"        # the stack's pack has it
        body = self.store(rid)
        r = self.rreq("PUT", "/" + rid, {"severity": "critical"})
        self.assertEqual(r.status, 200, r)
        r = self.rreq("GET", "?limit=500")
        self.assertEqual(r.status, 200, r)
        mine = [x for x in r.json()["rules"] if x["id"] == rid]
        self.assertEqual(len(mine), 1, mine)
        self.assertFalse(mine[0]["custom"])
        self.assertNotEqual(mine[0]["title"], body["title"])
        r = self.rreq("DELETE", "/" + rid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM custom_rules WHERE tenant_id = %s" %
            q(self.tenant_id)), [["0"]])
        r = self.rreq("GET", "/" + rid)
        self.assertEqual((r.status, r.json()["custom"],
                          r.json()["severity"]), (200, False, "critical"), r)
        # the built-in rule itself cannot be deleted
        r = self.rreq("DELETE", "/" + rid)
        self.assertEqual(r.status, 409, r)


class T97RuleSettings(ts.ScanBase):
    """Custom rules, disable and severity override, per tenant."""

    def rreq(self, method, path, body=None, key=None):
        return self.req(method, "/api/v1/rules" + path, body, key)

    def test_1_custom_disable_override_isolation(self):
        other, other_id = new_tenant("rules-other")
        okey, _ = new_key(other, "read,write,admin")
        st = ts.storage("strules1", False)
        ts.write_inventory(self.inv, [st])
        f = ts.fid("it-custom-https", st["id"])
        r = self.rreq("POST", "", CUSTOM)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["id"], "it-custom-https")
        self.assertTrue(r.json()["custom"])
        self.assertTrue(r.json()["enabled"])
        self.assertEqual(len(STACK.query(
            "SELECT object FROM audit_log WHERE tenant_id = %s AND action = "
            "'rule.create'" % q(self.tenant_id))), 1)
        # Listed for this tenant, not for the other.
        mine = self.rreq("GET", "?limit=500").json()["rules"]
        theirs = self.rreq("GET", "?limit=500", key=okey).json()["rules"]
        self.assertIn("it-custom-https", [x["id"] for x in mine])
        self.assertNotIn("it-custom-https", [x["id"] for x in theirs])
        self.assertEqual(self.rreq("GET", "/it-custom-https",
                                   key=okey).status, 404)
        r = self.rreq("PUT", "/it-custom-https", {"enabled": False},
                      key=okey)
        self.assertEqual(r.status, 404, r)
        # Scanned: the finding exists for this tenant only.
        integ = self.integration()
        self.assertEqual(self.scan(integ)["status"], "completed")
        self.assertEqual(self.finding(f)["state"], "open")
        self.assertEqual(self.finding(f)["severity"], "high")
        r = api.request(self.base, "POST", "/api/v1/integrations", {
            "type": "inventory", "name": "inv",
            "config": {"path": self.inv}}, auth(okey))
        oint = r.json()["id"]
        api.request(self.base, "POST", "/api/v1/scans",
                    {"integration_id": oint}, auth(okey))
        p = STACK.scan("--due", conf=ts.CONF)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(api.request(self.base, "GET", "/api/v1/findings/"
                                     + f, headers=auth(okey)).status, 404)
        # Severity override: the next scan rescores.
        r = self.rreq("PUT", "/it-custom-https", {"severity": "low"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["severity"], r.json()[
            "default_severity"]), ("low", "high"))
        self.scan(integ)
        self.assertEqual(self.finding(f)["severity"], "low")
        # Disabled: resolved with the reason; the other tenant unaffected.
        r = self.rreq("PUT", "/it-custom-https", {"enabled": False})
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json()["enabled"])
        self.assertEqual(self.finding(f)["state"], "resolved")
        h = db_history(self.tenant_id, f)[-1]
        self.assertEqual(h[0:2], ("resolved", "system"))
        self.assertEqual(h[2], {"reason": "rule_disabled",
                                "rule_id": "it-custom-https"})
        self.scan(integ)
        self.assertEqual(self.finding(f)["state"], "resolved")
        # Re-enabled: the next scan evaluates it again.
        self.rreq("PUT", "/it-custom-https", {"enabled": True,
                                              "severity": None})
        self.scan(integ)
        self.assertEqual(self.finding(f)["state"], "open")
        self.assertEqual(self.finding(f)["severity"], "high")
        # A built-in rule disabled here stays enabled there.
        r = self.rreq("PUT", "/storage-secure-transfer", {"enabled": False})
        self.assertEqual(r.status, 200, r)
        self.assertFalse(self.rreq("GET", "/storage-secure-transfer")
                         .json()["enabled"])
        self.assertTrue(self.rreq("GET", "/storage-secure-transfer",
                                  key=okey).json()["enabled"])
        r = self.rreq("DELETE", "/storage-secure-transfer")
        self.assertEqual(r.status, 409, r)
        self.rreq("PUT", "/storage-secure-transfer", {"enabled": True})
        # Deleted: its findings resolved (rule_deleted), the rule gone.
        r = self.rreq("DELETE", "/it-custom-https", key=okey)
        self.assertEqual(r.status, 404, r)
        r = self.rreq("DELETE", "/it-custom-https")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"id": "it-custom-https",
                                    "deleted": True, "findings_resolved": 1})
        self.assertEqual(db_history(self.tenant_id, f)[-1][2]["reason"],
                         "rule_deleted")
        self.assertEqual(self.rreq("GET", "/it-custom-https").status, 404)

    def test_1b_disable_again_and_at_once(self):
        """A disable sent again resolves what a first one left open (its
        resolve stopped midway: the database gone); two changes of one
        rule made at once both stay (each read its setting before the
        tenant's lock, so the last merged the first one away)."""
        st = ts.storage("strules1b", False)
        ts.write_inventory(self.inv, [st])
        rid = "it-custom-again"
        r = self.rreq("POST", "", dict(CUSTOM, id=rid))
        self.assertEqual(r.status, 201, r)
        f = ts.fid(rid, st["id"])
        integ = self.integration()
        self.scan(integ)
        self.assertEqual(self.finding(f)["state"], "open")
        r = self.rreq("PUT", "/" + rid, {"enabled": False})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.finding(f)["state"], "resolved")
        # What a stopped resolve leaves: the finding still open.
        STACK.sql("UPDATE findings SET state = 'open', resolved_at = NULL, "
                  "resolved_by = 'none' WHERE tenant_id = %s AND id = %s" % (
                      q(self.tenant_id), q(f)), database="vigil")
        self.assertEqual(self.finding(f)["state"], "open")
        r = self.rreq("PUT", "/" + rid, {"enabled": False})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.finding(f)["state"], "resolved")
        self.assertEqual(db_history(self.tenant_id, f)[-1][2]["reason"],
                         "rule_disabled")
        self.assertEqual(self.rreq("DELETE", "/" + rid).status, 200)
        # Two PUTs held behind the tenant's lock, then let go together.
        holder = subprocess.Popen(
            ["mariadb", "--no-defaults", "-S", STACK.db_sock, "-uroot",
             "vigil"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        holder.stdin.write((
            "START TRANSACTION; SELECT id FROM tenants WHERE id = %s FOR "
            "UPDATE; SELECT SLEEP(3); COMMIT;\n" % q(self.tenant_id)).encode())
        holder.stdin.close()
        time.sleep(0.5)
        out = {}

        def put(name, body):
            out[name] = self.rreq("PUT", "/storage-secure-transfer", body)

        ths = [threading.Thread(target=put, args=a) for a in (
            ("off", {"enabled": False}), ("sev", {"severity": "low"}))]
        for t in ths:
            t.start()
        for t in ths:
            t.join(60)
        self.assertEqual(holder.wait(60), 0, holder.stderr.read())
        self.assertEqual((out["off"].status, out["sev"].status),
                         (200, 200), out)
        got = self.rreq("GET", "/storage-secure-transfer").json()
        self.assertEqual((got["enabled"], got["severity"]), (False, "low"),
                         got)
        self.rreq("PUT", "/storage-secure-transfer", {"enabled": True,
                                                     "severity": None})

    def test_2_hostile(self):
        n0 = STACK.query("SELECT COUNT(*) FROM custom_rules WHERE "
                         "tenant_id = %s" % q(self.tenant_id))
        s0 = STACK.query("SELECT rule_id, enabled, severity FROM "
                         "rule_settings WHERE tenant_id = %s ORDER BY 1"
                         % q(self.tenant_id))
        bad_cond = dict(CUSTOM, id="it-bad",
                        condition={"all": [{"path": "a", "eq": 1},
                                           {"path": "b", "ports": "x"}]})
        for body, needle in (
                (bad_cond, "condition.all[1]"),
                (dict(CUSTOM, id="It Bad"), "id"),
                (dict(CUSTOM, id="it-x", severity="urgent"), "severity"),
                (dict(CUSTOM, id="it-x", extra=1), "extra"),
                (dict(CUSTOM, id="it-x", remediation={
                    "api_version": "2023-01-01", "patch": {"a": 1}}),
                 "remediation")):
            with self.subTest(needle=needle):
                r = self.rreq("POST", "", body)
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json()["error"]["details"]["field"],
                                 "rule")
                self.assertIn(needle, r.json()["error"]["message"])
        self.assertEqual(self.rreq("POST", "", [CUSTOM]).status, 400)
        r = self.rreq("POST", "", dict(CUSTOM, id="storage-min-tls"))
        self.assertEqual(r.status, 409, r)
        r = api.request(self.base, "POST", "/api/v1/rules",
                        b'{"id":"it-\xff"}', dict(auth(self.key), **{
                            "Content-Type": "application/json"}))
        self.assertEqual(r.status, 400, r)
        wkey, _ = new_key(self.tenant, "read,write")
        self.assertEqual(self.rreq("POST", "", CUSTOM, key=wkey).status, 403)
        self.assertEqual(self.rreq("PUT", "/storage-min-tls",
                                   {"enabled": False}, key=wkey).status, 403)
        for body, field in (({}, "enabled"), ({"enabled": "no"}, "enabled"),
                            ({"severity": "urgent"}, "severity"),
                            ({"severity": 3}, "severity"),
                            ({"enabled": True, "x": 1}, "x")):
            with self.subTest(body=body):
                r = self.rreq("PUT", "/storage-min-tls", body)
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json()["error"]["details"]["field"],
                                 field)
        r = self.rreq("PUT", "/" + api.urllib.parse.quote(
            "no-such-rule' OR '1'='1"), {"enabled": False})
        self.assertEqual(r.status, 404, r)
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM custom_rules WHERE tenant_id = %s"
            % q(self.tenant_id)), n0)
        self.assertEqual(STACK.query(
            "SELECT rule_id, enabled, severity FROM rule_settings WHERE "
            "tenant_id = %s ORDER BY 1" % q(self.tenant_id)), s0)


if __name__ == "__main__":
    unittest.main()


class T182MutePassBounded(MBase):
    """A rule matching more findings than a request may change mutes the
    first ones in its request and leaves the rest to vigil-scan --due,
    saying so (apply_status pending); deleting it gives them back the
    same way. The request never walks the whole tenant."""

    N = 700

    def states(self):
        rows = STACK.query(
            "SELECT state, COUNT(*) FROM findings WHERE tenant_id = %s "
            "AND rule_id = 'pass_bound' GROUP BY state" % q(self.tenant_id))
        return {k: int(v) for k, v in rows}

    def test_bounded_then_due(self):
        self.import_items("pass_bound", self.N, "pass-bound")
        self.assertEqual(self.states(), {"open": self.N})
        m = self.create({"rule_id": "pass_bound",
                         "justification": "Known public buckets (SEC-9)"})
        self.assertEqual((m["apply_status"], m["findings_muted"]),
                         ("pending", 256), m)
        self.assertEqual(self.states(), {"open": self.N - 256,
                                             "muted": 256})
        r = self.mreq("GET", "/" + m["id"])
        self.assertEqual((r.json()["apply_status"],
                          r.json()["findings_muted"]), ("pending", 256))
        # the cron job finishes the pass where the request stopped
        STACK.scan("--due")
        self.assertEqual(self.states(), {"muted": self.N})
        r = self.mreq("GET", "/" + m["id"])
        self.assertEqual((r.json()["apply_status"],
                          r.json()["findings_muted"]), ("done", self.N))
        # each finding muted once, by the rule, in its history
        self.assertEqual(int(STACK.query(
            "SELECT COUNT(*) FROM finding_history WHERE tenant_id = %s "
            "AND action = 'muted'" % q(self.tenant_id))[0][0]), self.N)
        r = self.mreq("DELETE", "/" + m["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["apply_status"],
                          r.json()["findings_unmuted"]), ("pending", 256))
        self.assertEqual(self.states(), {"open": 256,
                                             "muted": self.N - 256})
        STACK.scan("--due")
        self.assertEqual(self.states(), {"open": self.N})
        self.assertEqual(STACK.query(
            "SELECT status, unmuted FROM mute_passes WHERE tenant_id = %s "
            "AND kind = 'delete'" % q(self.tenant_id)),
            [["done", str(self.N)]])


class T446MuteExpiryOnce(MBase):
    """Two runs of vigilctl findings expire at once (cron on two hosts,
    or one run that outlasts its minute) both pick a rule that ran out
    and both walk its findings: the rule is said expired once in the
    audit log, and each finding is given back once."""

    N = 700

    def test_two_runs_at_once(self):
        self.import_items("expire_once", self.N, "expire-once")
        m = self.create({"rule_id": "expire_once",
                         "justification": "Until the migration (SEC-12)",
                         "expires_at": rfc3339(time.time() + 3600)})
        STACK.scan("--due")
        self.assertEqual(STACK.query(
            "SELECT state, COUNT(*) FROM findings WHERE tenant_id = %s "
            "AND rule_id = 'expire_once' GROUP BY state" %
            q(self.tenant_id)), [["muted", str(self.N)]])
        STACK.sql("UPDATE mute_rules SET expires_at = "
                  "UTC_TIMESTAMP() - INTERVAL 1 SECOND WHERE id = %s" %
                  q(m["id"]), database="vigil")
        runs = [subprocess.Popen([STACK.vigilctl_bin, "findings", "expire"],
                                 env=STACK.env(), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
                for _ in range(2)]
        for p in runs:
            out, err = p.communicate(timeout=300)
            self.assertEqual(p.returncode, 0, (out, err))
        self.assertEqual(audit_actions(self.tenant_id, "mute_rule.expired"),
                         [[m["id"]]])
        self.assertEqual(STACK.query(
            "SELECT state, COUNT(*) FROM findings WHERE tenant_id = %s "
            "AND rule_id = 'expire_once' GROUP BY state" %
            q(self.tenant_id)), [["open", str(self.N)]])
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM finding_history WHERE tenant_id = %s "
            "AND action = 'unmuted'" % q(self.tenant_id)),
            [[str(self.N)]])
        v = STACK.vigilctl("audit", "verify", "--tenant", self.tenant,
                           check=False)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)


class T447UnmuteNamesNoRule(MBase):
    """A finding muted by a rule whose deletion is still pending, given
    back by another rule's pass because no live rule matches it any
    more: its history says why (no_rule) and names no rule (it used to
    name "-")."""

    N = 300

    def test_no_rule_named(self):
        self.import_items("t447", self.N, "t447")
        m = self.create({"rule_id": "t447", "justification": "SEC-447"})
        STACK.scan("--due")
        r = self.mreq("DELETE", "/" + m["id"])
        self.assertEqual((r.json()["apply_status"],
                          r.json()["findings_unmuted"]), ("pending", 256))
        # another rule's pass gives back what no live rule matches
        self.create({"rule_id": "t447-nothing", "justification": "x"})
        rows = STACK.query(
            "SELECT fields FROM finding_history WHERE tenant_id = %s AND "
            "action = 'unmuted'" % q(self.tenant_id))
        self.assertEqual(len(rows), self.N)
        fields = [json.loads(x[0]) for x in rows]
        self.assertEqual(sum(f == {"mute_rule_id": m["id"],
                                   "reason": "deleted"} for f in fields), 256)
        self.assertEqual(sum(f == {"reason": "no_rule"} for f in fields),
                         self.N - 256, fields[256:260])
        STACK.scan("--due")
        self.assertEqual(STACK.query(
            "SELECT state, COUNT(*) FROM findings WHERE tenant_id = %s "
            "AND rule_id = 't447' GROUP BY state" % q(self.tenant_id)),
            [["open", str(self.N)]])


class SourcesBase(MBase):
    """A tenant of its own for each test (its rules would mute the other
    tests' findings), and OCSF imports under the source names given: one
    item on one resource is one finding whichever source lists it."""

    A, B = "scanner-a", "scanner-b"

    def setUp(self):
        self.tenant, self.tenant_id = new_tenant("mutesrc")
        self.key, _ = new_key(self.tenant, "read,write,admin")
        self.wkey = self.key

    def imp(self, source, items, mode="full"):
        body = "".join(json.dumps(i) + "\n" for i in items)
        r = api.request(self.base(), "POST", "/api/v1/imports?format=ocsf&"
                        "source=%s&mode=%s" % (source, mode), body,
                        dict(auth(self.key),
                             **{"Content-Type": "application/x-ndjson"}),
                        timeout=120)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["status"], "completed", r.json())
        return r.json()

    def fid(self, n, code):
        rows = STACK.query("SELECT id FROM findings WHERE tenant_id = %s "
                           "AND resource_id = %s AND rule_id = %s" % (
                               q(self.tenant_id),
                               q("arn:aws:s3:::bucket-%d" % n), q(code)))
        self.assertEqual(len(rows), 1, rows)
        return rows[0][0]

    def sources(self, fid):
        return [s["source"] for s in self.get(self.base(), fid)["sources"]]

    def trail(self, fid):
        """The finding's history actions and its event types."""
        return ([a for a, _, _ in db_history(self.tenant_id, fid)],
                [t for t, _ in db_events(self.tenant_id, fid)])


class T431MuteSourceEverySource(SourcesBase):
    """A rule naming a source mutes a finding only when every source that
    lists it is that source: a finding two sources report no longer
    turns muted and open again with each one's import (it was matched
    against the source of the import at hand, the last one)."""

    def test_1_listed_by_two_stays_open(self):
        import test_imports as ti
        code = "t431_shared"
        item = ti.ocsf_item(431001, code=code)
        self.imp(self.B, [item])
        fid = self.fid(431001, code)
        m = self.create({"source": self.A,
                         "justification": "scanner A's noise (SEC-431)"})
        self.assertEqual(m["findings_muted"], 0, m)
        self.assertEqual(self.state(fid), "open")
        first = self.trail(fid)
        self.assertEqual(first, (["detected"], ["finding.detected"]))
        for source in (self.A, self.B, self.A):
            self.imp(source, [item])
            self.assertEqual(self.state(fid), "open", source)
        self.assertEqual(self.sources(fid), [self.A, self.B])
        self.assertEqual(self.trail(fid), first)
        # B's full report no longer lists it: only A does, so the rule
        # matches it now
        other = ti.ocsf_item(431002, code="t431_other")
        imp = self.imp(self.B, [other])
        self.assertEqual(imp["resolved"], 0, imp)
        self.assertEqual(self.sources(fid), [self.A])
        self.assertEqual(self.state(fid), "muted")
        h = db_history(self.tenant_id, fid)
        self.assertEqual(h[-1][0], "muted")
        self.assertEqual(h[-1][2], {"mute_rule_id": m["id"]})
        muted = self.trail(fid)
        self.assertEqual(muted[1][-1], "finding.muted")
        # A lists it again: nothing changes
        self.imp(self.A, [item])
        self.assertEqual(self.state(fid), "muted")
        self.assertEqual(self.trail(fid), muted)
        # B lists it again: a second tool reports it, open again
        self.imp(self.B, [item, other])
        self.assertEqual(self.state(fid), "open")
        h = db_history(self.tenant_id, fid)
        self.assertEqual((h[-1][0], h[-1][2].get("reason")),
                         ("unmuted", "no_rule"))
        # the finding B alone lists was never muted
        self.assertEqual(self.state(self.fid(431002, "t431_other")), "open")

    def test_2_rule_first(self):
        """The rule before any import: A alone lists the finding, muted;
        B lists it too, open; the imports after that change nothing."""
        import test_imports as ti
        code = "t431_first"
        item = ti.ocsf_item(431003, code=code)
        m = self.create({"source": self.A,
                         "justification": "scanner A's noise (SEC-431)"})
        self.imp(self.A, [item])
        fid = self.fid(431003, code)
        self.assertEqual(self.state(fid), "muted")
        self.imp(self.B, [item])
        self.assertEqual(self.state(fid), "open")
        after = self.trail(fid)
        self.assertEqual(after, (["detected", "muted", "unmuted"],
                                 ["finding.muted", "finding.unmuted"]))
        for source in (self.A, self.B, self.A):
            self.imp(source, [item])
            self.assertEqual(self.state(fid), "open", source)
        self.assertEqual(self.trail(fid), after)
        h = db_history(self.tenant_id, fid)
        self.assertEqual(h[1][2], {"mute_rule_id": m["id"]})

    def test_3_rule_over_both_sources(self):
        """A rule whose source criterion holds for both sources (their
        provider, aws, names every source of that kind) mutes the
        finding both list, and their imports leave it muted."""
        import test_imports as ti
        code = "t431_both"
        item = ti.ocsf_item(431004, code=code)
        self.imp(self.A, [item])
        self.imp(self.B, [item])
        fid = self.fid(431004, code)
        m = self.create({"source": "AWS", "rule_id": code,
                         "justification": "every tool's view of it"})
        self.assertEqual(m["findings_muted"], 1, m)
        self.assertEqual(self.state(fid), "muted")
        muted = self.trail(fid)
        for source in (self.A, self.B, self.A):
            self.imp(source, [item])
            self.assertEqual(self.state(fid), "muted", source)
        self.assertEqual(self.trail(fid), muted)


class T432MuteSourcePass(SourcesBase):
    """The pass over stored findings when a rule naming a source is
    created decides as the imports do: by every source that lists the
    finding, not by the last one that imported it."""

    def test_pass(self):
        import test_imports as ti
        both = ti.ocsf_item(432001, code="t432_both")
        only_a = ti.ocsf_item(432002, code="t432_a")
        only_b = ti.ocsf_item(432003, code="t432_b")
        self.imp(self.B, [both, only_b])
        self.imp(self.A, [both, only_a])     # A imported `both` last
        f_both = self.fid(432001, "t432_both")
        f_a = self.fid(432002, "t432_a")
        f_b = self.fid(432003, "t432_b")
        self.assertEqual(self.sources(f_both), [self.A, self.B])
        m = self.create({"source": self.A.upper(),
                         "justification": "scanner A's noise (SEC-432)"})
        self.assertEqual((m["apply_status"], m["findings_muted"]),
                         ("done", 1), m)
        self.assertEqual([self.state(f) for f in (f_both, f_a, f_b)],
                         ["open", "muted", "open"])
        self.assertEqual(self.trail(f_both), (["detected"],
                                              ["finding.detected"]))
        r = self.mreq("DELETE", "/" + m["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["findings_unmuted"], 1, r.json())
        self.assertEqual([self.state(f) for f in (f_both, f_a, f_b)],
                         ["open", "open", "open"])


class T433MuteSourceExpiry(SourcesBase):
    """An acceptance that runs out under a live rule naming a source
    leaves muted only the finding that source alone lists; one that
    another source lists too is open again."""

    def test_expiry(self):
        import test_imports as ti
        both = ti.ocsf_item(433001, code="t433_both")
        only_a = ti.ocsf_item(433002, code="t433_a")
        self.imp(self.B, [both])
        self.imp(self.A, [both, only_a])     # A imported `both` last
        f_both = self.fid(433001, "t433_both")
        f_a = self.fid(433002, "t433_a")
        until = rfc3339(time.time() + 3)
        for f in (f_both, f_a):
            r = self.act(self.base(), f, "accept", {
                "justification": "until the vendor's fix",
                "expires_at": until})
            self.assertEqual(r.status, 200, r)
        m = self.create({"source": self.A,
                         "justification": "scanner A's noise (SEC-433)"})
        self.assertEqual(m["findings_muted"], 0, m)
        time.sleep(4)
        STACK.vigilctl("findings", "expire")
        self.assertEqual(self.state(f_both), "open")
        self.assertEqual(self.state(f_a), "muted")
        self.assertEqual([a for a, _, _ in db_history(self.tenant_id,
                                                      f_both)][-1],
                         "expired")


class T442MutePassDecidesUnderLock(SourcesBase):
    """A pass over stored findings (here vigil-scan --due finishing what a
    rule's request left) picks its candidates from a page it read before
    their transactions; an import that lists a finding under a second
    source in between is seen by that finding's own transaction, which
    leaves it open. (The pass muted it from what its page said, and it
    stayed muted until the second source's next import.)"""

    def test_import_between_page_and_mute(self):
        import test_imports as ti
        code = "t442"
        first = ti.ocsf_item(442000, code=code)
        self.imp(self.A, [first], mode="partial")   # the oldest: walked last
        self.imp(self.A, [ti.ocsf_item(442001 + i, code=code)
                          for i in range(300)], mode="partial")
        f = self.fid(442000, code)
        m = self.create({"source": self.A, "justification": "tool A noise"})
        self.assertEqual((m["apply_status"], m["findings_muted"]),
                         ("pending", 256), m)
        self.assertEqual(self.get(self.base(), f)["state"], "open")
        p = subprocess.Popen(
            [STACK.vigil_scan_bin, "-c", STACK.conf, "--due"],
            env=dict(STACK.env(), VIGIL_DEBUG_MUTE_PASS_STOP=self.tenant_id),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True)
        # It stops after reading its page (F open, listed by A alone);
        # B lists F meanwhile, which leaves it open.
        ti.while_stopped(self, p, "after its pass's first page",
                         lambda: self.imp(self.B, [first], mode="partial"))
        out, err = p.communicate(timeout=300)
        self.assertEqual(p.returncode, 0, out + err)
        got = self.get(self.base(), f)
        self.assertEqual((got["state"], sorted(self.sources(f))),
                         ("open", [self.A, self.B]), got)
        self.assertNotIn("muted", self.trail(f)[0])
        r = self.mreq("GET", "/" + m["id"])
        self.assertEqual((r.json()["apply_status"],
                          r.json()["findings_muted"]), ("done", 300), r)


class T434MuteSourceScanned(ts.ScanBase):
    """The scanner's batches decide as the imports do. A rule naming the
    integration mutes what only its scans report; once an import lists
    the finding too, the scans leave it open (they muted it again at
    each scan, and the import's next batch gave it back)."""

    def mreq(self, method, path, body=None):
        return self.req(method, "/api/v1/mute-rules" + path, body)

    def vigil_import(self, entries, mode):
        r = api.request(self.base, "POST", "/api/v1/imports?format=vigil&"
                        "source=t434-tool&mode=" + mode,
                        json.dumps({"findings": entries}),
                        dict(auth(self.key),
                             **{"Content-Type": "application/json"}),
                        timeout=120)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["status"], "completed", r.json())
        return r.json()

    def test_scan_and_import(self):
        st = ts.storage("stt434", False)
        ts.write_inventory(self.inv, [st])
        rule = "t-storage-secure-transfer"
        f = ts.fid(rule, st["id"])
        integ = self.integration()
        m = self.mreq("POST", "", {"source": integ,
                                   "justification": "the lab's estate"})
        self.assertEqual(m.status, 201, m)
        self.scan(integ)
        self.assertEqual(self.finding(f)["state"], "muted")
        # The same finding from another tool: open, whoever reports it
        e = entry("high", rule=rule, resource_id=st["id"])
        self.assertEqual(eid(e), f)
        self.vigil_import([e], "partial")
        self.assertEqual(self.finding(f)["state"], "open")
        seq = ts.last_event_seq()
        for _ in range(2):
            self.scan(integ)
            self.assertEqual(self.finding(f)["state"], "open")
        self.vigil_import([e], "partial")
        self.assertEqual(self.finding(f)["state"], "open")
        # (the two tools' severity and text differ: those changes are
        # recorded at each turn, as before; muting is not)
        for t in ("finding.muted", "finding.unmuted"):
            self.assertEqual(ts.events(self.tenant_id, t, seq), [], t)
        self.assertEqual([s["source"] for s in self.finding(f)["sources"]],
                         ["t434-tool"])

    def test_import_drops_scanned(self):
        """A full import that no longer lists a finding a scan owns leaves
        it the scan's alone: its source names the integration again at
        once, so a rule naming the integration mutes it in that import's
        reconcile (it stayed open until the next scan, judged by the
        source of the import gone), and ?source= finds it under the
        integration."""
        st = ts.storage("stt434b", False)
        ts.write_inventory(self.inv, [st])
        rule = "t-storage-secure-transfer"
        f = ts.fid(rule, st["id"])
        integ = self.integration()
        self.assertEqual(self.mreq("POST", "", {
            "source": integ, "justification": "the lab's estate"}).status,
            201)
        self.scan(integ)
        self.assertEqual(self.finding(f)["state"], "muted")
        e = entry("high", rule=rule, resource_id=st["id"])
        self.vigil_import([e], "full")
        got = self.finding(f)
        self.assertEqual((got["state"], got["source"]), ("open", "t434-tool"))
        # The tool's next full report no longer has it.
        other = entry("low", rule="t434-other", resource_id=st["id"])
        imp = self.vigil_import([other], "full")
        self.assertEqual(imp["resolved"], 0, imp)
        got = self.finding(f)
        self.assertEqual((got["state"], got["source"], got["sources"]),
                         ("muted", integ, []), got)
        r = self.req("GET", "/api/v1/findings?source=" + integ +
                     "&state=muted&limit=500")
        self.assertIn(f, [x["id"] for x in r.json()["findings"]])
        r = self.req("GET", "/api/v1/findings?source=t434-tool&limit=500")
        self.assertNotIn(f, [x["id"] for x in r.json()["findings"]])
        # and the next scan changes nothing
        seq = ts.last_event_seq()
        self.scan(integ)
        self.assertEqual(self.finding(f)["state"], "muted")
        for t in ("finding.muted", "finding.unmuted", "finding.resolved"):
            self.assertEqual(ts.events(self.tenant_id, t, seq), [], t)
