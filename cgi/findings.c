/* findings.c: the Findings API: list, get, history, the
 * actions (accept, resolve, remediate, snooze, dismiss), PATCH and bulk. */
#include "vigil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "db.h"
#include "export.h"
#include "findfilter.h"
#include "log.h"
#include "findings.h"
#include "lifecycle.h"
#include "page.h"
#include "reply.h"
#include "vjson.h"
#include "vtime.h"

#define BULK_MAX     500
#define NOTES_MAX    10000

static void
not_found(struct request *r)
{
	response_error(r, 404, "finding_not_found",
	    "The finding does not exist or is not visible to this tenant.",
	    "id");
}

static const char *
query_get(void *arg, const char *name)
{
	return request_param(arg, name);
}

/* The list filters of the query string (findfilter.h), or -1 after the
 * 400; known: the other parameters the route takes (NULL-terminated). */
static int
query_filter(struct request *r, const char *const *known,
    struct findfilter *ff)
{
	const char *field, *why;
	size_t i, j;

	for (i = 0; i < r->nparams; i++) {
		for (j = 0; findfilter_names[j] != NULL; j++)
			if (strcmp(r->params[i].name, findfilter_names[j]) == 0)
				break;
		if (findfilter_names[j] != NULL)
			continue;
		for (j = 0; known[j] != NULL; j++)
			if (strcmp(r->params[i].name, known[j]) == 0)
				break;
		if (known[j] == NULL) {
			reply_bad(r, r->params[i].name,
			    "Unknown query parameter.");
			return -1;
		}
	}
	if (findfilter_parse(query_get, r, time(NULL), ff, &field,
	    &why) != 0) {
		reply_bad(r, field, why);
		return -1;
	}
	return 0;
}

/* The cursor of a list by due date, "d<due epoch>.<seq>" as the list
 * writes it. 0, or -1 after a 400. */
static int
due_cursor(struct request *r, struct findings_filter *f)
{
	const char *s = request_param(r, "cursor");
	char *end;
	long long d, seq;

	if (s == NULL)
		return 0;
	errno = 0;
	if (s[0] != 'd' || !isdigit((unsigned char)s[1]) ||
	    (d = strtoll(s + 1, &end, 10)) < 1 || *end != '.' || errno ||
	    !isdigit((unsigned char)end[1]) ||
	    (seq = strtoll(end + 1, &end, 10)) < 1 || *end != '\0' || errno ||
	    d > 253402300799LL) {
		reply_bad(r, "cursor", "cursor is not valid.");
		return -1;
	}
	f->due_after = (time_t)d;
	f->seq_after = seq;
	return 0;
}

static void
findings_list_h(struct request *r, struct db *db)
{
	static const char *const known[] = { "limit", "cursor", NULL };
	struct findfilter ff;
	struct findings_filter *f = &ff.f;
	struct findings_page *page;
	char cursor[64] = "";
	json_object *root, *arr;
	time_t now;
	size_t i;
	int rc;

	if (query_filter(r, known, &ff) != 0)
		return;
	if (params_limit(r, &f->limit) != 0 ||
	    (f->due ? due_cursor(r, f) : params_seq_cursor(r, &f->before)) !=
	    0) {
		findfilter_clear(&ff);
		return;
	}
	rc = findings_list(db, r->auth.tenant_id, f, &page);
	findfilter_clear(&ff);
	if (rc != 0) {
		api_db_error(r, rc);
		return;
	}
	arr = json_object_new_array_ext((int)page->n);
	now = time(NULL);
	for (i = 0; i < page->n; i++) {
		json_object *o = findings_to_json(page->rows[i], 0);

		findings_due_json(o, page->rows[i], now);
		json_object_array_add(arr, o);
	}
	if (page->has_more && f->due)
		snprintf(cursor, sizeof(cursor), "d%lld.%lld",
		    (long long)page->rows[page->n - 1]->due_at,
		    page->rows[page->n - 1]->seq);
	else if (page->has_more)
		page_seq_cursor(page->rows[page->n - 1]->seq, cursor,
		    sizeof(cursor));
	root = json_object_new_object();
	page_end(root, "findings", arr, page->total, page->has_more, cursor);
	findings_page_free(page);
	response_json(r, 200, root);
}

