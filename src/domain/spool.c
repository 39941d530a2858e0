/* spool.c: fan-out, claims and outcomes of webhook deliveries (spool.h). */
#include "vigil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "audit.h"
#include "buf.h"
#include "channels.h"
#include "crypto.h"
#include "db.h"
#include "events.h"
#include "id.h"
#include "log.h"
#include "spool.h"
#include "vjson.h"
#include "vtime.h"

/* events a digest lists (count says how many there were) */
#define SPOOL_DIGEST_LIST 200

/* --- fan-out ------------------------------------------------------------ */

/* The columns of SQL_SPOOL_EVENTS and SQL_SPOOL_WEBHOOKS. */
enum { SPOOL_EV_SEQ, SPOOL_EV_ID, SPOOL_EV_TENANT, SPOOL_EV_TYPE,
    SPOOL_EV_CREATED, SPOOL_EV_TARGET, SPOOL_EV_SEVERITY, SPOOL_EV_ENV,
    SPOOL_EV_SOURCE, SPOOL_EV_TAGS };
enum { SPOOL_WH_ID, SPOOL_WH_EVENTS, SPOOL_WH_CREATED_SEQ,
    SPOOL_WH_FILTER, SPOOL_WH_DIGEST };

/* The webhooks of one tenant, read (and their subscriptions parsed) once
 * per batch. */
struct tenant_hooks {
	const char	*tenant_id;   /* borrowed from the events result */
	struct db_res	*res;
	json_object	**subs;       /* per row: its events array */
	json_object	**filters;    /* per row: a channel's filter, or NULL */
};

static void
hooks_free(struct tenant_hooks *t)
{
	size_t j;

	for (j = 0; t->subs != NULL && j < t->res->nrows; j++)
		json_object_put(t->subs[j]);
	for (j = 0; t->filters != NULL && j < t->res->nrows; j++)
		json_object_put(t->filters[j]);
	free(t->subs);
	free(t->filters);
	db_res_free(t->res);
}

/* One fan-out, in the transaction db_tx_run runs (again after a
 * conflict: the counts start from 0 each time). */
struct fanout_tx {
	int	 batch;
	long	 nev, ndl;
};

