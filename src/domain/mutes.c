/* mutes.c: mute rules (README, Mute rules): validation and matching
 * (pure), the rows, and the passes that mute and give back a tenant's
 * findings. The state change itself is the lifecycle's (LC_MUTE,
 * LC_UNMUTE, u.seen.mute), written through findings_act (a pass:
 * findings_act_mute, deciding on the locked row), so a muted
 * finding has its history entry, audit entry and event like any other. */
#include "vigil.h"

#include <ctype.h>
#ifdef VIGIL_DEBUG
#include <signal.h>
#endif
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "db.h"
#include "findings.h"
#include "id.h"
#include "lifecycle.h"
#include "log.h"
#include "mutes.h"
#include "text.h"
#include "vjson.h"
#include "vtime.h"

/* MUTE_COLS in db.c. */
enum {
	MC_ID, MC_RULE, MC_SOURCE, MC_RESOURCE, MC_GROUP, MC_SUB, MC_ENV,
	MC_TAG_KEY, MC_TAG_VALUE, MC_JUSTIFICATION, MC_EXPIRES, MC_LAPSED,
	MC_CREATED, MC_CREATED_BY
};

/* -- matching ---------------------------------------------------------- */

/* The glob's automaton, a bit per position of the pattern (set: the
 * pattern's first j bytes match what was read), stepped over s one byte
 * at a time: |s| steps of |p| / 64 words each, whatever the pattern
 * (the backtracking below can take |p| x |s|). 1 if it matches, 0 if
 * not, -1 out of memory. */
int
mutes_glob_nfa(const char *p, const char *s)
{
	char *q;
	uint64_t *tab, *d, *e, *star, *any, carry, x;
	size_t m = 0, w, i, j, n = strlen(p);
	int r;

	w = (n + 1 + 63) / 64;
	if ((tab = calloc(256 + 4, w * sizeof(*tab))) == NULL)
		return -1;
	if ((q = malloc(n + 1)) == NULL) {
		free(tab);
		return -1;
	}
	/* consecutive stars are one */
	for (i = 0; p[i] != '\0'; i++)
		if (p[i] != '*' || m == 0 || q[m - 1] != '*')
			q[m++] = p[i];
	q[m] = '\0';
	d = tab + 256 * w;
	e = d + w;
	star = e + w;
	any = star + w;
#define BIT(v, j) ((v)[(j) / 64] |= (uint64_t)1 << ((j) % 64))
	for (j = 0; j < m; j++) {
		if (q[j] == '*')
			BIT(star, j);
		else if (q[j] == '?')
			BIT(any, j);
		else {
			BIT(tab + w * (unsigned char)tolower((unsigned char)q[j]),
			    j);
			BIT(tab + w * (unsigned char)toupper((unsigned char)q[j]),
			    j);
		}
	}
	BIT(d, 0);
#undef BIT
	for (;;) {
		/* a star matches nothing too: its position lets the next
		 * one in (one step: stars are not consecutive) */
		for (carry = 0, i = 0; i < w; i++) {
			x = d[i] & star[i];
			d[i] |= (x << 1) | carry;
			carry = x >> 63;
		}
		if (*s == '\0')
			break;
		/* one byte: a literal or '?' moves on, a star stays */
		for (carry = 0, i = 0; i < w; i++) {
			x = d[i] & (tab[w * (unsigned char)*s + i] | any[i]);
			e[i] = (x << 1) | carry | (d[i] & star[i]);
			carry = x >> 63;
		}
		memcpy(d, e, w * sizeof(*d));
		s++;
	}
	r = (d[m / 64] >> (m % 64)) & 1;
	free(q);
	free(tab);
	return r;
}

