"""test_alerts.py: the Alerts API (ingest, one and batch; the ingest
scope and its limit; list, get, PATCH, dismiss, history), against a
running private stack.

Run by run.py, which sets STACK and WORKERS here too. Every response is
recorded and held against doc/openapi.json by T79AlertsOpenApi, which runs
last in this module.
"""

import concurrent.futures
import hashlib
import itertools
import json
import os
import random
import re
import threading
import time
import unittest

import test_api as api
import test_batchrows as tbr
from test_api import (Base, OpenApi, auth, from_vigil, new_key, new_tenant,
                      rfc3339, MIB, SQL_EVIL, TS_RE)

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4         # the pool's --workers, set by run.py

ALERT_ID_RE = re.compile(r"^alert_[0-7][0-9A-HJKMNP-TV-Z]{25}$")
_seq = itertools.count(1)

AOBSERVED = []
_aobs_lock = threading.Lock()


def setUpModule():
    global STACK, WORKERS
    if STACK is None:
        STACK = api.STACK
        WORKERS = api.WORKERS
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")


def request(base, method, path, body=None, headers=None, **kw):
    r = api.request(base, method, path, body, headers, **kw)
    with _aobs_lock:
        AOBSERVED.append((method, path, r))
    return r


def q(s):
    assert "'" not in s and "\\" not in s, s
    return "'%s'" % s


def alert(**kw):
    """A valid alert body with a fresh external_id."""
    n = next(_seq)
    a = {"source": "crowdstrike",
         "external_id": "falcon-%d-%d-%d" % (os.getpid(), n,
                                             int(time.time() * 1000)),
         "severity": "high",
         "title": "Suspicious PowerShell on WS-%03d" % (n % 1000),
         "detected_at": "2026-06-02T09:14:00Z",
         "asset": {"hostname": "WS-042", "owner": "jane@example.com"},
         "observables": [{"type": "ip", "value": "203.0.113.4"},
                         {"type": "hash",
                          "value": "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"}],
         "raw": {"event_simpleName": "ProcessRollup2", "n": n,
                 "CommandLine": "powershell -enc SQBFAFgA"}}
    a.update(kw)
    return a


def alert_rows(tenant_id, where="1"):
    return STACK.query(
        "SELECT id, source, external_id, severity, title, status, "
        "occurrences, detected_at, ingested_at, last_seen_at, raw_truncated "
        "FROM alerts WHERE tenant_id = %s AND %s ORDER BY seq"
        % (q(tenant_id), where))


def count(table, tenant_id, where="1"):
    return int(STACK.query("SELECT COUNT(*) FROM %s WHERE tenant_id = %s "
                           "AND %s" % (table, q(tenant_id), where))[0][0])


def unhex(h):
    return bytes.fromhex(h).decode("utf-8")


def events_of(tenant_id, type_):
    return [json.loads(unhex(r[0])) for r in STACK.query(
        "SELECT HEX(payload) FROM events WHERE tenant_id = %s AND type = %s "
        "ORDER BY seq" % (q(tenant_id), q(type_)))]


def audit_of(tenant_id, action):
    return [[o, unhex(d)] for o, d in STACK.query(
        "SELECT object, HEX(detail) FROM audit_log WHERE "
        "tenant_id = %s AND action = %s ORDER BY seq"
        % (q(tenant_id), q(action)))]


