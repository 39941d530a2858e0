/* check_importfmt.c: the report formats (importfmt.c). Each golden report
 * in tests/data/imports/ is read in pieces of every size from 1 to 7
 * bytes and whole, and what it maps to is compared with its
 * NAME.expected.json; hostile reports fail or fail per item as the README
 * says, and an import's first read (framing only) passes and fails them
 * alike. VIGIL_GOLDEN_WRITE=1 rewrites the expected files (review them). */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include "importfmt.h"
#include "suites.h"

static const char *
srcdir(void)
{
	const char *s = getenv("VIGIL_SRCDIR");

	return s != NULL && *s != '\0' ? s : VIGIL_TOP_SRCDIR;
}

struct got {
	enum importfmt	 fmt;
	json_object	*findings;
	long		 items, passed, failed;
	json_object	*errors;
};

static int
on_item(void *arg, json_object *item, json_object *ctx,
    const struct importfmt_pos *pos, const char *why)
{
	struct got *g = arg;
	struct importfmt_finding f;
	json_object *o;
	char err[400];
	enum importfmt_map_result m;

	g->items++;
	if (item == NULL) {
		g->failed++;
		o = json_object_new_object();
		json_object_object_add(o, "index",
		    json_object_new_int64((int64_t)pos->index));
		json_object_object_add(o, "line",
		    json_object_new_int64((int64_t)pos->line));
		json_object_object_add(o, "error", json_object_new_string(why));
		json_object_array_add(g->errors, o);
		return 0;
	}
	m = importfmt_map(g->fmt, item, ctx, &f, err, sizeof(err));
	if (m == IMPORTFMT_FINDING) {
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(f.id));
		json_object_object_add(o, "provider",
		    json_object_new_string(f.provider));
		json_object_object_add(o, "rule_id",
		    json_object_new_string(f.rule_id));
		json_object_object_add(o, "resource_id",
		    json_object_new_string(f.resource_id));
		json_object_object_add(o, "title",
		    json_object_new_string(f.title));
		json_object_object_add(o, "severity", json_object_new_string(
		    finding_severity_str(f.severity)));
		json_object_object_add(o, "category",
		    json_object_new_string(f.category));
		json_object_object_add(o, "framework",
		    json_object_new_string(f.framework));
		json_object_object_add(o, "subscription_id",
		    json_object_new_string(f.subscription_id));
		json_object_object_add(o, "external_id",
		    json_object_new_string(f.external_id));
		json_object_object_add(o, "resource_name",
		    json_object_new_string(f.resource_name));
		json_object_object_add(o, "resource_type",
		    json_object_new_string(f.resource_type));
		json_object_object_add(o, "resource_group",
		    json_object_new_string(f.resource_group));
		json_object_object_add(o, "region",
		    json_object_new_string(f.region));
		json_object_object_add(o, "account",
		    json_object_new_string(f.account));
		json_object_object_add(o, "tags",
		    json_object_new_string(f.tags ? f.tags : "{}"));
		ck_assert(strlen(f.evidence) < IMPORTFMT_EVIDENCE_MAX + 4096);
		json_object_array_add(g->findings, o);
	} else if (m == IMPORTFMT_PASS)
		g->passed++;
	else {
		g->failed++;
		o = json_object_new_object();
		json_object_object_add(o, "index",
		    json_object_new_int64((int64_t)pos->index));
		json_object_object_add(o, "error", json_object_new_string(err));
		json_object_array_add(g->errors, o);
	}
	importfmt_finding_clear(&f);
	return 0;
}

/* Read text in pieces of piece bytes (0: whole). 0, or -1 with why. */
static int
read_report(enum importfmt fmt, const char *text, size_t len, size_t piece,
    struct got *g, char *why, size_t whysz)
{
	struct importfmt_stream s, c;
	size_t off, n;
	int rc = 0;

	memset(g, 0, sizeof(*g));
	g->fmt = fmt;
	g->findings = json_object_new_array();
	g->errors = json_object_new_array();
	importfmt_init(&s, fmt, 0, on_item, g);
	if (fmt == IMPORTFMT_SARIF) {
		importfmt_init(&c, fmt, 1, NULL, NULL);
		if (importfmt_feed(&c, text, len) == 0 &&
		    importfmt_finish(&c) == 0)
			importfmt_take_ctx(&s, &c);
		importfmt_free(&c);
	}
	for (off = 0; off < len && rc == 0; off += n) {
		n = piece == 0 || len - off < piece ? len - off : piece;
		rc = importfmt_feed(&s, text + off, n);
	}
	if (rc == 0)
		rc = importfmt_finish(&s);
	if (rc != 0)
		snprintf(why, whysz, "%s", s.err);
	importfmt_free(&s);
	return rc;
}

