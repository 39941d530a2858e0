/* check_alerts.c: what alert ingest accepts (alerts_parse), and the
 * names it knows. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "alerts.h"
#include "suites.h"
#include "vjson.h"

/* 2026-06-02T10:00:00Z: the server's clock in these cases. */
#define NOW ((time_t)1780394400)

static const char *const base =
    "{\"source\":\"crowdstrike\",\"external_id\":\"falcon-1\","
    "\"severity\":\"high\",\"title\":\"Suspicious PowerShell\","
    "\"detected_at\":\"2026-06-02T09:14:00Z\"";

/* alerts_parse of base + extra + "}": 0 with *in set, or -1 with the
 * field in err. */
static int
parse(const char *extra, struct alert_in *in, struct vjson_err *err,
    json_object **doc)
{
	char text[4096];

	snprintf(text, sizeof(text), "%s%s}", base, extra);
	*doc = json_tokener_parse(text);
	ck_assert_msg(*doc != NULL, "bad test JSON: %s", text);
	memset(err, 0, sizeof(*err));
	return alerts_parse(*doc, NOW, in, err);
}

START_TEST(test_alerts_parse_ok)
{
	struct alert_in in;
	struct vjson_err e;
	json_object *doc;

	ck_assert_int_eq(parse(",\"asset\":{\"hostname\":\"WS-042\"},"
	    "\"observables\":[{\"type\":\"ip\",\"value\":\"::ffff:203.0.113.4\"},"
	    "{\"type\":\"hash\",\"value\":\"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709\"},"
	    "{\"type\":\"ip\",\"value\":\"203.0.113.4\"}],"
	    "\"raw\":{\"b\":1.50,\"a\":[1,2]}", &in, &e, &doc), 0);
	ck_assert_str_eq(in.source, "crowdstrike");
	ck_assert_str_eq(in.severity, "high");
	ck_assert_int_eq((long long)in.detected_at, 1780391640LL);
	ck_assert_str_eq(in.asset, "{\"hostname\":\"WS-042\"}");
	/* the same address twice is one observable */
	ck_assert_uint_eq(in.nobs, 2);
	ck_assert_str_eq(in.obs[0].value, "203.0.113.4");
	ck_assert_str_eq(in.obs[1].value,
	    "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	ck_assert_str_eq(in.raw, "{\"b\":1.50,\"a\":[1,2]}");
	ck_assert_int_eq(in.raw_truncated, 0);
	alerts_in_free(&in);
	json_object_put(doc);

	/* optional members absent or null */
	ck_assert_int_eq(parse(",\"asset\":null,\"raw\":null", &in, &e,
	    &doc), 0);
	ck_assert_str_eq(in.asset, "{}");
	ck_assert_ptr_null(in.raw);
	ck_assert_uint_eq(in.nobs, 0);
	alerts_in_free(&in);
	json_object_put(doc);
}
END_TEST

START_TEST(test_alerts_parse_raw_cap)
{
	struct alert_in in;
	struct vjson_err e;
	json_object *doc, *cut;
	char *big;
	size_t i, n = ALERTS_RAW_MAX + 100;

	/* "é" is two bytes: the cut falls inside one unless it backs up */
	big = malloc(n + 1);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i + 1 < n; i += 2) {
		big[i] = (char)0xc3;
		big[i + 1] = (char)0xa9;
	}
	big[i] = '\0';
	doc = json_tokener_parse("{\"source\":\"edr\",\"external_id\":\"x\","
	    "\"severity\":\"low\",\"title\":\"t\","
	    "\"detected_at\":\"2026-06-02T09:14:00Z\"}");
	json_object_object_add(doc, "raw", json_object_new_string(big));
	ck_assert_int_eq(alerts_parse(doc, NOW, &in, &e), 0);
	ck_assert_int_eq(in.raw_truncated, 1);
	cut = json_tokener_parse(in.raw);
	ck_assert_ptr_nonnull(cut);
	ck_assert(json_object_is_type(cut, json_type_string));
	ck_assert_uint_le((size_t)json_object_get_string_len(cut),
	    ALERTS_RAW_MAX);
	ck_assert(vjson_utf8_valid(json_object_get_string(cut),
	    (size_t)json_object_get_string_len(cut)));
	/* the start of the serialised original, not something else */
	ck_assert(strncmp(json_object_get_string(cut), "\"\xc3\xa9", 3) == 0);
	json_object_put(cut);
	alerts_in_free(&in);
	json_object_put(doc);
	free(big);
}
END_TEST

