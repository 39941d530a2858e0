"""test_imports.py: POST /api/v1/imports, GET /imports and /imports/{id},
and vigilctl findings import --format, through the real stack.

Every golden report of tests/data/imports/ gives the findings its
NAME.expected.json lists; reimports of one source (full with an item gone
resolves it, back reopens it, partial resolves nothing, the same report
twice changes nothing and raises no event); two sources reporting the
same rule on the same resource make one finding listing both; malformed
and hostile reports (cut off, deep nesting, a huge string, invalid UTF-8,
SQL metacharacters, wrong types) are a 4xx or per-item errors with their
position and change nothing; another tenant's import is 404; scopes; an
import killed in the middle of its batches, then run again (T190); the
source rows of a reimport marked by their seqs, exactly the rows listed,
whatever order they were stored in (T398-T400).

Run by run.py, which sets STACK here.
"""

import copy
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import time
import unittest

import test_api as api
from test_api import Base, auth, new_key, new_tenant, request, wait_until
from test_attachments import form
from test_findings import sql_session

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4


def setUpModule():
    global STACK
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")


def data(name):
    with open(os.path.join(STACK.srcdir, "tests", "data", "imports", name),
              "rb") as f:
        return f.read()


def expected(name):
    return json.loads(data(name + ".expected.json"))


def q(s):
    assert "'" not in s and "\\" not in s, s
    return "'%s'" % s


def ocsf_item(n, code="s3_bucket_public_access", severity_id=4,
              status="FAIL", title=None):
    """A Prowler-shaped OCSF Detection Finding on resource n."""
    return {
        "class_uid": 2004, "class_name": "Detection Finding",
        "category_uid": 2, "activity_id": 1, "type_uid": 200401,
        "time": 1739539623 + n, "time_dt": "2025-02-14T14:27:03",
        "severity_id": severity_id, "status_code": status, "status_id": 1,
        "status_detail": "Bucket b-%d is public." % n,
        "metadata": {"event_code": code, "version": "1.4.0",
                     "product": {"name": "Prowler", "uid": "prowler"}},
        "finding_info": {"uid": "prowler-aws-%s-%d" % (code, n),
                         "title": title or "Bucket is public",
                         "desc": "An S3 bucket allows public access.",
                         "types": ["Data Exposure"]},
        "resources": [{"uid": "arn:aws:s3:::bucket-%d" % n,
                       "name": "bucket-%d" % n, "region": "eu-west-1"}],
        "cloud": {"provider": "aws", "account": {"uid": "123456789012"},
                  "region": "eu-west-1"},
        "remediation": {"desc": "Block public access."},
        "unmapped": {"compliance": {"CIS-1.4": ["2.1.5"]}},
    }


class ImportBase(Base):

    def base(self):
        return STACK.urls()["nginx"]

    def post(self, body, fmt="ocsf", source="prowler-aws-prod", mode=None,
             key=None, ct="application/json", extra=""):
        path = "/api/v1/imports?format=%s&source=%s" % (fmt, source)
        if mode:
            path += "&mode=" + mode
        path += extra
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        return request(self.base(), "POST", path, body,
                       dict(auth(key or self.key), **{"Content-Type": ct}),
                       timeout=120)

    def imported(self, body, **kw):
        r = self.post(body, **kw)
        self.assertEqual(r.status, 201, r)
        imp = r.json()
        self.assertEqual(imp["status"], "completed", imp)
        self.assertEqual(r.header("Location"),
                         "/api/v1/imports/" + imp["import_id"])
        return imp

    def finding(self, fid, key=None):
        return request(self.base(), "GET", "/api/v1/findings/" + fid,
                       headers=auth(key or self.key))

    def state(self, fid):
        r = self.finding(fid)
        self.assertEqual(r.status, 200, r)
        return r.json()["state"]

    def snapshot(self):
        """Every finding of the tenant, as stored, but last_seen_at; its
        history and events counted."""
        rows = STACK.query(
            "SELECT id, state, severity, fingerprint, title, updated_at, "
            "HEX(evidence) FROM findings WHERE tenant_id = %s ORDER BY id" %
            q(self.tenant_id))
        hist = STACK.query("SELECT COUNT(*) FROM finding_history WHERE "
                           "tenant_id = %s" % q(self.tenant_id))
        ev = STACK.query("SELECT COUNT(*) FROM events WHERE tenant_id = %s" %
                         q(self.tenant_id))
        return rows, hist, ev

    def count(self):
        return int(STACK.query("SELECT COUNT(*) FROM findings WHERE "
                               "tenant_id = %s" % q(self.tenant_id))[0][0])


class T01Golden(ImportBase):
    """Each golden report, through the API, gives its expected findings."""

    GOLDEN = (("prowler-aws.ocsf.json", "ocsf"),
              ("prowler-aws.ocsf.jsonl", "ocsf"),
              ("prowler-aws.asff.json", "asff"),
              ("semgrep.sarif", "sarif"),
              ("trivy.sarif", "sarif"),
              ("spec-minimal.sarif", "sarif"),
              ("findings.vigil.json", "vigil"),
              ("codeql.sarif", "sarif"),
              ("semgrep-ce.sarif", "sarif"),
              ("securityhub.asff.json", "asff"),
              ("ocsf-edge.ocsf.json", "ocsf"),
              ("prowler3-aws.ocsf.json", "ocsf"),
              ("nolocation.sarif", "sarif"))

    def test_golden_reports(self):
        for name, fmt in self.GOLDEN:
            with self.subTest(report=name):
                want = expected(name)
                ct = ("application/x-ndjson" if name.endswith(".jsonl")
                      else "application/json")
                imp = self.imported(data(name), fmt=fmt, source="g-" + fmt,
                                    mode="partial", ct=ct)
                self.assertEqual((imp["items"], imp["passed"],
                                  imp["failed"], imp["imported"]),
                                 (want["items"], want["passed"],
                                  want["failed"], len(want["findings"])),
                                 imp)
                self.assertEqual(imp["format"], fmt)
                self.assertEqual(imp["mode"], "partial")
                self.assertEqual(imp["errors"], [])
                for f in want["findings"]:
                    r = self.finding(f["id"])
                    self.assertEqual(r.status, 200, (name, f["id"], r))
                    got = r.json()
                    for k in ("rule_id", "provider", "resource_id", "title",
                              "severity", "category", "framework",
                              "subscription_id", "resource_name",
                              "resource_type", "resource_group", "region",
                              "account"):
                        self.assertEqual(got[k], f[k], (name, k))
                    self.assertEqual(got["tags"], json.loads(f["tags"]))
                    self.assertEqual(got["source"], "g-" + fmt)
                    self.assertEqual(got["state"], "open")
                    self.assertIn("g-" + fmt,
                                  [s["source"] for s in got["sources"]])
                    if fmt != "vigil":
                        # the raw item is the evidence
                        self.assertEqual(got["evidence"]["format"], fmt)
                        self.assertIsInstance(got["evidence"]["item"], dict)
                # GET /imports/{id} answers the same
                r = request(self.base(), "GET",
                            "/api/v1/imports/" + imp["import_id"],
                            headers=auth(self.key))
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json(), imp)

    def test_multipart_form(self):
        ct, body = form(data("trivy.sarif"), filename=b"trivy.sarif")
        imp = self.imported(body, fmt="sarif", source="form", ct=ct,
                            mode="partial")
        self.assertEqual((imp["items"], imp["imported"]), (2, 2))
        self.assertEqual(imp["bytes"], len(data("trivy.sarif")))
        n = STACK.query("SELECT COUNT(*) FROM imports")
        ct, body = form(b"[]", name=b"report")
        r = self.post(body, fmt="sarif", source="form", ct=ct)
        self.assert_error(r, 400, "invalid_request", "file")
        ct, body = form(b"[]")
        r = self.post(body[:-10], fmt="sarif", source="form", ct=ct)
        self.assert_error(r, 400, "invalid_request", "body")
        self.assertEqual(STACK.query("SELECT COUNT(*) FROM imports"), n)

    def test_sql_metacharacters_stored_as_text(self):
        imp = self.imported(data("semgrep.sarif"), fmt="sarif",
                            source="sql-chars")
        fid = [f["id"] for f in expected("semgrep.sarif")["findings"]
               if "formatted-sql" in f["id"]][0]
        self.assertIn("'; DROP TABLE findings; --",
                      self.finding(fid).json()["title"])
        self.assertEqual(imp["imported"], 2)
        self.assertTrue(STACK.query("SELECT COUNT(*) FROM findings"))

    def test_vigilctl_same_path(self):
        path = os.path.join(STACK.root, "trivy-cli.sarif")
        with open(path, "wb") as f:
            f.write(data("trivy.sarif"))
        r = STACK.vigilctl("findings", "import", "--tenant", self.tenant,
                           "--format", "sarif", "--source", "trivy-cli",
                           path)
        out = json.loads(r.stdout)
        self.assertEqual((out["status"], out["imported"]), ("completed", 2))
        self.assertEqual(out["created_by"], "vigilctl")
        for f in expected("trivy.sarif")["findings"]:
            self.assertEqual(self.finding(f["id"]).status, 200)
        r = STACK.vigilctl("findings", "import", "--tenant", self.tenant,
                           "--format", "nope", "--source", "x", path,
                           check=False)
        self.assertNotEqual(r.returncode, 0)


class T02Reimport(ImportBase):
    """One source's reports over time, as a complete scan would."""

    def test_full_partial_same_twice(self):
        items = [ocsf_item(n) for n in range(5)]
        first = self.imported(items, source="reimport")
        self.assertEqual((first["imported"], first["resolved"]), (5, 0))
        fids = sorted(r[0] for r in STACK.query(
            "SELECT finding_id FROM finding_sources WHERE tenant_id = %s "
            "AND source = 'reimport'" % q(self.tenant_id)))
        self.assertEqual(len(fids), 5)
        gone = "aws-s3_bucket_public_access-"
        by_res = {}
        for fid in fids:
            self.assertTrue(fid.startswith(gone), fid)
            by_res[self.finding(fid).json()["resource_id"]] = fid
        missing = by_res["arn:aws:s3:::bucket-4"]

        # the same report twice: nothing changes, no history, no event
        before = self.snapshot()
        again = self.imported(items, source="reimport")
        self.assertEqual((again["imported"], again["resolved"]), (5, 0))
        self.assertEqual(self.snapshot(), before)
        # its run's timestamps differ: still nothing
        later = copy.deepcopy(items)
        for it in later:
            it["time"] += 3600
            it["time_dt"] = "2025-02-14T15:27:03"
        self.imported(later, source="reimport")
        self.assertEqual(self.snapshot(), before)

        # partial without an item: nothing resolved
        part = self.imported(items[:4], source="reimport", mode="partial")
        self.assertEqual(part["resolved"], 0)
        self.assertEqual(self.state(missing), "open")

        # full without it: resolved by the scanner, with its event
        full = self.imported(items[:4], source="reimport")
        self.assertEqual(full["resolved"], 1)
        self.assertEqual(self.state(missing), "resolved")
        hist = STACK.query("SELECT action, actor FROM finding_history "
                           "WHERE tenant_id = %s AND finding_id = %s "
                           "ORDER BY seq" % (q(self.tenant_id), q(missing)))
        self.assertEqual(hist[-1][0], "resolved")
        self.assertEqual(self.finding(missing).json()["sources"], [])

        # back: reopened
        back = self.imported(items, source="reimport")
        self.assertEqual(back["resolved"], 0)
        self.assertEqual(self.state(missing), "open")
        hist = STACK.query("SELECT action FROM finding_history WHERE "
                           "tenant_id = %s AND finding_id = %s ORDER BY "
                           "seq" % (q(self.tenant_id), q(missing)))
        self.assertEqual(hist[-1][0], "reopened")

        # a changed severity is news: rescored
        changed = copy.deepcopy(items)
        changed[0]["severity_id"] = 5
        self.imported(changed, source="reimport")
        fid0 = by_res["arn:aws:s3:::bucket-0"]
        self.assertEqual(self.finding(fid0).json()["severity"], "critical")

        # a passed check is not a finding: a full report with it resolves
        passed = copy.deepcopy(changed)
        passed[1]["status_code"] = "PASS"
        imp = self.imported(passed, source="reimport")
        self.assertEqual((imp["passed"], imp["resolved"]), (1, 1))
        self.assertEqual(self.state(by_res["arn:aws:s3:::bucket-1"]),
                         "resolved")


    def test_across_batches(self):
        # more than a batch (256) and than a 64-row statement
        items = [ocsf_item(1000 + n, code="ec2_instance_public_ip")
                 for n in range(300)]
        imp = self.imported(items, source="batches")
        self.assertEqual((imp["imported"], imp["resolved"]), (300, 0))
        self.assertEqual(int(STACK.query(
            "SELECT COUNT(*) FROM finding_sources WHERE tenant_id = %s "
            "AND source = 'batches'" % q(self.tenant_id))[0][0]), 300)
        imp = self.imported(items[:-2], source="batches")
        self.assertEqual((imp["imported"], imp["resolved"]), (298, 2))


class T03TwoSources(ImportBase):

    def test_same_rule_same_resource_is_one_finding(self):
        n0 = self.count()
        ocsf = self.imported(data("prowler-aws.ocsf.json"),
                             source="prowler-ocsf")
        asff = self.imported(data("prowler-aws.asff.json"), fmt="asff",
                             source="securityhub")
        self.assertEqual((ocsf["imported"], asff["imported"]), (2, 2))
        # accessanalyzer_enabled on the same analyzer: one finding
        self.assertEqual(self.count(), n0 + 3)
        fid = "aws-accessanalyzer_enabled-fd64634f16a48896"
        got = self.finding(fid).json()
        self.assertEqual(sorted(s["source"] for s in got["sources"]),
                         ["prowler-ocsf", "securityhub"])
        ext = {s["source"]: s["external_id"] for s in got["sources"]}
        self.assertTrue(ext["securityhub"].startswith("prowler-access"))
        # one source no longer reports it: still open, one source left
        empty_asff = json.loads(data("prowler-aws.asff.json"))[1:]
        imp = self.imported(empty_asff, fmt="asff", source="securityhub")
        self.assertEqual(imp["resolved"], 0)
        got = self.finding(fid).json()
        self.assertEqual(got["state"], "open")
        self.assertEqual([s["source"] for s in got["sources"]],
                         ["prowler-ocsf"])
        # neither: resolved
        ocsf_rest = [i for i in json.loads(data("prowler-aws.ocsf.json"))
                     if i["metadata"]["event_code"] !=
                     "accessanalyzer_enabled"]
        imp = self.imported(ocsf_rest, source="prowler-ocsf")
        self.assertEqual(imp["resolved"], 1)
        self.assertEqual(self.state(fid), "resolved")


