/* posture.c: GET /api/v1/risk-score and GET /api/v1/posture-summary
 * (read scope), computed from Vigil's findings.
 *
 * Only open findings count. The score is
 *
 *     score = round(100 * (1 - prod over open findings (1 - w(severity))))
 *
 * with w = critical 0.40, high 0.15, medium 0.04, low 0.01, info 0, in
 * integer fixed point (src/posture.c); label 0-19 Low, 20-39 Medium,
 * 40-69 High, 70-100 Critical. top_risks: the five open findings ordered
 * by severity, then oldest detected_at, then id. Everything here is a
 * function of the stored findings: the same data gives the same bytes
 * (no clock is read). The README's "Risk score and posture summary"
 * section says the same for users.
 */
#include "vigil.h"

#include <string.h>

#include "api.h"
#include "db.h"
#include "posture.h"
#include "vtime.h"

#define POSTURE_SUMMARY_MAX 2048

/* What both endpoints read. top and cat are kept because the
 * summary borrows strings from them; snapshot_free releases them. */
struct snapshot {
	struct posture_counts	 c;
	long long		 total_open;
	int			 score;
	struct db_res		*top;
	struct db_res		*cat;
};

/* These resources take no query parameters: any is a 400, so that a
 * client's typo is not silently ignored. 0, or -1 after the reply. */
static int
no_params(struct request *r)
{
	if (r->nparams == 0)
		return 0;
	response_error(r, 400, "invalid_request", "Unknown query parameter.",
	    r->params[0].name);
	return -1;
}

static void
snapshot_free(struct snapshot *p)
{
	db_res_free(p->top);
	db_res_free(p->cat);
	p->top = p->cat = NULL;
}

/* Read the counts of tenant_id (with_summary: also states, spread and
 * categories). 0 or a DB_* code; snapshot_free in every case. */
static int
snapshot_load(struct db *db, const char *tenant_id, int with_summary,
    struct snapshot *p)
{
	struct db_val t[] = { DB_STR(tenant_id) };
	struct db_res *res = NULL;
	size_t i;
	int rc, s;

	memset(p, 0, sizeof(*p));
	if ((rc = db_exec(db, SQL_POSTURE_SEVERITY, t, 1, &res)) != 0)
		return rc;
	for (i = 0; i < res->nrows; i++)
		if ((s = posture_sev_index(db_cell(res, i, 0))) >= 0) {
			p->c.open[s] = db_cell_int(res, i, 1);
			p->total_open += p->c.open[s];
		}
	db_res_free(res);
	res = NULL;
	p->score = posture_score(p->c.open);
	if ((rc = db_exec(db, SQL_POSTURE_TOP, t, 1, &p->top)) != 0)
		return rc;
	if (p->top->nrows > 0) {
		p->c.top_title = db_cell(p->top, 0, 1);
		p->c.top_severity = db_cell(p->top, 0, 2);
		p->c.top_category_of_top = db_cell(p->top, 0, 3);
	}
	if (!with_summary)
		return 0;
	if ((rc = db_exec(db, SQL_POSTURE_STATE, t, 1, &res)) != 0)
		return rc;
	for (i = 0; i < res->nrows; i++) {
		const char *st = db_cell(res, i, 0);
		long long n = db_cell_int(res, i, 1);

		if (st == NULL)
			continue;
		if (strcmp(st, "accepted") == 0)
			p->c.accepted = n;
		else if (strcmp(st, "snoozed") == 0)
			p->c.snoozed = n;
		else if (strcmp(st, "resolved") == 0)
			p->c.resolved = n;
		else if (strcmp(st, "dismissed") == 0)
			p->c.dismissed = n;
	}
	db_res_free(res);
	res = NULL;
	if ((rc = db_exec(db, SQL_POSTURE_SPREAD, t, 1, &res)) != 0)
		return rc;
	p->c.subscriptions = db_cell_int(res, 0, 0);
	p->c.resources = db_cell_int(res, 0, 1);
	db_res_free(res);
	if ((rc = db_exec(db, SQL_POSTURE_CATEGORY, t, 1, &p->cat)) != 0)
		return rc;
	if (p->cat->nrows > 0) {
		p->c.top_category = db_cell(p->cat, 0, 0);
		p->c.top_category_n = db_cell_int(p->cat, 0, 1);
	}
	return 0;
}

static json_object *
severity_counts(const struct snapshot *p)
{
	json_object *o = json_object_new_object();
	int s;

	for (s = 0; s < POSTURE_NSEV; s++)
		json_object_object_add(o, posture_sev_name[s],
		    json_object_new_int64(p->c.open[s]));
	return o;
}

