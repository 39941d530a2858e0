/* render_pdf.c: a report as a PDF through libhpdf (Haru). Text is set in a
 * TrueType font embedded in the file (DejaVu Sans by default: Latin,
 * Greek, Cyrillic and more) through libhpdf's UTF-8 encoder, so names in
 * any of those scripts print as written; tables break across pages with
 * their header row repeated; bar charts are drawn with rectangles. Every
 * page carries a footer with the title and "Page N of M". */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hpdf.h>

#include "buf.h"
#include "render.h"
#include "render_int.h"

static const char *font_regular = REPORT_FONT;
static const char *font_bold = REPORT_FONT_BOLD;

void
render_set_fonts(const char *regular, const char *bold)
{
	if (regular != NULL)
		font_regular = regular;
	if (bold != NULL)
		font_bold = bold;
}

#define MARGIN		50.0f
#define FOOTER		30.0f	/* space kept at the bottom for the footer */
#define CELL_FONT	8.0f
#define ROW_H		13.0f
#define HEAD_H		16.0f
#define LINE_H		10.0f	/* each further line of a wrapped cell */
#define CELL_LINES	4	/* lines of a cell at most, the last cut */
#define PAD		4.0f
/* A cell or label longer than this is cut before it is measured: no
 * column is wide enough to show more. */
#define MEASURE_MAX	400

struct pctx {
	HPDF_Doc	 pdf;
	HPDF_Font	 reg, bold;
	HPDF_Page	*pages;
	size_t		 npages, apages;
	float		 pw, ph;	/* page size */
	float		 y;		/* the top of what comes next */
	HPDF_STATUS	 herr, hdetail;
	int		 nomem;
};

static void
on_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *arg)
{
	struct pctx *c = arg;

	if (c->herr == 0) {
		c->herr = error_no;
		c->hdetail = detail_no;
	}
}

static int
failed(const struct pctx *c)
{
	return c->herr != 0 || c->nomem;
}

static HPDF_Page
page(const struct pctx *c)
{
	return c->pages[c->npages - 1];
}

static int
new_page(struct pctx *c)
{
	HPDF_Page p;

	if (c->npages == c->apages) {
		size_t n = c->apages ? c->apages * 2 : 16;
		HPDF_Page *np = realloc(c->pages, n * sizeof(*np));

		if (np == NULL) {
			c->nomem = 1;
			return -1;
		}
		c->pages = np;
		c->apages = n;
	}
	if ((p = HPDF_AddPage(c->pdf)) == NULL)
		return -1;
	HPDF_Page_SetWidth(p, c->pw);
	HPDF_Page_SetHeight(p, c->ph);
	c->pages[c->npages++] = p;
	c->y = c->ph - MARGIN;
	return failed(c) ? -1 : 0;
}

/* Start a new page unless h points still fit above the footer. */
static int
room(struct pctx *c, float h)
{
	if (c->y - h >= FOOTER + MARGIN / 2)
		return 0;
	return new_page(c);
}

/* Text libhpdf's UTF-8 encoder takes: characters beyond the Basic
 * Multilingual Plane (which it cannot map) become U+FFFD, and the text is
 * cut at MEASURE_MAX bytes when cut is set. Caller frees. */
static char *
pdf_text(struct pctx *c, const char *s, int cut)
{
	size_t len = strlen(s), i = 0, o = 0;
	char *out;

	if (cut && len > MEASURE_MAX)
		len = MEASURE_MAX;
	if ((out = malloc(len + 3)) == NULL) {
		c->nomem = 1;
		return NULL;
	}
	while (i < len) {
		unsigned char b = (unsigned char)s[i];
		size_t l = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;

		if (i + l > len)
			break;
		if (l == 4) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
		} else {
			memcpy(out + o, s + i, l);
			o += l;
		}
		i += l;
	}
	out[o] = '\0';
	return out;
}

static float
width(HPDF_Font f, float size, const char *s, size_t len)
{
	HPDF_TextWidth tw;

	if (len == 0)
		return 0;
	tw = HPDF_Font_TextWidth(f, (const HPDF_BYTE *)s, (HPDF_UINT)len);
	return (float)tw.width * size / 1000.0f;
}

