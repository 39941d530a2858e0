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

#endif