static json_object *
cell_str(const struct db_res *res, size_t row, size_t col)
{
	const char *s = db_cell(res, row, col);

	return json_object_new_string(s ? s : "");
}

static json_object *
top_risks(const struct snapshot *p)
{
	json_object *a = json_object_new_array();
	char ts[VTIME_RFC3339_LEN];
	size_t i;

	for (i = 0; i < p->top->nrows; i++) {
		json_object *o = json_object_new_object();
		const char *d = db_cell(p->top, i, 5);

		json_object_object_add(o, "id", cell_str(p->top, i, 0));
		json_object_object_add(o, "title", cell_str(p->top, i, 1));
		json_object_object_add(o, "severity", cell_str(p->top, i, 2));
		json_object_object_add(o, "category", cell_str(p->top, i, 3));
		json_object_object_add(o, "resource_id",
		    cell_str(p->top, i, 4));
		json_object_object_add(o, "detected_at", d != NULL &&
		    vtime_sql_to_rfc3339(d, ts, sizeof(ts)) == 0 ?
		    json_object_new_string(ts) : NULL);
		json_object_array_add(a, o);
	}
	return a;
}

static void
posture_risk_score(struct request *r, struct db *db)
{
	struct snapshot p;
	json_object *o;
	int rc;

	if (no_params(r) != 0)
		return;
	if ((rc = snapshot_load(db, r->auth.tenant_id, 0, &p)) != 0) {
		snapshot_free(&p);
		api_db_error(r, rc);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "score", json_object_new_int(p.score));
	json_object_object_add(o, "label",
	    json_object_new_string(posture_label(p.score)));
	json_object_object_add(o, "severity_counts", severity_counts(&p));
	json_object_object_add(o, "total_findings",
	    json_object_new_int64(p.total_open));
	json_object_object_add(o, "top_risks", top_risks(&p));
	snapshot_free(&p);
	response_json(r, 200, o);
}

static void
posture_summary_get(struct request *r, struct db *db)
{
	struct snapshot p;
	json_object *o, *m, *cats, *states;
	char text[POSTURE_SUMMARY_MAX];
	size_t i;
	int rc;

	if (no_params(r) != 0)
		return;
	if ((rc = snapshot_load(db, r->auth.tenant_id, 1, &p)) != 0) {
		snapshot_free(&p);
		api_db_error(r, rc);
		return;
	}
	posture_summary(&p.c, text, sizeof(text));
	o = json_object_new_object();
	m = json_object_new_object();
	json_object_object_add(o, "summary", json_object_new_string(text));
	json_object_object_add(m, "risk_score", json_object_new_int(p.score));
	json_object_object_add(m, "risk_label",
	    json_object_new_string(posture_label(p.score)));
	json_object_object_add(m, "total_findings",
	    json_object_new_int64(p.total_open));
	json_object_object_add(m, "severity_counts", severity_counts(&p));
	states = json_object_new_object();
	json_object_object_add(states, "open",
	    json_object_new_int64(p.total_open));
	json_object_object_add(states, "accepted",
	    json_object_new_int64(p.c.accepted));
	json_object_object_add(states, "snoozed",
	    json_object_new_int64(p.c.snoozed));
	json_object_object_add(states, "resolved",
	    json_object_new_int64(p.c.resolved));
	json_object_object_add(states, "dismissed",
	    json_object_new_int64(p.c.dismissed));
	json_object_object_add(m, "state_counts", states);
	/* Most open findings first, then by name: at most 100. */
	cats = json_object_new_array();
	for (i = 0; i < p.cat->nrows; i++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "category", cell_str(p.cat, i, 0));
		json_object_object_add(c, "open",
		    json_object_new_int64(db_cell_int(p.cat, i, 1)));
		json_object_array_add(cats, c);
	}
	json_object_object_add(m, "categories", cats);
	json_object_object_add(m, "subscriptions_affected",
	    json_object_new_int64(p.c.subscriptions));
	json_object_object_add(m, "resources_affected",
	    json_object_new_int64(p.c.resources));
	json_object_object_add(o, "metrics", m);
	snapshot_free(&p);
	response_json(r, 200, o);
}

const struct route posture_routes[] = {
	{ "GET", "/api/v1/risk-score", SCOPE_READ, 0, posture_risk_score },
	{ "GET", "/api/v1/posture-summary", SCOPE_READ, 0,
	    posture_summary_get },
};
const size_t posture_nroutes = NELEM(posture_routes);
