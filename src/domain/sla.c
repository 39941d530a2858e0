/* sla.c: service-level agreements (sla.h): the tenant's policy, the
 * response targets of alerts and cases, the job that announces findings
 * approaching and passing their due dates, and the list of those
 * announcements. */
#include "vigil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "events.h"
#include "findings.h"
#include "log.h"
#include "sla.h"
#include "vjson.h"
#include "vtime.h"

const char *const sla_severities[SLA_NSEV] = { "critical", "high",
    "medium", "low", "info" };

/* Most SLA events announced by one run of the job. */
#define SLA_RUN_MAX	1000

void
sla_defaults(struct sla_policy *p)
{
	static const int days[SLA_NSEV] = { 7, 30, 90, 180, 0 };
	static const int alert_ack[SLA_NSEV] = { 1, 4, 24, 72, 0 };
	static const int alert_res[SLA_NSEV] = { 24, 72, 168, 336, 0 };
	static const int case_ack[SLA_NSEV] = { 1, 4, 24, 72, 0 };
	static const int case_res[SLA_NSEV] = { 72, 168, 720, 2160, 0 };

	memset(p, 0, sizeof(*p));
	memcpy(p->days, days, sizeof(days));
	memcpy(p->alert_ack, alert_ack, sizeof(alert_ack));
	memcpy(p->alert_resolve, alert_res, sizeof(alert_res));
	memcpy(p->case_ack, case_ack, sizeof(case_ack));
	memcpy(p->case_resolve, case_res, sizeof(case_res));
	p->warning_days = SLA_WARNING_DEFAULT;
}

/* {critical: v, ...}, 0 as null. */
static json_object *
sev_json(const int *v)
{
	json_object *o = json_object_new_object();
	size_t i;

	for (i = 0; i < SLA_NSEV; i++)
		json_object_object_add(o, sla_severities[i], v[i] > 0 ?
		    json_object_new_int(v[i]) : NULL);
	return o;
}

static json_object *
targets_json(const int *ack, const int *res)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "acknowledge_hours", sev_json(ack));
	json_object_object_add(o, "resolve_hours", sev_json(res));
	return o;
}

static json_object *
time_json(time_t t)
{
	char ts[VTIME_RFC3339_LEN];

	if (t == 0)
		return NULL;
	vtime_rfc3339(t, ts, sizeof(ts));
	return json_object_new_string(ts);
}

json_object *
sla_to_json(const struct sla_policy *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "days", sev_json(p->days));
	json_object_object_add(o, "warning_days",
	    json_object_new_int(p->warning_days));
	json_object_object_add(o, "alerts",
	    targets_json(p->alert_ack, p->alert_resolve));
	json_object_object_add(o, "cases",
	    targets_json(p->case_ack, p->case_resolve));
	json_object_object_add(o, "updated_at", time_json(p->updated_at));
	return o;
}

static int
bad(char *field, size_t fieldsz, const char *f, char *msg, size_t msgsz,
    const char *m)
{
	snprintf(field, fieldsz, "%s", f);
	snprintf(msg, msgsz, "%s", m);
	return -1;
}

/* obj (the member at path) as {severity: int 1..max or null}: each
 * severity named changes v. 0 or -1 with field and msg. */
static int
apply_sev(json_object *obj, const char *path, int max, int *v, char *field,
    size_t fieldsz, char *msg, size_t msgsz)
{
	char f[96], m[160];
	json_object *x;
	int64_t n;
	size_t i;

	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(m, sizeof(m), "%s must be an object of severities "
		    "(critical, high, medium, low, info).", path);
		return bad(field, fieldsz, path, msg, msgsz, m);
	}
	json_object_object_foreach(obj, k, val) {
		(void)val;
		for (i = 0; i < SLA_NSEV; i++)
			if (strcmp(k, sla_severities[i]) == 0)
				break;
		if (i == SLA_NSEV) {
			snprintf(f, sizeof(f), "%s.%.60s", path, k);
			return bad(field, fieldsz, f, msg, msgsz,
			    "Unknown severity: use critical, high, medium, "
			    "low or info.");
		}
	}
	for (i = 0; i < SLA_NSEV; i++) {
		if (!json_object_object_get_ex(obj, sla_severities[i], &x))
			continue;
		snprintf(f, sizeof(f), "%s.%s", path, sla_severities[i]);
		if (x == NULL) {
			v[i] = 0;
			continue;
		}
		/* An integer in JSON, not a string or a fraction. */
		if (!json_object_is_type(x, json_type_int) ||
		    (n = json_object_get_int64(x)) < 1 || n > max) {
			snprintf(m, sizeof(m), "%s must be an integer from 1 "
			    "to %d, or null for no target.", f, max);
			return bad(field, fieldsz, f, msg, msgsz, m);
		}
		v[i] = (int)n;
	}
	return 0;
}

