/* check_channels.c: a channel's filter (channels_filter_match) and its
 * message (notify.c): template expansion and escaping, the variables an
 * event gives, each service's message from the installed templates. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include "buf.h"
#include "channels.h"
#include "notify.h"
#include "suites.h"
#include "vjson.h"


static json_object *
J(const char *s)
{
	json_object *o = json_tokener_parse(s);

	ck_assert_ptr_nonnull(o);
	return o;
}

START_TEST(test_filter_match)
{
	json_object *f;

	ck_assert_int_eq(channels_filter_match(NULL, NULL, NULL, NULL, NULL),
	    1);
	f = J("{\"min_severity\":\"high\"}");
	ck_assert_int_eq(channels_filter_match(f, "critical", 0, 0, 0), 1);
	ck_assert_int_eq(channels_filter_match(f, "high", 0, 0, 0), 1);
	ck_assert_int_eq(channels_filter_match(f, "medium", 0, 0, 0), 0);
	/* no severity: does not pass a severity filter */
	ck_assert_int_eq(channels_filter_match(f, NULL, 0, 0, 0), 0);
	json_object_put(f);
	f = J("{\"environments\":[\"PROD\",\"DR\"],\"sources\":[\"siem\"]}");
	ck_assert_int_eq(channels_filter_match(f, 0, "PROD", "siem", 0), 1);
	ck_assert_int_eq(channels_filter_match(f, 0, "prod", "siem", 0), 0);
	ck_assert_int_eq(channels_filter_match(f, 0, "DR", "other", 0), 0);
	ck_assert_int_eq(channels_filter_match(f, 0, NULL, "siem", 0), 0);
	json_object_put(f);
	f = J("{\"tags\":[\"team=pay\",\"owner\"]}");
	ck_assert_int_eq(channels_filter_match(f, 0, 0, 0,
	    "{\"team\":\"pay\"}"), 1);
	ck_assert_int_eq(channels_filter_match(f, 0, 0, 0,
	    "{\"team\":\"web\"}"), 0);
	ck_assert_int_eq(channels_filter_match(f, 0, 0, 0,
	    "{\"owner\":\"x\"}"), 1);
	ck_assert_int_eq(channels_filter_match(f, 0, 0, 0,
	    "[\"owner\",\"a\"]"), 1);
	ck_assert_int_eq(channels_filter_match(f, 0, 0, 0, "[\"team\"]"), 0);
	ck_assert_int_eq(channels_filter_match(f, 0, 0, 0, NULL), 0);
	ck_assert_int_eq(channels_filter_match(f, 0, 0, 0, "not json"), 0);
	json_object_put(f);
	ck_assert_int_eq(channels_severity_rank("info"), 0);
	ck_assert_int_eq(channels_severity_rank("critical"), 4);
	ck_assert_int_eq(channels_severity_rank("urgent"), -1);
}
END_TEST

static char *
expand(const char *tpl, int mode, int *rc)
{
	json_object *v = J("{\"a\":\"x<&>\\\"y\\\\\",\"e\":\"\",\"n\":\"l1\\nl2\"}");
	struct buf b;
	char err[128], *out;

	buf_init(&b, 4096);
	*rc = notify_expand(tpl, strlen(tpl), v, mode, &b, err, sizeof(err));
	buf_append(&b, "", 1);
	out = strdup(b.data ? b.data : "");
	buf_free(&b);
	json_object_put(v);
	return out;
}

START_TEST(test_expand)
{
	char *s;
	int rc;

	s = expand("[{{a}}]", 0, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(s, "[x<&>\"y\\]");
	free(s);
	s = expand("[{{a}}]", 1, &rc);
	ck_assert_str_eq(s, "[x<&>\\\"y\\\\]");
	free(s);
	s = expand("[{{a}}]", 2, &rc);
	ck_assert_str_eq(s, "[x&lt;&amp;&gt;\\\"y\\\\]");
	free(s);
	/* control characters never reach a header or a JSON string */
	s = expand("{{n}}", 0, &rc);
	ck_assert_str_eq(s, "l1 l2");
	free(s);
	s = expand("{{#a}}A{{/a}}{{#e}}E{{/e}}{{^e}}!E{{/e}}{{^a}}!A{{/a}}"
	    "{{missing}}.", 0, &rc);
	ck_assert_str_eq(s, "A!E.");
	free(s);
	s = expand("{{#a}}{{#a}}in{{/a}}{{/a}}", 0, &rc);
	ck_assert_str_eq(s, "in");
	free(s);
	s = expand("{{#a}}never closed", 0, &rc);
	ck_assert_int_eq(rc, -1);
	free(s);
	s = expand("{{ {{}} }}", 0, &rc);
	ck_assert_int_eq(rc, 0);
	free(s);
}
END_TEST

static const char *finding_event =
    "{\"event_id\":\"evt_1\",\"event_type\":\"finding.detected\","
    "\"tenant_id\":\"ten_1\",\"timestamp\":\"2026-12-05T01:00:00Z\","
    "\"data\":{\"finding\":{\"id\":\"azure-x-1\",\"title\":\"T <b>\","
    "\"severity\":\"high\",\"state\":\"open\",\"resource_name\":\"vm1\","
    "\"environment\":\"PROD\",\"source\":\"import\"}}}";

START_TEST(test_vars)
{
	json_object *ev = J(finding_event), *v;

	v = notify_vars(ev, "https://v.example/");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v,
	    "link")), "https://v.example/api/v1/findings/azure-x-1");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v,
	    "pd_severity")), "error");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v,
	    "headline")), "New finding");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v,
	    "resource")), "vm1");
	json_object_put(v);
	v = notify_vars(ev, "");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v,
	    "link")), "");
	json_object_put(v);
	json_object_put(ev);
	ck_assert_int_eq(notify_resolves("finding.resolved"), 1);
	ck_assert_int_eq(notify_resolves("finding.detected"), 0);
}
END_TEST

