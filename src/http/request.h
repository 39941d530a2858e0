/* request.h: one HTTP request as Vigil sees it, independent of FastCGI,
 * and the response being built for it. Handlers get only this. */
#ifndef VIGIL_REQUEST_H
#define VIGIL_REQUEST_H

#include <stddef.h>
#include <json-c/json.h>

#include "buf.h"
#include "vigil.h"

#define REQUEST_MAX_PARAMS   64
#define REQUEST_MAX_PATHVARS 4
#define REQUEST_MAX_PATH     2048
#define REQUEST_MAX_QUERY    8192
#define REQUEST_MAX_LINK     (REQUEST_MAX_PATH + 256)

struct body_hash;

struct param {
	char	*name;
	char	*value;
};

struct request {
	char	 id[VIGIL_ID_LEN];         /* "req_…" */
	long long start_us;
	/* from the environment (CGI/FastCGI params) */
	char	 method[16];
	char	*path;                     /* raw path, no query string,
					    * after the prefix */
	/* The raw path the server mounted vigil-api on ("" at the root,
	 * "/vigil" under a sub-path): what comes before path in the
	 * client's URL, for the links the API writes (request_link). */
	char	*prefix;
	char	*query;                    /* raw query string, may be "" */
	char	*content_type;             /* NULL if absent */
	long long content_length;          /* -1 if absent */
	char	*authorization;
	char	*x_license_key;
	char	*x_api_key;
	char	*accept;                   /* Accept, NULL if absent */
	char	*remote_addr;
	char	*x_forwarded_for;          /* believed from trusted_proxies */
	char	*idempotency_key;          /* Idempotency-Key, NULL if absent */
	/* query parameters, percent-decoded, in order */
	struct param params[REQUEST_MAX_PARAMS];
	size_t	 nparams;
	/* body as read, NUL-terminated */
	char	*body;
	size_t	 body_len;
	json_object *json;                 /* parsed body, or NULL */
	/* For a ROUTE_STREAM_BODY route and a handler that streams its
	 * answer: how the request's body is read and its answer written
	 * (cgi/api.h's struct api_io), else NULL. */
	const void *io;
	/* A ROUTE_STREAM_BODY body as api_body_read has given it: how many
	 * bytes, 1 once its end was seen; and the hash those bytes feed
	 * when its Idempotency-Key is to cover them (cgi/replay.c; a form's
	 * by its parts, bodyhash.h), else NULL. request_free frees it. */
	long long body_seen;
	int	 body_end;
	struct body_hash *body_hash;
	/* The handler wrote the answer itself (api_send_head): dispatch
	 * writes nothing more; sent_bytes is its body's length. */
	int	 sent;
	long long sent_bytes;
	/* routing */
	char	*pathvars[REQUEST_MAX_PATHVARS];
	size_t	 npathvars;
	unsigned route_class;              /* SCOPE_READ or SCOPE_WRITE for rate limits */
	struct auth auth;                  /* key_id[0] == 0 when unauthenticated */
	/* the key's first 12 characters once it is known (the access log;
	 * what key lists show, never more of the key); "" until then */
	char	 key_prefix[16];
	/* rate-limit state for the X-RateLimit-* headers, kept apart from
	 * headers so that an error reply does not drop it */
	int	 rl_set;
	long	 rl_limit, rl_remaining, rl_reset;
	/* the response */
	int	 status;
	struct buf headers;                /* "Name: value\r\n" lines */
	struct buf out;                    /* body */
};

/* Initialise from a NULL-terminated "NAME=value" environment (FastCGI
 * params or CGI environ). Copies what it keeps. Returns 0, or an HTTP
 * status (400, 414, 431) when the request line itself is unacceptable;
 * in that case the request is still usable for an error reply. */
int	 request_init(struct request *, char *const *envp);
/* Parse the query string into params[]; 0, or -1 on bad percent-encoding,
 * invalid UTF-8, NUL bytes or too many parameters, or -2 when a name
 * (decoded) appears twice: the repeated one is params[nparams - 1].name. */
int	 request_parse_query(struct request *);
/* Percent-decode s[0..len) into a new string the caller frees ('+' means
 * space when plus is set); NULL on bad escapes, NUL, or invalid UTF-8. */
char	*request_decode(const char *s, size_t len, int plus);
/* The value of a query parameter, or NULL. */
const char *request_param(const struct request *, const char *name);
/* Release everything the request owns. */
void	 request_free(struct request *);

/* Response building. */
void	 response_header(struct request *, const char *name, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
/* Reply with a JSON body (takes the reference to obj). */
void	 response_json(struct request *, int status, json_object *obj);
/* Reply with the API's error shape (README, API conventions). field, if not NULL, goes into
 * details.field. */
void	 response_error(struct request *, int status, const char *code,
	    const char *message, const char *field);
/* Reply with raw bytes of the given content type. */
void	 response_raw(struct request *, int status, const char *ctype,
	    const char *data, size_t len);
/* The full CGI response (Status line, headers incl. security headers and
 * X-Request-Id, blank line, body) into out. */
int	 response_serialize(const struct request *, struct buf *out);
/* Only the status line and headers of that response, announcing a body
 * of body_len bytes, or of a length not known yet when body_len is -1
 * (for a handler that then writes the body itself). */
int	 response_serialize_head(const struct request *, long long body_len,
	    struct buf *out);

#endif
