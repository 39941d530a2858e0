/* alerts.c: alerts in the database (alerts.h): validating what a sender
 * posts, and ingesting it idempotently with its observables, history,
 * audit entry and events in one transaction. */
#include "vigil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "audit.h"
#include "db.h"
#include "events.h"
#include "id.h"
#include "log.h"
#include "observable.h"
#include "vjson.h"
#include "vtime.h"

static const char *const severities[] = { "critical", "high", "medium",
    "low", "info" };

int
alerts_severity_valid(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < NELEM(severities); i++)
		if (strcmp(s, severities[i]) == 0)
			return 1;
	return 0;
}

int
alerts_source_valid(const char *s)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > ALERTS_SOURCE_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return 0;
	}
	return 1;
}

static void
fail(struct vjson_err *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

void
alerts_in_free(struct alert_in *in)
{
	if (in == NULL)
		return;
	free(in->asset);
	free(in->raw);
	free(in->obs);
	memset(in, 0, sizeof(*in));
}

/* A copy of s[0..len) with its NUL; NULL when out of memory. */
static char *
dupn(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/* raw: the sender's value serialised as parsed (json-c keeps members in
 * order and numbers as written); past the cap, a JSON string of its
 * first ALERTS_RAW_MAX bytes, cut on a character boundary. */
static int
parse_raw(json_object *v, struct alert_in *in)
{
	json_object *cut;
	const char *s;
	size_t len;

	s = vjson_str(v, &len);
	if (s == NULL)
		return -1;
	if (len <= ALERTS_RAW_MAX) {
		in->raw = dupn(s, len);
		in->raw_len = len;
		return in->raw != NULL ? 0 : -1;
	}
	len = ALERTS_RAW_MAX;
	/* Back to the start of a UTF-8 sequence (a continuation byte is
	 * 10xxxxxx), so that the cut text stays valid. */
	while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
		len--;
	cut = json_object_new_string_len(s, (int)len);
	if (cut == NULL)
		return -1;
	s = vjson_str(cut, &len);
	in->raw = s != NULL ? dupn(s, len) : NULL;
	in->raw_len = len;
	in->raw_truncated = 1;
	json_object_put(cut);
	return in->raw != NULL ? 0 : -1;
}

static int
parse_observables(json_object *arr, struct alert_in *in,
    struct vjson_err *err)
{
	static const char *const okeys[] = { "type", "value", NULL };
	struct vjson_err e;
	char field[192];
	size_t i, j, n;

	if (!json_object_is_type(arr, json_type_array)) {
		fail(err, "observables", "observables must be an array of "
		    "{type, value} objects.");
		return -1;
	}
	n = json_object_array_length(arr);
	if (n > ALERTS_OBS_MAX) {
		fail(err, "observables", "An alert carries at most %d "
		    "observables.", ALERTS_OBS_MAX);
		return -1;
	}
	if (n == 0)
		return 0;
	if ((in->obs = calloc(n, sizeof(*in->obs))) == NULL) {
		fail(err, "observables", "Out of memory.");
		return -1;
	}
	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		struct alert_obs *ob = &in->obs[in->nobs];
		enum observable_err oe;
		const char *type, *value;
		int rc;

		if (!json_object_is_type(o, json_type_object)) {
			snprintf(field, sizeof(field), "observables[%zu]", i);
			fail(err, field, "%s must be a {type, value} object.",
			    field);
			return -1;
		}
		if (vjson_only_keys(o, okeys, &e) != 0) {
			snprintf(field, sizeof(field), "observables[%zu].%s", i,
			    e.field);
			fail(err, field, "Unknown field %s.", field);
			return -1;
		}
		snprintf(field, sizeof(field), "observables[%zu].type", i);
		rc = vjson_get_string(o, "type", 1, 1, 16, &type, &e);
		if (rc < 0 || !observable_type_parse(type, &ob->type)) {
			fail(err, field, "%s must be one of ip, domain, url, "
			    "hash, email, hostname, user, file.", field);
			return -1;
		}
		snprintf(field, sizeof(field), "observables[%zu].value", i);
		/* The value's own text checks (UTF-8, control characters,
		 * length) are observable_normalise's. */
		json_object_object_get_ex(o, "value", &o);
		if (o == NULL || !json_object_is_type(o, json_type_string)) {
			fail(err, field, "%s must be a string.", field);
			return -1;
		}
		value = json_object_get_string(o);
		oe = observable_normalise(ob->type, value,
		    (size_t)json_object_get_string_len(o), ob->value,
		    sizeof(ob->value), &ob->len);
		if (oe != OBSERVABLE_OK) {
			fail(err, field, "%s %s.", field,
			    observable_err_text(oe));
			return -1;
		}
		observable_value_hash(ob->value, ob->len, ob->hash);
		/* The same value twice in one alert is one observable. */
		for (j = 0; j < in->nobs; j++)
			if (in->obs[j].type == ob->type &&
			    strcmp(in->obs[j].hash, ob->hash) == 0)
				break;
		if (j == in->nobs)
			in->nobs++;
	}
	return 0;
}

int
alerts_parse(json_object *obj, time_t now, struct alert_in *in,
    struct vjson_err *err)
{
	static const char *const keys[] = { "source", "external_id",
	    "severity", "title", "detected_at", "asset", "observables", "raw",
	    NULL };
	json_object *v;
	const char *s, *ts;
	size_t len;

	memset(in, 0, sizeof(*in));
	if (!json_object_is_type(obj, json_type_object)) {
		fail(err, "body", "An alert must be a JSON object.");
		return -1;
	}
	if (vjson_only_keys(obj, keys, err) != 0)
		return -1;
	if (vjson_get_string(obj, "source", 1, 1, ALERTS_SOURCE_MAX,
	    &in->source, err) < 0)
		return -1;
	if (!alerts_source_valid(in->source)) {
		fail(err, "source", "source must be 1 to %d letters, digits, "
		    "'.', '_' or '-'.", ALERTS_SOURCE_MAX);
		return -1;
	}
	if (vjson_get_string(obj, "external_id", 1, 1,
	    ALERTS_EXTERNAL_ID_MAX, &in->external_id, err) < 0 ||
	    vjson_get_string(obj, "severity", 1, 1, 16, &in->severity,
	    err) < 0)
		goto bad;
	if (!alerts_severity_valid(in->severity)) {
		fail(err, "severity", "severity must be one of critical, high, "
		    "medium, low, info.");
		goto bad;
	}
	if (vjson_get_string(obj, "title", 1, 1, ALERTS_TITLE_MAX,
	    &in->title, err) < 0 ||
	    vjson_get_string(obj, "detected_at", 1, 1, 64, &ts, err) < 0)
		goto bad;
	if (vtime_parse_rfc3339(ts, &in->detected_at) != 0 ||
	    in->detected_at < 0) {
		fail(err, "detected_at", "detected_at must be an RFC 3339 "
		    "timestamp (2026-06-02T09:14:00Z).");
		goto bad;
	}
	if (in->detected_at > now + ALERTS_FUTURE_SLACK) {
		fail(err, "detected_at", "detected_at is more than an hour "
		    "ahead of the server's clock.");
		goto bad;
	}
	/* asset: an object of the sender's own members, kept as sent. */
	if (json_object_object_get_ex(obj, "asset", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_object)) {
			fail(err, "asset", "asset must be an object "
			    "({\"hostname\":…, \"owner\":…}).");
			goto bad;
		}
		s = vjson_str(v, &len);
		if (s == NULL || len > ALERTS_ASSET_MAX) {
			fail(err, "asset", "asset must be at most %d bytes "
			    "of JSON.", ALERTS_ASSET_MAX);
			goto bad;
		}
		in->asset = dupn(s, len);
	} else
		in->asset = dupn("{}", 2);
	if (in->asset == NULL) {
		fail(err, "body", "Out of memory.");
		goto bad;
	}
	if (json_object_object_get_ex(obj, "observables", &v) && v != NULL &&
	    parse_observables(v, in, err) != 0)
		goto bad;
	/* raw: whatever JSON the sender's tool produced; null is none. */
	if (json_object_object_get_ex(obj, "raw", &v) && v != NULL &&
	    parse_raw(v, in) != 0) {
		fail(err, "raw", "raw could not be kept.");
		goto bad;
	}
	return 0;
bad:
	alerts_in_free(in);
	return -1;
}

