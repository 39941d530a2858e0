/* keys.c: a tenant's API keys (see keys.h). A key is "vgl_" and 40 base62
 * characters; only its SHA-256 and its first 12 characters are stored.
 * The rules a key follows (its name, its scopes, what a creator may
 * grant, the active-key limit) and the audit entries are decided here
 * once, for the API and vigilctl alike. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "id.h"
#include "keys.h"
#include "text.h"
#include "vjson.h"
#include "vtime.h"

/* Column order of KEY_COLS in db.c (SQL_KEY_GET, _LIST, _LIST_ALL). */
enum {
	KEY_C_ID, KEY_C_NAME, KEY_C_PREFIX, KEY_C_SCOPES, KEY_C_CREATED,
	KEY_C_LAST_USED, KEY_C_EXPIRES, KEY_C_REVOKED
};

/* In the order the SET column defines them, which is how it prints. */
static const struct {
	const char	*name;
	unsigned	 bit;
} scope_names[] = {
	{ "read", SCOPE_READ }, { "write", SCOPE_WRITE },
	{ "admin", SCOPE_ADMIN }, { "ingest", SCOPE_INGEST },
};

int
keys_name_ok(const char *name)
{
	size_t len = strlen(name), chars = 0, i;

	if (len == 0 || !vjson_utf8_valid(name, len) ||
	    text_control(name, len, 0) != len)
		return 0;
	/* Code points: every byte that does not continue a sequence. */
	for (i = 0; i < len; i++)
		if (((unsigned char)name[i] & 0xc0) != 0x80)
			chars++;
	return chars <= KEYS_NAME_MAX;
}

void
keys_scopes_text(unsigned bits, char *out, size_t outsz)
{
	size_t i, l = 0;

	if (outsz == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < NELEM(scope_names); i++)
		if (bits & scope_names[i].bit) {
			snprintf(out + l, outsz - l, "%s%s", l ? "," : "",
			    scope_names[i].name);
			l = strlen(out);
		}
}

json_object *
keys_scopes_json(unsigned bits)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < NELEM(scope_names); i++)
		if (bits & scope_names[i].bit)
			json_object_array_add(a,
			    json_object_new_string(scope_names[i].name));
	return a;
}

unsigned
keys_scopes_parse(const char *set)
{
	unsigned bits = 0;
	size_t i, len;

	while (set != NULL && *set != '\0') {
		len = strcspn(set, ",");
		for (i = 0; i < NELEM(scope_names); i++)
			if (strlen(scope_names[i].name) == len &&
			    strncmp(set, scope_names[i].name, len) == 0)
				bits |= scope_names[i].bit;
		set += len;
		if (*set == ',')
			set++;
	}
	return bits;
}

json_object *
keys_to_json(const struct key_row *k)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(k->id));
	json_object_object_add(o, "name", json_object_new_string(k->name));
	json_object_object_add(o, "prefix", json_object_new_string(k->prefix));
	json_object_object_add(o, "scopes", keys_scopes_json(k->scopes));
	json_object_object_add(o, "created_at", vtime_sql_json(k->created_at));
	json_object_object_add(o, "last_used_at",
	    vtime_sql_json(k->last_used_at));
	json_object_object_add(o, "expires_at", vtime_sql_json(k->expires_at));
	return o;
}

json_object *
keys_created_json(const struct key_row *k)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(k->id));
	json_object_object_add(o, "key",
	    json_object_new_string(k->secret != NULL ? k->secret : ""));
	json_object_object_add(o, "prefix", json_object_new_string(k->prefix));
	json_object_object_add(o, "name", json_object_new_string(k->name));
	json_object_object_add(o, "scopes", keys_scopes_json(k->scopes));
	json_object_object_add(o, "created_at", vtime_sql_json(k->created_at));
	json_object_object_add(o, "expires_at", vtime_sql_json(k->expires_at));
	return o;
}

/* strdup that keeps NULL (SQL NULL) as NULL; sets *oom on failure. */
static char *
dup0(const char *s, int *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*oom = 1;
	return d;
}

void
keys_free(struct key_row *k)
{
	if (k == NULL)
		return;
	if (k->secret != NULL) {
		crypto_wipe(k->secret, strlen(k->secret));
		free(k->secret);
	}
	free(k->id);
	free(k->name);
	free(k->prefix);
	free(k->created_at);
	free(k->last_used_at);
	free(k->expires_at);
	free(k->revoked_at);
	free(k);
}

