/* reply.h: validate-or-reply helpers for the handlers of vigil-api.
 * Each reads one thing from the request and either stores it and
 * returns 0 (or 1), or writes the 400 invalid_request reply itself
 * (message and details.field as the API has always worded them) and
 * returns -1, so that a handler reads as a straight line:
 *
 *	static const char *const known[] = { "since", "limit", "cursor",
 *	    NULL };
 *	time_t since;
 *
 *	if (reply_unknown_params(r, known) != 0 ||
 *	    reply_since(r, "since", &since) < 0 ||
 *	    params_limit(r, &limit) != 0)
 *		return;
 *
 * The list parameters (limit, cursors) and the page builders are in
 * api.h (params.c) and src/domain/page.h; a database error is api_db_error. */
#ifndef VIGIL_REPLY_H
#define VIGIL_REPLY_H

#include <time.h>

struct request;

/* 400 invalid_request with message msg and details.field field (NULL:
 * none). For a vjson_err: reply_bad(r, e.field, e.message). */
void	 reply_bad(struct request *, const char *field, const char *msg);

/* The query parameters a route takes, known[] NULL-terminated (known
 * NULL: it takes none). 0 if every parameter given is known, else -1
 * after 400 "Unknown query parameter." naming the first one that is
 * not. */
int	 reply_unknown_params(struct request *, const char *const *known);

/* An RFC 3339 timestamp s, the value of field (NULL: absent): 1 with *out
 * set, 0 if absent (*out = 0), or -1 after 400 "<field> must be an RFC
 * 3339 timestamp.". For body fields too. */
int	 reply_time(struct request *, const char *field, const char *s,
	    time_t *out);
/* reply_time on the query parameter name (a list's "since"). */
int	 reply_since(struct request *, const char *name, time_t *out);

/* 200 {<key>: id, deleted: true, deleted_at: when}: what every DELETE of
 * one resource answers. */
void	 reply_deleted(struct request *, const char *key, const char *id,
	    time_t when);

#endif
