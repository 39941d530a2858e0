/* export.c: findings as CSV or JSON Lines, page by page (export.h). */
#include "vigil.h"

#include <string.h>
#include <time.h>

#include "db.h"
#include "export.h"
#include "findings.h"
#include "vjson.h"

#define EXPORT_PAGE 500
#define EXPORT_FLUSH (256 * 1024)

const char *const export_columns[] = { "id", "title", "severity", "state",
    "category", "rule_id", "provider", "source", "subscription_id",
    "environment", "resource_id", "resource_name", "resource_type",
    "resource_group", "region", "account", "tags", "framework",
    "detected_at", "last_seen_at", "updated_at", "resolved_at", "due_at",
    "overdue" };
const size_t export_ncolumns = NELEM(export_columns);

int
export_csv_cell(struct buf *b, const char *s, size_t len)
{
	size_t i, from;
	int quote = 0, rc = 0;

	for (i = 0; i < len; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			quote = 1;
	if (quote)
		rc |= buf_append(b, "\"", 1);
	/* A spreadsheet runs a cell starting with one of these as a
	 * formula; the quote makes it text (OWASP "CSV Injection"). */
	if (len > 0 && strchr("=+-@\t\r", s[0]) != NULL)
		rc |= buf_append(b, "'", 1);
	for (i = from = 0; i < len; i++)
		if (s[i] == '"') {
			rc |= buf_append(b, s + from, i + 1 - from);
			rc |= buf_append(b, "\"", 1);
			from = i + 1;
		}
	rc |= buf_append(b, s + from, len - from);
	if (quote)
		rc |= buf_append(b, "\"", 1);
	return rc ? -1 : 0;
}

int
export_csv_header(struct buf *b)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < export_ncolumns; i++) {
		if (i > 0)
			rc |= buf_append(b, ",", 1);
		rc |= export_csv_cell(b, export_columns[i],
		    strlen(export_columns[i]));
	}
	rc |= buf_append(b, "\r\n", 2);
	return rc ? -1 : 0;
}

const char *
export_cell(json_object *o, const char *key, size_t *len)
{
	json_object *v = NULL;
	const char *s;

	*len = 0;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return "";
	if (json_object_is_type(v, json_type_string)) {
		*len = (size_t)json_object_get_string_len(v);
		return json_object_get_string(v);
	}
	s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	*len = strlen(s);
	return s;
}

int
export_csv_row(struct buf *b, json_object *o)
{
	const char *s;
	size_t i, len;
	int rc = 0;

	for (i = 0; i < export_ncolumns; i++) {
		if (i > 0)
			rc |= buf_append(b, ",", 1);
		s = export_cell(o, export_columns[i], &len);
		rc |= export_csv_cell(b, s, len);
	}
	rc |= buf_append(b, "\r\n", 2);
	return rc ? -1 : 0;
}

int
export_run(struct db *db, const char *tenant_id,
    const struct findings_filter *f, enum export_format fmt,
    int (*write)(void *, const char *, size_t), void (*pause)(void *),
    void *arg, long long *rows)
{
	struct findings_filter pf = *f;
	struct findings_page *page = NULL;
	struct buf b;
	size_t i, len;
	const char *s;
	int rc = 0, more = 1, wrote = 0;
	time_t now = time(NULL);

	*rows = 0;
	/* Written out every 256 KiB; the cap is far above one row. */
	buf_init(&b, 16 * 1024 * 1024);
	pf.before = 1LL << 62;
	pf.due_after = 0;
	pf.seq_after = 0;
	pf.limit = EXPORT_PAGE;
	if (fmt == EXPORT_CSV && export_csv_header(&b) != 0) {
		rc = DB_ERR;
		goto out;
	}
	while (more) {
		if (wrote && pause != NULL)
			pause(arg);
		/* The list's own statements, a keyset page at a time: the
		 * memory held is one page and its text. */
		if ((rc = findings_list(db, tenant_id, &pf, &page)) != 0)
			goto out;
		for (i = 0; i < page->n; i++) {
			json_object *o = findings_to_json(page->rows[i], 0);

			findings_due_json(o, page->rows[i], now);
			if (fmt == EXPORT_CSV)
				rc = export_csv_row(&b, o);
			else {
				s = vjson_str(o, &len);
				rc = buf_append(&b, s, len) |
				    buf_append(&b, "\n", 1);
			}
			json_object_put(o);
			if (rc != 0) {
				rc = DB_ERR;
				goto out;
			}
			if (b.len >= EXPORT_FLUSH) {
				if (write(arg, b.data, b.len) != 0) {
					rc = 1;
					goto out;
				}
				buf_reset(&b);
			}
		}
		*rows += (long long)page->n;
		more = page->has_more;
		/* The next page after the last row, in the list's order: by
		 * sequence, or (overdue, due_before) by due date. */
		if (more && pf.due) {
			pf.due_after = page->rows[page->n - 1]->due_at;
			pf.seq_after = page->rows[page->n - 1]->seq;
		} else if (more)
			pf.before = page->rows[page->n - 1]->seq;
		findings_page_free(page);
		page = NULL;
		if (b.len > 0 && write(arg, b.data, b.len) != 0) {
			rc = 1;
			goto out;
		}
		wrote = 1;
		buf_reset(&b);
	}
out:
	findings_page_free(page);
	buf_free(&b);
	return rc;
}