static size_t
char_len(const char *s)
{
	unsigned char b = (unsigned char)s[0];

	return b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
}

static void
text_at(struct pctx *c, HPDF_Font f, float size, float x, float y,
    const char *s, unsigned rgb)
{
	HPDF_Page p = page(c);

	if (s[0] == '\0' || failed(c))
		return;
	HPDF_Page_SetRGBFill(p, (float)(rgb >> 16) / 255.0f,
	    (float)((rgb >> 8) & 0xff) / 255.0f, (float)(rgb & 0xff) / 255.0f);
	HPDF_Page_BeginText(p);
	HPDF_Page_SetFontAndSize(p, f, size);
	HPDF_Page_TextOut(p, x, y, s);
	HPDF_Page_EndText(p);
}

/* s drawn in at most w points: cut with an ellipsis when too long; right
 * aligned in [x, x+w] when right is set. */
static void
text_fit(struct pctx *c, HPDF_Font f, float size, float x, float y, float w,
    const char *s, int right, unsigned rgb)
{
	char *t = pdf_text(c, s, 1);
	float tw;

	if (t == NULL)
		return;
	tw = width(f, size, t, strlen(t));
	if (tw > w) {
		float ell = width(f, size, "\xe2\x80\xa6", 3), acc = 0;
		size_t i = 0, l;

		while (t[i] != '\0') {
			l = char_len(t + i);
			acc += width(f, size, t + i, l);
			if (acc + ell > w)
				break;
			i += l;
		}
		memcpy(t + i, "\xe2\x80\xa6", 4);
		tw = acc + ell;
		right = 0;
	}
	text_at(c, f, size, right ? x + w - tw : x, y, t, rgb);
	free(t);
}

/* A paragraph wrapped at spaces (or anywhere in a word too long for a
 * line) to w points, starting a new page when the next line does not fit.
 * Newlines in s break lines. */
static void
text_wrap(struct pctx *c, HPDF_Font f, float size, float x, float w,
    const char *s, unsigned rgb)
{
	float lh = size * 1.35f;
	char *t = pdf_text(c, s, 0), *line;
	size_t i = 0;

	if (t == NULL)
		return;
	line = t;
	while (*line != '\0' && !failed(c)) {
		size_t brk = 0, l;
		float acc = 0;
		char save;

		i = 0;
		while (line[i] != '\0' && line[i] != '\n') {
			l = char_len(line + i);
			acc += width(f, size, line + i, l);
			if (acc > w && i > 0)
				break;
			if (line[i] == ' ')
				brk = i;
			i += l;
		}
		if (line[i] != '\0' && line[i] != '\n' && brk > 0)
			i = brk;
		if (room(c, lh) < 0)
			break;
		save = line[i];
		line[i] = '\0';
		text_at(c, f, size, x, c->y - size, line, rgb);
		line[i] = save;
		c->y -= lh;
		line += i;
		if (*line == '\n' || *line == ' ')
			line++;
	}
	free(t);
}

static void
fill_rect(struct pctx *c, float x, float y, float w, float h, unsigned rgb)
{
	HPDF_Page p = page(c);

	if (failed(c) || w <= 0 || h <= 0)
		return;
	HPDF_Page_SetRGBFill(p, (float)(rgb >> 16) / 255.0f,
	    (float)((rgb >> 8) & 0xff) / 255.0f, (float)(rgb & 0xff) / 255.0f);
	HPDF_Page_Rectangle(p, x, y, w, h);
	HPDF_Page_Fill(p);
}

static void
line_at(struct pctx *c, float x1, float y1, float x2, float y2, unsigned rgb)
{
	HPDF_Page p = page(c);

	if (failed(c))
		return;
	HPDF_Page_SetLineWidth(p, 0.5f);
	HPDF_Page_SetRGBStroke(p, (float)(rgb >> 16) / 255.0f,
	    (float)((rgb >> 8) & 0xff) / 255.0f, (float)(rgb & 0xff) / 255.0f);
	HPDF_Page_MoveTo(p, x1, y1);
	HPDF_Page_LineTo(p, x2, y2);
	HPDF_Page_Stroke(p);
}