int
mutes_glob(const char *p, const char *s)
{
	const char *star = NULL, *mark = NULL, *p0 = p, *s0 = s;
	size_t steps = 0, budget;

	if (p == NULL || s == NULL)
		return 0;
	/* Backtracking, as fast as it gets for what people write; a
	 * pattern that makes it retry too long (many bytes after a star
	 * that almost match, again and again) goes to the automaton,
	 * whose cost does not depend on the pattern's shape. */
	budget = 4 * (strlen(p) + strlen(s)) + 64;
	while (*s != '\0') {
		if (++steps > budget) {
			int r = mutes_glob_nfa(p0, s0);

			if (r >= 0)
				return r;
			budget = (size_t)-1;	/* no memory: on as before */
		}
		if (*p == '*') {
			star = p++;
			mark = s;
		} else if (*p != '\0' && (*p == '?' ||
		    tolower((unsigned char)*p) ==
		    tolower((unsigned char)*s))) {
			p++;
			s++;
		} else if (star != NULL) {
			/* Let the last '*' take one more byte. */
			p = star + 1;
			s = ++mark;
		} else
			return 0;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

int
mutes_resource_group(const char *rid, char *out, size_t outsz)
{
	static const char key[] = "/resourcegroups/";
	const char *p, *e;
	size_t klen = sizeof(key) - 1, len;

	if (rid == NULL || outsz == 0)
		return -1;
	for (p = rid; *p != '\0'; p++)
		if (strncasecmp(p, key, klen) == 0)
			break;
	if (*p == '\0')
		return -1;
	p += klen;
	e = strchr(p, '/');
	len = e ? (size_t)(e - p) : strlen(p);
	if (len == 0 || len >= outsz)
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

static int
same_ci(const char *want, const char *have)
{
	return have != NULL && strcasecmp(want, have) == 0;
}

/* The resource's tag key (any case, as ARM treats tag names) equal to
 * value (exactly). text is the finding's tags, a JSON object. */
static int
tag_matches(const char *text, const char *key, const char *value)
{
	json_object *tags;
	int hit = 0;

	if (text == NULL || (tags = json_tokener_parse(text)) == NULL)
		return 0;
	if (json_object_is_type(tags, json_type_object)) {
		json_object_object_foreach(tags, k, v) {
			if (strcasecmp(k, key) != 0)
				continue;
			if (value == NULL || (json_object_is_type(v,
			    json_type_string) && strcmp(
			    json_object_get_string(v), value) == 0))
				hit = 1;
		}
	}
	json_object_put(tags);
	return hit;
}

/* A rule's source: the finding's provider ("azure", every source of that
 * kind), or else every import source that lists it; a finding none
 * lists (only a scan found it), its source (the integration's id). So a
 * finding two sources list is not muted by a rule naming one of them,
 * whichever imported last (README, Mute rules). */
static int
source_matches(const char *want, const struct mute_subject *s)
{
	size_t i;

	if (same_ci(want, s->provider))
		return 1;
	if (s->nsources == 0 && s->importing == NULL)
		return same_ci(want, s->source);
	if (s->importing != NULL && !same_ci(want, s->importing))
		return 0;
	for (i = 0; i < s->nsources; i++)
		if (!same_ci(want, s->sources[i]))
			return 0;
	return 1;
}

int
mutes_rule_matches(const struct mute_rule *r, const struct mute_subject *s)
{
	char group[MUTES_GROUP_MAX + 1];

	if (r->rule_pattern != NULL && !mutes_glob(r->rule_pattern,
	    s->rule_id))
		return 0;
	if (r->source != NULL && !source_matches(r->source, s))
		return 0;
	if (r->resource_pattern != NULL && !mutes_glob(r->resource_pattern,
	    s->resource_id))
		return 0;
	if (r->resource_group != NULL) {
		if (s->resource_group != NULL && *s->resource_group != '\0')
			snprintf(group, sizeof(group), "%s", s->resource_group);
		else if (mutes_resource_group(s->resource_id, group,
		    sizeof(group)) != 0)
			return 0;
		if (!same_ci(r->resource_group, group))
			return 0;
	}
	if (r->subscription_id != NULL && !same_ci(r->subscription_id,
	    s->subscription_id))
		return 0;
	if (r->environment != NULL && !same_ci(r->environment,
	    s->environment))
		return 0;
	if (r->tag_key != NULL && !tag_matches(s->tags, r->tag_key,
	    r->tag_value))
		return 0;
	return 1;
}

const char *
mutes_match(const struct mute_set *set, const struct mute_subject *s)
{
	size_t i;

	if (set == NULL)
		return NULL;
	for (i = 0; i < set->n; i++)
		if (mutes_rule_matches(&set->rules[i], s))
			return set->rules[i].id;
	return NULL;
}

int
mutes_need_sources(const struct mute_set *set)
{
	size_t i;

	for (i = 0; set != NULL && i < set->n; i++)
		if (set->rules[i].source != NULL)
			return 1;
	return 0;
}

void
mutes_subject_from_obs(const struct finding_obs *obs, struct mute_subject *s)
{
	memset(s, 0, sizeof(*s));
	s->rule_id = obs->rule_id;
	s->source = obs->source;
	s->provider = obs->provider;
	s->resource_id = obs->resource_id;
	s->resource_group = obs->resource_group;
	s->subscription_id = obs->subscription_id;
	s->environment = obs->environment;
	s->tags = obs->tags;
}

const char *
mutes_match_obs(const struct mute_set *set, const struct finding_obs *obs)
{
	struct mute_subject s;

	mutes_subject_from_obs(obs, &s);
	return mutes_match(set, &s);
}

/* -- validation --------------------------------------------------------- */

static int
bad(struct vjson_err *err, const char *field, const char *message)
{
	snprintf(err->field, sizeof(err->field), "%s", field);
	snprintf(err->message, sizeof(err->message), "%s", message);
	return -1;
}

/* A criterion: absent, or a string of 1..max bytes without control
 * characters. 1 given, 0 absent, -1 bad. */
static int
criterion(json_object *body, const char *name, size_t max, char **out,
    struct vjson_err *err)
{
	const char *v = NULL;
	int rc;

	*out = NULL;
	rc = vjson_get_string(body, name, 0, 1, max, &v, err);
	if (rc <= 0)
		return rc;
	*out = (char *)v;
	return 1;
}

static int
rule_pattern_ok(const char *p)
{
	for (; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '*' ||
		    *p == '?'))
			return 0;
	return 1;
}

/* Only spaces: not a justification. */
static int
blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isspace((unsigned char)*s))
			return 0;
	return 1;
}

int
mutes_parse(json_object *body, time_t now, struct mute_rule *out,
    char *tag_buf, size_t tag_bufsz, struct vjson_err *err)
{
	static const char *const allowed[] = { "rule_id", "source",
	    "resource_id", "resource_group", "subscription_id", "environment",
	    "tag", "justification", "expires_at", NULL };
	const char *just = NULL, *exp = NULL;
	char *tag = NULL, *colon;
	int given = 0, rc;

	memset(out, 0, sizeof(*out));
	if (body == NULL || !json_object_is_type(body, json_type_object))
		return bad(err, "body", "The body must be a JSON object.");
	if (vjson_only_keys(body, allowed, err) != 0)
		return -1;
#define CRIT(name, max, dst) do {					\
		if ((rc = criterion(body, name, max, dst, err)) < 0)	\
			return -1;					\
		given += rc;						\
	} while (0)
	CRIT("rule_id", MUTES_RULE_MAX, &out->rule_pattern);
	CRIT("source", MUTES_SOURCE_MAX, &out->source);
	CRIT("resource_id", MUTES_RESOURCE_MAX, &out->resource_pattern);
	CRIT("resource_group", MUTES_GROUP_MAX, &out->resource_group);
	CRIT("subscription_id", MUTES_SUB_MAX, &out->subscription_id);
	CRIT("environment", MUTES_ENV_MAX, &out->environment);
	CRIT("tag", MUTES_TAG_MAX, &tag);
