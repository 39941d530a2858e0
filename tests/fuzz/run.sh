#!/bin/sh
# run.sh SRCDIR "NAME ..." SECONDS WORKDIR: run each libFuzzer target
# tests/fuzz/fuzz_NAME (built in the current directory) for SECONDS, seeded
# from SRCDIR/tests/fuzz/corpus/NAME with SRCDIR/tests/fuzz/NAME.dict.
# New inputs go to WORKDIR/NAME (kept), or to a temporary directory that is
# removed when WORKDIR is "", so the source tree is never written to.
# Crash, leak and timeout inputs are left as tests/fuzz/NAME-crash-… here.
# Prints executions and coverage per target; exits 1 if any target failed.
set -u
srcdir=$1
names=$(printf '%s' "$2" | tr ',' ' ')
seconds=$3
workdir=$4
failed=
summary=

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

for name in $names; do
	prog=./tests/fuzz/fuzz_$name
	seeds=$srcdir/tests/fuzz/corpus/$name
	if [ ! -x "$prog" ] || [ ! -d "$seeds" ]; then
		echo "run.sh: no target or seed corpus for $name" >&2
		failed="$failed $name"
		continue
	fi
	if [ -n "$workdir" ]; then
		corpus=$workdir/$name
	else
		corpus=$tmp/$name
	fi
	mkdir -p "$corpus"
	set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 \
	    -artifact_prefix="tests/fuzz/$name-"
	[ -f "$srcdir/tests/fuzz/$name.dict" ] &&
		set -- "$@" -dict="$srcdir/tests/fuzz/$name.dict"
	echo "== fuzz_$name: $seconds s"
	log=$tmp/$name.log
	"$prog" "$@" "$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|NEW|REDUCE|pulse)' \
	    "$log" | tail -n 1 | sed 's/[[:space:]][[:space:]]*/ /g')
	if [ $rc -ne 0 ]; then
		tail -n 60 "$log"
		echo "== fuzz_$name FAILED (exit $rc); input in tests/fuzz/$name-*"
		failed="$failed $name"
		summary="$summary
fuzz_$name: FAILED"
	else
		echo "   $last"
		summary="$summary
fuzz_$name: $last"
	fi
done

echo "== fuzzing summary ($seconds s per target):$summary"
if [ -n "$failed" ]; then
	echo "== failed:$failed" >&2
	exit 1
fi
exit 0
