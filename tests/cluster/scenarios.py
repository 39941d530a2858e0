"""scenarios.py: the cluster harness's smoke test and chaos scenarios
(run by "cluster.py test"; see cluster.py).

Every scenario runs under steady load from the client host and records
each request the clients made (when, what, the answer). Afterwards it
checks, on every Galera node still running (reads with wsrep_sync_wait so
that a node answers only once it has applied everything committed before
the read): every acknowledged (2xx) write is there, and exactly once;
"vigilctl audit verify" passes; every committed event of the tenant
reached the receiver (duplicates counted: delivery is at least once).
The service may answer 503 while it cannot write; a 500 or a transport
error is a failure. Every loop here has a deadline.
"""

import collections
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import cluster as cl
from stack import StackError, log

SMOKE_TENANT = "smoke"


class Fail(Exception):
    pass


class Done(Exception):
    """The replica topology's scenarios ran (cluster.py test --topology
    replica): on to the table and down."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def until(pred, timeout, step=0.5, what="condition"):
    """pred() repeatedly until it is truthy or timeout; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


# --- the tenant every test uses -------------------------------------------

class Tenant:
    """A tenant, its key, a client through the load balancer, a webhook to
    the receiver host, and findings from a scan the scanner hosts ran."""

    def __init__(self, c, name):
        self.c = c
        self.name = name
        self.id = c.ctl.vigilctl("tenant", "create", name).stdout.strip()
        self.key, _ = c.ctl.key_create(name, "read,write,admin",
                                       name="cluster")
        self.api = cl.Client(c.url(), self.key)

    def webhook(self):
        s, b = self.api.call("POST", "/api/v1/webhooks", {
            "url": "http://%s:%d/ok/%s" % (cl.addr("receiver"),
                                          cl.RECEIVER_PORT, self.name),
            "events": ["*"],
            "secret": "whsec_" + secrets.token_hex(16)})
        check(s == 201, "POST /webhooks: %s %s" % (s, b))
        return b["webhook_id"]

    def scan(self, timeout=180):
        """Register the sample estate and queue a scan through the API;
        one of the scanner hosts runs it (vigil-scan --due)."""
        path = os.path.join(self.c.srcdir, "etc", "samples", "azure")
        integ = self.c.ctl.vigilctl(
            "integration", "add-inventory", "--tenant", self.name,
            "--name", "sample estate", "--path", path).stdout.strip()
        self.integration = integ
        s, b = self.api.call("POST", "/api/v1/scans",
                             {"integration_id": integ})
        check(s == 202, "POST /scans: %s %s" % (s, b))
        scan_id = b["scan_id"]

        def done():
            s, b = self.api.call("GET", "/api/v1/scans/" + scan_id)
            return b if s == 200 and b["status"] in ("completed",
                                                     "failed") else None
        b = until(done, timeout, 1)
        check(b is not None, "scan %s not finished within %ds" % (
            scan_id, timeout))
        check(b["status"] == "completed", "scan failed: %s" % b)
        return scan_id

    def findings(self):
        s, b = self.api.call("GET", "/api/v1/findings?state=all&limit=500")
        check(s == 200, "GET /findings: %s" % s)
        return [f["id"] for f in b["findings"]]


# --- what the nodes hold ------------------------------------------------------

SYNC = "SET SESSION wsrep_sync_wait = 1; "


def node_tokens(c, node, tenant_id):
    """token -> count of the finding history entries ("updated", notes =
    the token) and of the alerts (external_id = the token) on one node."""
    out = collections.Counter()
    for (fields,) in c.rows(node, SYNC + (
            "SELECT fields FROM vigil.finding_history WHERE tenant_id = "
            "'%s' AND action = 'updated'" % tenant_id)):
        for tok in re.findall(r'"(tok-[0-9a-z-]+)"', fields):
            out[tok] += 1
    for (ext,) in c.rows(node, SYNC + (
            "SELECT external_id FROM vigil.alerts WHERE tenant_id = '%s' "
            "AND source = 'cluster-test'" % tenant_id)):
        out[ext] += 1
    return out


def node_events(c, node, tenant_id):
    return [r[0] for r in c.rows(node, SYNC + (
        "SELECT id FROM vigil.events WHERE tenant_id = '%s'" % tenant_id))]


def receiver_ids(c):
    """webhook-id -> how many times the receiver host got it."""
    out = collections.Counter()
    try:
        with open(c.logfile("receiver-deliveries.log")) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    out[parts[1]] += 1
    except OSError:
        pass
    return out


def delivered(c, tenant_id, node, timeout=90):
    """(missing, duplicates): the tenant's committed events (read on node)
    the receiver has not had after waiting up to timeout, and how many
    deliveries repeated an event."""
    events = set(node_events(c, node, tenant_id))
    got = until(lambda: (lambda r: r if events <= set(r) else None)(
        receiver_ids(c)), timeout, 1) or receiver_ids(c)
    missing = sorted(events - set(got))
    dups = sum(n - 1 for e, n in got.items() if e in events and n > 1)
    return missing, dups, len(events)


# --- load ------------------------------------------------------------------------

