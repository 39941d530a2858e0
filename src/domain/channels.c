/* channels.c: a tenant's notification channels in the database
 * (channels.h). */
#include "vigil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "channels.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "events.h"
#include "id.h"
#include "log.h"
#include "netguard.h"
#include "sign.h"
#include "text.h"
#include "webhooks.h"

/* The columns of db.c's CHANNEL_COLS. */
enum { CH_C_ID, CH_C_KIND, CH_C_NAME, CH_C_URL, CH_C_EVENTS, CH_C_CONFIG,
    CH_C_FILTER, CH_C_CREATED, CH_C_DISABLED, CH_C_REASON, CH_C_FAILING,
    CH_C_SECRET };

static const char *const kinds[] = { "webhook", "slack", "teams", "email",
    "pagerduty" };
static const char *const severities[] = { "info", "low", "medium", "high",
    "critical" };

/* What a channel delivers when its filter names no event types: what a
 * person is told about. */
static const char *const default_types[] = { "finding.detected",
    "finding.reopened", "finding.resolved", "alert.created",
    "case.created", "case.resolved" };

static void
invalid(struct vjson_err *err, const char *field, const char *msg)
{
	snprintf(err->field, sizeof(err->field), "%s", field);
	snprintf(err->message, sizeof(err->message), "%s", msg);
}

static char *
dup0(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

static void
ts(const char *sql, char *out, size_t outsz)
{
	if (sql == NULL || vtime_sql_to_rfc3339(sql, out, outsz) != 0)
		out[0] = '\0';
}

int
channels_id_ok(const char *s)
{
	return id_valid("wh", s) || id_valid("ch", s);
}

int
channels_severity_rank(const char *s)
{
	return text_index(s, severities, NELEM(severities));
}

void
channels_free(struct channel *c)
{
	if (c == NULL)
		return;
	if (c->secret != NULL) {
		crypto_wipe(c->secret, strlen(c->secret));
		free(c->secret);
	}
	free(c->name);
	free(c->target);
	free(c->events);
	free(c->config);
	free(c->filter);
	free(c->disabled_reason);
	free(c->sealed);
	free(c);
}

static struct channel *
channel_at(const struct db_res *res, size_t i)
{
	struct channel *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	snprintf(c->id, sizeof(c->id), "%s", db_cell(res, i, CH_C_ID));
	snprintf(c->kind, sizeof(c->kind), "%s", db_cell(res, i, CH_C_KIND));
	c->name = dup0(db_cell(res, i, CH_C_NAME));
	c->target = dup0(db_cell(res, i, CH_C_URL));
	c->events = dup0(db_cell(res, i, CH_C_EVENTS));
	c->config = dup0(db_cell(res, i, CH_C_CONFIG));
	c->filter = dup0(db_cell(res, i, CH_C_FILTER));
	c->disabled_reason = dup0(db_cell(res, i, CH_C_REASON));
	c->sealed = dup0(db_cell(res, i, CH_C_SECRET));
	ts(db_cell(res, i, CH_C_CREATED), c->created_at,
	    sizeof(c->created_at));
	ts(db_cell(res, i, CH_C_DISABLED), c->disabled_at,
	    sizeof(c->disabled_at));
	ts(db_cell(res, i, CH_C_FAILING), c->failing_since,
	    sizeof(c->failing_since));
	if (c->target == NULL || c->events == NULL) {
		channels_free(c);
		return NULL;
	}
	return c;
}

static json_object *
ts_json(const char *rfc)
{
	return rfc[0] != '\0' ? json_object_new_string(rfc) : NULL;
}

static json_object *
parsed(const char *text, int object)
{
	json_object *o = text ? json_tokener_parse(text) : NULL;

	if (o == NULL && object)
		return json_object_new_object();
	return o;
}

json_object *
channels_to_json(const struct channel *c)
{
	json_object *o = json_object_new_object(), *f, *ev;

	json_object_object_add(o, "channel_id", json_object_new_string(c->id));
	json_object_object_add(o, "type", json_object_new_string(c->kind));
	json_object_object_add(o, "name", vjson_new_string_or_null(c->name));
	json_object_object_add(o, "target",
	    json_object_new_string(c->target));
	json_object_object_add(o, "config", parsed(c->config, 1));
	/* a webhook registered at /webhooks has its subscriptions only */
	if ((f = parsed(c->filter, 0)) == NULL) {
		f = json_object_new_object();
		ev = parsed(c->events, 0);
		json_object_object_add(f, "event_types", ev ? ev :
		    json_object_new_array());
	}
	json_object_object_add(o, "filter", f);
	json_object_object_add(o, "created_at", ts_json(c->created_at));
	json_object_object_add(o, "disabled_at", ts_json(c->disabled_at));
	json_object_object_add(o, "disabled_reason",
	    vjson_new_string_or_null(c->disabled_reason));
	json_object_object_add(o, "failing_since", ts_json(c->failing_since));
	return o;
}

int
channels_get(struct db *db, const char *tenant_id, const char *id,
    struct channel **out)
{
	struct db_res *res = NULL;
	int rc;

	*out = NULL;
	if (!channels_id_ok(id))
		return 0;
	if ((rc = db_exec(db, SQL_CHANNEL_GET, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, &res)) != 0)
		return rc;
	rc = 0;
	if (res->nrows == 1)
		rc = (*out = channel_at(res, 0)) != NULL ? 1 : DB_ERR;
	db_res_free(res);
	return rc;
}

int
channels_list(struct db *db, const char *tenant_id, const char *cursor,
    long limit, struct channels_page *out)
{
	struct db_res *res = NULL, *cnt = NULL;
	struct channel *c;
	size_t i, n;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = db_exec(db, SQL_CHANNEL_LIST, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(cursor ? cursor : ""),
	    DB_INT(limit + 1) }, 3, &res)) != 0 ||
	    (rc = db_exec(db, SQL_CHANNEL_COUNT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, &cnt)) != 0)
		goto out;
	n = res->nrows > (size_t)limit ? (size_t)limit : res->nrows;
	out->items = json_object_new_array();
	for (i = 0; i < n; i++) {
		if ((c = channel_at(res, i)) == NULL) {
			rc = DB_ERR;
			goto out;
		}
		json_object_array_add(out->items, channels_to_json(c));
		channels_free(c);
	}
	out->total = db_cell_int(cnt, 0, 0);
	out->has_more = res->nrows > (size_t)limit;
	if (out->has_more && n > 0)
		snprintf(out->next_cursor, sizeof(out->next_cursor), "%s",
		    db_cell(res, n - 1, CH_C_ID));
