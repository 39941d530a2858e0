/* integrations.c: integrations in the database. An Azure client secret
 * is sealed with AES-256-GCM (aad: the integration id) under the key in
 * vigil.conf's secret_key_file, and never returned or logged. The API
 * (cgi/integrations.c) and vigilctl create through integrations_create,
 * so both apply the same rules and write the same audit entry. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "azure.h"
#include "conf.h"
#include "connector.h"
#include "crypto.h"
#include "db.h"
#include "id.h"
#include "integrations.h"
#include "log.h"
#include "text.h"
#include "vjson.h"
#include "vtime.h"

#define INTEGRATIONS_PATH_MAX     1024
#define INTEGRATIONS_SECRET_MAX   1024
#define INTEGRATIONS_SUBS_MAX     100

static void
invalid(struct integrations_err *err, const char *field, const char *msg)
{
	err->field = field;
	snprintf(err->message, sizeof(err->message), "%s", msg);
}

/* -- loading --------------------------------------------------------------- */

void
integrations_free(struct integration *in)
{
	if (in == NULL)
		return;
	free(in->id);
	free(in->tenant_id);
	free(in->type);
	free(in->name);
	free(in->config);
	free(in->created_at);
	free(in->deleted_at);
	free(in->last_scan_at);
	free(in);
}


/* Row i of an INTEGRATION_COLS result as a new integration, or NULL when
 * out of memory. */
static struct integration *
row_at(const struct db_res *res, size_t i)
{
	struct integration *in;
	int oom = 0;

	if ((in = calloc(1, sizeof(*in))) == NULL)
		return NULL;
	in->id = db_cell_dup(res, i, INTEGRATION_C_ID, &oom);
	in->tenant_id = db_cell_dup(res, i, INTEGRATION_C_TENANT, &oom);
	in->type = db_cell_dup(res, i, INTEGRATION_C_TYPE, &oom);
	in->name = db_cell_dup(res, i, INTEGRATION_C_NAME, &oom);
	in->config = db_cell_dup(res, i, INTEGRATION_C_CONFIG, &oom);
	in->created_at = db_cell_dup(res, i, INTEGRATION_C_CREATED, &oom);
	in->deleted_at = db_cell_dup(res, i, INTEGRATION_C_DELETED, &oom);
	in->last_scan_at = db_cell_dup(res, i, INTEGRATION_C_LAST_SCAN, &oom);
	if (oom || in->id == NULL || in->tenant_id == NULL ||
	    in->type == NULL || in->name == NULL) {
		integrations_free(in);
		return NULL;
	}
	return in;
}

/* Row 0 of what stmt returns for params, if it is live: 1, 0 or a DB_*
 * code, as integrations_get. */
static int
load(struct db *db, enum db_stmt stmt, const struct db_val *params,
    size_t nparams, struct integration **out)
{
	struct db_res *res = NULL;
	int rc;

	*out = NULL;
	if ((rc = db_exec(db, stmt, params, nparams, &res)) != 0)
		return rc;
	if (res->nrows == 0 || db_cell(res, 0, INTEGRATION_C_DELETED) != NULL) {
		db_res_free(res);
		return 0;
	}
	*out = row_at(res, 0);
	db_res_free(res);
	return *out ? 1 : DB_ERR;
}

/* Load a live integration of a tenant: 1 found (*out set, free with
 * integrations_free), 0 not found (or not an integration id), or a DB_*
 * error code (< 0). */
static int
integrations_get(struct db *db, const char *tenant_id, const char *id,
    struct integration **out)
{
	*out = NULL;
	if (!id_valid("int", id))
		return 0;
	return load(db, SQL_INTEGRATION_GET_TENANT, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, out);
}

int
integrations_find(struct db *db, const char *id, struct integration **out)
{
	return load(db, SQL_INTEGRATION_GET, (struct db_val[]){ DB_STR(id) },
	    1, out);
}

void
integrations_page_free(struct integrations_page *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		integrations_free(p->items[i]);
	free(p->items);
	free(p);
}

int
integrations_list(struct db *db, const char *tenant_id, const char *after,
    long limit, struct integrations_page **out)
{
	struct integrations_page *p = NULL;
	struct db_res *res = NULL, *cnt = NULL;
	size_t i, n;
	int rc;

	*out = NULL;
	/* One row more than asked says whether there is a next page. */
	if ((rc = db_exec(db, SQL_INTEGRATION_LIST, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(after), DB_INT(limit + 1) }, 3,
	    &res)) != 0 ||
	    (rc = db_exec(db, SQL_INTEGRATION_COUNT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, &cnt)) != 0)
		goto out;
	rc = DB_ERR;
	n = res->nrows > (size_t)limit ? (size_t)limit : res->nrows;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->items = calloc(n ? n : 1, sizeof(*p->items))) == NULL)
		goto out;
	for (i = 0; i < n; i++, p->n++)
		if ((p->items[i] = row_at(res, i)) == NULL)
			goto out;
	p->total = db_cell_int(cnt, 0, 0);
	p->has_more = res->nrows > (size_t)limit;
	*out = p;
	p = NULL;
	rc = 0;
