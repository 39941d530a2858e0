/*
 * attachments.c: a case's attachments. An upload is one transaction
 * (see attachments.h): the row, the chunks as they come, then the
 * completion with its timeline and audit entries; the bytes pass through
 * one chunk-sized buffer and an incremental SHA-256, never gathered.
 * Reads serve 'complete' rows only and fetch one chunk per statement, so
 * a download is never held whole either.
 */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attachments.h"
#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "id.h"
#include "page.h"
#include "text.h"
#include "vjson.h"
#include "vtime.h"

/* ATTACHMENT_COLS in db.c */
enum {
	ATTACHMENT_COL_SEQ,
	ATTACHMENT_COL_ID,
	ATTACHMENT_COL_CASE_ID,
	ATTACHMENT_COL_NAME,
	ATTACHMENT_COL_TYPE,
	ATTACHMENT_COL_SIZE,
	ATTACHMENT_COL_SHA256,
	ATTACHMENT_COL_BY,
	ATTACHMENT_COL_AT
};

struct attachments_upload {
	struct db	*db;
	char		 tenant_id[VIGIL_ID_LEN];
	char		 case_id[VIGIL_ID_LEN];
	char		 id[VIGIL_ID_LEN];
	char		 name[ATTACHMENTS_NAME_MAX + 1];
	char		 ctype[ATTACHMENTS_TYPE_MAX + 1];
	char		 actor[256];
	time_t		 now;
	long long	 size, max;
	long		 n;		/* chunks written */
	EVP_MD_CTX	*sha;
	char		*buf;		/* ATTACHMENTS_CHUNK */
	size_t		 len;
};

enum attachments_name_err
attachments_name(const char *raw, size_t len, char *out, size_t outsz)
{
	size_t i, start = 0;

	out[0] = '\0';
	if (memchr(raw, '\0', len) != NULL)
		return ATTACHMENTS_NAME_CONTROL;
	for (i = 0; i < len; i++)
		if (raw[i] == '/' || raw[i] == '\\')
			start = i + 1;
	raw += start;
	len -= start;
	if (len == 0 || (len == 1 && raw[0] == '.') ||
	    (len == 2 && raw[0] == '.' && raw[1] == '.'))
		return ATTACHMENTS_NAME_EMPTY;
	if (!vjson_utf8_valid(raw, len))
		return ATTACHMENTS_NAME_UTF8;
	if (text_control(raw, len, 0) < len)
		return ATTACHMENTS_NAME_CONTROL;
	if (len > ATTACHMENTS_NAME_MAX || len >= outsz)
		return ATTACHMENTS_NAME_LONG;
	memcpy(out, raw, len);
	out[len] = '\0';
	return ATTACHMENTS_NAME_OK;
}

static int
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int
attachments_type(const char *raw, char *out, size_t outsz)
{
	size_t i, n = 0, slash = 0;

	while (*raw == ' ' || *raw == '\t')
		raw++;
	if (*raw == '\0') {
		snprintf(out, outsz, "application/octet-stream");
		return 0;
	}
	for (i = 0; raw[i] != '\0' && raw[i] != ';' && raw[i] != ' ' &&
	    raw[i] != '\t'; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c == '/') {
			if (slash != 0 || i == 0)
				return -1;
			slash = i;
		} else if (!is_tchar(c))
			return -1;
		if (n + 1 >= outsz || n >= ATTACHMENTS_TYPE_MAX)
			return -1;
		out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[n] = '\0';
	/* Whatever follows must be parameters, which are dropped. */
	while (raw[i] == ' ' || raw[i] == '\t')
		i++;
	if (slash == 0 || slash + 1 == n || (raw[i] != '\0' && raw[i] != ';'))
		return -1;
	return 0;
}

const char *
attachments_serve_type(const char *declared)
{
	static const char *const inert[] = {
		"text/plain", "text/csv", "application/json", "application/pdf",
		"image/png", "image/jpeg", "image/gif", "image/webp",
		"application/zip", "application/gzip",
	};
	size_t i;

	for (i = 0; i < NELEM(inert); i++)
		if (strcmp(declared, inert[i]) == 0)
			return inert[i];
	return "application/octet-stream";
}

/* RFC 8187's attr-char. */
static int
is_attr_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != '\0' &&
	    strchr("!#$&+-.^_`|~", c) != NULL);
}

