"""test_scanner.py: integrations, scans and vigil-scan against a running
private stack: scans queued through the API and run by `vigil-scan --due`,
reconcile across successive scans (resolved by the scanner, reopened,
accepted with changed evidence), failed scans that resolve nothing, the
per-integration lock (two scanners, a scanner killed midway), remediation
through the read-only inventory connector, dry runs, tenants apart, and no
secret in any response or log.

The scans use a small rule set of their own (written here, in the rule
language of src/scan/rules_check.c) over inventories written here, so that what
each test changes decides exactly which finding moves; vigil-scan reads
them through a copy of the stack's vigil.conf whose rules_dir points there.
Run by run.py, which sets STACK here.
"""

import json
import os
import shutil
import signal
import tempfile
import time
import unittest

import test_api as api
from test_api import auth, new_key, new_tenant, wait_until

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4

TMP = None
CONF = None         # vigil.conf with rules_dir = TMP/rules

SUB = "5f2a9c1e-0b7d-4e3a-9c6f-2d8e1a4b7c90"

RULES = [
    {"id": "t-storage-secure-transfer", "provider": "azure",
     "resource_type": "Microsoft.Storage/storageAccounts",
     "title": "Storage account accepts plain HTTP", "severity": "medium",
     "category": "storage", "framework": "CIS Azure 3.1, NIST 800-53 SC-8",
     "description": "Secure transfer is off.",
     "recommendation": "Turn on secure transfer.",
     "condition": {"path": "properties.supportsHttpsTrafficOnly",
                   "ne": True, "default": False},
     "remediation": {"api_version": "2023-01-01", "patch": {
         "properties": {"supportsHttpsTrafficOnly": True}}}},
    {"id": "t-nsg-ssh-internet", "provider": "azure",
     "resource_type": "Microsoft.Network/networkSecurityGroups",
     "title": "NSG allows SSH from the internet", "severity": "critical",
     "category": "network", "framework": "CIS Azure 6.2",
     "description": "SSH is open to the internet.",
     "recommendation": "Restrict the source.",
     "condition": {"each": "properties.securityRules[*]", "where": {"all": [
         {"path": "properties.access", "eq": "Allow"},
         {"path": "properties.direction", "eq": "Inbound"},
         {"path": ["properties.destinationPortRange",
                   "properties.destinationPortRanges[*]"], "ports": 22},
         {"path": ["properties.sourceAddressPrefix",
                   "properties.sourceAddressPrefixes[*]"],
          "internet": True}]}}},
]


def setUpModule():
    global STACK, TMP, CONF
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    if not os.access(STACK.vigil_scan_bin, os.X_OK):
        raise unittest.SkipTest("vigil-scan is not built")
    TMP = tempfile.mkdtemp(prefix="vigil-scanner-")
    os.chmod(TMP, 0o755)
    os.makedirs(os.path.join(TMP, "rules"))
    with open(os.path.join(TMP, "rules", "test.json"), "w") as f:
        json.dump(RULES, f)
    CONF = os.path.join(TMP, "vigil.conf")
    with open(STACK.conf) as f:
        lines = [ln for ln in f.read().splitlines()
                 if not ln.startswith("rules_dir")]
    lines.append("rules_dir = " + os.path.join(TMP, "rules"))
    with open(CONF, "w") as f:
        f.write("\n".join(lines) + "\n")


def tearDownModule():
    if TMP:
        shutil.rmtree(TMP, ignore_errors=True)


# --- fixtures ---------------------------------------------------------------

def rid(kind, name):
    prov = {"st": "Microsoft.Storage/storageAccounts",
            "nsg": "Microsoft.Network/networkSecurityGroups"}[kind]
    return "/subscriptions/%s/resourceGroups/rg-test/providers/%s/%s" % (
        SUB, prov, name)


def storage(name, https, env="prod"):
    return {"id": rid("st", name), "name": name,
            "type": "Microsoft.Storage/storageAccounts",
            "tags": {"Environment": env},
            "properties": {"supportsHttpsTrafficOnly": https}}


def nsg(name, port="22", source="*"):
    return {"id": rid("nsg", name), "name": name,
            "type": "Microsoft.Network/networkSecurityGroups",
            "tags": {"env": "staging"},
            "properties": {"securityRules": [{"name": "ssh", "properties": {
                "access": "Allow", "direction": "Inbound",
                "protocol": "Tcp", "sourceAddressPrefix": source,
                "destinationPortRange": port, "priority": 100}}]}}


def write_inventory(d, resources):
    """One {"value": [...]} file per resource kind, as az exports them."""
    os.makedirs(d, exist_ok=True)
    for n in os.listdir(d):
        os.unlink(os.path.join(d, n))
    by = {}
    for r in resources:
        by.setdefault(r["type"].split("/")[-1], []).append(r)
    for kind, rs in by.items():
        with open(os.path.join(d, kind + ".json"), "w") as f:
            json.dump({"value": rs}, f)


def fid(rule, resource):
    import hashlib
    return "azure-%s-%s" % (rule, hashlib.sha256(
        resource.lower().encode()).hexdigest()[:8])


def events(tenant_id, type_prefix, since=0):
    rows = STACK.query("SELECT seq, type, payload FROM events WHERE "
                       "tenant_id = '%s' AND type LIKE '%s%%' AND seq > %d "
                       "ORDER BY seq" % (tenant_id, type_prefix, since))
    return [(int(s), t, json.loads(p)) for s, t, p in rows]


def last_event_seq():
    rows = STACK.query("SELECT COALESCE(MAX(seq), 0) FROM events")
    return int(rows[0][0])


class ScanBase(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        cls.tenant, cls.tenant_id = new_tenant("scan")
        cls.key, _ = new_key(cls.tenant, "read,write,admin")
        cls.base = STACK.urls()["nginx"]
        cls.inv = tempfile.mkdtemp(prefix="inv-", dir=TMP)
        os.chmod(cls.inv, 0o755)
        write_inventory(cls.inv, [storage("placeholder", True)])

    def req(self, method, path, body=None, key=None):
        return api.request(self.base, method, path, body,
                           auth(key or self.key))

    def integration(self, path=None, name="inventory"):
        r = self.req("POST", "/api/v1/integrations", {
            "type": "inventory", "name": name,
            "config": {"path": path or self.inv}})
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def queue(self, integ):
        r = self.req("POST", "/api/v1/scans", {"integration_id": integ})
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json()["status"], "queued")
        return r.json()["scan_id"]

    def scan(self, integ, expect_rc=0):
        """Queue through the API, run --due, return the finished scan."""
        sid = self.queue(integ)
        p = STACK.scan("--due", conf=CONF)
        self.assertEqual(p.returncode, expect_rc, p.stdout + p.stderr)
        r = self.req("GET", "/api/v1/scans/" + sid)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def finding(self, fid_):
        r = self.req("GET", "/api/v1/findings/" + fid_)
        self.assertEqual(r.status, 200, r)
        return r.json()


