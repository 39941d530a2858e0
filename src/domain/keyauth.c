/* keyauth.c: an API key at request time (see keyauth.h). This is the
 * path every authenticated request takes, so each function is one round
 * trip and fills the caller's fixed-size structs: no copies on the heap. */
#include "vigil.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "keyauth.h"
#include "keys.h"

/* Column order of SQL_AUTH_INFO in db.c. */
enum {
	AUTH_C_KEY_ID, AUTH_C_TENANT_ID, AUTH_C_TENANT_NAME, AUTH_C_SCOPES,
	AUTH_C_EXPIRES
};

int
keyauth_lookup(struct db *db, const char *hash, struct keyauth *out)
{
	struct db_res *res = NULL;
	const char *exp;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = db_exec(db, SQL_AUTH_INFO, (struct db_val[]){
	    DB_STR(hash) }, 1, &res)) != 0)
		return rc;
	if (res->nrows != 1) {
		rc = 0;
		goto out;
	}
	snprintf(out->auth.key_id, sizeof(out->auth.key_id), "%s",
	    db_cell(res, 0, AUTH_C_KEY_ID));
	snprintf(out->auth.tenant_id, sizeof(out->auth.tenant_id), "%s",
	    db_cell(res, 0, AUTH_C_TENANT_ID));
	snprintf(out->auth.tenant_name, sizeof(out->auth.tenant_name), "%s",
	    db_cell(res, 0, AUTH_C_TENANT_NAME) ?
	    db_cell(res, 0, AUTH_C_TENANT_NAME) : "");
	out->auth.scopes = keys_scopes_parse(db_cell(res, 0, AUTH_C_SCOPES));
	if ((exp = db_cell(res, 0, AUTH_C_EXPIRES)) != NULL) {
		out->expires = db_cell_int(res, 0, AUTH_C_EXPIRES);
		if (out->expires == 0)
			out->expires = -1;	/* the epoch: not "never" */
	}
	rc = 1;
out:
	db_res_free(res);
	return rc;
}

/*
 * SQL_AUTH_COUNT and SQL_AUTH_SYNC say what they did in the affected rows
 * and hand back two numbers in LAST_INSERT_ID(): 0 rows, the key is not
 * usable; 1, the row was inserted and the id is the limit alone; 2, it
 * was updated and the id is count << 32 | limit. 1 with *count and *limit
 * set (*count = first for an insert), 0 when not usable.
 */
static int
unpack(const struct db_res *res, long first, long *count, long *limit)
{
	unsigned long long v = res->insert_id;

	if (res->affected == 1) {
		*count = first;
		*limit = (long)v;
		return 1;
	}
	if (res->affected == 2) {
		*count = (long)(v >> 32);
		*limit = (long)(v & 0xffffffffULL);
		return 1;
	}
	return 0;
}

int
keyauth_count(struct db *db, const char *hash, const char *class,
    long deflimit, long *count, long *limit)
{
	struct db_res *res = NULL;
	const struct db_val p[] = { DB_STR(class), DB_STR(class),
	    DB_INT(deflimit), DB_STR(hash) };
	int rc;

	*count = *limit = 0;
	rc = db_exec(db, SQL_AUTH_COUNT, p, NELEM(p), &res);
	if (rc == DB_RETRY)	/* a deadlock victim: it ran not at all */
		rc = db_exec(db, SQL_AUTH_COUNT, p, NELEM(p), &res);
	if (rc != 0)
		return rc;
	rc = unpack(res, 1, count, limit);
	db_res_free(res);
	return rc;
}

int
keyauth_sync(struct db *db, const char *hash, const char *class,
    long window, long delta, long *total, long *override)
{
	struct db_res *res = NULL;
	const struct db_val p[] = { DB_STR(class), DB_INT(window),
	    DB_INT(delta), DB_STR(class), DB_STR(hash) };
	int rc;

	*total = *override = 0;
	rc = db_exec(db, SQL_AUTH_SYNC, p, NELEM(p), &res);
	if (rc == DB_RETRY)	/* a deadlock victim: it ran not at all */
		rc = db_exec(db, SQL_AUTH_SYNC, p, NELEM(p), &res);
	if (rc != 0)
		return rc;
	/* An insert made the row from this delta alone. */
	rc = unpack(res, delta, total, override);
	db_res_free(res);
	return rc;
}

int
keyauth_touch(struct db *db, const char *key_id)
{
	return db_exec(db, SQL_KEY_TOUCH, (struct db_val[]){ DB_STR(key_id) },
	    1, NULL);
}

int
keyauth_usable(struct db *db, const char *hash)
{
	struct db_res *res = NULL;
	int rc;

	if ((rc = db_exec(db, SQL_AUTH_USABLE, (struct db_val[]){
	    DB_STR(hash) }, 1, &res)) != 0)
		return rc;
	rc = res->nrows > 0;
	db_res_free(res);
	return rc;
}
