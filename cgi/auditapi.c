/* auditapi.c: GET /api/v1/audit (admin; newest first, keyset cursor) and
 * POST /api/v1/audit/export (admin; a range in chain order plus the
 * chain head). The entries are written by audit_append (src/audit.c);
 * nothing here writes.
 *
 * An entry's hash can be checked outside Vigil: it is the lowercase hex
 * SHA-256 of the compact JSON array
 *   [prev_hash, seq, at, actor, action, object, detail_text]
 * where at is the entry's timestamp written "YYYY-MM-DD HH:MM:SS" and
 * detail_text the exact detail JSON text stored (the export carries it).
 * A deleted tail is invisible from the rows alone, so an export's
 * chain_head is the anchor to keep: a later export (or `vigilctl audit
 * verify --head SEQ:HASH`) must still contain that entry with that hash. */
#include "vigil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "audit.h"
#include "db.h"
#include "vjson.h"
#include "vtime.h"

#define AUDIT_EXPORT_MAX	10000
/* Stop an export before the response buffer's 64 MiB cap. */
#define AUDIT_EXPORT_BYTES	(32L * 1024 * 1024)
#define AUDIT_ACTION_MAX	64

static void
bad(struct request *r, const char *field, const char *msg)
{
	response_error(r, 400, "invalid_request", msg, field);
}

/* Columns of SQL_AUDIT_LIST / SQL_AUDIT_RANGE. */
enum { C_ID, C_SEQ, C_AT, C_ACTOR, C_ACTION, C_OBJECT, C_DETAIL, C_PREV,
    C_HASH };

static json_object *
cell_str(const struct db_res *res, size_t row, size_t col)
{
	const char *s = db_cell(res, row, col);

	return json_object_new_string(s ? s : "");
}

/* One entry as the API shows it; with_text adds detail_text (the bytes
 * that were hashed). A new object the caller owns. *bytes grows by the
 * entry's stored size. */
static json_object *
entry_json(const struct db_res *res, size_t i, int with_text, long *bytes)
{
	json_object *o = json_object_new_object(), *d = NULL;
	const char *detail = db_cell(res, i, C_DETAIL);
	char ts[VTIME_RFC3339_LEN];
	struct vjson_err e;
	size_t col;

	json_object_object_add(o, "id", cell_str(res, i, C_ID));
	json_object_object_add(o, "seq",
	    json_object_new_int64(db_cell_int(res, i, C_SEQ)));
	json_object_object_add(o, "at", db_cell(res, i, C_AT) != NULL &&
	    vtime_sql_to_rfc3339(db_cell(res, i, C_AT), ts, sizeof(ts)) == 0 ?
	    json_object_new_string(ts) : NULL);
	json_object_object_add(o, "actor", cell_str(res, i, C_ACTOR));
	json_object_object_add(o, "action", cell_str(res, i, C_ACTION));
	json_object_object_add(o, "object", cell_str(res, i, C_OBJECT));
	/* Written by audit_append from json-c, so it parses; an entry
	 * edited by hand into something else is shown as its text. */
	if (detail != NULL)
		d = vjson_parse(detail, strlen(detail), VIGIL_MAX_JSON_DEPTH,
		    VIGIL_MAX_BODY * 16, &e);
	json_object_object_add(o, "detail", d != NULL ? d :
	    json_object_new_string(detail ? detail : ""));
	if (with_text)
		json_object_object_add(o, "detail_text",
		    cell_str(res, i, C_DETAIL));
	json_object_object_add(o, "prev_hash", cell_str(res, i, C_PREV));
	json_object_object_add(o, "hash", cell_str(res, i, C_HASH));
	for (col = 0; col < res->ncols; col++)
		*bytes += (long)res->lens[i * res->ncols + col] + 16;
	return o;
}

