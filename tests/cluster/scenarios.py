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

The load (Load) is mixed: clients acting on findings (PATCH notes = a
fresh token), sending alerts one at a time and in batches (external_id = a
fresh token), queueing scans of a sizeable inventory that the two scanner
hosts run (vigil-scan --due), and every event they make delivered to the
receiver host by the spooler hosts. verify() then checks, on every node:
each acknowledged token once in its table, once in the audit log, once
among the events; no finding or alert stored twice; every acknowledged
scan there; "vigilctl audit verify" for every tenant; every committed
event of the tenant at the receiver (duplicates counted); no integration
scanned by two scanners at once (scan_overlaps). The table at the end
(summary) has one line per scenario: acknowledged writes lost, events
lost, duplicate deliveries, how long clients saw errors, 5xx other than
503.
"""

import collections
import json
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
# The resources of the estate the load's scans rescan (Tenant.add_estate):
# some 1,200 findings, a rescan of a few seconds.
ESTATE = 1000


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

    def webhook(self, path=None):
        """A webhook for every event to the receiver host, at /ok/NAME
        (answered at once) or path (e.g. "slow/150/NAME")."""
        s, b = self.api.call("POST", "/api/v1/webhooks", {
            "url": "http://%s:%d/%s" % (cl.addr("receiver"),
                                       cl.RECEIVER_PORT,
                                       path or "ok/" + self.name),
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

    def add_estate(self, resources, timeout=600):
        """An inventory integration of RESOURCES resources cloned from the
        sample (as bench/scan.py makes it) and its first scan, run by a
        scanner host: the load's scans (Load) rescan it."""
        sys.path.insert(0, os.path.join(self.c.srcdir, "bench"))
        import scan as benchscan
        inv = os.path.join(self.c.root, "estate-" + self.name)
        os.makedirs(inv, exist_ok=True)
        benchscan.write_inventory(inv, benchscan.templates(self.c.srcdir),
                                  resources)
        self.estate = self.c.ctl.vigilctl(
            "integration", "add-inventory", "--tenant", self.name,
            "--name", "estate of %d" % resources, "--path",
            inv).stdout.strip()
        s, b = self.api.call("POST", "/api/v1/scans",
                             {"integration_id": self.estate})
        check(s == 202, "POST /scans: %s %s" % (s, b))

        def done():
            s2, b2 = self.api.call("GET", "/api/v1/scans/" + b["scan_id"])
            return b2 if s2 == 200 and b2["status"] in (
                "completed", "failed") else None
        r = until(done, timeout, 1)
        check(r is not None and r["status"] == "completed",
              "the estate's first scan: %s" % (r or "not finished within "
                                               "%ds" % timeout))
        return r

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


def delivered(c, tenant_id, node, stall=90, cap=420):
    """(missing, repeated, events): the tenant's committed events (read
    on node) the receiver has not had, waiting while the receiver still
    gets deliveries (until none came for stall seconds, at most cap
    seconds: a spooler works through a backlog at its own pace); the
    events it got more than once, with how many times; every event id."""
    events = set(node_events(c, node, tenant_id))
    deadline = time.monotonic() + cap
    last, last_change = -1, time.monotonic()
    while True:
        got = receiver_ids(c)
        if events <= set(got):
            break
        now = time.monotonic()
        if len(got) != last:
            last, last_change = len(got), now
        if now - last_change > stall or now > deadline:
            break
        time.sleep(1)
    missing = sorted(events - set(got))
    return missing, {e: got[e] for e in events if got.get(e, 0) > 1}, \
        events


def deliveries_of(c, node, event_ids):
    """What the deliveries table says of some events: {(status,
    attempts, last error): how many}."""
    if not event_ids:
        return {}
    rows = c.rows(node, SYNC + (
        "SELECT status, attempts, COALESCE(last_error, '-') FROM "
        "vigil.deliveries WHERE event_id IN (%s)" % ", ".join(
            "'%s'" % e for e in event_ids)))
    return dict(collections.Counter(tuple(r) for r in rows))


# --- load ------------------------------------------------------------------------

