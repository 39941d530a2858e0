/* webhooks.c: /api/v1/webhooks (register, list, show, delete, deliveries,
 * test), POST /api/v1/deliveries/{id}/retry and GET /api/v1/events (the
 * outbox, for polling). A webhook's shared secret is sealed with
 * AES-256-GCM (aad: the webhook id) under vigil.conf's secret_key_file;
 * a generated one is shown once in the 201 and never again, and no secret
 * is ever logged. Targets are checked at registration (scheme, then every
 * address the host resolves to); vigil-spool checks again at connect. */
#include "vigil.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netdb.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "audit.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "id.h"
#include "log.h"
#include "netguard.h"
#include "sign.h"
#include "vjson.h"
#include "vtime.h"

#define WEBHOOKS_EVENTS_MAX   32
#define WEBHOOKS_SECRET_MIN   8
#define WEBHOOKS_SECRET_MAX   256

/* db.c WEBHOOK_COLS and DELIVERY_COLS */
enum { WH_C_ID, WH_C_URL, WH_C_EVENTS, WH_C_CREATED, WH_C_DISABLED,
    WH_C_DISABLED_REASON, WH_C_FAILING };
enum { DL_C_ID, DL_C_EVENT, DL_C_TYPE, DL_C_STATUS, DL_C_ATTEMPTS,
    DL_C_CODE, DL_C_LATENCY, DL_C_NEXT, DL_C_WEBHOOK, DL_C_ERROR };

/* What a subscription may name: these exactly, or "finding.*", or "*". */
static const char *const event_types[] = {
	"finding.detected", "finding.updated", "finding.resolved",
	"finding.accepted", "finding.expired", "finding.reopened",
	"finding.snoozed", "finding.dismissed", "finding.remediated",
	"finding.remediation_failed", "scan.completed", "scan.failed",
	"webhook.test", "webhook.disabled",
};

static void
bad(struct request *r, const char *field, const char *msg)
{
	response_error(r, 400, "invalid_request", msg, field);
}

static void
not_found(struct request *r, const char *what)
{
	response_error(r, 404, "not_found", what, "id");
}

static int
known_type(const char *s)
{
	size_t i;

	for (i = 0; i < NELEM(event_types); i++)
		if (strcmp(s, event_types[i]) == 0)
			return 1;
	return 0;
}

/* 1 if s names events a webhook may subscribe to. */
static int
valid_subscription(const char *s)
{
	return known_type(s) || strcmp(s, "*") == 0 ||
	    strcmp(s, "finding.*") == 0;
}

/* Reject any query parameter not in known[0..n). 0, or -1 after a 400. */
static int
only_params(struct request *r, const char *const *known, size_t n)
{
	size_t i, j;

	for (i = 0; i < r->nparams; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(r->params[i].name, known[j]) == 0)
				break;
		if (j == n) {
			bad(r, r->params[i].name, "Unknown query parameter.");
			return -1;
		}
	}
	return 0;
}

/* A database timestamp as RFC 3339, or null. */
static json_object *
ts_json(const char *sql)
{
	char out[VTIME_RFC3339_LEN];

	if (sql == NULL || vtime_sql_to_rfc3339(sql, out, sizeof(out)) != 0)
		return NULL;
	return json_object_new_string(out);
}

static json_object *
int_or_null(const char *s)
{
	return s == NULL ? NULL : json_object_new_int64(strtoll(s, NULL, 10));
}

