/* idempotency.c: Idempotency-Key claims and stored answers in the
 * database (idempotency.h). A claim is an INSERT on the (tenant, key)
 * primary key, so two workers on two hosts racing with one key get one
 * winner; the loser reads the winner's row and is told what it is. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "idempotency.h"
#include "log.h"
#include "vtime.h"

/* The columns of db.c's IDEM_COLS (SQL_IDEM_GET). */
enum { IDEM_COL_KEY_ID, IDEM_COL_TARGET, IDEM_COL_BODY_HASH, IDEM_COL_STATE,
    IDEM_COL_STATUS, IDEM_COL_HEADERS, IDEM_COL_BODY, IDEM_COL_WITHHELD,
    IDEM_COL_CREATED, IDEM_COL_BODY_LEN };

int
idempotency_key_valid(const char *key)
{
	size_t n;

	if (key == NULL)
		return 0;
	for (n = 0; key[n] != '\0'; n++)
		if ((unsigned char)key[n] < 0x21 ||
		    (unsigned char)key[n] > 0x7e)
			return 0;
	return n >= 1 && n <= IDEMPOTENCY_KEY_MAX;
}

void
idempotency_target_hash(const char *method, const char *path,
    const char *query, char hex[65])
{
	struct buf b;

	/* NUL-separated: no method, path and query run into another's. */
	buf_init(&b, 16 + 2 * 8192 + 16);
	buf_append(&b, method, strlen(method) + 1);
	buf_append(&b, path, strlen(path) + 1);
	buf_append(&b, query ? query : "", query ? strlen(query) : 0);
	crypto_sha256_hex(b.data ? b.data : "", b.len, hex);
	buf_free(&b);
}

void
idempotency_body_hash(const char *body, size_t len, char hex[65])
{
	crypto_sha256_hex(body ? body : "", body ? len : 0, hex);
}

void
idempotency_stream_hash(long long length, char hex[65])
{
	char s[48];

	snprintf(s, sizeof(s), "streamed %lld", length);
	crypto_sha256_hex(s, strlen(s), hex);
}

void
idempotency_stored_free(struct idempotency_stored *s)
{
	if (s == NULL)
		return;
	free(s->headers);
	free(s->body);
	memset(s, 0, sizeof(*s));
	s->stream_len = -1;
}

/* A copy of cell (row 0, col) of res with its length; NULL cell: NULL. -1
 * if out of memory. */
static int
cell_dup(const struct db_res *res, size_t col, char **out, size_t *len)
{
	const char *s = db_cell(res, 0, col);
	size_t n;

	*out = NULL;
	*len = 0;
	if (s == NULL)
		return 0;
	n = res->lens[col];
	if ((*out = malloc(n + 1)) == NULL)
		return -1;
	memcpy(*out, s, n);
	(*out)[n] = '\0';
	*len = n;
	return 0;
}

/* The answer of row 0 of res into out: IDEMPOTENCY_REPLAY, or
 * IDEMPOTENCY_DB_ERROR when out of memory. */
static enum idempotency_outcome
stored_answer(const struct db_res *res, struct idempotency_stored *out)
{
	out->status = (int)db_cell_int(res, 0, IDEM_COL_STATUS);
	out->withheld = db_cell_int(res, 0, IDEM_COL_WITHHELD) != 0;
	if (cell_dup(res, IDEM_COL_HEADERS, &out->headers,
	    &out->headers_len) != 0 ||
	    cell_dup(res, IDEM_COL_BODY, &out->body, &out->body_len) != 0)
		return IDEMPOTENCY_DB_ERROR;
	return IDEMPOTENCY_REPLAY;
}

/* 1 if the row may be taken over by req at now: older than the TTL
 * (whatever it was), or an abandoned claim of this very request. */
static int
takeover(const struct db_res *res, const struct idempotency_req *req,
    time_t now)
{
	time_t at;

	if (vtime_parse_sql(db_cell(res, 0, IDEM_COL_CREATED), &at) != 0)
		return 0;
	if (at <= now - IDEMPOTENCY_TTL)
		return 1;
	return at <= now - IDEMPOTENCY_STALE &&
	    strcmp(db_cell(res, 0, IDEM_COL_STATE), "running") == 0 &&
	    strcmp(db_cell(res, 0, IDEM_COL_KEY_ID), req->key_id) == 0 &&
	    strcmp(db_cell(res, 0, IDEM_COL_TARGET), req->target_hash) == 0 &&
	    strcmp(db_cell(res, 0, IDEM_COL_BODY_HASH), req->body_hash) == 0;
}

