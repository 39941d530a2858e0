/* channels.h: a tenant's notification channels (/api/v1/channels).
 *
 * A channel is a row of the webhooks table of a kind: "webhook" (a signed
 * webhook, the same as /webhooks registers: id "wh_…"), or "slack",
 * "teams", "email" and "pagerduty" (id "ch_…"). Every kind goes through
 * the one outbox, fan-out, deliveries, leases, retries, dead letters,
 * failure clock and SSRF guard of vigil-spool (spool.h); only the sending
 * differs (notify.h renders the message from the templates).
 *
 * What is secret (a Slack or Teams URL, a PagerDuty routing key, an SMTP
 * password, a webhook's signing secret) is sealed with AES-256-GCM under
 * secret_key_file (aad: the channel id) and never returned; what is not
 * (config) is shown as given. Every change is written with its audit
 * entry in one transaction that takes the tenant's row lock first, as
 * webhooks.c's. Delete, enable and test are webhooks.c's (webhooks_delete,
 * _enable, _test take a channel's id).
 */
#ifndef VIGIL_CHANNELS_H
#define VIGIL_CHANNELS_H

#include <time.h>
#include <json-c/json.h>

#include "vigil.h"
#include "vjson.h"
#include "vtime.h"

struct db;

#define CHANNELS_NAME_MAX      200
#define CHANNELS_FILTER_ITEMS  32    /* items of one filter list */
#define CHANNELS_TO_MAX        20    /* e-mail recipients */
#define CHANNELS_PAGERDUTY_URL "https://events.pagerduty.com/v2/enqueue"

/* A live channel. Times are RFC 3339, "" for NULL. */
struct channel {
	char	 id[VIGIL_ID_LEN];
	char	 kind[16];
	char	*name;              /* NULL if none */
	char	*target;            /* where it goes, without secrets */
	char	*events;            /* the event types: JSON array text */
	char	*config;            /* JSON object text, never secret */
	char	*filter;            /* JSON object text, NULL if none */
	char	 created_at[VTIME_RFC3339_LEN];
	char	 disabled_at[VTIME_RFC3339_LEN];
	char	*disabled_reason;
	char	 failing_since[VTIME_RFC3339_LEN];
	char	*sealed;            /* the sealed secret, never shown */
	char	*secret;            /* a webhook's generated signing secret,
	                             * set by channels_create only; wiped */
};

void	 channels_free(struct channel *);

/* The API representation: channel_id, type, name, target, config,
 * filter, created_at, disabled_at, disabled_reason, failing_since. Never
 * a secret. New object, caller puts. */
json_object *channels_to_json(const struct channel *);

/* 1 found (*out set, free with channels_free), 0 not found (id not a
 * channel id included), or a DB_* code. */
int	 channels_get(struct db *, const char *tenant_id, const char *id,
	    struct channel **out);

struct channels_page {
	json_object	*items;      /* array, owned */
	long long	 total;
	int		 has_more;
	char		 next_cursor[VIGIL_ID_LEN];
};
/* Up to limit live channels of every kind, by id, after cursor (NULL:
 * from the first). 0 or a DB_* code; free with channels_page_free. */
int	 channels_list(struct db *, const char *tenant_id,
	    const char *cursor, long limit, struct channels_page *out);
void	 channels_page_free(struct channels_page *);
/* 1 if s may be a channel id ("wh_…" or "ch_…"). Pure. */
int	 channels_id_ok(const char *s);

enum channels_outcome {
	CHANNELS_OK = 0,
	CHANNELS_NOT_FOUND,     /* 404 */
	CHANNELS_INVALID,       /* err names the field: 400 */
	CHANNELS_DB_ERROR,      /* *rc holds the DB_* code */
};

/* Create a channel from a POST body {type, name, config, filter}: each
 * kind's config is checked (URLs and hosts as webhooks_create checks
 * them, at registration and again by vigil-spool at connect time). Audit
 * "channel.create". On CHANNELS_OK *out is the new channel (with secret
 * set for a webhook whose signing secret was generated). */
enum channels_outcome channels_create(struct db *, const char *tenant_id,
	    json_object *body, const char *actor, time_t now,
	    struct channel **out, struct vjson_err *err, int *rc);

/* Change a channel from a PATCH body {name, config, filter}: config
 * members given replace those kept (secrets included; those not given
 * stay), filter replaces the filter (null: none), name (null: none);
 * type cannot change. Audit "channel.update". */
enum channels_outcome channels_update(struct db *, const char *tenant_id,
	    const char *id, json_object *body, const char *actor,
	    struct channel **out, struct vjson_err *err, int *rc);

/* --- filters (pure) ------------------------------------------------------ */

/* Whether an event passes a channel's filter (a JSON object as stored;
 * NULL: every event its types allow): min_severity (critical > high >
 * medium > low > info; an event without a severity passes only without
 * one), environments, sources (the event's must be listed), tags ("key"
 * or "key=value": the event's tags, an object or an array of strings,
 * must hold one of them). severity, environment, source may be NULL,
 * tags is JSON text or NULL. 1 or 0. */
int	 channels_filter_match(json_object *filter, const char *severity,
	    const char *environment, const char *source, const char *tags);

/* The rank of a severity name (info 0 … critical 4), -1 if none. */
int	 channels_severity_rank(const char *s);

#endif
