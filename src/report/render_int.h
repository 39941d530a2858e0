/* render_int.h: what the four renderers share (render.c); not for callers
 * outside src/report/. */
#ifndef VIGIL_RENDER_INT_H
#define VIGIL_RENDER_INT_H

#include <stddef.h>

#include <json-c/json.h>

/* The kinds of block a document may hold. */
enum render_kind {
	RENDER_HEADING,
	RENDER_PARAGRAPH,
	RENDER_KV,
	RENDER_TABLE,
	RENDER_BAR_CHART
};

/* The kind of a block render_validate accepted. */
enum render_kind render_kind(struct json_object *block);
/* A new copy of s (len bytes) safe to draw: bad UTF-8 becomes U+FFFD,
 * control characters other than tab and newline are dropped (and CR too
 * unless keep_cr). Caller frees; NULL if memory ran out. */
char	*render_clean(const char *s, size_t len, int keep_cr);
/* render_clean of a JSON string member of obj ("" when absent). */
char	*render_clean_member(struct json_object *obj, const char *key);
/* A number cell as text ("3", "6.25") into out. */
void	 render_number(struct json_object *n, char *out, size_t outsz);
/* A cell (string, number or null) as a new cleaned string; "" for null.
 * Caller frees; NULL if memory ran out. */
char	*render_cell(struct json_object *cell);
/* The value of a chart value (null counts as 0). */
double	 render_value(struct json_object *v);
/* 1 if column col of a table block is declared "type": "number". */
int	 render_column_is_number(struct json_object *table, size_t col);
/* The table block CSV draws: "primary": true, else the first; NULL if
 * the document has none. */
struct json_object *render_primary_table(struct json_object *doc);
/* The member of obj, or NULL. */
struct json_object *render_get(struct json_object *obj, const char *key);

/* A round axis maximum >= max, split in *ticks steps of 1, 2, 2.5 or 5
 * times a power of ten (about five); max <= 0 gives 1 in one step. */
double	 render_axis_max(double max, int *ticks);
/* The largest bar of a chart block: the largest value, or the largest
 * category total when stacked. */
double	 render_chart_max(struct json_object *chart);
/* The colour of series i of a chart named name, as 0xRRGGBB: the usual
 * severity colours for critical, high, medium, low and info, else a fixed
 * palette by position. */
unsigned render_series_colour(const char *name, size_t i);

#endif