/* Row i of a WEBHOOK_COLS result as the API shows it: a new object. */
static json_object *
webhook_json(const struct db_res *res, size_t i, int full)
{
	json_object *o = json_object_new_object(), *ev;
	const char *evs = db_cell(res, i, WH_C_EVENTS);

	json_object_object_add(o, "webhook_id",
	    json_object_new_string(db_cell(res, i, WH_C_ID)));
	json_object_object_add(o, "url",
	    json_object_new_string(db_cell(res, i, WH_C_URL)));
	ev = evs ? json_tokener_parse(evs) : NULL;
	json_object_object_add(o, "events", ev ? ev :
	    json_object_new_array());
	json_object_object_add(o, "created_at",
	    ts_json(db_cell(res, i, WH_C_CREATED)));
	if (full) {
		json_object_object_add(o, "disabled_at",
		    ts_json(db_cell(res, i, WH_C_DISABLED)));
		json_object_object_add(o, "disabled_reason",
		    vjson_new_string_or_null(db_cell(res, i,
		    WH_C_DISABLED_REASON)));
		json_object_object_add(o, "failing_since",
		    ts_json(db_cell(res, i, WH_C_FAILING)));
	}
	return o;
}

/* The same with the disabled and failing fields (GET, list). */
static json_object *
webhook_json_full(const struct db_res *res, size_t i)
{
	return webhook_json(res, i, 1);
}

/* Row i of a DELIVERY_COLS result: a new object. */
static json_object *
delivery_json(const struct db_res *res, size_t i)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id",
	    json_object_new_string(db_cell(res, i, DL_C_ID)));
	json_object_object_add(o, "webhook_id",
	    json_object_new_string(db_cell(res, i, DL_C_WEBHOOK)));
	json_object_object_add(o, "event_id",
	    json_object_new_string(db_cell(res, i, DL_C_EVENT)));
	json_object_object_add(o, "event_type",
	    json_object_new_string(db_cell(res, i, DL_C_TYPE)));
	json_object_object_add(o, "status",
	    json_object_new_string(db_cell(res, i, DL_C_STATUS)));
	json_object_object_add(o, "attempts",
	    int_or_null(db_cell(res, i, DL_C_ATTEMPTS)));
	json_object_object_add(o, "last_status_code",
	    int_or_null(db_cell(res, i, DL_C_CODE)));
	json_object_object_add(o, "last_latency_ms",
	    int_or_null(db_cell(res, i, DL_C_LATENCY)));
	json_object_object_add(o, "next_attempt_at",
	    ts_json(db_cell(res, i, DL_C_NEXT)));
	json_object_object_add(o, "last_error", db_cell(res, i, DL_C_ERROR) ?
	    json_object_new_string(db_cell(res, i, DL_C_ERROR)) : NULL);
	return o;
}

/*
 * The host of an absolute URL netguard_url_check accepted, into host
 * (brackets of an IPv6 literal removed). 0, or -1 if it does not fit.
 */
static int
url_host(const char *url, char *host, size_t hostsz)
{
	const char *p = strstr(url, "://"), *end;
	size_t n;

	if (p == NULL)
		return -1;
	p += 3;
	if (*p == '[') {
		p++;
		if ((end = strchr(p, ']')) == NULL)
			return -1;
	} else {
		end = p + strcspn(p, ":/?#");
	}
	n = (size_t)(end - p);
	if (n == 0 || n >= hostsz)
		return -1;
	memcpy(host, p, n);
	host[n] = '\0';
	return 0;
}

/* Resolve url's host and refuse it unless every address is one Vigil may
 * connect to. 0, or -1 after a 400 naming "url". */
static int
target_check(struct request *r, const char *url)
{
	struct addrinfo hints, *ai = NULL, *a;
	char host[NETGUARD_URL_MAX + 1], err[256];
	const char *cls;
	int rc, always = 0;

	if (netguard_url_check(url, g_conf.allow_http_webhooks, err,
	    sizeof(err)) != 0) {
		bad(r, "url", g_conf.allow_http_webhooks ?
		    "url must be an absolute http:// or https:// URL with a "
		    "host and without user name or password." :
		    "url must be an absolute https:// URL with a host and "
		    "without user name or password.");
		return -1;
	}
	if (url_host(url, host, sizeof(host)) != 0) {
		bad(r, "url", "url has no host.");
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &ai)) != 0 || ai == NULL) {
		log_info("req=%s: webhook host does not resolve: %s", r->id,
		    gai_strerror(rc));
		bad(r, "url", "The url's host does not resolve.");
		return -1;
	}
	for (a = ai; a != NULL; a = a->ai_next) {
		if (netguard_addr_allowed(a->ai_addr,
		    g_conf.allow_private_targets))
			continue;
		cls = netguard_addr_class(a->ai_addr, &always);
		freeaddrinfo(ai);
		response_error(r, 400, "invalid_request", always ||
		    cls == NULL ?
		    "The url's host resolves to an address webhooks may not "
		    "target." :
		    "The url's host resolves to a private, loopback or "
		    "link-local address; the operator has not allowed those "
		    "(allow_private_targets).", "url");
		return -1;
	}
	freeaddrinfo(ai);
	return 0;
}

