"""test_observables.py: the observables API and Idempotency-Key against a
running private stack.

Observables: GET /observables/search over alerts and cases (written here
straight into their tables: the search reads what alert ingest and case
escalation write), normalised values, the cursor, tenants apart; POST
/observables/suppress, GET /observables/suppressions (active, expired,
all), DELETE /observables/suppressions/{id}, their audit entries, scopes,
and hostile input that writes nothing.

Idempotency-Key on POST: a replay answers the first status and body and
does nothing again (checked in the database), through every front end; a
different body, path or API key is 409; tenants do not collide; a key
still being served is 409; secrets shown once are not replayed; keys
older than 24 hours no longer count and vigilctl events prune deletes
them. Run by run.py, which sets STACK here.
"""

import hashlib
import json
import os
import random
import threading
import time
import unittest

import test_api as api
from test_api import auth, new_key, new_tenant

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def q(s):
    assert "'" not in s and "\\" not in s
    return "'%s'" % s


def ulid(prefix):
    return prefix + "_0" + "".join(random.choice(CROCKFORD)
                                   for _ in range(25))


def count(table, tenant_id, where="1"):
    return int(STACK.query("SELECT COUNT(*) FROM %s WHERE tenant_id = %s "
                           "AND %s" % (table, q(tenant_id), where))[0][0])


def sqltime(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(t)))


def add_observable(tenant_id, otype, value, first, last):
    """An observables row as alert ingest writes it; its seq."""
    h = hashlib.sha256(value.encode()).hexdigest()
    oid = ulid("obs")
    STACK.sql("INSERT INTO observables (tenant_id, id, type, value, "
              "value_hash, first_seen_at, last_seen_at) VALUES "
              "(%s, %s, %s, %s, %s, %s, %s)" % (
                  q(tenant_id), q(oid), q(otype), q(value), q(h),
                  q(sqltime(first)), q(sqltime(last))), database="vigil")
    return int(STACK.query("SELECT seq FROM observables WHERE id = %s"
                           % q(oid))[0][0])


def add_alert(tenant_id, title, obs_seqs, source="edr", status="triage",
              at=None):
    """An alert carrying the observables obs_seqs; (id, seq)."""
    at = at or time.time()
    aid = ulid("alert")
    STACK.sql("INSERT INTO alerts (tenant_id, id, source, external_id, "
              "severity, title, status, detected_at, ingested_at, "
              "last_seen_at, updated_at, asset, raw, tags) VALUES "
              "(%s, %s, %s, %s, 'high', %s, %s, %s, %s, %s, %s, '{}', '{}', "
              "'[]')" % (q(tenant_id), q(aid), q(source), q(aid), q(title),
                         q(status), q(sqltime(at)), q(sqltime(at)),
                         q(sqltime(at)), q(sqltime(at))), database="vigil")
    seq = int(STACK.query("SELECT seq FROM alerts WHERE id = %s"
                          % q(aid))[0][0])
    for o in obs_seqs:
        STACK.sql("INSERT INTO alert_observables (tenant_id, observable_seq, "
                  "alert_seq) VALUES (%s, %d, %d)" % (q(tenant_id), o, seq),
                  database="vigil")
        # and its count, as ingest keeps it (0031)
        STACK.sql("INSERT INTO observable_alert_counts (tenant_id, "
                  "observable_seq, n) VALUES (%s, %d, 1) ON DUPLICATE KEY "
                  "UPDATE n = n + 1" % (q(tenant_id), o), database="vigil")
    return aid, seq


def add_case(tenant_id, title, obs_seqs, first, last):
    cid = ulid("case")
    STACK.sql("INSERT INTO cases (tenant_id, id, title, description, "
              "severity, tags, techniques, created_by, created_at, "
              "updated_at) VALUES (%s, %s, %s, '', 'critical', '[]', '[]', "
              "'test', %s, %s)" % (q(tenant_id), q(cid), q(title),
                                   q(sqltime(first)), q(sqltime(first))),
              database="vigil")
    seq = int(STACK.query("SELECT seq FROM cases WHERE id = %s"
                          % q(cid))[0][0])
    for o in obs_seqs:
        STACK.sql("INSERT INTO case_observables (tenant_id, case_seq, "
                  "observable_seq, first_seen_at, last_seen_at) VALUES "
                  "(%s, %d, %d, %s, %s)" % (q(tenant_id), seq, o,
                                            q(sqltime(first)),
                                            q(sqltime(last))),
                  database="vigil")
    return cid, seq


