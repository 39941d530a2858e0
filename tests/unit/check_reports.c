/* check_reports.c: the pure parts of exports and reports: a CSV cell
 * (RFC 4180 quoting, formula injection neutralised), the list filters
 * from name=value pairs (findfilter.c), days, and the checks of a POST
 * /reports body with its defaults. */
#include "vigil.h"

#include <check.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "buf.h"
#include "export.h"
#include "findfilter.h"
#include "render.h"
#include "reportdoc.h"
#include "reports.h"
#include "suites.h"
#include "vjson.h"

START_TEST(test_csv_cell)
{
	static const struct { const char *in, *out; } t[] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "a,b", "\"a,b\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "two\nlines", "\"two\nlines\"" },
		{ "cr\r", "\"cr\r\"" },
		/* a formula, whatever starts it, becomes text */
		{ "=1+1", "'=1+1" },
		{ "+1", "'+1" },
		{ "-1", "'-1" },
		{ "@SUM(A1)", "'@SUM(A1)" },
		{ "\tx", "'\tx" },
		{ "\rx", "\"'\rx\"" },
		{ "=HYPERLINK(\"u\",\"x\")", "\"'=HYPERLINK(\"\"u\"\",\"\"x\"\")\"" },
		{ "a=1", "a=1" },
		{ "名前", "名前" },
	};
	struct buf b;
	size_t i;

	buf_init(&b, 1024);
	for (i = 0; i < NELEM(t); i++) {
		buf_reset(&b);
		ck_assert_int_eq(export_csv_cell(&b, t[i].in, strlen(t[i].in)),
		    0);
		ck_assert_str_eq(b.data ? b.data : "", t[i].out);
	}
	buf_free(&b);
}
END_TEST

START_TEST(test_csv_row)
{
	json_object *o = json_object_new_object(), *tags;
	struct buf b;

	json_object_object_add(o, "id", json_object_new_string("f-1"));
	json_object_object_add(o, "title", json_object_new_string("=x"));
	tags = json_object_new_object();
	json_object_object_add(tags, "env", json_object_new_string("prod"));
	json_object_object_add(o, "tags", tags);
	json_object_object_add(o, "resolved_at", NULL);
	buf_init(&b, 4096);
	ck_assert_int_eq(export_csv_row(&b, o), 0);
	/* id, title, 14 empty cells, tags as JSON, then the rest empty */
	ck_assert_ptr_nonnull(strstr(b.data, "f-1,'=x,"));
	ck_assert_ptr_nonnull(strstr(b.data, ",\"{\"\"env\"\":\"\"prod\"\"}\","));
	ck_assert_int_eq(b.data[b.len - 2], '\r');
	ck_assert_int_eq(b.data[b.len - 1], '\n');
	buf_reset(&b);
	ck_assert_int_eq(export_csv_header(&b), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "id,title,severity,state,"));
	buf_free(&b);
	json_object_put(o);
}
END_TEST