class T70Integrations(ScanBase):
    def test_create_list_validate(self):
        integ = self.integration(name="estate")
        r = self.req("GET", "/api/v1/integrations")
        self.assertEqual(r.status, 200, r)
        body = r.json()
        mine = [i for i in body["integrations"] if i["id"] == integ]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["type"], "inventory")
        self.assertEqual(mine[0]["config"], {"path": self.inv})
        for bad, field in (
                ({"type": "gcp", "name": "x", "config": {}}, "type"),
                ({"type": "inventory", "name": "x",
                  "config": {"path": "/nonexistent/vigil"}}, "config"),
                ({"type": "inventory", "name": "x",
                  "config": {"path": "relative"}}, "config"),
                ({"type": "inventory", "name": "x",
                  "config": {"path": self.inv, "extra": 1}}, "config"),
                ({"type": "inventory", "name": "", "config": {}}, "name"),
                ({"type": "inventory", "name": "x"}, "config"),
                ({"type": "azure", "name": "x", "config": {
                    "tenant_id": "t", "client_id": "c",
                    "subscription_ids": ["s"]}}, "config")):
            r = self.req("POST", "/api/v1/integrations", bad)
            self.assertEqual(r.status, 400, (bad, r))
            self.assertEqual(r.json()["error"]["details"]["field"], field,
                             (bad, r))
        # admin scope only
        wkey, _ = new_key(self.tenant, "read,write")
        r = self.req("POST", "/api/v1/integrations", {
            "type": "inventory", "name": "x", "config": {"path": self.inv}},
            key=wkey)
        self.assertEqual(r.status, 403, r)
        # audited
        rows = STACK.query("SELECT action FROM audit_log WHERE tenant_id = "
                           "'%s' AND object = '%s'" % (self.tenant_id, integ))
        self.assertEqual(rows, [["integration.create"]])

    def test_vigilctl_same_rules_as_api(self):
        """vigilctl integration add-inventory and POST /integrations
        refuse the same names and paths with the same message, accept the
        same ones (a name is 1 to 100 characters, not bytes) and write the
        same row and the same audit entry."""
        notdir = os.path.join(self.inv, "storageAccounts.json")
        self.assertTrue(os.path.isfile(notdir))

        def api_create(name, path):
            return self.req("POST", "/api/v1/integrations", {
                "type": "inventory", "name": name, "config": {"path": path}})

        def ctl_create(name, path):
            return STACK.vigilctl("integration", "add-inventory",
                                  "--tenant", self.tenant, "--name", name,
                                  "--path", path, check=False)

        def names():
            rows = STACK.query("SELECT HEX(name) FROM integrations WHERE "
                               "tenant_id = '%s'" % self.tenant_id)
            return sorted(bytes.fromhex(r[0]).decode() for r in rows)

        before = names()
        for name, path, field, rc in (
                ("bell\x07name", self.inv, "name", 64),
                ("c1\u0085name", self.inv, "name", 64),
                ("x" * 101, self.inv, "name", 64),
                ("\u00e9" * 101, self.inv, "name", 64),
                ("not a directory", notdir, "config", 1),
                ("missing", "/nonexistent/vigil", "config", 1),
                ("relative", "relative/dir", "config", 1)):
            r = api_create(name, path)
            self.assertEqual(r.status, 400, (name, path, r))
            err = r.json()["error"]
            self.assertEqual(err["details"]["field"], field, (name, r))
            c = ctl_create(name, path)
            self.assertEqual(c.returncode, rc, (name, path, c.stderr))
            self.assertIn("vigilctl: " + err["message"] + "\n", c.stderr,
                          (name, path))
            self.assertEqual(c.stdout, "")
        self.assertEqual(names(), before)

        # 100 characters of two bytes each: a name, whichever way it comes
        good = "\u00e9" * 100
        r = api_create(good, self.inv)
        self.assertEqual(r.status, 201, r)
        via_api = r.json()["id"]
        c = ctl_create(good, self.inv)
        self.assertEqual(c.returncode, 0, c.stderr)
        via_ctl = c.stdout.strip()
        self.assertRegex(via_ctl, r"^int_[0-9A-Z]{26}$")

        listed = {i["id"]: i for i in
                  self.req("GET", "/api/v1/integrations?limit=500")
                  .json()["integrations"]}
        for i in (via_api, via_ctl):
            self.assertEqual(
                {k: listed[i][k] for k in ("type", "name", "config",
                                           "last_scan_at")},
                {"type": "inventory", "name": good,
                 "config": {"path": self.inv}, "last_scan_at": None})

        def audit(obj):
            rows = STACK.query("SELECT action, actor, HEX(detail) FROM "
                               "audit_log WHERE tenant_id = '%s' AND "
                               "object = '%s'" % (self.tenant_id, obj))
            self.assertEqual(len(rows), 1, rows)
            action, actor, detail = rows[0]
            return action, actor, json.loads(bytes.fromhex(detail))

        a_action, a_actor, a_detail = audit(via_api)
        c_action, c_actor, c_detail = audit(via_ctl)
        self.assertEqual(a_action, "integration.create")
        self.assertEqual(c_action, "integration.create")
        self.assertTrue(a_actor.startswith("key:"), a_actor)
        self.assertTrue(c_actor.startswith("vigilctl:"), c_actor)
        self.assertEqual(a_detail, c_detail)
        self.assertEqual(a_detail, {"type": "inventory", "name": good,
                                    "config": {"path": self.inv}})


