"""test_contract.py: doc/openapi.json as the tools that read it see it
(issue 16, item 8): the methods each path answers (HEAD with GET, 405 and
Allow for the rest) as the document lists them, Redocly's lint with no
warnings, and Prism's validating proxy (VIGIL_PRISM=1 sends every answer of
the suite through it) shown to report a response that breaks the
document, so that the Prism check cannot pass by checking nothing.

Run by run.py, which sets STACK here. Every response goes through
test_api.request, so T99OpenApi holds it against doc/openapi.json.
"""

import json
import os
import re
import subprocess
import unittest

import test_api as api
from test_api import auth

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4

METHODS = ("get", "head", "post", "put", "patch", "delete")
# What T260 sends to every path besides its documented methods.
TRIED = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def setUpModule():
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")


def document():
    with open(os.path.join(STACK.srcdir, "doc", "openapi.json")) as f:
        return json.load(f)


def concrete(tmpl):
    """A path of the template that names nothing that exists."""
    return re.sub(r"\{[^}]+\}", "nonexistent-0000", tmpl)


class T260Methods(api.Base):
    """Every path of the document, through every front end: each method
    its path item does not list (OPTIONS included) is 405
    method_not_allowed with an Allow header naming exactly the methods it
    lists; HEAD is listed wherever GET is, and answers GET's status and
    headers without a body. Before, Allow left HEAD out and the document
    listed no HEAD at all."""

    def test_405_allow_is_the_document(self):
        doc = document()
        oa = api.OpenApi(os.path.join(STACK.srcdir, "doc", "openapi.json"))
        n = 0
        for name, base in self.frontends():
            for tmpl, item in sorted(doc["paths"].items()):
                path = concrete(tmpl)
                # /alerts/batch is an /alerts/{id} too: the methods of
                # every template the path matches, as the router has them.
                listed = oa.methods(path)
                with self.subTest(frontend=name, path=tmpl):
                    self.assertEqual("GET" in listed, "HEAD" in listed,
                                     "HEAD not listed with GET: "
                                     "scripts/openapi-head.py adds it")
                    for method in TRIED:
                        if method in listed:
                            continue
                        n += 1
                        r = api.request(base, method, path,
                                        headers=auth(self.key))
                        if method == "HEAD":
                            self.assertEqual(r.status, 405, r)
                            self.assertEqual(r.body, b"", r)
                        else:
                            self.assert_error(r, 405, "method_not_allowed")
                        allow = [m.strip() for m in
                                 (r.header("Allow") or "").split(",")]
                        self.assertEqual(set(allow), listed, r)
                        self.assertEqual(len(allow), len(listed), r)
        self.assertGreater(n, 100)

    def test_head_is_get_without_the_body(self):
        doc = document()
        for name, base in self.frontends():
            for tmpl, item in sorted(doc["paths"].items()):
                if "get" not in item:
                    continue
                path = concrete(tmpl)
                with self.subTest(frontend=name, path=tmpl):
                    g = api.request(base, "GET", path, headers=auth(self.key))
                    h = api.request(base, "HEAD", path,
                                    headers=auth(self.key))
                    self.assertEqual(h.status, g.status, (g, h))
                    self.assertEqual(h.body, b"", h)
                    self.assertEqual(h.header("Content-Type"),
                                     g.header("Content-Type"), h)
                    self.assertIsNotNone(h.header("X-Request-Id"), h)
                    self.assertEqual(str(h.status) in
                                     item["head"]["responses"], True, h)


class T261Lint(unittest.TestCase):
    """Redocly's lint, pinned (tests/contract/package.json), with the
    rules of tests/contract/redocly.yaml: no error and no warning (on the
    issue's day, 86 warnings: examples that broke their schemas, unused
    components, tags without descriptions, no licence)."""

    def test_no_warnings(self):
        tool = STACK.contract_tool("redocly")
        if tool is None:
            self.skipTest("tests/contract/node_modules not installed "
                          "(./dev installs it)")
        env = dict(os.environ, REDOCLY_TELEMETRY="off",
                   REDOCLY_SUPPRESS_UPDATE_NOTICE="true")
        r = subprocess.run(
            [tool, "lint", "--format=json", "--config",
             os.path.join(STACK.srcdir, "tests", "contract", "redocly.yaml"),
             os.path.join(STACK.srcdir, "doc", "openapi.json")],
            capture_output=True, text=True, env=env, timeout=600)
        try:
            problems = json.loads(r.stdout)["problems"]
        except (ValueError, KeyError):
            self.fail("redocly lint exited %d:\n%s%s" % (
                r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
        self.assertEqual(["%s %s: %s" % (p["severity"], p["ruleId"],
                                         p["message"])
                          for p in problems], [])
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])


class T262PrismReports(api.Base):
    """The Prism check (VIGIL_PRISM=1, T99OpenApi.
    test_responses_through_prism) checks something: a scratch copy of
    doc/openapi.json with deliberately wrong schemas (GET /healthz's
    version an integer, X-Request-Id another pattern) behind the same
    harness (stack.prism_start, prism_check), and a real answer of GET
    /healthz sent through it must come back with both violations
    reported, in Prism's sl-violations header and in its log; the same
    answer through the shipped document, none. With the document's former
    jsonSchemaDialect line, Prism 5 checked no body at all and this test
    fails."""

    def test_a_wrong_document_is_reported(self):
        if STACK.contract_tool("prism") is None:
            self.skipTest("tests/contract/node_modules not installed "
                          "(./dev installs it)")
        r = api.request(STACK.urls()["nginx"], "GET", "/healthz")
        self.assertEqual(r.status, 200, r)
        doc = document()
        health = doc["components"]["schemas"]["HealthOk"]["properties"]
        health["version"] = {"type": "integer"}
        doc["components"]["headers"]["X-Request-Id"]["schema"] = {
            "type": "string", "pattern": "^nope_"}
        scratch = os.path.join(STACK.root, "openapi-wrong.json")
        with open(scratch, "w") as f:
            json.dump(doc, f)
        STACK.prism_start(name="prism-scratch", doc=scratch)
        try:
            found = STACK.prism_check("GET", "/healthz", r.status,
                                      r.headers.items(), r.body,
                                      name="prism-scratch")
            self.assertTrue(any(v.startswith("response.body.version")
                                for v in found), found)
            self.assertTrue(any(v.startswith("response.header") and
                                "request-id" in v.lower() for v in found),
                            found)
            logged = STACK.prism_violations("prism-scratch")
            self.assertTrue(any(v.startswith("response.body.version")
                                for v in logged), logged)
        finally:
            STACK.prism_stop("prism-scratch")
        # The same answer through the suite's own Prism (VIGIL_PRISM=1)
        # and the shipped document: nothing to report.
        if STACK.prism_url() is not None:
            self.assertEqual(STACK.prism_check(
                "GET", "/healthz", r.status, r.headers.items(), r.body), [])


if __name__ == "__main__":
    unittest.main()
