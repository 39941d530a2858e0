/* posture.c: the risk score and the posture summary, pure functions of
 * the tenant's finding counts.
 *
 * Risk score (0..100). Each open finding is read as an independent chance
 * that it is the way in: critical 40 %, high 15 %, medium 4 %, low 1 %,
 * info 0. The score is the chance that at least one of them is, in
 * percent, rounded half up:
 *
 *     score = round(100 * (1 - prod over open findings (1 - w(severity))))
 *
 * computed in integer fixed point (10^12 = 1, each factor applied with
 * the remainder dropped), so every platform gives the same number. Only
 * open findings count: accepted, snoozed, resolved and dismissed ones do
 * not. One open critical gives 40, three give 78; two highs give 28; ten
 * mediums give 34; a thousand lows give 100.
 *
 * Label: 0-19 Low, 20-39 Medium, 40-69 High, 70-100 Critical, so that a
 * single open critical finding is at least High.
 *
 * Everything above posture_load is pure; posture_load is the one function
 * that reads the database, and the _to_json functions below it build the
 * API's answers from what it read, so that the same data gives the same
 * bytes (no clock is read). The loader stays in this file rather than a
 * second one because it is one concept with one prefix: the counts, the
 * score made of them, and where they come from.
 */
#include "vigil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "posture.h"

#define ONE 1000000000000LL	/* fixed-point 1.0 */
#define POSTURE_SUMMARY_MAX 2048
#define POSTURE_CATEGORIES_MAX 100	/* as many as the summary lists */

const int posture_weight[POSTURE_NSEV] = { 400, 150, 40, 10, 0 };
const char *const posture_sev_name[POSTURE_NSEV] = {
	"critical", "high", "medium", "low", "info"
};

int
posture_score(const long long open[POSTURE_NSEV])
{
	long long safe = ONE, k;
	int s;

	for (s = 0; s < POSTURE_NSEV; s++) {
		if (posture_weight[s] == 0)
			continue;
		/* Past 0.5 % left the score is 100 whatever follows. */
		for (k = 0; k < open[s] && safe > ONE / 200; k++)
			safe = safe / 1000 * (1000 - posture_weight[s]);
	}
	if (safe <= ONE / 200)
		return 100;
	return (int)((100 * (ONE - safe) + ONE / 2) / ONE);
}

const char *
posture_label(int score)
{
	if (score >= 70)
		return "Critical";
	if (score >= 40)
		return "High";
	if (score >= 20)
		return "Medium";
	return "Low";
}

/* Index of a severity name, or -1. */
static int
posture_sev_index(const char *name)
{
	int i;

	for (i = 0; name != NULL && i < POSTURE_NSEV; i++)
		if (strcmp(name, posture_sev_name[i]) == 0)
			return i;
	return -1;
}

/* Append to out[0..outsz) at *len; stops quietly when full. */
static void
cat(char *out, size_t outsz, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len + 1 >= outsz)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *len, outsz - *len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*len += (size_t)n < outsz - *len ? (size_t)n : outsz - *len - 1;
}

/* "a", "a and b", "a, b and c" for the nonzero items of a list. */
static void
list(char *out, size_t outsz, size_t *len, const long long *n,
    const char *const *names, size_t count)
{
	size_t i, total = 0, done = 0;

	for (i = 0; i < count; i++)
		if (n[i] > 0)
			total++;
	for (i = 0; i < count; i++) {
		if (n[i] <= 0)
			continue;
		done++;
		cat(out, outsz, len, "%s%lld %s",
		    done == 1 ? "" : done == total ? " and " : ", ",
		    n[i], names[i]);
	}
}

