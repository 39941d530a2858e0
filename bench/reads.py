#!/usr/bin/env python3
"""bench/reads.py: "make bench", the reads that must not grow with the data.

Loads BENCH_READS_ROWS (1,000,000) findings, as many events and as many
audit entries into one tenant, plus scans, webhooks, a webhook's
deliveries and integrations, straight through SQL (the Sequence engine
makes the rows) but through the triggers that keep the counters, so that
the load proves them too; then checks the kept figures against a recount,
and measures each read with wrk at BENCH_CONNECTIONS (16) connections:
BENCH_READS_RUNS (5) runs of BENCH_READS_DURATION (3) seconds each,
reporting the median p99 with its spread (lowest-highest of the runs), the
median throughput, and the median CPU time per request of mariadbd and
the pool's workers together (the work a request costs, which the
machine's other load changes least). Last, the EXPLAIN of each statement
the reads run, as src/db/db.c has them, with the tenant's values. Target:
p99 < 50 ms.

Needs wrk (apt-get install wrk). Environment: VIGIL_BUILDDIR,
VIGIL_SRCDIR, BENCH_READS_ROWS, BENCH_READS_RUNS, BENCH_READS_DURATION,
BENCH_CONNECTIONS, BENCH_WORKERS (4), BENCH_READS_MATCH (a regular
expression: only the reads whose path it matches are measured and
explained, e.g. "resource_|tag=" to measure again a few reads on a quiet
machine; the load and the recount always run). Use a release build.
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))

import stack  # noqa: E402
import wrkrun  # noqa: E402

ROWS = int(os.environ.get("BENCH_READS_ROWS", "1000000"))
RUNS = int(os.environ.get("BENCH_READS_RUNS", "5"))
DURATION = int(os.environ.get("BENCH_READS_DURATION", "3"))
MATCH = re.compile(os.environ.get("BENCH_READS_MATCH", ""))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
CHUNK = 50000
DELIVERIES = min(ROWS, 100000)
TARGET_MS = 50.0
WEBHOOK = "wh_0" + "1".rjust(25, "0")

EVENT_TYPES = ("finding.detected", "finding.updated", "finding.resolved",
               "finding.accepted", "finding.reopened", "finding.snoozed",
               "finding.dismissed", "scan.completed")
AUDIT_ACTIONS = ("accept_risk", "resolve", "snooze", "dismiss",
                 "webhook.create", "scan.create")


def sql(st, text):
    st.sql(text, database="vigil", timeout=None)


def chunks(n):
    a = 1
    while a <= n:
        b = min(n, a + CHUNK - 1)
        yield a, b
        a = b + 1


def elt(values, expr):
    return "ELT(1 + %s %% %d, %s)" % (expr, len(values), ", ".join(
        "'%s'" % v for v in values))


def load(st, tid, n):
    """The tenant's rows, CHUNK at a time (one transaction each)."""
    for a, b in chunks(n):
        # A resource holds three findings; 20 subscriptions; 60 % open.
        sql(st, """INSERT INTO findings (tenant_id, id, rule_id, provider,
            subscription_id, environment, resource_id, title, severity,
            category, layer, framework, description, recommendation,
            evidence, fingerprint, state, detected_at, updated_at,
            last_seen_at, resource_name, resource_type, resource_group,
            region, account, tags, source)
          SELECT '%s', CONCAT('azure-reads-', LPAD(HEX(seq), 8, '0')),
            CONCAT('reads-rule-', seq %% 40), 'azure',
            CONCAT('sub-', seq %% 20), %s,
            CONCAT('/subscriptions/s/resourceGroups/rg/providers/x/r',
                   seq DIV 3),
            CONCAT('Benchmark finding ', seq), %s, %s,
            'infrastructure', 'NIST 800-53 SC-7, CIS Azure 6.1',
            'NSG rule allows inbound from 0.0.0.0/0 to port 22.',
            'Restrict source to corporate IPs or use Azure Bastion.',
            '{"name":"allow-ssh","properties":{"access":"Allow"}}',
            SHA2(seq, 256), %s,
            NOW() - INTERVAL seq SECOND, NOW() - INTERVAL seq SECOND, NOW(),
            CONCAT('r', seq DIV 3), %s,
            CONCAT('rg-', (seq DIV 3) %% 100), %s, CONCAT('sub-', seq %% 20),
            IF((seq DIV 3) %% 10 = 0, CONCAT('{"env":"', %s,
               '","owner":"team-', (seq DIV 3) %% 50, '"}'), '{}'),
            CONCAT('int_0', LPAD(1 + seq %% 5, 25, '0'))
          FROM seq_%d_to_%d""" % (
            tid, elt(("PROD", "STAGING", "DEV"), "seq"),
            elt(("critical", "high", "medium", "low", "info"), "seq"),
            elt(("network", "identity", "storage", "keyvault", "compute",
                 "database", "compliance"), "seq"),
            elt(("open",) * 6 + ("accepted", "resolved", "snoozed",
                                 "dismissed"), "(seq DIV 7)"),
            # Resource metadata (0026): 100 resource groups, a tenth of
            # the resources tagged.
            elt(("Microsoft.Network/networkSecurityGroups",
                 "Microsoft.Storage/storageAccounts",
                 "Microsoft.KeyVault/vaults", "Microsoft.Sql/servers"),
                "(seq DIV 3)"),
            elt(("westeurope", "eastus", "uksouth"), "(seq DIV 3)"),
            elt(("prod", "dev"), "(seq DIV 30)"), a, b))
        sql(st, """INSERT INTO events (id, tenant_id, type, created_at,
            payload, dispatched)
          SELECT CONCAT('evt_0', LPAD(seq, 25, '0')), '%s', t, ts,
            CONCAT('{"event_id":"evt_0', LPAD(seq, 25, '0'),
              '","event_type":"', t, '","tenant_id":"%s","timestamp":"',
              DATE_FORMAT(ts, '%%Y-%%m-%%dT%%H:%%i:%%sZ'),
              '","data":{"finding":{"id":"azure-reads-',
              LPAD(HEX(seq), 8, '0'),
              '","severity":"high","state":"open"}}}'), 1
          FROM (SELECT seq, %s AS t, NOW() - INTERVAL (%d - seq) SECOND
                AS ts FROM seq_%d_to_%d) s""" % (
            tid, tid, elt(EVENT_TYPES, "seq"), n, a, b))
        sql(st, """INSERT INTO audit_log (id, tenant_id, seq, at, actor,
            action, object, detail, prev_hash, hash)
          SELECT CONCAT('aud_0', LPAD(seq, 25, '0')), '%s',
            1000 + seq, NOW() - INTERVAL (%d - seq) SECOND,
            'bench@example.com', %s,
            CONCAT('azure-reads-', LPAD(HEX(seq), 8, '0')),
            '{"justification":"benchmark"}', SHA2(seq - 1, 256),
            SHA2(seq, 256)
          FROM seq_%d_to_%d""" % (tid, n, elt(AUDIT_ACTIONS, "seq"), a, b))
    # The other lists: 5 integrations, 1,000 scans, 10 webhooks, the
    # first with DELIVERIES deliveries.
    sql(st, """INSERT INTO integrations (id, tenant_id, type, name, config,
        created_at) SELECT CONCAT('int_0', LPAD(seq, 25, '0')), '%s', 'inventory',
        CONCAT('inventory ', seq), '{"path":"/nonexistent"}', NOW()
        FROM seq_1_to_5""" % tid)
    sql(st, """INSERT INTO scans (id, tenant_id, integration_id, status,
        trigger_type, created_at, started_at, finished_at, counts)
        SELECT CONCAT('scn_0', LPAD(seq, 25, '0')), '%s',
        CONCAT('int_0', LPAD(1 + seq %% 5, 25, '0')), 'completed', 'schedule',
        NOW() - INTERVAL seq HOUR, NOW() - INTERVAL seq HOUR,
        NOW() - INTERVAL seq HOUR,
        '{"critical":1,"high":0,"medium":0,"low":0,"info":0}'
        FROM seq_1_to_1000""" % tid)
    sql(st, """INSERT INTO webhooks (id, tenant_id, url, events, secret,
        created_at) SELECT CONCAT('wh_0', LPAD(seq, 25, '0')), '%s',
        CONCAT('https://93.184.215.14/hook', seq), '["*"]', 'x', NOW()
        FROM seq_1_to_10""" % tid)
    for a, b in chunks(DELIVERIES):
        sql(st, """INSERT INTO deliveries (id, tenant_id, webhook_id,
            event_id, event_seq, status, attempts, next_attempt_at,
            created_at, updated_at)
          SELECT CONCAT('dlv_0', LPAD(seq, 25, '0')), '%s', '%s',
            CONCAT('evt_0', LPAD(seq, 25, '0')), seq, 'succeeded', 1,
            NOW(), NOW(), NOW() FROM seq_%d_to_%d""" % (tid, WEBHOOK, a, b))
    # Three of the oldest findings of a storage account and of env:dev
    # muted (through the triggers): a rare state whose matches are at the
    # far end of their value's findings, the walk's worst case.
    sql(st, "UPDATE findings SET state = 'muted' WHERE tenant_id = '%s' "
        "AND id IN (%s)" % (tid, ", ".join(
            "CONCAT('azure-reads-', LPAD(HEX(%d), 8, '0'))" % i
            for i in (3, 4, 5, 30, 31, 32))))
    for t in ("findings", "events", "audit_log", "scans", "deliveries",
              "finding_counts", "list_counts", "finding_meta_counts",
              "finding_tag_counts", "finding_tags"):
        sql(st, "ANALYZE TABLE " + t)


