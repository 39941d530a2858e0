/* webhooks.c: a tenant's webhooks in the database (webhooks.h). Targets
 * are checked at registration (scheme, then every address the host
 * resolves to); vigil-spool checks again at connect. */
#include "vigil.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netdb.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "events.h"
#include "id.h"
#include "log.h"
#include "netguard.h"
#include "sign.h"
#include "webhooks.h"

/* The columns of db.c's WEBHOOK_COLS (SQL_WEBHOOK_GET, _LIST). */
enum { WEBHOOK_COL_ID, WEBHOOK_COL_URL, WEBHOOK_COL_EVENTS,
    WEBHOOK_COL_CREATED, WEBHOOK_COL_DISABLED, WEBHOOK_COL_DISABLED_REASON,
    WEBHOOK_COL_FAILING };

static void
invalid(struct vjson_err *err, const char *field, const char *msg)
{
	snprintf(err->field, sizeof(err->field), "%s", field);
	snprintf(err->message, sizeof(err->message), "%s", msg);
}

/* A database time as RFC 3339 into out, "" for NULL (or malformed). */
static void
ts(const char *sql, char *out, size_t outsz)
{
	if (sql == NULL || vtime_sql_to_rfc3339(sql, out, outsz) != 0)
		out[0] = '\0';
}

static char *
dup0(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

void
webhooks_free(struct webhook *w)
{
	if (w == NULL)
		return;
	if (w->secret != NULL) {
		crypto_wipe(w->secret, strlen(w->secret));
		free(w->secret);
	}
	free(w->url);
	free(w->events);
	free(w->disabled_reason);
	free(w);
}

/* Row i of a WEBHOOK_COLS result as a new webhook; NULL if out of
 * memory. */
static struct webhook *
webhook_at(const struct db_res *res, size_t i)
{
	struct webhook *w;
	const char *reason = db_cell(res, i, WEBHOOK_COL_DISABLED_REASON);

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	snprintf(w->id, sizeof(w->id), "%s",
	    db_cell(res, i, WEBHOOK_COL_ID));
	w->url = strdup(db_cell(res, i, WEBHOOK_COL_URL));
	w->events = dup0(db_cell(res, i, WEBHOOK_COL_EVENTS));
	w->disabled_reason = dup0(reason);
	ts(db_cell(res, i, WEBHOOK_COL_CREATED), w->created_at,
	    sizeof(w->created_at));
	ts(db_cell(res, i, WEBHOOK_COL_DISABLED), w->disabled_at,
	    sizeof(w->disabled_at));
	ts(db_cell(res, i, WEBHOOK_COL_FAILING), w->failing_since,
	    sizeof(w->failing_since));
	if (w->url == NULL || (reason != NULL && w->disabled_reason == NULL)) {
		webhooks_free(w);
		return NULL;
	}
	return w;
}

/* A row of webhooks: a webhook ("wh_") or a notification channel of
 * another kind ("ch_", channels.h); delete, enable and test serve both. */
static int
hook_id_ok(const char *id)
{
	return id_valid("wh", id) || id_valid("ch", id);
}

/* The audit action of verb on id: "webhook.<verb>" or "channel.<verb>". */
static const char *
hook_action(const char *id, const char *verb)
{
	static const char *const names[][2] = {
		{ "webhook.delete", "channel.delete" },
		{ "webhook.enable", "channel.enable" },
		{ "webhook.test", "channel.test" },
	};
	int ch = id_valid("ch", id), k;

	k = strcmp(verb, "delete") == 0 ? 0 : strcmp(verb, "enable") == 0 ?
	    1 : 2;
	return names[k][ch];
}

static json_object *
ts_json(const char *rfc)
{
	return rfc[0] != '\0' ? json_object_new_string(rfc) : NULL;
}

json_object *
webhooks_to_json(const struct webhook *w, int full)
{
	json_object *o = json_object_new_object(), *ev;

	json_object_object_add(o, "webhook_id", json_object_new_string(w->id));
	json_object_object_add(o, "url", json_object_new_string(w->url));
	ev = w->events ? json_tokener_parse(w->events) : NULL;
	json_object_object_add(o, "events", ev ? ev :
	    json_object_new_array());
	json_object_object_add(o, "created_at", ts_json(w->created_at));
	if (full) {
		json_object_object_add(o, "disabled_at",
		    ts_json(w->disabled_at));
		json_object_object_add(o, "disabled_reason",
		    vjson_new_string_or_null(w->disabled_reason));
		json_object_object_add(o, "failing_since",
		    ts_json(w->failing_since));
	}
	return o;
}

int
webhooks_get(struct db *db, const char *tenant_id, const char *id,
    struct webhook **out)
{
	struct db_res *res = NULL;
	int rc;

	*out = NULL;
	if (!id_valid("wh", id))
		return 0;
	if ((rc = db_exec(db, SQL_WEBHOOK_GET, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, &res)) != 0)
		return rc;
	rc = 0;
	if (res->nrows == 1)
		rc = (*out = webhook_at(res, 0)) != NULL ? 1 : DB_ERR;
	db_res_free(res);
	return rc;
}

int
webhooks_list(struct db *db, const char *tenant_id, const char *cursor,
    long limit, struct webhooks_page *out)
{
	struct db_res *res = NULL, *cnt = NULL;
	struct webhook *w;
	size_t i, n;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = db_exec(db, SQL_WEBHOOK_LIST, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(cursor ? cursor : ""),
	    DB_INT(limit + 1) }, 3, &res)) != 0 ||
	    (rc = db_exec(db, SQL_WEBHOOK_COUNT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, &cnt)) != 0)
		goto out;
	n = res->nrows > (size_t)limit ? (size_t)limit : res->nrows;
	out->items = json_object_new_array();
	for (i = 0; i < n; i++) {
		if ((w = webhook_at(res, i)) == NULL) {
			rc = DB_ERR;
			goto out;
		}
		json_object_array_add(out->items, webhooks_to_json(w, 1));
		webhooks_free(w);
	}
	out->total = db_cell_int(cnt, 0, 0);
	out->has_more = res->nrows > (size_t)limit;
	if (out->has_more && n > 0)
		snprintf(out->next_cursor, sizeof(out->next_cursor), "%s",
		    db_cell(res, n - 1, WEBHOOK_COL_ID));
