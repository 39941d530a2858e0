/* scan.c: one scan of one integration. The integration is held by a lease,
 * a row of scan_leases (0038) naming this scanner, renewed while the scan
 * runs and taken over once it expires, or at once when its holder was a
 * process of this host that is gone: a row is replicated and certified by
 * Galera, where a named lock (GET_LOCK) lived on one node only. Resources are evaluated as they come; the findings they fire
 * are written a batch of FINDINGS_BATCH at a time, each batch one
 * transaction (findings_observe_batch), so a scan killed midway leaves
 * whole batches, the next "vigil-scan --due" marks it failed, and a new
 * scan takes up from the findings as they are. A batch is written by a
 * thread of its own on a second connection while the next one is
 * evaluated (two buffers, one batch in flight at a time), so reading the
 * inventory and the database's work overlap. */
#include "vigil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "armstream.h"
#include "conf.h"
#include "connector.h"
#include "crypto.h"
#include "db.h"
#include "events.h"
#include "finding.h"
#include "findings.h"
#include "id.h"
#include "integrations.h"
#include "lifecycle.h"
#include "log.h"
#include "rules.h"
#include "scan.h"
#include "tenantrules.h"
#include "text.h"
#include "vjson.h"
#include "vtime.h"
#include "worker.h"

#define SCAN_ERR_MAX		512
#define SCAN_PROGRESS_US	2000000LL	/* scans row refresh */
/* A lease lasts SCAN_LEASE_S from its last renewal and is renewed every
 * SCAN_LEASE_RENEW_US while resources come in: a scanner that stops
 * renewing (killed on another host, cut off) loses it a minute later at
 * most, and a collection may wait up to 50 s on one page without losing
 * it. */
#define SCAN_LEASE_S		60
#define SCAN_LEASE_RENEW_US	10000000LL
#define SCAN_HOLDER_MAX		320		/* scan_leases.holder */
#define SCAN_ENV_MAX		32		/* findings.environment */
#define SCAN_SUB_MAX		64		/* findings.subscription_id */
#define SCAN_RESOURCE_MAX	1024		/* findings.resource_id */
#define SCAN_CONFIG_MAX		(64 * 1024)

/* One scan (or dry run) in progress. */
struct ctx {
	struct db		*db;
	const struct scan_opts	*opts;
	struct scan_stats	*st;
	const char		*scan_id;	/* NULL in a dry run */
	char			 tenant_id[VIGIL_ID_LEN];
	char			 integration_id[VIGIL_ID_LEN];
	struct lc_tenant	 tenant;
	/* The tenant's rules: the pack with its settings applied, then its
	 * custom rules (tenantrules_effective; shallow copies). */
	struct tenantrules	 trules;
	struct ruleset		 rules;
	struct connector	*conn;
	char			*secret;	/* plaintext, wiped at the end */
	size_t			 secretlen;
	char			**seen;		/* dry run: finding ids seen */
	size_t			 nseen, aseen;
	/* The stored findings the written batches marked seen (their
	 * seqs), whose rows reconcile need not read. */
	struct findings_seqs	 seqs;
	/* Two batches: cur being filled, the other possibly being written
	 * (w), and the strings their items borrow. */
	struct findings_seen	 items[2][FINDINGS_BATCH];
	struct pending {
		char		*resource_id;
		char		*evidence;
		char		 sub[SCAN_SUB_MAX + 1];
		char		 env[SCAN_ENV_MAX + 1];
		struct scan_meta meta;
	}			 pend[2][FINDINGS_BATCH];
	size_t			 nitems, cur;
	/* The batch in flight: its thread, buffer, size and result; where
	 * the next one's stored findings likely are (a rescan reads them in
	 * the order they were stored: findings_hint). */
	struct {
		struct db	*db;		/* the writer's connection */
		/* the thread lives for the scan (worker.h) */
		struct worker	 wk;
		int		 rc;
		size_t		 buf, n;
		struct findings_hint hint;
	}			 w;
	time_t			 now;
	long long		 t0_us, last_us;
	/* The lease this scan holds ("" in a dry run), last renewed at
	 * lease_us. */
	char			 holder[SCAN_HOLDER_MAX];
	long long		 lease_us;
	char			 err[SCAN_ERR_MAX];
};

/* -- small helpers ------------------------------------------------------- */

static const char *
jstr(json_object *o, const char *k)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void
add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static json_object *
int_cell(const struct db_res *res, size_t i, size_t col)
{
	return json_object_new_int64(db_cell_int(res, i, col));
}

/* Keep a copy of a finding id seen by this scan; 0 or -1. */
static int
seen_add(struct ctx *c, const char *id)
{
	if (c->nseen == c->aseen) {
		size_t n = c->aseen ? c->aseen * 2 : 256;
		char **p = realloc(c->seen, n * sizeof(*p));

		if (p == NULL)
			return -1;
		c->seen = p;
		c->aseen = n;
	}
	if ((c->seen[c->nseen] = strdup(id)) == NULL)
		return -1;
	c->nseen++;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The subscription of a resource: its subscriptionId, else the segment
 * after "/subscriptions/" of its id; "" if neither. */
static void
resource_subscription(json_object *res, const char *rid, char *out,
    size_t outsz)
{
	const char *s = jstr(res, "subscriptionId"), *p;
	size_t n;

	out[0] = '\0';
	if (s != NULL && strlen(s) <= SCAN_SUB_MAX) {
		snprintf(out, outsz, "%s", s);
		return;
	}
	if (strncasecmp(rid, "/subscriptions/", 15) != 0)
		return;
	p = rid + 15;
	n = strcspn(p, "/");
	if (n > 0 && n <= SCAN_SUB_MAX && n < outsz) {
		memcpy(out, p, n);
		out[n] = '\0';
	}
}

/* The environment of a resource: its "environment" (or "env") tag, any
 * case, uppercased; "" if none or too long. */
static void
resource_environment(json_object *res, char *out, size_t outsz)
{
	static const char *const names[] = { "environment", "env" };
	json_object *tags;
	const char *v = NULL;
	size_t i, n;

	out[0] = '\0';
	if (!json_object_object_get_ex(res, "tags", &tags) ||
	    !json_object_is_type(tags, json_type_object))
		return;
	for (i = 0; i < NELEM(names) && v == NULL; i++) {
		json_object_object_foreach(tags, k, tv) {
			if (strcasecmp(k, names[i]) == 0 &&
			    json_object_is_type(tv, json_type_string)) {
				v = json_object_get_string(tv);
				break;
			}
		}
	}
	if (v == NULL || (n = strlen(v)) > SCAN_ENV_MAX || n >= outsz)
		return;
	for (i = 0; i < n; i++)
		out[i] = (v[i] >= 'a' && v[i] <= 'z') ? (char)(v[i] - 32) :
		    v[i];
	out[n] = '\0';
}

/* s if it fits a metadata column of max characters, else "". */
static const char *
meta_fit(const char *s, size_t max)
{
	size_t len;

	if (s == NULL)
		return "";
	len = strlen(s);
	if (!vjson_utf8_valid(s, len) || text_control(s, len, 0) != len ||
	    finding_utf8_chars(s) > max)
		return "";
	return s;
}

/* The segment of rid after "/resourceGroups/" (any case), into out. */
static void
arm_group(const char *rid, char *out, size_t outsz)
{
	const char *p = rid;
	size_t n;

	out[0] = '\0';
	for (; (p = strchr(p, '/')) != NULL; p++)
		if (strncasecmp(p, "/resourceGroups/", 16) == 0) {
			p += 16;
			n = strcspn(p, "/");
			if (n < outsz) {
				memcpy(out, p, n);
				out[n] = '\0';
			}
			return;
		}
}

int
scan_meta_from_arm(json_object *res, const char *rid, struct scan_meta *m)
{
	json_object *tags = NULL;
	const char *name = jstr(res, "name"), *last;
	char group[4 * FINDING_META_MAX + 1], err[64];

	memset(m, 0, sizeof(*m));
	if (name == NULL || *name == '\0') {
		last = strrchr(rid, '/');
		name = last ? last + 1 : rid;
	}
	arm_group(rid, group, sizeof(group));
	json_object_object_get_ex(res, "tags", &tags);
	m->name = strdup(meta_fit(name, FINDING_META_MAX));
	m->type = strdup(meta_fit(jstr(res, "type"), FINDING_META_MAX));
	m->group = strdup(meta_fit(group, FINDING_META_MAX));
	m->region = strdup(meta_fit(jstr(res, "location"),
	    FINDING_REGION_MAX));
	if (m->name == NULL || m->type == NULL || m->group == NULL ||
	    m->region == NULL ||
	    finding_tags_canonical(tags, 0, &m->tags, err, sizeof(err)) != 0) {
		scan_meta_clear(m);
		return -1;
	}
	return 0;
}

void
scan_meta_clear(struct scan_meta *m)
{
	free(m->name);
	free(m->type);
	free(m->group);
	free(m->region);
	free(m->tags);
	memset(m, 0, sizeof(*m));
}

static int
result_row(struct ctx *c, enum db_stmt s, const char *fid,
    const char *rule_id, const char *resource_id,
    enum finding_severity sev, const char *outcome)
{
	struct db_val p[7] = { DB_STR(c->scan_id), DB_STR(fid),
	    DB_STR(rule_id), DB_STR(resource_id),
	    DB_STR(finding_severity_str(sev)), DB_STR(outcome),
	    DB_STR(outcome) };

	return db_exec(c->db, s, p, s == SQL_SCAN_RESULT_SET ? 7 : 6, NULL);
}

/* -- evaluating one resource ----------------------------------------------- */

static void
pending_clear_buf(struct ctx *c, size_t buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(c->pend[buf][i].resource_id);
		free(c->pend[buf][i].evidence);
		scan_meta_clear(&c->pend[buf][i].meta);
	}
}

