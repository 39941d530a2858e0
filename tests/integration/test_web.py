"""test_web.py: the shipped web server configurations (etc/nginx,
etc/apache) as a site installs them: next to Debian's default sites, under
a sub-path through an .htaccess, with TLS, and under mod_fcgid with a
vigil.conf or log its processes cannot open.

Run by run.py, which starts the stack (stack.py) and sets STACK. Each class
starts front ends of its own (stack.nginx_extra_start, apache_extra_start)
in front of the stack's pool or, for mod_fcgid, spawning the stack's
vigil-api, and stops them when it is done.
"""

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import unittest

import stack as stackmod
import test_api
from test_api import HEALTH_OK, JSON_CT, new_key, new_tenant

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4

NAME = "vigil.test"         # the server name the tests fill in
OTHER = "other.test"        # a name no Vigil server has
MIB = 1024 * 1024


def setUpModule():
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")


class Resp(test_api.Resp):
    pass


def req(port, method, path, body=None, headers=None, host=NAME, tls=None,
        timeout=60, route=None):
    """One request to 127.0.0.1:port with Host: host (TLS with the
    ssl.SSLContext tls, SNI host). route: the path the API routes on, for
    the OpenAPI check of Vigil's answers (None: path; "" : not Vigil's)."""
    h = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    if tls is not None:
        # SNI and the certificate's name: the server name, not the address.
        sock = socket.create_connection(("127.0.0.1", port), timeout)
        conn.sock = tls.wrap_socket(sock, server_hostname=host)
    try:
        conn.putrequest(method, path, skip_host=True,
                        skip_accept_encoding=True)
        conn.putheader("Host", host)
        for k, v in h.items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        resp = Resp(r.status, r.headers, r.read(), "%s:%d" % (host, port))
        if route != "" and r.headers.get("X-Request-Id"):
            test_api._observe(method, route or path, resp)
        return resp
    finally:
        conn.close()


def wait_answer(port, path="/healthz", host=NAME, tls=None, timeout=30):
    """The first answer to GET path, waiting for the server to start."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return req(port, "GET", path, host=host, tls=tls, route="")
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def read_log(name):
    try:
        with open(STACK.logfile(name), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


class WebBase(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        cls.tenant, cls.tenant_id = new_tenant(cls.__name__.lower()[:20])
        cls.key, cls.key_id = new_key(cls.tenant, "read,write,admin",
                                      name="admin")
        cls.started = []

    @classmethod
    def tearDownClass(cls):
        for name in reversed(cls.started):
            STACK.extra_stop(name)

    @classmethod
    def nginx(cls, name, sites):
        p, warnings = STACK.nginx_extra_start(name, sites)
        cls.started.append(name)
        return warnings

    @classmethod
    def apache(cls, name, body, modules=(), ports=()):
        STACK.apache_extra_start(name, body, modules, ports)
        cls.started.append(name)

    @classmethod
    def dir(cls, name):
        d = os.path.join(STACK.root, name)
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        return d

    def assert_vigil(self, r, status=200):
        """Vigil answered (JSON with its request id), not the web server's
        own page."""
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header("Content-Type"), JSON_CT, r)
        self.assertRegex(r.header("X-Request-Id") or "", r"^req_", r)

    def assert_api(self, port, prefix="", tls=None, host=NAME):
        """/healthz, a list with the key in X-API-Key and in
        Authorization: Bearer, and Vigil's JSON 404 for an unknown path."""
        r = req(port, "GET", prefix + "/healthz", tls=tls, host=host,
                route="/healthz")
        self.assert_vigil(r)
        self.assertEqual(r.json(), HEALTH_OK)
        for hdr in ({"X-API-Key": self.key},
                    {"Authorization": "Bearer " + self.key}):
            r = req(port, "GET", prefix + "/api/v1/findings?limit=1",
                    headers=hdr, tls=tls, host=host,
                    route="/api/v1/findings?limit=1")
            self.assert_vigil(r)
            self.assertIn("findings", r.json())
        r = req(port, "GET", prefix + "/api/v1/no-such-thing",
                headers={"X-API-Key": self.key}, tls=tls, host=host,
                route="/api/v1/no-such-thing")
        self.assert_vigil(r, 404)
        self.assertEqual(r.json()["error"]["code"], "not_found")


