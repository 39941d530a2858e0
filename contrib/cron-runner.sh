#!/bin/bash
# cron-runner.sh: run the jobs of a cron.d file (etc/cron.d/vigil) from a
# build tree, without cron. ./dev up starts it for the demo (and ./dev down
# stops it), so that the demo runs exactly what production's cron runs:
# queued and due scans are scanned, acceptances and snoozes expire, approved
# remediations are applied, old events are pruned.
#
#   cron-runner.sh [-i SECONDS] [-s PROGRAM]... CRONFILE BINDIR CONF
#
# Every SECONDS (default: $CRON_INTERVAL, else 60) it runs, one after the
# other, each job of CRONFILE scheduled for every minute ("* * * * *");
# every other job (the daily "events prune") runs at start and then once a
# day. In each command the installed paths /usr/local/bin/ and
# /usr/local/sbin/ become BINDIR/, and VIGIL_CONF is CONF. -s PROGRAM
# leaves out the jobs that run PROGRAM (./dev up leaves out vigil-spool
# --once: its vigil-spool daemon already delivers). What each job prints,
# and its exit status when not 0, goes to standard output. The user column
# is ignored: the jobs run as whoever runs this. SIGTERM or SIGINT stops it
# once the job in progress (if any) has finished.
set -u

interval=${CRON_INTERVAL:-60}
skip=()
while getopts 'i:s:' opt; do
	case $opt in
	i) interval=$OPTARG ;;
	s) skip+=("$OPTARG") ;;
	*) echo "usage: cron-runner.sh [-i SECONDS] [-s PROGRAM]... CRONFILE BINDIR CONF" >&2
	   exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -ne 3 ]; then
	echo "usage: cron-runner.sh [-i SECONDS] [-s PROGRAM]... CRONFILE BINDIR CONF" >&2
	exit 2
fi
cronfile=$1 bindir=${2%/} conf=$3
case $interval in
''|*[!0-9.]*) echo "cron-runner: interval '$interval' is not a number of seconds" >&2; exit 2 ;;
esac
[ -r "$cronfile" ] || { echo "cron-runner: cannot read $cronfile" >&2; exit 2; }
export VIGIL_CONF=$conf

# The jobs: "m h dom mon dow user command" lines; comments and variable
# settings (SHELL=, PATH=) are not jobs.
minutely=() others=()
while read -r m h dom mon dow user cmd; do
	case $m in ''|'#'*|*=*) continue ;; esac
	[ -n "$cmd" ] || continue
	cmd=${cmd//\/usr\/local\/sbin\//$bindir/}
	cmd=${cmd//\/usr\/local\/bin\//$bindir/}
	for p in "${skip[@]+"${skip[@]}"}"; do
		case $cmd in *"/$p "*|*"/$p") continue 2 ;; esac
	done
	if [ "$m $h $dom $mon $dow" = "* * * * *" ]; then
		minutely+=("$cmd")
	else
		others+=("$cmd")
	fi
done <"$cronfile"
if [ ${#minutely[@]} -eq 0 ] && [ ${#others[@]} -eq 0 ]; then
	echo "cron-runner: no jobs in $cronfile" >&2
	exit 2
fi

stop=
trap 'stop=1' TERM INT

run() {
	local rc=0
	sh -c "$1" </dev/null || rc=$?
	[ $rc -eq 0 ] || printf '%s cron-runner: exit %d: %s\n' "$(date -u +%FT%TZ)" $rc "$1"
}

printf '%s cron-runner: every %ss: %d job(s); daily: %d job(s)\n' \
	"$(date -u +%FT%TZ)" "$interval" ${#minutely[@]} ${#others[@]}
last_daily=0
while [ -z "$stop" ]; do
	now=$(date +%s)
	if [ $((now - last_daily)) -ge 86400 ]; then
		for c in "${others[@]+"${others[@]}"}"; do
			[ -z "$stop" ] && run "$c"
		done
		last_daily=$now
	fi
	for c in "${minutely[@]+"${minutely[@]}"}"; do
		[ -z "$stop" ] && run "$c"
	done
	[ -n "$stop" ] && break
	# In the background, so that a signal ends the wait at once.
	sleep "$interval" &
	sp=$!
	wait $sp 2>/dev/null || kill $sp 2>/dev/null
done
printf '%s cron-runner: stopped\n' "$(date -u +%FT%TZ)"
