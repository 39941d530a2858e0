/* cidr.c: address prefixes and the client address (cidr.h). */
#include "vigil.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "cidr.h"

static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* The parse cidr_parse and cidr_canon share: no IPv4-mapped reading;
 * with strict, a prefix with a leading zero ("/08") is refused. 1, 0 if
 * s is not an address or address/prefix, or -1 if the prefix is longer
 * than the address. */
static int
parse(const char *s, size_t len, int strict, struct cidr *c)
{
	char		 host[CIDR_TEXT_MAX];
	const char	*slash;
	size_t		 hlen, plen, i;
	unsigned	 maxbits, bits;

	memset(c, 0, sizeof(*c));
	if (s == NULL)
		return 0;
	if ((slash = memchr(s, '/', len)) != NULL)
		hlen = (size_t)(slash - s);
	else
		hlen = len;
	if (hlen == 0 || hlen >= sizeof(host))
		return 0;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, c->addr) == 1) {
		c->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, host, c->addr) == 1) {
		c->family = AF_INET6;
		maxbits = 128;
	} else
		return 0;
	bits = maxbits;
	if (slash != NULL) {
		plen = len - hlen - 1;
		if (plen < 1 || plen > 3 ||
		    (strict && plen > 1 && slash[1] == '0'))
			return 0;
		for (bits = 0, i = hlen + 1; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return 0;
			bits = bits * 10 + (unsigned)(s[i] - '0');
		}
		if (bits > maxbits)
			return -1;
	}
	c->bits = bits;
	return 1;
}

int
cidr_parse(const char *s, size_t len, struct cidr *c)
{
	if (parse(s, len, 0, c) != 1) {
		memset(c, 0, sizeof(*c));
		return 0;
	}
	if (c->family == AF_INET6 && c->bits >= 96 &&
	    memcmp(c->addr, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(c->addr, c->addr + 12, 4);
		memset(c->addr + 4, 0, 12);
		c->family = AF_INET;
		c->bits -= 96;
	}
	return 1;
}

enum cidr_canon_err
cidr_canon(const char *s, size_t len, char *out, size_t outsz)
{
	struct cidr	 c;
	char		 text[INET6_ADDRSTRLEN];
	unsigned	 maxbits, i;
	int		 rc;

	if ((rc = parse(s, len, 1, &c)) != 1)
		return rc < 0 ? CIDR_CANON_PREFIX : CIDR_CANON_SYNTAX;
	maxbits = c.family == AF_INET6 ? 128 : 32;
	for (i = c.bits; i < maxbits; i++)
		if (c.addr[i / 8] & (0x80 >> (i % 8)))
			return CIDR_CANON_HOST_BITS;
	if (inet_ntop(c.family, c.addr, text, sizeof(text)) == NULL ||
	    (size_t)snprintf(out, outsz, "%s/%u", text, c.bits) >= outsz)
		return CIDR_CANON_SYNTAX;
	return CIDR_CANON_OK;
}

int
cidr_addr_canon(const char *s, size_t len, char *out, size_t outsz)
{
	struct cidr c;

	if (s == NULL || memchr(s, '/', len) != NULL ||
	    !cidr_parse(s, len, &c))
		return 0;
	return inet_ntop(c.family, c.addr, out, (socklen_t)outsz) != NULL;
}

int
cidr_contains(const struct cidr *a, const struct cidr *b)
{
	unsigned	 full, rest;
	unsigned char	 mask;

	if (a->family != b->family || a->bits > b->bits)
		return 0;
	full = a->bits / 8;
	rest = a->bits % 8;
	if (memcmp(a->addr, b->addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a->addr[full] & mask) == (b->addr[full] & mask);
}

int
cidr_list_contains(const struct cidr *list, size_t n,
    const struct cidr *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cidr_contains(&list[i], addr))
			return 1;
	return 0;
}

/* An address alone (no prefix), trimmed of spaces; also read from the
 * forms proxies write: "[v6]", "[v6]:port", "v4:port", and with an IPv6
 * zone ("fe80::1%eth0", the zone dropped). 1 or 0. */
static int
one_addr(const char *s, size_t len, struct cidr *c)
{
	const char *close, *colon, *pct;

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || memchr(s, '/', len) != NULL)
		return 0;
	if (s[0] == '[') {
		if ((close = memchr(s, ']', len)) == NULL)
			return 0;
		/* nothing, or ":port", may follow */
		if ((size_t)(close - s) + 1 < len && close[1] != ':')
			return 0;
		len = (size_t)(close - s) - 1;
		s++;
	} else if ((colon = memchr(s, ':', len)) != NULL &&
	    memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) == NULL &&
	    memchr(s, '.', (size_t)(colon - s)) != NULL)
		len = (size_t)(colon - s);	/* "a.b.c.d:port" */
	if ((pct = memchr(s, '%', len)) != NULL)
		len = (size_t)(pct - s);
	return len > 0 && cidr_parse(s, len, c);
}

int
cidr_client(const char *remote, const char *xff,
    const struct cidr *trusted, size_t ntrusted, struct cidr *out)
{
	const char	*end, *p;

	if (remote == NULL || !one_addr(remote, strlen(remote), out))
		return 0;
	if (!cidr_list_contains(trusted, ntrusted, out))
		return 1;
	/* The peer is a trusted proxy: walk back what proxies appended. */
	if (xff == NULL)
		return 0;
	end = xff + strlen(xff);
	while (end > xff) {
		for (p = end; p > xff && p[-1] != ','; p--)
			;
		if (!one_addr(p, (size_t)(end - p), out))
			return 0;
		if (!cidr_list_contains(trusted, ntrusted, out))
			return 1;
		end = p > xff ? p - 1 : xff;
	}
	return 0;
}