/* --- blocks ------------------------------------------------------------------- */

/* The height the start of a block needs on its page: a chart whole, a
 * table's header and three rows, a few lines of anything else. */
static float
first_height(struct json_object *b)
{
	if (b == NULL)
		return 0;
	switch (render_kind(b)) {
	case RENDER_BAR_CHART:
		return 150 + 70 + 24;
	case RENDER_TABLE:
		return HEAD_H + 3 * ROW_H + 4;
	default:
		return 40;
	}
}

/* A heading stays on the page of what it introduces (next, or NULL). */
static void
heading(struct pctx *c, const char *s, struct json_object *next)
{
	c->y -= 10;
	if (room(c, 30 + first_height(next)) < 0)
		return;
	text_wrap(c, c->bold, 13, MARGIN, c->pw - 2 * MARGIN, s, 0x111827);
	line_at(c, MARGIN, c->y + 2, c->pw - MARGIN, c->y + 2, 0xd1d5db);
	c->y -= 6;
}

static void
kv(struct pctx *c, struct json_object *b)
{
	struct json_object *items = render_get(b, "items");
	size_t i, n = json_object_array_length(items);
	float kw = (c->pw - 2 * MARGIN) * 0.4f;

	for (i = 0; i < n && !failed(c); i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		char *k = render_cell(json_object_array_get_idx(it, 0));
		char *v = render_cell(json_object_array_get_idx(it, 1));

		if (k != NULL && v != NULL && room(c, 14) == 0) {
			text_fit(c, c->reg, 10, MARGIN, c->y - 10, kw - PAD, k,
			    0, 0x4b5563);
			text_fit(c, c->bold, 10, MARGIN + kw, c->y - 10,
			    c->pw - 2 * MARGIN - kw, v, 0, 0x111827);
			c->y -= 14;
		} else if (k == NULL || v == NULL)
			c->nomem = 1;
		free(k);
		free(v);
	}
	c->y -= 6;
}

/* Wrap t to w points in at most max lines: line k is t[start[k] ..
 * end[k]); the last one holds the rest of the text, which text_fit cuts
 * with an ellipsis. Returns the number of lines (0 for empty text). */
static size_t
wrap_lines(HPDF_Font f, float size, float w, const char *t, size_t *start,
    size_t *end, size_t max)
{
	size_t n = 0, pos = 0, i, brk, l;
	float acc;

	while (t[pos] != '\0' && n < max) {
		start[n] = pos;
		if (n + 1 == max) {
			end[n++] = strlen(t);
			break;
		}
		i = pos;
		brk = 0;
		acc = 0;
		while (t[i] != '\0' && t[i] != '\n') {
			l = char_len(t + i);
			acc += width(f, size, t + i, l);
			if (acc > w && i > pos)
				break;
			/* Break at a space, or before a slash (paths, ids). */
			if (t[i] == ' ' || t[i] == '/')
				brk = i;
			i += l;
		}
		if (t[i] != '\0' && t[i] != '\n' && brk > pos)
			i = brk;
		end[n++] = i;
		pos = i;
		if (t[pos] == '\n' || t[pos] == ' ')
			pos++;
	}
	return n;
}

static void
table_header(struct pctx *c, struct json_object *b, const float *w,
    size_t ncol)
{
	struct json_object *cols = render_get(b, "columns");
	float x = MARGIN;
	size_t j;

	fill_rect(c, MARGIN, c->y - HEAD_H, c->pw - 2 * MARGIN, HEAD_H,
	    0xe5e7eb);
	for (j = 0; j < ncol; j++) {
		char *t = render_clean_member(json_object_array_get_idx(cols, j),
		    "title");

		if (t == NULL) {
			c->nomem = 1;
			return;
		}
		text_fit(c, c->bold, CELL_FONT, x + PAD, c->y - HEAD_H + 5,
		    w[j] - 2 * PAD, t, render_column_is_number(b, j), 0x111827);
		free(t);
		x += w[j];
	}
	c->y -= HEAD_H;
}