void
attachments_disposition(const char *name, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t n;

	n = (size_t)snprintf(out, outsz, "attachment; filename=\"");
	for (p = (const unsigned char *)name; *p != '\0' && n + 1 < outsz;
	    p++) {
		if (*p >= 0x80 && *p < 0xc0)
			continue;	/* one '_' per character, not byte */
		out[n++] = (*p >= 0x20 && *p < 0x7f && *p != '"' &&
		    *p != '\\' && *p != '%') ? (char)*p : '_';
	}
	if (n + 1 < outsz)
		n += (size_t)snprintf(out + n, outsz - n,
		    "\"; filename*=UTF-8''");
	for (p = (const unsigned char *)name; *p != '\0' && n + 3 < outsz;
	    p++) {
		if (is_attr_char(*p))
			out[n++] = (char)*p;
		else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	if (n >= outsz)
		n = outsz - 1;
	out[n] = '\0';
}

int
attachments_case(struct db *db, const char *tenant_id, const char *case_id)
{
	struct db_res *res = NULL;
	int rc;

	if (!id_valid("case", case_id))
		return 0;
	if ((rc = db_exec(db, SQL_ATTACHMENT_CASE, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(case_id) }, 2, &res)) != 0)
		return rc;
	rc = res->nrows > 0;
	db_res_free(res);
	return rc;
}

/* An upload's memory, its transaction already ended. */
static void
upload_free(struct attachments_upload *up)
{
	if (up == NULL)
		return;
	EVP_MD_CTX_free(up->sha);
	free(up->buf);
	free(up);
}

enum attachments_outcome
attachments_begin(struct db *db, const char *tenant_id, const char *case_id,
    const char *name, const char *ctype, const char *actor, long long max,
    time_t now, struct attachments_upload **out, int *rc)
{
	struct attachments_upload *up;
	char now_sql[VTIME_SQL_LEN];

	*out = NULL;
	*rc = 0;
	if ((up = calloc(1, sizeof(*up))) == NULL ||
	    (up->buf = malloc(ATTACHMENTS_CHUNK)) == NULL ||
	    (up->sha = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(up->sha, EVP_sha256(), NULL) != 1 ||
	    id_new("att", up->id, sizeof(up->id)) != 0) {
		upload_free(up);
		*rc = DB_ERR;
		return ATTACHMENTS_DB_ERROR;
	}
	up->db = db;
	snprintf(up->tenant_id, sizeof(up->tenant_id), "%s", tenant_id);
	snprintf(up->case_id, sizeof(up->case_id), "%s", case_id);
	snprintf(up->name, sizeof(up->name), "%s", name);
	snprintf(up->ctype, sizeof(up->ctype), "%s", ctype);
	snprintf(up->actor, sizeof(up->actor), "%s", actor);
	up->now = now;
	up->max = max;
	vtime_sql(now, now_sql, sizeof(now_sql));
	/* No lock yet: the rows written until attachments_finish are new
	 * ones nobody else can see, so a slow upload holds up no one. */
	if ((*rc = db_begin(db)) != 0)
		goto fail;
	if ((*rc = db_exec(db, SQL_ATTACHMENT_INSERT, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(up->id), DB_STR(case_id), DB_STR(name),
	    DB_STR(ctype), DB_STR(actor), DB_STR(now_sql) }, 7, NULL)) != 0) {
		db_rollback(db);
		goto fail;
	}
	*out = up;
	return ATTACHMENTS_OK;
fail:
	upload_free(up);
	return ATTACHMENTS_DB_ERROR;
}

/* Write the buffered bytes as the next chunk. 0 or a DB_* code. */
static int
flush_chunk(struct attachments_upload *up)
{
	int rc;

	rc = db_exec(up->db, SQL_ATTACHMENT_CHUNK_INSERT, (struct db_val[]){
	    DB_STR(up->tenant_id), DB_STR(up->id), DB_INT(up->n),
	    DB_STRN(up->buf, up->len) }, 4, NULL);
	if (rc == 0) {
		up->n++;
		up->len = 0;
	}
	return rc;
}

enum attachments_outcome
attachments_write(struct attachments_upload *up, const void *data,
    size_t len, int *rc)
{
	const char *p = data;
	size_t take;

	*rc = 0;
	if ((long long)len > up->max - up->size)
		return ATTACHMENTS_TOO_LARGE;
	up->size += (long long)len;
	if (EVP_DigestUpdate(up->sha, data, len) != 1) {
		*rc = DB_ERR;
		return ATTACHMENTS_DB_ERROR;
	}
	while (len > 0) {
		take = ATTACHMENTS_CHUNK - up->len;
		if (take > len)
			take = len;
		memcpy(up->buf + up->len, p, take);
		up->len += take;
		p += take;
		len -= take;
		if (up->len == ATTACHMENTS_CHUNK &&
		    (*rc = flush_chunk(up)) != 0)
			return ATTACHMENTS_DB_ERROR;
	}
	return ATTACHMENTS_OK;
}