class Load:
    """Client threads acting on findings (PATCH notes = a fresh token) and
    sending alerts (external_id = a fresh token) through the load balancer,
    every request recorded: (start, end, kind, token, status)."""

    def __init__(self, name, tenant, findings, writers=3, alerters=1):
        self.name = name
        self.t = tenant
        self.findings = findings
        self.writers = writers
        self.alerters = alerters
        self.stop_at = None
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.log = []
        self.threads = []

    def _patch(self, i):
        n = 0
        while not self.stopping.is_set() and time.monotonic() < self.stop_at:
            fid = self.findings[(i + n * self.writers) % len(self.findings)]
            tok = "tok-%s-w%d-%d" % (self.name, i, n)
            n += 1
            t0 = time.monotonic()
            s, _ = self.t.api.call("PATCH", "/api/v1/findings/" + fid,
                                   {"notes": tok}, timeout=20)
            with self.lock:
                self.log.append((t0, time.monotonic(), "finding", tok, s))
            if s != 200:
                time.sleep(0.1)

    def _alert(self, i):
        n = 0
        while not self.stopping.is_set() and time.monotonic() < self.stop_at:
            tok = "tok-%s-a%d-%d" % (self.name, i, n)
            n += 1
            t0 = time.monotonic()
            s, _ = self.t.api.call("POST", "/api/v1/alerts", {
                "source": "cluster-test", "external_id": tok,
                "severity": "medium", "title": "cluster test " + tok,
                "detected_at": "2026-12-01T00:00:00Z",
                "asset": {"hostname": "host-%d" % (n % 7)},
                "observables": [{"type": "ip", "value": "203.0.113.%d" %
                                 (n % 250 + 1)}]}, timeout=20)
            with self.lock:
                self.log.append((t0, time.monotonic(), "alert", tok, s))
            if s not in (200, 201):
                time.sleep(0.1)

    def start(self, max_seconds):
        self.stop_at = time.monotonic() + max_seconds
        for i in range(self.writers):
            self.threads.append(threading.Thread(target=self._patch,
                                                 args=(i,), daemon=True))
        for i in range(self.alerters):
            self.threads.append(threading.Thread(target=self._alert,
                                                 args=(i,), daemon=True))
        for t in self.threads:
            t.start()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(30)

    def acked(self):
        return {tok for _, _, _, tok, s in self.log if s in (200, 201)}

    def statuses(self):
        return collections.Counter(s for *_, s in self.log)

    def error_window(self, after):
        """(first, last, seconds) of the non-2xx answers after time
        after, relative to it; None when there was none."""
        errs = [(t0, t1) for t0, t1, _, _, s in self.log
                if s not in (200, 201) and t1 >= after]
        if not errs:
            return None
        first = min(t0 for t0, _ in errs) - after
        last = max(t1 for _, t1 in errs) - after
        return first, last, last - first


# --- results ---------------------------------------------------------------

class Result:
    def __init__(self, name):
        self.name = name
        self.rows = collections.OrderedDict()
        self.failures = []
        self.notes = []

    def fail(self, msg):
        self.failures.append(msg)

    def ok(self):
        return not self.failures


def verify(c, tenant, load, nodes, res):
    """The checks after a scenario, on each node in nodes."""
    acked = load.acked()
    for node in nodes:
        mine = "tok-%s-" % load.name
        held = {t: n for t, n in node_tokens(c, node, tenant.id).items()
                if t.startswith(mine)}
        lost = sorted(acked - set(held))
        dup = sorted(t for t, n in held.items() if n > 1)
        extra = sorted(set(held) - acked)
        res.rows["lost acked writes on " + node] = len(lost)
        res.rows["duplicated writes on " + node] = len(dup)
        res.rows["committed but not acked on " + node] = len(extra)
        if lost:
            res.fail("%s lacks %d acknowledged writes, e.g. %s" % (
                node, len(lost), lost[:5]))
        if dup:
            res.fail("%s holds %d writes twice, e.g. %s" % (
                node, len(dup), dup[:5]))
    r = c.ctl.vigilctl("audit", "verify", "--tenant", tenant.name,
                       check=False, timeout=300)
    res.rows["audit verify"] = "ok" if r.returncode == 0 else \
        "FAILED (exit %d)" % r.returncode
    if r.returncode != 0:
        res.fail("vigilctl audit verify: %s%s" % (r.stdout, r.stderr))
    missing, dups, n = delivered(c, tenant.id, nodes[0])
    res.rows["events committed"] = n
    res.rows["events not delivered"] = len(missing)
    res.rows["duplicate deliveries"] = dups
    if missing:
        res.fail("%d events never reached the receiver, e.g. %s" % (
            len(missing), missing[:5]))


# --- the smoke test -----------------------------------------------------------------

def smoke(c):
    res = Result("smoke")
    t = Tenant(c, SMOKE_TENANT)
    t.webhook()
    t0 = time.monotonic()
    scan_id = t.scan()
    res.rows["scan by a scanner host (s)"] = round(time.monotonic() - t0, 1)
    fids = t.findings()
    check(len(fids) >= 3, "the scan found %d findings" % len(fids))
    res.rows["findings"] = len(fids)
    # Both scanner hosts ran --due; one started the scan, the other found
    # its integration held (GET_LOCK: both reach the same node through
    # HAProxy, so the lock is seen).
    started, skipped = [], []
    for h in cl.SCAN_HOSTS:
        text = open(c.logfile(h + ".log"), errors="replace").read()
        if re.search(r"scan %s: .*started" % scan_id, text):
            started.append(h)
        if re.search(r"scan %s: another scanner holds" % scan_id, text):
            skipped.append(h)
    res.rows["scan started by"] = ",".join(started) or "?"
    res.rows["scan skipped (held) by"] = ",".join(skipped) or "-"
    if len(started) != 1:
        res.fail("the scan was started by %d scanner hosts" % len(started))
    load = Load("smoke", t, fids, writers=2, alerters=1)
    load.start(5)
    for th in load.threads:
        th.join(60)
    st = load.statuses()
    res.rows["requests"] = sum(st.values())
    res.rows["statuses"] = dict(sorted(st.items()))
    bad = {s: n for s, n in st.items() if s not in (200, 201)}
    if bad:
        res.fail("non-2xx answers with every node up: %s" % bad)
    counts = {}
    for node in cl.DB_NODES:
        counts[node] = c.rows(node, SYNC + (
            "SELECT COUNT(*) FROM vigil.findings WHERE tenant_id = '%s'" %
            t.id))[0][0]
    res.rows["findings per node"] = counts
    if len(set(counts.values())) != 1:
        res.fail("the nodes disagree on the findings: %s" % counts)
    verify(c, t, load, list(cl.DB_NODES), res)
    return res, t, fids


# --- chaos scenarios -----------------------------------------------------------------