/* POST /api/v1/webhooks */
static void
webhooks_create(struct request *r, struct db *db)
{
	static const char *const allowed[] = { "url", "events", "secret",
	    NULL };
	struct vjson_err e;
	json_object *arr, *events = NULL, *root, *detail;
	const char *url, *secret = NULL, *s, *etext;
	char id[VIGIL_ID_LEN], actor[128], now_sql[VTIME_SQL_LEN];
	char now_rfc[VTIME_RFC3339_LEN], gen[SIGN_SECRET_LEN];
	char probe[SIGN_STANDARD_LEN], err[256];
	unsigned char key[32];
	char *sealed = NULL;
	time_t now = time(NULL);
	size_t i, j, n, elen;
	int rc, generated = 0;

	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_string(r->json, "url", 1, 1, NETGUARD_URL_MAX, &url,
	    &e) < 0 ||
	    vjson_get_string_array(r->json, "events", 1, WEBHOOKS_EVENTS_MAX,
	    64, &arr, &e) < 0 ||
	    vjson_get_string(r->json, "secret", 0, WEBHOOKS_SECRET_MIN,
	    WEBHOOKS_SECRET_MAX, &secret, &e) < 0) {
		bad(r, e.field, e.message);
		return;
	}
	n = json_object_array_length(arr);
	if (n == 0) {
		bad(r, "events", "events must name at least one event.");
		return;
	}
	events = json_object_new_array();
	for (i = 0; i < n; i++) {
		s = json_object_get_string(json_object_array_get_idx(arr, i));
		if (!valid_subscription(s)) {
			json_object_put(events);
			bad(r, "events", "events holds an unknown event type; "
			    "name event types exactly, or finding.* or *.");
			return;
		}
		for (j = 0; j < i; j++)
			if (strcmp(s, json_object_get_string(
			    json_object_array_get_idx(arr, j))) == 0)
				break;
		if (j == i)
			json_object_array_add(events,
			    json_object_new_string(s));
	}
	if (secret != NULL) {
		/* A whsec_ secret must decode, or nothing could sign with it;
		 * control characters have no place in a shared secret. */
		for (s = secret; *s != '\0'; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				break;
		if (*s != '\0' || sign_standard(secret, "msg_check", 0, "", 0,
		    probe, sizeof(probe)) != 0) {
			json_object_put(events);
			bad(r, "secret", "secret must be 8 to 256 printable "
			    "bytes; a whsec_ secret must be whsec_ + base64.");
			return;
		}
	}
	if (target_check(r, url) != 0) {
		json_object_put(events);
		return;
	}
	if (g_conf.secret_key_file[0] == '\0') {
		json_object_put(events);
		bad(r, "secret", "The server has no secret_key_file configured, "
		    "so it cannot store a webhook secret; ask the operator.");
		return;
	}
	if (crypto_load_key(g_conf.secret_key_file, key, err,
	    sizeof(err)) != 0) {
		log_err("req=%s: secret_key_file: %s", r->id, err);
		json_object_put(events);
		api_db_error(r, DB_ERR);
		return;
	}
	if (secret == NULL) {
		if (sign_secret_new(gen, sizeof(gen)) != 0) {
			crypto_wipe(key, sizeof(key));
			json_object_put(events);
			api_db_error(r, DB_ERR);
			return;
		}
		secret = gen;
		generated = 1;
	}
	if (id_new("wh", id, sizeof(id)) != 0 ||
	    (sealed = crypto_seal(key, secret, strlen(secret), id)) == NULL) {
		crypto_wipe(key, sizeof(key));
		crypto_wipe(gen, sizeof(gen));
		json_object_put(events);
		api_db_error(r, DB_ERR);
		return;
	}
	crypto_wipe(key, sizeof(key));
	etext = vjson_str(events, &elen);
	vtime_sql(now, now_sql, sizeof(now_sql));
	vtime_rfc3339(now, now_rfc, sizeof(now_rfc));
	auth_actor(r, actor, sizeof(actor));
	/* The tenant row first: no event of the tenant is being written
	 * while the webhook's created_seq is read (see SQL_EVENT_INSERT),
	 * so it gets exactly the events committed after this one. */
	if ((rc = db_begin(db)) != 0 ||
	    (rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(r->auth.tenant_id) }, 1, NULL)) != 0)
		goto dberr;
	if ((rc = db_exec(db, SQL_WEBHOOK_INSERT, (struct db_val[]){
	    DB_STR(id), DB_STR(r->auth.tenant_id), DB_STR(url),
	    DB_STRN(etext, elen), DB_STR(sealed), DB_STR(now_sql),
	    DB_STR(r->auth.tenant_id) }, 7, NULL)) != 0)
		goto dberr;
	detail = json_object_new_object();
	json_object_object_add(detail, "url", json_object_new_string(url));
	json_object_object_add(detail, "events", json_object_get(events));
	rc = audit_append(db, r->auth.tenant_id, actor, "webhook.create", id,
	    detail);
	json_object_put(detail);
	if (rc != 0 || (rc = db_commit(db)) != 0)
		goto dberr;
	root = json_object_new_object();
	json_object_object_add(root, "webhook_id", json_object_new_string(id));
	json_object_object_add(root, "url", json_object_new_string(url));
	json_object_object_add(root, "events", events);
	json_object_object_add(root, "created_at",
	    json_object_new_string(now_rfc));
	if (generated)
		json_object_object_add(root, "secret",
		    json_object_new_string(gen));
	crypto_wipe(gen, sizeof(gen));
	free(sealed);
	response_json(r, 201, root);
	return;