# --- Debian's default sites ----------------------------------------------------

class T220DebianDefaultSites(WebBase):
    """The shipped server files next to a copy of the default site
    Debian's nginx and apache2 packages enable, on the same port: nginx
    does not warn of a conflicting server name, requests for the name
    the site was given reach Vigil, other names keep Debian's page."""

    def test_nginx(self):
        port = STACK._port("web_nginx_default")
        d = self.dir("web-nginx-default")
        default = STACK.debian_nginx_default(d, "127.0.0.1:%d" % port)
        if default is None:
            self.skipTest("no %s" % stackmod.NGINX_DEBIAN_DEFAULT)
        site = STACK.nginx_site(d, "etc/nginx/vigil.conf", {
            "LISTEN": "127.0.0.1:%d" % port, "SERVER_NAME": NAME})
        warnings = self.nginx("web-nginx-default", [default, site])
        self.assertNotIn("conflicting server name", warnings)
        wait_answer(port)
        self.assert_api(port)
        r = req(port, "GET", "/", host=OTHER, route="")
        self.assertEqual(r.status, 200, r)
        self.assertIn(b"<html", r.body)         # Debian's welcome page
        self.assertIsNone(r.header("X-Request-Id"))
        self.assertNotIn("conflicting server name",
                         read_log("web-nginx-default-error.log"))

    def test_apache(self):
        fport = STACK._port("web_apache_default_fcgid")
        pport = STACK._port("web_apache_default_proxy")
        d = self.dir("web-apache-default")
        sites = []
        for port in (fport, pport):
            default = STACK.debian_apache_default(
                d, "000-default", port)
            if default is None:
                self.skipTest("no 000-default.conf in %s" %
                              stackmod.APACHE_DEBIAN_SITES)
            path = os.path.join(d, "000-default-%d.conf" % port)
            os.replace(default, path)
            sites.append(path)
        fcgid = os.path.join(d, "vigil-fcgid.conf")
        with open(fcgid, "w") as f:
            f.write(STACK.fill("etc/apache/vigil-fcgid.conf", {
                "PORT": fport, "VIGIL_API": STACK.fcgid_api,
                "SERVER_NAME": NAME,
                "APACHE_MODULES": stackmod.APACHE_MODULES,
                "VIGIL_CONF": STACK.fcgid_conf}))
        proxy = os.path.join(d, "vigil-proxy-fcgi.conf")
        with open(proxy, "w") as f:
            f.write(STACK.fill("etc/apache/vigil-proxy-fcgi.conf", {
                "PORT": pport, "SERVER_NAME": NAME,
                "APACHE_MODULES": stackmod.APACHE_MODULES,
                "FCGI_URL": "unix:%s|fcgi://localhost/" % STACK.api_sock}))
        # As sites-enabled orders them: 000-default first.
        body = "\n".join("Include %s" % x for x in sites + [fcgid, proxy])
        self.apache("web-apache-default", body,
                    ("alias", "proxy", "proxy_fcgi"),
                    (fport, pport))
        for port in (fport, pport):
            with self.subTest(port=port):
                self.assert_api(port)
                r = req(port, "GET", "/", host=OTHER, route="")
                self.assertIsNone(r.header("X-Request-Id"), r)


# --- a sub-path through .htaccess ---------------------------------------------

class T221SubPathHtaccess(WebBase):
    """Shared hosting: etc/apache/htaccess.sample and the wrapper
    etc/apache/vigil.fcgi.sample in htdocs/vigil/, the host allowing the
    overrides the sample names. The API answers under /vigil/, and the
    links it writes are under /vigil/ too."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.port = STACK._port("web_htaccess")
        d = os.path.join(STACK.root, "web-htaccess")
        site = os.path.join(d, "htdocs", "vigil")
        os.makedirs(site, exist_ok=True)
        for x in (d, os.path.join(d, "htdocs"), site):
            os.chmod(x, 0o755)
        shutil.copy(os.path.join(STACK.srcdir, "etc", "apache",
                                 "htaccess.sample"),
                    os.path.join(site, ".htaccess"))
        os.chmod(os.path.join(site, ".htaccess"), 0o644)
        wrapper = os.path.join(site, "vigil.fcgi")
        with open(wrapper, "w") as f:
            f.write(STACK.fill("etc/apache/vigil.fcgi.sample", {
                "VIGIL_API": STACK.fcgid_api,
                "VIGIL_CONF": STACK.fcgid_conf}))
        os.chmod(wrapper, 0o755)
        # What the htaccess sample asks of the host; and the body limit a
        # host would set (FcgidMaxRequestLen is server level).
        body = """
