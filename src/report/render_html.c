/* render_html.c: a report as one self-contained HTML page. Everything the
 * page needs is in it: the style sheet is one <style> element that the
 * page's own Content-Security-Policy allows by its SHA-256 hash, charts
 * are inline SVG drawn with presentation attributes (no style attribute,
 * which a strict policy would block), and there is no script, image or
 * link to load. Every string from the document is escaped. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "render.h"
#include "render_int.h"

static const char css[] =
	"body{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;"
	"color:#111827;margin:2em auto;max-width:64em;padding:0 1em;"
	"font-size:14px}"
	"h1{font-size:1.7em;margin:0 0 .2em}"
	"h2{font-size:1.25em;margin:1.6em 0 .5em;border-bottom:1px solid "
	"#d1d5db;padding-bottom:.2em}"
	".subtitle{color:#374151;margin:0}"
	".generated{color:#6b7280;font-size:.85em;margin:.3em 0 1em}"
	"p{line-height:1.45;white-space:pre-wrap}"
	"table{border-collapse:collapse;margin:.5em 0 1.2em;width:100%}"
	"th,td{border:1px solid #d1d5db;padding:.3em .5em;text-align:left;"
	"vertical-align:top;overflow-wrap:anywhere}"
	"th{background:#e5e7eb}"
	"tbody tr:nth-child(even){background:#f9fafb}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
	"table.kv{width:auto}"
	"table.kv th{background:none;font-weight:normal;color:#374151}"
	"figure{margin:1em 0}"
	"figcaption{font-weight:bold;margin-bottom:.3em}"
	"svg{max-width:100%;height:auto}"
	"ul.legend{list-style:none;padding:0;margin:.3em 0}"
	"ul.legend li{display:inline-block;margin-right:1.2em}"
	"@media print{body{margin:0;max-width:none}"
	"thead{display:table-header-group}tr{break-inside:avoid}}";

/* Append s escaped for element text and attribute values alike. */
static int
esc(struct buf *out, const char *s)
{
	const char *p, *r;

	for (p = s; *p != '\0'; p++) {
		switch (*p) {
		case '&': r = "&amp;"; break;
		case '<': r = "&lt;"; break;
		case '>': r = "&gt;"; break;
		case '"': r = "&quot;"; break;
		case '\'': r = "&#39;"; break;
		default: r = NULL; break;
		}
		if (r == NULL) {
			size_t n = strcspn(p, "&<>\"'");

			if (buf_append(out, p, n) < 0)
				return -1;
			p += n - 1;
		} else if (buf_puts(out, r) < 0)
			return -1;
	}
	return 0;
}

/* esc of a JSON string or cell, cleaned first. */
static int
esc_cell(struct buf *out, struct json_object *v)
{
	char *s;
	int rc;

	if ((s = render_cell(v)) == NULL)
		return -1;
	rc = esc(out, s);
	free(s);
	return rc;
}

static int
esc_member(struct buf *out, struct json_object *obj, const char *key)
{
	char *s;
	int rc;

	if ((s = render_clean_member(obj, key)) == NULL)
		return -1;
	rc = esc(out, s);
	free(s);
	return rc;
}

static int
kv(struct buf *out, struct json_object *b)
{
	struct json_object *items = render_get(b, "items");
	size_t i, n = json_object_array_length(items);

	if (buf_puts(out, "<table class=\"kv\"><tbody>\n") < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		struct json_object *v = json_object_array_get_idx(it, 1);
		int num = v != NULL && !json_object_is_type(v, json_type_string) &&
		    !json_object_is_type(v, json_type_null);

		if (buf_puts(out, "<tr><th scope=\"row\">") < 0 ||
		    esc_cell(out, json_object_array_get_idx(it, 0)) < 0 ||
		    buf_puts(out, num ? "</th><td class=\"n\">" : "</th><td>") < 0 ||
		    esc_cell(out, v) < 0 ||
		    buf_puts(out, "</td></tr>\n") < 0)
			return -1;
	}
	return buf_puts(out, "</tbody></table>\n");
}

