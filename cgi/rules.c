/* rules.c: GET /api/v1/rules and /rules/{id}, the rules vigil-scan
 * evaluates for the tenant: the rule pack, read once per worker from
 * vigil.conf's rules_dir (a worker that could not read the directory
 * answers 500 and tries again on the next request; a bad file in it is
 * skipped and listed as invalid), with the tenant's settings
 * applied, then its custom rules; PUT /rules/{id} (settings), POST /rules
 * and DELETE /rules/{id} (custom rules), all src/scan/tenantrules.c's. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "compliance.h"
#include "conf.h"
#include "db.h"
#include "finding.h"
#include "log.h"
#include "page.h"
#include "reply.h"
#include "rules.h"
#include "tenantrules.h"
#include "vjson.h"

/* The worker's rules: loaded on first use, kept until exit. */
static struct ruleset loaded;
static int loaded_ok;

static int
rules_ready(void)
{
	char err[1024];
	size_t i;

	if (loaded_ok)
		return 0;
	/* References to controls are checked against the catalogue. */
	if (compliance_catalog() == NULL)
		return -1;
	if (rules_load_dir(&loaded, g_conf.rules_dir, err, sizeof(err)) != 0) {
		log_err("rules: %s", err);
		return -1;
	}
	/* Skipped files are listed by GET /rules, and logged once here. */
	for (i = 0; i < loaded.ninvalid; i++)
		log_err("rules: %s: %s (file skipped)", loaded.invalid[i].file,
		    loaded.invalid[i].error);
	loaded_ok = 1;
	return 0;
}

/* GET /rules' "invalid": the rule files skipped, one entry per problem,
 * each file named under rules_dir (the server's paths are not the
 * tenant's business). */
