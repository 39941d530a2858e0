#!/bin/sh
# tests/package/run.sh: the Debian package test (tests/package/pkgtest.py):
# build, lintian, install, migrate, serve through nginx and Apache
# mod_fcgid, upgrade, remove and purge, on this machine, as root. Run by
# "./dev test-package" and .ci/run. Bounded: after PKGTEST_TIMEOUT seconds
# (default 900) it is interrupted, and still purges what it installed and
# stops what it started.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export VIGIL_SRCDIR="${VIGIL_SRCDIR:-$(cd "$here/../.." && pwd)}"
export DEBIAN_FRONTEND=noninteractive
exec timeout -s INT -k 120 "${PKGTEST_TIMEOUT:-900}" python3 "$here/pkgtest.py"
