"""test_ops.py: the programs as an operator meets them (issue 16 item 5).

The same cause gives the same exit status (sysexits.h) in vigil-api,
vigil-scan, vigil-spool and vigilctl; every program answers --help and
--version; vigilctl config check lists every problem of a vigil.conf, the
files it names as the service's user would meet them and the database;
vigilctl rules check names the file and JSON path of each bad rule; a bad
rule file is skipped (logged, listed as invalid by GET /api/v1/rules, which
answers 200) while the scanner goes on with the good ones.

Run by run.py, which sets STACK here.
"""

import email.message
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import unittest

import test_api as api
from test_api import auth, new_key, new_tenant

STACK = None        # a stack.Stack, set by run.py

EX_USAGE, EX_DATAERR, EX_NOINPUT = 64, 65, 66
EX_UNAVAILABLE, EX_TEMPFAIL, EX_NOPERM, EX_CONFIG = 69, 75, 77, 78

BROKEN_RULE = {
    "id": "broken-rule", "provider": "azure",
    "resource_type": "Microsoft.Storage/storageAccounts",
    "title": "Broken", "severity": "high", "category": "storage",
    "framework": "CIS Azure 3.1",
    "description": "d", "recommendation": "r",
    "condition": {"all": [{"path": "properties.x", "eq": 1},
                          {"path": "properties.y", "op": 2}]}}


def setUpModule():
    global STACK
    if STACK is None:
        STACK = api.STACK
    if STACK is None:
        raise unittest.SkipTest("run through run.py")