out:
	integrations_page_free(p);
	db_res_free(cnt);
	db_res_free(res);
	return rc;
}

/* -- the API shape --------------------------------------------------------- */

static void
add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

json_object *
integrations_to_json(const struct integration *in)
{
	json_object *o = json_object_new_object();

	add_str(o, "id", in->id);
	add_str(o, "type", in->type);
	add_str(o, "name", in->name);
	/* The stored config never holds the secret (that is sealed apart). */
	json_object_object_add(o, "config", in->config ?
	    json_tokener_parse(in->config) : json_object_new_object());
	json_object_object_add(o, "created_at",
	    vtime_sql_json(in->created_at));
	json_object_object_add(o, "last_scan_at",
	    vtime_sql_json(in->last_scan_at));
	return o;
}

/* -- creating -------------------------------------------------------------- */

/* Code points in a string already checked to be valid UTF-8. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* The name rule: valid UTF-8, no control character (text_control, as
 * every single-line string), 1 to INTEGRATIONS_NAME_CHARS characters. */
int
integrations_name_ok(const char *name, struct integrations_err *err)
{
	size_t len = strlen(name);

	if (!vjson_utf8_valid(name, len)) {
		invalid(err, "name", "name must be valid UTF-8");
		return 0;
	}
	if (text_control(name, len, 0) != len) {
		invalid(err, "name", "name must not contain control "
		    "characters");
		return 0;
	}
	if (len == 0 || utf8_chars(name) > INTEGRATIONS_NAME_CHARS) {
		invalid(err, "name", "name must be 1 to 100 characters long.");
		return 0;
	}
	return 1;
}

/* Check an inventory config into *stored (a new object without anything
 * secret). INTEGRATIONS_OK or _INVALID. */
static enum integrations_outcome
inventory_config(const struct integrations_new *nw, json_object **stored,
    struct integrations_err *err)
{
	static const char *const allowed[] = { "path", NULL };
	struct vjson_err e;
	const char *path;
	char cerr[512];

	if (vjson_only_keys(nw->config, allowed, &e) != 0 ||
	    vjson_get_string(nw->config, "path", 1, 1, INTEGRATIONS_PATH_MAX,
	    &path, &e) < 0) {
		invalid(err, "config", e.message);
		return INTEGRATIONS_INVALID;
	}
	if (connector_inventory_check(path, cerr, sizeof(cerr)) != 0) {
		log_info("%s: inventory check failed: %s", nw->log_ctx, cerr);
		invalid(err, "config", "config.path must be an absolute path to "
		    "a directory the server can read.");
		return INTEGRATIONS_INVALID;
	}
	*stored = json_object_new_object();
	json_object_object_add(*stored, "path", json_object_new_string(path));
	return INTEGRATIONS_OK;
}

/* Check an Azure config, obtain a token with it, and seal the secret into
 * *sealed (caller frees) under the new integration's id. *stored is the
 * config without the secret. */
