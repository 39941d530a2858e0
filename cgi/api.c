/* api.c: what every vigil-api handler answers when the database fails.
 * It sits apart from the dispatcher so that a handler, auth.c and
 * allowlist.c can use it without calling back into dispatch.c, which
 * calls them. */
#include "vigil.h"

#include "api.h"
#include "db.h"
#include "metrics.h"

void
api_db_error(struct request *r, int rc)
{
	/* Both pass within seconds (a reconnect through the proxy, a
	 * node that finishes joining, a lock released): say when to come
	 * back, as every 503 of Vigil's does. */
	metrics_db_error(rc == DB_DOWN ? METRICS_DB_UNAVAILABLE :
	    rc == DB_RETRY ? METRICS_DB_BUSY : METRICS_DB_OTHER);
	if (rc == DB_DOWN) {
		response_error(r, 503, "service_unavailable",
		    "The database is unreachable or cannot take requests "
		    "now; try again shortly.", NULL);
		response_header(r, "Retry-After", "1");
	} else if (rc == DB_RETRY) {
		response_error(r, 503, "service_unavailable",
		    "The database is busy; try again shortly.", NULL);
		response_header(r, "Retry-After", "1");
	} else
		response_error(r, 500, "internal_error",
		    "An unexpected error occurred.", NULL);
}
