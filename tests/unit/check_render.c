/* check_render.c: the report renderers, each read back the way a user's
 * tool would read it: CSV parsed per RFC 4180, HTML searched for what a
 * browser would run, XLSX unzipped and its sheet XML read, PDF through
 * pdftotext and pdfinfo (poppler-utils), and every page of the sample
 * reports written as PNG (pdftoppm) under render-pages/ in the build
 * directory for a person to look at. */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "render.h"
#include "suites.h"

#ifndef VIGIL_TOP_SRCDIR
#define VIGIL_TOP_SRCDIR "."
#endif

#define OUT_CAP	(64u << 20)

/* Names in four scripts and strings a spreadsheet or browser would run. */
static const char sample[] =
    "{\"title\":\"Executive report\",\"subtitle\":\"Tenant acme\","
    "\"generated_at\":\"2026-12-05T10:00:00Z\",\"blocks\":["
    "{\"kind\":\"heading\",\"text\":\"Open findings\"},"
    "{\"kind\":\"paragraph\",\"text\":\"Two lines\\nof text.\"},"
    "{\"kind\":\"kv\",\"items\":[[\"Open findings\",1204],"
    "[\"Mean time to resolve\",\"6.2 days\"],[\"None\",null]]},"
    "{\"kind\":\"table\",\"name\":\"resources\",\"columns\":["
    "{\"key\":\"r\",\"title\":\"Resource\"},"
    "{\"key\":\"c\",\"title\":\"Count\",\"type\":\"number\"}],"
    "\"rows\":[[\"Zürich-Speicher\",3],[\"vm-Łódź\",-2],[\"nsg-Москва\",2.5],"
    "[\"webapp-Ελλάδα\",null]]},"
    "{\"kind\":\"table\",\"name\":\"findings\",\"primary\":true,\"columns\":["
    "{\"key\":\"id\",\"title\":\"ID\"},{\"key\":\"t\",\"title\":\"=Title\"},"
    "{\"key\":\"n\",\"title\":\"N\",\"type\":\"number\"}],"
    "\"rows\":[[\"fnd_1\",\"=HYPERLINK(\\\"http://evil\\\",\\\"x\\\")\",-3],"
    "[\"fnd_2\",\"+1+2\",0],[\"fnd_3\",\"-2+3\",1],[\"fnd_4\",\"@SUM(A1)\",2],"
    "[\"fnd_5\",\"\\tcmd\",3],[\"fnd_6\",\"\\rcmd\",4],"
    "[\"fnd_7\",\"say \\\"hi\\\", then\\nleave\",5],[\"fnd_8\",null,null],"
    "[\"fnd_9\",\"plain\",1.5]]},"
    "{\"kind\":\"bar_chart\",\"title\":\"By severity\",\"stacked\":true,"
    "\"categories\":[\"2026-11-01\",\"2026-11-02\"],\"series\":["
    "{\"name\":\"critical\",\"values\":[1,2]},"
    "{\"name\":\"high\",\"values\":[3,null]}]}]}";

static json_object *
parse(const char *s)
{
	json_object *o = json_tokener_parse(s);

	ck_assert_msg(o != NULL, "test document does not parse: %s", s);
	return o;
}

/* The whole output of a shell command, NUL-terminated (caller frees). */
static char *
run(const char *cmd)
{
	struct buf b;
	FILE *p;
	int rc;

	buf_init(&b, OUT_CAP);
	p = popen(cmd, "r");
	ck_assert_msg(p != NULL, "cannot run %s", cmd);
	ck_assert_int_eq(buf_read_fd(&b, fileno(p)), 0);
	rc = pclose(p);
	ck_assert_msg(rc == 0, "%s failed (%d): is poppler-utils/unzip "
	    "installed? (./dev test installs them)", cmd, rc);
	buf_append(&b, "", 1);
	return buf_detach(&b, NULL);
}

static void
write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b->data, 1, b->len, f), b->len);
	ck_assert_int_eq(fclose(f), 0);
}

static char tmpdir[256];

