/* check_spool.c: which webhooks an event goes to (events_match over a
 * webhook's stored subscription text, as the spooler's fan-out reads it). The
 * database side of vigil-spool is tested by tests/integration/
 * test_delivery.py against a real server. */
#include <check.h>

#include <json-c/json.h>

#include "events.h"
#include "suites.h"

START_TEST(test_spool_match)
{
	static const struct {
		const char	*events;
		const char	*type;
		int		 want;
	} t[] = {
		{ "[\"*\"]", "finding.detected", 1 },
		{ "[\"*\"]", "webhook.disabled", 1 },
		{ "[\"finding.*\"]", "finding.resolved", 1 },
		{ "[\"finding.*\"]", "scan.completed", 0 },
		/* a prefix matches whole segments only */
		{ "[\"find.*\"]", "finding.resolved", 0 },
		{ "[\"finding.*\"]", "finding", 0 },
		{ "[\"finding.detected\"]", "finding.detected", 1 },
		{ "[\"finding.detected\"]", "finding.detected2", 0 },
		{ "[\"finding.detected\"]", "finding.detecte", 0 },
		{ "[\"scan.failed\", \"finding.accepted\"]", "finding.accepted",
		    1 },
		{ "[]", "finding.detected", 0 },
		/* what the API never stores is no match, not a crash */
		{ "{\"a\": 1}", "finding.detected", 0 },
		{ "not json", "finding.detected", 0 },
		{ "[1, null, \"*\"]", "finding.detected", 1 },
		{ "", "finding.detected", 0 },
		{ NULL, "finding.detected", 0 },
		{ "[\"*\"]", NULL, 0 },
	};
	json_object *subs;
	size_t i;
	int hit;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		subs = t[i].events ? json_tokener_parse(t[i].events) : NULL;
		hit = subs != NULL && events_match(subs, t[i].type);
		json_object_put(subs);
		ck_assert_msg(hit == t[i].want,
		    "case %zu: %s / %s", i, t[i].events ? t[i].events : "NULL",
		    t[i].type ? t[i].type : "NULL");
	}
}
END_TEST

Suite *
spool_suite(void)
{
	Suite	*s = suite_create("spool");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_spool_match);
	suite_add_tcase(s, tc);
	return s;
}
