/* check_netguard.c: which webhook target addresses are refused, with and
 * without allow_private_targets, and which URLs are acceptable. */
#include "vigil.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "netguard.h"
#include "suites.h"

/* Parse text (IPv4 or IPv6) into ss; fails the test if it does not. */
static const struct sockaddr *
addr(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(443);
	} else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(443);
	} else
		ck_abort_msg("bad address in table: %s", text);
	return (const struct sockaddr *)ss;
}

/* P: public, allowed always. R: refused unless allow_private. A: refused
 * always. */
enum { P, R, A };

START_TEST(test_netguard_addresses)
{
	static const struct {
		const char	*addr;
		int		 want;
		const char	*cls;
	} t[] = {
		/* Public. */
		{ "93.184.216.34", P, NULL },
		{ "8.8.8.8", P, NULL },
		{ "1.1.1.1", P, NULL },
		{ "9.255.255.255", P, NULL },
		{ "11.0.0.0", P, NULL },
		{ "100.63.255.255", P, NULL },
		{ "100.128.0.0", P, NULL },
		{ "126.255.255.255", P, NULL },
		{ "128.0.0.0", P, NULL },
		{ "169.253.255.255", P, NULL },
		{ "169.255.0.0", P, NULL },
		{ "172.15.255.255", P, NULL },
		{ "172.32.0.0", P, NULL },
		{ "192.167.255.255", P, NULL },
		{ "192.169.0.0", P, NULL },
		{ "198.17.255.255", P, NULL },
		{ "198.20.0.0", P, NULL },
		{ "223.255.255.255", P, NULL },
		{ "2606:4700:4700::1111", P, NULL },
		{ "2001:4860:4860::8888", P, NULL },
		{ "2a00:1450:4001:81c::200e", P, NULL },
		{ "::ffff:93.184.216.34", P, NULL },
		{ "64:ff9b::808:808", P, NULL },
		{ "2002:808:808::1", P, NULL },
		{ "fbff:ffff::1", P, NULL },
		{ "fe7f::1", P, NULL },
		/* Loopback. */
		{ "127.0.0.1", R, "loopback" },
		{ "127.0.0.0", R, "loopback" },
		{ "127.1.2.3", R, "loopback" },
		{ "127.255.255.255", R, "loopback" },
		{ "::1", R, "loopback" },
		{ "::ffff:127.0.0.1", R, "loopback" },
		{ "::ffff:7f00:1", R, "loopback" },
		{ "64:ff9b::127.0.0.1", R, "loopback" },
		{ "2002:7f00:1::", R, "loopback" },
		/* RFC 1918. */
		{ "10.0.0.1", R, "private" },
		{ "10.255.255.255", R, "private" },
		{ "172.16.0.1", R, "private" },
		{ "172.31.255.255", R, "private" },
		{ "192.168.0.1", R, "private" },
		{ "192.168.255.255", R, "private" },
		{ "::ffff:10.1.2.3", R, "private" },
		{ "::ffff:192.168.1.1", R, "private" },
		{ "64:ff9b::ac10:1", R, "private" },
		{ "2002:c0a8:101::1", R, "private" },
		/* Link-local, CGNAT and other special IPv4. */
		{ "169.254.0.1", R, "link-local" },
		{ "169.254.255.255", R, "link-local" },
		{ "169.254.169.253", R, "link-local" },
		{ "::ffff:169.254.1.1", R, "link-local" },
		{ "100.64.0.1", R, "shared (CGNAT)" },
		{ "100.127.255.255", R, "shared (CGNAT)" },
		{ "192.0.0.8", R, "IETF protocol assignments" },
		{ "198.18.0.1", R, "benchmarking" },
		{ "198.19.255.255", R, "benchmarking" },
		{ "192.0.2.1", R, "documentation" },
		{ "198.51.100.7", R, "documentation" },
		{ "203.0.113.9", R, "documentation" },
		/* IPv6 local ranges. */
		{ "fc00::1", R, "unique local" },
		{ "fd12:3456:789a::1", R, "unique local" },
		{ "fdff:ffff:ffff::1", R, "unique local" },
		{ "fe80::1", R, "link-local" },
		{ "febf:ffff::1", R, "link-local" },
		{ "fec0::1", R, "site-local" },
		{ "2001:db8::1", R, "documentation" },
		{ "64:ff9b:1::1", R, "local-use NAT64" },
		{ "100::1", R, "discard-only" },
		/* Cloud metadata: refused even with allow_private. */
		{ "169.254.169.254", A, "cloud metadata" },
		{ "169.254.170.2", A, "cloud metadata" },
		{ "168.63.129.16", A, "cloud metadata" },
		{ "100.100.100.200", A, "cloud metadata" },
		{ "192.0.0.192", A, "cloud metadata" },
		{ "fd00:ec2::254", A, "cloud metadata" },
		{ "::ffff:169.254.169.254", A, "cloud metadata" },
		{ "::ffff:a9fe:a9fe", A, "cloud metadata" },
		{ "64:ff9b::a9fe:a9fe", A, "cloud metadata" },
		{ "2002:a9fe:a9fe::1", A, "cloud metadata" },
		/* Never a destination. */
		{ "0.0.0.0", A, "unspecified" },
		{ "0.1.2.3", A, "unspecified" },
		{ "::", A, "unspecified" },
		{ "::ffff:0.0.0.0", A, "unspecified" },
		{ "224.0.0.1", A, "multicast" },
		{ "239.255.255.250", A, "multicast" },
		{ "ff02::1", A, "multicast" },
		{ "ff05::1:3", A, "multicast" },
		{ "::ffff:224.0.0.251", A, "multicast" },
		{ "255.255.255.255", A, "broadcast" },
		{ "::ffff:255.255.255.255", A, "broadcast" },
		{ "240.0.0.1", A, "reserved" },
		{ "255.255.255.254", A, "reserved" },
		/* Tunnels to anywhere: refused outright. */
		{ "::127.0.0.1", A, "IPv4-compatible (deprecated)" },
		{ "::8.8.8.8", A, "IPv4-compatible (deprecated)" },
		{ "2001::1", A, "Teredo" },
		{ "2001:0:4136:e378:8000:63bf:3fff:fdd2", A, "Teredo" },
	};
	struct sockaddr_storage	 ss;
	const struct sockaddr	*sa;
	const char		*cls;
	size_t			 i;
	int			 always;

	for (i = 0; i < NELEM(t); i++) {
		sa = addr(t[i].addr, &ss);
		ck_assert_msg(netguard_addr_allowed(sa, 0) == (t[i].want == P),
		    "%s strict", t[i].addr);
		ck_assert_msg(netguard_addr_allowed(sa, 1) == (t[i].want != A),
		    "%s with allow_private", t[i].addr);
		cls = netguard_addr_class(sa, &always);
		if (t[i].cls == NULL)
			ck_assert_msg(cls == NULL, "%s: class %s", t[i].addr,
			    cls);
		else
			ck_assert_msg(cls != NULL && strcmp(cls, t[i].cls) == 0,
			    "%s: class %s, want %s", t[i].addr,
			    cls == NULL ? "(public)" : cls, t[i].cls);
		ck_assert_int_eq(always, t[i].want == A);
	}
}
END_TEST

