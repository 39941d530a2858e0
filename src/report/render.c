/* render.c: the report document's checks (render_validate) and what the
 * renderers share: clean text, cells as text, the primary table. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "render.h"
#include "render_int.h"

struct json_object *
render_get(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/* --- validation ---------------------------------------------------------- */

struct vctx {
	char	*err;
	size_t	 errsz;
	size_t	 cells;
	size_t	 tables;
};

static int
verr(struct vctx *c, const char *path, const char *msg)
{
	snprintf(c->err, c->errsz, "%s: %s", path, msg);
	return -1;
}

static int
check_string(struct vctx *c, struct json_object *v, const char *path,
    int required)
{
	if (v == NULL || json_object_is_type(v, json_type_null))
		return required ? verr(c, path, "required string missing") : 0;
	if (!json_object_is_type(v, json_type_string))
		return verr(c, path, "not a string");
	if ((size_t)json_object_get_string_len(v) > RENDER_MAX_STRING)
		return verr(c, path, "string longer than the cap of "
		    "16384 bytes");
	return 0;
}

static int
check_number(struct vctx *c, struct json_object *v, const char *path)
{
	double d;

	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return verr(c, path, "not a number");
	d = json_object_get_double(v);
	if (!isfinite(d))
		return verr(c, path, "not a finite number");
	return 0;
}

/* A cell: string, number or null; a number column refuses strings. */
static int
check_cell(struct vctx *c, struct json_object *v, const char *path,
    int number)
{
	if (v == NULL || json_object_is_type(v, json_type_null))
		return 0;
	if (json_object_is_type(v, json_type_string)) {
		if (number)
			return verr(c, path, "a string in a number column");
		return check_string(c, v, path, 1);
	}
	if (json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double))
		return check_number(c, v, path);
	return verr(c, path, "a cell must be a string, a number or null");
}

static int
check_array(struct vctx *c, struct json_object *v, const char *path,
    size_t max, size_t *np)
{
	if (v == NULL)
		return verr(c, path, "required array missing");
	if (!json_object_is_type(v, json_type_array))
		return verr(c, path, "not an array");
	*np = json_object_array_length(v);
	if (*np > max) {
		char msg[96];

		snprintf(msg, sizeof(msg), "more than the cap of %zu items",
		    max);
		return verr(c, path, msg);
	}
	return 0;
}

static int
check_kv(struct vctx *c, struct json_object *b, const char *bpath)
{
	struct json_object *items = render_get(b, "items");
	char path[160];
	size_t i, n;

	snprintf(path, sizeof(path), "%s.items", bpath);
	if (check_array(c, items, path, RENDER_MAX_KV, &n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(items, i);

		snprintf(path, sizeof(path), "%s.items[%zu]", bpath, i);
		if (!json_object_is_type(it, json_type_array) ||
		    json_object_array_length(it) != 2)
			return verr(c, path, "an item is [key, value]");
		snprintf(path, sizeof(path), "%s.items[%zu][0]", bpath, i);
		if (check_string(c, json_object_array_get_idx(it, 0), path,
		    1) < 0)
			return -1;
		snprintf(path, sizeof(path), "%s.items[%zu][1]", bpath, i);
		if (check_cell(c, json_object_array_get_idx(it, 1), path,
		    0) < 0)
			return -1;
	}
	return 0;
}

static int
check_table(struct vctx *c, struct json_object *b, const char *bpath)
{
	struct json_object *cols = render_get(b, "columns");
	struct json_object *rows = render_get(b, "rows");
	struct json_object *v;
	char path[192];
	size_t i, j, ncol, nrow;

	snprintf(path, sizeof(path), "%s.name", bpath);
	if (check_string(c, render_get(b, "name"), path, 0) < 0)
		return -1;
	v = render_get(b, "primary");
	if (v != NULL && !json_object_is_type(v, json_type_boolean) &&
	    !json_object_is_type(v, json_type_null)) {
		snprintf(path, sizeof(path), "%s.primary", bpath);
		return verr(c, path, "not a boolean");
	}
	snprintf(path, sizeof(path), "%s.columns", bpath);
	if (check_array(c, cols, path, RENDER_MAX_COLUMNS, &ncol) < 0)
		return -1;
	if (ncol == 0)
		return verr(c, path, "a table needs at least one column");
	for (i = 0; i < ncol; i++) {
		struct json_object *col = json_object_array_get_idx(cols, i);
		const char *t;

		snprintf(path, sizeof(path), "%s.columns[%zu]", bpath, i);
		if (!json_object_is_type(col, json_type_object))
			return verr(c, path, "a column is an object");
		snprintf(path, sizeof(path), "%s.columns[%zu].key", bpath, i);
		if (check_string(c, render_get(col, "key"), path, 0) < 0)
			return -1;
		snprintf(path, sizeof(path), "%s.columns[%zu].title", bpath, i);
		if (check_string(c, render_get(col, "title"), path, 1) < 0)
			return -1;
		snprintf(path, sizeof(path), "%s.columns[%zu].type", bpath, i);
		v = render_get(col, "type");
		if (check_string(c, v, path, 0) < 0)
			return -1;
		t = v != NULL ? json_object_get_string(v) : NULL;
		if (t != NULL && strcmp(t, "number") != 0 &&
		    strcmp(t, "string") != 0)
			return verr(c, path, "a column type is \"string\" or "
			    "\"number\"");
	}
	snprintf(path, sizeof(path), "%s.rows", bpath);
	if (check_array(c, rows, path, RENDER_MAX_ROWS, &nrow) < 0)
		return -1;
	for (i = 0; i < nrow; i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);

		snprintf(path, sizeof(path), "%s.rows[%zu]", bpath, i);
		if (!json_object_is_type(row, json_type_array))
			return verr(c, path, "a row is an array of cells");
		if (json_object_array_length(row) != ncol)
			return verr(c, path, "a row has one cell per column");
		c->cells += ncol;
		if (c->cells > RENDER_MAX_CELLS)
			return verr(c, path, "the document's tables hold more "
			    "than the cap of 2000000 cells");
		for (j = 0; j < ncol; j++) {
			snprintf(path, sizeof(path), "%s.rows[%zu][%zu]",
			    bpath, i, j);
			if (check_cell(c, json_object_array_get_idx(row, j),
			    path, render_column_is_number(b, j)) < 0)
				return -1;
		}
	}
	return 0;
}