#undef CRIT
	if (out->rule_pattern != NULL && !rule_pattern_ok(out->rule_pattern))
		return bad(err, "rule_id", "rule_id must be a rule id or a "
		    "glob of one: lowercase letters, digits, '-', '_', '.', "
		    "'*' (any run) and '?' (one character).");
	if (out->resource_group != NULL && (strchr(out->resource_group, '/') ||
	    strchr(out->resource_group, '*')))
		return bad(err, "resource_group", "resource_group is a "
		    "resource group's name (no '/' and no pattern).");
	if (tag != NULL) {
		/* key:value; the key is 1-128 bytes, the value may be
		 * empty and holds at most the 256 characters of its column
		 * (more was the database's error, a 500). */
		if ((colon = strchr(tag, ':')) == NULL || colon == tag ||
		    (size_t)(colon - tag) > 128 ||
		    finding_utf8_chars(colon + 1) > FINDING_TAG_VALUE_MAX ||
		    strlen(tag) >= tag_bufsz)
			return bad(err, "tag", "tag must be key:value (a key "
			    "of 1-128 bytes, a value of at most 256).");
		memcpy(tag_buf, tag, strlen(tag) + 1);
		tag_buf[colon - tag] = '\0';
		out->tag_key = tag_buf;
		out->tag_value = tag_buf + (colon - tag) + 1;
	}
	if (given == 0)
		return bad(err, "rule_id", "A mute rule needs at least one of "
		    "rule_id, source, resource_id, resource_group, "
		    "subscription_id, environment and tag.");
	if (vjson_get_text(body, "justification", 1, 1, MUTES_TEXT_MAX,
	    &just, err) < 0)
		return -1;
	if (blank(just))
		return bad(err, "justification", "justification must not be "
		    "blank.");
	out->justification = (char *)just;
	if ((rc = vjson_get_string(body, "expires_at", 0, 1, 64, &exp,
	    err)) < 0)
		return -1;
	if (rc > 0) {
		if (vtime_parse_rfc3339(exp, &out->expires_at) != 0)
			return bad(err, "expires_at", "expires_at must be an "
			    "RFC 3339 time.");
		if (out->expires_at <= now)
			return bad(err, "expires_at", "expires_at must be in "
			    "the future.");
	}
	return 0;
}

/* -- the API shape ---------------------------------------------------------- */

static void
add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static void
add_time(json_object *o, const char *k, time_t t)
{
	char ts[VTIME_RFC3339_LEN];

	if (t == 0) {
		json_object_object_add(o, k, NULL);
		return;
	}
	vtime_rfc3339(t, ts, sizeof(ts));
	json_object_object_add(o, k, json_object_new_string(ts));
}

json_object *
mutes_to_json(const struct mute_rule *r)
{
	json_object *o = json_object_new_object();
	char tag[MUTES_TAG_MAX + 2];

	add_str(o, "id", r->id);
	add_str(o, "rule_id", r->rule_pattern);
	add_str(o, "source", r->source);
	add_str(o, "resource_id", r->resource_pattern);
	add_str(o, "resource_group", r->resource_group);
	add_str(o, "subscription_id", r->subscription_id);
	add_str(o, "environment", r->environment);
	if (r->tag_key != NULL) {
		snprintf(tag, sizeof(tag), "%s:%s", r->tag_key,
		    r->tag_value ? r->tag_value : "");
		add_str(o, "tag", tag);
	} else
		add_str(o, "tag", NULL);
	add_str(o, "justification", r->justification);
	add_time(o, "expires_at", r->expires_at);
	json_object_object_add(o, "expired",
	    json_object_new_boolean(r->expires_at != 0 &&
	    r->expires_at <= time(NULL)));
	add_time(o, "created_at", r->created_at);
	add_str(o, "created_by", r->created_by);
	return o;
}

/* -- rows ------------------------------------------------------------------ */

void
mutes_rule_free(struct mute_rule *r)
{
	if (r == NULL)
		return;
	free(r->id);
	free(r->rule_pattern);
	free(r->source);
	free(r->resource_pattern);
	free(r->resource_group);
	free(r->subscription_id);
	free(r->environment);
	free(r->tag_key);
	free(r->tag_value);
	free(r->justification);
	free(r->created_by);
	memset(r, 0, sizeof(*r));
}

void
mutes_set_free(struct mute_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		mutes_rule_free(&set->rules[i]);
	free(set->rules);
	set->rules = NULL;
	set->n = 0;
}

static int
dup_cell(const struct db_res *res, size_t i, size_t col, char **out)
{
	const char *v = db_cell(res, i, col);

	*out = NULL;
	if (v == NULL)
		return 0;
	return (*out = strdup(v)) == NULL ? -1 : 0;
}

static time_t
cell_time(const struct db_res *res, size_t i, size_t col)
{
	const char *v = db_cell(res, i, col);
	time_t t = 0;

	if (v == NULL || vtime_parse_sql(v, &t) != 0)
		return 0;
	return t;
}

