"""test_delivery.py: vigil-spool delivering to a real receiver on loopback
(receiver.py): a finding action's events arrive byte for byte with both
signatures (checked with the README's verify_webhook and the Standard Webhooks
algorithm, also as a separate program), subscriptions and tenants apart,
retries on the (compressed) schedule up to dead-lettering and a manual
retry, Retry-After, network errors and timeouts, 4xx, 410 and the 5-day
rule disabling a webhook, redirects not followed, the connect-time address
check, a webhook deleted while its deliveries are pending, two spoolers
delivering each event exactly once, a spooler killed with SIGKILL
mid-delivery losing nothing, and SIGTERM finishing what is in flight.

This module runs its own spoolers (the suite's stack has none) against
ROOT/vigil.conf with a compressed schedule: webhook_backoff_scale 0.0001
(the ~24 h schedule in ~9 s), a 2 s attempt timeout and a 3 s lease.
Run by run.py, which sets STACK here.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest

import test_api as api
from test_api import auth
from receiver import Receiver
import verify_signature as vs

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4
RX = None           # the Receiver

SCALE = 0.0001
CONF = {"allow_http_webhooks": 1, "allow_private_targets": 1,
        "webhook_backoff_scale": SCALE, "webhook_timeout_ms": 2000,
        "webhook_connect_timeout_ms": 1000, "webhook_lease": 3,
        "spool_poll_ms": 50}
# backoff.h's schedule in seconds, before scaling
SCHEDULE = [30, 120, 300, 900, 1800, 3600, 7200, 14400, 28800, 28800]
HERE = os.path.dirname(os.path.abspath(__file__))
_n = [0]


def uniq(prefix):
    _n[0] += 1
    return "/%s/%d-%d" % (prefix, os.getpid(), _n[0])


def q(s):
    assert "'" not in s and "\\" not in s
    return "'%s'" % s


def restart_api():
    STACK.api_stop()
    STACK.api_start(workers=WORKERS)


def setUpModule():
    global RX
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    RX = Receiver().start()
    STACK.write_conf(**CONF)
    restart_api()
    # What earlier modules left in the outbox is theirs: fanned out to
    # their own webhooks (unreachable test URLs), it would only keep the
    # spoolers here busy with retries.
    STACK.sql("UPDATE events SET dispatched = 1", database="vigil")
    STACK.sql("UPDATE deliveries SET status = 'failed' "
              "WHERE status IN ('pending', 'delivering')", database="vigil")


def tearDownModule():
    for name in STACK.spool_names():
        STACK.spool_stop(name)
    STACK.write_conf(allow_http_webhooks=0, allow_private_targets=0)
    restart_api()
    if RX is not None:
        RX.unhang()
        RX.stop()


def alt_conf(name, **kv):
    """ROOT/vigil-NAME.conf: vigil.conf with kv on top (later lines win)."""
    path = os.path.join(STACK.root, "vigil-%s.conf" % name)
    with open(STACK.conf) as f:
        text = f.read()
    text += "".join("%s = %s\n" % (k, v) for k, v in kv.items())
    with open(path, "w") as f:
        f.write(text)
    return path


class DeliveryBase(api.Base):

    def setUp(self):
        self.base = STACK.urls()["nginx"]
        self.hooks = []

    def tearDown(self):
        for name in STACK.spool_names():
            STACK.spool_stop(name)
        for wid in self.hooks:
            self.call("DELETE", "/webhooks/%s" % wid)

    def call(self, method, path, body=None, key=None):
        return api.request(self.base, method, "/api/v1" + path, body,
                           auth(key or self.key))

    def hook(self, path, events=("*",), secret=None, key=None):
        body = {"url": RX.url(path), "events": list(events)}
        if secret is not None:
            body["secret"] = secret
        r = self.call("POST", "/webhooks", body, key=key)
        self.assertEqual(r.status, 201, r)
        wh = r.json()
        if secret is not None:
            wh["secret"] = secret
        self.hooks.append(wh["webhook_id"])
        return wh

    def fire_test(self, wid):
        r = self.call("POST", "/webhooks/%s/test" % wid)
        self.assertEqual(r.status, 202, r)
        return r.json()["event_id"]

    def deliveries(self, wid):
        r = self.call("GET", "/webhooks/%s/deliveries?limit=500" % wid)
        self.assertEqual(r.status, 200, r)
        return r.json()["deliveries"]

    def wait_delivery(self, wid, statuses, timeout=30.0):
        """The webhook's only delivery once its status is in statuses."""
        end = time.time() + timeout
        while True:
            ds = self.deliveries(wid)
            if ds and ds[0]["status"] in statuses:
                self.assertEqual(len(ds), 1, ds)
                return ds[0]
            if time.time() > end:
                self.fail("delivery never reached %s: %r" % (statuses, ds))
            time.sleep(0.1)

    def once(self, *args, conf=None):
        r = STACK.spool_once(*args, conf=conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def payload(self, event_id):
        rows = STACK.query("SELECT HEX(payload) FROM events WHERE id = %s"
                           % q(event_id))
        return bytes.fromhex(rows[0][0])

    def import_finding(self, tenant, n=1):
        """n new findings in tenant via vigilctl (finding.detected each)."""
        entries = []
        for i in range(n):
            _n[0] += 1
            entries.append({
                "rule_id": "nsg-ssh-internet", "provider": "azure",
                "resource_id": "/subscriptions/sub-d/resourceGroups/rg/"
                "providers/Microsoft.Network/networkSecurityGroups/"
                "nsg-%d-%d" % (os.getpid(), _n[0]),
                "title": "SSH open %d" % _n[0], "severity": "medium",
                "category": "network", "description": "d",
                "recommendation": "r", "subscription_id": "sub-d",
                "environment": "PROD", "layer": "infrastructure",
                "framework": "CIS", "evidence": {"port": 22}})
        path = os.path.join(STACK.root, "import-%d.json" % _n[0])
        with open(path, "w") as f:
            json.dump({"findings": entries}, f)
        STACK.vigilctl("findings", "import", "--tenant", tenant,
                       "--no-reconcile", path)
        rows = STACK.query("SELECT id FROM findings WHERE tenant_id = %s "
                           "ORDER BY detected_at, id" % q(self.tenant_id))
        return [r[0] for r in rows]

    def assert_signed(self, req, secret, event_id):
        """What every delivery carries, checked as a receiver would."""
        h = req.headers
        self.assertEqual(req.method, "POST")
        self.assertEqual(h.get("content-type"), "application/json")
        self.assertRegex(h.get("user-agent", ""), r"^vigil-spool/\d")
        self.assertEqual(h.get("webhook-id"), event_id)
        self.assertNotIn("expect", h)
        body = req.body
        self.assertEqual(body, self.payload(event_id))
        env = json.loads(body)
        self.assertEqual(env["event_id"], event_id)
        self.assertEqual(h.get("x-vigil-event"), env["event_type"])
        self.assertEqual(set(env), {"event_id", "event_type", "tenant_id",
                                    "timestamp", "data"})
        self.assertEqual(env["tenant_id"], self.tenant_id)
        # the README's verify_webhook, unchanged
        self.assertTrue(vs.verify_webhook(body, h["x-vigil-signature"],
                                          secret))
        self.assertTrue(vs.verify_standard(body, h["webhook-id"],
                                           h["webhook-timestamp"],
                                           h["webhook-signature"], secret))
        # and a wrong secret or an altered body fails both
        self.assertFalse(vs.verify_webhook(body + b" ",
                                           h["x-vigil-signature"], secret))
        self.assertFalse(vs.verify_standard(body, h["webhook-id"],
                                            h["webhook-timestamp"],
                                            h["webhook-signature"],
                                            "not-the-secret"))


class T84DeliverySigned(DeliveryBase):

    def test_finding_action_delivered(self):
        wh = self.hook(uniq("ok"), events=["finding.*"])
        path = wh["url"].split(str(RX.port), 1)[1]
        fid = self.import_finding(self.tenant)[-1]
        r = self.call("POST", "/findings/%s/accept" % fid, {
            "justification": "compensating control",
            "expires_at": api.rfc3339(time.time() + 86400)})
        self.assertEqual(r.status, 200, r)
        ev = STACK.query("SELECT id, type FROM events WHERE tenant_id = %s "
                         "ORDER BY seq" % q(self.tenant_id))
        self.assertEqual([e[1] for e in ev][-2:],
                         ["finding.detected", "finding.accepted"])
        self.once()
        got = RX.wait_for(2, path, timeout=10)
        self.assertEqual(len(got), 2, got)
        ids = {e[0]: e[1] for e in ev[-2:]}
        self.assertEqual({g.headers["webhook-id"] for g in got}, set(ids))
        for g in got:
            self.assert_signed(g, wh["secret"], g.headers["webhook-id"])
            env = g.json()
            self.assertEqual(env["event_type"], ids[env["event_id"]])
            self.assertEqual(env["data"]["finding"]["id"], fid)
        # The README's verifier as a program, on the real delivery.
        g = got[0]
        p = subprocess.run(
            [sys.executable, os.path.join(HERE, "verify_signature.py"),
             "--secret", wh["secret"], "--body-file", "-",
             "--vigil-signature", g.headers["x-vigil-signature"],
             "--webhook-id", g.headers["webhook-id"],
             "--webhook-timestamp", g.headers["webhook-timestamp"],
             "--webhook-signature", g.headers["webhook-signature"]],
            input=g.body, capture_output=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # What the API says of them.
        ds = self.deliveries(wh["webhook_id"])
        self.assertEqual(len(ds), 2, ds)
        for d in ds:
            self.assertEqual((d["status"], d["attempts"],
                              d["last_status_code"], d["next_attempt_at"],
                              d["last_error"]),
                             ("succeeded", 1, 200, None, None), d)
            self.assertIsInstance(d["last_latency_ms"], int)
        # Delivered once: another drain sends nothing more.
        self.once()
        time.sleep(0.3)
        self.assertEqual(len(RX.requests(path)), 2)

    def test_plain_secret_and_whsec(self):
        a = self.hook(uniq("ok"), secret="a plain shared secret")
        b = self.hook(uniq("ok"),
                      secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        ea, eb = self.fire_test(a["webhook_id"]), \
            self.fire_test(b["webhook_id"])
        self.once()
        for wh, ev in ((a, ea), (b, eb)):
            path = wh["url"].split(str(RX.port), 1)[1]
            got = RX.wait_for(1, path, timeout=10)
            self.assertEqual(len(got), 1, got)
            self.assert_signed(got[0], wh["secret"], ev)
            self.assertEqual(got[0].json()["data"]["webhook_id"],
                             wh["webhook_id"])

    def test_who_gets_what(self):
        """Subscriptions, the test event's one target, webhooks created
        after the event, and other tenants."""
        scans = self.hook(uniq("ok"), events=["scan.completed"])
        exact = self.hook(uniq("ok"), events=["finding.detected"])
        star = self.hook(uniq("ok"), events=["*"])
        _, other_tid = api.new_tenant("deliv-other")
        other_tenant = STACK.query("SELECT name FROM tenants WHERE id = %s"
                                   % q(other_tid))[0][0]
        other_key, _ = api.new_key(other_tenant)
        theirs = self.hook(uniq("ok"), events=["*"], key=other_key)
        self.import_finding(self.tenant)
        ev = STACK.query("SELECT id FROM events WHERE tenant_id = %s "
                         "ORDER BY seq DESC LIMIT 1" % q(self.tenant_id))
        late = self.hook(uniq("ok"), events=["*"])   # after it: misses it
        t = self.fire_test(star["webhook_id"])
        self.once()
        time.sleep(0.3)

        def got(wh):
            path = wh["url"].split(str(RX.port), 1)[1]
            return sorted(r.headers["webhook-id"] for r in RX.requests(path))
        self.assertEqual(got(scans), [])
        self.assertEqual(got(exact), [ev[0][0]])
        self.assertEqual(got(star), sorted([ev[0][0], t]))
        self.assertEqual(got(late), [])
        self.assertEqual(got(theirs), [])
        self.assertEqual(self.deliveries(late["webhook_id"]), [])
        self.assertEqual(STACK.query("SELECT COUNT(*) FROM events WHERE "
                                     "dispatched = 0")[0][0], "0")


    def inject_event(self, minutes):
        """An event of the tenant committed now but stamped `minutes` from
        now, as a scan's events carry their observation time; its id."""
        _n[0] += 1
        evid = "evt_0NJECT%020d" % (os.getpid() * 1000 + _n[0])
        env = {"event_id": evid, "event_type": "finding.detected",
               "tenant_id": self.tenant_id, "timestamp": "x",
               "data": {"finding": {"id": "fnd_x"}}}
        STACK.sql("INSERT INTO events (id, tenant_id, type, created_at, "
                  "payload) VALUES (%s, %s, 'finding.detected', "
                  "UTC_TIMESTAMP() + INTERVAL %d MINUTE, %s)"
                  % (q(evid), q(self.tenant_id), minutes,
                     q(json.dumps(env))), database="vigil")
        return evid

    def last_event(self):
        return STACK.query("SELECT id FROM events WHERE tenant_id = %s "
                           "ORDER BY seq DESC LIMIT 1"
                           % q(self.tenant_id))[0][0]

    def test_new_webhook_boundary(self):
        """A new webhook gets exactly the events committed after it, by
        commit order and not by their timestamps: nothing committed just
        before it (even stamped later), everything right after it (even
        stamped long before, as a long scan's findings are)."""
        self.import_finding(self.tenant)
        just_before = self.last_event()
        stamped_later = self.inject_event(+10)
        wh = self.hook(uniq("ok"), events=["*"])
        self.import_finding(self.tenant)
        right_after = self.last_event()
        stamped_earlier = self.inject_event(-10)
        self.once()
        path = wh["url"].split(str(RX.port), 1)[1]
        got = RX.wait_for(2, path, timeout=10)
        time.sleep(0.3)
        got = sorted(r.headers["webhook-id"] for r in RX.requests(path))
        self.assertEqual(got, sorted([right_after, stamped_earlier]),
                         {"just_before": just_before,
                          "stamped_later": stamped_later})
        self.assertEqual(len(self.deliveries(wh["webhook_id"])), 2)


class T85Retries(DeliveryBase):

    def test_schedule_dead_and_manual_retry(self):
        path = uniq("fail")
        wh = self.hook(path)
        ev = self.fire_test(wh["webhook_id"])
        STACK.spool_start()
        d = self.wait_delivery(wh["webhook_id"], ("dead",), timeout=60)
        got = RX.requests(path)
        self.assertEqual(len(got), 11, got)
        self.assertEqual((d["attempts"], d["last_status_code"],
                          d["next_attempt_at"]), (11, 500, None), d)
        self.assertTrue(d["last_error"].startswith("HTTP 500"), d)
        self.assertEqual({g.headers["webhook-id"] for g in got}, {ev})
        # The gaps follow the schedule (±20 % jitter, plus the poll
        # interval and the attempt itself) where they are long enough to
        # measure.
        for i, want in enumerate(SCHEDULE):
            want *= SCALE
            gap = got[i + 1].t - got[i].t
            if want >= 0.3:
                self.assertGreaterEqual(gap, 0.8 * want - 0.05,
                                        "retry %d" % (i + 1))
                self.assertLessEqual(gap, 1.2 * want + 0.6,
                                     "retry %d" % (i + 1))
        ts = [int(g.headers["webhook-timestamp"]) for g in got]
        self.assertEqual(ts, sorted(ts))
        # Dead-lettered: retried by hand, it is delivered.
        RX.script(path, [200])
        r = self.call("POST", "/deliveries/%s/retry" % d["id"])
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json()["status"], "pending")
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM audit_log WHERE tenant_id = %s AND "
            "action = 'delivery.retry' AND object = %s"
            % (q(self.tenant_id), q(d["id"])))[0][0], "1")
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM audit_log WHERE tenant_id = %s AND "
            "action = 'webhook.test' AND object = %s"
            % (q(self.tenant_id), q(wh["webhook_id"])))[0][0], "1")
        d = self.wait_delivery(wh["webhook_id"], ("succeeded",))
        # the schedule started over
        self.assertEqual((d["attempts"], d["last_status_code"],
                          d["last_error"]), (1, 200, None), d)
        self.assertEqual(len(RX.requests(path)), 12)
        # and its webhook is healthy again
        self.assertEqual(STACK.query(
            "SELECT failing_since IS NULL FROM webhooks WHERE id = %s"
            % q(wh["webhook_id"]))[0][0], "1")

    def test_retry_after(self):
        path = uniq("script")
        RX.script(path, [(429, {"Retry-After": "2"}), 200])
        wh = self.hook(path)
        self.fire_test(wh["webhook_id"])
        STACK.spool_start()
        d = self.wait_delivery(wh["webhook_id"], ("succeeded",))
        got = RX.requests(path)
        self.assertEqual(len(got), 2)
        # the scaled delay would be 3 ms: Retry-After wins
        self.assertGreaterEqual(got[1].t - got[0].t, 1.9)
        self.assertEqual((d["attempts"], d["last_status_code"]), (2, 200))

    def test_network_errors_and_timeouts(self):
        path = uniq("script")
        RX.script(path, ["drop", "hang", 503, 408, 200])
        wh = self.hook(path)
        self.fire_test(wh["webhook_id"])
        STACK.spool_start()
        d = self.wait_delivery(wh["webhook_id"], ("succeeded",), timeout=40)
        got = RX.requests(path)
        self.assertEqual(len(got), 5, got)
        self.assertEqual(d["attempts"], 5)
        # the hung attempt was given up after webhook_timeout_ms (2 s)
        self.assertGreaterEqual(got[2].t - got[1].t, 1.9)
        self.assertLess(got[2].t - got[1].t, 4.0)

    def test_failed_not_retried(self):
        for head, code in (("bad", 400), ("redirect", 302)):
            path = uniq(head)
            wh = self.hook(path)
            self.fire_test(wh["webhook_id"])
            self.once()
            d = self.wait_delivery(wh["webhook_id"], ("failed",))
            self.assertEqual((d["attempts"], d["last_status_code"]),
                             (1, code), d)
            self.once()
            self.assertEqual(len(RX.requests(path)), 1)
            self.assertEqual(RX.requests("/ok/redirected"), [])
            r = self.call("GET", "/webhooks/%s" % wh["webhook_id"])
            self.assertIsNone(r.json().get("disabled_at"), r)


    def test_hostile_answers(self):
        """A 1 MiB answer is cut off at 64 KiB without failing a 2xx; bad
        bytes in an error answer are not stored as they came."""
        big = uniq("big")
        wh = self.hook(big)
        self.fire_test(wh["webhook_id"])
        path = uniq("script")
        RX.script(path, [(400, {}, b"\xff\xfe\x00\x1b[31mboom\r\n"
                          b"X-Injected: 1" + b"A" * 5000)])
        bad = self.hook(path)
        self.fire_test(bad["webhook_id"])
        self.once()
        d = self.wait_delivery(wh["webhook_id"], ("succeeded",))
        self.assertEqual((d["attempts"], d["last_status_code"]), (1, 200))
        d = self.wait_delivery(bad["webhook_id"], ("failed",))
        self.assertEqual((d["attempts"], d["last_status_code"]), (1, 400))
        self.assertTrue(d["last_error"].startswith("HTTP 400: "), d)
        self.assertIn("boom", d["last_error"])
        rows = STACK.query("SELECT HEX(last_error) FROM deliveries WHERE "
                           "id = %s" % q(d["id"]))
        stored = bytes.fromhex(rows[0][0])
        self.assertLessEqual(len(stored), 255)
        self.assertTrue(all(0x20 <= c <= 0x7e for c in stored), stored)