/* The check an import's first read makes (imports.c run_pass): framed
 * only, or for SARIF the read that keeps the runs' tools. 0, or -1 with
 * why; *items as the stream counted them (SARIF: 0). */
static int
frame_report(enum importfmt fmt, const char *text, size_t len, size_t *items,
    char *why, size_t whysz)
{
	struct importfmt_stream s;
	int rc;

	importfmt_init(&s, fmt, fmt == IMPORTFMT_SARIF, NULL, NULL);
	s.frame_only = fmt != IMPORTFMT_SARIF;
	rc = importfmt_feed(&s, text, len);
	if (rc == 0)
		rc = importfmt_finish(&s);
	if (rc != 0)
		snprintf(why, whysz, "%s", s.err);
	*items = s.items;
	importfmt_free(&s);
	return rc;
}

static void
got_free(struct got *g)
{
	json_object_put(g->findings);
	json_object_put(g->errors);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *b;
	long n;

	ck_assert_msg(fp != NULL, "cannot open %s (set VIGIL_SRCDIR)", path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	ck_assert(b != NULL);
	ck_assert(fread(b, 1, (size_t)n, fp) == (size_t)n);
	b[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return b;
}

static const struct {
	const char	*file;
	enum importfmt	 fmt;
} golden[] = {
	{ "prowler-aws.ocsf.json", IMPORTFMT_OCSF },
	{ "prowler-aws.ocsf.jsonl", IMPORTFMT_OCSF },
	{ "prowler-aws.asff.json", IMPORTFMT_ASFF },
	{ "semgrep.sarif", IMPORTFMT_SARIF },
	{ "trivy.sarif", IMPORTFMT_SARIF },
	{ "spec-minimal.sarif", IMPORTFMT_SARIF },
	{ "findings.vigil.json", IMPORTFMT_VIGIL },
	{ "codeql.sarif", IMPORTFMT_SARIF },
	{ "semgrep-ce.sarif", IMPORTFMT_SARIF },
	{ "securityhub.asff.json", IMPORTFMT_ASFF },
	{ "ocsf-edge.ocsf.json", IMPORTFMT_OCSF },
	{ "prowler3-aws.ocsf.json", IMPORTFMT_OCSF },
	{ "nolocation.sarif", IMPORTFMT_SARIF },
};

START_TEST(test_golden)
{
	char path[4096], why[300];
	struct got g, again;
	json_object *out, *want;
	size_t len, piece;
	char *text;
	const char *a, *b;

	snprintf(path, sizeof(path), "%s/tests/data/imports/%s", srcdir(),
	    golden[_i].file);
	text = slurp(path, &len);
	ck_assert_msg(read_report(golden[_i].fmt, text, len, 0, &g, why,
	    sizeof(why)) == 0, "%s: %s", golden[_i].file, why);
	out = json_object_new_object();
	json_object_object_add(out, "items", json_object_new_int64(g.items));
	json_object_object_add(out, "passed",
	    json_object_new_int64(g.passed));
	json_object_object_add(out, "failed",
	    json_object_new_int64(g.failed));
	json_object_object_add(out, "errors", json_object_get(g.errors));
	json_object_object_add(out, "findings", json_object_get(g.findings));
	snprintf(path, sizeof(path), "%s/tests/data/imports/%s.expected.json",
	    srcdir(), golden[_i].file);
	if (getenv("VIGIL_GOLDEN_WRITE") != NULL)
		json_object_to_file_ext(path, out, JSON_C_TO_STRING_PRETTY |
		    JSON_C_TO_STRING_NOSLASHESCAPE);
	want = json_object_from_file(path);
	ck_assert_msg(want != NULL, "cannot read %s", path);
	a = json_object_to_json_string(out);
	b = json_object_to_json_string(want);
	ck_assert_msg(strcmp(a, b) == 0, "%s:\n got %s\nwant %s",
	    golden[_i].file, a, b);
	/* The same whatever pieces the bytes arrive in. */
	for (piece = 1; piece <= 7; piece++) {
		ck_assert(read_report(golden[_i].fmt, text, len, piece, &again,
		    why, sizeof(why)) == 0);
		ck_assert_str_eq(json_object_to_json_string(again.findings),
		    json_object_to_json_string(g.findings));
		got_free(&again);
	}
	/* An import's first read passes it and counts its items. */
	ck_assert_msg(frame_report(golden[_i].fmt, text, len, &piece, why,
	    sizeof(why)) == 0, "%s: %s", golden[_i].file, why);
	if (golden[_i].fmt != IMPORTFMT_SARIF)
		ck_assert_int_eq((long)piece, g.items);
	json_object_put(want);
	json_object_put(out);
	got_free(&g);
	free(text);
}
END_TEST

/* Reports that are not reports fail whole; broken items fail alone. */
START_TEST(test_hostile)
{
	static const struct {
		enum importfmt	 fmt;
		const char	*text;
		int		 fails;		/* the report fails */
		long		 items, failed;
	} t[] = {
		{ IMPORTFMT_OCSF, "[{\"class_uid\":2004}", 1, 0, 0 },
		{ IMPORTFMT_OCSF, "", 1, 0, 0 },
		{ IMPORTFMT_OCSF, "[1,2] x", 1, 0, 0 },
		{ IMPORTFMT_OCSF, "[{}, {\"a\":\"\xff\"}]", 0, 2, 2 },
		{ IMPORTFMT_OCSF, "{\"a\":1}\n{broken\n\n{\"b\":2}\n", 0, 3, 3 },
		{ IMPORTFMT_SARIF, "[]", 1, 0, 0 },
		{ IMPORTFMT_SARIF, "{\"runs\":{}}", 1, 0, 0 },
		{ IMPORTFMT_SARIF, "{\"runs\":[{\"results\":[5,\"x\"]}]}", 0,
		    2, 2 },
		{ IMPORTFMT_ASFF, "{\"Findings\":[{\"Id\":[]}]}", 0, 1, 1 },
		{ IMPORTFMT_ASFF, "{\"Findings\":[}", 1, 0, 0 },
		{ IMPORTFMT_VIGIL, "{\"findings\":[{\"rule_id\":5}]}", 0, 1,
		    1 },
		{ IMPORTFMT_VIGIL, "{\"findings\":[{]}", 1, 0, 0 },
		/* The wrong shape is not an empty report (a full import of
		 * one resolves every finding of its source): the format's
		 * array of items, or SARIF's runs, must be there. */
		{ IMPORTFMT_ASFF, "{}", 1, 0, 0 },
		{ IMPORTFMT_ASFF, "{\"version\":\"2.1.0\",\"runs\":[]}", 1,
		    0, 0 },
		{ IMPORTFMT_SARIF, "{\"Findings\":[{\"Id\":\"x\"}]}", 1, 0,
		    0 },
		{ IMPORTFMT_SARIF, "{\"version\":\"2.1.0\"}", 1, 0, 0 },
		{ IMPORTFMT_VIGIL, "{\"finding\":[{\"rule_id\":\"a\"}]}", 1,
		    0, 0 },
		{ IMPORTFMT_VIGIL, "{\"Findings\":[]}", 1, 0, 0 },
		/* An empty report of the right shape is one. */
		{ IMPORTFMT_VIGIL, "{\"findings\":[]}", 0, 0, 0 },
		{ IMPORTFMT_VIGIL, "[]", 0, 0, 0 },
		{ IMPORTFMT_ASFF, "{\"Findings\":[]}", 0, 0, 0 },
		{ IMPORTFMT_SARIF, "{\"runs\":[]}", 0, 0, 0 },
		{ IMPORTFMT_SARIF, "{\"runs\":[{\"tool\":{}}]}", 0, 0, 0 },
		{ IMPORTFMT_OCSF, "[]", 0, 0, 0 },
		/* a class named by a string, or none: not a finding */
		{ IMPORTFMT_OCSF, "[{\"class_uid\":\"2004\",\"metadata\":{"
		    "\"event_code\":\"r\"},\"finding_info\":{\"uid\":\"u\"},"
		    "\"resources\":[{\"uid\":\"x\"}]},{\"metadata\":{"
		    "\"event_code\":\"r\"},\"finding_info\":{\"uid\":\"v\"},"
		    "\"resources\":[{\"uid\":\"x\"}]}]", 0, 2, 2 },
	};
	struct got g;
	char why[300], fwhy[300];
	size_t i, items;
	int rc;

	for (i = 0; i < NELEM(t); i++) {
		why[0] = fwhy[0] = '\0';
		rc = read_report(t[i].fmt, t[i].text, strlen(t[i].text), 0, &g,
		    why, sizeof(why));
		ck_assert_msg((rc != 0) == t[i].fails, "case %zu: %s", i, why);
		/* An import's first read fails where and as the full read
		 * does, without parsing an item. */
		ck_assert_msg((frame_report(t[i].fmt, t[i].text,
		    strlen(t[i].text), &items, fwhy, sizeof(fwhy)) != 0) ==
		    t[i].fails, "case %zu: framed: %s", i, fwhy);
		ck_assert_str_eq(fwhy, why);
		if (rc == 0 && t[i].fmt != IMPORTFMT_SARIF)
			ck_assert_int_eq((long)items, t[i].items);
		if (rc != 0)
			ck_assert(why[0] != '\0');
		else {
			ck_assert_msg(g.items == t[i].items, "case %zu: %ld",
			    i, g.items);
			ck_assert_msg(g.failed == t[i].failed, "case %zu: %ld",
			    i, g.failed);
		}
		got_free(&g);
	}
}
END_TEST

/* A NUL byte inside an item fails that item, with its position, and the
 * report goes on (in JSON Lines and in an array, read whole or a byte at
 * a time, and framed alike); between items it breaks the report. */
START_TEST(test_nul_item)
{
	static const char lines[] = "{\"a\":1}\n{\"x\":\"a\0b\"}\n{\"b\":2}\n";
	static const char arr[] = "[{\"a\":1}, {\"x\":\"a\0b\"}, {\"y\":\0}]";
	static const char between[] = "[{\"a\":1},\0{\"b\":2}]";
	static const struct {
		const char	*text;
		size_t		 len;
		int		 fails;
		long		 items, failed;
	} t[] = {
		{ lines, sizeof(lines) - 1, 0, 3, 3 },
		{ arr, sizeof(arr) - 1, 0, 3, 3 },
		{ between, sizeof(between) - 1, 1, 0, 0 },
	};
	struct got g;
	char why[300], fwhy[300];
	size_t i, piece, items;
	int rc;

	for (i = 0; i < NELEM(t); i++)
		for (piece = 0; piece < 2; piece++) {
			why[0] = fwhy[0] = '\0';
			rc = read_report(IMPORTFMT_OCSF, t[i].text, t[i].len,
			    piece, &g, why, sizeof(why));
			ck_assert_msg((rc != 0) == t[i].fails, "case %zu: %s",
			    i, why);
			ck_assert_msg((frame_report(IMPORTFMT_OCSF, t[i].text,
			    t[i].len, &items, fwhy, sizeof(fwhy)) != 0) ==
			    t[i].fails, "case %zu: framed: %s", i, fwhy);
			ck_assert_str_eq(fwhy, why);
			if (rc == 0) {
				json_object *e = json_object_array_get_idx(
				    g.errors, 1);
				json_object *w = NULL;

				ck_assert_int_eq((long)items, t[i].items);
				ck_assert_int_eq(g.items, t[i].items);
				ck_assert_int_eq(g.failed, t[i].failed);
				/* the second item (index 1) names the NUL */
				ck_assert(e != NULL &&
				    json_object_object_get_ex(e, "error", &w));
				ck_assert_str_eq(json_object_get_string(w),
				    "the item contains a NUL byte");
			} else
				ck_assert_msg(strstr(why, ": a NUL byte") !=
				    NULL, "%s", why);
			got_free(&g);
		}
}
END_TEST

/* Append s at p (room made by the caller); the new end. */
static char *
put(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n + 1);
	return p + n;
}

/* Many empty objects in little text (json-c builds each at up to 700
 * bytes): an item past IMPORTFMT_ITEM_NODES fails unparsed, one at it is
 * parsed; a SARIF log's tools are kept up to IMPORTFMT_CTX_NODES in
 * all, a tool past that dropped (its results lose the rule's details). */
START_TEST(test_many_objects)
{
	struct importfmt_stream c;
	struct got g;
	char why[300], *text, *p;
	size_t n, i, r, len;
	json_object *e, *w;

	for (n = IMPORTFMT_ITEM_NODES; n <= IMPORTFMT_ITEM_NODES + 1; n++) {
		/* [ {"a":[{},{},...]} ]: the item's object and array, n - 2
		 * empty objects */
		text = malloc(n * 3 + 64);
		ck_assert(text != NULL);
		p = put(text, "[{\"a\":[");
		for (i = 0; i < n - 2; i++)
			p = put(p, i ? ",{}" : "{}");
		p = put(p, "]}]");
		ck_assert_int_eq(read_report(IMPORTFMT_OCSF, text,
		    (size_t)(p - text), 0, &g, why, sizeof(why)), 0);
		ck_assert_int_eq(g.failed, 1);	/* not a finding either way */
		e = json_object_array_get_idx(g.errors, 0);
		ck_assert(json_object_object_get_ex(e, "error", &w));
		if (n > IMPORTFMT_ITEM_NODES)
			ck_assert_str_eq(json_object_get_string(w),
			    "the item has more than 20,000 objects and arrays");
		else
			ck_assert_str_ne(json_object_get_string(w),
			    "the item has more than 20,000 objects and arrays");
		got_free(&g);
		free(text);
	}
	/* two runs' tools of 60,000 objects each: the first kept */
	len = 2 * (60000 * 3 + 64) + 64;
	text = malloc(len);
	ck_assert(text != NULL);
	p = put(text, "{\"runs\":[");
	for (r = 0; r < 2; r++) {
		p = put(p, r ? "," : "");
		p = put(p, "{\"tool\":{\"driver\":{\"rules\":[");
		for (i = 0; i < 60000 - 3; i++)
			p = put(p, i ? ",{}" : "{}");
		p = put(p, "]}},\"results\":[]}");
	}
	p = put(p, "]}");
	importfmt_init(&c, IMPORTFMT_SARIF, 1, NULL, NULL);
	ck_assert_int_eq(importfmt_feed(&c, text, (size_t)(p - text)), 0);
	ck_assert_int_eq(importfmt_finish(&c), 0);
	ck_assert(c.ctx[0] != NULL);
	ck_assert(c.ctx[1] == NULL);
	ck_assert(c.ctx_nodes <= IMPORTFMT_CTX_NODES);
	importfmt_free(&c);
	free(text);
}
END_TEST

/* A rule's CWE references, each kept whole: CWE-20 after CWE-200 (and
 * CWE-7 after CWE-79) was taken for a duplicate by a substring test. */
START_TEST(test_framework_entries)
{
	static const char text[] =
	    "{\"runs\":[{\"tool\":{\"driver\":{\"name\":\"t\","
	    "\"rules\":[{\"id\":\"r1\",\"properties\":{\"tags\":["
	    "\"external/cwe/cwe-200\",\"external/cwe/cwe-020\","
	    "\"CWE-79: XSS\",\"external/cwe/cwe-7\","
	    "\"external/cwe/cwe-79\"]}}]}},"
	    "\"results\":[{\"ruleId\":\"r1\",\"message\":{\"text\":\"m\"},"
	    "\"locations\":[{\"physicalLocation\":{\"artifactLocation\":"
	    "{\"uri\":\"a.c\"},\"region\":{\"startLine\":3}}}]}]}]}";
	struct got g;
	char why[300];
	json_object *o, *fw;

	ck_assert_int_eq(read_report(IMPORTFMT_SARIF, text, sizeof(text) - 1,
	    0, &g, why, sizeof(why)), 0);
	ck_assert_int_eq(json_object_array_length(g.findings), 1);
	o = json_object_array_get_idx(g.findings, 0);
	ck_assert(json_object_object_get_ex(o, "framework", &fw));
	ck_assert_str_eq(json_object_get_string(fw),
	    "CWE-200, CWE-20, CWE-79, CWE-7");
	got_free(&g);
}
END_TEST

/* A UTF-8 byte order mark before a report is passed over (an array and
 * JSON Lines alike, whatever pieces the bytes arrive in); one cut short
 * fails the report. */
START_TEST(test_byte_order_mark)
{
	static const char item[] =
	    "{\"class_uid\":2004,\"severity_id\":3,\"status_code\":\"FAIL\","
	    "\"metadata\":{\"event_code\":\"bom_check\"},"
	    "\"finding_info\":{\"uid\":\"u1\",\"title\":\"t\"},"
	    "\"resources\":[{\"uid\":\"r1\"}]}";
	char text[1024], why[300];
	struct got g, plain;
	size_t piece, len;
	int jsonl;

	for (jsonl = 0; jsonl < 2; jsonl++) {
		len = (size_t)snprintf(text, sizeof(text), jsonl ? "%s\n" :
		    "[%s]", item);
		ck_assert_int_eq(read_report(IMPORTFMT_OCSF, text, len, 0,
		    &plain, why, sizeof(why)), 0);
		ck_assert_int_eq(json_object_array_length(plain.findings), 1);
		len = (size_t)snprintf(text, sizeof(text), jsonl ?
		    "\xef\xbb\xbf%s\n" : "\xef\xbb\xbf[%s]", item);
		for (piece = 0; piece <= 2; piece++) {
			ck_assert_msg(read_report(IMPORTFMT_OCSF, text, len,
			    piece, &g, why, sizeof(why)) == 0, "%s", why);
			ck_assert_int_eq(g.failed, 0);
			ck_assert_str_eq(json_object_to_json_string(g.findings),
			    json_object_to_json_string(plain.findings));
			got_free(&g);
		}
		got_free(&plain);
	}
	len = (size_t)snprintf(text, sizeof(text), "\xef\xbb[%s]", item);
	ck_assert_int_eq(read_report(IMPORTFMT_OCSF, text, len, 0, &g, why,
	    sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "byte order mark"));
	got_free(&g);
}
END_TEST

/* Category: every word in the rule id before any in the tool's types
 * (README): kms in the rule wins over network in the type. */
START_TEST(test_category_rule_first)
{
	static const char text[] =
	    "[{\"class_uid\":2004,\"severity_id\":3,\"status_code\":\"FAIL\","
	    "\"metadata\":{\"event_code\":\"kms_key_rotation_enabled\","
	    "\"product\":{\"name\":\"Prowler\"}},"
	    "\"finding_info\":{\"uid\":\"u1\",\"title\":\"t\","
	    "\"types\":[\"Network Reachability\"]},"
	    "\"resources\":[{\"uid\":\"arn:aws:kms:eu-west-1:1:key/k\"}],"
	    "\"cloud\":{\"provider\":\"aws\"}}]";
	struct got g;
	char why[300];
	json_object *o, *cat;

	ck_assert_int_eq(read_report(IMPORTFMT_OCSF, text, sizeof(text) - 1,
	    0, &g, why, sizeof(why)), 0);
	ck_assert_int_eq(json_object_array_length(g.findings), 1);
	o = json_object_array_get_idx(g.findings, 0);
	ck_assert(json_object_object_get_ex(o, "category", &cat));
	ck_assert_str_eq(json_object_get_string(cat), "encryption");
	got_free(&g);
}
END_TEST

/* 10,000 levels of nesting and a 3 MiB string: the item fails, the
 * stream goes on, memory stays at the item cap. */
START_TEST(test_deep_and_huge)
{
	size_t n = 3 * 1024 * 1024, i;
	char *t = malloc(n + 64), why[300];
	struct got g;

	ck_assert(t != NULL);
	i = 0;
	t[i++] = '[';
	memset(t + i, '[', 10000);
	i += 10000;
	memset(t + i, ']', 10000);
	i += 10000;
	t[i++] = ',';
	t[i++] = '"';
	memset(t + i, 'a', n - 30000);
	i += n - 30000;
	t[i++] = '"';
	memcpy(t + i, ",{}]", 4);
	i += 4;
	ck_assert(read_report(IMPORTFMT_OCSF, t, i, 0, &g, why,
	    sizeof(why)) == 0);
	ck_assert_int_eq(g.items, 3);
	ck_assert_int_eq(g.failed, 3);
	ck_assert(frame_report(IMPORTFMT_OCSF, t, i, &n, why,
	    sizeof(why)) == 0);
	ck_assert_int_eq((long)n, 3);
	got_free(&g);
	free(t);
}
END_TEST

START_TEST(test_slug)
{
	char out[32];

	importfmt_slug("AWS S3/Bucket__x", out, 17);
	ck_assert_str_eq(out, "aws-s3-bucket__x");
	importfmt_slug("--'; DROP", out, sizeof(out));
	ck_assert_str_eq(out, "drop");
	importfmt_slug("", out, sizeof(out));
	ck_assert_str_eq(out, "");
}
END_TEST

Suite *
importfmt_suite(void)
{
	Suite *s = suite_create("importfmt");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_golden, 0, NELEM(golden));
	tcase_add_test(tc, test_hostile);
	tcase_add_test(tc, test_nul_item);
	tcase_add_test(tc, test_many_objects);
	tcase_add_test(tc, test_framework_entries);
	tcase_add_test(tc, test_category_rule_first);
	tcase_add_test(tc, test_deep_and_huge);
	tcase_add_test(tc, test_slug);
	tcase_add_test(tc, test_byte_order_mark);
	suite_add_tcase(s, tc);
	return s;
}
