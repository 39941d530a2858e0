/* render.h: a report document (a json-c object, the model below) drawn as
 * CSV, HTML, PDF or XLSX. Pure functions: no database, no network; the
 * only file they touch is the TrueType font the PDF embeds (and, for
 * XLSX, one temporary file libxlsxwriter needs, removed before return).
 *
 * The document:
 *
 *   { "title": "…", "subtitle": "…", "generated_at": "…",
 *     "blocks": [
 *       { "kind": "heading",   "text": "…" },
 *       { "kind": "paragraph", "text": "…" },
 *       { "kind": "kv",        "items": [["key", "value" | number | null], …] },
 *       { "kind": "table",     "name": "…", "primary": true,
 *         "columns": [{"key": "…", "title": "…", "type": "number"}, …],
 *         "rows": [[cell, …], …] },            cells: string, number or null
 *       { "kind": "bar_chart", "title": "…", "categories": ["…", …],
 *         "stacked": true, "series": [{"name": "…", "values": [n, …]}, …] } ] }
 *
 * title and blocks are required, subtitle and generated_at optional; keys
 * not named here are ignored. A column of "type": "number" holds numbers
 * or null only; chart values are numbers from 0 to 1e15 (null counts as
 * 0). A column's "key" is the builder's; the renderers show "title".
 * CSV draws the table marked "primary" (else the first table); XLSX gives
 * each table a sheet (named by "name", else "Table N") after a "Summary"
 * sheet (title, headings, paragraphs, kv items, and each chart's numbers
 * with an Excel chart of them); HTML and PDF draw every block in order.
 *
 * Each renderer first checks the whole document (render_validate): an
 * unknown block kind, a missing or mistyped field or a document over the
 * caps below is refused with a message naming the place
 * ("blocks[3].rows[12][2]: …"), never drawn in part. Strings that are not
 * valid UTF-8 are drawn with U+FFFD in place of the bad bytes, and control
 * characters other than tab and newline (and CR in CSV and XLSX cells) are
 * dropped.
 *
 * All four return 0 with the file appended to out, or -1 with a message in
 * err (out may then hold part of a file: discard it). The output is also
 * bounded by out's own cap (buf_init): a report that would not fit fails.
 */
#ifndef VIGIL_RENDER_H
#define VIGIL_RENDER_H

#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"

/* Caps on a document, checked before anything is drawn. */
#define RENDER_MAX_BLOCKS        1000     /* blocks in a document */
#define RENDER_MAX_TABLES        100      /* tables in a document */
#define RENDER_MAX_COLUMNS       64       /* columns of one table */
#define RENDER_MAX_ROWS          100000   /* rows of one table */
#define RENDER_MAX_CELLS         2000000  /* cells of all tables together */
#define RENDER_MAX_STRING        16384    /* bytes of one string */
#define RENDER_MAX_KV            1000     /* items of one kv block */
#define RENDER_MAX_CATEGORIES    1000     /* categories of one chart */
#define RENDER_MAX_SERIES        32       /* series of one chart */

/* 0 if doc is a report document within the caps, else -1 with err set. */
int	 render_validate(struct json_object *doc, char *err, size_t errsz);

/* RFC 4180 (CRLF, fields quoted when they hold ", comma, CR or LF); a
 * string cell or title starting with =, +, -, @, tab or CR is prefixed
 * with ' so a spreadsheet does not run it as a formula. */
int	 render_csv(struct json_object *doc, struct buf *out, char *err,
	    size_t errsz);
/* One self-contained page: inline CSS (allowed by the page's own
 * Content-Security-Policy through its hash), bar charts as inline SVG, no
 * script, no external resource, every string escaped. */
int	 render_html(struct json_object *doc, struct buf *out, char *err,
	    size_t errsz);
/* PDF through libhpdf; paper "a4" or "letter" (NULL means a4). Tables
 * break across pages with their header repeated; text in an embedded
 * TrueType font through libhpdf's UTF-8 encoder. */
int	 render_pdf(struct json_object *doc, const char *paper, struct buf *out,
	    char *err, size_t errsz);
/* XLSX through libxlsxwriter: "Summary" then one sheet per table; number
 * cells are numbers, strings are strings (never formulas). */
int	 render_xlsx(struct json_object *doc, struct buf *out, char *err,
	    size_t errsz);

/* The TrueType fonts render_pdf embeds (regular and bold). The defaults
 * come from configure --with-report-font / --with-report-font-bold (Debian
 * fonts-dejavu-core's DejaVu Sans); NULL keeps the current one. Call before
 * rendering, from one thread. */
void	 render_set_fonts(const char *regular, const char *bold);

#endif