out:
	db_res_free(cnt);
	db_res_free(res);
	return rc;
}

void
webhooks_page_free(struct webhooks_page *p)
{
	if (p == NULL)
		return;
	json_object_put(p->items);
	memset(p, 0, sizeof(*p));
}

/* --- registering ------------------------------------------------------- */

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

/* Resolve host and refuse it unless every address is one Vigil may
 * connect to. 0, or -1 with err naming field. */
static int
host_check(const char *host, const char *field, struct vjson_err *err)
{
	struct addrinfo hints, *ai = NULL, *a;
	const char *cls;
	int rc, always = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &ai)) != 0 || ai == NULL) {
		log_info("webhook host does not resolve: %s",
		    gai_strerror(rc));
		invalid(err, field, "The host does not resolve.");
		return -1;
	}
	for (a = ai; a != NULL; a = a->ai_next) {
		if (netguard_addr_allowed(a->ai_addr,
		    g_conf.allow_private_targets))
			continue;
		cls = netguard_addr_class(a->ai_addr, &always);
		freeaddrinfo(ai);
		invalid(err, field, always || cls == NULL ?
		    "The host resolves to an address webhooks may not "
		    "target." :
		    "The host resolves to a private, loopback or "
		    "link-local address; the operator has not allowed those "
		    "(allow_private_targets).");
		return -1;
	}
	freeaddrinfo(ai);
	return 0;
}

/* The url's scheme and form, then its host as host_check. 0, or -1 with
 * err naming field. */
