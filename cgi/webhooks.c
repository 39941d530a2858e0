/* webhooks.c: /api/v1/webhooks (register, list, show, delete, enable,
 * deliveries, test), POST /api/v1/deliveries/{id}/retry and GET
 * /api/v1/events (the outbox, for polling). The handlers read the
 * request and answer; webhooks.c, deliveries.c and events.c in src/ own
 * the rows, the audit entries and the events. A generated secret is
 * shown once in the 201 and never again, and no secret is ever logged. */
#include "vigil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "api.h"
#include "deliveries.h"
#include "events.h"
#include "id.h"
#include "netguard.h"
#include "page.h"
#include "reply.h"
#include "vjson.h"
#include "vtime.h"
#include "webhooks.h"

static void
not_found(struct request *r, const char *what)
{
	response_error(r, 404, "not_found", what, "id");
}

/* The reply when a webhooks_* call on the webhook of the path did not
 * succeed: 404 if the tenant has no such webhook, else the database error
 * rc. */
static void
webhook_failed(struct request *r, enum webhooks_outcome oc, int rc)
{
	if (oc == WEBHOOKS_NOT_FOUND)
		not_found(r, "No such webhook.");
	else
		api_db_error(r, rc);
}

/* The webhook of the path into *w (the caller frees it with
 * webhooks_free): 0, or -1 after the 404 or the database error. */
static int
webhook_load(struct request *r, struct db *db, struct webhook **w)
{
	int rc;

	if ((rc = webhooks_get(db, r->auth.tenant_id, r->pathvars[0],
	    w)) <= 0) {
		webhook_failed(r, rc == 0 ? WEBHOOKS_NOT_FOUND :
		    WEBHOOKS_DB_ERROR, rc);
		return -1;
	}
	return 0;
}

/* The cursor of the webhooks list is the last webhook id of the previous
 * page; of a deliveries list, the last delivery id. */
static int
webhook_id_ok(const char *s)
{
	return id_valid("wh", s);
}

static int
delivery_id_ok(const char *s)
{
	return id_valid("dlv", s);
}

/* Answer 200 with a list page: name: items (taken over), total,
 * has_more, next_cursor ("" unless has_more). */
static void
page_reply(struct request *r, const char *name, json_object *items,
    long long total, int has_more, const char *next_cursor)
{
	json_object *root = json_object_new_object();

	page_end(root, name, items, total, has_more, next_cursor);
	response_json(r, 200, root);
}

/* POST /api/v1/webhooks */
static void
webhooks_post(struct request *r, struct db *db)
{
	static const char *const allowed[] = { "url", "events", "secret",
	    NULL };
	struct webhooks_new in = { NULL, NULL, NULL };
	struct webhook *w = NULL;
	struct vjson_err e;
	json_object *o;
	char actor[128];
	int rc;

	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_string(r->json, "url", 1, 1, NETGUARD_URL_MAX, &in.url,
	    &e) < 0 ||
	    vjson_get_string_array(r->json, "events", 1, WEBHOOKS_EVENTS_MAX,
	    64, &in.events, &e) < 0 ||
	    vjson_get_string(r->json, "secret", 0, WEBHOOKS_SECRET_MIN,
	    WEBHOOKS_SECRET_MAX, &in.secret, &e) < 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	switch (webhooks_create(db, r->auth.tenant_id, &in, actor, time(NULL),
	    &w, &e, &rc)) {
	case WEBHOOKS_OK:
		o = webhooks_to_json(w, 0);
		if (w->secret != NULL)
			json_object_object_add(o, "secret",
			    json_object_new_string(w->secret));
		webhooks_free(w);
		response_json(r, 201, o);
		return;
	case WEBHOOKS_INVALID:
		reply_bad(r, e.field, e.message);
		return;
	case WEBHOOKS_NOT_FOUND:
	case WEBHOOKS_DB_ERROR:
		break;
	}
	api_db_error(r, rc);
}

/* GET /api/v1/webhooks: oldest first, keyset by id; never secrets. */
static void
webhooks_index(struct request *r, struct db *db)
{
	struct webhooks_page p;
	const char *cursor;
	long limit;
	int rc;

	if (params_list_cursor(r, &limit, webhook_id_ok, &cursor) != 0)
		return;
	if ((rc = webhooks_list(db, r->auth.tenant_id, cursor, limit,
	    &p)) != 0) {
		webhooks_page_free(&p);
		api_db_error(r, rc);
		return;
	}
	page_reply(r, "webhooks", json_object_get(p.items), p.total,
	    p.has_more, p.next_cursor);
	webhooks_page_free(&p);
}