static int
apply_targets(json_object *obj, const char *path, int *ack, int *res,
    char *field, size_t fieldsz, char *msg, size_t msgsz)
{
	char f[64], m[160];
	json_object *x;

	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(m, sizeof(m), "%s must be an object with "
		    "acknowledge_hours and/or resolve_hours.", path);
		return bad(field, fieldsz, path, msg, msgsz, m);
	}
	json_object_object_foreach(obj, k, val) {
		(void)val;
		if (strcmp(k, "acknowledge_hours") != 0 &&
		    strcmp(k, "resolve_hours") != 0) {
			snprintf(f, sizeof(f), "%s.%.40s", path, k);
			return bad(field, fieldsz, f, msg, msgsz, "Unknown "
			    "field: use acknowledge_hours or resolve_hours.");
		}
	}
	if (json_object_object_get_ex(obj, "acknowledge_hours", &x)) {
		snprintf(f, sizeof(f), "%s.acknowledge_hours", path);
		if (apply_sev(x, f, SLA_HOURS_MAX, ack, field, fieldsz, msg,
		    msgsz) != 0)
			return -1;
	}
	if (json_object_object_get_ex(obj, "resolve_hours", &x)) {
		snprintf(f, sizeof(f), "%s.resolve_hours", path);
		if (apply_sev(x, f, SLA_HOURS_MAX, res, field, fieldsz, msg,
		    msgsz) != 0)
			return -1;
	}
	return 0;
}

