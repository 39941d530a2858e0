"""test_metrics.py: GET /metrics (the Prometheus text format, the request
counters of a whole pool or mod_fcgid class, the database's figures, who
may read them), the "checks" of GET /healthz, and the access log's client
address and key prefix.

Run by run.py, which sets STACK here.
"""

import concurrent.futures
import json
import math
import os
import re
import secrets
import subprocess
import time
import unittest

import test_api as api
from test_api import Base, auth, new_key, new_tenant, parse_cgi, request

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4

METRICS_CT = "text/plain; version=0.0.4; charset=utf-8"
FINDING_ROUTE = "/api/v1/findings/{id}"


def setUpModule():
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    api.STACK = api.STACK or STACK


# --- a small parser of the text format (0.0.4) ----------------------------------

NAME_RE = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
SAMPLE_RE = re.compile(r"^(%s)(?:\{(.*)\})? (\S+)$" % NAME_RE)
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1),
                                                      m.group(1)), v)


def parse_labels(text, where):
    out, pos = {}, 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        if not m:
            raise AssertionError("%s: bad labels at %r" % (where,
                                                            text[pos:]))
        if m.group(1) in out:
            raise AssertionError("%s: label %s twice" % (where, m.group(1)))
        out[m.group(1)] = unescape(m.group(2))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                raise AssertionError("%s: bad labels %r" % (where, text))
            pos += 1
    return out


def parse(text):
    """{family: {"type", "help", "samples": [(name, labels, value)]}},
    raising AssertionError at the first thing the format does not allow:
    a sample without a TYPE before it, a TYPE after its samples or twice,
    a bad name, label or value, a series twice, a histogram whose buckets
    are not cumulative or whose +Inf is not its _count."""
    fams, seen = {}, set()
    assert text.endswith("\n"), "no newline at the end"
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d %r" % (n, line)
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            f = fams.setdefault(name, {"samples": []})
            assert "help" not in f, where + ": HELP twice"
            f["help"] = help_
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert re.fullmatch(NAME_RE, name), where
            assert typ in TYPES, where
            f = fams.setdefault(name, {"samples": []})
            assert "type" not in f, where + ": TYPE twice"
            assert not f["samples"], where + ": TYPE after samples"
            f["type"] = typ
            continue
        assert line and not line.startswith("#"), where
        m = SAMPLE_RE.match(line)
        assert m, where
        name, labels = m.group(1), parse_labels(m.group(2) or "", where)
        value = float(m.group(3))          # "+Inf", "NaN" too
        fam = name
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[:-len(suffix)]
            if name.endswith(suffix) and \
                    fams.get(base, {}).get("type") == "histogram":
                fam = base
        assert fam in fams and "type" in fams[fam], \
            where + ": a sample without a TYPE"
        key = (name, tuple(sorted(labels.items())))
        assert key not in seen, where + ": the same series twice"
        seen.add(key)
        fams[fam]["samples"].append((name, labels, value))
    for fam, f in fams.items():
        if f.get("type") != "histogram":
            continue
        series = {}
        for name, labels, value in f["samples"]:
            rest = tuple(sorted((k, v) for k, v in labels.items()
                                if k != "le"))
            s = series.setdefault(rest, {"buckets": []})
            if name == fam + "_bucket":
                s["buckets"].append((float(labels["le"]), value))
            elif name == fam + "_count":
                s["count"] = value
            elif name == fam + "_sum":
                s["sum"] = value
        for rest, s in series.items():
            les = [le for le, _ in s["buckets"]]
            assert les == sorted(les), (fam, rest, "le not increasing")
            assert les and math.isinf(les[-1]), (fam, rest, "no +Inf")
            counts = [v for _, v in s["buckets"]]
            assert counts == sorted(counts), (fam, rest, "not cumulative")
            assert counts[-1] == s.get("count"), (fam, rest,
                                                  "+Inf != _count")
            assert "sum" in s, (fam, rest, "no _sum")
    return fams