static void
pending_clear(struct ctx *c)
{
	pending_clear_buf(c, c->cur, c->nitems);
	c->nitems = 0;
}

/* Count the outcomes of batch buf's n items, whose write succeeded (a
 * dry run: keep their ids, report the changes). 0, or -1 with c->err
 * set. */
static int
count_outcomes(struct ctx *c, size_t buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct findings_seen *it = &c->items[buf][i];

		switch (it->outcome) {
		case FINDINGS_SEEN_DETECTED:
			c->st->detected++;
			break;
		case FINDINGS_SEEN_REOPENED:
			c->st->reopened++;
			break;
		default:
			c->st->present++;
			break;
		}
		if (!c->opts->dry_run) {
			findings_seqs_add(&c->seqs, it, 1);
			continue;
		}
		if (it->outcome != FINDINGS_SEEN_PRESENT && c->opts->change)
			c->opts->change(c->opts->arg, it->outcome ==
			    FINDINGS_SEEN_DETECTED ? "new" : "reopened",
			    it->id, it->obs.rule_id, it->obs.resource_id);
		/* A dry run cannot mark what it saw in the database. */
		if (seen_add(c, it->id) != 0) {
			snprintf(c->err, sizeof(c->err), "out of memory");
			return -1;
		}
	}
	return 0;
}

static void
batch_failed(struct ctx *c, size_t buf, size_t n)
{
	snprintf(c->err, sizeof(c->err), "database error while recording "
	    "findings (a batch of %zu from %s)", n, c->items[buf][0].id);
}

/* One batch, on the writer's connection (in the writer thread, if it
 * could be started). The thread waits for its next batch rather than
 * being created for each (worker.c). */
static void
writer_main(void *arg)
{
	struct ctx *c = arg;

	c->w.rc = findings_observe_batch_hint(c->w.db, c->tenant_id,
	    c->items[c->w.buf], c->w.n, c->now, c->scan_id, &c->w.hint);
}

/* Wait for the batch in flight, if any, and count its outcomes. 0, or
 * -1 with c->err set. */
static int
batch_join(struct ctx *c)
{
	int rc = 0;

	if (!worker_wait(&c->w.wk))
		return 0;
	if (c->w.rc != 0) {
		if (c->err[0] == '\0')
			batch_failed(c, c->w.buf, c->w.n);
		rc = -1;
	} else if (count_outcomes(c, c->w.buf, c->w.n) != 0)
		rc = -1;
	pending_clear_buf(c, c->w.buf, c->w.n);
	return rc;
}

/* Write (or, dry run, predict) the batch of findings collected so far:
 * a dry run at once, on the scan's connection; a scan hands it to a
 * writer thread once the previous one is written, and goes on filling
 * the other buffer. 0, or -1 with c->err set. */
static int
flush(struct ctx *c)
{
	int rc;

	if (c->nitems == 0)
		return 0;
	if (c->opts->dry_run) {
		rc = findings_observe_batch(c->db, c->tenant_id,
		    c->items[c->cur], c->nitems, c->now, c->scan_id, 1);
		if (rc != 0)
			batch_failed(c, c->cur, c->nitems);
		else
			rc = count_outcomes(c, c->cur, c->nitems);
		pending_clear(c);
		return rc != 0 ? -1 : 0;
	}
	if (batch_join(c) != 0) {
		pending_clear(c);
		return -1;
	}
	if (c->w.db == NULL && (c->w.db = db_new_like(c->db)) == NULL) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		pending_clear(c);
		return -1;
	}
	c->w.buf = c->cur;
	c->w.n = c->nitems;
	c->w.rc = DB_ERR;
	if (worker_hand(&c->w.wk, writer_main, c) != 0) {
		/* No thread: write it here. */
		writer_main(c);
		if (c->w.rc != 0) {
			batch_failed(c, c->w.buf, c->w.n);
			rc = -1;
		} else
			rc = count_outcomes(c, c->w.buf, c->w.n);
		pending_clear(c);
		return rc != 0 ? -1 : 0;
	}
	c->cur ^= 1;
	c->nitems = 0;
	return 0;
}

/* One firing of rule on resource rid: queue it in the batch, writing
 * the batch when it is full. 0, or -1 with c->err set. */
static int
observe(struct ctx *c, const struct rule *rule, const char *rid,
    const char *sub, const char *env, const struct scan_meta *meta,
    json_object *ev)
{
	struct findings_seen *it = &c->items[c->cur][c->nitems];
	struct pending *p = &c->pend[c->cur][c->nitems];
	struct finding_obs *obs = &it->obs;
	json_object *empty = NULL;
	const char *text;
	size_t len;

	memset(it, 0, sizeof(*it));
	memset(p, 0, sizeof(*p));
	if (ev == NULL)
		ev = empty = json_object_new_object();
	findings_make_id(rule->provider, rule->id, rid, it->id,
	    sizeof(it->id));
	findings_fingerprint(ev, it->fingerprint);
	text = vjson_str(ev, &len);
	p->resource_id = strdup(rid);
	if (text != NULL && (p->evidence = malloc(len + 1)) != NULL) {
		memcpy(p->evidence, text, len);
		p->evidence[len] = '\0';
	}
	json_object_put(empty);
	p->meta.name = strdup(meta->name);
	p->meta.type = strdup(meta->type);
	p->meta.group = strdup(meta->group);
	p->meta.region = strdup(meta->region);
	p->meta.tags = strdup(meta->tags);
	if (p->resource_id == NULL || p->evidence == NULL ||
	    p->meta.name == NULL || p->meta.type == NULL ||
	    p->meta.group == NULL || p->meta.region == NULL ||
	    p->meta.tags == NULL) {
		free(p->resource_id);
		free(p->evidence);
		scan_meta_clear(&p->meta);
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -1;
	}
	snprintf(p->sub, sizeof(p->sub), "%s", sub);
	snprintf(p->env, sizeof(p->env), "%s", env);
	it->evidence = p->evidence;
	it->evlen = len;
	obs->rule_id = rule->id;
	obs->provider = rule->provider;
	obs->integration_id = c->integration_id;
	obs->subscription_id = p->sub;
	obs->environment = p->env;
	obs->resource_id = p->resource_id;
	obs->title = rule->title;
	obs->severity = rule->severity;
	obs->category = rule->category;
	obs->layer = rule->layer ? rule->layer : "";
	obs->framework = rule->framework ? rule->framework : "";
	obs->description = rule->description;
	obs->recommendation = rule->recommendation;
	obs->resource_name = p->meta.name;
	obs->resource_type = p->meta.type;
	obs->resource_group = p->meta.group;
	obs->region = p->meta.region;
	obs->tags = p->meta.tags;
	/* The account of an Azure resource is its subscription; the
	 * integration is the source. */
	obs->account = p->sub;
	obs->source = c->integration_id;
	if (++c->nitems == FINDINGS_BATCH)
		return flush(c);
	return 0;
}

