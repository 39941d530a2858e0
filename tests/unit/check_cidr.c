/* check_cidr.c: prefixes, and the client address behind trusted proxies
 * (the IP allowlist's). */
#include <sys/socket.h>

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "conf.h"
#include "suites.h"

static struct cidr
P(const char *s)
{
	struct cidr c;

	ck_assert_msg(cidr_parse(s, strlen(s), &c), "cannot parse %s", s);
	return c;
}

START_TEST(test_cidr_parse)
{
	static const char *const bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/0008",
		"10.0.0.0/-1", "10.0.0.0/8x", "10.0.0", "::1/129",
		"10.0.0.0 /8", "example.com", "1.2.3.4/8/8",
		"0123456789012345678901234567890123456789012345678901234567890123",
	};
	struct cidr c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!cidr_parse(bad[i], strlen(bad[i]), &c), "%s",
		    bad[i]);
	c = P("10.1.2.3");
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_uint_eq(c.bits, 32);
	c = P("2001:db8::/32");
	ck_assert_int_eq(c.family, AF_INET6);
	ck_assert_uint_eq(c.bits, 32);
	/* an IPv4-mapped address is its IPv4 address */
	c = P("::ffff:192.0.2.7");
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_uint_eq(c.bits, 32);
	ck_assert(cidr_contains(&(struct cidr){ 0 }, &c) == 0);
	c = P("::ffff:10.0.0.0/104");
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_uint_eq(c.bits, 8);
	/* len bounds the text: "10.0.0.0/8" read as "10.0.0.0/" fails */
	ck_assert(!cidr_parse("10.0.0.0/8", 9, &c));
	ck_assert(cidr_parse("10.0.0.0/8", 8, &c) && c.bits == 32);
}
END_TEST

/* The allowlist's strict reading: the forms PUT /api/v1/settings has
 * always accepted, their canonical text, and why the others are refused. */
START_TEST(test_cidr_canon)
{
	static const struct {
		const char		*in;
		enum cidr_canon_err	 err;
		const char		*out;
	} t[] = {
		{ "192.0.2.7", CIDR_CANON_OK, "192.0.2.7/32" },
		{ "10.0.0.0/8", CIDR_CANON_OK, "10.0.0.0/8" },
		{ "0.0.0.0/0", CIDR_CANON_OK, "0.0.0.0/0" },
		{ "2001:DB8::/32", CIDR_CANON_OK, "2001:db8::/32" },
		{ "2001:db8:0:0:1:0:0:1", CIDR_CANON_OK,
		    "2001:db8::1:0:0:1/128" },
		{ "::1", CIDR_CANON_OK, "::1/128" },
		{ "::/0", CIDR_CANON_OK, "::/0" },
		/* stays IPv6 (cidr_parse reads it as 192.0.2.7/32) */
		{ "::ffff:192.0.2.7", CIDR_CANON_OK, "::ffff:192.0.2.7/128" },
		{ "::ffff:10.0.0.0/104", CIDR_CANON_OK, "::ffff:10.0.0.0/104" },
		/* a leading zero in the prefix: cidr_parse reads "/08" */
		{ "10.0.0.0/08", CIDR_CANON_SYNTAX, NULL },
		{ "10.0.0.0/00", CIDR_CANON_SYNTAX, NULL },
		{ "10.0.0.0/099", CIDR_CANON_SYNTAX, NULL },
		{ "10.0.0.0/0008", CIDR_CANON_SYNTAX, NULL },
		{ "", CIDR_CANON_SYNTAX, NULL },
		{ "/8", CIDR_CANON_SYNTAX, NULL },
		{ "10.0.0.0/", CIDR_CANON_SYNTAX, NULL },
		{ "10.0.0.0/+8", CIDR_CANON_SYNTAX, NULL },
		{ "10.0.0.0/8/8", CIDR_CANON_SYNTAX, NULL },
		{ "10.0.0.0 ", CIDR_CANON_SYNTAX, NULL },
		{ "not an ip", CIDR_CANON_SYNTAX, NULL },
		{ "01.2.3.4", CIDR_CANON_SYNTAX, NULL },
		{ "fe80::1%eth0", CIDR_CANON_SYNTAX, NULL },
		{ "[::1]", CIDR_CANON_SYNTAX, NULL },
		{ "10.0.0.1/33", CIDR_CANON_PREFIX, NULL },
		{ "10.0.0.0/999", CIDR_CANON_PREFIX, NULL },
		{ "::1/129", CIDR_CANON_PREFIX, NULL },
		/* host bits are refused, not masked */
		{ "10.0.0.1/24", CIDR_CANON_HOST_BITS, NULL },
		{ "10.0.0.0/0", CIDR_CANON_HOST_BITS, NULL },
		{ "2001:db8::1/64", CIDR_CANON_HOST_BITS, NULL },
		{ "::ffff:10.0.0.0/95", CIDR_CANON_HOST_BITS, NULL },
	};
	char out[CIDR_CANON_LEN];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(cidr_canon(t[i].in, strlen(t[i].in), out,
		    sizeof(out)) == t[i].err, "%s", t[i].in);
		if (t[i].out != NULL)
			ck_assert_str_eq(out, t[i].out);
	}
	/* len bounds the text, as for cidr_parse */
	ck_assert(cidr_canon("10.0.0.0/8", 8, out, sizeof(out)) ==
	    CIDR_CANON_OK);
	ck_assert_str_eq(out, "10.0.0.0/32");
	/* a full-length address, with its /128, fits */
	ck_assert(cidr_canon("1111:2222:3333:4444:5555:ffff:255.255.255.255",
	    45, out, sizeof(out)) == CIDR_CANON_OK);
	ck_assert_str_eq(out, "1111:2222:3333:4444:5555:ffff:ffff:ffff/128");
}
END_TEST

