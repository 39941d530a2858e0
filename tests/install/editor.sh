#!/bin/sh
# editor.sh: $EDITOR for the install test's run of the README. Where a README
# line reads "$EDITOR FILE   # what to set", this makes the edit its comment
# asks for, as a user would in an editor, and nothing else.
set -eu
f=$1
case $f in
*/vigil.conf)
	# "db_host, db_user, db_password, db_name": the database the README's
	# block created (vigil@localhost, password CHANGE-ME, database vigil).
	sed -i -e 's|^#\{0,1\}db_host *=.*|db_host = localhost|' \
	    -e 's|^#\{0,1\}db_user *=.*|db_user = vigil|' \
	    -e 's|^#\{0,1\}db_password *=.*|db_password = CHANGE-ME|' \
	    -e 's|^#\{0,1\}db_name *=.*|db_name = vigil|' "$f"
	;;
*/sites-available/vigil)
	# "server_name: your host name"
	sed -i 's|server_name  *[^;]*;|server_name vigil.example.com;|' "$f"
	;;
*)
	echo "install-test-editor: no edit known for $f" >&2
	exit 1
	;;
esac
