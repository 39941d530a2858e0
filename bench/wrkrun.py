"""bench/wrkrun.py: one wrk run as the benches take it (bench/cluster.py,
bench/reads.py): the requests wrk counted, their rate, the p99, what
failed, and the CPU time the measured processes spent meanwhile (the work
a request costs, which the machine's other load changes least).
"""

import collections
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "tests", "integration"))

from stack import StackError  # noqa: E402

# n: requests wrk counted; rps: their rate; p99: ms (nan when wrk printed
# none); non2xx: answers other than 2xx or 3xx; errors: socket errors
# (connect, read, write, timeout); ticks: {group: CPU clock ticks its pids
# spent during the run}.
Result = collections.namedtuple("Result", "n rps p99 non2xx errors ticks")


def cpu_ticks(pids):
    """utime + stime of the processes, in clock ticks (one gone counts
    nothing)."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def run(url, key, connections, duration, pids, script=None, headers=(),
        timeout=None):
    """wrk (2 threads) at url for duration seconds with the API key, the
    Lua script and the extra headers given; timeout is wrk's per request
    (its own default when None). pids: {group: [pid]}, each group's CPU
    counted apart. A Result; StackError when wrk fails."""
    argv = ["wrk", "-t2", "-c%d" % connections, "-d%ds" % duration]
    if timeout:
        argv += ["--timeout", timeout]
    argv.append("--latency")
    if script:
        argv += ["-s", script]
    argv += ["-H", "X-API-Key: " + key]
    for h in headers:
        argv += ["-H", h]
    argv.append(url)
    t0 = {g: cpu_ticks(p) for g, p in pids.items()}
    r = subprocess.run(argv, capture_output=True, text=True,
                       timeout=duration + 60)
    ticks = {g: cpu_ticks(p) - t0[g] for g, p in pids.items()}
    if r.returncode != 0:
        raise StackError("wrk: exit %d: %s" % (r.returncode, r.stderr))
    out = r.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    n = int(re.search(r"(\d+) requests in", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[
        m.group(2)] if m else float("nan")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors:.*", out)
    return Result(n, rps, p99, int(bad.group(1)) if bad else 0,
                  sum(int(x) for x in re.findall(r"\d+", errs.group(0)))
                  if errs else 0, ticks)