START_TEST(test_cidr_contains)
{
	struct cidr l[3];

	ck_assert(cidr_contains(&(struct cidr){ .family = AF_INET },
	    &(struct cidr){ .family = AF_INET }));
	l[0] = P("10.0.0.0/8");
	l[1] = P("192.0.2.128/25");
	l[2] = P("2001:db8:1::/48");
	ck_assert(cidr_list_contains(l, 3, &(struct cidr){ 0 }) == 0);
	ck_assert(cidr_list_contains(l, 3, &(struct cidr[]){ P("10.255.0.1") }[0]));
	ck_assert(!cidr_list_contains(l, 3, &(struct cidr[]){ P("11.0.0.1") }[0]));
	ck_assert(cidr_list_contains(l, 3, &(struct cidr[]){ P("192.0.2.200") }[0]));
	ck_assert(!cidr_list_contains(l, 3, &(struct cidr[]){ P("192.0.2.127") }[0]));
	ck_assert(cidr_list_contains(l, 3,
	    &(struct cidr[]){ P("2001:db8:1:ffff::9") }[0]));
	ck_assert(!cidr_list_contains(l, 3,
	    &(struct cidr[]){ P("2001:db8:2::9") }[0]));
	/* families never mix; mapped addresses are IPv4 */
	ck_assert(cidr_list_contains(l, 3,
	    &(struct cidr[]){ P("::ffff:10.9.9.9") }[0]));
	ck_assert(!cidr_list_contains(l, 2,
	    &(struct cidr[]){ P("::a09:909") }[0]));
	/* a wider prefix is not inside a narrower one */
	ck_assert(!cidr_list_contains(l, 3, &(struct cidr[]){ P("10.0.0.0/7") }[0]));
	ck_assert(cidr_list_contains(l, 3, &(struct cidr[]){ P("10.0.0.0/9") }[0]));
}
END_TEST