def package_version():
    """AC_INIT's version, as configure.ac says it."""
    with open(os.path.join(STACK.srcdir, "configure.ac")) as f:
        m = re.search(r"AC_INIT\(\[[^]]*\],\s*\[([^]]+)\]", f.read())
    return m.group(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class OpsBase(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vigil-ops-")
        os.chmod(self.tmp, 0o755)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def conf(self, name="vigil.conf", drop=(), extra=(), **kv):
        """A copy of the stack's vigil.conf with keys replaced (kv), lines
        appended as they are (extra) and keys dropped."""
        path = os.path.join(self.tmp, name)
        with open(STACK.conf) as f:
            lines = [ln for ln in f.read().splitlines()
                     if ln.split("=")[0].strip() not in set(kv) | set(drop)]
        lines += ["%s = %s" % (k, v) for k, v in kv.items()]
        lines += list(extra)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(path, 0o644)
        return path

    def rules_copy(self, broken=True):
        """The stack's rules_dir copied, with a file holding a bad rule
        and one that is not JSON."""
        d = os.path.join(self.tmp, "rules")
        shutil.copytree(os.path.join(STACK.srcdir, "etc", "rules"), d)
        if broken:
            with open(os.path.join(d, "azure", "zz-broken.json"), "w") as f:
                json.dump([BROKEN_RULE], f)
            with open(os.path.join(d, "azure", "zz-truncated.json"),
                      "w") as f:
                f.write('{"id": "trunc", ')
        return d

    def run_prog(self, argv, conf=None, env_extra=None):
        env = dict(STACK.env())
        if conf is not None:
            env["VIGIL_CONF"] = conf
        env.update(env_extra or {})
        return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=120)

    def programs(self, conf):
        """(name, argv) of each program, doing something that reads the
        configuration and then needs the database where it can."""
        return [
            ("vigil-scan", [STACK.vigil_scan_bin, "-c", conf, "--due"]),
            ("vigil-spool", [STACK.vigil_spool_bin, "-c", conf, "--once"]),
            ("vigilctl", [STACK.vigilctl_bin, "-c", conf, "tenant",
                          "list"]),
        ]


class T230ExitStatus(OpsBase):
    """One cause, one exit status, whichever program meets it. Before,
    the same database outage gave 3, 78 and 1, and a usage error 2, 64
    and 2."""

    def assert_all(self, runs, want):
        got = {name: r.returncode for name, r in runs}
        self.assertEqual(got, {name: want for name, _ in runs},
                         "\n".join("%s: %s" % (n, r.stderr[-400:])
                                   for n, r in runs))

    def test_database_unreachable_is_69_everywhere(self):
        conf = self.conf(db_host="127.0.0.1", db_port=str(free_port()))
        runs = [(n, self.run_prog(a)) for n, a in self.programs(conf)]
        runs.append(("vigil-scan --once", self.run_prog(
            [STACK.vigil_scan_bin, "-c", conf, "--once", "--integration",
             "int_" + "0" * 26])))
        runs.append(("vigilctl migrate", self.run_prog(
            [STACK.vigilctl_bin, "-c", conf, "migrate"])))
        runs.append(("vigilctl key create", self.run_prog(
            [STACK.vigilctl_bin, "-c", conf, "key", "create", "--tenant",
             "x", "--scopes", "read"])))
        runs.append(("vigilctl findings expire", self.run_prog(
            [STACK.vigilctl_bin, "-c", conf, "findings", "expire"])))
        self.assert_all(runs, EX_UNAVAILABLE)

    def test_configuration_error_is_78_everywhere(self):
        for conf in (self.conf(extra=["no_such_key = 1"]),
                     self.conf(workers="many"),
                     os.path.join(self.tmp, "missing.conf")):
            runs = [(n, self.run_prog(a)) for n, a in self.programs(conf)]
            runs.append(("vigil-api", self.run_prog(
                [STACK.vigil_api, "-c", conf, "--listen",
                 os.path.join(self.tmp, "api.sock")])))
            with self.subTest(conf=conf):
                self.assert_all(runs, EX_CONFIG)

    def test_unreadable_configuration_is_77_everywhere(self):
        conf = self.conf()
        os.chmod(conf, 0o600)
        # As an unprivileged user, which cannot open the root-owned file.
        runs = []
        for n, a in self.programs(conf):
            runs.append((n, self.run_prog(["setpriv", "--reuid=nobody",
                                           "--regid=nogroup", "--clear-groups",
                                           *a])))
        self.assert_all(runs, EX_NOPERM)

    def test_usage_error_is_64_everywhere(self):
        runs = []
        for name, argv in ((p, [getattr(STACK, b), "--no-such-option"])
                           for p, b in (("vigil-api", "vigil_api"),
                                        ("vigil-scan", "vigil_scan_bin"),
                                        ("vigil-spool", "vigil_spool_bin"),
                                        ("vigilctl", "vigilctl_bin"))):
            runs.append((name, self.run_prog(argv)))
        runs.append(("vigilctl frob", self.run_prog([STACK.vigilctl_bin,
                                                      "frob"])))
        runs.append(("vigil-scan --once", self.run_prog(
            [STACK.vigil_scan_bin, "--once"])))
        self.assert_all(runs, EX_USAGE)
        for name, r in runs:
            self.assertIn("usage:", r.stderr, name)
            self.assertEqual(r.stdout, "", name)

    def test_input_files(self):
        """vigilctl: an input file that is not there is 66, one that is
        malformed 65."""
        r = self.run_prog([STACK.vigilctl_bin, "report", "render",
                           "--format", "csv", "/nonexistent/doc.json"])
        self.assertEqual(r.returncode, EX_NOINPUT, r.stderr)
        bad = os.path.join(self.tmp, "doc.json")
        with open(bad, "w") as f:
            f.write("{not json")
        r = self.run_prog([STACK.vigilctl_bin, "report", "render",
                           "--format", "csv", bad])
        self.assertEqual(r.returncode, EX_DATAERR, r.stderr)
        tenant, _ = new_tenant("t230in")
        r = STACK.vigilctl("findings", "import", "--tenant", tenant,
                           "/nonexistent/findings.json", check=False)
        self.assertEqual(r.returncode, EX_NOINPUT, r.stderr)


class T231HelpVersion(OpsBase):
    """--help and --version on every program; vigilctl --help used to
    answer "invalid option -- '-'"."""

    PROGS = (("vigil-api", "vigil_api"), ("vigil-scan", "vigil_scan_bin"),
             ("vigil-spool", "vigil_spool_bin"), ("vigilctl", "vigilctl_bin"))

    def test_version(self):
        want = package_version()
        for name, attr in self.PROGS:
            for opt in ("--version", "-V"):
                r = self.run_prog([getattr(STACK, attr), opt])
                self.assertEqual((r.returncode, r.stdout, r.stderr),
                                 (0, "%s %s\n" % (name, want), ""),
                                 (name, opt))

    def test_help(self):
        for name, attr in self.PROGS:
            for opt in ("--help", "-h"):
                r = self.run_prog([getattr(STACK, attr), opt])
                self.assertEqual(r.returncode, 0, (name, opt, r.stderr))
                self.assertTrue(r.stdout.startswith("usage: " + name),
                                (name, r.stdout))
                for word in ("--config", "--help", "--version",
                             "Exit status", "69 database unreachable"
                             if name != "vigil-api" else "78"):
                    self.assertIn(word, r.stdout, (name, word))
        r = self.run_prog([STACK.vigilctl_bin, "--help"])
        for sub in ("migrate", "tenant create", "key create",
                    "findings import", "audit verify", "config check",
                    "rules check", "report render"):
            self.assertIn("vigilctl [-c file] " + sub
                          if sub != "report render" else sub, r.stdout, sub)
        r = self.run_prog([STACK.vigil_scan_bin, "--help"])
        for opt in ("--due", "--once", "--integration", "--dry-run"):
            self.assertIn(opt, r.stdout)
        r = self.run_prog([STACK.vigil_spool_bin, "--help"])
        for opt in ("--once", "--concurrency"):
            self.assertIn(opt, r.stdout)
        r = self.run_prog([STACK.vigil_api, "--help"])
        for opt in ("--listen", "--workers", "--pidfile"):
            self.assertIn(opt, r.stdout)


class T232ConfigCheck(OpsBase):
    """vigilctl config check: every problem of a vigil.conf in one run,
    the files as the service's user meets them, the database."""

    def check(self, conf, *users):
        args = [STACK.vigilctl_bin, "-c", conf, "config", "check"]
        for u in users:
            args += ["--user", u]
        return self.run_prog(args)

    def problems(self, r):
        return [ln[len("problem: "):] for ln in r.stdout.splitlines()
                if ln.startswith("problem: ")]

    def test_the_stack_configuration_is_clean(self):
        r = self.check(STACK.conf, "root")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.problems(r), [], r.stdout)
        self.assertIn("0 problems (checked as user root)", r.stdout)

    def test_every_mistake_in_one_run(self):
        logdir = os.path.join(self.tmp, "no-such-dir")
        conf = self.conf(rules_dir=self.rules_copy(),
                         log=os.path.join(logdir, "vigil.log"),
                         extra=["frobnicate = 1", "workers = 0",
                                "allow_http_webhooks = perhaps",
                                "spool_concurrency = 8",
                                "spool_concurrency = 9",
                                "public_url = ftp://x"])
        r = self.check(conf, "root")
        self.assertEqual(r.returncode, EX_CONFIG, r.stdout + r.stderr)
        got = "\n".join(self.problems(r))
        for want in ("vigil.conf: line %d: frobnicate: unknown key",
                     "vigil.conf: line %d: workers: out of range",
                     "vigil.conf: line %d: allow_http_webhooks: expected "
                     "true or false",
                     "vigil.conf: line %d: spool_concurrency: set again",
                     "log: %s: No such file or directory" % logdir,
                     "public_url: must start with https:// or http://",
                     "zz-broken.json: rule broken-rule: "
                     "condition.all[1].op: unknown operator",
                     "zz-truncated.json: invalid JSON"):
            if "%d" in want:
                want = re.escape(want).replace("%d", r"\d+")
            else:
                want = re.escape(want)
            self.assertRegex(got, want)

    def test_files_as_the_service_user(self):
        """A file the service's user cannot read is named, with the user;
        exit 77 when that is all."""
        key = os.path.join(self.tmp, "secret.key")
        shutil.copy(self.conf_value("secret_key_file"), key)
        os.chmod(key, 0o600)
        tpl = os.path.join(self.tmp, "templates")
        shutil.copytree(os.path.join(STACK.srcdir, "etc", "templates"), tpl)
        os.chmod(tpl, 0o700)
        conf = self.conf(secret_key_file=key, template_dir=tpl,
                         rules_dir=self.rules_copy(broken=False))
        os.chmod(conf, 0o644)
        r = self.check(conf, "root")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.check(conf, "nobody")
        got = self.problems(r)
        self.assertIn("secret_key_file: %s: not readable by user nobody"
                      % key, got, r.stdout)
        self.assertIn("template_dir: %s: not readable by user nobody"
                      % tpl, got, r.stdout)
        self.assertEqual(r.returncode, EX_NOPERM, r.stdout)
        self.assertIn("(checked as user nobody)", r.stdout)

    def conf_value(self, key):
        with open(STACK.conf) as f:
            for ln in f:
                k, _, v = ln.partition("=")
                if k.strip() == key:
                    return v.strip()
        return None

    def test_database_unreachable_and_not_migrated(self):
        conf = self.conf(db_port=str(free_port()), db_host="127.0.0.1")
        r = self.check(conf, "root")
        self.assertEqual(r.returncode, EX_UNAVAILABLE, r.stdout + r.stderr)
        self.assertTrue(any(p.startswith("database: connect:")
                            for p in self.problems(r)), r.stdout)
        # An empty database the user may use: reachable, not migrated.
        stmts = ["CREATE DATABASE IF NOT EXISTS vigil_t232"]
        for host in ("127.0.0.1", "localhost"):
            stmts.append("GRANT ALL PRIVILEGES ON vigil_t232.* TO "
                         "'vigil'@'%s'" % host)
        STACK.sql("; ".join(stmts))
        try:
            conf = self.conf(db_name="vigil_t232")
            r = self.check(conf, "root")
            self.assertEqual(r.returncode, EX_CONFIG, r.stdout + r.stderr)
            self.assertTrue(any(p.startswith("database: not migrated")
                                for p in self.problems(r)), r.stdout)
        finally:
            STACK.sql("DROP DATABASE IF EXISTS vigil_t232")

    def test_usage(self):
        for args in (["config"], ["config", "frob"],
                     ["config", "check", "--user"],
                     ["config", "check", "extra"]):
            r = self.run_prog([STACK.vigilctl_bin, *args])
            self.assertEqual(r.returncode, EX_USAGE, (args, r.stderr))


