/* compliance.c: a tenant's status against a framework's controls
 * (compliance.h), from the rules that cover each control and the
 * trigger-kept counts of those rules' findings.
 *
 * A control is
 *   not_assessed  when none of the tenant's enabled rules (the pack's,
 *                 less those it disabled, and its own custom rules)
 *                 refers to it: Vigil has no check for it;
 *   fail          when one of those rules has an open finding;
 *   pass          otherwise. Accepted, snoozed and muted findings do not
 *                 fail a control, as they do not count towards the risk
 *                 score: someone decided about each, with a reason and
 *                 (for acceptances and snoozes) an end date; they are
 *                 counted beside it as "excepted_findings", so an
 *                 auditor sees a pass that rests on exceptions.
 *                 Resolved and dismissed findings count for nothing.
 *
 * The cost is one key lookup in finding_rule_counts (0035) per rule that
 * covers a control of the framework, plus, for each rule with open
 * findings behind a failing control, one read of its first
 * COMPLIANCE_FINDINGS_SHOWN open findings along the findings_rule index:
 * O(controls + rules + what is shown), never a count of findings.
 */
#include "vigil.h"

#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "compliance.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "rules.h"
#include "tenantrules.h"
#include "vtime.h"

/* SQL_COMPLIANCE_RULE_FINDINGS's columns (COMPLIANCE_FINDING_COLS). */
enum compliance_col {
	COMPLIANCE_C_ID,
	COMPLIANCE_C_TITLE,
	COMPLIANCE_C_SEVERITY,
	COMPLIANCE_C_RESOURCE,
	COMPLIANCE_C_DETECTED,
};

/* SQL_COMPLIANCE_RULE_COUNTS's columns. */
enum { COUNTS_C_STATE, COUNTS_C_N };

/* The process's catalogue and rule pack: read once, kept until exit. */
static struct catalog cat;
static int cat_ok;
static struct ruleset pack;
static int pack_ok;

const struct catalog *
compliance_catalog(void)
{
	char err[1024];

	if (cat_ok)
		return &cat;
	if (catalog_load_dir(&cat, g_conf.frameworks_dir, err,
	    sizeof(err)) != 0) {
		log_err("frameworks: %s", err);
		return NULL;
	}
	cat_ok = 1;
	rules_use_catalog(&cat);
	return &cat;
}

static int
pack_ready(void)
{
	char err[1024];

	if (pack_ok)
		return 0;
	if (compliance_catalog() == NULL)
		return -1;
	if (rules_load_dir(&pack, g_conf.rules_dir, err, sizeof(err)) != 0) {
		log_err("compliance: rules: %s", err);
		return -1;
	}
	pack_ok = 1;
	return 0;
}

/* What a request knows of one rule of the tenant. */
struct rstate {
	const struct rule	*r;
	int			 counted;
	long long		 open, excepted;
	json_object		*shown;		/* its first open findings */
};

/* The tenant's enabled rules and what has been read of them. */
struct tctx {
	struct db		*db;
	const char		*tenant_id;
	struct tenantrules	 t;
	int			 t_loaded;
	struct ruleset		 eff;
	struct rstate		*rs;
};

static void
tctx_free(struct tctx *x)
{
	size_t	 i;

	for (i = 0; x->rs != NULL && i < x->eff.n; i++)
		if (x->rs[i].shown != NULL)
			json_object_put(x->rs[i].shown);
	free(x->rs);
	free(x->eff.rules);	/* shallow copies: never rules_free */
	if (x->t_loaded)
		tenantrules_free(&x->t);
}

/* Load the tenant's effective rules; 0 or a DB_* code. */
static int
tctx_load(struct tctx *x, struct db *db, const char *tenant_id)
{
	size_t	 i;
	int	 rc;

	memset(x, 0, sizeof(*x));
	x->db = db;
	x->tenant_id = tenant_id;
	if (pack_ready() != 0)
		return DB_ERR;
	if ((rc = tenantrules_load(db, tenant_id, &pack, &x->t)) != 0)
		return rc;
	x->t_loaded = 1;
	if (tenantrules_effective(&x->t, &pack, &x->eff) != 0 ||
	    (x->rs = calloc(x->eff.n ? x->eff.n : 1, sizeof(*x->rs))) ==
	    NULL)
		return DB_ERR;
	for (i = 0; i < x->eff.n; i++)
		x->rs[i].r = &x->eff.rules[i];
	return 0;
}

/* Read rule k's counts once; 0 or a DB_* code. */
static int
rule_count(struct tctx *x, size_t k)
{
	struct rstate	*s = &x->rs[k];
	struct db_val	 p[] = { DB_STR(x->tenant_id), DB_STR(s->r->id) };
	struct db_res	*res = NULL;
	const char	*state;
	size_t		 i;
	int		 rc;

	if (s->counted)
		return 0;
	if ((rc = db_exec(x->db, SQL_COMPLIANCE_RULE_COUNTS, p, 2, &res)) != 0)
		return rc;
	for (i = 0; i < res->nrows; i++) {
		if ((state = db_cell(res, i, COUNTS_C_STATE)) == NULL)
			continue;
		if (strcmp(state, "open") == 0)
			s->open += db_cell_int(res, i, COUNTS_C_N);
		else if (strcmp(state, "accepted") == 0 ||
		    strcmp(state, "snoozed") == 0 ||
		    strcmp(state, "muted") == 0)
			s->excepted += db_cell_int(res, i, COUNTS_C_N);
	}
	s->counted = 1;
	db_res_free(res);
	return 0;
}

