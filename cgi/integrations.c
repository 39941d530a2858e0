/* integrations.c: POST/GET /api/v1/integrations and DELETE
 * /api/v1/integrations/{id}: where a tenant's resources come from. An
 * Azure client secret is sealed with AES-256-GCM (aad: the integration
 * id) under the key in vigil.conf's secret_key_file, and never returned
 * or logged. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "audit.h"
#include "azure.h"
#include "conf.h"
#include "connector.h"
#include "crypto.h"
#include "db.h"
#include "id.h"
#include "log.h"
#include "scan.h"
#include "vjson.h"
#include "vtime.h"

#define INTEGRATIONS_NAME_CHARS   100
#define INTEGRATIONS_PATH_MAX     1024
#define INTEGRATIONS_SECRET_MAX   1024
#define INTEGRATIONS_SUBS_MAX     100

static void
bad(struct request *r, const char *field, const char *msg)
{
	response_error(r, 400, "invalid_request", msg, field);
}

static void
not_found(struct request *r)
{
	response_error(r, 404, "not_found", "No such integration.", "id");
}

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

/* Validate an inventory config into *stored (a new object without
 * anything secret). 0, or -1 after a 400. */
static int
inventory_args(struct request *r, json_object *cfg, json_object **stored)
{
	static const char *const allowed[] = { "path", NULL };
	struct vjson_err e;
	const char *path;
	char err[512];

	if (vjson_only_keys(cfg, allowed, &e) != 0 ||
	    vjson_get_string(cfg, "path", 1, 1, INTEGRATIONS_PATH_MAX, &path,
	    &e) < 0) {
		bad(r, "config", e.message);
		return -1;
	}
	if (connector_inventory_check(path, err, sizeof(err)) != 0) {
		log_info("req=%s: inventory check failed: %s", r->id, err);
		bad(r, "config", "config.path must be an absolute path to a "
		    "directory the server can read.");
		return -1;
	}
	*stored = json_object_new_object();
	json_object_object_add(*stored, "path", json_object_new_string(path));
	return 0;
}

/* Validate an Azure config, obtain a token with it, and seal the secret
 * into *sealed (caller frees) under the new integration's id. *stored is
 * the config without the secret. 0, or -1 after the reply. */
