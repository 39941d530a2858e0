/* events.c: the events outbox (events.h): the event types, the one
 * writer of an event, and the page GET /events serves. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "events.h"
#include "id.h"
#include "log.h"
#include "text.h"
#include "vjson.h"
#include "vtime.h"

/* doc/openapi.json lists the same types (EventType, WebhookSubscription,
 * the type parameter of GET /events) and data members (EventEnvelope);
 * tests/unit/check_events.c holds the two to each other. */
const struct events_type events_types[] = {
	{ "finding.detected", "a scan (or an import) finds a new problem",
	    "finding", 0 },
	{ "finding.updated", "the scanner rescores or redescribes a finding; "
	    "a remediation is requested or approved; assignee or notes change",
	    "finding", 0 },
	{ "finding.resolved", "a user resolves it, or a complete scan no "
	    "longer finds it", "finding", 0 },
	{ "finding.accepted", "risk accepted (also a renewal)", "finding", 0 },
	{ "finding.expired", "an acceptance reaches its expiry", "finding", 0 },
	{ "finding.reopened", "a resolved finding is seen again; an accepted "
	    "finding's configuration changes; a snooze ends", "finding", 0 },
	{ "finding.snoozed", "snoozed", "finding", 0 },
	{ "finding.dismissed", "dismissed", "finding", 0 },
	{ "finding.muted", "a mute rule matches an open finding (or a new or "
	    "reopened one, instead of finding.detected or finding.reopened)",
	    "finding", 0 },
	{ "finding.unmuted", "no live mute rule matches a muted finding any "
	    "more: its rule was deleted or expired", "finding", 0 },
	{ "finding.remediated", "the scanner applied a remediation",
	    "finding", 0 },
	{ "finding.remediation_failed", "the scanner's remediation failed",
	    "finding", 0 },
	{ "scan.completed", "a scan ends having collected every resource",
	    "scan", 0 },
	{ "scan.failed", "a scan ends with an error, or is marked failed "
	    "because it never ran or its scanner died", "scan", 0 },
	{ "webhook.test", "POST /webhooks/{id}/test, POST /channels/{id}/test",
	    "webhook_id", 1 },
	{ "webhook.disabled", "vigil-spool disables a webhook (410, or "
	    "failing for webhook_disable_after)",
	    "webhook_id url reason disabled_at", 0 },
	{ "alert.created", "an alert is ingested for the first time (not "
	    "when deduplicated, nor when stored as suppressed)", "alert", 0 },
	{ "alert.dismissed", "POST /alerts/{id}/dismiss", "alert", 0 },
	{ "case.created", "a case is opened (POST /cases, or an escalation "
	    "with case_id null)", "event case_id verdict at by case", 0 },
	{ "case.updated", "PATCH /cases/{id}; an alert or a finding is "
	    "escalated into an existing case", "event case_id verdict at by case",
	    0 },
	{ "case.commented", "a comment is added", "event case_id verdict at "
	    "by case", 0 },
	{ "case.resolved", "resolved with a verdict", "event case_id verdict "
	    "at by case", 0 },
	{ "case.reopened", "a resolved case is reopened", "event case_id "
	    "verdict at by case", 0 },
	{ "alert.escalated", "an alert is escalated into a new or an "
	    "existing case", "event alert_id case_id at by case", 0 },
	{ "finding.sla_warning", "vigil-scan --due: an open finding is "
	    "within the tenant's warning_days of its due date (once per "
	    "detection or reopening)", "finding due_at days_left", 0 },
	{ "finding.sla_breached", "vigil-scan --due: an open finding passes "
	    "its due date (once per detection or reopening)",
	    "finding due_at days_left", 0 },
	{ "channel.digest", "an e-mail channel's digest period (hour or day) "
	    "ends with events in it; delivered to that channel alone",
	    "webhook_id period_end count events", 1 },
};
const size_t events_ntypes = NELEM(events_types);

const char *const events_subscription_patterns[] = { "*", "finding.*",
    "alert.*", "case.*" };
const size_t events_nsubscription_patterns =
    NELEM(events_subscription_patterns);
const char *const events_filter_patterns[] = { "finding.*", "scan.*",
    "webhook.*", "alert.*", "case.*", "*" };
const size_t events_nfilter_patterns = NELEM(events_filter_patterns);

const struct events_type *
events_type(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < events_ntypes; i++)
		if (strcmp(name, events_types[i].name) == 0)
			return &events_types[i];
	return NULL;
}

