/* api.c: what every vigil-api handler answers when the database fails.
 * It sits apart from the dispatcher so that a handler, auth.c and
 * allowlist.c can use it without calling back into dispatch.c, which
 * calls them. */
#include "vigil.h"

#include "api.h"
#include "db.h"

void
api_db_error(struct request *r, int rc)
{
	if (rc == DB_DOWN)
		response_error(r, 503, "service_unavailable",
		    "The database is unreachable; try again shortly.", NULL);
	else if (rc == DB_RETRY)
		response_error(r, 503, "service_unavailable",
		    "The database is busy; try again shortly.", NULL);
	else
		response_error(r, 500, "internal_error",
		    "An unexpected error occurred.", NULL);
}
