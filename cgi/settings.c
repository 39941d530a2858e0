/* settings.c: GET /api/v1/settings (read) and PUT /api/v1/settings (admin,
 * partial update) of the tenant's settings (src/domain/settings.c): the
 * auto-remediation opt-in, the scan interval, the rate-limit overrides and
 * the IP allowlist.
 *
 * The allowlist is enforced on every authenticated request by
 * allowlist.c; a PUT that would refuse its own client address is refused
 * (400), so that an admin cannot lock themselves out. */
#include "vigil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "cidr.h"
#include "db.h"
#include "reply.h"
#include "settings.h"
#include "vjson.h"

static void
settings_get_h(struct request *r, struct db *db)
{
	struct settings *s;
	int rc;

	/* No query parameters: a client's typo is a 400, not ignored. */
	if (reply_unknown_params(r, NULL) != 0)
		return;
	/* 0: the tenant just authenticated is gone. */
	if ((rc = settings_get(db, r->auth.tenant_id, &s)) != 1) {
		api_db_error(r, rc < 0 ? rc : DB_ERR);
		return;
	}
	response_json(r, 200, settings_to_json(s));
	settings_free(s);
}

/* 1 if obj has field set to JSON null. */
static int
is_null(json_object *obj, const char *field)
{
	json_object *v;

	return json_object_object_get_ex(obj, field, &v) && v == NULL;
}

static int
fail(struct vjson_err *e, const char *field, const char *msg)
{
	snprintf(e->field, sizeof(e->field), "%s", field);
	snprintf(e->message, sizeof(e->message), "%s", msg);
	return -1;
}

/* rate_limits: {read_per_min, write_per_min}, each absent (unchanged),
 * null (back to the default) or within the domain's bounds, checked here
 * too so that errors come in the body's order. 0 or -1 with e filled. */
static int
rates_args(json_object *rl, struct settings_change *c, struct vjson_err *e)
{
	static const char *const allowed[] = { "read_per_min",
	    "write_per_min", "ingest_per_min", NULL };
	static const char *const names[] = { "read_per_min",
	    "write_per_min", "ingest_per_min" };
	int *set[] = { &c->set_rate_read, &c->set_rate_write,
	    &c->set_rate_ingest };
	long long *slot[] = { &c->rate_read, &c->rate_write,
	    &c->rate_ingest };
	char field[sizeof(e->field)];
	int64_t v;
	size_t i;
	int rc;

	if (!json_object_is_type(rl, json_type_object))
		return fail(e, "rate_limits", "rate_limits must be an object "
		    "with read_per_min, write_per_min and/or ingest_per_min.");
	if (vjson_only_keys(rl, allowed, e) != 0) {
		snprintf(field, sizeof(field), "rate_limits.%.100s", e->field);
		snprintf(e->field, sizeof(e->field), "%s", field);
		return -1;
	}
	for (i = 0; i < NELEM(names); i++) {
		if (is_null(rl, names[i])) {
			*set[i] = 1;
			*slot[i] = 0;
			continue;
		}
		rc = vjson_get_int(rl, names[i], 0, SETTINGS_RATE_MIN,
		    SETTINGS_RATE_MAX, &v, e);
		if (rc < 0) {
			snprintf(e->field, sizeof(e->field), "rate_limits.%s",
			    names[i]);
			snprintf(e->message, sizeof(e->message), "rate_limits."
			    "%s must be an integer from %d to %d, or null for "
			    "the default.", names[i], SETTINGS_RATE_MIN,
			    SETTINGS_RATE_MAX);
			return -1;
		}
		if (rc == 1) {
			*set[i] = 1;
			*slot[i] = v;
		}
	}
	return 0;
}

/* The PUT body as a change (items holds the allowlist's entries, borrowed
 * from body). Its shape is checked here, field by field, with the
 * domain's bounds; the entries themselves are the domain's to judge. 0,
 * or -1 with e. */
