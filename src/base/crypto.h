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
/* SHA-256 of bytes that come in pieces (a streamed body): _begin gives
 * a context (NULL if out of memory), _update adds bytes, _end_hex writes
 * the lowercase hex of all of them into out[65] (0, or -1 when OpenSSL
 * failed at any step); _free frees the context, NULL allowed. */
struct crypto_sha256_ctx;
struct crypto_sha256_ctx *crypto_sha256_begin(void);
void	 crypto_sha256_update(struct crypto_sha256_ctx *, const void *data,
	    size_t len);
int	 crypto_sha256_end_hex(struct crypto_sha256_ctx *, char out[65]);
void	 crypto_sha256_free(struct crypto_sha256_ctx *);
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
/* A key ring: the current key (k[0], which seals) and up to
 * CRYPTO_RING_MAX - 1 previous keys (which only open). A ring-sealed value
 * is "v2." + the sealing key's id + "." + what crypto_seal puts after
 * "v1.", so the right key is picked to open it; "v1." values (sealed
 * before rings, without an id) are tried with every key in the ring. */
#define CRYPTO_RING_MAX		8
#define CRYPTO_KEYID_LEN	9	/* 8 hex digits + NUL */
struct crypto_ring {
	size_t		 n;
	struct {
		unsigned char	 key[32];
		char		 id[CRYPTO_KEYID_LEN];
	}		 k[CRYPTO_RING_MAX];
};
/* The public id of key: the first 8 hex digits of a SHA-256 over a label
 * and the key (reveals nothing usable about the key). */
void	 crypto_key_id(const unsigned char key[32], char id[9]);
/* Load the current key from current and the previous keys from previous
 * (paths separated by spaces or commas; may be NULL or ""), each as
 * crypto_load_key. 0, or -1 with err set and the ring wiped. */
int	 crypto_ring_load(struct crypto_ring *, const char *current,
	    const char *previous, char *err, size_t errsz);
/* Wipe the keys of a ring. */
void	 crypto_ring_wipe(struct crypto_ring *);
/* Seal under the ring's current key, as "v2.<id>.<base64>"; caller
 * frees; NULL on failure. */
char	*crypto_ring_seal(const struct crypto_ring *, const void *pt,
	    size_t n, const char *aad);
/* Open a "v2." value with the key its id names, or a "v1." value with
 * whichever key of the ring opens it. As crypto_open; on NULL, err (may
 * be NULL) says why: a key not in the ring (naming its id), or a value
 * no key opens. */
char	*crypto_ring_open(const struct crypto_ring *, const char *sealed,
	    const char *aad, size_t *lenp, char *err, size_t errsz);
/* The key id a sealed value names into id[9]: 1 for a "v2." value, 0 for
 * a "v1." value (no id), -1 for anything else. */
int	 crypto_sealed_key_id(const char *sealed, char id[9]);
/* Wipe memory the compiler may not optimise away. */
void	 crypto_wipe(void *, size_t);

#endif
