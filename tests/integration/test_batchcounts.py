"""test_batchcounts.py: the counters the scanner's and importer's batch
writer keeps once per batch (findings_batch_begin/end, migration 0039)
instead of the per-row triggers on findings: finding_counts,
finding_rule_counts, finding_due_counts, finding_resources and
finding_tenant_counts, finding_tags and finding_daily stay equal to a
recount of the findings (and of their history, for the daily
resolutions), and GET /risk-score, /posture-summary and the lists'
totals answer what the rows say, through first scans, rescans with every
kind of change (resolved, resource gone, reopened, redescribed, muted,
rescored, tags changed), the API's own actions between scans (which the
triggers count), replayed batches (commits refused as Galera refuses
them), a scanner killed in the middle of a scan, imports in full and
partial mode, and a writer newer than its schema (the old triggers count,
the batch must not count again).

Run by run.py, which sets STACK here (and in the modules used below).
"""

import copy
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import test_api as api
import test_counts as tc
import test_findings as tf
import test_scanner as ts
from test_findings import entry, eid, import_findings, q

STACK = None        # a stack.Stack, set by run.py
TMP = None
CONF = None         # vigil.conf with rules_dir = TMP/rules (set_rules)


def setUpModule():
    global STACK, TMP, CONF
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    tc.STACK = STACK
    tc.setUpModule()
    TMP = tempfile.mkdtemp(prefix="vigil-batchcounts-")
    os.chmod(TMP, 0o755)
    os.makedirs(os.path.join(TMP, "rules"))
    set_rules("critical")
    CONF = os.path.join(TMP, "vigil.conf")
    with open(ts.CONF) as f:
        lines = [ln for ln in f.read().splitlines()
                 if not ln.startswith("rules_dir")]
    lines.append("rules_dir = " + os.path.join(TMP, "rules"))
    with open(CONF, "w") as f:
        f.write("\n".join(lines) + "\n")


def tearDownModule():
    tc.tearDownModule()
    if TMP:
        shutil.rmtree(TMP, ignore_errors=True)


def set_rules(nsg_severity):
    """test_scanner's two rules, the NSG one at nsg_severity: a rule file
    that changes severity rescores its findings at the next scan."""
    rules = copy.deepcopy(ts.RULES)
    for r in rules:
        if r["id"] == "t-nsg-ssh-internet":
            r["severity"] = nsg_severity
    with open(os.path.join(TMP, "rules", "test.json"), "w") as f:
        json.dump(rules, f)


class BBase(tc.CBase):
    """test_counts' recount, plus the tag rows and the daily resolutions,
    which it does not check."""

    def assert_tags(self):
        t = q(self.tenant_id)
        self.assertEqual(
            STACK.query("SELECT g.tag_key, g.tag_value, f.id FROM "
                        "finding_tags g JOIN findings f ON f.seq = "
                        "g.finding_seq WHERE g.tenant_id = %s "
                        "ORDER BY 1, 2, 3" % t),
            STACK.query("SELECT k.k, v.v, f.id FROM findings f "
                        "JOIN JSON_TABLE(JSON_KEYS(f.tags), '$[*]' COLUMNS "
                        "(n FOR ORDINALITY, k VARCHAR(256) PATH '$')) k "
                        "JOIN JSON_TABLE(f.tags, '$.*' COLUMNS (n FOR "
                        "ORDINALITY, v VARCHAR(256) PATH '$')) v USING (n) "
                        "WHERE f.tenant_id = %s ORDER BY 1, 2, 3" % t))
        # no tag row of another finding, nor of none
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM finding_tags g LEFT JOIN findings f ON "
            "f.seq = g.finding_seq WHERE g.tenant_id = %s AND "
            "(f.seq IS NULL OR f.tenant_id <> g.tenant_id)" % t), 0)

    def assert_daily(self):
        """One resolution a day per transition into resolved: the
        history's 'resolved' entries, by the day they were written."""
        t = q(self.tenant_id)
        self.assertEqual(
            STACK.query("SELECT day, SUM(resolved) FROM finding_daily "
                        "WHERE tenant_id = %s AND resolved <> 0 GROUP BY 1 "
                        "ORDER BY 1" % t),
            STACK.query("SELECT DATE(at), COUNT(*) FROM finding_history "
                        "WHERE tenant_id = %s AND action = 'resolved' "
                        "GROUP BY 1 ORDER BY 1" % t))

    def check_all(self, key=None):
        self.check(key)
        self.assert_tags()
        self.assert_daily()

    def state(self, fid):
        return tc.one("SELECT state FROM findings WHERE tenant_id = %s AND "
                      "id = %s" % (q(self.tenant_id), q(fid)))


def storages(names, https=False, env="prod"):
    return [ts.storage(n, https, env) for n in names]


def nsgs(names, port="22"):
    return [ts.nsg(n, port) for n in names]


