/* cases.c: /api/v1/cases (open, list, show, edit, comment, timeline,
 * resolve, reopen, report) and the escalation of an alert or a finding
 * into a case. The handlers read the request and answer; cases.c in
 * src/ owns the rows, the timeline, the audit entries and the events. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "buf.h"
#include "casereport.h"
#include "cases.h"
#include "page.h"
#include "reply.h"
#include "sla.h"
#include "vjson.h"

/* The reply for an outcome other than CASES_OK. */
static void
case_failed(struct request *r, enum cases_outcome oc,
    const struct vjson_err *e, int rc, const char *what)
{
	switch (oc) {
	case CASES_NOT_FOUND:
		response_error(r, 404, "not_found", e != NULL &&
		    e->message[0] ? e->message : what,
		    e != NULL && e->field[0] ? e->field : "id");
		return;
	case CASES_INVALID:
		reply_bad(r, e->field, e->message);
		return;
	case CASES_CONFLICT:
		response_error(r, 409, "conflict", e->message, e->field);
		return;
	case CASES_OK:
	case CASES_DB_ERROR:
		break;
	}
	api_db_error(r, rc);
}

/* The fields of POST /cases and PATCH /cases/{id} into *in: 0, or -1
 * after the 400. creating: title and severity required. */
static int
read_input(struct request *r, int creating, struct cases_input *in)
{
	static const char *const allowed[] = { "title", "description",
	    "severity", "assignee", "tags", "techniques", NULL };
	struct vjson_err e;
	int aset;

	memset(in, 0, sizeof(*in));
	memset(&e, 0, sizeof(e));
	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_string(r->json, "title", creating, 1, CASES_TITLE_MAX,
	    &in->title, &e) < 0 ||
	    vjson_get_text(r->json, "description", 0, 0, CASES_TEXT_MAX,
	    &in->description, &e) < 0 ||
	    vjson_get_string(r->json, "severity", creating, 1, 16,
	    &in->severity, &e) < 0 ||
	    (aset = vjson_get_string(r->json, "assignee", 0, 1,
	    CASES_ASSIGNEE_MAX, &in->assignee, &e)) < 0 ||
	    vjson_get_string_array(r->json, "tags", 0, CASES_TAGS_MAX,
	    CASES_TAG_MAX, &in->tags, &e) < 0 ||
	    vjson_get_string_array(r->json, "techniques", 0,
	    CASES_TECHNIQUES_MAX, 16, &in->techniques, &e) < 0) {
		reply_bad(r, e.field, e.message);
		return -1;
	}
	if (in->severity != NULL && !cases_severity_valid(in->severity)) {
		reply_bad(r, "severity", "severity must be one of critical, "
		    "high, medium, low, info.");
		return -1;
	}
	/* "assignee": null clears it (PATCH); absent leaves it. */
	in->has_assignee = aset ||
	    json_object_object_get_ex(r->json, "assignee", NULL);
	return 0;
}

/* POST /api/v1/cases */
static void
cases_post(struct request *r, struct db *db)
{
	struct cases_input in;
	struct vjson_err e;
	enum cases_outcome oc;
	json_object *c = NULL;
	char actor[128];
	int rc;

	if (read_input(r, 1, &in) != 0)
		return;
	memset(&e, 0, sizeof(e));
	auth_actor(r, actor, sizeof(actor));
	if ((oc = cases_create(db, r->auth.tenant_id, &in, actor, time(NULL),
	    &c, &e, &rc)) != CASES_OK) {
		case_failed(r, oc, &e, rc, "No such case.");
		return;
	}
	response_json(r, 201, c);
}

/* A comma list of severities, each valid: 1, else 0. */
static int
severity_list_ok(const char *s)
{
	char one[16];
	const char *p = s, *comma;
	size_t n;

	if (*s == '\0')
		return 0;
	for (;;) {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == 0 || n >= sizeof(one))
			return 0;
		memcpy(one, p, n);
		one[n] = '\0';
		if (!cases_severity_valid(one))
			return 0;
		if (comma == NULL)
			return 1;
		p = comma + 1;
	}
}