class T86Disable(DeliveryBase):

    def disabled_event(self, wid):
        r = self.call("GET", "/events?type=webhook.disabled&limit=500")
        self.assertEqual(r.status, 200, r)
        return [e for e in r.json()["events"]
                if e["data"]["webhook_id"] == wid]

    def test_410_disables(self):
        watcher = self.hook(uniq("ok"), events=["webhook.disabled"])
        path = uniq("gone")
        wh = self.hook(path)
        self.fire_test(wh["webhook_id"])
        self.once()
        d = self.wait_delivery(wh["webhook_id"], ("failed",))
        self.assertEqual((d["attempts"], d["last_status_code"]), (1, 410))
        r = self.call("GET", "/webhooks/%s" % wh["webhook_id"])
        self.assertIsNotNone(r.json()["disabled_at"], r)
        self.assertIn("410", r.json()["disabled_reason"])
        evs = self.disabled_event(wh["webhook_id"])
        self.assertEqual(len(evs), 1, evs)
        self.assertEqual(evs[0]["data"]["url"], wh["url"])
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM audit_log WHERE tenant_id = %s AND "
            "action = 'webhook.disable' AND object = %s AND actor = "
            "'vigil-spool'" % (q(self.tenant_id), q(wh["webhook_id"])))[0][0],
            "1")
        # the other subscriber is told
        self.once()
        wpath = watcher["url"].split(str(RX.port), 1)[1]
        got = RX.wait_for(1, wpath, timeout=10)
        self.assertEqual([g.json()["event_type"] for g in got],
                         ["webhook.disabled"])
        self.assert_signed(got[0], watcher["secret"],
                           evs[0]["event_id"])
        # its failed delivery cannot be retried while it is disabled
        r = self.call("POST", "/deliveries/%s/retry" % d["id"])
        self.assert_error(r, 409, "conflict", "status")
        # a disabled webhook gets nothing more
        self.fire_test(wh["webhook_id"])
        self.once()
        time.sleep(0.3)
        self.assertEqual(len(RX.requests(path)), 1)
        # Enabled again (admin), it is delivered to; its old failed
        # delivery stays failed.
        RX.script(path, [200])
        ro, _ = api.new_key(self.tenant, "read,write")
        for key, wid, status in ((ro, wh["webhook_id"], 403),
                                 (None, "wh_01JV7QB2C3D4E5F6G7H8J9K000", 404),
                                 (None, "wh_x'OR'1'='1", 404),
                                 (None, watcher["webhook_id"], 200)):
            r = self.call("POST", "/webhooks/%s/enable" % wid, key=key)
            self.assertEqual(r.status, status, r)
        r = self.call("POST", "/webhooks/%s/enable" % wh["webhook_id"])
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.json()["disabled_at"], r)
        self.assertIsNone(r.json()["disabled_reason"], r)
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM audit_log WHERE tenant_id = %s AND "
            "action = 'webhook.enable' AND object = %s"
            % (q(self.tenant_id), q(wh["webhook_id"])))[0][0], "1")
        ev = self.fire_test(wh["webhook_id"])
        self.once()
        got = RX.wait_for(2, path, timeout=10)
        self.assertEqual([g.headers["webhook-id"] for g in got][1:], [ev])
        self.assertEqual(self.deliveries(wh["webhook_id"])[0]["status"],
                         "failed")

    def test_failing_for_too_long(self):
        """webhook_disable_after (5 days; 1 s here) of nothing but
        failures disables the webhook at its next failure; its pending
        deliveries fail with it."""
        conf = alt_conf("slow", webhook_backoff_scale=1,
                        webhook_disable_after=1)
        path = uniq("fail")
        wh = self.hook(path)
        self.fire_test(wh["webhook_id"])
        self.once(conf=conf)
        d = self.wait_delivery(wh["webhook_id"], ("pending",))
        self.assertEqual(d["attempts"], 1)
        # the API shows since when it has been failing
        r = self.call("GET", "/webhooks/%s" % wh["webhook_id"])
        self.assertRegex(r.json()["failing_since"] or "",
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertIsNone(r.json()["disabled_at"])
        time.sleep(2.1)
        # time passes: the retry (30 s away) is due now
        STACK.sql("UPDATE deliveries SET next_attempt_at = "
                  "UTC_TIMESTAMP(3) WHERE webhook_id = %s"
                  % q(wh["webhook_id"]), database="vigil")
        self.once(conf=conf)
        d = self.wait_delivery(wh["webhook_id"], ("failed",))
        self.assertEqual((d["attempts"], d["last_error"]),
                         (2, "webhook disabled"), d)
        r = self.call("GET", "/webhooks/%s" % wh["webhook_id"])
        self.assertIn("failed", r.json()["disabled_reason"])
        self.assertEqual(len(self.disabled_event(wh["webhook_id"])), 1)
        self.assertEqual(len(RX.requests(path)), 2)

    def test_success_keeps_it(self):
        path = uniq("script")
        RX.script(path, [500, 200])
        conf = alt_conf("once1", webhook_disable_after=1)
        wh = self.hook(path)
        self.fire_test(wh["webhook_id"])
        self.once(conf=conf)
        d = self.wait_delivery(wh["webhook_id"], ("succeeded",))
        self.assertEqual(d["attempts"], 2)
        r = self.call("GET", "/webhooks/%s" % wh["webhook_id"])
        self.assertIsNone(r.json()["disabled_at"])
        self.assertIsNone(r.json()["failing_since"])


class T87Safety(DeliveryBase):

    def test_connect_time_refusal(self):
        """Registered while private targets were allowed, refused by a
        spooler that does not allow them (as after a DNS change)."""
        conf = alt_conf("strict", allow_private_targets="false")
        path = uniq("ok")
        wh = self.hook(path)
        host = self.hook(uniq("ok"))
        r = self.call("POST", "/webhooks", {
            "url": "http://localhost:%d%s" % (RX.port, uniq("ok")),
            "events": ["*"]})
        self.assertEqual(r.status, 201, r)
        byname = r.json()
        self.hooks.append(byname["webhook_id"])
        for w in (wh, host, byname):
            self.fire_test(w["webhook_id"])
        self.once(conf=conf)
        for w in (wh, host, byname):
            d = self.wait_delivery(w["webhook_id"], ("failed",))
            self.assertEqual(d["attempts"], 1, d)
            self.assertIsNone(d["last_status_code"], d)
            self.assertIn("refused at connect time", d["last_error"])
        self.assertEqual(RX.requests(path), [])
        self.assertEqual(RX.requests(byname["url"].split(
            str(RX.port), 1)[1]), [])

    def test_https_only(self):
        conf = alt_conf("https", allow_http_webhooks="false")
        path = uniq("ok")
        wh = self.hook(path)
        self.fire_test(wh["webhook_id"])
        self.once(conf=conf)
        d = self.wait_delivery(wh["webhook_id"], ("failed",))
        self.assertEqual(d["attempts"], 1)
        self.assertEqual(RX.requests(path), [])


class T88Spoolers(DeliveryBase):

    def test_deleted_while_pending(self):
        conf = alt_conf("slow2", webhook_backoff_scale=1)
        path = uniq("fail")
        wh = self.hook(path)
        self.fire_test(wh["webhook_id"])
        self.once(conf=conf)
        d = self.wait_delivery(wh["webhook_id"], ("pending",))
        # another delivery of it, claimed by a spooler that then died
        ev2 = self.fire_test(wh["webhook_id"])
        self.once(conf=conf)   # fans it out and attempts it once
        STACK.sql("UPDATE deliveries SET status = 'delivering', "
                  "lease_owner = 'lease_dead', lease_until = "
                  "UTC_TIMESTAMP(3), next_attempt_at = UTC_TIMESTAMP(3) "
                  "WHERE event_id = %s" % q(ev2), database="vigil")
        r = self.call("DELETE", "/webhooks/%s" % wh["webhook_id"])
        self.assertEqual(r.status, 200, r)
        before = len(RX.requests(path))
        self.once()
        time.sleep(0.3)
        self.assertEqual(len(RX.requests(path)), before)
        rows = STACK.query("SELECT id, status, last_error FROM deliveries "
                           "WHERE webhook_id = %s ORDER BY id"
                           % q(wh["webhook_id"]))
        self.assertEqual(len(rows), 2, rows)
        st = {r[0]: (r[1], r[2]) for r in rows}
        self.assertEqual(st[d["id"]], ("failed", "webhook deleted"))
        self.assertEqual([v[0] for v in st.values()], ["failed", "failed"])

    def test_two_spoolers_exactly_once(self):
        path = uniq("ok")
        wh = self.hook(path)
        n = 150
        events = {self.fire_test(wh["webhook_id"]) for _ in range(n)}
        ps = [STACK.spool_once("--concurrency", "8", wait=False)
              for _ in range(2)]
        delivered = 0
        for p in ps:
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)
            m = re.search(r"stopping: (\d+) delivered", err)
            self.assertIsNotNone(m, err)
            delivered += int(m.group(1))
        self.assertEqual(delivered, n)
        got = RX.wait_for(n, path, timeout=10)
        ids = [g.headers["webhook-id"] for g in got]
        self.assertEqual(len(ids), n)
        self.assertEqual(set(ids), events)
        ds = self.deliveries(wh["webhook_id"])
        self.assertEqual(len(ds), n)
        self.assertEqual({(d["status"], d["attempts"]) for d in ds},
                         {("succeeded", 1)})
        # both spoolers delivered (each attempt names its delivery; the
        # two processes' logs both report deliveries)
        self.assertEqual(len({g.headers["x-vigil-delivery"] for g in got}),
                         n)

    def test_expired_lease_first(self):
        """A lease left by a dead spooler is taken before a backlog of
        pending deliveries."""
        backlog = uniq("ok")
        a = self.hook(backlog)
        for _ in range(30):
            self.fire_test(a["webhook_id"])
        lone = uniq("ok")
        b = self.hook(lone)
        ev = self.fire_test(b["webhook_id"])
        self.once()      # fanned out and delivered once
        self.assertEqual(len(RX.wait_for(30, backlog, timeout=10)), 30)
        t0 = time.time()
        # Again: a's 30 due, b's "claimed" by a spooler that died an hour
        # ago.
        STACK.sql("UPDATE deliveries SET status = 'pending', "
                  "next_attempt_at = UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE "
                  "WHERE webhook_id = %s" % q(a["webhook_id"]),
                  database="vigil")
        STACK.sql("UPDATE deliveries SET status = 'delivering', "
                  "lease_owner = 'lease_dead', lease_until = "
                  "UTC_TIMESTAMP(3) - INTERVAL 1 HOUR, next_attempt_at = "
                  "UTC_TIMESTAMP(3) - INTERVAL 1 HOUR WHERE webhook_id = %s"
                  % q(b["webhook_id"]), database="vigil")
        self.once("--concurrency", "1")
        again = [g for g in RX.requests(backlog) if g.t > t0]
        self.assertEqual(len(again), 30)
        took = [g for g in RX.requests(lone) if g.t > t0]
        self.assertEqual([g.headers["webhook-id"] for g in took], [ev])
        self.assertLess(took[0].t, min(g.t for g in again))
        d = self.wait_delivery(b["webhook_id"], ("succeeded",))
        self.assertEqual(d["attempts"], 2)

    def test_sigkill_mid_delivery(self):
        path = uniq("hang")
        wh = self.hook(path)
        ev = self.fire_test(wh["webhook_id"])
        pid = STACK.spool_start("vigil-spool-k")
        got = RX.wait_for(1, path, timeout=10)
        self.assertEqual(len(got), 1)
        STACK.spool_stop("vigil-spool-k", sig=signal.SIGKILL)
        rows = STACK.query("SELECT status, attempts FROM deliveries WHERE "
                           "webhook_id = %s" % q(wh["webhook_id"]))
        self.assertEqual(rows, [["delivering", "1"]])
        self.assertFalse(os.path.exists("/proc/%d" % pid) and
                         "vigil-spool" in open("/proc/%d/cmdline" % pid)
                         .read())
        RX.script(path, [200])
        # Before the lease expires nobody takes it; after, another does.
        self.once()
        self.assertEqual(len(RX.requests(path)), 1)
        time.sleep(3.2)
        self.once()
        d = self.wait_delivery(wh["webhook_id"], ("succeeded",))
        self.assertEqual((d["attempts"], d["last_status_code"]), (2, 200))
        got = RX.requests(path)
        self.assertEqual([g.headers["webhook-id"] for g in got], [ev, ev])

    def test_sigterm_finishes_in_flight(self):
        path = uniq("script")
        RX.script(path, [("delay", 1.0, 200)])
        wh = self.hook(path)
        self.fire_test(wh["webhook_id"])
        STACK.spool_start("vigil-spool-t")
        self.assertEqual(len(RX.wait_for(1, path, timeout=10)), 1)
        rc = STACK.spool_stop("vigil-spool-t")
        self.assertEqual(rc, 0)
        rows = STACK.query("SELECT status, attempts, last_status_code FROM "
                           "deliveries WHERE webhook_id = %s"
                           % q(wh["webhook_id"]))
        self.assertEqual(rows, [["succeeded", "1", "200"]])

    def test_usage(self):
        for args in (["--concurrency", "0"], ["--concurrency", "x"],
                     ["extra"]):
            r = subprocess.run([STACK.vigil_spool_bin, "-c", STACK.conf] +
                               args, capture_output=True, text=True,
                               env=STACK.env(), timeout=30)
            self.assertEqual(r.returncode, 64, r)
        r = subprocess.run([STACK.vigil_spool_bin, "-c",
                            alt_conf("badlease", webhook_lease=1), "--once"],
                           capture_output=True, text=True, env=STACK.env(),
                           timeout=30)
        self.assertEqual(r.returncode, 78, r)
        self.assertIn("webhook_lease", r.stderr)


