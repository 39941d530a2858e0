/* render_xlsx.c: a report as an Excel workbook through libxlsxwriter: a
 * "Summary" sheet (title, headings, paragraphs, kv items, each chart's
 * numbers with an Excel chart of them) and one sheet per table. Number cells are written as numbers,
 * text as text: never as a formula, whatever it starts with.
 *
 * libxlsxwriter 1.1 writes only to a file: the workbook goes to a temporary
 * file in $TMPDIR (else /tmp), read back into out and removed. A document
 * of more than XLSX_SMALL_CELLS table cells is written in constant-memory
 * mode (each row goes to its sheet's temporary file as it is written, so
 * a table of RENDER_MAX_ROWS rows does not sit in memory twice); strings
 * are then inline in the sheets rather than in the shared-string table,
 * and charts carry no cached values (libxlsxwriter cannot read back rows
 * it has flushed), so their categories are referenced as numbers. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <fcntl.h>

#include <xlsxwriter.h>

#include "buf.h"
#include "render.h"
#include "render_int.h"

/* Up to this many table cells a workbook is built in memory, with the
 * cached values its charts and shared strings want; above, each row goes
 * to a temporary file as it is written (about half the memory). */
#define XLSX_SMALL_CELLS	200000

/* A sheet name: 31 characters of up to 4 bytes, and a " (N)" suffix. */
#define SHEET_NAME_SZ	(LXW_MAX_SHEETNAME_LENGTH + 8)

struct xctx {
	lxw_workbook	*wb;
	lxw_format	*title, *bold, *head;
	lxw_error	 lerr;
	char		 names[RENDER_MAX_TABLES + 1][SHEET_NAME_SZ];
	size_t		 nnames;
};

/* Note the first libxlsxwriter error; every later call is skipped. */
static int
ok(struct xctx *x, lxw_error e)
{
	if (e != LXW_NO_ERROR && x->lerr == LXW_NO_ERROR)
		x->lerr = e;
	return x->lerr == LXW_NO_ERROR;
}

static void
put_text(struct xctx *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c,
    const char *s, lxw_format *f)
{
	if (x->lerr == LXW_NO_ERROR && s[0] != '\0')
		ok(x, worksheet_write_string(ws, r, c, s, f));
}

/* A cell: a number as a number, text as text, null as nothing. Returns
 * its width in characters (for the column), or 0. */
static size_t
put_cell(struct xctx *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c,
    struct json_object *v, lxw_format *f)
{
	char *s;
	size_t w;

	if (x->lerr != LXW_NO_ERROR || v == NULL ||
	    json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		char num[64];

		ok(x, worksheet_write_number(ws, r, c,
		    json_object_get_double(v), f));
		render_number(v, num, sizeof(num));
		return strlen(num);
	}
	if ((s = render_clean(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), 1)) == NULL) {
		ok(x, LXW_ERROR_MEMORY_MALLOC_FAILED);
		return 0;
	}
	put_text(x, ws, r, c, s, f);
	w = strlen(s);
	free(s);
	return w;
}

/* Copy src into dst (dstsz bytes), stopping at a whole UTF-8 character. */
static void
copy_utf8(char *dst, size_t dstsz, const char *src, size_t maxchars)
{
	size_t i = 0, chars = 0;

	while (src[i] != '\0' && chars < maxchars) {
		size_t l = 1;

		while ((src[i + l] & 0xc0) == 0x80)
			l++;
		if (i + l >= dstsz)
			break;
		i += l;
		chars++;
	}
	memcpy(dst, src, i);
	dst[i] = '\0';
}

/* A sheet name Excel accepts, unique in the workbook: the table's name
 * without []:*?/\ and outer apostrophes, at most 31 characters; "Table N"
 * when that leaves nothing; " (2)", " (3)"… when taken. */
