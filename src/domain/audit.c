/* audit.c: append-only, hash-chained audit entries: appending, verifying
 * a chain, and reading it back for the API. */
#include "vigil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "id.h"
#include "vjson.h"
#include "vtime.h"

/* An export's limits: entries, and the size of those shown (as stored,
 * plus a little per field), to stop well before the response buffer's
 * 64 MiB cap. */
#define AUDIT_EXPORT_MAX	10000
#define AUDIT_EXPORT_BYTES	(32L * 1024 * 1024)

void
audit_hash(const char *prev_hash, long long seq, const char *at,
    const char *actor, const char *action, const char *object,
    const char *detail, char out[65])
{
	json_object *a = json_object_new_array();
	const char *s;
	size_t len;

	json_object_array_add(a, json_object_new_string(prev_hash));
	json_object_array_add(a, json_object_new_int64(seq));
	json_object_array_add(a, json_object_new_string(at));
	json_object_array_add(a, json_object_new_string(actor));
	json_object_array_add(a, json_object_new_string(action));
	json_object_array_add(a, json_object_new_string(object));
	json_object_array_add(a, json_object_new_string(detail));
	s = vjson_str(a, &len);
	crypto_sha256_hex(s, len, out);
	json_object_put(a);
}

/* AUDIT_COLS in db.c (SQL_AUDIT_LIST, _RANGE, _CHAIN). */
enum { AUDIT_C_ID, AUDIT_C_SEQ, AUDIT_C_AT, AUDIT_C_ACTOR, AUDIT_C_ACTION,
    AUDIT_C_OBJECT, AUDIT_C_DETAIL, AUDIT_C_PREV, AUDIT_C_HASH };
/* AUDIT_HEAD_COLS in db.c (SQL_AUDIT_LAST, _LOCK_HEAD, _HEAD). */
enum { AUDIT_HEAD_C_SEQ, AUDIT_HEAD_C_HASH };

void
audit_head_set(struct audit_head *head, const char *seq, const char *hash)
{
	long long n = 0;
	char *end;

	head->seq = 0;
	snprintf(head->hash, sizeof(head->hash), "%s", AUDIT_GENESIS);
	if (seq == NULL || hash == NULL)
		return;
	errno = 0;
	n = strtoll(seq, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1)
		return;
	head->seq = n;
	snprintf(head->hash, sizeof(head->hash), "%s", hash);
}

/* The head as the locking read s (SQL_AUDIT_LOCK_HEAD or SQL_AUDIT_LAST)
 * returns it: 1 with *head set, 0 with no row (head at the genesis), or
 * a DB_* code. */
static int
head_read(struct db *db, enum db_stmt s, const char *tenant_id,
    struct audit_head *head)
{
	struct db_res *res = NULL;
	int rc, found;

	rc = db_exec(db, s, (struct db_val[]){ DB_STR(tenant_id) }, 1, &res);
	if (rc != 0)
		return rc;
	found = res->nrows > 0;
	audit_head_set(head, found ? db_cell(res, 0, AUDIT_HEAD_C_SEQ) : NULL,
	    found ? db_cell(res, 0, AUDIT_HEAD_C_HASH) : NULL);
	db_res_free(res);
	return found;
}

int
audit_head_lock(struct db *db, const char *tenant_id,
    struct audit_head *head)
{
	/* Serialise appends per tenant on the tenant row, so that two
	 * writers never take the same sequence number; the head comes with
	 * the lock. */
	return head_read(db, SQL_AUDIT_LOCK_HEAD, tenant_id, head);
}

int
audit_head_lock_row(struct db *db, const char *tenant_id,
    struct audit_head *head)
{
	return head_read(db, SQL_AUDIT_LAST, tenant_id, head);
}

int
audit_append(struct db *db, const char *tenant_id, const char *actor,
    const char *action, const char *object, json_object *detail)
{
	struct audit_head head;
	int rc;

	/* No tenant row: nothing was locked, and the insert below fails
	 * on its own as before (the log names a tenant). */
	if ((rc = audit_head_lock(db, tenant_id, &head)) < 0)
		return rc;
	return audit_append_head(db, tenant_id, &head, actor, action, object,
	    detail);
}

