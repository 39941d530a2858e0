/* events.h: the events outbox. The one list of event types (what each
 * means, the members of its data), the patterns webhooks subscribe with
 * and GET /events filters by, and the one writer of an event: every
 * event of the product is appended by events_append in the transaction
 * of the change that caused it. */
#ifndef VIGIL_EVENTS_H
#define VIGIL_EVENTS_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

struct db;
struct db_val;

/* One event type, as doc/openapi.json's EventType lists it. */
struct events_type {
	const char	*name;       /* "finding.detected" */
	const char	*fires;      /* when it is written */
	const char	*data;       /* its data members, space-separated */
	int		 targeted;   /* delivered to data.webhook_id alone,
	                              * whatever that webhook subscribes to */
};

/* Every event type, in the order the API documents them. */
extern const struct events_type events_types[];
extern const size_t events_ntypes;
/* The patterns a webhook may subscribe with besides the types
 * themselves ("*", "finding.*", "case.*", "alert.*"), and those GET
 * /events filters by besides them (those, "scan.*" and "webhook.*"). */
extern const char *const events_subscription_patterns[];
extern const size_t events_nsubscription_patterns;
extern const char *const events_filter_patterns[];
extern const size_t events_nfilter_patterns;

/* The type named name, or NULL if there is none. Pure. */
const struct events_type *events_type(const char *name);
/* 1 if s is what a webhook may subscribe to: a type, or one of
 * events_subscription_patterns. Pure. */
int	 events_subscription_valid(const char *s);
/* 1 if a webhook subscribed to subs (a JSON array of names: exact types,
 * "prefix.*" or "*"; NULL or not an array: nothing) receives an event of
 * type. Pure. */
int	 events_match(json_object *subs, const char *type);

/* Append an event of type to tenant_id's outbox inside the caller's open
 * transaction, which must already hold the tenant's row lock
 * (SQL_KEY_LOCK_TENANT; audit_append takes it), so that the tenant's
 * events commit in seq order. The envelope is {event_id, event_type,
 * tenant_id, timestamp (at), data}; data is taken over (put even on
 * error). id is the event's id when the caller needs it before (from
 * events_id_new), or NULL for a new one. 0 or a DB_* code (DB_ERR for a
 * type events_types does not list). */
int	 events_append(struct db *, const char *tenant_id, const char *type,
	    time_t at, json_object *data, const char *id);
/* A row of a writer of many events (its parameters of SQL_EVENT_INSERT_64
 * and the three after it, through db_exec_rows): the columns, in the
 * order events_append binds them. */
enum events_row_col {
	EVENTS_ROW_ID,
	EVENTS_ROW_TENANT,
	EVENTS_ROW_TYPE,
	EVENTS_ROW_AT,
	EVENTS_ROW_PAYLOAD,
	EVENTS_ROW_NCOLS
};
/* After such a writer inserted nrows events of tenant_id (rows, as it
 * inserted them) with @vigil_defer naming the tenant (SQL_BATCH_DEFER_BEGIN,
 * migrations 0045 and 0049; cleared by SQL_BATCH_DEFER_END after this):
 * GET /events' counts moved for them, one upsert per type, where
 * events_count_insert tallied them instead of counting each; where it
 * counted them (a schema before 0045, or an older trigger put back), the
 * tally is 0 and this adds nothing. The one place the tally is applied,
 * for the scanner's and importer's batches (findings.c) and the alert
 * batches (alerts.c). 0 or a DB_* code. */
int	 events_count_deferred(struct db *, const char *tenant_id,
	    const struct db_val *rows, size_t nrows);
/* The stored envelope of an event, as events_append writes it: a new
 * string into *payload (caller frees) and its length. data is taken
 * over. 0, or -1 (out of memory, or a type events_types does not list). */
int	 events_payload(const char *tenant_id, const char *type, time_t at,
	    json_object *data, const char *id, char **payload, size_t *len);
/* The same, of data already written as JSON text data[0..datalen): for
 * writers of many events that write their data without json-c objects.
 * 0 or -1. */
int	 events_payload_text(const char *tenant_id, const char *type,
	    time_t at, const char *data, size_t datalen, const char *id,
	    char **payload, size_t *len);
/* A new event id ("evt_…") into id (VIGIL_ID_LEN). 0 or -1. */
int	 events_id_new(char *id, size_t idsz);

/* What GET /events lists: a type exactly (borrowed), or a prefix
 * ("finding."), or every event (type NULL and prefix ""); created at
 * since or later when has_since is set. */
struct events_filter {
	const char	*type;
	char		 prefix[32];
	int		 has_since;
	time_t		 since;
};
/* Fill f from the type query parameter (NULL: every event): 0, or -1 if
 * it names neither a type nor one of events_filter_patterns. Pure. */
int	 events_filter_parse(const char *type, struct events_filter *f);

/* A page of a tenant's events, oldest first. */
struct events_page {
	json_object	*events;     /* array of envelopes, owned */
	long long	 total;      /* every event the filter matches */
	int		 has_more;
	long long	 last_seq;   /* of the last shown, 0 if none */
};
/* Up to limit events of tenant_id after seq after that f matches, into
 * *out (free with events_page_free, also after an error). 0 or a DB_*
 * code. */
int	 events_list(struct db *, const char *tenant_id,
	    const struct events_filter *f, long long after, long limit,
	    struct events_page *out);
void	 events_page_free(struct events_page *);

/* Retention (vigilctl events prune): finished deliveries last changed
 * more than days ago, then the dispatched events of that age that no
 * delivery refers to, in batches of 5000 rows, each its own statement
 * (days <= 0: nothing). Counts into *ndeliveries and *nevents (what was
 * deleted before an error too). 0 or a DB_* code. */
int	 events_prune(struct db *, long long days, long long *ndeliveries,
	    long long *nevents);

#endif
