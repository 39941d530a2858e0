"""test_webhooks.py: the webhooks API and the events feed against a running
private stack: registration (a generated secret shown once, never again;
the secret sealed at rest), event-name and target checks (https only and
public addresses only unless vigil.conf allows otherwise), list, show,
delete (pending deliveries fail with it), tenants apart, the test event in
GET /events, the events filters and cursor, delivery retry, scopes, and
hostile input that writes nothing. There is no spooler yet: deliveries are
written here straight into the table where the tests need them.
Run by run.py, which sets STACK here.
"""

import json
import os
import time
import unittest

import test_api as api
from test_api import auth, new_key, new_tenant

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4

# A public address literal: accepted without DNS (no network needed; the
# API never connects to it).
PUBLIC = "https://93.184.215.14/vigil-hook"
EVENT_TYPES = ["finding.detected", "finding.updated", "finding.resolved",
               "finding.accepted", "finding.expired", "finding.reopened",
               "finding.snoozed", "finding.dismissed", "finding.remediated",
               "finding.remediation_failed", "scan.completed", "scan.failed",
               "webhook.test"]


def q(s):
    assert "'" not in s and "\\" not in s
    return "'%s'" % s


def count(table, tenant_id):
    return int(STACK.query("SELECT COUNT(*) FROM %s WHERE tenant_id = %s"
                           % (table, q(tenant_id)))[0][0])


class WebhookBase(api.Base):

    def setUp(self):
        self.base = STACK.urls()["nginx"]

    def call(self, method, path, body=None, key=None, headers=None):
        h = auth(key or self.key)
        h.update(headers or {})
        return api.request(self.base, method, "/api/v1" + path, body, h)

    def create(self, **body):
        body.setdefault("url", PUBLIC)
        body.setdefault("events", ["finding.detected"])
        r = self.call("POST", "/webhooks", body)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def add_delivery(self, wh_id, status, event_id=None):
        """An event and a delivery of it, as the spooler would make them."""
        if event_id is None:
            r = self.call("POST", "/webhooks/%s/test" % wh_id)
            self.assertEqual(r.status, 202, r)
            event_id = r.json()["event_id"]
        seq = STACK.query("SELECT seq FROM events WHERE id = %s"
                          % q(event_id))[0][0]
        did = "dlv_01JV7QB2C3D4E5F6G7H8J9K%03d" % (int(seq) % 1000)
        STACK.sql("INSERT INTO deliveries (id, tenant_id, webhook_id, "
                  "event_id, event_seq, status, attempts, next_attempt_at, "
                  "last_status_code, created_at, updated_at) VALUES "
                  "(%s, %s, %s, %s, %s, %s, 3, UTC_TIMESTAMP(), 500, "
                  "UTC_TIMESTAMP(), UTC_TIMESTAMP())"
                  % (q(did), q(self.tenant_id), q(wh_id), q(event_id), seq,
                     q(status)), database="vigil")
        return did


