/* deliveries.h: webhook deliveries as the API shows them: a webhook's
 * list, and the manual retry of a failed or dead one. The spooler's side
 * (fan-out, claims, outcomes) is spool.c. */
#ifndef VIGIL_DELIVERIES_H
#define VIGIL_DELIVERIES_H

#include <time.h>
#include <json-c/json.h>

#include "vigil.h"
#include "vtime.h"

struct db;

/* One delivery. Numbers are -1 for NULL; times RFC 3339, "" for NULL. */
struct delivery {
	char	 id[VIGIL_ID_LEN];
	char	 webhook_id[VIGIL_ID_LEN];
	char	 event_id[VIGIL_ID_LEN];
	char	*event_type;
	char	*status;
	long long attempts;
	long long last_status_code;
	long long last_latency_ms;
	char	 next_attempt_at[VTIME_RFC3339_LEN];  /* "" unless pending
	                                               * or delivering */
	char	*last_error;       /* NULL if none */
};

void	 deliveries_free(struct delivery *);
/* The API representation. New object, caller puts. */
json_object *deliveries_to_json(const struct delivery *);

/* A page of a webhook's deliveries, items in their API shape. */
struct deliveries_page {
	json_object	*items;      /* array, owned */
	long long	 total;
	int		 has_more;
	char		 next_cursor[VIGIL_ID_LEN]; /* "" unless has_more */
};
/* Up to limit deliveries of a tenant's webhook, oldest first, after the
 * id cursor (NULL: from the first), into *out (free with
 * deliveries_page_free, also after an error). Whether the webhook exists
 * is webhooks_get's to say. 0 or a DB_* code. */
int	 deliveries_list(struct db *, const char *tenant_id,
	    const char *webhook_id, const char *cursor, long limit,
	    struct deliveries_page *out);
void	 deliveries_page_free(struct deliveries_page *);

enum deliveries_outcome {
	DELIVERIES_OK = 0,
	DELIVERIES_NOT_FOUND,   /* 404 */
	DELIVERIES_CONFLICT,    /* not failed or dead, or its webhook is
	                         * deleted or disabled: 409 */
	DELIVERIES_DB_ERROR,    /* *rc holds the DB_* code */
};

/* Put a failed or dead delivery of a live, enabled webhook back to
 * pending, due now, its schedule started over, with the audit entry
 * "delivery.retry". On DELIVERIES_OK *out is the delivery as this
 * transaction left it, read before the commit (a spooler may claim it
 * at once); free with deliveries_free. */
enum deliveries_outcome deliveries_retry(struct db *, const char *tenant_id,
	    const char *id, const char *actor, time_t now,
	    struct delivery **out, int *rc);

#endif