/* Row i of a KEY_COLS result as a new key_row; NULL if out of memory. */
static struct key_row *
key_at(const struct db_res *res, size_t i)
{
	struct key_row *k;
	int oom = 0;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->id = dup0(db_cell(res, i, KEY_C_ID), &oom);
	k->name = dup0(db_cell(res, i, KEY_C_NAME), &oom);
	k->prefix = dup0(db_cell(res, i, KEY_C_PREFIX), &oom);
	k->scopes = keys_scopes_parse(db_cell(res, i, KEY_C_SCOPES));
	k->created_at = dup0(db_cell(res, i, KEY_C_CREATED), &oom);
	k->last_used_at = dup0(db_cell(res, i, KEY_C_LAST_USED), &oom);
	k->expires_at = dup0(db_cell(res, i, KEY_C_EXPIRES), &oom);
	k->revoked_at = dup0(db_cell(res, i, KEY_C_REVOKED), &oom);
	if (oom || k->id == NULL || k->name == NULL || k->prefix == NULL) {
		keys_free(k);
		return NULL;
	}
	return k;
}

int
keys_get(struct db *db, const char *tenant_id, const char *id,
    struct key_row **out)
{
	struct db_res *res = NULL;
	int rc;

	*out = NULL;
	if (!id_valid("key", id))
		return 0;
	if ((rc = db_exec(db, SQL_KEY_GET, (struct db_val[]){ DB_STR(id),
	    DB_STR(tenant_id) }, 2, &res)) != 0)
		return rc;
	if (res->nrows == 0)
		rc = 0;
	else if ((*out = key_at(res, 0)) == NULL)
		rc = DB_ERR;
	else
		rc = 1;
	db_res_free(res);
	return rc;
}

static enum keys_outcome
create_once(struct db *db, const char *tenant_id, const struct keys_new *nk,
    const char *actor, time_t now, struct key_row **out, int *rc)
{
	struct db_res *res = NULL;
	struct key_row *k = NULL;
	json_object *detail;
	char key[KEYS_SECRET_LEN], hash[CRYPTO_SHA256_HEX];
	char prefix[KEYS_PREFIX_LEN + 1], id[VIGIL_ID_LEN], scopes[32];
	char nowsql[VTIME_SQL_LEN], expsql[VTIME_SQL_LEN];
	enum keys_outcome o = KEYS_DB_ERROR;
	int oom = 0;

	*out = NULL;
	*rc = 0;
	if (!keys_name_ok(nk->name))
		return KEYS_BAD_NAME;
	if (nk->scopes == 0 || (nk->scopes & ~KEYS_SCOPES_ALL) != 0)
		return KEYS_BAD_SCOPES;
	if (nk->expires && nk->expires_at <= now)
		return KEYS_BAD_EXPIRY;
	/* No key may mint a key that can do more than itself: admin lets a
	 * key manage keys, not grant read or write it lacks. */
	if ((nk->scopes & ~nk->may_grant) != 0)
		return KEYS_NOT_HELD;

	memcpy(key, "vgl_", 4);
	if (crypto_random_base62(key + 4, KEYS_SECRET_LEN - 5) != 0 ||
	    id_new("key", id, sizeof(id)) != 0) {
		*rc = DB_ERR;
		goto out;
	}
	crypto_sha256_hex(key, strlen(key), hash);
	snprintf(prefix, sizeof(prefix), "%.*s", KEYS_PREFIX_LEN, key);
	keys_scopes_text(nk->scopes, scopes, sizeof(scopes));
	/* created_at is stored as reported, not as the server's clock. */
	vtime_sql(now, nowsql, sizeof(nowsql));
	if (nk->expires)
		vtime_sql(nk->expires_at, expsql, sizeof(expsql));

	/* The tenant row lock makes count-then-insert atomic. */
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT,
	    (struct db_val[]){ DB_STR(tenant_id) }, 1, NULL)) != 0 ||
	    (*rc = db_exec(db, SQL_KEY_COUNT_ACTIVE,
	    (struct db_val[]){ DB_STR(tenant_id) }, 1, &res)) != 0)
		goto out;
	if (db_cell_int(res, 0, 0) >= KEYS_MAX_ACTIVE) {
		o = KEYS_LIMIT;
		goto out;
	}
	if ((*rc = db_exec(db, SQL_KEY_INSERT, (struct db_val[]){
	    DB_STR(id), DB_STR(tenant_id), DB_STR(nk->name), DB_STR(prefix),
	    DB_STR(hash), DB_STR(scopes), DB_STR(nowsql),
	    nk->expires ? DB_STR(expsql) : DB_NUL }, 8, NULL)) != 0)
		goto out;
	detail = json_object_new_object();
	json_object_object_add(detail, "name",
	    json_object_new_string(nk->name));
	json_object_object_add(detail, "scopes", keys_scopes_json(nk->scopes));
	json_object_object_add(detail, "prefix",
	    json_object_new_string(prefix));
	*rc = audit_append(db, tenant_id, actor, "api_key.create", id, detail);
	json_object_put(detail);
	if (*rc != 0)
		goto out;
	/* Built before the commit, so that running out of memory leaves no
	 * key behind that nobody was shown. */
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		*rc = DB_ERR;
		goto out;
	}
	k->id = dup0(id, &oom);
	k->name = dup0(nk->name, &oom);
	k->prefix = dup0(prefix, &oom);
	k->scopes = nk->scopes;
	k->created_at = dup0(nowsql, &oom);
	k->expires_at = nk->expires ? dup0(expsql, &oom) : NULL;
	k->secret = dup0(key, &oom);
	if (oom) {
		*rc = DB_ERR;
		goto out;
	}
	*out = k;
	k = NULL;
	o = KEYS_OK;
