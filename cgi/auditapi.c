/* auditapi.c: GET /api/v1/audit (admin; newest first, keyset cursor) and
 * POST /api/v1/audit/export (admin; a range in chain order plus the
 * chain head). The domain writes the entries, with the change each
 * records, and reads them back (audit_list and audit_export in
 * src/domain/audit.c); nothing here writes.
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

#include <string.h>
#include <time.h>

#include "api.h"
#include "audit.h"
#include "page.h"
#include "reply.h"
#include "vjson.h"

#define AUDIT_ACTION_MAX	64

/* An action name as the domain writes them: "settings.update". */
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
	    "cursor", NULL };
	struct audit_page *page;
	const char *action;
	char cursor[PAGE_SEQ_CURSOR_LEN] = "";
	json_object *root, *arr;
	long long before = (1LL << 62);
	long limit;
	time_t since = 0;
	size_t i;
	int has_since, rc;

	if (reply_unknown_params(r, known) != 0)
		return;
	if ((action = request_param(r, "action")) != NULL &&
	    !action_valid(action)) {
		reply_bad(r, "action", "action must be 1 to 64 of a-z, 0-9, "
		    "'.', '_' and '-', e.g. settings.update.");
		return;
	}
	if ((has_since = reply_since(r, "since", &since)) < 0 ||
	    params_limit(r, &limit) != 0 ||
	    params_seq_cursor(r, &before) != 0)
		return;
	if ((rc = audit_list(db, r->auth.tenant_id, action,
	    has_since ? &since : NULL, before, limit, &page)) != 0) {
		api_db_error(r, rc);
		return;
	}
	root = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < page->n; i++)
		json_object_array_add(arr,
		    audit_entry_to_json(&page->rows[i], 0));
	if (page->has_more)
		page_seq_cursor(page->rows[page->n - 1].seq, cursor,
		    sizeof(cursor));
	page_end(root, "entries", arr, page->total, page->has_more, cursor);
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
		reply_bad(r, e.field, e.message);
		return -1;
	}
	if (reply_time(r, "since", s, ts) < 0 ||
	    reply_time(r, "until", u, tu) < 0)
		return -1;
	if (s != NULL && u != NULL && *tu < *ts) {
		reply_bad(r, "until", "until must not be before since.");
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

	if (reply_unknown_params(r, NULL) != 0)
		return;
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