static int
fanout_body(struct db *db, int batch, long *nev, long *ndl)
{
	struct db_res *ev = NULL;
	struct tenant_hooks *th = NULL;
	size_t nth = 0, i, j, k;
	char dlv[VIGIL_ID_LEN];
	int rc;

	*nev = 0;
	*ndl = 0;
	if ((rc = db_exec(db, SQL_SPOOL_EVENTS,
	    (struct db_val[]){ DB_INT(batch) }, 1, &ev)) != 0)
		goto fail;
	if (ev->nrows == 0)
		goto done;
	if ((th = calloc(ev->nrows, sizeof(*th))) == NULL) {
		rc = DB_ERR;
		goto fail;
	}
	for (i = 0; i < ev->nrows; i++) {
		const char *tenant = db_cell(ev, i, SPOOL_EV_TENANT);
		const char *type = db_cell(ev, i, SPOOL_EV_TYPE);
		long long seq = db_cell_int(ev, i, SPOOL_EV_SEQ);
		const char *target = db_cell(ev, i, SPOOL_EV_TARGET);
		const struct events_type *et = events_type(type);
		struct db_res *wh = NULL;

		for (k = 0; k < nth; k++)
			if (strcmp(th[k].tenant_id, tenant) == 0)
				break;
		if (k == nth) {
			if ((rc = db_exec(db, SQL_SPOOL_WEBHOOKS,
			    (struct db_val[]){ DB_STR(tenant) }, 1,
			    &th[nth].res)) != 0)
				goto fail;
			th[nth].tenant_id = tenant;
			if ((th[nth].subs = calloc(th[nth].res->nrows + 1,
			    sizeof(*th[nth].subs))) == NULL ||
			    (th[nth].filters = calloc(th[nth].res->nrows + 1,
			    sizeof(*th[nth].filters))) == NULL) {
				nth++;
				rc = DB_ERR;
				goto fail;
			}
			for (j = 0; j < th[nth].res->nrows; j++) {
				const char *f = db_cell(th[nth].res, j,
				    SPOOL_WH_FILTER);

				th[nth].subs[j] = json_tokener_parse(db_cell(
				    th[nth].res, j, SPOOL_WH_EVENTS));
				th[nth].filters[j] = f ?
				    json_tokener_parse(f) : NULL;
			}
			nth++;
		}
		wh = th[k].res;
		for (j = 0; j < wh->nrows; j++) {
			const char *wid = db_cell(wh, j, SPOOL_WH_ID);

			/* A targeted event (webhook.test) goes to its one
			 * webhook (SQL_SPOOL_EVENTS reads which); any other
			 * to the subscribers created before it was
			 * committed: its seq is after their created_seq
			 * (the tenant's events commit in seq order, see
			 * SQL_EVENT_INSERT), whatever its created_at. */
			if (et != NULL && et->targeted) {
				if (target == NULL || strcmp(target, wid) != 0)
					continue;
			} else if (seq <= db_cell_int(wh, j,
			    SPOOL_WH_CREATED_SEQ) ||
			    !events_match(th[k].subs[j], type) ||
			    !channels_filter_match(th[k].filters[j],
			    db_cell(ev, i, SPOOL_EV_SEVERITY),
			    db_cell(ev, i, SPOOL_EV_ENV),
			    db_cell(ev, i, SPOOL_EV_SOURCE),
			    db_cell(ev, i, SPOOL_EV_TAGS)))
				continue;
			/* An e-mail channel in digest mode: noted for its
			 * period, sent when the period ends (spool_digests). */
			if ((et == NULL || !et->targeted) && db_cell(wh, j,
			    SPOOL_WH_DIGEST) != NULL && strcmp(db_cell(wh, j,
			    SPOOL_WH_DIGEST), "none") != 0) {
				if ((rc = db_exec(db, SQL_SPOOL_DIGEST_ADD,
				    (struct db_val[]){ DB_STR(wid),
				    DB_STR(tenant), DB_STR(db_cell(wh, j,
				    SPOOL_WH_DIGEST)), DB_STR(db_cell(ev, i,
				    SPOOL_EV_ID)), DB_INT(seq) }, 5, NULL)) != 0)
					goto fail;
				continue;
			}
			if (id_new("dlv", dlv, sizeof(dlv)) != 0) {
				rc = DB_ERR;
				goto fail;
			}
			if ((rc = db_exec(db, SQL_SPOOL_DELIVERY_ADD,
			    (struct db_val[]){ DB_STR(dlv), DB_STR(tenant),
			    DB_STR(wid), DB_STR(db_cell(ev, i, SPOOL_EV_ID)),
			    DB_INT(db_cell_int(ev, i, SPOOL_EV_SEQ)) }, 5,
			    NULL)) != 0)
				goto fail;
			(*ndl)++;
		}
		(*nev)++;
	}
	/* Marked dispatched SPOOL_IN at a time. */
	for (i = 0; i < ev->nrows; i += SPOOL_IN) {
		struct db_val p[SPOOL_IN];

		for (k = 0; k < SPOOL_IN; k++)
			p[k] = DB_INT(i + k < ev->nrows ?
			    db_cell_int(ev, i + k, SPOOL_EV_SEQ) : 0);
		if ((rc = db_exec(db, SQL_SPOOL_EVENT_DONE, p, SPOOL_IN,
		    NULL)) != 0)
			goto fail;
	}
done:
	rc = 0;
	goto out;
fail:
	*nev = 0;
	*ndl = 0;
out:
	for (k = 0; k < nth; k++)
		hooks_free(&th[k]);
	free(th);
	db_res_free(ev);
	return rc;
}

static int
fanout_tx(struct db *db, void *arg)
{
	struct fanout_tx *a = arg;

	return fanout_body(db, a->batch, &a->nev, &a->ndl);
}

int
spool_fanout(struct db *db, int batch, long *nevents, long *ndeliveries)
{
	struct fanout_tx a = { batch, 0, 0 };
	int rc;

	rc = db_tx_run(db, fanout_tx, &a);
	if (nevents != NULL)
		*nevents = rc == 0 ? a.nev : 0;
	if (ndeliveries != NULL)
		*ndeliveries = rc == 0 ? a.ndl : 0;
	return rc;
}

/* --- digests -------------------------------------------------------------- */

/* The columns of SQL_SPOOL_DIGEST_DUE and SQL_SPOOL_DIGEST_ITEMS. */
enum { DG_C_CHANNEL, DG_C_TENANT, DG_C_END, DG_C_LIVE };
enum { DI_C_EVENT, DI_C_TYPE, DI_C_AT, DI_C_TITLE, DI_C_SEVERITY, DI_C_ID };

static void
add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

/* Close one ended period of one channel: its channel.digest event and the
 * removal of its rows, in one transaction under the tenant's row lock
 * (which events_append needs, and which makes a second spooler closing the
 * same period find nothing). *made is 1 if an event was written. */
