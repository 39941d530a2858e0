/* settings.c: a tenant's settings in the database, and the rules on their
 * values (settings.h). */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cidr.h"
#include "db.h"
#include "settings.h"
#include "vjson.h"
#include "vtime.h"

/* SQL_SETTINGS_GET and SQL_SETTINGS_GET_LOCK, in their column order; the
 * tenant_settings columns are NULL when no row was ever written. */
enum {
	SET_C_RATE_READ, SET_C_RATE_WRITE, SET_C_AUTO_REMEDIATE,
	SET_C_SCAN_INTERVAL, SET_C_ALLOWLIST, SET_C_UPDATED_AT,
	SET_C_RATE_INGEST
};
/* SQL_SETTINGS_ALLOWLIST. */
enum { AL_C_LIST };

void
settings_free(struct settings *s)
{
	if (s == NULL)
		return;
	json_object_put(s->allowlist);
	free(s);
}

/* The stored allowlist text as an array; [] if absent or unreadable (it
 * was checked on the way in, so unreadable means edited by hand). */
static json_object *
allowlist_json(const char *text)
{
	struct vjson_err e;
	json_object *a = NULL;

	if (text != NULL)
		a = vjson_parse(text, strlen(text), 2, 64 * 1024, &e);
	if (a != NULL && json_object_is_type(a, json_type_array))
		return a;
	json_object_put(a);
	return json_object_new_array();
}

/* Load with the tenant row and the settings row locked for update when
 * lock (inside a transaction). As settings_get. */
static int
load(struct db *db, const char *tenant_id, int lock, struct settings **out)
{
	struct db_res *res = NULL;
	struct settings *s;
	int rc;

	*out = NULL;
	rc = db_exec(db, lock ? SQL_SETTINGS_GET_LOCK : SQL_SETTINGS_GET,
	    (struct db_val[]){ DB_STR(tenant_id) }, 1, &res);
	if (rc != 0)
		return rc;
	if (res->nrows != 1) {
		db_res_free(res);
		return 0;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		db_res_free(res);
		return DB_ERR;
	}
	s->rate_read = db_cell_int(res, 0, SET_C_RATE_READ);
	s->rate_write = db_cell_int(res, 0, SET_C_RATE_WRITE);
	s->rate_ingest = db_cell_int(res, 0, SET_C_RATE_INGEST);
	s->scan_interval = SETTINGS_SCAN_DEFAULT;
	if (db_cell(res, 0, SET_C_UPDATED_AT) != NULL) {
		s->auto_remediate =
		    db_cell_int(res, 0, SET_C_AUTO_REMEDIATE) != 0;
		s->scan_interval = db_cell_int(res, 0, SET_C_SCAN_INTERVAL);
		snprintf(s->updated_at, sizeof(s->updated_at), "%s",
		    db_cell(res, 0, SET_C_UPDATED_AT));
	}
	s->allowlist = allowlist_json(db_cell(res, 0, SET_C_ALLOWLIST));
	db_res_free(res);
	*out = s;
	return 1;
}

int
settings_get(struct db *db, const char *tenant_id, struct settings **out)
{
	return load(db, tenant_id, 0, out);
}

static json_object *
rate_or_null(long long v)
{
	return v > 0 ? json_object_new_int64(v) : NULL;
}

json_object *
settings_to_json(const struct settings *s)
{
	json_object *o = json_object_new_object(), *rl;

	rl = json_object_new_object();
	json_object_object_add(rl, "read_per_min", rate_or_null(s->rate_read));
	json_object_object_add(rl, "write_per_min",
	    rate_or_null(s->rate_write));
	json_object_object_add(rl, "ingest_per_min",
	    rate_or_null(s->rate_ingest));
	json_object_object_add(o, "allow_auto_remediate",
	    json_object_new_boolean(s->auto_remediate));
	json_object_object_add(o, "scan_interval_minutes",
	    json_object_new_int64(s->scan_interval));
	json_object_object_add(o, "rate_limits", rl);
	/* Shared with s: the object gets its own reference. */
	json_object_object_add(o, "ip_allowlist",
	    json_object_get(s->allowlist));
	json_object_object_add(o, "updated_at",
	    vtime_sql_json(s->updated_at));
	return o;
}

/* Entries as written to their canonical texts in a new array (*out);
 * none may repeat. 0, or -1 with e filled. */
static int
allowlist_canon(const struct settings_change *c, json_object **out,
    struct settings_err *e)
{
	static const char *const why[] = {
		[CIDR_CANON_SYNTAX] = "must be an IPv4 or IPv6 address or "
		    "CIDR range",
		[CIDR_CANON_PREFIX] = "has a prefix length longer than the "
		    "address",
		[CIDR_CANON_HOST_BITS] = "has bits set past its prefix length "
		    "(write the network address)",
	};
	json_object *list;
	enum cidr_canon_err ce;
	char canon[CIDR_CANON_LEN];
	size_t i, j;