out:
	db_res_free(res);
	keys_free(k);
	crypto_wipe(key, sizeof(key));
	return o;
}

static enum keys_outcome
revoke_once(struct db *db, const char *tenant_id, const char *id,
    const char *actor, struct key_row **out, int *rc)
{
	struct db_res *res = NULL;
	char tid[VIGIL_ID_LEN];
	enum keys_outcome o = KEYS_DB_ERROR;
	int found;

	*out = NULL;
	*rc = 0;
	if (!id_valid("key", id))
		return KEYS_NOT_FOUND;
	if (tenant_id == NULL) {
		/* Whichever tenant holds it; a key never changes tenant. */
		if ((*rc = db_exec(db, SQL_KEY_TENANT,
		    (struct db_val[]){ DB_STR(id) }, 1, &res)) != 0)
			return KEYS_DB_ERROR;
		if (res->nrows == 0 || db_cell(res, 0, 0) == NULL) {
			db_res_free(res);
			return KEYS_NOT_FOUND;
		}
		snprintf(tid, sizeof(tid), "%s", db_cell(res, 0, 0));
		db_res_free(res);
		res = NULL;
		tenant_id = tid;
	}
	/* The tenant row first, as every writer of a tenant does. */
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT,
	    (struct db_val[]){ DB_STR(tenant_id) }, 1, NULL)) != 0 ||
	    (*rc = db_exec(db, SQL_KEY_REVOKE, (struct db_val[]){ DB_STR(id),
	    DB_STR(tenant_id) }, 2, &res)) != 0)
		goto out;
	if (res->affected == 0) {
		o = KEYS_NOT_FOUND;
		goto out;
	}
	if ((*rc = audit_append(db, tenant_id, actor, "api_key.revoke", id,
	    NULL)) != 0)
		goto out;
	/* Read back for revoked_at, as the database set it. */
	if ((found = keys_get(db, tenant_id, id, out)) != 1) {
		*rc = found < 0 ? found : DB_ERR;
		goto out;
	}
	o = KEYS_OK;
out:
	db_res_free(res);
	return o;
}

/* keys_create and keys_revoke run create_once or revoke_once as the body
 * of db_tx_run, which commits when the outcome is KEYS_OK and rolls back
 * otherwise, and replays it whole after a deadlock or a certification
 * failure; each run starts from the inputs, with no result from the one
 * before. */
struct keys_tx {
	int	 revoke;		/* revoke_once, else create_once */
	const char *tenant_id;
	const struct keys_new *nk;	/* create_once */
	const char *id;			/* revoke_once */
	const char *actor;
	time_t	now;			/* create_once */
	struct key_row *	 v_out;
	enum keys_outcome	 o;
	int	 rc;
};