/* Row i into *r (zeroed first). 0 or -1 (out of memory). */
static int
row_at(const struct db_res *res, size_t i, struct mute_rule *r)
{
	memset(r, 0, sizeof(*r));
	if (dup_cell(res, i, MC_ID, &r->id) != 0 ||
	    dup_cell(res, i, MC_RULE, &r->rule_pattern) != 0 ||
	    dup_cell(res, i, MC_SOURCE, &r->source) != 0 ||
	    dup_cell(res, i, MC_RESOURCE, &r->resource_pattern) != 0 ||
	    dup_cell(res, i, MC_GROUP, &r->resource_group) != 0 ||
	    dup_cell(res, i, MC_SUB, &r->subscription_id) != 0 ||
	    dup_cell(res, i, MC_ENV, &r->environment) != 0 ||
	    dup_cell(res, i, MC_TAG_KEY, &r->tag_key) != 0 ||
	    dup_cell(res, i, MC_TAG_VALUE, &r->tag_value) != 0 ||
	    dup_cell(res, i, MC_JUSTIFICATION, &r->justification) != 0 ||
	    dup_cell(res, i, MC_CREATED_BY, &r->created_by) != 0) {
		mutes_rule_free(r);
		return -1;
	}
	r->expires_at = cell_time(res, i, MC_EXPIRES);
	r->created_at = cell_time(res, i, MC_CREATED);
	r->lapsed = db_cell_int(res, i, MC_LAPSED) != 0;
	return 0;
}

int
mutes_load_live(struct db *db, const char *tenant_id, time_t now,
    struct mute_set *out)
{
	struct db_res *res = NULL;
	char t[VTIME_SQL_LEN];
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	vtime_sql(now, t, sizeof(t));
	if ((rc = db_exec(db, SQL_MUTE_LIVE, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(t) }, 2, &res)) != 0)
		return rc;
	if (res->nrows > 0 && (out->rules = calloc(res->nrows,
	    sizeof(*out->rules))) == NULL) {
		db_res_free(res);
		return DB_ERR;
	}
	for (i = 0; i < res->nrows; i++, out->n++)
		if (row_at(res, i, &out->rules[i]) != 0) {
			db_res_free(res);
			mutes_set_free(out);
			return DB_ERR;
		}
	db_res_free(res);
	return 0;
}

/* A finding's source, to sort by finding id. */
struct src_pair {
	const char	*id, *name;
};

static int
cmp_pair(const void *a, const void *b)
{
	return strcmp(((const struct src_pair *)a)->id,
	    ((const struct src_pair *)b)->id);
}

int
mutes_sources_load(struct db *db, const char *tenant_id,
    const char *const *ids, size_t n, struct mute_sources *out)
{
	struct db_val p[1 + DB_MANY];
	struct src_pair *pairs = NULL;
	size_t i, k = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return 0;
	if (n > DB_MANY)
		return DB_ERR;
	p[0] = DB_STR(tenant_id);
	/* the IN list's spare places repeat the last id */
	for (i = 0; i < DB_MANY; i++)
		p[1 + i] = DB_STR(ids[i < n ? i : n - 1]);
	if ((rc = db_exec(db, SQL_SOURCE_OF_MANY, p, NELEM(p),
	    &out->res)) != 0)
		return rc;
	if (out->res->nrows == 0)
		return 0;
	if ((pairs = calloc(out->res->nrows, sizeof(*pairs))) == NULL ||
	    (out->ids = calloc(out->res->nrows, sizeof(*out->ids))) == NULL ||
	    (out->names = calloc(out->res->nrows,
	    sizeof(*out->names))) == NULL) {
		free(pairs);
		mutes_sources_free(out);
		return DB_ERR;
	}
	for (i = 0; i < out->res->nrows; i++) {
		pairs[k].id = db_cell(out->res, i, 0);
		pairs[k].name = db_cell(out->res, i, 1);
		if (pairs[k].id != NULL && pairs[k].name != NULL)
			k++;
	}
	qsort(pairs, k, sizeof(*pairs), cmp_pair);
	for (i = 0; i < k; i++) {
		out->ids[i] = pairs[i].id;
		out->names[i] = pairs[i].name;
	}
	out->n = k;
	free(pairs);
	return 0;
}

void
mutes_sources_of(const struct mute_sources *ms, const char *id,
    struct mute_subject *s)
{
	size_t lo = 0, hi = ms != NULL ? ms->n : 0, end;

	s->sources = NULL;
	s->nsources = 0;
	/* the first of id's rows */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ms->ids[mid], id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; ms != NULL && end < ms->n &&
	    strcmp(ms->ids[end], id) == 0; end++)
		;
	if (end > lo) {
		s->sources = ms->names + lo;
		s->nsources = end - lo;
	}
}

void
mutes_sources_free(struct mute_sources *ms)
{
	if (ms == NULL)
		return;
	db_res_free(ms->res);
	free(ms->ids);
	free(ms->names);
	memset(ms, 0, sizeof(*ms));
}

int
mutes_get(struct db *db, const char *tenant_id, const char *id,
    struct mute_rule **out)
{
	struct db_res *res = NULL;
	int rc;

	*out = NULL;
	if (!id_valid("mute", id))
		return 0;
	if ((rc = db_exec(db, SQL_MUTE_GET, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, &res)) != 0)
		return rc;
	rc = 0;
	if (res->nrows > 0) {
		if ((*out = calloc(1, sizeof(**out))) == NULL ||
		    row_at(res, 0, *out) != 0) {
			free(*out);
			*out = NULL;
			rc = DB_ERR;
		} else
			rc = 1;
	}
	db_res_free(res);
	return rc;
}

int
mutes_list(struct db *db, const char *tenant_id, const char *after,
    long limit, struct mute_rule ***out, size_t *n, long long *total,
    int *has_more)
{
	struct db_res *res = NULL, *cnt = NULL;
	struct mute_rule **items = NULL;
	size_t i, k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = db_exec(db, SQL_MUTE_LIST, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(after), DB_INT(limit + 1) }, 3,
	    &res)) != 0 ||
	    (rc = db_exec(db, SQL_MUTE_COUNT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, &cnt)) != 0)
		goto out;
	rc = DB_ERR;
	k = res->nrows > (size_t)limit ? (size_t)limit : res->nrows;
	if ((items = calloc(k ? k : 1, sizeof(*items))) == NULL)
		goto out;
	for (i = 0; i < k; i++)
		if ((items[i] = calloc(1, sizeof(**items))) == NULL ||
		    row_at(res, i, items[i]) != 0) {
			free(items[i]);
			items[i] = NULL;
			goto out;
		}
	*total = db_cell_int(cnt, 0, 0);
	*has_more = res->nrows > (size_t)limit;
	*out = items;
	*n = k;
	items = NULL;
	rc = 0;
