/* secrets.h: the sealed secrets at rest (webhook and channel secrets,
 * Azure client secrets) seen as a whole, for a key rotation: re-sealing
 * them under the current key of a ring in bounded batches, and counting
 * which key each is sealed with (vigilctl secrets). */
#ifndef VIGIL_SECRETS_H
#define VIGIL_SECRETS_H

#include <stddef.h>

#include "crypto.h"

struct db;

struct secrets_tally {
	size_t	 resealed;                 /* rotate: re-sealed now */
	size_t	 by_key[CRYPTO_RING_MAX];  /* census: sealed with ring key i */
	size_t	 unknown;     /* no key of the ring opens it (logged) */
	size_t	 left;        /* rotate: not under the current key yet */
};

/* Re-seal every sealed value that is not sealed with ring->k[0] under it,
 * batch values per transaction, stopping after max (0: all). A value
 * changed meanwhile (a webhook's secret replaced through the API) is left
 * as its writer sealed it; a value no key opens is logged, counted in
 * unknown and skipped. Safe to interrupt and to run again. 0, or a DB_*
 * code (what was committed stays). */
int	 secrets_rotate(struct db *, const struct crypto_ring *, size_t batch,
	    size_t max, struct secrets_tally *);
/* Count the sealed values by the ring key that opens them (by_key) and
 * those none opens (unknown). 0 or a DB_* code. */
int	 secrets_census(struct db *, const struct crypto_ring *,
	    struct secrets_tally *);

#endif
