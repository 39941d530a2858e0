/* alerts.c: alerts in the database (alerts.h): validating what a sender
 * posts, and ingesting it idempotently with its observables, history,
 * audit entry and events in one transaction. */
#include "vigil.h"

#include <stdarg.h>
#include <stdint.h>
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
#include "page.h"
#include "text.h"
#include "vjson.h"
#include "vtime.h"

static const char *const severities[] = { "critical", "high", "medium",
    "low", "info" };

int
alerts_severity_valid(const char *s)
{
	return text_index(s, severities, NELEM(severities)) >= 0;
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
		/* (the field's name written only when it is wrong: a batch
		 * has 1,500 observables or more) */
		rc = vjson_get_string(o, "type", 1, 1, 16, &type, &e);
		if (rc < 0 || !observable_type_parse(type, &ob->type)) {
			snprintf(field, sizeof(field), "observables[%zu].type",
			    i);
			fail(err, field, "%s must be one of ip, domain, url, "
			    "hash, email, hostname, user, file.", field);
			return -1;
		}
		/* The value's own text checks (UTF-8, control characters,
		 * length) are observable_normalise's. */
		json_object_object_get_ex(o, "value", &o);
		if (o == NULL || !json_object_is_type(o, json_type_string)) {
			snprintf(field, sizeof(field), "observables[%zu].value",
			    i);
			fail(err, field, "%s must be a string.", field);
			return -1;
		}
		value = json_object_get_string(o);
		oe = observable_normalise(ob->type, value,
		    (size_t)json_object_get_string_len(o), ob->value,
		    sizeof(ob->value), &ob->len);
		if (oe != OBSERVABLE_OK) {
			snprintf(field, sizeof(field), "observables[%zu].value",
			    i);
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
		in->asset_obj = v;
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
/* SQL_OBS_SEQS_64's and SQL_ALERT_SUPPRESSED_64's columns. */
enum { OSEQ_C_SEQ, OSEQ_C_TYPE, OSEQ_C_HASH, OSEQ_C_AGE };
enum { SUP_C_TYPE, SUP_C_HASH, SUP_C_SCOPE };

static const char *
status_static(const char *s)
{
	static const char *const st[] = { "triage", "escalated", "dismissed",
	    "suppressed" };
	int i = text_index(s, st, NELEM(st));

	return i >= 0 ? st[i] : "triage";
}

/* A distinct (type, hash) of the call, with its seq once known. */
struct pair {
	enum observable_type type;
	const struct alert_obs *ob;
	long long	 seq;
	int		 used;       /* carried by an alert this call creates */
	unsigned	 links;      /* how many of those (its count's step) */
	int		 stale;      /* known, last_seen_at due to move */
	int		 cached;     /* seq and seen from obs_cache */
	time_t		 seen;       /* its last_seen_at is at least this */
	int		 suppressed_global;
	/* the sources it is suppressed for, as one text "a\nb\n" */
	char		*sources;
};

/*
 * An index of the call's pairs or alerts by a 64-bit hash (open
 * addressing, item + 1 in each slot, 0 empty): a batch of 500 alerts
 * carries up to 32,000 observables, and a walk of a list for each was a
 * fifth of the API's CPU for a batch.
 */
struct htab {
	size_t		*slot;
	size_t		 mask;
};

#define HASH_SEED 0xcbf29ce484222325ULL

static int
htab_init(struct htab *h, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap <<= 1;
	h->mask = cap - 1;
	h->slot = calloc(cap, sizeof(*h->slot));
	return h->slot != NULL ? 0 : -1;
}

/* FNV-1a of s, from h. */
static uint64_t
hash_text(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* The call's distinct pairs, p[0..n), and their index. */
struct pairs {
	struct pair	*p;
	size_t		 n;
	struct htab	 h;
};

/* The value's hash is SHA-256 in hex: its first 16 digits are as good
 * a key as all 64. */
static uint64_t
pair_hash(enum observable_type t, const char *hash)
{
	uint64_t h = HASH_SEED ^ (uint64_t)t;
	size_t i;

	for (i = 0; i < 16 && hash[i] != '\0'; i++)
		h = (h ^ (unsigned char)hash[i]) * 0x100000001b3ULL;
	return h;
}

/* The slot of (t, hash) in ps's index: its item, or the empty slot where
 * it would go. */
static size_t
pairs_slot(const struct pairs *ps, enum observable_type t, const char *hash)
{
	size_t i;

	for (i = (size_t)pair_hash(t, hash) & ps->h.mask; ps->h.slot[i] != 0;
	    i = (i + 1) & ps->h.mask) {
		const struct pair *q = &ps->p[ps->h.slot[i] - 1];

		if (q->type == t && strcmp(q->ob->hash, hash) == 0)
			break;
	}
	return i;
}

/* The index of (t, hash) in ps, or -1. */
static int
pair_find(const struct pairs *ps, enum observable_type t, const char *hash)
{
	size_t i = pairs_slot(ps, t, hash);

	return ps->h.slot[i] != 0 ? (int)(ps->h.slot[i] - 1) : -1;
}

/* ob added to ps unless there (room for it allocated by the caller). */
static void
pairs_add(struct pairs *ps, const struct alert_obs *ob)
{
	size_t i = pairs_slot(ps, ob->type, ob->hash);

	if (ps->h.slot[i] != 0)
		return;
	memset(&ps->p[ps->n], 0, sizeof(ps->p[ps->n]));
	ps->p[ps->n].type = ob->type;
	ps->p[ps->n].ob = ob;
	ps->h.slot[i] = ++ps->n;
}

static int
pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return strcmp(x->ob->hash, y->ob->hash);
}

/* ps in (type, hash) order, so that two ingests lock the observables
 * they share in one order; the index built again. */
static void
pairs_sort(struct pairs *ps)
{
	size_t i;

	qsort(ps->p, ps->n, sizeof(*ps->p), pair_cmp);
	memset(ps->h.slot, 0, (ps->h.mask + 1) * sizeof(*ps->h.slot));
	for (i = 0; i < ps->n; i++)
		ps->h.slot[pairs_slot(ps, ps->p[i].type, ps->p[i].ob->hash)] =
		    i + 1;
}

/* The statements that take a list of pairs come with 64, 16 and 4 of
 * them (in that order in enum db_stmt). */
#define PAIRS_IN 64

/*
 * The parameters of an OR list of (type = ? AND value_hash = ?) pairs
 * p[ix[from..n)] (ix NULL: p[from..n)) into v: the smallest of 4, 16 or
 * 64 that holds what is left (at most 64 of it), the last pair repeated
 * to fill. Returns the statement among first's three, *np the
 * parameters written.
 */
static enum db_stmt
pairs_params(enum db_stmt first, struct db_val *v, const struct pair *p,
    const size_t *ix, size_t from, size_t n, size_t *np)
{
	size_t i, k, left = n - from, w;

	w = left <= 4 ? 4 : left <= 16 ? 16 : PAIRS_IN;
	for (i = 0; i < w; i++) {
		k = from + i < n ? from + i : n - 1;
		if (ix != NULL)
			k = ix[k];
		v[2 * i] = DB_STR(observable_type_name(p[k].type));
		v[2 * i + 1] = DB_STR(p[k].ob->hash);
	}
	*np = 2 * w;
	return (enum db_stmt)(first + (w == PAIRS_IN ? 0 : w == 16 ? 1 : 2));
}

/* Which pairs are under an unexpired suppression, and for what scope. */
static int
read_suppressions(struct db *db, const char *tenant_id, const char *nowsql,
    struct pairs *ps)
{
	struct pair *p = ps->p;
	size_t np = ps->n;
	struct db_val v[2 + 2 * PAIRS_IN];
	struct db_res *res = NULL;
	enum db_stmt st;
	size_t from, i, nv;
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
		st = pairs_params(SQL_ALERT_SUPPRESSED_64, v + 2, p, NULL, from,
		    np, &nv);
		if ((rc = db_exec(db, st, v, 2 + nv, &res)) != 0)
			return rc;
		for (i = 0; i < res->nrows; i++) {
			const char *scope = db_cell(res, i, SUP_C_SCOPE);
			char *ns;
			size_t have, add;

			if (!observable_type_parse(db_cell(res, i, SUP_C_TYPE),
			    &t) || scope == NULL ||
			    (k = pair_find(ps, t, db_cell(res, i,
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

/*
 * The JSON a batch writes per alert (its alert.created event's data and
 * its history entry's fields), through json-c trees made once per call
 * and refilled per alert: strings set in place, the observables from a
 * pool of objects the writer holds, the asset (the request's own object,
 * serialised already) written out as it is by json-c's userdata
 * serializer. A tree per alert built, written out and freed was a tenth
 * of the API's time for a batch; refilled, json-c writes an alert in
 * about what a hand-written writer did, and escapes as everywhere else.
 */
enum { AW_ID, AW_SOURCE, AW_EXTERNAL, AW_SEVERITY, AW_TITLE, AW_STATUS,
    AW_DETECTED, AW_INGESTED, AW_LAST_SEEN, AW_UPDATED, AW_NSTR };

struct alert_writer {
	json_object	*event;          /* {"alert":{...}} */
	json_object	*str[AW_NSTR];
	json_object	*occur, *asset, *obs;
	json_object	*ob[ALERTS_OBS_MAX];  /* {"type","value"}: a ref each */
	json_object	*ob_type[ALERTS_OBS_MAX], *ob_value[ALERTS_OBS_MAX];
	size_t		 nob;
	json_object	*fields;         /* source, external_id, severity,
	                                  * status */
	json_object	*fstr[4];
};

static const char *const aw_names[AW_NSTR] = { "id", "source",
    "external_id", "severity", "title", "status", "detected_at",
    "ingested_at", "last_seen_at", "updated_at" };

/* Add v (taken) to o under the constant name k; 0 or -1. */
static int
aw_add(json_object *o, const char *k, json_object *v)
{
	return json_object_object_add_ex(o, k, v,
	    JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

static void
aw_free(struct alert_writer *w)
{
	size_t i;

	json_object_put(w->event);
	json_object_put(w->fields);
	for (i = 0; i < w->nob; i++)
		json_object_put(w->ob[i]);
	memset(w, 0, sizeof(*w));
}

/* The trees, in the members' order of alerts_to_json (the list shape)
 * and of the history's fields; 0, or -1 when out of memory (aw_free
 * either way). */
static int
aw_init(struct alert_writer *w)
{
	json_object *alert;
	size_t i;
	int bad = 0;

	memset(w, 0, sizeof(*w));
	if ((w->event = json_object_new_object()) == NULL ||
	    (alert = json_object_new_object()) == NULL)
		return -1;
	bad |= aw_add(w->event, "alert", alert);
	for (i = 0; i < AW_NSTR; i++)
		bad |= aw_add(alert, aw_names[i],
		    w->str[i] = json_object_new_string(""));
	bad |= aw_add(alert, "occurrences", w->occur = json_object_new_int(0));
	bad |= aw_add(alert, "asset", w->asset = json_object_new_object());
	bad |= aw_add(alert, "assignee", NULL);
	bad |= aw_add(alert, "tags", json_object_new_array());
	bad |= aw_add(alert, "case_id", NULL);
	bad |= aw_add(alert, "observables", w->obs = json_object_new_array());
	if ((w->fields = json_object_new_object()) == NULL)
		return -1;
	for (i = 0; i < 4; i++)
		bad |= aw_add(w->fields, aw_names[AW_SOURCE + (i == 3 ? 4 :
		    i)], w->fstr[i] = json_object_new_string(""));
	for (i = 0; i < AW_NSTR; i++)
		bad |= w->str[i] == NULL;
	for (i = 0; i < 4; i++)
		bad |= w->fstr[i] == NULL;
	return bad || w->occur == NULL || w->asset == NULL ||
	    w->obs == NULL ? -1 : 0;
}

/* {"alert":A}: A the alert in the list shape, from what ingest knows of
 * it, for its alert.created event; the text belongs to w, until its next
 * call. NULL when out of memory. */
static const char *
aw_event(struct alert_writer *w, const struct slot *s, const char *nowts,
    size_t *len)
{
	const struct alert_in *in = s->in;
	char det[VTIME_RFC3339_LEN];
	const char *v[AW_NSTR];
	size_t i;
	int ok = 1;

	vtime_rfc3339(in->detected_at, det, sizeof(det));
	v[AW_ID] = s->out->id;
	v[AW_SOURCE] = in->source;
	v[AW_EXTERNAL] = in->external_id;
	v[AW_SEVERITY] = in->severity;
	v[AW_TITLE] = in->title;
	v[AW_STATUS] = s->out->status;
	v[AW_DETECTED] = det;
	v[AW_INGESTED] = v[AW_LAST_SEEN] = v[AW_UPDATED] = nowts;
	for (i = 0; i < AW_NSTR; i++)
		ok &= json_object_set_string(w->str[i], v[i]);
	ok &= json_object_set_int(w->occur, (int)s->occur);
	json_object_set_serializer(w->asset,
	    json_object_userdata_to_json_string, in->asset, NULL);
	json_object_array_del_idx(w->obs, 0, json_object_array_length(w->obs));
	for (i = 0; ok && i < in->nobs && i < ALERTS_OBS_MAX; i++) {
		if (i == w->nob) {
			json_object *o = json_object_new_object();

			if (o == NULL)
				return NULL;
			w->ob[w->nob++] = o;
			if (aw_add(o, "type", w->ob_type[i] =
			    json_object_new_string("")) != 0 ||
			    aw_add(o, "value", w->ob_value[i] =
			    json_object_new_string("")) != 0 ||
			    w->ob_type[i] == NULL || w->ob_value[i] == NULL)
				return NULL;
		}
		ok &= json_object_set_string(w->ob_type[i],
		    observable_type_name(in->obs[i].type));
		ok &= json_object_set_string_len(w->ob_value[i],
		    in->obs[i].value, (int)in->obs[i].len);
		ok &= json_object_array_add(w->obs,
		    json_object_get(w->ob[i])) == 0;
	}
	return ok ? vjson_str(w->event, len) : NULL;
}

/* The history entry's fields of a created alert: text that belongs to
 * w, until its next call; NULL when out of memory. */
static const char *
aw_fields(struct alert_writer *w, const struct slot *s, size_t *len)
{
	const char *v[4] = { s->in->source, s->in->external_id,
	    s->in->severity, s->out->status };
	size_t i;
	int ok = 1;

	for (i = 0; i < 4; i++)
		ok &= json_object_set_string(w->fstr[i], v[i]);
	return ok ? vjson_str(w->fields, len) : NULL;
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
		rc = DB_RETRY;  /* gone since it was updated; try again */
	db_res_free(res);
	return rc;
}

static int
size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static int
slot_cmp(const void *a, const void *b)
{
	const struct slot *x = *(const struct slot *const *)a;
	const struct slot *y = *(const struct slot *const *)b;
	int c = strcmp(x->in->source, y->in->source);

	return c != 0 ? c : strcmp(x->in->external_id, y->in->external_id);
}

/* The call's first slot of each (source, external_id), by hash. */
struct slots {
	struct slot	*sl;
	struct htab	 h;
};

static uint64_t
slot_hash(const char *source, const char *external_id)
{
	return hash_text(hash_text(HASH_SEED, source) * 31, external_id);
}

/* The index slot of (source, external_id) among the firsts: the first's
 * number + 1, or the empty slot where it would go. */
static size_t
slots_slot(const struct slots *ss, const char *source,
    const char *external_id)
{
	size_t i;

	for (i = (size_t)slot_hash(source, external_id) & ss->h.mask;
	    ss->h.slot[i] != 0; i = (i + 1) & ss->h.mask) {
		const struct alert_in *in = ss->sl[ss->h.slot[i] - 1].in;

		if (strcmp(in->source, source) == 0 &&
		    strcmp(in->external_id, external_id) == 0)
			break;
	}
	return i;
}

/* Of the alerts order[0..n) (at most PAIRS_IN) just upserted, some were
 * stored already (seen again): all of them looked up by their pairs
 * (one statement, matched back by hash), an alert whose id is the one
 * this call gave it being the call's own. */
static int
sort_out(struct db *db, const char *tenant_id, struct slot *sl,
    struct slot **order, size_t n, const struct slots *ss)
{
	struct db_val v[1 + 2 * PAIRS_IN];
	struct db_res *res = NULL;
	size_t i, j, k, ix;
	int rc;

	v[0] = DB_STR(tenant_id);
	for (i = 0; i < PAIRS_IN; i++) {
		k = i < n ? i : n - 1;
		v[1 + 2 * i] = DB_STR(order[k]->in->source);
		v[2 + 2 * i] = DB_STR(order[k]->in->external_id);
	}
	if ((rc = db_exec(db, SQL_ALERT_FIND_64, v, NELEM(v), &res)) != 0)
		return rc;
	for (j = 0; j < res->nrows; j++) {
		const char *src = db_cell(res, j, FIND_C_SOURCE);
		const char *ext = db_cell(res, j, FIND_C_EXTERNAL);
		const char *id = db_cell(res, j, FIND_C_ID);
		struct slot *s;

		if (src == NULL || ext == NULL || id == NULL ||
		    (ix = ss->h.slot[slots_slot(ss, src, ext)]) == 0)
			continue;
		s = &sl[ix - 1];
		s->seq = db_cell_int(res, j, FIND_C_SEQ);
		s->created = strcmp(id, s->out->id) == 0;
		if (!s->created) {
			snprintf(s->out->id, sizeof(s->out->id), "%s", id);
			s->out->status = status_static(db_cell(res, j,
			    FIND_C_STATUS));
		}
	}
	db_res_free(res);
	for (i = 0; i < n; i++)
		if (order[i]->seq == 0)
			return DB_RETRY;        /* not found: cannot be */
	return 0;
}

/*
 * The batch path: the call's alerts (the first of each pair), in
 * (source, external_id) order so that two batches lock the keys they
 * share in one order, upserted 64, 16, 4 or 1 a statement: a new alert
 * inserted, a stored one seen again (its last_seen_at and occurrences;
 * nothing else). A forwarder's alerts are mostly new, so the look-up of
 * the pairs that came first (a statement of 64 ORed pairs for the
 * optimizer to plan per 64 alerts, a tenth of the database's time for a
 * batch) is made only for a statement whose affected rows say that it
 * met stored ones (an insert counts 1, a row seen again 2: occurrences
 * always grows). One that inserted all its rows took consecutive
 * AUTO_INCREMENT values from its insert id (innodb_autoinc_lock_mode 0
 * or 1), and its last row's seq, read back, proves it (mode 2, Galera's:
 * a statement's values rise but may skip, and then every row is read
 * back). The upsert locks a stored row exclusively at once (no shared
 * lock first, as a failed INSERT would take), and a pair another ingest
 * is inserting waits for its commit and is then seen again.
 */
static int
upsert_many(struct db *db, const char *tenant_id, struct slot *sl,
    size_t n, const struct slots *ss, const char *nowsql)
{
	static const size_t sizes[] = { 64, 16, 4, 1 };
	struct db_val *rows = NULL;
	struct db_res *res = NULL;
	struct slot **order = NULL;
	char (*det)[VTIME_SQL_LEN] = NULL;
	size_t i, j, k, w, nfirst = 0, done = 0;
	unsigned long long affected;
	long long first;
	int rc = DB_ERR;

	if ((rows = calloc(n * ALERT_NCOLS, sizeof(*rows))) == NULL ||
	    (det = calloc(n, sizeof(*det))) == NULL ||
	    (order = calloc(n, sizeof(*order))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (sl[i].first)
			order[nfirst++] = &sl[i];
	qsort(order, nfirst, sizeof(*order), slot_cmp);
	for (i = 0; i < nfirst; i++) {
		vtime_sql(order[i]->in->detected_at, det[i], sizeof(det[i]));
		alert_row(rows + i * ALERT_NCOLS, tenant_id, order[i], det[i],
		    nowsql);
	}
	rc = 0;
	for (k = 0; k < NELEM(sizes); k++) {
		w = sizes[k];
		while (nfirst - done >= w) {
			struct slot **o = order + done;

			if ((rc = db_exec(db, (enum db_stmt)(SQL_ALERT_UPSERT_64 +
			    k), rows + done * ALERT_NCOLS, w * ALERT_NCOLS,
			    &res)) != 0)
				goto out;
			first = (long long)res->insert_id;
			affected = res->affected;
			db_res_free(res);
			res = NULL;
			done += w;
			if (affected != w) {
				if ((rc = sort_out(db, tenant_id, sl, o, w,
				    ss)) != 0)
					goto out;
				continue;
			}
			for (j = 0; j < w; j++) {
				o[j]->seq = first + (long long)j;
				o[j]->created = 1;
			}
			if (w > 1 && (rc = db_exec(db, SQL_ALERT_SEQ_OF,
			    (struct db_val[]){ DB_STR(tenant_id),
			    DB_STR(o[w - 1]->out->id) }, 2, &res)) != 0)
				goto out;
			if (w > 1 && (res->nrows != 1 || db_cell_int(res, 0, 0)
			    != first + (long long)w - 1)) {
				/* Not consecutive: each row read back. */
				for (j = 0; j < w && rc == 0; j++) {
					db_res_free(res);
					res = NULL;
					if ((rc = db_exec(db, SQL_ALERT_SEQ_OF,
					    (struct db_val[]){
					    DB_STR(tenant_id),
					    DB_STR(o[j]->out->id) }, 2,
					    &res)) == 0) {
						if (res->nrows != 1)
							rc = DB_RETRY;
						else
							o[j]->seq = db_cell_int(
							    res, 0, 0);
					}
				}
				if (rc != 0)
					goto out;
			}
			db_res_free(res);
			res = NULL;
		}
	}
out:
	db_res_free(res);
	free(order);
	free(det);
	free(rows);
	return rc;
}

/* The columns of SQL_OBS_INSERT_*, SQL_ALERT_LINK_*,
 * SQL_ALERT_HISTORY_* and SQL_EVENT_INSERT_* (as events.h numbers them,
 * for events_count_deferred). */
#define OBS_NCOLS 7
#define LINK_NCOLS 3
#define HIST_NCOLS 6
#define EVENT_NCOLS EVENTS_ROW_NCOLS

/*
 * The observables this process has seen committed, by (tenant, type,
 * hash): their seq, and a time their last_seen_at was at least. A
 * forwarder's alerts mostly carry values seen before, and looking each up
 * again was a statement per 64 values in every batch; with this, a worker
 * reads a value once per ALERTS_OBS_SEEN_STEP, when its last_seen_at may
 * be due to move. Right because an observable is never deleted and its
 * seq never changes, and entries are stored only after the commit that
 * inserted or read them. Per process (each worker its own), bounded:
 * direct-mapped, a newer entry replaces the one in its slot.
 */
#define OBS_CACHE_SLOTS 16384

struct obs_cached {
	char		 tenant_id[VIGIL_ID_LEN];
	char		 hash[65];
	int		 type;       /* enum observable_type + 1; 0 empty */
	long long	 seq;
	time_t		 seen;
};

static struct obs_cached *obs_cache;

static struct obs_cached *
obs_cache_slot(const char *tenant_id, enum observable_type t,
    const char *hash)
{
	if (obs_cache == NULL &&
	    (obs_cache = calloc(OBS_CACHE_SLOTS, sizeof(*obs_cache))) == NULL)
		return NULL;
	return &obs_cache[hash_text(pair_hash(t, hash), tenant_id) %
	    OBS_CACHE_SLOTS];
}

/* p's seq and seen from the cache when there and not due: 1, else 0. */
static int
obs_cache_get(const char *tenant_id, struct pair *p, time_t now)
{
	struct obs_cached *c = obs_cache_slot(tenant_id, p->type, p->ob->hash);

	if (c == NULL || c->type != (int)p->type + 1 ||
	    c->seen < now - ALERTS_OBS_SEEN_STEP ||
	    strcmp(c->hash, p->ob->hash) != 0 ||
	    strcmp(c->tenant_id, tenant_id) != 0)
		return 0;
	p->seq = c->seq;
	p->seen = c->seen;
	p->cached = 1;
	return 1;
}

/* After the commit: what the call learnt of its observables. */
static void
obs_cache_put(const char *tenant_id, const struct pairs *ps)
{
	struct obs_cached *c;
	size_t i;

	for (i = 0; i < ps->n; i++) {
		const struct pair *p = &ps->p[i];

		if (!p->used || p->cached || p->seq == 0 ||
		    (c = obs_cache_slot(tenant_id, p->type, p->ob->hash)) ==
		    NULL)
			continue;
		if (strlen(tenant_id) >= sizeof(c->tenant_id))
			continue;
		memcpy(c->tenant_id, tenant_id, strlen(tenant_id) + 1);
		memcpy(c->hash, p->ob->hash, sizeof(c->hash));
		c->type = (int)p->type + 1;
		c->seq = p->seq;
		c->seen = p->seen;
	}
}

/* Rows of (tenant, observable seq, alert seq or a count), by their
 * second column, then their third. */
static int
link_cmp(const void *a, const void *b)
{
	const struct db_val *x = a, *y = b;

	if (x[1].i != y[1].i)
		return x[1].i < y[1].i ? -1 : 1;
	return x[2].i < y[2].i ? -1 : x[2].i > y[2].i;
}

/* The seqs of the pairs ps->p[ix[0..n)], their last_seen_at (seen), and
 * whether it is due to move (stale). */
static int
obs_lookup(struct db *db, const char *tenant_id, time_t now,
    const char *nowsql, struct pairs *ps, const size_t *ix, size_t n)
{
	struct db_val v[2 + 2 * PAIRS_IN];
	struct db_res *res = NULL;
	enum observable_type t;
	enum db_stmt st;
	size_t from, j, nv;
	int rc, k;

	v[0] = DB_STR(nowsql);
	v[1] = DB_STR(tenant_id);
	for (from = 0; from < n; from += PAIRS_IN) {
		st = pairs_params(SQL_OBS_SEQS_64, v + 2, ps->p, ix, from, n,
		    &nv);
		if ((rc = db_exec(db, st, v, 2 + nv, &res)) != 0)
			return rc;
		for (j = 0; j < res->nrows; j++)
			if (observable_type_parse(db_cell(res, j, OSEQ_C_TYPE),
			    &t) && (k = pair_find(ps, t, db_cell(res, j,
			    OSEQ_C_HASH))) >= 0) {
				long long age = db_cell_int(res, j,
				    OSEQ_C_AGE);

				ps->p[k].seq = db_cell_int(res, j, OSEQ_C_SEQ);
				ps->p[k].stale = age > ALERTS_OBS_SEEN_STEP;
				ps->p[k].seen = now - (time_t)age;
			}
		db_res_free(res);
		res = NULL;
	}
	return 0;
}

/*
 * The observables of the new alerts and their links. Known ones are read,
 * not written: their last_seen_at moves only when it is more than
 * ALERTS_OBS_SEEN_STEP old (an upsert of every known value wrote and
 * locked each row, a hot value ordering every ingest that carried it,
 * and was half of the database's time for a batch). Unknown ones are
 * inserted (in (type, hash) order, ps sorted so) and read back.
 */
static int
write_observables(struct db *db, const char *tenant_id, struct slot *sl,
    size_t n, struct pairs *ps, time_t now, const char *nowsql)
{
	struct db_val *rows = NULL, v[2 + 2 * PAIRS_IN];
	char (*ids)[VIGIL_ID_LEN] = NULL;
	size_t i, j, nused = 0, nlook = 0, nlinks = 0, nmiss = 0, ntouch, w;
	size_t nv;
	size_t *ix = NULL, *miss = NULL;
	enum db_stmt st;
	int rc = DB_ERR, k;

	for (i = 0; i < ps->n; i++) {
		ps->p[i].used = 0;
		ps->p[i].links = 0;
		ps->p[i].cached = 0;
	}
	for (i = 0; i < n; i++) {
		if (!sl[i].created)
			continue;
		for (j = 0; j < sl[i].in->nobs; j++) {
			k = pair_find(ps, sl[i].in->obs[j].type,
			    sl[i].in->obs[j].hash);
			ps->p[k].used = 1;
			ps->p[k].links++;
			nlinks++;
		}
	}
	if (nlinks == 0)
		return 0;
	if ((ix = calloc(ps->n, sizeof(*ix))) == NULL ||
	    (miss = calloc(ps->n, sizeof(*miss))) == NULL ||
	    (rows = calloc((nlinks > ps->n ? nlinks : ps->n) * OBS_NCOLS,
	    sizeof(*rows))) == NULL)
		goto out;
	/* ix: the used pairs not in the cache (or due there), to look up;
	 * the rest of them follow it, for the single alert's links. */
	for (i = 0; i < ps->n; i++)
		if (ps->p[i].used && !obs_cache_get(tenant_id, &ps->p[i], now))
			ix[nlook++] = i;
	nused = nlook;
	for (i = 0; i < ps->n; i++)
		if (ps->p[i].used && ps->p[i].cached)
			ix[nused++] = i;
	if ((rc = obs_lookup(db, tenant_id, now, nowsql, ps, ix,
	    nlook)) != 0)
		goto out;
	for (i = 0; i < nlook; i++)
		if (ps->p[ix[i]].seq == 0)
			miss[nmiss++] = ix[i];
	if (nmiss > 0) {
		rc = DB_ERR;
		if ((ids = calloc(nmiss, sizeof(*ids))) == NULL)
			goto out;
		for (i = 0; i < nmiss; i++) {
			struct db_val *r = rows + i * OBS_NCOLS;
			const struct pair *q = &ps->p[miss[i]];

			if (id_new("obs", ids[i], sizeof(ids[i])) != 0)
				goto out;
			r[0] = DB_STR(tenant_id);
			r[1] = DB_STR(ids[i]);
			r[2] = DB_STR(observable_type_name(q->type));
			r[3] = DB_STRN(q->ob->value, q->ob->len);
			r[4] = DB_STR(q->ob->hash);
			r[5] = DB_STR(nowsql);
			r[6] = DB_STR(nowsql);
		}
		if ((rc = db_exec_rows(db, SQL_OBS_INSERT_64, rows, OBS_NCOLS,
		    nmiss)) != 0 ||
		    (rc = obs_lookup(db, tenant_id, now, nowsql, ps, miss,
		    nmiss)) != 0)
			goto out;
		for (i = 0; i < nmiss; i++) {
			if (ps->p[miss[i]].seq == 0) {
				rc = DB_RETRY;  /* rolled back meanwhile */
				goto out;
			}
			/* inserted now, or by another ingest just now */
			ps->p[miss[i]].stale = 0;
		}
	}
	/* The known ones due: their seqs, in seq order (the index the
	 * UPDATE locks them by), 64, 16, 4 or 1 a statement, the last
	 * repeated to fill. */
	for (i = 0, ntouch = 0; i < nlook; i++)
		if (ps->p[ix[i]].stale) {
			miss[ntouch++] = (size_t)ps->p[ix[i]].seq;
			ps->p[ix[i]].seen = now;
		}
	qsort(miss, ntouch, sizeof(*miss), size_cmp);
	v[0] = DB_STR(nowsql);
	v[1] = DB_STR(tenant_id);
	for (i = 0; i < ntouch; i += w) {
		size_t left = ntouch - i;

		w = left >= 64 ? 64 : left > 4 ? (left > 16 ? 64 : 16) :
		    left > 1 ? 4 : 1;
		for (j = 0; j < w; j++)
			v[2 + j] = DB_INT((long long)miss[i + j < ntouch ?
			    i + j : ntouch - 1]);
		st = (enum db_stmt)(SQL_OBS_TOUCH_64 + (w == 64 ? 0 :
		    w == 16 ? 1 : w == 4 ? 2 : 3));
		if ((rc = db_exec(db, st, v, 2 + w, NULL)) != 0)
			goto out;
	}
	/* One new alert: its links in one INSERT … SELECT by the pairs. */
	if (n == 1) {
		v[0] = DB_INT(sl[0].seq);
		v[1] = DB_STR(tenant_id);
		st = pairs_params(SQL_ALERT_LINK_ONE_64, v + 2, ps->p, ix, 0,
		    nused, &nv);
		rc = db_exec(db, st, v, 2 + nv, NULL);
		goto out;
	}
	nlinks = 0;
	for (i = 0; i < n; i++) {
		if (!sl[i].created)
			continue;
		for (j = 0; j < sl[i].in->nobs; j++) {
			struct db_val *r = rows + nlinks * LINK_NCOLS;
			const struct alert_obs *ob = &sl[i].in->obs[j];

			k = pair_find(ps, ob->type, ob->hash);
			r[0] = DB_STR(tenant_id);
			r[1] = DB_INT(ps->p[k].seq);
			r[2] = DB_INT(sl[i].seq);
			nlinks++;
		}
	}
	/* In key order (observable, alert): a call's links to one value
	 * land on one leaf of the primary key, not each on its own. */
	qsort(rows, nlinks, LINK_NCOLS * sizeof(*rows), link_cmp);
	rc = db_exec_rows(db, SQL_ALERT_LINK_64, rows, LINK_NCOLS, nlinks);
out:
	free(ids);
	free(rows);
	free(miss);
	free(ix);
	return rc;
}

/*
 * Each observable's count of alerts (observable_alert_counts, what a
 * search's total reads) moved by the links this call wrote: one row per
 * observable rather than a trigger's per link, and under the head lock
 * (write_records), where ingests are ordered anyway, so that a hot
 * value's count row orders them no earlier. One alert's in one INSERT …
 * SELECT of its links.
 */
static int
count_links(struct db *db, const char *tenant_id, const struct slot *sl,
    size_t n, const struct pairs *ps)
{
	struct db_val *rows = NULL;
	size_t i, k = 0;
	int rc = DB_ERR;

	if (n == 1)
		return sl[0].created && sl[0].in->nobs > 0 ?
		    db_exec(db, SQL_OBS_COUNT_ALERT, (struct db_val[]){
		    DB_STR(tenant_id), DB_INT(sl[0].seq) }, 2, NULL) : 0;
	if ((rows = calloc(3 * (ps->n ? ps->n : 1), sizeof(*rows))) == NULL)
		return DB_ERR;
	for (i = 0; i < ps->n; i++) {
		if (ps->p[i].links == 0)
			continue;
		rows[3 * k] = DB_STR(tenant_id);
		rows[3 * k + 1] = DB_INT(ps->p[i].seq);
		rows[3 * k + 2] = DB_INT(ps->p[i].links);
		k++;
	}
	qsort(rows, k, 3 * sizeof(*rows), link_cmp);
	rc = db_exec_rows(db, SQL_OBS_COUNT_ADD_64, rows, 3, k);
	free(rows);
	return rc;
}

/*
 * The lock an ingest takes last, so that the tenant's events and audit
 * entries commit in the order of their seqs: the tenant's audit chain
 * head row (audit_heads), which orders ingests among themselves and which
 * every other audited writer locks too. Not the tenant's row: an ingest
 * holds it shared from its first statement (SQL_ALERT_TENANT_SHARE; the
 * foreign keys of alerts and observables would too), and two ingests
 * taking it exclusively would deadlock; that shared hold is what keeps
 * out the writers that lock the tenant's row exclusively (findings, the
 * scanner, settings, keys, webhooks, the spooler, PATCH and dismiss)
 * meanwhile. Before the tenant's first audit entry there is no head row
 * to lock: then the tenant's row after all (a deadlock there is
 * retried). 0 or a DB_* code.
 */
static int
lock_head(struct db *db, const char *tenant_id, struct audit_head *head)
{
	int rc;

	if ((rc = audit_head_lock_row(db, tenant_id, head)) != 0)
		return rc < 0 ? rc : 0;
	if ((rc = audit_head_lock(db, tenant_id, head)) < 0)
		return rc;
	return rc == 0 ? DB_ERR : 0;
}

/* From how many events a call counts them itself (SQL_BATCH_DEFER_BEGIN,
 * events_count_deferred, SQL_BATCH_DEFER_END: three statements) rather
 * than leaving them to the trigger (a procedure call and an upsert per
 * event). */
#define EVENTS_DEFER_MIN 8

/* History, events and the audit entry of the call. */
static int
write_records(struct db *db, const char *tenant_id, const char *actor,
    struct slot *sl, size_t n, const struct pairs *ps, int batch,
    time_t now, const char *nowsql, struct audit_head *head)
{
	struct db_val *rows = NULL;
	char **fields = NULL, **payloads = NULL;
	char (*evids)[VIGIL_ID_LEN] = NULL, nowts[VTIME_RFC3339_LEN];
	size_t i, nh = 0, ne = 0, len, ncreated = 0, ndedup = 0;
	json_object *detail = NULL, *created, *dedup;
	struct alert_writer w;
	const char *text;
	int rc = DB_ERR, deferred = 0;

	vtime_rfc3339(now, nowts, sizeof(nowts));
	if (aw_init(&w) != 0)
		goto out;
	if ((rows = calloc(n * (HIST_NCOLS > EVENT_NCOLS ? HIST_NCOLS :
	    EVENT_NCOLS), sizeof(*rows))) == NULL ||
	    (fields = calloc(n, sizeof(*fields))) == NULL ||
	    (payloads = calloc(n, sizeof(*payloads))) == NULL ||
	    (evids = calloc(n, sizeof(*evids))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		struct db_val *r = rows + nh * HIST_NCOLS;

		if (!sl[i].created)
			continue;
		if ((text = aw_fields(&w, &sl[i], &len)) == NULL ||
		    (fields[i] = dupn(text, len)) == NULL)
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

		if (!sl[i].created || sl[i].out->suppressed)
			continue;
		if ((text = aw_event(&w, &sl[i], nowts, &len)) == NULL ||
		    events_id_new(evids[i], sizeof(evids[i])) != 0 ||
		    events_payload_text(tenant_id, "alert.created", now,
		    text, len, evids[i], &payloads[i], &len) != 0)
			goto out;
		r[EVENTS_ROW_ID] = DB_STR(evids[i]);
		r[EVENTS_ROW_TENANT] = DB_STR(tenant_id);
		r[EVENTS_ROW_TYPE] = DB_STR("alert.created");
		r[EVENTS_ROW_AT] = DB_STR(nowsql);
		r[EVENTS_ROW_PAYLOAD] = DB_STRN(payloads[i], len);
		ne++;
	}
	/* Many events: counted in GET /events' total by one statement
	 * after their insert rather than by the trigger per row, which held
	 * the lock below twice as long (0042, 0049): while @vigil_defer names
	 * the tenant, the trigger tallies them. Set before the lock: it is
	 * the session's alone. No audit entry or finding history is written
	 * until it is cleared. */
	if (ne >= EVENTS_DEFER_MIN) {
		if ((rc = db_exec(db, SQL_BATCH_DEFER_BEGIN, (struct db_val[]){
		    DB_STR(tenant_id), DB_NUL }, 2, NULL)) != 0)
			goto out;
		deferred = 1;
	}
	/* Only now the lock that orders the tenant's events and audit
	 * entries: everything above is the call's own rows. */
	if ((rc = lock_head(db, tenant_id, head)) != 0 ||
	    (rc = count_links(db, tenant_id, sl, n, ps)) != 0 ||
	    (rc = db_exec_rows(db, SQL_EVENT_INSERT_64, rows, EVENT_NCOLS,
	    ne)) != 0)
		goto out;
	if (deferred) {
		/* Adds what the trigger tallied: nothing on a schema before
		 * 0045, whose trigger counted each row itself. */
		if ((rc = events_count_deferred(db, tenant_id, rows,
		    ne)) != 0 ||
		    (rc = db_exec(db, SQL_BATCH_DEFER_END, NULL, 0, NULL)) != 0)
			goto out;
		deferred = 0;
	}
	/* One audit entry per call, not per alert: a forwarder's thousand
	 * alerts a second would otherwise be a thousand chained entries,
	 * each a round trip under the lock that orders them. The batch's
	 * names every alert it created or deduplicated. */
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
	/* A failed run must not leave the session deferring the counts of
	 * later inserts (events and audit entries, and the audit head: the
	 * next run's, the single-alert path's, on this connection); on a
	 * connection that died the variables died with it. */
	if (deferred)
		(void)db_exec(db, SQL_BATCH_DEFER_END, NULL, 0, NULL);
	json_object_put(detail);
	aw_free(&w);
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

static void
pairs_free(struct pairs *ps)
{
	size_t i;

	for (i = 0; ps->p != NULL && i < ps->n; i++)
		free(ps->p[i].sources);
	free(ps->p);
	free(ps->h.slot);
	ps->p = NULL;
	ps->n = 0;
	ps->h.slot = NULL;
}

/* One run of an ingest, in the transaction db_tx_run runs: everything
 * (out[], the alerts' ids, the observables' pairs) is computed afresh;
 * on success *keep gets the pairs, for the cache once committed. */
static int
ingest_once(struct db *db, const char *tenant_id, const char *actor,
    const struct alert_in *in, size_t n, int batch, time_t now,
    struct alert_result *out, struct pairs *keep)
{
	struct slot *sl = NULL;
	struct pairs ps = { NULL, 0, { NULL, 0 } };
	struct slots ss = { NULL, { NULL, 0 } };
	struct audit_head head;
	char nowsql[VTIME_SQL_LEN];
	size_t i, j, ntot = 0, h;
	int rc = DB_ERR, k;

	vtime_sql(now, nowsql, sizeof(nowsql));
	for (i = 0; i < n; i++)
		ntot += in[i].nobs;
	if ((sl = calloc(n, sizeof(*sl))) == NULL ||
	    (ps.p = calloc(ntot ? ntot : 1, sizeof(*ps.p))) == NULL ||
	    htab_init(&ps.h, ntot) != 0 || htab_init(&ss.h, n) != 0)
		goto out;
	ss.sl = sl;
	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		sl[i].in = &in[i];
		sl[i].out = &out[i];
		sl[i].first = 1;
		sl[i].occur = 1;
		/* A repeat of an earlier alert of the call is that alert. */
		h = slots_slot(&ss, in[i].source, in[i].external_id);
		if (ss.h.slot[h] != 0) {
			sl[i].first = 0;
			sl[i].same = &sl[ss.h.slot[h] - 1];
			sl[i].same->occur++;
		} else
			ss.h.slot[h] = i + 1;
		for (j = 0; j < in[i].nobs; j++)
			pairs_add(&ps, &in[i].obs[j]);
	}
	pairs_sort(&ps);
	/* The tenant's row shared, before any other lock: what a writer
	 * that locks it exclusively and then an alert (PATCH, dismiss, an
	 * escalation) waits for, so that it never holds the alert this
	 * ingest wants while waiting for this ingest. */
	if ((rc = db_exec(db, SQL_ALERT_TENANT_SHARE, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0)
		goto out;
	/* Suppressions: a plain read, and a suppression made meanwhile
	 * applies to the next alert. */
	if ((rc = read_suppressions(db, tenant_id, nowsql, &ps)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		int all = in[i].nobs > 0;

		for (j = 0; j < in[i].nobs && all; j++) {
			k = pair_find(&ps, in[i].obs[j].type,
			    in[i].obs[j].hash);
			all = pair_suppressed(&ps.p[k], in[i].source);
		}
		out[i].suppressed = all;
		out[i].status = all ? "suppressed" : "triage";
		if (sl[i].first && id_new("alert", out[i].id,
		    sizeof(out[i].id)) != 0) {
			rc = DB_ERR;
			goto out;
		}
	}
	/* Concurrent ingests of one (source, external_id) meet at its
	 * unique key: the second waits for the first's commit and then
	 * finds it. The lock that orders events is taken last
	 * (write_records). */
	rc = n == 1 ? upsert_one(db, tenant_id, &sl[0], nowsql) :
	    upsert_many(db, tenant_id, sl, n, &ss, nowsql);
	if (rc != 0)
		goto out;
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
	if ((rc = write_observables(db, tenant_id, sl, n, &ps, now,
	    nowsql)) != 0 ||
	    (rc = write_records(db, tenant_id, actor, sl, n, &ps, batch, now,
	    nowsql, &head)) != 0)
		goto out;
	*keep = ps;
	memset(&ps, 0, sizeof(ps));
out:
	/* Concurrent ingests of one (source, external_id) meet at its
	 * unique key; the loser runs again and finds the winner's. */
	if (rc == DB_DUP)
		rc = DB_RETRY;
	pairs_free(&ps);
	free(ss.h.slot);
	free(sl);
	return rc;
}

struct ingest_tx {
	const char		*tenant_id, *actor;
	const struct alert_in	*in;
	size_t			 n;
	int			 batch;
	time_t			 now;
	struct alert_result	*out;
	struct pairs		 ps;
};

static int
ingest_tx(struct db *db, void *arg)
{
	struct ingest_tx *a = arg;

	pairs_free(&a->ps);
	return ingest_once(db, a->tenant_id, a->actor, a->in, a->n, a->batch,
	    a->now, a->out, &a->ps);
}

int
alerts_ingest(struct db *db, const char *tenant_id, const char *actor,
    const struct alert_in *in, size_t n, int batch, time_t now,
    struct alert_result *out)
{
	struct ingest_tx a = { tenant_id, actor, in, n, batch, now, out,
	    { NULL, 0, { NULL, 0 } } };
	int rc;

	rc = db_tx_run(db, ingest_tx, &a);
	if (rc == 0)
		obs_cache_put(tenant_id, &a.ps);
	pairs_free(&a.ps);
	return rc;
}

/* ---- reading and changing --------------------------------------------- */

static const char *const reasons[] = { "known-good", "false-positive",
    "duplicate", "test", "other" };

int
alerts_reason_valid(const char *s)
{
	return text_index(s, reasons, NELEM(reasons)) >= 0;
}

int
alerts_id_valid(const char *s)
{
	return id_valid("alert", s);
}

/* ALERT_COLS' (and ALERT_LIST_COLS') order in db.c. */
enum {
	ALERT_C_SEQ, ALERT_C_ID, ALERT_C_SOURCE, ALERT_C_EXTERNAL,
	ALERT_C_SEVERITY, ALERT_C_TITLE, ALERT_C_STATUS, ALERT_C_DETECTED,
	ALERT_C_INGESTED, ALERT_C_LAST_SEEN, ALERT_C_UPDATED,
	ALERT_C_OCCURRENCES, ALERT_C_ASSET, ALERT_C_RAW, ALERT_C_RAW_TRUNC,
	ALERT_C_ASSIGNEE, ALERT_C_TAGS, ALERT_C_CASE, ALERT_C_REASON,
	ALERT_C_COMMENT
};
/* SQL_ALERT_OBSERVABLES' and SQL_ALERT_HISTORY_LIST's columns. */
enum { AOBS_C_ID, AOBS_C_TYPE, AOBS_C_VALUE };

void
alerts_row_free(struct alert_row *a)
{
	if (a == NULL)
		return;
	free(a->id);
	free(a->source);
	free(a->external_id);
	free(a->severity);
	free(a->title);
	free(a->status);
	free(a->detected_at);
	free(a->ingested_at);
	free(a->last_seen_at);
	free(a->updated_at);
	free(a->asset);
	free(a->raw);
	free(a->assignee);
	free(a->tags);
	free(a->case_id);
	free(a->dismiss_reason);
	free(a->dismiss_comment);
	json_object_put(a->observables);
	free(a);
}

/* Row i of an ALERT_COLS result as a new alert_row; NULL when out of
 * memory. */
static struct alert_row *
row_at(const struct db_res *res, size_t i)
{
	struct alert_row *a;
	int bad = 0;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->seq = db_cell_int(res, i, ALERT_C_SEQ);
	a->id = db_cell_dup(res, i, ALERT_C_ID, &bad);
	a->source = db_cell_dup(res, i, ALERT_C_SOURCE, &bad);
	a->external_id = db_cell_dup(res, i, ALERT_C_EXTERNAL, &bad);
	a->severity = db_cell_dup(res, i, ALERT_C_SEVERITY, &bad);
	a->title = db_cell_dup(res, i, ALERT_C_TITLE, &bad);
	a->status = db_cell_dup(res, i, ALERT_C_STATUS, &bad);
	a->detected_at = db_cell_dup(res, i, ALERT_C_DETECTED, &bad);
	a->ingested_at = db_cell_dup(res, i, ALERT_C_INGESTED, &bad);
	a->last_seen_at = db_cell_dup(res, i, ALERT_C_LAST_SEEN, &bad);
	a->updated_at = db_cell_dup(res, i, ALERT_C_UPDATED, &bad);
	a->occurrences = db_cell_int(res, i, ALERT_C_OCCURRENCES);
	a->asset = db_cell_dup(res, i, ALERT_C_ASSET, &bad);
	a->raw = db_cell_dup(res, i, ALERT_C_RAW, &bad);
	/* "" is "not sent" (the column is NOT NULL). */
	if (a->raw != NULL && a->raw[0] == '\0') {
		free(a->raw);
		a->raw = NULL;
	}
	a->raw_truncated = db_cell_int(res, i, ALERT_C_RAW_TRUNC) != 0;
	a->assignee = db_cell_dup(res, i, ALERT_C_ASSIGNEE, &bad);
	a->tags = db_cell_dup(res, i, ALERT_C_TAGS, &bad);
	a->case_id = db_cell_dup(res, i, ALERT_C_CASE, &bad);
	a->dismiss_reason = db_cell_dup(res, i, ALERT_C_REASON, &bad);
	a->dismiss_comment = db_cell_dup(res, i, ALERT_C_COMMENT, &bad);
	if (bad || a->id == NULL || a->status == NULL) {
		alerts_row_free(a);
		return NULL;
	}
	return a;
}

/* a's observables into a->observables. 0 or a DB_* code. */
static int
load_observables(struct db *db, const char *tenant_id, struct alert_row *a)
{
	struct db_res *res = NULL;
	size_t i;
	int rc;

	if ((rc = db_exec(db, SQL_ALERT_OBSERVABLES, (struct db_val[]){
	    DB_STR(tenant_id), DB_INT(a->seq) }, 2, &res)) != 0)
		return rc;
	a->observables = json_object_new_array();
	for (i = 0; i < res->nrows; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "type", json_object_new_string(
		    db_cell(res, i, AOBS_C_TYPE)));
		json_object_object_add(o, "value", json_object_new_string(
		    db_cell(res, i, AOBS_C_VALUE)));
		json_object_array_add(a->observables, o);
	}
	db_res_free(res);
	return 0;
}

/* One alert, locked or not, with its observables: as alerts_get. */
static int
load(struct db *db, const char *tenant_id, const char *id, int lock,
    struct alert_row **out)
{
	struct db_res *res = NULL;
	int rc;

	*out = NULL;
	if (!alerts_id_valid(id))
		return 0;
	if ((rc = db_exec(db, lock ? SQL_ALERT_GET_LOCK : SQL_ALERT_GET,
	    (struct db_val[]){ DB_STR(tenant_id), DB_STR(id) }, 2,
	    &res)) != 0)
		return rc;
	if (res->nrows == 0) {
		db_res_free(res);
		return 0;
	}
	*out = row_at(res, 0);
	db_res_free(res);
	if (*out == NULL)
		return DB_ERR;
	if ((rc = load_observables(db, tenant_id, *out)) != 0) {
		alerts_row_free(*out);
		*out = NULL;
		return rc;
	}
	return 1;
}

int
alerts_get(struct db *db, const char *tenant_id, const char *id,
    struct alert_row **out)
{
	return load(db, tenant_id, id, 0, out);
}

/* A JSON value from stored text (a member the database holds as JSON),
 * or dflt (taken) when it does not parse. */
static json_object *
stored_json(const char *text, json_object *dflt)
{
	json_object *v = text != NULL ? json_tokener_parse(text) : NULL;

	if (v == NULL)
		return dflt;
	json_object_put(dflt);
	return v;
}

json_object *
alerts_to_json(const struct alert_row *a, int full)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(a->id));
	json_object_object_add(o, "source", json_object_new_string(a->source));
	json_object_object_add(o, "external_id",
	    json_object_new_string(a->external_id));
	json_object_object_add(o, "severity",
	    json_object_new_string(a->severity));
	json_object_object_add(o, "title", json_object_new_string(a->title));
	json_object_object_add(o, "status", json_object_new_string(a->status));
	json_object_object_add(o, "detected_at",
	    vtime_sql_json(a->detected_at));
	json_object_object_add(o, "ingested_at",
	    vtime_sql_json(a->ingested_at));
	json_object_object_add(o, "last_seen_at",
	    vtime_sql_json(a->last_seen_at));
	json_object_object_add(o, "updated_at", vtime_sql_json(a->updated_at));
	json_object_object_add(o, "occurrences",
	    json_object_new_int64(a->occurrences));
	json_object_object_add(o, "asset", stored_json(a->asset,
	    json_object_new_object()));
	json_object_object_add(o, "assignee",
	    vjson_new_string_or_null(a->assignee));
	json_object_object_add(o, "tags", stored_json(a->tags,
	    json_object_new_array()));
	json_object_object_add(o, "case_id",
	    vjson_new_string_or_null(a->case_id));
	if (a->observables != NULL)
		json_object_object_add(o, "observables",
		    json_object_get(a->observables));
	if (!full)
		return o;
	json_object_object_add(o, "raw", stored_json(a->raw, NULL));
	json_object_object_add(o, "raw_truncated",
	    json_object_new_boolean(a->raw_truncated));
	json_object_object_add(o, "dismiss_reason",
	    vjson_new_string_or_null(a->dismiss_reason));
	json_object_object_add(o, "dismiss_comment",
	    vjson_new_string_or_null(a->dismiss_comment));
	return o;
}

/* ALERT_FILTERS' 16 parameters from f into v; since is f's as text in
 * sincebuf. */
static void
filter_params(struct db_val *v, const struct alerts_filter *f,
    char *sincebuf, size_t sincesz)
{
	static const char *const all_status[] = { "triage", "escalated",
	    "dismissed", "suppressed" };
	size_t i;

	for (i = 0; i < 4; i++)
		v[i] = DB_STR(f->nstatus == 0 ? all_status[i] :
		    f->status[i < f->nstatus ? i : f->nstatus - 1]);
	for (i = 0; i < 5; i++)
		v[4 + i] = DB_STR(f->nseverity == 0 ? severities[i] :
		    f->severity[i < f->nseverity ? i : f->nseverity - 1]);
	v[9] = v[10] = DB_STR0(f->source);
	v[11] = v[12] = DB_STR0(f->assignee);
	if (f->since != 0) {
		vtime_sql(f->since, sincebuf, sincesz);
		v[13] = v[14] = v[15] = DB_STR(sincebuf);
	} else
		v[13] = v[14] = v[15] = DB_NUL;
}

void
alerts_page_free(struct alerts_page *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		alerts_row_free(p->rows[i]);
	free(p->rows);
	free(p);
}

int
alerts_list(struct db *db, const char *tenant_id,
    const struct alerts_filter *f, struct alerts_page **out)
{
	struct db_val v[19];
	struct db_res *res = NULL;
	struct alerts_page *p;
	char since[VTIME_SQL_LEN];
	size_t i, n;
	int rc;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return DB_ERR;
	v[0] = DB_STR(tenant_id);
	filter_params(v + 1, f, since, sizeof(since));
	if ((rc = db_exec(db, SQL_ALERT_COUNT, v, 17, &res)) != 0)
		goto fail;
	p->total = db_cell_int(res, 0, 0);
	db_res_free(res);
	res = NULL;
	if (p->total == 0) {
		*out = p;
		return 0;
	}
	v[0] = DB_STR(tenant_id);
	v[1] = DB_INT(f->before);
	filter_params(v + 2, f, since, sizeof(since));
	v[18] = DB_INT(f->limit + 1);
	if ((rc = db_exec(db, SQL_ALERT_LIST, v, 19, &res)) != 0)
		goto fail;
	n = res->nrows > (size_t)f->limit ? (size_t)f->limit : res->nrows;
	p->has_more = res->nrows > (size_t)f->limit;
	if (n > 0 && (p->rows = calloc(n, sizeof(*p->rows))) == NULL) {
		rc = DB_ERR;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if ((p->rows[i] = row_at(res, i)) == NULL) {
			rc = DB_ERR;
			goto fail;
		}
		p->n++;
	}
	db_res_free(res);
	*out = p;
	return 0;
fail:
	db_res_free(res);
	alerts_page_free(p);
	return rc;
}

int
alerts_history(struct db *db, const char *tenant_id, const char *id,
    json_object **out)
{
	struct alert_row *a = NULL;
	int rc;

	*out = NULL;
	if ((rc = alerts_get(db, tenant_id, id, &a)) <= 0)
		return rc;
	alerts_row_free(a);
	return page_history(db, SQL_ALERT_HISTORY_LIST, tenant_id, id,
	    "alert_id", out);
}

/* The start of a change, in the caller's transaction: the tenant's row
 * lock (the order every writer of a tenant's alerts takes: an ingest
 * holds it shared from its start) and then the alert's, with the alert
 * loaded. ALERTS_OK with *a set. */
static enum alerts_outcome
change_begin(struct db *db, const char *tenant_id, const char *id,
    struct audit_head *head, struct alert_row **a, int *rc)
{
	*a = NULL;
	if (!alerts_id_valid(id))
		return ALERTS_NOT_FOUND;
	if ((*rc = audit_head_lock(db, tenant_id, head)) <= 0) {
		if (*rc == 0)
			return ALERTS_NOT_FOUND;
		return ALERTS_DB_ERROR;
	}
	*rc = load(db, tenant_id, id, 1, a);
	if (*rc <= 0) {
		return *rc == 0 ? ALERTS_NOT_FOUND : ALERTS_DB_ERROR;
	}
	*rc = 0;
	return ALERTS_OK;
}

/* Append history entry action with fields (taken) by actor. */
static int
history_add(struct db *db, const char *tenant_id, const char *id,
    const char *action, json_object *fields, const char *actor,
    const char *nowsql)
{
	const char *f = vjson_str(fields, NULL);
	int rc;

	rc = db_exec(db, SQL_ALERT_HISTORY_1, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id), DB_STR(action), DB_STR(nowsql),
	    DB_STR(actor), DB_STR(f ? f : "{}") }, HIST_NCOLS, NULL);
	json_object_put(fields);
	return rc;
}

static void
set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s != NULL ? dupn(s, strlen(s)) : NULL;
}

static enum alerts_outcome
patch_once(struct db *db, const char *tenant_id, const char *id,
    const struct alerts_patch *p, const char *actor, time_t now,
    struct alert_row **after, int *rc)
{
	struct audit_head head;
	struct alert_row *a = NULL;
	enum alerts_outcome o;
	json_object *fields;
	char nowsql[VTIME_SQL_LEN];
	const char *tags;

	*after = NULL;
	vtime_sql(now, nowsql, sizeof(nowsql));
	if ((o = change_begin(db, tenant_id, id, &head, &a, rc)) != ALERTS_OK)
		return o;
	fields = json_object_new_object();
	if (p->set_assignee) {
		set_str(&a->assignee, p->assignee);
		json_object_object_add(fields, "assignee",
		    vjson_new_string_or_null(p->assignee));
	}
	if (p->set_severity) {
		json_object_object_add(fields, "previous_severity",
		    json_object_new_string(a->severity));
		set_str(&a->severity, p->severity);
		json_object_object_add(fields, "severity",
		    json_object_new_string(p->severity));
	}
	if (p->set_tags) {
		tags = vjson_str(p->tags, NULL);
		set_str(&a->tags, tags);
		json_object_object_add(fields, "tags",
		    json_object_get(p->tags));
	}
	set_str(&a->updated_at, nowsql);
	if (a->severity == NULL || a->tags == NULL || a->updated_at == NULL) {
		json_object_put(fields);
		*rc = DB_ERR;
		goto fail;
	}
	*rc = db_exec(db, SQL_ALERT_PATCH, (struct db_val[]){
	    DB_STR0(a->assignee), DB_STR(a->severity), DB_STR(a->tags),
	    DB_STR(nowsql), DB_STR(tenant_id), DB_STR(id) }, 6, NULL);
	if (*rc == 0)
		*rc = history_add(db, tenant_id, id, "updated",
		    json_object_get(fields), actor, nowsql);
	if (*rc == 0)
		*rc = audit_append_head(db, tenant_id, &head, actor,
		    "alert.update", id, fields);
	json_object_put(fields);
	if (*rc != 0)
		goto fail;
	*after = a;
	return ALERTS_OK;
fail:
	alerts_row_free(a);
	return ALERTS_DB_ERROR;
}

static enum alerts_outcome
dismiss_once(struct db *db, const char *tenant_id, const char *id,
    const char *reason, const char *comment, const char *actor, time_t now,
    struct alert_row **after, int *rc)
{
	struct audit_head head;
	struct alert_row *a = NULL;
	enum alerts_outcome o;
	json_object *fields, *data;
	char nowsql[VTIME_SQL_LEN];

	*after = NULL;
	vtime_sql(now, nowsql, sizeof(nowsql));
	if ((o = change_begin(db, tenant_id, id, &head, &a, rc)) != ALERTS_OK)
		return o;
	/* An escalated alert belongs to its case (resolve that); a
	 * dismissed one is final. */
	if (strcmp(a->status, "triage") != 0 &&
	    strcmp(a->status, "suppressed") != 0) {
		alerts_row_free(a);
		return ALERTS_CONFLICT;
	}
	set_str(&a->status, "dismissed");
	set_str(&a->dismiss_reason, reason);
	set_str(&a->dismiss_comment, comment);
	set_str(&a->updated_at, nowsql);
	if (a->status == NULL || a->dismiss_reason == NULL ||
	    a->updated_at == NULL || (comment != NULL &&
	    a->dismiss_comment == NULL)) {
		*rc = DB_ERR;
		goto fail;
	}
	fields = json_object_new_object();
	json_object_object_add(fields, "reason_code",
	    json_object_new_string(reason));
	json_object_object_add(fields, "comment",
	    vjson_new_string_or_null(comment));
	data = json_object_new_object();
	json_object_object_add(data, "alert", alerts_to_json(a, 0));
	*rc = db_exec(db, SQL_ALERT_DISMISS, (struct db_val[]){
	    DB_STR(reason), DB_STR0(comment), DB_STR(nowsql),
	    DB_STR(tenant_id), DB_STR(id) }, 5, NULL);
	if (*rc == 0)
		*rc = history_add(db, tenant_id, id, "dismissed",
		    json_object_get(fields), actor, nowsql);
	if (*rc == 0) {
		/* events_append takes data, on error too. */
		*rc = events_append(db, tenant_id, "alert.dismissed", now,
		    data, NULL);
		data = NULL;
	}
	if (*rc == 0)
		*rc = audit_append_head(db, tenant_id, &head, actor,
		    "alert.dismiss", id, fields);
	json_object_put(fields);
	json_object_put(data);
	if (*rc != 0)
		goto fail;
	*after = a;
	return ALERTS_OK;
fail:
	alerts_row_free(a);
	return ALERTS_DB_ERROR;
}

/* A change, in the transaction db_tx_run runs again when it loses a
 * deadlock or certification: the lock orders above leave no deadlock
 * between ingests and these changes, but a writer that locked an alert
 * before the tenant would, and two Galera nodes may certify against each
 * other. */
struct change_tx {
	const char		*tenant_id, *id, *actor;
	const struct alerts_patch *p;		/* a PATCH, or */
	const char		*reason, *comment;	/* a dismissal */
	time_t			 now;
	struct alert_row	*after;
	enum alerts_outcome	 o;
};

static int
change_tx(struct db *db, void *arg)
{
	struct change_tx *c = arg;
	int rc = 0;

	alerts_row_free(c->after);
	c->after = NULL;
	if (c->p != NULL)
		c->o = patch_once(db, c->tenant_id, c->id, c->p, c->actor,
		    c->now, &c->after, &rc);
	else
		c->o = dismiss_once(db, c->tenant_id, c->id, c->reason,
		    c->comment, c->actor, c->now, &c->after, &rc);
	if (c->o == ALERTS_OK)
		return 0;
	if (c->o == ALERTS_DB_ERROR)
		return rc != 0 ? rc : DB_ERR;
	return 1;
}

static enum alerts_outcome
change_run(struct db *db, struct change_tx *c, struct alert_row **after,
    int *rc)
{
	int r;

	c->after = NULL;
	c->o = ALERTS_DB_ERROR;
	r = db_tx_run(db, change_tx, c);
	*rc = r < 0 ? r : 0;
	if (r < 0) {
		alerts_row_free(c->after);
		c->after = NULL;
		c->o = ALERTS_DB_ERROR;
	}
	*after = c->after;
	return c->o;
}

enum alerts_outcome
alerts_patch(struct db *db, const char *tenant_id, const char *id,
    const struct alerts_patch *p, const char *actor, time_t now,
    struct alert_row **after, int *rc)
{
	struct change_tx c = { tenant_id, id, actor, p, NULL, NULL, now,
	    NULL, ALERTS_DB_ERROR };

	return change_run(db, &c, after, rc);
}

enum alerts_outcome
alerts_dismiss(struct db *db, const char *tenant_id, const char *id,
    const char *reason, const char *comment, const char *actor, time_t now,
    struct alert_row **after, int *rc)
{
	struct change_tx c = { tenant_id, id, actor, NULL, reason, comment,
	    now, NULL, ALERTS_DB_ERROR };

	return change_run(db, &c, after, rc);
}
