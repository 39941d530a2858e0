/* backoff.h: when to try a failed webhook delivery again, and whether to.
 * Pure: the clock and the randomness are arguments.
 *
 * The schedule (issue 5). A delivery is attempted at once, then
 * retried after each failure that is worth retrying, waiting
 *
 *   retry    1     2      3      4       5       6    7    8    9    10
 *   delay   30 s  2 min  5 min  15 min  30 min  1 h  2 h  4 h  8 h  8 h
 *   total   30 s  2.5 m  7.5 m  22.5 m  52.5 m  1h53 3h53 7h53 15h53 23h53
 *
 * so 11 attempts over about 24 hours; after the 11th fails the delivery is
 * dead (dead-lettered, retryable by API). Each delay is spread by up to
 * ±20 % (jitter) so that deliveries that failed together do not return
 * together. A Retry-After header (on 429 or 503) replaces the computed
 * delay when it is longer, capped at 1 hour and not jittered. The policy
 * compresses the schedule for tests (scale) without changing its shape.
 */
#ifndef VIGIL_BACKOFF_H
#define VIGIL_BACKOFF_H

#include <time.h>

#define BACKOFF_DEAD          ((time_t)-1)
#define BACKOFF_RETRIES       10       /* retries after the first attempt */
#define BACKOFF_JITTER        0.2      /* ±20 % */
#define BACKOFF_RETRY_AFTER_MAX 3600   /* seconds */

struct backoff_policy {
	int	 retries;          /* retries before dead; past the table,
				    * the last delay (8 h) repeats */
	double	 scale;            /* every computed delay times this; 1.0
				    * in production, e.g. 0.001 in tests */
	double	 jitter;           /* fraction, 0.2 = ±20 % */
	long	 retry_after_max;  /* cap on Retry-After, seconds (not
				    * scaled: it is the receiver's number) */
};

#define BACKOFF_POLICY_DEFAULT \
	{ BACKOFF_RETRIES, 1.0, BACKOFF_JITTER, BACKOFF_RETRY_AFTER_MAX }

/* What a finished attempt means for the delivery (and its webhook). */
enum backoff_verdict {
	BACKOFF_SUCCESS,        /* 2xx */
	BACKOFF_RETRY,          /* network error, timeout, 408, 429, 5xx */
	BACKOFF_FAIL,           /* other 4xx, 1xx, 3xx (redirects are not
				 * followed), refused target, bad request */
	BACKOFF_FAIL_DISABLE,   /* 410 Gone: fail and disable the webhook */
};

/* Why an attempt got no HTTP status. The spooler maps its CURLcode with
 * backoff_curl_kind, and says BACKOFF_ERR_REFUSED itself when its
 * open-socket callback refused the address (libcurl reports that as a
 * plain connect failure). */
enum backoff_errkind {
	BACKOFF_ERR_NONE,       /* a response came: look at the status */
	BACKOFF_ERR_NETWORK,    /* resolve, connect, TLS, send, receive */
	BACKOFF_ERR_TIMEOUT,    /* connect or total timeout */
	BACKOFF_ERR_REFUSED,    /* netguard refused the address at connect
				 * time (private target, DNS rebinding) */
	BACKOFF_ERR_REQUEST,    /* the request itself cannot work (bad URL,
				 * unsupported scheme): retrying is futile */
};

/* The verdict for an attempt that ended with HTTP status http_status (0 if
 * none came) or with error kind. An error kind wins over the status. */
enum backoff_verdict backoff_classify(int http_status,
	    enum backoff_errkind kind);

/* The error kind of a libcurl result code (a CURLcode); BACKOFF_ERR_NONE
 * for CURLE_OK. Unknown codes are network errors, so they are retried. */
enum backoff_errkind backoff_curl_kind(int curlcode);

/* The wait in milliseconds before the next try, after attempt attempts
 * (>= 1) have failed; -1 when no retry is left (dead). retry_after_secs is
 * the receiver's Retry-After in seconds, 0 or negative if none; rnd01 a
 * uniform number in [0, 1] for the jitter (0.5: none). policy NULL means
 * BACKOFF_POLICY_DEFAULT. */
long long backoff_delay_ms(int attempt, long retry_after_secs, double rnd01,
	    const struct backoff_policy *policy);

#endif