static int
check_chart(struct vctx *c, struct json_object *b, const char *bpath)
{
	struct json_object *cats = render_get(b, "categories");
	struct json_object *series = render_get(b, "series");
	struct json_object *v;
	char path[192];
	size_t i, j, ncat, nser, nval;

	snprintf(path, sizeof(path), "%s.title", bpath);
	if (check_string(c, render_get(b, "title"), path, 0) < 0)
		return -1;
	v = render_get(b, "stacked");
	if (v != NULL && !json_object_is_type(v, json_type_boolean) &&
	    !json_object_is_type(v, json_type_null)) {
		snprintf(path, sizeof(path), "%s.stacked", bpath);
		return verr(c, path, "not a boolean");
	}
	snprintf(path, sizeof(path), "%s.categories", bpath);
	if (check_array(c, cats, path, RENDER_MAX_CATEGORIES, &ncat) < 0)
		return -1;
	for (i = 0; i < ncat; i++) {
		snprintf(path, sizeof(path), "%s.categories[%zu]", bpath, i);
		if (check_string(c, json_object_array_get_idx(cats, i), path,
		    1) < 0)
			return -1;
	}
	snprintf(path, sizeof(path), "%s.series", bpath);
	if (check_array(c, series, path, RENDER_MAX_SERIES, &nser) < 0)
		return -1;
	for (i = 0; i < nser; i++) {
		struct json_object *s = json_object_array_get_idx(series, i);
		struct json_object *vals;

		snprintf(path, sizeof(path), "%s.series[%zu]", bpath, i);
		if (!json_object_is_type(s, json_type_object))
			return verr(c, path, "a series is an object");
		snprintf(path, sizeof(path), "%s.series[%zu].name", bpath, i);
		if (check_string(c, render_get(s, "name"), path, 1) < 0)
			return -1;
		vals = render_get(s, "values");
		snprintf(path, sizeof(path), "%s.series[%zu].values", bpath, i);
		if (check_array(c, vals, path, RENDER_MAX_CATEGORIES,
		    &nval) < 0)
			return -1;
		if (nval != ncat)
			return verr(c, path, "a series has one value per "
			    "category");
		for (j = 0; j < nval; j++) {
			v = json_object_array_get_idx(vals, j);
			snprintf(path, sizeof(path), "%s.series[%zu].values[%zu]",
			    bpath, i, j);
			if (v == NULL || json_object_is_type(v, json_type_null))
				continue;
			if (check_number(c, v, path) < 0)
				return -1;
			/* Counts and percentages: a bound keeps a stacked
			 * bar's sum, and the axis, finite. */
			if (json_object_get_double(v) < 0 ||
			    json_object_get_double(v) > 1e15)
				return verr(c, path, "a chart value is between 0 "
				    "and 1e15");
		}
	}
	return 0;
}