def answers(res, load, label, t0, since):
    """The load's statuses and error window into res; a 500, 502, 504 or
    a request without an answer fails it (503 is allowed)."""
    sfx = " (%s)" % label if label else ""
    st = load.statuses()
    res.rows["requests" + sfx] = sum(st.values())
    res.rows["statuses" + sfx] = dict(sorted(st.items()))
    w = load.error_window(t0)
    res.rows["clients saw errors%s (s)" % sfx] = "none" if w is None else \
        "%.1f (from +%.1f to +%.1f after %s)" % (w[2], w[0], w[1], since)
    for s in (500, 0, 502, 504):
        if st.get(s):
            res.fail("%s%d answers with status %s" % (
                label + ": " if label else "", st[s], s or "'no answer'"))


def writer_outage(c, tenant, fids, name, take, give_back):
    """db1, the writer, is taken away (take()) under steady load; HAProxy
    moves the writes to db2. After the errors stop, every acknowledged
    write must be on db2 and db3. Then, under a new load, db1 comes back
    (give_back()), rejoins (IST) and becomes the writer again (HAProxy cuts
    the backup's sessions: a second, shorter error window), and every write
    of both loads must be on all three nodes."""
    res = Result(name)
    load = Load(name.replace("-", ""), tenant, fids, writers=3, alerters=1)
    load.start(90)
    time.sleep(6)
    t_out = time.monotonic()
    take()
    # Load goes on until the errors have stopped for 5 s (at most 60 s).
    def settled():
        w = load.error_window(t_out)
        now = time.monotonic() - t_out
        return now > 10 and (w is None or now - w[1] > 5)
    until(settled, 60, 0.5)
    load.stop()
    answers(res, load, "", t_out, "db1 went")
    survivors = ["db2", "db3"]
    res.rows["cluster size after"] = {
        n: c.wsrep(n, "wsrep_cluster_size") for n in survivors}
    verify(c, tenant, load, survivors, res)
    ups = haproxy_ups(c)
    back = Load(name.replace("-", "") + "back", tenant, fids, writers=3,
                alerters=1)
    back.start(300)
    t0 = time.monotonic()
    try:
        give_back()
        res.rows["db1 Synced again (s)"] = round(time.monotonic() - t0, 1)
        ok = until(lambda: haproxy_ups(c) > ups, 30, 0.5)
        res.rows["HAProxy back on db1 (s)"] = \
            round(time.monotonic() - t0, 1) if ok else "not within 30 s"
        time.sleep(5)
    except StackError as e:
        res.fail("db1 did not rejoin: %s" % str(e)[:500])
    back.stop()
    answers(res, back, "failback", t0, "db1 came back")
    sub = Result("failback")
    verify(c, tenant, back, list(cl.DB_NODES), sub)
    for k, v in sub.rows.items():
        res.rows[k + " (failback)"] = v
    res.failures += sub.failures
    held = node_tokens(c, "db1", tenant.id)
    lost = sorted(load.acked() - set(held))
    res.rows["lost acked writes on db1 (before it went)"] = len(lost)
    if lost:
        res.fail("db1 after rejoining lacks %d writes" % len(lost))
    return res


def writer_kill(c, tenant, fids):
    """SIGKILL the writer Galera node (db1) under steady load; then start
    it again (its position recovered: IST)."""
    def take():
        log("SIGKILL db1 (pid %s), the writer" % c.kill("db1"))
    return writer_outage(c, tenant, fids, "writer-kill", take,
                         lambda: c.db_start("db1", timeout=240))


def partition(c, tenant, fids):
    """Cut the writer (db1) off the network under steady load: db2 and db3
    keep the primary component, db1 alone loses it (and HAProxy cannot
    reach it); then heal the link: db1 rejoins by IST."""
    def take():
        log("cutting db1, the writer, off the network")
        cl.link("db1", False)

    def give_back():
        log("healing db1's link")
        cl.link("db1", True)
        if not until(lambda: c.wsrep("db1") == "Synced", 120, 0.5):
            raise StackError("db1 not Synced within 120 s of the heal")

    return writer_outage(c, tenant, fids, "partition", take, give_back)


def api_kill(c, tenant, fids):
    """SIGKILL an API host's pool (master and workers) under steady load;
    nginx sends the requests to the other one. A request the killed pool
    was serving has no answer to give: nginx answers it 502 (it does not
    resend a PATCH or POST it has already passed on), so 502s are counted
    here, and allowed only for requests in flight at the kill. Then the
    pool is started again and nginx uses it again."""
    res = Result("api-kill")
    load = Load("apikill", tenant, fids, writers=3, alerters=1)
    load.start(60)
    time.sleep(5)
    pid = c.pid("api1")
    t_kill = time.monotonic()
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, TypeError):
        res.fail("api1 was not running")
    log("SIGKILL api1's pool (process group %s)" % pid)
    time.sleep(10)
    c.stop("api1")
    t_back = time.monotonic()
    c.api_start("api1")
    c.wait_tcp("api1", cl.API_PORT, "api1")
    time.sleep(8)
    load.stop()
    st = load.statuses()
    res.rows["requests"] = sum(st.values())
    res.rows["statuses"] = dict(sorted(st.items()))
    w = load.error_window(t_kill)
    res.rows["clients saw errors (s)"] = "none" if w is None else \
        "%.1f (from +%.1f to +%.1f after the kill)" % (w[2], w[0], w[1])
    # 502 only for what was in flight at the kill.
    late = [(t0, s) for t0, t1, _, _, s in load.log
            if s == 502 and t0 > t_kill + 0.5]
    res.rows["502 answers (in flight at the kill)"] = st.get(502, 0) - \
        len(late)
    for s in (500, 0, 504):
        if st.get(s):
            res.fail("%d answers with status %s" % (st[s], s or
                                                    "'no answer'"))
    if late:
        res.fail("%d answers of 502 to requests sent after the kill" %
                 len(late))
    # api1 serves again: its log has requests after its restart.
    served = until(lambda: api_served_since(c, "api1", t_back), 10, 0.5)
    res.rows["api1 serving again after its restart"] = "yes" if served \
        else "no"
    if not served:
        res.fail("nginx did not use api1 again after its restart")
    verify(c, tenant, load, list(cl.DB_NODES), res)
    return res


