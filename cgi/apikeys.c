/* apikeys.c: GET/POST /api/v1/api-keys and DELETE /api/v1/api-keys/{id}.
 * A key is shown once, at creation; afterwards only its prefix. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "id.h"
#include "vjson.h"
#include "vtime.h"

#define APIKEYS_MAX_ACTIVE 10
#define APIKEYS_PREFIX_LEN 12   /* "vgl_" + 8 */

/* RFC 3339 from a database DATETIME cell, or JSON null. */
static json_object *
ts_or_null(const char *sql)
{
	char out[VTIME_RFC3339_LEN];

	if (sql == NULL || vtime_sql_to_rfc3339(sql, out, sizeof(out)) != 0)
		return NULL;
	return json_object_new_string(out);
}

static json_object *
scopes_array(const char *set)
{
	json_object *a = json_object_new_array();
	static const char *const names[] = { "read", "write", "admin" };
	size_t i;

	for (i = 0; i < NELEM(names); i++)
		if (set != NULL && strstr(set, names[i]) != NULL)
			json_object_array_add(a,
			    json_object_new_string(names[i]));
	return a;
}

/* Row i of SQL_KEY_LIST as the API shows a key (never its secret). */
static json_object *
apikey_json(const struct db_res *res, size_t i)
{
	json_object *k = json_object_new_object();

	json_object_object_add(k, "id",
	    json_object_new_string(db_cell(res, i, 0)));
	json_object_object_add(k, "name",
	    json_object_new_string(db_cell(res, i, 1)));
	json_object_object_add(k, "prefix",
	    json_object_new_string(db_cell(res, i, 2)));
	json_object_object_add(k, "scopes", scopes_array(db_cell(res, i, 3)));
	json_object_object_add(k, "created_at", ts_or_null(db_cell(res, i, 4)));
	json_object_object_add(k, "last_used_at",
	    ts_or_null(db_cell(res, i, 5)));
	json_object_object_add(k, "expires_at", ts_or_null(db_cell(res, i, 6)));
	return k;
}

/* total counts the active keys (what the limit of 10 is about). */
static void
apikeys_list(struct request *r, struct db *db)
{
	long limit;

	if (params_limit(r, &limit) != 0)
		return;
	params_id_page(r, db, limit, &(struct params_id_list){
	    "api_keys", "key", "", SQL_KEY_LIST, SQL_KEY_COUNT_ACTIVE,
	    (struct db_val[]){ DB_STR(r->auth.tenant_id) }, 1, apikey_json,
	    0 });
}

/* Code points in a string already checked to be valid UTF-8. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Validate the POST body into name, scope set text (and its SCOPE_* bits
 * in *bits) and expiry. 0, or -1 after a 400. */
static int
create_args(struct request *r, const char **name, char *scopes,
    size_t scopessz, unsigned *bits, const char **expires, time_t *exp_t)
{
	static const char *const allowed[] = { "name", "scopes",
	    "expires_at", NULL };
	struct vjson_err e;
	json_object *arr;
	unsigned seen = 0;
	size_t i, n;

	*name = NULL;
	*expires = NULL;
	/* 100 characters of UTF-8 are at most 400 bytes; counted below. */
	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_string(r->json, "name", 1, 1, 400, name, &e) < 0 ||
	    vjson_get_string_array(r->json, "scopes", 1, 3, 16, &arr, &e) < 0 ||
	    vjson_get_string(r->json, "expires_at", 0, 1, 64, expires, &e) < 0)
		goto bad;
	if (utf8_chars(*name) > 100) {
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
	scopes[0] = '\0';
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
	snprintf(scopes, scopessz, "%s%s%s%s%s",
	    (seen & SCOPE_READ) ? "read" : "",
	    (seen & SCOPE_READ) && (seen & (SCOPE_WRITE | SCOPE_ADMIN)) ? "," : "",
	    (seen & SCOPE_WRITE) ? "write" : "",
	    (seen & SCOPE_WRITE) && (seen & SCOPE_ADMIN) ? "," : "",
	    (seen & SCOPE_ADMIN) ? "admin" : "");
	*bits = seen;
	*exp_t = 0;
	if (*expires != NULL) {
		if (vtime_parse_rfc3339(*expires, exp_t) != 0) {
			snprintf(e.field, sizeof(e.field), "expires_at");
			snprintf(e.message, sizeof(e.message),
			    "expires_at must be an RFC 3339 timestamp.");
			goto bad;
		}
		if (*exp_t <= time(NULL)) {
			snprintf(e.field, sizeof(e.field), "expires_at");
			snprintf(e.message, sizeof(e.message),
			    "expires_at must be in the future.");
			goto bad;
		}
	}
	return 0;
bad:
	response_error(r, 400, "invalid_request", e.message, e.field);
	return -1;
}

