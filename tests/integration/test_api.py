"""test_api.py: Vigil's HTTP API and tools against a running private stack.

Run by run.py, which starts the stack (stack.py) and sets STACK. Every HTTP
test runs against each front end the stack has (nginx -> pool, Apache
mod_fcgid, Apache mod_proxy_fcgi -> pool), as a subTest per front end.
"""

import concurrent.futures
import contextlib
import datetime
import hashlib
import http.client
import itertools
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import unittest
import urllib.parse

import stack as stackmod

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4         # the pool's --workers, set by run.py

REQ_ID_RE = re.compile(r"^req_[0-9A-Z]{26}$")
KEY_RE = re.compile(r"^vgl_[0-9A-Za-z]{40}$")
KEY_ID_RE = re.compile(r"^key_[0-9A-Z]{26}$")
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
JSON_CT = "application/json; charset=utf-8"
HEALTH_OK = {"status": "ok", "db": "ok", "version": "0.1.0"}


def health_core(body):
    """/healthz's answer without its "checks" (test_metrics.py holds
    those), which must be there, as an object, while the database is."""
    assert isinstance(body.get("checks"), dict), body
    return {k: v for k, v in body.items() if k != "checks"}
HEALTH_DOWN = {"status": "degraded", "db": "unreachable", "version": "0.1.0"}
SQL_EVIL = ["' OR 1=1 --", '"; DROP TABLE tenants; --',
            "key_' OR '1'='1", "1; DELETE FROM api_keys"]
MIB = 1024 * 1024

_names = itertools.count(1)


def setUpModule():
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")


# --- HTTP ------------------------------------------------------------------

class Resp:
    def __init__(self, status, headers, body, frontend=""):
        self.status = status
        self.headers = headers
        self.body = body
        self.frontend = frontend

    def header(self, name):
        return self.headers.get(name)

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<%s %d %r>" % (self.frontend, self.status, self.body[:300])


def request(base, method, path, body=None, headers=None, timeout=60,
            chunked=False):
    """One request on a fresh connection. body: bytes, str or a JSON-able
    object (sent as application/json unless headers say otherwise); sent
    with Transfer-Encoding: chunked when chunked is set."""
    u = urllib.parse.urlsplit(base)
    h = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in h.items():
            conn.putheader(k, v)
        if body is not None and chunked:
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            for i in range(0, len(body), 65536):
                part = body[i:i + 65536]
                conn.send(b"%x\r\n%s\r\n" % (len(part), part))
            conn.send(b"0\r\n\r\n")
        else:
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        resp = Resp(r.status, r.headers, data, base)
        _observe(method, path, resp)
        return resp
    finally:
        conn.close()


# Every response vigil-api gave the suite, checked against the OpenAPI
# document at the end (T99OpenApi).
OBSERVED = []
_observed_lock = threading.Lock()


def _observe(method, path, resp):
    with _observed_lock:
        if len(OBSERVED) < 20000:
            OBSERVED.append((method, path, resp))


def auth(key, form="X-API-Key"):
    if form == "Authorization":
        return {"Authorization": "Bearer " + key}
    return {form: key}


# --- fixtures -------------------------------------------------------------------

def new_tenant(prefix="t"):
    name = "%s-%d-%d" % (prefix, os.getpid() % 100000, next(_names))
    tid = STACK.vigilctl("tenant", "create", name).stdout.strip()
    return name, tid


def new_key(tenant, scopes="read,write,admin", expires=None, name=None):
    """(key, id) made with vigilctl."""
    return STACK.key_create(tenant, scopes, expires=expires, name=name)


