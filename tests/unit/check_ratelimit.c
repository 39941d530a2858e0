/* check_ratelimit.c: fixed-window arithmetic. */
#include "vigil.h"

#include <check.h>

#include "ratelimit.h"
#include "suites.h"

START_TEST(test_ratelimit_window)
{
	static const struct {
		long	 now;
		long	 want;
	} t[] = {
		{ 0, 0 },
		{ 59, 0 },
		{ 60, 60 },
		{ 1778870531, 1778870520 },
		{ 1778870520, 1778870520 },
		{ 1778870579, 1778870520 },
		{ -1, -60 },
	};
	size_t	 i;

	for (i = 0; i < NELEM(t); i++)
		ck_assert_int_eq(ratelimit_window((time_t)t[i].now), t[i].want);
}
END_TEST

START_TEST(test_ratelimit_decide)
{
	static const struct {
		long	 limit, count, window, now;
		int	 allowed;
		long	 remaining, reset, retry_after;
	} t[] = {
		/* first request of the window */
		{ 120, 1, 1200, 1200, 1, 119, 1260, 60 },
		{ 120, 119, 1200, 1230, 1, 1, 1260, 30 },
		/* the limit-th request is still allowed, with none left */
		{ 120, 120, 1200, 1230, 1, 0, 1260, 30 },
		{ 120, 121, 1200, 1230, 0, 0, 1260, 30 },
		{ 30, 500, 1200, 1259, 0, 0, 1260, 1 },
		/* clock already past the window end: never less than 1 s */
		{ 30, 31, 1200, 1275, 0, 0, 1260, 1 },
		{ 1, 1, 0, 0, 1, 0, 60, 60 },
		{ 1, 2, 0, 0, 0, 0, 60, 60 },
	};
	struct ratelimit	 rl;
	size_t			 i;

	for (i = 0; i < NELEM(t); i++) {
		ratelimit_decide(t[i].limit, t[i].count, t[i].window,
		    (time_t)t[i].now, &rl);
		ck_assert_int_eq(rl.limit, t[i].limit);
		ck_assert_int_eq(rl.allowed, t[i].allowed);
		ck_assert_int_eq(rl.remaining, t[i].remaining);
		ck_assert_int_eq(rl.reset, t[i].reset);
		ck_assert_int_eq(rl.retry_after, t[i].retry_after);
	}
}
END_TEST

Suite *
ratelimit_suite(void)
{
	Suite	*s = suite_create("ratelimit");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_ratelimit_window);
	tcase_add_test(tc, test_ratelimit_decide);
	suite_add_tcase(s, tc);
	return s;
}