dberr:
	db_rollback(db);
	crypto_wipe(gen, sizeof(gen));
	json_object_put(events);
	free(sealed);
	api_db_error(r, rc);
}

/* GET /api/v1/webhooks: oldest first, keyset by id; never secrets. */
static void
webhooks_list(struct request *r, struct db *db)
{
	long limit;

	if (params_list(r, &limit) != 0)
		return;
	params_id_page(r, db, limit, &(struct params_id_list){
	    "webhooks", "wh", "", SQL_WEBHOOK_LIST, SQL_WEBHOOK_COUNT,
	    (struct db_val[]){ DB_STR(r->auth.tenant_id) }, 1,
	    webhook_json_full, WH_C_ID });
}

/* Load the tenant's live webhook pathvars[0] into *out. 0; or -1 after
 * the 404 or the 500/503. */
static int
webhook_load(struct request *r, struct db *db, struct db_res **out)
{
	const char *id = r->pathvars[0];
	int rc;

	*out = NULL;
	if (!id_valid("wh", id)) {
		not_found(r, "No such webhook.");
		return -1;
	}
	if ((rc = db_exec(db, SQL_WEBHOOK_GET, (struct db_val[]){
	    DB_STR(r->auth.tenant_id), DB_STR(id) }, 2, out)) != 0) {
		api_db_error(r, rc);
		return -1;
	}
	if ((*out)->nrows != 1) {
		db_res_free(*out);
		*out = NULL;
		not_found(r, "No such webhook.");
		return -1;
	}
	return 0;
}