static void
findings_get(struct request *r, struct db *db)
{
	struct finding_row *row = NULL;
	json_object *out, *sources;
	int rc;

	if (!finding_id_valid(r->pathvars[0])) {
		not_found(r);
		return;
	}
	/* the finding and the sources whose imports report it (README
	 * "Imports"), in one round trip */
	rc = findings_load_sources(db, r->auth.tenant_id, r->pathvars[0], &row,
	    &sources);
	if (rc < 0) {
		api_db_error(r, rc);
		return;
	}
	if (rc == 0) {
		not_found(r);
		return;
	}
	out = findings_to_json(row, 1);
	findings_due_json(out, row, time(NULL));
	findings_row_free(row);
	json_object_object_add(out, "sources", sources);
	response_json(r, 200, out);
}

static void
findings_history_h(struct request *r, struct db *db)
{
	json_object *history;
	int rc;

	if (!finding_id_valid(r->pathvars[0]))
		not_found(r);
	else if ((rc = findings_history(db, r->auth.tenant_id,
	    r->pathvars[0], &history)) < 0)
		api_db_error(r, rc);
	else if (rc == 0)
		not_found(r);
	else
		response_json(r, 200, history);
}

/* The body of an action, validated into in. Returns 0, or -1 after a
 * 400. user defaults to the calling key. */
static int
action_input(struct request *r, json_object *body, enum lc_kind kind,
    struct lc_input *in, char *defuser, size_t defusersz,
    const char *const *extra_allowed)
{
	static const char *const a_accept[] = { "user", "justification",
	    "expires_at", NULL };
	static const char *const a_resolve[] = { "user", "evidence", NULL };
	static const char *const a_approve[] = { "user", NULL };
	static const char *const a_remediate[] = { "user",
	    "approval_required", NULL };
	static const char *const a_snooze[] = { "user", "days", NULL };
	static const char *const a_dismiss[] = { "user", "reason", NULL };
	const char *const *allowed;
	const char *allow[12];
	struct vjson_err e;
	const char *s = NULL;
	json_object *empty = NULL;
	int64_t days;
	int b, rc = -1;
	size_t n = 0, i;

	memset(in, 0, sizeof(*in));
	in->kind = kind;
	switch (kind) {
	case LC_ACCEPT: allowed = a_accept; break;
	case LC_RESOLVE: allowed = a_resolve; break;
	case LC_REMEDIATE: allowed = a_remediate; break;
	case LC_SNOOZE: allowed = a_snooze; break;
	case LC_APPROVE_REMEDIATION: allowed = a_approve; break;
	default: allowed = a_dismiss; break;
	}
	for (i = 0; allowed[i] != NULL; i++)
		allow[n++] = allowed[i];
	for (i = 0; extra_allowed != NULL && extra_allowed[i] != NULL; i++)
		allow[n++] = extra_allowed[i];
	allow[n] = NULL;
	if (body == NULL)
		body = empty = json_object_new_object();
	if (vjson_only_keys(body, allow, &e) != 0)
		goto bad;
	/* Optional means "leave it out", not null: a null is a wrong type. */
	{
		json_object_object_foreach(body, k, v) {
			if (v == NULL) {
				snprintf(e.field, sizeof(e.field), "%s", k);
				snprintf(e.message, sizeof(e.message),
				    "%s must not be null.", k);
				goto bad;
			}
		}
	}
	if (vjson_get_string(body, "user", 0, 1, LC_USER_MAX, &s, &e) < 0)
		goto bad;
	in->user = s ? s : defuser;
	(void)defusersz;
	switch (kind) {
	case LC_ACCEPT:
		if (vjson_get_text(body, "justification", 1, 1, LC_TEXT_MAX,
		    &in->u.accept.justification, &e) < 0)
			goto bad;
		s = NULL;
		if (vjson_get_string(body, "expires_at", 0, 1, 64, &s, &e) < 0)
			goto bad;
		if (s != NULL && vtime_parse_rfc3339(s,
		    &in->u.accept.expires_at) != 0) {
			snprintf(e.field, sizeof(e.field), "expires_at");
			snprintf(e.message, sizeof(e.message),
			    "expires_at must be an RFC 3339 timestamp.");
			goto bad;
		}
		break;
	case LC_RESOLVE:
		if (vjson_get_text(body, "evidence", 0, 1, LC_TEXT_MAX,
		    &in->u.resolve.evidence, &e) < 0)
			goto bad;
		break;
	case LC_REMEDIATE:
		b = 0;
		if (vjson_get_bool(body, "approval_required", 0, &b, &e) < 0)
			goto bad;
		in->u.remediate.approval_required = b;
		break;
	case LC_SNOOZE:
		if (vjson_get_int(body, "days", 1, 1, 90, &days, &e) < 0)
			goto bad;
		in->u.snooze.days = (long)days;
		break;
	case LC_APPROVE_REMEDIATION:
		break;
	default:
		if (vjson_get_text(body, "reason", 1, 1, LC_TEXT_MAX,
		    &in->u.dismiss.reason, &e) < 0)
			goto bad;
		break;
	}
	rc = 0;
	goto out;
bad:
	reply_bad(r, e.field, e.message);
out:
	/* Strings point into body; an empty body holds none. */
	if (empty != NULL)
		json_object_put(empty);
	return rc;
}