def recount(st, tid):
    """Each kept figure against a recount: [(what, kept, counted)]."""
    t = "'%s'" % tid
    pairs = [
        ("open resources",
         "SELECT open_resources FROM finding_tenant_counts WHERE "
         "tenant_id = %s" % t,
         "SELECT COUNT(DISTINCT resource_id) FROM findings WHERE "
         "tenant_id = %s AND state = 'open'" % t),
        ("open findings",
         "SELECT SUM(n) FROM finding_counts WHERE tenant_id = %s AND "
         "state = 'open'" % t,
         "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND "
         "state = 'open'" % t),
        ("events", "SELECT SUM(n) FROM list_counts WHERE tenant_id = %s "
         "AND list = 'events'" % t,
         "SELECT COUNT(*) FROM events WHERE tenant_id = %s" % t),
        ("audit entries", "SELECT SUM(n) FROM list_counts WHERE "
         "tenant_id = %s AND list = 'audit'" % t,
         "SELECT COUNT(*) FROM audit_log WHERE tenant_id = %s" % t),
        ("storage findings",
         "SELECT SUM(n) FROM finding_meta_counts WHERE tenant_id = %s AND "
         "dim = 1 AND value = 'Microsoft.Storage/storageAccounts'" % t,
         "SELECT COUNT(*) FROM findings WHERE tenant_id = %s AND "
         "resource_type = 'Microsoft.Storage/storageAccounts'" % t),
        ("sources", "SELECT SUM(n) FROM finding_meta_counts WHERE "
         "tenant_id = %s AND dim = 4" % t,
         "SELECT COUNT(*) FROM findings WHERE tenant_id = %s" % t),
        ("env:dev dismissed",
         "SELECT COALESCE(SUM(n), 0) FROM finding_tag_counts WHERE "
         "tenant_id = %s AND "
         "tag_key = 'env' AND tag_value = 'dev' AND state = 'dismissed'"
         % t,
         "SELECT COUNT(*) FROM finding_tags g JOIN findings f ON f.seq = "
         "g.finding_seq WHERE g.tenant_id = %s AND g.tag_key = 'env' AND "
         "g.tag_value = 'dev' AND f.state = 'dismissed'" % t),
        ("deliveries", "SELECT SUM(n) FROM list_counts WHERE "
         "tenant_id = %s AND list = 'deliveries'" % t,
         "SELECT COUNT(*) FROM deliveries WHERE tenant_id = %s" % t),
    ]
    return [(what, st.query(a)[0][0], st.query(b)[0][0])
            for what, a, b in pairs]