static int
target_check(const char *url, const char *field, struct vjson_err *err)
{
	char host[NETGUARD_URL_MAX + 1], why[256], msg[200];

	if (netguard_url_check(url, g_conf.allow_http_webhooks, why,
	    sizeof(why)) != 0) {
		snprintf(msg, sizeof(msg), "%s must be an absolute %s URL "
		    "with a host and without user name or password.", field,
		    g_conf.allow_http_webhooks ? "http:// or https://" :
		    "https://");
		invalid(err, field, msg);
		return -1;
	}
	if (url_host(url, host, sizeof(host)) != 0) {
		invalid(err, field, "The URL has no host.");
		return -1;
	}
	return host_check(host, field, err);
}

int
webhooks_target_check(const char *url, const char *field,
    struct vjson_err *err)
{
	return target_check(url, field, err);
}

int
webhooks_host_check(const char *host, const char *field,
    struct vjson_err *err)
{
	return host_check(host, field, err);
}

int
webhooks_url_host(const char *url, char *host, size_t hostsz)
{
	return url_host(url, host, hostsz);
}

/* The subscriptions of in, repeats dropped, as a new array; NULL with err
 * set if there are none or one is not events_subscription_valid. */
static json_object *
subscriptions(json_object *arr, struct vjson_err *err)
{
	json_object *events;
	const char *s;
	size_t i, j, n = json_object_array_length(arr);

	if (n == 0) {
		invalid(err, "events", "events must name at least one event.");
		return NULL;
	}
	events = json_object_new_array();
	for (i = 0; i < n; i++) {
		s = json_object_get_string(json_object_array_get_idx(arr, i));
		if (!events_subscription_valid(s)) {
			json_object_put(events);
			invalid(err, "events", "events holds an unknown event "
			    "type; name event types exactly, or finding.*, "
			    "case.*, alert.* or *.");
			return NULL;
		}
		for (j = 0; j < i; j++)
			if (strcmp(s, json_object_get_string(
			    json_object_array_get_idx(arr, j))) == 0)
				break;
		if (j == i)
			json_object_array_add(events,
			    json_object_new_string(s));
	}
	return events;
}

/* 1 if secret can sign: no control characters, and a whsec_ secret must
 * decode, or nothing could sign with it. */
