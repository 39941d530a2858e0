/* crypto.c: thin wrappers over OpenSSL for hashes, MACs, randomness and
 * the encodings Vigil needs; nothing here is hand-rolled cryptography. */
#include "vigil.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "crypto.h"

void
crypto_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int	 outlen = CRYPTO_SHA256_LEN;

	if (EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) != 1)
		memset(out, 0, CRYPTO_SHA256_LEN);
}

void
crypto_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char	 md[CRYPTO_SHA256_LEN];

	crypto_sha256(data, len, md);
	crypto_hex(md, sizeof(md), out);
}

int
crypto_hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char out[32])
{
	static const unsigned char	 none[1];
	unsigned int			 outlen = CRYPTO_SHA256_LEN;

	if (keylen > INT32_MAX)
		return -1;
	if (key == NULL)
		key = none;
	if (data == NULL)
		data = none;
	if (HMAC(EVP_sha256(), key, (int)keylen, data, len, out,
	    &outlen) == NULL || outlen != CRYPTO_SHA256_LEN)
		return -1;
	return 0;
}

int
crypto_random(void *out, size_t n)
{
	unsigned char	*p = out;
	size_t		 chunk;

	while (n > 0) {
		chunk = n > INT32_MAX ? INT32_MAX : n;
		if (RAND_bytes(p, (int)chunk) != 1)
			return -1;
		p += chunk;
		n -= chunk;
	}
	return 0;
}

int
crypto_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void
crypto_hex(const unsigned char *in, size_t n, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

size_t
crypto_base64(const unsigned char *in, size_t n, char *out)
{
	size_t	 done = 0, chunk, total = 0;

	/* EVP_EncodeBlock takes an int; feed it multiples of 3 bytes. */
	out[0] = '\0';
	while (done < n) {
		chunk = n - done;
		if (chunk > 3 * (INT32_MAX / 8))
			chunk = 3 * (INT32_MAX / 8);
		total += (size_t)EVP_EncodeBlock((unsigned char *)out + total,
		    in + done, (int)chunk);
		done += chunk;
	}
	out[total] = '\0';
	return total;
}

/* Value of a base64 alphabet character, or -1. */
static int
crypto_b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* EVP_DecodeBlock skips surrounding whitespace and counts '=' padding as
 * zero bytes, so the input is checked strictly here (alphabet, length,
 * padding only at the end, no stray bits) and the padding subtracted. */
long
crypto_unbase64(const char *in, size_t n, unsigned char *out, size_t outsz)
{
	const unsigned char	*s = (const unsigned char *)in;
	unsigned char		 tmp[3];
	size_t			 i, j, pad, outlen, quadlen;
	int			 last;

	if (n % 4 != 0 || n / 4 * 3 > (size_t)LONG_MAX)
		return -1;
	if (n == 0)
		return 0;
	pad = 0;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	for (i = 0; i < n - pad; i++)
		if (crypto_b64val(s[i]) == -1)
			return -1;
	last = crypto_b64val(s[n - pad - 1]);
	if ((pad == 2 && (last & 0x0f) != 0) ||
	    (pad == 1 && (last & 0x03) != 0))
		return -1;
	outlen = n / 4 * 3 - pad;
	if (outlen > outsz)
		return -1;

	for (i = 0, j = 0; i < n; i += 4) {
		if (EVP_DecodeBlock(tmp, s + i, 4) != 3)
			return -1;
		quadlen = i + 4 == n ? 3 - pad : 3;
		memcpy(out + j, tmp, quadlen);
		j += quadlen;
	}
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return (long)outlen;
}

int
crypto_random_base62(char *out, size_t n)
{
	static const char	 alpha[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char		 pool[64];
	size_t			 got = 0, i;
	int			 rc = -1;

	/* Accept bytes below 248 = 4 * 62 only, so every character is
	 * equally likely. */
	while (got < n) {
		if (crypto_random(pool, sizeof(pool)) == -1)
			goto out;
		for (i = 0; i < sizeof(pool) && got < n; i++)
			if (pool[i] < 248)
				out[got++] = alpha[pool[i] % 62];
	}
	rc = 0;
out:
	out[rc == 0 ? n : 0] = '\0';
	OPENSSL_cleanse(pool, sizeof(pool));
	return rc;
}

void
crypto_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}
