/* spool.c: fan-out, claims and outcomes of webhook deliveries (spool.h). */
#include "vigil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "id.h"
#include "log.h"
#include "spool.h"
#include "vjson.h"
#include "vtime.h"

#define SPOOL_TX_TRIES 5

int
spool_match(const char *events_json, const char *type)
{
	json_object *arr;
	const char *p;
	size_t i, n, plen;
	int hit = 0;

	if (events_json == NULL || type == NULL ||
	    (arr = json_tokener_parse(events_json)) == NULL)
		return 0;
	if (!json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return 0;
	}
	n = json_object_array_length(arr);
	for (i = 0; i < n && !hit; i++) {
		p = json_object_get_string(json_object_array_get_idx(arr, i));
		if (p == NULL)
			continue;
		plen = strlen(p);
		if (strcmp(p, "*") == 0 || strcmp(p, type) == 0)
			hit = 1;
		else if (plen >= 2 && strcmp(p + plen - 2, ".*") == 0 &&
		    strncmp(p, type, plen - 1) == 0)
			hit = 1;   /* "finding.*": the prefix with its dot */
	}
	json_object_put(arr);
	return hit;
}

/* --- fan-out ------------------------------------------------------------ */

enum { EV_C_SEQ, EV_C_ID, EV_C_TENANT, EV_C_TYPE, EV_C_CREATED,
    EV_C_TARGET };
enum { WH_C_ID, WH_C_EVENTS, WH_C_CREATED };

/* The webhooks of one tenant, read once per batch. */
struct tenant_hooks {
	const char	*tenant_id;   /* borrowed from the events result */
	struct db_res	*res;
};

static int
fanout_tx(struct db *db, int batch, long long now_ms, long *nev, long *ndl)
{
	struct db_res *ev = NULL;
	struct tenant_hooks *th = NULL;
	size_t nth = 0, i, j, k;
	char now[VTIME_SQL_MS_LEN], now_s[VTIME_SQL_LEN], dlv[VIGIL_ID_LEN];
	int rc;

	*nev = 0;
	*ndl = 0;
	vtime_sql_ms(now_ms, now, sizeof(now));
	vtime_sql((time_t)(now_ms / 1000), now_s, sizeof(now_s));
	if ((rc = db_begin(db)) != 0)
		return rc;
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
		const char *tenant = db_cell(ev, i, EV_C_TENANT);
		const char *type = db_cell(ev, i, EV_C_TYPE);
		const char *created = db_cell(ev, i, EV_C_CREATED);
		const char *target = db_cell(ev, i, EV_C_TARGET);
		struct db_res *wh = NULL;

		for (k = 0; k < nth; k++)
			if (strcmp(th[k].tenant_id, tenant) == 0)
				break;
		if (k == nth) {
			if ((rc = db_exec(db, SQL_SPOOL_WEBHOOKS,
			    (struct db_val[]){ DB_STR(tenant) }, 1,
			    &th[nth].res)) != 0)
				goto fail;
			th[nth++].tenant_id = tenant;
		}
		wh = th[k].res;
		for (j = 0; j < wh->nrows; j++) {
			const char *wid = db_cell(wh, j, WH_C_ID);

			/* A test event goes to its one webhook; any other
			 * to the subscribers that existed when it was
			 * written (to the second). */
			if (strcmp(type, "webhook.test") == 0) {
				if (target == NULL || strcmp(target, wid) != 0)
					continue;
			} else if (strcmp(db_cell(wh, j, WH_C_CREATED),
			    created) > 0 ||
			    !spool_match(db_cell(wh, j, WH_C_EVENTS), type))
				continue;
			if (id_new("dlv", dlv, sizeof(dlv)) != 0) {
				rc = DB_ERR;
				goto fail;
			}
			if ((rc = db_exec(db, SQL_SPOOL_DELIVERY_ADD,
			    (struct db_val[]){ DB_STR(dlv), DB_STR(tenant),
			    DB_STR(wid), DB_STR(db_cell(ev, i, EV_C_ID)),
			    DB_INT(db_cell_int(ev, i, EV_C_SEQ)), DB_STR(now),
			    DB_STR(now_s), DB_STR(now_s) }, 8, NULL)) != 0)
				goto fail;
			(*ndl)++;
		}
		if ((rc = db_exec(db, SQL_SPOOL_EVENT_DONE, (struct db_val[]){
		    DB_INT(db_cell_int(ev, i, EV_C_SEQ)) }, 1, NULL)) != 0)
			goto fail;
		(*nev)++;
	}
