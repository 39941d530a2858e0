#!/usr/bin/env python3
"""receiver.py: a webhook receiver on 127.0.0.1 for the delivery tests and
the benchmark. HTTP/1.1 with keep-alive (asyncio), so one spooler's
connection cache is exercised as against a real receiver.

What it answers is chosen per path. The default, by the path's first
segment:

  /ok/...          200
  /fail/...        500
  /bad/...         400
  /gone/...        410
  /ratelimit/N/... 429 with Retry-After: N
  /redirect/...    302 to /ok/ (must not be followed)
  /hang/...        nothing: the connection stays open, unanswered
  /slow/MS/...     200 after MS milliseconds (a receiver that takes its
                   time, so that deliveries are in flight for a while)
  /drop/...        the connection is closed without an answer
  /big/...         200 with a 1 MiB body
  /slack/..., /teams/..., /pagerduty/...
                   what that service answers, the body checked against
                   its documented format (fakeservices.py)

and a test may script a path: script(path, [500, 500, 200]) answers the
listed actions in turn (an int status, (status, {headers}), ("delay",
seconds, status), "hang" or "drop"), the last one repeating.

Every request is recorded (arrival time, path, headers with lower-case
names, body bytes). In a test, Receiver runs in a thread of the test
process. As a program (the benchmark):

  receiver.py --port P [--host ADDR] [--log FILE]

answers 200 to everything and, with --log, appends "<unix time> <webhook-id
header>" per request to FILE (flushed every 0.2 s and at SIGTERM). It listens
on 127.0.0.1 unless --host names another address (the cluster harness's
receiver host, tests/cluster/, listens on its private network address).
"""

import argparse
import asyncio
import json
import signal
import sys
import threading
import time

import fakeservices

REASONS = {200: "OK", 202: "Accepted", 302: "Found", 400: "Bad Request", 404: "Not Found",
           408: "Request Timeout", 410: "Gone", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}


class Request:
    def __init__(self, t, method, path, headers, body):
        self.t = t
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%s %s at %.3f>" % (self.method, self.path, self.t)


class Receiver:

    def __init__(self, record=True, log=None):
        self.record = record
        self.log = log
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.reqs = []
        self.scripts = {}
        self.hung = []
        self.port = None
        self.loop = None
        self.thread = None
        self.server = None
        self.release_hung = None

    # -- control ------------------------------------------------------------

    def start(self):
        started = threading.Event()

        def main():
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            self.release_hung = asyncio.Event()
            self.server = self.loop.run_until_complete(
                asyncio.start_server(self.handle, "127.0.0.1", 0,
                                     backlog=1024))
            self.port = self.server.sockets[0].getsockname()[1]
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        started.wait(10)
        return self

    def stop(self):
        if self.loop is None:
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop = None

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def script(self, path, actions):
        with self.lock:
            self.scripts[path] = list(actions)

    def unhang(self):
        """Answer 200 to every request held by "hang" and stop holding."""
        self.loop.call_soon_threadsafe(self.release_hung.set)

    def requests(self, path=None):
        with self.lock:
            return [r for r in self.reqs
                    if path is None or r.path == path]

    def wait_for(self, n, path=None, timeout=30.0):
        """The requests to path once there are at least n (or all there
        are after timeout)."""
        end = time.time() + timeout
        with self.cond:
            while True:
                got = [r for r in self.reqs
                       if path is None or r.path == path]
                left = end - time.time()
                if len(got) >= n or left <= 0:
                    return got
                self.cond.wait(min(left, 0.5))

    # -- serving ------------------------------------------------------------

    def action(self, path, body=b""):
        with self.lock:
            s = self.scripts.get(path)
            if s:
                return s.pop(0) if len(s) > 1 else s[0]
        seg = path.split("/")
        head = seg[1] if len(seg) > 1 else ""
        if head == "ok":
            return 200
        if head == "fail":
            return 500
        if head == "bad":
            return 400
        if head == "gone":
            return 410
        if head == "ratelimit":
            return (429, {"Retry-After": seg[2] if len(seg) > 2 else "1"})
        if head == "redirect":
            return (302, {"Location": "/ok/redirected"})
        if head == "hang":
            return "hang"
        if head == "slow" and len(seg) > 2 and seg[2].isdigit():
            return ("delay", int(seg[2]) / 1000.0, 200)
        if head == "drop":
            return "drop"
        if head == "big":
            return (200, {}, b"x" * (1024 * 1024))
        if head in ("slack", "teams", "pagerduty"):
            return fakeservices.answer(head, body)
        return 404

    async def handle(self, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                try:
                    method, path, _ = line.decode("latin-1").split(" ", 2)
                except ValueError:
                    break
                headers = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                n = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(n) if n else b""
                now = time.time()
                if self.record:
                    with self.cond:
                        self.reqs.append(Request(now, method, path, headers,
                                                 body))
                        self.cond.notify_all()
                if self.log is not None:
                    self.log.append("%.6f %s\n" % (
                        now, headers.get("webhook-id", "-")))
                act = self.action(path, body)
                if act == "drop":
                    break
                if act == "hang":
                    await self.release_hung.wait()
                    act = 200
                if isinstance(act, tuple) and act[0] == "delay":
                    await asyncio.sleep(act[1])
                    act = act[2]
                extra, payload = {}, b'{"ok":true}'
                if isinstance(act, tuple):
                    status = act[0]
                    extra = act[1]
                    if len(act) > 2:
                        payload = act[2]
                else:
                    status = act
                out = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "X")),
                       "Content-Type: application/json",
                       "Content-Length: %d" % len(payload)]
                out += ["%s: %s" % kv for kv in extra.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() +
                             payload)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--log")
    a = ap.parse_args()
    lines = []
    rec = Receiver(record=False, log=lines)
    out = open(a.log, "a") if a.log else None

    def flush():
        if out is not None and lines:
            batch = lines[:]
            del lines[:len(batch)]
            out.write("".join(batch))
            out.flush()

    async def serve():
        loop = asyncio.get_running_loop()
        rec.release_hung = asyncio.Event()
        server = await asyncio.start_server(rec.handle, a.host, a.port,
                                            backlog=1024)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        print("listening on %s:%d" % (a.host, a.port), flush=True)
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 0.2)
            except asyncio.TimeoutError:
                pass
            flush()
        server.close()
        flush()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