class AlertBase(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.h = auth(cls.key)

    def base(self):
        return STACK.urls()["nginx"]

    def ingest(self, body, base=None, headers=None):
        return request(base or self.base(), "POST", "/api/v1/alerts", body,
                       self.h if headers is None else headers)


# --- ingest ---------------------------------------------------------------------

class T70Ingest(AlertBase):

    def test_new_then_deduplicated(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                a = alert()
                r = self.ingest(a, base)
                self.assertEqual(r.status, 201, r)
                self.assert_common_headers(r)
                body = r.json()
                self.assertEqual(set(body), {"id", "deduplicated", "status"})
                self.assertRegex(body["id"], ALERT_ID_RE)
                self.assertIs(body["deduplicated"], False)
                self.assertEqual(body["status"], "triage")
                aid = body["id"]
                row = alert_rows(self.tenant_id, "id = %s" % q(aid))
                self.assertEqual(len(row), 1)
                self.assertEqual(row[0][1:7], ["crowdstrike",
                                               a["external_id"], "high",
                                               a["title"], "triage", "1"])
                # Detection time is the sender's; ingest time Vigil's.
                self.assertEqual(row[0][7], "2026-06-02 09:14:00")
                self.assertNotEqual(row[0][8], row[0][7])
                time.sleep(1.1)
                r2 = self.ingest(dict(a, title="changed"), base)
                self.assertEqual(r2.status, 200, r2)
                self.assertEqual(r2.json(), {"id": aid, "deduplicated": True,
                                             "status": "triage"})
                row2 = alert_rows(self.tenant_id, "id = %s" % q(aid))
                self.assertEqual(row2[0][6], "2")          # occurrences
                self.assertEqual(row2[0][4], a["title"])   # not changed
                self.assertEqual(row2[0][8], row[0][8])    # ingested_at
                self.assertGreater(row2[0][9], row[0][9])  # last_seen_at
                self.assertEqual(count("alerts", self.tenant_id,
                                       "external_id = %s"
                                       % q(a["external_id"])), 1)
                created = [e for e in events_of(self.tenant_id,
                                                "alert.created")
                           if e["data"]["alert"]["id"] == aid]
                self.assertEqual(len(created), 1)
                ev = created[0]["data"]["alert"]
                self.assertEqual(ev["external_id"], a["external_id"])
                self.assertEqual(ev["detected_at"], "2026-06-02T09:14:00Z")
                self.assertEqual(ev["observables"], [
                    {"type": "ip", "value": "203.0.113.4"},
                    {"type": "hash", "value":
                     "da39a3ee5e6b4b0d3255bfef95601890afd80709"}])
                hist = STACK.query(
                    "SELECT action, actor FROM alert_history WHERE "
                    "tenant_id = %s AND alert_id = %s"
                    % (q(self.tenant_id), q(aid)))
                self.assertEqual(hist, [["created", "key:" + self.key_id]])
                # Both ingests are in the audit chain.
                entries = [e for e in audit_of(self.tenant_id,
                                               "alert.ingest")
                           if e[0] == aid]
                self.assertEqual(len(entries), 2)
                self.assertEqual(json.loads(entries[1][1])["deduplicated"],
                                 True)

    def test_observables_are_normalised_and_shared(self):
        base = self.base()
        a1 = alert(observables=[
            {"type": "ip", "value": "::ffff:198.51.100.7"},
            {"type": "domain", "value": "Evil.Example.COM."},
            {"type": "domain", "value": "evil.example.com"}])
        a2 = alert(source="sentinel", observables=[
            {"type": "ip", "value": "198.51.100.7"}])
        r1 = self.ingest(a1, base)
        r2 = self.ingest(a2, base)
        self.assertEqual((r1.status, r2.status), (201, 201), (r1, r2))
        obs = STACK.query(
            "SELECT type, value, COUNT(*) FROM observables WHERE "
            "tenant_id = %s AND value IN ('198.51.100.7', "
            "'evil.example.com') GROUP BY type, value ORDER BY type"
            % q(self.tenant_id))
        self.assertEqual(obs, [["ip", "198.51.100.7", "1"],
                               ["domain", "evil.example.com", "1"]])
        links = STACK.query(
            "SELECT a.id, o.type, o.value FROM alert_observables l "
            "JOIN alerts a ON a.tenant_id = l.tenant_id AND a.seq = "
            "l.alert_seq JOIN observables o ON o.tenant_id = l.tenant_id "
            "AND o.seq = l.observable_seq WHERE l.tenant_id = %s AND "
            "a.id IN (%s, %s) ORDER BY a.seq, o.type"
            % (q(self.tenant_id), q(r1.json()["id"]), q(r2.json()["id"])))
        self.assertEqual(links, [
            [r1.json()["id"], "ip", "198.51.100.7"],
            [r1.json()["id"], "domain", "evil.example.com"],
            [r2.json()["id"], "ip", "198.51.100.7"]])

    def test_same_alert_from_eight_clients_is_one(self):
        base = self.base()
        a = alert()
        start = threading.Barrier(8)

        def one(_):
            start.wait()
            return self.ingest(a, base)

        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            rs = list(ex.map(one, range(8)))
        self.assertEqual(sorted(r.status for r in rs), [200] * 7 + [201],
                         rs)
        ids = {r.json()["id"] for r in rs}
        self.assertEqual(len(ids), 1)
        self.assertEqual([r.json()["deduplicated"] for r in rs].count(False),
                         1)
        aid = ids.pop()
        rows = alert_rows(self.tenant_id, "external_id = %s"
                          % q(a["external_id"]))
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0][6], "8")
        self.assertEqual(len([e for e in events_of(self.tenant_id,
                                                   "alert.created")
                              if e["data"]["alert"]["id"] == aid]), 1)
        self.assertEqual(count("alert_history", self.tenant_id,
                               "alert_id = %s" % q(aid)), 1)

    def test_raw_kept_verbatim_up_to_the_cap(self):
        base = self.base()
        raw = {"b": 1.50, "a": [1, "x\u00e9"], "nested": {"k": None}}
        r = self.ingest(alert(raw=raw), base)
        self.assertEqual(r.status, 201, r)
        stored = STACK.query("SELECT HEX(raw), raw_truncated FROM alerts "
                             "WHERE "
                             "tenant_id = %s AND id = %s"
                             % (q(self.tenant_id), q(r.json()["id"])))
        self.assertEqual(json.loads(unhex(stored[0][0])), raw)
        self.assertEqual(stored[0][1], "0")
        big = {"blob": "\u00e9" * 40000}     # 80,000 bytes of UTF-8
        r = self.ingest(alert(raw=big), base)
        self.assertEqual(r.status, 201, r)
        stored = STACK.query("SELECT HEX(raw), raw_truncated FROM alerts "
                             "WHERE "
                             "tenant_id = %s AND id = %s"
                             % (q(self.tenant_id), q(r.json()["id"])))
        self.assertEqual(stored[0][1], "1")
        cut = json.loads(unhex(stored[0][0]))
        self.assertIsInstance(cut, str)
        self.assertLessEqual(len(cut.encode()), 65536)
        self.assertTrue(json.dumps(big, ensure_ascii=False,
                                   separators=(",", ":")).startswith(cut))

    def test_validation_names_the_field(self):
        base = self.base()
        a = alert()
        cases = [
            ({k: v for k, v in a.items() if k != "source"}, "source"),
            ({k: v for k, v in a.items() if k != "external_id"},
             "external_id"),
            ({k: v for k, v in a.items() if k != "severity"}, "severity"),
            ({k: v for k, v in a.items() if k != "title"}, "title"),
            ({k: v for k, v in a.items() if k != "detected_at"},
             "detected_at"),
            (dict(a, severity="urgent"), "severity"),
            (dict(a, severity=3), "severity"),
            (dict(a, detected_at="yesterday"), "detected_at"),
            (dict(a, detected_at="2026-13-02T09:14:00Z"), "detected_at"),
            (dict(a, detected_at=rfc3339(time.time() + 86400)),
             "detected_at"),
            (dict(a, source="crowd strike"), "source"),
            (dict(a, source="x" * 65), "source"),
            (dict(a, external_id=""), "external_id"),
            (dict(a, title="t" * 256), "title"),
            (dict(a, title="a\u001b[2Jb"), "title"),
            (dict(a, asset="WS-042"), "asset"),
            (dict(a, observables={"type": "ip"}), "observables"),
            (dict(a, observables=[{"type": "ipv9", "value": "1.2.3.4"}]),
             "observables[0].type"),
            (dict(a, observables=[{"type": "ip", "value": "1.2.3.4"},
                                  {"type": "ip", "value": "1.2.3.999"}]),
             "observables[1].value"),
            (dict(a, observables=[{"type": "hash", "value": "abc"}]),
             "observables[0].value"),
            (dict(a, observables=[{"type": "ip", "value": 1234}]),
             "observables[0].value"),
            (dict(a, observables=[{"type": "ip", "value": "1.2.3.4",
                                   "x": 1}]), "observables[0].x"),
            (dict(a, observables=["1.2.3.4"]), "observables[0]"),
            (dict(a, observables=[{"type": "ip", "value": "10.0.0.%d" % i}
                                  for i in range(65)]), "observables"),
            (dict(a, unknown=1), "unknown"),
        ]
        before = count("alerts", self.tenant_id)
        for body, field in cases:
            with self.subTest(field=field, body=json.dumps(body)[:120]):
                r = self.ingest(body, base)
                self.assert_error(r, 400, "invalid_request", field)
        self.assertEqual(count("alerts", self.tenant_id), before)

    def test_hostile_input(self):
        base = self.base()
        before = (count("alerts", self.tenant_id),
                  count("observables", self.tenant_id))
        for raw, status, field in (
                (b'{"source":"x","external_id":"\xff\xfe"}', 400, "body"),
                (b'[1,2,3]', 400, "body"),
                (b'{"source":', 400, "body"),
                (b'{"source":"a","source":"b"}', 400, "source"),
                (b'', 400, "body")):
            with self.subTest(raw=raw[:40]):
                r = request(base, "POST", "/api/v1/alerts", raw,
                            dict(self.h, **{"Content-Type":
                                            "application/json"}))
                self.assert_error(r, status, "invalid_request", field)
        r = request(base, "POST", "/api/v1/alerts",
                    json.dumps(alert(raw="x" * (MIB + 10))),
                    self.h)
        self.assertEqual(r.status, 413, r)
        r = request(base, "POST", "/api/v1/alerts", "source=x",
                    dict(self.h, **{"Content-Type":
                                    "application/x-www-form-urlencoded"}))
        self.assert_error(r, 415, "unsupported_media_type")
        # SQL metacharacters are data, stored as sent.
        for evil in SQL_EVIL:
            a = alert(external_id=evil, title=evil,
                      observables=[{"type": "user", "value": evil}])
            r = self.ingest(a, base)
            self.assertIn(r.status, (200, 201), r)
        self.assertEqual(count("alerts", self.tenant_id) - before[0],
                         len(set(SQL_EVIL)))
        self.assertEqual(api.table_fingerprint()[2],
                         STACK.query("SELECT COUNT(*) FROM tenants"))

    def test_needs_a_key_that_may_write(self):
        base = self.base()
        rkey, _ = new_key(self.tenant, "read")
        r = self.ingest(alert(), base, auth(rkey))
        self.assert_error(r, 403, "insufficient_scope")
        r = self.ingest(alert(), base, {})
        self.assert_error(r, 401, "invalid_license_key")

    def test_suppressed_at_ingest(self):
        base = self.base()
        tid = self.tenant_id
        now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())

        def suppress(type_, norm, scope, until):
            h = hashlib.sha256(norm.encode()).hexdigest()
            n = next(_seq)
            STACK.sql(
                "INSERT INTO observable_suppressions (tenant_id, id, type, "
                "value, value_hash, scope, until, created_by, created_at) "
                "VALUES (%s, 'sup_TEST%022d', %s, %s, %s, %s, %s, 'test', "
                "%s)" % (q(tid), n, q(type_), q(norm), q(h), q(scope),
                         q(until), q(now)), database="vigil")

        later = time.strftime("%Y-%m-%d %H:%M:%S",
                              time.gmtime(time.time() + 3600))
        earlier = time.strftime("%Y-%m-%d %H:%M:%S",
                                time.gmtime(time.time() - 60))
        suppress("domain", "cdn.suppressed.example", "global", later)
        suppress("ip", "192.0.2.77", "source:edr", later)
        suppress("ip", "192.0.2.78", "global", earlier)   # expired
        both = [{"type": "domain", "value": "CDN.suppressed.example."},
                {"type": "ip", "value": "192.0.2.77"}]
        r = self.ingest(alert(source="edr", observables=both), base)
        self.assertEqual((r.status, r.json()["status"]),
                         (201, "suppressed"), r)
        sid = r.json()["id"]
        # Another source: the source-scoped suppression does not apply.
        r = self.ingest(alert(source="siem", observables=both), base)
        self.assertEqual(r.json()["status"], "triage", r)
        tid2 = r.json()["id"]
        # One observable not suppressed: not suppressed.
        r = self.ingest(alert(source="edr", observables=both + [
            {"type": "ip", "value": "192.0.2.1"}]), base)
        self.assertEqual(r.json()["status"], "triage", r)
        # Expired: no longer applies.
        r = self.ingest(alert(source="edr", observables=[
            {"type": "ip", "value": "192.0.2.78"}]), base)
        self.assertEqual(r.json()["status"], "triage", r)
        created = {e["data"]["alert"]["id"]
                   for e in events_of(tid, "alert.created")}
        self.assertNotIn(sid, created)
        self.assertIn(tid2, created)
        self.assertEqual(alert_rows(tid, "id = %s" % q(sid))[0][5],
                         "suppressed")
        # Its observables are stored and linked (searchable).
        self.assertEqual(count("alert_observables", tid,
                               "alert_seq = (SELECT seq FROM alerts WHERE "
                               "id = %s)" % q(sid)), 2)

    def test_another_tenants_pair_is_another_alert(self):
        base = self.base()
        other, other_id = new_tenant("alerts-other")
        okey, _ = new_key(other, "read,write")
        a = alert()
        r1 = self.ingest(a, base)
        r2 = self.ingest(a, base, auth(okey))
        self.assertEqual((r1.status, r2.status), (201, 201))
        self.assertNotEqual(r1.json()["id"], r2.json()["id"])