def scan_kill(c, tenant, fids, resources=5000):
    """SIGKILL the scanner host running a scan, mid-scan (an estate of
    RESOURCES resources cloned from the sample, as bench/scan.py makes
    it, in a tenant of its own without webhooks). The next --due on either
    host must fail the scan left running; a new scan must then complete,
    and the integration's findings must have been detected once each: no
    finding with two "detected" entries, one finding.detected event each,
    on every node."""
    res = Result("scan-kill")
    sys.path.insert(0, os.path.join(c.srcdir, "bench"))
    import scan as benchscan
    inv = os.path.join(c.root, "estate")
    os.makedirs(inv, exist_ok=True)
    benchscan.write_inventory(inv, benchscan.templates(c.srcdir), resources)
    t = Tenant(c, "scans")
    integ = c.ctl.vigilctl("integration", "add-inventory", "--tenant",
                           t.name, "--name", "large estate", "--path",
                           inv).stdout.strip()

    def queue():
        s, b = t.api.call("POST", "/api/v1/scans", {"integration_id": integ})
        check(s == 202, "POST /scans: %s %s" % (s, b))
        return b["scan_id"]

    def status(scan_id):
        s, b = t.api.call("GET", "/api/v1/scans/" + scan_id)
        return b["status"] if s == 200 else None

    first = queue()
    check(until(lambda: status(first) == "running", 60, 0.1),
          "scan %s never ran" % first)
    # Into its batches: killed once the first has committed.
    until(lambda: c.rows("db1", "SELECT COUNT(*) FROM vigil.findings "
                         "WHERE tenant_id = '%s'" % t.id)[0][0] != "0",
          30, 0.05)
    host = None
    for h in cl.SCAN_HOSTS:
        text = open(c.logfile(h + ".log"), errors="replace").read()
        if re.search(r"scan %s: .*started" % first, text):
            host = h
    check(host is not None, "no scanner host logged scan %s" % first)
    pid = c.pid(host)
    os.killpg(pid, signal.SIGKILL)
    log("SIGKILL %s (its loop and vigil-scan) mid-scan of %s" % (host, first))
    res.rows["killed mid-scan"] = host
    res.rows["status at the kill"] = status(first)
    res.rows["findings written before the kill"] = c.rows(
        "db1", "SELECT COUNT(*) FROM vigil.findings WHERE tenant_id = '%s'"
        % t.id)[0][0]
    c.stop(host)
    c.scan_loop_start(host)
    t0 = time.monotonic()
    st = until(lambda: (lambda x: x if x in ("failed", "completed")
                        else None)(status(first)), 60, 0.5)
    res.rows["the killed scan, after"] = "%s (%.0f s later)" % (
        st, time.monotonic() - t0) if st else "still running after 60 s"
    if st != "failed":
        res.fail("the killed scan is %s, not failed" % (st or "running"))
    second = queue()
    st2 = until(lambda: (lambda x: x if x in ("failed", "completed")
                         else None)(status(second)), 300, 1)
    s, b = t.api.call("GET", "/api/v1/scans/" + second)
    res.rows["the next scan"] = "%s: %s resources, %s detected" % (
        st2, b.get("resources_scanned"), b.get("findings_detected")) \
        if s == 200 else s
    if st2 != "completed":
        res.fail("the scan after the kill is %s" % st2)
    for node in cl.DB_NODES:
        dup = c.rows(node, SYNC + (
            "SELECT COUNT(*) FROM (SELECT finding_id FROM "
            "vigil.finding_history WHERE tenant_id = '%s' AND action = "
            "'detected' GROUP BY finding_id HAVING COUNT(*) > 1) d" %
            t.id))[0][0]
        nf = c.rows(node, SYNC + (
            "SELECT COUNT(*) FROM vigil.findings WHERE tenant_id = '%s'" %
            t.id))[0][0]
        ne = c.rows(node, SYNC + (
            "SELECT COUNT(*) FROM vigil.events WHERE tenant_id = '%s' AND "
            "type = 'finding.detected'" % t.id))[0][0]
        res.rows["%s: findings / detected events / doubly detected" %
                 node] = "%s / %s / %s" % (nf, ne, dup)
        if dup != "0" or nf != ne:
            res.fail("%s: %s findings, %s finding.detected events, %s "
                     "detected twice" % (node, nf, ne, dup))
    r = c.ctl.vigilctl("audit", "verify", "--tenant", t.name, check=False,
                       timeout=300)
    res.rows["audit verify"] = "ok" if r.returncode == 0 else \
        "FAILED (exit %d)" % r.returncode
    if r.returncode != 0:
        res.fail("vigilctl audit verify: %s%s" % (r.stdout, r.stderr))
    shutil.rmtree(inv, ignore_errors=True)
    return res


def api_served_since(c, host, t_mono):
    """True when host's log has a request logged after t_mono (monotonic
    time, compared through the wall clock)."""
    since = time.time() - (time.monotonic() - t_mono)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since + 1))
    try:
        with open(c.logfile(host + ".log"), errors="replace") as f:
            for line in f:
                if " req=" in line and line[:20] > stamp:
                    return True
    except OSError:
        pass
    return False