class Load:
    """Client threads through the load balancer, every request recorded
    as (start, end, kind, token, status):

      writers   PATCH a finding's notes to a fresh token ("finding")
      alerters  POST /alerts, external_id a fresh token ("alert")
      batchers  POST /alerts/batch of BATCH alerts, each a fresh token
                ("batch"; the items acknowledged 200/201 in the answer
                are kept in batch_acked)
      scans     queue a scan of the tenant's estate (tenant.estate, when it
                has one) through POST /scans ("scan", token = the scan id),
                follow it to its end (GET, "read"), and queue the next
    """

    BATCH = 20

    def __init__(self, name, tenant, findings, writers=3, alerters=1,
                 batchers=1, scans=True):
        self.name = name
        self.t = tenant
        self.findings = findings
        self.writers = writers
        self.alerters = alerters
        self.batchers = batchers
        self.scans = scans and getattr(tenant, "estate", None) is not None
        self.stop_at = None
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.log = []
        self.batch_acked = set()
        self.scan_outcomes = collections.Counter()
        self.threads = []

    def _record(self, t0, kind, tok, s):
        with self.lock:
            self.log.append((t0, time.monotonic(), kind, tok, s))

    def running(self):
        return not self.stopping.is_set() and time.monotonic() < self.stop_at

    def _patch(self, i):
        n = 0
        while self.running():
            fid = self.findings[(i + n * self.writers) % len(self.findings)]
            tok = "tok-%s-w%d-%d" % (self.name, i, n)
            n += 1
            t0 = time.monotonic()
            s, _ = self.t.api.call("PATCH", "/api/v1/findings/" + fid,
                                   {"notes": tok}, timeout=60)
            self._record(t0, "finding", tok, s)
            if s != 200:
                time.sleep(0.1)

    @staticmethod
    def alert(tok, n):
        return {"source": "cluster-test", "external_id": tok,
                "severity": "medium", "title": "cluster test " + tok,
                "detected_at": "2026-12-01T00:00:00Z",
                "asset": {"hostname": "host-%d" % (n % 7)},
                "observables": [{"type": "ip", "value": "203.0.113.%d" %
                                 (n % 250 + 1)}]}

    def _alert(self, i):
        n = 0
        while self.running():
            tok = "tok-%s-a%d-%d" % (self.name, i, n)
            n += 1
            t0 = time.monotonic()
            s, _ = self.t.api.call("POST", "/api/v1/alerts",
                                   self.alert(tok, n), timeout=60)
            self._record(t0, "alert", tok, s)
            if s not in (200, 201):
                time.sleep(0.1)

    def _batch(self, i):
        n = 0
        while self.running():
            toks = ["tok-%s-b%d-%d-%d" % (self.name, i, n, k)
                    for k in range(self.BATCH)]
            n += 1
            t0 = time.monotonic()
            s, b = self.t.api.call("POST", "/api/v1/alerts/batch", {
                "alerts": [self.alert(tok, n + k)
                           for k, tok in enumerate(toks)]}, timeout=60)
            self._record(t0, "batch", toks[0], s)
            if s == 200 and isinstance(b, dict):
                ok = {r.get("index") for r in b.get("results", [])
                      if r.get("status") in (200, 201)}
                with self.lock:
                    self.batch_acked.update(toks[k] for k in ok
                                            if isinstance(k, int) and
                                            0 <= k < len(toks))
            else:
                time.sleep(0.2)

    def _scan(self):
        while self.running():
            t0 = time.monotonic()
            s, b = self.t.api.call("POST", "/api/v1/scans", {
                "integration_id": self.t.estate}, timeout=60)
            sid = b.get("scan_id") if s == 202 and isinstance(b, dict) \
                else None
            self._record(t0, "scan", sid or "-", s)
            if sid is None:
                time.sleep(1)
                continue
            # Followed to its end; a scan a dead scanner left running is
            # failed by the next --due, so this ends too.
            while self.running():
                time.sleep(1)
                t0 = time.monotonic()
                s, b = self.t.api.call("GET", "/api/v1/scans/" + sid,
                                       timeout=60)
                self._record(t0, "read", sid, s)
                if s == 200 and b["status"] in ("completed", "failed"):
                    with self.lock:
                        self.scan_outcomes[b["status"]] += 1
                    break
            time.sleep(1)

    def start(self, max_seconds):
        self.stop_at = time.monotonic() + max_seconds
        for n, fn in ((self.writers, self._patch),
                      (self.alerters, self._alert),
                      (self.batchers, self._batch)):
            for i in range(n):
                self.threads.append(threading.Thread(target=fn, args=(i,),
                                                     daemon=True))
        if self.scans:
            self.threads.append(threading.Thread(target=self._scan,
                                                 daemon=True))
        for t in self.threads:
            t.start()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(90)

    def acked(self):
        """The tokens of every acknowledged finding action and alert
        (single or in a batch)."""
        with self.lock:
            return {tok for _, _, kind, tok, s in self.log
                    if kind in ("finding", "alert") and s in (200, 201)} | \
                set(self.batch_acked)

    def acked_scans(self):
        return {tok for _, _, kind, tok, s in self.log
                if kind == "scan" and s == 202}

    def statuses(self):
        return collections.Counter(s for *_, s in self.log)

    def error_window(self, after):
        """(first, last, seconds) of the non-2xx answers after time
        after, relative to it; None when there was none."""
        errs = [(t0, t1) for t0, t1, _, _, s in self.log
                if not 200 <= s < 300 and t1 >= after]
        if not errs:
            return None
        first = min(t0 for t0, _ in errs) - after
        last = max(t1 for _, t1 in errs) - after
        return first, last, last - first


# --- results ---------------------------------------------------------------

class Result:
    """A scenario's outcome: its detailed rows, its failures, and the
    figures of the summary table (summary())."""

    def __init__(self, name):
        self.name = name
        self.rows = collections.OrderedDict()
        self.failures = []
        self.notes = []
        self.acked = 0          # acknowledged writes, every load
        self.lost = 0           # of those, missing on some node
        self.events = 0         # events the tenant committed meanwhile
        self.events_lost = 0    # never delivered
        self.dups = 0           # repeated deliveries the receiver saw
        self.windows = []       # seconds of errors clients saw, per load
        self.bad5xx = 0         # 5xx answers other than 503 (not allowed)
        self.allowed502 = 0     # 502 to a request in flight at an API kill
        self.noanswer = 0       # requests without an answer
        self.seconds = 0.0

    def fail(self, msg):
        self.failures.append(msg)

    def ok(self):
        return not self.failures

    def merge(self, sub, suffix):
        """sub's rows (named with suffix), failures and figures into
        this one: a scenario with a second load."""
        for k, v in sub.rows.items():
            self.rows["%s (%s)" % (k, suffix)] = v
        self.failures += sub.failures
        for k in ("acked", "lost", "events", "dups", "bad5xx",
                  "allowed502", "noanswer"):
            setattr(self, k, getattr(self, k) + getattr(sub, k))
        self.events_lost = max(self.events_lost, sub.events_lost)
        self.windows += sub.windows


# tenant id -> {event id: deliveries} of the events the receiver had got
# more than once, and the set of the tenant's events, at the last
# verify(): a scenario's figures are what came since.
DUPS_SEEN = {}
EVENTS_SEEN = {}


def tenant_names(c):
    r = c.ctl.vigilctl("tenant", "list")
    return [line.split("\t")[1] for line in r.stdout.splitlines()[1:]
            if "\t" in line]


def token_rows(c, node, sql, load_name):
    """token -> how many rows of sql (one text column) name it (a row
    naming a token twice counts once)."""
    out = collections.Counter()
    mine = "tok-%s-" % load_name
    for (text,) in c.rows(node, SYNC + sql):
        for tok in set(re.findall(r"tok-[0-9a-z-]+[0-9]", text)):
            if tok.startswith(mine):
                out[tok] += 1
    return out


def node_audit(c, node, tenant_id, load_name):
    """token -> audit entries naming it: the entry of a finding action
    (its history names the notes), of a single alert (its external_id),
    and of a batch (its created and deduplicated alert ids, mapped back
    to their external ids on that node)."""
    out = token_rows(c, node, (
        "SELECT detail FROM vigil.audit_log WHERE tenant_id = '%s' AND "
        "action <> 'alert.ingest_batch' AND detail LIKE '%%tok-%s-%%'" % (
            tenant_id, load_name)), load_name)
    ids = dict(c.rows(node, SYNC + (
        "SELECT id, external_id FROM vigil.alerts WHERE tenant_id = '%s' "
        "AND external_id LIKE 'tok-%s-b%%'" % (tenant_id, load_name))))
    if ids:
        for (detail,) in c.rows(node, SYNC + (
                "SELECT detail FROM vigil.audit_log WHERE tenant_id = '%s' "
                "AND action = 'alert.ingest_batch'" % tenant_id)):
            for aid in set(re.findall(r'"([^"\\]+)"', detail)):
                if aid in ids:
                    out[ids[aid]] += 1
    return out