out:
	db_res_free(cnt);
	db_res_free(res);
	return rc;
}

void
channels_page_free(struct channels_page *p)
{
	if (p == NULL)
		return;
	json_object_put(p->items);
	memset(p, 0, sizeof(*p));
}

/* --- filters -------------------------------------------------------------- */

static int
listed(json_object *arr, const char *s)
{
	size_t i, n;
	const char *v;

	if (arr == NULL || !json_object_is_type(arr, json_type_array))
		return 1;   /* no such condition */
	if (s == NULL)
		return 0;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++)
		if ((v = json_object_get_string(json_object_array_get_idx(arr,
		    i))) != NULL && strcmp(v, s) == 0)
			return 1;
	return 0;
}

/* 1 if the event's tags (an object or an array of strings) hold the
 * filter's tag t ("key" or "key=value"). */
static int
tag_held(json_object *tags, const char *t)
{
	const char *eq = strchr(t, '='), *v;
	size_t klen = eq ? (size_t)(eq - t) : strlen(t), i, n;
	char key[256];
	json_object *val;

	if (json_object_is_type(tags, json_type_array)) {
		n = json_object_array_length(tags);
		for (i = 0; i < n; i++)
			if ((v = json_object_get_string(
			    json_object_array_get_idx(tags, i))) != NULL &&
			    strcmp(v, t) == 0)
				return 1;
		return 0;
	}
	if (!json_object_is_type(tags, json_type_object) ||
	    klen >= sizeof(key))
		return 0;
	memcpy(key, t, klen);
	key[klen] = '\0';
	if (!json_object_object_get_ex(tags, key, &val))
		return 0;
	if (eq == NULL)
		return 1;
	v = json_object_get_string(val);
	return v != NULL && strcmp(v, eq + 1) == 0;
}

