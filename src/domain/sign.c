/* sign.c: X-Vigil-Signature and Standard Webhooks signatures for webhook
 * deliveries, and the verifier the tests hold them to. */
#include "vigil.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "sign.h"

#define SIGN_PREFIX_LEN (sizeof(SIGN_SECRET_PREFIX) - 1)

static const char sign_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
sign_vigil(const char *secret, const void *body, size_t len,
    char out[SIGN_VIGIL_LEN])
{
	unsigned char	 mac[CRYPTO_SHA256_LEN];

	out[0] = '\0';
	if (secret == NULL || *secret == '\0' || (body == NULL && len > 0))
		return -1;
	if (crypto_hmac_sha256(secret, strlen(secret), body, len, mac) == -1)
		return -1;
	crypto_hex(mac, sizeof(mac), out);
	crypto_wipe(mac, sizeof(mac));
	return 0;
}

int
sign_sha256(const char *secret, const void *body, size_t len,
    char out[SIGN_SHA256_LEN])
{
	char hex[SIGN_VIGIL_LEN];

	out[0] = '\0';
	if (sign_vigil(secret, body, len, hex) != 0)
		return -1;
	memcpy(out, "sha256=", 7);
	memcpy(out + 7, hex, SIGN_VIGIL_LEN);
	return 0;
}

/* The Standard Webhooks key for secret: a new buffer in *keyp (caller wipes
 * and frees) of *keylenp > 0 bytes. 0, or -1 if the secret is empty or its
 * whsec_ part is not base64 (missing padding is accepted, as upstream). */
static int
sign_key(const char *secret, unsigned char **keyp, size_t *keylenp)
{
	const char	*b64, *p;
	char		*padded = NULL;
	unsigned char	*key = NULL;
	size_t		 n, plen = 0, pad;
	long		 dec;
	int		 rc = -1;

	*keyp = NULL;
	*keylenp = 0;
	if (secret == NULL || *secret == '\0')
		goto out;
	if (strncmp(secret, SIGN_SECRET_PREFIX, SIGN_PREFIX_LEN) != 0) {
		/* Not a whsec_ secret: its bytes are the key. */
		n = strlen(secret);
		if ((key = malloc(n)) == NULL)
			goto out;
		memcpy(key, secret, n);
		*keyp = key;
		*keylenp = n;
		key = NULL;
		rc = 0;
		goto out;
	}
	b64 = secret + SIGN_PREFIX_LEN;
	if ((n = strlen(b64)) == 0 || n % 4 == 1)
		goto out;
	plen = (n + 3) / 4 * 4;
	if ((padded = malloc(plen)) == NULL)
		goto out;
	memcpy(padded, b64, n);
	memset(padded + n, '=', plen - n);
	/* Python's decoder, which the reference library uses, ignores the
	 * unused low bits of the last character; clear them so the strict
	 * decoder below takes what it takes. */
	for (pad = 0; pad < 2 && padded[plen - 1 - pad] == '='; pad++)
		continue;
	if (pad > 0 && (p = strchr(sign_b64, padded[plen - 1 - pad])) !=
	    NULL && *p != '\0')
		padded[plen - 1 - pad] = sign_b64[(p - sign_b64) &
		    (pad == 2 ? 0x30 : 0x3c)];
	if ((key = malloc(plen / 4 * 3)) == NULL)
		goto out;
	dec = crypto_unbase64(padded, plen, key, plen / 4 * 3);
	if (dec <= 0)
		goto out;
	*keyp = key;
	*keylenp = (size_t)dec;
	key = NULL;
	rc = 0;
out:
	if (key != NULL) {
		crypto_wipe(key, plen / 4 * 3);
		free(key);
	}
	if (padded != NULL) {
		crypto_wipe(padded, plen);
		free(padded);
	}
	return rc;
}

/* "v1," + base64 HMAC of "msg_id.timestamp.body" under key into out.
 * 0 or -1. */