static int
digest_body(struct db *db, const char *channel, const char *tenant,
    const char *period_end, int *made)
{
	struct db_res *it = NULL;
	json_object *data, *list, *e;
	char ts[VTIME_RFC3339_LEN];
	size_t i;
	int rc;

	*made = 0;
	if ((rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant) }, 1, NULL)) != 0 ||
	    (rc = db_exec(db, SQL_SPOOL_DIGEST_ITEMS, (struct db_val[]){
	    DB_STR(channel), DB_STR(period_end) }, 2, &it)) != 0)
		goto fail;
	if (it->nrows == 0) {
		db_res_free(it);
		return 0;
	}
	data = json_object_new_object();
	add_str(data, "webhook_id", channel);
	if (vtime_sql_to_rfc3339(period_end, ts, sizeof(ts)) != 0)
		ts[0] = '\0';
	add_str(data, "period_end", ts);
	json_object_object_add(data, "count",
	    json_object_new_int64((int64_t)it->nrows));
	list = json_object_new_array();
	for (i = 0; i < it->nrows && i < SPOOL_DIGEST_LIST; i++) {
		e = json_object_new_object();
		add_str(e, "event_id", db_cell(it, i, DI_C_EVENT));
		add_str(e, "event_type", db_cell(it, i, DI_C_TYPE));
		if (db_cell(it, i, DI_C_AT) == NULL ||
		    vtime_sql_to_rfc3339(db_cell(it, i, DI_C_AT), ts,
		    sizeof(ts)) != 0)
			ts[0] = '\0';
		add_str(e, "timestamp", ts[0] ? ts : NULL);
		add_str(e, "title", db_cell(it, i, DI_C_TITLE));
		add_str(e, "severity", db_cell(it, i, DI_C_SEVERITY));
		add_str(e, "id", db_cell(it, i, DI_C_ID));
		json_object_array_add(list, e);
	}
	json_object_object_add(data, "events", list);
	db_res_free(it);
	it = NULL;
	if ((rc = events_append(db, tenant, "channel.digest", time(NULL),
	    data, NULL)) != 0 ||
	    (rc = db_exec(db, SQL_SPOOL_DIGEST_DROP, (struct db_val[]){
	    DB_STR(channel), DB_STR(period_end) }, 2, NULL)) != 0)
		goto fail;
	*made = 1;
	return 0;
fail:
	db_res_free(it);
	return rc;
}

struct digest_tx {
	const char	*channel, *tenant, *period_end;
	int		 made;
};

static int
digest_tx(struct db *db, void *arg)
{
	struct digest_tx *a = arg;

	return digest_body(db, a->channel, a->tenant, a->period_end,
	    &a->made);
}

int
spool_digests(struct db *db, int batch, long *ndigests)
{
	struct db_res *due = NULL;
	size_t i;
	struct digest_tx a;
	int rc;

	if (ndigests != NULL)
		*ndigests = 0;
	if ((rc = db_exec(db, SQL_SPOOL_DIGEST_DUE, (struct db_val[]){
	    DB_INT(batch) }, 1, &due)) != 0)
		return rc;
	for (i = 0; i < due->nrows; i++) {
		/* A channel deleted or disabled meanwhile: its notes go,
		 * with no message (it would not be delivered). */
		if (db_cell_int(due, i, DG_C_LIVE) == 0) {
			if ((rc = db_exec(db, SQL_SPOOL_DIGEST_DROP,
			    (struct db_val[]){ DB_STR(db_cell(due, i,
			    DG_C_CHANNEL)), DB_STR(db_cell(due, i, DG_C_END)) },
			    2, NULL)) != 0)
				break;
			continue;
		}
		a.channel = db_cell(due, i, DG_C_CHANNEL);
		a.tenant = db_cell(due, i, DG_C_TENANT);
		a.period_end = db_cell(due, i, DG_C_END);
		a.made = 0;
		if ((rc = db_tx_run(db, digest_tx, &a)) != 0)
			break;
		if (a.made && ndigests != NULL)
			(*ndigests)++;
	}
	db_res_free(due);
	return rc;
}

/* --- claims --------------------------------------------------------------- */

/* The columns of SQL_SPOOL_CLAIMED. */
enum { CL_C_ID, CL_C_WEBHOOK, CL_C_ATTEMPTS, CL_C_EVENT, CL_C_TYPE,
    CL_C_PAYLOAD, CL_C_URL, CL_C_SECRET, CL_C_GONE, CL_C_FAILING,
    CL_C_TENANT, CL_C_KIND, CL_C_CONFIG };

static void
copy(char *dst, size_t sz, const char *src)
{
	snprintf(dst, sz, "%s", src ? src : "");
}

