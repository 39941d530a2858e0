#!/usr/bin/env python3
"""clustercheck.py: HAProxy's health check of one Galera node (the
"clustercheck" pattern), run on the node's host by tests/cluster/.

  clustercheck.py --listen ADDR:PORT --socket MARIADB_SOCKET [--lifetime S]

Answers every HTTP request with 200 when the node is Synced
(wsrep_local_state 4) and ready (wsrep_ready ON), else 503. HAProxy's
plain mysql-check is not enough: a node that accepts connections while it
is still joining (receiving IST/SST) or is cut off from the primary
component answers every query with "WSREP has not yet prepared node for
application use", and would be given the writes. Exits by itself after
--lifetime seconds (default 7200), or at SIGTERM.
"""

import argparse
import http.server
import signal
import subprocess
import sys
import time


def synced(sock):
    try:
        r = subprocess.run(
            ["mariadb", "--no-defaults", "-S", sock, "-uroot", "-N", "-B",
             "--connect-timeout=2", "-e",
             "SHOW STATUS WHERE Variable_name IN "
             "('wsrep_local_state', 'wsrep_ready')"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if r.returncode != 0:
        return False
    st = dict(line.split("\t", 1) for line in r.stdout.splitlines()
              if "\t" in line)
    return st.get("wsrep_local_state") == "4" and \
        st.get("wsrep_ready") == "ON"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--lifetime", type=float, default=7200)
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            ok = synced(a.socket)
            body = b"synced\n" if ok else b"not synced\n"
            self.send_response(200 if ok else 503)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        do_OPTIONS = do_GET

        def log_message(self, *args):
            pass

    srv = http.server.HTTPServer((host, int(port)), Handler)
    srv.timeout = 0.5
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    end = time.monotonic() + a.lifetime
    while not stop and time.monotonic() < end:
        srv.handle_request()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