/* ---- ingest ------------------------------------------------------------- */

/* An alert of the call, as the transaction decides it. */
struct slot {
	const struct alert_in *in;
	struct alert_result *out;
	long long	 seq;        /* the alert's seq (new or existing) */
	int		 first;      /* the first of its (source, external_id)
	                              * in this call */
	int		 created;    /* inserted by this call */
	unsigned	 occur;      /* how many of the call are it (first) */
	struct slot	*same;       /* the first slot of its pair */
};

/* SQL_ALERT_FIND_64's and SQL_ALERT_BY_SEQ's columns (ALERT_FIND_COLS). */
enum { FIND_C_SEQ, FIND_C_ID, FIND_C_SOURCE, FIND_C_EXTERNAL, FIND_C_STATUS };
/* SQL_OBS_SEQS_64's and SQL_ALERT_SUPPRESSED_64's first columns. */
enum { OSEQ_C_SEQ, OSEQ_C_TYPE, OSEQ_C_HASH };
enum { SUP_C_TYPE, SUP_C_HASH, SUP_C_SCOPE };

static const char *
status_static(const char *s)
{
	static const char *const st[] = { "triage", "escalated", "dismissed",
	    "suppressed" };
	size_t i;

	for (i = 0; s != NULL && i < NELEM(st); i++)
		if (strcmp(s, st[i]) == 0)
			return st[i];
	return "triage";
}

