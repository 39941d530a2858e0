/* sign.h: the two signatures every webhook delivery carries.
 * Pure: no database, no network, no clock; the only side effect in this
 * module is sign_secret_new's draw from the CSPRNG. */
#ifndef VIGIL_SIGN_H
#define VIGIL_SIGN_H

#include <stddef.h>
#include <time.h>

#define SIGN_VIGIL_LEN     65   /* 64 lowercase hex digits + NUL */
#define SIGN_SHA256_LEN    72   /* "sha256=" + 64 hex digits + NUL */
#define SIGN_STANDARD_LEN  48   /* "v1," + 44 base64 characters + NUL */
#define SIGN_SECRET_LEN    51   /* "whsec_" + 44 base64 characters + NUL */
#define SIGN_SECRET_PREFIX "whsec_"
#define SIGN_TOLERANCE     300  /* seconds either side, as upstream */

/*
 * X-Vigil-Signature: lowercase hex HMAC-SHA256 of the exact body, keyed with
 * the bytes of the secret string as given (a "whsec_" secret included,
 * prefix and all), which is what the README's Python verify_webhook computes.
 * 0, or -1 if secret is NULL or empty (out is then "").
 */
int	 sign_vigil(const char *secret, const void *body, size_t len,
	    char out[SIGN_VIGIL_LEN]);

/*
 * X-Vigil-Signature-256: "sha256=" + sign_vigil's hex, the convention of
 * GitHub's X-Hub-Signature-256 (and of incident-response platforms'
 * X-IR-Signature), so receivers written for it verify unchanged. 0, or
 * -1 as sign_vigil (out is then "").
 */
int	 sign_sha256(const char *secret, const void *body, size_t len,
	    char out[SIGN_SHA256_LEN]);

/*
 * webhook-signature (Standard Webhooks, symmetric "v1"): "v1," + base64
 * HMAC-SHA256 of "msg_id.timestamp.body". The key is the base64 decoding
 * of what follows "whsec_" in a "whsec_" secret (missing '=' padding and
 * non-zero unused bits in the last character are accepted, as by the
 * Python reference library), or the secret's own
 * bytes otherwise. 0, or -1 if the secret is empty ("" or "whsec_"), its
 * whsec_ part is not base64, msg_id is NULL or empty, or out (at least
 * SIGN_STANDARD_LEN) is too small; out is then "".
 */
int	 sign_standard(const char *secret, const char *msg_id,
	    long long timestamp, const void *body, size_t len, char *out,
	    size_t outsz);

/*
 * The Standard Webhooks verifier, for tests and receivers written in C:
 * 1 if header (the webhook-signature value: space-separated
 * "version,signature" entries) holds at least one "v1" entry equal to
 * sign_standard's under the same key rule, and timestamp (the
 * webhook-timestamp value, decimal seconds) is within SIGN_TOLERANCE of
 * now; 0 otherwise, including when any argument is missing or malformed.
 */
int	 sign_standard_verify(const char *secret, const char *msg_id,
	    const char *timestamp, const void *body, size_t len,
	    const char *header, time_t now);

/*
 * A new secret: "whsec_" + base64 of 32 random bytes, into out (at least
 * SIGN_SECRET_LEN). 0, or -1 if out is too small or the CSPRNG failed.
 */
int	 sign_secret_new(char *out, size_t outsz);

#endif