class T88Fairness(DeliveryBase):

    def test_hanging_receiver_does_not_starve_others(self):
        """One tenant's receivers that hang hold at most three quarters
        of a spooler's slots per webhook and seven eighths per tenant, so
        another tenant's delivery goes out at once, not after the hung
        attempts time out."""
        hung = [self.hook(uniq("hang"), events=["finding.*"])
                for _ in range(2)]
        hung_paths = [h["url"].split(str(RX.port), 1)[1] for h in hung]
        _, b_tid = api.new_tenant("deliv-fair")
        b_name = STACK.query("SELECT name FROM tenants WHERE id = %s"
                             % q(b_tid))[0][0]
        b_key, _ = api.new_key(b_name)
        healthy = self.hook(uniq("ok"), events=["*"], key=b_key)
        b_path = healthy["url"].split(str(RX.port), 1)[1]
        self.import_finding(self.tenant, n=12)     # 24 due deliveries
        # A timeout long enough to tell "at once" from "after it".
        conf = alt_conf("fair", webhook_timeout_ms=6000, webhook_lease=8)
        STACK.spool_start("vigil-spool-fair", conf=conf,
                          args=("--concurrency", "8"))

        def hung_now():
            return [len(RX.requests(p)) for p in hung_paths]
        end = time.time() + 15
        while sum(hung_now()) < 7 and time.time() < end:
            time.sleep(0.05)
        time.sleep(0.5)
        # 8 slots: at most 6 per webhook, 7 for the tenant.
        self.assertEqual(sum(hung_now()), 7, hung_now())
        self.assertLessEqual(max(hung_now()), 6, hung_now())
        t0 = time.time()
        r = self.call("POST", "/webhooks/%s/test" % healthy["webhook_id"],
                      key=b_key)
        self.assertEqual(r.status, 202, r)
        got = RX.wait_for(1, b_path, timeout=15)
        took = time.time() - t0
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0].headers["webhook-id"],
                         r.json()["event_id"])
        # Well inside one attempt timeout (6 s): nothing waited for the
        # hung attempts.
        self.assertLess(took, 3.0, "the other tenant waited %.1f s" % took)
        self.assertEqual(sum(hung_now()), 7, hung_now())


