/* observables.c: GET /api/v1/observables/search, POST
 * /api/v1/observables/suppress, GET /api/v1/observables/suppressions and
 * DELETE /api/v1/observables/suppressions/{id}. The handlers read and
 * normalise the value (observable.h) and answer; observables.c in src/
 * owns the rows and the audit entries. */
#include "vigil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "observables.h"
#include "page.h"
#include "reply.h"
#include "vjson.h"
#include "vtime.h"

/* The longest value read before it is trimmed and normalised. */
#define VALUE_IN_MAX (2 * OBSERVABLE_VALUE_MAX)

/* Type s and value v (either NULL when absent) as the type and the
 * normalised value into norm (OBSERVABLE_VALUE_LEN): 0, or -1 after the
 * 400 naming the field. */
static int
read_value(struct request *r, const char *s, const char *v,
    enum observable_type *t, char *norm, size_t *len)
{
	enum observable_err e;
	char msg[200];

	if (s == NULL) {
		reply_bad(r, "type", "type is required.");
		return -1;
	}
	if (!observable_type_parse(s, t)) {
		reply_bad(r, "type", "type must be one of ip, domain, url, "
		    "hash, email, hostname, user, file.");
		return -1;
	}
	if (v == NULL) {
		reply_bad(r, "value", "value is required.");
		return -1;
	}
	if (strlen(v) > VALUE_IN_MAX) {
		e = OBSERVABLE_TOO_LONG;
	} else if ((e = observable_normalise(*t, v, strlen(v), norm,
	    OBSERVABLE_VALUE_LEN, len)) == OBSERVABLE_OK)
		return 0;
	snprintf(msg, sizeof(msg), "value is not a valid %s: %s",
	    observable_type_name(*t), observable_err_text(e));
	reply_bad(r, "value", msg);
	return -1;
}

/* GET /api/v1/observables/search?type=&value=: the observable (null if
 * the tenant never saw it), then its cases and its alerts, newest
 * first. */
static void
observables_search_get(struct request *r, struct db *db)
{
	static const char *const known[] = { "type", "value", "limit",
	    "cursor", NULL };
	struct observables_search s;
	enum observable_type t;
	const char *cursor;
	char norm[OBSERVABLE_VALUE_LEN], kind;
	json_object *root;
	long long seq;
	size_t len;
	long limit;
	int rc;

	if (reply_unknown_params(r, known) != 0 ||
	    read_value(r, request_param(r, "type"), request_param(r, "value"),
	    &t, norm, &len) != 0 || params_limit(r, &limit) != 0)
		return;
	cursor = request_param(r, "cursor");
	if (cursor != NULL && !observables_cursor_parse(cursor, &kind, &seq)) {
		reply_bad(r, "cursor", "cursor is not valid.");
		return;
	}
	if ((rc = observables_search(db, r->auth.tenant_id, t, norm, len,
	    cursor, limit, &s)) != 0) {
		observables_search_free(&s);
		api_db_error(r, rc);
		return;
	}
	root = json_object_new_object();
	json_object_object_add(root, "observable", json_object_get(
	    s.observable));
	page_end(root, "hits", json_object_get(s.hits), s.total, s.has_more,
	    s.next_cursor);
	observables_search_free(&s);
	response_json(r, 200, root);
}

