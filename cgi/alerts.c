/* alerts.c: the Alerts API: ingest (one alert, or a batch of up to 500
 * for SIEM forwarders), the list, one alert, PATCH, dismiss and the
 * history. */
#include "vigil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "api.h"
#include "db.h"
#include "reply.h"
#include "page.h"
#include "sla.h"
#include "vjson.h"

/* {id, deduplicated, status} of one ingested alert. */
static json_object *
result_json(const struct alert_result *res)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(res->id));
	json_object_object_add(o, "deduplicated",
	    json_object_new_boolean(res->deduplicated));
	json_object_object_add(o, "status",
	    json_object_new_string(res->status));
	return o;
}

/* POST /alerts: 201 when new, 200 when (source, external_id) was known. */
static void
alerts_ingest_h(struct request *r, struct db *db)
{
	struct alert_in in;
	struct alert_result res;
	struct vjson_err e;
	char actor[128];
	time_t now = time(NULL);
	int rc;

	if (alerts_parse(r->json, now, &in, &e) != 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	rc = alerts_ingest(db, r->auth.tenant_id, actor, &in, 1, 0, now, &res);
	if (rc != 0)
		api_db_error(r, rc);
	else
		response_json(r, res.deduplicated ? 200 : 201,
		    result_json(&res));
	alerts_in_free(&in);
}

/*
 * POST /alerts/batch {"alerts":[…]}: each item validated on its own; an
 * invalid item fails alone (its result says why, naming the field) and
 * the valid ones are ingested together in one transaction, so that a
 * forwarder's batch costs one lock and one audit entry. 200 whenever the
 * body had the shape; a database error fails the whole call (nothing
 * written).
 */
static void
alerts_batch_h(struct request *r, struct db *db)
{
	static const char *const keys[] = { "alerts", NULL };
	struct alert_in *in = NULL;
	struct alert_result *res = NULL;
	struct vjson_err e, *errs = NULL;
	json_object *arr, *root, *results, *one;
	char actor[128];
	size_t i, n, nvalid = 0, ncreated = 0, ndedup = 0;
	size_t *idx = NULL;
	time_t now = time(NULL);
	int rc;

	if (vjson_only_keys(r->json, keys, &e) != 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	if (!json_object_object_get_ex(r->json, "alerts", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) == 0 ||
	    n > ALERTS_BATCH_MAX) {
		reply_bad(r, "alerts", "alerts must be an array of 1 to 500 "
		    "alerts.");
		return;
	}
	if ((in = calloc(n, sizeof(*in))) == NULL ||
	    (res = calloc(n, sizeof(*res))) == NULL ||
	    (errs = calloc(n, sizeof(*errs))) == NULL ||
	    (idx = calloc(n, sizeof(*idx))) == NULL) {
		api_db_error(r, DB_ERR);
		goto out;
	}
	/* The valid items packed at the front of in[], idx[] their index. */
	for (i = 0; i < n; i++) {
		if (alerts_parse(json_object_array_get_idx(arr, i), now,
		    &in[nvalid], &errs[i]) == 0)
			idx[nvalid++] = i;
		else if (errs[i].field[0] == '\0')
			errs[i].field[0] = '?';
	}
	if (nvalid > 0) {
		auth_actor(r, actor, sizeof(actor));
		if ((rc = alerts_ingest(db, r->auth.tenant_id, actor, in,
		    nvalid, 1, now, res)) != 0) {
			api_db_error(r, rc);
			goto out;
		}
	}
	results = json_object_new_array_ext((int)n);
	for (i = 0; i < n; i++) {
		one = json_object_new_object();
		json_object_object_add(one, "index",
		    json_object_new_int64((int64_t)i));
		json_object_array_add(results, one);
	}
	for (i = 0; i < n; i++) {
		if (errs[i].field[0] == '\0')
			continue;
		one = json_object_array_get_idx(results, i);
		json_object_object_add(one, "status", json_object_new_int(400));
		json_object_object_add(one, "error",
		    json_object_new_string("invalid_request"));
		json_object_object_add(one, "field",
		    json_object_new_string(errs[i].field));
		json_object_object_add(one, "message",
		    json_object_new_string(errs[i].message));
	}
	for (i = 0; i < nvalid; i++) {
		one = json_object_array_get_idx(results, idx[i]);
		json_object_object_add(one, "status",
		    json_object_new_int(res[i].deduplicated ? 200 : 201));
		json_object_object_add(one, "id",
		    json_object_new_string(res[i].id));
		json_object_object_add(one, "deduplicated",
		    json_object_new_boolean(res[i].deduplicated));
		json_object_object_add(one, "alert_status",
		    json_object_new_string(res[i].status));
		if (res[i].deduplicated)
			ndedup++;
		else
			ncreated++;
	}
	root = json_object_new_object();
	json_object_object_add(root, "created",
	    json_object_new_int64((int64_t)ncreated));
	json_object_object_add(root, "deduplicated",
	    json_object_new_int64((int64_t)ndedup));
	json_object_object_add(root, "failed",
	    json_object_new_int64((int64_t)(n - nvalid)));
	json_object_object_add(root, "results", results);
	response_json(r, 200, root);
out:
	for (i = 0; in != NULL && i < nvalid; i++)
		alerts_in_free(&in[i]);
	free(idx);
	free(errs);
	free(res);
	free(in);
}

static void
not_found(struct request *r)
{
	response_error(r, 404, "not_found",
	    "The alert does not exist or is not visible to this tenant.",
	    "id");
}

/* Split a comma list of names into vals (at most max, deduplicated,
 * pointing into names); -1 on an unknown or empty one. */
static int
name_list(const char *s, const char *const *names, size_t nnames,
    const char **vals, size_t *nvals)
{
	const char *p = s;
	size_t i, k;

	*nvals = 0;
	for (;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		for (i = 0; i < nnames; i++)
			if (strlen(names[i]) == len &&
			    strncmp(p, names[i], len) == 0)
				break;
		if (i == nnames)
			return -1;
		for (k = 0; k < *nvals; k++)
			if (vals[k] == names[i])
				break;
		if (k == *nvals)
			vals[(*nvals)++] = names[i];
		if (e == NULL)
			return 0;
		p = e + 1;
	}
}

/* GET /alerts: newest first; status, severity (comma lists), source,
 * assignee, since; limit and cursor. */
static void
alerts_list_h(struct request *r, struct db *db)
{
	static const char *const known[] = { "status", "severity", "source",
	    "assignee", "since", "limit", "cursor", NULL };
	static const char *const statuses[] = { "triage", "escalated",
	    "dismissed", "suppressed" };
	static const char *const severities[] = { "critical", "high",
	    "medium", "low", "info" };
	struct alerts_filter f;
	struct alerts_page *page = NULL;
	char cursor[PAGE_SEQ_CURSOR_LEN] = "";
	const char *s;
	json_object *root, *arr;
	size_t i;
	int rc;

	memset(&f, 0, sizeof(f));
	if (reply_unknown_params(r, known) != 0)
		return;
	if ((s = request_param(r, "status")) != NULL &&
	    name_list(s, statuses, 4, f.status, &f.nstatus) != 0) {
		reply_bad(r, "status", "status must be one or a comma list of "
		    "triage, escalated, dismissed, suppressed.");
		return;
	}
	if ((s = request_param(r, "severity")) != NULL &&
	    name_list(s, severities, 5, f.severity, &f.nseverity) != 0) {
		reply_bad(r, "severity", "severity must be one or a comma list "
		    "of critical, high, medium, low, info.");
		return;
	}
	if ((f.source = request_param(r, "source")) != NULL &&
	    !alerts_source_valid(f.source)) {
		reply_bad(r, "source", "source must be 1 to 64 letters, "
		    "digits, '.', '_' or '-'.");
		return;
	}
	if ((f.assignee = request_param(r, "assignee")) != NULL &&
	    (*f.assignee == '\0' || strlen(f.assignee) >
	    ALERTS_ASSIGNEE_MAX)) {
		reply_bad(r, "assignee", "assignee must be 1 to 254 bytes.");
		return;
	}
	if (reply_since(r, "since", &f.since) < 0 ||
	    params_limit(r, &f.limit) != 0 ||
	    params_seq_cursor(r, &f.before) != 0)
		return;
	if ((rc = alerts_list(db, r->auth.tenant_id, &f, &page)) != 0) {
		api_db_error(r, rc);
		return;
	}
	arr = json_object_new_array_ext((int)page->n);
	for (i = 0; i < page->n; i++)
		json_object_array_add(arr, alerts_to_json(page->rows[i], 0));
	if (page->has_more)
		page_seq_cursor(page->rows[page->n - 1]->seq, cursor,
		    sizeof(cursor));
	root = json_object_new_object();
	page_end(root, "alerts", arr, page->total, page->has_more, cursor);
	response_json(r, 200, root);
	alerts_page_free(page);
}

static void
alerts_get_h(struct request *r, struct db *db)
{
	struct alert_row *a = NULL;
	int rc;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	rc = alerts_get(db, r->auth.tenant_id, r->pathvars[0], &a);
	if (rc < 0)
		api_db_error(r, rc);
	else if (rc == 0)
		not_found(r);
	else {
		json_object *o = alerts_to_json(a, 1), *sla = NULL;

		/* The SLA targets (README "SLAs"): 0 if the alert went in
		 * between the two reads, which leaves them out. */
		rc = sla_object_targets(db, r->auth.tenant_id, "alert",
		    a->id, time(NULL), &sla);
		if (rc < 0) {
			json_object_put(o);
			api_db_error(r, rc);
		} else {
			json_object_object_add(o, "sla", sla);
			response_json(r, 200, o);
		}
	}
	alerts_row_free(a);
}

static void
alerts_history_h(struct request *r, struct db *db)
{
	json_object *h = NULL;
	int rc;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	rc = alerts_history(db, r->auth.tenant_id, r->pathvars[0], &h);
	if (rc < 0)
		api_db_error(r, rc);
	else if (rc == 0)
		not_found(r);
	else
		response_json(r, 200, h);
}

/* The reply to a change's outcome. */
static void
change_reply(struct request *r, enum alerts_outcome o,
    struct alert_row *after, int rc)
{
	switch (o) {
	case ALERTS_OK:
		response_json(r, 200, alerts_to_json(after, 1));
		break;
	case ALERTS_NOT_FOUND:
		not_found(r);
		break;
	case ALERTS_CONFLICT:
		response_error(r, 409, "conflict", "Only an alert in triage "
		    "or suppressed can be dismissed; this one is escalated or "
		    "already dismissed.", "status");
		break;
	default:
		api_db_error(r, rc);
		break;
	}
	alerts_row_free(after);
}

/* PATCH /alerts/{id} {assignee, severity, tags}: at least one. */
static void
alerts_patch_h(struct request *r, struct db *db)
{
	static const char *const allowed[] = { "assignee", "severity", "tags",
	    NULL };
	struct alerts_patch p;
	struct alert_row *after = NULL;
	struct vjson_err e;
	enum alerts_outcome o;
	char actor[128];
	int rc = 0;

	memset(&p, 0, sizeof(p));
	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    (p.set_assignee = vjson_get_string(r->json, "assignee", 0, 1,
	    ALERTS_ASSIGNEE_MAX, &p.assignee, &e)) < 0 ||
	    (p.set_severity = vjson_get_string(r->json, "severity", 0, 1, 16,
	    &p.severity, &e)) < 0 ||
	    (p.set_tags = vjson_get_string_array(r->json, "tags", 0,
	    ALERTS_TAGS_MAX, ALERTS_TAG_MAX, &p.tags, &e)) < 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	/* assignee: null clears it; severity and tags may not be null. */
	p.set_assignee = p.set_assignee ||
	    json_object_object_get_ex(r->json, "assignee", NULL);
	if ((json_object_object_get_ex(r->json, "severity", NULL) &&
	    !p.set_severity) || (p.set_severity &&
	    !alerts_severity_valid(p.severity))) {
		reply_bad(r, "severity", "severity must be one of critical, "
		    "high, medium, low, info.");
		return;
	}
	if (json_object_object_get_ex(r->json, "tags", NULL) && !p.set_tags) {
		reply_bad(r, "tags", "tags must be an array of strings (use "
		    "[] for none).");
		return;
	}
	if (!p.set_assignee && !p.set_severity && !p.set_tags) {
		reply_bad(r, "body", "Give assignee, severity and/or tags.");
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	o = alerts_patch(db, r->auth.tenant_id, r->pathvars[0], &p, actor,
	    time(NULL), &after, &rc);
	change_reply(r, o, after, rc);
}

/* POST /alerts/{id}/dismiss {reason_code, comment}. */
static void
alerts_dismiss_h(struct request *r, struct db *db)
{
	static const char *const allowed[] = { "reason_code", "comment",
	    NULL };
	struct alert_row *after = NULL;
	struct vjson_err e;
	enum alerts_outcome o;
	const char *reason = NULL, *comment = NULL;
	char actor[128];
	int rc = 0;

	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_string(r->json, "reason_code", 1, 1, 32, &reason,
	    &e) < 0 ||
	    vjson_get_text(r->json, "comment", 0, 0, ALERTS_COMMENT_MAX,
	    &comment, &e) < 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	if (!alerts_reason_valid(reason)) {
		reply_bad(r, "reason_code", "reason_code must be one of "
		    "known-good, false-positive, duplicate, test, other.");
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	o = alerts_dismiss(db, r->auth.tenant_id, r->pathvars[0], reason,
	    comment, actor, time(NULL), &after, &rc);
	change_reply(r, o, after, rc);
}

const struct route alerts_routes[] = {
	{ "GET", "/api/v1/alerts", SCOPE_READ, 0, alerts_list_h },
	{ "POST", "/api/v1/alerts", SCOPE_INGEST, ROUTE_JSON_BODY,
	    alerts_ingest_h },
	{ "POST", "/api/v1/alerts/batch", SCOPE_INGEST, ROUTE_JSON_BODY,
	    alerts_batch_h },
	{ "GET", "/api/v1/alerts/{id}", SCOPE_READ, 0, alerts_get_h },
	{ "PATCH", "/api/v1/alerts/{id}", SCOPE_WRITE, ROUTE_JSON_BODY,
	    alerts_patch_h },
	{ "GET", "/api/v1/alerts/{id}/history", SCOPE_READ, 0,
	    alerts_history_h },
	{ "POST", "/api/v1/alerts/{id}/dismiss", SCOPE_WRITE, ROUTE_JSON_BODY,
	    alerts_dismiss_h },
};
const size_t alerts_nroutes = NELEM(alerts_routes);