/* GET /api/v1/webhooks/{id} */
static void
webhooks_show(struct request *r, struct db *db)
{
	struct webhook *w = NULL;

	if (webhook_load(r, db, &w) != 0)
		return;
	response_json(r, 200, webhooks_to_json(w, 1));
	webhooks_free(w);
}

/* DELETE /api/v1/webhooks/{id}: soft delete; its pending deliveries fail
 * with "webhook deleted" in the same transaction. */
static void
webhooks_remove(struct request *r, struct db *db)
{
	enum webhooks_outcome oc;
	char actor[128];
	time_t now = time(NULL);
	int rc;

	/* a channel of another kind is /channels' */
	if (!webhook_id_ok(r->pathvars[0])) {
		not_found(r, "No such webhook.");
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	if ((oc = webhooks_delete(db, r->auth.tenant_id, r->pathvars[0],
	    actor, now, &rc)) != WEBHOOKS_OK) {
		webhook_failed(r, oc, rc);
		return;
	}
	reply_deleted(r, "webhook_id", r->pathvars[0], now);
}

/* POST /api/v1/webhooks/{id}/enable: a webhook vigil-spool disabled (410,
 * or failing for webhook_disable_after) gets deliveries again; 200 with
 * the webhook; an enabled one is returned as it is. */
static void
webhooks_enable_post(struct request *r, struct db *db)
{
	enum webhooks_outcome oc;
	struct webhook *w = NULL;
	char actor[128];
	int rc;

	/* a channel of another kind is /channels' */
	if (!webhook_id_ok(r->pathvars[0])) {
		not_found(r, "No such webhook.");
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	if ((oc = webhooks_enable(db, r->auth.tenant_id, r->pathvars[0],
	    actor, &w, &rc)) != WEBHOOKS_OK) {
		webhook_failed(r, oc, rc);
		return;
	}
	response_json(r, 200, webhooks_to_json(w, 1));
	webhooks_free(w);
}

/* GET /api/v1/webhooks/{id}/deliveries: oldest first, keyset by id. The
 * webhook is looked up first, so an unknown one is 404 whatever the
 * query says. */
static void
webhooks_deliveries(struct request *r, struct db *db)
{
	struct webhook *w = NULL;

	if (webhook_load(r, db, &w) != 0)
		return;
	webhooks_free(w);
	webhooks_deliveries_reply(r, db);
}

void
webhooks_deliveries_reply(struct request *r, struct db *db)
{
	struct deliveries_page p;
	const char *cursor;
	long limit;
	int rc;

	if (params_list_cursor(r, &limit, delivery_id_ok, &cursor) != 0)
		return;
	if ((rc = deliveries_list(db, r->auth.tenant_id, r->pathvars[0],
	    cursor, limit, &p)) != 0) {
		deliveries_page_free(&p);
		api_db_error(r, rc);
		return;
	}
	page_reply(r, "deliveries", json_object_get(p.items), p.total,
	    p.has_more, p.next_cursor);
	deliveries_page_free(&p);
}

/* POST /api/v1/webhooks/{id}/test: a webhook.test event in the outbox
 * (data.webhook_id names the webhook); 202 with its id. */
static void
webhooks_test_post(struct request *r, struct db *db)
{
	enum webhooks_outcome oc;
	json_object *root;
	char actor[128], evid[VIGIL_ID_LEN];
	int rc;

	/* a channel of another kind is /channels' */
	if (!webhook_id_ok(r->pathvars[0])) {
		not_found(r, "No such webhook.");
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	if ((oc = webhooks_test(db, r->auth.tenant_id, r->pathvars[0], actor,
	    time(NULL), evid, &rc)) != WEBHOOKS_OK) {
		webhook_failed(r, oc, rc);
		return;
	}
	root = json_object_new_object();
	json_object_object_add(root, "event_id", json_object_new_string(evid));
	response_json(r, 202, root);
}

/* POST /api/v1/deliveries/{id}/retry: a failed or dead delivery back to
 * pending, due now; 409 in any other status. */
static void
deliveries_retry_post(struct request *r, struct db *db)
{
	struct delivery *d = NULL;
	char actor[128];
	int rc;

	auth_actor(r, actor, sizeof(actor));
	switch (deliveries_retry(db, r->auth.tenant_id, r->pathvars[0], actor,
	    time(NULL), &d, &rc)) {
	case DELIVERIES_OK:
		response_json(r, 202, deliveries_to_json(d));
		deliveries_free(d);
		return;
	case DELIVERIES_NOT_FOUND:
		not_found(r, "No such delivery.");
		return;
	case DELIVERIES_CONFLICT:
		response_error(r, 409, "conflict", "Only a failed or dead "
		    "delivery of a webhook neither deleted nor disabled can "
		    "be retried.", "status");
		return;
	case DELIVERIES_DB_ERROR:
		break;
	}
	api_db_error(r, rc);
}

/* GET /api/v1/events: the tenant's events oldest first (seq order), for
 * polling: keep the last next_cursor and ask again. */
static void
events_index(struct request *r, struct db *db)
{
	static const char *const known[] = { "limit", "cursor", "type",
	    "since", NULL };
	struct events_filter f;
	struct events_page p;
	json_object *root;
	const char *cursor = request_param(r, "cursor");
	const char *type = request_param(r, "type");
	char next[32], *end;
	long long after = 0;
	long limit;
	int rc;

	if (reply_unknown_params(r, known) != 0 ||
	    params_limit(r, &limit) != 0)
		return;
	if (cursor != NULL) {
		errno = 0;
		after = (cursor[0] == 'e' &&
		    isdigit((unsigned char)cursor[1])) ?
		    strtoll(cursor + 1, &end, 10) : -1;
		if (after < 1 || *end != '\0' || errno) {
			reply_bad(r, "cursor", "cursor is not valid.");
			return;
		}
	}
	if (events_filter_parse(type, &f) != 0) {
		reply_bad(r, "type", "type must be an event type, or "
		    "finding.*, scan.*, webhook.*, case.*, alert.* or *.");
		return;
	}
	if ((rc = reply_since(r, "since", &f.since)) < 0)
		return;
	f.has_since = rc;
	if ((rc = events_list(db, r->auth.tenant_id, &f, after, limit,
	    &p)) != 0) {
		events_page_free(&p);
		api_db_error(r, rc);
		return;
	}
	root = json_object_new_object();
	json_object_object_add(root, "events", json_object_get(p.events));
	json_object_object_add(root, "total", json_object_new_int64(p.total));
	json_object_object_add(root, "has_more",
	    json_object_new_boolean(p.has_more));
	if (p.last_seq > 0) {
		/* The cursor goes on from the last event shown even on the
		 * last page, so a poller can keep it and ask again later. */
		snprintf(next, sizeof(next), "e%lld", p.last_seq);
		json_object_object_add(root, "next_cursor",
		    json_object_new_string(next));
	} else
		json_object_object_add(root, "next_cursor", cursor ?
		    json_object_new_string(cursor) : NULL);
	events_page_free(&p);
	response_json(r, 200, root);
}

const struct route webhooks_routes[] = {
	{ "GET", "/api/v1/webhooks", SCOPE_READ, 0, webhooks_index },
	{ "POST", "/api/v1/webhooks", SCOPE_ADMIN, ROUTE_JSON_BODY |
	    ROUTE_SECRET_REPLY, webhooks_post },
	{ "GET", "/api/v1/webhooks/{id}", SCOPE_READ, 0, webhooks_show },
	{ "DELETE", "/api/v1/webhooks/{id}", SCOPE_ADMIN, 0,
	    webhooks_remove },
	{ "POST", "/api/v1/webhooks/{id}/enable", SCOPE_ADMIN, 0,
	    webhooks_enable_post },
	{ "GET", "/api/v1/webhooks/{id}/deliveries", SCOPE_READ, 0,
	    webhooks_deliveries },
	{ "POST", "/api/v1/webhooks/{id}/test", SCOPE_WRITE, 0,
	    webhooks_test_post },
	{ "POST", "/api/v1/deliveries/{id}/retry", SCOPE_WRITE, 0,
	    deliveries_retry_post },
	{ "GET", "/api/v1/events", SCOPE_READ, 0, events_index },
};
const size_t webhooks_nroutes = NELEM(webhooks_routes);
