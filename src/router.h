/* router.h: a table of routes matched against method and path. */
#ifndef VIGIL_ROUTER_H
#define VIGIL_ROUTER_H

#include "request.h"

struct db;
typedef void (*route_handler)(struct request *, struct db *);

struct route {
	const char	*method;      /* "GET", "POST", ... */
	const char	*pattern;     /* "/api/v1/api-keys/{id}" */
	unsigned	 scope;       /* SCOPE_NONE for unauthenticated */
	unsigned	 flags;       /* ROUTE_* */
	route_handler	 handler;
};

#define ROUTE_JSON_BODY 0x1    /* the body must be JSON (415 otherwise) */

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_BAD_METHOD };

/* Find the route for method and path in routes[0..n). On ROUTER_FOUND the
 * captured {vars} are copied into req->pathvars (percent-decoded). On
 * ROUTER_BAD_METHOD allow receives the comma-separated methods that the
 * path does accept. Pure. */
enum router_result router_match(const struct route *routes, size_t n,
	    struct request *req, const struct route **found,
	    char *allow, size_t allowsz);

#endif