class T71ScanLifecycle(ScanBase):
    """One integration through successive scans."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.st1 = storage("st1bad", False)
        cls.st2 = storage("st2good", True)
        cls.nsg1 = nsg("nsg1")
        write_inventory(cls.inv, [cls.st1, cls.st2, cls.nsg1])
        cls.f_st = fid("t-storage-secure-transfer", cls.st1["id"])
        cls.f_nsg = fid("t-nsg-ssh-internet", cls.nsg1["id"])

    def test_1_first_scan(self):
        integ = self.integration()
        type(self).integ = integ
        sid = self.queue(integ)
        r = self.req("POST", "/api/v1/scans", {"integration_id": integ})
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json()["error"]["code"], "conflict")
        seq0 = last_event_seq()
        p = STACK.scan("--due", conf=CONF)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        s = self.req("GET", "/api/v1/scans/" + sid).json()
        self.assertEqual(s["status"], "completed", s)
        self.assertEqual(s["resources_scanned"], 3)
        self.assertEqual(s["rules_evaluated"], 3)
        self.assertEqual(s["findings_detected"], 2)
        self.assertEqual(s["counts"], {"critical": 1, "high": 0,
                                       "medium": 1, "low": 0, "info": 0})
        self.assertIsNone(s["error"])
        r = self.req("GET", "/api/v1/scans/%s/results" % sid).json()
        self.assertEqual(sorted((x["finding_id"], x["outcome"])
                                for x in r["results"]),
                         sorted([(self.f_st, "detected"),
                                 (self.f_nsg, "detected")]))
        f = self.finding(self.f_st)
        self.assertEqual(f["state"], "open")
        self.assertEqual(f["environment"], "PROD")
        self.assertEqual(f["subscription_id"], SUB)
        self.assertEqual(self.finding(self.f_nsg)["environment"], "STAGING")
        rows = STACK.query("SELECT id, integration_id FROM findings WHERE "
                           "tenant_id = '%s' ORDER BY id" % self.tenant_id)
        self.assertEqual(rows, sorted([[self.f_nsg, integ],
                                       [self.f_st, integ]]))
        evs = events(self.tenant_id, "scan.", seq0)
        self.assertEqual([t for _, t, _ in evs], ["scan.completed"])
        data = evs[0][2]["data"]["scan"]
        self.assertEqual(data["id"], sid)
        self.assertEqual(data["findings_detected"], 2)
        self.assertIn("duration_ms", data)
        detected = events(self.tenant_id, "finding.detected", seq0)
        self.assertEqual(len(detected), 2)
        # listed
        r = self.req("GET", "/api/v1/scans?limit=1").json()
        self.assertEqual(r["scans"][0]["id"], sid)

    def test_2_resolved_then_reopened(self):
        seq0 = last_event_seq()
        write_inventory(self.inv, [storage("st1bad", True), self.st2,
                                   self.nsg1])
        s = self.scan(self.integ)
        self.assertEqual(s["status"], "completed", s)
        self.assertEqual(s["findings_resolved"], 1, s)
        f = self.finding(self.f_st)
        self.assertEqual(f["state"], "resolved")
        self.assertEqual(f["resolved_by"], "scanner")
        self.assertEqual(self.finding(self.f_nsg)["state"], "open")
        self.assertEqual([e[2]["data"]["finding"]["id"] for e in
                          events(self.tenant_id, "finding.resolved", seq0)],
                         [self.f_st])
        r = self.req("GET", "/api/v1/scans/%s/results" % s["id"]).json()
        self.assertIn((self.f_st, "resolved"),
                      [(x["finding_id"], x["outcome"]) for x in r["results"]])
        write_inventory(self.inv, [self.st1, self.st2, self.nsg1])
        seq1 = last_event_seq()
        s = self.scan(self.integ)
        self.assertEqual(s["findings_reopened"], 1, s)
        self.assertEqual(self.finding(self.f_st)["state"], "open")
        self.assertEqual(len(events(self.tenant_id, "finding.reopened",
                                    seq1)), 1)

    def test_3_accepted_evidence_changes(self):
        r = self.req("POST", "/api/v1/findings/%s/accept" % self.f_nsg,
                     {"user": "ops@example.com",
                      "justification": "jump host, reviewed"})
        self.assertEqual(r.status, 200, r)
        # Same offence, same evidence: stays accepted.
        s = self.scan(self.integ)
        self.assertEqual(self.finding(self.f_nsg)["state"], "accepted")
        # The rule now covers 20-25: still SSH, other evidence.
        write_inventory(self.inv, [self.st1, self.st2,
                                   nsg("nsg1", port="20-25")])
        s = self.scan(self.integ)
        self.assertEqual(s["findings_reopened"], 1, s)
        self.assertEqual(self.finding(self.f_nsg)["state"], "open")
        write_inventory(self.inv, [self.st1, self.st2, self.nsg1])
        self.scan(self.integ)

    def test_4_malformed_file_fails_and_resolves_nothing(self):
        write_inventory(self.inv, [self.st2])     # both offenders gone...
        with open(os.path.join(self.inv, "zz-broken.json"), "w") as f:
            f.write('{"value": [ {"id": ')        # ...but the scan fails
        seq0 = last_event_seq()
        s = self.scan(self.integ, expect_rc=1)
        self.assertEqual(s["status"], "failed", s)
        self.assertTrue(s["error"], s)
        self.assertEqual(s["findings_resolved"], 0)
        self.assertEqual(self.finding(self.f_st)["state"], "open")
        self.assertEqual(self.finding(self.f_nsg)["state"], "open")
        self.assertEqual([t for _, t, _ in events(self.tenant_id, "scan.",
                                                  seq0)], ["scan.failed"])
        self.assertEqual(events(self.tenant_id, "finding.resolved", seq0),
                         [])
        write_inventory(self.inv, [self.st1, self.st2, self.nsg1])

    def test_5_dry_run_writes_nothing(self):
        write_inventory(self.inv, [self.st2, self.nsg1,
                                   storage("st3new", False)])
        before = STACK.query(
            "SELECT (SELECT COUNT(*) FROM scans), (SELECT COUNT(*) FROM "
            "events), (SELECT COUNT(*) FROM finding_history)")
        p = STACK.scan("--once", "--integration", self.integ, "--dry-run",
                       conf=CONF)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        lines = [ln.split("\t") for ln in p.stdout.splitlines()
                 if "\t" in ln]
        self.assertIn(["resolved", self.f_st], [ln[:2] for ln in lines])
        self.assertIn(["new", fid("t-storage-secure-transfer",
                                  rid("st", "st3new"))],
                      [ln[:2] for ln in lines])
        self.assertEqual(len(lines), 2, p.stdout)
        after = STACK.query(
            "SELECT (SELECT COUNT(*) FROM scans), (SELECT COUNT(*) FROM "
            "events), (SELECT COUNT(*) FROM finding_history)")
        self.assertEqual(before, after)
        self.assertEqual(self.finding(self.f_st)["state"], "open")
        write_inventory(self.inv, [self.st1, self.st2, self.nsg1])

    def test_6_remediation_inventory_is_read_only(self):
        r = self.req("PUT", "/api/v1/settings",
                     {"allow_auto_remediate": True})
        self.assertEqual(r.status, 200, r)
        r = self.req("POST", "/api/v1/findings/%s/remediate" % self.f_st,
                     {"user": "ops@example.com"})
        self.assertIn(r.status, (200, 202), r)
        seq0 = last_event_seq()
        s = self.scan(self.integ)
        self.assertEqual(s["status"], "completed", s)
        evs = events(self.tenant_id, "finding.remediation_failed", seq0)
        self.assertEqual([e[2]["data"]["finding"]["id"] for e in evs],
                         [self.f_st])
        r = self.req("GET", "/api/v1/scans/%s/results" % s["id"]).json()
        self.assertIn((self.f_st, "remediation_failed"),
                      [(x["finding_id"], x["outcome"]) for x in r["results"]])
        hist = self.req("GET", "/api/v1/findings/%s/history" %
                        self.f_st).json()
        self.assertIn("read-only", json.dumps(hist))

    def test_7_other_tenant_and_delete(self):
        other, _ = new_tenant("scanother")
        okey, _ = new_key(other, "read,write,admin")
        for method, path, body in (
                ("DELETE", "/api/v1/integrations/" + self.integ, None),
                ("POST", "/api/v1/scans", {"integration_id": self.integ}),
                ("GET", "/api/v1/scans/%s" % self.last_scan_id(), None),
                ("GET", "/api/v1/scans/%s/results" % self.last_scan_id(),
                 None)):
            r = self.req(method, path, body, key=okey)
            self.assertEqual(r.status, 404, (method, path, r))
        r = self.req("GET", "/api/v1/integrations", key=okey).json()
        self.assertEqual(r["integrations"], [])
        r = self.req("DELETE", "/api/v1/integrations/" + self.integ)
        self.assertEqual(r.status, 200, r)
        r = self.req("DELETE", "/api/v1/integrations/" + self.integ)
        self.assertEqual(r.status, 404, r)
        r = self.req("POST", "/api/v1/scans", {"integration_id": self.integ})
        self.assertEqual(r.status, 404, r)
        self.assertEqual(self.finding(self.f_nsg)["state"], "open")
        ids = [i["id"] for i in self.req("GET", "/api/v1/integrations")
               .json()["integrations"]]
        self.assertNotIn(self.integ, ids)

    def last_scan_id(self):
        return STACK.query("SELECT id FROM scans WHERE integration_id = "
                           "'%s' ORDER BY id DESC LIMIT 1" % self.integ)[0][0]


class T72Concurrency(ScanBase):
    """The per-integration lease: two scanners, one killed midway, one
    on another host."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Big enough that a scan takes a while under the sanitizers.
        res = [storage("bulk%05d" % i, i % 2 == 0) for i in range(3000)]
        write_inventory(cls.inv, res)

    def test_1_two_scanners_one_scan(self):
        integ = self.integration(name="bulk")
        sid = self.queue(integ)
        p1 = STACK.scan("--due", conf=CONF, wait=False)
        p2 = STACK.scan("--due", conf=CONF, wait=False)
        outs = [p.communicate(timeout=600) for p in (p1, p2)]
        self.assertEqual([p1.returncode, p2.returncode], [0, 0], outs)
        rows = STACK.query("SELECT id, status FROM scans WHERE "
                           "integration_id = '%s'" % integ)
        self.assertEqual(rows, [[sid, "completed"]])
        s = self.req("GET", "/api/v1/scans/" + sid).json()
        self.assertEqual(s["findings_detected"], 1500)
        type(self).integ = integ

    def test_2_killed_midway(self):
        integ = self.integ
        sid = self.queue(integ)
        p = STACK.scan("--due", conf=CONF, wait=False)
        ok = wait_until(lambda: STACK.query(
            "SELECT status FROM scans WHERE id = '%s'" % sid) ==
            [["running"]], 60, 0.02)
        self.assertTrue(ok, "the scan never ran")
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        self.assertEqual(STACK.query("SELECT status FROM scans WHERE id = "
                                     "'%s'" % sid), [["running"]])
        # A new scan cannot be queued while it "runs".
        r = self.req("POST", "/api/v1/scans", {"integration_id": integ})
        self.assertEqual(r.status, 409, r)
        seq0 = last_event_seq()
        # Its lease names a process of this host that is gone: the next
        # --due fails it at once.
        ok = wait_until(lambda: STACK.scan("--due", conf=CONF).returncode
                        == 0 and self.req("GET", "/api/v1/scans/" + sid)
                        .json()["status"] == "failed", 30, 0.5)
        s = self.req("GET", "/api/v1/scans/" + sid).json()
        self.assertEqual(s["status"], "failed", s)
        self.assertIn("stopped", s["error"])
        self.assertEqual([e[2]["data"]["scan"]["id"] for e in
                          events(self.tenant_id, "scan.failed", seq0)],
                         [sid])
        # Findings are whole: every one observed is a complete row.
        n = STACK.query("SELECT COUNT(*) FROM findings WHERE tenant_id = "
                        "'%s' AND state = 'open'" % self.tenant_id)
        self.assertEqual(n, [["1500"]])
        s = self.scan(integ)
        self.assertEqual(s["status"], "completed", s)

    def lease_rows(self, integ):
        return STACK.query("SELECT holder, scan_id FROM scan_leases WHERE "
                           "integration_id = '%s'" % integ)

    def test_3_two_once_one_integration(self):
        """Two `vigil-scan --once` of one integration at once: never two
        scans of it running together, and no lease left behind."""
        integ = self.integ
        before = [r[0] for r in STACK.query(
            "SELECT id FROM scans WHERE integration_id = '%s'" % integ)]
        ps = [STACK.scan("--once", "--integration", integ, conf=CONF,
                         wait=False) for _ in range(2)]
        outs = [p.communicate(timeout=600) for p in ps]
        rcs = sorted(p.returncode for p in ps)
        # 75: the other one held it (vigil-scan(8)); or one ran after the
        # other had finished.
        self.assertIn(rcs, ([0, 0], [0, 75]), outs)
        rows = [r for r in STACK.query(
            "SELECT id, status, started_at, finished_at FROM scans WHERE "
            "integration_id = '%s' ORDER BY started_at" % integ)
            if r[0] not in before]
        self.assertEqual([r[1] for r in rows], ["completed"] * len(rows),
                         rows)
        self.assertEqual(len(rows), 2 if rcs == [0, 0] else 1, (rows, outs))
        for a, b in zip(rows, rows[1:]):
            self.assertLessEqual(a[3], b[2], "two scans overlapped")
        self.assertEqual(self.lease_rows(integ), [])

    def test_4_lease_held_elsewhere(self):
        """A lease held by a scanner of another host (on a cluster, one
        that reached another Galera node, where a GET_LOCK was not seen):
        the scan waits while it is live and takes it over once expired."""
        integ = self.integ
        STACK.sql("INSERT INTO scan_leases (integration_id, holder, "
                  "scan_id, acquired_at, expires_at) VALUES ('%s', "
                  "'scanner-elsewhere:0123abcd:4242', 'scn_elsewhere', "
                  "UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL 60 SECOND)"
                  % integ, database="vigil")
        p = STACK.scan("--once", "--integration", integ, conf=CONF)
        self.assertEqual(p.returncode, 75, p.stdout + p.stderr)
        self.assertIn("another scanner", p.stderr)
        queued = STACK.query("SELECT id FROM scans WHERE integration_id = "
                             "'%s' AND status = 'queued'" % integ)
        self.assertEqual(len(queued), 1, queued)
        self.assertEqual(self.lease_rows(integ),
                         [["scanner-elsewhere:0123abcd:4242",
                           "scn_elsewhere"]])
        # Its holder stopped renewing it: expired, it is taken over.
        STACK.sql("UPDATE scan_leases SET expires_at = UTC_TIMESTAMP(6) - "
                  "INTERVAL 1 SECOND WHERE integration_id = '%s'" % integ,
                  database="vigil")
        p = STACK.scan("--once", "--integration", integ, conf=CONF)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(STACK.query("SELECT status FROM scans WHERE id = "
                                     "'%s'" % queued[0][0]),
                         [["completed"]])
        self.assertEqual(self.lease_rows(integ), [])


