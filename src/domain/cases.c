/* cases.c: a tenant's cases in the database (cases.h). */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attachments.h"
#include "attack.h"
#include "audit.h"
#include "cases.h"
#include "db.h"
#include "events.h"
#include "id.h"
#include "log.h"
#include "page.h"
#include "text.h"
#include "vtime.h"

/* The columns of db.c's CASE_COLS. */
enum { CASE_COL_SEQ, CASE_COL_ID, CASE_COL_TITLE, CASE_COL_DESCRIPTION,
    CASE_COL_SEVERITY, CASE_COL_STATUS, CASE_COL_ASSIGNEE, CASE_COL_TAGS,
    CASE_COL_TECHNIQUES, CASE_COL_VERDICT, CASE_COL_ROOT_CAUSE,
    CASE_COL_NARRATIVE, CASE_COL_CREATED_BY, CASE_COL_CREATED_AT,
    CASE_COL_UPDATED_AT, CASE_COL_RESOLVED_AT };

static const char *const verdicts[] = { "true_positive", "false_positive",
    "benign", "duplicate", NULL };
static const char *const statuses[] = { "open", "resolved", NULL };
static const char *const severities[] = { "critical", "high", "medium",
    "low", "info", NULL };

static int
in_list(const char *s, const char *const *l)
{
	for (; s != NULL && *l != NULL; l++)
		if (strcmp(s, *l) == 0)
			return 1;
	return 0;
}

int
cases_verdict_valid(const char *s)
{
	return in_list(s, verdicts);
}

int
cases_status_valid(const char *s)
{
	return in_list(s, statuses);
}

int
cases_severity_valid(const char *s)
{
	return in_list(s, severities);
}

static void
invalid(struct vjson_err *err, const char *field, const char *msg)
{
	snprintf(err->field, sizeof(err->field), "%s", field);
	snprintf(err->message, sizeof(err->message), "%s", msg);
}

/* A database time as a JSON RFC 3339 string, or null. */
static json_object *
ts_json(const char *sql)
{
	char rfc[VTIME_RFC3339_LEN];

	if (sql == NULL || vtime_sql_to_rfc3339(sql, rfc, sizeof(rfc)) != 0)
		return NULL;
	return json_object_new_string(rfc);
}

static json_object *
str_json(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

/* Stored JSON text as an object (an empty array if it does not parse). */
static json_object *
parse_or_array(const char *s)
{
	json_object *o = s != NULL ? json_tokener_parse(s) : NULL;

	return o != NULL ? o : json_object_new_array();
}

/* The stored technique ids as [{id, name}], named from the bundled list
 * (name null if the list no longer has the id). */
static json_object *
techniques_json(const char *text)
{
	const struct attack_list *l = attack_list();
	json_object *ids = parse_or_array(text), *out, *t;
	const char *id;
	size_t i;

	out = json_object_new_array();
	for (i = 0; i < json_object_array_length(ids); i++) {
		id = json_object_get_string(json_object_array_get_idx(ids, i));
		t = json_object_new_object();
		json_object_object_add(t, "id", json_object_new_string(id));
		json_object_object_add(t, "name",
		    str_json(attack_lookup(l, id)));
		json_object_array_add(out, t);
	}
	json_object_put(ids);
	return out;
}

/* Row i of a CASE_COLS result in the API's shape. */
static json_object *
case_json(const struct db_res *res, size_t i)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "case_id",
	    str_json(db_cell(res, i, CASE_COL_ID)));
	json_object_object_add(o, "title",
	    str_json(db_cell(res, i, CASE_COL_TITLE)));
	json_object_object_add(o, "description",
	    str_json(db_cell(res, i, CASE_COL_DESCRIPTION)));
	json_object_object_add(o, "severity",
	    str_json(db_cell(res, i, CASE_COL_SEVERITY)));
	json_object_object_add(o, "status",
	    str_json(db_cell(res, i, CASE_COL_STATUS)));
	json_object_object_add(o, "assignee",
	    str_json(db_cell(res, i, CASE_COL_ASSIGNEE)));
	json_object_object_add(o, "tags",
	    parse_or_array(db_cell(res, i, CASE_COL_TAGS)));
	json_object_object_add(o, "techniques",
	    techniques_json(db_cell(res, i, CASE_COL_TECHNIQUES)));
	json_object_object_add(o, "verdict",
	    str_json(db_cell(res, i, CASE_COL_VERDICT)));
	json_object_object_add(o, "root_cause",
	    str_json(db_cell(res, i, CASE_COL_ROOT_CAUSE)));
	json_object_object_add(o, "narrative",
	    str_json(db_cell(res, i, CASE_COL_NARRATIVE)));
	json_object_object_add(o, "created_by",
	    str_json(db_cell(res, i, CASE_COL_CREATED_BY)));
	json_object_object_add(o, "created_at",
	    ts_json(db_cell(res, i, CASE_COL_CREATED_AT)));
	json_object_object_add(o, "updated_at",
	    ts_json(db_cell(res, i, CASE_COL_UPDATED_AT)));
	json_object_object_add(o, "resolved_at",
	    ts_json(db_cell(res, i, CASE_COL_RESOLVED_AT)));
	return o;
}

/* The tags as stored (the handler checked each): repeats dropped. */
static json_object *
tags_dedup(json_object *arr)
{
	json_object *out = json_object_new_array();
	const char *s;
	size_t i, j, n = json_object_array_length(arr);

	for (i = 0; i < n; i++) {
		s = json_object_get_string(json_object_array_get_idx(arr, i));
		for (j = 0; j < i; j++)
			if (strcmp(s, json_object_get_string(
			    json_object_array_get_idx(arr, j))) == 0)
				break;
		if (j == i)
			json_object_array_add(out, json_object_new_string(s));
	}
	return out;
}

/* The technique ids as stored, repeats dropped; NULL with err set if one
 * is not in the bundled list (or the list cannot be read). */
