"""fakeservices.py: local stand-ins for the services notification channels
talk to, for test_channels.py and ./dev up's demo channel.

Slack, Teams and PagerDuty are HTTP: receiver.py answers a request to
/slack/..., /teams/... or /pagerduty/... as the service does (Slack: 200
"ok", or 400 "invalid_blocks"; Teams Workflows: 202; PagerDuty Events API
v2: 202 {"status":"success",...} or 400 {"status":"invalid event",...}),
after checking the body with the validators here, which follow each
service's documented message format:

  Slack     incoming webhooks with Block Kit
            (https://api.slack.com/messaging/webhooks,
            https://api.slack.com/reference/block-kit/blocks)
  Teams     an Adaptive Card posted to a Workflows/incoming webhook
            (https://learn.microsoft.com/microsoftteams/platform/
            webhooks-and-connectors/how-to/connectors-using,
            https://adaptivecards.io/explorer/)
  PagerDuty Events API v2 (https://developer.pagerduty.com/docs/
            events-api-v2/trigger-events/, .../resolve-events/)

SMTP is FakeSMTP: a small threaded SMTP server (EHLO, optional STARTTLS,
AUTH PLAIN and LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) that records each
message; a test may make it refuse a recipient (550) or the data (451).
"""

import base64
import json
import socket
import socketserver
import ssl
import threading
import time

SLACK_BLOCKS = {"header", "section", "context", "actions", "divider",
                "image", "rich_text", "input", "file", "video"}


def slack_problems(body):
    """What in body breaks Slack's incoming-webhook and Block Kit rules."""
    p = []
    try:
        m = json.loads(body)
    except ValueError:
        return ["not JSON"]
    if not isinstance(m, dict):
        return ["not an object"]
    if not isinstance(m.get("text"), str) and not m.get("blocks"):
        p.append("neither text nor blocks")
    if "text" in m and (not isinstance(m["text"], str) or
                        len(m["text"]) > 40000):
        p.append("text")
    blocks = m.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > 50:
        return p + ["blocks"]
    for i, b in enumerate(blocks):
        where = "blocks[%d]" % i
        if not isinstance(b, dict) or b.get("type") not in SLACK_BLOCKS:
            p.append(where + ".type")
            continue
        t = b["type"]
        if t == "header":
            tx = b.get("text", {})
            if tx.get("type") != "plain_text" or \
                    not 0 < len(tx.get("text", "")) <= 150:
                p.append(where + ".text")
        elif t == "section":
            if "text" not in b and "fields" not in b:
                p.append(where + " has neither text nor fields")
            for o in ([b["text"]] if "text" in b else []) + \
                    b.get("fields", []):
                if o.get("type") not in ("plain_text", "mrkdwn") or \
                        not 0 < len(o.get("text", "")) <= 3000:
                    p.append(where + " text object")
            if len(b.get("fields", [])) > 10:
                p.append(where + ".fields")
        elif t == "context":
            els = b.get("elements", [])
            if not 0 < len(els) <= 10:
                p.append(where + ".elements")
            for e in els:
                if e.get("type") not in ("plain_text", "mrkdwn", "image"):
                    p.append(where + " element")
        elif t == "actions":
            els = b.get("elements", [])
            if not 0 < len(els) <= 25:
                p.append(where + ".elements")
            for e in els:
                if e.get("type") == "button":
                    if e.get("text", {}).get("type") != "plain_text":
                        p.append(where + " button text")
                    u = e.get("url", "")
                    if "url" in e and not (u.startswith("http://") or
                                           u.startswith("https://")):
                        p.append(where + " button url")
    return p