int
channels_filter_match(json_object *filter, const char *severity,
    const char *environment, const char *source, const char *tags)
{
	json_object *v, *t;
	size_t i, n;
	int ok = 0;

	if (filter == NULL || !json_object_is_type(filter, json_type_object))
		return 1;
	if (json_object_object_get_ex(filter, "min_severity", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    channels_severity_rank(severity) <
	    channels_severity_rank(json_object_get_string(v)))
		return 0;
	if (json_object_object_get_ex(filter, "environments", &v) &&
	    !listed(v, environment))
		return 0;
	if (json_object_object_get_ex(filter, "sources", &v) &&
	    !listed(v, source))
		return 0;
	if (!json_object_object_get_ex(filter, "tags", &v) ||
	    !json_object_is_type(v, json_type_array))
		return 1;
	if (tags == NULL || (t = json_tokener_parse(tags)) == NULL)
		return 0;
	n = json_object_array_length(v);
	for (i = 0; i < n && !ok; i++)
		ok = tag_held(t, json_object_get_string(
		    json_object_array_get_idx(v, i)));
	json_object_put(t);
	return ok;
}

/* --- the request body ----------------------------------------------------- */

/* What a channel is stored as. */
struct spec {
	const char	*kind;      /* one of kinds[] */
	const char	*name;      /* borrowed or NULL */
	char		 target[NETGUARD_URL_MAX + 1];
	json_object	*events;    /* array, owned */
	json_object	*config;    /* object, owned: shown */
	json_object	*filter;    /* object, owned, or NULL */
	json_object	*secret;    /* object, owned: sealed (not webhooks) */
	const char	*hook_secret;   /* a webhook's signing secret, or
	                                 * NULL: generate one */
};

static void
spec_free(struct spec *sp)
{
	json_object_put(sp->events);
	json_object_put(sp->config);
	json_object_put(sp->filter);
	json_object_put(sp->secret);
	memset(sp, 0, sizeof(*sp));
}

/* The filter object f (NULL: none) into sp->filter and sp->events. */
static int
filter_build(json_object *f, struct spec *sp, struct vjson_err *err)
{
	static const char *const keys[] = { "event_types", "min_severity",
	    "environments", "sources", "tags", NULL };
	static const char *const lists[] = { "environments", "sources",
	    "tags" };
	json_object *arr = NULL;
	const char *s = NULL;
	size_t i, j, n;

	sp->events = json_object_new_array();
	if (f == NULL) {
		for (i = 0; i < NELEM(default_types); i++)
			json_object_array_add(sp->events,
			    json_object_new_string(default_types[i]));
		return 0;
	}
	if (!json_object_is_type(f, json_type_object)) {
		invalid(err, "filter", "filter must be an object.");
		return -1;
	}
	if (vjson_only_keys(f, keys, err) != 0)
		return -1;
	sp->filter = json_object_new_object();
	if (vjson_get_string_array(f, "event_types", 0,
	    CHANNELS_FILTER_ITEMS, 64, &arr, err) < 0)
		return -1;
	if (arr == NULL || json_object_array_length(arr) == 0) {
		for (i = 0; i < NELEM(default_types); i++)
			json_object_array_add(sp->events,
			    json_object_new_string(default_types[i]));
	} else {
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			s = json_object_get_string(
			    json_object_array_get_idx(arr, i));
			if (!events_subscription_valid(s)) {
				invalid(err, "filter.event_types", "event_types "
				    "holds an unknown event type; name event "
				    "types exactly, or finding.*, case.*, "
				    "alert.* or *.");
				return -1;
			}
			for (j = 0; j < i; j++)
				if (strcmp(s, json_object_get_string(
				    json_object_array_get_idx(arr, j))) == 0)
					break;
			if (j == i)
				json_object_array_add(sp->events,
				    json_object_new_string(s));
		}
	}
	json_object_object_add(sp->filter, "event_types",
	    json_object_get(sp->events));
	if (vjson_get_string(f, "min_severity", 0, 1, 16, &s, err) < 0)
		return -1;
	if (json_object_object_get_ex(f, "min_severity", NULL) && s != NULL) {
		if (channels_severity_rank(s) < 0) {
			invalid(err, "filter.min_severity", "min_severity must "
			    "be one of info, low, medium, high, critical.");
			return -1;
		}
		json_object_object_add(sp->filter, "min_severity",
		    json_object_new_string(s));
	}
	for (i = 0; i < NELEM(lists); i++) {
		arr = NULL;
		if (vjson_get_string_array(f, lists[i], 0,
		    CHANNELS_FILTER_ITEMS, 255, &arr, err) < 0) {
			snprintf(err->field, sizeof(err->field), "filter.%s",
			    lists[i]);
			return -1;
		}
		if (arr != NULL && json_object_array_length(arr) > 0)
			json_object_object_add(sp->filter, lists[i],
			    json_object_get(arr));
	}
	return 0;
}

/* 1 if s looks like an address: local@domain, printable ASCII, no
 * spaces or angle brackets (it goes into SMTP commands and headers). */
static int
email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@'))
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    strchr("<>()[]\\,;:\"", *s) != NULL)
			return 0;
	return 1;
}

