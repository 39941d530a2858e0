/* openapi.c: GET /api/v1/openapi.json serves the contract kept in the
 * repository (doc/openapi.json, installed to PKGDATADIR). */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "buf.h"
#include "conf.h"
#include "log.h"

#define OPENAPI_MAX (2 * 1024 * 1024)

/* Read once per worker; SIGHUP recycles workers, which re-reads it. */
static char *doc;
static size_t doclen;

static int
load(void)
{
	FILE *f;
	struct buf b;
	char chunk[8192];
	size_t n;

	if (doc != NULL)
		return 0;
	if ((f = fopen(g_conf.openapi_file, "r")) == NULL) {
		log_err("openapi: cannot open %s", g_conf.openapi_file);
		return -1;
	}
	buf_init(&b, OPENAPI_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(&b, chunk, n) != 0) {
			log_err("openapi: %s too large", g_conf.openapi_file);
			buf_free(&b);
			fclose(f);
			return -1;
		}
	fclose(f);
	doc = buf_detach(&b, &doclen);
	return doc == NULL ? -1 : 0;
}

static void
openapi_get(struct request *r, struct db *db)
{
	(void)db;
	if (load() != 0) {
		response_error(r, 500, "internal_error",
		    "The API description is not available.", NULL);
		return;
	}
	response_raw(r, 200, "application/json; charset=utf-8", doc, doclen);
}

const struct route openapi_routes[] = {
	{ "GET", "/api/v1/openapi.json", SCOPE_NONE, 0, openapi_get },
};
const size_t openapi_nroutes = NELEM(openapi_routes);
