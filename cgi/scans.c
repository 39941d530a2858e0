/* scans.c: POST/GET /api/v1/scans, GET /api/v1/scans/{id} and
 * /api/v1/scans/{id}/results. The API only queues; vigil-scan runs. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "audit.h"
#include "db.h"
#include "finding.h"
#include "id.h"
#include "scan.h"
#include "vjson.h"


static void
bad(struct request *r, const char *field, const char *msg)
{
	response_error(r, 400, "invalid_request", msg, field);
}

/* The tenant's scan id as a SCAN_COLS row: 1 (*out set), 0 after a
 * 404, or -1 after a 5xx. */
static int
scan_get(struct request *r, struct db *db, const char *id,
    struct db_res **out)
{
	int rc;

	*out = NULL;
	if (!id_valid("scn", id)) {
		response_error(r, 404, "not_found", "No such scan.", "id");
		return 0;
	}
	if ((rc = db_exec(db, SQL_SCAN_GET_TENANT, (struct db_val[]){
	    DB_STR(r->auth.tenant_id), DB_STR(id) }, 2, out)) != 0) {
		api_db_error(r, rc);
		return -1;
	}
	if ((*out)->nrows == 0) {
		db_res_free(*out);
		*out = NULL;
		response_error(r, 404, "not_found", "No such scan.", "id");
		return 0;
	}
	return 1;
}

static void
scans_create(struct request *r, struct db *db)
{
	static const char *const allowed[] = { "integration_id", NULL };
	struct db_res *res = NULL;
	struct vjson_err e;
	json_object *detail, *root;
	const char *integ;
	char id[VIGIL_ID_LEN], actor[128], msg[160];
	int rc, q;

	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_string(r->json, "integration_id", 1, 1, 64, &integ,
	    &e) < 0) {
		bad(r, e.field, e.message);
		return;
	}
	if (!id_valid("int", integ)) {
		response_error(r, 404, "not_found", "No such integration.",
		    "integration_id");
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	if ((rc = db_begin(db)) != 0)
		goto dberr;
	q = scan_queue_tx(db, r->auth.tenant_id, integ, "api", time(NULL), id,
	    sizeof(id));
	if (q < 0) {
		rc = q;
		goto dberr;
	}
	if (q == SCAN_Q_NO_INTEGRATION) {
		db_rollback(db);
		response_error(r, 404, "not_found", "No such integration.",
		    "integration_id");
		return;
	}
	if (q == SCAN_Q_ACTIVE) {
		db_rollback(db);
		snprintf(msg, sizeof(msg), "A scan of this integration is "
		    "already queued or running (%s).", id);
		response_error(r, 409, "conflict", msg, "integration_id");
		return;
	}
	detail = json_object_new_object();
	json_object_object_add(detail, "integration_id",
	    json_object_new_string(integ));
	rc = audit_append(db, r->auth.tenant_id, actor, "scan.create", id,
	    detail);
	json_object_put(detail);
	if (rc != 0 || (rc = db_commit(db)) != 0)
		goto dberr;
	if ((rc = db_exec(db, SQL_SCAN_GET_TENANT, (struct db_val[]){
	    DB_STR(r->auth.tenant_id), DB_STR(id) }, 2, &res)) != 0 ||
	    res->nrows != 1) {
		db_res_free(res);
		api_db_error(r, rc ? rc : DB_ERR);
		return;
	}
	root = scan_to_json(res, 0);
	json_object_object_add(root, "scan_id", json_object_new_string(id));
	db_res_free(res);
	response_json(r, 202, root);
	return;
dberr:
	db_rollback(db);
	api_db_error(r, rc);
}

static void
scans_list(struct request *r, struct db *db)
{
	long limit;

	if (params_list(r, &limit) != 0)
		return;
	/* "~" sorts after every ULID: the first page (newest first). */
	params_id_page(r, db, limit, &(struct params_id_list){
	    "scans", "scn", "~", SQL_SCAN_LIST, SQL_SCAN_COUNT,
	    (struct db_val[]){ DB_STR(r->auth.tenant_id) }, 1, scan_to_json,
	    SCAN_C_ID });
}

static void
scans_get(struct request *r, struct db *db)
{
	struct db_res *res;

	if (scan_get(r, db, r->pathvars[0], &res) != 1)
		return;
	response_json(r, 200, scan_to_json(res, 0));
	db_res_free(res);
}

/* A results cursor is the last finding id of the previous page. */
static int
cursor_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 1 || n >= FINDING_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

static void
scans_results(struct request *r, struct db *db)
{
	static const char *const cols[] = { "finding_id", "rule_id",
	    "resource_id", "severity", "outcome" };
	struct db_res *scan = NULL, *res = NULL, *cnt = NULL;
	const char *cursor = request_param(r, "cursor");
	json_object *root, *arr;
	long limit;
	size_t i, j, n;
	int rc;

	if (params_list(r, &limit) != 0)
		return;
	if (cursor != NULL && !cursor_ok(cursor)) {
		bad(r, "cursor", "cursor is not valid.");
		return;
	}
	if (scan_get(r, db, r->pathvars[0], &scan) != 1)
		return;
	if ((rc = db_exec(db, SQL_SCAN_RESULTS, (struct db_val[]){
	    DB_STR(r->pathvars[0]), DB_STR(cursor ? cursor : ""),
	    DB_INT(limit + 1) }, 3, &res)) != 0 ||
	    (rc = db_exec(db, SQL_SCAN_RESULTS_COUNT, (struct db_val[]){
	    DB_STR(r->pathvars[0]) }, 1, &cnt)) != 0) {
		db_res_free(res);
		db_res_free(scan);
		api_db_error(r, rc);
		return;
	}
	n = params_page_rows(res, limit);
	root = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		for (j = 0; j < NELEM(cols); j++)
			json_object_object_add(o, cols[j],
			    json_object_new_string(db_cell(res, i, j)));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "scan_id",
	    json_object_new_string(r->pathvars[0]));
	params_page_end(root, "results", arr, res, limit,
	    db_cell_int(cnt, 0, 0), 0);
	db_res_free(cnt);
	db_res_free(res);
	db_res_free(scan);
	response_json(r, 200, root);
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