<Directory {htdocs}>
    Options FollowSymLinks
    AllowOverride FileInfo AuthConfig Options=ExecCGI
    Require all granted
</Directory>
FcgidMaxRequestLen 105906176
FcgidMaxProcessesPerClass 8
TypesConfig {types}
""".format(types="/etc/mime.types" if os.path.exists("/etc/mime.types")
           else "/dev/null",
           htdocs=os.path.join(d, "htdocs"))
        cls.apache("web-htaccess", body,
                   ("rewrite", "mime", "dir", "alias"), (cls.port,))
        wait_answer(cls.port, "/vigil/healthz")

    def test_api_under_prefix(self):
        self.assert_api(self.port, prefix="/vigil")

    def test_links_under_prefix(self):
        r = req(self.port, "POST", "/vigil/api/v1/reports",
                {"type": "findings", "format": "csv"},
                headers={"X-API-Key": self.key}, route="/api/v1/reports")
        self.assert_vigil(r, 202)
        rid = r.json()["report_id"]
        self.assertEqual(r.header("Location"),
                         "/vigil/api/v1/reports/" + rid)
        STACK.scan("--due")
        r = req(self.port, "GET", r.header("Location"),
                headers={"X-API-Key": self.key},
                route="/api/v1/reports/" + rid)
        self.assert_vigil(r)
        rep = r.json()
        self.assertEqual(rep["status"], "completed", rep)
        self.assertEqual(rep["download_url"],
                         "/vigil/api/v1/reports/%s/download" % rid)
        r = req(self.port, "GET", rep["download_url"],
                headers={"X-API-Key": self.key}, route="")
        self.assertEqual(r.status, 200, r)
        self.assertRegex(r.header("Content-Disposition") or "",
                         r"^attachment;")
        r = req(self.port, "GET", "/vigil/api/v1/reports?limit=5",
                headers={"X-API-Key": self.key},
                route="/api/v1/reports?limit=5")
        self.assert_vigil(r)
        urls = [x["download_url"] for x in r.json()["reports"]
                if x["report_id"] == rid]
        self.assertEqual(urls, ["/vigil/api/v1/reports/%s/download" % rid])
        # The same report at the root (nginx): links from the root.
        r = test_api.request(STACK.urls()["nginx"], "GET",
                             "/api/v1/reports/" + rid,
                             headers={"X-API-Key": self.key})
        self.assertEqual(r.json()["download_url"],
                         "/api/v1/reports/%s/download" % rid)

    def test_body_over_128k(self):
        """A body past mod_fcgid's default FcgidMaxRequestLen (128 KiB)
        reaches vigil-api: an alert batch of some 300 KiB."""
        alerts = [{"source": "edr", "external_id": "big-%d-%d" % (
            os.getpid(), i), "severity": "low", "title": "x" * 200,
            "detected_at": "2026-01-01T00:00:00Z",
            "raw": {"pad": "y" * 3000}} for i in range(90)]
        body = json.dumps({"alerts": alerts}).encode()
        self.assertGreater(len(body), 256 * 1024)
        r = req(self.port, "POST", "/vigil/api/v1/alerts/batch", body,
                headers={"X-API-Key": self.key,
                         "Content-Type": "application/json"},
                route="/api/v1/alerts/batch")
        self.assert_vigil(r)
        self.assertEqual(len(r.json()["results"]), 90)

    def test_config_files_not_served(self):
        r = req(self.port, "GET", "/vigil/.htaccess", route="")
        self.assertIn(r.status, (403, 404), r)
        self.assertNotIn(b"RewriteRule", r.body)


class T225NginxSubPath(WebBase):
    """etc/nginx/vigil-subpath.conf included in a copy of Debian's
    default site: the API under /vigil/, the links under it, the site's
    own page at /."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.port = STACK._port("web_nginx_subpath")
        d = cls.dir("web-nginx-subpath")
        default = STACK.debian_nginx_default(d, "127.0.0.1:%d" % cls.port)
        if default is None:
            raise unittest.SkipTest("no %s" % stackmod.NGINX_DEBIAN_DEFAULT)
        os.makedirs(os.path.join(d, "snippets"), exist_ok=True)
        shutil.copy(stackmod.NGINX_FASTCGI_PARAMS,
                    os.path.join(d, "fastcgi_params"))
        with open(os.path.join(d, "snippets", "vigil-subpath.conf"),
                  "w") as f:
            f.write(STACK.fill("etc/nginx/vigil-subpath.conf", {
                "PREFIX": "/vigil",
                "FCGI_ADDR": "unix:" + STACK.api_sock}))
        with open(default) as f:
            text = f.read()
        text, n = re.subn(r"(?m)^(\s*server_name\s[^;]*;)",
                          r"\1\n\tinclude snippets/vigil-subpath.conf;",
                          text, count=1)
        assert n == 1, text
        with open(default, "w") as f:
            f.write(text)
        cls.nginx("web-nginx-subpath", [default])
        wait_answer(cls.port, "/vigil/healthz")

    def test_api_under_prefix(self):
        self.assert_api(self.port, prefix="/vigil")
        r = req(self.port, "GET", "/", host=OTHER, route="")
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.header("X-Request-Id"), r)

    def test_location(self):
        r = req(self.port, "POST", "/vigil/api/v1/reports",
                {"type": "findings", "format": "csv"},
                headers={"X-API-Key": self.key}, route="/api/v1/reports")
        self.assert_vigil(r, 202)
        self.assertEqual(r.header("Location"),
                         "/vigil/api/v1/reports/" + r.json()["report_id"])