/* Renew the scan's lease: 0, 1 lost (another scanner took it after it
 * expired: stop, writing nothing more), or a DB_* code (tried again at the
 * next renewal; the lease has SCAN_LEASE_S to go). */
static int
lease_renew(struct ctx *c)
{
	unsigned long long n;
	int rc;

	if ((rc = db_exec_affected(c->db, SQL_SCAN_LEASE_RENEW,
	    (struct db_val[]){ DB_INT(SCAN_LEASE_S), DB_STR(c->integration_id),
	    DB_STR(c->holder), DB_STR(c->scan_id) }, 4, &n)) != 0)
		return rc;
	return n == 0;
}

/* After each resource: the scans row's progress, and the lease. Non-zero
 * (c->err set) when the lease was lost. */
static int
progress(struct ctx *c)
{
	long long t = vtime_mono_us();

	if (c->opts->progress)
		c->opts->progress(c->opts->arg, c->st);
	if (c->scan_id == NULL)
		return 0;
	if (t - c->last_us >= SCAN_PROGRESS_US) {
		c->last_us = t;
		/* Best effort: GET /scans/{id} shows how far it got. */
		(void)db_exec(c->db, SQL_SCAN_PROGRESS, (struct db_val[]){
		    DB_INT(c->st->resources), DB_INT(c->st->rules_evaluated),
		    DB_STR(c->scan_id) }, 3, NULL);
	}
	if (c->holder[0] != '\0' && t - c->lease_us >= SCAN_LEASE_RENEW_US) {
		c->lease_us = t;
		if (lease_renew(c) == 1) {
			snprintf(c->err, sizeof(c->err), "the scanner lost its "
			    "lease on the integration (it was not renewed for "
			    "%d s and another scanner took it)", SCAN_LEASE_S);
			return 1;
		}
	}
	return 0;
}

/* connector_emit: evaluate every rule of the resource's type. Non-zero
 * stops the collection (c->err says why). */
static int
on_resource(void *arg, json_object *res)
{
	struct ctx *c = arg;
	const struct ruleset *rs = &c->rules;
	const char *type = jstr(res, "type"), *rid = jstr(res, "id");
	char sub[SCAN_SUB_MAX + 1], env[SCAN_ENV_MAX + 1];
	struct scan_meta meta;
	size_t i;
	int rc = 0, have_meta = 0;

	c->st->resources++;
	if (type == NULL || rid == NULL || *rid == '\0' ||
	    strlen(rid) > SCAN_RESOURCE_MAX) {
		log_warn("scan: a resource without a usable id or type was "
		    "skipped");
		return progress(c);
	}
	/* The subscription, environment and metadata only once a rule
	 * fires: most resources fire none, or few. */
	memset(&meta, 0, sizeof(meta));
	for (i = 0; i < rs->n; i++) {
		const struct rule *rule = &rs->rules[i];
		json_object *ev = NULL;
		int fired;

		if (strcasecmp(rule->resource_type, type) != 0)
			continue;
		c->st->rules_evaluated++;
		if ((fired = rules_eval(rule, res, &ev)) < 0) {
			snprintf(c->err, sizeof(c->err), "rule %s could not "
			    "be evaluated", rule->id);
			rc = 1;
			break;
		}
		if (fired == 0)
			continue;
		if (!have_meta) {
			resource_subscription(res, rid, sub, sizeof(sub));
			resource_environment(res, env, sizeof(env));
			if (scan_meta_from_arm(res, rid, &meta) != 0) {
				json_object_put(ev);
				snprintf(c->err, sizeof(c->err),
				    "out of memory");
				rc = 1;
				break;
			}
			have_meta = 1;
		}
		fired = observe(c, rule, rid, sub, env, &meta, ev);
		json_object_put(ev);
		if (fired != 0) {
			rc = 1;
			break;
		}
	}
	scan_meta_clear(&meta);
	if (rc == 0)
		rc = progress(c);
	return rc;
}

/* -- reconcile and remediation ----------------------------------------------- */

/* SCAN_ABSENT_COLS in db.c (SQL_SCAN_ABSENT). */
enum { ABSENT_C_ID, ABSENT_C_STATE, ABSENT_C_RULE, ABSENT_C_RESOURCE,
    ABSENT_C_SEVERITY };

/* A dry run's prediction of reconcile: the candidates it did not see,
 * through the lifecycle in memory. 0 or -1 (c->err). */
static int
reconcile_dry(struct ctx *c)
{
	const struct ruleset *rs = &c->rules;
	struct db_res *cand = NULL;
	struct finding_row *row = NULL;
	struct lc_result res;
	struct lc_input in;
	size_t i, j, k;
	int rc = -1;

	memset(&res, 0, sizeof(res));
	if (c->nseen > 0)
		qsort(c->seen, c->nseen, sizeof(*c->seen), cmp_str);
	memset(&in, 0, sizeof(in));
	in.kind = LC_NOT_SEEN;
	/* Once per provider among the rules ("azure"). */
	for (i = 0; i < rs->n; i++) {
		const char *prov = rs->rules[i].provider;

		for (j = 0; j < i; j++)
			if (strcmp(rs->rules[j].provider, prov) == 0)
				break;
		if (j < i)
			continue;
		if (db_exec(c->db, SQL_SCAN_ABSENT, (struct db_val[]){
		    DB_STR(c->tenant_id), DB_STR(c->integration_id),
		    DB_STR(prov) }, 3, &cand) != 0)
			goto dberr;
		for (k = 0; k < cand->nrows; k++) {
			const char *id = db_cell(cand, k, ABSENT_C_ID);
			enum finding_state was, now;

			if (c->nseen > 0 && bsearch(&id, c->seen, c->nseen,
			    sizeof(*c->seen), cmp_str) != NULL)
				continue;
			if (finding_state_from_str(db_cell(cand, k,
			    ABSENT_C_STATE), &was) != 0 ||
			    was == FINDING_RESOLVED)
				continue;
			if (findings_load(c->db, c->tenant_id, id, 0,
			    &row) != 1)
				goto dberr;
			now = row->f.state;
			if (lifecycle_apply(&row->f, &in, c->now,
			    &c->tenant, &res) == 0 && res.status == 0)
				now = res.finding.state;
			lifecycle_result_free(&res);
			if (now == FINDING_RESOLVED) {
				c->st->resolved++;
				if (c->opts->change)
					c->opts->change(c->opts->arg,
					    "resolved", id, row->rule_id,
					    row->resource_id);
			}
			findings_row_free(row);
			row = NULL;
		}
		db_res_free(cand);
		cand = NULL;
	}
	rc = 0;
	goto out;
dberr:
	snprintf(c->err, sizeof(c->err), "database error while resolving "
	    "findings no longer seen");
out:
	findings_row_free(row);
	db_res_free(cand);
	return rc;
}

/* Findings of the integration that this complete scan did not see are
 * resolved by the scanner (the lifecycle decides), in batches: what it
 * saw is marked in the database (seen_scan_id), not held in memory. 0 or
 * -1 (c->err). */
