/* findings.c: findings in the database. The decisions are lifecycle.c's;
 * this file loads, writes, and keeps each change, its history, its audit
 * entry and its events in one transaction. */
#include "vigil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "events.h"
#include "findings.h"
#include "id.h"
#include "imports.h"
#include "log.h"
#include "mutes.h"
#include "page.h"
#include "vjson.h"
#include "vtime.h"

/* Column order of FINDING_COLS in db.c. */
enum {
	C_SEQ, C_ID, C_RULE, C_PROVIDER, C_SUB, C_ENV, C_RES, C_TITLE, C_SEV,
	C_CAT, C_LAYER, C_FW, C_DESC, C_REC, C_EVID, C_FP, C_STATE, C_REM,
	C_RBY, C_AWAIT, C_ACC_UNTIL, C_SNZ_UNTIL, C_DET, C_UPD, C_SEEN,
	C_RESOLVED, C_ASSIGNEE, C_NOTES, C_RNAME, C_RTYPE, C_RGROUP, C_REGION,
	C_ACCOUNT, C_TAGS, C_SOURCE, C_DUE, C__N
};

void
findings_make_id(const char *provider, const char *rule_id,
    const char *resource_id, char *out, size_t outsz)
{
	unsigned char h[CRYPTO_SHA256_LEN];
	char hex[CRYPTO_SHA256_HEX], *low;
	size_t i, n = strlen(resource_id);

	/* Azure resource ids are case-insensitive. */
	if ((low = malloc(n + 1)) == NULL) {
		snprintf(out, outsz, "%s-%s-00000000", provider, rule_id);
		return;
	}
	for (i = 0; i < n; i++)
		low[i] = (resource_id[i] >= 'A' && resource_id[i] <= 'Z') ?
		    (char)(resource_id[i] - 'A' + 'a') : resource_id[i];
	crypto_sha256(low, n, h);
	free(low);
	crypto_hex(h, 4, hex);
	/* "azure" + "nsg-ssh-internet", or a rule id that already carries
	 * its provider: "azure-nsg-ssh-internet". */
	if (strncmp(rule_id, provider, strlen(provider)) == 0 &&
	    rule_id[strlen(provider)] == '-')
		snprintf(out, outsz, "%s-%s", rule_id, hex);
	else
		snprintf(out, outsz, "%s-%s-%s", provider, rule_id, hex);
}

/* Append pre, the string s[0..len) quoted, and post (one byte each, or
 * '\0' for none) as json-c writes a string with JSON_C_TO_STRING_PLAIN,
 * in one append as before: 1, or 0 (nothing written) when s is long or
 * not all printable ASCII other than '"' and '\\' (which json-c writes
 * as they are, '/' as "\/"). Evidence has hundreds of keys and strings: a
 * json_object (or its print buffer) and a printf for each were most of a
 * fingerprint's time. */
static int
canonical_plain(struct buf *b, char pre, const char *s, size_t len,
    char post)
{
	char	 tmp[1024];
	size_t	 i, n = 0;

	if (len > (sizeof(tmp) - 4) / 2)
		return 0;
	if (pre != '\0')
		tmp[n++] = pre;
	tmp[n++] = '"';
	for (i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' ||
		    s[i] == '\\')
			return 0;
		if (s[i] == '/')
			tmp[n++] = '\\';
		tmp[n++] = s[i];
	}
	tmp[n++] = '"';
	if (post != '\0')
		tmp[n++] = post;
	(void)buf_append(b, tmp, n);
	return 1;
}

/* An object's member, for sorting. */
struct canonical_member {
	const char	*k;
	json_object	*v;
};

/* Serialise with object keys sorted, so that equal configurations give
 * equal text whatever order the source listed them in. */
static void
canonical(json_object *o, struct buf *b)
{
	switch (json_object_get_type(o)) {
	case json_type_object: {
		size_t n = 0, i, j, cap = (size_t)json_object_object_length(o);
		struct canonical_member *m = calloc(cap ? cap : 1,
		    sizeof(*m));

		if (m == NULL) {
			/* Out of memory: poison the text so no two differ
			 * silently; the caller's hash still changes. */
			buf_puts(b, "\x01");
			break;
		}
		json_object_object_foreach(o, k, v) {
			if (n < cap) {
				m[n].k = k;
				m[n++].v = v;
			}
		}
		for (i = 1; i < n; i++)
			for (j = i; j > 0 && strcmp(m[j - 1].k, m[j].k) > 0;
			    j--) {
				struct canonical_member t = m[j];

				m[j] = m[j - 1];
				m[j - 1] = t;
			}
		buf_puts(b, "{");
		for (i = 0; i < n; i++) {
			json_object *ks;

			if (!canonical_plain(b, i ? ',' : '\0', m[i].k,
			    strlen(m[i].k), ':')) {
				ks = json_object_new_string(m[i].k);
				buf_printf(b, "%s%s:", i ? "," : "",
				    json_object_to_json_string_ext(ks,
				    JSON_C_TO_STRING_PLAIN));
				json_object_put(ks);
			}
			canonical(m[i].v, b);
		}
		buf_puts(b, "}");
		free(m);
		break;
	}
	case json_type_array: {
		size_t i, n = json_object_array_length(o);

		buf_puts(b, "[");
		for (i = 0; i < n; i++) {
			if (i)
				buf_puts(b, ",");
			canonical(json_object_array_get_idx(o, i), b);
		}
		buf_puts(b, "]");
		break;
	}
	case json_type_string:
		if (canonical_plain(b, '\0', json_object_get_string(o),
		    (size_t)json_object_get_string_len(o), '\0'))
			break;
		/* FALLTHROUGH */
	default:
		buf_puts(b, o ? json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN) : "null");
	}
}

void
findings_fingerprint(json_object *evidence, char out[65])
{
	struct buf b;

	buf_init(&b, 16 * 1024 * 1024);
	canonical(evidence, &b);
	crypto_sha256_hex(b.data ? b.data : "", b.len, out);
	buf_free(&b);
}

void
findings_row_free(struct finding_row *r)
{
	if (r == NULL)
		return;
	free(r->rule_id);
	free(r->provider);
	free(r->subscription_id);
	free(r->environment);
	free(r->resource_id);
	free(r->title);
	free(r->category);
	free(r->layer);
	free(r->framework);
	free(r->description);
	free(r->recommendation);
	free(r->evidence);
	free(r->assignee);
	free(r->notes);
	free(r->resource_name);
	free(r->resource_type);
	free(r->resource_group);
	free(r->region);
	free(r->account);
	free(r->tags);
	free(r->source);
	free(r);
}

static time_t
cell_time(const struct db_res *res, size_t row, size_t col)
{
	const char *s = db_cell(res, row, col);
	time_t t;

	if (s == NULL || vtime_parse_sql(s, &t) != 0)
		return 0;
	return t;
}

static char *
cell_dup(const struct db_res *res, size_t row, size_t col)
{
	const char *s = db_cell(res, row, col);

	return strdup(s ? s : "");
}

struct finding_row *
findings_row_at(const struct db_res *res, size_t i)
{
	struct finding_row *r;
	const char *s;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->seq = db_cell_int(res, i, C_SEQ);
	snprintf(r->f.id, sizeof(r->f.id), "%s", db_cell(res, i, C_ID));
	finding_severity_from_str(db_cell(res, i, C_SEV), &r->f.severity);
	finding_state_from_str(db_cell(res, i, C_STATE), &r->f.state);
	finding_remediation_from_str(db_cell(res, i, C_REM),
	    &r->f.remediation);
	finding_resolver_from_str(db_cell(res, i, C_RBY), &r->f.resolved_by);
	r->f.awaiting_scan = db_cell_int(res, i, C_AWAIT) != 0;
	snprintf(r->f.fingerprint, sizeof(r->f.fingerprint), "%s",
	    db_cell(res, i, C_FP) ? db_cell(res, i, C_FP) : "");
	r->f.accepted_until = cell_time(res, i, C_ACC_UNTIL);
	r->f.snoozed_until = cell_time(res, i, C_SNZ_UNTIL);
	r->f.detected_at = cell_time(res, i, C_DET);
	r->f.updated_at = cell_time(res, i, C_UPD);
	r->f.last_seen_at = cell_time(res, i, C_SEEN);
	r->f.resolved_at = cell_time(res, i, C_RESOLVED);
	r->rule_id = cell_dup(res, i, C_RULE);
	r->provider = cell_dup(res, i, C_PROVIDER);
	r->subscription_id = cell_dup(res, i, C_SUB);
	r->environment = cell_dup(res, i, C_ENV);
	r->resource_id = cell_dup(res, i, C_RES);
	r->title = cell_dup(res, i, C_TITLE);
	r->category = cell_dup(res, i, C_CAT);
	r->layer = cell_dup(res, i, C_LAYER);
	r->framework = cell_dup(res, i, C_FW);
	r->description = cell_dup(res, i, C_DESC);
	r->recommendation = cell_dup(res, i, C_REC);
	r->evidence = cell_dup(res, i, C_EVID);
	if ((s = db_cell(res, i, C_ASSIGNEE)) != NULL)
		r->assignee = strdup(s);
	if ((s = db_cell(res, i, C_NOTES)) != NULL)
		r->notes = strdup(s);
	r->resource_name = cell_dup(res, i, C_RNAME);
	r->resource_type = cell_dup(res, i, C_RTYPE);
	r->resource_group = cell_dup(res, i, C_RGROUP);
	r->region = cell_dup(res, i, C_REGION);
	r->account = cell_dup(res, i, C_ACCOUNT);
	r->tags = strdup(db_cell(res, i, C_TAGS) ? db_cell(res, i, C_TAGS) :
	    "{}");
	r->source = cell_dup(res, i, C_SOURCE);
	r->due_at = cell_time(res, i, C_DUE);
	if (r->resource_name == NULL || r->resource_type == NULL ||
	    r->resource_group == NULL || r->region == NULL ||
	    r->account == NULL || r->tags == NULL || r->source == NULL) {
		findings_row_free(r);
		return NULL;
	}
	if (r->rule_id == NULL || r->provider == NULL ||
	    r->subscription_id == NULL || r->environment == NULL ||
	    r->resource_id == NULL || r->title == NULL || r->category == NULL ||
	    r->layer == NULL || r->framework == NULL ||
	    r->description == NULL || r->recommendation == NULL ||
	    r->evidence == NULL) {
		findings_row_free(r);
		return NULL;
	}
	return r;
}

int
findings_load(struct db *db, const char *tenant_id, const char *id,
    int for_update, struct finding_row **out)
{
	struct db_res *res = NULL;
	int rc;

	*out = NULL;
	rc = db_exec(db, for_update ? SQL_FINDING_GET_LOCK : SQL_FINDING_GET,
	    (struct db_val[]){ DB_STR(tenant_id), DB_STR(id) }, 2, &res);
	if (rc != 0)
		return rc;
	if (res->nrows == 0) {
		db_res_free(res);
		return 0;
	}
	*out = findings_row_at(res, 0);
	db_res_free(res);
	return *out ? 1 : DB_ERR;
}

/* json_object_array_sort's order of sources: by name, as
 * SQL_SOURCE_LIST's ORDER BY gives them. */
static int
source_cmp(const void *a, const void *b)
{
	json_object *const *x = a, *const *y = b;
	json_object *sx = NULL, *sy = NULL;

	json_object_object_get_ex(*x, "source", &sx);
	json_object_object_get_ex(*y, "source", &sy);
	return strcmp(json_object_get_string(sx), json_object_get_string(sy));
}

int
findings_load_sources(struct db *db, const char *tenant_id, const char *id,
    struct finding_row **out, json_object **sources)
{
	struct db_res *res = NULL;
	int rc;

	*out = NULL;
	*sources = NULL;
	rc = db_exec(db, SQL_FINDING_GET_SOURCES, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, &res);
	if (rc != 0)
		return rc;
	if (res->nrows == 0) {
		rc = 0;
		goto out;
	}
	/* every row repeats the finding; the sources follow its columns */
	if ((*out = findings_row_at(res, 0)) == NULL ||
	    (*sources = imports_sources_from(res, C__N)) == NULL) {
		findings_row_free(*out);
		*out = NULL;
		rc = DB_ERR;
		goto out;
	}
	if (json_object_array_length(*sources) > 1)
		json_object_array_sort(*sources, source_cmp);
	rc = 1;
out:
	db_res_free(res);
	return rc;
}

/* Fills a caller buffer with the RFC 3339 form of t, and returns a JSON
 * string of it (or JSON null for 0). */
static json_object *
ts_json(time_t t)
{
	char s[VTIME_RFC3339_LEN];

	if (t == 0)
		return NULL;
	vtime_rfc3339(t, s, sizeof(s));
	return json_object_new_string(s);
}

static void
add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

/* Add under k, a string literal that o does not have yet: json-c then
 * neither copies the key nor looks it up first (a list page adds 1,400
 * members). For building a new object only. */
static void
add_new(json_object *o, const char *k, json_object *v)
{
	json_object_object_add_ex(o, k, v, JSON_C_OBJECT_ADD_KEY_IS_NEW |
	    JSON_C_OBJECT_KEY_IS_CONSTANT);
}

static void
add_new_str(json_object *o, const char *k, const char *v)
{
	add_new(o, k, v ? json_object_new_string(v) : NULL);
}

/* The stored tags as an object; {} if the text is not one (a row
 * written by hand). No tags, the usual case, is not parsed: json-c sets
 * up a locale for every parse. */
static json_object *
tags_json(const char *text)
{
	json_object *o;

	/* No tags, as most findings: no parser to set up (a tokener and a
	 * locale each time; a twentieth of a list page's CPU). */
	if (text == NULL || strcmp(text, "{}") == 0)
		return json_object_new_object();
	o = json_tokener_parse(text);

	if (o != NULL && json_object_is_type(o, json_type_object))
		return o;
	json_object_put(o);
	return json_object_new_object();
}

json_object *
findings_to_json(const struct finding_row *r, int full)
{
	json_object *o = json_object_new_object();

	add_new_str(o, "id", r->f.id);
	add_new_str(o, "title", r->title);
	add_new_str(o, "severity", finding_severity_str(r->f.severity));
	add_new_str(o, "category", r->category);
	add_new_str(o, "layer", r->layer);
	add_new_str(o, "subscription_id", r->subscription_id);
	add_new_str(o, "environment", r->environment);
	add_new_str(o, "resource_id", r->resource_id);
	add_new_str(o, "framework", r->framework);
	add_new_str(o, "description", r->description);
	add_new_str(o, "recommendation", r->recommendation);
	add_new(o, "detected_at", ts_json(r->f.detected_at));
	add_new(o, "updated_at", ts_json(r->f.updated_at));
	add_new_str(o, "state", finding_state_str(r->f.state));
	add_new_str(o, "resource_name", r->resource_name);
	add_new_str(o, "resource_type", r->resource_type);
	add_new_str(o, "resource_group", r->resource_group);
	add_new_str(o, "region", r->region);
	add_new_str(o, "account", r->account);
	add_new(o, "tags", tags_json(r->tags));
	add_new_str(o, "source", r->source);
	if (!full)
		return o;
	add_new_str(o, "rule_id", r->rule_id);
	add_new_str(o, "provider", r->provider);
	add_new(o, "last_seen_at", ts_json(r->f.last_seen_at));
	add_new(o, "resolved_at", ts_json(r->f.resolved_at));
	add_new_str(o, "resolved_by", r->f.state == FINDING_RESOLVED ?
	    finding_resolver_str(r->f.resolved_by) : NULL);
	add_new(o, "accepted_until",
	    r->f.state == FINDING_ACCEPTED ? ts_json(r->f.accepted_until) :
	    NULL);
	add_new(o, "snoozed_until",
	    r->f.state == FINDING_SNOOZED ? ts_json(r->f.snoozed_until) :
	    NULL);
	add_new_str(o, "remediation", finding_remediation_str(r->f.remediation));
	add_new_str(o, "assignee", r->assignee);
	add_new_str(o, "notes", r->notes);
	add_new(o, "evidence", json_tokener_parse(r->evidence));
	return o;
}

void
findings_due_json(json_object *o, const struct finding_row *r, time_t now)
{
	add_new(o, "due_at", ts_json(r->due_at));
	json_object_object_add(o, "overdue",
	    json_object_new_boolean(r->due_at != 0 && r->due_at <= now));
}

void
findings_page_free(struct findings_page *p)
{
	size_t i;

	if (p == NULL)
		return;
	/* The rows' strings are the result's (page_fill). */
	for (i = 0; i < p->n; i++)
		free(p->rows[i]);
	free(p->rows);
	db_res_free(p->res);
	free(p);
}

/* The parameters SQL_FINDING_LIST* and SQL_FINDING_COUNT* share, in
 * their order: a statement takes a prefix of them (up to LP_RTYPE without
 * the metadata filters, LP_TAG without the tag, LP_BEFORE with it), then
 * for a list the cursor and the limit (the count statements take the
 * first LP_SINCE, or the prefix). The IN lists have six (states) and five (severities) slots. */
