/* reports.c: the Reports API: queue a report (POST /reports), list them,
 * show one, download a completed one. vigil-scan --due generates them. */
#include "vigil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "db.h"
#include "reply.h"
#include "reports.h"
#include "vjson.h"

static void
not_found(struct request *r)
{
	response_error(r, 404, "not_found", "No such report.", "id");
}

/* The domain writes download_url as a path from the root ("/api/v1/...");
 * under a sub-path (r->prefix, "/vigil") the client's link is below it. */
static void
link_one(struct request *r, json_object *o)
{
	json_object *u;
	char link[REQUEST_MAX_LINK];

	if (r->prefix == NULL || *r->prefix == '\0' ||
	    !json_object_object_get_ex(o, "download_url", &u) ||
	    !json_object_is_type(u, json_type_string))
		return;
	snprintf(link, sizeof(link), "%s%s", r->prefix,
	    json_object_get_string(u));
	json_object_object_add(o, "download_url",
	    json_object_new_string(link));
}

static void
link_page(struct request *r, json_object *page)
{
	json_object *items;
	size_t i;

	if (!json_object_object_get_ex(page, "reports", &items))
		return;
	for (i = 0; i < json_object_array_length(items); i++)
		link_one(r, json_object_array_get_idx(items, i));
}

static void
reports_post(struct request *r, struct db *db)
{
	struct vjson_err e;
	json_object *params = NULL, *out = NULL;
	char actor[128], id[VIGIL_ID_LEN];
	time_t now = time(NULL);
	int rc;

	memset(&e, 0, sizeof(e));
	if (reply_unknown_params(r, NULL) != 0)
		return;
	if (reports_check(r->json, now, &params, &e) != 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	rc = reports_create(db, r->auth.tenant_id, params, actor, now, id,
	    sizeof(id));
	json_object_put(params);
	if (rc != 0 || (rc = reports_get(db, r->auth.tenant_id, id,
	    &out)) != 1) {
		api_db_error(r, rc < 0 ? rc : DB_ERR);
		return;
	}
	link_one(r, out);
	response_json(r, 202, out);
	response_header(r, "Location", "%s/api/v1/reports/%s", r->prefix,
	    id);
}

static void
reports_index(struct request *r, struct db *db)
{
	json_object *page;
	long long before;
	long limit;
	int rc;

	if (params_list(r, &limit) != 0 ||
	    params_seq_cursor(r, &before) != 0)
		return;
	if ((rc = reports_list(db, r->auth.tenant_id, before, limit,
	    &page)) != 0) {
		api_db_error(r, rc);
		return;
	}
	link_page(r, page);
	response_json(r, 200, page);
}

static void
reports_show(struct request *r, struct db *db)
{
	json_object *o;
	int rc;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	if ((rc = reports_get(db, r->auth.tenant_id, r->pathvars[0], &o)) <=
	    0) {
		if (rc == 0)
			not_found(r);
		else
			api_db_error(r, rc);
		return;
	}
	link_one(r, o);
	response_json(r, 200, o);
}

/* The stored file, as an attachment (never shown in the browser's
 * context: a report's HTML holds the tenant's own strings). 404 while
 * it is not completed: GET /reports/{id} says why. */
static void
reports_download(struct request *r, struct db *db)
{
	struct db_res *res = NULL;
	const char *data, *ctype;
	char fname[128];
	size_t len;
	int rc;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	if ((rc = reports_content(db, r->auth.tenant_id, r->pathvars[0], &res,
	    &data, &len, &ctype, fname, sizeof(fname))) <= 0) {
		if (rc == 0)
			response_error(r, 404, "not_found", "No such completed "
			    "report (GET /api/v1/reports/{id} shows its "
			    "status).", "id");
		else
			api_db_error(r, rc);
		return;
	}
	/* Written from the result itself: up to REPORTS_MAX_BYTES, more
	 * than a response buffer holds. */
	r->status = 200;
	buf_reset(&r->out);
	response_header(r, "Content-Type", "%s", ctype);
	response_header(r, "Content-Disposition",
	    "attachment; filename=\"%s\"", fname);
	if (api_send_head(r, (long long)len) == 0 &&
	    strcmp(r->method, "HEAD") != 0)
		api_send(r, data, len);
	db_res_free(res);
}

const struct route reports_routes[] = {
	{ "POST", "/api/v1/reports", SCOPE_READ, ROUTE_JSON_BODY,
	    reports_post },
	{ "GET", "/api/v1/reports", SCOPE_READ, 0, reports_index },
	{ "GET", "/api/v1/reports/{id}", SCOPE_READ, 0, reports_show },
	{ "GET", "/api/v1/reports/{id}/download", SCOPE_READ, 0,
	    reports_download },
};
const size_t reports_nroutes = NELEM(reports_routes);