/* GET /api/v1/cases: newest first, keyset on seq ("s<seq>"). */
static void
cases_index(struct request *r, struct db *db)
{
	static const char *const known[] = { "status", "severity",
	    "assignee", "tag", "limit", "cursor", NULL };
	struct cases_filter f;
	json_object *items, *root;
	char next[PAGE_SEQ_CURSOR_LEN] = "";
	long long before, total, last;
	long limit;
	int rc, more;

	if (reply_unknown_params(r, known) != 0 ||
	    params_limit(r, &limit) != 0 ||
	    params_seq_cursor(r, &before) != 0)
		return;
	f.status = request_param(r, "status");
	f.severity = request_param(r, "severity");
	f.assignee = request_param(r, "assignee");
	f.tag = request_param(r, "tag");
	if (f.status != NULL && !cases_status_valid(f.status)) {
		reply_bad(r, "status", "status must be open or resolved.");
		return;
	}
	if (f.severity != NULL && !severity_list_ok(f.severity)) {
		reply_bad(r, "severity", "severity must be one or a comma list "
		    "of critical, high, medium, low, info.");
		return;
	}
	if (f.assignee != NULL && (f.assignee[0] == '\0' ||
	    strlen(f.assignee) > CASES_ASSIGNEE_MAX)) {
		reply_bad(r, "assignee", "assignee must be 1 to 254 bytes.");
		return;
	}
	if (f.tag != NULL && (f.tag[0] == '\0' ||
	    strlen(f.tag) > CASES_TAG_MAX)) {
		reply_bad(r, "tag", "tag must be 1 to 64 bytes.");
		return;
	}
	if ((rc = cases_list(db, r->auth.tenant_id, &f, before, limit, &items,
	    &total, &more, &last)) != 0) {
		json_object_put(items);
		api_db_error(r, rc);
		return;
	}
	if (more)
		page_seq_cursor(last, next, sizeof(next));
	root = json_object_new_object();
	page_end(root, "cases", items, total, more, next);
	response_json(r, 200, root);
}

/* GET /api/v1/cases/{id}: the full payload. */
static void
cases_show(struct request *r, struct db *db)
{
	json_object *c = NULL;
	int rc;

	json_object *sla = NULL;

	if ((rc = cases_full(db, r->auth.tenant_id, r->pathvars[0], &c)) <= 0) {
		case_failed(r, rc == 0 ? CASES_NOT_FOUND : CASES_DB_ERROR, NULL,
		    rc, "No such case.");
		return;
	}
	/* The SLA targets (README "SLAs"). */
	if ((rc = sla_object_targets(db, r->auth.tenant_id, "case",
	    r->pathvars[0], time(NULL), &sla)) < 0) {
		json_object_put(c);
		api_db_error(r, rc);
		return;
	}
	json_object_object_add(c, "sla", sla);
	response_json(r, 200, c);
}

/* PATCH /api/v1/cases/{id} */
static void
cases_patch_h(struct request *r, struct db *db)
{
	struct cases_input in;
	struct vjson_err e;
	enum cases_outcome oc;
	json_object *c = NULL;
	char actor[128];
	int rc;

	if (read_input(r, 0, &in) != 0)
		return;
	memset(&e, 0, sizeof(e));
	auth_actor(r, actor, sizeof(actor));
	if ((oc = cases_patch(db, r->auth.tenant_id, r->pathvars[0], &in,
	    actor, time(NULL), &c, &e, &rc)) != CASES_OK) {
		case_failed(r, oc, &e, rc, "No such case.");
		return;
	}
	response_json(r, 200, c);
}

/* POST /api/v1/cases/{id}/comments: 201 with the timeline entry. */
static void
cases_comment_post(struct request *r, struct db *db)
{
	static const char *const allowed[] = { "body", "mentions", NULL };
	struct vjson_err e;
	enum cases_outcome oc;
	json_object *mentions = NULL, *entry = NULL;
	const char *body = NULL;
	char actor[128];
	int rc;

	memset(&e, 0, sizeof(e));
	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_text(r->json, "body", 1, 1, CASES_COMMENT_MAX, &body,
	    &e) < 0 ||
	    vjson_get_string_array(r->json, "mentions", 0, CASES_MENTIONS_MAX,
	    CASES_ASSIGNEE_MAX, &mentions, &e) < 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	if ((oc = cases_comment(db, r->auth.tenant_id, r->pathvars[0], body,
	    mentions, actor, time(NULL), &entry, &rc)) != CASES_OK) {
		case_failed(r, oc, NULL, rc, "No such case.");
		return;
	}
	response_json(r, 201, entry);
}

/* GET /api/v1/cases/{id}/timeline: oldest first; the cursor ("s<seq>")
 * names the last entry shown, and stays on the last page so that a
 * poller can ask again later. */