static int
azure_args(struct request *r, json_object *cfg, const char *id,
    json_object **stored, char **sealed)
{
	static const char *const allowed[] = { "tenant_id", "client_id",
	    "client_secret", "subscription_ids", NULL };
	const char *tenant, *client, *secret, **subs = NULL;
	struct azure_config az;
	struct vjson_err e;
	json_object *arr;
	unsigned char key[32];
	char err[512];
	size_t i, n;
	int rc = -1, crc;

	*stored = NULL;
	*sealed = NULL;
	if (vjson_only_keys(cfg, allowed, &e) != 0 ||
	    vjson_get_string(cfg, "tenant_id", 1, 1, 128, &tenant, &e) < 0 ||
	    vjson_get_string(cfg, "client_id", 1, 1, 128, &client, &e) < 0 ||
	    vjson_get_string(cfg, "client_secret", 1, 1,
	    INTEGRATIONS_SECRET_MAX, &secret, &e) < 0 ||
	    vjson_get_string_array(cfg, "subscription_ids", 1,
	    INTEGRATIONS_SUBS_MAX, 128, &arr, &e) < 0) {
		bad(r, "config", e.message);
		return -1;
	}
	n = json_object_array_length(arr);
	if (!azure_valid_segment(tenant) || !azure_valid_segment(client)) {
		bad(r, "config", "config.tenant_id and config.client_id must be "
		    "1 to 128 of A-Z, a-z, 0-9, '.', '-' and '_'.");
		return -1;
	}
	if (n == 0) {
		bad(r, "config", "config.subscription_ids must name at least "
		    "one subscription.");
		return -1;
	}
	if ((subs = calloc(n, sizeof(*subs))) == NULL) {
		api_db_error(r, DB_ERR);
		return -1;
	}
	for (i = 0; i < n; i++) {
		subs[i] = json_object_get_string(json_object_array_get_idx(arr,
		    i));
		if (!azure_valid_segment(subs[i])) {
			bad(r, "config", "config.subscription_ids must be "
			    "subscription ids.");
			goto out;
		}
	}
	/* Refuse before asking Azure: a secret that cannot be sealed must
	 * not be accepted. */
	if (g_conf.secret_key_file[0] == '\0') {
		bad(r, "config", "The server has no secret_key_file configured, "
		    "so it cannot store a client secret; ask the operator.");
		goto out;
	}
	if (crypto_load_key(g_conf.secret_key_file, key, err,
	    sizeof(err)) != 0) {
		log_err("req=%s: secret_key_file: %s", r->id, err);
		api_db_error(r, DB_ERR);
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
	if ((crc = connector_azure_check(&az, err, sizeof(err))) == -2) {
		/* Nothing was judged: not the client's mistake, and worth
		 * another try later. */
		crypto_wipe(key, sizeof(key));
		log_warn("req=%s: azure credential check: no verdict: %s",
		    r->id, err);
		response_error(r, 503, "service_unavailable", "The Entra ID "
		    "token endpoint did not answer in time, so the credentials "
		    "could not be checked and the integration was not "
		    "created; try again later.", "config");
		response_header(r, "Retry-After", "%d", 30);
		goto out;
	}
	if (crc != 0) {
		crypto_wipe(key, sizeof(key));
		log_info("req=%s: azure credentials refused: %s", r->id, err);
		bad(r, "config", "No token could be obtained with these "
		    "credentials: check tenant_id, client_id and "
		    "client_secret.");
		goto out;
	}
	*sealed = crypto_seal(key, secret, strlen(secret), id);
	crypto_wipe(key, sizeof(key));
	if (*sealed == NULL) {
		api_db_error(r, DB_ERR);
		goto out;
	}
	*stored = json_object_new_object();
	json_object_object_add(*stored, "tenant_id",
	    json_object_new_string(tenant));
	json_object_object_add(*stored, "client_id",
	    json_object_new_string(client));
	json_object_object_add(*stored, "subscription_ids",
	    json_object_get(arr));
	rc = 0;
out:
	free(subs);
	return rc;
}

static void
integrations_create(struct request *r, struct db *db)
{
	static const char *const allowed[] = { "type", "name", "config",
	    NULL };
	struct db_res *res = NULL;
	struct vjson_err e;
	json_object *cfg, *stored = NULL, *detail, *root;
	const char *type = NULL, *name = NULL, *ctext;
	char id[VIGIL_ID_LEN], actor[128], now_sql[VTIME_SQL_LEN];
	char *sealed = NULL;
	size_t clen;
	int rc;

	if (vjson_only_keys(r->json, allowed, &e) != 0 ||
	    vjson_get_string(r->json, "type", 1, 1, 16, &type, &e) < 0 ||
	    vjson_get_string(r->json, "name", 1, 1, 400, &name, &e) < 0) {
		bad(r, e.field, e.message);
		return;
	}
	if (strcmp(type, "azure") != 0 && strcmp(type, "inventory") != 0) {
		bad(r, "type", "type must be azure or inventory.");
		return;
	}
	if (utf8_chars(name) > INTEGRATIONS_NAME_CHARS) {
		bad(r, "name", "name must be 1 to 100 characters long.");
		return;
	}
	if (!json_object_object_get_ex(r->json, "config", &cfg) ||
	    !json_object_is_type(cfg, json_type_object)) {
		bad(r, "config", "config must be an object.");
		return;
	}
	if (id_new("int", id, sizeof(id)) != 0) {
		api_db_error(r, DB_ERR);
		return;
	}
	if (strcmp(type, "inventory") == 0 ?
	    inventory_args(r, cfg, &stored) != 0 :
	    azure_args(r, cfg, id, &stored, &sealed) != 0)
		return;
	ctext = vjson_str(stored, &clen);
	vtime_sql(time(NULL), now_sql, sizeof(now_sql));
	auth_actor(r, actor, sizeof(actor));
	if ((rc = db_begin(db)) != 0)
		goto dberr;
	if ((rc = db_exec(db, SQL_INTEGRATION_INSERT, (struct db_val[]){
	    DB_STR(id), DB_STR(r->auth.tenant_id), DB_STR(type), DB_STR(name),
	    DB_STRN(ctext, clen), DB_STR0(sealed), DB_STR(now_sql) }, 7,
	    NULL)) != 0)
		goto dberr;
	detail = json_object_new_object();
	json_object_object_add(detail, "type", json_object_new_string(type));
	json_object_object_add(detail, "name", json_object_new_string(name));
	json_object_object_add(detail, "config", json_object_get(stored));
	rc = audit_append(db, r->auth.tenant_id, actor, "integration.create",
	    id, detail);
	json_object_put(detail);
	if (rc != 0 || (rc = db_commit(db)) != 0)
		goto dberr;
	if ((rc = db_exec(db, SQL_INTEGRATION_GET_TENANT, (struct db_val[]){
	    DB_STR(r->auth.tenant_id), DB_STR(id) }, 2, &res)) != 0 ||
	    res->nrows != 1) {
		rc = rc ? rc : DB_ERR;
		goto dberr;
	}
	root = scan_integration_to_json(res, 0);
	db_res_free(res);
	json_object_put(stored);
	free(sealed);
	response_json(r, 201, root);
	return;
dberr:
	db_res_free(res);
	db_rollback(db);
	json_object_put(stored);
	free(sealed);
	api_db_error(r, rc);
}

static void
integrations_list(struct request *r, struct db *db)
{
	long limit;

	if (params_list(r, &limit) != 0)
		return;
	params_id_page(r, db, limit, &(struct params_id_list){
	    "integrations", "int", "", SQL_INTEGRATION_LIST,
	    SQL_INTEGRATION_COUNT, (struct db_val[]){
	    DB_STR(r->auth.tenant_id) }, 1, scan_integration_to_json, 0 });
}

/* Soft delete: the integration stops being scanned; its findings stay. */
static void
integrations_delete(struct request *r, struct db *db)
{
	struct db_res *res = NULL;
	json_object *root;
	const char *id = r->pathvars[0];
	char actor[128], now_sql[VTIME_SQL_LEN], now_rfc[VTIME_RFC3339_LEN];
	time_t now = time(NULL);
	int rc;

	if (!id_valid("int", id)) {
		not_found(r);
		return;
	}
	vtime_sql(now, now_sql, sizeof(now_sql));
	auth_actor(r, actor, sizeof(actor));
	if ((rc = db_begin(db)) != 0)
		goto dberr;
	if ((rc = db_exec(db, SQL_INTEGRATION_DELETE, (struct db_val[]){
	    DB_STR(now_sql), DB_STR(r->auth.tenant_id), DB_STR(id) }, 3,
	    &res)) != 0)
		goto dberr;
	if (res->affected == 0) {
		db_res_free(res);
		db_rollback(db);
		not_found(r);
		return;
	}
	db_res_free(res);
	res = NULL;
	if ((rc = audit_append(db, r->auth.tenant_id, actor,
	    "integration.delete", id, NULL)) != 0 ||
	    (rc = db_commit(db)) != 0)
		goto dberr;
	vtime_rfc3339(now, now_rfc, sizeof(now_rfc));
	root = json_object_new_object();
	json_object_object_add(root, "id", json_object_new_string(id));
	json_object_object_add(root, "deleted", json_object_new_boolean(1));
	json_object_object_add(root, "deleted_at",
	    json_object_new_string(now_rfc));
	response_json(r, 200, root);
	return;
dberr:
	db_res_free(res);
	db_rollback(db);
	api_db_error(r, rc);
}

const struct route integrations_routes[] = {
	{ "GET", "/api/v1/integrations", SCOPE_READ, 0, integrations_list },
	{ "POST", "/api/v1/integrations", SCOPE_ADMIN, ROUTE_JSON_BODY,
	    integrations_create },
	{ "DELETE", "/api/v1/integrations/{id}", SCOPE_ADMIN, 0,
	    integrations_delete },
};
const size_t integrations_nroutes = NELEM(integrations_routes);
