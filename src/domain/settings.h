/* settings.h: a tenant's settings: the auto-remediation opt-in, the scan
 * interval, the rate-limit overrides (kept on the tenants row, where the
 * authentication statement reads them) and the IP allowlist. The rules on
 * their values live here, so that every caller applies the same ones;
 * settings_put writes a change and its audit entry in one transaction. */
#ifndef VIGIL_SETTINGS_H
#define VIGIL_SETTINGS_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#include "cidr.h"
#include "vtime.h"

struct db;

#define SETTINGS_SCAN_DEFAULT   60      /* minutes, when none is stored */
#define SETTINGS_SCAN_MIN       5
#define SETTINGS_SCAN_MAX       1440
/* A tenant's rate limits per key and minute (tenants.rate_read_per_min,
 * rate_write_per_min), whoever sets them: PUT /api/v1/settings and
 * vigilctl tenant limits take the same bounds. */
#include "tenants.h"

#define SETTINGS_RATE_MIN       1
#define SETTINGS_RATE_MAX       TENANTS_LIMIT_MAX
#define SETTINGS_ALLOWLIST_MAX  100     /* entries */
#define SETTINGS_CIDR_MAX       CIDR_TEXT_MAX   /* bytes of an entry as sent */

/* One tenant's settings as stored, the defaults where none are. */
struct settings {
	int		 auto_remediate;
	long long	 scan_interval;         /* minutes */
	long long	 rate_read;             /* 0: the configured default */
	long long	 rate_write;            /* 0: the configured default */
	long long	 rate_ingest;           /* 0: the configured default */
	json_object	*allowlist;             /* owned: an array */
	char		 updated_at[VTIME_SQL_LEN];   /* "" if never */
};

/* A partial update: each set_* says whether to touch the value after it.
 * Strings are borrowed. */
struct settings_change {
	int		 set_auto_remediate;
	int		 auto_remediate;
	int		 set_scan_interval;
	long long	 scan_interval;
	int		 set_rate_read;
	long long	 rate_read;             /* 0: back to the default */
	int		 set_rate_write;
	long long	 rate_write;            /* 0: back to the default */
	int		 set_rate_ingest;
	long long	 rate_ingest;           /* 0: back to the default */
	int		 set_allowlist;
	const char *const *allowlist;           /* entries as written */
	size_t		 nallowlist;
	/* With guard, a non-empty allowlist must include client (NULL: the
	 * address is unknown, so any non-empty list is refused): the API's
	 * guard against an admin locking the tenant out by mistake. */
	int		 guard;
	const struct cidr *client;
};

/* Which value broke which rule: field is its API name ("ip_allowlist[2]",
 * "rate_limits.read_per_min"), message a sentence naming it. */
struct settings_err {
	char	 field[64];
	char	 message[256];
};

/* Outcome of settings_check and settings_put. */
enum settings_outcome {
	SETTINGS_OK = 0,        /* valid (settings_put: written) */
	SETTINGS_INVALID,       /* a value breaks a rule: see the err */
	SETTINGS_LOCKOUT,       /* the guarded client is not in the list */
	SETTINGS_DB_ERROR,      /* *rc holds the DB_* code */
};

/* Load a tenant's settings: 1 (*out set, free with settings_free), 0 if
 * the tenant does not exist, or a DB_* code (< 0). */
int	 settings_get(struct db *, const char *tenant_id,
	    struct settings **out);
void	 settings_free(struct settings *);

/* The API representation: allow_auto_remediate, scan_interval_minutes,
 * rate_limits {read_per_min, write_per_min, ingest_per_min} (null: the
 * default),
 * ip_allowlist, updated_at (RFC 3339 or null). New object, caller puts. */
json_object *settings_to_json(const struct settings *);

/* Check c against the rules above: the ranges, at most
 * SETTINGS_ALLOWLIST_MAX entries, each one cidr_canon accepts and none
 * repeated, and the guard. When c sets an allowlist, *list is its
 * canonical form, a new array the caller puts (NULL otherwise, and on
 * any outcome but SETTINGS_OK). SETTINGS_OK, SETTINGS_INVALID with e
 * filled, or SETTINGS_LOCKOUT. Pure. */
enum settings_outcome settings_check(const struct settings_change *c,
	    json_object **list, struct settings_err *e);

/* Apply c to the tenant's settings in one transaction: check it
 * (settings_check), lock and merge it onto what is stored, write both
 * rows and the settings.update audit entry (actor, e.g. "key:…"; its
 * detail is settings_to_json of the result), commit. On SETTINGS_OK
 * *after is the new settings (free with settings_free); e is filled on
 * SETTINGS_INVALID, *rc on SETTINGS_DB_ERROR. */
enum settings_outcome settings_put(struct db *, const char *tenant_id,
	    const struct settings_change *c, const char *actor, time_t now,
	    struct settings_err *e, struct settings **after, int *rc);

/* The stored allowlist text (NULL: none stored) read for enforcement
 * into list (room for SETTINGS_ALLOWLIST_MAX): 1 with *n entries (0:
 * every address allowed), or 0 if it is not an array of addresses and
 * ranges, which PUT never stores but a hand edit might: the caller
 * refuses rather than read it as "no list". Pure. */
int	 settings_allowlist_parse(const char *text, struct cidr *list,
	    size_t *n);
/* The tenant's stored allowlist, read fresh, as settings_allowlist_parse
 * reads it: 1 or 0 as it returns, or a DB_* code. */
int	 settings_allowlist(struct db *, const char *tenant_id,
	    struct cidr *list, size_t *n);

#endif