int
audit_append_locked(struct db *db, const char *tenant_id, const char *actor,
    const char *action, const char *object, json_object *detail)
{
	struct audit_head head;
	int rc;

	if ((rc = audit_head_lock_row(db, tenant_id, &head)) < 0)
		return rc;
	return audit_append_head(db, tenant_id, &head, actor, action, object,
	    detail);
}

int
audit_append_head(struct db *db, const char *tenant_id,
    struct audit_head *head, const char *actor, const char *action,
    const char *object, json_object *detail)
{
	char id[VIGIL_ID_LEN], at[VTIME_SQL_LEN], hash[65];
	const char *d;
	long long seq = head->seq + 1;
	size_t dlen;
	int rc;

	d = detail ? vjson_str(detail, &dlen) : "{}";
	vtime_sql(time(NULL), at, sizeof(at));
	audit_hash(head->hash, seq, at, actor, action, object, d, hash);
	if (id_new("aud", id, sizeof(id)) != 0)
		return DB_ERR;
	/* The insert trigger (0018, audit_log_after_insert since 0048) moves
	 * the stored head. */
	rc = db_exec(db, SQL_AUDIT_INSERT, (struct db_val[]){
	    DB_STR(id), DB_STR(tenant_id), DB_INT(seq), DB_STR(at),
	    DB_STR(actor), DB_STR(action), DB_STR(object), DB_STR(d),
	    DB_STR(head->hash), DB_STR(hash) }, 10, NULL);
	if (rc == 0) {
		head->seq = seq;
		snprintf(head->hash, sizeof(head->hash), "%s", hash);
	}
	return rc;
}

/* The columns of SQL_AUDIT_INSERT_* (as SQL_AUDIT_INSERT). */
/* The columns of an audit row as audit_append_many binds them. */
enum audit_row_col {
	AUDIT_ROW_ID,
	AUDIT_ROW_TENANT,
	AUDIT_ROW_SEQ,
	AUDIT_ROW_AT,
	AUDIT_ROW_ACTOR,
	AUDIT_ROW_ACTION,
	AUDIT_ROW_OBJECT,
	AUDIT_ROW_DETAIL,
	AUDIT_ROW_PREV,
	AUDIT_ROW_HASH,
	AUDIT_NCOLS
};

/* The chain's head moved to (seq, hash), the last entry just inserted,
 * when the insert trigger deferred that to the writer (0045: the caller
 * set @vigil_defer); otherwise the trigger moved it and this changes
 * nothing. */
static int
deferred_head(struct db *db, const char *tenant_id, long long seq,
    const char *hash)
{
	return db_exec(db, SQL_AUDIT_HEAD_DEFERRED, (struct db_val[]){
	    DB_STR(tenant_id), DB_INT(seq), DB_STR(hash) }, 3, NULL);
}