enum {
	LP_TENANT, LP_STATE, LP_SEV = LP_STATE + 6, LP_CAT = LP_SEV + 5,
	LP_SUB = LP_CAT + 2, LP_ENV = LP_SUB + 2, LP_SINCE = LP_ENV + 2,
	LP_RTYPE = LP_SINCE + 2, LP_RGROUP = LP_RTYPE + 2,
	LP_REGION = LP_RGROUP + 2, LP_SOURCE = LP_REGION + 2,
	LP_TAG = LP_SOURCE + 2,	/* key, key, value */
	LP_BEFORE = LP_TAG + 3, LP_LIMIT, LP__N
};

/* SQL_FINDING_COUNT_SINCE with the list's parameters p: the filters
 * first, then the tenant and the time. Sets *cnt (the caller frees it). */
static int
findings_count_since(struct db *db, const struct db_val *p,
    struct db_res **cnt)
{
	struct db_val q[LP_SINCE - LP_STATE + 2];

	memcpy(q, p + LP_STATE, (LP_SINCE - LP_STATE) * sizeof(*q));
	q[LP_SINCE - LP_STATE] = p[LP_TENANT];
	q[LP_SINCE - LP_STATE + 1] = p[LP_SINCE];
	return db_exec(db, SQL_FINDING_COUNT_SINCE, q, NELEM(q), cnt);
}

/* A cell of a list row as findings_row_at reads it, but not copied: the
 * result's own text ("" for NULL). */
static char *
cell_view(const struct db_res *res, size_t row, size_t col)
{
	static char empty[1];
	char *s = res->cells[row * res->ncols + col];

	return s != NULL ? s : empty;
}

/* Row i of a list statement's result (FINDING_LIST_COLS) as
 * findings_row_at reads it, but its strings pointing into res: a page of
 * 100 made 2,000 copies of them, each allocated and freed. NULL when out
 * of memory. */
static struct finding_row *
row_view(const struct db_res *res, size_t i)
{
	static char no_tags[] = "{}";
	struct finding_row *r;

	if (res->ncols < C__N || (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->seq = db_cell_int(res, i, C_SEQ);
	snprintf(r->f.id, sizeof(r->f.id), "%s", cell_view(res, i, C_ID));
	finding_severity_from_str(db_cell(res, i, C_SEV), &r->f.severity);
	finding_state_from_str(db_cell(res, i, C_STATE), &r->f.state);
	finding_remediation_from_str(db_cell(res, i, C_REM),
	    &r->f.remediation);
	finding_resolver_from_str(db_cell(res, i, C_RBY), &r->f.resolved_by);
	r->f.awaiting_scan = db_cell_int(res, i, C_AWAIT) != 0;
	snprintf(r->f.fingerprint, sizeof(r->f.fingerprint), "%s",
	    cell_view(res, i, C_FP));
	r->f.accepted_until = cell_time(res, i, C_ACC_UNTIL);
	r->f.snoozed_until = cell_time(res, i, C_SNZ_UNTIL);
	r->f.detected_at = cell_time(res, i, C_DET);
	r->f.updated_at = cell_time(res, i, C_UPD);
	r->f.last_seen_at = cell_time(res, i, C_SEEN);
	r->f.resolved_at = cell_time(res, i, C_RESOLVED);
	r->rule_id = cell_view(res, i, C_RULE);
	r->provider = cell_view(res, i, C_PROVIDER);
	r->subscription_id = cell_view(res, i, C_SUB);
	r->environment = cell_view(res, i, C_ENV);
	r->resource_id = cell_view(res, i, C_RES);
	r->title = cell_view(res, i, C_TITLE);
	r->category = cell_view(res, i, C_CAT);
	r->layer = cell_view(res, i, C_LAYER);
	r->framework = cell_view(res, i, C_FW);
	r->description = cell_view(res, i, C_DESC);
	r->recommendation = cell_view(res, i, C_REC);
	r->evidence = cell_view(res, i, C_EVID);
	/* NULL stays NULL (unassigned, no notes) */
	r->assignee = res->cells[i * res->ncols + C_ASSIGNEE];
	r->notes = res->cells[i * res->ncols + C_NOTES];
	r->resource_name = cell_view(res, i, C_RNAME);
	r->resource_type = cell_view(res, i, C_RTYPE);
	r->resource_group = cell_view(res, i, C_RGROUP);
	r->region = cell_view(res, i, C_REGION);
	r->account = cell_view(res, i, C_ACCOUNT);
	r->tags = db_cell(res, i, C_TAGS) != NULL ? cell_view(res, i, C_TAGS) :
	    no_tags;
	r->source = cell_view(res, i, C_SOURCE);
	r->due_at = cell_time(res, i, C_DUE);
	return r;
}

/* Fill page with the rows of res (at most limit; one more says there is
 * a next page), taking res: the rows' strings are its own. 0 or DB_ERR. */
static int
page_fill(struct findings_page *page, struct db_res *res, long limit)
{
	size_t i;

	page->res = res;
	page->has_more = res->nrows > (size_t)limit;
	i = page->has_more ? (size_t)limit : res->nrows;
	if (i > 0 && (page->rows = calloc(i, sizeof(*page->rows))) == NULL)
		return DB_ERR;
	for (page->n = 0; page->n < i; page->n++)
		if ((page->rows[page->n] = row_view(res, page->n)) == NULL)
			return DB_ERR;
	return 0;
}

/* The parameters of one range of a list by state (FINDING_BY_STATE in
 * db.c): SQL_FINDING_LIST_*_ONLY's (tenant, value, state, five
 * severities, cursor, limit) and SQL_FINDING_LIST_RTYPE's and the other
 * metadata lists' (tenant, state, five severities, the filters from
 * category to source, cursor, limit). */
enum { ARM_ONLY = 10, ARM_BY = 7 + (LP_TAG - LP_CAT) + 2 };

/* Fill the six ranges' parameters of a list by state into q (six times
 * the head's n parameters, where the head's state is at head[st], then
 * the cursor and the limit; then the limit): a state asked for once gets
 * its range, any other range a NULL state and a limit of 0, which read
 * nothing. Returns how many parameters were written. */
static size_t
by_state_params(struct db_val *q, const struct db_val *head, size_t n,
    size_t st, const struct findings_filter *f, const struct db_val *p)
{
	size_t a, b, k = 0;
	int dup;

	for (a = 0; a < 6; a++) {
		dup = a >= f->nstate;
		for (b = 0; !dup && b < a; b++)
			dup = strcmp(f->state[a], f->state[b]) == 0;
		memcpy(q + k, head, n * sizeof(*q));
		q[k + st] = dup ? DB_NUL : DB_STR(f->state[a]);
		q[k + n] = p[LP_BEFORE];
		q[k + n + 1] = dup ? DB_INT(0) : p[LP_LIMIT];
		k += n + 2;
	}
	q[k++] = p[LP_LIMIT];
	return k;
}

/* The distinct values of v[0..n) into out, in their order; their
 * number. */
static size_t
distinct(const char *const *v, size_t n, const char **out)
{
	size_t a, b, k = 0;

	for (a = 0; a < n; a++) {
		for (b = 0; b < k && strcmp(v[a], out[b]) != 0; b++)
			;
		if (b == k)
			out[k++] = v[a];
	}
	return k;
}

/* The parameters of SQL_FINDING_LIST_PAIRS_4 or _24 (narms ranges): a
 * range per pair (st[k], sev[k]) of the n given, the others a NULL state
 * and severity and a limit of 0. Returns how many were written. */
static size_t
pairs_params(struct db_val *q, size_t narms, const char *const *st,
    const char *const *sev, size_t n, const struct db_val *p)
{
	const size_t nf = LP_RTYPE - LP_CAT;	/* category to since */
	size_t a, k = 0;
	int live;

	for (a = 0; a < narms; a++) {
		live = a < n;
		q[k++] = p[LP_TENANT];
		q[k++] = live ? DB_STR(st[a]) : DB_NUL;
		q[k++] = live ? DB_STR(sev[a]) : DB_NUL;
		memcpy(q + k, p + LP_CAT, nf * sizeof(*q));
		k += nf;
		q[k++] = p[LP_BEFORE];
		q[k++] = live ? p[LP_LIMIT] : DB_INT(0);
	}
	q[k++] = p[LP_LIMIT];
	return k;
}

enum { RANGE_WALK, RANGE_PAIRS, RANGE_STATES };

/* Whether the list of the states st[0..*ns) and severities sev[0..nv)
 * (and f's category) walks one index and filters (RANGE_WALK), or reads
 * ranges, from the kept counts per (state, severity) in cnt
 * (SQL_FINDING_COUNT_PAIRS). The walk's matches can be rare among what
 * it passes over: all of a large tenant for a rare pair. So it is kept
 * only when they make up at least a quarter of what it walks (the
 * tenant's findings for several states, the state's for one). Else one
 * range per (state, severity) pair asked for (RANGE_PAIRS: st and sev
 * rewritten as the pairs, *ns their number; at most six states by four
 * severities), or, with every severity or with a category, one range of
 * the state (and category) per state asked for (RANGE_STATES). Every
 * pair or state asked for gets its range, whatever its count says: the
 * counts only choose the way, the rows are the index's. Returns the
 * total, as SQL_FINDING_COUNT would sum it. */
static long long
ranges_choose(const struct db_res *cnt, const struct findings_filter *f,
    const char **st, size_t *ns, const char **sev, size_t nv, int *how)
{
	const char *pst[24], *psev[24];
	long long total = 0, walked = 0, all, cat;
	size_t i, a, b, np = 0;
	int want_st, want_sev;

	for (i = 0; i < cnt->nrows; i++) {
		all = db_cell_int(cnt, i, 2);
		cat = db_cell_int(cnt, i, 3);
		for (a = 0, want_st = 0; a < *ns && !want_st; a++)
			want_st = strcmp(db_cell(cnt, i, 0), st[a]) == 0;
		for (b = 0, want_sev = 0; b < nv && !want_sev; b++)
			want_sev = strcmp(db_cell(cnt, i, 1), sev[b]) == 0;
		/* what the one walk passes over: every finding (several
		 * states), or the state's (of the category with one) */
		if (*ns > 1)
			walked += all;
		else if (want_st)
			walked += f->category != NULL ? cat : all;
		if (want_st && want_sev)
			total += cat;
	}
	*how = RANGE_WALK;
	if (total <= 0 || total * 4 >= walked)
		return total;
	if (f->category != NULL || nv == 5) {
		if (*ns > 1)
			*how = RANGE_STATES;
		return total;	/* one state: (state, category) pinned */
	}
	for (a = 0; a < *ns; a++)
		for (b = 0; b < nv && np < NELEM(pst); b++) {
			pst[np] = st[a];
			psev[np++] = sev[b];
		}
	memcpy(st, pst, np * sizeof(*st));
	memcpy(sev, psev, np * sizeof(*sev));
	*ns = np;
	*how = RANGE_PAIRS;
	return total;
}

/* A list with one metadata filter (its value at p[col]) beside state and
 * severity: the total from the kept counts (SQL_FINDING_COUNT_META_KEPT,
 * exact), then SQL_FINDING_LIST_*_ONLY, one bounded range per state. 0
 * or a DB_* code. */
static int
findings_list_only(struct db *db, const struct db_val *p, int col,
    const struct findings_filter *f, struct findings_page *page)
{
	struct db_res *res = NULL, *cnt = NULL;
	struct db_val c[4 + (LP_CAT - LP_STATE)], head[ARM_ONLY - 2];
	struct db_val q[6 * ARM_ONLY + 1];
	const size_t nsel = LP_CAT - LP_STATE;
	enum db_stmt list;
	size_t n;
	int rc, dim;

	list = col == LP_RTYPE ? SQL_FINDING_LIST_RTYPE_ONLY :
	    col == LP_RGROUP ? SQL_FINDING_LIST_RGROUP_ONLY :
	    col == LP_REGION ? SQL_FINDING_LIST_REGION_ONLY :
	    SQL_FINDING_LIST_SOURCE_ONLY;
	dim = col == LP_RTYPE ? 1 : col == LP_RGROUP ? 2 :
	    col == LP_REGION ? 3 : 4;
	c[0] = p[LP_TENANT];
	c[1] = DB_INT(dim);
	c[2] = dim < 4 ? p[col] : DB_STR("");
	c[3] = dim < 4 ? DB_STR("") : p[col];
	memcpy(c + 4, p + LP_STATE, nsel * sizeof(*c));
	if ((rc = db_exec(db, SQL_FINDING_COUNT_META_KEPT, c, NELEM(c),
	    &cnt)) != 0)
		goto out;
	page->total = db_cell_int(cnt, 0, 0);
	if (page->total <= 0) {
		page->total = 0;
		goto out;
	}
	head[0] = p[LP_TENANT];
	head[1] = p[col];
	head[2] = DB_NUL;	/* the state, per range */
	memcpy(head + 3, p + LP_SEV, 5 * sizeof(*head));
	n = by_state_params(q, head, NELEM(head), 2, f, p);
	if ((rc = db_exec(db, list, q, n, &res)) != 0)
		goto out;
	rc = page_fill(page, res, f->limit);
	res = NULL;		/* the page's now */
out:
	db_res_free(res);
	db_res_free(cnt);
	return rc;
}

/* The parameters of SQL_FINDING_LIST_DUE_ROWS and SQL_FINDING_COUNT_DUE_ROWS
 * (the count takes those before DP_AFTER); SQL_FINDING_LIST_DUE and
 * SQL_FINDING_COUNT_DUE take the same without DP_CAT..DP_AFTER. */
enum {
	DP_TENANT, DP_FROM, DP_TO = DP_FROM + 2, DP_SEV = DP_TO + 2,
	DP_CAT = DP_SEV + 5, DP_SUB = DP_CAT + 2, DP_ENV = DP_SUB + 2,
	DP_AFTER = DP_ENV + 2, DP_SEQ = DP_AFTER + 2, DP_LIMIT, DP__N
};

/* The open findings due in [from, to) (0: unbounded) among severities
 * p[DP_SEV..]: from findings_due, at most LIST_SINCE_CAP. *n set; 0 or a
 * DB_* code. */
static int
due_count_range(struct db *db, const struct db_val *p, time_t from,
    time_t to, long long *n)
{
	struct db_res *cnt = NULL;
	struct db_val q[DP_CAT];
	char f[VTIME_SQL_LEN], t[VTIME_SQL_LEN];
	int rc;

	memcpy(q, p, sizeof(q));
	vtime_sql(from, f, sizeof(f));
	vtime_sql(to, t, sizeof(t));
	q[DP_FROM] = q[DP_FROM + 1] = from ? DB_STR(f) : DB_NUL;
	q[DP_TO] = q[DP_TO + 1] = to ? DB_STR(t) : DB_NUL;
	if ((rc = db_exec(db, SQL_FINDING_COUNT_DUE, q, DP_CAT, &cnt)) == 0)
		*n = db_cell_int(cnt, 0, 0);
	db_res_free(cnt);
	return rc;
}

/* The total of a list by due date without category, subscription_id or
 * environment, exact in a few reads whatever the tenant holds: the kept
 * counts of the whole days strictly between the bounds' days
 * (finding_due_counts), plus the findings due in each bound's own day on
 * the right side of it, from the index (each part capped at
 * LIST_SINCE_CAP: a day with more findings due than that makes the total
 * a lower bound). 0 or a DB_* code. */
static int
due_total(struct db *db, const struct db_val *p, time_t from, time_t to,
    long long *total)
{
	struct db_res *sum = NULL;
	struct db_val q[1 + 5 + 4];
	char fd[VTIME_SQL_LEN], td[VTIME_SQL_LEN];
	time_t fday = from - from % 86400, tday = to - to % 86400;
	long long part;
	int rc;

	*total = 0;
	/* overdue=false with a due_before already past: nothing between. */
	if (from && to && to <= from)
		return 0;
	if (from && to && fday == tday)
		return due_count_range(db, p, from, to, total);
	vtime_sql(fday, fd, sizeof(fd));
	vtime_sql(tday, td, sizeof(td));
	/* DATE columns compare with the day's midnight as text. */
	fd[10] = td[10] = '\0';
	q[0] = p[DP_TENANT];
	memcpy(q + 1, p + DP_SEV, 5 * sizeof(*q));
	q[6] = q[7] = from ? DB_STR(fd) : DB_NUL;
	q[8] = q[9] = to ? DB_STR(td) : DB_NUL;
	if ((rc = db_exec(db, SQL_FINDING_DUE_DAYS, q, NELEM(q), &sum)) != 0)
		goto out;
	*total = db_cell_int(sum, 0, 0);
	if (from && (rc = due_count_range(db, p, from, fday + 86400,
	    &part)) == 0)
		*total += part;
	if (rc == 0 && to && tday < to &&
	    (rc = due_count_range(db, p, tday, to, &part)) == 0)
		*total += part;
out:
	db_res_free(sum);
	return rc;
}

/* findings_list by due date (f->due): the count (kept, or bounded with
 * the filters findings_due lacks), then the page along findings_due. 0
 * or a DB_* code. */
static int
findings_list_due(struct db *db, const char *tenant_id,
    const struct findings_filter *f, struct findings_page *page)
{
	struct db_res *res = NULL, *cnt = NULL;
	struct db_val p[DP__N];
	char from[VTIME_SQL_LEN], to[VTIME_SQL_LEN], after[VTIME_SQL_LEN];
	size_t i, n;
	int rc, rows;

	vtime_sql(f->due_from, from, sizeof(from));
	vtime_sql(f->due_to, to, sizeof(to));
	/* Before any date a DATETIME holds: the first page. */
	if (f->due_after != 0)
		vtime_sql(f->due_after, after, sizeof(after));
	else
		snprintf(after, sizeof(after), "1000-01-01 00:00:00");
	p[DP_TENANT] = DB_STR(tenant_id);
	p[DP_FROM] = p[DP_FROM + 1] = f->due_from ? DB_STR(from) : DB_NUL;
	p[DP_TO] = p[DP_TO + 1] = f->due_to ? DB_STR(to) : DB_NUL;
	for (i = 0; i < 5; i++)
		p[DP_SEV + i] = DB_STR(f->severity[i < f->nseverity ? i :
		    f->nseverity - 1]);
	p[DP_CAT] = p[DP_CAT + 1] = DB_STR0(f->category);
	p[DP_SUB] = p[DP_SUB + 1] = DB_STR0(f->subscription_id);
	p[DP_ENV] = p[DP_ENV + 1] = DB_STR0(f->environment);
	p[DP_AFTER] = p[DP_AFTER + 1] = DB_STR(after);
	p[DP_SEQ] = DB_INT(f->seq_after);
	p[DP_LIMIT] = DB_INT(f->limit + 1);
	rows = f->category != NULL || f->subscription_id != NULL ||
	    f->environment != NULL;
	n = DP__N;
	if (!rows) {
		/* Close up the filters those statements do not name. */
		memmove(p + DP_CAT, p + DP_AFTER,
		    (DP__N - DP_AFTER) * sizeof(*p));
		n -= DP_AFTER - DP_CAT;
	}
	if (rows) {
		if ((rc = db_exec(db, SQL_FINDING_COUNT_DUE_ROWS, p, DP_AFTER,
		    &cnt)) != 0)
			goto out;
		page->total = db_cell_int(cnt, 0, 0);
	} else if ((rc = due_total(db, p, f->due_from, f->due_to,
	    &page->total)) != 0)
		goto out;
	if (page->total == 0)
		goto out;
	if ((rc = db_exec(db, rows ? SQL_FINDING_LIST_DUE_ROWS :
	    SQL_FINDING_LIST_DUE, p, n, &res)) != 0)
		goto out;
	rc = page_fill(page, res, f->limit);
	res = NULL;		/* the page's now */
out:
	db_res_free(res);
	db_res_free(cnt);
	return rc;
}

int
findings_list(struct db *db, const char *tenant_id,
    const struct findings_filter *f, struct findings_page **out)
{
	struct findings_page *page;
	struct db_res *res = NULL, *cnt = NULL;
	struct db_val p[LP__N];
	char since_sql[VTIME_SQL_LEN];
	enum db_stmt stmt;
	const char *st[24], *sev[24];
	size_t i, np, ns, nv;
	int rc, tag, meta, only, kept, pairs, ranged;

	*out = NULL;
	if ((page = calloc(1, sizeof(*page))) == NULL)
		return DB_ERR;
	if (f->due) {
		if ((rc = findings_list_due(db, tenant_id, f, page)) == 0) {
			*out = page;
			page = NULL;
		}
		goto out;
	}
	if (f->since)
		vtime_sql(f->since, since_sql, sizeof(since_sql));
	/* Fill the IN lists' five slots by repeating the last value. */
	p[LP_TENANT] = DB_STR(tenant_id);
	for (i = 0; i < 6; i++)
		p[LP_STATE + i] = DB_STR(f->state[i < f->nstate ? i :
		    f->nstate - 1]);
	for (i = 0; i < 5; i++) {
		p[LP_SEV + i] = DB_STR(f->severity[i < f->nseverity ? i :
		    f->nseverity - 1]);
	}
	p[LP_CAT] = p[LP_CAT + 1] = DB_STR0(f->category);
	p[LP_SUB] = p[LP_SUB + 1] = DB_STR0(f->subscription_id);
	p[LP_ENV] = p[LP_ENV + 1] = DB_STR0(f->environment);
	p[LP_SINCE] = p[LP_SINCE + 1] = f->since ? DB_STR(since_sql) :
	    DB_NUL;
	p[LP_RTYPE] = p[LP_RTYPE + 1] = DB_STR0(f->resource_type);
	p[LP_RGROUP] = p[LP_RGROUP + 1] = DB_STR0(f->resource_group);
	p[LP_REGION] = p[LP_REGION + 1] = DB_STR0(f->region);
	p[LP_SOURCE] = p[LP_SOURCE + 1] = DB_STR0(f->source);
	tag = f->tag_key != NULL && f->tag_value != NULL;
	p[LP_TAG] = p[LP_TAG + 1] = tag ? DB_STR(f->tag_key) : DB_NUL;
	p[LP_TAG + 2] = tag ? DB_STR(f->tag_value) : DB_NUL;
	meta = tag || f->resource_type != NULL || f->resource_group != NULL ||
	    f->region != NULL || f->source != NULL;
	p[LP_BEFORE] = DB_INT(f->before);
	/* One row more than asked tells whether there is a next page. */
	p[LP_LIMIT] = DB_INT(f->limit + 1);
	ns = distinct(f->state, f->nstate, st);
	nv = distinct(f->severity, f->nseverity, sev);
	/* States, severities and a category alone: the kept counts per
	 * (state, severity) say how rare the findings asked for are among
	 * those the one walk would pass over (ranges_choose); not read when
	 * nothing is filtered along the walk (one state with every
	 * severity, one severity or a category: its own range). */
	ranged = !meta && f->subscription_id == NULL &&
	    f->environment == NULL && !f->since &&
	    !(ns == 1 && (nv == 5 || nv == 1 || f->category != NULL));
	pairs = 0;
	/* One metadata filter beside state and severity: the statements
	 * that read its index alone. */
	only = -1;
	/* A tag alone beside state and severity: its kept total (0055). */
	kept = tag && f->category == NULL && f->subscription_id == NULL &&
	    f->environment == NULL && !f->since && f->resource_type == NULL &&
	    f->resource_group == NULL && f->region == NULL && f->source == NULL;
	if (!tag && f->category == NULL && f->subscription_id == NULL &&
	    f->environment == NULL && !f->since &&
	    (f->resource_type != NULL) + (f->resource_group != NULL) +
	    (f->region != NULL) + (f->source != NULL) == 1)
		only = f->resource_type != NULL ? LP_RTYPE :
		    f->resource_group != NULL ? LP_RGROUP :
		    f->region != NULL ? LP_REGION : LP_SOURCE;
	if (only >= 0) {
		rc = findings_list_only(db, p, only, f, page);
		if (rc == 0) {
			*out = page;
			page = NULL;
		}
		goto out;
	}
	/* The count first: an empty answer needs no walk at all. Then the
	 * index whose order is the page's order and whose prefix the
	 * filters pin down (EXPLAIN in make bench). */
	if (tag && kept) {
		/* the tenant, the tag, the states and severities */
		struct db_val q[3 + (LP_CAT - LP_STATE)];

		q[0] = p[LP_TENANT];
		memcpy(&q[1], &p[LP_TAG + 1], 2 * sizeof(q[0]));
		memcpy(&q[3], &p[LP_STATE], (LP_CAT - LP_STATE) *
		    sizeof(q[0]));
		rc = db_exec(db, SQL_FINDING_COUNT_TAG_KEPT, q, NELEM(q),
		    &cnt);
	} else if (tag) {
		/* the tenant and the tag first (the walk of finding_tags),
		 * then the tenant and the filters */
		struct db_val q[LP_TAG + 4];

		q[0] = p[LP_TENANT];
		memcpy(&q[1], &p[LP_TAG], 3 * sizeof(q[0]));
		memcpy(&q[4], p, LP_TAG * sizeof(q[0]));
		rc = db_exec(db, SQL_FINDING_COUNT_TAG, q, NELEM(q), &cnt);
	} else if (meta)
		rc = db_exec(db, SQL_FINDING_COUNT_META, p, LP_TAG, &cnt);
	else if (f->since)
		rc = findings_count_since(db, p, &cnt);
	else if (ranged) {
		/* one state: its rows alone (all that its walk passes) */
		struct db_val c[5];

		c[0] = c[1] = p[LP_CAT];
		c[2] = p[LP_TENANT];
		c[3] = c[4] = ns == 1 ? DB_STR(st[0]) : DB_NUL;
		rc = db_exec(db, SQL_FINDING_COUNT_PAIRS, c, NELEM(c), &cnt);
	} else
		rc = db_exec(db, SQL_FINDING_COUNT, p, LP_SINCE, &cnt);
	if (rc != 0)
		goto out;
	if (ranged)
		page->total = ranges_choose(cnt, f, st, &ns, sev, nv, &pairs);
	else
		page->total = db_cell_int(cnt, 0, 0);
	/* With "since" or metadata, no match is certain only below the
	 * cap (a kept count is exact). */
	if (page->total <= 0 && (!(f->since || meta) || kept || ranged ||
	    db_cell_int(cnt, 0, LIST_SINCE_C_READ) < (tag ? LIST_TAG_CAP :
	    LIST_SINCE_CAP))) {
		page->total = 0;	/* a kept count that drifted below */
		*out = page;
		page = NULL;
		goto out;
	}
	if (kept) {
		/* A tag alone: one range of finding_tags_state per state
		 * (0056), its entries' state and severity in the index. */
		struct db_val head[9], q[6 * 11 + 1];

		head[0] = p[LP_TENANT];
		head[1] = p[LP_TAG + 1];
		head[2] = p[LP_TAG + 2];
		head[3] = DB_NUL;	/* the state, per range */
		memcpy(head + 4, p + LP_SEV, 5 * sizeof(*head));
		np = by_state_params(q, head, NELEM(head), 3, f, p);
		if ((rc = db_exec(db, SQL_FINDING_LIST_TAG_ONLY, q, np,
		    &res)) != 0)
			goto out;
		rc = page_fill(page, res, f->limit);
		res = NULL;	/* the page's now */
		if (rc == 0) {
			*out = page;
			page = NULL;
		}
		goto out;
	}
	/* The most selective metadata filter drives the walk: a tag, then
	 * a resource group, a type, a source, a region. */
	if (tag)
		stmt = SQL_FINDING_LIST_TAG;
	else if (f->resource_group != NULL)
		stmt = SQL_FINDING_LIST_RGROUP;
	else if (f->resource_type != NULL)
		stmt = SQL_FINDING_LIST_RTYPE;
	else if (f->source != NULL)
		stmt = SQL_FINDING_LIST_SOURCE;
	else if (f->region != NULL)
		stmt = SQL_FINDING_LIST_REGION;
	else if (pairs == RANGE_PAIRS)
		stmt = ns <= 4 ? SQL_FINDING_LIST_PAIRS_4 :
		    SQL_FINDING_LIST_PAIRS_24;
	else if (pairs == RANGE_STATES)
		stmt = f->category != NULL ? SQL_FINDING_LIST_STATES_CAT :
		    SQL_FINDING_LIST_STATES;
	else if (f->nstate > 1)
		stmt = SQL_FINDING_LIST_SCAN;
	else if (f->nseverity == 1)
		stmt = SQL_FINDING_LIST_SEV;
	else if (f->category != NULL)
		stmt = SQL_FINDING_LIST_CAT;
	else
		stmt = SQL_FINDING_LIST;
	if (pairs == RANGE_PAIRS) {
		struct db_val q[24 * (LP_RTYPE - LP_CAT + 5) + 1];

		np = pairs_params(q, ns <= 4 ? 4 : 24, st, sev, ns, p);
		rc = db_exec(db, stmt, q, np, &res);
	} else if (pairs == RANGE_STATES) {
		/* One range per state: the tenant, the state, the
		 * severities, the filters from category to since. */
		struct db_val head[7 + LP_RTYPE - LP_CAT];
		struct db_val q[6 * (NELEM(head) + 2) + 1];
		struct findings_filter g = *f;

		head[0] = p[LP_TENANT];
		head[1] = DB_NUL;
		memcpy(head + 2, p + LP_SEV, (LP_RTYPE - LP_SEV) *
		    sizeof(*head));
		memcpy(g.state, st, ns * sizeof(*st));
		g.nstate = ns;
		np = by_state_params(q, head, NELEM(head), 1, &g, p);
		rc = db_exec(db, stmt, q, np, &res);
	} else if (meta && !tag) {
		/* One range per state (FINDING_LIST_BY): the tenant, the
		 * state, the severities and the other filters. */
		struct db_val head[ARM_BY - 2], q[6 * ARM_BY + 1];

		head[0] = p[LP_TENANT];
		head[1] = DB_NUL;
		memcpy(head + 2, p + LP_SEV, (LP_TAG - LP_SEV) *
		    sizeof(*head));
		np = by_state_params(q, head, NELEM(head), 1, f, p);
		rc = db_exec(db, stmt, q, np, &res);
	} else {
		/* The statement's prefix, then the cursor and the limit. */
		np = tag ? LP_BEFORE : LP_RTYPE;
		p[np] = p[LP_BEFORE];
		p[np + 1] = p[LP_LIMIT];
		rc = db_exec(db, stmt, p, np + 2, &res);
	}
	if (rc != 0)
		goto out;
	rc = page_fill(page, res, f->limit);
	res = NULL;		/* the page's now */
	if (rc != 0)
		goto out;
	/* A tag's total stopped at its cap is a lower bound: never below
	 * what this page shows. */
	if (tag && !kept && page->total < (long long)page->n + page->has_more)
		page->total = (long long)page->n + page->has_more;
	*out = page;
	page = NULL;
out:
	db_res_free(res);
	db_res_free(cnt);
	findings_page_free(page);
	return rc;
}

/* Columns of SQL_HISTORY_LIST. */
int
findings_history(struct db *db, const char *tenant_id, const char *id,
    json_object **out)
{
	struct finding_row *row = NULL;
	int rc;

	*out = NULL;
	/* The finding first: a finding without history is not "none". */
	if ((rc = findings_load(db, tenant_id, id, 0, &row)) <= 0)
		return rc;
	findings_row_free(row);
	return page_history(db, SQL_HISTORY_LIST, tenant_id, id,
	    "finding_id", out);
}

/* A tenant's lifecycle settings by statement s (allow_auto_remediate,
 * or no row or NULL: the default). 0 or DB_*. */
static int
settings_read(struct db *db, enum db_stmt s, const char *tenant_id,
    struct lc_tenant *out)
{
	struct db_res *res = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = db_exec(db, s, (struct db_val[]){ DB_STR(tenant_id) }, 1,
	    &res)) != 0)
		return rc;
	if (res->nrows > 0)
		out->allow_auto_remediate = db_cell_int(res, 0, 0) != 0;
	db_res_free(res);
	return 0;
}

