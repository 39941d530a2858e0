/* check_vtime.c: RFC 3339 and database timestamps. */
#include "vigil.h"

#include <check.h>
#include <string.h>

#include <json-c/json.h>

#include "suites.h"
#include "vtime.h"

START_TEST(test_vtime_format)
{
	static const struct {
		long long	 t;
		const char	*rfc;
		const char	*sql;
	} t[] = {
		{ 0, "1970-01-01T00:00:00Z", "1970-01-01 00:00:00" },
		{ 1778870531, "2026-05-15T18:42:11Z", "2026-05-15 18:42:11" },
		{ 951782400, "2000-02-29T00:00:00Z", "2000-02-29 00:00:00" },
		{ 4102444799LL, "2099-12-31T23:59:59Z", "2099-12-31 23:59:59" },
	};
	char	 rfc[VTIME_RFC3339_LEN], back[VTIME_RFC3339_LEN];
	char	 sql[VTIME_SQL_LEN];
	time_t	 parsed;
	size_t	 i;

	for (i = 0; i < NELEM(t); i++) {
		vtime_rfc3339((time_t)t[i].t, rfc, sizeof(rfc));
		vtime_sql((time_t)t[i].t, sql, sizeof(sql));
		ck_assert_str_eq(rfc, t[i].rfc);
		ck_assert_str_eq(sql, t[i].sql);
		ck_assert_int_eq(vtime_parse_rfc3339(rfc, &parsed), 0);
		ck_assert_int_eq((long long)parsed, t[i].t);
		ck_assert_int_eq(vtime_parse_sql(sql, &parsed), 0);
		ck_assert_int_eq((long long)parsed, t[i].t);
		ck_assert_int_eq(vtime_sql_to_rfc3339(sql, back, sizeof(back)),
		    0);
		ck_assert_str_eq(back, t[i].rfc);
	}
	/* Too small a buffer yields an empty string, not a partial one. */
	vtime_rfc3339(0, rfc, 10);
	ck_assert_str_eq(rfc, "");
}
END_TEST

START_TEST(test_vtime_parse_rfc3339)
{
	static const struct {
		const char	*s;
		int		 rc;
		long long	 want;
	} t[] = {
		{ "2026-05-15T18:42:11Z", 0, 1778870531 },
		{ "2026-05-15t18:42:11z", 0, 1778870531 },
		{ "2026-05-15T18:42:11.123456Z", 0, 1778870531 },
		{ "2026-05-15T20:42:11+02:00", 0, 1778870531 },
		{ "2026-05-15T13:12:11-05:30", 0, 1778870531 },
		{ "2026-05-15T18:42:11.5+00:00", 0, 1778870531 },
		{ "2026-05-16T00:12:11+05:30", 0, 1778870531 },
		{ "2026-05-15T18:42:11", -1, 0 },
		{ "2026-05-15 18:42:11Z", -1, 0 },
		{ "2026-05-15T18:42:11.Z", -1, 0 },
		{ "2026-05-15T18:42:11+0200", -1, 0 },
		{ "2026-05-15T18:42:11+24:00", -1, 0 },
		{ "2026-05-15T18:42:11Zjunk", -1, 0 },
		{ "2026-5-15T18:42:11Z", -1, 0 },
		{ "2026-02-30T00:00:00Z", -1, 0 },
		{ "2025-02-29T00:00:00Z", -1, 0 },
		{ "2026-13-01T00:00:00Z", -1, 0 },
		{ "2026-05-15T24:00:00Z", -1, 0 },
		{ "2026-05-15T18:60:00Z", -1, 0 },
		{ " 2026-05-15T18:42:11Z", -1, 0 },
		{ "", -1, 0 },
		{ "tomorrow", -1, 0 },
	};
	time_t	 got;
	size_t	 i;

	for (i = 0; i < NELEM(t); i++) {
		got = 42;
		ck_assert_msg(vtime_parse_rfc3339(t[i].s, &got) == t[i].rc,
		    "row %zu: %s", i, t[i].s);
		if (t[i].rc == 0)
			ck_assert_int_eq((long long)got, t[i].want);
		else
			ck_assert_int_eq((long long)got, 42);
	}
}
END_TEST

START_TEST(test_vtime_parse_sql)
{
	static const struct {
		const char	*s;
		int		 rc;
	} t[] = {
		{ "2026-05-15 18:42:11", 0 },
		{ "2026-05-15T18:42:11", -1 },
		{ "2026-05-15 18:42:11Z", -1 },
		{ "2026-05-15 18:42", -1 },
		{ "2026-02-29 00:00:00", -1 },
		{ "0000-00-00 00:00:00", -1 },
		{ "", -1 },
	};
	char	 out[VTIME_RFC3339_LEN];
	time_t	 got;
	size_t	 i;

	for (i = 0; i < NELEM(t); i++) {
		ck_assert_msg(vtime_parse_sql(t[i].s, &got) == t[i].rc,
		    "row %zu: %s", i, t[i].s);
		ck_assert_int_eq(vtime_sql_to_rfc3339(t[i].s, out, sizeof(out)),
		    t[i].rc);
	}
	ck_assert_int_eq(vtime_sql_to_rfc3339("2026-05-15 18:42:11", out, 20),
	    -1);
}
END_TEST

START_TEST(test_vtime_mono)
{
	long long	 a, b;

	a = vtime_mono_us();
	b = vtime_mono_us();
	ck_assert_int_gt(a, 0);
	ck_assert_int_ge(b, a);
}
END_TEST

START_TEST(test_vtime_now_ms)
{
	long long now, before, after;

	/* time() may read a coarser clock that lags the precise one by a
	 * tick: bracket the call and allow that second on either side. */
	before = (long long)time(NULL);
	now = vtime_now_ms();
	after = (long long)time(NULL);
	ck_assert_int_ge(now / 1000, before - 1);
	ck_assert_int_le(now / 1000, after + 1);
}
END_TEST

/* A DATETIME cell as the API writes it: RFC 3339, or null. */
START_TEST(test_vtime_sql_json)
{
	json_object *o = vtime_sql_json("2026-05-15 18:42:11");

	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_object_get_string(o), "2026-05-15T18:42:11Z");
	json_object_put(o);
	ck_assert_ptr_null(vtime_sql_json(NULL));
	ck_assert_ptr_null(vtime_sql_json(""));
	ck_assert_ptr_null(vtime_sql_json("2026-05-15T18:42:11Z"));
}
END_TEST

Suite *
vtime_suite(void)
{
	Suite	*s = suite_create("vtime");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_vtime_format);
	tcase_add_test(tc, test_vtime_parse_rfc3339);
	tcase_add_test(tc, test_vtime_parse_sql);
	tcase_add_test(tc, test_vtime_mono);
	tcase_add_test(tc, test_vtime_now_ms);
	tcase_add_test(tc, test_vtime_sql_json);
	suite_add_tcase(s, tc);
	return s;
}