/* Reply for a refusal or error of findings_act. */
static void
act_reply(struct request *r, enum findings_outcome o,
    const struct lc_result *res, int rc)
{
	switch (o) {
	case FINDINGS_NOT_FOUND:
		not_found(r);
		break;
	case FINDINGS_REFUSED:
		response_error(r, res->status, res->code, res->message,
		    res->field);
		break;
	default:
		api_db_error(r, rc ? rc : DB_ERR);
		break;
	}
}

static void
findings_action(struct request *r, struct db *db, enum lc_kind kind)
{
	struct finding_row *after = NULL;
	struct lc_result res;
	struct lc_input in;
	enum findings_outcome o;
	char actor[128];
	int rc;

	if (!finding_id_valid(r->pathvars[0])) {
		not_found(r);
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	if (action_input(r, r->json, kind, &in, actor, sizeof(actor),
	    NULL) != 0)
		return;
	o = findings_act(db, r->auth.tenant_id, r->pathvars[0], &in, actor,
	    time(NULL), &res, &after, &rc);
	if (o == FINDINGS_OK)
		response_json(r, 200, findings_to_json(after, 1));
	else
		act_reply(r, o, &res, rc);
	lifecycle_result_free(&res);
	findings_row_free(after);
}

static void
findings_accept(struct request *r, struct db *db)
{
	findings_action(r, db, LC_ACCEPT);
}

static void
findings_resolve(struct request *r, struct db *db)
{
	findings_action(r, db, LC_RESOLVE);
}

static void
findings_remediate(struct request *r, struct db *db)
{
	findings_action(r, db, LC_REMEDIATE);
}

/* POST /findings/{id}/remediation/approve: the "(approved)" step of a
 * remediation requested with approval_required; admin scope, so that the
 * approver can be someone other than the requester. */
static void
findings_approve(struct request *r, struct db *db)
{
	findings_action(r, db, LC_APPROVE_REMEDIATION);
}

static void
findings_snooze(struct request *r, struct db *db)
{
	findings_action(r, db, LC_SNOOZE);
}

static void
findings_dismiss(struct request *r, struct db *db)
{
	findings_action(r, db, LC_DISMISS);
}

static void
findings_patch_h(struct request *r, struct db *db)
{
	static const char *const allowed[] = { "assignee", "notes", "user",
	    NULL };
	struct finding_row *after = NULL;
	struct vjson_err e;
	enum findings_outcome o;
	const char *assignee = NULL, *notes = NULL, *user = NULL;
	char actor[128];
	int aset, nset, rc;

	if (!finding_id_valid(r->pathvars[0])) {
		not_found(r);
		return;
	}
	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    (aset = vjson_get_string(r->json, "assignee", 0, 1, 254,
	    &assignee, &e)) < 0 ||
	    (nset = vjson_get_text(r->json, "notes", 0, 0, NOTES_MAX,
	    &notes, &e)) < 0 ||
	    vjson_get_string(r->json, "user", 0, 1, LC_USER_MAX, &user,
	    &e) < 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	/* A key present with null clears the field. */
	aset = aset || json_object_object_get_ex(r->json, "assignee", NULL);
	nset = nset || json_object_object_get_ex(r->json, "notes", NULL);
	if (!aset && !nset) {
		reply_bad(r, "body", "Give assignee and/or notes.");
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	o = findings_patch(db, r->auth.tenant_id, r->pathvars[0], aset,
	    assignee, nset, notes, user ? user : actor, actor, time(NULL),
	    &after, &rc);
	if (o == FINDINGS_OK)
		response_json(r, 200, findings_to_json(after, 1));
	else
		act_reply(r, o, NULL, rc);
	findings_row_free(after);
}

static int
cmp_ids(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* POST /findings/bulk {"action":"…","ids":[…], …the action's fields}:
 * each id in its own transaction, a result per id, in sorted order (so
 * that concurrent bulk calls lock rows in one order). */
static void
findings_bulk(struct request *r, struct db *db)
{
	static const char *const actions[] = { "accept", "resolve",
	    "remediate", "snooze", "dismiss" };
	static const enum lc_kind kinds[] = { LC_ACCEPT, LC_RESOLVE,
	    LC_REMEDIATE, LC_SNOOZE, LC_DISMISS };
	static const char *const extra[] = { "action", "ids", NULL };
	const char *action = NULL, **ids = NULL;
	struct vjson_err e;
	struct lc_input in;
	json_object *arr, *root, *results;
	char actor[128];
	size_t i, n, k, ok = 0;
	time_t now = time(NULL);

	if (vjson_get_string(r->json, "action", 1, 1, 16, &action, &e) < 0 ||
	    vjson_get_string_array(r->json, "ids", 1, BULK_MAX,
	    FINDING_ID_MAX - 1, &arr, &e) < 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	for (k = 0; k < NELEM(actions); k++)
		if (strcmp(action, actions[k]) == 0)
			break;
	if (k == NELEM(actions)) {
		reply_bad(r, "action", "action must be one of accept, resolve, "
		    "remediate, snooze, dismiss.");
		return;
	}
	n = json_object_array_length(arr);
	if (n == 0) {
		reply_bad(r, "ids", "ids must list 1 to 500 finding ids.");
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	if (action_input(r, r->json, kinds[k], &in, actor, sizeof(actor),
	    extra) != 0)
		return;
	if ((ids = calloc(n, sizeof(*ids))) == NULL) {
		api_db_error(r, DB_ERR);
		return;
	}
	for (i = 0; i < n; i++)
		ids[i] = json_object_get_string(json_object_array_get_idx(arr,
		    i));
	qsort(ids, n, sizeof(*ids), cmp_ids);
	root = json_object_new_object();
	results = json_object_new_array();
	for (i = 0; i < n; i++) {
		json_object *one = json_object_new_object();
		struct finding_row *after = NULL;
		struct lc_result res;
		enum findings_outcome o = FINDINGS_NOT_FOUND;
		int rc = 0, status;
		const char *code = NULL;

		memset(&res, 0, sizeof(res));
		if (i > 0 && strcmp(ids[i], ids[i - 1]) == 0) {
			json_object_put(one);
			continue;
		}
		if (finding_id_valid(ids[i]))
			o = findings_act(db, r->auth.tenant_id, ids[i], &in,
			    actor, now, &res, &after, &rc);
		switch (o) {
		case FINDINGS_OK:
			status = 200;
			ok++;
			break;
		case FINDINGS_NOT_FOUND:
			status = 404;
			code = "finding_not_found";
			break;
		case FINDINGS_REFUSED:
			status = res.status;
			code = res.code;
			break;
		default:
			status = rc == DB_DOWN ? 503 : 500;
			code = rc == DB_DOWN ? "service_unavailable" :
			    "internal_error";
			break;
		}
		json_object_object_add(one, "id",
		    json_object_new_string(ids[i]));
		json_object_object_add(one, "status",
		    json_object_new_int(status));
		if (code != NULL)
			json_object_object_add(one, "error",
			    json_object_new_string(code));
		else
			json_object_object_add(one, "state",
			    json_object_new_string(
			    finding_state_str(after->f.state)));
		json_object_array_add(results, one);
		lifecycle_result_free(&res);
		findings_row_free(after);
	}
	free(ids);
	json_object_object_add(root, "action", json_object_new_string(action));
	json_object_object_add(root, "succeeded", json_object_new_int64(
	    (int64_t)ok));
	json_object_object_add(root, "failed", json_object_new_int64(
	    (int64_t)(json_object_array_length(results) - ok)));
	json_object_object_add(root, "results", results);
	response_json(r, 200, root);
}

static int
export_write(void *arg, const char *data, size_t n)
{
	return api_send(arg, data, n);
}

static void
export_pause(void *arg)
{
	api_pause(arg);
}

/* GET /findings/export: every finding the list filters match, as CSV or
 * JSON Lines, written as it is read (export.c: keyset pages of 500), so
 * neither side holds the whole answer. The length is not known before
 * the end: no Content-Length, the front end chunks the answer. A failure
 * once the head is out can only cut the answer short. */
static void
findings_export_h(struct request *r, struct db *db)
{
	static const char *const known[] = { "format", NULL };
	struct findfilter ff;
	enum export_format fmt;
	const char *s = request_param(r, "format");
	long long rows = 0;
	int rc;

	if (s == NULL || (strcmp(s, "csv") != 0 && strcmp(s, "jsonl") != 0)) {
		reply_bad(r, "format", "format must be csv or jsonl.");
		return;
	}
	fmt = strcmp(s, "csv") == 0 ? EXPORT_CSV : EXPORT_JSONL;
	if (query_filter(r, known, &ff) != 0)
		return;
	r->status = 200;
	buf_reset(&r->out);
	response_header(r, "Content-Type", "%s", fmt == EXPORT_CSV ?
	    "text/csv; charset=utf-8; header=present" :
	    "application/x-ndjson");
	response_header(r, "Content-Disposition",
	    "attachment; filename=\"findings.%s\"", s);
	if (api_send_head(r, -1) != 0 || strcmp(r->method, "HEAD") == 0)
		goto out;
	api_pause(r);
	rc = export_run(db, r->auth.tenant_id, &ff.f, fmt, export_write,
	    export_pause, r, &rows);
	if (rc < 0)
		log_warn("request %s: export cut short after %lld findings: "
		    "database error %d", r->id, rows, rc);
out:
	findfilter_clear(&ff);
}

const struct route findings_routes[] = {
	{ "GET", "/api/v1/findings", SCOPE_READ, 0, findings_list_h },
	{ "POST", "/api/v1/findings/bulk", SCOPE_WRITE, ROUTE_JSON_BODY,
	    findings_bulk },
	{ "GET", "/api/v1/findings/export", SCOPE_READ, 0,
	    findings_export_h },
	{ "GET", "/api/v1/findings/{id}", SCOPE_READ, 0, findings_get },
	{ "PATCH", "/api/v1/findings/{id}", SCOPE_WRITE, ROUTE_JSON_BODY,
	    findings_patch_h },
	{ "GET", "/api/v1/findings/{id}/history", SCOPE_READ, 0,
	    findings_history_h },
	{ "POST", "/api/v1/findings/{id}/accept", SCOPE_WRITE,
	    ROUTE_JSON_BODY, findings_accept },
	{ "POST", "/api/v1/findings/{id}/resolve", SCOPE_WRITE,
	    ROUTE_OPT_BODY, findings_resolve },
	{ "POST", "/api/v1/findings/{id}/remediate", SCOPE_WRITE,
	    ROUTE_OPT_BODY, findings_remediate },
	{ "POST", "/api/v1/findings/{id}/remediation/approve", SCOPE_ADMIN,
	    ROUTE_OPT_BODY, findings_approve },
	{ "POST", "/api/v1/findings/{id}/snooze", SCOPE_WRITE,
	    ROUTE_JSON_BODY, findings_snooze },
	{ "POST", "/api/v1/findings/{id}/dismiss", SCOPE_WRITE,
	    ROUTE_JSON_BODY, findings_dismiss },
};
const size_t findings_nroutes = NELEM(findings_routes);
