#!/usr/bin/env python3
"""fakearm.py: a fake Entra ID token endpoint and Azure Resource Manager on
loopback, for testing Vigil's azure connector without Azure.

One plain-HTTP server on 127.0.0.1 (a random port) answers both:

  POST /{tenant}/oauth2/v2.0/token      client-credentials grant (form body)
  GET  /subscriptions/{sub}/providers/{type}?api-version=V   list, paged
  GET  {sql server id}/firewallRules?api-version=V           list, paged
  GET  {sql server id}/auditingSettings/default?api-version=V
  GET  {web app id}/config/web?api-version=V
  GET  {resource id}?api-version=V
  PATCH {resource id}?api-version=V  (and {web app id}/config/web)
                                        JSON merge patch, applied and kept

Resources are ARM JSON as in an inventory directory (a single resource, a
{"value": [...]} page or a bare array per file); the children Vigil embeds
(properties.firewallRules and properties.auditingSettings of SQL servers,
properties.siteConfig of web apps) are taken out of their parents and
served from the child endpoints, as ARM does. Every ARM request needs the
bearer token the token endpoint issued and an api-version.

Faults, for the tests, each consumed by the next `count` matching requests
(count -1: for ever; `match`: a regular expression searched in the path,
default every ARM request; `token: True` to also hit the token endpoint):

  429        answer 429 with Retry-After (`retry_after`, default "1")
  503        answer 503 with Retry-After (`retry_after`, default "1")
  500        answer 500
  malformed  answer 200 with broken JSON
  truncate   promise more Content-Length than is sent, then close
  cut        answer as usual, but close the connection once `fraction`
             (default 0.5) of the body is sent (a page cut by the network)
  slow       sleep `seconds` (default 5) before answering normally
  large      answer 200 with a valid JSON page of `size` bytes (default 2 MiB;
             `stream: True` sends it without Content-Length, read until close)

Resource providers listed in `unregistered` (e.g. {"Microsoft.Sql"}) answer
list requests with 409 MissingSubscriptionRegistration, as ARM does in a
subscription where the provider was never registered.

Use from Python:

    from fakearm import FakeArm
    with FakeArm(directory="etc/samples/azure", page_size=1) as fa:
        fa.fault("429", count=2, retry_after="1")
        ... point the connector at fa.url (authority and ARM) with
        ... fa.tenant_id / fa.client_id / fa.client_secret / fa.subscriptions
        fa.patches            # [(path, api_version, body)]
        fa.requests           # [(method, path)] in order
        fa.token_requests     # how many tokens were asked for

or from a shell (prints one JSON line with the URL and credentials, then
serves until interrupted; POST /_fake/fault with a JSON fault body, GET
/_fake/requests and /_fake/patches inspect it):

    python3 tests/integration/fakearm.py --dir etc/samples/azure \\
        --page-size 1 --fault 429:2 --fault slow:1:seconds=3
"""

import argparse
import copy
import json
import os
import re
import secrets
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULT_KINDS = ("429", "503", "500", "malformed", "truncate", "slow", "large",
               "cut")

SQL = "microsoft.sql/servers"
WEB = "microsoft.web/sites"


