/* id.c: prefixed ULIDs, 48 bits of milliseconds then 80 random bits in
 * Crockford base32, so ids sort by creation time. */
#include "vigil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "id.h"

static const char id_alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
id_ulid_encode(uint64_t ms, const unsigned char rnd[10], char out[27])
{
	uint64_t	 hi, lo;
	int		 i;

	/* Time: 10 characters, 50 bits of which the top 2 are zero. */
	for (i = 9; i >= 0; i--) {
		out[i] = id_alpha[ms & 0x1f];
		ms >>= 5;
	}
	/* Randomness: 80 bits as two 40-bit halves, 8 characters each. */
	hi = lo = 0;
	for (i = 0; i < 5; i++) {
		hi = (hi << 8) | rnd[i];
		lo = (lo << 8) | rnd[i + 5];
	}
	for (i = 7; i >= 0; i--) {
		out[10 + i] = id_alpha[hi & 0x1f];
		out[18 + i] = id_alpha[lo & 0x1f];
		hi >>= 5;
		lo >>= 5;
	}
	out[ID_ULID_LEN] = '\0';
}

int
id_new(const char *prefix, char *out, size_t outsz)
{
	struct timespec	 ts;
	unsigned char	 rnd[10];
	char		 ulid[ID_ULID_LEN + 1];
	uint64_t	 ms;
	int		 n, rc = -1;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		goto out;
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (crypto_random(rnd, sizeof(rnd)) == -1)
		goto out;
	id_ulid_encode(ms & 0xffffffffffffULL, rnd, ulid);
	n = snprintf(out, outsz, "%s_%s", prefix, ulid);
	if (n < 0 || (size_t)n >= outsz)
		goto out;
	rc = 0;
out:
	if (rc == -1 && outsz > 0)
		out[0] = '\0';
	crypto_wipe(rnd, sizeof(rnd));
	return rc;
}

int
id_valid(const char *prefix, const char *s)
{
	size_t	 plen, i;

	if (prefix == NULL || s == NULL)
		return 0;
	plen = strlen(prefix);
	if (strncmp(s, prefix, plen) != 0 || s[plen] != '_')
		return 0;
	s += plen + 1;
	if (strlen(s) != ID_ULID_LEN)
		return 0;
	/* The first character carries only 3 bits of a 48-bit time. */
	if (s[0] > '7')
		return 0;
	for (i = 0; i < ID_ULID_LEN; i++)
		if (s[i] == '\0' || strchr(id_alpha, s[i]) == NULL)
			return 0;
	return 1;
}