static int
keys_tx_body(struct db *db, void *arg)
{
	struct keys_tx *t = arg;

	keys_free(t->v_out);
	t->v_out = NULL;
	t->rc = 0;
	if (t->revoke)
		t->o = revoke_once(db, t->tenant_id, t->id, t->actor,
		    &t->v_out, &t->rc);
	else
		t->o = create_once(db, t->tenant_id, t->nk, t->actor, t->now,
		    &t->v_out, &t->rc);
	if (t->o == KEYS_OK)
		return 0;
	if (t->o == KEYS_DB_ERROR)
		return t->rc != 0 ? t->rc : DB_ERR;
	return 1;
}

/* Runs t (its inputs set, the rest zero) in db_tx_run: its outcome, the key in *out (the caller
 * frees it; NULL unless KEYS_OK) and a failure's DB_* code in *rc. */
static enum keys_outcome
keys_tx_run(struct db *db, struct keys_tx *t, struct key_row **out,
    int *rc)
{
	int r;

	t->o = KEYS_DB_ERROR;
	r = db_tx_run(db, keys_tx_body, t);
	*rc = r < 0 ? r : 0;
	if (r < 0) {
		keys_free(t->v_out);
		t->v_out = NULL;
		t->o = KEYS_DB_ERROR;
	}
	*out = t->v_out;
	return t->o;
}

enum keys_outcome
keys_create(struct db *db, const char *tenant_id, const struct keys_new *nk,
    const char *actor, time_t now, struct key_row **out, int *rc)
{
	struct keys_tx t = { .tenant_id = tenant_id, .nk = nk,
	    .actor = actor, .now = now };

	return keys_tx_run(db, &t, out, rc);
}

enum keys_outcome
keys_revoke(struct db *db, const char *tenant_id, const char *id,
    const char *actor, struct key_row **out, int *rc)
{
	struct keys_tx t = { .revoke = 1, .tenant_id = tenant_id, .id = id,
	    .actor = actor };

	return keys_tx_run(db, &t, out, rc);
}

/* A page of up to limit rows of res (limit < 0: all of them). */
static int
page_of(const struct db_res *res, long limit, long long total,
    struct keys_page **out)
{
	struct keys_page *p;
	size_t i, n = res->nrows;

	if (limit >= 0 && n > (size_t)limit)
		n = (size_t)limit;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->items = calloc(n ? n : 1, sizeof(*p->items))) == NULL) {
		free(p);
		return DB_ERR;
	}
	for (i = 0; i < n; i++) {
		if ((p->items[i] = key_at(res, i)) == NULL) {
			keys_page_free(p);
			return DB_ERR;
		}
		p->n++;
	}
	p->total = total;
	p->has_more = res->nrows > n;
	*out = p;
	return 0;
}

int
keys_page_active(struct db *db, const char *tenant_id, const char *after,
    long limit, struct keys_page **out)
{
	struct db_res *res = NULL, *cnt = NULL;
	int rc;

	*out = NULL;
	/* One row more than asked says whether there is a next page. */
	if ((rc = db_exec(db, SQL_KEY_LIST, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(after != NULL ? after : ""),
	    DB_INT(limit + 1) }, 3, &res)) == 0 &&
	    (rc = db_exec(db, SQL_KEY_COUNT_ACTIVE,
	    (struct db_val[]){ DB_STR(tenant_id) }, 1, &cnt)) == 0)
		rc = page_of(res, limit, db_cell_int(cnt, 0, 0), out);
	db_res_free(cnt);
	db_res_free(res);
	return rc;
}

int
keys_list_all(struct db *db, const char *tenant_id, struct keys_page **out)
{
	struct db_res *res = NULL;
	int rc;

	*out = NULL;
	if ((rc = db_exec(db, SQL_KEY_LIST_ALL,
	    (struct db_val[]){ DB_STR(tenant_id) }, 1, &res)) != 0)
		return rc;
	rc = page_of(res, -1, (long long)res->nrows, out);
	db_res_free(res);
	return rc;
}

void
keys_page_free(struct keys_page *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		keys_free(p->items[i]);
	free(p->items);
	free(p);
}