static int
sign_standard_key(const unsigned char *key, size_t keylen,
    const char *msg_id, long long timestamp, const void *body, size_t len,
    char out[SIGN_STANDARD_LEN])
{
	struct buf	 content;
	unsigned char	 mac[CRYPTO_SHA256_LEN];
	int		 rc = -1;

	/* id, '.', at most 20 digits and a sign, '.', the body. */
	buf_init(&content, strlen(msg_id) + len + 32);
	if (buf_printf(&content, "%s.%lld.", msg_id, timestamp) == -1 ||
	    buf_append(&content, body, len) == -1)
		goto out;
	if (crypto_hmac_sha256(key, keylen, content.data, content.len,
	    mac) == -1)
		goto out;
	memcpy(out, "v1,", 3);
	crypto_base64(mac, sizeof(mac), out + 3);
	rc = 0;
out:
	crypto_wipe(mac, sizeof(mac));
	buf_free(&content);
	return rc;
}

int
sign_standard(const char *secret, const char *msg_id, long long timestamp,
    const void *body, size_t len, char *out, size_t outsz)
{
	unsigned char	*key = NULL;
	size_t		 keylen = 0;
	int		 rc = -1;

	if (out == NULL || outsz < SIGN_STANDARD_LEN)
		return -1;
	out[0] = '\0';
	if (msg_id == NULL || *msg_id == '\0' || (body == NULL && len > 0))
		goto out;
	if (sign_key(secret, &key, &keylen) == -1)
		goto out;
	rc = sign_standard_key(key, keylen, msg_id, timestamp, body, len,
	    out);
out:
	if (key != NULL) {
		crypto_wipe(key, keylen);
		free(key);
	}
	if (rc == -1)
		out[0] = '\0';
	return rc;
}

/* A webhook-timestamp value: decimal digits only (no sign, no spaces, as
 * the reference libraries' integer parse of a Unix time). 0 or -1. */
static int
sign_parse_ts(const char *s, long long *tsp)
{
	const char	*p;
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0')
		return -1;
	for (p = s; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*tsp = v;
	return 0;
}

int
sign_standard_verify(const char *secret, const char *msg_id,
    const char *timestamp, const void *body, size_t len, const char *header,
    time_t now)
{
	char		 want[SIGN_STANDARD_LEN];
	const char	*p, *end;
	unsigned char	*key = NULL;
	size_t		 keylen = 0, wantlen, n;
	long long	 ts;
	int		 ok = 0;

	if (msg_id == NULL || *msg_id == '\0' || header == NULL ||
	    (body == NULL && len > 0))
		goto out;
	if (sign_parse_ts(timestamp, &ts) == -1)
		goto out;
	/* Upstream: reject if now - ts > tolerance or ts > now + tolerance. */
	if ((long long)now - ts > SIGN_TOLERANCE ||
	    ts - (long long)now > SIGN_TOLERANCE)
		goto out;
	if (sign_key(secret, &key, &keylen) == -1)
		goto out;
	if (sign_standard_key(key, keylen, msg_id, ts, body, len, want) == -1)
		goto out;
	wantlen = strlen(want);
	/* Any entry may match; every entry is compared in constant time. */
	for (p = header; *p != '\0'; p = end) {
		while (*p == ' ')
			p++;
		for (end = p; *end != '\0' && *end != ' '; end++)
			continue;
		n = (size_t)(end - p);
		if (n == wantlen && crypto_equal(p, want, n))
			ok = 1;
	}
out:
	if (key != NULL) {
		crypto_wipe(key, keylen);
		free(key);
	}
	return ok;
}

int
sign_secret_new(char *out, size_t outsz)
{
	unsigned char	 raw[32];
	int		 rc = -1;

	if (out == NULL || outsz < SIGN_SECRET_LEN)
		return -1;
	out[0] = '\0';
	if (crypto_random(raw, sizeof(raw)) == -1)
		goto out;
	memcpy(out, SIGN_SECRET_PREFIX, SIGN_PREFIX_LEN);
	crypto_base64(raw, sizeof(raw), out + SIGN_PREFIX_LEN);
	rc = 0;
out:
	crypto_wipe(raw, sizeof(raw));
	return rc;
}