/* 1 if s is a host name or an IP literal (letters, digits, '-', '.',
 * ':'). */
static int
host_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("-.:", *s) == NULL)
			return 0;
	return 1;
}

/* The scheme and host of a URL the target check accepted, for showing:
 * "https://hooks.slack.com/…" (the path of a Slack or Teams URL is its
 * secret). */
static void
target_masked(const char *url, char *out, size_t outsz)
{
	char host[NETGUARD_URL_MAX + 1];

	if (webhooks_url_host(url, host, sizeof(host)) != 0)
		host[0] = '\0';
	snprintf(out, outsz, "%s://%s/\xe2\x80\xa6",
	    strncmp(url, "http://", 7) == 0 ? "http" : "https", host);
}

/* The config of kind from the object cfg into sp. */
static int
config_build(json_object *cfg, struct spec *sp, struct vjson_err *err)
{
	static const char *const k_url[] = { "url", NULL };
	static const char *const k_hook[] = { "url", "secret", NULL };
	static const char *const k_pd[] = { "routing_key", "url", NULL };
	static const char *const k_mail[] = { "host", "port", "security",
	    "username", "password", "from", "to", "digest", NULL };
	const char *url = NULL, *s = NULL, *sec = NULL, *user = NULL;
	const char *dg = NULL;
	json_object *to = NULL;
	int64_t port = 0;
	size_t i, n;

	if (cfg == NULL || !json_object_is_type(cfg, json_type_object)) {
		invalid(err, "config", "config must be an object.");
		return -1;
	}
	sp->config = json_object_new_object();
	sp->secret = json_object_new_object();
	if (strcmp(sp->kind, "slack") == 0 || strcmp(sp->kind, "teams") == 0) {
		if (vjson_only_keys(cfg, k_url, err) != 0 ||
		    vjson_get_string(cfg, "url", 1, 1, NETGUARD_URL_MAX, &url,
		    err) < 0)
			goto bad;
		if (webhooks_target_check(url, "config.url", err) != 0)
			return -1;
		json_object_object_add(sp->secret, "url",
		    json_object_new_string(url));
		target_masked(url, sp->target, sizeof(sp->target));
		return 0;
	}
	if (strcmp(sp->kind, "webhook") == 0) {
		if (vjson_only_keys(cfg, k_hook, err) != 0 ||
		    vjson_get_string(cfg, "url", 1, 1, NETGUARD_URL_MAX, &url,
		    err) < 0 ||
		    vjson_get_string(cfg, "secret", 0, WEBHOOKS_SECRET_MIN,
		    WEBHOOKS_SECRET_MAX, &sp->hook_secret, err) < 0)
			goto bad;
		if (sp->hook_secret != NULL &&
		    !webhooks_secret_usable(sp->hook_secret)) {
			invalid(err, "config.secret", "secret must be 8 to 256 "
			    "printable bytes; a whsec_ secret must be whsec_ + "
			    "base64.");
			return -1;
		}
		if (webhooks_target_check(url, "config.url", err) != 0)
			return -1;
		snprintf(sp->target, sizeof(sp->target), "%s", url);
		return 0;
	}
	if (strcmp(sp->kind, "pagerduty") == 0) {
		if (vjson_only_keys(cfg, k_pd, err) != 0 ||
		    vjson_get_string(cfg, "routing_key", 1, 1, 128, &s,
		    err) < 0 ||
		    vjson_get_string(cfg, "url", 0, 1, NETGUARD_URL_MAX, &url,
		    err) < 0)
			goto bad;
		if (url == NULL)
			url = CHANNELS_PAGERDUTY_URL;
		if (webhooks_target_check(url, "config.url", err) != 0)
			return -1;
		json_object_object_add(sp->secret, "routing_key",
		    json_object_new_string(s));
		json_object_object_add(sp->config, "url",
		    json_object_new_string(url));
		snprintf(sp->target, sizeof(sp->target), "%s", url);
		return 0;
	}
	/* email */
	if (vjson_only_keys(cfg, k_mail, err) != 0 ||
	    vjson_get_string(cfg, "host", 1, 1, 253, &s, err) < 0 ||
	    vjson_get_string(cfg, "security", 0, 1, 16, &sec, err) < 0 ||
	    vjson_get_int(cfg, "port", 0, 1, 65535, &port, err) < 0 ||
	    vjson_get_string(cfg, "username", 0, 1, 256, &user, err) < 0 ||
	    vjson_get_string(cfg, "password", 0, 1, 256, &url, err) < 0 ||
	    vjson_get_string_array(cfg, "to", 1, CHANNELS_TO_MAX, 254, &to,
	    err) < 0 ||
	    vjson_get_string(cfg, "digest", 0, 1, 16, &dg, err) < 0)
		goto bad;
	if (dg == NULL)
		dg = "none";
	if (strcmp(dg, "none") != 0 && strcmp(dg, "hourly") != 0 &&
	    strcmp(dg, "daily") != 0) {
		invalid(err, "config.digest", "digest must be none, hourly or "
		    "daily.");
		return -1;
	}
	if (!host_ok(s)) {
		invalid(err, "config.host", "host must be a host name or an IP "
		    "address.");
		return -1;
	}
	if (sec == NULL)
		sec = "starttls";
	if (strcmp(sec, "starttls") != 0 && strcmp(sec, "tls") != 0 &&
	    strcmp(sec, "none") != 0) {
		invalid(err, "config.security", "security must be starttls, "
		    "tls or none.");
		return -1;
	}
	if (strcmp(sec, "none") == 0 && !g_conf.allow_http_webhooks) {
		invalid(err, "config.security", "security none sends mail "
		    "(and any password) in clear; the operator has not allowed "
		    "unencrypted targets (allow_http_webhooks).");
		return -1;
	}
	if (port == 0)
		port = strcmp(sec, "tls") == 0 ? 465 : 587;
	if ((url != NULL) != (user != NULL)) {
		invalid(err, user ? "config.password" : "config.username",
		    "username and password go together.");
		return -1;
	}
	if (webhooks_host_check(s, "config.host", err) != 0)
		return -1;
	json_object_object_add(sp->config, "host", json_object_new_string(s));
	json_object_object_add(sp->config, "port",
	    json_object_new_int64(port));
	json_object_object_add(sp->config, "security",
	    json_object_new_string(sec));
	if (user != NULL) {
		json_object_object_add(sp->config, "username",
		    json_object_new_string(user));
		json_object_object_add(sp->secret, "password",
		    json_object_new_string(url));
	}
	if (vjson_get_string(cfg, "from", 1, 3, 254, &s, err) < 0)
		goto bad;
	if (!email_ok(s)) {
		invalid(err, "config.from", "from must be an address "
		    "(local@domain).");
		return -1;
	}
	json_object_object_add(sp->config, "from", json_object_new_string(s));
	n = json_object_array_length(to);
	if (n == 0) {
		invalid(err, "config.to", "to must name at least one address.");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (!email_ok(json_object_get_string(
		    json_object_array_get_idx(to, i)))) {
			invalid(err, "config.to", "to holds something that is "
			    "not an address (local@domain).");
			return -1;
		}
	json_object_object_add(sp->config, "to", json_object_get(to));
	json_object_object_add(sp->config, "digest",
	    json_object_new_string(dg));
	snprintf(sp->target, sizeof(sp->target), "%s://%s:%lld",
	    strcmp(sec, "tls") == 0 ? "smtps" : "smtp",
	    json_object_get_string(json_object_object_get(sp->config, "host")),
	    (long long)port);
	return 0;
bad:
	if (strncmp(err->field, "config.", 7) != 0 &&
	    strcmp(err->field, "config") != 0) {
		char f[sizeof(err->field)];

		snprintf(f, sizeof(f), "%s", err->field);
		snprintf(err->field, sizeof(err->field), "config.%.100s", f);
	}
	return -1;
}

/* The whole body (type, name, config, filter) into sp. */
static int
spec_build(json_object *body, struct spec *sp, struct vjson_err *err)
{
	static const char *const keys[] = { "type", "name", "config",
	    "filter", NULL };
	json_object *cfg = NULL, *f = NULL;
	const char *type = NULL;
	size_t i;

	memset(sp, 0, sizeof(*sp));
	if (vjson_only_keys(body, keys, err) != 0 ||
	    vjson_get_string(body, "type", 1, 1, 16, &type, err) < 0 ||
	    vjson_get_string(body, "name", 0, 1, CHANNELS_NAME_MAX, &sp->name,
	    err) < 0)
		return -1;
	for (i = 0; i < NELEM(kinds); i++)
		if (strcmp(type, kinds[i]) == 0)
			sp->kind = kinds[i];
	if (sp->kind == NULL) {
		invalid(err, "type", "type must be one of webhook, slack, "
		    "teams, email, pagerduty.");
		return -1;
	}
	json_object_object_get_ex(body, "filter", &f);
	if (!json_object_object_get_ex(body, "config", &cfg)) {
		invalid(err, "config", "config is required.");
		return -1;
	}
	if (filter_build(f, sp, err) != 0) {
		if (strncmp(err->field, "filter", 6) != 0) {
			char fl[sizeof(err->field)];

			snprintf(fl, sizeof(fl), "%s", err->field);
			snprintf(err->field, sizeof(err->field),
			    "filter.%.100s", fl);
		}
		return -1;
	}
	if (config_build(cfg, sp, err) != 0)
		return -1;
	if (g_conf.secret_key_file[0] == '\0') {
		invalid(err, "config", "The server has no secret_key_file "
		    "configured, so it cannot store a channel's secrets; ask "
		    "the operator.");
		return -1;
	}
	return 0;
}

/* The sealed secret of sp for channel id: a webhook's signing secret
 * (hook_secret, or a new one copied into gen), else sp->secret's JSON.
 * NULL on failure. */
static char *
spec_seal(const struct spec *sp, const char *id, char *gen, size_t gensz)
{
	struct crypto_ring ring;
	char why[256], *sealed = NULL;
	const char *pt;
	size_t n;

	if (crypto_ring_load(&ring, g_conf.secret_key_file, NULL, why,
	    sizeof(why)) != 0) {
		log_err("channel %s: secret_key_file: %s", id, why);
		return NULL;
	}
	if (strcmp(sp->kind, "webhook") == 0) {
		pt = sp->hook_secret;
		if (pt == NULL) {
			if (sign_secret_new(gen, gensz) != 0)
				goto out;
			pt = gen;
		}
		n = strlen(pt);
	} else
		pt = vjson_str(sp->secret, &n);
	sealed = crypto_ring_seal(&ring, pt, n, id);
out:
	crypto_ring_wipe(&ring);
	return sealed;
}

static json_object *
audit_detail(const struct spec *sp)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "type", json_object_new_string(sp->kind));
	json_object_object_add(d, "target",
	    json_object_new_string(sp->target));
	json_object_object_add(d, "events", json_object_get(sp->events));
	return d;
}

