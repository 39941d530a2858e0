/* settings.c: GET /api/v1/settings (read) and PUT /api/v1/settings (admin,
 * partial update): auto-remediation opt-in, scan interval, the tenant's
 * rate-limit overrides (kept on the tenants row, where the authentication
 * statement reads them) and the IP allowlist.
 *
 * The allowlist is validated, canonicalised and stored, and enforced on
 * every authenticated request by allowlist.c; a PUT that would refuse its
 * own client address is refused (400), so that an admin cannot lock
 * themselves out. */
#include "vigil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "api.h"
#include "cidr.h"
#include "audit.h"
#include "db.h"
#include "vjson.h"
#include "vtime.h"

#define SETTINGS_SCAN_DEFAULT   60
#define SETTINGS_SCAN_MIN       5
#define SETTINGS_SCAN_MAX       1440
#define SETTINGS_RATE_MIN       1
#define SETTINGS_RATE_MAX       100000
#define SETTINGS_ALLOWLIST_MAX  100
#define SETTINGS_CIDR_MAX       64      /* bytes of one entry as sent */
#define SETTINGS_CIDR_LEN       (INET6_ADDRSTRLEN + 5)

/* One tenant's settings as stored; rates are 0 for "the configured
 * default" (SQL NULL). allowlist is owned (a JSON array of strings). */
struct settings {
	int		 auto_remediate;
	long long	 scan_interval;
	long long	 rate_read;
	long long	 rate_write;
	json_object	*allowlist;
	char		 updated_at[VTIME_SQL_LEN];   /* "" if never written */
};

/* These resources take no query parameters: any is a 400, so that a
 * client's typo is not silently ignored. 0, or -1 after the reply. */
static int
no_params(struct request *r)
{
	if (r->nparams == 0)
		return 0;
	response_error(r, 400, "invalid_request", "Unknown query parameter.",
	    r->params[0].name);
	return -1;
}

static void
settings_clear(struct settings *s)
{
	json_object_put(s->allowlist);
	s->allowlist = NULL;
}

/* The stored allowlist text as an array; [] if absent or unreadable (it
 * was validated on the way in, so unreadable means edited by hand). */
static json_object *
allowlist_parse(const char *text)
{
	struct vjson_err e;
	json_object *a = NULL;

	if (text != NULL)
		a = vjson_parse(text, strlen(text), 2, 64 * 1024, &e);
	if (a != NULL && json_object_is_type(a, json_type_array))
		return a;
	json_object_put(a);
	return json_object_new_array();
}

/* Load a tenant's settings (defaults where none are stored); with lock
 * the tenant row and the settings row are locked for update. 0, or a
 * DB_* code. s->allowlist is new on success; settings_clear frees it. */
static int
settings_load(struct db *db, const char *tenant_id, int lock,
    struct settings *s)
{
	struct db_res *res = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = db_exec(db, lock ? SQL_SETTINGS_GET_LOCK : SQL_SETTINGS_GET,
	    (struct db_val[]){ DB_STR(tenant_id) }, 1, &res);
	if (rc != 0)
		return rc;
	if (res->nrows != 1) {
		/* Authenticated, so the tenant exists. */
		db_res_free(res);
		return DB_ERR;
	}
	s->rate_read = db_cell_int(res, 0, 0);
	s->rate_write = db_cell_int(res, 0, 1);
	s->scan_interval = SETTINGS_SCAN_DEFAULT;
	if (db_cell(res, 0, 5) != NULL) {
		s->auto_remediate = db_cell_int(res, 0, 2) != 0;
		s->scan_interval = db_cell_int(res, 0, 3);
		snprintf(s->updated_at, sizeof(s->updated_at), "%s",
		    db_cell(res, 0, 5));
	}
	s->allowlist = allowlist_parse(db_cell(res, 0, 4));
	db_res_free(res);
	return 0;
}

static json_object *
rate_or_null(long long v)
{
	return v > 0 ? json_object_new_int64(v) : NULL;
}

/* The API shape; a new object the caller puts. */
static json_object *
settings_json(const struct settings *s)
{
	json_object *o = json_object_new_object(), *rl;
	char ts[VTIME_RFC3339_LEN];

	rl = json_object_new_object();
	json_object_object_add(rl, "read_per_min", rate_or_null(s->rate_read));
	json_object_object_add(rl, "write_per_min",
	    rate_or_null(s->rate_write));
	json_object_object_add(o, "allow_auto_remediate",
	    json_object_new_boolean(s->auto_remediate));
	json_object_object_add(o, "scan_interval_minutes",
	    json_object_new_int64(s->scan_interval));
	json_object_object_add(o, "rate_limits", rl);
	/* Shared with s: the object gets its own reference. */
	json_object_object_add(o, "ip_allowlist",
	    json_object_get(s->allowlist));
	json_object_object_add(o, "updated_at", s->updated_at[0] != '\0' &&
	    vtime_sql_to_rfc3339(s->updated_at, ts, sizeof(ts)) == 0 ?
	    json_object_new_string(ts) : NULL);
	return o;
}