def teams_problems(body):
    """What in body breaks a Teams message with an Adaptive Card."""
    p = []
    try:
        m = json.loads(body)
    except ValueError:
        return ["not JSON"]
    if m.get("type") != "message":
        p.append("type")
    att = m.get("attachments")
    if not isinstance(att, list) or not att:
        return p + ["attachments"]
    for a in att:
        if a.get("contentType") != \
                "application/vnd.microsoft.card.adaptive":
            p.append("contentType")
        c = a.get("content", {})
        if c.get("type") != "AdaptiveCard":
            p.append("content.type")
        if not isinstance(c.get("version"), str):
            p.append("content.version")
        if not isinstance(c.get("body"), list):
            p.append("content.body")
            continue
        for e in c["body"]:
            if e.get("type") == "TextBlock":
                if not isinstance(e.get("text"), str):
                    p.append("TextBlock.text")
            elif e.get("type") == "FactSet":
                for f in e.get("facts", []):
                    if not isinstance(f.get("title"), str) or \
                            not isinstance(f.get("value"), str):
                        p.append("FactSet fact")
            else:
                p.append("body element %r" % e.get("type"))
        for act in c.get("actions", []):
            if act.get("type") != "Action.OpenUrl" or \
                    not act.get("url", "").startswith("http"):
                p.append("action")
    return p


def pagerduty_problems(body):
    """What in body breaks PagerDuty's Events API v2."""
    p = []
    try:
        m = json.loads(body)
    except ValueError:
        return ["not JSON"]
    if not isinstance(m.get("routing_key"), str) or not m["routing_key"]:
        p.append("routing_key")
    act = m.get("event_action")
    if act not in ("trigger", "acknowledge", "resolve"):
        p.append("event_action")
    dk = m.get("dedup_key")
    if act in ("acknowledge", "resolve") and not dk:
        p.append("dedup_key is required to %s" % act)
    if dk is not None and (not isinstance(dk, str) or len(dk) > 255):
        p.append("dedup_key")
    if act == "trigger":
        pl = m.get("payload")
        if not isinstance(pl, dict):
            return p + ["payload"]
        if not isinstance(pl.get("summary"), str) or \
                not 0 < len(pl["summary"]) <= 1024:
            p.append("payload.summary")
        if not isinstance(pl.get("source"), str) or not pl["source"]:
            p.append("payload.source")
        if pl.get("severity") not in ("critical", "error", "warning",
                                      "info"):
            p.append("payload.severity")
        for k in ("component", "group", "class", "timestamp"):
            if k in pl and not isinstance(pl[k], str):
                p.append("payload." + k)
        for l in m.get("links", []):
            if not isinstance(l.get("href"), str):
                p.append("links")
    return p


def answer(head, body):
    """What the service at head ("slack", "teams", "pagerduty") answers:
    (status, headers, payload)."""
    if head == "slack":
        bad = slack_problems(body)
        return (400, {}, b"invalid_blocks") if bad else (200, {}, b"ok")
    if head == "teams":
        bad = teams_problems(body)
        return (400, {}, b'{"error":"bad card"}') if bad else \
            (202, {}, b"")
    bad = pagerduty_problems(body)
    if bad:
        return (400, {}, json.dumps({"status": "invalid event",
                                     "message": "Event object is invalid",
                                     "errors": bad}).encode())
    dk = json.loads(body).get("dedup_key") or "generated"
    return (202, {}, json.dumps({"status": "success",
                                 "message": "Event processed",
                                 "dedup_key": dk}).encode())


class Message:
    def __init__(self, mail_from, rcpt, data, auth, tls):
        self.mail_from = mail_from
        self.rcpt = rcpt
        self.data = data          # bytes, dot-unstuffed, CRLF line ends
        self.auth = auth          # (user, password) or None
        self.tls = tls

    def headers(self):
        head = self.data.split(b"\r\n\r\n", 1)[0].decode("utf-8")
        out = {}
        for line in head.split("\r\n"):
            k, _, v = line.partition(":")
            out[k.strip().lower()] = v.strip()
        return out

    def body(self):
        return self.data.split(b"\r\n\r\n", 1)[1].decode("utf-8")


