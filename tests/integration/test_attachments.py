"""test_attachments.py: a case's attachments through every front end
(nginx, Apache mod_fcgid, Apache mod_proxy_fcgi): an upload at the limit
(run.py sets attachment_max_bytes to 3 MiB, over the 2 MiB every other
route's web server limit allows, so the route's own raised limit is what
lets it through), over it (declared and while streaming), cut off
mid-upload, malformed, hostile file names, another tenant's case, the
download's headers, the list, delete with its audit and timeline entries,
and a worker killed mid-upload: every refusal leaves nothing behind.

Cases are inserted into the cases table directly (the cases API is
another branch's).

Run by run.py, which sets STACK here.
"""

import hashlib
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import time
import unittest

import test_api as api
from test_api import (Base, auth, fcgi_begin, fcgi_finish, from_vigil,
                      new_key, new_tenant, parse_cgi, request, wait_until)

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4

LIMIT = 3 * 1024 * 1024     # attachment_max_bytes in run.py's stack
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ATT_ID_RE = re.compile(r"^att_[0-9A-HJKMNP-TV-Z]{26}$")


def setUpModule():
    global STACK
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")


def new_case(tenant_id):
    """A case of the tenant, inserted as the cases API would."""
    cid = "case_" + random.choice("01234567") + "".join(
        random.choice(CROCKFORD) for _ in range(25))
    STACK.sql("INSERT INTO cases (tenant_id, id, title, description, "
              "severity, tags, techniques, created_by, created_at, "
              "updated_at) VALUES ('%s', '%s', 'Test case', '', 'high', "
              "'[]', '[]', 'test', UTC_TIMESTAMP(), UTC_TIMESTAMP())" %
              (tenant_id, cid), database="vigil")
    return cid


def form(data, filename=b"a.bin", ctype=b"application/octet-stream",
         boundary=b"vigil-test-boundary-7MA4YWxkTrZu0gW", name=b"file",
         extra=b""):
    """(Content-Type, body) of a multipart/form-data upload of one part
    (filename None: no filename parameter; ctype None: no Content-Type)."""
    if isinstance(filename, str):
        filename = filename.encode()
    head = b'Content-Disposition: form-data; name="' + name + b'"'
    if filename is not None:
        head += b'; filename="' + filename + b'"'
    head += b"\r\n"
    if ctype is not None:
        head += b"Content-Type: " + ctype + b"\r\n"
    body = (b"--" + boundary + b"\r\n" + head + b"\r\n" + data + b"\r\n" +
            extra + b"--" + boundary + b"--\r\n")
    return "multipart/form-data; boundary=" + boundary.decode(), body


def form_hash(parts):
    """The hash an Idempotency-Key keeps for a form, as the README
    describes it: for each part (name, filename or None, Content-Type or
    b"", content), each field as its 8-byte length and bytes (no
    filename: the length 2^64 - 1), the content's length and its
    SHA-256 in hex, after b"multipart/form-data"."""
    h = hashlib.sha256(b"multipart/form-data")
    for name, filename, ctype, data in parts:
        for field in (name, filename, ctype):
            if field is None:
                h.update(b"\xff" * 8)
            else:
                h.update(struct.pack(">Q", len(field)) + field)
        h.update(struct.pack(">Q", len(data)))
        h.update(hashlib.sha256(data).hexdigest().encode())
    return h.hexdigest()


def fcgi_upload(key, case, first, ct, idem=None, length=None):
    """A FastCGI connection to the pool with an upload's parameters sent
    (CONTENT_LENGTH length, default len(first)) and first sent of its
    body, the rest to follow."""
    path = "/api/v1/cases/%s/attachments" % case
    params = {"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
              "REQUEST_METHOD": "POST", "REQUEST_URI": path,
              "SCRIPT_NAME": path, "QUERY_STRING": "",
              "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "localhost",
              "SERVER_PORT": "80", "CONTENT_TYPE": ct, "HTTP_X_API_KEY": key,
              "CONTENT_LENGTH": str(len(first) if length is None
                                    else length)}
    if idem is not None:
        params["HTTP_IDEMPOTENCY_KEY"] = idem
    return fcgi_begin(STACK.api_sock, params, first)


def read_all(s):
    """What the socket s receives until the other end closes it; closed
    then."""
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return buf


