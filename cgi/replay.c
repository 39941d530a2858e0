/* replay.c: the Idempotency-Key of every POST, once for all handlers.
 * dispatch claims the key before the handler runs and keeps the answer
 * after it; the rows are idempotency.c's. Which answers are kept: every
 * one the handler gave below 500 except 429 (a retry of those should
 * run again); an answer over REPLAY_BODY_MAX (an audit export) is not
 * kept either and the key is released, so its retry runs again; and a
 * successful answer of a ROUTE_SECRET_REPLY route is recorded without
 * its body (a secret shown once is not kept in the database), so that
 * its retry is told it was done rather than given the secret again or
 * run twice.
 *
 * A body its handler streams (ROUTE_STREAM_BODY: an import's report, an
 * attachment's upload) is not read before the handler runs: the claim
 * holds its length's hash (what a retry meanwhile is compared with; a
 * form's length says nothing, so every retry of a form meanwhile is
 * told to wait), the bytes feed a SHA-256 as the handler reads them
 * (api_body_read; a multipart/form-data body's is of its parts, not its
 * boundary, bodyhash.h), and the answer is stored with that hash and the
 * bytes' count. A retry once it is answered has its body read and hashed
 * here before it is given the answer (or 409); it writes nothing. A form
 * that is malformed or cut short has no hash: its answer is not kept. */
#include "vigil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bodyhash.h"
#include "conf.h"
#include "crypto.h"
#include "idempotency.h"
#include "log.h"

#define REPLAY_BODY_MAX (1024 * 1024)
/* One read of a streamed body here; as the handlers do, each this many
 * bytes received give the client request_timeout_ms again. */
#define REPLAY_READ     (64 * 1024)
/* What the worker reads after the handler of a streamed body to hash
 * the rest (a multipart epilogue, or a body refused before its end):
 * more than this left, and the answer is not kept. */
#define REPLAY_REST_MAX (1024 * 1024)

#define OTHER_BODY "This Idempotency-Key was already used with a " \
	"different request body; send the same body, or use a new key."

static void
conflict(struct request *r, const char *msg)
{
	response_error(r, 409, "conflict", msg, "Idempotency-Key");
}

/*
 * A retry of a streamed request already answered: read its body (within
 * the request's time and the first body's length) and hash it. 1 if it
 * is the body st was the answer to, 0 if not, -1 after answering (the
 * body late or unreadable, 429, 500).
 */
static int
same_stream(struct request *r, const struct idempotency_stored *st)
{
	char buf[REPLAY_READ], hex[CRYPTO_SHA256_HEX];
	long long fresh = 0, most;
	long got;
	int form, rc;

	if ((r->body_hash = body_hash_begin(r->content_type)) == NULL) {
		response_error(r, 500, "internal_error",
		    "An unexpected error occurred.", NULL);
		return -1;
	}
	/* A form's framing may differ in length (another boundary): its
	 * parts are what is compared, read to their end. Other bytes: one
	 * past the first body's length is enough to tell. */
	form = body_hash_is_form(r->body_hash);
	most = form ? st->stream_len + REPLAY_REST_MAX : st->stream_len;
	if (r->content_length >= 0 && (form ?
	    r->content_length > most : r->content_length != st->stream_len))
		return 0;
	while (r->body_seen <= most) {
		if ((got = api_body_read(r, buf, sizeof(buf))) < 0) {
			api_body_end(r);
			return -1;
		}
		if (got == 0)
			break;
		if ((fresh += got) >= REPLAY_READ) {
			fresh = 0;
			deadline_start(g_conf.request_timeout_ms);
		}
	}
	api_body_end(r);
	if (form ? r->body_seen > most : r->body_seen != st->stream_len)
		return 0;
	if ((rc = body_hash_end_hex(r->body_hash, hex)) < 0) {
		response_error(r, 500, "internal_error",
		    "An unexpected error occurred.", NULL);
		return -1;
	}
	return rc == 0 && strcmp(hex, st->stream_hash) == 0;
}