/* GET /api/v1/webhooks/{id} */
static void
webhooks_get(struct request *r, struct db *db)
{
	struct db_res *res;
	json_object *o;

	if (webhook_load(r, db, &res) != 0)
		return;
	o = webhook_json(res, 0, 1);
	db_res_free(res);
	response_json(r, 200, o);
}

/* DELETE /api/v1/webhooks/{id}: soft delete; its pending deliveries fail
 * with "webhook deleted" in the same transaction. */
static void
webhooks_delete(struct request *r, struct db *db)
{
	struct db_res *res = NULL;
	json_object *root, *detail;
	const char *id = r->pathvars[0];
	char actor[128], now_sql[VTIME_SQL_LEN], now_rfc[VTIME_RFC3339_LEN];
	time_t now = time(NULL);
	unsigned long long cancelled;
	int rc;

	if (!id_valid("wh", id)) {
		not_found(r, "No such webhook.");
		return;
	}
	vtime_sql(now, now_sql, sizeof(now_sql));
	auth_actor(r, actor, sizeof(actor));
	/* The tenant row first, as every audited write (vigil-spool's
	 * disabling takes it before the webhook row too). */
	if ((rc = db_begin(db)) != 0 ||
	    (rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(r->auth.tenant_id) }, 1, NULL)) != 0)
		goto dberr;
	if ((rc = db_exec(db, SQL_WEBHOOK_DELETE, (struct db_val[]){
	    DB_STR(now_sql), DB_STR(r->auth.tenant_id), DB_STR(id) }, 3,
	    &res)) != 0)
		goto dberr;
	if (res->affected == 0) {
		db_res_free(res);
		db_rollback(db);
		not_found(r, "No such webhook.");
		return;
	}
	db_res_free(res);
	res = NULL;
	if ((rc = db_exec(db, SQL_DELIVERY_CANCEL, (struct db_val[]){
	    DB_STR(now_sql), DB_STR(r->auth.tenant_id), DB_STR(id) }, 3,
	    &res)) != 0)
		goto dberr;
	cancelled = res->affected;
	db_res_free(res);
	res = NULL;
	detail = json_object_new_object();
	json_object_object_add(detail, "deliveries_cancelled",
	    json_object_new_int64((int64_t)cancelled));
	rc = audit_append(db, r->auth.tenant_id, actor, "webhook.delete", id,
	    detail);
	json_object_put(detail);
	if (rc != 0 || (rc = db_commit(db)) != 0)
		goto dberr;
	vtime_rfc3339(now, now_rfc, sizeof(now_rfc));
	root = json_object_new_object();
	json_object_object_add(root, "webhook_id", json_object_new_string(id));
	json_object_object_add(root, "deleted", json_object_new_boolean(1));
	json_object_object_add(root, "deleted_at",
	    json_object_new_string(now_rfc));
	response_json(r, 200, root);
	return;
dberr:
	db_res_free(res);
	db_rollback(db);
	api_db_error(r, rc);
}

/* POST /api/v1/webhooks/{id}/enable: a webhook vigil-spool disabled (410,
 * or failing for webhook_disable_after) gets deliveries again, from the
 * events committed after this; its failure count starts over. 200 with
 * the webhook; an enabled one is returned as it is. */