static void
cases_timeline_get(struct request *r, struct db *db)
{
	json_object *items = NULL, *root;
	char next[PAGE_SEQ_CURSOR_LEN];
	long long after, total, last;
	long limit;
	int rc, more;

	if (params_list(r, &limit) != 0 || params_seq_cursor(r, &after) != 0)
		return;
	if (request_param(r, "cursor") == NULL)
		after = 0;
	if ((rc = cases_timeline(db, r->auth.tenant_id, r->pathvars[0], after,
	    limit, &items, &total, &more, &last)) <= 0) {
		case_failed(r, rc == 0 ? CASES_NOT_FOUND : CASES_DB_ERROR, NULL,
		    rc, "No such case.");
		return;
	}
	root = json_object_new_object();
	if (last > 0)
		page_seq_cursor(last, next, sizeof(next));
	json_object_object_add(root, "timeline", items);
	json_object_object_add(root, "total", json_object_new_int64(total));
	json_object_object_add(root, "has_more",
	    json_object_new_boolean(more));
	json_object_object_add(root, "next_cursor", last > 0 ?
	    json_object_new_string(next) :
	    request_param(r, "cursor") != NULL ?
	    json_object_new_string(request_param(r, "cursor")) : NULL);
	response_json(r, 200, root);
}

/* POST /api/v1/cases/{id}/resolve */
static void
cases_resolve_post(struct request *r, struct db *db)
{
	static const char *const allowed[] = { "verdict", "root_cause",
	    "narrative", NULL };
	struct vjson_err e;
	enum cases_outcome oc;
	json_object *c = NULL;
	const char *verdict = NULL, *root_cause = NULL, *narrative = NULL;
	char actor[128];
	int rc;

	memset(&e, 0, sizeof(e));
	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_string(r->json, "verdict", 1, 1, 32, &verdict, &e) < 0 ||
	    vjson_get_text(r->json, "root_cause", 0, 0, CASES_TEXT_MAX,
	    &root_cause, &e) < 0 ||
	    vjson_get_text(r->json, "narrative", 0, 0, CASES_TEXT_MAX,
	    &narrative, &e) < 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	if (!cases_verdict_valid(verdict)) {
		reply_bad(r, "verdict", "verdict must be one of true_positive, "
		    "false_positive, benign, duplicate.");
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	if ((oc = cases_resolve(db, r->auth.tenant_id, r->pathvars[0],
	    verdict, root_cause, narrative, actor, time(NULL), &c, &e,
	    &rc)) != CASES_OK) {
		case_failed(r, oc, &e, rc, "No such case.");
		return;
	}
	response_json(r, 200, c);
}

/* POST /api/v1/cases/{id}/reopen */
static void
cases_reopen_post(struct request *r, struct db *db)
{
	struct vjson_err e;
	enum cases_outcome oc;
	json_object *c = NULL;
	char actor[128];
	int rc;

	memset(&e, 0, sizeof(e));
	auth_actor(r, actor, sizeof(actor));
	if ((oc = cases_reopen(db, r->auth.tenant_id, r->pathvars[0], actor,
	    time(NULL), &c, &e, &rc)) != CASES_OK) {
		case_failed(r, oc, &e, rc, "No such case.");
		return;
	}
	response_json(r, 200, c);
}

/* 1 if the client asks for HTML: text/html in Accept, before any
 * text/markdown. */
static int
wants_html(const struct request *r)
{
	const char *html, *md;

	if (r->accept == NULL || (html = strstr(r->accept, "text/html")) ==
	    NULL)
		return 0;
	md = strstr(r->accept, "text/markdown");
	return md == NULL || html < md;
}

/* GET /api/v1/cases/{id}/report: the report of a resolved case, Markdown
 * by default, HTML with Accept: text/html; 409 while the case is open. */
static void
cases_report_get(struct request *r, struct db *db)
{
	json_object *c = NULL, *status;
	struct buf b;
	int rc, html;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	if ((rc = cases_full(db, r->auth.tenant_id, r->pathvars[0], &c)) <= 0) {
		case_failed(r, rc == 0 ? CASES_NOT_FOUND : CASES_DB_ERROR, NULL,
		    rc, "No such case.");
		return;
	}
	if (!json_object_object_get_ex(c, "status", &status) ||
	    strcmp(json_object_get_string(status), "resolved") != 0) {
		json_object_put(c);
		response_error(r, 409, "conflict", "A case has a report once "
		    "it is resolved.", "status");
		return;
	}
	html = wants_html(r);
	buf_init(&b, CASEREPORT_MAX);
	rc = html ? casereport_html(c, &b) : casereport_markdown(c, &b);
	json_object_put(c);
	if (rc != 0) {
		buf_free(&b);
		response_error(r, 500, "internal_error", "The report is too "
		    "large.", NULL);
		return;
	}
	response_header(r, "Vary", "Accept");
	response_raw(r, 200, html ? "text/html; charset=utf-8" :
	    "text/markdown; charset=utf-8", b.data, b.len);
	buf_free(&b);
}

/* The case_id of an escalation body (absent, null: a new case). 0, or
 * -1 after the 400. */
static int
escalate_target(struct request *r, const char **case_id)
{
	static const char *const allowed[] = { "case_id", NULL };
	struct vjson_err e;

	*case_id = NULL;
	if (r->json == NULL)
		return 0;
	memset(&e, 0, sizeof(e));
	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_string(r->json, "case_id", 0, 1, 64, case_id, &e) < 0) {
		reply_bad(r, e.field, e.message);
		return -1;
	}
	return 0;
}