int
replay_begin(struct request *r, struct db *db, const struct route *rt,
    struct replay *rp)
{
	struct idempotency_stored *st = &rp->claim;
	enum idempotency_outcome oc;
	char msg[256];
	int rc, form = 0;

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
	if (rt->flags & ROUTE_STREAM_BODY) {
		/* Not read yet: its length (a form: none) until it is
		 * answered. */
		rp->req.streamed = 1;
		if ((r->body_hash = body_hash_begin(r->content_type)) == NULL) {
			response_error(r, 500, "internal_error",
			    "An unexpected error occurred.", NULL);
			return -1;
		}
		form = body_hash_is_form(r->body_hash);
		idempotency_stream_hash(form ? -1 : r->content_length,
		    rp->req.body_hash);
	} else
		idempotency_body_hash(r->body, r->body_len,
		    rp->req.body_hash);
	oc = idempotency_begin(db, &rp->req, time(NULL), st, &rc);
	/* A form's claim made by an earlier version held its announced
	 * length's hash (as did its answer before migration 0061): such a
	 * record is asked for by that length (a claim still running is
	 * waited for or taken over, an old answer replayed by length). */
	if (oc == IDEMPOTENCY_OTHER_BODY && form && r->content_length >= 0) {
		idempotency_stored_free(st);
		idempotency_stream_hash(r->content_length, rp->req.body_hash);
		oc = idempotency_begin(db, &rp->req, time(NULL), st, &rc);
	}
	switch (oc) {
	case IDEMPOTENCY_PROCEED:
		rp->active = 1;
		return 0;
	case IDEMPOTENCY_REPLAY:
		/* The hash begun above was for the handler's reads. */
		body_hash_free(r->body_hash);
		r->body_hash = NULL;
		if (st->stream_len >= 0 && (rc = same_stream(r, st)) != 1) {
			if (rc == 0)
				conflict(r, OTHER_BODY);
			break;
		}
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
		conflict(r, OTHER_BODY);
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
	char hex[CRYPTO_SHA256_HEX];
	const char *stream_hash = NULL;
	int rc, withheld, keep, whole;

	if (!rp->active)
		return;
	withheld = (rt->flags & ROUTE_SECRET_REPLY) && r->status >= 200 &&
	    r->status < 300;
	keep = r->status < 500 && r->status != 429 &&
	    (withheld || r->out.len <= REPLAY_BODY_MAX);
	/* A streamed body's answer is kept for its bytes: what the handler
	 * left unread (an epilogue, or all of a body it refused early) is
	 * read and hashed now, and if too much is left, it has not arrived,
	 * or it ended short of its announced length (cut off), the key is
	 * released and a retry runs again. A form whose closing delimiter
	 * was read is whole whatever follows it (framing, not hashed): its
	 * answer is kept even if the rest, the CRLF after that delimiter
	 * say, is late. */
	if (keep && rp->req.streamed) {
		whole = api_body_rest(r, REPLAY_REST_MAX) &&
		    (r->content_length < 0 ||
		    r->body_seen == r->content_length);
		if ((whole || body_hash_is_form(r->body_hash)) &&
		    body_hash_end_hex(r->body_hash, hex) == 0)
			stream_hash = hex;
		else
			keep = 0;
	}
	if (!keep)
		rc = idempotency_release(db, &rp->req, &rp->claim);
	else
		rc = idempotency_finish(db, &rp->req, &rp->claim, r->status,
		    r->headers.data, r->headers.len, r->out.data, r->out.len,
		    withheld, stream_hash, r->body_seen);
	if (rc != 0)
		log_warn("request %s: its Idempotency-Key could not be %s "
		    "(database error %d)", r->id, keep ? "stored" :
		    "released", rc);
	idempotency_stored_free(&rp->claim);
	rp->active = 0;
}