void
spool_job_free(struct spool_job *j)
{
	if (j == NULL)
		return;
	if (j->secret != NULL) {
		crypto_wipe(j->secret, strlen(j->secret));
		free(j->secret);
	}
	free(j->url);
	free(j->body);
	free(j->config);
	memset(j, 0, sizeof(*j));
}

void
spool_jobs_free(struct spool_job *jobs, size_t n)
{
	size_t i;

	for (i = 0; jobs != NULL && i < n; i++)
		spool_job_free(&jobs[i]);
	free(jobs);
}

/* Lease the n rows ids, SPOOL_IN at a time. */
static int
claim_rows(struct db *db, const char *const *ids, size_t n,
    const char *lease, const struct spool_conf *sc)
{
	struct db_val p[3 + SPOOL_IN];
	size_t i, k;
	int rc;

	for (i = 0; i < n; i += SPOOL_IN) {
		p[0] = DB_STR(lease);
		p[1] = DB_INT(sc->lease_s);
		p[2] = DB_INT(sc->lease_s);
		for (k = 0; k < SPOOL_IN; k++)
			p[3 + k] = DB_STR(i + k < n ? ids[i + k] : "");
		if ((rc = db_exec(db, SQL_SPOOL_CLAIM, p, 3 + SPOOL_IN,
		    NULL)) != 0)
			return rc;
	}
	return 0;
}

/* The columns of SQL_SPOOL_DUE and SQL_SPOOL_DUE_LEASED. */
enum { DUE_C_ID, DUE_C_WEBHOOK, DUE_C_TENANT };

/* Attempts in flight per webhook or tenant id, during one claim. */
struct inflight {
	char	 id[VIGIL_ID_LEN];
	int	 n;
};

struct claim_state {
	const struct spool_caps *caps;
	struct inflight	*hooks, *tenants;   /* nbusy + max entries each */
	size_t		 nhooks, ntenants;
	const char	**ids;              /* max: accepted in one pass */
	struct buf	 hooks_off, tenants_off;   /* "id,id": at their cap */
	int		 excluded;   /* a pass left out some at their cap */
};

static struct inflight *
inflight_find(struct inflight *a, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].id, id) == 0)
			return &a[i];
	return NULL;
}

/* One more attempt of id; the entry must fit (the arrays are sized for
 * everything in flight plus everything claimable). */
static void
inflight_add(struct inflight *a, size_t *n, const char *id)
{
	struct inflight *e;

	if ((e = inflight_find(a, *n, id)) == NULL) {
		e = &a[(*n)++];
		snprintf(e->id, sizeof(e->id), "%s", id);
		e->n = 0;
	}
	e->n++;
}

/* The ids of a at or over cap, comma-separated (FIND_IN_SET's list: ids
 * have no commas), into b. */
static int
inflight_off(const struct inflight *a, size_t n, int cap, struct buf *b)
{
	size_t i;

	buf_reset(b);
	for (i = 0; cap > 0 && i < n; i++)
		if (a[i].n >= cap && buf_printf(b, "%s%s", b->len ? "," : "",
		    a[i].id) != 0)
			return -1;
	return 0;
}

static int
at_cap(struct inflight *a, size_t n, const char *id, int cap)
{
	const struct inflight *e;

	return cap > 0 && (e = inflight_find(a, n, id)) != NULL && e->n >= cap;
}

/* Up to want rows of stmt (SQL_SPOOL_DUE or _DUE_LEASED) that the caps
 * allow, leased. *got: how many; *dropped: rows returned but over a cap
 * (a webhook or tenant reached it within this pass). */
static int
claim_pass(struct db *db, int stmt, int want, const char *lease,
    const struct spool_conf *sc, struct claim_state *cs, size_t *got,
    size_t *dropped)
{
	const struct spool_caps *c = cs->caps;
	struct db_res *due = NULL;
	const char *wid, *tid;
	size_t i, n = 0;
	int rc;

	*got = 0;
	*dropped = 0;
	if (inflight_off(cs->hooks, cs->nhooks, c->per_webhook,
	    &cs->hooks_off) != 0 || inflight_off(cs->tenants, cs->ntenants,
	    c->per_tenant, &cs->tenants_off) != 0)
		return DB_ERR;
	if (cs->hooks_off.len > 0 || cs->tenants_off.len > 0)
		cs->excluded = 1;
	if ((rc = db_exec(db, stmt, (struct db_val[]){
	    DB_STR(cs->hooks_off.len ? cs->hooks_off.data : ""),
	    DB_STR(cs->tenants_off.len ? cs->tenants_off.data : ""),
	    DB_INT(want) }, 3, &due)) != 0)
		return rc;
	for (i = 0; i < due->nrows && n < (size_t)want; i++) {
		wid = db_cell(due, i, DUE_C_WEBHOOK);
		tid = db_cell(due, i, DUE_C_TENANT);
		if (wid == NULL || tid == NULL)
			continue;
		if (at_cap(cs->hooks, cs->nhooks, wid, c->per_webhook) ||
		    at_cap(cs->tenants, cs->ntenants, tid, c->per_tenant)) {
			(*dropped)++;
			continue;
		}
		inflight_add(cs->hooks, &cs->nhooks, wid);
		inflight_add(cs->tenants, &cs->ntenants, tid);
		cs->ids[n++] = db_cell(due, i, DUE_C_ID);
	}
	rc = claim_rows(db, cs->ids, n, lease, sc);
	db_res_free(due);
	if (rc == 0)
		*got = n;
	return rc;
}