static int
secret_usable(const char *secret)
{
	char probe[SIGN_STANDARD_LEN];
	const char *s;

	for (s = secret; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return sign_standard(secret, "msg_check", 0, "", 0, probe,
	    sizeof(probe)) == 0;
}

int
webhooks_secret_usable(const char *secret)
{
	return secret_usable(secret);
}

/* The new webhook as webhooks_create answers with it; NULL if out of
 * memory. */
static struct webhook *
created(const char *id, const char *url, const char *etext, time_t now,
    const char *secret)
{
	struct webhook *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	snprintf(w->id, sizeof(w->id), "%s", id);
	vtime_rfc3339(now, w->created_at, sizeof(w->created_at));
	w->url = strdup(url);
	w->events = strdup(etext);
	w->secret = dup0(secret);
	if (w->url == NULL || w->events == NULL ||
	    (secret != NULL && w->secret == NULL)) {
		webhooks_free(w);
		return NULL;
	}
	return w;
}

static enum webhooks_outcome
create_once(struct db *db, const char *tenant_id,
    const struct webhooks_new *in, const char *actor, time_t now,
    struct webhook **out, struct vjson_err *err, int *rc)
{
	enum webhooks_outcome oc = WEBHOOKS_DB_ERROR;
	json_object *events = NULL, *detail;
	const char *secret = in->secret, *etext;
	char id[VIGIL_ID_LEN], now_sql[VTIME_SQL_LEN], gen[SIGN_SECRET_LEN];
	char why[256];
	struct crypto_ring ring;
	char *sealed = NULL;
	size_t elen;
	int generated = 0;

	*out = NULL;
	*rc = DB_ERR;
	gen[0] = '\0';
	if ((events = subscriptions(in->events, err)) == NULL)
		return WEBHOOKS_INVALID;
	if (secret != NULL && !secret_usable(secret)) {
		invalid(err, "secret", "secret must be 8 to 256 printable "
		    "bytes; a whsec_ secret must be whsec_ + base64.");
		oc = WEBHOOKS_INVALID;
		goto out;
	}
	if (target_check(in->url, "url", err) != 0) {
		oc = WEBHOOKS_INVALID;
		goto out;
	}
	if (g_conf.secret_key_file[0] == '\0') {
		invalid(err, "secret", "The server has no secret_key_file "
		    "configured, so it cannot store a webhook secret; ask the "
		    "operator.");
		oc = WEBHOOKS_INVALID;
		goto out;
	}
	if (crypto_ring_load(&ring, g_conf.secret_key_file,
	    NULL, why, sizeof(why)) != 0) {
		log_err("webhook for tenant %s: secret_key_file: %s",
		    tenant_id, why);
		goto out;
	}
	if (secret == NULL) {
		if (sign_secret_new(gen, sizeof(gen)) != 0) {
			crypto_ring_wipe(&ring);
			goto out;
		}
		secret = gen;
		generated = 1;
	}
	if (id_new("wh", id, sizeof(id)) != 0 ||
	    (sealed = crypto_ring_seal(&ring, secret, strlen(secret), id)) == NULL) {
		crypto_ring_wipe(&ring);
		goto out;
	}
	crypto_ring_wipe(&ring);
	etext = vjson_str(events, &elen);
	vtime_sql(now, now_sql, sizeof(now_sql));
	/* The tenant row first: no event of the tenant is being written
	 * while the webhook's created_seq is read (see SQL_EVENT_INSERT),
	 * so it gets exactly the events committed after this one. */
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0 ||
	    (*rc = db_exec(db, SQL_WEBHOOK_INSERT, (struct db_val[]){
	    DB_STR(id), DB_STR(tenant_id), DB_STR(in->url),
	    DB_STRN(etext, elen), DB_STR(sealed), DB_STR(now_sql),
	    DB_STR(tenant_id) }, 7, NULL)) != 0)
		goto out;
	detail = json_object_new_object();
	json_object_object_add(detail, "url", json_object_new_string(in->url));
	json_object_object_add(detail, "events", json_object_get(events));
	*rc = audit_append(db, tenant_id, actor, "webhook.create", id,
	    detail);
	json_object_put(detail);
	if (*rc != 0)
		goto out;
	/* Built before db_tx_run commits: no webhook is left behind whose
	 * secret nobody was shown. */
	if ((*out = created(id, in->url, etext, now, generated ? gen :
	    NULL)) == NULL) {
		*rc = DB_ERR;
		goto out;
	}
	oc = WEBHOOKS_OK;
out:
	crypto_wipe(gen, sizeof(gen));
	json_object_put(events);
	free(sealed);
	return oc;
}

/* --- changes ------------------------------------------------------------- */

static enum webhooks_outcome
delete_once(struct db *db, const char *tenant_id, const char *id,
    const char *actor, time_t now, int *rc)
{
	json_object *detail;
	char now_sql[VTIME_SQL_LEN];
	unsigned long long deleted, cancelled;

	*rc = 0;
	if (!hook_id_ok(id))
		return WEBHOOKS_NOT_FOUND;
	vtime_sql(now, now_sql, sizeof(now_sql));
	/* The tenant row first, as every audited write (vigil-spool's
	 * disabling takes it before the webhook row too). */
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0 ||
	    (*rc = db_exec_affected(db, SQL_WEBHOOK_DELETE, (struct db_val[]){
	    DB_STR(now_sql), DB_STR(tenant_id), DB_STR(id) }, 3,
	    &deleted)) != 0)
		return WEBHOOKS_DB_ERROR;
	if (deleted == 0)
		return WEBHOOKS_NOT_FOUND;
	if ((*rc = db_exec_affected(db, SQL_DELIVERY_CANCEL,
	    (struct db_val[]){ DB_STR(now_sql), DB_STR(tenant_id),
	    DB_STR(id) }, 3, &cancelled)) != 0)
		return WEBHOOKS_DB_ERROR;
	detail = json_object_new_object();
	json_object_object_add(detail, "deliveries_cancelled",
	    json_object_new_int64((int64_t)cancelled));
	*rc = audit_append(db, tenant_id, actor, hook_action(id, "delete"),
	    id, detail);
	json_object_put(detail);
	return *rc != 0 ? WEBHOOKS_DB_ERROR : WEBHOOKS_OK;
}