int
findings_tenant_settings(struct db *db, const char *tenant_id,
    struct lc_tenant *out)
{
	return settings_read(db, SQL_SETTINGS_LIFECYCLE, tenant_id, out);
}

/* The tenant's row lock and its lifecycle settings, in one round trip:
 * a batch's first statement. 0 or DB_*. */
static int
lock_tenant_settings(struct db *db, const char *tenant_id,
    struct lc_tenant *out)
{
	return settings_read(db, SQL_SETTINGS_LIFECYCLE_LOCK, tenant_id, out);
}

/* A DATETIME parameter for t, or NULL for 0. buf holds the text. */
static struct db_val
time_val(time_t t, char *buf, size_t bufsz)
{
	if (t == 0)
		return DB_NUL;
	vtime_sql(t, buf, bufsz);
	return DB_STR(buf);
}

/* The resolved_by column: 'none' when nobody resolved it. */
static const char *
resolver_db(enum finding_resolver v)
{
	const char *s = finding_resolver_str(v);

	return s ? s : "none";
}

static int
write_state(struct db *db, const char *tenant_id, long long seq,
    const struct finding *f)
{
	char acc[VTIME_SQL_LEN], snz[VTIME_SQL_LEN], det[VTIME_SQL_LEN];
	char upd[VTIME_SQL_LEN], seen[VTIME_SQL_LEN], res[VTIME_SQL_LEN];

	return db_exec(db, SQL_FINDING_UPDATE_STATE, (struct db_val[]){
	    DB_STR(finding_severity_str(f->severity)),
	    DB_STR(finding_state_str(f->state)),
	    DB_STR(finding_remediation_str(f->remediation)),
	    DB_STR(resolver_db(f->resolved_by)),
	    DB_INT(f->awaiting_scan), DB_STR(f->fingerprint),
	    time_val(f->accepted_until, acc, sizeof(acc)),
	    time_val(f->snoozed_until, snz, sizeof(snz)),
	    time_val(f->detected_at, det, sizeof(det)),
	    time_val(f->updated_at, upd, sizeof(upd)),
	    time_val(f->last_seen_at, seen, sizeof(seen)),
	    time_val(f->resolved_at, res, sizeof(res)),
	    DB_INT(seq), DB_STR(tenant_id), DB_STR(f->id) }, 15, NULL);
}