static enum channels_outcome
create_once(struct db *db, const char *tenant_id, json_object *body,
    const char *actor, time_t now, struct channel **out,
    struct vjson_err *err, int *rc)
{
	struct spec sp;
	json_object *detail;
	char id[VIGIL_ID_LEN], now_sql[VTIME_SQL_LEN], gen[SIGN_SECRET_LEN];
	char *sealed = NULL;
	const char *etext, *ctext, *ftext = NULL;
	size_t elen, clen, flen = 0;
	enum channels_outcome oc = CHANNELS_DB_ERROR;

	*out = NULL;
	*rc = DB_ERR;
	gen[0] = '\0';
	if (spec_build(body, &sp, err) != 0) {
		spec_free(&sp);
		return CHANNELS_INVALID;
	}
	if (id_new(strcmp(sp.kind, "webhook") == 0 ? "wh" : "ch", id,
	    sizeof(id)) != 0 ||
	    (sealed = spec_seal(&sp, id, gen, sizeof(gen))) == NULL)
		goto out;
	etext = vjson_str(sp.events, &elen);
	ctext = vjson_str(sp.config, &clen);
	if (sp.filter != NULL)
		ftext = vjson_str(sp.filter, &flen);
	vtime_sql(now, now_sql, sizeof(now_sql));
	/* The tenant row first, as webhooks_create: the channel gets the
	 * events committed after it (created_seq). */
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0 ||
	    (*rc = db_exec(db, SQL_CHANNEL_INSERT, (struct db_val[]){
	    DB_STR(id), DB_STR(tenant_id), DB_STR(sp.kind),
	    sp.name ? DB_STR(sp.name) : DB_NUL, DB_STR(sp.target),
	    DB_STRN(etext, elen), DB_STR(sealed), DB_STRN(ctext, clen),
	    ftext ? DB_STRN(ftext, flen) : DB_NUL, DB_STR(now_sql),
	    DB_STR(tenant_id) }, 11, NULL)) != 0)
		goto out;
	detail = audit_detail(&sp);
	*rc = audit_append(db, tenant_id, actor, strcmp(sp.kind,
	    "webhook") == 0 ? "webhook.create" : "channel.create", id, detail);
	json_object_put(detail);
	if (*rc != 0)
		goto out;
	if ((*rc = channels_get(db, tenant_id, id, out)) != 1) {
		*rc = *rc == 0 ? DB_ERR : *rc;
		goto out;
	}
	if (gen[0] != '\0' && ((*out)->secret = strdup(gen)) == NULL) {
		channels_free(*out);
		*out = NULL;
		*rc = DB_ERR;
		goto out;
	}
	*rc = 0;
	oc = CHANNELS_OK;
