/* allowlist.c: the tenant's IP allowlist (ip_allowlist of PUT
 * /api/v1/settings), enforced on every authenticated request.
 *
 * The client address is REMOTE_ADDR (the web server's peer) unless that
 * peer is one of vigil.conf's trusted_proxies; then it is the right-most
 * X-Forwarded-For entry not itself a trusted proxy (cidr_client). An
 * empty allowlist allows every address. Each worker keeps a tenant's list
 * for up to a second; a change through PUT /api/v1/settings applies in
 * that worker at once and in the others within the second. */
#include "vigil.h"

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "cidr.h"
#include "conf.h"
#include "keyauth.h"
#include "log.h"
#include "settings.h"
#include "vtime.h"

#define AL_CACHE   64
#define AL_TTL_MS  1000

struct al_entry {
	char		 tenant[VIGIL_ID_LEN];
	long long	 at_ms;         /* monotonic; 0 = free */
	int		 broken;        /* stored, but not a list we can read */
	size_t		 n;
	struct cidr	 list[SETTINGS_ALLOWLIST_MAX];
};

static struct al_entry cache[AL_CACHE];
static unsigned cache_next;

/* vigil.conf's trusted_proxies, parsed again when a reload changed it. */
static char trusted_text[sizeof(g_conf.trusted_proxies)];
static struct cidr trusted[CONF_CIDRS_MAX];
static size_t ntrusted;
static int trusted_init;

static void
trusted_refresh(void)
{
	int n;

	if (trusted_init && strcmp(trusted_text, g_conf.trusted_proxies) == 0)
		return;
	snprintf(trusted_text, sizeof(trusted_text), "%s",
	    g_conf.trusted_proxies);
	n = conf_cidrs(trusted_text, trusted, CONF_CIDRS_MAX);
	ntrusted = n > 0 ? (size_t)n : 0;
	trusted_init = 1;
}

int
allowlist_client(const struct request *r, struct cidr *out)
{
	trusted_refresh();
	return cidr_client(r->remote_addr, r->x_forwarded_for, trusted,
	    ntrusted, out);
}

void
allowlist_forget(const char *tenant_id)
{
	size_t i;

	for (i = 0; i < AL_CACHE; i++)
		if (strcmp(cache[i].tenant, tenant_id) == 0)
			cache[i].at_ms = 0;
}

/* The tenant's entry, fresh; NULL after answering a database error. */
static const struct al_entry *
al_get(struct request *r, struct db *db)
{
	struct al_entry *e = NULL;
	struct cidr list[SETTINGS_ALLOWLIST_MAX];
	long long now = vtime_mono_us() / 1000;
	size_t i, n;
	int rc;

	for (i = 0; i < AL_CACHE; i++)
		if (cache[i].at_ms != 0 &&
		    strcmp(cache[i].tenant, r->auth.tenant_id) == 0) {
			if (now - cache[i].at_ms < AL_TTL_MS)
				return &cache[i];
			e = &cache[i];
			break;
		}
	if ((rc = settings_allowlist(db, r->auth.tenant_id, list, &n)) < 0) {
		api_db_error(r, rc);
		return NULL;
	}
	if (e == NULL)
		e = &cache[cache_next++ % AL_CACHE];
	snprintf(e->tenant, sizeof(e->tenant), "%s", r->auth.tenant_id);
	/* A stored text that cannot be read (PUT never stores one; a hand
	 * edit might) marks the entry broken: refused, never read as "no
	 * list". */
	e->broken = rc == 0;
	memcpy(e->list, list, n * sizeof(list[0]));
	e->n = n;
	e->at_ms = now > 0 ? now : 1;
	return e;
}

int
allowlist_check(struct request *r, struct db *db, const char *key_hash)
{
	const struct al_entry *e;
	struct cidr client;
	int rc;

	if ((e = al_get(r, db)) == NULL)
		return -1;
	if (e->broken)
		log_err("tenant %s: its stored ip_allowlist cannot be read; "
		    "refusing its requests until it is set again",
		    r->auth.tenant_id);
	else if (e->n == 0 || (allowlist_client(r, &client) &&
	    cidr_list_contains(e->list, e->n, &client)))
		return 0;
	/* About to refuse: a key that is no longer usable gets the 401 it
	 * would get from anywhere, so the 403 says nothing about it. */
	if ((rc = keyauth_usable(db, key_hash)) < 0) {
		api_db_error(r, rc);
		return -1;
	}
	if (rc == 0) {
		response_error(r, 401, "invalid_license_key",
		    "The provided license key is invalid or has been revoked.",
		    NULL);
		return -1;
	}
	response_error(r, 403, "ip_not_allowed", e->broken ?
	    "This tenant's IP allowlist cannot be read; ask the operator." :
	    "This tenant's IP allowlist does not include the address this "
	    "request comes from.", NULL);
	return -1;
}