def wrk(url, key, pids):
    """(req/s, p99 ms, non-2xx, CPU ms per request of pids): the CPU per
    request is what the machine's other load does not change much."""
    r = wrkrun.run(url, key, CONNECTIONS, DURATION, {"server": pids})
    cpu = 1000.0 * r.ticks["server"] / os.sysconf("SC_CLK_TCK") / max(r.n, 1)
    return r.rps, r.p99, r.non2xx, cpu


def explains(tid):
    """(read, [statements]) with the tenant's values, as in db.c."""
    t = "'%s'" % tid
    top = "9223372036854775807"
    fl = ("SELECT seq, id, title, evidence FROM findings JOIN (SELECT seq "
          "FROM findings FORCE INDEX (%s) WHERE "
          "tenant_id = " + t + " AND state IN (%s) AND severity IN (%s) "
          "AND (%s IS NULL OR category = %s) "
          "AND (%s IS NULL OR subscription_id = %s) "
          "AND (%s IS NULL OR environment = %s) "
          "AND (NULL IS NULL OR updated_at > NULL) "
          "AND seq < " + top + " ORDER BY seq DESC LIMIT 101) page "
          "USING (seq) ORDER BY seq DESC")
    fc = ("SELECT COALESCE(SUM(n), 0) FROM finding_counts WHERE "
          "tenant_id = " + t + " AND state IN (%s) AND severity IN (%s) "
          "AND (%s IS NULL OR category = %s) "
          "AND (%s IS NULL OR subscription_id = %s) "
          "AND (%s IS NULL OR environment = %s)")
    sev = "'critical','high','medium','low','info'"
    STATES = ("open", "accepted", "resolved", "snoozed", "dismissed",
              "muted")
    st_all = "'open','accepted','resolved','snoozed','dismissed','muted'"

    def ranges(index, pairs):
        """SQL_FINDING_LIST_STATES and _PAIRS_*: a range per state (every
        severity) or per (state, severity), merged; the count as
        fpair's."""
        arms = " UNION ALL ".join(
            "(SELECT seq FROM findings FORCE INDEX (%s) WHERE tenant_id = "
            "%s AND state = '%s' AND severity IN (%s) AND seq < %s "
            "ORDER BY seq DESC LIMIT 101)" % (
                index, t, st_, v if "'" in v else "'%s'" % v, top)
            for st_, v in pairs)
        states = ", ".join(sorted({"'%s'" % p[0] for p in pairs}))
        sevs = ", ".join(sorted({p[1] if "'" in p[1] else "'%s'" % p[1]
                                 for p in pairs}))
        return [fc % (states, sevs, "NULL", "NULL", "NULL", "NULL", "NULL",
                      "NULL"),
                "SELECT seq, id, title, evidence FROM findings JOIN (SELECT "
                "seq FROM (" + arms + ") u ORDER BY seq DESC LIMIT 101) page "
                "USING (seq) ORDER BY seq DESC"]

    def fpair(index, states, sevs, cat="NULL", sub="NULL", env="NULL"):
        args = (states, sevs, cat, cat, sub, sub, env, env)
        return [fc % args, fl % ((index,) + args)]
    # The metadata filters' statements (0026), as db.c has them.
    mf = ("AND state IN (%s) AND severity IN (" + sev + ") "
          "AND (NULL IS NULL OR category = NULL) "
          "AND (NULL IS NULL OR subscription_id = NULL) "
          "AND (NULL IS NULL OR environment = NULL) "
          "AND (NULL IS NULL OR updated_at > NULL) "
          "AND (%s IS NULL OR resource_type = %s) "
          "AND (%s IS NULL OR resource_group = %s) "
          "AND (NULL IS NULL OR region = NULL) "
          "AND (NULL IS NULL OR source = NULL) ")
    tagc = "AND t.tag_key = 'env' AND t.tag_value = 'dev' "
    tagfrom = ("finding_tags t STRAIGHT_JOIN findings f ON f.seq = "
               "t.finding_seq WHERE t.tenant_id = " + t +
               " AND f.tenant_id = t.tenant_id ")

    def mpair(index, states, rtype="NULL", rgroup="NULL"):
        cond = mf % (states, rtype, rtype, rgroup, rgroup)
        if index is not None or states.count(",") == 0:
            return mkept(index, states, rtype, rgroup, cond)
        if index is None:
            page = ("SELECT f.seq FROM " + tagfrom + cond + tagc +
                    "AND t.finding_seq < " + top + " ORDER BY "
                    "t.finding_seq DESC LIMIT 101")
            cnt = "SELECT 1 FROM " + tagfrom + cond + tagc
        else:
            # One filter beside state and severity: the _ONLY statements.
            col, val = ("resource_type", rtype) if rtype != "NULL" else \
                ("resource_group", rgroup)
            cond = ("AND %s = %s AND state IN (%s) AND severity IN (%s) "
                    % (col, val, states, sev))
            page = ("SELECT seq FROM findings FORCE INDEX (" + index +
                    ") WHERE tenant_id = " + t + " " + cond + "AND seq < " +
                    top + " ORDER BY seq DESC LIMIT 101")
            cnt = ("SELECT 1 FROM findings FORCE INDEX (" + index +
                   ") WHERE tenant_id = " + t + " " + cond)
        if index is None:
            # A tag's count: the newest 1,000 entries of finding_tags and
            # their findings (SQL_FINDING_COUNT_TAG, LIST_TAG_CAP).
            count = ("SELECT COUNT(f.seq), COUNT(*) FROM (SELECT "
                     "t.finding_seq FROM finding_tags t WHERE t.tenant_id = "
                     + t + " " + tagc + "ORDER BY t.finding_seq DESC "
                     "LIMIT 1000) t LEFT JOIN findings f ON f.seq = "
                     "t.finding_seq AND f.tenant_id = " + t + " " + cond)
        else:
            count = "SELECT COUNT(*), COUNT(*) FROM (" + cnt + "LIMIT 10000) s"
        return [count,
                "SELECT seq, id, title FROM findings JOIN (" + page +
                ") page USING (seq) ORDER BY seq DESC"]
    def mkept(index, states, rtype, rgroup, cond):
        """One metadata filter or a tag beside state and severity (0055,
        0056): the kept total, then one range per state newest first."""
        sts = [x.strip() for x in states.split(",")]
        if index is None:
            count = ("SELECT COALESCE(SUM(n), 0) FROM finding_tag_counts "
                     "WHERE tenant_id = " + t + " AND tag_key = 'env' AND "
                     "tag_value = 'dev' AND state IN (" + states + ") AND "
                     "severity IN (" + sev + ")")
            arms = ["(SELECT finding_seq AS seq FROM finding_tags FORCE "
                    "INDEX (finding_tags_state) WHERE tenant_id = %s AND "
                    "tag_key = 'env' AND tag_value = 'dev' AND finding_state "
                    "= %s AND finding_severity IN (%s) AND finding_seq < %s "
                    "ORDER BY "
                    "finding_seq DESC LIMIT 101)" % (t, x, sev, top)
                    for x in sts]
            page = ("SELECT seq FROM (" + " UNION ALL ".join(arms) +
                    ") u ORDER BY seq DESC LIMIT 101")
        else:
            dim, col, val = (1, "resource_type", rtype) if rtype != "NULL" \
                else (2, "resource_group", rgroup)
            count = ("SELECT COALESCE(SUM(n), 0) FROM finding_meta_counts "
                     "WHERE tenant_id = %s AND dim = %d AND value = %s AND "
                     "value_bin = '' AND state IN (%s) AND severity IN (%s)"
                     % (t, dim, val, states, sev))
            arms = ["(SELECT seq FROM findings FORCE INDEX (%s) WHERE "
                    "tenant_id = %s AND %s = %s AND state = %s AND "
                    "severity IN (%s) AND seq < %s ORDER BY seq DESC "
                    "LIMIT 101)" % (index, t, col, val, x, sev, top)
                    for x in sts]
            page = ("SELECT seq FROM (" + " UNION ALL ".join(arms) +
                    ") u ORDER BY seq DESC LIMIT 101")
        return [count, "SELECT seq, id, title FROM findings JOIN (" + page +
                ") page USING (seq) ORDER BY seq DESC"]
    posture = [
        "SELECT severity, SUM(n) FROM finding_counts WHERE tenant_id = %s "
        "AND state = 'open' GROUP BY severity" % t,
        "SELECT id, title, severity, category, resource_id, detected_at "
        "FROM findings WHERE tenant_id = %s AND state = 'open' "
        "ORDER BY severity, detected_at, seq LIMIT 5" % t]
    return [
        ("GET /risk-score", posture),
        ("GET /posture-summary", [
            "SELECT 0 AS part, severity AS k, SUM(n) AS v FROM "
            "finding_counts WHERE tenant_id = %s AND state = 'open' "
            "GROUP BY severity UNION ALL SELECT 1, state, SUM(n) FROM "
            "finding_counts WHERE tenant_id = %s GROUP BY state "
            "UNION ALL SELECT 2, category, SUM(n) FROM finding_counts "
            "WHERE tenant_id = %s AND state = 'open' GROUP BY category "
            "HAVING SUM(n) > 0 UNION ALL SELECT 3, '', "
            "COUNT(DISTINCT subscription_id) FROM finding_counts WHERE "
            "tenant_id = %s AND state = 'open' AND n > 0 AND "
            "subscription_id <> '' UNION ALL SELECT 4, '', "
            "COALESCE((SELECT open_resources FROM finding_tenant_counts "
            "WHERE tenant_id = %s), 0) ORDER BY part, v DESC, k"
            % (t, t, t, t, t), posture[1]]),
        ("GET /events?limit=100", [
            "SELECT seq, payload FROM events WHERE tenant_id = %s AND "
            "seq > 0 ORDER BY seq LIMIT 101" % t,
            "SELECT COALESCE(SUM(n), 0) FROM list_counts WHERE "
            "tenant_id = %s AND list = 'events'" % t]),
        ("GET /events?limit=100&type=finding.resolved", [
            "SELECT seq, payload FROM events WHERE tenant_id = %s AND "
            "seq > 0 AND type = 'finding.resolved' ORDER BY seq LIMIT 101"
            % t]),
        ("GET /audit?limit=100", [
            "SELECT id, seq FROM audit_log WHERE tenant_id = %s AND "
            "seq < %s ORDER BY seq DESC LIMIT 101" % (t, top),
            "SELECT COALESCE(SUM(n), 0) FROM list_counts WHERE "
            "tenant_id = %s AND list = 'audit'" % t]),
        ("GET /audit?limit=100&action=dismiss", [
            "SELECT id, seq FROM audit_log WHERE tenant_id = %s AND "
            "action = 'dismiss' AND seq < %s ORDER BY seq DESC LIMIT 101"
            % (t, top)]),
        ("GET /findings?limit=100", fpair(
            "findings_state_seq", "'open'", sev)),
        ("GET /findings?limit=100&severity=critical", fpair(
            "findings_state_sev_seq", "'open'", "'critical'")),
        ("GET /findings?limit=100&category=network", fpair(
            "findings_state_cat_seq", "'open'", sev, "'network'")),
        ("GET /findings?limit=100&subscription_id=sub-7", fpair(
            "findings_state_seq", "'open'", sev, sub="'sub-7'")),
        ("GET /findings?limit=100&state=all&environment=PROD", fpair(
            "findings_tenant_seq", st_all, sev, env="'PROD'")),
        ("GET /findings?limit=100&state=all", ranges(
            "findings_state_seq", [(s, sev) for s in STATES])),
        ("GET /findings?limit=100&state=muted,dismissed", ranges(
            "findings_state_seq", [("muted", sev), ("dismissed", sev)])),
        ("GET /findings?limit=100&state=all&severity=critical,high", ranges(
            "findings_state_sev_seq", [(s, v) for s in STATES
                                       for v in ("critical", "high")])),
        ("GET /findings?limit=100&resource_group=rg-7", mpair(
            "findings_rgroup_state", "'open'", rgroup="'rg-7'")),
        ("GET /findings?limit=100&state=all&resource_type=Microsoft.Storage/"
         "storageAccounts", mpair(
            "findings_rtype_state", st_all,
            rtype="'Microsoft.Storage/storageAccounts'")),
        ("GET /findings?limit=100&tag=env:dev", mpair(None, "'open'")),
    ] + rare(mpair) + [
        ("GET /scans?limit=100", [
            "SELECT id FROM scans WHERE tenant_id = %s AND id < '~' "
            "ORDER BY id DESC LIMIT 101" % t]),
        ("GET /webhooks/{id}/deliveries?limit=100", [
            "SELECT d.id FROM deliveries d JOIN events e ON "
            "e.id = d.event_id WHERE d.tenant_id = %s AND d.webhook_id = "
            "'%s' AND d.id > '' ORDER BY d.id LIMIT 101" % (t, WEBHOOK)]),
    ]


