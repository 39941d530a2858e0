/* import.h: load findings from a JSON document through the scanner's own
 * upsert-and-reconcile path ("vigilctl findings import"). */
#ifndef VIGIL_IMPORT_H
#define VIGIL_IMPORT_H

#include <stdio.h>
#include <time.h>
#include <json-c/json.h>

struct db;

struct import_stats {
	long	 observed;     /* findings in the document */
	long	 resolved;     /* findings absent from it, now resolved */
};

/* Validate doc ({"findings":[…]} or a bare array) completely before
 * touching the database: on a bad entry return 1 with "findings[i].field:
 * why" in err. Then observe every entry and, when reconcile is set,
 * resolve the tenant's findings of the same providers that the document
 * no longer lists (a complete snapshot, as a scan would). 0 when done, or
 * a DB_* code (< 0) with err set on a database failure. */
int	 import_findings(struct db *, const char *tenant_id, json_object *doc,
	    int reconcile, time_t now, struct import_stats *st, char *err,
	    size_t errsz);

/* --- imports of other tools' reports (POST /imports, vigilctl) ------- */

#include "importfmt.h"

#define IMPORT_MAX_BYTES	(100LL * 1024 * 1024)	/* one report */
#define IMPORT_CHUNK		(256 * 1024)
#define IMPORT_SYNC_MAX		(1024 * 1024)	/* answered at once */
#define IMPORT_ERRORS_MAX	100		/* per-item errors kept */
#define IMPORT_SOURCE_MAX	64

enum import_mode { IMPORT_FULL, IMPORT_PARTIAL };

/* 1 if s can name a source: 1..64 of a-z A-Z 0-9 '-' '_' '.' ':'. */
int	 import_source_valid(const char *s);

/* Receiving a report: import_begin writes the import's row ('receiving')
 * and opens the transaction its chunks are written in; import_write
 * adds bytes (IMPORT_TOO_LARGE past IMPORT_MAX_BYTES); import_finish
 * marks it queued and commits (id_out: the import id, 41 bytes);
 * import_abort rolls back, leaving nothing. */
struct import_upload;
enum import_outcome {
	IMPORT_OK = 0,
	IMPORT_TOO_LARGE,
	IMPORT_DB_ERROR,
};
enum import_outcome import_begin(struct db *, const char *tenant_id,
	    const char *source, enum importfmt fmt, enum import_mode mode,
	    const char *actor, time_t now, struct import_upload **out,
	    int *rc);
enum import_outcome import_write(struct import_upload *, const void *data,
	    size_t len, int *rc);
enum import_outcome import_finish(struct import_upload *, char *id_out,
	    size_t idsz, long long *bytes, int *rc);
void	 import_abort(struct import_upload *);

/* Read a queued import (claimed, so only one worker does) from its
 * chunks: validate the whole report first (a report that is not one
 * changes nothing), then observe its findings a batch at a time through
 * the scanner's path, record the source on each, and for a full report
 * resolve what the source no longer lists (unless another source still
 * reports it). The import's row ends 'completed' or 'failed', its chunks
 * deleted. 1 done, 0 not queued (another worker has it), or a DB_*. */
int	 import_run(struct db *, const char *import_id, time_t now);
/* import_run for every queued import (vigil-scan --due): how many were
 * run, or a DB_* code. */
long	 import_run_due(struct db *, time_t now);

/* GET /imports/{id}: 1 with *out (new object), 0 not found, or DB_*. */
int	 import_get(struct db *, const char *tenant_id, const char *id,
	    json_object **out);
/* GET /imports: a page newest first (keyset before, limit). 0 or DB_*. */
int	 import_list(struct db *, const char *tenant_id, long long before,
	    long limit, json_object **out);
/* The sources reporting a finding: a new array (empty if none), or NULL
 * with *rc set. */
json_object *import_sources(struct db *, const char *tenant_id,
	    const char *finding_id, int *rc);

#endif