static enum webhooks_outcome
enable_once(struct db *db, const char *tenant_id, const char *id,
    const char *actor, struct webhook **out, int *rc)
{
	struct db_res *res = NULL;
	struct webhook *w = NULL;
	json_object *detail;

	*out = NULL;
	*rc = 0;
	if (!hook_id_ok(id))
		return WEBHOOKS_NOT_FOUND;
	/* Read under the tenant lock that every writer of the webhook
	 * (delete, enable, vigil-spool's disabling) takes first, so that
	 * the audited reason is the one being cleared. */
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0 ||
	    (*rc = db_exec(db, SQL_WEBHOOK_GET, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, &res)) != 0)
		goto fail;
	if (res->nrows != 1) {
		db_res_free(res);
		return WEBHOOKS_NOT_FOUND;
	}
	if ((w = webhook_at(res, 0)) == NULL) {
		*rc = DB_ERR;
		goto fail;
	}
	if (db_cell(res, 0, WEBHOOK_COL_DISABLED) == NULL) {
		/* not disabled: nothing to do (db_tx_run commits nothing) */
		db_res_free(res);
		*out = w;
		return WEBHOOKS_OK;
	}
	db_res_free(res);
	res = NULL;
	detail = json_object_new_object();
	json_object_object_add(detail, "was_disabled_because",
	    json_object_new_string(w->disabled_reason ? w->disabled_reason :
	    ""));
	if ((*rc = db_exec(db, SQL_WEBHOOK_ENABLE, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, NULL)) != 0 ||
	    (*rc = audit_append(db, tenant_id, actor,
	    hook_action(id, "enable"), id,
	    detail)) != 0) {
		json_object_put(detail);
		goto fail;
	}
	json_object_put(detail);
	/* What SQL_WEBHOOK_ENABLE cleared. */
	w->disabled_at[0] = '\0';
	w->failing_since[0] = '\0';
	free(w->disabled_reason);
	w->disabled_reason = NULL;
	*out = w;
	return WEBHOOKS_OK;
fail:
	webhooks_free(w);
	db_res_free(res);
	return WEBHOOKS_DB_ERROR;
}

static enum webhooks_outcome
test_once(struct db *db, const char *tenant_id, const char *id,
    const char *actor, time_t now, char *event_id, int *rc)
{
	struct db_res *res = NULL;
	json_object *data, *detail;
	size_t n;

	event_id[0] = '\0';
	*rc = 0;
	if (!hook_id_ok(id))
		return WEBHOOKS_NOT_FOUND;
	if ((*rc = db_exec(db, SQL_WEBHOOK_GET, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, &res)) != 0)
		return WEBHOOKS_DB_ERROR;
	n = res->nrows;
	db_res_free(res);
	if (n != 1)
		return WEBHOOKS_NOT_FOUND;
	if (events_id_new(event_id, VIGIL_ID_LEN) != 0) {
		*rc = DB_ERR;
		return WEBHOOKS_DB_ERROR;
	}
	data = json_object_new_object();
	json_object_object_add(data, "webhook_id", json_object_new_string(id));
	detail = json_object_new_object();
	json_object_object_add(detail, "event_id",
	    json_object_new_string(event_id));
	/* audit_append takes the tenant row lock the event needs. */
	if ((*rc = audit_append(db, tenant_id, actor,
	    hook_action(id, "test"), id,
	    detail)) != 0) {
		json_object_put(data);
		goto fail;
	}
	if ((*rc = events_append(db, tenant_id, "webhook.test", now, data,
	    event_id)) != 0)
		goto fail;
	json_object_put(detail);
	return WEBHOOKS_OK;
fail:
	json_object_put(detail);
	event_id[0] = '\0';
	return WEBHOOKS_DB_ERROR;
}

/* Each change above is one run of db_tx_run's body, which commits when
 * the outcome is WEBHOOKS_OK and rolls back otherwise, and is replayed
 * whole after a deadlock or a certification failure; a rerun starts with
 * no reply. */
