/* ratelimit.c: fixed-window arithmetic behind the X-RateLimit headers. */
#include "vigil.h"

#include <time.h>

#include "ratelimit.h"

long
ratelimit_window(time_t now)
{
	long	 t = (long)now, r;

	/* Floor, not truncation, so a negative clock stays consistent. */
	r = t % RATELIMIT_WINDOW;
	if (r < 0)
		r += RATELIMIT_WINDOW;
	return t - r;
}

void
ratelimit_decide(long limit, long count, long window, time_t now,
    struct ratelimit *out)
{
	out->limit = limit;
	out->allowed = count <= limit;
	out->remaining = count >= limit ? 0 : limit - count;
	out->reset = window + RATELIMIT_WINDOW;
	out->retry_after = out->reset - (long)now;
	if (out->retry_after < 1)
		out->retry_after = 1;
}
