/* crypto.h: hashing, MACs, randomness and encodings, all through OpenSSL. */
#ifndef VIGIL_CRYPTO_H
#define VIGIL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_SHA256_HEX 65   /* 64 hex digits + NUL */

/* SHA-256 of data into out[32]. */
void	 crypto_sha256(const void *data, size_t len, unsigned char out[32]);
/* Lowercase hex SHA-256 into out[65]. */
void	 crypto_sha256_hex(const void *data, size_t len, char out[65]);
/* HMAC-SHA256 of data under key into out[32]; 0 or -1. */
int	 crypto_hmac_sha256(const void *key, size_t keylen,
	    const void *data, size_t len, unsigned char out[32]);
/* Fill out with n bytes from the CSPRNG; 0, or -1 if it failed. */
int	 crypto_random(void *out, size_t n);
/* Constant-time comparison of two equal-length buffers; 1 if equal. */
int	 crypto_equal(const void *a, const void *b, size_t n);
/* Lowercase hex of n bytes into out (2n+1). */
void	 crypto_hex(const unsigned char *in, size_t n, char *out);
/* Standard base64 (with padding) of n bytes into out, NUL-terminated;
 * out must hold 4*((n+2)/3)+1 bytes. Returns the encoded length. */
size_t	 crypto_base64(const unsigned char *in, size_t n, char *out);
/* Decode standard base64; returns the decoded length, or -1 on bad input
 * or if it would not fit in outsz. */
long	 crypto_unbase64(const char *in, size_t n, unsigned char *out,
	    size_t outsz);
/* n random base62 characters into out (n+1 bytes, NUL-terminated),
 * without modulo bias; 0 or -1. */
int	 crypto_random_base62(char *out, size_t n);
/* Wipe memory the compiler may not optimise away. */
void	 crypto_wipe(void *, size_t);

#endif