done:
	rc = db_commit(db);
	if (rc != 0)
		goto fail;
	goto out;
fail:
	db_rollback(db);
	*nev = 0;
	*ndl = 0;
out:
	for (k = 0; k < nth; k++)
		db_res_free(th[k].res);
	free(th);
	db_res_free(ev);
	return rc;
}

int
spool_fanout(struct db *db, int batch, long long now_ms, long *nevents,
    long *ndeliveries)
{
	long ne = 0, nd = 0;
	int rc = 0, tries;

	for (tries = 0; tries < SPOOL_TX_TRIES; tries++)
		if ((rc = fanout_tx(db, batch, now_ms, &ne, &nd)) != DB_RETRY)
			break;
	if (nevents != NULL)
		*nevents = ne;
	if (ndeliveries != NULL)
		*ndeliveries = nd;
	return rc;
}

/* --- claims --------------------------------------------------------------- */

enum { CL_C_ID, CL_C_WEBHOOK, CL_C_ATTEMPTS, CL_C_EVENT, CL_C_TYPE,
    CL_C_PAYLOAD, CL_C_URL, CL_C_SECRET, CL_C_GONE, CL_C_FAILING,
    CL_C_TENANT };

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

static int
claim_tx(struct db *db, int max, long long now_ms, const char *lease,
    const struct spool_conf *sc, size_t *taken)
{
	struct db_res *due = NULL;
	char now[VTIME_SQL_MS_LEN], until[VTIME_SQL_MS_LEN], now_s[VTIME_SQL_LEN];
	size_t i;
	int rc;

	*taken = 0;
	vtime_sql_ms(now_ms, now, sizeof(now));
	vtime_sql_ms(now_ms + (long long)sc->lease_s * 1000, until,
	    sizeof(until));
	vtime_sql((time_t)(now_ms / 1000), now_s, sizeof(now_s));
	if ((rc = db_begin(db)) != 0)
		return rc;
	if ((rc = db_exec(db, SQL_SPOOL_DUE, (struct db_val[]){ DB_STR(now),
	    DB_INT(max) }, 2, &due)) != 0)
		goto fail;
	for (i = 0; i < due->nrows; i++)
		if ((rc = db_exec(db, SQL_SPOOL_CLAIM, (struct db_val[]){
		    DB_STR(lease), DB_STR(until), DB_STR(until),
		    DB_STR(now_s), DB_STR(db_cell(due, i, 0)) }, 5,
		    NULL)) != 0)
			goto fail;
	if ((rc = db_commit(db)) != 0)
		goto fail;
	*taken = due->nrows;
	db_res_free(due);
	return 0;
fail:
	db_rollback(db);
	db_res_free(due);
	return rc;
}

