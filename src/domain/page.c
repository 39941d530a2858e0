/* page.c: the tail of a list page, {total, has_more, next_cursor} after
 * the items, written in one place so that every list answers the same
 * shape in the same field order. */
#include "vigil.h"

#include <stdio.h>

#include "db.h"
#include "id.h"
#include "page.h"
#include "vtime.h"

void
page_end(json_object *root, const char *name, json_object *items,
    long long total, int has_more, const char *cursor)
{
	json_object_object_add(root, name, items);
	json_object_object_add(root, "total", json_object_new_int64(total));
	json_object_object_add(root, "has_more",
	    json_object_new_boolean(has_more));
	json_object_object_add(root, "next_cursor", has_more &&
	    cursor != NULL ? json_object_new_string(cursor) : NULL);
}

size_t
page_rows(const struct db_res *res, long limit)
{
	return res->nrows > (size_t)limit ? (size_t)limit : res->nrows;
}

void
page_end_res(json_object *root, const char *name, json_object *items,
    const struct db_res *res, long limit, long long total,
    size_t cursor_col)
{
	size_t n = page_rows(res, limit);
	const char *cursor = NULL;

	if (n > 0 && (cursor = db_cell(res, n - 1, cursor_col)) == NULL)
		cursor = "";
	page_end(root, name, items, total, res->nrows > (size_t)limit,
	    cursor);
}

void
page_end_seq(json_object *root, const char *name, json_object *items,
    const struct db_res *res, long limit, long long total, size_t seq_col)
{
	size_t n = page_rows(res, limit);
	char cursor[PAGE_SEQ_CURSOR_LEN];

	cursor[0] = '\0';
	if (n > 0)
		page_seq_cursor(db_cell_int(res, n - 1, seq_col), cursor,
		    sizeof(cursor));
	page_end(root, name, items, total, res->nrows > n, cursor);
}

int
page_tenant_list(struct db *db, enum db_stmt count_stmt,
    enum db_stmt list_stmt, const char *tenant_id, long long before,
    long limit, const char *name,
    json_object *(*row)(const struct db_res *, size_t), size_t seq_col,
    json_object **out)
{
	struct db_res *res = NULL, *cnt = NULL;
	json_object *items;
	size_t i, n;
	int rc;

	*out = NULL;
	if ((rc = db_exec(db, count_stmt, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, &cnt)) != 0)
		return rc;
	if ((rc = db_exec(db, list_stmt, (struct db_val[]){
	    DB_STR(tenant_id), DB_INT(before), DB_INT(limit + 1) }, 3,
	    &res)) != 0) {
		db_res_free(cnt);
		return rc;
	}
	items = json_object_new_array();
	n = page_rows(res, limit);
	for (i = 0; i < n; i++)
		json_object_array_add(items, row(res, i));
	*out = json_object_new_object();
	page_end_seq(*out, name, items, res, limit, db_cell_int(cnt, 0, 0),
	    seq_col);
	db_res_free(res);
	db_res_free(cnt);
	return 0;
}

int
page_tenant_row(struct db *db, enum db_stmt stmt, const char *prefix,
    const char *tenant_id, const char *id, struct db_res **res)
{
	int rc;

	*res = NULL;
	if (!id_valid(prefix, id))
		return 0;
	if ((rc = db_exec(db, stmt, (struct db_val[]){ DB_STR(tenant_id),
	    DB_STR(id) }, 2, res)) != 0)
		return rc;
	if ((*res)->nrows == 0) {
		db_res_free(*res);
		*res = NULL;
		return 0;
	}
	return 1;
}

int
page_history(struct db *db, enum db_stmt stmt, const char *tenant_id,
    const char *id, const char *key, json_object **out)
{
	struct db_res *res = NULL;
	json_object *arr;
	size_t i;
	int rc;

	if ((rc = db_exec(db, stmt, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(id) }, 2, &res)) != 0)
		return rc;
	arr = json_object_new_array();
	for (i = 0; i < res->nrows; i++)
		json_object_array_add(arr, page_history_entry(res, i));
	db_res_free(res);
	*out = json_object_new_object();
	json_object_object_add(*out, key, json_object_new_string(id));
	json_object_object_add(*out, "history", arr);
	return 1;
}

void
page_seq_cursor(long long seq, char *out, size_t outsz)
{
	snprintf(out, outsz, "s%lld", seq);
}

/* The columns of the history statements, in their SELECT order. */
enum { HIST_C_ACTION, HIST_C_AT, HIST_C_ACTOR, HIST_C_FIELDS };

json_object *
page_history_entry(const struct db_res *res, size_t i)
{
	json_object *h = json_object_new_object(), *fields;
	char ts[VTIME_RFC3339_LEN];

	json_object_object_add(h, "action",
	    json_object_new_string(db_cell(res, i, HIST_C_ACTION)));
	if (vtime_sql_to_rfc3339(db_cell(res, i, HIST_C_AT), ts,
	    sizeof(ts)) != 0)
		ts[0] = '\0';
	json_object_object_add(h, "timestamp", json_object_new_string(ts));
	json_object_object_add(h, "by",
	    json_object_new_string(db_cell(res, i, HIST_C_ACTOR)));
	fields = json_tokener_parse(db_cell(res, i, HIST_C_FIELDS));
	if (fields != NULL && json_object_is_type(fields, json_type_object)) {
		json_object_object_foreach(fields, k, v)
			json_object_object_add(h, k, json_object_get(v));
	}
	json_object_put(fields);
	return h;
}