# --- large bodies through mod_fcgid -----------------------------------------------

class T222FcgidLargeImport(WebBase):
    """An import of 60 MiB (Vigil takes reports up to 100 MiB) through
    the stack's mod_fcgid virtual host (etc/apache/vigil-fcgid.conf as
    shipped): Vigil's 202, not Apache's 413 or mod_fcgid's HTML 500."""

    def test_import_60_mib(self):
        base = STACK.urls().get("apache-fcgid")
        if base is None:
            self.skipTest("no Apache (VIGIL_NO_APACHE)")
        # One JSON Lines item of 60 MiB: over Vigil's 1 MiB item cap, so
        # that vigil-scan --due, which reads it later, fails it at once;
        # what matters here is that the whole body gets through.
        head, tail = b'{"class_uid": 2004, "x": "', b'"}\n'
        body = head + b"a" * (60 * MIB - len(head) - len(tail)) + tail
        r = test_api.request(base, "POST",
                             "/api/v1/imports?format=ocsf&source=big"
                             "&mode=partial",
                             body, {"X-API-Key": self.key,
                                    "Content-Type": "application/x-ndjson"},
                             timeout=300)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.header("Content-Type"), JSON_CT, r)
        self.assertEqual(r.json()["status"], "queued", r)


# --- mod_fcgid that cannot read vigil.conf or open its log --------------------------

class T223FcgidUnreadable(WebBase):
    """vigil.conf readable by root only, then a log in a directory
    www-data may not write: Vigil's JSON 500, and Apache's error log says
    which file, why, and as which user; once fixed, the same processes
    serve."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (files www-data cannot "
                                    "read)")
        super().setUpClass()
        d = os.path.join(STACK.root, "web-unreadable")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        with open(STACK.fcgid_conf) as f:
            text = f.read()
        cls.conf = os.path.join(d, "vigil.conf")
        with open(cls.conf, "w") as f:
            f.write(text)
        os.chmod(cls.conf, 0o600)            # root's only
        cls.logdir = os.path.join(d, "log")
        os.makedirs(cls.logdir, exist_ok=True)
        os.chmod(cls.logdir, 0o755)          # root's: www-data cannot write
        cls.logconf = os.path.join(d, "vigil-log.conf")
        lines = [x for x in text.split("\n") if not x.startswith("log =")]
        lines.append("log = %s/api.log" % cls.logdir)
        with open(cls.logconf, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(cls.logconf, 0o644)
        cls.ports = []
        body = []
        for i, conf in enumerate((cls.conf, cls.logconf)):
            port = STACK._port("web_unreadable_%d" % i)
            cls.ports.append(port)
            # One virtual host per file: a FcgidWrapper-less class per
            # configuration needs its own program path, hence the copies.
            api = os.path.join(d, "vigil-api-%d" % i)
            shutil.copy2(STACK.fcgid_api, api)
            os.chmod(api, 0o755)
            body.append("""