class T89Retention(DeliveryBase):

    def test_prune(self):
        """vigilctl events prune: finished deliveries and the events no
        delivery needs, older than the retention; pending work, recent
        rows, undispatched events and the audit log stay."""
        wh = self.hook(uniq("ok"))
        old_done = self.fire_test(wh["webhook_id"])
        old_pending = self.fire_test(wh["webhook_id"])
        recent = self.fire_test(wh["webhook_id"])
        self.once()
        RX.wait_for(3, wh["url"].split(str(RX.port), 1)[1], timeout=10)
        # a delivery-less old event, and one no spooler has seen yet
        lone = self.fire_test(wh["webhook_id"])
        self.once()
        undispatched = self.fire_test(wh["webhook_id"])
        ids = (old_done, old_pending, lone, undispatched)
        STACK.sql("UPDATE events SET created_at = UTC_TIMESTAMP() - "
                  "INTERVAL 40 DAY WHERE id IN (%s)"
                  % ", ".join(q(i) for i in ids), database="vigil")
        STACK.sql("DELETE FROM deliveries WHERE event_id = %s" % q(lone),
                  database="vigil")
        STACK.sql("UPDATE deliveries SET updated_at = UTC_TIMESTAMP() - "
                  "INTERVAL 40 DAY WHERE event_id IN (%s, %s)"
                  % (q(old_done), q(old_pending)), database="vigil")
        STACK.sql("UPDATE deliveries SET status = 'pending', "
                  "next_attempt_at = UTC_TIMESTAMP(3) + INTERVAL 1 DAY "
                  "WHERE event_id = %s" % q(old_pending), database="vigil")
        audit = STACK.query("SELECT COUNT(*) FROM audit_log")[0][0]
        for bad in (["events"], ["events", "prune", "--days"],
                    ["events", "prune", "--days", "-1"],
                    ["events", "prune", "--days", "x"],
                    ["events", "purge"]):
            r = STACK.vigilctl(*bad, check=False)
            self.assertEqual(r.returncode, 64, (bad, r.stderr))
        r = STACK.vigilctl("events", "prune", "--days", "0")
        self.assertIn("pruned nothing", r.stdout)
        r = STACK.vigilctl("events", "prune", "--days", "30")
        self.assertRegex(r.stdout, r"pruned \d+ deliveries and \d+ events")

        def there(table, col, value):
            return STACK.query("SELECT COUNT(*) FROM %s WHERE %s = %s"
                               % (table, col, q(value)))[0][0] == "1"
        self.assertFalse(there("events", "id", old_done))
        self.assertFalse(there("deliveries", "event_id", old_done))
        self.assertFalse(there("events", "id", lone))
        self.assertTrue(there("events", "id", old_pending))
        self.assertTrue(there("deliveries", "event_id", old_pending))
        self.assertTrue(there("events", "id", recent))
        self.assertTrue(there("deliveries", "event_id", recent))
        self.assertTrue(there("events", "id", undispatched))
        self.assertEqual(STACK.query("SELECT COUNT(*) FROM audit_log")[0][0],
                         audit)
        r = self.call("GET", "/events?type=webhook.test&limit=500")
        seen = {e["event_id"] for e in r.json()["events"]}
        self.assertNotIn(old_done, seen)
        self.assertIn(recent, seen)

