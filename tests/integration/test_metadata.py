"""test_metadata.py: the resource metadata of findings (issue 13, items 3
and 7) against a running private stack: what vigil-scan records from the
ARM resources of an inventory, what `vigilctl findings import` accepts,
GET /findings/{id} and list items, the filters resource_type,
resource_group, region, source and tag (tenants apart, hostile values),
a rescan of unchanged resources that writes no row, and `since` without
`state` returning every state.

Run by run.py, which sets STACK here. Every response goes through
test_api.request, so test_api's T99OpenApi holds it against
doc/openapi.json.
"""

import hashlib
import json
import os
import shutil
import tempfile
import time
import unittest
import urllib.parse

import test_api as api
from test_api import auth, new_key, new_tenant, rfc3339, SQL_EVIL

STACK = None        # a stack.Stack, set by run.py
WORKERS = 4

TMP = None
CONF = None         # vigil.conf with rules_dir = TMP/rules

SUB = "7b1e4c2a-9d3f-4a8b-b6c5-0e2f1d3a5c7e"
EVIL_VALUE = "100%_off' OR 1=1 -- \"\\x"

RULES = [
    {"id": "m-storage-http", "provider": "azure",
     "resource_type": "Microsoft.Storage/storageAccounts",
     "title": "Storage account accepts plain HTTP", "severity": "medium",
     "category": "storage", "framework": "CIS Azure 3.1",
     "description": "Secure transfer is off.",
     "recommendation": "Turn on secure transfer.",
     "condition": {"path": "properties.supportsHttpsTrafficOnly",
                   "ne": True, "default": False}},
    {"id": "m-nsg-any", "provider": "azure",
     "resource_type": "Microsoft.Network/networkSecurityGroups",
     "title": "NSG present", "severity": "critical", "category": "network",
     "framework": "CIS Azure 6.2",
     "description": "Every NSG.", "recommendation": "None.",
     "condition": {"path": "name", "exists": True}},
]


def setUpModule():
    global STACK, TMP, CONF
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("no stack: run tests/integration/run.py")
    TMP = tempfile.mkdtemp(prefix="vigil-metadata-")
    os.chmod(TMP, 0o755)
    os.makedirs(os.path.join(TMP, "rules"))
    with open(os.path.join(TMP, "rules", "meta.json"), "w") as f:
        json.dump(RULES, f)
    CONF = os.path.join(TMP, "vigil.conf")
    with open(STACK.conf) as f:
        lines = [ln for ln in f.read().splitlines()
                 if not ln.startswith("rules_dir")]
    lines.append("rules_dir = " + os.path.join(TMP, "rules"))
    with open(CONF, "w") as f:
        f.write("\n".join(lines) + "\n")


def tearDownModule():
    if TMP:
        shutil.rmtree(TMP, ignore_errors=True)


# --- fixtures ---------------------------------------------------------------

def arm_id(group, kind, name):
    prov = {"st": "Microsoft.Storage/storageAccounts",
            "nsg": "Microsoft.Network/networkSecurityGroups"}[kind]
    return "/subscriptions/%s/resourceGroups/%s/providers/%s/%s" % (
        SUB, group, prov, name)


def storage(name, group, location, tags, https=False):
    r = {"id": arm_id(group, "st", name), "name": name,
         "type": "Microsoft.Storage/storageAccounts", "location": location,
         "properties": {"supportsHttpsTrafficOnly": https}}
    if tags is not None:
        r["tags"] = tags
    return r


def nsg(name, group, location, tags=None):
    r = {"id": arm_id(group, "nsg", name), "name": name,
         "type": "Microsoft.Network/networkSecurityGroups",
         "location": location, "properties": {"securityRules": []}}
    if tags is not None:
        r["tags"] = tags
    return r


def write_inventory(d, resources):
    os.makedirs(d, exist_ok=True)
    for n in os.listdir(d):
        os.unlink(os.path.join(d, n))
    by = {}
    for r in resources:
        by.setdefault(r["type"].split("/")[-1], []).append(r)
    for kind, rs in by.items():
        with open(os.path.join(d, kind + ".json"), "w") as f:
            json.dump({"value": rs}, f)


def fid(rule, resource):
    return "azure-%s-%s" % (rule, hashlib.sha256(
        resource.lower().encode()).hexdigest()[:8])


def q(s):
    assert "'" not in s and "\\" not in s, s
    return "'%s'" % s


def count(table, tenant_id):
    return int(STACK.query("SELECT COUNT(*) FROM %s WHERE tenant_id = %s" %
                           (table, q(tenant_id)))[0][0])


def finding_events(tenant_id):
    """The tenant's finding.* events (each scan adds a scan.* one)."""
    return int(STACK.query("SELECT COUNT(*) FROM events WHERE tenant_id = "
                           "%s AND type LIKE 'finding.%%'" %
                           q(tenant_id))[0][0])