void
posture_summary(const struct posture_counts *c, char *out, size_t outsz)
{
	static const char *const others[] = { "accepted", "snoozed",
	    "resolved", "dismissed", "muted" };
	long long rest[5] = { c->accepted, c->snoozed, c->resolved,
	    c->dismissed, c->muted };
	long long open = 0;
	size_t len = 0;
	int i, score = posture_score(c->open);

	if (outsz == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < POSTURE_NSEV; i++)
		open += c->open[i];
	if (open == 0)
		cat(out, outsz, &len, "No findings are open.");
	else {
		cat(out, outsz, &len, "%lld finding%s %s open: ", open,
		    open == 1 ? "" : "s", open == 1 ? "is" : "are");
		list(out, outsz, &len, c->open, posture_sev_name,
		    POSTURE_NSEV);
		if (c->subscriptions > 1)
			cat(out, outsz, &len, ", across %lld subscriptions",
			    c->subscriptions);
		else if (c->subscriptions == 1)
			cat(out, outsz, &len, ", in 1 subscription");
		if (c->resources > 0)
			cat(out, outsz, &len, "%s %lld resource%s",
			    c->subscriptions > 0 ? " and" : ", on",
			    c->resources, c->resources == 1 ? "" : "s");
		cat(out, outsz, &len, ".");
	}
	cat(out, outsz, &len, " Risk score %d of 100 (%s).", score,
	    posture_label(score));
	if (open > 0 && c->top_category != NULL)
		cat(out, outsz, &len, " The most exposed category is %s "
		    "(%lld open finding%s).", c->top_category,
		    c->top_category_n, c->top_category_n == 1 ? "" : "s");
	if (open > 0 && c->top_title != NULL)
		cat(out, outsz, &len, " The top risk is \"%s\" (%s, %s).",
		    c->top_title, c->top_severity ? c->top_severity : "",
		    c->top_category_of_top ? c->top_category_of_top : "");
	if (rest[0] + rest[1] + rest[2] + rest[3] + rest[4] > 0) {
		cat(out, outsz, &len, " Not counted: ");
		list(out, outsz, &len, rest, others, NELEM(others));
		cat(out, outsz, &len, ".");
	}
}

/* -- reading the findings ------------------------------------------------ */

/* Columns of SQL_POSTURE_SEVERITY (value, count), SQL_POSTURE_COUNTS
 * (part, key, count) and SQL_POSTURE_TOP. */
enum { GROUP_C_VALUE, GROUP_C_N };
enum { PART_C_PART, PART_C_KEY, PART_C_N };
enum { TOP_C_ID, TOP_C_TITLE, TOP_C_SEVERITY, TOP_C_CATEGORY,
    TOP_C_RESOURCE, TOP_C_DETECTED };

/* A copy of a cell, NULL for SQL NULL; -1 if out of memory. */
static int
dup_cell(const struct db_res *res, size_t row, size_t col, char **out)
{
	const char *s = db_cell(res, row, col);

	*out = NULL;
	if (s != NULL && (*out = strdup(s)) == NULL)
		return -1;
	return 0;
}

void
posture_free(struct posture *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->ntop; i++) {
		free(p->top[i].id);
		free(p->top[i].title);
		free(p->top[i].severity);
		free(p->top[i].category);
		free(p->top[i].resource_id);
	}
	free(p->top);
	for (i = 0; i < p->ncategories; i++)
		free(p->categories[i].name);
	free(p->categories);
	free(p);
}

static int
load_severity(struct db *db, const struct db_val *t, struct posture *p)
{
	struct db_res *res = NULL;
	size_t i;
	int rc, s;

	if ((rc = db_exec(db, SQL_POSTURE_SEVERITY, t, 1, &res)) != 0)
		return rc;
	for (i = 0; i < res->nrows; i++)
		if ((s = posture_sev_index(db_cell(res, i,
		    GROUP_C_VALUE))) >= 0) {
			p->c.open[s] = db_cell_int(res, i, GROUP_C_N);
			p->total_open += p->c.open[s];
		}
	db_res_free(res);
	p->score = posture_score(p->c.open);
	return 0;
}

