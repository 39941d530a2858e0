/* mutes.c: POST/GET /api/v1/mute-rules, GET and DELETE
 * /api/v1/mute-rules/{id}. The rules, matching and the passes over the
 * tenant's findings are src/domain/mutes.c's; this file reads the request
 * and maps outcomes to replies. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "db.h"
#include "id.h"
#include "mutes.h"
#include "page.h"
#include "reply.h"
#include "vjson.h"

static void
not_found(struct request *r)
{
	response_error(r, 404, "not_found", "No such mute rule.", "id");
}

/* How the rule's pass over the existing findings stands: done, or
 * pending (vigil-scan --due finishes it), and how many it changed. */
static void
pass_json(json_object *o, const struct mutes_pass *ps, const char *count,
    long n)
{
	json_object_object_add(o, count, json_object_new_int64(n));
	json_object_object_add(o, "apply_status", json_object_new_string(
	    ps->pending ? "pending" : "done"));
}

static void
mutes_create_h(struct request *r, struct db *db)
{
	struct mute_rule rule, *out = NULL;
	struct vjson_err e;
	json_object *o;
	char actor[128], tag[MUTES_TAG_MAX + 2];
	struct mutes_pass ps;
	int rc;

	memset(&e, 0, sizeof(e));
	if (mutes_parse(r->json, time(NULL), &rule, tag, sizeof(tag),
	    &e) != 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	switch (mutes_create(db, r->auth.tenant_id, &rule, actor, time(NULL),
	    &out, &ps, &rc)) {
	case MUTES_OK:
		o = mutes_to_json(out);
		pass_json(o, &ps, "findings_muted", ps.muted);
		response_json(r, 201, o);
		mutes_rule_free(out);
		free(out);
		return;
	case MUTES_TOO_MANY:
		response_error(r, 409, "conflict", "The tenant has the most "
		    "live mute rules allowed (500): delete one first.", NULL);
		return;
	default:
		break;
	}
	api_db_error(r, rc);
}

static int
mute_id_ok(const char *s)
{
	return id_valid("mute", s);
}

static void
mutes_list_h(struct request *r, struct db *db)
{
	struct mute_rule **items = NULL;
	const char *cursor;
	json_object *root, *arr;
	long long total = 0;
	long limit;
	size_t i, n = 0;
	int rc, more = 0;

	if (params_list_cursor(r, &limit, mute_id_ok, &cursor) != 0)
		return;
	if ((rc = mutes_list(db, r->auth.tenant_id, cursor ? cursor : "",
	    limit, &items, &n, &total, &more)) != 0) {
		api_db_error(r, rc);
		return;
	}
	root = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(arr, mutes_to_json(items[i]));
	page_end(root, "mute_rules", arr, total, more,
	    n > 0 ? items[n - 1]->id : NULL);
	for (i = 0; i < n; i++) {
		mutes_rule_free(items[i]);
		free(items[i]);
	}
	free(items);
	response_json(r, 200, root);
}

static void
mutes_get_h(struct request *r, struct db *db)
{
	struct mute_rule *m = NULL;
	struct mutes_pass ps;
	json_object *o;
	int rc;

	if (reply_unknown_params(r, (const char *const[]){ NULL }) != 0)
		return;
	rc = mutes_get(db, r->auth.tenant_id, r->pathvars[0], &m);
	if (rc < 0) {
		api_db_error(r, rc);
		return;
	}
	if (rc == 0) {
		not_found(r);
		return;
	}
	o = mutes_to_json(m);
	if ((rc = mutes_pass_get(db, r->auth.tenant_id, m->id, &ps)) < 0) {
		json_object_put(o);
		mutes_rule_free(m);
		free(m);
		api_db_error(r, rc);
		return;
	}
	/* A rule stored before its pass was kept had it run in its request. */
	pass_json(o, &ps, "findings_muted", rc == 1 ? ps.muted : 0);
	if (rc == 0)
		json_object_object_add(o, "findings_muted", NULL);
	response_json(r, 200, o);
	mutes_rule_free(m);
	free(m);
}

static void
mutes_delete_h(struct request *r, struct db *db)
{
	json_object *root;
	const char *id = r->pathvars[0];
	char actor[128];
	struct mutes_pass ps;
	int rc;

	if (reply_unknown_params(r, (const char *const[]){ NULL }) != 0)
		return;
	auth_actor(r, actor, sizeof(actor));
	switch (mutes_delete(db, r->auth.tenant_id, id, actor, time(NULL),
	    &ps, &rc)) {
	case MUTES_OK:
		break;
	case MUTES_NOT_FOUND:
		not_found(r);
		return;
	default:
		api_db_error(r, rc);
		return;
	}
	root = json_object_new_object();
	json_object_object_add(root, "id", json_object_new_string(id));
	json_object_object_add(root, "deleted", json_object_new_boolean(1));
	pass_json(root, &ps, "findings_unmuted", ps.unmuted);
	response_json(r, 200, root);
}

const struct route mutes_routes[] = {
	{ "GET", "/api/v1/mute-rules", SCOPE_READ, 0, mutes_list_h },
	{ "POST", "/api/v1/mute-rules", SCOPE_WRITE, ROUTE_JSON_BODY,
	    mutes_create_h },
	{ "GET", "/api/v1/mute-rules/{id}", SCOPE_READ, 0, mutes_get_h },
	{ "DELETE", "/api/v1/mute-rules/{id}", SCOPE_WRITE, 0,
	    mutes_delete_h },
};
const size_t mutes_nroutes = NELEM(mutes_routes);
