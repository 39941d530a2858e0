#!/bin/sh
# checksrc.sh: fail on banned calls (unbounded string functions, atoi),
# on SQL outside the statement table, on a migration the build would not
# install, on any file that points at documents the project does not
# ship, on an include across the layers of src/ (HACKING.md), and on a
# link to a README heading that is not there.
# Usage: checksrc.sh SRCDIR
top=${1:-.}
status=0
files=$(find "$top/src" "$top/cgi" "$top/tests" -name '*.[ch]' 2>/dev/null | sort)
[ -n "$files" ] || exit 0
if grep -nE '(^|[^a-zA-Z0-9_])(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets)[[:space:]]*\(' $files; then
	echo "checksrc: banned call above (use snprintf, strlcpy-style bounded copies, strtol)" >&2
	status=1
fi
if grep -nE 'mysql_(real_)?query[[:space:]]*\(' $files | grep -v '/migrate\.c:'; then
	echo "checksrc: mysql_query outside migrate.c (use the prepared statement table in db.c)" >&2
	status=1
fi
# Every migration ships: an installed vigilctl migrate only sees what
# Makefile.am installs. Read as make reads the variable, through its
# continuation lines: a line that lost its backslash ends the list there
# and leaves the names after it out (or makes them a recipe).
shipped=$(awk '/^dist_migrations_DATA[[:space:]]*[+]?=/ { on = 1 }
	on { print; if ($0 !~ /\\$/) on = 0 }' "$top/Makefile.am")
for m in "$top"/db/migrations/*.sql; do
	[ -e "$m" ] || continue
	if ! printf '%s\n' "$shipped" |
	    grep -q "db/migrations/$(basename "$m")"; then
		echo "checksrc: $m is not in Makefile.am's dist_migrations_DATA" >&2
		status=1
	fi
done
# Everything a user needs is in the tree: no file may send the reader to
# design notes, specifications or seed material kept outside it (what they
# say belongs in the README, the man pages or the file's own comments). The
# patterns are written so that they do not match themselves.
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	all=$(git -C "$top" ls-files | sed "s|^|$top/|")
else
	all=$(find "$top" -type d \( -name .git -o -name 'build*' -o -name var \
	    -o -name autom4te.cache -o -name 'vigil-[0-9]*' \) -prune \
	    -o -type f -print)
fi
outside='(PERF|SPEC|STYLE)[.]md|[.][.]/shared/|/work/share[d]|shared/(seeds|testdata)'
outside="$outside|(^|[^a-z])seeds?[ _-]?[0-9]{3}|the s[e]ed([^s]|$)|s[e]ed's |SPE[C] §"
if [ -n "$all" ] && printf '%s\n' "$all" | tr '\n' '\0' |
    xargs -0 grep -InHiE "$outside" 2>/dev/null; then
	echo "checksrc: the lines above refer to documents outside the project; say what the reader needs here instead" >&2
	status=1
fi
# Layers: each folder of src/ includes headers of the folders it stands on,
# never of one above or beside it (a header is included by its bare name,
# so its folder is looked up). base: buffers, JSON, time, ids, crypto,
# configuration, log, addresses; db: the connection and its statements;
# http: the API's request, response, router and rate limits; domain: the
# resources; scan: the scanner; report: the report renderers (documents
# in, files out); cmd: the programs (and cgi/, vigil-api).
may_include() {
	case $1 in
	base)	echo "base" ;;
	db)	echo "base db" ;;
	http)	echo "base http" ;;
	domain)	echo "base db domain report" ;;
	scan)	echo "base db domain scan report" ;;
	report)	echo "base report" ;;
	*)	echo "base db http domain scan report cmd" ;;
	esac
}
for f in $(cd "$top/src" && ls */*.[ch] 2>/dev/null); do
	dir=${f%%/*}
	ok=$(may_include "$dir")
	for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$top/src/$f"); do
		owner=$(cd "$top/src" && ls */"$h" 2>/dev/null | head -1)
		if [ -z "$owner" ] && [ -e "$top/cgi/$h" ]; then
			echo "src/$f: includes cgi/$h" >&2
			echo "checksrc: src/ may not include vigil-api's own headers (cgi/)" >&2
			status=1
			continue
		fi
		[ -n "$owner" ] || continue
		case " $ok " in
		*" ${owner%%/*} "*) ;;
		*)	echo "src/$f: includes $owner" >&2
			echo "checksrc: src/$dir/ may include only from: $ok" >&2
			status=1 ;;
		esac
	done
done
# Every link to a heading of README.md or doc/performance.md (#anchor,
# or FILE.md#anchor) finds that heading: text moved from one to the other
# must take its links along (scripts/mdanchors.py; skipped without python3).
if command -v python3 >/dev/null 2>&1 && [ -f "$top/scripts/mdanchors.py" ]; then
	python3 "$top/scripts/mdanchors.py" "$top" || status=1
fi
exit $status