<VirtualHost *:{port}>
    ServerName {name}
    ScriptAlias / "{api}/"
    FcgidInitialEnv VIGIL_CONF {conf}
    <Location />
        SetHandler fcgid-script
        Options +ExecCGI
        Require all granted
    </Location>
</VirtualHost>""".format(port=port, name=NAME, api=api, conf=conf))
        cls.apache("web-unreadable", "\n".join(body) + """
FcgidMaxProcessesPerClass 2
FcgidMinProcessesPerClass 0
""", ("alias",), cls.ports)

    def assert_500(self, port, expect_log):
        r = req(port, "GET", "/api/v1/findings",
                headers={"X-API-Key": self.key}, route="/api/v1/findings")
        self.assert_vigil(r, 500)
        e = r.json()["error"]
        self.assertEqual(e["code"], "internal_error", r)
        self.assertEqual(e["request_id"], r.header("X-Request-Id"))
        # No path or reason to the client: they are for the operator.
        self.assertNotIn(STACK.root, r.body.decode())
        deadline = time.monotonic() + 10
        while True:
            log = read_log("web-unreadable-error.log")
            if all(re.search(x, log) for x in expect_log) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.2)
        for x in expect_log:
            self.assertRegex(log, x)

    def test_conf_unreadable_then_fixed(self):
        port = self.ports[0]
        self.assert_500(port, [
            r"vigil-api: cannot read the configuration: %s: Permission "
            r"denied \(running as user www-data \(uid \d+\), groups "
            r"www-data[^)]*\); make the file and its directories readable "
            r"by this user" % re.escape(self.conf)])
        os.chmod(self.conf, 0o644)
        r = req(port, "GET", "/api/v1/findings",
                headers={"X-API-Key": self.key}, route="/api/v1/findings")
        self.assertIn(r.status, (200, 503), r)
        self.assertEqual(r.header("Content-Type"), JSON_CT, r)
        if r.status == 503:
            self.assertEqual(r.header("Retry-After"), "1")
            r = req(port, "GET", "/api/v1/findings",
                    headers={"X-API-Key": self.key},
                    route="/api/v1/findings")
        self.assert_vigil(r)

    def test_log_unwritable(self):
        self.assert_500(self.ports[1], [
            r"vigil-api: cannot open log %s/api\.log: Permission denied "
            r"\(running as user www-data \(uid \d+\), groups www-data"
            r"[^)]*\); let this user create and append to the file" %
            re.escape(self.logdir)])


# --- TLS --------------------------------------------------------------------------

def self_signed(d):
    """A self-signed certificate for NAME (openssl), and its key."""
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-days", "2", "-subj", "/CN=" + NAME,
                        "-addext", "subjectAltName=DNS:" + NAME,
                        "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        os.chmod(key, 0o600)
    return cert, key


def client(cert, version=None):
    """A client context trusting cert; version: the only TLS version it
    offers. TLS 1.1 needs OpenSSL's security level 0, or the client
    itself would refuse to speak it and prove nothing about the server."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cert)
    if version is not None:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


def handshake(port, ctx):
    """The TLS version the server agreed to, or None if it refused."""
    s = socket.create_connection(("127.0.0.1", port), 10)
    try:
        with ctx.wrap_socket(s, server_hostname=NAME) as t:
            return t.version()
    except (ssl.SSLError, ConnectionResetError):
        return None
    finally:
        s.close()


