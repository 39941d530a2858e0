/* replay.c: the Idempotency-Key of every POST, once for all handlers.
 * dispatch claims the key before the handler runs and keeps the answer
 * after it; the rows are idempotency.c's. Which answers are kept: every
 * one the handler gave below 500 except 429 (a retry of those should
 * run again); an answer over REPLAY_BODY_MAX (an audit export) is not
 * kept either and the key is released, so its retry runs again; and a
 * successful answer of a ROUTE_SECRET_REPLY route is recorded without
 * its body (a secret shown once is not kept in the database), so that
 * its retry is told it was done rather than given the secret again or
 * run twice. */
#include "vigil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "idempotency.h"
#include "log.h"

#define REPLAY_BODY_MAX (1024 * 1024)

static void
conflict(struct request *r, const char *msg)
{
	response_error(r, 409, "conflict", msg, "Idempotency-Key");
}

int
replay_begin(struct request *r, struct db *db, struct replay *rp)
{
	struct idempotency_stored *st = &rp->claim;
	char msg[256], len[48];
	int rc;

	memset(rp, 0, sizeof(*rp));
	/* Keys are a tenant's: an open route has none to keep them under. */
	if (strcmp(r->method, "POST") != 0 || r->idempotency_key == NULL ||
	    r->auth.tenant_id[0] == '\0')
		return 0;
	if (!idempotency_key_valid(r->idempotency_key)) {
		response_error(r, 400, "invalid_request", "Idempotency-Key "
		    "must be 1 to 255 printable ASCII characters without "
		    "spaces.", "Idempotency-Key");
		return -1;
	}
	rp->req.tenant_id = r->auth.tenant_id;
	rp->req.key = r->idempotency_key;
	rp->req.key_id = r->auth.key_id;
	idempotency_target_hash(r->method, r->path, r->query,
	    rp->req.target_hash);
	if (r->body == NULL && r->content_length > 0) {
		/* A body its handler streams (an upload) has not been read
		 * here: the key covers its length, not its bytes. */
		snprintf(len, sizeof(len), "streamed %lld", r->content_length);
		idempotency_body_hash(len, strlen(len), rp->req.body_hash);
	} else
		idempotency_body_hash(r->body, r->body_len,
		    rp->req.body_hash);
	switch (idempotency_begin(db, &rp->req, time(NULL), st, &rc)) {
	case IDEMPOTENCY_PROCEED:
		rp->active = 1;
		return 0;
	case IDEMPOTENCY_REPLAY:
		if (st->withheld) {
			snprintf(msg, sizeof(msg), "The request with this "
			    "Idempotency-Key was already done (status %d); "
			    "its answer held a secret shown only once, so it "
			    "is not replayed.", st->status);
			conflict(r, msg);
			break;
		}
		r->status = st->status;
		buf_reset(&r->headers);
		buf_reset(&r->out);
		if (buf_append(&r->headers, st->headers ? st->headers : "",
		    st->headers_len) != 0 ||
		    buf_append(&r->out, st->body ? st->body : "",
		    st->body_len) != 0) {
			response_error(r, 500, "internal_error",
			    "An unexpected error occurred.", NULL);
			break;
		}
		response_header(r, "Idempotent-Replayed", "true");
		break;
	case IDEMPOTENCY_IN_PROGRESS:
		conflict(r, "The first request with this Idempotency-Key is "
		    "still being processed; retry later.");
		response_header(r, "Retry-After", "1");
		break;
	case IDEMPOTENCY_OTHER_KEY:
		conflict(r, "This Idempotency-Key was already used by another "
		    "API key; use a new key.");
		break;
	case IDEMPOTENCY_OTHER_TARGET:
		conflict(r, "This Idempotency-Key was already used for another "
		    "operation (method or path); use a new key.");
		break;
	case IDEMPOTENCY_OTHER_BODY:
		conflict(r, "This Idempotency-Key was already used with a "
		    "different request body; send the same body, or use a new "
		    "key.");
		break;
	case IDEMPOTENCY_DB_ERROR:
		api_db_error(r, rc);
		break;
	}
	idempotency_stored_free(st);
	return -1;
}

void
replay_end(struct request *r, struct db *db, const struct route *rt,
    struct replay *rp)
{
	int rc, withheld;

	if (!rp->active)
		return;
	withheld = (rt->flags & ROUTE_SECRET_REPLY) && r->status >= 200 &&
	    r->status < 300;
	if (r->status >= 500 || r->status == 429 ||
	    (!withheld && r->out.len > REPLAY_BODY_MAX))
		rc = idempotency_release(db, &rp->req, &rp->claim);
	else
		rc = idempotency_finish(db, &rp->req, &rp->claim, r->status,
		    r->headers.data, r->headers.len, r->out.data, r->out.len,
		    withheld);
	if (rc != 0)
		log_warn("request %s: its Idempotency-Key could not be %s "
		    "(database error %d)", r->id, r->status >= 500 ?
		    "released" : "stored", rc);
	idempotency_stored_free(&rp->claim);
	rp->active = 0;
}
