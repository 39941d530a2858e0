/* alerts.h: alerts, the detections other tools send (an EDR, a SIEM, a
 * cloud service). Ingest is idempotent on (source, external_id): the
 * same pair again bumps last_seen_at and occurrences and creates nothing.
 * Every change is one transaction: the rows, their history, one audit
 * entry and the events, the lock that orders the tenant's events and
 * audit entries taken as late as it can be. */
#ifndef VIGIL_ALERTS_H
#define VIGIL_ALERTS_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#include "observable.h"

struct db;
struct vjson_err;

/* Caps of one alert at ingest (README "Alerts"). */
#define ALERTS_SOURCE_MAX      64      /* bytes: letters, digits, . _ - */
#define ALERTS_EXTERNAL_ID_MAX 255     /* bytes */
#define ALERTS_TITLE_MAX       255     /* bytes */
#define ALERTS_ASSET_MAX       16384   /* the asset object, serialised */
#define ALERTS_RAW_MAX         65536   /* raw kept verbatim up to this */
#define ALERTS_OBS_MAX         64      /* observables per alert */
#define ALERTS_BATCH_MAX       500     /* alerts per batch */
/* detected_at may be ahead of the server's clock by this much (a
 * sender's clock skew), no more. */
#define ALERTS_FUTURE_SLACK    3600
#define ALERTS_ID_LEN          64
/* A known observable's last_seen_at moves when an alert carrying it is
 * ingested more than this many seconds after it (README "Observables"). */
#define ALERTS_OBS_SEEN_STEP   60

/* One observable as ingested: its type, normalised value and the hash
 * it is stored under. */
struct alert_obs {
	enum observable_type type;
	char		 value[OBSERVABLE_VALUE_LEN];
	size_t		 len;
	char		 hash[65];
};

/* One alert as sent, validated. The strings borrow from the request's
 * JSON except asset and raw, which are owned (alerts_in_free). */
struct alert_in {
	const char	*source;
	const char	*external_id;
	const char	*severity;       /* one of the five names */
	const char	*title;
	time_t		 detected_at;
	char		*asset;          /* JSON object text */
	json_object	*asset_obj;      /* the same, as sent (borrowed), or
	                                  * NULL when not sent */
	char		*raw;            /* JSON text, or NULL when not sent */
	size_t		 raw_len;
	int		 raw_truncated;  /* raw holds a JSON string of the
	                                  * first ALERTS_RAW_MAX bytes */
	struct alert_obs *obs;           /* distinct, in the order sent */
	size_t		 nobs;
};

/* Validate one alert body obj (an object) into *in: 0, or -1 with err
 * naming the field ("severity", "observables[2].value") and saying why.
 * now is the server's clock (detected_at may not be far after it). On 0
 * free *in with alerts_in_free. Pure. */
int	 alerts_parse(json_object *obj, time_t now, struct alert_in *in,
	    struct vjson_err *err);
void	 alerts_in_free(struct alert_in *);

/* 1 if s names an alert severity (critical, high, medium, low, info). */
int	 alerts_severity_valid(const char *s);
/* 1 if s is an acceptable source name (1..64 of letters, digits, '.',
 * '_', '-'). */
int	 alerts_source_valid(const char *s);

/* What ingest did with one alert. */
struct alert_result {
	char		 id[ALERTS_ID_LEN];
	int		 deduplicated;
	int		 suppressed;     /* stored with status 'suppressed' */
	const char	*status;         /* triage, escalated, dismissed,
	                                  * suppressed (static) */
};

/*
 * Ingest in[0..n) (n >= 1) for tenant_id in one transaction: each alert
 * new or deduplicated on (source, external_id) -- also against an
 * earlier alert of the same call --, its observables upserted and
 * linked, a 'created' history entry and (unless every observable of it
 * is under an unexpired suppression for its source) an alert.created
 * event for each new one, and one audit entry for the call
 * ("alert.ingest" naming the alert, or "alert.ingest_batch" with the
 * counts and ids when batch is set). out[i] answers in[i]. Retried on a
 * deadlock. 0, or a DB_* code (nothing written).
 */
int	 alerts_ingest(struct db *, const char *tenant_id, const char *actor,
	    const struct alert_in *in, size_t n, int batch, time_t now,
	    struct alert_result *out);

/* ---- reading and changing ------------------------------------------- */

#define ALERTS_TAGS_MAX        20      /* tags per alert */
#define ALERTS_TAG_MAX         64      /* bytes per tag */
#define ALERTS_ASSIGNEE_MAX    254     /* bytes */
#define ALERTS_COMMENT_MAX     10000   /* bytes of a dismissal's comment */
/* A list's total counts at most this many matches (then a lower bound). */
#define ALERTS_COUNT_CAP       10000