static void
settings_get(struct request *r, struct db *db)
{
	struct settings s;
	int rc;

	if (no_params(r) != 0)
		return;
	if ((rc = settings_load(db, r->auth.tenant_id, 0, &s)) != 0) {
		api_db_error(r, rc);
		return;
	}
	response_json(r, 200, settings_json(&s));
	settings_clear(&s);
}

/*
 * "a.b.c.d[/n]" or "v6[/n]" to its canonical "address/prefix" in out
 * (at least SETTINGS_CIDR_LEN bytes). A bare address is a /32 or /128.
 * Host bits past the prefix are refused rather than masked, so that a
 * typo does not silently open a wider range. 0, or -1 with *why set.
 */
static int
cidr_canon(const char *in, char *out, size_t outsz, const char **why)
{
	unsigned char bin[16];
	char addr[INET6_ADDRSTRLEN + 1], text[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(in, '/'), *p;
	size_t alen = slash ? (size_t)(slash - in) : strlen(in);
	int af, maxbits, bits, i;

	*why = "must be an IPv4 or IPv6 address or CIDR range";
	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, in, alen);
	addr[alen] = '\0';
	af = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	maxbits = af == AF_INET6 ? 128 : 32;
	if (inet_pton(af, addr, bin) != 1)
		return -1;
	bits = maxbits;
	if (slash != NULL) {
		p = slash + 1;
		/* 1 to 3 digits, no sign, no leading zero. */
		if (*p == '\0' || strlen(p) > 3 || (p[0] == '0' && p[1]))
			return -1;
		for (bits = 0; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			bits = bits * 10 + (*p - '0');
		}
		if (bits > maxbits) {
			*why = "has a prefix length longer than the address";
			return -1;
		}
	}
	for (i = bits; i < maxbits; i++)
		if (bin[i / 8] & (0x80 >> (i % 8))) {
			*why = "has bits set past its prefix length (write the "
			    "network address)";
			return -1;
		}
	if (inet_ntop(af, bin, text, sizeof(text)) == NULL)
		return -1;
	if ((size_t)snprintf(out, outsz, "%s/%d", text, bits) >= outsz)
		return -1;
	return 0;
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
 * null (back to the default) or 1..100000. 0 or -1 with e filled. */
static int
rates_args(json_object *rl, struct settings *s, struct vjson_err *e)
{
	static const char *const allowed[] = { "read_per_min",
	    "write_per_min", NULL };
	static const char *const names[] = { "read_per_min",
	    "write_per_min" };
	long long *slot[] = { &s->rate_read, &s->rate_write };
	char field[sizeof(e->field)];
	int64_t v;
	size_t i;
	int rc;

	if (!json_object_is_type(rl, json_type_object))
		return fail(e, "rate_limits", "rate_limits must be an object "
		    "with read_per_min and/or write_per_min.");
	if (vjson_only_keys(rl, allowed, e) != 0) {
		snprintf(field, sizeof(field), "rate_limits.%.100s", e->field);
		snprintf(e->field, sizeof(e->field), "%s", field);
		return -1;
	}
	for (i = 0; i < NELEM(names); i++) {
		if (is_null(rl, names[i])) {
			*slot[i] = 0;
			continue;
		}
		rc = vjson_get_int(rl, names[i], 0, SETTINGS_RATE_MIN,
		    SETTINGS_RATE_MAX, &v, e);
		if (rc < 0) {
			snprintf(e->field, sizeof(e->field), "rate_limits.%s",
			    names[i]);
			snprintf(e->message, sizeof(e->message), "rate_limits."
			    "%s must be an integer from 1 to 100000, or null "
			    "for the default.", names[i]);
			return -1;
		}
		if (rc == 1)
			*slot[i] = v;
	}
	return 0;
}

/* ip_allowlist: at most 100 distinct CIDR strings; s->allowlist is
 * replaced by the canonical list. 0 or -1 with e filled. */
static int
allowlist_args(json_object *arr, struct settings *s, struct vjson_err *e)
{
	json_object *out = json_object_new_array();
	char canon[SETTINGS_CIDR_LEN], field[64];
	const char *why;
	size_t i, j, n = json_object_array_length(arr);

	for (i = 0; i < n; i++) {
		const char *in = json_object_get_string(
		    json_object_array_get_idx(arr, i));

		snprintf(field, sizeof(field), "ip_allowlist[%zu]", i);
		if (cidr_canon(in, canon, sizeof(canon), &why) != 0) {
			snprintf(e->message, sizeof(e->message),
			    "%s %s.", field, why);
			goto bad;
		}
		for (j = 0; j < i; j++)
			if (strcmp(json_object_get_string(
			    json_object_array_get_idx(out, j)), canon) == 0) {
				snprintf(e->message, sizeof(e->message),
				    "%s repeats %s.", field, canon);
				goto bad;
			}
		json_object_array_add(out, json_object_new_string(canon));
	}
	json_object_put(s->allowlist);
	s->allowlist = out;
	return 0;
bad:
	snprintf(e->field, sizeof(e->field), "%s", field);
	json_object_put(out);
	return -1;
}

/* Apply the PUT body onto s (loaded and locked). 0, or -1 with e. */
static int
settings_args(json_object *body, struct settings *s, struct vjson_err *e)
{
	static const char *const allowed[] = { "allow_auto_remediate",
	    "scan_interval_minutes", "rate_limits", "ip_allowlist", NULL };
	static const char *const nonnull[] = { "allow_auto_remediate",
	    "scan_interval_minutes", "rate_limits", "ip_allowlist" };
	json_object *v;
	int64_t iv;
	size_t i;
	int b, rc;

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
	if (rc == 1)
		s->auto_remediate = b;
	if ((rc = vjson_get_int(body, "scan_interval_minutes", 0,
	    SETTINGS_SCAN_MIN, SETTINGS_SCAN_MAX, &iv, e)) < 0)
		return -1;
	if (rc == 1)
		s->scan_interval = iv;
	if (json_object_object_get_ex(body, "rate_limits", &v) &&
	    rates_args(v, s, e) != 0)
		return -1;
	if ((rc = vjson_get_string_array(body, "ip_allowlist", 0,
	    SETTINGS_ALLOWLIST_MAX, SETTINGS_CIDR_MAX, &v, e)) < 0)
		return -1;
	if (rc == 1 && allowlist_args(v, s, e) != 0)
		return -1;
	return 0;
}

/* 1 if the non-empty canonical list would refuse this very request. */
static int
locks_out(const struct request *r, json_object *list)
{
	struct cidr c, client;
	size_t i, n = list ? json_object_array_length(list) : 0;

	if (n == 0)
		return 0;
	if (!allowlist_client(r, &client))
		return 1;
	for (i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(list, i);

		if (cidr_parse(json_object_get_string(it),
		    (size_t)json_object_get_string_len(it), &c) &&
		    cidr_contains(&c, &client))
			return 0;
	}
	return 1;
}

static void
settings_put(struct request *r, struct db *db)
{
	struct settings s;
	struct vjson_err e;
	json_object *out = NULL;
	const char *list;
	char actor[128], now[VTIME_SQL_LEN];
	int rc;

	if (no_params(r) != 0)
		return;
	memset(&s, 0, sizeof(s));
	auth_actor(r, actor, sizeof(actor));
	/* Load under the locks first: a partial update merges onto what
	 * is stored, and two PUTs must not interleave. */
	if ((rc = db_begin(db)) != 0 ||
	    (rc = settings_load(db, r->auth.tenant_id, 1, &s)) != 0)
		goto dberr;
	if (settings_args(r->json, &s, &e) != 0) {
		db_rollback(db);
		response_error(r, 400, "invalid_request", e.message, e.field);
		goto out;
	}
	if (json_object_object_get_ex(r->json, "ip_allowlist", NULL) &&
	    locks_out(r, s.allowlist)) {
		db_rollback(db);
		response_error(r, 400, "invalid_request", "ip_allowlist does "
		    "not include the address this request comes from: it "
		    "would lock this client out. Include it (or set the "
		    "list from an address it includes).", "ip_allowlist");
		goto out;
	}
	vtime_sql(time(NULL), now, sizeof(now));
	snprintf(s.updated_at, sizeof(s.updated_at), "%s", now);
	list = vjson_str(s.allowlist, NULL);
	if ((rc = db_exec(db, SQL_SETTINGS_UPSERT, (struct db_val[]){
	    DB_STR(r->auth.tenant_id), DB_INT(s.auto_remediate),
	    DB_INT(s.scan_interval), DB_STR(list), DB_STR(now),
	    DB_INT(s.auto_remediate), DB_INT(s.scan_interval), DB_STR(list),
	    DB_STR(now) }, 9, NULL)) != 0)
		goto dberr;
	if ((rc = db_exec(db, SQL_SETTINGS_SET_RATES, (struct db_val[]){
	    s.rate_read > 0 ? DB_INT(s.rate_read) : DB_NUL,
	    s.rate_write > 0 ? DB_INT(s.rate_write) : DB_NUL,
	    DB_STR(r->auth.tenant_id) }, 3, NULL)) != 0)
		goto dberr;
	/* The audit detail is the new settings, exactly as answered. */
	out = settings_json(&s);
	if ((rc = audit_append(db, r->auth.tenant_id, actor,
	    "settings.update", r->auth.tenant_id, out)) != 0 ||
	    (rc = db_commit(db)) != 0)
		goto dberr;
	/* The new limits and allowlist apply in this worker from the next
	 * request on (the limits on the whole pool). */
	auth_forget_tenant(r->auth.tenant_id);
	allowlist_forget(r->auth.tenant_id);
	response_json(r, 200, out);
	out = NULL;
	goto out;
dberr:
	db_rollback(db);
	api_db_error(r, rc ? rc : DB_ERR);
out:
	json_object_put(out);
	settings_clear(&s);
}

const struct route settings_routes[] = {
	{ "GET", "/api/v1/settings", SCOPE_READ, 0, settings_get },
	{ "PUT", "/api/v1/settings", SCOPE_ADMIN, ROUTE_JSON_BODY,
	    settings_put },
};
const size_t settings_nroutes = NELEM(settings_routes);
