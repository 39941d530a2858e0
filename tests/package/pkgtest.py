#!/usr/bin/env python3
"""pkgtest.py: the Debian package, built, installed on this machine, used,
upgraded and purged (issue #16 item 1). Run by tests/package/run.sh
(./dev test-package, .ci/run); as root, on Debian 12.

  1. builds two packages from copies of the source tree with
     dpkg-buildpackage: the tree as it is (debian/changelog's version) and
     an older one (VERSION~pkgtest1) that lacks the newest migration;
     lintian on the newer: any error fails the test, warnings are printed;
  2. installs the older with apt-get (dependencies from Debian): the vigil
     user and group, /var/lib/vigil, /var/log/vigil, /etc/vigil/secret.key
     (vigil, 0600), vigil.conf root:vigil 0640, no installed file naming
     /usr/local, nothing started;
  3. starts a private MariaDB (tests/integration/stack.py) and points the
     installed /etc/vigil/vigil.conf at it; the installed vigilctl migrates
     it and imports the shipped sample findings for a tenant;
  4. serves GET /api/v1/findings through nginx in front of the pool (as
     vigil-api.service runs it, on /run/vigil/api.sock) and through Apache
     with mod_fcgid spawning vigil-api, both private, on 127.0.0.1 high
     ports, each configured with ONLY the package's file
     (/etc/nginx/snippets/vigil.conf, /etc/apache2/conf-available/
     vigil-fcgid.conf) next to Debian's default site, the one line
     changed in each being the port (80 here, a free port there);
  5. upgrades to the newer package: the vigil.conf edits, the secret key
     and the data are kept, "vigilctl migrate" applies the new migration,
     and the restarted pool serves the same findings;
  6. removes the package (conffiles, key, user kept), then purges it
     (user, group, directories, key and conffiles gone).

Whatever happens, it ends with every process it started stopped by its
pid and the package purged, so the machine is left as it was found; no
system service is started or touched (a policy-rc.d forbids it while
packages are installed, and the package's scripts start nothing where
systemd is not running). Its work directory is removed when it passes and
kept when it fails, with the logs (log/, stack/log/) and the web servers'
configurations in it, not the builds or the database.

Environment: VIGIL_SRCDIR (default: this checkout), PKGTEST_KEEP=1 keeps
the work directory, PKGTEST_JOBS (default 2) for the builds.
"""

import glob
import grp
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.environ.get("VIGIL_SRCDIR") or
                         os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "integration"))
import stack as stk  # noqa: E402

PKG = "vigil"
CONF = "/etc/vigil/vigil.conf"
KEY = "/etc/vigil/secret.key"
RUNDIR = "/run/vigil"
SOCK = RUNDIR + "/api.sock"
POLICY = "/usr/sbin/policy-rc.d"
APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
# A changed conffile is kept on upgrade, never asked about.
APT_OPTS = ["-y", "-q", "-o", "Dpkg::Options::=--force-confdef",
            "-o", "Dpkg::Options::=--force-confold"]

T0 = time.monotonic()


def say(msg):
    print("pkgtest [%5.1fs]: %s" % (time.monotonic() - T0, msg),
          file=sys.stderr, flush=True)


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)
    say("ok: " + what)


def run(argv, log=None, timeout=600, env=None, check_rc=True, cwd=None):
    """Run argv; its output goes to log (a path) when given, else is
    returned. A non-zero exit raises Fail with the output's tail."""
    if log:
        with open(log, "ab") as out:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT, timeout=timeout,
                               env=env, cwd=cwd)
        text = ""
    else:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout,
                           env=env, cwd=cwd)
        text = r.stdout + r.stderr
    if check_rc and r.returncode != 0:
        tail = text
        if log:
            with open(log, errors="replace") as f:
                tail = "".join(f.readlines()[-40:])
        raise Fail("%s: exit %d\n%s" % (" ".join(argv), r.returncode, tail))
    return r.returncode, (r.stdout if not log else "")