enum idempotency_outcome
idempotency_begin(struct db *db, const struct idempotency_req *req,
    time_t now, struct idempotency_stored *out, int *rc)
{
	struct db_res *res = NULL;
	unsigned long long n;
	char now_sql[VTIME_SQL_LEN];
	enum idempotency_outcome oc = IDEMPOTENCY_DB_ERROR;
	int attempt;

	memset(out, 0, sizeof(*out));
	out->stream_len = -1;
	*rc = 0;
	vtime_sql(now, now_sql, sizeof(now_sql));
	/* A row can vanish between the failed INSERT and the read (its
	 * request answered 5xx and released it): then claim again. */
	for (attempt = 0; attempt < 3; attempt++) {
		*rc = db_exec(db, SQL_IDEM_CLAIM, (struct db_val[]){
		    DB_STR(req->tenant_id), DB_STR(req->key),
		    DB_STR(req->key_id), DB_STR(req->target_hash),
		    DB_STR(req->body_hash), DB_STR(now_sql) }, 6, NULL);
		if (*rc == 0) {
			snprintf(out->claimed_at, sizeof(out->claimed_at),
			    "%s", now_sql);
			return IDEMPOTENCY_PROCEED;
		}
		if (*rc != DB_DUP)
			return IDEMPOTENCY_DB_ERROR;
		db_res_free(res);
		res = NULL;
		if ((*rc = db_exec(db, SQL_IDEM_GET, (struct db_val[]){
		    DB_STR(req->tenant_id), DB_STR(req->key) }, 2,
		    &res)) != 0)
			goto out;
		if (res->nrows != 1)
			continue;
		if (takeover(res, req, now)) {
			if ((*rc = db_exec_affected(db, SQL_IDEM_TAKEOVER,
			    (struct db_val[]){ DB_STR(req->key_id),
			    DB_STR(req->target_hash), DB_STR(req->body_hash),
			    DB_STR(now_sql), DB_STR(req->tenant_id),
			    DB_STR(req->key),
			    DB_STR(db_cell(res, 0, IDEM_COL_CREATED)),
			    DB_STR(db_cell(res, 0, IDEM_COL_STATE)) }, 8,
			    &n)) != 0)
				goto out;
			if (n == 1) {
				snprintf(out->claimed_at,
				    sizeof(out->claimed_at), "%s", now_sql);
				oc = IDEMPOTENCY_PROCEED;
				goto out;
			}
			continue;
		}
		/* Another API key's use says nothing more about it. */
		if (strcmp(db_cell(res, 0, IDEM_COL_KEY_ID), req->key_id) != 0)
			oc = IDEMPOTENCY_OTHER_KEY;
		else if (strcmp(db_cell(res, 0, IDEM_COL_TARGET),
		    req->target_hash) != 0)
			oc = IDEMPOTENCY_OTHER_TARGET;
		else if (req->streamed && db_cell(res, 0,
		    IDEM_COL_BODY_LEN) != NULL &&
		    strcmp(db_cell(res, 0, IDEM_COL_STATE), "done") == 0) {
			/* Answered, with the bytes' hash in place of the
			 * length's: the caller reads the retry's bytes. */
			snprintf(out->stream_hash, sizeof(out->stream_hash),
			    "%s", db_cell(res, 0, IDEM_COL_BODY_HASH));
			out->stream_len = db_cell_int(res, 0,
			    IDEM_COL_BODY_LEN);
			if ((oc = stored_answer(res, out)) != IDEMPOTENCY_REPLAY)
				*rc = DB_ERR;
		} else if (strcmp(db_cell(res, 0, IDEM_COL_BODY_HASH),
		    req->body_hash) != 0)
			oc = IDEMPOTENCY_OTHER_BODY;
		else if (strcmp(db_cell(res, 0, IDEM_COL_STATE), "running") == 0)
			oc = IDEMPOTENCY_IN_PROGRESS;
		else if ((oc = stored_answer(res, out)) != IDEMPOTENCY_REPLAY)
			*rc = DB_ERR;
		goto out;
	}
	/* Claimed and released three times over by others meanwhile. */
	oc = IDEMPOTENCY_IN_PROGRESS;
out:
	db_res_free(res);
	return oc;
}

int
idempotency_finish(struct db *db, const struct idempotency_req *req,
    const struct idempotency_stored *claim, int status, const char *headers,
    size_t hlen, const char *body, size_t blen, int withheld,
    const char *stream_hash, long long stream_len)
{
	unsigned long long n;
	int rc;

	/* A streamed body's claim held its length's hash: the bytes' hash
	 * takes its place, with their count. */
	if ((rc = db_exec_affected(db, SQL_IDEM_FINISH, (struct db_val[]){
	    DB_INT(status), DB_STRN(headers ? headers : "", headers ? hlen : 0),
	    withheld ? DB_NUL : DB_STRN(body ? body : "", body ? blen : 0),
	    DB_INT(withheld ? 1 : 0),
	    DB_STR(stream_hash != NULL ? stream_hash : req->body_hash),
	    stream_hash != NULL ? DB_INT(stream_len) : DB_NUL,
	    DB_STR(req->tenant_id), DB_STR(req->key),
	    DB_STR(claim->claimed_at), DB_STR(req->key_id),
	    DB_STR(req->target_hash), DB_STR(req->body_hash) }, 12,
	    &n)) != 0)
		return rc;
	if (n != 1)
		log_warn("idempotency key of tenant %s: the claim was taken "
		    "over before its answer was stored", req->tenant_id);
	return 0;
}

int
idempotency_release(struct db *db, const struct idempotency_req *req,
    const struct idempotency_stored *claim)
{
	unsigned long long n;

	return db_exec_affected(db, SQL_IDEM_RELEASE, (struct db_val[]){
	    DB_STR(req->tenant_id), DB_STR(req->key),
	    DB_STR(claim->claimed_at), DB_STR(req->key_id),
	    DB_STR(req->target_hash), DB_STR(req->body_hash) }, 6, &n);
}

int
idempotency_prune(struct db *db, time_t now, long long *n)
{
	char horizon[VTIME_SQL_LEN];

	*n = 0;
	vtime_sql(now - IDEMPOTENCY_TTL, horizon, sizeof(horizon));
	return db_exec_drain(db, SQL_IDEM_PRUNE, (struct db_val[]){
	    DB_STR(horizon) }, 1, 5000, n);
}