/* {attachment_id, name, content_type, size, sha256} for the timeline and
 * the audit entry. */
static json_object *
change_detail(const struct attachment *a, int with_case)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "attachment_id",
	    json_object_new_string(a->id));
	if (with_case)
		json_object_object_add(o, "case_id",
		    json_object_new_string(a->case_id));
	json_object_object_add(o, "name", json_object_new_string(a->name));
	json_object_object_add(o, "content_type",
	    json_object_new_string(a->content_type));
	json_object_object_add(o, "size", json_object_new_int64(a->size));
	json_object_object_add(o, "sha256", json_object_new_string(a->sha256));
	return o;
}

/* The case's timeline entry kind for a, in the caller's transaction. */
static int
timeline(struct db *db, const char *tenant_id, const struct attachment *a,
    const char *kind, const char *actor, const char *now_sql)
{
	json_object *fields = change_detail(a, 0);
	const char *s;
	size_t len;
	int rc;

	s = vjson_str(fields, &len);
	rc = db_exec(db, SQL_ATTACHMENT_TIMELINE, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(a->case_id), DB_STR(kind),
	    DB_STR(now_sql), DB_STR(actor), DB_STRN(s, len) }, 6, NULL);
	json_object_put(fields);
	return rc;
}

enum attachments_outcome
attachments_finish(struct attachments_upload *up, struct attachment **out,
    int *rc)
{
	struct attachment *a = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char now_sql[VTIME_SQL_LEN];
	unsigned long long changed;
	enum attachments_outcome ret = ATTACHMENTS_DB_ERROR;

	*out = NULL;
	*rc = 0;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    EVP_DigestFinal_ex(up->sha, md, &mdlen) != 1 || mdlen != 32) {
		*rc = DB_ERR;
		goto fail;
	}
	snprintf(a->id, sizeof(a->id), "%s", up->id);
	snprintf(a->case_id, sizeof(a->case_id), "%s", up->case_id);
	snprintf(a->name, sizeof(a->name), "%s", up->name);
	snprintf(a->content_type, sizeof(a->content_type), "%s", up->ctype);
	snprintf(a->created_by, sizeof(a->created_by), "%s", up->actor);
	vtime_rfc3339(up->now, a->created_at, sizeof(a->created_at));
	a->size = up->size;
	crypto_hex(md, 32, a->sha256);
	a->sha256[64] = '\0';
	vtime_sql(up->now, now_sql, sizeof(now_sql));
	if (up->len > 0 && (*rc = flush_chunk(up)) != 0)
		goto fail;
	/* Now the locks every audited write takes, the tenant row first;
	 * the case is read again under it (it may not have been deleted
	 * meanwhile). */
	if ((*rc = db_exec(up->db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(up->tenant_id) }, 1, NULL)) != 0)
		goto fail;
	if ((*rc = attachments_case(up->db, up->tenant_id, up->case_id)) != 1) {
		ret = *rc == 0 ? ATTACHMENTS_NOT_FOUND : ATTACHMENTS_DB_ERROR;
		goto fail;
	}
	*rc = 0;
	if ((*rc = db_exec_affected(up->db, SQL_ATTACHMENT_COMPLETE,
	    (struct db_val[]){ DB_INT(a->size), DB_STR(a->sha256),
	    DB_STR(up->tenant_id), DB_STR(up->id) }, 4, &changed)) != 0 ||
	    (*rc = timeline(up->db, up->tenant_id, a, "attachment_added",
	    up->actor, now_sql)) != 0 ||
	    (*rc = audit_commit(up->db, up->tenant_id, up->actor,
	    "attachment.create", up->id, change_detail(a, 1))) != 0)
		goto fail;
	upload_free(up);
	*out = a;
	return ATTACHMENTS_OK;
fail:
	db_rollback(up->db);
	upload_free(up);
	free(a);
	return ret;
}

void
attachments_abort(struct attachments_upload *up)
{
	if (up == NULL)
		return;
	db_rollback(up->db);
	upload_free(up);
}

