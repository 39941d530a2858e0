/* check_observable.c: observable types and their normalised forms. */
#include <check.h>
#include <string.h>

#include "cidr.h"
#include "observable.h"
#include "suites.h"

/* The normalised form of v as type t, or NULL if refused (in buf). */
static const char *
N(enum observable_type t, const char *v, char *buf)
{
	size_t n;

	if (observable_normalise(t, v, strlen(v), buf, OBSERVABLE_VALUE_LEN,
	    &n) != OBSERVABLE_OK)
		return NULL;
	ck_assert_uint_eq(n, strlen(buf));
	return buf;
}

#define EQ(t, v, want) do {						\
	const char *got_ = N((t), (v), buf);				\
	ck_assert_msg(got_ != NULL && strcmp(got_, (want)) == 0,	\
	    "%s -> %s, want %s", (v), got_ ? got_ : "(refused)", (want));\
} while (0)
#define BAD(t, v) ck_assert_msg(N((t), (v), buf) == NULL, "%s accepted", (v))

START_TEST(test_observable_types)
{
	enum observable_type t;
	int i;

	for (i = 0; i < OBSERVABLE_NTYPES; i++) {
		ck_assert(observable_type_parse(
		    observable_type_name((enum observable_type)i), &t));
		ck_assert_int_eq((int)t, i);
	}
	ck_assert(!observable_type_parse("IP", &t));
	ck_assert(!observable_type_parse("ipv4", &t));
	ck_assert(!observable_type_parse("", &t));
	ck_assert(!observable_type_parse(NULL, &t));
}
END_TEST

START_TEST(test_observable_ip)
{
	char buf[OBSERVABLE_VALUE_LEN];

	EQ(OBSERVABLE_IP, "203.0.113.4", "203.0.113.4");
	EQ(OBSERVABLE_IP, " 203.0.113.4\t", "203.0.113.4");
	EQ(OBSERVABLE_IP, "::ffff:203.0.113.4", "203.0.113.4");
	EQ(OBSERVABLE_IP, "::FFFF:CB00:7104", "203.0.113.4");
	EQ(OBSERVABLE_IP, "2001:DB8:0:0:0:0:0:1", "2001:db8::1");
	EQ(OBSERVABLE_IP, "2001:0db8::0001", "2001:db8::1");
	BAD(OBSERVABLE_IP, "203.0.113.4/32");
	BAD(OBSERVABLE_IP, "203.0.113");
	BAD(OBSERVABLE_IP, "203.0.113.256");
	BAD(OBSERVABLE_IP, "example.com");
	BAD(OBSERVABLE_IP, "");
	BAD(OBSERVABLE_IP, "   ");
}
END_TEST

START_TEST(test_observable_domain)
{
	char buf[OBSERVABLE_VALUE_LEN];
	char big[300];

	EQ(OBSERVABLE_DOMAIN, "Stats.Example.COM.", "stats.example.com");
	EQ(OBSERVABLE_DOMAIN, "xn--bcher-kva.example", "xn--bcher-kva.example");
	EQ(OBSERVABLE_HOSTNAME, "WS-042", "ws-042");
	EQ(OBSERVABLE_HOSTNAME, "_dmarc.example.com", "_dmarc.example.com");
	BAD(OBSERVABLE_DOMAIN, "bücher.example");
	BAD(OBSERVABLE_DOMAIN, "a..b");
	BAD(OBSERVABLE_DOMAIN, ".");
	BAD(OBSERVABLE_DOMAIN, "a b.com");
	BAD(OBSERVABLE_DOMAIN, "x'; DROP TABLE alerts;--");
	memset(big, 'a', 64);
	memcpy(big + 64, ".com", 5);
	BAD(OBSERVABLE_DOMAIN, big);              /* a label of 64 */
	memset(big, 'a', 254);
	big[254] = '\0';
	BAD(OBSERVABLE_DOMAIN, big);
}
END_TEST