class MBase(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        cls.tenant, cls.tenant_id = new_tenant("meta")
        cls.key, _ = new_key(cls.tenant, "read,write,admin")
        cls.base = STACK.urls()["nginx"]

    def req(self, method, path, body=None, key=None, base=None):
        return api.request(base or self.base, method, path, body,
                           auth(key or self.key))

    def ids(self, query, key=None, base=None):
        """The ids of every page of GET /findings?query (limit 2, so that
        the walks continue past a page), checking total and order."""
        out, cursor, total = [], None, None
        for _ in range(100):
            qs = query + "&limit=2" + (
                "&cursor=" + urllib.parse.quote(cursor) if cursor else "")
            r = self.req("GET", "/api/v1/findings?" + qs, key=key,
                         base=base)
            self.assertEqual(r.status, 200, (query, r))
            body = r.json()
            if total is None:
                total = body["total"]
            out += [f["id"] for f in body["findings"]]
            if not body["has_more"]:
                break
            cursor = body["next_cursor"]
        self.assertEqual(len(out), len(set(out)), query)
        self.assertEqual(total, len(out), query)
        return set(out)

    def get(self, fid_, key=None):
        r = self.req("GET", "/api/v1/findings/" + fid_, key=key)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def import_findings(self, tenant, entries, check=True):
        path = os.path.join(TMP, "import-%s-%d.json" % (
            tenant, time.monotonic_ns()))
        with open(path, "w") as f:
            json.dump({"findings": entries}, f)
        return STACK.vigilctl("findings", "import", "--tenant", tenant,
                              "--no-reconcile", path, check=check)


# --- the scanner ------------------------------------------------------------

class T80MetaScan(MBase):
    """An inventory scanned by vigil-scan: each finding records its ARM
    resource's metadata, the filters find them, and a rescan of the same
    estate writes no finding row."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.inv = tempfile.mkdtemp(prefix="inv-", dir=TMP)
        os.chmod(cls.inv, 0o755)
        cls.st1 = storage("stprod1", "RG-Prod", "westeurope", {
            "env": "prod", "owner": "a:b@example.com",
            "cost-center": EVIL_VALUE, "Zeta": "z", "ünï": "cödé"})
        cls.st2 = storage("stdev1", "rg-dev", "eastus", {"env": "dev"})
        cls.st3 = storage("stnotags", "rg-dev", "eastus", None)
        cls.nsg1 = nsg("nsgprod1", "RG-Prod", "westeurope")
        cls.estate = [cls.st1, cls.st2, cls.st3, cls.nsg1]
        write_inventory(cls.inv, cls.estate)
        r = api.request(cls.base, "POST", "/api/v1/integrations", {
            "type": "inventory", "name": "meta",
            "config": {"path": cls.inv}}, auth(cls.key))
        assert r.status == 201, r
        cls.integ = r.json()["id"]
        cls.f = {n: fid("m-storage-http", r["id"]) for n, r in
                 (("st1", cls.st1), ("st2", cls.st2), ("st3", cls.st3))}
        cls.f["nsg1"] = fid("m-nsg-any", cls.nsg1["id"])
        cls.scan_once()

    @classmethod
    def scan_once(cls):
        p = STACK.scan("--once", "--integration", cls.integ, conf=CONF)
        assert p.returncode == 0, p.stdout + p.stderr

    def test_1_fields_on_get_and_list(self):
        want = {
            "st1": ("stprod1", "Microsoft.Storage/storageAccounts",
                    "RG-Prod", "westeurope", self.st1["tags"]),
            "st2": ("stdev1", "Microsoft.Storage/storageAccounts",
                    "rg-dev", "eastus", {"env": "dev"}),
            "st3": ("stnotags", "Microsoft.Storage/storageAccounts",
                    "rg-dev", "eastus", {}),
            "nsg1": ("nsgprod1", "Microsoft.Network/networkSecurityGroups",
                     "RG-Prod", "westeurope", {}),
        }
        r = self.req("GET", "/api/v1/findings?limit=500")
        self.assertEqual(r.status, 200, r)
        listed = {f["id"]: f for f in r.json()["findings"]}
        self.assertEqual(set(listed), set(self.f.values()))
        for name, (rname, rtype, group, region, tags) in want.items():
            for f in (self.get(self.f[name]), listed[self.f[name]]):
                self.assertEqual(f["resource_name"], rname, f)
                self.assertEqual(f["resource_type"], rtype, f)
                self.assertEqual(f["resource_group"], group, f)
                self.assertEqual(f["region"], region, f)
                self.assertEqual(f["account"], SUB, f)
                self.assertEqual(f["subscription_id"], SUB, f)
                self.assertEqual(f["source"], self.integ, f)
                self.assertEqual(f["tags"], tags, f)
                # Keys sorted, whatever order ARM gave them in.
                self.assertEqual(list(f["tags"]), sorted(
                    tags, key=lambda k: k.encode()), f)

    def test_2_filters(self):
        f = self.f
        cases = [
            ("resource_type=Microsoft.Storage/storageAccounts",
             {f["st1"], f["st2"], f["st3"]}),
            # Azure compares types, groups and regions case-insensitively.
            ("resource_type=microsoft.storage/storageaccounts",
             {f["st1"], f["st2"], f["st3"]}),
            ("resource_type=Microsoft.Network/networkSecurityGroups",
             {f["nsg1"]}),
            ("resource_type=Microsoft.Storage", set()),
            ("resource_group=rg-prod", {f["st1"], f["nsg1"]}),
            ("resource_group=RG-DEV", {f["st2"], f["st3"]}),
            ("resource_group=rg", set()),
            ("region=WestEurope", {f["st1"], f["nsg1"]}),
            ("region=eastus&resource_group=rg-dev", {f["st2"], f["st3"]}),
            ("region=eastus&resource_group=rg-prod", set()),
            ("source=" + self.integ, set(f.values())),
            ("source=" + self.integ.upper(), set()),
            ("source=import", set()),
            ("tag=env:prod", {f["st1"]}),
            ("tag=env:Prod", set()),            # values are case-sensitive
            ("tag=Env:prod", set()),            # and keys
            ("tag=env:dev", {f["st2"]}),
            ("tag=env:", set()),
            ("tag=owner:a:b@example.com", {f["st1"]}),   # ':' in the value
            ("tag=owner:a", set()),
            ("tag=cost-center:" + urllib.parse.quote(EVIL_VALUE, safe=""),
             {f["st1"]}),
            ("tag=cost-center:100%25", set()),  # no LIKE anywhere
            ("tag=cost-center:100%25_off%25", set()),
            ("tag=%C3%BCn%C3%AF:c%C3%B6d%C3%A9", {f["st1"]}),
            ("tag=env:prod&resource_group=rg-prod", {f["st1"]}),
            ("tag=env:prod&resource_group=rg-dev", set()),
            ("tag=env:prod&severity=critical", set()),
            ("resource_group=rg-prod&severity=critical", {f["nsg1"]}),
            ("resource_type=Microsoft.Storage/storageAccounts&state=all",
             {f["st1"], f["st2"], f["st3"]}),
            ("resource_type=Microsoft.Storage/storageAccounts"
             "&state=resolved", set()),
        ]
        for query, want in cases:
            with self.subTest(query=query):
                self.assertEqual(self.ids(query), want)

    def test_3_unchanged_rescan_writes_no_row(self):
        """The scanner's batch upserts a finding with INSERT ... ON
        DUPLICATE KEY UPDATE, which fires BEFORE INSERT; an unchanged one
        gets only its last_seen_at. A probe trigger counts the upserts."""
        STACK.sql("CREATE TABLE IF NOT EXISTS meta_probe (tenant_id "
                  "VARCHAR(40), id VARCHAR(127))", database="vigil")
        STACK.sql("CREATE OR REPLACE TRIGGER meta_probe_ins BEFORE INSERT "
                  "ON findings FOR EACH ROW INSERT INTO meta_probe VALUES "
                  "(NEW.tenant_id, NEW.id)", database="vigil")
        try:
            def probe():
                return sorted(r[0] for r in STACK.query(
                    "SELECT id FROM meta_probe WHERE tenant_id = %s" %
                    q(self.tenant_id)))

            def tags_rows():
                return sorted(tuple(r) for r in STACK.query(
                    "SELECT HEX(tag_key), HEX(tag_value), finding_seq FROM "
                    "finding_tags WHERE tenant_id = %s" % q(self.tenant_id)))

            before = {k: self.get(v) for k, v in self.f.items()}
            n_hist = count("finding_history", self.tenant_id)
            n_ev = finding_events(self.tenant_id)
            rows0 = tags_rows()
            self.assertEqual(len(rows0), 6)
            self.scan_once()
            self.assertEqual(probe(), [])
            self.assertEqual(tags_rows(), rows0)
            self.assertEqual(count("finding_history", self.tenant_id), n_hist)
            self.assertEqual(finding_events(self.tenant_id), n_ev)
            # A tag changes on one resource (not env, which is the
            # finding's environment): that finding's row alone is
            # rewritten, with the new tags, silently (metadata is not a
            # change of the finding: no history, no event, same
            # updated_at), and the tag filter follows.
            st1 = dict(self.st1, tags=dict(self.st1["tags"],
                                           owner="c:d@example.com"))
            write_inventory(self.inv, [st1, self.st2, self.st3, self.nsg1])
            self.scan_once()
            self.assertEqual(probe(), [self.f["st1"]])
            g = self.get(self.f["st1"])
            self.assertEqual(g["tags"]["owner"], "c:d@example.com")
            self.assertEqual(g["updated_at"], before["st1"]["updated_at"])
            self.assertEqual(count("finding_history", self.tenant_id), n_hist)
            self.assertEqual(finding_events(self.tenant_id), n_ev)
            self.assertEqual(self.ids("tag=owner:c:d@example.com"),
                             {self.f["st1"]})
            self.assertEqual(self.ids("tag=owner:a:b@example.com"), set())
            self.assertEqual(self.ids("tag=env:prod"), {self.f["st1"]})
            self.assertEqual(len(tags_rows()), 6)
            # And back: one more rewrite, then nothing.
            write_inventory(self.inv, self.estate)
            self.scan_once()
            self.scan_once()
            self.assertEqual(probe(), [self.f["st1"]] * 2)
            self.assertEqual(tags_rows(), rows0)
        finally:
            STACK.sql("DROP TRIGGER IF EXISTS meta_probe_ins",
                      database="vigil")
            STACK.sql("DROP TABLE IF EXISTS meta_probe", database="vigil")

    def test_4_other_tenant_sees_nothing(self):
        other, other_id = new_tenant("meta-other")
        okey, _ = new_key(other, "read")
        for query in ("tag=env:prod", "resource_group=rg-prod",
                      "resource_type=Microsoft.Storage/storageAccounts",
                      "region=westeurope", "source=" + self.integ,
                      "state=all", "since=2001-01-01T00:00:00Z"):
            with self.subTest(query=query):
                self.assertEqual(self.ids(query, key=okey), set())
        r = self.req("GET", "/api/v1/findings/" + self.f["st1"], key=okey)
        self.assertEqual(r.status, 404, r)


# --- the import -------------------------------------------------------------

def entry(n, **extra):
    resource = "/subscriptions/sub-imp/resourceGroups/rg-imp/providers/" \
               "Microsoft.KeyVault/vaults/kv-%d-%d" % (os.getpid(), n)
    e = {"rule_id": "kv-rule", "provider": "azure", "resource_id": resource,
         "title": "Vault %d" % n, "severity": "high", "category": "keyvault",
         "description": "d", "recommendation": "r",
         "subscription_id": "sub-imp"}
    e.update(extra)
    return e


def entry_id(e):
    return fid(e["rule_id"], e["resource_id"])


class T81MetaImport(MBase):
    """`vigilctl findings import` reads the optional metadata fields."""

    def test_1_fields(self):
        a = entry(1, resource_name="kv-1", resource_type="Microsoft.KeyVault/"
                  "vaults", resource_group="rg-imp", region="northeurope",
                  account="acct-1", tags={"b": "2", "a": "1", "x:y": "z:w"})
        b = entry(2, location="uksouth")        # Azure's name for region
        c = entry(3)                            # none of them
        self.import_findings(self.tenant, [a, b, c])
        fa, fb, fc = (self.get(entry_id(e)) for e in (a, b, c))
        self.assertEqual((fa["resource_name"], fa["resource_type"],
                          fa["resource_group"], fa["region"], fa["account"],
                          fa["source"]),
                         ("kv-1", "Microsoft.KeyVault/vaults", "rg-imp",
                          "northeurope", "acct-1", "import"))
        self.assertEqual(list(fa["tags"].items()),
                         [("a", "1"), ("b", "2"), ("x:y", "z:w")])
        self.assertEqual(fb["region"], "uksouth")
        # The account of an Azure finding defaults to its subscription.
        self.assertEqual(fb["account"], "sub-imp")
        self.assertEqual((fc["resource_name"], fc["resource_type"],
                          fc["resource_group"], fc["region"], fc["tags"]),
                         ("", "", "", "", {}))
        self.assertEqual(self.ids("source=import"),
                         {entry_id(e) for e in (a, b, c)})
        self.assertEqual(self.ids("tag=a:1"), {entry_id(a)})
        self.assertEqual(self.ids("region=UKSOUTH"), {entry_id(b)})
        # Imported again with other tags: the side table follows.
        a2 = dict(a, tags={"a": "9"})
        self.import_findings(self.tenant, [a2])
        self.assertEqual(self.ids("tag=a:1"), set())
        self.assertEqual(self.ids("tag=a:9"), {entry_id(a)})
        self.assertEqual(self.get(entry_id(a))["tags"], {"a": "9"})

    def test_2_refused(self):
        cases = [
            (dict(region="x", location="y"), "location"),
            (dict(tags=["a"]), "tags"),
            (dict(tags={"a": 1}), "tags"),
            (dict(tags={"a": None}), "tags"),
            (dict(tags={"": "v"}), "tags"),
            (dict(tags={"k" * 257: "v"}), "tags"),
            (dict(tags={"k": "v" * 257}), "tags"),
            (dict(tags={"k": "a\nb"}), "tags"),
            (dict(tags={"t%d" % i: "v" for i in range(65)}), "tags"),
            (dict(resource_type="t" * 256), "resource_type"),
            (dict(region="r" * 65), "region"),
            (dict(resource_group=7), "resource_group"),
            (dict(account=""), "account"),
        ]
        n0 = count("findings", self.tenant_id)
        for extra, field in cases:
            with self.subTest(extra=str(extra)[:60]):
                good = entry(100)
                bad = entry(101, **extra)
                r = self.import_findings(self.tenant, [good, bad],
                                         check=False)
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertIn("findings[1]." + field, r.stderr + r.stdout)
                self.assertEqual(count("findings", self.tenant_id), n0)
        # Within the limits: 64 tags of 256 characters are kept.
        ok = entry(102, tags={"t%02d" % i + "k" * 253: "v" * 256
                              for i in range(64)})
        self.import_findings(self.tenant, [ok])
        self.assertEqual(self.get(entry_id(ok))["tags"], ok["tags"])


# --- the filters' limits -----------------------------------------------------

class T82MetaHostile(MBase):
    """Hostile filter values: 400 naming the parameter, or an empty list;
    never another tenant's findings, never an error."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Another tenant whose findings carry the hostile values
        # themselves: they must not leak into this tenant's answers.
        cls.other, _ = new_tenant("meta-evil")
        es = [entry(200 + i, resource_type=v[:255], resource_group=v[:255],
                    region=v[:64], tags={"k": v[:256]})
              for i, v in enumerate(SQL_EVIL + [EVIL_VALUE])]
        MBase.import_findings(cls, cls.other, es)

    def test_bad_and_hostile(self):
        bad = [("resource_type=", "resource_type"),
               ("resource_type=" + "t" * 256, "resource_type"),
               ("resource_group=", "resource_group"),
               ("region=", "region"), ("region=" + "r" * 65, "region"),
               ("source=", "source"), ("source=" + "s" * 65, "source"),
               ("tag=", "tag"), ("tag=env", "tag"), ("tag=:prod", "tag"),
               ("tag=" + "k" * 257 + ":v", "tag"),
               ("tag=k:" + "v" * 257, "tag"),
               ("tag=a:1&tag=b:2", "tag")]
        for query, field in bad:
            with self.subTest(query=query[:40]):
                r = self.req("GET", "/api/v1/findings?" + query)
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json()["error"]["details"]["field"], field)
        for evil in SQL_EVIL + [EVIL_VALUE, "%", "_", "*", "\\"]:
            qe = urllib.parse.quote(evil, safe="")
            for p in ("resource_type", "resource_group", "region", "source"):
                with self.subTest(param=p, value=evil):
                    self.assertEqual(self.ids("%s=%s" % (p, qe)), set())
            with self.subTest(param="tag", value=evil):
                self.assertEqual(self.ids("tag=k:" + qe), set())
                self.assertEqual(self.ids("tag=%s:%s" % (
                    urllib.parse.quote(evil.replace(":", ""), safe=""),
                    qe)), set())
        # The tables are still there and whole.
        self.assertGreater(int(STACK.query("SELECT COUNT(*) FROM "
                                           "tenants")[0][0]), 1)