/* Passes per kind of due row: a pass whose rows went over a cap is run
 * again without them, so that other webhooks' rows behind them are seen
 * in the same claim. */
#define CLAIM_PASSES 3

static int
claim_body(struct db *db, int max, int expired, const char *lease,
    const struct spool_conf *sc, struct claim_state *cs, size_t *taken,
    int *capped)
{
	static const int stmts[] = { SQL_SPOOL_DUE_LEASED, SQL_SPOOL_DUE };
	const struct spool_caps *c = cs->caps;
	size_t got, dropped, k;
	int rc, pass;

	*taken = 0;
	*capped = 0;
	cs->nhooks = cs->ntenants = 0;
	cs->excluded = 0;
	for (k = 0; k < c->nbusy; k++) {
		inflight_add(cs->hooks, &cs->nhooks, c->busy_webhooks[k]);
		inflight_add(cs->tenants, &cs->ntenants, c->busy_tenants[k]);
	}
	for (k = expired ? 0 : 1; k < NELEM(stmts); k++)
		for (pass = 0; pass < CLAIM_PASSES && *taken < (size_t)max;
		    pass++) {
			if ((rc = claim_pass(db, stmts[k], max - (int)*taken,
			    lease, sc, cs, &got, &dropped)) != 0)
				goto fail;
			*taken += got;
			if (dropped == 0)
				break;
			*capped = 1;
		}
	/* Short of max with some left out: a claim before one of them
	 * finishes would likely find nothing either. */
	*capped = (*capped || cs->excluded) && *taken < (size_t)max;
	return 0;
fail:
	*taken = 0;
	return rc;
}

/* A claim in the transaction db_tx_run runs: claim_body starts its
 * lists and counts afresh each time. */
struct claim_tx {
	int			 max, expired, capped;
	const char		*lease;
	const struct spool_conf	*sc;
	struct claim_state	*cs;
	size_t			 taken;
};

static int
claim_tx(struct db *db, void *arg)
{
	struct claim_tx *a = arg;

	return claim_body(db, a->max, a->expired, a->lease, a->sc, a->cs,
	    &a->taken, &a->capped);
}

