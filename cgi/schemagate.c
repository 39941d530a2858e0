/* schemagate.c: vigil-api on a database whose schema is behind it (a new
 * binary installed, vigilctl migrate not yet run): every request that
 * needs a key is answered 503 schema_outdated, naming vigilctl migrate,
 * instead of a 500 from whichever statement names what is not there yet.
 *
 * Each process reads the schema (migrate_schema: one statement) when it
 * starts and keeps what it read for its connection: a migration is never
 * taken back, so a schema found as it should be is not read again until
 * the connection is made anew (db_connects), and a request on it runs no
 * statement more. A schema found behind is read again at most every
 * SCHEMAGATE_RECHECK_S seconds, at a request, so that the process serves
 * again within that long of vigilctl migrate, without a restart. GET
 * /healthz and /metrics read it each time (schemagate_read). */
#include "vigil.h"

#include <stdio.h>

#include "api.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "vtime.h"

static struct {
	struct migrate_schema	 s;
	int			 known;	/* s was read on connection conn */
	unsigned long		 conn;
	long long		 at;	/* when the last read was tried */
	int			 said;	/* the state last logged, + 1 */
	int			 warned; /* a failed read logged */
} gate;

/* Log a state the first time this process meets it, and the way back. */
static void
say(void)
{
	char line[400];

	if (gate.said == gate.s.state + 1)
		return;
	migrate_schema_say(&gate.s, "vigil-api", line, sizeof(line));
	if (gate.s.state == MIGRATE_SCHEMA_BEHIND)
		log_err("%s; answering 503 schema_outdated until then", line);
	else if (gate.s.state == MIGRATE_SCHEMA_AHEAD)
		log_warn("%s", line);
	else if (gate.said != 0)
		log_info("%s: serving", line);
	gate.said = gate.s.state + 1;
}

int
schemagate_read(struct db *db, struct migrate_schema *out)
{
	int rc;

	gate.at = vtime_mono_us();
	if ((rc = migrate_schema(db, &gate.s)) != 0) {
		gate.known = 0;
		/* Not an outage (a privilege, say): said once, since the
		 * requests are then served unchecked. */
		if (rc != DB_DOWN && rc != DB_RETRY && !gate.warned) {
			log_warn("the schema's version could not be read (%s): "
			    "requests are served without the check, read "
			    "again every %d s", db_error(db),
			    SCHEMAGATE_RECHECK_S);
			gate.warned = 1;
		}
		return rc;
	}
	gate.known = 1;
	gate.conn = db_connects(db);
	say();
	if (out != NULL)
		*out = gate.s;
	return 0;
}

void
schemagate_start(struct db *db)
{
	/* Unread (the database is down, say) it is read at a request. */
	(void)schemagate_read(db, NULL);
}

static int
refuse(struct request *r)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "The database's schema is older than "
	    "this vigil-api needs (migration %s): an operator must run "
	    "vigilctl migrate; try again then.", MIGRATE_NEED);
	response_error(r, 503, "schema_outdated", msg, NULL);
	response_header(r, "Retry-After", "%d", SCHEMAGATE_RECHECK_S);
	return -1;
}

int
schemagate_pass(struct request *r, struct db *db)
{
	long long now;
	int rc, due;

	/* A connection the last request lost is made again here, so that
	 * the schema is read on it before the request's statements run. */
	if ((rc = db_connect(db)) != 0) {
		api_db_error(r, rc);
		return -1;
	}
	if (gate.known && gate.conn == db_connects(db)) {
		if (gate.s.state != MIGRATE_SCHEMA_BEHIND)
			return 0;
		now = vtime_mono_us();
		if (now - gate.at < SCHEMAGATE_RECHECK_S * 1000000LL)
			return refuse(r);
	} else if (!gate.known) {
		/* The last read failed: read again, but not at every request
		 * (the request's own statements meet the failure too). */
		now = vtime_mono_us();
		due = gate.at == 0 ||
		    now - gate.at >= SCHEMAGATE_RECHECK_S * 1000000LL;
		if (!due)
			return 0;
	}
	if ((rc = schemagate_read(db, NULL)) != 0) {
		if (rc == DB_DOWN || rc == DB_RETRY) {
			api_db_error(r, rc);
			return -1;
		}
		return 0;
	}
	return gate.s.state == MIGRATE_SCHEMA_BEHIND ? refuse(r) : 0;
}
