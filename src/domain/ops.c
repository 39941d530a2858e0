/* ops.c: the outbox backlog and the scans' freshness, read for GET
 * /metrics and GET /healthz with statements whose cost does not grow
 * with the data (db.c, SQL_OPS_*). */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "ops.h"

/* A cell as a number, def when NULL. */
static long long
num(const struct db_res *r, size_t row, size_t col, long long def)
{
	return db_cell(r, row, col) != NULL ? db_cell_int(r, row, col) : def;
}

int
ops_outbox(struct db *db, long cap, struct ops_outbox *o)
{
	struct db_res *res = NULL;
	long long pend, deliv;
	int rc;

	memset(o, 0, sizeof(*o));
	if ((rc = db_exec(db, SQL_OPS_OUTBOX, (struct db_val[]){
	    DB_INT(cap), DB_INT(cap), DB_INT(cap) }, 3, &res)) != 0)
		return rc;
	if (res->nrows != 1 || res->ncols != 6) {
		rc = DB_ERR;
		goto out;
	}
	o->events = num(res, 0, 0, 0);
	o->events_age = num(res, 0, 1, -1);
	if (o->events == 0)
		o->events_age = -1;
	else if (o->events_age < 0)
		o->events_age = 0;
	o->deliveries = num(res, 0, 2, 0);
	/* A pending delivery waits from its next_attempt_at on; a delivering
	 * one whose lease ran out (next_attempt_at is the lease's end) waits
	 * to be taken over. Not yet due counts as not waiting. */
	pend = num(res, 0, 3, -1);
	deliv = num(res, 0, 4, -1);
	o->deliveries_age = pend > deliv ? pend : deliv;
	if (o->deliveries == 0)
		o->deliveries_age = -1;
	else if (o->deliveries_age < 0)
		o->deliveries_age = 0;
	o->dead = num(res, 0, 5, 0);
out:
	db_res_free(res);
	return rc;
}

/* SQL_OPS_SCANS columns. */
enum { OPS_SC_ID, OPS_SC_NAME, OPS_SC_TENANT, OPS_SC_FINISHED,
    OPS_SC_DURATION, OPS_SC_AGE, OPS_SC_INTERVAL, OPS_SC_N };

int
ops_scans(struct db *db, size_t max, struct ops_scan **out, size_t *n)
{
	struct db_res *res = NULL;
	struct ops_scan *v = NULL;
	size_t i;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = db_exec(db, SQL_OPS_SCANS, (struct db_val[]){
	    DB_INT(max) }, 1, &res)) != 0)
		return rc;
	if (res->ncols != OPS_SC_N) {
		rc = DB_ERR;
		goto out;
	}
	if (res->nrows > 0 &&
	    (v = calloc(res->nrows, sizeof(*v))) == NULL) {
		rc = DB_ERR;
		goto out;
	}
	for (i = 0; i < res->nrows; i++) {
		const char *name = db_cell(res, i, OPS_SC_NAME);
		const char *tenant = db_cell(res, i, OPS_SC_TENANT);

		snprintf(v[i].id, sizeof(v[i].id), "%s",
		    db_cell(res, i, OPS_SC_ID));
		snprintf(v[i].name, sizeof(v[i].name), "%s",
		    name != NULL ? name : "");
		snprintf(v[i].tenant, sizeof(v[i].tenant), "%s",
		    tenant != NULL ? tenant : "");
		v[i].last_success = num(res, i, OPS_SC_FINISHED, -1);
		v[i].duration_ms = num(res, i, OPS_SC_DURATION, -1);
		v[i].age = num(res, i, OPS_SC_AGE, 0);
		if (v[i].age < 0)
			v[i].age = 0;
		v[i].interval_min = (long)num(res, i, OPS_SC_INTERVAL, 60);
	}
	*out = v;
	*n = res->nrows;
out:
	db_res_free(res);
	return rc;
}

int
ops_scan_stale(const struct ops_scan *s)
{
	long interval = s->interval_min > 0 ? s->interval_min : 60;

	return s->age > 2LL * interval * 60;
}
