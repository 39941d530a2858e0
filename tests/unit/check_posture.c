/* check_posture.c: the risk score formula, its labels and the summary
 * text, as documented in posture.c and the README. */
#include "vigil.h"

#include <check.h>
#include <string.h>

#include "posture.h"
#include "suites.h"

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
	suite_add_tcase(s, tc);
	return s;
}
