/* dispatch.c: one request from parameters to response, in the order of
 * checks the README documents: route, declared size, auth, the IP
 * allowlist, scope, rate limit (all from the headers; the schema's
 * check, schemagate.c, before them), then the body
 * (its deadline, size and the tenant's share of waiting workers), media
 * type, JSON, the Idempotency-Key of a POST (replay.c), handler. */
#include "vigil.h"

#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <arpa/inet.h>

#include "api.h"
#include "bodyhash.h"
#include "buf.h"
#include "cidr.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "vjson.h"
#include "vtime.h"

/* 1 if the Content-Type names JSON (parameters such as charset allowed). */
static int
is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/*
 * Read the body, at most VIGIL_MAX_BODY bytes, once the request is
 * authenticated: 0, or -1 after answering (413, 400 when it could not be
 * read or did not arrive within request_timeout_ms, 429 when the tenant
 * already has its share of workers waiting on bodies). A worker counts as
 * waiting only once a read would wait for bytes not yet sent: a body that
 * is all there (nginx and mod_fcgid send it whole) never counts.
 */
static int
read_body(struct request *r, const struct api_io *io)
{
	struct buf b;
	char chunk[16384];
	size_t want;
	long n;
	int ret = -1;

	buf_init(&b, VIGIL_MAX_BODY);
	for (;;) {
		if (r->content_length >= 0 &&
		    (long long)b.len >= r->content_length)
			break;
		if (io->starved != NULL && io->starved(io->ctx) &&
		    auth_wait_begin(r) != 0)
			goto out;
		/* No more than announced: a read waits for all it asks. */
		want = sizeof(chunk);
		if (r->content_length >= 0 &&
		    r->content_length - (long long)b.len < (long long)want)
			want = (size_t)(r->content_length - (long long)b.len);
		n = io->read(io->ctx, chunk, want);
		if (n == API_IO_TIMEOUT) {
			log_warn("request %s: the body did not arrive within "
			    "request_timeout_ms (%d)", r->id,
			    g_conf.request_timeout_ms);
			response_error(r, 400, "invalid_request", "The request "
			    "body did not arrive in time (request_timeout_ms).",
			    "body");
			goto out;
		}
		if (n < 0) {
			response_error(r, 400, "invalid_request",
			    "The request body could not be read.", "body");
			goto out;
		}
		if (n == 0)
			break;
		if (buf_append(&b, chunk, (size_t)n) != 0) {
			response_error(r, 413, "payload_too_large",
			    "The request body is larger than 1 MiB.", "body");
			goto out;
		}
	}
	if (b.data == NULL)
		buf_append(&b, "", 0);
	r->body = buf_detach(&b, &r->body_len);
	ret = 0;
out:
	auth_wait_end();
	buf_free(&b);
	return ret;
}

/* Count got bytes of a streamed body (0: its end) and feed them to the
 * hash its Idempotency-Key asked for, if any. */
static void
body_seen(struct request *r, const char *buf, long got)
{
	if (got > 0 && r->body_hash != NULL)
		body_hash_update(r->body_hash, buf, (size_t)got);
	r->body_seen += got;
	if (got == 0 || (r->content_length >= 0 &&
	    r->body_seen >= r->content_length))
		r->body_end = 1;
}

/* No more than announced: a read waits for all it asks (CGI). */
static size_t
body_want(const struct request *r, size_t n)
{
	if (r->content_length >= 0 &&
	    r->content_length - r->body_seen < (long long)n)
		return (size_t)(r->content_length - r->body_seen);
	return n;
}

long
api_body_read(struct request *r, char *buf, size_t n)
{
	const struct api_io *io = r->io;
	long got;

	if (io->starved != NULL && io->starved(io->ctx) &&
	    auth_wait_begin(r) != 0)
		return -1;
	got = io->read(io->ctx, buf, n);
	if (got == API_IO_TIMEOUT) {
		log_warn("request %s: the body did not arrive within "
		    "request_timeout_ms (%d)", r->id, g_conf.request_timeout_ms);
		response_error(r, 400, "invalid_request", "The request body did "
		    "not arrive in time (request_timeout_ms).", "body");
		return -1;
	}
	if (got < 0) {
		response_error(r, 400, "invalid_request",
		    "The request body could not be read.", "body");
		return -1;
	}
	body_seen(r, buf, got);
	return got;
}

int
api_body_rest(struct request *r, long long max)
{
	const struct api_io *io = r->io;
	char buf[16384];
	long long from = r->body_seen;
	long got;

	while (!r->body_end) {
		if (r->body_seen - from > max ||
		    (io->starved != NULL && io->starved(io->ctx)))
			return 0;
		if ((got = io->read(io->ctx, buf, body_want(r,
		    sizeof(buf)))) < 0)
			return 0;
		body_seen(r, buf, got);
	}
	return 1;
}

void
api_body_end(struct request *r)
{
	(void)r;
	auth_wait_end();
}

int
api_send_head(struct request *r, long long body_len)
{
	const struct api_io *io = r->io;
	struct buf out;
	int rc;

	buf_init(&out, r->headers.len + 4096);
	response_serialize_head(r, body_len, &out);
	r->sent = 1;
	rc = out.data != NULL ? io->write(io->ctx, out.data, out.len) : -1;
	buf_free(&out);
	return rc;
}

int
api_send(struct request *r, const char *data, size_t n)
{
	const struct api_io *io = r->io;

	if (io->write(io->ctx, data, n) != 0)
		return -1;
	r->sent_bytes += (long long)n;
	return 0;
}