static void
add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v != NULL ?
	    json_object_new_string(v) : NULL);
}

/* Read rule k's first open findings once (into rs[k].shown); 0 or a
 * DB_* code. */
static int
rule_findings(struct tctx *x, size_t k)
{
	struct rstate	*s = &x->rs[k];
	struct db_val	 p[] = { DB_STR(x->tenant_id), DB_STR(s->r->id),
	    DB_INT(COMPLIANCE_FINDINGS_SHOWN) };
	struct db_res	*res = NULL;
	json_object	*f;
	const char	*d;
	char		 at[VTIME_RFC3339_LEN];
	size_t		 i;
	int		 rc;

	if (s->shown != NULL)
		return 0;
	if ((s->shown = json_object_new_array()) == NULL)
		return DB_ERR;
	if ((rc = db_exec(x->db, SQL_COMPLIANCE_RULE_FINDINGS, p, 3,
	    &res)) != 0)
		return rc;
	for (i = 0; i < res->nrows; i++) {
		if ((f = json_object_new_object()) == NULL) {
			rc = DB_ERR;
			break;
		}
		add_str(f, "id", db_cell(res, i, COMPLIANCE_C_ID));
		add_str(f, "rule_id", s->r->id);
		add_str(f, "title", db_cell(res, i, COMPLIANCE_C_TITLE));
		add_str(f, "severity", db_cell(res, i, COMPLIANCE_C_SEVERITY));
		add_str(f, "resource_id", db_cell(res, i,
		    COMPLIANCE_C_RESOURCE));
		d = db_cell(res, i, COMPLIANCE_C_DETECTED);
		add_str(f, "detected_at", d != NULL &&
		    vtime_sql_to_rfc3339(d, at, sizeof(at)) == 0 ? at : NULL);
		json_object_array_add(s->shown, f);
	}
	db_res_free(res);
	return rc;
}

/* Which rules cover which control of f: cover[start[i] .. start[i+1])
 * are indexes into x->rs, in rule order. 0 or -1 (memory). */
static int
coverage(const struct tctx *x, const struct catalog_framework *f,
    size_t **startp, size_t **coverp)
{
	size_t	*start, *cover = NULL, *fill = NULL, i, j, total = 0;
	long	 c;

	if ((start = calloc(f->n + 1, sizeof(*start))) == NULL)
		return -1;
	for (i = 0; i < x->eff.n; i++)
		for (j = 0; j < x->eff.rules[i].nrefs; j++)
			if (strcmp(x->eff.rules[i].refs[j].framework,
			    f->id) == 0 && (c = catalog_control(f,
			    x->eff.rules[i].refs[j].control)) >= 0) {
				start[c + 1]++;
				total++;
			}
	for (i = 0; i < f->n; i++)
		start[i + 1] += start[i];
	if ((cover = calloc(total ? total : 1, sizeof(*cover))) == NULL ||
	    (fill = calloc(f->n ? f->n : 1, sizeof(*fill))) == NULL) {
		free(start);
		free(cover);
		return -1;
	}
	/* A rule lists a control once (the checker refuses repeats). */
	for (i = 0; i < x->eff.n; i++)
		for (j = 0; j < x->eff.rules[i].nrefs; j++)
			if (strcmp(x->eff.rules[i].refs[j].framework,
			    f->id) == 0 && (c = catalog_control(f,
			    x->eff.rules[i].refs[j].control)) >= 0)
				cover[start[c] + fill[c]++] = i;
	free(fill);
	*startp = start;
	*coverp = cover;
	return 0;
}

static json_object *
framework_head(const struct catalog_framework *f)
{
	json_object	*o = json_object_new_object();

	if (o == NULL)
		return NULL;
	add_str(o, "id", f->id);
	add_str(o, "name", f->name);
	add_str(o, "version", f->version);
	add_str(o, "source", f->source);
	add_str(o, "source_commit", f->source_commit);
	add_str(o, "license", f->license);
	return o;
}

static json_object *
summary_json(size_t n, long long pass, long long fail, long long na)
{
	json_object	*s = json_object_new_object();

	if (s == NULL)
		return NULL;
	json_object_object_add(s, "controls", json_object_new_int64(
	    (long long)n));
	json_object_object_add(s, "pass", json_object_new_int64(pass));
	json_object_object_add(s, "fail", json_object_new_int64(fail));
	json_object_object_add(s, "not_assessed", json_object_new_int64(na));
	return s;
}

/* f's status for the tenant of x into a new object (with_controls: the
 * controls too, each failing one with its first findings; else the
 * summary only). 0 or a DB_* code. */
