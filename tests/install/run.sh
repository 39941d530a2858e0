#!/bin/sh
# tests/install/run.sh: the README's install path run verbatim on a fresh
# Debian 12 that the test debootstraps and boots with systemd-nspawn
# (tests/install/installtest.py), as root. Run by "./dev test-install".
# Bounded: after INSTALLTEST_TIMEOUT seconds (default 2400) it is
# interrupted, and still powers the container off and removes its network.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export VIGIL_SRCDIR="${VIGIL_SRCDIR:-$(cd "$here/../.." && pwd)}"
export DEBIAN_FRONTEND=noninteractive
exec timeout -s INT -k 120 "${INSTALLTEST_TIMEOUT:-2400}" python3 "$here/installtest.py"