static void
sheet_name(struct xctx *x, struct json_object *table, size_t n, char *out,
    size_t outsz)
{
	char *clean = render_clean_member(table, "name"), *p;
	char base[SHEET_NAME_SZ], cand[SHEET_NAME_SZ];
	const char *start;
	size_t k, tries;

	if (clean != NULL) {
		for (p = clean; *p != '\0'; p++)
			if (strchr("[]:*?/\\\t\n\r", *p) != NULL)
				*p = '_';
		start = clean;
		while (*start == '\'' || *start == ' ')
			start++;
		copy_utf8(base, sizeof(base), start, 31);
		k = strlen(base);
		while (k > 0 && (base[k - 1] == '\'' || base[k - 1] == ' '))
			base[--k] = '\0';
	} else
		base[0] = '\0';
	free(clean);
	if (base[0] == '\0' || strcasecmp(base, "History") == 0)
		snprintf(base, sizeof(base), "Table %zu", n);
	for (tries = 1; ; tries++) {
		char suffix[32] = "";

		if (tries > 1)
			snprintf(suffix, sizeof(suffix), " (%zu)", tries);
		copy_utf8(cand, sizeof(cand), base, 31 - strlen(suffix));
		k = strlen(cand);
		snprintf(cand + k, sizeof(cand) - k, "%s", suffix);
		for (k = 0; k < x->nnames; k++)
			if (strcasecmp(x->names[k], cand) == 0)
				break;
		if (k == x->nnames)
			break;
	}
	snprintf(out, outsz, "%s", cand);
	snprintf(x->names[x->nnames++], sizeof(x->names[0]), "%s", cand);
}

/* A chart's numbers on the Summary sheet (categories down column A,
 * series across), and an Excel column chart drawn from those cells to
 * their right: stacked or grouped, in the colours of the PDF and HTML.
 * The chart's title and series names are cell references, never text
 * libxlsxwriter would read as a formula. Returns the next free row. */
static lxw_row_t
summary_chart(struct xctx *x, lxw_worksheet *ws, lxw_row_t r,
    struct json_object *b)
{
	struct json_object *cats = render_get(b, "categories");
	struct json_object *series = render_get(b, "series");
	struct json_object *st = render_get(b, "stacked");
	size_t i, j, ncat = json_object_array_length(cats);
	size_t nser = json_object_array_length(series);
	char *t = render_clean_member(b, "title");
	lxw_row_t top = r, first;
	lxw_chart *chart;

	if (t == NULL) {
		ok(x, LXW_ERROR_MEMORY_MALLOC_FAILED);
		return r;
	}
	put_text(x, ws, r++, 0, t[0] != '\0' ? t : "Chart", x->bold);
	free(t);
	for (i = 0; i < nser; i++)
		put_cell(x, ws, r, (lxw_col_t)(i + 1), render_get(
		    json_object_array_get_idx(series, i), "name"), x->head);
	r++;
	first = r;
	for (j = 0; j < ncat; j++, r++) {
		put_cell(x, ws, r, 0, json_object_array_get_idx(cats, j), NULL);
		for (i = 0; i < nser; i++) {
			struct json_object *vals = render_get(
			    json_object_array_get_idx(series, i), "values");

			put_cell(x, ws, r, (lxw_col_t)(i + 1),
			    json_object_array_get_idx(vals, j), NULL);
		}
	}
	if (ncat == 0 || nser == 0 || x->lerr != LXW_NO_ERROR)
		return r + 1;
	chart = workbook_add_chart(x->wb, st != NULL &&
	    json_object_get_boolean(st) ? LXW_CHART_COLUMN_STACKED :
	    LXW_CHART_COLUMN);
	if (chart == NULL) {
		ok(x, LXW_ERROR_MEMORY_MALLOC_FAILED);
		return r;
	}
	chart_title_set_name_range(chart, "Summary", top, 0);
	for (i = 0; i < nser; i++) {
		lxw_chart_series *cs = chart_add_series(chart, NULL, NULL);
		lxw_chart_fill fill = { 0 };
		char *name = render_cell(render_get(
		    json_object_array_get_idx(series, i), "name"));

		if (cs == NULL || name == NULL) {
			free(name);
			ok(x, LXW_ERROR_MEMORY_MALLOC_FAILED);
			return r;
		}
		chart_series_set_categories(cs, "Summary", first, 0,
		    (lxw_row_t)(first + ncat - 1), 0);
		chart_series_set_values(cs, "Summary", first, (lxw_col_t)(i + 1),
		    (lxw_row_t)(first + ncat - 1), (lxw_col_t)(i + 1));
		chart_series_set_name_range(cs, "Summary", first - 1,
		    (lxw_col_t)(i + 1));
		fill.color = render_series_colour(name, i);
		chart_series_set_fill(cs, &fill);
		free(name);
	}
	ok(x, worksheet_insert_chart(ws, top, (lxw_col_t)(nser + 2), chart));
	/* The chart is about 15 rows tall: what follows goes below it. */
	return r + 1 > top + 17 ? r + 1 : top + 17;
}

