/* apikeys.c: GET/POST /api/v1/api-keys and DELETE /api/v1/api-keys/{id}.
 * A key is shown once, at creation; afterwards only its prefix. The rules
 * and the writes are src/domain/keys.c's (vigilctl uses the same); this file
 * reads the request and maps the outcome to the reply. */
#include "vigil.h"

#include <string.h>
#include <time.h>

#include "api.h"
#include "id.h"
#include "keys.h"
#include "page.h"
#include "reply.h"
#include "vjson.h"
#include "vtime.h"

/* total counts the active keys (what the limit of 10 is about). Unlike
 * the other lists it has always let unknown query parameters be, hence
 * params_limit and the cursor rather than params_list_cursor. */
static void
apikeys_list(struct request *r, struct db *db)
{
	struct keys_page *page = NULL;
	const char *cursor = request_param(r, "cursor");
	json_object *root, *items;
	long limit;
	size_t i;
	int rc;

	if (params_limit(r, &limit) != 0)
		return;
	if (cursor != NULL && !id_valid("key", cursor)) {
		reply_bad(r, "cursor", "cursor is not valid.");
		return;
	}
	if ((rc = keys_page_active(db, r->auth.tenant_id, cursor, limit,
	    &page)) != 0) {
		api_db_error(r, rc);
		return;
	}
	root = json_object_new_object();
	items = json_object_new_array();
	for (i = 0; i < page->n; i++)
		json_object_array_add(items, keys_to_json(page->items[i]));
	page_end(root, "api_keys", items, page->total, page->has_more,
	    page->n > 0 ? page->items[page->n - 1]->id : NULL);
	keys_page_free(page);
	response_json(r, 200, root);
}

/* The 400s that both the request's shape and keys_create can answer. */
static const char bad_name[] = "name must be 1 to 100 characters long.";
static const char bad_scopes[] =
    "scopes must name at least one of read, write, admin, ingest.";

/* Read the POST body into *nk (name, scope bits, parsed expiry): the
 * shape of the request (types, unknown fields, scope names, RFC 3339),
 * and the name's length by keys_name_ok here too, so that the first
 * problem reported stays the first in the body. 0, or -1 after a 400. */
static int
create_args(struct request *r, struct keys_new *nk)
{
	static const char *const allowed[] = { "name", "scopes",
	    "expires_at", NULL };
	struct vjson_err e;
	json_object *arr;
	const char *expires = NULL;
	unsigned seen = 0;
	size_t i, n;

	memset(nk, 0, sizeof(*nk));
	/* 100 characters of UTF-8 are at most 400 bytes; counted below. */
	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_string(r->json, "name", 1, 1, 400, &nk->name, &e) < 0 ||
	    vjson_get_string_array(r->json, "scopes", 1, 4, 16, &arr, &e) < 0 ||
	    vjson_get_string(r->json, "expires_at", 0, 1, 64, &expires,
	    &e) < 0) {
		reply_bad(r, e.field, e.message);
		return -1;
	}
	if (!keys_name_ok(nk->name)) {
		reply_bad(r, "name", bad_name);
		return -1;
	}
	n = json_object_array_length(arr);
	if (n == 0) {
		reply_bad(r, "scopes", bad_scopes);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *s = json_object_get_string(
		    json_object_array_get_idx(arr, i));
		unsigned bit = strcmp(s, "read") == 0 ? SCOPE_READ :
		    strcmp(s, "write") == 0 ? SCOPE_WRITE :
		    strcmp(s, "admin") == 0 ? SCOPE_ADMIN :
		    strcmp(s, "ingest") == 0 ? SCOPE_INGEST : 0;

		if (bit == 0 || (seen & bit)) {
			reply_bad(r, "scopes", bit ?
			    "scopes must not repeat a scope." :
			    "scopes may only contain read, write, admin and "
			    "ingest.");
			return -1;
		}
		seen |= bit;
	}
	nk->scopes = seen;
	/* 1 when given (the epoch is a time too, long past), 0 when not. */
	if ((nk->expires = reply_time(r, "expires_at", expires,
	    &nk->expires_at)) < 0)
		return -1;
	/* A key grants only what it holds (keys_create checks). */
	nk->may_grant = r->auth.scopes;
	return 0;
}

static void
apikeys_create(struct request *r, struct db *db)
{
	struct key_row *k = NULL;
	struct keys_new nk;
	char actor[128];
	int rc;

	if (create_args(r, &nk) != 0)
		return;
	auth_actor(r, actor, sizeof(actor));
	switch (keys_create(db, r->auth.tenant_id, &nk, actor, time(NULL), &k,
	    &rc)) {
	case KEYS_OK:
		response_json(r, 201, keys_created_json(k));
		keys_free(k);
		return;
	case KEYS_BAD_NAME:
		reply_bad(r, "name", bad_name);
		return;
	case KEYS_BAD_SCOPES:
		reply_bad(r, "scopes", bad_scopes);
		return;
	case KEYS_BAD_EXPIRY:
		reply_bad(r, "expires_at", "expires_at must be in the future.");
		return;
	case KEYS_NOT_HELD:
		response_error(r, 403, "insufficient_scope",
		    "A key can only create keys with scopes it holds itself.",
		    "scopes");
		return;
	case KEYS_LIMIT:
		response_error(r, 409, "conflict", "A tenant may have at most "
		    "10 active API keys; revoke one first.", NULL);
		return;
	case KEYS_NOT_FOUND:
	case KEYS_DB_ERROR:
		break;
	}
	api_db_error(r, rc ? rc : DB_ERR);
}

static void
apikeys_delete(struct request *r, struct db *db)
{
	struct key_row *k = NULL;
	json_object *root;
	const char *id = r->pathvars[0];
	char actor[128];
	int rc;

	if (!id_valid("key", id)) {
		response_error(r, 404, "not_found", "No such API key.", "id");
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	switch (keys_revoke(db, r->auth.tenant_id, id, actor, &k, &rc)) {
	case KEYS_OK:
		break;
	case KEYS_NOT_FOUND:
		response_error(r, 404, "not_found",
		    "No such active API key.", "id");
		return;
	default:
		api_db_error(r, rc ? rc : DB_ERR);
		return;
	}
	/* This pool refuses the key from its next request on. */
	auth_forget_key(id);
	root = json_object_new_object();
	json_object_object_add(root, "id", json_object_new_string(id));
	json_object_object_add(root, "revoked", json_object_new_boolean(1));
	json_object_object_add(root, "revoked_at",
	    vtime_sql_json(k->revoked_at));
	keys_free(k);
	response_json(r, 200, root);
}

const struct route apikeys_routes[] = {
	{ "GET", "/api/v1/api-keys", SCOPE_ADMIN, 0, apikeys_list },
	{ "POST", "/api/v1/api-keys", SCOPE_ADMIN, ROUTE_JSON_BODY |
	    ROUTE_SECRET_REPLY, apikeys_create },
	{ "DELETE", "/api/v1/api-keys/{id}", SCOPE_ADMIN, 0, apikeys_delete },
};
const size_t apikeys_nroutes = NELEM(apikeys_routes);