static int
table(struct buf *out, struct json_object *b)
{
	struct json_object *cols = render_get(b, "columns");
	struct json_object *rows = render_get(b, "rows");
	size_t i, j, ncol, nrow;

	ncol = json_object_array_length(cols);
	nrow = json_object_array_length(rows);
	if (buf_puts(out, "<table><thead><tr>") < 0)
		return -1;
	for (j = 0; j < ncol; j++) {
		if (buf_puts(out, render_column_is_number(b, j) ?
		    "<th scope=\"col\" class=\"n\">" : "<th scope=\"col\">") < 0 ||
		    esc_member(out, json_object_array_get_idx(cols, j),
		    "title") < 0 ||
		    buf_puts(out, "</th>") < 0)
			return -1;
	}
	if (buf_puts(out, "</tr></thead>\n<tbody>\n") < 0)
		return -1;
	for (i = 0; i < nrow; i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);

		if (buf_puts(out, "<tr>") < 0)
			return -1;
		for (j = 0; j < ncol; j++) {
			struct json_object *c = json_object_array_get_idx(row, j);
			int num = c != NULL &&
			    !json_object_is_type(c, json_type_string) &&
			    !json_object_is_type(c, json_type_null);

			if (buf_puts(out, num ? "<td class=\"n\">" : "<td>") < 0 ||
			    esc_cell(out, c) < 0 || buf_puts(out, "</td>") < 0)
				return -1;
		}
		if (buf_puts(out, "</tr>\n") < 0)
			return -1;
	}
	return buf_puts(out, "</tbody></table>\n");
}

/* A bar chart as inline SVG: grouped bars, or one stacked bar per
 * category; each bar carries a <title> (series, category, value) that a
 * browser shows on hover and a screen reader reads. */
static int
chart(struct buf *out, struct json_object *b)
{
	struct json_object *cats = render_get(b, "categories");
	struct json_object *series = render_get(b, "series");
	struct json_object *st = render_get(b, "stacked");
	const double w = 720, h = 260, left = 56, right = 12, top = 12,
	    bottom = 40;
	double pw = w - left - right, ph = h - top - bottom, max, slot;
	size_t i, j, ncat, nser, every;
	int stacked = st != NULL && json_object_get_boolean(st), ticks, t;
	char num[64];

	ncat = json_object_array_length(cats);
	nser = json_object_array_length(series);
	max = render_axis_max(render_chart_max(b), &ticks);
	if (buf_puts(out, "<figure>") < 0)
		return -1;
	if (render_get(b, "title") != NULL &&
	    (buf_puts(out, "<figcaption>") < 0 ||
	    esc_member(out, b, "title") < 0 ||
	    buf_puts(out, "</figcaption>") < 0))
		return -1;
	/* A screen reader announces the chart by its title; the bars'
	 * <title>s carry the numbers. */
	if (buf_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
	    "role=\"img\" font-family=\"DejaVu Sans, Verdana, sans-serif\" "
	    "font-size=\"11\" aria-label=\"", w, h, w, h) < 0 ||
	    esc_member(out, b, "title") < 0 || buf_puts(out, "\">\n") < 0)
		return -1;
	for (t = 0; t <= ticks; t++) {
		double y = top + ph - ph * t / ticks;
		struct json_object *n = json_object_new_double(max * t / ticks);

		if (n == NULL)
			return -1;
		render_number(n, num, sizeof(num));
		json_object_put(n);
		if (buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		    "y2=\"%.1f\" stroke=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" "
		    "text-anchor=\"end\" fill=\"#374151\">%s</text>\n", left, y,
		    left + pw, y, t == 0 ? "#6b7280" : "#e5e7eb", left - 6,
		    y + 4, num) < 0)
			return -1;
	}
	slot = ncat > 0 ? pw / (double)ncat : pw;
	for (j = 0; j < ncat; j++) {
		double x0 = left + slot * (double)j + slot * 0.1;
		double bw = slot * 0.8, base = 0;

		for (i = 0; i < nser; i++) {
			struct json_object *s = json_object_array_get_idx(series, i);
			struct json_object *vals = render_get(s, "values");
			struct json_object *v = json_object_array_get_idx(vals, j);
			struct json_object *name = render_get(s, "name");
			double val = render_value(v), x, y, bh;
			char *cname;

			bh = ph * val / max;
			if (stacked) {
				x = x0;
				y = top + ph - ph * base / max - bh;
				base += val;
			} else {
				x = x0 + bw / (double)nser * (double)i;
				y = top + ph - bh;
			}
			if (val <= 0)
				continue;
			if ((cname = render_cell(name)) == NULL)
				return -1;
			if (buf_printf(out, "<rect x=\"%.2f\" y=\"%.2f\" "
			    "width=\"%.2f\" height=\"%.2f\" fill=\"#%06x\">"
			    "<title>", x, y,
			    stacked ? bw : bw / (double)nser, bh,
			    render_series_colour(cname, i)) < 0 ||
			    esc(out, cname) < 0 || buf_puts(out, ", ") < 0 ||
			    esc_cell(out, json_object_array_get_idx(cats, j)) < 0 ||
			    buf_puts(out, ": ") < 0 || esc_cell(out, v) < 0 ||
			    buf_puts(out, "</title></rect>\n") < 0) {
				free(cname);
				return -1;
			}
			free(cname);
		}
	}
	/* Category labels: as many as fit, about 80 units apart. */
	every = (size_t)(80.0 / slot) + 1;
	for (j = 0; j < ncat; j += every) {
		if (buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" "
		    "text-anchor=\"middle\" fill=\"#374151\">",
		    left + slot * ((double)j + 0.5), top + ph + 16) < 0 ||
		    esc_cell(out, json_object_array_get_idx(cats, j)) < 0 ||
		    buf_puts(out, "</text>\n") < 0)
			return -1;
	}
	if (buf_puts(out, "</svg>\n<ul class=\"legend\">") < 0)
		return -1;
	for (i = 0; i < nser; i++) {
		char *cname = render_cell(render_get(
		    json_object_array_get_idx(series, i), "name"));

		if (cname == NULL)
			return -1;
		if (buf_printf(out, "<li><svg xmlns=\"http://www.w3.org/2000/svg\" "
		    "width=\"10\" height=\"10\" aria-hidden=\"true\"><rect "
		    "width=\"10\" height=\"10\" fill=\"#%06x\"/></svg> ",
		    render_series_colour(cname, i)) < 0 ||
		    esc(out, cname) < 0 || buf_puts(out, "</li>") < 0) {
			free(cname);
			return -1;
		}
		free(cname);
	}
	return buf_puts(out, "</ul></figure>\n");
}