/* A stored alert (owned strings; raw, assignee, case_id and the
 * dismissal's NULL when there are none). */
struct alert_row {
	long long	 seq;
	char		*id;
	char		*source;
	char		*external_id;
	char		*severity;
	char		*title;
	char		*status;
	char		*detected_at;    /* the database's "YYYY-MM-DD …" */
	char		*ingested_at;
	char		*last_seen_at;
	char		*updated_at;
	long long	 occurrences;
	char		*asset;          /* JSON object text */
	char		*raw;            /* JSON text; NULL if not sent or not
	                                  * loaded (lists) */
	int		 raw_truncated;
	char		*assignee;
	char		*tags;           /* JSON array text */
	char		*case_id;
	char		*dismiss_reason;
	char		*dismiss_comment;
	json_object	*observables;    /* [{type, value}], or NULL when
	                                  * not loaded */
};

/* 1 if s is a dismissal reason code (known-good, false-positive,
 * duplicate, test, other). */
int	 alerts_reason_valid(const char *s);
/* 1 if s has the form of an alert id. */
int	 alerts_id_valid(const char *s);

/* Load one alert of a tenant with its observables and raw: 1 found
 * (*out set, free with alerts_row_free), 0 not found (also another
 * tenant's), or a DB_* code (< 0). */
int	 alerts_get(struct db *, const char *tenant_id, const char *id,
	    struct alert_row **out);
void	 alerts_row_free(struct alert_row *);

/* The API's shape: the list shape (Alert), with observables when the row
 * has them loaded; full adds raw, raw_truncated, dismiss_reason and
 * dismiss_comment (AlertDetail). A new object the caller puts. */
json_object *alerts_to_json(const struct alert_row *, int full);

/* A list's filters: statuses and severities (names, any of them match;
 * n 0 is any), source and assignee exact (NULL: any), since (0: any;
 * else last seen or changed at or after it), before the keyset cursor
 * (1 << 62 for the first page), limit 1..500. Strings borrowed. */
struct alerts_filter {
	const char	*status[4];
	size_t		 nstatus;
	const char	*severity[5];
	size_t		 nseverity;
	const char	*source;
	const char	*assignee;
	time_t		 since;
	long long	 before;
	long		 limit;
};

struct alerts_page {
	struct alert_row **rows;
	size_t		  n;
	long long	  total;     /* matches, at most ALERTS_COUNT_CAP */
	int		  has_more;  /* then rows[n - 1]->seq is the cursor */
};

/* The tenant's alerts matching f, newest first (by seq): 0 with *out set
 * (free with alerts_page_free), or a DB_* code with *out NULL. */
int	 alerts_list(struct db *, const char *tenant_id,
	    const struct alerts_filter *f, struct alerts_page **out);
void	 alerts_page_free(struct alerts_page *);

/* GET /alerts/{id}/history: {alert_id, history: [{action, timestamp, by,
 * …fields}]} oldest first; 1 with *out set, 0 not found, or a DB_*
 * code. */
int	 alerts_history(struct db *, const char *tenant_id, const char *id,
	    json_object **out);

enum alerts_outcome {
	ALERTS_OK = 0,
	ALERTS_NOT_FOUND,      /* 404 */
	ALERTS_CONFLICT,       /* 409: not in a state that allows it */
	ALERTS_DB_ERROR,       /* *rc holds the DB_* code */
};

/* PATCH: what to change (set_* says which; assignee NULL clears). */
struct alerts_patch {
	int		 set_assignee;
	const char	*assignee;
	int		 set_severity;
	const char	*severity;
	int		 set_tags;
	json_object	*tags;           /* borrowed array of strings */
};

/* Apply p to one alert in one transaction (the tenant's lock, then the
 * alert's; retried if it loses a deadlock): the row, an
 * "updated" history entry with the fields given, an alert.update audit
 * entry. On ALERTS_OK *after is the alert (free
 * with alerts_row_free). */
enum alerts_outcome alerts_patch(struct db *, const char *tenant_id,
	    const char *id, const struct alerts_patch *p, const char *actor,
	    time_t now, struct alert_row **after, int *rc);

/* Dismiss one alert (from triage or suppressed; an escalated or already
 * dismissed one is ALERTS_CONFLICT) with a reason code and comment (NULL:
 * none), in one transaction with a "dismissed" history entry, an
 * alert.dismiss audit entry and an alert.dismissed event. */
enum alerts_outcome alerts_dismiss(struct db *, const char *tenant_id,
	    const char *id, const char *reason, const char *comment,
	    const char *actor, time_t now, struct alert_row **after, int *rc);

#endif
