/* deliveries.c: webhook deliveries as the API shows them (deliveries.h). */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "deliveries.h"
#include "id.h"
#include "vjson.h"

/* The columns of db.c's DELIVERY_COLS (SQL_DELIVERY_GET, _LIST). */
enum { DELIVERY_COL_ID, DELIVERY_COL_EVENT, DELIVERY_COL_TYPE,
    DELIVERY_COL_STATUS, DELIVERY_COL_ATTEMPTS, DELIVERY_COL_CODE,
    DELIVERY_COL_LATENCY, DELIVERY_COL_NEXT, DELIVERY_COL_WEBHOOK,
    DELIVERY_COL_ERROR };

void
deliveries_free(struct delivery *d)
{
	if (d == NULL)
		return;
	free(d->event_type);
	free(d->status);
	free(d->last_error);
	free(d);
}

static long long
num(const struct db_res *res, size_t i, size_t col)
{
	const char *s = db_cell(res, i, col);

	return s == NULL ? -1 : strtoll(s, NULL, 10);
}

static int
dup_cell(const struct db_res *res, size_t i, size_t col, char **out)
{
	const char *s = db_cell(res, i, col);

	*out = NULL;
	return s == NULL || (*out = strdup(s)) != NULL ? 0 : -1;
}

/* Row i of a DELIVERY_COLS result as a new delivery; NULL if out of
 * memory. */
static struct delivery *
delivery_at(const struct db_res *res, size_t i)
{
	struct delivery *d;
	const char *next = db_cell(res, i, DELIVERY_COL_NEXT);

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	snprintf(d->id, sizeof(d->id), "%s", db_cell(res, i, DELIVERY_COL_ID));
	snprintf(d->webhook_id, sizeof(d->webhook_id), "%s",
	    db_cell(res, i, DELIVERY_COL_WEBHOOK));
	snprintf(d->event_id, sizeof(d->event_id), "%s",
	    db_cell(res, i, DELIVERY_COL_EVENT));
	d->attempts = num(res, i, DELIVERY_COL_ATTEMPTS);
	d->last_status_code = num(res, i, DELIVERY_COL_CODE);
	d->last_latency_ms = num(res, i, DELIVERY_COL_LATENCY);
	if (next == NULL || vtime_sql_to_rfc3339(next, d->next_attempt_at,
	    sizeof(d->next_attempt_at)) != 0)
		d->next_attempt_at[0] = '\0';
	if (dup_cell(res, i, DELIVERY_COL_TYPE, &d->event_type) != 0 ||
	    dup_cell(res, i, DELIVERY_COL_STATUS, &d->status) != 0 ||
	    dup_cell(res, i, DELIVERY_COL_ERROR, &d->last_error) != 0) {
		deliveries_free(d);
		return NULL;
	}
	return d;
}

static json_object *
num_json(long long v)
{
	return v < 0 ? NULL : json_object_new_int64(v);
}

json_object *
deliveries_to_json(const struct delivery *d)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(d->id));
	json_object_object_add(o, "webhook_id",
	    json_object_new_string(d->webhook_id));
	json_object_object_add(o, "event_id",
	    json_object_new_string(d->event_id));
	json_object_object_add(o, "event_type",
	    vjson_new_string_or_null(d->event_type));
	json_object_object_add(o, "status",
	    vjson_new_string_or_null(d->status));
	json_object_object_add(o, "attempts", num_json(d->attempts));
	json_object_object_add(o, "last_status_code",
	    num_json(d->last_status_code));
	json_object_object_add(o, "last_latency_ms",
	    num_json(d->last_latency_ms));
	json_object_object_add(o, "next_attempt_at",
	    d->next_attempt_at[0] ? json_object_new_string(d->next_attempt_at) :
	    NULL);
	json_object_object_add(o, "last_error",
	    vjson_new_string_or_null(d->last_error));
	return o;
}

