/* check_events.c: the one list of event types (events_types) against
 * what doc/openapi.json documents, and the patterns webhooks subscribe
 * with and GET /events filters by. events_append is tested by the
 * integration suite, whose receivers verify signatures over the stored
 * envelopes. */
#include "vigil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "events.h"
#include "suites.h"

#ifndef VIGIL_TOP_SRCDIR
#define VIGIL_TOP_SRCDIR "."
#endif

/* The source tree: $VIGIL_SRCDIR (make check exports it), else the one
 * configure saw. */
static const char *
srcdir(void)
{
	const char	*s = getenv("VIGIL_SRCDIR");

	return s != NULL && *s != '\0' ? s : VIGIL_TOP_SRCDIR;
}

static json_object *
openapi(void)
{
	json_object	*d;
	char		 path[4096];

	snprintf(path, sizeof(path), "%s/doc/openapi.json", srcdir());
	d = json_object_from_file(path);
	ck_assert_msg(d != NULL, "cannot read %s (set VIGIL_SRCDIR)", path);
	return d;
}

/* o at the path of keys (NULL-terminated), failing the test if absent. */
static json_object *
at(json_object *o, const char *const *keys)
{
	json_object	*v = o;
	size_t		 i;

	for (i = 0; keys[i] != NULL; i++)
		ck_assert_msg(json_object_object_get_ex(v, keys[i], &v),
		    "openapi.json has no %s", keys[i]);
	return v;
}

/* Assert that the string array arr is want[0..n) followed by more[0..m),
 * in that order. */
static void
same_list(json_object *arr, const char *what, const char *const *want,
    size_t n, const char *const *more, size_t m)
{
	size_t i;

	ck_assert_msg(json_object_is_type(arr, json_type_array), "%s", what);
	ck_assert_msg(json_object_array_length(arr) == n + m,
	    "%s lists %zu names, events.c %zu", what,
	    json_object_array_length(arr), n + m);
	for (i = 0; i < n + m; i++)
		ck_assert_msg(strcmp(json_object_get_string(
		    json_object_array_get_idx(arr, i)),
		    i < n ? want[i] : more[i - n]) == 0,
		    "%s[%zu] is %s, events.c says %s", what, i,
		    json_object_get_string(json_object_array_get_idx(arr, i)),
		    i < n ? want[i] : more[i - n]);
}

static const char **
type_names(void)
{
	const char	**names;
	size_t		  i;

	names = calloc(events_ntypes, sizeof(*names));
	ck_assert_ptr_nonnull(names);
	for (i = 0; i < events_ntypes; i++)
		names[i] = events_types[i].name;
	return names;
}

START_TEST(test_openapi_types)
{
	static const char *const event_type[] = { "components", "schemas",
	    "EventType", "enum", NULL };
	static const char *const subscription[] = { "components", "schemas",
	    "WebhookSubscription", "enum", NULL };
	static const char *const events_get[] = { "paths", "/api/v1/events",
	    "get", "parameters", NULL };
	json_object *d = openapi(), *params, *p, *v, *en = NULL;
	const char **names = type_names();
	size_t i;

	same_list(at(d, event_type), "EventType", names, events_ntypes,
	    NULL, 0);
	same_list(at(d, subscription), "WebhookSubscription",
	    events_subscription_patterns,
	    events_nsubscription_patterns, names, events_ntypes);
	params = at(d, events_get);
	for (i = 0; i < json_object_array_length(params); i++) {
		p = json_object_array_get_idx(params, i);
		if (json_object_object_get_ex(p, "name", &v) &&
		    strcmp(json_object_get_string(v), "type") == 0 &&
		    json_object_object_get_ex(p, "schema", &v))
			json_object_object_get_ex(v, "enum", &en);
	}
	ck_assert_msg(en != NULL, "GET /events has no type enum");
	same_list(en, "GET /events type", names, events_ntypes,
	    events_filter_patterns, events_nfilter_patterns);
	free(names);
	json_object_put(d);
}
END_TEST

/* The members a oneOf variant of EventEnvelope.data requires, space-
 * separated in their order, into buf. */
static void
required(json_object *variant, char *buf, size_t bufsz)
{
	json_object *req;
	size_t i, len = 0;

	buf[0] = '\0';
	ck_assert(json_object_object_get_ex(variant, "required", &req));
	for (i = 0; i < json_object_array_length(req); i++)
		len += (size_t)snprintf(buf + len, bufsz - len, "%s%s",
		    i ? " " : "", json_object_get_string(
		    json_object_array_get_idx(req, i)));
	ck_assert(len < bufsz);
}