def scan_env(integ, env=None, wait=True):
    argv = [STACK.vigil_scan_bin, "-c", CONF, "--once", "--integration",
            integ]
    e = dict(STACK.env(), **(env or {}))
    if not wait:
        return subprocess.Popen(argv, env=e, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    return subprocess.run(argv, env=e, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=600)


def kill_scan_when(integ, written, timeout=120):
    """Start a scan of integ, SIGKILL it once written() says its first
    batch committed, then leave its scan and lease as a dead scanner's are
    once its lease has run out."""
    p = scan_env(integ, wait=False)
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout and p.poll() is None:
        if written():
            break
        time.sleep(0.02)
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
    p.wait()
    STACK.sql("UPDATE scans SET status = 'failed', error = 'killed' "
              "WHERE integration_id = %s AND status = 'running'"
              % q(integ), database="vigil")
    STACK.sql("DELETE FROM scan_leases WHERE integration_id = %s"
              % q(integ), database="vigil", check=False)


class T290BatchCountsScans(ts.ScanBase, BBase):
    """Scans: every kind of change a rescan makes, and the API's actions
    between them."""

    @classmethod
    def setUpClass(cls):
        ts.ScanBase.setUpClass.__func__(cls)
        cls.wkey = cls.key

    def scan(self, integ, expect_rc=0):
        """vigil-scan --once with this module's rules; the scan."""
        p = scan_env(integ)
        self.assertEqual(p.returncode, expect_rc, p.stdout + p.stderr)
        r = self.req("GET", "/api/v1/scans?limit=1")
        self.assertEqual(r.status, 200, r)
        return r.json()["scans"][0]

    def test_1_first_scan_and_rescans(self):
        st = ["bc-st%d" % i for i in range(8)]
        ns = ["bc-nsg%d" % i for i in range(5)]
        inv = storages(st) + nsgs(ns)
        ts.write_inventory(self.inv, inv)
        integ = self.integration()
        s = self.scan(integ)
        self.assertEqual(s["status"], "completed", s)
        self.assertEqual(s["findings_detected"], 13, s)
        self.check_all()
        # Unchanged: nothing moves.
        self.scan(integ)
        self.check_all()

        # The API's actions (the triggers count them) between scans.
        f_acc = ts.fid("t-storage-secure-transfer", ts.rid("st", st[6]))
        r = self.req("POST", "/api/v1/findings/%s/accept" % f_acc,
                     {"justification": "accepted for the test"})
        self.assertEqual(r.status, 200, r)
        self.check_all()

        # A mute rule the next scan applies (bc-st3 moves to env lab), a
        # rule whose severity changed (every NSG finding rescored), and:
        # st0 fixed (resolved), nsg0 gone (resolved), nsg1 on another port
        # (resolved), st2 with other tags (tags and environment: history
        # details_updated).
        r = self.req("POST", "/api/v1/mute-rules", {
            "rule_id": "t-storage-*", "environment": "lab",
            "justification": "lab accounts"})
        self.assertEqual(r.status, 201, r)
        set_rules("low")
        inv2 = (storages([st[0]], https=True) + storages([st[1]]) +
                storages([st[2]], env="staging") +
                storages([st[3]], env="lab") + storages(st[4:]) +
                nsgs([ns[1]], port="3389") + nsgs(ns[2:]))
        ts.write_inventory(self.inv, inv2)
        s = self.scan(integ)
        self.assertEqual(s["status"], "completed", s)
        self.assertEqual(s["findings_resolved"], 3, s)
        self.assertEqual(self.state(ts.fid("t-storage-secure-transfer",
                                           ts.rid("st", st[3]))), "muted")
        self.assertEqual(tc.one(
            "SELECT severity FROM findings WHERE tenant_id = %s AND id = %s"
            % (q(self.tenant_id), q(ts.fid("t-nsg-ssh-internet",
                                           ts.rid("nsg", ns[2]))))), "low")
        self.check_all()

        # Back as at first: reopened, unmuted (no rule matches), rescored
        # back, tags back.
        set_rules("critical")
        ts.write_inventory(self.inv, inv)
        s = self.scan(integ)
        self.assertEqual(s["status"], "completed", s)
        # three resolved, and the muted one open again
        self.assertEqual(s["findings_reopened"], 4, s)
        self.assertEqual(self.state(ts.fid("t-storage-secure-transfer",
                                           ts.rid("st", st[0]))), "open")
        self.check_all()

    def test_2_replayed_and_killed(self):
        """Batches whose commit is refused twice and replayed count once;
        a scanner killed in the middle of a scan leaves the counters of
        what it committed, and the next scan completes them."""
        inv = ts.tempfile.mkdtemp(prefix="inv-", dir=ts.TMP)
        os.chmod(inv, 0o755)
        names = ["bc-k%04d" % i for i in range(600)]
        ts.write_inventory(inv, storages(names[:300]) + nsgs(names[300:320]))
        integ = self.integration(path=inv, name="replayed")
        p = scan_env(integ, {"VIGIL_DEBUG_CONFLICTS": "2"})
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("VIGIL_DEBUG_CONFLICTS", p.stdout + p.stderr)
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND "
            "integration_id = %s" % (q(self.tenant_id), q(integ))), 320)
        self.check_all()
        # Half resolved, the rest with other tags, replayed again.
        ts.write_inventory(inv, storages(names[:150], https=True) +
                           storages(names[150:300], env="qa") +
                           nsgs(names[300:320]))
        p = scan_env(integ, {"VIGIL_DEBUG_CONFLICTS": "2"})
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.check_all()

        # Killed mid-scan: 600 new findings in batches of 256.
        ts.write_inventory(inv, storages(names))
        before = tc.num("SELECT COUNT(*) FROM findings WHERE tenant_id = %s"
                        % q(self.tenant_id))
        kill_scan_when(integ, lambda: tc.num(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s"
            % q(self.tenant_id)) > before)
        self.check_all()
        p = scan_env(integ)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND "
            "integration_id = %s AND state = 'open'" % (
                q(self.tenant_id), q(integ))), 600)
        self.check_all()


