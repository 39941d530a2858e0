#!/usr/bin/env python3
"""slack-receiver.py: a local stand-in for a Slack incoming webhook, for
./dev up's demo notification channel (README, "Notification channels").

It answers as Slack does: 200 "ok" for a message with `text` or `blocks`,
400 "invalid_payload" otherwise, and prints each message it accepts on
stdout as one line (./dev up sends it to var/log/demo-slack.log):

  <time> <text> | <each block's text, fields and button URLs>

usage: slack-receiver.py [--port 8098]
"""

import argparse
import http.server
import json
import sys
import time


def texts(block):
    """The readable parts of a Block Kit block."""
    out = []
    t = block.get("text")
    if isinstance(t, dict) and isinstance(t.get("text"), str):
        out.append(t["text"])
    for f in block.get("fields", []) + block.get("elements", []):
        if not isinstance(f, dict):
            continue
        if isinstance(f.get("text"), str):
            out.append(f["text"])
        elif isinstance(f.get("text"), dict):
            out.append(f["text"].get("text", ""))
        if isinstance(f.get("url"), str):
            out.append(f["url"])
    return [" ".join(x.split()) for x in out if x]


class Slack(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            m = json.loads(body)
            ok = isinstance(m, dict) and (isinstance(m.get("text"), str) or
                                          isinstance(m.get("blocks"), list))
        except ValueError:
            ok = False
        if ok:
            parts = [p for b in m.get("blocks", []) if isinstance(b, dict)
                     for p in texts(b)]
            print("%s %s | %s" % (time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                time.gmtime()),
                                  m.get("text", ""), " | ".join(parts)),
                  flush=True)
        answer = b"ok" if ok else b"invalid_payload"
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=8098)
    a = ap.parse_args()
    http.server.ThreadingHTTPServer(("127.0.0.1", a.port),
                                    Slack).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