def fcgi_stdout(raw):
    """The STDOUT records' content in a FastCGI stream."""
    out = b""
    while len(raw) >= 8:
        _, rtype, _, clen, pad = struct.unpack(">BBHHBx", raw[:8])
        if rtype == 6:
            out += raw[8:8 + clen]
        raw = raw[8 + clen + pad:]
    return out


def upload(base, key, case_id, data=b"hello", **kw):
    ct, body = form(data, **kw)
    return request(base, "POST", "/api/v1/cases/%s/attachments" % case_id,
                   body, dict(auth(key), **{"Content-Type": ct}),
                   timeout=120)


def stored(tenant_id):
    """Rows of the tenant's attachments and chunks, whatever their state."""
    a = STACK.query("SELECT COUNT(*) FROM case_attachments WHERE "
                    "tenant_id = '%s'" % tenant_id)[0][0]
    c = STACK.query("SELECT COUNT(*) FROM attachment_chunks WHERE "
                    "tenant_id = '%s'" % tenant_id)[0][0]
    return int(a), int(c)


class T80Attachments(Base):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.case = new_case(cls.tenant_id)

    def fresh_tenant(self):
        name, tid = new_tenant("att")
        key, _ = new_key(name, "read,write")
        return tid, key, new_case(tid)

    def test_upload_at_the_limit_and_download(self):
        """A file of exactly attachment_max_bytes passes every front end
        (the general 2 MiB web server limits raised for this route only),
        comes back byte for byte with its SHA-256, is in 12 chunks of
        256 KiB, listed, audited and on the case's timeline."""
        data = os.urandom(LIMIT)
        sha = hashlib.sha256(data).hexdigest()
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                tid, key, case = self.fresh_tenant()
                r = upload(base, key, case, data, filename="capture.pcap",
                           ctype=b"Application/VND.tcpdump.pcap; x=1")
                self.assertEqual(r.status, 201, r)
                self.assert_common_headers(r)
                a = r.json()
                self.assertRegex(a["attachment_id"], ATT_ID_RE)
                self.assertEqual((a["case_id"], a["name"], a["size"],
                                  a["sha256"], a["content_type"]),
                                 (case, "capture.pcap", LIMIT, sha,
                                  "application/vnd.tcpdump.pcap"))
                self.assertEqual(r.header("Location"),
                                 "/api/v1/cases/%s/attachments/%s" %
                                 (case, a["attachment_id"]))
                self.assertEqual(stored(tid), (1, LIMIT // (256 * 1024)))
                g = request(base, "GET", r.header("Location"),
                            headers=auth(key))
                self.assertEqual(g.status, 200, g)
                self.assertEqual(g.body, data)
                self.assertEqual(g.header("Content-Type"),
                                 "application/octet-stream")
                self.assertEqual(g.header("X-Content-Type-Options"),
                                 "nosniff")
                self.assertEqual(g.header("Content-Disposition"),
                                 "attachment; filename=\"capture.pcap\"; "
                                 "filename*=UTF-8''capture.pcap")
                self.assertEqual(g.header("X-Vigil-Attachment-Sha256"), sha)
                lst = request(base, "GET", "/api/v1/cases/%s/attachments" %
                              case, headers=auth(key))
                self.assertEqual(lst.status, 200, lst)
                self.assertEqual(lst.json()["attachments"], [a])
                self.assertEqual(lst.json()["total"], 1)
                self.assertEqual(STACK.query(
                    "SELECT kind, actor FROM case_timeline WHERE "
                    "tenant_id = '%s' AND case_id = '%s'" % (tid, case)),
                    [["attachment_added", a["created_by"]]])
                self.assertEqual(STACK.query(
                    "SELECT action, object FROM audit_log WHERE tenant_id "
                    "= '%s' AND action LIKE 'attachment.%%'" % tid),
                    [["attachment.create", a["attachment_id"]]])
        # HEAD: the headers alone.
        base = STACK.urls()["nginx"]
        r = upload(base, self.key, self.case, b"%PDF-1.4 small",
                   filename="r.pdf", ctype=b"application/pdf")
        self.assertEqual(r.status, 201, r)
        h = request(base, "HEAD", r.header("Location"), headers=auth(self.key))
        self.assertEqual(h.status, 200, h)
        self.assertEqual(h.header("Content-Type"), "application/pdf")
        self.assertEqual(h.header("Content-Length"), "14")
        self.assertEqual(h.body, b"")

    def test_over_the_limit(self):
        """One byte over the limit while streaming, or a Content-Length
        far over it: 413 payload_too_large and nothing stored; another
        route's 3 MiB body is still stopped by the web server."""
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                tid, key, case = self.fresh_tenant()
                r = upload(base, key, case, os.urandom(LIMIT + 1))
                self.assert_error(r, 413, "payload_too_large", "file")
                r = upload(base, key, case, os.urandom(LIMIT + 1024 * 1024))
                self.assert_error(r, 413, "payload_too_large", "file")
                self.assertEqual(stored(tid), (0, 0))
                # The front end refuses it itself, or drops the
                # connection while the body is still being sent.
                try:
                    r = request(base, "POST", "/api/v1/webhooks",
                                b"{" + b" " * (3 * 1024 * 1024) + b"}",
                                dict(auth(key), **{"Content-Type":
                                                   "application/json"}))
                    self.assertEqual(r.status, 413, r)
                    # (mod_proxy_fcgi passes the headers on at once, and
                    # vigil-api's general 1 MiB limit answers.)
                    if from_vigil(r):
                        self.assert_error(r, 413, "payload_too_large",
                                          "body")
                except ConnectionError:
                    pass

    def test_cut_off_mid_upload(self):
        """A client that stops half way leaves nothing behind, whichever
        front end it went through; and a body whose stream ends before its
        closing boundary (what vigil-api sees from mod_proxy_fcgi) is 400
        naming the body."""
        data = os.urandom(LIMIT)
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                tid, key, case = self.fresh_tenant()
                ct, body = form(data)
                host, port = base.split("//")[1].split(":")
                s = socket.create_connection((host, int(port)), 30)
                s.sendall(("POST /api/v1/cases/%s/attachments HTTP/1.1\r\n"
                           "Host: x\r\nX-API-Key: %s\r\nContent-Type: %s\r\n"
                           "Content-Length: %d\r\n\r\n" %
                           (case, key, ct, len(body))).encode())
                s.sendall(body[:len(body) // 2])
                time.sleep(0.5)
                s.close()
                time.sleep(1.0)
                self.assertEqual(stored(tid), (0, 0))
                self.assert_health(base)
        # Straight to the pool: the stream ends early.
        tid, key, case = self.fresh_tenant()
        ct, body = form(data)
        path = "/api/v1/cases/%s/attachments" % case
        params = {"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL":
                  "HTTP/1.1", "REQUEST_METHOD": "POST", "REQUEST_URI": path,
                  "SCRIPT_NAME": path, "QUERY_STRING": "",
                  "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "localhost",
                  "SERVER_PORT": "80", "CONTENT_LENGTH": str(len(body)),
                  "CONTENT_TYPE": ct, "HTTP_X_API_KEY": key}
        s = fcgi_begin(STACK.api_sock, params, b"")
        for i in range(0, len(body) // 2, 60000):
            s.sendall(api._fcgi_record(5, body[i:min(i + 60000,
                                                     len(body) // 2)]))
        status, hdrs, out = parse_cgi(fcgi_finish(s, b""))
        self.assertEqual(status, 400, out)
        self.assertIn(b'"field":"body"', out)
        self.assertEqual(stored(tid), (0, 0))

    def test_slow_and_stalled_uploads(self):
        """As mod_proxy_fcgi passes a body on: an upload that keeps
        coming (64 KiB every 0.25 s, longer in all than run.py's 3 s
        request_timeout_ms) is stored; one that stalls for longer than
        request_timeout_ms is 400 naming the body, and nothing is left."""
        tid, key, case = self.fresh_tenant()
        data = os.urandom(24 * 65536)
        ct, body = form(data)
        s = fcgi_upload(key, case, b"", ct, length=len(body))
        t0 = time.monotonic()
        for i in range(0, len(body), 65536):
            if i > 0:
                time.sleep(0.25)
            s.sendall(api._fcgi_record(5, body[i:i + 65536 - 8]))
            s.sendall(api._fcgi_record(5, body[i + 65536 - 8:i + 65536]))
        status, hdrs, out = parse_cgi(fcgi_finish(s, b""))
        self.assertGreater(time.monotonic() - t0, 4.5)
        self.assertEqual(status, 201, out)
        self.assertEqual(stored(tid), (1, 6))
        tid, key, case = self.fresh_tenant()
        s = fcgi_upload(key, case, b"", ct, length=len(body))
        s.sendall(api._fcgi_record(5, body[:60000]))
        t0 = time.monotonic()
        buf = read_all(s)
        self.assertGreater(time.monotonic() - t0, 2.5)
        self.assertIn(b"Status: 400", buf)
        self.assertIn(b'"field":"body"', buf)
        self.assertEqual(stored(tid), (0, 0))

    def test_malformed(self):
        """Malformed uploads: a clear 4xx naming what is wrong, nothing
        stored."""
        base = STACK.urls()["nginx"]
        tid, key, case = self.fresh_tenant()
        path = "/api/v1/cases/%s/attachments" % case
        h = auth(key)

        def post(body, ct):
            return request(base, "POST", path, body,
                           dict(h, **{"Content-Type": ct}))

        ct, body = form(b"x")
        self.assert_error(post(body, "multipart/form-data"), 400,
                          "invalid_request", "Content-Type")
        self.assert_error(post(body, "multipart/form-data; boundary=\"a"),
                          400, "invalid_request", "Content-Type")
        self.assert_error(post(b'{"file":"x"}', "application/json"), 415,
                          "unsupported_media_type")
        # Another boundary than the one announced: no delimiter at all.
        self.assert_error(post(body, "multipart/form-data; boundary=zz"),
                          400, "invalid_request", "body")
        # No file part (a field), a file part without a filename, another
        # name, two files.
        _, b = form(b"x", filename=None)
        self.assert_error(post(b, ct), 400, "invalid_request", "file")
        _, b = form(b"x", name=b"upload")
        self.assert_error(post(b, ct), 400, "invalid_request", "file")
        second = (b"--vigil-test-boundary-7MA4YWxkTrZu0gW\r\n"
                  b'Content-Disposition: form-data; name="file"; '
                  b'filename="b"\r\n\r\ny\r\n')
        _, b = form(b"x", extra=second)
        self.assert_error(post(b, ct), 400, "invalid_request", "file")
        # Bad part headers: no Content-Disposition, a folded line, a bad
        # Content-Type.
        bad = (b"--vigil-test-boundary-7MA4YWxkTrZu0gW\r\nContent-Type: a/b"
               b"\r\n\r\nx\r\n--vigil-test-boundary-7MA4YWxkTrZu0gW--\r\n")
        self.assert_error(post(bad, ct), 400, "invalid_request", "body")
        _, b = form(b"x", ctype=b"text/plain\r\n folded")
        self.assert_error(post(b, ct), 400, "invalid_request", "body")
        _, b = form(b"x", ctype=b"not a type")
        self.assert_error(post(b, ct), 400, "invalid_request",
                          "content_type")
        # Complete as HTTP, but the closing boundary never comes.
        _, b = form(b"x" * 300000)
        self.assert_error(post(b[:-40], ct), 400, "invalid_request", "body")
        self.assertEqual(stored(tid), (0, 0))
        self.assertEqual(STACK.query(
            "SELECT COUNT(*) FROM case_timeline WHERE tenant_id = '%s'" %
            tid), [["0"]])

    def test_hostile_file_names(self):
        """Path segments are dropped; a name with a control character, bad
        UTF-8, or over 255 bytes is refused; quotes and non-ASCII are kept
        and served in a Content-Disposition that cannot be split."""
        kept = [
            (b"../../etc/passwd", "passwd",
             "attachment; filename=\"passwd\"; filename*=UTF-8''passwd"),
            (b"C:\\\\Users\\\\me\\\\evil.exe", "evil.exe", None),
            (b'say \\"hi\\".txt', 'say "hi".txt',
             "attachment; filename=\"say _hi_.txt\"; "
             "filename*=UTF-8''say%20%22hi%22.txt"),
            ("résumé ü;x=1.pdf".encode(), "résumé ü;x=1.pdf",
             "attachment; filename=\"r_sum_ _;x=1.pdf\"; "
             "filename*=UTF-8''r%C3%A9sum%C3%A9%20%C3%BC%3Bx%3D1.pdf"),
            (b"100%.txt", "100%.txt",
             "attachment; filename=\"100_.txt\"; "
             "filename*=UTF-8''100%25.txt"),
            (b"a" * 255, "a" * 255, None),
        ]
        refused = [b"", b"dir/", b"..", b"a\x01b", b"a\x7fb", b"\xc2\x85x",
                   b"\xff\xfe.txt", b"a" * 256, b"x\\\\"]
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                tid, key, case = self.fresh_tenant()
                for raw, want, disp in kept:
                    r = upload(base, key, case, b"data", filename=raw)
                    self.assertEqual(r.status, 201, (raw, r))
                    self.assertEqual(r.json()["name"], want)
                    g = request(base, "GET", r.header("Location"),
                                headers=auth(key))
                    self.assertEqual(g.status, 200, g)
                    if disp is not None:
                        self.assertEqual(g.header("Content-Disposition"),
                                         disp)
                    self.assertEqual(len(g.headers.get_all(
                        "Content-Disposition")), 1)
                for raw in refused:
                    r = upload(base, key, case, b"data", filename=raw)
                    self.assert_error(r, 400, "invalid_request", "filename")
                # A CR LF in the name ends the header line: malformed.
                r = upload(base, key, case, b"data",
                           filename=b"a\r\nX-Evil: 1\r\n.txt")
                self.assert_error(r, 400, "invalid_request", "body")
                self.assertEqual(stored(tid)[0], len(kept))

    def test_other_tenants_and_scopes(self):
        """Another tenant's case and attachment are 404 for every
        operation, as are malformed ids; a read key cannot upload or
        delete."""
        base = STACK.urls()["nginx"]
        tid, key, case = self.fresh_tenant()
        r = upload(base, key, case, b"secret", filename="s.txt",
                   ctype=b"text/plain")
        self.assertEqual(r.status, 201, r)
        att = r.json()["attachment_id"]
        other_tid, other_key, other_case = self.fresh_tenant()
        for k, c in ((other_key, case), (key, other_case), (key, "case_x"),
                     (key, "nonexistent")):
            p = "/api/v1/cases/%s/attachments" % c
            self.assert_error(upload(base, k, c, b"x"), 404, "not_found")
            self.assert_error(request(base, "GET", p, headers=auth(k)),
                              404, "not_found")
            self.assert_error(request(base, "GET", p + "/" + att,
                                      headers=auth(k)), 404, "not_found")
            self.assert_error(request(base, "DELETE", p + "/" + att,
                                      headers=auth(k)), 404, "not_found")
        self.assert_error(request(
            base, "GET", "/api/v1/cases/%s/attachments/att_x" % case,
            headers=auth(key)), 404, "not_found")
        self.assertEqual(stored(other_tid), (0, 0))
        self.assertEqual(stored(tid), (1, 1))
        read_key, _ = new_key(STACK.query(
            "SELECT name FROM tenants WHERE id = '%s'" % tid)[0][0], "read")
        self.assert_error(upload(base, read_key, case, b"x"), 403,
                          "insufficient_scope")
        self.assert_error(request(
            base, "DELETE", "/api/v1/cases/%s/attachments/%s" % (case, att),
            headers=auth(read_key)), 403, "insufficient_scope")
        g = request(base, "GET", "/api/v1/cases/%s/attachments/%s" %
                    (case, att), headers=auth(read_key))
        self.assertEqual((g.status, g.body), (200, b"secret"))
        self.assertEqual(g.header("Content-Type"), "text/plain")

    def test_delete(self):
        """Delete: the attachment and its chunks go, with an audit entry
        and an entry on the case's timeline; a second delete is 404."""
        base = STACK.urls()["nginx"]
        tid, key, case = self.fresh_tenant()
        r = upload(base, key, case, os.urandom(600000), filename="x.bin")
        self.assertEqual(r.status, 201, r)
        a = r.json()
        self.assertEqual(stored(tid), (1, 3))
        d = request(base, "DELETE", r.header("Location"), headers=auth(key))
        self.assertEqual(d.status, 200, d)
        self.assertEqual(d.json()["attachment_id"], a["attachment_id"])
        self.assertIs(d.json()["deleted"], True)
        self.assertEqual(stored(tid), (0, 0))
        self.assert_error(request(base, "GET", r.header("Location"),
                                  headers=auth(key)), 404, "not_found")
        self.assert_error(request(base, "DELETE", r.header("Location"),
                                  headers=auth(key)), 404, "not_found")
        self.assertEqual(STACK.query(
            "SELECT kind FROM case_timeline WHERE tenant_id = '%s' AND "
            "case_id = '%s' ORDER BY seq" % (tid, case)),
            [["attachment_added"], ["attachment_deleted"]])
        rows = STACK.query(
            "SELECT action, object, detail FROM audit_log WHERE tenant_id = "
            "'%s' AND action LIKE 'attachment.%%' ORDER BY seq" % tid)
        self.assertEqual([r[:2] for r in rows],
                         [["attachment.create", a["attachment_id"]],
                          ["attachment.delete", a["attachment_id"]]])
        self.assertIn(a["sha256"], rows[1][2])
        tenant = STACK.query("SELECT name FROM tenants WHERE id = '%s'" %
                             tid)[0][0]
        v = STACK.vigilctl("audit", "verify", "--tenant", tenant,
                           check=False)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_worker_killed_mid_upload(self):
        """kill -9 of the worker storing an upload: its transaction is
        rolled back with its connection, nothing of it is visible, and
        the pool replaces the worker."""
        if subprocess.run(["ss", "-V"], capture_output=True).returncode:
            self.skipTest("no ss(8)")
        tid, key, case = self.fresh_tenant()
        ct, body = form(os.urandom(LIMIT))
        path = "/api/v1/cases/%s/attachments" % case
        params = {"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL":
                  "HTTP/1.1", "REQUEST_METHOD": "POST", "REQUEST_URI": path,
                  "SCRIPT_NAME": path, "QUERY_STRING": "",
                  "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "localhost",
                  "SERVER_PORT": "80", "CONTENT_LENGTH": str(len(body)),
                  "CONTENT_TYPE": ct, "HTTP_X_API_KEY": key}
        s = fcgi_begin(STACK.api_sock, params, b"")
        half = len(body) // 2
        for i in range(0, half, 60000):
            s.sendall(api._fcgi_record(5, body[i:min(i + 60000, half)]))
        # The worker has written chunks inside its open transaction.
        self.assertTrue(wait_until(lambda: int(STACK.query(
            "SELECT COALESCE(MAX(trx_rows_modified), 0) FROM "
            "information_schema.innodb_trx", database=None)[0][0]) >= 4,
            20), "no transaction writing the upload's chunks")
        ino = os.fstat(s.fileno()).st_ino
        out = subprocess.run(["ss", "-xpn"], capture_output=True,
                             text=True).stdout
        pid = None
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 9 and f[7] == str(ino):
                m = re.search(r"pid=(\d+)", line)
                if m:
                    pid = int(m.group(1))
        self.assertIsNotNone(pid, "no worker holds the connection")
        self.assertIn(pid, STACK.api_workers())
        os.kill(pid, signal.SIGKILL)
        s.close()
        self.assertTrue(wait_until(lambda: int(STACK.query(
            "SELECT COUNT(*) FROM information_schema.innodb_trx",
            database=None)[0][0]) == 0, 20))
        self.assertEqual(stored(tid), (0, 0))
        self.assertTrue(wait_until(
            lambda: len(STACK.api_workers()) == WORKERS and
            pid not in STACK.api_workers(), 20))
        base = STACK.urls()["nginx"]
        self.assertEqual(upload(base, key, case, b"after").status, 201)


if __name__ == "__main__":
    unittest.main()


class T435UploadIdempotencyKey(Base):
    """An upload's Idempotency-Key covers its bytes: the same upload sent
    again gets the first answer, and the same key with another file, of
    the same length or not, is 409 and stores nothing, on every front
    end (nginx and mod_fcgid send the body whole, mod_proxy_fcgi as it
    comes)."""

    def send(self, base, key, case_id, data, idem, **kw):
        ct, body = form(data, **kw)
        return request(base, "POST", "/api/v1/cases/%s/attachments" %
                       case_id, body, dict(auth(key), **{
                           "Content-Type": ct, "Idempotency-Key": idem}),
                       timeout=120)

    def timeline(self, tenant_id):
        return int(STACK.query("SELECT COUNT(*) FROM audit_log WHERE "
                               "tenant_id = '%s'" % tenant_id)[0][0])

    def test_same_bytes_replayed_other_bytes_conflict(self):
        data = os.urandom(300 * 1024)
        other = bytearray(data)
        other[len(other) // 2] ^= 0xff
        other = bytes(other)
        for name, base in self.frontends():
            with self.subTest(frontend=name):
                name_, tid = new_tenant("attidem")
                key, _ = new_key(name_, "read,write")
                case = new_case(tid)
                idem = "upload-" + os.urandom(8).hex()
                r1 = self.send(base, key, case, data, idem)
                self.assertEqual(r1.status, 201, r1)
                self.assertIsNone(r1.header("Idempotent-Replayed"))
                n, audit = stored(tid), self.timeline(tid)
                self.assertEqual(n[0], 1)

                r2 = self.send(base, key, case, data, idem)
                self.assertEqual((r2.status, r2.body), (r1.status, r1.body))
                self.assertEqual(r2.header("Idempotent-Replayed"), "true")
                self.assertEqual(r2.header("Location"), r1.header("Location"))

                r3 = self.send(base, key, case, other, idem)
                e = self.assert_error(r3, 409, "conflict", "Idempotency-Key")
                self.assertIn("different request body", e["message"])
                self.assertIsNone(r3.header("Retry-After"))

                r4 = self.send(base, key, case, data + b"x", idem)
                self.assert_error(r4, 409, "conflict", "Idempotency-Key")
                r5 = self.send(base, key, case, data[:-1], idem)
                self.assert_error(r5, 409, "conflict", "Idempotency-Key")
                # Another file name: another body, though the same file.
                r6 = self.send(base, key, case, data, idem,
                               filename=b"b.bin")
                self.assert_error(r6, 409, "conflict", "Idempotency-Key")

                self.assertEqual(stored(tid), n)
                self.assertEqual(self.timeline(tid), audit)
                # The record holds the hash of the first body's form
                # (its part, not its boundary) and its bytes' count, as
                # the first request left it; the same upload still gets
                # its answer, framed by another boundary, as curl -F and
                # other clients frame each request.
                _, body = form(data)
                self.assertEqual([list(x) for x in STACK.query(
                    "SELECT body_hash, body_len, state FROM "
                    "idempotency_keys WHERE tenant_id = '%s'" % tid)],
                    [[form_hash([(b"file", b"a.bin",
                                  b"application/octet-stream", data)]),
                      str(len(body)), "done"]])
                r7 = self.send(base, key, case, data, idem)
                self.assertEqual((r7.status, r7.body), (r1.status, r1.body))
                for boundary in (b"x", b"-" * 24 + os.urandom(8).hex()
                                 .encode(), b"B" * 70):
                    r8 = self.send(base, key, case, data, idem,
                                   boundary=boundary)
                    self.assertEqual((r8.status, r8.body),
                                     (r1.status, r1.body))
                    self.assertEqual(r8.header("Idempotent-Replayed"),
                                     "true")
                # Another boundary does not make another file the same.
                r9 = self.send(base, key, case, other, idem, boundary=b"x")
                self.assert_error(r9, 409, "conflict", "Idempotency-Key")
                self.assertEqual(stored(tid), n)
                self.assertEqual(self.timeline(tid), audit)

    def test_late_crlf_after_closing_boundary(self):
        """As mod_proxy_fcgi passes a body on as it comes: an upload whose
        last bytes after the closing boundary (its CRLF) arrive late is
        still kept under its key, so that its retry is given the first
        answer rather than storing the file a second time."""
        name_, tid = new_tenant("attidem")
        key, _ = new_key(name_, "read,write")
        case = new_case(tid)
        idem = "upload-" + os.urandom(8).hex()
        data = os.urandom(5000)
        ct, body = form(data)
        self.assertTrue(body.endswith(b"--\r\n"))
        s = fcgi_upload(key, case, body[:-2], ct, idem, len(body))
        # The worker has the closing boundary, stores the file, answers
        # and keeps the answer, the CRLF not yet sent (it waits 100 ms
        # for it, then no more).
        self.assertTrue(wait_until(lambda: STACK.query(
            "SELECT state FROM idempotency_keys WHERE tenant_id = '%s'" %
            tid) == [["done"]], 10), "the answer was not kept")
        self.assertEqual(stored(tid)[0], 1)
        try:
            s.sendall(api._fcgi_record(5, body[-2:]))
        except (BrokenPipeError, ConnectionResetError):
            pass        # the worker is done with the request already
        status, _, out = parse_cgi(fcgi_stdout(read_all(s)))
        self.assertEqual(status, 201, out)
        self.assertEqual([list(x) for x in STACK.query(
            "SELECT state FROM idempotency_keys WHERE tenant_id = '%s'" %
            tid)], [["done"]])
        r = self.send(STACK.urls()["nginx"], key, case, data, idem,
                      boundary=b"retry")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Idempotent-Replayed"), "true")
        self.assertEqual(json.loads(out)["attachment_id"],
                         r.json()["attachment_id"])
        self.assertEqual(stored(tid)[0], 1)

    def running_claim(self, claim, data=None):
        """A new tenant and case, and a claim of an upload to it still
        running, its body hash the SHA-256 of claim, as a worker serving
        it (or a dead one) leaves it: (tenant id, API key, case id,
        Idempotency-Key, the file's data)."""
        name_, tid = new_tenant("attidem")
        key, key_id = new_key(name_, "read,write")
        case = new_case(tid)
        idem = "upload-" + os.urandom(8).hex()
        data = os.urandom(1000) if data is None else data
        path = "/api/v1/cases/%s/attachments" % case
        target = hashlib.sha256(b"POST\0" + path.encode() + b"\0")
        STACK.sql("INSERT INTO idempotency_keys (tenant_id, idem_key, "
                  "key_id, target_hash, body_hash, state, created_at) "
                  "VALUES ('%s', '%s', '%s', '%s', '%s', 'running', "
                  "UTC_TIMESTAMP())" % (tid, idem, key_id,
                                        target.hexdigest(),
                                        hashlib.sha256(claim).hexdigest()),
                  database="vigil")
        return tid, key, case, idem, data

    def test_while_first_still_running(self):
        """A form's claim still being served says nothing of its body
        (another boundary changes its length): every retry meanwhile is
        told to retry later, and none runs."""
        tid, key, case, idem, data = self.running_claim(b"streamed -1")
        base = STACK.urls()["nginx"]
        r = self.send(base, key, case, data, idem)
        e = self.assert_error(r, 409, "conflict", "Idempotency-Key")
        self.assertIn("still being processed", e["message"])
        self.assertEqual(r.header("Retry-After"), "1")
        r = self.send(base, key, case, data + b"x", idem, boundary=b"q")
        e = self.assert_error(r, 409, "conflict", "Idempotency-Key")
        self.assertIn("still being processed", e["message"])
        self.assertEqual(r.header("Retry-After"), "1")
        self.assertEqual(stored(tid), (0, 0))

    def test_claim_of_an_earlier_version(self):
        """A claim an earlier version made for a form (say, of an upload
        its restart cut off) holds the announced length's hash: a retry
        of that length is told to wait, as it was, and once the claim is
        older than 5 minutes takes it over and runs; another length is
        409 as before."""
        data = os.urandom(1000)
        _, body = form(data)
        tid, key, case, idem, _ = self.running_claim(
            b"streamed %d" % len(body), data)
        base = STACK.urls()["nginx"]
        r = self.send(base, key, case, data, idem)
        e = self.assert_error(r, 409, "conflict", "Idempotency-Key")
        self.assertIn("still being processed", e["message"])
        r = self.send(base, key, case, data + b"x", idem)
        e = self.assert_error(r, 409, "conflict", "Idempotency-Key")
        self.assertIn("different request body", e["message"])
        self.assertEqual(stored(tid), (0, 0))
        STACK.sql("UPDATE idempotency_keys SET created_at = created_at - "
                  "INTERVAL 6 MINUTE WHERE tenant_id = '%s'" % tid,
                  database="vigil")
        r1 = self.send(base, key, case, data, idem)
        self.assertEqual(r1.status, 201, r1)
        self.assertEqual(stored(tid)[0], 1)
        r2 = self.send(base, key, case, data, idem, boundary=b"q")
        self.assertEqual((r2.status, r2.body), (r1.status, r1.body))
        self.assertEqual(r2.header("Idempotent-Replayed"), "true")
        self.assertEqual(stored(tid)[0], 1)

    def test_refusal_kept_for_its_bytes(self):
        """An upload refused before its body was read (no such case) is
        kept for the body's bytes all the same: the worker reads the
        rest after the answer. The same upload again gets the 404 back;
        another file of the same length is 409."""
        name_, tid = new_tenant("attidem")
        key, _ = new_key(name_, "read,write")
        case = "case_0" + "0" * 25
        idem = "upload-" + os.urandom(8).hex()
        data = os.urandom(4000)
        other = data[:-1] + bytes([data[-1] ^ 1])
        base = STACK.urls()["nginx"]
        r1 = self.send(base, key, case, data, idem)
        self.assert_error(r1, 404, "not_found", "id")
        r2 = self.send(base, key, case, data, idem)
        self.assertEqual((r2.status, r2.body), (r1.status, r1.body))
        self.assertEqual(r2.header("Idempotent-Replayed"), "true")
        r3 = self.send(base, key, case, other, idem)
        self.assert_error(r3, 409, "conflict", "Idempotency-Key")
        _, body = form(data)
        self.assertEqual([list(x) for x in STACK.query(
            "SELECT status, body_len FROM idempotency_keys WHERE "
            "tenant_id = '%s'" % tid)], [["404", str(len(body))]])