static int
load_top(struct db *db, const struct db_val *t, struct posture *p)
{
	struct db_res *res = NULL;
	struct posture_risk *k;
	const char *d;
	size_t i;
	int rc;

	if ((rc = db_exec(db, SQL_POSTURE_TOP, t, 1, &res)) != 0)
		return rc;
	if (res->nrows > 0 &&
	    (p->top = calloc(res->nrows, sizeof(*p->top))) == NULL) {
		rc = DB_ERR;
		goto out;
	}
	for (i = 0; i < res->nrows; i++) {
		k = &p->top[p->ntop++];
		if (dup_cell(res, i, TOP_C_ID, &k->id) != 0 ||
		    dup_cell(res, i, TOP_C_TITLE, &k->title) != 0 ||
		    dup_cell(res, i, TOP_C_SEVERITY, &k->severity) != 0 ||
		    dup_cell(res, i, TOP_C_CATEGORY, &k->category) != 0 ||
		    dup_cell(res, i, TOP_C_RESOURCE, &k->resource_id) != 0) {
			rc = DB_ERR;
			goto out;
		}
		if ((d = db_cell(res, i, TOP_C_DETECTED)) == NULL ||
		    vtime_sql_to_rfc3339(d, k->detected_at,
		    sizeof(k->detected_at)) != 0)
			k->detected_at[0] = '\0';
	}
	if (p->ntop > 0) {
		p->c.top_title = p->top[0].title;
		p->c.top_severity = p->top[0].severity;
		p->c.top_category_of_top = p->top[0].category;
	}
out:
	db_res_free(res);
	return rc;
}

/* Parts of SQL_POSTURE_COUNTS (its PART_C_PART column), in its order. */
enum { PART_SEVERITY, PART_STATE, PART_CATEGORY, PART_SUBSCRIPTIONS,
    PART_RESOURCES };

/* Everything the summary counts, in one round trip: severities, states,
 * categories (most open first), subscriptions and resources. */
static int
load_counts(struct db *db, const struct db_val *t, struct posture *p)
{
	struct db_res *res = NULL;
	struct posture_category *c;
	const char *k;
	long long n;
	size_t i;
	int rc, s;

	if ((rc = db_exec(db, SQL_POSTURE_COUNTS, (struct db_val[]){ t[0],
	    t[0], t[0], t[0], t[0] }, 5, &res)) != 0)
		return rc;
	if (res->nrows > 0 && (p->categories = calloc(res->nrows,
	    sizeof(*p->categories))) == NULL) {
		rc = DB_ERR;
		goto out;
	}
	for (i = 0; i < res->nrows; i++) {
		k = db_cell(res, i, PART_C_KEY);
		n = db_cell_int(res, i, PART_C_N);
		switch (db_cell_int(res, i, PART_C_PART)) {
		case PART_SEVERITY:
			if ((s = posture_sev_index(k)) >= 0) {
				p->c.open[s] = n;
				p->total_open += n;
			}
			break;
		case PART_STATE:
			if (k == NULL)
				break;
			if (strcmp(k, "accepted") == 0)
				p->c.accepted = n;
			else if (strcmp(k, "snoozed") == 0)
				p->c.snoozed = n;
			else if (strcmp(k, "resolved") == 0)
				p->c.resolved = n;
			else if (strcmp(k, "dismissed") == 0)
				p->c.dismissed = n;
			else if (strcmp(k, "muted") == 0)
				p->c.muted = n;
			break;
		case PART_CATEGORY:
			if (p->ncategories >= POSTURE_CATEGORIES_MAX)
				break;
			c = &p->categories[p->ncategories++];
			if (dup_cell(res, i, PART_C_KEY, &c->name) != 0) {
				rc = DB_ERR;
				goto out;
			}
			c->open = n;
			break;
		case PART_SUBSCRIPTIONS:
			p->c.subscriptions = n;
			break;
		case PART_RESOURCES:
			p->c.resources = n;
			break;
		}
	}
	p->score = posture_score(p->c.open);
	if (p->ncategories > 0) {
		p->c.top_category = p->categories[0].name;
		p->c.top_category_n = p->categories[0].open;
	}
out:
	db_res_free(res);
	return rc;
}