# Rare states (a tenth dismissed, none of env:dev; three of the oldest
# storage accounts' and env:dev's findings muted) and a value no finding
# has: their totals come from the kept counts (0055) and their walks read
# one range per state (0055, 0056), so none grows with the data.
STORAGE = "Microsoft.Storage/storageAccounts"
RARE = [
    ("/findings?limit=100&state=dismissed&resource_type=" + STORAGE,
     "findings_rtype_state", "'dismissed'", "'%s'" % STORAGE, "NULL"),
    ("/findings?limit=100&state=muted&resource_type=" + STORAGE,
     "findings_rtype_state", "'muted'", "'%s'" % STORAGE, "NULL"),
    ("/findings?limit=100&state=all&resource_group=rg-none",
     "findings_rgroup_state",
     "'open','accepted','resolved','snoozed','dismissed','muted'",
     "NULL", "'rg-none'"),
    ("/findings?limit=100&state=dismissed&tag=env:dev", None,
     "'dismissed'", "NULL", "NULL"),
    ("/findings?limit=100&state=accepted&tag=env:dev", None,
     "'accepted'", "NULL", "NULL"),
    ("/findings?limit=100&state=muted&tag=env:dev", None, "'muted'",
     "NULL", "NULL"),
]


def rare(mpair):
    return [("GET " + path, mpair(ix, states, rtype=rt, rgroup=rg))
            for path, ix, states, rt, rg in RARE]


