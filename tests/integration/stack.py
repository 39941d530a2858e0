#!/usr/bin/env python3
"""stack.py: a private Vigil stack in one directory (Python 3 stdlib only).

It runs, all on 127.0.0.1 and all owned by files under ROOT:

  * MariaDB      ROOT/db/data, socket ROOT/run/mariadb.sock, a free TCP port
  * vigil-api    the pre-fork pool on the unix socket ROOT/run/vigil-api.sock
  * nginx        etc/nginx/vigil.conf and the snippet it includes
                 (etc/nginx/vigil-snippet.conf) filled in, in front of the pool
  * Apache       (optional) etc/apache/vigil-fcgid.conf (mod_fcgid spawning
                 vigil-api) and etc/apache/vigil-proxy-fcgi.conf (mod_proxy_fcgi
                 to the pool), one Apache, two ports

No system service is used or touched: every daemon is started here in the
foreground of its own session, with its pid in ROOT/run, its log in ROOT/log,
and stopped by that pid (SIGTERM, then SIGKILL after a timeout).

Used by tests/integration/run.py (as a module) and by ./dev (as a CLI):

  python3 tests/integration/stack.py up ROOT [--srcdir DIR] [--builddir DIR]
          [--port N] [--apache] [--demo-tenant NAME] [--workers N]
          [--spool] [--set KEY=VALUE ...]
  python3 tests/integration/stack.py down ROOT
  python3 tests/integration/stack.py status ROOT

ROOT/stack.json keeps the database password and ports, so "up" after "down"
reuses the data (and the ports when they are still free).
"""

import argparse
import http.client
import http.server
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SRCDIR = os.path.dirname(os.path.dirname(HERE))

APACHE_MODULES = "/usr/lib/apache2/modules"
NGINX_FASTCGI_PARAMS = "/etc/nginx/fastcgi_params"
NGINX_MIME_TYPES = "/etc/nginx/mime.types"
# The default sites Debian's nginx and apache2 packages enable.
NGINX_DEBIAN_DEFAULT = "/etc/nginx/sites-available/default"
APACHE_DEBIAN_SITES = "/etc/apache2/sites-available"

# What a sanitizer says when it finds something (ASan, LSan, UBSan).
SANITIZER_RE = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
    r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)")


# What vigil.conf has for the webhook and Azure keys when no test module
# set them: Stack.conf_push saves a module's starting values against these.
WEBHOOK_CONF_DEFAULTS = {
    "allow_http_webhooks": 0, "allow_private_targets": 0,
    "webhook_backoff_scale": 1, "webhook_timeout_ms": 15000,
    "webhook_connect_timeout_ms": 5000, "webhook_lease": 60,
    "spool_poll_ms": 200,
    "azure_authority_url": "https://login.microsoftonline.com",
    "azure_arm_url": "https://management.azure.com"}


class StackError(Exception):
    pass


def log(msg):
    print("stack: " + msg, file=sys.stderr, flush=True)


def free_port():
    """A TCP port on 127.0.0.1 that nobody is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def which(*names):
    for n in names:
        p = shutil.which(n, path=os.environ.get("PATH", "") +
                         ":/usr/sbin:/sbin:/usr/bin:/bin")
        if p:
            return p
    raise StackError("none of %s found in PATH" % ", ".join(names))


# --- processes --------------------------------------------------------------

def proc_state(pid):
    """The /proc state letter of pid, or None when there is no such process."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(")") + 2:].split()[0]


def pid_alive(pid):
    st = proc_state(pid)
    return st is not None and st not in ("Z", "X")


def proc_ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    return int(data[data.rindex(")") + 2:].split()[1])


def proc_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def children(pid):
    """Live child pids of pid (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and proc_ppid(int(d)) == pid and pid_alive(int(d)):
            out.append(int(d))
    return sorted(out)


# What each pid file's process runs, so that a stale pid file (after a
# reboot, say) never gets an unrelated process signalled.
EXPECTED = {"mariadb": ("mariadbd", "mysqld"), "vigil-api": ("vigil-api",),
            "nginx": ("nginx",), "apache": ("apache2", "httpd")}
# Prism's validating proxies (prism, and the scratch ones tests start)
PRISM_EXPECTED = ("prism",)
# Where ./dev installs the pinned npm tools (npm ci in tests/contract).
CONTRACT_TOOLS = os.path.join("tests", "contract", "node_modules", ".bin")
# The request header that tells the Replay server which response to give.
REPLAY_HEADER = "X-Vigil-Replay"
# A violation Prism logged about a response it passed on (its request-side
# findings are left out: the suite sends invalid requests on purpose).
PRISM_VIOLATION_RE = re.compile(
    r"\[VALIDATOR\].*?(error|warning)\s+Violation: (response\S*) (.*)$")
# vigil-spool and the extra spoolers the delivery tests start (vigil-spool-b)
SPOOL_EXPECTED = ("vigil-spool",)


class Replay:
    """An HTTP server on loopback that answers each request with the
    response registered under its X-Vigil-Replay token, byte for byte:
    the upstream of Prism's proxy (Stack.prism_start)."""

    HOP = ("connection", "keep-alive", "transfer-encoding", "content-length")

    def __init__(self):
        self.lock = threading.Lock()
        self.kept = {}
        self.count = itertools.count(1)
        replay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                with replay.lock:
                    kept = replay.kept.get(self.headers.get(REPLAY_HEADER))
                if kept is None:
                    self.send_response(599)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status, headers, body = kept
                self.send_response_only(status)
                for k, v in headers:
                    if k.lower() not in Replay.HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer
            do_OPTIONS = answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def put(self, status, headers, body):
        token = "r%d" % next(self.count)
        with self.lock:
            self.kept[token] = (status, list(headers), body)
        return token

    def drop(self, token):
        with self.lock:
            self.kept.pop(token, None)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def world_reachable(path, mode=os.R_OK):
    """True when a process of another user (Apache's www-data) can read
    (or, mode os.X_OK, execute) path: o+x on every directory above it."""
    path = os.path.abspath(path)
    try:
        st = os.stat(path)
    except OSError:
        return False
    need = 0o001 if mode == os.X_OK else 0o004
    if not st.st_mode & need:
        return False
    d = os.path.dirname(path)
    while True:
        try:
            if not os.stat(d).st_mode & 0o001:
                return False
        except OSError:
            return False
        if d == "/":
            return True
        d = os.path.dirname(d)