static void
table(struct pctx *c, struct json_object *b)
{
	struct json_object *cols = render_get(b, "columns");
	struct json_object *rows = render_get(b, "rows");
	size_t ncol = json_object_array_length(cols);
	size_t nrow = json_object_array_length(rows), i, j;
	float w[RENDER_MAX_COLUMNS], total = 0, avail = c->pw - 2 * MARGIN;
	float lo = 0, hi = 220, cap;
	int k;

	/* Natural widths from the titles and the first 200 rows, each
	 * between 30 and 220 points. Too wide together, the widest columns
	 * are cut to one width, the largest that fits (water-filling), so
	 * that ids, severities and counts stay whole; too narrow, they grow
	 * in proportion. */
	for (j = 0; j < ncol; j++) {
		char *t = render_clean_member(json_object_array_get_idx(cols, j),
		    "title");

		if (t == NULL) {
			c->nomem = 1;
			return;
		}
		w[j] = width(c->bold, CELL_FONT, t, strlen(t) > MEASURE_MAX ?
		    MEASURE_MAX : strlen(t));
		free(t);
	}
	for (i = 0; i < nrow && i < 200; i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);

		for (j = 0; j < ncol; j++) {
			char *s = render_cell(json_object_array_get_idx(row, j));
			char *t = s != NULL ? pdf_text(c, s, 1) : NULL;
			float tw;

			free(s);
			if (t == NULL) {
				c->nomem = 1;
				return;
			}
			tw = width(c->reg, CELL_FONT, t, strlen(t));
			free(t);
			if (tw > w[j])
				w[j] = tw;
		}
	}
	for (j = 0; j < ncol; j++) {
		w[j] += 2 * PAD;
		w[j] = w[j] < 30 ? 30 : w[j] > 220 ? 220 : w[j];
		total += w[j];
	}
	if (total <= avail) {
		for (j = 0; j < ncol; j++)
			w[j] = w[j] * avail / total;
	} else {
		/* The cap at which the columns, each cut to it, fill avail. */
		for (k = 0; k < 40; k++) {
			float sum = 0;

			cap = (lo + hi) / 2;
			for (j = 0; j < ncol; j++)
				sum += w[j] < cap ? w[j] : cap;
			if (sum > avail)
				hi = cap;
			else
				lo = cap;
		}
		total = 0;
		for (j = 0; j < ncol; j++) {
			w[j] = w[j] < lo ? w[j] : lo;
			total += w[j];
		}
		/* What the search left over goes to every column alike. */
		for (j = 0; j < ncol; j++)
			w[j] = w[j] * avail / total;
	}

	c->y -= 4;
	if (room(c, HEAD_H + 3 * ROW_H) < 0)
		return;
	table_header(c, b, w, ncol);
	for (i = 0; i < nrow && !failed(c); i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);
		char *t[RENDER_MAX_COLUMNS];
		size_t st[RENDER_MAX_COLUMNS][CELL_LINES];
		size_t en[RENDER_MAX_COLUMNS][CELL_LINES];
		size_t nl[RENDER_MAX_COLUMNS], lines = 1, ln;
		int num[RENDER_MAX_COLUMNS];
		float x = MARGIN, rh;

		/* A text cell wraps to CELL_LINES lines; the row is as tall
		 * as its tallest cell. */
		for (j = 0; j < ncol; j++) {
			struct json_object *v = json_object_array_get_idx(row, j);
			char *s = render_cell(v);

			num[j] = v != NULL &&
			    !json_object_is_type(v, json_type_string) &&
			    !json_object_is_type(v, json_type_null);
			t[j] = s != NULL ? pdf_text(c, s, 1) : NULL;
			free(s);
			if (t[j] == NULL) {
				while (j-- > 0)
					free(t[j]);
				c->nomem = 1;
				return;
			}
			if (num[j] || width(c->reg, CELL_FONT, t[j],
			    strlen(t[j])) <= w[j] - 2 * PAD) {
				nl[j] = 1;
				st[j][0] = 0;
				en[j][0] = strlen(t[j]);
			} else
				nl[j] = wrap_lines(c->reg, CELL_FONT,
				    w[j] - 2 * PAD, t[j], st[j], en[j],
				    CELL_LINES);
			if (nl[j] > lines)
				lines = nl[j];
		}
		rh = ROW_H + (float)(lines - 1) * LINE_H;
		if (c->y - rh < FOOTER + MARGIN / 2 && new_page(c) == 0)
			table_header(c, b, w, ncol);
		if (i % 2 == 1)
			fill_rect(c, MARGIN, c->y - rh, avail, rh, 0xf3f4f6);
		for (j = 0; j < ncol; j++) {
			for (ln = 0; ln < nl[j]; ln++) {
				char save = t[j][en[j][ln]], *p;

				t[j][en[j][ln]] = '\0';
				/* The last line may still hold newlines. */
				for (p = t[j] + st[j][ln]; *p != '\0'; p++)
					if (*p == '\n')
						*p = ' ';
				text_fit(c, c->reg, CELL_FONT, x + PAD,
				    c->y - 9 - (float)ln * LINE_H, w[j] - 2 * PAD,
				    t[j] + st[j][ln], num[j], 0x111827);
				t[j][en[j][ln]] = save;
			}
			free(t[j]);
			x += w[j];
		}
		c->y -= rh;
	}
	line_at(c, MARGIN, c->y, c->pw - MARGIN, c->y, 0x9ca3af);
	c->y -= 10;
}