def installed(pkg=PKG):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.endswith(" installed")


def known(pkg=PKG):
    """dpkg knows the package at all (installed, or conffiles left)."""
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       capture_output=True, text=True)
    return r.returncode == 0 and "not-installed" not in r.stdout


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def http(url, host, key=None, timeout=20):
    headers = {"Host": host}
    if key:
        headers["X-API-Key"] = key
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def program_pids(prefix="/usr/sbin/vigil-"):
    """Processes running an installed vigil program."""
    pids = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            exe = os.readlink(d + "/exe")
        except OSError:
            continue
        if exe.startswith(prefix) or exe.startswith("/usr/bin/vigilctl"):
            pids.append(int(os.path.basename(d)))
    return pids


class PackageTest:

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="vigil-pkgtest-")
        os.chmod(self.work, 0o755)
        self.logdir = os.path.join(self.work, "log")
        os.makedirs(self.logdir)
        self.procs = {}             # name -> Popen
        self.policy_ours = False
        self.rundir_ours = False
        self.stack = None
        self.debs = {}

    def log(self, name):
        return os.path.join(self.logdir, name)

    # -- apt and dpkg -----------------------------------------------------------

    def policy_on(self):
        """Package scripts start no service: a policy-rc.d answering 101,
        for the length of the test (ours only if there was none)."""
        if not os.path.exists(POLICY):
            with open(POLICY, "w") as f:
                f.write("#!/bin/sh\n# vigil pkgtest: start no service\n"
                        "exit 101\n")
            os.chmod(POLICY, 0o755)
            self.policy_ours = True

    def apt(self, *args, timeout=900):
        run(["apt-get", *APT_OPTS, *args], log=self.log("apt.log"),
            timeout=timeout, env=APT_ENV)

    def build_deps(self):
        """Build-Depends of debian/control, without versions or profiles,
        and what this test runs."""
        with open(os.path.join(SRCDIR, "debian", "control")) as f:
            text = f.read()
        m = re.search(r"^Build-Depends:(.*?)(?=^\S)", text, re.M | re.S)
        deps = []
        for item in m.group(1).split(","):
            item = re.sub(r"\(.*?\)|<.*?>|\[.*?\]", "", item).strip()
            if item:
                deps.append(item.split("|")[0].strip())
        deps = ["debhelper" if d.startswith("debhelper-compat") else d
                for d in deps]
        return deps + ["dpkg-dev", "debhelper", "fakeroot", "lintian",
                       "build-essential", "autoconf", "automake",
                       "mariadb-server", "mariadb-client", "apache2",
                       "libapache2-mod-fcgid", "adduser", "util-linux",
                       "ca-certificates"]

    def prepare(self):
        self.policy_on()
        say("apt-get update; build dependencies")
        self.apt("update")
        want = self.build_deps()
        # Any nginx flavour will do: nginx-light when none is there.
        if shutil.which("nginx") is None:
            want.append("nginx-light")
        self.apt("install", "--no-install-recommends", *want)

    # -- building -----------------------------------------------------------------

    def copy_tree(self, dst):
        """The source tree's files (git's list when it is a checkout; else
        everything but build output) in dst."""
        files = None
        if os.path.exists(os.path.join(SRCDIR, ".git")) and shutil.which("git"):
            r = subprocess.run(["git", "-C", SRCDIR, "ls-files", "-co",
                                "--exclude-standard", "-z"],
                               capture_output=True)
            if r.returncode == 0:
                files = [f for f in r.stdout.decode().split("\0") if f]
        if files is None:
            skip = re.compile(r"^(build[^/]*|var|autom4te\.cache|debian/"
                              r"(build|vigil|\.debhelper))(/|$)")
            files = []
            for top, dirs, names in os.walk(SRCDIR):
                rel = os.path.relpath(top, SRCDIR)
                for n in names:
                    p = os.path.normpath(os.path.join(rel, n))
                    if not skip.match(p):
                        files.append(p)
        for f in files:
            src = os.path.join(SRCDIR, f)
            if not os.path.isfile(src):
                continue        # deleted in the work tree
            d = os.path.join(dst, f)
            os.makedirs(os.path.dirname(d), exist_ok=True)
            shutil.copy2(src, d)

    def drop_newest_migration(self, tree):
        """Remove the newest migration from the tree's Makefile.am and
        db/migrations; its name."""
        mk = os.path.join(tree, "Makefile.am")
        with open(mk) as f:
            text = f.read()
        m = re.search(r"dist_migrations_DATA = \\\n((?:\t[^\n]*\n)+)", text)
        lines = m.group(1).rstrip("\n").split("\n")
        names = [ln.strip().rstrip("\\").strip() for ln in lines]
        newest = max(names)
        keep = [n for n in names if n != newest]
        block = "".join("\t%s%s\n" % (n, " \\" if i < len(keep) - 1 else "")
                        for i, n in enumerate(keep))
        text = text[:m.start(1)] + block + text[m.end(1):]
        with open(mk, "w") as f:
            f.write(text)
        os.unlink(os.path.join(tree, newest))
        # An older release's programs need the older newest migration:
        # they check the schema against it (MIGRATE_NEED; exit 76 when
        # the database lacks it).
        need = os.path.basename(max(keep))[:4]
        mh = os.path.join(tree, "src", "db", "migrate.h")
        with open(mh) as f:
            text = f.read()
        text, n = re.subn(r'(#define MIGRATE_NEED\t)"\d{4}"',
                          r'\g<1>"%s"' % need, text)
        check(n == 1, "the older build needs migration %s" % need)
        with open(mh, "w") as f:
            f.write(text)
        return os.path.basename(newest)

    def changelog_version(self, tree):
        _, out = run(["dpkg-parsechangelog", "-l",
                      os.path.join(tree, "debian", "changelog"),
                      "-S", "Version"])
        return out.strip()

    def set_version(self, tree, version, why):
        path = os.path.join(tree, "debian", "changelog")
        with open(path) as f:
            old = f.read()
        date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        with open(path, "w") as f:
            f.write("vigil (%s) unstable; urgency=medium\n\n  * %s\n\n"
                    " -- Vigil package test <root@localhost>  %s\n\n"
                    % (version, why, date) + old)

    def build(self, name, tree):
        env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=%s" %
                   os.environ.get("PKGTEST_JOBS", "2"))
        env.pop("MAKEFLAGS", None)
        env.pop("MFLAGS", None)
        say("dpkg-buildpackage -us -uc -b (%s)" % name)
        run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=tree,
            log=self.log("build-%s.log" % name), env=env, timeout=1200)
        version = self.changelog_version(tree)
        arch = run(["dpkg", "--print-architecture"])[1].strip()
        deb = os.path.join(os.path.dirname(tree), "%s_%s_%s.deb" % (
            PKG, version, arch))
        check(os.path.isfile(deb), "built %s" % os.path.basename(deb))
        changes = deb[:-len(".deb")] + ".changes"
        return version, deb, changes

    def build_both(self):
        new = os.path.join(self.work, "new", "src")
        old = os.path.join(self.work, "old", "src")
        for t in (new, old):
            os.makedirs(t)
            self.copy_tree(t)
        self.new_version = self.changelog_version(new)
        self.dropped = self.drop_newest_migration(old)
        self.old_version = self.new_version + "~pkgtest1"
        self.set_version(old, self.old_version,
                         "Package test: an older build, without migration "
                         + self.dropped + ".")
        check(subprocess.run(["dpkg", "--compare-versions", self.new_version,
                              "gt", self.old_version]).returncode == 0,
              "%s is newer than %s" % (self.new_version, self.old_version))
        self.debs["old"] = self.build("old", old)
        self.debs["new"] = self.build("new", new)

    def lintian(self):
        say("lintian")
        r = subprocess.run(["lintian", "--info", "--no-tag-display-limit",
                            self.debs["new"][2]], capture_output=True,
                           text=True, timeout=600)
        lines = [ln for ln in (r.stdout + r.stderr).splitlines()
                 if re.match(r"^[EWX]: ", ln)]
        with open(self.log("lintian.log"), "w") as f:
            f.write(r.stdout + r.stderr)
        for ln in lines:
            say("lintian: " + ln)
        errors = [ln for ln in lines if ln.startswith("E: ")]
        check(not errors, "lintian: no errors (%d warnings)" % sum(
            1 for ln in lines if ln.startswith("W: ")))

    # -- install and checks -----------------------------------------------------

    def install(self, which):
        version, deb, _ = self.debs[which]
        say("apt-get install ./%s" % os.path.basename(deb))
        self.apt("install", "--no-install-recommends", deb)
        _, out = run(["dpkg-query", "-W", "-f=${Version}", PKG])
        check(installed() and out.strip() == version,
              "vigil %s installed" % version)

    def check_installed(self):
        check(user_exists("vigil") and group_exists("vigil"),
              "user and group vigil exist")
        u = pwd.getpwnam("vigil")
        check(u.pw_uid < 1000 and u.pw_dir == "/var/lib/vigil",
              "vigil is a system user (uid %d), home /var/lib/vigil"
              % u.pw_uid)
        for d in ("/var/lib/vigil", "/var/log/vigil"):
            st = os.stat(d)
            check(stat.S_ISDIR(st.st_mode) and st.st_uid == u.pw_uid,
                  "%s is vigil's" % d)
        st = os.stat(KEY)
        with open(KEY) as f:
            key = f.read().strip()
        check(st.st_uid == u.pw_uid and stat.S_IMODE(st.st_mode) == 0o600
              and re.fullmatch(r"[0-9a-f]{64}", key),
              "%s: vigil, 0600, 64 hex digits" % KEY)
        st = os.stat(CONF)
        check(st.st_uid == 0 and st.st_gid == grp.getgrnam("vigil").gr_gid
              and stat.S_IMODE(st.st_mode) == 0o640,
              "%s: root:vigil 0640" % CONF)
        _, conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", PKG])
        for c in (CONF, "/etc/cron.d/vigil", "/etc/logrotate.d/vigil",
                  "/etc/nginx/snippets/vigil.conf",
                  "/etc/apache2/conf-available/vigil-fcgid.conf",
                  "/etc/apache2/conf-available/vigil-proxy-fcgi.conf"):
            check(" %s " % c in conffiles, c + " is a conffile")
        _, files = run(["dpkg", "-L", PKG])
        local = []
        n = 0
        for p in files.splitlines():
            if os.path.isfile(p) and not os.path.islink(p):
                n += 1
                with open(p, "rb") as f:
                    if b"/usr/local" in f.read():
                        local.append(p)
        check(n > 100 and not local,
              "none of the %d installed files names /usr/local%s" % (
                  n, (": " + ", ".join(local)) if local else ""))
        for p in ("/usr/sbin/vigil-api", "/usr/sbin/vigil-scan",
                  "/usr/sbin/vigil-spool", "/usr/bin/vigilctl",
                  "/lib/systemd/system/vigil-api.service",
                  "/lib/systemd/system/vigil-spool.service",
                  "/lib/systemd/system/vigil-scan.timer",
                  "/usr/share/vigil/openapi.json",
                  "/usr/share/man/man8/vigil-api.8.gz"):
            check(os.path.exists(p), p + " installed")
        ours = {p.pid for p in self.procs.values()}
        started = []
        for pid in program_pids():
            try:
                if os.getsid(pid) not in ours:
                    started.append(pid)
            except OSError:
                pass
        check(not started, "no vigil program was started (but ours)")

    # -- database ---------------------------------------------------------------

    def db_up(self):
        self.stack = stk.Stack(os.path.join(self.work, "stack"),
                               srcdir=SRCDIR,
                               builddir=os.path.join(self.work, "none"))
        self.stack.mkdirs()
        self.stack.db_init()
        self.stack.db_start()
        self.stack.db_setup()
        say("private MariaDB on 127.0.0.1:%d" % self.stack.state["ports"]["db"])

    def configure(self):
        """Point the installed vigil.conf at the private database, as an
        administrator edits it."""
        with open(CONF) as f:
            text = f.read()
        text += ("\n# Added by the package test.\n"
                 "db_host = 127.0.0.1\ndb_port = %d\ndb_user = vigil\n"
                 "db_password = %s\n" % (self.stack.state["ports"]["db"],
                                         self.stack.state["db_password"]))
        with open(CONF, "w") as f:
            f.write(text)

    def vigilctl(self, *args, as_user=None):
        argv = ["/usr/bin/vigilctl", *args]
        if as_user:
            argv = ["setpriv", "--reuid", as_user, "--regid", as_user,
                    "--init-groups", "--"] + argv
        env = {k: v for k, v in os.environ.items() if k not in
               ("VIGIL_CONF", "VIGIL_MIGRATIONS")}
        _, out = run(argv, env=env, timeout=300)
        return out

    def migrations(self):
        return [r[0] for r in self.stack.query(
            "SELECT version FROM schema_migrations ORDER BY version")]

    # -- the pool, nginx and Apache ------------------------------------------------

    def spawn(self, name, argv, **kw):
        out = open(self.log(name + ".log"), "ab")
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT,
                                 start_new_session=True, **kw)
        finally:
            out.close()
        self.procs[name] = p
        return p

    def stop(self, name, timeout=40):
        p = self.procs.pop(name, None)
        if p is not None and p.poll() is None:
            stk.stop_pid(p.pid, name, timeout=timeout, popen=p)

    def pool_start(self):
        """vigil-api as vigil-api.service runs it: user and group vigil,
        supplementary group www-data, on /run/vigil/api.sock."""
        if not os.path.isdir(RUNDIR):
            os.makedirs(RUNDIR)
            self.rundir_ours = True
        os.chown(RUNDIR, pwd.getpwnam("vigil").pw_uid,
                 grp.getgrnam("vigil").gr_gid)
        os.chmod(RUNDIR, 0o755)
        env = {k: v for k, v in os.environ.items() if k not in
               ("VIGIL_CONF", "VIGIL_MIGRATIONS")}
        p = self.spawn("vigil-api", [
            "setpriv", "--reuid", "vigil", "--regid", "vigil",
            "--groups", "www-data", "--",
            "/usr/sbin/vigil-api", "--listen", SOCK, "--workers", "2",
            "--pidfile", RUNDIR + "/api.pid"], env=env)
        deadline = time.monotonic() + 30
        while not os.path.exists(SOCK):
            if p.poll() is not None or time.monotonic() > deadline:
                raise Fail("vigil-api did not listen on %s:\n%s" % (
                    SOCK, self.tail("vigil-api.log")))
            time.sleep(0.1)

    def tail(self, name, n=30):
        try:
            with open(self.log(name), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    @staticmethod
    def server_host(text, directive):
        """The first name a server block or virtual host answers to."""
        for m in re.finditer(r"^\s*%s\s+([^;\n]+)" % directive, text, re.M):
            for name in m.group(1).split():
                if name not in ("_", '""') and not name.startswith(("~", "*")):
                    return name
        return None

    def nginx_start(self):
        d = os.path.join(self.work, "nginx")
        os.makedirs(os.path.join(d, "sites-enabled"))
        os.makedirs(os.path.join(d, "tmp"))
        self.nginx_port = stk.free_port()
        # Relative includes (fastcgi_params, snippets/...) resolve against
        # the configuration's directory, as under /etc/nginx.
        for n in os.listdir("/etc/nginx"):
            if n not in ("nginx.conf", "sites-enabled", "sites-available",
                         "conf.d"):
                os.symlink(os.path.join("/etc/nginx", n), os.path.join(d, n))
        listen = re.compile(r"^(\s*listen\s+)(?:\[::\]:|0\.0\.0\.0:)?80\b")
        # The package's server: sites-available/vigil (which includes
        # snippets/vigil.conf) where it ships one, else the server block
        # in snippets/vigil.conf.
        site = "/etc/nginx/sites-available/vigil"
        if not os.path.exists(site):
            site = "/etc/nginx/snippets/vigil.conf"
        sites = {"default": "/etc/nginx/sites-enabled/default",
                 "vigil": site}
        check(os.path.exists(sites["default"]),
              "Debian's default nginx site is enabled")
        for name, src in sites.items():
            out = []
            with open(src) as f:
                for line in f:
                    if re.match(r"^\s*listen\s+\[::\]:", line):
                        continue    # one address is enough here
                    out.append(listen.sub(r"\g<1>127.0.0.1:%d" %
                                          self.nginx_port, line))
            with open(os.path.join(d, "sites-enabled", name), "w") as f:
                f.write("".join(out))
        with open(sites["vigil"]) as f:
            self.nginx_host = self.server_host(f.read(), "server_name") \
                or "127.0.0.1"
        t = os.path.join(d, "tmp")
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""# The package test's nginx: Debian's nginx.conf, cut down.
user www-data;
worker_processes 1;
daemon off;
pid %(d)s/nginx.pid;
error_log %(log)s/nginx-error.log warn;
events { worker_connections 64; }
http {
    include mime.types;
    default_type application/octet-stream;
    access_log %(log)s/nginx-access.log;
    client_body_temp_path %(t)s/body;
    proxy_temp_path %(t)s/proxy;
    fastcgi_temp_path %(t)s/fastcgi;
    uwsgi_temp_path %(t)s/uwsgi;
    scgi_temp_path %(t)s/scgi;
    include %(d)s/sites-enabled/*;
}
""" % {"d": d, "t": t, "log": self.logdir})
        os.chmod(t, 0o777)
        argv = ["nginx", "-p", d + "/", "-c", conf, "-e",
                self.log("nginx-error.log")]
        rc, _ = run(argv + ["-t"], log=self.log("nginx-t.log"),
                    check_rc=False)
        warn = self.tail("nginx-t.log")
        say("nginx -t: " + " | ".join(warn.strip().splitlines()))
        check(rc == 0, "nginx accepts the snippet next to the default site")
        check("conflicting server name" not in warn,
              "nginx: no conflicting server name with the default site")
        p = self.spawn("nginx", argv)
        self.wait_port(self.nginx_port, p, "nginx-error.log")

    def apache_start(self):
        d = os.path.join(self.work, "apache")
        for sub in ("", "run", "fcgid", "conf", "log"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.chown(os.path.join(d, "fcgid"), pwd.getpwnam("www-data").pw_uid,
                 grp.getgrnam("www-data").gr_gid)
        self.apache_port = stk.free_port()
        vhost = re.compile(r"(<VirtualHost\s+\*:)80>")
        files = {"conf-vigil-fcgid.conf":
                 "/etc/apache2/conf-available/vigil-fcgid.conf",
                 "site-000-default.conf":
                 "/etc/apache2/sites-enabled/000-default.conf"}
        check(os.path.exists(files["site-000-default.conf"]),
              "Debian's default Apache site is enabled")
        for name, src in files.items():
            with open(src) as f:
                text = vhost.sub(r"\g<1>%d>" % self.apache_port, f.read())
            with open(os.path.join(d, "conf", name), "w") as f:
                f.write(text)
        with open(files["conf-vigil-fcgid.conf"]) as f:
            self.apache_host = self.server_host(f.read(), "ServerName") \
                or "127.0.0.1"
        mods = ["mpm_event", "authz_core", "authz_host", "alias", "fcgid"]
        loads = "\n".join("LoadModule %s_module %s/mod_%s.so" % (
            m, stk.APACHE_MODULES, m) for m in mods)
        conf = os.path.join(d, "httpd.conf")
        # Debian's apache2.conf includes conf-enabled/ before
        # sites-enabled/: the same order here.
        with open(conf, "w") as f:
            f.write("""# The package test's Apache: Debian's apache2.conf, cut down.
ServerRoot %(d)s
ServerName 127.0.0.1
Define APACHE_LOG_DIR %(d)s/log
Listen 127.0.0.1:%(port)d
PidFile %(d)s/run/apache2.pid
ErrorLog %(log)s/apache-error.log
LogLevel warn
DefaultRuntimeDir %(d)s/run
Mutex file:%(d)s/run default
%(loads)s
User www-data
Group www-data
LogFormat "%%h %%l %%u %%t \\"%%r\\" %%>s %%O \\"%%{Referer}i\\" \\"%%{User-Agent}i\\"" combined
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory /var/www/>
    Require all granted
</Directory>
FcgidIPCDir %(d)s/fcgid
FcgidProcessTableFile %(d)s/run/fcgid_shm
IncludeOptional %(d)s/conf/conf-*.conf
IncludeOptional %(d)s/conf/site-*.conf
""" % {"d": d, "port": self.apache_port, "loads": loads,
       "log": self.logdir})
        rc, _ = run(["apache2", "-f", conf, "-t"],
                    log=self.log("apache-t.log"), check_rc=False)
        say("apache2 -t: " + " | ".join(
            self.tail("apache-t.log").strip().splitlines()))
        check(rc == 0, "Apache accepts the conf next to the default site")
        p = self.spawn("apache", ["apache2", "-f", conf, "-DFOREGROUND"])
        self.apache_conf = conf
        self.wait_port(self.apache_port, p, "apache-error.log")

    def wait_port(self, port, p, logname, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise Fail("exited %s:\n%s" % (p.returncode,
                                               self.tail(logname)))
            try:
                stk.socket.create_connection(("127.0.0.1", port), 0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise Fail("nothing listens on %d:\n%s" % (port, self.tail(logname)))

    def findings_via(self, what, port, host):
        url = "http://127.0.0.1:%d/api/v1/findings?limit=100" % port
        status, ctype, body = http(url, host, self.api_key)
        check(status == 200 and ctype.startswith("application/json"),
              "%s (Host: %s): GET /api/v1/findings answers %d %s" % (
                  what, host, status, ctype))
        doc = json.loads(body)
        return sorted(f["id"] for f in doc["findings"])

    # -- the test -------------------------------------------------------------------

    def test(self):
        if os.geteuid() != 0:
            raise Fail("the package test installs a package: run it as root")
        if known() or user_exists("vigil") or group_exists("vigil"):
            raise Fail("a vigil package, user or group is already here; the "
                       "package test would replace it: purge it first")
        self.prepare()
        self.build_both()
        self.lintian()

        # Install the older package.
        self.install("old")
        self.check_installed()
        with open(KEY) as f:
            key_before = f.read()

        # Database, migrations and data with the installed programs.
        self.db_up()
        self.configure()
        self.vigilctl("migrate")
        applied = self.migrations()
        check(applied and not any(self.dropped.startswith(v.zfill(4) + "_")
                                  for v in applied),
              "vigilctl migrate: %d migrations, up to %s (not %s)" % (
                  len(applied), applied[-1], self.dropped))
        self.vigilctl("tenant", "create", "pkgtest")
        out = self.vigilctl("key", "create", "--tenant", "pkgtest",
                            "--scopes", "read,write,admin")
        self.api_key = out.splitlines()[0].strip()
        self.vigilctl("findings", "import", "--tenant", "pkgtest",
                      "/usr/share/vigil/samples/findings.json")

        # nginx in front of the pool; Apache with mod_fcgid.
        self.pool_start()
        self.nginx_start()
        ids = self.findings_via("nginx", self.nginx_port, self.nginx_host)
        check(len(ids) > 0, "nginx: the imported findings (%d)" % len(ids))
        run(["adduser", "--quiet", "www-data", "vigil"])
        self.apache_start()
        ids2 = self.findings_via("Apache mod_fcgid", self.apache_port,
                                 self.apache_host)
        check(ids2 == ids, "Apache mod_fcgid: the same findings")
        self.stop("apache")
        self.stack.fcgid_conf = CONF
        self.stack.fcgid_gate_remove()

        # Upgrade.
        self.install("new")
        self.check_installed()
        with open(KEY) as f:
            check(f.read() == key_before, "upgrade: the secret key is kept")
        with open(CONF) as f:
            check("# Added by the package test." in f.read(),
                  "upgrade: the edited vigil.conf is kept")
        self.vigilctl("migrate")
        after = self.migrations()
        check(len(after) == len(applied) + 1 and
              self.dropped.startswith(after[-1].zfill(4) + "_"),
              "upgrade: vigilctl migrate applied %s" % self.dropped)
        self.stop("vigil-api")
        self.pool_start()
        check(self.findings_via("nginx after the upgrade", self.nginx_port,
                                self.nginx_host) == ids,
              "upgrade: the same findings through the new pool")
        self.stop("nginx")
        self.stop("vigil-api")

        # Remove, then purge.
        say("apt-get remove vigil")
        self.apt("remove", PKG)
        check(not installed() and not os.path.exists("/usr/sbin/vigil-api"),
              "remove: the programs are gone")
        check(os.path.exists(CONF) and os.path.exists(KEY) and
              user_exists("vigil"),
              "remove: conffiles, the secret key and the user are kept")
        say("apt-get purge vigil")
        self.apt("purge", PKG)
        self.check_purged()

    def check_purged(self):
        check(not known(), "purge: dpkg no longer knows vigil")
        check(not user_exists("vigil") and not group_exists("vigil"),
              "purge: user and group vigil are gone")
        left = [p for p in ("/etc/vigil", "/var/lib/vigil", "/var/log/vigil",
                            "/etc/cron.d/vigil", "/etc/logrotate.d/vigil",
                            "/etc/nginx/snippets/vigil.conf",
                            "/etc/apache2/conf-available/vigil-fcgid.conf")
                if os.path.lexists(p)]
        check(not left, "purge: nothing left of %s" % (left or
                                                       "/etc/vigil etc."))

    # -- leaving the machine as it was -----------------------------------------------

    def cleanup(self):
        for name in list(self.procs):
            try:
                self.stop(name, timeout=20)
            except Exception as e:     # keep cleaning up
                say("stopping %s: %s" % (name, e))
        if self.stack is not None:
            self.stack.fcgid_conf = CONF
            self.stack.fcgid_gate_remove()
            try:
                self.stack.db_stop()
            except Exception as e:
                say("stopping MariaDB: %s" % e)
        if known():
            say("cleanup: purging vigil")
            subprocess.run(["dpkg", "--purge", PKG], env=APT_ENV,
                           stdin=subprocess.DEVNULL, capture_output=True)
        if group_exists("vigil") and not known():
            subprocess.run(["delgroup", "--quiet", "vigil"],
                           capture_output=True)
        if self.rundir_ours:
            shutil.rmtree(RUNDIR, ignore_errors=True)
        if self.policy_ours:
            try:
                os.unlink(POLICY)
            except OSError:
                pass


def main():
    t = PackageTest()
    ok = False
    try:
        t.test()
        ok = True
    except Fail as e:
        say("FAILED: %s" % e)
    except Exception as e:
        import traceback
        traceback.print_exc()
        say("FAILED: %r" % e)
    finally:
        t.cleanup()
    if ok and not os.environ.get("PKGTEST_KEEP"):
        shutil.rmtree(t.work, ignore_errors=True)
    else:
        # The logs are kept; the database, the builds and the trees are not.
        if not os.environ.get("PKGTEST_KEEP"):
            for sub in ("stack/db", "old", "new"):
                shutil.rmtree(os.path.join(t.work, sub), ignore_errors=True)
        say("work directory (logs): " + t.work)
    say("%s in %.0f s" % ("passed" if ok else "FAILED",
                         time.monotonic() - T0))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