def node_dup_rows(c, node):
    """Findings and alerts stored twice on node, every tenant: two
    findings of one rule and resource, two alerts of one (source,
    external_id)."""
    f = c.rows(node, SYNC + (
        "SELECT COUNT(*) FROM (SELECT 1 FROM vigil.findings GROUP BY "
        "tenant_id, rule_id, resource_id HAVING COUNT(*) > 1) d"))[0][0]
    a = c.rows(node, SYNC + (
        "SELECT COUNT(*) FROM (SELECT 1 FROM vigil.alerts GROUP BY "
        "tenant_id, source, external_id HAVING COUNT(*) > 1) d"))[0][0]
    return int(f), int(a)


def scan_intervals(c):
    """integration -> [(start, end, scan id, host)] of every scan the
    scanner hosts started, from their logs (each line stamped to the
    microsecond by the loop, cluster.scan_loop_start). A scan's end is
    its "completed"/"failed" line, or the line of the --due that failed
    it after its scanner died; a scan with neither is taken to run
    still (now)."""
    starts, ends = {}, {}
    for h in cl.SCAN_HOSTS:
        try:
            f = open(c.logfile(h + ".log"), errors="replace")
        except OSError:
            continue
        with f:
            for line in f:
                m = re.match(r"(\d+\.\d+) ", line)
                if not m:
                    continue
                t = float(m.group(1))
                m2 = re.search(r"scan (\S+): integration (\S+) .*: started",
                               line)
                if m2:
                    starts[m2.group(1)] = (t, m2.group(2), h)
                    continue
                m2 = re.search(r"scan (\S+): (?:completed|failed|.*marked "
                               r"failed)", line)
                if m2 and m2.group(1) not in ends:
                    ends[m2.group(1)] = t
    out = collections.defaultdict(list)
    now = time.time()
    for sid, (t, integ, h) in starts.items():
        out[integ].append((t, ends.get(sid, now), sid, h))
    return out


def scan_overlaps(c, node):
    """(scans seen, [(integration, scan a, scan b)] that ran at once),
    from the scanner hosts' logs and, to the second, the scans rows of
    node (started_at of one before finished_at of the other)."""
    bad = []
    ivs = scan_intervals(c)
    for integ, xs in ivs.items():
        xs.sort()
        for (s1, e1, id1, h1), (s2, e2, id2, h2) in zip(xs, xs[1:]):
            if s2 < e1:
                bad.append((integ, "%s on %s" % (id1, h1),
                            "%s on %s (%.3f s before its end)" % (
                                id2, h2, e1 - s2)))
    rows = c.rows(node, SYNC + (
        "SELECT a.integration_id, a.id, b.id FROM vigil.scans a JOIN "
        "vigil.scans b ON a.integration_id = b.integration_id AND a.id < "
        "b.id AND a.started_at IS NOT NULL AND b.started_at IS NOT NULL "
        "AND a.started_at < COALESCE(b.finished_at, UTC_TIMESTAMP()) AND "
        "b.started_at < COALESCE(a.finished_at, UTC_TIMESTAMP()) AND "
        "a.status <> 'queued' AND b.status <> 'queued'"))
    for integ, a, b in rows:
        bad.append((integ, a, b + " (scans rows)"))
    return sum(len(xs) for xs in ivs.values()), bad


