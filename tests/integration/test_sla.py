"""test_sla.py: service-level agreements (README "SLAs"). GET/PUT
/api/v1/sla (defaults, partial updates, the audit entry, hostile input that
changes nothing, scopes, tenants apart); the due date of every open finding
from detection, paused while accepted, snoozed or muted and resumed with the
time that was left, stopped by resolve and restarted by a reopening; the
backfill of findings stored before migration 0034; finding.sla_warning and
finding.sla_breached written exactly once by vigil-scan --due however often
it runs, listed by GET /api/v1/sla/events (cursor) and GET /events; the
overdue and due_before filters of GET /findings with their cursor; and the
time-to-acknowledge and time-to-resolve targets of alerts and cases.

Run by run.py, which sets STACK here (and in the modules used below).
"""

import calendar
import json
import os
import subprocess
import time
import urllib.parse
import unittest

import test_api as api
import test_findings as tf
from test_api import auth, new_key, new_tenant, rfc3339
from test_findings import FBase, db_events, entry, eid, import_findings, q

STACK = None        # a stack.Stack, set by run.py

DEFAULT = {
    "days": {"critical": 7, "high": 30, "medium": 90, "low": 180,
             "info": None},
    "warning_days": 3,
    "alerts": {"acknowledge_hours": {"critical": 1, "high": 4, "medium": 24,
                                     "low": 72, "info": None},
               "resolve_hours": {"critical": 24, "high": 72, "medium": 168,
                                 "low": 336, "info": None}},
    "cases": {"acknowledge_hours": {"critical": 1, "high": 4, "medium": 24,
                                    "low": 72, "info": None},
              "resolve_hours": {"critical": 72, "high": 168, "medium": 720,
                                "low": 2160, "info": None}},
}
DAY = 86400


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


def ts(s):
    """Epoch seconds of an RFC 3339 UTC timestamp or a SQL DATETIME."""
    s = s.replace("T", " ").replace("Z", "")
    return calendar.timegm(time.strptime(s, "%Y-%m-%d %H:%M:%S"))