int
posture_load(struct db *db, const char *tenant_id, int with_summary,
    struct posture **out)
{
	struct db_val t[] = { DB_STR(tenant_id) };
	struct posture *p;
	int rc;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return DB_ERR;
	/* The risk score needs the severities alone; the summary reads
	 * them with the rest of its counts. */
	if ((rc = with_summary ? load_counts(db, t, p) :
	    load_severity(db, t, p)) != 0 ||
	    (rc = load_top(db, t, p)) != 0)
		goto out;
	*out = p;
	p = NULL;
out:
	posture_free(p);
	return rc;
}

/* -- the API's answers --------------------------------------------------- */

static json_object *
str_or_empty(const char *s)
{
	return json_object_new_string(s ? s : "");
}

static json_object *
severity_counts(const struct posture *p)
{
	json_object *o = json_object_new_object();
	int s;

	for (s = 0; s < POSTURE_NSEV; s++)
		json_object_object_add(o, posture_sev_name[s],
		    json_object_new_int64(p->c.open[s]));
	return o;
}

static json_object *
top_risks(const struct posture *p)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < p->ntop; i++) {
		const struct posture_risk *k = &p->top[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", str_or_empty(k->id));
		json_object_object_add(o, "title", str_or_empty(k->title));
		json_object_object_add(o, "severity",
		    str_or_empty(k->severity));
		json_object_object_add(o, "category",
		    str_or_empty(k->category));
		json_object_object_add(o, "resource_id",
		    str_or_empty(k->resource_id));
		json_object_object_add(o, "detected_at", k->detected_at[0] ?
		    json_object_new_string(k->detected_at) : NULL);
		json_object_array_add(a, o);
	}
	return a;
}

json_object *
posture_risk_to_json(const struct posture *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "score", json_object_new_int(p->score));
	json_object_object_add(o, "label",
	    json_object_new_string(posture_label(p->score)));
	json_object_object_add(o, "severity_counts", severity_counts(p));
	json_object_object_add(o, "total_findings",
	    json_object_new_int64(p->total_open));
	json_object_object_add(o, "top_risks", top_risks(p));
	return o;
}

json_object *
posture_summary_to_json(const struct posture *p)
{
	json_object *o, *m, *cats, *states;
	char text[POSTURE_SUMMARY_MAX];
	size_t i;

	posture_summary(&p->c, text, sizeof(text));
	o = json_object_new_object();
	m = json_object_new_object();
	json_object_object_add(o, "summary", json_object_new_string(text));
	json_object_object_add(m, "risk_score", json_object_new_int(p->score));
	json_object_object_add(m, "risk_label",
	    json_object_new_string(posture_label(p->score)));
	json_object_object_add(m, "total_findings",
	    json_object_new_int64(p->total_open));
	json_object_object_add(m, "severity_counts", severity_counts(p));
	states = json_object_new_object();
	json_object_object_add(states, "open",
	    json_object_new_int64(p->total_open));
	json_object_object_add(states, "accepted",
	    json_object_new_int64(p->c.accepted));
	json_object_object_add(states, "snoozed",
	    json_object_new_int64(p->c.snoozed));
	json_object_object_add(states, "resolved",
	    json_object_new_int64(p->c.resolved));
	json_object_object_add(states, "dismissed",
	    json_object_new_int64(p->c.dismissed));
	json_object_object_add(states, "muted",
	    json_object_new_int64(p->c.muted));
	json_object_object_add(m, "state_counts", states);
	cats = json_object_new_array();
	for (i = 0; i < p->ncategories; i++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "category",
		    str_or_empty(p->categories[i].name));
		json_object_object_add(c, "open",
		    json_object_new_int64(p->categories[i].open));
		json_object_array_add(cats, c);
	}
	json_object_object_add(m, "categories", cats);
	json_object_object_add(m, "subscriptions_affected",
	    json_object_new_int64(p->c.subscriptions));
	json_object_object_add(m, "resources_affected",
	    json_object_new_int64(p->c.resources));
	json_object_object_add(o, "metrics", m);
	return o;
}