class T291BatchCountsImports(BBase):
    """Imports (the same batch writer): full and partial, with tags."""

    def test_full_and_partial(self):
        es = [entry(sev, rule="r-%d" % (i % 3), tags={"team": "t%d" % (
            i % 2), "env": "prod"}) for i, sev in enumerate(
            ["critical", "high", "medium", "low", "info"] * 4)]
        import_findings(self.tenant, es)
        self.check_all()
        # Partial: other severities and tags for some, nothing resolved.
        part = [dict(e, severity="low", tags={"team": "other"})
                for e in es[:6]]
        import_findings(self.tenant, part, reconcile=False)
        self.assertEqual(tc.num(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND "
            "state = 'resolved'" % q(self.tenant_id)), 0)
        self.check_all()
        # Full without the last five: resolved; then back: reopened.
        import_findings(self.tenant, part + es[6:15])
        self.assertEqual(self.state(eid(es[19])), "resolved")
        self.check_all()
        import_findings(self.tenant, es)
        self.assertEqual(self.state(eid(es[19])), "open")
        self.check_all()


# 0048's merged triggers on findings, dropped to put a schema before it
# back (the separate triggers of 0039 then count alone).
DROP_MERGED = ("DROP TRIGGER IF EXISTS findings_after_insert; "
               "DROP TRIGGER IF EXISTS findings_after_update; "
               "DROP TRIGGER IF EXISTS findings_after_delete")


class T292BatchCountsOldSchema(ts.ScanBase, BBase):
    """A writer newer than its schema: with the triggers as they were
    before 0039 (counting whatever the session says) and 0039 not
    recorded, the batch leaves the counting to them, so nothing is
    counted twice; vigilctl migrate then brings 0039 back."""

    @classmethod
    def setUpClass(cls):
        ts.ScanBase.setUpClass.__func__(cls)
        cls.wkey = cls.key

    def mig(self, sql):
        p = subprocess.run(["mariadb", "--no-defaults", "-S", STACK.db_sock,
                            "-uroot", "vigil"], input=sql.encode(),
                           capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_old_triggers(self):
        path = os.path.join(STACK.srcdir, "db", "migrations",
                            "0039_findings_batch_counts.sql")
        with open(path) as f:
            sql = f.read()
        # The triggers of 0039 without their guard are the old ones.
        trig = sql[sql.index("DELIMITER $$"):sql.index(
            "CREATE OR REPLACE PROCEDURE")] + "DELIMITER ;\n"
        self.assertIn("@vigil_batch IS NULL", trig)
        # Those triggers keep no metadata or tag counts (0055).
        self.before_0055 = True
        try:
            # The schema before 0039 had neither the guard nor 0048's
            # merged triggers, which would count every row again.
            self.mig(trig.replace("@vigil_batch IS NULL", "1"))
            STACK.sql(DROP_MERGED, database="vigil")
            STACK.sql("DELETE FROM schema_migrations WHERE version IN "
                      "('0039', '0048')", database="vigil")
            st = ["bc-old%d" % i for i in range(6)]
            ts.write_inventory(self.inv, storages(st) + nsgs(st[:2]))
            integ = self.integration()
            self.scan(integ)
            self.check_all()
            ts.write_inventory(self.inv, storages(st[:3], https=True) +
                               storages(st[3:], env="qa"))
            self.scan(integ)
            self.check_all()
        finally:
            r = STACK.vigilctl("migrate")
            self.before_0055 = False
            self.assertIn("0039_findings_batch_counts.sql", r.stdout)
            self.assertIn("applied 0048_one_trigger_per_event.sql\n",
                          r.stdout)
        ts.write_inventory(self.inv, storages(st) + nsgs(st[:2]))
        self.scan(integ)
        self.check_all()


if __name__ == "__main__":
    unittest.main()
