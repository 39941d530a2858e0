#!/bin/sh
# bench/part.sh NAME: one part of "make bench", bench/NAME.py, unless
# BENCH_ONLY (a comma list of names, e.g. BENCH_ONLY=run,scan) leaves it
# out. VIGIL_BUILDDIR and VIGIL_SRCDIR come from the Makefile.
name=$1
case ",${BENCH_ONLY:-}," in
,,|*,"$name",*) ;;
*) echo "bench: $name left out (BENCH_ONLY=$BENCH_ONLY)"; exit 0 ;;
esac
echo "bench: $name"
exec python3 "$VIGIL_SRCDIR/bench/$name.py"
