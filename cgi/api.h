/* api.h: the pieces of vigil-api shared between its files. */
#ifndef VIGIL_API_H
#define VIGIL_API_H

#include <stddef.h>

#include "db.h"
#include "router.h"

struct db;

/* How dispatch reads the body and writes the response. */
struct api_io {
	/* Read up to n bytes; bytes read, 0 at the end, -1 on error,
	 * API_IO_TIMEOUT when request_timeout_ms ran out. */
	long	 (*read)(void *ctx, char *buf, size_t n);
	/* Write all n bytes; 0 or -1. */
	int	 (*write)(void *ctx, const char *buf, size_t n);
	/* 1 if the next read would wait for bytes the client has not sent
	 * yet (none arrive within a short grace); NULL: never asked. */
	int	 (*starved)(void *ctx);
	void	*ctx;
	/* Between the writes of an answer written in parts: stop its
	 * deadline's timer until the next write (the handler is about to
	 * ask the database), which goes on with what is left; NULL: no
	 * timer. */
	void	 (*pause)(void *ctx);
};
#define API_IO_TIMEOUT (-2)

/*
 * The client's time limit (deadline.c). deadline_init installs the
 * SIGALRM handler (0 or -1). deadline_start gives a request ms of waiting
 * on its client; deadline_run spends it until deadline_stop, and when it
 * runs out shuts *fd down with how (SHUT_RD, SHUT_RDWR, or DEADLINE_NULL:
 * /dev/null put in its place, for a pipe) and sets *listen_fd, if not
 * NULL, to -1. Never leave it running across a database call.
 */
#define DEADLINE_NULL (-1)
int	 deadline_init(void);
void	 deadline_start(long ms);
void	 deadline_run(int *fd, int how, int *listen_fd);
void	 deadline_stop(void);
int	 deadline_expired(void);

/* Serve one request described by a "NAME=value" environment. */
void	 dispatch(struct db *, char *const *envp, const struct api_io *);

/* For the handler of a ROUTE_STREAM_BODY route (dispatch.c): read up to
 * n bytes of the body as they arrive, as dispatch reads a body (the
 * request's time budget, the tenant's share of workers waiting on
 * bodies). Bytes read, 0 at the end, or -1 after answering (400 late or
 * unreadable, 429). Call api_body_end once done reading. */
long	 api_body_read(struct request *, char *buf, size_t n);
void	 api_body_end(struct request *);
/* After the handler (replay.c): read what it left of its streamed body,
 * into r->body_hash, as long as the client has sent it already and it is
 * at most max bytes more. 1 once the body's end was seen, else 0 (more
 * left, or a read failed); answers nothing. */
int	 api_body_rest(struct request *, long long max);
/* For a handler that writes a long answer itself (dispatch.c): the
 * status line and headers, as response_serialize makes them (r->status
 * and r->headers), announcing body_len bytes; then api_send the body in
 * parts, api_pause before each database call between them. 0 or -1 (the
 * client is gone: stop). After api_send_head dispatch writes nothing. */
int	 api_send_head(struct request *, long long body_len);
int	 api_send(struct request *, const char *data, size_t n);
void	 api_pause(struct request *);

/* Authenticate, rate-limit and scope-check req for a route needing scope.
 * Returns 0 to go on, or -1 after writing the error reply. */
int	 auth_check(struct request *, struct db *, unsigned scope);
/* Extract the key from the three accepted headers; NULL if none. */
const char *auth_key_from(const struct request *);
/* "key:<id>" for the audit trail. */
void	 auth_actor(const struct request *, char *out, size_t outsz);
struct ratetable;
/* Count in the pool's shared table t from now on (NULL: in the database,
 * one statement per request). */
void	 auth_use_ratetable(struct ratetable *t);
/* This worker's slot in the pool (0..workers-1) and how many workers one
 * tenant may have waiting on request bodies at once. */
void	 auth_use_wait_slot(int slot, int cap);
/* After revoking a key, or changing a tenant's limits: its next request
 * on this host asks the database first. */
void	 auth_forget_key(const char *key_id);
void	 auth_forget_tenant(const char *tenant_id);
/* Before waiting for the body of an authenticated request: 0 to go on
 * (the worker counts as waiting for its tenant until auth_wait_end), or
 * -1 after answering 429 because the tenant already has half the pool's
 * workers waiting on bodies. Always 0 without a pool. */
int	 auth_wait_begin(struct request *);
void	 auth_wait_end(void);

struct cidr;
/* The tenant's IP allowlist (allowlist.c) for a request whose key (by its
 * hash) is known: 0 to go on, or -1 after the reply: 403 ip_not_allowed,
 * 401 if the key is no longer usable, or a database error. */
int	 allowlist_check(struct request *, struct db *, const char *key_hash);
/* The request's client address (REMOTE_ADDR, or X-Forwarded-For behind
 * trusted_proxies); 1 with *out set, 0 if there is none. */
int	 allowlist_client(const struct request *, struct cidr *out);
/* After PUT /settings: the tenant's next request reads the list again. */
void	 allowlist_forget(const char *tenant_id);

/* The pre-fork pool (pool.c): runs until SIGTERM; exit status. */
int	 pool_run(const char *listen, int workers, const char *pidfile,
	    const char *conffile);