static void
mktmp(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/check_render_XXXXXX",
	    t != NULL && t[0] == '/' ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
rmtmp(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* --- validation --------------------------------------------------------------- */

static const struct {
	const char	*doc;
	const char	*err;	/* a part of the message */
} bad[] = {
	{ "[]", "document: not a JSON object" },
	{ "{\"blocks\":[]}", "title: required string missing" },
	{ "{\"title\":1,\"blocks\":[]}", "title: not a string" },
	{ "{\"title\":\"t\"}", "blocks: required array missing" },
	{ "{\"title\":\"t\",\"blocks\":{}}", "blocks: not an array" },
	{ "{\"title\":\"t\",\"blocks\":[1]}", "blocks[0]: a block is an object" },
	{ "{\"title\":\"t\",\"blocks\":[{\"kind\":\"pie_chart\"}]}",
	  "blocks[0]: unknown block kind" },
	{ "{\"title\":\"t\",\"blocks\":[{\"text\":\"x\"}]}",
	  "blocks[0]: unknown block kind" },
	{ "{\"title\":\"t\",\"blocks\":[{\"kind\":\"heading\",\"text\":3}]}",
	  "blocks[0].text: not a string" },
	{ "{\"title\":\"t\",\"blocks\":[{\"kind\":\"kv\",\"items\":[[\"a\"]]}]}",
	  "blocks[0].items[0]: an item is [key, value]" },
	{ "{\"title\":\"t\",\"blocks\":[{\"kind\":\"kv\",\"items\":[[\"a\",[1]]]}]}",
	  "blocks[0].items[0][1]: a cell must be" },
	{ "{\"title\":\"t\",\"blocks\":[{\"kind\":\"table\",\"columns\":[],"
	  "\"rows\":[]}]}", "blocks[0].columns: a table needs" },
	{ "{\"title\":\"t\",\"blocks\":[{\"kind\":\"table\",\"columns\":"
	  "[{\"title\":\"a\"}],\"rows\":[[1,2]]}]}",
	  "blocks[0].rows[0]: a row has one cell per column" },
	{ "{\"title\":\"t\",\"blocks\":[{\"kind\":\"table\",\"columns\":"
	  "[{\"title\":\"a\",\"type\":\"number\"}],\"rows\":[[1],[\"x\"]]}]}",
	  "blocks[0].rows[1][0]: a string in a number column" },
	{ "{\"title\":\"t\",\"blocks\":[{\"kind\":\"table\",\"columns\":"
	  "[{\"title\":\"a\"}],\"rows\":[[true]]}]}",
	  "blocks[0].rows[0][0]: a cell must be a string, a number or null" },
	{ "{\"title\":\"t\",\"blocks\":[{\"kind\":\"table\",\"columns\":"
	  "[{\"title\":\"a\",\"type\":\"date\"}],\"rows\":[]}]}",
	  "blocks[0].columns[0].type" },
	{ "{\"title\":\"t\",\"blocks\":[{\"kind\":\"table\",\"columns\":"
	  "[{}],\"rows\":[]}]}", "blocks[0].columns[0].title: required" },
	{ "{\"title\":\"t\",\"blocks\":[{\"kind\":\"bar_chart\",\"categories\":"
	  "[\"a\"],\"series\":[{\"name\":\"s\",\"values\":[1,2]}]}]}",
	  "blocks[0].series[0].values: a series has one value per category" },
	{ "{\"title\":\"t\",\"blocks\":[{\"kind\":\"bar_chart\",\"categories\":"
	  "[\"a\"],\"series\":[{\"name\":\"s\",\"values\":[-1]}]}]}",
	  "blocks[0].series[0].values[0]: a chart value is between 0 and 1e15" },
	{ "{\"title\":\"t\",\"blocks\":[{\"kind\":\"bar_chart\",\"categories\":"
	  "[\"a\",\"b\"],\"series\":[{\"name\":\"s\",\"values\":[1,1e300]}]}]}",
	  "blocks[0].series[0].values[1]: a chart value is between 0 and 1e15" },
	{ "{\"title\":\"t\",\"blocks\":[{\"kind\":\"bar_chart\",\"categories\":"
	  "[\"a\"],\"series\":[{\"name\":\"s\",\"values\":[\"1\"]}]}]}",
	  "blocks[0].series[0].values[0]: not a number" },
	{ "{\"title\":\"t\",\"blocks\":[{\"kind\":\"bar_chart\",\"categories\":"
	  "[\"a\"],\"stacked\":\"yes\",\"series\":[]}]}",
	  "blocks[0].stacked: not a boolean" },
};

START_TEST(test_render_validate_bad)
{
	json_object *d = parse(bad[_i].doc);
	struct buf b;
	char err[256];

	buf_init(&b, OUT_CAP);
	ck_assert_int_eq(render_validate(d, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, bad[_i].err) != NULL, "%s: got \"%s\"",
	    bad[_i].doc, err);
	/* Every renderer refuses it the same way and draws nothing. */
	err[0] = '\0';
	ck_assert_int_eq(render_csv(d, &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, bad[_i].err));
	ck_assert_int_eq(render_html(d, &b, err, sizeof(err)), -1);
	ck_assert_int_eq(render_pdf(d, "a4", &b, err, sizeof(err)), -1);
	ck_assert_int_eq(render_xlsx(d, &b, err, sizeof(err)), -1);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
	json_object_put(d);
}
END_TEST

START_TEST(test_render_validate_caps)
{
	json_object *d = parse("{\"title\":\"t\",\"blocks\":[{\"kind\":"
	    "\"table\",\"columns\":[],\"rows\":[]}]}");
	json_object *b = json_object_array_get_idx(
	    json_object_object_get(d, "blocks"), 0);
	json_object *cols = json_object_object_get(b, "columns");
	json_object *big;
	char err[256], *s;
	int i;

	for (i = 0; i < RENDER_MAX_COLUMNS + 1; i++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "title", json_object_new_string("c"));
		json_object_array_add(cols, c);
	}
	ck_assert_int_eq(render_validate(d, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "blocks[0].columns: more than the "
	    "cap of 64"));
	json_object_put(d);

	/* A string over 16 KiB, and a number that is not finite. */
	s = malloc(RENDER_MAX_STRING + 2);
	memset(s, 'a', RENDER_MAX_STRING + 1);
	s[RENDER_MAX_STRING + 1] = '\0';
	d = parse("{\"title\":\"t\",\"blocks\":[]}");
	json_object_object_add(d, "subtitle", json_object_new_string(s));
	ck_assert_int_eq(render_validate(d, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "subtitle: string longer"));
	json_object_put(d);
	free(s);

	d = parse("{\"title\":\"t\",\"blocks\":[{\"kind\":\"kv\",\"items\":[]}]}");
	big = json_object_new_array();
	json_object_array_add(big, json_object_new_string("k"));
	json_object_array_add(big, json_object_new_double(NAN));
	json_object_array_add(json_object_object_get(json_object_array_get_idx(
	    json_object_object_get(d, "blocks"), 0), "items"), big);
	ck_assert_int_eq(render_validate(d, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "blocks[0].items[0][1]: not a "
	    "finite number"));
	json_object_put(d);

	d = parse(sample);
	ck_assert_int_eq(render_validate(d, err, sizeof(err)), 0);
	json_object_put(d);
}
END_TEST

/* --- CSV ------------------------------------------------------------------------ */

/* Parse RFC 4180 text into rows of fields: fields[r][c], NULL-terminated
 * lists; every line must end in CRLF. */
#define CSV_MAX 32

static int
csv_parse(const char *s, char *fields[CSV_MAX][CSV_MAX], int ncols[CSV_MAX])
{
	int r = 0, c = 0;

	memset(ncols, 0, sizeof(int) * CSV_MAX);
	while (*s != '\0') {
		struct buf f;

		buf_init(&f, 1 << 20);
		buf_append(&f, "", 0);
		if (*s == '"') {
			s++;
			for (;;) {
				ck_assert_msg(*s != '\0', "unterminated quote");
				if (*s == '"' && s[1] == '"') {
					buf_append(&f, "\"", 1);
					s += 2;
				} else if (*s == '"') {
					s++;
					break;
				} else
					buf_append(&f, s++, 1);
			}
		} else {
			while (*s != ',' && *s != '\r' && *s != '\0') {
				ck_assert_msg(*s != '"' && *s != '\n',
				    "quote or LF in an unquoted field");
				buf_append(&f, s++, 1);
			}
		}
		ck_assert_int_lt(r, CSV_MAX);
		ck_assert_int_lt(c, CSV_MAX);
		fields[r][c++] = buf_detach(&f, NULL);
		if (*s == ',') {
			s++;
			continue;
		}
		ck_assert_msg(s[0] == '\r' && s[1] == '\n', "a line ends in CRLF");
		s += 2;
		ncols[r++] = c;
		c = 0;
	}
	return r;
}

START_TEST(test_render_csv)
{
	json_object *d = parse(sample);
	char *f[CSV_MAX][CSV_MAX], err[256];
	int ncols[CSV_MAX], n, r, c;
	struct buf b;

	buf_init(&b, OUT_CAP);
	ck_assert_int_eq(render_csv(d, &b, err, sizeof(err)), 0);
	n = csv_parse(b.data, f, ncols);
	/* The primary table (not the first one): header and nine rows. */
	ck_assert_int_eq(n, 10);
	for (r = 0; r < n; r++)
		ck_assert_int_eq(ncols[r], 3);
	ck_assert_str_eq(f[0][0], "ID");
	ck_assert_str_eq(f[0][1], "'=Title");
	ck_assert_str_eq(f[1][1], "'=HYPERLINK(\"http://evil\",\"x\")");
	ck_assert_str_eq(f[1][2], "-3");	/* a number stays a number */
	ck_assert_str_eq(f[2][1], "'+1+2");
	ck_assert_str_eq(f[3][1], "'-2+3");
	ck_assert_str_eq(f[4][1], "'@SUM(A1)");
	ck_assert_str_eq(f[5][1], "'\tcmd");
	ck_assert_str_eq(f[6][1], "'\rcmd");
	ck_assert_str_eq(f[7][1], "say \"hi\", then\nleave");
	ck_assert_str_eq(f[8][1], "");
	ck_assert_str_eq(f[8][2], "");
	ck_assert_str_eq(f[9][2], "1.5");
	for (r = 0; r < n; r++)
		for (c = 0; c < ncols[r]; c++)
			free(f[r][c]);

	/* Without a table there is nothing to write. */
	json_object_put(d);
	d = parse("{\"title\":\"t\",\"blocks\":[{\"kind\":\"heading\","
	    "\"text\":\"h\"}]}");
	ck_assert_int_eq(render_csv(d, &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no table"));
	json_object_put(d);

	/* The output cap is kept. */
	d = parse(sample);
	buf_free(&b);
	buf_init(&b, 64);
	ck_assert_int_eq(render_csv(d, &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "larger than the output cap"));
	buf_free(&b);
	json_object_put(d);
}
END_TEST

/* --- HTML ------------------------------------------------------------------------ */

START_TEST(test_render_html_escapes)
{
	json_object *d = parse("{\"title\":\"<script>alert(1)</script>\","
	    "\"subtitle\":\"\\\"><img src=x onerror=alert(1)>\","
	    "\"blocks\":[{\"kind\":\"paragraph\",\"text\":\"a & b ' c\"},"
	    "{\"kind\":\"table\",\"columns\":[{\"title\":\"<b>T</b>\"}],"
	    "\"rows\":[[\"</td><script>x()</script>\"],[\"bad \\u0001\\u007f\"]]},"
	    "{\"kind\":\"bar_chart\",\"title\":\"<svg onload=x()>\","
	    "\"categories\":[\"</text><script>y()</script>\"],"
	    "\"series\":[{\"name\":\"' onmouseover='z()\",\"values\":[2]}]}]}");
	unsigned char digest[32];
	char err[256], hash[64], want[128];
	const char *st, *en;
	struct buf b;

	buf_init(&b, OUT_CAP);
	ck_assert_int_eq(render_html(d, &b, err, sizeof(err)), 0);
	ck_assert_ptr_null(strstr(b.data, "<script"));
	ck_assert_ptr_null(strstr(b.data, "<img"));
	ck_assert_ptr_null(strstr(b.data, "<b>"));
	ck_assert_ptr_null(strstr(b.data, "<svg onload"));
	ck_assert_ptr_null(strstr(b.data, "' onmouseover"));
	ck_assert_ptr_null(strstr(b.data, "\x01"));
	ck_assert_ptr_null(strstr(b.data, "\x7f"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
	ck_assert_ptr_nonnull(strstr(b.data, "a &amp; b &#39; c"));
	ck_assert_ptr_nonnull(strstr(b.data, "&#39; onmouseover=&#39;z()"));
	/* Nothing a strict policy blocks: no style attribute, no script,
	 * nothing loaded; the one style sheet is allowed by its hash. */
	ck_assert_ptr_null(strstr(b.data, "style="));
	ck_assert_ptr_null(strstr(b.data, " src=\""));
	ck_assert_ptr_null(strstr(b.data, " href=\""));
	ck_assert_ptr_nonnull(strstr(b.data, "<svg "));
	st = strstr(b.data, "<style>");
	en = strstr(b.data, "</style>");
	ck_assert_ptr_nonnull(st);
	ck_assert_ptr_nonnull(en);
	st += strlen("<style>");
	crypto_sha256(st, (size_t)(en - st), digest);
	crypto_base64(digest, sizeof(digest), hash);
	snprintf(want, sizeof(want), "content=\"default-src 'none'; "
	    "style-src 'sha256-%s';", hash);
	ck_assert_msg(strstr(b.data, want) != NULL, "no policy %s", want);
	ck_assert_ptr_null(strstr(en + 1, "<style"));
	buf_free(&b);
	json_object_put(d);
}
END_TEST

START_TEST(test_render_html_sample)
{
	json_object *d = parse(sample);
	char err[256];
	struct buf b;

	buf_init(&b, OUT_CAP);
	ck_assert_int_eq(render_html(d, &b, err, sizeof(err)), 0);
	/* Every block, in order, names as written. */
	ck_assert_ptr_nonnull(strstr(b.data, "<h2>Open findings</h2>"));
	ck_assert_ptr_nonnull(strstr(b.data, "<td>Zürich-Speicher</td>"));
	ck_assert_ptr_nonnull(strstr(b.data, "<td>nsg-Москва</td>"));
	ck_assert_ptr_nonnull(strstr(b.data, "<td class=\"n\">2.5</td>"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "<th scope=\"row\">Open findings</th><td class=\"n\">1204</td>"));
	ck_assert(strstr(b.data, "Resource") < strstr(b.data, "fnd_1"));
	ck_assert(strstr(b.data, "fnd_1") < strstr(b.data, "<svg "));
	/* The stacked chart: critical's colour, a bar per non-zero value. */
	ck_assert_ptr_nonnull(strstr(b.data, "fill=\"#7f1d1d\""));
	ck_assert_ptr_nonnull(strstr(b.data, "aria-label=\"By severity\">"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "<title>high, 2026-11-01: 3</title>"));
	ck_assert_ptr_null(strstr(b.data, "<title>high, 2026-11-02"));
	buf_free(&b);
	json_object_put(d);
}
END_TEST

/* --- XLSX ------------------------------------------------------------------------ */

START_TEST(test_render_xlsx)
{
	json_object *d = parse(sample);
	char err[256], path[512], cmd[1024], *x;
	struct buf b;
	json_object *tb;

	/* A third table whose name Excel would refuse, named like the
	 * first. */
	tb = parse("{\"kind\":\"table\",\"name\":\"resources\",\"columns\":"
	    "[{\"title\":\"a\"}],\"rows\":[[\"x\"]]}");
	json_object_array_add(json_object_object_get(d, "blocks"), tb);
	tb = parse("{\"kind\":\"table\",\"name\":\"a/b:c*[d]?\",\"columns\":"
	    "[{\"title\":\"a\"}],\"rows\":[]}");
	json_object_array_add(json_object_object_get(d, "blocks"), tb);
	mktmp();
	buf_init(&b, OUT_CAP);
	ck_assert_int_eq(render_xlsx(d, &b, err, sizeof(err)), 0);
	ck_assert_mem_eq(b.data, "PK", 2);
	snprintf(path, sizeof(path), "%s/r.xlsx", tmpdir);
	write_file(path, &b);

	snprintf(cmd, sizeof(cmd), "unzip -p '%s' xl/workbook.xml", path);
	x = run(cmd);
	ck_assert_ptr_nonnull(strstr(x, "<sheet name=\"Summary\" sheetId=\"1\""));
	ck_assert_ptr_nonnull(strstr(x, "<sheet name=\"resources\" sheetId=\"2\""));
	ck_assert_ptr_nonnull(strstr(x, "<sheet name=\"findings\" sheetId=\"3\""));
	ck_assert_ptr_nonnull(strstr(x, "<sheet name=\"resources (2)\""));
	ck_assert_ptr_nonnull(strstr(x, "<sheet name=\"a_b_c__d__\""));
	free(x);

	/* Summary: title, the kv figure as a number, the chart's numbers. */
	snprintf(cmd, sizeof(cmd), "unzip -p '%s' xl/worksheets/sheet1.xml",
	    path);
	x = run(cmd);
	ck_assert_ptr_nonnull(strstr(x, "<c r=\"A1\" s=\"1\" t=\"s\">"));
	ck_assert_ptr_nonnull(strstr(x, "<v>1204</v>"));
	free(x);
	snprintf(cmd, sizeof(cmd), "unzip -p '%s' xl/sharedStrings.xml", path);
	x = run(cmd);
	ck_assert_ptr_nonnull(strstr(x, "<t>Executive report</t>"));
	ck_assert_ptr_nonnull(strstr(x, "<t>Open findings</t>"));
	ck_assert_ptr_nonnull(strstr(x, "<t>By severity</t>"));
	free(x);

	/* The resources sheet: names as written, numbers as numbers. */
	snprintf(cmd, sizeof(cmd), "unzip -p '%s' xl/worksheets/sheet2.xml",
	    path);
	x = run(cmd);
	ck_assert_ptr_nonnull(strstr(x, "<c r=\"A2\" t=\"s\"><v>"));
	ck_assert_ptr_nonnull(strstr(x, "<c r=\"B2\"><v>3</v></c>"));
	ck_assert_ptr_nonnull(strstr(x, "<c r=\"B4\"><v>2.5</v></c>"));
	ck_assert_ptr_nonnull(strstr(x, "<autoFilter ref=\"A1:B5\"/>"));
	free(x);
	snprintf(cmd, sizeof(cmd), "unzip -p '%s' xl/sharedStrings.xml", path);
	x = run(cmd);
	ck_assert_ptr_nonnull(strstr(x, "<t>Zürich-Speicher</t>"));
	ck_assert_ptr_nonnull(strstr(x, "<t>nsg-Москва</t>"));
	ck_assert_ptr_nonnull(strstr(x,
	    "<t>=HYPERLINK(\"http://evil\",\"x\")</t>"));
	free(x);

	/* The findings sheet: a formula-looking string is a string. */
	snprintf(cmd, sizeof(cmd), "unzip -p '%s' xl/worksheets/sheet3.xml",
	    path);
	x = run(cmd);
	ck_assert_ptr_null(strstr(x, "<f>"));
	ck_assert_ptr_nonnull(strstr(x, "<c r=\"B2\" t=\"s\"><v>"));
	ck_assert_ptr_nonnull(strstr(x, "<c r=\"C2\"><v>-3</v></c>"));
	free(x);

	/* The stacked chart, drawn from the Summary's cells in the
	 * severity colours, its title a cell reference. */
	snprintf(cmd, sizeof(cmd), "unzip -p '%s' xl/charts/chart1.xml", path);
	x = run(cmd);
	ck_assert_ptr_nonnull(strstr(x, "<c:grouping val=\"stacked\"/>"));
	ck_assert_ptr_nonnull(strstr(x, "<a:srgbClr val=\"7F1D1D\"/>"));
	ck_assert_ptr_nonnull(strstr(x, "<c:title><c:tx><c:strRef><c:f>"
	    "Summary!$A$"));
	ck_assert_ptr_nonnull(strstr(x, "<c:f>Summary!$B$"));
	free(x);

	buf_free(&b);
	json_object_put(d);
	rmtmp();
}
END_TEST

/* Past 200,000 cells (here 210,000) the workbook is streamed (constant memory): the
 * same sheets, strings inline, numbers still numbers. */
START_TEST(test_render_xlsx_large)
{
	json_object *d = parse("{\"title\":\"Large\",\"blocks\":[{\"kind\":"
	    "\"table\",\"name\":\"findings\",\"columns\":[{\"title\":\"ID\"},"
	    "{\"title\":\"N\",\"type\":\"number\"},{\"title\":\"S\"}],"
	    "\"rows\":[]}]}");
	json_object *rows = json_object_object_get(json_object_array_get_idx(
	    json_object_object_get(d, "blocks"), 0), "rows");
	char err[256], path[512], cmd[1024], id[32], *x;
	struct buf b;
	int i;

	for (i = 0; i < 70000; i++) {
		json_object *r = json_object_new_array();

		snprintf(id, sizeof(id), i == 0 ? "=1+1" : "fnd_%06d", i);
		json_object_array_add(r, json_object_new_string(id));
		json_object_array_add(r, json_object_new_int(i));
		json_object_array_add(r, NULL);
		json_object_array_add(rows, r);
	}
	mktmp();
	buf_init(&b, OUT_CAP);
	ck_assert_int_eq(render_xlsx(d, &b, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/l.xlsx", tmpdir);
	write_file(path, &b);
	snprintf(cmd, sizeof(cmd), "unzip -p '%s' xl/worksheets/sheet2.xml | "
	    "grep -o '<row r=\"70001\".*</row>'", path);
	x = run(cmd);
	ck_assert_str_eq(x, "<row r=\"70001\"><c r=\"A70001\" t=\"inlineStr\">"
	    "<is><t>fnd_069999</t></is></c><c r=\"B70001\"><v>69999</v></c>"
	    "</row>\n");
	free(x);
	snprintf(cmd, sizeof(cmd), "unzip -p '%s' xl/worksheets/sheet2.xml | "
	    "grep -c '<is><t>=1+1</t></is>'", path);
	x = run(cmd);
	ck_assert_str_eq(x, "1\n");
	free(x);
	buf_free(&b);
	json_object_put(d);
	rmtmp();
}
END_TEST

/* --- PDF -------------------------------------------------------------------------- */

/* A table long enough for three A4 pages, names in four scripts. */
static json_object *
long_doc(void)
{
	json_object *d = parse(sample);
	json_object *rows = json_object_object_get(json_object_array_get_idx(
	    json_object_object_get(d, "blocks"), 3), "rows");
	int i;

	for (i = 0; i < 150; i++) {
		json_object *r = json_object_new_array();
		char name[64];

		snprintf(name, sizeof(name), "row-%03d-Ελλάδα", i);
		json_object_array_add(r, json_object_new_string(name));
		json_object_array_add(r, json_object_new_int(i));
		json_object_array_add(rows, r);
	}
	return d;
}

static char *
pdf_cmd(const char *tool, const char *args, const char *path)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s %s '%s' - 2>/dev/null", tool, args, path);
	return run(cmd);
}

START_TEST(test_render_pdf_text)
{
	json_object *d = long_doc();
	char err[256], path[512], cmd[1024], *t;
	struct buf b;

	mktmp();
	buf_init(&b, OUT_CAP);
	ck_assert_int_eq(render_pdf(d, "a4", &b, err, sizeof(err)), 0);
	ck_assert_mem_eq(b.data, "%PDF-", 5);
	snprintf(path, sizeof(path), "%s/r.pdf", tmpdir);
	write_file(path, &b);

	t = pdf_cmd("pdftotext", "-layout", path);
	ck_assert_ptr_nonnull(strstr(t, "Executive report"));
	ck_assert_ptr_nonnull(strstr(t, "Zürich-Speicher"));
	ck_assert_ptr_nonnull(strstr(t, "vm-Łódź"));
	ck_assert_ptr_nonnull(strstr(t, "nsg-Москва"));
	ck_assert_ptr_nonnull(strstr(t, "webapp-Ελλάδα"));
	ck_assert_ptr_nonnull(strstr(t, "row-149-Ελλάδα"));
	ck_assert_ptr_nonnull(strstr(t, "=HYPERLINK"));
	ck_assert_ptr_nonnull(strstr(t, "By severity"));
	ck_assert_ptr_nonnull(strstr(t, "critical"));
	free(t);
	/* The table's header is repeated on the page it continues on. */
	t = pdf_cmd("pdftotext", "-f 2 -l 2 -layout", path);
	ck_assert_ptr_nonnull(strstr(t, "Resource"));
	ck_assert_ptr_nonnull(strstr(t, "Count"));
	ck_assert_ptr_nonnull(strstr(t, "Page 2 of"));
	free(t);
	snprintf(cmd, sizeof(cmd), "pdfinfo '%s' 2>/dev/null", path);
	t = run(cmd);
	ck_assert_ptr_nonnull(strstr(t, "Pages:           4"));
	ck_assert_ptr_nonnull(strstr(t, "Title:           Executive report"));
	ck_assert_ptr_nonnull(strstr(t, "595.276 x 841.89 pts (A4)"));
	free(t);
	snprintf(cmd, sizeof(cmd), "pdffonts '%s' 2>/dev/null", path);
	t = run(cmd);
	ck_assert_ptr_nonnull(strstr(t, "DejaVuSans"));
	ck_assert_ptr_null(strstr(t, " no  "));	/* every font embedded */
	free(t);

	/* Letter: same document, another page size. */
	b.len = 0;
	ck_assert_int_eq(render_pdf(d, "letter", &b, err, sizeof(err)), 0);
	write_file(path, &b);
	snprintf(cmd, sizeof(cmd), "pdfinfo '%s' 2>/dev/null", path);
	t = run(cmd);
	ck_assert_ptr_nonnull(strstr(t, "612 x 792 pts (letter)"));
	free(t);

	ck_assert_int_eq(render_pdf(d, "a3", &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "paper"));
	/* A missing font is an error, not a crash. */
	render_set_fonts("/nonexistent/font.ttf", NULL);
	ck_assert_int_eq(render_pdf(d, "a4", &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot load the report fonts"));
	render_set_fonts(REPORT_FONT, REPORT_FONT_BOLD);
	buf_free(&b);
	json_object_put(d);
	rmtmp();
}
END_TEST

/* A long text cell wraps within its column (its last words printed); a
 * very long one is cut after four lines with an ellipsis. */
START_TEST(test_render_pdf_wrap)
{
	json_object *d = parse("{\"title\":\"Wrap\",\"blocks\":[{\"kind\":"
	    "\"table\",\"columns\":[{\"title\":\"Control\"},{\"title\":"
	    "\"Title\"},{\"title\":\"Resource\"},{\"title\":\"Status\"}],"
	    "\"rows\":[[\"1.1\",\"Ensure that the storage account access keys "
	    "are rotated periodically and that the rotation reminder is set "
	    "FIRSTEND\",\"/subscriptions/0000/resourceGroups/rg-prod/providers/"
	    "Microsoft.Storage/storageAccounts/stprodpayments01\",\"fail\"]]}]}");
	json_object *row;
	char err[256], path[512], *t, big[2100];
	struct buf b;
	size_t i;

	/* A second row whose title is far too long for four lines. */
	for (i = 0; i + 5 < sizeof(big) - 10; i += 5)
		memcpy(big + i, "word ", 5);
	memcpy(big + i, "LASTEND", 8);
	row = json_object_new_array();
	json_object_array_add(row, json_object_new_string("1.2"));
	json_object_array_add(row, json_object_new_string(big));
	json_object_array_add(row, json_object_new_string("r"));
	json_object_array_add(row, json_object_new_string("pass"));
	json_object_array_add(json_object_object_get(json_object_array_get_idx(
	    json_object_object_get(d, "blocks"), 0), "rows"), row);
	mktmp();
	buf_init(&b, OUT_CAP);
	ck_assert_int_eq(render_pdf(d, "a4", &b, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/w.pdf", tmpdir);
	write_file(path, &b);
	t = pdf_cmd("pdftotext", "-raw", path);
	ck_assert_ptr_nonnull(strstr(t, "FIRSTEND"));
	ck_assert_ptr_nonnull(strstr(t, "stprodpayments01"));
	ck_assert_ptr_null(strstr(t, "LASTEND"));
	ck_assert_ptr_nonnull(strstr(t, "\xe2\x80\xa6"));
	free(t);
	buf_free(&b);
	json_object_put(d);
	rmtmp();
}
END_TEST

/* Text libhpdf must not choke on: bad UTF-8, characters beyond the BMP,
 * a very long word, an empty table, a chart of zeros, many categories. */
START_TEST(test_render_pdf_odd)
{
	json_object *d = parse("{\"title\":\"bad \\u00ff\",\"blocks\":["
	    "{\"kind\":\"paragraph\",\"text\":\"\"},"
	    "{\"kind\":\"table\",\"columns\":[{\"title\":\"only\"}],\"rows\":[]},"
	    "{\"kind\":\"bar_chart\",\"categories\":[],\"series\":[]},"
	    "{\"kind\":\"bar_chart\",\"categories\":[\"a\",\"b\"],\"series\":"
	    "[{\"name\":\"z\",\"values\":[0,0]}]}]}");
	json_object *blocks = json_object_object_get(d, "blocks");
	json_object *p = json_object_new_object(), *ch, *cats, *vals, *s;
	char word[9000], err[256];
	struct buf b;
	size_t i;

	memset(word, 'W', sizeof(word) - 1);
	word[sizeof(word) - 1] = '\0';
	memcpy(word + 10, "\xff\xfe\xf0\x9f\x98\x80\xc3", 7);
	json_object_object_add(p, "kind", json_object_new_string("paragraph"));
	json_object_object_add(p, "text", json_object_new_string(word));
	json_object_array_add(blocks, p);
	ch = parse("{\"kind\":\"bar_chart\",\"categories\":[],\"series\":"
	    "[{\"name\":\"s\",\"values\":[]}]}");
	cats = json_object_object_get(ch, "categories");
	s = json_object_array_get_idx(json_object_object_get(ch, "series"), 0);
	vals = json_object_object_get(s, "values");
	for (i = 0; i < RENDER_MAX_CATEGORIES; i++) {
		json_object_array_add(cats, json_object_new_string("2026-01-01"));
		json_object_array_add(vals, json_object_new_double(0.001 * (double)i));
	}
	json_object_array_add(blocks, ch);
	buf_init(&b, OUT_CAP);
	ck_assert_msg(render_pdf(d, NULL, &b, err, sizeof(err)) == 0, "%s", err);
	b.len = 0;
	ck_assert_int_eq(render_html(d, &b, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "WW\xef\xbf\xbd\xef\xbf\xbd"
	    "\xf0\x9f\x98\x80\xef\xbf\xbdWW"));
	b.len = 0;
	ck_assert_int_eq(render_xlsx(d, &b, err, sizeof(err)), 0);
	buf_free(&b);
	json_object_put(d);
}
END_TEST

/* Every page of the two sample reports (tests/data/reports) on both
 * papers, as PNG under render-pages/ in the build directory, for a
 * person to look at; the test checks there is one image per page. */
START_TEST(test_render_pdf_pages)
{
	static const char *docs[] = { "executive", "compliance" };
	static const char *papers[] = { "a4", "letter" };
	const char *top = getenv("VIGIL_SRCDIR");
	const char *bld = getenv("VIGIL_BUILDDIR");
	char dir[512], path[1024], cmd[2048], err[256], *t, *pg;
	struct buf in, b;
	size_t i, j;
	long pages, k;

	if (top == NULL)
		top = VIGIL_TOP_SRCDIR;
	snprintf(dir, sizeof(dir), "%s/tests/unit/render-pages",
	    bld != NULL ? bld : ".");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	for (i = 0; i < 2; i++) {
		json_object *d;
		FILE *f;

		snprintf(path, sizeof(path), "%s/tests/data/reports/%s.json",
		    top, docs[i]);
		f = fopen(path, "rb");
		ck_assert_msg(f != NULL, "cannot open %s", path);
		buf_init(&in, 1 << 20);
		ck_assert_int_eq(buf_read_fd(&in, fileno(f)), 0);
		fclose(f);
		buf_append(&in, "", 1);
		d = parse(in.data);
		buf_free(&in);
		for (j = 0; j < 2; j++) {
			buf_init(&b, OUT_CAP);
			ck_assert_msg(render_pdf(d, papers[j], &b, err,
			    sizeof(err)) == 0, "%s", err);
			snprintf(path, sizeof(path), "%s/%s-%s.pdf", dir, docs[i],
			    papers[j]);
			write_file(path, &b);
			buf_free(&b);
			snprintf(cmd, sizeof(cmd), "pdfinfo '%s' 2>/dev/null",
			    path);
			t = run(cmd);
			pg = strstr(t, "Pages:");
			ck_assert_ptr_nonnull(pg);
			pages = strtol(pg + 6, NULL, 10);
			free(t);
			ck_assert_int_ge(pages, 1);
			snprintf(cmd, sizeof(cmd), "pdftoppm -r 72 -png '%s' "
			    "'%s/%s-%s' 2>/dev/null", path, dir, docs[i],
			    papers[j]);
			t = run(cmd);
			free(t);
			for (k = 1; k <= pages; k++) {
				struct stat st;

				snprintf(path, sizeof(path), "%s/%s-%s-%ld.png",
				    dir, docs[i], papers[j], k);
				ck_assert_msg(stat(path, &st) == 0 &&
				    st.st_size > 1000, "no page image %s", path);
			}
		}
		json_object_put(d);
	}
}
END_TEST

/* vigilctl report render draws a file as the functions do, and refuses
 * a bad document or format with the usual exit codes. */
START_TEST(test_render_vigilctl)
{
	const char *top = getenv("VIGIL_SRCDIR");
	const char *bld = getenv("VIGIL_BUILDDIR");
	char cmd[4096], doc[1024], out[1024], err[256], *t;
	struct buf b, in;
	json_object *d;
	FILE *f;

	if (top == NULL)
		top = VIGIL_TOP_SRCDIR;
	if (bld == NULL)
		bld = ".";
	mktmp();
	snprintf(doc, sizeof(doc), "%s/tests/data/reports/compliance.json", top);
	snprintf(out, sizeof(out), "%s/c.csv", tmpdir);
	snprintf(cmd, sizeof(cmd), "'%s/vigilctl' report render --format csv "
	    "--output '%s' '%s'", bld, out, doc);
	ck_assert_int_eq(system(cmd), 0);
	f = fopen(doc, "rb");
	ck_assert_ptr_nonnull(f);
	buf_init(&in, 1 << 20);
	ck_assert_int_eq(buf_read_fd(&in, fileno(f)), 0);
	fclose(f);
	buf_append(&in, "", 1);
	d = parse(in.data);
	buf_free(&in);
	buf_init(&b, OUT_CAP);
	ck_assert_int_eq(render_csv(d, &b, err, sizeof(err)), 0);
	buf_append(&b, "", 1);
	snprintf(cmd, sizeof(cmd), "cat '%s'", out);
	t = run(cmd);
	ck_assert_str_eq(t, b.data);
	ck_assert_ptr_nonnull(strstr(t, "Control,Title,Status,Failing findings\r\n"));
	free(t);
	buf_free(&b);
	json_object_put(d);

	/* A bad document: exit 65 (EX_DATAERR), the path of the bad value,
	 * no file. */
	snprintf(doc, sizeof(doc), "%s/bad.json", tmpdir);
	f = fopen(doc, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"title\":\"t\",\"blocks\":[{\"kind\":\"gauge\"}]}", f);
	fclose(f);
	snprintf(out, sizeof(out), "%s/bad.pdf", tmpdir);
	snprintf(cmd, sizeof(cmd), "'%s/vigilctl' report render --format pdf "
	    "--output '%s' '%s' 2>&1; echo \"exit $?\"", bld, out, doc);
	t = run(cmd);
	ck_assert_ptr_nonnull(strstr(t, "blocks[0]: unknown block kind"));
	ck_assert_ptr_nonnull(strstr(t, "exit 65"));
	free(t);
	ck_assert_int_ne(access(out, F_OK), 0);
	snprintf(cmd, sizeof(cmd), "'%s/vigilctl' report render --format docx "
	    "'%s' 2>/dev/null; echo \"exit $?\"", bld, doc);
	t = run(cmd);
	ck_assert_str_eq(t, "exit 64\n");
	free(t);
	rmtmp();
}
END_TEST

Suite *
render_suite(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("core");
	TCase *tp = tcase_create("readback");

	tcase_add_loop_test(tc, test_render_validate_bad, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_render_validate_caps);
	tcase_add_test(tc, test_render_csv);
	tcase_add_test(tc, test_render_html_escapes);
	tcase_add_test(tc, test_render_html_sample);
	suite_add_tcase(s, tc);
	/* Fonts, libhpdf and the poppler tools under ASan take seconds. */
	tcase_set_timeout(tp, 120);
	tcase_add_test(tp, test_render_xlsx);
	tcase_add_test(tp, test_render_xlsx_large);
	tcase_add_test(tp, test_render_pdf_text);
	tcase_add_test(tp, test_render_pdf_wrap);
	tcase_add_test(tp, test_render_pdf_odd);
	tcase_add_test(tp, test_render_pdf_pages);
	tcase_add_test(tp, test_render_vigilctl);
	suite_add_tcase(s, tp);
	return s;
}
