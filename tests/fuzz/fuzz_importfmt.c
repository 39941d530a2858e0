/* fuzz_importfmt.c: libFuzzer target for the report formats of imports
 * (importfmt.c). The first byte picks the format and the size of the
 * pieces the rest is fed in; the rest is the report. Checks: the report
 * is framed the same whether fed whole or in pieces (the same items, the
 * same verdict); every item mapped to a finding has an id that is a slug
 * of at most 127 characters, text within its column's bounds that is
 * valid UTF-8 without control characters (newline and tab allowed in the
 * description and recommendation), a known severity, and evidence that
 * is JSON of bounded size; a refused item says why. Built by
 * "make fuzz". */
#include "vigil.h"

#include <string.h>

#include <json-c/json.h>

#include "finding.h"
#include "fuzz.h"
#include "importfmt.h"
#include "text.h"
#include "vjson.h"

struct seen {
	enum importfmt	 fmt;
	size_t		 items, findings, bad;
};

static void
text_ok(const char *s, size_t max, int multiline)
{
	size_t n = strlen(s);

	FUZZ_CHECK(n <= max);
	FUZZ_CHECK(vjson_utf8_valid(s, n));
	FUZZ_CHECK(text_control(s, n, multiline) == n);
}

static int
on_item(void *arg, json_object *item, json_object *ctx,
    const struct importfmt_pos *pos, const char *why)
{
	struct seen *s = arg;
	struct importfmt_finding f;
	struct vjson_err e;
	json_object *ev;
	char err[400];
	size_t i;

	FUZZ_CHECK(pos->index == s->items);
	s->items++;
	if (item == NULL) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		return 0;
	}
	switch (importfmt_map(s->fmt, item, ctx, &f, err, sizeof(err))) {
	case IMPORTFMT_FINDING:
		s->findings++;
		FUZZ_CHECK(f.id[0] != '\0' && strlen(f.id) < FINDING_ID_MAX);
		for (i = 0; f.id[i] != '\0'; i++)
			FUZZ_CHECK((f.id[i] >= 'a' && f.id[i] <= 'z') ||
			    (f.id[i] >= '0' && f.id[i] <= '9') ||
			    f.id[i] == '-' || f.id[i] == '_' ||
			    f.id[i] == '.');
		text_ok(f.provider, 32, 0);
		text_ok(f.rule_id, 100, 0);
		FUZZ_CHECK(f.rule_id[0] != '\0' && f.resource_id[0] != '\0');
		text_ok(f.resource_id, 1024, 0);
		text_ok(f.title, 255, 0);
		FUZZ_CHECK(f.title[0] != '\0');
		text_ok(f.category, 32, 0);
		text_ok(f.framework, 255, 0);
		text_ok(f.subscription_id, 64, 0);
		text_ok(f.description, 8192, 1);
		text_ok(f.recommendation, 8192, 1);
		FUZZ_CHECK(finding_severity_str(f.severity) != NULL);
		FUZZ_CHECK(strlen(f.fingerprint) == 64);
		ev = vjson_parse(f.evidence, strlen(f.evidence), 64,
		    4 * IMPORTFMT_ITEM_MAX, &e);
		FUZZ_CHECK(ev != NULL);
		json_object_put(ev);
		break;
	case IMPORTFMT_PASS:
		break;
	case IMPORTFMT_BAD:
		s->bad++;
		FUZZ_CHECK(err[0] != '\0');
		break;
	}
	importfmt_finding_clear(&f);
	return 0;
}

static int
run(enum importfmt fmt, const char *p, size_t n, size_t piece,
    struct seen *s)
{
	struct importfmt_stream st, cs;
	size_t off, k;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	s->fmt = fmt;
	importfmt_init(&st, fmt, 0, on_item, s);
	if (fmt == IMPORTFMT_SARIF) {
		importfmt_init(&cs, fmt, 1, NULL, NULL);
		if (importfmt_feed(&cs, p, n) == 0)
			importfmt_take_ctx(&st, &cs);
		importfmt_free(&cs);
	}
	for (off = 0; off < n && rc == 0; off += k) {
		k = piece == 0 || n - off < piece ? n - off : piece;
		rc = importfmt_feed(&st, p + off, k);
	}
	if (rc == 0)
		rc = importfmt_finish(&st);
	if (rc != 0)
		FUZZ_CHECK(st.err[0] != '\0');
	importfmt_free(&st);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen whole, parts;
	enum importfmt fmt;
	int a, b;

	if (size < 1)
		return 0;
	fmt = (enum importfmt)(data[0] & 3);
	a = run(fmt, (const char *)data + 1, size - 1, 0, &whole);
	b = run(fmt, (const char *)data + 1, size - 1, 1 + (data[0] >> 2),
	    &parts);
	FUZZ_CHECK(a == b);
	FUZZ_CHECK(whole.items == parts.items &&
	    whole.findings == parts.findings && whole.bad == parts.bad);
	return 0;
}
