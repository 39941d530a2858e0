/* check_casereport.c: a case's report in Markdown and HTML, and what each
 * escapes. */
#include <check.h>
#include <string.h>

#include "buf.h"
#include "casereport.h"
#include "suites.h"

static json_object *
hostile_case(void)
{
	return json_tokener_parse(
	    "{\"case_id\":\"case_01\",\"title\":\"<script>x</script> "
	    "[link](http://evil) # *bold*\",\"status\":\"resolved\","
	    "\"verdict\":\"true_positive\",\"severity\":\"high\","
	    "\"assignee\":null,\"tags\":[\"a|b\"],"
	    "\"description\":\"## Kept\\n<img src=x onerror=y>\","
	    "\"root_cause\":\"R & D\",\"narrative\":null,"
	    "\"techniques\":[{\"id\":\"T1059.001\",\"name\":\"Command and "
	    "Scripting Interpreter: PowerShell\"}],"
	    "\"alerts\":[{\"alert_id\":\"alert_01\",\"severity\":\"high\","
	    "\"source\":\"edr\",\"status\":\"escalated\",\"title\":\"a\\nb\"}],"
	    "\"findings\":[],"
	    "\"observables\":[{\"type\":\"url\",\"value\":\"http://x/|y\","
	    "\"first_seen_at\":\"2026-06-02T09:14:00Z\","
	    "\"last_seen_at\":\"2026-06-02T09:14:00Z\"}],"
	    "\"evidence\":[{\"name\":\"\\\"><svg>.txt\",\"size\":3,"
	    "\"sha256\":\"ab\",\"content_type\":\"text/plain\"}],"
	    "\"timeline\":[{\"kind\":\"commented\",\"at\":"
	    "\"2026-06-02T09:15:00Z\",\"by\":\"key:k\",\"data\":{\"body\":"
	    "\"**ok** <b>no</b>\"}}]}");
}

START_TEST(test_casereport_markdown)
{
	json_object *c = hostile_case();
	struct buf b;

	ck_assert_ptr_nonnull(c);
	buf_init(&b, CASEREPORT_MAX);
	ck_assert_int_eq(casereport_markdown(c, &b), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "# Case report: &lt;script\\>x"
	    "&lt;/script\\> \\[link\\]\\(http://evil\\) \\# \\*bold\\*\n"));
	ck_assert_ptr_null(strstr(b.data, "<script"));
	ck_assert_ptr_null(strstr(b.data, "<img"));
	ck_assert_ptr_null(strstr(b.data, "<b>"));
	/* the team's Markdown is kept, its HTML not */
	ck_assert_ptr_nonnull(strstr(b.data, "## Kept\n&lt;img src=x"));
	ck_assert_ptr_nonnull(strstr(b.data, "**ok** &lt;b>no&lt;/b>"));
	ck_assert_ptr_nonnull(strstr(b.data, "R &amp; D"));
	/* a line break in outside text cannot start a new block */
	ck_assert_ptr_nonnull(strstr(b.data, "a b\n"));
	/* nor a pipe a new table cell */
	ck_assert_ptr_nonnull(strstr(b.data, "| url | http://x/\\|y |"));
	ck_assert_ptr_nonnull(strstr(b.data, "- **Verdict:** true\\_positive"));
	ck_assert_ptr_nonnull(strstr(b.data, "- **Assignee:** \\-\n"));
	/* the linked alerts and findings, one line each */
	ck_assert_ptr_nonnull(strstr(b.data, "\n## Alerts\n\n- alert\\_01 "
	    "(high, edr): a b\n\n## Findings\n\n\n## Observables\n"));
	buf_free(&b);
	json_object_put(c);
}
END_TEST

START_TEST(test_casereport_html)
{
	json_object *c = hostile_case();
	struct buf b;

	buf_init(&b, CASEREPORT_MAX);
	ck_assert_int_eq(casereport_html(c, &b), 0);
	ck_assert(strncmp(b.data, "<!DOCTYPE html>", 15) == 0);
	ck_assert_ptr_null(strstr(b.data, "<script"));
	ck_assert_ptr_null(strstr(b.data, "<img"));
	ck_assert_ptr_null(strstr(b.data, "<svg"));
	ck_assert_ptr_null(strstr(b.data, "<b>"));
	ck_assert_ptr_null(strstr(b.data, "href"));
	ck_assert_ptr_nonnull(strstr(b.data, "&lt;img src=x onerror=y&gt;"));
	ck_assert_ptr_nonnull(strstr(b.data, "&lt;script&gt;x&lt;/script&gt;"));
	ck_assert_ptr_nonnull(strstr(b.data, "&quot;&gt;&lt;svg&gt;.txt"));
	ck_assert_ptr_nonnull(strstr(b.data, "R &amp; D"));
	ck_assert_ptr_nonnull(strstr(b.data, "&lt;b&gt;no&lt;/b&gt;"));
	ck_assert_ptr_nonnull(strstr(b.data, "</body></html>\n"));
	buf_free(&b);
	json_object_put(c);
}
END_TEST

/* A report that does not fit its buffer is an error, not a cut report. */
START_TEST(test_casereport_full)
{
	json_object *c = hostile_case();
	struct buf b;

	buf_init(&b, 64);
	ck_assert_int_eq(casereport_markdown(c, &b), -1);
	buf_free(&b);
	buf_init(&b, 64);
	ck_assert_int_eq(casereport_html(c, &b), -1);
	buf_free(&b);
	json_object_put(c);
}
END_TEST

Suite *
casereport_suite(void)
{
	Suite *s = suite_create("casereport");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_casereport_markdown);
	tcase_add_test(tc, test_casereport_html);
	tcase_add_test(tc, test_casereport_full);
	suite_add_tcase(s, tc);
	return s;
}
