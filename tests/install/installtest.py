#!/usr/bin/env python3
"""installtest.py: the README's install path, run verbatim on a fresh Debian
12 system that the test builds and boots itself (issue #16, "the README
install path works verbatim on a fresh machine"). Run by
tests/install/run.sh (./dev test-install); as root, on Debian 12.

  1. debootstrap: a minimal bookworm (minbase, plus systemd, dbus and
     ca-certificates: what boots) in a temporary directory, from the Debian
     mirror of this machine's apt sources, once per run; each path gets a
     copy of it; its sources.list names bookworm, bookworm-updates and
     bookworm-security, as an installed system's does;
  2. a network namespace of its own (vit-PID) with a veth pair on private
     addresses (10.231.16.1 the host's end, .2 the container's), and no
     route out: apt reaches the mirror through tests/install/aptproxy.py,
     listening on the host's end only; every request of the test goes to
     the container's address; nothing listens on this machine's own
     addresses;
  3. boots it with systemd-nspawn -b in that namespace (--register=no
     --keep-unit: this machine's PID 1 is not systemd), so systemd, the
     Debian packages' own units (mariadb, nginx, apache2) and systemctl
     run as on a real host; commands enter it with nsenter;
  4. puts the source in /root/vigil as a copy of the git checkout (the
     tracked files as they are in the working tree), and what the README
     assumes the user has: a certificate for vigil.example.com from a CA
     the system trusts (made here with openssl, the CA added to the
     container's trust store) in /etc/ssl/vigil/, and vigil.example.com
     resolving to the container (/etc/hosts);
  5. takes the README's command blocks marked <!-- install-test: NAME -->
     and runs each unchanged with bash -e -x, in /root/vigil, as root, the
     way a user pastes it: apt-get's "Do you want to continue?" answered
     yes (APT::Get::Assume-Yes, as the user would type y), debconf
     noninteractive; for "$EDITOR FILE" lines EDITOR is a script doing the
     edit the comment on that line asks for (tests/install/editor.sh);
  6. checks what the user would see: the units active under systemd, GET
     /healthz 200 over https through the web server, an authenticated GET
     /api/v1/findings with the key the block printed, an inventory
     integration over the installed samples scanned by the vigil-scan
     service the timer starts (the scan completed, findings listed); then
     restarts the units and the web server and checks it serves again;
     then reboots the container and checks the enabled units came back.

Paths (INSTALLTEST_PATHS, space-separated, default all three, in order):
  from-source   README "Deploying": blocks from-source (build, install
                under /usr/local, user, key, database, vigil.conf, units
                and timers) and nginx-tls (nginx with TLS in front)
  apache-fcgid  blocks from-source and apache-fcgid (Apache spawning
                vigil-api with mod_fcgid instead of nginx and the pool)
  package       README "Install from the package": block package (make
                deb, apt-get install ./vigil_*.deb, database, nginx)
Each path gets its own fresh container.

bash -e stops a block at its first failing command, except one that fails
inside an "a && b" list short of its last member: the block then goes on
to the next line, as a pasted block would, and the failure shows as the
next command's or the checks' (the log has the whole trace).

Whatever happens it ends with the container powered off (or killed by its
PID), the namespace and veth pair removed and the proxy stopped, so the
machine is left as it was found. The work directory is removed when it
passes and kept when it fails (INSTALLTEST_KEEP=1 keeps it always), with
the console log, each block's output and the proxy's log under log/.

Environment: VIGIL_SRCDIR (default: this checkout), INSTALLTEST_MIRROR
(default http://deb.debian.org/debian), INSTALLTEST_SUBNET (default
10.231.16: its .1 and .2 are used, and the proxy's port 3142 on .1; two
runs at once on one machine need different subnets), INSTALLTEST_PATHS,
INSTALLTEST_KEEP.
"""

import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import socket
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.environ.get("VIGIL_SRCDIR") or
                         os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)
import aptproxy  # noqa: E402

MIRROR = os.environ.get("INSTALLTEST_MIRROR", "http://deb.debian.org/debian")
SECURITY = os.environ.get("INSTALLTEST_SECURITY_MIRROR",
                          "http://deb.debian.org/debian-security")
