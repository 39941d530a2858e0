/* render_csv.c: a report's primary table as RFC 4180 CSV, with text that a
 * spreadsheet would run as a formula neutralised. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "render.h"
#include "render_int.h"

/* Append one field: quoted when it holds a quote, comma, CR or LF (quotes
 * doubled); a text field starting with =, +, -, @, tab or CR gets a
 * leading ' (OWASP's advice on CSV injection), a number never does. */
static int
field(struct buf *out, const char *s, int text)
{
	int quote = strpbrk(s, "\",\r\n") != NULL;
	const char *p, *q;

	if (quote && buf_append(out, "\"", 1) < 0)
		return -1;
	if (text && s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL &&
	    buf_append(out, "'", 1) < 0)
		return -1;
	/* Copy up to and including each quote, then double it. */
	for (p = s; (q = strchr(p, '"')) != NULL; p = q + 1)
		if (buf_append(out, p, (size_t)(q - p) + 1) < 0 ||
		    buf_append(out, "\"", 1) < 0)
			return -1;
	if (buf_puts(out, p) < 0)
		return -1;
	if (quote && buf_append(out, "\"", 1) < 0)
		return -1;
	return 0;
}

int
render_csv(struct json_object *doc, struct buf *out, char *err, size_t errsz)
{
	struct json_object *table, *cols, *rows;
	size_t i, j, ncol, nrow;
	char *s = NULL;
	int rc = -1;

	if (render_validate(doc, err, errsz) < 0)
		return -1;
	if ((table = render_primary_table(doc)) == NULL) {
		snprintf(err, errsz, "the document has no table to write as "
		    "CSV");
		return -1;
	}
	cols = render_get(table, "columns");
	rows = render_get(table, "rows");
	ncol = json_object_array_length(cols);
	nrow = json_object_array_length(rows);
	for (j = 0; j < ncol; j++) {
		struct json_object *col = json_object_array_get_idx(cols, j);
		struct json_object *t = render_get(col, "title");

		if ((s = render_clean(json_object_get_string(t),
		    (size_t)json_object_get_string_len(t), 1)) == NULL)
			goto nomem;
		if ((j > 0 && buf_append(out, ",", 1) < 0) ||
		    field(out, s, 1) < 0)
			goto full;
		free(s);
		s = NULL;
	}
	if (buf_append(out, "\r\n", 2) < 0)
		goto full;
	for (i = 0; i < nrow; i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);

		for (j = 0; j < ncol; j++) {
			struct json_object *c = json_object_array_get_idx(row, j);
			int text = c != NULL &&
			    json_object_is_type(c, json_type_string);

			if (text)
				s = render_clean(json_object_get_string(c),
				    (size_t)json_object_get_string_len(c), 1);
			else
				s = render_cell(c);
			if (s == NULL)
				goto nomem;
			if ((j > 0 && buf_append(out, ",", 1) < 0) ||
			    field(out, s, text) < 0)
				goto full;
			free(s);
			s = NULL;
		}
		if (buf_append(out, "\r\n", 2) < 0)
			goto full;
	}
	rc = 0;
	goto out;
full:
	snprintf(err, errsz, "the CSV is larger than the output cap of %zu "
	    "bytes", out->cap);
	goto out;
nomem:
	snprintf(err, errsz, "out of memory");
out:
	free(s);
	return rc;
}