START_TEST(test_observable_url)
{
	char buf[OBSERVABLE_VALUE_LEN];

	EQ(OBSERVABLE_URL, "HTTPS://Evil.Example.COM:443/Path?q=A#F",
	    "https://evil.example.com/Path?q=A#F");
	EQ(OBSERVABLE_URL, "http://evil.example.com:8080/x",
	    "http://evil.example.com:8080/x");
	EQ(OBSERVABLE_URL, "hxxp://Evil.Example.com./a", "hxxp://evil.example.com/a");
	BAD(OBSERVABLE_URL, "evil.example.com/a");
	BAD(OBSERVABLE_URL, "http://");
	BAD(OBSERVABLE_URL, "http://exa mple.com/");
}
END_TEST

START_TEST(test_observable_hash)
{
	char buf[OBSERVABLE_VALUE_LEN];
	const char *sha1 = "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709";

	EQ(OBSERVABLE_HASH, sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	ck_assert_str_eq(observable_hash_kind(buf, strlen(buf)), "sha1");
	EQ(OBSERVABLE_HASH, "d41d8cd98f00b204e9800998ecf8427e",
	    "d41d8cd98f00b204e9800998ecf8427e");
	ck_assert_str_eq(observable_hash_kind(buf, strlen(buf)), "md5");
	ck_assert_ptr_null(observable_hash_kind(buf, 33));
	BAD(OBSERVABLE_HASH, "da39a3ee...");
	BAD(OBSERVABLE_HASH, "d41d8cd98f00b204e9800998ecf8427g");
	BAD(OBSERVABLE_HASH, "d41d8cd98f00b204e9800998ecf8427");
}
END_TEST

START_TEST(test_observable_email_user_file)
{
	char buf[OBSERVABLE_VALUE_LEN];
	char big[OBSERVABLE_VALUE_MAX + 2];

	EQ(OBSERVABLE_EMAIL, "Alice.Smith@Example.COM", "alice.smith@example.com");
	BAD(OBSERVABLE_EMAIL, "@example.com");
	BAD(OBSERVABLE_EMAIL, "alice@");
	BAD(OBSERVABLE_EMAIL, "alice");
	BAD(OBSERVABLE_EMAIL, "al ice@example.com");
	EQ(OBSERVABLE_USER, "CORP\\Alice", "CORP\\Alice");
	EQ(OBSERVABLE_FILE, "C:\\Users\\x\\evil.ps1", "C:\\Users\\x\\evil.ps1");
	BAD(OBSERVABLE_FILE, "a\nb");
	BAD(OBSERVABLE_USER, "\xc3\x28");
	BAD(OBSERVABLE_USER, "a\xc2\x9b");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	BAD(OBSERVABLE_FILE, big);
	big[OBSERVABLE_VALUE_MAX] = '\0';
	ck_assert_ptr_nonnull(N(OBSERVABLE_FILE, big, buf));
}
END_TEST

START_TEST(test_observable_hash_key)
{
	char a[65], b[65];

	observable_value_hash("203.0.113.4", 11, a);
	observable_value_hash("203.0.113.5", 11, b);
	ck_assert_uint_eq(strlen(a), 64);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_cidr_addr_canon)
{
	char out[64];

	ck_assert(cidr_addr_canon("::ffff:10.0.0.1", 15, out, sizeof(out)));
	ck_assert_str_eq(out, "10.0.0.1");
	ck_assert(!cidr_addr_canon("10.0.0.1/32", 11, out, sizeof(out)));
	ck_assert(!cidr_addr_canon("10.0.0.1", 8, out, 4));
}
END_TEST

Suite *
observable_suite(void)
{
	Suite *s = suite_create("observable");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_observable_types);
	tcase_add_test(tc, test_observable_ip);
	tcase_add_test(tc, test_observable_domain);
	tcase_add_test(tc, test_observable_url);
	tcase_add_test(tc, test_observable_hash);
	tcase_add_test(tc, test_observable_email_user_file);
	tcase_add_test(tc, test_observable_hash_key);
	tcase_add_test(tc, test_cidr_addr_canon);
	suite_add_tcase(s, tc);
	return s;
}