def two_writers(c, tenant, fids):
    """A probe, not a scenario of the supported topology: what Vigil does
    today when two nodes take writes at once, as they may for a moment
    around a failover.

    1. A scan lease taken through db1 (the row vigil-scan inserts) while a
       scanner reaching db2 directly scans the same integration: the row
       is replicated, so the second scanner must refuse (exit 4), then
       scan once the lease is gone. (With GET_LOCK, local to its node, it
       scanned anyway.)
    2. api2 talks to db2 directly while api1 goes through HAProxy (db1);
       both act on the same findings: Galera aborts one of two conflicting
       commits (certification failure, error 1213)."""
    res = Result("two-writers (probe)")
    conf2 = c.write_conf(os.path.join(c.hostdir("scan2"), "vigil-db2.conf"),
                         db_host=cl.addr("db2"))
    # A scanner through db1 holds the integration's lease: its row, as
    # vigil-scan inserts it, for a live process of this machine (the hosts
    # share its name and pids, so a dead pid would be taken over at once).
    sleeper = subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL)
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()[:8]
        holder = "%s:%s:%d" % (socket.gethostname(), boot, sleeper.pid)
        c.rows("db1", "INSERT INTO vigil.scan_leases (integration_id, "
               "holder, scan_id, acquired_at, expires_at) VALUES ('%s', "
               "'%s', 'scn_probe', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + "
               "INTERVAL 60 SECOND)" % (tenant.integration, holder))
        r = subprocess.run(
            ["ip", "netns", "exec", cl.ns("scan2"), c.ctl.vigil_scan_bin,
             "-c", conf2, "--once", "--integration", tenant.integration],
            env=c.ctl.env(), stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=120)
        out = r.stdout + r.stderr
        scanned = "started" in out or "completed" in out
        res.rows["scan lease taken through db1; scanner on db2"] = \
            "scanned anyway" if scanned else \
            "refused (exit %d)" % r.returncode
        if scanned or r.returncode != 4:
            res.fail("a second scanner scanned an integration whose lease "
                     "was held through another node: %s" % out.strip())
    finally:
        sleeper.kill()
        sleeper.wait()
        c.rows("db1", "DELETE FROM vigil.scan_leases WHERE integration_id "
               "= '%s' AND scan_id = 'scn_probe'" % tenant.integration)
    # The scan it queued runs once the lease is gone.
    r = subprocess.run(
        ["ip", "netns", "exec", cl.ns("scan2"), c.ctl.vigil_scan_bin,
         "-c", conf2, "--once", "--integration", tenant.integration],
        env=c.ctl.env(), stdin=subprocess.DEVNULL, capture_output=True,
        text=True, timeout=300)
    res.rows["then, the lease released: scanner on db2"] = \
        "exit %d" % r.returncode
    if r.returncode != 0:
        res.fail("the scan did not run once the lease was released: %s" %
                 (r.stdout + r.stderr).strip())
    # api2 straight to db2.
    c.stop("api2")
    c.write_conf(c.conf("api2"), db_host=cl.addr("db2"))
    c.spawn("api2", "api2", [c.ctl.vigil_api, "-c", c.conf("api2"),
                             "--listen", "%s:%d" % (cl.addr("api2"),
                                                    cl.API_PORT),
                             "--workers", "3"], env=c.ctl.env())
    c.wait_tcp("api2", cl.API_PORT, "api2")
    # Few findings, many writers: the same rows from both nodes.
    load = Load("twowriters", tenant, fids[:3], writers=6, alerters=0)
    load.start(15)
    for th in load.threads:
        th.join(60)
    st = load.statuses()
    res.rows["requests"] = sum(st.values())
    res.rows["statuses"] = dict(sorted(st.items()))
    certs = sum(open(c.logfile(h + ".log"), errors="replace").read()
                .count("Deadlock found") for h in cl.API_HOSTS)
    res.rows["certification failures logged (1213)"] = certs
    if st.get(500) or st.get(0):
        res.fail("%d answers of 500, %d without an answer" % (
            st.get(500, 0), st.get(0, 0)))
    verify(c, tenant, load, list(cl.DB_NODES), res)
    # Back to the supported topology.
    c.stop("api2")
    c.api_start("api2")
    c.wait_tcp("api2", cl.API_PORT, "api2")
    return res