class T73Secrets(ScanBase):
    def test_rules_and_no_secret_anywhere(self):
        r = self.req("GET", "/api/v1/rules")
        if os.path.isdir(os.path.join(STACK.srcdir, "etc", "rules")):
            self.assertEqual(r.status, 200, r)
            body = r.json()
            self.assertGreaterEqual(body["total"], 20)
            self.assertTrue(all("id" in x and "severity" in x
                                for x in body["rules"]))
        secret = "vigil-test-secret-%d" % os.getpid()
        r = self.req("POST", "/api/v1/integrations", {
            "type": "azure", "name": "az", "config": {
                "tenant_id": "00000000-0000-0000-0000-000000000000",
                "client_id": "c", "client_secret": secret,
                "subscription_ids": [SUB]}}, )
        # Refused (400), or no verdict from an authority out of reach
        # (503): nothing stored either way.
        self.assertIn(r.status, (400, 503), r)
        self.assertNotIn(secret, r.body.decode())
        for name in os.listdir(STACK.logdir):
            with open(os.path.join(STACK.logdir, name), "rb") as f:
                self.assertNotIn(secret.encode(), f.read(), name)
        rows = STACK.query("SELECT COUNT(*) FROM integrations WHERE "
                           "config LIKE '%%%s%%' OR secret LIKE '%%%s%%'"
                           % (secret, secret))
        self.assertEqual(rows, [["0"]])


