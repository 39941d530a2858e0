/* netguard.c: address ranges Vigil will not deliver webhooks to, and the
 * shape of a webhook URL (see netguard.h for the list and the reasons). */
#include "vigil.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "netguard.h"

struct netguard_v4 {
	uint32_t	 net;
	int		 prefix;
	const char	*name;
	int		 always;
};

#define V4(a, b, c, d) \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | \
	 ((uint32_t)(c) << 8) | (uint32_t)(d))

/* First match wins: single addresses before the ranges holding them. */
static const struct netguard_v4 netguard_v4s[] = {
	{ V4(169, 254, 169, 254), 32, "cloud metadata", 1 },
	{ V4(169, 254, 170, 2), 32, "cloud metadata", 1 },
	{ V4(168, 63, 129, 16), 32, "cloud metadata", 1 },
	{ V4(100, 100, 100, 200), 32, "cloud metadata", 1 },
	{ V4(192, 0, 0, 192), 32, "cloud metadata", 1 },
	{ V4(255, 255, 255, 255), 32, "broadcast", 1 },
	{ V4(0, 0, 0, 0), 8, "unspecified", 1 },
	{ V4(224, 0, 0, 0), 4, "multicast", 1 },
	{ V4(240, 0, 0, 0), 4, "reserved", 1 },
	{ V4(127, 0, 0, 0), 8, "loopback", 0 },
	{ V4(10, 0, 0, 0), 8, "private", 0 },
	{ V4(172, 16, 0, 0), 12, "private", 0 },
	{ V4(192, 168, 0, 0), 16, "private", 0 },
	{ V4(169, 254, 0, 0), 16, "link-local", 0 },
	{ V4(100, 64, 0, 0), 10, "shared (CGNAT)", 0 },
	{ V4(192, 0, 0, 0), 24, "IETF protocol assignments", 0 },
	{ V4(198, 18, 0, 0), 15, "benchmarking", 0 },
	{ V4(192, 0, 2, 0), 24, "documentation", 0 },
	{ V4(198, 51, 100, 0), 24, "documentation", 0 },
	{ V4(203, 0, 113, 0), 24, "documentation", 0 },
};

struct netguard_v6 {
	uint8_t		 net[16];
	int		 prefix;
	const char	*name;
	int		 always;
};

/* Again first match wins. The IPv4-carrying prefixes (::ffff:0:0/96,
 * 64:ff9b::/96, 2002::/16) are not here: netguard_class6 unwraps them. */
static const struct netguard_v6 netguard_v6s[] = {
	{ { 0 }, 128, "unspecified", 1 },
	{ { [15] = 1 }, 128, "loopback", 0 },
	{ { 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x54, [14] = 0x02 }, 128,
	    "cloud metadata", 1 },
	{ { 0 }, 96, "IPv4-compatible (deprecated)", 1 },
	{ { 0xff }, 8, "multicast", 1 },
	{ { 0x20, 0x01, 0x00, 0x00 }, 32, "Teredo", 1 },
	{ { 0xfc }, 7, "unique local", 0 },
	{ { 0xfe, 0x80 }, 10, "link-local", 0 },
	{ { 0xfe, 0xc0 }, 10, "site-local", 0 },
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, "documentation", 0 },
	{ { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48, "local-use NAT64", 0 },
	{ { 0x01, 0x00 }, 64, "discard-only", 0 },
};

static const struct netguard_v4 *
netguard_class4(uint32_t a)
{
	size_t		 i;
	uint32_t	 mask;

	for (i = 0; i < NELEM(netguard_v4s); i++) {
		mask = netguard_v4s[i].prefix == 0 ? 0 :
		    0xffffffffu << (32 - netguard_v4s[i].prefix);
		if ((a & mask) == netguard_v4s[i].net)
			return &netguard_v4s[i];
	}
	return NULL;
}