out:
	crypto_wipe(gen, sizeof(gen));
	free(sealed);
	spec_free(&sp);
	return oc;
}

/* The body a PATCH makes of channel c: its type, name, filter and
 * config (the secrets opened back in), each replaced by patch's. NULL on
 * failure (err set when the patch itself is wrong). */
static json_object *
merged(const struct channel *c, json_object *patch, struct vjson_err *err)
{
	static const char *const keys[] = { "type", "name", "config",
	    "filter", NULL };
	json_object *b = NULL, *cfg = NULL, *sec = NULL, *v;
	struct crypto_ring ring;
	char why[256], *pt = NULL;
	size_t n;

	if (vjson_only_keys(patch, keys, err) != 0)
		return NULL;
	if (json_object_object_get_ex(patch, "type", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), c->kind) != 0)) {
		invalid(err, "type", "A channel's type cannot change; create "
		    "another channel.");
		return NULL;
	}
	if (crypto_ring_load(&ring, g_conf.secret_key_file,
	    g_conf.previous_key_files, why, sizeof(why)) != 0) {
		log_err("channel %s: secret_key_file: %s", c->id, why);
		return NULL;
	}
	pt = c->sealed ? crypto_ring_open(&ring, c->sealed, c->id, &n, why,
	    sizeof(why)) : NULL;
	crypto_ring_wipe(&ring);
	if (pt == NULL) {
		log_err("channel %s: its secret cannot be opened: %s", c->id,
		    c->sealed ? why : "none stored");
		return NULL;
	}
	b = json_object_new_object();
	json_object_object_add(b, "type", json_object_new_string(c->kind));
	if (c->name != NULL)
		json_object_object_add(b, "name",
		    json_object_new_string(c->name));
	if (c->filter != NULL)
		json_object_object_add(b, "filter", parsed(c->filter, 0));
	else if ((v = parsed(c->events, 0)) != NULL) {
		/* a webhook registered at /webhooks keeps its subscriptions */
		json_object *f = json_object_new_object();

		json_object_object_add(f, "event_types", v);
		json_object_object_add(b, "filter", f);
	}
	cfg = parsed(c->config, 1);
	if (strcmp(c->kind, "webhook") == 0) {
		json_object_object_add(cfg, "url",
		    json_object_new_string(c->target));
		json_object_object_add(cfg, "secret",
		    json_object_new_string(pt));
	} else if ((sec = json_tokener_parse(pt)) != NULL) {
		json_object_object_foreach(sec, sk, sv)
			json_object_object_add(cfg, sk, json_object_get(sv));
		json_object_put(sec);
	}
	crypto_wipe(pt, n);
	free(pt);
	if (json_object_object_get_ex(patch, "name", &v)) {
		if (v == NULL)
			json_object_object_del(b, "name");
		else
			json_object_object_add(b, "name", json_object_get(v));
	}
	if (json_object_object_get_ex(patch, "filter", &v)) {
		if (v == NULL)
			json_object_object_del(b, "filter");
		else
			json_object_object_add(b, "filter",
			    json_object_get(v));
	}
	if (json_object_object_get_ex(patch, "config", &v)) {
		if (!json_object_is_type(v, json_type_object)) {
			invalid(err, "config", "config must be an object.");
			json_object_put(cfg);
			json_object_put(b);
			return NULL;
		}
		json_object_object_foreach(v, pk, pv) {
			if (pv == NULL)
				json_object_object_del(cfg, pk);
			else
				json_object_object_add(cfg, pk,
				    json_object_get(pv));
		}
	}
	json_object_object_add(b, "config", cfg);
	return b;
}

