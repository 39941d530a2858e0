/* alerts.c: the Alerts API: ingest (one alert, or a batch of up to 500
 * for SIEM forwarders). */
#include "vigil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "api.h"
#include "db.h"
#include "reply.h"
#include "vjson.h"

/* {id, deduplicated, status} of one ingested alert. */
static json_object *
result_json(const struct alert_result *res)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(res->id));
	json_object_object_add(o, "deduplicated",
	    json_object_new_boolean(res->deduplicated));
	json_object_object_add(o, "status",
	    json_object_new_string(res->status));
	return o;
}

/* POST /alerts: 201 when new, 200 when (source, external_id) was known. */
static void
alerts_ingest_h(struct request *r, struct db *db)
{
	struct alert_in in;
	struct alert_result res;
	struct vjson_err e;
	char actor[128];
	time_t now = time(NULL);
	int rc;

	if (alerts_parse(r->json, now, &in, &e) != 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	rc = alerts_ingest(db, r->auth.tenant_id, actor, &in, 1, 0, now, &res);
	if (rc != 0)
		api_db_error(r, rc);
	else
		response_json(r, res.deduplicated ? 200 : 201,
		    result_json(&res));
	alerts_in_free(&in);
}

/*
 * POST /alerts/batch {"alerts":[…]}: each item validated on its own; an
 * invalid item fails alone (its result says why, naming the field) and
 * the valid ones are ingested together in one transaction, so that a
 * forwarder's batch costs one lock and one audit entry. 200 whenever the
 * body had the shape; a database error fails the whole call (nothing
 * written).
 */
static void
alerts_batch_h(struct request *r, struct db *db)
{
	static const char *const keys[] = { "alerts", NULL };
	struct alert_in *in = NULL;
	struct alert_result *res = NULL;
	struct vjson_err e, *errs = NULL;
	json_object *arr, *root, *results, *one;
	char actor[128];
	size_t i, n, nvalid = 0, ncreated = 0, ndedup = 0;
	size_t *idx = NULL;
	time_t now = time(NULL);
	int rc;

	if (vjson_only_keys(r->json, keys, &e) != 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	if (!json_object_object_get_ex(r->json, "alerts", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) == 0 ||
	    n > ALERTS_BATCH_MAX) {
		reply_bad(r, "alerts", "alerts must be an array of 1 to 500 "
		    "alerts.");
		return;
	}
	if ((in = calloc(n, sizeof(*in))) == NULL ||
	    (res = calloc(n, sizeof(*res))) == NULL ||
	    (errs = calloc(n, sizeof(*errs))) == NULL ||
	    (idx = calloc(n, sizeof(*idx))) == NULL) {
		api_db_error(r, DB_ERR);
		goto out;
	}
	/* The valid items packed at the front of in[], idx[] their index. */
	for (i = 0; i < n; i++) {
		if (alerts_parse(json_object_array_get_idx(arr, i), now,
		    &in[nvalid], &errs[i]) == 0)
			idx[nvalid++] = i;
		else if (errs[i].field[0] == '\0')
			errs[i].field[0] = '?';
	}
	if (nvalid > 0) {
		auth_actor(r, actor, sizeof(actor));
		if ((rc = alerts_ingest(db, r->auth.tenant_id, actor, in,
		    nvalid, 1, now, res)) != 0) {
			api_db_error(r, rc);
			goto out;
		}
	}
	results = json_object_new_array_ext((int)n);
	for (i = 0; i < n; i++) {
		one = json_object_new_object();
		json_object_object_add(one, "index",
		    json_object_new_int64((int64_t)i));
		json_object_array_add(results, one);
	}
	for (i = 0; i < n; i++) {
		if (errs[i].field[0] == '\0')
			continue;
		one = json_object_array_get_idx(results, i);
		json_object_object_add(one, "status", json_object_new_int(400));
		json_object_object_add(one, "error",
		    json_object_new_string("invalid_request"));
		json_object_object_add(one, "field",
		    json_object_new_string(errs[i].field));
		json_object_object_add(one, "message",
		    json_object_new_string(errs[i].message));
	}
	for (i = 0; i < nvalid; i++) {
		one = json_object_array_get_idx(results, idx[i]);
		json_object_object_add(one, "status",
		    json_object_new_int(res[i].deduplicated ? 200 : 201));
		json_object_object_add(one, "id",
		    json_object_new_string(res[i].id));
		json_object_object_add(one, "deduplicated",
		    json_object_new_boolean(res[i].deduplicated));
		json_object_object_add(one, "alert_status",
		    json_object_new_string(res[i].status));
		if (res[i].deduplicated)
			ndedup++;
		else
			ncreated++;
	}
	root = json_object_new_object();
	json_object_object_add(root, "created",
	    json_object_new_int64((int64_t)ncreated));
	json_object_object_add(root, "deduplicated",
	    json_object_new_int64((int64_t)ndedup));
	json_object_object_add(root, "failed",
	    json_object_new_int64((int64_t)(n - nvalid)));
	json_object_object_add(root, "results", results);
	response_json(r, 200, root);
out:
	for (i = 0; in != NULL && i < nvalid; i++)
		alerts_in_free(&in[i]);
	free(idx);
	free(errs);
	free(res);
	free(in);
}

const struct route alerts_routes[] = {
	{ "POST", "/api/v1/alerts", SCOPE_WRITE, ROUTE_JSON_BODY,
	    alerts_ingest_h },
	{ "POST", "/api/v1/alerts/batch", SCOPE_WRITE, ROUTE_JSON_BODY,
	    alerts_batch_h },
};
const size_t alerts_nroutes = NELEM(alerts_routes);
