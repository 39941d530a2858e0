"""test_secrets.py: rotating the secret key (vigilctl secrets, vigil.conf
secret_key_file and previous_key_files) while webhooks and Azure
integrations keep working: deliveries signed with each webhook's own secret
(checked as a receiver would) and Azure scans against the fake Entra ID and
ARM (fakearm.py, which refuses a wrong client secret), before the rotation,
with half the values re-sealed (a spooler running while the rest is
re-sealed), after it, and after the old key is retired; a value sealed
before key ids (v1) re-sealed too; retiring too early refused with the
count left; a value sealed with a key outside the ring a clear error, not
a crash; hostile key files refused with a clear error and exit code.

Run by run.py, which sets STACK here.
"""

import json
import os
import re
import secrets
import shutil
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
FA = None
TMP = None
SUB = "00000000-0000-0000-0000-00000000a250"

CONF = {"allow_http_webhooks": 1, "allow_private_targets": 1,
        "webhook_backoff_scale": 0.0001, "webhook_timeout_ms": 2000,
        "webhook_connect_timeout_ms": 1000, "webhook_lease": 3,
        "spool_poll_ms": 50}


def key_file(name, content=None, mode=0o600):
    path = os.path.join(TMP, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(content if content is not None else
                secrets.token_hex(32) + "\n")
    os.chmod(path, mode)
    return path


def setUpModule():
    global RX, FA, TMP
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    from fakearm import FakeArm
    TMP = tempfile.mkdtemp(prefix="vigil-secrets-")
    os.chmod(TMP, 0o755)
    RX = Receiver().start()
    FA = FakeArm(resources=[{
        "id": "/subscriptions/%s/resourceGroups/rg/providers/"
              "Microsoft.Storage/storageAccounts/strot" % SUB,
        "name": "strot", "type": "Microsoft.Storage/storageAccounts",
        "tags": {}, "properties": {"supportsHttpsTrafficOnly": True}}])
    FA.start()
    global SAVED
    SAVED = STACK.conf_push(stackmod.WEBHOOK_CONF_DEFAULTS, WORKERS,
                            azure_authority_url=FA.url,
                            azure_arm_url=FA.url, **CONF)
    STACK.outbox_disown()


def tearDownModule():
    for name in STACK.spool_names():
        STACK.spool_stop(name)
    STACK.conf_pop(SAVED, WORKERS)
    if RX is not None:
        RX.stop()
    if FA is not None:
        FA.stop()
    if TMP:
        shutil.rmtree(TMP, ignore_errors=True)


class T250KeyRotation(unittest.TestCase):
    """One rotation, step by step (the tests run in name order)."""
    maxDiff = 4000
    hooks = []          # (webhook id, secret, receiver path)
    integs = []

    @classmethod
    def setUpClass(cls):
        cls.tenant, cls.tenant_id = new_tenant("rot")
        cls.key, _ = new_key(cls.tenant, "read,write,admin")
        cls.base = STACK.urls()["nginx"]
        cls.old_key = STACK.secret_key
        cls.new_key = key_file("new.key")

    def call(self, method, path, body=None):
        return api.request(self.base, method, "/api/v1" + path, body,
                           auth(self.key))

    def ctl(self, *args):
        return STACK.vigilctl(*args, check=False)

    def use_keys(self, current, previous=""):
        """vigil.conf with this ring; the pool restarted to read it (the
        spooler and scanner are started per step)."""
        STACK.write_conf(secret_key_file=current,
                         previous_key_files=previous)
        STACK.api_restart(WORKERS)

    def status(self):
        """{key id or "unknown": count} from vigilctl secrets status."""
        r = self.ctl("secrets", "status")
        out = {}
        for line in r.stdout.splitlines():
            kid, role, n = line.split("\t")
            out[kid] = int(n)
        return r.returncode, out

    def add_hook(self):
        n = len(self.hooks)
        secret = "rotation-secret-%d-%s" % (n, secrets.token_hex(8))
        path = "/ok/rot-%d-%d" % (os.getpid(), n)
        r = self.call("POST", "/webhooks", {"url": RX.url(path),
                                            "events": ["*"],
                                            "secret": secret})
        self.assertEqual(r.status, 201, r)
        self.hooks.append((r.json()["webhook_id"], secret, path))

    def add_integration(self):
        r = self.call("POST", "/integrations", {
            "type": "azure", "name": "rot-%d" % len(self.integs),
            "config": {"tenant_id": FA.tenant_id,
                       "client_id": FA.client_id,
                       "client_secret": FA.client_secret,
                       "subscription_ids": FA.subscriptions}})
        self.assertEqual(r.status, 201, r)
        self.integs.append(r.json()["id"])

    def sealed(self, table, rid):
        return STACK.query("SELECT secret FROM %s WHERE id = '%s'"
                           % (table, rid))[0][0]

    def key_id_of(self, table, rid):
        m = re.match(r"^v2\.([0-9a-f]{8})\.", self.sealed(table, rid))
        return m.group(1) if m else None

    def deliver_all(self, daemon=False):
        """A test event to every webhook, delivered by a spooler (--once,
        or the daemon already running), each signed with its own
        secret."""
        fired = {}
        for wid, secret, path in self.hooks:
            r = self.call("POST", "/webhooks/%s/test" % wid)
            self.assertEqual(r.status, 202, r)
            fired[wid] = r.json()["event_id"]
        if not daemon:
            p = STACK.spool_once()
            self.assertEqual(p.returncode, 0, p.stderr)
        for wid, secret, path in self.hooks:
            end = time.time() + 30
            while True:
                mine = [q for q in RX.requests(path)
                        if q.headers.get("webhook-id") == fired[wid]]
                if mine or time.time() > end:
                    break
                time.sleep(0.1)
            self.assertTrue(mine, "webhook %s: no delivery" % wid)
            req = mine[0]
            self.assertTrue(vs.verify_webhook(
                req.body, req.headers["x-vigil-signature"], secret), wid)
            self.assertTrue(vs.verify_standard(
                req.body, req.headers["webhook-id"],
                req.headers["webhook-timestamp"],
                req.headers["webhook-signature"], secret), wid)

    def scan_all(self):
        """A scan of every Azure integration completes: the scanner opened
        the client secret (the fake refuses a wrong one)."""
        for integ in self.integs:
            r = self.call("POST", "/scans", {"integration_id": integ})
            self.assertEqual(r.status, 202, r)
            sid = r.json()["scan_id"]
            p = STACK.scan("--due")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            r = self.call("GET", "/scans/" + sid)
            self.assertEqual(r.json()["status"], "completed", r.json())

    def test_1_before(self):
        for _ in range(4):
            self.add_hook()
        for _ in range(2):
            self.add_integration()
        # One webhook as stored before key ids existed: "v1." and the
        # same ciphertext.
        wid = self.hooks[0][0]
        STACK.sql("UPDATE webhooks SET secret = CONCAT('v1.', "
                  "SUBSTRING(secret, 13)) WHERE id = '%s'" % wid,
                  database="vigil")
        self.assertTrue(self.sealed("webhooks", wid).startswith("v1."))
        self.deliver_all()
        self.scan_all()

    def test_2_hostile_input(self):
        cases = [
            (("secrets", "rotate", "--new-key", "/nonexistent/new.key"),
             66, "/nonexistent/new.key: No such file"),
            (("secrets", "rotate", "--new-key",
              key_file("shared.key", mode=0o644)), 65, "chmod 600"),
            (("secrets", "rotate", "--new-key",
              key_file("short.key", "00112233\n")), 65,
             "not a 256-bit key"),
            (("secrets", "rotate", "--new-key", TMP), 65,
             "not a regular file"),
            (("secrets", "rotate"), 64, "usage"),
            (("secrets", "rotate", "--new-key", self.new_key, "--batch",
              "0"), 64, "--batch"),
            (("secrets", "rotate", "--new-key", self.new_key, "--max",
              "x"), 64, "--max"),
            (("secrets", "retire"), 64, "usage"),
            (("secrets", "spin"), 64, "usage"),
            # Not yet secret_key_file: re-sealing under it would lock out
            # the services that do not have it.
            (("secrets", "rotate", "--new-key", self.new_key), 1,
             "make the new file secret_key_file"),
            (("secrets", "retire", "--key", self.old_key), 1,
             "the current secret_key_file"),
        ]
        for args, code, msg in cases:
            r = self.ctl(*args)
            self.assertEqual(r.returncode, code, (args, r.stdout,
                                                  r.stderr))
            self.assertIn(msg, r.stderr, args)
            self.assertNotIn("AddressSanitizer", r.stderr)
        # Nothing was re-sealed by any of them.
        self.assertTrue(self.sealed("webhooks", self.hooks[0][0])
                        .startswith("v1."))
        # A broken previous key in vigil.conf is named, not ignored.
        STACK.write_conf(previous_key_files=os.path.join(TMP, "short.key"))
        r = self.ctl("secrets", "status")
        self.assertEqual(r.returncode, 78, r.stdout)
        self.assertIn("short.key: not a 256-bit key", r.stderr)
        r = self.ctl("config", "check", "--user", "root")
        self.assertEqual(r.returncode, 78, r.stdout + r.stderr)
        self.assertIn("previous_key_files: ", r.stdout + r.stderr)
        self.assertIn("short.key: not a 256-bit key", r.stdout + r.stderr)
        STACK.write_conf(previous_key_files="")

    def test_3_half_resealed(self):
        self.use_keys(self.new_key, self.old_key)
        rc, st = self.status()
        self.assertEqual(rc, 0, st)
        ids = [k for k in st if k != "unknown"]
        new_id, old_id = ids[0], ids[1]
        self.assertEqual(st[new_id], 0, st)
        total = st[old_id]
        self.assertGreaterEqual(total, 6, st)
        r = self.ctl("secrets", "rotate", "--new-key", self.new_key,
                     "--batch", "2", "--max", str(total // 2))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("re-sealed %d value(s) under key %s; %d left"
                      % (total // 2, new_id, total - total // 2), r.stdout)
        rc, st = self.status()
        self.assertEqual(st, {new_id: total // 2,
                              old_id: total - total // 2, "unknown": 0})
        # Too early: refused, with what is left.
        r = self.ctl("secrets", "retire", "--key", self.old_key)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("refusing to retire key %s: %d value(s)"
                      % (old_id, total - total // 2), r.stderr)
        self.assertEqual(r.stdout.strip(), str(total - total // 2))
        # Both kinds work with the ring of two.
        self.deliver_all()
        self.scan_all()
        # A webhook created now is sealed with the new key.
        self.add_hook()
        self.assertEqual(self.key_id_of("webhooks", self.hooks[-1][0]),
                         new_id)
        type(self).ids = (new_id, old_id)

    def test_4_rest_while_spooler_runs(self):
        new_id, old_id = self.ids
        STACK.spool_start()
        try:
            # One value per transaction, deliveries going on meanwhile.
            p = STACK.vigilctl("secrets", "rotate", "--new-key",
                               self.new_key, "--batch", "1", check=False)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertRegex(p.stdout, r"; 0 left under previous keys")
            self.deliver_all(daemon=True)
        finally:
            STACK.spool_stop()
        for wid, _, _ in self.hooks:
            self.assertEqual(self.key_id_of("webhooks", wid), new_id)
        for integ in self.integs:
            self.assertEqual(self.key_id_of("integrations", integ), new_id)
        rc, st = self.status()
        self.assertEqual(st[old_id], 0, st)
        # A second run has nothing to do.
        r = self.ctl("secrets", "rotate", "--new-key", self.new_key)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("re-sealed 0 value(s)", r.stdout)
        self.scan_all()

    def test_5_retire(self):
        new_id, old_id = self.ids
        r = self.ctl("secrets", "retire", "--key", self.old_key)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no value is sealed with key %s" % old_id, r.stdout)
        # The old key out of the ring: everything still works.
        self.use_keys(self.new_key, "")
        rc, st = self.status()
        self.assertEqual((rc, st[new_id], st["unknown"]), (0, sum(
            v for k, v in st.items() if k != "unknown"), 0))
        self.deliver_all()
        self.scan_all()

    def test_6_key_not_in_ring(self):
        """Every value sealed with a key the ring lacks: clear errors."""
        new_id, _ = self.ids
        stranger = key_file("stranger.key")
        self.use_keys(stranger, "")
        try:
            rc, st = self.status()
            self.assertEqual(rc, 1)
            self.assertGreater(st["unknown"], 0, st)
            r = self.ctl("secrets", "rotate", "--new-key", stranger)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("cannot be opened with any key", r.stderr)
            self.assertIn("re-sealed 0 value(s)", r.stdout)
            # The scanner fails the scan naming the key, and lives.
            r = self.call("POST", "/scans",
                          {"integration_id": self.integs[0]})
            sid = r.json()["scan_id"]
            STACK.scan("--due")
            s = self.call("GET", "/scans/" + sid).json()
            self.assertEqual(s["status"], "failed", s)
            self.assertIn("sealed with key %s" % new_id,
                          json.dumps(s))
            # The spooler keeps the delivery for later and says why.
            wid, _, path = self.hooks[1]
            n = len(RX.requests(path))
            r = self.call("POST", "/webhooks/%s/test" % wid)
            self.assertEqual(r.status, 202)
            ev = r.json()["event_id"]
            p = STACK.spool_once()
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("sealed with key %s" % new_id, p.stderr)
            self.assertEqual(len(RX.requests(path)), n)
        finally:
            # Leave the stack as found: the new key where the old was.
            with open(self.new_key) as f:
                content = f.read()
            with open(STACK.secret_key, "w") as f:
                f.write(content)
            self.use_keys(STACK.secret_key, "")
        # Back in the ring, the delivery kept for later goes out.
        end = time.time() + 30
        while not [q for q in RX.requests(path)
                   if q.headers.get("webhook-id") == ev]:
            self.assertLess(time.time(), end, "never delivered")
            p = STACK.spool_once()
            self.assertEqual(p.returncode, 0, p.stderr)
            time.sleep(0.2)