class ObsBase(api.Base):

    def setUp(self):
        self.base = STACK.urls()["nginx"]

    def call(self, method, path, body=None, key=None, headers=None,
             base=None):
        h = auth(key or self.key)
        h.update(headers or {})
        return api.request(base or self.base, method, "/api/v1" + path, body,
                           h)

    def search(self, otype, value, key=None, **params):
        from urllib.parse import urlencode
        params.update({"type": otype, "value": value})
        return self.call("GET", "/observables/search?" + urlencode(params),
                         key=key)

    def until(self, seconds=3600):
        return api.rfc3339(time.time() + seconds)

    def suppress(self, key=None, headers=None, base=None, **body):
        body.setdefault("type", "domain")
        body.setdefault("value", "stats.example.com")
        body.setdefault("scope", "global")
        body.setdefault("until", self.until())
        return self.call("POST", "/observables/suppress", body, key=key,
                         headers=headers, base=base)


class T130ObservableSearch(ObsBase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        now = int(time.time())
        cls.ip = add_observable(cls.tenant_id, "ip", "203.0.113.4",
                                now - 7200, now - 60)
        other = add_observable(cls.tenant_id, "domain", "evil.example",
                               now - 7200, now - 60)
        cls.alerts = [add_alert(cls.tenant_id, "alert %d" % i,
                                [cls.ip, other] if i % 2 else [cls.ip],
                                at=now - 3600 + i)[0] for i in range(5)]
        add_alert(cls.tenant_id, "unrelated", [other])
        cls.case = add_case(cls.tenant_id, "the case", [cls.ip, other],
                            now - 1800, now - 900)[0]

    def test_hits_newest_first(self):
        # Written as an IPv4-mapped IPv6 address: the same observable.
        r = self.search("ip", " ::ffff:203.0.113.4 ")
        self.assertEqual(r.status, 200, r)
        self.assert_common_headers(r)
        body = r.json()
        self.assertEqual(body["observable"]["type"], "ip")
        self.assertEqual(body["observable"]["value"], "203.0.113.4")
        self.assertRegex(body["observable"]["first_seen_at"], api.TS_RE)
        self.assertLess(body["observable"]["first_seen_at"],
                        body["observable"]["last_seen_at"])
        self.assertEqual(body["total"], 6)
        self.assertFalse(body["has_more"])
        self.assertIsNone(body["next_cursor"])
        hits = body["hits"]
        self.assertEqual([(h["kind"], h["id"]) for h in hits],
                         [("case", self.case)] +
                         [("alert", a) for a in reversed(self.alerts)])
        self.assertEqual(hits[0]["status"], "open")
        self.assertEqual(hits[1]["source"], "edr")
        self.assertEqual(hits[1]["occurrences"], 1)
        self.assertNotIn("unrelated", r.body.decode())

    def test_cursor_pages(self):
        seen, cursor, pages = [], None, 0
        while True:
            extra = {"limit": 2}
            if cursor:
                extra["cursor"] = cursor
            r = self.search("ip", "203.0.113.4", **extra)
            self.assertEqual(r.status, 200, r)
            body = r.json()
            self.assertEqual(body["total"], 6)
            self.assertLessEqual(len(body["hits"]), 2)
            seen += [h["id"] for h in body["hits"]]
            pages += 1
            if not body["has_more"]:
                self.assertIsNone(body["next_cursor"])
                break
            cursor = body["next_cursor"]
        self.assertEqual(pages, 3)
        self.assertEqual(seen, [self.case] + list(reversed(self.alerts)))
        # A page of exactly the cases: the next starts on the alerts.
        r = self.search("ip", "203.0.113.4", limit=1)
        body = r.json()
        self.assertEqual([h["id"] for h in body["hits"]], [self.case])
        self.assertTrue(body["has_more"])
        r = self.search("ip", "203.0.113.4", limit=1,
                        cursor=body["next_cursor"])
        self.assertEqual([h["id"] for h in r.json()["hits"]],
                         [self.alerts[-1]])

    def test_never_seen_and_other_tenant(self):
        r = self.search("ip", "198.51.100.7")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"observable": None, "hits": [],
                                    "total": 0, "has_more": False,
                                    "next_cursor": None})
        # Another tenant does not see this one's observable.
        t, tid = new_tenant("obs-other")
        k, _ = new_key(t, "read")
        r = self.search("ip", "203.0.113.4", key=k)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.json()["observable"])
        self.assertEqual(r.json()["hits"], [])

    def test_hash_kind_and_case(self):
        h = "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"
        add_observable(self.tenant_id, "hash", h.lower(), time.time(),
                       time.time())
        r = self.search("hash", h)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["observable"]["value"], h.lower())
        self.assertEqual(r.json()["observable"]["hash_kind"], "sha1")

    def test_bad_input(self):
        before = count("audit_log", self.tenant_id)
        cases = [
            ("/observables/search?value=1.2.3.4", "type"),
            ("/observables/search?type=ipv9&value=1.2.3.4", "type"),
            ("/observables/search?type=ip", "value"),
            ("/observables/search?type=ip&value=999.1.1.1", "value"),
            ("/observables/search?type=ip&value=1.2.3.4'%20OR%201=1", "value"),
            ("/observables/search?type=domain&value=a;DROP%20TABLE%20x",
             "value"),
            ("/observables/search?type=hash&value=abc", "value"),
            ("/observables/search?type=ip&value=1.2.3.4&limit=0", "limit"),
            ("/observables/search?type=ip&value=1.2.3.4&cursor=x1", "cursor"),
            ("/observables/search?type=ip&value=1.2.3.4&cursor=c-1",
             "cursor"),
            ("/observables/search?type=ip&value=1.2.3.4&bogus=1", "bogus"),
            ("/observables/search?type=user&value=" + "a" * 5000, "value"),
        ]
        for path, field in cases:
            r = self.call("GET", path)
            self.assert_error(r, 400, "invalid_request", field)
        # Bad UTF-8 and control characters in the value.
        for v in ("%FF%FE", "a%01b"):
            r = self.call("GET", "/observables/search?type=user&value=" + v)
            self.assertEqual(r.status, 400, r)
        # SQL metacharacters in a free-form type are a value like another.
        r = self.search("user", "x' OR '1'='1")
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.json()["observable"])
        self.assertEqual(count("audit_log", self.tenant_id), before)

    def test_scope(self):
        k, _ = new_key(self.tenant, "write")
        r = self.search("ip", "203.0.113.4", key=k)
        self.assert_error(r, 403, "insufficient_scope")
        r = self.call("GET", "/observables/search?type=ip&value=1.2.3.4",
                      key="vgl_" + "x" * 40)
        self.assertEqual(r.status, 401, r)