int
audit_append_many(struct db *db, const char *tenant_id,
    const struct audit_entry *e, size_t n, int deferred)
{
	struct audit_head head;
	struct db_val *p = NULL;
	char at[VTIME_SQL_LEN], (*ids)[VIGIL_ID_LEN] = NULL;
	char (*hash)[65] = NULL;
	const char *prev;
	long long seq;
	size_t i;
	int rc;

	if (n == 0)
		return 0;
	/* As audit_append: the tenant row serialises the chain (no such
	 * row: the insert below fails on its own). */
	if ((rc = audit_head_lock(db, tenant_id, &head)) < 0)
		return rc;
	rc = DB_ERR;
	if ((p = calloc(n * AUDIT_NCOLS, sizeof(*p))) == NULL ||
	    (ids = calloc(n, sizeof(*ids))) == NULL ||
	    (hash = calloc(n, sizeof(*hash))) == NULL)
		goto out;
	prev = head.hash;
	seq = head.seq + 1;
	vtime_sql(time(NULL), at, sizeof(at));
	for (i = 0; i < n; i++, seq++) {
		struct db_val *r = p + i * AUDIT_NCOLS;

		audit_hash(prev, seq, at, e[i].actor, e[i].action,
		    e[i].object, e[i].detail, hash[i]);
		if (id_new("aud", ids[i], sizeof(ids[i])) != 0)
			goto out;
		r[AUDIT_ROW_ID] = DB_STR(ids[i]);
		r[AUDIT_ROW_TENANT] = DB_STR(tenant_id);
		r[AUDIT_ROW_SEQ] = DB_INT(seq);
		r[AUDIT_ROW_AT] = DB_STR(at);
		r[AUDIT_ROW_ACTOR] = DB_STR(e[i].actor);
		r[AUDIT_ROW_ACTION] = DB_STR(e[i].action);
		r[AUDIT_ROW_OBJECT] = DB_STR(e[i].object);
		r[AUDIT_ROW_DETAIL] = DB_STR(e[i].detail);
		r[AUDIT_ROW_PREV] = DB_STR(prev);
		r[AUDIT_ROW_HASH] = DB_STR(hash[i]);
		prev = hash[i];
	}
	if ((rc = db_exec_rows(db, SQL_AUDIT_INSERT_64, p, AUDIT_NCOLS,
	    n)) != 0 || !deferred ||
	    (rc = deferred_head(db, tenant_id, seq - 1, hash[n - 1])) != 0)
		goto out;
	/* Per action, once each (a batch has few). */
	rc = db_exec_tally(db, SQL_AUDIT_COUNT_DEFERRED, tenant_id, p,
	    AUDIT_NCOLS, AUDIT_ROW_ACTION, n);
out:
	free(hash);
	free(ids);
	free(p);
	return rc;
}

int
audit_commit(struct db *db, const char *tenant_id, const char *actor,
    const char *action, const char *object, json_object *detail)
{
	int rc;

	rc = audit_append(db, tenant_id, actor, action, object, detail);
	json_object_put(detail);
	if (rc == 0)
		rc = db_commit(db);
	return rc;
}

void
audit_chain_init(struct audit_chain *c)
{
	c->seq = 0;
	snprintf(c->hash, sizeof(c->hash), "%s", AUDIT_GENESIS);
	c->id[0] = '\0';
}

static int
row_complete(const struct audit_row *r)
{
	return r->prev_hash != NULL && r->hash != NULL && r->at != NULL &&
	    r->actor != NULL && r->action != NULL && r->object != NULL &&
	    r->detail != NULL;
}

static void
row_hash(const struct audit_row *r, long long seq, char out[65])
{
	audit_hash(r->prev_hash, seq, r->at, r->actor, r->action, r->object,
	    r->detail, out);
}

static int
problem(struct audit_problem *out, enum audit_problem_kind kind,
    const struct audit_row *r)
{
	memset(out, 0, sizeof(*out));
	out->kind = kind;
	if (r != NULL) {
		snprintf(out->id, sizeof(out->id), "%s", r->id ? r->id : "");
		out->seq = r->seq;
	}
	return 1;
}

/* A row whose hash fails: was it written at another seq of this batch
 * (moved), or changed? Trying the other seqs costs one hash per row, and
 * only once, at the first failure. */
static int
bad_row(const struct audit_row *rows, size_t n, size_t i,
    struct audit_problem *out)
{
	char h[65];
	size_t j;

	for (j = 0; j < n; j++) {
		if (j == i || rows[j].seq == rows[i].seq)
			continue;
		row_hash(&rows[i], rows[j].seq, h);
		if (strcmp(h, rows[i].hash) == 0) {
			problem(out, AUDIT_REORDERED, &rows[i]);
			out->written_as = rows[j].seq;
			return 1;
		}
	}
	return problem(out, AUDIT_MODIFIED, &rows[i]);
}

/* rows[i] comes after a gap in seq: the missing entry was deleted, unless
 * a later row of the batch was written at the first missing seq (then it
 * was moved away from there). */