out:
	if (items != NULL) {
		for (i = 0; i < k; i++) {
			mutes_rule_free(items[i]);
			free(items[i]);
		}
		free(items);
	}
	db_res_free(cnt);
	db_res_free(res);
	return rc;
}

/* -- the passes ------------------------------------------------------------ */

/* The pass's step on one finding, in its own transaction, decided there
 * on the row as locked (findings_act_mute). ACT_MUTED or ACT_UNMUTED if
 * it changed, 0 if not, or DB_DOWN. */
#define ACT_MUTED   1
#define ACT_UNMUTED 2
static int
act(struct db *db, const char *tenant_id, const char *id,
    const char *gone_rule, const char *reason, time_t now)
{
	struct finding_row *after = NULL;
	struct lc_result res;
	enum findings_outcome o;
	int rc, changed = 0;

	o = findings_act_mute(db, tenant_id, id, gone_rule, reason, now, &res,
	    &after, &rc);
	if (o == FINDINGS_OK && res.changed && after != NULL)
		changed = after->f.state == FINDING_MUTED ? ACT_MUTED :
		    ACT_UNMUTED;
	lifecycle_result_free(&res);
	findings_row_free(after);
	if (o == FINDINGS_DB_ERROR && rc == DB_DOWN)
		return DB_DOWN;
	return changed;
}

/* SQL_MUTE_PASS_PAGE's columns. */
enum { PASS_C_SEQ, PASS_C_ID, PASS_C_STATE, PASS_C_RULE, PASS_C_PROVIDER,
    PASS_C_RESOURCE, PASS_C_SUB, PASS_C_ENV, PASS_C_SOURCE, PASS_C_GROUP,
    PASS_C_TAGS };

/* Where a pass over a tenant's findings is: it walks them newest first,
 * below before. */
struct walk {
	long long	 before;
	long		 muted;
	long		 unmuted;
};

#define WALK_START	(1LL << 62)

/* Called after each page of a walk that is not bounded (vigil-scan
 * --due): saves it and renews its lease. 0 or a DB_* code. */
typedef int (*walk_save_fn)(struct db *, void *, const struct walk *);

/* Walk the tenant's open and muted findings below w->before, a page of
 * FINDINGS_BATCH at a time: mute the open ones a live rule matches, give
 * back the muted ones none does (gone_rule, reason in their history).
 * Stops before the finding past max_rows walked or max_changes changed
 * (0: no bound), w then saying where to resume. 1 walked to the end, 0
 * stopped at a bound, or a DB_* code. */
static int
walk(struct db *db, const char *tenant_id, time_t now, const char *gone_rule,
    const char *reason, struct walk *w, long max_rows, long max_changes,
    walk_save_fn save, void *arg)
{
	struct db_res *page = NULL;
	struct mute_set set;
	struct mute_sources srcs;
	const char *ids[FINDINGS_BATCH];
	long rows = 0, changes = 0;
	size_t i;
	int rc, done = 0, stopped = 0;

	memset(&srcs, 0, sizeof(srcs));
	if ((rc = mutes_load_live(db, tenant_id, now, &set)) != 0)
		return rc;
	for (;;) {
		if ((rc = db_exec(db, SQL_MUTE_PASS_PAGE, (struct db_val[]){
		    DB_STR(tenant_id), DB_INT(w->before),
		    DB_INT(FINDINGS_BATCH) }, 3, &page)) != 0)
			break;
		/* The page's sources, in one statement, when a rule names
		 * a source: read before the findings' own transactions, as
		 * their columns are, to pick the candidates. */
		if (mutes_need_sources(&set)) {
			for (i = 0; i < page->nrows && i < FINDINGS_BATCH; i++)
				ids[i] = db_cell(page, i, PASS_C_ID);
			if ((rc = mutes_sources_load(db, tenant_id, ids, i,
			    &srcs)) != 0)
				break;
		}
#ifdef VIGIL_DEBUG
		/* VIGIL_DEBUG_MUTE_PASS_STOP=tenant id (debug builds only):
		 * vigil-scan --due's pass of that tenant stops itself
		 * (SIGSTOP) once, after reading its first page, for a test to
		 * import there. */
		if (save != NULL && getenv("VIGIL_DEBUG_MUTE_PASS_STOP") !=
		    NULL && strcmp(getenv("VIGIL_DEBUG_MUTE_PASS_STOP"),
		    tenant_id) == 0 &&
		    unsetenv("VIGIL_DEBUG_MUTE_PASS_STOP") == 0)
			raise(SIGSTOP);
#endif
		for (i = 0; i < page->nrows; i++) {
			const char *id = db_cell(page, i, PASS_C_ID);
			const char *st = db_cell(page, i, PASS_C_STATE);
			struct mute_subject s;
			const char *hit;
			int ch = 0;

			if ((max_rows > 0 && rows >= max_rows) ||
			    (max_changes > 0 && changes >= max_changes)) {
				stopped = 1;
				break;
			}
			/* The page's columns and sources, read outside
			 * the findings' transactions, only pick the
			 * candidates (below). */
			memset(&s, 0, sizeof(s));
			s.rule_id = db_cell(page, i, PASS_C_RULE);
			s.provider = db_cell(page, i, PASS_C_PROVIDER);
			s.source = db_cell(page, i, PASS_C_SOURCE);
			s.resource_group = db_cell(page, i, PASS_C_GROUP);
			s.tags = db_cell(page, i, PASS_C_TAGS);
			s.resource_id = db_cell(page, i, PASS_C_RESOURCE);
			s.subscription_id = db_cell(page, i, PASS_C_SUB);
			s.environment = db_cell(page, i, PASS_C_ENV);
			mutes_sources_of(&srcs, id, &s);
			hit = mutes_match(&set, &s);
			/* What the page says picks the candidates; the
			 * finding's transaction decides on what it locked
			 * and the rules live then (an import may have
			 * changed its sources since, a rule come or gone). */
			if (st != NULL && ((strcmp(st, "open") == 0 &&
			    hit != NULL) || (strcmp(st, "muted") == 0 &&
			    hit == NULL)))
				ch = act(db, tenant_id, id, gone_rule,
				    reason, now);
			if (ch < 0) {
				rc = ch;
				break;
			}
			if (ch == ACT_MUTED)
				w->muted++;
			else if (ch == ACT_UNMUTED)
				w->unmuted++;
			changes += ch != 0;
			rows++;
			w->before = db_cell_int(page, i, PASS_C_SEQ);
		}
		if (rc != 0 || stopped)
			break;
		if (page->nrows < FINDINGS_BATCH) {
			done = 1;
			break;
		}
		db_res_free(page);
		page = NULL;
		mutes_sources_free(&srcs);
		if (save != NULL && (rc = save(db, arg, w)) != 0)
			break;
	}
	db_res_free(page);
	mutes_sources_free(&srcs);
	mutes_set_free(&set);
	return rc != 0 ? rc : done;
}

