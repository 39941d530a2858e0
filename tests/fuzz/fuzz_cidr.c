/* fuzz_cidr.c: libFuzzer target for address prefixes and the client
 * address of the IP allowlist (cidr.c). The input's lines are a comma-
 * separated list of prefixes (the trusted proxies), REMOTE_ADDR and
 * X-Forwarded-For. Checks: a prefix that parses is IPv4 /0-32 or IPv6
 * /0-128, prints (inet_ntop and "/bits") to text that parses to the same
 * prefix, contains itself and every address that differs only past its
 * length and none that differs within it; a client address found is a
 * full-length address outside the trusted list, and is REMOTE_ADDR itself
 * when that is not trusted. Built by "make fuzz". */
#include "vigil.h"

#include <sys/socket.h>
#include <arpa/inet.h>

#include <string.h>

#include "cidr.h"
#include "fuzz.h"

#define MAX_TRUSTED 8

static void
prefix(const char *s, size_t len, struct cidr *c, int *ok)
{
	struct cidr again, b;
	char text[INET6_ADDRSTRLEN + 8];
	unsigned max, bit;
	size_t n;

	*ok = cidr_parse(s, len, c);
	if (!*ok)
		return;
	FUZZ_CHECK(c->family == AF_INET || c->family == AF_INET6);
	max = c->family == AF_INET ? 32 : 128;
	FUZZ_CHECK(c->bits <= max);
	FUZZ_CHECK(len < CIDR_TEXT_MAX + 4);
	FUZZ_CHECK(inet_ntop(c->family, c->addr, text, sizeof(text)) != NULL);
	n = strlen(text);
	snprintf(text + n, sizeof(text) - n, "/%u", c->bits);
	FUZZ_CHECK(cidr_parse(text, strlen(text), &again));
	FUZZ_CHECK(again.family == c->family && again.bits == c->bits &&
	    memcmp(again.addr, c->addr, sizeof(c->addr)) == 0);
	FUZZ_CHECK(cidr_contains(c, c));
	/* flip one bit of the address: inside the prefix or past it */
	for (bit = 0; bit < max; bit += 7) {
		b = *c;
		b.bits = max;
		b.addr[bit / 8] ^= (unsigned char)(0x80 >> (bit % 8));
		FUZZ_CHECK(cidr_contains(c, &b) == (bit >= c->bits));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cidr	 trusted[MAX_TRUSTED], out, remote_c;
	const char	*p, *line[3] = { "", "", NULL };
	char		*e;
	size_t		 n = 0, i, len;
	char		*text;
	int		 ok, remote_ok, rc;

	if (memchr(data, '\0', size) != NULL ||
	    (text = strndup((const char *)data, size)) == NULL)
		return 0;
	/* line 1: trusted prefixes; 2: REMOTE_ADDR; 3: X-Forwarded-For */
	line[0] = text;
	for (i = 1, e = text; i < 3 && (e = strchr(e, '\n')) != NULL; i++) {
		*e++ = '\0';
		line[i] = e;
	}
	for (p = line[0]; *p != '\0' && n < MAX_TRUSTED; p += len + (p[len] == ',')) {
		len = strcspn(p, ",");
		prefix(p, len, &trusted[n], &ok);
		if (ok)
			n++;
	}
	prefix(line[1], strlen(line[1]), &remote_c, &remote_ok);

	memset(&out, 0, sizeof(out));
	rc = cidr_client(line[1], line[2], trusted, n, &out);
	FUZZ_CHECK(rc == 0 || rc == 1);
	if (rc == 1) {
		FUZZ_CHECK(out.bits == (out.family == AF_INET ? 32u : 128u));
		FUZZ_CHECK(!cidr_list_contains(trusted, n, &out));
		/* a plain address as REMOTE_ADDR is the client as it is */
		if (remote_ok && remote_c.bits == out.bits &&
		    !cidr_list_contains(trusted, n, &remote_c) &&
		    memchr(line[1], '/', strlen(line[1])) == NULL)
			FUZZ_CHECK(memcmp(&out, &remote_c, sizeof(out)) == 0);
	} else if (remote_ok && memchr(line[1], '/', strlen(line[1])) == NULL)
		/* the peer itself is trusted, and named no one usable */
		FUZZ_CHECK(cidr_list_contains(trusted, n, &remote_c));
	free(text);
	return 0;
}
