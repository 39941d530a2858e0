"""test_channels.py: notification channels (/api/v1/channels) end to end.

vigil-spool delivers each channel's messages to local stand-ins for the
services (fakeservices.py): Slack, Teams and PagerDuty are paths of
receiver.py that answer as the service does after checking the body against
its documented format, and FakeSMTP is an SMTP server. Covered: the API
(create, list, show, PATCH, delete, enable, test, deliveries; admin only;
secrets never returned; hostile input refused with nothing changed), each
service's message, PagerDuty trigger and resolve with one dedup key, e-mail
with AUTH, STARTTLS required, filters (types, minimum severity,
environments, sources, tags), retries, failures visible, dead letters, and
templates edited by the user.

Like test_delivery.py, this module runs its own spoolers against
ROOT/vigil.conf with a compressed schedule. Run by run.py, which sets STACK.
"""

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import unittest

import test_api as api
from test_api import auth
from receiver import Receiver
import verify_signature as vs
from fakeservices import (FakeSMTP, pagerduty_problems, slack_problems,
                          teams_problems)

STACK = None
WORKERS = 4
RX = None
SMTP = None
PUBLIC_URL = "https://vigil.example.test/"

CONF = {"allow_http_webhooks": 1, "allow_private_targets": 1,
        "webhook_backoff_scale": 0.0001, "webhook_timeout_ms": 2000,
        "webhook_connect_timeout_ms": 1000, "webhook_lease": 3,
        "spool_poll_ms": 50, "public_url": PUBLIC_URL}
_n = [0]


def uniq(prefix):
    _n[0] += 1
    return "/%s/%d-%d" % (prefix, os.getpid(), _n[0])


def q(s):
    assert "'" not in s and "\\" not in s
    return "'%s'" % s


def setUpModule():
    global RX, SMTP
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    RX = Receiver().start()
    SMTP = FakeSMTP().start()
    STACK.write_conf(**CONF)
    STACK.api_stop()
    STACK.api_start(workers=WORKERS)
    # Earlier modules' events are theirs (see test_delivery.py).
    STACK.sql("UPDATE events SET dispatched = 1", database="vigil")
    STACK.sql("UPDATE deliveries SET status = 'failed' "
              "WHERE status IN ('pending', 'delivering')", database="vigil")


def tearDownModule():
    for name in STACK.spool_names():
        STACK.spool_stop(name)
    conf = STACK.state.get("conf_extra", {})
    conf.pop("public_url", None)
    STACK.write_conf(allow_http_webhooks=0, allow_private_targets=0)
    STACK.api_stop()
    STACK.api_start(workers=WORKERS)
    if RX is not None:
        RX.stop()
    if SMTP is not None:
        SMTP.stop()


class Base(api.Base):

    def setUp(self):
        self.base = STACK.urls()["nginx"]

    def call(self, method, path, body=None, key=None, headers=None):
        h = auth(key or self.key)
        if headers:
            h.update(headers)
        return api.request(self.base, method, "/api/v1" + path, body, h)

    def channel(self, type_, config, filt=None, name=None, status=201):
        body = {"type": type_, "config": config}
        if filt is not None:
            body["filter"] = filt
        if name is not None:
            body["name"] = name
        r = self.call("POST", "/channels", body)
        self.assertEqual(r.status, status, r)
        return r.json()

    def slack(self, path=None, filt=None):
        path = path or uniq("slack")
        return self.channel("slack", {"url": RX.url(path)}, filt), path

    def once(self):
        r = STACK.spool_once()
        self.assertEqual(r.returncode, 0, r.stderr)

    def deliveries(self, cid):
        r = self.call("GET", "/channels/%s/deliveries?limit=500" % cid)
        self.assertEqual(r.status, 200, r)
        return r.json()["deliveries"]

    def import_findings(self, *specs):
        """Findings in this tenant through vigilctl, one per spec (a dict
        of severity, environment, tags); their ids, in order."""
        entries = []
        for sp in specs:
            _n[0] += 1
            e = {"rule_id": "nsg-ssh-internet", "provider": "azure",
                 "resource_id": "/subscriptions/sub-c/resourceGroups/rg/"
                 "providers/Microsoft.Network/networkSecurityGroups/"
                 "nsg-c-%d-%d" % (os.getpid(), _n[0]),
                 "title": sp.get("title", "SSH open <%d> & more" % _n[0]),
                 "severity": sp.get("severity", "high"),
                 "category": "network", "description": "d",
                 "recommendation": "r", "subscription_id": "sub-c",
                 "environment": sp.get("environment", "PROD"),
                 "layer": "infrastructure", "framework": "CIS",
                 "evidence": {"port": 22}}
            if "tags" in sp:
                e["tags"] = sp["tags"]
            entries.append(e)
        path = os.path.join(STACK.root, "chan-import-%d.json" % _n[0])
        with open(path, "w") as f:
            json.dump({"findings": entries}, f)
        STACK.vigilctl("findings", "import", "--tenant", self.tenant,
                       "--no-reconcile", path)
        ids = []
        for e in entries:
            rows = STACK.query("SELECT id FROM findings WHERE tenant_id = %s "
                               "AND resource_id = %s" % (
                                   q(self.tenant_id), q(e["resource_id"])))
            ids.append(rows[0][0])
        return ids