long
mutes_reapply(struct db *db, const char *tenant_id, time_t now,
    const char *gone_rule, const char *reason, long *muted, long *unmuted)
{
	struct walk w = { WALK_START, 0, 0 };
	int rc;

	rc = walk(db, tenant_id, now, gone_rule, reason, &w, 0, 0, NULL,
	    NULL);
	*muted = w.muted;
	*unmuted = w.unmuted;
	return rc < 0 ? rc : *muted + *unmuted;
}

/* A pass's row: where it is, whether done; leased keeps it for the
 * caller MUTES_PASS_LEASE more seconds of the clock, else frees it for
 * vigil-scan --due. 0 or a DB_* code. */
static int
pass_save(struct db *db, const char *tenant_id, const char *rule_id,
    const char *kind, const struct walk *w, int done, int leased,
    time_t now)
{
	char until[VTIME_SQL_LEN], at[VTIME_SQL_LEN];

	vtime_sql(time(NULL) + MUTES_PASS_LEASE, until, sizeof(until));
	vtime_sql(now, at, sizeof(at));
	return db_exec(db, SQL_MUTE_PASS_SAVE, (struct db_val[]){
	    DB_INT(w->before), DB_INT(w->muted), DB_INT(w->unmuted),
	    leased ? DB_STR(until) : DB_NUL, DB_STR(done ? "done" : "pending"),
	    done ? DB_STR(at) : DB_NUL, DB_STR(tenant_id), DB_STR(rule_id),
	    DB_STR(kind) }, 9, NULL);
}

/* In the rule's transaction: its pass, leased to this request (a request
 * killed before it frees the pass leaves it to vigil-scan --due once the
 * lease passes). */
static int
pass_insert(struct db *db, const char *tenant_id, const char *rule_id,
    const char *kind, time_t now)
{
	char owner[VIGIL_ID_LEN], until[VTIME_SQL_LEN], at[VTIME_SQL_LEN];

	if (id_new("lease", owner, sizeof(owner)) != 0)
		return DB_ERR;
	vtime_sql(time(NULL) + MUTES_PASS_LEASE, until, sizeof(until));
	vtime_sql(now, at, sizeof(at));
	return db_exec(db, SQL_MUTE_PASS_INSERT, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(rule_id), DB_STR(kind),
	    DB_INT(WALK_START), DB_STR(owner), DB_STR(until), DB_STR(at) }, 7,
	    NULL);
}

/* The request's bounded part of a pass it just stored; *ps how far. */
static void
pass_inline(struct db *db, const char *tenant_id, const char *rule_id,
    const char *kind, time_t now, struct mutes_pass *ps)
{
	struct walk w = { WALK_START, 0, 0 };
	int delete = strcmp(kind, "delete") == 0, rc;

	rc = walk(db, tenant_id, now, delete ? rule_id : NULL,
	    delete ? "deleted" : "no_rule", &w, MUTES_INLINE_ROWS,
	    MUTES_INLINE_CHANGES, NULL, NULL);
	ps->muted = w.muted;
	ps->unmuted = w.unmuted;
	ps->pending = rc != 1;
	if (rc < 0)
		/* the pass keeps its lease, then vigil-scan --due redoes
		 * it from the start */
		log_warn("mutes: the pass of %s %s stopped (%d); vigil-scan "
		    "--due completes it", kind, rule_id, rc);
	else if ((rc = pass_save(db, tenant_id, rule_id, kind, &w, rc == 1, 0,
	    now)) != 0)
		log_warn("mutes: the pass of %s %s not saved (%d); vigil-scan "
		    "--due completes it", kind, rule_id, rc);
}

/* One run of mutes_create's transaction; id (VIGIL_ID_LEN) gets the
 * rule's id. */
