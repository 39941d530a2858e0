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
#include "reply.h"

#define IMPORTS_READ (64 * 1024)

static void
imports_post(struct request *r, struct db *db)
{
	static const char *const known[] = { "format", "source", "mode",
	    NULL };
	struct imports_upload *up = NULL;
	enum imports_outcome oc;
	enum imports_mode mode = IMPORT_FULL;
	enum importfmt fmt;
	const char *s, *source;
	char buf[IMPORTS_READ], actor[128], id[VIGIL_ID_LEN];
	json_object *out = NULL;
	long long fresh = 0, bytes = 0;
	long got;
	int rc;

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
	if (r->content_type != NULL &&
	    strncmp(r->content_type, "multipart/", 10) == 0) {
		response_error(r, 415, "unsupported_media_type", "Send the "
		    "report itself as the body (application/json or "
		    "application/x-ndjson).", NULL);
		return;
	}
	if (r->content_length > IMPORT_MAX_BYTES) {
		response_error(r, 413, "payload_too_large", "A report may be "
		    "at most 100 MiB.", "body");
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	if (imports_begin(db, r->auth.tenant_id, source, fmt, mode, actor,
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
	oc = imports_finish(up, id, sizeof(id), &bytes, &rc);
	up = NULL;
	if (oc != IMPORT_OK) {
		api_db_error(r, rc);
		return;
	}
	if (bytes <= IMPORT_SYNC_MAX && (rc = imports_run(db, id,
	    time(NULL))) < 0) {
		api_db_error(r, rc);
		return;
	}
	if ((rc = imports_get(db, r->auth.tenant_id, id, &out)) != 1) {
		api_db_error(r, rc < 0 ? rc : DB_ERR);
		return;
	}
	/* A report read here that is not one: 400, and nothing changed
	 * (the import stays listed, failed, with the same error). */
	if (bytes <= IMPORT_SYNC_MAX && strcmp(json_object_get_string(
	    json_object_object_get(out, "status")), "failed") == 0) {
		char msg[400];

		snprintf(msg, sizeof(msg), "The report is not valid %s: %s",
		    json_object_get_string(json_object_object_get(out,
		    "format")), json_object_get_string(json_object_object_get(
		    out, "error")));
		json_object_put(out);
		response_error(r, 400, "invalid_request", msg, "body");
		return;
	}
	response_json(r, bytes <= IMPORT_SYNC_MAX ? 201 : 202, out);
	response_header(r, "Location", "/api/v1/imports/%s", id);
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