class T131ObservableSuppress(ObsBase):

    def test_create_list_delete(self):
        until = self.until(86400)
        r = self.suppress(value="Stats.Example.COM.", scope="source:edr",
                          until=until)
        self.assertEqual(r.status, 201, r)
        self.assert_common_headers(r)
        s = r.json()
        self.assertRegex(s["id"], r"^sup_[0-9A-HJKMNP-TV-Z]{26}$")
        self.assertEqual((s["type"], s["value"], s["scope"], s["until"],
                          s["active"]),
                         ("domain", "stats.example.com", "source:edr", until,
                          True))
        self.assertEqual(s["created_by"], "key:" + self.key_id)
        row = STACK.query("SELECT type, value, value_hash, scope FROM "
                          "observable_suppressions WHERE id = %s"
                          % q(s["id"]))
        self.assertEqual(row, [["domain", "stats.example.com",
                                hashlib.sha256(b"stats.example.com")
                                .hexdigest(), "source:edr"]])
        self.assertEqual(count("audit_log", self.tenant_id,
                               "action = 'observable.suppress' AND "
                               "object = %s" % q(s["id"])), 1)
        # An expired one, as time leaves it: listed only when asked for.
        old = ulid("sup")
        STACK.sql("INSERT INTO observable_suppressions (tenant_id, id, "
                  "type, value, value_hash, scope, until, created_by, "
                  "created_at) VALUES (%s, %s, 'ip', '192.0.2.1', %s, "
                  "'global', %s, 'test', %s)" % (
                      q(self.tenant_id), q(old),
                      q(hashlib.sha256(b"192.0.2.1").hexdigest()),
                      q(sqltime(time.time() - 60)),
                      q(sqltime(time.time() - 7200))), database="vigil")
        r = self.call("GET", "/observables/suppressions")
        self.assertEqual(r.status, 200, r)
        ids = [x["id"] for x in r.json()["suppressions"]]
        self.assertIn(s["id"], ids)
        self.assertNotIn(old, ids)
        self.assertEqual(r.json()["total"], len(ids))
        r = self.call("GET", "/observables/suppressions?state=expired")
        exp = r.json()["suppressions"]
        self.assertEqual([x["id"] for x in exp], [old])
        self.assertFalse(exp[0]["active"])
        r = self.call("GET", "/observables/suppressions?state=all&limit=1")
        body = r.json()
        self.assertEqual(body["total"], len(ids) + 1)
        self.assertTrue(body["has_more"])
        r = self.call("GET", "/observables/suppressions?state=all&limit=500"
                      "&cursor=" + body["next_cursor"])
        rest = [x["id"] for x in r.json()["suppressions"]]
        both = [body["suppressions"][0]["id"]] + rest
        self.assertEqual(len(both), len(set(both)))
        self.assertEqual(set(both), set(ids) | {old})
        # Another tenant sees none of it and cannot delete it.
        t, tid = new_tenant("obs-other")
        k, _ = new_key(t)
        r = self.call("GET", "/observables/suppressions?state=all", key=k)
        self.assertEqual(r.json()["suppressions"], [])
        r = self.call("DELETE", "/observables/suppressions/" + s["id"], key=k)
        self.assert_error(r, 404, "not_found")
        self.assertEqual(count("observable_suppressions", self.tenant_id,
                               "id = %s" % q(s["id"])), 1)
        # Lifted: gone, audited; again is 404.
        r = self.call("DELETE", "/observables/suppressions/" + s["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["id"], s["id"])
        self.assertTrue(r.json()["deleted"])
        self.assertEqual(count("observable_suppressions", self.tenant_id,
                               "id = %s" % q(s["id"])), 0)
        self.assertEqual(count("audit_log", self.tenant_id,
                               "action = 'observable.unsuppress' AND "
                               "object = %s" % q(s["id"])), 1)
        r = self.call("DELETE", "/observables/suppressions/" + s["id"])
        self.assert_error(r, 404, "not_found")
        r = self.call("DELETE", "/observables/suppressions/nope")
        self.assert_error(r, 404, "not_found")
        r = self.call("DELETE", "/observables/suppressions/" + old)
        self.assertEqual(r.status, 200, r)

    def test_scopes(self):
        k, _ = new_key(self.tenant, "read")
        r = self.suppress(key=k)
        self.assert_error(r, 403, "insufficient_scope")
        r = self.call("DELETE", "/observables/suppressions/" + ulid("sup"),
                      key=k)
        self.assert_error(r, 403, "insufficient_scope")
        r = self.call("GET", "/observables/suppressions", key=k)
        self.assertEqual(r.status, 200, r)

    def test_hostile_input(self):
        before = (count("observable_suppressions", self.tenant_id),
                  count("audit_log", self.tenant_id))
        cases = [
            ({"type": "ipv9"}, "type"),
            ({"type": 5}, "type"),
            ({"value": 5}, "value"),
            ({"type": "ip", "value": "not-an-ip"}, "value"),
            ({"type": "ip", "value": "1.2.3.4'; DROP TABLE tenants; --"},
             "value"),
            ({"value": "x" * 5000}, "value"),
            ({"scope": "local"}, "scope"),
            ({"scope": "source:"}, "scope"),
            ({"scope": "source:a b"}, "scope"),
            ({"scope": "source:" + "a" * 65}, "scope"),
            ({"scope": ["global"]}, "scope"),
            ({"until": "tomorrow"}, "until"),
            ({"until": api.rfc3339(time.time() - 10)}, "until"),
            ({"until": api.rfc3339(time.time() + 366 * 86400)}, "until"),
            ({"until": 12345}, "until"),
            ({"extra": 1}, "extra"),
        ]
        for body, field in cases:
            r = self.suppress(**body)
            self.assert_error(r, 400, "invalid_request", field)
        for field in ("type", "value", "scope", "until"):
            body = {"type": "ip", "value": "1.2.3.4", "scope": "global",
                    "until": self.until()}
            del body[field]
            r = self.call("POST", "/observables/suppress", body)
            self.assert_error(r, 400, "invalid_request", field)
        r = self.call("POST", "/observables/suppress",
                      b'{"type":"user","value":"\xff","scope":"global",'
                      b'"until":"2099-01-01T00:00:00Z"}',
                      headers={"Content-Type": "application/json"})
        self.assert_error(r, 400, "invalid_request")
        r = self.call("POST", "/observables/suppress", b"x" * (2 * api.MIB),
                      headers={"Content-Type": "application/json"})
        self.assert_error(r, 413, "payload_too_large")
        r = self.call("POST", "/observables/suppress", b"type=ip",
                      headers={"Content-Type":
                               "application/x-www-form-urlencoded"})
        self.assert_error(r, 415, "unsupported_media_type")
        r = self.call("GET", "/observables/suppressions?state=bogus")
        self.assert_error(r, 400, "invalid_request", "state")
        self.assertEqual((count("observable_suppressions", self.tenant_id),
                          count("audit_log", self.tenant_id)), before)


class T132IdempotencyKey(ObsBase):
    """Idempotency-Key, on the suppress route and on routes that were
    there before it."""

    def sups(self, tenant_id=None):
        return count("observable_suppressions", tenant_id or self.tenant_id)

    def test_replay_through_every_front_end(self):
        for name, base in self.frontends():
            key = "replay-" + name + "-" + ulid("k")
            n = self.sups()
            body = {"type": "ip", "value": "192.0.2.%d" % random.randint(
                1, 254), "scope": "source:siem", "until": self.until()}
            first = self.suppress(headers={"Idempotency-Key": key},
                                  base=base, **body)
            self.assertEqual(first.status, 201, first)
            self.assertIsNone(first.header("Idempotent-Replayed"))
            self.assertEqual(self.sups(), n + 1)
            # Again, through every front end: the same answer, nothing new.
            for _, other in self.frontends():
                again = self.suppress(headers={"Idempotency-Key": key},
                                      base=other, **body)
                self.assertEqual(again.status, 201, again)
                self.assertEqual(again.body, first.body, (name, other))
                self.assertEqual(again.header("Idempotent-Replayed"), "true")
                self.assertEqual(again.header("Content-Type"),
                                 api.JSON_CT)
            self.assertEqual(self.sups(), n + 1, name)
            self.assertEqual(count("audit_log", self.tenant_id,
                                   "action = 'observable.suppress' AND "
                                   "object = %s" % q(first.json()["id"])), 1)

    def test_conflicts(self):
        key = ulid("conflict")
        body = {"type": "ip", "value": "192.0.2.10", "until": self.until()}
        r = self.suppress(headers={"Idempotency-Key": key}, **body)
        self.assertEqual(r.status, 201, r)
        n = self.sups()
        # Another body.
        r = self.suppress(headers={"Idempotency-Key": key},
                          **dict(body, value="192.0.2.11"))
        e = self.assert_error(r, 409, "conflict", "Idempotency-Key")
        self.assertIn("different request body", e["message"])
        # Another path (with a body it would take).
        r = self.call("POST", "/scans", {"integration_id": "x"},
                      headers={"Idempotency-Key": key})
        e = self.assert_error(r, 409, "conflict", "Idempotency-Key")
        self.assertIn("another operation", e["message"])
        # Another API key of the tenant.
        k, _ = new_key(self.tenant, "read,write")
        r = self.suppress(key=k, headers={"Idempotency-Key": key}, **body)
        e = self.assert_error(r, 409, "conflict", "Idempotency-Key")
        self.assertIn("another API key", e["message"])
        self.assertEqual(self.sups(), n)
        # Another tenant with the same key: its own, no collision.
        t, tid = new_tenant("idem-other")
        k2, _ = new_key(t)
        r = self.suppress(key=k2, headers={"Idempotency-Key": key}, **body)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.sups(tid), 1)
        self.assertEqual(self.sups(), n)
        rows = STACK.query("SELECT tenant_id FROM idempotency_keys WHERE "
                           "idem_key = %s ORDER BY tenant_id" % q(key))
        self.assertEqual(sorted(r[0] for r in rows),
                         sorted([self.tenant_id, tid]))

    def test_bad_keys(self):
        n = self.sups()
        for key in ("has space", "x" * 256, "tab\tkey", "é"):
            r = self.suppress(headers={"Idempotency-Key": key})
            self.assert_error(r, 400, "invalid_request", "Idempotency-Key")
        self.assertEqual(self.sups(), n)
        r = self.suppress(headers={"Idempotency-Key": "~" * 255})
        self.assertEqual(r.status, 201, r)

    def test_client_errors_are_kept(self):
        """A 400 the handler gave is the request's answer: replayed."""
        key = ulid("bad")
        bad = {"type": "ip", "value": "1.2.3.4", "scope": "nowhere",
               "until": self.until()}
        r1 = self.suppress(headers={"Idempotency-Key": key}, **bad)
        self.assert_error(r1, 400, "invalid_request", "scope")
        r2 = self.suppress(headers={"Idempotency-Key": key}, **bad)
        self.assertEqual((r2.status, r2.body), (r1.status, r1.body))
        self.assertEqual(r2.header("Idempotent-Replayed"), "true")
        # Refused before running (malformed JSON): the key is not used.
        key = ulid("early")
        r = self.call("POST", "/observables/suppress", b"{",
                      headers={"Content-Type": "application/json",
                               "Idempotency-Key": key})
        self.assert_error(r, 400, "invalid_request")
        self.assertEqual(int(STACK.query(
            "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = %s"
            % q(key))[0][0]), 0)

    def test_existing_routes(self):
        """Routes older than the header: the webhook test event, scans."""
        r = self.call("POST", "/webhooks", {
            "url": "https://93.184.215.14/hook", "events": ["*"],
            "secret": "a-shared-secret-1234"})
        self.assertEqual(r.status, 201, r)
        wid = r.json()["webhook_id"]
        key = ulid("test")
        events = count("events", self.tenant_id, "type = 'webhook.test'")
        r1 = self.call("POST", "/webhooks/%s/test" % wid,
                       headers={"Idempotency-Key": key})
        self.assertEqual(r1.status, 202, r1)
        r2 = self.call("POST", "/webhooks/%s/test" % wid,
                       headers={"Idempotency-Key": key})
        self.assertEqual((r2.status, r2.body), (r1.status, r1.body))
        self.assertEqual(count("events", self.tenant_id,
                               "type = 'webhook.test'"), events + 1)
        # A new API key is shown once: a retry is told it was done, and
        # no second key is made, nor the first one's text kept.
        keys = count("api_keys", self.tenant_id)
        key = ulid("apikey")
        r1 = self.call("POST", "/api-keys", {"name": "ci", "scopes":
                                             ["read"]},
                       headers={"Idempotency-Key": key})
        self.assertEqual(r1.status, 201, r1)
        secret = r1.json()["key"]
        r2 = self.call("POST", "/api-keys", {"name": "ci", "scopes":
                                             ["read"]},
                       headers={"Idempotency-Key": key})
        e = self.assert_error(r2, 409, "conflict", "Idempotency-Key")
        self.assertIn("already done (status 201)", e["message"])
        self.assertEqual(count("api_keys", self.tenant_id), keys + 1)
        stored = STACK.query("SELECT COALESCE(HEX(body), '') FROM "
                             "idempotency_keys WHERE idem_key = %s" % q(key))
        self.assertNotIn(secret.encode().hex().upper(), stored[0][0])

    def test_concurrent_same_key(self):
        key = ulid("race")
        body = {"type": "ip", "value": "192.0.2.99", "scope": "global",
                "until": self.until()}
        n = self.sups()
        out = []

        def one():
            out.append(self.suppress(headers={"Idempotency-Key": key},
                                     **body))

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(self.sups(), n + 1)
        ok = [r for r in out if r.status == 201]
        self.assertGreaterEqual(len(ok), 1)
        self.assertEqual(len({r.body for r in ok}), 1)
        for r in out:
            if r.status != 201:
                self.assert_error(r, 409, "conflict", "Idempotency-Key")
                self.assertEqual(r.header("Retry-After"), "1")

    def test_in_progress_then_abandoned(self):
        """A claim whose request is still being served is 409 with
        Retry-After; one left unanswered for 5 minutes (its worker died)
        is taken over by the same request."""
        key = ulid("claim")
        body = {"type": "ip", "value": "192.0.2.77", "scope": "global",
                "until": self.until()}
        raw = json.dumps(body).encode()
        target = hashlib.sha256(b"POST\0/api/v1/observables/suppress\0")
        STACK.sql("INSERT INTO idempotency_keys (tenant_id, idem_key, "
                  "key_id, target_hash, body_hash, state, created_at) "
                  "VALUES (%s, %s, %s, %s, %s, 'running', UTC_TIMESTAMP())"
                  % (q(self.tenant_id), q(key), q(self.key_id),
                     q(target.hexdigest()),
                     q(hashlib.sha256(raw).hexdigest())), database="vigil")
        n = self.sups()
        r = self.call("POST", "/observables/suppress", raw,
                      headers={"Content-Type": "application/json",
                               "Idempotency-Key": key})
        e = self.assert_error(r, 409, "conflict", "Idempotency-Key")
        self.assertIn("still being processed", e["message"])
        self.assertEqual(r.header("Retry-After"), "1")
        self.assertEqual(self.sups(), n)
        STACK.sql("UPDATE idempotency_keys SET created_at = created_at - "
                  "INTERVAL 6 MINUTE WHERE idem_key = %s" % q(key),
                  database="vigil")
        r = self.call("POST", "/observables/suppress", raw,
                      headers={"Content-Type": "application/json",
                               "Idempotency-Key": key})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.sups(), n + 1)
        r2 = self.call("POST", "/observables/suppress", raw,
                       headers={"Content-Type": "application/json",
                                "Idempotency-Key": key})
        self.assertEqual((r2.status, r2.body), (r.status, r.body))

    def test_expiry_and_prune(self):
        key = ulid("old")
        body = {"type": "ip", "value": "192.0.2.50", "until": self.until()}
        r = self.suppress(headers={"Idempotency-Key": key}, **body)
        self.assertEqual(r.status, 201, r)
        n = self.sups()
        STACK.sql("UPDATE idempotency_keys SET created_at = created_at - "
                  "INTERVAL 25 HOUR WHERE idem_key = %s" % q(key),
                  database="vigil")
        # After 24 hours the key is a new one: the request runs again.
        r2 = self.suppress(headers={"Idempotency-Key": key}, **body)
        self.assertEqual(r2.status, 201, r2)
        self.assertNotEqual(r2.json()["id"], r.json()["id"])
        self.assertEqual(self.sups(), n + 1)
        STACK.sql("UPDATE idempotency_keys SET created_at = created_at - "
                  "INTERVAL 25 HOUR WHERE idem_key = %s" % q(key),
                  database="vigil")
        out = STACK.vigilctl("events", "prune").stdout
        self.assertRegex(out, r"pruned [1-9]\d* idempotency keys")
        self.assertEqual(int(STACK.query(
            "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = %s"
            % q(key))[0][0]), 0)


