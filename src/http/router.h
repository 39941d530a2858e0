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

/* Neither flag: the route takes no body, and any body is a 400. */
#define ROUTE_JSON_BODY 0x1    /* a JSON object body is required */
#define ROUTE_OPT_BODY  0x2    /* a JSON object body may be sent */
/* The handler reads the body itself, as it arrives, through req->io (an
 * upload larger than the 1 MiB dispatch would gather): dispatch checks
 * the key, the scope and the query as for any route, neither reads nor
 * caps the body, and the handler enforces its own limit. */
#define ROUTE_STREAM_BODY 0x4
/* A successful answer carries a secret shown once (a new API key, a
 * generated webhook secret): an Idempotency-Key never keeps it to replay
 * (cgi/replay.c). */
#define ROUTE_SECRET_REPLY 0x8

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_BAD_METHOD };

/* Find the route for method and path in routes[0..n). On ROUTER_FOUND the
 * captured {vars} are copied into req->pathvars (percent-decoded). On
 * ROUTER_BAD_METHOD allow receives the comma-separated methods that the
 * path does accept. Pure. */
enum router_result router_match(const struct route *routes, size_t n,
	    struct request *req, const struct route **found,
	    char *allow, size_t allowsz);

#endif
