#!/bin/sh
# fcgid-warm.sh: bring Apache mod_fcgid's vigil-api processes up to the
# class's full count before real traffic arrives, right after Apache starts
# or reloads (etc/systemd/apache2-vigil-fcgid.conf runs it from systemd).
#
#   fcgid-warm.sh [-n PROCESSES] [-t SECONDS] [-p PIDFILE] URL
#
# mod_fcgid starts no process before a request needs one, and a request
# that finds every process busy sleeps a whole second before it looks
# again (FcgidMinProcessesPerClass only keeps processes from being stopped;
# it starts none). So after a start, every request that comes before the
# class is full can wait a second or two. This sends GET URL/healthz with
# "X-Vigil-Warm-Up: 1" from PROCESSES + PROCESSES/2 parallel connections
# (curl); a vigil-api process holds the first such request it serves for
# 1.5 s, so that those mod_fcgid wakes meanwhile find every process busy
# and have new ones spawned (vigil-api(8)). It goes on until PROCESSES
# vigil-api processes run under the Apache whose main process is in
# PIDFILE, or SECONDS have passed, then waits 2 s for the warm-up requests
# that mod_fcgid still holds asleep to be served. About 4 s in all; the
# waiting is this script's, not a client's.
#
#   PROCESSES  default 48: vigil-fcgid.conf's FcgidMaxProcessesPerClass
#   SECONDS    default 20
#   PIDFILE    default /run/apache2/apache2.pid (Debian)
#   URL        the mod_fcgid virtual host, e.g. http://127.0.0.1:80
#
# Exit status 0 when the count was reached, 1 when not (Apache down, a
# lower FcgidMaxProcessesPerClass, a MaxRequestWorkers below 1.5 x
# PROCESSES, vigil-api failing), 2 on usage. Needs curl (7.68 or later)
# and ps.
set -u

usage() {
	echo "usage: fcgid-warm.sh [-n PROCESSES] [-t SECONDS] [-p PIDFILE] URL" >&2
	exit 2
}

n=48 secs=20 pidfile=/run/apache2/apache2.pid
while getopts 'n:t:p:' opt; do
	case $opt in
	n) n=$OPTARG ;;
	t) secs=$OPTARG ;;
	p) pidfile=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
case $n$secs in
*[!0-9]*) usage ;;
esac
[ "$n" -ge 1 ] || usage
url=${1%/}/healthz

# vigil-api processes whose grandparent is Apache's main process: mod_fcgid's
# process manager is a child of it, and vigil-api is the manager's child. (The
# pool's workers are the pool master's children, so they do not count.)
count() {
	main=$(cat "$pidfile" 2>/dev/null) || { echo 0; return; }
	ps -e -o pid= -o ppid= -o comm= | awk -v main="$main" '
		{ parent[$1] = $2; name[$1] = $3 }
		END {
			c = 0
			for (p in name)
				if (name[p] == "vigil-api" &&
				    parent[parent[p]] == main)
					c++
			print c
		}'
}

# More connections than processes wanted: while the processes hold their
# first request, the others find none idle, and mod_fcgid spawns. The
# requests stop as soon as the count is reached.
curl -s --max-time 10 --parallel --parallel-immediate \
    --parallel-max $((n + (n + 1) / 2)) -H 'X-Vigil-Warm-Up: 1' \
    -o /dev/null "$url#[1-$((1000 * n))]" >/dev/null 2>&1 &
load=$!
trap 'kill $load 2>/dev/null' EXIT
end=$(($(date +%s) + secs))
while :; do
	have=$(count)
	if [ "$have" -ge "$n" ]; then
		# The requests that mod_fcgid still holds asleep (their client
		# gone) are served within a second or two, each by one of the
		# processes: let them go before real clients come.
		kill $load 2>/dev/null
		sleep 2
		exit 0
	fi
	if [ "$(date +%s)" -ge "$end" ] || ! kill -0 $load 2>/dev/null; then
		echo "fcgid-warm: $have of $n vigil-api processes" >&2
		exit 1
	fi
	sleep 0.2
done
