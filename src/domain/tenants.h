/* tenants.h: tenants in the database: creating one, finding one by name,
 * listing them, and their rate-limit overrides. Used by vigilctl; the
 * limits' one writer is tenants_set_limits_tx, which PUT /settings can
 * run inside its own transaction. */
#ifndef VIGIL_TENANTS_H
#define VIGIL_TENANTS_H

#include <stddef.h>

struct db;

/* The highest per-tenant limit, in requests per minute and key: the one
 * bound of PUT /api/v1/settings and vigilctl tenant limits. */
#define TENANTS_LIMIT_MAX 100000

/* A tenant (owned strings, never NULL). A rate of 0 means none of its
 * own: the tenant follows vigil.conf's limit. */
struct tenant {
	char		*id;
	char		*name;
	char		*created_at;     /* "YYYY-MM-DD HH:MM:SS", UTC */
	long long	 rate_read;
	long long	 rate_write;
	long long	 rate_ingest;    /* an ingest key at the ingest routes */
};

/* Every tenant, by name. Owned; free with tenants_list_free. */
struct tenant_list {
	struct tenant	*items;
	size_t		 n;
};

enum tenants_outcome {
	TENANTS_OK = 0,
	TENANTS_BAD_NAME,       /* not [a-z0-9][a-z0-9_-]{0,62} */
	TENANTS_EXISTS,         /* the name is taken */
	TENANTS_BAD_LIMIT,      /* a rate outside 0..TENANTS_LIMIT_MAX */
	TENANTS_NOT_FOUND,      /* no tenant with that id */
	TENANTS_DB_ERROR,       /* *rc holds the DB_* code */
};

/* 1 if s is a valid tenant name: 1 to 63 of a-z, 0-9, '-' and '_',
 * starting with a letter or digit. Pure. */
int	 tenants_name_valid(const char *s);

/* Create a tenant called name. On TENANTS_OK *out is the new tenant
 * (caller frees with tenants_free). No audit entry: a tenant's audit
 * chain starts with its first key. *rc gets the code on
 * TENANTS_DB_ERROR. */
enum tenants_outcome tenants_create(struct db *, const char *name,
	    struct tenant **out, int *rc);

/* Look a tenant up by name: 1 found (*out owned, free with
 * tenants_free), 0 not found, or a DB_* code (< 0). */
int	 tenants_by_name(struct db *, const char *name, struct tenant **out);
void	 tenants_free(struct tenant *);

/* Every tenant ordered by name into *out (caller frees with
 * tenants_list_free): 0 or a DB_* code. */
int	 tenants_list(struct db *, struct tenant_list **out);
void	 tenants_list_free(struct tenant_list *);

/* Set a tenant's rate-limit overrides, read (GET, HEAD) and write (the
 * other methods), in requests per minute and key; 0 removes the override
 * (the tenant follows vigil.conf). In its own transaction, under the
 * tenant row's lock, with a tenant.limits audit entry by actor whose
 * detail is {"rate_limits":{"read_per_min":N|null,"write_per_min":N|null}}
 * (the shape PUT /settings shows). TENANTS_OK, TENANTS_BAD_LIMIT,
 * TENANTS_NOT_FOUND, or TENANTS_DB_ERROR with *rc set. */
enum tenants_outcome tenants_set_limits(struct db *, const char *tenant_id,
	    long long read, long long write, const char *actor, int *rc);
/* The same write alone, one statement inside the caller's transaction and
 * without an audit entry, for a caller that audits the change as part of
 * a larger one (PUT /settings and its settings.update). The caller has
 * checked the values it changes against TENANTS_LIMIT_MAX; one it keeps
 * is written back as stored (a tenant may hold a limit set before the
 * bound was lowered). An unknown id changes nothing and is not reported.
 * TENANTS_OK, TENANTS_BAD_LIMIT for a negative rate, or TENANTS_DB_ERROR
 * with *rc set. */
enum tenants_outcome tenants_set_limits_tx(struct db *, const char *tenant_id,
	    long long read, long long write, int *rc);
/* The tenant's own limit for ingest keys at the ingest routes (POST
 * /alerts, /alerts/batch), requests per minute and key, 0 to follow
 * vigil.conf's rate_ingest_per_min: as tenants_set_limits, with the
 * detail {"rate_limits":{"ingest_per_min":N|null}}. */
enum tenants_outcome tenants_set_ingest_limit(struct db *,
	    const char *tenant_id, long long ingest, const char *actor,
	    int *rc);
/* Its one statement inside the caller's transaction (PUT /settings). */
enum tenants_outcome tenants_set_ingest_tx(struct db *, const char *tenant_id,
	    long long ingest, int *rc);

#endif
