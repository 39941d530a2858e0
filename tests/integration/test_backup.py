"""test_backup.py: the README's single-server backup and restore runbook
on the running stack: mariadb-dump --single-transaction (with routines
and triggers) and a copy of the secret key file; the database dropped;
the dump restored; vigilctl audit verify passes, vigilctl migrate has
nothing to do, the API serves the same findings, webhooks and audit log,
and webhook deliveries pending at the dump (one failed once and waiting
for its retry, one event not fanned out yet) are delivered after the
restore, signed with the webhook's secret.

Run by run.py, which sets STACK here.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import test_api as api
from test_api import auth, new_key, new_tenant
from receiver import Receiver
import stack as stackmod
import verify_signature as vs

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4
RX = None
SAVED = {}          # vigil.conf without this module: put back afterwards
TMP = None

# A first retry 1.5 s after a failure (30 s scaled): still pending when
# the spooler's --once run ends.
CONF = {"allow_http_webhooks": 1, "allow_private_targets": 1,
        "webhook_backoff_scale": 0.05, "webhook_timeout_ms": 2000,
        "webhook_connect_timeout_ms": 1000, "webhook_lease": 3,
        "spool_poll_ms": 50}


def setUpModule():
    global RX, TMP
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    try:
        stackmod.which("mariadb-dump", "mysqldump")
    except stackmod.StackError:
        raise unittest.SkipTest("mariadb-dump is not installed")
    TMP = tempfile.mkdtemp(prefix="vigil-backup-")
    RX = Receiver().start()
    global SAVED
    SAVED = STACK.conf_push(stackmod.WEBHOOK_CONF_DEFAULTS, WORKERS, **CONF)
    STACK.outbox_disown()


def tearDownModule():
    STACK.conf_pop(SAVED, WORKERS)
    if RX is not None:
        RX.stop()
    if TMP:
        shutil.rmtree(TMP, ignore_errors=True)


class T251BackupRestore(unittest.TestCase):
    maxDiff = 8000

    @classmethod
    def setUpClass(cls):
        cls.tenant, cls.tenant_id = new_tenant("bak")
        cls.key, _ = new_key(cls.tenant, "read,write,admin")
        cls.base = STACK.urls()["nginx"]

    def call(self, method, path, body=None):
        return api.request(self.base, method, "/api/v1" + path, body,
                           auth(self.key))

    def snapshot(self):
        out = {}
        for path in ("/findings?limit=100", "/webhooks", "/audit?limit=100"):
            r = self.call("GET", path)
            self.assertEqual(r.status, 200, (path, r))
            out[path] = r.json()
        return out

    def client(self, names, *args, stdin=None, stdout=None):
        """Run the first of names found (a MariaDB client program) as root
        through the stack's socket."""
        argv = [stackmod.which(*names), "--no-defaults", "-S",
                STACK.db_sock, "-uroot", *args]
        r = subprocess.run(argv, stdin=stdin, stdout=stdout,
                           stderr=subprocess.PIPE, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_dump_drop_restore(self):
        # Data: a finding acted on (audit entries), a webhook.
        path = "/bak/%d" % os.getpid()
        secret = "backup-restore-secret-%d" % os.getpid()
        r = self.call("POST", "/webhooks", {"url": RX.url(path),
                                            "events": ["webhook.test"],
                                            "secret": secret})
        self.assertEqual(r.status, 201, r)
        wid = r.json()["webhook_id"]
        imp = os.path.join(TMP, "findings.json")
        with open(imp, "w") as f:
            json.dump({"findings": [{
                "rule_id": "nsg-ssh-internet", "provider": "azure",
                "resource_id": "/subscriptions/sub-b/resourceGroups/rg/"
                "providers/Microsoft.Network/networkSecurityGroups/nsg-b",
                "title": "SSH open", "severity": "high",
                "category": "network", "description": "d",
                "recommendation": "r", "subscription_id": "sub-b",
                "environment": "PROD", "layer": "infrastructure",
                "framework": "CIS", "evidence": {"port": 22}}]}, f)
        STACK.vigilctl("findings", "import", "--tenant", self.tenant,
                       "--no-reconcile", imp)
        fid = self.call("GET", "/findings").json()["findings"][0]["id"]
        r = self.call("POST", "/findings/%s/accept" % fid,
                      {"justification": "compensating control",
                       "expires_at": "2099-01-01T00:00:00Z"})
        self.assertIn(r.status, (200, 201), r)
        # Pending at the dump: one delivery that failed once (the
        # receiver answers 500 first, then 200), one event not fanned
        # out yet.
        RX.script(path, [500, 200])
        r = self.call("POST", "/webhooks/%s/test" % wid)
        self.assertEqual(r.status, 202, r)
        first = r.json()["event_id"]
        p = STACK.spool_once()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(RX.wait_for(1, path, timeout=20)), 1)
        r = self.call("POST", "/webhooks/%s/test" % wid)
        second = r.json()["event_id"]
        ds = self.call("GET", "/webhooks/%s/deliveries" % wid).json()
        self.assertEqual([(d["status"], d["attempts"]) for d in
                          ds["deliveries"]], [("pending", 1)], ds)
        before = self.snapshot()

        # The runbook: the dump, and the key file beside it.
        dump = os.path.join(TMP, "vigil.sql")
        with open(dump, "wb") as f:
            self.client(("mariadb-dump", "mysqldump"),
                        "--single-transaction", "--routines", "--triggers",
                        "--events", "--databases", "vigil", stdout=f)
        shutil.copy2(STACK.secret_key, os.path.join(TMP, "secret.key"))

        # Lost: the database (and the key file).
        STACK.api_stop()
        STACK.sql("DROP DATABASE vigil")
        os.unlink(STACK.secret_key)
        try:
            # Restored.
            with open(dump, "rb") as f:
                self.client(("mariadb", "mysql"), stdin=f)
            shutil.copy2(os.path.join(TMP, "secret.key"), STACK.secret_key)
            os.chmod(STACK.secret_key, 0o600)
        finally:
            if not os.path.exists(STACK.secret_key):
                shutil.copy2(os.path.join(TMP, "secret.key"),
                             STACK.secret_key)
            STACK.api_start(workers=WORKERS)

        r = STACK.vigilctl("audit", "verify", "--tenant", self.tenant,
                           check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = STACK.vigilctl("audit", "verify", check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = STACK.vigilctl("migrate", check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.snapshot(), before)

        # The deliveries resume: both events arrive, signed.
        end = time.time() + 30
        while len(RX.requests(path)) < 3 and time.time() < end:
            p = STACK.spool_once()
            self.assertEqual(p.returncode, 0, p.stderr)
            time.sleep(0.5)
        got = RX.wait_for(3, path, timeout=20)
        self.assertEqual(sorted(req.headers["webhook-id"]
                                for req in got[1:]),
                         sorted([first, second]))
        for req in got[1:]:
            self.assertTrue(vs.verify_webhook(
                req.body, req.headers["x-vigil-signature"], secret))
        ds = self.call("GET", "/webhooks/%s/deliveries" % wid).json()
        self.assertEqual(sorted(d["status"] for d in ds["deliveries"]),
                         ["succeeded", "succeeded"], ds)