int
spool_claim(struct db *db, const struct crypto_ring *ring, int max,
    int expired, const struct spool_conf *sc, const struct spool_caps *caps,
    int *capped, struct spool_job **jobsp, size_t *njobs)
{
	static const struct spool_caps none;
	struct claim_state cs;
	struct db_res *res = NULL;
	struct spool_job *jobs, *j;
	char lease[VIGIL_ID_LEN], why[160];
	size_t taken = 0, i, slen, room;
	int rc = 0, cap = 0;

	*jobsp = NULL;
	*njobs = 0;
	if (capped != NULL)
		*capped = 0;
	if (max <= 0)
		return 0;
	if (id_new("lease", lease, sizeof(lease)) != 0)
		return DB_ERR;
	memset(&cs, 0, sizeof(cs));
	cs.caps = caps != NULL ? caps : &none;
	room = cs.caps->nbusy + (size_t)max;
	/* room ids at most in each list, each with its comma */
	buf_init(&cs.hooks_off, room * VIGIL_ID_LEN + 1);
	buf_init(&cs.tenants_off, room * VIGIL_ID_LEN + 1);
	if ((cs.hooks = calloc(room, sizeof(*cs.hooks))) == NULL ||
	    (cs.tenants = calloc(room, sizeof(*cs.tenants))) == NULL ||
	    (cs.ids = calloc((size_t)max, sizeof(*cs.ids))) == NULL) {
		rc = DB_ERR;
		goto out;
	}
	{
		struct claim_tx a = { max, expired, 0, lease, sc, &cs, 0 };

		rc = db_tx_run(db, claim_tx, &a);
		taken = rc == 0 ? a.taken : 0;
		cap = a.capped;
	}
out:
	free(cs.hooks);
	free(cs.tenants);
	free(cs.ids);
	buf_free(&cs.hooks_off);
	buf_free(&cs.tenants_off);
	if (capped != NULL)
		*capped = rc == 0 && cap;
	if (rc != 0 || taken == 0)
		return rc;
	/* Read back outside the claim: joining webhooks and events under
	 * FOR UPDATE would lock their rows and make other spoolers skip
	 * every delivery of the same webhook. */
	if ((rc = db_exec(db, SQL_SPOOL_CLAIMED,
	    (struct db_val[]){ DB_STR(lease) }, 1, &res)) != 0)
		return rc;   /* the lease expires; the rows come back */
	if (res->nrows == 0 || (jobs = calloc(res->nrows, sizeof(*jobs))) ==
	    NULL) {
		rc = res->nrows == 0 ? 0 : DB_ERR;
		db_res_free(res);
		return rc;
	}
	for (i = 0; i < res->nrows; i++) {
		j = &jobs[i];
		copy(j->id, sizeof(j->id), db_cell(res, i, CL_C_ID));
		copy(j->webhook_id, sizeof(j->webhook_id),
		    db_cell(res, i, CL_C_WEBHOOK));
		copy(j->event_id, sizeof(j->event_id),
		    db_cell(res, i, CL_C_EVENT));
		copy(j->tenant_id, sizeof(j->tenant_id),
		    db_cell(res, i, CL_C_TENANT));
		copy(j->type, sizeof(j->type), db_cell(res, i, CL_C_TYPE));
		copy(j->lease, sizeof(j->lease), lease);
		j->attempts = (int)db_cell_int(res, i, CL_C_ATTEMPTS);
		j->failing = db_cell_int(res, i, CL_C_FAILING) == 1;
		j->body = strdup(db_cell(res, i, CL_C_PAYLOAD) ?
		    db_cell(res, i, CL_C_PAYLOAD) : "");
		j->len = j->body ? strlen(j->body) : 0;
		j->url = strdup(db_cell(res, i, CL_C_URL) ?
		    db_cell(res, i, CL_C_URL) : "");
		copy(j->kind, sizeof(j->kind), db_cell(res, i, CL_C_KIND) ?
		    db_cell(res, i, CL_C_KIND) : "webhook");
		j->config = strdup(db_cell(res, i, CL_C_CONFIG) ?
		    db_cell(res, i, CL_C_CONFIG) : "{}");
		if (db_cell(res, i, CL_C_TYPE) == NULL)
			j->skip = "its event was pruned (event_retention_days)";
		else if (db_cell_int(res, i, CL_C_GONE) != 0)
			j->skip = "webhook deleted or disabled";
		else if (db_cell(res, i, CL_C_SECRET) == NULL ||
		    (j->secret = crypto_ring_open(ring, db_cell(res, i,
		    CL_C_SECRET), j->webhook_id, &slen, why,
		    sizeof(why))) == NULL) {
			/* this host's key, not the delivery, is wrong:
			 * retried on the schedule (another host may send
			 * it) */
			j->skip = "webhook secret cannot be opened with this "
			    "spooler's secret_key_file";
			j->skip_retry = 1;
			log_err("delivery %s: cannot open the secret of webhook "
			    "%s (%s): are secret_key_file and "
			    "previous_key_files the API's?", j->id,
			    j->webhook_id, why);
		}
		if (j->body == NULL || j->url == NULL || j->config == NULL) {
			j->skip = "out of memory";
			j->skip_retry = 1;
		}
	}
	*jobsp = jobs;
	*njobs = res->nrows;
	db_res_free(res);
	return 0;
}

/* --- outcomes ------------------------------------------------------------- */

static double
rnd01(void)
{
	uint32_t r;

	if (crypto_random(&r, sizeof(r)) != 0)
		return 0.5;
	return (double)r / (double)UINT32_MAX;
}

/* The status an outcome leaves, and in how many milliseconds the next
 * attempt is due. */
static const char *
outcome(const struct spool_job *j, const struct spool_result *r,
    const struct spool_conf *sc, long long *delay_ms)
{
	long long delay;

	*delay_ms = 0;
	switch (r->verdict) {
	case BACKOFF_SUCCESS:
		return "succeeded";
	case BACKOFF_RETRY:
		delay = backoff_delay_ms(j->attempts, r->retry_after, rnd01(),
		    &sc->policy);
		if (delay < 0)
			return "dead";
		*delay_ms = delay;
		return "pending";
	case BACKOFF_FAIL:
	case BACKOFF_FAIL_DISABLE:
		break;
	}
	return "failed";
}