def read_pidfile(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def wait_gone(pid, timeout, popen=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen is not None:
            if popen.poll() is not None:
                return True
        elif not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def stop_pid(pid, what, sig=signal.SIGTERM, timeout=20.0, popen=None,
             group=False):
    """Stop one process by pid: sig, then SIGKILL (of its process group
    when group is set) after timeout. True when it had to be killed."""
    if pid is None or not pid_alive(pid):
        if popen is not None:
            popen.poll()
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    if wait_gone(pid, timeout, popen):
        return False
    log("%s (pid %d) ignored %s for %.0fs: SIGKILL" %
        (what, pid, signal.Signals(sig).name, timeout))
    try:
        if group:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    wait_gone(pid, 5, popen)
    return True


def lsan_works(binary):
    """1 when LeakSanitizer can run here (it needs ptrace-like access to
    stop the world at exit; some sandboxes forbid it), else 0. Probed with
    "BINARY --version", which exits normally."""
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
    env.pop("UBSAN_OPTIONS", None)
    try:
        r = subprocess.run([binary, "--version"], capture_output=True,
                           text=True, env=env, timeout=30)
    except OSError:
        return 1
    if "LeakSanitizer has encountered a fatal error" in r.stderr or \
            "LeakSanitizer does not work under ptrace" in r.stderr:
        log("LeakSanitizer cannot run here; leak checks are off")
        return 0
    return 1


# --- the stack --------------------------------------------------------------

class Stack:
    """A private stack under root. All paths absolute."""

    def __init__(self, root, srcdir=None, builddir=None, sanitize=False):
        self.root = os.path.abspath(root)
        self.srcdir = os.path.abspath(srcdir or os.environ.get(
            "VIGIL_SRCDIR") or DEFAULT_SRCDIR)
        self.builddir = os.path.abspath(builddir or os.environ.get(
            "VIGIL_BUILDDIR") or os.path.join(self.srcdir, "build"))
        self.sanitize = sanitize
        self.run = os.path.join(self.root, "run")
        self.logdir = os.path.join(self.root, "log")
        self.datadir = os.path.join(self.root, "db", "data")
        self.sandir = os.path.join(self.root, "sanitizer")
        self.db_sock = os.path.join(self.run, "mariadb.sock")
        self.api_sock = os.path.join(self.run, "vigil-api.sock")
        self.conf = os.path.join(self.root, "vigil.conf")
        self.state_file = os.path.join(self.root, "stack.json")
        self.vigil_api = os.path.join(self.builddir, "vigil-api")
        self.vigilctl_bin = os.path.join(self.builddir, "vigilctl")
        self.vigil_scan_bin = os.path.join(self.builddir, "vigil-scan")
        self.vigil_spool_bin = os.path.join(self.builddir, "vigil-spool")
        self.secret_key = os.path.join(self.root, "secret.key")
        self.procs = {}          # name -> Popen, for what this object started
        self.state = {}
        self._load_state()

    # -- bookkeeping --------------------------------------------------------

    def _load_state(self):
        try:
            with open(self.state_file) as f:
                self.state = json.load(f)
        except (OSError, ValueError):
            self.state = {}

    def _save_state(self):
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f, indent=1, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.state_file)

    def _port(self, name, wanted=None):
        """A port for name: wanted, else the remembered one if still free,
        else a fresh free one."""
        ports = self.state.setdefault("ports", {})
        if wanted:
            port = int(wanted)
        elif ports.get(name) and port_free(ports[name]):
            port = ports[name]
        else:
            port = free_port()
        ports[name] = port
        self._save_state()
        return port

    def pidfile(self, name):
        return os.path.join(self.run, name + ".pid")

    def running_pid(self, name):
        """The live pid in name's pid file, if it runs what it should."""
        pid = read_pidfile(self.pidfile(name))
        if pid is None or not pid_alive(pid):
            return None
        cmd = proc_cmdline(pid)
        expect = SPOOL_EXPECTED if name.startswith("vigil-spool") else \
            PRISM_EXPECTED if name.startswith("prism") else \
            EXPECTED.get(name, (name,))
        if not any(x in cmd for x in expect):
            log("%s: pid %d is not ours (%r); ignoring the stale pid file"
                % (name, pid, cmd[:80]))
            return None
        return pid

    def logfile(self, name):
        return os.path.join(self.logdir, name)

    def mkdirs(self):
        for d in (self.root, self.run, self.logdir, self.sandir,
                  os.path.dirname(self.datadir)):
            os.makedirs(d, exist_ok=True)
        # Apache's children and the vigil-api processes mod_fcgid spawns run
        # as www-data: they must reach the run directory, the config and the
        # sanitizer log directory.
        for d in (self.root, self.run, self.logdir):
            os.chmod(d, 0o755)
        os.chmod(self.sandir, 0o1777)

    def env(self):
        """The environment for vigil-api and vigilctl."""
        e = dict(os.environ)
        e["VIGIL_CONF"] = self.conf
        e["VIGIL_MIGRATIONS"] = os.path.join(self.srcdir, "db", "migrations")
        e.update(self.sanitizer_env())
        return e

    def sanitizer_env(self):
        if not self.sanitize:
            return {}
        if not hasattr(self, "_leaks"):
            self._leaks = lsan_works(self.vigil_api)
        return {
            "ASAN_OPTIONS": "detect_leaks=%d:abort_on_error=0:"
                            "log_path=%s/asan" % (self._leaks, self.sandir),
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:"
                             "log_path=%s/ubsan" % self.sandir,
        }

    def _spawn(self, name, argv, env=None, logname=None):
        """Start argv in its own session, stdout+stderr to ROOT/log."""
        logname = logname or name + ".log"
        out = open(self.logfile(logname), "ab")
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, env=env,
                                 cwd=self.root, start_new_session=True)
        finally:
            out.close()
        self.procs[name] = p
        return p

    def _tail(self, name, n=30):
        try:
            with open(self.logfile(name), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    def _stop(self, name, timeout=20.0, sig=signal.SIGTERM, group=False):
        pid = self.running_pid(name)
        p = self.procs.get(name)
        if p is not None and (pid is None or pid == p.pid):
            pid = p.pid
        killed = stop_pid(pid, name, sig=sig, timeout=timeout, popen=p,
                          group=group)
        self.procs.pop(name, None)
        try:
            os.unlink(self.pidfile(name))
        except FileNotFoundError:
            pass
        return killed

    # -- MariaDB ------------------------------------------------------------

    def db_init(self):
        if os.path.isdir(os.path.join(self.datadir, "mysql")):
            return
        os.makedirs(self.datadir, exist_ok=True)
        argv = [which("mariadb-install-db", "mysql_install_db"),
                "--no-defaults", "--datadir=" + self.datadir,
                "--auth-root-authentication-method=normal",
                "--skip-test-db"]
        if os.geteuid() == 0:
            argv.append("--user=root")
        log("initialising MariaDB in " + self.datadir)
        with open(self.logfile("mariadb-install.log"), "ab") as out:
            rc = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT)
        if rc != 0:
            shutil.rmtree(self.datadir, ignore_errors=True)
            raise StackError("mariadb-install-db failed:\n" +
                             self._tail("mariadb-install.log"))

    def db_running(self):
        return self.running_pid("mariadb") is not None

    def db_start(self, timeout=60.0):
        if self.db_running():
            return
        # The port vigil.conf names: restarts (the 503 test) keep it.
        port = self.state.get("ports", {}).get("db") or self._port("db")
        argv = [which("mariadbd", "mysqld"), "--no-defaults",
                "--datadir=" + self.datadir, "--socket=" + self.db_sock,
                "--port=%d" % port, "--bind-address=127.0.0.1",
                "--skip-name-resolve", "--pid-file=" + self.pidfile("mariadb"),
                "--log-error=" + self.logfile("mariadb.err"),
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_general_ci",
                "--innodb-buffer-pool-size=64M", "--max-connections=300"]
        if os.geteuid() == 0:
            argv.append("--user=root")
        p = self._spawn("mariadb", argv)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise StackError("mariadbd exited %s:\n%s" % (
                    p.returncode, self._tail("mariadb.err")))
            if self.sql("SELECT 1", check=False).returncode == 0:
                # mariadbd writes its own pid file; ours is the same pid.
                with open(self.pidfile("mariadb"), "w") as f:
                    f.write("%d\n" % p.pid)
                return
            time.sleep(0.2)
        raise StackError("mariadbd did not answer within %ds:\n%s" % (
            timeout, self._tail("mariadb.err")))

    def db_stop(self, timeout=60.0):
        self._stop("mariadb", timeout=timeout)

    def sql(self, statement, database=None, check=True, timeout=60):
        """Run SQL as root through the socket; CompletedProcess (text).
        timeout: seconds, or None for a bulk load that may take longer
        on a busy machine."""
        argv = [which("mariadb", "mysql"), "--no-defaults", "-S", self.db_sock,
                "-uroot", "-N", "-B", "-e", statement]
        if database:
            argv.append(database)
        r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise StackError("SQL failed (%s): %s" % (statement, r.stderr))
        return r

    def query(self, statement, database="vigil"):
        """Rows of a query as lists of strings."""
        out = self.sql(statement, database=database).stdout
        return [line.split("\t") for line in out.splitlines()]

    def logged(self, run, select):
        """run() with the server's general log on, in mysql.general_log:
        (what run returned, the rows of "SELECT " + select over the log as
        it then holds the statements run sent). The log is emptied before
        and after, and written to its file again."""
        self.sql("SET GLOBAL general_log = 0; TRUNCATE mysql.general_log; "
                 "SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = 1")
        try:
            out = run()
        finally:
            self.sql("SET GLOBAL general_log = 0")
            rows = self.query("SELECT " + select)
            self.sql("TRUNCATE mysql.general_log; "
                     "SET GLOBAL log_output = 'FILE'")
        return out, rows

    def logged_statements(self, run, like):
        """run(), and the statements the server executed meanwhile whose
        text is LIKE like (a string of SQL), in order, each on one line
        (its newlines and tabs as spaces)."""
        out, rows = self.logged(
            run, "REPLACE(REPLACE(CONVERT(argument USING utf8mb4), '\\n', "
            "' '), '\\t', ' ') FROM mysql.general_log WHERE command_type "
            "IN ('Execute', 'Query') AND argument LIKE %s ORDER BY "
            "event_time" % like)
        return out, [r[0] for r in rows]

    def db_setup(self):
        pw = self.state.get("db_password")
        if not pw:
            pw = secrets.token_hex(16)
            self.state["db_password"] = pw
            self._save_state()
        stmts = ["CREATE DATABASE IF NOT EXISTS vigil "
                 "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"]
        for host in ("127.0.0.1", "localhost"):
            stmts += [
                "CREATE USER IF NOT EXISTS 'vigil'@'%s' IDENTIFIED BY '%s'"
                % (host, pw),
                "ALTER USER 'vigil'@'%s' IDENTIFIED BY '%s'" % (host, pw),
                "GRANT ALL PRIVILEGES ON vigil.* TO 'vigil'@'%s'" % host]
        self.sql("; ".join(stmts))

    # -- vigil.conf and vigilctl ----------------------------------------------

    def write_conf(self, **extra):
        """Write ROOT/vigil.conf (contract keys); extra overrides/adds keys."""
        kv = {
            "db_host": "127.0.0.1",
            "db_port": str(self.state["ports"]["db"]),
            "db_user": "vigil",
            "db_password": self.state["db_password"],
            "db_name": "vigil",
            "listen": self.api_sock,
            # The private stack's nginx workers (nobody) and Apache
            # (www-data) must reach the socket; a production install
            # gives it the web server's group instead (vigil-api(8)).
            "listen_mode": "0666",
            "workers": "4",
            "log": "stderr",
            "openapi_file": os.path.join(self.srcdir, "doc", "openapi.json"),
            "secret_key_file": self.secret_key_ensure(),
            "rules_dir": os.path.join(self.srcdir, "etc", "rules"),
            "template_dir": os.path.join(self.srcdir, "etc", "templates"),
            "attack_file": os.path.join(self.srcdir, "data",
                                        "attack-enterprise.tsv"),
            "frameworks_dir": os.path.join(self.srcdir, "data",
                                           "frameworks"),
        }
        kv.update(self.state.get("conf_extra", {}))
        kv.update({k: str(v) for k, v in extra.items()})
        if extra:
            ce = self.state.setdefault("conf_extra", {})
            ce.update({k: str(v) for k, v in extra.items()})
            self._save_state()
        lines = ["# Written by tests/integration/stack.py; rewritten by "
                 "every 'up'."]
        lines += ["%s = %s" % (k, v) for k, v in kv.items()]
        tmp = self.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        # Readable by www-data (mod_fcgid's vigil-api): a private loopback
        # stack, not a production install.
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.conf)

    def secret_key_ensure(self):
        """ROOT/secret.key: the AES-256 key sealing integration secrets
        (64 hex digits, mode 0600), made once and kept across "up"s."""
        if not os.path.exists(self.secret_key):
            fd = os.open(self.secret_key, os.O_WRONLY | os.O_CREAT |
                         os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
        return self.secret_key

    def _run_logged(self, binary, args, logname, conf=None, timeout=300,
                    wait=True):
        """Run binary -c conf (default ROOT/vigil.conf) with args; its output
        is also appended to ROOT/log/LOGNAME. wait=False returns the Popen
        (stdout/stderr pipes) instead."""
        argv = [binary, "-c", conf or self.conf, *args]
        if not wait:
            return subprocess.Popen(argv, env=self.env(),
                                    stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True,
                                    start_new_session=True)
        r = subprocess.run(argv, env=self.env(), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
        with open(self.logfile(logname), "a") as f:
            f.write("$ %s %s (exit %d)\n%s%s" % (
                os.path.basename(binary), " ".join(args), r.returncode,
                r.stdout, r.stderr))
        return r

    def scan(self, *args, conf=None, timeout=300, wait=True):
        """vigil-scan with args (see _run_logged)."""
        return self._run_logged(self.vigil_scan_bin, args, "vigil-scan.log",
                                conf=conf, timeout=timeout, wait=wait)

    # -- vigil-spool ----------------------------------------------------------

    def spool_start(self, name="vigil-spool", conf=None, args=()):
        """Start a vigil-spool daemon (-c conf, default ROOT/vigil.conf)
        logging to ROOT/log/NAME.log, its pid in ROOT/run/NAME.pid. Several
        may run under different names."""
        if self.running_pid(name):
            return self.running_pid(name)
        if not os.access(self.vigil_spool_bin, os.X_OK):
            raise StackError("%s is not built" % self.vigil_spool_bin)
        argv = [self.vigil_spool_bin, "-c", conf or self.conf, *args]
        p = self._spawn(name, argv, env=self.env())
        with open(self.pidfile(name), "w") as f:
            f.write("%d\n" % p.pid)
        time.sleep(0.2)
        if p.poll() is not None:
            raise StackError("%s exited %s:\n%s" % (
                name, p.returncode, self._tail(name + ".log")))
        return p.pid

    def spool_stop(self, name="vigil-spool", sig=signal.SIGTERM,
                   timeout=30.0):
        """Stop a spooler (SIGTERM: it finishes what is in flight). Returns
        its exit status when this object started it."""
        p = self.procs.get(name)
        self._stop(name, timeout=timeout, sig=sig)
        return p.returncode if p is not None else None

    def spool_names(self):
        try:
            return sorted(f[:-4] for f in os.listdir(self.run)
                          if f.startswith("vigil-spool") and
                          f.endswith(".pid"))
        except FileNotFoundError:
            return []

    def spool_once(self, *args, conf=None, timeout=120, wait=True):
        """vigil-spool --once with args (see _run_logged)."""
        return self._run_logged(self.vigil_spool_bin, ("--once",) + args,
                                "vigil-spool-once.log", conf=conf,
                                timeout=timeout, wait=wait)

    def vigilctl(self, *args, check=True, timeout=60):
        r = subprocess.run([self.vigilctl_bin, *args], env=self.env(),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise StackError("vigilctl %s: exit %d\n%s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def migrate(self):
        return self.vigilctl("migrate").stdout

    def tenant_ensure(self, name):
        rows = self.query("SELECT id FROM tenants WHERE name = '%s'" % name)
        if rows:
            return rows[0][0]
        return self.vigilctl("tenant", "create", name).stdout.strip()

    def key_create(self, tenant, scopes="read,write,admin", expires=None,
                   name=None):
        """(key, key_id) of a new key made with vigilctl."""
        args = ["key", "create", "--tenant", tenant, "--scopes", scopes]
        if expires:
            args += ["--expires", expires]
        if name:
            args += ["--name", name]
        r = self.vigilctl(*args)
        key = r.stdout.splitlines()[0].strip()
        m = re.search(r"key_[0-9A-Za-z]{26}", r.stderr + r.stdout)
        return key, (m.group(0) if m else None)

    # -- vigil-api pool -------------------------------------------------------

    def api_pid(self):
        return self.running_pid("vigil-api")

    def api_workers(self):
        pid = self.api_pid()
        return children(pid) if pid else []

    def api_start(self, workers=4, timeout=30.0):
        if self.api_pid():
            return
        if not os.access(self.vigil_api, os.X_OK):
            raise StackError("%s is not built" % self.vigil_api)
        argv = [self.vigil_api, "-c", self.conf, "--listen", self.api_sock,
                "--workers", str(workers), "--pidfile",
                self.pidfile("vigil-api")]
        try:
            os.unlink(self.pidfile("vigil-api"))
        except FileNotFoundError:
            pass
        p = self._spawn("vigil-api", argv, env=self.env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise StackError("vigil-api exited %s:\n%s" % (
                    p.returncode, self._tail("vigil-api.log")))
            if (read_pidfile(self.pidfile("vigil-api")) == p.pid and
                    os.path.exists(self.api_sock) and
                    len(children(p.pid)) >= workers):
                return
            time.sleep(0.05)
        raise StackError("vigil-api pool did not come up:\n" +
                         self._tail("vigil-api.log"))

    def api_stop(self, timeout=40.0):
        """SIGTERM the master (it drains), SIGKILL its group if it hangs.
        Returns the master's exit status when this object started it."""
        pid = self.api_pid()
        p = self.procs.get("vigil-api")
        workers = children(pid) if pid else []
        self._stop("vigil-api", timeout=timeout, group=True)
        for w in workers:          # orphans, should the master have died
            stop_pid(w, "vigil-api worker", timeout=5)
        return p.returncode if p is not None else None

    def api_restart(self, workers=4):
        """The pool stopped and started again: it reads vigil.conf only at
        start."""
        self.api_stop()
        self.api_start(workers=workers)

    # -- a test module's own configuration ------------------------------------

    def conf_push(self, defaults, workers=4, **conf):
        """vigil.conf with conf on top, the pool restarted to read it.
        Returns what each key of defaults (key: its value when no module set
        it) was before, for conf_pop to put back."""
        extra = self.state.get("conf_extra", {})
        saved = {k: extra.get(k, v) for k, v in defaults.items()}
        self.write_conf(**conf)
        self.api_restart(workers)
        return saved

    def conf_pop(self, saved, workers=4):
        """vigil.conf as conf_push found it, the pool restarted to read it."""
        self.write_conf(**saved)
        self.api_restart(workers)

    def outbox_disown(self):
        """Earlier modules' outbox is theirs (unreachable test URLs): marked
        fanned out and failed, so the spoolers a module runs deliver only
        its own events."""
        self.sql("UPDATE events SET dispatched = 1", database="vigil")
        self.sql("UPDATE deliveries SET status = 'failed' "
                 "WHERE status IN ('pending', 'delivering')",
                 database="vigil")

    # -- nginx ----------------------------------------------------------------

    def fill(self, template, values):
        """Fill a shipped template's @PLACEHOLDERS@; any left is an error."""
        with open(os.path.join(self.srcdir, template)) as f:
            text = f.read()
        for k, v in values.items():
            text = text.replace("@%s@" % k, str(v))
        # Only lines that are not comments may not keep a placeholder.
        body = "\n".join(line for line in text.splitlines()
                         if not line.lstrip().startswith("#"))
        left = re.findall(r"@[A-Z_]+@", body)
        if left:
            raise StackError("%s: unfilled %s" % (template, ", ".join(left)))
        return text

    def nginx_start(self, port=None):
        if self.running_pid("nginx"):
            return
        port = self._port("nginx", port)
        d = os.path.join(self.root, "nginx")
        for sub in ("", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        site = self.nginx_site(d, "etc/nginx/vigil.conf", {
            "LISTEN": "127.0.0.1:%d" % port,
            "SERVER_NAME": "127.0.0.1"})
        snippet = site
        conf = os.path.join(d, "nginx.conf")
        user = "user root;\n" if os.geteuid() == 0 else ""
        t = os.path.join(d, "tmp")
        with open(conf, "w") as f:
            f.write(f"""# Written by tests/integration/stack.py.
{user}worker_processes 2;
daemon off;
pid {self.pidfile("nginx")};
error_log {self.logfile("nginx-error.log")} warn;
events {{ worker_connections 512; }}
http {{
    access_log {self.logfile("nginx-access.log")};
    client_body_temp_path {t}/body;
    proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi;
    scgi_temp_path {t}/scgi;
    include {snippet};
}}
""")
        argv = [which("nginx"), "-p", d + "/", "-c", conf,
                "-e", self.logfile("nginx-error.log")]
        r = subprocess.run(argv + ["-t"], capture_output=True, text=True)
        if r.returncode != 0:
            raise StackError("nginx -t failed:\n" + r.stderr)
        p = self._spawn("nginx", argv)
        self._wait_port(port, p, "nginx", "nginx-error.log")
        with open(self.pidfile("nginx"), "w") as f:
            f.write("%d\n" % p.pid)

    def nginx_site(self, d, template, values):
        """Fill the server template (etc/nginx/vigil.conf or
        vigil-tls.conf) into d, next to what it includes as on a Debian
        install: snippets/vigil.conf (etc/nginx/vigil-snippet.conf, to the
        pool's socket) and fastcgi_params, relative to the configuration's
        directory. The site file's path."""
        os.makedirs(os.path.join(d, "snippets"), exist_ok=True)
        shutil.copy(NGINX_FASTCGI_PARAMS, os.path.join(d, "fastcgi_params"))
        with open(os.path.join(d, "snippets", "vigil.conf"), "w") as f:
            f.write(self.fill("etc/nginx/vigil-snippet.conf", {
                "FCGI_ADDR": "unix:" + self.api_sock}))
        site = os.path.join(d, os.path.basename(template))
        with open(site, "w") as f:
            f.write(self.fill(template, values))
        return site

    def nginx_stop(self):
        self._stop("nginx", timeout=15)

    # -- extra front ends, for the tests of the shipped web configurations ----

    def debian_nginx_default(self, d, listen):
        """A copy of the nginx package's default site
        (/etc/nginx/sites-available/default) listening on listen instead
        of port 80, or None when nginx's package did not install it."""
        try:
            with open(NGINX_DEBIAN_DEFAULT) as f:
                text = f.read()
        except OSError:
            return None
        text = re.sub(r"(?m)^(\s*)listen\s+\[::\]:80\b[^;]*;", r"\1# (no IPv6 in the test)", text)
        text = re.sub(r"(?m)^(\s*listen\s+)80\b", r"\g<1>" + listen, text)
        path = os.path.join(d, "sites-default")
        with open(path, "w") as f:
            f.write(text)
        return path

    def debian_apache_default(self, d, name, port):
        """A copy of one of Apache's packaged default sites (000-default or
        default-ssl, /etc/apache2/sites-available/NAME.conf) on port
        instead of 80 or 443, or None when it is not installed."""
        try:
            with open(os.path.join(APACHE_DEBIAN_SITES, name + ".conf")) as f:
                text = f.read()
        except OSError:
            return None
        text = re.sub(r"<VirtualHost \*:(80|443)>",
                      "<VirtualHost *:%d>" % port, text)
        path = os.path.join(d, name + ".conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def nginx_extra_start(self, name, sites):
        """Another nginx, ROOT/NAME, whose http { } includes the files
        sites (in that order, as sites-enabled would), which must listen
        on 127.0.0.1 ports of their own. Stop it with
        extra_stop(NAME)."""
        d = os.path.join(self.root, name)
        os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
        conf = os.path.join(d, "nginx.conf")
        user = "user root;\n" if os.geteuid() == 0 else ""
        t = os.path.join(d, "tmp")
        includes = "\n".join("    include %s;" % x for x in sites)
        with open(conf, "w") as f:
            f.write(f"""# Written by tests/integration/stack.py.
{user}worker_processes 1;
daemon off;
pid {self.pidfile(name)};
error_log {self.logfile(name + "-error.log")} warn;
events {{ worker_connections 128; }}
http {{
    access_log {self.logfile(name + "-access.log")};
    client_body_temp_path {t}/body;
    proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi;
    scgi_temp_path {t}/scgi;
    include {NGINX_MIME_TYPES};
{includes}
}}
""")
        argv = [which("nginx"), "-p", d + "/", "-c", conf,
                "-e", self.logfile(name + "-error.log")]
        r = subprocess.run(argv + ["-t"], capture_output=True, text=True)
        if r.returncode != 0:
            raise StackError("nginx -t failed:\n" + r.stderr)
        p = self._spawn(name, argv)
        self.procs[name] = p
        return p, r.stderr

    def apache_extra_start(self, name, body, modules=(), ports=()):
        """Another Apache, ROOT/NAME, running the configuration text body
        after a server-level preamble like apache_start's (its
        DocumentRoot ROOT/NAME/htdocs, mod_fcgid's files under ROOT/NAME),
        with modules loaded besides mpm_event, authz_core and fcgid. Waits
        for ports. Stop it with extra_stop(NAME)."""
        d = os.path.join(self.root, name)
        for sub in ("", "run", "htdocs", "fcgid", "log"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
            os.chmod(os.path.join(d, sub), 0o755)
        user = "www-data"
        try:
            import pwd
            pw = pwd.getpwnam(user)
            os.chown(os.path.join(d, "fcgid"), pw.pw_uid, pw.pw_gid)
        except (KeyError, PermissionError):
            pass
        mods = ["mpm_event", "authz_core", "fcgid"] + [
            m for m in modules if m not in ("mpm_event", "authz_core",
                                            "fcgid")]
        loads = "\n".join("LoadModule %s_module %s/mod_%s.so" %
                          (m, APACHE_MODULES, m) for m in mods)
        initenv = "\n".join("FcgidInitialEnv %s %s" % kv
                            for kv in self.sanitizer_env().items())
        listens = "\n".join("Listen 127.0.0.1:%d" % p for p in ports)
        conf = os.path.join(d, "httpd.conf")
        with open(conf, "w") as f:
            f.write(f"""# Written by tests/integration/stack.py.
ServerRoot {d}
ServerName 127.0.0.1
{listens}
PidFile {self.pidfile(name)}.own
ErrorLog {self.logfile(name + "-error.log")}
LogLevel warn
DefaultRuntimeDir {d}/run
Mutex file:{d}/run default
Define APACHE_LOG_DIR {d}/log
{loads}
User {user}
Group {user}
DocumentRoot {d}/htdocs
<Directory />
    AllowOverride None
    Require all denied
</Directory>
StartServers 1
ThreadsPerChild 25
MaxRequestWorkers 50
FcgidIPCDir {d}/fcgid
FcgidProcessTableFile {d}/run/fcgid_shm
{initenv}
{body}
""")
        argv = [which("apache2", "httpd"), "-f", conf, "-DFOREGROUND"]
        r = subprocess.run([argv[0], "-f", conf, "-t"], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise StackError("apache2 -t failed:\n" + r.stderr + r.stdout)
        p = self._spawn(name, argv, logname=name + "-stderr.log")
        self.procs[name] = p
        for port in ports:
            self._wait_port(port, p, "apache2", name + "-error.log")
        return p

    def extra_stop(self, name):
        """Stop a front end nginx_extra_start or apache_extra_start
        started, and what it spawned."""
        p = self.procs.pop(name, None)
        if p is None:
            return
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)

    def _wait_port(self, port, p, what, logname, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise StackError("%s exited %s:\n%s" % (
                    what, p.returncode, self._tail(logname)))
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise StackError("%s does not listen on %d:\n%s" % (
            what, port, self._tail(logname)))

    # -- Apache ----------------------------------------------------------------

    def apache_start(self, fcgid_port=None, proxy_port=None):
        if self.running_pid("apache"):
            return
        fport = self._port("apache_fcgid", fcgid_port)
        pport = self._port("apache_proxy", proxy_port)
        d = os.path.join(self.root, "apache")
        for sub in ("", "run", "htdocs", "fcgid"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.chmod(d, 0o755)
        user = "www-data"
        try:
            import pwd
            pw = pwd.getpwnam(user)
            os.chown(os.path.join(d, "fcgid"), pw.pw_uid, pw.pw_gid)
        except (KeyError, PermissionError):
            pass
        # mod_fcgid runs vigil-api as www-data: when the build or source
        # tree is out of its reach (a checkout under /root, say), it gets
        # copies under ROOT.
        api = self.vigil_api
        if not world_reachable(api, os.X_OK):
            os.makedirs(os.path.join(d, "bin"), exist_ok=True)
            api = os.path.join(d, "bin", "vigil-api")
            shutil.copy2(self.vigil_api, api)
            os.chmod(api, 0o755)
        # Likewise every file and folder of the source tree vigil.conf
        # names (the OpenAPI document, the rules, the ATT&CK list, the
        # control catalogues, the message templates): copies under ROOT,
        # in a vigil.conf of their own, when www-data cannot read them.
        fcgid_conf = self.conf
        with open(self.conf) as f:
            lines = f.read().split("\n")
        copied = False
        for i, line in enumerate(lines):
            key, sep, val = line.partition(" = ")
            if (not sep or key not in ("openapi_file", "rules_dir",
                                       "attack_file", "frameworks_dir",
                                       "template_dir") or
                    not val.startswith(self.srcdir + os.sep) or
                    world_reachable(val)):
                continue
            dst = os.path.join(d, "src-" + os.path.basename(val))
            if os.path.isdir(val):
                shutil.rmtree(dst, ignore_errors=True)
                shutil.copytree(val, dst)
                for top, dirs, files in os.walk(dst):
                    os.chmod(top, 0o755)
                    for n in files:
                        os.chmod(os.path.join(top, n), 0o644)
            else:
                shutil.copy2(val, dst)
                os.chmod(dst, 0o644)
            lines[i] = "%s = %s" % (key, dst)
            copied = True
        if copied:
            fcgid_conf = os.path.join(d, "vigil.conf")
            with open(fcgid_conf, "w") as f:
                f.write("\n".join(lines))
            os.chmod(fcgid_conf, 0o644)
        self.fcgid_conf = fcgid_conf
        self.fcgid_api = api
        fcgid = os.path.join(d, "vigil-fcgid.conf")
        with open(fcgid, "w") as f:
            f.write(self.fill("etc/apache/vigil-fcgid.conf", {
                "PORT": fport, "VIGIL_API": api, "SERVER_NAME": "127.0.0.1",
                "APACHE_MODULES": APACHE_MODULES,
                "VIGIL_CONF": fcgid_conf}))
        proxy = os.path.join(d, "vigil-proxy-fcgi.conf")
        with open(proxy, "w") as f:
            f.write(self.fill("etc/apache/vigil-proxy-fcgi.conf", {
                "PORT": pport, "APACHE_MODULES": APACHE_MODULES,
                "SERVER_NAME": "127.0.0.1",
                "FCGI_URL": "unix:%s|fcgi://localhost/" % self.api_sock}))
        mods = ["mpm_event", "authz_core", "alias", "fcgid", "proxy",
                "proxy_fcgi"]
        loads = "\n".join("LoadModule %s_module %s/mod_%s.so" %
                          (m, APACHE_MODULES, m) for m in mods)
        initenv = "\n".join("FcgidInitialEnv %s %s" % kv
                            for kv in self.sanitizer_env().items())
        conf = os.path.join(d, "httpd.conf")
        with open(conf, "w") as f:
            f.write(f"""# Written by tests/integration/stack.py.
ServerRoot {d}
ServerName 127.0.0.1
Listen 127.0.0.1:{fport}
Listen 127.0.0.1:{pport}
PidFile {self.pidfile("apache")}.own
ErrorLog {self.logfile("apache-error.log")}
LogLevel warn
DefaultRuntimeDir {d}/run
Mutex file:{d}/run default
{loads}
User {user}
Group {user}
DocumentRoot {d}/htdocs
<Directory />
    AllowOverride None
    Require all denied
</Directory>
LogFormat "%h %t \\"%r\\" %>s %b %D" vigil
CustomLog {self.logfile("apache-access.log")} vigil
StartServers 2
ThreadsPerChild 25
MaxRequestWorkers 100
FcgidIPCDir {d}/fcgid
FcgidProcessTableFile {d}/run/fcgid_shm
{initenv}
Include {fcgid}
Include {proxy}
""")
        argv = [which("apache2", "httpd"), "-f", conf, "-DFOREGROUND"]
        r = subprocess.run([argv[0], "-f", conf, "-t"], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise StackError("apache2 -t failed:\n" + r.stderr + r.stdout)
        p = self._spawn("apache", argv, logname="apache-stderr.log")
        self._wait_port(fport, p, "apache2", "apache-error.log")
        self._wait_port(pport, p, "apache2", "apache-error.log")
        with open(self.pidfile("apache"), "w") as f:
            f.write("%d\n" % p.pid)

    def apache_stop(self):
        self._stop("apache", timeout=20)
        self.fcgid_gate_remove()

    def fcgid_gate_remove(self):
        """Remove the System V semaphore the mod_fcgid processes shared
        (cgi/pool.c: ftok of their vigil.conf, project 'g'), which would
        otherwise outlive the stack."""
        path = getattr(self, "fcgid_conf", None)
        try:
            st = os.stat(path) if path else None
        except OSError:
            st = None
        if st is None:
            return
        key = (ord("g") << 24) | ((st.st_dev & 0xff) << 16) | (
            st.st_ino & 0xffff)
        subprocess.run(["ipcrm", "-S", "0x%08x" % key],
                       capture_output=True, check=False)
        # and their GET /metrics counters (src/http/metrics.c) and rate
        # limits (src/http/ratetable.c), one object each per user of that
        # vigil.conf, named after its path's FNV-1a (src/base/shmconf.c)
        h = 0xcbf29ce484222325
        for c in os.path.realpath(path).encode():
            h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
        suffix = "-%016x" % h
        try:
            names = os.listdir("/dev/shm")
        except OSError:
            names = []
        for n in names:
            if (n.startswith(("vigil-metrics-", "vigil-ratetable-"))
                    and n.endswith(suffix)):
                try:
                    os.unlink(os.path.join("/dev/shm", n))
                except OSError:
                    pass

    def fcgid_warm(self, processes=48, timeout=60):
        """Run the shipped warm-up (contrib/fcgid-warm.sh), as the shipped
        systemd drop-in does after Apache starts: True when mod_fcgid runs
        that many vigil-api processes."""
        r = subprocess.run(
            ["sh", os.path.join(self.srcdir, "contrib", "fcgid-warm.sh"),
             "-n", str(processes), "-t", str(timeout),
             "-p", self.pidfile("apache"), self.urls()["apache-fcgid"]],
            capture_output=True, text=True, timeout=timeout + 30)
        if r.returncode != 0:
            log("fcgid-warm: " + (r.stderr.strip() or "exit %d" %
                                  r.returncode))
        return r.returncode == 0

    def fcgid_pids(self):
        """The vigil-api processes mod_fcgid runs now: children of its
        process manager, itself a child of Apache's parent."""
        apache = self.running_pid("apache")
        if not apache:
            return []
        return sorted(pid for pm in children(apache)
                      for pid in children(pm)
                      if "vigil-api" in proc_cmdline(pid))

    # -- Prism ------------------------------------------------------------------

    def contract_tool(self, name):
        """The path of a pinned npm tool (prism, redocly), or None when
        tests/contract/node_modules is not installed (./dev installs it)."""
        path = os.path.join(self.srcdir, CONTRACT_TOOLS, name)
        return path if os.access(path, os.X_OK) else None

    def prism_start(self, name="prism", doc=None, port=None, timeout=240.0):
        """Stoplight Prism's validating proxy, checking responses against
        doc (default doc/openapi.json), in front of a Replay server: the
        suite's requests are sent to the web servers directly, and each
        answer vigil-api gave is then sent through Prism (prism_check), its
        request replayed and its response given back by the Replay server
        byte for byte, for Prism to hold against the document.

        Prism's proxy is not transparent to requests, so the suite's own
        traffic does not go through it: it re-encodes a request body as
        UTF-8, parses a JSON one (answering its own 400 to malformed JSON,
        keeping the last of a repeated key, overflowing its stack on deep
        nesting), cannot pass a HEAD answer or a chunked body on, and
        refuses methods it does not know; the suite's hostile-input tests
        would test Prism, not vigil-api. Run without --errors (Prism's
        answer would replace vigil-api's) and without request validation
        (the suite sends invalid requests on purpose); what Prism finds in
        a response is in its sl-violations header and ROOT/log/NAME.log."""
        if self.running_pid(name):
            return
        binary = self.contract_tool("prism")
        if binary is None:
            raise StackError("Prism is not installed (%s): ./dev installs "
                             "it (npm ci in tests/contract)"
                             % os.path.join(self.srcdir, CONTRACT_TOOLS))
        if getattr(self, "replay", None) is None:
            self.replay = Replay()
        port = self._port(name, port)
        argv = [binary, "proxy", "--host", "127.0.0.1", "--port", str(port),
                "--cors=false", "--validate-request=false",
                "--verboseLevel", "warn",
                doc or os.path.join(self.srcdir, "doc", "openapi.json"),
                self.replay.url]
        # The log is per start: prism_violations reads this run's.
        open(self.logfile(name + ".log"), "wb").close()
        p = self._spawn(name, argv)
        # It reads and resolves the whole document before it listens.
        self._wait_port(port, p, name, name + ".log", timeout=timeout)
        with open(self.pidfile(name), "w") as f:
            f.write("%d\n" % p.pid)
        self.state.setdefault("prism", []).append(name)
        self._save_state()

    def prism_stop(self, name="prism"):
        self._stop(name, timeout=15, group=True)
        if name in self.state.get("prism", []):
            self.state["prism"].remove(name)
            self._save_state()

    def prism_names(self):
        return sorted(set(self.state.get("prism", [])))

    def prism_url(self, name="prism"):
        if not self.running_pid(name):
            return None
        return "http://127.0.0.1:%d" % self.state["ports"][name]

    def prism_check(self, method, target, status, headers, body,
                    name="prism"):
        """Send one exchange through Prism NAME: the request (method and
        target; no body, which Prism does not validate here) to Prism, the
        response (status, [(header, value)], body bytes) given back by the
        Replay server. Returns what Prism found in the response, as it
        logs it ("response.body.x: message"), [] when nothing; a problem
        when Prism did not pass the response on."""
        token = self.replay.put(status, headers, body)
        conn = http.client.HTTPConnection("127.0.0.1",
                                          self.state["ports"][name],
                                          timeout=120)
        try:
            conn.putrequest(method, target, skip_host=False,
                            skip_accept_encoding=True)
            conn.putheader(REPLAY_HEADER, token)
            if method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", "0")
            conn.endheaders()
            r = conn.getresponse()
            r.read()
            raw = r.getheader("sl-violations")
            got = r.status
        finally:
            conn.close()
            self.replay.drop(token)
        found = []
        if got != status:
            found.append("response: Prism answered %d for vigil-api's %d "
                         "(see log/%s.log)" % (got, status, name))
        if raw:
            try:
                for v in json.loads(raw):
                    loc = v.get("location") or [""]
                    if loc[0] == "response":
                        found.append("%s: %s" % (".".join(map(str, loc)),
                                                 v.get("message")))
            except ValueError:
                found.append("response: unreadable sl-violations %r"
                             % raw[:200])
        return found

    def prism_violations(self, name="prism"):
        """Every violation of the document Prism NAME logged about a
        response: "response.body.x: message (error)"."""
        found = []
        try:
            with open(self.logfile(name + ".log"), errors="replace") as f:
                for line in f:
                    m = PRISM_VIOLATION_RE.search(line.rstrip("\n"))
                    if m:
                        found.append("%s: %s (%s)" % (m.group(2),
                                                      m.group(3),
                                                      m.group(1)))
        except OSError:
            pass
        return found

    # -- all of it ----------------------------------------------------------------

    def urls(self):
        """Base URLs of the running front ends: name -> http://127.0.0.1:N."""
        out = {}
        ports = self.state.get("ports", {})
        for name, key, pidname in (("nginx", "nginx", "nginx"),
                                   ("apache-fcgid", "apache_fcgid", "apache"),
                                   ("apache-proxy-fcgi", "apache_proxy",
                                    "apache")):
            if key in ports and self.running_pid(pidname):
                out[name] = "http://127.0.0.1:%d" % ports[key]
        return out

    def up(self, port=None, apache=False, conf_extra=None, workers=4,
           spool=False):
        self.mkdirs()
        self.db_init()
        if not self.db_running():
            self._port("db")        # the remembered one if still free
        self.db_start()
        self.db_setup()
        self.write_conf(**(conf_extra or {}))
        out = self.migrate()
        if out.strip():
            log("migrate: " + out.strip().replace("\n", "; "))
        self.api_start(workers=workers)
        self.nginx_start(port)
        if apache:
            self.apache_start()
        if spool:
            self.start_background_jobs()

    def start_background_jobs(self):
        """The vigil-spool daemon (./dev up). The integration suite does not
        run one for its whole length: test_delivery starts and stops its
        own spoolers, so that the API tests see deliveries stay as they
        left them. vigil-scan is not a daemon: Stack.scan runs it."""
        self.spool_start()

    def down(self):
        """Stop everything, front ends first, the database last."""
        for name in self.prism_names():
            self.prism_stop(name)
        if getattr(self, "replay", None) is not None:
            self.replay.close()
            self.replay = None
        self.apache_stop()
        self._stop("nginx", timeout=15)
        for name in self.spool_names():
            self.spool_stop(name)
        self.api_stop()
        self.db_stop()

    def status(self):
        out = {}
        for name in ["mariadb", "vigil-api", "nginx", "apache"] + \
                self.spool_names():
            out[name] = self.running_pid(name)
        return out

    def sanitizer_reports(self):
        """[(file, excerpt)] of every sanitizer report the stack's processes
        wrote: the log_path files and the captured stderr logs."""
        found = []
        if os.path.isdir(self.sandir):
            for n in sorted(os.listdir(self.sandir)):
                p = os.path.join(self.sandir, n)
                with open(p, errors="replace") as f:
                    found.append((p, f.read()[:4000]))
        for n in ("vigil-api.log", "apache-error.log", "apache-stderr.log"):
            p = self.logfile(n)
            try:
                with open(p, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            m = SANITIZER_RE.search(text)
            if m:
                found.append((p, text[max(0, m.start() - 200):
                                      m.start() + 3000]))
        return found


def http_get(url, headers=None, timeout=10):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# --- command line ---------------------------------------------------------------

def demo_key(stack, tenant, url):
    """The demo key kept in ROOT/demo-key while it still works, else a new
    one (read,write,admin)."""
    stack.tenant_ensure(tenant)
    path = os.path.join(stack.root, "demo-key")
    try:
        with open(path) as f:
            key = f.read().strip()
        status, _ = http_get(url + "/api/v1/api-keys", {"X-API-Key": key})
        if status == 200:
            return key
    except OSError:
        pass
    key, _ = stack.key_create(tenant, "read,write,admin", name="demo")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=("up", "down", "status"))
    ap.add_argument("root")
    ap.add_argument("--srcdir")
    ap.add_argument("--builddir")
    ap.add_argument("--port", type=int, help="nginx port (default: free)")
    ap.add_argument("--apache", action="store_true",
                    help="also start Apache (mod_fcgid and mod_proxy_fcgi)")
    ap.add_argument("--demo-tenant", help="create this tenant and a key")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--spool", action="store_true",
                    help="also start the vigil-spool daemon")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a vigil.conf key (kept for later 'up's)")
    a = ap.parse_args(argv)
    st = Stack(a.root, a.srcdir, a.builddir)
    try:
        if a.command == "down":
            st.down()
            print("stopped")
        elif a.command == "status":
            print(json.dumps({"pids": st.status(), "urls": st.urls()},
                             indent=1))
        else:
            if a.port and not port_free(a.port) and not st.status()["nginx"]:
                raise StackError("port %d is in use" % a.port)
            extra = dict(kv.split("=", 1) for kv in a.set)
            st.up(port=a.port, apache=a.apache, workers=a.workers,
                  spool=a.spool, conf_extra=extra)
            urls = st.urls()
            result = {"urls": urls, "pids": st.status()}
            if a.demo_tenant:
                result["key"] = demo_key(st, a.demo_tenant, urls["nginx"])
            print(json.dumps(result, indent=1))
    except StackError as e:
        print("stack: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
