/* scan.h: one scan of one integration (collect resources through its
 * connector, evaluate the rules, reconcile the findings, apply due
 * remediations, record the outcome and raise scan.completed or
 * scan.failed), and the rest of what "vigil-scan --due" does. */
#ifndef VIGIL_SCAN_H
#define VIGIL_SCAN_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

struct db;
struct db_res;
struct ruleset;

/* Column order of SCAN_COLS in db.c. */
enum {
	SCAN_C_ID, SCAN_C_TENANT, SCAN_C_INTEGRATION, SCAN_C_STATUS,
	SCAN_C_TRIGGER, SCAN_C_CREATED, SCAN_C_STARTED, SCAN_C_FINISHED,
	SCAN_C_RUNNER, SCAN_C_RESOURCES, SCAN_C_RULES, SCAN_C_DETECTED,
	SCAN_C_RESOLVED, SCAN_C_REOPENED, SCAN_C_COUNTS, SCAN_C_ERROR,
	SCAN_C_DURATION
};

enum scan_outcome {
	SCAN_OK = 0,    /* completed (or, dry run, evaluated) */
	SCAN_FAILED,    /* ran and failed: recorded, scan.failed raised */
	SCAN_BUSY,      /* another scanner holds the integration's lock */
	SCAN_SKIPPED,   /* no longer queued: someone else took it */
	SCAN_ERROR,     /* database error or no such scan; err says */
};

/* What a scan saw and did. */
struct scan_stats {
	long		 resources;        /* resources collected */
	long		 rules_evaluated;  /* (rule, resource) pairs of a type */
	long		 detected;         /* new findings */
	long		 present;          /* still there */
	long		 reopened;
	long		 resolved;         /* by the scanner: no longer seen */
	long		 remediated;
	long		 remediation_failed;
	long long	 duration_ms;
};

struct scan_opts {
	/* The rules to evaluate (loaded once by the caller). */
	const struct ruleset *rules;
	/* Evaluate and report what would change; write nothing (no scan
	 * row, no finding, no event). */
	int		 dry_run;
	/* Called after each resource (may be NULL). */
	void		(*progress)(void *arg, const struct scan_stats *);
	/* Dry run: called for each finding that would change, what being
	 * "new", "reopened", "resolved" or "remediate" (may be NULL). */
	void		(*change)(void *arg, const char *what,
			    const char *finding_id, const char *rule_id,
			    const char *resource_id);
	void		*arg;
};

/* Outcomes of scan_queue besides DB_* codes (< 0). */
#define SCAN_Q_QUEUED		1	/* a new queued scan: its id in id */
#define SCAN_Q_ACTIVE		2	/* one is queued or running: its id */
#define SCAN_Q_NO_INTEGRATION	3	/* no such live integration of tenant */
/* Queue a scan unless one is queued or running for the integration,
 * race-free: the integration row is locked for the check and insert.
 * scan_queue_tx runs in the caller's transaction (the API adds its audit
 * entry), scan_queue in its own. */
int	 scan_queue_tx(struct db *, const char *tenant_id,
	    const char *integration_id, const char *trigger, time_t now,
	    char *id, size_t idsz);
int	 scan_queue(struct db *, const char *tenant_id,
	    const char *integration_id, const char *trigger, time_t now,
	    char *id, size_t idsz);

/* Run queued scan scan_id now, on db's connection (which holds the
 * integration's lock for the length of the scan). st gets the counts,
 * err (SCAN_FAILED, SCAN_ERROR) what went wrong. */
enum scan_outcome scan_run(struct db *, const char *scan_id,
	    const struct scan_opts *, struct scan_stats *st, char *err,
	    size_t errsz);
/* Evaluate integration_id as scan_run would and report through
 * opts->change, writing nothing. */
enum scan_outcome scan_dry_run(struct db *, const char *integration_id,
	    const struct scan_opts *, struct scan_stats *st, char *err,
	    size_t errsz);

/* Scans left "running" by a scanner that died (their lock is free) are
 * marked failed with a scan.failed event. The number marked, or a DB_*
 * code. */
long	 scan_fail_stale(struct db *, time_t now);

/* What "vigil-scan --due" did. */
struct scan_due_stats {
	long		 stale;       /* running scans of dead scanners failed */
	long		 completed;
	long		 failed;
	long		 busy;        /* skipped: another scanner has it */
	long		 errors;      /* could not run: database errors */
};
/* Fail stale scans, run every queued scan, then queue and run a
 * scheduled scan for every live integration whose tenant's
 * scan_interval_minutes (default 60) has passed since its last scan.
 * Each scan's outcome is logged. 0, or a DB_* code. */
int	 scan_due(struct db *, const struct scan_opts *,
	    struct scan_due_stats *out);

/* The API representation of row i of a SCAN_COLS result: a new object
 * the caller puts. */
json_object *scan_to_json(const struct db_res *, size_t i);

/* The resource metadata a finding records (issue 13), from an ARM
 * resource: its name ("name", else the last segment of the id), type,
 * resource group (the segment after /resourceGroups/ of the id, any
 * case), region ("location") and tags (finding_tags_canonical, lenient:
 * a tag Vigil cannot store is left out). A string over its column's
 * limit, not UTF-8 or holding a control character is left empty. */
struct scan_meta {
	char	*name, *type, *group, *region, *tags;	/* owned */
};
/* 0, or -1 if out of memory (m cleared). Free with scan_meta_clear.
 * Pure. */
int	 scan_meta_from_arm(json_object *res, const char *rid,
	    struct scan_meta *m);
void	 scan_meta_clear(struct scan_meta *m);

#endif