static void
chart(struct pctx *c, struct json_object *b)
{
	struct json_object *cats = render_get(b, "categories");
	struct json_object *series = render_get(b, "series");
	struct json_object *st = render_get(b, "stacked");
	size_t ncat = json_object_array_length(cats);
	size_t nser = json_object_array_length(series), i, j, every;
	int stacked = st != NULL && json_object_get_boolean(st), ticks, t;
	float left = MARGIN + 40, pw = c->pw - MARGIN - left, ph = 150;
	float top, slot, lx;
	double max = render_axis_max(render_chart_max(b), &ticks);
	char *title = render_clean_member(b, "title");
	char num[64];

	if (title == NULL) {
		c->nomem = 1;
		return;
	}
	c->y -= 6;
	if (room(c, ph + 70) < 0) {
		free(title);
		return;
	}
	if (title[0] != '\0') {
		text_fit(c, c->bold, 10, MARGIN, c->y - 10, c->pw - 2 * MARGIN,
		    title, 0, 0x111827);
		c->y -= 18;
	}
	free(title);
	top = c->y - 4;
	for (t = 0; t <= ticks; t++) {
		float y = top - ph + ph * (float)t / (float)ticks;
		struct json_object *n = json_object_new_double(max * t / ticks);

		if (n == NULL) {
			c->nomem = 1;
			return;
		}
		render_number(n, num, sizeof(num));
		json_object_put(n);
		line_at(c, left, y, left + pw, y, t == 0 ? 0x6b7280 : 0xe5e7eb);
		text_fit(c, c->reg, 7, MARGIN, y - 2.5f, 36, num, 1, 0x374151);
	}
	slot = ncat > 0 ? pw / (float)ncat : pw;
	for (j = 0; j < ncat; j++) {
		float x0 = left + slot * (float)j + slot * 0.1f;
		float bw = slot * 0.8f;
		double base = 0;

		for (i = 0; i < nser; i++) {
			struct json_object *s = json_object_array_get_idx(series, i);
			struct json_object *vals = render_get(s, "values");
			double v = render_value(json_object_array_get_idx(vals, j));
			float bh = (float)(ph * v / max), x, y;
			char *name = render_cell(render_get(s, "name"));

			if (name == NULL) {
				c->nomem = 1;
				return;
			}
			if (stacked) {
				x = x0;
				y = top - ph + (float)(ph * base / max);
				base += v;
				fill_rect(c, x, y, bw, bh,
				    render_series_colour(name, i));
			} else {
				x = x0 + bw / (float)nser * (float)i;
				y = top - ph;
				fill_rect(c, x, y, bw / (float)nser, bh,
				    render_series_colour(name, i));
			}
			free(name);
		}
	}
	every = (size_t)(60.0f / slot) + 1;
	for (j = 0; j < ncat; j += every) {
		char *s = render_cell(json_object_array_get_idx(cats, j));
		char *tx = s != NULL ? pdf_text(c, s, 1) : NULL;
		float tw, lw = slot * (float)every - 4;

		free(s);
		if (tx == NULL) {
			c->nomem = 1;
			return;
		}
		tw = width(c->reg, 7, tx, strlen(tx));
		if (tw > lw)
			tw = lw;
		text_fit(c, c->reg, 7, left + slot * ((float)j + 0.5f) - tw / 2,
		    top - ph - 11, lw, tx, 0, 0x374151);
		free(tx);
	}
	/* The legend: a swatch and the name of each series, on one line as
	 * long as they fit. */
	c->y = top - ph - 28;
	lx = MARGIN;
	for (i = 0; i < nser && !failed(c); i++) {
		char *name = render_cell(render_get(
		    json_object_array_get_idx(series, i), "name"));
		char *tx = name != NULL ? pdf_text(c, name, 1) : NULL;
		float tw;

		if (tx == NULL) {
			free(name);
			c->nomem = 1;
			return;
		}
		tw = width(c->reg, 8, tx, strlen(tx));
		if (tw > 150)
			tw = 150;
		if (lx + 14 + tw > c->pw - MARGIN) {
			lx = MARGIN;
			c->y -= 12;
		}
		fill_rect(c, lx, c->y, 8, 8, render_series_colour(name, i));
		text_fit(c, c->reg, 8, lx + 11, c->y + 1, tw, tx, 0, 0x111827);
		lx += 11 + tw + 14;
		free(tx);
		free(name);
	}
	c->y -= 18;
}