static json_object *
techniques_check(json_object *arr, struct vjson_err *err)
{
	const struct attack_list *l = attack_list();
	json_object *out;
	const char *s;
	size_t i, j, n = json_object_array_length(arr);

	if (l == NULL) {
		invalid(err, "techniques", "The server cannot read its ATT&CK "
		    "technique list (attack_file); ask the operator.");
		return NULL;
	}
	out = json_object_new_array();
	for (i = 0; i < n; i++) {
		s = json_object_get_string(json_object_array_get_idx(arr, i));
		if (attack_lookup(l, s) == NULL) {
			json_object_put(out);
			invalid(err, "techniques", "techniques must be MITRE "
			    "ATT&CK Enterprise technique ids (T1059, "
			    "T1059.001) that are neither revoked nor "
			    "deprecated.");
			return NULL;
		}
		for (j = 0; j < i; j++)
			if (strcmp(s, json_object_get_string(
			    json_object_array_get_idx(arr, j))) == 0)
				break;
		if (j == i)
			json_object_array_add(out, json_object_new_string(s));
	}
	return out;
}

/* Append a timeline entry; fields is taken (NULL: {}). 0 or a DB_*
 * code. */
static int
timeline_add(struct db *db, const char *tenant_id, const char *case_id,
    const char *kind, const char *at_sql, const char *actor,
    json_object *fields)
{
	const char *text;
	size_t len;
	int rc;

	if (fields == NULL)
		fields = json_object_new_object();
	text = vjson_str(fields, &len);
	rc = db_exec(db, SQL_CASE_TIMELINE_INSERT, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(case_id), DB_STR(kind), DB_STR(at_sql),
	    DB_STR(actor), DB_STRN(text, len) }, 6, NULL);
	json_object_put(fields);
	return rc;
}

/* A timeline entry in the API's shape. */
static json_object *
entry_json(const char *kind, const char *at_sql, const char *actor,
    const char *fields)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "kind", json_object_new_string(kind));
	json_object_object_add(o, "at", ts_json(at_sql));
	json_object_object_add(o, "by", json_object_new_string(actor));
	json_object_object_add(o, "data", fields != NULL ?
	    parse_or_array(fields) : json_object_new_object());
	return o;
}

/* A case.* event: {event, case_id, verdict, at, by, case} (case
 * borrowed). */
static int
case_event(struct db *db, const char *tenant_id, const char *type,
    json_object *c, const char *actor, time_t now)
{
	json_object *d = json_object_new_object(), *v = NULL;
	char rfc[VTIME_RFC3339_LEN];

	vtime_rfc3339(now, rfc, sizeof(rfc));
	json_object_object_get_ex(c, "verdict", &v);
	json_object_object_add(d, "event", json_object_new_string(type));
	json_object_object_add(d, "case_id", json_object_get(
	    json_object_object_get(c, "case_id")));
	json_object_object_add(d, "verdict", json_object_get(v));
	json_object_object_add(d, "at", json_object_new_string(rfc));
	json_object_object_add(d, "by", json_object_new_string(actor));
	json_object_object_add(d, "case", json_object_get(c));
	return events_append(db, tenant_id, type, now, d, NULL);
}

/* Lock a case row: 1 with *res (CASE_COLS), 0 not found, or a DB_*
 * code. */
static int
case_lock(struct db *db, const char *tenant_id, const char *id,
    struct db_res **res)
{
	return page_tenant_row(db, SQL_CASE_LOCK, "case", tenant_id, id, res);
}

/* Read a case back (inside the transaction, after a change). */
static int
case_reload(struct db *db, const char *tenant_id, const char *id,
    json_object **out)
{
	struct db_res *res = NULL;
	int rc;

	if ((rc = db_exec(db, SQL_CASE_GET, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, &res)) != 0)
		return rc;
	if (res->nrows != 1) {
		db_res_free(res);
		return DB_ERR;
	}
	*out = case_json(res, 0);
	db_res_free(res);
	return 0;
}

/* Take the tenant's row lock, as every audited writer does first. */
static int
lock_tenant(struct db *db, const char *tenant_id)
{
	return db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL);
}

/* Insert a new open case inside the caller's transaction; id receives
 * its id (VIGIL_ID_LEN), *seq its seq. */
static int
case_insert(struct db *db, const char *tenant_id, const char *title,
    const char *description, const char *severity, const char *assignee,
    const char *tags, const char *techniques, const char *actor,
    const char *now_sql, char *id, long long *seq)
{
	struct db_res *res = NULL;
	int rc;

	if (id_new("case", id, VIGIL_ID_LEN) != 0)
		return DB_ERR;
	if ((rc = db_exec(db, SQL_CASE_INSERT, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id), DB_STR(title),
	    DB_STR(description), DB_STR(severity), DB_STR0(assignee),
	    DB_STR(tags), DB_STR(techniques), DB_STR(actor), DB_STR(now_sql),
	    DB_STR(now_sql) }, 11, &res)) != 0)
		return rc;
	*seq = (long long)res->insert_id;
	db_res_free(res);
	return timeline_add(db, tenant_id, id, "created", now_sql, actor,
	    NULL);
}

static enum cases_outcome
create_once(struct db *db, const char *tenant_id,
    const struct cases_input *in, const char *actor, time_t now,
    json_object **out, struct vjson_err *err, int *rc)
{
	enum cases_outcome oc = CASES_DB_ERROR;
	json_object *tags = NULL, *tech = NULL, *detail;
	char id[VIGIL_ID_LEN], now_sql[VTIME_SQL_LEN];
	const char *ttext, *ktext;
	long long seq;

	*out = NULL;
	*rc = DB_ERR;
	if (in->tags != NULL)
		tags = tags_dedup(in->tags);
	if (in->techniques != NULL &&
	    (tech = techniques_check(in->techniques, err)) == NULL) {
		oc = CASES_INVALID;
		goto out;
	}
	if (tags == NULL)
		tags = json_object_new_array();
	if (tech == NULL)
		tech = json_object_new_array();
	vtime_sql(now, now_sql, sizeof(now_sql));
	ttext = json_object_to_json_string_ext(tags, JSON_C_TO_STRING_PLAIN);
	ktext = json_object_to_json_string_ext(tech, JSON_C_TO_STRING_PLAIN);
	if ((*rc = lock_tenant(db, tenant_id)) != 0 ||
	    (*rc = case_insert(db, tenant_id, in->title,
	    in->description ? in->description : "", in->severity,
	    in->assignee, ttext, ktext, actor, now_sql, id, &seq)) != 0 ||
	    (*rc = case_reload(db, tenant_id, id, out)) != 0 ||
	    (*rc = case_event(db, tenant_id, "case.created", *out, actor,
	    now)) != 0)
		goto dberr;
	detail = json_object_new_object();
	json_object_object_add(detail, "title",
	    json_object_new_string(in->title));
	json_object_object_add(detail, "severity",
	    json_object_new_string(in->severity));
	*rc = audit_append(db, tenant_id, actor, "case.create", id,
	    detail);
	json_object_put(detail);
	if (*rc != 0)
		goto dberr;
	oc = CASES_OK;
	goto out;
dberr:
	json_object_put(*out);
	*out = NULL;
out:
	json_object_put(tags);
	json_object_put(tech);
	return oc;
}