def rfc3339(t):
    return datetime.datetime.fromtimestamp(
        int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def table_fingerprint():
    """The schema and the row counts that hostile input must not change."""
    cols = STACK.query(
        "SELECT table_name, column_name, column_type FROM "
        "information_schema.columns WHERE table_schema = 'vigil' "
        "ORDER BY 1, 2", database=None)
    routines = STACK.query(
        "SELECT routine_name, created, last_altered FROM "
        "information_schema.routines WHERE routine_schema = 'vigil' "
        "ORDER BY 1", database=None)
    tenants = STACK.query("SELECT COUNT(*) FROM tenants")
    migrations = STACK.query(
        "SELECT * FROM schema_migrations ORDER BY 1")
    return cols, routines, tenants, migrations


def wait_until(pred, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


# --- OpenAPI conformance ---------------------------------------------------------

class OpenApi:
    """Checks responses against doc/openapi.json: the operation's documented
    statuses, required headers and body schema (a JSON Schema subset:
    $ref, type, const, enum, properties, required, additionalProperties,
    items, min/maxItems, uniqueItems, min/maxLength, pattern, minimum,
    maximum, anyOf, oneOf, allOf)."""

    METHODS = ("get", "head", "post", "put", "patch", "delete")

    def __init__(self, path):
        with open(path) as f:
            self.doc = json.load(f)
        self.ops = []
        for tmpl, item in self.doc.get("paths", {}).items():
            rx = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+",
                                         re.escape(tmpl)) + "$")
            self.ops.append((tmpl, rx, item))

    def template(self, path):
        """The first template of the document that path matches, or None."""
        for tmpl, rx, item in self.ops:
            if rx.match(path):
                return tmpl
        return None

    def methods(self, path):
        """The methods the document gives a concrete path: those of every
        template it matches (/alerts/batch is also an /alerts/{id}, as in
        the router)."""
        return {m.upper() for tmpl, rx, item in self.ops if rx.match(path)
                for m in item if m in self.METHODS}

    def resolve(self, node):
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError("external $ref " + ref)
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            seen += 1
            if seen > 50:
                raise ValueError("$ref loop at " + ref)
        return node

    def validate(self, value, schema, where="$"):
        """A list of problems (empty when value conforms)."""
        schema = self.resolve(schema)
        if schema is True or schema == {}:
            return []
        if schema is False:
            return ["%s: not allowed" % where]
        errs = []
        t = schema.get("type")
        if t is not None:
            types = t if isinstance(t, list) else [t]
            if not any(self._is_type(value, x) for x in types):
                return ["%s: %r is not of type %s" % (where, value, t)]
        if "const" in schema and not self._same(value, schema["const"]):
            errs.append("%s: %r is not %r" % (where, value, schema["const"]))
        if "enum" in schema and not any(self._same(value, e)
                                        for e in schema["enum"]):
            errs.append("%s: %r not in %r" % (where, value, schema["enum"]))
        if isinstance(value, str):
            if len(value) < schema.get("minLength", 0):
                errs.append("%s: shorter than minLength" % where)
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                errs.append("%s: longer than maxLength" % where)
            if "pattern" in schema and not re.search(schema["pattern"],
                                                     value):
                errs.append("%s: %r does not match %s" % (
                    where, value, schema["pattern"]))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                errs.append("%s: %r < minimum" % (where, value))
            if "maximum" in schema and value > schema["maximum"]:
                errs.append("%s: %r > maximum" % (where, value))
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for k in schema.get("required", []):
                if k not in value:
                    errs.append("%s: missing %r" % (where, k))
            addl = schema.get("additionalProperties", True)
            for k, v in value.items():
                if k in props:
                    errs += self.validate(v, props[k], "%s.%s" % (where, k))
                elif addl is False:
                    errs.append("%s: unexpected property %r" % (where, k))
                elif isinstance(addl, dict):
                    errs += self.validate(v, addl, "%s.%s" % (where, k))
        if isinstance(value, list):
            if len(value) < schema.get("minItems", 0):
                errs.append("%s: fewer than minItems" % where)
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                errs.append("%s: more than maxItems" % where)
            if schema.get("uniqueItems") and len(
                    {json.dumps(v, sort_keys=True) for v in value}) != \
                    len(value):
                errs.append("%s: items repeat" % where)
            if "items" in schema:
                for i, v in enumerate(value):
                    errs += self.validate(v, schema["items"],
                                          "%s[%d]" % (where, i))
        for sub in schema.get("allOf", []):
            errs += self.validate(value, sub, where)
        if "anyOf" in schema and not any(
                not self.validate(value, sub, where)
                for sub in schema["anyOf"]):
            errs.append("%s: %r matches none of anyOf" % (where, value))
        if "oneOf" in schema and sum(
                1 for sub in schema["oneOf"]
                if not self.validate(value, sub, where)) != 1:
            errs.append("%s: %r does not match exactly one of oneOf" %
                        (where, value))
        return errs

    @staticmethod
    def _is_type(v, t):
        return {
            "null": v is None,
            "boolean": isinstance(v, bool),
            "integer": isinstance(v, int) and not isinstance(v, bool),
            "number": isinstance(v, (int, float)) and
            not isinstance(v, bool),
            "string": isinstance(v, str),
            "array": isinstance(v, list),
            "object": isinstance(v, dict),
        }.get(t, False)

    @staticmethod
    def _same(a, b):
        return type(a) is type(b) and a == b

    def check(self, method, target, status, headers, body):
        """Problems with one response. An operation's undocumented status is
        a problem; unknown paths and methods must still be Error bodies."""
        path = urllib.parse.urlsplit(target).path
        op, methods = None, self.methods(path)
        for tmpl, rx, item in self.ops:
            if rx.match(path) and method.lower() in item:
                op = item[method.lower()]
                break
        where = "%s %s -> %d" % (method, path[:80], status)
        if op is None and status < 400:
            return ["%s: operation not in the OpenAPI document" % where]
        errs = []
        if op is None and methods and status == 405:
            # A documented path, an undocumented method: the answer the
            # document describes once for every path, and Allow naming
            # exactly the path's documented methods.
            resp = self.doc["x-vigil-method-not-allowed"]
            allow = {m.strip() for m in (headers.get("Allow") or "").split(",")
                     if m.strip()}
            if allow != methods:
                errs.append("%s: Allow %r, the document has %s" % (
                    where, headers.get("Allow"), ", ".join(sorted(methods))))
        elif op is None:
            resp = {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}},
                "headers": {k: {"$ref": "#/components/headers/" + k}
                            for k in ("X-Request-Id", "X-Content-Type-Options",
                                      "X-Frame-Options", "Referrer-Policy",
                                      "Cache-Control")}}
        else:
            responses = op.get("responses", {})
            resp = responses.get(str(status)) or \
                responses.get("%dXX" % (status // 100)) or \
                responses.get("default")
            if resp is None:
                return ["%s: status not documented (documented: %s)" % (
                    where, ", ".join(sorted(responses)))]
        resp = self.resolve(resp)
        for name, h in resp.get("headers", {}).items():
            h = self.resolve(h)
            v = headers.get(name)
            if v is None:
                if h.get("required"):
                    errs.append("%s: header %s missing" % (where, name))
                continue
            sch = self.resolve(h.get("schema", {}))
            if self._is_int_schema(sch):
                if not re.match(r"^-?\d+$", v):
                    errs.append("%s: header %s=%r is not an integer" % (
                        where, name, v))
                    continue
                v = int(v)
            errs += ["%s: header %s" % (where, e) for e in
                     self.validate(v, sch, name)]
        content = resp.get("content")
        if method == "HEAD" or not content:
            return errs
        ct = (headers.get("Content-Type") or "").split(";")[0].strip()
        media = content.get(ct)
        if media is None:
            return errs + ["%s: Content-Type %r not documented" % (where, ct)]
        # Bytes (a downloaded file): documented as a string schema, and
        # the whole body announced is there.
        if self.resolve(media.get("schema", {})).get("type") == "string":
            cl = headers.get("Content-Length")
            if cl is not None and int(cl) != len(body):
                errs.append("%s: %d bytes, Content-Length %s" % (
                    where, len(body), cl))
            return errs
        try:
            value = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            return errs + ["%s: body is not JSON: %s" % (where, e)]
        if "schema" in media:
            errs += ["%s: %s" % (where, e) for e in
                     self.validate(value, media["schema"])]
        return errs

    def _is_int_schema(self, sch):
        t = sch.get("type")
        return t == "integer" or (isinstance(t, list) and "integer" in t)


# HEAD is left out: Prism 5.14 cannot pass a HEAD answer on (it parses the
# absent body by its Content-Type and answers 500); so are methods Node's
# HTTP parser refuses (the hostile tests' BREW).
THROUGH_PRISM = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def check_through_prism(case, seen):
    """With VIGIL_PRISM=1: every answer vigil-api gave in seen [(method,
    target, Resp)] sent through Stoplight Prism's validating proxy
    (stack.Stack.prism_check); case fails on any violation Prism reports,
    listed by operation."""
    if os.environ.get("VIGIL_PRISM") != "1":
        case.skipTest("VIGIL_PRISM=1 runs it (./dev test does)")
    case.assertIsNotNone(STACK.prism_url(), "Prism is not running")
    doc = OpenApi(os.path.join(STACK.srcdir, "doc", "openapi.json"))
    seen = [(m, t, r) for m, t, r in seen
            if from_vigil(r) and m in THROUGH_PRISM]

    def one(exchange):
        method, target, resp = exchange
        path = urllib.parse.urlsplit(target).path
        where = "%s %s -> %d" % (method, doc.template(path) or path[:80],
                                 resp.status)
        return ["%s: Prism: %s" % (where, v) for v in STACK.prism_check(
            method, target, resp.status, resp.headers.items(), resp.body)]

    problems, t0 = {}, time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for found in pool.map(one, seen):
            for p in found:
                problems[p] = problems.get(p, 0) + 1
    print("(%d answers through Prism in %.1f s) " % (
        len(seen), time.monotonic() - t0), end="", flush=True)
    case.assertEqual(
        problems, {}, "%d responses through Prism; not as documented:"
        "\n  %s" % (len(seen), "\n  ".join(
            "%s (x%d)" % kv for kv in sorted(problems.items()))))


def from_vigil(resp):
    """True when vigil-api made this response (not nginx or Apache)."""
    return resp.header("X-Request-Id") is not None


# --- a tiny FastCGI client (to hold a pool worker mid-request) ---------------

def _fcgi_record(rtype, content, req_id=1):
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBx", 1, rtype, req_id, len(content), pad) + \
        content + b"\0" * pad


def _fcgi_len(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def fcgi_begin(addr, params, stdin_part):
    """addr: a unix socket path or a (host, port) pair."""
    if isinstance(addr, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(addr)
    s.sendall(_fcgi_record(1, struct.pack(">HB5x", 1, 0)))
    enc = b"".join(_fcgi_len(len(k)) + _fcgi_len(len(v)) + k + v for k, v in
                   ((k.encode(), str(v).encode()) for k, v in params.items()))
    s.sendall(_fcgi_record(4, enc) + _fcgi_record(4, b""))
    if stdin_part:
        s.sendall(_fcgi_record(5, stdin_part))
    return s


def fcgi_finish(s, stdin_rest):
    """Send the rest of stdin, read STDOUT until END_REQUEST."""
    if stdin_rest:
        s.sendall(_fcgi_record(5, stdin_rest))
    s.sendall(_fcgi_record(5, b""))
    buf, out = b"", b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 8:
            _, rtype, _, clen, pad = struct.unpack(">BBHHBx", buf[:8])
            if len(buf) < 8 + clen + pad:
                break
            if rtype == 6:
                out += buf[8:8 + clen]
            buf = buf[8 + clen + pad:]
            if rtype == 3:
                s.close()
                return out
    s.close()
    return out


def fcgi_request(addr, method, uri, body=b"", headers=None):
    """One whole FastCGI request: (status, headers dict, body)."""
    path, _, query = uri.partition("?")
    params = {"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
              "REQUEST_METHOD": method, "REQUEST_URI": uri,
              "SCRIPT_NAME": path, "QUERY_STRING": query,
              "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "localhost",
              "SERVER_PORT": "80", "CONTENT_LENGTH": str(len(body))}
    for k, v in (headers or {}).items():
        if k.lower() == "content-type":
            params["CONTENT_TYPE"] = v
        else:
            params["HTTP_" + k.upper().replace("-", "_")] = v
    return parse_cgi(fcgi_finish(fcgi_begin(addr, params, b""), body))


def parse_cgi(out):
    """A CGI response (headers, blank line, body): (status, headers, body)."""
    sep = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
    head, _, body = out.partition(sep)
    hdrs = {}
    for line in head.decode("latin-1").splitlines():
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    status = int((hdrs.get("status") or "200").split()[0])
    return status, hdrs, body


# --- the base class ------------------------------------------------------------

class Base(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        cls.tenant, cls.tenant_id = new_tenant(cls.__name__.lower()[:20])
        cls.key, cls.key_id = new_key(cls.tenant, "read,write,admin",
                                      name="admin")

    def frontends(self):
        urls = STACK.urls()
        self.assertIn("nginx", urls)
        return sorted(urls.items())


    def assert_common_headers(self, r, json_body=True):
        h = r.headers
        self.assertRegex(h.get("X-Request-Id") or "", REQ_ID_RE, r)
        self.assertEqual(h.get("X-Content-Type-Options"), "nosniff", r)
        self.assertEqual(h.get("X-Frame-Options"), "DENY", r)
        self.assertIsNotNone(h.get("Referrer-Policy"), r)
        self.assertEqual(h.get("Cache-Control"), "no-store", r)
        for name in ("X-Request-Id", "X-Frame-Options", "Cache-Control"):
            self.assertEqual(len(h.get_all(name) or []), 1,
                             "%s repeated: %r" % (name, r))
        if json_body:
            self.assertEqual(h.get("Content-Type"), JSON_CT, r)

    def assert_error(self, r, status, code, field=None):
        self.assertEqual(r.status, status, r)
        self.assert_common_headers(r)
        body = r.json()
        self.assertEqual(set(body), {"error"}, r)
        e = body["error"]
        self.assertEqual(e.get("code"), code, r)
        self.assertIsInstance(e.get("message"), str, r)
        self.assertTrue(e["message"], r)
        self.assertEqual(e.get("request_id"), r.header("X-Request-Id"), r)
        self.assertIsInstance(e.get("details"), dict, r)
        if field is not None:
            self.assertEqual(e["details"].get("field"), field, r)
        # No internals in error bodies.
        for leak in ("SELECT ", "INSERT ", "mysql", "MariaDB", "/tmp/",
                     STACK.root, "vgl_"):
            self.assertNotIn(leak, r.body.decode("utf-8", "replace"), r)
        return e

    def assert_health(self, base):
        r = request(base, "GET", "/healthz")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(health_core(r.json()), HEALTH_OK)

    @contextlib.contextmanager
    def same_workers(self):
        """The pool's workers are the same processes afterwards (none died
        and was replaced) and every front end still answers."""
        before = STACK.api_workers()
        self.assertEqual(len(before), WORKERS)
        yield
        for name, base in self.frontends():
            self.assert_health(base)
        self.assertEqual(STACK.api_workers(), before,
                         "a pool worker died during the test (see "
                         "log/vigil-api.log)")

    def create_key(self, base, key, name="k", scopes=("read",), **extra):
        body = {"name": name, "scopes": list(scopes)}
        body.update(extra)
        return request(base, "POST", "/api/v1/api-keys", body, auth(key))

    def list_keys(self, base, key):
        r = request(base, "GET", "/api/v1/api-keys", headers=auth(key))
        self.assertEqual(r.status, 200, r)
        return r


# --- the shipped front-end templates -------------------------------------------

class T00Templates(unittest.TestCase):
    """The known front-end traps (FastCGI keep-alive to blocking workers,
    mod_fcgid's file mutex, body limits below vigil-api's own) stay out of
    the shipped configurations, and every placeholder is documented in the
    file's header comment. (The integration stack runs these very files.)"""

    def read(self, rel):
        with open(os.path.join(STACK.srcdir, rel)) as f:
            text = f.read()
        header = "\n".join(l for l in text.splitlines()
                           if l.startswith("#"))
        body = "\n".join(l for l in text.splitlines()
                         if not l.lstrip().startswith("#"))
        for ph in set(re.findall(r"@[A-Z_]+@", body)):
            self.assertIn(ph, header, "%s: %s undocumented" % (rel, ph))
        return body

    def test_nginx(self):
        body = self.read("etc/nginx/vigil-snippet.conf")
        self.assertNotRegex(body, r"fastcgi_keep_conn\s+on")
        self.assertRegex(body, r"fastcgi_pass\s+@FCGI_ADDR@")
        m = re.search(r"client_max_body_size\s+(\d+)([km]?)", body)
        size = int(m.group(1)) * {"": 1, "k": 1024, "m": MIB}[m.group(2)]
        self.assertGreater(size, MIB)

    def test_apache_fcgid(self):
        body = self.read("etc/apache/vigil-fcgid.conf")
        self.assertRegex(body, r"Mutex\s+pthread\s+fcgid-proctbl")
        m = re.search(r"FcgidMaxRequestLen\s+(\d+)", body)
        self.assertGreater(int(m.group(1)), MIB)
        m = re.search(r"FcgidMaxProcessesPerClass\s+(\d+)", body)
        self.assertGreaterEqual(int(m.group(1)), 8)
        self.assertIn("FcgidInitialEnv VIGIL_CONF @VIGIL_CONF@", body)
        self.assertRegex(body, r"CGIPassAuth\s+On")

    def test_apache_proxy_fcgi(self):
        body = self.read("etc/apache/vigil-proxy-fcgi.conf")
        self.assertNotRegex(body, r"enablereuse=on")
        self.assertRegex(body, r"ProxyPass\s+\S+\s+\"?@FCGI_URL@")
        self.assertRegex(body, r"CGIPassAuth\s+On")

    def test_apache_request_read_timeout(self):
        """Both Apache snippets load and configure mod_reqtimeout, so that
        clients that send nothing do not hold Apache's threads."""
        for rel in ("etc/apache/vigil-fcgid.conf",
                    "etc/apache/vigil-proxy-fcgi.conf"):
            body = self.read(rel)
            self.assertRegex(body, r"LoadModule\s+reqtimeout_module", rel)
            self.assertRegex(body, r"RequestReadTimeout\s+header=\d+.*"
                             r"body=\d+", rel)


# --- basics ------------------------------------------------------------------

class T01Basics(Base):

    def test_health(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "GET", "/healthz")
                self.assertEqual(r.status, 200, r)
                self.assert_common_headers(r)
                self.assertEqual(health_core(r.json()), HEALTH_OK)
                r = request(base, "HEAD", "/healthz")
                self.assertEqual(r.status, 200, r)

    def test_openapi(self):
        with open(os.path.join(STACK.srcdir, "doc", "openapi.json"),
                  "rb") as f:
            shipped = json.load(f)
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "GET", "/api/v1/openapi.json")
                self.assertEqual(r.status, 200, r)
                self.assert_common_headers(r)
                doc = r.json()
                self.assertEqual(doc.get("openapi"), "3.1.0")
                self.assertEqual(doc, shipped)

    def test_not_found(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                for path in ("/", "/nope", "/api/v1/nope", "/api/v2/api-keys",
                             "/api/v1/api-keys/a/b", "/healthz/x"):
                    r = request(base, "GET", path)
                    self.assert_error(r, 404, "not_found")
                # Longer than vigil-api takes (2 KiB), shorter than what
                # nginx and Apache take (8 KiB): vigil-api's own 414.
                r = request(base, "GET", "/api/v1/" + "a" * 3000)
                self.assert_error(r, 414, "invalid_request")

    def test_method_not_allowed(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "DELETE", "/healthz")
                self.assert_error(r, 405, "method_not_allowed")
                self.assertIn("GET", r.header("Allow") or "", r)
                r = request(base, "PUT", "/api/v1/api-keys", {},
                            headers=auth(self.key))
                self.assert_error(r, 405, "method_not_allowed")
                allow = {m.strip() for m in (r.header("Allow") or "").split(",")}
                self.assertTrue({"GET", "POST"} <= allow, r)
                r = request(base, "POST", "/api/v1/openapi.json", {})
                self.assert_error(r, 405, "method_not_allowed")

    def test_security_headers_everywhere(self):
        big = b'{"name":"' + b"a" * (MIB + MIB // 2) + b'"}'
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                cases = [
                    (200, request(base, "GET", "/healthz")),
                    (200, request(base, "GET", "/api/v1/api-keys",
                                  headers=auth(self.key))),
                    (401, request(base, "GET", "/api/v1/api-keys")),
                    (404, request(base, "GET", "/nope")),
                    (405, request(base, "PATCH", "/healthz", {})),
                    (413, request(base, "POST", "/api/v1/api-keys", big,
                                  {"Content-Type": "application/json"})),
                ]
                ids = set()
                for status, r in cases:
                    self.assertEqual(r.status, status, r)
                    self.assert_common_headers(r)
                    ids.add(r.header("X-Request-Id"))
                self.assertEqual(len(ids), len(cases), "request ids repeat")

    def test_payload_too_large(self):
        big = b'{"name":"' + b"a" * (MIB + MIB // 2) + b'"}'
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                with self.same_workers():
                    r = request(base, "POST", "/api/v1/api-keys", big,
                                {"Content-Type": "application/json",
                                 **auth(self.key)})
                    self.assert_error(r, 413, "payload_too_large")
                    # Size is checked before authentication.
                    r = request(base, "POST", "/api/v1/api-keys", big,
                                {"Content-Type": "application/json"})
                    self.assert_error(r, 413, "payload_too_large")
                    # Chunked, so that no Content-Length announces the size.
                r = request(base, "POST", "/api/v1/api-keys", big,
                            {"Content-Type": "application/json",
                             **auth(self.key)}, chunked=True)
                self.assert_error(r, 413, "payload_too_large")
                r = request(base, "POST", "/api/v1/api-keys",
                            {"name": "chunked", "scopes": ["read"]},
                            auth(self.key), chunked=True)
                self.assertEqual(r.status, 201, r)
                request(base, "DELETE", "/api/v1/api-keys/" + r.json()["id"],
                        headers=auth(self.key))
                # Far too large: the front end may refuse it itself (nginx
                # and Apache are configured for 2 MiB), or drop the
                # connection while the body is still being sent.
                try:
                    r = request(base, "POST", "/api/v1/api-keys",
                                b"[" + b" " * (3 * MIB) + b"]",
                                {"Content-Type": "application/json",
                                 **auth(self.key)})
                    self.assertEqual(r.status, 413, r)
                except ConnectionError:
                    pass
                # Exactly 1 MiB is not too large (it is bad JSON here).
                    ok = b"[" + b" " * (MIB - 2) + b"]"
                    r = request(base, "POST", "/api/v1/api-keys", ok,
                                {"Content-Type": "application/json",
                                 **auth(self.key)})
                    self.assertEqual(r.status, 400, r)

    def test_unsupported_media_type(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                for ct in ("text/plain", "application/x-www-form-urlencoded",
                           "application/jsonp"):
                    r = request(base, "POST", "/api/v1/api-keys",
                                b'{"name":"x","scopes":["read"]}',
                                {"Content-Type": ct, **auth(self.key)})
                    self.assert_error(r, 415, "unsupported_media_type")
                r = request(base, "POST", "/api/v1/api-keys",
                            b'{"name":"x","scopes":["read"]}', auth(self.key))
                self.assert_error(r, 415, "unsupported_media_type")


# --- hostile input --------------------------------------------------------------

class T02HostileInput(Base):

    def post(self, base, body, ct="application/json"):
        return request(base, "POST", "/api/v1/api-keys", body,
                       {"Content-Type": ct, **auth(self.key)})

    def test_malformed_json(self):
        bodies = [b'{"name":', b"{", b"nul", b'{"name":"x",}', b"\x00",
                  b'{"name":"x"}garbage', b'{"name":"x","scopes":["read"]',
                  b'{"a":1e99999}' + b" " * 10]
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                with self.same_workers():
                    for b in bodies:
                        r = self.post(base, b)
                        self.assert_error(r, 400, "invalid_request")
                    for b in (b"[]", b'"str"', b"1", b"null"):
                        r = self.post(base, b)
                        self.assert_error(r, 400, "invalid_request", "body")
                    r = self.post(base, b"")
                    self.assertEqual(r.status, 400, r)

    def test_invalid_utf8_body(self):
        bodies = [b'{"name":"\xff\xfe","scopes":["read"]}',
                  b'{"name":"\xc0\xaf","scopes":["read"]}',
                  b'{"name":"\xed\xa0\x80","scopes":["read"]}',
                  b'{"\xe2\x82":"x"}']
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                with self.same_workers():
                    for b in bodies:
                        r = self.post(base, b)
                        self.assert_error(r, 400, "invalid_request", "body")

    def test_invalid_utf8_query(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                with self.same_workers():
                    for q in ("cursor=%FF", "limit=%C0%AF", "cursor=%ED%A0%80",
                              "%FF=1", "cursor=%00", "cursor=%zz"):
                        r = request(base, "GET", "/api/v1/api-keys?" + q,
                                    headers=auth(self.key))
                        self.assert_error(r, 400, "invalid_request")

    def test_deep_json(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                with self.same_workers():
                    for depth in (33, 1000, 100000):
                        b = '{"a":' * depth + "1" + "}" * depth
                        r = self.post(base, b)
                        self.assert_error(r, 400, "invalid_request", "body")
                        b = '{"name":' + "[" * depth + "]" * depth + "}"
                        r = self.post(base, b)
                        self.assert_error(r, 400, "invalid_request", "body")

    def test_wrong_types_and_values(self):
        past = rfc3339(time.time() - 3600)
        cases = [
            ({"name": 5, "scopes": ["read"]}, "name"),
            ({"name": None, "scopes": ["read"]}, "name"),
            ({"name": "", "scopes": ["read"]}, "name"),
            ({"name": "x" * 101, "scopes": ["read"]}, "name"),
            ({"name": ["x"], "scopes": ["read"]}, "name"),
            ({"scopes": ["read"]}, "name"),
            ({"name": "x", "scopes": "read"}, "scopes"),
            ({"name": "x", "scopes": ["root"]}, "scopes"),
            ({"name": "x", "scopes": ["READ"]}, "scopes"),
            ({"name": "x", "scopes": [1]}, "scopes"),
            ({"name": "x", "scopes": []}, "scopes"),
            ({"name": "x"}, "scopes"),
            ({"name": "x", "scopes": ["read"], "expires_at": past},
             "expires_at"),
            # The epoch is a time long past, not "never".
            ({"name": "x", "scopes": ["read"],
              "expires_at": "1970-01-01T00:00:00Z"}, "expires_at"),
            ({"name": "x", "scopes": ["read"],
              "expires_at": "1970-01-01T01:00:00+01:00"}, "expires_at"),
            ({"name": "x", "scopes": ["read"], "expires_at": "tomorrow"},
             "expires_at"),
            ({"name": "x", "scopes": ["read"], "expires_at": 12},
             "expires_at"),
            ({"name": "x", "scopes": ["read"], "admin": True}, None),
        ]
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                with self.same_workers():
                    for body, field in cases:
                        r = self.post(base, json.dumps(body))
                        e = self.assert_error(r, 400, "invalid_request", field)
                        if field is None:
                            self.assertTrue(e["details"].get("field"), r)
                    # Nothing was created by any of them.
                    r = self.list_keys(base, self.key)
                    self.assertEqual(r.json()["total"], 1, r)

    def test_huge_headers(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                with self.same_workers():
                    # Too big for the front end: its own 4xx is fine.
                    try:
                        r = request(base, "GET", "/api/v1/api-keys",
                                    headers={"X-Filler": "a" * 65536,
                                             **auth(self.key)})
                        self.assertTrue(400 <= r.status < 500, r)
                    except (ConnectionError, http.client.HTTPException):
                        pass
                    try:
                        many = {"X-H%d" % i: "v" * 100 for i in range(300)}
                        r = request(base, "GET", "/healthz", headers=many)
                        self.assertTrue(r.status == 200 or
                                        400 <= r.status < 500, r)
                    except (ConnectionError, http.client.HTTPException):
                        pass
                    # Big enough to reach vigil-api: a clean 401.
                    for hdr in ({"X-API-Key": "vgl_" + "A" * 6000},
                                {"Authorization": "Bearer " + "A" * 6000},
                                {"X-License-Key": "x" * 6000}):
                        r = request(base, "GET", "/api/v1/api-keys", headers=hdr)
                        self.assert_error(r, 401, "invalid_license_key")

    def test_sql_metacharacters(self):
        before = table_fingerprint()
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                with self.same_workers():
                    for evil in SQL_EVIL:
                        q = urllib.parse.quote(evil, safe="")
                        r = request(base, "DELETE", "/api/v1/api-keys/" + q,
                                    headers=auth(self.key))
                        self.assertIn(r.status, (400, 404), r)
                        self.assert_error(r, r.status, r.json()["error"]["code"])
                        for p in ("cursor", "limit"):
                            r = request(base, "GET", "/api/v1/api-keys?%s=%s" %
                                        (p, q), headers=auth(self.key))
                            self.assert_error(r, 400, "invalid_request", p)
                        for form in ("X-API-Key", "X-License-Key",
                                     "Authorization"):
                            r = request(base, "GET", "/api/v1/api-keys",
                                        headers=auth(evil, form))
                            self.assert_error(r, 401, "invalid_license_key")
                        r = self.post(base, json.dumps(
                            {"name": "x", "scopes": [evil]}))
                        self.assert_error(r, 400, "invalid_request", "scopes")
                        r = self.post(base, json.dumps(
                            {"name": "x", "scopes": ["read"], "expires_at": evil}))
                        self.assert_error(r, 400, "invalid_request",
                                          "expires_at")
                        # As a name it is just text: stored and returned as is.
                        r = self.post(base, json.dumps(
                            {"name": evil, "scopes": ["read"]}))
                        self.assertEqual(r.status, 201, r)
                        created = r.json()
                        self.assertEqual(created["name"], evil)
                        listed = self.list_keys(base, self.key).json()["api_keys"]
                        self.assertIn(evil, [k["name"] for k in listed])
                        r = request(base, "DELETE",
                                    "/api/v1/api-keys/" + created["id"],
                                    headers=auth(self.key))
                        self.assertEqual(r.status, 200, r)
                    # The tenant's own key still works and is alone.
                    r = self.list_keys(base, self.key)
                    self.assertEqual(r.json()["total"], 1, r)
        self.assertEqual(table_fingerprint(), before)

    def test_garbage_methods_and_targets(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                with self.same_workers():
                    r = request(base, "BREW", "/healthz")
                    self.assertTrue(400 <= r.status < 500 or r.status == 501, r)
                    r = request(base, "GET", "/api/v1/api-keys/%00",
                                headers=auth(self.key))
                    self.assertTrue(400 <= r.status < 500, r)
                    r = request(base, "GET", "/api/v1/%ff%fe",
                                headers=auth(self.key))
                    self.assertTrue(400 <= r.status < 500, r)
                    r = request(base, "GET", "/healthz?" + "a=b&" * 3000)
                    self.assertTrue(r.status == 200 or 400 <= r.status < 500, r)


# --- authentication ----------------------------------------------------------------

class T03Auth(Base):

    def test_each_key_header_form(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                for form in ("X-License-Key", "Authorization", "X-API-Key"):
                    r = request(base, "GET", "/api/v1/api-keys",
                                headers=auth(self.key, form))
                    self.assertEqual(r.status, 200, (form, r))
                    self.assert_common_headers(r)
                    ids = [k["id"] for k in r.json()["api_keys"]]
                    self.assertEqual(ids, [self.key_id])

    def test_bad_keys(self):
        unknown = "vgl_" + "Q" * 40
        bad = [{}, {"X-API-Key": ""}, {"X-API-Key": "garbage"},
               {"X-API-Key": unknown}, {"X-License-Key": unknown},
               {"Authorization": "Bearer " + unknown},
               {"Authorization": "Bearer"},
               {"Authorization": "Basic dXNlcjpwYXNz"},
               {"Authorization": self.key},        # no "Bearer "
               {"X-API-Key": self.key[:-1]},
               {"X-API-Key": self.key + "x"},
               {"X-API-Key": self.key.upper()},
               {"X-API-Key": b"vgl_\xff\xfe" + b"A" * 38}]
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                for h in bad:
                    r = request(base, "GET", "/api/v1/api-keys", headers=h)
                    self.assert_error(r, 401, "invalid_license_key")
                    self.assertIsNone(r.header("X-RateLimit-Limit"), r)

    def test_revoked_key(self):
        key, kid = new_key(self.tenant, "read,admin")
        self.assertRegex(kid or "", KEY_ID_RE)
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                self.list_keys(base, key)
        STACK.vigilctl("key", "revoke", kid)
        revoked = time.monotonic()
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                # A pool, and mod_fcgid's processes of one vigil.conf,
                # learn of a revocation made elsewhere (here by vigilctl)
                # at the key's next sync: within a second. Through the
                # API on the same host it takes effect at once.
                while time.monotonic() - revoked < 3:
                    r = request(base, "GET", "/api/v1/api-keys",
                                headers=auth(key))
                    if r.status != 200:
                        break
                    time.sleep(0.05)
                self.assertLess(time.monotonic() - revoked, 1.5)
                for form in ("X-License-Key", "Authorization", "X-API-Key"):
                    r = request(base, "GET", "/api/v1/api-keys",
                                headers=auth(key, form))
                    self.assert_error(r, 401, "invalid_license_key")

    def test_expired_key(self):
        t0 = int(time.time())
        key, kid = new_key(self.tenant, "read,admin", expires=rfc3339(t0 + 6))
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                self.list_keys(base, key)
        time.sleep(max(0.0, t0 + 8 - time.time()))
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "GET", "/api/v1/api-keys", headers=auth(key))
                self.assert_error(r, 401, "invalid_license_key")

    def test_insufficient_scope(self):
        ro, _ = new_key(self.tenant, "read")
        wo, _ = new_key(self.tenant, "write")
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "GET", "/api/v1/api-keys", headers=auth(ro))
                self.assert_error(r, 403, "insufficient_scope")
                r = self.create_key(base, wo)
                self.assert_error(r, 403, "insufficient_scope")
                r = request(base, "DELETE", "/api/v1/api-keys/" + self.key_id,
                            headers=auth(ro))
                self.assert_error(r, 403, "insufficient_scope")
        # ... and the admin key was not revoked by any of that.
        self.list_keys(STACK.urls()["nginx"], self.key)

    def test_auth_before_body(self):
        """Order of checks: auth (401) before media type (415) and JSON
        (400); 404/405 before auth."""
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "POST", "/api/v1/api-keys", b"not json",
                            {"Content-Type": "text/plain"})
                self.assert_error(r, 401, "invalid_license_key")
                r = request(base, "GET", "/api/v1/nothing-here")
                self.assert_error(r, 404, "not_found")


# --- the api-keys resource ---------------------------------------------------------

class T04ApiKeys(Base):

    def test_create_list_delete(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                exp = rfc3339(time.time() + 86400)
                r = self.create_key(base, self.key, name="ci " + name,
                                    scopes=("write", "read"), expires_at=exp)
                self.assertEqual(r.status, 201, r)
                self.assert_common_headers(r)
                c = r.json()
                self.assertEqual(set(c), {"id", "key", "prefix", "name", "scopes",
                                          "created_at", "expires_at"}, c)
                self.assertRegex(c["id"], KEY_ID_RE)
                self.assertRegex(c["key"], KEY_RE)
                self.assertEqual(c["prefix"], c["key"][:12])
                self.assertEqual(c["name"], "ci " + name)
                self.assertEqual(sorted(c["scopes"]), ["read", "write"])
                self.assertRegex(c["created_at"], TS_RE)
                self.assertEqual(c["expires_at"], exp)
                secret = c["key"]
                digest = hashlib.sha256(secret.encode()).hexdigest()

                r = self.list_keys(base, self.key)
                self.assert_common_headers(r)
                body = r.json()
                self.assertEqual(set(body), {"api_keys", "total", "has_more",
                                             "next_cursor"})
                self.assertEqual(body["total"], 2)
                self.assertFalse(body["has_more"])
                self.assertIsNone(body["next_cursor"])
                self.assertNotIn(secret.encode(), r.body)
                self.assertNotIn(secret[12:].encode(), r.body)
                self.assertNotIn(digest.encode(), r.body)
                self.assertNotIn(digest.upper().encode(), r.body)
                for k in body["api_keys"]:
                    self.assertEqual(set(k), {"id", "name", "prefix", "scopes",
                                              "created_at", "last_used_at",
                                              "expires_at"}, k)
                mine = [k for k in body["api_keys"] if k["id"] == c["id"]]
                self.assertEqual(len(mine), 1)
                self.assertEqual(mine[0]["prefix"], c["prefix"])
                self.assertEqual(mine[0]["expires_at"], exp)
                self.assertIsNone(mine[0]["last_used_at"])

                # The new key works (write scope: a 403 on admin routes, which
                # means it authenticated).
                r = request(base, "GET", "/api/v1/api-keys", headers=auth(secret))
                self.assert_error(r, 403, "insufficient_scope")

                r = request(base, "DELETE", "/api/v1/api-keys/" + c["id"],
                            headers=auth(self.key))
                self.assertEqual(r.status, 200, r)
                self.assert_common_headers(r)
                d = r.json()
                self.assertEqual(d["id"], c["id"])
                self.assertIs(d["revoked"], True)
                self.assertRegex(d["revoked_at"] or "", TS_RE)
                r = request(base, "GET", "/api/v1/api-keys", headers=auth(secret))
                self.assert_error(r, 401, "invalid_license_key")
                r = request(base, "DELETE", "/api/v1/api-keys/" + c["id"],
                            headers=auth(self.key))
                self.assert_error(r, 404, "not_found")
                ids = [k["id"] for k in self.list_keys(
                    base, self.key).json()["api_keys"]]
                self.assertEqual(ids, [self.key_id])

    def test_at_most_ten_active(self):
        tenant, _ = new_tenant("ten")
        admin, _ = new_key(tenant, "read,write,admin")
        base = STACK.urls()["nginx"]
        made = []
        for i in range(9):
            r = self.create_key(base, admin, name="k%d" % i)
            self.assertEqual(r.status, 201, r)
            made.append(r.json()["id"])
        for name, b in self.frontends():
            with self.subTest(frontend=name):
                r = self.create_key(b, admin, name="eleventh")
                self.assert_error(r, 409, "conflict")
                self.assertEqual(self.list_keys(b, admin).json()["total"], 10)
        r = request(base, "DELETE", "/api/v1/api-keys/" + made[0],
                    headers=auth(admin))
        self.assertEqual(r.status, 200, r)
        r = self.create_key(base, admin, name="room again")
        self.assertEqual(r.status, 201, r)
        r = self.create_key(base, admin, name="full again")
        self.assert_error(r, 409, "conflict")

    def test_audit_trail(self):
        """Creating and revoking a key through the API leaves audit
        entries naming the acting key, on a chain that verifies."""
        tenant, tid = new_tenant("aud")
        admin, admin_id = new_key(tenant, "read,write,admin")
        base = STACK.urls()["nginx"]
        r = self.create_key(base, admin, name="audited")
        self.assertEqual(r.status, 201, r)
        kid = r.json()["id"]
        r = request(base, "DELETE", "/api/v1/api-keys/" + kid,
                    headers=auth(admin))
        self.assertEqual(r.status, 200, r)
        rows = STACK.query("SELECT action, object, actor FROM audit_log "
                           "WHERE tenant_id = '%s' ORDER BY seq" % tid)
        api_rows = [x for x in rows if x[1] == kid]
        self.assertEqual([x[0] for x in api_rows],
                         ["api_key.create", "api_key.revoke"], rows)
        for x in api_rows:
            self.assertIn(admin_id, x[2], rows)
        # Failed attempts leave nothing behind.
        before = len(rows)
        self.create_key(base, admin, name="")
        request(base, "DELETE", "/api/v1/api-keys/" + kid,
                headers=auth(admin))
        after = STACK.query("SELECT COUNT(*) FROM audit_log WHERE "
                            "tenant_id = '%s'" % tid)
        self.assertEqual(int(after[0][0]), before)
        v = STACK.vigilctl("audit", "verify", "--tenant", tenant,
                           check=False)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_ten_active_under_concurrency(self):
        """Count-then-insert is atomic: 15 parallel creates on a tenant with
        one key make exactly 9 keys, whichever workers serve them."""
        tenant, _ = new_tenant("race")
        admin, _ = new_key(tenant, "read,write,admin")
        for name, base in self.frontends():
            if name == "apache-fcgid":
                continue        # the same code path; keep the suite short
            with self.subTest(frontend=name):
                barrier = threading.Barrier(15)

                def one(i):
                    try:
                        barrier.wait(10)
                    except threading.BrokenBarrierError:
                        pass
                    return self.create_key(base, admin, name="r%d" % i)

                with concurrent.futures.ThreadPoolExecutor(15) as ex:
                    rs = list(ex.map(one, range(15)))
                statuses = sorted(r.status for r in rs)
                self.assertEqual(statuses, [201] * 9 + [409] * 6, rs)
                listed = self.list_keys(base, admin).json()
                self.assertEqual(listed["total"], 10)
                for r in rs:
                    if r.status == 201:
                        d = request(base, "DELETE", "/api/v1/api-keys/" +
                                    r.json()["id"], headers=auth(admin))
                        self.assertEqual(d.status, 200, d)

    def test_pagination(self):
        tenant, _ = new_tenant("page")
        admin, admin_id = new_key(tenant, "read,write,admin")
        base = STACK.urls()["nginx"]
        for i in range(4):
            self.assertEqual(self.create_key(base, admin, name="p%d" % i)
                             .status, 201)
        for name, b in self.frontends():
            with self.subTest(frontend=name):
                seen, cursor = [], None
                while True:
                    path = "/api/v1/api-keys?limit=2"
                    if cursor:
                        path += "&cursor=" + cursor
                    r = request(b, "GET", path, headers=auth(admin))
                    self.assertEqual(r.status, 200, r)
                    page = r.json()
                    self.assertEqual(page["total"], 5)
                    self.assertLessEqual(len(page["api_keys"]), 2)
                    seen += [k["id"] for k in page["api_keys"]]
                    if not page["has_more"]:
                        self.assertIsNone(page["next_cursor"])
                        break
                    cursor = page["next_cursor"]
                    self.assertTrue(cursor)
                self.assertEqual(len(seen), 5)
                self.assertEqual(len(set(seen)), 5)
                for bad in ("0", "501", "-1", "x", ""):
                    r = request(b, "GET", "/api/v1/api-keys?limit=" + bad,
                                headers=auth(admin))
                    if bad == "":
                        self.assertIn(r.status, (200, 400), r)
                    else:
                        self.assert_error(r, 400, "invalid_request", "limit")

    def test_other_tenants_key(self):
        other, _ = new_tenant("other")
        okey, oid = new_key(other, "read,write,admin")
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = request(base, "DELETE", "/api/v1/api-keys/" + oid,
                            headers=auth(self.key))
                self.assert_error(r, 404, "not_found")
                ids = [k["id"] for k in self.list_keys(
                    base, self.key).json()["api_keys"]]
                self.assertNotIn(oid, ids)
                # Unchanged: still active and working.
                r = self.list_keys(base, okey)
                self.assertEqual([k["id"] for k in r.json()["api_keys"]], [oid])
        rows = STACK.query("SELECT revoked_at IS NULL FROM api_keys "
                           "WHERE id = '%s'" % oid)
        self.assertEqual(rows, [["1"]])

    def test_last_used_at(self):
        base = STACK.urls()["nginx"]
        r = self.create_key(base, self.key, name="lu",
                            scopes=("read", "admin"))
        self.assertEqual(r.status, 201, r)
        c = r.json()
        find = lambda: [k for k in self.list_keys(base, self.key).json()[
            "api_keys"] if k["id"] == c["id"]][0]
        self.assertIsNone(find()["last_used_at"])
        self.list_keys(base, c["key"])
        used = find()["last_used_at"]
        self.assertRegex(used or "", TS_RE)
        now = time.time()
        t = datetime.datetime.strptime(used, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        self.assertLess(abs(now - t), 120)
        request(base, "DELETE", "/api/v1/api-keys/" + c["id"],
                headers=auth(self.key))


# --- rate limits ----------------------------------------------------------------

def wait_for_fresh_window(need=25):
    """Sleep until at least need seconds are left in the current minute."""
    left = 60 - time.time() % 60
    if left < need:
        time.sleep(left + 0.5)


class T05RateLimit(Base):

    def test_headers_and_remaining(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                for attempt in range(2):
                    wait_for_fresh_window(10)
                    rs = [request(base, "GET", "/api/v1/api-keys",
                                  headers=auth(self.key)) for _ in range(3)]
                    resets = {r.header("X-RateLimit-Reset") for r in rs}
                    if len(resets) == 1:
                        break
                for r in rs:
                    self.assertEqual(r.status, 200, r)
                    for h in ("X-RateLimit-Limit", "X-RateLimit-Remaining",
                              "X-RateLimit-Reset"):
                        self.assertRegex(r.header(h) or "", r"^\d+$", (h, r))
                rem = [int(r.header("X-RateLimit-Remaining")) for r in rs]
                self.assertEqual(rem, sorted(rem, reverse=True), rem)
                self.assertLess(rem[-1], rem[0], rem)
                reset = int(rs[0].header("X-RateLimit-Reset"))
                self.assertEqual(reset % 60, 0)
                self.assertTrue(time.time() < reset <= time.time() + 61)
                # Errors after authentication carry them too.
                r = request(base, "GET", "/api/v1/api-keys?limit=0",
                            headers=auth(self.key))
                self.assertEqual(r.status, 400, r)
                self.assertIsNotNone(r.header("X-RateLimit-Remaining"), r)

    def test_429_across_workers(self):
        limit, total = 10, 30
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                tenant, tid = new_tenant("rl")
                STACK.sql("UPDATE tenants SET rate_read_per_min = %d, "
                          "rate_write_per_min = 5 WHERE id = '%s'" % (limit, tid),
                          database="vigil")
                for attempt in range(2):
                    key, _ = new_key(tenant, "read,write,admin")
                    wait_for_fresh_window(25)
                    barrier = threading.Barrier(10)

                    def one(_):
                        try:
                            barrier.wait(5)
                        except threading.BrokenBarrierError:
                            pass
                        return request(base, "GET", "/api/v1/api-keys",
                                       headers=auth(key))

                    with concurrent.futures.ThreadPoolExecutor(10) as ex:
                        rs = list(ex.map(one, range(total)))
                    resets = {r.header("X-RateLimit-Reset") for r in rs}
                    if len(resets) == 1:
                        break       # all in one window: conclusive
                ok = [r for r in rs if r.status == 200]
                limited = [r for r in rs if r.status == 429]
                self.assertEqual(len(ok), limit, [r.status for r in rs])
                self.assertEqual(len(limited), total - limit)
                for r in limited:
                    self.assert_error(r, 429, "rate_limited")
                    ra = int(r.header("Retry-After") or "0")
                    self.assertTrue(1 <= ra <= 60, r)
                    self.assertEqual(r.header("X-RateLimit-Limit"), str(limit))
                    self.assertEqual(r.header("X-RateLimit-Remaining"), "0")
                for r in ok:
                    self.assertEqual(r.header("X-RateLimit-Limit"), str(limit))
                self.assertEqual(
                    sorted(int(r.header("X-RateLimit-Remaining")) for r in ok),
                    list(range(limit)))
                if name != "apache-fcgid":
                    pids = self._served_by([r.header("X-Request-Id")
                                            for r in rs])
                    if pids:
                        self.assertGreater(len(pids), 1,
                                           "one worker served every request")
                # Writes have their own budget.
                r = self.create_key(base, key, name="w")
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.header("X-RateLimit-Limit"), "5")

    def test_pool_shares_one_counter(self):
        """The pool's workers count in one shared table: together they
        allow exactly the limit, hand out every Remaining once, and tell
        the database every request at their next sync."""
        limit, total = 60, 150
        base = STACK.urls()["nginx"]
        tenant, tid = new_tenant("rls")
        STACK.sql("UPDATE tenants SET rate_read_per_min = %d WHERE id = '%s'"
                  % (limit, tid), database="vigil")
        for attempt in range(2):
            key, kid = new_key(tenant, "read,admin")
            wait_for_fresh_window(30)
            with concurrent.futures.ThreadPoolExecutor(10) as ex:
                rs = list(ex.map(
                    lambda _: request(base, "GET", "/api/v1/api-keys",
                                      headers=auth(key)), range(total)))
            if len({r.header("X-RateLimit-Reset") for r in rs}) == 1:
                break
        ok = [r for r in rs if r.status == 200]
        self.assertEqual(len(ok), limit, [r.status for r in rs])
        self.assertEqual(len([r for r in rs if r.status == 429]),
                         total - limit)
        self.assertEqual(
            sorted(int(r.header("X-RateLimit-Remaining")) for r in ok),
            list(range(limit)))
        pids = self._served_by([r.header("X-Request-Id") for r in rs])
        if pids:
            self.assertGreater(len(pids), 1, "one worker served every request")
        # A request a second later syncs: the database has them all.
        time.sleep(1.2)
        r = request(base, "GET", "/api/v1/api-keys", headers=auth(key))
        self.assert_error(r, 429, "rate_limited")
        rows = STACK.query("SELECT count FROM rate_limits WHERE key_id = "
                           "'%s' AND class = 'read'" % kid)
        self.assertEqual(rows, [[str(total + 1)]])

    def test_other_hosts_count(self):
        """Requests another host reported to the database count here:
        at once without a pool, at the next sync (within a second) with
        one."""
        limit = 100
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                tenant, tid = new_tenant("rlh")
                STACK.sql("UPDATE tenants SET rate_read_per_min = %d "
                          "WHERE id = '%s'" % (limit, tid), database="vigil")
                key, kid = new_key(tenant, "read,admin")
                wait_for_fresh_window(10)
                r = request(base, "GET", "/api/v1/api-keys",
                            headers=auth(key))
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.header("X-RateLimit-Remaining"),
                                 str(limit - 1))
                # Another host's 95 requests, as its sync would add them.
                STACK.sql("UPDATE rate_limits SET count = count + 95 "
                          "WHERE key_id = '%s' AND class = 'read'" % kid,
                          database="vigil")
                time.sleep(1.2)
                rs = [request(base, "GET", "/api/v1/api-keys",
                              headers=auth(key)) for _ in range(6)]
                self.assertEqual([r.status for r in rs],
                                 [200] * 4 + [429] * 2, rs)
                self.assertEqual(
                    [r.header("X-RateLimit-Remaining") for r in rs],
                    ["3", "2", "1", "0", "0", "0"])
                for r in rs:
                    self.assertEqual(r.header("X-RateLimit-Limit"),
                                     str(limit))

    def test_limits_changed_here_apply_at_once(self):
        """PUT /settings on a pool applies the new limit to the very
        next request (elsewhere within a second)."""
        base = STACK.urls()["nginx"]
        tenant, _ = new_tenant("rlc")
        key, _ = new_key(tenant, "read,write,admin")
        r = request(base, "GET", "/api/v1/api-keys", headers=auth(key))
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(r.header("X-RateLimit-Limit"), "4321", r)
        r = request(base, "PUT", "/api/v1/settings",
                    json.dumps({"rate_limits": {"read_per_min": 4321}}).encode(),
                    dict(auth(key), **{"Content-Type": "application/json"}))
        self.assertEqual(r.status, 200, r)
        r = request(base, "GET", "/api/v1/api-keys", headers=auth(key))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("X-RateLimit-Limit"), "4321", r)

    @staticmethod
    def _served_by(ids):
        """Pids of the pool workers that logged these request ids."""
        want, pids = set(ids), set()
        try:
            with open(STACK.logfile("vigil-api.log"), errors="replace") as f:
                for line in f:
                    m = re.search(r"\[(\d+)\].*req=(req_\w+)", line)
                    if m and m.group(2) in want:
                        pids.add(m.group(1))
        except OSError:
            pass
        return pids


# --- the database going away ---------------------------------------------------------

class T06Database(Base):

    def test_503_while_db_down_then_recovery(self):
        master, workers = STACK.api_pid(), STACK.api_workers()
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                self.list_keys(base, self.key)
        STACK.db_stop()
        try:
            for name, base in self.frontends():
                with self.subTest(frontend=name):
                    r = request(base, "GET", "/healthz")
                    self.assertEqual(r.status, 503, r)
                    self.assert_common_headers(r)
                    self.assertEqual(r.json(), HEALTH_DOWN)
                    r = request(base, "GET", "/api/v1/api-keys",
                                headers=auth(self.key))
                    self.assert_error(r, 503, "service_unavailable")
                    # Routes that need no database still work.
                    r = request(base, "GET", "/api/v1/openapi.json")
                    self.assertEqual(r.status, 200, r)
                    r = request(base, "GET", "/nope")
                    self.assert_error(r, 404, "not_found")
        finally:
            STACK.db_start()
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                ok = wait_until(lambda: request(base, "GET", "/healthz").status
                                == 200, 30, 0.5)
                self.assertTrue(ok, "no recovery through " + name)
                # Every worker reconnects, not just the first to be asked.
                for _ in range(3 * WORKERS):
                    self.assert_health(base)
                    self.list_keys(base, self.key)
        self.assertEqual(STACK.api_pid(), master)
        self.assertEqual(STACK.api_workers(), workers,
                         "workers were replaced while the database was down")

    def test_503_while_db_cannot_take_writes(self):
        """A server up but refusing writes (read_only here; a Galera node
        out of the primary component or still joining answers 1047 the
        same way): 503 with Retry-After, never 500, and writes work again
        once it takes them."""
        STACK.sql("SET GLOBAL read_only = ON")
        try:
            for name, base in self.frontends():
                with self.subTest(frontend=name):
                    r = self.create_key(base, self.key, name="ro")
                    self.assert_error(r, 503, "service_unavailable")
                    self.assertEqual(r.header("Retry-After"), "1", r)
        finally:
            STACK.sql("SET GLOBAL read_only = OFF")
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                r = self.create_key(base, self.key, name="rw")
                self.assertEqual(r.status, 201, r)


# --- the pre-fork pool ------------------------------------------------------------

class T07Pool(Base):

    def answering(self, n=8, key=None):
        base = STACK.urls()["nginx"]
        for _ in range(n):
            self.assert_health(base)
            self.list_keys(base, key or self.key)

    def test_version(self):
        r = stackmod.subprocess.run([STACK.vigil_api, "--version"],
                                    capture_output=True, text=True,
                                    env=STACK.env())
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout.strip(), "vigil-api 0.1.0")

    def test_killed_worker_is_replaced(self):
        master = STACK.api_pid()
        before = STACK.api_workers()
        self.assertEqual(len(before), WORKERS)
        victim = before[1]
        os.kill(victim, signal.SIGKILL)
        ok = wait_until(lambda: victim not in STACK.api_workers() and
                        len(STACK.api_workers()) == WORKERS, 10)
        self.assertTrue(ok, STACK.api_workers())
        self.answering()
        self.assertEqual(STACK.api_pid(), master)
        self.assertEqual(len(STACK.api_workers()), WORKERS)

    def test_sighup_recycles_workers(self):
        master = STACK.api_pid()
        before = set(STACK.api_workers())
        base = STACK.urls()["nginx"]
        failures, stop = [], threading.Event()

        def load():
            while not stop.is_set():
                r = request(base, "GET", "/api/v1/api-keys",
                            headers=auth(self.key))
                if r.status != 200:
                    failures.append(r)

        t = threading.Thread(target=load)
        t.start()
        try:
            time.sleep(0.3)
            os.kill(master, signal.SIGHUP)
            ok = wait_until(lambda: not (set(STACK.api_workers()) & before)
                            and len(STACK.api_workers()) == WORKERS, 30)
            time.sleep(0.3)
        finally:
            stop.set()
            t.join()
        self.assertTrue(ok, (before, STACK.api_workers()))
        self.assertEqual(failures, [], "requests failed during SIGHUP")
        self.assertEqual(STACK.api_pid(), master)
        self.answering()

    def test_tcp_listener_and_max_requests(self):
        """A second pool on 127.0.0.1:PORT whose workers retire after two
        requests each (max_requests) and are replaced."""
        port = stackmod.free_port()
        conf = os.path.join(STACK.root, "vigil-tcp.conf")
        with open(STACK.conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text + "max_requests = 2\n")
        pidfile = os.path.join(STACK.run, "vigil-api-tcp.pid")
        logf = open(STACK.logfile("vigil-api-tcp.log"), "ab")
        p = stackmod.subprocess.Popen(
            [STACK.vigil_api, "-c", conf, "--listen", "127.0.0.1:%d" % port,
             "--workers", "2", "--pidfile", pidfile],
            stdin=stackmod.subprocess.DEVNULL, stdout=logf,
            stderr=stackmod.subprocess.STDOUT, env=STACK.env(),
            start_new_session=True)
        logf.close()
        try:
            self.assertTrue(wait_until(
                lambda: stackmod.read_pidfile(pidfile) == p.pid and
                len(stackmod.children(p.pid)) == 2, 20))
            first = set(stackmod.children(p.pid))
            for i in range(10):
                status, hdrs, body = fcgi_request(
                    ("127.0.0.1", port), "GET", "/api/v1/api-keys",
                    headers={"X-API-Key": self.key})
                self.assertEqual(status, 200, body)
                self.assertRegex(hdrs.get("x-request-id", ""), REQ_ID_RE)
            self.assertTrue(wait_until(
                lambda: len(stackmod.children(p.pid)) == 2, 10))
            self.assertFalse(first & set(stackmod.children(p.pid)),
                             "workers did not retire after max_requests")
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(40), 0)
        self.assertFalse(os.path.exists(pidfile))

    def test_socket_mode_and_group(self):
        """A unix socket gets vigil.conf's listen_mode and listen_group:
        another local user cannot connect (a process that reaches the
        socket could claim any REMOTE_ADDR); an unknown group is a
        start-up error."""
        import grp
        import pwd
        sock = os.path.join(STACK.run, "vigil-api-mode.sock")
        pidfile = os.path.join(STACK.run, "vigil-api-mode.pid")

        def start(extra):
            conf = os.path.join(STACK.root, "vigil-mode.conf")
            with open(STACK.conf) as f:
                text = f.read()
            with open(conf, "w") as f:
                f.write(text + extra)
            logf = open(STACK.logfile("vigil-api-mode.log"), "ab")
            p = stackmod.subprocess.Popen(
                [STACK.vigil_api, "-c", conf, "--listen", sock,
                 "--workers", "1", "--pidfile", pidfile],
                stdin=stackmod.subprocess.DEVNULL, stdout=logf,
                stderr=stackmod.subprocess.STDOUT, env=STACK.env(),
                start_new_session=True)
            logf.close()
            return p

        p = start("listen_mode = 0640\nlisten_group = nogroup\n")
        try:
            self.assertTrue(wait_until(
                lambda: stackmod.read_pidfile(pidfile) == p.pid and
                len(stackmod.children(p.pid)) == 1, 20))
            st = os.stat(sock)
            self.assertEqual(st.st_mode & 0o777, 0o640)
            self.assertEqual(st.st_gid, grp.getgrnam("nogroup").gr_gid)
            status, _, body = fcgi_request(sock, "GET", "/api/v1/api-keys",
                                           headers={"X-API-Key": self.key})
            self.assertEqual(status, 200, body)
            # "nobody" (not in group nogroup's write bits) is refused
            nobody = pwd.getpwnam("nobody")
            # the system's python3: nobody may not reach a private one
            py = "/usr/bin/python3" if os.access("/usr/bin/python3",
                                                 os.X_OK) else sys.executable
            probe = stackmod.subprocess.run(
                [py, "-c",
                 "import socket,sys; s=socket.socket(socket.AF_UNIX); "
                 "s.connect(sys.argv[1])", sock],
                user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[],
                capture_output=True, text=True, timeout=30)
            self.assertNotEqual(probe.returncode, 0)
            self.assertIn("Permission denied", probe.stderr)
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(40), 0)
        p = start("listen_group = no-such-group-here\n")
        self.assertNotEqual(p.wait(30), 0)
        self.assertFalse(os.path.exists(sock))
        with open(STACK.logfile("vigil-api-mode.log")) as f:
            self.assertIn("listen_group no-such-group-here", f.read())

    def test_cgi_mode(self):
        """vigil-api as plain CGI: one request from the environment."""
        env = dict(STACK.env(), GATEWAY_INTERFACE="CGI/1.1",
                   SERVER_PROTOCOL="HTTP/1.1", REQUEST_METHOD="GET",
                   REQUEST_URI="/api/v1/api-keys", SCRIPT_NAME="",
                   QUERY_STRING="", REMOTE_ADDR="127.0.0.1",
                   HTTP_X_API_KEY=self.key)
        r = stackmod.subprocess.run([STACK.vigil_api], env=env,
                                    stdin=stackmod.subprocess.DEVNULL,
                                    capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        status, hdrs, body = parse_cgi(r.stdout)
        self.assertEqual(status, 200, r.stdout[:500])
        self.assertEqual(hdrs.get("content-type"), JSON_CT)
        self.assertEqual([k["id"] for k in json.loads(body)["api_keys"]],
                         [self.key_id])
        # A POST with its body on standard input.
        data = json.dumps({"name": "cgi", "scopes": ["read"]}).encode()
        env.update(REQUEST_METHOD="POST", CONTENT_TYPE="application/json",
                   CONTENT_LENGTH=str(len(data)))
        r = stackmod.subprocess.run([STACK.vigil_api], env=env, input=data,
                                    capture_output=True, timeout=60)
        status, hdrs, body = parse_cgi(r.stdout)
        self.assertEqual(status, 201, r.stdout[:500])
        kid = json.loads(body)["id"]
        r = request(STACK.urls()["nginx"], "DELETE", "/api/v1/api-keys/" +
                    kid, headers=auth(self.key))
        self.assertEqual(r.status, 200, r)

    def test_no_mode_is_a_usage_error(self):
        env = dict(STACK.env())
        env.pop("GATEWAY_INTERFACE", None)
        r = stackmod.subprocess.run([STACK.vigil_api], env=env,
                                    stdin=stackmod.subprocess.DEVNULL,
                                    capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 64, r.stderr)
        r = stackmod.subprocess.run([STACK.vigil_api, "--workers", "0"],
                                    env=env, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 64, r.stderr)

    def test_sighup_rereads_config(self):
        base = STACK.urls()["nginx"]
        tenant, _ = new_tenant("hup")
        key, _ = new_key(tenant, "read,admin")

        def recycle():
            before = set(STACK.api_workers())
            os.kill(STACK.api_pid(), signal.SIGHUP)
            self.assertTrue(wait_until(
                lambda: not (set(STACK.api_workers()) & before) and
                len(STACK.api_workers()) == WORKERS, 30))

        try:
            STACK.write_conf(rate_read_per_min=777)
            recycle()
            r = self.list_keys(base, key)
            self.assertEqual(r.header("X-RateLimit-Limit"), "777", r)
            # A bad file: the pool keeps the configuration it has.
            # (Whether it recycles the workers then is its choice.)
            with open(STACK.conf, "a") as f:
                f.write("no_such_key = 1\n")
            os.kill(STACK.api_pid(), signal.SIGHUP)
            time.sleep(1.5)
            self.assertEqual(len(STACK.api_workers()), WORKERS)
            # The class key may have used up 777 this minute already:
            # the lowered default limit applies to every key.
            self.answering(2, key)
            r = self.list_keys(base, key)
            self.assertEqual(r.header("X-RateLimit-Limit"), "777", r)
        finally:
            STACK.write_conf(rate_read_per_min=100000)
            recycle()
        r = self.list_keys(base, key)
        self.assertEqual(r.header("X-RateLimit-Limit"), "100000", r)
        self.answering()

    def test_sigterm_drains_and_exits(self):
        master = STACK.api_pid()
        workers = STACK.api_workers()
        tenant, _ = new_tenant("drain")
        key, _ = new_key(tenant, "read,write,admin")
        body = json.dumps({"name": "drained", "scopes": ["read"]}).encode()
        params = {
            "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": "POST", "REQUEST_URI": "/api/v1/api-keys",
            "SCRIPT_NAME": "/api/v1/api-keys", "QUERY_STRING": "",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)), "HTTP_X_API_KEY": key,
            "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "localhost",
            "SERVER_PORT": "80"}
        popen = STACK.procs.get("vigil-api")
        try:
            # A worker is now in the middle of reading this request's body.
            s = fcgi_begin(STACK.api_sock, params, body[:7])
            time.sleep(0.5)
            os.kill(master, signal.SIGTERM)
            time.sleep(1.0)
            self.assertTrue(stackmod.pid_alive(master),
                            "the master did not wait for the request")
            out = fcgi_finish(s, body[7:])
            head = out.split(b"\r\n\r\n", 1)[0].decode("latin-1")
            self.assertRegex(head, r"(?im)^Status: 201", out[:500])
            if popen is not None:
                self.assertEqual(popen.wait(35), 0)
            else:
                self.assertTrue(stackmod.wait_gone(master, 35))
            self.assertEqual([w for w in workers if stackmod.pid_alive(w)],
                             [])
            self.assertFalse(os.path.exists(STACK.api_sock))
            self.assertFalse(os.path.exists(STACK.pidfile("vigil-api")))
        finally:
            STACK.api_stop()
            STACK.api_start(workers=WORKERS)
        # The drained request was committed.
        names = [k["name"] for k in self.list_keys(
            STACK.urls()["nginx"], key).json()["api_keys"]]
        self.assertIn("drained", names)
        self.answering()


# --- slow clients ---------------------------------------------------------------

SLOW_CLIENTS = 16
SLOW_PART = b'{"integrat'          # 10 of the 100 bytes announced


def request_timeout():
    """The stack's request_timeout_ms, in seconds (run.py sets it)."""
    ms = STACK.state.get("conf_extra", {}).get("request_timeout_ms", 10000)
    return int(ms) / 1000.0


def slow_params(key, uri="/api/v1/scans"):
    p = {"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
         "REQUEST_METHOD": "POST", "REQUEST_URI": uri, "SCRIPT_NAME": uri,
         "QUERY_STRING": "", "CONTENT_TYPE": "application/json",
         "CONTENT_LENGTH": "100", "REMOTE_ADDR": "127.0.0.1",
         "SERVER_NAME": "localhost", "SERVER_PORT": "80"}
    if key:
        p["HTTP_X_API_KEY"] = key
    return p


def slow_fcgi(key, part=SLOW_PART, length=100):
    """A FastCGI request on the pool's socket that announces a body of
    length bytes and sends part of it; the socket, left open."""
    params = slow_params(key)
    params["CONTENT_LENGTH"] = str(length)
    return fcgi_begin(STACK.api_sock, params, part)


def slow_http(base, key, part=SLOW_PART, length=100, path="/api/v1/scans"):
    """The same as raw HTTP to a front end; the socket, left open."""
    u = urllib.parse.urlsplit(base)
    s = socket.create_connection((u.hostname, u.port), timeout=10)
    head = ("POST %s HTTP/1.1\r\nHost: vigil\r\nConnection: close\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n" %
            (path, length))
    if key:
        head += "X-API-Key: %s\r\n" % key
    s.sendall(head.encode() + b"\r\n" + part)
    return s


def read_all(s, end):
    """What the peer sends until it closes, or until time.monotonic()
    reaches end (then None: it was still holding the connection)."""
    data = b""
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return None
        except OSError:
            return data
        if not chunk:
            return data
        data += chunk


def fcgi_status(data):
    """The HTTP status in a FastCGI STDOUT stream (None if none)."""
    out, buf = b"", data or b""
    while len(buf) >= 8:
        _, rtype, _, clen, pad = struct.unpack(">BBHHBx", buf[:8])
        if rtype == 6:
            out += buf[8:8 + clen]
        buf = buf[8 + clen + pad:]
    if not out:
        return None
    return parse_cgi(out)[0]


def http_status(data):
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", data or b"")
    return int(m.group(1)) if m else None


class T09SlowClients(Base):
    """Clients that announce a body and send part of it, with or without a
    key, directly on the pool's socket or through Apache mod_proxy_fcgi
    (which passes bodies on as they arrive), cannot keep the pool from
    answering others for longer than request_timeout_ms. (nginx and
    mod_fcgid read the whole body before they pass a request on.)"""

    def run_slow(self, opener, key, allowed, parse):
        limit = request_timeout()
        nginx = STACK.urls()["nginx"]
        socks = []
        with self.same_workers():
            try:
                for _ in range(SLOW_CLIENTS):
                    socks.append(opener(key))
                time.sleep(0.3)     # the pool has taken up the first ones
                for path, hdrs in (("/healthz", {}),
                                   ("/api/v1/findings", auth(self.key))):
                    t0 = time.monotonic()
                    try:
                        r = request(nginx, "GET", path, headers=hdrs,
                                    timeout=limit * 3)
                    except OSError as e:
                        self.fail("GET %s through nginx: %r" % (path, e))
                    took = time.monotonic() - t0
                    self.assertEqual(r.status, 200, r)
                    self.assertLess(took, limit, "GET %s took %.2fs behind "
                                    "%d slow clients" % (path, took,
                                                         SLOW_CLIENTS))
                # The pool answers (or lets go of) each slow client within
                # the deadline.
                end = time.monotonic() + limit + 2
                answers = [parse(read_all(s, end)) for s in socks]
            finally:
                for s in socks:
                    s.close()
        for a in answers:
            self.assertIn(a, allowed, answers)
        return answers

    def test_no_key_on_the_socket(self):
        answers = self.run_slow(slow_fcgi, None, {401}, fcgi_status)
        self.assertEqual(answers, [401] * SLOW_CLIENTS)

    def test_key_on_the_socket(self):
        tenant, _ = new_tenant("slow")
        key, _ = new_key(tenant, "read,write")
        answers = self.run_slow(slow_fcgi, key, {400, 429}, fcgi_status)
        # At most half the workers wait for one tenant's bodies (and
        # answer 400 when the deadline passes); the others are refused
        # at once, with 429.
        self.assertLessEqual(answers.count(400), WORKERS // 2, answers)
        self.assertGreaterEqual(answers.count(429),
                                SLOW_CLIENTS - WORKERS, answers)

    def test_open_routes_on_the_socket(self):
        """The routes that need no key take no body either: one announced
        to /healthz is refused from the headers, at once, whether it
        arrives or not."""
        def opener(key):
            params = slow_params(None, "/healthz")
            params["REQUEST_METHOD"] = "GET"
            params["CONTENT_LENGTH"] = "100000"
            return fcgi_begin(STACK.api_sock, params, SLOW_PART)
        answers = self.run_slow(opener, None, {400}, fcgi_status)
        self.assertEqual(answers, [400] * SLOW_CLIENTS)

    def test_no_body_route_refuses_an_announced_body_at_once(self):
        """A DELETE with a key and an announced body that never comes is
        400 at once, not after request_timeout_ms."""
        tenant, _ = new_tenant("slowdel")
        key, _ = new_key(tenant, "read,write,admin")
        params = slow_params(key, "/api/v1/webhooks/wh_" + "0" * 26)
        params["REQUEST_METHOD"] = "DELETE"
        s = fcgi_begin(STACK.api_sock, params, SLOW_PART)
        try:
            t0 = time.monotonic()
            data = read_all(s, t0 + request_timeout() * 2)
            took = time.monotonic() - t0
        finally:
            s.close()
        self.assertEqual(fcgi_status(data), 400, data)
        self.assertLess(took, request_timeout() / 2)

    def apache(self):
        base = STACK.urls().get("apache-proxy-fcgi")
        if base is None:
            self.skipTest("no Apache in this stack")
        return base

    # mod_proxy_fcgi reads up to 16 KiB of a body before it connects to
    # the pool, and passes the rest on as it arrives: these clients send
    # 20 KB of the 64 KiB they announce. The pool answers and lets go as on
    # its socket, but Apache itself goes on reading the client's body until
    # mod_reqtimeout gives up (408): what the client sees by then is
    # Apache's business.
    def slow_apache(self, base, key):
        return slow_http(base, key, b'{"name":"' + b"a" * 20000, 65536)

    def test_no_key_through_apache(self):
        base = self.apache()
        self.run_slow(lambda k: self.slow_apache(base, k), None,
                      {401, 408, None}, http_status)

    def test_key_through_apache(self):
        base = self.apache()
        tenant, _ = new_tenant("slow")
        key, _ = new_key(tenant, "read,write")
        self.run_slow(lambda k: self.slow_apache(base, k), key,
                      {400, 408, 429, None}, http_status)

    def test_no_key_is_refused_without_waiting_for_the_body(self):
        """401 at once, with the body still to come."""
        s = slow_fcgi(None)
        try:
            t0 = time.monotonic()
            data = read_all(s, t0 + request_timeout() * 2)
            took = time.monotonic() - t0
        finally:
            s.close()
        self.assertEqual(fcgi_status(data), 401, data)
        self.assertLess(took, request_timeout() / 2)

    def test_late_parameters_are_dropped(self):
        """A connection that sends only part of its FastCGI parameters is
        closed when request_timeout_ms has passed, and the worker serves
        on."""
        with self.same_workers():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(STACK.api_sock)
                s.sendall(_fcgi_record(1, struct.pack(">HB5x", 1, 0)) +
                          _fcgi_record(4, b"\x0e\x03REQUEST_METHOD"))
                t0 = time.monotonic()
                data = read_all(s, t0 + request_timeout() + 3)
                took = time.monotonic() - t0
            finally:
                s.close()
            self.assertEqual(data, b"")
            self.assertGreater(took, request_timeout() - 0.5)

    def test_slow_but_honest_client(self):
        """A body sent in three pieces over about a second arrives within
        the deadline and is served."""
        body = json.dumps({"name": "slow-honest", "scopes": ["read"]}).encode()
        third = len(body) // 3
        pieces = [body[:third], body[third:2 * third], body[2 * third:]]
        targets = [("socket", None)]
        base = STACK.urls().get("apache-proxy-fcgi")
        if base is not None:
            targets.append(("apache-proxy-fcgi", base))
        for name, base in targets:
            with self.subTest(frontend=name):
                if base is None:
                    params = slow_params(self.key, "/api/v1/api-keys")
                    params["CONTENT_LENGTH"] = str(len(body))
                    s = fcgi_begin(STACK.api_sock, params, pieces[0])
                else:
                    s = slow_http(base, self.key, pieces[0], len(body),
                                  "/api/v1/api-keys")
                try:
                    for p in pieces[1:]:
                        time.sleep(0.5)
                        if base is None:
                            s.sendall(_fcgi_record(5, p))
                        else:
                            s.sendall(p)
                    if base is None:
                        s.sendall(_fcgi_record(5, b""))
                    data = read_all(s, time.monotonic() +
                                    request_timeout() + 5)
                finally:
                    s.close()
                status = fcgi_status(data) if base is None else \
                    http_status(data)
                self.assertEqual(status, 201, data)
                kid = re.search(rb'"id":\s*"(key_[0-9A-Z]+)"', data)
                self.assertIsNotNone(kid, data)
                r = request(STACK.urls()["nginx"], "DELETE",
                            "/api/v1/api-keys/" + kid.group(1).decode(),
                            headers=auth(self.key))
                self.assertEqual(r.status, 200, r)


# --- vigilctl ------------------------------------------------------------------------

class T08Vigilctl(Base):

    def test_migrate_twice(self):
        before = table_fingerprint()
        r = STACK.vigilctl("migrate")
        self.assertEqual(r.stdout.strip(), "nothing to do")
        self.assertEqual(table_fingerprint(), before)

    def test_usage_errors_exit_64(self):
        for args in ([], ["frobnicate"], ["migrate", "extra"], ["tenant"],
                     ["tenant", "create"], ["tenant", "frob"],
                     ["key"], ["key", "create"],
                     ["key", "create", "--tenant", self.tenant],
                     ["key", "create", "--scopes", "read"],
                     ["key", "list"], ["key", "revoke"],
                     ["key", "create", "--tenant", self.tenant, "--scopes",
                      "read", "--bogus", "x"], ["-c"]):
            r = STACK.vigilctl(*args, check=False)
            self.assertEqual(r.returncode, 64, (args, r.stdout, r.stderr))
            self.assertTrue(r.stderr.strip(), args)

    def test_failures_exit_1(self):
        r = STACK.vigilctl("tenant", "create", self.tenant, check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        r = STACK.vigilctl("key", "revoke", "key_" + "0" * 26, check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        r = STACK.vigilctl("key", "create", "--tenant", "no-such-tenant-x",
                           "--scopes", "read", check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        for bad in ("Bad", "-x", "a b", "x" * 64, "", "a'b"):
            r = STACK.vigilctl("tenant", "create", bad, check=False)
            self.assertIn(r.returncode, (1, 64), (bad, r.stderr))
        r = STACK.vigilctl("key", "create", "--tenant", self.tenant,
                           "--scopes", "read", "--expires", "yesterday",
                           check=False)
        self.assertIn(r.returncode, (1, 64), r.stderr)
        # The epoch is in the past, not "never"; nothing is created.
        before = STACK.vigilctl("key", "list", "--tenant",
                                self.tenant).stdout
        r = STACK.vigilctl("key", "create", "--tenant", self.tenant,
                           "--scopes", "read", "--expires",
                           "1970-01-01T00:00:00Z", check=False)
        self.assertEqual(r.returncode, 64, r.stdout + r.stderr)
        self.assertIn("past", r.stderr)
        self.assertEqual(STACK.vigilctl("key", "list", "--tenant",
                                        self.tenant).stdout, before)

    def test_key_create_and_list(self):
        r = STACK.vigilctl("key", "create", "--tenant", self.tenant,
                           "--scopes", "read,write", "--name", "cli")
        lines = r.stdout.splitlines()
        self.assertRegex(lines[0], KEY_RE)
        self.assertNotIn(lines[0], r.stderr)
        listing = STACK.vigilctl("key", "list", "--tenant", self.tenant)
        self.assertIn(lines[0][:12], listing.stdout)
        self.assertNotIn(lines[0], listing.stdout)
        base = STACK.urls()["nginx"]
        rr = request(base, "GET", "/api/v1/api-keys", headers=auth(lines[0]))
        self.assert_error(rr, 403, "insufficient_scope")

    def test_tenant_limits_audited(self):
        """vigilctl tenant limits is written to the tenant's audit log,
        as a change of the same limits through PUT /settings is, with
        the rate_limits shape the settings show."""
        tenant, tid = new_tenant("t08lim")
        admin, _ = new_key(tenant, "read,write,admin")
        base = STACK.urls()["nginx"]
        STACK.vigilctl("tenant", "limits", tenant, "--read", "600",
                       "--write", "default")
        r = request(base, "GET", "/api/v1/audit?action=tenant.limits",
                    headers=auth(admin))
        self.assertEqual(r.status, 200, r)
        entries = r.json()["entries"]
        self.assertEqual(len(entries), 1, entries)
        e = entries[0]
        self.assertEqual(e["object"], tid, e)
        self.assertTrue(e["actor"].startswith("vigilctl:"), e)
        self.assertEqual(e["detail"], {"rate_limits": {
            "read_per_min": 600, "write_per_min": None}}, e)
        rows = STACK.query("SELECT rate_read_per_min, rate_write_per_min "
                           "FROM tenants WHERE id = '%s'" % tid)
        self.assertEqual(rows, [["600", "NULL"]])
        # A refused value writes neither the limits nor an entry.
        r = STACK.vigilctl("tenant", "limits", tenant, "--read", "0",
                           "--write", "5", check=False)
        self.assertEqual(r.returncode, 64, r.stderr)
        r = request(base, "GET", "/api/v1/audit?action=tenant.limits",
                    headers=auth(admin))
        self.assertEqual(r.json()["total"], 1, r)
        v = STACK.vigilctl("audit", "verify", "--tenant", tenant,
                           check=False)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_tenant_limits_same_bounds_as_settings(self):
        """vigilctl tenant limits and PUT /settings share one bound
        (1 to 100000): each refuses 100001 and leaves the limits alone,
        each accepts 100000."""
        tenant, tid = new_tenant("t08bnd")
        admin, _ = new_key(tenant, "read,write,admin")
        base = STACK.urls()["nginx"]

        def limits():
            return STACK.query("SELECT rate_read_per_min, "
                               "rate_write_per_min FROM tenants "
                               "WHERE id = '%s'" % tid)

        r = STACK.vigilctl("tenant", "limits", tenant, "--read", "100001",
                           "--write", "5", check=False)
        self.assertEqual(r.returncode, 64, r.stderr)
        r = request(base, "PUT", "/api/v1/settings",
                    {"rate_limits": {"read_per_min": 100001,
                                     "write_per_min": 5}},
                    headers=auth(admin))
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["error"]["details"]["field"],
                         "rate_limits.read_per_min", r)
        self.assertEqual(limits(), [["NULL", "NULL"]])
        STACK.vigilctl("tenant", "limits", tenant, "--read", "100000",
                       "--write", "7")
        self.assertEqual(limits(), [["100000", "7"]])
        r = request(base, "PUT", "/api/v1/settings",
                    {"rate_limits": {"read_per_min": 99999,
                                     "write_per_min": 100000}},
                    headers=auth(admin))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(limits(), [["99999", "100000"]])

    def test_limit_set_before_the_bound_survives_other_settings(self):
        """A tenant whose limit was set above today's bound (vigilctl took
        up to 1000000 before) can still change its other settings: the
        limits are written only when they change."""
        tenant, tid = new_tenant("t08old")
        admin, _ = new_key(tenant, "read,write,admin")
        base = STACK.urls()["nginx"]
        STACK.sql("UPDATE tenants SET rate_read_per_min = 500000 "
                  "WHERE id = '%s'" % tid, database="vigil")
        r = request(base, "PUT", "/api/v1/settings",
                    {"scan_interval_minutes": 60}, headers=auth(admin))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["scan_interval_minutes"], 60, r)
        rows = STACK.query("SELECT rate_read_per_min FROM tenants "
                           "WHERE id = '%s'" % tid)
        self.assertEqual(rows, [["500000"]])
        # Changing the other limit keeps this one as it is.
        r = request(base, "PUT", "/api/v1/settings",
                    {"rate_limits": {"write_per_min": 50}},
                    headers=auth(admin))
        self.assertEqual(r.status, 200, r)
        rows = STACK.query("SELECT rate_read_per_min, rate_write_per_min "
                           "FROM tenants WHERE id = '%s'" % tid)
        self.assertEqual(rows, [["500000", "50"]])
        # Changing it is held to the bound.
        r = request(base, "PUT", "/api/v1/settings",
                    {"rate_limits": {"read_per_min": 500000}},
                    headers=auth(admin))
        self.assertEqual(r.status, 400, r)

    def test_tenant_list(self):
        r = STACK.vigilctl("tenant", "list")
        self.assertIn(self.tenant, r.stdout)
        self.assertIn(self.tenant_id, r.stdout)
        self.assertRegex(self.tenant_id, r"^tnt_[0-9A-Z]{26}$")


# --- what a key may grant, and input that is ambiguous or hostile ----------------

def q(s):
    """A SQL string literal (test data only)."""
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


def active_key_ids(tenant_id):
    return sorted(r[0] for r in STACK.query(
        "SELECT id FROM api_keys WHERE tenant_id = %s AND revoked_at IS NULL"
        % q(tenant_id)))


class T09KeyScopes(Base):
    """A key creates keys only with scopes it holds itself."""

    def test_no_key_grants_what_it_lacks(self):
        admin_only, _ = new_key(self.tenant, "admin", name="admin only")
        read_admin, _ = new_key(self.tenant, "read,admin", name="ra")
        base = STACK.urls()["nginx"]
        for key, scopes in ((admin_only, ["read", "write"]),
                            (admin_only, ["read"]),
                            (admin_only, ["write", "admin"]),
                            (admin_only, ["admin", "read", "write"]),
                            (read_admin, ["write"]),
                            (read_admin, ["read", "write", "admin"])):
            with self.subTest(scopes=scopes):
                before = active_key_ids(self.tenant_id)
                r = self.create_key(base, key, name="escalate",
                                    scopes=scopes)
                self.assert_error(r, 403, "insufficient_scope", "scopes")
                self.assertEqual(active_key_ids(self.tenant_id), before)
        # The issue's case: the key it would have minted cannot exist, so
        # an admin-only key still reads nothing.
        r = request(base, "GET", "/api/v1/findings", headers=auth(admin_only))
        self.assert_error(r, 403, "insufficient_scope")
        names = STACK.query("SELECT name FROM api_keys WHERE tenant_id = %s"
                            % q(self.tenant_id))
        self.assertNotIn(["escalate"], names)

    def test_what_a_key_holds_it_may_grant(self):
        tenant, _ = new_tenant("t09grant")
        full, _ = new_key(tenant, "read,write,admin", name="full")
        admin_only, _ = new_key(tenant, "admin", name="admin only")
        read_admin, _ = new_key(tenant, "read,admin", name="ra")
        base = STACK.urls()["nginx"]
        made = {}
        for key, scopes in ((admin_only, ["admin"]),
                            (read_admin, ["read"]),
                            (read_admin, ["admin", "read"]),
                            (full, ["read", "write", "admin"]),
                            (full, ["write"])):
            with self.subTest(scopes=scopes):
                r = self.create_key(base, key, name="ok", scopes=scopes)
                self.assertEqual(r.status, 201, r)
                self.assertEqual(sorted(r.json()["scopes"]), sorted(scopes))
                made[tuple(scopes)] = r.json()["key"]
        # The admin-only key's child is admin-only too: it manages keys
        # and reads nothing.
        child = made[("admin",)]
        r = request(base, "GET", "/api/v1/api-keys", headers=auth(child))
        self.assertEqual(r.status, 200, r)
        r = request(base, "GET", "/api/v1/findings", headers=auth(child))
        self.assert_error(r, 403, "insufficient_scope")

    def test_vigilctl_grants_any(self):
        key, _ = new_key(self.tenant, "read,write,admin", name="cli full")
        r = request(STACK.urls()["nginx"], "GET", "/api/v1/findings",
                    headers=auth(key))
        self.assertEqual(r.status, 200, r)


class T10AmbiguousInput(Base):
    """A repeated JSON key, a repeated query parameter and a body sent to
    an operation that takes none are refused, naming what, and change
    nothing."""

    def post_key(self, base, raw):
        return request(base, "POST", "/api/v1/api-keys", raw,
                       {"Content-Type": "application/json",
                        **auth(self.key)})

    def test_repeated_json_keys(self):
        cases = [
            ('{"name":"a","name":"b","scopes":["read"]}', "name"),
            ('{"name":"a","scopes":["read"],"name":"a"}', "name"),
            ('{"name":"a","\\u006eame":"b","scopes":["read"]}', "name"),
            ('{"name":"a","scopes":["read"],"scopes":["read","write"]}',
             "scopes"),
        ]
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                with self.same_workers():
                    before = active_key_ids(self.tenant_id)
                    for raw, field in cases:
                        r = self.post_key(base, raw)
                        e = self.assert_error(r, 400, "invalid_request",
                                              field)
                        self.assertIn("more than once", e["message"], r)
                    self.assertEqual(active_key_ids(self.tenant_id), before)
        base = STACK.urls()["nginx"]
        # Nested: named by path, and the settings stay as they were.
        before = request(base, "GET", "/api/v1/settings",
                         headers=auth(self.key)).json()
        r = request(base, "PUT", "/api/v1/settings",
                    '{"rate_limits":{"read_per_min":7,"read_per_min":9}}',
                    {"Content-Type": "application/json", **auth(self.key)})
        self.assert_error(r, 400, "invalid_request",
                          "rate_limits.read_per_min")
        r = request(base, "POST", "/api/v1/findings/bulk",
                    '{"action":"snooze","ids":["azure-x-00000000"],'
                    '"days":1,"days":90}',
                    {"Content-Type": "application/json", **auth(self.key)})
        self.assert_error(r, 400, "invalid_request", "days")
        after = request(base, "GET", "/api/v1/settings",
                        headers=auth(self.key)).json()
        self.assertEqual(after, before)

    def test_repeated_query_parameters(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                for path, field in (
                        ("/api/v1/api-keys?limit=1&limit=2", "limit"),
                        ("/api/v1/api-keys?limit=1&limit=1", "limit"),
                        ("/api/v1/api-keys?limit=1&l%69mit=1", "limit"),
                        ("/api/v1/findings?severity=high&severity=low",
                         "severity"),
                        ("/api/v1/findings?state=all&limit=5&state=open",
                         "state"),
                        ("/api/v1/events?type=*&type=*", "type")):
                    r = request(base, "GET", path, headers=auth(self.key))
                    self.assert_error(r, 400, "invalid_request", field)
                # One parameter with a comma list is how to ask for two.
                r = request(base, "GET",
                            "/api/v1/findings?severity=high,low&limit=1",
                            headers=auth(self.key))
                self.assertEqual(r.status, 200, r)

    def test_body_on_an_operation_without_one(self):
        base = STACK.urls()["nginx"]
        victim, vid = new_key(self.tenant, "read", name="victim")
        for body, ct in (({}, None), (b"{}", "text/plain"),
                         ({"id": vid}, None), (b" ", "application/json")):
            h = dict(auth(self.key))
            if ct:
                h["Content-Type"] = ct
            for method, path in (
                    ("DELETE", "/api/v1/api-keys/" + vid),
                    ("GET", "/api/v1/api-keys"),
                    ("GET", "/api/v1/findings"),
                    ("POST", "/api/v1/webhooks/whk_" + "0" * 26 + "/test"),
                    ("POST", "/api/v1/webhooks/whk_" + "0" * 26 +
                     "/enable"),
                    ("POST", "/api/v1/deliveries/dlv_" + "0" * 26 +
                     "/retry")):
                with self.subTest(method=method, path=path, body=body):
                    r = request(base, method, path, body, h)
                    self.assert_error(r, 400, "invalid_request", "body")
        # The DELETE with a body revoked nothing.
        self.assertIn(vid, active_key_ids(self.tenant_id))
        r = request(base, "GET", "/api/v1/settings", headers=auth(victim))
        self.assertEqual(r.status, 200, r)
        # An optional body still takes {} (and none).
        for body in ({}, None):
            r = request(base, "POST", "/api/v1/findings/azure-x-00000000/"
                        "resolve", body, auth(self.key))
            self.assert_error(r, 404, "finding_not_found")
            r = request(base, "POST", "/api/v1/audit/export", body,
                        auth(self.key))
            self.assertEqual(r.status, 200, r)


class T11ControlCharacters(Base):
    """Labels refuse control characters (400 naming the field, nothing
    written); multi-line texts keep newline and tab only; vigilctl escapes
    whatever it prints, including rows stored before the check."""

    EVIL = ["\u001b[31mred", "a\tb", "a\nkey_FORGED", "bell\u0007",
            "del\u007f", "csi\u009b2J", "nul\u0000x", "cr\rx", "\u0085"]

    def test_key_names(self):
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                with self.same_workers():
                    before = active_key_ids(self.tenant_id)
                    for evil in self.EVIL:
                        r = self.create_key(base, self.key, name=evil)
                        e = self.assert_error(r, 400, "invalid_request",
                                              "name")
                        self.assertRegex(e["message"], "control|NUL", r)
                    # Raw (unescaped) C1 bytes in the JSON text as well.
                    r = request(base, "POST", "/api/v1/api-keys",
                                b'{"name":"x\xc2\x9b2J","scopes":["read"]}',
                                {"Content-Type": "application/json",
                                 **auth(self.key)})
                    self.assert_error(r, 400, "invalid_request", "name")
                    self.assertEqual(active_key_ids(self.tenant_id), before)
                    # Non-ASCII that is no control is a fine label.
                    r = self.create_key(base, self.key,
                                        name="caf\u00e9 \u00a0\u20ac")
                    self.assertEqual(r.status, 201, r)
                    request(base, "DELETE", "/api/v1/api-keys/" +
                            r.json()["id"], headers=auth(self.key))

    def test_other_labels_and_texts(self):
        base = STACK.urls()["nginx"]
        fid = "azure-nsg-ssh-internet-00000000"
        cases = [
            ("POST", "/api/v1/integrations",
             {"type": "inventory", "name": "inv\u001b]0;pwned\u0007",
              "config": {"path": "/nonexistent"}}, "name"),
            ("POST", "/api/v1/integrations",
             {"type": "inventory", "name": "inv",
              "config": {"path": "/tmp/\nx"}}, "config"),
            ("PATCH", "/api/v1/findings/" + fid,
             {"assignee": "alice\u001b[2J"}, "assignee"),
            ("PATCH", "/api/v1/findings/" + fid,
             {"assignee": "a\tb"}, "assignee"),
            ("PATCH", "/api/v1/findings/" + fid,
             {"notes": "line\u001b[1A"}, "notes"),
            ("PATCH", "/api/v1/findings/" + fid,
             {"notes": "over\rwrite"}, "notes"),
            ("PATCH", "/api/v1/findings/" + fid,
             {"notes": "ok", "user": "bob\n"}, "user"),
            ("POST", "/api/v1/findings/%s/accept" % fid,
             {"justification": "ding\u0007"}, "justification"),
            ("POST", "/api/v1/findings/%s/dismiss" % fid,
             {"reason": "x\u009b"}, "reason"),
            ("POST", "/api/v1/findings/%s/resolve" % fid,
             {"evidence": "\u001bc"}, "evidence"),
            ("POST", "/api/v1/findings/bulk",
             {"action": "dismiss", "ids": [fid], "reason": "r",
              "user": "u\u001b"}, "user"),
            ("POST", "/api/v1/webhooks",
             {"url": "https://example.com/\u001b", "events": ["*"]}, "url"),
        ]
        for method, path, body, field in cases:
            with self.subTest(path=path, body=body):
                r = request(base, method, path, body, auth(self.key))
                self.assert_error(r, 400, "invalid_request", field)
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM integrations WHERE tenant_id = %s"
            % q(self.tenant_id)), [["0"]])
        # Newline and tab are fine in multi-line texts: these get past the
        # body and meet the (missing) finding.
        for method, path, body in (
                ("PATCH", "/api/v1/findings/" + fid,
                 {"notes": "line one\n\tline two"}),
                ("POST", "/api/v1/findings/%s/accept" % fid,
                 {"justification": "why:\n- reason"}),
                ("POST", "/api/v1/findings/%s/dismiss" % fid,
                 {"reason": "a\tb"})):
            r = request(base, method, path, body, auth(self.key))
            self.assert_error(r, 404, "finding_not_found")

    def test_vigilctl_escapes_what_it_lists(self):
        _, kid = new_key(self.tenant, "read", name="plain")
        evil = ("CONCAT('evil', CHAR(27), '[31m', CHAR(10), 'key_FORGED', "
                "CHAR(9), 'vgl_x', CHAR(7), CHAR(13), '\\\\', "
                "_utf8mb4 0xC29B, '2J')")
        STACK.sql("UPDATE api_keys SET name = %s WHERE id = %s"
                  % (evil, q(kid)), database="vigil")
        r = subprocess_bytes(["key", "list", "--tenant", self.tenant])
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        for c in (b"\x1b", b"\x07", b"\r", b"\xc2\x9b"):
            self.assertNotIn(c, out)
        lines = out.split(b"\n")
        self.assertEqual(lines[-1], b"")
        lines = lines[:-1]
        # The header and one line per key: no forged row.
        n = len(STACK.query("SELECT id FROM api_keys WHERE tenant_id = %s"
                            % q(self.tenant_id)))
        self.assertEqual(len(lines), n + 1, out)
        mine = [ln for ln in lines if ln.startswith(kid.encode())]
        self.assertEqual(len(mine), 1, out)
        self.assertEqual(len(mine[0].split(b"\t")), 8, mine[0])
        self.assertTrue(mine[0].endswith(
            b"\tevil\\x1b[31m\\x0akey_FORGED\\x09vgl_x\\x07\\x0d\\\\"
            b"\\xc2\\x9b2J"), mine[0])
        # And the operator's own --name is held to the API's rule.
        count = STACK.query("SELECT COUNT(*) FROM api_keys")
        for bad in ("a\tb", "x\x1b[31m", "\x07"):
            r = STACK.vigilctl("key", "create", "--tenant", self.tenant,
                               "--scopes", "read", "--name", bad,
                               check=False)
            self.assertEqual(r.returncode, 64, r.stderr)
        self.assertEqual(STACK.query("SELECT COUNT(*) FROM api_keys"), count)


class T12KeysBothWays(Base):
    """POST /api-keys and vigilctl key create, DELETE /api-keys/{id} and
    vigilctl key revoke go through one domain module (src/domain/keys.c): the
    same name rule (characters, not bytes), the same limit of 10 active
    keys, the same audit records. vigilctl used to count a name in bytes,
    write scopes into the audit log as a string and make an 11th key."""

    def cli_create(self, tenant, name, scopes="read"):
        """(returncode, key id or None, prefix or None, stderr)."""
        r = STACK.vigilctl("key", "create", "--tenant", tenant, "--scopes",
                           scopes, "--name", name, check=False)
        m = re.search(r"created (key_[0-9A-Za-z]{26}) \((vgl_[0-9A-Za-z]{8})"
                      r"\)", r.stderr)
        return (r.returncode, m.group(1) if m else None,
                m.group(2) if m else None, r.stderr)

    def listed(self, base, key, kid):
        keys = [k for k in self.list_keys(base, key).json()["api_keys"]
                if k["id"] == kid]
        return keys[0] if keys else None

    def test_name_in_characters_both_ways(self):
        base = STACK.urls()["nginx"]
        # One to four bytes a character: 100 are a name (up to 400 bytes),
        # 101 are not, whichever way the key is made.
        for ch in ("x", "\u00e9", "\u20ac", "\U0001f511"):
            with self.subTest(bytes_per_char=len(ch.encode())):
                before = active_key_ids(self.tenant_id)
                r = self.create_key(base, self.key, name=ch * 101)
                self.assert_error(r, 400, "invalid_request", "name")
                rc, kid, _, err = self.cli_create(self.tenant, ch * 101)
                self.assertEqual(rc, 64, err)
                self.assertIn("1 to 100 characters", err)
                self.assertEqual(active_key_ids(self.tenant_id), before)

                r = self.create_key(base, self.key, name=ch * 100)
                self.assertEqual(r.status, 201, r)
                api_id = r.json()["id"]
                self.assertEqual(r.json()["name"], ch * 100)
                rc, cli_id, _, err = self.cli_create(self.tenant, ch * 100)
                self.assertEqual(rc, 0, err)
                self.assertEqual(self.listed(base, self.key, cli_id)["name"],
                                 ch * 100)
                # Each revoked the other way round.
                STACK.vigilctl("key", "revoke", api_id)
                r = request(base, "DELETE", "/api/v1/api-keys/" + cli_id,
                            headers=auth(self.key))
                self.assertEqual(r.status, 200, r)
                self.assertEqual(active_key_ids(self.tenant_id), before)
        # A control character is refused both ways too.
        r = self.create_key(base, self.key, name="a\tb")
        self.assert_error(r, 400, "invalid_request", "name")
        self.assertEqual(self.cli_create(self.tenant, "a\tb")[0], 64)

    def test_same_audit_records(self):
        tenant, tid = new_tenant("t12audit")
        admin, admin_id = new_key(tenant, "read,write,admin", name="admin")
        base = STACK.urls()["nginx"]
        r = self.create_key(base, admin, name="by api",
                            scopes=("write", "read"))
        self.assertEqual(r.status, 201, r)
        api_id, api_prefix = r.json()["id"], r.json()["prefix"]
        rc, cli_id, cli_prefix, err = self.cli_create(tenant, "by vigilctl",
                                                      "write,read")
        self.assertEqual(rc, 0, err)
        r = request(base, "DELETE", "/api/v1/api-keys/" + cli_id,
                    headers=auth(admin))
        self.assertEqual(r.status, 200, r)
        STACK.vigilctl("key", "revoke", api_id)

        r = request(base, "GET", "/api/v1/audit?limit=500",
                    headers=auth(admin))
        self.assertEqual(r.status, 200, r)
        got = {(e["action"], e["object"]): e for e in r.json()["entries"]}
        want_create = {
            admin_id: {"name": "admin", "scopes": ["read", "write", "admin"],
                       "prefix": admin[:12]},
            api_id: {"name": "by api", "scopes": ["read", "write"],
                     "prefix": api_prefix},
            cli_id: {"name": "by vigilctl", "scopes": ["read", "write"],
                     "prefix": cli_prefix},
        }
        for kid, detail in want_create.items():
            e = got[("api_key.create", kid)]
            self.assertEqual(e["detail"], detail, e)
        self.assertEqual(got[("api_key.create", api_id)]["actor"],
                         "key:" + admin_id)
        self.assertTrue(got[("api_key.create", cli_id)]["actor"]
                        .startswith("vigilctl:"))
        for kid, actor in ((cli_id, "key:" + admin_id),
                           (api_id, "vigilctl:")):
            e = got[("api_key.revoke", kid)]
            self.assertEqual(e["detail"], {}, e)
            self.assertTrue(e["actor"].startswith(actor), e)
        v = STACK.vigilctl("audit", "verify", "--tenant", tenant,
                           check=False)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_ten_active_either_way(self):
        tenant, tid = new_tenant("t12ten")
        admin, _ = new_key(tenant, "read,write,admin")
        base = STACK.urls()["nginx"]
        for i in range(4):
            r = self.create_key(base, admin, name="api%d" % i)
            self.assertEqual(r.status, 201, r)
        made = []
        for i in range(5):
            rc, kid, _, err = self.cli_create(tenant, "cli%d" % i)
            self.assertEqual(rc, 0, err)
            made.append(kid)
        self.assertEqual(len(active_key_ids(tid)), 10)
        r = self.create_key(base, admin, name="eleventh")
        self.assert_error(r, 409, "conflict")
        rc, kid, _, err = self.cli_create(tenant, "eleventh")
        self.assertEqual(rc, 1, err)
        self.assertIn("10 active keys", err)
        self.assertIsNone(kid)
        self.assertEqual(len(active_key_ids(tid)), 10)
        # Room made either way is room for either.
        STACK.vigilctl("key", "revoke", made[0])
        r = self.create_key(base, admin, name="api again")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.cli_create(tenant, "full again")[0], 1)
        r = request(base, "DELETE", "/api/v1/api-keys/" + made[1],
                    headers=auth(admin))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.cli_create(tenant, "cli again")[0], 0)
        self.assert_error(self.create_key(base, admin, name="full"), 409,
                          "conflict")
        self.assertEqual(len(active_key_ids(tid)), 10)


def subprocess_bytes(args):
    """vigilctl with its output as bytes, exactly as a terminal gets it."""
    import subprocess
    return subprocess.run([STACK.vigilctl_bin, *args], env=STACK.env(),
                          stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=60)


# --- audit chain verification ------------------------------------------------------

class T13Fcgid(Base):
    """Apache mod_fcgid without its one-second stalls: mod_fcgid sleeps a
    whole second whenever a request finds no idle vigil-api process. With
    the class started by the shipped warm-up (contrib/fcgid-warm.sh), as
    many processes as clients serve every request without that sleep (a
    process is idle again before its client has the answer), and a killed
    process leaves the spare ones serving."""

    STALL = 0.95        # mod_fcgid's sleep is apr_sleep(1 s)

    def setUp(self):
        if "apache-fcgid" not in STACK.urls():
            self.skipTest("no Apache")
        self.base = STACK.urls()["apache-fcgid"]

    def hammer(self, clients, seconds, during=None):
        """clients keep-alive connections sending GET /healthz back to back
        for seconds; during() runs once, a third of the way in. Returns
        (latencies, failures)."""
        u = urllib.parse.urlsplit(self.base)
        lat, failures, lock = [], [], threading.Lock()
        end = time.monotonic() + seconds

        def client():
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            while time.monotonic() < end:
                t = time.monotonic()
                try:
                    conn.request("GET", "/healthz")
                    r = conn.getresponse()
                    body = r.read()
                    ok = r.status == 200
                except (OSError, http.client.HTTPException) as e:
                    ok, body = False, repr(e).encode()
                    conn.close()
                    conn = http.client.HTTPConnection(u.hostname, u.port,
                                                      timeout=30)
                with lock:
                    lat.append(time.monotonic() - t)
                    if not ok:
                        failures.append(body[:200])
            conn.close()

        ts = [threading.Thread(target=client) for _ in range(clients)]
        for t in ts:
            t.start()
        if during is not None:
            time.sleep(seconds / 3)
            during()
        for t in ts:
            t.join()
        return lat, failures

    def test_warm_up_starts_the_class(self):
        self.assertTrue(STACK.fcgid_warm(6, timeout=60))
        self.assertGreaterEqual(len(STACK.fcgid_pids()), 6)

    def test_as_many_processes_as_clients_no_stall(self):
        self.assertTrue(STACK.fcgid_warm(6, timeout=60))
        lat, failures = self.hammer(min(6, len(STACK.fcgid_pids())), 3)
        self.assertEqual(failures, [])
        self.assertGreater(len(lat), 20)
        slow = [round(x, 2) for x in lat if x >= self.STALL]
        self.assertEqual(slow, [], "requests that waited for mod_fcgid's "
                         "one-second sleep, out of %d" % len(lat))

    def test_warm_up_header_holds_nothing_afterwards(self):
        """A process holds only the first warm-up request it serves: once
        the class is up, the header slows nobody down."""
        self.assertTrue(STACK.fcgid_warm(6, timeout=60))
        for name, base in self.frontends():
            for _ in range(10):
                t = time.monotonic()
                r = request(base, "GET", "/healthz",
                            headers={"X-Vigil-Warm-Up": "1"})
                self.assertEqual(r.status, 200, r)
                self.assertLess(time.monotonic() - t, 1.0, name)

    def test_rate_limits_in_shared_memory(self):
        """mod_fcgid's processes count a key's requests in memory they
        share, as a pool's workers do, not with a database write each: a
        burst of concurrent requests shorter than the second between
        syncs writes the key's rate_limits row only at its start (until
        the first sync has answered, each request of the 4 clients syncs:
        at most 4), and still every answer's remaining count is a
        different one, one step apart, whichever process served it.
        Counted in the database, every request wrote the row and its count
        was theirs."""
        self.assertTrue(STACK.fcgid_warm(6, timeout=60))
        tenant, tid = new_tenant("fcgidrl")
        # A sync also comes every tenth of the limit: a limit far above
        # the burst leaves the first request's as the only one.
        STACK.sql("UPDATE tenants SET rate_read_per_min = 1000000 "
                  "WHERE id = '%s'" % tid, database="vigil")
        for attempt in range(3):
            key, kid = new_key(tenant, "read")
            wait_for_fresh_window(25)
            remaining, lock = [], threading.Lock()
            end = time.monotonic() + 0.5

            def client():
                while time.monotonic() < end:
                    r = request(self.base, "GET", "/api/v1/findings?limit=1",
                                headers=auth(key))
                    with lock:
                        remaining.append(
                            (r.status, r.header("X-RateLimit-Remaining")))

            ts = [threading.Thread(target=client) for _ in range(4)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            if len(remaining) >= 20:
                break
        self.assertGreaterEqual(len(remaining), 20, remaining)
        self.assertEqual({s for s, _ in remaining}, {200}, remaining)
        left = sorted((int(x) for _, x in remaining), reverse=True)
        self.assertEqual(left, list(range(999999, 999999 - len(left), -1)))
        rows = STACK.query("SELECT count FROM rate_limits WHERE key_id = "
                           "'%s' AND class = 'read'" % kid)
        self.assertEqual(len(rows), 1, rows)
        self.assertLessEqual(int(rows[0][0]), 4, "%d requests" % len(left))

    def test_killed_process_no_stall(self):
        self.assertTrue(STACK.fcgid_warm(8, timeout=60))
        before = STACK.fcgid_pids()
        victim = []

        def kill():
            victim.append(before[len(before) // 2])
            os.kill(victim[0], signal.SIGKILL)

        lat, failures = self.hammer(5, 3, during=kill)
        # The one request the victim may have been answering fails;
        # every other one is served, and none waits a second.
        self.assertLessEqual(len(failures), 1, failures)
        slow = [round(x, 2) for x in lat if x >= self.STALL]
        self.assertEqual(slow, [], "requests that waited for mod_fcgid's "
                         "one-second sleep, out of %d" % len(lat))
        self.assertNotIn(victim[0], STACK.fcgid_pids())
        self.assert_health(self.base)


class T30AuditVerify(Base):
    """vigilctl audit verify against a real chain that a database
    administrator tampers with; each test puts the rows back."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for i in range(5):          # seq 1 is the admin key; 6 entries
            new_key(cls.tenant, "read", name="a%d" % i)

    def setUp(self):
        self.sql("DROP TABLE IF EXISTS audit_it_backup")
        self.sql("CREATE TABLE audit_it_backup AS SELECT * FROM audit_log "
                 "WHERE tenant_id = '%s'" % self.tenant_id)

    def tearDown(self):
        self.sql("DELETE FROM audit_log WHERE tenant_id = '%s'; "
                 "INSERT INTO audit_log SELECT * FROM audit_it_backup; "
                 "DROP TABLE audit_it_backup" % self.tenant_id)
        self.assertEqual(self.verify().returncode, 0)

    def sql(self, stmt):
        return STACK.sql(stmt, database="vigil")

    def rows(self):
        return STACK.query("SELECT seq, id, hash FROM audit_log WHERE "
                           "tenant_id = '%s' ORDER BY seq" % self.tenant_id)

    def verify(self, *extra):
        return STACK.vigilctl("audit", "verify", "--tenant", self.tenant,
                              *extra, check=False)

    def assert_tampered(self, r, text):
        self.assertEqual(r.returncode, 1, (r.stdout, r.stderr))
        self.assertEqual(r.stdout.strip(), "TAMPERED: tenant %s: %s" % (
            self.tenant, text))

    def test_intact(self):
        rows = self.rows()
        self.assertEqual(len(rows), 6)
        r = self.verify()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "ok: tenant %s, 6 entries, head %s"
                         % (self.tenant, rows[-1][2]))
        r = self.verify("--head", "6:" + rows[-1][2])
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_modified(self):
        seq, aid, _ = self.rows()[2]
        for col, val in (("detail", "{}"), ("actor", "vigilctl:someone"),
                         ("action", "api_key.revoke"),
                         ("at", "2001-01-01 00:00:00")):
            self.sql("UPDATE audit_log SET %s = '%s' WHERE id = '%s'" % (
                col, val, aid))
            self.assert_tampered(self.verify(), "entry %s (seq %s) was "
                                 "modified" % (aid, seq))
            self.tearDown()
            self.setUp()

    def test_deleted_middle(self):
        rows = self.rows()
        self.sql("DELETE FROM audit_log WHERE id = '%s'" % rows[3][1])
        self.assert_tampered(self.verify(), "entry seq 4 was deleted (before "
                             "entry %s, seq 5)" % rows[4][1])

    def test_deleted_last_needs_the_exported_head(self):
        rows = self.rows()
        self.sql("DELETE FROM audit_log WHERE id = '%s'" % rows[5][1])
        # Undetectable from the rows alone...
        self.assertEqual(self.verify().returncode, 0)
        # ...but not against a chain_head kept from an export.
        self.assert_tampered(self.verify("--head", "6:" + rows[5][2]),
                             "entries after seq 5 up to the recorded head "
                             "(seq 6) were deleted")

    def test_deleted_last_shows_at_the_next_entry(self):
        """The chain's head is kept apart (audit_heads, moved forward
        only): after the newest entry is deleted, the next one chains
        onto it, and the gap shows without an exported head."""
        rows = self.rows()
        self.sql("DELETE FROM audit_log WHERE id = '%s'" % rows[5][1])
        new_key(self.tenant, "read", name="after-delete")
        nxt = self.rows()[-1]
        self.assertEqual(int(nxt[0]), 7)
        self.assert_tampered(self.verify(), "entry seq 6 was deleted (before "
                             "entry %s, seq 7)" % nxt[1])

    def test_reordered(self):
        rows = self.rows()
        self.sql("UPDATE audit_log SET seq = 100 WHERE id = '%s'; "
                 "UPDATE audit_log SET seq = 2 WHERE id = '%s'; "
                 "UPDATE audit_log SET seq = 5 WHERE id = '%s'" % (
                     rows[1][1], rows[4][1], rows[1][1]))
        self.assert_tampered(self.verify(), "entry %s (seq 2) was moved: it "
                             "was written as seq 5" % rows[4][1])

    def test_all_tenants_by_default(self):
        other, _ = new_tenant("t30other")
        aid = self.rows()[0][1]
        self.sql("UPDATE audit_log SET object = 'x' WHERE id = '%s'" % aid)
        r = STACK.vigilctl("audit", "verify", check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stdout.splitlines()
        self.assertIn("TAMPERED: tenant %s: entry %s (seq 1) was modified"
                      % (self.tenant, aid), lines)
        # The others are still checked, an empty chain being intact.
        self.assertIn("ok: tenant %s, 0 entries, head %s" % (other, "0" * 64),
                      lines)

    def test_usage(self):
        for args in (["audit"], ["audit", "frob"],
                     ["audit", "verify", "--head", "1:" + "a" * 64],
                     ["audit", "verify", "--tenant", self.tenant, "--head",
                      "x"], ["audit", "verify", "extra"]):
            r = STACK.vigilctl(*args, check=False)
            self.assertEqual(r.returncode, 64, (args, r.stdout, r.stderr))
        r = STACK.vigilctl("audit", "verify", "--tenant", "no-such-tenant-y",
                           check=False)
        self.assertEqual(r.returncode, 1)


# --- the contract -----------------------------------------------------------------

class T98ContractSweep(Base):
    """Every operation doc/openapi.json documents, whatever it is: without
    a key a 401 (or, for open routes, no 5xx); with a key lacking the
    operation's scope a 403; with a full key, on an object that does not
    exist and with an empty body, a documented status that is not a 5xx.
    New routes are covered as soon as they are documented."""

    METHODS = ("get", "head", "post", "put", "patch", "delete")

    def operations(self):
        api = OpenApi(os.path.join(STACK.srcdir, "doc", "openapi.json"))
        default = api.doc.get("security", [])
        for tmpl, rx, item in api.ops:
            for method, op in item.items():
                if method not in self.METHODS or not isinstance(op, dict):
                    continue
                sec = op.get("security", default)
                scopes = set()
                for req in sec:
                    for names in req.values():
                        scopes.update(names)
                # A path parameter naming nothing that exists, but well
                # formed enough to get past a syntax check.
                path = re.sub(r"\{[^}]+\}", "key_00000000000000000000000000"
                              if "api-keys" in tmpl else "nonexistent-0000",
                              tmpl)
                yield method.upper(), path, op, bool(sec), scopes

    def body_for(self, method):
        return {} if method in ("POST", "PUT", "PATCH") else None

    def test_sweep(self):
        base = STACK.urls()["nginx"]
        full = self.key
        lacking = {}
        for scope in ("read", "write", "admin"):
            rest = ",".join(x for x in ("read", "write", "admin")
                            if x != scope)
            lacking[scope], _ = new_key(self.tenant, rest)
        # The ingest routes take ingest or write: lacking both.
        lacking["ingest"], _ = new_key(self.tenant, "read,admin")
        n = 0
        for method, path, op, secured, scopes in self.operations():
            n += 1
            documented = set(op.get("responses", {}))
            with self.subTest(op="%s %s" % (method, path)):
                body = self.body_for(method)
                # HEAD: the status and headers of the error, no body.
                error = self.assert_error if method != "HEAD" else \
                    lambda r, status, code: self.assertEqual(r.status,
                                                             status, r)
                r = request(base, method, path, body)
                if secured:
                    error(r, 401, "invalid_license_key")
                else:
                    self.assertLess(r.status, 500, r)
                for scope in scopes:
                    r = request(base, method, path, body,
                                auth(lacking[scope]))
                    error(r, 403, "insufficient_scope")
                r = request(base, method, path, body, auth(full))
                self.assertLess(r.status, 500, r)
                self.assertIn(str(r.status), documented, r)
                # (GET /metrics answers text/plain: Prometheus's format)
                self.assert_common_headers(r, json_body=method != "HEAD"
                                           and r.status != 204 and
                                           path != "/metrics")
        self.assertGreater(n, 0)


class T99OpenApi(Base):
    """Runs last: every response vigil-api gave the suite (through every
    front end) against doc/openapi.json; with VIGIL_PRISM=1, also through
    Stoplight Prism's validating proxy (stack.Stack.prism_start)."""

    def test_responses_through_prism(self):
        request(STACK.urls()["nginx"], "GET", "/healthz")
        with _observed_lock:
            seen = list(OBSERVED)
        check_through_prism(self, seen)

    def test_document(self):
        api = OpenApi(os.path.join(STACK.srcdir, "doc", "openapi.json"))
        self.assertEqual(api.doc.get("openapi"), "3.1.0")
        for tmpl, rx, item in api.ops:
            for method, op in item.items():
                if isinstance(op, dict) and "responses" in op:
                    for status, resp in op["responses"].items():
                        api.resolve(resp)       # every $ref resolves

    def test_responses_match_the_document(self):
        api = OpenApi(os.path.join(STACK.srcdir, "doc", "openapi.json"))
        # A few of each kind, in case this test runs alone.
        base = STACK.urls()["nginx"]
        request(base, "GET", "/healthz")
        request(base, "GET", "/api/v1/api-keys", headers=auth(self.key))
        request(base, "GET", "/api/v1/api-keys")
        request(base, "DELETE", "/api/v1/api-keys/key_" + "0" * 26,
                headers=auth(self.key))
        with _observed_lock:
            seen = list(OBSERVED)
        problems, checked = {}, 0
        for method, target, resp in seen:
            if not from_vigil(resp):
                continue
            checked += 1
            for p in api.check(method, target, resp.status, resp.headers,
                               resp.body):
                problems.setdefault(p, 0)
                problems[p] += 1
        self.assertGreater(checked, 0)
        self.assertEqual(
            problems, {}, "%d responses checked; not as documented:\n  %s" % (
                checked, "\n  ".join("%s (x%d)" % kv for kv in
                                     sorted(problems.items()))))


if __name__ == "__main__":
    unittest.main()