static enum mutes_outcome
create_once(struct db *db, const char *tenant_id,
    const struct mute_rule *r, const char *actor, time_t now, char *id,
    int *rc)
{
	struct db_res *cnt = NULL;
	json_object *detail;
	char t[VTIME_SQL_LEN], exp[VTIME_SQL_LEN];
	long n;

	if ((*rc = id_new("mute", id, VIGIL_ID_LEN)) != 0) {
		*rc = DB_ERR;
		return MUTES_ERROR;
	}
	vtime_sql(now, t, sizeof(t));
	if (r->expires_at != 0)
		vtime_sql(r->expires_at, exp, sizeof(exp));
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0 ||
	    (*rc = db_exec(db, SQL_MUTE_COUNT_LIVE, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(t) }, 2, &cnt)) != 0)
		return MUTES_ERROR;
	n = (long)db_cell_int(cnt, 0, 0);
	db_res_free(cnt);
	if (n >= MUTES_MAX_PER_TENANT)
		return MUTES_TOO_MANY;
	if ((*rc = db_exec(db, SQL_MUTE_INSERT, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id), DB_STR0(r->rule_pattern),
	    DB_STR0(r->source), DB_STR0(r->resource_pattern),
	    DB_STR0(r->resource_group), DB_STR0(r->subscription_id),
	    DB_STR0(r->environment), DB_STR0(r->tag_key),
	    r->tag_key != NULL ? DB_STR0(r->tag_value) : DB_NUL,
	    DB_STR(r->justification),
	    r->expires_at ? DB_STR(exp) : DB_NUL, DB_STR(t), DB_STR(actor) },
	    14, NULL)) != 0 ||
	    (*rc = pass_insert(db, tenant_id, id, "create", now)) != 0)
		return MUTES_ERROR;
	/* The entry holds the whole rule: what was muted and why. */
	{
		struct mute_rule shown = *r;

		shown.id = id;
		shown.created_at = now;
		shown.created_by = (char *)actor;
		detail = mutes_to_json(&shown);
	}
	*rc = audit_append(db, tenant_id, actor, "mute_rule.create", id,
	    detail);
	json_object_put(detail);
	return *rc != 0 ? MUTES_ERROR : MUTES_OK;
}

/* A mute rule's create or delete, in db_tx_run (create_once or
 * delete_once is its body: committed when the outcome is MUTES_OK, rolled
 * back otherwise), replayed whole after a deadlock or a certification
 * failure. The pass over stored findings runs after the commit, once. */
struct mutes_tx {
	const char		*tenant_id, *actor;
	const struct mute_rule	*r;		/* create, or */
	const char		*del_id;	/* delete */
	time_t			 now;
	char			 id[VIGIL_ID_LEN];
	enum mutes_outcome	 o;
	int			 rc;
};

static enum mutes_outcome delete_once(struct db *, const char *,
    const char *, const char *, time_t, int *);

static int
mutes_tx(struct db *db, void *arg)
{
	struct mutes_tx *t = arg;

	t->rc = 0;
	t->id[0] = '\0';
	if (t->del_id != NULL)
		t->o = delete_once(db, t->tenant_id, t->del_id, t->actor,
		    t->now, &t->rc);
	else
		t->o = create_once(db, t->tenant_id, t->r, t->actor, t->now,
		    t->id, &t->rc);
	if (t->o == MUTES_OK)
		return 0;
	if (t->o == MUTES_ERROR)
		return t->rc != 0 ? t->rc : DB_ERR;
	return 1;
}

static enum mutes_outcome
mutes_run(struct db *db, struct mutes_tx *t, int *rc)
{
	int r;

	t->o = MUTES_ERROR;
	r = db_tx_run(db, mutes_tx, t);
	*rc = r < 0 ? r : 0;
	return r < 0 ? MUTES_ERROR : t->o;
}

enum mutes_outcome
mutes_create(struct db *db, const char *tenant_id,
    const struct mute_rule *r, const char *actor, time_t now,
    struct mute_rule **out, struct mutes_pass *ps, int *rc)
{
	struct mutes_tx t;
	enum mutes_outcome o;

	*out = NULL;
	memset(ps, 0, sizeof(*ps));
	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.actor = actor;
	t.r = r;
	t.now = now;
	if ((o = mutes_run(db, &t, rc)) != MUTES_OK)
		return o;
	/* Committed: the rule is live for every scan from now on. Then
	 * the findings already stored, as far as the request may. */
	pass_inline(db, tenant_id, t.id, "create", now, ps);
	if ((*rc = mutes_get(db, tenant_id, t.id, out)) != 1) {
		*rc = *rc ? *rc : DB_ERR;
		return MUTES_ERROR;
	}
	*rc = 0;
	return MUTES_OK;
}

static enum mutes_outcome
delete_once(struct db *db, const char *tenant_id, const char *id,
    const char *actor, time_t now, int *rc)
{
	unsigned long long deleted = 0;

	*rc = 0;
	if (!id_valid("mute", id))
		return MUTES_NOT_FOUND;
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0 ||
	    (*rc = db_exec_affected(db, SQL_MUTE_DELETE, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, &deleted)) != 0)
		return MUTES_ERROR;
	if (deleted == 0)
		return MUTES_NOT_FOUND;
	if ((*rc = pass_insert(db, tenant_id, id, "delete", now)) != 0 ||
	    (*rc = audit_append(db, tenant_id, actor, "mute_rule.delete", id,
	    NULL)) != 0)
		return MUTES_ERROR;
	return MUTES_OK;
}

enum mutes_outcome
mutes_delete(struct db *db, const char *tenant_id, const char *id,
    const char *actor, time_t now, struct mutes_pass *ps, int *rc)
{
	struct mutes_tx t;
	enum mutes_outcome o;

	memset(ps, 0, sizeof(*ps));
	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.actor = actor;
	t.del_id = id;
	t.now = now;
	if ((o = mutes_run(db, &t, rc)) != MUTES_OK)
		return o;
	pass_inline(db, tenant_id, id, "delete", now, ps);
	return MUTES_OK;
}