	*out = NULL;
	if (c->nallowlist > SETTINGS_ALLOWLIST_MAX) {
		snprintf(e->field, sizeof(e->field), "ip_allowlist");
		snprintf(e->message, sizeof(e->message), "ip_allowlist must "
		    "have at most %d items", SETTINGS_ALLOWLIST_MAX);
		return -1;
	}
	list = json_object_new_array();
	for (i = 0; i < c->nallowlist; i++) {
		snprintf(e->field, sizeof(e->field), "ip_allowlist[%zu]", i);
		ce = cidr_canon(c->allowlist[i], strlen(c->allowlist[i]),
		    canon, sizeof(canon));
		if (ce != CIDR_CANON_OK) {
			snprintf(e->message, sizeof(e->message), "%s %s.",
			    e->field, why[ce]);
			goto bad;
		}
		for (j = 0; j < i; j++)
			if (strcmp(json_object_get_string(
			    json_object_array_get_idx(list, j)), canon) == 0) {
				snprintf(e->message, sizeof(e->message),
				    "%s repeats %s.", e->field, canon);
				goto bad;
			}
		json_object_array_add(list, json_object_new_string(canon));
	}
	*out = list;
	return 0;
bad:
	json_object_put(list);
	return -1;
}

/* 1 if the non-empty canonical list leaves out client (NULL: unknown,
 * so outside every list). */
static int
locks_out(json_object *list, const struct cidr *client)
{
	struct cidr c;
	size_t i, n = json_object_array_length(list);

	if (n == 0)
		return 0;
	if (client == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(list, i);

		if (cidr_parse(json_object_get_string(it),
		    (size_t)json_object_get_string_len(it), &c) &&
		    cidr_contains(&c, client))
			return 0;
	}
	return 1;
}

/* A rate limit out of its bounds: 0, or -1 with e filled. */
static int
rate_check(int set, long long v, const char *name, struct settings_err *e)
{
	if (!set || v == 0 || (v >= SETTINGS_RATE_MIN &&
	    v <= SETTINGS_RATE_MAX))
		return 0;
	snprintf(e->field, sizeof(e->field), "rate_limits.%s", name);
	snprintf(e->message, sizeof(e->message), "rate_limits.%s must be an "
	    "integer from %d to %d, or null for the default.", name,
	    SETTINGS_RATE_MIN, SETTINGS_RATE_MAX);
	return -1;
}

enum settings_outcome
settings_check(const struct settings_change *c, json_object **list,
    struct settings_err *e)
{
	*list = NULL;
	if (c->set_scan_interval && (c->scan_interval < SETTINGS_SCAN_MIN ||
	    c->scan_interval > SETTINGS_SCAN_MAX)) {
		snprintf(e->field, sizeof(e->field), "scan_interval_minutes");
		snprintf(e->message, sizeof(e->message),
		    "scan_interval_minutes must be between %d and %d",
		    SETTINGS_SCAN_MIN, SETTINGS_SCAN_MAX);
		return SETTINGS_INVALID;
	}
	if (rate_check(c->set_rate_read, c->rate_read, "read_per_min", e) ||
	    rate_check(c->set_rate_write, c->rate_write, "write_per_min", e) ||
	    rate_check(c->set_rate_ingest, c->rate_ingest, "ingest_per_min",
	    e))
		return SETTINGS_INVALID;
	if (!c->set_allowlist)
		return SETTINGS_OK;
	if (allowlist_canon(c, list, e) != 0)
		return SETTINGS_INVALID;
	if (c->guard && locks_out(*list, c->client)) {
		json_object_put(*list);
		*list = NULL;
		return SETTINGS_LOCKOUT;
	}
	return SETTINGS_OK;
}

static enum settings_outcome
put_once(struct db *db, const char *tenant_id,
    const struct settings_change *c, const char *actor, time_t now,
    struct settings_err *e, struct settings **after, int *rc)
{
	enum settings_outcome o;
	struct settings *s = NULL;
	json_object *list = NULL, *detail = NULL;
	const char *text;
	int r;

