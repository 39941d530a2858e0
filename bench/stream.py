#!/usr/bin/env python3
"""bench/stream.py: the scanner's memory against the size of one ARM list
page. For each size in BENCH_STREAM_MB (default "10 100"), one page of
storage accounts (about 1.5 KB each, as ARM sends them plus tags) is
collected through the inventory connector (one {"value":[...]} file) and
through the azure connector (tests/integration/fakearm.py serving it as a
single page), by bench/stream_rss.c, built here against VIGIL_BUILDDIR's
libvigil.a (default build/; use a release build). Prints the peak RSS of
each run: with pages read as a stream it stays flat as the page grows.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("VIGIL_SRCDIR", os.path.dirname(HERE))
BUILD = os.path.abspath(os.environ.get("VIGIL_BUILDDIR",
                                       os.path.join(SRC, "build")))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

from fakearm import FakeArm  # noqa: E402

SIZES = [int(x) for x in os.environ.get("BENCH_STREAM_MB", "10 100").split()]
SUB = "00000000-0000-0000-0000-00000000be9c"


def resource(i):
    name = "st%07d" % i
    return {"id": "/subscriptions/%s/resourceGroups/rg-bench/providers/"
                  "Microsoft.Storage/storageAccounts/%s" % (SUB, name),
            "name": name, "type": "Microsoft.Storage/storageAccounts",
            "location": "westeurope", "kind": "StorageV2",
            "sku": {"name": "Standard_LRS", "tier": "Standard"},
            "tags": {"Environment": "prod", "owner": "team-%d" % (i % 50),
                     "note": "n" * 900},
            "properties": {"supportsHttpsTrafficOnly": i % 7 != 0,
                           "minimumTlsVersion": "TLS1_2",
                           "allowBlobPublicAccess": False,
                           "networkAcls": {"defaultAction": "Deny",
                                           "ipRules": [], "bypass": "AzureServices"},
                           "encryption": {"keySource": "Microsoft.Storage",
                                          "services": {"blob": {"enabled": True}}}}}


def build_driver(tmp):
    exe = os.path.join(tmp, "stream_rss")
    libs = subprocess.run(["pkg-config", "--libs", "json-c", "libcurl",
                           "libcrypto"], capture_output=True, text=True,
                          check=True).stdout.split()
    cflags = subprocess.run(["pkg-config", "--cflags", "json-c"],
                            capture_output=True, text=True,
                            check=True).stdout.split()
    subprocess.run(["cc", "-std=c11", "-O2", "-I" + BUILD,
                    "-I" + os.path.join(SRC, "src", "base"),
                    "-I" + os.path.join(SRC, "src", "scan"), *cflags,
                    "-o", exe, os.path.join(HERE, "stream_rss.c"),
                    os.path.join(BUILD, "libvigil.a"), *libs], check=True)
    return exe


def run(argv):
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("%s failed: %s" % (argv[1], p.stderr.strip()))
    ok, n, kb = p.stdout.split()
    return int(n), int(kb)


def main():
    tmp = tempfile.mkdtemp(prefix="vigil-stream-")
    try:
        exe = build_driver(tmp)
        rows = []
        for mb in SIZES:
            d = os.path.join(tmp, "inv%d" % mb)
            os.makedirs(d)
            path = os.path.join(d, "page.json")
            n = 0
            with open(path, "w") as f:
                f.write('{"value":[')
                while f.tell() < mb * 1000 * 1000:
                    f.write(("," if n else "") + json.dumps(resource(n)))
                    n += 1
                f.write("]}")
            size = os.path.getsize(path)
            got, kb = run([exe, "inventory", d])
            rows.append(("inventory", size, got, kb))
            with FakeArm(directory=d, page_size=0,
                         subscriptions=[SUB]) as fa:
                got2, kb2 = run([exe, "azure", fa.url, fa.tenant_id,
                                 fa.client_id, fa.client_secret, SUB])
            rows.append(("azure", size, got2, kb2))
            shutil.rmtree(d)
        print("connector   page (MB)   resources   peak RSS (MB)")
        for conn, size, got, kb in rows:
            print("%-10s %10.1f %11d %15.1f" % (conn, size / 1e6, got,
                                                 kb / 1024))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