static const struct {
	const char		*name;
	enum render_kind	 kind;
} kinds[] = {
	{ "heading",	RENDER_HEADING },
	{ "paragraph",	RENDER_PARAGRAPH },
	{ "kv",		RENDER_KV },
	{ "table",	RENDER_TABLE },
	{ "bar_chart",	RENDER_BAR_CHART },
};

/* The kind named by a block, or -1. */
static int
kind_of(struct json_object *b)
{
	struct json_object *k = render_get(b, "kind");
	const char *s;
	size_t i;

	if (k == NULL || !json_object_is_type(k, json_type_string))
		return -1;
	s = json_object_get_string(k);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(s, kinds[i].name) == 0)
			return (int)kinds[i].kind;
	return -1;
}

enum render_kind
render_kind(struct json_object *block)
{
	int k = kind_of(block);

	return k < 0 ? RENDER_PARAGRAPH : (enum render_kind)k;
}

int
render_validate(struct json_object *doc, char *err, size_t errsz)
{
	struct vctx c = { err, errsz, 0, 0 };
	struct json_object *blocks;
	char path[64];
	size_t i, n;

	if (errsz > 0)
		err[0] = '\0';
	if (doc == NULL || !json_object_is_type(doc, json_type_object))
		return verr(&c, "document", "not a JSON object");
	if (check_string(&c, render_get(doc, "title"), "title", 1) < 0 ||
	    check_string(&c, render_get(doc, "subtitle"), "subtitle", 0) < 0 ||
	    check_string(&c, render_get(doc, "generated_at"), "generated_at",
	    0) < 0)
		return -1;
	blocks = render_get(doc, "blocks");
	if (check_array(&c, blocks, "blocks", RENDER_MAX_BLOCKS, &n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct json_object *b = json_object_array_get_idx(blocks, i);
		int k;

		snprintf(path, sizeof(path), "blocks[%zu]", i);
		if (!json_object_is_type(b, json_type_object))
			return verr(&c, path, "a block is an object");
		if ((k = kind_of(b)) < 0)
			return verr(&c, path, "unknown block kind (heading, "
			    "paragraph, kv, table, bar_chart)");
		switch ((enum render_kind)k) {
		case RENDER_HEADING:
		case RENDER_PARAGRAPH:
			snprintf(path, sizeof(path), "blocks[%zu].text", i);
			if (check_string(&c, render_get(b, "text"), path,
			    1) < 0)
				return -1;
			break;
		case RENDER_KV:
			if (check_kv(&c, b, path) < 0)
				return -1;
			break;
		case RENDER_TABLE:
			if (++c.tables > RENDER_MAX_TABLES)
				return verr(&c, path, "more than the cap of 100 "
				    "tables");
			if (check_table(&c, b, path) < 0)
				return -1;
			break;
		case RENDER_BAR_CHART:
			if (check_chart(&c, b, path) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

/* --- shared helpers ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	/* C1 controls are dropped like C0 ones. */
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	return len;
}

char *
render_clean(const char *s, size_t len, int keep_cr)
{
	const unsigned char *u = (const unsigned char *)s;
	char *out, *o;
	size_t i = 0, l;

	/* U+FFFD is three bytes for one bad byte: at most three times. */
	if ((out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	o = out;
	while (i < len) {
		if (u[i] < 0x20 || u[i] == 0x7f) {
			if (u[i] == '\t' || u[i] == '\n' ||
			    (u[i] == '\r' && keep_cr))
				*o++ = (char)u[i];
			i++;
			continue;
		}
		if ((l = utf8_len(u + i, len - i)) == 0) {
			/* A C1 control in valid UTF-8 is dropped whole. */
			if (u[i] == 0xc2 && i + 1 < len && u[i + 1] >= 0x80 &&
			    u[i + 1] <= 0x9f) {
				i += 2;
				continue;
			}
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(o, u + i, l);
		o += l;
		i += l;
	}
	*o = '\0';
	return out;
}

char *
render_clean_member(struct json_object *obj, const char *key)
{
	struct json_object *v = render_get(obj, key);

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return render_clean("", 0, 0);
	return render_clean(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), 0);
}

void
render_number(struct json_object *n, char *out, size_t outsz)
{
	double d;

	if (json_object_is_type(n, json_type_int)) {
		snprintf(out, outsz, "%lld",
		    (long long)json_object_get_int64(n));
		return;
	}
	d = json_object_get_double(n);
	/* Integral values print without a fraction, others with up to 15
	 * significant digits (so 6.2 stays 6.2, not 6.2000000000000002). */
	if (d == floor(d) && fabs(d) < 1e15)
		snprintf(out, outsz, "%.0f", d);
	else
		snprintf(out, outsz, "%.15g", d);
}

char *
render_cell(struct json_object *cell)
{
	char num[64];

	if (cell == NULL || json_object_is_type(cell, json_type_null))
		return render_clean("", 0, 0);
	if (json_object_is_type(cell, json_type_string))
		return render_clean(json_object_get_string(cell),
		    (size_t)json_object_get_string_len(cell), 0);
	render_number(cell, num, sizeof(num));
	return render_clean(num, strlen(num), 0);
}

double
render_value(struct json_object *v)
{
	if (v == NULL || json_object_is_type(v, json_type_null))
		return 0;
	return json_object_get_double(v);
}

int
render_column_is_number(struct json_object *table, size_t col)
{
	struct json_object *cols = render_get(table, "columns");
	struct json_object *t;

	if (cols == NULL || !json_object_is_type(cols, json_type_array) ||
	    col >= json_object_array_length(cols))
		return 0;
	t = render_get(json_object_array_get_idx(cols, col), "type");
	return t != NULL && json_object_is_type(t, json_type_string) &&
	    strcmp(json_object_get_string(t), "number") == 0;
}

struct json_object *
render_primary_table(struct json_object *doc)
{
	struct json_object *blocks = render_get(doc, "blocks");
	struct json_object *first = NULL;
	size_t i, n;

	n = json_object_array_length(blocks);
	for (i = 0; i < n; i++) {
		struct json_object *b = json_object_array_get_idx(blocks, i);
		struct json_object *p;

		if (render_kind(b) != RENDER_TABLE)
			continue;
		if (first == NULL)
			first = b;
		p = render_get(b, "primary");
		if (p != NULL && json_object_get_boolean(p))
			return b;
	}
	return first;
}

double
render_axis_max(double max, int *ticks)
{
	double raw, p, f, step, n;

	/* Tiny values would give a zero step: such a chart gets 0..1. */
	if (!(max >= 1e-9) || !isfinite(max)) {
		*ticks = 1;
		return 1;
	}
	/* About five steps of 1, 2, 2.5 or 5 times a power of ten. */
	raw = max / 5;
	p = pow(10, floor(log10(raw)));
	f = raw / p;
	step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
	/* Whole numbers never get a fractional step. */
	if (step < 1 && max == floor(max))
		step = 1;
	n = ceil(max / step - 1e-9);
	if (n < 1)
		n = 1;
	*ticks = (int)n;
	return n * step;
}

double
render_chart_max(struct json_object *chart)
{
	struct json_object *series = render_get(chart, "series");
	struct json_object *st = render_get(chart, "stacked");
	size_t i, j, nser, ncat;
	int stacked = st != NULL && json_object_get_boolean(st);
	double max = 0;

	nser = json_object_array_length(series);
	ncat = json_object_array_length(render_get(chart, "categories"));
	for (j = 0; j < ncat; j++) {
		double sum = 0;

		for (i = 0; i < nser; i++) {
			struct json_object *vals = render_get(
			    json_object_array_get_idx(series, i), "values");
			double v = render_value(json_object_array_get_idx(vals, j));

			if (stacked)
				sum += v;
			else if (v > max)
				max = v;
		}
		if (stacked && sum > max)
			max = sum;
	}
	return max;
}

unsigned
render_series_colour(const char *name, size_t i)
{
	static const struct {
		const char	*name;
		unsigned	 rgb;
	} sev[] = {
		{ "critical",	0x7f1d1d },
		{ "high",	0xdc2626 },
		{ "medium",	0xf59e0b },
		{ "low",	0x3b82f6 },
		{ "info",	0x9ca3af },
		{ "informational", 0x9ca3af },
	};
	static const unsigned palette[] = {
		0x2563eb, 0x16a34a, 0xea580c, 0x9333ea, 0x0891b2, 0xdb2777,
		0x65a30d, 0x475569,
	};
	size_t k;

	for (k = 0; name != NULL && k < sizeof(sev) / sizeof(sev[0]); k++)
		if (strcasecmp(name, sev[k].name) == 0)
			return sev[k].rgb;
	return palette[i % (sizeof(palette) / sizeof(palette[0]))];
}