	*after = NULL;
	*rc = 0;
	if ((o = settings_check(c, &list, e)) != SETTINGS_OK)
		return o;
	/* Load under the locks: a partial update merges onto what is
	 * stored, and two changes must not interleave. */
	if ((r = load(db, tenant_id, 1, &s)) < 0)
		goto dberr;
	if (r == 0) {
		r = DB_ERR;     /* the caller named a tenant that exists */
		goto dberr;
	}
	if (c->set_auto_remediate)
		s->auto_remediate = c->auto_remediate != 0;
	if (c->set_scan_interval)
		s->scan_interval = c->scan_interval;
	if (c->set_rate_read)
		s->rate_read = c->rate_read;
	if (c->set_rate_write)
		s->rate_write = c->rate_write;
	if (c->set_rate_ingest)
		s->rate_ingest = c->rate_ingest;
	if (list != NULL) {
		json_object_put(s->allowlist);
		s->allowlist = list;
		list = NULL;
	}
	vtime_sql(now, s->updated_at, sizeof(s->updated_at));
	text = vjson_str(s->allowlist, NULL);
	if ((r = db_exec(db, SQL_SETTINGS_UPSERT, (struct db_val[]){
	    DB_STR(tenant_id), DB_INT(s->auto_remediate),
	    DB_INT(s->scan_interval), DB_STR(text), DB_STR(s->updated_at),
	    DB_INT(s->auto_remediate), DB_INT(s->scan_interval),
	    DB_STR(text), DB_STR(s->updated_at) }, 9, NULL)) != 0)
		goto dberr;
	/* The limits' one writer, only when they change (a tenant may hold
	 * a limit set before the bound was lowered, which a change of its
	 * allowlist must not trip over); no audit entry of its own: the
	 * settings.update entry below records them. */
	if ((c->set_rate_read || c->set_rate_write) &&
	    tenants_set_limits_tx(db, tenant_id, s->rate_read, s->rate_write,
	    &r) != TENANTS_OK) {
		if (r == 0)
			r = DB_ERR;
		goto dberr;
	}
	if (c->set_rate_ingest && tenants_set_ingest_tx(db, tenant_id,
	    s->rate_ingest, &r) != TENANTS_OK) {
		if (r == 0)
			r = DB_ERR;
		goto dberr;
	}
	/* The audit detail is the new settings as the API shows them. */
	detail = settings_to_json(s);
	if ((r = audit_append(db, tenant_id, actor, "settings.update",
	    tenant_id, detail)) != 0)
		goto dberr;
	json_object_put(detail);
	*after = s;
	return SETTINGS_OK;
dberr:
	json_object_put(detail);
	json_object_put(list);
	settings_free(s);
	*rc = r < 0 ? r : DB_ERR;
	return SETTINGS_DB_ERROR;
}

/* settings_put runs put_once as the body of db_tx_run, which commits when
 * the outcome is SETTINGS_OK and rolls back otherwise, and replays it whole
 * after a deadlock or a certification failure: each run loads the settings
 * afresh and merges the change onto them. */
struct put_tx {
	const char			*tenant_id, *actor;
	const struct settings_change	*c;
	time_t				 now;
	struct settings_err		*e;
	struct settings			*after;
	enum settings_outcome		 o;
	int				 rc;
};

static int
put_tx(struct db *db, void *arg)
{
	struct put_tx *t = arg;

	settings_free(t->after);
	t->after = NULL;
	t->rc = 0;
	t->o = put_once(db, t->tenant_id, t->c, t->actor, t->now, t->e,
	    &t->after, &t->rc);
	if (t->o == SETTINGS_OK)
		return 0;
	if (t->o == SETTINGS_DB_ERROR)
		return t->rc != 0 ? t->rc : DB_ERR;
	return 1;
}

enum settings_outcome
settings_put(struct db *db, const char *tenant_id,
    const struct settings_change *c, const char *actor, time_t now,
    struct settings_err *e, struct settings **after, int *rc)
{
	struct put_tx t = { tenant_id, actor, c, now, e, NULL,
	    SETTINGS_DB_ERROR, 0 };
	int r;

	r = db_tx_run(db, put_tx, &t);
	*rc = r < 0 ? r : 0;
	if (r < 0) {
		settings_free(t.after);
		t.after = NULL;
		t.o = SETTINGS_DB_ERROR;
	}
	*after = t.after;
	return t.o;
}

int
settings_allowlist_parse(const char *text, struct cidr *list, size_t *n)
{
	json_object *arr, *it;
	size_t i, len;
	int ok = 1;

	*n = 0;
	if (text == NULL)
		return 1;
	if ((arr = json_tokener_parse(text)) == NULL ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return 0;
	}
	len = json_object_array_length(arr);
	for (i = 0; i < len; i++) {
		it = json_object_array_get_idx(arr, i);
		if (*n == SETTINGS_ALLOWLIST_MAX ||
		    !json_object_is_type(it, json_type_string) ||
		    !cidr_parse(json_object_get_string(it),
		    (size_t)json_object_get_string_len(it), &list[*n])) {
			ok = 0;
			break;
		}
		(*n)++;
	}
	json_object_put(arr);
	if (!ok)
		*n = 0;
	return ok;
}

int
settings_allowlist(struct db *db, const char *tenant_id, struct cidr *list,
    size_t *n)
{
	struct db_res *res = NULL;
	int rc;

	*n = 0;
	if ((rc = db_exec(db, SQL_SETTINGS_ALLOWLIST, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, &res)) != 0)
		return rc;
	rc = settings_allowlist_parse(res->nrows == 1 ?
	    db_cell(res, 0, AL_C_LIST) : NULL, list, n);
	db_res_free(res);
	return rc;
}