def value(fams, metric, **labels):
    """The sample's value, 0 when the series is absent."""
    fam = fams.get(metric) or fams.get(re.sub(r"_(bucket|sum|count)$", "",
                                              metric))
    for n, lab, v in (fam or {}).get("samples", []):
        if n == metric and all(lab.get(k) == v2
                               for k, v2 in labels.items()):
            return v
    return 0


# --- helpers -----------------------------------------------------------------------

class MBase(Base):

    def scrape(self, base=None):
        r = request(base or STACK.urls()["nginx"], "GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), METRICS_CT)
        self.assert_common_headers(r, json_body=False)
        return parse(r.body.decode("utf-8"))

    def health(self):
        r = request(STACK.urls()["nginx"], "GET", "/healthz")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def parallel(self, base, n, path, headers=None, method="GET"):
        """n requests, 8 at a time, so that several workers serve them."""
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            return list(ex.map(lambda _: request(base, method, path,
                                                 headers=headers),
                               range(n)))

    def log_lines(self, ids):
        """The access lines of these request ids (by id), as written."""
        with open(STACK.logfile("vigil-api.log"), errors="replace") as f:
            text = f.read()
        out = {}
        for line in text.splitlines():
            m = re.search(r" INFO req=(req_\w+) ", line)
            if m and m.group(1) in ids:
                out[m.group(1)] = line
        return out


class T240MetricsFormat(MBase):
    """The text format: every sample under a TYPE, labels escaped, a
    histogram's buckets cumulative with +Inf its _count; from every front
    end."""

    def test_format(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                request(base, "GET", "/healthz")
                fams = self.scrape(base)
                for fam in ("vigil_http_requests_total",
                            "vigil_http_request_duration_seconds",
                            "vigil_rate_limited_total",
                            "vigil_db_errors_total",
                            "vigil_outbox_events_pending",
                            "vigil_webhook_deliveries_pending",
                            "vigil_webhook_oldest_pending_age_seconds",
                            "vigil_webhook_deliveries_dead",
                            "vigil_scan_last_success_timestamp_seconds",
                            "vigil_scan_last_duration_seconds"):
                    self.assertIn(fam, fams)
                    self.assertTrue(fams[fam].get("help"), fam)
                self.assertEqual(fams["vigil_http_request_duration_seconds"]
                                 ["type"], "histogram")
                self.assertEqual(value(fams, "vigil_metrics_db_up"), 1)
                self.assertEqual(value(fams, "vigil_metrics_shared"), 1)
                self.assertEqual(value(fams, "vigil_build_info",
                                       version="0.1.0"), 1)
                self.assertGreater(value(
                    fams, "vigil_http_request_duration_seconds_count",
                    method="GET", route="/healthz"), 0)

    def test_parser_catches_what_is_wrong(self):
        """The parser above is a test: it fails what the format forbids."""
        good = ("# TYPE h histogram\nh_bucket{le=\"1\"} 1\n"
                "h_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n")
        parse(good)
        for bad in ("x 1\n",
                    "# TYPE x counter\nx{a=\"b\\q\"} 1\n",
                    "# TYPE x counter\nx{a=\"b\"} 1\nx{a=\"b\"} 2\n",
                    good.replace("h_count 2", "h_count 3"),
                    good.replace("le=\"1\"} 1", "le=\"1\"} 5")):
            with self.subTest(bad=bad):
                with self.assertRaises(AssertionError):
                    parse(bad)


class T241MetricsCounts(MBase):
    """The counters move by exactly the requests made, whichever worker
    (or mod_fcgid process) served each and whichever one answers the
    scrape."""

    def test_pool_counts_exactly(self):
        base = STACK.urls()["nginx"]
        slug = "azure-nsg-none-" + secrets.token_hex(4)
        path = "/api/v1/findings/" + slug
        before = self.scrape()
        n = 40
        rs = self.parallel(base, n, path, auth(self.key))
        self.assertEqual({r.status for r in rs}, {404})
        # the same through HEAD, counted apart
        rs += self.parallel(base, 8, path, auth(self.key), method="HEAD")
        # more than one worker served them
        lines = self.log_lines({r.header("X-Request-Id") for r in rs})
        pids = {re.search(r"vigil-api\[(\d+)\]", l).group(1)
                for l in lines.values()}
        self.assertGreater(len(pids), 1, "one worker served them all")
        # each scrape (whichever worker answers it) sees all of them
        for _ in range(4):
            after = self.scrape()
            for method, count in (("GET", n), ("HEAD", 8)):
                lab = dict(method=method, route=FINDING_ROUTE)
                self.assertEqual(
                    value(after, "vigil_http_requests_total", status="404",
                          **lab) -
                    value(before, "vigil_http_requests_total",
                          status="404", **lab), count)
                self.assertEqual(
                    value(after, "vigil_http_request_duration_seconds_count",
                          **lab) -
                    value(before, "vigil_http_request_duration_seconds_count",
                          **lab), count)
        # the id itself is no label anywhere
        text = request(base, "GET", "/metrics").body.decode()
        self.assertNotIn(slug, text)

    def test_fcgid_counts_exactly(self):
        base = STACK.urls().get("apache-fcgid")
        if base is None:
            self.skipTest("no Apache")
        path = "/api/v1/findings/azure-nsg-none-" + secrets.token_hex(4)
        before = self.scrape(base)
        self.assertEqual(value(before, "vigil_metrics_shared"), 1)
        rs = self.parallel(base, 24, path, auth(self.key))
        self.assertEqual({r.status for r in rs}, {404})
        for _ in range(3):
            after = self.scrape(base)
            lab = dict(method="GET", route=FINDING_ROUTE, status="404")
            self.assertEqual(
                value(after, "vigil_http_requests_total", **lab) -
                value(before, "vigil_http_requests_total", **lab), 24)


class T242MetricsRateLimited(MBase):
    """A 429 shows in vigil_rate_limited_total, one for one."""

    def test_429_counted(self):
        base = STACK.urls()["nginx"]
        tenant, tid = new_tenant("mrl")
        STACK.sql("UPDATE tenants SET rate_read_per_min = 3 WHERE id = "
                  "'%s'" % tid, database="vigil")
        key, _ = new_key(tenant, "read")
        path = "/api/v1/findings/azure-nsg-none-" + secrets.token_hex(4)
        api.wait_for_fresh_window(15)
        before = self.scrape()
        rs = [request(base, "GET", path, headers=auth(key))
              for _ in range(8)]
        limited = [r for r in rs if r.status == 429]
        self.assertGreaterEqual(len(limited), 4, [r.status for r in rs])
        after = self.scrape()
        self.assertEqual(
            value(after, "vigil_rate_limited_total", reason="read") -
            value(before, "vigil_rate_limited_total", reason="read"),
            len(limited))
        self.assertEqual(
            value(after, "vigil_http_requests_total", method="GET",
                  route=FINDING_ROUTE, status="429") -
            value(before, "vigil_http_requests_total", method="GET",
                  route=FINDING_ROUTE, status="429"), len(limited))


class T243MetricsBacklog(MBase):
    """The outbox's figures follow the events and deliveries the test
    queues, in /metrics and in /healthz's checks (whose status stays
    200 "ok")."""

    def test_backlog(self):
        tag = secrets.token_hex(4)
        day = 86400
        before = self.scrape()
        try:
            for i in range(3):
                STACK.sql(
                    "INSERT INTO events (id, tenant_id, type, created_at, "
                    "payload, dispatched) VALUES ('evt_m%s%d', '%s', "
                    "'webhook.test', UTC_TIMESTAMP() - INTERVAL %d SECOND, "
                    "'{}', 0)" % (tag, i, self.tenant_id, 2 * day + i),
                    database="vigil")
            for i, status in enumerate(("pending", "pending", "dead",
                                        "dead", "dead")):
                STACK.sql(
                    "INSERT INTO deliveries (id, tenant_id, webhook_id, "
                    "event_id, event_seq, status, next_attempt_at, "
                    "created_at, updated_at) VALUES ('dlv_m%s%d', '%s', "
                    "'wh_m%s', 'evt_m%s%d', 0, '%s', UTC_TIMESTAMP() - "
                    "INTERVAL %d SECOND, UTC_TIMESTAMP(), UTC_TIMESTAMP())"
                    % (tag, i, self.tenant_id, tag, tag, i, status,
                       day + i), database="vigil")
            after = self.scrape()
            for name, delta in (("vigil_outbox_events_pending", 3),
                                ("vigil_webhook_deliveries_pending", 2),
                                ("vigil_webhook_deliveries_dead", 3)):
                self.assertEqual(value(after, name) - value(before, name),
                                 delta, name)
            # The oldest pending event is the first in the outbox's order
            # (the lowest seq not dispatched): in a full run another
            # test's event may come before these back-dated ones.
            first = STACK.sql(
                "SELECT TIMESTAMPDIFF(SECOND, created_at, UTC_TIMESTAMP()) "
                "FROM events WHERE seq = (SELECT MIN(seq) FROM events "
                "WHERE dispatched = 0)", database="vigil").stdout.strip()
            got = value(after, "vigil_outbox_oldest_event_age_seconds")
            self.assertLessEqual(abs(got - int(first)), 5, (got, first))
            if int(first) >= 2 * day:
                self.assertGreaterEqual(got, 2 * day)
            self.assertGreaterEqual(
                value(after, "vigil_webhook_oldest_pending_age_seconds"),
                day + 1)
            h = self.health()
            self.assertEqual((h["status"], h["db"]), ("ok", "ok"))
            ob = h["checks"]["outbox"]
            self.assertEqual(ob["status"], "backlog", h)
            # The older of the first pending event and the longest-due
            # delivery (a day overdue; see above for the events).
            self.assertGreaterEqual(ob["oldest_pending_age_seconds"],
                                    max(day + 1, int(first) - 5), h)
            self.assertGreaterEqual(ob["pending_events"], 3, h)
            self.assertGreaterEqual(ob["pending_deliveries"], 2, h)
            self.assertGreaterEqual(ob["dead_deliveries"], 3, h)
        finally:
            STACK.sql("DELETE FROM deliveries WHERE id LIKE 'dlv_m%s%%'" %
                      tag, database="vigil")
            STACK.sql("DELETE FROM events WHERE id LIKE 'evt_m%s%%'" % tag,
                      database="vigil")
        gone = self.scrape()
        self.assertEqual(value(gone, "vigil_webhook_deliveries_dead"),
                         value(before, "vigil_webhook_deliveries_dead"))


class T244MetricsScans(MBase):
    """The last completed scan per integration: when it finished, how
    long it took, stale or not, the integration's name escaped as a
    label value; and /healthz's scans check."""

    def test_scans(self):
        tag = secrets.token_hex(4)
        fresh, old = "int_mf" + tag, "int_mo" + tag
        name = 'a "quoted" \\ name\nsecond line'
        try:
            for iid, nm, created in ((fresh, name, 1), (old, "never",
                                                        3 * 86400)):
                STACK.sql(
                    "INSERT INTO integrations (id, tenant_id, type, name, "
                    "config, created_at) VALUES ('%s', '%s', 'inventory', "
                    "%s, '{}', UTC_TIMESTAMP() - INTERVAL %d SECOND)" % (
                        iid, self.tenant_id, sql_str(nm), created),
                    database="vigil")
            for i, (status, ago, ms) in enumerate((("completed", 900, 4200),
                                                   ("completed", 300, 1500),
                                                   ("failed", 10, 99))):
                STACK.sql(
                    "INSERT INTO scans (id, tenant_id, integration_id, "
                    "status, trigger_type, created_at, started_at, "
                    "finished_at, duration_ms) VALUES ('scn_m%s%d', '%s', "
                    "'%s', '%s', 'api', UTC_TIMESTAMP(), UTC_TIMESTAMP(), "
                    "'2026-01-01 00:00:00' + INTERVAL %d SECOND, %d)" % (
                        tag, i, self.tenant_id, fresh, status, 1000 - ago,
                        ms), database="vigil")
            fams = self.scrape()
            lab = dict(tenant=self.tenant, integration=fresh, name=name)
            # the last completed one, not the later failed one
            self.assertEqual(value(
                fams, "vigil_scan_last_success_timestamp_seconds", **lab),
                1767225600 + 700)
            self.assertEqual(value(fams, "vigil_scan_last_duration_seconds",
                                   **lab), 1.5)
            self.assertEqual(value(fams, "vigil_scan_stale", **lab), 1)
            olab = dict(tenant=self.tenant, integration=old, name="never")
            self.assertEqual(value(fams, "vigil_scan_stale", **olab), 1)
            self.assertNotIn(old, [s[1].get("integration") for s in fams[
                "vigil_scan_last_success_timestamp_seconds"]["samples"]])
            text = request(STACK.urls()["nginx"], "GET",
                           "/metrics").body.decode()
            self.assertIn('name="a \\"quoted\\" \\\\ name\\nsecond line"',
                          text)
            sc = self.health()["checks"]["scans"]
            self.assertEqual(sc["status"], "stale")
            self.assertGreaterEqual(sc["stale_integrations"], 2)
            self.assertGreaterEqual(sc["oldest_success_age_seconds"],
                                    3 * 86400)
        finally:
            STACK.sql("DELETE FROM scans WHERE id LIKE 'scn_m%s%%'" % tag,
                      database="vigil")
            STACK.sql("DELETE FROM integrations WHERE id IN ('%s', '%s')"
                      % (fresh, old), database="vigil")


def sql_str(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'").replace(
        "\n", "\\n") + "'"


class T245MetricsDenied(MBase):
    """Only metrics_allow's addresses read the metrics: others get 403
    ip_not_allowed as JSON (vigil-api as CGI, with a vigil.conf of its
    own), whatever key they bring."""

    def cgi(self, conf_extra, remote, headers=None):
        conf = os.path.join(STACK.root, "metrics-%s.conf" %
                            secrets.token_hex(3))
        with open(STACK.conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text + "".join("%s = %s\n" % kv
                                   for kv in conf_extra.items()))
        env = dict(STACK.env(), VIGIL_CONF=conf, GATEWAY_INTERFACE="CGI/1.1",
                   SERVER_PROTOCOL="HTTP/1.1", REQUEST_METHOD="GET",
                   REQUEST_URI="/metrics", SCRIPT_NAME="", QUERY_STRING="",
                   REMOTE_ADDR=remote)
        for k, v in (headers or {}).items():
            env["HTTP_" + k.upper().replace("-", "_")] = v
        r = subprocess.run([STACK.vigil_api], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=60)
        os.unlink(conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        return parse_cgi(r.stdout)

    def test_allowlist(self):
        cases = (({}, "127.0.0.1", 200),
                 ({}, "192.0.2.1", 403),
                 ({"metrics_allow": "10.0.0.0/8, 2001:db8::/32"},
                  "10.9.8.7", 200),
                 ({"metrics_allow": "10.0.0.0/8, 2001:db8::/32"},
                  "2001:db8::5", 200),
                 ({"metrics_allow": "10.0.0.0/8"}, "127.0.0.1", 403),
                 ({"metrics_allow": ""}, "127.0.0.1", 403),
                 # X-Forwarded-For is believed from trusted proxies only
                 ({"metrics_allow": "10.0.0.0/8"}, "10.1.1.1", 200),
                 ({"metrics_allow": "10.0.0.0/8",
                   "trusted_proxies": "10.1.1.1"}, "10.1.1.1", 403))
        for extra, remote, want in cases:
            with self.subTest(conf=extra, remote=remote):
                status, hdrs, body = self.cgi(
                    extra, remote, {"X-API-Key": self.key,
                                    "X-Forwarded-For": "198.51.100.7"})
                self.assertEqual(status, want, body[:300])
                if want == 403:
                    self.assertEqual(hdrs.get("content-type"), api.JSON_CT)
                    e = json.loads(body)["error"]
                    self.assertEqual(e["code"], "ip_not_allowed")
                    self.assertNotIn(b"vigil_", body)
                else:
                    self.assertEqual(hdrs.get("content-type"), METRICS_CT)
                    parse(body.decode())


class T246MetricsHostile(MBase):
    """Hostile requests: refused with the API's JSON errors, and nothing a
    client sends becomes a label."""

    def test_hostile(self):
        base = STACK.urls()["nginx"]
        junk = "zz" + secrets.token_hex(5)
        # nginx takes a method of capital letters only
        odd = "".join(chr(ord("A") + b % 26) for b in secrets.token_bytes(9))
        for method, path, status, field in (
                ("GET", "/metrics?" + junk + "=1", 400, junk),
                ("GET", "/metrics?a=%zz", 400, "query"),
                ("POST", "/metrics", 405, None),
                ("DELETE", "/metrics", 405, None),
                ("GET", "/metrics/" + junk, 404, None),
                ("GET", "/api/v1/" + junk, 404, None),
                (odd, "/x/" + junk, 404, None)):
            with self.subTest(method=method, path=path):
                r = request(base, method, path)
                self.assert_error(r, status, {400: "invalid_request",
                                              404: "not_found",
                                              405: "method_not_allowed"}
                                  [status], field)
        r = request(base, "HEAD", "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"")
        text = request(base, "GET", "/metrics").body.decode()
        self.assertNotIn(junk, text.lower())
        self.assertNotIn(odd, text)
        fams = parse(text)
        methods = {lab["method"] for n, lab, v in
                   fams["vigil_http_requests_total"]["samples"]}
        self.assertLessEqual(methods, {"GET", "HEAD", "POST", "PUT", "PATCH",
                                       "DELETE", "OPTIONS", "other"})
        self.assertGreater(value(fams, "vigil_http_requests_total",
                                 method="other", route="unmatched",
                                 status="404"), 0)
        # a method the path does not take: no route (its template is
        # another method's), so unmatched with the method
        self.assertGreater(value(fams, "vigil_http_requests_total",
                                 method="POST", route="unmatched",
                                 status="405"), 0)


class T247AccessLog(MBase):
    """The access line names the client's address and the key's prefix
    (what key lists show), never the key."""

    def test_address_and_prefix(self):
        base = STACK.urls()["nginx"]
        good = request(base, "GET", "/api/v1/api-keys",
                       headers=auth(self.key))
        self.assertEqual(good.status, 200, good)
        unknown = "vgl_" + secrets.token_hex(20)
        bad = request(base, "GET", "/api/v1/api-keys",
                      headers=auth(unknown))
        self.assertEqual(bad.status, 401, bad)
        anon = request(base, "GET", "/healthz")
        ids = {r.header("X-Request-Id"): r for r in (good, bad, anon)}
        deadline = time.monotonic() + 5
        while True:
            lines = self.log_lines(set(ids))
            if len(lines) == 3 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(set(lines), set(ids))
        prefix = [k["prefix"] for k in
                  self.list_keys(base, self.key).json()["api_keys"]
                  if k["id"] == self.key_id][0]
        self.assertEqual(prefix, self.key[:12])
        want = {good: prefix, bad: "-", anon: "-"}
        for rid, r in ids.items():
            line = lines[rid]
            self.assertRegex(line, r" req=%s addr=127\.0\.0\.1 key=%s "
                             r"tenant=\S+ method=GET " % (rid, want[r]))
            self.assertNotIn(self.key[12:], line)
            self.assertNotIn(unknown[8:], line)