class T71Batch(AlertBase):

    def batch(self, items, base=None, headers=None):
        return request(base or self.base(), "POST", "/api/v1/alerts/batch",
                       {"alerts": items}, headers or self.h)

    def test_mixed_valid_and_invalid(self):
        known = alert()
        self.assertEqual(self.ingest(known).status, 201)
        a, b = alert(), alert()
        items = [a, dict(alert(), severity="urgent"), known, b,
                 dict(alert(), observables=[{"type": "ip", "value": "x"}]),
                 a, "not an object"]
        before = count("alerts", self.tenant_id)
        r = self.batch(items)
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual((body["created"], body["deduplicated"],
                          body["failed"]), (2, 2, 3), body)
        res = body["results"]
        self.assertEqual([x["index"] for x in res], list(range(7)))
        self.assertEqual([x["status"] for x in res],
                         [201, 400, 200, 201, 400, 200, 400])
        self.assertEqual(res[1]["field"], "severity")
        self.assertEqual(res[4]["field"], "observables[0].value")
        self.assertEqual(res[6]["field"], "body")
        self.assertEqual(res[5]["id"], res[0]["id"])
        self.assertIs(res[5]["deduplicated"], True)
        self.assertEqual(count("alerts", self.tenant_id), before + 2)
        self.assertEqual(alert_rows(self.tenant_id, "id = %s"
                                    % q(res[0]["id"]))[0][6], "2")
        entries = audit_of(self.tenant_id, "alert.ingest_batch")
        d = json.loads(entries[-1][1])
        self.assertEqual(sorted(d["created"]), sorted([res[0]["id"],
                                                       res[3]["id"]]))
        # Deduplicated: the alerts that were known before the batch.
        self.assertEqual(d["deduplicated"], [res[2]["id"]])
        ids = {e["data"]["alert"]["id"]
               for e in events_of(self.tenant_id, "alert.created")}
        self.assertIn(res[0]["id"], ids)
        self.assertIn(res[3]["id"], ids)

    def test_five_hundred_with_shared_observables(self):
        items = [alert(observables=[
            {"type": "ip", "value": "198.18.%d.%d" % (i // 200, i % 200)},
            {"type": "domain", "value": "shared-%d.example" % (i % 7)}])
            for i in range(500)]
        r = self.batch(items)
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual((body["created"], body["failed"]), (500, 0))
        ids = [x["id"] for x in body["results"]]
        self.assertEqual(len(set(ids)), 500)
        self.assertEqual(count("alert_observables", self.tenant_id,
                               "alert_seq IN (SELECT seq FROM alerts WHERE "
                               "tenant_id = %s AND id IN (%s))"
                               % (q(self.tenant_id),
                                  ",".join(q(i) for i in ids))), 1000)
        # Again: all deduplicated, nothing new.
        r = self.batch(items)
        self.assertEqual(r.json()["deduplicated"], 500, r)
        self.assertEqual([x["id"] for x in r.json()["results"]], ids)

    def test_shape_errors(self):
        for body, field in (({"alerts": []}, "alerts"),
                            ({"alerts": [alert()] * 501}, "alerts"),
                            ({"alerts": {}}, "alerts"),
                            ({}, "alerts"),
                            ({"alerts": [alert()], "x": 1}, "x")):
            with self.subTest(field=field):
                r = request(self.base(), "POST", "/api/v1/alerts/batch",
                            body, self.h)
                self.assert_error(r, 400, "invalid_request", field)

class CountBase(AlertBase):
    """GET /events' total of alert.created and the observable search's
    total, against a recount of the rows they count."""

    def batch(self, items):
        return request(self.base(), "POST", "/api/v1/alerts/batch",
                       {"alerts": items}, self.h)

    def created_total(self):
        r = request(self.base(), "GET",
                    "/api/v1/events?limit=1&type=alert.created", None,
                    self.h)
        self.assertEqual(r.status, 200, r)
        return r.json()["total"]

    def search_total(self, otype, value):
        r = request(self.base(), "GET",
                    "/api/v1/observables/search?type=%s&value=%s&limit=1"
                    % (otype, value), None, self.h)
        self.assertEqual(r.status, 200, r)
        return r.json()["total"]

    def assert_totals_are_recounts(self, values):
        self.assertEqual(self.created_total(),
                         count("events", self.tenant_id,
                               "type = 'alert.created'"))
        for otype, value in values:
            links = int(STACK.query(
                "SELECT COUNT(*) FROM alert_observables ao JOIN "
                "observables o ON o.tenant_id = ao.tenant_id AND "
                "o.seq = ao.observable_seq WHERE o.tenant_id = %s AND "
                "o.type = %s AND o.value = %s" % (
                    q(self.tenant_id), q(otype), q(value)))[0][0])
            self.assertGreater(links, 0, value)
            self.assertEqual(self.search_total(otype, value), links, value)


def shared_alert(i):
    """An alert carrying values that many of a test's alerts share."""
    return alert(observables=[
        {"type": "ip", "value": "198.51.100.%d" % (i % 7)},
        {"type": "domain", "value": "c2-%d.example.net" % (i % 5)},
        {"type": "user", "value": "svc-backup"}])


class T300CountsUnderRaces(CountBase):
    """Batches count their alert.created events once per call (0042,
    0049) and their observables' alerts once per call; single alerts
    leave both to the row triggers and the per-alert statement. Racing
    each other, with repeats inside and across calls, the totals are
    still the rows."""

    def test_batches_and_singles_racing(self):
        before = self.created_total()
        pool = [shared_alert(i) for i in range(240)]
        # Six batches of 80, each sharing half its items with the next,
        # and 40 single alerts of the same pool, all at once.
        parts = [(pool * 2)[i * 40:i * 40 + 80] for i in range(6)]
        singles = pool[::6]

        def one(job):
            # A 503 wrote nothing (its deadlock retries ran out under
            # this race): sent again, as a forwarder does.
            kind, body = job
            for _ in range(5):
                r = (self.batch(body) if kind == "batch" else
                     self.ingest(body))
                if r.status != 503:
                    break
                time.sleep(0.2)
            return kind, r
        jobs = [("batch", b) for b in parts] + [("one", a) for a in singles]
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            answers = list(ex.map(one, jobs))
        ids = {}
        created = 0
        for (kind, body), (_, r) in zip(jobs, answers):
            if kind == "batch":
                self.assertEqual(r.status, 200, r)
                created += r.json()["created"]
                for it, res in zip(body, r.json()["results"]):
                    ids.setdefault(it["external_id"], set()).add(res["id"])
            else:
                self.assertIn(r.status, (200, 201), r)
                created += r.status == 201
                ids.setdefault(body["external_id"], set()).add(
                    r.json()["id"])
        self.assertEqual(len(ids), 240)
        self.assertTrue(all(len(v) == 1 for v in ids.values()), ids)
        self.assertEqual(created, 240)
        self.assertEqual(self.created_total(), before + 240)
        self.assert_totals_are_recounts(
            [("ip", "198.51.100.%d" % i) for i in range(7)] +
            [("domain", "c2-%d.example.net" % i) for i in range(5)] +
            [("user", "svc-backup")])

    def test_repeats_inside_and_across_calls(self):
        before = self.created_total()
        known = alert()
        self.assertEqual(self.ingest(known).status, 201)
        items = [alert() for _ in range(12)]
        r = self.batch(items + items[:5] + [known] + items[3:9])
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["created"], r.json()["deduplicated"]),
                         (12, 12), r)
        self.assertEqual(self.created_total(), before + 13)
        r = self.batch(items[::-1] + [known])
        self.assertEqual((r.json()["created"], r.json()["deduplicated"]),
                         (0, 13), r)
        self.assertEqual(self.created_total(), before + 13)
        self.assert_totals_are_recounts([("ip", "203.0.113.4")])