int
render_html(struct json_object *doc, struct buf *out, char *err, size_t errsz)
{
	struct json_object *blocks;
	unsigned char digest[CRYPTO_SHA256_LEN];
	char hash[4 * ((CRYPTO_SHA256_LEN + 2) / 3) + 1];
	size_t i, n;

	if (render_validate(doc, err, errsz) < 0)
		return -1;
	crypto_sha256(css, sizeof(css) - 1, digest);
	crypto_base64(digest, sizeof(digest), hash);
	/* The policy allows nothing but this page's own style sheet. */
	if (buf_printf(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\""
	    "default-src 'none'; style-src 'sha256-%s'; base-uri 'none'; "
	    "form-action 'none'\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<title>", hash) < 0 ||
	    esc_member(out, doc, "title") < 0 ||
	    buf_printf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n"
	    "<header><h1>", css) < 0 ||
	    esc_member(out, doc, "title") < 0 ||
	    buf_puts(out, "</h1>\n") < 0)
		goto full;
	if (render_get(doc, "subtitle") != NULL &&
	    (buf_puts(out, "<p class=\"subtitle\">") < 0 ||
	    esc_member(out, doc, "subtitle") < 0 ||
	    buf_puts(out, "</p>\n") < 0))
		goto full;
	if (render_get(doc, "generated_at") != NULL &&
	    (buf_puts(out, "<p class=\"generated\">Generated ") < 0 ||
	    esc_member(out, doc, "generated_at") < 0 ||
	    buf_puts(out, "</p>\n") < 0))
		goto full;
	if (buf_puts(out, "</header>\n<main>\n") < 0)
		goto full;
	blocks = render_get(doc, "blocks");
	n = json_object_array_length(blocks);
	for (i = 0; i < n; i++) {
		struct json_object *b = json_object_array_get_idx(blocks, i);
		int rc = 0;

		switch (render_kind(b)) {
		case RENDER_HEADING:
			rc = buf_puts(out, "<h2>") < 0 ||
			    esc_member(out, b, "text") < 0 ||
			    buf_puts(out, "</h2>\n") < 0 ? -1 : 0;
			break;
		case RENDER_PARAGRAPH:
			rc = buf_puts(out, "<p>") < 0 ||
			    esc_member(out, b, "text") < 0 ||
			    buf_puts(out, "</p>\n") < 0 ? -1 : 0;
			break;
		case RENDER_KV:
			rc = kv(out, b);
			break;
		case RENDER_TABLE:
			rc = table(out, b);
			break;
		case RENDER_BAR_CHART:
			rc = chart(out, b);
			break;
		}
		if (rc < 0)
			goto full;
	}
	if (buf_puts(out, "</main>\n</body>\n</html>\n") < 0)
		goto full;
	return 0;
full:
	snprintf(err, errsz, "the HTML is larger than the output cap of %zu "
	    "bytes (or memory ran out)", out->cap);
	return -1;
}