class T74Azure(ScanBase):
    """The azure connector end to end against tests/integration/fakearm.py
    (a fake Entra token endpoint and ARM on loopback): the API and the
    scanner are pointed at it (vigil.conf azure_authority_url and
    azure_arm_url; the pool is restarted to read them)."""

    @classmethod
    def setUpClass(cls):
        try:
            from fakearm import FakeArm
        except ImportError:
            raise unittest.SkipTest("tests/integration/fakearm.py missing")
        super().setUpClass()
        res = [storage("staz%d" % i, i != 0) for i in range(3)]
        res.append(nsg("nsgaz"))
        cls.fa = FakeArm(resources=res, page_size=1)
        cls.fa.start()
        cls.st_bad = res[0]
        cls.f_st = fid("t-storage-secure-transfer", res[0]["id"])
        cls.f_nsg = fid("t-nsg-ssh-internet", res[3]["id"])
        STACK.write_conf(azure_authority_url=cls.fa.url,
                         azure_arm_url=cls.fa.url)
        STACK.api_stop()
        STACK.api_start(workers=WORKERS)
        global CONF
        cls.old_conf = CONF
        CONF = os.path.join(TMP, "vigil-azure.conf")
        with open(STACK.conf) as f:
            lines = [ln for ln in f.read().splitlines()
                     if not ln.startswith("rules_dir")]
        lines.append("rules_dir = " + os.path.join(TMP, "rules"))
        with open(CONF, "w") as f:
            f.write("\n".join(lines) + "\n")

    @classmethod
    def tearDownClass(cls):
        global CONF
        CONF = cls.old_conf
        cls.fa.stop()

    def config(self, secret=None):
        return {"tenant_id": self.fa.tenant_id,
                "client_id": self.fa.client_id,
                "client_secret": secret or self.fa.client_secret,
                "subscription_ids": self.fa.subscriptions}

    def test_1_wrong_secret(self):
        r = self.req("POST", "/api/v1/integrations", {
            "type": "azure", "name": "az", "config": self.config(
                "wrong-" + self.fa.client_secret)})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["error"]["details"]["field"], "config")
        self.assertNotIn(self.fa.client_secret, r.body.decode())

    def test_2_scan_pages_retries_remediation(self):
        r = self.req("POST", "/api/v1/integrations", {
            "type": "azure", "name": "az", "config": self.config()})
        self.assertEqual(r.status, 201, r)
        integ = r.json()["id"]
        self.assertNotIn("client_secret", r.json()["config"])
        self.assertNotIn(self.fa.client_secret, r.body.decode())
        sealed = STACK.query("SELECT secret FROM integrations WHERE id = "
                             "'%s'" % integ)[0][0]
        self.assertRegex(sealed, r"^v2\.[0-9a-f]{8}\.")
        self.assertNotIn(self.fa.client_secret, sealed)
        # Pages of one resource each, a 429 and a 500 on the way.
        self.fa.fault("429", count=1, retry_after="1")
        self.fa.fault("500", count=1)
        s = self.scan(integ)
        self.assertEqual(s["status"], "completed", s)
        self.assertEqual(s["resources_scanned"], 4, s)
        self.assertEqual(s["findings_detected"], 2, s)
        self.fa.clear_faults()
        # Malformed JSON from ARM: failed, nothing resolved.
        self.fa.fault("malformed", count=-1)
        seq0 = last_event_seq()
        s = self.scan(integ, expect_rc=1)
        self.fa.clear_faults()
        self.assertEqual(s["status"], "failed", s)
        self.assertEqual(events(self.tenant_id, "finding.resolved", seq0),
                         [])
        self.assertEqual(self.finding(self.f_st)["state"], "open")
        # A remediation PATCH applied and read back.
        r = self.req("PUT", "/api/v1/settings",
                     {"allow_auto_remediate": True})
        self.assertEqual(r.status, 200, r)
        r = self.req("POST", "/api/v1/findings/%s/remediate" % self.f_st,
                     {"user": "ops@example.com"})
        self.assertIn(r.status, (200, 202), r)
        seq0 = last_event_seq()
        s = self.scan(integ)
        self.assertEqual(s["status"], "completed", s)
        self.assertEqual(len(self.fa.patches), 1, self.fa.patches)
        self.assertEqual([e[2]["data"]["finding"]["id"] for e in
                          events(self.tenant_id, "finding.remediated",
                                 seq0)], [self.f_st])
        self.assertEqual(self.fa.resource(self.st_bad["id"])["properties"]
                         ["supportsHttpsTrafficOnly"], True)
        for name in os.listdir(STACK.logdir):
            with open(os.path.join(STACK.logdir, name), "rb") as f:
                self.assertNotIn(self.fa.client_secret.encode(), f.read(),
                                 name)

    def test_4_authority_without_answer(self):
        """POST /integrations checks the credentials on an API worker: an
        Entra ID that does not answer (or answers 503) gets one short try,
        a 503 naming the config, no integration, and the other workers
        keep serving meanwhile."""
        import threading
        names = lambda: [i["name"] for i in self.req(
            "GET", "/api/v1/integrations?limit=100").json()["integrations"]]
        # Slower than the check's bound (4 s) but inside the scanner's
        # 30 s, so only the check's own bound stops waiting.
        self.fa.fault("slow", count=-1, token=True, match="/token",
                      seconds=12)
        try:
            other = {}

            def meanwhile():
                time.sleep(1)
                t0 = time.monotonic()
                other["r"] = self.req("GET", "/api/v1/integrations")
                other["s"] = time.monotonic() - t0
            th = threading.Thread(target=meanwhile)
            th.start()
            t0 = time.monotonic()
            r = self.req("POST", "/api/v1/integrations", {
                "type": "azure", "name": "az-silent",
                "config": self.config()})
            took = time.monotonic() - t0
            th.join(30)
        finally:
            self.fa.clear_faults()
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.json()["error"]["code"], "service_unavailable")
        self.assertEqual(r.json()["error"]["details"]["field"], "config")
        self.assertNotIn(self.fa.client_secret, r.body.decode())
        self.assertGreater(took, 3, "the check gave up early")
        self.assertLess(took, 8, "the check held the worker %.1f s" % took)
        self.assertEqual(other["r"].status, 200, other["r"])
        self.assertLess(other["s"], 2.5, "another request waited %.1f s"
                        % other["s"])
        self.assertNotIn("az-silent", names())
        # An authority that answers 503 judged nothing either: no
        # retries on the worker, and not a 400 about the credentials.
        self.fa.fault("503", count=-1, token=True, match="/token")
        try:
            t0 = time.monotonic()
            r = self.req("POST", "/api/v1/integrations", {
                "type": "azure", "name": "az-busy",
                "config": self.config()})
            took = time.monotonic() - t0
        finally:
            self.fa.clear_faults()
        self.assertEqual(r.status, 503, r)
        self.assertLess(took, 3, took)
        self.assertNotIn("az-busy", names())
        # Once it answers again, the same request succeeds.
        r = self.req("POST", "/api/v1/integrations", {
            "type": "azure", "name": "az-back", "config": self.config()})
        self.assertEqual(r.status, 201, r)

    def test_3_slow_and_truncated_responses(self):
        r = self.req("POST", "/api/v1/integrations", {
            "type": "azure", "name": "az-slow", "config": self.config()})
        self.assertEqual(r.status, 201, r)
        integ = r.json()["id"]
        s = self.scan(integ)
        self.assertEqual(s["status"], "completed", s)
        # Slow pages (well inside the connector's timeouts) are waited
        # for: the scan completes and sees everything.
        self.fa.fault("slow", count=2, seconds=2)
        s = self.scan(integ)
        self.fa.clear_faults()
        self.assertEqual(s["status"], "completed", s)
        self.assertEqual(s["resources_scanned"], 4, s)
        # Bodies cut short on every try: the collection is incomplete, the
        # scan fails, and no finding is resolved for what was not seen.
        self.fa.fault("truncate", count=-1)
        seq0 = last_event_seq()
        s = self.scan(integ, expect_rc=1)
        self.fa.clear_faults()
        self.assertEqual(s["status"], "failed", s)
        self.assertTrue(s.get("error"), s)
        self.assertEqual(events(self.tenant_id, "finding.resolved", seq0),
                         [])
        self.assertEqual(len(events(self.tenant_id, "scan.failed", seq0)),
                         1)

    def test_6_page_cut_by_the_network(self):
        """A page whose connection drops half way, after some of its
        resources were already scanned, is fetched again: the scan
        completes and counts every resource once."""
        r = self.req("POST", "/api/v1/integrations", {
            "type": "azure", "name": "az-cut", "config": self.config()})
        self.assertEqual(r.status, 201, r)
        integ = r.json()["id"]
        old_page = self.fa.page_size
        self.fa.page_size = 0
        try:
            self.fa.fault("cut", count=1, match="storageAccounts",
                          fraction=0.8)
            s = self.scan(integ)
            hits = [f.hits for f in self.fa.faults]
        finally:
            self.fa.clear_faults()
            self.fa.page_size = old_page
        self.assertEqual(hits, [1])
        self.assertEqual(s["status"], "completed", s)
        self.assertEqual(s["resources_scanned"], 4, s)

    def test_5_one_large_page(self):
        """A subscription whose 50,000 storage accounts come in one list
        page of about 75 MB (over the 64 MiB a page could be before pages
        were read as a stream): the scan completes, sees every one, and
        finds the one at the very end of the page."""
        sub = "sub-large-page"
        n = 50000
        pad = "p" * 1300
        ids = []
        for i in range(n):
            r = {"id": "/subscriptions/%s/resourceGroups/rg-big/providers/"
                       "Microsoft.Storage/storageAccounts/big%05d" % (sub, i),
                 "name": "big%05d" % i,
                 "type": "Microsoft.Storage/storageAccounts",
                 "tags": {"Environment": "prod", "pad": pad},
                 "properties": {"supportsHttpsTrafficOnly": i != n - 1}}
            ids.append(r["id"])
            self.fa.add(r)
        self.fa.subscriptions.append(sub)
        old_page = self.fa.page_size
        self.fa.page_size = 0
        try:
            cfg = self.config()
            cfg["subscription_ids"] = [sub]
            r = self.req("POST", "/api/v1/integrations", {
                "type": "azure", "name": "az-large", "config": cfg})
            self.assertEqual(r.status, 201, r)
            s = self.scan(r.json()["id"])
            pages = [p for m, p in self.fa.requests
                     if m == "GET" and p.startswith("/subscriptions/%s/" % sub)
                     and "storageaccounts" in p.lower()]
        finally:
            self.fa.page_size = old_page
            self.fa.subscriptions.remove(sub)
            with self.fa.lock:
                for i in ids:
                    self.fa.resources.pop(i.lower(), None)
                    self.fa.children.pop(i.lower(), None)
        self.assertEqual(s["status"], "completed", s)
        self.assertEqual(s["resources_scanned"], n, s)
        self.assertEqual(s["findings_detected"], 1, s)
        self.assertEqual(len(pages), 1, pages)
        self.assertEqual(self.finding(fid("t-storage-secure-transfer",
                                          ids[-1]))["state"], "open")