static void
webhooks_enable(struct request *r, struct db *db)
{
	struct db_res *res = NULL;
	json_object *detail;
	const char *id = r->pathvars[0];
	char actor[128];
	int rc;

	if (!id_valid("wh", id)) {
		not_found(r, "No such webhook.");
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	/* Read under the tenant lock that every writer of the webhook
	 * (delete, enable, vigil-spool's disabling) takes first, so that
	 * the audited reason is the one being cleared. */
	if ((rc = db_begin(db)) != 0 ||
	    (rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(r->auth.tenant_id) }, 1, NULL)) != 0 ||
	    (rc = db_exec(db, SQL_WEBHOOK_GET, (struct db_val[]){
	    DB_STR(r->auth.tenant_id), DB_STR(id) }, 2, &res)) != 0)
		goto dberr;
	if (res->nrows != 1 || db_cell(res, 0, WH_C_DISABLED) == NULL) {
		/* gone, or not disabled: nothing to do */
		db_res_free(res);
		db_rollback(db);
		webhooks_get(r, db);
		return;
	}
	detail = json_object_new_object();
	json_object_object_add(detail, "was_disabled_because",
	    json_object_new_string(db_cell(res, 0, WH_C_DISABLED_REASON) ?
	    db_cell(res, 0, WH_C_DISABLED_REASON) : ""));
	db_res_free(res);
	res = NULL;
	if ((rc = db_exec(db, SQL_WEBHOOK_ENABLE, (struct db_val[]){
	    DB_STR(r->auth.tenant_id), DB_STR(id) }, 2, NULL)) != 0 ||
	    (rc = audit_append(db, r->auth.tenant_id, actor,
	    "webhook.enable", id, detail)) != 0) {
		json_object_put(detail);
		goto dberr;
	}
	json_object_put(detail);
	if ((rc = db_commit(db)) != 0)
		goto dberr;
	webhooks_get(r, db);
	return;
dberr:
	db_res_free(res);
	db_rollback(db);
	api_db_error(r, rc);
}

/* GET /api/v1/webhooks/{id}/deliveries: oldest first, keyset by id. */
static void
webhooks_deliveries(struct request *r, struct db *db)
{
	struct db_res *wh = NULL;
	long limit;

	if (webhook_load(r, db, &wh) != 0)
		return;
	db_res_free(wh);
	if (params_list(r, &limit) != 0)
		return;
	params_id_page(r, db, limit, &(struct params_id_list){
	    "deliveries", "dlv", "", SQL_DELIVERY_LIST, SQL_DELIVERY_COUNT,
	    (struct db_val[]){ DB_STR(r->auth.tenant_id),
	    DB_STR(r->pathvars[0]) }, 2, delivery_json, DL_C_ID });
}

/* POST /api/v1/webhooks/{id}/test: a webhook.test event in the outbox
 * (data.webhook_id names the webhook); 202 with its id. */
static void
webhooks_test(struct request *r, struct db *db)
{
	struct db_res *wh = NULL;
	json_object *env, *data, *root, *detail;
	const char *id = r->pathvars[0], *payload;
	char evid[VIGIL_ID_LEN], ts[VTIME_RFC3339_LEN], at[VTIME_SQL_LEN];
	char actor[128];
	time_t now = time(NULL);
	size_t len;
	int rc;

	if (webhook_load(r, db, &wh) != 0)
		return;
	db_res_free(wh);
	if (id_new("evt", evid, sizeof(evid)) != 0) {
		api_db_error(r, DB_ERR);
		return;
	}
	vtime_rfc3339(now, ts, sizeof(ts));
	vtime_sql(now, at, sizeof(at));
	env = json_object_new_object();
	data = json_object_new_object();
	json_object_object_add(data, "webhook_id", json_object_new_string(id));
	json_object_object_add(env, "event_id", json_object_new_string(evid));
	json_object_object_add(env, "event_type",
	    json_object_new_string("webhook.test"));
	json_object_object_add(env, "tenant_id",
	    json_object_new_string(r->auth.tenant_id));
	json_object_object_add(env, "timestamp", json_object_new_string(ts));
	json_object_object_add(env, "data", data);
	payload = vjson_str(env, &len);
	auth_actor(r, actor, sizeof(actor));
	detail = json_object_new_object();
	json_object_object_add(detail, "event_id",
	    json_object_new_string(evid));
	if ((rc = db_begin(db)) != 0 ||
	    (rc = audit_append(db, r->auth.tenant_id, actor, "webhook.test",
	    id, detail)) != 0 ||
	    (rc = db_exec(db, SQL_EVENT_INSERT, (struct db_val[]){
	    DB_STR(evid), DB_STR(r->auth.tenant_id), DB_STR("webhook.test"),
	    DB_STR(at), DB_STRN(payload, len) }, 5, NULL)) != 0 ||
	    (rc = db_commit(db)) != 0) {
		json_object_put(detail);
		db_rollback(db);
		json_object_put(env);
		api_db_error(r, rc);
		return;
	}
	json_object_put(env);
	json_object_put(detail);
	root = json_object_new_object();
	json_object_object_add(root, "event_id", json_object_new_string(evid));
	response_json(r, 202, root);
}