int
sla_apply(struct sla_policy *p, json_object *body, char *field,
    size_t fieldsz, char *msg, size_t msgsz)
{
	static const char *const known[] = { "days", "warning_days",
	    "alerts", "cases" };
	json_object *x;
	int64_t n;
	size_t i;

	if (!json_object_is_type(body, json_type_object))
		return bad(field, fieldsz, "body", msg, msgsz,
		    "The body must be a JSON object.");
	json_object_object_foreach(body, k, val) {
		(void)val;
		for (i = 0; i < NELEM(known); i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (i == NELEM(known))
			return bad(field, fieldsz, k, msg, msgsz,
			    "Unknown field: use days, warning_days, alerts "
			    "or cases.");
	}
	if (json_object_object_length(body) == 0)
		return bad(field, fieldsz, "body", msg, msgsz, "Send at least "
		    "one of days, warning_days, alerts and cases.");
	for (i = 0; i < NELEM(known); i++)
		if (json_object_object_get_ex(body, known[i], &x) &&
		    x == NULL)
			return bad(field, fieldsz, known[i], msg, msgsz,
			    "This field must not be null.");
	if (json_object_object_get_ex(body, "days", &x) &&
	    apply_sev(x, "days", SLA_DAYS_MAX, p->days, field, fieldsz, msg,
	    msgsz) != 0)
		return -1;
	if (json_object_object_get_ex(body, "warning_days", &x)) {
		if (!json_object_is_type(x, json_type_int) ||
		    (n = json_object_get_int64(x)) < 0 ||
		    n > SLA_WARNING_MAX)
			return bad(field, fieldsz, "warning_days", msg, msgsz,
			    "warning_days must be an integer from 0 (no "
			    "warning) to 365.");
		p->warning_days = (int)n;
	}
	if (json_object_object_get_ex(body, "alerts", &x) &&
	    apply_targets(x, "alerts", p->alert_ack, p->alert_resolve, field,
	    fieldsz, msg, msgsz) != 0)
		return -1;
	if (json_object_object_get_ex(body, "cases", &x) &&
	    apply_targets(x, "cases", p->case_ack, p->case_resolve, field,
	    fieldsz, msg, msgsz) != 0)
		return -1;
	return 0;
}

/* The stored response text: {"alerts": {...}, "cases": {...}} as
 * sla_to_json writes them. */
static void
response_read(struct sla_policy *p, const char *text)
{
	struct vjson_err e;
	json_object *o, *x;

	if (text == NULL || (o = vjson_parse(text, strlen(text), 4,
	    64 * 1024, &e)) == NULL)
		return;
	/* Written by sla_put, so it applies; a row edited by hand into
	 * something else keeps the defaults for what does not. */
	if (json_object_object_get_ex(o, "alerts", &x))
		(void)apply_targets(x, "alerts", p->alert_ack,
		    p->alert_resolve, e.field, sizeof(e.field), e.message,
		    sizeof(e.message));
	if (json_object_object_get_ex(o, "cases", &x))
		(void)apply_targets(x, "cases", p->case_ack, p->case_resolve,
		    e.field, sizeof(e.field), e.message, sizeof(e.message));
	json_object_put(o);
}

/* SQL_SLA_GET's columns (SLA_POLICY_COLS in db.c). */
enum {
	SLA_C_DAYS, SLA_C_WARNING = SLA_C_DAYS + SLA_NSEV, SLA_C_RESPONSE,
	SLA_C_UPDATED
};

/* Fill p from a row of SLA_POLICY_COLS at column base (the defaults when
 * its updated_at is NULL: no policy stored). */
static void
policy_from_row(struct sla_policy *p, const struct db_res *res, size_t base)
{
	const char *s;
	size_t i;

	sla_defaults(p);
	if ((s = db_cell(res, 0, base + SLA_C_UPDATED)) == NULL)
		return;
	for (i = 0; i < SLA_NSEV; i++)
		p->days[i] = (int)db_cell_int(res, 0, base + SLA_C_DAYS + i);
	p->warning_days = (int)db_cell_int(res, 0, base + SLA_C_WARNING);
	response_read(p, db_cell(res, 0, base + SLA_C_RESPONSE));
	if (vtime_parse_sql(s, &p->updated_at) != 0)
		p->updated_at = 0;
}

int
sla_get(struct db *db, const char *tenant_id, struct sla_policy *out)
{
	struct db_res *res = NULL;
	int rc;

	sla_defaults(out);
	rc = db_exec(db, SQL_SLA_GET, (struct db_val[]){ DB_STR(tenant_id) },
	    1, &res);
	if (rc != 0)
		return rc;
	if (res->nrows == 1)
		policy_from_row(out, res, 0);
	db_res_free(res);
	return 0;
}

static int
sla_put_once(struct db *db, const char *tenant_id, struct sla_policy *p,
    const char *actor, time_t now)
{
	json_object *resp, *detail = NULL;
	char upd[VTIME_SQL_LEN];
	const char *text;
	size_t len;
	int rc;

	p->updated_at = now;
	vtime_sql(now, upd, sizeof(upd));
	resp = json_object_new_object();
	json_object_object_add(resp, "alerts",
	    targets_json(p->alert_ack, p->alert_resolve));
	json_object_object_add(resp, "cases",
	    targets_json(p->case_ack, p->case_resolve));
	text = vjson_str(resp, &len);
	/* The tenant's lock first, as every audited change takes it. */
	if ((rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0)
		goto out;
	rc = db_exec(db, SQL_SLA_UPSERT, (struct db_val[]){ DB_STR(tenant_id),
	    DB_INT(p->days[0]), DB_INT(p->days[1]), DB_INT(p->days[2]),
	    DB_INT(p->days[3]), DB_INT(p->days[4]), DB_INT(p->warning_days),
	    DB_STRN(text, len), DB_STR(upd) }, 9, NULL);
	if (rc != 0)
		goto out;
	detail = sla_to_json(p);
	rc = audit_append(db, tenant_id, actor, "sla.update", tenant_id,
	    detail);
out:
	json_object_put(detail);
	json_object_put(resp);
	return rc;
}

/* sla_put runs sla_put_once as the body of db_tx_run, which commits when
 * it returns 0 and rolls back on a DB_* code, and replays it whole after a
 * deadlock or a certification failure. */
struct sla_put_tx {
	const char *tenant_id;
	struct sla_policy *p;
	const char *actor;
	time_t now;
	int	 r;
};

static int
sla_put_tx(struct db *db, void *arg)
{
	struct sla_put_tx *t = arg;

	t->r = sla_put_once(db, t->tenant_id, t->p, t->actor, t->now);
	return t->r < 0 ? (int)t->r : 0;
}

int
sla_put(struct db *db, const char *tenant_id, struct sla_policy *p,
    const char *actor, time_t now)
{
	struct sla_put_tx t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.p = p;
	t.actor = actor;
	t.now = now;
	if ((rc = db_tx_run(db, sla_put_tx, &t)) != 0)
		return rc;
	return t.r;
}

/* A target of h hours from opened, met at done (0: not yet). */
static void
target(json_object *o, const char *by_key, const char *breach_key, int h,
    time_t opened, time_t done, time_t now)
{
	time_t by = h > 0 && opened > 0 ? opened + (time_t)h * 3600 : 0;

	json_object_object_add(o, by_key, time_json(by));
	json_object_object_add(o, breach_key, json_object_new_boolean(
	    by != 0 && (done != 0 ? done > by : now > by)));
}

json_object *
sla_targets_json(int ack_h, int res_h, time_t opened, time_t acked,
    time_t resolved, time_t now)
{
	json_object *o = json_object_new_object();

	target(o, "acknowledge_by", "acknowledge_breached", ack_h, opened,
	    acked, now);
	target(o, "resolve_by", "resolve_breached", res_h, opened, resolved,
	    now);
	json_object_object_add(o, "acknowledged_at", time_json(acked));
	json_object_object_add(o, "resolved_at", time_json(resolved));
	return o;
}

/* SQL_SLA_ALERT and SQL_SLA_CASE: the object's severity and times, then
 * SLA_POLICY_COLS (NULL without a stored policy). */
enum { OBJ_C_SEV, OBJ_C_OPENED, OBJ_C_ACKED, OBJ_C_RESOLVED, OBJ_C__N };

static time_t
cell_time(const struct db_res *res, size_t col)
{
	const char *s = db_cell(res, 0, col);
	time_t t;

	return s != NULL && vtime_parse_sql(s, &t) == 0 ? t : 0;
}

int
sla_object_targets(struct db *db, const char *tenant_id, const char *kind,
    const char *id, time_t now, json_object **out)
{
	struct sla_policy p;
	struct db_res *res = NULL;
	const char *sev;
	int alert = strcmp(kind, "alert") == 0, rc;
	size_t i;

	*out = NULL;
	rc = db_exec(db, alert ? SQL_SLA_ALERT : SQL_SLA_CASE,
	    (struct db_val[]){ DB_STR(tenant_id), DB_STR(id) }, 2, &res);
	if (rc != 0)
		return rc;
	if (res->nrows != 1) {
		db_res_free(res);
		return 0;
	}
	policy_from_row(&p, res, OBJ_C__N);
	sev = db_cell(res, 0, OBJ_C_SEV);
	for (i = 0; i < SLA_NSEV; i++)
		if (sev != NULL && strcmp(sev, sla_severities[i]) == 0)
			break;
	if (i == SLA_NSEV)
		*out = sla_targets_json(0, 0, 0, 0, 0, now);
	else
		*out = sla_targets_json(
		    alert ? p.alert_ack[i] : p.case_ack[i],
		    alert ? p.alert_resolve[i] : p.case_resolve[i],
		    cell_time(res, OBJ_C_OPENED), cell_time(res, OBJ_C_ACKED),
		    cell_time(res, OBJ_C_RESOLVED), now);
	db_res_free(res);
	return 1;
}

/* SQL_SLA_PENDING's columns, then SQL_SLA_FINDING_LOCK's. */
enum { PEND_C_TENANT, PEND_C_ID };
enum { LOCK_C_STATE, LOCK_C_SEV, LOCK_C_DUE, LOCK_C_WARNED,
    LOCK_C_BREACHED, LOCK_C_NEXT };

/* One finding of the job, in its own transaction: the tenant's lock
 * (events commit in seq order), the finding locked and judged again (a
 * writer may have moved it since the walk), then the event, its
 * sla_events row and what was announced. 1 warned, 2 breached, 0
 * nothing, or a DB_* code. */
static int
run_one_once(struct db *db, const char *tenant_id, const char *id, time_t now)
{
	struct db_res *res = NULL;
	struct finding_row *row = NULL;
	json_object *data, *fj;
	char nowsql[VTIME_SQL_LEN], duesql[VTIME_SQL_LEN];
	char evid[VIGIL_ID_LEN], nextsql[VTIME_SQL_LEN];
	const char *type, *due_s, *next_s;
	time_t due, next;
	int warned, breached, rc, kind = 0;

	vtime_sql(now, nowsql, sizeof(nowsql));
	if ((rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0)
		goto out;
	if ((rc = db_exec(db, SQL_SLA_FINDING_LOCK, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, &res)) != 0)
		goto out;
	due_s = res->nrows == 1 ? db_cell(res, 0, LOCK_C_DUE) : NULL;
	next_s = res->nrows == 1 ? db_cell(res, 0, LOCK_C_NEXT) : NULL;
	if (due_s == NULL || next_s == NULL ||
	    strcmp(db_cell(res, 0, LOCK_C_STATE), "open") != 0 ||
	    vtime_parse_sql(due_s, &due) != 0 ||
	    vtime_parse_sql(next_s, &next) != 0 || next > now) {
		/* Moved since the walk: nothing to announce now. */
		rc = 0;
		goto out;
	}
	warned = db_cell_int(res, 0, LOCK_C_WARNED) != 0;
	breached = db_cell_int(res, 0, LOCK_C_BREACHED) != 0;
	if (due <= now && !breached) {
		/* Past due: the breach; a warning not given by then is not
		 * given late. */
		type = "finding.sla_breached";
		warned = breached = 1;
		kind = 2;
		nextsql[0] = '\0';
	} else if (!warned) {
		type = "finding.sla_warning";
		warned = 1;
		kind = 1;
		vtime_sql(due, nextsql, sizeof(nextsql));
	} else {
		/* Both given already (or a warning with no breach due yet):
		 * wait for the due date. */
		type = NULL;
		if (!breached)
			vtime_sql(due, nextsql, sizeof(nextsql));
		else
			nextsql[0] = '\0';
	}
	rc = db_exec(db, SQL_SLA_FINDING_MARK, (struct db_val[]){
	    DB_INT(warned), DB_INT(breached),
	    nextsql[0] ? DB_STR(nextsql) : DB_NUL, DB_STR(tenant_id),
	    DB_STR(id) }, 5, NULL);
	if (rc != 0 || type == NULL)
		goto out;
	if ((rc = findings_load(db, tenant_id, id, 0, &row)) < 0)
		goto out;
	if (rc == 0) {
		rc = DB_ERR;
		goto out;
	}
	vtime_sql(due, duesql, sizeof(duesql));
	fj = findings_to_json(row, 0);
	json_object_object_add(fj, "due_at", time_json(due));
	data = json_object_new_object();
	json_object_object_add(data, "finding", fj);
	json_object_object_add(data, "due_at", time_json(due));
	/* Whole days, truncated toward zero: 4 for 4 days and 23 hours,
	 * 0 for an hour late. */
	json_object_object_add(data, "days_left", json_object_new_int64(
	    (long long)(due - now) / 86400));
	if (events_id_new(evid, sizeof(evid)) != 0) {
		json_object_put(data);
		rc = DB_ERR;
		goto out;
	}
	if ((rc = events_append(db, tenant_id, type, now, data, evid)) != 0)
		goto out;
	rc = db_exec(db, SQL_SLA_EVENT_INSERT, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(evid), DB_STR(type), DB_STR(id),
	    DB_STR(db_cell(res, 0, LOCK_C_SEV)), DB_STR(duesql),
	    DB_STR(nowsql) }, 7, NULL);
	if (rc == 0)
		rc = kind;
out:
	findings_row_free(row);
	db_res_free(res);
	return rc;
}

/* run_one runs run_one_once as the body of db_tx_run, which commits unless
 * it returns a DB_* code (then rolled back), and replays it whole after a
 * deadlock or a certification failure. 1 warned, 2 breached, 0 nothing,
 * as run_one_once. */
struct run_one_tx {
	const char *tenant_id;
	const char *id;
	time_t now;
	int	 r;
};

static int
run_one_tx(struct db *db, void *arg)
{
	struct run_one_tx *t = arg;

	t->r = run_one_once(db, t->tenant_id, t->id, t->now);
	return t->r < 0 ? (int)t->r : 0;
}

static int
run_one(struct db *db, const char *tenant_id, const char *id, time_t now)
{
	struct run_one_tx t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.id = id;
	t.now = now;
	if ((rc = db_tx_run(db, run_one_tx, &t)) != 0)
		return rc;
	return t.r;
}

long
sla_run_due(struct db *db, time_t now, long *warned, long *breached)
{
	struct db_res *ids = NULL;
	char nowsql[VTIME_SQL_LEN];
	size_t i;
	int rc;

	*warned = *breached = 0;
	vtime_sql(now, nowsql, sizeof(nowsql));
	rc = db_exec(db, SQL_SLA_PENDING, (struct db_val[]){ DB_STR(nowsql),
	    DB_INT(SLA_RUN_MAX) }, 2, &ids);
	if (rc != 0)
		return rc;
	for (i = 0; i < ids->nrows; i++) {
		rc = run_one(db, db_cell(ids, i, PEND_C_TENANT),
		    db_cell(ids, i, PEND_C_ID), now);
		if (rc == 1)
			(*warned)++;
		else if (rc == 2)
			(*breached)++;
		else if (rc == DB_DOWN) {
			db_res_free(ids);
			return rc;
		} else if (rc < 0)
			/* This finding's turn comes again next run. */
			log_err("sla: finding %s of %s: %s",
			    db_cell(ids, i, PEND_C_ID),
			    db_cell(ids, i, PEND_C_TENANT), db_error(db));
	}
	db_res_free(ids);
	return *warned + *breached;
}

/* SQL_SLA_EVENT_LIST's columns. */
enum { EV_C_SEQ, EV_C_ID, EV_C_TYPE, EV_C_FINDING, EV_C_SEV, EV_C_DUE,
    EV_C_AT };

int
sla_events_list(struct db *db, const char *tenant_id, long long before,
    long limit, json_object **events, long long *total, int *has_more,
    long long *last_seq)
{
	struct db_res *res = NULL, *cnt = NULL;
	size_t i, n;
	int rc;

	*events = NULL;
	*total = 0;
	*has_more = 0;
	*last_seq = 0;
	if ((rc = db_exec(db, SQL_SLA_EVENT_COUNT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, &cnt)) != 0)
		goto out;
	*total = db_cell_int(cnt, 0, 0);
	*events = json_object_new_array();
	if (*total == 0)
		goto out;
	if ((rc = db_exec(db, SQL_SLA_EVENT_LIST, (struct db_val[]){
	    DB_STR(tenant_id), DB_INT(before), DB_INT(limit + 1) }, 3,
	    &res)) != 0)
		goto out;
	*has_more = res->nrows > (size_t)limit;
	n = *has_more ? (size_t)limit : res->nrows;
	for (i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "event_id",
		    json_object_new_string(db_cell(res, i, EV_C_ID)));
		json_object_object_add(o, "event_type",
		    json_object_new_string(db_cell(res, i, EV_C_TYPE)));
		json_object_object_add(o, "finding_id",
		    json_object_new_string(db_cell(res, i, EV_C_FINDING)));
		json_object_object_add(o, "severity",
		    json_object_new_string(db_cell(res, i, EV_C_SEV)));
		json_object_object_add(o, "due_at",
		    vtime_sql_json(db_cell(res, i, EV_C_DUE)));
		json_object_object_add(o, "at",
		    vtime_sql_json(db_cell(res, i, EV_C_AT)));
		json_object_array_add(*events, o);
		*last_seq = db_cell_int(res, i, EV_C_SEQ);
	}
out:
	db_res_free(res);
	db_res_free(cnt);
	if (rc != 0) {
		json_object_put(*events);
		*events = NULL;
	}
	return rc;
}