static void
footers(struct pctx *c, const char *title)
{
	size_t i;
	char num[64];

	for (i = 0; i < c->npages && !failed(c); i++) {
		HPDF_Page keep = c->pages[c->npages - 1];

		/* page() draws on the last page: point it at page i. */
		c->pages[c->npages - 1] = c->pages[i];
		snprintf(num, sizeof(num), "Page %zu of %zu", i + 1, c->npages);
		line_at(c, MARGIN, FOOTER + 10, c->pw - MARGIN, FOOTER + 10,
		    0xd1d5db);
		text_fit(c, c->reg, 8, MARGIN, FOOTER, c->pw - 2 * MARGIN - 130,
		    title, 0, 0x6b7280);
		text_fit(c, c->reg, 8, c->pw - MARGIN - 120, FOOTER, 120, num, 1,
		    0x6b7280);
		c->pages[c->npages - 1] = keep;
	}
}

int
render_pdf(struct json_object *doc, const char *paper, struct buf *out,
    char *err, size_t errsz)
{
	struct pctx c;
	struct json_object *blocks;
	const char *rname, *bname;
	char *title = NULL, *s = NULL;
	size_t i, n;
	int rc = -1;

	if (render_validate(doc, err, errsz) < 0)
		return -1;
	memset(&c, 0, sizeof(c));
	if (paper == NULL || strcmp(paper, "a4") == 0) {
		c.pw = 595.276f;
		c.ph = 841.89f;
	} else if (strcmp(paper, "letter") == 0) {
		c.pw = 612;
		c.ph = 792;
	} else {
		snprintf(err, errsz, "paper: \"a4\" or \"letter\"");
		return -1;
	}
	if ((c.pdf = HPDF_New(on_error, &c)) == NULL) {
		snprintf(err, errsz, "libhpdf could not start a document");
		return -1;
	}
	/* Pages in a tree of nodes of 1,000: one node holds at most 32,767,
	 * and a document at the caps can have more pages than that. */
	HPDF_SetPagesConfiguration(c.pdf, 1000);
	HPDF_SetCompressionMode(c.pdf, HPDF_COMP_ALL);
	HPDF_UseUTFEncodings(c.pdf);
	HPDF_SetCurrentEncoder(c.pdf, "UTF-8");
	HPDF_SetInfoAttr(c.pdf, HPDF_INFO_CREATOR, "Vigil");
	if ((rname = HPDF_LoadTTFontFromFile(c.pdf, font_regular,
	    HPDF_TRUE)) == NULL ||
	    (bname = HPDF_LoadTTFontFromFile(c.pdf, font_bold,
	    HPDF_TRUE)) == NULL) {
		snprintf(err, errsz, "cannot load the report fonts %s and %s "
		    "(Debian: fonts-dejavu-core; configure --with-report-font)",
		    font_regular, font_bold);
		goto out;
	}
	c.reg = HPDF_GetFont(c.pdf, rname, "UTF-8");
	c.bold = HPDF_GetFont(c.pdf, bname, "UTF-8");
	if (c.reg == NULL || c.bold == NULL || new_page(&c) < 0)
		goto hpdf;

	if ((title = render_clean_member(doc, "title")) == NULL)
		goto nomem;
	HPDF_SetInfoAttr(c.pdf, HPDF_INFO_TITLE, title);
	text_wrap(&c, c.bold, 20, MARGIN, c.pw - 2 * MARGIN, title, 0x111827);
	if (render_get(doc, "subtitle") != NULL) {
		if ((s = render_clean_member(doc, "subtitle")) == NULL)
			goto nomem;
		text_wrap(&c, c.reg, 11, MARGIN, c.pw - 2 * MARGIN, s, 0x374151);
		free(s);
		s = NULL;
	}
	if (render_get(doc, "generated_at") != NULL) {
		char *g = render_clean_member(doc, "generated_at");

		if (g == NULL)
			goto nomem;
		if ((s = malloc(strlen(g) + 16)) != NULL)
			snprintf(s, strlen(g) + 16, "Generated %s", g);
		free(g);
		if (s == NULL)
			goto nomem;
		text_wrap(&c, c.reg, 8, MARGIN, c.pw - 2 * MARGIN, s, 0x6b7280);
		free(s);
		s = NULL;
	}
	c.y -= 8;

	blocks = render_get(doc, "blocks");
	n = json_object_array_length(blocks);
	for (i = 0; i < n && !failed(&c); i++) {
		struct json_object *b = json_object_array_get_idx(blocks, i);

		switch (render_kind(b)) {
		case RENDER_HEADING:
			if ((s = render_clean_member(b, "text")) == NULL)
				goto nomem;
			heading(&c, s, i + 1 < n ?
			    json_object_array_get_idx(blocks, i + 1) : NULL);
			break;
		case RENDER_PARAGRAPH:
			if ((s = render_clean_member(b, "text")) == NULL)
				goto nomem;
			text_wrap(&c, c.reg, 10, MARGIN, c.pw - 2 * MARGIN, s,
			    0x111827);
			c.y -= 6;
			break;
		case RENDER_KV:
			kv(&c, b);
			break;
		case RENDER_TABLE:
			table(&c, b);
			break;
		case RENDER_BAR_CHART:
			chart(&c, b);
			break;
		}
		free(s);
		s = NULL;
	}
	footers(&c, title);
	if (c.nomem)
		goto nomem;
	if (failed(&c))
		goto hpdf;
	if (HPDF_SaveToStream(c.pdf) != HPDF_OK)
		goto hpdf;
	HPDF_ResetStream(c.pdf);
	for (;;) {
		HPDF_BYTE chunk[16384];
		HPDF_UINT32 len = sizeof(chunk);
		HPDF_STATUS st = HPDF_ReadFromStream(c.pdf, chunk, &len);

		if (len > 0 && buf_append(out, chunk, len) < 0) {
			snprintf(err, errsz, "the PDF is larger than the output "
			    "cap of %zu bytes", out->cap);
			goto out;
		}
		if (st == HPDF_STREAM_EOF)
			break;
		if (st != HPDF_OK)
			goto hpdf;
	}
	rc = 0;
	goto out;
nomem:
	snprintf(err, errsz, "out of memory");
	goto out;
hpdf:
	snprintf(err, errsz, "libhpdf error 0x%04X (detail %u)",
	    (unsigned)c.herr, (unsigned)c.hdetail);
out:
	free(s);
	free(title);
	free(c.pages);
	HPDF_Free(c.pdf);
	return rc;
}