class T04Hostile(ImportBase):
    """Reports that are not reports change nothing; broken items are
    reported with their position and skipped."""

    def assert_unchanged(self, before, what):
        self.assertEqual(self.snapshot(), before, what)

    def test_malformed_reports_change_nothing(self):
        self.imported([ocsf_item(100)], source="hostile", mode="partial")
        before = self.snapshot()
        cases = [
            ("cut off", json.dumps([ocsf_item(1), ocsf_item(2)])[:-40],
             "ocsf"),
            ("empty", "", "ocsf"),
            ("garbage after", json.dumps([ocsf_item(3)]) + " x", "ocsf"),
            ("Findings not an array", '{"Findings": 5}', "asff"),
            ("wrong root", '"x"', "vigil"),
            # The wrong shape is not an empty report: taken for one,
            # these full imports resolved every finding of the source.
            ("a SARIF log as ASFF", '{"version": "2.1.0", "runs": []}',
             "asff"),
            ("ASFF as SARIF", '{"Findings": []}', "sarif"),
            ("a misspelt key", '{"finding": []}', "vigil"),
            ("ASFF as vigil", '{"Findings": [{"Id": "x"}]}', "vigil"),
        ]
        for what, body, fmt in cases:
            with self.subTest(what=what):
                r = self.post(body, source="hostile", fmt=fmt)
                e = self.assert_error(r, 400, "invalid_request", "body")
                self.assertIn("not valid", e["message"])
                self.assert_unchanged(before, what)
        # a full report with an unreadable item resolves nothing: the
        # item may be the finding
        r = self.post('{"not": "a finding"}\n', source="hostile")
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json()["failed"], r.json()["resolved"]), (1, 0))
        self.assert_unchanged(before, "one bad item")
        r = self.post("[]", fmt="sarif", source="hostile")
        self.assert_error(r, 400, "invalid_request", "body")
        self.assert_unchanged(before, "sarif array")
        # the failed ones are listed, failed, with the same reason
        r = request(self.base(), "GET", "/api/v1/imports?limit=3",
                    headers=auth(self.key))
        self.assertEqual(r.status, 200, r)
        page = r.json()
        self.assertEqual(page["imports"][0]["status"], "failed")
        self.assertTrue(page["imports"][0]["error"])
        self.assertNotIn("errors", page["imports"][0])

    def test_broken_items_skipped_with_position(self):
        good = json.dumps(ocsf_item(7)).encode()
        body = (b"[" + good + b",\n" +
                b'{"class_uid": 2004, "finding_info": {"title": "\xff\xfe"}}'
                + b",\n" + b"[" * 5000 + b"]" * 5000 + b",\n" +
                b'{"class_uid": "2004", "metadata": 5}' + b",\n" +
                b'{"class_uid": 1001}' + b"]")
        r = self.post(body, source="broken-items", mode="partial")
        self.assertEqual(r.status, 201, r)
        imp = r.json()
        self.assertEqual((imp["items"], imp["imported"], imp["failed"]),
                         (5, 1, 4), imp)
        errs = imp["errors"]
        self.assertEqual([e["index"] for e in errs], [1, 2, 3, 4])
        self.assertEqual([e["line"] for e in errs], [2, 3, 4, 5])
        self.assertEqual(errs[0]["offset"], len(good) + 3)
        self.assertIn("UTF-8", errs[0]["error"])
        self.assertIn("class_uid", errs[3]["error"])
        # A NUL byte in an item fails that item, not the report (JSON
        # Lines here; it used to fail the whole import).
        lines = (json.dumps(ocsf_item(9)).encode() + b"\n" +
                 b'{"class_uid": 2004, "x": "a\x00b"}\n' +
                 json.dumps(ocsf_item(10)).encode() + b"\n")
        r = self.post(lines, source="nul-item", mode="partial")
        self.assertEqual(r.status, 201, r)
        imp = r.json()
        self.assertEqual((imp["items"], imp["imported"], imp["failed"]),
                         (3, 2, 1), imp)
        self.assertEqual([(e["index"], e["line"]) for e in imp["errors"]],
                         [(1, 2)])
        self.assertIn("NUL", imp["errors"][0]["error"])

    def test_huge_string_and_jsonl(self):
        # 1.5 MiB in one string: over the 1 MiB item cap, and over the
        # 1 MiB read in the request: queued, read by vigil-scan --due
        huge = b'{"class_uid": 2004, "x": "' + b"a" * (1536 * 1024) + b'"}'
        body = json.dumps(ocsf_item(8)).encode() + b"\n" + huge + b"\n"
        r = self.post(body, source="jsonl-huge", mode="partial",
                      ct="application/x-ndjson")
        self.assertEqual(r.status, 202, r)
        imp = r.json()
        self.assertEqual(imp["status"], "queued")
        STACK.scan("--due")
        r = request(self.base(), "GET",
                    "/api/v1/imports/" + imp["import_id"],
                    headers=auth(self.key))
        imp = r.json()
        self.assertEqual(imp["status"], "completed", imp)
        self.assertEqual((imp["items"], imp["imported"], imp["failed"]),
                         (2, 1, 1))
        self.assertEqual(imp["errors"][0]["line"], 2)
        self.assertIn("1 MiB", imp["errors"][0]["error"])
        # chunks are gone once read
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM import_chunks WHERE import_id = %s" %
            q(imp["import_id"]))[0][0], "0")

    def test_bad_parameters(self):
        n = STACK.query("SELECT COUNT(*) FROM imports")
        r = request(self.base(), "POST",
                    "/api/v1/imports?format=xml&source=a", "[]",
                    auth(self.key))
        self.assert_error(r, 400, "invalid_request", "format")
        r = request(self.base(), "POST", "/api/v1/imports?format=ocsf",
                    "[]", auth(self.key))
        self.assert_error(r, 400, "invalid_request", "source")
        for src in ("a'b", "x" * 65, "a%20b", "a;DROP"):
            r = request(self.base(), "POST",
                        "/api/v1/imports?format=ocsf&source=" + src, "[]",
                        auth(self.key))
            self.assert_error(r, 400, "invalid_request", "source")
        r = self.post("[]", mode="sometimes")
        self.assert_error(r, 400, "invalid_request", "mode")
        r = self.post("[]", extra="&debug=1")
        self.assert_error(r, 400, "invalid_request", "debug")
        r = self.post("[]", ct="multipart/form-data")
        self.assert_error(r, 400, "invalid_request", "Content-Type")
        self.assertEqual(STACK.query("SELECT COUNT(*) FROM imports"), n)


class T05Tenancy(ImportBase):

    def test_other_tenant_and_scopes(self):
        imp = self.imported([ocsf_item(1)], source="mine")
        other, _ = new_tenant("imp-other")
        okey, _ = new_key(other, "read,write")
        for path in ("/api/v1/imports/" + imp["import_id"],
                     "/api/v1/imports/imp_nope", "/api/v1/imports/x'y"):
            r = request(self.base(), "GET", path, headers=auth(okey))
            self.assert_error(r, 404, "not_found")
        r = request(self.base(), "GET", "/api/v1/imports",
                    headers=auth(okey))
        self.assertEqual(r.json()["imports"], [])
        rkey, _ = new_key(self.tenant, "read")
        r = self.post([ocsf_item(2)], key=rkey)
        self.assert_error(r, 403, "insufficient_scope")
        r = request(self.base(), "GET", "/api/v1/imports",
                    headers=auth(rkey))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["imports"][0]["import_id"],
                         imp["import_id"])
        # paging
        self.imported([ocsf_item(3)], source="mine", mode="partial")
        r = request(self.base(), "GET", "/api/v1/imports?limit=1",
                    headers=auth(self.key))
        page = r.json()
        self.assertTrue(page["has_more"])
        r = request(self.base(), "GET", "/api/v1/imports?limit=1&cursor=" +
                    page["next_cursor"], headers=auth(self.key))
        self.assertEqual(r.json()["imports"][0]["import_id"],
                         imp["import_id"])


class T190ImportKilledMidBatch(ImportBase):
    """An import killed (kill -9) while it writes: whole batches are
    written, each finding with its history, event, audit entry and its
    source, nothing of the batch in flight; the same report imported again
    then leaves exactly what one clean import leaves."""

    BATCH = 256

    def counts(self, tenant_id):
        t = q(tenant_id)
        return {
            "findings": STACK.query(
                "SELECT id, state, fingerprint FROM findings WHERE "
                "tenant_id = %s ORDER BY id" % t),
            "history": STACK.query(
                "SELECT finding_id, action, actor, fields FROM "
                "finding_history WHERE tenant_id = %s "
                "ORDER BY finding_id, seq" % t),
            "events": STACK.query(
                "SELECT type, COUNT(*) FROM events WHERE tenant_id = %s "
                "AND type LIKE 'finding.%%' GROUP BY type ORDER BY type" % t),
            "audit": STACK.query(
                "SELECT object, action, actor FROM audit_log WHERE "
                "tenant_id = %s AND actor = 'scanner' ORDER BY object, seq"
                % t),
            "sources": STACK.query(
                "SELECT finding_id, source, format, external_id FROM "
                "finding_sources WHERE tenant_id = %s ORDER BY finding_id"
                % t),
        }

    def test_killed_then_imported_again(self):
        n = 48 * self.BATCH
        path = os.path.join(STACK.root, "t190.jsonl")
        with open(path, "w") as f:
            for i in range(n):
                f.write(json.dumps(ocsf_item(190000 + i, code="t190_check"))
                        + "\n")
        crash, crash_id = new_tenant("imp-crash")
        clean, clean_id = new_tenant("imp-clean")
        argv = [STACK.vigilctl_bin, "findings", "import", "--format", "ocsf",
                "--source", "t190", path]

        def count():
            return int(STACK.query("SELECT COUNT(*) FROM findings WHERE "
                                   "tenant_id = %s" % q(crash_id))[0][0])

        p = subprocess.Popen(argv[:3] + ["--tenant", crash] + argv[3:],
                             env=STACK.env(), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        ok = wait_until(lambda: count() >= 2 * self.BATCH, 300, 0.01)
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        self.assertTrue(ok, "no batch was written")
        got = count()
        self.assertLess(got, n, "the import ended before the kill")
        self.assertEqual(got % self.BATCH, 0, got)
        c = self.counts(crash_id)
        self.assertEqual((len(c["history"]), len(c["audit"]),
                          len(c["sources"])), (got, got, got))
        self.assertEqual(c["events"], [["finding.detected", str(got)]])
        self.assertEqual([s[0] for s in c["sources"]],
                         [f[0] for f in c["findings"]])
        for t in (crash, clean):
            r = STACK.vigilctl(*(argv[1:3] + ["--tenant", t] + argv[3:]),
                               timeout=600)
            out = json.loads(r.stdout)
            self.assertEqual((out["status"], out["imported"]),
                             ("completed", n), out)
        crashed, cleanrun = self.counts(crash_id), self.counts(clean_id)
        self.assertEqual(len(crashed["findings"]), n)
        for k in ("findings", "history", "events", "audit", "sources"):
            self.assertEqual(crashed[k], cleanrun[k], k)
        for t in (crash, clean):
            r = STACK.vigilctl("audit", "verify", "--tenant", t, check=False)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class T435ImportIdempotencyKey(ImportBase):
    """An import's Idempotency-Key covers the report's bytes, not only
    its length: the same report sent again gets the first answer and
    imports nothing more; another report under the key, of the same
    length or not, is 409 and imports nothing, on every front end."""

    def send(self, base, key, body, idem):
        return request(base, "POST", "/api/v1/imports?format=ocsf&source="
                       "idem", body, dict(auth(key), **{
                           "Content-Type": "application/json",
                           "Idempotency-Key": idem}), timeout=120)

    def counts(self, tenant_id):
        return tuple(int(STACK.query(
            "SELECT COUNT(*) FROM %s WHERE tenant_id = %s" %
            (t, q(tenant_id)))[0][0]) for t in ("imports", "findings",
                                                "finding_sources", "events"))

    def test_same_report_replayed_other_report_conflict(self):
        first = json.dumps([ocsf_item(1), ocsf_item(2)]).encode()
        # Another finding, in a report of the very same length.
        other = json.dumps([ocsf_item(1), ocsf_item(3)]).encode()
        self.assertEqual(len(first), len(other))
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                tname, tid = new_tenant("impidem")
                key, _ = new_key(tname, "read,write")
                idem = "import-" + os.urandom(8).hex()
                r1 = self.send(base, key, first, idem)
                self.assertEqual(r1.status, 201, r1)
                self.assertEqual(r1.json()["imported"], 2, r1)
                n = self.counts(tid)
                self.assertEqual(n[:2], (1, 2))

                r2 = self.send(base, key, first, idem)
                self.assertEqual((r2.status, r2.body), (r1.status, r1.body))
                self.assertEqual(r2.header("Idempotent-Replayed"), "true")
                self.assertEqual(r2.header("Location"), r1.header("Location"))
                self.assertEqual(self.counts(tid), n)

                r3 = self.send(base, key, other, idem)
                e = self.assert_error(r3, 409, "conflict", "Idempotency-Key")
                self.assertIn("different request body", e["message"])
                self.assertIsNone(r3.header("Idempotent-Replayed"))
                r4 = self.send(base, key, other + b" ", idem)
                self.assert_error(r4, 409, "conflict", "Idempotency-Key")
                r5 = self.send(base, key, first[:-1], idem)
                self.assert_error(r5, 409, "conflict", "Idempotency-Key")
                self.assertEqual(self.counts(tid), n)
                rows = STACK.query("SELECT body_hash, body_len FROM "
                                   "idempotency_keys WHERE tenant_id = %s"
                                   % q(tid))
                self.assertEqual([list(x) for x in rows],
                                 [[hashlib.sha256(first).hexdigest(),
                                   str(len(first))]])

                # The same report still gets its answer; and the other
                # report, under a key of its own, is imported.
                r6 = self.send(base, key, first, idem)
                self.assertEqual((r6.status, r6.body), (r1.status, r1.body))
                r7 = self.send(base, key, other, idem + "-2")
                self.assertEqual(r7.status, 201, r7)
                self.assertEqual(self.counts(tid)[:2], (2, 3))

    def test_form_retry_with_another_boundary(self):
        """curl -F, Python's requests and Go frame each request with a
        new boundary: a retry of a form-posted report is the same body
        all the same, and gets the first answer; another report in the
        same framing is still 409. Nothing is imported twice."""
        report = json.dumps([ocsf_item(1), ocsf_item(2)]).encode()
        other = json.dumps([ocsf_item(1), ocsf_item(3)]).encode()
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                tname, tid = new_tenant("impidem")
                key, _ = new_key(tname, "read,write")
                idem = "import-" + os.urandom(8).hex()

                def send(data, boundary):
                    ct, body = form(data, filename=b"r.json",
                                    ctype=b"application/json",
                                    boundary=boundary)
                    return request(base, "POST", "/api/v1/imports?format="
                                   "ocsf&source=idem", body,
                                   dict(auth(key), **{
                                       "Content-Type": ct,
                                       "Idempotency-Key": idem}),
                                   timeout=120)
                r1 = send(report, b"-" * 24 + os.urandom(8).hex().encode())
                self.assertEqual(r1.status, 201, r1)
                n = self.counts(tid)
                self.assertEqual(n[:2], (1, 2))
                for boundary in (b"-" * 24 + os.urandom(8).hex().encode(),
                                 os.urandom(16).hex().encode(), b"z"):
                    r = send(report, boundary)
                    self.assertEqual((r.status, r.body), (r1.status, r1.body))
                    self.assertEqual(r.header("Idempotent-Replayed"), "true")
                r = send(other, b"z")
                self.assert_error(r, 409, "conflict", "Idempotency-Key")
                self.assertEqual(self.counts(tid), n)


def big_report(n, code="lease_check"):
    """n OCSF items as JSON Lines: large enough (about 1 KiB each) that
    reading them takes a worker a while."""
    return b"".join(json.dumps(ocsf_item(i, code=code)).encode() + b"\n"
                    for i in range(n))


class T180ImportAudit(ImportBase):
    """An import is itself an audited action: who imported what, in which
    format, from which source, in which mode, and how it went."""

    def audit(self, action):
        r = request(self.base(), "GET", "/api/v1/audit?action=" + action +
                    "&limit=100", headers=auth(self.key))
        self.assertEqual(r.status, 200, r)
        return r.json()["entries"]

    def test_import_audited(self):
        imp = self.imported([ocsf_item(1), ocsf_item(2),
                             {"not": "a finding"}], source="audited",
                            mode="partial")
        e = [x for x in self.audit("import.completed")
             if x["object"] == imp["import_id"]]
        self.assertEqual(len(e), 1, e)
        e = e[0]
        self.assertEqual(e["actor"], imp["created_by"])
        self.assertTrue(e["actor"].startswith("key:"), e)
        d = e["detail"]
        self.assertEqual((d["source"], d["format"], d["mode"], d["status"]),
                         ("audited", "ocsf", "partial", "completed"), d)
        self.assertEqual((d["items"], d["imported"], d["failed"],
                          d["resolved"], d["bytes"]),
                         (3, 2, 1, 0, imp["bytes"]), d)
        # a report that is not one is audited too, as failed
        r = self.post("[{", source="audited")
        self.assert_error(r, 400, "invalid_request", "body")
        e = self.audit("import.failed")
        self.assertEqual(len(e), 1, e)
        self.assertEqual(e[0]["detail"]["source"], "audited")
        self.assertTrue(e[0]["detail"]["error"])
        # vigilctl's import names vigilctl
        path = os.path.join(STACK.root, "audited.sarif")
        with open(path, "wb") as f:
            f.write(data("trivy.sarif"))
        out = json.loads(STACK.vigilctl(
            "findings", "import", "--tenant", self.tenant, "--format",
            "sarif", "--source", "audited-cli", path).stdout)
        e = [x for x in self.audit("import.completed")
             if x["object"] == out["import_id"]]
        self.assertEqual(e[0]["actor"], "vigilctl")
        self.assertEqual(e[0]["detail"]["format"], "sarif")
        # chained like every other entry
        v = STACK.vigilctl("audit", "verify", "--tenant", self.tenant,
                           check=False)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)


