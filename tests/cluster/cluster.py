#!/usr/bin/env python3
"""cluster.py: Vigil on a three-node MariaDB Galera cluster, on one machine.

Every host is a Linux network namespace with its own address on a private
bridge that this harness creates (10.77.0.0/24 by default, VIGIL_CLUSTER_NET
to change the first three octets; namespaces named "vgc-HOST", or with the
prefix VIGIL_CLUSTER_PREFIX gives). The bridge itself lives in a namespace of
its own ("vgc-sw"), so the machine's own interfaces, addresses and routes
are never touched; the harness process joins the "client" namespace (setns)
to talk to the hosts. Needs root (ip netns, setns).

  host      address     runs
  db1..db3  .11 .12 .13 mariadbd with wsrep (galera-4; etc/mariadb/galera.cnf),
                        datadir under ROOT, and clustercheck.py on :9200
                        (200 when Synced)
  dbproxy   .10         HAProxy (etc/haproxy/vigil.cfg): db1 the writer,
                        db2 and db3 backups
  api1 api2 .21 .22     a vigil-api pool listening on :9000 (TCP)
  lb        .20         nginx (etc/nginx/vigil.conf, vigil-upstream.conf)
                        balancing the two pools
  scan1/2   .31 .32     vigil-scan --due every SCAN_EVERY seconds
  spool1/2  .41 .42     the vigil-spool daemon
  receiver  .50         tests/integration/receiver.py on :8099
  client    .100        this harness (curl from: ip netns exec vgc-client)

Every process is started from the build tree (or the packages' binaries)
with a private configuration under ROOT, in its own session, its pid kept
in ROOT/cluster.json, and stopped by that pid at "down" (SIGTERM, then
SIGKILL); whatever still runs inside one of the harness's namespaces after
that (a scan a loop had started, say) is killed by the pids "ip netns pids"
lists, and the namespaces are deleted. "test" always ends with "down",
also on failure and on Ctrl-C.

  cluster.py up ROOT [--srcdir DIR] [--builddir DIR] [--lifetime S]
                     [--topology galera|replica]
  cluster.py down ROOT
  cluster.py test [ROOT] [--ci] [--scenario NAME ...] [--timeout S] [--keep]
                  [--topology galera|replica]

--topology replica: the other supported topology instead of Galera: db1 a
primary and db2 its asynchronous replica (binary log in row format, GTIDs,
the replica read-only), every Vigil host connected to db1 itself (no
HAProxy, no automatic failover; db3 and dbproxy stay empty); "test" then
runs the replica scenario (scenarios.REPLICA_SCENARIOS) alone.

Scenarios (scenarios.SCENARIOS): writer-kill, partition, api-kill,
scan-kill, spooler-kill, full-restart, backup-restore, migrate-race,
read-your-writes, two-writers, batch-counts; --ci runs CI's short set
(scenarios.CI_SCENARIOS). Probes, run only when named (scenarios.PROBES):
none at present. --timeout bounds the whole
test (default 2400 s, 900 with --ci). "down ROOT" also removes the
namespaces of its prefix that a harness killed before its own "down" left
behind.

"test" runs the smoke test (tenant and key, findings from a scan the
scanner hosts run, finding actions and alerts through the load balancer,
each seen on every Galera node with wsrep_sync_wait, a webhook delivered to
the receiver host) and then each scenario asked for (default: all there
are; see SCENARIOS), printing a table of what was lost and how long
clients saw errors (scenarios.summary). Exit 0 when all passed.
"""

import argparse
import ctypes
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import stack  # noqa: E402  (tests/integration/stack.py)
from stack import StackError, log, pid_alive, which  # noqa: E402

NET = os.environ.get("VIGIL_CLUSTER_NET", "10.77.0")
# Several harnesses may run at once (two checkouts on one machine) when
# each has its own prefix: the bridge lives in the switch namespace, so the
# same addresses on two prefixes never meet.
NS_PREFIX = os.environ.get("VIGIL_CLUSTER_PREFIX", "vgc-")
SWITCH = NS_PREFIX + "sw"
GALERA = "/usr/lib/galera/libgalera_smm.so"
CLUSTER_NAME = "vigil-cluster"

# name -> last octet
HOSTS = {
    "dbproxy": 10, "db1": 11, "db2": 12, "db3": 13,
    "lb": 20, "api1": 21, "api2": 22,
    "scan1": 31, "scan2": 32,
    "spool1": 41, "spool2": 42,
    "receiver": 50,
    "client": 100,
}
DB_NODES = ("db1", "db2", "db3")
API_HOSTS = ("api1", "api2")
SCAN_HOSTS = ("scan1", "scan2")
SPOOL_HOSTS = ("spool1", "spool2")
API_PORT = 9000
CHECK_PORT = 9200
RECEIVER_PORT = 8099
SCAN_EVERY = 3


def addr(host):
    return "%s.%d" % (NET, HOSTS[host])


def ns(host):
    return NS_PREFIX + host


def sh(*argv, check=True):
    """Run a command (ip ...) and return its CompletedProcess."""
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=60)
    if check and r.returncode != 0:
        raise StackError("%s: exit %d: %s" % (" ".join(argv), r.returncode,
                                              r.stderr.strip()))
    return r


# --- network --------------------------------------------------------------

