/* scans.c: scans as the API and vigilctl see them. Queuing goes through
 * scan_queue_tx (scan.c), which locks the integration row, so that two
 * requests never queue two scans of one integration; the audit entry is
 * written in the same transaction. The rows are shown by scan_to_json. */
#include "vigil.h"

#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "id.h"
#include "page.h"
#include "scan.h"
#include "scans.h"

/* Columns of SQL_SCAN_RESULTS, and the field each becomes. */
enum { RES_C_FINDING, RES_C_RULE, RES_C_RESOURCE, RES_C_SEVERITY,
    RES_C_OUTCOME, RES_C__N };
static const char *const result_field[RES_C__N] = {
	[RES_C_FINDING] = "finding_id",
	[RES_C_RULE] = "rule_id",
	[RES_C_RESOURCE] = "resource_id",
	[RES_C_SEVERITY] = "severity",
	[RES_C_OUTCOME] = "outcome",
};

static json_object *
str_or_empty(const char *s)
{
	return json_object_new_string(s ? s : "");
}

/* The tenant's scan id as a SCAN_COLS row: 1 (*res set, caller frees),
 * 0 not found, or a DB_* code. */
static int
row_load(struct db *db, const char *tenant_id, const char *id,
    struct db_res **res)
{
	return page_tenant_row(db, SQL_SCAN_GET_TENANT, "scn", tenant_id, id,
	    res);
}

int
scans_load(struct db *db, const char *tenant_id, const char *id,
    json_object **out)
{
	struct db_res *res;
	int rc;

	*out = NULL;
	if ((rc = row_load(db, tenant_id, id, &res)) != 1)
		return rc;
	*out = scan_to_json(res, 0);
	db_res_free(res);
	return 1;
}

static enum scans_outcome
queue_once(struct db *db, const char *tenant_id, const char *integration_id,
    const char *trigger, const char *actor, time_t now, char *id,
    size_t idsz, json_object **out, int *rc)
{
	json_object *detail;
	int q;

	*out = NULL;
	*rc = 0;
	if (idsz > 0)
		id[0] = '\0';
	if (!id_valid("int", integration_id))
		return SCANS_NO_INTEGRATION;
	if ((*rc = db_begin(db)) != 0)
		goto dberr;
	q = scan_queue_tx(db, tenant_id, integration_id, trigger, now, id,
	    idsz);
	if (q < 0) {
		*rc = q;
		goto dberr;
	}
	if (q == SCAN_Q_NO_INTEGRATION || q == SCAN_Q_ACTIVE) {
		db_rollback(db);
		return q == SCAN_Q_ACTIVE ? SCANS_ACTIVE :
		    SCANS_NO_INTEGRATION;
	}
	detail = json_object_new_object();
	json_object_object_add(detail, "integration_id",
	    json_object_new_string(integration_id));
	if ((*rc = audit_commit(db, tenant_id, actor, "scan.create", id,
	    detail)) != 0)
		goto dberr;
	/* Committed: a failure to read it back is still an error reply. */
	if ((q = scans_load(db, tenant_id, id, out)) != 1) {
		*rc = q < 0 ? q : DB_ERR;
		return SCANS_DB_ERROR;
	}
	return SCANS_QUEUED;
dberr:
	db_rollback(db);
	return SCANS_DB_ERROR;
}

/* scans_queue runs queue_once in db_tx_run (its begin, rollback and commit
 * join that transaction), replayed whole after a deadlock or a
 * certification failure; each run starts from the inputs, with no result
 * from the one before. */
struct queue_tx {
	const char *tenant_id;
	const char *integration_id;
	const char *trigger;
	const char *actor;
	time_t	now;
	char *id;
	size_t	idsz;
	json_object *	 v_out;
	enum scans_outcome	 o;
	int	 rc;
};

static int
queue_tx(struct db *db, void *arg)
{
	struct queue_tx *t = arg;

	json_object_put(t->v_out);
	t->v_out = NULL;
	t->rc = 0;
	t->o = queue_once(db, t->tenant_id, t->integration_id, t->trigger,
	    t->actor, t->now, t->id, t->idsz, &t->v_out, &t->rc);
	if (t->o == SCANS_QUEUED)
		return 0;
	if (t->o == SCANS_DB_ERROR)
		return t->rc != 0 ? t->rc : DB_ERR;
	return 1;
}

enum scans_outcome
scans_queue(struct db *db, const char *tenant_id, const char *integration_id,
    const char *trigger, const char *actor, time_t now, char *id,
    size_t idsz, json_object **out, int *rc)
{
	struct queue_tx t;
	int r;

	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.integration_id = integration_id;
	t.trigger = trigger;
	t.actor = actor;
	t.now = now;
	t.id = id;
	t.idsz = idsz;
	t.o = SCANS_DB_ERROR;
	r = db_tx_run(db, queue_tx, &t);
	*rc = r < 0 ? r : 0;
	if (r < 0) {
		json_object_put(t.v_out);
		t.v_out = NULL;
		t.o = SCANS_DB_ERROR;
	}
	*out = t.v_out;
	return t.o;
}

int
scans_page(struct db *db, const char *tenant_id, const char *cursor,
    long limit, json_object **out)
{
	struct db_res *res = NULL, *cnt = NULL;
	json_object *arr;
	size_t i, n;
	int rc;

	*out = NULL;
	/* "~" sorts after every ULID: the first page (newest first). One
	 * row more than asked tells whether there is a next page. */
	if ((rc = db_exec(db, SQL_SCAN_LIST, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(cursor ? cursor : "~"),
	    DB_INT(limit + 1) }, 3, &res)) != 0 ||
	    (rc = db_exec(db, SQL_SCAN_COUNT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, &cnt)) != 0)
		goto out;
	n = page_rows(res, limit);
	arr = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(arr, scan_to_json(res, i));
	*out = json_object_new_object();
	page_end_res(*out, "scans", arr, res, limit, db_cell_int(cnt, 0, 0),
	    SCAN_C_ID);
out:
	db_res_free(cnt);
	db_res_free(res);
	return rc;
}

int
scans_results_page(struct db *db, const char *tenant_id,
    const char *scan_id, const char *cursor, long limit, json_object **out)
{
	struct db_res *scan = NULL, *res = NULL, *cnt = NULL;
	json_object *arr;
	size_t i, j, n;
	int rc;

	*out = NULL;
	if ((rc = row_load(db, tenant_id, scan_id, &scan)) != 1)
		return rc;
	if ((rc = db_exec(db, SQL_SCAN_RESULTS, (struct db_val[]){
	    DB_STR(scan_id), DB_STR(cursor ? cursor : ""),
	    DB_INT(limit + 1) }, 3, &res)) != 0 ||
	    (rc = db_exec(db, SQL_SCAN_RESULTS_COUNT, (struct db_val[]){
	    DB_STR(scan_id) }, 1, &cnt)) != 0)
		goto out;
	n = page_rows(res, limit);
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		for (j = 0; j < RES_C__N; j++)
			json_object_object_add(o, result_field[j],
			    str_or_empty(db_cell(res, i, j)));
		json_object_array_add(arr, o);
	}
	*out = json_object_new_object();
	json_object_object_add(*out, "scan_id",
	    json_object_new_string(scan_id));
	page_end_res(*out, "results", arr, res, limit, db_cell_int(cnt, 0, 0),
	    RES_C_FINDING);
	rc = 1;
out:
	db_res_free(cnt);
	db_res_free(res);
	db_res_free(scan);
	return rc;
}