static json_object *
invalid_json(void)
{
	json_object *arr = json_object_new_array(), *o;
	size_t i, dl = strlen(g_conf.rules_dir);
	const char *f;

	for (i = 0; i < loaded.ninvalid; i++) {
		f = loaded.invalid[i].file;
		if (strncmp(f, g_conf.rules_dir, dl) == 0 && f[dl] == '/')
			f += dl + 1;
		o = json_object_new_object();
		json_object_object_add(o, "file", json_object_new_string(f));
		json_object_object_add(o, "error",
		    json_object_new_string(loaded.invalid[i].error));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* The i-th rule of the tenant's view: the pack, then its custom rules. */
static const struct rule *
view_at(const struct tenantrules *t, size_t i, int *custom)
{
	*custom = i >= loaded.n;
	return i < loaded.n ? &loaded.rules[i] : &t->custom.rules[i - loaded.n];
}

/* The effective severity of r for the tenant. */
static enum finding_severity
effective_sev(const struct tenantrules *t, const struct rule *r)
{
	const struct tenantrules_setting *s = tenantrules_setting(t, r->id);

	return s != NULL && s->severity != FINDING_SEV_UNSET ? s->severity :
	    r->severity;
}

/* GET /rules?severity=&category=&limit=&cursor= (the cursor is the last
 * rule id of the previous page, in the order: the pack by file name, then
 * the tenant's custom rules oldest first). severity filters on the
 * tenant's effective severity. */
static void
rules_list(struct request *r, struct db *db)
{
	static const char *const known[] = { "severity", "category", "limit",
	    "cursor", NULL };
	const char *sev = request_param(r, "severity");
	const char *cat = request_param(r, "category");
	const char *cursor = request_param(r, "cursor"), *last = NULL;
	enum finding_severity want = FINDING_SEV_UNSET;
	struct tenantrules t;
	json_object *root, *arr;
	long limit, total = 0, shown = 0;
	size_t i, n, start = 0;
	int more = 0, custom, rc;

	if (reply_unknown_params(r, known) != 0)
		return;
	if (sev != NULL && finding_severity_from_str(sev, &want) != 0) {
		reply_bad(r, "severity", "severity must be one of critical, high, "
		    "medium, low, info.");
		return;
	}
	if (params_limit(r, &limit) != 0)
		return;
	if (rules_ready() != 0) {
		response_error(r, 500, "internal_error",
		    "The rules could not be loaded.", NULL);
		return;
	}
	if ((rc = tenantrules_load(db, r->auth.tenant_id, &loaded, &t)) != 0) {
		api_db_error(r, rc);
		return;
	}
	n = loaded.n + t.custom.n;
	if (cursor != NULL) {
		for (i = 0; i < n; i++)
			if (strcmp(view_at(&t, i, &custom)->id, cursor) == 0)
				break;
		if (i == n) {
			tenantrules_free(&t);
			reply_bad(r, "cursor", "cursor is not valid.");
			return;
		}
		start = i + 1;
	}
	root = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		const struct rule *ru = view_at(&t, i, &custom);

		if ((want != FINDING_SEV_UNSET && effective_sev(&t, ru) != want) ||
		    (cat != NULL && strcmp(ru->category, cat) != 0))
			continue;
		total++;
		if (i < start)
			continue;
		if (shown == limit) {
			more = 1;
			continue;
		}
		json_object_array_add(arr, tenantrules_to_json(&t, ru, custom));
		last = ru->id;
		shown++;
	}
	page_end(root, "rules", arr, total, more, last);
	json_object_object_add(root, "invalid", invalid_json());
	tenantrules_free(&t);
	response_json(r, 200, root);
}

/* The answer for one rule of the tenant's view, or 404. */
static void
reply_rule(struct request *r, struct db *db, const char *id, int status)
{
	struct tenantrules t;
	size_t i;
	int custom, rc;

	if ((rc = tenantrules_load(db, r->auth.tenant_id, &loaded, &t)) != 0) {
		api_db_error(r, rc);
		return;
	}
	for (i = 0; i < loaded.n + t.custom.n; i++) {
		const struct rule *ru = view_at(&t, i, &custom);

		if (strcmp(ru->id, id) == 0) {
			response_json(r, status, tenantrules_to_json(&t, ru,
			    custom));
			tenantrules_free(&t);
			return;
		}
	}
	tenantrules_free(&t);
	response_error(r, 404, "not_found", "No such rule.", "id");
}

static void
rules_get_h(struct request *r, struct db *db)
{
	if (reply_unknown_params(r, (const char *const[]){ NULL }) != 0)
		return;
	if (rules_ready() != 0) {
		response_error(r, 500, "internal_error",
		    "The rules could not be loaded.", NULL);
		return;
	}
	reply_rule(r, db, r->pathvars[0], 200);
}

/* PUT /rules/{id} {enabled?, severity? (null: the rule's own)}. */
static void
rules_put_h(struct request *r, struct db *db)
{
	static const char *const allowed[] = { "enabled", "severity", NULL };
	enum finding_severity sev = FINDING_SEV_UNSET;
	struct vjson_err e;
	json_object *v = NULL;
	const char *s = NULL;
	char actor[128];
	long resolved = 0;
	int enabled = 1, en_set, sev_set = 0, rc;

	memset(&e, 0, sizeof(e));
	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    (en_set = vjson_get_bool(r->json, "enabled", 0, &enabled,
	    &e)) < 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	if (json_object_object_get_ex(r->json, "severity", &v)) {
		sev_set = 1;
		if (v != NULL && (vjson_get_string(r->json, "severity", 1, 1,
		    16, &s, &e) < 0 || finding_severity_from_str(s,
		    &sev) != 0)) {
			reply_bad(r, "severity", "severity must be one of "
			    "critical, high, medium, low, info, or null.");
			return;
		}
	}
	if (!en_set && !sev_set) {
		reply_bad(r, "enabled", "Give enabled, severity or both.");
		return;
	}
	if (rules_ready() != 0) {
		response_error(r, 500, "internal_error",
		    "The rules could not be loaded.", NULL);
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	switch (tenantrules_set(db, r->auth.tenant_id, &loaded,
	    r->pathvars[0], en_set, enabled, sev_set, sev, actor, time(NULL),
	    &resolved, &rc)) {
	case TENANTRULES_OK:
		break;
	case TENANTRULES_NOT_FOUND:
		response_error(r, 404, "not_found", "No such rule.", "id");
		return;
	default:
		api_db_error(r, rc);
		return;
	}
	(void)resolved;
	reply_rule(r, db, r->pathvars[0], 200);
}

/* POST /rules: one custom rule, the JSON of a rule file. */
static void
rules_create_h(struct request *r, struct db *db)
{
	char actor[128], id[80], err[512];
	int rc;

	if (rules_ready() != 0) {
		response_error(r, 500, "internal_error",
		    "The rules could not be loaded.", NULL);
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	switch (tenantrules_create(db, r->auth.tenant_id, &loaded, r->body,
	    r->body_len, actor, time(NULL), id, sizeof(id), err, sizeof(err),
	    &rc)) {
	case TENANTRULES_OK:
		reply_rule(r, db, id, 201);
		return;
	case TENANTRULES_INVALID:
		reply_bad(r, "rule", err);
		return;
	case TENANTRULES_CONFLICT:
		response_error(r, 409, "conflict", err, "id");
		return;
	default:
		api_db_error(r, rc);
		return;
	}
}

static void
rules_delete_h(struct request *r, struct db *db)
{
	json_object *root;
	char actor[128];
	long resolved = 0;
	int rc;

	if (reply_unknown_params(r, (const char *const[]){ NULL }) != 0)
		return;
	if (rules_ready() != 0) {
		response_error(r, 500, "internal_error",
		    "The rules could not be loaded.", NULL);
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	switch (tenantrules_delete(db, r->auth.tenant_id, &loaded,
	    r->pathvars[0], actor, time(NULL), &resolved, &rc)) {
	case TENANTRULES_OK:
		break;
	case TENANTRULES_NOT_FOUND:
		response_error(r, 404, "not_found", "No such rule.", "id");
		return;
	case TENANTRULES_CONFLICT:
		response_error(r, 409, "conflict", "A built-in rule cannot be "
		    "deleted; disable it with PUT /api/v1/rules/{id}.", "id");
		return;
	default:
		api_db_error(r, rc);
		return;
	}
	root = json_object_new_object();
	json_object_object_add(root, "id",
	    json_object_new_string(r->pathvars[0]));
	json_object_object_add(root, "deleted", json_object_new_boolean(1));
	json_object_object_add(root, "findings_resolved",
	    json_object_new_int64(resolved));
	response_json(r, 200, root);
}

const struct route rules_routes[] = {
	{ "GET", "/api/v1/rules", SCOPE_READ, 0, rules_list },
	{ "POST", "/api/v1/rules", SCOPE_ADMIN, ROUTE_JSON_BODY,
	    rules_create_h },
	{ "GET", "/api/v1/rules/{id}", SCOPE_READ, 0, rules_get_h },
	{ "PUT", "/api/v1/rules/{id}", SCOPE_ADMIN, ROUTE_JSON_BODY,
	    rules_put_h },
	{ "DELETE", "/api/v1/rules/{id}", SCOPE_ADMIN, 0, rules_delete_h },
};
const size_t rules_nroutes = NELEM(rules_routes);
