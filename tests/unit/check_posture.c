/* check_posture.c: the risk score formula, its labels and the summary
 * text, as documented in posture.c and the README, and the two answers
 * built from a loaded posture, byte for byte. */
#include "vigil.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "posture.h"
#include "suites.h"
#include "vjson.h"

static const struct {
	long long	 open[POSTURE_NSEV];	/* critical..info */
	int		 score;
	const char	*label;
} score_cases[] = {
	{ { 0, 0, 0, 0, 0 }, 0, "Low" },
	{ { 0, 0, 0, 0, 500 }, 0, "Low" },	/* info weighs nothing */
	{ { 0, 0, 0, 1, 0 }, 1, "Low" },
	{ { 0, 0, 1, 0, 0 }, 4, "Low" },
	{ { 0, 1, 0, 0, 0 }, 15, "Low" },
	{ { 0, 2, 0, 0, 0 }, 28, "Medium" },
	{ { 0, 0, 10, 0, 0 }, 34, "Medium" },
	{ { 1, 0, 0, 0, 0 }, 40, "High" },	/* one critical: High */
	{ { 2, 0, 0, 0, 0 }, 64, "High" },
	{ { 3, 0, 0, 0, 0 }, 78, "Critical" },
	{ { 0, 0, 0, 1000, 0 }, 100, "Critical" },
	{ { 3, 14, 28, 41, 0 }, 100, "Critical" },	/* 3 critical, 14 high, ... */
	{ { 0, 0, 0, 0x7fffffffffffffffLL, 0 }, 100, "Critical" },
};

START_TEST(test_score)
{
	int s = posture_score(score_cases[_i].open);

	ck_assert_int_eq(s, score_cases[_i].score);
	ck_assert_str_eq(posture_label(s), score_cases[_i].label);
}
END_TEST

START_TEST(test_score_monotonic)
{
	long long open[POSTURE_NSEV] = { 0 };
	int s, prev = 0, i;

	/* Adding a finding never lowers the score. */
	for (i = 0; i < 200; i++) {
		open[i % 4]++;
		s = posture_score(open);
		ck_assert_int_ge(s, prev);
		ck_assert_int_le(s, 100);
		prev = s;
	}
}
END_TEST

START_TEST(test_summary_none)
{
	struct posture_counts c = { .resolved = 12, .dismissed = 1 };
	char out[512];

	posture_summary(&c, out, sizeof(out));
	ck_assert_str_eq(out, "No findings are open. Risk score 0 of 100 "
	    "(Low). Not counted: 12 resolved and 1 dismissed.");
}
END_TEST

START_TEST(test_summary_full)
{
	struct posture_counts c = {
		.open = { 3, 5, 0, 2, 1 }, .accepted = 4, .snoozed = 1,
		.subscriptions = 2, .resources = 9,
		.top_category = "network", .top_category_n = 6,
		.top_title = "NSG allows SSH from the internet",
		.top_severity = "critical", .top_category_of_top = "network",
	};
	char out[1024];

	posture_summary(&c, out, sizeof(out));
	ck_assert_str_eq(out, "11 findings are open: 3 critical, 5 high, "
	    "2 low and 1 info, across 2 subscriptions and 9 resources. "
	    "Risk score 91 of 100 (Critical). The most exposed category is "
	    "network (6 open findings). The top risk is \"NSG allows SSH "
	    "from the internet\" (critical, network). Not counted: "
	    "4 accepted and 1 snoozed.");
}
END_TEST

START_TEST(test_summary_singular)
{
	struct posture_counts c = {
		.open = { 0, 1, 0, 0, 0 }, .subscriptions = 1, .resources = 1,
		.top_category = "storage", .top_category_n = 1,
		.top_title = "t", .top_severity = "high",
		.top_category_of_top = "storage",
	};
	char out[1024];

	posture_summary(&c, out, sizeof(out));
	ck_assert_str_eq(out, "1 finding is open: 1 high, in 1 subscription "
	    "and 1 resource. Risk score 15 of 100 (Low). The most exposed "
	    "category is storage (1 open finding). The top risk is \"t\" "
	    "(high, storage).");
}
END_TEST

/* A small buffer truncates; it never overflows. */
START_TEST(test_summary_truncates)
{
	struct posture_counts c = { .open = { 1, 2, 3, 4, 5 } };
	char out[16];

	memset(out, 'x', sizeof(out));
	posture_summary(&c, out, sizeof(out));
	ck_assert_uint_eq(strlen(out), sizeof(out) - 1);
	posture_summary(&c, out, 1);
	ck_assert_str_eq(out, "");
}
END_TEST

/* A tenant with one open critical and two open mediums, as posture_load
 * would have read it (the strings of c point into top and categories). */
