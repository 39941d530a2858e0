/* audit.c: append-only, hash-chained audit entries. */
#include "vigil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "id.h"
#include "vjson.h"
#include "vtime.h"

void
audit_hash(const char *prev_hash, long long seq, const char *at,
    const char *actor, const char *action, const char *object,
    const char *detail, char out[65])
{
	json_object *a = json_object_new_array();
	const char *s;
	size_t len;

	json_object_array_add(a, json_object_new_string(prev_hash));
	json_object_array_add(a, json_object_new_int64(seq));
	json_object_array_add(a, json_object_new_string(at));
	json_object_array_add(a, json_object_new_string(actor));
	json_object_array_add(a, json_object_new_string(action));
	json_object_array_add(a, json_object_new_string(object));
	json_object_array_add(a, json_object_new_string(detail));
	s = vjson_str(a, &len);
	crypto_sha256_hex(s, len, out);
	json_object_put(a);
}

int
audit_append(struct db *db, const char *tenant_id, const char *actor,
    const char *action, const char *object, json_object *detail)
{
	struct db_res *res = NULL;
	char id[VIGIL_ID_LEN], at[VTIME_SQL_LEN], hash[65], prev[65];
	const char *d;
	long long seq = 1;
	size_t dlen;
	int rc;

	/* Serialise appends per tenant on the tenant row, so that two
	 * writers never take the same sequence number. */
	rc = db_exec(db, SQL_KEY_LOCK_TENANT,
	    (struct db_val[]){ DB_STR(tenant_id) }, 1, NULL);
	if (rc != 0)
		return rc;
	rc = db_exec(db, SQL_AUDIT_LAST,
	    (struct db_val[]){ DB_STR(tenant_id) }, 1, &res);
	if (rc != 0)
		return rc;
	snprintf(prev, sizeof(prev), "%s", AUDIT_GENESIS);
	if (res->nrows > 0 && db_cell(res, 0, 1) != NULL) {
		seq = db_cell_int(res, 0, 0) + 1;
		snprintf(prev, sizeof(prev), "%s", db_cell(res, 0, 1));
	}
	db_res_free(res);

	d = detail ? vjson_str(detail, &dlen) : "{}";
	vtime_sql(time(NULL), at, sizeof(at));
	audit_hash(prev, seq, at, actor, action, object, d, hash);
	if (id_new("aud", id, sizeof(id)) != 0)
		return DB_ERR;
	return db_exec(db, SQL_AUDIT_INSERT, (struct db_val[]){
	    DB_STR(id), DB_STR(tenant_id), DB_INT(seq), DB_STR(at),
	    DB_STR(actor), DB_STR(action), DB_STR(object), DB_STR(d),
	    DB_STR(prev), DB_STR(hash) }, 10, NULL);
}
