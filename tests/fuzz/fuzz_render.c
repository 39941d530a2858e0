/* fuzz_render.c: libFuzzer target for the report document check and the
 * four renderers (src/report/). The input is JSON text (json-c, at most 32
 * levels). Checks: a document render_validate refuses is refused by every
 * renderer with the same message and nothing written; one it accepts is
 * drawn by each (CSV unless it has no table), and
 *   - the CSV is RFC 4180: CRLF lines of as many fields as the table has
 *     columns, and no field a spreadsheet would run as a formula;
 *   - the HTML holds no tag but the renderer's own (every string escaped)
 *     and no style attribute in any tag;
 *   - the PDF is one (%PDF- … %%EOF), the XLSX a zip archive.
 * Built by "make fuzz". */
#include "vigil.h"

#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "fuzz.h"
#include "render.h"

#define CAP	(32u << 20)

/* The elements render_html writes; anything else after '<' is a string
 * that escaped its escaping. */
static const char *const tags[] = { "!DOCTYPE", "html", "head", "meta",
    "title", "style", "body", "header", "h1", "h2", "p", "main", "table",
    "thead", "tbody", "tr", "th", "td", "figure", "figcaption", "svg",
    "line", "text", "rect", "ul", "li", NULL };

static void
check_html(const struct buf *b)
{
	const char *p = b->data, *end = b->data + b->len;
	size_t i, n;

	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		const char *gt = memchr(p, '>', (size_t)(end - p));

		/* No style attribute inside a tag: text may say style=, but
		 * escaped it never holds a quote, so style=" is an attribute. */
		FUZZ_CHECK(gt != NULL);
		FUZZ_CHECK(memmem(p, (size_t)(gt - p), "style=\"", 7) == NULL);
		p++;
		if (*p == '/')
			p++;
		n = strspn(p, "!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789");
		FUZZ_CHECK(p[n] == ' ' || p[n] == '>' || p[n] == '/');
		for (i = 0; tags[i] != NULL; i++)
			if (strlen(tags[i]) == n && strncmp(p, tags[i], n) == 0)
				break;
		if (tags[i] == NULL)
			fprintf(stderr, "unexpected tag at: %.40s\n", p);
		FUZZ_CHECK(tags[i] != NULL);
	}
}

/* The table CSV draws: "primary": true, else the first. */
static json_object *
csv_table(json_object *doc)
{
	json_object *blocks = json_object_object_get(doc, "blocks"), *first = NULL;
	size_t i;

	for (i = 0; i < json_object_array_length(blocks); i++) {
		json_object *b = json_object_array_get_idx(blocks, i);
		json_object *k = json_object_object_get(b, "kind");
		json_object *p = json_object_object_get(b, "primary");

		if (strcmp(json_object_get_string(k), "table") != 0)
			continue;
		if (first == NULL)
			first = b;
		if (p != NULL && json_object_get_boolean(p))
			return b;
	}
	return first;
}

static void
check_csv(const struct buf *b, size_t ncol)
{
	const char *s = b->data, *end = b->data + b->len;
	size_t fields = 0;

	while (s < end) {
		int quoted = *s == '"';

		if (quoted)
			s++;
		/* A field may not start with what a spreadsheet runs (a CR
		 * unquoted ends the field; "-" may start a number). */
		FUZZ_CHECK(s >= end || *s == '\0' ||
		    strchr(quoted ? "=+@\t\r" : "=+@\t", *s) == NULL);
		if (quoted) {
			for (;;) {
				FUZZ_CHECK(s < end);
				if (s[0] == '"' && s + 1 < end && s[1] == '"')
					s += 2;
				else if (s[0] == '"') {
					s++;
					break;
				} else
					s++;
			}
		} else {
			while (s < end && *s != ',' && *s != '\r') {
				FUZZ_CHECK(*s != '"' && *s != '\n');
				s++;
			}
		}
		fields++;
		FUZZ_CHECK(s < end);
		if (*s == ',') {
			s++;
			continue;
		}
		FUZZ_CHECK(s + 1 < end && s[0] == '\r' && s[1] == '\n');
		s += 2;
		FUZZ_CHECK(fields == ncol);
		fields = 0;
	}
	FUZZ_CHECK(fields == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_tokener *tok;
	json_object *doc;
	struct buf b;
	char err[512], err2[512];
	int ok;

	if ((tok = json_tokener_new_ex(32)) == NULL)
		return 0;
	doc = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	if (doc == NULL)
		return 0;
	buf_init(&b, CAP);
	ok = render_validate(doc, err, sizeof(err)) == 0;
	if (!ok) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(render_csv(doc, &b, err2, sizeof(err2)) == -1);
		FUZZ_CHECK(strcmp(err, err2) == 0);
		FUZZ_CHECK(render_html(doc, &b, err2, sizeof(err2)) == -1);
		FUZZ_CHECK(render_pdf(doc, "a4", &b, err2, sizeof(err2)) == -1);
		FUZZ_CHECK(render_xlsx(doc, &b, err2, sizeof(err2)) == -1);
		FUZZ_CHECK(strcmp(err, err2) == 0);
		FUZZ_CHECK(b.len == 0);
		goto out;
	}
	if (csv_table(doc) != NULL) {
		json_object *cols = json_object_object_get(csv_table(doc),
		    "columns");

		FUZZ_CHECK(render_csv(doc, &b, err, sizeof(err)) == 0);
		check_csv(&b, json_object_array_length(cols));
	} else
		FUZZ_CHECK(render_csv(doc, &b, err, sizeof(err)) == -1);
	buf_reset(&b);
	FUZZ_CHECK(render_html(doc, &b, err, sizeof(err)) == 0);
	buf_append(&b, "", 1);
	check_html(&b);
	buf_reset(&b);
	if (render_pdf(doc, size % 2 ? "letter" : "a4", &b, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "render_pdf: %s\n", err);
		FUZZ_CHECK(0);
	}
	FUZZ_CHECK(b.len > 10 && memcmp(b.data, "%PDF-", 5) == 0);
	FUZZ_CHECK(memmem(b.data + b.len - 10, 10, "%%EOF", 5) != NULL);
	buf_reset(&b);
	if (render_xlsx(doc, &b, err, sizeof(err)) != 0) {
		fprintf(stderr, "render_xlsx: %s\n", err);
		FUZZ_CHECK(0);
	}
	FUZZ_CHECK(b.len > 4 && memcmp(b.data, "PK\x03\x04", 4) == 0);
out:
	buf_free(&b);
	json_object_put(doc);
	return 0;
}