class T80WebhookCreate(WebhookBase):

    def test_secret_given(self):
        r = self.call("POST", "/webhooks", {
            "url": PUBLIC, "events": ["finding.detected", "finding.resolved",
                                      "finding.accepted"],
            "secret": "your-shared-secret-for-signature-verification"})
        self.assertEqual(r.status, 201, r)
        self.assert_common_headers(r)
        body = r.json()
        self.assertEqual(set(body), {"webhook_id", "url", "events",
                                     "created_at"}, r)
        self.assertRegex(body["webhook_id"], r"^wh_[0-9A-HJKMNP-TV-Z]{26}$")
        self.assertEqual(body["url"], PUBLIC)
        self.assertEqual(body["events"], ["finding.detected",
                                          "finding.resolved",
                                          "finding.accepted"])
        # Sealed at rest: the stored secret is not the secret.
        row = STACK.query("SELECT secret FROM webhooks WHERE id = %s"
                          % q(body["webhook_id"]))
        self.assertRegex(row[0][0], r"^v2\.[0-9a-f]{8}\.")
        self.assertNotIn("your-shared-secret", row[0][0])
        # The audit entry, without the secret.
        rows = STACK.query("SELECT HEX(detail) FROM audit_log WHERE "
                           "tenant_id = %s AND action = 'webhook.create' "
                           "AND object = %s" % (q(self.tenant_id),
                                                q(body["webhook_id"])))
        self.assertEqual(len(rows), 1)
        self.assertNotIn("your-shared-secret",
                         bytes.fromhex(rows[0][0]).decode())

    def test_secret_generated_shown_once(self):
        body = self.create(events=["*"])
        self.assertRegex(body.get("secret", ""),
                         r"^whsec_[A-Za-z0-9+/]{43}=$", body)
        secret = body["secret"]
        wid = body["webhook_id"]
        r = self.call("GET", "/webhooks/%s" % wid)
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("secret", r.json())
        self.assertNotIn(secret[6:], r.body.decode())
        r = self.call("GET", "/webhooks?limit=500")
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(secret[6:], r.body.decode())
        for w in r.json()["webhooks"]:
            self.assertNotIn("secret", w)
        self.assertNotIn(secret[6:], STACK.query(
            "SELECT secret FROM webhooks WHERE id = %s" % q(wid))[0][0])
        with open(STACK.logfile("vigil-api.log"), errors="replace") as f:
            self.assertNotIn(secret[6:], f.read())

    def test_every_event_name(self):
        body = self.create(events=EVENT_TYPES + ["finding.*", "*"])
        self.assertEqual(body["events"], EVENT_TYPES + ["finding.*", "*"])
        body = self.create(events=["scan.failed", "scan.failed"])
        self.assertEqual(body["events"], ["scan.failed"])

    def test_unknown_events(self):
        before = count("webhooks", self.tenant_id)
        for events in (["finding.exploded"], ["finding.detected", "scan.*x"],
                       ["scan.*"], ["FINDING.DETECTED"], [], "finding.*",
                       [1], None, [""]):
            body = {"url": PUBLIC, "events": events}
            if events is None:
                del body["events"]
            r = self.call("POST", "/webhooks", body)
            self.assert_error(r, 400, "invalid_request", "events")
        self.assertEqual(count("webhooks", self.tenant_id), before)

    def test_targets_refused(self):
        before = count("webhooks", self.tenant_id)
        for url in ("http://93.184.215.14/hook",      # http not allowed
                    "https://127.0.0.1/hook",         # loopback
                    "https://10.1.2.3/hook",          # RFC 1918
                    "https://[::1]:8443/hook",        # IPv6 loopback
                    "https://169.254.169.254/latest", # cloud metadata
                    "https://localhost/hook",         # resolves to loopback
                    "https://user:pw@93.184.215.14/", # credentials
                    "ftp://93.184.215.14/", "not a url", "https://",
                    "https://" + "a" * 2100 + ".example/"):
            r = self.call("POST", "/webhooks", {"url": url,
                                                "events": ["*"]})
            self.assert_error(r, 400, "invalid_request", "url")
        self.assertEqual(count("webhooks", self.tenant_id), before)

    def test_hostile_input(self):
        before = (count("webhooks", self.tenant_id),
                  count("audit_log", self.tenant_id))
        cases = [
            ({"url": 5, "events": ["*"]}, "url"),
            ({"url": PUBLIC, "events": {"a": 1}}, "events"),
            ({"url": PUBLIC, "events": ["*"], "secret": 12345678}, "secret"),
            ({"url": PUBLIC, "events": ["*"], "secret": "short"}, "secret"),
            ({"url": PUBLIC, "events": ["*"], "secret": "x" * 257},
             "secret"),
            ({"url": PUBLIC, "events": ["*"], "secret": "whsec_!!!!!!!!"},
             "secret"),
            ({"url": PUBLIC, "events": ["*"], "secret": "tab\there-ok?"},
             "secret"),
            ({"url": PUBLIC, "events": ["*"], "extra": 1}, "extra"),
            ({"url": PUBLIC, "events": ["*"] * 33}, "events"),
        ]
        for body, field in cases:
            r = self.call("POST", "/webhooks", body)
            self.assert_error(r, 400, "invalid_request", field)
        # Bad UTF-8 in the body, not JSON at all, and JSON that is not an
        # object.
        r = self.call("POST", "/webhooks",
                      b'{"url":"https://93.184.215.14/\xff","events":["*"]}',
                      headers={"Content-Type": "application/json"})
        self.assert_error(r, 400, "invalid_request")
        r = self.call("POST", "/webhooks", b"url=x",
                      headers={"Content-Type":
                               "application/x-www-form-urlencoded"})
        self.assert_error(r, 415, "unsupported_media_type")
        r = self.call("POST", "/webhooks", [PUBLIC])
        self.assert_error(r, 400, "invalid_request")
        self.assertEqual((count("webhooks", self.tenant_id),
                          count("audit_log", self.tenant_id)), before)


