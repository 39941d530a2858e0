/* imports.h: reports of other tools (OCSF, SARIF, ASFF, Vigil JSON)
 * imported as findings: received, read, listed. */
#ifndef VIGIL_IMPORTS_H
#define VIGIL_IMPORTS_H

#include <stdio.h>
#include <time.h>
#include <json-c/json.h>

#include "importfmt.h"

struct db;



#define IMPORT_MAX_BYTES	(100LL * 1024 * 1024)	/* one report */
/* What a multipart/form-data body may add to the report's size (its
 * boundaries and part headers) before POST /imports refuses it by its
 * Content-Length alone. */
#define IMPORT_FORM_SLACK	(64 * 1024)
#define IMPORT_CHUNK		(256 * 1024)
#define IMPORT_SYNC_MAX		(1024 * 1024)	/* answered at once */
#define IMPORT_ERRORS_MAX	100		/* per-item errors kept */
#define IMPORT_SOURCE_MAX	64
/* A worker's lease on the import it reads, renewed every IMPORT_BEAT
 * seconds; once it has passed, vigil-scan --due takes the import over,
 * unless IMPORT_ATTEMPTS workers already claimed it: then it fails. */
#define IMPORT_LEASE		120
#define IMPORT_BEAT		10
#define IMPORT_ATTEMPTS		3

enum imports_mode { IMPORT_FULL, IMPORT_PARTIAL };
/* imports_begin's flags: an item that cannot be read fails the whole
 * import, before anything is written (vigilctl findings import without
 * --format). */
#define IMPORT_ALL_OR_NOTHING	0x1

/* 1 if s can name a source: 1..64 of a-z A-Z 0-9 '-' '_' '.' ':'. */
int	 imports_source_valid(const char *s);

/* Receiving a report: imports_begin writes the import's row ('receiving')
 * and opens the transaction its chunks are written in; imports_write
 * adds bytes (IMPORT_TOO_LARGE past IMPORT_MAX_BYTES); imports_finish
 * marks it queued and commits (id_out: the import id, 41 bytes);
 * imports_abort rolls back, leaving nothing. */
struct imports_upload;
enum imports_outcome {
	IMPORT_OK = 0,
	IMPORT_TOO_LARGE,
	IMPORT_DB_ERROR,
};
enum imports_outcome imports_begin(struct db *, const char *tenant_id,
	    const char *source, enum importfmt fmt, enum imports_mode mode,
	    unsigned flags, const char *actor, time_t now,
	    struct imports_upload **out, int *rc);
enum imports_outcome imports_write(struct imports_upload *, const void *data,
	    size_t len, int *rc);
enum imports_outcome imports_finish(struct imports_upload *, char *id_out,
	    size_t idsz, long long *bytes, int *rc);
void	 imports_abort(struct imports_upload *);

/* Read a queued import (claimed under a lease, so only one worker does;
 * or one whose worker's lease passed, from the start again) from its
 * chunks: validate the whole report first (a report that is not one
 * changes nothing), then observe its findings a batch at a time through
 * the scanner's path, record the source on each, and for a full report
 * resolve what the source no longer lists (unless another source still
 * reports it). The import's row ends 'completed' or 'failed', its chunks
 * deleted, with the audit entry import.completed or import.failed (the
 * importer as actor; the counts as detail). An import IMPORT_ATTEMPTS
 * workers left unfinished ends 'failed' with the reason instead (audit
 * actor "system"). 1 done, 0 not due (another worker has it, or lost its
 * lease to another), or a DB_*. */
int	 imports_run(struct db *, const char *import_id, time_t now);
/* imports_run for the API's answer at once (a report of at most
 * IMPORT_SYNC_MAX, run inside its worker): its batches are written in
 * turn on db, with no writer thread and no second connection (a pool's
 * connections are one a worker). imports_run overlaps the reading of the
 * next batch with the writing of the one before, on a connection of its
 * own. */
int	 imports_run_here(struct db *, const char *import_id, time_t now);
/* vigilctl's import of a local report: as imports_begin, imports_finish
 * and imports_run with the same arguments, but the report's bytes are
 * read from fp (a regular file, at most IMPORT_MAX_BYTES) in place of
 * chunks: its row is written running under this worker's lease, then read
 * as imports_run reads an import (the same framing, mapping, batches,
 * reconcile, end and audit entry). The first read keeps each chunk's
 * SHA-256, the second checks it before using a byte: a file changed
 * between or during the reads fails the import ("the file changed ..."),
 * before writing anything when the first read saw it, else keeping the
 * batches written and resolving nothing. If this worker stops, the next
 * vigil-scan --due fails the import (its bytes were never stored).
 * id_out (41 bytes) names the import once its row is written. As
 * imports_run: 1, 0, or a DB_*. */
int	 imports_run_file(struct db *, const char *tenant_id,
	    const char *source, enum importfmt fmt, enum imports_mode mode,
	    unsigned flags, const char *actor, time_t now, FILE *fp,
	    char *id_out, size_t idsz);
/* A signal handler (vigilctl's, for SIGINT, SIGTERM and SIGHUP): the
 * import being read stops at its next batch, or its next page of a full
 * report's reconcile, and ends failed, "stopped by signal N", what was
 * written before staying; its lease ends with it, so another import of
 * its source is not held back (run_register). A second signal kills the
 * process as it would have. imports_stopped() is the signal, or 0. */
void	 imports_stop(int sig);
int	 imports_stopped(void);
/* imports_run for every queued import and every running one whose
 * lease has passed (vigil-scan --due): how many were run, or a DB_*
 * code. */
long	 imports_run_due(struct db *, time_t now);

/* GET /imports/{id}: 1 with *out (new object), 0 not found, or DB_*. */
int	 imports_get(struct db *, const char *tenant_id, const char *id,
	    json_object **out);
/* GET /imports: a page newest first (keyset before, limit). 0 or DB_*. */
int	 imports_list(struct db *, const char *tenant_id, long long before,
	    long limit, json_object **out);
/* The sources reporting a finding: a new array (empty if none), or NULL
 * with *rc set. */
json_object *imports_sources(struct db *, const char *tenant_id,
	    const char *finding_id, int *rc);
/* The same array from the rows of a result whose columns col.. are
 * SQL_SOURCE_LIST's (rows whose source is NULL skipped). */
struct db_res;
json_object *imports_sources_from(const struct db_res *, size_t col);

#endif
