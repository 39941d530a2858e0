/*
 * imports.c: /api/v1/imports: a report of another tool (OCSF, SARIF, ASFF
 * or Vigil's JSON) as the body, streamed into the database in chunks
 * (at most one piece and one chunk in memory), then read by imports_run
 * at once when small (201) or by the next "vigil-scan --due" (202);
 * GET /imports/{id} its progress and per-item errors, GET /imports the
 * list. The reading, the findings and their sources are src/domain's
 * imports.c.
 */
#include "vigil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "conf.h"
#include "db.h"
#include "imports.h"
#include "importfmt.h"
#include "log.h"
#include "multipart.h"
#include "reply.h"

#define IMPORTS_READ (64 * 1024)

/* A multipart/form-data upload: one part, named "file". */
struct form {
	struct multipart	 mp;
	struct imports_upload	*up;
	int			 parts, done, status, rc;
	const char		*msg;
};

static int
on_part(void *arg, enum multipart_event ev, const char *data, size_t len)
{
	struct form *f = arg;

	switch (ev) {
	case MULTIPART_PART:
		if (f->parts++ > 0 || strcmp(f->mp.part.name, "file") != 0) {
			f->status = 400;
			f->msg = "The body must be one part named \"file\": "
			    "the report.";
			return 1;
		}
		return 0;
	case MULTIPART_DATA:
		if (imports_write(f->up, data, len, &f->rc) == IMPORT_OK)
			return 0;
		f->status = f->rc == 0 ? 413 : -1;
		return 1;
	case MULTIPART_PART_END:
		return 0;
	case MULTIPART_DONE:
		f->done = 1;
		return 0;
	}
	return 0;
}