static int
reconcile(struct ctx *c)
{
	const struct ruleset *rs = &c->rules;
	size_t i, j;
	long n;

	/* With rule files skipped as invalid (rules_load_dir), the findings
	 * of their rules are not seen either, and cannot be told from those
	 * that are gone: none is resolved until the files are fixed. */
	if (c->opts->rules != NULL && c->opts->rules->ninvalid > 0) {
		log_warn("integration %s: %zu problems in rule files "
		    "(vigilctl rules check): findings no longer seen are not "
		    "resolved", c->integration_id, c->opts->rules->ninvalid);
		return 0;
	}
	if (c->opts->dry_run)
		return reconcile_dry(c);
	/* Once per provider among the rules ("azure"). */
	for (i = 0; i < rs->n; i++) {
		const char *prov = rs->rules[i].provider;

		for (j = 0; j < i; j++)
			if (strcmp(rs->rules[j].provider, prov) == 0)
				break;
		if (j < i)
			continue;
		n = findings_resolve_absent(c->db, c->tenant_id,
		    c->integration_id, prov, c->scan_id, c->now, &c->seqs);
		if (n < 0) {
			snprintf(c->err, sizeof(c->err), "database error "
			    "while resolving findings no longer seen");
			return -1;
		}
		c->st->resolved += n;
	}
	return 0;
}

static const struct rule *
rule_find(const struct ruleset *rs, const char *provider, const char *id)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (strcmp(rs->rules[i].id, id) == 0 &&
		    strcmp(rs->rules[i].provider, provider) == 0)
			return &rs->rules[i];
	return NULL;
}

/* Apply the rule's PATCH for one due finding and record the result. The
 * PATCH counts only when the resource read back no longer matches. */
static int
remediate_one(struct ctx *c, struct finding_row *row)
{
	const struct rule *rule;
	struct finding_row *after = NULL;
	struct lc_result res;
	struct lc_input in;
	json_object *back = NULL, *ev = NULL, *body = NULL;
	enum findings_outcome o;
	const char *av = NULL;
	char why[SCAN_ERR_MAX];
	int rc = 0, e;

	memset(&in, 0, sizeof(in));
	in.kind = LC_REMEDIATION_RESULT;
	why[0] = '\0';
	rule = rule_find(&c->rules, row->provider, row->rule_id);
	if (rule == NULL || rule->remediation == NULL) {
		snprintf(why, sizeof(why), "rule %s has no automatic "
		    "remediation", row->rule_id);
	} else {
		av = jstr(rule->remediation, "api_version");
		json_object_object_get_ex(rule->remediation, "patch", &body);
		if (c->conn->patch(c->conn, row->resource_id, av ? av : "",
		    body, &back, why, sizeof(why)) == 0) {
			e = back ? rules_eval(rule, back, &ev) : -1;
			if (e == 1)
				snprintf(why, sizeof(why), "the resource still "
				    "matches the rule after the change");
			else if (e < 0)
				snprintf(why, sizeof(why), "the resource read "
				    "back could not be evaluated");
		} else if (why[0] == '\0')
			snprintf(why, sizeof(why), "the change was refused");
	}
	in.u.remediation.ok = why[0] == '\0';
	in.u.remediation.error = why[0] ? why : NULL;
	o = findings_act(c->db, c->tenant_id, row->f.id, &in, LC_BY_SCANNER,
	    c->now, &res, &after, &rc);
	if (o == FINDINGS_OK && res.changed) {
		const char *outcome = in.u.remediation.ok ? "remediated" :
		    "remediation_failed";

		if (in.u.remediation.ok)
			c->st->remediated++;
		else
			c->st->remediation_failed++;
		log_info("scan: finding %s: %s%s%s", row->f.id, outcome,
		    why[0] ? ": " : "", why);
		rc = result_row(c, SQL_SCAN_RESULT_SET, row->f.id,
		    row->rule_id, row->resource_id, row->f.severity, outcome);
	} else if (o == FINDINGS_DB_ERROR) {
		rc = rc ? rc : DB_ERR;
	}
	lifecycle_result_free(&res);
	findings_row_free(after);
	json_object_put(back);
	json_object_put(ev);
	return rc;
}

static int
remediate(struct ctx *c)
{
	struct db_res *ids = NULL;
	struct finding_row *row = NULL;
	size_t i;
	int rc = -1;

	if (db_exec(c->db, SQL_SCAN_REMEDIATION, (struct db_val[]){
	    DB_STR(c->integration_id) }, 1, &ids) != 0)
		goto dberr;
	for (i = 0; i < ids->nrows; i++) {
		if (findings_load(c->db, c->tenant_id, db_cell(ids, i, 0), 0,
		    &row) != 1)
			goto dberr;
		if (lifecycle_remediation_due(&row->f, &c->tenant)) {
			if (c->opts->dry_run) {
				if (c->opts->change)
					c->opts->change(c->opts->arg,
					    "remediate", row->f.id,
					    row->rule_id, row->resource_id);
			} else if (remediate_one(c, row) != 0)
				goto dberr;
		}
		findings_row_free(row);
		row = NULL;
	}
	rc = 0;
	goto out;
dberr:
	snprintf(c->err, sizeof(c->err), "database error while applying "
	    "remediations");
out:
	findings_row_free(row);
	db_res_free(ids);
	return rc;
}

/* -- connectors ---------------------------------------------------------------- */

/* The connector of integration row 0 of res into c->conn; 0, or -1 with
 * c->err set (never naming the secret). */
static int
connector_build(struct ctx *c, const struct db_res *res)
{
	const char *type = db_cell(res, 0, INTEGRATION_C_TYPE);
	const char *cfgtext = db_cell(res, 0, INTEGRATION_C_CONFIG);
	const char *sealed = db_cell(res, 0, INTEGRATION_C_SECRET);
	const char **subs = NULL;
	struct azure_config az;
	struct vjson_err e;
	json_object *cfg, *arr;
	struct crypto_ring ring;
	char kerr[256];
	size_t i, n;
	int rc = -1;

	cfg = vjson_parse(cfgtext ? cfgtext : "", cfgtext ? strlen(cfgtext) :
	    0, 8, SCAN_CONFIG_MAX, &e);
	if (cfg == NULL || !json_object_is_type(cfg, json_type_object)) {
		snprintf(c->err, sizeof(c->err), "the integration's stored "
		    "configuration is not valid");
		goto out;
	}
	if (strcmp(type, "inventory") == 0) {
		const char *path = jstr(cfg, "path");

		if (path == NULL) {
			snprintf(c->err, sizeof(c->err), "the inventory "
			    "integration has no path");
			goto out;
		}
		if ((c->conn = connector_inventory_new(path)) == NULL) {
			snprintf(c->err, sizeof(c->err), "out of memory");
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (strcmp(type, "azure") != 0) {
		snprintf(c->err, sizeof(c->err), "unknown integration type");
		goto out;
	}
	if (sealed == NULL || g_conf.secret_key_file[0] == '\0') {
		snprintf(c->err, sizeof(c->err), "the client secret cannot be "
		    "read: no secret_key_file is configured");
		goto out;
	}
	if (crypto_ring_load(&ring, g_conf.secret_key_file,
	    g_conf.previous_key_files, kerr, sizeof(kerr)) != 0) {
		log_err("scan: secret key files: %s", kerr);
		snprintf(c->err, sizeof(c->err), "the client secret cannot be "
		    "read: the secret key file is unusable");
		goto out;
	}
	c->secret = crypto_ring_open(&ring, sealed, c->integration_id,
	    &c->secretlen, kerr, sizeof(kerr));
	crypto_ring_wipe(&ring);
	if (c->secret == NULL) {
		log_err("scan: integration %s: client secret: %s",
		    c->integration_id, kerr);
		snprintf(c->err, sizeof(c->err), "the client secret cannot be "
		    "decrypted: %s", kerr);
		goto out;
	}
	if (!json_object_object_get_ex(cfg, "subscription_ids", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) == 0 ||
	    (subs = calloc(n, sizeof(*subs))) == NULL) {
		snprintf(c->err, sizeof(c->err), "the integration has no "
		    "subscription ids");
		goto out;
	}
	for (i = 0; i < n; i++)
		subs[i] = json_object_get_string(
		    json_object_array_get_idx(arr, i));
	memset(&az, 0, sizeof(az));
	az.tenant_id = jstr(cfg, "tenant_id");
	az.client_id = jstr(cfg, "client_id");
	az.client_secret = c->secret;
	az.subscription_ids = subs;
	az.nsubscriptions = n;
	az.authority_url = g_conf.azure_authority_url;
	az.arm_url = g_conf.azure_arm_url;
	if (az.tenant_id == NULL || az.client_id == NULL) {
		snprintf(c->err, sizeof(c->err), "the integration's "
		    "configuration lacks tenant_id or client_id");
		goto out;
	}
	if ((c->conn = connector_azure_new(&az)) == NULL) {
		snprintf(c->err, sizeof(c->err), "the Azure connector could "
		    "not be created");
		goto out;
	}
	rc = 0;
out:
	free(subs);
	json_object_put(cfg);
	return rc;
}

/* Collect, evaluate, and when the collection was complete reconcile
 * and remediate. 0, or -1 with c->err set. */
static int
scan_body(struct ctx *c, const struct db_res *integration)
{
	struct armprune prune;
	char cerr[SCAN_ERR_MAX];
	int rc, pr;

	if (findings_tenant_settings(c->db, c->tenant_id, &c->tenant) != 0 ||
	    tenantrules_load(c->db, c->tenant_id, c->opts->rules,
	    &c->trules) != 0) {
		snprintf(c->err, sizeof(c->err), "database error");
		return -1;
	}
	if (tenantrules_effective(&c->trules, c->opts->rules,
	    &c->rules) != 0) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -1;
	}
	if (connector_build(c, integration) != 0)
		return -1;
	/* Only what the rules read is parsed of each resource, where the
	 * connector can leave the rest out. */
	if ((pr = rules_members(&c->rules, &prune)) == -1) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -1;
	}
	c->conn->prune = pr == 0 ? &prune : NULL;
	cerr[0] = '\0';
	rc = c->conn->collect(c->conn, on_resource, c, cerr, sizeof(cerr));
	c->conn->prune = NULL;
	rules_members_free(&prune);
	/* What was collected is recorded even when the collection did not
	 * complete (as when every finding was its own transaction). */
	if (c->err[0] == '\0')
		(void)flush(c);
	/* Every batch written before the end of the scan is decided. */
	(void)batch_join(c);
	(void)progress(c);
	if (c->err[0] != '\0')
		return -1;
	if (rc != 0) {
		/* Incomplete: nothing it could not see is resolved. */
		snprintf(c->err, sizeof(c->err), "%s", cerr[0] ? cerr :
		    "the collection did not complete");
		return -1;
	}
	if (reconcile(c) != 0 || remediate(c) != 0)
		return -1;
	return 0;
}

