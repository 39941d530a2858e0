/* tenants.c: tenants in the database (see tenants.h). The rules a tenant
 * name and a rate limit follow live here, so that every caller applies
 * the same ones. */
#include "vigil.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "id.h"
#include "tenants.h"

/* Column order of TENANT_COLS in db.c (SQL_TENANT_BY_NAME, _LIST). */
enum {
	TENANT_C_ID, TENANT_C_NAME, TENANT_C_CREATED, TENANT_C_RATE_READ,
	TENANT_C_RATE_WRITE, TENANT_C_RATE_INGEST
};

int
tenants_name_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (i > 0 && (c == '-' || c == '_'));

		if (!ok)
			return 0;
	}
	return 1;
}

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

/* Fill t from row i; 0, or -1 when out of memory (t then freed by the
 * caller's tenants_free / tenants_list_free). */
static int
tenant_at(const struct db_res *res, size_t i, struct tenant *t)
{
	t->id = dup_or_empty(db_cell(res, i, TENANT_C_ID));
	t->name = dup_or_empty(db_cell(res, i, TENANT_C_NAME));
	t->created_at = dup_or_empty(db_cell(res, i, TENANT_C_CREATED));
	/* NULL (no override) reads as 0. */
	t->rate_read = db_cell_int(res, i, TENANT_C_RATE_READ);
	t->rate_write = db_cell_int(res, i, TENANT_C_RATE_WRITE);
	t->rate_ingest = db_cell_int(res, i, TENANT_C_RATE_INGEST);
	return t->id && t->name && t->created_at ? 0 : -1;
}

static void
tenant_clear(struct tenant *t)
{
	free(t->id);
	free(t->name);
	free(t->created_at);
}

void
tenants_free(struct tenant *t)
{
	if (t == NULL)
		return;
	tenant_clear(t);
	free(t);
}

int
tenants_by_name(struct db *db, const char *name, struct tenant **out)
{
	struct db_res *res = NULL;
	struct tenant *t = NULL;
	int rc;

	*out = NULL;
	if ((rc = db_exec(db, SQL_TENANT_BY_NAME,
	    (struct db_val[]){ DB_STR(name) }, 1, &res)) != 0)
		return rc;
	if (res->nrows == 0) {
		rc = 0;
		goto out;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL || tenant_at(res, 0, t) != 0) {
		tenants_free(t);
		rc = DB_ERR;
		goto out;
	}
	*out = t;
	rc = 1;
out:
	db_res_free(res);
	return rc;
}

enum tenants_outcome
tenants_create(struct db *db, const char *name, struct tenant **out, int *rc)
{
	char id[VIGIL_ID_LEN];
	int found;

	*out = NULL;
	*rc = 0;
	if (!tenants_name_valid(name))
		return TENANTS_BAD_NAME;
	if (id_new("tnt", id, sizeof(id)) != 0) {
		*rc = DB_ERR;
		return TENANTS_DB_ERROR;
	}
	*rc = db_exec(db, SQL_TENANT_INSERT, (struct db_val[]){ DB_STR(id),
	    DB_STR(name) }, 2, NULL);
	if (*rc == DB_DUP) {
		*rc = 0;
		return TENANTS_EXISTS;
	}
	if (*rc != 0)
		return TENANTS_DB_ERROR;
	/* Read back what was stored (created_at is the server's clock). */
	if ((found = tenants_by_name(db, name, out)) != 1) {
		*rc = found < 0 ? found : DB_ERR;
		return TENANTS_DB_ERROR;
	}
	return TENANTS_OK;
}

int
tenants_list(struct db *db, struct tenant_list **out)
{
	struct db_res *res = NULL;
	struct tenant_list *l;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = db_exec(db, SQL_TENANT_LIST, NULL, 0, &res)) != 0)
		return rc;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->items = calloc(res->nrows ? res->nrows : 1,
	    sizeof(*l->items))) == NULL) {
		free(l);
		db_res_free(res);
		return DB_ERR;
	}
	for (i = 0; i < res->nrows; i++) {
		l->n++;
		if (tenant_at(res, i, &l->items[i]) != 0) {
			tenants_list_free(l);
			db_res_free(res);
			return DB_ERR;
		}
	}
	db_res_free(res);
	*out = l;
	return 0;
}

void
tenants_list_free(struct tenant_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		tenant_clear(&l->items[i]);
	free(l->items);
	free(l);
}

enum tenants_outcome
tenants_set_limits_tx(struct db *db, const char *tenant_id, long long read,
    long long write, int *rc)
{
	*rc = 0;
	if (read < 0 || write < 0)
		return TENANTS_BAD_LIMIT;
	/* NULL, not 0, is "no override": the authentication statement
	 * falls back to the configured limit with COALESCE. */
	*rc = db_exec(db, SQL_TENANT_SET_LIMITS, (struct db_val[]){
	    read > 0 ? DB_INT(read) : DB_NUL,
	    write > 0 ? DB_INT(write) : DB_NUL, DB_STR(tenant_id) }, 3, NULL);
	return *rc == 0 ? TENANTS_OK : TENANTS_DB_ERROR;
}

/* A rate as the API shows it: the number, or null for the default. */
static json_object *
rate_json(long long v)
{
	return v > 0 ? json_object_new_int64(v) : NULL;
}

