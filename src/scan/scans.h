/* scans.h: scans as the API and vigilctl see them: queue one with its
 * audit entry, read one, a page of a tenant's scans, a page of what one
 * scan found. Running them is scan.c's (vigil-scan). */
#ifndef VIGIL_SCANS_H
#define VIGIL_SCANS_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

struct db;

/* Outcome of scans_queue. */
enum scans_outcome {
	SCANS_QUEUED = 0,       /* a new queued scan: its id in id, *out */
	SCANS_NO_INTEGRATION,   /* no such live integration of the tenant */
	SCANS_ACTIVE,           /* one is queued or running: its id in id */
	SCANS_DB_ERROR,         /* *rc holds the DB_* code */
};

/* Queue a scan of integration_id unless one is queued or running, with
 * its "scan.create" audit entry by actor, in one transaction. trigger is
 * "api", "schedule" or "cli". id (VIGIL_ID_LEN) gets the new or the
 * active scan's id. On SCANS_QUEUED *out is the new scan as scan_to_json
 * shows it (caller puts); otherwise NULL. */
enum scans_outcome scans_queue(struct db *, const char *tenant_id,
	    const char *integration_id, const char *trigger,
	    const char *actor, time_t now, char *id, size_t idsz,
	    json_object **out, int *rc);

/* One scan of a tenant as scan_to_json shows it: 1 found (*out set,
 * caller puts), 0 not found (also for an id that cannot be a scan's), or
 * a DB_* code (< 0). */
int	 scans_load(struct db *, const char *tenant_id, const char *id,
	    json_object **out);

/* A page of the tenant's scans, newest first, after cursor (a scan id;
 * NULL for the first page), at most limit: {scans, total, has_more,
 * next_cursor}. 0 with *out set (caller puts), or a DB_* code (< 0). */
int	 scans_page(struct db *, const char *tenant_id, const char *cursor,
	    long limit, json_object **out);

/* A page of what scan scan_id of the tenant found, by finding id after
 * cursor (NULL for the first page), at most limit: {scan_id, results,
 * total, has_more, next_cursor}. 1 with *out set (caller puts), 0 no
 * such scan, or a DB_* code (< 0). */
int	 scans_results_page(struct db *, const char *tenant_id,
	    const char *scan_id, const char *cursor, long limit,
	    json_object **out);

#endif
