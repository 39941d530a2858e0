/* observables.c: the observables search and suppressions
 * (observables.h). */
#include "vigil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "id.h"
#include "observables.h"
#include "vjson.h"
#include "vtime.h"

/* The columns of db.c's OBSERVABLE_COLS, CASE_HIT_COLS, ALERT_HIT_COLS
 * and SUPPRESSION_COLS. */
enum { OBS_COL_SEQ, OBS_COL_ID, OBS_COL_TYPE, OBS_COL_VALUE, OBS_COL_FIRST,
    OBS_COL_LAST, OBS_COL_ALERTS, OBS_COL_CASES };
enum { CHIT_COL_SEQ, CHIT_COL_ID, CHIT_COL_TITLE, CHIT_COL_SEVERITY,
    CHIT_COL_STATUS, CHIT_COL_FIRST, CHIT_COL_LAST };
enum { AHIT_COL_SEQ, AHIT_COL_ID, AHIT_COL_TITLE, AHIT_COL_SEVERITY,
    AHIT_COL_STATUS, AHIT_COL_SOURCE, AHIT_COL_DETECTED, AHIT_COL_LAST,
    AHIT_COL_OCCURRENCES };
enum { SUP_COL_SEQ, SUP_COL_ID, SUP_COL_TYPE, SUP_COL_VALUE, SUP_COL_SCOPE,
    SUP_COL_UNTIL, SUP_COL_BY, SUP_COL_CREATED };

/* Past every seq: where a page with no cursor starts. */
#define SEQ_TOP (1LL << 62)

int
observables_cursor_parse(const char *s, char *kind, long long *seq)
{
	char *end;
	long long v;

	if (s == NULL || (s[0] != 'c' && s[0] != 'a') ||
	    !isdigit((unsigned char)s[1]))
		return 0;
	errno = 0;
	v = strtoll(s + 1, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > SEQ_TOP)
		return 0;
	*kind = s[0];
	*seq = v;
	return 1;
}

int
observables_scope_valid(const char *scope)
{
	const char *p;
	size_t n = 0;

	if (scope == NULL)
		return 0;
	if (strcmp(scope, "global") == 0)
		return 1;
	if (strncmp(scope, "source:", 7) != 0)
		return 0;
	for (p = scope + 7; *p != '\0'; p++, n++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return 0;
	return n >= 1 && n <= OBSERVABLES_SOURCE_MAX;
}

static void
add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, vjson_new_string_or_null(v));
}

static json_object *
observable_json(const struct db_res *res)
{
	json_object *o = json_object_new_object();
	const char *type = db_cell(res, 0, OBS_COL_TYPE);
	const char *value = db_cell(res, 0, OBS_COL_VALUE);
	const char *kind;

	add_str(o, "id", db_cell(res, 0, OBS_COL_ID));
	add_str(o, "type", type);
	add_str(o, "value", value);
	if (strcmp(type, "hash") == 0 && (kind = observable_hash_kind(value,
	    res->lens[OBS_COL_VALUE])) != NULL)
		add_str(o, "hash_kind", kind);
	json_object_object_add(o, "first_seen_at",
	    vtime_sql_json(db_cell(res, 0, OBS_COL_FIRST)));
	json_object_object_add(o, "last_seen_at",
	    vtime_sql_json(db_cell(res, 0, OBS_COL_LAST)));
	return o;
}

static json_object *
case_hit(const struct db_res *res, size_t i)
{
	json_object *o = json_object_new_object();

	add_str(o, "kind", "case");
	add_str(o, "id", db_cell(res, i, CHIT_COL_ID));
	add_str(o, "title", db_cell(res, i, CHIT_COL_TITLE));
	add_str(o, "severity", db_cell(res, i, CHIT_COL_SEVERITY));
	add_str(o, "status", db_cell(res, i, CHIT_COL_STATUS));
	json_object_object_add(o, "first_seen_at",
	    vtime_sql_json(db_cell(res, i, CHIT_COL_FIRST)));
	json_object_object_add(o, "last_seen_at",
	    vtime_sql_json(db_cell(res, i, CHIT_COL_LAST)));
	return o;
}