static void
ctx_free(struct ctx *c)
{
	size_t i;

	(void)batch_join(c);
	worker_stop(&c->w.wk);
	db_free(c->w.db);
	c->w.db = NULL;
	if (c->conn != NULL)
		c->conn->free(c->conn);
	c->conn = NULL;
	if (c->secret != NULL) {
		crypto_wipe(c->secret, c->secretlen);
		free(c->secret);
	}
	c->secret = NULL;
	pending_clear(c);
	free(c->rules.rules);
	memset(&c->rules, 0, sizeof(c->rules));
	tenantrules_free(&c->trules);
	for (i = 0; i < c->nseen; i++)
		free(c->seen[i]);
	free(c->seen);
	c->seen = NULL;
	c->nseen = c->aseen = 0;
	findings_seqs_free(&c->seqs);
}

/* -- recording ------------------------------------------------------------------- */

/* A scan.completed / scan.failed event inside the caller's transaction
 * (which holds the tenant row lock). scan is borrowed. */
static int
scan_event(struct db *db, const char *tenant_id, const char *type,
    json_object *scan, time_t now)
{
	json_object *data = json_object_new_object();

	json_object_object_add(data, "scan", json_object_get(scan));
	return events_append(db, tenant_id, type, now, data, NULL);
}

/* SCAN_OPEN_COUNT_COLS in db.c (SQL_SCAN_OPEN_COUNTS). */
enum { OPEN_C_SEVERITY, OPEN_C_COUNT };

/* Open findings of the integration by severity: a new object. */
static json_object *
open_counts(struct db *db, const char *integration_id)
{
	static const char *const sev[] = { "critical", "high", "medium",
	    "low", "info" };
	struct db_res *res = NULL;
	json_object *o = json_object_new_object();
	size_t i, j;

	for (i = 0; i < NELEM(sev); i++)
		json_object_object_add(o, sev[i], json_object_new_int64(0));
	if (db_exec(db, SQL_SCAN_OPEN_COUNTS, (struct db_val[]){
	    DB_STR(integration_id) }, 1, &res) != 0)
		return o;
	for (j = 0; j < res->nrows; j++)
		if (db_cell(res, j, OPEN_C_SEVERITY) != NULL)
			json_object_object_add(o,
			    db_cell(res, j, OPEN_C_SEVERITY),
			    int_cell(res, j, OPEN_C_COUNT));
	db_res_free(res);
	return o;
}

/* Record the end of a running scan: its row and its event in one
 * transaction. error NULL: completed. 0 or a DB_* code. */
static int
scan_finish_once(struct ctx *c, const char *error)
{
	json_object *scan, *counts;
	char fin[VTIME_SQL_LEN];
	const char *ctext;
	struct db_res *res = NULL;
	time_t end = time(NULL);
	size_t clen;
	int rc;

	c->st->duration_ms = (vtime_mono_us() - c->t0_us) / 1000;
	counts = open_counts(c->db, c->integration_id);
	ctext = vjson_str(counts, &clen);
	vtime_sql(end, fin, sizeof(fin));
	scan = json_object_new_object();
	add_str(scan, "id", c->scan_id);
	add_str(scan, "integration_id", c->integration_id);
	add_str(scan, "status", error ? "failed" : "completed");
	json_object_object_add(scan, "resources_scanned",
	    json_object_new_int64(c->st->resources));
	json_object_object_add(scan, "rules_evaluated",
	    json_object_new_int64(c->st->rules_evaluated));
	json_object_object_add(scan, "findings_detected",
	    json_object_new_int64(c->st->detected));
	json_object_object_add(scan, "findings_resolved",
	    json_object_new_int64(c->st->resolved));
	json_object_object_add(scan, "findings_reopened",
	    json_object_new_int64(c->st->reopened));
	json_object_object_add(scan, "counts", json_object_get(counts));
	json_object_object_add(scan, "duration_ms",
	    json_object_new_int64(c->st->duration_ms));
	if (error != NULL)
		add_str(scan, "error", error);
	if ((rc = db_begin(c->db)) != 0)
		goto out;
	/* The tenant row first, as every writer of an event (see
	 * SQL_EVENT_INSERT). */
	if ((rc = db_exec(c->db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(c->tenant_id) }, 1, NULL)) != 0) {
		db_rollback(c->db);
		goto out;
	}
	rc = db_exec(c->db, SQL_SCAN_FINISH, (struct db_val[]){
	    DB_STR(error ? "failed" : "completed"), DB_STR(fin),
	    DB_INT(c->st->resources), DB_INT(c->st->rules_evaluated),
	    DB_INT(c->st->detected), DB_INT(c->st->resolved),
	    DB_INT(c->st->reopened), DB_STRN(ctext, clen), DB_STR0(error),
	    DB_INT(c->st->duration_ms), DB_STR(c->scan_id) }, 11, &res);
	if (rc == 0 && res->affected == 0) {
		/* Someone marked it failed meanwhile (our lock was lost with
		 * a dropped connection): their verdict stands. */
		log_warn("scan %s: no longer running when it finished",
		    c->scan_id);
		db_rollback(c->db);
		goto out;
	}
	/* The results are complete: GET /scans/{id}/results' total. */
	if (rc == 0)
		rc = db_exec(c->db, SQL_SCAN_RESULTS_TOTAL, (struct db_val[]){
		    DB_STR(c->scan_id), DB_STR(c->scan_id) }, 2, NULL);
	if (rc == 0)
		rc = scan_event(c->db, c->tenant_id, error ? "scan.failed" :
		    "scan.completed", scan, end);
	if (rc == 0)
		rc = db_commit(c->db);
	if (rc != 0)
		db_rollback(c->db);
out:
	db_res_free(res);
	json_object_put(scan);
	json_object_put(counts);
	return rc;
}

