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
/* The value of one hex digit (either case), or -1 if c is not one. */
int	 crypto_hexval(unsigned char c);
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
/* AES-256-GCM for secrets at rest. Seal n bytes of pt under key into a
 * new string "v1." + base64(12-byte nonce | ciphertext | 16-byte tag),
 * authenticated together with aad (may be NULL: e.g. the owning row's id,
 * so a sealed value cannot be moved to another row). Caller frees; NULL
 * on failure. */
char	*crypto_seal(const unsigned char key[32], const void *pt, size_t n,
	    const char *aad);
/* Open what crypto_seal made: a new NUL-terminated plaintext (caller
 * wipes and frees) with its length in *lenp, or NULL if it was altered,
 * the key or aad is wrong, or the text is malformed. */
char	*crypto_open(const unsigned char key[32], const char *sealed,
	    const char *aad, size_t *lenp);
/* Read a 256-bit key from path: 32 raw bytes, or 64 hex digits, or
 * base64 of 32 bytes (trailing newline allowed). The file must not be
 * readable by others. 0, or -1 with err set. */
int	 crypto_load_key(const char *path, unsigned char key[32], char *err,
	    size_t errsz);
/* Wipe memory the compiler may not optimise away. */
void	 crypto_wipe(void *, size_t);

#endif