static void
summary(struct xctx *x, struct json_object *doc)
{
	struct json_object *blocks = render_get(doc, "blocks");
	lxw_worksheet *ws;
	lxw_row_t r = 0;
	size_t i, n, ntab = 0;

	snprintf(x->names[x->nnames++], sizeof(x->names[0]), "Summary");
	if ((ws = workbook_add_worksheet(x->wb, "Summary")) == NULL) {
		ok(x, LXW_ERROR_MEMORY_MALLOC_FAILED);
		return;
	}
	ok(x, worksheet_set_column(ws, 0, 0, 40, NULL));
	ok(x, worksheet_set_column(ws, 1, 16, 18, NULL));
	put_cell(x, ws, r++, 0, render_get(doc, "title"), x->title);
	put_cell(x, ws, r++, 0, render_get(doc, "subtitle"), NULL);
	if (render_get(doc, "generated_at") != NULL) {
		put_text(x, ws, r, 0, "Generated", NULL);
		put_cell(x, ws, r++, 1, render_get(doc, "generated_at"), NULL);
	}
	r++;
	n = json_object_array_length(blocks);
	for (i = 0; i < n && x->lerr == LXW_NO_ERROR; i++) {
		struct json_object *b = json_object_array_get_idx(blocks, i);
		struct json_object *items;
		size_t k;

		switch (render_kind(b)) {
		case RENDER_HEADING:
			r++;
			put_cell(x, ws, r++, 0, render_get(b, "text"), x->bold);
			break;
		case RENDER_PARAGRAPH:
			put_cell(x, ws, r++, 0, render_get(b, "text"), NULL);
			break;
		case RENDER_KV:
			items = render_get(b, "items");
			for (k = 0; k < json_object_array_length(items); k++, r++) {
				struct json_object *it =
				    json_object_array_get_idx(items, k);

				put_cell(x, ws, r, 0,
				    json_object_array_get_idx(it, 0), NULL);
				put_cell(x, ws, r, 1,
				    json_object_array_get_idx(it, 1), NULL);
			}
			break;
		case RENDER_TABLE:
			/* The table itself is on its own sheet. */
			ntab++;
			break;
		case RENDER_BAR_CHART:
			r = summary_chart(x, ws, r, b);
			break;
		}
	}
	(void)ntab;
}

static void
table_sheet(struct xctx *x, struct json_object *b, size_t n)
{
	struct json_object *cols = render_get(b, "columns");
	struct json_object *rows = render_get(b, "rows");
	size_t ncol = json_object_array_length(cols);
	size_t nrow = json_object_array_length(rows);
	size_t width[RENDER_MAX_COLUMNS], i, j;
	char name[SHEET_NAME_SZ];
	lxw_worksheet *ws;

	sheet_name(x, b, n, name, sizeof(name));
	if ((ws = workbook_add_worksheet(x->wb, name)) == NULL) {
		ok(x, LXW_ERROR_MEMORY_MALLOC_FAILED);
		return;
	}
	for (j = 0; j < ncol; j++)
		width[j] = put_cell(x, ws, 0, (lxw_col_t)j, render_get(
		    json_object_array_get_idx(cols, j), "title"), x->head);
	for (i = 0; i < nrow && x->lerr == LXW_NO_ERROR; i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);

		for (j = 0; j < ncol; j++) {
			size_t w = put_cell(x, ws, (lxw_row_t)(i + 1),
			    (lxw_col_t)j, json_object_array_get_idx(row, j),
			    NULL);

			if (w > width[j])
				width[j] = w;
		}
	}
	/* Widths from the content (bytes, so a little generous for
	 * non-ASCII), between 8 and 60 characters. */
	for (j = 0; j < ncol; j++) {
		double w = (double)(width[j] < 8 ? 8 : width[j] > 60 ? 60 :
		    width[j]) + 2;

		ok(x, worksheet_set_column(ws, (lxw_col_t)j, (lxw_col_t)j, w,
		    NULL));
	}
	worksheet_freeze_panes(ws, 1, 0);
	ok(x, worksheet_autofilter(ws, 0, 0, (lxw_row_t)nrow,
	    (lxw_col_t)(ncol - 1)));
}

