/* observables.h: what the API does with observables: the search ("every
 * alert and case that touched this value") and suppressions ("alerts
 * carrying this value are expected, from this source or any, until
 * then"). The rows themselves are written by alert ingest and case
 * escalation; the one normalised form of a value is observable.h's. A
 * suppression applies while its until is after now: reads compare, and
 * nothing deletes it when it passes (alert ingest reads
 * observable_suppressions the same way). */
#ifndef VIGIL_OBSERVABLES_H
#define VIGIL_OBSERVABLES_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#include "observable.h"
#include "page.h"
#include "vigil.h"

struct db;

/* A suppression's until: after now, and at most this far ahead. */
#define OBSERVABLES_UNTIL_MAX_DAYS 365
/* The longest scope: "source:" + a source of at most 64 bytes. */
#define OBSERVABLES_SOURCE_MAX 64

/* A search cursor: "c<seq>" (cases before that seq, then every alert) or
 * "a<seq>" (alerts before that seq). 1 with *kind ('c' or 'a') and *seq
 * set, or 0 if s is not one. Pure. */
int	 observables_cursor_parse(const char *s, char *kind, long long *seq);
/* 1 if scope is "global" or "source:NAME", NAME 1..64 printable ASCII
 * characters without spaces; else 0. Pure. */
int	 observables_scope_valid(const char *scope);

/* One page of a search: the cases touching the value first, newest
 * first, then its alerts, newest first. */
struct observables_search {
	json_object	*observable;  /* its API shape; NULL if never seen */
	json_object	*hits;        /* array, owned */
	long long	 total;       /* cases + alerts */
	int		 has_more;
	char		 next_cursor[PAGE_SEQ_CURSOR_LEN];
};
/* Search tenant_id's cases and alerts for the normalised value norm of
 * type t: up to limit hits after cursor (NULL: from the first), into
 * *out (free with observables_search_free, also after an error). 0 or a
 * DB_* code. */
int	 observables_search(struct db *, const char *tenant_id,
	    enum observable_type t, const char *norm, size_t len,
	    const char *cursor, long limit, struct observables_search *out);
void	 observables_search_free(struct observables_search *);

/* Which suppressions a list shows. */
enum observables_state {
	OBSERVABLES_ACTIVE = 0,   /* until after now */
	OBSERVABLES_EXPIRED,      /* until at or before now */
	OBSERVABLES_ALL,
};

/* A page of suppressions, items in their API shape. */
struct observables_page {
	json_object	*items;      /* array, owned */
	long long	 total;
	int		 has_more;
	char		 next_cursor[PAGE_SEQ_CURSOR_LEN];
};
/* Up to limit of tenant_id's suppressions in state at now, newest first,
 * before seq before, into *out (free with observables_page_free, also
 * after an error). 0 or a DB_* code. */
int	 observables_suppressions(struct db *, const char *tenant_id,
	    enum observables_state state, time_t now, long long before,
	    long limit, struct observables_page *out);
void	 observables_page_free(struct observables_page *);

/* A new suppression (borrowed): value normalised, scope
 * observables_scope_valid, until after now and at most
 * OBSERVABLES_UNTIL_MAX_DAYS ahead (the caller checks all three). */
struct observables_suppress_in {
	enum observable_type	 type;
	const char		*value;
	size_t			 len;
	const char		*scope;
	time_t			 until;
};
/* Write the suppression with its audit entry "observable.suppress"
 * (actor) in one transaction; *out its API shape (caller puts). 0 or a
 * DB_* code. */
int	 observables_suppress(struct db *, const char *tenant_id,
	    const struct observables_suppress_in *, const char *actor,
	    time_t now, json_object **out);

/* Delete the tenant's suppression id (expired or not) with the audit
 * entry "observable.unsuppress": 1 deleted, 0 no such suppression, or a
 * DB_* code. */
int	 observables_unsuppress(struct db *, const char *tenant_id,
	    const char *id, const char *actor);

#endif