/* --- reading --------------------------------------------------------- */

/* Run a list statement (tenant, case id or seq, limit) into a new array
 * built row by row with fn. */
static int
rows_json(struct db *db, enum db_stmt st, const struct db_val *p,
    size_t np, json_object *(*fn)(const struct db_res *, size_t),
    json_object **out)
{
	struct db_res *res = NULL;
	size_t i;
	int rc;

	*out = json_object_new_array();
	if ((rc = db_exec(db, st, p, np, &res)) != 0)
		return rc;
	for (i = 0; i < res->nrows; i++)
		json_object_array_add(*out, fn(res, i));
	db_res_free(res);
	return 0;
}

static json_object *
alert_json(const struct db_res *res, size_t i)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "alert_id", str_json(db_cell(res, i, 0)));
	json_object_object_add(o, "title", str_json(db_cell(res, i, 1)));
	json_object_object_add(o, "severity", str_json(db_cell(res, i, 2)));
	json_object_object_add(o, "status", str_json(db_cell(res, i, 3)));
	json_object_object_add(o, "source", str_json(db_cell(res, i, 4)));
	json_object_object_add(o, "detected_at", ts_json(db_cell(res, i, 5)));
	json_object_object_add(o, "linked_at", ts_json(db_cell(res, i, 6)));
	return o;
}

static json_object *
finding_json(const struct db_res *res, size_t i)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "finding_id",
	    str_json(db_cell(res, i, 0)));
	json_object_object_add(o, "title", str_json(db_cell(res, i, 1)));
	json_object_object_add(o, "severity", str_json(db_cell(res, i, 2)));
	json_object_object_add(o, "state", str_json(db_cell(res, i, 3)));
	json_object_object_add(o, "linked_at", ts_json(db_cell(res, i, 4)));
	return o;
}

static json_object *
observable_json(const struct db_res *res, size_t i)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "type", str_json(db_cell(res, i, 0)));
	json_object_object_add(o, "value", str_json(db_cell(res, i, 1)));
	json_object_object_add(o, "first_seen_at",
	    ts_json(db_cell(res, i, 2)));
	json_object_object_add(o, "last_seen_at",
	    ts_json(db_cell(res, i, 3)));
	return o;
}

/* SQL_CASE_TIMELINE_LIST's columns: seq, kind, at, actor, fields. */
static json_object *
timeline_row_json(const struct db_res *res, size_t i)
{
	return entry_json(db_cell(res, i, 1), db_cell(res, i, 2),
	    db_cell(res, i, 3), db_cell(res, i, 4));
}

int
cases_full(struct db *db, const char *tenant_id, const char *id,
    json_object **out)
{
	struct db_res *res = NULL, *cnt = NULL;
	json_object *c = NULL, *a;
	long long seq;
	int rc;

	*out = NULL;
	if ((rc = page_tenant_row(db, SQL_CASE_GET, "case", tenant_id, id,
	    &res)) <= 0)
		return rc;
	c = case_json(res, 0);
	seq = db_cell_int(res, 0, CASE_COL_SEQ);
	db_res_free(res);
#define ADD(name, st, key, lim, fn) do {				\
	rc = rows_json(db, st, (struct db_val[]){ DB_STR(tenant_id),	\
	    key, DB_INT(lim) }, 3, fn, &a);				\
	json_object_object_add(c, name, a);				\
	if (rc != 0)							\
		goto fail;						\
} while (0)
	ADD("alerts", SQL_CASE_ALERTS, DB_STR(id), CASES_FULL_ITEMS,
	    alert_json);
	ADD("findings", SQL_CASE_FINDINGS, DB_STR(id), CASES_FULL_ITEMS,
	    finding_json);
	ADD("observables", SQL_CASE_OBSERVABLES, DB_INT(seq),
	    CASES_FULL_OBSERVABLES, observable_json);
#undef ADD
	/* the evidence list is the attachments module's */
	rc = attachments_list_json(db, tenant_id, id, &a);
	json_object_object_add(c, "evidence", a != NULL ? a :
	    json_object_new_array());
	if (rc != 0)
		goto fail;
	rc = rows_json(db, SQL_CASE_TIMELINE_LIST, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id), DB_INT(0),
	    DB_INT(CASES_FULL_ITEMS) }, 4, timeline_row_json, &a);
	json_object_object_add(c, "timeline", a);
	if (rc != 0)
		goto fail;
	if ((rc = db_exec(db, SQL_CASE_OBSERVABLE_COUNT, (struct db_val[]){
	    DB_STR(tenant_id), DB_INT(seq) }, 2, &cnt)) != 0)
		goto fail;
	json_object_object_add(c, "observables_total",
	    json_object_new_int64(db_cell_int(cnt, 0, 0)));
	db_res_free(cnt);
	if ((rc = db_exec(db, SQL_CASE_TIMELINE_COUNT, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, &cnt)) != 0)
		goto fail;
	json_object_object_add(c, "timeline_total",
	    json_object_new_int64(db_cell_int(cnt, 0, 0)));
	db_res_free(cnt);
	*out = c;
	return 1;
fail:
	json_object_put(c);
	return rc;
}