static int
gap(const struct audit_chain *chain, const struct audit_row *rows, size_t n,
    size_t i, struct audit_problem *out)
{
	char h[65];
	size_t j;

	for (j = i + 1; j < n; j++) {
		if (!row_complete(&rows[j]))
			continue;
		if (rows[j].seq == chain->seq + 1)
			/* There, just not in order: only a caller that did
			 * not sort by seq does this. */
			return problem(out, AUDIT_REORDERED, &rows[j]);
		row_hash(&rows[j], chain->seq + 1, h);
		if (strcmp(h, rows[j].hash) == 0) {
			problem(out, AUDIT_REORDERED, &rows[j]);
			out->written_as = chain->seq + 1;
			return 1;
		}
	}
	problem(out, AUDIT_DELETED, &rows[i]);
	out->missing_from = chain->seq + 1;
	out->missing_to = rows[i].seq - 1;
	return 1;
}

int
audit_verify_rows(struct audit_chain *chain, const struct audit_row *rows,
    size_t n, struct audit_problem *out)
{
	char h[65];
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		const struct audit_row *r = &rows[i];

		if (!row_complete(r))
			return problem(out, AUDIT_MODIFIED, r);
		/* 1. The row against its own hash: content edited in place,
		 * or a row moved to another seq (seq is hashed). */
		row_hash(r, r->seq, h);
		if (strcmp(h, r->hash) != 0)
			return bad_row(rows, n, i, out);
		/* 2. Its place in the sequence. */
		if (r->seq <= chain->seq)
			return problem(out, AUDIT_REORDERED, r);
		if (r->seq > chain->seq + 1)
			return gap(chain, rows, n, i, out);
		/* 3. The link: a self-consistent row that does not chain onto
		 * its predecessor means the predecessor was edited and its
		 * hash recomputed (or this row's prev_hash was). */
		if (strcmp(r->prev_hash, chain->hash) != 0) {
			if (chain->seq == 0)
				return problem(out, AUDIT_MODIFIED, r);
			problem(out, AUDIT_MODIFIED, NULL);
			snprintf(out->id, sizeof(out->id), "%s", chain->id);
			out->seq = chain->seq;
			return 1;
		}
		chain->seq = r->seq;
		snprintf(chain->hash, sizeof(chain->hash), "%s", r->hash);
		snprintf(chain->id, sizeof(chain->id), "%s", r->id ? r->id : "");
	}
	return 0;
}

void
audit_problem_str(const struct audit_problem *p, char *buf, size_t bufsz)
{
	const char *id = p->id[0] ? p->id : "(previous batch)";

	switch (p->kind) {
	case AUDIT_INTACT:
		snprintf(buf, bufsz, "intact");
		break;
	case AUDIT_MODIFIED:
		snprintf(buf, bufsz, "entry %s (seq %lld) was modified", id,
		    p->seq);
		break;
	case AUDIT_DELETED:
		if (p->missing_from == p->missing_to)
			snprintf(buf, bufsz, "entry seq %lld was deleted "
			    "(before entry %s, seq %lld)", p->missing_from, id,
			    p->seq);
		else
			snprintf(buf, bufsz, "entries seq %lld to %lld were "
			    "deleted (before entry %s, seq %lld)",
			    p->missing_from, p->missing_to, id, p->seq);
		break;
	case AUDIT_REORDERED:
		if (p->written_as > 0)
			snprintf(buf, bufsz, "entry %s (seq %lld) was moved: "
			    "it was written as seq %lld", id, p->seq,
			    p->written_as);
		else
			snprintf(buf, bufsz, "entry %s (seq %lld) is out of "
			    "order", id, p->seq);
		break;
	}
}

/* -- reading the log back ------------------------------------------------ */

/* rows[0..n) of res as audit rows borrowing its cells: a new array the
 * caller frees, or NULL if out of memory (n == 0 gives a 1-row array). */
