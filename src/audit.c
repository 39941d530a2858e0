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

void
audit_chain_init(struct audit_chain *c)
{
	c->seq = 0;
	snprintf(c->hash, sizeof(c->hash), "%s", AUDIT_GENESIS);
	c->id[0] = '\0';
}

static int
row_complete(const struct audit_row *r)
{
	return r->prev_hash != NULL && r->hash != NULL && r->at != NULL &&
	    r->actor != NULL && r->action != NULL && r->object != NULL &&
	    r->detail != NULL;
}

static void
row_hash(const struct audit_row *r, long long seq, char out[65])
{
	audit_hash(r->prev_hash, seq, r->at, r->actor, r->action, r->object,
	    r->detail, out);
}

static int
problem(struct audit_problem *out, enum audit_problem_kind kind,
    const struct audit_row *r)
{
	memset(out, 0, sizeof(*out));
	out->kind = kind;
	if (r != NULL) {
		snprintf(out->id, sizeof(out->id), "%s", r->id ? r->id : "");
		out->seq = r->seq;
	}
	return 1;
}

/* A row whose hash fails: was it written at another seq of this batch
 * (moved), or changed? Trying the other seqs costs one hash per row, and
 * only once, at the first failure. */
static int
bad_row(const struct audit_row *rows, size_t n, size_t i,
    struct audit_problem *out)
{
	char h[65];
	size_t j;

	for (j = 0; j < n; j++) {
		if (j == i || rows[j].seq == rows[i].seq)
			continue;
		row_hash(&rows[i], rows[j].seq, h);
		if (strcmp(h, rows[i].hash) == 0) {
			problem(out, AUDIT_REORDERED, &rows[i]);
			out->written_as = rows[j].seq;
			return 1;
		}
	}
	return problem(out, AUDIT_MODIFIED, &rows[i]);
}

/* rows[i] comes after a gap in seq: the missing entry was deleted, unless
 * a later row of the batch was written at the first missing seq (then it
 * was moved away from there). */
static int
gap(const struct audit_chain *chain, const struct audit_row *rows, size_t n,
    size_t i, struct audit_problem *out)
{
	char h[65];
	size_t j;

	for (j = i + 1; j < n; j++) {
		if (!row_complete(&rows[j]))
			continue;
		if (rows[j].seq == chain->seq + 1)
			/* There, just not in order: only a caller that did
			 * not sort by seq does this. */
			return problem(out, AUDIT_REORDERED, &rows[j]);
		row_hash(&rows[j], chain->seq + 1, h);
		if (strcmp(h, rows[j].hash) == 0) {
			problem(out, AUDIT_REORDERED, &rows[j]);
			out->written_as = chain->seq + 1;
			return 1;
		}
	}
	problem(out, AUDIT_DELETED, &rows[i]);
	out->missing_from = chain->seq + 1;
	out->missing_to = rows[i].seq - 1;
	return 1;
}

int
audit_verify_rows(struct audit_chain *chain, const struct audit_row *rows,
    size_t n, struct audit_problem *out)
{
	char h[65];
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		const struct audit_row *r = &rows[i];

		if (!row_complete(r))
			return problem(out, AUDIT_MODIFIED, r);
		/* 1. The row against its own hash: content edited in place,
		 * or a row moved to another seq (seq is hashed). */
		row_hash(r, r->seq, h);
		if (strcmp(h, r->hash) != 0)
			return bad_row(rows, n, i, out);
		/* 2. Its place in the sequence. */
		if (r->seq <= chain->seq)
			return problem(out, AUDIT_REORDERED, r);
		if (r->seq > chain->seq + 1)
			return gap(chain, rows, n, i, out);
		/* 3. The link: a self-consistent row that does not chain onto
		 * its predecessor means the predecessor was edited and its
		 * hash recomputed (or this row's prev_hash was). */
		if (strcmp(r->prev_hash, chain->hash) != 0) {
			if (chain->seq == 0)
				return problem(out, AUDIT_MODIFIED, r);
			problem(out, AUDIT_MODIFIED, NULL);
			snprintf(out->id, sizeof(out->id), "%s", chain->id);
			out->seq = chain->seq;
			return 1;
		}
		chain->seq = r->seq;
		snprintf(chain->hash, sizeof(chain->hash), "%s", r->hash);
		snprintf(chain->id, sizeof(chain->id), "%s", r->id ? r->id : "");
	}
	return 0;
}

void
audit_problem_str(const struct audit_problem *p, char *buf, size_t bufsz)
{
	const char *id = p->id[0] ? p->id : "(previous batch)";

	switch (p->kind) {
	case AUDIT_INTACT:
		snprintf(buf, bufsz, "intact");
		break;
	case AUDIT_MODIFIED:
		snprintf(buf, bufsz, "entry %s (seq %lld) was modified", id,
		    p->seq);
		break;
	case AUDIT_DELETED:
		if (p->missing_from == p->missing_to)
			snprintf(buf, bufsz, "entry seq %lld was deleted "
			    "(before entry %s, seq %lld)", p->missing_from, id,
			    p->seq);
		else
			snprintf(buf, bufsz, "entries seq %lld to %lld were "
			    "deleted (before entry %s, seq %lld)",
			    p->missing_from, p->missing_to, id, p->seq);
		break;
	case AUDIT_REORDERED:
		if (p->written_as > 0)
			snprintf(buf, bufsz, "entry %s (seq %lld) was moved: "
			    "it was written as seq %lld", id, p->seq,
			    p->written_as);
		else
			snprintf(buf, bufsz, "entry %s (seq %lld) is out of "
			    "order", id, p->seq);
		break;
	}
}
