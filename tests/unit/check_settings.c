/* check_settings.c: the rules on a tenant's settings (settings_check), the
 * stored allowlist's reading for enforcement and the API shape. */
#include <sys/socket.h>

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "settings.h"
#include "suites.h"

static enum settings_outcome
check_list(const char *const *items, size_t n, const struct cidr *client,
    json_object **list, struct settings_err *e)
{
	struct settings_change c;

	memset(&c, 0, sizeof(c));
	c.set_allowlist = 1;
	c.allowlist = items;
	c.nallowlist = n;
	c.guard = 1;
	c.client = client;
	return settings_check(&c, list, e);
}

static struct cidr
addr(const char *s)
{
	struct cidr c;

	ck_assert(cidr_parse(s, strlen(s), &c));
	return c;
}

START_TEST(test_settings_check_allowlist)
{
	static const char *const ok[] = { "192.0.2.7", "10.0.0.0/8",
	    "2001:DB8::/32", "127.0.0.0/8" };
	static const struct {
		const char	*items[3];
		size_t		 n;
		const char	*field;
		const char	*message;
	} bad[] = {
		{ { "10.0.0.1/33" }, 1, "ip_allowlist[0]", "ip_allowlist[0] "
		    "has a prefix length longer than the address." },
		{ { "10.0.0.0/8", "10.0.0.1/24" }, 2, "ip_allowlist[1]",
		    "ip_allowlist[1] has bits set past its prefix length "
		    "(write the network address)." },
		{ { "127.0.0.1", "not an ip" }, 2, "ip_allowlist[1]",
		    "ip_allowlist[1] must be an IPv4 or IPv6 address or CIDR "
		    "range." },
		{ { "10.0.0.0/08" }, 1, "ip_allowlist[0]", "ip_allowlist[0] "
		    "must be an IPv4 or IPv6 address or CIDR range." },
		/* the same range written twice, named in canonical form */
		{ { "127.0.0.1", "10.0.0.0/8", "127.0.0.1/32" }, 3,
		    "ip_allowlist[2]",
		    "ip_allowlist[2] repeats 127.0.0.1/32." },
	};
	struct cidr client = addr("127.0.0.1");
	struct settings_err e;
	json_object *list;
	const char *many[SETTINGS_ALLOWLIST_MAX + 1];
	size_t i;

	ck_assert(check_list(ok, 4, &client, &list, &e) == SETTINGS_OK);
	ck_assert_str_eq(json_object_to_json_string_ext(list,
	    JSON_C_TO_STRING_PLAIN), "[\"192.0.2.7\\/32\",\"10.0.0.0\\/8\","
	    "\"2001:db8::\\/32\",\"127.0.0.0\\/8\"]");
	json_object_put(list);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		list = (json_object *)1;
		ck_assert_msg(check_list(bad[i].items, bad[i].n, &client,
		    &list, &e) == SETTINGS_INVALID, "%zu", i);
		ck_assert(list == NULL);
		ck_assert_str_eq(e.field, bad[i].field);
		ck_assert_str_eq(e.message, bad[i].message);
	}
	for (i = 0; i < SETTINGS_ALLOWLIST_MAX + 1; i++)
		many[i] = "127.0.0.1";
	ck_assert(check_list(many, SETTINGS_ALLOWLIST_MAX + 1, &client, &list,
	    &e) == SETTINGS_INVALID);
	ck_assert_str_eq(e.field, "ip_allowlist");
	ck_assert_str_eq(e.message, "ip_allowlist must have at most 100 items");
}
END_TEST

/* The guard: a list that leaves out the client, or any non-empty list
 * when the client's address is unknown; an empty list, or no guard
 * (the operator), passes. */
START_TEST(test_settings_check_guard)
{
	static const char *const ten[] = { "10.0.0.0/8" };
	static const char *const mapped[] = { "::ffff:192.0.2.0/120" };
	struct cidr in = addr("10.1.2.3"), out = addr("192.0.2.9");
	struct settings_change c;
	struct settings_err e;
	json_object *list;

	ck_assert(check_list(ten, 1, &in, &list, &e) == SETTINGS_OK);
	json_object_put(list);
	ck_assert(check_list(ten, 1, &out, &list, &e) == SETTINGS_LOCKOUT);
	ck_assert(list == NULL);
	ck_assert(check_list(ten, 1, NULL, &list, &e) == SETTINGS_LOCKOUT);
	ck_assert(check_list(ten, 0, NULL, &list, &e) == SETTINGS_OK);
	json_object_put(list);
	/* an IPv4-mapped range, stored as written, holds IPv4 clients */
	ck_assert(check_list(mapped, 1, &out, &list, &e) == SETTINGS_OK);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(
	    list, 0)), "::ffff:192.0.2.0/120");
	json_object_put(list);
	memset(&c, 0, sizeof(c));
	c.set_allowlist = 1;
	c.allowlist = ten;
	c.nallowlist = 1;
	ck_assert(settings_check(&c, &list, &e) == SETTINGS_OK);
	json_object_put(list);
}
END_TEST