/* What a batch says of one webhook. */
struct hook_tally {
	const char	*webhook_id;
	const struct spool_job *job;   /* one of its jobs (for disable_tx) */
	int		 ok;           /* a 2xx */
	int		 bad;          /* a failure */
	int		 gone;         /* a 410 */
	int		 failing;      /* failing_since was set at the claim */
};

static int
tally_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hook_tally *)a)->webhook_id,
	    ((const struct hook_tally *)b)->webhook_id);
}

/* The outcomes, then each webhook's failure clock in webhook id order (so
 * that concurrent spoolers lock webhook rows in one order). Fills tally
 * (n entries at most), *ntally. */
static int
record_body(struct db *db, struct spool_job *const *jobs,
    const struct spool_result *res, size_t n, const struct spool_conf *sc,
    struct hook_tally *tally, size_t *ntally)
{
	struct db_res *u = NULL;
	long long delay;
	const char *status;
	size_t i, k, nt = 0;
	int rc, lost;

	*ntally = 0;
	for (i = 0; i < n; i++) {
		const struct spool_job *j = jobs[i];
		const struct spool_result *r = &res[i];

		status = outcome(j, r, sc, &delay);
		if ((rc = db_exec(db, SQL_SPOOL_DONE, (struct db_val[]){
		    DB_STR(status), DB_INT(delay),
		    r->http_status > 0 ? DB_INT(r->http_status) : DB_NUL,
		    r->latency_ms >= 0 ? DB_INT(r->latency_ms) : DB_NUL,
		    r->error[0] ? DB_STR(r->error) : DB_NUL,
		    DB_STR(j->id), DB_STR(j->lease) }, 7, &u)) != 0)
			goto fail;
		lost = u->affected == 0;
		db_res_free(u);
		u = NULL;
		if (lost)
			log_warn("delivery %s: lease %s was taken over; this "
			    "attempt's outcome is not recorded", j->id, j->lease);
		if (j->skip != NULL || lost)
			continue;
		for (k = 0; k < nt; k++)
			if (strcmp(tally[k].webhook_id, j->webhook_id) == 0)
				break;
		if (k == nt) {
			memset(&tally[nt], 0, sizeof(tally[nt]));
			tally[nt].webhook_id = j->webhook_id;
			tally[nt].job = j;
			nt++;
		}
		if (r->verdict == BACKOFF_SUCCESS)
			tally[k].ok = 1;
		else
			tally[k].bad = 1;
		if (r->verdict == BACKOFF_FAIL_DISABLE)
			tally[k].gone = 1;
		if (j->failing)
			tally[k].failing = 1;
	}
	qsort(tally, nt, sizeof(*tally), tally_cmp);
	for (k = 0; k < nt; k++) {
		/* Any success stops the clock; failures start it. */
		if (tally[k].ok)
			rc = db_exec(db, SQL_SPOOL_WEBHOOK_OK, (struct db_val[]){
			    DB_STR(tally[k].webhook_id) }, 1, NULL);
		else
			rc = db_exec(db, SQL_SPOOL_WEBHOOK_FAILING,
			    (struct db_val[]){ DB_STR(tally[k].webhook_id) },
			    1, NULL);
		if (rc != 0)
			goto fail;
	}
	*ntally = nt;
	return 0;
fail:
	db_res_free(u);
	return rc;
}

struct record_tx {
	struct spool_job *const	*jobs;
	const struct spool_result *res;
	size_t			 n, nt;
	const struct spool_conf	*sc;
	struct hook_tally	*tally;
};

static int
record_tx(struct db *db, void *arg)
{
	struct record_tx *a = arg;

	return record_body(db, a->jobs, a->res, a->n, a->sc, a->tally,
	    &a->nt);
}

/* disable_tx's transaction (run again after a conflict). */
struct disable_tx {
	const struct spool_job	*j;
	const struct spool_conf	*sc;
	int			 force;
	time_t			 now;
	const char		*now_s, *ts, *reason;
};