/* 1 if the first prefix bits of a and net agree. */
static int
netguard_match6(const uint8_t *a, const uint8_t *net, int prefix)
{
	int	 full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, net, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ net[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static uint32_t
netguard_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* The class of an IPv6 address: its own, or that of the IPv4 address it
 * carries. *name gets NULL for a public address. */
static void
netguard_class6(const uint8_t *a, const char **name, int *always)
{
	static const uint8_t	 mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t	 nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	const struct netguard_v4 *c4;
	size_t			 i;
	uint32_t		 v4;
	int			 carried = 0;

	if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0) {
		v4 = netguard_be32(a + 12);
		carried = 1;
	} else if (a[0] == 0x20 && a[1] == 0x02) {
		v4 = netguard_be32(a + 2);   /* 6to4 */
		carried = 1;
	}
	if (carried) {
		c4 = netguard_class4(v4);
		*name = c4 == NULL ? NULL : c4->name;
		*always = c4 == NULL ? 0 : c4->always;
		return;
	}
	for (i = 0; i < NELEM(netguard_v6s); i++)
		if (netguard_match6(a, netguard_v6s[i].net,
		    netguard_v6s[i].prefix)) {
			*name = netguard_v6s[i].name;
			*always = netguard_v6s[i].always;
			return;
		}
	*name = NULL;
	*always = 0;
}

const char *
netguard_addr_class(const struct sockaddr *sa, int *always)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const struct netguard_v4	*c4;
	const char			*name = "not an IP address";
	int				 alw = 1;

	if (sa == NULL)
		goto out;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		c4 = netguard_class4(ntohl(sin->sin_addr.s_addr));
		name = c4 == NULL ? NULL : c4->name;
		alw = c4 == NULL ? 0 : c4->always;
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		netguard_class6(sin6->sin6_addr.s6_addr, &name, &alw);
		break;
	default:
		break;
	}
out:
	if (always != NULL)
		*always = alw;
	return name;
}

int
netguard_addr_allowed(const struct sockaddr *sa, int allow_private)
{
	int	 always;

	if (netguard_addr_class(sa, &always) == NULL)
		return 1;
	return allow_private && !always;
}

/* 1 unless getting part of u answers absent (anything else, an empty
 * part included, counts as present). */
static int
netguard_has(CURLU *u, CURLUPart what, CURLUcode absent)
{
	char		*p = NULL;
	CURLUcode	 uc;

	uc = curl_url_get(u, what, &p, 0);
	curl_free(p);
	return uc != absent;
}

int
netguard_url_check(const char *url, int allow_http, char *err,
    size_t errsz)
{
	CURLU		*u = NULL;
	CURLUcode	 uc;
	char		*scheme = NULL, *part = NULL;
	int		 rc = -1;

	if (errsz > 0)
		err[0] = '\0';
	if (url == NULL || *url == '\0') {
		snprintf(err, errsz, "url is empty");
		goto out;
	}
	if (strlen(url) > NETGUARD_URL_MAX) {
		snprintf(err, errsz, "url is longer than %d bytes",
		    NETGUARD_URL_MAX);
		goto out;
	}
	if ((u = curl_url()) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	/* No default or guessed scheme: "example.com/hook" is refused. */
	if ((uc = curl_url_set(u, CURLUPART_URL, url,
	    CURLU_NON_SUPPORT_SCHEME)) != CURLUE_OK) {
		snprintf(err, errsz, "url is not a valid absolute URL "
		    "(CURLUcode %d)", (int)uc);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    scheme == NULL) {
		snprintf(err, errsz, "url has no scheme");
		goto out;
	}
	if (strcmp(scheme, "https") != 0 &&
	    !(allow_http && strcmp(scheme, "http") == 0)) {
		snprintf(err, errsz, allow_http ?
		    "url must be https:// or http://" :
		    "url must be https:// (http:// is not allowed here)");
		goto out;
	}
	if (netguard_has(u, CURLUPART_USER, CURLUE_NO_USER) ||
	    netguard_has(u, CURLUPART_PASSWORD, CURLUE_NO_PASSWORD) ||
	    netguard_has(u, CURLUPART_OPTIONS, CURLUE_NO_OPTIONS)) {
		snprintf(err, errsz, "url must not carry a user name or "
		    "password (put credentials in the secret)");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &part, 0) != CURLUE_OK ||
	    part == NULL || *part == '\0') {
		snprintf(err, errsz, "url has no host");
		goto out;
	}
	rc = 0;
out:
	curl_free(part);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}