# --- since (item 7) ----------------------------------------------------------

class T83Since(MBase):
    """GET /findings?since= without state returns findings in every state
    changed since; with state, that state only; without since, open."""

    def test_since_every_state(self):
        es = [entry(300 + i) for i in range(5)]
        t0 = time.time() - 2
        self.import_findings(self.tenant, es)
        ids = [entry_id(e) for e in es]
        for fid_, action, body in (
                (ids[1], "accept", {"justification": "ok"}),
                (ids[2], "resolve", {}),
                (ids[3], "snooze", {"days": 7}),
                (ids[4], "dismiss", {"reason": "nope"})):
            r = self.req("POST", "/api/v1/findings/%s/%s" % (fid_, action),
                         body)
            self.assertEqual(r.status, 200, r)
        since = rfc3339(t0)
        r = self.req("GET", "/api/v1/findings?since=" + since)
        self.assertEqual(r.status, 200, r)
        got = {f["id"]: f["state"] for f in r.json()["findings"]}
        self.assertEqual(got, {ids[0]: "open", ids[1]: "accepted",
                               ids[2]: "resolved", ids[3]: "snoozed",
                               ids[4]: "dismissed"})
        self.assertEqual(r.json()["total"], 5)
        self.assertEqual(self.ids("since=" + since), set(ids))
        self.assertEqual(self.ids("since=%s&state=open" % since), {ids[0]})
        self.assertEqual(self.ids("since=%s&state=resolved,dismissed" %
                                  since), {ids[2], ids[4]})
        self.assertEqual(self.ids("state=open"), {ids[0]})
        self.assertEqual(self.ids(""), {ids[0]})
        self.assertEqual(self.ids("since=" + rfc3339(time.time() + 60)),
                         set())