/* Row i of res into a new attachment; NULL when out of memory. */
static struct attachment *
row_to_attachment(const struct db_res *res, size_t i)
{
	struct attachment *a;
	const char *at;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->seq = db_cell_int(res, i, ATTACHMENT_COL_SEQ);
	snprintf(a->id, sizeof(a->id), "%s",
	    db_cell(res, i, ATTACHMENT_COL_ID));
	snprintf(a->case_id, sizeof(a->case_id), "%s",
	    db_cell(res, i, ATTACHMENT_COL_CASE_ID));
	snprintf(a->name, sizeof(a->name), "%s",
	    db_cell(res, i, ATTACHMENT_COL_NAME));
	snprintf(a->content_type, sizeof(a->content_type), "%s",
	    db_cell(res, i, ATTACHMENT_COL_TYPE));
	a->size = db_cell_int(res, i, ATTACHMENT_COL_SIZE);
	snprintf(a->sha256, sizeof(a->sha256), "%s",
	    db_cell(res, i, ATTACHMENT_COL_SHA256));
	snprintf(a->created_by, sizeof(a->created_by), "%s",
	    db_cell(res, i, ATTACHMENT_COL_BY));
	at = db_cell(res, i, ATTACHMENT_COL_AT);
	if (at == NULL || vtime_sql_to_rfc3339(at, a->created_at,
	    sizeof(a->created_at)) != 0)
		snprintf(a->created_at, sizeof(a->created_at), "%s",
		    at ? at : "");
	return a;
}

int
attachments_get(struct db *db, const char *tenant_id, const char *case_id,
    const char *id, struct attachment **out)
{
	struct db_res *res = NULL;
	int rc;

	*out = NULL;
	if (!id_valid("case", case_id) || !id_valid("att", id))
		return 0;
	if ((rc = db_exec(db, SQL_ATTACHMENT_GET, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(case_id), DB_STR(id) }, 3, &res)) != 0)
		return rc;
	if (res->nrows == 0) {
		db_res_free(res);
		return 0;
	}
	*out = row_to_attachment(res, 0);
	db_res_free(res);
	return *out != NULL ? 1 : DB_ERR;
}

void
attachments_free(struct attachment *a)
{
	free(a);
}

int
attachments_chunk(struct db *db, const char *tenant_id, const char *id,
    long n, struct db_res **res, const char **data, size_t *len)
{
	int rc;

	*res = NULL;
	*data = NULL;
	*len = 0;
	if ((rc = db_exec(db, SQL_ATTACHMENT_CHUNK, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id), DB_INT(n) }, 3, res)) != 0)
		return rc;
	if ((*res)->nrows == 0 || db_cell(*res, 0, 0) == NULL) {
		db_res_free(*res);
		*res = NULL;
		return 0;
	}
	*data = db_cell(*res, 0, 0);
	*len = (*res)->lens[0];
	return 1;
}

json_object *
attachments_to_json(const struct attachment *a)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "attachment_id",
	    json_object_new_string(a->id));
	json_object_object_add(o, "case_id",
	    json_object_new_string(a->case_id));
	json_object_object_add(o, "name", json_object_new_string(a->name));
	json_object_object_add(o, "content_type",
	    json_object_new_string(a->content_type));
	json_object_object_add(o, "size", json_object_new_int64(a->size));
	json_object_object_add(o, "sha256", json_object_new_string(a->sha256));
	json_object_object_add(o, "created_by",
	    json_object_new_string(a->created_by));
	json_object_object_add(o, "created_at",
	    json_object_new_string(a->created_at));
	return o;
}

/* res's first n rows as a new array of attachments_to_json; NULL when
 * out of memory. */
static json_object *
rows_json(const struct db_res *res, size_t n)
{
	json_object *arr = json_object_new_array();
	struct attachment *a;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((a = row_to_attachment(res, i)) == NULL) {
			json_object_put(arr);
			return NULL;
		}
		json_object_array_add(arr, attachments_to_json(a));
		attachments_free(a);
	}
	return arr;
}

int
attachments_list(struct db *db, const char *tenant_id, const char *case_id,
    long long before, long limit, json_object **out)
{
	struct db_res *res = NULL, *cnt = NULL;
	json_object *items;
	size_t n;
	int rc;

	*out = NULL;
	if ((rc = db_exec(db, SQL_ATTACHMENT_LIST, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(case_id), DB_INT(before),
	    DB_INT(limit + 1) }, 4, &res)) != 0 ||
	    (rc = db_exec(db, SQL_ATTACHMENT_COUNT, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(case_id) }, 2, &cnt)) != 0)
		goto out;
	n = page_rows(res, limit);
	if ((items = rows_json(res, n)) == NULL) {
		rc = DB_ERR;
		goto out;
	}
	*out = json_object_new_object();
	page_end_seq(*out, "attachments", items, res, limit,
	    db_cell_int(cnt, 0, 0), ATTACHMENT_COL_SEQ);
