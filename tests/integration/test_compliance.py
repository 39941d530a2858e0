"""test_compliance.py: compliance frameworks (GET /api/v1/compliance/
frameworks and /frameworks/{id}). The bundled catalogues are listed with
their sources; a control fails while a rule that checks it has an open
finding and passes once the finding is resolved, accepted, snoozed or
muted (those counted as excepted); a control no enabled rule checks is
not_assessed (and a disabled rule stops covering its controls); another
tenant's findings and custom rules never count; a failing control shows at
most 10 findings and counts all; rules' structured framework references
are checked (a bad one is a 400 naming the place); hostile paths and
parameters are clear 4xx; vigil-scan refuses a rule file with a bad
reference, naming the file and the place, and a frameworks_dir it cannot
read. Every response is held against doc/openapi.json
by T99OpenApi.

Run by run.py, which sets STACK here (and in the modules used below).
"""

import json
import os
import shutil
import tempfile
import unittest

import test_api as api
import test_findings as tf
from test_api import auth, new_key, new_tenant
from test_findings import FBase, eid, entry, import_findings

STACK = None        # a stack.Stack, set by run.py

FRAMEWORKS = ("cis-azure-2.0", "nist-800-53-r5", "pci-dss-4.0", "soc2")


def setUpModule():
    global STACK
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    tf.STACK = STACK
    tf.setUpModule()


def tearDownModule():
    tf.tearDownModule()


def catalogue(fid):
    with open(os.path.join(STACK.srcdir, "data", "frameworks",
                           fid + ".json")) as f:
        return json.load(f)


class CBase(FBase):
    def base(self):
        return STACK.urls()["nginx"]

    def creq(self, path="", key=None, method="GET"):
        return api.request(self.base(), method,
                           "/api/v1/compliance/frameworks" + path,
                           headers=auth(key or self.key))

    def status(self, fid, key=None):
        r = self.creq("/" + fid, key)
        self.assertEqual(r.status, 200, r)
        self.assert_common_headers(r)
        return r.json()

    def control(self, fid, cid, key=None):
        for c in self.status(fid, key)["controls"]:
            if c["id"] == cid:
                return c
        self.fail("%s has no control %s" % (fid, cid))

    def assert_control(self, c, status, open_=0, excepted=0, shown=None):
        self.assertEqual(c["status"], status, c)
        self.assertEqual(c["open_findings"], open_, c)
        self.assertEqual(c["excepted_findings"], excepted, c)
        if shown is not None:
            self.assertEqual([f["id"] for f in c["findings"]], shown, c)


