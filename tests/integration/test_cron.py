"""test_cron.py: the periodic jobs of etc/cron.d/vigil, run the way ./dev up
runs them for the demo (contrib/cron-runner.sh, the very file ./dev starts,
reading the very cron file production installs), make the lifecycle move
with nobody running a program: a scan queued with POST /api/v1/scans is
scanned, and an acceptance whose expires_at passes returns the finding to
open. Then SIGTERM stops the runner.

The runner runs every second here, against the stack's build and vigil.conf,
without vigil-spool --once (as in the demo; test_delivery's deliveries stay
as it left them). Run by run.py, which sets STACK here.
"""

import os
import signal
import subprocess
import time
import unittest

import test_api as api
from test_api import auth, new_key, new_tenant, rfc3339, wait_until

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4


def setUpModule():
    global STACK
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    if not os.access(STACK.vigil_scan_bin, os.X_OK):
        raise unittest.SkipTest("vigil-scan is not built")


class T90CronRunner(unittest.TestCase):

    def setUp(self):
        self.tenant, _ = new_tenant("cron")
        self.key, _ = new_key(self.tenant, "read,write,admin")
        self.base = STACK.urls()["nginx"]
        self.runner = None

    def tearDown(self):
        if self.runner is not None and self.runner.poll() is None:
            os.killpg(self.runner.pid, signal.SIGKILL)
            self.runner.wait()

    def req(self, method, path, body=None):
        return api.request(self.base, method, path, body, auth(self.key))

    def start_runner(self):
        """contrib/cron-runner.sh as ./dev up starts it, every second."""
        argv = [os.path.join(STACK.srcdir, "contrib", "cron-runner.sh"),
                "-i", "1", "-s", "vigil-spool",
                os.path.join(STACK.srcdir, "etc", "cron.d", "vigil"),
                STACK.builddir, STACK.conf]
        self.log = STACK.logfile("cron-runner.log")
        with open(self.log, "ab") as out:
            self.runner = subprocess.Popen(
                argv, env=STACK.env(), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)

    def test_lifecycle_moves_by_itself(self):
        r = self.req("POST", "/api/v1/integrations", {
            "type": "inventory", "name": "sample",
            "config": {"path": os.path.join(STACK.srcdir, "etc", "samples",
                                            "azure")}})
        self.assertEqual(r.status, 201, r)
        r = self.req("POST", "/api/v1/scans",
                     {"integration_id": r.json()["id"]})
        self.assertEqual(r.status, 202, r)
        sid = r.json()["scan_id"]

        # Queued, and queued it stays while nothing runs the jobs.
        time.sleep(1.5)
        self.assertEqual(self.req("GET", "/api/v1/scans/" + sid)
                         .json()["status"], "queued")

        self.start_runner()

        def finished():
            s = self.req("GET", "/api/v1/scans/" + sid).json()
            return s if s["status"] in ("completed", "failed") else None
        scan = wait_until(finished, 90, step=0.5)
        self.assertIsNotNone(scan, "the queued scan was never run")
        self.assertEqual(scan["status"], "completed", scan)
        self.assertGreater(scan["findings_detected"], 0, scan)

        r = self.req("GET", "/api/v1/findings?limit=1")
        self.assertEqual(r.status, 200, r)
        fid = r.json()["findings"][0]["id"]
        until = int(time.time()) + 4
        r = self.req("POST", "/api/v1/findings/%s/accept" % fid, {
            "justification": "until the demo's next minute",
            "expires_at": rfc3339(until)})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["state"], "accepted")

        def reopened():
            f = self.req("GET", "/api/v1/findings/" + fid).json()
            return f if f["state"] == "open" else None
        f = wait_until(reopened, 60, step=0.5)
        self.assertIsNotNone(f, "the acceptance never expired")
        self.assertGreaterEqual(time.time(), until)
        h = self.req("GET", "/api/v1/findings/%s/history" % fid).json()
        self.assertIn(("expired", "system"),
                      [(e["action"], e["by"]) for e in h["history"]], h)

        # SIGTERM stops it (once the job in progress is done).
        self.runner.send_signal(signal.SIGTERM)
        self.assertEqual(self.runner.wait(timeout=60), 0)
        with open(self.log, errors="replace") as f:
            text = f.read()
        self.assertIn("cron-runner: stopped", text)