void
api_pause(struct request *r)
{
	const struct api_io *io = r->io;

	if (io->pause != NULL)
		io->pause(io->ctx);
}

/* *route is set to the index of the route matched in the table, or -1. */
static void
handle(struct request *r, struct db *db, const struct api_io *io,
    int *route)
{
	const struct route *rt, *routes;
	struct replay rp;
	struct vjson_err jerr;
	char allow[128];
	size_t nroutes;
	int rc;

	routes = routes_table(&nroutes);
	*route = -1;
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
		*route = (int)(rt - routes);
		break;
	}
	if (r->content_length > VIGIL_MAX_BODY &&
	    !(rt->flags & ROUTE_STREAM_BODY)) {
		response_error(r, 413, "payload_too_large",
		    "The request body is larger than 1 MiB.", "body");
		return;
	}
	/* A database whose schema is behind this binary (vigilctl migrate
	 * not yet run) answers 503 schema_outdated to everything that needs
	 * a key, authentication's own statement included; the open routes
	 * (health, metrics, the OpenAPI document) say it or need none. */
	if (rt->scope != SCOPE_NONE && schemagate_pass(r, db) != 0)
		return;
	/* From the headers alone: no body is read for (or waited on by) a
	 * client that has no usable key. */
	if (rt->scope != SCOPE_NONE && auth_check(r, db, rt->scope) != 0)
		return;
	/* A route that declares no body refuses one rather than ignore it
	 * (the client meant something by it) -- from the headers when they
	 * announce one, so that nobody, with a key or without, makes a worker
	 * wait for a body it would refuse; an open route that takes none
	 * (health, the OpenAPI document) never reads one at all. */
	if (!(rt->flags & (ROUTE_JSON_BODY | ROUTE_OPT_BODY |
	    ROUTE_STREAM_BODY)) && r->content_length > 0) {
		response_error(r, 400, "invalid_request",
		    "This operation takes no request body.", "body");
		return;
	}
	/* A streaming route's handler reads the body itself, through
	 * api_body_read, once it has checked what it needs to first. */
	r->io = io;
	if (!(rt->flags & ROUTE_STREAM_BODY) && (rt->scope != SCOPE_NONE ||
	    (rt->flags & (ROUTE_JSON_BODY | ROUTE_OPT_BODY))) &&
	    read_body(r, io) != 0)
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
	/* The same for a body that came without a Content-Length. */
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
	/* Last of the checks: a request refused above never ran, so its
	 * key is neither claimed nor kept. */
	if (replay_begin(r, db, rt, &rp) != 0)
		return;
	rt->handler(r, db);
	if (r->sent)
		return;
	if (r->status == 0)
		response_error(r, 500, "internal_error",
		    "An unexpected error occurred.", NULL);
	replay_end(r, db, rt, &rp);
}

#ifdef VIGIL_DEBUG
/* Debug builds only: X-Vigil-Debug-Conflicts: N has each of this
 * request's transactions refused at commit N times, as Galera refuses one
 * that lost certification (db_debug_conflicts), so that a test can make
 * any route replay its transactions. -1 when absent. */
static int
debug_conflicts(char *const *envp)
{
	static const char h[] = "HTTP_X_VIGIL_DEBUG_CONFLICTS=";
	size_t i;
	long n;
	char *end;

	for (i = 0; envp != NULL && envp[i] != NULL; i++) {
		if (strncmp(envp[i], h, sizeof(h) - 1) != 0)
			continue;
		n = strtol(envp[i] + sizeof(h) - 1, &end, 10);
		return *end == '\0' && n >= 0 && n <= 100 ? (int)n : -1;
	}
	return -1;
}
#endif

/* The client's address for the access log: as the IP allowlist reads it
 * (X-Forwarded-For behind trusted_proxies), else REMOTE_ADDR as sent. */
static const char *
client_addr(const struct request *r, char *out, size_t outsz)
{
	struct cidr c;

	if (allowlist_client(r, &c) && inet_ntop(c.family, c.addr, out,
	    (socklen_t)outsz) != NULL)
		return out;
	return r->remote_addr;
}

void
dispatch(struct db *db, char *const *envp, const struct api_io *io)
{
	struct request r;
	struct buf out;
	char addr[INET6_ADDRSTRLEN];
	long long us;
	int rc, route = -1;
#ifdef VIGIL_DEBUG
	int dc = debug_conflicts(envp);

	if (dc >= 0)
		db_debug_conflicts(db, dc);
#endif

	rc = request_init(&r, envp);
	if (rc != 0)
		response_error(&r, rc, rc == 500 ? "internal_error" :
		    "invalid_request", "The request line is malformed.", NULL);
	else
		handle(&r, db, io, &route);
#ifdef VIGIL_DEBUG
	if (dc >= 0)
		db_debug_conflicts(db, -1);
#endif
	buf_init(&out, r.out.len + 64 * 1024 + 4096);
	if (!r.sent) {
		response_serialize(&r, &out);
		if (out.data != NULL)
			io->write(io->ctx, out.data, out.len);
	}
	us = vtime_mono_us() - r.start_us;
	metrics_request(route, strcmp(r.method, "HEAD") == 0, r.method,
	    r.status, us);
	log_request(r.id, client_addr(&r, addr, sizeof(addr)), r.key_prefix,
	    r.auth.tenant_name, r.method, r.path ? r.path : "-", r.status,
	    r.sent ? (size_t)r.sent_bytes : r.out.len, us);
	buf_free(&out);
	request_free(&r);
}