START_TEST(test_netguard_not_ip)
{
	struct sockaddr_un	 sun;
	int			 always = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_int_eq(netguard_addr_allowed((struct sockaddr *)&sun, 0), 0);
	ck_assert_int_eq(netguard_addr_allowed((struct sockaddr *)&sun, 1), 0);
	ck_assert_ptr_nonnull(netguard_addr_class((struct sockaddr *)&sun,
	    &always));
	ck_assert_int_eq(always, 1);
	ck_assert_int_eq(netguard_addr_allowed(NULL, 1), 0);
	ck_assert_ptr_nonnull(netguard_addr_class(NULL, NULL));
}
END_TEST

START_TEST(test_netguard_urls)
{
	static const struct {
		const char	*url;
		int		 strict;     /* 0 ok, -1 refused, https only */
		int		 http;       /* the same with allow_http */
		const char	*why;        /* part of the strict reason */
	} t[] = {
		{ "https://hooks.example.com/vigil", 0, 0, NULL },
		{ "https://hooks.example.com:8443/a/b?x=1&y=2", 0, 0, NULL },
		{ "https://example.com", 0, 0, NULL },
		{ "https://127.0.0.1:9000/hook", 0, 0, NULL },
		{ "https://[::1]:9000/hook", 0, 0, NULL },
		{ "HTTPS://Example.COM/x", 0, 0, NULL },
		{ "https://example.com/a#frag", 0, 0, NULL },
		{ "http://hooks.example.com/vigil", -1, 0, "https" },
		{ "http://127.0.0.1:8080/", -1, 0, "https" },
		{ "ftp://example.com/x", -1, -1, "https" },
		{ "file:///etc/passwd", -1, -1, NULL },
		{ "gopher://example.com/", -1, -1, NULL },
		{ "javascript:alert(1)", -1, -1, NULL },
		{ "hooks.example.com/vigil", -1, -1, NULL },
		{ "//hooks.example.com/vigil", -1, -1, NULL },
		{ "/vigil", -1, -1, NULL },
		{ "", -1, -1, "empty" },
		{ "https://", -1, -1, NULL },
		{ "https://:443/path", -1, -1, NULL },
		{ "https://user@example.com/", -1, -1, "user" },
		{ "https://user:pw@example.com/", -1, -1, "user" },
		{ "https://:pw@example.com/", -1, -1, "user" },
		{ "https://@example.com/", -1, -1, "user" },
		{ "http://user:pw@example.com/", -1, -1, "https" },
		{ "https://example.com/a b", -1, -1, NULL },
		{ "https://exa mple.com/", -1, -1, NULL },
		{ "https://example.com/\r\nX-Injected: 1", -1, -1, NULL },
		{ "https://example.com:99999/", -1, -1, NULL },
	};
	char	 err[256];
	size_t	 i;
	int	 rc;

	for (i = 0; i < NELEM(t); i++) {
		rc = netguard_url_check(t[i].url, 0, err, sizeof(err));
		ck_assert_msg(rc == t[i].strict, "%s: %d (%s)", t[i].url, rc,
		    err);
		if (rc == 0)
			ck_assert_str_eq(err, "");
		else
			ck_assert_msg(err[0] != '\0', "%s: no reason",
			    t[i].url);
		if (t[i].why != NULL)
			ck_assert_msg(strstr(err, t[i].why) != NULL,
			    "%s: reason '%s' lacks '%s'", t[i].url, err,
			    t[i].why);
		rc = netguard_url_check(t[i].url, 1, err, sizeof(err));
		ck_assert_msg(rc == t[i].http, "%s allow_http: %d (%s)",
		    t[i].url, rc, err);
	}
	ck_assert_int_eq(netguard_url_check(NULL, 1, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_netguard_url_length)
{
	char	 url[NETGUARD_URL_MAX + 2], err[128];
	size_t	 n;

	n = (size_t)snprintf(url, sizeof(url), "https://example.com/");
	memset(url + n, 'a', sizeof(url) - n - 1);
	url[NETGUARD_URL_MAX] = '\0';
	ck_assert_int_eq(netguard_url_check(url, 0, err, sizeof(err)), 0);
	url[NETGUARD_URL_MAX] = 'a';
	url[NETGUARD_URL_MAX + 1] = '\0';
	ck_assert_int_eq(netguard_url_check(url, 0, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer"));
}
END_TEST

Suite *
netguard_suite(void)
{
	Suite	*s = suite_create("netguard");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_netguard_addresses);
	tcase_add_test(tc, test_netguard_not_ip);
	tcase_add_test(tc, test_netguard_urls);
	tcase_add_test(tc, test_netguard_url_length);
	suite_add_tcase(s, tc);
	return s;
}