# The events insert trigger (events_count_insert) as each migration left
# it: 0015's counts every row itself (the schema an API meets when it is
# upgraded before "vigilctl migrate" has applied 0042); 0042's lets the
# alert batches of its day name their tenant and type in
# @vigil_events_defer; 0045's lets the scanner's batch writer name its
# tenant in @vigil_defer too; 0049's, as migrate leaves it, knows only
# @vigil_defer, which the alert batches name since.
OLD_EVENTS_TRIGGER = (
    "CREATE OR REPLACE TRIGGER events_count_insert AFTER INSERT ON events "
    "FOR EACH ROW CALL list_count_add(NEW.tenant_id, 'events', NEW.type, 1)")


def events_trigger(migration):
    return tbr.trigger_text(migration, "events_count_insert", "\n$$")


EVENTS_TRIGGER_0042 = "0042_event_counts_deferred.sql"
EVENTS_TRIGGER_0045 = "0045_batch_rows_deferred.sql"
EVENTS_TRIGGER_NOW = "0049_events_defer_one.sql"


class T301UpgradeOrder(CountBase):
    """The batch path counts its events itself only where the trigger
    tallied them: on a schema before 0045 (a package upgrade restarts the
    API before "vigilctl migrate" runs) the trigger counts each event and
    the API adds nothing, so nothing is counted twice; an older API, whose
    variable 0049's trigger no longer knows, is counted by the trigger and
    adds nothing; any writer that does not ask is counted by the
    trigger. The batch's audit entry is counted and chained as ever."""

    def tearDown(self):
        # The trigger back as migrate left it.
        STACK.sql(events_trigger(EVENTS_TRIGGER_NOW), database="vigil")

    def assert_audit_kept(self):
        """The audit entries' counts (the batches' alert.ingest_batch
        among them) equal a recount, and the kept head is the newest
        entry: the batch's deferral ends before its audit entry."""
        t = q(self.tenant_id)
        self.assertEqual(STACK.query(
            "SELECT k, n FROM list_counts WHERE tenant_id = %s AND list = "
            "'audit' AND n <> 0 ORDER BY k" % t), STACK.query(
            "SELECT action, COUNT(*) FROM audit_log WHERE tenant_id = %s "
            "GROUP BY action ORDER BY action" % t))
        self.assertEqual(
            STACK.query("SELECT seq, hash FROM audit_heads WHERE "
                        "tenant_id = %s" % t),
            STACK.query("SELECT seq, hash FROM audit_log WHERE tenant_id = "
                        "%s ORDER BY seq DESC LIMIT 1" % t))

    def batch_calls(self, items):
        """A batch and the procedure calls the server ran for it (the
        trigger's list_count_add per event it counts itself)."""
        calls = tbr.status("Com_call_procedure")
        r = self.batch(items)
        self.assertEqual(r.status, 200, r)
        return r, tbr.status("Com_call_procedure") - calls

    def test_new_api_on_the_old_schema_counts_once(self):
        total = self.created_total()
        for old, tallies in ((OLD_EVENTS_TRIGGER, False),
                             (events_trigger(EVENTS_TRIGGER_0042), False),
                             (events_trigger(EVENTS_TRIGGER_0045), True)):
            STACK.sql(old, database="vigil")
            items = [alert() for _ in range(30)]
            r, calls = self.batch_calls(items)
            self.assertEqual(r.json()["created"], 30, r)
            # Counted by the trigger, a call per event; or tallied by it
            # and counted by the API.
            if tallies:
                self.assertLess(calls, 10, calls)
            else:
                self.assertGreaterEqual(calls, 30, calls)
            self.assertEqual(self.ingest(alert()).status, 201)
            r = self.batch(items[10:] + [alert() for _ in range(9)])
            self.assertEqual(r.json()["created"], 9, r)
            total += 40
            self.assertEqual(self.created_total(), total)
            self.assert_totals_are_recounts([("ip", "203.0.113.4")])
            self.assert_audit_kept()
        # Migrated while it runs: the same API counts itself, once.
        STACK.sql(events_trigger(EVENTS_TRIGGER_NOW), database="vigil")
        r, calls = self.batch_calls([alert() for _ in range(20)])
        self.assertEqual(r.json()["created"], 20, r)
        self.assertLess(calls, 10, calls)
        self.assertEqual(self.created_total(), total + 20)
        self.assert_totals_are_recounts([("ip", "203.0.113.4")])
        self.assert_audit_kept()

    def test_writers_that_do_not_defer_are_counted_by_the_trigger(self):
        # A session that named another tenant, and one that never named
        # one (an older API's single alerts): each row counted once.
        _, tid = new_tenant("t301")
        row = ("INSERT INTO events (id, tenant_id, type, created_at, "
               "payload) VALUES ('evt_t301_%%s_%%d', %s, %%s, "
               "UTC_TIMESTAMP(), '{}')" % q(tid))
        STACK.sql("SET @vigil_defer = %s, @vigil_deferred_events = 0;"
                  " %s; %s; %s; SET @vigil_defer = NULL" % (
                      q(self.tenant_id),
                      row % ("a", 1, "'alert.created'"),
                      row % ("a", 2, "'alert.created'"),
                      row % ("a", 3, "'alert.dismissed'")),
                  database="vigil")
        STACK.sql("%s; %s" % (row % ("b", 1, "'alert.created'"),
                              row % ("b", 2, "'alert.dismissed'")),
                  database="vigil")

        def counts():
            return dict(STACK.query(
                "SELECT k, n FROM list_counts WHERE tenant_id = %s AND "
                "list = 'events'" % q(tid)))
        self.assertEqual(counts(), {"alert.created": "3",
                                    "alert.dismissed": "2"})
        # An alert batch of an API older than 0049, as it wrote its
        # events (0042's variables, then its count of what the trigger
        # deferred): the trigger counts them, defers none, and the API's
        # count adds nothing.
        out = STACK.sql(
            "SET @vigil_events_defer = %s, @vigil_events_deferred = 0; "
            "%s; %s; SELECT @vigil_events_deferred; "
            "INSERT INTO list_counts (tenant_id, list, k, n) "
            "SELECT %s, 'events', 'alert.created', @vigil_events_deferred "
            "FROM DUAL WHERE @vigil_events_deferred > 0 "
            "ON DUPLICATE KEY UPDATE n = n + VALUES(n); "
            "SET @vigil_events_defer = NULL, @vigil_events_deferred = 0" % (
                q(tid + " alert.created"), row % ("c", 1, "'alert.created'"),
                row % ("c", 2, "'alert.created'"), q(tid)),
            database="vigil").stdout.split()
        self.assertEqual(out, ["0"])
        self.assertEqual(counts(), {"alert.created": "5",
                                    "alert.dismissed": "2"})
        # The same tenant named in @vigil_defer: tallied, counted by
        # nobody until the writer adds them (what the batch path does
        # next).
        out = STACK.sql(
            "SET @vigil_defer = %s, @vigil_deferred_events = 0; %s; "
            "SELECT @vigil_deferred_events; SET @vigil_defer = NULL" % (
                q(tid), row % ("d", 1, "'alert.created'")),
            database="vigil").stdout.split()
        self.assertEqual(out, ["1"])
        self.assertEqual(counts(), {"alert.created": "5",
                                    "alert.dismissed": "2"})