static int
disable_body(struct db *db, void *arg)
{
	struct disable_tx *a = arg;
	const struct spool_job *j = a->j;
	struct db_res *res = NULL;
	json_object *data, *detail;
	int rc;

	detail = json_object_new_object();
	json_object_object_add(detail, "reason",
	    json_object_new_string(a->reason));
	if ((rc = audit_append(db, j->tenant_id, "vigil-spool",
	    "webhook.disable", j->webhook_id, detail)) != 0) {
		json_object_put(detail);
		goto fail;
	}
	json_object_put(detail);
	if ((rc = db_exec(db, SQL_SPOOL_WEBHOOK_DISABLE, (struct db_val[]){
	    DB_STR(a->now_s), DB_STR(a->reason), DB_STR(j->webhook_id),
	    DB_INT(a->force ? 1 : 0), DB_INT(a->sc->disable_after_s) }, 5,
	    &res)) != 0)
		goto fail;
	if (res->affected == 0) {
		/* Not (yet) due, or already disabled or deleted: nothing,
		 * not even the audit entry. */
		db_res_free(res);
		return 1;
	}
	db_res_free(res);
	if ((rc = db_exec(db, SQL_SPOOL_WEBHOOK_DROP, (struct db_val[]){
	    DB_STR("webhook disabled"), DB_STR(a->now_s),
	    DB_STR(j->webhook_id) }, 3, NULL)) != 0)
		goto fail;
	data = json_object_new_object();
	json_object_object_add(data, "webhook_id",
	    json_object_new_string(j->webhook_id));
	json_object_object_add(data, "url", json_object_new_string(j->url));
	json_object_object_add(data, "reason",
	    json_object_new_string(a->reason));
	json_object_object_add(data, "disabled_at",
	    json_object_new_string(a->ts));
	/* audit_append above took the tenant row lock the event needs. */
	rc = events_append(db, j->tenant_id, "webhook.disabled", a->now, data,
	    NULL);
	if (rc != 0)
		goto fail;
	return 0;
fail:
	return rc;
}

/* Disable webhook j->webhook_id if force (410) or if it has been failing
 * since before the cut-off: its pending deliveries fail, a
 * webhook.disabled event and an audit entry are written, all in one
 * transaction (tenant row first, as the API's writes). */
static int
disable_tx(struct db *db, const struct spool_job *j, int force,
    long long now_ms, const struct spool_conf *sc)
{
	struct db_res *res = NULL;
	char now_s[VTIME_SQL_LEN], ts[VTIME_RFC3339_LEN], reason[160];
	time_t now = (time_t)(now_ms / 1000);
	int rc;

	/* Most failures of a failing webhook are not yet the one that
	 * disables it: ask without locks first. */
	if ((rc = db_exec(db, SQL_SPOOL_WEBHOOK_DUE_OFF, (struct db_val[]){
	    DB_STR(j->webhook_id), DB_INT(force ? 1 : 0),
	    DB_INT(sc->disable_after_s) }, 3, &res)) != 0)
		return rc;
	if (res->nrows == 0) {
		db_res_free(res);
		return 0;
	}
	db_res_free(res);
	res = NULL;
	vtime_sql(now, now_s, sizeof(now_s));
	vtime_rfc3339(now, ts, sizeof(ts));
	if (force)
		snprintf(reason, sizeof(reason), "the receiver answered 410 "
		    "Gone");
	else
		snprintf(reason, sizeof(reason), "every delivery failed for "
		    "%d seconds", sc->disable_after_s);
	{
		struct disable_tx a = { j, sc, force, now, now_s, ts, reason };

		if ((rc = db_tx_run(db, disable_body, &a)) != 0)
			return rc > 0 ? 0 : rc;
	}
	log_warn("webhook %s (tenant %s) disabled: %s", j->webhook_id,
	    j->tenant_id, reason);
	return 0;
}

int
spool_record(struct db *db, struct spool_job *const *jobs,
    const struct spool_result *res, size_t n, long long now_ms,
    const struct spool_conf *sc)
{
	struct hook_tally *tally;
	size_t nt = 0, k;
	int rc = 0, rc2 = 0;

	if (n == 0)
		return 0;
	if ((tally = calloc(n, sizeof(*tally))) == NULL)
		return DB_ERR;
	/* Repeatable: an outcome is only written under its own lease, and
	 * record_body starts the tally afresh. db_tx_run replays it after a
	 * conflict, and once after a connection lost before the commit. */
	{
		struct record_tx a = { jobs, res, n, 0, sc, tally };

		rc = db_tx_run(db, record_tx, &a);
		nt = rc == 0 ? a.nt : 0;
	}
	for (k = 0; rc == 0 && k < nt; k++) {
		/* A 410 disables at once; other failures once the webhook
		 * has been failing long enough (it was already failing when
		 * claimed, and nothing in this batch succeeded). */
		if (!tally[k].gone && (tally[k].ok || !tally[k].failing))
			continue;
		rc2 = disable_tx(db, tally[k].job, tally[k].gone, now_ms, sc);
		if (rc2 != 0)
			log_err("webhook %s: could not be disabled: %s",
			    tally[k].webhook_id, db_error(db));
	}
	free(tally);
	return rc;
}
