/* auditapi.c: GET /api/v1/audit (admin; newest first, keyset cursor) and
 * POST /api/v1/audit/export (admin; a range in chain order plus the
 * chain head). The entries are written by audit_append and read back by
 * audit_list and audit_export (src/audit.c); nothing here writes.
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

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "audit.h"
#include "vjson.h"
#include "vtime.h"

#define AUDIT_ACTION_MAX	64

static void
bad(struct request *r, const char *field, const char *msg)
{
	response_error(r, 400, "invalid_request", msg, field);
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
	struct audit_page *page;
	const char *action, *s;
	char cursor[32];
	json_object *root, *arr;
	long long before = (1LL << 62);
	long limit;
	time_t since = 0;
	size_t i, j;
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
	if ((s = request_param(r, "since")) != NULL &&
	    vtime_parse_rfc3339(s, &since) != 0) {
		bad(r, "since", "since must be an RFC 3339 timestamp.");
		return;
	}
	if (params_limit(r, &limit) != 0 ||
	    params_seq_cursor(r, &before) != 0)
		return;
	if ((rc = audit_list(db, r->auth.tenant_id, action,
	    s != NULL ? &since : NULL, before, limit, &page)) != 0) {
		api_db_error(r, rc);
		return;
	}
	root = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < page->n; i++)
		json_object_array_add(arr,
		    audit_entry_to_json(&page->rows[i], 0));
	json_object_object_add(root, "entries", arr);
	json_object_object_add(root, "total",
	    json_object_new_int64(page->total));
	json_object_object_add(root, "has_more",
	    json_object_new_boolean(page->has_more));
	/* The cursor params_seq_cursor reads: the last seq shown. */
	if (page->has_more)
		snprintf(cursor, sizeof(cursor), "s%lld",
		    page->rows[page->n - 1].seq);
	json_object_object_add(root, "next_cursor", page->has_more ?
	    json_object_new_string(cursor) : NULL);
	audit_page_free(page);
	response_json(r, 200, root);
}

/* The optional export body {since, until}: RFC 3339, inclusive. Sets
 * *since and *until to their times, or to NULL when absent. 0, or -1
 * after a 400. */
static int
export_args(struct request *r, time_t *ts, time_t *tu, const time_t **since,
    const time_t **until)
{
	static const char *const allowed[] = { "since", "until", NULL };
	struct vjson_err e;
	const char *s = NULL, *u = NULL;

	*since = *until = NULL;
	*ts = *tu = 0;
	if (r->json == NULL)
		return 0;
	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_string(r->json, "since", 0, 1, 64, &s, &e) < 0 ||
	    vjson_get_string(r->json, "until", 0, 1, 64, &u, &e) < 0) {
		bad(r, e.field, e.message);
		return -1;
	}
	if (s != NULL && vtime_parse_rfc3339(s, ts) != 0) {
		bad(r, "since", "since must be an RFC 3339 timestamp.");
		return -1;
	}
	if (u != NULL && vtime_parse_rfc3339(u, tu) != 0) {
		bad(r, "until", "until must be an RFC 3339 timestamp.");
		return -1;
	}
	if (s != NULL && u != NULL && *tu < *ts) {
		bad(r, "until", "until must not be before since.");
		return -1;
	}
	*since = s != NULL ? ts : NULL;
	*until = u != NULL ? tu : NULL;
	return 0;
}

static void
auditapi_export(struct request *r, struct db *db)
{
	struct audit_export *x;
	const time_t *since, *until;
	time_t ts, tu;
	int rc;

	if (r->nparams > 0) {
		bad(r, r->params[0].name, "Unknown query parameter.");
		return;
	}
	if (export_args(r, &ts, &tu, &since, &until) != 0)
		return;
	if ((rc = audit_export(db, r->auth.tenant_id, since, until,
	    &x)) != 0) {
		api_db_error(r, rc);
		return;
	}
	response_header(r, "Content-Disposition",
	    "attachment; filename=\"vigil-audit.json\"");
	response_json(r, 200, audit_export_to_json(x, r->auth.tenant_id,
	    time(NULL)));
	audit_export_free(x);
}

const struct route auditapi_routes[] = {
	{ "GET", "/api/v1/audit", SCOPE_ADMIN, 0, auditapi_list },
	{ "POST", "/api/v1/audit/export", SCOPE_ADMIN, ROUTE_OPT_BODY,
	    auditapi_export },
};
const size_t auditapi_nroutes = NELEM(auditapi_routes);