class T181ImportLease(ImportBase):
    """An import whose worker is killed mid-read does not stay `running`:
    once its lease has passed the next vigil-scan --due takes it over and
    finishes it, or, after three workers, fails it with the reason."""

    N = 8000

    def status(self, iid):
        return STACK.query("SELECT status FROM imports WHERE id = %s" %
                           q(iid))[0][0]

    def kill_when_running(self, proc, iid=None, source=None, attempt=1):
        """SIGKILL proc once it has claimed the import (its attempt-th
        worker) and read it for a moment."""
        deadline = time.time() + 120
        while time.time() < deadline:
            where = ("id = %s" % q(iid) if iid else
                     "tenant_id = %s AND source = %s" %
                     (q(self.tenant_id), q(source)))
            rows = STACK.query("SELECT id, status, attempts FROM imports "
                               "WHERE " + where)
            if rows and rows[0][1] == "running" and \
                    int(rows[0][2]) >= attempt:
                time.sleep(0.3)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return rows[0][0]
            if proc.poll() is not None:
                self.fail("the worker ended before it could be killed: %r"
                          % (proc.communicate(),))
            time.sleep(0.02)
        self.fail("the import never ran")

    def expire_lease(self, iid):
        # As if IMPORT_LEASE (120 s) had passed on the clock.
        STACK.sql("UPDATE vigil.imports SET lease_until = lease_until - "
                  "INTERVAL 1 HOUR WHERE id = %s" % q(iid))

    def test_killed_vigilctl_taken_over(self):
        # A report given on a pipe is stored in chunks, as POST /imports
        # stores it: another worker can read it again (a regular file is
        # read where it is, and is not: T354).
        path = os.path.join(STACK.root, "lease-cli.jsonl")
        with open(path, "wb") as f:
            f.write(big_report(self.N))
        with open(path, "rb") as stdin:
            p = subprocess.Popen(
                [STACK.vigilctl_bin, "findings", "import", "--tenant",
                 self.tenant, "--format", "ocsf", "--source", "lease-cli",
                 "/dev/stdin"],
                env=STACK.env(), stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True)
            try:
                p.stdin.write(stdin.read())
                p.stdin.close()
            except BrokenPipeError:
                pass
        iid = self.kill_when_running(p, source="lease-cli")
        self.assertEqual(self.status(iid), "running")
        # a live lease is left alone
        STACK.scan("--due")
        self.assertEqual(self.status(iid), "running")
        self.expire_lease(iid)
        STACK.scan("--due")
        r = request(self.base(), "GET", "/api/v1/imports/" + iid,
                    headers=auth(self.key))
        imp = r.json()
        self.assertEqual((imp["status"], imp["imported"], imp["attempts"]),
                         ("completed", self.N, 2), imp)
        self.assertEqual(int(STACK.query(
            "SELECT COUNT(*) FROM finding_sources WHERE tenant_id = %s "
            "AND source = 'lease-cli'" % q(self.tenant_id))[0][0]), self.N)
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM import_chunks WHERE import_id = %s" %
            q(iid))[0][0], "0")

    def test_killed_due_worker_then_gives_up(self):
        r = self.post(big_report(self.N, code="lease_async"),
                      source="lease-async", ct="application/x-ndjson")
        self.assertEqual(r.status, 202, r)
        iid = r.json()["import_id"]
        for attempt in (1, 2, 3):
            p = STACK.scan("--due", wait=False)
            self.kill_when_running(p, iid=iid, attempt=attempt)
            self.assertEqual(self.status(iid), "running")
            self.expire_lease(iid)
        # three workers died: the fourth run says so instead of a fourth
        # attempt
        STACK.scan("--due")
        imp = request(self.base(), "GET", "/api/v1/imports/" + iid,
                      headers=auth(self.key)).json()
        self.assertEqual((imp["status"], imp["attempts"]), ("failed", 3),
                         imp)
        self.assertIn("stopped before finishing", imp["error"])
        self.assertIsNotNone(imp["finished_at"])
        r = request(self.base(), "GET", "/api/v1/audit?action=import.failed",
                    headers=auth(self.key))
        e = [x for x in r.json()["entries"] if x["object"] == iid]
        self.assertEqual(len(e), 1, e)
        self.assertEqual(e[0]["actor"], "system")


class T429ImportReconcileKilled(ImportBase):
    """A full import killed while it resolves what its report no longer
    lists: a page of its source's rows goes with its findings' resolve in
    one transaction, so nothing of the page is gone, and the same report
    imported again resolves every one. The rows used to be deleted first,
    committed: a kill before the resolve left findings open with no
    source row for any later import to find."""

    def test_killed_in_reconcile(self):
        t, tid = new_tenant("imp-recon-kill")
        items = [ocsf_item(429000 + i, code="t429_check") for i in range(300)]
        paths = {}
        for name, part in (("all", items), ("one", items[:1])):
            paths[name] = os.path.join(STACK.root, "t429-%s.jsonl" % name)
            with open(paths[name], "w") as f:
                for it in part:
                    f.write(json.dumps(it) + "\n")
        argv = ["findings", "import", "--tenant", t, "--format", "ocsf",
                "--source", "t429"]
        STACK.vigilctl(*(argv + [paths["all"]]), timeout=600)
        # A finding of the walk's first page held by another session: the
        # reconcile's transaction waits for it, with the page's source rows
        # deleted in it.
        held = STACK.query("SELECT id FROM findings WHERE tenant_id = %s "
                           "ORDER BY seq LIMIT 1 OFFSET 5" % q(tid))[0][0]
        holder = subprocess.Popen(
            ["mariadb", "--no-defaults", "-S", STACK.db_sock, "-uroot",
             "vigil", "-e",
             "START TRANSACTION; SELECT seq FROM findings WHERE tenant_id = "
             "%s AND id = %s FOR UPDATE; SELECT SLEEP(30) AS t429_holder; "
             "COMMIT" % (
                 q(tid), q(held))], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)

        def waiting():
            # the reconcile's locked read, not any other session's wait
            return int(STACK.query(
                "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE "
                "trx_state = 'LOCK WAIT' AND trx_query LIKE "
                "'SELECT %FROM findings%'")[0][0]) > 0

        def holding():
            # at its SLEEP: its locking read is done
            return int(STACK.query(
                "SELECT COUNT(*) FROM information_schema.processlist WHERE "
                "info LIKE 'SELECT SLEEP(30) AS t429_holder%'")[0][0]) > 0

        try:
            # the row is held before the import starts (on a busy machine
            # the client's connection can take longer than the import)
            self.assertTrue(wait_until(holding, 60, 0.05),
                            "the other session never held the row")
            p = subprocess.Popen([STACK.vigilctl_bin] + argv +
                                 [paths["one"]], env=STACK.env(),
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE,
                                 start_new_session=True)
            ok = wait_until(waiting, 60, 0.2)
            os.killpg(p.pid, signal.SIGKILL)
            pout = p.communicate()
        finally:
            os.killpg(holder.pid, signal.SIGKILL)
            hout = holder.communicate()
        self.assertTrue(ok, ("the reconcile never waited for the held row",
                             pout, hout))
        # Nothing of the page went (the killed transaction's changes, were
        # any committed, would show here; until the server rolls it back
        # it holds the tenant's row, which the next import waits for).
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM finding_sources WHERE tenant_id = %s AND "
            "source = 't429'" % q(tid)), [["300"]])
        self.assertEqual(STACK.query(
            "SELECT state, COUNT(*) FROM findings WHERE tenant_id = %s "
            "GROUP BY state" % q(tid)), [["open", "300"]])
        # The killed import counts as running until its lease passes (a
        # full import begun before would not reconcile: T439).
        STACK.sql("UPDATE vigil.imports SET lease_until = lease_until - "
                  "INTERVAL 1 HOUR WHERE tenant_id = %s AND status = "
                  "'running'" % q(tid))
        # The same report again, not stopped: every one it left resolved.
        out = json.loads(STACK.vigilctl(*(argv + [paths["one"]]),
                                        timeout=600).stdout)
        self.assertEqual((out["status"], out["resolved"]),
                         ("completed", 299), out)
        self.assertEqual(STACK.query(
            "SELECT state, COUNT(*) FROM findings WHERE tenant_id = %s "
            "GROUP BY state ORDER BY state" % q(tid)),
            [["open", "1"], ["resolved", "299"]])
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM finding_sources WHERE tenant_id = %s"
            % q(tid)), [["1"]])


class T430ImportKeepsScannedFinding(ImportBase):
    """A finding a scan owns (its integration_id) and an import also lists
    stays the scan's: the import does not clear its integration (the scan
    then no longer resolved it when its resource was fixed), and the
    import's full report no longer listing it does not resolve it (the
    scan still sees it; its next scan reopened it)."""

    def test_scan_keeps_its_finding(self):
        t, tid = new_tenant("imp-scanned")
        key, _ = new_key(t, "read,write,admin")
        inv = os.path.join(STACK.root, "t430-inv")
        os.makedirs(inv, exist_ok=True)
        with open(os.path.join(inv, "empty.json"), "w") as f:
            f.write('{"value": []}')
        os.chmod(os.path.join(inv, "empty.json"), 0o644)
        r = request(self.base(), "POST", "/api/v1/integrations", {
            "type": "inventory", "name": "inv",
            "config": {"path": inv}}, auth(key))
        self.assertEqual(r.status, 201, r)
        integ = r.json()["id"]
        # no scans of it in later tests' vigil-scan --due
        self.addCleanup(request, self.base(), "DELETE",
                        "/api/v1/integrations/" + integ, None, auth(key))
        a, b = ocsf_item(430001), ocsf_item(430002)
        imp = self.imported([a, b], source="t430", key=key)
        self.assertEqual(imp["imported"], 2)
        fid = STACK.query("SELECT id FROM findings WHERE tenant_id = %s "
                          "ORDER BY seq LIMIT 1" % q(tid))[0][0]
        # as if a scan of integ had found it
        STACK.sql("UPDATE findings SET integration_id = %s WHERE tenant_id "
                  "= %s AND id = %s" % (q(integ), q(tid), q(fid)),
                  database="vigil")
        self.imported([a, b], source="t430", key=key)
        self.assertEqual(STACK.query(
            "SELECT integration_id FROM findings WHERE tenant_id = %s AND "
            "id = %s" % (q(tid), q(fid))), [[integ]])
        # the full report without either: the other one resolved, the
        # scanned one left to its scans, without this source
        imp = self.imported([ocsf_item(430003)], source="t430", key=key)
        self.assertEqual(imp["resolved"], 1, imp)
        r = self.finding(fid, key=key)
        self.assertEqual(r.status, 200, r)
        f = r.json()
        self.assertEqual(f["state"], "open", f)
        self.assertEqual(f["sources"], [], f)
        self.assertEqual(STACK.query(
            "SELECT integration_id FROM findings WHERE tenant_id = %s AND "
            "id = %s" % (q(tid), q(fid))), [[integ]])


class T183TagCountBounded(ImportBase):
    """GET /findings?tag=k:v beside state and severity answers the kept
    count (0055), exact whatever the tag's number of findings; with
    another filter beside it, it counts among the newest 1,000 findings
    carrying the tag: exact below, a lower bound past it; the pages still
    reach every match."""

    def tagged(self, n, value):
        items = []
        for i in range(n):
            it = ocsf_item(i, code="tagcount_" + value)
            it["resources"][0]["tags"] = [{"key": "team", "value": value}]
            items.append(it)
        return items

    def total(self, query):
        r = request(self.base(), "GET", "/api/v1/findings?" + query,
                    headers=auth(self.key))
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_count_bounded(self):
        # 1,100 findings with team:bulk, in two reports read at once
        items = self.tagged(1100, "bulk")
        for part in (items[:550], items[550:]):
            self.imported(part, source="tagcount", mode="partial")
        self.imported(self.tagged(30, "few"), source="tagcount-few",
                      mode="partial")
        # few: exact
        self.assertEqual(self.total("tag=team:few&limit=10")["total"], 30)
        self.assertEqual(self.total("tag=team:few&severity=low")["total"],
                         0)
        # many: kept, exact
        page = self.total("tag=team:bulk&limit=500")
        self.assertEqual(page["total"], 1100, page["total"])
        self.assertTrue(page["has_more"])
        # with another filter: the matches among the newest 1,000
        # carrying the tag
        capped = self.total("tag=team:bulk&limit=5&since="
                            "1970-01-01T00:00:01Z")
        self.assertEqual(capped["total"], 1000, capped["total"])
        # every match is still listed, page after page
        seen = {f["id"] for f in page["findings"]}
        while page["has_more"]:
            page = self.total("tag=team:bulk&limit=500&cursor=" +
                              page["next_cursor"])
            seen |= {f["id"] for f in page["findings"]}
        self.assertEqual(len(seen), 1100)
        # a filter that only an older finding matches: the count is a
        # lower bound (never below what the page shows), and the walk
        # still reaches it
        oldest = page["findings"][-1]["id"]
        r = request(self.base(), "POST",
                    "/api/v1/findings/%s/resolve" % oldest, None,
                    auth(self.key))
        self.assertEqual(r.status, 200, r)
        page = self.total("tag=team:bulk&state=resolved")
        self.assertEqual([f["id"] for f in page["findings"]], [oldest])
        self.assertEqual((page["total"], page["has_more"]), (1, False))


class T184VigilctlNoFormat(ImportBase):
    """vigilctl findings import without --format is an import like any
    other: Vigil JSON from the source `import`, listed by GET /imports and
    audited, the whole file or nothing, printing the line it always
    printed."""

    def entry(self, n, **kw):
        e = {"rule_id": "nofmt-rule", "provider": "azure",
             "resource_id": "/subscriptions/s1/resourceGroups/rg/providers/"
                            "Microsoft.Network/networkSecurityGroups/n%d" % n,
             "title": "t%d" % n, "severity": "high", "category": "network",
             "description": "d", "recommendation": "r",
             "environment": "PROD", "layer": "network",
             "subscription_id": "s1", "location": "westeurope"}
        e.update(kw)
        return e

    def run_import(self, entries, *flags):
        path = os.path.join(STACK.root, "nofmt-%d.json" % len(entries))
        with open(path, "w") as f:
            json.dump({"findings": entries}, f)
        return STACK.vigilctl("findings", "import", "--tenant", self.tenant,
                              *flags, path, check=False)

    def imports(self):
        r = request(self.base(), "GET", "/api/v1/imports?limit=100",
                    headers=auth(self.key))
        return r.json()["imports"]

    def test_same_code_as_the_api(self):
        es = [self.entry(i) for i in range(3)]
        r = self.run_import(es)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(),
                         "imported 3 findings, resolved 0 no longer present")
        imp = self.imports()[0]
        self.assertEqual((imp["source"], imp["format"], imp["mode"],
                          imp["status"], imp["created_by"], imp["imported"]),
                         ("import", "vigil", "full", "completed", "vigilctl",
                          3), imp)
        r = request(self.base(), "GET", "/api/v1/audit?action="
                    "import.completed", headers=auth(self.key))
        self.assertEqual([e["object"] for e in r.json()["entries"]],
                         [imp["import_id"]])
        # the entries' own fields are kept, as before
        fid = [f for f in request(self.base(), "GET", "/api/v1/findings",
                                  headers=auth(self.key)).json()["findings"]
               if f["title"] == "t0"][0]["id"]
        got = self.finding(fid).json()
        self.assertEqual((got["environment"], got["layer"], got["region"],
                          got["source"]), ("PROD", "network", "westeurope",
                                           "import"))
        # a complete file again, without one: resolved
        r = self.run_import(es[:2])
        self.assertEqual(r.stdout.strip(),
                         "imported 2 findings, resolved 1 no longer present")
        # --no-reconcile is a partial import
        r = self.run_import(es[:1], "--no-reconcile")
        self.assertEqual(r.stdout.strip(),
                         "imported 1 findings, resolved 0 no longer present")
        self.assertEqual(self.imports()[0]["mode"], "partial")

    def test_whole_file_or_nothing(self):
        n = self.count()
        r = self.run_import([self.entry(10), self.entry(11,
                                                         severity="urgent")])
        self.assertEqual(r.returncode, 65, r.stdout)
        self.assertIn("findings[1].severity", r.stderr)
        self.assertEqual(self.count(), n)
        imp = self.imports()[0]
        self.assertEqual((imp["status"], imp["source"]), ("failed", "import"))
        self.assertIn("findings[1].severity", imp["error"])
        r = self.run_import([self.entry(12, region="x", location="y")])
        self.assertEqual(r.returncode, 65, r.stdout)
        self.assertIn("findings[0].location", r.stderr)
        self.assertEqual(self.count(), n)