SUBNET = os.environ.get("INSTALLTEST_SUBNET", "10.231.16")
HOST_ADDR = SUBNET + ".1"
GUEST_ADDR = SUBNET + ".2"
PROXY_PORT = 3142
NAME = "vigil.example.com"
SUITE = "bookworm"
# What boots: systemd as init, dbus for systemctl's peers, the CA store the
# README's curl and the web server's certificate rely on.
INCLUDE = "systemd,systemd-sysv,dbus,ca-certificates"
TIMERS = ["vigil-scan.timer", "vigil-expire.timer", "vigil-prune.timer"]
# Each path: the README blocks it runs in order, in one fresh container;
# the scheme its web server serves; the units it leaves enabled and
# running (restarted, in this order, by the restart check); where the
# installed sample inventory is.
PATHDEFS = {
    "from-source": {
        "blocks": ["from-source", "nginx-tls"], "scheme": "https",
        "units": ["mariadb", "vigil-api", "vigil-spool", "nginx"],
        "samples": "/usr/local/share/vigil/samples/azure"},
    "apache-fcgid": {
        "blocks": ["from-source", "apache-fcgid"], "scheme": "http",
        "units": ["mariadb", "vigil-spool", "apache2"],
        # Apache spawns vigil-api: the pool's unit is off.
        "off": ["vigil-api"],
        "samples": "/usr/local/share/vigil/samples/azure"},
    "package": {
        "blocks": ["package"], "scheme": "http",
        "units": ["mariadb", "vigil-api", "vigil-spool", "nginx"],
        "samples": "/usr/share/vigil/samples/azure"},
}
PATHS = os.environ.get("INSTALLTEST_PATHS",
                       "from-source apache-fcgid package").split()

T0 = time.monotonic()


def say(msg):
    print("installtest [%6.1fs]: %s" % (time.monotonic() - T0, msg),
          file=sys.stderr, flush=True)


class Failed(Exception):
    pass


def run(argv, check=True, timeout=600, **kw):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise Failed("%s: exit %d\n%s%s" % (" ".join(argv), p.returncode,
                                            p.stdout[-3000:],
                                            p.stderr[-3000:]))
    return p


def readme_block(tree, name):
    """The fenced sh block right after <!-- install-test: NAME --> in
    the README.md of the source copied into the container, as the reader
    sees it."""
    with open(os.path.join(tree, "README.md"), encoding="utf-8") as f:
        text = f.read()
    # Inside a list item the marker and the fence are indented; the
    # reader copies the lines without that indentation.
    m = re.search(r"^( *)<!-- install-test: %s -->\n+\1```sh\n(.*?)^\1```$"
                  % re.escape(name), text, re.S | re.M)
    if not m:
        raise Failed("README.md has no block marked "
                     "<!-- install-test: %s -->" % name)
    ind = m.group(1)
    return "".join(ln[len(ind):] if ln.startswith(ind) else ln
                   for ln in m.group(2).splitlines(True))


