/* check_backoff.c: the webhook retry schedule (delays, jitter, Retry-After,
 * compression, dead) and the verdict on each kind of attempt. */
#include "vigil.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

#include <curl/curl.h>

#include "backoff.h"
#include "suites.h"

START_TEST(test_backoff_classify)
{
	static const struct {
		int			 status;
		enum backoff_errkind	 kind;
		enum backoff_verdict	 want;
	} t[] = {
		{ 200, BACKOFF_ERR_NONE, BACKOFF_SUCCESS },
		{ 201, BACKOFF_ERR_NONE, BACKOFF_SUCCESS },
		{ 202, BACKOFF_ERR_NONE, BACKOFF_SUCCESS },
		{ 204, BACKOFF_ERR_NONE, BACKOFF_SUCCESS },
		{ 299, BACKOFF_ERR_NONE, BACKOFF_SUCCESS },
		{ 408, BACKOFF_ERR_NONE, BACKOFF_RETRY },
		{ 429, BACKOFF_ERR_NONE, BACKOFF_RETRY },
		{ 500, BACKOFF_ERR_NONE, BACKOFF_RETRY },
		{ 502, BACKOFF_ERR_NONE, BACKOFF_RETRY },
		{ 503, BACKOFF_ERR_NONE, BACKOFF_RETRY },
		{ 504, BACKOFF_ERR_NONE, BACKOFF_RETRY },
		{ 599, BACKOFF_ERR_NONE, BACKOFF_RETRY },
		{ 410, BACKOFF_ERR_NONE, BACKOFF_FAIL_DISABLE },
		{ 400, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		{ 401, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		{ 403, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		{ 404, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		{ 405, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		{ 409, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		{ 413, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		{ 422, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		{ 499, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		/* Redirects are not followed; informational and nonsense
		 * codes are no success either. */
		{ 301, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		{ 302, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		{ 307, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		{ 100, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		{ 600, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		{ 999, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		{ -1, BACKOFF_ERR_NONE, BACKOFF_FAIL },
		/* No response at all is a network failure. */
		{ 0, BACKOFF_ERR_NONE, BACKOFF_RETRY },
		/* An error kind wins over whatever status was seen. */
		{ 0, BACKOFF_ERR_NETWORK, BACKOFF_RETRY },
		{ 0, BACKOFF_ERR_TIMEOUT, BACKOFF_RETRY },
		{ 200, BACKOFF_ERR_TIMEOUT, BACKOFF_RETRY },
		{ 410, BACKOFF_ERR_NETWORK, BACKOFF_RETRY },
		{ 0, BACKOFF_ERR_REFUSED, BACKOFF_FAIL },
		{ 200, BACKOFF_ERR_REFUSED, BACKOFF_FAIL },
		{ 0, BACKOFF_ERR_REQUEST, BACKOFF_FAIL },
	};
	size_t	 i;

	for (i = 0; i < NELEM(t); i++)
		ck_assert_msg(backoff_classify(t[i].status, t[i].kind) ==
		    t[i].want, "status %d kind %d: got %d, want %d",
		    t[i].status, (int)t[i].kind,
		    (int)backoff_classify(t[i].status, t[i].kind),
		    (int)t[i].want);
}
END_TEST

START_TEST(test_backoff_curl_kind)
{
	static const struct {
		int			 code;
		enum backoff_errkind	 want;
	} t[] = {
		{ CURLE_OK, BACKOFF_ERR_NONE },
		{ CURLE_OPERATION_TIMEDOUT, BACKOFF_ERR_TIMEOUT },
		{ CURLE_COULDNT_RESOLVE_HOST, BACKOFF_ERR_NETWORK },
		{ CURLE_COULDNT_CONNECT, BACKOFF_ERR_NETWORK },
		{ CURLE_SSL_CONNECT_ERROR, BACKOFF_ERR_NETWORK },
		{ CURLE_PEER_FAILED_VERIFICATION, BACKOFF_ERR_NETWORK },
		{ CURLE_SEND_ERROR, BACKOFF_ERR_NETWORK },
		{ CURLE_RECV_ERROR, BACKOFF_ERR_NETWORK },
		{ CURLE_GOT_NOTHING, BACKOFF_ERR_NETWORK },
		{ CURLE_PARTIAL_FILE, BACKOFF_ERR_NETWORK },
		{ CURLE_OUT_OF_MEMORY, BACKOFF_ERR_NETWORK },
		{ CURLE_URL_MALFORMAT, BACKOFF_ERR_REQUEST },
		{ CURLE_UNSUPPORTED_PROTOCOL, BACKOFF_ERR_REQUEST },
		{ 9999, BACKOFF_ERR_NETWORK },
	};
	size_t	 i;

	for (i = 0; i < NELEM(t); i++)
		ck_assert_msg(backoff_curl_kind(t[i].code) == t[i].want,
		    "CURLcode %d", t[i].code);
	/* Dropped connections and timeouts end up retried. */
	ck_assert(backoff_classify(0, backoff_curl_kind(CURLE_GOT_NOTHING)) ==
	    BACKOFF_RETRY);
	ck_assert(backoff_classify(0,
	    backoff_curl_kind(CURLE_OPERATION_TIMEDOUT)) == BACKOFF_RETRY);
}
END_TEST

/* The documented schedule, without jitter (rnd01 = 0.5). */
static const long long sched_ms[] = {
	30000, 120000, 300000, 900000, 1800000,
	3600000, 7200000, 14400000, 28800000, 28800000,
};

START_TEST(test_backoff_schedule)
{
	long long	 total = 0, d;
	size_t		 i;

	ck_assert_uint_eq(NELEM(sched_ms), BACKOFF_RETRIES);
	for (i = 0; i < NELEM(sched_ms); i++) {
		d = backoff_delay_ms((int)i + 1, 0, 0.5, NULL);
		ck_assert_msg(d == sched_ms[i], "attempt %zu: %lld", i + 1, d);
		total += d;
	}
	/* About 24 hours in all, and then dead. */
	ck_assert_int_ge(total, 23LL * 3600 * 1000);
	ck_assert_int_le(total, 24LL * 3600 * 1000);
	ck_assert_int_eq(backoff_delay_ms(BACKOFF_RETRIES + 1, 0, 0.5, NULL),
	    -1);
	ck_assert_int_eq(backoff_delay_ms(100, 0, 0.5, NULL), -1);
	ck_assert_int_eq(backoff_delay_ms(0, 0, 0.5, NULL), -1);
	ck_assert_int_eq(backoff_delay_ms(-3, 0, 0.5, NULL), -1);
	/* Even a Retry-After does not revive a dead delivery. */
	ck_assert_int_eq(backoff_delay_ms(BACKOFF_RETRIES + 1, 60, 0.5, NULL),
	    -1);
}
END_TEST

START_TEST(test_backoff_jitter)
{
	static const double	 rnd[] = { 0.0, 0.1, 0.25, 0.5, 0.75, 0.9,
	    1.0 };
	long long		 d, lo, hi, prev;
	size_t			 i, j;

	for (i = 0; i < NELEM(sched_ms); i++) {
		lo = sched_ms[i] * 8 / 10;
		hi = sched_ms[i] * 12 / 10;
		/* The extremes are exactly ±20 %. */
		ck_assert_int_eq(backoff_delay_ms((int)i + 1, 0, 0.0, NULL), lo);
		ck_assert_int_eq(backoff_delay_ms((int)i + 1, 0, 1.0, NULL), hi);
		prev = -1;
		for (j = 0; j < NELEM(rnd); j++) {
			d = backoff_delay_ms((int)i + 1, 0, rnd[j], NULL);
			ck_assert_int_ge(d, lo);
			ck_assert_int_le(d, hi);
			/* More randomness, longer wait: it does spread. */
			ck_assert_int_gt(d, prev);
			prev = d;
		}
	}
	/* Out-of-range or NaN randomness is clamped, never wild. */
	ck_assert_int_eq(backoff_delay_ms(1, 0, -5.0, NULL), 24000);
	ck_assert_int_eq(backoff_delay_ms(1, 0, 7.0, NULL), 36000);
	ck_assert_int_eq(backoff_delay_ms(1, 0, NAN, NULL), 30000);
}
END_TEST

START_TEST(test_backoff_retry_after)
{
	static const struct {
		int		 attempt;
		long		 ra;
		double		 rnd;
		long long	 want;
	} t[] = {
		/* Longer than the computed delay: it wins, unjittered. */
		{ 1, 120, 0.5, 120000 },
		{ 1, 120, 0.0, 120000 },
		{ 1, 120, 1.0, 120000 },
		{ 2, 600, 0.5, 600000 },
		/* Shorter: the schedule wins. */
		{ 1, 10, 0.5, 30000 },
		{ 3, 60, 0.5, 300000 },
		{ 1, 30, 1.0, 36000 },
		/* Capped at an hour. */
		{ 1, 7200, 0.5, 3600000 },
		{ 1, 86400 * 365L, 0.5, 3600000 },
		{ 5, 3601, 0.5, 3600000 },
		/* The cap never shortens a long scheduled delay. */
		{ 9, 3600, 0.5, 28800000 },
		{ 9, 99999, 0.5, 28800000 },
		/* None, or nonsense: ignored. */
		{ 1, 0, 0.5, 30000 },
		{ 1, -5, 0.5, 30000 },
	};
	size_t	 i;

	for (i = 0; i < NELEM(t); i++)
		ck_assert_msg(backoff_delay_ms(t[i].attempt, t[i].ra, t[i].rnd,
		    NULL) == t[i].want, "case %zu: %lld", i,
		    backoff_delay_ms(t[i].attempt, t[i].ra, t[i].rnd, NULL));
}
END_TEST

START_TEST(test_backoff_policy)
{
	struct backoff_policy	 fast = { BACKOFF_RETRIES, 0.001, 0.2, 3600 };
	struct backoff_policy	 short3 = { 3, 1.0, 0.2, 3600 };
	struct backoff_policy	 long12 = { 12, 1.0, 0.0, 3600 };
	struct backoff_policy	 tests = { 4, 0.01, 0.0, 2 };
	struct backoff_policy	 zero = { 2, 0.0, 0.2, 3600 };
	size_t			 i;

	/* Compressed: the same shape, a thousandth of the time. */
	for (i = 0; i < NELEM(sched_ms); i++)
		ck_assert_int_eq(backoff_delay_ms((int)i + 1, 0, 0.5, &fast),
		    sched_ms[i] / 1000);
	ck_assert_int_eq(backoff_delay_ms(BACKOFF_RETRIES + 1, 0, 0.5, &fast),
	    -1);
	/* Fewer retries: dead sooner. */
	ck_assert_int_eq(backoff_delay_ms(3, 0, 0.5, &short3), 300000);
	ck_assert_int_eq(backoff_delay_ms(4, 0, 0.5, &short3), -1);
	/* More retries than the table: the last delay repeats. */
	ck_assert_int_eq(backoff_delay_ms(11, 0, 0.9, &long12), 28800000);
	ck_assert_int_eq(backoff_delay_ms(12, 0, 0.1, &long12), 28800000);
	ck_assert_int_eq(backoff_delay_ms(13, 0, 0.5, &long12), -1);
	/* Retry-After is the receiver's number, not scaled; the cap is the
	 * policy's (a test can keep it short). */
	ck_assert_int_eq(backoff_delay_ms(1, 1, 0.5, &tests), 1000);
	ck_assert_int_eq(backoff_delay_ms(1, 60, 0.5, &tests), 2000);
	ck_assert_int_eq(backoff_delay_ms(2, 0, 0.5, &tests), 1200);
	/* Scale 0: at once. */
	ck_assert_int_eq(backoff_delay_ms(1, 0, 1.0, &zero), 0);
}
END_TEST

Suite *
backoff_suite(void)
{
	Suite	*s = suite_create("backoff");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_backoff_classify);
	tcase_add_test(tc, test_backoff_curl_kind);
	tcase_add_test(tc, test_backoff_schedule);
	tcase_add_test(tc, test_backoff_jitter);
	tcase_add_test(tc, test_backoff_retry_after);
	tcase_add_test(tc, test_backoff_policy);
	suite_add_tcase(s, tc);
	return s;
}
