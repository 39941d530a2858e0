/* id.h: prefixed ULIDs ("key_01J…"), sortable by creation time. */
#ifndef VIGIL_ID_H
#define VIGIL_ID_H

#include <stddef.h>
#include <stdint.h>

#define ID_ULID_LEN 26

/* Encode a ULID from a millisecond timestamp and 10 random bytes into
 * out (27 bytes, NUL-terminated). Pure; used by id_new and the tests. */
void	 id_ulid_encode(uint64_t ms, const unsigned char rnd[10], char out[27]);
/* Write prefix + "_" + a fresh ULID into out; 0, or -1 if it does not fit
 * or the CSPRNG failed. */
int	 id_new(const char *prefix, char *out, size_t outsz);
/* 1 if s is prefix + "_" + 26 Crockford base32 characters, else 0. */
int	 id_valid(const char *prefix, const char *s);

#endif