START_TEST(test_render_services)
{
	const char *dir = VIGIL_TOP_SRCDIR "/etc/templates";
	struct notify_msg m;
	json_object *o, *p;
	char err[256];

	ck_assert_int_eq(notify_render("slack", "{}",
	    "{\"url\":\"https://hooks.slack.com/services/T/B/x\"}",
	    finding_event, dir, "https://v.example", &m, err, sizeof(err)), 0);
	ck_assert_str_eq(m.url, "https://hooks.slack.com/services/T/B/x");
	o = J(m.body);
	ck_assert(json_object_object_get_ex(o, "blocks", &p));
	ck_assert_ptr_nonnull(strstr(m.body, "T &lt;b&gt;"));
	json_object_put(o);
	notify_msg_free(&m);

	ck_assert_int_eq(notify_render("teams", "{}",
	    "{\"url\":\"https://x.example/w\"}", finding_event, dir, "", &m,
	    err, sizeof(err)), 0);
	o = J(m.body);
	/* no public_url: no action */
	ck_assert_ptr_null(strstr(m.body, "Action.OpenUrl"));
	json_object_put(o);
	notify_msg_free(&m);

	ck_assert_int_eq(notify_render("pagerduty",
	    "{\"url\":\"https://events.pagerduty.com/v2/enqueue\"}",
	    "{\"routing_key\":\"rk\"}", finding_event, dir, "", &m, err,
	    sizeof(err)), 0);
	o = J(m.body);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o,
	    "event_action")), "trigger");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o,
	    "dedup_key")), "vigil:ten_1:azure-x-1");
	p = json_object_object_get(o, "payload");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(p,
	    "severity")), "error");
	json_object_put(o);
	notify_msg_free(&m);

	ck_assert_int_eq(notify_render("email",
	    "{\"host\":\"mx.example\",\"port\":587,\"security\":\"starttls\","
	    "\"username\":\"u\",\"from\":\"v@example\",\"to\":[\"a@example\"]}",
	    "{\"password\":\"pw\"}", finding_event, dir, "", &m, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(m.url, "smtp://mx.example:587");
	ck_assert_int_eq(m.starttls, 1);
	ck_assert_str_eq(m.password, "pw");
	ck_assert_ptr_nonnull(strstr(m.body, "\r\nSubject: [Vigil] New "
	    "finding: [high] T <b>\r\n"));
	ck_assert_ptr_nonnull(strstr(m.body, "To: a@example\r\n"));
	/* every line ends in CRLF */
	ck_assert_ptr_null(strstr(m.body, "\n\n"));
	notify_msg_free(&m);

	ck_assert_int_eq(notify_render("slack", "{}", "{}", finding_event,
	    "/nonexistent", "", &m, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "slack.json"));
}
END_TEST

START_TEST(test_pagerduty_summary_cap)
{
	struct buf ev;
	struct notify_msg m;
	json_object *o, *p;
	const char *sum;
	char err[256];
	size_t i;

	buf_init(&ev, 1 << 16);
	buf_puts(&ev, "{\"event_id\":\"evt_1\",\"event_type\":"
	    "\"finding.detected\",\"tenant_id\":\"t\",\"timestamp\":\"x\","
	    "\"data\":{\"finding\":{\"id\":\"f\",\"severity\":\"low\","
	    "\"title\":\"");
	for (i = 0; i < 1500; i++)
		buf_puts(&ev, "\xc3\xa9");   /* é: two bytes, one character */
	buf_puts(&ev, "\"}}}");
	buf_append(&ev, "", 1);
	ck_assert_int_eq(notify_render("pagerduty", "{\"url\":\"https://x\"}",
	    "{\"routing_key\":\"rk\"}", ev.data, VIGIL_TOP_SRCDIR
	    "/etc/templates", "", &m, err, sizeof(err)), 0);
	o = J(m.body);
	p = json_object_object_get(o, "payload");
	sum = json_object_get_string(json_object_object_get(p, "summary"));
	ck_assert_int_le((long)strlen(sum), 1024);
	ck_assert_ptr_nonnull(strstr(sum, "..."));
	ck_assert_int_eq(vjson_utf8_valid(sum, strlen(sum)), 1);
	json_object_put(o);
	notify_msg_free(&m);
	buf_free(&ev);
}
END_TEST

Suite *
channels_suite(void)
{
	Suite	*s = suite_create("channels");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_filter_match);
	tcase_add_test(tc, test_expand);
	tcase_add_test(tc, test_vars);
	tcase_add_test(tc, test_render_services);
	tcase_add_test(tc, test_pagerduty_summary_cap);
	suite_add_tcase(s, tc);
	return s;
}