/* The cells of all the document's tables. */
static size_t
cells(struct json_object *doc)
{
	struct json_object *blocks = render_get(doc, "blocks");
	size_t i, n = 0;

	for (i = 0; i < json_object_array_length(blocks); i++) {
		struct json_object *b = json_object_array_get_idx(blocks, i);

		if (render_kind(b) == RENDER_TABLE)
			n += json_object_array_length(render_get(b, "rows")) *
			    json_object_array_length(render_get(b, "columns"));
	}
	return n;
}

int
render_xlsx(struct json_object *doc, struct buf *out, char *err, size_t errsz)
{
	lxw_workbook_options opt = { 0 };
	struct xctx *x = NULL;
	struct json_object *blocks;
	const char *tmpdir = getenv("TMPDIR");
	char path[4096];
	size_t i, n, ntab = 0;
	int fd = -1, rc = -1, made = 0;

	if (render_validate(doc, err, errsz) < 0)
		return -1;
	if (tmpdir == NULL || tmpdir[0] != '/')
		tmpdir = "/tmp";
	if ((size_t)snprintf(path, sizeof(path), "%s/vigil-report-XXXXXX",
	    tmpdir) >= sizeof(path)) {
		snprintf(err, errsz, "TMPDIR is too long");
		return -1;
	}
	if ((fd = mkstemp(path)) < 0) {
		snprintf(err, errsz, "cannot create a temporary file in %s: %s",
		    tmpdir, strerror(errno));
		return -1;
	}
	made = 1;
	close(fd);
	fd = -1;
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	opt.constant_memory = cells(doc) > XLSX_SMALL_CELLS;
	opt.tmpdir = (char *)tmpdir;
	if ((x->wb = workbook_new_opt(path, &opt)) == NULL) {
		snprintf(err, errsz, "libxlsxwriter could not start a workbook");
		goto out;
	}
	x->title = workbook_add_format(x->wb);
	x->bold = workbook_add_format(x->wb);
	x->head = workbook_add_format(x->wb);
	if (x->title == NULL || x->bold == NULL || x->head == NULL) {
		ok(x, LXW_ERROR_MEMORY_MALLOC_FAILED);
	} else {
		format_set_bold(x->title);
		format_set_font_size(x->title, 14);
		format_set_bold(x->bold);
		format_set_bold(x->head);
		format_set_bg_color(x->head, 0xE5E7EB);
		format_set_bottom(x->head, LXW_BORDER_THIN);
	}
	summary(x, doc);
	blocks = render_get(doc, "blocks");
	n = json_object_array_length(blocks);
	for (i = 0; i < n && x->lerr == LXW_NO_ERROR; i++) {
		struct json_object *b = json_object_array_get_idx(blocks, i);

		if (render_kind(b) == RENDER_TABLE)
			table_sheet(x, b, ++ntab);
	}
	{
		lxw_error e = workbook_close(x->wb);

		x->wb = NULL;
		ok(x, e);
	}
	if (x->lerr != LXW_NO_ERROR) {
		snprintf(err, errsz, "libxlsxwriter: %s", lxw_strerror(x->lerr));
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errsz, "cannot read the workbook back: %s",
		    strerror(errno));
		goto out;
	}
	switch (buf_read_fd(out, fd)) {
	case 0:
		rc = 0;
		break;
	case -2:
		snprintf(err, errsz, "the XLSX is larger than the output cap "
		    "of %zu bytes", out->cap);
		break;
	default:
		snprintf(err, errsz, "cannot read the workbook back: %s",
		    strerror(errno));
		break;
	}
out:
	if (x != NULL && x->wb != NULL)
		workbook_close(x->wb);
	free(x);
	if (fd >= 0)
		close(fd);
	if (made)
		unlink(path);
	return rc;
}