class T185VigilctlCases(ImportBase):
    """vigilctl cases list / show: an admin on the server reads a
    tenant's cases as GET /cases and GET /cases/{id} give them, and
    nothing else's."""

    def case(self, title, severity="high"):
        r = request(self.base(), "POST", "/api/v1/cases",
                    {"title": title, "severity": severity},
                    auth(self.key))
        self.assertEqual(r.status, 201, r)
        return r.json()["case_id"]

    def test_list_and_show(self):
        a = self.case("Beacon to 203.0.113.4")
        b = self.case("Phishing wave", "medium")
        audited = STACK.query("SELECT COUNT(*) FROM audit_log")
        r = STACK.vigilctl("cases", "list", "--tenant", self.tenant)
        lines = [x.split("\t") for x in r.stdout.splitlines()]
        self.assertEqual(lines[0][0], "case_id")
        self.assertEqual([x[0] for x in lines[1:]], [b, a])
        self.assertEqual(lines[2][1:3], ["open", "high"])
        self.assertEqual(lines[2][-1], "Beacon to 203.0.113.4")
        r = STACK.vigilctl("cases", "list", "--tenant", self.tenant,
                           "--limit", "1")
        self.assertEqual(len(r.stdout.splitlines()), 2)
        self.assertIn("1 of 2", r.stderr)
        r = STACK.vigilctl("cases", "list", "--tenant", self.tenant,
                           "--status", "resolved")
        self.assertEqual(r.stdout.splitlines()[1:], [])
        r = STACK.vigilctl("cases", "show", "--tenant", self.tenant, a)
        got = json.loads(r.stdout)
        api_view = request(self.base(), "GET", "/api/v1/cases/" + a,
                           headers=auth(self.key)).json()
        self.assertEqual(got, api_view)
        # another tenant's view has no such case
        other, _ = new_tenant("cases-other")
        r = STACK.vigilctl("cases", "show", "--tenant", other, a,
                           check=False)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("no case", r.stderr)
        for bad in (("cases", "list"), ("cases", "show", "--tenant",
                                        self.tenant),
                    ("cases", "list", "--tenant", self.tenant, "--status",
                     "x"), ("cases", "delete", "--tenant", self.tenant)):
            r = STACK.vigilctl(*bad, check=False)
            self.assertEqual(r.returncode, 64, (bad, r.stderr))
        # read-only: nothing was written by any of it (the other tenant
        # aside)
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM audit_log WHERE tenant_id <> (SELECT id "
            "FROM tenants WHERE name = %s)" % q(other)), audited)


class T305ImportSourcesPerBatch(ImportBase):
    """A report imported again marks its findings' source rows with one
    statement per batch of 256, not a row written per finding; a finding
    new to the source, a tool id that changed and a finding another source
    reported first still get their rows exactly."""

    N = 600             # three batches: 256, 256, 88

    def source_rows(self, source):
        return {r[0]: r[1:] for r in STACK.query(
            "SELECT finding_id, external_id, first_seen_at, import_id "
            "FROM finding_sources WHERE tenant_id = %s AND source = %s" %
            (q(self.tenant_id), q(source)))}

    def writes_of(self, items, source):
        """The import, and the statements that wrote finding_sources
        while it ran (from the server's general log, in a file of its
        own; nothing else writes that table meanwhile)."""
        path = os.path.join(STACK.root, "t305-%s.log" % time.time())
        STACK.sql("SET GLOBAL general_log_file = %s; "
                  "SET GLOBAL log_output = 'FILE'; "
                  "SET GLOBAL general_log = 1" % q(path))
        try:
            imp = self.imported(items, source=source)
        finally:
            STACK.sql("FLUSH GENERAL LOGS; SET GLOBAL general_log = 0")

        def lines():
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read().splitlines()

        # the log file is written behind: wait for the import's end
        # (SQL_IMPORT_FINISH; a statement prepared before the log was on
        # is logged with its "?", not its values, so no import id)
        end = re.compile(r"UPDATE imports SET status = (\?|'completed'), "
                         r"finished_at")
        self.assertTrue(wait_until(lambda: any(
            end.search(x) for x in lines()), 30, 0.1))
        writes = []
        for line in lines():
            if "finding_sources" not in line:
                continue
            m = re.search(r"\s(Query|Execute)\s+(\w+)", line)
            if m and m.group(2).upper() in ("INSERT", "UPDATE", "DELETE",
                                            "REPLACE"):
                writes.append(m.group(2).upper())
        return imp, writes

    def test_reimport_one_statement_per_batch(self):
        items = [ocsf_item(305000 + n, code="t305_check")
                 for n in range(self.N)]
        first, writes = self.writes_of(items, "t305")
        self.assertEqual(first["imported"], self.N)
        # all new: inserted, a multi-row statement at a time
        self.assertNotIn("UPDATE", writes)
        before = self.source_rows("t305")
        self.assertEqual(len(before), self.N)

        again, writes = self.writes_of(items, "t305")
        self.assertEqual((again["imported"], again["resolved"]),
                         (self.N, 0))
        self.assertEqual(writes, ["UPDATE"] * 3, writes)
        after = self.source_rows("t305")
        self.assertEqual(sorted(after), sorted(before))
        for fid, (ext, first_seen, imp_id) in after.items():
            self.assertEqual([ext, first_seen], before[fid][:2])
            self.assertEqual(imp_id, again["import_id"])

    def test_new_changed_and_shared_rows_exact(self):
        items = [ocsf_item(306000 + n, code="t305_mixed")
                 for n in range(300)]
        self.imported(items, source="t305-mixed")
        before = self.source_rows("t305-mixed")
        # another source reports a finding first
        other = ocsf_item(306999, code="t305_mixed")
        self.imported([other], source="t305-other")
        changed = copy.deepcopy(items)
        changed[5]["finding_info"]["uid"] = "renamed-by-the-tool"
        # in the first batch: a finding new to the tenant, and the one
        # the other source reported
        changed[1:1] = [ocsf_item(306500, code="t305_mixed"), other]
        imp = self.imported(changed, source="t305-mixed")
        self.assertEqual((imp["imported"], imp["resolved"]), (302, 0))
        after = self.source_rows("t305-mixed")
        self.assertEqual(len(after), 302)
        fid5 = [f for f, r in after.items()
                if r[0] == "renamed-by-the-tool"]
        self.assertEqual(len(fid5), 1, after)
        self.assertEqual(after[fid5[0]][1], before[fid5[0]][1])
        for fid, row in before.items():
            self.assertEqual(after[fid][1], row[1])
            self.assertEqual(after[fid][2], imp["import_id"])
        shared = [f for f in after if f not in before]
        self.assertEqual(len(shared), 2)
        for fid in shared:
            srcs = sorted(s["source"] for s in
                          self.finding(fid).json()["sources"])
            self.assertIn("t305-mixed", srcs)
        self.assertEqual(sum(
            len(self.finding(f).json()["sources"]) for f in shared), 3)
        # gone from a full report: resolved, its source row deleted; back:
        # reopened, with its row again
        gone = [it for i, it in enumerate(changed) if i % 50 != 7]
        imp = self.imported(gone, source="t305-mixed")
        self.assertEqual(imp["resolved"], 6)
        self.assertEqual(len(self.source_rows("t305-mixed")), 296)
        imp = self.imported(changed, source="t305-mixed")
        self.assertEqual((imp["imported"], imp["resolved"]), (302, 0))
        back = self.source_rows("t305-mixed")
        self.assertEqual(sorted(back), sorted(after))
        for fid in back:
            self.assertEqual(back[fid][2], imp["import_id"])
            self.assertEqual(self.state(fid), "open")


def sarif_ok():
    return data("trivy.sarif")


def interruptible():
    """In the child before exec: SIGINT and SIGQUIT as a terminal's
    program has them. A suite started in the background of a shell
    without job control (`./dev test &`, nohup under a script) inherits
    them ignored, and vigilctl keeps a signal ignored when it started
    (T441), so the tests that send SIGINT would find it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def vigilctl_popen(tenant, path, source, env=None, mode=None):
    argv = [STACK.vigilctl_bin, "findings", "import", "--tenant", tenant,
            "--format", "ocsf", "--source", source]
    if mode == "partial":
        argv.append("--partial")
    return subprocess.Popen(argv + [path], env=env or STACK.env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=interruptible)


def tenant_state(tid):
    """What an import leaves in a tenant: findings, history, events,
    audit entries of the findings, source rows."""
    t = q(tid)
    return {
        "findings": STACK.query(
            "SELECT id, state, severity, fingerprint, title, description, "
            "framework, resource_name, tags, HEX(evidence), resolved_by "
            "FROM findings WHERE tenant_id = %s ORDER BY id" % t),
        "history": STACK.query(
            "SELECT finding_id, action, actor, fields FROM finding_history "
            "WHERE tenant_id = %s ORDER BY finding_id, seq" % t),
        "events": STACK.query(
            "SELECT type, COUNT(*) FROM events WHERE tenant_id = %s "
            "GROUP BY type ORDER BY type" % t),
        "audit": STACK.query(
            "SELECT object, action, actor FROM audit_log WHERE "
            "tenant_id = %s AND actor = 'scanner' ORDER BY object, seq" % t),
        "sources": STACK.query(
            "SELECT finding_id, source, format, external_id FROM "
            "finding_sources WHERE tenant_id = %s ORDER BY finding_id, "
            "source" % t),
    }


class LocalBase(ImportBase):

    def write(self, name, body):
        path = os.path.join(STACK.root, name)
        with open(path, "wb") as f:
            f.write(body if isinstance(body, bytes) else body.encode())
        return path

    def cli(self, path, fmt="ocsf", source="local", partial=False,
            tenant=None):
        args = ["findings", "import", "--tenant", tenant or self.tenant,
                "--format", fmt, "--source", source]
        if partial:
            args.append("--partial")
        return STACK.vigilctl(*(args + [path]), check=False, timeout=300)

    def imp_row(self, iid):
        r = STACK.query("SELECT status, bytes, chunks, items, imported, "
                        "passed, failed, resolved, errors, error FROM "
                        "imports WHERE id = %s" % q(iid))
        return r[0]

    def import_audit(self, tid, iid):
        r = STACK.query("SELECT action, actor, detail FROM audit_log WHERE "
                        "tenant_id = %s AND object = %s" % (q(tid), q(iid)))
        self.assertEqual(len(r), 1, r)
        d = json.loads(r[0][2])
        d.pop("created_by")
        return r[0][0], r[0][1], d


class T350VigilctlLocalFile(LocalBase):
    """vigilctl findings import reads a regular file where it is, not
    through import_chunks, and leaves what POST /imports leaves for the
    same bytes: the same findings, history, events, audit entries, source
    rows, counts and per-item errors with their positions. On main the
    file was copied into import_chunks (chunks > 0)."""

    def test_same_as_the_api(self):
        api_t, api_id = new_tenant("t350-api")
        api_key, _ = new_key(api_t)
        cli_t, cli_id = new_tenant("t350-cli")
        bad = ocsf_item(9)
        bad["class_uid"] = 9999
        wrong = ocsf_item(10)
        wrong["finding_info"] = "not an object"
        first = ([ocsf_item(i) for i in range(8)] +
                 [ocsf_item(8, status="PASS"), bad, wrong])
        second = [ocsf_item(i, severity_id=5 if i == 3 else 4,
                            title="Renamed" if i == 4 else None)
                  for i in range(1, 8)]
        reports = [
            ("ocsf", "t350", json.dumps(first, indent=1).encode(), False),
            # JSON Lines, full: one gone (resolved), one rescored, one
            # renamed
            ("ocsf", "t350", b"".join(json.dumps(x).encode() + b"\n"
                                     for x in second), False),
            ("ocsf", "t350", json.dumps([ocsf_item(0)]).encode(), True),
            # SARIF: the runs' tools read first, then the results
            ("sarif", "t350-sarif", sarif_ok(), False),
            ("sarif", "t350-sarif", sarif_ok(), False),
        ]
        for n, (fmt, source, body, partial) in enumerate(reports):
            r = self.post(body, fmt=fmt, source=source,
                          mode="partial" if partial else None,
                          key=api_key)
            self.assertEqual(r.status, 201, r)
            api = r.json()
            path = self.write("t350-%d.%s" % (n, fmt), body)
            c = self.cli(path, fmt=fmt, source=source, partial=partial,
                         tenant=cli_t)
            self.assertEqual(c.returncode, 0, c.stderr)
            cli = json.loads(c.stdout)
            for k in ("status", "source", "format", "mode", "bytes",
                      "items", "imported", "passed", "failed", "resolved",
                      "errors", "error", "attempts"):
                self.assertEqual(cli[k], api[k], (n, k))
            self.assertEqual(cli["created_by"], "vigilctl")
            # read where it is: nothing stored
            row = self.imp_row(cli["import_id"])
            self.assertEqual((row[0], row[1], row[2]),
                             ("completed", str(len(body)), "0"), row)
            self.assertNotEqual(self.imp_row(api["import_id"])[2], "0")
            a = self.import_audit(api_id, api["import_id"])
            b = self.import_audit(cli_id, cli["import_id"])
            self.assertEqual((b[0], b[1]), ("import.completed",
                                            "vigilctl"))
            self.assertEqual(a[2], b[2], n)
            self.assertEqual(tenant_state(api_id), tenant_state(cli_id), n)
        st = tenant_state(cli_id)
        self.assertEqual(len([f for f in st["findings"]
                              if f[1] == "resolved"]), 1)
        got = json.loads(STACK.query(
            "SELECT errors FROM imports WHERE tenant_id = %s ORDER BY seq "
            "LIMIT 1" % q(cli_id))[0][0])
        self.assertEqual(got[0]["index"], 9, got)
        self.assertTrue(all(e["line"] > 1 and e["offset"] > 0 for e in got),
                        got)
        for t in (api_t, cli_t):
            v = STACK.vigilctl("audit", "verify", "--tenant", t, check=False)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertEqual(STACK.query("SELECT COUNT(*) FROM import_chunks "
                                     "c JOIN imports i ON i.id = "
                                     "c.import_id WHERE i.tenant_id IN "
                                     "(%s, %s)" % (q(api_id), q(cli_id))),
                         [["0"]])


class T351VigilctlMalformedFile(LocalBase):
    """A malformed file given to vigilctl (cut off, broken between items,
    empty, not its format) fails the import with the same error and
    position as POST /imports gives for the same bytes, exits 65 and
    changes nothing."""

    def test_malformed_changes_nothing(self):
        ok = [ocsf_item(i) for i in range(300)]
        good = self.write("t351-good.json", json.dumps(ok))
        self.assertEqual(self.cli(good, source="t351").returncode, 0)
        lines = b"".join(json.dumps(x).encode() + b"\n" for x in ok[:280])
        cut = json.dumps(ok).encode()
        cases = [
            cut[:len(cut) // 2],                    # cut off in an item
            # broken between items
            cut.replace(b'}, {"class_uid"', b'} x, {"class_uid"', 1),
            b"",                                    # empty
            b"   \n",
            b"[" + json.dumps(ok[0]).encode() + b",",   # array, cut
        ]
        before = tenant_state(self.tenant_id)
        last = None
        for n, body in enumerate(cases):
            path = self.write("t351-%d.json" % n, body)
            c = self.cli(path, source="t351")
            self.assertEqual(c.returncode, 65, (n, c.stdout, c.stderr))
            cli = json.loads(c.stdout)
            self.assertEqual(cli["status"], "failed", cli)
            self.assertTrue(cli["error"], cli)
            self.assertEqual(self.imp_row(cli["import_id"])[2], "0")
            self.assertEqual(tenant_state(self.tenant_id), before, n)
            r = self.post(body, source="t351-api")
            self.assertEqual(r.status, 400, (n, r))
            api = request(self.base(), "GET", "/api/v1/imports?limit=1",
                          headers=auth(self.key)).json()["imports"][0]
            if api["source"] == "t351-api" and api["import_id"] != last:
                self.assertEqual(api["error"], cli["error"], n)
                last = api["import_id"]
            self.assertEqual(tenant_state(self.tenant_id), before, n)


def stopped(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "T"
    except OSError:
        return False


def catches(pid, sig):
    """Whether process pid has a handler for sig (SigCgt)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    except OSError:
        pass
    return False


def while_stopped(test, proc, where, action):
    """Wait until proc, started with a VIGIL_DEBUG_*_STOP of debug builds,
    has stopped itself (SIGSTOP) where the test wants it, run action, and
    let it go on (SIGCONT to its group) whatever happened. action's
    result."""
    try:
        ok = wait_until(lambda: stopped(proc.pid) or proc.poll() is not None,
                        120, 0.01)
        test.assertTrue(ok and stopped(proc.pid),
                        "%s did not stop %s (not an --enable-debug build?)"
                        % (os.path.basename(proc.args[0]), where))
        return action()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