def sqltime(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def sla_row(tenant_id, fid):
    """(state, due_at epoch or None, sla_left_s or None, warned, breached,
    detected_at epoch) as the database has them."""
    r = STACK.query("SELECT state, IFNULL(due_at, 'NULL'), "
                    "IFNULL(sla_left_s, 'NULL'), sla_warned, sla_breached, "
                    "detected_at FROM findings WHERE tenant_id = %s AND "
                    "id = %s" % (q(tenant_id), q(fid)))[0]
    return (r[0], None if r[1] == "NULL" else ts(r[1]),
            None if r[2] == "NULL" else int(r[2]), int(r[3]), int(r[4]),
            ts(r[5]))


def make_due(tenant_id, fid, seconds_from_now):
    """Move a finding's due date (and the job's next look) as if its time
    had passed: what the clock would do in seconds_from_now days."""
    STACK.sql("UPDATE findings SET due_at = UTC_TIMESTAMP() + INTERVAL %d "
              "SECOND, sla_next_at = UTC_TIMESTAMP() + INTERVAL %d SECOND "
              "WHERE tenant_id = %s AND id = %s" % (
                  seconds_from_now, seconds_from_now, q(tenant_id), q(fid)),
              database="vigil")


def run_job():
    p = STACK.scan("--due")
    assert p.returncode == 0, p.stderr
    return p


def sla_events(tenant_id, fid=None):
    """[(type, envelope)] of the tenant's SLA events in outbox order."""
    return [(t, e) for t, e in db_events(tenant_id, fid)
            if t.startswith("finding.sla_")]


class SBase(FBase):
    def base(self):
        return STACK.urls()["nginx"]

    def assert_due_counts(self):
        """finding_due_counts, kept by triggers, equals a recount."""
        t = q(self.tenant_id)
        self.assertEqual(
            STACK.query("SELECT due_day, severity, n FROM finding_due_counts"
                        " WHERE tenant_id = %s AND n <> 0 ORDER BY 1, 2" % t),
            STACK.query("SELECT DATE(due_at), severity, COUNT(*) FROM "
                        "findings WHERE tenant_id = %s AND due_at IS NOT "
                        "NULL GROUP BY 1, 2 ORDER BY 1, 2" % t))

    def sla(self, method="GET", body=None, key=None, path=""):
        return api.request(self.base(), method, "/api/v1/sla" + path, body,
                           auth(key or self.key))

    def put_ok(self, body):
        r = self.sla("PUT", body)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def finding(self, fid, key=None):
        return self.get(self.base(), fid, key)


class T150SlaPolicy(SBase):
    def test_1_defaults_and_partial_put(self):
        r = self.sla()
        self.assertEqual(r.status, 200, r)
        self.assert_common_headers(r)
        body = r.json()
        self.assertIsNone(body.pop("updated_at"))
        self.assertEqual(body, DEFAULT)
        before = len(tf.db_audit(self.tenant_id))
        after = self.put_ok({"days": {"high": 14, "info": 365},
                             "warning_days": 5,
                             "cases": {"resolve_hours": {"low": None}}})
        self.assertEqual(after["days"], {"critical": 7, "high": 14,
                                         "medium": 90, "low": 180,
                                         "info": 365})
        self.assertEqual(after["warning_days"], 5)
        self.assertIsNone(after["cases"]["resolve_hours"]["low"])
        self.assertEqual(after["alerts"], DEFAULT["alerts"])
        self.assertRegex(after["updated_at"], api.TS_RE)
        # Kept, and another PUT changes only what it names.
        self.assertEqual(self.sla().json(), after)
        again = self.put_ok({"warning_days": 0})
        self.assertEqual(again["days"], after["days"])
        self.assertEqual(again["warning_days"], 0)
        aud = tf.db_audit(self.tenant_id)
        self.assertEqual(len(aud), before + 2)
        self.assertEqual(aud[-1][2], "sla.update")
        self.assertEqual(aud[-1][4]["warning_days"], 0)
        self.assertEqual(aud[-1][1], "key:" + self.key_id)

    def test_2_hostile_input_changes_nothing(self):
        self.put_ok({"days": {"critical": 5}})
        stored = self.sla().json()
        n_audit = len(tf.db_audit(self.tenant_id))
        bad = [
            ({}, "body"),
            ({"days": {"critical": "7"}}, "days.critical"),
            ({"days": {"critical": 7.5}}, "days.critical"),
            ({"days": {"critical": True}}, "days.critical"),
            ({"days": {"critical": 0}}, "days.critical"),
            ({"days": {"critical": 3651}}, "days.critical"),
            ({"days": {"critical": 2 ** 63}}, "days.critical"),
            ({"days": {"urgent": 1}}, "days.urgent"),
            ({"days": {"x'; DROP TABLE findings; --": 1}},
             "days.x'; DROP TABLE findings; --"),
            ({"days": None}, "days"),
            ({"days": [7]}, "days"),
            ({"warning_days": -1}, "warning_days"),
            ({"warning_days": "3; DELETE FROM sla_policies"},
             "warning_days"),
            ({"alerts": {"acknowledge_hours": {"high": 8761}}},
             "alerts.acknowledge_hours.high"),
            ({"cases": {"respond": {}}}, "cases.respond"),
            ({"tenant_id": "tnt_x"}, "tenant_id"),
            ({"days": {"critical": 1}, "days ": 2}, "days "),
        ]
        for body, field in bad:
            with self.subTest(body=body):
                r = self.sla("PUT", body)
                self.assert_error(r, 400, "invalid_request", field)
        raw = [
            (b'{"days": {"critical": 1}, "days": {"critical": 2}}', "days"),
            (b'{"warning_days": 1', "body"),
            (b'{"warning_days": "\xff\xfe"}', "body"),
            (b'[1, 2]', "body"),
        ]
        for body, field in raw:
            with self.subTest(body=body):
                r = api.request(self.base(), "PUT", "/api/v1/sla", body, {
                    **auth(self.key), "Content-Type": "application/json"})
                self.assert_error(r, 400, "invalid_request", field)
        # Over the 1 MiB every body is held to.
        huge = {"days": {"critical": 1}, "pad": "x" * (1100 * 1024)}
        r = self.sla("PUT", huge)
        self.assert_error(r, 413, "payload_too_large")
        r = api.request(self.base(), "PUT", "/api/v1/sla", "days=1",
                        {**auth(self.key), "Content-Type": "text/plain"})
        self.assertEqual(r.status, 415, r)
        r = api.request(self.base(), "PUT", "/api/v1/sla?x=1",
                        {"warning_days": 1}, auth(self.key))
        self.assert_error(r, 400, "invalid_request", "x")
        r = api.request(self.base(), "GET", "/api/v1/sla?days=1",
                        headers=auth(self.key))
        self.assert_error(r, 400, "invalid_request", "days")
        self.assertEqual(self.sla().json(), stored)
        self.assertEqual(len(tf.db_audit(self.tenant_id)), n_audit)

    def test_3_scopes_and_tenants(self):
        # PUT needs admin; GET needs read.
        r = self.sla("PUT", {"warning_days": 9}, key=self.wkey)
        self.assert_error(r, 403, "insufficient_scope")
        admin_only, _ = new_key(self.tenant, "admin")
        r = self.sla(key=admin_only)
        self.assert_error(r, 403, "insufficient_scope")
        r = self.sla(key=self.wkey)
        self.assertEqual(r.status, 200, r)
        # Another tenant's policy is its own.
        other, _ = new_tenant("slaother")
        okey, _ = new_key(other)
        self.put_ok({"days": {"low": 11}})
        r = self.sla(key=okey)
        self.assertEqual(r.json()["days"]["low"], 180)
        r = self.sla("PUT", {"days": {"low": 12}}, key=okey)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.sla().json()["days"]["low"], 11)