/* Serve FastCGI requests on an already listening fd until told to stop
 * or max_requests have been served, counting rate limits in the pool's
 * table rt (NULL: in the database), as worker number slot, which lets one
 * tenant have at most wait_cap workers waiting on request bodies. */
void	 worker_loop(int listen_fd, int max_requests, struct ratetable *rt,
	    int slot, int wait_cap);
/* Before worker_loop, in a process mod_fcgid spawned: it ends each
 * answer in one write, and serves only while it holds one of the
 * workers places (vigil.conf) of the gate all processes spawned with
 * the vigil.conf at conf_path share (first come, first served). */
void	 worker_fcgid_mode(const char *conf_path);

/* The database's schema against this binary's (schemagate.c). */
struct migrate_schema;
/* How often a process that found the schema behind reads it again. */
#define SCHEMAGATE_RECHECK_S	5
/* When a process starts (a pool's worker, a mod_fcgid process, a CGI
 * request): read the schema, and log it if it is behind or ahead. */
void	 schemagate_start(struct db *);
/* Before a route that needs a key: 0 to go on, or -1 after answering 503
 * (schema_outdated, with Retry-After; or service_unavailable when the
 * database could not be asked). No statement while the schema read on
 * this connection was as it should be (or ahead). */
int	 schemagate_pass(struct request *, struct db *);
/* Read the schema now (GET /healthz, /metrics), for the process too: 0
 * with *out set (out may be NULL), or a DB_* code. */
int	 schemagate_read(struct db *, struct migrate_schema *out);

/* Idempotency-Key (replay.c), around the handler of every POST. */
#include "idempotency.h"
struct replay {
	int			 active;   /* a claim to finish */
	struct idempotency_req	 req;
	struct idempotency_stored claim;
};
/* Before the handler of rt: 0 to run it (rp->active when the request's
 * key is now claimed), or -1 after answering (the stored answer, 400,
 * 409, or a database error). Without a key, or on another method: 0. A
 * retry of a streamed body's request has its body read here. */
int	 replay_begin(struct request *, struct db *, const struct route *rt,
	    struct replay *rp);
/* After the handler: keep the answer for the key, or give the key up
 * (5xx, 429, too large, a streamed body not all read). Logs what it
 * cannot store. */
void	 replay_end(struct request *, struct db *, const struct route *,
	    struct replay *rp);

/* Route tables: one per resource file. */
extern const struct route health_routes[];
extern const size_t health_nroutes;
extern const struct route metrics_routes[];
extern const size_t metrics_nroutes;
extern const struct route openapi_routes[];
extern const size_t openapi_nroutes;
extern const struct route apikeys_routes[];
extern const size_t apikeys_nroutes;
extern const struct route findings_routes[];
extern const size_t findings_nroutes;
extern const struct route settings_routes[];
extern const size_t settings_nroutes;
extern const struct route posture_routes[];
extern const size_t posture_nroutes;
extern const struct route compliance_routes[];
extern const size_t compliance_nroutes;
extern const struct route auditapi_routes[];
extern const size_t auditapi_nroutes;
extern const struct route integrations_routes[];
extern const size_t integrations_nroutes;
extern const struct route scans_routes[];
extern const size_t scans_nroutes;
extern const struct route rules_routes[];
extern const size_t rules_nroutes;
extern const struct route webhooks_routes[];
extern const size_t webhooks_nroutes;
/* GET .../{id}/deliveries once the webhook or channel pathvars[0] is
 * known to exist: its deliveries page (webhooks.c, for channels.c too). */
void	 webhooks_deliveries_reply(struct request *, struct db *);
extern const struct route channels_routes[];
extern const size_t channels_nroutes;
extern const struct route alerts_routes[];
extern const size_t alerts_nroutes;
extern const struct route attachments_routes[];
extern const size_t attachments_nroutes;
extern const struct route observables_routes[];
extern const size_t observables_nroutes;
extern const struct route imports_routes[];
extern const size_t imports_nroutes;
extern const struct route mutes_routes[];
extern const size_t mutes_nroutes;
extern const struct route cases_routes[];
extern const size_t cases_nroutes;
extern const struct route sla_routes[];
extern const size_t sla_nroutes;
extern const struct route reports_routes[];
extern const size_t reports_nroutes;

/* The assembled table (routes.c). */
const struct route *routes_table(size_t *n);

/* List parameters (params.c): limit (1..500, default 100) and a keyset
 * cursor "s<seq>" (absent: *before is past every seq). Each returns 0, or
 * -1 after answering 400 with details.field. The page they ask for is
 * written by src/domain/page.h; the other 400s every handler shares are in
 * reply.h. */
#define PARAMS_LIMIT_DEFAULT 100
#define PARAMS_LIMIT_MAX     500
int	 params_limit(struct request *, long *out);
int	 params_seq_cursor(struct request *, long long *before);
/* Only limit and cursor among the query parameters (any other is 400),
 * and the limit: 0, or -1 after the reply. */
int	 params_list(struct request *, long *limit);
/* params_list, and the cursor (NULL if absent) if valid(cursor) says
 * it can be one, else -1 after 400 "cursor is not valid.". */
int	 params_list_cursor(struct request *, long *limit,
	    int (*valid)(const char *), const char **cursor);

/* Reply 500 or 503 for a DB_* error code (api.c). */
void	 api_db_error(struct request *, int rc);

#endif
