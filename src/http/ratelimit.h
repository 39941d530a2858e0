/* ratelimit.h: fixed-window rate-limit arithmetic (pure). The counter
 * itself lives in the database so that all workers and hosts share it. */
#ifndef VIGIL_RATELIMIT_H
#define VIGIL_RATELIMIT_H

#include <time.h>

#define RATELIMIT_WINDOW 60   /* seconds */

struct ratelimit {
	long	 limit;        /* X-RateLimit-Limit */
	long	 remaining;    /* X-RateLimit-Remaining, never negative */
	long	 reset;        /* X-RateLimit-Reset: epoch second the window ends */
	long	 retry_after;  /* seconds until the next window (>= 1) when denied */
	int	 allowed;      /* 0 when count exceeds limit */
};

/* Start of the window that contains now. */
long	 ratelimit_window(time_t now);
/* Decide for a request that is the count-th in the window starting at
 * window (count >= 1) under limit per window. */
void	 ratelimit_decide(long limit, long count, long window, time_t now,
	    struct ratelimit *out);

#endif