class T81WebhookTargetsAllowed(WebhookBase):
    """With allow_http_webhooks and allow_private_targets set in vigil.conf
    (the pool restarted to read them), a loopback http:// receiver is
    accepted; cloud metadata is still refused. Restored afterwards."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        STACK.write_conf(allow_http_webhooks=1, allow_private_targets=1)
        STACK.api_stop()
        STACK.api_start(workers=WORKERS)

    @classmethod
    def tearDownClass(cls):
        STACK.write_conf(allow_http_webhooks=0, allow_private_targets=0)
        STACK.api_stop()
        STACK.api_start(workers=WORKERS)

    def test_loopback_http(self):
        body = self.create(url="http://127.0.0.1:9/hook", events=["*"])
        self.assertEqual(body["url"], "http://127.0.0.1:9/hook")
        body = self.create(url="https://localhost/hook", events=["*"])
        self.assertEqual(body["url"], "https://localhost/hook")

    def test_metadata_still_refused(self):
        for url in ("http://169.254.169.254/latest/meta-data",
                    "http://0.0.0.0/", "ftp://127.0.0.1/"):
            r = self.call("POST", "/webhooks", {"url": url,
                                                "events": ["*"]})
            self.assert_error(r, 400, "invalid_request", "url")


class T82WebhookManage(WebhookBase):

    def test_list_get_delete(self):
        a = self.create(events=["finding.*"])
        b = self.create(events=["scan.completed"])
        r = self.call("GET", "/webhooks")
        self.assertEqual(r.status, 200, r)
        page = r.json()
        ids = [w["webhook_id"] for w in page["webhooks"]]
        self.assertIn(a["webhook_id"], ids)
        self.assertLess(ids.index(a["webhook_id"]), ids.index(b["webhook_id"]))
        self.assertEqual(page["total"], len(ids))
        # Keyset pages of one.
        seen, cursor = [], None
        while True:
            path = "/webhooks?limit=1" + ("&cursor=" + cursor if cursor
                                          else "")
            page = self.call("GET", path).json()
            seen += [w["webhook_id"] for w in page["webhooks"]]
            if not page["has_more"]:
                self.assertIsNone(page["next_cursor"])
                break
            cursor = page["next_cursor"]
        self.assertEqual(seen, ids)
        r = self.call("GET", "/webhooks/%s" % a["webhook_id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), dict(
            {k: a[k] for k in ("webhook_id", "url", "events", "created_at")},
            disabled_at=None, disabled_reason=None, failing_since=None))
        # Delete: pending deliveries fail with it, others stay.
        pend = self.add_delivery(a["webhook_id"], "pending")
        dead = self.add_delivery(a["webhook_id"], "dead")
        r = self.call("DELETE", "/webhooks/%s" % a["webhook_id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["webhook_id"], a["webhook_id"])
        self.assertIs(r.json()["deleted"], True)
        rows = dict((d, (s, e)) for d, s, e in STACK.query(
            "SELECT id, status, COALESCE(last_error, '') FROM deliveries "
            "WHERE webhook_id = %s" % q(a["webhook_id"])))
        self.assertEqual(rows[pend], ("failed", "webhook deleted"))
        self.assertEqual(rows[dead], ("dead", ""))
        self.assertEqual(len(STACK.query(
            "SELECT id FROM audit_log WHERE action = 'webhook.delete' AND "
            "object = %s" % q(a["webhook_id"]))), 1)
        for method, path in (("GET", ""), ("DELETE", ""),
                             ("GET", "/deliveries"), ("POST", "/test")):
            r = self.call(method, "/webhooks/%s%s" % (a["webhook_id"], path))
            self.assert_error(r, 404, "not_found")
        # A dead delivery of a deleted webhook is not retried.
        r = self.call("POST", "/deliveries/%s/retry" % dead)
        self.assert_error(r, 409, "conflict")
        ids = [w["webhook_id"] for w in
               self.call("GET", "/webhooks?limit=500").json()["webhooks"]]
        self.assertNotIn(a["webhook_id"], ids)
        self.assertIn(b["webhook_id"], ids)

    def test_other_tenant(self):
        mine = self.create()
        did = self.add_delivery(mine["webhook_id"], "failed")
        _, other_tid = other = new_tenant("whother")
        okey, _ = new_key(other[0], "read,write,admin")
        for method, path in (
                ("GET", "/webhooks/%s" % mine["webhook_id"]),
                ("DELETE", "/webhooks/%s" % mine["webhook_id"]),
                ("GET", "/webhooks/%s/deliveries" % mine["webhook_id"]),
                ("POST", "/webhooks/%s/test" % mine["webhook_id"]),
                ("POST", "/webhooks/%s/enable" % mine["webhook_id"]),
                ("POST", "/deliveries/%s/retry" % did),
                ("GET", "/webhooks/wh_nope"),
                ("POST", "/deliveries/dlv_nope/retry")):
            r = self.call(method, path, key=okey)
            self.assert_error(r, 404, "not_found")
        r = self.call("GET", "/webhooks", key=okey)
        self.assertEqual(r.json()["webhooks"], [])
        r = self.call("GET", "/events", key=okey)
        self.assertEqual(r.json()["events"], [])
        self.assertEqual(count("events", other_tid), 0)
        # Untouched.
        self.assertEqual(self.call("GET", "/webhooks/%s" %
                                   mine["webhook_id"]).status, 200)
        self.assertEqual(STACK.query("SELECT status FROM deliveries WHERE "
                                     "id = %s" % q(did))[0][0], "failed")

    def test_deliveries_and_retry(self):
        wh = self.create(events=["*"])
        wid = wh["webhook_id"]
        pend = self.add_delivery(wid, "pending")
        failed = self.add_delivery(wid, "failed")
        r = self.call("GET", "/webhooks/%s/deliveries" % wid)
        self.assertEqual(r.status, 200, r)
        page = r.json()
        self.assertEqual(page["total"], 2)
        self.assertEqual([d["id"] for d in page["deliveries"]],
                         sorted([pend, failed]))
        d = page["deliveries"][0]
        self.assertEqual(d["event_type"], "webhook.test")
        self.assertEqual(d["attempts"], 3)
        self.assertEqual(d["last_status_code"], 500)
        self.assertIsNone(d["last_latency_ms"])
        r = self.call("GET", "/webhooks/%s/deliveries?limit=1" % wid)
        self.assertTrue(r.json()["has_more"])
        r2 = self.call("GET", "/webhooks/%s/deliveries?limit=1&cursor=%s"
                       % (wid, r.json()["next_cursor"]))
        self.assertEqual(len(r2.json()["deliveries"]), 1)
        self.assertNotEqual(r2.json()["deliveries"][0]["id"],
                            r.json()["deliveries"][0]["id"])
        r = self.call("POST", "/deliveries/%s/retry" % pend)
        self.assert_error(r, 409, "conflict", "status")
        r = self.call("POST", "/deliveries/%s/retry" % failed)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json()["status"], "pending")
        self.assertEqual(r.json()["id"], failed)
        self.assertEqual(STACK.query("SELECT status FROM deliveries WHERE "
                                     "id = %s" % q(failed))[0][0], "pending")
        r = self.call("POST", "/deliveries/%s/retry" % failed)
        self.assert_error(r, 409, "conflict")
        r = self.call("GET", "/webhooks/%s/deliveries?cursor=x" % wid)
        self.assert_error(r, 400, "invalid_request", "cursor")

    def test_scopes(self):
        wh = self.create()
        rkey, _ = new_key(self.tenant, "read")
        wkey, _ = new_key(self.tenant, "read,write")
        r = self.call("POST", "/webhooks", {"url": PUBLIC, "events": ["*"]},
                      key=rkey)
        self.assert_error(r, 403, "insufficient_scope")
        r = self.call("POST", "/webhooks", {"url": PUBLIC, "events": ["*"]},
                      key=wkey)
        self.assert_error(r, 403, "insufficient_scope")
        r = self.call("DELETE", "/webhooks/%s" % wh["webhook_id"], key=wkey)
        self.assert_error(r, 403, "insufficient_scope")
        r = self.call("POST", "/webhooks/%s/test" % wh["webhook_id"],
                      key=rkey)
        self.assert_error(r, 403, "insufficient_scope")
        for path in ("/webhooks", "/webhooks/%s" % wh["webhook_id"],
                     "/webhooks/%s/deliveries" % wh["webhook_id"],
                     "/events"):
            self.assertEqual(self.call("GET", path, key=rkey).status, 200)
        r = self.call("POST", "/webhooks/%s/test" % wh["webhook_id"],
                      key=wkey)
        self.assertEqual(r.status, 202, r)


class T83Events(WebhookBase):

    def test_test_event_and_feed(self):
        # A tenant of its own: the feed holds only what this test makes.
        self.tenant, self.tenant_id = new_tenant("whfeed")
        self.key, _ = new_key(self.tenant, "read,write,admin")
        wh = self.create(events=["webhook.test"])
        ids = []
        for _ in range(3):
            r = self.call("POST", "/webhooks/%s/test" % wh["webhook_id"])
            self.assertEqual(r.status, 202, r)
            self.assertEqual(set(r.json()), {"event_id"})
            ids.append(r.json()["event_id"])
        r = self.call("GET", "/events")
        self.assertEqual(r.status, 200, r)
        page = r.json()
        self.assertEqual([e["event_id"] for e in page["events"]], ids)
        self.assertEqual(page["total"], 3)
        self.assertFalse(page["has_more"])
        e = page["events"][0]
        self.assertEqual(e["event_type"], "webhook.test")
        self.assertEqual(e["tenant_id"], self.tenant_id)
        self.assertEqual(e["data"], {"webhook_id": wh["webhook_id"]})
        # Polling: the cursor of the last page brings only newer events.
        cursor = page["next_cursor"]
        r = self.call("GET", "/events?cursor=" + cursor)
        self.assertEqual(r.json()["events"], [])
        self.assertEqual(r.json()["next_cursor"], cursor)
        r = self.call("POST", "/webhooks/%s/test" % wh["webhook_id"])
        new = r.json()["event_id"]
        r = self.call("GET", "/events?cursor=" + cursor)
        self.assertEqual([e["event_id"] for e in r.json()["events"]], [new])
        # Pages of one, oldest first.
        seen, cursor = [], None
        while True:
            page = self.call("GET", "/events?limit=1" + (
                "&cursor=" + cursor if cursor else "")).json()
            seen += [e["event_id"] for e in page["events"]]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        self.assertEqual(seen, ids + [new])

    def test_filters(self):
        wh = self.create(events=["*"])
        r = self.call("POST", "/webhooks/%s/test" % wh["webhook_id"])
        evid = r.json()["event_id"]
        for t in ("webhook.test", "webhook.*", "*"):
            r = self.call("GET", "/events?type=" + t)
            self.assertEqual(r.status, 200, r)
            self.assertIn(evid, [e["event_id"] for e in r.json()["events"]])
        for t in ("finding.*", "scan.completed", "finding.detected"):
            r = self.call("GET", "/events?type=" + t)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["events"], [])
            self.assertEqual(r.json()["total"], 0)
        past = api.rfc3339(time.time() - 3600)
        future = api.rfc3339(time.time() + 3600)
        r = self.call("GET", "/events?since=" + past)
        self.assertIn(evid, [e["event_id"] for e in r.json()["events"]])
        r = self.call("GET", "/events?since=" + future)
        self.assertEqual(r.json()["events"], [])
        for bad, field in (("type=finding", "type"), ("type=%2A.x", "type"),
                           ("since=yesterday", "since"),
                           ("cursor=s12", "cursor"), ("cursor=e0", "cursor"),
                           ("limit=0", "limit"), ("limit=501", "limit"),
                           ("page=2", "page")):
            r = self.call("GET", "/events?" + bad)
            self.assert_error(r, 400, "invalid_request", field)