class T352VigilctlFileChangedBetweenReads(LocalBase):
    """A file changed, cut or grown between vigilctl's two reads of it
    (VIGIL_DEBUG_IMPORT_STOP, debug builds: the reader stops itself
    between them) fails the import before anything is written: "the file
    changed while it was read", exit 65, nothing changed, nothing
    resolved. On main the file was copied before either read, so the
    import completed."""

    def run_changed(self, change, n=600):
        items = [ocsf_item(i, code="t352_check") for i in range(n)]
        path = self.write("t352.jsonl", b"".join(
            json.dumps(x).encode() + b"\n" for x in items))
        self.assertEqual(self.cli(path, source="t352").returncode, 0)
        # the next report: a tenth gone, one rescored
        nxt = [ocsf_item(i, code="t352_check",
                         severity_id=5 if i == 1 else 4)
               for i in range(n) if i % 10]
        path = self.write("t352.jsonl", b"".join(
            json.dumps(x).encode() + b"\n" for x in nxt))
        before = tenant_state(self.tenant_id)
        env = dict(STACK.env(), VIGIL_DEBUG_IMPORT_STOP="1")
        p = vigilctl_popen(self.tenant, path, "t352", env=env)
        while_stopped(self, p, "between its reads", lambda: change(path))
        out, err = p.communicate(timeout=300)
        self.assertEqual(p.returncode, 65, (out, err))
        imp = json.loads(out)
        self.assertEqual((imp["status"], imp["imported"], imp["resolved"]),
                         ("failed", 0, 0), imp)
        self.assertIn("the file changed while it was read", imp["error"])
        self.assertNotIn("written", imp["error"])
        self.assertEqual(tenant_state(self.tenant_id), before)
        e = self.import_audit(self.tenant_id, imp["import_id"])
        self.assertEqual((e[0], e[1]), ("import.failed", "vigilctl"))

    def test_truncated(self):
        def cut(path):
            with open(path, "r+b") as f:
                f.truncate(os.path.getsize(path) // 2)
        self.run_changed(cut)

    def test_grown(self):
        def grow(path):
            with open(path, "ab") as f:
                f.write(json.dumps(ocsf_item(99999, code="t352_check"))
                        .encode() + b"\n")
        self.run_changed(grow)

    def test_rewritten_same_size(self):
        def rewrite(path):
            with open(path, "r+b") as f:
                body = f.read()
                f.seek(0)
                f.write(body.replace(b'"severity_id": 4',
                                     b'"severity_id": 3'))
        self.run_changed(rewrite)

    def test_replaced(self):
        # renamed over (as an editor saves): the open file is the old one,
        # unlinked, its change time moved; refused all the same
        def replace(path):
            tmp = path + ".new"
            with open(path, "rb") as f, open(tmp, "wb") as g:
                g.write(f.read())
            os.rename(tmp, path)
        self.run_changed(replace)


class T353VigilctlFileChangedWhileWritten(LocalBase):
    """A file changed while vigilctl writes its findings: no byte of the
    changed part is read (each piece is checked against the first read's
    SHA-256 before it is used); the batches written before stay, as a
    killed import's do, the import fails with why, and a full report
    resolves nothing."""

    N = 32 * 256

    def test_changed_mid_write(self):
        pre = self.write("t353-pre.jsonl", json.dumps(
            ocsf_item(10 ** 6, code="t353_check")).encode() + b"\n")
        self.assertEqual(self.cli(pre, source="t353").returncode, 0)
        path = self.write("t353.jsonl", big_report(self.N, code="t353_check"))
        size = os.path.getsize(path)
        p = vigilctl_popen(self.tenant, path, "t353")

        def count():
            return int(STACK.query(
                "SELECT COUNT(*) FROM finding_sources WHERE tenant_id = %s "
                "AND source = 't353'" % q(self.tenant_id))[0][0])

        ok = wait_until(lambda: count() >= 257 or p.poll() is not None,
                        300, 0.01)
        # the last 64 KiB, same size: a severity in each item there
        with open(path, "r+b") as f:
            f.seek(size - 65536)
            tail = f.read()
            f.seek(size - 65536)
            f.write(tail.replace(b'"severity_id": 4', b'"severity_id": 5'))
        self.assertTrue(ok)
        out, err = p.communicate(timeout=600)
        self.assertEqual(p.returncode, 65, (out, err))
        imp = json.loads(out)
        self.assertEqual((imp["status"], imp["resolved"]), ("failed", 0),
                         imp)
        self.assertIn("the file changed while it was read", imp["error"])
        self.assertIn("what was written before stays", imp["error"])
        got = count()
        self.assertLess(got - 1, self.N)
        self.assertEqual((got - 1) % 256, 0, got)
        # nothing of the changed part: no finding was rescored
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND "
            "severity <> 'high'" % q(self.tenant_id)), [["0"]])
        # the finding the report no longer lists was not resolved
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND "
            "state = 'resolved'" % q(self.tenant_id)), [["0"]])


class T354VigilctlLocalFileKilled(LocalBase):
    """A vigilctl killed while it reads a local file: its bytes were never
    stored, so once its lease has passed the next vigil-scan --due fails
    the import with why (keeping the batches written) instead of reading
    chunks it does not have; the same file imported again then leaves what
    one clean import leaves."""

    N = 24 * 256

    def test_killed_then_failed_then_again(self):
        path = self.write("t354.jsonl", big_report(self.N, code="t354"))
        clean, clean_id = new_tenant("t354-clean")
        p = vigilctl_popen(self.tenant, path, "t354")

        def count():
            return int(STACK.query(
                "SELECT COUNT(*) FROM findings WHERE tenant_id = %s" %
                q(self.tenant_id))[0][0])

        ok = wait_until(lambda: count() >= 256 or p.poll() is not None,
                        300, 0.01)
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        self.assertTrue(ok)
        iid = STACK.query("SELECT id FROM imports WHERE tenant_id = %s AND "
                          "source = 't354'" % q(self.tenant_id))[0][0]
        STACK.sql("UPDATE vigil.imports SET lease_until = lease_until - "
                  "INTERVAL 1 HOUR WHERE id = %s" % q(iid))
        STACK.scan("--due")
        imp = request(self.base(), "GET", "/api/v1/imports/" + iid,
                      headers=auth(self.key)).json()
        self.assertEqual((imp["status"], imp["attempts"], imp["resolved"]),
                         ("failed", 2, 0), imp)
        self.assertIn("local file", imp["error"])
        self.assertLess(count(), self.N)
        for t in (self.tenant, clean):
            r = STACK.vigilctl("findings", "import", "--tenant", t,
                               "--format", "ocsf", "--source", "t354", path,
                               timeout=600)
            self.assertEqual(json.loads(r.stdout)["imported"], self.N)
        a, b = tenant_state(self.tenant_id), tenant_state(clean_id)
        for k in ("findings", "history", "events", "audit", "sources"):
            self.assertEqual(a[k], b[k], k)


def logged_statements(run, like):
    """run(), and the statements the server executed meanwhile whose
    text is LIKE like, in order."""
    return STACK.logged_statements(run, q(like))


def source_marks(run):
    """run(), and the UPDATEs of finding_sources the server executed
    meanwhile (its general log): (by ranges of seq, by an IN list of seqs,
    any other)."""
    out, rows = logged_statements(run, "UPDATE finding_sources%")
    ranges = sum("BETWEEN" in r for r in rows)
    lists = sum("seq IN (" in r for r in rows)
    return out, (ranges, lists, len(rows) - ranges - lists)


class SourceRowsBase(LocalBase):
    """Helpers of T398-T400: a source's rows as stored."""

    def rows_of(self, source):
        """{finding id: (format, external_id, first_seen_at, import_id,
        seq)} of the source's rows."""
        return {r[0]: tuple(r[1:5]) + (int(r[5]),) for r in STACK.query(
            "SELECT finding_id, format, external_id, first_seen_at, "
            "import_id, seq FROM finding_sources WHERE tenant_id = %s AND "
            "source = %s" % (q(self.tenant_id), q(source)))}

    def fid(self, item):
        """The finding id an OCSF item of ocsf_item() is stored under."""
        ext = item["finding_info"]["uid"]
        r = STACK.query("SELECT finding_id FROM finding_sources WHERE "
                        "tenant_id = %s AND external_id = %s LIMIT 1" % (
                            q(self.tenant_id), q(ext)))
        self.assertEqual(len(r), 1, ext)
        return r[0][0]

    def assert_marked(self, source, imp, listed, before):
        """Exactly the findings listed (ids) carry the import's mark, each
        with its first_seen_at of before where it had a row; the
        source's other rows are gone."""
        after = self.rows_of(source)
        self.assertEqual(sorted(after), sorted(listed))
        for fid, row in after.items():
            self.assertEqual(row[3], imp["import_id"], fid)
            if fid in before:
                self.assertEqual(row[2], before[fid][2], fid)
        return after

    def import_file(self, name, items, source, increment=1, check=True):
        """items written as JSON Lines to name and imported from there by
        vigilctl (LocalBase.cli): its JSON, or with check False the
        completed process. increment: the server's
        auto_increment_increment for the import (3 spaces the rows' seqs
        as on a Galera node), then 1 again."""
        path = self.write(name, "".join(json.dumps(it) + "\n"
                                        for it in items))
        if increment != 1:
            STACK.sql("SET GLOBAL auto_increment_increment = %d" % increment)
        try:
            r = self.cli(path, source=source)
        finally:
            if increment != 1:
                STACK.sql("SET GLOBAL auto_increment_increment = 1")
        if not check:
            return r
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout)


class T398ImportSourcesByRanges(SourceRowsBase):
    """A report listed again in the order of its first import marks its
    findings' source rows by ranges of their own seqs (600 findings,
    three batches, one UPDATE each, and one for the two findings their
    batches left for later), not by an IN list of (finding, tool
    id) pairs; with findings gone (a full report) and a second source
    sharing some of them, exactly the findings listed are marked, the
    other source's rows are untouched, and what no source lists any more
    is resolved. Fails on main (eb52fdf's SQL_SOURCE_MARK_MANY: no
    range)."""

    N = 600

    def test_ranges(self):
        items = [ocsf_item(398000 + n, code="t398_check")
                 for n in range(self.N)]
        self.imported(items, source="t398")
        fids = [self.fid(it) for it in items]
        # the second source reports two of them and one of its own
        other = [items[10], items[300], ocsf_item(398999,
                                                  code="t398_check")]
        oimp = self.imported(other, source="t398-other")
        obefore = self.rows_of("t398-other")
        before = self.rows_of("t398")
        seqs = [before[f][4] for f in fids]
        self.assertEqual(seqs, sorted(seqs))
        imp, (ranges, lists, others) = source_marks(
            lambda: self.imported(items, source="t398"))
        self.assertEqual((imp["imported"], imp["resolved"]), (self.N, 0))
        # one per batch, and one more: the other source's import made
        # itself the source of 10 and 300 (their rows are rewritten), and
        # their batches, with no other change, left the two for later,
        # written together at the end (T422)
        self.assertEqual((ranges, lists, others), (4, 0, 0))
        self.assert_marked("t398", imp, fids, before)
        # gone: 0, 10 (the other source still has it), 299, 300 (the
        # other's too), 599
        gone = {0, 10, 299, 300, 599}
        listed = [it for i, it in enumerate(items) if i not in gone]
        imp, (ranges, lists, others) = source_marks(
            lambda: self.imported(listed, source="t398"))
        self.assertEqual((imp["imported"], imp["resolved"]),
                         (self.N - 5, 3))
        self.assertEqual((lists, others), (0, 0))
        self.assertEqual(ranges, 3)
        self.assert_marked("t398", imp, [fids[i] for i in range(self.N)
                                         if i not in gone], before)
        self.assertEqual(self.rows_of("t398-other"), obefore)
        for i in gone:
            self.assertEqual(self.state(fids[i]), "open" if i in (10, 300)
                             else "resolved", i)
        self.assertTrue(all(r[3] == oimp["import_id"]
                            for r in obefore.values()))


class T399ImportSourcesOtherOrder(SourceRowsBase):
    """Source rows whose seqs do not follow the report: stored in another
    order by the first import, interleaved with another source's rows
    (the two sources' imports alternating, one finding at a time), or
    spaced as on a Galera node (auto_increment_increment = 3). Each
    reimport marks exactly the rows of the findings it lists, never a
    row of the other source between them: a range of seqs holds only
    seqs the batch read (a mark that took every step as consecutive
    marks the other source's rows and fails here)."""

    def test_interleaved(self):
        items = [ocsf_item(399000 + n, code="t399_inter")
                 for n in range(40)]
        for k, it in enumerate(items):
            self.imported([it], source="t399-a", mode="partial")
            self.imported([ocsf_item(399500 + k, code="t399_inter")],
                          source="t399-b", mode="partial")
        before = self.rows_of("t399-a")
        bbefore = self.rows_of("t399-b")
        aseqs = sorted(r[4] for r in before.values())
        bseqs = sorted(r[4] for r in bbefore.values())
        # interleaved: a row of b between every two rows of a
        self.assertTrue(all(any(x < s < y for s in bseqs)
                            for x, y in zip(aseqs, aseqs[1:])))
        listed = items[:17] + items[18:]
        imp, (ranges, lists, others) = source_marks(
            lambda: self.imported(listed, source="t399-a"))
        self.assertEqual((imp["imported"], imp["resolved"]), (39, 1))
        fids = [self.fid(it) for it in listed]
        self.assertEqual(self.rows_of("t399-b"), bbefore)
        self.assert_marked("t399-a", imp, fids, before)
        self.assertEqual((ranges, lists, others), (0, 1, 0))

    def test_other_order(self):
        items = [ocsf_item(399100 + n, code="t399_order")
                 for n in range(600)]
        # stored in another order: the odd ones first, reversed; then
        # shuffled
        self.imported(items[1::2][::-1] + items[0::2], source="t399-o")
        before = self.rows_of("t399-o")
        fids = [self.fid(it) for it in items]
        self.assertEqual(set(before), set(fids))
        imp, (ranges, lists, others) = source_marks(
            lambda: self.imported(items, source="t399-o"))
        self.assertEqual((imp["imported"], imp["resolved"]), (600, 0))
        self.assertEqual((ranges, lists, others), (3, 0, 0))
        self.assert_marked("t399-o", imp, fids, before)
        mixed = list(range(600))
        random.Random(399).shuffle(mixed)
        listed = [items[i] for i in mixed if i != mixed[7]]
        imp, (ranges, lists, others) = source_marks(
            lambda: self.imported(listed, source="t399-o"))
        self.assertEqual((imp["imported"], imp["resolved"]), (599, 1))
        self.assertEqual((ranges, lists, others), (0, 3, 0))
        self.assert_marked("t399-o", imp, [fids[i] for i in mixed
                                           if i != mixed[7]], before)
        self.assertEqual(self.state(fids[mixed[7]]), "resolved")

    def test_spaced(self):
        items = [ocsf_item(399200 + n, code="t399_spaced")
                 for n in range(300)]
        self.import_file("t399-spaced.jsonl", items, "t399-s", increment=3)
        before = self.rows_of("t399-s")
        seqs = sorted(r[4] for r in before.values())
        self.assertEqual(len(seqs), 300)
        self.assertTrue(all(b - a >= 3 for a, b in zip(seqs, seqs[1:])))
        imp, (ranges, lists, others) = source_marks(
            lambda: self.import_file("t399-gone.jsonl", [
                it for i, it in enumerate(items) if i != 150], "t399-s"))
        self.assertEqual((imp["imported"], imp["resolved"]), (299, 1))
        self.assertEqual(len(self.rows_of("t399-s")), 299)
        for fid, row in self.rows_of("t399-s").items():
            self.assertEqual(row[3], imp["import_id"])
            self.assertEqual(row[2], before[fid][2])
        self.assertEqual((ranges, lists, others), (0, 2, 0))


def asff_item(n, code):
    """The ASFF of ocsf_item(n, code): the same finding id (provider,
    rule, resource) and the same tool id, another format."""
    return {
        "SchemaVersion": "2018-10-08",
        "Id": "prowler-aws-%s-%d" % (code, n),
        "ProductArn": "arn:aws:securityhub:eu-west-1::product/prowler/"
                      "prowler",
        "RecordState": "ACTIVE", "GeneratorId": "prowler-" + code,
        "AwsAccountId": "123456789012", "Types": ["Data Exposure"],
        "Severity": {"Label": "HIGH"}, "Title": "Bucket is public",
        "Description": "An S3 bucket allows public access.",
        "Resources": [{"Type": "AwsS3Bucket",
                       "Id": "arn:aws:s3:::bucket-%d" % n,
                       "Region": "eu-west-1"}],
        "Compliance": {"Status": "FAILED"},
    }