/* The answer of an escalation: 201 with a new case, 200 into one. */
static void
escalated(struct request *r, const char *idname, const char *id,
    json_object *c, int created)
{
	json_object *root = json_object_new_object();

	json_object_object_add(root, idname, json_object_new_string(id));
	json_object_object_add(root, "case_id", json_object_get(
	    json_object_object_get(c, "case_id")));
	json_object_object_add(root, "case_created",
	    json_object_new_boolean(created));
	json_object_object_add(root, "case", c);
	response_json(r, created ? 201 : 200, root);
}

/* POST /api/v1/alerts/{id}/escalate */
static void
alerts_escalate_post(struct request *r, struct db *db)
{
	struct vjson_err e;
	enum cases_outcome oc;
	json_object *c = NULL;
	const char *case_id;
	char actor[128];
	int rc, created;

	if (escalate_target(r, &case_id) != 0)
		return;
	memset(&e, 0, sizeof(e));
	auth_actor(r, actor, sizeof(actor));
	if ((oc = cases_escalate_alert(db, r->auth.tenant_id, r->pathvars[0],
	    case_id, actor, time(NULL), &c, &created, &e, &rc)) != CASES_OK) {
		case_failed(r, oc, &e, rc, "No such alert.");
		return;
	}
	escalated(r, "alert_id", r->pathvars[0], c, created);
}

/* POST /api/v1/findings/{id}/escalate */
static void
findings_escalate_post(struct request *r, struct db *db)
{
	struct vjson_err e;
	enum cases_outcome oc;
	json_object *c = NULL;
	const char *case_id;
	char actor[128];
	int rc, created;

	if (escalate_target(r, &case_id) != 0)
		return;
	memset(&e, 0, sizeof(e));
	auth_actor(r, actor, sizeof(actor));
	if ((oc = cases_escalate_finding(db, r->auth.tenant_id,
	    r->pathvars[0], case_id, actor, time(NULL), &c, &created, &e,
	    &rc)) != CASES_OK) {
		case_failed(r, oc, &e, rc, "No such finding.");
		return;
	}
	escalated(r, "finding_id", r->pathvars[0], c, created);
}

const struct route cases_routes[] = {
	{ "POST", "/api/v1/cases", SCOPE_WRITE, ROUTE_JSON_BODY, cases_post },
	{ "GET", "/api/v1/cases", SCOPE_READ, 0, cases_index },
	{ "GET", "/api/v1/cases/{id}", SCOPE_READ, 0, cases_show },
	{ "PATCH", "/api/v1/cases/{id}", SCOPE_WRITE, ROUTE_JSON_BODY,
	    cases_patch_h },
	{ "POST", "/api/v1/cases/{id}/comments", SCOPE_WRITE, ROUTE_JSON_BODY,
	    cases_comment_post },
	{ "GET", "/api/v1/cases/{id}/timeline", SCOPE_READ, 0,
	    cases_timeline_get },
	{ "POST", "/api/v1/cases/{id}/resolve", SCOPE_WRITE, ROUTE_JSON_BODY,
	    cases_resolve_post },
	{ "POST", "/api/v1/cases/{id}/reopen", SCOPE_WRITE, 0,
	    cases_reopen_post },
	{ "GET", "/api/v1/cases/{id}/report", SCOPE_READ, 0,
	    cases_report_get },
	{ "POST", "/api/v1/alerts/{id}/escalate", SCOPE_WRITE, ROUTE_OPT_BODY,
	    alerts_escalate_post },
	{ "POST", "/api/v1/findings/{id}/escalate", SCOPE_WRITE,
	    ROUTE_OPT_BODY, findings_escalate_post },
};
const size_t cases_nroutes = NELEM(cases_routes);