static json_object *
alert_hit(const struct db_res *res, size_t i)
{
	json_object *o = json_object_new_object();

	add_str(o, "kind", "alert");
	add_str(o, "id", db_cell(res, i, AHIT_COL_ID));
	add_str(o, "title", db_cell(res, i, AHIT_COL_TITLE));
	add_str(o, "severity", db_cell(res, i, AHIT_COL_SEVERITY));
	add_str(o, "status", db_cell(res, i, AHIT_COL_STATUS));
	add_str(o, "source", db_cell(res, i, AHIT_COL_SOURCE));
	json_object_object_add(o, "detected_at",
	    vtime_sql_json(db_cell(res, i, AHIT_COL_DETECTED)));
	json_object_object_add(o, "last_seen_at",
	    vtime_sql_json(db_cell(res, i, AHIT_COL_LAST)));
	json_object_object_add(o, "occurrences", json_object_new_int64(
	    db_cell_int(res, i, AHIT_COL_OCCURRENCES)));
	return o;
}

/* Up to limit + 1 hits of statement st (CASE_HITS or ALERT_HITS) before
 * seq before: appended (up to limit) to out->hits with make; 1 if there
 * were more (next_cursor then names the last shown, kind k), else 0; or a
 * DB_* code. *shown counts what was added. */
static int
hits(struct db *db, enum db_stmt st, const char *tenant_id, long long oseq,
    long long before, long limit, char k,
    json_object *(*make)(const struct db_res *, size_t),
    struct observables_search *out, long *shown)
{
	struct db_res *res = NULL;
	size_t i, n;
	int rc;

	*shown = 0;
	if ((rc = db_exec(db, st, (struct db_val[]){ DB_STR(tenant_id),
	    DB_INT(oseq), DB_INT(before), DB_INT(limit + 1) }, 4,
	    &res)) != 0)
		return rc;
	n = page_rows(res, limit);
	for (i = 0; i < n; i++)
		json_object_array_add(out->hits, make(res, i));
	*shown = (long)n;
	rc = res->nrows > n;
	if (rc && n > 0)
		snprintf(out->next_cursor, sizeof(out->next_cursor), "%c%lld",
		    k, db_cell_int(res, n - 1, 0));
	db_res_free(res);
	return rc;
}

int
observables_search(struct db *db, const char *tenant_id,
    enum observable_type t, const char *norm, size_t len, const char *cursor,
    long limit, struct observables_search *out)
{
	struct db_res *obs = NULL;
	long long oseq, nalerts, ncases, before = SEQ_TOP;
	long shown = 0, more;
	char hash[65], kind = 'c';
	int rc;

	memset(out, 0, sizeof(*out));
	out->hits = json_object_new_array();
	if (cursor != NULL && !observables_cursor_parse(cursor, &kind,
	    &before))
		return 0;
	observable_value_hash(norm, len, hash);
	if ((rc = db_exec(db, SQL_OBSERVABLE_FIND, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(observable_type_name(t)),
	    DB_STR(hash) }, 3, &obs)) != 0)
		goto out;
	if (obs->nrows != 1)
		goto out;
	out->observable = observable_json(obs);
	oseq = db_cell_int(obs, 0, OBS_COL_SEQ);
	nalerts = db_cell_int(obs, 0, OBS_COL_ALERTS);
	ncases = db_cell_int(obs, 0, OBS_COL_CASES);
	out->total = nalerts + ncases;
	/* The counts save a round trip where there is nothing to page (most
	 * values are in no case). A link committed since they were read
	 * shows at the next search. */
	if (kind == 'c' && ncases > 0) {
		if ((rc = hits(db, SQL_OBSERVABLE_CASE_HITS, tenant_id, oseq,
		    before, limit, 'c', case_hit, out, &shown)) < 0)
			goto out;
		out->has_more = rc;
	}
	if (kind == 'c')
		before = SEQ_TOP;
	/* The alerts fill what the cases left of the page; with none left,
	 * one row says whether a next page starts on them. */
	if (!out->has_more && nalerts > 0) {
		if ((rc = hits(db, SQL_OBSERVABLE_ALERT_HITS, tenant_id, oseq,
		    before, limit - shown, 'a', alert_hit, out,
		    &more)) < 0)
			goto out;
		out->has_more = rc;
		if (rc && more == 0)
			snprintf(out->next_cursor, sizeof(out->next_cursor),
			    "a%lld", before);
		shown += more;
	}
	rc = 0;