def netns_list():
    r = sh("ip", "netns", "list", check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def net_up():
    """The switch namespace with its bridge, and one namespace per host
    with a veth to the bridge and its address. Nothing outside the
    namespaces is created."""
    sh("ip", "netns", "add", SWITCH)
    sh("ip", "-n", SWITCH, "link", "set", "lo", "up")
    sh("ip", "-n", SWITCH, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", SWITCH, "link", "set", "br0", "up")
    for host in HOSTS:
        n = ns(host)
        sh("ip", "netns", "add", n)
        sh("ip", "-n", n, "link", "set", "lo", "up")
        port = "p-" + host
        # Made inside the switch namespace, the peer moved straight into
        # the host's: neither end ever exists in the machine's namespace.
        sh("ip", "-n", SWITCH, "link", "add", port, "type", "veth", "peer",
           "name", "eth0", "netns", n)
        sh("ip", "-n", SWITCH, "link", "set", port, "master", "br0")
        sh("ip", "-n", SWITCH, "link", "set", port, "up")
        sh("ip", "-n", n, "addr", "add", addr(host) + "/24", "dev", "eth0")
        sh("ip", "-n", n, "link", "set", "eth0", "up")


def link(host, up):
    """Cut a host off the network (up=False) or reconnect it, at its
    switch port."""
    sh("ip", "-n", SWITCH, "link", "set", "p-" + host,
       "up" if up else "down")


def net_down():
    """Kill what still runs in the harness's namespaces (by the pids the
    kernel lists for each), then delete them."""
    for n in netns_list():
        if not n.startswith(NS_PREFIX):
            continue
        r = sh("ip", "netns", "pids", n, check=False)
        pids = [int(p) for p in r.stdout.split() if p.isdigit()]
        for p in pids:
            if p == os.getpid() or not pid_alive(p):
                continue
            log("%s: pid %d (%s) still running: SIGKILL" % (
                n, p, stack.proc_cmdline(p)[:60]))
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        sh("ip", "netns", "del", n, check=False)


CLONE_NEWNET = 0x40000000


def join(host):
    """Move this process into host's network namespace (setns)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = os.open("/run/netns/" + ns(host), os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise StackError("setns %s: %s" % (ns(host), os.strerror(e)))
    finally:
        os.close(fd)


# --- the cluster ------------------------------------------------------------

class Cluster:

    def __init__(self, root, srcdir=None, builddir=None, lifetime=7200,
                 topology=None):
        self.root = os.path.abspath(root)
        self.srcdir = os.path.abspath(srcdir or stack.DEFAULT_SRCDIR)
        self.builddir = os.path.abspath(builddir or os.path.join(
            self.srcdir, "build"))
        self.lifetime = lifetime
        self.state_file = os.path.join(self.root, "cluster.json")
        self.logdir = os.path.join(self.root, "log")
        self.state = {"procs": {}}
        self.popen = {}          # name -> Popen, for what this object started
        try:
            with open(self.state_file) as f:
                self.state = json.load(f)
        except (OSError, ValueError):
            pass
        self.state.setdefault("procs", {})
        # "galera" (three nodes behind HAProxy) or "replica" (a primary
        # and an asynchronous replica; see replica_up), kept for "down".
        if topology:
            self.state["topology"] = topology
        self.topology = self.state.setdefault("topology", "galera")
        # A Stack over ROOT for what it already does: vigilctl with
        # ROOT/vigil.conf (the client's, through HAProxy), templates.
        self.ctl = stack.Stack(self.root, self.srcdir, self.builddir)
        self.ctl.conf = os.path.join(self.root, "vigil.conf")

    def save(self):
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f, indent=1, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.state_file)

    def hostdir(self, host):
        d = os.path.join(self.root, "hosts", host)
        os.makedirs(d, exist_ok=True)
        return d

    def logfile(self, name):
        return os.path.join(self.logdir, name)

    def tail(self, name, n=30):
        try:
            with open(self.logfile(name), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    # -- processes ------------------------------------------------------------

    def spawn(self, name, host, argv, env=None):
        """Start argv inside host's namespace in a session of its own
        ("ip netns exec" execs argv: the pid is argv's), output to
        ROOT/log/NAME.log, its pid recorded."""
        out = open(self.logfile(name + ".log"), "ab")
        try:
            p = subprocess.Popen(["ip", "netns", "exec", ns(host)] + argv,
                                 stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, env=env,
                                 cwd=self.hostdir(host),
                                 start_new_session=True)
        finally:
            out.close()
        self.popen[name] = p
        self.state["procs"][name] = {"pid": p.pid, "host": host,
                                     "argv0": os.path.basename(argv[0])}
        self.save()
        return p

    def pid(self, name):
        """name's live pid, when it still runs what was started."""
        e = self.state["procs"].get(name)
        if not e:
            return None
        p = self.popen.get(name)
        if p is not None and p.pid == e["pid"]:
            # Started by this process: alive until it exits (between fork
            # and exec its command line is still ours).
            return p.pid if p.poll() is None else None
        if not pid_alive(e["pid"]):
            return None
        if e["argv0"] not in stack.proc_cmdline(e["pid"]):
            return None
        return e["pid"]

    def stop(self, name, sig=signal.SIGTERM, timeout=30.0):
        pid = self.pid(name)
        if pid is not None:
            # Its whole session: the loops' children go with them.
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                pass
            if not stack.wait_gone(pid, timeout) and pid_alive(pid):
                log("%s (pid %d) still running after %.0fs: SIGKILL" % (
                    name, pid, timeout))
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                stack.wait_gone(pid, 5)
        self.state["procs"].pop(name, None)
        self.save()

    def kill(self, name):
        """SIGKILL name's process (a chaos scenario); returns the pid."""
        pid = self.pid(name)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            stack.wait_gone(pid, 10)
        return pid

    def reap(self):
        """Collect exited children so that they do not linger as zombies
        (this process started them)."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    # -- Galera ------------------------------------------------------------

    def db_sock(self, node):
        return os.path.join(self.hostdir(node), "mysqld.sock")

    def sql(self, node, statement, check=True, timeout=30):
        """SQL as root on one node through its unix socket (a socket on
        the filesystem is reachable from any network namespace)."""
        argv = [which("mariadb", "mysql"), "--no-defaults", "-S",
                self.db_sock(node), "-uroot", "-N", "-B",
                "--connect-timeout=5", "-e", statement]
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            if check:
                raise StackError("%s: SQL timed out: %s" % (node, statement))
            return subprocess.CompletedProcess(argv, 124, "", "timeout")
        if check and r.returncode != 0:
            raise StackError("%s: SQL failed (%s): %s" % (
                node, statement[:200], r.stderr.strip()))
        return r

    def rows(self, node, statement):
        out = self.sql(node, statement).stdout
        return [line.split("\t") for line in out.splitlines()]

    def wsrep(self, node, var="wsrep_local_state_comment"):
        r = self.sql(node, "SHOW STATUS LIKE '%s'" % var, check=False,
                     timeout=10)
        if r.returncode != 0 or not r.stdout.strip():
            return None
        return r.stdout.split("\t", 1)[1].strip()

    @staticmethod
    def db_user():
        """The user mariadbd runs as when started by root: "mysql" (the
        package's), else root. rsync SST needs a user other than root: as
        root, the joiner's rsync daemon would drop to "nobody", who cannot
        write the datadir."""
        try:
            pwd.getpwnam("mysql")
            return "mysql"
        except KeyError:
            return "root"

    def my_cnf(self, node):
        d = self.hostdir(node)
        data = os.path.join(d, "data")
        os.makedirs(data, exist_ok=True)
        os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
        peers = ",".join(addr(n) for n in DB_NODES)
        cnf = os.path.join(d, "my.cnf")
        user = ""
        if os.geteuid() == 0:
            user = "user = %s\n" % self.db_user()
            # mariadbd, and the rsync daemon of an SST it runs, drop to
            # that user: it owns the node's directory and its log.
            os.chmod(self.root, 0o755)
            os.chmod(os.path.join(self.root, "hosts"), 0o755)
            err = self.logfile(node + ".err")
            open(err, "a").close()
            pw = pwd.getpwnam(self.db_user())
            for path in [d, err] + [os.path.join(top, x)
                                    for top, dirs, files in os.walk(d)
                                    for x in dirs + files]:
                os.chown(path, pw.pw_uid, pw.pw_gid)
        # The shipped sample (etc/mariadb/galera.cnf), so that what the
        # cluster test runs is what the README tells to install; a copy in
        # the node's directory, which mariadbd's SST scripts (run as its
        # user) can read. Only the node's own lines and paths are set here.
        sample = os.path.join(d, "galera.cnf")
        shutil.copy(os.path.join(self.srcdir, "etc", "mariadb",
                                 "galera.cnf"), sample)
        os.chmod(sample, 0o644)
        with open(cnf, "w") as f:
            f.write(f"""# Written by tests/cluster/cluster.py: Galera node {node}.
[mysqld]
{user}datadir = {data}
tmpdir = {d}/tmp
socket = {self.db_sock(node)}
pid-file = {d}/mysqld.pid
log-error = {self.logfile(node + ".err")}
port = 3306
innodb-buffer-pool-size = 64M
innodb-log-file-size = 48M
max-connections = 300
!include {sample}
[mysqld]
bind-address = {addr(node)}
wsrep-provider = {GALERA}
wsrep-cluster-name = {CLUSTER_NAME}
wsrep-cluster-address = gcomm://{peers}
wsrep-node-address = {addr(node)}
wsrep-node-name = {node}
# An rsync SST blocks its donor for its length: prefer a node that is not
# HAProxy's writer (db1, then db2), then any.
wsrep-sst-donor = "{self.donors(node)}"
# gcache.recover: a node restarted after a crash (or the whole cluster after a
# full shutdown) keeps its write-set cache, so that the others rejoin it by
# IST rather than a full SST, which blocks its donor.
wsrep-provider-options = "gcache.size=128M; gcache.dir={data}; gcache.recover=yes"
[client]
socket = {self.db_sock(node)}
""")
        return cnf

    @staticmethod
    def donors(node):
        order = [n for n in reversed(DB_NODES) if n != node]
        return ",".join(order) + ","

    def grastate(self, node):
        """What the node's grastate.dat says: {"uuid", "seqno",
        "safe_to_bootstrap"}, or None without one. seqno is -1 while the
        node runs and after it was killed."""
        try:
            with open(os.path.join(self.hostdir(node), "data",
                                   "grastate.dat")) as f:
                text = f.read()
        except OSError:
            return None
        out = {}
        for key in ("uuid", "seqno", "safe_to_bootstrap"):
            m = re.search(r"^%s:\s*(\S+)" % key, text, re.M)
            if m:
                out[key] = m.group(1)
        out["seqno"] = int(out.get("seqno", "-1"))
        out["safe_to_bootstrap"] = int(out.get("safe_to_bootstrap", "0"))
        return out

    def position(self, node):
        """(seqno, how, "uuid:seqno" or None) of a stopped node: from
        grastate.dat when it was shut down cleanly, else recovered from
        InnoDB with mariadbd --wsrep-recover (how: "grastate" or
        "recovered"). seqno -1 when neither says."""
        g = self.grastate(node) or {"seqno": -1}
        if g["seqno"] >= 0:
            return g["seqno"], "grastate", None
        pos = self.recover_position(node, self.my_cnf(node))
        if pos:
            return int(pos.rsplit(":", 1)[1]), "recovered", pos
        return -1, "unknown", None

    def set_safe_to_bootstrap(self, node):
        """Mark node's grastate.dat safe_to_bootstrap: 1 (in place, so that
        its owner stays mariadbd's user): Galera refuses to bootstrap from a
        node that did not leave the cluster last and cleanly, which is what
        an operator confirms here after comparing the positions."""
        path = os.path.join(self.hostdir(node), "data", "grastate.dat")
        with open(path, "r+") as f:
            text = f.read()
            text = re.sub(r"^safe_to_bootstrap:.*$", "safe_to_bootstrap: 1",
                          text, flags=re.M)
            f.seek(0)
            f.write(text)
            f.truncate()

    def restart_all(self, timeout=240.0):
        """After a full shutdown: bootstrap from the most advanced node
        (the highest seqno, from grastate.dat or --wsrep-recover; on a tie,
        the one grastate.dat already marks safe, then the first), then
        start the others, which rejoin it (IST). Returns {node: (seqno,
        how)} and the node bootstrapped."""
        for n in DB_NODES:
            if self.pid(n) is not None:
                raise StackError("restart_all: %s still runs" % n)
        pos = {n: self.position(n) for n in DB_NODES}
        first = max(DB_NODES, key=lambda n: (
            pos[n][0], (self.grastate(n) or {}).get("safe_to_bootstrap", 0),
            -DB_NODES.index(n)))
        if pos[first][0] < 0:
            raise StackError("no node knows its position: %s" % pos)
        log("positions: %s; bootstrapping from %s" % (
            ", ".join("%s %d (%s)" % (n, p[0], p[1])
                      for n, p in pos.items()), first))
        self.set_safe_to_bootstrap(first)
        self.db_start(first, bootstrap=True, timeout=timeout,
                      start_position=pos[first][2])
        for n in DB_NODES:
            if n != first:
                self.db_start(n, timeout=timeout)
        return {n: p[:2] for n, p in pos.items()}, first

    def recover_position(self, node, cnf):
        """A node killed with SIGKILL left seqno -1 in grastate.dat: its
        position is then recovered from InnoDB (mariadbd --wsrep-recover,
        as galera_recovery does for systemd) and given at start, so that
        it rejoins by IST from the donor's gcache, not a full SST.
        None when there is nothing to recover."""
        d = self.hostdir(node)
        try:
            with open(os.path.join(d, "data", "grastate.dat")) as f:
                text = f.read()
        except OSError:
            return None
        m = re.search(r"^seqno:\s*(-?\d+)", text, re.M)
        if not m or m.group(1) != "-1":
            return None
        logf = os.path.join(d, "recover.err")
        r = subprocess.run([which("mariadbd", "mysqld"),
                            "--defaults-file=" + cnf, "--wsrep-recover",
                            "--log-error=" + logf],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=300)
        try:
            with open(logf, errors="replace") as f:
                found = re.findall(r"Recovered position: (\S+:-?\d+)",
                                   f.read())
        except OSError:
            found = []
        if r.returncode != 0 or not found:
            log("%s: --wsrep-recover found no position (exit %d): it "
                "rejoins by SST" % (node, r.returncode))
            return None
        log("%s: recovered position %s" % (node, found[-1]))
        return found[-1]

    def db_start(self, node, bootstrap=False, timeout=None,
                 start_position=None):
        """Start one database node of this cluster's topology; returns once
        it serves. Galera: the first with --wsrep-new-cluster (from
        start_position when given: a position --wsrep-recover found), each
        returning once it is Synced, with its health check started.
        Replica (db1 the primary, db2 its replica): initialised once,
        returning once it answers."""
        galera = self.topology != "replica"
        if timeout is None:
            timeout = 180.0 if galera else 120.0
        cnf = self.my_cnf(node) if galera else self.replica_cnf(node)
        data = os.path.join(self.hostdir(node), "data")
        # A Galera joiner starts from an empty datadir: the donor's state
        # comes by SST (rsync) before InnoDB starts.
        if (bootstrap or not galera) and \
                not os.path.isdir(os.path.join(data, "mysql")):
            argv = [which("mariadb-install-db", "mysql_install_db"),
                    "--defaults-file=" + cnf, "--datadir=" + data,
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db"]
            if os.geteuid() == 0:
                argv.append("--user=" + self.db_user())
            log("initialising %s" % node)
            with open(self.logfile(node + "-install.log"), "ab") as out:
                rc = subprocess.call(argv, stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT)
            if rc != 0:
                raise StackError("mariadb-install-db failed:\n" +
                                 self.tail(node + "-install.log"))
        argv = [which("mariadbd", "mysqld"), "--defaults-file=" + cnf]
        if galera and bootstrap:
            argv.append("--wsrep-new-cluster")
            if start_position:
                argv.append("--wsrep-start-position=" + start_position)
        elif galera:
            pos = self.recover_position(node, cnf)
            if pos:
                argv.append("--wsrep-start-position=" + pos)
        log("starting %s%s" % (node, " (new cluster)"
                                if galera and bootstrap else ""))
        p = self.spawn(node, node, argv)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise StackError("%s: mariadbd exited %s:\n%s" % (
                    node, p.returncode, self.tail(node + ".err")))
            if galera and self.wsrep(node) == "Synced":
                self.check_start(node)
                return
            if not galera and self.sql(node, "SELECT 1", check=False,
                                       timeout=10).returncode == 0:
                return
            time.sleep(0.5)
        raise StackError("%s %s within %.0fs:\n%s" % (
            node, "not Synced" if galera else "does not answer", timeout,
            self.tail(node + ".err")))

    def check_start(self, node):
        """The node's clustercheck.py (HAProxy's health check), once."""
        name = node + "-check"
        if self.pid(name):
            return
        self.spawn(name, node, [
            sys.executable, os.path.join(HERE, "clustercheck.py"),
            "--listen", "%s:%d" % (addr(node), CHECK_PORT),
            "--socket", self.db_sock(node),
            "--lifetime", str(self.lifetime)])

    def db_users(self):
        pw = self.state.get("db_password")
        if not pw:
            pw = secrets.token_hex(16)
            self.state["db_password"] = pw
            self.save()
        # Replicated to every node (DDL and account statements are applied
        # cluster-wide, total order isolation).
        self.sql("db1", "; ".join([
            "CREATE DATABASE IF NOT EXISTS vigil CHARACTER SET utf8mb4 "
            "COLLATE utf8mb4_bin",
            "CREATE USER IF NOT EXISTS 'vigil'@'%%' IDENTIFIED BY '%s'" % pw,
            "GRANT ALL PRIVILEGES ON vigil.* TO 'vigil'@'%'"]))

    # -- the other topology: a primary and an asynchronous replica ---------

    def writer_host(self):
        """Where every Vigil process connects: HAProxy in front of the
        Galera nodes, or the primary itself (no proxy, no automatic
        failover: a replica is promoted by hand)."""
        return "db1" if self.topology == "replica" else "dbproxy"

    def db_nodes(self):
        return ("db1", "db2") if self.topology == "replica" else DB_NODES

    def replica_cnf(self, node):
        """my.cnf of db1 (the primary) or db2 (its replica): a binary log
        in row format with GTIDs, no wsrep; the replica read-only and
        counting connections per user (userstat), so that a test can show
        Vigil never connected to it."""
        d = self.hostdir(node)
        data = os.path.join(d, "data")
        os.makedirs(data, exist_ok=True)
        os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
        user = ""
        if os.geteuid() == 0:
            user = "user = %s\n" % self.db_user()
            os.chmod(self.root, 0o755)
            os.chmod(os.path.join(self.root, "hosts"), 0o755)
            err = self.logfile(node + ".err")
            open(err, "a").close()
            pw = pwd.getpwnam(self.db_user())
            for path in [d, err] + [os.path.join(top, x)
                                    for top, dirs, files in os.walk(d)
                                    for x in dirs + files]:
                os.chown(path, pw.pw_uid, pw.pw_gid)
        replica = node != "db1"
        cnf = os.path.join(d, "my.cnf")
        with open(cnf, "w") as f:
            f.write(f"""# Written by tests/cluster/cluster.py: {node}, the {
                "replica" if replica else "primary"} (--topology replica).
[mysqld]
{user}datadir = {data}
tmpdir = {d}/tmp
socket = {self.db_sock(node)}
pid-file = {d}/mysqld.pid
log-error = {self.logfile(node + ".err")}
bind-address = {addr(node)}
port = 3306
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
innodb-buffer-pool-size = 64M
innodb-log-file-size = 48M
max-connections = 300
server-id = {HOSTS[node]}
log-bin = {node}-bin
binlog-format = ROW
log-slave-updates = ON
gtid-strict-mode = ON
# Vigil's migrations create triggers as the unprivileged vigil user.
log-bin-trust-function-creators = 1
{"read-only = ON" if replica else ""}
{"userstat = ON" if replica else ""}
[client]
socket = {self.db_sock(node)}
""")
        return cnf

    def replica_status(self):
        """SHOW SLAVE STATUS of db2 as a dict (empty when none)."""
        r = subprocess.run([which("mariadb", "mysql"), "--no-defaults",
                            "-S", self.db_sock("db2"), "-uroot", "-B",
                            "--connect-timeout=5", "-e",
                            "SHOW SLAVE STATUS"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        lines = r.stdout.splitlines()
        if r.returncode != 0 or len(lines) < 2:
            return {}
        return dict(zip(lines[0].split("\t"), lines[1].split("\t")))

    def replica_up(self, timeout=60.0):
        """db1 the primary, db2 replicating from it with GTIDs (from the
        primary's first event: its binary log is reset before anything
        the replica should have is written)."""
        self.db_start("db1")
        pw = self.state.get("repl_password")
        if not pw:
            pw = secrets.token_hex(16)
            self.state["repl_password"] = pw
            self.save()
        self.sql("db1", "RESET MASTER")
        self.db_users()
        self.sql("db1", "CREATE USER IF NOT EXISTS 'repl'@'%%' IDENTIFIED "
                 "BY '%s'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%%'" %
                 pw)
        self.db_start("db2")
        self.sql("db2", "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL "
                 "gtid_slave_pos = ''; CHANGE MASTER TO MASTER_HOST = '%s', "
                 "MASTER_PORT = 3306, MASTER_USER = 'repl', "
                 "MASTER_PASSWORD = '%s', MASTER_USE_GTID = slave_pos, "
                 "MASTER_CONNECT_RETRY = 1; START SLAVE" % (addr("db1"), pw))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.replica_status()
            if st.get("Slave_IO_Running") == "Yes" and \
                    st.get("Slave_SQL_Running") == "Yes":
                log("replica: db2 replicates db1 (GTID %s)" %
                    st.get("Gtid_IO_Pos", "?"))
                return
            if st.get("Last_SQL_Error") or st.get("Last_IO_Error"):
                raise StackError("db2 does not replicate: %s %s" % (
                    st.get("Last_IO_Error"), st.get("Last_SQL_Error")))
            time.sleep(0.5)
        raise StackError("db2 does not replicate within %.0fs: %s" % (
            timeout, self.replica_status()))

    def replica_caught_up(self, timeout=120):
        """Wait until db2 has applied everything db1 has logged so far
        (MASTER_GTID_WAIT): the primary's GTID position, or None when the
        replica did not get there in time."""
        pos = self.rows("db1", "SELECT @@gtid_binlog_pos")[0][0]
        r = self.rows("db2", "SELECT MASTER_GTID_WAIT('%s', %d)" % (
            pos, timeout))
        return pos if r and r[0][0] == "0" else None

    # -- HAProxy -------------------------------------------------------------

    def haproxy_start(self):
        """HAProxy with the shipped sample (etc/haproxy/vigil.cfg) filled
        in, after a global section of the harness's own."""
        d = self.hostdir("dbproxy")
        glob = os.path.join(d, "haproxy.cfg")
        with open(glob, "w") as f:
            f.write(f"""# Written by tests/cluster/cluster.py.
global
    maxconn 2000
    pidfile {d}/haproxy.pid
""")
        cfg = os.path.join(d, "vigil.cfg")
        with open(cfg, "w") as f:
            f.write(self.ctl.fill("etc/haproxy/vigil.cfg", dict(
                [("LISTEN", addr("dbproxy") + ":3306")] +
                [("DB%d" % (i + 1), addr(n))
                 for i, n in enumerate(DB_NODES)])))
        argv = [which("haproxy"), "-f", glob, "-f", cfg]
        r = sh(*argv, "-c", check=False)
        if r.returncode != 0:
            raise StackError("haproxy -c failed:\n" + r.stdout + r.stderr)
        self.spawn("haproxy", "dbproxy", argv[:1] + ["-db"] + argv[1:])

    # -- Vigil ------------------------------------------------------------------

    def write_conf(self, path, **extra):
        kv = {
            "db_host": addr(self.writer_host()),
            "db_port": "3306",
            "db_user": "vigil",
            "db_password": self.state["db_password"],
            "db_name": "vigil",
            "workers": "3",
            "log": "stderr",
            "openapi_file": os.path.join(self.srcdir, "doc", "openapi.json"),
            "secret_key_file": self.ctl.secret_key_ensure(),
            "rules_dir": os.path.join(self.srcdir, "etc", "rules"),
            "attack_file": os.path.join(self.srcdir, "data",
                                        "attack-enterprise.tsv"),
            "frameworks_dir": os.path.join(self.srcdir, "data",
                                           "frameworks"),
            # The load of the scenarios is far above the default per-key
            # limits; the receiver is a private http:// address.
            "rate_read_per_min": "1000000",
            "rate_write_per_min": "1000000",
            "rate_ingest_per_min": "1000000",
            "allow_private_targets": "true",
            "allow_http_webhooks": "true",
            "trusted_proxies": addr("lb") + "/32",
            "spool_poll_ms": "200",
            # A spooler killed mid-delivery leaves its claimed deliveries
            # leased: the other takes them over once the lease expires
            # (default 60 s; the scenarios wait for every delivery).
            "webhook_lease": "10",
            "webhook_timeout_ms": "5000",
        }
        kv.update(extra)
        with open(path, "w") as f:
            f.write("# Written by tests/cluster/cluster.py.\n")
            f.write("".join("%s = %s\n" % item for item in kv.items()))
        os.chmod(path, 0o600)
        return path

    def conf(self, host):
        return os.path.join(self.hostdir(host), "vigil.conf")

    def api_start(self, host):
        conf = self.write_conf(self.conf(host))
        listen = "%s:%d" % (addr(host), API_PORT)
        self.spawn(host, host, [self.ctl.vigil_api, "-c", conf, "--listen",
                                listen, "--workers", "3"],
                   env=self.ctl.env())

    def lb_start(self):
        d = self.hostdir("lb")
        os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
        shutil.copy(stack.NGINX_FASTCGI_PARAMS,
                    os.path.join(d, "fastcgi_params"))
        # As installed on a Debian host: the server (etc/nginx/vigil.conf)
        # including snippets/vigil.conf (etc/nginx/vigil-snippet.conf),
        # whose fastcgi_pass names the upstream below.
        os.makedirs(os.path.join(d, "snippets"), exist_ok=True)
        with open(os.path.join(d, "snippets", "vigil.conf"), "w") as f:
            f.write(self.ctl.fill("etc/nginx/vigil-snippet.conf", {
                "FCGI_ADDR": "vigil_api"}))
        snippet = os.path.join(d, "vigil.conf")
        with open(snippet, "w") as f:
            f.write(self.ctl.fill("etc/nginx/vigil.conf", {
                "LISTEN": addr("lb") + ":80", "SERVER_NAME": "_"}))
        # The upstream of several API hosts: the shipped sample
        # (etc/nginx/vigil-upstream.conf), filled in.
        upstream = os.path.join(d, "vigil-upstream.conf")
        with open(upstream, "w") as f:
            f.write(self.ctl.fill("etc/nginx/vigil-upstream.conf", {
                "API%d" % (i + 1): "%s:%d" % (addr(h), API_PORT)
                for i, h in enumerate(API_HOSTS)}))
        user = "user root;\n" if os.geteuid() == 0 else ""
        t = os.path.join(d, "tmp")
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""# Written by tests/cluster/cluster.py.
{user}worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {self.logfile("lb-error.log")} warn;
events {{ worker_connections 1024; }}
http {{
    access_log {self.logfile("lb-access.log")};
    client_body_temp_path {t}/body;
    proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi;
    scgi_temp_path {t}/scgi;
    include {upstream};
    include {snippet};
}}
""")
        argv = [which("nginx"), "-p", d + "/", "-c", conf,
                "-e", self.logfile("lb-error.log")]
        r = sh("ip", "netns", "exec", ns("lb"), *argv, "-t", check=False)
        if r.returncode != 0:
            raise StackError("nginx -t failed:\n" + r.stderr)
        self.spawn("lb", "lb", argv)

    def scan_loop_start(self, host):
        """vigil-scan --due every SCAN_EVERY seconds, for at most
        lifetime seconds: the loop ends by itself."""
        conf = self.write_conf(self.conf(host))
        # Each line of vigil-scan's log prefixed with the wall clock to the
        # microsecond ($EPOCHREALTIME, no fork): its own stamps have whole
        # seconds, too coarse to tell whether two scanners' scans of one
        # integration overlapped (scenarios.scan_overlaps).
        script = ('end=$((SECONDS + %d)); while [ $SECONDS -lt $end ]; do '
                  '"$0" -c "$1" --due 2>&1 | while IFS= read -r l; do '
                  'printf "%%s %%s\\n" "$EPOCHREALTIME" "$l"; done; '
                  'sleep %d; done' % (self.lifetime, SCAN_EVERY))
        self.spawn(host, host, ["bash", "-c", script,
                                self.ctl.vigil_scan_bin, conf],
                   env=self.ctl.env())

    def spool_start(self, host):
        conf = self.write_conf(self.conf(host))
        self.spawn(host, host, [self.ctl.vigil_spool_bin, "-c", conf],
                   env=self.ctl.env())

    def receiver_start(self):
        self.spawn("receiver", "receiver", [
            sys.executable, os.path.join(self.srcdir, "tests", "integration",
                                         "receiver.py"),
            "--host", addr("receiver"), "--port", str(RECEIVER_PORT),
            "--log", self.logfile("receiver-deliveries.log")])

    def wait_tcp(self, host, port, name, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid(name) is None:
                raise StackError("%s exited:\n%s" % (
                    name, self.tail(name + ".log")))
            try:
                socket.create_connection((addr(host), port), 1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise StackError("%s does not listen on %s:%d" % (
            name, addr(host), port))

    def url(self):
        return "http://%s" % addr("lb")

    # -- up / down --------------------------------------------------------------

    def up(self):
        for b in (self.ctl.vigil_api, self.ctl.vigilctl_bin,
                  self.ctl.vigil_scan_bin, self.ctl.vigil_spool_bin):
            if not os.access(b, os.X_OK):
                raise StackError("%s is not built" % b)
        if not os.path.exists(GALERA):
            raise StackError("%s missing (apt-get install galera-4)" % GALERA)
        which("haproxy")
        os.makedirs(self.logdir, exist_ok=True)
        t0 = time.monotonic()
        existing = [n for n in netns_list() if n.startswith(NS_PREFIX)]
        if existing:
            raise StackError("namespaces %s exist already: a cluster is up "
                             "(cluster.py down ROOT first; with "
                             "VIGIL_CLUSTER_PREFIX=%s, any ROOT also removes "
                             "what a killed harness left)" %
                             (" ".join(existing), NS_PREFIX))
        # From here on, down() owns the namespaces (even half made).
        self.state["started"] = time.time()
        self.save()
        log("network: namespaces and a bridge on %s.0/24" % NET)
        net_up()
        join("client")
        if self.topology == "replica":
            self.replica_up()
        else:
            self.db_start("db1", bootstrap=True)
            self.db_users()
            for n in DB_NODES[1:]:
                self.db_start(n)
            size = self.wsrep("db1", "wsrep_cluster_size")
            log("Galera: cluster size %s (%.0fs)" % (
                size, time.monotonic() - t0))
            self.haproxy_start()
            self.wait_tcp("dbproxy", 3306, "haproxy")
        # vigilctl from the client host, through HAProxy, once.
        self.write_conf(self.ctl.conf)
        deadline = time.monotonic() + 30
        while True:
            r = self.ctl.vigilctl("migrate", check=False, timeout=600)
            if r.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise StackError("vigilctl migrate: exit %d\n%s%s" % (
                    r.returncode, r.stdout, r.stderr))
            time.sleep(1)      # HAProxy's first checks (rise 2)
        log("migrate: " + (r.stdout.strip().replace("\n", "; ") or "ok"))
        for h in API_HOSTS:
            self.api_start(h)
        for h in API_HOSTS:
            self.wait_tcp(h, API_PORT, h)
        self.lb_start()
        self.wait_tcp("lb", 80, "lb")
        for h in SPOOL_HOSTS:
            self.spool_start(h)
        self.receiver_start()
        self.wait_tcp("receiver", RECEIVER_PORT, "receiver")
        for h in SCAN_HOSTS:
            self.scan_loop_start(h)
        log("up in %.0fs: %s (from the client namespace: ip netns exec "
            "%s curl %s/api/v1/...)" % (time.monotonic() - t0, self.url(),
                                        ns("client"), self.url()))

    def down(self, stale=False):
        """Stop everything by pid, front to back, the database last; then
        the namespaces (stale: also namespaces of this prefix that ROOT
        does not know, left by a harness killed before its "down")."""
        procs = self.state.get("procs", {})
        order = (["lb"] + list(SCAN_HOSTS) + list(SPOOL_HOSTS) +
                 ["receiver"] + list(API_HOSTS) + ["haproxy"] +
                 [n + "-check" for n in DB_NODES] + list(reversed(DB_NODES)))
        for name in order + sorted(set(procs) - set(order)):
            if name in procs:
                self.stop(name, timeout=60 if name in DB_NODES else 20)
        self.reap()
        # Also namespaces of this prefix that a harness killed before its
        # own "down" left behind (ROOT then knows nothing of them): what
        # runs in them is killed by the pids the kernel lists.
        if self.state.get("started") or (stale and any(
                n.startswith(NS_PREFIX) for n in netns_list())):
            net_down()
            self.state.pop("started", None)
            self.save()
        self.reap()

    def demo_key(self, tenant="demo"):
        """A tenant (made once) and a new read,write,admin key, kept in
        ROOT/demo-key for "up"'s output."""
        r = self.ctl.vigilctl("tenant", "list")
        names = [line.split("\t")[1] for line in r.stdout.splitlines()[1:]
                 if "\t" in line]
        if tenant not in names:
            self.ctl.vigilctl("tenant", "create", tenant)
        key, _ = self.ctl.key_create(tenant, "read,write,admin", name="demo")
        path = os.path.join(self.root, "demo-key")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
        return key

    def status(self):
        return {name: self.pid(name) for name in self.state["procs"]}


# --- HTTP from the client host -----------------------------------------------

class Client:
    def __init__(self, base, key):
        self.base = base
        self.key = key

    def call(self, method, path, body=None, timeout=30):
        """(status, parsed body or None). A transport error is status 0."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base + path, method=method, data=data,
            headers={"X-API-Key": self.key,
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            raw, status = e.read(), e.code
        except (OSError, urllib.error.URLError):
            return 0, None
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None


def main(argv=None):
    import scenarios
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=("up", "down", "status", "test"))
    ap.add_argument("root", nargs="?")
    ap.add_argument("--srcdir")
    ap.add_argument("--builddir")
    ap.add_argument("--lifetime", type=int, default=7200,
                    help="seconds the scanner loops run (up; default 7200)")
    ap.add_argument("--scenario", action="append", default=[],
                    choices=sorted(scenarios.SCENARIOS) +
                    sorted(scenarios.PROBES),
                    help="a chaos scenario (or a probe of what is not "
                         "Galera-correct yet) to run after the smoke test "
                         "(test; default: every scenario, no probe)")
    ap.add_argument("--keep", action="store_true",
                    help="test: leave ROOT (logs, datadirs) behind")
    ap.add_argument("--topology", choices=("galera", "replica"),
                    help="up, test: three Galera nodes behind HAProxy "
                         "(galera, the default), or a primary (db1) and "
                         "an asynchronous replica (db2) with GTIDs, every "
                         "Vigil host on the primary, no HAProxy (replica; "
                         "test runs the replica scenario)")
    ap.add_argument("--ci", action="store_true",
                    help="test: the smoke test and CI's short set of "
                         "scenarios (scenarios.CI_SCENARIOS) instead of "
                         "every one")
    ap.add_argument("--timeout", type=int, default=None,
                    help="test: stop (and fail) after this many seconds "
                         "(default 900 with --ci, else 2400)")
    # ROOT may come after the options too.
    a = ap.parse_intermixed_args(argv)
    if os.geteuid() != 0:
        print("cluster.py: needs root (ip netns)", file=sys.stderr)
        return 2
    if a.command == "test":
        if a.timeout is None:
            a.timeout = 900 if a.ci else 2400
        return scenarios.run(a)
    if not a.root:
        ap.error("ROOT is required")
    c = Cluster(a.root, a.srcdir, a.builddir, a.lifetime,
                topology=a.topology if a.command == "up" else None)
    if a.command == "down":
        c.down(stale=True)
        print("stopped")
        return 0
    if a.command == "status":
        print(json.dumps(c.status(), indent=1))
        return 0
    os.makedirs(c.root, exist_ok=True)
    try:
        c.up()
        key = c.demo_key()
    except BaseException as e:
        print("cluster: %s" % e, file=sys.stderr)
        c.down()
        return 1
    print(json.dumps({"url": c.url(), "client_namespace": ns("client"),
                      "demo_key": key, "pids": c.status()}, indent=1))
    print("\ntry: ip netns exec %s curl -H 'X-API-Key: %s' %s/api/v1/findings"
          "\nstop: cluster.py down %s" % (ns("client"), key, c.url(), c.root),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