class T160Catalogues(CBase):
    def test_list(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = api.request(base, "GET", "/api/v1/compliance/frameworks",
                                headers=auth(self.key))
                self.assertEqual(r.status, 200, r)
                self.assert_common_headers(r)
                fws = r.json()["frameworks"]
                self.assertEqual([f["id"] for f in fws], list(FRAMEWORKS))
                for f in fws:
                    cat = catalogue(f["id"])
                    self.assertEqual(f["name"], cat["name"])
                    self.assertEqual(f["source"], cat["source"])
                    self.assertTrue(f["source"])
                    s = f["summary"]
                    self.assertEqual(s["controls"], len(cat["controls"]))
                    self.assertEqual(s["pass"] + s["fail"] +
                                     s["not_assessed"], s["controls"])
                    # A fresh tenant has no finding: nothing fails, and
                    # the pack covers some controls of every framework.
                    self.assertEqual(s["fail"], 0, f)
                    self.assertGreater(s["pass"], 0, f)

    def test_one_has_every_control_in_order(self):
        for fid in FRAMEWORKS:
            with self.subTest(framework=fid):
                body = self.status(fid)
                cat = catalogue(fid)
                self.assertEqual([c["id"] for c in body["controls"]],
                                 [c["id"] for c in cat["controls"]])
                self.assertEqual([c["title"] for c in body["controls"]],
                                 [c["title"] for c in cat["controls"]])
                self.assertEqual(body["findings_shown_per_control"], 10)
        # The pack's NSG rules check CIS 6.1 and 6.2; nothing checks
        # 1.1.1 (security defaults: an Entra setting Vigil does not read).
        c = self.control("cis-azure-2.0", "6.2")
        self.assertIn("nsg-ssh-internet", c["rules"])
        self.assertIn("nsg-all-ports-internet", c["rules"])
        self.assert_control(c, "pass", shown=[])
        c = self.control("cis-azure-2.0", "1.1.1")
        self.assertEqual(c["rules"], [])
        self.assert_control(c, "not_assessed", shown=[])


class T161FailThenPass(CBase):
    def test_resolved_finding_passes_its_controls(self):
        base = self.base()
        e = entry("critical", rule="nsg-ssh-internet")
        import_findings(self.tenant, [e], reconcile=False)
        fid = eid(e)
        for fw, ctl in (("cis-azure-2.0", "6.2"),
                        ("nist-800-53-r5", "AC-17"),
                        ("pci-dss-4.0", "1.3.1"), ("soc2", "CC6.6")):
            with self.subTest(framework=fw, control=ctl):
                c = self.control(fw, ctl)
                self.assert_control(c, "fail", 1, shown=[fid])
                f = c["findings"][0]
                self.assertEqual(f["rule_id"], "nsg-ssh-internet")
                self.assertEqual(f["severity"], "critical")
                self.assertEqual(f["resource_id"], e["resource_id"])
                self.assertEqual(f["title"], e["title"])
        # CIS 6.1 (RDP) is checked by other rules: it passes.
        self.assert_control(self.control("cis-azure-2.0", "6.1"), "pass")
        summary = {f["id"]: f["summary"] for f in self.creq().json()[
            "frameworks"]}
        self.assertEqual(summary["cis-azure-2.0"]["fail"], 1)
        self.assertEqual(summary["nist-800-53-r5"]["fail"], 2)  # SC-7, AC-17
        r = self.act(base, fid, "resolve", {"evidence": "NSG rule removed."})
        self.assertEqual(r.status, 200, r)
        for fw, ctl in (("cis-azure-2.0", "6.2"),
                        ("nist-800-53-r5", "AC-17"), ("soc2", "CC6.6")):
            with self.subTest(framework=fw, control=ctl):
                self.assert_control(self.control(fw, ctl), "pass",
                                    shown=[])
        summary = {f["id"]: f["summary"] for f in self.creq().json()[
            "frameworks"]}
        self.assertEqual(summary["cis-azure-2.0"]["fail"], 0)


class T162Exceptions(CBase):
    """Accepted, snoozed and muted findings do not fail a control; they
    are counted as excepted. Reopened, it fails again."""

    def test_accept_snooze_mute(self):
        base = self.base()
        ents = [entry("high", rule="storage-min-tls") for _ in range(3)]
        import_findings(self.tenant, ents, reconcile=False)
        ids = sorted(eid(e) for e in ents)
        c = self.control("cis-azure-2.0", "3.15")
        self.assert_control(c, "fail", 3, shown=ids)
        r = self.act(base, ids[0], "accept", {"justification": "risk "
                                              "accepted (SEC-1)"})
        self.assertEqual(r.status, 200, r)
        r = self.act(base, ids[1], "snooze", {"days": 3})
        self.assertEqual(r.status, 200, r)
        self.assert_control(self.control("cis-azure-2.0", "3.15"), "fail",
                            1, 2, shown=[ids[2]])
        r = api.request(base, "POST", "/api/v1/mute-rules",
                        {"rule_id": "storage-min-tls",
                         "justification": "legacy clients (SEC-2)"},
                        auth(self.key))
        self.assertEqual(r.status, 201, r)
        mute = r.json()["id"]
        c = self.control("cis-azure-2.0", "3.15")
        self.assert_control(c, "pass", 0, 3, shown=[])
        # NIST SC-13 is checked by storage-min-tls and others: it passes
        # too, with the same exceptions.
        self.assert_control(self.control("nist-800-53-r5", "SC-13"), "pass",
                            0, 3)
        r = api.request(base, "DELETE", "/api/v1/mute-rules/" + mute,
                        headers=auth(self.key))
        self.assertEqual(r.status, 200, r)
        self.assert_control(self.control("cis-azure-2.0", "3.15"), "fail",
                            1, 2, shown=[ids[2]])


class T163TenantIsolation(CBase):
    def test_other_tenants_findings_and_rules_never_count(self):
        other, _ = new_tenant("comp-other")
        okey, _ = new_key(other, "read,write,admin")
        e = entry("high", rule="storage-public-blob-access")
        import_findings(other, [e], reconcile=False)
        # A custom rule of the other tenant checking CIS 1.1.1, with an
        # open finding.
        rule = {"id": "it-comp-mfa", "provider": "azure",
                "resource_type": "Microsoft.Storage/storageAccounts",
                "title": "House rule", "severity": "low",
                "category": "identity",
                "framework": [{"framework": "cis-azure-2.0",
                               "control": "1.1.1"}],
                "description": "d", "recommendation": "r",
                "condition": {"path": "properties.x", "eq": 1}}
        r = api.request(self.base(), "POST", "/api/v1/rules", rule,
                        auth(okey))
        self.assertEqual(r.status, 201, r)
        import_findings(other, [entry("low", rule="it-comp-mfa")],
                        reconcile=False)
        c = self.control("cis-azure-2.0", "1.1.1", okey)
        self.assert_control(c, "fail", 1)
        self.assertEqual(c["rules"], ["it-comp-mfa"])
        self.assert_control(self.control("cis-azure-2.0", "3.7", okey),
                            "fail", 1, shown=[eid(e)])
        # This tenant sees neither.
        c = self.control("cis-azure-2.0", "1.1.1")
        self.assertEqual(c["rules"], [])
        self.assert_control(c, "not_assessed", shown=[])
        self.assert_control(self.control("cis-azure-2.0", "3.7"), "pass",
                            shown=[])
        mine = {f["id"]: f["summary"] for f in self.creq().json()[
            "frameworks"]}
        self.assertEqual(mine["cis-azure-2.0"]["fail"], 0)


class T164DisabledRule(CBase):
    def test_disabled_rule_covers_nothing(self):
        # CIS 6.3 (UDP) is checked by nsg-udp-internet alone.
        c = self.control("cis-azure-2.0", "6.3")
        self.assertEqual(c["rules"], ["nsg-udp-internet"])
        self.assertEqual(c["status"], "pass")
        r = api.request(self.base(), "PUT", "/api/v1/rules/nsg-udp-internet",
                        {"enabled": False}, auth(self.key))
        self.assertEqual(r.status, 200, r)
        c = self.control("cis-azure-2.0", "6.3")
        self.assertEqual(c["rules"], [])
        self.assert_control(c, "not_assessed")
        r = api.request(self.base(), "PUT", "/api/v1/rules/nsg-udp-internet",
                        {"enabled": True}, auth(self.key))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.control("cis-azure-2.0", "6.3")["status"],
                         "pass")