class T400ImportSourcesChangedRows(SourceRowsBase):
    """What the batch's read decides per source row: the same source
    sending its findings as ASFF after OCSF (the same findings and tool
    ids, another format) rewrites every row's format, keeping
    first_seen_at, and back; a tool id changed in the middle of a run of
    marked rows is rewritten, its neighbours only marked; the same
    finding twice in one batch leaves one row; a finding resolved by a
    full report and listed again gets its row back. A mark that looked at
    the tool id alone, or at neither, keeps the old format or id and
    fails here (the format alone: the first assertion of the ASFF's
    rows)."""

    def test_format_and_ids(self):
        code = "t400_check"
        items = [ocsf_item(400000 + n, code=code) for n in range(300)]
        first = self.imported(items, source="t400")
        before = self.rows_of("t400")
        fids = [self.fid(it) for it in items]
        asff = [asff_item(400000 + n, code) for n in range(300)]
        imp = self.imported(asff, fmt="asff", source="t400")
        self.assertEqual((imp["imported"], imp["resolved"]), (300, 0))
        after = self.assert_marked("t400", imp, fids, before)
        for i, fid in enumerate(fids):
            self.assertEqual(after[fid][:2],
                             ("asff", items[i]["finding_info"]["uid"]))
        # back to OCSF, one tool id renamed in the middle, one finding
        # listed twice in its batch
        again = copy.deepcopy(items)
        again[100]["finding_info"]["uid"] = "t400-renamed"
        again.insert(50, copy.deepcopy(items[40]))
        imp = self.imported(again, source="t400")
        self.assertEqual((imp["imported"], imp["resolved"]), (301, 0))
        after = self.assert_marked("t400", imp, fids, before)
        for i, fid in enumerate(fids):
            self.assertEqual(after[fid][:2], (
                "ocsf", "t400-renamed" if i == 100 else
                items[i]["finding_info"]["uid"]), i)
        # the same report again: only marks, by ranges
        imp, (ranges, lists, others) = source_marks(
            lambda: self.imported(again, source="t400"))
        self.assertEqual(others, 0)
        self.assertEqual(lists, 0)
        self.assertEqual(ranges, 2)
        self.assert_marked("t400", imp, fids, before)
        # resolved by a full report, then back: its row again
        imp = self.imported(again[:-1], source="t400")
        self.assertEqual(imp["resolved"], 1)
        self.assertEqual(self.state(fids[-1]), "resolved")
        imp = self.imported(again, source="t400")
        self.assertEqual(imp["resolved"], 0)
        self.assertEqual(self.state(fids[-1]), "open")
        kept = dict(before)
        del kept[fids[-1]]
        after = self.assert_marked("t400", imp, fids, kept)
        self.assertEqual(after[fids[-1]][:2],
                         ("ocsf", items[-1]["finding_info"]["uid"]))
        self.assertGreater(after[fids[-1]][4], before[fids[-1]][4])
        self.assertEqual(first["imported"], 300)


class DeferBase(SourceRowsBase):
    """Helpers of T422-T423: what a tenant's findings and their records
    are, as stored."""

    def severities(self, fids):
        t = q(self.tenant_id)
        rows = dict(STACK.query("SELECT id, severity FROM findings WHERE "
                                "tenant_id = %s" % t))
        return [rows[f] for f in fids]

    def records(self):
        """(history entries, events, audit entries) of the tenant."""
        t = q(self.tenant_id)
        return tuple(int(STACK.query("SELECT COUNT(*) FROM %s WHERE "
                                     "tenant_id = %s" % (tab, t))[0][0])
                     for tab in ("finding_history", "events", "audit_log"))

    def assert_counts(self):
        """The tenant's kept counts by state and severity are a recount,
        and its audit chain verifies."""
        t = q(self.tenant_id)
        kept = STACK.query("SELECT state, severity, SUM(n) FROM "
                           "finding_counts WHERE tenant_id = %s GROUP BY "
                           "state, severity HAVING SUM(n) <> 0 ORDER BY "
                           "state, severity" % t)
        real = STACK.query("SELECT state, severity, COUNT(*) FROM findings "
                           "WHERE tenant_id = %s GROUP BY state, severity "
                           "ORDER BY state, severity" % t)
        self.assertEqual(kept, real)
        v = STACK.vigilctl("audit", "verify", "--tenant", self.tenant,
                           check=False)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)


class T422ImportGathersFewChanges(DeferBase):
    """A reimport that changes a few findings in every batch (here 4 of
    each 256, 16 in all, as 1 % changed spreads over a real report)
    leaves them out of their batches, which only mark the rest seen, and
    writes the 16 together at the end, through the batch frame (one
    findings_batch_begin) instead of the triggers of each row (none
    before). What a user sees is what writing them in place gave: each
    rescored with its history entry, event and audit entry, every finding
    and source row marked by the import, the counts a recount, the audit
    chain whole; and the same report again changes nothing."""

    N = 4 * 256

    def test_gathered(self):
        code = "t422_check"
        items = [ocsf_item(422000 + n, code=code) for n in range(self.N)]
        self.imported(items, source="t422")
        fids = [self.fid(it) for it in items]
        before = self.rows_of("t422")
        changed = [i for i in range(self.N) if i % 64 == 5]
        self.assertEqual(len(changed), 16)
        again = copy.deepcopy(items)
        for i in changed:
            again[i]["severity_id"] = 5
        recs = self.records()
        imp, frames = logged_statements(
            lambda: self.imported(again, source="t422"),
            "CALL findings_batch_begin%")
        self.assertEqual((imp["imported"], imp["resolved"]), (self.N, 0))
        self.assertEqual(len(frames), 1)
        sev = self.severities(fids)
        for i in range(self.N):
            self.assertEqual(sev[i], "critical" if i in changed else
                             "high", i)
        got = self.records()
        # a history entry and an event per finding rescored, an audit
        # entry each and the import's own
        self.assertEqual((got[0] - recs[0], got[1] - recs[1]), (16, 16))
        self.assertEqual(got[2] - recs[2], 16 + 1)
        for i in changed:
            r = STACK.query("SELECT COUNT(*) FROM finding_history WHERE "
                            "tenant_id = %s AND finding_id = %s" % (
                                q(self.tenant_id), q(fids[i])))
            self.assertEqual(int(r[0][0]), 2, i)     # detected, rescored
        self.assert_marked("t422", imp, fids, before)
        last = STACK.query("SELECT COUNT(*) FROM findings WHERE tenant_id = "
                           "%s AND last_seen_at < (SELECT started_at FROM "
                           "imports WHERE id = %s)" % (
                               q(self.tenant_id), q(imp["import_id"])))
        self.assertEqual(int(last[0][0]), 0)
        self.assert_counts()
        # the same report again: nothing to write, nothing recorded
        recs = self.records()
        imp = self.imported(again, source="t422")
        self.assertEqual(self.records(), (recs[0], recs[1], recs[2] + 1))
        self.assert_counts()


class T424ImportRewriteKeepsSeq(DeferBase):
    """A reimport that rewrites stored findings (here 20 of 64 rescored,
    enough to be written in their batch, through the frame) upserts each
    by its seq: the row is met in the primary key and updated in place.
    It keeps its seq, and the table's AUTO_INCREMENT does not move, where
    an upsert by (tenant_id, id) alone reserved a new seq for every row
    it rewrote (the failed insert before each update). The findings are
    rescored as before: history, events, counts, audit chain."""

    N = 64

    @staticmethod
    def auto_increment():
        r = STACK.query("SHOW TABLE STATUS LIKE 'findings'")
        return int(r[0][10])

    def test_in_place(self):
        code = "t424_check"
        items = [ocsf_item(424000 + n, code=code) for n in range(self.N)]
        self.imported(items, source="t424")
        fids = [self.fid(it) for it in items]
        t = q(self.tenant_id)
        seqs = dict(STACK.query("SELECT id, seq FROM findings WHERE "
                                "tenant_id = %s" % t))
        changed = [i for i in range(self.N) if i % 3 == 0][:20]
        self.assertEqual(len(changed), 20)
        again = copy.deepcopy(items)
        for i in changed:
            again[i]["severity_id"] = 5
        recs = self.records()
        ai = self.auto_increment()
        imp, frames = logged_statements(
            lambda: self.imported(again, source="t424"),
            "CALL findings_batch_begin%")
        self.assertEqual((imp["imported"], imp["resolved"]), (self.N, 0))
        self.assertEqual(len(frames), 1)
        self.assertEqual(self.auto_increment(), ai)
        self.assertEqual(dict(STACK.query("SELECT id, seq FROM findings "
                                          "WHERE tenant_id = %s" % t)),
                         seqs)
        sev = self.severities(fids)
        for i in range(self.N):
            self.assertEqual(sev[i], "critical" if i in changed else
                             "high", i)
        got = self.records()
        self.assertEqual((got[0] - recs[0], got[1] - recs[1],
                          got[2] - recs[2]), (20, 20, 20 + 1))
        self.assert_counts()


def batch_reads(run):
    """run(), and how the batches read their stored findings meanwhile
    (the server's general log): (by a range of seq, by an IN list of
    ids)."""
    out, rows = logged_statements(run, "SELECT f.seq, f.id, f.rule_id%")
    rows = [r for r in rows if "FOR UPDATE" in r]
    ranges = sum("f.seq BETWEEN" in r for r in rows)
    lists = sum("f.id IN (" in r for r in rows)
    return out, (ranges, lists, len(rows) - ranges - lists)


class T425ImportReadsByRange(DeferBase):
    """A reimport's batch reads its stored findings by the range of seq
    where the batch before it ended (findings_hint: the first import
    stored them in the report's order), and by their ids only what that
    range did not hold; a report in another order finds its guess wrong
    once and reads by ids from then on. What a user sees is the same
    either way: the same report again changes nothing and records nothing
    but the import's audit entry; a full report without some findings
    resolves exactly those; listed again they reopen; rows the ranges
    pass over (another source's findings between, the gone ones) stay as
    they were. Reading by ids alone (main before this) fails the counts
    of reads."""

    N = 600

    def setUp(self):
        super().setUp()
        self.items = [ocsf_item(425000 + n, code="t425_check")
                      for n in range(self.N)]
        self.imported(self.items, source="t425")
        self.fids = [self.fid(it) for it in self.items]

    def assert_seen(self, imp, fids):
        r = STACK.query("SELECT COUNT(*) FROM findings WHERE tenant_id = "
                        "%s AND id IN (%s) AND last_seen_at < (SELECT "
                        "started_at FROM imports WHERE id = %s)" % (
                            q(self.tenant_id), ", ".join(q(f) for f in fids),
                            q(imp["import_id"])))
        self.assertEqual(int(r[0][0]), 0)

    def test_in_order(self):
        recs = self.records()
        imp, reads = batch_reads(lambda: self.imported(self.items,
                                                       source="t425"))
        self.assertEqual((imp["imported"], imp["resolved"]), (self.N, 0))
        # three batches: the first by ids (no guess yet), two by ranges
        self.assertEqual(reads, (2, 1, 0))
        self.assertEqual(self.records(), (recs[0], recs[1], recs[2] + 1))
        self.assert_seen(imp, self.fids)
        # a full report without every fiftieth: 12 resolved, the ranges
        # hold the gone ones and pass them over
        gone = set(range(0, self.N, 50))
        listed = [it for i, it in enumerate(self.items) if i not in gone]
        imp, reads = batch_reads(lambda: self.imported(listed,
                                                       source="t425"))
        self.assertEqual((imp["imported"], imp["resolved"]),
                         (self.N - 12, 12))
        self.assertEqual(reads, (2, 1, 0))
        states = dict(STACK.query("SELECT id, state FROM findings WHERE "
                                  "tenant_id = %s" % q(self.tenant_id)))
        for i, fid in enumerate(self.fids):
            self.assertEqual(states[fid], "resolved" if i in gone else
                             "open", i)
        # listed again: reopened (each batch leaves its few for later,
        # read by ids in a batch of their own, T422)
        imp, reads = batch_reads(lambda: self.imported(self.items,
                                                       source="t425"))
        self.assertEqual((imp["imported"], imp["resolved"]), (self.N, 0))
        self.assertEqual(reads, (2, 2, 0))
        states = dict(STACK.query("SELECT id, state FROM findings WHERE "
                                  "tenant_id = %s" % q(self.tenant_id)))
        self.assertEqual([states[f] for f in self.fids], ["open"] * self.N)
        self.assert_seen(imp, self.fids)
        self.assert_counts()

    def test_other_order(self):
        recs = self.records()
        imp, reads = batch_reads(lambda: self.imported(self.items[::-1],
                                                       source="t425"))
        self.assertEqual((imp["imported"], imp["resolved"]), (self.N, 0))
        # the first by ids; the second's range misses (then by ids) and
        # stops the guesses; the third by ids
        self.assertEqual(reads, (1, 3, 0))
        self.assertEqual(self.records(), (recs[0], recs[1], recs[2] + 1))
        self.assert_seen(imp, self.fids)
        self.assert_counts()

    def test_interleaved(self):
        """Another finding's row between every two of the batch's (one
        report of both, then a partial one of every other): the ranges
        step over them (step 2), and they stay as they were."""
        a = [ocsf_item(425700 + n, code="t425_mix") for n in range(300)]
        b = [ocsf_item(426100 + n, code="t425_mix") for n in range(300)]
        self.imported([x for pair in zip(a, b) for x in pair],
                      source="t425-m")
        bids = [self.fid(it) for it in b]

        def rows():
            return STACK.query(
                "SELECT id, seq, state, severity, last_seen_at, updated_at, "
                "seen_scan_id FROM findings WHERE tenant_id = %s AND id IN "
                "(%s) ORDER BY id" % (q(self.tenant_id),
                                      ", ".join(q(f) for f in bids)))
        before = rows()
        srows = {k: v for k, v in self.rows_of("t425-m").items()
                 if k in bids}
        recs = self.records()
        imp, reads = batch_reads(lambda: self.imported(
            a, source="t425-m", mode="partial"))
        self.assertEqual((imp["imported"], imp["resolved"]), (300, 0))
        self.assertEqual(reads, (1, 1, 0))
        self.assertEqual(rows(), before)
        self.assertEqual({k: v for k, v in self.rows_of("t425-m").items()
                          if k in bids}, srows)
        self.assertEqual(self.records(), (recs[0], recs[1], recs[2] + 1))
        self.assert_seen(imp, [self.fid(it) for it in a])
        self.assert_counts()

    def test_held_row(self):
        """A row of a range that is not the batch's, held by another
        transaction (another tenant's writer, a SQL session): the batch
        passes over it (SKIP LOCKED) instead of waiting for it. Here the
        last batch's range reaches past the report's last finding into
        another source's, which a session holds FOR UPDATE; with the
        server's lock wait cut to 2 s, a read that waited would fail each
        of the batch's five runs and the import."""
        self.imported([ocsf_item(425900 + n, code="t425_held")
                       for n in range(8)], source="t425-h")
        held = STACK.query("SELECT seq FROM findings WHERE tenant_id = %s "
                           "AND seq > (SELECT seq FROM findings WHERE "
                           "tenant_id = %s AND id = %s) ORDER BY seq LIMIT 1"
                           % (q(self.tenant_id), q(self.tenant_id),
                              q(self.fids[-1])))
        self.assertEqual(len(held), 1)
        holder = sql_session(
            "START TRANSACTION; SELECT seq FROM vigil.findings WHERE seq = "
            "%s FOR UPDATE; SELECT SLEEP(119); ROLLBACK;" % held[0][0])
        try:
            self.assertTrue(wait_until(lambda: int(STACK.query(
                "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE "
                "trx_rows_locked > 0", None)[0][0]) > 0, timeout=30))
            STACK.sql("SET GLOBAL innodb_lock_wait_timeout = 2")
            r, reads = batch_reads(lambda: self.import_file(
                "t425-held.jsonl", self.items, "t425", check=False))
        finally:
            STACK.sql("SET GLOBAL innodb_lock_wait_timeout = 50")
            # the session's connection killed on the server, which rolls
            # its transaction back at once (a client killed would leave
            # it holding the row until its sleep ends)
            for (cid,) in STACK.query(
                    "SELECT id FROM information_schema.processlist WHERE "
                    "info LIKE 'SELECT SLEEP(119)%'", None):
                STACK.sql("KILL %s" % cid, check=False)
            holder.communicate(timeout=30)
        self.assertTrue(wait_until(lambda: int(STACK.query(
            "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE "
            "trx_rows_locked > 0", None)[0][0]) == 0, timeout=30))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        imp = json.loads(r.stdout)
        self.assertEqual((imp["status"], imp["imported"], imp["resolved"]),
                         ("completed", self.N, 0))
        self.assertEqual(reads, (2, 1, 0))
        self.assert_seen(imp, self.fids)
        self.assert_counts()

    def test_spaced(self):
        """Stored with auto_increment_increment = 3 (a Galera node's): the
        ranges step by 3."""
        items = [ocsf_item(425400 + n, code="t425_spaced")
                 for n in range(600)]
        self.import_file("t425-spaced.jsonl", items, "t425-s", increment=3)
        seqs = sorted(r[4] for r in self.rows_of("t425-s").values())
        self.assertTrue(all(y - x >= 3 for x, y in zip(seqs, seqs[1:])))
        recs = self.records()
        imp, reads = batch_reads(lambda: self.import_file(
            "t425-spaced.jsonl", items, "t425-s"))
        self.assertEqual((imp["imported"], imp["resolved"]), (600, 0))
        self.assertEqual(reads, (2, 1, 0))
        self.assertEqual(self.records(), (recs[0], recs[1], recs[2] + 1))
        self.assert_counts()


