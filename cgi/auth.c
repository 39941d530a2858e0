/* auth.c: API keys in, tenant and scopes out, with the rate limit counted
 * in the same database round trip (the vigil_auth procedure). */
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

int
auth_check(struct request *r, struct db *db, unsigned scope)
{
	const char *key = auth_key_from(r);
	struct db_res *res = NULL;
	struct ratelimit rl;
	char hash[CRYPTO_SHA256_HEX];
	const char *class;
	time_t now = time(NULL);
	long deflimit;
	int rc, ret = -1;

	if (key == NULL || !key_wellformed(key)) {
		unauthorized(r);
		return -1;
	}
	crypto_sha256_hex(key, strlen(key), hash);
	if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) {
		class = "read";
		deflimit = g_conf.rate_read_per_min;
	} else {
		class = "write";
		deflimit = g_conf.rate_write_per_min;
	}
	/* The procedure looks the hash up by an index, so the comparison
	 * that matters happened in the database on a SHA-256 of the key:
	 * timing reveals nothing about the key itself. */
	rc = db_exec(db, SQL_AUTH, (struct db_val[]){ DB_STR(hash),
	    DB_STR(class), DB_INT(deflimit) }, 3, &res);
	if (rc != 0) {
		api_db_error(r, rc);
		goto out;
	}
	if (res->nrows != 1 || res->ncols < 9 || db_cell(res, 0, 0) == NULL ||
	    db_cell_int(res, 0, 4) != 0 || db_cell_int(res, 0, 5) != 0) {
		unauthorized(r);
		goto out;
	}
	snprintf(r->auth.key_id, sizeof(r->auth.key_id), "%s",
	    db_cell(res, 0, 0));
	snprintf(r->auth.tenant_id, sizeof(r->auth.tenant_id), "%s",
	    db_cell(res, 0, 1));
	snprintf(r->auth.tenant_name, sizeof(r->auth.tenant_name), "%s",
	    db_cell(res, 0, 2) ? db_cell(res, 0, 2) : "");
	r->auth.scopes = parse_scopes(db_cell(res, 0, 3));
	/* The window comes from the database clock (shared by all hosts). */
	ratelimit_decide(db_cell_int(res, 0, 6), db_cell_int(res, 0, 7),
	    (long)db_cell_int(res, 0, 8), now, &rl);
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