static void
sample(struct posture *p, struct posture_risk top[2],
    struct posture_category cats[2])
{
	memset(p, 0, sizeof(*p));
	memset(top, 0, 2 * sizeof(*top));
	top[0].id = "azure-nsg-ssh-internet-3f9a1c2b";
	top[0].title = "NSG allows SSH from the internet";
	top[0].severity = "critical";
	top[0].category = "network";
	top[0].resource_id = "/subscriptions/s1/nsg/web";
	snprintf(top[0].detected_at, sizeof(top[0].detected_at), "%s",
	    "2026-05-15T18:42:11Z");
	/* An unreadable detected_at is shown as null. */
	top[1].id = "azure-sql-tls-1a2b3c4d";
	top[1].title = "SQL server accepts TLS 1.0";
	top[1].severity = "medium";
	top[1].category = "data";
	top[1].resource_id = "/subscriptions/s1/sql/core";
	cats[0].name = "data";
	cats[0].open = 2;
	cats[1].name = "network";
	cats[1].open = 1;
	p->c.open[POSTURE_CRITICAL] = 1;
	p->c.open[POSTURE_MEDIUM] = 2;
	p->c.accepted = 3;
	p->c.dismissed = 1;
	p->c.subscriptions = 1;
	p->c.resources = 3;
	p->c.top_category = cats[0].name;
	p->c.top_category_n = cats[0].open;
	p->c.top_title = top[0].title;
	p->c.top_severity = top[0].severity;
	p->c.top_category_of_top = top[0].category;
	p->total_open = 3;
	p->score = posture_score(p->c.open);
	p->top = top;
	p->ntop = 2;
	p->categories = cats;
	p->ncategories = 2;
}

START_TEST(test_risk_json)
{
	struct posture p;
	struct posture_risk top[2];
	struct posture_category cats[2];
	json_object *o;

	sample(&p, top, cats);
	o = posture_risk_to_json(&p);
	ck_assert_str_eq(vjson_str(o, NULL), "{\"score\":45,"
	    "\"label\":\"High\",\"severity_counts\":{\"critical\":1,"
	    "\"high\":0,\"medium\":2,\"low\":0,\"info\":0},"
	    "\"total_findings\":3,\"top_risks\":["
	    "{\"id\":\"azure-nsg-ssh-internet-3f9a1c2b\","
	    "\"title\":\"NSG allows SSH from the internet\","
	    "\"severity\":\"critical\",\"category\":\"network\","
	    "\"resource_id\":\"/subscriptions/s1/nsg/web\","
	    "\"detected_at\":\"2026-05-15T18:42:11Z\"},"
	    "{\"id\":\"azure-sql-tls-1a2b3c4d\","
	    "\"title\":\"SQL server accepts TLS 1.0\","
	    "\"severity\":\"medium\",\"category\":\"data\","
	    "\"resource_id\":\"/subscriptions/s1/sql/core\","
	    "\"detected_at\":null}]}");
	json_object_put(o);
}
END_TEST

START_TEST(test_risk_json_empty)
{
	struct posture p;
	json_object *o;

	memset(&p, 0, sizeof(p));
	o = posture_risk_to_json(&p);
	ck_assert_str_eq(vjson_str(o, NULL), "{\"score\":0,"
	    "\"label\":\"Low\",\"severity_counts\":{\"critical\":0,"
	    "\"high\":0,\"medium\":0,\"low\":0,\"info\":0},"
	    "\"total_findings\":0,\"top_risks\":[]}");
	json_object_put(o);
}
END_TEST

START_TEST(test_summary_json)
{
	struct posture p;
	struct posture_risk top[2];
	struct posture_category cats[2];
	json_object *o;

	sample(&p, top, cats);
	o = posture_summary_to_json(&p);
	ck_assert_str_eq(vjson_str(o, NULL), "{\"summary\":\"3 findings "
	    "are open: 1 critical and 2 medium, in 1 subscription and 3 "
	    "resources. Risk score 45 of 100 (High). The most exposed "
	    "category is data (2 open findings). The top risk is \\\"NSG "
	    "allows SSH from the internet\\\" (critical, network). Not "
	    "counted: 3 accepted and 1 dismissed.\","
	    "\"metrics\":{\"risk_score\":45,\"risk_label\":\"High\","
	    "\"total_findings\":3,\"severity_counts\":{\"critical\":1,"
	    "\"high\":0,\"medium\":2,\"low\":0,\"info\":0},"
	    "\"state_counts\":{\"open\":3,\"accepted\":3,"
	    "\"snoozed\":0,\"resolved\":0,\"dismissed\":1,\"muted\":0},"
	    "\"categories\":[{\"category\":\"data\",\"open\":2},"
	    "{\"category\":\"network\",\"open\":1}],"
	    "\"subscriptions_affected\":1,\"resources_affected\":3}}");
	json_object_put(o);
}
END_TEST

Suite *
posture_suite(void)
{
	Suite *s = suite_create("posture");
	TCase *tc = tcase_create("score");

	tcase_add_loop_test(tc, test_score, 0, (int)NELEM(score_cases));
	tcase_add_test(tc, test_score_monotonic);
	tcase_add_test(tc, test_summary_none);
	tcase_add_test(tc, test_summary_full);
	tcase_add_test(tc, test_summary_singular);
	tcase_add_test(tc, test_summary_truncates);
	tcase_add_test(tc, test_risk_json);
	tcase_add_test(tc, test_risk_json_empty);
	tcase_add_test(tc, test_summary_json);
	suite_add_tcase(s, tc);
	return s;
}