def unescape(cell):
    """A cell as the client's batch mode escapes it (\\n, \\t, \\\\)."""
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "0": "\0"}.get(
        m.group(1), m.group(1)), cell)


def rows_read(plan):
    """The rows a statement's ANALYZE FORMAT=JSON says it read: r_rows
    times r_loops of every table access, summed."""
    total = 0.0
    if isinstance(plan, dict):
        if "r_rows" in plan and "table_name" in plan:
            total += (plan.get("r_rows") or 0) * (plan.get("r_loops") or 1)
        for v in plan.values():
            total += rows_read(v)
    elif isinstance(plan, list):
        for v in plan:
            total += rows_read(v)
    return total


def main():
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (apt-get install wrk)")
        return 1
    builddir = os.environ.get("VIGIL_BUILDDIR") or os.getcwd()
    root = tempfile.mkdtemp(prefix="vigil-reads-")
    os.chmod(root, 0o755)
    st = stack.Stack(os.path.join(root, "vigil"), builddir=builddir)
    try:
        st.up(workers=WORKERS, conf_extra={
            "rate_read_per_min": 1000000, "rate_write_per_min": 1000000})
        st.tenant_ensure("reads")
        key, _ = st.key_create("reads", scopes="read,write,admin")
        tid = st.tenant_ensure("reads")
        print("bench/reads.py: load before: %s" % os.getloadavg()[0])
        t0 = time.monotonic()
        load(st, tid, ROWS)
        print("loaded %d findings, %d events, %d audit entries, %d "
              "deliveries through the counting triggers in %.0f s"
              % (ROWS, ROWS, ROWS, DELIVERIES, time.monotonic() - t0))
        bad = 0
        for what, kept, counted in recount(st, tid):
            ok = kept == counted
            bad += not ok
            print("  %-15s kept %10s  recounted %10s  %s" % (
                what, kept, counted, "ok" if ok else "DIFFERENT"))
        base = st.urls()["nginx"] + "/api/v1"
        reads = [
            "/risk-score", "/posture-summary",
            "/events?limit=100", "/events?limit=100&type=finding.resolved",
            "/events?limit=100&type=finding.*",
            "/events?limit=100&type=webhook.*",
            "/audit?limit=100", "/audit?limit=100&action=dismiss",
            "/findings?limit=100", "/findings?limit=100&severity=critical",
            "/findings?limit=100&category=network",
            "/findings?limit=100&subscription_id=sub-7",
            "/findings?limit=100&state=all&environment=PROD",
            "/findings?limit=100&state=all",
            "/findings?limit=100&state=muted,dismissed",
            "/findings?limit=100&state=all&severity=critical,high",
            "/findings?limit=100&resource_group=rg-7",
            "/findings?limit=100&state=all&resource_type="
            "Microsoft.Storage/storageAccounts",
            "/findings?limit=100&tag=env:dev"] + [
            r[0] for r in RARE] + [
            "/scans?limit=100", "/webhooks", "/webhooks/" + WEBHOOK +
            "/deliveries?limit=100", "/integrations", "/api-keys",
            "/rules?limit=100"]
        reads = [r for r in reads if MATCH.search(r)]
        print("\n%d runs x %d s per read, %d connections, %d workers"
              % (RUNS, DURATION, CONNECTIONS, WORKERS))
        # The server side of a request: mariadbd and the pool's workers.
        pids = [st.running_pid("mariadb")] + st.api_workers()
        print("%-44s %7s %15s %7s %7s %7s" % (
            "read", "p99 ms", "spread", "req/s", "cpu ms", "non-2xx"))
        over = 0
        for path in reads:
            runs = [wrk(base + path, key, pids) for _ in range(RUNS)]
            p99s = sorted(r[1] for r in runs)
            med = statistics.median(p99s)
            over += med >= TARGET_MS
            print("%-44s %7.1f %7.1f-%-7.1f %7.0f %7.2f %7d" % (
                "GET " + path, med, p99s[0], p99s[-1],
                statistics.median(r[0] for r in runs),
                statistics.median(r[3] for r in runs),
                sum(r[2] for r in runs)), flush=True)
        print("\nload after: %.2f (uptime: %s)" % (
            os.getloadavg()[0], subprocess.run(
                ["uptime"], capture_output=True, text=True).stdout.strip()))
        print("\nEXPLAIN of the statements each read runs:")
        for what, stmts in explains(tid):
            if not MATCH.search(what[len("GET "):]):
                continue
            print("  " + what)
            for s in stmts:
                print("    " + " ".join(s.split())[:150])
                for row in st.query("EXPLAIN " + s):
                    print("      " + "\t".join(str(c) for c in row))
                if "findings" in what:
                    plan = json.loads(unescape(st.query(
                        "ANALYZE FORMAT=JSON " + s)[0][0]))
                    print("      ANALYZE: %.0f rows read, %.2f ms" % (
                        rows_read(plan), plan["query_block"].get(
                            "r_total_time_ms", 0.0)))
        print("\n%d read(s) at or over %.0f ms (median p99); %d counter(s) "
              "different from a recount" % (over, TARGET_MS, bad))
        return 0 if bad == 0 else 1
    finally:
        st.down()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
