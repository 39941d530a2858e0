/* webhooks.h: a tenant's webhooks, where its events are delivered. Each
 * change (register, delete, enable, test) writes the row, its audit
 * entry and its events in one transaction that holds the tenant's row
 * lock first, as every writer of a webhook or an event does. A webhook's
 * shared secret is sealed with AES-256-GCM (aad: the webhook id) under
 * vigil.conf's secret_key_file and never read back here; vigil-spool
 * (spool.c) opens it to sign. */
#ifndef VIGIL_WEBHOOKS_H
#define VIGIL_WEBHOOKS_H

#include <time.h>
#include <json-c/json.h>

#include "vigil.h"
#include "vjson.h"
#include "vtime.h"

struct db;

#define WEBHOOKS_EVENTS_MAX   32    /* subscriptions of one webhook */
#define WEBHOOKS_SECRET_MIN   8
#define WEBHOOKS_SECRET_MAX   256

/* A live (not deleted) webhook. Times are RFC 3339, "" for NULL. */
struct webhook {
	char	 id[VIGIL_ID_LEN];
	char	*url;
	char	*events;            /* its subscriptions: JSON array text */
	char	 created_at[VTIME_RFC3339_LEN];
	char	 disabled_at[VTIME_RFC3339_LEN];   /* "" when enabled */
	char	*disabled_reason;   /* NULL if none */
	char	 failing_since[VTIME_RFC3339_LEN]; /* "" unless failing */
	char	*secret;            /* the generated secret, set by
	                             * webhooks_create only; wiped on free */
};

/* Load one live webhook of a tenant: 1 found (*out set, free with
 * webhooks_free), 0 not found (id not even a webhook id included), or a
 * DB_* code (< 0). */
int	 webhooks_get(struct db *, const char *tenant_id, const char *id,
	    struct webhook **out);
void	 webhooks_free(struct webhook *);

/* The API representation: webhook_id, url, events, created_at, and with
 * full disabled_at, disabled_reason and failing_since. Never the
 * secret. New object, caller puts. */
json_object *webhooks_to_json(const struct webhook *, int full);

/* A page of a list, items in their API shape. */
struct webhooks_page {
	json_object	*items;      /* array, owned */
	long long	 total;
	int		 has_more;
	char		 next_cursor[VIGIL_ID_LEN]; /* "" unless has_more */
};
/* Up to limit live webhooks of a tenant (full shape), oldest first,
 * after the id cursor (NULL: from the first), into *out (free with
 * webhooks_page_free, also after an error). 0 or a DB_* code. */
int	 webhooks_list(struct db *, const char *tenant_id,
	    const char *cursor, long limit, struct webhooks_page *out);
void	 webhooks_page_free(struct webhooks_page *);

/* Outcome of a change. */
enum webhooks_outcome {
	WEBHOOKS_OK = 0,
	WEBHOOKS_NOT_FOUND,     /* no such live webhook: 404 */
	WEBHOOKS_INVALID,       /* err names the field and says why: 400 */
	WEBHOOKS_DB_ERROR,      /* *rc holds the DB_* code: 500/503 */
};

/* What registering a webhook takes (borrowed). */
struct webhooks_new {
	const char	*url;
	json_object	*events;    /* array of names, 1..WEBHOOKS_EVENTS_MAX */
	const char	*secret;    /* NULL: one is generated */
};

/* Register a webhook: the subscriptions must be events_subscription_valid
 * (repeats dropped), the secret usable by both signatures, the url one
 * netguard allows with every address its host resolves to allowed, and
 * the server must have a secret_key_file; otherwise WEBHOOKS_INVALID.
 * It gets the events committed after it (created_seq). Written with the
 * audit entry "webhook.create" (actor). On WEBHOOKS_OK *out is the new
 * webhook with its secret set when it was generated (free with
 * webhooks_free). */
enum webhooks_outcome webhooks_create(struct db *, const char *tenant_id,
	    const struct webhooks_new *, const char *actor, time_t now,
	    struct webhook **out, struct vjson_err *err, int *rc);

/* For channels.c, which registers every kind of channel in the same
 * table: webhooks_target_check judges a URL as webhooks_create does
 * (scheme, form, then every address of its host; err names field),
 * webhooks_host_check a bare host name (an SMTP server), both 0 or -1;
 * webhooks_url_host copies the host of a URL the first accepted (0 or
 * -1); webhooks_secret_usable is 1 if a secret can sign. */
int	 webhooks_target_check(const char *url, const char *field,
	    struct vjson_err *err);
int	 webhooks_host_check(const char *host, const char *field,
	    struct vjson_err *err);
int	 webhooks_url_host(const char *url, char *host, size_t hostsz);
int	 webhooks_secret_usable(const char *secret);

/* Delete, enable and test take a webhook's id ("wh_") or a notification
 * channel's ("ch_", channels.h): a channel is a row of webhooks of
 * another kind, audited as channel.delete, .enable, .test. */

/* Soft-delete a live webhook; its pending deliveries fail with "webhook
 * deleted"; audit "webhook.delete". WEBHOOKS_OK, _NOT_FOUND or
 * _DB_ERROR. */
enum webhooks_outcome webhooks_delete(struct db *, const char *tenant_id,
	    const char *id, const char *actor, time_t now, int *rc);

/* Enable a webhook vigil-spool disabled: it gets deliveries again from
 * the events committed after this, its failure clock starts over; audit
 * "webhook.enable" with the reason being cleared. An enabled one is left
 * as it is. On WEBHOOKS_OK *out is the webhook as it now is (free with
 * webhooks_free). */
enum webhooks_outcome webhooks_enable(struct db *, const char *tenant_id,
	    const char *id, const char *actor, struct webhook **out, int *rc);

/* A webhook.test event for a live webhook (data.webhook_id names it; the
 * spooler delivers it to that webhook alone) with the audit entry
 * "webhook.test". On WEBHOOKS_OK event_id (VIGIL_ID_LEN) holds the
 * event's id. */
enum webhooks_outcome webhooks_test(struct db *, const char *tenant_id,
	    const char *id, const char *actor, time_t now, char *event_id,
	    int *rc);

#endif