class T165Capped(CBase):
    def test_findings_shown_are_capped_and_counted(self):
        ents = [entry("medium", rule="webapp-ftp-enabled")
                for _ in range(13)]
        import_findings(self.tenant, ents, reconcile=False)
        c = self.control("cis-azure-2.0", "9.10")
        self.assertEqual(c["status"], "fail")
        self.assertEqual(c["open_findings"], 13)
        self.assertEqual([f["id"] for f in c["findings"]],
                         sorted(eid(e) for e in ents)[:10])


class T166RuleReferences(CBase):
    """Custom rules: structured references checked against the
    catalogue, the older free text still read."""

    RULE = {"provider": "azure",
            "resource_type": "Microsoft.Storage/storageAccounts",
            "title": "House rule", "severity": "low", "category": "storage",
            "description": "d", "recommendation": "r",
            "condition": {"path": "properties.x", "eq": 1}}

    def post(self, rid, framework):
        body = dict(self.RULE, id=rid, framework=framework)
        return api.request(self.base(), "POST", "/api/v1/rules", body,
                           auth(self.key))

    def test_bad_references_are_400_naming_the_place(self):
        cases = [
            ([{"framework": "nist-800-53-r5", "control": "SC-99"}],
             'rule: rule it-ref-a: framework[0].control: "SC-99" is not '
             'a control of nist-800-53-r5'),
            ([{"framework": "soc2", "control": "CC6.1"},
              {"framework": "iso-27001", "control": "A.5.1"}],
             'rule: rule it-ref-a: framework[1].framework: unknown '
             'framework "iso-27001" (cis-azure-2.0, nist-800-53-r5, '
             'pci-dss-4.0, soc2)'),
            ([{"framework": "soc2"}],
             "rule: rule it-ref-a: framework[0].control: missing"),
            ([], "rule: rule it-ref-a: framework: must be an array"),
            ({"framework": "soc2", "control": "CC6.1"},
             "rule: rule it-ref-a: framework: must be an array"),
        ]
        for fw, msg in cases:
            with self.subTest(framework=fw):
                r = self.post("it-ref-a", fw)
                self.assert_error(r, 400, "invalid_request", "rule")
                self.assertTrue(r.json()["error"]["message"].startswith(msg),
                                r.json()["error"]["message"])
        r = api.request(self.base(), "GET", "/api/v1/rules/it-ref-a",
                        headers=auth(self.key))
        self.assertEqual(r.status, 404, r)

    def test_structured_and_free_text(self):
        r = self.post("it-ref-b", [
            {"framework": "nist-800-53-r5", "control": "SC-7(3)"},
            {"framework": "soc2", "control": "CC6.1"}])
        self.assertEqual(r.status, 201, r)
        body = r.json()
        self.assertEqual(body["controls"], [
            {"framework": "nist-800-53-r5", "control": "SC-7(3)"},
            {"framework": "soc2", "control": "CC6.1"}])
        self.assertEqual(body["framework"],
                         "nist-800-53-r5 SC-7(3); soc2 CC6.1")
        c = self.control("nist-800-53-r5", "SC-7(3)")
        self.assertEqual(c["rules"], ["it-ref-b"])
        self.assertEqual(c["status"], "pass")
        r = self.post("it-ref-c", "CIS Azure 3.1 (house wording)")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["controls"], [])
        self.assertEqual(r.json()["framework"],
                         "CIS Azure 3.1 (house wording)")
        # The pack's rules show their references.
        r = api.request(self.base(), "GET", "/api/v1/rules/nsg-ssh-internet",
                        headers=auth(self.key))
        self.assertEqual(r.status, 200, r)
        self.assertIn({"framework": "cis-azure-2.0", "control": "6.2"},
                      r.json()["controls"])