static void
apikeys_create(struct request *r, struct db *db)
{
	struct db_res *res = NULL;
	json_object *root, *detail;
	const char *name = NULL, *expires = NULL;
	char scopes[32], key[64], hash[CRYPTO_SHA256_HEX], prefix[16];
	char id[VIGIL_ID_LEN], expsql[VTIME_SQL_LEN], actor[128];
	char created[VTIME_RFC3339_LEN], exprfc[VTIME_RFC3339_LEN];
	char nowsql[VTIME_SQL_LEN];
	time_t exp_t, now = time(NULL);
	unsigned bits;
	int rc;

	if (create_args(r, &name, scopes, sizeof(scopes), &bits, &expires,
	    &exp_t) != 0)
		return;
	/* No key may mint a key that can do more than itself: admin lets a
	 * key manage keys, not grant read or write it lacks. */
	if ((bits & ~r->auth.scopes) != 0) {
		response_error(r, 403, "insufficient_scope",
		    "A key can only create keys with scopes it holds itself.",
		    "scopes");
		return;
	}
	memcpy(key, "vgl_", 4);
	if (crypto_random_base62(key + 4, 40) != 0 ||
	    id_new("key", id, sizeof(id)) != 0) {
		api_db_error(r, DB_ERR);
		return;
	}
	crypto_sha256_hex(key, strlen(key), hash);
	snprintf(prefix, sizeof(prefix), "%.*s", APIKEYS_PREFIX_LEN, key);
	if (exp_t)
		vtime_sql(exp_t, expsql, sizeof(expsql));
	/* created_at is stored as reported, not as the server's clock. */
	vtime_sql(now, nowsql, sizeof(nowsql));
	auth_actor(r, actor, sizeof(actor));

	if ((rc = db_begin(db)) != 0)
		goto dberr;
	/* The tenant row lock makes count-then-insert atomic. */
	if ((rc = db_exec(db, SQL_KEY_LOCK_TENANT,
	    (struct db_val[]){ DB_STR(r->auth.tenant_id) }, 1, NULL)) != 0 ||
	    (rc = db_exec(db, SQL_KEY_COUNT_ACTIVE,
	    (struct db_val[]){ DB_STR(r->auth.tenant_id) }, 1, &res)) != 0)
		goto dberr;
	if (db_cell_int(res, 0, 0) >= APIKEYS_MAX_ACTIVE) {
		db_rollback(db);
		db_res_free(res);
		response_error(r, 409, "conflict", "A tenant may have at most "
		    "10 active API keys; revoke one first.", NULL);
		return;
	}
	db_res_free(res);
	res = NULL;
	if ((rc = db_exec(db, SQL_KEY_INSERT, (struct db_val[]){
	    DB_STR(id), DB_STR(r->auth.tenant_id), DB_STR(name),
	    DB_STR(prefix), DB_STR(hash), DB_STR(scopes), DB_STR(nowsql),
	    exp_t ? DB_STR(expsql) : DB_NUL }, 8, NULL)) != 0)
		goto dberr;
	detail = json_object_new_object();
	json_object_object_add(detail, "name", json_object_new_string(name));
	json_object_object_add(detail, "scopes", scopes_array(scopes));
	json_object_object_add(detail, "prefix", json_object_new_string(prefix));
	rc = audit_append(db, r->auth.tenant_id, actor, "api_key.create", id,
	    detail);
	json_object_put(detail);
	if (rc != 0 || (rc = db_commit(db)) != 0)
		goto dberr;

	vtime_rfc3339(now, created, sizeof(created));
	root = json_object_new_object();
	json_object_object_add(root, "id", json_object_new_string(id));
	json_object_object_add(root, "key", json_object_new_string(key));
	json_object_object_add(root, "prefix", json_object_new_string(prefix));
	json_object_object_add(root, "name", json_object_new_string(name));
	json_object_object_add(root, "scopes", scopes_array(scopes));
	json_object_object_add(root, "created_at",
	    json_object_new_string(created));
	if (exp_t)
		vtime_rfc3339(exp_t, exprfc, sizeof(exprfc));
	json_object_object_add(root, "expires_at",
	    exp_t ? json_object_new_string(exprfc) : NULL);
	crypto_wipe(key, sizeof(key));
	response_json(r, 201, root);
	return;
dberr:
	db_res_free(res);
	db_rollback(db);
	crypto_wipe(key, sizeof(key));
	api_db_error(r, rc);
}

static void
apikeys_delete(struct request *r, struct db *db)
{
	struct db_res *res = NULL;
	json_object *root;
	const char *id = r->pathvars[0];
	char actor[128];
	int rc;

	if (!id_valid("key", id)) {
		response_error(r, 404, "not_found", "No such API key.", "id");
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	if ((rc = db_begin(db)) != 0)
		goto dberr;
	if ((rc = db_exec(db, SQL_KEY_REVOKE, (struct db_val[]){ DB_STR(id),
	    DB_STR(r->auth.tenant_id) }, 2, &res)) != 0)
		goto dberr;
	if (res->affected == 0) {
		db_rollback(db);
		db_res_free(res);
		response_error(r, 404, "not_found",
		    "No such active API key.", "id");
		return;
	}
	db_res_free(res);
	res = NULL;
	if ((rc = audit_append(db, r->auth.tenant_id, actor, "api_key.revoke",
	    id, NULL)) != 0)
		goto dberr;
	if ((rc = db_exec(db, SQL_KEY_GET, (struct db_val[]){ DB_STR(id),
	    DB_STR(r->auth.tenant_id) }, 2, &res)) != 0 || res->nrows != 1)
		goto dberr;
	if ((rc = db_commit(db)) != 0)
		goto dberr;
	/* This pool refuses the key from its next request on. */
	auth_forget_key(id);
	root = json_object_new_object();
	json_object_object_add(root, "id", json_object_new_string(id));
	json_object_object_add(root, "revoked", json_object_new_boolean(1));
	json_object_object_add(root, "revoked_at",
	    ts_or_null(db_cell(res, 0, 6)));
	db_res_free(res);
	response_json(r, 200, root);
	return;
dberr:
	db_res_free(res);
	db_rollback(db);
	api_db_error(r, rc ? rc : DB_ERR);
}

const struct route apikeys_routes[] = {
	{ "GET", "/api/v1/api-keys", SCOPE_ADMIN, 0, apikeys_list },
	{ "POST", "/api/v1/api-keys", SCOPE_ADMIN, ROUTE_JSON_BODY,
	    apikeys_create },
	{ "DELETE", "/api/v1/api-keys/{id}", SCOPE_ADMIN, 0, apikeys_delete },
};
const size_t apikeys_nroutes = NELEM(apikeys_routes);