int
deliveries_list(struct db *db, const char *tenant_id, const char *webhook_id,
    const char *cursor, long limit, struct deliveries_page *out)
{
	struct db_res *res = NULL, *cnt = NULL;
	struct delivery *d;
	size_t i, n;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = db_exec(db, SQL_DELIVERY_LIST, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(webhook_id), DB_STR(cursor ? cursor : ""),
	    DB_INT(limit + 1) }, 4, &res)) != 0 ||
	    (rc = db_exec(db, SQL_DELIVERY_COUNT, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(webhook_id) }, 2, &cnt)) != 0)
		goto out;
	n = res->nrows > (size_t)limit ? (size_t)limit : res->nrows;
	out->items = json_object_new_array();
	for (i = 0; i < n; i++) {
		if ((d = delivery_at(res, i)) == NULL) {
			rc = DB_ERR;
			goto out;
		}
		json_object_array_add(out->items, deliveries_to_json(d));
		deliveries_free(d);
	}
	out->total = db_cell_int(cnt, 0, 0);
	out->has_more = res->nrows > (size_t)limit;
	if (out->has_more && n > 0)
		snprintf(out->next_cursor, sizeof(out->next_cursor), "%s",
		    db_cell(res, n - 1, DELIVERY_COL_ID));
out:
	db_res_free(cnt);
	db_res_free(res);
	return rc;
}

void
deliveries_page_free(struct deliveries_page *p)
{
	if (p == NULL)
		return;
	json_object_put(p->items);
	memset(p, 0, sizeof(*p));
}

static enum deliveries_outcome
retry_once(struct db *db, const char *tenant_id, const char *id,
    const char *actor, time_t now, struct delivery **out, int *rc)
{
	struct db_res *res = NULL;
	json_object *detail;
	char now_sql[VTIME_SQL_LEN];
	unsigned long long changed;

	*out = NULL;
	*rc = 0;
	if (!id_valid("dlv", id))
		return DELIVERIES_NOT_FOUND;
	vtime_sql(now, now_sql, sizeof(now_sql));
	/* The tenant row first, as every audited write. */
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0 ||
	    (*rc = db_exec(db, SQL_DELIVERY_RETRY, (struct db_val[]){
	    DB_STR(now_sql), DB_STR(tenant_id), DB_STR(id),
	    DB_STR(tenant_id) }, 4, &res)) != 0)
		goto fail;
	changed = res->affected;
	db_res_free(res);
	res = NULL;
	if (changed > 0) {
		detail = json_object_new_object();
		*rc = audit_append(db, tenant_id, actor, "delivery.retry", id,
		    detail);
		json_object_put(detail);
		if (*rc != 0)
			goto fail;
	}
	/* Read before db_tx_run commits: a spooler may claim the delivery
	 * as soon as it is committed, and the answer is what this request
	 * did. */
	if ((*rc = db_exec(db, SQL_DELIVERY_GET, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, &res)) != 0)
		goto fail;
	if (res->nrows != 1) {
		db_res_free(res);
		return DELIVERIES_NOT_FOUND;
	}
	if (changed == 0) {
		db_res_free(res);
		return DELIVERIES_CONFLICT;
	}
	*out = delivery_at(res, 0);
	db_res_free(res);
	if (*out == NULL) {
		*rc = DB_ERR;
		return DELIVERIES_DB_ERROR;
	}
	return DELIVERIES_OK;
fail:
	db_res_free(res);
	return DELIVERIES_DB_ERROR;
}

/* deliveries_retry runs retry_once as the body of db_tx_run, which commits
 * when the outcome is DELIVERIES_OK and rolls back otherwise, and replays
 * it whole after a deadlock or a certification failure; each run starts
 * from the inputs, with no result from the one before. */
struct retry_tx {
	const char *tenant_id;
	const char *id;
	const char *actor;
	time_t	now;
	struct delivery *	 v_out;
	enum deliveries_outcome	 o;
	int	 rc;
};

static int
retry_tx(struct db *db, void *arg)
{
	struct retry_tx *t = arg;

	deliveries_free(t->v_out);
	t->v_out = NULL;
	t->rc = 0;
	t->o = retry_once(db, t->tenant_id, t->id, t->actor, t->now, &t->v_out,
	    &t->rc);
	if (t->o == DELIVERIES_OK)
		return 0;
	if (t->o == DELIVERIES_DB_ERROR)
		return t->rc != 0 ? t->rc : DB_ERR;
	return 1;
}

enum deliveries_outcome
deliveries_retry(struct db *db, const char *tenant_id, const char *id,
    const char *actor, time_t now, struct delivery **out, int *rc)
{
	struct retry_tx t;
	int r;

	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.id = id;
	t.actor = actor;
	t.now = now;
	t.o = DELIVERIES_DB_ERROR;
	r = db_tx_run(db, retry_tx, &t);
	*rc = r < 0 ? r : 0;
	if (r < 0) {
		deliveries_free(t.v_out);
		t.v_out = NULL;
		t.o = DELIVERIES_DB_ERROR;
	}
	*out = t.v_out;
	return t.o;
}
