/* fuzz_netguard.c: libFuzzer target for the webhook URL and address
 * checks (netguard.c). The input is checked as a URL (with and without
 * http:// allowed) and read as IPv4 and IPv6 addresses, alone and in
 * each IPv6 form that carries an IPv4 address. Checks: an accepted URL is
 * https:// (or http:// when allowed), has a host and no user name,
 * password or options, by libcurl's own reading, and allowing http://
 * never refuses what https-only accepts; an address's verdict follows
 * the table in netguard.h, written out again here as octet tests; a
 * carried IPv4 address is judged as itself. Built by "make fuzz". */
#include "vigil.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <string.h>

#include <curl/curl.h>

#include "fuzz.h"
#include "netguard.h"

enum { PUBLIC, PRIVATE, ALWAYS };

/* netguard.h's IPv4 list. */
static int
class4(const uint8_t *a)
{
	uint32_t v = ((uint32_t)a[0] << 24) | ((uint32_t)a[1] << 16) |
	    ((uint32_t)a[2] << 8) | a[3];

	if (v == 0xa9fea9fe || v == 0xa9feaa02 || v == 0xa83f8110 ||
	    v == 0x646464c8 || v == 0xc00000c0)	/* metadata endpoints */
		return ALWAYS;
	if (a[0] == 0 || a[0] >= 224)	/* 0/8, multicast, reserved, bcast */
		return ALWAYS;
	if (a[0] == 127 || a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	    (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254) ||
	    (a[0] == 100 && (a[1] & 0xc0) == 64) ||
	    (a[0] == 192 && a[1] == 0 && a[2] == 0) ||
	    (a[0] == 198 && (a[1] & 0xfe) == 18) ||
	    (a[0] == 192 && a[1] == 0 && a[2] == 2) ||
	    (a[0] == 198 && a[1] == 51 && a[2] == 100) ||
	    (a[0] == 203 && a[1] == 0 && a[2] == 113))
		return PRIVATE;
	return PUBLIC;
}

static int
zero(const uint8_t *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i] != 0)
			return 0;
	return 1;
}

/* netguard.h's IPv6 list, the IPv4-carrying forms unwrapped. */
static int
class6(const uint8_t *a)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	static const uint8_t imds[16] = { 0xfd, 0x00, 0x0e, 0xc2,
	    [14] = 0x02, [15] = 0x54 };

	if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
		return class4(a + 12);
	if (a[0] == 0x20 && a[1] == 0x02)
		return class4(a + 2);
	if (zero(a, 15) && a[15] == 1)
		return PRIVATE;			/* ::1 */
	if (zero(a, 12) || a[0] == 0xff || memcmp(a, imds, 16) == 0 ||
	    (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0))
		return ALWAYS;
	if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
	    (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) ||
	    (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) ||
	    (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b &&
	    a[4] == 0 && a[5] == 1) ||
	    (a[0] == 0x01 && zero(a + 1, 7)))
		return PRIVATE;
	return PUBLIC;
}

static void
verdict(const struct sockaddr *sa, int want)
{
	const char *name;
	int always = -1, a0, a1;

	name = netguard_addr_class(sa, &always);
	a0 = netguard_addr_allowed(sa, 0);
	a1 = netguard_addr_allowed(sa, 1);
	FUZZ_CHECK(always == 0 || always == 1);
	FUZZ_CHECK((name == NULL) == (want == PUBLIC));
	FUZZ_CHECK(always == (want == ALWAYS));
	FUZZ_CHECK(a0 == (want == PUBLIC));
	FUZZ_CHECK(a1 == (want != ALWAYS));
}

static void
addresses(const uint8_t *d, size_t size)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	struct sockaddr		 other;
	uint8_t			 v4[4];

	if (size < 4)
		return;
	memcpy(v4, d, 4);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memcpy(&sin.sin_addr, v4, 4);
	verdict((struct sockaddr *)&sin, class4(v4));

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	/* ::ffff:a.b.c.d, 64:ff9b::a.b.c.d, 2002:AABB:CCDD:: */
	sin6.sin6_addr.s6_addr[10] = sin6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(sin6.sin6_addr.s6_addr + 12, v4, 4);
	verdict((struct sockaddr *)&sin6, class4(v4));
	memset(sin6.sin6_addr.s6_addr, 0, 12);
	sin6.sin6_addr.s6_addr[1] = 0x64;
	sin6.sin6_addr.s6_addr[2] = 0xff;
	sin6.sin6_addr.s6_addr[3] = 0x9b;
	verdict((struct sockaddr *)&sin6, class4(v4));
	memset(sin6.sin6_addr.s6_addr, 0, 16);
	sin6.sin6_addr.s6_addr[0] = 0x20;
	sin6.sin6_addr.s6_addr[1] = 0x02;
	memcpy(sin6.sin6_addr.s6_addr + 2, v4, 4);
	if (size >= 16)
		memcpy(sin6.sin6_addr.s6_addr + 6, d + 6, 10);
	verdict((struct sockaddr *)&sin6, class4(v4));

	memset(&other, 0, sizeof(other));
	other.sa_family = AF_UNIX;
	FUZZ_CHECK(!netguard_addr_allowed(&other, 1));
	FUZZ_CHECK(!netguard_addr_allowed(NULL, 1));

	if (size < 16)
		return;
	memcpy(sin6.sin6_addr.s6_addr, d, 16);
	verdict((struct sockaddr *)&sin6, class6(d));
}

/* What libcurl reads in url: https (or http), a host, no credentials. */
static void
url_parts(const char *url, int allow_http)
{
	CURLU *u;
	char *p = NULL;

	FUZZ_CHECK((u = curl_url()) != NULL);
	FUZZ_CHECK(curl_url_set(u, CURLUPART_URL, url,
	    CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK);
	FUZZ_CHECK(curl_url_get(u, CURLUPART_SCHEME, &p, 0) == CURLUE_OK);
	FUZZ_CHECK(strcmp(p, "https") == 0 ||
	    (allow_http && strcmp(p, "http") == 0));
	curl_free(p);
	p = NULL;
	FUZZ_CHECK(curl_url_get(u, CURLUPART_USER, &p, 0) ==
	    CURLUE_NO_USER && p == NULL);
	FUZZ_CHECK(curl_url_get(u, CURLUPART_PASSWORD, &p, 0) ==
	    CURLUE_NO_PASSWORD && p == NULL);
	FUZZ_CHECK(curl_url_get(u, CURLUPART_HOST, &p, 0) == CURLUE_OK &&
	    p != NULL && *p != '\0');
	curl_free(p);
	curl_url_cleanup(u);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*url, err[256];
	int	 https, http;

	addresses(data, size);
	if (memchr(data, '\0', size) != NULL)
		return 0;
	if ((url = strndup((const char *)data, size)) == NULL)
		return 0;
	memset(err, 'x', sizeof(err));
	https = netguard_url_check(url, 0, err, sizeof(err));
	FUZZ_CHECK(https == 0 || https == -1);
	FUZZ_CHECK(https == 0 ? err[0] == '\0' : err[0] != '\0');
	http = netguard_url_check(url, 1, err, sizeof(err));
	FUZZ_CHECK(http == 0 ? err[0] == '\0' : err[0] != '\0');
	if (https == 0) {
		FUZZ_CHECK(http == 0);
		FUZZ_CHECK(size <= NETGUARD_URL_MAX);
		url_parts(url, 0);
	}
	if (http == 0)
		url_parts(url, 1);
	free(url);
	return 0;
}