/* POST /api/v1/deliveries/{id}/retry: a failed or dead delivery back to
 * pending, due now; 409 in any other status. */
static void
deliveries_retry(struct request *r, struct db *db)
{
	struct db_res *res = NULL;
	json_object *o, *detail;
	const char *id = r->pathvars[0];
	char now_sql[VTIME_SQL_LEN], actor[128];
	unsigned long long changed;
	int rc;

	if (!id_valid("dlv", id)) {
		not_found(r, "No such delivery.");
		return;
	}
	vtime_sql(time(NULL), now_sql, sizeof(now_sql));
	auth_actor(r, actor, sizeof(actor));
	/* The tenant row first, as every audited write. */
	if ((rc = db_begin(db)) != 0 ||
	    (rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(r->auth.tenant_id) }, 1, NULL)) != 0 ||
	    (rc = db_exec(db, SQL_DELIVERY_RETRY, (struct db_val[]){
	    DB_STR(now_sql), DB_STR(r->auth.tenant_id), DB_STR(id),
	    DB_STR(r->auth.tenant_id) }, 4, &res)) != 0)
		goto dberr;
	changed = res->affected;
	db_res_free(res);
	res = NULL;
	if (changed > 0) {
		detail = json_object_new_object();
		rc = audit_append(db, r->auth.tenant_id, actor,
		    "delivery.retry", id, detail);
		json_object_put(detail);
		if (rc != 0)
			goto dberr;
	}
	/* Read before the commit: a spooler may claim the delivery as soon
	 * as it is committed, and the answer is what this request did. */
	if ((rc = db_exec(db, SQL_DELIVERY_GET, (struct db_val[]){
	    DB_STR(r->auth.tenant_id), DB_STR(id) }, 2, &res)) != 0 ||
	    (rc = db_commit(db)) != 0)
		goto dberr;
	if (res->nrows != 1) {
		db_res_free(res);
		not_found(r, "No such delivery.");
		return;
	}
	if (changed == 0) {
		db_res_free(res);
		response_error(r, 409, "conflict", "Only a failed or dead "
		    "delivery of a webhook neither deleted nor disabled can "
		    "be retried.",
		    "status");
		return;
	}
	o = delivery_json(res, 0);
	db_res_free(res);
	response_json(r, 202, o);
	return;
dberr:
	db_res_free(res);
	db_rollback(db);
	api_db_error(r, rc);
}

/* GET /api/v1/events: the tenant's events oldest first (seq order), for
 * polling: keep the last next_cursor and ask again. */