class T133SuppressionAtIngest(ObsBase):
    """Suppression by scope and expiry, end to end: an alert whose every
    observable is suppressed for its source is ingested with status
    suppressed, stored, searchable, with no alert.created event."""

    def ingest(self, source, ext, observables):
        r = self.call("POST", "/alerts", {
            "source": source, "external_id": ext, "severity": "high",
            "title": "Beacon to a known CDN", "detected_at":
            api.rfc3339(time.time() - 60),
            "asset": {"hostname": "ws-042", "owner": "a@example.com"},
            "observables": observables, "raw": {"id": ext}})
        self.assertIn(r.status, (200, 201), r)
        return r.json()["id"]

    def status(self, aid):
        return STACK.query("SELECT status FROM alerts WHERE tenant_id = %s "
                           "AND id = %s" % (q(self.tenant_id), q(aid)))[0][0]

    def created_events(self, aid):
        return count("events", self.tenant_id, "type = 'alert.created' AND "
                     "payload LIKE %s" % q("%" + aid + "%"))

    def test_scope_and_expiry(self):
        obs = [{"type": "domain", "value": "CDN.Example.NET."},
               {"type": "ip", "value": "::ffff:198.51.100.20"}]
        for o in obs:
            r = self.suppress(type=o["type"], value=o["value"],
                              scope="source:edr")
            self.assertEqual(r.status, 201, r)
        # Every observable suppressed for its source: stored, suppressed,
        # searchable, no event.
        a1 = self.ingest("edr", ulid("x"), obs)
        self.assertEqual(self.status(a1), "suppressed")
        self.assertEqual(self.created_events(a1), 0)
        r = self.search("ip", "198.51.100.20")
        self.assertIn(a1, [h["id"] for h in r.json()["hits"]])
        self.assertEqual([h["status"] for h in r.json()["hits"]
                          if h["id"] == a1], ["suppressed"])
        # The same values from another source: not suppressed.
        a2 = self.ingest("siem", ulid("x"), obs)
        self.assertEqual(self.status(a2), "triage")
        self.assertEqual(self.created_events(a2), 1)
        # One observable not suppressed: the alert is not.
        a3 = self.ingest("edr", ulid("x"), obs + [
            {"type": "hostname", "value": "ws-042.corp.example"}])
        self.assertEqual(self.status(a3), "triage")
        self.assertEqual(self.created_events(a3), 1)
        # Expired (until passed): no longer applies, by itself.
        STACK.sql("UPDATE observable_suppressions SET until = "
                  "UTC_TIMESTAMP() - INTERVAL 1 SECOND WHERE tenant_id = %s"
                  % q(self.tenant_id), database="vigil")
        a4 = self.ingest("edr", ulid("x"), obs)
        self.assertEqual(self.status(a4), "triage")
        self.assertEqual(self.created_events(a4), 1)
        r = self.call("GET", "/observables/suppressions")
        self.assertEqual(r.json()["suppressions"], [])
        # A global one applies to every source.
        for o in obs:
            self.assertEqual(self.suppress(type=o["type"], value=o["value"],
                                           scope="global").status, 201)
        a5 = self.ingest("siem", ulid("x"), obs)
        self.assertEqual(self.status(a5), "suppressed")
        self.assertEqual(self.created_events(a5), 0)


