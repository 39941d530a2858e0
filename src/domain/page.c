/* page.c: the tail of a list page, {total, has_more, next_cursor} after
 * the items, written in one place so that every list answers the same
 * shape in the same field order. */
#include "vigil.h"

#include <stdio.h>

#include "db.h"
#include "page.h"

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
page_seq_cursor(long long seq, char *out, size_t outsz)
{
	snprintf(out, outsz, "s%lld", seq);
}