class T423ImportDeferredKeepsOrder(DeferBase):
    """A finding left for later by its batch and named again by a later
    item of the report: the one left is written first, then the later
    item's batch passes the later item over, so the first item is the
    one that stays, as when each batch wrote its own. Here a finding
    rescored early in the report and listed again unchanged 300 items
    on, and another rescored and listed again rescored otherwise; a
    third listed twice in one batch, rescored. The same report again
    then changes nothing: before, the later item stayed, and every
    reimport rescored the first two twice over."""

    def test_order(self):
        code = "t423_check"
        items = [ocsf_item(423000 + n, code=code) for n in range(600)]
        self.imported(items, source="t423")
        fids = [self.fid(it) for it in items]
        again = copy.deepcopy(items)
        again[5]["severity_id"] = 5                 # critical, then high
        again.insert(305, copy.deepcopy(items[5]))
        again[7]["severity_id"] = 5                 # critical, then low
        low = copy.deepcopy(items[7])
        low["severity_id"] = 2
        again.insert(400, low)
        twice = copy.deepcopy(items[9])
        twice["severity_id"] = 5
        again[9] = twice
        again.insert(12, copy.deepcopy(twice))
        recs = self.records()
        imp = self.imported(again, source="t423")
        self.assertEqual((imp["imported"], imp["resolved"]),
                         (len(again), 0))
        self.assertEqual(self.severities([fids[5], fids[7], fids[9]]),
                         ["critical", "critical", "critical"])
        got = self.records()
        # each rescored once, by its first item
        self.assertEqual(got[0] - recs[0], 3)
        self.assert_counts()
        # the same report again: no history entry, no event; only the
        # import's own audit entry
        imp = self.imported(again, source="t423")
        self.assertEqual((imp["imported"], imp["resolved"]),
                         (len(again), 0))
        self.assertEqual(self.records(), (got[0], got[1], got[2] + 1))
        self.assertEqual(self.severities([fids[5], fids[7], fids[9]]),
                         ["critical", "critical", "critical"])
        self.assert_counts()


class T444ImportFirstItemStays(DeferBase):
    """A report that lists one finding more than once, differently (two
    Prowler checks mapped to one uid, a tool that repeats a result per
    location), is imported as its first item of that finding: the later
    ones are counted in imported but change nothing, whether they are
    in the same batch of 256, a later batch or a later batch after the
    first item's was left for later, and whether the finding is new or
    stored; the first item's tool id keeps the source row. So the same
    report imported again, through the API or vigilctl's writer thread,
    changes nothing and raises no event. Before, the last item stayed,
    and each reimport rescored the finding back and forth."""

    def report(self, base):
        items = [ocsf_item(base + n, code="t444_check") for n in range(600)]
        out = copy.deepcopy(items)
        # a new finding, listed again low in a later batch
        out[3]["severity_id"] = 5
        low = copy.deepcopy(items[3])
        low["severity_id"] = 2
        out.insert(280, low)
        # renamed, then listed again as it was in the same batch
        out[20]["finding_info"]["title"] = "Renamed first"
        out.insert(40, copy.deepcopy(items[20]))
        return items, out

    def check(self, out, imp, fids):
        self.assertEqual((imp["imported"], imp["failed"], imp["resolved"]),
                         (len(out), 0, 0))
        self.assertEqual(self.severities([fids[3], fids[20]]),
                         ["critical", "high"])
        t = STACK.query("SELECT title FROM findings WHERE tenant_id = %s "
                        "AND id = %s" % (q(self.tenant_id), q(fids[20])))
        self.assertEqual(t[0][0], "Renamed first")

    def test_new_and_again(self):
        items, out = self.report(444000)
        imp = self.imported(out, source="t444")
        fids = [self.fid(it) for it in items]
        self.assertEqual(len(set(fids)), 600)
        self.check(out, imp, fids)
        rows = self.rows_of("t444")
        self.assertEqual(len(rows), 600)
        recs = self.records()
        self.assert_counts()
        # again through the API, then through vigilctl's file (the
        # writer thread): nothing changes
        imp = self.imported(out, source="t444")
        self.check(out, imp, fids)
        self.assertEqual(self.records(), (recs[0], recs[1], recs[2] + 1))
        path = self.write("t444.json", json.dumps(out))
        r = self.cli(path, source="t444")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.records(), (recs[0], recs[1], recs[2] + 2))
        self.assertEqual(self.severities([fids[3], fids[20]]),
                         ["critical", "high"])
        self.assert_counts()

    def test_stored_then_listed_twice(self):
        items, out = self.report(445000)
        self.imported(items, source="t444s")
        fids = [self.fid(it) for it in items]
        recs = self.records()
        # a finding changed in only a few per batch is left for later by
        # its batch; its later item must not undo it
        imp = self.imported(out, source="t444s")
        self.check(out, imp, fids)
        got = self.records()
        self.assertGreater(got[0], recs[0])
        path = self.write("t444s.json", json.dumps(out))
        for _ in range(2):
            r = self.cli(path, source="t444s")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        imp = self.imported(out, source="t444s")
        self.check(out, imp, fids)
        self.assertEqual(self.records(), (got[0], got[1], got[2] + 3))
        self.assert_counts()


def jsonl(items):
    """JSON Lines of items (dicts, or bytes kept as they are): the body,
    and each item's (line, byte offset)."""
    body, pos = b"", []
    for n, x in enumerate(items):
        pos.append((n + 1, len(body)))
        body += (x if isinstance(x, bytes) else json.dumps(x).encode())
        body += b"\n"
    return body, pos


def seq_order(tid, sql):
    return [r[0] for r in STACK.query(sql % q(tid))]


class PipeBase(LocalBase):
    """The importer writes a batch on a connection of its own while it
    maps the next one (at most one batch in flight): what that pipeline
    could break, through both readers: vigilctl's local file
    (imports_run_file) and a report queued through the API, read by
    vigil-scan --due (imports_run, from its chunks)."""

    BATCH = 256

    def queued(self, body, source, key=None, mode=None):
        self.assertGreater(len(body), 1024 * 1024)     # read by --due
        r = self.post(body, source=source, ct="application/x-ndjson",
                      key=key, mode=mode)
        self.assertEqual(r.status, 202, r)
        iid = r.json()["import_id"]
        STACK.scan("--due")
        r = request(self.base(), "GET", "/api/v1/imports/" + iid,
                    headers=auth(key or self.key))
        self.assertEqual(r.status, 200, r)
        return r.json()

    def stored_resources(self, tid):
        """The imported findings' resource numbers, in seq order."""
        rows = STACK.query("SELECT resource_id FROM findings WHERE "
                           "tenant_id = %s ORDER BY seq" % q(tid))
        return [int(r[0].rsplit("-", 1)[1]) for r in rows]

    def verify(self, tenant):
        v = STACK.vigilctl("audit", "verify", "--tenant", tenant,
                           check=False)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)


class T420ImmediateImportOneConnection(PipeBase):
    """A report the API answers at once (at most 1 MiB, run inside its
    worker) is written batch after batch on the worker's own connection:
    no writer thread and no second connection to the database (a pool's
    connections are one a worker), however many batches it has; the
    findings all written, in the report's order."""

    N = 3 * 256 + 17

    def connections(self):
        return int(STACK.query("SHOW GLOBAL STATUS LIKE 'Connections'",
                               database=None)[0][1])

    def test_no_second_connection(self):
        body, _ = jsonl([ocsf_item(420000 + i, code="t420_check")
                         for i in range(self.N)])
        self.assertLess(len(body), 1024 * 1024)
        # the worker's connection made, the pool warm
        r = self.post(jsonl([ocsf_item(419999, code="t420_check")])[0],
                      source="t420-warm", ct="application/x-ndjson")
        self.assertEqual(r.status, 201, r)
        before = self.connections()
        r = self.post(body, source="t420", ct="application/x-ndjson")
        after = self.connections()
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["imported"], self.N, r.json())
        # the one connection the second SHOW made itself
        self.assertEqual(after - before, 1)
        res = self.stored_resources(self.tenant_id)
        got = [n for n in res if 420000 <= n < 420000 + self.N]
        self.assertEqual(got, list(range(420000, 420000 + self.N)))


class T395MalformedInLaterBatch(PipeBase):
    """Malformed items in the second and the fifth of several batches are
    counted and reported at their own positions (index, line, byte
    offset), every other item of every batch is written (those before
    them, in the batches already handed to the writer, and those after),
    and the full report resolves nothing; the same through vigilctl and
    through the API's queue. Fails when a batch's errors or counts are
    taken from the wrong batch or trimmed at a hand-over."""

    N = 5 * 256 + 41

    def test_positions_and_batches(self):
        bad = {self.BATCH + 37, 4 * self.BATCH + 3}
        items = []
        for i in range(self.N):
            x = ocsf_item(395000 + i, code="t395_check")
            if i == self.BATCH + 37:
                # not valid UTF-8: never parsed
                x = json.dumps(x).encode().replace(b"Bucket is public",
                                                   b"Bucket \xff public")
            elif i == 4 * self.BATCH + 3:
                x["class_uid"] = 9999
            items.append(x)
        body, pos = jsonl(items)
        # a finding the source reported before, absent from this report:
        # the report has failed items, so it is not resolved
        old = self.write("t395-old.jsonl", jsonl([ocsf_item(
            394999, code="t395_check")])[0])
        api_t, api_id = new_tenant("t395-api")
        api_key, _ = new_key(api_t)
        for tid, tenant, key in ((self.tenant_id, self.tenant, None),
                                 (api_id, api_t, api_key)):
            r = self.cli(old, source="t395", tenant=tenant)
            self.assertEqual(r.returncode, 0, r.stderr)
            if key is None:
                r = self.cli(self.write("t395.jsonl", body), source="t395")
                self.assertEqual(r.returncode, 0, r.stderr)
                imp = json.loads(r.stdout)
            else:
                imp = self.queued(body, "t395", key=key)
            self.assertEqual(
                (imp["status"], imp["items"], imp["imported"],
                 imp["failed"], imp["passed"], imp["resolved"]),
                ("completed", self.N, self.N - 2, 2, 0, 0), imp)
            self.assertEqual([(e["index"], e["line"], e["offset"])
                              for e in imp["errors"]],
                             [(i,) + pos[i] for i in sorted(bad)], imp)
            self.assertIn("UTF-8", imp["errors"][0]["error"])
            self.assertIn("class", imp["errors"][1]["error"])
            want = [395000 + i for i in range(self.N) if i not in bad]
            self.assertEqual(self.stored_resources(tid), [394999] + want)
            st = tenant_state(tid)
            self.assertEqual(len(st["sources"]), self.N - 1)
            self.assertEqual(st["events"], [["finding.detected",
                                             str(self.N - 1)]])
            self.assertEqual(len(st["audit"]), self.N - 1)
            self.assertEqual([f[1] for f in st["findings"]],
                             ["open"] * (self.N - 1))
            self.verify(tenant)


class T396BatchFailsInFlight(PipeBase):
    """A batch that fails in the database while the next one is being
    mapped (a trigger refuses one of its source rows) stops the import:
    it ends failed with why, with the counts it had when that batch was
    full; the batches before it are written whole (each finding with its
    history, event, audit entry and source), nothing of it or after it
    is; the failure is audited and the chain verifies; once the cause is
    gone the same report leaves what one clean import leaves. Through
    vigilctl and through the API's queue. Fails when the writer's failure
    is lost or a batch after it is written."""

    N = 6 * 256
    FAIL = 2 * 256 + 5          # in the third batch

    def trigger(self, external_id):
        STACK.sql("DELIMITER //\n"
                  "CREATE TRIGGER t396_refuse BEFORE INSERT ON "
                  "finding_sources FOR EACH ROW BEGIN IF NEW.external_id "
                  "= '%s' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = "
                  "'t396 refused'; END IF; END//\nDELIMITER ;" %
                  external_id, database="vigil")
        self.addCleanup(STACK.sql, "DROP TRIGGER IF EXISTS t396_refuse",
                        database="vigil")

    def test_failed_batch_stops_cleanly(self):
        items = [ocsf_item(396000 + i, code="t396_check")
                 for i in range(self.N)]
        body, _ = jsonl(items)
        path = self.write("t396.jsonl", body)
        self.trigger(items[self.FAIL]["finding_info"]["uid"])
        api_t, api_id = new_tenant("t396-api")
        api_key, _ = new_key(api_t)
        clean, clean_id = new_tenant("t396-clean")
        done = 2 * self.BATCH
        for tid, tenant, key in ((self.tenant_id, self.tenant, None),
                                 (api_id, api_t, api_key)):
            if key is None:
                r = self.cli(path, source="t396")
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertIn("t396 refused", r.stderr)
                iid = STACK.query("SELECT id FROM imports WHERE tenant_id "
                                  "= %s AND source = 't396'" %
                                  q(tid))[0][0]
                imp = request(self.base(), "GET", "/api/v1/imports/" + iid,
                              headers=auth(self.key)).json()
            else:
                imp = self.queued(body, "t396", key=key)
            self.assertEqual(
                (imp["status"], imp["items"], imp["imported"],
                 imp["failed"], imp["resolved"]),
                ("failed", 3 * self.BATCH, 3 * self.BATCH, 0, 0), imp)
            self.assertIn("database error", imp["error"])
            self.assertEqual(self.stored_resources(tid),
                             [396000 + i for i in range(done)])
            st = tenant_state(tid)
            self.assertEqual((len(st["history"]), len(st["audit"]),
                              len(st["sources"])), (done, done, done))
            self.assertEqual(st["events"], [["finding.detected",
                                             str(done)]])
            last = STACK.query(
                "SELECT action, object FROM audit_log WHERE tenant_id = %s "
                "ORDER BY seq DESC LIMIT 1" % q(tid))
            self.assertEqual(last, [["import.failed", imp["import_id"]]])
            self.verify(tenant)
        STACK.sql("DROP TRIGGER t396_refuse", database="vigil")
        for tenant in (self.tenant, api_t, clean):
            r = self.cli(path, source="t396", tenant=tenant)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["imported"], self.N)
        want = tenant_state(clean_id)
        for tid in (self.tenant_id, api_id):
            got = tenant_state(tid)
            for k in ("findings", "history", "events", "audit", "sources"):
                self.assertEqual(got[k], want[k], k)