static const char *
pairs_get(void *arg, const char *name)
{
	const char *const *p = arg;

	for (; *p != NULL; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

START_TEST(test_findfilter)
{
	const char *none[] = { NULL };
	const char *some[] = { "severity", "high,critical,high", "tag",
	    "env:prod:eu", "region", "westeurope", NULL };
	const char *since[] = { "since", "2026-01-01T00:00:00Z", NULL };
	static const char *const bad[][3] = {
		{ "severity", "urgent", "severity" },
		{ "severity", "", "severity" },
		{ "state", "open,", "state" },
		{ "category", "", "category" },
		{ "since", "yesterday", "since" },
		{ "tag", "novalue", "tag" },
		{ "tag", ":v", "tag" },
		{ "overdue", "yes", "overdue" },
		{ "due_before", "soon", "due_before" },
	};
	const char *overdue[] = { "overdue", "true", "severity", "high",
	    NULL };
	const char *due_bad[][5] = {
		{ "overdue", "true", "state", "resolved", NULL },
		{ "overdue", "true", "region", "eu", NULL },
		{ "due_before", "2026-01-01T00:00:00Z", "since",
		    "2026-01-01T00:00:00Z", NULL },
	};
	static const char *const due_field[] = { "state", "overdue",
	    "due_before" };
	struct findfilter ff;
	const char *field, *why;
	size_t i;

	ck_assert_int_eq(findfilter_parse(pairs_get, none, 1796464800, &ff,
	    &field, &why), 0);
	ck_assert_int_eq((int)ff.f.nstate, 1);
	ck_assert_str_eq(ff.f.state[0], "open");
	ck_assert_int_eq((int)ff.f.nseverity, 5);
	findfilter_clear(&ff);
	ck_assert_int_eq(findfilter_parse(pairs_get, some, 1796464800, &ff,
	    &field, &why), 0);
	ck_assert_int_eq((int)ff.f.nseverity, 2);
	ck_assert_str_eq(ff.f.tag_key, "env");
	ck_assert_str_eq(ff.f.tag_value, "prod:eu");
	ck_assert_str_eq(ff.f.region, "westeurope");
	findfilter_clear(&ff);
	/* since without state: every state */
	ck_assert_int_eq(findfilter_parse(pairs_get, since, 1796464800, &ff,
	    &field, &why), 0);
	ck_assert_int_eq((int)ff.f.nstate, 6);
	findfilter_clear(&ff);
	/* overdue=true: open findings due before now (+1 s) */
	ck_assert_int_eq(findfilter_parse(pairs_get, overdue, 1796464800, &ff,
	    &field, &why), 0);
	ck_assert_int_eq(ff.f.due, 1);
	ck_assert_int_eq((int)(ff.f.due_to - 1796464800), 1);
	ck_assert_int_eq((int)ff.f.due_from, 0);
	findfilter_clear(&ff);
	for (i = 0; i < NELEM(due_bad); i++) {
		ck_assert_int_eq(findfilter_parse(pairs_get,
		    due_bad[i], 1796464800, &ff, &field, &why), -1);
		ck_assert_str_eq(field, due_field[i]);
		findfilter_clear(&ff);
	}
	for (i = 0; i < NELEM(bad); i++) {
		const char *p[] = { bad[i][0], bad[i][1], NULL };

		ck_assert_int_eq(findfilter_parse(pairs_get, p, 1796464800,
		    &ff, &field, &why), -1);
		ck_assert_str_eq(field, bad[i][2]);
		findfilter_clear(&ff);
	}
}
END_TEST

START_TEST(test_days)
{
	static const char *const good[] = { "2026-01-01", "2024-02-29",
	    "2026-12-31" };
	static const char *const bad[] = { "2026-02-29", "2026-13-01",
	    "2026-1-01", "2026-01-01T00", "20260101", "", "1969-12-31",
	    "2026-04-31", "２０２６-01-01" };
	char back[REPORTDOC_DAY_LEN];
	time_t t;
	size_t i;

	for (i = 0; i < NELEM(good); i++) {
		ck_assert_int_eq(reportdoc_day_parse(good[i], &t), 0);
		ck_assert_int_eq((int)(t % 86400), 0);
		reportdoc_day(t, back, sizeof(back));
		ck_assert_str_eq(back, good[i]);
	}
	for (i = 0; i < NELEM(bad); i++)
		ck_assert_int_eq(reportdoc_day_parse(bad[i], &t), -1);
}
END_TEST

static json_object *
parse(const char *s)
{
	struct vjson_err e;

	return vjson_parse(s, strlen(s), 16, 65536, &e);
}

START_TEST(test_check)
{
	static const struct { const char *body, *field; } bad[] = {
		{ "{}", "type" },
		{ "{\"type\":\"weekly\",\"format\":\"json\"}", "type" },
		{ "{\"type\":\"findings\",\"format\":\"doc\"}", "format" },
		{ "{\"type\":\"findings\",\"format\":\"pdf\",\"paper\":\"a5\"}",
		    "paper" },
		{ "{\"type\":\"compliance\",\"format\":\"pdf\"}", "framework" },
		{ "{\"type\":\"executive\",\"format\":\"pdf\","
		    "\"framework\":\"nist\"}", "framework" },
		{ "{\"type\":\"compliance\",\"format\":\"pdf\","
		    "\"framework\":\"A B\"}", "framework" },
		{ "{\"type\":\"executive\",\"format\":\"json\",\"date_range\":"
		    "{\"start\":\"2026-01-02\",\"end\":\"2026-01-01\"}}",
		    "date_range" },
		{ "{\"type\":\"executive\",\"format\":\"json\",\"date_range\":"
		    "{\"start\":\"2025-01-01\",\"end\":\"2026-01-02\"}}",
		    "date_range" },
		{ "{\"type\":\"findings\",\"format\":\"json\",\"filters\":"
		    "{\"limit\":\"5\"}}", "filters" },
		{ "{\"type\":\"findings\",\"format\":\"json\",\"filters\":"
		    "{\"severity\":5}}", "filters" },
		{ "{\"type\":\"executive\",\"format\":\"json\",\"filters\":{}}",
		    "filters" },
		{ "{\"type\":\"findings\",\"format\":\"json\",\"x\":1}", "x" },
	};
	json_object *b, *p = NULL;
	struct vjson_err e;
	/* 2026-12-05T10:00:00Z */
	time_t now = 1796464800;
	size_t i;

	for (i = 0; i < NELEM(bad); i++) {
		b = parse(bad[i].body);
		ck_assert_ptr_nonnull(b);
		memset(&e, 0, sizeof(e));
		ck_assert_int_eq(reports_check(b, now, &p, &e), -1);
		ck_assert_ptr_null(p);
		ck_assert_str_eq(e.field, bad[i].field);
		json_object_put(b);
	}
	/* The defaults: a4, the 30 days to today, no filters. */
	b = parse("{\"type\":\"executive\",\"format\":\"pdf\"}");
	ck_assert_int_eq(reports_check(b, now, &p, &e), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(p,
	    JSON_C_TO_STRING_PLAIN), "{\"type\":\"executive\",\"format\":"
	    "\"pdf\",\"paper\":\"a4\",\"framework\":null,\"date_range\":"
	    "{\"start\":\"2026-11-06\",\"end\":\"2026-12-05\"},\"filters\":{}}");
	json_object_put(p);
	json_object_put(b);
	/* A full range of 366 days is allowed; filters kept as given. */
	b = parse("{\"type\":\"findings\",\"format\":\"xlsx\",\"paper\":"
	    "\"letter\",\"date_range\":{\"start\":\"2024-01-01\",\"end\":"
	    "\"2024-12-31\"},\"filters\":{\"severity\":\"high\"}}");
	ck_assert_int_eq(reports_check(b, now, &p, &e), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(
	    json_object_object_get(p, "filters"), "severity")), "high");
	json_object_put(p);
	json_object_put(b);
}
END_TEST

/* A framework's status as compliance_status() answers it, drawn as a
 * document every renderer accepts; the CSV lists every control. */
START_TEST(test_compliance_doc)
{
	static const char st[] =
	    "{\"id\":\"cis-azure-2.0\",\"name\":\"CIS Microsoft Azure "
	    "Foundations Benchmark 2.0.0\",\"version\":\"2.0.0\","
	    "\"source\":\"prowler\",\"source_commit\":\"\",\"license\":"
	    "\"Apache-2.0\",\"summary\":{\"controls\":3,\"pass\":1,"
	    "\"fail\":1,\"not_assessed\":1},\"findings_shown_per_control\":"
	    "10,\"controls\":[{\"id\":\"1.1\",\"title\":\"=MFA\","
	    "\"status\":\"pass\",\"rules\":[\"r1\"],\"open_findings\":0,"
	    "\"excepted_findings\":1,\"findings\":[]},{\"id\":\"6.1\","
	    "\"title\":\"SSH from the internet\",\"status\":\"fail\","
	    "\"rules\":[\"nsg-ssh\",\"nsg-any\"],\"open_findings\":12,"
	    "\"excepted_findings\":0,\"findings\":[{\"id\":\"azure-nsg-ssh-"
	    "0badf00d\",\"rule_id\":\"nsg-ssh\",\"title\":\"NSG open\","
	    "\"severity\":\"high\",\"resource_id\":\"/s/x\","
	    "\"detected_at\":null}]},{\"id\":\"9.9\",\"title\":\"Other\","
	    "\"status\":\"not_assessed\",\"rules\":[],\"open_findings\":0,"
	    "\"excepted_findings\":0,\"findings\":[]}]}";
	json_object *status = parse(st), *doc;
	struct buf out;
	char err[256];

	ck_assert_ptr_nonnull(status);
	doc = reportdoc_compliance_doc(status, "acme", 1796464800, 0);
	ck_assert_int_eq(render_validate(doc, err, sizeof(err)), 0);
	buf_init(&out, 1024 * 1024);
	ck_assert_int_eq(render_csv(doc, &out, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "6.1,SSH from the internet,"
	    "fail,12,\"nsg-ssh, nsg-any\",0"));
	ck_assert_ptr_nonnull(strstr(out.data, "1.1,'=MFA,pass,0,r1,1"));
	ck_assert_ptr_nonnull(strstr(out.data, "9.9,Other,not_assessed,0,,0"));
	json_object_put(doc);
	/* On a page: four columns, the failing control's findings too. */
	doc = reportdoc_compliance_doc(status, "acme", 1796464800, 1);
	ck_assert_int_eq(render_validate(doc, err, sizeof(err)), 0);
	buf_reset(&out);
	ck_assert_int_eq(render_csv(doc, &out, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "6.1,SSH from the internet,"
	    "fail,12\r\n"));
	buf_free(&out);
	json_object_put(doc);
	json_object_put(status);
}
END_TEST

Suite *
reports_suite(void)
{
	Suite	*s = suite_create("reports");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_csv_cell);
	tcase_add_test(tc, test_csv_row);
	tcase_add_test(tc, test_findfilter);
	tcase_add_test(tc, test_days);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_compliance_doc);
	suite_add_tcase(s, tc);
	return s;
}
