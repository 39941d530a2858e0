#!/bin/sh
# checksrc.sh: fail on the calls STYLE.md bans, and on a migration the
# build would not install. Usage: checksrc.sh SRCDIR
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
# Makefile.am installs.
for m in "$top"/db/migrations/*.sql; do
	[ -e "$m" ] || continue
	if ! grep -q "db/migrations/$(basename "$m")" "$top/Makefile.am"; then
		echo "checksrc: $m is not in Makefile.am's dist_migrations_DATA" >&2
		status=1
	fi
done
exit $status
