/* keys.h: a tenant's API keys in the database. POST/GET/DELETE
 * /api/v1/api-keys and vigilctl key create/list/revoke all go through
 * these functions, so a key is made, listed, revoked and audited by the
 * same rules whichever way it is asked for. */
#ifndef VIGIL_KEYS_H
#define VIGIL_KEYS_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#include "vigil.h"

struct db;

#define KEYS_MAX_ACTIVE  10     /* active keys a tenant may have */
#define KEYS_NAME_MAX    100    /* characters (code points) in a name */
#define KEYS_PREFIX_LEN  12     /* "vgl_" + 8: what lists show */
#define KEYS_SECRET_LEN  45     /* "vgl_" + 40 base62 + NUL */
#define KEYS_SCOPES_ALL  (SCOPE_READ | SCOPE_WRITE | SCOPE_ADMIN | SCOPE_INGEST)

/* A key as stored (never its hash). Strings are owned; the times are the
 * database's "YYYY-MM-DD HH:MM:SS" (UTC), NULL when there is none. */
struct key_row {
	char		*id;
	char		*name;
	char		*prefix;
	unsigned	 scopes;          /* SCOPE_* bits */
	char		*created_at;
	char		*last_used_at;
	char		*expires_at;
	char		*revoked_at;
	char		*secret;          /* keys_create only: the key itself,
	                                   * shown once; wiped by keys_free */
};

/* A list of keys (owned; free with keys_page_free). */
struct keys_page {
	struct key_row	**items;
	size_t		 n;
	long long	 total;           /* active keys of the tenant */
	int		 has_more;        /* another page after items[n - 1] */
};

/* 1 if name is a key name: 1 to KEYS_NAME_MAX characters of valid UTF-8
 * without a control character (text_control). Pure. */
int	 keys_name_ok(const char *name);
/* The scope set as stored and printed: "read,write,admin" in that order,
 * the ones in bits only, into out (at least 17 bytes). Pure. */
void	 keys_scopes_text(unsigned bits, char *out, size_t outsz);
/* The SCOPE_* bits of a scope set as stored ("read,admin"; NULL: none);
 * names it does not know add nothing. Pure. */
unsigned keys_scopes_parse(const char *set);
/* The scopes as the API shows them, ["read","write"]. New array. */
json_object *keys_scopes_json(unsigned bits);

/* The API's list shape of a key: id, name, prefix, scopes, created_at,
 * last_used_at, expires_at (RFC 3339 or null). New object, caller puts. */
json_object *keys_to_json(const struct key_row *);
/* The API's answer to a creation, the only one that shows the key: id,
 * key, prefix, name, scopes, created_at, expires_at. New object. */
json_object *keys_created_json(const struct key_row *);

enum keys_outcome {
	KEYS_OK = 0,
	KEYS_BAD_NAME,          /* see keys_name_ok */
	KEYS_BAD_SCOPES,        /* none, or a bit that is no scope */
	KEYS_BAD_EXPIRY,        /* expires_at not after now */
	KEYS_NOT_HELD,          /* a scope outside may_grant */
	KEYS_LIMIT,             /* KEYS_MAX_ACTIVE active keys already */
	KEYS_NOT_FOUND,         /* no such (active) key of the tenant */
	KEYS_DB_ERROR,          /* *rc holds the DB_* code */
};

/* What to create. */
struct keys_new {
	const char	*name;
	unsigned	 scopes;          /* SCOPE_* bits */
	int		 expires;         /* 0: never; 1: at expires_at */
	time_t		 expires_at;
	/* The scopes the creator may give: a key over the API grants only
	 * what it holds itself; vigilctl, the operator's, KEYS_SCOPES_ALL. */
	unsigned	 may_grant;
};

/* Create a key of tenant_id, checked in this order: name, scopes, expiry
 * (after now), may_grant; then, under the tenant row's lock, fewer than
 * KEYS_MAX_ACTIVE active keys; then the row and its api_key.create audit
 * entry (detail {name, scopes: [...], prefix}; actor as recorded, e.g.
 * "key:key_…" or "vigilctl:user") in one transaction. On KEYS_OK *out is
 * the new key with its secret (caller frees with keys_free, which wipes
 * it). *rc gets the code on KEYS_DB_ERROR. */
enum keys_outcome keys_create(struct db *, const char *tenant_id,
	    const struct keys_new *, const char *actor, time_t now,
	    struct key_row **out, int *rc);

/* Revoke an active key: of tenant_id, or with tenant_id NULL of whichever
 * tenant holds it (vigilctl). Under the tenant row's lock, with its
 * api_key.revoke audit entry in the same transaction. On KEYS_OK *out is
 * the revoked key (revoked_at set; caller frees with keys_free);
 * KEYS_NOT_FOUND if there is no such active key (a malformed id
 * included); KEYS_DB_ERROR with *rc. */
enum keys_outcome keys_revoke(struct db *, const char *tenant_id,
	    const char *id, const char *actor, struct key_row **out, int *rc);

/* One key of a tenant, revoked or not: 1 found (*out owned, free with
 * keys_free), 0 not found, or a DB_* code (< 0). */
int	 keys_get(struct db *, const char *tenant_id, const char *id,
	    struct key_row **out);
void	 keys_free(struct key_row *);

/* The page GET /api-keys shows: up to limit active keys with ids after
 * `after` (NULL: from the first), oldest first, and total = the active
 * keys of the tenant (what KEYS_MAX_ACTIVE limits). 0 with *out set
 * (caller frees with keys_page_free), or a DB_* code. */
int	 keys_page_active(struct db *, const char *tenant_id,
	    const char *after, long limit, struct keys_page **out);
/* Every key of a tenant, revoked and expired ones too, oldest first
 * (vigilctl key list); total is n. 0 or a DB_* code. */
int	 keys_list_all(struct db *, const char *tenant_id,
	    struct keys_page **out);
void	 keys_page_free(struct keys_page *);

#endif