class T75Batches(ScanBase):
    """The scanner writes a batch of findings (256) per transaction: what
    crosses batch boundaries, a batch mixing new, unchanged, reopened and
    changed findings, and a scanner killed in the middle of a batch."""

    BATCH = 256

    def scan(self, integ, expect_rc=0, key=None):
        """Queue through the API and run this integration's scan alone
        (--once takes the queued scan; --due would also run the other
        tests' integrations that are due)."""
        r = self.req("POST", "/api/v1/scans", {"integration_id": integ},
                     key=key)
        self.assertEqual(r.status, 202, r)
        sid = r.json()["scan_id"]
        p = STACK.scan("--once", "--integration", integ, conf=CONF,
                       timeout=600)
        self.assertEqual(p.returncode, expect_rc, p.stdout + p.stderr)
        r = self.req("GET", "/api/v1/scans/" + sid, key=key)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["id"], sid)
        return r.json()

    def tenant_counts(self, tenant_id):
        """Findings, history rows, events by type and audit entries of a
        tenant: what a scan leaves behind."""
        q = STACK.query
        t = tenant_id
        return {
            "findings": q("SELECT id, state, fingerprint FROM findings "
                          "WHERE tenant_id = '%s' ORDER BY id" % t),
            "history": q("SELECT finding_id, action, actor, fields FROM "
                         "finding_history WHERE tenant_id = '%s' "
                         "ORDER BY finding_id, seq" % t),
            "events": q("SELECT type, COUNT(*) FROM events WHERE "
                        "tenant_id = '%s' AND type LIKE 'finding.%%' "
                        "GROUP BY type ORDER BY type" % t),
            "audit": q("SELECT object, action, actor FROM audit_log WHERE "
                       "tenant_id = '%s' AND actor = 'scanner' "
                       "ORDER BY object, seq" % t),
        }

    def results(self, sid, key=None):
        out, cursor = [], None
        while True:
            path = "/api/v1/scans/%s/results?limit=500" % sid
            if cursor:
                path += "&cursor=" + cursor
            r = self.req("GET", path, key=key)
            self.assertEqual(r.status, 200, r)
            body = r.json()
            out += [(x["finding_id"], x["outcome"]) for x in body["results"]]
            if not body["has_more"]:
                return body["total"], out
            cursor = body["next_cursor"]

    def test_1_across_batches_then_unchanged(self):
        # 600 findings: two whole batches and a part.
        n = 2 * self.BATCH + 88
        inv = tempfile.mkdtemp(prefix="inv-", dir=TMP)
        os.chmod(inv, 0o755)
        write_inventory(inv, [storage("b%04d" % i, False)
                              for i in range(n)])
        integ = self.integration(path=inv, name="batches")
        seq0 = last_event_seq()
        s = self.scan(integ)
        self.assertEqual((s["status"], s["findings_detected"]),
                         ("completed", n), s)
        before = self.tenant_counts(self.tenant_id)
        self.assertEqual(len(before["findings"]), n)
        self.assertEqual(len(before["history"]), n)
        self.assertEqual(before["events"], [["finding.detected", str(n)]])
        self.assertEqual(len(before["audit"]), n)
        total, rows = self.results(s["id"])
        self.assertEqual(total, n)
        self.assertEqual(sorted(rows), sorted(
            (fid("t-storage-secure-transfer", rid("st", "b%04d" % i)),
             "detected") for i in range(n)))
        seen0 = STACK.query("SELECT MIN(last_seen_at), MAX(updated_at) "
                            "FROM findings WHERE tenant_id = '%s'"
                            % self.tenant_id)[0]
        time.sleep(1.1)      # last_seen_at has a resolution of a second
        # Unchanged: nothing recorded but last_seen_at; no results listed.
        seq1 = last_event_seq()
        s = self.scan(integ)
        self.assertEqual(s["status"], "completed", s)
        self.assertEqual((s["findings_detected"], s["findings_resolved"],
                          s["findings_reopened"]), (0, 0, 0), s)
        self.assertEqual(self.tenant_counts(self.tenant_id), before)
        self.assertEqual(events(self.tenant_id, "finding.", seq1), [])
        self.assertEqual(self.results(s["id"]), (0, []))
        seen1 = STACK.query("SELECT MIN(last_seen_at), MAX(updated_at) "
                            "FROM findings WHERE tenant_id = '%s'"
                            % self.tenant_id)[0]
        self.assertGreater(seen1[0], seen0[0])      # every one seen again
        self.assertEqual(seen1[1], seen0[1])        # none updated
        self.assertGreater(seq1, seq0)

    def test_2_mixed_batch(self):
        """One batch holding new, unchanged, reopened, accepted-and-changed
        findings and one finding reported twice (two files)."""
        tenant, tenant_id = new_tenant("mixed")
        key, _ = new_key(tenant, "read,write,admin")
        inv = tempfile.mkdtemp(prefix="inv-", dir=TMP)
        os.chmod(inv, 0o755)
        keep = [storage("m%03d" % i, False) for i in range(50)]
        gone = [storage("g%03d" % i, False) for i in range(5)]
        write_inventory(inv, keep + gone + [self.nsg_named("n1")])
        r = self.req("POST", "/api/v1/integrations", {
            "type": "inventory", "name": "mixed",
            "config": {"path": inv}}, key=key)
        self.assertEqual(r.status, 201, r)
        integ = r.json()["id"]

        def scan():
            return self.scan(integ, key=key)

        s = scan()
        self.assertEqual(s["findings_detected"], 56, s)
        # The five "gone" resources leave: resolved by the scanner.
        write_inventory(inv, keep + [self.nsg_named("n1")])
        s = scan()
        self.assertEqual(s["findings_resolved"], 5, s)
        # Accept the NSG finding; then one scan where, in one batch: the
        # gone ones come back (reopened), the NSG's evidence changes
        # (reopened from accepted), 50 are unchanged, 20 are new, and one
        # new resource is listed in two files.
        f_nsg = fid("t-nsg-ssh-internet", rid("nsg", "n1"))
        r = self.req("POST", "/api/v1/findings/%s/accept" % f_nsg,
                     {"user": "ops@example.com", "justification": "ok"},
                     key=key)
        self.assertEqual(r.status, 200, r)
        new = [storage("n%03d" % i, False) for i in range(20)]
        seq0 = last_event_seq()
        write_inventory(inv, keep + gone + new +
                        [self.nsg_named("n1", port="20-25")])
        with open(os.path.join(inv, "zz-again.json"), "w") as f:
            json.dump({"value": [new[0]]}, f)
        s = scan()
        self.assertEqual((s["findings_detected"], s["findings_reopened"],
                          s["findings_resolved"]), (20, 6, 0), s)
        evs = events(tenant_id, "finding.", seq0)
        kinds = {}
        for _, t, e in evs:
            kinds.setdefault(t, []).append(e["data"]["finding"]["id"])
        self.assertEqual(sorted(kinds), ["finding.detected",
                                         "finding.reopened"])
        self.assertEqual(len(kinds["finding.detected"]), 20)
        self.assertEqual(sorted(kinds["finding.reopened"]), sorted(
            [fid("t-storage-secure-transfer", g["id"]) for g in gone] +
            [f_nsg]))
        # The history as the lifecycle writes it, once per transition.
        h = self.req("GET", "/api/v1/findings/%s/history" % f_nsg,
                     key=key).json()["history"]
        self.assertEqual([x["action"] for x in h],
                         ["detected", "accept_risk", "expired",
                          "redetected"])
        g0 = fid("t-storage-secure-transfer", gone[0]["id"])
        h = self.req("GET", "/api/v1/findings/%s/history" % g0,
                     key=key).json()["history"]
        self.assertEqual([x["action"] for x in h],
                         ["detected", "resolved", "reopened"])
        n0 = fid("t-storage-secure-transfer", new[0]["id"])
        h = self.req("GET", "/api/v1/findings/%s/history" % n0,
                     key=key).json()["history"]
        self.assertEqual([x["action"] for x in h], ["detected"])
        total, rows = self.results(s["id"], key=key)
        self.assertEqual(total, 26)
        self.assertIn((n0, "detected"), rows)
        self.assertIn((g0, "reopened"), rows)
        self.assertIn((f_nsg, "reopened"), rows)
        # The counts the triggers keep agree with the rows.
        self.assertEqual(
            STACK.query("SELECT state, SUM(n) FROM finding_counts WHERE "
                        "tenant_id = '%s' AND n > 0 GROUP BY state"
                        % tenant_id),
            STACK.query("SELECT state, COUNT(*) FROM findings WHERE "
                        "tenant_id = '%s' GROUP BY state" % tenant_id))
        p = STACK.vigilctl("audit", "verify", "--tenant", tenant,
                           check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    @staticmethod
    def nsg_named(name, port="22"):
        return nsg(name, port=port)

    def test_3_killed_in_a_batch_then_rerun(self):
        """kill -9 in the middle of a scan: whole batches are written, none
        in part; a new scan then leaves exactly what one clean scan
        leaves: findings, states, history, events and audit entries, with
        no duplicates, and the audit chain verifies."""
        n = 40 * self.BATCH
        inv = tempfile.mkdtemp(prefix="inv-", dir=TMP)
        os.chmod(inv, 0o755)
        res = [storage("k%05d" % i, False) for i in range(n)]
        # Many files, so the collection takes a while.
        os.makedirs(inv, exist_ok=True)
        for i in range(0, n, 100):
            with open(os.path.join(inv, "part%05d.json" % i), "w") as f:
                json.dump({"value": res[i:i + 100]}, f)
        tenant, tenant_id = new_tenant("crash")
        key, _ = new_key(tenant, "read,write,admin")
        clean, clean_id = new_tenant("clean")
        ckey, _ = new_key(clean, "read,write,admin")

        def integration(k):
            r = self.req("POST", "/api/v1/integrations", {
                "type": "inventory", "name": "crash",
                "config": {"path": inv}}, key=k)
            self.assertEqual(r.status, 201, r)
            return r.json()["id"]

        def count():
            return int(STACK.query("SELECT COUNT(*) FROM findings WHERE "
                                   "tenant_id = '%s'" % tenant_id)[0][0])

        integ = integration(key)
        r = self.req("POST", "/api/v1/scans", {"integration_id": integ},
                     key=key)
        self.assertEqual(r.status, 202, r)
        sid = r.json()["scan_id"]
        p = STACK.scan("--once", "--integration", integ, conf=CONF,
                       wait=False)
        ok = wait_until(lambda: count() >= 2 * self.BATCH, 120, 0.01)
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        self.assertTrue(ok, "no batch was written")
        got = count()
        self.assertLess(got, n, "the scan ended before the kill")
        # Whole batches only: every finding with its history, event and
        # audit entry, nothing of the batch in flight.
        self.assertEqual(got % self.BATCH, 0, got)
        c = self.tenant_counts(tenant_id)
        self.assertEqual((len(c["history"]), len(c["audit"])), (got, got))
        self.assertEqual(c["events"], [["finding.detected", str(got)]])
        # Once its lease names a process that is gone, the next scan marks
        # the killed one failed and runs.
        ok = wait_until(lambda: STACK.scan(
            "--once", "--integration", integ, conf=CONF,
            timeout=600).returncode == 0 and self.req(
                "GET", "/api/v1/scans/" + sid, key=key).json()["status"] ==
            "failed", 60, 0.5)
        self.assertTrue(ok, "the killed scan was not marked failed")
        self.assertEqual(STACK.query(
            "SELECT status, COUNT(*) FROM scans WHERE integration_id = '%s' "
            "GROUP BY status ORDER BY status" % integ),
            [["completed", "1"], ["failed", "1"]])
        # One clean scan of the same inventory in another tenant.
        s = self.scan(integration(ckey), key=ckey)
        self.assertEqual(s["findings_detected"], n, s)
        crashed = self.tenant_counts(tenant_id)
        cleanrun = self.tenant_counts(clean_id)
        self.assertEqual(len(crashed["findings"]), n)
        for k in ("findings", "history", "events", "audit"):
            self.assertEqual(crashed[k], cleanrun[k], k)
        for t in (tenant, clean):
            p = STACK.vigilctl("audit", "verify", "--tenant", t,
                               check=False)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


class T76InventoryChildren(ScanBase):
    """Child resources exported on their own (Azure Resource Graph, az
    resource list, per-type list calls: tests/data/inventory/separate, made
    from the Azure REST API specification's examples) are joined to their
    parents: a scan with the shipped rules gives the same findings, ids and
    evidence included, as the same estate with the children embedded
    (tests/data/inventory/embedded); a child whose parent is absent is
    logged by the scan, not evaluated."""

    SQL = ("/subscriptions/00000000-1111-2222-3333-444444444444/"
           "resourceGroups/firewallrulecrudtest-12/providers/Microsoft.Sql/"
           "servers/firewallrulecrudtest-6285")
    NSG = ("/subscriptions/subid/resourceGroups/rg1/providers/"
           "Microsoft.Network/networkSecurityGroups/testnsg")
    ST = ("/subscriptions/{subscription-id}/resourceGroups/res4410/providers/"
          "Microsoft.Storage/storageAccounts/sto8607")
    SITE = ("/subscriptions/subid/resourceGroups/testrg123/providers/"
            "Microsoft.Web/sites/sitef6141")

    def run_shipped(self, path, key):
        """Scan path with the shipped rules (the stack's own vigil.conf) in
        the tenant of key: (finished scan, vigil-scan's output, findings by
        id with their detail)."""
        r = self.req("POST", "/api/v1/integrations", {
            "type": "inventory", "name": "children",
            "config": {"path": path}}, key=key)
        self.assertEqual(r.status, 201, r)
        integ = r.json()["id"]
        p = STACK.scan("--once", "--integration", integ)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        s = self.req("GET", "/api/v1/scans?limit=1", key=key).json()
        s = s["scans"][0]
        found = {}
        for f in self.req("GET", "/api/v1/findings?limit=100",
                          key=key).json()["findings"]:
            d = self.req("GET", "/api/v1/findings/" + f["id"], key=key)
            self.assertEqual(d.status, 200, d)
            d = d.json()
            # The resource's metadata too: Resource Graph lowercases
            # types, the inventory gives ARM's spelling back.
            found[f["id"]] = (d["rule_id"], d["resource_id"], d["severity"],
                              d["evidence"], d["subscription_id"],
                              d["resource_name"], d["resource_type"],
                              d["resource_group"], d["region"], d["tags"])
        return s, p.stdout + p.stderr, found

    def test_separate_children_as_embedded(self):
        data = os.path.join(STACK.srcdir, "tests", "data", "inventory")
        other, _ = new_tenant("embedded")
        okey, _ = new_key(other, "read,write,admin")
        s1, out, sep = self.run_shipped(os.path.join(data, "separate"),
                                        self.key)
        s2, _, emb = self.run_shipped(os.path.join(data, "embedded"), okey)
        for s in (s1, s2):
            self.assertEqual((s["status"], s["resources_scanned"]),
                             ("completed", 4), s)
        self.assertEqual(s1["findings_detected"], s2["findings_detected"])
        self.assertEqual(sep, emb)
        rules = sorted((v[0], v[1]) for v in sep.values())
        for want in [("sql-firewall-allow-all", self.SQL),
                     ("sql-firewall-azure-services", self.SQL),
                     ("sql-auditing-disabled", self.SQL),
                     ("nsg-http-internet", self.NSG),
                     ("storage-blob-soft-delete", self.ST),
                     # the site's config/web over its list's null
                     # siteConfig
                     ("webapp-ftp-enabled", self.SITE),
                     ("webapp-min-tls", self.SITE)]:
            self.assertIn(want, rules)
        # The finding is on the server a user would fix, its evidence the
        # offending firewall rule as listed.
        f = sep[fid("sql-firewall-allow-all", self.SQL)]
        self.assertEqual([e["name"] for e in f[3]], ["AllowAll"])
        self.assertEqual(f[5:9], ("firewallrulecrudtest-6285",
                                  "Microsoft.Sql/servers",
                                  "firewallrulecrudtest-12", "japaneast"))
        self.assertEqual(f[3][0]["id"], self.SQL + "/firewallRules/AllowAll")
        # No finding on a child, none for the orphan; the orphan logged.
        self.assertFalse([v for v in sep.values()
                          if "/firewallRules/" in v[1]
                          or "gone-server" in v[1]])
        self.assertIn("1 child resource(s) of /subscriptions/00000000-1111-"
                      "2222-3333-444444444444/resourceGroups/"
                      "firewallrulecrudtest-12/providers/Microsoft.Sql/"
                      "servers/gone-server not evaluated", out)
