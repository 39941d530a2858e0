/* apikeys.c: GET/POST /api/v1/api-keys and DELETE /api/v1/api-keys/{id}.
 * A key is shown once, at creation; afterwards only its prefix. The rules
 * and the writes are src/keys.c's (vigilctl uses the same); this file
 * reads the request and maps the outcome to the reply. */
#include "vigil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "id.h"
#include "keys.h"
#include "vjson.h"
#include "vtime.h"

/* total counts the active keys (what the limit of 10 is about). */
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
		response_error(r, 400, "invalid_request", "cursor is not valid.",
		    "cursor");
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
	json_object_object_add(root, "api_keys", items);
	json_object_object_add(root, "total",
	    json_object_new_int64(page->total));
	json_object_object_add(root, "has_more",
	    json_object_new_boolean(page->has_more));
	json_object_object_add(root, "next_cursor", page->has_more &&
	    page->n > 0 ? json_object_new_string(page->items[page->n - 1]->id) :
	    NULL);
	keys_page_free(page);
	response_json(r, 200, root);
}

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
	    vjson_get_string_array(r->json, "scopes", 1, 3, 16, &arr, &e) < 0 ||
	    vjson_get_string(r->json, "expires_at", 0, 1, 64, &expires, &e) < 0)
		goto bad;
	if (!keys_name_ok(nk->name)) {
		snprintf(e.field, sizeof(e.field), "name");
		snprintf(e.message, sizeof(e.message),
		    "name must be 1 to 100 characters long.");
		goto bad;
	}
	n = json_object_array_length(arr);
	if (n == 0) {
		snprintf(e.field, sizeof(e.field), "scopes");
		snprintf(e.message, sizeof(e.message),
		    "scopes must name at least one of read, write, admin.");
		goto bad;
	}
	for (i = 0; i < n; i++) {
		const char *s = json_object_get_string(
		    json_object_array_get_idx(arr, i));
		unsigned bit = strcmp(s, "read") == 0 ? SCOPE_READ :
		    strcmp(s, "write") == 0 ? SCOPE_WRITE :
		    strcmp(s, "admin") == 0 ? SCOPE_ADMIN : 0;

		if (bit == 0 || (seen & bit)) {
			snprintf(e.field, sizeof(e.field), "scopes");
			snprintf(e.message, sizeof(e.message), bit ?
			    "scopes must not repeat a scope." :
			    "scopes may only contain read, write and admin.");
			goto bad;
		}
		seen |= bit;
	}
	nk->scopes = seen;
	if (expires != NULL &&
	    vtime_parse_rfc3339(expires, &nk->expires_at) != 0) {
		snprintf(e.field, sizeof(e.field), "expires_at");
		snprintf(e.message, sizeof(e.message),
		    "expires_at must be an RFC 3339 timestamp.");
		goto bad;
	}
	/* A key grants only what it holds (keys_create checks). */
	nk->may_grant = r->auth.scopes;
	return 0;
bad:
	response_error(r, 400, "invalid_request", e.message, e.field);
	return -1;
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
		response_error(r, 400, "invalid_request",
		    "name must be 1 to 100 characters long.", "name");
		return;
	case KEYS_BAD_SCOPES:
		response_error(r, 400, "invalid_request",
		    "scopes must name at least one of read, write, admin.",
		    "scopes");
		return;
	case KEYS_BAD_EXPIRY:
		response_error(r, 400, "invalid_request",
		    "expires_at must be in the future.", "expires_at");
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
	char actor[128], at[VTIME_RFC3339_LEN];
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
	json_object_object_add(root, "revoked_at", k->revoked_at != NULL &&
	    vtime_sql_to_rfc3339(k->revoked_at, at, sizeof(at)) == 0 ?
	    json_object_new_string(at) : NULL);
	keys_free(k);
	response_json(r, 200, root);
}

const struct route apikeys_routes[] = {
	{ "GET", "/api/v1/api-keys", SCOPE_ADMIN, 0, apikeys_list },
	{ "POST", "/api/v1/api-keys", SCOPE_ADMIN, ROUTE_JSON_BODY,
	    apikeys_create },
	{ "DELETE", "/api/v1/api-keys/{id}", SCOPE_ADMIN, 0, apikeys_delete },
};
const size_t apikeys_nroutes = NELEM(apikeys_routes);