/* An action name as audit_append callers write them: "settings.update". */
static int
action_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > AUDIT_ACTION_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static void
auditapi_list(struct request *r, struct db *db)
{
	static const char *const known[] = { "action", "since", "limit",
	    "cursor" };
	struct db_res *res = NULL, *cnt = NULL;
	const char *action, *s;
	char since_sql[VTIME_SQL_LEN], cursor[32];
	json_object *root, *arr;
	long long before = (1LL << 62);
	long limit, bytes = 0;
	time_t since = 0;
	size_t i, j, n;
	int rc;

	for (i = 0; i < r->nparams; i++) {
		for (j = 0; j < NELEM(known); j++)
			if (strcmp(r->params[i].name, known[j]) == 0)
				break;
		if (j == NELEM(known)) {
			bad(r, r->params[i].name, "Unknown query parameter.");
			return;
		}
	}
	if ((action = request_param(r, "action")) != NULL &&
	    !action_valid(action)) {
		bad(r, "action", "action must be 1 to 64 of a-z, 0-9, '.', "
		    "'_' and '-', e.g. settings.update.");
		return;
	}
	if ((s = request_param(r, "since")) != NULL) {
		if (vtime_parse_rfc3339(s, &since) != 0) {
			bad(r, "since", "since must be an RFC 3339 timestamp.");
			return;
		}
		vtime_sql(since, since_sql, sizeof(since_sql));
	}
	if (params_limit(r, &limit) != 0 ||
	    params_seq_cursor(r, &before) != 0)
		return;
	/* One row more than asked tells whether there is a next page. */
	rc = db_exec(db, SQL_AUDIT_LIST, (struct db_val[]){
	    DB_STR(r->auth.tenant_id), DB_STR0(action), DB_STR0(action),
	    since ? DB_STR(since_sql) : DB_NUL,
	    since ? DB_STR(since_sql) : DB_NUL,
	    DB_INT(before), DB_INT(limit + 1) }, 7, &res);
	if (rc == 0)
		rc = db_exec(db, SQL_AUDIT_COUNT, (struct db_val[]){
		    DB_STR(r->auth.tenant_id), DB_STR0(action),
		    DB_STR0(action), since ? DB_STR(since_sql) : DB_NUL,
		    since ? DB_STR(since_sql) : DB_NUL }, 5, &cnt);
	if (rc != 0) {
		api_db_error(r, rc);
		goto out;
	}
	n = res->nrows > (size_t)limit ? (size_t)limit : res->nrows;
	root = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(arr, entry_json(res, i, 0, &bytes));
	json_object_object_add(root, "entries", arr);
	json_object_object_add(root, "total",
	    json_object_new_int64(db_cell_int(cnt, 0, 0)));
	json_object_object_add(root, "has_more",
	    json_object_new_boolean(res->nrows > (size_t)limit));
	if (res->nrows > (size_t)limit)
		snprintf(cursor, sizeof(cursor), "s%lld",
		    db_cell_int(res, n - 1, C_SEQ));
	json_object_object_add(root, "next_cursor",
	    res->nrows > (size_t)limit ? json_object_new_string(cursor) :
	    NULL);
	response_json(r, 200, root);
out:
	db_res_free(cnt);
	db_res_free(res);
}

/* The optional export body {since, until}: RFC 3339, inclusive. Fills
 * the SQL forms ("" when absent). 0, or -1 after a 400. */
static int
export_args(struct request *r, char *since, char *until, size_t sz)
{
	static const char *const allowed[] = { "since", "until", NULL };
	struct vjson_err e;
	const char *s = NULL, *u = NULL;
	time_t ts = 0, tu = 0;

	since[0] = until[0] = '\0';
	if (r->json == NULL)
		return 0;
	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_string(r->json, "since", 0, 1, 64, &s, &e) < 0 ||
	    vjson_get_string(r->json, "until", 0, 1, 64, &u, &e) < 0) {
		bad(r, e.field, e.message);
		return -1;
	}
	if (s != NULL && vtime_parse_rfc3339(s, &ts) != 0) {
		bad(r, "since", "since must be an RFC 3339 timestamp.");
		return -1;
	}
	if (u != NULL && vtime_parse_rfc3339(u, &tu) != 0) {
		bad(r, "until", "until must be an RFC 3339 timestamp.");
		return -1;
	}
	if (s != NULL && u != NULL && tu < ts) {
		bad(r, "until", "until must not be before since.");
		return -1;
	}
	if (s != NULL)
		vtime_sql(ts, since, sz);
	if (u != NULL)
		vtime_sql(tu, until, sz);
	return 0;
}