int
cases_list(struct db *db, const char *tenant_id,
    const struct cases_filter *f, long long before, long limit,
    json_object **items, long long *total, int *has_more,
    long long *last_seq)
{
	struct db_res *res = NULL, *cnt = NULL;
	size_t i, n;
	int rc;

	*items = json_object_new_array();
	*total = 0;
	*has_more = 0;
	*last_seq = 0;
#define FILTERS \
	DB_STR0(f->status), DB_STR0(f->status), \
	DB_STR0(f->severity), DB_STR0(f->severity), \
	DB_STR0(f->assignee), DB_STR0(f->assignee), \
	DB_STR0(f->tag), DB_STR0(f->tag)
	if ((rc = db_exec(db, SQL_CASE_COUNT, (struct db_val[]){
	    DB_STR(tenant_id), FILTERS }, 9, &cnt)) != 0 ||
	    (rc = db_exec(db, SQL_CASE_LIST, (struct db_val[]){
	    DB_STR(tenant_id), DB_INT(before), FILTERS, DB_INT(limit + 1) },
	    11, &res)) != 0)
		goto out;
#undef FILTERS
	*total = db_cell_int(cnt, 0, 0);
	n = res->nrows > (size_t)limit ? (size_t)limit : res->nrows;
	for (i = 0; i < n; i++)
		json_object_array_add(*items, case_json(res, i));
	*has_more = res->nrows > (size_t)limit;
	if (n > 0)
		*last_seq = db_cell_int(res, n - 1, CASE_COL_SEQ);
out:
	db_res_free(cnt);
	db_res_free(res);
	return rc;
}

int
cases_timeline(struct db *db, const char *tenant_id, const char *id,
    long long after, long limit, json_object **items, long long *total,
    int *has_more, long long *last_seq)
{
	struct db_res *res = NULL, *cnt = NULL;
	size_t i, n;
	int rc;

	*items = NULL;
	*total = 0;
	*has_more = 0;
	*last_seq = 0;
	if (!id_valid("case", id))
		return 0;
	if ((rc = db_exec(db, SQL_CASE_GET, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, &res)) != 0)
		return rc;
	n = res->nrows;
	db_res_free(res);
	res = NULL;
	if (n == 0)
		return 0;
	if ((rc = db_exec(db, SQL_CASE_TIMELINE_COUNT, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, &cnt)) != 0 ||
	    (rc = db_exec(db, SQL_CASE_TIMELINE_LIST, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id), DB_INT(after), DB_INT(limit + 1) },
	    4, &res)) != 0)
		goto out;
	*items = json_object_new_array();
	*total = db_cell_int(cnt, 0, 0);
	n = res->nrows > (size_t)limit ? (size_t)limit : res->nrows;
	for (i = 0; i < n; i++)
		json_object_array_add(*items, timeline_row_json(res, i));
	*has_more = res->nrows > (size_t)limit;
	if (n > 0)
		*last_seq = db_cell_int(res, n - 1, 0);
	rc = 1;
out:
	db_res_free(cnt);
	db_res_free(res);
	return rc;
}

/* --- changes ----------------------------------------------------------- */

static enum cases_outcome
patch_once(struct db *db, const char *tenant_id, const char *id,
    const struct cases_input *in, const char *actor, time_t now,
    json_object **out, struct vjson_err *err, int *rc)
{
	enum cases_outcome oc = CASES_DB_ERROR;
	struct db_res *res = NULL;
	json_object *tags = NULL, *tech = NULL, *changes;
	char now_sql[VTIME_SQL_LEN];
	const char *ttext, *ktext, *assignee;
	int found;

	*out = NULL;
	*rc = 0;
	if (in->title == NULL && in->description == NULL &&
	    in->severity == NULL && !in->has_assignee && in->tags == NULL &&
	    in->techniques == NULL) {
		invalid(err, "body", "Give at least one of title, description, "
		    "severity, assignee, tags, techniques.");
		return CASES_INVALID;
	}
	if (in->tags != NULL)
		tags = tags_dedup(in->tags);
	if (in->techniques != NULL &&
	    (tech = techniques_check(in->techniques, err)) == NULL) {
		oc = CASES_INVALID;
		goto out;
	}
	vtime_sql(now, now_sql, sizeof(now_sql));
	if ((*rc = lock_tenant(db, tenant_id)) != 0)
		goto dberr;
	if ((found = case_lock(db, tenant_id, id, &res)) < 0) {
		*rc = found;
		goto dberr;
	}
	if (found == 0) {
		oc = CASES_NOT_FOUND;
		goto out;
	}
	ttext = tags ? json_object_to_json_string_ext(tags,
	    JSON_C_TO_STRING_PLAIN) : db_cell(res, 0, CASE_COL_TAGS);
	ktext = tech ? json_object_to_json_string_ext(tech,
	    JSON_C_TO_STRING_PLAIN) : db_cell(res, 0, CASE_COL_TECHNIQUES);
	assignee = in->has_assignee ? in->assignee :
	    db_cell(res, 0, CASE_COL_ASSIGNEE);
	if ((*rc = db_exec(db, SQL_CASE_UPDATE, (struct db_val[]){
	    DB_STR(in->title ? in->title : db_cell(res, 0, CASE_COL_TITLE)),
	    DB_STR(in->description ? in->description :
	    db_cell(res, 0, CASE_COL_DESCRIPTION)),
	    DB_STR(in->severity ? in->severity :
	    db_cell(res, 0, CASE_COL_SEVERITY)),
	    DB_STR0(assignee), DB_STR(ttext), DB_STR(ktext), DB_STR(now_sql),
	    DB_STR(tenant_id), DB_STR(id) }, 9, NULL)) != 0)
		goto dberr;
	/* What was set, as given (after repeats are dropped). */
	changes = json_object_new_object();
	if (in->title)
		json_object_object_add(changes, "title",
		    json_object_new_string(in->title));
	if (in->description)
		json_object_object_add(changes, "description",
		    json_object_new_string(in->description));
	if (in->severity)
		json_object_object_add(changes, "severity",
		    json_object_new_string(in->severity));
	if (in->has_assignee)
		json_object_object_add(changes, "assignee",
		    str_json(in->assignee));
	if (tags)
		json_object_object_add(changes, "tags", json_object_get(tags));
	if (tech)
		json_object_object_add(changes, "techniques",
		    json_object_get(tech));
	if ((*rc = timeline_add(db, tenant_id, id, "updated", now_sql, actor,
	    json_object_get(changes))) != 0 ||
	    (*rc = case_reload(db, tenant_id, id, out)) != 0 ||
	    (*rc = case_event(db, tenant_id, "case.updated", *out, actor,
	    now)) != 0) {
		json_object_put(changes);
		goto dberr;
	}
	*rc = audit_append(db, tenant_id, actor, "case.update", id,
	    changes);
	json_object_put(changes);
	if (*rc != 0)
		goto dberr;
	oc = CASES_OK;
	goto out;
dberr:
	json_object_put(*out);
	*out = NULL;
out:
	db_res_free(res);
	json_object_put(tags);
	json_object_put(tech);
	return oc;
}