static struct audit_row *
rows_at(const struct db_res *res, size_t n)
{
	struct audit_row *rows;
	size_t i;

	if ((rows = calloc(n ? n : 1, sizeof(*rows))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		rows[i].id = db_cell(res, i, AUDIT_C_ID);
		rows[i].seq = db_cell_int(res, i, AUDIT_C_SEQ);
		rows[i].at = db_cell(res, i, AUDIT_C_AT);
		rows[i].actor = db_cell(res, i, AUDIT_C_ACTOR);
		rows[i].action = db_cell(res, i, AUDIT_C_ACTION);
		rows[i].object = db_cell(res, i, AUDIT_C_OBJECT);
		rows[i].detail = db_cell(res, i, AUDIT_C_DETAIL);
		rows[i].prev_hash = db_cell(res, i, AUDIT_C_PREV);
		rows[i].hash = db_cell(res, i, AUDIT_C_HASH);
	}
	return rows;
}

void
audit_page_free(struct audit_page *p)
{
	if (p == NULL)
		return;
	free(p->rows);
	db_res_free(p->res);
	free(p);
}

int
audit_list(struct db *db, const char *tenant_id, const char *action,
    const time_t *since, long long before, long limit,
    struct audit_page **out)
{
	struct audit_page *p;
	struct db_res *cnt = NULL;
	char at[VTIME_SQL_LEN];
	int rc;

	*out = NULL;
	if (since != NULL)
		vtime_sql(*since, at, sizeof(at));
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return DB_ERR;
	/* One row more than asked tells whether there is a next page. */
	if ((rc = db_exec(db, SQL_AUDIT_LIST, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR0(action), DB_STR0(action),
	    since ? DB_STR(at) : DB_NUL, since ? DB_STR(at) : DB_NUL,
	    DB_INT(before), DB_INT(limit + 1) }, 7, &p->res)) != 0)
		goto out;
	/* The total: kept counts, or a bounded count with "since". */
	if (since == NULL)
		rc = db_exec(db, SQL_AUDIT_COUNT, (struct db_val[]){
		    DB_STR(tenant_id), DB_STR0(action), DB_STR0(action) }, 3,
		    &cnt);
	else
		rc = db_exec(db, SQL_AUDIT_COUNT_SINCE, (struct db_val[]){
		    DB_STR0(action), DB_STR0(action), DB_STR(tenant_id),
		    DB_STR(at) }, 4, &cnt);
	if (rc != 0)
		goto out;
	p->has_more = p->res->nrows > (size_t)limit;
	p->n = p->has_more ? (size_t)limit : p->res->nrows;
	p->total = db_cell_int(cnt, 0, 0);
	if ((p->rows = rows_at(p->res, p->n)) == NULL) {
		rc = DB_ERR;
		goto out;
	}
	*out = p;
	p = NULL;
out:
	db_res_free(cnt);
	audit_page_free(p);
	return rc;
}

int
audit_chain_next(struct db *db, const char *tenant_id, long long after,
    long limit, struct audit_page **out)
{
	struct audit_page *p;
	int rc;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return DB_ERR;
	if ((rc = db_exec(db, SQL_AUDIT_CHAIN, (struct db_val[]){
	    DB_STR(tenant_id), DB_INT(after), DB_INT(limit) }, 3,
	    &p->res)) != 0)
		goto out;
	p->n = p->res->nrows;
	p->total = (long long)p->n;
	if ((p->rows = rows_at(p->res, p->n)) == NULL) {
		rc = DB_ERR;
		goto out;
	}
	*out = p;
	p = NULL;
out:
	audit_page_free(p);
	return rc;
}

void
audit_export_free(struct audit_export *x)
{
	if (x == NULL)
		return;
	free(x->rows);
	db_res_free(x->res);
	free(x);
}