static enum channels_outcome
update_once(struct db *db, const char *tenant_id, const char *id,
    json_object *patch, const char *actor, struct channel **out,
    struct vjson_err *err, int *rc)
{
	struct channel *c = NULL;
	struct spec sp;
	json_object *body = NULL, *detail;
	char *sealed = NULL, gen[SIGN_SECRET_LEN];
	const char *etext, *ctext, *ftext = NULL;
	size_t elen, clen, flen = 0;
	unsigned long long changed;
	enum channels_outcome oc = CHANNELS_DB_ERROR;

	*out = NULL;
	*rc = DB_ERR;
	memset(&sp, 0, sizeof(sp));
	err->field[0] = '\0';
	if ((*rc = channels_get(db, tenant_id, id, &c)) <= 0)
		return *rc == 0 ? CHANNELS_NOT_FOUND : CHANNELS_DB_ERROR;
	if ((body = merged(c, patch, err)) == NULL) {
		*rc = DB_ERR;
		oc = err->field[0] ? CHANNELS_INVALID : CHANNELS_DB_ERROR;
		goto out;
	}
	if (spec_build(body, &sp, err) != 0) {
		oc = CHANNELS_INVALID;
		goto out;
	}
	if ((sealed = spec_seal(&sp, id, gen, sizeof(gen))) == NULL)
		goto out;
	etext = vjson_str(sp.events, &elen);
	ctext = vjson_str(sp.config, &clen);
	if (sp.filter != NULL)
		ftext = vjson_str(sp.filter, &flen);
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0 ||
	    (*rc = db_exec_affected(db, SQL_CHANNEL_UPDATE, (struct db_val[]){
	    sp.name ? DB_STR(sp.name) : DB_NUL, DB_STR(sp.target),
	    DB_STRN(etext, elen), DB_STR(sealed), DB_STRN(ctext, clen),
	    ftext ? DB_STRN(ftext, flen) : DB_NUL, DB_STR(tenant_id),
	    DB_STR(id) }, 8, &changed)) != 0)
		goto out;
	if (changed == 0) {
		/* deleted meanwhile (a row rewritten unchanged counts too:
		 * the secret is sealed afresh each time) */
		oc = CHANNELS_NOT_FOUND;
		goto out;
	}
	detail = audit_detail(&sp);
	*rc = audit_append(db, tenant_id, actor, id[0] == 'w' ?
	    "webhook.update" : "channel.update", id, detail);
	json_object_put(detail);
	if (*rc != 0)
		goto out;
	if ((*rc = channels_get(db, tenant_id, id, out)) != 1) {
		*rc = *rc == 0 ? DB_ERR : *rc;
		goto out;
	}
	*rc = 0;
	oc = CHANNELS_OK;