def verify(c, tenant, load, nodes, res):
    """The checks after a scenario, on each node in nodes."""
    acked = load.acked()
    res.acked += len(acked)
    mine = "tok-%s-" % load.name
    lost_any = set()
    for node in nodes:
        held = {t: n for t, n in node_tokens(c, node, tenant.id).items()
                if t.startswith(mine)}
        lost = sorted(acked - set(held))
        lost_any.update(lost)
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
        # Each write once in the audit log, and each alert once among the
        # events (alert.created): a transaction replayed after a failure
        # must not add a second. A finding.updated event does not carry
        # the notes: those are counted below, one per "updated" history
        # entry.
        aud = node_audit(c, node, tenant.id, load.name)
        ev = token_rows(c, node, (
            "SELECT payload FROM vigil.events WHERE tenant_id = '%s' AND "
            "type = 'alert.created' AND payload LIKE '%%tok-%s-%%'" % (
                tenant.id, load.name)), load.name)
        alerts = {t for t in held if re.match(r"tok-[^-]+-[ab]", t)}
        for what, cnt, want in (("audit entries", aud, set(held)),
                                ("events", ev, alerts)):
            twice = sorted(t for t, n in cnt.items() if n > 1)
            none = sorted(t for t in want if t not in cnt)
            res.rows["%s: writes with 2+ %s / none" % (node, what)] = \
                "%d / %d" % (len(twice), len(none))
            if twice:
                res.fail("%s: %d writes with more than one of their %s, "
                         "e.g. %s" % (node, len(twice), what, twice[:5]))
            if none:
                res.fail("%s: %d writes without their %s, e.g. %s" % (
                    node, len(none), what, none[:5]))
        hist, evs = (int(c.rows(node, SYNC + q % tenant.id)[0][0]) for q in (
            "SELECT COUNT(*) FROM vigil.finding_history WHERE tenant_id = "
            "'%s' AND action = 'updated'",
            "SELECT COUNT(*) FROM vigil.events WHERE tenant_id = '%s' AND "
            "type = 'finding.updated'"))
        res.rows["%s: finding updates / finding.updated events" % node] = \
            "%d / %d" % (hist, evs)
        if hist != evs:
            res.fail("%s: %d finding updates in the history, %d "
                     "finding.updated events" % (node, hist, evs))
        fdup, adup = node_dup_rows(c, node)
        res.rows["%s: findings / alerts stored twice" % node] = \
            "%d / %d" % (fdup, adup)
        if fdup or adup:
            res.fail("%s: %d findings and %d alerts stored twice" % (
                node, fdup, adup))
        scans = load.acked_scans()
        if scans:
            have = {r[0] for r in c.rows(node, SYNC + (
                "SELECT id FROM vigil.scans WHERE id IN (%s)" % ", ".join(
                    "'%s'" % x for x in sorted(scans))))}
            if scans - have:
                lost_any.update(scans - have)
                res.fail("%s lacks %d acknowledged scans: %s" % (
                    node, len(scans - have), sorted(scans - have)[:5]))
    res.acked += len(load.acked_scans())
    res.lost += len(lost_any)
    if load.scans:
        res.rows["scans queued (acked) / completed / failed"] = \
            "%d / %d / %d" % (len(load.acked_scans()),
                              load.scan_outcomes["completed"],
                              load.scan_outcomes["failed"])
    nscans, over = scan_overlaps(c, nodes[0])
    res.rows["scans so far / run by two scanners at once"] = \
        "%d / %d" % (nscans, len(over))
    if over:
        res.fail("integrations scanned by two scanners at once: %s" %
                 over[:5])
    bad = []
    for name in tenant_names(c):
        r = c.ctl.vigilctl("audit", "verify", "--tenant", name,
                           check=False, timeout=300)
        if r.returncode != 0:
            bad.append(name)
            res.fail("vigilctl audit verify --tenant %s: %s%s" % (
                name, r.stdout, r.stderr))
    res.rows["audit verify (every tenant)"] = "ok" if not bad else \
        "FAILED: " + ", ".join(bad)
    missing, repeated, events = delivered(c, tenant.id, nodes[0])
    # This load's events are those committed since the last look; its
    # duplicates, the repeated deliveries of those. A repeat of an earlier
    # event that came since (a delivery whose outcome could not be
    # recorded in an earlier scenario, sent again once its lease expired)
    # is shown apart.
    seen = EVENTS_SEEN.get(tenant.id, set())
    mine = events - seen
    dups = sum(n - 1 for e, n in repeated.items() if e in mine)
    before = DUPS_SEEN.get(tenant.id, {})
    late = sum(n - max(before.get(e, 1), 1) for e, n in repeated.items()
               if e in seen)
    EVENTS_SEEN[tenant.id] = events
    DUPS_SEEN[tenant.id] = repeated
    res.rows["events committed (this load / the tenant's)"] = \
        "%d / %d" % (len(mine), len(events))
    res.rows["events not delivered"] = len(missing)
    res.rows["duplicate deliveries (this load's events)"] = dups
    res.rows["late duplicates of earlier events"] = late
    res.events += len(mine)
    dups_new = dups
    res.events_lost = max(res.events_lost, len(missing))
    res.dups += dups_new
    if missing:
        res.fail("%d events never reached the receiver, e.g. %s; their "
                 "deliveries (status, attempts, last error): %s" % (
                     len(missing), missing[:5],
                     deliveries_of(c, nodes[0], missing[:200])))


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
    t0 = time.monotonic()
    r = t.add_estate(ESTATE)
    res.rows["the estate's first scan (s)"] = "%.1f: %s resources, %s " \
        "findings" % (time.monotonic() - t0, r.get("resources_scanned"),
                      r.get("findings_detected"))
    load = Load("smoke", t, fids, writers=2, alerters=1)
    load.start(8)
    for th in load.threads:
        th.join(120)
    answers(res, load, "", load.stop_at - 8, "the start")
    st = load.statuses()
    bad = {s: n for s, n in st.items() if not 200 <= s < 300}
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