# --- kept totals of the metadata and tag filters (0055) ----------------------

TYPES = ("Microsoft.Web/sites", "MICROSOFT.WEB/SITES",
         "Microsoft.KeyVault/vaults", "Microsoft.Sql/servers")
GROUPS = ("rg-a", "RG-A", "rg-b", "rg-c")
REGIONS = ("westeurope", "eastus")
SEVS = ("critical", "high", "medium", "low", "info")
STATE_QUERIES = (None, "all", "dismissed", "muted", "accepted,snoozed",
                 "resolved,open,resolved")


def recount_ids(tenant_id, col, value, states, sevs=None):
    """The ids GET /findings?col=value&state=... must list, newest first:
    SQL over the rows (the column's own collation compares)."""
    if col == "tag":
        k, v = value.split(":", 1)
        where = ("seq IN (SELECT finding_seq FROM finding_tags WHERE "
                 "tenant_id = %s AND tag_key = %s AND tag_value = %s)"
                 % (q(tenant_id), q(k), q(v)))
    else:
        where = "%s = %s" % (col, q(value))
    sql = ("SELECT id FROM findings WHERE tenant_id = %s AND %s AND "
           "state IN (%s)" % (q(tenant_id), where,
                              ", ".join(q(s) for s in states)))
    if sevs:
        sql += " AND severity IN (%s)" % ", ".join(q(s) for s in sevs)
    return [r[0] for r in STACK.query(sql + " ORDER BY seq DESC")]