int
events_subscription_valid(const char *s)
{
	return s != NULL && (events_type(s) != NULL ||
	    text_index(s, events_subscription_patterns,
	    events_nsubscription_patterns) >= 0);
}

int
events_match(json_object *subs, const char *type)
{
	const char *p;
	size_t i, n, plen;

	if (subs == NULL || type == NULL ||
	    !json_object_is_type(subs, json_type_array))
		return 0;
	n = json_object_array_length(subs);
	for (i = 0; i < n; i++) {
		p = json_object_get_string(json_object_array_get_idx(subs, i));
		if (p == NULL)
			continue;
		plen = strlen(p);
		if (strcmp(p, "*") == 0 || strcmp(p, type) == 0)
			return 1;
		if (plen >= 2 && strcmp(p + plen - 2, ".*") == 0 &&
		    strncmp(p, type, plen - 1) == 0)
			return 1;   /* "finding.*": the prefix with its dot */
	}
	return 0;
}

int
events_id_new(char *id, size_t idsz)
{
	return id_new("evt", id, idsz);
}

int
events_append(struct db *db, const char *tenant_id, const char *type,
    time_t at, json_object *data, const char *id)
{
	char evid[VIGIL_ID_LEN], sql[VTIME_SQL_LEN];
	char *payload;
	size_t len;
	int rc;

	if (events_type(type) == NULL) {
		log_err("event type %s is not in events_types", type);
		json_object_put(data);
		return DB_ERR;
	}
	if (id == NULL) {
		if (events_id_new(evid, sizeof(evid)) != 0) {
			json_object_put(data);
			return DB_ERR;
		}
		id = evid;
	}
	vtime_sql(at, sql, sizeof(sql));
	if (events_payload(tenant_id, type, at, data, id, &payload,
	    &len) != 0)
		return DB_ERR;
	rc = db_exec(db, SQL_EVENT_INSERT, (struct db_val[]){ DB_STR(id),
	    DB_STR(tenant_id), DB_STR(type), DB_STR(sql),
	    DB_STRN(payload, len) }, 5, NULL);
	free(payload);
	return rc;
}

int
events_count_deferred(struct db *db, const char *tenant_id,
    const struct db_val *rows, size_t nrows)
{
	return db_exec_tally(db, SQL_EVENT_COUNT_DEFERRED, tenant_id, rows,
	    EVENTS_ROW_NCOLS, EVENTS_ROW_TYPE, nrows);
}

/* The envelope before its data: event_id, event_type, tenant_id,
 * timestamp. */
#define ENVELOPE_HEAD "{\"event_id\":\"%s\",\"event_type\":\"%s\"," \
	"\"tenant_id\":\"%s\",\"timestamp\":\"%s\",\"data\":"

/* 1 if s needs no escaping in a JSON string (ids, types, times). */
static int
json_plain(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return 0;
	return 1;
}

int
events_payload_text(const char *tenant_id, const char *type, time_t at,
    const char *data, size_t datalen, const char *id, char **payload,
    size_t *len)
{
	char ts[VTIME_RFC3339_LEN], *p;
	int n;

	*payload = NULL;
	*len = 0;
	if (events_type(type) == NULL || !json_plain(tenant_id) ||
	    !json_plain(id))
		return -1;
	vtime_rfc3339(at, ts, sizeof(ts));
	/* The envelope's member order is part of what receivers verify
	 * signatures over (the body is sent as stored). Written by hand:
	 * json-c, which wrote it before, writes these plain strings so. */
	n = snprintf(NULL, 0, ENVELOPE_HEAD, id, type, tenant_id, ts);
	if (n < 0 || (p = malloc((size_t)n + datalen + 2)) == NULL)
		return -1;
	snprintf(p, (size_t)n + 1, ENVELOPE_HEAD, id, type, tenant_id, ts);
	memcpy(p + n, data, datalen);
	p[(size_t)n + datalen] = '}';
	p[(size_t)n + datalen + 1] = '\0';
	*payload = p;
	*len = (size_t)n + datalen + 1;
	return 0;
}

int
events_payload(const char *tenant_id, const char *type, time_t at,
    json_object *data, const char *id, char **payload, size_t *len)
{
	const char *s;
	size_t n = 0;
	int rc;

	*payload = NULL;
	s = data != NULL ? vjson_str(data, &n) : "null";
	if (data == NULL)
		n = 4;
	rc = s != NULL ? events_payload_text(tenant_id, type, at, s, n, id,
	    payload, len) : -1;
	json_object_put(data);
	return rc;
}

