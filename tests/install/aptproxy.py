"""aptproxy.py: the one way out of the install test's container.

The container has a network namespace of its own with no route to the
world; apt inside it reaches Debian's mirror through this HTTP proxy, which
listens on the host's end of the container's veth pair only and forwards
plain-HTTP GET and HEAD requests to the hosts it is given (the mirrors of
the container's sources.list), nothing else. So no NAT, no ip_forward and
no firewall rule is needed on the host, and nothing the container runs can
reach anything but the Debian mirror.
"""

import http.client
import http.server
import socketserver
import threading
import urllib.parse

# Hop-by-hop headers (RFC 9110 7.6.1) are not forwarded either way.
HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
       "proxy-authorization", "te", "trailer", "transfer-encoding",
       "upgrade"}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vigil-install-test-proxy"

    def log_message(self, fmt, *args):
        self.server.log.write("%s %s\n" % (self.address_string(),
                                           fmt % args))
        self.server.log.flush()

    def _refuse(self, code, why):
        body = (why + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _forward(self):
        u = urllib.parse.urlsplit(self.path)
        if u.scheme != "http" or u.hostname not in self.server.allow:
            self._refuse(403, "not an allowed mirror: %s" % self.path)
            return
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        hdrs = {k: v for k, v in self.headers.items()
                if k.lower() not in HOP}
        try:
            c = http.client.HTTPConnection(u.hostname, u.port or 80,
                                           timeout=60)
            c.request(self.command, path, headers=hdrs)
            r = c.getresponse()
        except OSError as e:
            self._refuse(502, "upstream: %s" % e)
            return
        try:
            self.send_response(r.status, r.reason)
            length = r.getheader("Content-Length")
            for k, v in r.getheaders():
                if k.lower() not in HOP:
                    self.send_header(k, v)
            chunked = length is None and self.command != "HEAD" and \
                r.status not in (204, 304)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command == "HEAD":
                return
            while True:
                b = r.read(65536)
                if not b:
                    break
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
                else:
                    self.wfile.write(b)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        finally:
            c.close()

    do_GET = _forward
    do_HEAD = _forward


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class AptProxy:
    """Serves on (addr, port) in a thread until stop()."""

    def __init__(self, addr, port, allow, log):
        self.srv = _Server((addr, port), _Handler)
        self.srv.allow = set(allow)
        self.srv.log = log
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()