START_TEST(test_openapi_data)
{
	static const char *const data[] = { "components", "schemas",
	    "EventEnvelope", "properties", "data", "oneOf", NULL };
	json_object *d = openapi(), *variants;
	char buf[256];
	size_t i, k, n, used;

	variants = at(d, data);
	n = json_object_array_length(variants);
	/* Each type's data is a documented variant... */
	for (i = 0; i < events_ntypes; i++) {
		for (k = 0; k < n; k++) {
			required(json_object_array_get_idx(variants, k), buf,
			    sizeof(buf));
			if (strcmp(buf, events_types[i].data) == 0)
				break;
		}
		ck_assert_msg(k < n, "%s: no EventEnvelope data variant "
		    "requires \"%s\"", events_types[i].name,
		    events_types[i].data);
	}
	/* ...and each variant the data of some type. */
	for (k = 0; k < n; k++) {
		required(json_object_array_get_idx(variants, k), buf,
		    sizeof(buf));
		for (used = 0, i = 0; i < events_ntypes; i++)
			used |= strcmp(buf, events_types[i].data) == 0;
		ck_assert_msg(used, "EventEnvelope data variant \"%s\" is no "
		    "type's", buf);
	}
	json_object_put(d);
}
END_TEST

START_TEST(test_subscriptions)
{
	static const struct {
		const char	*s;
		int		 want;
	} t[] = {
		{ "finding.detected", 1 },
		{ "webhook.disabled", 1 },
		{ "webhook.test", 1 },
		{ "finding.*", 1 },
		{ "case.*", 1 },
		{ "alert.*", 1 },
		{ "case.resolved", 1 },
		{ "alert.escalated", 1 },
		{ "*", 1 },
		/* the filter's prefixes are not subscriptions */
		{ "scan.*", 0 },
		{ "webhook.*", 0 },
		{ "finding.", 0 },
		{ "finding.detected ", 0 },
		{ "Finding.detected", 0 },
		{ "", 0 },
		{ NULL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(events_subscription_valid(t[i].s) == t[i].want,
		    "case %zu: %s", i, t[i].s ? t[i].s : "NULL");
}
END_TEST

START_TEST(test_filter)
{
	static const struct {
		const char	*type;
		int		 rc;
		const char	*exact;
		const char	*prefix;
	} t[] = {
		{ NULL, 0, NULL, "" },
		{ "*", 0, NULL, "" },
		{ "scan.failed", 0, "scan.failed", "" },
		{ "finding.*", 0, NULL, "finding." },
		{ "scan.*", 0, NULL, "scan." },
		{ "webhook.*", 0, NULL, "webhook." },
		{ "case.*", 0, NULL, "case." },
		{ "alert.*", 0, NULL, "alert." },
		{ "finding", -1, NULL, "" },
		{ "find.*", -1, NULL, "" },
		{ "scan.completed.x", -1, NULL, "" },
	};
	struct events_filter f;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_int_eq(events_filter_parse(t[i].type, &f), t[i].rc);
		if (t[i].rc != 0)
			continue;
		if (t[i].exact == NULL)
			ck_assert_ptr_null(f.type);
		else
			ck_assert_str_eq(f.type, t[i].exact);
		ck_assert_str_eq(f.prefix, t[i].prefix);
		ck_assert_int_eq(f.has_since, 0);
	}
}
END_TEST

START_TEST(test_targeted)
{
	size_t i;

	/* Only the test event and a channel's digest ignore what a webhook
	 * subscribes to. */
	for (i = 0; i < events_ntypes; i++)
		ck_assert_int_eq(events_types[i].targeted,
		    strcmp(events_types[i].name, "webhook.test") == 0 ||
		    strcmp(events_types[i].name, "channel.digest") == 0);
	ck_assert_ptr_null(events_type("webhook.*"));
	ck_assert_ptr_nonnull(events_type("finding.remediation_failed"));
}
END_TEST

Suite *
events_suite(void)
{
	Suite	*s = suite_create("events");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_openapi_types);
	tcase_add_test(tc, test_openapi_data);
	tcase_add_test(tc, test_subscriptions);
	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_targeted);
	suite_add_tcase(s, tc);
	return s;
}