class T302CountRowMissing(CountBase):
    """An observable stored without its count row (by hand, or restored
    in part) is counted all the same by the batches that link alerts to
    it (their upsert of each count)."""

    def test_stored_observable_without_count_row(self):
        value = "orphan-%d.example.org" % os.getpid()
        oid = "obs_0" + "".join(random.choice("0123456789ABCDEFGHJKMNPQRS"
                                              "TVWXYZ") for _ in range(25))
        STACK.sql("INSERT INTO observables (tenant_id, id, type, value, "
                  "value_hash, first_seen_at, last_seen_at) VALUES "
                  "(%s, %s, 'domain', %s, SHA2(%s, 256), "
                  "UTC_TIMESTAMP(), UTC_TIMESTAMP())" % (
                      q(self.tenant_id), q(oid), q(value), q(value)),
                  database="vigil")
        obs = [{"type": "domain", "value": value},
               {"type": "ip", "value": "203.0.113.4"}]
        r = self.batch([alert(observables=obs) for _ in range(10)])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["created"], 10, r)
        r = self.batch([alert(observables=obs) for _ in range(5)])
        self.assertEqual(r.json()["created"], 5, r)
        self.assertEqual(self.search_total("domain", value), 15)
        self.assert_totals_are_recounts([("domain", value),
                                         ("ip", "203.0.113.4")])


class T303EventText(AlertBase):
    """A batch writes its alert.created events and history entries from
    json-c trees made once per call and refilled per alert: what a webhook
    receives is still the alert as sent, escaped as json-c escapes it
    (compact, "/" as is, control characters as \\u00xx, other characters
    unescaped), the same as the single-alert path's event of an alert
    sent alike."""

    def awkward(self, **kw):
        return alert(title='Quote " back\\slash /path caf\u00e9 \u2603 '
                           '\U0001f600 end',
                     asset={"hostname": "WS \"7\"", "tags": ["a/b", 1.5,
                                                          None, True],
                            "ctl": "\x01\x1f\t\n\r\b\f\x7f/",
                            "nested": {"k": "\u00e9\n"}},
                     observables=[
                         {"type": "user", "value": 'dom\\jane "j"'},
                         {"type": "file", "value": "C:/x/y \u00e9.exe"},
                         {"type": "url",
                          "value": "https://example.com/a?b=\"c\"&d=\u00e9"}],
                     **kw)

    def payloads(self, ids):
        rows = STACK.query(
            "SELECT HEX(payload) FROM events WHERE tenant_id = %s AND "
            "type = 'alert.created'" % q(self.tenant_id))
        out = {}
        for (h,) in rows:
            text = unhex(h)
            ev = json.loads(text)
            if ev["data"]["alert"]["id"] in ids:
                out[ev["data"]["alert"]["id"]] = (text, ev)
        return out

    def test_batch_event_is_the_alert_as_sent(self):
        one = self.awkward()
        r = self.ingest(one)
        self.assertEqual(r.status, 201, r)
        single = r.json()["id"]
        items = [self.awkward() for _ in range(10)]
        r = request(self.base(), "POST", "/api/v1/alerts/batch",
                    {"alerts": items}, self.h)
        self.assertEqual(r.json()["created"], 10, r)
        ids = [x["id"] for x in r.json()["results"]]
        got = self.payloads(set(ids) | {single})
        self.assertEqual(len(got), 11)
        for aid, it in [(single, one)] + list(zip(ids, items)):
            text, ev = got[aid]
            # Compact, escaped as json-c escapes (Python's json does the
            # same with these separators and ensure_ascii off).
            self.assertEqual(text, json.dumps(ev, separators=(",", ":"),
                                              ensure_ascii=False))
            a = ev["data"]["alert"]
            self.assertEqual(list(a), [
                "id", "source", "external_id", "severity", "title",
                "status", "detected_at", "ingested_at", "last_seen_at",
                "updated_at", "occurrences", "asset", "assignee", "tags",
                "case_id", "observables"])
            self.assertEqual((a["title"], a["asset"], a["external_id"]),
                             (it["title"], it["asset"], it["external_id"]))
            key = lambda o: (o["type"], o["value"])  # noqa: E731
            self.assertEqual(sorted(a["observables"], key=key),
                             sorted(it["observables"], key=key))
            self.assertEqual((a["assignee"], a["tags"], a["case_id"],
                              a["occurrences"], a["status"]),
                             (None, [], None, 1, "triage"))
            self.assertEqual(list(ev), ["event_id", "event_type",
                                        "tenant_id", "timestamp", "data"])
            hist = STACK.query(
                "SELECT HEX(fields) FROM alert_history WHERE tenant_id = %s "
                "AND alert_id = %s" % (q(self.tenant_id), q(aid)))
            self.assertEqual(json.loads(unhex(hist[0][0])), {
                "source": it["source"], "external_id": it["external_id"],
                "severity": it["severity"], "status": "triage"})
        # The batch's alert in GET /alerts/{id} is the event's.
        r = request(self.base(), "GET", "/api/v1/alerts/" + ids[0], None,
                    self.h)
        self.assertEqual(r.status, 200, r)
        ev = got[ids[0]][1]["data"]["alert"]
        for k in ("title", "asset", "detected_at"):
            self.assertEqual(r.json()[k], ev[k])
        self.assertEqual(sorted(r.json()["observables"], key=key),
                         sorted(ev["observables"], key=key))