/* The history rows, events and audit entry of a decision applied to
 * row (already holding the new state). */
static int
write_effects(struct db *db, const char *tenant_id,
    const struct finding_row *row, const struct lc_result *res,
    const char *actor, struct audit_head *head)
{
	json_object *detail = NULL, *actions;
	char at[VTIME_SQL_LEN];
	size_t i;
	int rc = 0;

	for (i = 0; i < res->nhistory; i++) {
		const struct lc_history *h = &res->history[i];
		size_t len;
		const char *fields = vjson_str(h->fields, &len);

		vtime_sql(h->timestamp, at, sizeof(at));
		rc = db_exec(db, SQL_HISTORY_INSERT, (struct db_val[]){
		    DB_STR(tenant_id), DB_STR(row->f.id), DB_STR(h->action),
		    DB_STR(at), DB_STR(h->by), DB_STRN(fields, len) }, 6,
		    NULL);
		if (rc != 0)
			return rc;
	}
	for (i = 0; i < res->nevents; i++) {
		json_object *data;
		time_t now = res->nhistory ?
		    res->history[0].timestamp : row->f.updated_at;

		data = json_object_new_object();
		json_object_object_add(data, "finding",
		    findings_to_json(row, 0));
		if ((rc = events_append(db, tenant_id, res->events[i], now,
		    data, NULL)) != 0)
			return rc;
	}
	if (res->nhistory == 0)
		return 0;
	/* One audit entry per change, naming what the history says. */
	detail = json_object_new_object();
	actions = json_object_new_array();
	for (i = 0; i < res->nhistory; i++)
		json_object_array_add(actions,
		    lifecycle_history_json(&res->history[i]));
	json_object_object_add(detail, "history", actions);
	add_str(detail, "state", finding_state_str(row->f.state));
	/* Named after the input's own entry: an expiry the lifecycle
	 * settled first comes before it in the history. Every findings
	 * transaction holds the tenant row already (lock_tenant), and a
	 * single action read the chain's head with it. */
	if (head != NULL)
		rc = audit_append_head(db, tenant_id, head, actor,
		    res->history[res->nhistory - 1].action, row->f.id, detail);
	else
		rc = audit_append_locked(db, tenant_id, actor,
		    res->history[res->nhistory - 1].action, row->f.id, detail);
	json_object_put(detail);
	return rc;
}

/* Within the caller's transaction, which holds the tenant's row lock:
 * the action on row (locked; taken: freed, or handed back in *after)
 * and its writes, the audit entry after head (refusals leave nothing
 * written). */
static enum findings_outcome
findings_decide(struct db *db, const char *tenant_id,
    struct finding_row *row, struct audit_head *head,
    const struct lc_input *in, const char *actor, time_t now,
    struct lc_result *res, struct finding_row **after, int *rc)
{
	struct lc_tenant tenant;

	*after = NULL;
	*rc = 0;
	memset(res, 0, sizeof(*res));
	/* Only remediation asks the tenant's settings: the other actions
	 * spare the round trip (under the tenant's lock). */
	memset(&tenant, 0, sizeof(tenant));
	if ((in->kind == LC_REMEDIATE || in->kind == LC_APPROVE_REMEDIATION) &&
	    (*rc = findings_tenant_settings(db, tenant_id, &tenant)) != 0)
		goto dberr;
	if (lifecycle_apply(&row->f, in, now, &tenant, res) != 0) {
		*rc = DB_ERR;
		goto dberr;
	}
	if (res->status != 0) {
		findings_row_free(row);
		return FINDINGS_REFUSED;
	}
	row->f = res->finding;
	/* A renewal can leave the row as it was and still be an action
	 * with its history entry and event: write whenever there is
	 * something to record. */
	if (res->changed || res->nhistory > 0 || res->nevents > 0) {
		if ((*rc = write_state(db, tenant_id, row->seq,
		    &row->f)) != 0 ||
		    (*rc = write_effects(db, tenant_id, row, res, actor,
		    head)) != 0)
			goto dberr;
	}
	*after = row;
	return FINDINGS_OK;
dberr:
	findings_row_free(row);
	return FINDINGS_DB_ERROR;
}

/* Every findings transaction takes the tenant row first (an action on
 * one finding with the finding and the chain's head, lock_load_head):
 * audit_append needs it anyway, and one lock order (tenant, finding,
 * counts, audit) leaves nothing to deadlock on between writers of one
 * tenant. */
static int
lock_tenant(struct db *db, const char *tenant_id)
{
	return db_exec(db, SQL_KEY_LOCK_TENANT,
	    (struct db_val[]){ DB_STR(tenant_id) }, 1, NULL);
}

/* SQL_FINDING_LOCK_HEAD's columns after FINDING_COLS. */
enum { C_HEAD_SEQ = C__N, C_HEAD_HASH };

/* The first statement of an action on one finding: the tenant's row
 * lock, the finding (locked) and the audit chain's head, in one round
 * trip. 1 with *out (free with findings_row_free) and *head set, 0 if
 * the tenant has no such finding, or a DB_* code. */
static int
lock_load_head(struct db *db, const char *tenant_id, const char *id,
    struct finding_row **out, struct audit_head *head)
{
	struct db_res *res = NULL;
	int rc;

	*out = NULL;
	rc = db_exec(db, SQL_FINDING_LOCK_HEAD,
	    (struct db_val[]){ DB_STR(id), DB_STR(tenant_id) }, 2, &res);
	if (rc != 0)
		return rc;
	if (res->nrows == 0 || db_cell(res, 0, C_ID) == NULL) {
		db_res_free(res);
		return 0;
	}
	audit_head_set(head, db_cell(res, 0, C_HEAD_SEQ),
	    db_cell(res, 0, C_HEAD_HASH));
	*out = findings_row_at(res, 0);
	db_res_free(res);
	return *out ? 1 : DB_ERR;
}

/* findings_act's transaction: its inputs, and what one run decided. */
struct act_tx {
	const char		*tenant_id, *id, *actor;
	const struct lc_input	*in;
	time_t			 now;
	struct lc_result	*res;
	struct finding_row	**after;
	enum findings_outcome	 o;
	int			 rc;
	/* findings_act_mute: in is decided afresh under the row's lock */
	int			 recheck;
	const char		*gone_rule, *reason;
};

/* What a rule pass or a reconcile does to a finding in state st that
 * rule hit matches (NULL: none does): an open one is muted by it, a
 * muted one given back (its history naming gone_rule and reason). 1 with
 * in filled, 0 when neither applies. */
static int
mute_verdict(enum finding_state st, const char *hit, const char *gone_rule,
    const char *reason, struct lc_input *in)
{
	memset(in, 0, sizeof(*in));
	if (st == FINDING_OPEN && hit != NULL) {
		in->kind = LC_MUTE;
		in->u.mute.rule_id = hit;
	} else if (st == FINDING_MUTED && hit == NULL) {
		in->kind = LC_UNMUTE;
		in->u.mute.rule_id = gone_rule;
		in->u.mute.reason = reason;
	} else
		return 0;
	return 1;
}

/* The subject a mute rule is matched against: a stored finding, with
 * its sources in ms (NULL: none read, no rule names a source). */
static void
row_subject(const struct finding_row *row, const struct mute_sources *ms,
    struct mute_subject *s)
{
	memset(s, 0, sizeof(*s));
	s->rule_id = row->rule_id;
	s->source = row->source;
	s->provider = row->provider;
	s->resource_id = row->resource_id;
	s->resource_group = row->resource_group;
	s->subscription_id = row->subscription_id;
	s->environment = row->environment;
	s->tags = row->tags;
	mutes_sources_of(ms, row->f.id, s);
}

/* The clock's tick on row: in (a copy of the tick) names the live mute
 * rule that matches the finding, so that one its expiry makes open is
 * muted at once, as a scan would mute it, not counted as open risk until
 * the next scan (README, Mute rules). The rules are kept in *set until
 * the decision is made. 0 or a DB_* code. */
static int
tick_mute(struct db *db, const char *tenant_id, const struct finding_row *row,
    time_t now, struct lc_input *in, struct mute_set *set)
{
	struct mute_sources ms;
	struct mute_subject s;
	const char *id = row->f.id;
	int rc;

	memset(&ms, 0, sizeof(ms));
	if ((rc = mutes_load_live(db, tenant_id, now, set)) != 0 ||
	    (mutes_need_sources(set) &&
	    (rc = mutes_sources_load(db, tenant_id, &id, 1, &ms)) != 0))
		return rc;
	row_subject(row, &ms, &s);
	in->u.tick.mute = mutes_match(set, &s);
	mutes_sources_free(&ms);
	return 0;
}

/* findings_act_mute's decision on row, locked, by the live rules read
 * into *set (kept until the decision is made): 1 with in filled (mute
 * or unmute), 0 when neither applies, or a DB_* code. */
static int
recheck_mute(struct db *db, const struct act_tx *a,
    const struct finding_row *row, struct lc_input *in,
    struct mute_set *set)
{
	struct mute_sources ms;
	struct mute_subject s;
	const char *id = row->f.id, *hit;
	int rc;

	if (row->f.state != FINDING_OPEN && row->f.state != FINDING_MUTED)
		return 0;
	memset(&ms, 0, sizeof(ms));
	if ((rc = mutes_load_live(db, a->tenant_id, a->now, set)) != 0 ||
	    (mutes_need_sources(set) && (rc = mutes_sources_load(db,
	    a->tenant_id, &id, 1, &ms)) != 0))
		return rc;
	row_subject(row, &ms, &s);
	hit = mutes_match(set, &s);	/* set's: lives on */
	mutes_sources_free(&ms);
	return mute_verdict(row->f.state, hit, a->gone_rule, a->reason, in);
}

static int
act_tx(struct db *db, void *arg)
{
	struct act_tx *a = arg;
	const struct lc_input *in = a->in;
	struct lc_input tick, pass;
	struct mute_set mutes = { NULL, 0 };
	struct finding_row *row;
	struct audit_head head;
	int found, rc;

	/* A rerun starts from nothing: the result of a rolled-back run
	 * (its history, events, the row after) is dropped. */
	findings_row_free(*a->after);
	*a->after = NULL;
	lifecycle_result_free(a->res);
	memset(a->res, 0, sizeof(*a->res));
	a->o = FINDINGS_DB_ERROR;
	a->rc = 0;
	if ((found = lock_load_head(db, a->tenant_id, a->id, &row,
	    &head)) < 0)
		return found;
	if (found == 0) {
		a->o = FINDINGS_NOT_FOUND;
		return 1;
	}
	if (a->recheck) {
		if ((rc = recheck_mute(db, a, row, &pass, &mutes)) <= 0) {
			mutes_set_free(&mutes);
			findings_row_free(row);
			if (rc < 0)
				return rc;
			a->o = FINDINGS_OK;	/* nothing to do */
			return 1;
		}
		in = &pass;
	}
	/* Only an expiry can make the finding open: the rules are read
	 * for an accepted or snoozed one alone. */
	if (in->kind == LC_TICK && (row->f.state == FINDING_ACCEPTED ||
	    row->f.state == FINDING_SNOOZED)) {
		tick = *in;
		if ((rc = tick_mute(db, a->tenant_id, row, a->now, &tick,
		    &mutes)) != 0) {
			mutes_set_free(&mutes);
			findings_row_free(row);
			return rc;
		}
		in = &tick;
	}
	a->o = findings_decide(db, a->tenant_id, row, &head, in, a->actor,
	    a->now, a->res, a->after, &a->rc);
	mutes_set_free(&mutes);
	if (a->o == FINDINGS_OK)
		return 0;
	if (a->o == FINDINGS_DB_ERROR)
		return a->rc != 0 ? a->rc : DB_ERR;
	return 1;
}

/* Run act_tx for a (findings_act, findings_act_mute). A deadlock, a
 * lock timeout or a certification failure rolls the whole transaction
 * back; db_tx_run runs it again from the start, which reads the finding
 * afresh and decides again, so the result is what a first run at that
 * moment would give, with one history entry, event and audit entry. */
static enum findings_outcome
act_run(struct db *db, struct act_tx *a, int *rc)
{
	int r;

	*a->after = NULL;
	memset(a->res, 0, sizeof(*a->res));
	r = db_tx_run(db, act_tx, a);
	*rc = r < 0 ? r : 0;
	if (r < 0) {
		findings_row_free(*a->after);
		*a->after = NULL;
		return FINDINGS_DB_ERROR;
	}
	return a->o;
}

enum findings_outcome
findings_act(struct db *db, const char *tenant_id, const char *id,
    const struct lc_input *in, const char *actor, time_t now,
    struct lc_result *res, struct finding_row **after, int *rc)
{
	struct act_tx a = { tenant_id, id, actor, in, now, res, after,
	    FINDINGS_DB_ERROR, 0, 0, NULL, NULL };

	return act_run(db, &a, rc);
}

enum findings_outcome
findings_act_mute(struct db *db, const char *tenant_id, const char *id,
    const char *gone_rule, const char *reason, time_t now,
    struct lc_result *res, struct finding_row **after, int *rc)
{
	struct lc_input none;
	struct act_tx a = { tenant_id, id, LC_BY_SYSTEM, &none, now, res,
	    after, FINDINGS_DB_ERROR, 0, 1, gone_rule, reason };

	memset(&none, 0, sizeof(none));
	return act_run(db, &a, rc);
}

/* findings_patch's transaction. */
struct patch_tx {
	const char		*tenant_id, *id, *assignee, *notes, *user;
	const char		*actor;
	int			 assignee_set, notes_set;
	time_t			 now;
	struct finding_row	*after;
	enum findings_outcome	 o;
};

static int
patch_tx(struct db *db, void *arg)
{
	struct patch_tx *a = arg;
	struct finding_row *row = NULL;
	struct lc_result res;
	struct audit_head head;
	char upd[VTIME_SQL_LEN];
	int found, rc;

	findings_row_free(a->after);
	a->after = NULL;
	a->o = FINDINGS_DB_ERROR;
	memset(&res, 0, sizeof(res));
	if ((found = lock_load_head(db, a->tenant_id, a->id, &row,
	    &head)) <= 0) {
		if (found == 0)
			a->o = FINDINGS_NOT_FOUND;
		return found == 0 ? 1 : found;
	}
	if (a->assignee_set) {
		free(row->assignee);
		row->assignee = a->assignee ? strdup(a->assignee) : NULL;
	}
	if (a->notes_set) {
		free(row->notes);
		row->notes = a->notes ? strdup(a->notes) : NULL;
	}
	row->f.updated_at = a->now;
	vtime_sql(a->now, upd, sizeof(upd));
	/* The history entry and event, in the lifecycle's shapes. */
	res.changed = 1;
	res.nhistory = 1;
	res.history[0].action = "updated";
	res.history[0].timestamp = a->now;
	snprintf(res.history[0].by, sizeof(res.history[0].by), "%s", a->user);
	res.history[0].fields = json_object_new_object();
	if (a->assignee_set)
		add_str(res.history[0].fields, "assignee", row->assignee);
	if (a->notes_set)
		add_str(res.history[0].fields, "notes", row->notes);
	res.nevents = 1;
	res.events[0] = "finding.updated";
	rc = db_exec(db, SQL_FINDING_PATCH, (struct db_val[]){
	    DB_STR0(row->assignee), DB_STR0(row->notes), DB_STR(upd),
	    DB_STR(a->tenant_id), DB_STR(a->id) }, 5, NULL);
	if (rc == 0)
		rc = write_effects(db, a->tenant_id, row, &res, a->actor,
		    &head);
	lifecycle_result_free(&res);
	if (rc != 0) {
		findings_row_free(row);
		return rc;
	}
	a->after = row;
	a->o = FINDINGS_OK;
	return 0;
}

enum findings_outcome
findings_patch(struct db *db, const char *tenant_id, const char *id,
    int assignee_set, const char *assignee, int notes_set, const char *notes,
    const char *user, const char *actor, time_t now,
    struct finding_row **after, int *rc)
{
	struct patch_tx a = { tenant_id, id, assignee, notes, user, actor,
	    assignee_set, notes_set, now, NULL, FINDINGS_DB_ERROR };
	int r;

	/* As findings_act: a transaction rolled back by a deadlock or a
	 * certification failure is run again from the start; it sets the
	 * same fields on the finding as it is then. */
	r = db_tx_run(db, patch_tx, &a);
	*rc = r < 0 ? r : 0;
	if (r < 0) {
		findings_row_free(a.after);
		a.after = NULL;
		a.o = FINDINGS_DB_ERROR;
	}
	*after = a.after;
	return a.o;
}

/* An observation's metadata string as stored: NULL is "". */
#define META(s)	((s) ? (s) : "")