def load_dir(directory):
    """Every resource in the *.json files under directory, sorted by path."""
    out = []
    paths = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in files:
            if f.lower().endswith(".json") and not f.startswith("."):
                paths.append(os.path.join(root, f))
    for path in sorted(paths):
        with open(path) as f:
            doc = json.load(f)
        if isinstance(doc, list):
            out.extend(doc)
        elif isinstance(doc, dict) and "id" not in doc and "value" in doc:
            out.extend(doc["value"])
        else:
            out.append(doc)
    return out


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch of patch into target (a dict), in place."""
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict) and isinstance(target.get(k), dict):
            merge_patch(target[k], v)
        else:
            target[k] = copy.deepcopy(v)


def arm_error(code, message):
    return {"error": {"code": code, "message": message}}


class Fault:
    def __init__(self, kind, count=1, match=None, token=False, **params):
        if kind not in FAULT_KINDS:
            raise ValueError("unknown fault %r (one of %s)" % (kind, ", ".join(FAULT_KINDS)))
        self.kind = kind
        self.count = int(count)
        self.match = re.compile(match) if match else None
        self.token = bool(token)
        self.params = params
        self.hits = 0


class FakeArm:
    """The fake server; start() / stop() or use it as a context manager."""

    def __init__(self, resources=None, directory=None, tenant_id="fake-tenant",
                 client_id="fake-client", client_secret=None, page_size=0,
                 subscriptions=None, expires_in=3599, unregistered=(), verbose=False):
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret or ("fake-secret-" + secrets.token_hex(8))
        self.page_size = page_size
        self.expires_in = expires_in
        self.verbose = verbose
        self.unregistered = {n.lower() for n in unregistered}
        self.lock = threading.Lock()
        self.faults = []
        self.requests = []          # (method, path) of every request
        self.patches = []           # (path, api_version, body)
        self.token_requests = 0
        self.tokens = set()
        self.resources = {}         # lowercased id -> resource (no children)
        self.children = {}          # lowercased id -> {"firewallRules": [...], ...}
        items = []
        if directory:
            items.extend(load_dir(directory))
        if resources:
            items.extend(resources.values() if isinstance(resources, dict) else resources)
        for r in items:
            self.add(r)
        subs = set(subscriptions or [])
        for rid in self.resources:
            subs.add(self._sub_of(rid))
        # Keep the case of ids as given.
        self.subscriptions = sorted(s for s in subs if s)
        self.httpd = None
        self.thread = None
        self.url = None
        self.port = None

    # --- the resource set -------------------------------------------------

    @staticmethod
    def _sub_of(rid):
        parts = rid.split("/")
        return parts[2] if len(parts) > 2 and parts[1].lower() == "subscriptions" else None

    def add(self, resource):
        """Add (or replace) one resource; embedded children are split off."""
        r = copy.deepcopy(resource)
        rid = r["id"]
        key = rid.lower()
        props = r.setdefault("properties", {})
        kids = {}
        t = r.get("type", "").lower()
        if t == SQL:
            kids["firewallRules"] = props.pop("firewallRules", [])
            kids["auditingSettings"] = props.pop("auditingSettings", {
                "state": "Disabled", "retentionDays": 0, "auditActionsAndGroups": [],
                "isAzureMonitorTargetEnabled": False})
        elif t == WEB:
            kids["siteConfig"] = props.pop("siteConfig", {})
        # ARM list answers do not carry the subscriptionId we add to
        # inventory files; the connector must add it.
        r.pop("subscriptionId", None)
        with self.lock:
            self.resources[key] = r
            self.children[key] = kids

    def resource(self, rid):
        """The stored resource with its children embedded again (a copy)."""
        with self.lock:
            r = copy.deepcopy(self.resources[rid.lower()])
            kids = copy.deepcopy(self.children[rid.lower()])
        r["properties"].update(kids)
        return r

    def fault(self, kind, count=1, match=None, token=False, **params):
        """Queue a fault (see the module docstring)."""
        with self.lock:
            self.faults.append(Fault(kind, count, match, token, **params))

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def take_fault(self, path, is_token):
        with self.lock:
            for f in self.faults:
                if f.count == 0 or (is_token and not f.token):
                    continue
                if f.match is not None and not f.match.search(path):
                    continue
                if f.count > 0:
                    f.count -= 1
                f.hits += 1
                return f
        return None

    # --- the server ---------------------------------------------------------

    def start(self):
        fake = self

        class Handler(FakeArmHandler):
            server_fake = fake

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def config(self):
        """What to give the connector (and what the CLI prints)."""
        return {"authority_url": self.url, "arm_url": self.url,
                "tenant_id": self.tenant_id, "client_id": self.client_id,
                "client_secret": self.client_secret,
                "subscription_ids": self.subscriptions}


class FakeArmHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake = None
    server_version = "FakeARM/1.0"

    def log_message(self, fmt, *args):
        if self.server_fake.verbose:
            sys.stderr.write("fakearm: " + (fmt % args) + "\n")

    # --- answering ---

    def send_json(self, status, obj, headers=None):
        self.send_body(status, json.dumps(obj).encode(), headers)

    def send_body(self, status, body, headers=None, content_type="application/json; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-ms-request-id", secrets.token_hex(8))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        cut = getattr(self, "cut", None)
        if cut is not None:
            body = body[:int(len(body) * cut)]
            self.close_connection = True
        try:
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def apply_fault(self, f):
        """Answer as the fault says; True if the request is answered."""
        p = f.params
        if f.kind in ("429", "503"):
            self.send_json(int(f.kind), arm_error(
                "TooManyRequests" if f.kind == "429" else "ServiceUnavailable",
                "fake: throttled"), {"Retry-After": str(p.get("retry_after", "1"))})
            return True
        if f.kind == "500":
            self.send_json(500, arm_error("InternalServerError", "fake: internal error"))
            return True
        if f.kind == "malformed":
            self.send_body(200, b'{"value":[{"id":"/subscriptions/x","type":')
            return True
        if f.kind == "truncate":
            body = json.dumps({"value": [], "pad": "x" * 4096}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) + 10000))
            self.end_headers()
            try:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return True
        if f.kind == "slow":
            time.sleep(float(p.get("seconds", 5)))
            return False
        if f.kind == "cut":
            self.cut = float(p.get("fraction", 0.5))
            return False
        if f.kind == "large":
            size = int(p.get("size", 2 * 1024 * 1024))
            head = b'{"value":[],"pad":"'
            tail = b'"}'
            body = head + b"x" * max(0, size - len(head) - len(tail)) + tail
            if str(p.get("stream", "")).lower() not in ("1", "true", "yes"):
                self.send_body(200, body)
                return True
            # No Content-Length: the client only learns the size by
            # reading, as with a chunked or compressed answer.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for i in range(0, len(body), 65536):
                    self.wfile.write(body[i:i + 65536])
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return True
        return False

    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        return raw

    # --- dispatch ---

    def handle_any(self, method):
        fake = self.server_fake
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        raw = self.body_json() if method in ("POST", "PATCH", "PUT") else b""
        with fake.lock:
            fake.requests.append((method, path))

        if path.startswith("/_fake/"):
            return self.control(method, path, raw)
        m = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/token", path)
        is_token = m is not None
        f = fake.take_fault(path, is_token)
        if f is not None and self.apply_fault(f):
            return
        if is_token:
            return self.token(method, m.group(1), raw)
        return self.arm(method, path, query, raw)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")

    # --- the token endpoint ---

    def token(self, method, tenant, raw):
        fake = self.server_fake
        if method != "POST":
            return self.send_json(405, {"error": "invalid_request",
                                        "error_description": "AADSTS900561: The endpoint only accepts POST requests."})
        with fake.lock:
            fake.token_requests += 1
        form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        get = lambda k: (form.get(k) or [""])[0]
        if tenant != fake.tenant_id:
            return self.send_json(400, {"error": "invalid_request", "error_description":
                                        "AADSTS90002: Tenant '%s' not found." % tenant})
        if get("grant_type") != "client_credentials":
            return self.send_json(400, {"error": "unsupported_grant_type",
                                        "error_description": "AADSTS70003: grant_type is not supported."})
        if not get("scope").endswith("/.default"):
            return self.send_json(400, {"error": "invalid_scope",
                                        "error_description": "AADSTS1002012: The provided value for scope is not valid."})
        if get("client_id") != fake.client_id:
            return self.send_json(400, {"error": "unauthorized_client", "error_description":
                                        "AADSTS700016: Application with identifier '%s' was not found." % get("client_id")})
        if get("client_secret") != fake.client_secret:
            return self.send_json(401, {"error": "invalid_client", "error_description":
                                        "AADSTS7000215: Invalid client secret provided. Ensure the secret being "
                                        "sent in the request is the client secret value, not the client secret ID."})
        tok = "fake." + secrets.token_urlsafe(32)
        with fake.lock:
            fake.tokens.add(tok)
        self.send_json(200, {"token_type": "Bearer", "expires_in": fake.expires_in,
                             "ext_expires_in": fake.expires_in, "access_token": tok})

    # --- ARM ---

    def arm(self, method, path, query, raw):
        fake = self.server_fake
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in fake.tokens:
            return self.send_json(401, arm_error("AuthenticationFailed",
                                                 "Authentication failed. The 'Authorization' header is missing or invalid."))
        api = (query.get("api-version") or [""])[0]
        if not api:
            return self.send_json(400, arm_error("MissingApiVersionParameter",
                                                 "The api-version query parameter (?api-version=) is required for all requests."))
        parts = path.split("/")
        if len(parts) < 3 or parts[1].lower() != "subscriptions":
            return self.send_json(404, arm_error("NotFound", "fake: no such path"))
        sub = parts[2]
        if sub.lower() not in (s.lower() for s in fake.subscriptions):
            return self.send_json(404, arm_error("SubscriptionNotFound",
                                                 "The subscription '%s' could not be found." % sub))
        low = path.lower()

        # GET /subscriptions/{sub}/providers/{ns}/{type}
        m = re.fullmatch(r"/subscriptions/[^/]+/providers/([^/]+/[^/]+)", low)
        if m and method == "GET":
            t = m.group(1)
            if t.split("/")[0] in fake.unregistered:
                return self.send_json(409, arm_error(
                    "MissingSubscriptionRegistration",
                    "The subscription is not registered to use namespace '%s'." % t.split("/")[0]))
            with fake.lock:
                items = [copy.deepcopy(r) for k, r in sorted(fake.resources.items())
                         if k.startswith("/subscriptions/%s/" % sub.lower())
                         and r.get("type", "").lower() == t]
            return self.page(path, api, query, items)

        m = re.fullmatch(r"(/subscriptions/.+?)/(firewallrules|auditingsettings/default|config/web)", low)
        if m:
            key = m.group(1)
            child = m.group(2)
            with fake.lock:
                parent = fake.resources.get(key)
                kids = fake.children.get(key, {})
            if parent is None:
                return self.send_json(404, arm_error("ResourceNotFound", "The Resource was not found."))
            pid = parent["id"]
            if child == "firewallrules" and method == "GET" and "firewallRules" in kids:
                return self.page(path, api, query, copy.deepcopy(kids["firewallRules"]))
            if child == "auditingsettings/default" and method == "GET" and "auditingSettings" in kids:
                return self.send_json(200, {"id": pid + "/auditingSettings/Default", "name": "Default",
                                            "type": "Microsoft.Sql/servers/auditingSettings",
                                            "properties": copy.deepcopy(kids["auditingSettings"])})
            if child == "config/web" and "siteConfig" in kids:
                if method == "PATCH":
                    body = self.parse_patch(raw)
                    if body is None:
                        return
                    with fake.lock:
                        merge_patch(fake.children[key]["siteConfig"], body.get("properties", {}))
                        fake.patches.append((path, api, body))
                if method in ("GET", "PATCH"):
                    with fake.lock:
                        cfg = copy.deepcopy(fake.children[key]["siteConfig"])
                    return self.send_json(200, {"id": pid + "/config/web", "name": parent["name"],
                                                "type": "Microsoft.Web/sites/config",
                                                "location": parent.get("location"), "properties": cfg})
            return self.send_json(405 if method != "GET" else 404,
                                  arm_error("NotFound", "fake: unsupported child request"))

        with fake.lock:
            r = fake.resources.get(low)
        if r is None:
            return self.send_json(404, arm_error("ResourceNotFound",
                                                 "The Resource '%s' was not found." % path))
        if method == "PATCH":
            body = self.parse_patch(raw)
            if body is None:
                return
            with fake.lock:
                merge_patch(fake.resources[low], body)
                fake.patches.append((path, api, body))
        elif method != "GET":
            return self.send_json(405, arm_error("MethodNotAllowed", "fake: %s not supported" % method))
        with fake.lock:
            out = copy.deepcopy(fake.resources[low])
        self.send_json(200, out)

    def parse_patch(self, raw):
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            self.send_json(400, arm_error("InvalidRequestContent", "The request content was invalid."))
            return None
        if "application/json" not in self.headers.get("Content-Type", ""):
            self.send_json(415, arm_error("UnsupportedMediaType", "The content media type is not supported."))
            return None
        return body

    def page(self, path, api, query, items):
        fake = self.server_fake
        try:
            start = int((query.get("$skiptoken") or ["0"])[0])
        except ValueError:
            return self.send_json(400, arm_error("InvalidSkipToken", "fake: bad $skiptoken"))
        n = fake.page_size if fake.page_size > 0 else max(len(items), 1)
        out = {"value": items[start:start + n]}
        if start + n < len(items):
            out["nextLink"] = "%s%s?api-version=%s&$skiptoken=%d" % (
                fake.url, urllib.parse.quote(path), urllib.parse.quote(api), start + n)
        self.send_json(200, out)

    # --- control, for the CLI ---

    def control(self, method, path, raw):
        fake = self.server_fake
        if path == "/_fake/fault" and method == "POST":
            try:
                spec = json.loads(raw.decode())
                fake.fault(**spec)
            except (ValueError, TypeError) as e:
                return self.send_json(400, {"error": str(e)})
            return self.send_json(200, {"ok": True})
        if path == "/_fake/faults" and method == "DELETE":
            fake.clear_faults()
            return self.send_json(200, {"ok": True})
        if path == "/_fake/requests" and method == "GET":
            with fake.lock:
                return self.send_json(200, {"requests": fake.requests, "token_requests": fake.token_requests})
        if path == "/_fake/patches" and method == "GET":
            with fake.lock:
                return self.send_json(200, {"patches": fake.patches})
        self.send_json(404, {"error": "no such control endpoint"})


def parse_fault(text):
    """KIND[:COUNT[:key=value,...]] from the command line."""
    parts = text.split(":", 2)
    kw = {"kind": parts[0]}
    if len(parts) > 1 and parts[1]:
        kw["count"] = int(parts[1])
    if len(parts) > 2:
        for item in parts[2].split(","):
            k, _, v = item.partition("=")
            kw[k] = v
    return kw


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake Entra ID token endpoint and ARM API on 127.0.0.1.")
    ap.add_argument("--dir", help="directory of ARM JSON (as for the inventory connector)")
    ap.add_argument("--tenant", default="fake-tenant")
    ap.add_argument("--client-id", default="fake-client")
    ap.add_argument("--client-secret", default=None, help="default: random, printed")
    ap.add_argument("--page-size", type=int, default=0, help="items per list page (0: all)")
    ap.add_argument("--expires-in", type=int, default=3599)
    ap.add_argument("--unregistered", action="append", default=[],
                    help="a resource provider namespace never registered (409 on its lists)")
    ap.add_argument("--fault", action="append", default=[],
                    help="KIND[:COUNT[:key=value,...]], e.g. 429:2:retry_after=1, slow:1:seconds=3, "
                         "large:1:size=5000000, 500:-1:match=Microsoft.Sql")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    fa = FakeArm(directory=a.dir, tenant_id=a.tenant, client_id=a.client_id,
                 client_secret=a.client_secret, page_size=a.page_size,
                 expires_in=a.expires_in, unregistered=a.unregistered, verbose=a.verbose)
    for f in a.fault:
        fa.fault(**parse_fault(f))
    fa.start()
    print(json.dumps(fa.config()), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    fa.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