/* POST /api/v1/observables/suppress */
static void
observables_suppress_post(struct request *r, struct db *db)
{
	static const char *const allowed[] = { "type", "value", "scope",
	    "until", NULL };
	struct observables_suppress_in in;
	struct vjson_err e;
	const char *type, *value, *scope, *until;
	char norm[OBSERVABLE_VALUE_LEN], actor[128];
	time_t now = time(NULL);
	json_object *out;
	int rc;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_string(r->json, "type", 1, 1, 16, &type, &e) < 0 ||
	    vjson_get_string(r->json, "value", 1, 1, VALUE_IN_MAX, &value,
	    &e) < 0 ||
	    vjson_get_string(r->json, "scope", 1, 1, 128, &scope, &e) < 0 ||
	    vjson_get_string(r->json, "until", 1, 1, 64, &until, &e) < 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	memset(&in, 0, sizeof(in));
	if (read_value(r, type, value, &in.type, norm, &in.len) != 0)
		return;
	if (!observables_scope_valid(scope)) {
		reply_bad(r, "scope", "scope must be \"global\" or "
		    "\"source:NAME\", NAME 1 to 64 printable characters "
		    "without spaces.");
		return;
	}
	if (reply_time(r, "until", until, &in.until) < 0)
		return;
	if (in.until <= now || in.until > now +
	    (time_t)OBSERVABLES_UNTIL_MAX_DAYS * 86400) {
		reply_bad(r, "until", "until must be in the future, at most "
		    "365 days ahead.");
		return;
	}
	in.value = norm;
	in.scope = scope;
	auth_actor(r, actor, sizeof(actor));
	if ((rc = observables_suppress(db, r->auth.tenant_id, &in, actor, now,
	    &out)) != 0) {
		api_db_error(r, rc);
		return;
	}
	response_json(r, 201, out);
}

/* GET /api/v1/observables/suppressions?state=active|expired|all:
 * newest first, active ones unless told otherwise. */
static void
observables_suppressions_get(struct request *r, struct db *db)
{
	static const char *const known[] = { "state", "limit", "cursor",
	    NULL };
	enum observables_state st = OBSERVABLES_ACTIVE;
	struct observables_page p;
	const char *s;
	json_object *root;
	long long before;
	long limit;
	int rc;

	if (reply_unknown_params(r, known) != 0 ||
	    params_limit(r, &limit) != 0 ||
	    params_seq_cursor(r, &before) != 0)
		return;
	if ((s = request_param(r, "state")) != NULL) {
		if (strcmp(s, "active") == 0)
			st = OBSERVABLES_ACTIVE;
		else if (strcmp(s, "expired") == 0)
			st = OBSERVABLES_EXPIRED;
		else if (strcmp(s, "all") == 0)
			st = OBSERVABLES_ALL;
		else {
			reply_bad(r, "state", "state must be active, expired "
			    "or all.");
			return;
		}
	}
	if ((rc = observables_suppressions(db, r->auth.tenant_id, st,
	    time(NULL), before, limit, &p)) != 0) {
		observables_page_free(&p);
		api_db_error(r, rc);
		return;
	}
	root = json_object_new_object();
	page_end(root, "suppressions", json_object_get(p.items), p.total,
	    p.has_more, p.next_cursor);
	observables_page_free(&p);
	response_json(r, 200, root);
}

/* DELETE /api/v1/observables/suppressions/{id}: lifted at once, expired
 * or not. */
static void
observables_suppression_delete(struct request *r, struct db *db)
{
	char actor[128];
	int rc;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	auth_actor(r, actor, sizeof(actor));
	rc = observables_unsuppress(db, r->auth.tenant_id, r->pathvars[0],
	    actor);
	if (rc == 0) {
		response_error(r, 404, "not_found", "No such suppression.",
		    "id");
		return;
	}
	if (rc < 0) {
		api_db_error(r, rc);
		return;
	}
	reply_deleted(r, "id", r->pathvars[0], time(NULL));
}

const struct route observables_routes[] = {
	{ "GET", "/api/v1/observables/search", SCOPE_READ, 0,
	    observables_search_get },
	{ "POST", "/api/v1/observables/suppress", SCOPE_WRITE,
	    ROUTE_JSON_BODY, observables_suppress_post },
	{ "GET", "/api/v1/observables/suppressions", SCOPE_READ, 0,
	    observables_suppressions_get },
	{ "DELETE", "/api/v1/observables/suppressions/{id}", SCOPE_WRITE, 0,
	    observables_suppression_delete },
};
const size_t observables_nroutes = NELEM(observables_routes);