/* A distinct (type, hash) of the call, with its seq once known. */
struct pair {
	enum observable_type type;
	const struct alert_obs *ob;
	long long	 seq;
	int		 suppressed_global;
	/* the sources it is suppressed for, as one text "a\nb\n" */
	char		*sources;
};

static int
pair_find(const struct pair *p, size_t n, enum observable_type t,
    const char *hash)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i].type == t && strcmp(p[i].ob->hash, hash) == 0)
			return (int)i;
	return -1;
}

/* The parameters of an OR list of 64 (type = ? AND value_hash = ?)
 * pairs from p[from..], the last repeated to fill it. */
#define PAIRS_IN 64
static void
pairs_params(struct db_val *v, const struct pair *p, size_t from,
    size_t n)
{
	size_t i, k;

	for (i = 0; i < PAIRS_IN; i++) {
		k = from + i < n ? from + i : n - 1;
		v[2 * i] = DB_STR(observable_type_name(p[k].type));
		v[2 * i + 1] = DB_STR(p[k].ob->hash);
	}
}

/* Which pairs are under an unexpired suppression, and for what scope. */
static int
read_suppressions(struct db *db, const char *tenant_id, const char *nowsql,
    struct pair *p, size_t np)
{
	struct db_val v[2 + 2 * PAIRS_IN];
	struct db_res *res = NULL;
	size_t from, i;
	enum observable_type t;
	int rc, k;

	if (np == 0)
		return 0;
	/* Most tenants have none: one cheap look before the lists. */
	if (np > PAIRS_IN) {
		if ((rc = db_exec(db, SQL_ALERT_ANY_SUPPRESSION,
		    (struct db_val[]){ DB_STR(tenant_id), DB_STR(nowsql) }, 2,
		    &res)) != 0)
			return rc;
		i = res->nrows;
		db_res_free(res);
		res = NULL;
		if (i == 0)
			return 0;
	}
	v[0] = DB_STR(tenant_id);
	v[1] = DB_STR(nowsql);
	for (from = 0; from < np; from += PAIRS_IN) {
		pairs_params(v + 2, p, from, np);
		if ((rc = db_exec(db, SQL_ALERT_SUPPRESSED_64, v, NELEM(v),
		    &res)) != 0)
			return rc;
		for (i = 0; i < res->nrows; i++) {
			const char *scope = db_cell(res, i, SUP_C_SCOPE);
			char *ns;
			size_t have, add;

			if (!observable_type_parse(db_cell(res, i, SUP_C_TYPE),
			    &t) || scope == NULL ||
			    (k = pair_find(p, np, t, db_cell(res, i,
			    SUP_C_HASH))) < 0)
				continue;
			if (strcmp(scope, "global") == 0) {
				p[k].suppressed_global = 1;
				continue;
			}
			if (strncmp(scope, "source:", 7) != 0)
				continue;
			have = p[k].sources ? strlen(p[k].sources) : 0;
			add = strlen(scope + 7);
			if ((ns = realloc(p[k].sources, have + add + 2)) ==
			    NULL) {
				db_res_free(res);
				return DB_ERR;
			}
			memcpy(ns + have, scope + 7, add);
			ns[have + add] = '\n';
			ns[have + add + 1] = '\0';
			p[k].sources = ns;
		}
		db_res_free(res);
		res = NULL;
	}
	return 0;
}

/* 1 if pair p is suppressed for source. */
static int
pair_suppressed(const struct pair *p, const char *source)
{
	const char *s = p->sources;
	size_t n = strlen(source);

	if (p->suppressed_global)
		return 1;
	while (s != NULL && *s != '\0') {
		const char *e = strchr(s, '\n');

		if ((size_t)(e - s) == n && strncmp(s, source, n) == 0)
			return 1;
		s = e + 1;
	}
	return 0;
}