out:
	db_res_free(obs);
	return rc;
}

void
observables_search_free(struct observables_search *s)
{
	if (s == NULL)
		return;
	json_object_put(s->observable);
	json_object_put(s->hits);
	memset(s, 0, sizeof(*s));
}

/* --- suppressions ------------------------------------------------------ */

static json_object *
suppression_json(const char *id, const char *type, const char *value,
    const char *scope, const char *until_sql, const char *by,
    const char *created_sql, time_t now)
{
	json_object *o = json_object_new_object();
	time_t until = 0;

	add_str(o, "id", id);
	add_str(o, "type", type);
	add_str(o, "value", value);
	add_str(o, "scope", scope);
	json_object_object_add(o, "until", vtime_sql_json(until_sql));
	vtime_parse_sql(until_sql, &until);
	json_object_object_add(o, "active",
	    json_object_new_boolean(until > now));
	add_str(o, "created_by", by);
	json_object_object_add(o, "created_at", vtime_sql_json(created_sql));
	return o;
}

static json_object *
suppression_at(const struct db_res *res, size_t i, time_t now)
{
	return suppression_json(db_cell(res, i, SUP_COL_ID),
	    db_cell(res, i, SUP_COL_TYPE), db_cell(res, i, SUP_COL_VALUE),
	    db_cell(res, i, SUP_COL_SCOPE), db_cell(res, i, SUP_COL_UNTIL),
	    db_cell(res, i, SUP_COL_BY), db_cell(res, i, SUP_COL_CREATED),
	    now);
}

int
observables_suppressions(struct db *db, const char *tenant_id,
    enum observables_state state, time_t now, long long before, long limit,
    struct observables_page *out)
{
	static const enum db_stmt st[] = { SQL_SUPPRESSION_LIST_ACTIVE,
	    SQL_SUPPRESSION_LIST_EXPIRED, SQL_SUPPRESSION_LIST_ALL };
	struct db_res *res = NULL, *cnt = NULL;
	char now_sql[VTIME_SQL_LEN];
	size_t i, n;
	int rc;

	memset(out, 0, sizeof(*out));
	vtime_sql(now, now_sql, sizeof(now_sql));
	if ((rc = db_exec(db, st[state], (struct db_val[]){
	    DB_STR(tenant_id), DB_INT(before), DB_STR(now_sql),
	    DB_INT(limit + 1) }, 4, &res)) != 0 ||
	    (rc = db_exec(db, SQL_SUPPRESSION_COUNT, (struct db_val[]){
	    DB_STR(now_sql), DB_STR(now_sql), DB_STR(tenant_id) }, 3,
	    &cnt)) != 0)
		goto out;
	n = page_rows(res, limit);
	out->items = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(out->items, suppression_at(res, i, now));
	out->total = state == OBSERVABLES_ACTIVE ? db_cell_int(cnt, 0, 0) :
	    state == OBSERVABLES_EXPIRED ? db_cell_int(cnt, 0, 1) :
	    db_cell_int(cnt, 0, 0) + db_cell_int(cnt, 0, 1);
	out->has_more = res->nrows > n;
	if (out->has_more && n > 0)
		page_seq_cursor(db_cell_int(res, n - 1, SUP_COL_SEQ),
		    out->next_cursor, sizeof(out->next_cursor));
out:
	db_res_free(cnt);
	db_res_free(res);
	return rc;
}

void
observables_page_free(struct observables_page *p)
{
	if (p == NULL)
		return;
	json_object_put(p->items);
	memset(p, 0, sizeof(*p));
}