/* scan_finish in db_tx_run (scan_finish_once's begin, rollback and commit
 * join its transaction), replayed whole after a deadlock or a
 * certification failure: one scan.completed or scan.failed event. */
struct finish_tx {
	struct ctx	*c;
	const char	*error;
};

static int
finish_tx(struct db *db, void *arg)
{
	struct finish_tx *t = arg;

	(void)db;
	return scan_finish_once(t->c, t->error);
}

static int
scan_finish(struct ctx *c, const char *error)
{
	struct finish_tx t = { c, error };

	return db_tx_run(c->db, finish_tx, &t);
}

/* Mark a scan that never ran (or whose runner died) failed, with its
 * event, if it still has status was. 1 marked, 0 not, or a DB_* code. */
static int
scan_fail_row_once(struct db *db, const char *scan_id, const char *tenant_id,
    const char *integration_id, const char *was, const char *error,
    time_t now)
{
	struct db_res *res = NULL;
	json_object *scan;
	char fin[VTIME_SQL_LEN];
	int rc;

	vtime_sql(now, fin, sizeof(fin));
	if ((rc = db_begin(db)) != 0)
		return rc;
	/* The tenant row first, as every writer of an event. */
	if ((rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0) {
		db_rollback(db);
		return rc;
	}
	rc = db_exec(db, SQL_SCAN_FAIL, (struct db_val[]){ DB_STR(fin),
	    DB_STR(error), DB_STR(scan_id), DB_STR(was) }, 4, &res);
	if (rc != 0 || res->affected == 0) {
		db_res_free(res);
		db_rollback(db);
		return rc;
	}
	db_res_free(res);
	scan = json_object_new_object();
	add_str(scan, "id", scan_id);
	add_str(scan, "integration_id", integration_id);
	add_str(scan, "status", "failed");
	add_str(scan, "error", error);
	rc = scan_event(db, tenant_id, "scan.failed", scan, now);
	json_object_put(scan);
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0) {
		db_rollback(db);
		return rc;
	}
	return 1;
}

/* scan_fail_row runs scan_fail_row_once in db_tx_run (its begin, rollback
 * and commit join that transaction), replayed whole after a deadlock or a
 * certification failure. 1 marked, 0 not, as scan_fail_row_once. */
struct scan_fail_row_tx {
	const char *scan_id;
	const char *tenant_id;
	const char *integration_id;
	const char *was;
	const char *error;
	time_t now;
	int	 r;
};

static int
scan_fail_row_tx(struct db *db, void *arg)
{
	struct scan_fail_row_tx *t = arg;

	t->r = scan_fail_row_once(db, t->scan_id, t->tenant_id,
	    t->integration_id, t->was, t->error, t->now);
	return t->r < 0 ? (int)t->r : 0;
}

static int
scan_fail_row(struct db *db, const char *scan_id, const char *tenant_id,
    const char *integration_id, const char *was, const char *error,
    time_t now)
{
	struct scan_fail_row_tx t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.scan_id = scan_id;
	t.tenant_id = tenant_id;
	t.integration_id = integration_id;
	t.was = was;
	t.error = error;
	t.now = now;
	if ((rc = db_tx_run(db, scan_fail_row_tx, &t)) != 0)
		return rc;
	return t.r;
}

/* -- entry points ------------------------------------------------------------------ */

/* Queue a scan of an integration: a new "scn_…" id into id (VIGIL_ID_LEN)
 * and a queued row. trigger is "api", "schedule" or "cli". In its own
 * statement; the caller ensures no scan is queued or running (the API
 * and the scheduler lock the integration row first). 0 or a DB_* code. */
static int
scan_insert(struct db *db, const char *tenant_id, const char *integration_id,
    const char *trigger, time_t now, char *id, size_t idsz)
{
	char at[VTIME_SQL_LEN];

	if (id_new("scn", id, idsz) != 0)
		return DB_ERR;
	vtime_sql(now, at, sizeof(at));
	return db_exec(db, SQL_SCAN_INSERT, (struct db_val[]){ DB_STR(id),
	    DB_STR(tenant_id), DB_STR(integration_id), DB_STR(trigger),
	    DB_STR(at) }, 5, NULL);
}

/* This process as a lease holder: "host:boot id:pid". The boot id tells
 * two machines (or two boots of one) apart when their host names match. */
static void
lease_holder(char *out, size_t outsz)
{
	char host[256], boot[40] = "";
	FILE *f;

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	if ((f = fopen("/proc/sys/kernel/random/boot_id", "r")) != NULL) {
		if (fgets(boot, sizeof(boot), f) == NULL)
			boot[0] = '\0';
		fclose(f);
	}
	boot[strcspn(boot, "\n")] = '\0';
	snprintf(out, outsz, "%s:%.8s:%ld", host, boot, (long)getpid());
}

/* 1 if holder names a process of this host (same name, same boot) that no
 * longer exists: its lease may be taken over without waiting for it to
 * expire, as a named lock died with its connection. Hosts that run
 * vigil-scan must have distinct names (vigil-scan(8)). */
