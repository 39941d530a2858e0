/* keyauth.h: an API key at request time, by the SHA-256 of the key as
 * sent: what it is, whether it may still be used, and its requests
 * counted against its tenant's rate limit in the database. vigil-api's
 * authentication (cgi/auth.c, cgi/allowlist.c) asks the database only
 * through these; each is one statement (a deadlock victim is run once
 * more) and allocates nothing but the result it reads. Keys are made,
 * listed and revoked by keys.c. */
#ifndef VIGIL_KEYAUTH_H
#define VIGIL_KEYAUTH_H

#include "vigil.h"

struct db;

/* What a key is; never changes once created, so a caller may keep it. */
struct keyauth {
	struct auth	 auth;          /* key id, tenant id and name, scopes */
	long long	 expires;       /* epoch seconds; 0: never; -1: the
	                                 * epoch itself (long expired) */
};

/* What the key whose hash is hash (hex SHA-256) is, revoked or expired
 * keys included: 1 with *out set, 0 if there is no such key, or a DB_*
 * code (< 0). */
int	 keyauth_lookup(struct db *, const char *hash, struct keyauth *out);

/* Without a pool: count one request of the key in class ("read" or
 * "write") in the database clock's current minute, deflimit applying
 * unless the tenant has its own limit for the class. 1 with *count (the
 * request's number in the window) and *limit set, 0 if the key is
 * unknown, revoked or expired (nothing counted), or a DB_* code. */
int	 keyauth_count(struct db *, const char *hash, const char *class,
	    long deflimit, long *count, long *limit);

/* A pool's sync of its shared counts (ratetable.c): add delta (>= 1)
 * requests of the key in class to the window starting at window. 1 if
 * the key is usable, with *total (the database's count for the window
 * after the addition) and *override (the tenant's limit for the class, 0:
 * none) set; 0 if it is no longer usable (nothing added, both set to 0);
 * or a DB_* code. */
int	 keyauth_sync(struct db *, const char *hash, const char *class,
	    long window, long delta, long *total, long *override);

/* Record that key_id was used: last_used_at set to now, at most once a
 * minute (older values only). 0 or a DB_* code. */
int	 keyauth_touch(struct db *, const char *key_id);

/* Whether the key whose hash is hash may still be used, asked afresh: 1
 * usable, 0 unknown, revoked or expired, or a DB_* code. */
int	 keyauth_usable(struct db *, const char *hash);

#endif