class T304Resends(CountBase):
    """A batch upserts its alerts without looking them up first, and looks
    up only the statements that met stored ones: resends of stored
    alerts, racing each other and mixed with new ones, answer the stored
    ids with deduplicated true, count each occurrence once, and create
    nothing twice."""

    def test_resends_racing(self):
        stored = [alert() for _ in range(70)]
        r = self.batch(stored)
        self.assertEqual(r.json()["created"], 70, r)
        ids = {it["external_id"]: x["id"]
               for it, x in zip(stored, r.json()["results"])}
        before = self.created_total()
        fresh = [alert() for _ in range(30)]
        # Four clients resend the 70 at once, two with new alerts among
        # them (some shared), in another order.
        parts = [stored, stored[::-1], stored[:35] + fresh + stored[35:],
                 fresh[::-1] + stored]
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            answers = list(ex.map(self.batch, parts))
        seen = {}
        for items, r in zip(parts, answers):
            self.assertEqual(r.status, 200, r)
            for it, x in zip(items, r.json()["results"]):
                if it["external_id"] in ids:
                    self.assertEqual((x["id"], x["deduplicated"],
                                      x["status"]),
                                     (ids[it["external_id"]], True, 200), x)
                else:
                    seen.setdefault(it["external_id"], set()).add(x["id"])
        self.assertEqual(len(seen), 30)
        self.assertTrue(all(len(v) == 1 for v in seen.values()), seen)
        self.assertEqual(sum(r.json()["created"] for r in answers), 30)
        self.assertEqual(self.created_total(), before + 30)
        occ = dict(STACK.query(
            "SELECT external_id, occurrences FROM alerts WHERE tenant_id = "
            "%s" % q(self.tenant_id)))
        for it in stored:
            self.assertEqual(occ[it["external_id"]], "5", it)
        for it in fresh:
            self.assertEqual(occ[it["external_id"]], "2", it)
        self.assert_totals_are_recounts([("ip", "203.0.113.4")])


class T72IngestScope(AlertBase):

    def test_ingest_key_may_only_ingest(self):
        base = self.base()
        ikey, _ = new_key(self.tenant, "ingest")
        r = self.ingest(alert(), base, auth(ikey))
        self.assertEqual(r.status, 201, r)
        r = request(base, "POST", "/api/v1/alerts/batch",
                    {"alerts": [alert()]}, auth(ikey))
        self.assertEqual(r.status, 200, r)
        for method, path, body in (
                ("GET", "/api/v1/findings", None),
                ("GET", "/api/v1/alerts", None),
                ("POST", "/api/v1/webhooks", {}),
                ("PUT", "/api/v1/settings", {"scan_interval_minutes": 30}),
                ("POST", "/api/v1/api-keys", {"name": "x",
                                              "scopes": ["ingest"]})):
            with self.subTest(op=method + " " + path):
                r = request(base, method, path, body, auth(ikey))
                self.assert_error(r, 403, "insufficient_scope")
        # Neither ingest nor write: refused.
        rkey, _ = new_key(self.tenant, "read,admin")
        r = self.ingest(alert(), base, auth(rkey))
        self.assert_error(r, 403, "insufficient_scope")

    def test_own_limit_not_the_write_limit(self):
        tenant, tid = new_tenant("alerts-rl")
        STACK.vigilctl("tenant", "limits", tenant, "--read", "100",
                       "--write", "2")
        STACK.vigilctl("tenant", "limits", tenant, "--ingest", "5")
        self.assertEqual(STACK.query(
            "SELECT rate_read_per_min, rate_write_per_min, "
            "rate_ingest_per_min FROM tenants WHERE id = %s" % q(tid)),
            [["100", "2", "5"]])
        e = [x for x in audit_of(tid, "tenant.limits")][-1]
        self.assertEqual(json.loads(e[1]), {"rate_limits": {
            "ingest_per_min": 5}})
        listing = STACK.vigilctl("tenant", "list").stdout.splitlines()
        self.assertEqual(listing[0].split("\t")[-1], "rate_ingest_per_min")
        self.assertIn([tid, tenant, "100", "2", "5"],
                      [[c[0], c[1]] + c[3:] for c in
                       (line.split("\t") for line in listing)])
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                ikey, _ = new_key(tenant, "ingest,write")
                wkey, _ = new_key(tenant, "write")
                api.wait_for_fresh_window(20)
                rs = [self.ingest(alert(), base, auth(ikey))
                      for _ in range(5)]
                self.assertEqual([r.status for r in rs], [201] * 5, rs)
                self.assertEqual(rs[0].header("X-RateLimit-Limit"), "5")
                self.assertEqual([r.header("X-RateLimit-Remaining")
                                  for r in rs], ["4", "3", "2", "1", "0"])
                before = count("alerts", tid)
                r = self.ingest(alert(), base, auth(ikey))
                self.assert_error(r, 429, "rate_limited")
                self.assertRegex(r.header("Retry-After") or "", r"^\d+$")
                self.assertLessEqual(int(r.header("Retry-After")), 60)
                self.assertEqual(count("alerts", tid), before)
                # Its other writes are counted as writes, apart.
                r = request(base, "PATCH", "/api/v1/findings/nonexistent-0",
                            {"assignee": "x"}, auth(ikey))
                self.assertEqual(r.status, 404, r)
                self.assertEqual(r.header("X-RateLimit-Limit"), "2")
                # A key without ingest is held to the write limit there.
                rs = [self.ingest(alert(), base, auth(wkey))
                      for _ in range(3)]
                self.assertEqual([r.status for r in rs], [201, 201, 429],
                                 rs)
                self.assertEqual(rs[0].header("X-RateLimit-Limit"), "2")
        STACK.vigilctl("tenant", "limits", tenant, "--ingest", "default")
        self.assertEqual(STACK.query(
            "SELECT rate_ingest_per_min FROM tenants WHERE id = %s"
            % q(tid)), [["NULL"]])
        r = STACK.vigilctl("tenant", "limits", tenant, "--ingest", "0",
                           check=False)
        self.assertEqual(r.returncode, 64, r.stderr)

    def test_settings_show_and_set_the_ingest_limit(self):
        base = self.base()
        tenant, tid = new_tenant("alerts-set")
        admin, _ = new_key(tenant, "read,write,admin")
        r = request(base, "GET", "/api/v1/settings", headers=auth(admin))
        self.assertEqual(r.json()["rate_limits"]["ingest_per_min"], None, r)
        r = request(base, "PUT", "/api/v1/settings",
                    {"rate_limits": {"ingest_per_min": 6000}}, auth(admin))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["rate_limits"], {
            "read_per_min": None, "write_per_min": None,
            "ingest_per_min": 6000})
        self.assertEqual(STACK.query(
            "SELECT rate_ingest_per_min FROM tenants WHERE id = %s"
            % q(tid)), [["6000"]])
        r = request(base, "PUT", "/api/v1/settings",
                    {"rate_limits": {"ingest_per_min": 100001}}, auth(admin))
        self.assert_error(r, 400, "invalid_request",
                          "rate_limits.ingest_per_min")
        r = request(base, "PUT", "/api/v1/settings",
                    {"rate_limits": {"ingest_per_min": None}}, auth(admin))
        self.assertEqual(r.json()["rate_limits"]["ingest_per_min"], None, r)