/* An alert in the list shape, from what ingest knows of it: for the
 * alert.created event. A new object the caller puts. */
static json_object *
ingest_json(const struct slot *s, const char *nowts, const char *tenant_id)
{
	const struct alert_in *in = s->in;
	json_object *o = json_object_new_object(), *obs, *asset;
	char det[VTIME_RFC3339_LEN];
	size_t i;

	(void)tenant_id;
	vtime_rfc3339(in->detected_at, det, sizeof(det));
	json_object_object_add(o, "id", json_object_new_string(s->out->id));
	json_object_object_add(o, "source", json_object_new_string(in->source));
	json_object_object_add(o, "external_id",
	    json_object_new_string(in->external_id));
	json_object_object_add(o, "severity",
	    json_object_new_string(in->severity));
	json_object_object_add(o, "title", json_object_new_string(in->title));
	json_object_object_add(o, "status",
	    json_object_new_string(s->out->status));
	json_object_object_add(o, "detected_at", json_object_new_string(det));
	json_object_object_add(o, "ingested_at",
	    json_object_new_string(nowts));
	json_object_object_add(o, "last_seen_at",
	    json_object_new_string(nowts));
	json_object_object_add(o, "updated_at", json_object_new_string(nowts));
	json_object_object_add(o, "occurrences",
	    json_object_new_int((int)s->occur));
	asset = json_tokener_parse(in->asset);
	json_object_object_add(o, "asset", asset ? asset :
	    json_object_new_object());
	json_object_object_add(o, "assignee", NULL);
	json_object_object_add(o, "tags", json_object_new_array());
	json_object_object_add(o, "case_id", NULL);
	obs = json_object_new_array();
	for (i = 0; i < in->nobs; i++) {
		json_object *one = json_object_new_object();

		json_object_object_add(one, "type", json_object_new_string(
		    observable_type_name(in->obs[i].type)));
		json_object_object_add(one, "value",
		    json_object_new_string_len(in->obs[i].value,
		    (int)in->obs[i].len));
		json_object_array_add(obs, one);
	}
	json_object_object_add(o, "observables", obs);
	return o;
}

/* The columns of SQL_ALERT_UPSERT_* and SQL_ALERT_INSERT_ONE. */
#define ALERT_NCOLS 15

static void
alert_row(struct db_val *r, const char *tenant_id, const struct slot *s,
    const char *detsql, const char *nowsql)
{
	const struct alert_in *in = s->in;

	r[0] = DB_STR(tenant_id);
	r[1] = DB_STR(s->out->id);
	r[2] = DB_STR(in->source);
	r[3] = DB_STR(in->external_id);
	r[4] = DB_STR(in->severity);
	r[5] = DB_STR(in->title);
	r[6] = DB_STR(s->out->status);
	r[7] = DB_STR(detsql);
	r[8] = DB_STR(nowsql);
	r[9] = DB_STR(nowsql);
	r[10] = DB_STR(nowsql);
	r[11] = DB_INT(s->occur);
	r[12] = DB_STR(in->asset);
	r[13] = in->raw ? DB_STRN(in->raw, in->raw_len) : DB_STR("");
	r[14] = DB_INT(in->raw_truncated);
}

/* The single-alert path: one upsert that says whether it inserted, and
 * hands back the seq either way (LAST_INSERT_ID). */
static int
upsert_one(struct db *db, const char *tenant_id, struct slot *s,
    const char *nowsql)
{
	struct db_val r[ALERT_NCOLS];
	struct db_res *res = NULL;
	char det[VTIME_SQL_LEN];
	int rc;

	vtime_sql(s->in->detected_at, det, sizeof(det));
	alert_row(r, tenant_id, s, det, nowsql);
	if ((rc = db_exec(db, SQL_ALERT_INSERT_ONE, r, ALERT_NCOLS,
	    &res)) != 0)
		return rc;
	s->seq = (long long)res->insert_id;
	/* 1: inserted; 2: the existing row updated. */
	s->created = res->affected == 1;
	db_res_free(res);
	if (s->created)
		return 0;
	if ((rc = db_exec(db, SQL_ALERT_BY_SEQ, (struct db_val[]){
	    DB_STR(tenant_id), DB_INT(s->seq) }, 2, &res)) != 0)
		return rc;
	if (res->nrows == 1) {
		snprintf(s->out->id, sizeof(s->out->id), "%s",
		    db_cell(res, 0, FIND_C_ID));
		s->out->status = status_static(db_cell(res, 0,
		    FIND_C_STATUS));
	} else
		rc = DB_RETRY;  /* cannot be under the lock; try again */
	db_res_free(res);
	return rc;
}

