/* auth.c: API keys in, tenant and scopes out, with the request counted
 * against the key's rate limit: in the pool's shared table (ratetable.c),
 * which asks the database about once a second whether the key may still
 * be used, or, without a pool, in the same statement that checks it. */
#include "vigil.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "conf.h"
#include "crypto.h"
#include "keyauth.h"
#include "keys.h"
#include "metrics.h"
#include "ratelimit.h"
#include "ratetable.h"
#include "vtime.h"

#define KEY_PREFIX "vgl_"
#define KEY_LEN    44      /* "vgl_" + 40 base62 */

const char *
auth_key_from(const struct request *r)
{
	const char *a = r->authorization;

	if (r->x_license_key != NULL && *r->x_license_key != '\0')
		return r->x_license_key;
	if (r->x_api_key != NULL && *r->x_api_key != '\0')
		return r->x_api_key;
	if (a != NULL && strncasecmp(a, "Bearer ", 7) == 0) {
		a += 7;
		while (*a == ' ')
			a++;
		return *a ? a : NULL;
	}
	return NULL;
}

/* 1 if k looks like a Vigil key; checked before any hashing or query. */
static int
key_wellformed(const char *k)
{
	size_t i;

	if (strlen(k) != KEY_LEN || strncmp(k, KEY_PREFIX, 4) != 0)
		return 0;
	for (i = 4; i < KEY_LEN; i++) {
		char c = k[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z')))
			return 0;
	}
	return 1;
}

void
auth_actor(const struct request *r, char *out, size_t outsz)
{
	snprintf(out, outsz, "key:%s", r->auth.key_id);
}

static void
unauthorized(struct request *r)
{
	response_error(r, 401, "invalid_license_key",
	    "The provided license key is invalid or has been revoked.", NULL);
}

/*
 * What a key is (its id, tenant, scopes and expiry) never changes once
 * created, so each worker keeps what it has looked up. Whether the key may
 * still be used (revoked, expired) is decided by the database: on every
 * request without a pool; in a pool, whenever the shared table syncs the
 * key (at least once a second, and before the next request after a
 * revocation through this pool), with the expiry checked here every time.
 */
#define AUTH_CACHE 64

struct auth_entry {
	char		hash[CRYPTO_SHA256_HEX];
	struct keyauth	key;
};

/* The host's shared counters, set once in each worker before it serves
 * anything (process configuration, like g_conf): the pool's, or those of
 * mod_fcgid's processes of one vigil.conf; NULL without either. */
static struct ratetable *rtable;

void
auth_use_ratetable(struct ratetable *t)
{
	rtable = t;
}

/* This worker's slot in the shared table (-1: none, as under mod_fcgid,
 * which reads a whole body before it passes a request on) and the
 * per-tenant cap on workers waiting on bodies; -1 while this worker waits
 * on none. */
static int wait_slot = -1, wait_cap, waiting = -1;

void
auth_use_wait_slot(int slot, int cap)
{
	wait_slot = slot;
	wait_cap = cap > 0 ? cap : 1;
	if (rtable != NULL && wait_slot >= 0)
		ratetable_wait_end(rtable, (unsigned)wait_slot);
}

int
auth_wait_begin(struct request *r)
{
	if (rtable == NULL || wait_slot < 0 || waiting >= 0 ||
	    r->auth.tenant_id[0] == '\0')
		return 0;
	if (!ratetable_wait_begin(rtable, (unsigned)wait_slot,
	    r->auth.tenant_id, wait_cap)) {
		metrics_refused(METRICS_RL_BODY_WAIT);
		response_error(r, 429, "rate_limited",
		    "Too many of this tenant's requests are waiting for their "
		    "bodies; send the body with the request, or retry after "
		    "the time given in the Retry-After header.", NULL);
		response_header(r, "Retry-After", "%ld",
		    (long)(g_conf.request_timeout_ms + 999) / 1000);
		return -1;
	}
	waiting = wait_slot;
	return 0;
}

void
auth_wait_end(void)
{
	if (waiting >= 0 && rtable != NULL)
		ratetable_wait_end(rtable, (unsigned)waiting);
	waiting = -1;
}

void
auth_forget_key(const char *key_id)
{
	if (rtable != NULL)
		ratetable_forget_key(rtable, key_id);
}

void
auth_forget_tenant(const char *tenant_id)
{
	if (rtable != NULL)
		ratetable_forget_tenant(rtable, tenant_id);
}

static struct auth_entry cache[AUTH_CACHE];
static unsigned cache_next;

/* The cached entry of a key hash, or NULL. */
static const struct auth_entry *
cache_find(const char *hash)
{
	size_t i;

	for (i = 0; i < AUTH_CACHE; i++)
		if (cache[i].hash[0] != '\0' &&
		    strcmp(cache[i].hash, hash) == 0)
			return &cache[i];
	return NULL;
}

static void
cache_put(const char *hash, const struct keyauth *k)
{
	struct auth_entry *e = &cache[cache_next++ % AUTH_CACHE];

	snprintf(e->hash, sizeof(e->hash), "%s", hash);
	e->key = *k;
}

/* Look up what key hash is into a and when it expires (0: never); 1
 * found, 0 unknown, or a DB_* code. *expires is set on every path, so
 * that no caller reads an unset value whatever the return. */
static int
identify(struct db *db, const char *hash, struct auth *a,
    long long *expires)
{
	const struct auth_entry *c;
	struct keyauth k;
	int rc;

	*expires = 0;
	if ((c = cache_find(hash)) != NULL) {
		*a = c->key.auth;
		*expires = c->key.expires;
		return 1;
	}
	if ((rc = keyauth_lookup(db, hash, &k)) != 1)
		return rc;
	*a = k.auth;
	*expires = k.expires;
	cache_put(hash, &k);
	return 1;
}

/* Without a shared table (plain CGI, or a mod_fcgid process that could
 * not have one), or with it full: check and count in one
 * statement (r->auth already says what the key is). 0 with *count and
 * *limit set, or -1 after answering. */
static int
count_in_db(struct request *r, struct db *db, const char *hash,
    const char *class, long deflimit, long *count, long *limit)
{
	int rc;

	if ((rc = keyauth_count(db, hash, class, deflimit, count,
	    limit)) == 1)
		return 0;
	if (rc == 0)
		unauthorized(r);
	else
		api_db_error(r, rc);
	return -1;
}

/*
 * With a shared table (the pool's, or mod_fcgid's processes'): count in
 * it, syncing with the database when
 * it says so (r->auth already says what the key is, expires when it
 * ends). 0 with *count, *limit and *window set, or -1 after answering; 1
 * when the table has no room: count in the database.
 */
static int
count_shared(struct request *r, struct db *db, const char *hash,
    const char *class, long deflimit, time_t now, long long expires,
    long *count, long *limit, long *window, int *first)
{
	struct ratetable_ticket tk;
	long total, override;
	int rc;

	/* As the database would: a key is usable until its expiry. */
	if (expires != 0 && (long long)now >= expires) {
		unauthorized(r);
		return -1;
	}
	switch (ratetable_count(rtable, hash, class[0], r->auth.key_id,
	    r->auth.tenant_id, deflimit, ratelimit_window(now),
	    vtime_mono_us() / 1000, &tk)) {
	case RATETABLE_NONE:
		return 1;
	case RATETABLE_COUNTED:
		break;
	case RATETABLE_SYNC:
		rc = keyauth_sync(db, hash, class, tk.window, tk.delta, &total,
		    &override);
		if (rc < 0) {
			ratetable_sync_failed(rtable, &tk);
			api_db_error(r, rc);
			return -1;
		}
		ratetable_synced(rtable, &tk, rc, total, override,
		    vtime_mono_us() / 1000);
		if (rc == 0) {
			unauthorized(r);
			return -1;
		}
		break;
	}
	*count = tk.count;
	*limit = tk.override > 0 ? tk.override : deflimit;
	*window = tk.window;
	*first = tk.first;
	return 0;
}

int
auth_check(struct request *r, struct db *db, unsigned scope)
{
	const char *key = auth_key_from(r);
	struct ratelimit rl;
	char hash[CRYPTO_SHA256_HEX];
	const char *class;
	time_t now = time(NULL);
	long deflimit, limit = 0, count = 0, window = ratelimit_window(now);
	long long expires;
	int rc = 1, first;

	if (key == NULL || !key_wellformed(key)) {
		unauthorized(r);
		return -1;
	}
	/* Keys are looked up by their SHA-256 through an index: nothing is
	 * compared byte by byte against the key itself, so timing reveals
	 * nothing about it. */
	crypto_sha256_hex(key, strlen(key), hash);
	if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) {
		class = "read";
		deflimit = g_conf.rate_read_per_min;
	} else {
		class = "write";
		deflimit = g_conf.rate_write_per_min;
	}
	/* What the key is (each worker remembers), then the tenant's IP
	 * allowlist before anything is counted or touched: a leaked key used
	 * from elsewhere must not spend the owner's rate limit nor look
	 * used. Whether the key is still usable is the count's question. */
	if ((rc = identify(db, hash, &r->auth, &expires)) <= 0) {
		if (rc == 0)
			unauthorized(r);
		else
			api_db_error(r, rc);
		return -1;
	}
	/* A key that is one of ours: its prefix, as stored and listed
	 * (keys.c), names it in the access log. */
	snprintf(r->key_prefix, sizeof(r->key_prefix), "%.*s",
	    KEYS_PREFIX_LEN, key);
	/* A forwarder's key at the ingest routes is not throttled like a
	 * person's: its own class and limit. */
	if (scope == SCOPE_INGEST && (r->auth.scopes & SCOPE_INGEST)) {
		class = "ingest";
		deflimit = g_conf.rate_ingest_per_min;
	}
	if (allowlist_check(r, db, hash) != 0)
		return -1;
	rc = 1;
	if (rtable != NULL && (rc = count_shared(r, db, hash, class,
	    deflimit, now, expires, &count, &limit, &window, &first)) < 0)
		return -1;
	if (rc > 0) {
		if (count_in_db(r, db, hash, class, deflimit, &count,
		    &limit) != 0)
			return -1;
		first = count == 1;
	}
	/* The first request of a window records the key's use: at most one
	 * durable write per key and minute (and host, with a pool). A
	 * failure here loses nothing that matters. */
	if (first)
		keyauth_touch(db, r->auth.key_id);
	ratelimit_decide(limit, count, window, now, &rl);
	r->rl_set = 1;
	r->rl_limit = rl.limit;
	r->rl_remaining = rl.remaining;
	r->rl_reset = rl.reset;
	if (scope == SCOPE_INGEST ?
	    (r->auth.scopes & (SCOPE_INGEST | SCOPE_WRITE)) == 0 :
	    (r->auth.scopes & scope) != scope) {
		response_error(r, 403, "insufficient_scope",
		    "This key lacks the scope this operation needs.", NULL);
		return -1;
	}
	if (!rl.allowed) {
		metrics_refused(class[0] == 'r' ? METRICS_RL_READ :
		    class[0] == 'w' ? METRICS_RL_WRITE : METRICS_RL_INGEST);
		response_error(r, 429, "rate_limited",
		    "Too many requests. Back off and retry after the time "
		    "given in the Retry-After header.", NULL);
		response_header(r, "Retry-After", "%ld", rl.retry_after);
		return -1;
	}
	return 0;
}
