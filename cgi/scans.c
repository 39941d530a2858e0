/* scans.c: POST/GET /api/v1/scans, GET /api/v1/scans/{id} and
 * /api/v1/scans/{id}/results. The API only queues; vigil-scan runs.
 * src/scan/scans.c reads and queues. */
#include "vigil.h"

#include <stdio.h>
#include <time.h>

#include "api.h"
#include "finding.h"
#include "id.h"
#include "reply.h"
#include "scans.h"
#include "vjson.h"

static void
scans_create(struct request *r, struct db *db)
{
	static const char *const allowed[] = { "integration_id", NULL };
	struct vjson_err e;
	json_object *root;
	const char *integ;
	char id[VIGIL_ID_LEN], actor[128], msg[160];
	int rc;

	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_string(r->json, "integration_id", 1, 1, 64, &integ,
	    &e) < 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	switch (scans_queue(db, r->auth.tenant_id, integ, "api", actor,
	    time(NULL), id, sizeof(id), &root, &rc)) {
	case SCANS_QUEUED:
		json_object_object_add(root, "scan_id",
		    json_object_new_string(id));
		response_json(r, 202, root);
		break;
	case SCANS_NO_INTEGRATION:
		response_error(r, 404, "not_found", "No such integration.",
		    "integration_id");
		break;
	case SCANS_ACTIVE:
		snprintf(msg, sizeof(msg), "A scan of this integration is "
		    "already queued or running (%s).", id);
		response_error(r, 409, "conflict", msg, "integration_id");
		break;
	case SCANS_DB_ERROR:
		api_db_error(r, rc);
		break;
	}
}

/* A scans cursor is the last scan id of the previous page; a results
 * cursor the last finding id. */
static int
scan_id_ok(const char *s)
{
	return id_valid("scn", s);
}

static void
scans_list(struct request *r, struct db *db)
{
	const char *cursor;
	json_object *root;
	long limit;
	int rc;

	if (params_list_cursor(r, &limit, scan_id_ok, &cursor) != 0)
		return;
	if ((rc = scans_page(db, r->auth.tenant_id, cursor, limit,
	    &root)) != 0) {
		api_db_error(r, rc);
		return;
	}
	response_json(r, 200, root);
}

/* The answer of a three-way loader of the path's scan: o (200), 404, or
 * the database error rc. */
static void
scan_reply(struct request *r, int rc, json_object *o)
{
	if (rc < 0)
		api_db_error(r, rc);
	else if (rc == 0)
		response_error(r, 404, "not_found", "No such scan.", "id");
	else
		response_json(r, 200, o);
}

static void
scans_get(struct request *r, struct db *db)
{
	json_object *scan = NULL;
	int rc;

	rc = scans_load(db, r->auth.tenant_id, r->pathvars[0], &scan);
	scan_reply(r, rc, scan);
}

static void
scans_results(struct request *r, struct db *db)
{
	const char *cursor;
	json_object *root = NULL;
	long limit;
	int rc;

	if (params_list_cursor(r, &limit, finding_id_valid, &cursor) != 0)
		return;
	rc = scans_results_page(db, r->auth.tenant_id, r->pathvars[0],
	    cursor, limit, &root);
	scan_reply(r, rc, root);
}

const struct route scans_routes[] = {
	{ "GET", "/api/v1/scans", SCOPE_READ, 0, scans_list },
	{ "POST", "/api/v1/scans", SCOPE_WRITE, ROUTE_JSON_BODY,
	    scans_create },
	{ "GET", "/api/v1/scans/{id}", SCOPE_READ, 0, scans_get },
	{ "GET", "/api/v1/scans/{id}/results", SCOPE_READ, 0,
	    scans_results },
};
const size_t scans_nroutes = NELEM(scans_routes);
