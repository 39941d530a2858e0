/* backoff.c: the webhook retry schedule and the verdict on each attempt
 * (see backoff.h for the schedule itself). */
#include "vigil.h"

#include <time.h>

#include <curl/curl.h>

#include "backoff.h"

/* Seconds to wait after the n-th failed attempt (index n - 1). */
static const long backoff_table[BACKOFF_RETRIES] = {
	30, 2 * 60, 5 * 60, 15 * 60, 30 * 60,
	3600, 2 * 3600, 4 * 3600, 8 * 3600, 8 * 3600,
};

enum backoff_verdict
backoff_classify(int http_status, enum backoff_errkind kind)
{
	switch (kind) {
	case BACKOFF_ERR_NONE:
		break;
	case BACKOFF_ERR_NETWORK:
	case BACKOFF_ERR_TIMEOUT:
		return BACKOFF_RETRY;
	case BACKOFF_ERR_REFUSED:
	case BACKOFF_ERR_REQUEST:
		return BACKOFF_FAIL;
	}
	if (http_status == 0)
		return BACKOFF_RETRY;       /* no response at all */
	if (http_status >= 200 && http_status <= 299)
		return BACKOFF_SUCCESS;
	if (http_status == 408 || http_status == 429)
		return BACKOFF_RETRY;
	if (http_status == 410)
		return BACKOFF_FAIL_DISABLE;
	if (http_status >= 500 && http_status <= 599)
		return BACKOFF_RETRY;
	/* Other 4xx, 1xx, 3xx and nonsense: the receiver will not change
	 * its mind by being asked again. */
	return BACKOFF_FAIL;
}

enum backoff_errkind
backoff_curl_kind(int curlcode)
{
	switch ((CURLcode)curlcode) {
	case CURLE_OK:
		return BACKOFF_ERR_NONE;
	case CURLE_OPERATION_TIMEDOUT:
		return BACKOFF_ERR_TIMEOUT;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_TOO_MANY_REDIRECTS:
		return BACKOFF_ERR_REQUEST;
	default:
		/* Resolve, connect, TLS, send, receive, out of memory: the
		 * next attempt may well go through. */
		return BACKOFF_ERR_NETWORK;
	}
}

long long
backoff_delay_ms(int attempt, long retry_after_secs, double rnd01,
    const struct backoff_policy *policy)
{
	static const struct backoff_policy def = BACKOFF_POLICY_DEFAULT;
	double		 base, ms, scale, jitter;
	long long	 r;
	long		 ra;

	if (policy == NULL)
		policy = &def;
	if (attempt < 1 || attempt > policy->retries)
		return -1;
	base = (double)backoff_table[attempt <= BACKOFF_RETRIES ?
	    attempt - 1 : BACKOFF_RETRIES - 1];
	/* Written so that NaN lands on the safe side of each clamp. */
	scale = policy->scale >= 0.0 ? policy->scale : 1.0;
	jitter = policy->jitter > 0.0 ? policy->jitter : 0.0;
	if (jitter > 1.0)
		jitter = 1.0;
	if (rnd01 != rnd01)
		rnd01 = 0.5;                /* NaN: no jitter */
	if (rnd01 < 0.0)
		rnd01 = 0.0;
	if (rnd01 > 1.0)
		rnd01 = 1.0;
	ms = base * 1000.0 * scale * (1.0 + jitter * (2.0 * rnd01 - 1.0));
	if (retry_after_secs > 0) {
		ra = retry_after_secs;
		if (policy->retry_after_max >= 0 && ra > policy->retry_after_max)
			ra = policy->retry_after_max;
		if ((double)ra * 1000.0 > ms)
			ms = (double)ra * 1000.0;
	}
	/* Round up (no libm), and keep a silly scale from overflowing. */
	if (ms > 1e15)
		ms = 1e15;
	r = (long long)ms;
	return (double)r < ms ? r + 1 : r;
}