class T140ChannelsApi(Base):

    def test_crud_and_secrets_never_returned(self):
        n0 = self.call("GET", "/channels").json()["total"]
        secret_url = RX.url("/slack/T000/B000/XXXXsecretXXXX")
        c = self.channel("slack", {"url": secret_url}, name="#sec",
                         filt={"min_severity": "high"})
        self.assertRegex(c["channel_id"], r"^ch_")
        self.assertEqual(c["type"], "slack")
        self.assertEqual(c["name"], "#sec")
        self.assertEqual(c["filter"]["min_severity"], "high")
        self.assertTrue(c["target"].startswith("http://127.0.0.1/"), c)
        self.assertNotIn("secret", json.dumps(c).lower().replace(
            "secret_", ""))
        self.assertNotIn("XXXXsecretXXXX", json.dumps(c))
        pd = self.channel("pagerduty", {"routing_key": "R0UT1NGKEYSECRET",
                                        "url": RX.url("/pagerduty/x")})
        mail = self.channel("email", {
            "host": "127.0.0.1", "port": SMTP.port, "security": "none",
            "username": "vigil", "password": "p4ss-SECRET",
            "from": "vigil@example.test", "to": ["soc@example.test"]})
        self.assertEqual(mail["target"], "smtp://127.0.0.1:%d" % SMTP.port)
        self.assertEqual(mail["config"]["username"], "vigil")
        hook = self.channel("webhook", {"url": RX.url(uniq("ok"))})
        self.assertRegex(hook["channel_id"], r"^wh_")
        self.assertTrue(hook["secret"].startswith("whsec_"))
        ids = {c["channel_id"], pd["channel_id"], mail["channel_id"],
               hook["channel_id"]}
        for path in ["/channels"] + ["/channels/%s" % i for i in ids]:
            r = self.call("GET", path)
            self.assertEqual(r.status, 200, r)
            text = r.body.decode()
            for s in ("XXXXsecretXXXX", "R0UT1NGKEYSECRET", "p4ss-SECRET",
                      hook["secret"]):
                self.assertNotIn(s, text)
        listed = self.call("GET", "/channels?limit=500").json()
        self.assertLessEqual(ids, {x["channel_id"]
                                   for x in listed["channels"]})
        self.assertEqual(listed["total"], n0 + 4)
        self.assertEqual(listed["total"], len(listed["channels"]))
        # /webhooks shows webhooks only, and no channel by id
        wl = self.call("GET", "/webhooks").json()
        self.assertEqual([w["webhook_id"] for w in wl["webhooks"]],
                         [hook["channel_id"]])
        self.assertEqual(wl["total"], 1)
        r = self.call("GET", "/webhooks/%s" % c["channel_id"])
        self.assertEqual(r.status, 404)
        r = self.call("DELETE", "/webhooks/%s" % c["channel_id"])
        self.assertEqual(r.status, 404)
        # the sealed secrets are not the plaintext
        row = STACK.query("SELECT secret FROM webhooks WHERE id = %s"
                          % q(pd["channel_id"]))[0][0]
        self.assertNotIn("R0UT1NGKEYSECRET", row)
        # PATCH: name and filter change, the secret stays
        r = self.call("PATCH", "/channels/%s" % pd["channel_id"],
                      {"name": "on-call", "filter": {
                          "event_types": ["finding.*"],
                          "environments": ["PROD"]}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["name"], "on-call")
        self.assertEqual(r.json()["filter"]["environments"], ["PROD"])
        self.assertEqual(r.json()["config"]["url"], RX.url("/pagerduty/x"))
        r = self.call("PATCH", "/channels/%s" % pd["channel_id"],
                      {"type": "slack"})
        self.assert_error(r, 400, "invalid_request", "type")
        # delete
        r = self.call("DELETE", "/channels/%s" % mail["channel_id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["channel_id"], mail["channel_id"])
        r = self.call("GET", "/channels/%s" % mail["channel_id"])
        self.assertEqual(r.status, 404)
        self.assertEqual(self.call("GET", "/channels").json()["total"],
                         n0 + 3)
        # the list totals against a recount of the rows
        t = q(self.tenant_id)
        for lst, cond in (("webhooks", " AND kind = 'webhook'"),
                          ("channels", "")):
            self.assertEqual(
                STACK.query("SELECT COALESCE(SUM(n), 0) FROM list_counts "
                            "WHERE tenant_id = %s AND list = %s"
                            % (t, q(lst)))[0][0],
                STACK.query("SELECT COUNT(*) FROM webhooks WHERE tenant_id "
                            "= %s AND deleted_at IS NULL%s" % (t, cond))
                [0][0], lst)
        acts = [a[0] for a in STACK.query(
            "SELECT action FROM audit_log WHERE tenant_id = %s ORDER BY seq"
            % q(self.tenant_id))]
        for a in ("channel.create", "webhook.create", "channel.update",
                  "channel.delete"):
            self.assertIn(a, acts)
        for cid in ids - {mail["channel_id"]}:
            self.call("DELETE", "/channels/%s" % cid)

    def test_idempotency_key(self):
        """A retried POST /channels creates nothing more; as for webhooks
        (a generated secret is never kept to replay), the retry is told
        it was done rather than given the answer again."""
        n0 = self.call("GET", "/channels").json()["total"]
        body = {"type": "webhook", "config": {"url": RX.url(uniq("ok"))}}
        h = {"Idempotency-Key": "chan-%d-%d" % (os.getpid(), _n[0])}
        r1 = self.call("POST", "/channels", body, headers=h)
        self.assertEqual(r1.status, 201, r1)
        self.assertIn("secret", r1.json())
        r2 = self.call("POST", "/channels", body, headers=h)
        self.assertEqual(r2.status, 409, r2)
        self.assertNotIn(r1.json()["secret"], r2.body.decode())
        self.assertEqual(self.call("GET", "/channels").json()["total"],
                         n0 + 1)
        self.call("DELETE", "/channels/%s" % r1.json()["channel_id"])

    def test_patch_keeps_a_webhooks_subscriptions(self):
        r = self.call("POST", "/webhooks", {"url": RX.url(uniq("ok")),
                                            "events": ["scan.completed"],
                                            "secret": "a plain secret"})
        self.assertEqual(r.status, 201, r)
        wid = r.json()["webhook_id"]
        r = self.call("PATCH", "/channels/%s" % wid, {"name": "scans"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["filter"]["event_types"],
                         ["scan.completed"])
        w = self.call("GET", "/webhooks/%s" % wid).json()
        self.assertEqual(w["events"], ["scan.completed"])
        # its secret is kept too: a test is still signed with it
        path = w["url"].split(str(RX.port), 1)[1]
        self.assertEqual(self.call("POST", "/webhooks/%s/test" % wid).status,
                         202)
        self.once()
        got = RX.wait_for(1, path, timeout=10)
        self.assertEqual(len(got), 1)
        self.assertTrue(vs.verify_webhook(got[0].body,
                                          got[0].headers["x-vigil-signature"],
                                          "a plain secret"))
        self.call("DELETE", "/webhooks/%s" % wid)

    def test_admin_only(self):
        c, _ = self.slack()
        for scopes in ("read", "read,write"):
            key, _ = api.new_key(self.tenant, scopes)
            for m, p, b in (("GET", "/channels", None),
                            ("GET", "/channels/" + c["channel_id"], None),
                            ("POST", "/channels", {"type": "slack",
                                                   "config": {}}),
                            ("PATCH", "/channels/" + c["channel_id"],
                             {"name": "x"}),
                            ("DELETE", "/channels/" + c["channel_id"], None),
                            ("POST", "/channels/%s/test" % c["channel_id"],
                             None)):
                r = self.call(m, p, b, key=key)
                self.assert_error(r, 403, "insufficient_scope")
        r = self.call("GET", "/channels/" + c["channel_id"])
        self.assertEqual(r.json()["name"], None)

    def test_hostile_input(self):
        c, _ = self.slack()
        before = STACK.query("SELECT COUNT(*) FROM webhooks WHERE "
                             "tenant_id = %s" % q(self.tenant_id))[0][0]
        ok = RX.url("/slack/x")
        cases = [
            ({"type": 5, "config": {"url": ok}}, "type"),
            ({"type": "sms", "config": {"url": ok}}, "type"),
            ({"type": "slack"}, "config"),
            ({"type": "slack", "config": []}, "config"),
            ({"type": "slack", "config": {"url": 7}}, "config.url"),
            ({"type": "slack", "config": {"url": "ftp://x/"}}, "config.url"),
            ({"type": "slack", "config": {"url":
                                          "http://169.254.169.254/x"}},
             "config.url"),
            ({"type": "slack", "config": {"url": ok, "extra": 1}},
             "config.extra"),
            ({"type": "slack", "config": {"url": ok}, "filter": "high"},
             "filter"),
            ({"type": "slack", "config": {"url": ok},
              "filter": {"min_severity": "urgent"}}, "filter.min_severity"),
            ({"type": "slack", "config": {"url": ok},
              "filter": {"event_types": ["finding.nope"]}},
             "filter.event_types"),
            ({"type": "slack", "config": {"url": ok},
              "filter": {"tags": ["a\nb"]}}, "filter.tags"),
            ({"type": "slack", "config": {"url": ok},
              "name": "x'); DROP TABLE webhooks; --\u0007"}, "name"),
            ({"type": "email", "config": {
                "host": "127.0.0.1; rm -rf /", "from": "a@b.c",
                "to": ["c@d.e"], "security": "none"}}, "config.host"),
            ({"type": "email", "config": {
                "host": "127.0.0.1", "from": "a@b.c",
                "to": ["x@y.z>\r\nRCPT TO:<evil@e.e"], "security": "none"}},
             "config.to"),
            ({"type": "email", "config": {
                "host": "127.0.0.1", "from": "not-an-address",
                "to": ["c@d.e"], "security": "none"}}, "config.from"),
            ({"type": "email", "config": {
                "host": "127.0.0.1", "from": "a@b.c", "to": ["c@d.e"],
                "security": "none", "username": "u"}}, "config.password"),
            ({"type": "pagerduty", "config": {}}, "config.routing_key"),
            ({"type": "slack", "config": {"url": ok}, "bogus": True},
             "bogus"),
        ]
        for body, field in cases:
            r = self.call("POST", "/channels", body)
            self.assert_error(r, 400, "invalid_request", field)
        # not JSON, bad UTF-8, too big
        r = self.call("POST", "/channels", b'{"type": "sl\xffck"}',
                      headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400, r)
        r = self.call("POST", "/channels",
                      {"type": "slack", "config": {"url": ok},
                       "name": "x" * (2 * 1024 * 1024)})
        self.assertEqual(r.status, 413, r)
        # PATCH refusals leave the channel as it was
        for body, field in (({"filter": {"min_severity": 3}},
                             "filter.min_severity"),
                            ({"config": {"url": "http://0.0.0.0/"}},
                             "config.url"),
                            ({"name": ""}, "name")):
            r = self.call("PATCH", "/channels/%s" % c["channel_id"], body)
            self.assert_error(r, 400, "invalid_request", field)
        self.assertEqual(self.call("GET", "/channels/%s" % c["channel_id"])
                         .json(), c)
        # another tenant's channel, malformed and SQL-ish ids: 404
        _, other_tid = api.new_tenant("chan-other")
        other = STACK.query("SELECT name FROM tenants WHERE id = %s"
                            % q(other_tid))[0][0]
        okey, _ = api.new_key(other)
        for m, b in (("GET", None), ("PATCH", {"name": "mine"}),
                     ("DELETE", None)):
            r = self.call(m, "/channels/%s" % c["channel_id"], b, key=okey)
            self.assert_error(r, 404, "not_found")
        for suffix in ("/test", "/enable", "/deliveries"):
            r = self.call("GET" if suffix == "/deliveries" else "POST",
                          "/channels/%s%s" % (c["channel_id"], suffix),
                          key=okey)
            self.assert_error(r, 404, "not_found")
        for bad in ("ch_x", "ch_01' OR '1'='1", "wh_%27%3B--",
                    "evt_01JV7QA1B2C3D4E5F6G7H8J9K0"):
            r = self.call("GET", "/channels/%s" % bad.replace(" ", "%20")
                          .replace("'", "%27"))
            self.assertEqual(r.status, 404, r)
        r = self.call("GET", "/channels?cursor=ch_%27")
        self.assert_error(r, 400, "invalid_request")
        after = STACK.query("SELECT COUNT(*) FROM webhooks WHERE "
                            "tenant_id = %s" % q(self.tenant_id))[0][0]
        self.assertEqual(before, after)
        self.assertEqual(self.call("GET", "/channels/%s" % c["channel_id"])
                         .json(), c)

    def test_security_none_needs_the_operator(self):
        conf = STACK.state["conf_extra"]
        try:
            STACK.write_conf(allow_http_webhooks=0)
            STACK.api_stop()
            STACK.api_start(workers=WORKERS)
            r = self.call("POST", "/channels", {"type": "email", "config": {
                "host": "127.0.0.1", "port": SMTP.port, "security": "none",
                "from": "a@b.c", "to": ["c@d.e"]}})
            self.assert_error(r, 400, "invalid_request", "config.security")
        finally:
            conf["allow_http_webhooks"] = "1"
            STACK.write_conf(**CONF)
            STACK.api_stop()
            STACK.api_start(workers=WORKERS)


class T141Slack(Base):

    def test_finding_message_and_test(self):
        c, path = self.slack()
        fid = self.import_findings({"severity": "critical"})[0]
        r = self.call("POST", "/channels/%s/test" % c["channel_id"])
        self.assertEqual(r.status, 202, r)
        self.once()
        got = RX.wait_for(2, path, timeout=15)
        self.assertEqual(len(got), 2, got)
        for g in got:
            self.assertEqual(g.method, "POST")
            self.assertEqual(g.headers.get("content-type"),
                             "application/json")
            # no webhook signature headers: Slack has none
            self.assertNotIn("x-vigil-signature", g.headers)
            self.assertEqual(slack_problems(g.body), [], g.body)
        msgs = [g.json() for g in got]
        finding = [m for m in msgs if fid in json.dumps(m)]
        test = [m for m in msgs if fid not in json.dumps(m)]
        self.assertEqual(len(finding), 1, msgs)
        m = finding[0]
        self.assertIn("New finding", m["text"])
        self.assertIn("[critical]", m["text"])
        # Slack's escaping of &, <, > in the title
        self.assertIn("&lt;", json.dumps(m["blocks"]))
        self.assertIn("&amp;", json.dumps(m["blocks"]))
        buttons = [e for b in m["blocks"] if b["type"] == "actions"
                   for e in b["elements"]]
        self.assertEqual(buttons[0]["url"],
                         PUBLIC_URL.rstrip("/") + "/api/v1/findings/" + fid)
        self.assertIn("Test notification", test[0]["text"])
        for d in self.deliveries(c["channel_id"]):
            self.assertEqual((d["status"], d["last_status_code"]),
                             ("succeeded", 200), d)

    def test_edited_template_applies(self):
        tdir = os.path.join(STACK.root, "templates-edit")
        shutil.copytree(os.path.join(STACK.srcdir, "etc", "templates"), tdir,
                        dirs_exist_ok=True)
        with open(os.path.join(tdir, "slack.json"), "w") as f:
            f.write('{"text": "EDITED {{severity}} {{id}}"}\n')
        STACK.write_conf(template_dir=tdir)
        try:
            c, path = self.slack()
            fid = self.import_findings({"severity": "low"})[0]
            self.once()
            got = RX.wait_for(1, path, timeout=15)
            self.assertEqual(got[0].json(), {"text": "EDITED low " + fid})
            # a template that no longer makes JSON fails the delivery,
            # visibly, and is not retried
            with open(os.path.join(tdir, "slack.json"), "w") as f:
                f.write('{"text": "{{#id}}broken"}\n')
            self.import_findings({"severity": "low"})
            self.once()
            ds = self.deliveries(c["channel_id"])
            self.assertEqual(ds[-1]["status"], "failed", ds)
            self.assertIn("not closed", ds[-1]["last_error"])
            self.assertEqual(len(RX.requests(path)), 1)
        finally:
            STACK.state["conf_extra"]["template_dir"] = os.path.join(
                STACK.srcdir, "etc", "templates")
            STACK.write_conf(**CONF)


class T142Teams(Base):

    def test_adaptive_card(self):
        path = uniq("teams")
        c = self.channel("teams", {"url": RX.url(path)})
        fid = self.import_findings({"severity": "medium"})[0]
        self.once()
        got = RX.wait_for(1, path, timeout=15)
        self.assertEqual(len(got), 1, got)
        self.assertEqual(teams_problems(got[0].body), [], got[0].body)
        card = got[0].json()["attachments"][0]["content"]
        facts = {f["title"]: f["value"] for b in card["body"]
                 if b["type"] == "FactSet" for f in b["facts"]}
        self.assertEqual(facts["Severity"], "medium")
        self.assertEqual(facts["Id"], fid)
        self.assertEqual(card["actions"][0]["url"],
                         PUBLIC_URL.rstrip("/") + "/api/v1/findings/" + fid)
        d = self.deliveries(c["channel_id"])[0]
        self.assertEqual((d["status"], d["last_status_code"]),
                         ("succeeded", 202))


class T143PagerDuty(Base):

    def test_trigger_then_resolve_with_one_dedup_key(self):
        path = uniq("pagerduty")
        c = self.channel("pagerduty", {"routing_key": "rk-123",
                                       "url": RX.url(path)},
                         filt={"event_types": ["finding.detected",
                                               "finding.resolved"]})
        fid = self.import_findings({"severity": "critical"})[0]
        self.once()
        r = self.call("POST", "/findings/%s/resolve" % fid, {})
        self.assertEqual(r.status, 200, r)
        self.once()
        got = RX.wait_for(2, path, timeout=15)
        self.assertEqual(len(got), 2, got)
        for g in got:
            self.assertEqual(pagerduty_problems(g.body), [], g.body)
        trig, res = got[0].json(), got[1].json()
        self.assertEqual(trig["event_action"], "trigger")
        self.assertEqual(trig["routing_key"], "rk-123")
        self.assertEqual(trig["payload"]["severity"], "critical")
        self.assertIn(fid, trig["payload"]["custom_details"]["id"])
        self.assertEqual(trig["links"][0]["href"],
                         PUBLIC_URL.rstrip("/") + "/api/v1/findings/" + fid)
        self.assertEqual(res["event_action"], "resolve")
        self.assertEqual(res["dedup_key"], trig["dedup_key"])
        self.assertIn(fid, trig["dedup_key"])
        for d in self.deliveries(c["channel_id"]):
            self.assertEqual((d["status"], d["last_status_code"]),
                             ("succeeded", 202), d)


def self_signed(dirpath):
    """A throwaway certificate for 127.0.0.1 no client trusts."""
    crt, key = os.path.join(dirpath, "smtp.crt"), os.path.join(dirpath,
                                                               "smtp.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "1",
                    "-subj", "/CN=127.0.0.1"], check=True,
                   capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ctx


def private_ca(dirpath):
    """A CA and a certificate for 127.0.0.1 it signed: (the CA's file, a
    server context with the certificate)."""
    ca_key, ca = (os.path.join(dirpath, "ca.key"),
                  os.path.join(dirpath, "ca.crt"))
    key, csr, crt = (os.path.join(dirpath, "srv.key"),
                     os.path.join(dirpath, "srv.csr"),
                     os.path.join(dirpath, "srv.crt"))
    ext = os.path.join(dirpath, "srv.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName = IP:127.0.0.1\n")
    run = lambda *a: subprocess.run(["openssl", *a], check=True,
                                    capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
        "-out", ca, "-days", "1", "-subj", "/CN=Vigil test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
        "-CAcreateserial", "-out", crt, "-days", "1", "-extfile", ext)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ca, ctx


class T144Email(Base):

    def mail_channel(self, server, **kv):
        cfg = {"host": "127.0.0.1", "port": server.port, "security": "none",
               "from": "vigil@example.test",
               "to": ["soc@example.test", "owner@example.test"]}
        cfg.update(kv)
        return self.channel("email", cfg)

    def test_message_over_smtp_with_auth(self):
        n0 = len(SMTP.messages)
        c = self.mail_channel(SMTP, username="vigil", password="s3cret")
        fid = self.import_findings({"severity": "high",
                                    "title": "Caf\u00e9 port open"})[0]
        self.once()
        msgs = SMTP.wait_for(n0 + 1)[n0:]
        self.assertEqual(len(msgs), 1)
        m = msgs[0]
        self.assertEqual(m.mail_from, "<vigil@example.test>")
        self.assertEqual(m.rcpt, ["<soc@example.test>",
                                  "<owner@example.test>"])
        self.assertEqual(m.auth, ("vigil", "s3cret"))
        h = m.headers()
        self.assertEqual(h["from"], "vigil@example.test")
        self.assertEqual(h["to"], "soc@example.test, owner@example.test")
        self.assertTrue(h["subject"].startswith("=?UTF-8?B?"), h)
        self.assertIn("text/plain; charset=utf-8", h["content-type"])
        self.assertIn("message-id", h)
        self.assertIn("date", h)
        body = m.body()
        self.assertIn("Caf\u00e9 port open", body)
        self.assertIn(PUBLIC_URL.rstrip("/") + "/api/v1/findings/" + fid,
                      body)
        self.assertIn("Severity:    high", body)
        d = self.deliveries(c["channel_id"])[0]
        self.assertEqual((d["status"], d["last_status_code"]),
                         ("succeeded", 250))

    def test_refused_recipient_fails_and_4xx_retries(self):
        srv = FakeSMTP().start()
        try:
            srv.data_failures = 1
            c = self.mail_channel(srv)
            self.import_findings({})
            self.once()
            time.sleep(0.2)
            self.once()
            ds = self.deliveries(c["channel_id"])
            self.assertEqual((ds[0]["status"], ds[0]["attempts"]),
                             ("succeeded", 2), ds)
            srv.reject_rcpt.add("owner@example.test")
            self.import_findings({})
            self.once()
            ds = self.deliveries(c["channel_id"])
            self.assertEqual(ds[-1]["status"], "failed", ds)
            self.assertEqual(ds[-1]["last_status_code"], 550)
            self.assertIsNotNone(ds[-1]["last_error"])
        finally:
            srv.stop()

    def test_starttls_and_smtps_with_a_trusted_server(self):
        d = os.path.join(STACK.root, "smtp-ca")
        os.makedirs(d, exist_ok=True)
        ca, ctx = private_ca(d)
        st = FakeSMTP(starttls=ctx).start()
        im = FakeSMTP(implicit=ctx).start()
        try:
            a = self.mail_channel(st, security="starttls", username="u",
                                  password="over-tls")
            b = self.mail_channel(im, security="tls", username="u",
                                  password="over-tls")
            self.assertEqual(b["target"], "smtps://127.0.0.1:%d" % im.port)
            self.import_findings({})
            conf = os.path.join(STACK.root, "vigil-chan-ca.conf")
            with open(STACK.conf) as f:
                text = f.read()
            with open(conf, "w") as f:
                f.write(text + "spool_ca_file = %s\n" % ca)
            r = STACK.spool_once(conf=conf)
            self.assertEqual(r.returncode, 0, r.stderr)
            for srv, c in ((st, a), (im, b)):
                msgs = srv.wait_for(1, timeout=10)
                self.assertEqual(len(msgs), 1, c)
                self.assertTrue(msgs[0].tls)
                self.assertEqual(msgs[0].auth, ("u", "over-tls"))
                ds = self.deliveries(c["channel_id"])
                self.assertEqual((ds[0]["status"], ds[0]["last_status_code"]),
                                 ("succeeded", 250), ds)
            # STARTTLS came before AUTH and MAIL
            cmds = [x.split(" ")[0].upper() for x in st.sessions[0]]
            self.assertLess(cmds.index("STARTTLS"), cmds.index("AUTH"))
        finally:
            st.stop()
            im.stop()

    def test_clear_smtp_needs_the_spoolers_consent_too(self):
        srv = FakeSMTP().start()
        try:
            c = self.mail_channel(srv, username="u", password="pw")
            self.import_findings({})
            conf = os.path.join(STACK.root, "vigil-chan-nohttp.conf")
            with open(STACK.conf) as f:
                text = f.read()
            with open(conf, "w") as f:
                f.write(text + "allow_http_webhooks = false\n")
            r = STACK.spool_once(conf=conf)
            self.assertEqual(r.returncode, 0, r.stderr)
            ds = self.deliveries(c["channel_id"])
            self.assertEqual(ds[0]["status"], "failed", ds)
            self.assertIn("allow_http_webhooks", ds[0]["last_error"])
            self.assertEqual(srv.sessions, [])
        finally:
            srv.stop()

    def test_starttls_is_required_and_verified(self):
        # a server that does not offer STARTTLS gets nothing
        plain = FakeSMTP().start()
        tls = FakeSMTP(starttls=self_signed(STACK.root)).start()
        try:
            a = self.mail_channel(plain, security="starttls",
                                  username="u", password="never-in-clear")
            b = self.mail_channel(tls, security="starttls",
                                  username="u", password="never-in-clear")
            self.import_findings({})
            self.once()
            for srv, c in ((plain, a), (tls, b)):
                ds = self.deliveries(c["channel_id"])
                self.assertEqual(len(ds), 1, ds)
                self.assertIn(ds[0]["status"], ("pending", "failed"), ds)
                self.assertIsNotNone(ds[0]["last_error"])
                self.assertEqual(srv.messages, [])
                cmds = [x for s in srv.sessions for x in s]
                self.assertFalse([x for x in cmds
                                  if x.upper().startswith(("AUTH", "MAIL"))],
                                 cmds)
            # the untrusted certificate is why
            self.assertRegex(self.deliveries(b["channel_id"])[0]
                             ["last_error"].lower(), "ssl|certificate|tls")
        finally:
            plain.stop()
            tls.stop()


class T145Filters(Base):

    def test_severity_environment_tags_sources(self):
        chans = {
            "high": self.slack(filt={"min_severity": "high"}),
            "staging": self.slack(filt={"environments": ["STAGING"]}),
            "tag": self.slack(filt={"tags": ["team=payments"]}),
            "tagkey": self.slack(filt={"tags": ["owner"]}),
            "all": self.slack(),
            "alerts": self.slack(filt={"event_types": ["alert.created"],
                                       "sources": ["siem-a"]}),
        }
        ids = self.import_findings(
            {"severity": "critical"},
            {"severity": "medium", "environment": "STAGING"},
            {"severity": "low", "tags": {"team": "payments"}},
            {"severity": "info", "tags": {"owner": "bob", "team": "web"}})
        for src in ("siem-a", "siem-b"):
            r = self.call("POST", "/alerts", {
                "source": src, "external_id": "x-%d" % _n[0],
                "severity": "high", "title": "alert from " + src,
                "detected_at": "2026-06-02T09:14:00Z"})
            self.assertIn(r.status, (200, 201), r)
        self.once()
        time.sleep(0.3)

        def got(name):
            _, path = chans[name]
            return sorted(json.dumps(r.json()) for r in RX.requests(path))

        def which(name):
            text = " ".join(got(name))
            return [i for i, f in enumerate(ids) if f in text]
        self.assertEqual(which("high"), [0])
        self.assertEqual(which("staging"), [1])
        self.assertEqual(which("tag"), [2])
        self.assertEqual(which("tagkey"), [3])
        self.assertEqual(which("all"), [0, 1, 2, 3])
        alerts = got("alerts")
        self.assertEqual(len(alerts), 1, alerts)
        self.assertIn("alert from siem-a", alerts[0])
        # the test message ignores the filter
        c, path = chans["staging"]
        self.call("POST", "/channels/%s/test" % c["channel_id"])
        self.once()
        self.assertEqual(len(RX.wait_for(2, path, timeout=10)), 2)


class T146RetriesAndFailures(Base):

    def test_retried_then_dead_and_visible(self):
        path = uniq("slack")
        RX.script(path, [500, 503, 200])
        c, _ = self.slack(path)
        self.import_findings({})
        self.once()
        deadline = time.time() + 20
        while time.time() < deadline:
            ds = self.deliveries(c["channel_id"])
            if ds[0]["status"] == "succeeded":
                break
            time.sleep(0.3)
            self.once()
        self.assertEqual((ds[0]["status"], ds[0]["attempts"]),
                         ("succeeded", 3), ds)
        # a receiver that always fails: failing_since shows it, and the
        # delivery ends dead after the (compressed) schedule
        path2 = uniq("slack")
        RX.script(path2, [500])
        c2, _ = self.slack(path2)
        self.import_findings({})
        self.once()
        ch = self.call("GET", "/channels/%s" % c2["channel_id"]).json()
        self.assertIsNotNone(ch["failing_since"], ch)
        deadline = time.time() + 40
        while time.time() < deadline:
            ds = self.deliveries(c2["channel_id"])
            if ds[0]["status"] == "dead":
                break
            time.sleep(0.5)
            self.once()
        self.assertEqual(ds[0]["status"], "dead", ds)
        self.assertEqual(ds[0]["attempts"], 11)
        self.assertIn("HTTP 500", ds[0]["last_error"])
        # a manual retry works for channels too
        RX.script(path2, [200])
        r = self.call("POST", "/deliveries/%s/retry" % ds[0]["id"])
        self.assertEqual(r.status, 202, r)
        self.once()
        self.assertEqual(self.deliveries(c2["channel_id"])[0]["status"],
                         "succeeded")

    def test_gone_disables_and_enable(self):
        path = uniq("gone")
        c = self.channel("slack", {"url": RX.url(path)})
        self.import_findings({})
        self.once()
        ch = self.call("GET", "/channels/%s" % c["channel_id"]).json()
        self.assertIsNotNone(ch["disabled_at"], ch)
        self.assertIn("410", ch["disabled_reason"])
        r = self.call("POST", "/channels/%s/enable" % c["channel_id"])
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.json()["disabled_at"])

    def test_unreachable_target_refused_at_connect(self):
        # allowed at creation (allow_private_targets), refused by a
        # spooler whose configuration does not allow it
        c, path = self.slack()
        self.import_findings({})
        conf = os.path.join(STACK.root, "vigil-chan-strict.conf")
        with open(STACK.conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text + "allow_private_targets = false\n")
        r = STACK.spool_once(conf=conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        ds = self.deliveries(c["channel_id"])
        self.assertEqual(ds[0]["status"], "failed", ds)
        self.assertIn("refused at connect time", ds[0]["last_error"])
        self.assertEqual(RX.requests(path), [])


class T147Digests(Base):

    def test_hourly_digest_is_one_message(self):
        srv = FakeSMTP().start()
        try:
            c = self.channel("email", {
                "host": "127.0.0.1", "port": srv.port, "security": "none",
                "from": "vigil@example.test", "to": ["soc@example.test"],
                "digest": "hourly"}, filt={"min_severity": "medium"})
            self.assertEqual(c["config"]["digest"], "hourly")
            ids = self.import_findings({"severity": "high"},
                                       {"severity": "critical"},
                                       {"severity": "low"},
                                       {"severity": "medium"})
            self.once()
            # nothing sent yet: the events wait for the end of the hour
            self.assertEqual(srv.messages, [])
            self.assertEqual(self.deliveries(c["channel_id"]), [])
            rows = STACK.query("SELECT COUNT(*), MIN(period_end) > "
                               "UTC_TIMESTAMP(), TIMESTAMPDIFF(MINUTE, "
                               "UTC_TIMESTAMP(), MIN(period_end)) <= 60 "
                               "FROM channel_digests WHERE channel_id = %s"
                               % q(c["channel_id"]))[0]
            self.assertEqual(list(rows), ["3", "1", "1"])
            # the hour ends
            STACK.sql("UPDATE channel_digests SET period_end = "
                      "UTC_TIMESTAMP() - INTERVAL 1 SECOND WHERE "
                      "channel_id = %s" % q(c["channel_id"]),
                      database="vigil")
            self.once()
            msgs = srv.wait_for(1, timeout=10)
            self.assertEqual(len(msgs), 1)
            body = msgs[0].body()
            self.assertIn("3 events", msgs[0].headers()["subject"])
            for fid in (ids[0], ids[1], ids[3]):
                self.assertIn(PUBLIC_URL.rstrip("/") + "/api/v1/findings/" +
                              fid, body)
            self.assertNotIn(ids[2], body)
            self.assertIn("- [critical] New finding: ", body)
            ds = self.deliveries(c["channel_id"])
            self.assertEqual([d["status"] for d in ds], ["succeeded"])
            self.assertEqual(ds[0]["event_type"], "channel.digest")
            r = self.call("GET", "/events?type=channel.digest")
            self.assertEqual(r.status, 200, r)
            ev = r.json()["events"][-1]
            self.assertEqual(ev["data"]["webhook_id"], c["channel_id"])
            self.assertEqual(ev["data"]["count"], 3)
            self.assertEqual(STACK.query(
                "SELECT COUNT(*) FROM channel_digests WHERE channel_id = %s"
                % q(c["channel_id"]))[0][0], "0")
            # an empty period sends nothing
            self.once()
            time.sleep(0.3)
            self.assertEqual(len(srv.messages), 1)
        finally:
            srv.stop()

    def test_daily_period_ends_at_midnight(self):
        c = self.channel("email", {
            "host": "127.0.0.1", "port": SMTP.port, "security": "none",
            "from": "vigil@example.test", "to": ["soc@example.test"],
            "digest": "daily"})
        self.import_findings({})
        self.once()
        rows = STACK.query("SELECT period_end = UTC_DATE() + INTERVAL 1 DAY "
                           "FROM channel_digests WHERE channel_id = %s"
                           % q(c["channel_id"]))
        self.assertEqual([r[0] for r in rows], ["1"])
        self.assertEqual(self.deliveries(c["channel_id"]), [])
        # a deleted channel's notes are dropped with no message
        self.call("DELETE", "/channels/%s" % c["channel_id"])
        STACK.sql("UPDATE channel_digests SET period_end = UTC_TIMESTAMP() "
                  "- INTERVAL 1 SECOND WHERE channel_id = %s"
                  % q(c["channel_id"]), database="vigil")
        n0 = len(SMTP.messages)
        self.once()
        time.sleep(0.3)
        self.assertEqual(len(SMTP.messages), n0)
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM channel_digests WHERE channel_id = %s"
            % q(c["channel_id"]))[0][0], "0")
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM events WHERE type = 'channel.digest' AND "
            "JSON_VALUE(payload, '$.data.webhook_id') = %s"
            % q(c["channel_id"]))[0][0], "0")

    def test_digest_setting_checked(self):
        r = self.call("POST", "/channels", {"type": "email", "config": {
            "host": "127.0.0.1", "port": 25, "security": "none",
            "from": "a@b.c", "to": ["c@d.e"], "digest": "weekly"}})
        self.assert_error(r, 400, "invalid_request", "config.digest")
        r = self.call("POST", "/channels", {"type": "slack", "config": {
            "url": RX.url("/slack/x"), "digest": "daily"}})
        self.assert_error(r, 400, "invalid_request", "config.digest")


