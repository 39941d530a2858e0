/* health.c: GET /healthz, for load balancers and monitoring.
 *
 * The status is the database's alone (200 "ok", or 503 "degraded" while
 * it does not answer): a load balancer takes a host out on it, and a
 * backlog of webhooks or a scan that stopped is nothing another host
 * would do better. Those are reported beside it, in "checks", each with a
 * status of its own ("ok", or "backlog" / "stale"), for a monitor to
 * alert on without the host being taken out. One of them says what the
 * database's schema is to this binary ("schema"): a schema behind it
 * (vigilctl migrate not yet run) fails the call, "degraded" with db
 * "schema_outdated", as every API request then answers 503; one ahead of
 * it (the binary rolled back) only says so. */
#include "vigil.h"

#include <stdlib.h>

#include "api.h"
#include "db.h"
#include "migrate.h"
#include "ops.h"

#define HEALTH_COUNT_CAP    10000   /* counts stop here: "or more" */
#define HEALTH_INTEGRATIONS 1000
/* The outbox is behind when anything has waited this long. */
#define HEALTH_BACKLOG_SECS 300

/* The outbox check, from ob (NULL: its statement failed). */
static json_object *
outbox_check(const struct ops_outbox *ob)
{
	json_object *o = json_object_new_object();
	long long oldest;

	if (ob == NULL) {
		json_object_object_add(o, "status",
		    json_object_new_string("unknown"));
		return o;
	}
	oldest = ob->events_age > ob->deliveries_age ? ob->events_age :
	    ob->deliveries_age;
	if (oldest < 0)
		oldest = 0;
	json_object_object_add(o, "status", json_object_new_string(
	    oldest >= HEALTH_BACKLOG_SECS ? "backlog" : "ok"));
	json_object_object_add(o, "pending_events",
	    json_object_new_int64(ob->events));
	json_object_object_add(o, "pending_deliveries",
	    json_object_new_int64(ob->deliveries));
	json_object_object_add(o, "oldest_pending_age_seconds",
	    json_object_new_int64(oldest));
	json_object_object_add(o, "dead_deliveries",
	    json_object_new_int64(ob->dead));
	return o;
}

static json_object *
scans_check(struct db *db)
{
	json_object *o = json_object_new_object();
	struct ops_scan *sc = NULL;
	long long oldest = 0;
	size_t n, i, stale = 0;

	if (ops_scans(db, HEALTH_INTEGRATIONS, &sc, &n) != 0) {
		json_object_object_add(o, "status",
		    json_object_new_string("unknown"));
		return o;
	}
	for (i = 0; i < n; i++) {
		if (ops_scan_stale(&sc[i]))
			stale++;
		if (sc[i].age > oldest)
			oldest = sc[i].age;
	}
	json_object_object_add(o, "status",
	    json_object_new_string(stale > 0 ? "stale" : "ok"));
	json_object_object_add(o, "integrations",
	    json_object_new_int64((int64_t)n));
	json_object_object_add(o, "stale_integrations",
	    json_object_new_int64((int64_t)stale));
	json_object_object_add(o, "oldest_success_age_seconds",
	    json_object_new_int64(oldest));
	free(sc);
	return o;
}

/* The schema check, from s (NULL: its statement failed). */
static json_object *
schema_check(const struct migrate_schema *s)
{
	static const char *const states[] = {
		[MIGRATE_SCHEMA_OK] = "ok",
		[MIGRATE_SCHEMA_BEHIND] = "behind",
		[MIGRATE_SCHEMA_AHEAD] = "ahead",
	};
	json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string(
	    s != NULL ? states[s->state] : "unknown"));
	if (s != NULL)
		json_object_object_add(o, "version", s->newest[0] != '\0' ?
		    json_object_new_string(s->newest) : NULL);
	json_object_object_add(o, "required",
	    json_object_new_string(MIGRATE_NEED));
	return o;
}

static void
health_get(struct request *r, struct db *db)
{
	json_object *o = json_object_new_object(), *checks;
	struct migrate_schema s;
	struct ops_outbox ob;
	int obrc, ok, behind = 0, src = DB_ERR;

	/* The outbox's statement answering says the database is up: one
	 * round trip fewer than a ping first. Failing, a ping decides. */
	obrc = ops_outbox(db, HEALTH_COUNT_CAP, &ob);
	ok = obrc == 0 || db_ping(db) == 0;
	if (ok) {
		src = schemagate_read(db, &s);
		behind = src == 0 && s.state == MIGRATE_SCHEMA_BEHIND;
	}
	json_object_object_add(o, "status", json_object_new_string(
	    ok && !behind ? "ok" : "degraded"));
	json_object_object_add(o, "db", json_object_new_string(!ok ?
	    "unreachable" : behind ? "schema_outdated" : "ok"));
	json_object_object_add(o, "version",
	    json_object_new_string(VIGIL_VERSION));
	if (ok) {
		checks = json_object_new_object();
		json_object_object_add(checks, "outbox",
		    outbox_check(obrc == 0 ? &ob : NULL));
		json_object_object_add(checks, "scans", scans_check(db));
		json_object_object_add(checks, "schema",
		    schema_check(src == 0 ? &s : NULL));
		json_object_object_add(o, "checks", checks);
	}
	response_json(r, ok && !behind ? 200 : 503, o);
}

const struct route health_routes[] = {
	{ "GET", "/healthz", SCOPE_NONE, 0, health_get },
};
const size_t health_nroutes = NELEM(health_routes);