class Container:
    """A debootstrapped Debian 12 booted under systemd-nspawn in a network
    namespace of its own."""

    def __init__(self, work, tag):
        self.work = work
        self.tag = tag
        self.root = os.path.join(work, "root-" + tag)
        self.log = os.path.join(work, "log")
        self.netns = "vit%d" % os.getpid()
        self.veth = "vit%dh" % os.getpid()
        self.nspawn = None
        self.console = None
        self.leader = None

    # -- the network ----------------------------------------------------
    def net_up(self):
        ns, v = self.netns, self.veth
        run(["ip", "netns", "add", ns])
        run(["ip", "link", "add", v, "type", "veth", "peer", "name",
             v + "g", "netns", ns])
        run(["ip", "addr", "add", HOST_ADDR + "/30", "dev", v])
        run(["ip", "link", "set", v, "up"])
        for a in (["ip", "link", "set", "lo", "up"],
                  ["ip", "link", "set", v + "g", "name", "host0"],
                  ["ip", "addr", "add", GUEST_ADDR + "/30", "dev", "host0"],
                  ["ip", "link", "set", "host0", "up"]):
            run(["ip", "netns", "exec", ns] + a)

    def net_down(self):
        run(["ip", "link", "del", self.veth], check=False)
        run(["ip", "netns", "del", self.netns], check=False)

    # -- the system -----------------------------------------------------
    def bootstrap(self):
        """The system, debootstrapped once per run into base/ and copied
        for each path, so that each starts from the same fresh one."""
        base = os.path.join(self.work, "base")
        if not os.path.isdir(base):
            say("debootstrap %s (minbase + %s) from %s" % (SUITE, INCLUDE,
                                                           MIRROR))
            with open(os.path.join(self.log, "debootstrap.log"), "w") as lf:
                p = subprocess.run(["debootstrap", "--variant=minbase",
                                    "--include=" + INCLUDE, SUITE,
                                    base + ".tmp", MIRROR],
                                   stdin=subprocess.DEVNULL, stdout=lf,
                                   stderr=subprocess.STDOUT, timeout=900)
            if p.returncode != 0:
                raise Failed("debootstrap failed (log/debootstrap.log)")
            os.rename(base + ".tmp", base)
        run(["cp", "-a", base, self.root])

    def write(self, path, text, mode=0o644):
        full = os.path.join(self.root, path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
        os.chmod(full, mode)

    def prepare(self, ca):
        """What the machine has before the user starts: its name, apt's
        sources, a way to the mirror, the user's certificate."""
        self.write("/etc/hostname", "vigil-install-test\n")
        self.write("/etc/hosts", "127.0.0.1 localhost\n"
                   "127.0.1.1 vigil-install-test\n"
                   "%s %s\n" % (GUEST_ADDR, NAME))
        self.write("/etc/resolv.conf", "# no DNS: apt goes through a proxy\n")
        self.write("/etc/apt/sources.list",
                   "deb %s %s main\ndeb %s %s-updates main\n"
                   "deb %s %s-security main\n"
                   % (MIRROR, SUITE, MIRROR, SUITE, SECURITY, SUITE))
        self.write("/etc/apt/apt.conf.d/00install-test",
                   'Acquire::http::Proxy "http://%s:%d";\n'
                   '// the user answers "Y" to "Do you want to continue?"\n'
                   'APT::Get::Assume-Yes "true";\n' % (HOST_ADDR, PROXY_PORT))
        # The user's certificate for the name, from a CA the system trusts.
        self.write("/usr/local/share/ca-certificates/vigil-test-ca.crt",
                   ca["ca_cert"])
        self.write("/etc/ssl/vigil/fullchain.pem", ca["cert"])
        self.write("/etc/ssl/vigil/key.pem", ca["key"], 0o600)
        self.write("/usr/local/bin/install-test-editor",
                   open(os.path.join(HERE, "editor.sh")).read(), 0o755)
        # The source, as a copy of the git checkout: the tracked files as
        # the working tree has them.
        files = run(["git", "-C", SRCDIR, "ls-files", "-z"]).stdout
        dest = os.path.join(self.root, "root/vigil")
        os.makedirs(dest)
        for f in files.split("\0"):
            if not f:
                continue
            src = os.path.join(SRCDIR, f)
            if not os.path.lexists(src):
                continue
            d = os.path.join(dest, f)
            os.makedirs(os.path.dirname(d), exist_ok=True)
            shutil.copy2(src, d, follow_symlinks=False)

    def boot(self):
        say("booting the container (systemd-nspawn -b)")
        if self.console:
            self.console.close()
        self.console = open(os.path.join(self.log, "console-%s.log"
                                         % self.tag), "a")
        self.nspawn = subprocess.Popen(
            ["systemd-nspawn", "-q", "-D", self.root,
             "-M", "vigil-install-%s" % self.tag, "--register=no",
             "--keep-unit", "--resolv-conf=off", "--timezone=off",
             "--network-namespace-path=/run/netns/" + self.netns,
             "--console=passive", "-b"],
            stdin=subprocess.DEVNULL, stdout=self.console,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while self.leader is None:
            if self.nspawn.poll() is not None:
                raise Failed("systemd-nspawn exited %d (log/console-%s.log)"
                             % (self.nspawn.returncode, self.tag))
            if time.monotonic() > deadline:
                raise Failed("the container's init did not start")
            kids = run(["ps", "-o", "pid=,comm=", "--ppid",
                        str(self.nspawn.pid)], check=False).stdout.split()
            if len(kids) >= 2 and kids[1] == "systemd":
                self.leader = int(kids[0])
            else:
                time.sleep(0.2)
        # Until its systemd answers on its private socket, systemctl
        # fails at once: ask again.
        state = ""
        while True:
            p = self.sh("systemctl is-system-running --wait", check=False,
                        timeout=120)
            state = p.stdout.strip()
            if state or time.monotonic() > deadline + 60:
                break
            time.sleep(0.5)
        if state not in ("running", "degraded"):
            raise Failed("the container did not boot: %s %s"
                         % (state, p.stderr.strip()))
        if state == "degraded":
            say("booted, degraded: %s" % self.sh(
                "systemctl --failed --no-legend", check=False).stdout)

    def sh(self, script, check=True, timeout=600, env=None, cwd="/root",
           log=None):
        """bash -c SCRIPT inside the container as root, in every one of
        its namespaces, with a login's environment."""
        e = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                     "/sbin:/bin",
             "HOME": "/root", "USER": "root", "LOGNAME": "root",
             "TERM": "dumb", "LANG": "C.UTF-8", "SHELL": "/bin/bash"}
        e.update(env or {})
        argv = ["nsenter", "-t", str(self.leader), "-a", "-r", "-w",
                "env", "-i"] + ["%s=%s" % kv for kv in e.items()] + \
            ["bash", "-c", "cd %s && %s" % (cwd, script)]
        if log is None:
            return run(argv, check=check, timeout=timeout)
        with open(log, "w") as lf:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=lf,
                               stderr=subprocess.STDOUT, timeout=timeout)
        if check and p.returncode != 0:
            raise Failed("exit %d: %s (log: %s)" % (p.returncode,
                                                    script[:80], log))
        return p

    def poweroff(self, timeout=60):
        """An orderly shutdown: nspawn turns SIGTERM into one; then its
        init and everything in the container killed by PID."""
        if self.nspawn is None or self.nspawn.poll() is not None:
            return
        self.nspawn.terminate()
        try:
            self.nspawn.wait(timeout)
        except subprocess.TimeoutExpired:
            say("the container did not stop in %d s: killing it" % timeout)
            if self.leader:
                # PID 1 of a PID namespace: the kernel kills the rest.
                try:
                    os.kill(self.leader, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.nspawn.kill()
            self.nspawn.wait(30)
        self.leader = None

    def destroy(self):
        self.poweroff()
        if self.console:
            self.console.close()
        self.net_down()


def make_ca(work):
    """A CA and a certificate for NAME it signed, as PEM text."""
    d = os.path.join(work, "ca")
    os.makedirs(d)
    j = lambda n: os.path.join(d, n)  # noqa: E731
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", j("ca.key"), "-out", j("ca.crt"), "-days", "2",
         "-subj", "/CN=Vigil install test CA"])
    run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
         j("key.pem"), "-out", j("req.csr"), "-subj", "/CN=" + NAME])
    with open(j("ext"), "w") as f:
        f.write("subjectAltName=DNS:%s\n" % NAME)
    run(["openssl", "x509", "-req", "-in", j("req.csr"), "-CA", j("ca.crt"),
         "-CAkey", j("ca.key"), "-CAcreateserial", "-out", j("cert.pem"),
         "-days", "2", "-extfile", j("ext")])
    rd = lambda n: open(j(n)).read()  # noqa: E731
    return {"ca_cert": rd("ca.crt"), "cert": rd("cert.pem"),
            "key": rd("key.pem"), "ca_file": j("ca.crt")}