class T397OrderAcrossBatches(PipeBase):
    """Batches written while the next is mapped are still written one
    after the other, in the report's order: findings, their events and
    their audit entries in the report's order across batches, the
    import's own audit entry after all of them; a full report whose last
    batch is full (so it is still being written when the report has been
    read) resolves exactly the findings it no longer lists, after its
    last batch (its resolutions' events and entries come after every
    batch's), and nothing of that last batch. Through vigilctl and the
    API's queue. Fails when the reconcile or the import's end runs before
    the batch in flight is written: through vigilctl each batch is
    written 150 ms late (VIGIL_DEBUG_IMPORT_SLOW_WRITE, debug builds), so
    the report is read to its end while its last batch is still being
    written."""

    N = 5 * 256

    def check_order(self, tid, iid, resources):
        self.assertEqual(self.stored_resources(tid)[:len(resources)],
                         resources)
        ev = STACK.query(
            "SELECT type, REGEXP_SUBSTR(payload, 'bucket-[0-9]+') FROM "
            "events WHERE tenant_id = %s AND type = 'finding.detected' "
            "ORDER BY seq" % q(tid))
        self.assertEqual([int(r[1].rsplit("-", 1)[1]) for r in ev],
                         resources)
        au = STACK.query(
            "SELECT a.action, f.resource_id FROM audit_log a JOIN findings "
            "f ON f.tenant_id = a.tenant_id AND f.id = a.object WHERE "
            "a.tenant_id = %s AND a.actor = 'scanner' AND a.action = "
            "'detected' ORDER BY a.seq" % q(tid))
        self.assertEqual([int(r[1].rsplit("-", 1)[1]) for r in au],
                         resources)
        last = STACK.query("SELECT action, object FROM audit_log WHERE "
                           "tenant_id = %s ORDER BY seq DESC LIMIT 1" %
                           q(tid))
        self.assertEqual(last, [["import.completed", iid]])

    def test_order_and_reconcile(self):
        first = list(range(397000, 397000 + self.N))
        gone = {397010, 397300, 397700, 397000 + self.N - 1}
        second = [n for n in first if n not in gone] + \
            list(range(399000, 399000 + len(gone)))
        self.assertEqual(len(second) % self.BATCH, 0)
        b1 = jsonl([ocsf_item(n, code="t397_check") for n in first])[0]
        b2 = jsonl([ocsf_item(n, code="t397_check") for n in second])[0]
        api_t, api_id = new_tenant("t397-api")
        api_key, _ = new_key(api_t)
        for tid, tenant, key in ((self.tenant_id, self.tenant, None),
                                 (api_id, api_t, api_key)):
            imps = []
            for n, body in enumerate((b1, b2)):
                if key is None:
                    r = subprocess.run(
                        [STACK.vigilctl_bin, "findings", "import",
                         "--tenant", tenant, "--format", "ocsf",
                         "--source", "t397",
                         self.write("t397-%d.jsonl" % n, body)],
                        env=dict(STACK.env(),
                                 VIGIL_DEBUG_IMPORT_SLOW_WRITE="150"),
                        stdin=subprocess.DEVNULL, capture_output=True,
                        text=True, timeout=300)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertIn("VIGIL_DEBUG_IMPORT_SLOW_WRITE: each "
                                  "batch written 150 ms late", r.stderr,
                                  "not an --enable-debug build?")
                    imps.append(json.loads(r.stdout))
                else:
                    imps.append(self.queued(body, "t397", key=key))
                self.assertEqual(imps[-1]["status"], "completed", imps[-1])
                if n == 0:
                    self.check_order(tid, imps[0]["import_id"], first)
            imp = imps[1]
            self.assertEqual((imp["imported"], imp["resolved"]),
                             (len(second), len(gone)), imp)
            self.check_order(tid, imp["import_id"],
                             first + list(range(399000, 399000 + len(gone))))
            states = dict((int(r[0].rsplit("-", 1)[1]), r[1]) for r in
                          STACK.query("SELECT resource_id, state FROM "
                                      "findings WHERE tenant_id = %s" %
                                      q(tid)))
            self.assertEqual(sorted(n for n, s in states.items()
                                    if s == "resolved"), sorted(gone))
            self.assertEqual(len(states), self.N + len(gone))
            # the resolutions after every batch's entries
            rows = STACK.query(
                "SELECT type FROM events WHERE tenant_id = %s ORDER BY seq"
                % q(tid))
            types = [r[0] for r in rows]
            self.assertEqual(types[-len(gone):],
                             ["finding.resolved"] * len(gone), types[-8:])
            self.assertEqual(types.count("finding.resolved"), len(gone))
            self.verify(tenant)


class T439ImportsOfOneSourceAtOnce(ImportBase):
    """Two full imports of one source at the same time. Each marks the
    source rows of what it lists with its own import id, and a full
    report resolved what its source's rows did not carry its id: A wrote
    its findings, B (a report without half of them) marked the other
    half with B's id, and A's reconcile then resolved the half both
    reports list. Now each names the other (overlap_id, migration 0060)
    and neither full report resolves anything; its note says why. A
    later import, alone, resolves again."""

    def report(self, name, ns):
        path = os.path.join(STACK.root, "t439-%s.jsonl" % name)
        with open(path, "w") as f:
            for n in ns:
                f.write(json.dumps(ocsf_item(439000 + n, code="t439_check"))
                        + "\n")
        return path

    def states(self, tid):
        return dict(STACK.query(
            "SELECT state, COUNT(*) FROM findings WHERE tenant_id = %s "
            "GROUP BY state" % q(tid)))

    def test_overlap_resolves_nothing(self):
        t, tid = new_tenant("imp-overlap")
        whole = self.report("whole", range(10))
        half = self.report("half", range(5))
        argv = ["findings", "import", "--tenant", t, "--format", "ocsf",
                "--source", "t439"]
        first = json.loads(STACK.vigilctl(*(argv + [whole]),
                                          timeout=300).stdout)
        self.assertEqual((first["imported"], first["note"]), (10, None))
        # A: the whole report again, stopped once written, before its
        # reconcile
        env = dict(STACK.env(), VIGIL_DEBUG_IMPORT_STOP="reconcile")
        a = vigilctl_popen(t, whole, "t439", env=env)
        # B: half of it, while A waits; the other half carry A's id
        b = while_stopped(self, a, "before its reconcile", lambda: json.loads(
            STACK.vigilctl(*(argv + [half]), timeout=300).stdout))
        out, err = a.communicate(timeout=300)
        self.assertEqual(a.returncode, 0, (out, err))
        a_imp = json.loads(out)
        for imp, other in ((b, a_imp), (a_imp, b)):
            self.assertEqual((imp["status"], imp["imported"],
                              imp["resolved"]),
                             ("completed", 10 if imp is a_imp else 5, 0),
                             imp)
            self.assertIn("not reconciled: import %s of this source ran at "
                          "the same time" % other["import_id"], imp["note"])
        # Before, A resolved the five both list (B had marked them).
        self.assertEqual(self.states(tid), {"open": "10"})
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM finding_sources WHERE tenant_id = %s AND "
            "source = 't439'" % q(tid)), [["10"]])
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM events WHERE tenant_id = %s AND type = "
            "'finding.resolved'" % q(tid)), [["0"]])
        # what GET /imports/{id} and the audit entry say
        key, _ = new_key(t, "read")
        r = request(self.base(), "GET", "/api/v1/imports/%s" %
                    b["import_id"], headers=auth(key))
        self.assertEqual((r.status, r.json()["note"]), (200, b["note"]), r)
        detail = json.loads(STACK.query(
            "SELECT detail FROM audit_log WHERE tenant_id = %s AND "
            "object = %s" % (q(tid), q(a_imp["import_id"])))[0][0])
        self.assertEqual(detail["note"], a_imp["note"])
        # Alone again: the half report resolves the other half.
        c = json.loads(STACK.vigilctl(*(argv + [half]), timeout=300).stdout)
        self.assertEqual((c["resolved"], c["note"]), (5, None), c)
        self.assertEqual(self.states(tid), {"open": "5", "resolved": "5"})
        r = STACK.vigilctl("audit", "verify", "--tenant", t, check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class T440ImportInterrupted(ImportBase):
    """vigilctl interrupted (SIGINT, as Ctrl-C sends) while it writes: the
    import stops at its next batch and ends failed, "stopped by signal",
    the batches written before staying, its lease ended with it; so a
    full import of the same source run at once reconciles (a killed one
    holds the source until its lease passes, T439). Before, the signal
    killed vigilctl as SIGKILL does, leaving the import running."""

    BATCH = 256

    def test_interrupted_then_again(self):
        t, tid = new_tenant("imp-sigint")
        n = 48 * self.BATCH
        path = os.path.join(STACK.root, "t440.jsonl")
        with open(path, "w") as f:
            for i in range(n):
                f.write(json.dumps(ocsf_item(440000 + i, code="t440_check"))
                        + "\n")
        few = os.path.join(STACK.root, "t440-few.jsonl")
        with open(few, "w") as f:
            for i in range(100):
                f.write(json.dumps(ocsf_item(440000 + i, code="t440_check"))
                        + "\n")

        def count():
            return int(STACK.query("SELECT COUNT(*) FROM findings WHERE "
                                   "tenant_id = %s" % q(tid))[0][0])

        p = vigilctl_popen(t, path, "t440")
        ok = wait_until(lambda: count() >= 2 * self.BATCH or
                        p.poll() is not None, 300, 0.01)
        os.kill(p.pid, signal.SIGINT)
        out, err = p.communicate(timeout=300)
        self.assertTrue(ok, "no batch was written")
        self.assertEqual(p.returncode, 1, (out, err))
        imp = json.loads(out)
        self.assertEqual(imp["status"], "failed", imp)
        self.assertEqual(imp["error"], "stopped by signal 2 (Interrupt); "
                         "what was written before stays", imp)
        got = count()
        self.assertLess(got, n, "the import ended before the signal")
        self.assertEqual(got % self.BATCH, 0, got)
        # what it counts is what it wrote, not the items it had read
        # since its last batch
        self.assertEqual(imp["imported"], got, imp)
        self.assertEqual(STACK.query(
            "SELECT status, lease_until IS NULL FROM imports WHERE id = %s"
            % q(imp["import_id"])), [["failed", "1"]])
        e = self.import_audit(tid, imp["import_id"])
        self.assertEqual((e[0], e[2]["error"]),
                         ("import.failed", imp["error"]))
        # At once: a full report of the first hundred resolves the rest.
        r = STACK.vigilctl("findings", "import", "--tenant", t, "--format",
                           "ocsf", "--source", "t440", few, timeout=300)
        again = json.loads(r.stdout)
        self.assertEqual((again["status"], again["resolved"],
                          again["note"]), ("completed", got - 100, None),
                         again)
        self.assertEqual(dict(STACK.query(
            "SELECT state, COUNT(*) FROM findings WHERE tenant_id = %s "
            "GROUP BY state" % q(tid))),
            {"open": "100", "resolved": str(got - 100)})

    def import_audit(self, tid, iid):
        r = STACK.query("SELECT action, actor, detail FROM audit_log WHERE "
                        "tenant_id = %s AND object = %s" % (q(tid), q(iid)))
        self.assertEqual(len(r), 1, r)
        return r[0][0], r[0][1], json.loads(r[0][2])


class T443ImportStoppedWhilePipeIdle(ImportBase):
    """vigilctl storing a report from a pipe that sends nothing more (a
    producer hung, or still thinking) stops within a moment of SIGINT,
    keeps nothing of the report and leaves no import running. Before, the
    read was restarted after the signal and the stop waited for the
    pipe's next bytes or its end."""

    def test_sigint_while_pipe_idle(self):
        t, tid = new_tenant("imp-pipe")
        p = subprocess.Popen(
            [STACK.vigilctl_bin, "findings", "import", "--tenant", t,
             "--format", "ocsf", "--source", "t443", "/dev/stdin"],
            env=STACK.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
            preexec_fn=interruptible)
        try:
            p.stdin.write(json.dumps(ocsf_item(443000, code="t443"))
                          .encode() + b"\n")
            p.stdin.flush()
            # It has begun storing the report (its import's row written in
            # its transaction), so it is reading the pipe, which sends
            # nothing more.
            self.assertTrue(wait_until(lambda: catches(
                p.pid, signal.SIGINT) and int(STACK.query(
                    "SELECT COUNT(*) FROM information_schema.innodb_trx "
                    "WHERE trx_rows_modified > 0", database=None)[0][0]) > 0,
                60), "vigilctl did not begin storing the report")
            time.sleep(0.5)
            os.kill(p.pid, signal.SIGINT)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.fail("vigilctl did not stop while its pipe was idle")
            err = p.stderr.read().decode()
        finally:
            p.stdin.close()
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 1, err)
        self.assertIn("stopped by signal 2 (Interrupt); nothing was "
                      "imported", err)
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM imports WHERE tenant_id = %s" % q(tid)),
            [["0"]])
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s" % q(tid)),
            [["0"]])


class T441ImportOverlapOnlyWhenWriting(ImportBase):
    """Only an import about to write names another import of its source:
    one that fails before writing (a report that is not one) leaves a
    full import running beside it free to reconcile. And vigilctl keeps
    a signal ignored when it started (nohup's SIGHUP): the import runs to
    its end. Before, the failing import named the other at its claim (the
    full import then resolved nothing), and SIGHUP stopped an import
    started under nohup."""

    def report(self, name, ns, broken=False):
        path = os.path.join(STACK.root, "t441-%s.jsonl" % name)
        items = [json.dumps(ocsf_item(441000 + n, code="t441_check"))
                 for n in ns]
        with open(path, "w") as f:
            if broken:
                # an array cut off before its end: not a report
                f.write("[" + ",\n".join(items) + ",\n")
            else:
                f.write("".join(x + "\n" for x in items))
        return path

    def test_failed_import_does_not_hold(self):
        t, tid = new_tenant("imp-overlap-fail")
        argv = ["findings", "import", "--tenant", t, "--format", "ocsf",
                "--source", "t441"]
        STACK.vigilctl(*(argv + [self.report("whole", range(10))]),
                       timeout=300)
        env = dict(STACK.env(), VIGIL_DEBUG_IMPORT_STOP="reconcile")
        a = vigilctl_popen(t, self.report("half", range(5)), "t441",
                           env=env)
        r = while_stopped(self, a, "before its reconcile", lambda:
                          STACK.vigilctl(*(argv + [self.report(
                              "broken", range(3), broken=True)]),
                              timeout=300, check=False))
        self.assertEqual(r.returncode, 65, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)["status"], "failed")
        out, err = a.communicate(timeout=300)
        self.assertEqual(a.returncode, 0, (out, err))
        imp = json.loads(out)
        self.assertEqual((imp["status"], imp["resolved"], imp["note"]),
                         ("completed", 5, None), imp)

    def test_sighup_ignored_under_nohup(self):
        t, tid = new_tenant("imp-nohup")
        n = 24 * 256
        path = self.report("nohup", range(n))

        def count():
            return int(STACK.query("SELECT COUNT(*) FROM findings WHERE "
                                   "tenant_id = %s" % q(tid))[0][0])

        argv = [STACK.vigilctl_bin, "findings", "import", "--tenant", t,
                "--format", "ocsf", "--source", "t441", path]
        p = subprocess.Popen(
            argv, env=STACK.env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
        ok = wait_until(lambda: count() >= 256 or p.poll() is not None,
                        300, 0.01)
        self.assertTrue(ok, "no batch was written")
        if p.poll() is None:
            os.kill(p.pid, signal.SIGHUP)
        out, err = p.communicate(timeout=300)
        self.assertEqual(p.returncode, 0, (out, err))
        imp = json.loads(out)
        self.assertEqual((imp["status"], imp["imported"]),
                         ("completed", n), imp)


class T445ImportReportLimit(ImportBase):
    """The 100 MiB limit is the report's: a raw body over it is 413 by
    its Content-Length and nothing is stored; a form may carry a report of
    exactly 100 MiB with its framing around it (202), and that report, one
    string of 100 MiB, is a per-item error read by vigil-scan --due, not a
    crash; a form whose file part is one byte over is 413, nothing kept.
    vigilctl: a file over the limit is refused (65), one it cannot read is
    an I/O error (74)."""

    MAX = 100 * 1024 * 1024

    def imports(self):
        return STACK.query("SELECT COUNT(*) FROM imports WHERE tenant_id "
                           "= %s" % q(self.tenant_id))

    def one_string(self, size):
        head, tail = b'{"class_uid": 2004, "x": "', b'"}\n'
        return head + b"a" * (size - len(head) - len(tail)) + tail

    def test_api(self):
        n = self.imports()
        r = self.post(b"x" * (self.MAX + 1), source="over",
                      ct="application/x-ndjson")
        self.assert_error(r, 413, "payload_too_large", "body")
        # the file part one byte over: refused as it streams
        ct, body = form(self.one_string(self.MAX + 1),
                        filename=b"big.jsonl")
        r = self.post(body, source="form-over", ct=ct)
        self.assert_error(r, 413, "payload_too_large", "body")
        self.assertEqual(self.imports(), n)
        # exactly 100 MiB of report, the body some 200 bytes more
        ct, body = form(self.one_string(self.MAX), filename=b"big.jsonl")
        self.assertGreater(len(body), self.MAX)
        r = self.post(body, source="form-max", mode="partial", ct=ct)
        self.assertEqual(r.status, 202, r)
        imp = r.json()
        self.assertEqual((imp["status"], imp["bytes"]),
                         ("queued", self.MAX), imp)
        STACK.scan("--due", timeout=600)
        r = request(self.base(), "GET",
                    "/api/v1/imports/" + imp["import_id"],
                    headers=auth(self.key))
        imp = r.json()
        self.assertEqual((imp["status"], imp["items"], imp["imported"],
                          imp["failed"]), ("completed", 1, 0, 1), imp)
        self.assertEqual(imp["errors"][0]["line"], 1)
        self.assertIn("1 MiB", imp["errors"][0]["error"])
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM import_chunks WHERE import_id = %s" %
            q(imp["import_id"]))[0][0], "0")

    def test_vigilctl(self):
        n = self.imports()
        path = os.path.join(STACK.root, "t445-over.jsonl")
        with open(path, "wb") as f:
            f.truncate(self.MAX + 1)
        try:
            r = STACK.vigilctl("findings", "import", "--tenant", self.tenant,
                               "--format", "ocsf", "--source", "t445",
                               path, check=False)
        finally:
            os.unlink(path)
        self.assertEqual(r.returncode, 65, r)
        self.assertIn("larger than 100 MiB", r.stderr)
        r = STACK.vigilctl("findings", "import", "--tenant", self.tenant,
                           "--format", "ocsf", "--source", "t445",
                           STACK.root, check=False)
        self.assertEqual(r.returncode, 74, r)
        self.assertIn("read error", r.stderr)
        self.assertEqual(self.imports(), n)
