/* dispatch.c: one request from parameters to response, in the order of
 * checks the README documents: route, size, auth, the IP allowlist,
 * scope, rate limit, media type, JSON, handler. */
#include "vigil.h"

#include <string.h>
#include <strings.h>

#include "api.h"
#include "buf.h"
#include "db.h"
#include "log.h"
#include "vjson.h"
#include "vtime.h"

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

/* 1 if the Content-Type names JSON (parameters such as charset allowed). */
static int
is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* Read the body, at most VIGIL_MAX_BODY bytes. 0, or 413 / 400. */
static int
read_body(struct request *r, const struct api_io *io)
{
	struct buf b;
	char chunk[16384];
	long n;

	if (r->content_length > VIGIL_MAX_BODY)
		return 413;
	buf_init(&b, VIGIL_MAX_BODY);
	for (;;) {
		n = io->read(io->ctx, chunk, sizeof(chunk));
		if (n < 0) {
			buf_free(&b);
			return 400;
		}
		if (n == 0)
			break;
		if (buf_append(&b, chunk, (size_t)n) != 0) {
			buf_free(&b);
			return 413;
		}
		if (r->content_length >= 0 &&
		    (long long)b.len >= r->content_length)
			break;
	}
	if (b.data == NULL)
		buf_append(&b, "", 0);
	r->body = buf_detach(&b, &r->body_len);
	return 0;
}

static void
handle(struct request *r, struct db *db, const struct api_io *io)
{
	const struct route *rt, *routes;
	struct vjson_err jerr;
	char allow[128];
	size_t nroutes;
	int rc;

	routes = routes_table(&nroutes);
	switch (router_match(routes, nroutes, r, &rt, allow, sizeof(allow))) {
	case ROUTER_NOT_FOUND:
		response_error(r, 404, "not_found",
		    "No such resource.", NULL);
		return;
	case ROUTER_BAD_METHOD:
		response_error(r, 405, "method_not_allowed",
		    "This method is not allowed on this resource.", NULL);
		response_header(r, "Allow", "%s", allow);
		return;
	case ROUTER_FOUND:
		break;
	}
	if ((rc = read_body(r, io)) != 0) {
		if (rc == 413)
			response_error(r, 413, "payload_too_large",
			    "The request body is larger than 1 MiB.", "body");
		else
			response_error(r, 400, "invalid_request",
			    "The request body could not be read.", "body");
		return;
	}
	if (rt->scope != SCOPE_NONE && auth_check(r, db, rt->scope) != 0)
		return;
	if ((rc = request_parse_query(r)) != 0) {
		if (rc == -2)
			response_error(r, 400, "invalid_request",
			    "A query parameter must not be repeated.",
			    r->params[r->nparams - 1].name);
		else
			response_error(r, 400, "invalid_request",
			    "The query string is malformed.", "query");
		return;
	}
	/* A route that declares no body refuses one rather than ignore it:
	 * the client meant something by it. */
	if (r->body_len > 0 &&
	    !(rt->flags & (ROUTE_JSON_BODY | ROUTE_OPT_BODY))) {
		response_error(r, 400, "invalid_request",
		    "This operation takes no request body.", "body");
		return;
	}
	if (r->body_len > 0 || (rt->flags & ROUTE_JSON_BODY)) {
		if (r->body_len > 0 && !is_json_type(r->content_type)) {
			response_error(r, 415, "unsupported_media_type",
			    "Send the body as application/json.", NULL);
			return;
		}
		if (r->body_len == 0) {
			response_error(r, 400, "invalid_request",
			    "A JSON body is required.", "body");
			return;
		}
		r->json = vjson_parse_unique(r->body, r->body_len,
		    VIGIL_MAX_JSON_DEPTH, VIGIL_MAX_BODY, &jerr);
		if (r->json == NULL) {
			response_error(r, 400, "invalid_request",
			    jerr.message, jerr.field);
			return;
		}
		if (!json_object_is_type(r->json, json_type_object)) {
			response_error(r, 400, "invalid_request",
			    "The body must be a JSON object.", "body");
			return;
		}
	}
	rt->handler(r, db);
	if (r->status == 0)
		response_error(r, 500, "internal_error",
		    "An unexpected error occurred.", NULL);
}

void
dispatch(struct db *db, char *const *envp, const struct api_io *io)
{
	struct request r;
	struct buf out;
	int rc;

	rc = request_init(&r, envp);
	if (rc != 0)
		response_error(&r, rc, rc == 500 ? "internal_error" :
		    "invalid_request", "The request line is malformed.", NULL);
	else
		handle(&r, db, io);
	buf_init(&out, r.out.len + 64 * 1024 + 4096);
	response_serialize(&r, &out);
	if (out.data != NULL)
		io->write(io->ctx, out.data, out.len);
	log_request(r.id, r.auth.tenant_name, r.method, r.path ? r.path : "-",
	    r.status, r.out.len, vtime_mono_us() - r.start_us);
	buf_free(&out);
	request_free(&r);
}