static enum cases_outcome
comment_once(struct db *db, const char *tenant_id, const char *id,
    const char *body, json_object *mentions, const char *actor, time_t now,
    json_object **out, int *rc)
{
	struct db_res *res = NULL;
	json_object *fields, *c = NULL, *detail;
	char now_sql[VTIME_SQL_LEN];
	const char *ftext;
	int found;

	*out = NULL;
	vtime_sql(now, now_sql, sizeof(now_sql));
	if ((*rc = lock_tenant(db, tenant_id)) != 0)
		goto dberr;
	if ((found = case_lock(db, tenant_id, id, &res)) <= 0) {
		*rc = found;
		return found == 0 ? CASES_NOT_FOUND : CASES_DB_ERROR;
	}
	db_res_free(res);
	fields = json_object_new_object();
	json_object_object_add(fields, "body", json_object_new_string(body));
	json_object_object_add(fields, "mentions", mentions != NULL ?
	    json_object_get(mentions) : json_object_new_array());
	ftext = json_object_to_json_string_ext(fields, JSON_C_TO_STRING_PLAIN);
	*out = entry_json("commented", now_sql, actor, ftext);
	if ((*rc = timeline_add(db, tenant_id, id, "commented", now_sql,
	    actor, fields)) != 0 ||
	    (*rc = db_exec(db, SQL_CASE_TOUCH, (struct db_val[]){
	    DB_STR(now_sql), DB_STR(tenant_id), DB_STR(id) }, 3, NULL)) != 0 ||
	    (*rc = case_reload(db, tenant_id, id, &c)) != 0 ||
	    (*rc = case_event(db, tenant_id, "case.commented", c, actor,
	    now)) != 0)
		goto dberr;
	detail = json_object_new_object();
	json_object_object_add(detail, "length",
	    json_object_new_int64((int64_t)strlen(body)));
	*rc = audit_append(db, tenant_id, actor, "case.comment", id,
	    detail);
	json_object_put(detail);
	if (*rc != 0)
		goto dberr;
	json_object_put(c);
	return CASES_OK;
dberr:
	json_object_put(c);
	json_object_put(*out);
	*out = NULL;
	return CASES_DB_ERROR;
}

/* Resolve (verdict not NULL) or reopen (verdict NULL). */
static enum cases_outcome
set_status(struct db *db, const char *tenant_id, const char *id,
    const char *verdict, const char *root_cause, const char *narrative,
    const char *actor, time_t now, json_object **out, struct vjson_err *err,
    int *rc)
{
	struct db_res *res = NULL;
	json_object *fields;
	char now_sql[VTIME_SQL_LEN];
	const char *status;
	int found;

	*out = NULL;
	vtime_sql(now, now_sql, sizeof(now_sql));
	if ((*rc = lock_tenant(db, tenant_id)) != 0)
		goto dberr;
	if ((found = case_lock(db, tenant_id, id, &res)) <= 0) {
		*rc = found;
		return found == 0 ? CASES_NOT_FOUND : CASES_DB_ERROR;
	}
	status = db_cell(res, 0, CASE_COL_STATUS);
	if (strcmp(status, verdict != NULL ? "resolved" : "open") == 0) {
		db_res_free(res);
		invalid(err, "status", verdict != NULL ?
		    "The case is already resolved; reopen it first." :
		    "The case is open.");
		return CASES_CONFLICT;
	}
	fields = json_object_new_object();
	if (verdict != NULL) {
		json_object_object_add(fields, "verdict",
		    json_object_new_string(verdict));
		json_object_object_add(fields, "root_cause",
		    str_json(root_cause));
		json_object_object_add(fields, "narrative",
		    str_json(narrative));
		*rc = db_exec(db, SQL_CASE_RESOLVE, (struct db_val[]){
		    DB_STR(verdict), DB_STR0(root_cause), DB_STR0(narrative),
		    DB_STR(now_sql), DB_STR(now_sql), DB_STR(tenant_id),
		    DB_STR(id) }, 7, NULL);
	} else {
		json_object_object_add(fields, "previous_verdict",
		    str_json(db_cell(res, 0, CASE_COL_VERDICT)));
		*rc = db_exec(db, SQL_CASE_REOPEN, (struct db_val[]){
		    DB_STR(now_sql), DB_STR(tenant_id), DB_STR(id) }, 3, NULL);
	}
	db_res_free(res);
	if (*rc != 0) {
		json_object_put(fields);
		goto dberr;
	}
	if ((*rc = timeline_add(db, tenant_id, id, verdict ? "resolved" :
	    "reopened", now_sql, actor, json_object_get(fields))) != 0 ||
	    (*rc = case_reload(db, tenant_id, id, out)) != 0 ||
	    (*rc = case_event(db, tenant_id, verdict ? "case.resolved" :
	    "case.reopened", *out, actor, now)) != 0) {
		json_object_put(fields);
		goto dberr;
	}
	*rc = audit_append(db, tenant_id, actor, verdict ?
	    "case.resolve" : "case.reopen", id, fields);
	json_object_put(fields);
	if (*rc != 0)
		goto dberr;
	return CASES_OK;
dberr:
	json_object_put(*out);
	*out = NULL;
	return CASES_DB_ERROR;
}


/* --- escalation -------------------------------------------------------- */

/* The case an escalation goes into, inside the caller's transaction:
 * case_id NULL opens one (title, severity, description as given; id and
 * *seq set, *created 1); otherwise locks it (CASES_NOT_FOUND,
 * CASES_CONFLICT when resolved). */