class FakeSMTP:
    """An SMTP server on 127.0.0.1. starttls: an ssl.SSLContext to offer
    STARTTLS with (None: not offered); implicit: an ssl.SSLContext to
    speak TLS with from the first byte (SMTPS)."""

    def __init__(self, starttls=None, implicit=None):
        self.starttls = starttls
        self.implicit = implicit
        self.messages = []
        self.sessions = []        # per connection: the commands received
        self.reject_rcpt = set()
        self.data_failures = 0    # answer 451 to this many DATA
        self.lock = threading.Condition()
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                outer.session(self)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, n, timeout=20.0):
        end = time.time() + timeout
        with self.lock:
            while len(self.messages) < n and time.time() < end:
                self.lock.wait(0.2)
            return list(self.messages)

    def session(self, h):
        cmds = []
        with self.lock:
            self.sessions.append(cmds)
        rf, wf, tls, auth = h.rfile, h.wfile, False, None
        mail_from, rcpt = None, []
        if self.implicit is not None:
            try:
                s = self.implicit.wrap_socket(h.connection, server_side=True)
            except (ssl.SSLError, OSError):
                return
            rf, wf, tls = s.makefile("rb"), s.makefile("wb"), True

        def send(line):
            wf.write(line.encode() + b"\r\n")
            wf.flush()

        send("220 fake.smtp ESMTP ready")
        while True:
            line = rf.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = text.split(" ", 1)[0].upper()
            cmds.append(text if verb != "AUTH" else "AUTH " +
                        text.split(" ")[1])
            if verb in ("EHLO", "HELO"):
                ext = ["250-fake.smtp", "250-8BITMIME",
                       "250-AUTH PLAIN LOGIN"]
                if self.starttls is not None and not tls:
                    ext.append("250-STARTTLS")
                ext.append("250 SIZE 10485760")
                for e in ext:
                    send(e)
            elif verb == "STARTTLS" and self.starttls is not None:
                send("220 go ahead")
                try:
                    s = self.starttls.wrap_socket(h.connection,
                                                  server_side=True)
                except (ssl.SSLError, OSError):
                    return
                rf, wf, tls = s.makefile("rb"), s.makefile("wb"), True
            elif verb == "AUTH":
                parts = text.split(" ")
                if parts[1].upper() == "PLAIN":
                    raw = parts[2] if len(parts) > 2 else None
                    if raw is None:
                        send("334 ")
                        raw = rf.readline().decode().strip()
                    _, user, pw = base64.b64decode(raw).split(b"\0")
                else:
                    send("334 VXNlcm5hbWU6")
                    user = base64.b64decode(rf.readline().strip())
                    send("334 UGFzc3dvcmQ6")
                    pw = base64.b64decode(rf.readline().strip())
                auth = (user.decode(), pw.decode())
                send("235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                mail_from, rcpt = text[10:].strip(), []
                send("250 OK")
            elif verb == "RCPT":
                addr = text[8:].strip()
                if addr.strip("<>") in self.reject_rcpt:
                    send("550 5.1.1 no such user")
                else:
                    rcpt.append(addr)
                    send("250 OK")
            elif verb == "DATA":
                with self.lock:
                    fail = self.data_failures > 0
                    if fail:
                        self.data_failures -= 1
                if fail:
                    send("451 4.3.0 try again later")
                    continue
                send("354 end with <CRLF>.<CRLF>")
                data = []
                while True:
                    l = rf.readline()
                    if not l or l == b".\r\n":
                        break
                    data.append(l[1:] if l.startswith(b"..") else l)
                with self.lock:
                    self.messages.append(Message(mail_from, rcpt,
                                                 b"".join(data), auth, tls))
                    self.lock.notify_all()
                send("250 OK queued")
            elif verb == "RSET":
                mail_from, rcpt = None, []
                send("250 OK")
            elif verb == "NOOP":
                send("250 OK")
            elif verb == "QUIT":
                send("221 bye")
                return
            else:
                send("502 not implemented")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