def sighting(observables, source="edr"):
    """An alert body carrying observables, with a fresh external_id."""
    return {"source": source, "external_id": ulid("x"), "severity": "low",
            "title": "Sighting", "detected_at": api.rfc3339(time.time() - 60),
            "observables": observables}


class T186ObservableSightings(ObsBase):
    """A known observable's last_seen_at moves when an alert carrying it is
    ingested more than a minute after it, and stays within that minute (a
    batch does not write, or lock, every value it carries again); a new one
    is first and last seen at its first alert; totals count the alerts."""

    def seen(self, otype, value):
        body = self.search(otype, value).json()
        o = body["observable"]
        return o["first_seen_at"], o["last_seen_at"], body["total"]

    def check(self, send, tag):
        now = time.time()
        recent, old, new = ("recent-%s.example" % tag, "old-%s.example" % tag,
                            "new-%s.example" % tag)
        add_observable(self.tenant_id, "domain", recent, now - 3600, now - 30)
        add_observable(self.tenant_id, "domain", old, now - 3600, now - 120)
        before = {v: self.seen("domain", v) for v in (recent, old)}
        start = api.rfc3339(time.time() - 2)
        send([{"type": "domain", "value": v} for v in (recent, old, new)])
        after = {v: self.seen("domain", v) for v in (recent, old, new)}
        # Seen 30 s ago: left as it was.
        self.assertEqual(after[recent][:2], before[recent][:2])
        # Seen 2 minutes ago: moved to the ingest, first_seen_at kept.
        self.assertEqual(after[old][0], before[old][0])
        self.assertGreaterEqual(after[old][1], start)
        # New: first and last seen now.
        self.assertEqual(after[new][0], after[new][1])
        self.assertGreaterEqual(after[new][0], start)
        return after

    def test_one_alert(self):
        def send(obs):
            r = self.call("POST", "/alerts", sighting(obs))
            self.assertEqual(r.status, 201, r)
        after = self.check(send, "one")
        self.assertEqual([after[v][2] for v in sorted(after)], [1, 1, 1])

    def test_batch(self):
        def send(obs):
            r = self.call("POST", "/alerts/batch", {"alerts": [
                sighting(obs), sighting(obs[:2]), sighting(obs[1:])]})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["created"], 3, r)
        after = self.check(send, "batch")
        # new 2 alerts, old 3, recent 2
        self.assertEqual([after[v][2] for v in sorted(after)], [2, 3, 2])