static int
insert_row(struct db *db, const char *tenant_id,
    const struct finding_obs *obs, const struct finding *f,
    const char *evidence, size_t evlen)
{
	char acc[VTIME_SQL_LEN], snz[VTIME_SQL_LEN], det[VTIME_SQL_LEN];
	char upd[VTIME_SQL_LEN], seen[VTIME_SQL_LEN], res[VTIME_SQL_LEN];

	return db_exec(db, SQL_FINDING_INSERT, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(f->id), DB_STR(obs->rule_id),
	    DB_STR(obs->provider), DB_STR0(obs->integration_id),
	    DB_STR(obs->subscription_id),
	    DB_STR(obs->environment), DB_STR(obs->resource_id),
	    DB_STR(obs->title), DB_STR(finding_severity_str(f->severity)),
	    DB_STR(obs->category), DB_STR(obs->layer), DB_STR(obs->framework),
	    DB_STR(obs->description), DB_STR(obs->recommendation),
	    DB_STRN(evidence, evlen), DB_STR(f->fingerprint),
	    DB_STR(finding_state_str(f->state)),
	    DB_STR(finding_remediation_str(f->remediation)),
	    DB_STR(resolver_db(f->resolved_by)),
	    DB_INT(f->awaiting_scan),
	    time_val(f->accepted_until, acc, sizeof(acc)),
	    time_val(f->snoozed_until, snz, sizeof(snz)),
	    time_val(f->detected_at, det, sizeof(det)),
	    time_val(f->updated_at, upd, sizeof(upd)),
	    time_val(f->last_seen_at, seen, sizeof(seen)),
	    time_val(f->resolved_at, res, sizeof(res)),
	    DB_STR(META(obs->resource_name)), DB_STR(META(obs->resource_type)),
	    DB_STR(META(obs->resource_group)), DB_STR(META(obs->region)),
	    DB_STR(META(obs->account)),
	    DB_STR(obs->tags ? obs->tags : "{}"),
	    DB_STR(META(obs->source)) }, 34, NULL);
}

/* Copy the observation's descriptive columns into row (for events). */
static int
row_set_desc(struct finding_row *row, const struct finding_obs *obs,
    const char *evidence)
{
	char **dst[] = { &row->rule_id, &row->provider, &row->subscription_id,
	    &row->environment, &row->resource_id, &row->title, &row->category,
	    &row->layer, &row->framework, &row->description,
	    &row->recommendation, &row->evidence, &row->resource_name,
	    &row->resource_type, &row->resource_group, &row->region,
	    &row->account, &row->tags, &row->source };
	const char *src[] = { obs->rule_id, obs->provider,
	    obs->subscription_id, obs->environment, obs->resource_id,
	    obs->title, obs->category, obs->layer, obs->framework,
	    obs->description, obs->recommendation, evidence,
	    obs->resource_name, obs->resource_type, obs->resource_group,
	    obs->region, obs->account, obs->tags ? obs->tags : "{}",
	    obs->source };
	size_t i;

	for (i = 0; i < NELEM(dst); i++) {
		free(*dst[i]);
		if ((*dst[i] = strdup(src[i] ? src[i] : "")) == NULL)
			return -1;
	}
	return 0;
}

/* finding.updated on a "details change (... description updated)":
 * when a scan reports other descriptive text for a stored finding, add a
 * "details_updated" history entry naming the fields, and the event (unless
 * the lifecycle already raised it). -1 if out of memory. */
static int
desc_changed(struct finding_row *row, const struct finding_obs *obs,
    struct lc_result *res, time_t now)
{
	const char *names[] = { "title", "category", "layer", "framework",
	    "description", "recommendation", "subscription_id", "environment" };
	const char *old[] = { row->title, row->category, row->layer,
	    row->framework, row->description, row->recommendation,
	    row->subscription_id, row->environment };
	const char *cur[] = { obs->title, obs->category, obs->layer,
	    obs->framework, obs->description, obs->recommendation,
	    obs->subscription_id, obs->environment };
	struct lc_history *h;
	json_object *list = NULL;
	size_t i;

	for (i = 0; i < NELEM(names); i++)
		if (strcmp(old[i] ? old[i] : "", cur[i] ? cur[i] : "") != 0) {
			if (list == NULL && (list = json_object_new_array()) ==
			    NULL)
				return -1;
			json_object_array_add(list,
			    json_object_new_string(names[i]));
		}
	if (list == NULL)
		return 0;
	if (res->nhistory == LC_MAX_HISTORY) {
		json_object_put(list);
		return 0;
	}
	h = &res->history[res->nhistory++];
	memset(h, 0, sizeof(*h));
	h->action = "details_updated";
	h->timestamp = now;
	snprintf(h->by, sizeof(h->by), "%s", LC_BY_SCANNER);
	h->fields = json_object_new_object();
	json_object_object_add(h->fields, "fields", list);
	for (i = 0; i < res->nevents; i++)
		if (strcmp(res->events[i], "finding.updated") == 0)
			break;
	if (i == res->nevents && res->nevents < LC_MAX_EVENTS)
		res->events[res->nevents++] = "finding.updated";
	row->f.updated_at = now;
	res->finding.updated_at = now;
	res->changed = 1;
	return 0;
}

/* findings_observe's transaction: everything it computes is its own, so
 * that a rerun starts afresh. */
struct observe_tx {
	const char		*tenant_id;
	const struct finding_obs *obs;
	time_t			 now;
	char			*id_out;
};

static int
observe_tx(struct db *db, void *arg)
{
	struct observe_tx *a = arg;
	const char *tenant_id = a->tenant_id;
	const struct finding_obs *obs = a->obs;
	time_t now = a->now;
	char *id_out = a->id_out;
	struct finding_row *row = NULL;
	struct lc_result res;
	struct lc_input in;
	struct lc_tenant tenant;
	struct mute_set mutes;
	json_object *empty = NULL;
	const char *evidence;
	char id[FINDING_ID_MAX], fp[65];
	size_t evlen;
	int rc, found;

	memset(&res, 0, sizeof(res));
	memset(&mutes, 0, sizeof(mutes));
	findings_make_id(obs->provider, obs->rule_id, obs->resource_id, id,
	    sizeof(id));
	if (id_out != NULL)
		snprintf(id_out, FINDING_ID_MAX, "%s", id);
	if (obs->evidence == NULL)
		empty = json_object_new_object();
	findings_fingerprint(obs->evidence ? obs->evidence : empty, fp);
	evidence = vjson_str(obs->evidence ? obs->evidence : empty, &evlen);

	memset(&in, 0, sizeof(in));
	in.kind = LC_SEEN;
	in.u.seen.fingerprint = fp;
	in.u.seen.severity = obs->severity;

	if ((rc = lock_tenant(db, tenant_id)) != 0)
		goto out;
	if ((found = findings_load(db, tenant_id, id, 1, &row)) < 0) {
		rc = found;
		goto out;
	}
	if ((rc = findings_tenant_settings(db, tenant_id, &tenant)) != 0 ||
	    (rc = mutes_load_live(db, tenant_id, now, &mutes)) != 0)
		goto out;
	if (found && mutes_need_sources(&mutes)) {
		const char *ids[1] = { id };
		struct mute_sources ms;
		struct mute_subject s;

		if ((rc = mutes_sources_load(db, tenant_id, ids, 1,
		    &ms)) != 0)
			goto out;
		mutes_subject_from_obs(obs, &s);
		mutes_sources_of(&ms, id, &s);
		in.u.seen.mute = mutes_match(&mutes, &s);
		mutes_sources_free(&ms);
	} else
		in.u.seen.mute = mutes_match_obs(&mutes, obs);
	if (lifecycle_apply(found ? &row->f : NULL, &in, now, &tenant,
	    &res) != 0 || res.status != 0) {
		log_err("findings: observation of %s refused: %s", id,
		    res.message ? res.message : "error");
		rc = DB_ERR;
		goto out;
	}
	if (!found) {
		if ((row = calloc(1, sizeof(*row))) == NULL) {
			rc = DB_ERR;
			goto out;
		}
		row->f = res.finding;
		snprintf(row->f.id, sizeof(row->f.id), "%s", id);
		res.finding = row->f;
		if (row_set_desc(row, obs, evidence) != 0) {
			rc = DB_ERR;
			goto out;
		}
		rc = insert_row(db, tenant_id, obs, &row->f, evidence, evlen);
	} else {
		row->f = res.finding;
		if (desc_changed(row, obs, &res, now) != 0) {
			rc = DB_ERR;
			goto out;
		}
		if (row_set_desc(row, obs, evidence) != 0) {
			rc = DB_ERR;
			goto out;
		}
		rc = db_exec(db, SQL_FINDING_UPDATE_DESC, (struct db_val[]){
		    DB_STR0(obs->integration_id),
		    DB_STR(row->subscription_id), DB_STR(row->environment),
		    DB_STR(row->resource_id), DB_STR(row->title),
		    DB_STR(row->category), DB_STR(row->layer),
		    DB_STR(row->framework), DB_STR(row->description),
		    DB_STR(row->recommendation), DB_STRN(evidence, evlen),
		    DB_STR(row->resource_name), DB_STR(row->resource_type),
		    DB_STR(row->resource_group), DB_STR(row->region),
		    DB_STR(row->account), DB_STR(row->tags),
		    DB_STR(row->source),
		    DB_STR(tenant_id), DB_STR(id) }, 20, NULL);
		if (rc == 0 && res.changed)
			rc = write_state(db, tenant_id, row->seq, &row->f);
	}
	if (rc != 0 ||
	    (rc = write_effects(db, tenant_id, row, &res, LC_BY_SCANNER,
	    NULL)) != 0)
		goto out;
out:
	lifecycle_result_free(&res);
	findings_row_free(row);
	mutes_set_free(&mutes);
	if (empty != NULL)
		json_object_put(empty);
	return rc;
}

int
findings_observe(struct db *db, const char *tenant_id,
    const struct finding_obs *obs, time_t now, char *id_out)
{
	struct observe_tx a = { tenant_id, obs, now, id_out };

	return db_tx_run(db, observe_tx, &a);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Apply one non-user input to each (tenant, id) pair, each in its own
 * transaction. The number changed, or a DB_* code if the database went
 * away. */
static long
apply_each(struct db *db, const struct db_res *ids, size_t tcol,
    const char *tenant_id, size_t icol, enum lc_kind kind, const char *by,
    time_t now, char **skip, size_t nskip)
{
	struct lc_input in;
	long changed = 0;
	size_t i;

	memset(&in, 0, sizeof(in));
	in.kind = kind;
	for (i = 0; i < ids->nrows; i++) {
		const char *t = tenant_id ? tenant_id : db_cell(ids, i, tcol);
		const char *id = db_cell(ids, i, icol);
		struct finding_row *after = NULL;
		struct lc_result res;
		enum findings_outcome o;
		int rc;

		if (skip != NULL && bsearch(&id, skip, nskip, sizeof(*skip),
		    cmp_str) != NULL)
			continue;
		o = findings_act(db, t, id, &in, by, now, &res, &after, &rc);
		if (o == FINDINGS_OK && res.changed)
			changed++;
		lifecycle_result_free(&res);
		findings_row_free(after);
		if (o == FINDINGS_DB_ERROR && rc == DB_DOWN)
			return DB_DOWN;
	}
	return changed;
}

long
findings_reconcile_absent(struct db *db, const char *tenant_id,
    const char *integration_id, const char *provider, char *const *seen,
    size_t n, time_t now)
{
	struct db_res *ids = NULL;
	char **sorted = NULL;
	long changed;
	int rc;

	rc = db_exec(db, SQL_FINDING_PRESENT, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR0(integration_id), DB_STR(provider) }, 3,
	    &ids);
	if (rc != 0)
		return rc;
	if (n > 0) {
		if ((sorted = malloc(n * sizeof(*sorted))) == NULL) {
			db_res_free(ids);
			return DB_ERR;
		}
		memcpy(sorted, seen, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_str);
	}
	changed = apply_each(db, ids, 0, tenant_id, 0, LC_NOT_SEEN,
	    LC_BY_SCANNER, now, sorted, n);
	free(sorted);
	db_res_free(ids);
	return changed;
}

/* FINDING_DUE_COLS in db.c (SQL_FINDING_DUE). */
enum { DUE_C_TENANT, DUE_C_ID };

long
findings_expire_due(struct db *db, time_t now)
{
	struct db_res *ids = NULL;
	char t1[VTIME_SQL_LEN];
	long changed;
	int rc;

	vtime_sql(now, t1, sizeof(t1));
	rc = db_exec(db, SQL_FINDING_DUE, (struct db_val[]){ DB_STR(t1),
	    DB_STR(t1) }, 2, &ids);
	if (rc != 0)
		return rc;
	changed = apply_each(db, ids, DUE_C_TENANT, NULL, DUE_C_ID, LC_TICK,
	    LC_BY_SYSTEM, now, NULL, 0);
	db_res_free(ids);
	return changed;
}

/* -- the scanner's batches ------------------------------------------------ */

/* Parameters per row of SQL_FINDING_UPSERT_*, SQL_HISTORY_INSERT_*,
 * SQL_EVENT_INSERT_* (as events.h numbers them, for
 * events_count_deferred) and SQL_SCAN_RESULT_ADD_*. */
#define UP_NCOLS	36
#define HIST_NCOLS	6
#define EV_NCOLS	EVENTS_ROW_NCOLS
#define RES_NCOLS	6

/* The columns SQL_FINDING_GET_MANY* add after FINDING_COLS, then
 * SQL_FINDING_GET_MANY_SRC's source row (NULLs: none). */
enum { C_INTEG = C__N, C_SEEN_SCAN, C_SRC_SEQ, C_SRC_FMT, C_SRC_EXT,
    C_SRC_IMP };

_Static_assert(FINDINGS_BATCH <= DB_MANY, "a batch's ids fit one IN list");

/* A growing array of statement parameters. */
struct vals {
	struct db_val	*v;
	size_t		 n, a;
};

/* One finding a batch decides about. */
struct slot {
	const char		*id;		/* borrowed */
	struct finding_row	*row;		/* NULL: not stored, not yet seen */
	int			 stored;	/* in the database before */
	int			 dirty;		/* to upsert */
	int			 touched;	/* seen: last_seen_at at least */
	const char		*integ;		/* integration_id to write */
	char			*stored_integ;	/* as loaded (owned) */
	char			*seen_scan;	/* as loaded (owned) */
	size_t			 first;		/* its first item's place */
	int			 deferred;	/* left to a later batch */
	long long		 src_seq;	/* its source row, 0 none */
	char			*src_fmt, *src_ext;	/* (owned) */
	int			 repeated;	/* its row of the source
						 * carries the batch's import */
	int			 gone;		/* no source lists it now */
};

/* One batch's transaction: its findings and what it will write. */
struct batch {
	struct db		*db;
	const char		*tenant_id;
	const char		*scan_id;
	time_t			 now;
	struct lc_tenant	 tenant;
	struct mute_set		 mutes;		/* the tenant's live rules */
	/* the stored findings' sources, read when a rule names a source,
	 * and the import's source (NULL: a scan), which lists them all */
	struct mute_sources	 srcs;
	const char		*importing;
	const char		*import_id;	/* findings_rows' */
	struct slot		*slots;		/* sorted by id */
	size_t			 nslots;
	struct vals		 hist, ev, res;
	struct audit_entry	*aud;
	size_t			 naud, aaud;
	char			**keep;		/* strings the parameters use */
	size_t			 nkeep, akeep;
	int			 oom;
	int			 setbased;	/* counts kept per batch (0039) */
};

static int
cmp_slot(const void *a, const void *b)
{
	return strcmp(((const struct slot *)a)->id,
	    ((const struct slot *)b)->id);
}

static struct slot *
slot_find(struct batch *b, const char *id)
{
	struct slot key;

	key.id = id;
	return bsearch(&key, b->slots, b->nslots, sizeof(*b->slots),
	    cmp_slot);
}

static void
vals_push(struct batch *b, struct vals *v, struct db_val x)
{
	if (v->n == v->a) {
		size_t a = v->a ? v->a * 2 : 256;
		struct db_val *p = realloc(v->v, a * sizeof(*p));

		if (p == NULL) {
			b->oom = 1;
			return;
		}
		v->v = p;
		v->a = a;
	}
	v->v[v->n++] = x;
}

/* Keep s (malloc'd, may be NULL from a failed copy) until the batch
 * ends; s, or "" with b->oom set. */
static const char *
keep(struct batch *b, char *s)
{
	if (s != NULL && b->nkeep == b->akeep) {
		size_t a = b->akeep ? b->akeep * 2 : 256;
		char **p = realloc(b->keep, a * sizeof(*p));

		if (p == NULL) {
			free(s);
			s = NULL;
		} else {
			b->keep = p;
			b->akeep = a;
		}
	}
	if (s == NULL) {
		b->oom = 1;
		return "";
	}
	b->keep[b->nkeep++] = s;
	return s;
}

static const char *
keep_dup(struct batch *b, const char *s)
{
	return keep(b, strdup(s ? s : ""));
}

/* A DATETIME parameter for t (NULL for 0) that lives as long as b. */
static struct db_val
keep_time(struct batch *b, time_t t)
{
	char s[VTIME_SQL_LEN];

	if (t == 0)
		return DB_NUL;
	vtime_sql(t, s, sizeof(s));
	return DB_STR(keep_dup(b, s));
}