out:
	crypto_wipe(gen, sizeof(gen));
	free(sealed);
	spec_free(&sp);
	json_object_put(body);
	channels_free(c);
	return oc;
}

/* Creating and changing a channel run in db_tx_run (create_once or
 * update_once is its body: committed when the outcome is CHANNELS_OK,
 * rolled back otherwise), replayed whole after a deadlock or a
 * certification failure, each run with no reply from the one before. */
struct channels_tx {
	const char		*tenant_id, *id, *actor;
	json_object		*body;		/* create, or */
	json_object		*patch;		/* update */
	int			 update;
	time_t			 now;
	struct channel		*out;
	struct vjson_err	*err;
	enum channels_outcome	 oc;
	int			 rc;
};

static int
channels_tx(struct db *db, void *arg)
{
	struct channels_tx *t = arg;

	channels_free(t->out);
	t->out = NULL;
	t->rc = 0;
	if (t->update)
		t->oc = update_once(db, t->tenant_id, t->id, t->patch,
		    t->actor, &t->out, t->err, &t->rc);
	else
		t->oc = create_once(db, t->tenant_id, t->body, t->actor,
		    t->now, &t->out, t->err, &t->rc);
	if (t->oc == CHANNELS_OK)
		return 0;
	if (t->oc == CHANNELS_DB_ERROR)
		return t->rc != 0 ? t->rc : DB_ERR;
	return 1;
}

static enum channels_outcome
channels_run(struct db *db, struct channels_tx *t, struct channel **out,
    int *rc)
{
	int r;

	t->oc = CHANNELS_DB_ERROR;
	r = db_tx_run(db, channels_tx, t);
	*rc = r < 0 ? r : 0;
	if (r < 0) {
		channels_free(t->out);
		t->out = NULL;
		t->oc = CHANNELS_DB_ERROR;
	}
	*out = t->out;
	return t->oc;
}

enum channels_outcome
channels_create(struct db *db, const char *tenant_id, json_object *body,
    const char *actor, time_t now, struct channel **out,
    struct vjson_err *err, int *rc)
{
	struct channels_tx t;

	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.body = body;
	t.actor = actor;
	t.now = now;
	t.err = err;
	return channels_run(db, &t, out, rc);
}

enum channels_outcome
channels_update(struct db *db, const char *tenant_id, const char *id,
    json_object *patch, const char *actor, struct channel **out,
    struct vjson_err *err, int *rc)
{
	struct channels_tx t;

	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.id = id;
	t.patch = patch;
	t.update = 1;
	t.actor = actor;
	t.err = err;
	return channels_run(db, &t, out, rc);
}
