/* crypto.c: thin wrappers over OpenSSL for hashes, MACs, randomness and
 * the encodings Vigil needs; nothing here is hand-rolled cryptography. */
#include "vigil.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "crypto.h"

/* SHA-256 fetched once per process: with EVP_sha256() OpenSSL 3 looks
 * the implementation up again on every digest (a lock and a hash table;
 * every authenticated request hashes its key). Kept for the process's
 * life; EVP_sha256() if the fetch fails. */
static const EVP_MD *
sha256_md(void)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	static EVP_MD *md;

	if (md == NULL)
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (md != NULL)
		return md;
#endif
	return EVP_sha256();
}

void
crypto_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int	 outlen = CRYPTO_SHA256_LEN;

	if (EVP_Digest(data, len, out, &outlen, sha256_md(), NULL) != 1)
		memset(out, 0, CRYPTO_SHA256_LEN);
}

void
crypto_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char	 md[CRYPTO_SHA256_LEN];

	crypto_sha256(data, len, md);
	crypto_hex(md, sizeof(md), out);
}

struct crypto_sha256_ctx {
	EVP_MD_CTX	*md;
	int		 failed;   /* an update failed: _end_hex says so */
};

struct crypto_sha256_ctx *
crypto_sha256_begin(void)
{
	struct crypto_sha256_ctx *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(c->md, sha256_md(), NULL) != 1) {
		crypto_sha256_free(c);
		return NULL;
	}
	return c;
}

void
crypto_sha256_update(struct crypto_sha256_ctx *c, const void *data,
    size_t len)
{
	if (len > 0 && EVP_DigestUpdate(c->md, data, len) != 1)
		c->failed = 1;
}

int
crypto_sha256_end_hex(struct crypto_sha256_ctx *c, char out[65])
{
	unsigned char	 md[CRYPTO_SHA256_LEN];
	unsigned int	 len = 0;

	if (c->failed || EVP_DigestFinal_ex(c->md, md, &len) != 1 ||
	    len != CRYPTO_SHA256_LEN) {
		c->failed = 1;
		return -1;
	}
	crypto_hex(md, sizeof(md), out);
	return 0;
}

void
crypto_sha256_free(struct crypto_sha256_ctx *c)
{
	if (c == NULL)
		return;
	EVP_MD_CTX_free(c->md);
	free(c);
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

/* --- sealing secrets at rest (AES-256-GCM) ------------------------------- */

#define CRYPTO_SEAL_PREFIX	"v1."
#define CRYPTO_SEAL_NONCE	12
#define CRYPTO_SEAL_TAG		16
/* Secrets are short; refuse absurd inputs before any arithmetic. */
#define CRYPTO_SEAL_MAX		(16 * 1024 * 1024)

/* Returns a new "v1.<base64>" string the caller frees, or NULL. */
char *
crypto_seal(const unsigned char key[32], const void *pt, size_t n,
    const char *aad)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	unsigned char	*raw = NULL;
	char		*out = NULL, *ret = NULL;
	size_t		 rawlen, plen = sizeof(CRYPTO_SEAL_PREFIX) - 1;
	int		 len, fin;

	if (key == NULL || (pt == NULL && n > 0) || n > CRYPTO_SEAL_MAX)
		goto out;
	rawlen = CRYPTO_SEAL_NONCE + n + CRYPTO_SEAL_TAG;
	if ((raw = malloc(rawlen)) == NULL ||
	    (out = malloc(plen + 4 * ((rawlen + 2) / 3) + 1)) == NULL)
		goto out;
	if (crypto_random(raw, CRYPTO_SEAL_NONCE) == -1)
		goto out;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
	    CRYPTO_SEAL_NONCE, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, key, raw) != 1)
		goto out;
	if (aad != NULL && *aad != '\0' && EVP_EncryptUpdate(ctx, NULL, &len,
	    (const unsigned char *)aad, (int)strlen(aad)) != 1)
		goto out;
	len = 0;
	if (n > 0 && EVP_EncryptUpdate(ctx, raw + CRYPTO_SEAL_NONCE, &len,
	    pt, (int)n) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(ctx, raw + CRYPTO_SEAL_NONCE + len, &fin) != 1 ||
	    (size_t)len + (size_t)fin != n)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_SEAL_TAG,
	    raw + CRYPTO_SEAL_NONCE + n) != 1)
		goto out;
	memcpy(out, CRYPTO_SEAL_PREFIX, plen);
	crypto_base64(raw, rawlen, out + plen);
	ret = out;
	out = NULL;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (raw != NULL) {
		crypto_wipe(raw, CRYPTO_SEAL_NONCE + n + CRYPTO_SEAL_TAG);
		free(raw);
	}
	free(out);
	return ret;
}