/* The batch path: the pairs that exist (read under the tenant's lock,
 * which every ingest holds, so none appears meanwhile), then one
 * multi-row upsert, then the new alerts' seqs. */
static int
upsert_many(struct db *db, const char *tenant_id, struct slot *sl,
    size_t n, const char *nowsql)
{
	struct db_val v[1 + 2 * PAIRS_IN], *rows = NULL;
	struct db_res *res = NULL;
	char (*det)[VTIME_SQL_LEN] = NULL;
	size_t i, j, k, from, nfirst = 0, nnew;
	int rc = DB_ERR;

	if ((rows = calloc(n * ALERT_NCOLS, sizeof(*rows))) == NULL ||
	    (det = calloc(n, sizeof(*det))) == NULL)
		goto out;
	/* The firsts of each pair, in order: sl[i].same set for repeats. */
	v[0] = DB_STR(tenant_id);
	for (from = 0; from < n; from += PAIRS_IN) {
		for (i = 0; i < PAIRS_IN; i++) {
			k = from + i < n ? from + i : n - 1;
			v[1 + 2 * i] = DB_STR(sl[k].in->source);
			v[2 + 2 * i] = DB_STR(sl[k].in->external_id);
		}
		if ((rc = db_exec(db, SQL_ALERT_FIND_64, v, NELEM(v),
		    &res)) != 0)
			goto out;
		for (j = 0; j < res->nrows; j++)
			for (i = from; i < n && i < from + PAIRS_IN; i++)
				if (sl[i].first && strcmp(sl[i].in->source,
				    db_cell(res, j, FIND_C_SOURCE)) == 0 &&
				    strcmp(sl[i].in->external_id, db_cell(res,
				    j, FIND_C_EXTERNAL)) == 0) {
					sl[i].seq = db_cell_int(res, j,
					    FIND_C_SEQ);
					snprintf(sl[i].out->id,
					    sizeof(sl[i].out->id), "%s",
					    db_cell(res, j, FIND_C_ID));
					sl[i].out->status = status_static(
					    db_cell(res, j, FIND_C_STATUS));
				}
		db_res_free(res);
		res = NULL;
	}
	for (i = 0; i < n; i++) {
		if (!sl[i].first)
			continue;
		sl[i].created = sl[i].seq == 0;
		vtime_sql(sl[i].in->detected_at, det[i], sizeof(det[i]));
		alert_row(rows + nfirst * ALERT_NCOLS, tenant_id, &sl[i],
		    det[i], nowsql);
		nfirst++;
	}
	if ((rc = db_exec_rows(db, SQL_ALERT_UPSERT_64, rows, ALERT_NCOLS,
	    nfirst)) != 0)
		goto out;
	/* The new ones' seqs, by id. */
	for (i = 0, nnew = 0; i < n; i++)
		if (sl[i].first && sl[i].created)
			nnew++;
	from = 0;
	while (nnew > 0) {
		size_t got = 0;
		struct slot *last = NULL;

		for (i = from; i < n && got < PAIRS_IN; i++)
			if (sl[i].first && sl[i].created) {
				v[1 + got++] = DB_STR(sl[i].out->id);
				last = &sl[i];
			}
		from = i;
		nnew -= got;
		for (k = got; k < PAIRS_IN; k++)
			v[1 + k] = DB_STR(last->out->id);
		if ((rc = db_exec(db, SQL_ALERT_SEQS_64, v, 1 + PAIRS_IN,
		    &res)) != 0)
			goto out;
		for (j = 0; j < res->nrows; j++)
			for (i = 0; i < n; i++)
				if (sl[i].created && strcmp(sl[i].out->id,
				    db_cell(res, j, 0)) == 0)
					sl[i].seq = db_cell_int(res, j, 1);
		db_res_free(res);
		res = NULL;
	}
	rc = 0;
	for (i = 0; i < n; i++)
		if (sl[i].first && sl[i].seq == 0)
			rc = DB_RETRY;  /* cannot be under the lock */
out:
	db_res_free(res);
	free(det);
	free(rows);
	return rc;
}

/* The columns of SQL_OBS_UPSERT_*, SQL_ALERT_LINK_* and
 * SQL_ALERT_HISTORY_*. */
#define OBS_NCOLS 7
#define LINK_NCOLS 3
#define HIST_NCOLS 6
#define EVENT_NCOLS 5