def answers(res, load, label, t0, since, allow502=None):
    """The load's statuses and error window into res; a 5xx other than
    503 or a request without an answer fails it (503 is allowed).
    allow502(t0, t1): whether a 502 to the request sent and answered
    then is allowed (api-kill: nginx's answer for a request in flight on
    a pool that was killed)."""
    sfx = " (%s)" % label if label else ""
    st = load.statuses()
    res.rows["requests" + sfx] = sum(st.values())
    res.rows["statuses" + sfx] = dict(sorted(st.items()))
    w = load.error_window(t0)
    res.rows["clients saw errors%s (s)" % sfx] = "none" if w is None else \
        "%.1f (from %+.1f to %+.1f after %s)" % (w[2], w[0], w[1], since)
    res.windows.append(0.0 if w is None else w[2])
    ok502 = [1 for t_0, t_1, _, _, s in load.log
             if s == 502 and allow502 and allow502(t_0, t_1)]
    res.allowed502 += len(ok502)
    bad = sum(n for s, n in st.items() if s >= 500 and s != 503) - \
        len(ok502)
    res.bad5xx += bad
    res.noanswer += st.get(0, 0)
    if bad:
        res.fail("%s%d answers 5xx other than 503: %s" % (
            label + ": " if label else "", bad,
            {s: n for s, n in st.items() if s >= 500 and s != 503}))
    if st.get(0):
        res.fail("%s%d requests without an answer" % (
            label + ": " if label else "", st[0]))


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
    res.merge(sub, "failback")
    held = node_tokens(c, "db1", tenant.id)
    lost = sorted(load.acked() - set(held))
    res.rows["lost acked writes on db1 (before it went)"] = len(lost)
    res.lost += len(lost)
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
    # 502 only for what was in flight at the kill.
    answers(res, load, "", t_kill, "the kill",
            allow502=lambda t0, t1: t0 <= t_kill + 0.5 and t1 >= t_kill)
    res.rows["502 answers (in flight at the kill; allowed)"] = \
        res.allowed502
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
    on every node. All the while, the main tenant's load (its own
    estate's scans included) goes on and is checked as in every
    scenario."""
    res = Result("scan-kill")
    load = Load("scankill", tenant, fids, writers=2, alerters=1)
    load.start(600)
    t_load = time.monotonic()
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
    load.stop()
    answers(res, load, "main tenant", t_load, "the start")
    verify(c, tenant, load, list(cl.DB_NODES), res)
    return res


SLOW_MS = 100   # the receiver's answer time for spooler-kill's webhook


def receiver_since(c, t_mono):
    """Deliveries the receiver host got after t_mono (monotonic time,
    compared through the wall clock)."""
    since = time.time() - (time.monotonic() - t_mono)
    n = 0
    try:
        with open(c.logfile("receiver-deliveries.log")) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and float(parts[0]) > since:
                    n += 1
    except (OSError, ValueError):
        pass
    return n


def spooler_kill(c, tenant, fids):
    """SIGKILL a spooler host (spool1) while deliveries are in flight, under
    steady load. A tenant of its own whose webhook's receiver takes
    SLOW_MS to answer, so that each spooler always holds deliveries it has
    claimed (status delivering, under a lease) and not yet recorded. The
    other spooler must deliver everything, the killed one's claims once
    their lease (webhook_lease, 10 s here) has expired: every event of
    the tenant at the receiver with spool1 still down; duplicates (a
    delivery the receiver got from spool1 before the kill, whose outcome
    was never recorded, and got again) are counted, allowed: delivery is
    at least once. Then spool1 is started again."""
    res = Result("spooler-kill")
    t = Tenant(c, "spooling")
    t.webhook("slow/%d/%s" % (SLOW_MS, t.name))
    t.scan()
    t.estate = t.integration      # the load rescans the sample
    f2 = t.findings()
    load = Load("spoolkill", t, f2, writers=3, alerters=1, batchers=1)
    load.start(180)
    time.sleep(5)
    inflight = until(lambda: int(c.rows("db1", (
        "SELECT COUNT(*) FROM vigil.deliveries WHERE tenant_id = '%s' AND "
        "status = 'delivering'" % t.id))[0][0]), 30, 0.05)
    res.rows["deliveries in flight (delivering) at the kill"] = inflight
    if not inflight:
        res.fail("no delivery was in flight within 30 s: the spoolers "
                 "were not delivering")
    pid = c.pid("spool1")
    t_kill = time.monotonic()
    if pid is None:
        res.fail("spool1 was not running")
    else:
        os.killpg(pid, signal.SIGKILL)
        log("SIGKILL spool1 (pid %d) with %d deliveries in flight" % (
            pid, inflight or 0))
    # Load on for twice the lease: spool2 delivers the new events and,
    # once the leases expire, spool1's claims.
    time.sleep(25)
    load.stop()
    answers(res, load, "", t_kill, "the kill")
    res.rows["deliveries the receiver got after the kill"] = \
        receiver_since(c, t_kill)
    verify(c, t, load, list(cl.DB_NODES), res)
    res.rows["deliveries attempted more than once"] = c.rows(
        "db1", "SELECT COUNT(*) FROM vigil.deliveries WHERE tenant_id = "
        "'%s' AND attempts > 1" % t.id)[0][0]
    c.stop("spool1")
    c.spool_start("spool1")
    return res


def full_restart(c, tenant, fids):
    """The whole Galera cluster shut down under steady load, then started
    again from the most advanced node. db1 (the writer) is shut down
    first, HAProxy moves the writes to db2; then db3; then db2, alone and
    taking every write, is killed (SIGKILL: no clean position in its
    grastate.dat). For some seconds no node runs: every answer must be a
    503. Then cluster.restart_all compares the positions (grastate.dat's
    seqno, or mariadbd --wsrep-recover for the killed node), bootstraps
    the most advanced node (db2: bootstrapping db1, the usual first node,
    would throw away what db2 took alone), and starts the others, which
    rejoin it. Vigil must recover by itself (nothing restarted but the
    database), and every acknowledged write must be on every node."""
    res = Result("full-restart")
    load = Load("fullrestart", tenant, fids, writers=3, alerters=1)
    load.start(420)
    time.sleep(5)
    t_out = time.monotonic()
    for node in ("db1", "db3"):
        log("shutting down %s" % node)
        c.stop(node, timeout=120)
        time.sleep(4)
    pid = c.kill("db2")
    t_down = time.monotonic()
    c.stop("db2")
    log("SIGKILL db2 (pid %s), the last node: the cluster is down" % pid)
    time.sleep(10)
    t_up = time.monotonic()
    with load.lock:
        during = collections.Counter(
            s for t0, t1, _, _, s in load.log if t0 >= t_down + 1 and
            t1 <= t_up)
    res.rows["answers while no node ran"] = dict(sorted(during.items()))
    if not during:
        res.fail("no request was answered while no node ran")
    elif set(during) != {503}:
        res.fail("answers other than 503 while no node ran: %s" %
                 dict(during))
    try:
        pos, first = c.restart_all()
    except StackError as e:
        load.stop()
        res.fail("the cluster did not come back: %s" % str(e)[:800])
        return res
    res.rows["positions (seqno, from)"] = {n: "%d, %s" % p
                                           for n, p in pos.items()}
    res.rows["bootstrapped from"] = first
    res.rows["cluster Synced again (s)"] = round(time.monotonic() - t_up, 1)
    if pos[first][0] < max(p[0] for p in pos.values()):
        res.fail("bootstrapped from %s, not the most advanced node" % first)
    if pos["db2"][0] <= max(pos["db1"][0], pos["db3"][0]):
        res.notes.append("db2 took no write alone (seqno %d)" %
                         pos["db2"][0])

    # Vigil recovers by itself: the errors stop (for 5 s) within 120 s.
    def settled():
        w = load.error_window(t_out)
        return w is not None and time.monotonic() - (t_out + w[1]) > 5
    ok = until(settled, 120, 0.5)
    res.rows["clients served again (s after the restart)"] = round(
        t_out + load.error_window(t_out)[1] - t_up, 1) if ok else \
        "not within 120 s"
    if not ok:
        res.fail("clients still saw errors 120 s after the cluster came "
                 "back")
    load.stop()
    answers(res, load, "", t_out, "the first shutdown")
    verify(c, tenant, load, list(cl.DB_NODES), res)
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
    """Not the supported topology, but what it passes through for a moment
    around a failover: two nodes taking writes at once.

    1. A scan lease taken through db1 (the row vigil-scan inserts) while a
       scanner reaching db2 directly scans the same integration: the row
       is replicated, so the second scanner must refuse (exit 75, EX_TEMPFAIL), then
       scan once the lease is gone. (With GET_LOCK, local to its node, it
       scanned anyway.)
    2. api2 talks to db2 directly while api1 goes through HAProxy (db1);
       both act on the same findings: Galera aborts one of two conflicting
       commits (certification failure, error 1213), and Vigil replays the
       aborted transaction (db_tx_run): every answer is 200, or 503 when
       the replays ran out, never 500 and never none."""
    res = Result("two-writers")
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
        if scanned or r.returncode != 75:
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
        # The load queues scans too (token: the scan id) and follows each.
        for (sid,) in c.rows("restore", (
                "SELECT id FROM vigil.scans WHERE tenant_id = '%s'" %
                tenant.id)):
            held[sid] += 1
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


# --- the batch writer's counters on Galera -------------------------------------

# Each counter table the batch writer keeps (migration 0039) against a
# recount of the findings, every tenant at once: (what, kept, recount),
# both ordered alike. test_batchcounts (tests/integration) checks the same
# per tenant on one server.
BATCH_RECOUNTS = [
    ("finding_counts",
     "SELECT tenant_id, state, severity, category, subscription_id, "
     "environment, n FROM vigil.finding_counts WHERE n <> 0 "
     "ORDER BY 1, 2, 3, 4, 5, 6",
     "SELECT tenant_id, state, severity, category, subscription_id, "
     "environment, COUNT(*) FROM vigil.findings GROUP BY 1, 2, 3, 4, 5, 6 "
     "ORDER BY 1, 2, 3, 4, 5, 6"),
    ("finding_resources",
     "SELECT tenant_id, HEX(resource_hash), n FROM vigil.finding_resources "
     "ORDER BY 1, 2",
     "SELECT tenant_id, HEX(UNHEX(SHA2(resource_id, 256))), COUNT(*) FROM "
     "vigil.findings WHERE state = 'open' GROUP BY 1, 2 ORDER BY 1, 2"),
    ("finding_due_counts",
     "SELECT tenant_id, due_day, severity, n FROM vigil.finding_due_counts "
     "WHERE n <> 0 ORDER BY 1, 2, 3",
     "SELECT tenant_id, DATE(due_at), severity, COUNT(*) FROM vigil.findings "
     "WHERE due_at IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"),
    ("finding_rule_counts",
     "SELECT tenant_id, rule_id, state, n FROM vigil.finding_rule_counts "
     "WHERE n <> 0 ORDER BY 1, 2, 3",
     "SELECT tenant_id, rule_id, state, COUNT(*) FROM vigil.findings "
     "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"),
    ("finding_tenant_counts",
     "SELECT tenant_id, SUM(open_resources) FROM vigil.finding_tenant_counts"
     " GROUP BY 1 HAVING SUM(open_resources) <> 0 ORDER BY 1",
     "SELECT tenant_id, COUNT(DISTINCT resource_id) FROM vigil.findings "
     "WHERE state = 'open' GROUP BY 1 ORDER BY 1"),
    ("finding_tags",
     "SELECT g.tenant_id, g.tag_key, g.tag_value, f.id FROM "
     "vigil.finding_tags g JOIN vigil.findings f ON f.seq = g.finding_seq "
     "AND f.tenant_id = g.tenant_id ORDER BY 1, 2, 3, 4",
     "SELECT f.tenant_id, k.k, v.v, f.id FROM vigil.findings f "
     "JOIN JSON_TABLE(JSON_KEYS(f.tags), '$[*]' COLUMNS "
     "(n FOR ORDINALITY, k VARCHAR(256) PATH '$')) k "
     "JOIN JSON_TABLE(f.tags, '$.*' COLUMNS (n FOR ORDINALITY, "
     "v VARCHAR(256) PATH '$')) v USING (n) ORDER BY 1, 2, 3, 4"),
    ("finding_tags of no finding",
     "SELECT COUNT(*) FROM vigil.finding_tags g LEFT JOIN vigil.findings f "
     "ON f.seq = g.finding_seq WHERE f.seq IS NULL OR "
     "f.tenant_id <> g.tenant_id",
     "SELECT 0"),
    ("finding_daily",
     "SELECT tenant_id, day, SUM(resolved) FROM vigil.finding_daily "
     "WHERE resolved <> 0 GROUP BY 1, 2 ORDER BY 1, 2",
     "SELECT tenant_id, DATE(at), COUNT(*) FROM vigil.finding_history "
     "WHERE action = 'resolved' GROUP BY 1, 2 ORDER BY 1, 2"),
]


def batch_recount(c, node, tamper=None):
    """The counter tables that differ from a recount on node (read with
    wsrep_sync_wait): {table: (rows kept, rows recounted, first
    difference)}, and how many rows were compared. tamper: a statement
    run before reading the kept rows in a transaction rolled back after
    (the check's own check: a counter moved must show)."""
    bad, rows = {}, 0
    for name, kept_sql, count_sql in BATCH_RECOUNTS:
        if tamper:
            kept = c.rows(node, SYNC + "START TRANSACTION; " + tamper +
                          "; " + kept_sql + "; ROLLBACK")
        else:
            kept = c.rows(node, SYNC + kept_sql)
        count = c.rows(node, SYNC + count_sql)
        rows += len(count)
        if kept != count:
            diff = next((i for i, (a, b) in enumerate(zip(kept, count))
                         if a != b), min(len(kept), len(count)))
            bad[name] = (len(kept), len(count),
                         (kept[diff:diff + 1], count[diff:diff + 1]))
    return bad, rows


def write_resources(d, tpls, first, n, changed=False):
    """Inventory pages of resources first..first+n-1 cloned from the
    samples (bench/scan.py's clone): two estates of one tenant with
    resources of their own. changed: every 10th gone (its findings
    resolved), every 10th from the 5th with another environment tag
    (findings moved to another counter key)."""
    import scan as benchscan
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    page = []
    for i in range(first, first + n):
        if changed and i % 10 == 0:
            continue
        env = "CHANGED" if changed and i % 10 == 5 else None
        page.append(benchscan.clone(tpls[i % len(tpls)], i, env))
        if len(page) == benchscan.PAGE:
            benchscan.flush(d, i, page)
            page = []
    if page:
        benchscan.flush(d, first + n, page)


def batch_counts(c, tenant, fids):
    """The batch writer's counters (migration 0039: the session variable
    @vigil_batch, MEMORY temporary tables, findings_batch_begin/_end) on
    Galera, with two nodes taking batches of one tenant at once: two
    estates scanned at the same time, one through HAProxy (db1) and one
    straight to db2, first scans and then rescans that resolve and move
    findings, crossed over; an import straight to db2 during a rescan
    through db1, and a full reimport through HAProxy. Batches of two
    nodes move the same counter rows, so Galera aborts one of two
    conflicting commits and the writer replays its batch (db_tx_run) on a
    fresh frame. Then on every node each counter table must equal a
    recount of the findings, for every tenant (the smoke tenant's, which
    the earlier load's API actions counted through the triggers,
    included)."""
    res = Result("batch-counts")
    t = Tenant(c, "batchcounts")
    sys.path.insert(0, os.path.join(c.srcdir, "bench"))
    import scan as benchscan
    tpls = benchscan.templates(c.srcdir)
    n = 300
    invs, integs = [], []
    for i, name in enumerate(("a", "b")):
        inv = os.path.join(c.root, "batch-estate-" + name)
        os.makedirs(inv, exist_ok=True)
        write_resources(inv, tpls, i * n, n)
        invs.append(inv)
        integs.append(c.ctl.vigilctl(
            "integration", "add-inventory", "--tenant", t.name, "--name",
            "batch estate " + name, "--path", inv).stdout.strip())
    # Through HAProxy (the writer, db1) from scan1; straight to db2 from
    # scan2.
    via = {"db1": (c.conf("scan1"), "scan1"),
           "db2": (c.write_conf(os.path.join(c.hostdir("scan2"),
                                             "vigil-db2.conf"),
                                db_host=cl.addr("db2")), "scan2")}

    def start(node, *args, binary=None):
        conf, host = via[node]
        return subprocess.Popen(
            ["ip", "netns", "exec", cl.ns(host),
             binary or c.ctl.vigil_scan_bin, "-c", conf, *args],
            env=c.ctl.env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def scan(node, integ):
        return start(node, "--once", "--integration", integ)

    said = []

    def finish(label, procs):
        for what, p in procs:
            try:
                out, err = p.communicate(timeout=600)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            said.append(out + err)
            res.rows["%s: %s" % (label, what)] = "exit %d" % p.returncode
            if p.returncode != 0:
                res.fail("%s: %s exited %d: %s" % (
                    label, what, p.returncode, (out + err).strip()[-1500:]))

    # The scanner hosts' --due loops scan an integration never scanned at
    # once (through HAProxy): the first scans are theirs; after them the
    # integrations are not due for an hour, and the rescans below are
    # this scenario's alone.
    t0 = time.monotonic()
    ids = ", ".join("'%s'" % i for i in integs)
    done = until(lambda: int(c.rows("db1", SYNC + (
        "SELECT COUNT(DISTINCT integration_id) FROM vigil.scans WHERE "
        "integration_id IN (%s) AND status = 'completed'" % ids))[0][0]) ==
        2, 300, 1)
    res.rows["first scans, by the scanner hosts (s)"] = round(
        time.monotonic() - t0, 1)
    check(done, "the scanner hosts did not scan the two estates within "
          "300 s")
    for i, inv in enumerate(invs):
        write_resources(inv, tpls, i * n, n, changed=True)
    finish("rescans at once", [
        ("estate a through db2", scan("db2", integs[0])),
        ("estate b through db1", scan("db1", integs[1]))])

    # Imports, the other batch writer: one straight to db2 while estate a
    # is rescanned back to its first inventory (findings reopened, moved
    # back) through db1; then a full reimport without a fifth of them
    # (resolved) through HAProxy while estate b goes back through db2.
    entries = [{
        "rule_id": "imp-%d" % (i % 7), "provider": "azure",
        "resource_id": "/subscriptions/sub-%d/resourceGroups/rg/providers/"
                       "Microsoft.Network/networkSecurityGroups/imp-%d" % (
                           i % 3, i),
        "title": "Imported %d" % i,
        "severity": ("critical", "high", "medium", "low")[i % 4],
        "category": "network", "description": "Imported.",
        "recommendation": "Fix it.", "subscription_id": "sub-%d" % (i % 3),
        "environment": ("PROD", "DEV")[i % 2], "layer": "infrastructure",
        "framework": "CIS Azure 6.1", "evidence": {"n": i},
        "tags": {"team": "t%d" % (i % 3)}} for i in range(600)]
    paths = []
    for k, es in enumerate((entries, [e for i, e in enumerate(entries)
                                      if i % 5])):
        path = os.path.join(c.root, "batch-import-%d.json" % k)
        with open(path, "w") as f:
            json.dump({"findings": es}, f)
        os.chmod(path, 0o644)
        paths.append(path)
    for i, inv in enumerate(invs):
        write_resources(inv, tpls, i * n, n)
    finish("an import and a rescan at once", [
        ("import of 600 through db2", start(
            "db2", "findings", "import", "--tenant", t.name, paths[0],
            binary=c.ctl.vigilctl_bin)),
        ("estate a through db1", scan("db1", integs[0]))])
    finish("a full reimport and a rescan at once", [
        ("reimport of 480 through db1", start(
            "db1", "findings", "import", "--tenant", t.name, paths[1],
            binary=c.ctl.vigilctl_bin)),
        ("estate b through db2", scan("db2", integs[1]))])
    res.rows["scans and imports (s)"] = round(time.monotonic() - t0, 1)

    counts = {}
    for node in cl.DB_NODES:
        counts[node] = c.rows(node, SYNC + (
            "SELECT state, COUNT(*) FROM vigil.findings WHERE tenant_id = "
            "'%s' GROUP BY 1 ORDER BY 1" % t.id))
    res.rows["findings by state per node"] = {
        k: " ".join("%s=%s" % tuple(r) for r in v) for k, v in
        counts.items()}
    if len({str(v) for v in counts.values()}) != 1:
        res.fail("the nodes disagree on the findings: %s" % counts)
    # Certification failures (1213) the writers met and replayed: how
    # often the frame was rebuilt on a new attempt (none is no failure).
    res.rows["certification failures logged (1213)"] = sum(
        s.count("Deadlock found") for s in said)
    for node in cl.DB_NODES:
        bad, rows = batch_recount(c, node)
        res.rows["counter tables unlike a recount on " + node] = \
            "%s (%d rows compared)" % (", ".join(sorted(bad)) or "none",
                                       rows)
        for name, (nk, nc, first) in sorted(bad.items()):
            res.fail("%s on %s: %d rows kept, %d recounted; first "
                     "difference %s" % (name, node, nk, nc, first))
    # The check can fail: one counter moved by one, and one tag row gone,
    # in a transaction rolled back, are seen.
    bad, _ = batch_recount(c, "db3", tamper=(
        "UPDATE vigil.finding_counts SET n = n + 1 WHERE tenant_id = '%s' "
        "AND n > 0 LIMIT 1; DELETE FROM vigil.finding_tags WHERE "
        "tenant_id = '%s' LIMIT 1" % (t.id, t.id)))
    res.rows["the check, with a counter and a tag row tampered with"] = \
        ", ".join(sorted(bad)) or "none"
    if sorted(bad) != ["finding_counts", "finding_tags"]:
        res.fail("a counter moved by one and a tag row deleted were not "
                 "both seen (only %s)" % sorted(bad))
    return res


def haproxy_ups(c):
    """How many times HAProxy has logged db1 coming (back) up."""
    try:
        with open(c.logfile("haproxy.log"), errors="replace") as f:
            return f.read().count("galera/db1 is UP")
    except OSError:
        return 0


SCENARIOS = {"writer-kill": writer_kill, "partition": partition,
             "api-kill": api_kill, "scan-kill": scan_kill,
             "spooler-kill": spooler_kill, "full-restart": full_restart,
             "backup-restore": backup_restore,
             "migrate-race": migrate_race,
             "read-your-writes": read_your_writes,
             "two-writers": two_writers,
             "batch-counts": batch_counts}
# What CI runs (cluster.py test --ci): the smoke test and these, within
# CI's budget of about 15 minutes with the build; the rest is behind
# "./dev cluster test" (every scenario). batch-counts (about 10 s) goes
# last: its recount then also covers the batches the kills cut short.
CI_SCENARIOS = ["writer-kill", "scan-kill", "spooler-kill", "full-restart",
                "batch-counts"]
# The scenario of the other topology (cluster.py test --topology replica),
# run instead of the smoke test and the Galera scenarios.
REPLICA_SCENARIOS = {"replica": replica_converges}
# Probes of what is not correct yet: run only when named (--scenario).
PROBES = {}


def table(results):
    """Every scenario's rows, then the summary."""
    print()
    for r in results:
        print("== %s: %s (%.0f s)" % (r.name, "PASS" if r.ok() else "FAIL",
                                      r.seconds))
        for k, v in r.rows.items():
            print("   %-52s %s" % (k, v))
        for f in r.failures:
            print("   FAILURE: %s" % f)
        for n in r.notes:
            print("   note: %s" % n)
    print(flush=True)
    summary(results)


SUMMARY_HEAD = ("scenario", "result", "acked", "lost", "events",
                "ev.lost", "dup.deliv", "errors (s)", "5xx!=503",
                "no answer")


def summary(results):
    """One line per scenario: acknowledged writes (findings actions,
    alerts single and batched, scans queued) and how many of them some
    node lacked (must be 0); events the tenant committed meanwhile and
    how many of the tenant's never reached the receiver (0); repeated deliveries the receiver saw
    (allowed: at least once); how long clients saw errors, first to last
    non-2xx answer, per load (a scenario with a failback has two); 5xx
    answers other than 503 (0; api-kill's 502s to requests in flight at
    the kill are shown apart, "+N in flight") and requests without an
    answer (0)."""
    lines = [SUMMARY_HEAD]
    for r in results:
        bad = str(r.bad5xx) + (" +%d in flight" % r.allowed502
                               if r.allowed502 else "")
        lines.append((r.name, "PASS" if r.ok() else "FAIL", str(r.acked),
                      str(r.lost), str(r.events), str(r.events_lost),
                      str(r.dups),
                      "+".join("%.1f" % w for w in r.windows) or "-",
                      bad, str(r.noanswer)))
    width = [max(len(x[i]) for x in lines) for i in range(len(lines[0]))]
    for i, x in enumerate(lines):
        print("  ".join(v.ljust(width[j]) for j, v in enumerate(x)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in width))
    print(flush=True)


class Timeout(Exception):
    pass


def healthy(c):
    """None when every process of the cluster runs and every node is
    Synced, else what is wrong (a failed scenario may leave it so: the
    next ones are then not run)."""
    down = [n for n, pid in c.status().items() if pid is None]
    if down:
        return "not running: " + ", ".join(sorted(down))
    states = {n: c.wsrep(n) for n in cl.DB_NODES}
    if any(v != "Synced" for v in states.values()):
        return "Galera: %s" % states
    return None


def run(a):
    """cluster.py test: up, smoke, the scenarios, the table, down. The
    whole run is bounded by a.timeout seconds (SIGALRM: what runs is cut
    short, the table printed, everything stopped)."""
    root = a.root
    made = False
    if not root:
        root = tempfile.mkdtemp(prefix="vigil-cluster-")
        made = True
    os.makedirs(root, exist_ok=True)
    c = cl.Cluster(root, a.srcdir, a.builddir, lifetime=3600,
                   topology=getattr(a, "topology", None) or "galera")

    def on_term(signum, frame):
        raise KeyboardInterrupt()

    def on_alarm(signum, frame):
        raise Timeout("the cluster test ran out of its %d s" % a.timeout)
    # Also SIGINT: a shell starting "test &" leaves it ignored, and Python
    # then raises nothing at Ctrl-C (or kill -INT).
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_term)
    signal.signal(signal.SIGALRM, on_alarm)
    if a.timeout:
        signal.alarm(a.timeout)
    names = a.scenario or (list(CI_SCENARIOS) if a.ci else list(SCENARIOS))
    log("scenarios: smoke, %s (at most %d s; logs in %s/log)" % (
        ", ".join(names), a.timeout, root))
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
        t1 = time.monotonic()
        res, tenant, fids = smoke(c)
        res.seconds = time.monotonic() - t1
        results.append(res)
        if res.ok():
            for name in names:
                log("scenario " + name)
                fn = SCENARIOS.get(name) or PROBES[name]
                t1 = time.monotonic()
                try:
                    res = fn(c, tenant, fids)
                except (Fail, StackError) as e:
                    res = Result(name)
                    res.fail("stopped: %s" % str(e)[:2000])
                except Timeout as e:
                    res = Result(name)
                    res.fail("cut short: %s" % e)
                    res.seconds = time.monotonic() - t1
                    results.append(res)
                    raise
                res.seconds = time.monotonic() - t1
                results.append(res)
                log("scenario %s: %s in %.0f s" % (
                    name, "passed" if res.ok() else "FAILED", res.seconds))
                if not res.ok():
                    why = healthy(c)
                    if why:
                        log("the cluster is not whole after %s (%s): the "
                            "other scenarios are not run" % (name, why))
                        break
        rc = 0 if all(r.ok() for r in results) and \
            len(results) == len(names) + 1 else 1
    except Done:
        rc = 0 if all(r.ok() for r in results) else 1
    except (Fail, StackError, Timeout) as e:
        print("cluster test: %s" % e, file=sys.stderr)
    except KeyboardInterrupt:
        print("cluster test: interrupted", file=sys.stderr)
        rc = 130
    finally:
        signal.alarm(0)
        # A second Ctrl-C must not cut "down" short.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        table(results)
        log("down (the test took %.0fs)" % (time.monotonic() - t0))
        c.down()
        if rc != 0 or a.keep:
            print("cluster test: %s; logs: %s/log" % (
                "FAILED" if rc else "passed", root), file=sys.stderr)
        elif made:
            shutil.rmtree(root, ignore_errors=True)
    return rc