START_TEST(test_cidr_client)
{
	struct cidr t[2], c;

	t[0] = P("127.0.0.1");
	t[1] = P("10.0.0.0/8");
	/* no trusted proxies: the peer, whatever X-Forwarded-For says */
	ck_assert(cidr_client("127.0.0.1", "203.0.113.9", NULL, 0, &c));
	ck_assert(memcmp(&c, &(struct cidr[]){ P("127.0.0.1") }[0],
	    sizeof(c)) == 0);
	/* an untrusted peer: its own address */
	ck_assert(cidr_client("198.51.100.1", "10.0.0.1", t, 2, &c));
	ck_assert(memcmp(&c, &(struct cidr[]){ P("198.51.100.1") }[0],
	    sizeof(c)) == 0);
	/* a trusted peer: the right-most untrusted X-Forwarded-For entry;
	 * what the client itself put in front does not count */
	ck_assert(cidr_client("127.0.0.1", "1.1.1.1, 203.0.113.9, 10.2.3.4",
	    t, 2, &c));
	ck_assert(memcmp(&c, &(struct cidr[]){ P("203.0.113.9") }[0],
	    sizeof(c)) == 0);
	ck_assert(cidr_client("127.0.0.1", "2001:db8::5", t, 2, &c));
	ck_assert_int_eq(c.family, AF_INET6);
	/* the forms load balancers and kernels write */
	ck_assert(cidr_client("fe80::1%eth0", NULL, t, 2, &c));
	ck_assert(memcmp(&c, &(struct cidr[]){ P("fe80::1") }[0],
	    sizeof(c)) == 0);
	ck_assert(cidr_client("127.0.0.1", "203.0.113.9:51234", t, 2, &c));
	ck_assert(memcmp(&c, &(struct cidr[]){ P("203.0.113.9") }[0],
	    sizeof(c)) == 0);
	ck_assert(cidr_client("127.0.0.1", "[2001:db8::5]:443", t, 2, &c));
	ck_assert(memcmp(&c, &(struct cidr[]){ P("2001:db8::5") }[0],
	    sizeof(c)) == 0);
	ck_assert(cidr_client("127.0.0.1", "[2001:db8::5]", t, 2, &c));
	ck_assert(!cidr_client("127.0.0.1", "[2001:db8::5", t, 2, &c));
	ck_assert(!cidr_client("127.0.0.1", "[2001:db8::5]x", t, 2, &c));
	ck_assert(!cidr_client("127.0.0.1", "[]", t, 2, &c));
	ck_assert(!cidr_client("127.0.0.1", "%eth0", t, 2, &c));
	/* nothing usable behind a trusted peer: no client */
	ck_assert(!cidr_client("127.0.0.1", NULL, t, 2, &c));
	ck_assert(!cidr_client("127.0.0.1", "10.0.0.1, 10.0.0.2", t, 2, &c));
	ck_assert(!cidr_client("127.0.0.1", "203.0.113.9, junk", t, 2, &c));
	ck_assert(!cidr_client("127.0.0.1", "203.0.113.9,", t, 2, &c));
	ck_assert(!cidr_client("127.0.0.1", "10.0.0.0/8", t, 2, &c));
	ck_assert(!cidr_client(NULL, "203.0.113.9", t, 2, &c));
	ck_assert(!cidr_client("unix:", NULL, t, 2, &c));
}
END_TEST

START_TEST(test_conf_cidrs)
{
	struct cidr l[CONF_CIDRS_MAX];
	char many[1024];
	int i;

	ck_assert_int_eq(conf_cidrs("", l, CONF_CIDRS_MAX), 0);
	ck_assert_int_eq(conf_cidrs("127.0.0.1", l, CONF_CIDRS_MAX), 1);
	ck_assert_int_eq(conf_cidrs(" 10.0.0.0/8 , ::1,192.0.2.0/24", l,
	    CONF_CIDRS_MAX), 3);
	ck_assert_uint_eq(l[0].bits, 8);
	ck_assert_int_eq(conf_cidrs("10.0.0.0/8,", l, CONF_CIDRS_MAX), -1);
	ck_assert_int_eq(conf_cidrs(",10.0.0.0/8", l, CONF_CIDRS_MAX), -1);
	ck_assert_int_eq(conf_cidrs("10.0.0.0/8,,::1", l, CONF_CIDRS_MAX), -1);
	ck_assert_int_eq(conf_cidrs("proxy.example", l, CONF_CIDRS_MAX), -1);
	many[0] = '\0';
	for (i = 0; i < 33; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
		    "%s10.0.0.1", i ? "," : "");
	ck_assert_int_eq(conf_cidrs(many, l, CONF_CIDRS_MAX), -1);
	ck_assert_int_eq(conf_cidrs(many, NULL, 33), 33);
}
END_TEST

Suite *
cidr_suite(void)
{
	Suite	*s = suite_create("cidr");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_cidr_parse);
	tcase_add_test(tc, test_cidr_canon);
	tcase_add_test(tc, test_cidr_contains);
	tcase_add_test(tc, test_cidr_client);
	tcase_add_test(tc, test_conf_cidrs);
	suite_add_tcase(s, tc);
	return s;
}