/* Returns a new NUL-terminated plaintext the caller wipes and frees, or
 * NULL if sealed is malformed or fails authentication. */
char *
crypto_open(const unsigned char key[32], const char *sealed, const char *aad,
    size_t *lenp)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	unsigned char	*raw = NULL;
	char		*pt = NULL, *ret = NULL;
	const char	*b64;
	size_t		 b64len, rawcap, n = 0, plen = sizeof(CRYPTO_SEAL_PREFIX) - 1;
	long		 rawlen = 0;
	int		 len, fin;

	if (lenp != NULL)
		*lenp = 0;
	if (key == NULL || sealed == NULL ||
	    strncmp(sealed, CRYPTO_SEAL_PREFIX, plen) != 0)
		goto out;
	b64 = sealed + plen;
	b64len = strlen(b64);
	if (b64len > 4 * ((CRYPTO_SEAL_MAX + CRYPTO_SEAL_NONCE +
	    CRYPTO_SEAL_TAG + 2) / 3))
		goto out;
	rawcap = b64len / 4 * 3;
	if ((raw = malloc(rawcap + 1)) == NULL)
		goto out;
	rawlen = crypto_unbase64(b64, b64len, raw, rawcap);
	if (rawlen < CRYPTO_SEAL_NONCE + CRYPTO_SEAL_TAG)
		goto out;
	n = (size_t)rawlen - CRYPTO_SEAL_NONCE - CRYPTO_SEAL_TAG;
	if ((pt = malloc(n + 1)) == NULL)
		goto out;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
	    CRYPTO_SEAL_NONCE, NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, key, raw) != 1)
		goto out;
	if (aad != NULL && *aad != '\0' && EVP_DecryptUpdate(ctx, NULL, &len,
	    (const unsigned char *)aad, (int)strlen(aad)) != 1)
		goto out;
	len = 0;
	if (n > 0 && EVP_DecryptUpdate(ctx, (unsigned char *)pt, &len,
	    raw + CRYPTO_SEAL_NONCE, (int)n) != 1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_SEAL_TAG,
	    raw + CRYPTO_SEAL_NONCE + n) != 1)
		goto out;
	/* Only here is the tag checked; nothing decrypted leaves before. */
	if (EVP_DecryptFinal_ex(ctx, (unsigned char *)pt + len, &fin) != 1 ||
	    (size_t)len + (size_t)fin != n)
		goto out;
	pt[n] = '\0';
	if (lenp != NULL)
		*lenp = n;
	ret = pt;
	pt = NULL;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (pt != NULL) {
		crypto_wipe(pt, n + 1);
		free(pt);
	}
	if (raw != NULL) {
		crypto_wipe(raw, rawlen > 0 ? (size_t)rawlen : 0);
		free(raw);
	}
	return ret;
}