static enum tenants_outcome
set_limits_once(struct db *db, const char *tenant_id, long long read,
    long long write, const char *actor, int *rc)
{
	struct db_res *res = NULL;
	json_object *detail, *rl;
	enum tenants_outcome o = TENANTS_DB_ERROR;

	*rc = 0;
	if (read < 0 || read > TENANTS_LIMIT_MAX || write < 0 ||
	    write > TENANTS_LIMIT_MAX)
		return TENANTS_BAD_LIMIT;
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT,
	    (struct db_val[]){ DB_STR(tenant_id) }, 1, &res)) != 0)
		goto out;
	if (res->nrows == 0) {
		o = TENANTS_NOT_FOUND;
		goto out;
	}
	if ((o = tenants_set_limits_tx(db, tenant_id, read, write, rc)) !=
	    TENANTS_OK) {
		o = TENANTS_DB_ERROR;
		goto out;
	}
	rl = json_object_new_object();
	json_object_object_add(rl, "read_per_min", rate_json(read));
	json_object_object_add(rl, "write_per_min", rate_json(write));
	detail = json_object_new_object();
	json_object_object_add(detail, "rate_limits", rl);
	*rc = audit_append(db, tenant_id, actor, "tenant.limits", tenant_id,
	    detail);
	json_object_put(detail);
	o = *rc != 0 ? TENANTS_DB_ERROR : TENANTS_OK;
out:
	db_res_free(res);
	return o;
}

/* tenants_set_limits runs set_limits_once as the body of db_tx_run, which
 * commits when the outcome is TENANTS_OK and rolls back otherwise, and
 * replays it whole after a deadlock or a certification failure; each run
 * starts from the inputs. */
struct set_limits_tx {
	const char *tenant_id;
	long long	read;
	long long	write;
	const char *actor;
	enum tenants_outcome	 o;
	int	 rc;
};

static int
set_limits_tx(struct db *db, void *arg)
{
	struct set_limits_tx *t = arg;

	t->rc = 0;
	t->o = set_limits_once(db, t->tenant_id, t->read, t->write, t->actor,
	    &t->rc);
	if (t->o == TENANTS_OK)
		return 0;
	if (t->o == TENANTS_DB_ERROR)
		return t->rc != 0 ? t->rc : DB_ERR;
	return 1;
}

enum tenants_outcome
tenants_set_limits(struct db *db, const char *tenant_id, long long read,
    long long write, const char *actor, int *rc)
{
	struct set_limits_tx t;
	int r;

	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.read = read;
	t.write = write;
	t.actor = actor;
	t.o = TENANTS_DB_ERROR;
	r = db_tx_run(db, set_limits_tx, &t);
	*rc = r < 0 ? r : 0;
	if (r < 0) {
		t.o = TENANTS_DB_ERROR;
	}
	return t.o;
}

enum tenants_outcome
tenants_set_ingest_tx(struct db *db, const char *tenant_id, long long ingest,
    int *rc)
{
	*rc = 0;
	if (ingest < 0)
		return TENANTS_BAD_LIMIT;
	*rc = db_exec(db, SQL_TENANT_SET_INGEST, (struct db_val[]){
	    ingest > 0 ? DB_INT(ingest) : DB_NUL, DB_STR(tenant_id) }, 2,
	    NULL);
	return *rc == 0 ? TENANTS_OK : TENANTS_DB_ERROR;
}

static enum tenants_outcome
set_ingest_once(struct db *db, const char *tenant_id,
    long long ingest, const char *actor, int *rc)
{
	struct db_res *res = NULL;
	json_object *detail, *rl;
	enum tenants_outcome o = TENANTS_DB_ERROR;

	*rc = 0;
	if (ingest < 0 || ingest > TENANTS_LIMIT_MAX)
		return TENANTS_BAD_LIMIT;
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT,
	    (struct db_val[]){ DB_STR(tenant_id) }, 1, &res)) != 0)
		goto out;
	if (res->nrows == 0) {
		o = TENANTS_NOT_FOUND;
		goto out;
	}
	if (tenants_set_ingest_tx(db, tenant_id, ingest, rc) != TENANTS_OK)
		goto out;
	rl = json_object_new_object();
	json_object_object_add(rl, "ingest_per_min", rate_json(ingest));
	detail = json_object_new_object();
	json_object_object_add(detail, "rate_limits", rl);
	*rc = audit_append(db, tenant_id, actor, "tenant.limits", tenant_id,
	    detail);
	json_object_put(detail);
	o = *rc != 0 ? TENANTS_DB_ERROR : TENANTS_OK;
out:
	db_res_free(res);
	return o;
}

/* tenants_set_ingest_limit runs set_ingest_once as the body of db_tx_run,
 * which commits when the outcome is TENANTS_OK and rolls back otherwise,
 * and replays it whole after a deadlock or a certification failure; each
 * run starts from the inputs. */
struct set_ingest_tx {
	const char *tenant_id;
	long long	ingest;
	const char *actor;
	enum tenants_outcome	 o;
	int	 rc;
};

static int
set_ingest_tx(struct db *db, void *arg)
{
	struct set_ingest_tx *t = arg;

	t->rc = 0;
	t->o = set_ingest_once(db, t->tenant_id, t->ingest, t->actor, &t->rc);
	if (t->o == TENANTS_OK)
		return 0;
	if (t->o == TENANTS_DB_ERROR)
		return t->rc != 0 ? t->rc : DB_ERR;
	return 1;
}

enum tenants_outcome
tenants_set_ingest_limit(struct db *db, const char *tenant_id,
    long long ingest, const char *actor, int *rc)
{
	struct set_ingest_tx t;
	int r;

	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.ingest = ingest;
	t.actor = actor;
	t.o = TENANTS_DB_ERROR;
	r = db_tx_run(db, set_ingest_tx, &t);
	*rc = r < 0 ? r : 0;
	if (r < 0) {
		t.o = TENANTS_DB_ERROR;
	}
	return t.o;
}
