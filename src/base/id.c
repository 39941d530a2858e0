/* id.c: prefixed ULIDs, 48 bits of milliseconds then 80 random bits in
 * Crockford base32, so ids sort by creation time. */
#include "vigil.h"

#include <pthread.h>
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

/*
 * The random bits of ids come from crypto_random a block at a time: under
 * OpenSSL 3 one RAND_bytes call, whatever its size, costs some 5 us of
 * locks, lookups and a getpid (its fork check), and every API request
 * draws an id (its request id). The block is the thread's own; a forked
 * child starts with none (pthread_atfork), so that no two processes hand
 * out the same bits. Bytes are wiped as they are taken. Should the
 * handler not register, every id draws from crypto_random itself.
 */
#define ID_POOL	1000	/* 100 ids a draw */

static _Thread_local unsigned char id_pool[ID_POOL];
static _Thread_local size_t id_pool_left;
static pthread_once_t id_once = PTHREAD_ONCE_INIT;
static int id_pool_safe;

static void
id_pool_forked(void)
{
	crypto_wipe(id_pool, sizeof(id_pool));
	id_pool_left = 0;
}

static void
id_pool_init(void)
{
	id_pool_safe = pthread_atfork(NULL, NULL, id_pool_forked) == 0;
}

/* n (at most ID_POOL) random bytes into out: 0 or -1. */
static int
id_random(unsigned char *out, size_t n)
{
	unsigned char *p;

	if (pthread_once(&id_once, id_pool_init) != 0 || !id_pool_safe ||
	    n > sizeof(id_pool))
		return crypto_random(out, n);
	if (id_pool_left < n) {
		if (crypto_random(id_pool, sizeof(id_pool)) == -1) {
			id_pool_forked();
			return -1;
		}
		id_pool_left = sizeof(id_pool);
	}
	p = id_pool + sizeof(id_pool) - id_pool_left;
	memcpy(out, p, n);
	crypto_wipe(p, n);
	id_pool_left -= n;
	return 0;
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
	if (id_random(rnd, sizeof(rnd)) == -1)
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