def migrate_race(c, tenant, fids):
    """vigilctl migrate on two Galera nodes, on a fresh database: one runner
    through db1, one through db2 (straight, not HAProxy), started at once,
    then again with db2's started while db1's is midway. The migration
    lease (a row of migrate_lease, certified) lets one apply every
    migration, each DDL once (replicated by total order isolation), while
    the other waits and then finds nothing to do; every node ends with
    every migration recorded once and the schema of the live database.
    Then vigilctl db check through db2: a Galera node, its settings fit,
    wsrep_sync_wait set on the connection (db_sync_wait)."""
    res = Result("migrate-race")
    db = "vigil_race"
    confs = {}
    for node in ("db1", "db2"):
        confs[node] = c.write_conf(
            os.path.join(c.root, "migrate-%s.conf" % node),
            db_host=cl.addr(node), db_name=db)
    versions = sorted(f[:4] for f in os.listdir(
        os.path.join(c.srcdir, "db", "migrations"))
        if re.match(r"^\d{4}_.+\.sql$", f))

    def shape(node, schema):
        return c.rows(node, SYNC + (
            "SELECT table_name, column_name, column_type, is_nullable "
            "FROM information_schema.columns WHERE table_schema = '%s' "
            "ORDER BY 1, 2" % schema)), c.rows(node, SYNC + (
                "SELECT table_name, index_name, seq_in_index, "
                "column_name FROM information_schema.statistics WHERE "
                "table_schema = '%s' ORDER BY 1, 2, 3" % schema)), \
            c.rows(node, SYNC + (
                "SELECT trigger_name FROM information_schema.triggers "
                "WHERE trigger_schema = '%s' ORDER BY 1" % schema))

    def start(node):
        return subprocess.Popen(
            [c.ctl.vigilctl_bin, "-c", confs[node], "migrate"],
            env=c.ctl.env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def race(label, midway):
        c.sql("db1", "DROP DATABASE IF EXISTS %s; CREATE DATABASE %s "
              "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; GRANT ALL "
              "PRIVILEGES ON %s.* TO 'vigil'@'%%'" % (db, db, db))
        procs, early = {"db1": start("db1")}, ""
        if midway:
            # db2's runner once db1's has applied a few migrations.
            for line in procs["db1"].stdout:
                early += line
                if line.startswith("applied 0005_"):
                    break
        procs["db2"] = start("db2")
        outs = {node: p.communicate(timeout=900)[0]
                for node, p in procs.items()}
        outs["db1"] = early + outs["db1"]
        for node, p in procs.items():
            res.rows["%s: runner through %s" % (label, node)] = \
                "exit %d: %s" % (
                    p.returncode, "applied %d" % outs[node].count("applied ")
                    if "applied " in outs[node] else
                    "waited, nothing to do" if "nothing to do" in outs[node]
                    else outs[node].strip()[-200:])
            if p.returncode != 0:
                res.fail("%s: migrate through %s: exit %d: %s" % (
                    label, node, p.returncode, outs[node].strip()))
        appliers = [n for n, o in outs.items() if "applied " in o]
        waiters = [n for n, o in outs.items()
                   if "waiting for another runner" in o and
                   "nothing to do" in o]
        if len(appliers) != 1 or len(waiters) != 1:
            res.fail("%s: expected one runner to apply and one to wait: %s"
                     % (label, outs))
        for v in versions:
            if appliers and outs[appliers[0]].count("applied %s_" % v) != 1:
                res.fail("%s: migration %s applied %d times" % (
                    label, v, outs[appliers[0]].count("applied %s_" % v)))
        want = shape("db1", "vigil")
        for node in cl.DB_NODES:
            rec = [r[0] for r in c.rows(node, SYNC + (
                "SELECT version FROM %s.schema_migrations ORDER BY 1" %
                db))]
            if rec != versions:
                res.fail("%s: %s records %s, not every migration once" % (
                    label, node, rec))
            if shape(node, db) != want:
                res.fail("%s: %s: the schema of %s differs from vigil's" % (
                    label, node, db))
            lease = c.rows(node, SYNC + "SELECT holder FROM "
                           "%s.migrate_lease" % db)
            if lease:
                res.fail("%s: %s: the lease was left behind: %s" % (
                    label, node, lease))
        res.rows["%s: recorded on every node" % label] = "%d migrations" % (
            len(versions))

    try:
        race("at once", False)
        race("db2 midway", True)
        # The check migrate runs first, said in full by db check.
        r = c.ctl.vigilctl("-c", confs["db2"], "db", "check", check=False)
        out = r.stdout.strip()
        res.rows["db check through db2"] = out.splitlines()[0] \
            if out else "exit %d" % r.returncode
        if r.returncode != 0 or "a Galera node (wsrep_on ON; cluster " \
                "size 3" not in out or "wsrep_sync_wait: 1 on this " \
                "connection (vigil.conf db_sync_wait = auto)" not in out:
            res.fail("vigilctl db check through db2: exit %d: %s%s" % (
                r.returncode, r.stdout, r.stderr))
        off = c.write_conf(os.path.join(c.root, "migrate-off.conf"),
                           db_host=cl.addr("db2"), db_sync_wait="0")
        r = c.ctl.vigilctl("-c", off, "db", "check", check=False)
        if "wsrep_sync_wait: 0 on this connection" not in r.stdout:
            res.fail("db_sync_wait = 0 was not applied: %s" % r.stdout)
    finally:
        c.sql("db1", "DROP DATABASE IF EXISTS %s" % db, check=False)
    return res


def read_your_writes(c, tenant, fids, pairs=100):
    """A write through one API host read at once through the other, each
    host on its own Galera node: api1 through HAProxy (db1), api2 straight
    to db2. nginx alternates the hosts, so each PATCH is followed by a GET
    through the other host; with db_sync_wait (auto: wsrep_sync_wait 1 on
    Galera) that GET waits until db2 has applied the write, and must show
    it. The same again with db_sync_wait = 0 on api2, for the record
    (stale reads there are possible, not certain)."""
    res = Result("read-your-writes")
    fid = fids[0]

    def api2(**extra):
        c.stop("api2")
        c.write_conf(c.conf("api2"), db_host=cl.addr("db2"), **extra)
        c.spawn("api2", "api2", [c.ctl.vigil_api, "-c", c.conf("api2"),
                                 "--listen", "%s:%d" % (cl.addr("api2"),
                                                        cl.API_PORT),
                                 "--workers", "3"], env=c.ctl.env())
        c.wait_tcp("api2", cl.API_PORT, "api2")

    def run(label):
        stale = errors = 0
        for i in range(pairs):
            tok = "ryw-%s-%d-%s" % (label, i, secrets.token_hex(3))
            s, _ = tenant.api.call("PATCH", "/api/v1/findings/" + fid,
                                   {"notes": tok})
            s2, b = tenant.api.call("GET", "/api/v1/findings/" + fid)
            if s != 200 or s2 != 200:
                errors += 1
            elif b.get("notes") != tok:
                stale += 1
        return stale, errors

    try:
        api2()
        stale, errors = run("sync")
        res.rows["stale reads with db_sync_wait auto"] = "%d of %d" % (
            stale, pairs)
        if stale or errors:
            res.fail("%d stale reads and %d errors in %d write-then-read "
                     "pairs" % (stale, errors, pairs))
        api2(db_sync_wait="0")
        stale, errors = run("nosync")
        res.rows["stale reads with db_sync_wait 0 (for the record)"] = \
            "%d of %d" % (stale, pairs)
    finally:
        # Back to the supported topology.
        c.stop("api2")
        c.api_start("api2")
        c.wait_tcp("api2", cl.API_PORT, "api2")
    return res


def replica_converges(c):
    """The other topology (cluster.py --topology replica): every Vigil host
    on the primary (db1), db2 an asynchronous replica with GTIDs. Vigil
    serves (a scan by a scanner host, finding actions and alerts through
    both API hosts, webhooks delivered), nothing is lost on the primary,
    and once the replica has applied the primary's position (MASTER_GTID_
    WAIT) every table holds the same rows on both (counts and CHECKSUM
    TABLE); the replica is read-only and no Vigil process ever connected to
    it (userstat: no connection by the vigil user)."""
    res = Result("replica")
    r = c.ctl.vigilctl("db", "check", check=False)
    res.rows["db check (primary)"] = (r.stdout.splitlines() or ["?"])[0]
    if r.returncode != 0 or "not a Galera node" not in r.stdout or \
            "binary log on" not in r.stdout:
        res.fail("vigilctl db check on the primary: exit %d: %s%s" % (
            r.returncode, r.stdout, r.stderr))
    t = Tenant(c, "replica")
    t.webhook()
    t.scan()
    fids = t.findings()
    check(len(fids) >= 3, "the scan found %d findings" % len(fids))
    res.rows["findings"] = len(fids)
    load = Load("replica", t, fids, writers=3, alerters=1)
    load.start(10)
    for th in load.threads:
        th.join(60)
    st = load.statuses()
    res.rows["requests"] = sum(st.values())
    res.rows["statuses"] = dict(sorted(st.items()))
    bad = {k: n for k, n in st.items() if k not in (200, 201)}
    if bad:
        res.fail("non-2xx answers: %s" % bad)
    verify(c, t, load, ["db1"], res)
    t0 = time.monotonic()
    pos = c.replica_caught_up()
    res.rows["replica caught up (s)"] = round(time.monotonic() - t0, 1)
    res.rows["GTID position"] = pos
    if pos is None:
        res.fail("db2 did not reach the primary's position: %s" %
                 c.replica_status())
        return res
    tables = [x[0] for x in c.rows("db1", (
        "SELECT table_name FROM information_schema.tables WHERE "
        "table_schema = 'vigil' AND table_type = 'BASE TABLE' "
        "ORDER BY 1"))]
    differ = []
    rows = 0
    for tb in tables:
        q = "SELECT COUNT(*) FROM vigil.`%s`; CHECKSUM TABLE vigil.`%s`" % (
            tb, tb)
        a, b = c.rows("db1", q), c.rows("db2", q)
        rows += int(a[0][0])
        if a != b:
            differ.append((tb, a, b))
    res.rows["tables compared (rows on the primary)"] = "%d (%d)" % (
        len(tables), rows)
    res.rows["tables that differ on the replica"] = len(differ)
    if differ:
        res.fail("the replica differs: %s" % differ[:5])
    ro = c.rows("db2", "SELECT @@read_only")[0][0]
    res.rows["replica read_only"] = ro
    if ro != "1":
        res.fail("the replica is not read-only")
    users = dict(c.rows("db2", "SELECT USER, TOTAL_CONNECTIONS FROM "
                        "information_schema.USER_STATISTICS"))
    conns = users.get("vigil", "0")
    res.rows["connections by vigil to the replica"] = conns
    if conns != "0":
        res.fail("Vigil connected to the replica %s times" % conns)
    # The counter counts: the harness's own root connections are there.
    if int(users.get("root", "0")) < 1:
        res.fail("userstat counted no connection at all on db2: %s" % users)
    return res


def backup_restore(c, tenant, fids):
    """Back up a running node with mariabackup under steady load and
    restore it into a fresh single server (README, Scaling out: the
    procedure it tests). db2, not the writer, is backed up; before the
    backup starts, a read with wsrep_sync_wait on db2 makes it apply every
    write committed so far, so every write acknowledged before that read
    must be in the backup, exactly once. The backup is prepared, copied
    into an empty datadir and started as a plain server (no wsrep):
    "vigilctl audit verify" must pass for every tenant, and it must hold
    the tenant's findings."""
    res = Result("backup-restore")
    tool = shutil.which("mariabackup") or shutil.which("mariadb-backup")
    if not tool:
        res.fail("mariabackup is not installed (apt-get install "
                 "mariadb-backup)")
        return res
    top = os.path.join(c.root, "backup")
    shutil.rmtree(top, ignore_errors=True)
    target = os.path.join(top, "full")
    os.makedirs(top)
    load = Load("backup", tenant, fids, writers=2, alerters=1)
    load.start(120)
    time.sleep(3)
    mark = time.monotonic()
    c.rows("db2", SYNC + "SELECT 1")
    t0 = time.monotonic()

    def tool_run(args, logname):
        with open(c.logfile(logname), "ab") as out:
            return subprocess.call([tool] + args, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT,
                                   timeout=600)
    rc = tool_run(["--backup", "--galera-info", "--user=root",
                   "--socket=" + c.db_sock("db2"), "--target-dir=" + target],
                  "mariabackup.log")
    res.rows["mariabackup --backup of db2 under load (s)"] = round(
        time.monotonic() - t0, 1)
    time.sleep(2)
    load.stop()
    answers(res, load, "", mark, "the backup began")
    if rc != 0:
        res.fail("mariabackup --backup: exit %d:\n%s" % (
            rc, c.tail("mariabackup.log", 10)))
        return res
    try:
        with open(os.path.join(target, "xtrabackup_galera_info")) as f:
            res.rows["Galera position of the backup"] = f.read().split()[0]
    except (OSError, IndexError):
        res.fail("the backup has no xtrabackup_galera_info (--galera-info)")
    t0 = time.monotonic()
    rc = tool_run(["--prepare", "--target-dir=" + target], "mariabackup.log")
    if rc != 0:
        res.fail("mariabackup --prepare: exit %d" % rc)
        return res
    # A fresh server: an empty datadir, the backup copied back into it.
    d = c.hostdir("restore")
    data = os.path.join(d, "data")
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    rc = tool_run(["--copy-back", "--target-dir=" + target,
                   "--datadir=" + data], "mariabackup.log")
    if rc != 0:
        res.fail("mariabackup --copy-back: exit %d" % rc)
        return res
    user = c.db_user()
    subprocess.run(["chown", "-R", "%s:%s" % (user, user), d], check=True)
    cnf = os.path.join(d, "my.cnf")
    with open(cnf, "w") as f:
        f.write("[mysqld]\nuser = %s\ndatadir = %s\ntmpdir = %s/tmp\n"
                "socket = %s\npid-file = %s/mysqld.pid\nlog-error = %s\n"
                "skip-networking\ninnodb-buffer-pool-size = 64M\n" % (
                    user, data, d, c.db_sock("restore"), d,
                    c.logfile("restore.err")))
    p = c.spawn("restore", "client", [shutil.which("mariadbd"),
                                      "--defaults-file=" + cnf])
    up = until(lambda: p.poll() is None and c.sql(
        "restore", "SELECT 1", check=False).returncode == 0, 120, 0.5)
    res.rows["prepared, copied back and started (s)"] = round(
        time.monotonic() - t0, 1)
    if not up:
        res.fail("the restored server did not start:\n" +
                 c.tail("restore.err", 10))
        c.stop("restore")
        return res
    try:
        res.rows["restored server: wsrep_on"] = c.rows(
            "restore", "SELECT @@wsrep_on")[0][0]
        mine = "tok-%s-" % load.name
        held = collections.Counter()
        for (fields,) in c.rows("restore", (
                "SELECT fields FROM vigil.finding_history WHERE tenant_id = "
                "'%s' AND action = 'updated'" % tenant.id)):
            for tok in re.findall(r'"(tok-[0-9a-z-]+)"', fields):
                held[tok] += 1
        for (ext,) in c.rows("restore", (
                "SELECT external_id FROM vigil.alerts WHERE tenant_id = '%s' "
                "AND source = 'cluster-test'" % tenant.id)):
            held[ext] += 1
        before = {tok for t0_, t1, _, tok, s in load.log
                  if s in (200, 201) and t1 < mark}
        acked = load.acked()
        lost = sorted(before - set(held))
        dup = sorted(t for t, n in held.items() if n > 1 and
                     t.startswith(mine))
        res.rows["writes acked before the backup began"] = len(before)
        res.rows["of them missing from the restore"] = len(lost)
        res.rows["acked during the backup, in the restore"] = len(
            (acked - before) & set(held))
        res.rows["writes held twice"] = len(dup)
        if lost:
            res.fail("the restore lacks %d writes acknowledged before the "
                     "backup began, e.g. %s" % (len(lost), lost[:5]))
        if dup:
            res.fail("the restore holds %d writes twice" % len(dup))
        q = ("SELECT COUNT(*) FROM vigil.findings WHERE tenant_id = '%s'" %
             tenant.id)
        nf, n1 = c.rows("restore", q)[0][0], c.rows("db1", q)[0][0]
        res.rows["findings (restore / db1)"] = "%s / %s" % (nf, n1)
        if nf != n1:
            res.fail("the restore holds %s findings, db1 %s" % (nf, n1))
        conf = c.write_conf(os.path.join(d, "vigil.conf"),
                            db_socket=c.db_sock("restore"))
        r = subprocess.run([c.ctl.vigilctl_bin, "-c", conf, "audit",
                            "verify"], env=c.ctl.env(),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=300)
        res.rows["vigilctl audit verify (every tenant)"] = \
            "ok" if r.returncode == 0 else "FAILED (exit %d)" % r.returncode
        if r.returncode != 0:
            res.fail("vigilctl audit verify on the restore: %s%s" % (
                r.stdout, r.stderr))
    finally:
        c.stop("restore")
        shutil.rmtree(top, ignore_errors=True)
        shutil.rmtree(d, ignore_errors=True)
    return res


def haproxy_ups(c):
    """How many times HAProxy has logged db1 coming (back) up."""
    try:
        with open(c.logfile("haproxy.log"), errors="replace") as f:
            return f.read().count("galera/db1 is UP")
    except OSError:
        return 0


SCENARIOS = {"writer-kill": writer_kill, "partition": partition,
             "api-kill": api_kill, "scan-kill": scan_kill}
SCENARIOS["backup-restore"] = backup_restore
SCENARIOS.update({"migrate-race": migrate_race,
                  "read-your-writes": read_your_writes})
# The scenario of the other topology (cluster.py test --topology replica),
# run instead of the smoke test and the Galera scenarios.
REPLICA_SCENARIOS = {"replica": replica_converges}
# Probes of what is not correct yet: run only when named (--scenario).
PROBES = {"two-writers": two_writers}


def table(results):
    print()
    for r in results:
        print("== %s: %s" % (r.name, "PASS" if r.ok() else "FAIL"))
        for k, v in r.rows.items():
            print("   %-52s %s" % (k, v))
        for f in r.failures:
            print("   FAILURE: %s" % f)
        for n in r.notes:
            print("   note: %s" % n)
    print(flush=True)


def run(a):
    """cluster.py test: up, smoke, the scenarios, the table, down."""
    root = a.root
    made = False
    if not root:
        root = tempfile.mkdtemp(prefix="vigil-cluster-")
        made = True
    os.makedirs(root, exist_ok=True)
    c = cl.Cluster(root, a.srcdir, a.builddir, lifetime=1800,
                   topology=getattr(a, "topology", None) or "galera")

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    # Also SIGINT: a shell starting "test &" leaves it ignored, and Python
    # then raises nothing at Ctrl-C (or kill -INT).
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_term)
    results = []
    rc = 1
    t0 = time.monotonic()
    try:
        c.up()
        if c.topology == "replica":
            for name, fn in REPLICA_SCENARIOS.items():
                log("scenario " + name)
                results.append(fn(c))
            raise Done()
        res, tenant, fids = smoke(c)
        results.append(res)
        if res.ok():
            for name in a.scenario or list(SCENARIOS):
                log("scenario " + name)
                fn = SCENARIOS.get(name) or PROBES[name]
                results.append(fn(c, tenant, fids))
        rc = 0 if all(r.ok() for r in results) else 1
    except Done:
        rc = 0 if all(r.ok() for r in results) else 1
    except (Fail, StackError) as e:
        print("cluster test: %s" % e, file=sys.stderr)
    except KeyboardInterrupt:
        print("cluster test: interrupted", file=sys.stderr)
        rc = 130
    finally:
        # A second Ctrl-C must not cut "down" short.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        table(results)
        log("down (the test took %.0fs)" % (time.monotonic() - t0))
        c.down()
        if rc != 0 or a.keep:
            print("logs: %s/log" % root, file=sys.stderr)
        elif made:
            shutil.rmtree(root, ignore_errors=True)
    return rc