enum webhooks_tx_kind { WH_TX_CREATE, WH_TX_DELETE, WH_TX_ENABLE,
    WH_TX_TEST };

struct webhooks_tx {
	enum webhooks_tx_kind	 kind;
	const char		*tenant_id, *id, *actor;
	const struct webhooks_new *in;
	time_t			 now;
	struct webhook		*out;
	struct vjson_err	*err;
	char			*event_id;
	enum webhooks_outcome	 oc;
	int			 rc;
};

static int
webhooks_tx(struct db *db, void *arg)
{
	struct webhooks_tx *t = arg;

	webhooks_free(t->out);
	t->out = NULL;
	t->rc = 0;
	switch (t->kind) {
	case WH_TX_CREATE:
		t->oc = create_once(db, t->tenant_id, t->in, t->actor, t->now,
		    &t->out, t->err, &t->rc);
		break;
	case WH_TX_DELETE:
		t->oc = delete_once(db, t->tenant_id, t->id, t->actor, t->now,
		    &t->rc);
		break;
	case WH_TX_ENABLE:
		t->oc = enable_once(db, t->tenant_id, t->id, t->actor,
		    &t->out, &t->rc);
		break;
	case WH_TX_TEST:
		t->oc = test_once(db, t->tenant_id, t->id, t->actor, t->now,
		    t->event_id, &t->rc);
		break;
	}
	if (t->oc == WEBHOOKS_OK)
		return 0;
	if (t->oc == WEBHOOKS_DB_ERROR)
		return t->rc != 0 ? t->rc : DB_ERR;
	return 1;
}

/* Runs t (its inputs set, the rest zero) in db_tx_run: its outcome, the
 * webhook in *out (the caller frees it; freed here when out is NULL) and
 * a failure's DB_* code in *rc. */
static enum webhooks_outcome
webhooks_run(struct db *db, struct webhooks_tx *t, struct webhook **out,
    int *rc)
{
	int r;

	t->oc = WEBHOOKS_DB_ERROR;
	r = db_tx_run(db, webhooks_tx, t);
	*rc = r < 0 ? r : 0;
	if (r < 0) {
		webhooks_free(t->out);
		t->out = NULL;
		if (t->event_id != NULL)
			t->event_id[0] = '\0';
		t->oc = WEBHOOKS_DB_ERROR;
	}
	if (out != NULL)
		*out = t->out;
	else
		webhooks_free(t->out);
	return t->oc;
}

enum webhooks_outcome
webhooks_create(struct db *db, const char *tenant_id,
    const struct webhooks_new *in, const char *actor, time_t now,
    struct webhook **out, struct vjson_err *err, int *rc)
{
	struct webhooks_tx t = { .kind = WH_TX_CREATE,
	    .tenant_id = tenant_id, .in = in, .actor = actor, .now = now,
	    .err = err };

	return webhooks_run(db, &t, out, rc);
}

enum webhooks_outcome
webhooks_delete(struct db *db, const char *tenant_id, const char *id,
    const char *actor, time_t now, int *rc)
{
	struct webhooks_tx t = { .kind = WH_TX_DELETE,
	    .tenant_id = tenant_id, .id = id, .actor = actor, .now = now };

	return webhooks_run(db, &t, NULL, rc);
}

enum webhooks_outcome
webhooks_enable(struct db *db, const char *tenant_id, const char *id,
    const char *actor, struct webhook **out, int *rc)
{
	struct webhooks_tx t = { .kind = WH_TX_ENABLE,
	    .tenant_id = tenant_id, .id = id, .actor = actor };

	return webhooks_run(db, &t, out, rc);
}

enum webhooks_outcome
webhooks_test(struct db *db, const char *tenant_id, const char *id,
    const char *actor, time_t now, char *event_id, int *rc)
{
	struct webhooks_tx t = { .kind = WH_TX_TEST,
	    .tenant_id = tenant_id, .id = id, .actor = actor, .now = now,
	    .event_id = event_id };

	return webhooks_run(db, &t, NULL, rc);
}
