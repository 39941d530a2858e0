/* params.c: the query parameters every list shares: limit and the
 * keyset cursors. Each either stores the value or answers the 400 itself
 * and returns -1, so a handler reads as a straight line. */
#include "vigil.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "id.h"
#include "page.h"
#include "reply.h"

/* Keys before the cursor in an id-keyed list statement, at most. */
#define DB_MAX_LIST_KEYS 4

int
params_limit(struct request *r, long *out)
{
	const char *s = request_param(r, "limit");
	char *end;
	long v;

	*out = PARAMS_LIMIT_DEFAULT;
	if (s == NULL)
		return 0;
	/* Digits only: strtol alone would take " 1" and "+1". */
	errno = 0;
	v = isdigit((unsigned char)*s) ? strtol(s, &end, 10) : -1;
	if (v < 1 || v > PARAMS_LIMIT_MAX || *end != '\0' || errno) {
		reply_bad(r, "limit",
		    "limit must be an integer between 1 and 500.");
		return -1;
	}
	*out = v;
	return 0;
}

int
params_seq_cursor(struct request *r, long long *before)
{
	const char *s = request_param(r, "cursor");
	char *end;
	long long v;

	*before = 1LL << 62;
	if (s == NULL)
		return 0;
	errno = 0;
	v = (s[0] == 's' && isdigit((unsigned char)s[1])) ?
	    strtoll(s + 1, &end, 10) : -1;
	if (v < 1 || *end != '\0' || errno) {
		reply_bad(r, "cursor", "cursor is not valid.");
		return -1;
	}
	*before = v;
	return 0;
}

size_t
params_page_rows(const struct db_res *res, long limit)
{
	return page_rows(res, limit);
}

void
params_page_end(json_object *root, const char *name, json_object *items,
    const struct db_res *res, long limit, long long total,
    size_t cursor_col)
{
	page_end_res(root, name, items, res, limit, total, cursor_col);
}

int
params_list(struct request *r, long *limit)
{
	static const char *const known[] = { "limit", "cursor", NULL };

	if (reply_unknown_params(r, known) != 0)
		return -1;
	return params_limit(r, limit);
}

int
params_list_cursor(struct request *r, long *limit,
    int (*valid)(const char *), const char **cursor)
{
	if (params_list(r, limit) != 0)
		return -1;
	*cursor = request_param(r, "cursor");
	if (*cursor != NULL && !valid(*cursor)) {
		reply_bad(r, "cursor", "cursor is not valid.");
		return -1;
	}
	return 0;
}

void
params_id_page(struct request *r, struct db *db, long limit,
    const struct params_id_list *l)
{
	struct db_res *res = NULL, *cnt = NULL;
	struct db_val p[DB_MAX_LIST_KEYS + 2];
	const char *cursor = request_param(r, "cursor");
	json_object *root, *arr;
	size_t i, n;
	int rc;

	if (cursor != NULL && !id_valid(l->prefix, cursor)) {
		reply_bad(r, "cursor", "cursor is not valid.");
		return;
	}
	for (i = 0; i < l->nkeys && i < DB_MAX_LIST_KEYS; i++)
		p[i] = l->keys[i];
	p[i] = DB_STR(cursor ? cursor : l->first);
	p[i + 1] = DB_INT(limit + 1);
	if ((rc = db_exec(db, l->list, p, i + 2, &res)) != 0 ||
	    (rc = db_exec(db, l->count, l->keys, i, &cnt)) != 0) {
		db_res_free(res);
		api_db_error(r, rc);
		return;
	}
	n = page_rows(res, limit);
	root = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(arr, l->item(res, i));
	page_end_res(root, l->name, arr, res, limit,
	    db_cell_int(cnt, 0, 0), l->cursor_col);
	db_res_free(cnt);
	db_res_free(res);
	response_json(r, 200, root);
}
