/* check_sla.c: the SLA policy's defaults, the PUT body applied to a
 * policy (every field, null for no target, and the refusals naming the
 * field), its API shape, and when an alert's or a case's targets count
 * as breached. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "sla.h"
#include "suites.h"

static int
apply(struct sla_policy *p, const char *body, char *field, size_t fsz)
{
	char msg[256];
	json_object *o = json_tokener_parse(body);
	int rc;

	ck_assert_msg(o != NULL, "bad test JSON %s", body);
	rc = sla_apply(p, o, field, fsz, msg, sizeof(msg));
	json_object_put(o);
	return rc;
}

START_TEST(test_sla_defaults)
{
	struct sla_policy p;
	json_object *o, *d;

	sla_defaults(&p);
	ck_assert_int_eq(p.days[0], 7);
	ck_assert_int_eq(p.days[1], 30);
	ck_assert_int_eq(p.days[2], 90);
	ck_assert_int_eq(p.days[3], 180);
	ck_assert_int_eq(p.days[4], 0);
	ck_assert_int_eq(p.warning_days, 3);
	o = sla_to_json(&p);
	ck_assert(json_object_object_get_ex(o, "days", &d));
	ck_assert_int_eq(json_object_get_int(json_object_object_get(d,
	    "critical")), 7);
	/* info has no target: null, not 0 */
	ck_assert(json_object_object_get_ex(d, "info", &d) && d == NULL);
	ck_assert(json_object_object_get_ex(o, "updated_at", &d) &&
	    d == NULL);
	json_object_put(o);
}
END_TEST

START_TEST(test_sla_apply)
{
	struct sla_policy p;
	char field[128];

	sla_defaults(&p);
	ck_assert_int_eq(apply(&p, "{\"days\":{\"high\":14,\"info\":365},"
	    "\"warning_days\":0,\"alerts\":{\"acknowledge_hours\":"
	    "{\"critical\":null}},\"cases\":{\"resolve_hours\":{\"low\":1}}}",
	    field, sizeof(field)), 0);
	ck_assert_int_eq(p.days[0], 7);     /* untouched */
	ck_assert_int_eq(p.days[1], 14);
	ck_assert_int_eq(p.days[4], 365);
	ck_assert_int_eq(p.warning_days, 0);
	ck_assert_int_eq(p.alert_ack[0], 0);
	ck_assert_int_eq(p.alert_ack[1], 4);
	ck_assert_int_eq(p.case_resolve[3], 1);
	ck_assert_int_eq(apply(&p, "{\"days\":{\"critical\":null}}", field,
	    sizeof(field)), 0);
	ck_assert_int_eq(p.days[0], 0);
}
END_TEST

START_TEST(test_sla_apply_refused)
{
	static const struct {
		const char	*body;
		const char	*field;
	} bad[] = {
		{ "{}", "body" },
		{ "[]", "body" },
		{ "{\"nope\":1}", "nope" },
		{ "{\"days\":null}", "days" },
		{ "{\"days\":7}", "days" },
		{ "{\"days\":{\"urgent\":1}}", "days.urgent" },
		{ "{\"days\":{\"high\":\"30\"}}", "days.high" },
		{ "{\"days\":{\"high\":0}}", "days.high" },
		{ "{\"days\":{\"high\":3651}}", "days.high" },
		{ "{\"days\":{\"high\":1.5}}", "days.high" },
		{ "{\"days\":{\"high\":true}}", "days.high" },
		{ "{\"warning_days\":-1}", "warning_days" },
		{ "{\"warning_days\":366}", "warning_days" },
		{ "{\"warning_days\":null}", "warning_days" },
		{ "{\"alerts\":{\"ack\":{}}}", "alerts.ack" },
		{ "{\"alerts\":[]}", "alerts" },
		{ "{\"cases\":{\"resolve_hours\":{\"low\":8761}}}",
		    "cases.resolve_hours.low" },
		{ "{\"cases\":{\"acknowledge_hours\":[1]}}",
		    "cases.acknowledge_hours" },
	};
	struct sla_policy p;
	char field[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sla_defaults(&p);
		field[0] = '\0';
		ck_assert_msg(apply(&p, bad[i].body, field,
		    sizeof(field)) == -1, "%s accepted", bad[i].body);
		ck_assert_msg(strcmp(field, bad[i].field) == 0,
		    "%s: field %s, want %s", bad[i].body, field, bad[i].field);
	}
}
END_TEST

static int
breached(json_object *o, const char *k)
{
	return json_object_get_boolean(json_object_object_get(o, k));
}

START_TEST(test_sla_targets)
{
	const time_t t0 = 1764892800;   /* 2025-12-05T00:00:00Z */
	json_object *o;

	/* Acknowledged in time, unresolved and past its resolve target. */
	o = sla_targets_json(1, 24, t0, t0 + 1800, 0, t0 + 25 * 3600);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o,
	    "acknowledge_by")), "2025-12-05T01:00:00Z");
	ck_assert(!breached(o, "acknowledge_breached"));
	ck_assert(breached(o, "resolve_breached"));
	json_object_put(o);
	/* Acknowledged late stays breached; resolved in time is not. */
	o = sla_targets_json(1, 24, t0, t0 + 7200, t0 + 3600 * 20, t0 +
	    99 * 3600);
	ck_assert(breached(o, "acknowledge_breached"));
	ck_assert(!breached(o, "resolve_breached"));
	json_object_put(o);
	/* Not yet due, nothing done: not breached. */
	o = sla_targets_json(1, 24, t0, 0, 0, t0 + 60);
	ck_assert(!breached(o, "acknowledge_breached"));
	ck_assert(json_object_object_get(o, "acknowledged_at") == NULL);
	json_object_put(o);
	/* No target: null and never breached. */
	o = sla_targets_json(0, 0, t0, 0, 0, t0 + 9999999);
	ck_assert(json_object_object_get(o, "resolve_by") == NULL);
	ck_assert(!breached(o, "resolve_breached"));
	json_object_put(o);
}
END_TEST

Suite *
sla_suite(void)
{
	Suite *s = suite_create("sla");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sla_defaults);
	tcase_add_test(tc, test_sla_apply);
	tcase_add_test(tc, test_sla_apply_refused);
	tcase_add_test(tc, test_sla_targets);
	suite_add_tcase(s, tc);
	return s;
}