static void
auditapi_export(struct request *r, struct db *db)
{
	struct db_res *res = NULL, *head = NULL;
	json_object *root, *arr, *h;
	char since[VTIME_SQL_LEN], until[VTIME_SQL_LEN];
	char now[VTIME_RFC3339_LEN];
	long bytes = 0;
	size_t i, n;
	int rc, truncated;

	if (r->nparams > 0) {
		bad(r, r->params[0].name, "Unknown query parameter.");
		return;
	}
	if (export_args(r, since, until, sizeof(since)) != 0)
		return;
	/* One snapshot for the entries and the head. */
	if ((rc = db_begin(db)) != 0)
		goto dberr;
	if ((rc = db_exec(db, SQL_AUDIT_RANGE, (struct db_val[]){
	    DB_STR(r->auth.tenant_id),
	    since[0] ? DB_STR(since) : DB_NUL, since[0] ? DB_STR(since) : DB_NUL,
	    until[0] ? DB_STR(until) : DB_NUL, until[0] ? DB_STR(until) : DB_NUL,
	    DB_INT(AUDIT_EXPORT_MAX + 1) }, 6, &res)) != 0 ||
	    (rc = db_exec(db, SQL_AUDIT_HEAD, (struct db_val[]){
	    DB_STR(r->auth.tenant_id) }, 1, &head)) != 0 ||
	    (rc = db_commit(db)) != 0)
		goto dberr;

	vtime_rfc3339(time(NULL), now, sizeof(now));
	root = json_object_new_object();
	arr = json_object_new_array();
	n = res->nrows > AUDIT_EXPORT_MAX ? AUDIT_EXPORT_MAX : res->nrows;
	truncated = res->nrows > AUDIT_EXPORT_MAX;
	for (i = 0; i < n; i++) {
		if (bytes > AUDIT_EXPORT_BYTES) {
			truncated = 1;
			break;
		}
		json_object_array_add(arr, entry_json(res, i, 1, &bytes));
	}
	json_object_object_add(root, "exported_at",
	    json_object_new_string(now));
	json_object_object_add(root, "tenant_id",
	    json_object_new_string(r->auth.tenant_id));
	json_object_object_add(root, "total_entries",
	    json_object_new_int64((int64_t)json_object_array_length(arr)));
	json_object_object_add(root, "truncated",
	    json_object_new_boolean(truncated));
	json_object_object_add(root, "entries", arr);
	/* The head of the whole chain, not of the range: keep it to prove
	 * later that nothing up to it was deleted. */
	h = json_object_new_object();
	json_object_object_add(h, "seq", json_object_new_int64(
	    head->nrows > 0 ? db_cell_int(head, 0, 0) : 0));
	json_object_object_add(h, "hash", json_object_new_string(
	    head->nrows > 0 && db_cell(head, 0, 1) ? db_cell(head, 0, 1) :
	    AUDIT_GENESIS));
	json_object_object_add(root, "chain_head", h);
	response_header(r, "Content-Disposition",
	    "attachment; filename=\"vigil-audit.json\"");
	response_json(r, 200, root);
	db_res_free(head);
	db_res_free(res);
	return;
dberr:
	db_res_free(head);
	db_res_free(res);
	db_rollback(db);
	api_db_error(r, rc);
}

const struct route auditapi_routes[] = {
	{ "GET", "/api/v1/audit", SCOPE_ADMIN, 0, auditapi_list },
	{ "POST", "/api/v1/audit/export", SCOPE_ADMIN, ROUTE_OPT_BODY,
	    auditapi_export },
};
const size_t auditapi_nroutes = NELEM(auditapi_routes);