int
spool_claim(struct db *db, const unsigned char key[32], int max,
    long long now_ms, const struct spool_conf *sc, struct spool_job **jobsp,
    size_t *njobs)
{
	struct db_res *res = NULL;
	struct spool_job *jobs, *j;
	char lease[VIGIL_ID_LEN];
	size_t taken = 0, i, slen;
	int rc = 0, tries;

	*jobsp = NULL;
	*njobs = 0;
	if (id_new("lease", lease, sizeof(lease)) != 0)
		return DB_ERR;
	for (tries = 0; tries < SPOOL_TX_TRIES; tries++)
		if ((rc = claim_tx(db, max, now_ms, lease, sc, &taken)) !=
		    DB_RETRY)
			break;
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
		if (db_cell_int(res, i, CL_C_GONE) != 0)
			j->skip = "webhook deleted or disabled";
		else if (db_cell(res, i, CL_C_SECRET) == NULL ||
		    (j->secret = crypto_open(key, db_cell(res, i, CL_C_SECRET),
		    j->webhook_id, &slen)) == NULL) {
			j->skip = "webhook secret cannot be opened "
			    "(secret_key_file changed?)";
			log_err("delivery %s: cannot open the secret of webhook "
			    "%s", j->id, j->webhook_id);
		}
		if (j->body == NULL || j->url == NULL)
			j->skip = "out of memory";
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

/* The status an outcome leaves, and when the next attempt is due. */
static const char *
outcome(const struct spool_job *j, const struct spool_result *r,
    long long now_ms, const struct spool_conf *sc, long long *next_ms)
{
	long long delay;

	*next_ms = now_ms;
	switch (r->verdict) {
	case BACKOFF_SUCCESS:
		return "succeeded";
	case BACKOFF_RETRY:
		delay = backoff_delay_ms(j->attempts, r->retry_after, rnd01(),
		    &sc->policy);
		if (delay < 0)
			return "dead";
		*next_ms = now_ms + delay;
		return "pending";
	case BACKOFF_FAIL:
	case BACKOFF_FAIL_DISABLE:
		break;
	}
	return "failed";
}

static int
record_tx(struct db *db, struct spool_job *const *jobs,
    const struct spool_result *res, size_t n, long long now_ms,
    const struct spool_conf *sc, int *maybe_disable)
{
	struct db_res *u = NULL;
	char next[VTIME_SQL_MS_LEN], now_s[VTIME_SQL_LEN];
	long long next_ms;
	const char *status;
	size_t i;
	int rc, lost;

	vtime_sql((time_t)(now_ms / 1000), now_s, sizeof(now_s));
	if ((rc = db_begin(db)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		const struct spool_job *j = jobs[i];
		const struct spool_result *r = &res[i];

		maybe_disable[i] = 0;
		status = outcome(j, r, now_ms, sc, &next_ms);
		vtime_sql_ms(next_ms, next, sizeof(next));
		if ((rc = db_exec(db, SQL_SPOOL_DONE, (struct db_val[]){
		    DB_STR(status), DB_STR(next),
		    r->http_status > 0 ? DB_INT(r->http_status) : DB_NUL,
		    r->latency_ms >= 0 ? DB_INT(r->latency_ms) : DB_NUL,
		    r->error[0] ? DB_STR(r->error) : DB_NUL, DB_STR(now_s),
		    DB_STR(j->id), DB_STR(j->lease) }, 8, &u)) != 0)
			goto fail;
		lost = u->affected == 0;
		db_res_free(u);
		if (lost)
			log_warn("delivery %s: lease %s was taken over; this "
			    "attempt's outcome is not recorded", j->id, j->lease);
		if (j->skip != NULL || lost)
			continue;
		if (r->verdict == BACKOFF_SUCCESS) {
			if (j->failing && (rc = db_exec(db,
			    SQL_SPOOL_WEBHOOK_OK, (struct db_val[]){
			    DB_STR(j->webhook_id) }, 1, NULL)) != 0)
				goto fail;
			continue;
		}
		if (!j->failing && (rc = db_exec(db, SQL_SPOOL_WEBHOOK_FAILING,
		    (struct db_val[]){ DB_STR(now_s), DB_STR(j->webhook_id) },
		    2, NULL)) != 0)
			goto fail;
		maybe_disable[i] = r->verdict == BACKOFF_FAIL_DISABLE ? 2 :
		    j->failing ? 1 : 0;
	}
	if ((rc = db_commit(db)) != 0)
		goto fail;
	return 0;
fail:
	db_rollback(db);
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
	json_object *env, *data, *detail;
	char now_s[VTIME_SQL_LEN], cut[VTIME_SQL_LEN], ts[VTIME_RFC3339_LEN];
	char evid[VIGIL_ID_LEN], reason[160];
	const char *payload;
	time_t now = (time_t)(now_ms / 1000);
	size_t len;
	int rc;

	vtime_sql(now, now_s, sizeof(now_s));
	vtime_sql(now - sc->disable_after_s, cut, sizeof(cut));
	vtime_rfc3339(now, ts, sizeof(ts));
	if (force)
		snprintf(reason, sizeof(reason), "the receiver answered 410 "
		    "Gone");
	else
		snprintf(reason, sizeof(reason), "every delivery failed for "
		    "%d seconds", sc->disable_after_s);
	if (id_new("evt", evid, sizeof(evid)) != 0)
		return DB_ERR;
	if ((rc = db_begin(db)) != 0)
		return rc;
	detail = json_object_new_object();
	json_object_object_add(detail, "reason",
	    json_object_new_string(reason));
	if ((rc = audit_append(db, j->tenant_id, "vigil-spool",
	    "webhook.disable", j->webhook_id, detail)) != 0) {
		json_object_put(detail);
		goto fail;
	}
	json_object_put(detail);
	if ((rc = db_exec(db, SQL_SPOOL_WEBHOOK_DISABLE, (struct db_val[]){
	    DB_STR(now_s), DB_STR(reason), DB_STR(j->webhook_id),
	    DB_INT(force ? 1 : 0), DB_STR(cut) }, 5, &res)) != 0)
		goto fail;
	if (res->affected == 0) {
		/* Not (yet) due, or already disabled or deleted: nothing,
		 * not even the audit entry. */
		db_res_free(res);
		db_rollback(db);
		return 0;
	}
	db_res_free(res);
	if ((rc = db_exec(db, SQL_SPOOL_WEBHOOK_DROP, (struct db_val[]){
	    DB_STR("webhook disabled"), DB_STR(now_s),
	    DB_STR(j->webhook_id) }, 3, NULL)) != 0)
		goto fail;
	env = json_object_new_object();
	data = json_object_new_object();
	json_object_object_add(data, "webhook_id",
	    json_object_new_string(j->webhook_id));
	json_object_object_add(data, "url", json_object_new_string(j->url));
	json_object_object_add(data, "reason", json_object_new_string(reason));
	json_object_object_add(data, "disabled_at", json_object_new_string(ts));
	json_object_object_add(env, "event_id", json_object_new_string(evid));
	json_object_object_add(env, "event_type",
	    json_object_new_string("webhook.disabled"));
	json_object_object_add(env, "tenant_id",
	    json_object_new_string(j->tenant_id));
	json_object_object_add(env, "timestamp", json_object_new_string(ts));
	json_object_object_add(env, "data", data);
	payload = vjson_str(env, &len);
	rc = db_exec(db, SQL_EVENT_INSERT, (struct db_val[]){ DB_STR(evid),
	    DB_STR(j->tenant_id), DB_STR("webhook.disabled"), DB_STR(now_s),
	    DB_STRN(payload, len) }, 5, NULL);
	json_object_put(env);
	if (rc != 0 || (rc = db_commit(db)) != 0)
		goto fail;
	log_warn("webhook %s (tenant %s) disabled: %s", j->webhook_id,
	    j->tenant_id, reason);
	return 0;
fail:
	db_rollback(db);
	return rc;
}

int
spool_record(struct db *db, struct spool_job *const *jobs,
    const struct spool_result *res, size_t n, long long now_ms,
    const struct spool_conf *sc)
{
	int *dis, rc = 0, tries;
	size_t i, k;

	if (n == 0)
		return 0;
	if ((dis = calloc(n, sizeof(*dis))) == NULL)
		return DB_ERR;
	for (tries = 0; tries < SPOOL_TX_TRIES; tries++)
		if ((rc = record_tx(db, jobs, res, n, now_ms, sc, dis)) !=
		    DB_RETRY)
			break;
	for (i = 0; rc == 0 && i < n; i++) {
		if (dis[i] == 0)
			continue;
		/* One try per webhook per batch, forced if any 410. */
		for (k = i + 1; k < n; k++)
			if (dis[k] != 0 && strcmp(jobs[k]->webhook_id,
			    jobs[i]->webhook_id) == 0) {
				if (dis[k] > dis[i])
					dis[i] = dis[k];
				dis[k] = 0;
			}
		for (tries = 0; tries < SPOOL_TX_TRIES; tries++)
			if ((rc = disable_tx(db, jobs[i], dis[i] == 2, now_ms,
			    sc)) != DB_RETRY)
				break;
	}
	free(dis);
	return rc;
}
