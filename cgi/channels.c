/* channels.c: /api/v1/channels (create, list, show, change, delete,
 * enable, test, deliveries): notification channels, admin only. The rows,
 * audit entries and events are src/domain's (channels.c, and webhooks.c
 * for delete, enable and test: a channel is a row of webhooks). Secrets
 * are never answered, except a webhook's generated signing secret once in
 * the 201. */
#include "vigil.h"

#include <stdio.h>
#include <time.h>

#include "api.h"
#include "channels.h"
#include "id.h"
#include "page.h"
#include "reply.h"
#include "vjson.h"
#include "vtime.h"
#include "webhooks.h"

static void
not_found(struct request *r)
{
	response_error(r, 404, "not_found", "No such channel.", "id");
}

/* Answer 200 with the channel id as it now is (after a change). */
static void
reply_channel(struct request *r, struct db *db, int status)
{
	struct channel *c = NULL;
	int rc;

	if ((rc = channels_get(db, r->auth.tenant_id, r->pathvars[0],
	    &c)) <= 0) {
		if (rc == 0)
			not_found(r);
		else
			api_db_error(r, rc);
		return;
	}
	response_json(r, status, channels_to_json(c));
	channels_free(c);
}

/* POST /api/v1/channels */
static void
channels_post(struct request *r, struct db *db)
{
	struct channel *c = NULL;
	struct vjson_err e;
	json_object *o;
	char actor[128];
	int rc;

	auth_actor(r, actor, sizeof(actor));
	switch (channels_create(db, r->auth.tenant_id, r->json, actor,
	    time(NULL), &c, &e, &rc)) {
	case CHANNELS_OK:
		o = channels_to_json(c);
		if (c->secret != NULL)
			json_object_object_add(o, "secret",
			    json_object_new_string(c->secret));
		channels_free(c);
		response_json(r, 201, o);
		return;
	case CHANNELS_INVALID:
		reply_bad(r, e.field, e.message);
		return;
	case CHANNELS_NOT_FOUND:
	case CHANNELS_DB_ERROR:
		break;
	}
	api_db_error(r, rc);
}

/* GET /api/v1/channels: every kind, by id. */
static void
channels_index(struct request *r, struct db *db)
{
	struct channels_page p;
	json_object *root;
	const char *cursor;
	long limit;
	int rc;

	if (params_list_cursor(r, &limit, channels_id_ok, &cursor) != 0)
		return;
	if ((rc = channels_list(db, r->auth.tenant_id, cursor, limit,
	    &p)) != 0) {
		channels_page_free(&p);
		api_db_error(r, rc);
		return;
	}
	root = json_object_new_object();
	page_end(root, "channels", json_object_get(p.items), p.total,
	    p.has_more, p.next_cursor);
	channels_page_free(&p);
	response_json(r, 200, root);
}

/* GET /api/v1/channels/{id} */
static void
channels_show(struct request *r, struct db *db)
{
	reply_channel(r, db, 200);
}

/* PATCH /api/v1/channels/{id} */
static void
channels_patch(struct request *r, struct db *db)
{
	struct channel *c = NULL;
	struct vjson_err e;
	char actor[128];
	int rc;

	auth_actor(r, actor, sizeof(actor));
	switch (channels_update(db, r->auth.tenant_id, r->pathvars[0],
	    r->json, actor, &c, &e, &rc)) {
	case CHANNELS_OK:
		response_json(r, 200, channels_to_json(c));
		channels_free(c);
		return;
	case CHANNELS_INVALID:
		reply_bad(r, e.field, e.message);
		return;
	case CHANNELS_NOT_FOUND:
		not_found(r);
		return;
	case CHANNELS_DB_ERROR:
		break;
	}
	api_db_error(r, rc);
}

static void
hook_failed(struct request *r, enum webhooks_outcome oc, int rc)
{
	if (oc == WEBHOOKS_NOT_FOUND)
		not_found(r);
	else
		api_db_error(r, rc);
}

/* DELETE /api/v1/channels/{id}: its pending deliveries fail with it. */
static void
channels_remove(struct request *r, struct db *db)
{
	enum webhooks_outcome oc;
	char actor[128];
	time_t now = time(NULL);
	int rc;

	auth_actor(r, actor, sizeof(actor));
	if ((oc = webhooks_delete(db, r->auth.tenant_id, r->pathvars[0],
	    actor, now, &rc)) != WEBHOOKS_OK) {
		hook_failed(r, oc, rc);
		return;
	}
	reply_deleted(r, "channel_id", r->pathvars[0], now);
}

/* POST /api/v1/channels/{id}/enable: one vigil-spool disabled. */
static void
channels_enable_post(struct request *r, struct db *db)
{
	enum webhooks_outcome oc;
	struct webhook *w = NULL;
	char actor[128];
	int rc;

	auth_actor(r, actor, sizeof(actor));
	if ((oc = webhooks_enable(db, r->auth.tenant_id, r->pathvars[0],
	    actor, &w, &rc)) != WEBHOOKS_OK) {
		hook_failed(r, oc, rc);
		return;
	}
	webhooks_free(w);
	reply_channel(r, db, 200);
}

/* POST /api/v1/channels/{id}/test: a webhook.test event for this
 * channel alone (data.webhook_id names it); 202 with the event id. */
static void
channels_test_post(struct request *r, struct db *db)
{
	enum webhooks_outcome oc;
	json_object *root;
	char actor[128], evid[VIGIL_ID_LEN];
	int rc;

	auth_actor(r, actor, sizeof(actor));
	if ((oc = webhooks_test(db, r->auth.tenant_id, r->pathvars[0], actor,
	    time(NULL), evid, &rc)) != WEBHOOKS_OK) {
		hook_failed(r, oc, rc);
		return;
	}
	root = json_object_new_object();
	json_object_object_add(root, "event_id", json_object_new_string(evid));
	response_json(r, 202, root);
}

/* GET /api/v1/channels/{id}/deliveries: what was sent and how it went. */
static void
channels_deliveries(struct request *r, struct db *db)
{
	struct channel *c = NULL;
	int rc;

	if ((rc = channels_get(db, r->auth.tenant_id, r->pathvars[0],
	    &c)) <= 0) {
		if (rc == 0)
			not_found(r);
		else
			api_db_error(r, rc);
		return;
	}
	channels_free(c);
	webhooks_deliveries_reply(r, db);
}

const struct route channels_routes[] = {
	{ "GET", "/api/v1/channels", SCOPE_ADMIN, 0, channels_index },
	{ "POST", "/api/v1/channels", SCOPE_ADMIN, ROUTE_JSON_BODY |
	    ROUTE_SECRET_REPLY, channels_post },
	{ "GET", "/api/v1/channels/{id}", SCOPE_ADMIN, 0, channels_show },
	{ "PATCH", "/api/v1/channels/{id}", SCOPE_ADMIN, ROUTE_JSON_BODY,
	    channels_patch },
	{ "DELETE", "/api/v1/channels/{id}", SCOPE_ADMIN, 0,
	    channels_remove },
	{ "POST", "/api/v1/channels/{id}/enable", SCOPE_ADMIN, 0,
	    channels_enable_post },
	{ "POST", "/api/v1/channels/{id}/test", SCOPE_ADMIN, 0,
	    channels_test_post },
	{ "GET", "/api/v1/channels/{id}/deliveries", SCOPE_ADMIN, 0,
	    channels_deliveries },
};
const size_t channels_nroutes = NELEM(channels_routes);