class T233RulesCheck(OpsBase):
    """vigilctl rules check DIR: every bad rule of every file, with the
    file and the JSON path."""

    def test_broken_files(self):
        d = self.rules_copy()
        with open(os.path.join(d, "azure", "zz-two.json"), "w") as f:
            json.dump([dict(BROKEN_RULE, id="two-a", severity="urgent"),
                       dict(BROKEN_RULE, id="two-b",
                            condition={"path": "a", "eq": 1}),
                       dict(BROKEN_RULE, id="nsg-ssh-internet",
                            condition={"path": "a", "eq": 1})], f)
        r = self.run_prog([STACK.vigilctl_bin, "rules", "check", d])
        self.assertEqual(r.returncode, EX_DATAERR, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        az = os.path.join(d, "azure")
        for want in (
                "%s/zz-broken.json: rule broken-rule: condition.all[1].op: "
                "unknown operator" % az,
                "%s/zz-truncated.json: invalid JSON" % az,
                "%s/zz-two.json: rule two-a: severity: " % az,
                "%s/zz-two.json: rule nsg-ssh-internet: id: duplicate id "
                "(also in %s/" % (az, az)):
            self.assertTrue(any(ln.startswith(want) for ln in lines),
                            (want, r.stdout))
        # two-b is good but its file is not: no line for it
        self.assertFalse(any("two-b" in ln for ln in lines), r.stdout)
        self.assertRegex(lines[-1], r"^\d+ rules loaded, 4 problems$")

    def test_good_and_missing(self):
        d = self.rules_copy(broken=False)
        r = self.run_prog([STACK.vigilctl_bin, "rules", "check", d])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"^\d+ rules loaded, 0 problems\n$")
        # without DIR: vigil.conf's rules_dir
        r = self.run_prog([STACK.vigilctl_bin, "rules", "check"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.run_prog([STACK.vigilctl_bin, "rules", "check",
                           os.path.join(self.tmp, "none")])
        self.assertEqual(r.returncode, EX_NOINPUT, r.stdout + r.stderr)
        r = self.run_prog([STACK.vigilctl_bin, "rules", "frob"])
        self.assertEqual(r.returncode, EX_USAGE, r.stderr)


class T234BadRuleFile(OpsBase):
    """One malformed rule file used to stop every scan and make GET
    /api/v1/rules answer 500. Now it is skipped and logged, listed as
    invalid by GET /api/v1/rules (200), and the scanner scans with the
    good rules."""

    @classmethod
    def setUpClass(cls):
        cls.tenant, cls.tenant_id = new_tenant("t234")
        cls.key, _ = new_key(cls.tenant, "read,write,admin")

    def cgi_get(self, conf, uri):
        """GET uri from vigil-api as CGI with conf: (status, body,
        stderr), checked against doc/openapi.json."""
        path, _, query = uri.partition("?")
        env = {"VIGIL_CONF": conf, "GATEWAY_INTERFACE": "CGI/1.1",
               "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "GET",
               "REQUEST_URI": uri, "SCRIPT_NAME": "", "QUERY_STRING": query,
               "REMOTE_ADDR": "127.0.0.1", "HTTP_X_API_KEY": self.key}
        r = self.run_prog([STACK.vigil_api], conf=conf, env_extra=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        status, hdrs, body = api.parse_cgi(r.stdout.encode("latin-1"))
        msg = email.message.Message()       # names case-insensitive
        for k, v in hdrs.items():
            msg[k] = v
        doc = api.OpenApi(os.path.join(STACK.srcdir, "doc", "openapi.json"))
        problems = doc.check("GET", uri, status, msg, body)
        self.assertEqual(problems, [], body[:500])
        return status, json.loads(body), r.stderr

    def test_rules_listed_as_invalid(self):
        conf = self.conf(rules_dir=self.rules_copy())
        status, body, err = self.cgi_get(conf, "/api/v1/rules?limit=500")
        self.assertEqual(status, 200, body)
        ids = [r["id"] for r in body["rules"]]
        self.assertIn("nsg-ssh-internet", ids)
        self.assertNotIn("broken-rule", ids)
        invalid = body["invalid"]
        self.assertEqual(
            [i["file"] for i in invalid],
            ["azure/zz-broken.json", "azure/zz-truncated.json"], invalid)
        self.assertEqual(invalid[0]["error"], "rule broken-rule: "
                         "condition.all[1].op: unknown operator (eq, ne, in, "
                         "not_in, lt, le, gt, ge, exists, absent, ports, "
                         "internet)")
        self.assertTrue(invalid[1]["error"].startswith("invalid JSON"))
        self.assertIn("zz-broken.json: rule broken-rule", err)
        self.assertIn("(file skipped)", err)
        # one rule by id still answers, the good ones
        status, body, _ = self.cgi_get(conf,
                                       "/api/v1/rules/nsg-ssh-internet")
        self.assertEqual(status, 200, body)
        # The stack's own pack: no invalid file (through nginx).
        r = api.request(STACK.urls()["nginx"], "GET", "/api/v1/rules",
                        headers=auth(self.key))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["invalid"], [])

    def test_scanner_goes_on_with_the_good_rules(self):
        conf = self.conf(rules_dir=self.rules_copy())
        inv = os.path.join(self.tmp, "inventory")
        shutil.copytree(os.path.join(STACK.srcdir, "etc", "samples",
                                     "azure"), inv)
        r = STACK.vigilctl("integration", "add-inventory", "--tenant",
                           self.tenant, "--name", "t234",
                           "--path", inv)
        integ = r.stdout.strip()
        p = self.run_prog([STACK.vigil_scan_bin, "-c", conf, "--once",
                           "--integration", integ])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("zz-broken.json: rule broken-rule: "
                      "condition.all[1].op", p.stderr)
        self.assertIn("(file skipped)", p.stderr)
        m = re.search(r"(\d+) detected", p.stdout)
        self.assertTrue(m and int(m.group(1)) > 0, p.stdout)
        rows = STACK.query("SELECT COUNT(*) FROM findings WHERE "
                           "integration_id = '%s' AND state = 'open'"
                           % integ)
        opened = int(rows[0][0])
        self.assertGreater(opened, 0)
        # With a file skipped, findings it may have made are not resolved:
        # remove a good rule file too, scan again: nothing resolved.
        os.unlink(os.path.join(self.tmp, "rules", "azure",
                               "nsg-ssh-internet.json"))
        p = self.run_prog([STACK.vigil_scan_bin, "-c", conf, "--once",
                           "--integration", integ])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("0 resolved", p.stdout)


if __name__ == "__main__":
    unittest.main()