class T377MetaTotals(MBase):
    """The total of every metadata and tag filter beside state and
    severity is the kept count (0055): equal to a recount after every
    kind of write (an import, the API's actions one by one and in bulk,
    a reimport that moves findings to other values and tags, a reconcile
    that resolves, multi-row SQL updates as a batched writer makes them,
    deletes), and every page of every state, rare, absent, several or
    all, lists the recount's findings in order across cursors."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.entries = [entry(
            3770 + i, severity=SEVS[i % 5],
            resource_type=TYPES[i % 4], resource_group=GROUPS[i % 3],
            region=REGIONS[i % 2],
            tags={"env": ("prod", "dev")[i % 2], "team": "t%d" % (i % 3)}
            if i % 4 else {})
            for i in range(30)]
        cls.ids_ = [entry_id(e) for e in cls.entries]

    def walk(self, query, limit=4):
        """Every page of GET /findings?query: (ids in order, total)."""
        out, cursor, total = [], None, None
        for _ in range(200):
            qs = query + "&limit=%d" % limit + (
                "&cursor=" + urllib.parse.quote(cursor) if cursor else "")
            r = self.req("GET", "/api/v1/findings?" + qs)
            self.assertEqual(r.status, 200, (query, r))
            body = r.json()
            if total is None:
                total = body["total"]
            out += [f["id"] for f in body["findings"]]
            if not body["has_more"]:
                break
            cursor = body["next_cursor"]
        return out, total

    def check(self):
        import test_counts as tc
        tc.CBase.assert_counters(self, self.tenant_id)
        filters = ([("resource_type", v) for v in TYPES[1:]] +
                   [("resource_group", v) for v in GROUPS] +
                   [("region", v) for v in REGIONS] +
                   [("source", "import"), ("source", "IMPORT"),
                    ("tag", "env:dev"), ("tag", "team:t1"),
                    ("tag", "env:none"), ("resource_type", "none/none")])
        states = ("open", "accepted", "resolved", "snoozed", "dismissed",
                  "muted")
        for col, value in filters:
            for sq in STATE_QUERIES:
                want_states = (["open"] if sq is None else states
                               if sq == "all" else sq.split(","))
                query = "%s=%s" % (col, urllib.parse.quote(value, safe=""))
                if sq:
                    query += "&state=" + sq
                with self.subTest(query=query):
                    got, total = self.walk(query)
                    want = recount_ids(self.tenant_id, col, value,
                                       want_states)
                    self.assertEqual(got, want)
                    self.assertEqual(total, len(want))
        # With a severity list beside them, and two filters (counted
        # among at most 10,000: exact here).
        for query, col, value, sevs in (
                ("resource_group=rg-a&severity=high,info&state=all",
                 "resource_group", "rg-a", ("high", "info")),
                ("tag=env:prod&severity=critical&state=all", "tag",
                 "env:prod", ("critical",))):
            with self.subTest(query=query):
                got, total = self.walk(query, limit=3)
                want = recount_ids(self.tenant_id, col, value, states, sevs)
                self.assertEqual((got, total), (want, len(want)))
        got, total = self.walk("resource_group=rg-b&region=eastus&"
                               "state=all", limit=2)
        want = [r[0] for r in STACK.query(
            "SELECT id FROM findings WHERE tenant_id = %s AND "
            "resource_group = 'rg-b' AND region = 'eastus' ORDER BY seq "
            "DESC" % q(self.tenant_id))]
        self.assertEqual((got, total), (want, len(want)))

    def act(self, fid_, action, body):
        r = self.req("POST", "/api/v1/findings/%s/%s" % (fid_, action),
                     body)
        self.assertEqual(r.status, 200, r)

    def test_1_every_write(self):
        t = q(self.tenant_id)
        self.import_findings(self.tenant, self.entries)
        self.check()
        ids = self.ids_
        for i in (0, 5, 10):
            self.act(ids[i], "dismiss", {"reason": "test"})
        self.act(ids[1], "accept", {"justification": "later",
                                     "expires_at": rfc3339(
                                         time.time() + 3600)})
        self.act(ids[2], "snooze", {"days": 2})
        self.act(ids[3], "resolve", {"evidence": "fixed"})
        r = self.req("POST", "/api/v1/findings/bulk", {
            "action": "dismiss", "ids": ids[20:23], "reason": "bulk"})
        self.assertEqual(r.status, 200, r)
        self.check()
        # Set-based writes, as a batched writer makes them: one state to
        # many rows, and metadata moved under them.
        STACK.sql("UPDATE findings SET state = 'muted' WHERE tenant_id = "
                  "%s AND id IN (%s)" % (t, ", ".join(
                      q(i) for i in ids[6:9])), database="vigil")
        STACK.sql("UPDATE findings SET resource_group = 'rg-c', "
                  "severity = 'low' WHERE tenant_id = %s AND id IN (%s)"
                  % (t, ", ".join(q(i) for i in ids[24:27])),
                  database="vigil")
        self.check()
        # A reimport: other groups, types and tags for a third of them
        # (the batch writer's counts), one finding's tags dropped.
        moved = [dict(e, resource_group="rg-b", resource_type=TYPES[2],
                      tags={"env": "dev", "new": "yes"})
                 for e in self.entries[:10]]
        moved[9]["tags"] = {}
        self.import_findings(self.tenant, moved + self.entries[10:])
        self.check()
        # A full import that leaves ten out resolves them (reconcile),
        # then brings them back.
        for es in (self.entries[10:], moved + self.entries[10:]):
            path = os.path.join(TMP, "reconcile-%d.json" %
                                time.monotonic_ns())
            with open(path, "w") as f:
                json.dump({"findings": es}, f)
            STACK.vigilctl("findings", "import", "--tenant", self.tenant,
                           path)
            self.check()
        # Deletes: some rows, then the tenant's every finding.
        STACK.sql("DELETE FROM findings WHERE tenant_id = %s AND id IN "
                  "(%s)" % (t, ", ".join(q(i) for i in ids[12:16])),
                  database="vigil")
        self.check()
        STACK.sql("DELETE FROM findings WHERE tenant_id = %s" % t,
                  database="vigil")
        self.check()
        self.assertEqual(int(STACK.query(
            "SELECT COALESCE(SUM(n), 0) + (SELECT COALESCE(SUM(n), 0) FROM "
            "finding_tag_counts WHERE tenant_id = %s) FROM "
            "finding_meta_counts WHERE tenant_id = %s" % (t, t))[0][0]), 0)

    def test_2_hostile(self):
        """Hostile values, repeated states and odd cases: 200 and an
        empty, exact answer, or 400; nothing written."""
        t = q(self.tenant_id)
        counted = ("SELECT (SELECT COUNT(*) FROM finding_meta_counts WHERE "
                   "tenant_id = %s) + (SELECT COUNT(*) FROM "
                   "finding_tag_counts WHERE tenant_id = %s)" % (t, t))
        n = int(STACK.query(counted)[0][0])
        for evil in SQL_EVIL + [EVIL_VALUE, "%", "_", "' OR dim = 4 --"]:
            qe = urllib.parse.quote(evil, safe="")
            for p in ("resource_type", "resource_group", "region",
                      "source"):
                for sq in ("all", "muted", "open,open"):
                    with self.subTest(param=p, value=evil, state=sq):
                        got, total = self.walk("%s=%s&state=%s" % (
                            p, qe, sq))
                        self.assertEqual((got, total), ([], 0))
            with self.subTest(param="tag", value=evil):
                got, total = self.walk("tag=%s:%s&state=all" % (
                    urllib.parse.quote(evil.replace(":", ""), safe="") or
                    "k", qe))
                self.assertEqual((got, total), ([], 0))
        r = self.req("GET", "/api/v1/findings?resource_type=x&"
                     "state=open,nope")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["error"]["details"]["field"], "state")
        self.assertEqual(int(STACK.query(counted)[0][0]), n)


class T378TagTotalPastCap(MBase):
    """A tag's total with a state its newest 1,000 findings lack: the
    kept count answers exactly. Before 0055 the total was counted among
    the tag's newest 1,000 entries only, and was the page's lower bound
    (101 here, against 150)."""

    def test_rare_state_deep(self):
        es = [entry(37800 + i, tags={"deep": "yes"}) for i in range(1100)]
        self.import_findings(self.tenant, es)
        t = q(self.tenant_id)
        # The 150 oldest dismissed (seq order is the file's).
        STACK.sql("UPDATE findings SET state = 'dismissed' WHERE "
                  "tenant_id = %s ORDER BY seq LIMIT 150" % t,
                  database="vigil")
        r = self.req("GET", "/api/v1/findings?tag=deep:yes&"
                     "state=dismissed&limit=100")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["total"], 150)
        want = recount_ids(self.tenant_id, "tag", "deep:yes",
                           ["dismissed"])
        self.assertEqual([f["id"] for f in r.json()["findings"]],
                         want[:100])
        r = self.req("GET", "/api/v1/findings?tag=deep:yes&state=muted")
        self.assertEqual(r.json()["total"], 0)
        self.assertEqual(r.json()["findings"], [])


class T379MetaBackfill(MBase):
    """0055 counts the rows present when it runs, and 0056 gives each tag
    entry its finding's state and severity, the same when they run a
    second time: counts wiped and spoilt, tag entries spoilt, then
    migrate."""

    def test_backfill_twice(self):
        es = [entry(37900 + i, resource_type=TYPES[i % 4],
                    resource_group=GROUPS[i % 4], region=REGIONS[i % 2],
                    tags={"b": str(i % 3)}) for i in range(12)]
        self.import_findings(self.tenant, es)
        t = q(self.tenant_id)
        STACK.sql("UPDATE findings SET state = 'dismissed' WHERE "
                  "tenant_id = %s ORDER BY seq LIMIT 4" % t,
                  database="vigil")
        import test_counts as tc
        for _ in range(2):
            STACK.sql("DELETE FROM finding_tag_counts WHERE tenant_id = %s"
                      % t, database="vigil")
            STACK.sql("UPDATE finding_meta_counts SET n = n + 7 WHERE "
                      "tenant_id = %s" % t, database="vigil")
            STACK.sql("UPDATE finding_tags SET finding_state = 'open', "
                      "finding_severity = 'info' WHERE tenant_id = %s" % t,
                      database="vigil")
            STACK.sql("DELETE FROM schema_migrations WHERE version IN "
                      "('0055', '0056')", database="vigil")
            r = STACK.vigilctl("migrate")
            self.assertIn("0055_finding_meta_counts.sql", r.stdout)
            self.assertIn("0056_finding_tags_state.sql", r.stdout)
            tc.CBase.assert_counters(self, self.tenant_id)
            self.assertEqual(self.walk_total(
                "resource_type=microsoft.web/sites&state=all"), 6)
            self.assertEqual(self.walk_total("tag=b:1&state=all"), 4)
            r = self.req("GET", "/api/v1/findings?tag=b:0&state=dismissed")
            self.assertEqual(
                [f["id"] for f in r.json()["findings"]],
                recount_ids(self.tenant_id, "tag", "b:0", ["dismissed"]))
        # The old indexes are gone, the new ones there.
        keys = {r[0] for r in STACK.query(
            "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = 'vigil' AND TABLE_NAME = 'findings'")}
        self.assertIn("findings_rtype_state", keys)
        self.assertNotIn("findings_rtype_seq", keys)
        self.assertIn("finding_tags_state", {r[0] for r in STACK.query(
            "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = 'vigil' AND TABLE_NAME = "
            "'finding_tags'")})

    def walk_total(self, query):
        r = self.req("GET", "/api/v1/findings?" + query)
        self.assertEqual(r.status, 200, r)
        return r.json()["total"]



# --- count rows at n = 0 (0057, 0058) ----------------------------------------

def zero_rows(tenant_id):
    """The tenant's rows of the kept counts at n = 0: (dim or the tag's
    key, value, state, severity)."""
    t = q(tenant_id)
    return sorted(tuple(r) for r in STACK.query(
        "SELECT dim, CONCAT(value, value_bin), state, severity FROM "
        "finding_meta_counts WHERE tenant_id = %s AND n = 0 UNION ALL "
        "SELECT tag_key, tag_value, state, severity FROM finding_tag_counts "
        "WHERE tenant_id = %s AND n = 0" % (t, t)))


def lower(row):
    return tuple(str(c).lower() for c in row)


def keys(tenant_id):
    """The keys of the kept counts the tenant's findings are counted in
    now, as zero_rows names them (lower case)."""
    t = q(tenant_id)
    return {lower(r) for r in STACK.query(
        "SELECT 1, resource_type, state, severity FROM findings WHERE "
        "tenant_id = %s UNION SELECT 2, resource_group, state, severity "
        "FROM findings WHERE tenant_id = %s UNION SELECT 3, region, state, "
        "severity FROM findings WHERE tenant_id = %s UNION SELECT 4, "
        "source, state, severity FROM findings WHERE tenant_id = %s UNION "
        "SELECT g.tag_key, g.tag_value, f.state, f.severity FROM "
        "finding_tags g JOIN findings f ON f.seq = g.finding_seq WHERE "
        "g.tenant_id = %s" % (t, t, t, t, t))}


class T401CountRowsPruned(MBase):
    """A batch (an import) deletes the rows of finding_meta_counts and
    finding_tag_counts that it took to n = 0 (0058): a tag whose value
    changes on every import and a group that moves keep rows for the
    values the findings have, not for every value they had; a key one
    row of a batch leaves and another enters keeps its row, exact; every
    count equals its recount and the API's totals follow. Before 0058
    every old value kept its rows at 0 (here 4 imports: 3 values' rows).
    Each import writes at least BATCH_FRAME_MIN (16) findings: fewer are
    written through the triggers, whose zeros stay (T402)."""

    def test_values_moved_by_batches(self):
        import test_counts as tc
        t = q(self.tenant_id)
        base = [entry(40100 + i, severity=SEVS[i % 2],
                      resource_group="rg-p0",
                      tags={"deploy": "d0", "team": "t%d" % i})
                for i in range(20)]
        self.import_findings(self.tenant, base)
        tc.CBase.assert_counters(self, self.tenant_id)
        for k in range(1, 4):
            es = [dict(e, resource_group="rg-p%d" % k,
                       tags={"deploy": "d%d" % k,
                             "team": e["tags"]["team"]}) for e in base]
            self.import_findings(self.tenant, es)
            tc.CBase.assert_counters(self, self.tenant_id)
            self.assertEqual(zero_rows(self.tenant_id), [], k)
            self.assertEqual(STACK.query(
                "SELECT DISTINCT tag_value FROM finding_tag_counts WHERE "
                "tenant_id = %s AND tag_key = 'deploy'" % t),
                [["d%d" % k]])
            self.assertEqual(STACK.query(
                "SELECT DISTINCT value FROM finding_meta_counts WHERE "
                "tenant_id = %s AND dim = 2" % t), [["rg-p%d" % k]])
            r = self.req("GET", "/api/v1/findings?tag=deploy:d%d&"
                         "state=all" % k)
            self.assertEqual(r.json()["total"], 20)
            r = self.req("GET", "/api/v1/findings?tag=deploy:d%d&"
                         "state=all" % (k - 1))
            self.assertEqual((r.json()["total"], r.json()["findings"]),
                             (0, []))
        # Two findings of one severity exchange their team in a batch
        # that moves every finding to another group: each team key (n =
        # 1) loses one and gains one (its row deleted at 0 between its -1
        # and its +1, and written again); then every finding changes
        # severity, and the rows they left go.
        es = [dict(e, resource_group="rg-swap") for e in es]
        es[0]["tags"] = dict(es[0]["tags"], team="t2")
        es[2]["tags"] = dict(es[2]["tags"], team="t0")
        before = STACK.query(
            "SELECT tag_value, state, severity, n FROM finding_tag_counts "
            "WHERE tenant_id = %s AND tag_key = 'team' ORDER BY 1, 2, 3"
            % t)
        self.import_findings(self.tenant, es)
        self.assertEqual(STACK.query(
            "SELECT tag_value, state, severity, n FROM finding_tag_counts "
            "WHERE tenant_id = %s AND tag_key = 'team' ORDER BY 1, 2, 3"
            % t), before)
        tc.CBase.assert_counters(self, self.tenant_id)
        self.assertEqual(zero_rows(self.tenant_id), [])
        for i, e in enumerate(es):
            e["severity"] = ("medium", "low")[i % 2]
        self.import_findings(self.tenant, es)
        tc.CBase.assert_counters(self, self.tenant_id)
        self.assertEqual(zero_rows(self.tenant_id), [])
        self.assertEqual(STACK.query(
            "SELECT DISTINCT severity FROM finding_meta_counts WHERE "
            "tenant_id = %s ORDER BY 1" % t), [["low"], ["medium"]])


class T402CountsMixedWrites(MBase):
    """Single writes (the API's actions, SQL updates and deletes through
    the findings triggers as 0057 states them) and batches (imports) on
    the same count rows, interleaved: every count, the resources with an
    open finding (two findings on one resource among them) and the tag
    entries equal a recount after each; a row a batch deleted at 0 is
    written again by a trigger's upsert and taken back exactly; a batch
    deletes the rows it takes to 0, whoever wrote them; the rows a single
    write takes to 0 stay (README, Design decisions). Every import
    writes at least 16 findings (BATCH_FRAME_MIN: fewer go through the
    triggers)."""

    def test_single_and_batch(self):
        import test_counts as tc
        t = q(self.tenant_id)

        def check():
            tc.CBase.assert_counters(self, self.tenant_id)

        es = [entry(40200 + i, severity=SEVS[i % 3], resource_group="rg-m1",
                    region=REGIONS[i % 2], tags={"env": "e1"})
              for i in range(17)]
        # a second finding on the first one's resource
        es.append(dict(es[0], rule_id="kv-rule-2", tags={"env": "e1"}))
        ids = [entry_id(e) for e in es]
        self.import_findings(self.tenant, es)
        check()
        self.act(ids[0], "accept", {"justification": "later"})
        self.act(ids[17], "dismiss", {"reason": "test"})  # its resource
        self.act(ids[1], "resolve", {"evidence": "fixed"})
        self.act(ids[2], "snooze", {"days": 2})
        check()
        # The batch moves every finding to e2 and rg-m2: the e1 and
        # rg-m1 rows go, the accepted, resolved and snoozed ones too.
        moved = [dict(e, resource_group="rg-m2", tags={"env": "e2"})
                 for e in es]
        self.import_findings(self.tenant, moved)
        check()
        self.assertEqual(zero_rows(self.tenant_id), [])
        self.assertEqual(int(STACK.query(
            "SELECT COUNT(*) FROM finding_tag_counts WHERE tenant_id = %s "
            "AND tag_value = 'e1'" % t)[0][0]), 0)
        # Single writes on keys the batch deleted: written again.
        STACK.sql("UPDATE findings SET tags = '{\"env\": \"e1\"}', "
                  "resource_group = 'rg-m1', severity = 'info' WHERE "
                  "tenant_id = %s AND id IN (%s, %s)" % (
                      t, q(ids[3]), q(ids[4])), database="vigil")
        check()
        STACK.sql("UPDATE findings SET state = 'dismissed' WHERE "
                  "tenant_id = %s AND id = %s" % (t, q(ids[3])),
                  database="vigil")
        STACK.sql("UPDATE findings SET state = 'open', resolved_at = NULL "
                  "WHERE tenant_id = %s AND id = %s" % (t, q(ids[1])),
                  database="vigil")
        self.act(ids[5], "accept", {"justification": "later"})
        self.act(ids[6], "resolve", {"evidence": "fixed"})
        check()
        # Rows the single writes took to 0 stay; a batch deletes those
        # of the keys its findings leave, and only those: every finding
        # to e3 and rg-m3, back to its severity.
        zeros = zero_rows(self.tenant_id)
        self.assertNotEqual(zeros, [])
        left = keys(self.tenant_id)
        self.import_findings(self.tenant, [
            dict(e, resource_group="rg-m3", tags={"env": "e3"})
            for e in es])
        check()
        self.assertEqual(zero_rows(self.tenant_id),
                         [z for z in zeros if lower(z) not in left])
        # Deletes through the trigger, then the batch again.
        STACK.sql("DELETE FROM findings WHERE tenant_id = %s AND id IN "
                  "(%s, %s)" % (t, q(ids[0]), q(ids[4])), database="vigil")
        check()
        self.import_findings(self.tenant, es)
        check()
        self.assertEqual(tc.num(
            "SELECT open_resources FROM finding_tenant_counts WHERE "
            "tenant_id = %s" % t), tc.num(
            "SELECT COUNT(DISTINCT resource_id) FROM findings WHERE "
            "tenant_id = %s AND state = 'open'" % t))

    def act(self, fid_, action, body):
        r = self.req("POST", "/api/v1/findings/%s/%s" % (fid_, action),
                     body)
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    unittest.main()