static int
suppress_once(struct db *db, const char *tenant_id,
    const struct observables_suppress_in *in, const char *actor, time_t now,
    json_object **out)
{
	json_object *detail;
	const char *type = observable_type_name(in->type);
	char id[VIGIL_ID_LEN], hash[65], now_sql[VTIME_SQL_LEN];
	char until_sql[VTIME_SQL_LEN];
	int rc;

	*out = NULL;
	if (id_new("sup", id, sizeof(id)) != 0)
		return DB_ERR;
	observable_value_hash(in->value, in->len, hash);
	vtime_sql(now, now_sql, sizeof(now_sql));
	vtime_sql(in->until, until_sql, sizeof(until_sql));
	if ((rc = db_begin(db)) != 0)
		return rc;
	if ((rc = db_exec(db, SQL_SUPPRESSION_INSERT, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id), DB_STR(type),
	    DB_STRN(in->value, in->len), DB_STR(hash), DB_STR(in->scope),
	    DB_STR(until_sql), DB_STR(actor), DB_STR(now_sql) }, 9,
	    NULL)) != 0)
		goto fail;
	detail = json_object_new_object();
	add_str(detail, "type", type);
	json_object_object_add(detail, "value",
	    json_object_new_string_len(in->value, (int)in->len));
	add_str(detail, "scope", in->scope);
	json_object_object_add(detail, "until", vtime_sql_json(until_sql));
	if ((rc = audit_commit(db, tenant_id, actor, "observable.suppress", id,
	    detail)) != 0)
		goto fail;
	*out = suppression_json(id, type, in->value, in->scope, until_sql,
	    actor, now_sql, now);
	return 0;
fail:
	db_rollback(db);
	return rc;
}

static int
unsuppress_once(struct db *db, const char *tenant_id, const char *id,
    const char *actor)
{
	struct db_res *res = NULL;
	json_object *detail;
	int rc;

	if (!id_valid("sup", id))
		return 0;
	if ((rc = db_begin(db)) != 0)
		return rc;
	if ((rc = db_exec(db, SQL_SUPPRESSION_GET_LOCK, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, &res)) != 0)
		goto fail;
	if (res->nrows != 1) {
		db_rollback(db);
		db_res_free(res);
		return 0;
	}
	if ((rc = db_exec(db, SQL_SUPPRESSION_DELETE, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, NULL)) != 0)
		goto fail;
	detail = json_object_new_object();
	add_str(detail, "type", db_cell(res, 0, SUP_COL_TYPE));
	add_str(detail, "value", db_cell(res, 0, SUP_COL_VALUE));
	add_str(detail, "scope", db_cell(res, 0, SUP_COL_SCOPE));
	json_object_object_add(detail, "until",
	    vtime_sql_json(db_cell(res, 0, SUP_COL_UNTIL)));
	if ((rc = audit_commit(db, tenant_id, actor, "observable.unsuppress",
	    id, detail)) != 0)
		goto fail;
	db_res_free(res);
	return 1;
fail:
	db_rollback(db);
	db_res_free(res);
	return rc;
}

/* Suppressing and lifting a suppression run in db_tx_run (the *_once
 * functions are its body; their begin, rollback and commit join its
 * transaction), replayed whole after a deadlock or a certification
 * failure, each run with a new id and no reply from the one before. */
struct sup_tx {
	const char			*tenant_id, *actor, *id;
	const struct observables_suppress_in *in;
	time_t				 now;
	json_object			*out;
	int				 found;
};

static int
suppress_tx(struct db *db, void *arg)
{
	struct sup_tx *t = arg;

	json_object_put(t->out);
	t->out = NULL;
	return suppress_once(db, t->tenant_id, t->in, t->actor, t->now,
	    &t->out);
}

int
observables_suppress(struct db *db, const char *tenant_id,
    const struct observables_suppress_in *in, const char *actor, time_t now,
    json_object **out)
{
	struct sup_tx t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.actor = actor;
	t.in = in;
	t.now = now;
	if ((rc = db_tx_run(db, suppress_tx, &t)) != 0) {
		json_object_put(t.out);
		t.out = NULL;
	}
	*out = t.out;
	return rc;
}

static int
unsuppress_tx(struct db *db, void *arg)
{
	struct sup_tx *t = arg;
	int rc;

	if ((rc = unsuppress_once(db, t->tenant_id, t->id, t->actor)) < 0)
		return rc;
	t->found = rc;
	return 0;
}

int
observables_unsuppress(struct db *db, const char *tenant_id, const char *id,
    const char *actor)
{
	struct sup_tx t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.actor = actor;
	t.id = id;
	if ((rc = db_tx_run(db, unsuppress_tx, &t)) != 0)
		return rc;
	return t.found;
}