out:
	db_res_free(res);
	db_res_free(cnt);
	return rc;
}

int
attachments_list_json(struct db *db, const char *tenant_id,
    const char *case_id, json_object **out)
{
	struct db_res *res = NULL;
	int rc;

	*out = NULL;
	if ((rc = db_exec(db, SQL_ATTACHMENT_ALL, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(case_id), DB_INT(ATTACHMENTS_ALL_MAX) },
	    3, &res)) != 0)
		return rc;
	*out = rows_json(res, res->nrows);
	db_res_free(res);
	return *out != NULL ? 0 : DB_ERR;
}

static enum attachments_outcome
delete_once(struct db *db, const char *tenant_id, const char *case_id,
    const char *id, const char *actor, time_t now, int *rc)
{
	struct attachment *a = NULL;
	json_object *detail;
	char now_sql[VTIME_SQL_LEN];
	unsigned long long deleted;
	int found;

	*rc = 0;
	if (!id_valid("case", case_id) || !id_valid("att", id))
		return ATTACHMENTS_NOT_FOUND;
	vtime_sql(now, now_sql, sizeof(now_sql));
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0)
		goto fail;
	if ((found = attachments_get(db, tenant_id, case_id, id, &a)) != 1) {
		*rc = found < 0 ? found : 0;
		return found == 0 ? ATTACHMENTS_NOT_FOUND :
		    ATTACHMENTS_DB_ERROR;
	}
	if ((*rc = db_exec_affected(db, SQL_ATTACHMENT_DELETE,
	    (struct db_val[]){ DB_STR(tenant_id), DB_STR(case_id),
	    DB_STR(id) }, 3, &deleted)) != 0)
		goto fail;
	if (deleted == 0) {
		/* Another request deleted it first. */
		attachments_free(a);
		return ATTACHMENTS_NOT_FOUND;
	}
	if ((*rc = db_exec(db, SQL_ATTACHMENT_CHUNKS_DELETE, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, NULL)) != 0 ||
	    (*rc = timeline(db, tenant_id, a, "attachment_deleted", actor,
	    now_sql)) != 0)
		goto fail;
	detail = change_detail(a, 1);
	*rc = audit_append(db, tenant_id, actor, "attachment.delete", id,
	    detail);
	json_object_put(detail);
	if (*rc != 0)
		goto fail;
	attachments_free(a);
	return ATTACHMENTS_OK;
fail:
	attachments_free(a);
	return ATTACHMENTS_DB_ERROR;
}

/* attachments_delete runs delete_once as the body of db_tx_run, which
 * commits when the outcome is ATTACHMENTS_OK and rolls back otherwise, and
 * replays it whole after a deadlock or a certification failure; each run
 * starts from the inputs. (An upload, above, is a transaction of its own
 * across several calls: attachments_begin to attachments_finish.) */
struct delete_tx {
	const char *tenant_id;
	const char *case_id;
	const char *id;
	const char *actor;
	time_t	now;
	enum attachments_outcome	 o;
	int	 rc;
};

static int
delete_tx(struct db *db, void *arg)
{
	struct delete_tx *t = arg;

	t->rc = 0;
	t->o = delete_once(db, t->tenant_id, t->case_id, t->id, t->actor,
	    t->now, &t->rc);
	if (t->o == ATTACHMENTS_OK)
		return 0;
	if (t->o == ATTACHMENTS_DB_ERROR)
		return t->rc != 0 ? t->rc : DB_ERR;
	return 1;
}

enum attachments_outcome
attachments_delete(struct db *db, const char *tenant_id, const char *case_id,
    const char *id, const char *actor, time_t now, int *rc)
{
	struct delete_tx t;
	int r;

	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.case_id = case_id;
	t.id = id;
	t.actor = actor;
	t.now = now;
	t.o = ATTACHMENTS_DB_ERROR;
	r = db_tx_run(db, delete_tx, &t);
	*rc = r < 0 ? r : 0;
	if (r < 0) {
		t.o = ATTACHMENTS_DB_ERROR;
	}
	return t.o;
}