int
audit_export(struct db *db, const char *tenant_id, const time_t *since,
    const time_t *until, struct audit_export **out)
{
	struct audit_export *x;
	struct db_res *head = NULL;
	char from[VTIME_SQL_LEN], to[VTIME_SQL_LEN];
	const struct db_res *res;
	long bytes = 0;
	size_t i, col, n;
	int rc;

	*out = NULL;
	if (since != NULL)
		vtime_sql(*since, from, sizeof(from));
	if (until != NULL)
		vtime_sql(*until, to, sizeof(to));
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return DB_ERR;
	/* One snapshot for the entries and the head. */
	if ((rc = db_begin(db)) != 0 ||
	    (rc = db_exec(db, SQL_AUDIT_RANGE, (struct db_val[]){
	    DB_STR(tenant_id),
	    since ? DB_STR(from) : DB_NUL, since ? DB_STR(from) : DB_NUL,
	    until ? DB_STR(to) : DB_NUL, until ? DB_STR(to) : DB_NUL,
	    DB_INT(AUDIT_EXPORT_MAX + 1) }, 6, &x->res)) != 0 ||
	    (rc = db_exec(db, SQL_AUDIT_HEAD, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, &head)) != 0 ||
	    (rc = db_commit(db)) != 0) {
		db_rollback(db);
		goto out;
	}
	res = x->res;
	n = res->nrows > AUDIT_EXPORT_MAX ? AUDIT_EXPORT_MAX : res->nrows;
	x->truncated = res->nrows > AUDIT_EXPORT_MAX;
	for (i = 0; i < n; i++) {
		if (bytes > AUDIT_EXPORT_BYTES) {
			x->truncated = 1;
			break;
		}
		for (col = 0; col < res->ncols; col++)
			bytes += (long)res->lens[i * res->ncols + col] + 16;
	}
	x->n = i;
	x->head_seq = head->nrows > 0 ?
	    db_cell_int(head, 0, AUDIT_HEAD_C_SEQ) : 0;
	snprintf(x->head_hash, sizeof(x->head_hash), "%s",
	    head->nrows > 0 && db_cell(head, 0, AUDIT_HEAD_C_HASH) ?
	    db_cell(head, 0, AUDIT_HEAD_C_HASH) : AUDIT_GENESIS);
	if ((x->rows = rows_at(res, x->n)) == NULL) {
		rc = DB_ERR;
		goto out;
	}
	*out = x;
	x = NULL;
out:
	db_res_free(head);
	audit_export_free(x);
	return rc;
}

static json_object *
str_or_empty(const char *s)
{
	return json_object_new_string(s ? s : "");
}

json_object *
audit_entry_to_json(const struct audit_row *a, int with_text)
{
	json_object *o = json_object_new_object(), *d = NULL;
	struct vjson_err e;

	json_object_object_add(o, "id", str_or_empty(a->id));
	json_object_object_add(o, "seq", json_object_new_int64(a->seq));
	json_object_object_add(o, "at", vtime_sql_json(a->at));
	json_object_object_add(o, "actor", str_or_empty(a->actor));
	json_object_object_add(o, "action", str_or_empty(a->action));
	json_object_object_add(o, "object", str_or_empty(a->object));
	/* Written by audit_append from json-c, so it parses; an entry
	 * edited by hand into something else is shown as its text. */
	if (a->detail != NULL)
		d = vjson_parse(a->detail, strlen(a->detail),
		    VIGIL_MAX_JSON_DEPTH, VIGIL_MAX_BODY * 16, &e);
	json_object_object_add(o, "detail", d != NULL ? d :
	    str_or_empty(a->detail));
	if (with_text)
		json_object_object_add(o, "detail_text",
		    str_or_empty(a->detail));
	json_object_object_add(o, "prev_hash", str_or_empty(a->prev_hash));
	json_object_object_add(o, "hash", str_or_empty(a->hash));
	return o;
}

json_object *
audit_export_to_json(const struct audit_export *x, const char *tenant_id,
    time_t now)
{
	json_object *root = json_object_new_object(), *arr, *h;
	char at[VTIME_RFC3339_LEN];
	size_t i;

	vtime_rfc3339(now, at, sizeof(at));
	arr = json_object_new_array();
	for (i = 0; i < x->n; i++)
		json_object_array_add(arr, audit_entry_to_json(&x->rows[i], 1));
	json_object_object_add(root, "exported_at",
	    json_object_new_string(at));
	json_object_object_add(root, "tenant_id",
	    json_object_new_string(tenant_id));
	json_object_object_add(root, "total_entries",
	    json_object_new_int64((int64_t)x->n));
	json_object_object_add(root, "truncated",
	    json_object_new_boolean(x->truncated));
	json_object_object_add(root, "entries", arr);
	/* The head of the whole chain, not of the range: keep it to prove
	 * later that nothing up to it was deleted. */
	h = json_object_new_object();
	json_object_object_add(h, "seq", json_object_new_int64(x->head_seq));
	json_object_object_add(h, "hash",
	    json_object_new_string(x->head_hash));
	json_object_object_add(root, "chain_head", h);
	return root;
}