static int
change_args(json_object *body, struct settings_change *c,
    const char **items, struct vjson_err *e)
{
	static const char *const allowed[] = { "allow_auto_remediate",
	    "scan_interval_minutes", "rate_limits", "ip_allowlist", NULL };
	static const char *const nonnull[] = { "allow_auto_remediate",
	    "scan_interval_minutes", "rate_limits", "ip_allowlist" };
	json_object *v;
	int64_t iv;
	size_t i;
	int b, rc;

	memset(c, 0, sizeof(*c));
	if (vjson_only_keys(body, allowed, e) != 0)
		return -1;
	if (json_object_object_length(body) == 0)
		return fail(e, "body", "Send at least one of "
		    "allow_auto_remediate, scan_interval_minutes, rate_limits "
		    "and ip_allowlist.");
	for (i = 0; i < NELEM(nonnull); i++)
		if (is_null(body, nonnull[i])) {
			snprintf(e->field, sizeof(e->field), "%s", nonnull[i]);
			snprintf(e->message, sizeof(e->message),
			    "%s must not be null.", nonnull[i]);
			return -1;
		}
	if ((rc = vjson_get_bool(body, "allow_auto_remediate", 0, &b, e)) < 0)
		return -1;
	c->set_auto_remediate = rc == 1;
	c->auto_remediate = rc == 1 && b;
	if ((rc = vjson_get_int(body, "scan_interval_minutes", 0,
	    SETTINGS_SCAN_MIN, SETTINGS_SCAN_MAX, &iv, e)) < 0)
		return -1;
	c->set_scan_interval = rc == 1;
	c->scan_interval = rc == 1 ? iv : 0;
	if (json_object_object_get_ex(body, "rate_limits", &v) &&
	    rates_args(v, c, e) != 0)
		return -1;
	if ((rc = vjson_get_string_array(body, "ip_allowlist", 0,
	    SETTINGS_ALLOWLIST_MAX, SETTINGS_CIDR_MAX, &v, e)) < 0)
		return -1;
	if (rc == 1) {
		c->set_allowlist = 1;
		c->nallowlist = json_object_array_length(v);
		for (i = 0; i < c->nallowlist; i++)
			items[i] = json_object_get_string(
			    json_object_array_get_idx(v, i));
		c->allowlist = items;
	}
	return 0;
}

static void
settings_put_h(struct request *r, struct db *db)
{
	struct settings_change c;
	struct settings_err se;
	struct settings *after = NULL;
	struct vjson_err e;
	struct cidr client;
	const char *items[SETTINGS_ALLOWLIST_MAX];
	char actor[128];
	int rc;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	if (change_args(r->json, &c, items, &e) != 0) {
		reply_bad(r, e.field, e.message);
		return;
	}
	c.guard = 1;
	c.client = c.set_allowlist && allowlist_client(r, &client) ?
	    &client : NULL;
	auth_actor(r, actor, sizeof(actor));
	switch (settings_put(db, r->auth.tenant_id, &c, actor, time(NULL),
	    &se, &after, &rc)) {
	case SETTINGS_OK:
		/* The new limits and allowlist apply in this worker from
		 * the next request on (the limits on the whole pool). */
		auth_forget_tenant(r->auth.tenant_id);
		allowlist_forget(r->auth.tenant_id);
		response_json(r, 200, settings_to_json(after));
		settings_free(after);
		break;
	case SETTINGS_INVALID:
		reply_bad(r, se.field, se.message);
		break;
	case SETTINGS_LOCKOUT:
		reply_bad(r, "ip_allowlist", "ip_allowlist does not include "
		    "the address this request comes from: it would lock "
		    "this client out. Include it (or set the list from an "
		    "address it includes).");
		break;
	case SETTINGS_DB_ERROR:
		api_db_error(r, rc);
		break;
	}
}

const struct route settings_routes[] = {
	{ "GET", "/api/v1/settings", SCOPE_READ, 0, settings_get_h },
	{ "PUT", "/api/v1/settings", SCOPE_ADMIN, ROUTE_JSON_BODY,
	    settings_put_h },
};
const size_t settings_nroutes = NELEM(settings_routes);