class Client:
    """HTTPS to NAME at the container's address, the CA trusted."""

    def __init__(self, ca_file, scheme="https"):
        self.ctx = ssl.create_default_context(cafile=ca_file)
        self.scheme = scheme

    def req(self, method, path, key=None, body=None):
        # The name in the URL (SNI, Host, the certificate), the
        # container's address underneath: curl --resolve, in urllib.
        url = "%s://%s%s" % (self.scheme, NAME, path)
        data = None if body is None else json.dumps(body).encode()
        r = urllib.request.Request(url, data=data, method=method)
        if key:
            r.add_header("X-API-Key", key)
        if data is not None:
            r.add_header("Content-Type", "application/json")
        orig = socket.getaddrinfo

        def resolve(host, *a, **kw):
            return orig(GUEST_ADDR if host == NAME else host, *a, **kw)
        socket.getaddrinfo = resolve
        try:
            with urllib.request.urlopen(r, context=self.ctx,
                                        timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        finally:
            socket.getaddrinfo = orig


def expect(cond, what):
    if not cond:
        raise Failed(what)
    say("ok: " + what)


def wait_healthy(cli, what, timeout=60):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = cli.req("GET", "/healthz")
            if last[0] == 200:
                break
        except OSError as e:
            last = e
        time.sleep(1)
    expect(last and not isinstance(last, OSError) and last[0] == 200,
           "%s: GET %s://%s/healthz is 200 (%r)" % (what, cli.scheme, NAME,
                                                    last))


def find_key(out):
    """The key vigilctl key create printed: alone on its line of the
    block's output (bash -x traces go to the same log, prefixed '+')."""
    keys = re.findall(r"^(vgl_[A-Za-z0-9]{40})$", out, re.M)
    if not keys:
        raise Failed("the block printed no API key")
    return keys[-1]


def check_serving(c, cli, key, pd, what):
    units = pd["units"] + TIMERS
    p = c.sh("systemctl is-active " + " ".join(units), check=False)
    states = p.stdout.split()
    # (is-active's status is 0 when any one of them is active)
    expect(len(states) == len(units) and set(states) == {"active"},
           "%s: active under systemd: %s" % (what, ", ".join(
               "%s=%s" % kv for kv in zip(units, states))))
    for u in pd.get("off", ()):
        st = c.sh("systemctl is-active " + u, check=False).stdout.strip()
        expect(st == "inactive", "%s: %s is %s" % (what, u, st))
    wait_healthy(cli, what)
    st, body = cli.req("GET", "/api/v1/findings", key)
    expect(st == 200, "%s: GET /api/v1/findings with the key is %d" %
           (what, st))
    st, _ = cli.req("GET", "/api/v1/findings")
    expect(st == 401, "%s: without a key 401 (%d)" % (what, st))
    return json.loads(body)


def check_path(c, cli, key, pd):
    units, samples = pd["units"], pd["samples"]
    check_serving(c, cli, key, pd, "after the blocks")
    # A scan as the timer runs it: an inventory integration over the
    # installed sample estate, a scan queued, and vigil-scan.timer left to
    # start vigil-scan.service (minutely) and run it.
    st, body = cli.req("POST", "/api/v1/integrations", key, {
        "type": "inventory", "name": "samples",
        "config": {"path": samples}})
    expect(st == 201, "an inventory integration of %s (%d %s)"
           % (samples, st, body[:300]))
    integ = json.loads(body)["id"]
    st, body = cli.req("POST", "/api/v1/scans", key,
                       {"integration_id": integ})
    expect(st == 202, "a scan queued (%d)" % st)
    sid = json.loads(body)["scan_id"]
    deadline = time.monotonic() + 180
    while True:
        st, body = cli.req("GET", "/api/v1/scans/" + sid, key)
        s = json.loads(body)
        if s.get("status") not in ("queued", "running") or \
                time.monotonic() > deadline:
            break
        time.sleep(3)
    expect(st == 200 and s.get("status") == "completed",
           "the queued scan was run by vigil-scan.timer: %s (%s)" % (
               s.get("status"), c.sh("journalctl -u vigil-scan -n 5 "
                                     "--no-pager", check=False).stdout))
    st, body = cli.req("GET", "/api/v1/findings?limit=1", key)
    total = json.loads(body).get("total")
    expect(st == 200 and total and total > 0,
           "the scan's findings are listed (total %s)" % total)
    # Restarted units serve the same.
    c.sh("systemctl restart " + " ".join(units), timeout=180)
    check_serving(c, cli, key, pd, "after restarting the units")
    st, body = cli.req("GET", "/api/v1/findings?limit=1", key)
    expect(json.loads(body).get("total") == total,
           "the findings kept across the restart")
    # And a reboot: what is enabled comes back by itself.
    c.poweroff()
    c.boot()
    check_serving(c, cli, key, pd, "after a reboot")


def run_block(c, name):
    """Runs README block NAME verbatim in the container; its output."""
    block = readme_block(os.path.join(c.root, "root/vigil"), name)
    c.write("/root/install-%s.sh" % name, block)
    say("running README block '%s' verbatim (%d lines)"
        % (name, block.count("\n")))
    t = time.monotonic()
    blog = os.path.join(c.log, "block-%s-%s.log" % (c.tag, name))
    try:
        c.sh("bash -e -x /root/install-%s.sh" % name, cwd="/root/vigil",
             timeout=2400, log=blog,
             env={"DEBIAN_FRONTEND": "noninteractive",
                  "EDITOR": "/usr/local/bin/install-test-editor"})
    except Failed as e:
        tail = open(blog, errors="replace").read()[-4000:]
        raise Failed("README block '%s' failed verbatim: %s\n%s"
                     % (name, e, tail))
    say("block '%s' done in %.0f s" % (name, time.monotonic() - t))
    return open(blog, errors="replace").read()


def run_path(work, tag, ca, proxy_log):
    c = Container(work, tag)
    proxy = None
    try:
        c.bootstrap()
        c.prepare(ca)
        c.net_up()
        proxy = aptproxy.AptProxy(
            HOST_ADDR, PROXY_PORT,
            {urllib.parse.urlsplit(MIRROR).hostname,
             urllib.parse.urlsplit(SECURITY).hostname}, proxy_log)
        c.boot()
        c.sh("update-ca-certificates", log=os.path.join(
            c.log, "ca-%s.log" % tag))
        pd = PATHDEFS[tag]
        out = ""
        for name in pd["blocks"]:
            out += run_block(c, name)
        key = find_key(out)
        check_path(c, Client(ca["ca_file"], pd["scheme"]), key, pd)
    except BaseException:
        # What the units said, for the kept logs (the root goes).
        if c.leader:
            c.sh("systemctl --failed --no-pager; journalctl -b --no-pager",
                 check=False, timeout=60,
                 log=os.path.join(c.log, "journal-%s.log" % tag))
        raise
    finally:
        if proxy:
            proxy.stop()
        c.destroy()
        if os.path.isdir(c.root):
            shutil.rmtree(c.root, ignore_errors=True)


def _pid_alive(pid):
    """Whether an install test runs as pid: a process by that number that
    is not this one (a stale name may carry this run's own number) and
    whose command line names installtest (numbers are reused)."""
    if pid == os.getpid():
        return False
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"installtest" in f.read()
    except OSError:
        return False


def clear_stale_net():
    """A run killed where it could not clean up (SIGKILL, the machine's
    session ending under it) leaves its namespace and veth pair behind,
    with HOST_ADDR still on the host's end. The next run then adds the
    same /30 on a second link, the replies to its container leave by the
    stale one and apt inside sees "Unable to connect" to the proxy. So
    the namespaces and links this test names for a PID that is no longer
    alive are removed first; HOST_ADDR held by anything else stops the
    run, naming the link, before it changes anything."""
    for ns in subprocess.run(["ip", "netns", "list"], capture_output=True,
                             text=True).stdout.splitlines():
        m = re.fullmatch(r"vit(\d+)", ns.split()[0]) if ns.split() else None
        if m and not _pid_alive(int(m.group(1))):
            say("removing namespace %s left by a run that is gone" % m[0])
            run(["ip", "link", "del", m[0] + "h"], check=False)
            run(["ip", "netns", "del", m[0]], check=False)
    for line in subprocess.run(["ip", "-o", "-4", "addr", "show"],
                               capture_output=True,
                               text=True).stdout.splitlines():
        f = line.split()
        if len(f) < 4 or f[3].split("/")[0] != HOST_ADDR:
            continue
        dev = f[1].split("@")[0]
        m = re.fullmatch(r"vit(\d+)h", dev)
        if m and not _pid_alive(int(m.group(1))):
            say("removing link %s left by a run that is gone" % dev)
            run(["ip", "link", "del", dev], check=False)
            continue
        raise SystemExit("installtest: %s is already on %s (another install "
                         "test running?); set INSTALLTEST_SUBNET to a free "
                         "/24" % (HOST_ADDR, dev))


def main():
    if os.geteuid() != 0:
        raise SystemExit("installtest: run as root (./dev test-install)")
    for tool in ("debootstrap", "systemd-nspawn", "nsenter", "ip",
                 "openssl", "git"):
        if not shutil.which(tool):
            raise SystemExit("installtest: %s missing" % tool)
    unknown = [p for p in PATHS if p not in PATHDEFS]
    if unknown:
        raise SystemExit("installtest: no path %s (paths: %s)"
                         % (", ".join(unknown), " ".join(PATHDEFS)))
    # SIGTERM (timeout -k, CI) ends as Ctrl-C does: through the cleanup.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    clear_stale_net()
    work = tempfile.mkdtemp(prefix="vigil-install-", dir="/var/tmp")
    os.makedirs(os.path.join(work, "log"))
    ok = False
    try:
        ca = make_ca(work)
        with open(os.path.join(work, "log", "aptproxy.log"), "a") as pl:
            for tag in PATHS:
                say("== path %s ==" % tag)
                t = time.monotonic()
                run_path(work, tag, ca, pl)
                say("== path %s PASS in %.0f s ==" % (tag,
                                                     time.monotonic() - t))
        ok = True
    except Failed as e:
        say("FAIL: %s" % e)
    except KeyboardInterrupt:
        say("interrupted (timeout or Ctrl-C)")
    finally:
        if ok and not os.environ.get("INSTALLTEST_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
        else:
            # the logs, not the systems
            shutil.rmtree(os.path.join(work, "base"), ignore_errors=True)
            say("logs kept in %s/log" % work)
    say("%s in %.0f s" % ("PASS" if ok else "FAIL", time.monotonic() - T0))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
