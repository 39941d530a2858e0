/* integrations.c: POST/GET /api/v1/integrations and DELETE
 * /api/v1/integrations/{id}: where a tenant's resources come from. The
 * rules, the sealing of an Azure secret, the row and the audit entry are
 * src/scan/integrations.c's; this file reads the request and maps outcomes to
 * replies. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "db.h"
#include "id.h"
#include "integrations.h"
#include "page.h"
#include "reply.h"
#include "vjson.h"
#include "vtime.h"

static void
not_found(struct request *r)
{
	response_error(r, 404, "not_found", "No such integration.", "id");
}

static void
integrations_create_h(struct request *r, struct db *db)
{
	static const char *const allowed[] = { "type", "name", "config",
	    NULL };
	struct integrations_new nw;
	struct integrations_err err;
	struct integration *in = NULL;
	struct vjson_err e;
	json_object *cfg = NULL;
	const char *type = NULL, *name = NULL;
	char actor[128], ctx[sizeof(r->id) + 8];
	int rc;

	/* The request's shape; the rules on its values are the domain's. */
	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_string(r->json, "type", 1, 1, 16, &type, &e) < 0 ||
	    vjson_get_string(r->json, "name", 1, 1, 400, &name, &e) < 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	json_object_object_get_ex(r->json, "config", &cfg);
	auth_actor(r, actor, sizeof(actor));
	snprintf(ctx, sizeof(ctx), "req=%s", r->id);
	memset(&nw, 0, sizeof(nw));
	nw.tenant_id = r->auth.tenant_id;
	nw.type = type;
	nw.name = name;
	nw.config = cfg;
	nw.actor = actor;
	nw.log_ctx = ctx;
	nw.now = time(NULL);
	switch (integrations_create(db, &nw, &err, &in, &rc)) {
	case INTEGRATIONS_OK:
		response_json(r, 201, integrations_to_json(in));
		integrations_free(in);
		return;
	case INTEGRATIONS_INVALID:
		reply_bad(r, err.field, err.message);
		return;
	case INTEGRATIONS_NO_VERDICT:
		response_error(r, 503, "service_unavailable", err.message,
		    err.field);
		response_header(r, "Retry-After", "%d", 30);
		return;
	case INTEGRATIONS_NOT_FOUND:
	case INTEGRATIONS_ERROR:
		break;
	}
	api_db_error(r, rc);
}

/* A cursor is the last integration id of the previous page. */
static int
integration_id_ok(const char *s)
{
	return id_valid("int", s);
}

static void
integrations_list_h(struct request *r, struct db *db)
{
	struct integrations_page *p = NULL;
	const char *cursor;
	json_object *root, *arr;
	long limit;
	size_t i;
	int rc;

	if (params_list_cursor(r, &limit, integration_id_ok, &cursor) != 0)
		return;
	if ((rc = integrations_list(db, r->auth.tenant_id,
	    cursor ? cursor : "", limit, &p)) != 0) {
		api_db_error(r, rc);
		return;
	}
	root = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < p->n; i++)
		json_object_array_add(arr, integrations_to_json(p->items[i]));
	page_end(root, "integrations", arr, p->total, p->has_more,
	    p->n > 0 ? p->items[p->n - 1]->id : NULL);
	integrations_page_free(p);
	response_json(r, 200, root);
}

/* Soft delete: the integration stops being scanned; its findings stay. */
static void
integrations_delete_h(struct request *r, struct db *db)
{
	const char *id = r->pathvars[0];
	char actor[128];
	time_t now = time(NULL);
	int rc;

	auth_actor(r, actor, sizeof(actor));
	switch (integrations_delete(db, r->auth.tenant_id, id, actor, now,
	    &rc)) {
	case INTEGRATIONS_OK:
		break;
	case INTEGRATIONS_NOT_FOUND:
		not_found(r);
		return;
	default:
		api_db_error(r, rc);
		return;
	}
	reply_deleted(r, "id", id, now);
}

const struct route integrations_routes[] = {
	{ "GET", "/api/v1/integrations", SCOPE_READ, 0,
	    integrations_list_h },
	{ "POST", "/api/v1/integrations", SCOPE_ADMIN, ROUTE_JSON_BODY,
	    integrations_create_h },
	{ "DELETE", "/api/v1/integrations/{id}", SCOPE_ADMIN, 0,
	    integrations_delete_h },
};
const size_t integrations_nroutes = NELEM(integrations_routes);