class T73Read(AlertBase):
    """GET /alerts (filters, cursor), GET /alerts/{id}, history."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A tenant of its own, so that totals are exact.
        cls.tenant, cls.tenant_id = new_tenant("alerts-read")
        cls.key, cls.key_id = new_key(cls.tenant, "read,write,admin")
        cls.h = auth(cls.key)
        base = STACK.urls()["nginx"]
        cls.ids = []
        specs = [("crowdstrike", "high"), ("crowdstrike", "low"),
                 ("sentinel", "critical"), ("sentinel", "high"),
                 ("guardduty", "medium"), ("guardduty", "info"),
                 ("crowdstrike", "critical")]
        for src, sev in specs:
            r = api.request(base, "POST", "/api/v1/alerts",
                            alert(source=src, severity=sev), cls.h)
            assert r.status == 201, r
            cls.ids.append(r.json()["id"])

    def list(self, query="", base=None, headers=None):
        return request(base or self.base(), "GET", "/api/v1/alerts" + query,
                       headers=self.h if headers is None else headers)

    def test_list_newest_first_and_filters(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = self.list("", base)
                self.assertEqual(r.status, 200, r)
                body = r.json()
                self.assertEqual(set(body), {"alerts", "total", "has_more",
                                             "next_cursor"})
                self.assertEqual([a["id"] for a in body["alerts"]],
                                 self.ids[::-1])
                self.assertEqual(body["total"], 7)
                self.assertNotIn("raw", body["alerts"][0])
        for query, want in (
                ("?source=sentinel", [2, 3]),
                ("?severity=critical,high", [0, 2, 3, 6]),
                ("?severity=critical&source=crowdstrike", [6]),
                ("?status=triage", list(range(7))),
                ("?status=dismissed,suppressed", [])):
            with self.subTest(query=query):
                r = self.list(query)
                self.assertEqual(r.status, 200, r)
                self.assertEqual([a["id"] for a in r.json()["alerts"]],
                                 [self.ids[i] for i in want[::-1]])
                self.assertEqual(r.json()["total"], len(want))

    def test_cursor_walks_every_alert_once(self):
        seen, cursor = [], None
        while True:
            r = self.list("?limit=3" + ("&cursor=" + cursor
                                        if cursor else ""))
            self.assertEqual(r.status, 200, r)
            body = r.json()
            seen += [a["id"] for a in body["alerts"]]
            if not body["has_more"]:
                self.assertIsNone(body["next_cursor"])
                break
            cursor = body["next_cursor"]
        self.assertEqual(seen, self.ids[::-1])

    def test_list_bad_parameters(self):
        for query, field in (("?status=open", "status"),
                             ("?severity=urgent", "severity"),
                             ("?severity=", "severity"),
                             ("?source=a%20b", "source"),
                             ("?since=yesterday", "since"),
                             ("?limit=0", "limit"),
                             ("?cursor=x", "cursor"),
                             ("?status=triage&status=dismissed", "status"),
                             ("?page=2", "page")):
            with self.subTest(query=query):
                self.assert_error(self.list(query), 400, "invalid_request",
                                  field)

    def test_since_and_assignee(self):
        r = request(self.base(), "PATCH", "/api/v1/alerts/" + self.ids[1],
                    {"assignee": "ana@example.com"}, self.h)
        self.assertEqual(r.status, 200, r)
        r = self.list("?assignee=ana@example.com")
        self.assertEqual([a["id"] for a in r.json()["alerts"]],
                         [self.ids[1]])
        r = self.list("?since=%s" % rfc3339(time.time() + 120))
        self.assertEqual(r.json()["alerts"], [])
        r = self.list("?since=%s" % rfc3339(time.time() - 3600))
        self.assertEqual(r.json()["total"], 7)

    def test_get_in_full(self):
        # Another tenant's key: the class's tenant keeps its 7 alerts.
        tenant, _ = new_tenant("alerts-get")
        h = auth(new_key(tenant, "read,write")[0])
        a = alert(raw={"k": [1, 2, {"x": "y"}]}, observables=[
            {"type": "email", "value": "Bob@Example.COM"},
            {"type": "url", "value": "HTTPS://Example.COM:443/a?b=C"}])
        r = self.ingest(a, headers=h)
        aid = r.json()["id"]
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "GET", "/api/v1/alerts/" + aid,
                            headers=h)
                self.assertEqual(r.status, 200, r)
                g = r.json()
                self.assertEqual(g["id"], aid)
                self.assertEqual(g["raw"], a["raw"])
                self.assertIs(g["raw_truncated"], False)
                self.assertEqual(g["asset"], a["asset"])
                self.assertEqual(sorted(g["observables"],
                                        key=lambda o: o["type"]), [
                    {"type": "email", "value": "bob@example.com"},
                    {"type": "url", "value": "https://example.com/a?b=C"}])
                self.assertEqual((g["status"], g["occurrences"],
                                  g["dismiss_reason"]), ("triage", 1, None))
                self.assertEqual(g["detected_at"], "2026-06-02T09:14:00Z")
                self.assertRegex(g["ingested_at"], TS_RE)
        r = self.ingest(alert(raw=None), headers=h)
        g = request(self.base(), "GET", "/api/v1/alerts/" + r.json()["id"],
                    headers=h).json()
        self.assertIsNone(g["raw"])

    def test_another_tenants_alert_is_404(self):
        other, _ = new_tenant("alerts-other")
        okey, _ = new_key(other, "read,write")
        aid = self.ids[0]
        before = alert_rows(self.tenant_id, "id = %s" % q(aid))
        for method, path, body in (
                ("GET", "/api/v1/alerts/" + aid, None),
                ("GET", "/api/v1/alerts/%s/history" % aid, None),
                ("PATCH", "/api/v1/alerts/" + aid, {"severity": "low"}),
                ("POST", "/api/v1/alerts/%s/dismiss" % aid,
                 {"reason_code": "test"}),
                ("GET", "/api/v1/alerts/alert_nope", None),
                ("GET", "/api/v1/alerts/%27%20OR%201%3D1", None),
                ("POST", "/api/v1/alerts/alert_%s/dismiss" % ("0" * 26),
                 {"reason_code": "test"})):
            with self.subTest(op=method + " " + path):
                r = request(self.base(), method, path, body, auth(okey))
                self.assert_error(r, 404, "not_found")
        self.assertEqual(alert_rows(self.tenant_id, "id = %s" % q(aid)),
                         before)
        r = self.list("", headers=auth(okey))
        self.assertEqual(r.json()["alerts"], [])


class T74Change(AlertBase):
    """PATCH and dismiss, with history, audit and events."""

    def test_patch(self):
        aid = self.ingest(alert(severity="low")).json()["id"]
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "PATCH", "/api/v1/alerts/" + aid,
                            {"assignee": "ana@example.com",
                             "severity": "critical",
                             "tags": ["ransomware", "ws-042"]}, self.h)
                self.assertEqual(r.status, 200, r)
                g = r.json()
                self.assertEqual((g["assignee"], g["severity"], g["tags"]),
                                 ("ana@example.com", "critical",
                                  ["ransomware", "ws-042"]))
                self.assertEqual(g["status"], "triage")
                r = request(base, "PATCH", "/api/v1/alerts/" + aid,
                            {"assignee": None, "severity": "low"}, self.h)
                self.assertEqual((r.json()["assignee"], r.json()["tags"],
                                  r.json()["severity"]),
                                 (None, ["ransomware", "ws-042"], "low"))
        hist = request(self.base(), "GET", "/api/v1/alerts/%s/history" % aid,
                       headers=self.h).json()
        self.assertEqual(hist["alert_id"], aid)
        acts = [h["action"] for h in hist["history"]]
        self.assertEqual(acts[0], "created")
        self.assertEqual(acts[1:], ["updated"] * (len(acts) - 1))
        self.assertEqual(hist["history"][1]["previous_severity"], "low")
        self.assertEqual(hist["history"][1]["by"], "key:" + self.key_id)
        self.assertEqual(len([e for e in audit_of(self.tenant_id,
                                                  "alert.update")
                              if e[0] == aid]), len(acts) - 1)

    def test_patch_refusals_change_nothing(self):
        aid = self.ingest(alert()).json()["id"]
        before = alert_rows(self.tenant_id, "id = %s" % q(aid))
        for body, field in (({}, "body"),
                            ({"severity": "urgent"}, "severity"),
                            ({"severity": None}, "severity"),
                            ({"tags": "x"}, "tags"),
                            ({"tags": None}, "tags"),
                            ({"tags": ["x"] * 21}, "tags"),
                            ({"tags": ["a\u0007"]}, "tags"),
                            ({"assignee": ""}, "assignee"),
                            ({"assignee": "a" * 255}, "assignee"),
                            ({"status": "dismissed"}, "status"),
                            ({"title": "x"}, "title")):
            with self.subTest(body=body):
                r = request(self.base(), "PATCH", "/api/v1/alerts/" + aid,
                            body, self.h)
                self.assert_error(r, 400, "invalid_request", field)
        rkey, _ = new_key(self.tenant, "read")
        r = request(self.base(), "PATCH", "/api/v1/alerts/" + aid,
                    {"severity": "low"}, auth(rkey))
        self.assert_error(r, 403, "insufficient_scope")
        self.assertEqual(alert_rows(self.tenant_id, "id = %s" % q(aid)),
                         before)

    def test_dismiss(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                aid = self.ingest(alert()).json()["id"]
                r = request(base, "POST", "/api/v1/alerts/%s/dismiss" % aid,
                            {"reason_code": "known-good",
                             "comment": "IT's patch run.\nExpected."},
                            self.h)
                self.assertEqual(r.status, 200, r)
                g = r.json()
                self.assertEqual((g["status"], g["dismiss_reason"],
                                  g["dismiss_comment"]),
                                 ("dismissed", "known-good",
                                  "IT's patch run.\nExpected."))
                evs = [e for e in events_of(self.tenant_id,
                                            "alert.dismissed")
                       if e["data"]["alert"]["id"] == aid]
                self.assertEqual(len(evs), 1)
                self.assertEqual(evs[0]["data"]["alert"]["status"],
                                 "dismissed")
                r = request(base, "POST", "/api/v1/alerts/%s/dismiss" % aid,
                            {"reason_code": "test"}, self.h)
                self.assert_error(r, 409, "conflict")
                hist = request(base, "GET", "/api/v1/alerts/%s/history"
                               % aid, headers=self.h).json()["history"]
                self.assertEqual([h["action"] for h in hist],
                                 ["created", "dismissed"])
                self.assertEqual(hist[1]["reason_code"], "known-good")
                self.assertEqual(len([e for e in audit_of(
                    self.tenant_id, "alert.dismiss") if e[0] == aid]), 1)
                # Ingested again: still dismissed, counted.
                row = alert_rows(self.tenant_id, "id = %s" % q(aid))[0]
                a = STACK.query("SELECT source, external_id FROM alerts "
                                "WHERE id = %s" % q(aid))[0]
                r = self.ingest(alert(source=a[0], external_id=a[1]))
                self.assertEqual(r.json(), {"id": aid, "deduplicated": True,
                                            "status": "dismissed"})
                self.assertEqual(int(alert_rows(
                    self.tenant_id, "id = %s" % q(aid))[0][6]),
                    int(row[6]) + 1)

    def test_dismiss_refusals(self):
        aid = self.ingest(alert()).json()["id"]
        for body, field in (({}, "reason_code"),
                            ({"reason_code": "because"}, "reason_code"),
                            ({"reason_code": "other", "comment": 5},
                             "comment"),
                            ({"reason_code": "other",
                              "comment": "x" * 10001}, "comment"),
                            ({"reason_code": "other", "comment": "\u001b[2J"},
                             "comment"),
                            ({"reason_code": "test", "user": "x"}, "user")):
            with self.subTest(body=body):
                r = request(self.base(), "POST",
                            "/api/v1/alerts/%s/dismiss" % aid, body, self.h)
                self.assert_error(r, 400, "invalid_request", field)
        self.assertEqual(alert_rows(self.tenant_id, "id = %s" % q(aid))[0][5],
                         "triage")
        # An escalated alert belongs to its case.
        STACK.sql("UPDATE alerts SET status = 'escalated' WHERE id = %s"
                  % q(aid), database="vigil")
        r = request(self.base(), "POST", "/api/v1/alerts/%s/dismiss" % aid,
                    {"reason_code": "duplicate"}, self.h)
        self.assert_error(r, 409, "conflict")
        self.assertEqual(alert_rows(self.tenant_id, "id = %s" % q(aid))[0][5],
                         "escalated")

    def test_changes_and_ingests_of_one_alert_at_once(self):
        """PATCHes of an alert while batches (new alerts with it among
        them) ingest it again: the two take their locks in different
        orders, and a change that loses the deadlock is tried again, so
        every request succeeds and every ingest is counted."""
        base = self.base()
        a = alert()
        aid = self.ingest(a).json()["id"]
        start = threading.Barrier(8)
        rounds = 6

        def batches(_):
            start.wait()
            return [request(base, "POST", "/api/v1/alerts/batch",
                            {"alerts": [alert() for _ in range(20)] + [a]},
                            self.h).status for _ in range(rounds)]

        def patches(i):
            start.wait()
            return [request(base, "PATCH", "/api/v1/alerts/" + aid,
                            {"tags": ["t%d-%d" % (i, k)]}, self.h).status
                    for k in range(rounds)]

        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            fb = [ex.submit(batches, i) for i in range(4)]
            fp = [ex.submit(patches, i) for i in range(4)]
            statuses = [s for f in fb + fp for s in f.result()]
        self.assertEqual(set(statuses), {200}, statuses)
        self.assertEqual(alert_rows(self.tenant_id, "id = %s" % q(aid))[0][6],
                         str(1 + 4 * rounds))
        self.assertEqual(len([e for e in audit_of(self.tenant_id,
                                                  "alert.update")
                              if e[0] == aid]), 4 * rounds)

    def test_dismiss_a_suppressed_alert(self):
        tid = self.tenant_id
        now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        later = time.strftime("%Y-%m-%d %H:%M:%S",
                              time.gmtime(time.time() + 3600))
        h = hashlib.sha256(b"noise.example").hexdigest()
        STACK.sql("INSERT INTO observable_suppressions (tenant_id, id, type, "
                  "value, value_hash, scope, until, created_by, created_at) "
                  "VALUES (%s, 'sup_T74%023d', 'domain', 'noise.example', "
                  "%s, 'global', %s, 'test', %s)"
                  % (q(tid), next(_seq), q(h), q(later), q(now)),
                  database="vigil")
        r = self.ingest(alert(observables=[{"type": "domain",
                                            "value": "noise.example"}]))
        self.assertEqual(r.json()["status"], "suppressed")
        r = request(self.base(), "POST",
                    "/api/v1/alerts/%s/dismiss" % r.json()["id"],
                    {"reason_code": "known-good"}, self.h)
        self.assertEqual(r.json()["status"], "dismissed", r)


# --- the contract -----------------------------------------------------------------

class T79AlertsOpenApi(unittest.TestCase):
    """Runs last in this module: every response it got against
    doc/openapi.json."""

    def test_responses_through_prism(self):
        with _aobs_lock:
            seen = list(AOBSERVED)
        if not seen:
            self.skipTest("no responses recorded")
        api.check_through_prism(self, seen)

    def test_responses_match_the_document(self):
        doc = OpenApi(os.path.join(STACK.srcdir, "doc", "openapi.json"))
        with _aobs_lock:
            seen = list(AOBSERVED)
        if not seen:
            self.skipTest("no responses recorded")
        problems, checked = {}, 0
        for method, target, resp in seen:
            if not from_vigil(resp):
                continue
            checked += 1
            for p in doc.check(method, target, resp.status, resp.headers,
                               resp.body):
                p = re.sub(r"alert_[0-9A-Z]{26}", "{id}", p)
                problems[p] = problems.get(p, 0) + 1
        self.assertGreater(checked, 0)
        self.assertEqual(problems, {}, "%d responses checked:\n  %s" % (
            checked, "\n  ".join("%s (x%d)" % kv
                                 for kv in sorted(problems.items()))))


if __name__ == "__main__":
    unittest.main()