START_TEST(test_settings_check_ranges)
{
	static const struct {
		int		 which;   /* 0 scan, 1 read, 2 write */
		long long	 v;
		const char	*field;   /* NULL: valid */
	} t[] = {
		{ 0, SETTINGS_SCAN_MIN, NULL },
		{ 0, SETTINGS_SCAN_MAX, NULL },
		{ 0, SETTINGS_SCAN_MIN - 1, "scan_interval_minutes" },
		{ 0, SETTINGS_SCAN_MAX + 1, "scan_interval_minutes" },
		{ 1, 0, NULL },         /* back to the default */
		{ 1, SETTINGS_RATE_MIN, NULL },
		{ 1, SETTINGS_RATE_MAX, NULL },
		{ 1, SETTINGS_RATE_MAX + 1, "rate_limits.read_per_min" },
		{ 1, -1, "rate_limits.read_per_min" },
		{ 2, 1000000, "rate_limits.write_per_min" },
	};
	struct settings_change c;
	struct settings_err e;
	json_object *list;
	size_t i;

	ck_assert_int_eq(SETTINGS_RATE_MAX, 100000);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&c, 0, sizeof(c));
		if (t[i].which == 0) {
			c.set_scan_interval = 1;
			c.scan_interval = t[i].v;
		} else if (t[i].which == 1) {
			c.set_rate_read = 1;
			c.rate_read = t[i].v;
		} else {
			c.set_rate_write = 1;
			c.rate_write = t[i].v;
		}
		ck_assert_msg(settings_check(&c, &list, &e) == (t[i].field ?
		    SETTINGS_INVALID : SETTINGS_OK), "%zu", i);
		ck_assert(list == NULL);
		if (t[i].field != NULL)
			ck_assert_str_eq(e.field, t[i].field);
	}
	ck_assert_str_eq(e.message, "rate_limits.write_per_min must be an "
	    "integer from 1 to 100000, or null for the default.");
	memset(&c, 0, sizeof(c));
	c.set_scan_interval = 1;
	c.scan_interval = 4;
	ck_assert(settings_check(&c, &list, &e) == SETTINGS_INVALID);
	ck_assert_str_eq(e.message,
	    "scan_interval_minutes must be between 5 and 1440");
}
END_TEST

/* What enforcement reads from the stored text: none or [] allow all; a
 * text PUT would not have stored is unreadable (0), never "no list". */
START_TEST(test_settings_allowlist_parse)
{
	static const char *const broken[] = {
		"", "not json", "\"127.0.0.1\"", "{}", "[1]", "[null]",
		"[\"127.0.0.1/32 \"]", "[\"10.0.0.0/8\", \"x\"]",
	};
	struct cidr list[SETTINGS_ALLOWLIST_MAX], c = addr("10.1.2.3");
	char big[4096];
	size_t i, n;

	n = 7;
	ck_assert_int_eq(settings_allowlist_parse(NULL, list, &n), 1);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(settings_allowlist_parse("[]", list, &n), 1);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(settings_allowlist_parse(
	    "[\"10.0.0.0/8\",\"::1/128\"]", list, &n), 1);
	ck_assert_uint_eq(n, 2);
	ck_assert(cidr_list_contains(list, n, &c));
	ck_assert_int_eq(list[1].family, AF_INET6);
	for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		ck_assert_msg(settings_allowlist_parse(broken[i], list, &n) ==
		    0, "%s", broken[i]);
		ck_assert_uint_eq(n, 0);
	}
	/* more entries than PUT accepts */
	snprintf(big, sizeof(big), "[");
	for (i = 0; i <= SETTINGS_ALLOWLIST_MAX; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big),
		    "%s\"10.0.0.%zu\"", i ? "," : "", i);
	snprintf(big + strlen(big), sizeof(big) - strlen(big), "]");
	ck_assert_int_eq(settings_allowlist_parse(big, list, &n), 0);
}
END_TEST

START_TEST(test_settings_to_json)
{
	struct settings s;
	json_object *o;

	memset(&s, 0, sizeof(s));
	s.scan_interval = SETTINGS_SCAN_DEFAULT;
	s.allowlist = json_object_new_array();
	o = settings_to_json(&s);
	ck_assert_str_eq(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN), "{\"allow_auto_remediate\":false,"
	    "\"scan_interval_minutes\":60,\"rate_limits\":{\"read_per_min\":"
	    "null,\"write_per_min\":null,\"ingest_per_min\":null},\"ip_allowlist\":[],"
	    "\"updated_at\":null}");
	json_object_put(o);
	s.auto_remediate = 1;
	s.rate_read = 600;
	json_object_array_add(s.allowlist,
	    json_object_new_string("203.0.113.0/24"));
	snprintf(s.updated_at, sizeof(s.updated_at), "2026-05-15 18:42:11");
	o = settings_to_json(&s);
	ck_assert_str_eq(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN), "{\"allow_auto_remediate\":true,"
	    "\"scan_interval_minutes\":60,\"rate_limits\":{\"read_per_min\":"
	    "600,\"write_per_min\":null,\"ingest_per_min\":null},\"ip_allowlist\":"
	    "[\"203.0.113.0\\/24\"],\"updated_at\":\"2026-05-15T18:42:11Z\"}");
	json_object_put(o);
	json_object_put(s.allowlist);
}
END_TEST

Suite *
settings_suite(void)
{
	Suite	*s = suite_create("settings");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_settings_check_allowlist);
	tcase_add_test(tc, test_settings_check_guard);
	tcase_add_test(tc, test_settings_check_ranges);
	tcase_add_test(tc, test_settings_allowlist_parse);
	tcase_add_test(tc, test_settings_to_json);
	suite_add_tcase(s, tc);
	return s;
}