class T224Tls(WebBase):
    """etc/nginx/vigil-tls.conf and etc/apache/vigil-tls.conf with a
    self-signed certificate: TLS 1.1 refused, 1.2 and 1.3 taken, the API
    answers over TLS with Strict-Transport-Security, plain HTTP
    redirects to https."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.dir("web-tls")
        cls.cert, key = self_signed(d)
        cls.servers = {}
        port, tport = (STACK._port("web_tls_nginx"),
                       STACK._port("web_tls_nginx_tls"))
        nd = cls.dir("web-tls-nginx")
        site = STACK.nginx_site(nd, "etc/nginx/vigil-tls.conf", {
            "LISTEN": "127.0.0.1:%d" % port,
            "LISTEN_TLS": "127.0.0.1:%d" % tport,
            "SERVER_NAME": NAME, "TLS_CERT": cls.cert, "TLS_KEY": key})
        cls.nginx("web-tls-nginx", [site])
        cls.servers["nginx"] = (port, tport)
        port, tport = (STACK._port("web_tls_apache"),
                       STACK._port("web_tls_apache_tls"))
        ad = cls.dir("web-tls-apache")
        conf = os.path.join(ad, "vigil-tls.conf")
        with open(conf, "w") as f:
            f.write(STACK.fill("etc/apache/vigil-tls.conf", {
                "PORT": port, "TLS_PORT": tport, "SERVER_NAME": NAME,
                "TLS_CERT": cls.cert, "TLS_KEY": key,
                "APACHE_MODULES": stackmod.APACHE_MODULES,
                "FCGI_URL": "unix:%s|fcgi://localhost/" % STACK.api_sock}))
        cls.apache("web-tls-apache", "Include %s\n" % conf,
                   ("ssl", "headers", "alias", "proxy", "proxy_fcgi",
                    "socache_shmcb"), (port, tport))
        cls.servers["apache"] = (port, tport)
        for port, tport in cls.servers.values():
            wait_answer(tport, tls=client(cls.cert))

    def test_client_speaks_tls11(self):
        """The TLS 1.1 client below can fail: against a server that takes
        TLS 1.1 it connects."""
        srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.set_ciphers("DEFAULT:@SECLEVEL=0")
        srv.minimum_version = srv.maximum_version = ssl.TLSVersion.TLSv1_1
        srv.load_cert_chain(self.cert, os.path.join(
            os.path.dirname(self.cert), "key.pem"))
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)

        def serve():
            c, _ = ls.accept()
            try:
                with srv.wrap_socket(c, server_side=True) as t:
                    t.recv(1)
            except (ssl.SSLError, OSError):
                pass
        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            self.assertEqual(handshake(ls.getsockname()[1],
                                       client(self.cert,
                                              ssl.TLSVersion.TLSv1_1)),
                             "TLSv1.1")
        finally:
            t.join(5)
            ls.close()

    def test_versions(self):
        for name, (port, tport) in sorted(self.servers.items()):
            with self.subTest(server=name):
                self.assertIsNone(handshake(tport, client(
                    self.cert, ssl.TLSVersion.TLSv1_1)))
                self.assertIsNone(handshake(tport, client(
                    self.cert, ssl.TLSVersion.TLSv1)))
                self.assertEqual(handshake(tport, client(
                    self.cert, ssl.TLSVersion.TLSv1_2)), "TLSv1.2")
                self.assertEqual(handshake(tport, client(self.cert)),
                                 "TLSv1.3")

    def test_api_and_hsts(self):
        for name, (port, tport) in sorted(self.servers.items()):
            with self.subTest(server=name):
                tls = client(self.cert)
                self.assert_api(tport, tls=tls)
                for path, hdr in (("/healthz", {}),
                                  ("/api/v1/findings",
                                   {"X-API-Key": "vgl_wrong"})):
                    r = req(tport, "GET", path, headers=hdr, tls=tls)
                    hsts = r.header("Strict-Transport-Security") or ""
                    m = re.match(r"max-age=(\d+)", hsts)
                    self.assertTrue(m, r)
                    self.assertGreaterEqual(int(m.group(1)), 31536000)

    def test_http_redirects(self):
        for name, (port, tport) in sorted(self.servers.items()):
            with self.subTest(server=name):
                r = req(port, "GET", "/api/v1/findings?limit=1",
                        headers={"X-API-Key": self.key}, route="")
                self.assertIn(r.status, (301, 308), r)
                self.assertEqual(r.header("Location"),
                                 "https://%s/api/v1/findings?limit=1"
                                 % NAME)