START_TEST(test_alerts_parse_refusals)
{
	static const struct {
		const char	*doc;
		const char	*field;
	} t[] = {
		{ "{\"external_id\":\"x\",\"severity\":\"high\",\"title\":\"t\","
		    "\"detected_at\":\"2026-06-02T09:14:00Z\"}", "source" },
		{ "{\"source\":\"a b\",\"external_id\":\"x\"}", "source" },
		{ "{\"source\":\"edr\",\"severity\":\"high\"}", "external_id" },
		{ "{\"source\":\"edr\",\"external_id\":\"x\","
		    "\"severity\":\"urgent\"}", "severity" },
		{ "{\"source\":\"edr\",\"external_id\":\"x\","
		    "\"severity\":\"high\"}", "title" },
		{ "{\"source\":\"edr\",\"external_id\":\"x\","
		    "\"severity\":\"high\",\"title\":\"t\"}", "detected_at" },
		{ "{\"source\":\"edr\",\"external_id\":\"x\","
		    "\"severity\":\"high\",\"title\":\"t\","
		    "\"detected_at\":\"2026-06-02\"}", "detected_at" },
		/* more than an hour ahead of NOW */
		{ "{\"source\":\"edr\",\"external_id\":\"x\","
		    "\"severity\":\"high\",\"title\":\"t\","
		    "\"detected_at\":\"2026-06-02T11:00:01Z\"}", "detected_at" },
		{ "{\"source\":\"edr\",\"external_id\":\"x\","
		    "\"severity\":\"high\",\"title\":\"t\","
		    "\"detected_at\":\"2026-06-02T09:14:00Z\",\"asset\":[]}",
		    "asset" },
		{ "{\"source\":\"edr\",\"external_id\":\"x\","
		    "\"severity\":\"high\",\"title\":\"t\","
		    "\"detected_at\":\"2026-06-02T09:14:00Z\","
		    "\"observables\":[{\"type\":\"ip\",\"value\":\"1.2.3.4\"},"
		    "{\"type\":\"mac\",\"value\":\"x\"}]}",
		    "observables[1].type" },
		{ "{\"source\":\"edr\",\"external_id\":\"x\","
		    "\"severity\":\"high\",\"title\":\"t\","
		    "\"detected_at\":\"2026-06-02T09:14:00Z\","
		    "\"observables\":[{\"type\":\"domain\",\"value\":\"a..b\"}]}",
		    "observables[0].value" },
		{ "{\"source\":\"edr\",\"external_id\":\"x\","
		    "\"severity\":\"high\",\"title\":\"t\","
		    "\"detected_at\":\"2026-06-02T09:14:00Z\","
		    "\"observables\":[{\"type\":\"ip\"}]}",
		    "observables[0].value" },
		{ "{\"source\":\"edr\",\"external_id\":\"x\","
		    "\"severity\":\"high\",\"title\":\"t\","
		    "\"detected_at\":\"2026-06-02T09:14:00Z\",\"status\":\"x\"}",
		    "status" },
	};
	struct alert_in in;
	struct vjson_err e;
	json_object *doc;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		doc = json_tokener_parse(t[i].doc);
		ck_assert_ptr_nonnull(doc);
		memset(&e, 0, sizeof(e));
		ck_assert_msg(alerts_parse(doc, NOW, &in, &e) == -1,
		    "case %zu accepted", i);
		ck_assert_msg(strcmp(e.field, t[i].field) == 0,
		    "case %zu: field %s, want %s (%s)", i, e.field, t[i].field,
		    e.message);
		ck_assert(e.message[0] != '\0');
		json_object_put(doc);
	}
}
END_TEST

START_TEST(test_alerts_names)
{
	ck_assert(alerts_severity_valid("critical"));
	ck_assert(alerts_severity_valid("info"));
	ck_assert(!alerts_severity_valid("Critical"));
	ck_assert(!alerts_severity_valid(NULL));
	ck_assert(alerts_reason_valid("known-good"));
	ck_assert(alerts_reason_valid("false-positive"));
	ck_assert(alerts_reason_valid("duplicate"));
	ck_assert(alerts_reason_valid("test"));
	ck_assert(alerts_reason_valid("other"));
	ck_assert(!alerts_reason_valid("known_good"));
	ck_assert(alerts_source_valid("aws.guardduty_v2-eu"));
	ck_assert(!alerts_source_valid(""));
	ck_assert(!alerts_source_valid("crowd strike"));
	ck_assert(!alerts_source_valid("source:edr"));
	ck_assert(alerts_id_valid("alert_01JV7R2M5X8K3B6N9Q4T7W0Z1C"));
	ck_assert(!alerts_id_valid("alert_1"));
	ck_assert(!alerts_id_valid("case_01JV7R2M5X8K3B6N9Q4T7W0Z1C"));
}
END_TEST

Suite *
alerts_suite(void)
{
	Suite *s = suite_create("alerts");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_alerts_parse_ok);
	tcase_add_test(tc, test_alerts_parse_raw_cap);
	tcase_add_test(tc, test_alerts_parse_refusals);
	tcase_add_test(tc, test_alerts_names);
	suite_add_tcase(s, tc);
	return s;
}