static int
framework_status(struct tctx *x, const struct catalog_framework *f,
    int with_controls, json_object **out)
{
	json_object	*o = NULL, *arr = NULL, *c, *rules, *shown, *e;
	size_t		*start = NULL, *cover = NULL, i, j, k, m, len;
	long long	 open, excepted, pass = 0, fail = 0, na = 0;
	const char	*status;
	int		 rc = DB_ERR;

	*out = NULL;
	if (coverage(x, f, &start, &cover) != 0 ||
	    (o = framework_head(f)) == NULL ||
	    (with_controls && (arr = json_object_new_array()) == NULL))
		goto out;
	for (i = 0; i < f->n; i++) {
		open = excepted = 0;
		for (j = start[i]; j < start[i + 1]; j++) {
			if ((rc = rule_count(x, cover[j])) != 0)
				goto out;
			open += x->rs[cover[j]].open;
			excepted += x->rs[cover[j]].excepted;
		}
		rc = DB_ERR;
		if (start[i] == start[i + 1]) {
			status = "not_assessed";
			na++;
		} else if (open > 0) {
			status = "fail";
			fail++;
		} else {
			status = "pass";
			pass++;
		}
		if (!with_controls)
			continue;
		if ((c = json_object_new_object()) == NULL)
			goto out;
		json_object_array_add(arr, c);
		add_str(c, "id", f->c[i].id);
		add_str(c, "title", f->c[i].title);
		add_str(c, "status", status);
		if ((rules = json_object_new_array()) == NULL ||
		    (shown = json_object_new_array()) == NULL) {
			if (rules != NULL)
				json_object_put(rules);
			goto out;
		}
		json_object_object_add(c, "rules", rules);
		json_object_object_add(c, "open_findings",
		    json_object_new_int64(open));
		json_object_object_add(c, "excepted_findings",
		    json_object_new_int64(excepted));
		json_object_object_add(c, "findings", shown);
		for (j = start[i]; j < start[i + 1]; j++) {
			k = cover[j];
			json_object_array_add(rules,
			    json_object_new_string(x->rs[k].r->id));
			if (x->rs[k].open == 0 || json_object_array_length(
			    shown) >= COMPLIANCE_FINDINGS_SHOWN)
				continue;
			if ((rc = rule_findings(x, k)) != 0)
				goto out;
			rc = DB_ERR;
			len = json_object_array_length(x->rs[k].shown);
			for (m = 0; m < len && json_object_array_length(
			    shown) < COMPLIANCE_FINDINGS_SHOWN; m++) {
				e = json_object_array_get_idx(x->rs[k].shown,
				    m);
				json_object_array_add(shown,
				    json_object_get(e));
			}
		}
	}
	json_object_object_add(o, "summary", summary_json(f->n, pass, fail,
	    na));
	if (with_controls) {
		json_object_object_add(o, "findings_shown_per_control",
		    json_object_new_int(COMPLIANCE_FINDINGS_SHOWN));
		json_object_object_add(o, "controls", arr);
		arr = NULL;
	}
	*out = o;
	o = NULL;
	rc = 0;
out:
	if (arr != NULL)
		json_object_put(arr);
	if (o != NULL)
		json_object_put(o);
	free(start);
	free(cover);
	return rc;
}

int
compliance_framework_json(struct db *db, const char *tenant_id,
    const char *framework_id, json_object **out)
{
	const struct catalog		*c;
	const struct catalog_framework	*f;
	struct tctx			 x;
	int				 rc;

	*out = NULL;
	if ((c = compliance_catalog()) == NULL)
		return DB_ERR;
	if ((f = catalog_framework(c, framework_id)) == NULL)
		return 1;
	if ((rc = tctx_load(&x, db, tenant_id)) == 0)
		rc = framework_status(&x, f, 1, out);
	tctx_free(&x);
	return rc;
}

int
compliance_status(struct db *db, const char *tenant_id,
    const char *framework_id, json_object **out)
{
	int	 rc = compliance_framework_json(db, tenant_id, framework_id,
	    out);

	return rc < 0 ? -1 : rc;
}

int
compliance_frameworks_json(struct db *db, const char *tenant_id,
    json_object **out)
{
	const struct catalog	*c;
	struct tctx		 x;
	json_object		*root = NULL, *arr, *one;
	size_t			 i;
	int			 rc;

	*out = NULL;
	if ((c = compliance_catalog()) == NULL)
		return DB_ERR;
	if ((rc = tctx_load(&x, db, tenant_id)) != 0)
		goto out;
	rc = DB_ERR;
	if ((root = json_object_new_object()) == NULL ||
	    (arr = json_object_new_array()) == NULL)
		goto out;
	json_object_object_add(root, "frameworks", arr);
	/* The counts read for one framework serve the next: a rule is
	 * looked up once. */
	for (i = 0; i < c->n; i++) {
		if ((rc = framework_status(&x, &c->f[i], 0, &one)) != 0)
			goto out;
		json_object_array_add(arr, one);
	}
	*out = root;
	root = NULL;
	rc = 0;
out:
	if (root != NULL)
		json_object_put(root);
	tctx_free(&x);
	return rc;
}