static void
events_list(struct request *r, struct db *db)
{
	static const char *const known[] = { "limit", "cursor", "type",
	    "since" };
	struct db_res *res = NULL, *cnt = NULL;
	json_object *root, *arr, *env;
	const char *cursor = request_param(r, "cursor");
	const char *type = request_param(r, "type");
	const char *since_s = request_param(r, "since");
	const char *exact = NULL, *prefix = NULL;
	char since_sql[VTIME_SQL_LEN], pfx[32], next[32], *end;
	long long after = 0;
	time_t since = 0;
	long limit;
	size_t i, n;
	int rc;

	if (only_params(r, known, NELEM(known)) != 0 ||
	    params_limit(r, &limit) != 0)
		return;
	if (cursor != NULL) {
		errno = 0;
		after = (cursor[0] == 'e' &&
		    isdigit((unsigned char)cursor[1])) ?
		    strtoll(cursor + 1, &end, 10) : -1;
		if (after < 1 || *end != '\0' || errno) {
			bad(r, "cursor", "cursor is not valid.");
			return;
		}
	}
	if (type != NULL) {
		if (known_type(type))
			exact = type;
		else if (strcmp(type, "finding.*") == 0 ||
		    strcmp(type, "scan.*") == 0 ||
		    strcmp(type, "webhook.*") == 0) {
			snprintf(pfx, sizeof(pfx), "%.*s",
			    (int)(strlen(type) - 1), type);
			prefix = pfx;
		} else if (strcmp(type, "*") != 0) {
			bad(r, "type", "type must be an event type, or "
			    "finding.*, scan.*, webhook.* or *.");
			return;
		}
	}
	if (since_s != NULL) {
		if (vtime_parse_rfc3339(since_s, &since) != 0) {
			bad(r, "since", "since must be an RFC 3339 timestamp.");
			return;
		}
		vtime_sql(since, since_sql, sizeof(since_sql));
	}
#define EV_FILTERS \
	DB_STR0(exact), DB_STR0(exact), \
	DB_STR0(prefix), DB_STR0(prefix), DB_STR0(prefix), \
	since_s ? DB_STR(since_sql) : DB_NUL, \
	since_s ? DB_STR(since_sql) : DB_NUL
	if ((rc = db_exec(db, SQL_EVENT_LIST, (struct db_val[]){
	    DB_STR(r->auth.tenant_id), DB_INT(after), EV_FILTERS,
	    DB_INT(limit + 1) }, 10, &res)) != 0 ||
	    (rc = db_exec(db, SQL_EVENT_COUNT, (struct db_val[]){
	    DB_STR(r->auth.tenant_id), EV_FILTERS }, 8, &cnt)) != 0) {
		db_res_free(res);
		api_db_error(r, rc);
		return;
	}
#undef EV_FILTERS
	n = params_page_rows(res, limit);
	root = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		env = json_tokener_parse(db_cell(res, i, 1));
		if (env != NULL)
			json_object_array_add(arr, env);
	}
	json_object_object_add(root, "events", arr);
	json_object_object_add(root, "total",
	    json_object_new_int64(db_cell_int(cnt, 0, 0)));
	json_object_object_add(root, "has_more",
	    json_object_new_boolean(res->nrows > (size_t)limit));
	if (n > 0) {
		/* The cursor goes on from the last event shown even on the
		 * last page, so a poller can keep it and ask again later. */
		snprintf(next, sizeof(next), "e%s", db_cell(res, n - 1, 0));
		json_object_object_add(root, "next_cursor",
		    json_object_new_string(next));
	} else
		json_object_object_add(root, "next_cursor", cursor ?
		    json_object_new_string(cursor) : NULL);
	db_res_free(cnt);
	db_res_free(res);
	response_json(r, 200, root);
}

const struct route webhooks_routes[] = {
	{ "GET", "/api/v1/webhooks", SCOPE_READ, 0, webhooks_list },
	{ "POST", "/api/v1/webhooks", SCOPE_ADMIN, ROUTE_JSON_BODY,
	    webhooks_create },
	{ "GET", "/api/v1/webhooks/{id}", SCOPE_READ, 0, webhooks_get },
	{ "DELETE", "/api/v1/webhooks/{id}", SCOPE_ADMIN, 0,
	    webhooks_delete },
	{ "POST", "/api/v1/webhooks/{id}/enable", SCOPE_ADMIN, 0,
	    webhooks_enable },
	{ "GET", "/api/v1/webhooks/{id}/deliveries", SCOPE_READ, 0,
	    webhooks_deliveries },
	{ "POST", "/api/v1/webhooks/{id}/test", SCOPE_WRITE, 0,
	    webhooks_test },
	{ "POST", "/api/v1/deliveries/{id}/retry", SCOPE_WRITE, 0,
	    deliveries_retry },
	{ "GET", "/api/v1/events", SCOPE_READ, 0, events_list },
};
const size_t webhooks_nroutes = NELEM(webhooks_routes);