static enum integrations_outcome
azure_config(const struct integrations_new *nw, const char *id,
    json_object **stored, char **sealed, struct integrations_err *err)
{
	static const char *const allowed[] = { "tenant_id", "client_id",
	    "client_secret", "subscription_ids", NULL };
	const char *tenant, *client, *secret, **subs = NULL;
	enum integrations_outcome o = INTEGRATIONS_INVALID;
	struct azure_config az;
	struct vjson_err e;
	json_object *arr;
	struct crypto_ring ring;
	char cerr[512];
	size_t i, n;
	int crc;

	if (vjson_only_keys(nw->config, allowed, &e) != 0 ||
	    vjson_get_string(nw->config, "tenant_id", 1, 1, 128, &tenant,
	    &e) < 0 ||
	    vjson_get_string(nw->config, "client_id", 1, 1, 128, &client,
	    &e) < 0 ||
	    vjson_get_string(nw->config, "client_secret", 1, 1,
	    INTEGRATIONS_SECRET_MAX, &secret, &e) < 0 ||
	    vjson_get_string_array(nw->config, "subscription_ids", 1,
	    INTEGRATIONS_SUBS_MAX, 128, &arr, &e) < 0) {
		invalid(err, "config", e.message);
		return INTEGRATIONS_INVALID;
	}
	n = json_object_array_length(arr);
	if (!azure_valid_segment(tenant) || !azure_valid_segment(client)) {
		invalid(err, "config", "config.tenant_id and config.client_id "
		    "must be 1 to 128 of A-Z, a-z, 0-9, '.', '-' and '_'.");
		return INTEGRATIONS_INVALID;
	}
	if (n == 0) {
		invalid(err, "config", "config.subscription_ids must name at "
		    "least one subscription.");
		return INTEGRATIONS_INVALID;
	}
	if ((subs = calloc(n, sizeof(*subs))) == NULL)
		return INTEGRATIONS_ERROR;
	for (i = 0; i < n; i++) {
		subs[i] = json_object_get_string(json_object_array_get_idx(arr,
		    i));
		if (!azure_valid_segment(subs[i])) {
			invalid(err, "config", "config.subscription_ids must be "
			    "subscription ids.");
			goto out;
		}
	}
	/* Refuse before asking Azure: a secret that cannot be sealed must
	 * not be accepted. */
	if (g_conf.secret_key_file[0] == '\0') {
		invalid(err, "config", "The server has no secret_key_file "
		    "configured, so it cannot store a client secret; ask the "
		    "operator.");
		goto out;
	}
	if (crypto_ring_load(&ring, g_conf.secret_key_file,
	    NULL, cerr, sizeof(cerr)) != 0) {
		log_err("%s: secret_key_file: %s", nw->log_ctx, cerr);
		o = INTEGRATIONS_ERROR;
		goto out;
	}
	memset(&az, 0, sizeof(az));
	az.tenant_id = tenant;
	az.client_id = client;
	az.client_secret = secret;
	az.subscription_ids = subs;
	az.nsubscriptions = n;
	az.authority_url = g_conf.azure_authority_url;
	az.arm_url = g_conf.azure_arm_url;
	if ((crc = connector_azure_check(&az, cerr, sizeof(cerr))) == -2) {
		/* Nothing was judged: not the client's mistake, and worth
		 * another try later. */
		crypto_ring_wipe(&ring);
		log_warn("%s: azure credential check: no verdict: %s",
		    nw->log_ctx, cerr);
		invalid(err, "config", "The Entra ID token endpoint did not "
		    "answer in time, so the credentials could not be checked "
		    "and the integration was not created; try again later.");
		o = INTEGRATIONS_NO_VERDICT;
		goto out;
	}
	if (crc != 0) {
		crypto_ring_wipe(&ring);
		log_info("%s: azure credentials refused: %s", nw->log_ctx,
		    cerr);
		invalid(err, "config", "No token could be obtained with these "
		    "credentials: check tenant_id, client_id and "
		    "client_secret.");
		goto out;
	}
	*sealed = crypto_ring_seal(&ring, secret, strlen(secret), id);
	crypto_ring_wipe(&ring);
	if (*sealed == NULL) {
		o = INTEGRATIONS_ERROR;
		goto out;
	}
	*stored = json_object_new_object();
	json_object_object_add(*stored, "tenant_id",
	    json_object_new_string(tenant));
	json_object_object_add(*stored, "client_id",
	    json_object_new_string(client));
	json_object_object_add(*stored, "subscription_ids",
	    json_object_get(arr));
	o = INTEGRATIONS_OK;
out:
	free(subs);
	return o;
}

/* The row and its audit entry in one transaction: 0 or a DB_* code. */
static int
insert_once(struct db *db, const struct integrations_new *nw, const char *id,
    json_object *stored, const char *sealed)
{
	json_object *detail;
	const char *ctext;
	char now_sql[VTIME_SQL_LEN];
	size_t clen;
	int rc;

	ctext = vjson_str(stored, &clen);
	vtime_sql(nw->now, now_sql, sizeof(now_sql));
	if ((rc = db_begin(db)) != 0)
		goto fail;
	if ((rc = db_exec(db, SQL_INTEGRATION_INSERT, (struct db_val[]){
	    DB_STR(id), DB_STR(nw->tenant_id), DB_STR(nw->type),
	    DB_STR(nw->name), DB_STRN(ctext, clen), DB_STR0(sealed),
	    DB_STR(now_sql) }, 7, NULL)) != 0)
		goto fail;
	/* The stored config: what was checked, never the secret. */
	detail = json_object_new_object();
	json_object_object_add(detail, "type",
	    json_object_new_string(nw->type));
	json_object_object_add(detail, "name",
	    json_object_new_string(nw->name));
	json_object_object_add(detail, "config", json_object_get(stored));
	if ((rc = audit_commit(db, nw->tenant_id, nw->actor,
	    "integration.create", id, detail)) != 0)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return rc;
}

/* insert runs insert_once in db_tx_run (its begin, rollback and commit join
 * that transaction), replayed whole after a deadlock or a certification
 * failure. */
struct insert_tx {
	const struct integrations_new *nw;
	const char *id;
	json_object *stored;
	const char *sealed;
	int	 r;
};

