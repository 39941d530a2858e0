/* page.h: the list shape every list of the API answers,
 * {<name>: [...], total, has_more, next_cursor}, for the handlers in cgi/
 * and the domain modules that build a whole page (scans.c). Pure but for
 * page_history, page_tenant_list and page_tenant_row, which read what
 * they shape. */
#ifndef VIGIL_PAGE_H
#define VIGIL_PAGE_H

#include <stddef.h>
#include <json-c/json.h>

#include "db.h"

/* Room for the "s<seq>" keyset cursor of findings, audit and events. */
#define PAGE_SEQ_CURSOR_LEN 32

/* Add name: items (taking the reference), total, has_more and
 * next_cursor (cursor, copied; JSON null when !has_more) to root, in
 * that order. */
void	 page_end(json_object *root, const char *name, json_object *items,
	    long long total, int has_more, const char *cursor);

/* A result of up to limit + 1 rows (one more than asked says there is a
 * next page): how many rows to show. */
size_t	 page_rows(const struct db_res *res, long limit);
/* page_end for such a result: has_more from its row count, next_cursor
 * from column cursor_col of the last row shown (NULL cell: ""). */
void	 page_end_res(json_object *root, const char *name,
	    json_object *items, const struct db_res *res, long limit,
	    long long total, size_t cursor_col);
/* A tenant's rows newest first, keyset by seq, as a whole page into *out:
 * count_stmt (tenant) gives the total, list_stmt (tenant, before,
 * limit + 1) the rows, each shown as row(res, i), with seq in column
 * seq_col. 0, or a DB_* code. */
int	 page_tenant_list(struct db *db, enum db_stmt count_stmt,
	    enum db_stmt list_stmt, const char *tenant_id, long long before,
	    long limit, const char *name,
	    json_object *(*row)(const struct db_res *, size_t),
	    size_t seq_col, json_object **out);
/* One row of a tenant by its id (stmt taking tenant and id), the id
 * first checked to be one of prefix's: 1 with *res (the caller frees),
 * 0 when there is no such row (*res NULL), or a DB_* code. */
int	 page_tenant_row(struct db *db, enum db_stmt stmt, const char *prefix,
	    const char *tenant_id, const char *id, struct db_res **res);
/* page_end_res for a result keyed by seq: next_cursor the "s<seq>"
 * cursor of column seq_col of the last row shown. */
void	 page_end_seq(json_object *root, const char *name,
	    json_object *items, const struct db_res *res, long limit,
	    long long total, size_t seq_col);

/* Row i of a history statement (SQL_HISTORY_LIST, SQL_ALERT_HISTORY_LIST:
 * action, at, actor, fields) as the API shows an entry: {action,
 * timestamp, by, ...the action's own fields, flattened}. A new object. */
json_object *page_history_entry(const struct db_res *res, size_t i);
/* The history of one finding or alert (stmt one of those, taking tenant
 * and id) as the API answers it, {<key>: id, history: [entries]}, into
 * *out: 1, or a DB_* code. The caller has checked that the item exists. */
int	 page_history(struct db *db, enum db_stmt stmt, const char *tenant_id,
	    const char *id, const char *key, json_object **out);

/* The "s<seq>" cursor (what cgi/params.c's params_seq_cursor reads) of
 * the last seq shown, into out (PAGE_SEQ_CURSOR_LEN). */
void	 page_seq_cursor(long long seq, char *out, size_t outsz);

#endif