/* Upsert the observables of the new alerts and link them. */
static int
write_observables(struct db *db, const char *tenant_id, struct slot *sl,
    size_t n, struct pair *p, size_t np, const char *nowsql)
{
	struct db_val *rows = NULL, v[2 + 2 * PAIRS_IN];
	struct db_res *res = NULL;
	char (*ids)[VIGIL_ID_LEN] = NULL;
	size_t i, j, nused = 0, nlinks = 0, from;
	enum observable_type t;
	int rc = DB_ERR, k;
	struct pair *used = NULL;

	/* Only the pairs new alerts carry. */
	if ((used = calloc(np ? np : 1, sizeof(*used))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (!sl[i].created)
			continue;
		for (j = 0; j < sl[i].in->nobs; j++) {
			const struct alert_obs *ob = &sl[i].in->obs[j];

			if (pair_find(used, nused, ob->type, ob->hash) < 0) {
				used[nused].type = ob->type;
				used[nused].ob = ob;
				nused++;
			}
			nlinks++;
		}
	}
	(void)p;
	(void)np;
	if (nused == 0) {
		rc = 0;
		goto out;
	}
	if ((rows = calloc((nused > nlinks ? nused : nlinks) * OBS_NCOLS,
	    sizeof(*rows))) == NULL ||
	    (ids = calloc(nused, sizeof(*ids))) == NULL)
		goto out;
	for (i = 0; i < nused; i++) {
		struct db_val *r = rows + i * OBS_NCOLS;

		if (id_new("obs", ids[i], sizeof(ids[i])) != 0)
			goto out;
		r[0] = DB_STR(tenant_id);
		r[1] = DB_STR(ids[i]);
		r[2] = DB_STR(observable_type_name(used[i].type));
		r[3] = DB_STRN(used[i].ob->value, used[i].ob->len);
		r[4] = DB_STR(used[i].ob->hash);
		r[5] = DB_STR(nowsql);
		r[6] = DB_STR(nowsql);
	}
	if ((rc = db_exec_rows(db, SQL_OBS_UPSERT_64, rows, OBS_NCOLS,
	    nused)) != 0)
		goto out;
	/* One new alert: link in one INSERT … SELECT. */
	if (n == 1) {
		v[0] = DB_INT(sl[0].seq);
		v[1] = DB_STR(tenant_id);
		pairs_params(v + 2, used, 0, nused);
		rc = db_exec(db, SQL_ALERT_LINK_ONE, v, 2 + 2 * PAIRS_IN,
		    NULL);
		goto out;
	}
	/* Several: the observables' seqs, then the links. */
	v[0] = DB_STR(tenant_id);
	for (from = 0; from < nused; from += PAIRS_IN) {
		pairs_params(v + 1, used, from, nused);
		if ((rc = db_exec(db, SQL_OBS_SEQS_64, v, 1 + 2 * PAIRS_IN,
		    &res)) != 0)
			goto out;
		for (j = 0; j < res->nrows; j++)
			if (observable_type_parse(db_cell(res, j, OSEQ_C_TYPE),
			    &t) && (k = pair_find(used, nused, t,
			    db_cell(res, j, OSEQ_C_HASH))) >= 0)
				used[k].seq = db_cell_int(res, j, OSEQ_C_SEQ);
		db_res_free(res);
		res = NULL;
	}
	nlinks = 0;
	for (i = 0; i < n; i++) {
		if (!sl[i].created)
			continue;
		for (j = 0; j < sl[i].in->nobs; j++) {
			struct db_val *r = rows + nlinks * LINK_NCOLS;
			const struct alert_obs *ob = &sl[i].in->obs[j];

			k = pair_find(used, nused, ob->type, ob->hash);
			r[0] = DB_STR(tenant_id);
			r[1] = DB_INT(used[k].seq);
			r[2] = DB_INT(sl[i].seq);
			nlinks++;
		}
	}
	rc = db_exec_rows(db, SQL_ALERT_LINK_64, rows, LINK_NCOLS, nlinks);
out:
	db_res_free(res);
	free(ids);
	free(rows);
	free(used);
	return rc;
}

/* History, events and the audit entry of the call. */
static int
write_records(struct db *db, const char *tenant_id, const char *actor,
    struct slot *sl, size_t n, int batch, time_t now, const char *nowsql,
    struct audit_head *head)
{
	struct db_val *rows = NULL;
	char **fields = NULL, **payloads = NULL;
	char (*evids)[VIGIL_ID_LEN] = NULL, nowts[VTIME_RFC3339_LEN];
	size_t i, nh = 0, ne = 0, len, ncreated = 0, ndedup = 0;
	json_object *detail = NULL, *created, *dedup;
	int rc = DB_ERR;

	vtime_rfc3339(now, nowts, sizeof(nowts));
	if ((rows = calloc(n * (HIST_NCOLS > EVENT_NCOLS ? HIST_NCOLS :
	    EVENT_NCOLS), sizeof(*rows))) == NULL ||
	    (fields = calloc(n, sizeof(*fields))) == NULL ||
	    (payloads = calloc(n, sizeof(*payloads))) == NULL ||
	    (evids = calloc(n, sizeof(*evids))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		struct db_val *r = rows + nh * HIST_NCOLS;
		json_object *f;
		const char *s;

		if (!sl[i].created)
			continue;
		f = json_object_new_object();
		json_object_object_add(f, "source",
		    json_object_new_string(sl[i].in->source));
		json_object_object_add(f, "external_id",
		    json_object_new_string(sl[i].in->external_id));
		json_object_object_add(f, "severity",
		    json_object_new_string(sl[i].in->severity));
		json_object_object_add(f, "status",
		    json_object_new_string(sl[i].out->status));
		s = vjson_str(f, &len);
		fields[i] = s ? dupn(s, len) : NULL;
		json_object_put(f);
		if (fields[i] == NULL)
			goto out;
		r[0] = DB_STR(tenant_id);
		r[1] = DB_STR(sl[i].out->id);
		r[2] = DB_STR("created");
		r[3] = DB_STR(nowsql);
		r[4] = DB_STR(actor);
		r[5] = DB_STR(fields[i]);
		nh++;
	}
	if ((rc = db_exec_rows(db, SQL_ALERT_HISTORY_64, rows, HIST_NCOLS,
	    nh)) != 0)
		goto out;
	rc = DB_ERR;
	for (i = 0; i < n; i++) {
		struct db_val *r = rows + ne * EVENT_NCOLS;
		json_object *data;

		if (!sl[i].created || sl[i].out->suppressed)
			continue;
		data = json_object_new_object();
		json_object_object_add(data, "alert",
		    ingest_json(&sl[i], nowts, tenant_id));
		if (events_id_new(evids[i], sizeof(evids[i])) != 0 ||
		    events_payload(tenant_id, "alert.created", now, data,
		    evids[i], &payloads[i], &len) != 0)
			goto out;
		r[0] = DB_STR(evids[i]);
		r[1] = DB_STR(tenant_id);
		r[2] = DB_STR("alert.created");
		r[3] = DB_STR(nowsql);
		r[4] = DB_STRN(payloads[i], len);
		ne++;
	}
	if ((rc = db_exec_rows(db, SQL_EVENT_INSERT_64, rows, EVENT_NCOLS,
	    ne)) != 0)
		goto out;
	/* One audit entry per call, not per alert: a forwarder's thousand
	 * alerts a second would otherwise be a thousand chained entries,
	 * each a round trip under the tenant's lock. The batch's names
	 * every alert it created or deduplicated. */
	detail = json_object_new_object();
	if (!batch) {
		json_object_object_add(detail, "source",
		    json_object_new_string(sl[0].in->source));
		json_object_object_add(detail, "external_id",
		    json_object_new_string(sl[0].in->external_id));
		json_object_object_add(detail, "deduplicated",
		    json_object_new_boolean(sl[0].out->deduplicated));
		json_object_object_add(detail, "status",
		    json_object_new_string(sl[0].out->status));
		rc = audit_append_head(db, tenant_id, head, actor,
		    "alert.ingest", sl[0].out->id, detail);
		goto out;
	}
	created = json_object_new_array();
	dedup = json_object_new_array();
	for (i = 0; i < n; i++) {
		if (sl[i].created) {
			json_object_array_add(created,
			    json_object_new_string(sl[i].out->id));
			ncreated++;
		} else if (sl[i].first) {
			json_object_array_add(dedup,
			    json_object_new_string(sl[i].out->id));
			ndedup++;
		}
	}
	json_object_object_add(detail, "alerts", json_object_new_int64(
	    (int64_t)n));
	json_object_object_add(detail, "created", created);
	json_object_object_add(detail, "deduplicated", dedup);
	rc = audit_append_head(db, tenant_id, head, actor,
	    "alert.ingest_batch", "alerts", detail);
out:
	json_object_put(detail);
	for (i = 0; fields != NULL && i < n; i++)
		free(fields[i]);
	for (i = 0; payloads != NULL && i < n; i++)
		free(payloads[i]);
	free(fields);
	free(payloads);
	free(evids);
	free(rows);
	return rc;
}

static int
ingest_once(struct db *db, const char *tenant_id, const char *actor,
    const struct alert_in *in, size_t n, int batch, time_t now,
    struct alert_result *out)
{
	struct slot *sl = NULL;
	struct pair *p = NULL;
	struct audit_head head;
	char nowsql[VTIME_SQL_LEN];
	size_t i, j, np = 0, ntot = 0;
	int rc = DB_ERR, k;

	vtime_sql(now, nowsql, sizeof(nowsql));
	for (i = 0; i < n; i++)
		ntot += in[i].nobs;
	if ((sl = calloc(n, sizeof(*sl))) == NULL ||
	    (p = calloc(ntot ? ntot : 1, sizeof(*p))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		sl[i].in = &in[i];
		sl[i].out = &out[i];
		sl[i].first = 1;
		sl[i].occur = 1;
		/* A repeat of an earlier alert of the call is that alert. */
		for (j = 0; j < i; j++)
			if (sl[j].first && strcmp(in[j].source,
			    in[i].source) == 0 && strcmp(in[j].external_id,
			    in[i].external_id) == 0) {
				sl[i].first = 0;
				sl[i].same = &sl[j];
				sl[j].occur++;
				break;
			}
		for (j = 0; j < in[i].nobs; j++)
			if (pair_find(p, np, in[i].obs[j].type,
			    in[i].obs[j].hash) < 0) {
				p[np].type = in[i].obs[j].type;
				p[np].ob = &in[i].obs[j];
				np++;
			}
	}
	if ((rc = db_begin(db)) != 0)
		goto out;
	/* Suppressions are read before the lock: a plain read, and a
	 * suppression made meanwhile applies to the next alert. */
	if ((rc = read_suppressions(db, tenant_id, nowsql, p, np)) != 0)
		goto rollback;
	for (i = 0; i < n; i++) {
		int all = in[i].nobs > 0;

		for (j = 0; j < in[i].nobs && all; j++) {
			k = pair_find(p, np, in[i].obs[j].type,
			    in[i].obs[j].hash);
			all = pair_suppressed(&p[k], in[i].source);
		}
		out[i].suppressed = all;
		out[i].status = all ? "suppressed" : "triage";
		if (sl[i].first && id_new("alert", out[i].id,
		    sizeof(out[i].id)) != 0) {
			rc = DB_ERR;
			goto rollback;
		}
	}
	/* The tenant's row lock first, as every writer of the tenant takes
	 * it (the alerts' foreign key would otherwise hold it shared, and
	 * two ingests upgrading at once deadlock). */
	if ((rc = audit_head_lock(db, tenant_id, &head)) <= 0) {
		rc = rc == 0 ? DB_ERR : rc;
		goto rollback;
	}
	rc = n == 1 ? upsert_one(db, tenant_id, &sl[0], nowsql) :
	    upsert_many(db, tenant_id, sl, n, nowsql);
	if (rc != 0)
		goto rollback;
	for (i = 0; i < n; i++) {
		if (!sl[i].first) {
			snprintf(out[i].id, sizeof(out[i].id), "%s",
			    sl[i].same->out->id);
			out[i].status = sl[i].same->out->status;
			out[i].deduplicated = 1;
		} else if (!sl[i].created)
			out[i].deduplicated = 1;
		/* A known alert keeps its status (dismissed stays so). */
		out[i].suppressed = strcmp(out[i].status, "suppressed") == 0;
	}
	if ((rc = write_observables(db, tenant_id, sl, n, p, np,
	    nowsql)) != 0 ||
	    (rc = write_records(db, tenant_id, actor, sl, n, batch, now,
	    nowsql, &head)) != 0)
		goto rollback;
	rc = db_commit(db);
	goto out;
rollback:
	db_rollback(db);
out:
	for (i = 0; p != NULL && i < np; i++)
		free(p[i].sources);
	free(p);
	free(sl);
	return rc;
}

int
alerts_ingest(struct db *db, const char *tenant_id, const char *actor,
    const struct alert_in *in, size_t n, int batch, time_t now,
    struct alert_result *out)
{
	int attempt, rc = DB_ERR;

	for (attempt = 0; attempt < 3; attempt++) {
		rc = ingest_once(db, tenant_id, actor, in, n, batch, now, out);
		if (rc != DB_RETRY && rc != DB_DUP)
			break;
		log_warn("alerts: ingest for tenant %s retried (%d)",
		    tenant_id, rc);
	}
	return rc == DB_DUP ? DB_RETRY : rc;
}
