/*
 * attachments.c: /api/v1/cases/{id}/attachments: upload (multipart/form-
 * data, streamed: the body is read here, in pieces, after the key, scope
 * and case have been checked, through the multipart reader into
 * attachments_write, so at most one piece and one chunk are in memory),
 * list, download (streamed chunk by chunk) and delete. The rows, the
 * transaction, the timeline and the audit entries are src/domain's
 * attachments.c.
 */
#include "vigil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "attachments.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "multipart.h"
#include "reply.h"
#include "vtime.h"

/* What a body may hold beyond the file: the multipart framing (a
 * boundary, the part's headers, a preamble). A Content-Length past the
 * limit by more than this is refused before a byte is read. */
#define ATTACHMENTS_FRAMING (64 * 1024)
/* One read of the body. */
#define ATTACHMENTS_READ    (64 * 1024)

/* An upload in progress: the reader's state and the first refusal. */
struct upload {
	struct request			*r;
	struct db			*db;
	struct multipart		 mp;
	struct attachments_upload	*up;
	char				 actor[128];
	int				 parts;
	int				 done;
	/* the refusal, when status is set */
	int				 status;
	const char			*code, *msg, *field;
	int				 dbrc;
};

static int
refuse(struct upload *u, int status, const char *code, const char *msg,
    const char *field)
{
	u->status = status;
	u->code = code;
	u->msg = msg;
	u->field = field;
	return 1;
}

static int
refuse_db(struct upload *u, int rc)
{
	u->status = -1;
	u->dbrc = rc;
	return 1;
}

static const char *
name_problem(enum attachments_name_err e)
{
	switch (e) {
	case ATTACHMENTS_NAME_EMPTY:
		return "The file name is empty (or \".\" or \"..\").";
	case ATTACHMENTS_NAME_UTF8:
		return "The file name is not valid UTF-8.";
	case ATTACHMENTS_NAME_CONTROL:
		return "The file name holds a control character.";
	case ATTACHMENTS_NAME_LONG:
		return "The file name is longer than 255 bytes.";
	default:
		return "The file name is not acceptable.";
	}
}

/* The multipart reader's events. Exactly one part, named "file", with a
 * filename: anything else is refused (as a JSON body's unknown field
 * would be) before a row is written. */
static int
on_event(void *arg, enum multipart_event ev, const char *data, size_t len)
{
	struct upload *u = arg;
	const struct multipart_part *pt = &u->mp.part;
	char name[ATTACHMENTS_NAME_MAX + 1], ctype[ATTACHMENTS_TYPE_MAX + 1];
	enum attachments_name_err ne;
	enum attachments_outcome oc;
	int rc;

	switch (ev) {
	case MULTIPART_PART:
		if (u->parts++ > 0)
			return refuse(u, 400, "invalid_request", "Send one "
			    "part only: the file.", "file");
		if (strcmp(pt->name, "file") != 0 || !pt->has_filename)
			return refuse(u, 400, "invalid_request", "The body "
			    "must be one part named \"file\", with a filename.",
			    "file");
		if ((ne = attachments_name(pt->filename, pt->filename_len,
		    name, sizeof(name))) != ATTACHMENTS_NAME_OK)
			return refuse(u, 400, "invalid_request",
			    name_problem(ne), "filename");
		if (attachments_type(pt->ctype, ctype, sizeof(ctype)) != 0)
			return refuse(u, 400, "invalid_request", "The file "
			    "part's Content-Type is not a media type.",
			    "content_type");
		oc = attachments_begin(u->db, u->r->auth.tenant_id,
		    u->r->pathvars[0], name, ctype, u->actor,
		    g_conf.attachment_max_bytes, time(NULL), &u->up, &rc);
		if (oc != ATTACHMENTS_OK)
			return refuse_db(u, rc);
		return 0;
	case MULTIPART_DATA:
		oc = attachments_write(u->up, data, len, &rc);
		if (oc == ATTACHMENTS_TOO_LARGE)
			return refuse(u, 413, "payload_too_large", "The file is "
			    "larger than this server accepts "
			    "(attachment_max_bytes).", "file");
		if (oc != ATTACHMENTS_OK)
			return refuse_db(u, rc);
		return 0;
	case MULTIPART_PART_END:
		return 0;
	case MULTIPART_DONE:
		u->done = 1;
		return 0;
	}
	return 0;
}