static enum cases_outcome
target_case(struct db *db, const char *tenant_id, const char *case_id,
    const char *title, const char *severity, const char *description,
    const char *actor, const char *now_sql, char *id, long long *seq,
    int *created, struct vjson_err *err, int *rc)
{
	struct db_res *res = NULL;
	int found;

	*created = 0;
	if (case_id == NULL) {
		if ((*rc = case_insert(db, tenant_id, title, description,
		    severity, NULL, "[]", "[]", actor, now_sql, id, seq)) != 0)
			return CASES_DB_ERROR;
		*created = 1;
		return CASES_OK;
	}
	if ((found = case_lock(db, tenant_id, case_id, &res)) < 0) {
		*rc = found;
		return CASES_DB_ERROR;
	}
	if (found == 0) {
		invalid(err, "case_id", "No such case.");
		return CASES_NOT_FOUND;
	}
	if (strcmp(db_cell(res, 0, CASE_COL_STATUS), "resolved") == 0) {
		db_res_free(res);
		invalid(err, "case_id", "The case is resolved; reopen it "
		    "first.");
		return CASES_CONFLICT;
	}
	snprintf(id, VIGIL_ID_LEN, "%s", case_id);
	*seq = db_cell_int(res, 0, CASE_COL_SEQ);
	db_res_free(res);
	return CASES_OK;
}

/* After the link: touch the case, read it back, write its event. */
static int
escalated_case(struct db *db, const char *tenant_id, const char *id,
    int created, const char *actor, const char *now_sql, time_t now,
    json_object **out)
{
	int rc;

	if ((rc = db_exec(db, SQL_CASE_TOUCH, (struct db_val[]){
	    DB_STR(now_sql), DB_STR(tenant_id), DB_STR(id) }, 3, NULL)) != 0 ||
	    (rc = case_reload(db, tenant_id, id, out)) != 0)
		return rc;
	return case_event(db, tenant_id, created ? "case.created" :
	    "case.updated", *out, actor, now);
}

/* SQL_CASE_ALERT_LOCK's columns. */
enum { ALERT_COL_SEQ, ALERT_COL_ID, ALERT_COL_TITLE, ALERT_COL_SEVERITY,
    ALERT_COL_STATUS, ALERT_COL_CASE, ALERT_COL_DETECTED,
    ALERT_COL_LAST_SEEN };

static enum cases_outcome
escalate_alert_once(struct db *db, const char *tenant_id,
    const char *alert_id, const char *case_id, const char *actor,
    time_t now, json_object **out, int *created, struct vjson_err *err,
    int *rc)
{
	enum cases_outcome oc = CASES_DB_ERROR;
	struct db_res *alert = NULL;
	json_object *f, *d, *detail;
	char id[VIGIL_ID_LEN], now_sql[VTIME_SQL_LEN], rfc[VTIME_RFC3339_LEN];
	char desc[512];
	const char *in_case, *ftext;
	long long cseq;

	*out = NULL;
	*created = 0;
	*rc = 0;
	if (!id_valid("alert", alert_id)) {
		invalid(err, "id", "No such alert.");
		return CASES_NOT_FOUND;
	}
	vtime_sql(now, now_sql, sizeof(now_sql));
	vtime_rfc3339(now, rfc, sizeof(rfc));
	/* The tenant row, then the case, then the alert: the order every
	 * writer of a case takes. */
	if ((*rc = lock_tenant(db, tenant_id)) != 0)
		goto dberr;
	if ((*rc = db_exec(db, SQL_CASE_ALERT_LOCK, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(alert_id) }, 2, &alert)) != 0)
		goto dberr;
	if (alert->nrows == 0) {
		invalid(err, "id", "No such alert.");
		oc = CASES_NOT_FOUND;
		goto rollback;
	}
	in_case = db_cell(alert, 0, ALERT_COL_CASE);
	if (in_case != NULL && case_id != NULL &&
	    strcmp(in_case, case_id) == 0) {
		/* Already there: nothing to do. */
		db_res_free(alert);
		return (*rc = case_reload(db, tenant_id, case_id, out)) == 0 ?
		    CASES_OK : CASES_DB_ERROR;
	}
	if (in_case != NULL) {
		invalid(err, "case_id", "The alert is already escalated into "
		    "another case.");
		oc = CASES_CONFLICT;
		goto rollback;
	}
	snprintf(desc, sizeof(desc), "Escalated from alert %s.", alert_id);
	if ((oc = target_case(db, tenant_id, case_id,
	    db_cell(alert, 0, ALERT_COL_TITLE),
	    db_cell(alert, 0, ALERT_COL_SEVERITY), desc, actor, now_sql, id,
	    &cseq, created, err, rc)) != CASES_OK) {
		if (oc == CASES_DB_ERROR)
			goto dberr;
		goto rollback;
	}
	oc = CASES_DB_ERROR;
	f = json_object_new_object();
	json_object_object_add(f, "alert_id", json_object_new_string(alert_id));
	json_object_object_add(f, "title",
	    str_json(db_cell(alert, 0, ALERT_COL_TITLE)));
	json_object_object_add(f, "severity",
	    str_json(db_cell(alert, 0, ALERT_COL_SEVERITY)));
	d = json_object_new_object();
	json_object_object_add(d, "case_id", json_object_new_string(id));
	ftext = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN);
	if ((*rc = db_exec(db, SQL_CASE_ALERT_LINK, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id), DB_STR(alert_id), DB_STR(now_sql) },
	    4, NULL)) != 0 ||
	    (*rc = db_exec(db, SQL_CASE_OBSERVABLES_MERGE, (struct db_val[]){
	    DB_INT(cseq), DB_STR(db_cell(alert, 0, ALERT_COL_DETECTED)),
	    DB_STR(db_cell(alert, 0, ALERT_COL_LAST_SEEN)), DB_STR(tenant_id),
	    DB_INT(db_cell_int(alert, 0, ALERT_COL_SEQ)) }, 5, NULL)) != 0 ||
	    (*rc = db_exec(db, SQL_CASE_ALERT_ESCALATE, (struct db_val[]){
	    DB_STR(id), DB_STR(now_sql), DB_STR(tenant_id), DB_STR(alert_id) },
	    4, NULL)) != 0 ||
	    (*rc = db_exec(db, SQL_CASE_ALERT_HISTORY, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(alert_id), DB_STR(now_sql),
	    DB_STR(actor), DB_STR(ftext) }, 5, NULL)) != 0 ||
	    (*rc = timeline_add(db, tenant_id, id, "alert_linked", now_sql,
	    actor, f)) != 0 ||
	    (*rc = escalated_case(db, tenant_id, id, *created, actor, now_sql,
	    now, out)) != 0) {
		json_object_put(d);
		goto dberr;
	}
	json_object_put(d);
	d = json_object_new_object();
	json_object_object_add(d, "event",
	    json_object_new_string("alert.escalated"));
	json_object_object_add(d, "alert_id", json_object_new_string(alert_id));
	json_object_object_add(d, "case_id", json_object_new_string(id));
	json_object_object_add(d, "at", json_object_new_string(rfc));
	json_object_object_add(d, "by", json_object_new_string(actor));
	json_object_object_add(d, "case", json_object_get(*out));
	if ((*rc = events_append(db, tenant_id, "alert.escalated", now, d,
	    NULL)) != 0)
		goto dberr;
	if (*created) {
		detail = json_object_new_object();
		json_object_object_add(detail, "alert_id",
		    json_object_new_string(alert_id));
		if ((*rc = audit_append(db, tenant_id, actor, "case.create",
		    id, detail)) != 0) {
			json_object_put(detail);
			goto dberr;
		}
		json_object_put(detail);
	}
	detail = json_object_new_object();
	json_object_object_add(detail, "case_id", json_object_new_string(id));
	*rc = audit_append(db, tenant_id, actor, "alert.escalate",
	    alert_id, detail);
	json_object_put(detail);
	if (*rc != 0)
		goto dberr;
	oc = CASES_OK;
	goto out;