class T148DemoChannel(Base):
    """./dev up's demo channel: contrib/slack-receiver.py standing in for
    Slack, registered as a Slack channel; a test message and a finding
    reach it and are printed to its log."""

    def test_demo_slack_stand_in(self):
        from fakeservices import free_port
        port = free_port()
        log = open(os.path.join(STACK.root, "demo-slack.log"), "w+")
        p = subprocess.Popen([sys.executable, os.path.join(
            STACK.srcdir, "contrib", "slack-receiver.py"), "--port",
            str(port)], stdout=log, stderr=subprocess.STDOUT)
        try:
            for _ in range(50):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            c = self.channel("slack", {
                "url": "http://127.0.0.1:%d/services/demo" % port},
                filt={"min_severity": "high"}, name="#security (demo)")
            self.call("POST", "/channels/%s/test" % c["channel_id"])
            fid = self.import_findings({"severity": "critical"})[0]
            self.import_findings({"severity": "low"})
            self.once()
            ds = self.deliveries(c["channel_id"])
            self.assertEqual([d["status"] for d in ds],
                             ["succeeded", "succeeded"], ds)
            log.seek(0)
            lines = log.read().splitlines()
            self.assertEqual(len(lines), 2, lines)
            test = [l for l in lines if "Test notification" in l]
            found = [l for l in lines if "New finding: [critical]" in l]
            self.assertEqual(len(test), 1, lines)
            self.assertEqual(len(found), 1, lines)
            self.assertIn("/api/v1/findings/" + fid, found[0])
            # and it refuses what Slack refuses
            r = api.request("http://127.0.0.1:%d" % port, "POST", "/x",
                            {"blocks": "no"}, {})
            self.assertEqual((r.status, r.body), (400, b"invalid_payload"))
        finally:
            p.terminate()
            p.wait(10)
            log.close()