static void
reply_upload_error(struct request *r, struct upload *u, int rc)
{
	if (u->status == -1)
		api_db_error(r, u->dbrc);
	else if (u->status != 0)
		response_error(r, u->status, u->code, u->msg, u->field);
	else if (rc == MULTIPART_ERR_HEADER)
		response_error(r, 400, "invalid_request", "A part's headers are "
		    "malformed.", "body");
	else if (rc == MULTIPART_ERR_TRUNCATED)
		response_error(r, 400, "invalid_request", "The body ended "
		    "before its closing boundary (cut off?).", "body");
	else
		response_error(r, 400, "invalid_request", "The multipart body "
		    "is malformed.", "body");
}

static void
attachments_post(struct request *r, struct db *db)
{
	struct upload u;
	struct attachment *a = NULL;
	enum attachments_outcome oc;
	char boundary[MULTIPART_BOUNDARY_MAX + 1], buf[ATTACHMENTS_READ];
	long long fresh = 0;
	long got;
	int rc, reading = 0;

	memset(&u, 0, sizeof(u));
	u.r = r;
	u.db = db;
	if (reply_unknown_params(r, NULL) != 0)
		return;
	/* Before anything is read: a declared length the file cannot fit. */
	if (r->content_length > (long long)g_conf.attachment_max_bytes +
	    ATTACHMENTS_FRAMING) {
		response_error(r, 413, "payload_too_large", "The file is larger "
		    "than this server accepts (attachment_max_bytes).", "file");
		return;
	}
	if ((rc = multipart_boundary(r->content_type, boundary,
	    sizeof(boundary))) == 0) {
		response_error(r, 415, "unsupported_media_type",
		    "Send the file as multipart/form-data.", NULL);
		return;
	}
	if (rc < 0) {
		reply_bad(r, "Content-Type", "The multipart boundary is missing "
		    "or malformed.");
		return;
	}
	if ((rc = attachments_case(db, r->auth.tenant_id, r->pathvars[0]))
	    <= 0) {
		if (rc == 0)
			response_error(r, 404, "not_found", "No such case.",
			    "id");
		else
			api_db_error(r, rc);
		return;
	}
	auth_actor(r, u.actor, sizeof(u.actor));
	multipart_init(&u.mp, boundary);
	reading = 1;
	rc = 0;
	while (!u.done) {
		if ((got = api_body_read(r, buf, sizeof(buf))) < 0)
			goto fail_replied;
		if (got == 0) {
			rc = multipart_finish(&u.mp);
			break;
		}
		/* A large file cannot arrive within the one request_timeout_ms
		 * every other body is given (behind mod_proxy_fcgi, which passes
		 * it on as the client sends it): each ATTACHMENTS_READ bytes
		 * received give the client that much time again, so only a
		 * client sending less than that per request_timeout_ms is
		 * cut off. */
		if ((fresh += got) >= ATTACHMENTS_READ) {
			fresh = 0;
			deadline_start(g_conf.request_timeout_ms);
		}
		if ((rc = multipart_feed(&u.mp, buf, (size_t)got, on_event,
		    &u)) != 0)
			break;
	}
	/* The epilogue, if any, is left to the drain after the answer. */
	api_body_end(r);
	reading = 0;
	if (rc != 0 || !u.done) {
		reply_upload_error(r, &u, rc);
		goto fail;
	}
	if (u.up == NULL) {
		response_error(r, 400, "invalid_request", "The body must be one "
		    "part named \"file\", with a filename.", "file");
		return;
	}
	oc = attachments_finish(u.up, &a, &rc);
	u.up = NULL;
	if (oc == ATTACHMENTS_NOT_FOUND) {
		response_error(r, 404, "not_found", "No such case.", "id");
		return;
	}
	if (oc != ATTACHMENTS_OK) {
		api_db_error(r, rc);
		return;
	}
	response_json(r, 201, attachments_to_json(a));
	response_header(r, "Location", "%s/api/v1/cases/%s/attachments/%s",
	    r->prefix, a->case_id, a->id);
	attachments_free(a);
	return;
fail_replied:
	if (u.up != NULL)
		log_info("request %s: upload of case %s given up", r->id,
		    r->pathvars[0]);
fail:
	if (reading)
		api_body_end(r);
	attachments_abort(u.up);
}