int
events_filter_parse(const char *type, struct events_filter *f)
{
	memset(f, 0, sizeof(*f));
	if (type == NULL || strcmp(type, "*") == 0)
		return 0;
	if (events_type(type) != NULL) {
		f->type = type;
		return 0;
	}
	if (text_index(type, events_filter_patterns,
	    events_nfilter_patterns) < 0)
		return -1;
	/* "finding.*": the types starting "finding." */
	snprintf(f->prefix, sizeof(f->prefix), "%.*s",
	    (int)(strlen(type) - 1), type);
	return 0;
}

/* SQL_EVENT_LIST's columns. */
enum { EVENT_COL_SEQ, EVENT_COL_PAYLOAD };

int
events_list(struct db *db, const char *tenant_id,
    const struct events_filter *f, long long after, long limit,
    struct events_page *out)
{
	struct db_res *res = NULL, *cnt = NULL;
	const char *exact = f->type;
	const char *prefix = f->prefix[0] ? f->prefix : NULL;
	char since[VTIME_SQL_LEN] = "";
	json_object *env;
	size_t i, n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (f->has_since)
		vtime_sql(f->since, since, sizeof(since));
	/* The total first: the kept counts per type, or a bounded count
	 * with "since" (LIST_SINCE_CAP). */
#define EV_TYPES \
	DB_STR0(exact), DB_STR0(exact), \
	DB_STR0(prefix), DB_STR0(prefix), DB_STR0(prefix)
	if (f->has_since)
		rc = db_exec(db, SQL_EVENT_COUNT_SINCE, (struct db_val[]){
		    EV_TYPES, DB_STR(tenant_id), DB_STR(since) }, 7, &cnt);
	else
		rc = db_exec(db, SQL_EVENT_COUNT, (struct db_val[]){
		    DB_STR(tenant_id), EV_TYPES }, 6, &cnt);
#undef EV_TYPES
	if (rc != 0)
		goto out;
	out->total = db_cell_int(cnt, 0, 0);
	out->events = json_object_new_array();
	/* Nothing matches: no walk (a rare type prefix would read every
	 * event of the tenant to find none). With "since", only certain
	 * below the cap. */
	if (out->total == 0 && (!f->has_since ||
	    db_cell_int(cnt, 0, LIST_SINCE_C_READ) < LIST_SINCE_CAP))
		goto out;
	/* The NULL-able filters repeat their parameter. */
#define EV_FILTERS \
	DB_STR0(exact), DB_STR0(exact), \
	DB_STR0(prefix), DB_STR0(prefix), DB_STR0(prefix), \
	f->has_since ? DB_STR(since) : DB_NUL, \
	f->has_since ? DB_STR(since) : DB_NUL
	if ((rc = db_exec(db, SQL_EVENT_LIST, (struct db_val[]){
	    DB_STR(tenant_id), DB_INT(after), EV_FILTERS,
	    DB_INT(limit + 1) }, 10, &res)) != 0)
		goto out;
#undef EV_FILTERS
	n = res->nrows > (size_t)limit ? (size_t)limit : res->nrows;
	for (i = 0; i < n; i++) {
		env = json_tokener_parse(db_cell(res, i, EVENT_COL_PAYLOAD));
		if (env != NULL)
			json_object_array_add(out->events, env);
	}
	out->has_more = res->nrows > (size_t)limit;
	if (n > 0)
		out->last_seq = db_cell_int(res, n - 1, EVENT_COL_SEQ);
out:
	db_res_free(cnt);
	db_res_free(res);
	return rc;
}

void
events_page_free(struct events_page *p)
{
	if (p == NULL)
		return;
	json_object_put(p->events);
	memset(p, 0, sizeof(*p));
}

int
events_prune(struct db *db, long long days, long long *ndeliveries,
    long long *nevents)
{
	struct db_res *res = NULL;
	long long horizon;
	int rc;

	*ndeliveries = *nevents = 0;
	if (days <= 0)
		return 0;
	if ((rc = db_exec_drain(db, SQL_PRUNE_DELIVERIES, (struct db_val[]){
	    DB_INT(days) }, 1, 5000, ndeliveries)) != 0)
		return rc;
	/* One column: the lowest seq of an event not yet dispatched. */
	if ((rc = db_exec(db, SQL_PRUNE_HORIZON, NULL, 0, &res)) != 0)
		return rc;
	horizon = db_cell_int(res, 0, 0);
	db_res_free(res);
	return db_exec_drain(db, SQL_PRUNE_EVENTS, (struct db_val[]){
	    DB_INT(days), DB_INT(horizon) }, 2, 5000, nevents);
}
