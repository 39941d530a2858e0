/* auth.c: API keys in, tenant and scopes out, with the request counted
 * against the key's rate limit in the same statement that checks the key
 * may still be used. */
#include "vigil.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "ratelimit.h"

#define KEY_PREFIX "vgl_"
#define KEY_LEN    44      /* "vgl_" + 40 base62 */

const char *
auth_key_from(const struct request *r)
{
	const char *a = r->authorization;

	if (r->x_license_key != NULL && *r->x_license_key != '\0')
		return r->x_license_key;
	if (r->x_api_key != NULL && *r->x_api_key != '\0')
		return r->x_api_key;
	if (a != NULL && strncasecmp(a, "Bearer ", 7) == 0) {
		a += 7;
		while (*a == ' ')
			a++;
		return *a ? a : NULL;
	}
	return NULL;
}

/* 1 if k looks like a Vigil key; checked before any hashing or query. */
static int
key_wellformed(const char *k)
{
	size_t i;

	if (strlen(k) != KEY_LEN || strncmp(k, KEY_PREFIX, 4) != 0)
		return 0;
	for (i = 4; i < KEY_LEN; i++) {
		char c = k[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z')))
			return 0;
	}
	return 1;
}

static unsigned
parse_scopes(const char *s)
{
	unsigned sc = 0;

	if (s == NULL)
		return 0;
	if (strstr(s, "read"))
		sc |= SCOPE_READ;
	if (strstr(s, "write"))
		sc |= SCOPE_WRITE;
	if (strstr(s, "admin"))
		sc |= SCOPE_ADMIN;
	return sc;
}

void
auth_actor(const struct request *r, char *out, size_t outsz)
{
	snprintf(out, outsz, "key:%s", r->auth.key_id);
}

static void
unauthorized(struct request *r)
{
	response_error(r, 401, "invalid_license_key",
	    "The provided license key is invalid or has been revoked.", NULL);
}

/*
 * What a key is (its id, tenant and scopes) never changes once created, so
 * each worker keeps what it has looked up. Whether the key may still be
 * used (revoked, expired) is decided by the database on every request, in
 * the same statement that counts it: revocation takes effect at once.
 */
#define AUTH_CACHE 64

struct auth_entry {
	char		hash[CRYPTO_SHA256_HEX];
	struct auth	auth;
};

static struct auth_entry cache[AUTH_CACHE];
static unsigned cache_next;

/* The cached identity of a key hash, or NULL. */
static const struct auth *
cache_find(const char *hash)
{
	size_t i;

	for (i = 0; i < AUTH_CACHE; i++)
		if (cache[i].hash[0] != '\0' &&
		    strcmp(cache[i].hash, hash) == 0)
			return &cache[i].auth;
	return NULL;
}

static void
cache_put(const char *hash, const struct auth *a)
{
	struct auth_entry *e = &cache[cache_next++ % AUTH_CACHE];

	snprintf(e->hash, sizeof(e->hash), "%s", hash);
	e->auth = *a;
}

/* Look up what key hash is into a; 1 found, 0 unknown, or a DB_* code. */
static int
identify(struct db *db, const char *hash, struct auth *a)
{
	const struct auth *c;
	struct db_res *res = NULL;
	int rc;

	if ((c = cache_find(hash)) != NULL) {
		*a = *c;
		return 1;
	}
	rc = db_exec(db, SQL_AUTH_INFO, (struct db_val[]){ DB_STR(hash) }, 1,
	    &res);
	if (rc != 0)
		return rc;
	if (res->nrows != 1) {
		db_res_free(res);
		return 0;
	}
	memset(a, 0, sizeof(*a));
	snprintf(a->key_id, sizeof(a->key_id), "%s", db_cell(res, 0, 0));
	snprintf(a->tenant_id, sizeof(a->tenant_id), "%s", db_cell(res, 0, 1));
	snprintf(a->tenant_name, sizeof(a->tenant_name), "%s",
	    db_cell(res, 0, 2) ? db_cell(res, 0, 2) : "");
	a->scopes = parse_scopes(db_cell(res, 0, 3));
	db_res_free(res);
	cache_put(hash, a);
	return 1;
}

int
auth_check(struct request *r, struct db *db, unsigned scope)
{
	const char *key = auth_key_from(r);
	struct db_res *res = NULL;
	struct ratelimit rl;
	char hash[CRYPTO_SHA256_HEX];
	const char *class;
	time_t now = time(NULL);
	unsigned long long v;
	long deflimit, limit, count;
	int rc, ret = -1;

	if (key == NULL || !key_wellformed(key)) {
		unauthorized(r);
		return -1;
	}
	/* Keys are looked up by their SHA-256 through an index: nothing is
	 * compared byte by byte against the key itself, so timing reveals
	 * nothing about it. */
	crypto_sha256_hex(key, strlen(key), hash);
	if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) {
		class = "read";
		deflimit = g_conf.rate_read_per_min;
	} else {
		class = "write";
		deflimit = g_conf.rate_write_per_min;
	}
	rc = db_exec(db, SQL_AUTH_COUNT, (struct db_val[]){ DB_STR(class),
	    DB_STR(class), DB_INT(deflimit), DB_STR(hash) }, 4, &res);
	if (rc == DB_RETRY)	/* a deadlock victim: it ran not at all */
		rc = db_exec(db, SQL_AUTH_COUNT, (struct db_val[]){
		    DB_STR(class), DB_STR(class), DB_INT(deflimit),
		    DB_STR(hash) }, 4, &res);
	if (rc != 0) {
		api_db_error(r, rc);
		goto out;
	}
	/* 0 rows: no usable key by that hash. 1: the window's first
	 * request. 2: counted in an existing window. */
	v = res->insert_id;
	if (res->affected == 1) {
		count = 1;
		limit = (long)v;
	} else if (res->affected == 2) {
		count = (long)(v >> 32);
		limit = (long)(v & 0xffffffffULL);
	} else {
		unauthorized(r);
		goto out;
	}
	if ((rc = identify(db, hash, &r->auth)) <= 0) {
		if (rc == 0)
			unauthorized(r);
		else
			api_db_error(r, rc);
		goto out;
	}
	/* The first request of a window records the key's use: at most one
	 * durable write per key and minute. A failure here loses nothing
	 * that matters. */
	if (count == 1)
		db_exec(db, SQL_KEY_TOUCH, (struct db_val[]){
		    DB_STR(r->auth.key_id) }, 1, NULL);
	ratelimit_decide(limit, count, ratelimit_window(now), now, &rl);
	r->rl_set = 1;
	r->rl_limit = rl.limit;
	r->rl_remaining = rl.remaining;
	r->rl_reset = rl.reset;
	if ((r->auth.scopes & scope) != scope) {
		response_error(r, 403, "insufficient_scope",
		    "This key lacks the scope this operation needs.", NULL);
	} else if (!rl.allowed) {
		response_error(r, 429, "rate_limited",
		    "Too many requests. Back off and retry after the time "
		    "given in the Retry-After header.", NULL);
		response_header(r, "Retry-After", "%ld", rl.retry_after);
	} else
		ret = 0;
out:
	db_res_free(res);
	return ret;
}
