/* check_metrics.c: the text format's writers, and the request counters
 * shared by forked processes as a pool's workers share them. */
#include "vigil.h"

#include <check.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "metrics.h"
#include "suites.h"

START_TEST(test_metrics_escape)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{ "plain", "plain" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "two\nlines", "two\\nlines" },
		{ "", "" },
		{ "caf\xc3\xa9 {x}", "caf\xc3\xa9 {x}" },
	};
	char out[64];
	size_t i;

	for (i = 0; i < NELEM(t); i++)
		ck_assert_str_eq(metrics_escape(t[i].in, out, sizeof(out)),
		    t[i].want);
	/* Never half an escape at the end. */
	ck_assert_str_eq(metrics_escape("ab\"", out, 4), "ab");
	ck_assert_str_eq(metrics_escape("ab\"", out, 5), "ab\\\"");
}
END_TEST

START_TEST(test_metrics_sample)
{
	const char *lab[] = { "a", "x\"y", "b", "2" };
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(metrics_family(&b, "m", "gauge", "Help\\ with\nnl."),
	    0);
	ck_assert_int_eq(metrics_sample(&b, "m", lab, 2, 3), 0);
	ck_assert_int_eq(metrics_sample(&b, "m", NULL, 0, 1.5), 0);
	ck_assert_int_eq(metrics_sample(&b, "m", lab, 1, -2), 0);
	ck_assert_int_eq(metrics_sample(&b, "m", NULL, 0, 1767225600), 0);
	ck_assert_str_eq(b.data,
	    "# HELP m Help\\\\ with\\nnl.\n"
	    "# TYPE m gauge\n"
	    "m{a=\"x\\\"y\",b=\"2\"} 3\n"
	    "m 1.5\n"
	    "m{a=\"x\\\"y\"} -2\n"
	    "m 1767225600\n");
	buf_free(&b);
}
END_TEST

static const struct metrics_route routes[] = {
	{ "GET", "/a/{id}" },
	{ "POST", "/a" },
};

START_TEST(test_metrics_shared_by_children)
{
	struct metrics *m = metrics_new_shared();
	struct buf b;
	int i, st;

	ck_assert_ptr_nonnull(m);
	metrics_use(m);
	ck_assert_int_eq(metrics_shared(), 1);
	for (i = 0; i < 4; i++) {
		pid_t pid = fork();
		int k;

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			for (k = 0; k < 1000; k++)
				metrics_request(0, 0, "GET", 200, 1000);
			metrics_request(0, 1, "HEAD", 404, 1001);
			metrics_request(1, 0, "POST", 299, 20000000);
			metrics_request(-1, 0, "BREW", 404, 5);
			metrics_request(-1, 0, "DELETE", 405, 5);
			metrics_refused(METRICS_RL_WRITE);
			metrics_db_error(METRICS_DB_BUSY);
			_exit(0);
		}
	}
	for (i = 0; i < 4; i++) {
		ck_assert_int_gt(wait(&st), 0);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(metrics_render_counters(&b, routes, NELEM(routes)),
	    0);
#define HAS(s) ck_assert_msg(strstr(b.data, s) != NULL, "no %s in\n%s", \
	    s, b.data)
	HAS("vigil_http_requests_total{method=\"GET\",route=\"/a/{id}\","
	    "status=\"200\"} 4000\n");
	HAS("vigil_http_requests_total{method=\"HEAD\",route=\"/a/{id}\","
	    "status=\"404\"} 4\n");
	HAS("vigil_http_requests_total{method=\"POST\",route=\"/a\","
	    "status=\"other\"} 4\n");
	HAS("vigil_http_requests_total{method=\"other\",route=\"unmatched\","
	    "status=\"404\"} 4\n");
	HAS("vigil_http_requests_total{method=\"DELETE\","
	    "route=\"unmatched\",status=\"405\"} 4\n");
	/* 1000 us is within 1 ms; 1001 us is not. */
	HAS("vigil_http_request_duration_seconds_bucket{method=\"GET\","
	    "route=\"/a/{id}\",le=\"0.001\"} 4000\n");
	HAS("vigil_http_request_duration_seconds_bucket{method=\"HEAD\","
	    "route=\"/a/{id}\",le=\"0.001\"} 0\n");
	HAS("vigil_http_request_duration_seconds_bucket{method=\"HEAD\","
	    "route=\"/a/{id}\",le=\"0.0025\"} 4\n");
	HAS("vigil_http_request_duration_seconds_sum{method=\"GET\","
	    "route=\"/a/{id}\"} 4\n");
	HAS("vigil_http_request_duration_seconds_count{method=\"GET\","
	    "route=\"/a/{id}\"} 4000\n");
	/* past the last bound: only +Inf */
	HAS("vigil_http_request_duration_seconds_bucket{method=\"POST\","
	    "route=\"/a\",le=\"10\"} 0\n");
	HAS("vigil_http_request_duration_seconds_bucket{method=\"POST\","
	    "route=\"/a\",le=\"+Inf\"} 4\n");
	HAS("vigil_rate_limited_total{reason=\"write\"} 4\n");
	HAS("vigil_rate_limited_total{reason=\"read\"} 0\n");
	HAS("vigil_db_errors_total{error=\"busy\"} 4\n");
	HAS("# TYPE vigil_http_request_duration_seconds histogram\n");
	/* No series for what nobody asked. */
	ck_assert_ptr_null(strstr(b.data, "BREW"));
	ck_assert_ptr_null(strstr(b.data, "method=\"POST\",route=\"/a/{id}\""));
#undef HAS
	buf_free(&b);
	metrics_use(NULL);
}
END_TEST

Suite *
metrics_suite(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_metrics_escape);
	tcase_add_test(tc, test_metrics_sample);
	tcase_add_test(tc, test_metrics_shared_by_children);
	suite_add_tcase(s, tc);
	return s;
}
