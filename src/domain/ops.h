/* ops.h: what an operator watches that lives in the database: the events
 * outbox and webhook deliveries not yet delivered, and when each
 * integration last scanned successfully (GET /metrics, GET /healthz).
 * Every read costs the same however many rows there are. */
#ifndef VIGIL_OPS_H
#define VIGIL_OPS_H

#include <stddef.h>

struct db;

/* Counts stop at the cap given to ops_outbox: cap means "cap or more". */
struct ops_outbox {
	long long	 events;          /* not yet turned into deliveries */
	long long	 events_age;      /* seconds the oldest of them has
					   * waited; -1: none */
	long long	 deliveries;      /* pending or being delivered */
	long long	 deliveries_age;  /* seconds the longest-waiting due
					   * one has waited; 0: none due; -1:
					   * none at all */
	long long	 dead;            /* dead-lettered, not retried */
};

/* 0 with *o filled, or a DB_* code. One statement. */
int	 ops_outbox(struct db *, long cap, struct ops_outbox *o);

struct ops_scan {
	char		 id[64];
	char		 name[404];       /* 100 characters of UTF-8 */
	char		 tenant[64];
	long long	 last_success;    /* finish of the last completed scan,
					   * epoch seconds; -1: never */
	long long	 duration_ms;     /* of that scan; -1: unknown */
	long long	 age;             /* seconds since then (or since the
					   * integration was made) */
	long		 interval_min;    /* the tenant's scan interval */
};

/* The live integrations, at most max, by id: 0 with *out (freed by the
 * caller with free()) and *n set, or a DB_* code. One statement. */
int	 ops_scans(struct db *, size_t max, struct ops_scan **out, size_t *n);

/* 1 if an integration has gone two of its tenant's scan intervals
 * without a completed scan. Pure. */
int	 ops_scan_stale(const struct ops_scan *);

#endif