static int
lease_holder_gone(const char *holder)
{
	char me[SCAN_HOLDER_MAX];
	const char *p;
	char *end;
	size_t n;
	long pid;

	lease_holder(me, sizeof(me));
	if ((p = strrchr(me, ':')) == NULL)
		return 0;
	n = (size_t)(p - me) + 1;
	if (strncmp(holder, me, n) != 0 || holder[n] == '\0')
		return 0;
	errno = 0;
	pid = strtol(holder + n, &end, 10);
	if (errno != 0 || *end != '\0' || pid <= 0 || pid > 0x7fffffffL)
		return 0;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Whether the lease of integration_id is held by a live holder: 1 held,
 * 0 free (no row, expired, or its holder gone), or DB_*. When scan_id is
 * not NULL, only a lease of that scan counts as held. When drop is set, a
 * lease found dead is deleted (exactly that row, so that a lease taken
 * meanwhile by someone else stays). */
static int
lease_held(struct db *db, const char *integration_id, const char *scan_id,
    int drop)
{
	struct db_res *res = NULL;
	const char *holder, *sid, *expired;
	int rc;

	if ((rc = db_exec(db, SQL_SCAN_LEASE_GET, (struct db_val[]){
	    DB_STR(integration_id) }, 1, &res)) != 0)
		return rc;
	if (res->nrows == 0) {
		rc = 0;
		goto out;
	}
	holder = db_cell(res, 0, 0);
	sid = db_cell(res, 0, 1);
	expired = db_cell(res, 0, 2);
	if (holder == NULL || sid == NULL || expired == NULL) {
		rc = DB_ERR;
		goto out;
	}
	if (strcmp(expired, "0") == 0 && !lease_holder_gone(holder)) {
		rc = scan_id == NULL || strcmp(sid, scan_id) == 0;
		goto out;
	}
	rc = 0;
	if (drop) {
		log_warn("integration %s: lease of %s (scan %s) %s; taken over",
		    integration_id, holder, sid, strcmp(expired, "0") != 0 ?
		    "expired" : "held by a process that is gone");
		rc = db_exec(db, SQL_SCAN_LEASE_DROP, (struct db_val[]){
		    DB_STR(integration_id), DB_STR(holder), DB_STR(sid) }, 3,
		    NULL);
	}
out:
	db_res_free(res);
	return rc;
}

/* Take the integration's lease for scan_id as holder: 1 taken, 0 held by
 * a live scanner, or DB_*. Two scanners taking it at once: one INSERT
 * wins, the other meets the duplicate key (one server) or a
 * certification failure (Galera, DB_RETRY), and finds it held. */
static int
lease_take(struct db *db, const char *integration_id, const char *scan_id,
    const char *holder)
{
	int rc;

	if ((rc = lease_held(db, integration_id, NULL, 1)) != 0)
		return rc < 0 ? rc : 0;
	rc = db_exec(db, SQL_SCAN_LEASE_TAKE, (struct db_val[]){
	    DB_STR(integration_id), DB_STR(holder), DB_STR(scan_id),
	    DB_INT(SCAN_LEASE_S) }, 4, NULL);
	if (rc == DB_DUP || rc == DB_RETRY)
		return 0;
	return rc == 0 ? 1 : rc;
}

static void
lease_release(struct db *db, const char *integration_id, const char *scan_id,
    const char *holder)
{
	(void)db_exec(db, SQL_SCAN_LEASE_DROP, (struct db_val[]){
	    DB_STR(integration_id), DB_STR(holder), DB_STR(scan_id) }, 3, NULL);
}

/* The scan row (SCAN_COLS) of id into *out: 1, 0 not found, or DB_*. */
static int
scan_load(struct db *db, const char *id, struct db_res **out)
{
	int rc;

	*out = NULL;
	if ((rc = db_exec(db, SQL_SCAN_GET, (struct db_val[]){ DB_STR(id) }, 1,
	    out)) != 0)
		return rc;
	if ((*out)->nrows == 0) {
		db_res_free(*out);
		*out = NULL;
		return 0;
	}
	return 1;
}

enum scan_outcome
scan_run(struct db *db, const char *scan_id, const struct scan_opts *opts,
    struct scan_stats *st, char *err, size_t errsz)
{
	struct ctx c;
	struct db_res *scan = NULL, *integ = NULL, *res = NULL;
	enum scan_outcome out = SCAN_ERROR;
	char runner[300], host[256], at[VTIME_SQL_LEN];
	int locked = 0, rc;

	memset(st, 0, sizeof(*st));
	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	if ((rc = scan_load(db, scan_id, &scan)) <= 0) {
		snprintf(err, errsz, rc == 0 ? "no scan %s" :
		    "database error: %s", rc == 0 ? scan_id : db_error(db));
		goto out;
	}
	snprintf(c.tenant_id, sizeof(c.tenant_id), "%s",
	    db_cell(scan, 0, SCAN_C_TENANT));
	snprintf(c.integration_id, sizeof(c.integration_id), "%s",
	    db_cell(scan, 0, SCAN_C_INTEGRATION));
	if (strcmp(db_cell(scan, 0, SCAN_C_STATUS), "queued") != 0) {
		out = SCAN_SKIPPED;
		goto out;
	}
	lease_holder(c.holder, sizeof(c.holder));
	if ((rc = lease_take(db, c.integration_id, scan_id, c.holder)) < 0) {
		snprintf(err, errsz, "database error: %s", db_error(db));
		goto out;
	}
	if (rc == 0) {
		out = SCAN_BUSY;
		goto out;
	}
	locked = 1;
	c.lease_us = vtime_mono_us();
	/* Under the lease: is it still queued, and may it run? */
	db_res_free(scan);
	if ((rc = scan_load(db, scan_id, &scan)) <= 0) {
		snprintf(err, errsz, "database error: %s", db_error(db));
		goto out;
	}
	if (strcmp(db_cell(scan, 0, SCAN_C_STATUS), "queued") != 0) {
		out = SCAN_SKIPPED;
		goto out;
	}
	c.now = time(NULL);
	if ((rc = db_exec(db, SQL_INTEGRATION_GET, (struct db_val[]){
	    DB_STR(c.integration_id) }, 1, &integ)) != 0) {
		snprintf(err, errsz, "database error: %s", db_error(db));
		goto out;
	}
	if (integ->nrows == 0 ||
	    db_cell(integ, 0, INTEGRATION_C_DELETED) != NULL) {
		snprintf(err, errsz, "the integration was deleted");
		rc = scan_fail_row(db, scan_id, c.tenant_id, c.integration_id,
		    "queued", err, c.now);
		out = rc < 0 ? SCAN_ERROR : rc == 1 ? SCAN_FAILED :
		    SCAN_SKIPPED;
		goto out;
	}
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(runner, sizeof(runner), "%s:%ld", host, (long)getpid());
	vtime_sql(c.now, at, sizeof(at));
	if ((rc = db_exec(db, SQL_SCAN_START, (struct db_val[]){
	    DB_STR(runner), DB_STR(at), DB_STR(scan_id) }, 3, &res)) != 0 ||
	    (rc = db_exec(db, SQL_INTEGRATION_SCANNED, (struct db_val[]){
	    DB_STR(at), DB_STR(c.integration_id) }, 2, NULL)) != 0) {
		snprintf(err, errsz, "database error: %s", db_error(db));
		goto out;
	}
	if (res->affected == 0) {
		out = SCAN_SKIPPED;
		goto out;
	}
	log_info("scan %s: integration %s (%s): started", scan_id,
	    c.integration_id, db_cell(integ, 0, INTEGRATION_C_TYPE));
	c.db = db;
	c.opts = opts;
	c.st = st;
	c.scan_id = scan_id;
	c.t0_us = c.last_us = vtime_mono_us();
	rc = scan_body(&c, integ);
	if (rc != 0)
		snprintf(err, errsz, "%s", c.err);
	if (scan_finish(&c, rc != 0 ? c.err : NULL) != 0) {
		/* The row stays "running"; the next --due fails it. */
		snprintf(err, errsz, "database error while recording the "
		    "scan's end");
		goto out;
	}
	out = rc != 0 ? SCAN_FAILED : SCAN_OK;
	log_info("scan %s: %s%s%s: %ld resources, %ld rules evaluated, "
	    "%ld detected, %ld resolved, %ld reopened, %lld ms", scan_id,
	    rc != 0 ? "failed" : "completed", rc != 0 ? ": " : "",
	    rc != 0 ? c.err : "", st->resources, st->rules_evaluated,
	    st->detected, st->resolved, st->reopened, st->duration_ms);
out:
	ctx_free(&c);
	if (locked)
		lease_release(db, c.integration_id, scan_id, c.holder);
	db_res_free(res);
	db_res_free(integ);
	db_res_free(scan);
	return out;
}

enum scan_outcome
scan_dry_run(struct db *db, const char *integration_id,
    const struct scan_opts *opts, struct scan_stats *st, char *err,
    size_t errsz)
{
	struct ctx c;
	struct db_res *integ = NULL;
	struct scan_opts o = *opts;
	enum scan_outcome out = SCAN_ERROR;

	memset(st, 0, sizeof(*st));
	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	o.dry_run = 1;
	if (db_exec(db, SQL_INTEGRATION_GET, (struct db_val[]){
	    DB_STR(integration_id) }, 1, &integ) != 0) {
		snprintf(err, errsz, "database error: %s", db_error(db));
		goto out;
	}
	if (integ->nrows == 0 ||
	    db_cell(integ, 0, INTEGRATION_C_DELETED) != NULL) {
		snprintf(err, errsz, "no integration %s", integration_id);
		goto out;
	}
	snprintf(c.tenant_id, sizeof(c.tenant_id), "%s",
	    db_cell(integ, 0, INTEGRATION_C_TENANT));
	snprintf(c.integration_id, sizeof(c.integration_id), "%s",
	    integration_id);
	c.db = db;
	c.opts = &o;
	c.st = st;
	c.now = time(NULL);
	c.t0_us = c.last_us = vtime_mono_us();
	if (scan_body(&c, integ) != 0) {
		snprintf(err, errsz, "%s", c.err);
		out = SCAN_FAILED;
	} else
		out = SCAN_OK;
	st->duration_ms = (vtime_mono_us() - c.t0_us) / 1000;
out:
	ctx_free(&c);
	db_res_free(integ);
	return out;
}

long
scan_fail_stale(struct db *db, time_t now)
{
	struct db_res *ids = NULL, *scan = NULL;
	char error[512];
	long n = 0;
	size_t i;
	int rc;

	if ((rc = db_exec(db, SQL_SCAN_RUNNING, NULL, 0, &ids)) != 0)
		return rc;
	for (i = 0; i < ids->nrows; i++) {
		const char *id = db_cell(ids, i, 0), *integ, *runner;

		if ((rc = scan_load(db, id, &scan)) < 0)
			break;
		if (rc == 0)
			continue;
		integ = db_cell(scan, 0, SCAN_C_INTEGRATION);
		/* Its scanner is gone once the scan's lease is: expired,
		 * taken over, released, or of a process of this host that
		 * no longer exists. */
		if ((rc = lease_held(db, integ, id, 0)) < 0)
			break;
		if (rc == 0) {
			runner = db_cell(scan, 0, SCAN_C_RUNNER);
			snprintf(error, sizeof(error), "the scanner running "
			    "it (%s) stopped before it finished",
			    runner ? runner : "unknown");
			rc = scan_fail_row(db, id, db_cell(scan, 0,
			    SCAN_C_TENANT), integ, "running", error, now);
			if (rc < 0)
				break;
			if (rc == 1) {
				log_warn("scan %s: %s; marked failed", id,
				    error);
				n++;
			}
		}
		rc = 0;
		db_res_free(scan);
		scan = NULL;
	}
	db_res_free(scan);
	db_res_free(ids);
	return rc < 0 ? rc : n;
}

static void
tally(struct scan_due_stats *d, enum scan_outcome o, const char *id,
    const char *err)
{
	switch (o) {
	case SCAN_OK:
		d->completed++;
		break;
	case SCAN_FAILED:
		d->failed++;
		break;
	case SCAN_BUSY:
		d->busy++;
		log_info("scan %s: another scanner holds its integration; "
		    "skipped", id);
		break;
	case SCAN_SKIPPED:
		break;
	case SCAN_ERROR:
		d->errors++;
		log_err("scan %s: %s", id, err);
		break;
	}
}

/* SCAN_ACTIVE_COLS in db.c (SQL_SCAN_ACTIVE_FOR). */
enum { ACTIVE_C_ID, ACTIVE_C_STATUS };

int
scan_queue_tx(struct db *db, const char *tenant_id,
    const char *integration_id, const char *trigger, time_t now, char *id,
    size_t idsz)
{
	struct db_res *res = NULL;
	int rc;

	if ((rc = db_exec(db, SQL_INTEGRATION_LOCK, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(integration_id) }, 2, &res)) != 0)
		return rc;
	if (res->nrows == 0) {
		db_res_free(res);
		return SCAN_Q_NO_INTEGRATION;
	}
	db_res_free(res);
	if ((rc = db_exec(db, SQL_SCAN_ACTIVE_FOR, (struct db_val[]){
	    DB_STR(integration_id) }, 1, &res)) != 0)
		return rc;
	if (res->nrows > 0) {
		snprintf(id, idsz, "%s", db_cell(res, 0, ACTIVE_C_ID));
		db_res_free(res);
		return SCAN_Q_ACTIVE;
	}
	db_res_free(res);
	if ((rc = scan_insert(db, tenant_id, integration_id, trigger, now, id,
	    idsz)) != 0)
		return rc;
	return SCAN_Q_QUEUED;
}