static void
attachments_index(struct request *r, struct db *db)
{
	json_object *page;
	long long before;
	long limit;
	int rc;

	if (params_list(r, &limit) != 0 ||
	    params_seq_cursor(r, &before) != 0)
		return;
	if ((rc = attachments_case(db, r->auth.tenant_id, r->pathvars[0]))
	    <= 0) {
		if (rc == 0)
			response_error(r, 404, "not_found", "No such case.",
			    "id");
		else
			api_db_error(r, rc);
		return;
	}
	if ((rc = attachments_list(db, r->auth.tenant_id, r->pathvars[0],
	    before, limit, &page)) != 0) {
		api_db_error(r, rc);
		return;
	}
	response_json(r, 200, page);
}

/* The file, chunk by chunk: headers first (Content-Length is the stored
 * size), then each chunk as it is read. A failure after the headers can
 * only cut the answer short, which the client sees as a body shorter
 * than announced. */
static void
attachments_show(struct request *r, struct db *db)
{
	struct attachment *a = NULL;
	struct db_res *res;
	char disp[ATTACHMENTS_DISPOSITION_LEN];
	const char *data;
	long long sent = 0;
	size_t len;
	long n;
	int rc;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	if ((rc = attachments_get(db, r->auth.tenant_id, r->pathvars[0],
	    r->pathvars[1], &a)) <= 0) {
		if (rc == 0)
			response_error(r, 404, "not_found",
			    "No such attachment.", "id");
		else
			api_db_error(r, rc);
		return;
	}
	r->status = 200;
	buf_reset(&r->out);
	response_header(r, "Content-Type", "%s",
	    attachments_serve_type(a->content_type));
	attachments_disposition(a->name, disp, sizeof(disp));
	response_header(r, "Content-Disposition", "%s", disp);
	response_header(r, "X-Vigil-Attachment-Sha256", "%s", a->sha256);
	if (api_send_head(r, a->size) != 0 || strcmp(r->method, "HEAD") == 0)
		goto out;
	for (n = 0; sent < a->size; n++) {
		api_pause(r);
		if ((rc = attachments_chunk(db, r->auth.tenant_id, a->id, n,
		    &res, &data, &len)) <= 0) {
			log_warn("request %s: attachment %s: chunk %ld %s", r->id,
			    a->id, n, rc == 0 ? "missing (deleted meanwhile?)" :
			    "unreadable");
			goto out;
		}
		if ((long long)len > a->size - sent)
			len = (size_t)(a->size - sent);
		rc = api_send(r, data, len);
		db_res_free(res);
		if (rc != 0)
			goto out;
		sent += (long long)len;
	}
out:
	attachments_free(a);
}

static void
attachments_remove(struct request *r, struct db *db)
{
	enum attachments_outcome oc;
	char actor[128];
	time_t now = time(NULL);
	int rc;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	auth_actor(r, actor, sizeof(actor));
	oc = attachments_delete(db, r->auth.tenant_id, r->pathvars[0],
	    r->pathvars[1], actor, now, &rc);
	if (oc == ATTACHMENTS_NOT_FOUND)
		response_error(r, 404, "not_found", "No such attachment.",
		    "id");
	else if (oc != ATTACHMENTS_OK)
		api_db_error(r, rc);
	else
		reply_deleted(r, "attachment_id", r->pathvars[1], now);
}

const struct route attachments_routes[] = {
	{ "POST", "/api/v1/cases/{id}/attachments", SCOPE_WRITE,
	    ROUTE_STREAM_BODY, attachments_post },
	{ "GET", "/api/v1/cases/{id}/attachments", SCOPE_READ, 0,
	    attachments_index },
	{ "GET", "/api/v1/cases/{id}/attachments/{att_id}", SCOPE_READ, 0,
	    attachments_show },
	{ "DELETE", "/api/v1/cases/{id}/attachments/{att_id}", SCOPE_WRITE, 0,
	    attachments_remove },
};
const size_t attachments_nroutes = NELEM(attachments_routes);