dberr:
	oc = CASES_DB_ERROR;
rollback:
	json_object_put(*out);
	*out = NULL;
	*created = 0;
out:
	db_res_free(alert);
	return oc;
}

static enum cases_outcome
escalate_finding_once(struct db *db, const char *tenant_id,
    const char *finding_id, const char *case_id, const char *actor,
    time_t now, json_object **out, int *created, struct vjson_err *err,
    int *rc)
{
	enum cases_outcome oc = CASES_DB_ERROR;
	struct db_res *fnd = NULL;
	json_object *f, *detail;
	char id[VIGIL_ID_LEN], now_sql[VTIME_SQL_LEN], desc[512];
	unsigned long long linked;
	long long cseq;

	*out = NULL;
	*created = 0;
	*rc = 0;
	vtime_sql(now, now_sql, sizeof(now_sql));
	if ((*rc = lock_tenant(db, tenant_id)) != 0 ||
	    (*rc = db_exec(db, SQL_CASE_FINDING_GET, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(finding_id) }, 2, &fnd)) != 0)
		goto dberr;
	if (fnd->nrows == 0) {
		invalid(err, "id", "No such finding.");
		oc = CASES_NOT_FOUND;
		goto rollback;
	}
	snprintf(desc, sizeof(desc), "Escalated from finding %s.", finding_id);
	if ((oc = target_case(db, tenant_id, case_id, db_cell(fnd, 0, 1),
	    db_cell(fnd, 0, 2), desc, actor, now_sql, id, &cseq, created, err,
	    rc)) != CASES_OK) {
		if (oc == CASES_DB_ERROR)
			goto dberr;
		goto rollback;
	}
	if ((*rc = db_exec_affected(db, SQL_CASE_FINDING_LINK,
	    (struct db_val[]){ DB_STR(tenant_id), DB_STR(id),
	    DB_STR(finding_id), DB_STR(now_sql) }, 4, &linked)) != 0)
		goto dberr;
	if (linked == 0) {
		/* Already in this case: nothing changes. */
		db_res_free(fnd);
		return (*rc = case_reload(db, tenant_id, id, out)) == 0 ?
		    CASES_OK : CASES_DB_ERROR;
	}
	f = json_object_new_object();
	json_object_object_add(f, "finding_id",
	    json_object_new_string(finding_id));
	json_object_object_add(f, "title", str_json(db_cell(fnd, 0, 1)));
	json_object_object_add(f, "state", str_json(db_cell(fnd, 0, 3)));
	if ((*rc = timeline_add(db, tenant_id, id, "finding_linked", now_sql,
	    actor, f)) != 0 ||
	    (*rc = escalated_case(db, tenant_id, id, *created, actor, now_sql,
	    now, out)) != 0)
		goto dberr;
	if (*created) {
		detail = json_object_new_object();
		json_object_object_add(detail, "finding_id",
		    json_object_new_string(finding_id));
		*rc = audit_append(db, tenant_id, actor, "case.create", id,
		    detail);
		json_object_put(detail);
		if (*rc != 0)
			goto dberr;
	}
	detail = json_object_new_object();
	json_object_object_add(detail, "case_id", json_object_new_string(id));
	*rc = audit_append(db, tenant_id, actor, "finding.escalate",
	    finding_id, detail);
	json_object_put(detail);
	if (*rc != 0)
		goto dberr;
	oc = CASES_OK;
	goto out;
dberr:
	oc = CASES_DB_ERROR;
rollback:
	json_object_put(*out);
	*out = NULL;
	*created = 0;
out:
	db_res_free(fnd);
	return oc;
}

/* Every write of a case runs in db_tx_run, which replays it after a
 * deadlock or a certification failure: each *_once function above (and
 * set_status) is one run, committed when its outcome is CASES_OK and
 * rolled back otherwise, and starts from its inputs, setting *out (and
 * *created) afresh. */
enum cases_tx_kind { CASES_TX_CREATE, CASES_TX_PATCH, CASES_TX_COMMENT,
    CASES_TX_STATUS, CASES_TX_ALERT, CASES_TX_FINDING };

struct cases_tx {
	enum cases_tx_kind	 kind;
	const char		*tenant_id, *id, *other_id, *actor;
	const struct cases_input *in;
	const char		*body, *verdict, *root_cause, *narrative;
	json_object		*mentions;
	time_t			 now;
	json_object		**out;
	int			*created;
	struct vjson_err	*err;
	enum cases_outcome	 oc;
	int			 rc;
};