static int
scan_queue_once(struct db *db, const char *tenant_id,
    const char *integration_id, const char *trigger, time_t now, char *id,
    size_t idsz)
{
	int rc, q;

	if ((rc = db_begin(db)) != 0)
		return rc;
	q = scan_queue_tx(db, tenant_id, integration_id, trigger, now, id,
	    idsz);
	if (q == SCAN_Q_QUEUED && (rc = db_commit(db)) != 0)
		q = rc;
	if (q != SCAN_Q_QUEUED)
		db_rollback(db);
	return q;
}

/* scan_queue runs scan_queue_once in db_tx_run (its begin, rollback and
 * commit join that transaction), replayed whole after a deadlock or a
 * certification failure. */
struct queue_run {
	const char *tenant_id;
	const char *integration_id;
	const char *trigger;
	time_t now;
	char *id;
	size_t idsz;
	int	 r;
};

static int
queue_run(struct db *db, void *arg)
{
	struct queue_run *t = arg;

	t->r = scan_queue_once(db, t->tenant_id, t->integration_id, t->trigger,
	    t->now, t->id, t->idsz);
	return t->r < 0 ? (int)t->r : 0;
}

int
scan_queue(struct db *db, const char *tenant_id, const char *integration_id,
    const char *trigger, time_t now, char *id, size_t idsz)
{
	struct queue_run t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.integration_id = integration_id;
	t.trigger = trigger;
	t.now = now;
	t.id = id;
	t.idsz = idsz;
	if ((rc = db_tx_run(db, queue_run, &t)) != 0)
		return rc;
	return t.r;
}

/* SCAN_DUE_COLS in db.c (SQL_SCAN_DUE_INTEGRATIONS). */
enum { DUE_C_ID, DUE_C_TENANT };

int
scan_due(struct db *db, const struct scan_opts *opts,
    struct scan_due_stats *d)
{
	struct db_res *ids = NULL;
	struct scan_stats st;
	enum scan_outcome o;
	char err[SCAN_ERR_MAX], at[VTIME_SQL_LEN], id[VIGIL_ID_LEN];
	time_t now = time(NULL);
	long n;
	size_t i;
	int rc;

	memset(d, 0, sizeof(*d));
	if ((n = scan_fail_stale(db, now)) < 0)
		return (int)n;
	d->stale = n;
	if ((rc = db_exec(db, SQL_SCAN_QUEUED, NULL, 0, &ids)) != 0)
		return rc;
	for (i = 0; i < ids->nrows; i++) {
		o = scan_run(db, db_cell(ids, i, 0), opts, &st, err,
		    sizeof(err));
		tally(d, o, db_cell(ids, i, 0), err);
	}
	db_res_free(ids);
	ids = NULL;
	vtime_sql(now, at, sizeof(at));
	if ((rc = db_exec(db, SQL_SCAN_DUE_INTEGRATIONS, (struct db_val[]){
	    DB_STR(at) }, 1, &ids)) != 0)
		return rc;
	for (i = 0; i < ids->nrows; i++) {
		rc = scan_queue(db, db_cell(ids, i, DUE_C_TENANT),
		    db_cell(ids, i, DUE_C_ID),
		    "schedule", now, id, sizeof(id));
		if (rc < 0)
			break;
		if (rc != SCAN_Q_QUEUED)
			continue;
		log_info("scan %s: scheduled for integration %s", id,
		    db_cell(ids, i, DUE_C_ID));
		o = scan_run(db, id, opts, &st, err, sizeof(err));
		tally(d, o, id, err);
		rc = 0;
	}
	db_res_free(ids);
	return rc < 0 ? rc : 0;
}

json_object *
scan_to_json(const struct db_res *res, size_t i)
{
	json_object *o = json_object_new_object(), *counts = NULL;
	const char *ct = db_cell(res, i, SCAN_C_COUNTS);

	add_str(o, "id", db_cell(res, i, SCAN_C_ID));
	add_str(o, "integration_id", db_cell(res, i, SCAN_C_INTEGRATION));
	add_str(o, "status", db_cell(res, i, SCAN_C_STATUS));
	add_str(o, "trigger", db_cell(res, i, SCAN_C_TRIGGER));
	json_object_object_add(o, "created_at",
	    vtime_sql_json(db_cell(res, i, SCAN_C_CREATED)));
	json_object_object_add(o, "started_at",
	    vtime_sql_json(db_cell(res, i, SCAN_C_STARTED)));
	json_object_object_add(o, "finished_at",
	    vtime_sql_json(db_cell(res, i, SCAN_C_FINISHED)));
	json_object_object_add(o, "resources_scanned",
	    int_cell(res, i, SCAN_C_RESOURCES));
	json_object_object_add(o, "rules_evaluated",
	    int_cell(res, i, SCAN_C_RULES));
	json_object_object_add(o, "findings_detected",
	    int_cell(res, i, SCAN_C_DETECTED));
	json_object_object_add(o, "findings_resolved",
	    int_cell(res, i, SCAN_C_RESOLVED));
	json_object_object_add(o, "findings_reopened",
	    int_cell(res, i, SCAN_C_REOPENED));
	if (ct != NULL)
		counts = json_tokener_parse(ct);
	json_object_object_add(o, "counts", counts);
	json_object_object_add(o, "duration_ms",
	    db_cell(res, i, SCAN_C_DURATION) ?
	    int_cell(res, i, SCAN_C_DURATION) : NULL);
	add_str(o, "error", db_cell(res, i, SCAN_C_ERROR));
	return o;
}