class T151DueDates(SBase):
    def test_1_from_detection_by_severity(self):
        ids = self.fresh("critical", "high", "medium", "low", "info")
        days = dict(zip(ids, (7, 30, 90, 180, None)))
        for fid in ids:
            f = self.finding(fid)
            state, due, left, _, _, det = sla_row(self.tenant_id, fid)
            if days[fid] is None:
                self.assertIsNone(f["due_at"])
                self.assertIsNone(due)
                self.assertFalse(f["overdue"])
                continue
            self.assertEqual(due, det + days[fid] * DAY)
            self.assertEqual(ts(f["due_at"]), due)
            self.assertFalse(f["overdue"])
            self.assertIsNone(left)
        # In the list too.
        listed = {f["id"]: f for f in self.list(self.base(),
                                                "limit=500")["findings"]}
        for fid in ids:
            self.assertIn("due_at", listed[fid])
            self.assertEqual(listed[fid]["due_at"],
                             self.finding(fid)["due_at"])

    def test_2_paused_while_accepted_and_snoozed(self):
        a, s = self.fresh("high", "high")
        due_a = sla_row(self.tenant_id, a)[1]
        r = self.act(self.base(), a, "accept", {"justification": "later"})
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(self.finding(a)["due_at"])
        state, due, left, _, _, _ = sla_row(self.tenant_id, a)
        self.assertEqual((state, due), ("accepted", None))
        self.assertAlmostEqual(left, due_a - time.time(), delta=5)
        # An acceptance that ran out (vigilctl findings expire, from cron):
        # open again with the time that was left, not a new clock.
        time.sleep(2)
        STACK.sql("UPDATE findings SET accepted_until = UTC_TIMESTAMP() - "
                  "INTERVAL 1 SECOND WHERE tenant_id = %s AND id = %s" % (
                      q(self.tenant_id), q(a)), database="vigil")
        STACK.vigilctl("findings", "expire")
        state, due, _, _, _, _ = sla_row(self.tenant_id, a)
        self.assertEqual(state, "open")
        self.assertAlmostEqual(due, time.time() + left, delta=5)
        self.assertGreaterEqual(due, due_a + 1)
        self.assertEqual(ts(self.finding(a)["due_at"]), due)
        # Snoozed: paused; snoozed again: still paused with the same time.
        due_s = sla_row(self.tenant_id, s)[1]
        r = self.act(self.base(), s, "snooze", {"days": 3})
        self.assertEqual(r.status, 200, r)
        _, due, left, _, _, _ = sla_row(self.tenant_id, s)
        self.assertIsNone(due)
        r = self.act(self.base(), s, "snooze", {"days": 5})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(sla_row(self.tenant_id, s)[2], left)
        self.assertAlmostEqual(left, due_s - time.time(), delta=5)
        # Accepted from snoozed: still the same pause.
        r = self.act(self.base(), s, "accept", {"justification": "x"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(sla_row(self.tenant_id, s)[2], left)

    def test_3_resolve_stops_reopen_restarts(self):
        e = entry("critical")
        import_findings(self.tenant, [e], reconcile=False)
        fid = eid(e)
        make_due(self.tenant_id, fid, -3600)
        run_job()
        self.assertEqual(sla_row(self.tenant_id, fid)[4], 1)
        r = self.act(self.base(), fid, "resolve", {})
        self.assertEqual(r.status, 200, r)
        state, due, left, _, _, _ = sla_row(self.tenant_id, fid)
        self.assertEqual((state, due, left), ("resolved", None, None))
        self.assertIsNone(self.finding(fid)["due_at"])
        # Seen again: reopened, a new clock from now, nothing announced.
        import_findings(self.tenant, [e], reconcile=False)
        state, due, left, warned, breached, _ = sla_row(self.tenant_id, fid)
        self.assertEqual(state, "open")
        self.assertAlmostEqual(due, time.time() + 7 * DAY, delta=10)
        self.assertEqual((warned, breached), (0, 0))
        # Dismissed: no due date.
        r = self.act(self.base(), fid, "dismiss", {"reason": "test"})
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(sla_row(self.tenant_id, fid)[1])
        self.assert_due_counts()

    def test_4_policy_applies_from_then_on(self):
        old = self.fresh("medium")
        due_old = sla_row(self.tenant_id, old)[1]
        self.put_ok({"days": {"medium": 10, "info": 2}})
        new, info = self.fresh("medium", "info")
        self.assertEqual(sla_row(self.tenant_id, old)[1], due_old)
        _, due, _, _, _, det = sla_row(self.tenant_id, new)
        self.assertEqual(due, det + 10 * DAY)
        _, due, _, _, _, det = sla_row(self.tenant_id, info)
        self.assertEqual(due, det + 2 * DAY)
        # Rescored by a later import: moved by the difference of days.
        e = entry("medium")
        import_findings(self.tenant, [e], reconcile=False)
        _, due_m, _, _, _, _ = sla_row(self.tenant_id, eid(e))
        e["severity"] = "high"
        import_findings(self.tenant, [e], reconcile=False)
        _, due_h, _, _, _, _ = sla_row(self.tenant_id, eid(e))
        self.assertAlmostEqual(due_h - due_m, (30 - 10) * DAY, delta=5)
        self.assert_due_counts()

    def test_5_other_tenant_and_bad_ids(self):
        fid = self.fresh("high")
        other, _ = new_tenant("slaoth2")
        okey, _ = new_key(other)
        r = api.request(self.base(), "GET", "/api/v1/findings/" + fid,
                        headers=auth(okey))
        self.assertEqual(r.status, 404, r)
        ids = [f["id"] for f in api.request(
            self.base(), "GET", "/api/v1/findings?overdue=false&limit=500",
            headers=auth(okey)).json()["findings"]]
        self.assertNotIn(fid, ids)


class T152Job(SBase):
    def test_1_breach_exactly_once(self):
        fid = self.fresh("high")
        make_due(self.tenant_id, fid, -60)
        run_job()
        run_job()
        evs = sla_events(self.tenant_id, fid)
        self.assertEqual([t for t, _ in evs], ["finding.sla_breached"])
        env = evs[0][1]
        self.assertEqual(env["data"]["finding"]["id"], fid)
        self.assertEqual(env["data"]["due_at"],
                         env["data"]["finding"]["due_at"])
        self.assertLessEqual(env["data"]["days_left"], 0)
        self.assertEqual(sla_row(self.tenant_id, fid)[3:5], (1, 1))
        # A breached finding paused and resumed late is not announced
        # again (once per detection or reopening).
        r = self.act(self.base(), fid, "snooze", {"days": 1})
        self.assertEqual(r.status, 200, r)
        STACK.sql("UPDATE findings SET snoozed_until = UTC_TIMESTAMP() - "
                  "INTERVAL 1 SECOND WHERE tenant_id = %s AND id = %s" % (
                      q(self.tenant_id), q(fid)), database="vigil")
        STACK.vigilctl("findings", "expire")
        f = self.finding(fid)
        self.assertEqual(f["state"], "open")
        self.assertTrue(f["overdue"])
        run_job()
        self.assertEqual(len(sla_events(self.tenant_id, fid)), 1)
        # GET /events has it, and GET /sla/events lists it.
        r = api.request(self.base(), "GET",
                        "/api/v1/events?type=finding.sla_breached",
                        headers=auth(self.key))
        self.assertEqual(r.status, 200, r)
        self.assertEqual([e["data"]["finding"]["id"]
                          for e in r.json()["events"]], [fid])
        r = self.sla(path="/events")
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["total"], 1)
        self.assertEqual(body["events"][0]["finding_id"], fid)
        self.assertEqual(body["events"][0]["event_type"],
                         "finding.sla_breached")
        self.assertEqual(body["events"][0]["event_id"], env["event_id"])
        self.assertEqual(body["events"][0]["severity"], "high")

    def test_2_warning_then_breach(self):
        self.put_ok({"warning_days": 10, "days": {"critical": 5}})
        fid = self.fresh("critical")
        run_job()
        run_job()
        evs = sla_events(self.tenant_id, fid)
        self.assertEqual([t for t, _ in evs], ["finding.sla_warning"])
        # Whole days, truncated: 5 days less the seconds the job took.
        self.assertIn(evs[0][1]["data"]["days_left"], (4, 5))
        make_due(self.tenant_id, fid, -5)
        run_job()
        run_job()
        self.assertEqual([t for t, _ in sla_events(self.tenant_id, fid)],
                         ["finding.sla_warning", "finding.sla_breached"])
        # A finding already past due gets its breach, not a late warning.
        late = self.fresh("critical")
        make_due(self.tenant_id, late, -5)
        run_job()
        self.assertEqual([t for t, _ in sla_events(self.tenant_id, late)],
                         ["finding.sla_breached"])
        # No warning when warning_days is 0.
        self.put_ok({"warning_days": 0})
        quiet = self.fresh("critical")
        run_job()
        self.assertEqual(sla_events(self.tenant_id, quiet), [])

    def test_3_events_page_and_tenants(self):
        ids = self.fresh("low", "low", "low")
        for fid in ids:
            make_due(self.tenant_id, fid, -120)
        run_job()
        seen, cursor, total = [], None, None
        for _ in range(50):
            path = "/events?limit=1" + ("&cursor=" + cursor if cursor
                                        else "")
            r = self.sla(path=path)
            self.assertEqual(r.status, 200, r)
            body = r.json()
            total = body["total"]
            seen += [e["event_id"] for e in body["events"]]
            if not body["has_more"]:
                self.assertIsNone(body["next_cursor"])
                break
            cursor = body["next_cursor"]
        # Every SLA event of the tenant once, newest first (the class's
        # other tests made some too).
        want = [e["event_id"] for _, e in sla_events(self.tenant_id)]
        self.assertEqual(seen, want[::-1])
        self.assertEqual(total, len(want))
        for fid in ids:
            self.assertEqual([t for t, _ in sla_events(self.tenant_id, fid)],
                             ["finding.sla_breached"])
        other, _ = new_tenant("slaoth3")
        okey, _ = new_key(other)
        r = self.sla(path="/events", key=okey)
        self.assertEqual(r.json()["total"], 0)
        self.assertEqual(r.json()["events"], [])
        for bad, field in (("limit=0", "limit"), ("limit=abc", "limit"),
                           ("cursor=%27%3B--", "cursor"),
                           ("cursor=s-1", "cursor"), ("type=x", "type")):
            r = self.sla(path="/events?" + bad)
            self.assert_error(r, 400, "invalid_request", field)
        r = api.request(self.base(), "GET", "/api/v1/sla/events", {},
                        auth(self.key))
        self.assert_error(r, 400, "invalid_request", "body")


class T153Filters(SBase):
    def test_1_overdue_and_due_before(self):
        late1, late2, soon, later = self.fresh("high", "low", "medium",
                                               "critical")
        make_due(self.tenant_id, late1, -2 * DAY)
        make_due(self.tenant_id, late2, -DAY)
        make_due(self.tenant_id, soon, 2 * DAY)
        # accepted: no due date, never listed
        paused = self.fresh("high")
        make_due(self.tenant_id, paused, -3 * DAY)
        self.act(self.base(), paused, "accept", {"justification": "x"})
        body = self.list(self.base(), "overdue=true")
        self.assertEqual([f["id"] for f in body["findings"]], [late1, late2])
        self.assertEqual(body["total"], 2)
        self.assertTrue(all(f["overdue"] for f in body["findings"]))
        body = self.list(self.base(), "overdue=true&severity=low")
        self.assertEqual([f["id"] for f in body["findings"]], [late2])
        self.assertEqual(body["total"], 1)
        # category, subscription_id, environment: the statements that
        # read the rows.
        body = self.list(self.base(), "overdue=true&category=network&"
                         "subscription_id=sub-a&environment=PROD")
        self.assertEqual([f["id"] for f in body["findings"]], [late1, late2])
        self.assertEqual(body["total"], 2)
        body = self.list(self.base(), "overdue=true&category=storage")
        self.assertEqual((body["findings"], body["total"]), ([], 0))
        body = self.list(self.base(), "overdue=true&environment=DEV&"
                         "severity=high,low")
        self.assertEqual(body["total"], 0)
        body = self.list(self.base(), "overdue=false&limit=500")
        ids = [f["id"] for f in body["findings"]]
        self.assertEqual(ids[:2], [soon, later])
        self.assertNotIn(late1, ids)
        when = urllib.parse.quote(rfc3339(time.time() + 3 * DAY))
        body = self.list(self.base(), "due_before=" + when)
        self.assertEqual([f["id"] for f in body["findings"]],
                         [late1, late2, soon])
        body = self.list(self.base(), "due_before=%s&overdue=false" % when)
        self.assertEqual([f["id"] for f in body["findings"]], [soon])
        body = self.list(self.base(), "due_before=%s&state=open" % when)
        self.assertEqual(body["total"], 3)
        # Pages of one, through the cursor, in due order.
        self.assertEqual(self.list_all(self.base(),
                                       "due_before=%s&limit=1" % when),
                         [late1, late2, soon])
        # Resolved: off the list at once.
        self.act(self.base(), late1, "resolve", {})
        body = self.list(self.base(), "overdue=true")
        self.assertEqual([f["id"] for f in body["findings"]], [late2])
        self.assertEqual(body["total"], 1)
        self.assert_due_counts()

    def test_3_totals_across_days(self):
        """The totals come from the kept day counts plus the bound's own
        day: each equals a recount, with bounds inside a day, on its
        midnight, and across days, for every filter."""
        ids = self.fresh("high", "high", "low", "critical", "medium",
                         "high", "low")
        offsets = [-3 * DAY - 7, -DAY, -60, 60, 5 * 3600, 3 * DAY + 11,
                   40 * DAY]
        for fid, off in zip(ids, offsets):
            make_due(self.tenant_id, fid, off)
        self.assert_due_counts()
        now = time.time()
        midnight = now - now % DAY
        t = q(self.tenant_id)

        def recount(lo, hi, sev=None):
            w = ["tenant_id = %s" % t, "due_at IS NOT NULL",
                 "state = 'open'"]
            if lo is not None:
                w.append("due_at >= '%s'" % sqltime(lo))
            if hi is not None:
                w.append("due_at < '%s'" % sqltime(hi))
            if sev:
                w.append("severity = %s" % q(sev))
            return int(STACK.query("SELECT COUNT(*) FROM findings WHERE " +
                                   " AND ".join(w))[0][0])

        cases = [
            ("overdue=true", None, int(now) + 1, None),
            ("overdue=false", int(now) + 1, None, None),
            ("overdue=true&severity=high", None, int(now) + 1, "high"),
            ("due_before=" + rfc3339(midnight), None, int(midnight),
             None),
            ("due_before=" + rfc3339(midnight + DAY), None,
             int(midnight + DAY), None),
            ("due_before=" + rfc3339(now + 2 * 3600), None,
             int(now + 2 * 3600), None),
            ("due_before=%s&overdue=false" % rfc3339(now + 4 * DAY),
             int(now) + 1, int(now + 4 * DAY), None),
            ("due_before=%s&overdue=false&severity=low" % rfc3339(
                now + 60 * DAY), int(now) + 1, int(now + 60 * DAY),
             "low"),
        ]
        # An empty range: not yet due, and due before a time now past.
        cases.append(("due_before=%s&overdue=false" % rfc3339(
            now - 2 * DAY), int(now) + 1, int(now - 2 * DAY), None))
        for qs, lo, hi, sev in cases:
            with self.subTest(qs=qs):
                body = self.list(self.base(), qs.replace(
                    "+", "%2B") + "&limit=2")
                self.assertEqual(body["total"], recount(lo, hi, sev))

    def test_2_bad_parameters(self):
        self.fresh("high")
        bad = [("overdue=yes", "overdue"), ("overdue=", "overdue"),
               ("overdue=TRUE", "overdue"),
               ("due_before=tomorrow", "due_before"),
               ("due_before=2026-13-01T00:00:00Z", "due_before"),
               ("due_before=%27%20OR%201%3D1%20--", "due_before"),
               ("overdue=true&state=resolved", "state"),
               ("overdue=true&state=all", "state"),
               ("overdue=true&tag=env:x", "overdue"),
               ("due_before=2030-01-01T00:00:00Z&since=2020-01-01T00:00:00Z",
                "due_before"),
               ("overdue=true&region=westeurope", "overdue"),
               ("overdue=true&cursor=s5", "cursor"),
               ("overdue=true&cursor=d1.", "cursor"),
               ("overdue=true&cursor=d99999999999999.1", "cursor"),
               ("overdue=true&cursor=d1.1%27", "cursor"),
               ("overdue=true&overdue=false", "overdue"),
               ("overdue=%ff", "query")]
        for qs, field in bad:
            with self.subTest(qs=qs):
                r = api.request(self.base(), "GET", "/api/v1/findings?" + qs,
                                headers=auth(self.key))
                self.assertEqual(r.status, 400, r)
                e = r.json()["error"]
                self.assertEqual(e["code"], "invalid_request", r)
                if field != "query":
                    self.assertEqual(e["details"].get("field"), field, r)


class T154ResponseTargets(SBase):
    def alert(self, **kw):
        import test_alerts
        test_alerts.STACK = STACK
        r = api.request(self.base(), "POST", "/api/v1/alerts",
                        test_alerts.alert(**kw), auth(self.wkey))
        self.assertIn(r.status, (200, 201), r)
        return r.json()["id"]

    def test_1_alert(self):
        aid = self.alert(severity="critical")
        r = api.request(self.base(), "GET", "/api/v1/alerts/" + aid,
                        headers=auth(self.key))
        self.assertEqual(r.status, 200, r)
        a = r.json()
        s = a["sla"]
        self.assertEqual(ts(s["acknowledge_by"]), ts(a["ingested_at"]) + 3600)
        self.assertEqual(ts(s["resolve_by"]), ts(a["ingested_at"]) + 86400)
        self.assertFalse(s["acknowledge_breached"])
        self.assertIsNone(s["acknowledged_at"])
        # Ingested three hours ago and still in triage: acknowledge late.
        STACK.sql("UPDATE alerts SET ingested_at = ingested_at - INTERVAL 3 "
                  "HOUR WHERE tenant_id = %s AND id = %s" % (
                      q(self.tenant_id), q(aid)), database="vigil")
        s = api.request(self.base(), "GET", "/api/v1/alerts/" + aid,
                        headers=auth(self.key)).json()["sla"]
        self.assertTrue(s["acknowledge_breached"])
        self.assertFalse(s["resolve_breached"])
        # Assigned: acknowledged now, late; the breach stays visible.
        r = api.request(self.base(), "PATCH", "/api/v1/alerts/" + aid,
                        {"assignee": "jane@example.com"}, auth(self.wkey))
        self.assertEqual(r.status, 200, r)
        s = api.request(self.base(), "GET", "/api/v1/alerts/" + aid,
                        headers=auth(self.key)).json()["sla"]
        self.assertRegex(s["acknowledged_at"], api.TS_RE)
        self.assertTrue(s["acknowledge_breached"])
        # The tenant's policy decides: no target for critical alerts.
        self.put_ok({"alerts": {"acknowledge_hours": {"critical": None}}})
        s = api.request(self.base(), "GET", "/api/v1/alerts/" + aid,
                        headers=auth(self.key)).json()["sla"]
        self.assertIsNone(s["acknowledge_by"])
        self.assertFalse(s["acknowledge_breached"])
        # Another tenant's alert is 404.
        other, _ = new_tenant("slaoth4")
        okey, _ = new_key(other)
        r = api.request(self.base(), "GET", "/api/v1/alerts/" + aid,
                        headers=auth(okey))
        self.assertEqual(r.status, 404, r)

    def test_2_case(self):
        r = api.request(self.base(), "POST", "/api/v1/cases",
                        {"title": "Beacon", "severity": "high"},
                        auth(self.wkey))
        self.assertEqual(r.status, 201, r)
        cid = r.json()["case_id"]
        c = api.request(self.base(), "GET", "/api/v1/cases/" + cid,
                        headers=auth(self.key)).json()
        self.assertEqual(ts(c["sla"]["acknowledge_by"]),
                         ts(c["created_at"]) + 4 * 3600)
        self.assertEqual(ts(c["sla"]["resolve_by"]),
                         ts(c["created_at"]) + 168 * 3600)
        STACK.sql("UPDATE cases SET created_at = created_at - INTERVAL 8 DAY "
                  "WHERE tenant_id = %s AND id = %s" % (
                      q(self.tenant_id), q(cid)), database="vigil")
        c = api.request(self.base(), "GET", "/api/v1/cases/" + cid,
                        headers=auth(self.key)).json()
        self.assertTrue(c["sla"]["acknowledge_breached"])
        self.assertTrue(c["sla"]["resolve_breached"])
        r = api.request(self.base(), "POST", "/api/v1/cases/%s/resolve" % cid,
                        {"verdict": "benign"}, auth(self.wkey))
        self.assertEqual(r.status, 200, r)
        c = api.request(self.base(), "GET", "/api/v1/cases/" + cid,
                        headers=auth(self.key)).json()
        self.assertEqual(c["sla"]["resolved_at"], c["resolved_at"])
        self.assertEqual(c["sla"]["acknowledged_at"], c["resolved_at"])
        self.assertTrue(c["sla"]["resolve_breached"])


class T155Backfill(SBase):
    def test_backfill_gives_existing_findings_a_due_date(self):
        """Findings stored before 0034 (their SLA columns empty): running
        the migration again fills them, without events for what is late."""
        ontime, late, acc = self.fresh("high", "critical", "medium")
        self.act(self.base(), acc, "accept", {"justification": "x"})
        STACK.sql("UPDATE findings SET detected_at = detected_at - INTERVAL "
                  "10 DAY WHERE tenant_id = %s AND id = %s" % (
                      q(self.tenant_id), q(late)), database="vigil")
        STACK.sql("UPDATE findings SET due_at = NULL, sla_left_s = NULL, "
                  "sla_next_at = NULL, sla_warned = 0, sla_breached = 0 "
                  "WHERE tenant_id = %s" % q(self.tenant_id),
                  database="vigil")
        path = os.path.join(STACK.srcdir, "db", "migrations", "0034_sla.sql")
        with open(path, "rb") as f:
            sql = f.read()
        sock = STACK.db_sock
        p = subprocess.run(["mariadb", "--no-defaults", "-S", sock, "-uroot",
                            "vigil"], input=sql, capture_output=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        # 0034 puts back its separate due-count triggers, which 0048
        # merged: vigilctl migrate runs 0048 after it, and 0055 to 0058,
        # which restate the merged ones with their counts, as the stack's
        # user (0055, 0056 and 0058 create the batch procedures, whose
        # definer test_grants checks).
        STACK.sql("DELETE FROM schema_migrations WHERE version = '0048'",
                  database="vigil")
        r = STACK.vigilctl("migrate")
        for name in ("0048_one_trigger_per_event.sql",
                     "0055_finding_meta_counts.sql",
                     "0056_finding_tags_state.sql",
                     "0057_findings_triggers_lean.sql",
                     "0058_count_rows_pruned.sql"):
            self.assertIn(name, r.stdout)
        _, due, _, w, b, det = sla_row(self.tenant_id, ontime)
        self.assertEqual(due, det + 30 * DAY)
        self.assertEqual((w, b), (0, 0))
        _, due, _, w, b, det = sla_row(self.tenant_id, late)
        self.assertEqual(due, det + 7 * DAY)
        self.assertEqual((w, b), (1, 1))
        self.assertTrue(self.finding(late)["overdue"])
        _, due, left, _, _, _ = sla_row(self.tenant_id, acc)
        self.assertIsNone(due)
        self.assertGreater(left, 89 * DAY)
        run_job()
        self.assertEqual(sla_events(self.tenant_id), [])
        self.assert_due_counts()


if __name__ == "__main__":
    unittest.main()