static void
batch_free(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->nslots; i++) {
		findings_row_free(b->slots[i].row);
		free(b->slots[i].stored_integ);
		free(b->slots[i].seen_scan);
		free(b->slots[i].src_fmt);
		free(b->slots[i].src_ext);
	}
	free(b->slots);
	free(b->hist.v);
	free(b->ev.v);
	free(b->res.v);
	free(b->aud);
	for (i = 0; i < b->nkeep; i++)
		free(b->keep[i]);
	free(b->keep);
	mutes_set_free(&b->mutes);
	mutes_sources_free(&b->srcs);
	memset(b, 0, sizeof(*b));
}

/* Slots for ids[0..n) (duplicates share one), sorted. 0 or -1. */
static int
batch_slots(struct batch *b, const char *const *ids, size_t n)
{
	size_t i, j;

	if ((b->slots = calloc(n ? n : 1, sizeof(*b->slots))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		b->slots[i].id = ids[i];
		b->slots[i].first = i;
	}
	qsort(b->slots, n, sizeof(*b->slots), cmp_slot);
	for (i = j = 0; i < n; i++)
		if (j == 0 || strcmp(b->slots[j - 1].id, b->slots[i].id) != 0)
			b->slots[j++] = b->slots[i];
		else if (b->slots[i].first < b->slots[j - 1].first)
			b->slots[j - 1].first = b->slots[i].first;
	b->nslots = j;
	return 0;
}

/* findings_hint's step, at most: a batch's rows further apart than that
 * are not in the order of its findings. */
#define HINT_STEP_MAX	16

/* db_vals of seqs (DB_INT) in order */
static int
cmp_seq(const void *a, const void *b)
{
	long long x = ((const struct db_val *)a)->i;
	long long y = ((const struct db_val *)b)->i;

	return x < y ? -1 : x > y;
}

/* Take res's rows into the batch's slots, with source (not NULL) each
 * one's row of that source too; a row of an id the batch does not name,
 * or already took, is passed over. The number taken, or -1. */
static long
batch_take(struct batch *b, const struct db_res *res, const char *source)
{
	struct slot *sl;
	size_t i;
	long n = 0;

	for (i = 0; i < res->nrows; i++) {
		const char *v;

		if ((sl = slot_find(b, db_cell(res, i, C_ID))) == NULL ||
		    sl->stored)
			continue;
		if ((sl->row = findings_row_at(res, i)) == NULL)
			return -1;
		sl->stored = 1;
		n++;
		if ((v = db_cell(res, i, C_INTEG)) != NULL &&
		    (sl->stored_integ = strdup(v)) == NULL)
			b->oom = 1;
		if ((v = db_cell(res, i, C_SEEN_SCAN)) != NULL &&
		    (sl->seen_scan = strdup(v)) == NULL)
			b->oom = 1;
		sl->integ = sl->stored_integ;
		if (source == NULL || db_cell(res, i, C_SRC_SEQ) == NULL)
			continue;
		sl->src_seq = db_cell_int(res, i, C_SRC_SEQ);
		sl->repeated = b->import_id != NULL &&
		    (v = db_cell(res, i, C_SRC_IMP)) != NULL &&
		    strcmp(v, b->import_id) == 0;
		if ((sl->src_fmt = cell_dup(res, i, C_SRC_FMT)) == NULL ||
		    (sl->src_ext = cell_dup(res, i, C_SRC_EXT)) == NULL)
			b->oom = 1;
	}
	return n;
}

/* Read the stored rows of the batch's findings that no read took yet
 * (all of them, for the first) by their ids, with s, or with
 * SQL_FINDING_GET_MANY_SRC and source (not NULL). 0 or a DB_* code. */
static int
batch_load_ids(struct batch *b, enum db_stmt s, const char *source)
{
	struct db_val p[2 + DB_MANY], *q = p;
	struct db_res *res = NULL;
	size_t i, k = 0;
	int rc;

	if (source != NULL) {
		s = SQL_FINDING_GET_MANY_SRC;
		*q++ = DB_STR(source);
	}
	q[0] = DB_STR(b->tenant_id);
	for (i = 0; i < b->nslots; i++)
		if (!b->slots[i].stored)
			q[1 + k++] = DB_STR(b->slots[i].id);
	if (k == 0)
		return 0;
	/* the IN list's spare places repeat the last id */
	for (i = k; i < DB_MANY; i++)
		q[1 + i] = q[k];
	if ((rc = db_exec(b->db, s, p, (size_t)(q - p) + 1 + DB_MANY,
	    &res)) != 0)
		return rc;
	if (batch_take(b, res, source) < 0)
		rc = DB_ERR;
	db_res_free(res);
	return rc;
}

/* Read the stored rows of the batch's findings (locked when not a dry
 * run) into their slots; with source (not NULL), each one's row of that
 * source in finding_sources too, in the same statement
 * (SQL_FINDING_GET_MANY_SRC: s is not used). With h (not NULL, and s
 * SQL_FINDING_GET_MANY), first the range of seq h guesses, then by ids
 * the findings it did not hold; h is then the guess for the batch after
 * this one (findings_hint). 0 or a DB_* code. */
static int
batch_load(struct batch *b, enum db_stmt s, const char *source,
    struct findings_hint *h)
{
	struct db_val p[4], *q = p, seqs[DB_MANY];
	struct db_res *res = NULL;
	const struct slot *last = NULL;
	size_t i, nstored = 0;
	long got = 0;
	int rc, ranged = 0;

	if (b->nslots == 0)
		return 0;
	if (h != NULL && !h->off && h->next > 0) {
		if (source != NULL)
			*q++ = DB_STR(source);
		q[0] = DB_STR(b->tenant_id);
		q[1] = DB_INT(h->next);
		q[2] = DB_INT(h->next + ((long long)b->nslots - 1 +
		    (long long)b->nslots / 16) * (h->step > 0 ? h->step : 1));
		if ((rc = db_exec(b->db, source != NULL ?
		    SQL_FINDING_GET_RANGE_SRC : SQL_FINDING_GET_RANGE, p,
		    (size_t)(q - p) + 3, &res)) != 0)
			return rc;
		got = batch_take(b, res, source);
		db_res_free(res);
		if (got < 0)
			return DB_ERR;
		ranged = 1;
	}
	if ((!ranged || (size_t)got < b->nslots) &&
	    (rc = batch_load_ids(b, s, source)) != 0)
		return rc;
	if (h == NULL)
		return 0;
	/* a batch names at most DB_MANY findings (batch_load_ids too) */
	for (i = 0; i < b->nslots; i++) {
		const struct slot *sl = &b->slots[i];

		if (!sl->stored)
			continue;
		seqs[nstored++] = DB_INT(sl->row->seq);
		if (last == NULL || sl->first > last->first)
			last = sl;
	}
	if (ranged && (size_t)got * 2 < nstored)
		h->off = 1;
	h->next = last != NULL ? last->row->seq + 1 : 0;
	/* the smallest gap, at most HINT_STEP_MAX */
	qsort(seqs, nstored, sizeof(*seqs), cmp_seq);
	h->step = HINT_STEP_MAX;
	for (i = 1; i < nstored; i++)
		if (seqs[i].i - seqs[i - 1].i < h->step)
			h->step = seqs[i].i - seqs[i - 1].i;
	if (nstored < 2)
		h->step = 1;
	return 0;
}

/* The history rows, events and audit entry of res applied to row, as
 * write_effects writes them, queued in the batch. */
static void
batch_effects(struct batch *b, const struct finding_row *row,
    const struct lc_result *res)
{
	json_object *detail, *actions;
	struct audit_entry *a;
	const char *fid = keep_dup(b, row->f.id);
	size_t i, len;

	for (i = 0; i < res->nhistory; i++) {
		const struct lc_history *h = &res->history[i];
		const char *fields = vjson_str(h->fields, &len);

		vals_push(b, &b->hist, DB_STR(b->tenant_id));
		vals_push(b, &b->hist, DB_STR(fid));
		vals_push(b, &b->hist, DB_STR(h->action));
		vals_push(b, &b->hist, keep_time(b, h->timestamp));
		vals_push(b, &b->hist, DB_STR(keep_dup(b, h->by)));
		vals_push(b, &b->hist, DB_STR(keep_dup(b, fields)));
	}
	for (i = 0; i < res->nevents; i++) {
		json_object *data = json_object_new_object();
		time_t at = res->nhistory ? res->history[0].timestamp :
		    row->f.updated_at;
		char id[VIGIL_ID_LEN], *payload = NULL;

		json_object_object_add(data, "finding",
		    findings_to_json(row, 0));
		if (events_id_new(id, sizeof(id)) != 0 ||
		    events_payload(b->tenant_id, res->events[i], at, data, id,
		    &payload, &len) != 0) {
			b->oom = 1;
			continue;
		}
		vals_push(b, &b->ev, DB_STR(keep_dup(b, id)));
		vals_push(b, &b->ev, DB_STR(b->tenant_id));
		vals_push(b, &b->ev, DB_STR(res->events[i]));
		vals_push(b, &b->ev, keep_time(b, at));
		vals_push(b, &b->ev, DB_STRN(keep(b, payload), len));
	}
	if (res->nhistory == 0)
		return;
	if (b->naud == b->aaud) {
		size_t n = b->aaud ? b->aaud * 2 : 64;
		struct audit_entry *p = realloc(b->aud, n * sizeof(*p));

		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->aud = p;
		b->aaud = n;
	}
	detail = json_object_new_object();
	actions = json_object_new_array();
	for (i = 0; i < res->nhistory; i++)
		json_object_array_add(actions,
		    lifecycle_history_json(&res->history[i]));
	json_object_object_add(detail, "history", actions);
	add_str(detail, "state", finding_state_str(row->f.state));
	a = &b->aud[b->naud++];
	a->actor = LC_BY_SCANNER;
	a->action = res->history[res->nhistory - 1].action;
	a->object = fid;
	a->detail = keep_dup(b, vjson_str(detail, &len));
	json_object_put(detail);
}

static void
batch_result(struct batch *b, const struct finding_row *row,
    const char *outcome)
{
	if (b->scan_id == NULL)
		return;
	vals_push(b, &b->res, DB_STR(b->scan_id));
	vals_push(b, &b->res, DB_STR(keep_dup(b, row->f.id)));
	vals_push(b, &b->res, DB_STR(keep_dup(b, row->rule_id)));
	vals_push(b, &b->res, DB_STR(keep_dup(b, row->resource_id)));
	vals_push(b, &b->res, DB_STR(finding_severity_str(row->f.severity)));
	vals_push(b, &b->res, DB_STR(outcome));
}

/* 1 if a and b differ in more than last_seen_at. */
static int
more_than_seen(const struct finding *a, const struct finding *b)
{
	return strcmp(a->fingerprint, b->fingerprint) != 0 ||
	    a->severity != b->severity || a->state != b->state ||
	    a->remediation != b->remediation ||
	    a->resolved_by != b->resolved_by ||
	    a->awaiting_scan != b->awaiting_scan ||
	    a->detected_at != b->detected_at ||
	    a->updated_at != b->updated_at ||
	    a->resolved_at != b->resolved_at ||
	    a->accepted_until != b->accepted_until ||
	    a->snoozed_until != b->snoozed_until;
}

static int
str_differs(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") != 0;
}

/* 1 if the observation brings other resource metadata than the stored
 * row: then the row is rewritten (silently: metadata is not a change of
 * the finding, so no history, event or updated_at), otherwise a rescan of
 * an unchanged resource writes only last_seen_at. */
static int
meta_differs(const struct finding_row *row, const struct finding_obs *obs)
{
	return str_differs(row->resource_name, obs->resource_name) ||
	    str_differs(row->resource_type, obs->resource_type) ||
	    str_differs(row->resource_group, obs->resource_group) ||
	    str_differs(row->region, obs->region) ||
	    str_differs(row->account, obs->account) ||
	    str_differs(row->tags, obs->tags ? obs->tags : "{}") ||
	    str_differs(row->source, obs->source);
}

/* 1 when the schema has the set-based counts of migration 0039 (the
 * triggers on findings stand aside while @vigil_batch is set) with the
 * metadata columns 0055 gave its batch tables, 0 when it does not (a
 * binary newer than the schema: the triggers count), or
 * DB_*. Read in the batch's transaction until the connection has seen it
 * (db_schema_has; 0039 is never taken back): a migration cannot change
 * the triggers under it (its DDL waits for the transaction's locks). */
static int
batch_mode(struct batch *b)
{
	int rc = db_schema_has(b->db, SQL_FINDING_BATCH_SCHEMA);

	if (rc < 0)
		return rc;
	b->setbased = rc;
	return 0;
}

/* The parameters of SQL_FINDING_BATCH_OLD and _NEW: the tenant, then the
 * ids batch_write upserts, only those stored before when stored_only
 * (the rows SQL_FINDING_BATCH_OLD can find: the batch read every id
 * under the tenant's row lock, which every writer of findings holds, so
 * an id it did not find has no row until this batch inserts it), the IN
 * list's spare places repeating the last. How many ids: with none, p is
 * not complete and the statement is not to be run. */
static size_t
batch_ids(struct batch *b, struct db_val *p, int stored_only)
{
	size_t i, n = 0;

	p[0] = DB_STR(b->tenant_id);
	for (i = 0; i < b->nslots; i++)
		if (b->slots[i].row != NULL && b->slots[i].dirty &&
		    (!stored_only || b->slots[i].stored))
			p[1 + n++] = DB_STR(b->slots[i].row->f.id);
	for (i = n; n > 0 && i < DB_MANY; i++)
		p[1 + i] = p[n];
	return n;
}

/* Before the batch's history, events and audit entries: their insert
 * triggers leave the list counts and the audit chain's head to the
 * writer (@vigil_defer, migration 0045), and the history trigger its
 * case look-up too when none of the batch's findings is on a case
 * (@vigil_nocase), which SQL_BATCH_CASE_LINKED checks here, share-locking
 * what it reads as that look-up does. 0 or DB_*. */
static int
batch_defer(struct batch *b)
{
	struct db_val p[1 + DB_MANY];
	struct db_res *res = NULL;
	size_t i;
	int rc, linked = 0;

	if (b->hist.n > 0 && b->nslots > 0) {
		p[0] = DB_STR(b->tenant_id);
		for (i = 0; i < DB_MANY; i++)
			p[1 + i] = DB_STR(b->slots[i < b->nslots ? i :
			    b->nslots - 1].id);
		if ((rc = db_exec(b->db, SQL_BATCH_CASE_LINKED, p, NELEM(p),
		    &res)) != 0)
			return rc;
		linked = res->nrows > 0;
		db_res_free(res);
	}
	return db_exec(b->db, SQL_BATCH_DEFER_BEGIN, (struct db_val[]){
	    DB_STR(b->tenant_id), linked ? DB_NUL : DB_STR(b->tenant_id) },
	    2, NULL);
}

/* Fewer rows to upsert than this, and the batch's writes take the
 * triggers' way, row by row (as every other writer of findings does):
 * the frame of the set-based counts, the session's SLA policy and the
 * deferral of the history, events and audit entries cost a batch some
 * 40 statements (20 of them in findings_batch_begin and _end) and three
 * IN lists of 256 ids, whatever it changes, which a rescan or reimport
 * with 1 % changed paid in nearly every batch. A few rows' triggers cost
 * less; measured, the two ways cost the same at about 13 rows a batch
 * (README, Benchmark, Imports). */
#define BATCH_FRAME_MIN	16

/* Mark the batch's unchanged findings seen: seen[3..3 + n) their seqs
 * (distinct), seen[0..3) the statement's first parameters. Their seqs
 * sorted, as ranges of consecutive seqs when they make at most
 * DB_SEEN_RUNS (a rescan reads its findings in the order they were
 * stored), else as one IN list. The same rows either way. The mark
 * changes no column a trigger counts: the triggers stand aside for it,
 * as they do within the frame, rather than test each row for what
 * changed (findings_after_update, 0057: 12 to 20 us of an unchanged
 * finding); the ranges' procedure (0059) tells them so itself, the IN
 * list is framed by two more statements. *aside is set while they may
 * stand aside: the caller clears @vigil_batch after a failure. 0 or
 * DB_*. */
static int
batch_mark_seen(struct batch *b, struct db_val *seen, size_t n, int *aside)
{
	struct db_val runs[3 + 2 * DB_SEEN_RUNS];
	size_t i, k = 0;
	int rc;

	qsort(seen + 3, n, sizeof(*seen), cmp_seq);
	memcpy(runs, seen, 3 * sizeof(*seen));
	for (i = 0; i < n; i++) {
		if (i > 0 && seen[3 + i].i == seen[2 + i].i + 1) {
			runs[3 + 2 * k - 1] = seen[3 + i];
			continue;
		}
		if (k == DB_SEEN_RUNS)
			break;
		runs[3 + 2 * k] = runs[4 + 2 * k] = seen[3 + i];
		k++;
	}
	if (i == n) {
		for (i = k; i < DB_SEEN_RUNS; i++) {
			runs[3 + 2 * i] = runs[3 + 2 * (k - 1)];
			runs[4 + 2 * i] = runs[4 + 2 * (k - 1)];
		}
		*aside = 1;
		if ((rc = db_exec(b->db, SQL_FINDING_SEEN_RUNS, runs,
		    NELEM(runs), NULL)) == 0)
			*aside = 0;
		return rc;
	}
	/* The IN list's spare places repeat the last id. */
	for (i = n; i < DB_MANY; i++)
		seen[3 + i] = seen[3 + n - 1];
	if ((rc = db_exec(b->db, SQL_FINDING_SEEN_ASIDE, NULL, 0, NULL)) != 0)
		return rc;
	*aside = 1;
	if ((rc = db_exec(b->db, SQL_FINDING_SEEN_MANY, seen, 3 + DB_MANY,
	    NULL)) != 0 ||
	    (rc = db_exec(b->db, SQL_FINDING_BATCH_CLEAR, NULL, 0, NULL)) != 0)
		return rc;
	*aside = 0;
	return 0;
}

static int
cmp_first(const void *a, const void *b)
{
	size_t x = (*(struct slot *const *)a)->first;
	size_t y = (*(struct slot *const *)b)->first;

	return x < y ? -1 : x > y;
}

/* Write what the batch decided: the upserts, the unchanged findings'
 * last_seen_at, then history, events, audit and results. From
 * BATCH_FRAME_MIN rows to upsert, the list counts, chain head and case
 * look-up of the last three's insert triggers are left to the batch
 * (batch_defer, 0045), and, with the set-based counts (batch_mode), the
 * upsert is framed by findings_batch_begin, a copy of its rows before and
 * after, and findings_batch_end (0039), which keep every counter table
 * once for the batch instead of the triggers per row. The last_seen_at
 * update changes no counted column, so it needs no frame: the triggers
 * only stand aside for it. 0 or DB_*. */
static int
batch_write(struct batch *b)
{
	struct vals up;
	struct db_val seen[3 + DB_MANY], ids[1 + DB_MANY];
	struct slot **ord;
	size_t i, nup = 0, nseen = 0;
	int rc = DB_ERR, framed = 0, deferred = 0, sla = 0, aside = 0, few;

	memset(&up, 0, sizeof(up));
	/* The rows in the order the batch's items first named them: a new
	 * finding's seq follows the order a scan or a report gives, so the
	 * next scan of the same resources marks them seen as a few ranges
	 * of seq (batch_mark_seen), wherever its batches begin. */
	if ((ord = malloc((b->nslots ? b->nslots : 1) * sizeof(*ord))) == NULL)
		return DB_ERR;
	for (i = 0; i < b->nslots; i++)
		ord[i] = &b->slots[i];
	qsort(ord, b->nslots, sizeof(*ord), cmp_first);
	for (i = 0; i < b->nslots; i++) {
		const struct slot *sl = ord[i];
		const struct finding_row *r = sl->row;
		const struct finding *f;

		if (r == NULL)
			continue;
		f = &r->f;
		if (!sl->dirty) {
			if (sl->touched && sl->stored)
				seen[3 + nseen++] = DB_INT(r->seq);
			continue;
		}
		nup++;
		vals_push(b, &up, sl->stored ? DB_INT(r->seq) : DB_NUL);
		vals_push(b, &up, DB_STR(b->tenant_id));
		vals_push(b, &up, DB_STR(f->id));
		vals_push(b, &up, DB_STR(r->rule_id));
		vals_push(b, &up, DB_STR(r->provider));
		vals_push(b, &up, DB_STR0(sl->integ));
		vals_push(b, &up, DB_STR(r->subscription_id));
		vals_push(b, &up, DB_STR(r->environment));
		vals_push(b, &up, DB_STR(r->resource_id));
		vals_push(b, &up, DB_STR(r->title));
		vals_push(b, &up, DB_STR(finding_severity_str(f->severity)));
		vals_push(b, &up, DB_STR(r->category));
		vals_push(b, &up, DB_STR(r->layer));
		vals_push(b, &up, DB_STR(r->framework));
		vals_push(b, &up, DB_STR(r->description));
		vals_push(b, &up, DB_STR(r->recommendation));
		vals_push(b, &up, DB_STR(r->evidence));
		vals_push(b, &up, DB_STR(f->fingerprint));
		vals_push(b, &up, DB_STR(finding_state_str(f->state)));
		vals_push(b, &up,
		    DB_STR(finding_remediation_str(f->remediation)));
		vals_push(b, &up, DB_STR(resolver_db(f->resolved_by)));
		vals_push(b, &up, DB_INT(f->awaiting_scan));
		vals_push(b, &up, keep_time(b, f->accepted_until));
		vals_push(b, &up, keep_time(b, f->snoozed_until));
		vals_push(b, &up, keep_time(b, f->detected_at));
		vals_push(b, &up, keep_time(b, f->updated_at));
		vals_push(b, &up, keep_time(b, f->last_seen_at));
		vals_push(b, &up, keep_time(b, f->resolved_at));
		vals_push(b, &up, DB_STR0(sl->touched ? b->scan_id :
		    sl->seen_scan));
		vals_push(b, &up, DB_STR(r->resource_name));
		vals_push(b, &up, DB_STR(r->resource_type));
		vals_push(b, &up, DB_STR(r->resource_group));
		vals_push(b, &up, DB_STR(r->region));
		vals_push(b, &up, DB_STR(r->account));
		vals_push(b, &up, DB_STR(r->tags));
		vals_push(b, &up, DB_STR(r->source));
	}
	if (b->oom)
		goto out;
	few = nup < BATCH_FRAME_MIN;
	/* The copy before the upsert holds the stored rows it rewrites: a
	 * new finding has no row to copy (a first scan or import reads
	 * nothing there; findings_batch_end takes a row missing from
	 * findings_batch_old as new). */
	if (b->setbased && nup > 0 && !few) {
		framed = 1;
		if ((rc = db_exec(b->db, SQL_FINDING_BATCH_BEGIN, NULL, 0,
		    NULL)) != 0 ||
		    (batch_ids(b, ids, 1) > 0 &&
		    (rc = db_exec(b->db, SQL_FINDING_BATCH_OLD, ids,
		    NELEM(ids), NULL)) != 0))
			goto out;
	}
	/* findings_sla_insert takes the tenant's policy from the session
	 * instead of reading it for each row (0046). */
	if (nup > 0 && !few) {
		sla = 1;
		if ((rc = db_exec(b->db, SQL_BATCH_SLA_BEGIN, (struct db_val[]){
		    DB_STR(b->tenant_id), DB_STR(b->tenant_id) }, 2,
		    NULL)) != 0)
			goto out;
	}
	if ((rc = db_exec_rows(b->db, SQL_FINDING_UPSERT_64, up.v, UP_NCOLS,
	    nup)) != 0)
		goto out;
	if (sla) {
		sla = 0;
		if ((rc = db_exec(b->db, SQL_BATCH_SLA_END, NULL, 0,
		    NULL)) != 0)
			goto out;
	}
	if (framed) {
		(void)batch_ids(b, ids, 0);
		if ((rc = db_exec(b->db, SQL_FINDING_BATCH_NEW, ids,
		    NELEM(ids), NULL)) != 0 ||
		    (rc = db_exec(b->db, SQL_FINDING_BATCH_END,
		    (struct db_val[]){ DB_STR(b->tenant_id) }, 1, NULL)) != 0)
			goto out;
		framed = 0;
	}
	if (nseen > 0) {
		seen[0] = keep_time(b, b->now);
		seen[1] = DB_STR0(b->scan_id);
		seen[2] = DB_STR(b->tenant_id);
		if (b->oom) {
			rc = DB_ERR;
			goto out;
		}
		if ((rc = batch_mark_seen(b, seen, nseen, &aside)) != 0)
			goto out;
	}
	if (!few && (b->hist.n > 0 || b->ev.n > 0 || b->naud > 0)) {
		deferred = 1;
		if ((rc = batch_defer(b)) != 0)
			goto out;
	}
	if ((rc = db_exec_rows(b->db, SQL_HISTORY_INSERT_64, b->hist.v,
	    HIST_NCOLS, b->hist.n / HIST_NCOLS)) != 0 ||
	    (rc = db_exec_rows(b->db, SQL_EVENT_INSERT_64, b->ev.v, EV_NCOLS,
	    b->ev.n / EV_NCOLS)) != 0 ||
	    (deferred && (rc = events_count_deferred(b->db, b->tenant_id,
	    b->ev.v, b->ev.n / EV_NCOLS)) != 0) ||
	    (rc = audit_append_many(b->db, b->tenant_id, b->aud, b->naud,
	    deferred)) != 0)
		goto out;
	if (deferred) {
		deferred = 0;
		if ((rc = db_exec(b->db, SQL_BATCH_DEFER_END, NULL, 0,
		    NULL)) != 0)
			goto out;
	}
	if ((rc = db_exec_rows(b->db, SQL_SCAN_RESULT_ADD_64, b->res.v,
	    RES_NCOLS, b->res.n / RES_NCOLS)) != 0)
		goto out;
out:
	/* Failed between begin and end: the transaction is rolled back, but
	 * @vigil_batch, @vigil_sla and @vigil_defer are the session's, and the
	 * connection serves on (the next batch, the scan's other writes):
	 * the triggers must count again. A connection that is gone takes the
	 * variables with it. */
	if (framed || aside)
		(void)db_exec(b->db, SQL_FINDING_BATCH_CLEAR, NULL, 0, NULL);
	if (sla)
		(void)db_exec(b->db, SQL_BATCH_SLA_END, NULL, 0, NULL);
	if (deferred)
		(void)db_exec(b->db, SQL_BATCH_DEFER_END, NULL, 0, NULL);
	free(up.v);
	free(ord);
	return rc;
}

/* When a live rule names a source: the sources that list the batch's
 * stored findings, in one statement (a new finding has none), for
 * batch_seen's matches. 0 or a DB_* code. */
static int
batch_sources(struct batch *b)
{
	const char *ids[FINDINGS_BATCH];
	size_t i, n = 0;

	if (!mutes_need_sources(&b->mutes))
		return 0;
	for (i = 0; i < b->nslots && n < FINDINGS_BATCH; i++)
		if (b->slots[i].stored)
			ids[n++] = b->slots[i].id;
	return mutes_sources_load(b->db, b->tenant_id, ids, n, &b->srcs);
}

/* Apply the batch's observations in order to their slots. 0 or DB_*. */
static int
batch_seen(struct batch *b, struct findings_seen *items, size_t n)
{
	struct lc_result res;
	struct lc_input in;
	size_t i;

	memset(&res, 0, sizeof(res));
	for (i = 0; i < n; i++) {
		struct findings_seen *it = &items[i];
		const struct finding_obs *obs = &it->obs;
		struct slot *sl = slot_find(b, it->id);
		struct finding_row *row;
		const char *integ;
		enum finding_state was = FINDING_OPEN;
		struct mute_subject subj;
		int isnew, plain;

		if (sl == NULL)
			return DB_ERR;
		/* An import's first item of a finding stays (findings_rows'
		 * import_id): a later one, in an earlier batch or this one,
		 * is passed over. */
		if (b->import_id != NULL && (sl->repeated || sl->first != i)) {
			it->outcome = FINDINGS_SEEN_REPEATED;
			it->seq = sl->stored ? sl->row->seq : 0;
			continue;
		}
		/* An import names no integration: a finding a scan found
		 * stays that scan's (whose scans resolve it when they no
		 * longer see it), where the import used to take it away. */
		integ = obs->integration_id != NULL ? obs->integration_id :
		    sl->integ;
		row = sl->row;
		isnew = row == NULL;
		if (!isnew)
			was = row->f.state;
		memset(&in, 0, sizeof(in));
		in.kind = LC_SEEN;
		in.u.seen.fingerprint = it->fingerprint;
		in.u.seen.severity = obs->severity;
		mutes_subject_from_obs(obs, &subj);
		mutes_sources_of(&b->srcs, it->id, &subj);
		subj.importing = b->importing;
		in.u.seen.mute = mutes_match(&b->mutes, &subj);
		if (lifecycle_apply(isnew ? NULL : &row->f, &in, b->now,
		    &b->tenant, &res) != 0 || res.status != 0) {
			log_err("findings: observation of %s refused: %s",
			    it->id, res.message ? res.message : "error");
			lifecycle_result_free(&res);
			return DB_ERR;
		}
		if (isnew) {
			if ((row = sl->row = calloc(1, sizeof(*row))) == NULL) {
				lifecycle_result_free(&res);
				return DB_ERR;
			}
			row->f = res.finding;
			snprintf(row->f.id, sizeof(row->f.id), "%s", it->id);
			res.finding = row->f;
			sl->dirty = 1;
		} else {
			/* The stored fingerprint differs: the evidence is
			 * rewritten even where the lifecycle keeps the state
			 * (a dismissed finding). */
			plain = res.nhistory == 0 && res.nevents == 0 &&
			    !more_than_seen(&row->f, &res.finding) &&
			    strcmp(row->f.fingerprint, it->fingerprint) == 0 &&
			    !str_differs(sl->integ, integ) &&
			    !str_differs(row->resource_id, obs->resource_id) &&
			    !meta_differs(row, obs);
			row->f = res.finding;
			if (desc_changed(row, obs, &res, b->now) != 0) {
				lifecycle_result_free(&res);
				return DB_ERR;
			}
			if (!plain || res.nhistory > 0 || res.nevents > 0)
				sl->dirty = 1;
		}
		/* A plain sighting of a row nothing rewrites (the unchanged
		 * rescan's every finding) only moves last_seen_at: its row is
		 * not written and it has no effects, so the observation's
		 * text is not copied into it. */
		plain = !isnew && !sl->dirty && res.nhistory == 0 &&
		    res.nevents == 0;
		if (!plain && row_set_desc(row, obs, it->evidence) != 0) {
			lifecycle_result_free(&res);
			return DB_ERR;
		}
		sl->integ = integ;
		sl->touched = 1;
		it->seq = sl->stored ? row->seq : 0;
		it->src_seq = sl->src_seq;
		it->src_format = sl->src_fmt;
		it->src_external_id = sl->src_ext;
		if (!plain)
			batch_effects(b, row, &res);
		if (isnew)
			it->outcome = FINDINGS_SEEN_DETECTED;
		else if (was != FINDING_OPEN && row->f.state == FINDING_OPEN)
			it->outcome = FINDINGS_SEEN_REOPENED;
		else
			it->outcome = FINDINGS_SEEN_PRESENT;
		if (it->outcome != FINDINGS_SEEN_PRESENT)
			batch_result(b, row, it->outcome ==
			    FINDINGS_SEEN_DETECTED ? "detected" : "reopened");
		lifecycle_result_free(&res);
	}
	return b->oom ? DB_ERR : 0;
}

/* findings_rows' defer_few: when the batch would rewrite only a few stored
 * findings (below BATCH_FRAME_MIN, none new), leave them out of it: not
 * rewritten, not marked seen, their items FINDINGS_SEEN_DEFERRED, and
 * their history, events, audit entries and results (only a rewritten
 * finding has any) dropped. A reimport with 1 % changed had one or two
 * in nearly every batch, each rewritten through the triggers (some
 * 1.3 ms of the server's a finding, with its history, event and audit
 * entry as single rows and a heavier commit); gathered by the caller
 * into batches of their own, they go through the frame. 1 if it left
 * any out. */
static int
batch_defer_few(struct batch *b, struct findings_seen *items, size_t n)
{
	size_t i, nd = 0;

	for (i = 0; i < b->nslots; i++) {
		const struct slot *sl = &b->slots[i];

		if (sl->row == NULL || !sl->dirty)
			continue;
		if (!sl->stored)
			return 0;
		nd++;
	}
	if (nd == 0 || nd >= BATCH_FRAME_MIN)
		return 0;
	for (i = 0; i < b->nslots; i++) {
		struct slot *sl = &b->slots[i];

		if (sl->row != NULL && sl->dirty) {
			sl->dirty = 0;
			sl->touched = 0;
			sl->deferred = 1;
		}
	}
	for (i = 0; i < n; i++) {
		const struct slot *sl = slot_find(b, items[i].id);

		if (sl != NULL && sl->deferred &&
		    items[i].outcome != FINDINGS_SEEN_REPEATED)
			items[i].outcome = FINDINGS_SEEN_DEFERRED;
	}
	b->hist.n = b->ev.n = b->res.n = 0;
	b->naud = 0;
	return 1;
}

/* A batch of observations, in one transaction unless dry_run (then it
 * writes nothing). items' outcomes are set afresh by each run. */
struct batch_tx {
	const char		*tenant_id, *scan_id;
	struct findings_seen	*items;
	size_t			 n;
	time_t			 now;
	int			 dry_run;
	const struct findings_rows *rows;
	/* rows' hint as this run of the batch leaves it (findings_hint):
	 * the caller's is set from it once the batch has committed */
	struct findings_hint	 hint;
};

static int
batch_tx(struct db *db, void *arg)
{
	struct batch_tx *a = arg;
	struct batch b;
	struct findings_hint *h = NULL;
	const char **ids = NULL;
	size_t i;
	int rc = DB_ERR;

	/* each run from the caller's guess: a run rolled back guessed too */
	if (!a->dry_run && a->rows != NULL && a->rows->hint != NULL) {
		a->hint = *a->rows->hint;
		h = &a->hint;
	}
	memset(&b, 0, sizeof(b));
	b.db = db;
	b.tenant_id = a->tenant_id;
	b.scan_id = a->scan_id;
	b.now = a->now;
	b.importing = a->rows != NULL && a->rows->write != NULL ?
	    a->rows->source : NULL;
	b.import_id = b.importing != NULL ? a->rows->import_id : NULL;
	if ((ids = calloc(a->n ? a->n : 1, sizeof(*ids))) == NULL)
		goto out;
	for (i = 0; i < a->n; i++)
		ids[i] = a->items[i].id;
	if (batch_slots(&b, ids, a->n) != 0)
		goto out;
	if ((rc = a->dry_run ? findings_tenant_settings(db, a->tenant_id,
	    &b.tenant) : lock_tenant_settings(db, a->tenant_id,
	    &b.tenant)) != 0 ||
	    (!a->dry_run && (rc = batch_mode(&b)) != 0) ||
	    (rc = mutes_load_live(db, a->tenant_id, a->now, &b.mutes)) != 0 ||
	    (rc = batch_load(&b, SQL_FINDING_GET_MANY, b.importing, h)) != 0 ||
	    (rc = batch_sources(&b)) != 0 ||
	    (rc = batch_seen(&b, a->items, a->n)) != 0)
		goto out;
	if (a->dry_run)
		goto out;
	if (a->rows != NULL && a->rows->defer_few)
		(void)batch_defer_few(&b, a->items, a->n);
	if ((rc = batch_write(&b)) != 0)
		goto out;
	if (a->rows != NULL && a->rows->write != NULL) {
		if ((rc = a->rows->write(db, a->rows->arg)) != 0)
			goto out;
	} else if (a->rows != NULL && a->rows->nrows > 0 &&
	    (rc = db_exec_rows(db, (enum db_stmt)a->rows->stmt, a->rows->v,
	    a->rows->ncols, a->rows->nrows)) != 0)
		goto out;
out:
	/* the source rows' strings go with the batch */
	for (i = 0; i < a->n; i++) {
		a->items[i].src_format = NULL;
		a->items[i].src_external_id = NULL;
	}
	batch_free(&b);
	free(ids);
	return rc;
}

int
findings_observe_batch(struct db *db, const char *tenant_id,
    struct findings_seen *items, size_t n, time_t now, const char *scan_id,
    int dry_run)
{
	struct batch_tx a = { tenant_id, scan_id, items, n, now, dry_run,
	    NULL, { 0, 0, 0 } };

	if (n > FINDINGS_BATCH)
		return DB_ERR;
	if (dry_run)
		return batch_tx(db, &a);
	/* A deadlock, lock timeout or certification failure rolled the
	 * whole batch back: db_tx_run runs it again. */
	return db_tx_run(db, batch_tx, &a);
}

int
findings_observe_batch_with(struct db *db, const char *tenant_id,
    struct findings_seen *items, size_t n, time_t now, const char *scan_id,
    const struct findings_rows *rows)
{
	struct batch_tx a = { tenant_id, scan_id, items, n, now, 0, rows,
	    { 0, 0, 0 } };
	int rc;

	if (n > FINDINGS_BATCH)
		return DB_ERR;
	if ((rc = db_tx_run(db, batch_tx, &a)) == 0 && rows != NULL &&
	    rows->hint != NULL)
		*rows->hint = a.hint;
	return rc;
}

int
findings_observe_batch_hint(struct db *db, const char *tenant_id,
    struct findings_seen *items, size_t n, time_t now, const char *scan_id,
    struct findings_hint *hint)
{
	struct findings_rows rows;

	memset(&rows, 0, sizeof(rows));
	rows.hint = hint;
	return findings_observe_batch_with(db, tenant_id, items, n, now,
	    scan_id, &rows);
}

/* Resolving ids[0..n) in one transaction: resolved gets how many (set
 * afresh by each run). */
struct absent_tx {
	const char		*tenant_id, *scan_id;
	const char *const	*ids;
	size_t			 n;
	time_t			 now;
	long			 resolved;
	/* findings_source_gone: the source whose rows of ids go first */
	const char		*source;
	int			(*check)(struct db *, void *);
	void			*check_arg;
	int			 held;		/* check said stop */
};

/* findings_source_gone's first step, under the tenant's lock: the
 * source's rows of a->ids deleted, and into left those of a->ids no
 * other source reports. 0 or a DB_* code. */
static int
source_drop(struct db *db, const struct absent_tx *a, const char **left,
    size_t *nleft)
{
	struct db_val p[2 + DB_MANY], q[1 + DB_MANY];
	struct db_res *rem = NULL;
	size_t i, j;
	int rc;

	*nleft = 0;
	p[0] = DB_STR(a->tenant_id);
	p[1] = DB_STR(a->source);
	q[0] = DB_STR(a->tenant_id);
	for (i = 0; i < DB_MANY; i++) {
		p[2 + i] = DB_STR(a->ids[i < a->n ? i : a->n - 1]);
		q[1 + i] = p[2 + i];
	}
	if ((rc = db_exec(db, SQL_SOURCE_DELETE_MANY, p, NELEM(p),
	    NULL)) != 0 || (rc = db_exec(db, SQL_SOURCE_REMAINING_MANY, q,
	    NELEM(q), &rem)) != 0) {
		db_res_free(rem);
		return rc;
	}
	for (i = 0; i < a->n; i++) {
		for (j = 0; j < rem->nrows; j++)
			if (strcmp(db_cell(rem, j, 0), a->ids[i]) == 0)
				break;
		if (j == rem->nrows)
			left[(*nleft)++] = a->ids[i];
	}
	db_res_free(rem);
	return 0;
}

/* absent_tx's verdict on a finding that a source no longer lists but
 * which stays (another source lists it, or a scan owns it): a rule
 * naming a source may match it now, or, for one no source lists any
 * more, no longer (mutes.c source_matches). in gets LC_MUTE or
 * LC_UNMUTE; 0 when neither applies. */
static int
absent_mute(const struct batch *b, const struct slot *sl, struct lc_input *in)
{
	struct mute_subject s;
	const char *hit;

	row_subject(sl->row, &b->srcs, &s);
	hit = mutes_match(&b->mutes, &s);
	return mute_verdict(sl->row->f.state, hit, NULL, "no_rule", in);
}

/* A finding no import source lists any more but a scan owns is that
 * scan's alone again: its source, which named the import that wrote it
 * last, names the scan's integration, so that GET /findings?source=,
 * channel filters and a mute rule's source judge it by the scan (as
 * after a scan's own write) rather than by the import gone. 0 or
 * DB_ERR. */
static int
scan_owns_again(struct slot *sl)
{
	char *integ;

	if (strcmp(sl->row->source, sl->stored_integ) == 0)
		return 0;
	if ((integ = strdup(sl->stored_integ)) == NULL)
		return DB_ERR;
	free(sl->row->source);
	sl->row->source = integ;
	sl->dirty = 1;
	return 0;
}

static int
absent_tx(struct db *db, void *arg)
{
	struct absent_tx *a = arg;
	const char *left[DB_MANY];
	const char *const *ids = a->ids;
	size_t n = a->n, nleft = 0;
	struct batch b;
	struct lc_result res;
	struct lc_input gone, in;
	size_t i;
	int rc, remute = 0;

	a->resolved = 0;
	memset(&b, 0, sizeof(b));
	memset(&res, 0, sizeof(res));
	memset(&gone, 0, sizeof(gone));
	gone.kind = LC_NOT_SEEN;
	b.db = db;
	b.tenant_id = a->tenant_id;
	b.scan_id = a->scan_id;
	b.now = a->now;
	a->held = 0;
	if ((rc = lock_tenant_settings(db, a->tenant_id, &b.tenant)) != 0)
		goto out;
	/* Asked under the lock every batch of an import takes first: a
	 * writer that begins after the answer waits for this commit. */
	if (a->check != NULL && (rc = a->check(db, a->check_arg)) != 0) {
		if (rc == 1) {
			a->held = 1;
			rc = 0;
		}
		goto out;
	}
	/* The other sources are read under the lock every writer of
	 * source rows takes first: one that lists a finding meanwhile
	 * keeps it open. With a live rule that names a source, the
	 * findings other sources still list are judged again too: the
	 * source gone may have been the one the rule does not name. */
	if (a->source != NULL) {
		if ((rc = source_drop(db, a, left, &nleft)) != 0 ||
		    (rc = mutes_load_live(db, a->tenant_id, a->now,
		    &b.mutes)) != 0)
			goto out;
		if (!(remute = mutes_need_sources(&b.mutes))) {
			ids = left;
			n = nleft;
		}
	}
	rc = DB_ERR;
	if (batch_slots(&b, ids, n) != 0)
		goto out;
	for (i = 0; i < b.nslots; i++)
		b.slots[i].gone = !remute;
	for (i = 0; remute && i < nleft; i++) {
		struct slot *sl = slot_find(&b, left[i]);

		if (sl != NULL)
			sl->gone = 1;
	}
	if ((rc = batch_mode(&b)) != 0 ||
	    (rc = batch_load(&b, SQL_FINDING_GET_MANY_EVID, NULL, NULL)) != 0 ||
	    (remute && (rc = mutes_sources_load(db, a->tenant_id, a->ids,
	    a->n, &b.srcs)) != 0))
		goto out;
	for (i = 0; i < b.nslots; i++) {
		struct slot *sl = &b.slots[i];
		enum finding_state was;

		if (sl->row == NULL)
			continue;
		/* A finding a scan owns is that scan's to resolve, when its
		 * integration no longer sees it. */
		if (sl->gone && !(a->source != NULL && sl->stored_integ != NULL))
			in = gone;
		else {
			if (sl->gone && (rc = scan_owns_again(sl)) != 0)
				goto out;
			if (!remute || !absent_mute(&b, sl, &in))
				continue;
		}
		was = sl->row->f.state;
		if (lifecycle_apply(&sl->row->f, &in, a->now, &b.tenant,
		    &res) != 0) {
			rc = DB_ERR;
			goto out;
		}
		if (res.status == 0 && (res.changed || res.nhistory > 0 ||
		    res.nevents > 0)) {
			sl->row->f = res.finding;
			sl->dirty = 1;
			batch_effects(&b, sl->row, &res);
			if (was != FINDING_RESOLVED &&
			    sl->row->f.state == FINDING_RESOLVED) {
				a->resolved++;
				batch_result(&b, sl->row, "resolved");
			}
		}
		lifecycle_result_free(&res);
	}
	rc = batch_write(&b);
out:
	batch_free(&b);
	return rc;
}

long
findings_source_gone(struct db *db, const char *tenant_id,
    const char *source, const char *const *ids, size_t n, time_t now,
    int (*check)(struct db *, void *), void *arg)
{
	struct absent_tx a;
	int rc;

	if (n == 0)
		return 0;
	if (n > FINDINGS_BATCH)
		return DB_ERR;
	memset(&a, 0, sizeof(a));
	a.tenant_id = tenant_id;
	a.ids = ids;
	a.n = n;
	a.now = now;
	a.source = source;
	a.check = check;
	a.check_arg = arg;
	if ((rc = db_tx_run(db, absent_tx, &a)) != 0)
		return rc;
	return a.held ? FINDINGS_HELD : a.resolved;
}

/* Insert [lo, hi] into q, merged with the ranges it meets or touches;
 * past FINDINGS_SEQS_MAX ranges q is dropped (full). */
static void
seqs_put(struct findings_seqs *q, long long lo, long long hi)
{
	size_t i = q->n, j;

	if (q->full)
		return;
	/* Most runs come after every range so far. */
	while (i > 0 && q->r[i - 1][0] > lo)
		i--;
	if (i > 0 && q->r[i - 1][1] >= lo - 1) {
		i--;
		if (hi > q->r[i][1])
			q->r[i][1] = hi;
	} else {
		if (q->n == q->a) {
			size_t a = q->a ? q->a * 2 : 64;
			long long (*p)[2];

			if (a > FINDINGS_SEQS_MAX ||
			    (p = realloc(q->r, a * sizeof(*p))) == NULL) {
				findings_seqs_free(q);
				q->full = 1;
				return;
			}
			q->r = p;
			q->a = a;
		}
		memmove(q->r + i + 1, q->r + i, (q->n - i) * sizeof(*q->r));
		q->r[i][0] = lo;
		q->r[i][1] = hi;
		q->n++;
	}
	/* The ranges after it that it now meets or touches. */
	for (j = i + 1; j < q->n && q->r[j][0] <= q->r[i][1] + 1; j++)
		if (q->r[j][1] > q->r[i][1])
			q->r[i][1] = q->r[j][1];
	memmove(q->r + i + 1, q->r + j, (q->n - j) * sizeof(*q->r));
	q->n -= j - i - 1;
}

void
findings_seqs_add(struct findings_seqs *q, const struct findings_seen *items,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (items[i].seq > 0)
			seqs_put(q, items[i].seq, items[i].seq);
}

void
findings_seqs_free(struct findings_seqs *q)
{
	free(q->r);
	memset(q, 0, sizeof(*q));
}

/* Fewer seen findings than this per range on average, and reading the
 * gaps costs more round trips than the one full read saves: seqs that
 * are not consecutive (Galera's auto_increment_increment spaces every
 * node's, concurrent inserts interleave) make a range of each finding,
 * and a statement per gap of an integration of 3,000 findings is 3,001
 * round trips through the proxy instead of one. */
#define SEQS_MIN_PER_RANGE	16

/* Whether the gaps between seen's ranges are worth reading instead of
 * every row of the integration. */
static int
seqs_worth(const struct findings_seqs *seen)
{
	unsigned long long rows = 0;
	size_t i;

	if (seen == NULL || seen->full)
		return 0;
	for (i = 0; i < seen->n; i++)
		rows += (unsigned long long)(seen->r[i][1] - seen->r[i][0]) +
		    1;
	return rows >= (unsigned long long)seen->n * SEQS_MIN_PER_RANGE;
}

/* The ids SQL_FINDING_ABSENT gives, or with seen (seqs_worth) those
 * SQL_FINDING_ABSENT_SEQS gives in each gap between its ranges: the
 * same findings, as the rows in the ranges were marked seen by this
 * scan; sorted. *out and *nout: the ids (owned). 0 or DB_*. */
static int
absent_ids(struct db *db, const char *integration_id, const char *provider,
    const char *scan_id, const struct findings_seqs *seen, char ***out,
    size_t *nout)
{
	struct db_res *res = NULL;
	char **ids = NULL;
	size_t n = 0, a = 0, g, i;
	int rc = 0;

	*out = NULL;
	*nout = 0;
	if (!seqs_worth(seen))
		seen = NULL;
	for (g = 0; rc == 0 && g <= (seen && !seen->full ? seen->n : 0);
	    g++) {
		if (seen == NULL || seen->full)
			rc = db_exec(db, SQL_FINDING_ABSENT, (struct db_val[]){
			    DB_STR(integration_id), DB_STR(provider),
			    DB_STR(scan_id) }, 3, &res);
		else
			rc = db_exec(db, SQL_FINDING_ABSENT_SEQS,
			    (struct db_val[]){ DB_STR(integration_id),
			    DB_STR(provider), DB_STR(scan_id),
			    DB_INT(g == 0 ? 0 : seen->r[g - 1][1] + 1),
			    DB_INT(g == seen->n ? LLONG_MAX :
			    seen->r[g][0] - 1) }, 5, &res);
		for (i = 0; rc == 0 && i < res->nrows; i++) {
			if (n == a) {
				size_t na = a ? a * 2 : 256;
				char **p = realloc(ids, na * sizeof(*p));

				if (p == NULL) {
					rc = DB_ERR;
					break;
				}
				ids = p;
				a = na;
			}
			if ((ids[n] = strdup(db_cell(res, i, 0))) == NULL) {
				rc = DB_ERR;
				break;
			}
			n++;
		}
		db_res_free(res);
		res = NULL;
	}
	if (rc != 0) {
		for (i = 0; i < n; i++)
			free(ids[i]);
		free(ids);
		return rc;
	}
	if (n > 1)
		qsort(ids, n, sizeof(*ids), cmp_str);
	*out = ids;
	*nout = n;
	return 0;
}

long
findings_resolve_absent(struct db *db, const char *tenant_id,
    const char *integration_id, const char *provider, const char *scan_id,
    time_t now, const struct findings_seqs *seen)
{
	char **ids = NULL;
	const char *batch[FINDINGS_BATCH];
	struct absent_tx a;
	long total = 0;
	size_t i, k, nids = 0;
	int rc = 0;

	if (integration_id == NULL || scan_id == NULL)
		return DB_ERR;
	if ((rc = absent_ids(db, integration_id, provider, scan_id, seen,
	    &ids, &nids)) != 0)
		return rc;
	for (i = 0; i < nids; i += k) {
		for (k = 0; k < FINDINGS_BATCH && i + k < nids; k++)
			batch[k] = ids[i + k];
		memset(&a, 0, sizeof(a));
		a.tenant_id = tenant_id;
		a.scan_id = scan_id;
		a.ids = batch;
		a.n = k;
		a.now = now;
		if ((rc = db_tx_run(db, absent_tx, &a)) != 0)
			break;
		total += a.resolved;
	}
	for (i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
	return rc != 0 ? rc : total;
}