class T187ConcurrentBatches(ObsBase):
    """Eight batches at once sharing twelve values, new to the tenant:
    every alert stored, and each value's total exactly the alerts that
    carry it (the counts are written by ingest under the lock that orders
    a tenant's ingests, in one order, so that batches neither deadlock for
    good nor lose a count)."""

    def test_batches_sharing_values_at_once(self):
        import concurrent.futures
        ingest_key, _ = new_key(self.tenant, "ingest")
        values = ["shared-%d.example" % i for i in range(12)]
        expected = dict.fromkeys(values, 0)
        batches = []
        for b in range(8):
            rnd = random.Random(b)
            items = []
            for i in range(60):
                picks = rnd.sample(values, 3)
                for v in picks:
                    expected[v] += 1
                items.append(sighting([{"type": "domain", "value": v}
                                       for v in picks]))
            batches.append(items)
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            rs = list(ex.map(lambda items: self.call(
                "POST", "/alerts/batch", {"alerts": items}, key=ingest_key),
                batches))
        for r in rs:
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["created"], 60, r)
        self.assertEqual(count("alerts", self.tenant_id), 480)
        for v in values:
            body = self.search("domain", v, limit=1).json()
            self.assertEqual(body["total"], expected[v], v)
        self.assertEqual(count("alert_observables", self.tenant_id), 1440)


if __name__ == "__main__":
    unittest.main()