static void
imports_post(struct request *r, struct db *db)
{
	static const char *const known[] = { "format", "source", "mode",
	    NULL };
	struct imports_upload *up = NULL;
	enum imports_outcome oc;
	enum imports_mode mode = IMPORT_FULL;
	enum importfmt fmt;
	const char *s, *source, *status;
	char buf[IMPORTS_READ], actor[128], id[VIGIL_ID_LEN],
	    boundary[MULTIPART_BOUNDARY_MAX + 1];
	struct form form;
	json_object *out = NULL;
	long long fresh = 0, bytes = 0;
	long got;
	int rc, multi;

	if (reply_unknown_params(r, known) != 0)
		return;
	if (importfmt_from_str(request_param(r, "format"), &fmt) != 0) {
		reply_bad(r, "format", "format must be ocsf, sarif, asff or "
		    "vigil.");
		return;
	}
	source = request_param(r, "source");
	if (!imports_source_valid(source)) {
		reply_bad(r, "source", "source must be 1 to 64 letters, "
		    "digits, '-', '_', '.' or ':'.");
		return;
	}
	if ((s = request_param(r, "mode")) != NULL) {
		if (strcmp(s, "partial") == 0)
			mode = IMPORT_PARTIAL;
		else if (strcmp(s, "full") != 0) {
			reply_bad(r, "mode", "mode must be full or partial.");
			return;
		}
	}
	/* The report as the body, or as the one part "file" of a form. */
	memset(&form, 0, sizeof(form));
	if ((rc = multipart_boundary(r->content_type, boundary,
	    sizeof(boundary))) < 0) {
		reply_bad(r, "Content-Type", "The multipart boundary is missing "
		    "or malformed.");
		return;
	}
	multi = rc > 0;
	if (multi)
		multipart_init(&form.mp, boundary);
	/* The limit is the report's: a form may carry it with its own
	 * framing around it (the part's size is checked exactly as it
	 * streams, multipart_feed). */
	if (r->content_length > IMPORT_MAX_BYTES + (multi ?
	    IMPORT_FORM_SLACK : 0)) {
		response_error(r, 413, "payload_too_large", "A report may be "
		    "at most 100 MiB.", "body");
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	if (imports_begin(db, r->auth.tenant_id, source, fmt, mode, 0, actor,
	    time(NULL), &up, &rc) != IMPORT_OK) {
		api_db_error(r, rc);
		return;
	}
	for (;;) {
		if ((got = api_body_read(r, buf, sizeof(buf))) < 0)
			goto fail_replied;
		if (got == 0)
			break;
		/* As an attachment upload: each 64 KiB received gives the
		 * client request_timeout_ms again. */
		if ((fresh += got) >= IMPORTS_READ) {
			fresh = 0;
			deadline_start(g_conf.request_timeout_ms);
		}
		if (multi) {
			form.up = up;
			if ((rc = multipart_feed(&form.mp, buf, (size_t)got,
			    on_part, &form)) != 0 || form.status != 0) {
				api_body_end(r);
				imports_abort(up);
				if (form.status == 413)
					response_error(r, 413,
					    "payload_too_large", "A report may "
					    "be at most 100 MiB.", "body");
				else if (form.status == -1)
					api_db_error(r, form.rc);
				else if (form.status == 400)
					response_error(r, 400,
					    "invalid_request", form.msg,
					    "file");
				else
					response_error(r, 400,
					    "invalid_request", "The multipart "
					    "body is malformed.", "body");
				return;
			}
			continue;
		}
		oc = imports_write(up, buf, (size_t)got, &rc);
		if (oc == IMPORT_TOO_LARGE) {
			api_body_end(r);
			imports_abort(up);
			response_error(r, 413, "payload_too_large", "A report "
			    "may be at most 100 MiB.", "body");
			return;
		}
		if (oc != IMPORT_OK) {
			api_body_end(r);
			imports_abort(up);
			api_db_error(r, rc);
			return;
		}
	}
	api_body_end(r);
	if (multi && (multipart_finish(&form.mp) != 0 || !form.done ||
	    form.parts == 0)) {
		imports_abort(up);
		response_error(r, 400, "invalid_request", form.parts == 0 ?
		    "The body must be one part named \"file\": the report." :
		    "The multipart body ended before its closing boundary.",
		    form.parts == 0 ? "file" : "body");
		return;
	}
	oc = imports_finish(up, id, sizeof(id), &bytes, &rc);
	up = NULL;
	if (oc != IMPORT_OK) {
		api_db_error(r, rc);
		return;
	}
	if (bytes <= IMPORT_SYNC_MAX && (rc = imports_run_here(db, id,
	    time(NULL))) < 0) {
		api_db_error(r, rc);
		return;
	}
	if ((rc = imports_get(db, r->auth.tenant_id, id, &out)) != 1) {
		api_db_error(r, rc < 0 ? rc : DB_ERR);
		return;
	}
	status = json_object_get_string(json_object_object_get(out,
	    "status"));
	/* A report read here that is not one: 400, and nothing changed
	 * (the import stays listed, failed, with the same error). */
	if (bytes <= IMPORT_SYNC_MAX && strcmp(status, "failed") == 0) {
		char msg[400];

		snprintf(msg, sizeof(msg), "The report is not valid %s: %s",
		    json_object_get_string(json_object_object_get(out,
		    "format")), json_object_get_string(json_object_object_get(
		    out, "error")));
		json_object_put(out);
		response_error(r, 400, "invalid_request", msg, "body");
		return;
	}
	/* 201 only for an import that has ended: a small one that a
	 * vigil-scan --due claimed first (it found the row queued before
	 * this worker did) is still running, and is answered as a large
	 * one is. */
	response_json(r, bytes <= IMPORT_SYNC_MAX &&
	    strcmp(status, "completed") == 0 ? 201 : 202, out);
	response_header(r, "Location", "%s/api/v1/imports/%s", r->prefix,
	    id);
	return;
fail_replied:
	api_body_end(r);
	imports_abort(up);
}

static void
imports_index(struct request *r, struct db *db)
{
	json_object *page;
	long long before;
	long limit;
	int rc;

	if (params_list(r, &limit) != 0 ||
	    params_seq_cursor(r, &before) != 0)
		return;
	if ((rc = imports_list(db, r->auth.tenant_id, before, limit,
	    &page)) != 0) {
		api_db_error(r, rc);
		return;
	}
	response_json(r, 200, page);
}

static void
imports_show(struct request *r, struct db *db)
{
	json_object *o;
	int rc;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	if ((rc = imports_get(db, r->auth.tenant_id, r->pathvars[0], &o)) <=
	    0) {
		if (rc == 0)
			response_error(r, 404, "not_found", "No such import.",
			    "id");
		else
			api_db_error(r, rc);
		return;
	}
	response_json(r, 200, o);
}

const struct route imports_routes[] = {
	{ "POST", "/api/v1/imports", SCOPE_WRITE, ROUTE_STREAM_BODY,
	    imports_post },
	{ "GET", "/api/v1/imports", SCOPE_READ, 0, imports_index },
	{ "GET", "/api/v1/imports/{id}", SCOPE_READ, 0, imports_show },
};
const size_t imports_nroutes = NELEM(imports_routes);