int
crypto_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Fills key[32] from path; 0, or -1 with err set (never the key itself). */
int
crypto_load_key(const char *path, unsigned char key[32], char *err,
    size_t errsz)
{
	unsigned char	 text[128];
	struct stat	 st;
	ssize_t		 r;
	size_t		 n = 0, i;
	int		 fd = -1, rc = -1, hi, lo;

	if (path == NULL || *path == '\0') {
		snprintf(err, errsz, "no key file configured");
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errsz, "%s: key file is accessible by group or "
		    "others (mode %03o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 0777));
		goto out;
	}
	/* Read one byte more than any valid form to spot longer files. */
	while (n < sizeof(text)) {
		r = read(fd, text + n, sizeof(text) - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == 32) {
		memcpy(key, text, 32);
		rc = 0;
		goto out;
	}
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	if (n == 64) {
		for (i = 0; i < 32; i++) {
			hi = crypto_hexval(text[2 * i]);
			lo = crypto_hexval(text[2 * i + 1]);
			if (hi == -1 || lo == -1)
				break;
			key[i] = (unsigned char)(hi << 4 | lo);
		}
		if (i == 32)
			rc = 0;
	} else if (n == 44 && crypto_unbase64((const char *)text, n, key,
	    32) == 32)
		rc = 0;
	if (rc == -1) {
		crypto_wipe(key, 32);
		snprintf(err, errsz, "%s: not a 256-bit key (want 32 raw "
		    "bytes, 64 hex digits or base64 of 32 bytes)", path);
	}
out:
	crypto_wipe(text, sizeof(text));
	if (fd != -1)
		close(fd);
	return rc;
}

/* --- key rings: rotation of the key that seals ------------------------- */

#define CRYPTO_RING_PREFIX	"v2."

void
crypto_key_id(const unsigned char key[32], char id[9])
{
	static const char	 label[] = "vigil secret key id\n";
	unsigned char		 buf[sizeof(label) - 1 + 32];
	unsigned char		 md[CRYPTO_SHA256_LEN];

	memcpy(buf, label, sizeof(label) - 1);
	memcpy(buf + sizeof(label) - 1, key, 32);
	crypto_sha256(buf, sizeof(buf), md);
	crypto_hex(md, 4, id);
	crypto_wipe(buf, sizeof(buf));
}

void
crypto_ring_wipe(struct crypto_ring *r)
{
	crypto_wipe(r, sizeof(*r));
}

/* Adds the key in path to r; 0, or -1 with err set. */
static int
crypto_ring_add(struct crypto_ring *r, const char *path, char *err,
    size_t errsz)
{
	size_t	 i;

	if (r->n == CRYPTO_RING_MAX) {
		snprintf(err, errsz, "more than %d keys in the ring",
		    CRYPTO_RING_MAX);
		return -1;
	}
	if (crypto_load_key(path, r->k[r->n].key, err, errsz) != 0)
		return -1;
	crypto_key_id(r->k[r->n].key, r->k[r->n].id);
	/* The same key twice (a copy under another name) is harmless:
	 * kept once. */
	for (i = 0; i < r->n; i++)
		if (crypto_equal(r->k[i].key, r->k[r->n].key, 32)) {
			crypto_wipe(&r->k[r->n], sizeof(r->k[r->n]));
			return 0;
		}
	r->n++;
	return 0;
}

int
crypto_ring_load(struct crypto_ring *r, const char *current,
    const char *previous, char *err, size_t errsz)
{
	char		 path[1024];
	const char	*p = previous, *e;
	size_t		 len;

	memset(r, 0, sizeof(*r));
	if (crypto_ring_add(r, current, err, errsz) != 0)
		goto fail;
	while (p != NULL && *p != '\0') {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		len = strcspn(p, " \t,");
		e = p + len;
		if (len >= sizeof(path)) {
			snprintf(err, errsz, "previous_key_files: a path is "
			    "too long");
			goto fail;
		}
		memcpy(path, p, len);
		path[len] = '\0';
		if (crypto_ring_add(r, path, err, errsz) != 0)
			goto fail;
		p = e;
	}
	return 0;
fail:
	crypto_ring_wipe(r);
	return -1;
}

char *
crypto_ring_seal(const struct crypto_ring *r, const void *pt, size_t n,
    const char *aad)
{
	char	*v1, *out;
	size_t	 len;

	if (r == NULL || r->n == 0 ||
	    (v1 = crypto_seal(r->k[0].key, pt, n, aad)) == NULL)
		return NULL;
	/* "v1.B64" -> "v2.ID.B64" */
	len = strlen(v1) - (sizeof(CRYPTO_SEAL_PREFIX) - 1);
	if ((out = malloc(sizeof(CRYPTO_RING_PREFIX) - 1 + 9 + len + 1)) !=
	    NULL)
		snprintf(out, sizeof(CRYPTO_RING_PREFIX) - 1 + 9 + len + 1,
		    "%s%s.%s", CRYPTO_RING_PREFIX, r->k[0].id,
		    v1 + sizeof(CRYPTO_SEAL_PREFIX) - 1);
	free(v1);
	return out;
}

int
crypto_sealed_key_id(const char *sealed, char id[9])
{
	size_t	 i, plen = sizeof(CRYPTO_RING_PREFIX) - 1;

	id[0] = '\0';
	if (sealed == NULL)
		return -1;
	if (strncmp(sealed, CRYPTO_SEAL_PREFIX, plen) == 0)
		return 0;
	if (strncmp(sealed, CRYPTO_RING_PREFIX, plen) != 0)
		return -1;
	for (i = 0; i < 8; i++)
		if (sealed[plen + i] == '\0' ||
		    crypto_hexval((unsigned char)sealed[plen + i]) == -1)
			return -1;
	if (sealed[plen + 8] != '.')
		return -1;
	memcpy(id, sealed + plen, 8);
	id[8] = '\0';
	return 1;
}

char *
crypto_ring_open(const struct crypto_ring *r, const char *sealed,
    const char *aad, size_t *lenp, char *err, size_t errsz)
{
	char	 id[CRYPTO_KEYID_LEN], *v1 = NULL, *pt = NULL;
	size_t	 i, len;
	int	 kind;

	if (lenp != NULL)
		*lenp = 0;
	if (err != NULL && errsz > 0)
		err[0] = '\0';
	if (r == NULL || (kind = crypto_sealed_key_id(sealed, id)) == -1) {
		if (err != NULL)
			snprintf(err, errsz, "not a sealed value");
		return NULL;
	}
	if (kind == 0) {
		for (i = 0; i < r->n && pt == NULL; i++)
			pt = crypto_open(r->k[i].key, sealed, aad, lenp);
		if (pt == NULL && err != NULL)
			snprintf(err, errsz, "sealed before key ids, and no "
			    "key in the ring opens it");
		return pt;
	}
	for (i = 0; i < r->n; i++)
		if (strcmp(r->k[i].id, id) == 0)
			break;
	if (i == r->n) {
		if (err != NULL)
			snprintf(err, errsz, "sealed with key %s, which is "
			    "neither secret_key_file nor in "
			    "previous_key_files", id);
		return NULL;
	}
	/* Rebuild the "v1." form crypto_open reads. */
	len = strlen(sealed) - (sizeof(CRYPTO_RING_PREFIX) - 1) - 9;
	if ((v1 = malloc(sizeof(CRYPTO_SEAL_PREFIX) - 1 + len + 1)) == NULL)
		return NULL;
	memcpy(v1, CRYPTO_SEAL_PREFIX, sizeof(CRYPTO_SEAL_PREFIX) - 1);
	memcpy(v1 + sizeof(CRYPTO_SEAL_PREFIX) - 1,
	    sealed + sizeof(CRYPTO_RING_PREFIX) - 1 + 9, len + 1);
	pt = crypto_open(r->k[i].key, v1, aad, lenp);
	free(v1);
	if (pt == NULL && err != NULL)
		snprintf(err, errsz, "key %s does not open it (altered, or "
		    "moved to another row)", id);
	return pt;
}