static int
insert_tx(struct db *db, void *arg)
{
	struct insert_tx *t = arg;

	t->r = insert_once(db, t->nw, t->id, t->stored, t->sealed);
	return t->r < 0 ? (int)t->r : 0;
}

static int
insert(struct db *db, const struct integrations_new *nw, const char *id,
    json_object *stored, const char *sealed)
{
	struct insert_tx t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.nw = nw;
	t.id = id;
	t.stored = stored;
	t.sealed = sealed;
	if ((rc = db_tx_run(db, insert_tx, &t)) != 0)
		return rc;
	return t.r;
}

enum integrations_outcome
integrations_create(struct db *db, const struct integrations_new *nw,
    struct integrations_err *err, struct integration **out, int *rc)
{
	enum integrations_outcome o;
	json_object *stored = NULL;
	char id[VIGIL_ID_LEN];
	char *sealed = NULL;

	*out = NULL;
	*rc = DB_ERR;
	err->field = NULL;
	err->message[0] = '\0';
	if (strcmp(nw->type, "azure") != 0 &&
	    strcmp(nw->type, "inventory") != 0) {
		invalid(err, "type", "type must be azure or inventory.");
		return INTEGRATIONS_INVALID;
	}
	if (!integrations_name_ok(nw->name, err))
		return INTEGRATIONS_INVALID;
	if (nw->config == NULL ||
	    !json_object_is_type(nw->config, json_type_object)) {
		invalid(err, "config", "config must be an object.");
		return INTEGRATIONS_INVALID;
	}
	/* The id first: an Azure secret is sealed under it. */
	if (id_new("int", id, sizeof(id)) != 0)
		return INTEGRATIONS_ERROR;
	o = strcmp(nw->type, "inventory") == 0 ?
	    inventory_config(nw, &stored, err) :
	    azure_config(nw, id, &stored, &sealed, err);
	if (o != INTEGRATIONS_OK)
		goto out;
	o = INTEGRATIONS_ERROR;
	if ((*rc = insert(db, nw, id, stored, sealed)) != 0)
		goto out;
	/* Read back what was stored, as a GET shows it. */
	if ((*rc = integrations_get(db, nw->tenant_id, id, out)) != 1) {
		*rc = *rc ? *rc : DB_ERR;
		goto out;
	}
	*rc = 0;
	o = INTEGRATIONS_OK;
out:
	json_object_put(stored);
	free(sealed);
	return o;
}

/* -- deleting -------------------------------------------------------------- */

static enum integrations_outcome
delete_once(struct db *db, const char *tenant_id, const char *id,
    const char *actor, time_t now, int *rc)
{
	char now_sql[VTIME_SQL_LEN];
	unsigned long long deleted;

	*rc = 0;
	if (!id_valid("int", id))
		return INTEGRATIONS_NOT_FOUND;
	vtime_sql(now, now_sql, sizeof(now_sql));
	if ((*rc = db_begin(db)) != 0)
		goto fail;
	if ((*rc = db_exec_affected(db, SQL_INTEGRATION_DELETE,
	    (struct db_val[]){ DB_STR(now_sql), DB_STR(tenant_id),
	    DB_STR(id) }, 3, &deleted)) != 0)
		goto fail;
	if (deleted == 0) {
		db_rollback(db);
		return INTEGRATIONS_NOT_FOUND;
	}
	if ((*rc = audit_commit(db, tenant_id, actor, "integration.delete",
	    id, NULL)) != 0)
		goto fail;
	return INTEGRATIONS_OK;
fail:
	db_rollback(db);
	return INTEGRATIONS_ERROR;
}

/* integrations_delete runs delete_once in db_tx_run (its begin, rollback
 * and commit join that transaction), replayed whole after a deadlock or a
 * certification failure; each run starts from the inputs. */
struct delete_tx {
	const char *tenant_id;
	const char *id;
	const char *actor;
	time_t	now;
	enum integrations_outcome	 o;
	int	 rc;
};

static int
delete_tx(struct db *db, void *arg)
{
	struct delete_tx *t = arg;

	t->rc = 0;
	t->o = delete_once(db, t->tenant_id, t->id, t->actor, t->now, &t->rc);
	if (t->o == INTEGRATIONS_OK)
		return 0;
	if (t->o == INTEGRATIONS_ERROR)
		return t->rc != 0 ? t->rc : DB_ERR;
	return 1;
}

enum integrations_outcome
integrations_delete(struct db *db, const char *tenant_id, const char *id,
    const char *actor, time_t now, int *rc)
{
	struct delete_tx t;
	int r;

	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.id = id;
	t.actor = actor;
	t.now = now;
	t.o = INTEGRATIONS_ERROR;
	r = db_tx_run(db, delete_tx, &t);
	*rc = r < 0 ? r : 0;
	if (r < 0) {
		t.o = INTEGRATIONS_ERROR;
	}
	return t.o;
}