static int
cases_tx(struct db *db, void *arg)
{
	struct cases_tx *t = arg;

	json_object_put(*t->out);
	*t->out = NULL;
	t->rc = 0;
	switch (t->kind) {
	case CASES_TX_CREATE:
		t->oc = create_once(db, t->tenant_id, t->in, t->actor, t->now,
		    t->out, t->err, &t->rc);
		break;
	case CASES_TX_PATCH:
		t->oc = patch_once(db, t->tenant_id, t->id, t->in, t->actor,
		    t->now, t->out, t->err, &t->rc);
		break;
	case CASES_TX_COMMENT:
		t->oc = comment_once(db, t->tenant_id, t->id, t->body,
		    t->mentions, t->actor, t->now, t->out, &t->rc);
		break;
	case CASES_TX_STATUS:
		t->oc = set_status(db, t->tenant_id, t->id, t->verdict,
		    t->root_cause, t->narrative, t->actor, t->now, t->out,
		    t->err, &t->rc);
		break;
	case CASES_TX_ALERT:
		t->oc = escalate_alert_once(db, t->tenant_id, t->other_id,
		    t->id, t->actor, t->now, t->out, t->created, t->err,
		    &t->rc);
		break;
	case CASES_TX_FINDING:
		t->oc = escalate_finding_once(db, t->tenant_id, t->other_id,
		    t->id, t->actor, t->now, t->out, t->created, t->err,
		    &t->rc);
		break;
	}
	if (t->oc == CASES_OK)
		return 0;
	if (t->oc == CASES_DB_ERROR)
		return t->rc != 0 ? t->rc : DB_ERR;
	return 1;
}

static enum cases_outcome
cases_run(struct db *db, struct cases_tx *t, int *rc)
{
	int r;

	*t->out = NULL;
	t->oc = CASES_DB_ERROR;
	r = db_tx_run(db, cases_tx, t);
	*rc = r < 0 ? r : 0;
	if (r < 0) {
		json_object_put(*t->out);
		*t->out = NULL;
		return CASES_DB_ERROR;
	}
	return t->oc;
}

enum cases_outcome
cases_create(struct db *db, const char *tenant_id,
    const struct cases_input *in, const char *actor, time_t now,
    json_object **out, struct vjson_err *err, int *rc)
{
	struct cases_tx t;

	memset(&t, 0, sizeof(t));
	t.kind = CASES_TX_CREATE;
	t.tenant_id = tenant_id;
	t.in = in;
	t.actor = actor;
	t.now = now;
	t.out = out;
	t.err = err;
	return cases_run(db, &t, rc);
}

enum cases_outcome
cases_patch(struct db *db, const char *tenant_id, const char *id,
    const struct cases_input *in, const char *actor, time_t now,
    json_object **out, struct vjson_err *err, int *rc)
{
	struct cases_tx t;

	memset(&t, 0, sizeof(t));
	t.kind = CASES_TX_PATCH;
	t.tenant_id = tenant_id;
	t.id = id;
	t.in = in;
	t.actor = actor;
	t.now = now;
	t.out = out;
	t.err = err;
	return cases_run(db, &t, rc);
}

enum cases_outcome
cases_comment(struct db *db, const char *tenant_id, const char *id,
    const char *body, json_object *mentions, const char *actor, time_t now,
    json_object **out, int *rc)
{
	struct cases_tx t;

	memset(&t, 0, sizeof(t));
	t.kind = CASES_TX_COMMENT;
	t.tenant_id = tenant_id;
	t.id = id;
	t.body = body;
	t.mentions = mentions;
	t.actor = actor;
	t.now = now;
	t.out = out;
	return cases_run(db, &t, rc);
}

enum cases_outcome
cases_escalate_alert(struct db *db, const char *tenant_id,
    const char *alert_id, const char *case_id, const char *actor,
    time_t now, json_object **out, int *created, struct vjson_err *err,
    int *rc)
{
	struct cases_tx t;

	memset(&t, 0, sizeof(t));
	t.kind = CASES_TX_ALERT;
	t.tenant_id = tenant_id;
	t.other_id = alert_id;
	t.id = case_id;
	t.actor = actor;
	t.now = now;
	t.out = out;
	t.created = created;
	t.err = err;
	return cases_run(db, &t, rc);
}

enum cases_outcome
cases_escalate_finding(struct db *db, const char *tenant_id,
    const char *finding_id, const char *case_id, const char *actor,
    time_t now, json_object **out, int *created, struct vjson_err *err,
    int *rc)
{
	struct cases_tx t;

	memset(&t, 0, sizeof(t));
	t.kind = CASES_TX_FINDING;
	t.tenant_id = tenant_id;
	t.other_id = finding_id;
	t.id = case_id;
	t.actor = actor;
	t.now = now;
	t.out = out;
	t.created = created;
	t.err = err;
	return cases_run(db, &t, rc);
}

enum cases_outcome
cases_resolve(struct db *db, const char *tenant_id, const char *id,
    const char *verdict, const char *root_cause, const char *narrative,
    const char *actor, time_t now, json_object **out,
    struct vjson_err *err, int *rc)
{
	struct cases_tx t;

	memset(&t, 0, sizeof(t));
	t.kind = CASES_TX_STATUS;
	t.tenant_id = tenant_id;
	t.id = id;
	t.verdict = verdict;
	t.root_cause = root_cause;
	t.narrative = narrative;
	t.actor = actor;
	t.now = now;
	t.out = out;
	t.err = err;
	return cases_run(db, &t, rc);
}

enum cases_outcome
cases_reopen(struct db *db, const char *tenant_id, const char *id,
    const char *actor, time_t now, json_object **out, struct vjson_err *err,
    int *rc)
{
	struct cases_tx t;

	memset(&t, 0, sizeof(t));
	t.kind = CASES_TX_STATUS;
	t.tenant_id = tenant_id;
	t.id = id;
	t.actor = actor;
	t.now = now;
	t.out = out;
	t.err = err;
	return cases_run(db, &t, rc);
}