int
mutes_pass_get(struct db *db, const char *tenant_id, const char *id,
    struct mutes_pass *ps)
{
	struct db_res *res = NULL;
	int rc;

	memset(ps, 0, sizeof(*ps));
	if ((rc = db_exec(db, SQL_MUTE_PASS_OF, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id), DB_STR("create") }, 3, &res)) != 0)
		return rc;
	if ((rc = res->nrows == 1)) {
		ps->pending = strcmp(db_cell(res, 0, 0), "pending") == 0;
		ps->muted = (long)db_cell_int(res, 0, 1);
		ps->unmuted = (long)db_cell_int(res, 0, 2);
	}
	db_res_free(res);
	return rc;
}

/* SQL_MUTE_PASS_DUE's columns. */
enum { MPASS_C_TENANT, MPASS_C_RULE, MPASS_C_KIND, MPASS_C_BEFORE,
    MPASS_C_MUTED, MPASS_C_UNMUTED };

struct due_pass {
	const char	*tenant_id;
	const char	*rule_id;
	const char	*kind;
	time_t		 now;
};

static int
due_save(struct db *db, void *arg, const struct walk *w)
{
	const struct due_pass *p = arg;

	return pass_save(db, p->tenant_id, p->rule_id, p->kind, w, 0, 1,
	    p->now);
}

long
mutes_passes_due(struct db *db, time_t now)
{
	struct db_res *due = NULL;
	char owner[VIGIL_ID_LEN], t[VTIME_SQL_LEN], until[VTIME_SQL_LEN];
	long finished = 0;
	size_t i;
	int rc;

	vtime_sql(time(NULL), t, sizeof(t));
	if ((rc = db_exec(db, SQL_MUTE_PASS_DUE, (struct db_val[]){
	    DB_STR(t) }, 1, &due)) != 0)
		return rc;
	for (i = 0; i < due->nrows; i++) {
		struct due_pass p = { db_cell(due, i, MPASS_C_TENANT),
		    db_cell(due, i, MPASS_C_RULE),
		    db_cell(due, i, MPASS_C_KIND), now };
		struct walk w = { db_cell_int(due, i, MPASS_C_BEFORE),
		    (long)db_cell_int(due, i, MPASS_C_MUTED),
		    (long)db_cell_int(due, i, MPASS_C_UNMUTED) };
		unsigned long long claimed = 0;
		int delete = strcmp(p.kind, "delete") == 0;

		if (id_new("lease", owner, sizeof(owner)) != 0) {
			rc = DB_ERR;
			break;
		}
		vtime_sql(time(NULL), t, sizeof(t));
		vtime_sql(time(NULL) + MUTES_PASS_LEASE, until,
		    sizeof(until));
		if ((rc = db_exec_affected(db, SQL_MUTE_PASS_CLAIM,
		    (struct db_val[]){ DB_STR(owner), DB_STR(until),
		    DB_STR(p.tenant_id), DB_STR(p.rule_id), DB_STR(p.kind),
		    DB_STR(t) }, 6, &claimed)) != 0)
			break;
		if (claimed == 0)
			continue;
		/* Unbounded: this is the cron job; each page is saved with
		 * the lease renewed, so a killed job resumes there. */
		if ((rc = walk(db, p.tenant_id, now, delete ? p.rule_id :
		    NULL, delete ? "deleted" : "no_rule", &w, 0, 0, due_save,
		    &p)) < 0 || (rc = pass_save(db, p.tenant_id, p.rule_id,
		    p.kind, &w, 1, 0, now)) != 0)
			break;
		finished++;
	}
	db_res_free(due);
	return rc < 0 ? rc : finished;
}

/* SQL_MUTE_DUE's columns. */
enum { DUE_TENANT, DUE_ID };

/* An expired rule marked lapsed, with its audit entry, in db_tx_run
 * (replayed whole after a conflict). */
struct lapse_tx {
	const char	*tenant, *id;
};

static int
lapse_tx(struct db *db, void *arg)
{
	struct lapse_tx *l = arg;
	unsigned long long n = 0;
	int rc;

	if ((rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(l->tenant) }, 1, NULL)) != 0 ||
	    (rc = db_exec_affected(db, SQL_MUTE_LAPSE, (struct db_val[]){
	    DB_STR(l->tenant), DB_STR(l->id) }, 2, &n)) != 0)
		return rc;
	/* another run lapsed it first, or it was deleted: said once, by
	 * that run or by its deletion */
	if (n == 0)
		return 0;
	return audit_append(db, l->tenant, LC_BY_SYSTEM, "mute_rule.expired",
	    l->id, NULL);
}

long
mutes_expire_due(struct db *db, time_t now)
{
	struct lapse_tx lapse;
	struct db_res *due = NULL;
	char t[VTIME_SQL_LEN];
	long total = 0, muted, unmuted, n;
	size_t i;
	int rc;

	vtime_sql(now, t, sizeof(t));
	if ((rc = db_exec(db, SQL_MUTE_DUE, (struct db_val[]){ DB_STR(t) }, 1,
	    &due)) != 0)
		return rc;
	for (i = 0; i < due->nrows; i++) {
		const char *tenant = db_cell(due, i, DUE_TENANT);
		const char *id = db_cell(due, i, DUE_ID);

		/* The findings first: a run that stops here leaves the rule
		 * due, and the next run finishes the pass. */
		if ((n = mutes_reapply(db, tenant, now, id, "expired", &muted,
		    &unmuted)) < 0) {
			total = n;
			break;
		}
		total += unmuted;
		lapse.tenant = tenant;
		lapse.id = id;
		if ((rc = db_tx_run(db, lapse_tx, &lapse)) != 0) {
			total = rc;
			break;
		}
	}
	db_res_free(due);
	return total;
}