class T167Hostile(CBase):
    def test_paths_and_parameters(self):
        for path in ("/nope", "/CIS-AZURE-2.0", "/cis-azure-2.0x",
                     "/" + "a" * 300, "/%2e%2e", "/..%2Fsoc2",
                     "/soc2%27%20OR%201%3D1", "/%E2%80%AE", "/soc2%0a"):
            with self.subTest(path=path):
                r = self.creq(path)
                self.assertIn(r.status, (400, 404), r)
                self.assert_common_headers(r)
                if r.status == 404:
                    self.assert_error(r, 404, "not_found")
        r = self.creq("/soc2/controls")
        self.assertEqual(r.status, 404, r)
        for path in ("?x=1", "/soc2?status=fail", "/soc2?limit=5"):
            with self.subTest(path=path):
                self.assert_error(self.creq(path), 400, "invalid_request")
        for method in ("POST", "PUT", "DELETE"):
            with self.subTest(method=method):
                r = self.creq("/soc2", method=method)
                self.assertEqual(r.status, 405, r)
        r = api.request(self.base(), "GET", "/api/v1/compliance/frameworks")
        self.assert_error(r, 401, "invalid_license_key")
        # Any key with read suffices; a write-only one does not.
        wonly, _ = new_key(self.tenant, "write")
        self.assert_error(self.creq("", wonly), 403, "insufficient_scope")
        ronly, _ = new_key(self.tenant, "read")
        self.assertEqual(self.creq("/soc2", ronly).status, 200)


class T168ScannerChecksReferences(unittest.TestCase):
    """vigil-scan loads the rules against the catalogue: a bad reference
    in a rule file, or a frameworks_dir that cannot be read, stops it
    (exit 3) with an error that says where."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vigil-compliance-")
        os.chmod(self.tmp, 0o755)
        os.makedirs(os.path.join(self.tmp, "rules"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def conf(self, **kv):
        path = os.path.join(self.tmp, "vigil.conf")
        with open(STACK.conf) as f:
            lines = [ln for ln in f.read().splitlines()
                     if ln.split("=")[0].strip() not in kv]
        lines += ["%s = %s" % (k, v) for k, v in kv.items()]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def rule_file(self, framework):
        with open(os.path.join(STACK.srcdir, "etc", "rules", "azure",
                               "storage-min-tls.json")) as f:
            rule = json.load(f)
        rule["framework"] = framework
        path = os.path.join(self.tmp, "rules", "bad.json")
        with open(path, "w") as f:
            json.dump(rule, f)
        return path

    def test_bad_reference_names_the_place(self):
        path = self.rule_file([
            {"framework": "cis-azure-2.0", "control": "3.15"},
            {"framework": "nist-800-53-r5", "control": "SC-99"}])
        conf = self.conf(rules_dir=os.path.join(self.tmp, "rules"))
        # The file is skipped with its error logged (log = stderr here),
        # never stopping the scanner.
        p = STACK.scan("--due", conf=conf)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('%s: rule storage-min-tls: framework[1].control: '
                      '"SC-99" is not a control of nist-800-53-r5 (file '
                      'skipped)' % path, p.stderr)
        # The older free text is still read.
        self.rule_file("CIS Azure 3.15 (older form)")
        p = STACK.scan("--due", conf=conf)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_unreadable_catalogue_stops_the_scanner(self):
        conf = self.conf(frameworks_dir=os.path.join(self.tmp, "none"))
        p = STACK.scan("--due", conf=conf)
        self.assertEqual(p.returncode, 78, p.stdout + p.stderr)
        self.assertIn("frameworks", p.stderr)
